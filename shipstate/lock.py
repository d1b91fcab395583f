"""The deploy lock: an atomic `mkdir` of <root>/.lock on every target host, with who holds it
and a heartbeat its holder refreshes. Only the holder (its token) releases or refreshes it."""

import json
import os
import sys
import time
import uuid

import gevent
from pyinfra.api import QuoteString, StringCommand
from pyinfra.api.host import Host

from shipstate.commands import argv, chain, write_line
from shipstate.errors import EXIT_LOCKED, ShipstateError
from shipstate.identity import operator, utc_now
from shipstate.layout import Layout
from shipstate.observed import LockInfo, parse_lock_line
from shipstate.runner import Fleet, Reporter, on_each, run_command, seconds_setting


def lock_ttl() -> int:
    """Seconds without a heartbeat after which a lock is stale."""
    return seconds_setting("SHIPSTATE_LOCK_TTL", 60, 2)


class LockedError(ShipstateError):
    exit_code = EXIT_LOCKED


def describe(host: str, lock: LockInfo, ttl: int) -> str:
    return f"{host}: {lock.describe(ttl)}"


class FleetLock:
    """Taken on every host (the first by name alone, then the others at once); if any host is
    held by someone else, the locks already taken are released and nothing is changed.

    `observe`, the host's observation (facts.OBSERVE), runs right after the lock is tried, in
    the same round trip: its lines are in `outputs` by host name once the lock is taken; when
    another deploy holds it, its `lock` line says who."""

    def __init__(
        self,
        fleet: Fleet,
        layout: Layout,
        report: Reporter,
        observe: StringCommand,
        wait_seconds: float = 0,
        steal_stale: bool = False,
    ):
        self.fleet, self.layout, self.report = fleet, layout, report
        self.wait_seconds, self.steal_stale = wait_seconds, steal_stale
        self.ttl = lock_ttl()
        self.token = uuid.uuid4().hex
        self.info = {
            "holder": operator(),
            "pid": os.getpid(),
            "command": " ".join(["shipstate", *sys.argv[1:]])[:300],
            "release": "",
            "started_at": utc_now(),
            "token": self.token,
        }
        self.observe = observe
        self.outputs: dict[str, list[str]] = {}
        self.taken: list[Host] = []
        self._heartbeat: gevent.Greenlet | None = None
        self._annotating: gevent.Greenlet | None = None

    @property
    def _dir(self) -> str:
        return f"{self.layout.root}/.lock"

    def _write_info(self) -> StringCommand:
        return write_line(json.dumps(self.info), f"{self._dir}/info.json")

    def _mine(self) -> StringCommand:
        return argv("grep", "-qF", self.token, f"{self._dir}/info.json")

    def _try_host(self, host: Host) -> LockInfo | None:
        take = chain(
            argv("mkdir", "-p", self.layout.root),
            argv("mkdir", self._dir),
            self._write_info(),
            argv("touch", f"{self._dir}/heartbeat"),
        )
        attempt = StringCommand("{", take, ";", "};", "taken=$?;", self.observe)
        ok, output = run_command(host, StringCommand(attempt, '\nexit "$taken"'))
        if ok:
            self.taken.append(host)
            self.outputs[host.name] = output.stdout_lines
            return None
        line = next((x for x in output.stdout_lines if x.startswith("lock ")), None)
        if line is None:
            raise ShipstateError(
                f"{host.name}: cannot take the deploy lock in {self._dir}: "
                f"{output.stderr.strip() or 'no output'}",
                hint=f"the ssh user must own {self.layout.root}: `shipstate bootstrap -i "
                "INVENTORY --user root` makes it so (and sets up the rest shipstate needs)",
            )
        return parse_lock_line(line.removeprefix("lock "))

    def _try_all(self) -> list[tuple[Host, LockInfo]]:
        """The first host in name order alone (of two deploys to the same fleet, one gets
        past it), then the others at once."""
        first, *others = sorted(self.fleet.hosts, key=lambda h: h.name)
        for hosts in ([first], others):
            held = on_each(hosts, self._try_host)
            blocked = [(h, lock) for h, lock in zip(hosts, held, strict=True) if lock is not None]
            if blocked:
                self._release_taken()
                return blocked
        return []

    def _steal(self, host: Host, lock: LockInfo) -> None:
        graveyard = f"{self._dir}.stale-{self.token}"
        same = StringCommand(
            "test",
            '"$(cat',
            QuoteString(f"{self._dir}/info.json"),
            '2>/dev/null)"',
            "=",
            QuoteString(lock.raw),
        )
        run_command(
            host, chain(same, argv("mv", "-T", self._dir, graveyard), argv("rm", "-rf", graveyard))
        )
        self.report(f"{host.name}: took over the stale lock of {lock.holder}")

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                blocked = self._try_all()
            except BaseException:
                self._release_taken()
                raise
            if not blocked:
                self._heartbeat = gevent.spawn(self._beat)
                return
            host, lock = blocked[0]
            if self.steal_stale and lock.stale(self.ttl):
                self._steal(host, lock)
                continue
            if time.monotonic() >= deadline:
                raise LockedError(
                    "another deploy holds the lock\n  " + describe(host.name, lock, self.ttl),
                    hint="wait for it (--lock-wait SECONDS); a stale lock can be taken over "
                    "with --steal-stale; `shipstate lock status` shows every host",
                )
            self.report(f"waiting for the lock: {describe(host.name, lock, self.ttl)}")
            gevent.sleep(min(2.0, max(0.1, deadline - time.monotonic())))

    def annotate(self, release: str) -> None:
        """Record the release being deployed, in the background (done before the release)."""
        self.info["release"] = release
        self._annotating = gevent.spawn(on_each, list(self.taken), self._write_annotation)

    def _write_annotation(self, host: Host) -> None:
        run_command(host, chain(self._mine(), self._write_info()))

    def _beat(self) -> None:
        while True:
            gevent.sleep(self.ttl / 4)
            on_each(list(self.taken), self._refresh)

    def _refresh(self, host: Host) -> None:
        ok, _ = run_command(host, chain(self._mine(), argv("touch", f"{self._dir}/heartbeat")))
        if not ok:
            self.report(f"{host.name}: the deploy lock is no longer ours")

    def _release_taken(self) -> None:
        taken, self.taken = self.taken, []
        on_each(taken, self._release)

    def _release(self, host: Host) -> None:
        ok, output = run_command(host, chain(self._mine(), argv("rm", "-rf", self._dir)))
        if not ok and "connection lost" in output.stderr:
            self.report(
                f"{host.name}: could not release the deploy lock ({output.stderr.strip()}); "
                "once the host is back: shipstate lock release -i INVENTORY --force --yes"
            )

    def release(self) -> None:
        if self._annotating is not None:
            self._annotating.join()
        if self._heartbeat is not None:
            self._heartbeat.kill()
            self._heartbeat = None
        self._release_taken()

    def __enter__(self) -> "FleetLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def force_release(fleet: Fleet, layout: Layout) -> list[str]:
    """Remove the lock on every host, whoever holds it. Returns the hosts that had one."""
    freed = []
    for host in fleet.hosts:
        ok, _ = run_command(
            host,
            chain(
                argv("test", "-d", f"{layout.root}/.lock"),
                argv("rm", "-rf", f"{layout.root}/.lock"),
            ),
        )
        if ok:
            freed.append(host.name)
    return freed
