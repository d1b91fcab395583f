"""plan, apply, set-active, rollback, releases: thin shells over engine.Session."""

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from shipstate import views
from shipstate.cli.output import Settings, err, out, progress, working
from shipstate.engine import Session
from shipstate.errors import EXIT_CHANGES, RemoteError, ShipstateError
from shipstate.lock import lock_ttl
from shipstate.plan import Plan
from shipstate.runner import Ran

Inventory = Annotated[
    Path,
    typer.Option(
        "-i",
        "--inventory",
        help="pyinfra inventory file, e.g. inventories/staging.py, or its name: staging.",
        metavar="FILE",
    ),
]
Limit = Annotated[
    list[str] | None,
    typer.Option("--limit", help="Only these hosts or groups (repeatable).", metavar="HOST|GROUP"),
]
Ref = Annotated[str, typer.Option("--ref", metavar="REF", help="The git ref to deploy.")]
AllowDirty = Annotated[
    bool,
    typer.Option(
        "--allow-dirty", help="Deploy uncommitted changes of tracked files (release marked dirty)."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")]
LockWait = Annotated[
    float,
    typer.Option(
        "--lock-wait",
        help="Wait up to SECONDS for another deploy's lock instead of failing.",
        metavar="SECONDS",
        min=0,
    ),
]
StealStale = Annotated[
    bool,
    typer.Option("--steal-stale", help="Take over a lock whose holder stopped sending heartbeats."),
]
ConnectUser = Annotated[
    str,
    typer.Option(
        "--user",
        metavar="USER",
        help="Connect as this user: root, or a user with passwordless sudo.",
    ),
]
AcceptKeys = Annotated[
    bool, typer.Option("--accept-new-host-keys", help="Trust SSH host keys not yet in known_hosts.")
]


def _session(inventory: Path, limit, accept_keys: bool = False) -> Session:
    return Session(Path.cwd(), inventory, limit, progress, accept_keys, Settings.verbose)


def _confirm_and_apply(session: Session, lock, plan: Plan, yes: bool) -> None:
    views.render_plan(plan, out, session.own_values())
    views.render_commit_changes(session.commit_changes(plan), session.run_line(), out)
    if plan.empty:
        return
    if not yes:
        if not sys.stdin.isatty():
            raise ShipstateError(
                "refusing to apply without confirmation",
                hint="pass --yes to apply from a script or CI",
            )
        if not typer.confirm("Apply these changes?", default=False, err=True):
            err.print("nothing changed")
            raise typer.Exit(1)
    lock.annotate(", ".join(sorted({str(h.active_after) for h in plan.hosts})))
    started = time.monotonic()
    with working("applying"):
        session.apply(plan)
    out.print(f"[green]Applied.[/] [dim]({time.monotonic() - started:.1f}s)[/]")


def plan(
    inventory: Inventory,
    limit: Limit = None,
    ref: Ref = "HEAD",
    allow_dirty: AllowDirty = False,
    json: Json = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 for no changes, 2 for changes, 1 for errors."
        ),
    ] = False,
    accept_new_host_keys: AcceptKeys = False,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also save the plan to FILE: `shipstate apply FILE` applies exactly it.",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Show what `apply` would change on each host. Changes nothing.

    Example: shipstate plan -i inventories/production.py --limit web1

    Example: shipstate plan -i inventories/production.py --out release.plan
    """
    with _session(inventory, limit, accept_new_host_keys) as session:
        reading = session.read_app(ref, allow_dirty, with_archive=False)
        with working("planning"):
            result = session.plan_apply(reading)
        if out_file is not None:
            session.save_plan(result, out_file)
            progress(
                f"saved the plan to {out_file}; apply exactly it with: "
                f"shipstate apply -i {inventory} {out_file}"
            )
    if json:
        out.print_json(views.plan_json(result))
    else:
        views.render_plan(result, out, session.own_values())
        views.render_commit_changes(session.commit_changes(result), session.run_line(), out)
        views.render_lock_notes(session.observed, lock_ttl(), out)
    if detailed_exitcode and not result.empty:
        raise typer.Exit(EXIT_CHANGES)


def apply(
    inventory: Inventory,
    plan_file: Annotated[
        Path | None,
        typer.Argument(
            help="A plan saved by `plan --out`: applied as it is, without asking, or refused "
            "if any host changed since it was made.",
            metavar="PLAN_FILE",
        ),
    ] = None,
    limit: Limit = None,
    ref: Ref = "HEAD",
    allow_dirty: AllowDirty = False,
    yes: Yes = False,
    lock_wait: LockWait = 0,
    steal_stale: StealStale = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Deploy the app's commit: build a new release on every host, switch, verify.

    Takes the deploy lock on every host first (exit code 3 when another deploy holds it).

    Example: shipstate apply -i inventories/staging.py --yes

    Example: shipstate apply -i inventories/production.py release.plan
    """
    if plan_file is not None and (ref != "HEAD" or allow_dirty):
        raise ShipstateError(
            "a saved plan already names its commit", hint="drop --ref/--allow-dirty"
        )
    with _session(inventory, limit, accept_new_host_keys) as session:
        saved = session.load_plan(plan_file) if plan_file is not None else None
        reading = session.read_app(ref, allow_dirty, with_archive=True) if saved is None else None
        with session.locked(lock_wait, steal_stale) as lock:
            with working("planning"):
                if reading is None:
                    planned = session.fresh_plan(saved, plan_file)
                else:
                    planned = session.plan_apply(reading)
            _confirm_and_apply(session, lock, planned, yes or saved is not None)


def set_active(
    release: Annotated[
        str,
        typer.Argument(help="A release number, `previous` (one before the active) or `latest`."),
    ],
    inventory: Inventory,
    limit: Limit = None,
    yes: Yes = False,
    lock_wait: LockWait = 0,
    steal_stale: StealStale = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Make an existing release the active one: rollback and roll-forward. No rebuild.

    Example: shipstate set-active previous -i inventories/production.py
    """
    with _session(inventory, limit, accept_new_host_keys) as session:
        session.check_release_name(release)
        with session.locked(lock_wait, steal_stale) as lock:
            with working("planning"):
                planned = session.plan_set_active(release)
            _confirm_and_apply(session, lock, planned, yes)


def rollback(
    inventory: Inventory,
    limit: Limit = None,
    yes: Yes = False,
    lock_wait: LockWait = 0,
    steal_stale: StealStale = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Shorthand for `set-active previous`.

    Example: shipstate rollback -i inventories/production.py
    """
    set_active("previous", inventory, limit, yes, lock_wait, steal_stale, accept_new_host_keys)


def releases(
    inventory: Inventory,
    limit: Limit = None,
    json: Json = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """List each host's releases: number, commit, time, who, and which is active.

    Example: shipstate releases -i inventories/production.py --json
    """
    with _session(inventory, limit, accept_new_host_keys) as session:
        observed = session.observe()
    if json:
        out.print_json(views.releases_json(observed))
    else:
        views.render_releases(observed, out)


def history(
    inventory: Inventory,
    limit: Limit = None,
    entries: Annotated[
        int, typer.Option("--entries", "-n", help="How many, newest last.", min=1)
    ] = 20,
    json: Json = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Every apply and set-active on each host: when, who, from which release to which, outcome.

    Example: shipstate history -i inventories/production.py -n 50
    """
    with _session(inventory, limit, accept_new_host_keys) as session:
        found = session.history(entries)
    if json:
        out.print_json(views.history_json(found))
    else:
        views.render_history(found, out)


def run(
    command: Annotated[
        list[str],
        typer.Argument(help="The command and its arguments, after --.", metavar="COMMAND"),
    ],
    inventory: Inventory,
    limit: Limit = None,
    every_host: Annotated[
        bool, typer.Option("--all", help="Run on every host at once (default: the first).")
    ] = False,
    tty: Annotated[
        bool,
        typer.Option(
            "--tty", "-t", help="Give the command this terminal (a shell, createsuperuser)."
        ),
    ] = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Run a command in the active release, as its hooks run.

    In the release's directory, as the deploy user, with its venv, the app's env and secrets.

    It reads no input (createsuperuser --noinput: DJANGO_SUPERUSER_PASSWORD in the secrets)...

    ...unless --tty: then it runs on the first host through OpenSSH's ssh, interactive.

    Example: shipstate run -i inventories/production.py -- python manage.py showmigrations

    Example: shipstate run -i inventories/production.py -t -- python manage.py shell
    """
    if tty:
        _run_in_terminal(inventory, limit, tuple(command), every_host, accept_new_host_keys)
    with _session(inventory, limit, accept_new_host_keys) as session, working("running"):
        ran = session.run(tuple(command), every_host)
    _report(ran, shlex.join(command), prefixed=every_host)


def _run_in_terminal(inventory, limit, command, every_host: bool, accept_new_host_keys: bool):
    if every_host:
        raise ShipstateError(
            "--tty runs on one host, not --all", hint="choose the host with --limit HOST"
        )
    if not sys.stdin.isatty():
        raise ShipstateError("--tty needs a terminal: stdin is not one", hint="drop --tty")
    with _session(inventory, limit, accept_new_host_keys) as session:
        ssh = session.terminal(command)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(ssh[0], ssh)
    except FileNotFoundError:
        raise ShipstateError(
            "--tty needs OpenSSH's client (ssh), which is not installed",
            hint="apt-get install openssh-client",
        ) from None


def logs(
    inventory: Inventory,
    limit: Limit = None,
    lines: Annotated[
        int, typer.Option("--lines", "-n", metavar="N", help="How many lines.", min=1)
    ] = 50,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Then print new lines as they are written, until Ctrl-C."
        ),
    ] = False,
    process: Annotated[
        str | None,
        typer.Option(
            "--process",
            help="The log of this process of the app instead.",
            metavar="NAME",
        ),
    ] = None,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """The last lines of the active release's app server log on each host.

    gunicorn's access log, errors and tracebacks, each line after its host's name.

    --follow: through OpenSSH's ssh, the log of the release active when it started.

    --process NAME: the log of a process of the app (shipstate.toml's processes) instead.

    Example: shipstate logs -i inventories/production.py --limit web1 -n 200

    Example: shipstate logs -i inventories/production.py -f
    """
    if follow:
        with _session(inventory, limit, accept_new_host_keys) as session:
            try:
                failed = session.follow_logs(lines, views.print_host_line(out), process)
            except KeyboardInterrupt:
                return
        if failed:
            raise RemoteError(
                f"following the log failed on {', '.join(failed)}", hint="its output is above"
            )
        return
    with _session(inventory, limit, accept_new_host_keys) as session, working("reading logs"):
        ran = session.logs(lines, process)
    _report(ran, "tail", prefixed=True)


def _report(ran: list[Ran], what: str, prefixed: bool) -> None:
    views.render_ran(ran, out, err, prefixed)
    failed = [r.host for r in ran if not r.ok]
    if failed:
        raise RemoteError(f"{what} failed on {', '.join(failed)}", hint="its output is above")


def bootstrap(
    inventory: Inventory,
    limit: Limit = None,
    user: ConnectUser = "root",
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The deploy user's SSH public key (default: the inventory's ssh_key + .pub, "
            "else ~/.ssh/id_ed25519.pub).",
            metavar="FILE",
        ),
    ] = None,
    plan_only: Annotated[
        bool, typer.Option("--plan", help="Show what would change; change nothing.")
    ] = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Set up Debian/Ubuntu servers for shipstate. Idempotent: a second run changes nothing.

    Installs nginx, supervisor, python3-venv and sudo if missing.

    Creates the inventory's ssh_user (the deploy user) with your public key, and the app root.

    Allows it exactly `nginx -t` and `nginx -s reload` through sudo (checked with visudo).

    Lets its group use supervisor's socket, and includes the active release's nginx site.

    Example: shipstate bootstrap -i inventories/production.py --user root --plan
    """
    with _session(inventory, limit, accept_new_host_keys) as session, working("setting up"):
        changes = session.bootstrap(user, public_key, plan_only)
    views.render_setup(changes, plan_only, out)


NOTHING_TO_REMOVE = "nothing of the app here"
REMOVE = ("remove", "removed")


def remove(
    inventory: Inventory,
    limit: Limit = None,
    user: ConnectUser = "root",
    plan_only: Annotated[
        bool, typer.Option("--plan", help="Show what would be removed; change nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking.")] = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Take the app off the servers: to retire it, or before renaming it (a new app).

    Stops its app servers and processes, removes its nginx site and supervisor include.

    Then deletes its root: releases, environments, shared files (uploads, SQLite, secrets).

    Packages, the deploy user and its sudo rules stay, for the server's other apps.

    Refused while a deploy holds the lock. A second run removes nothing.

    Example: shipstate remove -i inventories/staging.py --plan
    """

    def confirm(changes: dict[str, list[str]]) -> bool:
        views.render_setup(changes, True, out, NOTHING_TO_REMOVE, REMOVE)
        if plan_only or not any(changes.values()):
            return False
        if not yes:
            if not sys.stdin.isatty():
                raise ShipstateError(
                    "refusing to remove the app without confirmation",
                    hint="pass --yes to remove it from a script",
                )
            question = f"Remove {session.config.name} and its shared files from these hosts?"
            if not typer.confirm(question, default=False, err=True):
                err.print("nothing changed")
                raise typer.Exit(1)
        return True

    with _session(inventory, limit, accept_new_host_keys) as session:
        removed = session.remove(user, confirm)
    if removed is not None:
        views.render_setup(removed, False, out, NOTHING_TO_REMOVE, REMOVE)


lock_app = typer.Typer(
    help="The deploy lock: who holds it on each host, and removing a stale one.\n\n"
    "Example: shipstate lock status -i inventories/production.py",
    no_args_is_help=True,
)


@lock_app.command("status")
def lock_status(
    inventory: Inventory,
    limit: Limit = None,
    json: Json = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Show each host's lock: holder, command, age, live or stale.

    Example: shipstate lock status -i inventories/production.py --json
    """
    with _session(inventory, limit, accept_new_host_keys) as session:
        observed = session.observe()
    if json:
        out.print_json(views.locks_json(observed, lock_ttl()))
    else:
        views.render_locks(observed, lock_ttl(), out)


@lock_app.command("release")
def lock_release(
    inventory: Inventory,
    force: Annotated[
        bool, typer.Option("--force", help="Required: remove whoever's lock.")
    ] = False,
    limit: Limit = None,
    yes: Yes = False,
    accept_new_host_keys: AcceptKeys = False,
) -> None:
    """Remove the deploy lock on every host, whoever holds it (after confirmation).

    Only for a lock whose holder is gone; `apply --steal-stale` is the safer way.

    Example: shipstate lock release -i inventories/production.py --force
    """
    if not force:
        raise ShipstateError("lock release needs --force", hint="it removes another deploy's lock")
    with _session(inventory, limit, accept_new_host_keys) as session:
        observed = session.observe()
        if not any(o.lock for o in observed.values()):
            out.print("No host is locked.")
            return
        views.render_locks(observed, lock_ttl(), out)
        if not yes:
            if not sys.stdin.isatty():
                raise ShipstateError(
                    "refusing to remove locks without confirmation", hint="pass --yes"
                )
            if not typer.confirm("Remove these locks?", default=False, err=True):
                raise typer.Exit(1)
        freed = session.release_locks()
    out.print(f"Removed the lock on {', '.join(freed) or 'no host'}.")


def register(app: typer.Typer) -> None:
    app.add_typer(lock_app, name="lock")
    app.command()(bootstrap)
    app.command()(remove)
    app.command()(plan)
    app.command()(apply)
    app.command("set-active")(set_active)
    app.command()(rollback)
    app.command()(releases)
    app.command()(history)
    app.command()(run)
    app.command()(logs)
