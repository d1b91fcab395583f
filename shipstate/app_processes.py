"""What a project runs beside its app server and builds before upload: a Procfile's processes,
task queues' workers, a frontend build, translations (for `shipstate init`)."""

import json
import posixpath
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipstate.former_tool import supervisor_programs
from shipstate.source import tracked_files


@dataclass(frozen=True)
class FrontendBuild:
    command: str
    package: str  # package.json's path
    outputs: str | None  # what the build makes, as the bundler's config says


# a process that schedules work, which must run on one host only (else each task runs on each)
SCHEDULER = re.compile(r"\bbeat\b|clock|schedul|cron", re.I)


def _process_name(name: str) -> str | None:
    """As a process of shipstate.toml may be named, if it can be."""
    named = re.sub(r"[^a-z0-9_]", "_", name.strip().lower())[:31]
    return named if named[:1].isalpha() else None


def read_procfile(app_dir: Path) -> dict[str, str]:
    """A Procfile's process types (as process names) and their commands."""
    procfile = app_dir / "Procfile"
    if not procfile.is_file():
        return {}
    found = {}
    for line in procfile.read_text(errors="replace").splitlines():
        name, colon, command = line.partition(":")
        named = _process_name(name)
        if colon and command.strip() and named:
            found[named] = command.strip()
    return found


# a Procfile's web command serving an ASGI app: uvicorn mysite.asgi:application, daphne...
ASGI_SERVED = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*\.asgi)(?::([A-Za-z_]\w*))?\b")


# task queues' Django apps, and their workers' management commands
TASK_QUEUE_APPS = {
    "django_q": ("qcluster", "python manage.py qcluster"),
    "huey.contrib.djhuey": ("huey", "python manage.py run_huey"),
    "django_rq": ("rqworker", "python manage.py rqworker default"),
    "django_dramatiq": ("dramatiq", "python manage.py rundramatiq"),
    "django_tasks.backends.database": ("db_worker", "python manage.py db_worker"),
}


def processes_to_run(
    app_dir: Path, procfile: dict[str, str], project: Path, settings_module: str, settings: str
):
    """Programs to run beside the app server: a Procfile's (all but web and release), else
    those a supervisor config git holds runs (but the web server), else a Celery app's worker
    (and beat, if the settings schedule tasks), else the worker of a task queue INSTALLED_APPS
    names (django-q, huey, django-rq, dramatiq, django-tasks). (processes, where found)"""
    if procfile:
        found = [(n, c) for n, c in procfile.items() if n not in ("web", "release")]
        return tuple(found), "Procfile"
    supervised, supervised_in = supervisor_programs(app_dir, tracked_files(app_dir, "*supervisor*"))
    if supervised:
        named = ((_process_name(n), c) for n, c in supervised)
        return tuple((n, c) for n, c in named if n), supervised_in
    package = settings_module.split(".")[0]
    if (project / package / "celery.py").is_file():
        worker = [("worker", f"celery -A {package} worker -l info")]
        if "CELERY_BEAT" in settings or "django_celery_beat" in settings:
            worker.append(("beat", f"celery -A {package} beat -l info"))
        return tuple(worker), f"{package}/celery.py"
    queues = [
        process
        for app, process in TASK_QUEUE_APPS.items()
        if f"'{app}'" in settings.replace('"', "'")
    ]
    return tuple(queues), "INSTALLED_APPS" if queues else ""


# each JavaScript package manager's lock file, and the build with it
FRONTEND_BUILDS = (
    ("pnpm-lock.yaml", "pnpm install --frozen-lockfile && pnpm run build"),
    ("yarn.lock", "yarn install --frozen-lockfile && yarn build"),
    ("package-lock.json", "npm ci && npm run build"),
    ("package.json", "npm install && npm run build"),
)


def frontend_build(app_dir: Path) -> FrontendBuild | None:
    """The command building the frontend, when a package.json git holds has a build script:
    the app's, else the shallowest in a directory of it (frontend/, theme/static_src/), run
    there."""
    tracked = [PurePosixPath(p) for p in tracked_files(app_dir, "*package.json")]
    paths = [p for p in tracked if p.name == "package.json" and "node_modules" not in p.parts]
    for package in (app_dir / p for p in sorted(paths, key=lambda p: (len(p.parts), p))):
        try:
            scripts = json.loads(package.read_text(errors="replace")).get("scripts") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(scripts, dict) and "build" in scripts:
            directory = package.parent
            at = directory.relative_to(app_dir).as_posix()
            command = next(c for lock, c in FRONTEND_BUILDS if (directory / lock).is_file())
            return FrontendBuild(
                command if at == "." else f"cd {shlex.quote(at)} && {command}",
                package.relative_to(app_dir).as_posix(),
                _bundled_into(directory, " ".join(map(str, scripts.values())), at),
            )
    return None


# Vite's build.outDir; webpack's output.path as path.resolve(__dirname, "x", "y"); the
# Tailwind CLI's output file, whose directory is taken
VITE_OUT_DIR = re.compile(r"""\boutDir\s*:\s*["'`]([^"'`]+)["'`]""")
WEBPACK_PATH = re.compile(r"""\bpath\s*:\s*path\.(?:resolve|join)\(\s*__dirname\s*,([^)]*)\)""")
TAILWIND_OUTPUT = re.compile(r"\btailwindcss\b[^&|;]*?\s(?:-o|--output)(?:=|\s+)(\S+)/[^/\s]+")


def _bundled_into(directory: Path, scripts: str, at: str) -> str | None:
    """Where the bundler package.json's scripts run writes, from the app's root, when in it."""
    configs = {
        name: found[0].read_text(errors="replace")
        for name in ("vite", "webpack")
        if (found := sorted(directory.glob(f"{name}.config.*")))
    }
    if "vite" in configs or re.search(r"\bvite\b", scripts):
        out = VITE_OUT_DIR.search(configs.get("vite", ""))
        written = out[1] if out else "dist"
    elif out := WEBPACK_PATH.search(configs.get("webpack", "")):
        written = "/".join(re.findall(r"""["'`]([^"'`]+)["'`]""", out[1]))
    elif out := TAILWIND_OUTPUT.search(scripts):
        written = out[1]
    else:
        return None
    path = posixpath.normpath(posixpath.join(at, written))
    return None if path.startswith(("..", "/")) or path == "." else f"{path}/"


def translations(app_dir: Path) -> tuple[str, ...]:
    """The locale directories whose translations (.po) git holds uncompiled (no .mo tracked):
    a release has them only if compilemessages runs there."""
    compiled = set(tracked_files(app_dir, "*/LC_MESSAGES/*.mo"))
    locales = {
        str(PurePosixPath(po).parents[2])  # <locale>/<language>/LC_MESSAGES/<domain>.po
        for po in tracked_files(app_dir, "*/LC_MESSAGES/*.po")
        if f"{po.removesuffix('.po')}.mo" not in compiled
    }
    return tuple(sorted(locales - {"."}))


# what serves the app in a Procfile's web command (shipstate runs gunicorn itself)
APP_SERVER = re.compile(
    r"\b(?:gunicorn|uwsgi|daphne|uvicorn|hypercorn|granian|waitress-serve|runserver)\b"
)


def web_steps(web: str, application: str) -> tuple[str, ...]:
    """What a Procfile's web command runs before its server, as a Heroku app may (`flask db
    upgrade; flask translate compile; gunicorn microblog:app`); a `flask` command is given the
    application shipstate serves."""
    parts = [part for part in re.split(r"\s*(?:&&|;)\s*", web.strip()) if part]
    server = next((at for at, part in enumerate(parts) if APP_SERVER.search(part)), 0)
    flask = f"flask --app {shlex.quote(application)} "
    return tuple(re.sub(r"^flask (?!--app\b)", flask, part) for part in parts[:server])


def processes_notes(processes: tuple[tuple[str, str], ...], found_in: str) -> list[str]:
    if not processes:
        return []
    return [
        f"{found_in} names processes ({', '.join(name for name, _ in processes)}): they are "
        "written commented out in shipstate.toml ([[processes]]); uncomment them once what they "
        "need (a broker?) is reachable from the servers"
    ]
