"""What a host holds, as read by the `HostState` fact: models and the parser. Pure."""

import base64
import hashlib
import json
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

from shipstate.errors import ShipstateError
from shipstate.hosts import host_order, named_hosts

RELEASE_ID = re.compile(r"^[1-9][0-9]{0,8}$")
ENV_KEY = re.compile(r"^[0-9a-f]{16}$")
# a release's state (its state file's, else its manifest's); one that counts is built and
# checked, then live, then replaced
BUILDING, READY, ACTIVE, RETIRED, FAILED = "building", "ready", "active", "retired", "failed"
USABLE_STATES = (READY, ACTIVE, RETIRED)


class ObservedRelease(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    state: str = READY
    key: str
    commit: str
    dirty: bool = False
    subject: str = ""
    created_at: str = ""
    created_by: str = ""
    env: str = ""
    secrets: str = ""
    configs: dict[str, str] = {}
    hooks: tuple[str, ...] = ()  # the inputs fingerprints of its hooks (desired.HookStamp)


class LockInfo(BaseModel):
    """A deploy lock as found on a host. `age`: seconds since its holder's last heartbeat."""

    model_config = ConfigDict(frozen=True)

    holder: str = "unknown"
    pid: int = 0
    command: str = ""
    release: str = ""
    started_at: str = ""
    token: str = ""
    age: int = 0
    raw: str = ""

    def stale(self, ttl: int) -> bool:
        return self.age > ttl

    def describe(self, ttl: int) -> str:
        state = (
            f"stale: no heartbeat for {self.age}s" if self.stale(ttl) else f"live, {self.age}s ago"
        )
        what = f"`{self.command}`" if self.command else "an unknown command"
        target = f" (release {self.release})" if self.release else ""
        return (
            f"locked by {self.holder} pid {self.pid} since {self.started_at or '?'} "
            f"for {what}{target} [{state}]"
        )


def parse_lock_line(rest: str) -> LockInfo:
    """`<age> <info.json>` as printed by facts.OBSERVE."""
    age, _, raw = rest.partition(" ")
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    fields = (
        {k: v for k, v in data.items() if k in LockInfo.model_fields}
        if isinstance(data, dict)
        else {}
    )
    try:
        return LockInfo.model_validate(
            {**fields, "age": int(age) if age.lstrip("-").isdigit() else 0, "raw": raw}
        )
    except ValidationError:
        return LockInfo(age=int(age) if age.lstrip("-").isdigit() else 0, raw=raw)


class ObservedHost(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    root_exists: bool
    current: int | None = None
    releases: tuple[ObservedRelease, ...] = ()
    failed: tuple[int, ...] = ()
    leftovers: tuple[str, ...] = ()
    envs: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    programs: tuple[int, ...] = ()
    running: tuple[int, ...] = ()
    nginx_loaded: str = ""
    nginx_site: str = ""
    processes: str = ""  # sha256 of the processes' config in place, "" if none
    processes_release: int | None = None  # the release they were last started from
    processes_down: dict[str, str] = {}  # each process supervisord does not run: its state
    python: str = ""
    missing_packages: tuple[str, ...] = ()  # of shipstate.toml's `packages`, per dpkg
    lock: LockInfo | None = None

    def release(self, release_id: int | None) -> ObservedRelease | None:
        return next((r for r in self.releases if r.id == release_id), None)

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(sorted(r.id for r in self.releases))

    @property
    def highest_id(self) -> int:
        numbers = [
            *self.ids,
            *self.failed,
            *(_leftover_id(name) for name in self.leftovers if name.startswith("releases/")),
        ]
        return max(numbers, default=0)


def _leftover_id(name: str) -> int:
    digits = re.sub(r"\D", "", name.rsplit("-", 1)[-1])
    return int(digits) if digits and len(digits) < 10 else 0


def _release_id(name: str) -> int | None:
    return int(name) if RELEASE_ID.match(name) else None


def _not_made_by_shipstate(host: str, path: str) -> ShipstateError:
    """Another tool's release (without the manifest shipstate's are renamed into place with) or
    `current`: never taken for a leftover or a link to replace, the root is not shipstate's."""
    return ShipstateError(
        f"{host}: {path} in the app root was not made by shipstate (a release of shipstate's has "
        "a .shipstate/manifest.json, and `current` links to one): the root holds another deploy "
        "tool's releases",
        hint="give shipstate a directory of its own: `root` in shipstate.toml (by default "
        "/srv/<name>); shipstate removes nothing it did not make",
    )


def parse_host_state(host: str, lines: list[str], app: str) -> ObservedHost:
    """Parse the tagged lines written by facts.HostState."""
    root_exists = False
    current: int | None = None
    nginx_loaded = nginx_site = processes = python = ""
    missing_packages: list[str] = []
    processes_release: int | None = None
    processes_down: dict[str, str] = {}
    lock = None
    manifests: dict[int, dict] = {}
    configs: dict[int, dict[str, str]] = {}
    states: dict[int, str] = {}
    leftovers: list[str] = []
    envs: list[str] = []
    secrets: list[str] = []
    programs: list[int] = []
    running: list[int] = []
    program_name = re.compile(rf"^{re.escape(app)}-([1-9][0-9]{{0,8}})(?:\.conf)?$")
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "root":
            root_exists = rest == "1"
        elif tag == "python":
            version = re.match(r"Python (\d+\.\d+)", rest)
            python = version.group(1) if version else ""
        elif tag == "missing":
            missing_packages.append(rest)
        elif tag == "current":
            linked, in_releases, name = rest.partition("releases/")
            current = _release_id(name) if in_releases and not linked else None
            if rest and current is None:
                raise _not_made_by_shipstate(host, f"current -> {rest}")
        elif tag == "lock":
            lock = parse_lock_line(rest)
        elif tag == "nginx":
            nginx_loaded = rest.strip()
        elif tag == "site":
            nginx_site = hashlib.sha256(base64.b64decode(rest)).hexdigest()
        elif tag == "processes":
            started_from, _, encoded = rest.partition(" ")
            processes_release = _release_id(started_from)
            processes = hashlib.sha256(base64.b64decode(encoded)).hexdigest()
        elif tag == "down":
            program, _, state = rest.partition(" ")
            processes_down[program] = state
        elif tag == "release":
            name, _, manifest = rest.partition(" ")
            if not manifest:
                raise _not_made_by_shipstate(host, f"releases/{name}")
            number = _release_id(name)
            try:
                data = json.loads(manifest)
            except ValueError:
                data = None
            if number is not None and isinstance(data, dict):
                manifests[number] = data
            else:
                leftovers.append(f"releases/{name}")
        elif tag == "state":
            name, _, state = rest.partition(" ")
            number = _release_id(name)
            if number is not None:
                states[number] = state
        elif tag == "config":
            name, _, rest = rest.partition(" ")
            filename, _, encoded = rest.partition(" ")
            number = _release_id(name)
            if number is not None:
                configs.setdefault(number, {})[filename] = base64.b64decode(encoded).decode(
                    errors="replace"
                )
        elif tag == "building":
            leftovers.append(f"releases/{rest}")
        elif tag == "env":
            if ENV_KEY.match(rest):
                envs.append(rest)
            else:
                leftovers.append(f"envs/{rest}")
        elif tag == "secret":
            if ENV_KEY.match(rest):
                secrets.append(rest)
            else:
                leftovers.append(f"shared/.secrets/{rest}")
        elif tag == "program":
            match = program_name.match(rest)
            if match:
                programs.append(int(match.group(1)))
        elif tag == "unobserved":
            found = "was not found" if rest == "127" else f"failed (exit status {rest})"
            raise ShipstateError(
                f"{host}: cannot read the host's state: its Python {found}",
                hint="shipstate runs Python 3 on each host: install python3 there, or set "
                "`python` in shipstate.toml to one that runs there",
            )
        elif tag == "running":
            number = _release_id(rest)
            if number is not None:
                running.append(number)
    releases = []
    failed = []
    for number, data in sorted(manifests.items()):
        data = {**data, "state": states.get(number, data.get("state"))}
        state = data["state"]
        if state == FAILED and number != current:
            failed.append(number)
            continue
        if state not in USABLE_STATES and number != current:
            leftovers.append(f"releases/{number}")
            continue
        try:
            releases.append(
                ObservedRelease.model_validate(
                    {
                        **{k: v for k, v in data.items() if k in ObservedRelease.model_fields},
                        "id": number,
                        "configs": configs.get(number, {}),
                    }
                )
            )
        except ValidationError:
            leftovers.append(f"releases/{number}")
    return ObservedHost(
        host=host,
        root_exists=root_exists,
        current=current,
        releases=tuple(releases),
        failed=tuple(failed),
        leftovers=tuple(leftovers),
        envs=tuple(sorted(envs)),
        secrets=tuple(sorted(secrets)),
        programs=tuple(sorted(set(programs))),
        running=tuple(sorted(set(running))),
        nginx_loaded=nginx_loaded,
        nginx_site=nginx_site,
        processes=processes,
        processes_release=processes_release,
        processes_down=processes_down,
        python=python,
        missing_packages=tuple(missing_packages),
        lock=lock,
    )


def refuse_missing_packages(observed: Mapping[str, ObservedHost], inventory: str) -> None:
    """Every host has the Debian packages shipstate.toml lists (where dpkg tells)."""
    lacking: dict[tuple[str, ...], list[str]] = {}
    for name in sorted(observed, key=host_order):
        if observed[name].missing_packages:
            lacking.setdefault(observed[name].missing_packages, []).append(name)
    if lacking:
        raise ShipstateError(
            "\n".join(
                f"{named_hosts(hosts)}: {', '.join(missing)} not installed, which `packages` "
                "in shipstate.toml lists"
                for missing, hosts in lacking.items()
            ),
            hint=f"install them with `shipstate bootstrap -i {inventory}` (as root, or a sudoer "
            "with --user), or remove them from `packages`; then apply again",
        )
