"""`shipstate init`: start using shipstate in an existing Django project."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shipstate.cli.output import err, out
from shipstate.init import init as write_init_files


def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    templates: Annotated[
        bool,
        typer.Option(
            "--templates", help="Also copy shipstate's templates into deploy_templates/ to edit."
        ),
    ] = False,
) -> None:
    """Write shipstate.toml and example inventories for the Django project here.

    Detects the settings and WSGI module, the requirements, STATIC_ROOT, MEDIA_ROOT, a SQLite
    database and a page for the health check, and names what in the settings is not ready
    for production. Run it where manage.py is, or in the directory above (a repository with
    the project in src/: the config then says workdir = "src"). Never overwrites a file
    without --force.

    Example: cd mysite && shipstate init --templates
    """
    app_dir = Path.cwd()
    written, notes = write_init_files(app_dir, force, templates)
    for path in written:
        out.print(f"wrote {path.relative_to(app_dir)}")
    for note in notes:
        err.print(f"note: {escape(note)}")
    out.print(
        "\nNext: review shipstate.toml, add your hosts to inventories/production.py, commit, "
        "then\n  shipstate plan -i inventories/production.py --accept-new-host-keys"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
