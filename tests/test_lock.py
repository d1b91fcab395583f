"""The deploy lock on real hosts: concurrent deploys are refused, stale locks handled safely."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_deploy import INVENTORY, fleet_serves, served

from conftest import (
    cli_env,
    commit,
    finish,
    host_addresses,
    ok,
    on_host,
    set_version,
    shipstate,
    start,
)

TTL = {"SHIPSTATE_LOCK_TTL": "4"}


def release_ids(app) -> set[tuple[int, ...]]:
    listing = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    return {tuple(r["id"] for r in h["releases"]) for h in listing["hosts"].values()}


def locks(app) -> dict:
    result = shipstate("lock", "status", *INVENTORY, "--json", cwd=app, env=TTL)
    assert result.code == 0, result.output
    return json.loads(result.stdout)["hosts"]


def wait_until_locked(app, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = locks(app)
        if all(held.values()):
            return held
        time.sleep(0.2)
    raise AssertionError(f"the fleet was not locked in time: {held}")


def slow_builds(app) -> None:
    """A hook that sleeps: the deploy holds the lock long enough for another command."""
    config = app / "shipstate.toml"
    config.write_text(config.read_text() + '\n[[hooks]]\ncommand = "sleep 6"\n')
    commit(app, "slow builds")


def no_leftovers() -> None:
    for address in host_addresses():
        listing = on_host(address, "ls -a /srv/hello/releases /srv/hello").stdout
        assert all(left not in listing for left in (".building", ".purging", ".lock")), listing


def test_two_applies_at_once_exactly_one_wins(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    slow_builds(app)
    set_version(app, "2")
    first = start("apply", *INVENTORY, "--yes", cwd=app)
    second = start("apply", *INVENTORY, "--yes", cwd=app)
    results = sorted([finish(first), finish(second)], key=lambda r: r.code)
    assert [r.code for r in results] == [0, 3], [r.output for r in results]
    loser = results[1].stderr
    assert "another deploy holds the lock" in loser and "locked by" in loser
    assert "Traceback" not in loser
    assert release_ids(app) == {(1, 2)}
    fleet_serves("2", "2")
    no_leftovers()


def test_apply_against_set_active_and_lock_wait(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    slow_builds(app)
    set_version(app, "2")
    deploying = start("apply", *INVENTORY, "--yes", cwd=app)
    wait_until_locked(app)
    refused = shipstate("set-active", "1", *INVENTORY, "--yes", cwd=app)
    assert refused.code == 3 and "locked by" in refused.stderr
    waiting = start("set-active", "previous", *INVENTORY, "--yes", "--lock-wait", "300", cwd=app)
    assert finish(deploying).code == 0
    waited = finish(waiting)
    assert waited.code == 0, waited.output
    assert "waiting for the lock" in waited.stderr
    fleet_serves("1", "1")
    no_leftovers()


def test_sigkill_leaves_a_stale_lock_that_only_steal_stale_takes(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    slow_builds(app)
    set_version(app, "2")
    victim = start("apply", *INVENTORY, "--yes", cwd=app, env=TTL)
    wait_until_locked(app)
    live = shipstate("apply", *INVENTORY, "--yes", "--steal-stale", cwd=app, env=TTL)
    assert live.code == 3, "a live lock is never stolen"
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    held = locks(app)
    assert all(held.values())
    time.sleep(6)
    held = locks(app)
    assert all(lock["stale"] for lock in held.values()), held
    status = shipstate("lock", "status", *INVENTORY, cwd=app, env=TTL).stdout
    assert "stale" in status and "shipstate apply" in status
    refused = shipstate("apply", *INVENTORY, "--yes", cwd=app, env=TTL)
    assert refused.code == 3 and "stale" in refused.stderr and "--steal-stale" in refused.stderr
    stolen = shipstate("apply", *INVENTORY, "--yes", "--steal-stale", cwd=app, env=TTL)
    assert stolen.code == 0, stolen.output
    assert "took over the stale lock" in stolen.stderr
    fleet_serves("2", str(max(max(ids) for ids in release_ids(app))))
    no_leftovers()


def hook_sleeping(address: str) -> bool:
    return on_host(address, "pgrep -f 'sleep 6'").returncode == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_apply_undoes_it_and_releases_the_lock(app, stop):
    """Stopped while its hooks run, an apply stops them on every host, removes what it built
    and releases the lock (a command run without a terminal outlives its SSH connection)."""
    ok("apply", *INVENTORY, "--yes", cwd=app)
    slow_builds(app)
    set_version(app, "2")
    stopped = start("apply", *INVENTORY, "--yes", cwd=app)
    deadline = time.monotonic() + 60
    while not all(hook_sleeping(address) for address in host_addresses()):
        assert time.monotonic() < deadline, "the hooks did not start"
    stopped.send_signal(stop)
    result = finish(stopped)
    assert result.code == 130, result.output
    assert "apply was interrupted while preparing; no host was switched" in result.stderr
    assert "hooks:\n    interrupted (Ctrl-C, SIGTERM or SIGHUP)" in result.stderr
    assert not any(locks(app).values())
    assert not any(hook_sleeping(address) for address in host_addresses())
    no_leftovers()
    assert release_ids(app) == {(1,)}
    fleet_serves("1", "1")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", str(max(max(ids) for ids in release_ids(app))))
    no_leftovers()


def test_a_hang_up_undoes_the_apply_though_its_terminal_is_gone(app):
    """SIGHUP, the operator's terminal closed: printing to it fails from then on (EIO), and
    the apply is undone all the same, as after Ctrl-C."""
    ok("apply", *INVENTORY, "--yes", cwd=app)
    slow_builds(app)
    set_version(app, "2")
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "shipstate", "apply", *INVENTORY, "--yes"]
    hung = subprocess.Popen(
        command, cwd=app, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=cli_env()
    )
    os.close(terminal)
    gone = threading.Event()

    def drain() -> None:  # as a terminal shows what is printed, until it is closed
        while not gone.is_set():
            if select.select([controller], [], [], 0.1)[0]:
                os.read(controller, 65536)

    reader = threading.Thread(target=drain)
    reader.start()
    deadline = time.monotonic() + 60
    while not all(hook_sleeping(address) for address in host_addresses()):
        assert time.monotonic() < deadline, "the hooks did not start"
    gone.set()
    reader.join()
    os.close(controller)
    hung.send_signal(signal.SIGHUP)
    assert hung.wait(timeout=120) == 130
    assert not any(locks(app).values())
    assert not any(hook_sleeping(address) for address in host_addresses())
    no_leftovers()
    assert release_ids(app) == {(1,)}
    fleet_serves("1", "1")


def test_a_lock_on_one_host_blocks_the_whole_fleet(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    third = host_addresses()[2]
    info = '{"holder": "ops@elsewhere", "pid": 42, "command": "shipstate apply", "token": "x"}'
    made = on_host(
        third,
        f"mkdir /srv/hello/.lock && printf '%s' '{info}' > /srv/hello/.lock/info.json "
        "&& touch /srv/hello/.lock/heartbeat",
        user="deploy",
    )
    assert made.returncode == 0, made.stderr
    planned = ok("plan", *INVENTORY, cwd=app)
    assert "note: sandbox-3 is locked by ops@elsewhere" in planned.stdout
    set_version(app, "2")
    refused = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert refused.code == 3 and "sandbox-3: locked by ops@elsewhere pid 42" in refused.stderr
    assert release_ids(app) == {(1,)}
    held = locks(app)
    assert held["sandbox-1"] is None and held["sandbox-2"] is None
    assert held["sandbox-3"]["holder"] == "ops@elsewhere"
    ok("apply", *INVENTORY, "--yes", "--limit", "sandbox-1", cwd=app)
    assert served(host_addresses()[0]) == ("2", "2"), "disjoint hosts deploy despite the lock"
    assert shipstate("lock", "release", *INVENTORY, "--force", cwd=app).code == 1, "needs --yes"
    freed = ok("lock", "release", *INVENTORY, "--force", "--yes", cwd=app)
    assert "sandbox-3" in freed.stdout
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
