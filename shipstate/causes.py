"""Hints for failures whose cause the hosts' output names. Pure."""

import re

from shipstate.python_source import PYTHON_2_SYNTAX

_FROM_SOURCE = "builds from source (no wheel for the servers' Python and platform), which needs"
_PACKAGES = "`packages` in shipstate.toml and run `shipstate bootstrap` (or install them there)"

# modules whose package on PyPI is named otherwise
PACKAGE_OF_MODULE = {
    "environ": "django-environ", "decouple": "python-decouple", "dotenv": "python-dotenv",
    "dj_database_url": "dj-database-url", "yaml": "PyYAML", "PIL": "Pillow",
    "dateutil": "python-dateutil", "jwt": "PyJWT", "bs4": "beautifulsoup4",
    "magic": "python-magic", "MySQLdb": "mysqlclient", "psycopg2": "psycopg2-binary",
    "rest_framework": "djangorestframework", "corsheaders": "django-cors-headers",
    "crispy_forms": "django-crispy-forms", "storages": "django-storages",
    "allauth": "django-allauth", "django_filters": "django-filter",
    "compressor": "django-compressor", "sentry_sdk": "sentry-sdk",
}  # fmt: skip
# what a developer's machine has, the servers' requirements rarely
DEVELOPMENT_TOOLS = {
    "debug_toolbar": "django-debug-toolbar", "django_extensions": "django-extensions",
    "silk": "django-silk", "django_browser_reload": "django-browser-reload",
}  # fmt: skip


# the first version with wheels for each Python 3 minor (Linux x86-64) of requirements an old
# project pins: one pinned older is built from source on the servers
WHEELS_SINCE = {
    "Pillow": {11: (9, 2), 12: (10, 0), 13: (10, 4), 14: (11, 3)},
    "psycopg2-binary": {11: (2, 9, 5), 12: (2, 9, 9), 13: (2, 9, 10), 14: (2, 9, 11)},
}
# the oldest version of requirements old projects pin that works on each Python 3 minor: older
# Djangos import what it removed (collections' ABCs in 3.10, gettext's codeset in 3.11,
# distutils in 3.12, cgi in 3.13), older psycopg2s do not compile (as measured)
OLDEST_FOR_PYTHON = {
    "Django": {11: (2, 2), 12: (3, 2), 13: (4, 1)},
    "psycopg2": {11: (2, 8, 6), 12: (2, 8, 6)},
    "psycopg2-binary": {11: (2, 8, 6), 12: (2, 8, 6)},
}


def dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


# modules of Python's own it removed, by the minor that removed them
REMOVED_FROM_PYTHON = {
    **dict.fromkeys(("distutils", "imp", "asynchat", "asyncore", "smtpd"), 12),
    **dict.fromkeys(
        ("cgi", "cgitb", "crypt", "imghdr", "telnetlib", "pipes", "nntplib", "uu", "xdrlib"), 13
    ),
}
_OLDER_THAN_PYTHON = (
    "the app's code, or a requirement older than the servers' Python (the output's traceback "
    "names which: Django "
    + ", ".join(
        f"before {dotted(version)} on {'Python ' if minor == 11 else ''}3.{minor}"
        for minor, version in OLDEST_FOR_PYTHON["Django"].items()
    )
    + ") imports {}: update that code or upgrade that requirement, or install an older Python on "
    "the servers and name it with `python` in shipstate.toml"
)


def _module_missing(module: str) -> str:
    top = module.split(".")[0]
    if top == "pkg_resources":
        return (
            "a requirement imports pkg_resources, which setuptools removed in 82 (the output's "
            "traceback names who imports it, as gunicorn before 21): upgrade that requirement, "
            "or require `setuptools<82` with it"
        )
    if top in REMOVED_FROM_PYTHON:
        return _OLDER_THAN_PYTHON.format(
            f"{top}, which Python 3.{REMOVED_FROM_PYTHON[top]} removed"
        )
    if top in DEVELOPMENT_TOOLS:
        return (
            f"the servers' settings use {top} ({DEVELOPMENT_TOOLS[top]}), a development tool the "
            "requirements lack: name it in the development settings only (INSTALLED_APPS, "
            "MIDDLEWARE, the URLconf), or add it to the requirements"
        )
    package = f" ({PACKAGE_OF_MODULE[top]})" if top in PACKAGE_OF_MODULE else ""
    return (
        f"the app imports {module}, which neither its environment nor the release has: add its "
        f"package{package} to the requirements, or, if {module} is the app's own, set `workdir` "
        f"to the directory holding manage.py, or `pythonpath` to the one holding {module} when "
        "it is not beside manage.py (a src/ layout; and check `wsgi` or `asgi`)"
    )


def python_2_code(file: str, line: str, words: str) -> str:
    return (
        f"{file}, line {line}, is Python 2 code ({words}), which no Python 3 parses: port the "
        "app to Python 3 (`2to3 -w .` starts it), with a Django that runs on the servers' Python"
    )


# Python's words for a SyntaxError: the file (below the release) and line, then the message
_SYNTAX_ERROR_AT = (
    r'File "(?:[^"\n]*/releases/\d+/)?([^"\n]+)", line (\d+)\n(?:[^\n]*\n){0,4}\s*SyntaxError: '
)
# (what a failure's output says, what to do about it: the text, or a function of what it found)
KNOWN_CAUSES = (
    (
        # uv: "the current Python version (3.11.2) does not satisfy Python>=3.12";
        # pip: "Ignored the following versions that require a different python version"
        r"current Python version \([\d.]+\) does not satisfy|require a different python version",
        "the requirements need a newer Python than the servers' (the output names both): "
        "install one on the servers and name it with `python` in shipstate.toml (e.g. "
        '`python = "python3.12"`), or pin versions that support the servers\' Python',
    ),
    (
        # django-environ's env("X"), python-decouple's config("X"), environs' env("X"),
        # django-configurations' class; os.environ["X"] (os's __getitem__ raising KeyError)
        r"ImproperlyConfigured: Set the (\w+) environment variable"
        r"|Configuration cannot be imported, environment variable (\w+) is undefined"
        r"|is required to be set as the environment variable '(\w+)'"
        r"|UndefinedValueError: (\w+) not found\. Declare it as envvar"
        r'|EnvError: Environment variable "(\w+)" not set'
        r"|os(?:\.py)?>?\", line \d+, in __getitem__\n(?:[ \t]+.*\n){0,3}KeyError: '(\w+)'",
        "the app reads {0} from the environment, which the servers do not set: add "
        "`{0}=...` to the secrets file (`[secrets] file` in shipstate.toml; README: Secrets) or, "
        "if it is no secret, to `[env]`",
    ),
    (
        # pydantic-settings, a field the environment must give (its name, or env_prefix's)
        r"validation errors? for (\w+)\n(\w+)\n\s+Field required \[type=missing",
        lambda model, field: (
            f"the app's {model} (pydantic-settings) needs {field}, which the servers' "
            f"environment does not give: add `{field.upper()}=...` (after the class's "
            "env_prefix, if it has one) to the secrets file (`[secrets] file` in shipstate.toml; "
            "README: Secrets) or, if it is no secret, to `[env]`"
        ),
    ),
    (
        # Django's dummy database backend, as a database URL the servers lack leaves it
        r"settings\.DATABASES is improperly configured\. Please supply the ENGINE value",
        "the settings give Django no database on the servers (DATABASES has no ENGINE): if "
        "they read it from an environment variable, as dj-database-url reads DATABASE_URL, add "
        "that to the secrets file (`[secrets] file` in shipstate.toml; README: Secrets)",
    ),
    (
        r"The (SECRET_KEY) setting must not be empty",
        "the settings leave {0} empty on the servers: if they read it from an environment "
        "variable, add that to the secrets file (`[secrets] file` in shipstate.toml; README: "
        "Secrets)",
    ),
    (
        # gunicorn before 20.1 has no __main__ (nor the wsgi_app setting shipstate's config uses)
        r"No module named gunicorn\.__main__",
        "the requirements pin a gunicorn older than 20.1, which cannot run as `python -m "
        "gunicorn`: require gunicorn>=21 (or remove it: shipstate adds the newest)",
    ),
    (
        # uv's and pip's words
        r"pkg-resources was not found in the package registry"
        r"|No matching distribution found for pkg-resources==0\.0\.0",
        "the requirements list pkg-resources==0.0.0, which `pip freeze` of Debian's and Ubuntu's "
        "pip writes and no package index has: remove that line",
    ),
    (
        # uv's and pip's words
        r"Failed to build `backports-zoneinfo|Failed building wheel for backports\.zoneinfo",
        "the requirements list backports.zoneinfo, which Python 3.9 and newer have as zoneinfo "
        "(it builds on none of them; `pip freeze` on 3.8 lists it for Django 4): remove it, or "
        'mark it as Django requires it, `backports.zoneinfo; python_version < "3.9"`',
    ),
    (
        r"cannot import name '(\w+)' from '([\w.]+)' \([^)\n]*/site-packages/(\w+)/",
        "the app imports {0} from {1}, which the {2} its requirements installed lacks (a newer "
        "version removed it, as Django 4.0 did django.conf.urls.url and ugettext): pin the "
        "version the app was written for in the requirements (`pip freeze` where it runs "
        "lists it), or update the code",
    ),
    (
        r"cannot import name '(\w+)' from 'collections'",
        _OLDER_THAN_PYTHON.format("collections.{0}, which Python 3.10 moved to collections.abc"),
    ),
    (
        r"translation\(\) got an unexpected keyword argument 'codeset'",
        _OLDER_THAN_PYTHON.format("gettext's codeset, which Python 3.11 removed"),
    ),
    (
        r"ModuleNotFoundError: No module named '([\w.]+)'",
        _module_missing,
    ),
    (
        # Python 3's words for Python 2's print statement, `except X, e:`, octal 0777
        _SYNTAX_ERROR_AT + rf"((?:{PYTHON_2_SYNTAX})[^\n]*)",
        python_2_code,
    ),
    (
        # Python's own words; a SyntaxError of code that runs on the developer's Python
        _SYNTAX_ERROR_AT + r"([^\n]+)",
        "{0}, line {1}, does not parse on the servers' Python (SyntaxError: {2}): if it runs "
        "on your machine, it is written for a newer Python than theirs (3.12 lets an f-string "
        'reuse its quotes, as f"{{post["title"]}}", and has `type` aliases): install one on the '
        'servers and name it with `python` in shipstate.toml (e.g. `python = "python3.12"`), '
        "or write the code for the servers' Python",
    ),
    (
        r"(?:OperationalError|ProgrammingError): (?:no such table: |relation \")(\w+)",
        "the database has no table {0}: its migrations have not run there; check the migrate "
        "hook in shipstate.toml (there, and its `run` and `inputs` right?)",
    ),
    (
        # PostgreSQL's and MySQL's servers, as psycopg, psycopg2, mysqlclient and PyMySQL say
        r'password authentication failed for user "([^"]+)"|Access denied for user (\S+)',
        "the database server refused the user {0}: check the user and password the settings "
        "get on the servers (DATABASE_URL or the like, in the secrets file)",
    ),
    (
        r'database "([^"]+)" does not exist|Unknown database \'([^\']+)\'',
        "the database server has no database {0}: create it there (PostgreSQL: `createdb "
        "{0}`), or correct the name the settings get on the servers",
    ),
    (
        r'could not translate host name "([^"]+)" to address',
        "the database host {0} is no name the servers can resolve (a docker compose service's "
        "name?): give the settings on the servers the address of a database they reach "
        "(DATABASE_URL or the like, in the secrets file)",
    ),
    (
        r'connection to server (?:at|on socket) ("[^"]+"[^\n]*?) failed: (?!FATAL)'
        r"|Can't connect to (?:local )?(?:MySQL )?server (?:on|through socket) '([^']+)'",
        "the app cannot reach its database at {0}: the database the settings name on the "
        "servers must run and accept their connections (DATABASE_URL or the like, in the "
        "secrets file; a database on each host: install and start it there)",
    ),
    (
        # logging.config, as Django configures LOGGING, a handler's file it cannot open
        r"Unable to configure handler '([^'\n]+)'",
        "the settings' LOGGING handler {0} cannot open its file on the servers (a directory "
        "the release lacks, or one the deploy user cannot write): write it in a directory "
        "`shared` in shipstate.toml lists (e.g. BASE_DIR / "
        '"logs" / "app.log", with "logs/" in shared: each host has it, and it outlives releases), '
        "or log to the console, which the app server's log keeps (`shipstate logs`)",
    ),
    (
        r"OperationalError: unable to open database file",
        "SQLite cannot open its database file on the servers: its directory must exist there "
        "and be writable by the deploy user; list the file (or its directory, with a final /) "
        "in `shared` in shipstate.toml, inside the app's directory",
    ),
    (
        # ManifestStaticFilesStorage (and WhiteNoise's) in collectstatic's post-processing
        r"The file '([^']+)' could not be found with <[\w.]*(?:Manifest|Whitenoise|WhiteNoise)",
        "collectstatic's manifest storage found a reference to {0} (in a CSS file, say) that the "
        "static files lack (runserver with DEBUG on never looks): add that file to them, or fix "
        "the reference (relative to the file making it), and commit",
    ),
    (
        r"Missing staticfiles manifest entry for '([^']+)'",
        "the static files' manifest lacks {0}: collectstatic has not run for this release; "
        "check the collectstatic hook in shipstate.toml (there, uncommented, its `inputs` "
        "and `outputs` right?)",
    ),
    (
        # django-compressor with COMPRESS_OFFLINE, before `compress` made its manifest
        r"OfflineGenerationError: You have offline compression enabled",
        "the settings compress offline (COMPRESS_OFFLINE), and this release's pages were not "
        "compressed: run `manage.py compress` after collectstatic in its hook in "
        'shipstate.toml (`command = "python manage.py collectstatic --noinput && python '
        'manage.py compress"`)',
    ),
    (
        r"the same request in a new process of the app answered HTTP 200",
        "the app server failed where a new process of the app succeeds: it read something "
        "as it started that was missing or different then (made by a hook? then keep "
        "`start_during_hooks = false`, the default)",
    ),
    (
        r"health check of (\S+) \(Host: [^)]*\) failed: HTTP 404",
        "the app answers 404 at {0}: set `health_path` in shipstate.toml to a page it serves "
        'with 200 to anyone (or add one, e.g. a view answering "ok" at /healthz)',
    ),
    (
        r"health check of (\S+) \(Host: [^)]*\) failed: HTTP (?:401|403|30\d to (?!https:)(\S+))",
        "{0} is not a page the app serves to anyone (it asks for a login, or redirects to "
        "another page): set `health_path` in shipstate.toml to one that answers 200 itself",
    ),
    (
        r'conflicting server name "([^"]+)" on ([^,\s]+), ignored'
        r"[\s\S]*another site on this server answers for the same name and port",
        "another site on this server answers for {0} on {1} too, and nginx would serve only one "
        "of them: give this app its own `server_name` in shipstate.toml (its domain), or its own "
        "`http_port` in the inventory's host data; or remove the other site if it is Debian's "
        "default one (/etc/nginx/sites-enabled/default; `sudo nginx -T` shows every site), or "
        "this app's under its former name (`shipstate remove` in a checkout of a commit with "
        "that name)",
    ),
    (
        # uv's words, then pip's
        r"An index URL \((\S+)\) could not be queried due to a lack of valid authentication"
        r"|401 Client Error: Unauthorized for url: (\S+)",
        "the index {0} asks for credentials the servers were not given: put them in the "
        "secrets file as a variable (`INDEX_TOKEN=...`; `[secrets] file` in shipstate.toml) "
        "and name it in the index's URL in the requirements, e.g. `--extra-index-url "
        "https://user:${{INDEX_TOKEN}}@host/simple/`: uv and pip get the secrets file's variables "
        "(for a poetry.lock's source, POETRY_HTTP_BASIC_<SOURCE>_USERNAME and _PASSWORD, as "
        "Poetry reads them)",
    ),
    (
        r"Can't find msgfmt",
        f"compilemessages needs GNU gettext's msgfmt on the servers: add gettext to {_PACKAGES}",
    ),
    (
        r"pg_config executable not found",
        f"psycopg2 {_FROM_SOURCE} PostgreSQL's client headers and a compiler on the servers: "
        "require `psycopg2-binary` (or `psycopg[binary]`) instead, or add libpq-dev, "
        f"python3-dev and build-essential to {_PACKAGES}",
    ),
    (
        # uv's words, then pip's
        r"Git executable not found|Cannot find command 'git'",
        "the requirements install a package from a git repository, which needs git on the "
        f"servers: add git to {_PACKAGES}",
    ),
    (
        # git over SSH, as uv and pip run it for `lib @ git+ssh://git@github.com/org/lib.git`
        r"git\+ssh://(?:[^@\s/]+@)?([^/:\s`']+)[\s\S]*?"
        r"(?:Host key verification failed|Permission denied \(publickey)",
        "the servers' deploy user cannot fetch a requirement's git repository over SSH from {0} "
        "(no key it accepts, or {0}'s host key unknown there): give each server's deploy user "
        "a key the repository accepts (a deploy key) and {0}'s host key (`ssh-keyscan {0} >> "
        "~/.ssh/known_hosts`), or require it over HTTPS with a token from the secrets file "
        "(`lib @ git+https://${{GIT_TOKEN}}@{0}/org/lib.git`; README: Secrets)",
    ),
    (
        r"no pq wrapper available",
        "psycopg without [binary] loads PostgreSQL's client library (libpq) from the servers, "
        f"which lack it: add libpq5 to {_PACKAGES}, or require `psycopg[binary]` instead",
    ),
    (
        r"failed to find libmagic",
        f"python-magic loads libmagic, which the servers lack: add libmagic1 to {_PACKAGES}",
    ),
    (
        r"cannot load library '(lib(?:gobject|pango|pangoft2|harfbuzz|fontconfig)[^']*)'",
        "WeasyPrint loads Pango's libraries ({0}), which the servers lack: add libpango-1.0-0, "
        f"libpangoft2-1.0-0 and libharfbuzz-subset0 to {_PACKAGES}",
    ),
    (
        r"Could not find the (GDAL|GEOS) library",
        "GeoDjango (django.contrib.gis) loads {0}, which the servers lack: add gdal-bin (GDAL, "
        f"with GEOS and PROJ) to {_PACKAGES}",
    ),
    (
        r"([\w.+-]+): cannot open shared object file",
        "the app loads the library {0}, which the servers lack: add the Debian package holding "
        f"it to {_PACKAGES}; `apt-file search {{0}}` names the package, or `dpkg -S {{0}}` on a "
        "machine where the app runs",
    ),
    (
        r"mysql_config not found|Can not find valid pkg-config name",
        f"mysqlclient {_FROM_SOURCE} MySQL's client headers and a compiler on the servers: "
        "add default-libmysqlclient-dev, pkg-config, python3-dev and build-essential to "
        f"{_PACKAGES}",
    ),
    (
        r"The headers or library files could not be found for (\w+),\s*a required dependency "
        r"when compiling Pillow",
        f"Pillow {_FROM_SOURCE} the headers of {{0}} on the servers: add libjpeg-dev, "
        f"zlib1g-dev, python3-dev and build-essential to {_PACKAGES}, or pin a Pillow that has "
        f"a wheel for the servers' Python ({dotted(WHEELS_SINCE['Pillow'][11])} and newer for "
        "Python 3.11)",
    ),
    (
        # its C code older than the servers' Python: 2.8.5 and older on Python 3.11 (seen)
        r"psycopg/\w+\.c:\d+:\d+: error:",
        "the psycopg2 the requirements pin does not compile for the servers' Python ("
        f"{dotted(OLDEST_FOR_PYTHON['psycopg2'][11])} and newer do for Python 3.11 and 3.12): "
        "upgrade it, or require psycopg2-binary "
        f"{dotted(WHEELS_SINCE['psycopg2-binary'][11])} or newer, which "
        "has wheels",
    ),
    (
        r"command '[\w./-]*(?:gcc|cc)' failed|Python\.h: No such file or directory",
        f"a requirement {_FROM_SOURCE} a compiler and Python's headers on the servers: add "
        f"build-essential and python3-dev (and the -dev package of any library it wraps) to "
        f"{_PACKAGES}, or pin a version that has a wheel",
    ),
)
DEFAULT_HINT = "fix the cause and apply again; `shipstate plan` shows what is left"


CONNECT_HINT = (
    "check the host is up, the ssh user/key in the inventory, and that its host key is in "
    "known_hosts (or pass --accept-new-host-keys once)"
)
# what paramiko and pyinfra say when a connection fails, and what to do about it
CONNECT_CAUSES = (
    (
        r"found in known_hosts",
        "its host key is not in the inventory's known_hosts: check the key's fingerprint on the "
        "server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then pass "
        "--accept-new-host-keys once to record it",
    ),
    (
        r"Authentication failed",
        "the server refused the inventory's ssh_user with that key: a new server gets that user "
        "from `shipstate bootstrap -i INVENTORY --user root` (or a sudoer); else check ssh_user "
        "and ssh_key",
    ),
    (
        r"Unable to connect to port",
        "nothing answers SSH at that address and port: check the host is up, its ssh_hostname "
        "and ssh_port",
    ),
    (r"Could not resolve hostname", "check the host's name (ssh_hostname) in the inventory"),
    (r"No such private key file", "the inventory's ssh_key names a file this machine lacks"),
)


def _first_known(causes, outputs: list[str]) -> str | None:
    """The hint for the first of `causes` the outputs name, with what its pattern found."""
    for pattern, hint in causes:
        for output in outputs:
            found = re.search(pattern, output)
            if found:
                groups = [group for group in found.groups() if group]
                return hint(*groups) if callable(hint) else hint.format(*groups)
    return None


def hint_for(outputs: list[str]) -> str:
    """The hint for the first known cause in the failures' outputs, else the general one."""
    known = _first_known(KNOWN_CAUSES, outputs)
    return f"{known}; then apply again" if known else DEFAULT_HINT


def connect_hint(reasons: list[str]) -> str:
    """The hint for why hosts could not be connected to."""
    return _first_known(CONNECT_CAUSES, reasons) or CONNECT_HINT
