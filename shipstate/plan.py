"""The plan: a pure, serialisable diff from observed to desired state, per host."""

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shipstate.desired import DesiredHost, NewRelease
from shipstate.errors import ShipstateError
from shipstate.hosts import in_host_order
from shipstate.layout import NGINX_CONFIG, PROCESSES_CONFIG
from shipstate.observed import ACTIVE, RETIRED, ObservedHost, ObservedRelease

PLAN_VERSION = 1


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


Kind = Literal[
    "remove_leftover",
    "create_environment",
    "upload_secrets",
    "create_release",
    "start_app_server",
    "switch_active",
    "record_state",
    "change_config",
    "reload_nginx",
    "restart_processes",
    "stop_app_server",
    "purge_release",
    "purge_environment",
    "purge_secrets",
]
SYMBOLS: dict[str, str] = {
    "remove_leftover": "-",
    "create_environment": "+",
    "upload_secrets": "+",
    "create_release": "+",
    "start_app_server": "+",
    "switch_active": "~",
    "record_state": "~",
    "change_config": "~",
    "reload_nginx": "~",
    "restart_processes": "~",
    "stop_app_server": "-",
    "purge_release": "-",
    "purge_environment": "-",
    "purge_secrets": "-",
}


class Action(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    target: str
    before: str | None = None
    after: str | None = None
    reason: str

    @property
    def symbol(self) -> str:
        return "+" if self.kind == "change_config" and self.before is None else SYMBOLS[self.kind]


class HostPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    active_before: int | None
    active_after: int
    actions: tuple[Action, ...]
    new_release: NewRelease | None = None

    def has(self, kind: str) -> bool:
        return any(a.kind == kind for a in self.actions)

    def targets(self, kind: str) -> list[str]:
        return [a.target for a in self.actions if a.kind == kind]

    def release_ids(self, kind: str) -> list[int]:
        """The targets of `kind` when they are releases (stop_app_server, purge_release)."""
        return [int(t) for t in self.targets(kind)]

    def states_after(self) -> dict[int, str]:
        """The release states to write at the switch: those a switch implies (the new active
        release `active`, the one it replaced `retired`) and those found wrong."""
        states = {int(a.target): a.after for a in self.actions if a.kind == "record_state"}
        if self.has("switch_active"):
            if self.active_before is not None:
                states[self.active_before] = RETIRED
            states[self.active_after] = ACTIVE
        return states


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = PLAN_VERSION
    command: str
    hosts: tuple[HostPlan, ...]

    @property
    def empty(self) -> bool:
        return not any(h.actions for h in self.hosts)


def recorded_state(release: ObservedRelease, active: int, current: int | None) -> str:
    """What the release's state should be once `active` is live."""
    if release.id == active:
        return ACTIVE
    if release.id == current or release.state == ACTIVE:
        return RETIRED
    return release.state


def plan_host(desired: DesiredHost, observed: ObservedHost) -> HostPlan:
    actions: list[Action] = []
    active = desired.active
    for name in observed.leftovers:
        actions.append(
            Action(
                kind="remove_leftover",
                target=name,
                reason="left by an interrupted or failed deploy",
            )
        )
    for number in observed.failed:
        actions.append(
            Action(
                kind="remove_leftover",
                target=f"releases/{number}",
                reason="a release that failed its checks after a switch (kept until now)",
            )
        )
    if new := desired.new_release:
        built = new.env in observed.envs
        if not built:
            actions.append(
                Action(
                    kind="create_environment",
                    target=new.env,
                    reason="no environment on this host has these requirements",
                )
            )
        secrets = ""
        if new.secrets:
            uploaded = new.secrets in observed.secrets
            secrets = "; secrets " + ("unchanged" if uploaded else "changed")
            if not uploaded:
                actions.append(
                    Action(
                        kind="upload_secrets",
                        target=new.secrets,
                        reason="new secrets file content (never shown; this is its digest)",
                    )
                )
        dirty = " (dirty)" if new.dirty else ""
        skipped = ", ".join(f"`{new.hooks[i].command}`" for i in new.skipped_hooks)
        hooks = (
            f"; inputs as in release {observed.current}, so skipped: {skipped}" if skipped else ""
        )
        actions.append(
            Action(
                kind="create_release",
                target=str(new.id),
                after=new.commit,
                reason=f"commit {new.commit[:12]}{dirty}; environment {new.env} "
                + ("reused" if built else "built")
                + (f"; with what `{new.build}` makes on this machine" if new.build else "")
                + secrets
                + hooks,
            )
        )
    if active not in observed.running or active not in observed.programs:
        actions.append(
            Action(
                kind="start_app_server",
                target=str(active),
                reason="the active release needs its app server running",
            )
        )
    if observed.current != active:
        actions.append(
            Action(
                kind="switch_active",
                target="current",
                before=None if observed.current is None else str(observed.current),
                after=str(active),
                reason="first release"
                if observed.current is None
                else "a different release is wanted",
            )
        )
    switching = observed.current != active
    for release in observed.releases:
        wanted = recorded_state(release, active, observed.current)
        implied = switching and release.id in (active, observed.current)
        if wanted != release.state and not implied and release.id in desired.keep:
            actions.append(
                Action(
                    kind="record_state",
                    target=str(release.id),
                    before=release.state,
                    after=wanted,
                    reason="its recorded state is not what the release is",
                )
            )
    current = observed.release(observed.current)
    before_configs = current.configs if current else {}
    wanted_configs = desired.active_configs(observed)
    for name, after in sorted(wanted_configs.items()):
        before = before_configs.get(name)
        if before != after:
            actions.append(
                Action(
                    kind="change_config",
                    target=name,
                    before=before,
                    after=after,
                    reason=f"release {active} has a different {name}"
                    if before is not None
                    else f"release {active} brings it (no live release has one)",
                )
            )
    site = sha256(wanted_configs.get(NGINX_CONFIG, ""))
    if site != observed.nginx_loaded or site != observed.nginx_site:
        actions.append(
            Action(
                kind="reload_nginx",
                target="nginx",
                before=observed.nginx_loaded or None,
                after=site,
                reason="nginx must load the active release's site config"
                if site != observed.nginx_loaded
                else "the site config nginx includes is not the active release's",
            )
        )
    processes = wanted_configs.get(PROCESSES_CONFIG)
    runs_from = None if processes is None else active
    processes_sha = "" if processes is None else sha256(processes)
    if processes_sha != observed.processes or observed.processes_release != runs_from:
        reason = (
            "the processes must run from the active release"
            if runs_from
            else "the active release has no processes"
        )
    elif observed.processes_down:
        down = (f"{p} is {state}" for p, state in sorted(observed.processes_down.items()))
        reason = f"{', '.join(down)} (supervisord does not run it)"
    else:
        reason = ""
    if reason:
        actions.append(
            Action(
                kind="restart_processes",
                target="processes",
                before=str(observed.processes_release or "?") if observed.processes else None,
                after=None if runs_from is None else str(runs_from),
                reason=reason,
            )
        )
    for number in sorted(set(observed.programs) | set(observed.running)):
        if number not in (active, desired.warm):
            actions.append(
                Action(
                    kind="stop_app_server",
                    target=str(number),
                    reason="only the active release and the one it replaced keep running"
                    if desired.warm
                    else "only the active release keeps running",
                )
            )
    for number in observed.ids:
        if number not in desired.keep:
            actions.append(
                Action(kind="purge_release", target=str(number), reason="beyond keep_releases")
            )
    for env in observed.envs:
        if env not in desired.envs:
            actions.append(
                Action(kind="purge_environment", target=env, reason="no kept release uses it")
            )
    for digest in observed.secrets:
        if digest not in desired.secrets:
            actions.append(
                Action(kind="purge_secrets", target=digest, reason="no kept release uses it")
            )
    return HostPlan(
        host=desired.host,
        active_before=observed.current,
        active_after=active,
        actions=tuple(actions),
        new_release=desired.new_release,
    )


def compute_plan(
    command: str, desired: dict[str, DesiredHost], observed: dict[str, ObservedHost]
) -> Plan:
    return Plan(
        command=command,
        hosts=tuple(plan_host(desired[h], observed[h]) for h in in_host_order(desired)),
    )


def fingerprint(observed: ObservedHost) -> str:
    """What a saved plan was made from, on one host (its lock aside: apply holds it)."""
    return sha256(observed.model_dump_json(exclude={"lock"}))


class SavedPlan(BaseModel):
    """`plan --out`: the plan, and the observed state and project it was computed from."""

    model_config = ConfigDict(frozen=True)

    plan: Plan
    fingerprints: dict[str, str]
    project: str


def desired_after(plan: Plan, observed: dict[str, ObservedHost]) -> dict[str, DesiredHost]:
    """The state the plan leads to from `observed`: once applied, planning again is empty."""
    desired = {}
    for host in plan.hosts:
        seen = observed[host.host]
        new = host.new_release
        ids = {*seen.ids, *([new.id] if new else [])} - set(host.release_ids("purge_release"))
        envs = {*seen.envs, *host.targets("create_environment")}
        secrets = {*seen.secrets, *host.targets("upload_secrets")}
        running = {*seen.running, *seen.programs} - set(host.release_ids("stop_app_server"))
        desired[host.host] = DesiredHost(
            host=host.host,
            active=host.active_after,
            keep=tuple(sorted(ids)),
            warm=max(running - {host.active_after}, default=None),
            envs=tuple(sorted(envs - set(host.targets("purge_environment")))),
            secrets=tuple(sorted(secrets - set(host.targets("purge_secrets")))),
        )
    return desired


def read_saved_plan(path: Path) -> SavedPlan:
    try:
        saved = SavedPlan.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ShipstateError(f"cannot read {path}: {exc.strerror}", hint="check the path") from None
    except ValidationError:
        raise ShipstateError(
            f"{path} is not a plan saved by `shipstate plan --out`",
            hint="make one: shipstate plan -i INVENTORY --out FILE",
        ) from None
    if saved.plan.version != PLAN_VERSION:
        raise ShipstateError(
            f"{path} is a plan of format {saved.plan.version}; this shipstate reads {PLAN_VERSION}",
            hint="make a new plan with this shipstate",
        )
    return saved
