"""What an operator sees during apply: each step as it ends, once for hosts alike, with their
times; a spinner on a terminal."""

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


def test_apply_reports_each_step_once_for_the_hosts_alike_with_their_times(app):
    result = ok("apply", *INVENTORY, "--yes", cwd=app)
    told = re.findall(r"^all 3 hosts: (.*) done \(([\d.-]+)s\)$", result.stderr, re.M)
    assert set(STEPS) <= {step for step, _ in told}, result.stderr
    assert all(re.fullmatch(r"\d+\.\d(-\d+\.\d)?", took) for _, took in told), told
    assert not re.search(r"^sandbox-\d:", result.stderr, re.M), "each host's line apart"
    assert re.search(r"phases: prepare \d+\.\ds, switch \d+\.\ds", result.stderr), result.stderr
    assert "Applied. (" in result.stdout
    assert not set(SPINNER) & set(result.output), "no spinner when not on a terminal"


def test_apply_on_a_terminal_shows_a_spinner(app):
    code, screen = in_terminal("apply", *INVENTORY, "--yes", cwd=app, env={"TERM": "xterm"})
    assert code == 0, screen
    assert set(SPINNER) & set(screen), screen
    assert "all 3 hosts: upload done (" in screen
    fleet_serves("1", "1")


def test_a_step_running_long_is_named_while_it_runs(app):
    config = app / "shipstate.toml"
    config.write_text(config.read_text() + '\n[[hooks]]\ncommand = "sleep 2.5"\n')
    commit(app, "a slow hook")
    slow = shipstate("apply", *INVENTORY, "--yes", cwd=app, env={"SHIPSTATE_PROGRESS_SECONDS": "1"})
    assert slow.code == 0, slow.output
    told = re.findall(r"^still running: (.*)$", slow.stderr, re.M)
    hooks = [re.search(r"hooks on ([^;(]*) \((\d+)s\)", line) for line in told]
    running = [(found[1], int(found[2])) for found in hooks if found]
    assert any(who == "all 3 hosts" and seconds >= 2 for who, seconds in running), told
    assert not any("switch" in line or "check site" in line for line in told), told
    assert slow.stderr.index("still running: hooks") < slow.stderr.index(" hooks done")

    set_version(app, "2")
    quick = ok("apply", *INVENTORY, "--yes", cwd=app)  # every 10 s by default
    assert "still running" not in quick.stderr, quick.stderr
