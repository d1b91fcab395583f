"""Views render plans and release lists; they never compute. Human (rich) and JSON."""

import difflib
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping

from rich.console import Console
from rich.markup import escape

from shipstate.hosts import in_host_order, named_hosts
from shipstate.observed import ObservedHost
from shipstate.plan import Action, Plan
from shipstate.runner import Ran
from shipstate.source import CommitChange

COLORS = {"+": "green", "~": "yellow", "-": "red"}
LABELS = {
    "remove_leftover": "leftover",
    "create_environment": "environment",
    "upload_secrets": "secrets",
    "create_release": "release",
    "start_app_server": "app server",
    "switch_active": "active release",
    "record_state": "state of release",
    "change_config": "config",
    "reload_nginx": "reload",
    "restart_processes": "restart",
    "stop_app_server": "app server",
    "purge_release": "release",
    "purge_environment": "environment",
    "purge_secrets": "secrets",
}
RELEASES_FORMAT_VERSION = 1


def _action_line(action: Action) -> str:
    color = COLORS[action.symbol]
    label = f"{LABELS[action.kind]} {action.target}"
    if action.kind == "switch_active":
        label = f"active release {action.before or '(none)'} -> {action.after}"
    if action.kind == "restart_processes":
        label = (
            f"restart processes from release {action.after}" if action.after else "stop processes"
        )
    if action.kind == "record_state":
        label = f"state of release {action.target}: {action.before} -> {action.after}"
    return f"  [{color}]{action.symbol} {escape(label)}[/]  [dim]{escape(action.reason)}[/]"


def _config_diff(action: Action) -> tuple[str, ...]:
    if action.kind != "change_config" or action.after is None:
        return ()
    diff = difflib.unified_diff(
        (action.before or "").splitlines(),
        action.after.splitlines(),
        f"a/{action.target}",
        f"b/{action.target}",
        lineterm="",
        n=2,
    )
    return tuple(diff)


DIFF_STYLES = {"+": "green", "-": "red", "@": "cyan"}


def render_plan(
    plan: Plan, console: Console, own_values: Mapping[str, tuple[str, ...]] | None = None
) -> None:
    """The actions of each group of hosts whose plans make the same changes, under their names.
    Config diffs alike (the same lines changed, but for each host's `own_values`, its name at
    least; the lines around them may differ) are one change: its diff is shown once."""
    if plan.empty:
        console.print("No changes. The fleet matches the desired state.")
        return
    groups: dict[tuple, list[tuple[str, list[tuple[str, ...]]]]] = {}
    for host in plan.hosts:
        diffs = [_config_diff(action) for action in host.actions]
        own = (own_values or {}).get(host.host, (host.host,))
        changes = (_change(diff, own) for diff in diffs)
        key = tuple(zip(map(_action_line, host.actions), changes, strict=True))
        groups.setdefault(key, []).append((host.host, diffs))
    changes_shown: dict[tuple[str, ...], str] = {}
    for key, hosts in groups.items():
        names = _hosts([name for name, _ in hosts])
        if not key:
            console.print(f"{names}: no changes")
            continue
        console.print(names)
        first, diffs = hosts[0]
        for index, ((line, change), diff) in enumerate(zip(key, diffs, strict=True)):
            console.print(line)
            if not diff:
                continue
            if change in changes_shown:
                console.print(f"      [dim](the same change as on {changes_shown[change]})[/]")
                continue
            changes_shown[change] = escape(first)
            for text in diff:
                console.print(f"      [{DIFF_STYLES.get(text[:1], 'dim')}]{escape(text)}[/]")
            if any(other[index] != diff for _, other in hosts[1:]):
                console.print(
                    f"      [dim]({escape(first)}'s diff: the others' differ only in their own "
                    "names or addresses and in the lines around the change)[/]"
                )
    counts = Counter(action.symbol for host in plan.hosts for action in host.actions)
    console.print(
        f"\nPlan: {counts['+']} to add, {counts['~']} to change, {counts['-']} to remove."
    )


def _change(diff: tuple[str, ...], own: tuple[str, ...]) -> tuple[str, ...]:
    """A diff's changed lines (below its two lines naming the file), the host's own values, as
    whole words, left out."""
    words = "|".join(re.escape(value) for value in sorted(own, key=len, reverse=True))
    whole = re.compile(rf"(?<![\w-])(?:{words})(?![\w-])")
    return tuple(whole.sub("\0", text) for text in diff[2:] if text[:1] in "+-@")


def render_commit_changes(
    changes: list[CommitChange], run_line: str, console: Console, shown: int = 10
) -> None:
    """The commits a plan makes live (+) or undoes (-), per pair of live and new commits, and
    the migrations it leaves the database with that the new commit lacks."""
    for change in changes:
        console.print(
            f"\n[bold]Commits[/] on {escape(', '.join(change.hosts))}: "
            f"{change.live[:12]} -> {change.target[:12]}"
        )
        if change.changes is None:
            console.print(
                f"  [dim]this repository lacks {change.live[:12]} or {change.target[:12]}: "
                "`git fetch` to see the commits between them[/]"
            )
            continue
        added, removed = change.changes
        for symbol, commits in (("+", added), ("-", removed)):
            for line in commits[:shown]:
                console.print(f"  [{COLORS[symbol]}]{symbol} {escape(line)}[/]")
            if len(commits) > shown:
                console.print(f"  [dim]{symbol} ... {len(commits) - shown} more[/]")
        if removed:
            console.print(
                f"  [yellow]{len(removed)} commit(s) live now not in {change.target[:12]}: "
                "undone by this change[/]"
            )
        for undone in change.migrations:
            console.print(
                f"  [yellow]{undone.count} migration(s) of {escape(undone.app)} live now not in "
                f"{change.target[:12]}: the database keeps what they did; if that commit cannot "
                "work with it, reverse them first, while the live release has them: "
                f"{escape(run_line)} -- python manage.py migrate "
                f"{escape(undone.app)} {escape(undone.back_to)}[/]"
            )


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.model_dump(mode="json"), indent=2, sort_keys=True)


def _hosts(names: list[str]) -> str:
    return f"[bold]{escape(named_hosts(names))}[/]"


def _print_by_hosts(blocks: Mapping[str, tuple[str, ...]], console: Console) -> None:
    """Each host's block: what follows its name on the first line, then the other lines; hosts
    whose blocks are the same, once under all their names."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in in_host_order(blocks):
        groups.setdefault(blocks[name], []).append(name)
    for (after_names, *lines), names in groups.items():
        console.print(_hosts(names) + after_names)
        for line in lines:
            console.print(line)


def render_releases(observed: dict[str, ObservedHost], console: Console) -> None:
    _print_by_hosts({name: ("", *_release_lines(host)) for name, host in observed.items()}, console)


def _release_lines(host: ObservedHost) -> tuple[str, ...]:
    lines = [] if host.releases else ["  no releases"]
    for release in sorted(host.releases, key=lambda r: r.id, reverse=True):
        active = release.id == host.current
        marker = "[green]* active   [/]" if active else f"  {release.state:<9}"
        dirty = " (dirty)" if release.dirty else ""
        lines.append(
            f"{marker} {release.id:>4}  {release.commit[:12]}{dirty}  "
            f"{release.created_at}  {escape(release.created_by)}  "
            f"{escape(release.subject)}"
        )
    for number in host.failed:
        lines.append(
            f"  [red]failed[/]    {number:>4}  switched back from; removed by the next apply"
        )
    for leftover in host.leftovers:
        lines.append(f"  [red]interrupted[/] {escape(leftover)}")
    return tuple(lines)


def releases_json(observed: dict[str, ObservedHost]) -> str:
    return json.dumps(
        {
            "version": RELEASES_FORMAT_VERSION,
            "hosts": {
                name: {
                    "active": host.current,
                    "releases": [
                        r.model_dump(mode="json", exclude={"configs"}) for r in host.releases
                    ],
                    "failed": list(host.failed),
                    "interrupted": list(host.leftovers),
                }
                for name, host in sorted(observed.items())
            },
        },
        indent=2,
        sort_keys=True,
    )


def render_locks(observed: dict[str, ObservedHost], ttl: int, console: Console) -> None:
    _print_by_hosts(
        {
            name: (f": {escape(host.lock.describe(ttl)) if host.lock else 'not locked'}",)
            for name, host in observed.items()
        },
        console,
    )


def render_lock_notes(observed: dict[str, ObservedHost], ttl: int, console: Console) -> None:
    for name in in_host_order(observed):
        if lock := observed[name].lock:
            console.print(f"[yellow]note:[/] {escape(name)} is {escape(lock.describe(ttl))}")


def locks_json(observed: dict[str, ObservedHost], ttl: int) -> str:
    return json.dumps(
        {
            "version": RELEASES_FORMAT_VERSION,
            "ttl": ttl,
            "hosts": {
                name: None
                if host.lock is None
                else {
                    **host.lock.model_dump(exclude={"raw", "token"}),
                    "stale": host.lock.stale(ttl),
                }
                for name, host in sorted(observed.items())
            },
        },
        indent=2,
        sort_keys=True,
    )


def render_history(found: dict[str, list[dict]], console: Console) -> None:
    _print_by_hosts({name: ("", *_history_lines(e)) for name, e in found.items()}, console)


def _history_lines(entries: list[dict]) -> tuple[str, ...]:
    lines = [] if entries else ["  no history"]
    for e in entries:
        fields = [e.get("at", "?"), e.get("by", "?"), e.get("command", "?")]
        moves = ["none" if e.get(end) is None else e[end] for end in ("from", "to")]
        fields += [" -> ".join(str(m) for m in moves), e.get("outcome", "?")]
        lines.append("  " + "  ".join(escape(str(f)) for f in fields))
    return tuple(lines)


def history_json(found: dict[str, list[dict]]) -> str:
    return json.dumps(
        {"version": RELEASES_FORMAT_VERSION, "hosts": found}, indent=2, sort_keys=True
    )


def render_setup(
    changes: dict[str, list[str]],
    planned: bool,
    console: Console,
    nothing: str = "already set up, nothing to do",
    verbs: tuple[str, str] = ("change", "changed"),
) -> None:
    """What `bootstrap` (or `remove`) changed, or, planned, would change, on each host."""
    verb = f"would {verbs[0]}" if planned else verbs[1]
    blocks = {
        name: (
            (f": {verb} {len(steps)}", *(f"  [yellow]~ {escape(step)}[/]" for step in steps))
            if steps
            else (f": {nothing}",)
        )
        for name, steps in changes.items()
    }
    _print_by_hosts(blocks, console)


def print_host_line(out: Console) -> Callable[[str, str], None]:
    """Print a line some host wrote, after its name, as it comes."""
    return lambda host, line: out.out(f"{host}: {line}", highlight=False)


def render_ran(ran: list[Ran], out: Console, err: Console, prefixed: bool) -> None:
    """A command's output as it wrote it (stdout, then stderr), each line after its host's
    name when it ran on several."""
    for result in ran:
        prefix = f"{result.host}: " if prefixed else ""
        for console, lines in ((out, result.stdout), (err, result.stderr)):
            for line in lines:
                console.out(prefix + line, highlight=False)
