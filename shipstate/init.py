"""`shipstate init`: write shipstate.toml and example inventories for an existing Django project
(or another WSGI/ASGI app: web_app), from what the modules it imports read in its files."""

import json
import re
import shlex
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from importlib import resources
from pathlib import Path, PurePosixPath

from shipstate import app_processes, app_requirements, django_settings, settings_read
from shipstate.app_processes import ASGI_SERVED, SCHEDULER, FrontendBuild
from shipstate.app_requirements import BUILD_ONLY, Pythons
from shipstate.causes import python_2_code
from shipstate.config import (
    CONFIG_FILE,
    SECRETS_PATH,
    Config,
    default_root,
    in_workdir,
    parse_config,
)
from shipstate.django_settings import ASGI_APPLICATION
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
    releases_kept,
)
from shipstate.local_files import write_whole
from shipstate.python_source import python_2_at, source_text
from shipstate.settings_read import (
    COMPRESS_OFFLINE,
    DATABASE_CACHE,
    DEFAULT_STATIC_ROOT,
    LOG_FILE,
    MEDIA_ROOT,
    STATIC_ROOT,
    ServerNames,
)
from shipstate.source import (
    MAKE_A_COMMIT,
    LocalSecrets,
    git_ignores,
    in_git_work_tree,
    sqlite_url_file,
    tracked_files,
)
from shipstate.templates import ALL_TEMPLATES
from shipstate.web_app import FASTAPI_DOCS, PROCFILE_WEB, WebApp, web_app

# the file [secrets] names, written active for variables the app needs
ENV_SECRETS = "secrets/{inventory}.env"
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


@dataclass(frozen=True, kw_only=True)
class Detected:
    name: str
    requirements: str
    health_path: str
    workdir: str | None = None  # where manage.py is, when it is not the app's root
    pythonpath: str | None = None  # where the project's modules are, when not beside manage.py
    settings: str = ""  # (a Django project's)
    settings_paths: tuple[str, ...] = ()  # the settings' files, or their package
    wsgi: str | None = None
    static_root: str | None = None
    sqlite_file: str | None = None
    sqlite_outside: bool = False  # a SQLite database outside the app: still one per host
    media_root: str | None = None
    media_url: str = "/media/"
    static_url: str = "/static/"
    pythons: Pythons = Pythons()
    environment: tuple[str, ...] = ()
    environment_required: tuple[str, ...] = ()  # without a default: [secrets] is written active
    processes: tuple[tuple[str, str], ...] = ()  # (name, command), written commented out
    processes_found_in: str = ""
    notes: tuple[str, ...] = ()
    asgi: str | None = None  # the ASGI application the settings name (Channels)
    build: FrontendBuild | None = None  # the frontend's build a package.json describes
    release: str | None = None  # a Procfile's release command, unless only management commands
    web_steps: tuple[str, ...] = ()  # what its web command runs before the server, as hooks
    translations: tuple[str, ...] = ()  # locale directories whose .po git holds uncompiled
    compile_translations: str = "python manage.py compilemessages"
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
    staging_settings: str | None = None  # the staging module beside the production one
    log_paths: tuple[str, ...] = ()  # what LOGGING writes in the project (shared: "logs/")
    settings_ignored: str | None = None  # the settings' file, when git ignores it (uploaded)
    read_at_start: str | None = None  # a file git ignores that the settings read, from [secrets]
    served_at: ServerNames = ServerNames()
    compress: bool = False  # django-compressor's offline compression, after collectstatic
    cache_table: bool = False  # the cache is in the database: createcachetable
    databases: bool = True  # the settings set DATABASES (else migrate has nothing to migrate)
    # the management commands the former tool ran on each deploy, but those init writes anyway,
    # before collectstatic and after it
    former_before_static: tuple[str, ...] = ()
    former_after_static: tuple[str, ...] = ()
    former_commands_in: str | None = None
    app_server: AppServer | None = None  # the workers and timeout gunicorn (or uWSGI) had
    web: WebApp | None = None  # a project without Django: its application (Flask, FastAPI...)

    @property
    def secrets_read(self) -> str | None:
        """The file the app reads that each release gets from [secrets], unless it needs
        environment variables from there: Flask's instance config, or one the settings read."""
        if self.environment_required:
            return None
        return self.web.instance_config if self.web else self.read_at_start


# the file a project keeps to list the environment variables it expects, without their values
ENV_EXAMPLES = (".env.example", ".env.sample", ".env.template", ".env.dist", "env.example")


def _env_example(app_dir: Path, places: list[Path]) -> str | None:
    """The path of such a file in one of `places` (or their config/), from `app_dir`."""
    directories = [place / below for place in places for below in (".", "config")]
    found = (directory / name for directory in directories for name in ENV_EXAMPLES)
    return next((f.relative_to(app_dir).as_posix() for f in found if f.is_file()), None)


def _sqlite_copied(
    app_dir: Path, places: list[Path], env_example: str | None, local_settings: str | None
) -> tuple[str, str] | None:
    """The SQLite file named where this machine keeps what the servers get from the secrets:
    the DATABASE_URL of the app's .env (else of its example), or the DATABASES of the local
    settings module the settings import (`local_settings`, a relative path only); and what
    names it."""
    if local_settings:
        local = app_dir / local_settings
        found = local.is_file() and settings_read.sqlite_relative(source_text(local))
        return (found, f"the DATABASES of {local_settings}") if found else None
    files = dict.fromkeys([*(place / ".env" for place in places), app_dir / (env_example or ".")])
    for file in (f for f in files if f.is_file()):
        url = LocalSecrets(content=file.read_bytes(), digest="").variables.get("DATABASE_URL")
        if url:
            named = sqlite_url_file(url)
            where = file.relative_to(app_dir).as_posix()
            return (named, f"DATABASE_URL in {where}") if named else None
    return None


def _outside_release(path: str) -> bool:
    return path.startswith("/") or ".." in path.split("/")


def _sqlite_copied_notes(found: tuple[str, str] | None, root: str) -> list[str]:
    if found is None:
        return []
    path, named_by = found
    every_host = (
        "for one database for every host, name a database server in the secrets files and set "
        'the migrate hook\'s run = "once"'
    )
    if _outside_release(path):
        return [
            f"{named_by} is a SQLite file of this machine ({path}): in each inventory's "
            f"secrets file, name one on the servers outside the releases (as "
            f"sqlite:///{root}/shared/db.sqlite3; migrate runs on every host); or {every_host}"
        ]
    return [
        f"{named_by} is SQLite ({path}, in the directory the app runs in: each release's): it "
        "is in `shared`, so the releases of each host keep one database (migrate runs on every "
        f"host); {every_host}"
    ]


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


def _files_read(
    app_dir: Path, paths: list[str], secrets_taken: bool
) -> tuple[str | None, list[str]]:
    """Of the files the settings read as they start (`paths`, in the app or absolute), the one
    git ignores that [secrets] gives each release (unless it gives the environment), and notes
    on those the releases lack."""
    files = [Path(app_dir, path) for path in paths if not path.startswith("/")]
    out_of_git = django_settings.not_in_git(app_dir, files)
    ignored = [path for path in out_of_git if git_ignores(app_dir, path)]
    given = None if secrets_taken or not ignored else ignored[0]
    notes = [
        f"the settings read {path} as they start: each server needs it, readable by the "
        "deploy user (shipstate puts nothing outside the app's root); or read it from the "
        "release, where [secrets] can put it (README: Secrets)"
        for path in paths
        if path.startswith("/")
    ]
    notes += [
        f"the settings read {path} as they start, which git ignores: [secrets] in "
        f"shipstate.toml gives each release its own, from "
        f"{_read_secrets(path).format(inventory='production')} and the like"
        if path == given
        else f"the settings read {path} as they start, which git "
        + ("ignores" if path in ignored else "does not have")
        + ": no release has it; commit it, or give it the servers with [secrets] (README: "
        "Secrets)"
        for path in out_of_git
    ]
    return given, notes


def _below(directory: Path, app_dir: Path) -> Callable[[str], str]:
    """A path in `directory` (the app's, or one in it) as a path in the app."""
    return partial(
        in_workdir,
        None if directory == app_dir else directory.relative_to(app_dir).as_posix(),
    )


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
    app_dir: Path, released: list[str], released_in: str, cache_table: bool, built: bool
) -> FormerCommands:
    """The former tool's (a Procfile's commands, `released`, after them, as `released_in`
    says); `cache_table`: init writes createcachetable; `built`: [build] builds the frontend."""
    commands, found_in = deploy_commands(app_dir) or ((), None)
    if released:  # Heroku's release phase and dynos, which run after its build's collectstatic
        commands = (*commands, "collectstatic", *released)
        found_in = found_in or released_in
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
    procfile = app_processes.read_procfile(app_dir)
    below, deeper = _manage_py(app_dir)
    web = None if below or deeper else web_app(app_dir, procfile.get("web", ""))
    if web:
        return _detect_web_app(app_dir, web, procfile)
    workdir = _workdir(app_dir, below, deeper)
    project = app_dir / workdir if workdir else app_dir
    in_app = partial(in_workdir, workdir)
    used_by_manage, settings_found_so = django_settings.manage_py_settings(project)
    src = django_settings.modules_dir(project, used_by_manage)
    modules = project / src if src else project
    in_modules = _below(modules, app_dir)
    settings_module = django_settings.production_settings(modules, used_by_manage)
    read = django_settings.servers_settings(app_dir, modules, settings_module)
    settings, settings_file, split, ignored = read.text, read.file, read.split, read.uploaded
    configurations = django_settings.configurations(project, settings)
    if configurations:
        settings = django_settings.as_configuration(settings, configurations[1])
    settings = django_settings.as_django_heroku_leaves_them(settings)
    compared = settings_read.production_switch(settings)
    chosen_files = split and split.chosen
    present = None if compared or chosen_files else settings_read.presence_switch(settings)
    settings = settings_read.as_servers_run_them(settings, compared, present)
    asgi = ASGI_APPLICATION.search(settings) or ASGI_SERVED.search(procfile.get("web", ""))
    wsgi = None if asgi else django_settings.wsgi_application(modules, settings_module, settings)
    requirements = app_requirements.requirements_file(app_dir, project, workdir)
    base = django_settings.base_dir(modules, settings_module, settings) or project
    settings += "\n" + django_settings.roots_from_base(settings, settings_file, base)
    below_base = _below(base if base.is_relative_to(app_dir) else project, app_dir)
    health, health_found = settings_read.health_path(
        settings_read.root_urls(modules, settings), settings
    )
    kamal_names, kamal_health = kamal_proxy(app_dir)
    name = _app_name(app_dir, settings_module)[:40]
    settings_variable = (
        (split.variable, split.chosen, "chooses the settings' files")
        if chosen_files
        else compared
        and (*compared[:2], f'the settings compare it with "{compared[1]}"')
        or present
        and (present, "1", "the settings take their production branch when it is set")
    )
    switch = compared if compared and settings_variable[0] == compared[0] else None
    set_in_env = settings_variable and settings_variable[0]
    environment = tuple(v for v in settings_read.environment_read(settings) if v != set_in_env)
    required = () if ignored else settings_read.environment_required(settings)
    required = tuple(v for v in required if v != set_in_env)
    env_example = _env_example(app_dir, [app_dir, project])
    kamal_secret, kamal_clear = kamal_environment(app_dir)
    deployed_to, deploys_to_in = deploys_to(app_dir) or (None, None)
    kept_shared, kept_shared_in = former_shared(app_dir) or ((), None)
    former_root = deployed_to if deployed_to == default_root(name) else None
    root = f"{former_root}-shipstate" if former_root else default_root(name)
    static_root = settings_read.relative_to_base(settings, STATIC_ROOT)
    sqlite_named = settings_read.sqlite_in_project(settings)
    sqlite_by_default = None if sqlite_named else settings_read.sqlite_url_default(settings)
    sqlite_file = sqlite_named or sqlite_by_default
    sqlite_relative = None if sqlite_file else settings_read.sqlite_relative(settings)
    sqlite_outside = (
        None if sqlite_file or sqlite_relative else settings_read.sqlite_outside(settings)
    )
    media_root = settings_read.relative_to_base(settings, MEDIA_ROOT)
    log_files = re.findall(LOG_FILE, settings, re.M)
    log_paths = tuple(
        dict.fromkeys(
            below_base(f"{path.rpartition('/')[0]}/" if "/" in path else path)
            for value in log_files
            if (path := settings_read.below_base(settings, value, 3))
        )
    )
    logs_outside = [m[1] for v in log_files if (m := re.match(r"""["'](/[^"']+)["']""", v))]
    build = app_processes.frontend_build(app_dir)
    built = f"{build.outputs.rstrip('/')}/" if build and build.outputs else None
    files_read = [
        read if read.startswith("/") else (below_base if from_base else in_app)(read)
        for read, from_base in settings_read.files_read(settings)
    ]
    read_at_start, files_read_notes = _files_read(
        app_dir,
        [p for p in files_read if not (built and p.startswith(built))],  # the build makes those
        secrets_taken=bool(ignored or required),
    )
    key_given_by = (
        None
        if ignored or required or read_at_start or _sets_secret_key(settings)
        else next(iter(read.optional_missing), None)
    )
    sqlite_copied = (
        None
        if sqlite_file
        or sqlite_relative
        or sqlite_outside
        or not (key_given_by or "DATABASE_URL" in environment)
        else _sqlite_copied(app_dir, [app_dir, project], env_example, key_given_by)
    )
    copied_in_release = sqlite_copied and not _outside_release(sqlite_copied[0])
    sqlite_in_workdir = sqlite_relative or (copied_in_release and sqlite_copied[0])
    sqlite_shared = (
        below_base(sqlite_file)
        if sqlite_file
        else in_app(sqlite_in_workdir)
        if sqlite_in_workdir
        else None
    )
    shared_in_git = [
        path
        for path in (sqlite_shared, below_base(media_root or "media"))
        if path and tracked_files(app_dir, path)
    ]
    processes, processes_found_in = app_processes.processes_to_run(
        app_dir, procfile, modules, settings_module, settings
    )
    release = procfile.get("release", "")
    release_commands = management_commands_only(release)
    release_hook = None if release_commands is not None else release or None
    steps = app_processes.web_steps(procfile.get("web", ""), "")
    step_commands = management_commands_only(" && ".join(steps))
    step_hooks = () if step_commands else steps  # but management commands, as the release's
    translations = app_processes.translations(app_dir)
    requirements_text = app_requirements.read_requirements(app_dir / requirements)
    pythons = app_requirements.find_pythons(
        app_dir, [app_dir, project], requirements, requirements_text
    )
    server_needs = app_requirements.needing_server_packages(
        requirements_text, pythons.minor, settings
    )
    listed = {
        p
        for needed in app_requirements.packages(server_needs, translations).values()
        for p in needed
    }
    in_image = [
        p for p in dockerfile_packages(app_dir) if p not in listed and not BUILD_ONLY.fullmatch(p)
    ]
    cache_table = bool(DATABASE_CACHE.search(settings))
    databases = not settings or "DATABASES" in settings
    former = _former_commands(
        app_dir,
        [*(release_commands or []), *(step_commands or [])],
        "the Procfile's release" if release_commands else "the Procfile's web command",
        cache_table,
        bool(build),
    )
    compress = former.compressed or bool(COMPRESS_OFFLINE.search(settings))
    allowed_hosts = settings_read.allowed_hosts(settings)
    served_at = settings_read.server_names(app_dir, allowed_hosts, kamal_names)
    staging = django_settings.staging_settings(modules, settings_module)
    if staging and not served_at.staging:
        staged = settings_read.allowed_hosts(
            django_settings.servers_settings(app_dir, modules, staging).text
        )
        names = tuple(name for name in staged.domains if name not in staged.platforms)
        if names and names != served_at.names:
            served_at = replace(
                served_at, staging=names, staging_found_in=f"{staging}'s ALLOWED_HOSTS"
            )
    served = f"{(wsgi.rpartition(':')[0] if wsgi else asgi[1]).replace('.', '/')}.py"
    return Detected(
        name=name,
        workdir=workdir,
        pythonpath=in_app(src) if src else None,
        settings=settings_module,
        settings_paths=tuple(
            map(in_modules, django_settings.settings_paths(modules, settings_module, read.files))
        ),
        wsgi=wsgi,
        asgi=f"{asgi[1]}:{asgi[2] or 'application'}" if asgi else None,
        requirements=requirements,
        static_root=static_root and below_base(static_root),
        sqlite_file=sqlite_shared,
        sqlite_outside=bool(sqlite_outside or sqlite_copied),
        media_root=media_root and below_base(media_root),
        media_url=settings_read.url_setting(settings, "MEDIA_URL", "/media/"),
        static_url=settings_read.url_setting(settings, "STATIC_URL", "/static/"),
        health_path=kamal_health or health,
        pythons=pythons,
        environment=environment,
        environment_required=required,
        processes=processes,
        processes_found_in=processes_found_in,
        build=build,
        releases_kept=releases_kept(app_dir),
        root=root if former_root else None,
        kamal_secret=kamal_secret,
        kamal_clear=tuple(kamal_clear.items()),
        former_shared=kept_shared,
        former_shared_in=kept_shared_in,
        configuration=configurations and configurations[1],
        settings_variable=settings_variable,
        staging_value=switch and switch[2],
        staging_settings=staging,
        log_paths=log_paths,
        settings_ignored=ignored,
        read_at_start=read_at_start or key_given_by,
        served_at=served_at,
        app_server=_former_app_server(app_dir),
        compress=compress,
        cache_table=cache_table,
        databases=databases,
        former_before_static=former.before_static,
        former_after_static=former.after_static,
        former_commands_in=former.found_in if former.before_static or former.after_static else None,
        release=release_hook,
        web_steps=step_hooks,
        translations=translations,
        server_needs=server_needs,
        notes=(
            *(
                [
                    f"manage.py uses {used_by_manage}; the servers get {settings_module}"
                    + (f", the staging inventory's {staging}" if staging else "")
                ]
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
            *django_settings.split_settings_notes(split),
            *(
                [
                    f'the settings compare {switch[0]} with "{switch[1]}": the servers get '
                    f'{switch[0]} = "{switch[1]}" in [env]'
                    + (f', staging\'s "{switch[2]}"' if switch[2] else "")
                ]
                if switch
                else []
            ),
            *django_settings.settings_forced(
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
            *settings_read.setting_notes(
                settings, settings_module, not ignored, bool(read.optional_missing)
            ),
            *settings_read.allowed_hosts_notes(allowed_hosts, served_at),
            *django_settings.out_of_git_notes(read),
            *files_read_notes,
            *(
                _optional_settings_note(path, path == key_given_by)
                for path in read.optional_missing
            ),
            *app_requirements.requirements_notes(app_dir, requirements, requirements_text, pythons),
            *_python_2_notes(app_dir, read.files),
            *app_requirements.removed_notes(app_dir, requirements, requirements_text, pythons),
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
            *settings_read.static_notes(settings, static_root),
            *settings_read.media_notes(settings, app_dir),
            *settings_read.sqlite_notes(sqlite_outside, settings, root),
            *_sqlite_copied_notes(sqlite_copied, root),
            *settings_read.database_notes(settings),
            *(
                f"the settings the servers get name {module}, whose package ({package}) the "
                "requirements lack: the app would not start there; name it in the development "
                f"settings only (INSTALLED_APPS, MIDDLEWARE, the URLconf), or require {package}"
                for module, package in app_requirements.development_tools(
                    settings, requirements_text
                )
            ),
            *(
                f"git tracks {path}, which each host keeps in its shared dir instead (it "
                f"outlives releases): what the commit holds there is not deployed; `git rm -r "
                f"--cached {path}` and add it to .gitignore (put files the app needs "
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
            *app_requirements.server_needs_notes(server_needs),
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
            *_web_steps_notes(step_hooks),
            *(
                []
                if databases
                else [
                    "the settings set no DATABASES: the migrate hook is written commented out "
                    "(Django would refuse to run it without a database)"
                ]
            ),
            *app_processes.processes_notes(processes, processes_found_in),
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
            *_tracked_env_notes(
                app_dir, settings, "the settings load", bool(required) and not ignored
            ),
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
    requirements = app_requirements.requirements_file(app_dir, app_dir, None)
    requirements_text = app_requirements.read_requirements(app_dir / requirements)
    pythons = app_requirements.find_pythons(app_dir, [app_dir], requirements, requirements_text)
    package = web.application.partition(":")[0].split(".")[0]
    processes, processes_found_in = app_processes.processes_to_run(
        app_dir, procfile, app_dir, package, ""
    )
    if not processes and web.celery:
        module, processes_found_in = web.celery
        processes = (("worker", f"celery -A {module} worker -l info"),)
    chosen = web.config_chosen
    in_env = chosen[0] if chosen else None
    environment = tuple(v for v in settings_read.environment_read(web.source) if v != in_env)
    required = tuple(v for v in settings_read.environment_required(web.source) if v != in_env)
    server_needs = app_requirements.needing_server_packages(requirements_text, pythons.minor)
    build = app_processes.frontend_build(app_dir)
    static_url, static_root = web.static or ("/static/", None)
    # a release command upgrading the database (flask db upgrade): the migrate hook does
    upgrade = re.compile(r"\b(?:db|alembic) upgrade\b" if web.migrate else r"(?!)")
    release = None if upgrade.search(procfile.get("release", "")) else procfile.get("release")
    steps = app_processes.web_steps(procfile.get("web", ""), web.application)
    steps = tuple(step for step in steps if not upgrade.search(step))
    # Flask-Babel's translations, unless a step compiles them (microblog's `flask translate
    # compile`)
    compiled = "flask_babel" not in web.source or any("compile" in step for step in steps)
    translations = () if compiled else app_processes.translations(app_dir)
    served = f"{web.framework + ' ' if web.framework else ''}{web.kind.upper()} app"
    return Detected(
        name=_app_name(app_dir, package)[:40],
        pythonpath=web.pythonpath,
        wsgi=web.application if web.kind == "wsgi" else None,
        asgi=web.application if web.kind == "asgi" else None,
        requirements=requirements,
        static_root=static_root,
        sqlite_file=web.sqlite_file,
        static_url=static_url,
        health_path=web.health_path or "/",
        pythons=pythons,
        environment=environment,
        environment_required=required,
        processes=processes,
        processes_found_in=processes_found_in,
        build=build,
        release=release or None,
        web_steps=steps,
        translations=translations,
        compile_translations=" && ".join(
            f"pybabel compile -d {shlex.quote(directory)}" for directory in translations
        ),
        server_needs=server_needs,
        app_server=_former_app_server(app_dir),
        web=web,
        settings_variable=chosen and (*chosen, "the app's production config"),
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
                    f"the app picks its config by {chosen[0]}: the servers get {chosen[0]} = "
                    f'"{chosen[1]}" in [env]'
                ]
                if chosen
                else []
            ),
            *(
                [
                    'no health route (healthz, health, ping) found: health_path = "/" must '
                    "answer 200 to anyone; if it does not, add a route that does (e.g. "
                    "/healthz) and set health_path to it"
                ]
                if web.health_path in (None, "/")
                else [
                    "no health route (healthz, health, ping) nor / found: health_path = "
                    f'"{FASTAPI_DOCS}", FastAPI\'s docs page, answers while the app runs; a route '
                    "checking what it needs too (its database...) makes a better one (e.g. "
                    "/healthz)"
                ]
                if web.health_path == FASTAPI_DOCS
                else []
            ),
            *(
                [f"nginx serves {static_url} from {static_root}, as the app does"]
                if static_root
                else []
            ),
            *(
                [
                    f"the app reads {web.instance_config} when there is one: [secrets] in "
                    f"shipstate.toml gives each release its own, from "
                    f"{_read_secrets(web.instance_config).format(inventory='production')} "
                    "and the like (with SECRET_KEY = '...', a new one, as `python3 -c 'import "
                    "secrets; print(secrets.token_hex())'` prints), so the folder is not in "
                    "`shared`"
                ]
                if web.instance_config and not required
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
                    f"a hook runs `{web.migrate.command}`: it makes the database on each host "
                    f"while {web.migrate.made_once} is missing or empty, so once (run again, "
                    "the command would make it anew); change its tables there yourself "
                    "(`shipstate run -i INV --all -- ...`)"
                ]
                if web.migrate and web.migrate.made_once
                else [
                    f"a hook runs `{web.migrate.command}` for each release that changes "
                    f"{' or '.join(web.migrate.inputs)}, before it goes live"
                ]
                if web.migrate
                else []
            ),
            *app_requirements.requirements_notes(app_dir, requirements, requirements_text, pythons),
            *app_requirements.server_needs_notes(server_needs),
            *(
                [
                    "the Procfile's release command is a hook in shipstate.toml, run for each "
                    "release before it goes live"
                ]
                if release
                else []
            ),
            *_web_steps_notes(steps),
            *(
                [
                    "git holds translations (.po) without their compiled .mo: a hook in "
                    "shipstate.toml compiles them with pybabel in each release"
                ]
                if translations
                else []
            ),
            *app_processes.processes_notes(processes, processes_found_in),
            *_environment_notes(
                "the app reads", environment, _env_example(app_dir, [app_dir]), required
            ),
            *_tracked_env_notes(app_dir, web.source, "the app loads", bool(required)),
            *([] if web.instance_config else settings_read.secret_key_notes(web.source)),
        ),
    )


def _sets_secret_key(settings: str) -> bool:
    return bool(re.search(r"^SECRET_KEY\s*=", settings, re.M))


def _optional_settings_note(path: str, written: bool) -> str:
    """On a settings module the settings import when there is one, which git has not;
    `written`: init's [secrets] gives each release one."""
    file = _read_secrets(path)
    said = f"the settings import {path} when there is one, and git has none"
    if not written:
        return (
            f"{said}: the releases run without it; if the servers need one, give it them with "
            f'[secrets] in shipstate.toml (file = "{file}", path = "{path}", environment = false; '
            "README: Secrets)"
        )
    return (
        f"{said}, and the settings set no SECRET_KEY without it: shipstate.toml's [secrets] "
        f"gives each release one from {file.format(inventory='sandbox')} (and the like for each "
        "inventory): write it as a copy of yours with DEBUG = False and the servers' own "
        "SECRET_KEY, ALLOWED_HOSTS and DATABASES (with SQLite, a file in the project must be in "
        "`shared` too, or each release gets an empty one, and the migrate hook must run = "
        '"every-host")'
    )


def _python_2_notes(app_dir: Path, files: tuple[Path, ...]) -> list[str]:
    """The first of the settings' files that is Python 2 code, named."""
    for path in files:
        found = python_2_at(source_text(path))
        if found:
            return [python_2_code(path.relative_to(app_dir).as_posix(), str(found[0]), found[1])]
    return []


def _web_steps_notes(steps: tuple[str, ...]) -> list[str]:
    if not steps:
        return []
    return [
        f"the Procfile's web command runs {' and '.join(f'`{s}`' for s in steps)} before its "
        + ("server: a hook runs it" if len(steps) == 1 else "server: hooks run them")
        + " in each release on every host before it goes live"
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
        else f'env = {{ DJANGO_SETTINGS_MODULE = "{found.staging_settings}" }}'
        if found.staging_settings
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
    each_host = found.sqlite_file or found.sqlite_outside or (found.web and found.web.sqlite)
    hooks_run = "every-host" if each_host else "once"
    body_size = found.served_at.body_size
    django = found.web is None
    secrets_file = _secrets_file(found)
    needed = app_requirements.packages(found.server_needs, django and found.translations)
    packages = list(dict.fromkeys(p for names in needed.values() for p in names))
    static_root = found.static_root or in_workdir(found.workdir, DEFAULT_STATIC_ROOT)
    reader = "The settings" if django else "The app's modules"
    media = found.media_root or (in_workdir(found.workdir, "media") if django else None)
    shared = [f"{media}/"] if media else []
    if found.web and found.web.instance:
        shared.append(found.web.instance)
    shared += found.web.instance_dirs if found.web else ()
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
            [
                ("# " if pythons.pinned_older else "")
                + f'python = "{pythons.command}"   # as {pythons.named_by} says'
                + (", if the servers have it" if pythons.pinned_older else ": the servers need it")
            ]
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
                (
                    f"# The settings read {found.secrets_read}, which git has not: each"
                    if django
                    else f"# The app reads {found.secrets_read} from its instance folder when "
                    "there is one: each"
                ),
                "# release gets it from a local file per inventory, as "
                f"{secrets_file.format(inventory='production')}",
                "# (never committed; README: Secrets):",
                "[secrets]",
                f'file = "{secrets_file}"',
                f'path = "{found.secrets_read}"',
                "environment = false",
            ]
            if secrets_file != ENV_SECRETS
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
    elif found.settings_variable:
        lines += ["", "[env]", '{} = "{}"   # {}'.format(*found.settings_variable)]
    if not django and found.web.migrate:
        lines += [
            "",
            *HOOKS_SKIPPED,
            "[[hooks]]",
            f"command = {json.dumps(found.web.migrate.command)}",
            f'run = "{hooks_run}"   # every-host: SQLite on each host; once: a shared database',
            f"inputs = {json.dumps(found.web.migrate.inputs)}",
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
            f"command = {json.dumps(found.compile_translations)}",
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
    for step in found.web_steps:
        lines += [
            "",
            "# Run by the Procfile's web command before its server, so for each release:",
            "[[hooks]]",
            f"command = {json.dumps(step)}",
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
        *([] if found.databases else ["# The settings set no DATABASES: uncomment once they do."]),
        *(
            line if found.databases else f"# {line}"
            for line in (
                "[[hooks]]",
                'command = "python manage.py migrate --noinput"',
                f'run = "{hooks_run}"   # every-host: SQLite on each host; once: a shared database',
                f"inputs = {json.dumps(['**/migrations/*.py', *found.settings_paths])}",
            )
        ),
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
    local_copy: str | None = None  # this machine's file, out of git, to start them from
    made: str | None = None  # the secrets files' directory, made for them
    secrets_file: str = ENV_SECRETS  # the file [secrets] names, when active
    secrets_read: str | None = None  # where the app reads it, when not from the environment


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
    notes = (*found.notes, *_tracked_environments(app_dir), *hosts_notes, *outside_git)
    file = _secrets_file(found)
    # the Flask tutorial's SECRET_KEY = "dev" until the instance config sets another
    key = ("SECRET_KEY",) if found.web and "SECRET_KEY" in found.web.source else ()
    needed = found.environment_required or (key if file != ENV_SECRETS else ())
    return Written(
        list(wanted),
        kept,
        notes,
        taken,
        _ignore_secrets(app_dir),
        config.packages,
        needed,
        _local_copy(app_dir, found),
        _secrets_dir(app_dir) if needed or file != ENV_SECRETS else None,
        file,
        found.secrets_read,
    )


def _secrets_file(found: Detected) -> str:
    """The file init's [secrets] names: for a file the app reads, its own; else KEY=VALUE
    lines."""
    return _read_secrets(found.secrets_read) if found.secrets_read else ENV_SECRETS


def _read_secrets(config: str) -> str:
    return f"secrets/{{inventory}}_{PurePosixPath(config).name}"


def _tracked_environments(app_dir: Path) -> list[str]:
    """A virtualenv or node_modules git tracks, which every release would upload for nothing."""
    venvs = [PurePosixPath(p).parent.as_posix() for p in tracked_files(app_dir, "*pyvenv.cfg")]
    modules = {p.partition("node_modules/")[0] for p in tracked_files(app_dir, "*node_modules/*")}
    found = [
        *((f"{path}/", "a virtualenv (the servers build their own)") for path in venvs),
        *((f"{path}node_modules/", "the frontend's packages") for path in sorted(modules)),
    ]
    return [
        f"git tracks {path}, {what}: every release would upload it; `git rm -r --cached "
        f"{shlex.quote(path)}`, add it to .gitignore and commit"
        for path, what in found
    ]


def _local_copy(app_dir: Path, found: Detected) -> str | None:
    """The file the app reads from [secrets] when this machine has one (git does not); else the
    app's .env when git does not track it and it sets all the variables the app needs."""
    read = found.secrets_read
    if read and (app_dir / read).is_file() and not tracked_files(app_dir, read):
        return read
    needed = found.environment_required
    env = app_dir / ".env"
    if not needed or not env.is_file() or tracked_files(app_dir, ".env"):
        return None
    names = LocalSecrets(content=env.read_bytes(), digest="").names
    return ".env" if set(needed) <= names else None


# django-environ's read_env(), python-dotenv's load_dotenv() or dotenv_values(), python-decouple
LOADS_DOTENV = re.compile(r"\b(read_env|load_dotenv|dotenv_values)\(|\b(decouple)\b")


def _tracked_env_notes(app_dir: Path, source: str, who: str, secrets: bool) -> list[str]:
    """A .env git tracks that `source` (the settings', the app's) loads, as `who` says: the
    servers get it, but where the `secrets` file written active takes its place."""
    loader = LOADS_DOTENV.search(source)
    if not loader:
        return []
    everywhere = tracked_files(app_dir, ":(glob)**/.env")
    tracked = [path for path in everywhere if not (secrets and path == SECRETS_PATH)]
    if not tracked:
        return []
    names = set().union(
        *(
            LocalSecrets(content=(app_dir / p).read_bytes(), digest="").names
            for p in tracked
            if (app_dir / p).is_file()
        )
    )
    return [
        f"git tracks {', '.join(tracked)}, which {who} ({loader[1] or loader[2]}): each "
        "release holds it, so the servers get what it sets wherever their environment does not"
        + (f" ({', '.join(sorted(names))})" if names else "")
        + f": take it out of git (`git rm --cached {tracked[0]}`, and .env in .gitignore; it "
        "stays in git's history: change the secrets it held) and give the servers their values "
        "in the secrets file"
    ]


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
