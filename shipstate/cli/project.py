"""`shipstate init`: start using shipstate in an existing Django project."""

from pathlib import Path
from typing import Annotated

import typer

from shipstate.cli.output import out
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

    Detects the settings and WSGI module, the requirements file, STATIC_ROOT and a SQLite
    database. Never overwrites a file without --force.

    Example: cd mysite && shipstate init --templates
    """
    app_dir = Path.cwd()
    for path in write_init_files(app_dir, force, templates):
        out.print(f"wrote {path.relative_to(app_dir)}")
    out.print(
        "\nNext: review shipstate.toml, add your hosts to inventories/production.py, commit, "
        "then\n  shipstate plan -i inventories/production.py --accept-new-host-keys"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
