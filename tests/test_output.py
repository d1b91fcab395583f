"""What an operator sees during apply: a step per host with its time, a spinner on a terminal."""

import os
import re
import select
import subprocess
import sys
import time

from test_deploy import INVENTORY, fleet_serves

from conftest import cli_env, ok

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


def on_terminal(*args: str, cwd, timeout: float = 600) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its stdin, stdout and stderr."""
    main, child = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "shipstate", *args],
        cwd=cwd,
        stdin=child,
        stdout=child,
        stderr=child,
        env=cli_env({"TERM": "xterm"}),
    )
    os.close(child)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([main], [], [], 1)[0]:
            continue
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_apply_reports_each_step_per_host_with_its_time(app):
    result = ok("apply", *INVENTORY, "--yes", cwd=app)
    for host in ("sandbox-1", "sandbox-2", "sandbox-3"):
        for step in STEPS:
            assert f"{host}: {step} done (" in result.stderr, (host, step, result.stderr)
    assert re.search(r"phases: prepare \d+\.\ds, switch \d+\.\ds", result.stderr), result.stderr
    assert "Applied. (" in result.stdout
    assert not set(SPINNER) & set(result.output), "no spinner when not on a terminal"


def test_apply_on_a_terminal_shows_a_spinner(app):
    code, screen = on_terminal("apply", *INVENTORY, "--yes", cwd=app)
    assert code == 0, screen
    assert set(SPINNER) & set(screen), screen
    assert "sandbox-1: upload done (" in screen
    fleet_serves("1", "1")
