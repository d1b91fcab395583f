"""`shipstate sandbox`: a real local fleet for trying shipstate and for its tests."""

import os
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shipstate import sandbox
from shipstate.cli.output import err, out, progress
from shipstate.config import NAME_PATTERN, load_config
from shipstate.errors import ShipstateError
from shipstate.layout import Layout

app = typer.Typer(
    help="A fleet of real servers on this machine (Linux, root): each host has its own "
    "namespaces, sshd, nginx and supervisord on 127.0.0.(10+i).\n\n"
    "Example: shipstate sandbox up --hosts 3",
    no_args_is_help=True,
)


def _app(app_name: str | None) -> tuple[Layout, str | None, str | None]:
    """The app's name and root: --app's (its default root), else shipstate.toml's; the name
    its requests ask for, if shipstate.toml gives one; and the Python it gives the sandbox."""
    if app_name:
        if not re.fullmatch(NAME_PATTERN, app_name):
            raise ShipstateError(
                f"--app {app_name!r} is not an app name",
                hint="lowercase letters, digits, - and _, starting with a letter, as `name` in "
                "shipstate.toml",
            )
        return sandbox.app_layout(app_name), None, None
    try:
        config = load_config(Path.cwd(), sandbox.INVENTORY_FILE.stem)
    except ShipstateError as exc:
        raise ShipstateError(
            f"{exc.message}; the sandbox needs the app's name",
            hint="run it from the app's root, or pass --app NAME",
        ) from None
    return sandbox.app_layout(config.name, config.root), config.host_name, config.python


@app.command()
def up(
    hosts: Annotated[int, typer.Option("--hosts", "-n", metavar="N", help="How many hosts.")] = 2,
    app_name: Annotated[
        str | None,
        typer.Option(
            "--app",
            metavar="NAME",
            help="App name, with its root /srv/<app> (default: shipstate.toml's name and "
            "root), which is made for the deploy user.",
        ),
    ] = None,
    bare: Annotated[
        bool,
        typer.Option(
            "--bare", help="Hosts with root ssh only: no deploy user, app dir or sudo rules."
        ),
    ] = False,
    debian: Annotated[
        str | None,
        typer.Option(
            "--debian",
            metavar="RELEASE",
            help="Hosts running that Debian release (13 or trixie, 12 or bookworm) instead of "
            "this machine's system, as your servers do: made once with debootstrap (~1 min, "
            "~500 MB in /opt/shipstate-sandbox-roots).",
        ),
    ] = None,
) -> None:
    """Start the sandbox and write inventories/sandbox.py here.

    Already up with as many hosts: only writes the inventory (adding the app first, if new).

    Each app but the first gets an HTTP port of its own, from 8001 on.

    Example: shipstate sandbox up --hosts 3 --debian 13
    """
    layout, host_name, python = _app(app_name)
    name = layout.app
    release = sandbox.debian_release(debian) if debian else None
    root = sandbox.debian_root(release, progress) if release else None
    lacking = root and python and sandbox.python_lacking_note(root, release, python)
    if lacking:
        err.print(f"note: {escape(lacking)}")
    started = sandbox.running(hosts, bare, release)
    if not started:
        on = f" running Debian {release}" if release else ""
        progress(f"starting {hosts} sandbox host(s){on} for app {name}")
        started = sandbox.up(hosts, layout, bare, (release, root) if release else None)
    elif sandbox.http_port(name) is None:
        port = sandbox.add_app(started, layout)
        progress(f"the sandbox is already up, {hosts} host(s): added app {name}, on port {port}")
    else:
        sandbox.set_up_app(started, layout)
        progress(f"the sandbox is already up, {hosts} host(s) for app {name}")
    port = sandbox.http_port(name)
    path = sandbox.write_inventory(Path.cwd(), started, port)
    site = "" if port == sandbox.FIRST_APP_PORT else f":{port}"
    asked = f"  (Host: {host_name})" if host_name else ""
    for host in started:
        out.print(
            f"{host.name}  {host.address}  ssh deploy@{host.address}  "
            f"http://{host.address}{site}/{asked}"
        )
    out.print(f"inventory: {path}")


@app.command()
def status(json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show each sandbox host and whether its sshd and nginx answer."""
    rows = sandbox.status()
    if json:
        out.print_json(data=rows)
        return
    if not rows:
        out.print("the sandbox is down")
        return
    for row in rows:
        state = "running" if row["running"] else "stopped"
        out.print(
            f"{row['name']}  {row['address']}  {state}  ssh:{'up' if row['ssh'] else 'down'}"
            f"  http:{'up' if row['http'] else 'down'}"
        )
    out.print(f"serving {sandbox.apps_text()}")


@app.command()
def down() -> None:
    """Stop every sandbox host and remove its files."""
    count = sandbox.down()
    out.print(f"stopped {count} sandbox host(s)")


@app.command()
def ssh(
    host: Annotated[str, typer.Argument(help="Host name (sandbox-1) or address.")],
    command: Annotated[list[str] | None, typer.Argument(help="Command to run.")] = None,
    user: Annotated[
        str, typer.Option("--user", "-u", metavar="USER", help="Remote user.")
    ] = "deploy",
) -> None:
    """Open a shell (or run a command) on a sandbox host.

    Example: shipstate sandbox ssh sandbox-1 -- supervisorctl status
    """
    argv = sandbox.ssh_command(sandbox.find(host), user, command or [])
    os.execvp(argv[0], argv)
