"""Desired state per host: which releases exist and which is active. Pure."""

from pydantic import BaseModel, ConfigDict

from shipstate.config import Hook
from shipstate.errors import ShipstateError
from shipstate.hosts import in_host_order
from shipstate.observed import RELEASE_ID, ObservedHost

MANIFEST_FIELDS = (
    "key",
    "commit",
    "dirty",
    "subject",
    "created_at",
    "created_by",
    "env",
    "secrets",
)


class HookStamp(BaseModel):
    """A hook of the release; `inputs` fingerprints all that decides its effect, when it
    declares inputs (else it always runs)."""

    model_config = ConfigDict(frozen=True)

    command: str
    inputs: str = ""


class ReleaseDraft(BaseModel):
    """A release to build, before it has a number: identified by its content key."""

    model_config = ConfigDict(frozen=True)

    key: str
    commit: str
    dirty: bool
    subject: str
    created_at: str
    created_by: str
    env: str
    secrets: str = ""
    configs: dict[str, str]
    hooks: tuple[HookStamp, ...] = ()
    build: str = ""  # the command whose outputs, made on the operator's machine, it holds


class NewRelease(ReleaseDraft):
    id: int
    skipped_hooks: tuple[int, ...] = ()  # positions in `hooks`: inputs as in the active release

    def manifest(self, state: str) -> dict:
        """`building` until its app server answered its health check, then `ready`; `active`
        once switched to, `retired` once replaced, `failed` when it failed after a switch.
        Only ready, active and retired releases count (kept, chosen by set-active)."""
        return {
            "id": self.id,
            "state": state,
            **self.model_dump(include=set(MANIFEST_FIELDS)),
            "hooks": [hook.inputs for hook in self.hooks if hook.inputs],
        }


class DesiredHost(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    active: int
    keep: tuple[int, ...]
    warm: int | None = None
    new_release: NewRelease | None = None
    envs: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()

    def active_configs(self, observed: ObservedHost) -> dict[str, str]:
        if self.new_release is not None:
            return self.new_release.configs
        release = observed.release(self.active)
        return release.configs if release else {}


def releases_to_keep(
    ids: list[int], active: int, replaced: int | None, limit: int
) -> tuple[int, ...]:
    """The active release, the one it replaced, then the newest others, up to `limit`."""
    keep = [active]
    if replaced is not None and replaced != active and replaced in ids:
        keep.append(replaced)
    for number in sorted(ids, reverse=True):
        if len(keep) >= limit:
            break
        if number not in keep:
            keep.append(number)
    return tuple(sorted(keep))


def warm_release(seen: ObservedHost, active: int, keep: tuple[int, ...]) -> int | None:
    """The release whose app server keeps running beside the active one, so that switching
    back to it is a rename: the one being replaced, else the one already kept running."""
    if seen.current is not None and seen.current != active and seen.current in keep:
        return seen.current
    return max(set(seen.running) & set(keep) - {active}, default=None)


def skipped_hooks(seen: ObservedHost, draft: ReleaseDraft) -> tuple[int, ...]:
    """The hooks whose inputs are as in the active release: it ran them (or skipped them) with
    the same effect, and its outputs are copied instead."""
    active = seen.release(seen.current)
    done = set(active.hooks) if active else set()
    return tuple(i for i, hook in enumerate(draft.hooks) if hook.inputs and hook.inputs in done)


class HookStep(BaseModel):
    """What a hook does on a host: run `command` (which must make its `outputs`), or, skipped,
    have its outputs copied from release `reuse_from`."""

    model_config = ConfigDict(frozen=True)

    command: str
    reuse_from: int | None = None
    outputs: tuple[str, ...] = ()


def hook_steps(
    hooks: tuple[Hook, ...], release: NewRelease | None, active: int | None, runs_once: bool
) -> tuple[HookStep, ...]:
    """The new release's hook steps on a host (`runs_once`: the host that runs `once` hooks);
    skipped hooks copy their outputs from the `active` release."""
    if release is None:
        return ()
    steps = []
    for i, hook in enumerate(hooks):
        if hook.run == "once" and not runs_once:
            continue
        if i not in release.skipped_hooks:
            steps.append(HookStep(command=hook.command, outputs=hook.outputs))
        elif hook.outputs:
            steps.append(HookStep(command=hook.command, reuse_from=active, outputs=hook.outputs))
    return tuple(steps)


def desired_for_apply(
    observed: dict[str, ObservedHost],
    drafts: dict[str, ReleaseDraft],
    keep_releases: int,
    warm_previous: bool = True,
) -> dict[str, DesiredHost]:
    """Make each host's active release the one with the draft's content, building it if absent.

    New releases get one number on every host: the number the same commit already has on
    another host (after a `--limit` deploy) when it is free wherever it is needed, else the
    next after the highest on any host."""
    reuse = {
        host: max((r.id for r in observed[host].releases if r.key == draft.key), default=None)
        for host, draft in drafts.items()
    }
    builders = [host for host, number in reuse.items() if number is None]
    same_commit = {
        r.id
        for host in builders
        for o in observed.values()
        for r in o.releases
        if r.commit == drafts[host].commit
    }
    free = [n for n in same_commit if all(observed[h].release(n) is None for h in builders)]
    number = max(free, default=max((o.highest_id for o in observed.values()), default=0) + 1)
    desired = {}
    for host, draft in drafts.items():
        seen = observed[host]
        new_release = (
            None
            if reuse[host]
            else NewRelease(
                id=number, skipped_hooks=skipped_hooks(seen, draft), **draft.model_dump()
            )
        )
        active = reuse[host] or number
        ids = [*seen.ids, active] if new_release else list(seen.ids)
        keep = releases_to_keep(ids, active, seen.current, keep_releases)
        kept = [r for r in seen.releases if r.id in keep]
        envs = {r.env for r in kept}
        secrets = {r.secrets for r in kept}
        if new_release:
            envs.add(new_release.env)
            secrets.add(new_release.secrets)
        desired[host] = DesiredHost(
            host=host,
            active=active,
            keep=keep,
            warm=warm_release(seen, active, keep) if warm_previous else None,
            new_release=new_release,
            envs=tuple(sorted(envs)),
            secrets=tuple(sorted(secrets - {""})),
        )
    return desired


def parse_release_name(name: str) -> int | str:
    """A release number, `previous` or `latest`; anything else is refused before connecting."""
    if name in ("previous", "latest"):
        return name
    if not RELEASE_ID.match(name):
        raise ShipstateError(
            f"{name!r} is not a release",
            hint="use a release number (see `shipstate releases`), `previous` or `latest`",
        )
    return int(name)


def resolve_release(observed: dict[str, ObservedHost], wanted: int | str) -> int:
    """The release number meant by `wanted`, the same on every host."""
    common = set.intersection(*(set(o.ids) for o in observed.values()))
    if wanted == "latest":
        if not common:
            raise ShipstateError(
                "no release exists on every host", hint="deploy one first: shipstate apply"
            )
        return max(common)
    if wanted == "previous":
        currents = {o.current for o in observed.values()}
        if len(currents) != 1:
            listing = ", ".join(f"{h}: {observed[h].current}" for h in in_host_order(observed))
            raise ShipstateError(
                f"hosts disagree on the active release ({listing})",
                hint="name a release number: shipstate set-active N",
            )
        (current,) = currents
        if current is None:
            raise ShipstateError("no release is active yet", hint="deploy one: shipstate apply")
        older = [n for n in common if n < current]
        if not older:
            raise AlreadyOldest(current)
        return max(older)
    failed = in_host_order(h for h, o in observed.items() if wanted in o.failed)
    if failed:
        raise ShipstateError(
            f"release {wanted} failed its checks on {', '.join(failed)} and is no longer a choice",
            hint="pick another release (`shipstate releases`), or deploy a fix",
        )
    missing = in_host_order(h for h, o in observed.items() if o.release(wanted) is None)
    if missing:
        raise ShipstateError(
            f"release {wanted} does not exist on {', '.join(missing)}",
            hint="`shipstate releases` lists the releases of each host",
        )
    return wanted


class AlreadyOldest(ShipstateError):
    exit_code = 0

    def __init__(self, current: int | None):
        super().__init__(
            f"release {current} is already the oldest release; nothing to do",
            hint="`shipstate set-active latest` returns to the newest release",
        )


def desired_for_set_active(
    observed: dict[str, ObservedHost], release: int, warm_previous: bool = True
) -> dict[str, DesiredHost]:
    return {
        host: DesiredHost(
            host=host,
            active=release,
            keep=o.ids,
            warm=warm_release(o, release, o.ids) if warm_previous else None,
            envs=o.envs,
            secrets=o.secrets,
        )
        for host, o in observed.items()
    }
