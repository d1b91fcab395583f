"""`shipstate init`: write shipstate.toml and example inventories for an existing Django project."""

import ast
import json
import posixpath
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path, PurePosixPath

from shipstate.causes import DEVELOPMENT_TOOLS
from shipstate.config import (
    CONFIG_FILE,
    EXPORTS,
    SECRETS_PATH,
    Config,
    default_root,
    parse_config,
)
from shipstate.errors import ShipstateError
from shipstate.former_tool import (
    AppServer,
    FormerHosts,
    deploy_commands,
    deploys_to,
    dockerfile_packages,
    former_app_server,
    former_hosts,
    former_shared,
    kamal_environment,
    kamal_proxy,
    management_commands_only,
    nginx_site,
    releases_kept,
    supervisor_programs,
)
from shipstate.local_files import write_whole
from shipstate.locks import CONVERTERS
from shipstate.python_source import literal, source_text, statements
from shipstate.sandbox import host_pythons
from shipstate.source import (
    MAKE_A_COMMIT,
    LocalSecrets,
    decoded_requirements,
    git_ignores,
    in_git_work_tree,
    lists_dependencies,
    tracked_files,
)
from shipstate.split_settings import SplitSettings, split_settings
from shipstate.templates import ALL_TEMPLATES
from shipstate.web_app import PROCFILE_WEB, WebApp, web_app

REQUIREMENTS = (
    "uv.lock",
    *CONVERTERS,
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements/base.txt",
    "config/requirements.txt",  # the fabfile's of the Fabric project shipstate replaces
)
# requirements-prod.txt, requirements/live.txt: a production one first, then a base one
PRODUCTION_REQUIREMENTS = re.compile(r"prod|live|deploy|server", re.I)
NOT_PRODUCTION_REQUIREMENTS = re.compile(r"dev|test|local|doc|lint|ci\b|typ|debug", re.I)
INVENTORY = '''"""pyinfra inventory for {env}, written by `shipstate init` {about}.

Every top-level list is a group; each host is "name" or ("name", {{data}}). The first connection
to a new host needs --accept-new-host-keys (keys are then checked against known_hosts).
"""

_deploy = {{"ssh_user": "{user}"}}

web = [
{hosts}]
'''
DEPLOY_USER = "deploy"


def _inventory(env: str, former: FormerHosts | None) -> str:
    """An example, or the hosts the tool used before lists for `env`, as the deploy user (the
    one they were reached as, unless root)."""
    if former is None:
        example = f'("{env}-web1", {{**_deploy, "ssh_hostname": "{env}-web1.example.com"}})'
        return INVENTORY.format(
            env=env, about="(edit the hosts)", user=DEPLOY_USER, hosts=f"    # {example},\n"
        )
    users = Counter(h.user for h in former.hosts if h.user not in (None, "root"))
    user = users.most_common(1)[0][0] if users else DEPLOY_USER
    lines = []
    for host in former.hosts:
        data = {"ssh_user": host.user} if host.user not in (None, "root", user) else {}
        data |= {"ssh_port": host.port} if host.port not in (None, 22) else {}
        data |= {"ssh_key": host.key} if host.key else {}
        extra = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items())
        lines.append(f"    ({json.dumps(host.address)}, {{**_deploy{extra}}}),\n")
    about = f"with the hosts\n{former.found_in} names: check them"
    return INVENTORY.format(env=env, about=about, user=user, hosts="".join(lines))


@dataclass(frozen=True)
class ServerNames:
    names: tuple[str, ...] = ()  # the domains Kamal's proxy, an nginx site or ALLOWED_HOSTS lists
    found_in: str = "ALLOWED_HOSTS"
    staging: tuple[str, ...] = ()  # Kamal's staging destination's proxy's, or staging.* domains
    body_size: tuple[str, str] | None = None  # nginx's client_max_body_size, and its file
    staging_found_in: str = "config/deploy.staging.yml's proxy"


@dataclass(frozen=True)
class FrontendBuild:
    command: str
    package: str  # package.json's path
    outputs: str | None  # what the build makes, as the bundler's config says


@dataclass(frozen=True)
class Pythons:
    command: str | None = None  # the servers' command for the version a file of the app names
    named_by: str | None = None
    needed: str | None = None  # unpinned, a Python newer than Debian 12's the app needs
    needed_by: str | None = None
    sandbox: str | None = None  # the python3.X this machine's sandbox hosts have for it


@dataclass(frozen=True)
class Detected:
    name: str
    workdir: str | None  # where manage.py is, when it is not the app's root
    pythonpath: str | None  # where the project's modules are, when not beside manage.py (src)
    settings: str
    settings_paths: tuple[str, ...]  # the settings' files, or their package
    wsgi: str | None
    requirements: str
    static_root: str | None
    sqlite_file: str | None
    media_root: str | None
    media_url: str
    static_url: str
    health_path: str
    pythons: Pythons = Pythons()
    environment: tuple[str, ...] = ()
    environment_required: tuple[str, ...] = ()  # without a default: [secrets] is written active
    processes: tuple[tuple[str, str], ...] = ()  # (name, command), written commented out
    processes_found_in: str = ""
    notes: tuple[str, ...] = ()
    asgi: str | None = None  # the ASGI application the settings name (Channels)
    build: FrontendBuild | None = None  # the frontend's build a package.json describes
    release: str | None = None  # a Procfile's release command, unless only management commands
    translations: tuple[str, ...] = ()  # locale directories whose .po git holds uncompiled
    server_needs: tuple[str, ...] = ()  # requirements needing Debian packages (psycopg2)
    releases_kept: tuple[int, str] | None = None  # by the former deploy tool, and where it says
    root: str | None = None  # when the former tool deploys into shipstate's default root
    kamal_secret: tuple[str, ...] = ()  # what Kamal gave the app from .kamal/secrets
    kamal_clear: tuple[tuple[str, str], ...] = ()  # and as plain values
    former_shared: tuple[str, ...] = ()  # what the former tool kept across releases
    former_shared_in: str | None = None
    configuration: str | None = None  # django-configurations' settings class for the servers
    # (variable, value, what it does) in [env]: django-split-settings' choosing the servers'
    # files, or one the settings compare with "production"
    settings_variable: tuple[str, str, str] | None = None
    staging_value: str | None = None  # what the settings compare that variable with for staging
    log_paths: tuple[str, ...] = ()  # what LOGGING writes in the project (shared: "logs/")
    settings_ignored: str | None = None  # the settings' file, when git ignores it (uploaded)
    served_at: ServerNames = ServerNames()
    compress: bool = False  # django-compressor's offline compression, after collectstatic
    cache_table: bool = False  # the cache is in the database: createcachetable
    # the management commands the former tool ran on each deploy, but those init writes anyway,
    # before collectstatic and after it
    former_before_static: tuple[str, ...] = ()
    former_after_static: tuple[str, ...] = ()
    former_commands_in: str | None = None
    app_server: AppServer | None = None  # the workers and timeout gunicorn (or uWSGI) had
    web: WebApp | None = None  # a project without Django: its application (Flask, FastAPI...)


# ASGI_APPLICATION = "mysite.asgi.application": Channels serves websockets from there
ASGI_APPLICATION = re.compile(r"""^ASGI_APPLICATION\s*=\s*["']([\w.]+)\.(\w+)["']""", re.M)

# a process that schedules work, which must run on one host only (else each task runs on each)
SCHEDULER = re.compile(r"\bbeat\b|clock|schedul|cron", re.I)


def _process_name(name: str) -> str | None:
    """As a process of shipstate.toml may be named, if it can be."""
    named = re.sub(r"[^a-z0-9_]", "_", name.strip().lower())[:31]
    return named if named[:1].isalpha() else None


def _procfile(app_dir: Path) -> dict[str, str]:
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


def _processes(
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


def _frontend_build(app_dir: Path) -> FrontendBuild | None:
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
                command if at == "." else f"cd {at} && {command}",
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


def _translations(app_dir: Path) -> tuple[str, ...]:
    """The locale directories whose translations (.po) git holds uncompiled (no .mo tracked):
    a release has them only if compilemessages runs there."""
    compiled = set(tracked_files(app_dir, "*/LC_MESSAGES/*.mo"))
    locales = {
        str(PurePosixPath(po).parents[2])  # <locale>/<language>/LC_MESSAGES/<domain>.po
        for po in tracked_files(app_dir, "*/LC_MESSAGES/*.po")
        if f"{po.removesuffix('.po')}.mo" not in compiled
    }
    return tuple(sorted(locales - {"."}))


# the Debian packages requirements need on the servers: those with no wheel are built there
# (psycopg 3's C implementation too); others load a library of the servers'
BUILDS_ON_LIBPQ = ("libpq-dev", "python3-dev", "build-essential")
FOR_DJANGO_HEROKU = "psycopg2 (for django-heroku)"  # which requires psycopg2, not its wheels
SERVER_PACKAGES = {
    "psycopg2": BUILDS_ON_LIBPQ,
    FOR_DJANGO_HEROKU: BUILDS_ON_LIBPQ,
    "mysqlclient": ("default-libmysqlclient-dev", "pkg-config", "python3-dev", "build-essential"),
    "psycopg[c]": BUILDS_ON_LIBPQ,
    "uwsgi": ("python3-dev", "build-essential"),
    "psycopg": ("libpq5",),
    "python-magic": ("libmagic1",),
    "weasyprint": ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"),
    "django.contrib.gis": ("gdal-bin",),
    "git": ("git",),
}
# what needs a library on the servers: who, loading what, and what would need none
LOADS_FROM_THE_SERVERS = {
    "psycopg": ("psycopg without [binary]", "PostgreSQL's client library", "psycopg[binary]"),
    "python-magic": ("python-magic", "libmagic", None),
    "weasyprint": ("WeasyPrint", "Pango", None),
    "django.contrib.gis": ("GeoDjango (django.contrib.gis)", "GDAL, GEOS and PROJ", None),
}
# a requirement from a git repository: a requirements line (or one made of a lock), uv.lock's
# source, poetry.lock's or Pipfile.lock's
FROM_GIT = re.compile(
    r"""\bgit\+[a-z]+://|\bsource\s*=\s*\{\s*git\s*=|^type\s*=\s*"git"|"git"\s*:""", re.M
)
# what is built on the servers, and the requirement with wheels that would build nothing
BUILT_ON_THE_SERVERS = {
    "psycopg2": "psycopg2-binary",
    FOR_DJANGO_HEROKU: None,
    "mysqlclient": None,
    "psycopg[c]": "psycopg[binary]",
    "uwsgi": None,
}
# psycopg[binary] as required, or psycopg-binary as locked; the same for [c]
PSYCOPG_BINARY = re.compile(r"""(?im)psycopg[-_]binary|^\s*["']?psycopg\[[^]]*\bbinary\b""")
PSYCOPG_C = re.compile(r"""(?im)psycopg[-_]c(?![\w.-])|^\s*["']?psycopg\[[^]]*\bc\b""")
# gunicorn pinned (==, as a lock pins it too): before 20.1 it cannot run as `python -m gunicorn`
GUNICORN_PINNED = re.compile(
    r"""(?im)^\s*(?:name\s*=\s*)?["']?gunicorn["']?\s*(?:==\s*|\n\s*version\s*=\s*["'])(\d+)\.(\d+)"""
)
# a requirement's name at the start of a line, as a lock file names it (name = "x") or as
# pyproject.toml lists it ("x>=1",)
REQUIREMENT_NAMED = r"""(?im)^\s*(?:name\s*=\s*)?["']?({})(?![\w.-])"""


def _requirements_text(requirements: Path) -> str:
    """The requirements file, and those it includes with -r."""
    text = decoded_requirements(requirements.read_bytes())
    for included in re.findall(r"(?m)^\s*-r\s+(\S+)", text):
        path = requirements.parent / included
        text += "\n" + (decoded_requirements(path.read_bytes()) if path.is_file() else "")
    return text


def _packages(server_needs, translations) -> dict[str, tuple[str, ...]]:
    """The Debian packages the servers need, by what needs them."""
    needed = {name: SERVER_PACKAGES[name] for name in server_needs}
    if translations:
        needed["compilemessages"] = ("gettext",)
    return needed


def _needing_server_packages(text: str, settings: str = "") -> tuple[str, ...]:
    """The requirements (in a requirements text) and the settings' apps that need Debian
    packages on the servers."""
    named = re.findall(
        REQUIREMENT_NAMED.format(
            "psycopg2|mysqlclient|psycopg|python[-_.]magic|weasyprint|django[-_.]heroku|uwsgi"
        ),
        text,
    )
    found = [re.sub(r"[-_.]", "-", name.lower()) for name in named]
    found = [FOR_DJANGO_HEROKU if name == "django-heroku" else name for name in found]
    if "psycopg2" in found:
        found = [name for name in found if name != FOR_DJANGO_HEROKU]
    if "psycopg" in found:
        found = [name for name in found if name != "psycopg"]
        if not PSYCOPG_BINARY.search(text):
            found.append("psycopg[c]" if PSYCOPG_C.search(text) else "psycopg")
    if FROM_GIT.search(text):
        found.append("git")
    if re.search(r"""["']django\.contrib\.gis["']""", settings):
        found.append("django.contrib.gis")
    return tuple(dict.fromkeys(found))


def _development_tools(settings: str, requirements_text: str) -> list[tuple[str, str]]:
    """The development tools (debug_toolbar) the settings' own statements name, not under a
    condition (`if DEBUG:`), whose package the requirements lack: (module, package)."""
    named = {
        node.value
        for statement in statements(settings) or []
        if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Expr)
        for node in ast.walk(statement)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return [
        (module, package)
        for module, package in DEVELOPMENT_TOOLS.items()
        if any(name == module or name.startswith(f"{module}.") for name in named)
        and not re.search(
            REQUIREMENT_NAMED.format(re.sub(r"-", "[-_.]", package)), requirements_text
        )
    ]


# what only building a requirement from source needs (the servers install wheels; `packages`
# lists what those requirements init finds needing a build need)
BUILD_ONLY = re.compile(r"build-essential|gcc|g\+\+|make|cmake|pkg-config|.+-dev")


# the file a project keeps to list the environment variables it expects, without their values
ENV_EXAMPLES = (".env.example", ".env.sample", ".env.template", ".env.dist", "env.example")


def _env_example(app_dir: Path, places: list[Path]) -> str | None:
    """The path of such a file in one of `places` (or their config/), from `app_dir`."""
    directories = [place / below for place in places for below in (".", "config")]
    found = (directory / name for directory in directories for name in ENV_EXAMPLES)
    return next((f.relative_to(app_dir).as_posix() for f in found if f.is_file()), None)


def _manage_py(app_dir: Path) -> tuple[list[str], list[str]]:
    """The directories holding manage.py: "." (the app's root), else those one below it; and,
    when none does, the deeper ones git tracks."""
    if (app_dir / "manage.py").is_file():
        return ["."], []
    below = sorted(p.parent.name for p in app_dir.glob("*/manage.py") if p.is_file())
    return below, [] if below else _deeper_projects(app_dir)


def _workdir(app_dir: Path, below: list[str], deeper: list[str]) -> str | None:
    """Where manage.py is (`_manage_py`): the app's root, or the one directory below it."""
    if below == ["."]:
        return None
    if len(below) == 1:
        return below[0]
    raise ShipstateError(
        f"no manage.py in {app_dir}"
        + (f" but one in each of {', '.join(below)}" if below else " or a directory in it")
        + (f"; deeper: {', '.join(deeper)}" if deeper else ""),
        hint="run `shipstate init` in the root of a Django project (or the directory above "
        "the one holding manage.py), or of a Flask, FastAPI or other WSGI/ASGI app: init finds "
        "its application in the Procfile's web command, or in a module making it (`app = "
        "Flask(__name__)`, `app = FastAPI()`, a `create_app()` factory, wsgi.py's `app`)"
        + (
            f", e.g. `shipstate -C {PurePosixPath(deeper[0]).parent.parent} init`" if deeper else ""
        ),
    )


def _deeper_projects(app_dir: Path) -> list[str]:
    """The manage.py files git tracks below the directory's children (services/web/...)."""
    return [path for path in tracked_files(app_dir, "*/manage.py") if path.count("/") >= 2]


# the files that pin the app's Python version, and how each writes it
PYTHON_VERSION_FILES = (
    (".python-version", r"(\d+)\.(\d+)"),
    ("runtime.txt", r"python-(\d+)\.(\d+)"),
)


def _pythons(
    app_dir: Path, places: list[Path], requirements: str, requirements_text: str
) -> Pythons:
    """The Python a file of the app pins, else the newer one its requirements need, and the
    sandbox hosts' for it."""
    command, named_by = _python(places)
    if command:
        return Pythons(command, named_by)
    needed, needed_by = _python_needed(app_dir, requirements, requirements_text)
    return Pythons(None, None, needed, needed_by, _sandbox_python(needed) if needed else None)


def _python(places: list[Path]) -> tuple[str, str] | tuple[None, None]:
    """The servers' command for the Python version a file of the app pins (python3.12)."""
    for directory in places:
        for name, written in PYTHON_VERSION_FILES:
            path = directory / name
            text = path.read_text(errors="replace").strip() if path.is_file() else ""
            found = re.match(written, text)
            if found:
                return f"python{found[1]}.{found[2]}", path.name
    return None, None


# Debian 12's python3 is 3.11: an app needing a newer one says so in its requirements
NEWEST_ON_DEBIAN_12 = 11
# the oldest Python 3 minor each Django major runs on, where newer than Debian 12's
DJANGO_NEEDS_PYTHON = {6: 12}
# Django's version as a requirement (Django>=6.1), a pyproject (["django~=6.0"]) or a lock
# (name = "django" then version = "6.1.3") gives its lower bound
DJANGO_VERSION = re.compile(
    r"""(?im)^\s*["']?django(?:\[[^\]]*\])?\s*(?:==|>=|~=|===)\s*(\d+)\.|"""
    r"""^name\s*=\s*"django"\s*\nversion\s*=\s*"(\d+)\."""
)
# requires-python = ">=3.12", Poetry's python = "^3.12"
LOWEST_PYTHON = re.compile(r"(?:>=|~=|\^|==)\s*3\.(\d+)")


def _python_needed(
    app_dir: Path, requirements: str, text: str
) -> tuple[str, str] | tuple[None, None]:
    """The oldest Python the app needs, where newer than Debian 12's, and what says so."""
    try:
        project = tomllib.loads((app_dir / "pyproject.toml").read_text(errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        project = {}
    poetry = project.get("tool", {}).get("poetry", {}).get("dependencies", {})
    for wanted, said_by in (
        (project.get("project", {}).get("requires-python"), "requires-python in pyproject.toml"),
        (poetry.get("python") if isinstance(poetry, dict) else None, "Poetry's python"),
    ):
        found = LOWEST_PYTHON.search(wanted) if isinstance(wanted, str) else None
        if found and int(found[1]) > NEWEST_ON_DEBIAN_12:
            return f"3.{found[1]}", said_by
    django = DJANGO_VERSION.search(text)
    major = int(django[1] or django[2]) if django else 0
    minor = max((m for since, m in DJANGO_NEEDS_PYTHON.items() if major >= since), default=0)
    return (f"3.{minor}", f"Django {major} ({requirements})") if minor else (None, None)


def _sandbox_python(needed: str) -> str | None:
    """The python3.X, `needed` (3.12) or newer, this machine's sandbox hosts have, when their
    python3 is older (pyenv's Pythons beside Debian 12's)."""
    minors = {
        name: int(minor[0])
        for name, path in host_pythons().items()
        if (minor := re.findall(r"^python3\.(\d+)$", path.name))
    }
    wanted = int(needed.partition(".")[2])
    if minors.get("python3", wanted) >= wanted:
        return None
    newer = sorted((minor, name) for name, minor in minors.items() if minor >= wanted)
    return newer[0][1] if newer else None


def _below(directory: Path, app_dir: Path) -> Callable[[str], str]:
    """A path in `directory` (the app's, or one in it) as a path in the app."""
    return partial(
        _in_workdir, None if directory == app_dir else directory.relative_to(app_dir).as_posix()
    )


def _in_workdir(workdir: str | None, path: str) -> str:
    return f"{workdir}/{path}" if workdir else path


def _settings_module(app_dir: Path) -> tuple[str, bool]:
    """The settings module manage.py names; else the project's only one, and True."""
    manage = app_dir / "manage.py"
    found = re.search(  # setdefault("...", "x") or environ["..."] = "x"
        r"DJANGO_SETTINGS_MODULE['\"]\s*(?:,|\]\s*=)\s*['\"]([\w.]+)['\"]", source_text(manage)
    )
    if found:
        return found.group(1), False
    modules = [f"{p.parent.name}.settings" for p in sorted(app_dir.glob("*/settings.py"))]
    modules += [
        f"{package.parent.name}.settings.{name}"
        for package in sorted(app_dir.glob("*/settings"))
        for name in PRODUCTION_SETTINGS
        if (package / f"{name}.py").is_file()
    ]
    if len(modules) != 1:
        raise ShipstateError(
            "manage.py does not name DJANGO_SETTINGS_MODULE as a plain string, and the project "
            f"has {'no settings module' if not modules else 'several: ' + ', '.join(modules)}",
            hint="write shipstate.toml by hand (see the README), with DJANGO_SETTINGS_MODULE "
            "in [env]",
        )
    return modules[0], True


STATIC_ROOT = r"^STATIC_ROOT\s*=\s*(.+)$"
DEFAULT_STATIC_ROOT = Config.model_fields["static_root"].default
MEDIA_ROOT = r"^MEDIA_ROOT\s*=\s*(.+)$"
SQLITE_NAME = r"['\"]NAME['\"]\s*:\s*(.*BASE_DIR.*)$"
# a LOGGING handler's file: "filename": BASE_DIR / "logs" / "app.log"
LOG_FILE = r"['\"]filename['\"]\s*:\s*(.+)$"
# (setting, what its last value looks like when it needs a word, note)
SETTING_NOTES = (
    (
        "DEBUG",
        r"True\b",
        "DEBUG = True in the settings: visitors would see tracebacks; read it from the "
        'environment, e.g. DEBUG = os.environ.get("DEBUG") == "1"',
    ),
    (
        "ALLOWED_HOSTS",
        r"\[\s*\]",
        "ALLOWED_HOSTS = [] in the settings: Django answers 400 to any Host but localhost "
        "(and to every request once DEBUG is off); list your domains, as in server_name",
    ),
    (
        "SECRET_KEY",
        r"['\"]",
        "SECRET_KEY is written in the settings, so in git: read it from the environment and "
        "keep it in a secrets file (README: Secrets)",
    ),
    (
        "SECURE_SSL_REDIRECT",
        r"(?!False\b)",
        "SECURE_SSL_REDIRECT may be on: the app then redirects plain HTTP to HTTPS; give nginx "
        "a certificate with [tls] in shipstate.toml (README: HTTPS) and set "
        'SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https"), or turn it off',
    ),
    (
        "CSRF_COOKIE_SECURE",
        r"(?!False\b)",
        "CSRF_COOKIE_SECURE may be on: over plain HTTP (the sandbox, or servers before [tls]) "
        "browsers keep no CSRF cookie, so forms, the admin's login among them, fail with 403; "
        "give nginx a certificate with [tls] in shipstate.toml (README: HTTPS)",
    ),
)
# (setting the servers' settings module must set, what happens without it)
UNSET_SETTINGS = (
    (
        "SECRET_KEY",
        'Django will not start without one; add SECRET_KEY = os.environ["SECRET_KEY"] and put '
        "the key in a secrets file (README: Secrets)",
    ),
    (
        "ALLOWED_HOSTS",
        "Django answers 400 to every request with DEBUG off; list your domains, as in server_name",
    ),
)
# os.environ["X"], os.environ.get("X"), os.getenv("X"), env("X"), env.bool("X"), config("X")
ENVIRONMENT_READ = (
    r"(?:environ\.get\(|environ\[|getenv\(|\benv(?:\.\w+)?\(|\bconfig\()\s*['\"](\w+)['\"]"
)
RAW_STRING_READ = re.compile(  # os.environ.get("X", "default") as it is: a string
    r"""^(?:os\.)?(?:environ\.get\(|getenv\(|environ\[)\s*['"]\w+['"]\s*"""
    r"""(?:,\s*['"][^'"]*['"]\s*)?[)\]]\s*(?:#.*)?$"""
)
# (setting, its value read from the environment as the servers must not keep it, note on the
# variable): the environment's string as it is; DEBUG on by default, as env.bool("DEBUG",
# True), config("DEBUG", default=True, cast=bool), os.environ.get("DEBUG", "True") == "True";
# a key to fall back on, as os.environ.get("SECRET_KEY", "dev-key"), env("KEY", default="x");
# the first that matches a setting's value is said
ENVIRONMENT_DEFAULT_NOTES = (
    (  # "False" is true
        "DEBUG",
        RAW_STRING_READ,
        'DEBUG is the string the environment\'s {0} gives, and any but an empty one, "False" '
        "too, turns it on: visitors would see tracebacks; compare it, e.g. DEBUG = "
        'os.environ.get("{0}") == "1"',
    ),
    (  # a string is iterated as its characters
        "ALLOWED_HOSTS",
        RAW_STRING_READ,
        "ALLOWED_HOSTS is the string the environment's {0} gives, which Django reads as a list "
        "of its characters: it answers 400 to every request; split it, e.g. ALLOWED_HOSTS = "
        'os.environ.get("{0}", "").split(",")',
    ),
    (
        "DEBUG",
        re.compile(
            r"""(?:default\s*=\s*|['"]\w+['"]\s*,\s*)['"]?(?:True|true|1|yes|on)['"]?\s*[,)]"""
        ),
        "DEBUG is on unless the environment's {0} turns it off: visitors would see tracebacks; "
        "set {0}=False in each inventory's secrets file, or default it to off",
    ),
    (
        "SECRET_KEY",
        re.compile(r"""(?:default\s*=\s*|['"]\w+['"]\s*,\s*)r?['"][^'"]+['"]\s*[,)]"""),
        "SECRET_KEY falls back to a key written in the settings, so in git, when the environment "
        "has no {0}: set {0} in each inventory's secrets file (README: Secrets)",
    ),
)
DEVELOPMENT_SETTINGS = ("local", "dev", "development")
PRODUCTION_SETTINGS = ("production", "prod")
PRODUCTION_VALUE = rf"""(?i:{"|".join(PRODUCTION_SETTINGS)})"""  # "production", "PROD"


def _module_file(app_dir: Path, module: str) -> Path | None:
    base = app_dir / module.replace(".", "/")
    return next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)


CONFIGURATION_NAMED = r"DJANGO_CONFIGURATION['\"]\s*(?:,|\]\s*=)\s*['\"](\w+)['\"]"


def _configurations(project: Path, settings: str) -> tuple[str, str] | None:
    """django-configurations' settings classes: the one manage.py names, and the servers' (a
    Prod or Production class when manage.py names a Dev, Development or Local one)."""
    named = re.search(CONFIGURATION_NAMED, source_text(project / "manage.py"))
    if named is None:
        return None
    classes = re.findall(r"^class (\w+)\(", settings, re.M)
    production = [name for name in classes if name.lower() in PRODUCTION_SETTINGS]
    if named[1].lower() in DEVELOPMENT_SETTINGS and production:
        return named[1], production[0]
    return named[1], named[1]


# django_heroku.settings(locals(), staticfiles=False...): settings made at run time
DJANGO_HEROKU = re.compile(r"^django_heroku\.settings\(\s*locals\(\)([^)]*)\)", re.M)


def _as_django_heroku_leaves_them(settings: str) -> str:
    """The settings with what django-heroku's `settings(locals())` sets in them written where
    it is: STATIC_ROOT (BASE_DIR / "staticfiles") and ALLOWED_HOSTS (all), unless told not to."""
    call = DJANGO_HEROKU.search(settings)
    if call is None:
        return settings
    made = {
        "staticfiles": 'STATIC_ROOT = BASE_DIR / "staticfiles"',
        "allowed_hosts": 'ALLOWED_HOSTS = ["*"]',
    }
    kept = [
        line for option, line in made.items() if not re.search(rf"{option}\s*=\s*False", call[1])
    ]
    return "\n".join([settings[: call.end()], *kept, settings[call.end() :]])


def _as_configuration(settings: str, name: str) -> str:
    """Class-based settings read as a module's: the module's own statements, then those of
    the class `name` after its bases' (what comes later wins, as in a module)."""
    body = statements(settings)
    classes = {node.name: node for node in body or [] if isinstance(node, ast.ClassDef)}
    if body is None or name not in classes:
        return settings
    kept = [node for node in body if not isinstance(node, ast.ClassDef)]
    seen: set[str] = set()

    def inherited(name: str) -> None:
        if name in seen or name not in classes:
            return
        seen.add(name)
        for base in reversed(classes[name].bases):
            inherited(base.id if isinstance(base, ast.Name) else "")
        kept.extend(classes[name].body)

    inherited(name)
    return "\n".join(ast.get_source_segment(settings, node) or "" for node in kept)


def _production_sibling(app_dir: Path, module: str) -> str | None:
    """The production module beside the development one manage.py names (config.settings.local:
    config.settings.production; settings_dev: settings_prod), or beside plain settings one that
    star-imports settings (settings_prod, production_settings, production)."""
    package, _, leaf = module.rpartition(".")
    words = leaf.split("_")
    if any(word in DEVELOPMENT_SETTINGS for word in words):
        names = [
            "_".join(production if word in DEVELOPMENT_SETTINGS else word for word in words)
            for production in PRODUCTION_SETTINGS
        ]
        overlays = False
    else:
        names = [
            name
            for production in PRODUCTION_SETTINGS
            for name in (f"{leaf}_{production}", f"{production}_{leaf}", production)
        ]
        overlays = True
    for name in names:
        sibling = f"{package}.{name}" if package else name
        found = _module_file(app_dir, sibling)
        if found and (
            not overlays or re.search(r"^from [\w.]+ import \*", source_text(found), re.M)
        ):
            return sibling
    return None


def _production_settings(app_dir: Path, module: str) -> str:
    """A sibling production module (see _production_sibling); the production module a settings
    package's __init__ star-imports only under a condition (as on an environment variable),
    when it star-imports nothing always."""
    sibling = _production_sibling(app_dir, module)
    if sibling:
        return sibling
    found = _module_file(app_dir, module)
    if found is not None and found.name == "__init__.py":
        text = source_text(found)
        chosen = re.findall(r"^[ \t]+from \.(\w+) import \*", text, re.M)
        production = [name for name in chosen if name in PRODUCTION_SETTINGS]
        if production and not re.search(r"^from \.\w+ import \*", text, re.M):
            return f"{module}.{production[0]}"
    return module


def _base_dir(modules: Path, settings_module: str, settings: str) -> Path | None:
    """BASE_DIR: the settings file's directory, or as many above it as BASE_DIR's `.parent`s,
    `.parents[n]` or `os.path.dirname`s of `__file__` say; None when set otherwise."""
    found = _module_file(modules, settings_module)
    values = re.findall(r"^BASE_DIR\s*=\s*(.*__file__.*)$", settings, re.M)
    return _from_file(found, values[-1]) if found and values else None


def _from_file(file: Path, value: str) -> Path | None:
    """The directory a value made of `__file__` names: as many above `file` as its
    `.parent`s, `.parents[n]`, `os.path.dirname`s or django-environ's `Path(__file__) - n` say."""
    up = len(re.findall(r"\.parent\b|dirname\(", value))
    up += sum(int(n) + 1 for n in re.findall(r"\.parents\[(\d)\]", value))
    up += sum(int(n) for n in re.findall(r"Path\(\s*__file__\s*\)\s*-\s*(\d+)", value))
    return file.parents[up - 1] if 0 < up <= len(file.parents) else None


def _roots_from_base(settings: str, file: Path | None, base: Path) -> str:
    """Lines giving the settings' other roots made of `__file__` (PROJECT_ROOT =
    os.path.dirname(os.path.abspath(__file__))) from BASE_DIR, for paths below them."""
    lines = []
    for name, value in re.findall(r"^([A-Z][A-Z0-9_]*)\s*=\s*(.*__file__.*)$", settings, re.M):
        root = _from_file(file, value) if file and name != "BASE_DIR" else None
        if root is not None and root.is_relative_to(base):
            below = root.relative_to(base).as_posix()
            lines.append(f'{name} = BASE_DIR / "{below}"' if below != "." else f"{name} = BASE_DIR")
    return "\n".join(lines)


def _modules_dir(project: Path, settings_module: str) -> str | None:
    """`src` when the settings are in the project's src/ (a src layout, whose manage.py puts
    it on sys.path), not beside manage.py."""
    if _module_file(project, settings_module) or not _module_file(project / "src", settings_module):
        return None
    return "src"


# from .base import *, unconditionally (a `try:`'s is indented)
STAR_IMPORT = re.compile(r"^from (\.?[\w.]+) import \*.*$", re.M)
# the block of `if ENV == "production":` (or `in ("prod", ...)`), whose star-imports the
# servers run once [env] sets the variable compared (see _production_switch)
PRODUCTION_BLOCK = re.compile(
    r"""^if\b(?![^\n]*(?:!=|\bnot\s+in\b))[^\n]*(?:==|\bin\b)[^\n]*"""
    rf"""['"]{PRODUCTION_VALUE}['"][^\n]*:[ \t]*(?:#[^\n]*)?\n((?:[ \t]+[^\n]*\n|[ \t]*\n)+)""",
    re.M,
)


def _production_imports_lifted(text: str) -> str:
    """The source with the star-imports of its production blocks unindented, so that they are
    read as the servers': `if ENV == "production":` then `    from .production import *`."""
    return PRODUCTION_BLOCK.sub(
        lambda block: block[0].replace(
            block[1], re.sub(r"(?m)^[ \t]+(from \.?[\w.]+ import \*)", r"\1", block[1])
        ),
        text,
    )


def _settings_text(app_dir: Path, module: str) -> tuple[str, list[Path]]:
    """The settings' source, with that of each module of the project it star-imports
    (`from .base import *`, `from mysite.settings import *`) in its place (theirs too); and
    those modules' files."""
    found = _module_file(app_dir, module)
    if found is None:
        return "", []
    siblings: list[Path] = []

    def spliced(file: Path, seen: frozenset[Path]) -> str:
        def sibling(line: re.Match) -> str:
            name = line[1]
            if name.startswith("."):
                imported = file.parent / f"{name[1:].replace('.', '/')}.py"
            elif (app_dir / name.partition(".")[0]).is_dir():
                imported = _module_file(app_dir, name) or app_dir / f"{name.replace('.', '/')}.py"
            else:
                return line[0]
            siblings.append(imported)
            if imported in seen or not imported.is_file():
                return line[0]
            return spliced(imported, seen | {imported})

        return STAR_IMPORT.sub(sibling, _production_imports_lifted(source_text(file)))

    return spliced(found, frozenset([found])), siblings


@dataclass(frozen=True)
class ServersSettings:
    """The servers' settings as read: their source (with what they import), and their files
    git does not have."""

    text: str
    file: Path | None  # the settings module's
    files: tuple[Path, ...]  # it and those it imports
    split: SplitSettings | None  # django-split-settings' files
    uncommitted: str | None  # the settings module's file, when git does not track it
    out_of_git: tuple[str, ...]  # it and the files it imports that git does not have
    ignored: tuple[str, ...]  # those of them git ignores
    optional_missing: tuple[str, ...]  # those it imports when there are, git has not

    @property
    def uploaded(self) -> str | None:
        """The first file git ignores, which [secrets] uploads."""
        return self.ignored[0] if self.ignored else None


def _servers_settings(app_dir: Path, modules: Path, settings_module: str) -> ServersSettings:
    file = _module_file(modules, settings_module)
    split = split_settings(file, PRODUCTION_SETTINGS) if file else None
    if split:
        text = "\n".join(source_text(included) for included in split.files)
        imported = [included for included in split.files if included not in split.optional]
        optional = list(split.optional)
    else:
        text, imported = _settings_text(modules, settings_module)
        optional = _optional_settings(text, file.parent, modules) if file else []
    uncommitted = _uncommitted(app_dir, file)
    files = tuple(dict.fromkeys(f for f in [file, *imported] if f and f.is_file()))
    out_of_git = tuple(
        dict.fromkeys([*filter(None, [uncommitted]), *_not_in_git(app_dir, imported)])
    )
    return ServersSettings(
        text=text,
        file=file,
        files=files,
        split=split,
        uncommitted=uncommitted,
        out_of_git=out_of_git,
        ignored=tuple(path for path in out_of_git if git_ignores(app_dir, path)),
        optional_missing=tuple(_not_in_git(app_dir, optional)),
    )


def _uncommitted(app_dir: Path, file: Path | None) -> str | None:
    """The file's path from `app_dir` when git does not track it, in a repository."""
    at = file.relative_to(app_dir).as_posix() if file else None
    return at if at and in_git_work_tree(app_dir) and not tracked_files(app_dir, at) else None


# `try:` then `from .local_settings import *`: settings each server may have, or not
OPTIONAL_SETTINGS = re.compile(
    r"^try:[ \t]*\n[ \t]+from[ \t]+(\.?[\w.]+)[ \t]+import[ \t]+\*", re.M
)


def _optional_settings(settings: str, package: Path, modules: Path) -> list[Path]:
    """The modules the settings (in `package`) import when there is one (a local_settings.py)."""
    return [
        (package if module.startswith(".") else modules)
        / f"{module.lstrip('.').replace('.', '/')}.py"
        for module in OPTIONAL_SETTINGS.findall(settings)
    ]


def _split_settings_notes(split: SplitSettings | None) -> list[str]:
    if split is None or split.variable is None or split.chosen == split.default:
        return []
    if split.chosen is None:
        return [
            f"the settings include files by {split.variable} (django-split-settings), and none "
            f"is for production ({', '.join(PRODUCTION_SETTINGS)}): the servers get "
            + (f"its default, {split.default}" if split.default else "none of them")
            + f"; set {split.variable} in [env] in shipstate.toml"
        ]
    manage_gets = f"its default, {split.default}" if split.default else "it from the environment"
    return [
        f"the settings include files by {split.variable} (django-split-settings): manage.py "
        f'gets {manage_gets}; the servers get {split.variable} = "{split.chosen}" in [env]'
    ]


def _out_of_git_notes(read: ServersSettings) -> list[str]:
    """On the settings' files git does not have: the settings module's, those it imports."""
    notes = []
    for path in read.out_of_git:
        what = (
            "the settings the servers get"
            if path == read.uncommitted
            else "which the settings import"
        )
        if path == read.uploaded:
            notes.append(
                f"git ignores {path}, {what}, so no release has it: shipstate.toml's [secrets] "
                "uploads it from this machine into each release (README: Secrets)"
            )
        elif path in read.ignored:
            notes.append(
                f"git ignores {path}, {what}, so no release has it: commit it, or give it the "
                "servers with [secrets] (README: Secrets)"
            )
        else:
            notes.append(
                f"git does not track {path}, {what}: commit it (shipstate deploys commits)"
            )
    return notes


def _not_in_git(app_dir: Path, files: Iterable[Path]) -> list[str]:
    """Those of `files` in the app that git does not have, as paths from `app_dir` (none
    outside a repository: init says so once)."""
    if not in_git_work_tree(app_dir):
        return []
    paths = [f.relative_to(app_dir) for f in files if f.is_relative_to(app_dir)]
    return [p.as_posix() for p in paths if not tracked_files(app_dir, p.as_posix())]


def _settings_paths(app_dir: Path, module: str, files: tuple[Path, ...]) -> tuple[str, ...]:
    """The settings' package, or their files (the module's and those it imports)."""
    if not files:
        return (module.replace(".", "/") + ".py",)
    package = files[0].name == "__init__.py" or files[0].parent.name == "settings"
    read = (files[0].parent,) if package else files
    return tuple(file.relative_to(app_dir).as_posix() for file in read)


def _wsgi_application(app_dir: Path, settings_module: str, settings: str) -> str:
    """The WSGI application WSGI_APPLICATION names, when its module is in the project; else
    the `application` of wsgi.py in the settings' package or the nearest package above it."""
    named = re.findall(r"^WSGI_APPLICATION\s*=\s*['\"]([\w.]+)\.(\w+)['\"]", settings, re.M)
    if named and _module_file(app_dir, named[-1][0]):
        return ":".join(named[-1])
    parts = settings_module.split(".")[:-1]
    while parts:
        if (app_dir.joinpath(*parts) / "wsgi.py").is_file():
            return ".".join(parts) + ".wsgi:application"
        parts.pop()
    raise ShipstateError(
        f"no wsgi.py in {settings_module.rsplit('.', 1)[0]} or a package above it",
        hint="set `wsgi` in shipstate.toml by hand",
    )


# os.environ["DJANGO_SETTINGS_MODULE"] = "x": over what the environment says
SETTINGS_FORCED = re.compile(
    r"""environ\[\s*["']DJANGO_SETTINGS_MODULE["']\s*\]\s*=\s*["']([\w.]+)"""
)


def _settings_forced(files: dict[str, Path], settings_module: str) -> list[str]:
    """Notes on the files (manage.py, the WSGI or ASGI module) that set another settings
    module than the servers' whatever the environment says."""
    return [
        f"{name} sets DJANGO_SETTINGS_MODULE to {forced[1]} whatever the environment says, so "
        f"the servers would run that rather than {settings_module} ([env] in shipstate.toml): "
        f'write os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{forced[1]}") there instead'
        for name, file in files.items()
        if file.is_file()
        and (forced := SETTINGS_FORCED.search(file.read_text(errors="replace")))
        and forced[1] != settings_module
    ]


# a domain name, or Django's ".example.com" (it and its subdomains, as nginx reads it too)
DOMAIN = re.compile(r"\.?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}", re.I)


@dataclass(frozen=True)
class AllowedHosts:
    """What the last ALLOWED_HOSTS the settings set names."""

    domains: tuple[str, ...]  # as a literal list, or as the default of the variable it is read from
    platforms: tuple[str, ...]  # those of them a hosting platform's (.pythonanywhere.com)
    read_from: tuple[str, ...]  # the environment variables it is read from

    @property
    def found_in(self) -> str:
        """Where server names taken from its domains come from."""
        read = self.read_from
        return f"the default of {read[0]} (ALLOWED_HOSTS)" if read else "ALLOWED_HOSTS"


# hosting platforms' domains: where the app ran before, not the servers shipstate deploys to
PLATFORM_DOMAIN = re.compile(
    r"(?:^|\.)(?:pythonanywhere\.com|herokuapp\.com|onrender\.com|fly\.dev|railway\.app"
    r"|vercel\.app|azurewebsites\.net|appspot\.com|ondigitalocean\.app|koyeb\.app|glitch\.me"
    r"|ngrok(?:-free)?\.(?:io|app|dev)|replit\.(?:dev|app)|repl\.co|gitpod\.io|github\.dev"
    r"|elasticbeanstalk\.com|amazonaws\.com)$"
)
# env.list("ALLOWED_HOSTS", default=["example.com"]), os.getenv("HOSTS", "a.com,b.com").split(",")
ENVIRONMENT_DEFAULT = re.compile(
    r"""(?:default\s*=\s*|\(\s*['"]\w+['"]\s*,\s*)(\[[^\]]*\]|\([^)]*\)|['"][^'"]*['"])"""
)


def _allowed_hosts(settings: str) -> AllowedHosts:
    assigned = list(re.finditer(r"^ALLOWED_HOSTS\s*=\s*", settings, re.M))
    rest = settings[assigned[-1].end() :] if assigned else ""
    value = re.match(r"\[[^\]]*\]|\([^)]*\)|.*", rest)[0]  # a list, or a line
    read = tuple(dict.fromkeys(re.findall(ENVIRONMENT_READ, value)))
    default = ENVIRONMENT_DEFAULT.search(value) if read else None
    hosts = literal(default[1] if default else value)
    if isinstance(hosts, str):
        hosts = re.split(r"[\s,]+", hosts)
    names = [
        h.lower()
        for h in (hosts if isinstance(hosts, list | tuple) else ())
        if isinstance(h, str) and DOMAIN.fullmatch(h)
    ]
    domains = tuple(dict.fromkeys(sorted(names, key=lambda name: name.startswith("."))))
    platforms = tuple(name for name in domains if PLATFORM_DOMAIN.search(name))
    return AllowedHosts(domains, platforms, read)


def _server_names(
    app_dir: Path, allowed: AllowedHosts, kamal_names: tuple[str, ...]
) -> ServerNames:
    """The names the app is served at: Kamal's proxy's, else the nginx site's git holds, else
    the domains ALLOWED_HOSTS lists (but a platform's)."""
    site = nginx_site(app_dir, tracked_files(app_dir, "*nginx*"))
    site_names = tuple(name for name in site.names if DOMAIN.fullmatch(name))
    staging = kamal_proxy(app_dir, "staging")[0]
    body_size = (site.body_size, site.found_in) if site.body_size and site.found_in else None
    if kamal_names:
        return ServerNames(kamal_names, "config/deploy.yml's proxy", staging, body_size)
    if site_names and site.found_in:
        return ServerNames(site_names, site.found_in, staging, body_size)
    names = tuple(name for name in allowed.domains if name not in allowed.platforms)
    found_in = allowed.found_in
    staged = tuple(name for name in names if re.match(r"\.?(?:staging|stage)\.", name))
    if staged and not staging and len(staged) < len(names):
        names = tuple(name for name in names if name not in staged)
        return ServerNames(names, found_in, staged, body_size, staging_found_in=found_in)
    return ServerNames(names, found_in, staging, body_size)


def _allowed_hosts_notes(allowed: AllowedHosts, served_at: ServerNames) -> list[str]:
    """Why ALLOWED_HOSTS gave no server_name, when it names hosts; or that it gave its
    variable's default."""
    read = ", ".join(allowed.read_from)
    asked = (
        "(the health check asks for the first; Django answers 400 to a Host ALLOWED_HOSTS lacks)"
    )
    if read and served_at.names and served_at.found_in == allowed.found_in:
        return [
            f"ALLOWED_HOSTS is read from {read}: server_name is its default's; when your secrets "
            f"file sets {read}, set server_name to the same name(s) {asked}"
        ]
    if served_at.names:
        return []
    if allowed.platforms:
        return [
            f"ALLOWED_HOSTS lists {', '.join(allowed.platforms)}, a hosting platform's: add the "
            f"domain(s) the servers answer for there, and as server_name in shipstate.toml {asked}"
        ]
    if read:
        return [
            f"ALLOWED_HOSTS is read from {read}: set server_name in shipstate.toml "
            f"to the name(s) it gives the servers {asked}"
        ]
    return []


def _setting_notes(settings: str, module: str, in_git: bool) -> tuple[str, ...]:
    notes = []
    for name, bad, note in SETTING_NOTES:
        values = re.findall(rf"^{name}\s*=\s*(.+)$", settings, re.M)
        if values and re.match(bad, values[-1]) and (in_git or name != "SECRET_KEY"):
            notes.append(note)
    for name, without in UNSET_SETTINGS if settings else ():
        if not re.search(rf"^{name}\s*=", settings, re.M):
            notes.append(f"{module} (with what it star-imports) sets no {name}: {without}")
    noted = set()
    for name, default, note in ENVIRONMENT_DEFAULT_NOTES:
        values = re.findall(rf"^{name}\s*=\s*(.+)$", settings, re.M)
        read = re.search(ENVIRONMENT_READ, values[-1]) if values else None
        if read and default.search(values[-1]) and (in_git or name != "SECRET_KEY"):
            if name not in noted:
                notes.append(note.format(read[1]))
            noted.add(name)
    return tuple(notes)


def _static_notes(settings: str, static_root: str | None) -> list[str]:
    if static_root or "django.contrib.staticfiles" not in settings:
        return []
    if not re.search(STATIC_ROOT, settings, re.M):
        return [
            "STATIC_ROOT is not set: nginx would serve no static files (the admin's CSS "
            f'neither); add STATIC_ROOT = BASE_DIR / "{DEFAULT_STATIC_ROOT}" to the settings, '
            "then uncomment the collectstatic hook in shipstate.toml"
        ]
    outside = _outside_app(settings, STATIC_ROOT)
    if outside:
        return [
            f"STATIC_ROOT is {outside}, outside the releases: every release's collectstatic "
            "would write there (a rollback serving the newer files), and nginx serves a "
            f'release\'s own; set STATIC_ROOT = BASE_DIR / "{DEFAULT_STATIC_ROOT}" in the '
            "servers' settings, then uncomment the collectstatic hook in shipstate.toml"
        ]
    return [
        "STATIC_ROOT is not a path below BASE_DIR: set static_root in shipstate.toml to where "
        "collectstatic puts the files in a release, and uncomment the collectstatic hook"
    ]


def _file_fields(app_dir: Path) -> list[str]:
    """The models files git holds that declare a FileField or an ImageField (uploads)."""
    return [
        path
        for path in tracked_files(app_dir, "*models*.py")
        if re.search(r"\b(?:File|Image)Field\(", (app_dir / path).read_text(errors="replace"))
    ]


def _media_notes(settings: str, app_dir: Path) -> list[str]:
    outside = _outside_app(settings, MEDIA_ROOT)
    uploads = [] if re.search(MEDIA_ROOT, settings, re.M) else _file_fields(app_dir)
    if uploads:
        return [
            f"MEDIA_ROOT is not set, and {uploads[0]} has file fields: uploads would be written "
            "in the release's directory and lost at the next deploy; add MEDIA_ROOT = BASE_DIR / "
            '"media" to the settings (shared by the releases, served by nginx)'
        ]
    if outside is None:
        return []
    return [
        f"MEDIA_ROOT is {outside}, outside the app: uploads would go there on each host (if "
        "the deploy user may write it), and nginx serves /media/ from the shared dir; set "
        'MEDIA_ROOT = BASE_DIR / "media" in the servers\' settings to keep them there'
    ]


def _outside_app(settings: str, pattern: str) -> str | None:
    """The setting's last value when it names a place outside the app: an absolute path, or
    one above BASE_DIR (BASE_DIR.parent / "media")."""
    values = re.findall(pattern, settings, re.M)
    value = literal(values[-1]) if values else None
    if isinstance(value, str):
        return value if value.startswith("/") else None
    above = values and re.search(r"\bBASE_DIR\s*\.\s*parents?\b|['\"]\.\.['\"/]", values[-1])
    return values[-1].strip() if above else None


# django-configurations' values the environment must give, as DJANGO_<name>
REQUIRED_VALUE = r"^([A-Z][A-Z0-9_]*)\s*=\s*values\.(?:SecretValue\(|.*environ_required\s*=\s*True)"


# a variable read with no default, which the settings fail without: os.environ["X"],
# env("X"), env.list("X"), config("X", cast=bool) (a second argument would be its default)
REQUIRED_READ = re.compile(
    r"""environ\[\s*['"](\w+)['"]\s*\](?!\s*=(?!=))"""
    r"""|\b(?:env(?:\.\w+)?|config)\(\s*['"](\w+)['"]\s*((?:,[^)]*)?)\)"""
)


# reads of a variable named by default: dj_database_url.config() (DATABASE_URL, or its env=),
# django-environ's env.db(), env.cache(), env.email_url(), env.search_url()
IMPLICIT_READS = {
    r"dj_database_url\.config\(": "DATABASE_URL",
    r"\benv\.(?:db|db_url)\(": "DATABASE_URL",
    r"\benv\.(?:cache|cache_url)\(": "CACHE_URL",
    r"\benv\.email_url\(": "EMAIL_URL",
    r"\benv\.search_url\(": "SEARCH_URL",
}


def _reads_named(settings: str) -> str:
    """The settings with the variables read by default named: dj_database_url.config(x=1) as
    dj_database_url.config("DATABASE_URL", x=1)."""
    for call, variable in IMPLICIT_READS.items():

        def named(found: re.Match, variable: str = variable) -> str:
            rest = found.string[found.end() :]
            given = re.match(r"[^)]*\benv\s*=\s*['\"](\w+)['\"]", rest)
            comma = "" if rest.lstrip().startswith(")") else ", "
            return f'{found[0]}"{given[1] if given else variable}"{comma}'

        settings = re.sub(rf"{call}(?!\s*['\"])", named, settings)
    return settings


def _environment_required(settings: str) -> tuple[str, ...]:
    """The variables the settings cannot start without (but those read only when set: `if
    "SENTRY_DSN" in os.environ:`)."""
    settings = _reads_named(settings)
    without_default = {
        subscript or called
        for subscript, called, arguments in REQUIRED_READ.findall(settings)
        if subscript
        or all(re.match(r"\s*(?!default\b)\w+\s*=", a) for a in arguments.split(",")[1:])
    }
    checked = set(re.findall(r"""['"](\w+)['"]\s+in\s+(?:os\.)?environ\b""", settings))
    # SECRET_KEY = os.environ.get("SECRET_KEY"): None without it, and Django refuses to start
    keys = re.findall(r"^SECRET_KEY\s*=\s*(.+)$", settings, re.M)
    key = (
        re.match(r"""(?:os\.)?(?:environ\.get|getenv)\(\s*['"](\w+)['"]\s*\)\s*$""", keys[-1])
        if keys
        else None
    )
    without_default |= {key[1]} if key else set()
    needed = (without_default | set(_configuration_values(settings))) - checked
    return tuple(name for name in _environment_read(settings) if name in needed)


def _configuration_values(settings: str) -> list[str]:
    return [f"DJANGO_{name}" for name in re.findall(REQUIRED_VALUE, settings, re.M)]


# what is compared with one of some values: `ENV ==`, `os.getenv("ENV") !=`, `ENV.lower() in (`,
# where ENV is a variable of the environment or a name the settings set to one
COMPARED = (
    r"""((?:environ\.get|getenv|\benv(?:\.\w+)?|\bconfig)\(\s*['"]\w+['"][^)]*\)|\b\w+)"""
    r"""(?:\.\w+\(\))?\s*(?:==|!=|\b(?:not\s+)?in)\s*[(\[{]?\s*(?:['"]\w+['"]\s*,\s*)*"""
)
STAGING_VALUE = r"(?i:staging|stage)"


def _production_switch(settings: str) -> tuple[str, str, str | None] | None:
    """The variable of the environment the settings compare with a production value, that
    value, and the staging one they compare it with if they do: ENV = os.environ.get("ENV",
    "dev") then DEBUG = ENV != "prod", or os.getenv("ENV") == "staging"."""
    set_from = {
        name: read[0]
        for name, value in re.findall(r"^(\w+)\s*(?::[^=]+)?=\s*(.+)$", settings, re.M)
        if (read := re.findall(ENVIRONMENT_READ, value))
    }

    def compared(values: str) -> tuple[str, str] | None:
        for what, value in re.findall(COMPARED + rf"""['"]({values})['"]""", settings):
            variable = set_from.get(what) or next(iter(re.findall(ENVIRONMENT_READ, what)), None)
            if variable and variable != "DJANGO_SETTINGS_MODULE":
                return variable, value
        return None

    production, staging = compared(PRODUCTION_VALUE), compared(STAGING_VALUE)
    if production is None:
        return None
    return *production, staging[1] if staging and staging[0] == production[0] else None


def _environment_read(settings: str) -> tuple[str, ...]:
    settings = _reads_named(settings)
    names = dict.fromkeys(
        [*re.findall(ENVIRONMENT_READ, settings), *_configuration_values(settings)]
    )
    names.pop("DJANGO_SETTINGS_MODULE", None)
    return tuple(names)


def _relative_to_base(settings: str, pattern: str) -> str | None:
    """The last `BASE_DIR / "x" / "y"` or os.path.join(BASE_DIR, "x", "y") -> "x/y"; also
    below a name set so (APPS_DIR = BASE_DIR / "app"; APPS_DIR / "media" -> "app/media")."""
    values = re.findall(pattern, settings, re.M)
    return _below_base(settings, values[-1], 3) if values else None


def _below_base(settings: str, expression: str, depth: int) -> str | None:
    return _path_below_base(settings, expression, depth) or None


def _path_below_base(settings: str, expression: str, depth: int) -> str | None:
    """As _below_base, but "" for BASE_DIR itself."""
    anchor = re.search(r"\b[A-Z][A-Z0-9_]*\b", expression)
    if anchor is None or depth == 0:
        return None
    rest = expression[anchor.end() :]
    parts = re.findall(r"['\"]([^'\"]+)['\"]", rest)
    if re.match(r"\s*\.parents?\b", rest) or any(".." in part.split("/") for part in parts):
        return None  # above it
    if anchor[0] == "BASE_DIR":
        return "/".join(parts)
    assigned = re.findall(rf"^{anchor[0]}\s*=\s*(.+)$", settings, re.M)
    root = _path_below_base(settings, assigned[-1], depth - 1) if assigned else None
    return None if root is None else "/".join(p for p in [root, *parts] if p)


def _sqlite_url_default(settings: str) -> str | None:
    """The SQLite file a database URL's default names (dj-database-url, django-environ):
    f"sqlite:///{BASE_DIR / 'x'}", "sqlite:///" + str(BASE_DIR / "x"), or "sqlite:///x"
    (relative to the working directory, which is the project's)."""
    for rest in re.findall(r"sqlite:///(.*)$", settings, re.M):
        if rest.startswith("{"):
            found = _below_base(settings, rest[1:].partition("}")[0], 3)
        elif rest[:1] in ("'", '"'):
            found = _below_base(settings, rest[1:], 3)
        else:
            literal = re.match(r"([\w.-][\w./-]*)['\"]", rest)
            found = literal[1] if literal else None
        if found:
            return found
    return None


def _url_setting(settings: str, name: str, default: str) -> str:
    """MEDIA_URL or STATIC_URL as nginx's location: "media/" and "/media" -> "/media/"."""
    values = re.findall(rf"^{name}\s*=\s*['\"]([A-Za-z0-9_./~-]*)['\"]\s*$", settings, re.M)
    path = values[-1].strip("/") if values else default.strip("/")
    return f"/{path}/" if path else default


# a route of the root URLconf, as written: path("healthz/", ...) is /healthz/, not /healthz
HEALTH_ROUTE = r"""\b(?:re_)?path\(\s*r?['"]\^?((?:healthz?|health-?check|ping)/?)\$?['"]"""
ADMIN_ROUTE = r"""\b(?:re_)?path\(\s*r?['"]\^?([\w/-]*)['"]\s*,\s*admin\.site\.urls"""
# django-health-check's URLs, wherever they are included (its README: "ht/")
HEALTH_CHECK_ROUTE = (
    r"""\b(?:re_)?path\(\s*r?['"]\^?([\w/-]*)['"]\s*,\s*include\(\s*['"]health_check\.urls"""
)
# a route written without converters: path("polls/", ...), re_path(r"^api/$", ...)
LITERAL_ROUTE = r"""\b(?:re_)?path\(\s*r?['"]\^?([\w/.-]*)\$?['"]"""


def _root_urls(app_dir: Path, settings: str) -> str:
    """The text of the URLconf ROOT_URLCONF names ("" when it cannot be read)."""
    named = re.findall(r"^ROOT_URLCONF\s*=\s*['\"]([\w.]+)['\"]", settings, re.M)
    path = app_dir / (named[-1].replace(".", "/") + ".py") if named else None
    return path.read_text(errors="replace") if path and path.is_file() else ""


def _health_path(urls: str, settings: str) -> tuple[str, bool]:
    """A health route of the root URLconf, else the admin's login page (found: True); else the
    home page, or, when the root URLconf has none, its first route written without converters
    (found: False)."""
    health = re.search(HEALTH_ROUTE, urls) or re.search(HEALTH_CHECK_ROUTE, urls)
    if health:
        return f"{_language_prefix(urls, health.start(), settings)}/{health[1]}", True
    admin = re.search(ADMIN_ROUTE, urls)
    if "django.contrib.admin" in settings and (admin or not urls):
        prefix = admin[1].strip("/") if admin else "admin"
        language = _language_prefix(urls, admin.start(), settings) if admin else ""
        return language + (f"/{prefix}/login/" if prefix else "/login/"), True
    patterns = re.search(r"(?m)^urlpatterns\b", urls)  # not the docstring's examples
    routes = re.findall(LITERAL_ROUTE, urls[patterns.start() :]) if patterns else []
    return ("/" if not routes or "" in routes else f"/{routes[0]}"), False


def _language_prefix(urls: str, at: int, settings: str) -> str:
    """`/en` when the route at `at` is one of i18n_patterns(...)'s, which Django serves below
    the default language's code."""
    for call in re.finditer(r"\bi18n_patterns\(", urls):
        depth, end = 1, call.end()
        while depth and end < len(urls):
            depth += {"(": 1, ")": -1}.get(urls[end], 0)
            end += 1
        unprefixed = re.search(r"prefix_default_language\s*=\s*False", urls[call.start() : end])
        if call.start() < at < end and not unprefixed:
            return f"/{_default_language(settings)}"
    return ""


def _default_language(settings: str) -> str:
    """LANGUAGE_CODE, or its generic code (en for en-us) when LANGUAGES lists that instead."""
    codes = re.findall(r"^LANGUAGE_CODE\s*=\s*['\"]([\w-]+)['\"]", settings, re.M)
    code = codes[-1].lower() if codes else "en-us"
    listed = re.search(r"^LANGUAGES\s*=\s*[\[(](.*?)^[\])]", settings, re.M | re.S)
    supported = re.findall(r"\(\s*['\"]([\w-]+)['\"]\s*,", listed[1]) if listed else []
    generic = code.partition("-")[0]
    return generic if supported and code not in supported and generic in supported else code


def _requirements_places(directory: Path) -> list[str]:
    """Where the requirements may be, relative to `directory`, the likeliest first: the usual
    names, a requirements file named otherwise but for production, pip-tools' input
    (requirements.in) when it has not been compiled, then pyproject.toml."""
    named = [
        str(path.relative_to(directory))
        for pattern in ("requirements*.txt", "requirements/*.txt", "requirements*.in")
        for path in sorted(directory.glob(pattern))
        if not NOT_PRODUCTION_REQUIREMENTS.search(path.stem)
    ]
    others = sorted(
        named, key=lambda name: (name.endswith(".in"), not PRODUCTION_REQUIREMENTS.search(name))
    )
    return [*REQUIREMENTS, *(n for n in others if n not in REQUIREMENTS), "pyproject.toml"]


def _requirements(app_dir: Path, project: Path, workdir: str | None) -> str:
    """The requirements file (or lock) to install, from `app_dir`; refused when there is
    none, saying how to make one."""
    in_project = _requirements_places(project) if workdir else []
    places = [*_requirements_places(app_dir), *(_in_workdir(workdir, p) for p in in_project)]
    unusable: list[ShipstateError] = []
    requirements = next((r for r in places if _installable(app_dir / r, unusable)), None)
    if requirements:
        return requirements
    if unusable:
        raise unusable[0]
    kept_in = next((n for n in EXPORTS if (app_dir / n).is_file() or (project / n).is_file()), None)
    if kept_in:
        raise ShipstateError(
            f"no requirements file found, only {kept_in}",
            hint=f"{EXPORTS[kept_in]}, commit it, and run init again",
        )
    raise ShipstateError(
        "no requirements file found",
        hint="create requirements.txt (or uv.lock, or [project] dependencies in "
        "pyproject.toml) listing what the app needs (Django...), commit it, and run init again",
    )


def _installable(path: Path, unusable: list[ShipstateError]) -> bool:
    """Adds to `unusable` why a lock file shipstate converts cannot be."""
    if not path.is_file():
        return False
    if path.name in CONVERTERS:
        try:
            CONVERTERS[path.name](path.read_bytes(), path.name)
        except ShipstateError as exc:
            unusable.append(exc)
            return False
        return True
    if path.name != "pyproject.toml":
        return True
    try:
        return lists_dependencies(path.read_bytes())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


# a directory named for its part of a repository (backend/, frontend/), not for the app
PART_NAMES = {"api", "app", "backend", "django", "project", "server", "site", "src", "web"}


def _app_name(app_dir: Path, settings_module: str) -> str:
    """The directory's name, or the repository's when the app is its part named `backend`..."""
    here = app_dir.resolve()
    repository = next((d for d in (here, *here.parents) if (d / ".git").exists()), here)
    named = repository if here.name.lower() in PART_NAMES else here
    name = (
        re.sub(r"[^a-z0-9_-]", "-", named.name.lower()).strip("-_") or settings_module.split(".")[0]
    )
    return name if name[0].isalpha() else f"app-{name}"


# COMPRESS_OFFLINE = True: pages need what `manage.py compress` makes in each release
COMPRESS_OFFLINE = re.compile(r"^\s*COMPRESS_OFFLINE\s*=\s*True\b", re.M)
# a cache in the database, whose table `manage.py createcachetable` makes (migrate does not)
DATABASE_CACHE = re.compile(r"""["']django\.core\.cache\.backends\.db\.DatabaseCache["']""")
# what init writes hooks for anyway, and what is no deploy's (a task of the fabfile may be)
WRITTEN_ANYWAY = {"migrate", "syncdb", "collectstatic", "compilemessages", "compress"}
NOT_FOR_DEPLOYS = {
    "runserver", "runserver_plus", "shell", "shell_plus", "dbshell", "test", "makemigrations",
    "createsuperuser", "changepassword", "flush", "sqlflush", "reset_db", "dumpdata",
    "startapp", "startproject", "run_gunicorn", "celery", "celeryd", "celerybeat",
    "showmigrations", "sqlmigrate", "inspectdb", "diffsettings", "help", "version",
}  # fmt: skip
# commands on the database (or another shared service): run once when the database is shared
ON_THE_DATABASE = {
    "createcachetable", "loaddata", "clearsessions", "update_index", "rebuild_index",
    "wagtail_update_index", "fixtree", "clear_cache",
}  # fmt: skip


@dataclass(frozen=True)
class FormerCommands:
    """The management commands the former tool ran on each deploy that init writes no hook
    for otherwise, those it ran before collectstatic and those after, and where it says so."""

    before_static: tuple[str, ...] = ()
    after_static: tuple[str, ...] = ()
    found_in: str | None = None  # the file saying what it ran
    compressed: bool = False  # it ran django-compressor's compress


def _former_commands(
    app_dir: Path, released: list[str], cache_table: bool, built: bool
) -> FormerCommands:
    """The former tool's (a Procfile's `release` commands, `released`, after them);
    `cache_table`: init writes createcachetable; `built`: [build] builds the frontend."""
    commands, found_in = deploy_commands(app_dir) or ((), None)
    if released:  # Heroku's release phase, which runs after its build's collectstatic
        commands = (*commands, "collectstatic", *released)
        found_in = found_in or "the Procfile's release"
    written = set(WRITTEN_ANYWAY)
    if cache_table:
        written.add("createcachetable")
    if built:
        written.add("tailwind")  # django-tailwind's build runs npm: [build] does it here instead
    names = [command.split()[0] for command in commands]
    static_at = names.index("collectstatic") if "collectstatic" in names else -1
    kept = [
        (at, command)
        for at, (command, name) in enumerate(zip(commands, names, strict=True))
        if name not in written | NOT_FOR_DEPLOYS
    ]
    before = tuple(dict.fromkeys(c for at, c in kept if at < static_at))
    after = tuple(dict.fromkeys(c for at, c in kept if at > static_at))
    return FormerCommands(before, after, found_in, "compress" in names)


def detect(app_dir: Path) -> Detected:
    """What the project's files say; paths are relative to `app_dir`, which is the project's
    root or the directory above it (then the project's is the workdir)."""
    procfile = _procfile(app_dir)
    below, deeper = _manage_py(app_dir)
    web = None if below or deeper else web_app(app_dir, procfile.get("web", ""))
    if web:
        return _detect_web_app(app_dir, web, procfile)
    workdir = _workdir(app_dir, below, deeper)
    project = app_dir / workdir if workdir else app_dir
    in_app = partial(_in_workdir, workdir)
    used_by_manage, settings_found_so = _settings_module(project)
    src = _modules_dir(project, used_by_manage)
    modules = project / src if src else project
    in_modules = _below(modules, app_dir)
    settings_module = _production_settings(modules, used_by_manage)
    read = _servers_settings(app_dir, modules, settings_module)
    settings, settings_file, split, ignored = read.text, read.file, read.split, read.uploaded
    configurations = _configurations(project, settings)
    if configurations:
        settings = _as_configuration(settings, configurations[1])
    settings = _as_django_heroku_leaves_them(settings)
    asgi = ASGI_APPLICATION.search(settings) or ASGI_SERVED.search(procfile.get("web", ""))
    wsgi = None if asgi else _wsgi_application(modules, settings_module, settings)
    requirements = _requirements(app_dir, project, workdir)
    base = _base_dir(modules, settings_module, settings) or project
    settings += "\n" + _roots_from_base(settings, settings_file, base)
    below_base = _below(base if base.is_relative_to(app_dir) else project, app_dir)
    health, health_found = _health_path(_root_urls(modules, settings), settings)
    kamal_names, kamal_health = kamal_proxy(app_dir)
    name = _app_name(app_dir, settings_module)[:40]
    compared = _production_switch(settings)
    settings_variable = (
        (split.variable, split.chosen, "chooses the settings' files")
        if split and split.chosen
        else compared and (*compared[:2], f'the settings compare it with "{compared[1]}"')
    )
    switch = compared if compared and settings_variable[0] == compared[0] else None
    set_in_env = settings_variable and settings_variable[0]
    environment = tuple(v for v in _environment_read(settings) if v != set_in_env)
    required = () if ignored else _environment_required(settings)
    required = tuple(v for v in required if v != set_in_env)
    env_example = _env_example(app_dir, [app_dir, project])
    kamal_secret, kamal_clear = kamal_environment(app_dir)
    deployed_to, deploys_to_in = deploys_to(app_dir) or (None, None)
    kept_shared, kept_shared_in = former_shared(app_dir) or ((), None)
    former_root = deployed_to if deployed_to == default_root(name) else None
    static_root = _relative_to_base(settings, STATIC_ROOT)
    sqlite_named = _relative_to_base(settings, SQLITE_NAME) if "sqlite3" in settings else None
    sqlite_by_default = None if sqlite_named else _sqlite_url_default(settings)
    sqlite_file = sqlite_named or sqlite_by_default
    media_root = _relative_to_base(settings, MEDIA_ROOT)
    log_files = re.findall(LOG_FILE, settings, re.M)
    log_paths = tuple(
        dict.fromkeys(
            below_base(f"{path.rpartition('/')[0]}/" if "/" in path else path)
            for value in log_files
            if (path := _below_base(settings, value, 3))
        )
    )
    logs_outside = [m[1] for v in log_files if (m := re.match(r"""["'](/[^"']+)["']""", v))]
    shared_in_git = [
        path
        for path in (sqlite_file, media_root or "media")
        if path and tracked_files(app_dir, below_base(path))
    ]
    processes, processes_found_in = _processes(
        app_dir, procfile, modules, settings_module, settings
    )
    release = procfile.get("release", "")
    release_commands = management_commands_only(release)
    release_hook = None if release_commands is not None else release or None
    translations = _translations(app_dir)
    requirements_text = _requirements_text(app_dir / requirements)
    server_needs = _needing_server_packages(requirements_text, settings)
    pythons = _pythons(app_dir, [app_dir, project], requirements, requirements_text)
    listed = {p for needed in _packages(server_needs, translations).values() for p in needed}
    in_image = [
        p for p in dockerfile_packages(app_dir) if p not in listed and not BUILD_ONLY.fullmatch(p)
    ]
    build = _frontend_build(app_dir)
    cache_table = bool(DATABASE_CACHE.search(settings))
    former = _former_commands(app_dir, release_commands or [], cache_table, bool(build))
    compress = former.compressed or bool(COMPRESS_OFFLINE.search(settings))
    allowed_hosts = _allowed_hosts(settings)
    served_at = _server_names(app_dir, allowed_hosts, kamal_names)
    served = f"{(wsgi.rpartition(':')[0] if wsgi else asgi[1]).replace('.', '/')}.py"
    return Detected(
        name=name,
        workdir=workdir,
        pythonpath=in_app(src) if src else None,
        settings=settings_module,
        settings_paths=tuple(
            map(in_modules, _settings_paths(modules, settings_module, read.files))
        ),
        wsgi=wsgi,
        asgi=f"{asgi[1]}:{asgi[2] or 'application'}" if asgi else None,
        requirements=requirements,
        static_root=static_root and below_base(static_root),
        sqlite_file=sqlite_file and below_base(sqlite_file),
        media_root=media_root and below_base(media_root),
        media_url=_url_setting(settings, "MEDIA_URL", "/media/"),
        static_url=_url_setting(settings, "STATIC_URL", "/static/"),
        health_path=kamal_health or health,
        pythons=pythons,
        environment=environment,
        environment_required=required,
        processes=processes,
        processes_found_in=processes_found_in,
        build=build,
        releases_kept=releases_kept(app_dir),
        root=f"{former_root}-shipstate" if former_root else None,
        kamal_secret=kamal_secret,
        kamal_clear=tuple(kamal_clear.items()),
        former_shared=kept_shared,
        former_shared_in=kept_shared_in,
        configuration=configurations and configurations[1],
        settings_variable=settings_variable,
        staging_value=switch and switch[2],
        log_paths=log_paths,
        settings_ignored=ignored,
        served_at=served_at,
        app_server=_former_app_server(app_dir),
        compress=compress,
        cache_table=cache_table,
        former_before_static=former.before_static,
        former_after_static=former.after_static,
        former_commands_in=former.found_in if former.before_static or former.after_static else None,
        release=release_hook,
        translations=translations,
        server_needs=server_needs,
        notes=(
            *(
                [f"manage.py uses {used_by_manage}; the servers get {settings_module}"]
                if settings_module != used_by_manage
                else []
            ),
            *(
                [
                    f"manage.py uses the {configurations[0]} settings class "
                    f"(django-configurations); the servers get {configurations[1]}"
                ]
                if configurations and configurations[0] != configurations[1]
                else []
            ),
            *_split_settings_notes(split),
            *(
                [
                    f'the settings compare {switch[0]} with "{switch[1]}": the servers get '
                    f'{switch[0]} = "{switch[1]}" in [env]'
                    + (f', staging\'s "{switch[2]}"' if switch[2] else "")
                ]
                if switch
                else []
            ),
            *_settings_forced(
                {in_app("manage.py"): project / "manage.py", in_modules(served): modules / served},
                settings_module,
            ),
            *(
                [
                    f"manage.py names its settings in a way shipstate does not read: the servers "
                    f"get {settings_module}, the only settings module for them the project has "
                    "(a settings.py, or a settings package's production module); if they need "
                    "another, set DJANGO_SETTINGS_MODULE in [env]"
                ]
                if settings_found_so
                else []
            ),
            *_setting_notes(settings, settings_module, in_git=not ignored),
            *_allowed_hosts_notes(allowed_hosts, served_at),
            *_out_of_git_notes(read),
            *(
                f"the settings import {path} when there is one, and git has none: the releases "
                "run without it; if the servers need one, give it them with [secrets] in "
                f'shipstate.toml (file = "secrets/{{inventory}}_settings.py", path = "{path}", '
                "environment = false; README: Secrets)"
                for path in read.optional_missing
            ),
            *_requirements_notes(requirements, requirements_text, pythons),
            *(
                [
                    "no health route (healthz, health, ping) nor admin found: health_path = "
                    f'"{health}" ('
                    + ("the home page" if health == "/" else "the root URLconf's first route")
                    + ") must answer 200 to anyone with DEBUG off; if it does not, add a view "
                    "that does (e.g. at /healthz) and set health_path to it"
                ]
                if not health_found and not kamal_health
                else []
            ),
            *_static_notes(settings, static_root),
            *_media_notes(settings, app_dir),
            *(
                f"the settings the servers get name {module}, whose package ({package}) the "
                "requirements lack: the app would not start there; name it in the development "
                f"settings only (INSTALLED_APPS, MIDDLEWARE, the URLconf), or require {package}"
                for module, package in _development_tools(settings, requirements_text)
            ),
            *(
                f"git tracks {in_app(path)}, which each host keeps in its shared dir instead (it "
                f"outlives releases): what the commit holds there is not deployed; `git rm -r "
                f"--cached {in_app(path)}` and add it to .gitignore (put files the app needs "
                "elsewhere, e.g. static files)"
                for path in shared_in_git
            ),
            *(
                [
                    f"LOGGING writes files in the app: {', '.join(log_paths)} in `shared`, so "
                    "each host has it, and it outlives releases (the app server's own log: "
                    "`shipstate logs`)"
                ]
                if log_paths
                else []
            ),
            *(
                f"LOGGING writes {path} on the servers: the deploy user must be able to write "
                "there (make its directory theirs on each server), or write in a directory of "
                'the app that `shared` lists (BASE_DIR / "logs" / ..., with "logs/" in shared)'
                for path in logs_outside
            ),
            *(
                [
                    f"{build.package} has a build script: shipstate.toml has it commented out as "
                    "[build], run on this machine before each upload; uncomment it and check "
                    "that outputs lists what it makes (the servers then need no Node.js)"
                ]
                if build
                else []
            ),
            *_server_needs_notes(server_needs),
            *(
                [
                    "git holds translations (.po) without their compiled .mo: the "
                    "compilemessages hook in shipstate.toml compiles them in each release, with "
                    "gettext on the servers (`packages`, installed by `shipstate bootstrap`)"
                ]
                if translations
                else []
            ),
            *(
                [
                    f"{former.found_in} ran `manage.py "
                    + "`, `manage.py ".join((*former.before_static, *former.after_static))
                    + "` on each deploy: hooks in shipstate.toml run them for each release before "
                    "it goes live (check their `run`)"
                ]
                if former.before_static or former.after_static
                else []
            ),
            *(
                [
                    "the collectstatic hook runs `manage.py compress` after it, as "
                    + (former.found_in if former.compressed else "COMPRESS_OFFLINE in the settings")
                    + " says (django-compressor: pages need what it makes in each release)"
                ]
                if compress
                else []
            ),
            *(
                [
                    "the Procfile's release command is a hook in shipstate.toml, run for each "
                    "release after the migrate hook, before it goes live: remove the migrate "
                    "hook if the command migrates"
                ]
                if release_hook
                else []
            ),
            *_processes_notes(processes, processes_found_in),
            *(
                [
                    f"the database is SQLite ({in_app(sqlite_by_default)}, shared by the "
                    "releases of each host) when the environment gives no database URL: for one "
                    "database for every host, put its URL in the secrets file and set the "
                    'migrate hook\'s run = "once"'
                ]
                if sqlite_by_default
                else []
            ),
            *_environment_notes("the settings read", environment, env_example, required),
            *(
                [
                    f"{deploys_to_in} deploys to {former_root} (shipstate's root for "
                    f"{name} by default): shipstate.toml's root is {former_root}-shipstate, "
                    "so that both run side by side until you retire the old deploys ("
                    f"{_migration_section(deploys_to_in.startswith('fabfile'))})"
                ]
                if former_root
                else []
            ),
            *(
                [
                    f"{kept_shared_in} keeps {SECRETS_PATH} across releases: shipstate uploads "
                    "it from this machine instead, one per inventory, as [secrets] in "
                    f'shipstate.toml says (README: Secrets); or add "{SECRETS_PATH}" to shared '
                    "to keep each server's own"
                ]
                if SECRETS_PATH in kept_shared
                else []
            ),
            *(
                [
                    f"the Dockerfile installs {', '.join(in_image)} with apt: add those the app "
                    "needs on the servers to `packages` in shipstate.toml (`shipstate bootstrap` "
                    "installs them)"
                ]
                if in_image
                else []
            ),
            *(
                [
                    f"config/deploy.yml gives the app {', '.join(kamal_secret)} from "
                    ".kamal/secrets: put each in secrets/production.env as KEY=VALUE (one "
                    "file per inventory) and uncomment [secrets] in shipstate.toml"
                ]
                if kamal_secret
                else []
            ),
        ),
    )


def _detect_web_app(app_dir: Path, web: WebApp, procfile: dict[str, str]) -> Detected:
    """What the files of a project without Django say: its application, as `web` found it."""
    requirements = _requirements(app_dir, app_dir, None)
    requirements_text = _requirements_text(app_dir / requirements)
    pythons = _pythons(app_dir, [app_dir], requirements, requirements_text)
    package = web.application.partition(":")[0].split(".")[0]
    processes, processes_found_in = _processes(app_dir, procfile, app_dir, package, "")
    environment = _environment_read(web.source)
    required = _environment_required(web.source)
    server_needs = _needing_server_packages(requirements_text)
    build = _frontend_build(app_dir)
    static_url, static_root = web.static or ("/static/", None)
    # a release command upgrading the database (flask db upgrade): the migrate hook does
    upgrades = web.migrate and re.search(r"\b(?:db|alembic) upgrade\b", procfile.get("release", ""))
    release = None if upgrades else procfile.get("release") or None
    served = f"{web.framework + ' ' if web.framework else ''}{web.kind.upper()} app"
    return Detected(
        name=_app_name(app_dir, package)[:40],
        workdir=None,
        pythonpath=web.pythonpath,
        settings="",
        settings_paths=(),
        wsgi=web.application if web.kind == "wsgi" else None,
        asgi=web.application if web.kind == "asgi" else None,
        requirements=requirements,
        static_root=static_root,
        sqlite_file=web.sqlite_file,
        media_root=None,
        media_url="/media/",
        static_url=static_url,
        health_path=web.health_path or "/",
        pythons=pythons,
        environment=environment,
        environment_required=required,
        processes=processes,
        processes_found_in=processes_found_in,
        build=build,
        release=release,
        server_needs=server_needs,
        app_server=_former_app_server(app_dir),
        web=web,
        notes=(
            f"no Django project here: shipstate.toml serves the {served} {web.found_in} "
            f"{'names' if web.found_in == PROCFILE_WEB else 'makes'} "
            f"({web.application}) with gunicorn"
            + (" through uvicorn's worker" if web.kind == "asgi" else "")
            + (
                ""
                if web.migrate
                else "; add hooks for what each release needs before it goes live (a database "
                "migration...)"
            ),
            *(
                [
                    'no health route (healthz, health, ping) found: health_path = "/" must '
                    "answer 200 to anyone; if it does not, add a route that does (e.g. "
                    "/healthz) and set health_path to it"
                ]
                if web.health_path in (None, "/")
                else []
            ),
            *(
                [f"nginx serves {static_url} from {static_root}, as the app does"]
                if static_root
                else []
            ),
            *(
                [
                    f"Flask's instance folder ({web.instance}) is in `shared`: each host keeps "
                    "it, and what the app writes there (a SQLite database), across releases"
                ]
                if web.instance
                else [
                    f"the database is SQLite ({web.sqlite_file}): in `shared`, so each host "
                    "keeps its own across releases"
                ]
                if web.sqlite_file
                else [
                    "the app uses SQLite: a database file in the release's directory is left "
                    "behind at each deploy; keep it in a `shared` path (e.g. data/, with the "
                    "database's URL naming it)"
                ]
                if web.sqlite
                else []
            ),
            *(
                [
                    f"a hook runs `{web.migrate[0]}` for each release that changes "
                    f"{' or '.join(web.migrate[1])}, before it goes live"
                ]
                if web.migrate
                else []
            ),
            *_requirements_notes(requirements, requirements_text, pythons),
            *_server_needs_notes(server_needs),
            *(
                [
                    "the Procfile's release command is a hook in shipstate.toml, run for each "
                    "release before it goes live"
                ]
                if release
                else []
            ),
            *_processes_notes(processes, processes_found_in),
            *_environment_notes(
                "the app reads", environment, _env_example(app_dir, [app_dir]), required
            ),
        ),
    )


def _processes_notes(processes: tuple[tuple[str, str], ...], found_in: str) -> list[str]:
    if not processes:
        return []
    return [
        f"{found_in} names processes ({', '.join(name for name, _ in processes)}): they are "
        "written commented out in shipstate.toml ([[processes]]); uncomment them once what they "
        "need (a broker?) is reachable from the servers"
    ]


def _requirements_notes(
    requirements: str,
    requirements_text: str,
    pythons: Pythons,
) -> list[str]:
    """What the requirements (and the Python they need) ask of the servers or of you."""
    return [
        *(
            [
                f"{requirements} is pip-tools' input, which pins no versions: each new "
                "environment takes the newest that match; compile it (`pip-compile "
                f"{requirements}`), commit the .txt it writes, and run init again"
            ]
            if requirements.endswith(".in")
            else []
        ),
        *(
            f"the requirements pin gunicorn {major}.{minor}, which cannot run as `python -m "
            "gunicorn` (20.1 and newer can): require gunicorn>=20.1, or remove it (shipstate "
            "adds the newest)"
            for major, minor in GUNICORN_PINNED.findall(requirements_text)
            if (int(major), int(minor)) < (20, 1)
        ),
        *(
            [
                f"{pythons.needed_by} needs Python {pythons.needed} or newer, and Debian 12's "
                f"python3 is 3.{NEWEST_ON_DEBIAN_12}: on servers with an older python3, "
                "install a newer one and uncomment `python` in shipstate.toml"
                + (
                    f"; this machine's sandbox hosts have {pythons.sandbox}, which "
                    "[environments.sandbox] names"
                    if pythons.sandbox
                    else ""
                )
            ]
            if pythons.needed
            else []
        ),
    ]


def _server_needs_notes(server_needs: tuple[str, ...]) -> list[str]:
    """What the requirements needing Debian packages on the servers make `packages` list."""
    built = [name for name in server_needs if name in BUILT_ON_THE_SERVERS]
    return [
        *(
            [
                f"the servers build {', '.join(built)} from source (no wheel): `packages` "
                "in shipstate.toml lists what that needs there, which `shipstate bootstrap` "
                "installs"
                + "".join(
                    f" ({instead} instead of {name} would need none)"
                    for name in built
                    if (instead := BUILT_ON_THE_SERVERS[name])
                )
            ]
            if built
            else []
        ),
        *(
            [
                "the requirements list uWSGI, the former app server: shipstate runs gunicorn, "
                "so unless the code imports uwsgi, remove it from the servers' requirements "
                "(and python3-dev, build-essential from `packages`)"
            ]
            if "uwsgi" in built
            else []
        ),
        *(
            f"{who} loads {what} from the servers: `packages` in shipstate.toml lists "
            f"{', '.join(SERVER_PACKAGES[need])}, which `shipstate bootstrap` installs"
            + (f" ({instead} would need none)" if instead else "")
            for need, (who, what, instead) in LOADS_FROM_THE_SERVERS.items()
            if need in server_needs
        ),
        *(
            [
                "the requirements install a package from a git repository: `packages` in "
                "shipstate.toml lists git, which `shipstate bootstrap` installs; a private "
                "one needs its credentials on the servers (a token in the URL as "
                "`${GIT_TOKEN}`, set in the secrets file; README: Secrets)"
            ]
            if "git" in server_needs
            else []
        ),
    ]


def _environment_notes(
    reads: str, environment: tuple[str, ...], env_example: str | None, required: tuple[str, ...]
) -> list[str]:
    """The variables the settings or the app `reads` ("the app reads"), and where they are
    listed."""
    return [
        *(
            [
                f"{reads} {', '.join(environment)} from the environment: put "
                "them in a secrets file per inventory, see [secrets] in shipstate.toml"
            ]
            if environment
            else []
        ),
        *(
            [
                f"{env_example} lists the environment the app expects: copy it to "
                "secrets/production.env (one per inventory: secrets/staging.env...), fill in "
                "the values" + ("" if required else ", and uncomment [secrets] in shipstate.toml")
            ]
            if env_example
            else []
        ),
    ]


def _staging_lines(found: Detected) -> list[str]:
    """[environments.staging]: its server_name and the value the settings compare the
    production variable with for staging, as found; else an example, commented out."""
    names = found.served_at.staging
    name_line = (
        f'server_name = "{" ".join(names)}"   # as {found.served_at.staging_found_in} lists them'
    )
    variable = found.settings_variable[0] if found.settings_variable else None
    env_line = (
        f'env = {{ {variable} = "{found.staging_value}" }}   # the settings compare it with it'
        if found.staging_value
        else None
    )
    kept = [line for line in (names and name_line, env_line) if line]
    if not kept:
        return [
            "# [environments.staging]",
            '# server_name = "staging.example.com"',
            '# env = { SOME_SETTING = "value for staging" }',
        ]
    return ["[environments.staging]", *kept]


def _former_hooks(found: Detected, commands: tuple[str, ...], when: str, hooks_run: str):
    """Hooks running what the former tool ran, `when` ("before"/"after") collectstatic."""
    if not commands:
        return []
    lines = [
        "",
        f"# What {found.former_commands_in} ran on each deploy {when} collectstatic, run for each",
        "# release before it goes live (check `run`: once, for what changes a shared database):",
    ]
    for command in commands:
        run = hooks_run if command.split()[0] in ON_THE_DATABASE else "every-host"
        lines += ["[[hooks]]", f"command = {json.dumps(f'python manage.py {command}')}"]
        lines.append(f'run = "{run}"')
    return lines


def _former_app_server(app_dir: Path) -> AppServer | None:
    """The workers and timeout gunicorn (or uWSGI) had, as a file the former setup ran it by
    says."""
    tracked = [
        tracked_files(app_dir, f"*{part}*")
        for part in ("supervisor", ".service", "gunicorn", "uwsgi")
    ]
    files = ["Procfile", "render.yaml", "fly.toml", *(f for found in tracked for f in found)]
    composed = ["docker-compose.yml", "docker-compose.yaml", "compose.yaml", "compose.yml"]
    return former_app_server(app_dir, [*dict.fromkeys(files), "Dockerfile", *composed])


def _app_server_lines(former: AppServer | None) -> list[str]:
    """workers (else 2), and timeout, as the former app server had them."""
    had = {"workers": former.workers, "timeout": former.timeout} if former else {}
    kept = {name: value for name, value in had.items() if value and _allowed(name, value)}
    said = f"   # as {former.found_in}'s {former.server} had it" if former else ""
    workers = f"workers = {kept['workers']}{said}" if "workers" in kept else "workers = 2"
    return [workers, *([f"timeout = {kept['timeout']}{said}"] if "timeout" in kept else [])]


def _allowed(name: str, value: int) -> bool:
    """Whether shipstate.toml's `name` may be `value` (within its ge and le)."""
    limits = Config.model_fields[name].metadata
    return all(getattr(m, "ge", value) <= value <= getattr(m, "le", value) for m in limits)


def _keep_releases(kept: tuple[int, str] | None) -> str:
    if kept is None:
        return "keep_releases = 4"
    count, file = kept
    if count < 2:
        return f"keep_releases = 2   # {file} kept {count}: the active release and the one before"
    return f"keep_releases = {min(count, 100)}   # as {file} kept"


def render_config(found: Detected) -> str:
    pythons = found.pythons
    each_host = found.sqlite_file or (found.web and found.web.sqlite)
    hooks_run = "every-host" if each_host else "once"
    body_size = found.served_at.body_size
    needed = _packages(found.server_needs, found.translations)
    packages = list(dict.fromkeys(p for names in needed.values() for p in names))
    static_root = found.static_root or _in_workdir(found.workdir, DEFAULT_STATIC_ROOT)
    django = found.web is None
    reader = "The settings" if django else "The app's modules"
    media = found.media_root or (_in_workdir(found.workdir, "media") if django else None)
    shared = [f"{media}/"] if media else []
    if found.web and found.web.instance:
        shared.append(found.web.instance)
    if found.sqlite_file:
        shared.insert(0, found.sqlite_file)
    shared += [path for path in found.log_paths if path not in shared]
    formerly = [path for path in found.former_shared if path not in (*shared, SECRETS_PATH)]
    shared += formerly
    lines = [
        f"# shipstate configuration, written by `shipstate init` for "
        f"{found.settings or found.wsgi or found.asgi}.",
        "# Every key: see the README's configuration reference.",
        f'name = "{found.name}"',
        *(
            [f'root = "{found.root}"   # beside the former deploys\' directory']
            if found.root
            else []
        ),
        f'asgi = "{found.asgi}"   # ASGI: served through uvicorn, websockets too'
        if found.asgi
        else f'wsgi = "{found.wsgi}"',
        *(
            [f'workdir = "{found.workdir}"   # holds manage.py: hooks and the app server run there']
            if found.workdir
            else []
        ),
        *(
            [f'pythonpath = ["{found.pythonpath}"]   # holds the project\'s modules: on sys.path']
            if found.pythonpath
            else []
        ),
        f'requirements = "{found.requirements}"',
        *(
            [f'python = "{pythons.command}"   # as {pythons.named_by} says: the servers need it']
            if pythons.command
            else [
                f'# python = "python{pythons.needed}"   # {pythons.needed_by} needs it: '
                "if the servers' python3 is older"
            ]
            if pythons.needed
            else []
        ),
        _keep_releases(found.releases_kept),
        f'health_path = "{found.health_path}"   # must answer 200 before a release goes live',
        f'server_name = "{" ".join(found.served_at.names)}"   # as {found.served_at.found_in} '
        "lists them"
        if found.served_at.names
        else 'server_name = "_"   # your domain(s), e.g. "example.com www.example.com"',
        *_app_server_lines(found.app_server),
        *(
            [f'client_max_body_size = "{body_size[0]}"   # as {body_size[1]} has it']
            if body_size
            else []
        ),
        *(
            [f"packages = {json.dumps(packages)}   # for {', '.join(needed)}, by bootstrap"]
            if packages
            else []
        ),
        f"shared = [{', '.join(repr(s).replace(chr(39), chr(34)) for s in shared)}]"
        + (f"   # {', '.join(formerly)}: as {found.former_shared_in} kept" if formerly else "")
        + ("" if shared else "   # paths each host keeps across releases: uploads, a database..."),
    ]
    if found.static_root or found.workdir:
        lines.append(f'static_root = "{static_root}"')
    if found.static_url != "/static/":
        said = "STATIC_URL: " if django else ""
        lines.append(f'static_url = "{found.static_url}"   # {said}served by nginx')
    if found.media_root:
        lines.append(f'media_root = "{found.media_root}"   # MEDIA_ROOT: uploads, served by nginx')
        if found.media_url != "/media/":
            lines.append(f'media_url = "{found.media_url}"')
    lines += [
        "",
        *(
            [f"# {reader} read from the environment: {', '.join(found.environment)}."]
            if found.environment
            else []
        ),
        *(
            [
                f"# Git ignores {found.settings_ignored}: uploaded from this machine into each",
                "# release (for every inventory; README: Secrets).",
                "[secrets]",
                f'file = "{found.settings_ignored}"',
                f'path = "{found.settings_ignored}"',
                "environment = false",
            ]
            if found.settings_ignored
            else [
                f"# {reader} need {', '.join(found.environment_required)} (they fail "
                "without): a local file",
                "# per inventory gives them, as secrets/production.env or secrets/sandbox.env",
                "# (KEY=VALUE lines, never committed; README: Secrets):",
                "[secrets]",
                'file = "secrets/{inventory}.env"',
            ]
            if found.environment_required
            else [
                "# Secrets go in a local file per inventory (e.g. secrets/production.env, "
                "KEY=VALUE",
                "# lines, never committed; README: Secrets). Uncomment to give its variables to "
                "the app:",
                "# [secrets]",
                '# file = "secrets/{inventory}.env"',
            ]
        ),
    ]
    if django:
        lines += _django_env_and_migrate(found, hooks_run)
    elif found.web.migrate:
        lines += [
            "",
            *HOOKS_SKIPPED,
            "[[hooks]]",
            f"command = {json.dumps(found.web.migrate[0])}",
            f'run = "{hooks_run}"   # every-host: SQLite on each host; once: a shared database',
            f"inputs = {json.dumps(found.web.migrate[1])}",
        ]
    if found.cache_table:
        lines += [
            "",
            "# The cache is in the database (DatabaseCache): its table, which migrate leaves out:",
            "[[hooks]]",
            'command = "python manage.py createcachetable"',
            f'run = "{hooks_run}"',
            f"inputs = {json.dumps(list(found.settings_paths))}",
        ]
    if found.translations:
        lines += [
            "",
            "# The translations git holds uncompiled (.po), compiled in each release:",
            "[[hooks]]",
            'command = "python manage.py compilemessages"',
            'inputs = ["**/*.po"]',
            f"outputs = {json.dumps(list(found.translations))}",
        ]
    if found.release:
        lines += [
            "",
            "# The Procfile's release command (Heroku's release phase), run for each release:",
            "[[hooks]]",
            f"command = {json.dumps(found.release)}",
            f'run = "{hooks_run}"',
        ]
    lines += _former_hooks(found, found.former_before_static, "before", hooks_run)
    compress = " && python manage.py compress" if found.compress else ""
    collectstatic = [
        "[[hooks]]",
        f'command = "python manage.py collectstatic --noinput{compress}"',
        f"inputs = {json.dumps(['**', '!**/*.py', *found.settings_paths])}"
        "   # all but Python code, and the settings",
        f'outputs = ["{static_root}"]',
    ]
    if found.static_root and django:
        lines += ["", *collectstatic]
    elif django:
        lines += [
            "",
            f'# Set STATIC_ROOT = BASE_DIR / "{DEFAULT_STATIC_ROOT}" in your settings to have',
            "# nginx serve static files, then uncomment:",
            *(f"# {line}" for line in collectstatic),
        ]
    lines += _former_hooks(found, found.former_after_static, "after", hooks_run)
    if found.processes:
        lines += [
            "",
            f"# Processes found in {found.processes_found_in}, run beside the app server from the",
            "# active release once uncommented (they need their broker reachable):",
        ]
        for name, command in found.processes:
            lines += ["# [[processes]]", f'# name = "{name}"', f"# command = {json.dumps(command)}"]
            if SCHEDULER.search(f"{name} {command}"):
                lines.append('# run = "once"               # a scheduler: on one host only')
    if found.build:
        lines += [
            "",
            f"# {found.build.package} builds the frontend: uncomment to run it on this machine, "
            "in a",
            "# checkout of each commit, and add what it makes to the release (list it in outputs):",
            "# [build]",
            f'# command = "{found.build.command}"',
            f'# outputs = ["{found.build.outputs}"]   # as the bundler\'s config says'
            if found.build.outputs
            else '# outputs = ["static/dist/"]',
        ]
    lines += [
        "",
        "# Keys that differ for one inventory (inventories/staging.py...), over those above:",
        *_staging_lines(found),
    ]
    if pythons.sandbox:
        lines += [
            "",
            "[environments.sandbox]   # `shipstate sandbox up`'s hosts, whose python3 is older",
            f'python = "{pythons.sandbox}"   # pyenv\'s, which they have too',
        ]
    return "\n".join(lines) + "\n"


HOOKS_SKIPPED = (
    "# A hook with inputs is skipped while they (paths in the app), the requirements, [env]",
    "# and the secrets are as in the live release; its outputs are then copied from it.",
)


def _django_env_and_migrate(found: Detected, hooks_run: str) -> list[str]:
    """[env] with the settings module, and the migrate hook."""
    return [
        "",
        "[env]",
        f'DJANGO_SETTINGS_MODULE = "{found.settings}"',
        *([f'DJANGO_CONFIGURATION = "{found.configuration}"'] if found.configuration else []),
        *(['{} = "{}"   # {}'.format(*found.settings_variable)] if found.settings_variable else []),
        *(
            [
                "# As config/deploy.yml's env.clear gave them (an accessory's name, as a",
                "# database host, resolves only in Kamal's network):",
                *(f"# {name} = {json.dumps(value)}" for name, value in found.kamal_clear),
            ]
            if found.kamal_clear
            else []
        ),
        "",
        *HOOKS_SKIPPED,
        "[[hooks]]",
        'command = "python manage.py migrate --noinput"',
        f'run = "{hooks_run}"   # every-host: SQLite on each host; once: a shared database',
        f"inputs = {json.dumps(['**/migrations/*.py', *found.settings_paths])}",
    ]


@dataclass(frozen=True)
class Written:
    written: list[Path]
    kept: list[Path]  # inventories that exist: they list the user's hosts
    notes: tuple[str, ...]  # what in the settings is not ready for production
    hosts_taken: tuple[str, ...] = ()  # inventories listing the hosts the former tool did
    ignored: str | None = None  # the pattern added to .gitignore, if one was
    packages: tuple[str, ...] = ()  # the Debian packages the config lists
    secrets_needed: tuple[str, ...] = ()  # what the settings need from each inventory's secrets
    local_env: str | None = None  # this machine's .env, out of git, which sets them all
    made: str | None = None  # the secrets files' directory, made for them


def init(app_dir: Path, force: bool, copy_templates: bool) -> Written:
    """Write the files. Nothing is overwritten without `force`, and an inventory never."""
    found = detect(app_dir)
    text = render_config(found)
    try:
        config = parse_config(tomllib.loads(text), CONFIG_FILE)
    except ShipstateError as exc:
        raise ShipstateError(
            f"init wrote nothing: what it read in the project makes an {exc}",
            hint="a path the settings name (STATIC_ROOT, MEDIA_ROOT...) may use characters "
            "shipstate.toml does not take: rename it there, or write shipstate.toml by hand "
            "(README: Configuration reference)",
        ) from None
    wanted: dict[Path, str | Path] = {app_dir / CONFIG_FILE: text}
    inventories = [app_dir / "inventories" / f"{env}.py" for env in ("staging", "production")]
    kept = [path for path in inventories if path.exists()]
    former = former_hosts(app_dir)
    for path in inventories:
        if path not in kept:
            wanted[path] = _inventory(path.stem, former.get(path.stem))
    if copy_templates:
        ours = resources.files("shipstate.deploy_templates")
        for template in ALL_TEMPLATES:
            wanted[app_dir / "deploy_templates" / template] = Path(str(ours / template))
    existing = [p for p in wanted if p.exists()]
    if existing and not force:
        raise ShipstateError(
            "would overwrite " + ", ".join(str(p.relative_to(app_dir)) for p in existing),
            hint=f"pass --force to overwrite {'it' if len(existing) == 1 else 'them'} "
            "(inventories that exist are kept)",
        )
    for path, content in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, content.read_text() if isinstance(content, Path) else content)
    outside_git = (
        () if in_git_work_tree(app_dir) else (f"not in a git repository: {MAKE_A_COMMIT}",)
    )
    taken = tuple(path.stem for path in inventories if path.stem in former and path not in kept)
    hosts_notes = tuple(_former_hosts_note(env, former[env]) for env in taken)
    notes = (*found.notes, *hosts_notes, *outside_git)
    return Written(
        list(wanted),
        kept,
        notes,
        taken,
        _ignore_secrets(app_dir),
        config.packages,
        found.environment_required,
        _local_env(app_dir, found.environment_required),
        _secrets_dir(app_dir) if found.environment_required else None,
    )


def _local_env(app_dir: Path, needed: tuple[str, ...]) -> str | None:
    """The app's .env when git does not track it and it sets all the variables `needed`."""
    env = app_dir / ".env"
    if not needed or not env.is_file() or tracked_files(app_dir, ".env"):
        return None
    names = LocalSecrets(content=env.read_bytes(), digest="").names
    return ".env" if set(needed) <= names else None


# where the config's [secrets] keeps them: `file = "secrets/{inventory}.env"`
SECRETS_IGNORED = "/secrets/"


def _secrets_dir(app_dir: Path) -> str | None:
    """The secrets files' directory, made (for this user only) unless it exists."""
    secrets = app_dir / SECRETS_IGNORED.strip("/")
    if secrets.exists():
        return None
    secrets.mkdir(mode=0o700)
    return f"{secrets.name}/"


def _ignore_secrets(app_dir: Path) -> str | None:
    """The secrets files' directory added to the app's .gitignore, unless git ignores it."""
    if git_ignores(app_dir, "secrets/production.env"):
        return None
    gitignore = app_dir / ".gitignore"
    text = gitignore.read_text() if gitignore.exists() else ""
    separator = "\n" if text and not text.endswith("\n") else ""
    comment = "# shipstate's secrets files, one per inventory: never committed"
    write_whole(gitignore, f"{text}{separator}{comment}\n{SECRETS_IGNORED}\n")
    return SECRETS_IGNORED


def _former_hosts_note(env: str, former: FormerHosts) -> str:
    count = f"{len(former.hosts)} host{'s' if len(former.hosts) > 1 else ''}"
    root = [host.address for host in former.hosts if host.user == "root"]
    as_root = (
        f"; {former.tool} connects to {', '.join(root)} as root: shipstate deploys as an "
        f"unprivileged user, which `shipstate bootstrap -i {env} --user root` creates"
        if root
        else ""
    )
    listed = f"inventories/{env}.py lists the {count} {former.found_in} names: check them"
    return f"{listed}{as_root} ({_migration_section(former.tool == 'Fabric')})"


def _migration_section(from_fabfile: bool) -> str:
    tools = "the fabfile" if from_fabfile else "Capistrano, Deployer, Ansistrano or Kamal"
    return f"README: From {tools}"
