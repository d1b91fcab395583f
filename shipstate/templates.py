"""Config templates: ours in shipstate.deploy_templates, overridden by the app's own."""

import hashlib
from importlib import resources
from pathlib import Path

import jinja2

from shipstate.errors import ShipstateError
from shipstate.layout import NGINX_CONFIG, PROCESSES_CONFIG

RELEASE_TEMPLATES = {
    NGINX_CONFIG: "nginx.conf.j2",
    "gunicorn.conf.py": "gunicorn.conf.py.j2",
    PROCESSES_CONFIG: "processes.conf.j2",
}
PROGRAM_TEMPLATE = "supervisor.conf.j2"
ALL_TEMPLATES = (*RELEASE_TEMPLATES.values(), PROGRAM_TEMPLATE)


class Templates:
    def __init__(self, app_dir: Path):
        builtin = resources.files("shipstate.deploy_templates")
        self.override_dir = app_dir / "deploy_templates"
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [
                    jinja2.FileSystemLoader(str(self.override_dir)),
                    jinja2.FileSystemLoader(str(builtin)),
                ]
            ),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def source_digest(self) -> str:
        digest = hashlib.sha256()
        for name in ALL_TEMPLATES:
            digest.update(self._source(name).encode())
        return digest.hexdigest()

    def _source(self, name: str) -> str:
        loader = self.env.loader
        assert loader is not None
        return loader.get_source(self.env, name)[0]

    def render(self, name: str, context: dict) -> str:
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateError as exc:
            where = self.override_dir / name if (self.override_dir / name).exists() else name
            line = f" line {exc.lineno}" if getattr(exc, "lineno", None) else ""
            raise ShipstateError(
                f"template {where}{line}: {exc}", hint="fix the template; nothing was contacted"
            ) from None
