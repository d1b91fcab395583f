"""What a Django project's settings say that a deploy needs: its paths, the environment they
read, the names it is served at, its health route; and what init notes about them."""

import posixpath
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shipstate.config import Config
from shipstate.django_settings import PRODUCTION_VALUE
from shipstate.former_tool import kamal_proxy, nginx_site
from shipstate.python_source import INDENTED_LINE, literal
from shipstate.source import tracked_files


@dataclass(frozen=True)
class ServerNames:
    names: tuple[str, ...] = ()  # the domains Kamal's proxy, an nginx site or ALLOWED_HOSTS lists
    found_in: str = "ALLOWED_HOSTS"
    staging: tuple[str, ...] = ()  # Kamal's staging destination's proxy's, or staging.* domains
    body_size: tuple[str, str] | None = None  # nginx's client_max_body_size, and its file
    staging_found_in: str = "config/deploy.staging.yml's proxy"


STATIC_ROOT = r"^STATIC_ROOT\s*=\s*(.+)$"
DEFAULT_STATIC_ROOT = Config.model_fields["static_root"].default
MEDIA_ROOT = r"^MEDIA_ROOT\s*=\s*(.+)$"
SQLITE_NAME = r"['\"]NAME['\"]\s*:\s*(.*BASE_DIR.*)$"
# a LOGGING handler's file: "filename": BASE_DIR / "logs" / "app.log"
LOG_FILE = r"['\"]filename['\"]\s*:\s*(.+)$"
# os.environ["X"], os.environ.get("X"), os.getenv("X"), env("X"), env.bool("X"), config("X")
ENVIRONMENT_READ = (
    r"(?:environ\.get\(|environ\[|getenv\(|\benv(?:\.\w+)?\(|\bconfig\()\s*['\"](\w+)['\"]"
)
# a key each process makes as it starts: get_random_secret_key(), os.urandom(24),
# secrets.token_hex(), get_random_string(50), uuid.uuid4()
RANDOM_KEY = re.compile(
    r"\b(?:get_random_secret_key|urandom|token_(?:hex|urlsafe|bytes)|get_random_string|uuid4)\("
)
EACH_PROCESS = (
    "each app server process (gunicorn's workers, every release's) would make its own: logins "
    "and signed cookies fail between them and at each deploy"
)
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
        "SECRET_KEY",
        rf"(?!.*{ENVIRONMENT_READ}).*{RANDOM_KEY.pattern}",
        f"SECRET_KEY is a random key: {EACH_PROCESS}; read it from the environment, e.g. "
        'os.environ["SECRET_KEY"], and keep it in a secrets file (README: Secrets)',
    ),
    (
        "SECURE_SSL_REDIRECT",
        r"(?!False\b)",
        "SECURE_SSL_REDIRECT may be on: the app then redirects plain HTTP to HTTPS; give nginx "
        "a certificate with [tls] in shipstate.toml (README: HTTPS), or turn it off",
    ),
    (
        "CSRF_COOKIE_SECURE",
        r"(?!False\b)",
        "CSRF_COOKIE_SECURE may be on: over plain HTTP (the sandbox, or servers before [tls]) "
        "browsers keep no CSRF cookie, so forms, the admin's login among them, fail with 403; "
        "give nginx a certificate with [tls] in shipstate.toml (README: HTTPS)",
    ),
    (
        "SESSION_COOKIE_SECURE",
        r"(?!False\b)",
        "SESSION_COOKIE_SECURE may be on: over plain HTTP browsers keep no session cookie, so "
        "a login (the admin's) leads back to the login page; give nginx a certificate with "
        "[tls] in shipstate.toml (README: HTTPS)",
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
RAW_STRING_READ = re.compile(  # os.environ.get("X", "default") as it is: a string
    r"""^(?:os\.)?(?:environ\.get\(|getenv\(|environ\[)\s*['"]\w+['"]\s*"""
    r"""(?:,\s*['"][^'"]*['"]\s*)?[)\]]\s*(?:#.*)?$"""
)
# a key in the code where the environment has none: os.environ.get("SECRET_KEY", "dev-key"),
# env("KEY", default="x"), os.environ.get("SECRET_KEY") or "x"
KEY_FALLBACK = re.compile(
    r"""(?:default\s*=\s*|['"]\w+['"]\s*,\s*|\bor\s+)r?['"][^'"]+['"]\s*(?:[,)#]|$)"""
)
# the app's key set (SECRET_KEY = ..., SECRET_KEY="dev", app.config["SECRET_KEY"] = ...,
# app.secret_key = ...): what it is set to
KEY_SET = re.compile(r"""(?:\bSECRET_KEY\b(?:['"]\])?|\.secret_key)\s*=\s*(.+)""")
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
            # the MDN tutorial's os.environ.get("DJANGO_DEBUG", "") != "False": on when unset
            r"""|\(\s*['"]\w+['"]\s*(?:,\s*['"](?P<default>[^'"]*)['"]\s*)?\)\s*!=\s*"""
            r"""['"](?!(?P=default)['"])"""
        ),
        "DEBUG is on unless the environment's {0} turns it off: visitors would see tracebacks; "
        "set {0}=False in each inventory's secrets file, or default it to off",
    ),
    (
        "SECRET_KEY",
        RANDOM_KEY,
        f"SECRET_KEY falls back to a random key when the environment has no {{0}}: "
        f"{EACH_PROCESS}; set {{0}} in each inventory's secrets file (README: Secrets)",
    ),
    (
        "SECRET_KEY",
        KEY_FALLBACK,
        "SECRET_KEY falls back to a key written in the settings, so in git, when the environment "
        "has no {0}: set {0} in each inventory's secrets file (README: Secrets)",
    ),
)


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


def allowed_hosts(settings: str) -> AllowedHosts:
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


def server_names(app_dir: Path, allowed: AllowedHosts, kamal_names: tuple[str, ...]) -> ServerNames:
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


def allowed_hosts_notes(allowed: AllowedHosts, served_at: ServerNames) -> list[str]:
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


def setting_notes(
    settings: str, module: str, in_git: bool, optional_missing: bool = False
) -> tuple[str, ...]:
    """On the settings' values; on those they lack, but when a settings file they import when
    there is one may set them (`optional_missing`: its note says so)."""
    notes = []
    for name, bad, note in SETTING_NOTES:
        values = re.findall(rf"^{name}\s*=\s*(.+)$", settings, re.M)
        if values and re.match(bad, values[-1]) and (in_git or name != "SECRET_KEY"):
            notes.append(note)
    for name, without in UNSET_SETTINGS if settings and not optional_missing else ():
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


def secret_key_notes(source: str) -> list[str]:
    """The key an app without Django signs its sessions with, when its modules write it (and
    set none from the environment alone, as a production config class beside a test one)."""
    values = KEY_SET.findall(_fields_read(source))
    fallback = (KEY_FALLBACK, RANDOM_KEY)
    if any(
        re.search(ENVIRONMENT_READ, v) and not any(f.search(v) for f in fallback) for v in values
    ):
        return []
    for value in values:
        read = re.search(ENVIRONMENT_READ, value)
        if read and RANDOM_KEY.search(value):
            return [
                f"SECRET_KEY falls back to a random key when the environment has no {read[1]}: "
                f"{EACH_PROCESS}; set {read[1]} in each inventory's secrets file (README: Secrets)"
            ]
        if RANDOM_KEY.search(value):
            return [
                f"SECRET_KEY is a random key: {EACH_PROCESS}; read it from the environment, e.g. "
                'os.environ["SECRET_KEY"], and keep it in a secrets file (README: Secrets)'
            ]
        if read and KEY_FALLBACK.search(value):
            return [
                f"SECRET_KEY falls back to a key written in the app, so in git, when the "
                f"environment has no {read[1]}: set {read[1]} in each inventory's secrets file "
                "(README: Secrets)"
            ]
        if re.match(r"""r?['"][^'"]+['"]""", value):
            return [
                "SECRET_KEY is written in the app, so in git: whoever reads it can sign the "
                "app's sessions (log in as anyone); read it from the environment, e.g. "
                'os.environ["SECRET_KEY"], and keep it in a secrets file (README: Secrets)'
            ]
    return []


STATICFILES_DIRS = re.compile(r"^STATICFILES_DIRS\s*=\s*[\[(](.*?)[\])]\s*$", re.M | re.S)


def static_notes(settings: str, static_root: str | None) -> list[str]:
    if "django.contrib.staticfiles" not in settings:
        return []
    if static_root:
        listed = STATICFILES_DIRS.findall(settings)
        items = _items(listed[-1]) if listed else []
        if static_root.rstrip("/") in (below_base(settings, item, 3) for item in items):
            return [
                f"STATIC_ROOT ({static_root}) is in STATICFILES_DIRS too: Django refuses it "
                "(staticfiles.E002), so the collectstatic hook would fail every apply; set "
                f'STATIC_ROOT = BASE_DIR / "{DEFAULT_STATIC_ROOT}" in the settings, and '
                f'static_root = "{DEFAULT_STATIC_ROOT}" in shipstate.toml'
            ]
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


# apps whose models keep files in MEDIA_ROOT (uploads, or thumbnails made of them)
UPLOADING_APPS = re.compile(
    r"""["'](oscar|wagtail\.(?:images|documents)|filer|photologue|ckeditor_uploader|"""
    r"""django_summernote|avatar|markdownx|sorl\.thumbnail|easy_thumbnails|imagekit)[."']"""
)


def media_notes(settings: str, app_dir: Path) -> list[str]:
    outside = _outside_app(settings, MEDIA_ROOT)
    uploads = (
        []
        if re.search(MEDIA_ROOT, settings, re.M)
        else _file_fields(app_dir)
        or [f"{app} (in INSTALLED_APPS)" for app in UPLOADING_APPS.findall(settings)]
    )
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


# a key's value in a database of DATABASES, as written
DATABASE_KEY = r"['\"]{}['\"]\s*:\s*(.+?),?\s*$"
SQLITE_NAME_ANY = DATABASE_KEY.format("NAME")


def _databases(settings: str) -> str:
    """The text of the last DATABASES the settings set, without its comment lines (Mezzanine's
    `# Ends with "postgresql_psycopg2", "mysql", "sqlite3" or "oracle".`)."""
    blocks = re.findall(r"^DATABASES\s*=.*?(?=^\S|\Z)", settings, re.M | re.S)
    return re.sub(r"(?m)^[ \t]*#.*\n", "", blocks[-1]) if blocks else ""


def sqlite_outside(settings: str) -> tuple[str, bool] | None:
    """The SQLite database's file when DATABASES names it, but not as a file in the project,
    and whether outside the app: an absolute path, or one above BASE_DIR (the Goat's
    os.path.join(BASE_DIR, "../database/db.sqlite3")); else what init cannot place (the Goat's
    db_path, read from the environment)."""
    databases = _databases(settings)
    if "sqlite3" not in databases:
        return None
    outside = _outside_app(databases, SQLITE_NAME_ANY)
    names = re.findall(SQLITE_NAME_ANY, databases, re.M)
    return (outside, True) if outside else (names[-1].strip(), False) if names else None


def sqlite_in_project(settings: str) -> str | None:
    """The SQLite database's file in the project: a NAME made of BASE_DIR, or (in DATABASES)
    of another root (os.path.join(PROJECT_ROOT, "dev.db"))."""
    named = relative_to_base(settings, SQLITE_NAME) if "sqlite3" in settings else None
    databases = _databases(settings)
    names = re.findall(SQLITE_NAME_ANY, databases, re.M) if "sqlite3" in databases else []
    return named or (below_base(settings, names[-1], 3) if names else None)


def sqlite_relative(settings: str) -> str | None:
    """The SQLite database's file when DATABASES names it as a relative path, which is then
    relative to the directory the app runs in (Mezzanine's local_settings.py: "dev.db")."""
    databases = _databases(settings)
    names = re.findall(r"""['"]NAME['"]\s*:\s*r?(['"])([^'"\n]*)\1""", databases)
    name = names[-1][1] if names and "sqlite3" in databases else ""
    if not name or name.startswith(("/", ":memory:", "file:")) or ".." in name.split("/"):
        return None
    return posixpath.normpath(name)


def database_notes(settings: str) -> list[str]:
    """On a database server DATABASES names on each server itself (HOST localhost), and a
    password written in the settings."""
    databases = _databases(settings)
    engine = re.search(r"['\"]ENGINE['\"]\s*:\s*['\"]([\w.]+)['\"]", databases)
    if engine is None or engine[1].endswith("sqlite3"):
        return []
    notes = (
        [
            "ENGINE django.db.backends.postgresql_psycopg2 is gone since Django 3.0, which "
            "refuses it: write django.db.backends.postgresql"
        ]
        if engine[1].endswith("postgresql_psycopg2")
        else []
    )
    local = _last_literal(databases, "HOST")
    if local in ("localhost", "127.0.0.1", "::1"):
        notes.append(
            f"the database ({engine[1].rsplit('.', 1)[-1]}) is on each server itself (HOST "
            f"{local}): it must be installed and running there (bootstrap does not), and with "
            "more than one host each would keep data of its own; for one database the hosts "
            "share, name its server in HOST"
        )
    if _last_literal(databases, "PASSWORD"):
        notes.append(
            "the database's PASSWORD is written in the settings, so in git: read it from the "
            'environment, e.g. os.environ["DB_PASSWORD"], and keep it in a secrets file '
            "(README: Secrets)"
        )
    return notes


def _last_literal(databases: str, key: str) -> object:
    """The value of the last `key` the databases give, when written as a literal."""
    values = re.findall(DATABASE_KEY.format(key), databases, re.M)
    return literal(values[-1]) if values else None


def sqlite_notes(found: tuple[str, bool] | None, settings: str, root: str) -> list[str]:
    if found is None:
        return []
    name, outside = found
    keep = (
        'put it in the project (NAME = BASE_DIR / "db.sqlite3"), which shipstate keeps in each '
        "host's shared dir"
    )
    if outside and name.startswith("/"):
        return [
            f"the SQLite database is {name}, outside the app: each server needs its "
            f"directory, writable by the deploy user (shipstate makes nothing there); or {keep}"
        ]
    if outside:
        return [
            f"the SQLite database is {name}, outside the project: on the servers that is "
            f"below the releases' directory, where no release has it, so migrate fails; {keep}"
        ]
    assigned = "\n".join(re.findall(rf"^{re.escape(name)}\s*=\s*(.+)$", settings, re.M))
    read = re.findall(ENVIRONMENT_READ, assigned or name)
    where = f"named by the environment's {read[-1]}" if read else name
    return [
        f"the SQLite database's file is {where}: each host keeps its own there (migrate runs on "
        "every host); name a file outside the release, which the next deploy replaces (as "
        f"{root}/shared/db.sqlite3), or {keep}"
    ]


def _outside_app(settings: str, pattern: str) -> str | None:
    """The setting's last value when it names a place outside the app: an absolute path, or
    one above its root (BASE_DIR.parent / "media")."""
    values = re.findall(pattern, settings, re.M)
    value = literal(values[-1]) if values else None
    if isinstance(value, str):
        return value if value.startswith("/") else None
    return values[-1].strip() if values and _above_root(values[-1]) else None


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


# pydantic-settings' class: its fields are variables of the environment (with its prefix)
SETTINGS_CLASS = re.compile(
    rf"^(class\s+\w+\(\s*(?:[\w.]*\.)?BaseSettings\s*\):[^\n]*\n)({INDENTED_LINE}*)", re.M
)
SETTINGS_FIELD = re.compile(r"^([ \t]+)([a-zA-Z]\w*)\s*:\s*([^=\n]+?)[ \t]*(?:=[ \t]*(.*))?$", re.M)


def _fields_read(settings: str) -> str:
    """The settings with pydantic-settings' fields written as the reads of the environment
    they are (their names in capitals, after the class's env_prefix): `database_url: str` as
    `database_url = os.environ["DATABASE_URL"]`, `debug: bool = False` as `debug =
    os.environ.get("DEBUG", False)`."""

    def read(settings_class: re.Match) -> str:
        body = settings_class[2]
        prefix = re.search(r"""env_prefix\s*[=:]\s*["'](\w*)["']""", body)
        indent = min((len(f[1]) for f in SETTINGS_FIELD.finditer(body)), default=0)

        def field(found: re.Match) -> str:
            spaces, name, kind, default = found.groups()
            if len(spaces) != indent or name == "model_config" or "ClassVar" in kind:
                return found[0]
            variable = f"{prefix[1] if prefix else ''}{name}".upper()
            if not default or re.match(r"Field\(\s*(?:\.\.\.|\))", default):
                return f'{spaces}{name} = os.environ["{variable}"]'
            return f'{spaces}{name} = os.environ.get("{variable}", {default})'

        return settings_class[1] + SETTINGS_FIELD.sub(field, body)

    return SETTINGS_CLASS.sub(read, settings)


def _reads_named(settings: str) -> str:
    """The settings with the variables read by default named: dj_database_url.config(x=1) as
    dj_database_url.config("DATABASE_URL", x=1), a pydantic-settings field as the variable it
    reads."""
    settings = _fields_read(settings)
    for call, variable in IMPLICIT_READS.items():

        def named(found: re.Match, variable: str = variable) -> str:
            rest = found.string[found.end() :]
            given = re.match(r"[^)]*\benv\s*=\s*['\"](\w+)['\"]", rest)
            comma = "" if rest.lstrip().startswith(")") else ", "
            return f'{found[0]}"{given[1] if given else variable}"{comma}'

        settings = re.sub(rf"{call}(?!\s*['\"])", named, settings)
    return settings


def environment_required(settings: str) -> tuple[str, ...]:
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
    checked |= _scheme_defaults(settings) | _merged_database_urls(settings)
    # SECRET_KEY = os.environ.get("SECRET_KEY"): None without it, and Django refuses to start;
    # os.getenv("SECRET_KEY", get_random_secret_key()): a key per process
    keys = KEY_SET.findall(settings)
    key = (
        re.match(r"""(?:os\.)?(?:environ\.get|getenv)\(\s*['"](\w+)['"]\s*\)\s*$""", keys[-1])
        or (RANDOM_KEY.search(keys[-1]) and re.search(ENVIRONMENT_READ, keys[-1]))
        if keys
        else None
    )
    without_default |= {key[1]} if key else set()
    needed = (without_default | set(_configuration_values(settings))) - checked
    return tuple(name for name in environment_read(settings) if name in needed)


def _merged_database_urls(settings: str) -> set[str]:
    """The variables of dj_database_url.config() calls merged into a database of the settings
    (Heroku's `DATABASES["default"].update(db_from_env)`): without one, nothing is merged."""
    config = r"""dj_database_url\.config\(\s*['"](\w+)['"]"""
    merged = set(re.findall(rf"\.update\(\s*{config}", settings))
    for name, variable in re.findall(rf"(?m)^(\w+)\s*=\s*{config}", settings):
        if re.search(rf"\.update\(\s*{name}\s*\)", settings):
            merged.add(variable)
    return merged


def _scheme_defaults(settings: str) -> set[str]:
    """The variables django-environ's scheme gives a default: environ.Env(DEBUG=(bool, False))."""
    found = set()
    for call, end in _calls(r"\bEnv\(", settings):
        found |= set(re.findall(r"(\w+)\s*=\s*\(\s*[\w.]+\s*,", settings[call.end() : end]))
    return found


def _calls(opening: str, text: str) -> Iterator[tuple[re.Match, int]]:
    """Each call `opening` (a pattern ending in its open parenthesis) finds in `text`, and
    where its closing parenthesis ends."""
    for call in re.finditer(opening, text):
        depth, end = 1, call.end()
        while depth and end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        yield call, end


def _configuration_values(settings: str) -> list[str]:
    return [f"DJANGO_{name}" for name in re.findall(REQUIRED_VALUE, settings, re.M)]


# what is compared with one of some values: `ENV ==`, `os.getenv("ENV") !=`, `ENV.lower() in (`,
# where ENV is a variable of the environment or a name the settings set to one
COMPARED = (
    r"""((?:environ\.get|getenv|\benv(?:\.\w+)?|\bconfig)\(\s*['"]\w+['"][^)]*\)|\b\w+)"""
    r"""(?:\.\w+\(\))?\s*(?:==|!=|\b(?:not\s+)?in)\s*[(\[{]?\s*(?:['"]\w+['"]\s*,\s*)*"""
)
STAGING_VALUE = r"(?i:staging|stage)"


def production_switch(settings: str) -> tuple[str, str, str | None] | None:
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


# `if "X" in os.environ:`, `if os.environ.get("X"):`, `if not os.getenv("X"):`: the
# production branch when X is set, as Obey the Testing Goat's DJANGO_DEBUG_FALSE
PRESENCE = re.compile(
    r"""(not\s+)?(?:['"](\w+)['"]\s+(not\s+)?in\s+(?:os\.)?environ"""
    r"""|(?:os\.)?(?:environ\.get|getenv)\(\s*['"](\w+)['"]\s*\))\s*"""
)
BRANCH = re.compile(r"(if|elif|else)\b\s*(.*?)\s*:\s*(?:#.*)?$")


def _if_chains(lines: list[str]) -> Iterator[tuple[int, int, list[tuple[str | None, list[str]]]]]:
    """Each top-level `if` of `lines` with its `elif`s and `else`: where it starts and ends,
    and each branch's condition (None for `else`) and body."""
    at = 0
    while at < len(lines):
        head = BRANCH.match(lines[at])
        if head is None or head[1] != "if":
            at += 1
            continue
        start, branches = at, []
        while (
            at < len(lines)
            and (head := BRANCH.match(lines[at]))
            and (head[1] != "if" or not branches)
        ):
            at += 1
            body = []
            while at < len(lines) and (lines[at][:1] in (" ", "\t") or not lines[at].strip()):
                body.append(lines[at])
                at += 1
            branches.append((None if head[1] == "else" else head[2], body))
            if head[1] == "else":
                break
        yield start, at, branches


def presence_switch(settings: str) -> str | None:
    """The variable whose presence makes the settings take a branch turning DEBUG off (or
    whose absence, one turning it on)."""
    for _, _, branches in _if_chains(settings.splitlines(keepends=True)):
        condition, body = branches[0]
        present = PRESENCE.fullmatch(condition or "")
        if present is None:
            continue
        negated = bool(present[1]) != bool(present[3])
        debug = re.findall(r"^\s+DEBUG\s*=\s*(True|False)\b", "".join(body), re.M)
        if debug and (debug[-1] == "True") == negated:
            return present[2] or present[4]
    return None


# `if DEBUG:`, `if not settings.DEBUG:`, `if DEBUG is False:`, `if DEBUG == True:`
DEBUG_TEST = re.compile(r"(not\s+)?(?:settings\.)?DEBUG(?:\s*(?:is|==)\s*(True|False))?")


def as_servers_run_them(
    settings: str, compared: tuple[str, str, str | None] | None, present: str | None
) -> str:
    """The settings with each top-level `if` the servers' environment decides replaced by the
    branch they take, unindented: one comparing the variable with the production value, or
    testing that the `present` variable is set; then one testing DEBUG, when the settings
    then set it to True or False."""

    def taken(condition: str) -> bool | None:
        presence = PRESENCE.fullmatch(condition)
        if presence and present and present in (presence[2], presence[4]):
            return bool(presence[1]) == bool(presence[3])
        if compared and re.search(rf"""['"]{PRODUCTION_VALUE}['"]""", condition):
            return not re.search(r"!=|\bnot\s+in\b", condition)
        if compared and compared[2] and re.search(rf"""['"]{compared[2]}['"]""", condition):
            return bool(re.search(r"!=|\bnot\s+in\b", condition))
        return None

    settings = _branches_taken(settings, taken)
    values = re.findall(r"^DEBUG\s*=\s*(.+?)\s*(?:#.*)?$", settings, re.M)
    debug = values[-1:] if values and values[-1] in ("True", "False") else None
    if not debug:
        return settings

    def debug_taken(condition: str) -> bool | None:
        test = DEBUG_TEST.fullmatch(condition)
        if test is None:
            return None
        return (debug[-1] == (test[2] or "True")) != bool(test[1])

    return _branches_taken(settings, debug_taken)


def _branches_taken(settings: str, taken: Callable[[str], bool | None]) -> str:
    """`settings` with each top-level `if` whose branch `taken` decides (True, False, or None
    when it cannot) replaced by that branch, unindented."""
    lines = settings.splitlines(keepends=True)
    resolved, done = [], 0
    for start, end, branches in _if_chains(lines):
        decisions = [True if condition is None else taken(condition) for condition, _ in branches]
        if None in decisions[: decisions.index(True) + 1 if True in decisions else None]:
            continue
        body = next((body for (_, body), yes in zip(branches, decisions, strict=True) if yes), [])
        resolved += [*lines[done:start], textwrap.dedent("".join(body))]
        done = end
    return "".join([*resolved, *lines[done:]])


def environment_read(settings: str) -> tuple[str, ...]:
    settings = _reads_named(settings)
    names = dict.fromkeys(
        [*re.findall(ENVIRONMENT_READ, settings), *_configuration_values(settings)]
    )
    names.pop("DJANGO_SETTINGS_MODULE", None)
    return tuple(names)


def relative_to_base(settings: str, pattern: str) -> str | None:
    """The last `BASE_DIR / "x" / "y"` or os.path.join(BASE_DIR, "x", "y") -> "x/y"; also
    below a name set so (APPS_DIR = BASE_DIR / "app"; APPS_DIR / "media" -> "app/media")."""
    values = re.findall(pattern, settings, re.M)
    return below_base(settings, values[-1], 3) if values else None


def below_base(settings: str, expression: str, depth: int) -> str | None:
    return _path_below_base(settings, expression, depth) or None


# a setting stripped of its slashes, as a path's part: Mezzanine's STATIC_URL.strip("/")
STRIPPED_SETTING = re.compile(r"""\b([A-Z][A-Z0-9_]*)\.strip\(\s*['"]/['"]\s*\)""")


def _stripped_settings(settings: str, expression: str) -> str:
    def value(stripped: re.Match) -> str:
        assigned = re.findall(rf"^{stripped[1]}\s*=\s*(['\"][^'\"]*['\"])\s*$", settings, re.M)
        return assigned[-1] if assigned else stripped[0]

    return STRIPPED_SETTING.sub(value, expression)


# the root a path is made of: BASE_DIR, or another name the settings set
ROOT_NAME = r"\b[A-Z][A-Z0-9_]*\b"


def _above_root(expression: str) -> bool:
    """Whether a path made of a root climbs above it: BASE_DIR.parent, Path(BASE_DIR).parent,
    os.path.dirname(BASE_DIR), or a ".." part."""
    anchor = re.search(ROOT_NAME, expression)
    rest = expression[anchor.end() :] if anchor else expression
    parts = re.findall(r"['\"]([^'\"]+)['\"]", rest)
    return any(".." in part.split("/") for part in parts) or bool(
        anchor
        and (
            re.search(r"dirname\(\s*$", expression[: anchor.start()])
            or re.match(r"\)?\s*\.\s*parents?\b", rest)
        )
    )


def _path_below_base(settings: str, expression: str, depth: int) -> str | None:
    """As below_base, but "" for BASE_DIR itself."""
    expression = _stripped_settings(settings, expression)
    anchor = re.search(ROOT_NAME, expression)
    if anchor is None or depth == 0 or _above_root(expression):
        return None
    parts = re.findall(r"['\"]([^'\"]+)['\"]", expression[anchor.end() :])
    parts = [part.strip("/") for part in parts if part.strip("/") not in ("", ".")]
    if anchor[0] == "BASE_DIR":
        return "/".join(parts)
    assigned = re.findall(rf"^{anchor[0]}\s*=\s*(.+)$", settings, re.M)
    root = _path_below_base(settings, assigned[-1], depth - 1) if assigned else None
    return None if root is None else "/".join(p for p in [root, *parts] if p)


# what a top-level statement of the settings reads a file with: open(X), Path(X).read_text(),
# (X).read_text(), and a ConfigParser's read(X)
READ_METHOD = re.compile(r"\((.+)\)\.(?:read_text|read_bytes|open)\(")
CONFIG_PARSER = re.compile(r"^(\w+)\s*=\s*(?:configparser\.)?(?:Raw|Safe)?ConfigParser\(", re.M)


def files_read(settings: str) -> tuple[tuple[str, bool], ...]:
    """The files the settings read as they start (in a top-level statement, not a function's or
    a `try:`'s), and whether below BASE_DIR: "x/y" below it (or a root made of it), True; a
    literal as written (from the working directory, or absolute, as the Django docs'
    "/etc/secret_key.txt"), False."""
    parsers = CONFIG_PARSER.findall(settings)
    openings = [r"(?<![\w.])open\(", *(rf"\b{name}\.read\(" for name in parsers)]
    arguments = [
        _items(settings[call.end() : end - 1])[0]
        for opening in openings
        for call, end in _calls(opening, settings)
        if _top_level(settings, call.start())
    ]
    arguments += [
        found[1]
        for found in READ_METHOD.finditer(settings)
        if _top_level(settings, found.start()) and "(" not in found[1]
    ]
    paths = (_file_path(settings, argument) for argument in arguments)
    return tuple(dict.fromkeys(path for path in paths if path))


def _top_level(text: str, at: int) -> bool:
    return text[text.rfind("\n", 0, at) + 1 : at + 1][:1] not in (" ", "\t")


def _items(listed: str) -> list[str]:
    """The items of a call's arguments or a list's, split at their top-level commas."""
    items, depth, start = [], 0, 0
    for at, char in enumerate(listed):
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(listed[start:at])
            start = at + 1
    return [*items, listed[start:]]


def _file_path(settings: str, expression: str) -> tuple[str, bool] | None:
    written = re.fullmatch(r"\s*r?(['\"])([^'\"{}]+)\1\s*", expression)
    if written:
        return written[2], False
    below = below_base(settings, expression, 3)
    return (below, True) if below else None


def sqlite_url_default(settings: str) -> str | None:
    """The SQLite file a database URL's default names (dj-database-url, django-environ):
    f"sqlite:///{BASE_DIR / 'x'}", f"sqlite:///{BASE_DIR}/x", "sqlite:///" + str(BASE_DIR / "x"),
    or "sqlite:///x"
    (relative to the working directory, which is the project's)."""
    for rest in re.findall(r"sqlite:///(.*)$", settings, re.M):
        if rest.startswith("{"):
            expression, _, after = rest[1:].partition("}")
            then = re.match(r"/([\w.-][\w./-]*)['\"]", after)  # f"sqlite:///{BASE_DIR}/db.sqlite3"
            found = below_base(settings, f'{expression} / "{then[1]}"' if then else expression, 3)
        elif rest[:1] in ("'", '"'):
            found = below_base(settings, rest[1:], 3)
        else:
            literal = re.match(r"([\w.-][\w./-]*)['\"]", rest)
            found = literal[1] if literal else None
        if found:
            return found
    return None


def url_setting(settings: str, name: str, default: str) -> str:
    """MEDIA_URL or STATIC_URL as nginx's location: "media/" and "/media" -> "/media/"."""
    values = re.findall(rf"^{name}\s*=\s*['\"]([A-Za-z0-9_./~-]*)['\"]\s*$", settings, re.M)
    path = values[-1].strip("/") if values else default.strip("/")
    return f"/{path}/" if path else default


# a route of the root URLconf, as written: path("healthz/", ...) is /healthz/, not /healthz;
# url(r"^admin/", ...) as before Django 4
ROUTE = r"""\b(?:re_path|path|url)\(\s*r?['"]\^?"""
HEALTH_ROUTE = ROUTE + r"""((?:healthz?|health-?check|ping)/?)\$?['"]"""
ADMIN_ROUTE = ROUTE + r"""([\w/-]*)['"]\s*,\s*admin\.site\.urls"""
# django-health-check's URLs, wherever they are included (its README: "ht/")
HEALTH_CHECK_ROUTE = ROUTE + r"""([\w/-]*)['"]\s*,\s*include\(\s*['"]health_check\.urls"""
# a route written without converters: path("polls/", ...), re_path(r"^api/$", ...)
LITERAL_ROUTE = ROUTE + r"""([\w/.-]*)\$?['"]"""


def root_urls(app_dir: Path, settings: str) -> str:
    """The text of the URLconf ROOT_URLCONF names ("" when it cannot be read)."""
    named = re.findall(r"^ROOT_URLCONF\s*=\s*['\"]([\w.]+)['\"]", settings, re.M)
    path = app_dir / (named[-1].replace(".", "/") + ".py") if named else None
    return path.read_text(errors="replace") if path and path.is_file() else ""


def health_path(urls: str, settings: str) -> tuple[str, bool]:
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
    for call, end in _calls(r"\bi18n_patterns\(", urls):
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


# COMPRESS_OFFLINE = True: pages need what `manage.py compress` makes in each release
COMPRESS_OFFLINE = re.compile(r"^\s*COMPRESS_OFFLINE\s*=\s*True\b", re.M)
# a cache in the database, whose table `manage.py createcachetable` makes (migrate does not)
DATABASE_CACHE = re.compile(r"""["']django\.core\.cache\.backends\.db\.DatabaseCache["']""")
