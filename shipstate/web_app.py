"""A Python web app without Django (Flask, FastAPI...): its WSGI or ASGI application, as the
Procfile's web command or the app's modules name it, read, never run."""

import ast
import posixpath
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipstate.python_source import INDENTED_LINE, literal, source_text, statements

# a framework's application class, as the app calls it: (served as, the framework)
APPLICATION_CLASSES = {
    "Flask": ("wsgi", "Flask"),
    "flask.Flask": ("wsgi", "Flask"),
    "Bottle": ("wsgi", "Bottle"),
    "bottle.Bottle": ("wsgi", "Bottle"),
    "falcon.App": ("wsgi", "Falcon"),
    "falcon.API": ("wsgi", "Falcon"),
    "FastAPI": ("asgi", "FastAPI"),
    "fastapi.FastAPI": ("asgi", "FastAPI"),
    "Starlette": ("asgi", "Starlette"),
    "Quart": ("asgi", "Quart"),
    "Litestar": ("asgi", "Litestar"),
    "falcon.asgi.App": ("asgi", "Falcon"),
}
# the names an app's module usually has, the likeliest first
MODULE_NAMES = ("wsgi", "asgi", "app", "main", "application", "server", "api", "run", "__init__")
# directories of what is not the app's code (shipstate's own among them)
NOT_THE_APP = {
    *("tests", "test", "docs", "migrations", "alembic", "scripts", "node_modules", "venv", "env"),
    *("inventories", "deploy_templates", "secrets"),
}
PROCFILE_WEB = "the Procfile's web command"
# a command-line word naming an application: module:callable, or module:factory()
APPLICATION_WORD = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(?:\(\))?$")
ASGI_SERVERS = re.compile(r"\b(?:uvicorn|hypercorn|daphne|granian)\b", re.I)
# @app.route("/x"), @router.get("/x"), Starlette's Route("/x", ...): one without parameters
ROUTE = re.compile(r"""(?:@\w+\.(?:route|get|api_route)|\bRoute)\(\s*["'](/[^"'<{]*)["']""")
# a router's or blueprint's own prefix: APIRouter(prefix="/api"), Blueprint(..., url_prefix=...)
ROUTER_PREFIX = re.compile(r"""\b(?:APIRouter|Blueprint)\([^)]*?prefix\s*=\s*["'](/[^"']*)["']""")
FASTAPI_DOCS = "/docs"  # the page FastAPI serves unless told otherwise (docs_url)
HEALTH_ROUTE = re.compile(
    r"^/(?:[\w-]+/)*(?:healthz?|health-?check|ping|status|ready|live)/?$", re.I
)
# FastAPI's and Starlette's app.mount("/static", StaticFiles(directory="static"), ...), and
# Starlette's Mount("/static", app=StaticFiles(directory="static"))
STATIC_MOUNT = re.compile(
    r"""(?:\.mount|\bMount)\(\s*["'](/[\w./-]*)["']\s*,\s*(?:app\s*=\s*)?"""
    r"""StaticFiles\(\s*directory\s*=\s*["']([\w./-]+)["']"""
)
# what the app keeps in Flask's instance folder: os.path.join(app.instance_path, "flaskr.sqlite"),
# a database, or Path(app.instance_path) / "uploads", a directory
INSTANCE_PATH = re.compile(r"""instance_path\s*\)?\s*(?:,|/)\s*["']([\w-][\w.-]*)["']""")
DATABASE_FILE = re.compile(r"\.(?:sqlite3?|db)$")
# a config file Flask reads from it: app.config.from_pyfile("config.py", silent=True)
INSTANCE_CONFIG = re.compile(r"""\.from_pyfile\(\s*["']([\w.-]+)["']""")
# a Flask command making the database, as the Flask tutorial's: `@click.command("init-db")`
# (added with app.cli.add_command), `@app.cli.command()` on `def init_db():`
DATABASE_COMMAND = re.compile(
    r"""^[ \t]*@(?:click|\w+\.cli)\.command\((?:\s*["']([\w-]+)["'])?[^)]*\)\s*\n"""
    r"""(?:[ \t]*@.*\n)*[ \t]*def (\w+)""",
    re.M,
)
CELERY_CLASSES = ("Celery", "celery.Celery")
MAKES_A_DATABASE = re.compile(r"^(?:init|create)[-_]?(?:db|database|tables?)$")


@dataclass(frozen=True)
class Migrate:
    """The command making or upgrading the app's database, run when `inputs` change."""

    command: str
    inputs: tuple[str, ...]
    # the SQLite file a command making the database once (the Flask tutorial's init-db, which
    # drops its tables) runs for, while it is missing or empty
    made_once: str | None = None


@dataclass(frozen=True)
class WebApp:
    kind: str  # "wsgi" or "asgi"
    application: str  # module:callable, or module:factory() (gunicorn calls it)
    found_in: str  # what names it: the Procfile, or the module's file
    framework: str | None
    pythonpath: str | None  # "src" for a src layout
    static: tuple[str, str] | None  # (URL, the directory in the app) the app serves them from
    health_path: str | None  # a health route, else the home page, when the app has one
    source: str  # the app's modules' text (what they read from the environment)
    instance: str | None  # Flask's instance folder, when the app keeps files there (SQLite)
    instance_config: str | None  # a file the app reads from it, given to each release instead
    instance_dirs: tuple[str, ...]  # then, the directories the app keeps there (uploads/)
    migrate: Migrate | None
    sqlite: bool  # a SQLite database (each host has its own)
    sqlite_file: str | None  # its file in the app, unless the instance folder holding it is kept
    celery: tuple[str, str] | None  # (module, its file): a Celery app made on import, for -A
    config_chosen: tuple[str, str] | None  # (variable, value) choosing the production config


def web_app(app_dir: Path, web_command: str) -> WebApp | None:
    """The app the Procfile's web command serves, else the first of the app's modules (by
    depth, then name) that makes a framework's application or a factory of one."""
    modules = _modules(app_dir)
    source = "\n".join(text for _, text in modules)
    served = _served(web_command)
    found = (*served, PROCFILE_WEB) if served else None
    for path, text in modules if not found else ():
        defined = _defined(path, text) or _assigned_app(modules, path, text)
        if defined:
            found = (*defined[:2], path.as_posix())
            break
    if not found:
        return None
    kind, application, found_in = found
    module, _, name = application.partition(":")
    path, text = _module(modules, module)
    pythonpath = "src" if path and path.parts[0] == "src" else None
    origin, made_in, made = _made_by(modules, path, text, name.removesuffix("()"))
    framework = made[2] if made else None
    routes = [route for path, text in modules for route in _routes(path, text, source)]
    health = next((r for r in routes if HEALTH_ROUTE.match(r)), "/" if "/" in routes else None)
    if health is None and framework == "FastAPI" and "docs_url" not in source:
        health = FASTAPI_DOCS
    made_by = _named(origin) if origin else module
    package = PurePosixPath(*([pythonpath] if pythonpath else []), *made_by.split("."))
    chosen = _production_config(modules, source)
    sqlite = _sqlite_file([*(chosen[2:] if chosen else ()), *modules])
    # Flask-SQLAlchemy puts a relative SQLite URL's file in the instance folder
    in_instance = "flask_sqlalchemy" in source and sqlite and sqlite[1]
    flask_instance = framework == "Flask" and ("instance_" in source or in_instance)
    instance = package.parent / "instance"
    kept = INSTANCE_PATH.findall(source) if flask_instance else []
    named = next((name for name in kept if DATABASE_FILE.search(name)), None)
    in_folder = named or (sqlite[0] if flask_instance and in_instance else None)
    configured = (
        INSTANCE_CONFIG.search(source) if "instance_relative_config=True" in source else None
    )
    # a file read from the instance folder differs by inventory, so each release has its own:
    # the folder is then kept across releases by its database's file only
    own_config = bool(in_folder and configured)
    directories = [f"{instance / name}/" for name in dict.fromkeys(kept) if name != in_folder]
    database = (instance / in_folder).as_posix() if in_folder else sqlite[0] if sqlite else None
    return WebApp(
        kind,
        application,
        found_in,
        framework,
        pythonpath,
        _static(app_dir, package, made_in),
        health,
        source,
        f"{instance}/" if flask_instance and not own_config else None,
        (instance / configured[1]).as_posix() if own_config else None,
        tuple(directories) if own_config else (),
        _migrate(app_dir, application, source, modules, database),
        "sqlite" in source,
        database if own_config or not in_folder else None,
        _celery(modules),
        chosen[:2] if chosen else None,
    )


# the environment variable a factory is given (Flasky's create_app(os.getenv("FLASK_CONFIG")
# or "default")), or a name set from it, or what from_object() loads (APP_SETTINGS)
OS_ENVIRONMENT_READ = r"""(?:os\.)?(?:environ\.get\(|getenv\(|environ\[)\s*["'](\w+)["']"""
ENVIRONMENT_CHOICE = re.compile(rf"\b(create_app|from_object)\(\s*{OS_ENVIRONMENT_READ}")
PRODUCTION_KEY = re.compile(r"""["'](production|prod)["']\s*:\s*([A-Z]\w*)""")
PRODUCTION_CLASS = re.compile(r"^class\s+(Prod(?:uction)?\w*)\b.*:", re.M)


def _production_config(
    modules: list[tuple[PurePosixPath, str]], source: str
) -> tuple[str, str, tuple[PurePosixPath, str]] | None:
    """The variable choosing the app's config, the value choosing the production one (its
    name in the factory's dict of configs, or its class as from_object() imports it), and
    that class's module with its body."""
    named = re.findall(rf"^(\w+)\s*=\s*{OS_ENVIRONMENT_READ}", source, re.M)
    chosen = ENVIRONMENT_CHOICE.findall(source) + [
        ("create_app", variable)
        for name, variable in named
        if re.search(rf"\bcreate_app\(\s*{name}\b", source)
    ]
    for call, variable in chosen:
        key = PRODUCTION_KEY.search(source) if call == "create_app" else None
        name = key[2] if key else None
        for path, text in modules:
            found = next((m for m in PRODUCTION_CLASS.finditer(text) if name in (None, m[1])), None)
            if found and (key or call == "from_object"):
                body = re.match(rf".*\n{INDENTED_LINE}*", text[found.start() :])
                value = key[1] if key else f"{_named(path)}.{found[1]}"
                return variable, value, (path, body[0] if body else "")
    return None


def _celery(modules: list[tuple[PurePosixPath, str]]) -> tuple[str, str] | None:
    """The first module making a Celery app as it is imported, as Flask's make_celery.py:
    `celery_app = flask_app.extensions["celery"]`, or `celery = Celery(__name__)`."""
    for path, text in modules:
        for node in statements(text) or [] if "celery" in text.lower() else []:
            value = node.value if _assigned(node) else None
            made = isinstance(value, ast.Call) and _dotted(value.func) in CELERY_CLASSES
            taken = (
                isinstance(value, ast.Subscript)
                and _dotted(value.value).endswith(".extensions")
                and isinstance(value.slice, ast.Constant)
                and value.slice.value == "celery"
            )
            if made or taken:
                return _named(path), path.as_posix()
    return None


def _routes(path: PurePosixPath, text: str, source: str) -> list[str]:
    """The paths of the routes a module declares, below its router's prefix and the one it is
    included with (`app.include_router(items.router, prefix="/items")`, `register_blueprint(
    auth.bp, url_prefix="/auth")`)."""
    own = ROUTER_PREFIX.search(text)
    included = re.search(
        rf"""(?:include_router|register_blueprint)\(\s*(?:\w+\.)*{re.escape(path.stem)}\.\w+"""
        r"""\s*,[^)]*?prefix\s*=\s*["'](/[^"']*)["']""",
        source,
    )
    prefix = (included[1].rstrip("/") if included else "") + (own[1].rstrip("/") if own else "")
    return [prefix + route for route in ROUTE.findall(text)]


def _module(
    modules: list[tuple[PurePosixPath, str]], module: str
) -> tuple[PurePosixPath | None, str]:
    return next(((p, t) for p, t in modules if _named(p) == module), (None, ""))


def _made_by(
    modules: list[tuple[PurePosixPath, str]], path: PurePosixPath | None, text: str, name: str
) -> tuple[PurePosixPath | None, str, tuple[str, str, str] | None]:
    """The module making the application `name` of the module at `path` (see _origin), its
    text, and what it makes there (see _defined)."""
    origin, made_in = _origin(modules, path, text, name)
    return origin, made_in, _defined(origin, made_in, any_factory=True) if origin else None


def _origin(
    modules: list[tuple[PurePosixPath, str]], path: PurePosixPath | None, text: str, name: str
) -> tuple[PurePosixPath | None, str]:
    """The module making the application `name` of the module at `path`: itself, or one it
    imports it from (microblog.py's `from app import app`), or the one defining the factory
    it is made by (wsgi.py's `app = create_app()`, imported from the app's package)."""
    for _ in range(4):
        body = statements(text) or [] if path else []
        made = next((n for n in body if _assigned(n) == name), None)
        if made and isinstance(made.value, ast.Call):
            if _dotted(made.value.func) in APPLICATION_CLASSES:
                return path, text
            name = _dotted(made.value.func).rpartition(".")[2]
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == name for n in body):
            return (path, text) if _defined(path, text, any_factory=True) else (None, "")
        imported = next(
            (
                node
                for node in body
                if isinstance(node, ast.ImportFrom)
                and any((alias.asname or alias.name) == name for alias in node.names)
            ),
            None,
        )
        if imported is None:
            return None, ""
        parts = _named(path).split(".")
        package = parts if path.stem == "__init__" else parts[:-1]
        base = package[: len(package) - imported.level + 1] if imported.level else []
        name = next(a.name for a in imported.names if (a.asname or a.name) == name)
        path, text = _module(modules, ".".join([*base, *filter(None, [imported.module])]))
    return None, ""


# a SQLite URL's file: "sqlite:///app.db", "sqlite:///" + os.path.join(basedir, "app.db"),
# f"sqlite:///{BASE_DIR / 'app.db'}"; or the name of the one holding it: f"sqlite:///{name}"
SQLITE_URL = re.compile(
    r"""sqlite:///(?:(?:\./)?([\w.-][\w./-]*)|(?:["']|\{).*?["']([\w.-]+\.(?:db|sqlite3?))["']"""
    r"""|\{(\w+)\})"""
)


def _sqlite_file(modules: list[tuple[PurePosixPath, str]]) -> tuple[str, bool] | None:
    """The file a SQLite URL of the app names, in the app, and whether the URL is relative:
    from the app's root (the app server's directory), or from its module's directory when
    joined to a directory."""
    for path, text in modules:
        for line in text.replace("\\\n", " ").splitlines():
            found = SQLITE_URL.search(line)
            named = found and found[3] and re.search(rf"(?m)^{found[3]}\s*=\s*(.+)$", text)
            file = literal(named[1]) if named else found and found[1]
            if isinstance(file, str) and file and ".." not in file and not file.startswith("/"):
                return file.removeprefix("./"), True
            if found and found[2]:
                return (path.parent / found[2]).as_posix(), False
    return None


def _beside(app_dir: Path, package: PurePosixPath) -> PurePosixPath:
    """The directory of a module's files: a package's own, else the one holding the module."""
    return package if (app_dir / package / "__init__.py").is_file() else package.parent


def _migrate(
    app_dir: Path,
    application: str,
    source: str,
    modules: list[tuple[PurePosixPath, str]],
    sqlite_file: str | None,
) -> Migrate | None:
    """Flask-Migrate's upgrade, with its migrations/, else Alembic's, with its scripts, else a
    Flask command making a SQLite database, run while its file is missing or empty."""
    flask = f"flask --app {shlex.quote(application)}"
    if "flask_migrate" in source and (app_dir / "migrations" / "env.py").is_file():
        return Migrate(f"{flask} db upgrade", ("migrations/**",))
    ini = app_dir / "alembic.ini"
    scripts = re.search(r"(?m)^script_location\s*=\s*(?:%\(here\)s/)?([\w./-]+)", _text(ini))
    if scripts:
        return Migrate("alembic upgrade head", (f"{scripts[1].strip('/')}/**", "alembic.ini"))
    for path, text in modules if sqlite_file else ():
        for named, function in DATABASE_COMMAND.findall(text):
            command = named or function.replace("_", "-")
            if MAKES_A_DATABASE.match(command):
                file = shlex.quote(sqlite_file)
                return Migrate(
                    f"test -s {file} || {flask} {command}",
                    (path.as_posix(), f"{path.parent / '**' / '*.sql'}"),
                    sqlite_file,
                )
    return None


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def _modules(app_dir: Path) -> list[tuple[PurePosixPath, str]]:
    """The app's Python files (but tests, migrations, virtualenvs) three directories deep, or
    four in src/ (app/routers/items.py), the likeliest app modules first, with their text."""
    found = [
        PurePosixPath(path.relative_to(app_dir).as_posix())
        for pattern in ("*.py", "*/*.py", "*/*/*.py", "src/*/*.py", "src/*/*/*.py")
        for path in app_dir.glob(pattern)
        if path.is_file()
    ]
    kept = [
        p
        for p in found
        if not any(part.startswith(".") or part in NOT_THE_APP for part in p.parts[:-1])
        and p.name not in ("setup.py", "conftest.py", "manage.py")
        and not p.name.startswith("test")
        and all(name.isidentifier() for name in _named(p).split("."))
    ]

    def likely(path: PurePosixPath) -> tuple:
        rank = MODULE_NAMES.index(path.stem) if path.stem in MODULE_NAMES else len(MODULE_NAMES)
        return len(path.parts) - (path.parts[0] == "src"), rank, path

    return [(p, source_text(app_dir / p)) for p in sorted(kept, key=likely)]


def _named(path: PurePosixPath) -> str:
    """The module a file is imported as (src/ is on the path)."""
    parts = path.parts[1:] if path.parts[0] == "src" else path.parts
    names = [*parts[:-1], *([] if path.stem == "__init__" else [path.stem])]
    return ".".join(names)


def _served(command: str) -> tuple[str, str] | None:
    """(served as, application) of a web server's command line, when it names one."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    named = [word for word in words if APPLICATION_WORD.match(word)]
    if not named:
        return None
    factory = "--factory" in words and not named[0].endswith("()")
    return "asgi" if ASGI_SERVERS.search(command) else "wsgi", named[0] + "()" * factory


def _assigned_app(
    modules: list[tuple[PurePosixPath, str]], path: PurePosixPath, text: str
) -> tuple[str, str, str | None] | None:
    """(served as, application, framework) of a module's `app` or `application` that a
    factory of the app's makes, as Flasky's flasky.py: `app = create_app(os.getenv(...))`."""
    for node in statements(text) or []:
        target = _assigned(node)
        if target in ("app", "application") and isinstance(node.value, ast.Call):
            made = _made_by(modules, path, text, target)[2]
            if made:
                return made[0], f"{_named(path)}:{target}", made[2]
    return None


def _defined(
    path: PurePosixPath, text: str, any_factory: bool = False
) -> tuple[str, str, str] | None:
    """(served as, application, framework) a module makes: `app = Flask(__name__)`, a factory
    (`def create_app():` making one; `any_factory`: one taking arguments too), or wsgi.py's or
    asgi.py's `app`/`application`."""
    module = _named(path)
    body = statements(text) or []
    for node in body:
        target = _assigned(node)
        if target and isinstance(node.value, ast.Call):
            made = APPLICATION_CLASSES.get(_dotted(node.value.func))
            if made:
                return made[0], f"{module}:{target}", made[1]
            if path.stem in ("wsgi", "asgi") and target in ("app", "application"):
                return path.stem, f"{module}:{target}", None
    for node in body:
        if not isinstance(node, ast.FunctionDef):
            continue
        if any_factory or len(node.args.args) == len(node.args.defaults):
            for called in ast.walk(node):
                if isinstance(called, ast.Call) and _dotted(called.func) in APPLICATION_CLASSES:
                    kind, framework = APPLICATION_CLASSES[_dotted(called.func)]
                    return kind, f"{module}:{node.name}()", framework
    return None


def _assigned(node: ast.stmt) -> str | None:
    """The one name a top-level assignment sets."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target = node.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _static(app_dir: Path, package: PurePosixPath, text: str) -> tuple[str, str] | None:
    """(URL, directory) of the static files the app serves itself, when the directory is
    there: Flask's static folder (static/ beside its module), or a StaticFiles mount's (from
    the app's root)."""
    mounted = STATIC_MOUNT.search(text)
    flask = _flask_static(text)
    if mounted:
        url, directory = mounted[1], mounted[2]
    elif flask:
        folder, url = flask
        directory = posixpath.normpath((_beside(app_dir, package) / folder).as_posix())
    else:
        return None
    directory = directory.strip("/").removeprefix("./")
    at_root = not url.strip("/")  # the app's every URL: not nginx's to take
    if at_root or not (app_dir / directory).is_dir() or directory.startswith(".."):
        return None
    return f"{url.rstrip('/')}/", directory


def _flask_static(text: str) -> tuple[str, str] | None:
    """(folder, URL) of a Flask(...) the module makes: its static_folder and static_url_path
    when given as strings ("static" and "/" + its name otherwise); None without a Flask, or
    with static_folder=None."""
    for node in ast.walk(ast.Module(body=statements(text) or [], type_ignores=[])):
        made = isinstance(node, ast.Call) and APPLICATION_CLASSES.get(_dotted(node.func))
        if made and made[1] == "Flask":
            given = {
                k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)
            }
            folder = given.get("static_folder", "static")
            if not isinstance(folder, str):
                return None
            url = given.get("static_url_path")
            return folder, url if isinstance(url, str) else f"/{PurePosixPath(folder).name}"
    return None
