"""`shipstate init`: start using shipstate in an existing Django project."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shipstate.cli.output import err, out


def init(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite shipstate.toml (and templates) if they exist; inventories are kept.",
        ),
    ] = False,
    templates: Annotated[
        bool,
        typer.Option(
            "--templates", help="Also copy shipstate's templates into deploy_templates/ to edit."
        ),
    ] = False,
) -> None:
    """Write shipstate.toml and example inventories for the Django project here.

    Or for a Flask, FastAPI or other WSGI/ASGI app, which the Procfile or its modules name.

    Detects the settings, WSGI module, requirements, static and media roots, SQLite, a health page.

    Also the processes to run beside the app server (a Procfile's, a supervisor config's, Celery's).

    Names what in the settings is not ready for production, and what they need from secrets.

    Lists the servers a fabfile, Capistrano, Deployer, Ansistrano or Kamal names.

    Keeps as many releases as that tool did and the paths it shared; runs what it ran as hooks.

    From a Procfile, render.yaml or fly.toml too: release commands, gunicorn's workers, timeout.

    Run it where manage.py is, or in the directory above it (then: workdir = "src").

    Never overwrites a file without --force, and an inventory never.

    Adds /secrets/ (where secrets files go) to .gitignore.

    Example: cd mysite && shipstate init --templates
    """
    from shipstate.init import init as write_init_files  # its patterns: only init needs them

    app_dir = Path.cwd()
    done = write_init_files(app_dir, force, templates)
    for path in done.written:
        out.print(f"wrote {path.relative_to(app_dir)}")
    for path in done.kept:
        out.print(f"kept {path.relative_to(app_dir)} (it exists)")
    if done.ignored:
        out.print(f"added {done.ignored} to .gitignore (secrets files stay out of git)")
    if done.made:
        out.print(f"made {done.made} (for the secrets files, readable by you alone)")
    for note in done.notes:
        err.print(f"note: {escape(note)}")
    hosts = "check the hosts in" if "production" in done.hosts_taken else "add your hosts to"
    python = done.secrets_file.endswith(".py")
    needed = ", ".join(f"{n} = '...'" if python else f"{n}=..." for n in done.secrets_needed)
    them = "it" if len(done.secrets_needed) == 1 else "them"
    what = (
        f"{needed}: the app needs {them}" if needed else f"the app reads it as {done.secrets_read}"
    )
    local = done.local_copy
    has = f" has {them}" if needed and local != done.secrets_read else ""  # a .env, checked
    copy = f"; your {local}{has}: `cp {local} {done.secrets_file.format(inventory='sandbox')}`"

    def secrets(inventory: str, also: str = "") -> str:
        return f"{done.secrets_file.format(inventory=inventory)} ({what}{also})"

    out.print(
        f"\nNext: review shipstate.toml, {hosts} inventories/production.py, "
        + (f"write {secrets('production')}, " if needed or done.secrets_read else "")
        + "commit, then"
        "\n  shipstate bootstrap -i inventories/production.py --accept-new-host-keys"
        "   # new servers, as root"
        "\n  shipstate plan -i inventories/production.py --accept-new-host-keys"
        "\nOr first try it on local sandbox hosts (Linux, root; README: The sandbox)"
        + (
            f", with {secrets('sandbox', copy if local else '')}"
            if needed or done.secrets_read
            else ""
        )
        + ":\n  shipstate sandbox up --hosts 2 && "
        + ("shipstate bootstrap -i inventories/sandbox.py && " if done.packages else "")
        + "shipstate apply -i inventories/sandbox.py"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
