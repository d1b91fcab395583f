"""What an operator sees during apply: a step per host with its time, a spinner on a terminal."""

import re

from test_deploy import INVENTORY, fleet_serves

from conftest import commit, in_terminal, ok, set_version, shipstate

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # rich's "dots"
STEPS = (
    "upload",
    "environment",
    "hooks",
    "release in place",
    "check nginx config",
    "start app server",
    "check app server",
    "release ready",
    "switch",
)


def test_apply_reports_each_step_per_host_with_its_time(app):
    result = ok("apply", *INVENTORY, "--yes", cwd=app)
    for host in ("sandbox-1", "sandbox-2", "sandbox-3"):
        for step in STEPS:
            assert f"{host}: {step} done (" in result.stderr, (host, step, result.stderr)
    assert re.search(r"phases: prepare \d+\.\ds, switch \d+\.\ds", result.stderr), result.stderr
    assert "Applied. (" in result.stdout
    assert not set(SPINNER) & set(result.output), "no spinner when not on a terminal"


def test_apply_on_a_terminal_shows_a_spinner(app):
    code, screen = in_terminal("apply", *INVENTORY, "--yes", cwd=app, env={"TERM": "xterm"})
    assert code == 0, screen
    assert set(SPINNER) & set(screen), screen
    assert "sandbox-1: upload done (" in screen
    fleet_serves("1", "1")


def test_a_step_running_long_is_named_while_it_runs(app):
    config = app / "shipstate.toml"
    config.write_text(config.read_text() + '\n[[hooks]]\ncommand = "sleep 2.5"\n')
    commit(app, "a slow hook")
    slow = shipstate("apply", *INVENTORY, "--yes", cwd=app, env={"SHIPSTATE_PROGRESS_SECONDS": "1"})
    assert slow.code == 0, slow.output
    told = re.findall(r"^still running: (.*)$", slow.stderr, re.M)
    hooks = [re.search(r"hooks on ([^;(]*) \((\d+)s\)", line) for line in told]
    running = [(set(found[1].split(", ")), int(found[2])) for found in hooks if found]
    assert set().union(*(hosts for hosts, _ in running)) == {f"sandbox-{n}" for n in (1, 2, 3)}
    assert max(seconds for _, seconds in running) >= 2, told
    assert not any("switch" in line or "check site" in line for line in told), told
    assert slow.stderr.index("still running: hooks") < slow.stderr.index("sandbox-1: hooks done")

    set_version(app, "2")
    quick = ok("apply", *INVENTORY, "--yes", cwd=app)  # every 10 s by default
    assert "still running" not in quick.stderr, quick.stderr
