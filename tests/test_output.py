"""What an operator sees during apply: a step per host with its time, a spinner on a terminal."""

import re

from test_deploy import INVENTORY, fleet_serves

from conftest import in_terminal, ok

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
