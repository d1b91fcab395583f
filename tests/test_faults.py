"""All or nothing: whatever breaks, the site keeps serving and the next apply converges."""

import json
import re
import signal
import threading
import time
import urllib.request

import gevent
import greenlet
import pytest
from pyinfra.api import StringCommand
from pyinfra.api.operation import add_op
from pyinfra.operations import server
from test_deploy import INVENTORY, fleet_serves, override_nginx_template, served
from test_lock import no_leftovers, release_ids

from conftest import commit, host_addresses, http_get, ok, on_host, set_version, shipstate, start
from shipstate.causes import DEFAULT_HINT, hint_for
from shipstate.inventory import load_inventory
from shipstate.runner import (
    Failure,
    Fleet,
    Progress,
    describe_failures,
    run_command,
    through_interrupts,
)


def edit_config(app, old: str, new: str) -> None:
    path = app / "shipstate.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def assert_failed_cleanly(app, result, *expected: str) -> None:
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.stderr, result.stderr
    fleet_serves("1", "1")
    no_leftovers()
    assert release_ids(app) == {(1,)}


def fails_to_deploy(app, *expected: str) -> str:
    """A new commit of `app` fails to deploy, cleanly; its stderr."""
    set_version(app, "2")
    result = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert_failed_cleanly(app, result, *expected)
    return result.stderr


def converges(app) -> None:
    ok("apply", *INVENTORY, "--yes", cwd=app)
    newest = str(max(max(ids) for ids in release_ids(app)))
    fleet_serves("3", newest)
    assert "No changes" in ok("plan", *INVENTORY, cwd=app).stdout
    no_leftovers()


@pytest.fixture
def deployed(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")
    return app


def test_failing_requirement(deployed):
    app = deployed
    requirements = app / "requirements.txt"
    good = requirements.read_text()
    requirements.write_text(good + "shipstate-no-such-package-anywhere==1.0\n")
    said = fails_to_deploy(app, "failed while preparing; no host was switched", "environment:")
    assert said.count("error: No solution found") == 1, "said once for all hosts"
    assert "shipstate-no-such-package-anywhere" in said
    assert "sandbox-1, sandbox-2, sandbox-3: environment:" in said
    assert "network was disabled" not in said, "the offline first try stays quiet"
    assert "hint: fix the cause and apply again" in said
    # Django 6 needs Python 3.12; the sandbox hosts' python3 is Debian 12's 3.11 (their
    # python3.12 and python3.13, earlier on PATH, must not be taken for it)
    requirements.write_text(good.replace("Django==5.2.19", "Django==6.0"))
    commit(app, "django 6")
    result = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert_failed_cleanly(app, result, "current Python version (3.11")
    assert "hint: the requirements need a newer Python than the servers'" in result.stderr
    # psycopg2 has no wheels: on a server without PostgreSQL's client headers it cannot build
    hide_pg_config = "test ! -e /usr/bin/pg_config || mv /usr/bin/pg_config /usr/bin/pg_config.x"
    for address in host_addresses():
        assert on_host(address, hide_pg_config).returncode == 0
    try:
        requirements.write_text(good + "psycopg2==2.9.10\n")
        commit(app, "psycopg2")
        result = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    finally:
        for address in host_addresses():
            on_host(
                address,
                "test ! -e /usr/bin/pg_config.x || mv /usr/bin/pg_config.x /usr/bin/pg_config",
            )
    assert_failed_cleanly(app, result, "environment:")
    assert "hint: psycopg2 builds from source (no wheel for the servers' Python" in result.stderr
    requirements.write_text(good)
    set_version(app, "3")
    converges(app)


@pytest.mark.parametrize(
    "output",
    [
        "error: No solution found when resolving dependencies\n  cause: Because the current "
        "Python version (3.11.2) does not satisfy Python>=3.12 and django>=6.0 depends on",
        "ERROR: Ignored the following versions that require a different python version: 6.0 "
        "Requires-Python >=3.12\nERROR: Could not find a version that satisfies the requirement",
    ],
)
def test_a_python_too_old_for_the_requirements_is_named_as_the_cause(output):
    """What uv and pip (the fallback) say."""
    assert hint_for(["other host's output", output]).startswith("the requirements need a newer")
    assert hint_for(["No matching distribution found"]) == DEFAULT_HINT


@pytest.mark.parametrize(
    "missing_git", ["cause: Git executable not found. Ensure", "Cannot find command 'git' - do"]
)
def test_servers_without_git_for_a_requirement_from_git_are_named_as_the_cause(missing_git):
    """What uv and pip (the fallback) say."""
    said = hint_for([f"error: Failed to download and build `lib @ git+https://...`\n{missing_git}"])
    assert said.startswith("the requirements install a package from a git repository")
    assert "add git to `packages` in shipstate.toml" in said


@pytest.mark.parametrize(
    "refused", ["Host key verification failed.", "git@github.com: Permission denied (publickey)."]
)
def test_a_requirement_from_a_git_repository_the_servers_cannot_reach_over_ssh(refused):
    """What uv says (seen on the sandbox for a repository on another sandbox host)."""
    said = hint_for(
        [
            "error: Failed to download and build `lib @ git+ssh://git@github.com/org/lib.git`\n"
            "  cause: Git operation failed\n"
            f"         --- stderr\n         {refused}\n"
            "         fatal: Could not read from remote repository."
        ]
    )
    assert said.startswith("the servers' deploy user cannot fetch a requirement's git repository")
    assert "`ssh-keyscan github.com >> ~/.ssh/known_hosts`" in said
    assert "`lib @ git+https://${GIT_TOKEN}@github.com/org/lib.git`" in said


def test_code_the_servers_python_cannot_parse_is_named_with_the_python_it_needs():
    """As a migrate hook's output said on the sandbox (Debian 12's Python 3.11)."""
    said = hint_for(
        [
            '      File "/srv/nu/releases/1/mysite/urls.py", line 20, in <module>\n'
            "        from blog.views import home\n"
            '      File "/srv/nu/releases/1/blog/views.py", line 6\n'
            '        return HttpResponse(f"{post["title"]}")\n'
            "                                     ^^^^^\n"
            "    SyntaxError: f-string: unmatched '['\n"
        ]
    )
    assert said.startswith(
        "blog/views.py, line 6, does not parse on the servers' Python (SyntaxError: f-string: "
        "unmatched '['): if it runs on your machine, it is written for a newer Python"
    )
    assert '`python = "python3.12"`' in said


def test_python_2_code_is_named_as_such():
    said = hint_for(
        [
            '  File "/srv/old/releases/1/polls/views.py", line 9\n    print "voted"\n'
            "    ^^^^^^^^^^^^^\nSyntaxError: Missing parentheses in call to 'print'. Did you mean "
            "print(...)?\n"
        ]
    )
    assert said.startswith(
        "polls/views.py, line 9, is Python 2 code (Missing parentheses in call to 'print'. Did "
        "you mean print(...)?), which no Python 3 parses: port the app to Python 3"
    ), said


def test_a_field_of_pydantic_settings_the_environment_lacks_is_named_as_its_variable():
    """pydantic's own words (2.14)."""
    said = hint_for(
        [
            "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings\n"
            "database_url\n  Field required [type=missing, input_value={}, input_type=dict]\n"
        ]
    )
    assert said.startswith("the app's Settings (pydantic-settings) needs database_url")
    assert "add `DATABASE_URL=...` (after the class's env_prefix" in said


def test_a_module_the_app_cannot_import_is_named_with_where_it_could_come_from():
    said = hint_for(["ModuleNotFoundError: No module named 'mysite.settings'"])
    assert said.startswith("the app imports mysite.settings, which neither its environment")
    assert "if mysite.settings is the app's own, set `workdir`" in said
    assert "or `pythonpath` to the one holding mysite.settings" in said
    assert "add its package to the requirements" in said
    said = hint_for(["ModuleNotFoundError: No module named 'environ'"])
    assert "add its package (django-environ) to the requirements" in said, "named otherwise"
    said = hint_for(["ModuleNotFoundError: No module named 'debug_toolbar.middleware'"])
    assert said.startswith(
        "the servers' settings use debug_toolbar (django-debug-toolbar), a development tool the "
        "requirements lack: name it in the development settings only"
    )


@pytest.mark.parametrize(
    "output",
    [
        "File \"<frozen os>\", line 679, in __getitem__\nKeyError: 'SECRET_KEY'",
        'File "/usr/lib/python3.10/os.py", line 680, in __getitem__\n'
        "    raise KeyError(key) from None\nKeyError: 'SECRET_KEY'",
        "django.core.exceptions.ImproperlyConfigured: Set the SECRET_KEY environment variable",
        "decouple.UndefinedValueError: SECRET_KEY not found. Declare it as envvar or define a "
        "default value.",
        'environs.EnvError: Environment variable "SECRET_KEY" not set',
    ],
)
def test_a_variable_the_settings_need_from_the_environment_is_named(output):
    """os.environ["X"] (Python's own os module, frozen or not), django-environ's env("X"),
    python-decouple's config("X") and environs' env("X")."""
    said = hint_for([f"Traceback (most recent call last):\n  {output}\n"])
    assert said.startswith("the app reads SECRET_KEY from the environment, which the")
    assert "add `SECRET_KEY=...` to the secrets file" in said


def test_a_configuration_class_or_a_database_the_servers_are_not_given_is_named():
    """django-configurations' settings class; a database URL the settings read, missing."""
    said = hint_for(
        [
            "django.core.exceptions.ImproperlyConfigured: Configuration cannot be imported, "
            "environment variable DJANGO_CONFIGURATION is undefined."
        ]
    )
    assert said.startswith("the app reads DJANGO_CONFIGURATION from the environment"), said
    said = hint_for(
        [
            "django.core.exceptions.ImproperlyConfigured: settings.DATABASES is improperly "
            "configured. Please supply the ENGINE value. Check settings documentation for more "
            "details."
        ]
    )
    assert said.startswith("the settings give Django no database on the servers"), said


def test_a_name_the_installed_version_of_a_requirement_lacks_is_named():
    said = hint_for(
        [
            '  File "/srv/a/releases/1/site1/urls.py", line 1, in <module>\n    from django.conf.'
            "urls import url\nImportError: cannot import name 'url' from 'django.conf.urls' (/srv"
            "/a/releases/1/venv/lib/python3.11/site-packages/django/conf/urls/__init__.py)"
        ]
    )
    assert said.startswith(
        "the app imports url from django.conf.urls, which the django its requirements installed "
        "lacks (a newer version removed it"
    ), said


@pytest.mark.parametrize(
    "output",
    [
        "cause: Because pkg-resources was not found in the package registry and you require "
        "pkg-resources==0.0.0, we can conclude that your requirements are unsatisfiable.",  # uv
        "ERROR: No matching distribution found for pkg-resources==0.0.0",  # pip
    ],
)
def test_the_pkg_resources_line_of_an_ubuntu_freeze_is_named(output):
    assert hint_for([output]).startswith(
        "the requirements list pkg-resources==0.0.0, which `pip freeze` of Debian's and Ubuntu's "
        "pip writes and no package index has: remove that line"
    )


@pytest.mark.parametrize(
    "output",
    [
        "error: Failed to build `backports-zoneinfo==0.2.1`\n  cause: The build backend returned "
        "an error\n  ... error: command '/usr/bin/gcc' failed with exit code 1",  # uv
        "  ERROR: Failed building wheel for backports.zoneinfo",  # pip
    ],
)
def test_the_zoneinfo_backport_of_a_python_3_8_freeze_is_named(output):
    assert hint_for([output]).startswith(
        "the requirements list backports.zoneinfo, which Python 3.9 and newer have as zoneinfo"
    )


@pytest.mark.parametrize(
    "output, imports",
    [
        (  # Django 1.11 on Python 3.11, as seen
            '  File "/srv/a/releases/1/venv/lib/python3.11/site-packages/django/db/models/sql/'
            'query.py", line 11, in <module>\n    from collections import Counter, Iterator, '
            "Mapping, OrderedDict\nImportError: cannot import name 'Iterator' from 'collections' "
            "(/usr/lib/python3.11/collections/__init__.py)",
            "collections.Iterator, which Python 3.10 moved to collections.abc",
        ),
        (  # Django 2.1 on Python 3.11
            "TypeError: translation() got an unexpected keyword argument 'codeset'",
            "gettext's codeset, which Python 3.11 removed",
        ),
        (  # Django 3.1 on Python 3.12, Django 4.0 on 3.13
            "ModuleNotFoundError: No module named 'distutils'",
            "distutils, which Python 3.12 removed",
        ),
        ("ModuleNotFoundError: No module named 'cgi'", "cgi, which Python 3.13 removed"),
    ],
)
def test_code_or_a_requirement_older_than_the_servers_python_is_named(output, imports):
    said = hint_for([f"Traceback (most recent call last):\n{output}\n"])
    assert said.startswith(
        "the app's code, or a requirement older than the servers' Python (the output's traceback "
        "names which: Django before 2.2 on Python 3.11, before 3.2 on 3.12, before 4.1 on 3.13) "
        f"imports {imports}: update that code or upgrade that requirement, or install an older "
        "Python on the servers"
    ), said


@pytest.mark.parametrize(
    "output, said",
    [
        (
            "ImportError: failed to find libmagic.  Check your installation",
            "python-magic loads libmagic, which the servers lack: add libmagic1 to `packages`",
        ),
        (
            "OSError: cannot load library 'libgobject-2.0-0': libgobject-2.0-0: cannot open "
            "shared object file: No such file or directory.  Additionally, "
            "ctypes.util.find_library() did not manage to locate a library called "
            "'libgobject-2.0-0'",
            "WeasyPrint loads Pango's libraries (libgobject-2.0-0), which the servers lack: add "
            "libpango-1.0-0, libpangoft2-1.0-0 and libharfbuzz-subset0 to `packages`",
        ),
        (
            'django.core.exceptions.ImproperlyConfigured: Could not find the GEOS library (tried "'
            'geos_c", "GEOS"). Try setting GEOS_LIBRARY_PATH in your settings.',
            "GeoDjango (django.contrib.gis) loads GEOS, which the servers lack: add gdal-bin",
        ),
        (
            "ImportError: libxmlsec1.so.1: cannot open shared object file: No such file or "
            "directory",
            "the app loads the library libxmlsec1.so.1, which the servers lack: add the Debian "
            "package holding it to `packages`",
        ),
    ],
)
def test_a_library_the_app_loads_that_the_servers_lack_is_named(output, said):
    assert hint_for([f"Traceback (most recent call last):\n  ...\n{output}\n"]).startswith(said)


@pytest.mark.parametrize(
    "output, said",
    [
        ("Error: pg_config executable not found.", "psycopg2 builds from source"),
        (
            "ImportError: no pq wrapper available.\nAttempts made:\n- couldn't import psycopg 'c' "
            "implementation: No module named 'psycopg_c'\n- couldn't import psycopg 'python' "
            "implementation: libpq library not found",
            "psycopg without [binary] loads PostgreSQL's client library (libpq) from the servers, "
            "which lack it: add libpq5 to `packages`",
        ),
        ("Exception: Can not find valid pkg-config name.", "mysqlclient builds from source"),
        ("/bin/sh: 1: mysql_config: not found\nOSError: mysql_config not found", "mysqlclient"),
        (
            "The headers or library files could not be found for jpeg,\na required dependency "
            "when compiling Pillow from source.",  # Pillow's setup.py
            "Pillow builds from source (no wheel for the servers' Python and platform), which "
            "needs the headers of jpeg on the servers: add libjpeg-dev, zlib1g-dev",
        ),
        (  # psycopg2 2.7.7 for Python 3.11, as pip said
            "      psycopg/psycopgmodule.c:689:18: error: invalid use of incomplete typedef "
            "\u2018PyInterpreterState\u2019\n      error: command '/usr/bin/gcc' failed with exit "
            "code 1",
            "the psycopg2 the requirements pin does not compile for the servers' Python",
        ),
        ("error: command 'x86_64-linux-gnu-gcc' failed: No such file", "a requirement builds"),
        ("src/x.c:1:10: fatal error: Python.h: No such file or directory", "a requirement builds"),
    ],
)
def test_a_requirement_that_cannot_be_built_on_the_servers_is_named(output, said):
    """What setuptools and the packages say: the hint is found in the whole output, not only in
    the lines shown (uv's ends with ~15 lines after the error)."""
    long_output = "\n".join(
        ["  cause: Failed to build `x`", *["  build"] * 9, output, *["  x"] * 15]
    )
    assert hint_for([long_output]).startswith(said)
    assert output not in describe_failures([Failure("h", "environment", long_output)])


def test_hosts_failing_alike_are_named_together_with_the_output_once():
    failures = [
        Failure("web10", "hooks", "KeyError: 'SECRET_KEY'"),
        Failure("web9", "hooks", "KeyError: 'SECRET_KEY'"),
        Failure("web3", "hooks", "disk full"),
    ]
    assert describe_failures(failures) == (
        "web9, web10: hooks:\n    KeyError: 'SECRET_KEY'\n  web3: hooks:\n    disk full"
    )


@pytest.mark.parametrize(
    "ended, said",
    [
        (
            "HTTP 404: Not Found The requested resource was not found on this server.",
            "the app answers 404 at /h/: set `health_path`",
        ),
        ("HTTP 302 to /accounts/login/?next=/h/", "/h/ is not a page the app serves to anyone"),
        ("HTTP 301 to /h", "/h/ is not a page the app serves to anyone"),
        ("HTTP 403: Forbidden", "/h/ is not a page the app serves to anyone"),
        ("HTTP 301 to https://a/h/: the app wants HTTPS", "fix the cause"),  # said by the check
    ],
)
def test_a_health_page_the_app_does_not_serve_to_anyone_is_named(ended, said):
    output = f"health check of /h/ (Host: 127.0.0.11) failed: {ended}"
    assert hint_for([output]).startswith(said)


@pytest.mark.parametrize(
    "output, said",
    [
        (
            "django.db.utils.OperationalError: no such table: pages_visit",
            "the database has no table pages_visit: its migrations have not run there",
        ),
        (
            'django.db.utils.ProgrammingError: relation "pages_visit" does not exist',
            "the database has no table pages_visit",
        ),
        (  # Django 5.2's words, for a font a stylesheet names, and WhiteNoise's
            "ValueError: The file 'fonts/brand.woff2' could not be found with <django.contrib."
            "staticfiles.storage.ManifestStaticFilesStorage object at 0x7f584bf4a050>.",
            "collectstatic's manifest storage found a reference to fonts/brand.woff2 (in a CSS",
        ),
        (
            "whitenoise.storage.MissingFileError: The file 'fonts/brand.woff2' could not be found "
            "with <whitenoise.storage.CompressedManifestStaticFilesStorage object at 0x7f5>.\n\n"
            "The CSS file 'css/site.css' references a file which could not be found:\n"
            "  fonts/brand.woff2",
            "collectstatic's manifest storage found a reference to fonts/brand.woff2 (in a CSS",
        ),
        (
            "ValueError: Missing staticfiles manifest entry for 'css/site.css'",
            "the static files' manifest lacks css/site.css: collectstatic has not run",
        ),
        # what psycopg 3, psycopg2 and PyMySQL raised here against a closed port, a missing
        # socket and a PostgreSQL 15 server; MySQL's server's own words for the last two
        (
            'psycopg.OperationalError: connection failed: connection to server at "127.0.0.1", '
            "port 5999 failed: Connection refused\n\tIs the server running on that host and "
            "accepting TCP/IP connections?",
            'the app cannot reach its database at "127.0.0.1", port 5999: the database',
        ),
        (
            'django.db.utils.OperationalError: connection to server on socket "/var/run/postgres'
            'ql/.s.PGSQL.5432" failed: No such file or directory\n\tIs the server running locally',
            'the app cannot reach its database at "/var/run/postgresql/.s.PGSQL.5432": the',
        ),
        (
            "django.db.utils.OperationalError: (2003, \"Can't connect to MySQL server on "
            "'127.0.0.1' ([Errno 111] Connection refused)\")",
            "the app cannot reach its database at 127.0.0.1: the database the settings name",
        ),
        (  # Django configuring LOGGING with a file whose directory the release lacks
            "FileNotFoundError: [Errno 2] No such file or directory: '/srv/shop/releases/3/logs/"
            "django.log'\n\nThe above exception was the direct cause of the following exception:"
            "\n\n    raise ValueError('Unable to configure handler '\n"
            "ValueError: Unable to configure handler 'file'",
            "the settings' LOGGING handler file cannot open its file on the servers",
        ),
        (  # gunicorn==20.0.4's app server, started by supervisord
            "/srv/shop/releases/2/venv/bin/python: No module named gunicorn.__main__; 'gunicorn' "
            "is a package and cannot be directly executed",
            "the requirements pin a gunicorn older than 20.1, which cannot run as `python -m",
        ),
        (  # gunicorn==20.1.0 with setuptools 84 (seen)
            '  File "/srv/a/envs/63db6110600b1b7f/lib/python3.11/site-packages/gunicorn/util.py", '
            "line 25, in <module>\n    import pkg_resources\nModuleNotFoundError: No module named "
            "'pkg_resources'",
            "a requirement imports pkg_resources, which setuptools removed in 82 (the output's "
            "traceback names who imports it, as gunicorn before 21): upgrade that requirement, or "
            "require `setuptools<82` with it",
        ),
        (  # mysqlclient built on Debian 12's MariaDB client library
            "django.db.utils.OperationalError: (2002, \"Can't connect to server on '127.0.0.1' "
            '(115)")',
            "the app cannot reach its database at 127.0.0.1: the database the settings name",
        ),
        (
            'django.db.utils.OperationalError: could not translate host name "db" to address: '
            "Name or service not known",
            "the database host db is no name the servers can resolve (a docker compose",
        ),
        (
            'psycopg.OperationalError: connection failed: connection to server at "127.0.0.1", '
            'port 5998 failed: FATAL:  password authentication failed for user "shop"',
            "the database server refused the user shop: check the user and password",
        ),
        (
            'django.db.utils.OperationalError: connection to server at "127.0.0.1", port 5998 '
            'failed: FATAL:  database "shop" does not exist',
            "the database server has no database shop: create it there (PostgreSQL: `createdb",
        ),
        (
            "django.db.utils.OperationalError: (1045, \"Access denied for user 'shop'@'localho"
            "st' (using password: YES)\")",
            "the database server refused the user 'shop'@'localhost': check the user",
        ),
        (
            "django.db.utils.OperationalError: (1049, \"Unknown database 'shop'\")",
            "the database server has no database shop: create it there",
        ),
        (
            "django.db.utils.OperationalError: unable to open database file",
            "SQLite cannot open its database file on the servers: its directory must exist",
        ),
    ],
)
def test_what_a_server_error_raised_is_named(output, said):
    asked = f"Traceback ...\n{output}\n(what the same request in a new process of the app raised)"
    assert hint_for([asked]).startswith(said)


def test_an_empty_secret_key_and_other_key_errors():
    said = hint_for(["ImproperlyConfigured: The SECRET_KEY setting must not be empty."])
    assert said.startswith("the settings leave SECRET_KEY empty on the servers")
    assert hint_for(["File \"/app/views.py\", line 3, in f\nKeyError: 'x'"]) == DEFAULT_HINT


def test_failing_hook(deployed):
    app = deployed
    edit_config(
        app,
        'command = "python manage.py migrate --noinput"',
        'command = "python manage.py no_such_command"',
    )
    said = fails_to_deploy(app, "no_such_command", "no host was switched")
    assert (
        "all 3 hosts: the hooks ran (up to the one that failed): `python manage.py "
        "no_such_command`, `python manage.py collectstatic --noinput`; what they changed outside "
        "the release, as a database they migrated, stays"
    ) in said
    history = json.loads(ok("history", *INVENTORY, "--json", cwd=app).stdout)["hosts"]
    assert all(
        re.fullmatch(
            r"failed: apply failed while preparing; no host was switched "
            r"\(sandbox-1, sandbox-2, sandbox-3: hooks\)",
            h[-1]["outcome"],
        )
        for h in history.values()
    ), history
    edit_config(
        app,
        'command = "python manage.py no_such_command"',
        'command = "python manage.py migrate --noinput"',
    )
    set_version(app, "3")
    converges(app)


def test_health_check_failing_on_the_new_release(deployed):
    app = deployed
    edit_config(app, 'health_path = "/healthz"', 'health_path = "/no-such-page"')
    said = fails_to_deploy(app, "check app server:", "HTTP 404")
    assert "hint: the app answers 404 at /no-such-page: set `health_path`" in said
    assert "failed: HTTP 404: Not Found The requested resource was not found" in said
    # the app's answer is final: one request per host, not 5 s of them
    assert said.count('"GET /no-such-page HTTP/1.0" 404') == said.count("check app server:")
    edit_config(app, 'health_path = "/no-such-page"', 'health_path = "/healthz"')
    set_version(app, "3")
    converges(app)


def test_app_that_cannot_start_fails_the_deploy_at_once_with_its_log(deployed):
    app = deployed
    wsgi = app / "hello" / "wsgi.py"
    good = wsgi.read_text()
    wsgi.write_text(good + 'import os\nos.environ["SETTING_MISSING_ON_PURPOSE"]\n')
    said = fails_to_deploy(
        app,
        "check app server:",
        "its process exited while starting (supervisord: ",
        "KeyError: 'SETTING_MISSING_ON_PURPOSE'",
    )
    assert "hint: the app reads SETTING_MISSING_ON_PURPOSE from the environment" in said
    wsgi.write_text(good + "import shipstate_module_nowhere\n")
    said = fails_to_deploy(app, "No module named 'shipstate_module_nowhere'")
    assert "hint: the app imports shipstate_module_nowhere, which neither its" in said
    wsgi.write_text(good)
    set_version(app, "3")
    converges(app)


def test_a_server_error_of_the_new_release_is_shown_as_a_new_process_of_the_app_sees_it(
    deployed,
):
    """With DEBUG off Django logs no traceback: the request is made again to show one."""
    app = deployed
    views = app / "pages" / "views.py"
    good = views.read_text()
    views.write_text(good + "\n\ndef healthz(request):\n    raise RuntimeError('on purpose')\n")
    said = fails_to_deploy(
        app,
        "check app server:",
        "health check of /healthz (Host: localhost) failed: HTTP 500",
        "RuntimeError: on purpose\n    (what the same request in a new process of the app raised)",
    )
    assert "hint: fix the cause and apply again" in said
    # a server error is asked again for 5 s (an app may answer 503 while it warms up): the
    # phase's time counts the failed step
    assert float(re.search(r"phases: prepare ([\d.]+)s", said)[1]) >= 4.5
    fails_in_gunicorn = good.replace(
        "def healthz(request):\n",
        "def healthz(request):\n    if 'gunicorn' in sys.argv[0]:\n        raise RuntimeError()\n",
    )
    views.write_text("import sys\n" + fails_in_gunicorn)
    said = fails_to_deploy(app, "the same request in a new process of the app answered HTTP 200")
    assert "hint: the app server failed where a new process of the app succeeds" in said
    views.write_text(good)
    set_version(app, "3")
    converges(app)


def test_one_host_of_three_failing_while_preparing(deployed):
    app = deployed
    edit_config(
        app,
        '[[hooks]]\ncommand = "python manage.py collectstatic --noinput"',
        '[[hooks]]\ncommand = "python manage.py collectstatic --noinput"\n\n'
        '[[hooks]]\ncommand = "test $(hostname) != sandbox-3"',
    )
    said = fails_to_deploy(app, "sandbox-3: hooks:")
    assert "sandbox-1: hooks:" not in said
    assert "recovery itself failed" not in said
    edit_config(app, '\n\n[[hooks]]\ncommand = "test $(hostname) != sandbox-3"', "")
    set_version(app, "3")
    converges(app)


def template_for_sandbox_3(app, line: str) -> None:
    """Our nginx template plus a header, and `line` in sandbox-3's site only."""
    override_nginx_template(app, "v2")
    template = app / "deploy_templates" / "nginx.conf.j2"
    template.write_text(
        template.read_text().replace(
            "    location / {",
            f'    {{% if host.name == "sandbox-3" %}}{line}{{% endif %}}\n    location / {{',
        )
    )


def v1_site_config_is_live() -> None:
    for address in host_addresses():
        status, _, headers = urllib_get(address)
        assert status == 200 and "X-Site-Config" not in headers, "v1's site config is live"


def test_interrupting_apply_after_the_switch_switches_every_host_back(deployed):
    """sandbox-3's new site answers 503: its site check retries after every host switched;
    Ctrl-C then puts every host back on release 1, as a failure there would."""
    app = deployed
    template_for_sandbox_3(app, "location = /healthz { return 503; }")
    set_version(app, "2")
    applying = start("apply", *INVENTORY, "--yes", cwd=app)
    said = []
    while not any("all 3 hosts: switch done" in line for line in said):
        line = applying.stderr.readline()
        assert line, "".join(said)
        said.append(line)
    applying.send_signal(signal.SIGINT)
    stdout, rest = applying.communicate(timeout=120)
    stderr = "".join(said) + rest
    assert applying.returncode == 130, stdout + stderr
    assert "apply was interrupted after switching; every host was switched back" in stderr
    v1_site_config_is_live()
    fleet_serves("1", "1")
    no_leftovers()
    (app / "deploy_templates" / "nginx.conf.j2").unlink()
    set_version(app, "3")
    converges(app)


def test_a_step_is_named_once_it_has_run_the_progress_seconds():
    """Checked each second: a step that starts between two checks every `every` seconds from
    the start (at 2 and 4 here) is named at 3, once it has run 2 s."""
    said: list[str] = []
    progress = Progress(said.append, 1)
    heartbeat = gevent.spawn(progress.still_running, 2)
    try:
        gevent.sleep(0.5)
        progress.running["web1", "op"] = ("hooks", time.monotonic())
        gevent.sleep(2.9)
        assert len(said) == 1 and said[0].startswith("still running: hooks on web1 ("), said
    finally:
        heartbeat.kill()


def test_undoing_runs_to_its_end_through_interrupts():
    """A second Ctrl-C while an apply is undone is said, not obeyed."""
    said = []
    main = greenlet.getcurrent()
    for at in (0.05, 0.1):
        gevent.spawn_later(at, main.throw, KeyboardInterrupt())

    def undo() -> str:
        gevent.sleep(0.3)
        return "undone"

    try:
        assert through_interrupts(undo, said.append, "undoing first") == "undone"
    except KeyboardInterrupt:
        pytest.fail("an interrupt stopped it halfway")
    assert said == ["undoing first", "undoing first"]


def test_nginx_rejecting_the_new_site_config_on_one_host_before_any_switch(deployed):
    app = deployed
    template_for_sandbox_3(app, "no_such_directive on;")
    fails_to_deploy(
        app,
        "failed while preparing; no host was switched",
        "sandbox-3: check nginx config:",
        "no_such_directive",
    )
    v1_site_config_is_live()
    for address in host_addresses():
        check = on_host(address, "nginx -t && grep -c X-Site-Config /srv/hello/nginx/site.conf")
        assert check.returncode == 1 and check.stdout.strip() == "0", "v1's config put back"
    (app / "deploy_templates" / "nginx.conf.j2").unlink()
    set_version(app, "3")
    converges(app)


def test_one_host_failing_after_the_others_switched(deployed):
    """sandbox-3's new site answers 503 through nginx: seen only after every host switched."""
    app = deployed
    template_for_sandbox_3(app, "location = /healthz { return 503; }")
    said = fails_to_deploy(
        app, "switched back to its previous release", "sandbox-3: check site:", "HTTP 503"
    )
    assert "all 3 hosts: switch done" in said, "every host had switched"
    v1_site_config_is_live()
    hosts = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)["hosts"]
    assert [h["failed"] for h in hosts.values()] == [[2]] * 3, "kept, marked failed"
    for address in host_addresses():
        assert release_state(address, 1) == "active" and release_state(address, 2) == "failed"
    refused = shipstate("set-active", "2", *INVENTORY, "--yes", cwd=app)
    assert refused.code == 1 and "release 2 failed its checks" in refused.stderr
    (app / "deploy_templates" / "nginx.conf.j2").unlink()
    set_version(app, "3")
    converges(app)


def release_state(address: str, release: int) -> str:
    return on_host(address, f"cat /srv/hello/releases/{release}/.shipstate/state").stdout.strip()


def urllib_get(address: str):
    return http_get(f"http://{address}/")


@pytest.mark.parametrize("delay", [0.5, 2.5, 5.0])
def test_sigkill_at_any_moment_leaves_old_or_new_and_apply_converges(deployed, delay):
    app = deployed
    set_version(app, "2")
    victim = start("apply", *INVENTORY, "--yes", cwd=app)
    time.sleep(delay)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    for address in host_addresses():
        assert served(address)[0] in ("1", "2"), "every host serves a whole release"
    ok("lock", "release", *INVENTORY, "--force", "--yes", cwd=app)
    set_version(app, "3")
    converges(app)


def test_killed_before_the_new_release_was_ready(deployed):
    """Killed once release 2 is in place, before its app server answered: 2 is no release
    (never chosen by set-active, shown as interrupted) and the next apply removes it."""
    app = deployed
    set_version(app, "2")
    victim = start("apply", *INVENTORY, "--yes", cwd=app)
    seen = []
    for line in victim.stderr:
        seen.append(line)
        if "release in place done" in line:
            break
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert "release in place done" in "".join(seen), seen
    fleet_serves("1", "1")
    ok("lock", "release", *INVENTORY, "--force", "--yes", cwd=app)
    listed = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    for host in listed["hosts"].values():
        assert [r["id"] for r in host["releases"]] == [1], host
        assert any("2" in name for name in host["interrupted"]), host
    assert "interrupted" in ok("releases", *INVENTORY, cwd=app).stdout
    assert "leftover" in ok("plan", *INVENTORY, cwd=app).stdout
    latest = ok("set-active", "latest", *INVENTORY, "--yes", cwd=app)
    assert "leftover" in latest.stdout, "set-active removes what the interrupted apply left"
    fleet_serves("1", "1")
    set_version(app, "3")
    converges(app)
    assert release_ids(app) == {(1, 2)}, "the new release 2 is version 3: the old 2 is gone"


def test_ssh_connection_dropped_while_preparing(deployed):
    """sandbox-2's sshd sessions are killed mid-apply: no host is switched, the others are
    cleaned up, and once the lock left on sandbox-2 is released, apply converges."""
    app = deployed
    config = app / "shipstate.toml"
    before = config.read_text()
    config.write_text(before + '\n[[hooks]]\ncommand = "sleep 10"\nrun = "every-host"\n')
    set_version(app, "2")
    victim = start("apply", *INVENTORY, "--yes", cwd=app)
    for line in victim.stderr:
        if "all 3 hosts: upload done" in line:
            break
    # while the hook sleeps; OpenSSH 10 names a session's process sshd-session
    dropped = on_host(host_addresses()[1], "pkill -f '^sshd(-session)?: deploy'")
    assert dropped.returncode == 0, dropped.stderr
    _, stderr = victim.communicate(timeout=300)
    assert victim.returncode == 1, stderr
    assert "Traceback" not in stderr and "sandbox-2" in stderr, stderr
    assert "no host was switched" in stderr, stderr
    fleet_serves("1", "1")
    ok("lock", "release", *INVENTORY, "--force", "--yes", cwd=app)
    config.write_text(before)
    set_version(app, "3")
    converges(app)


def test_a_connection_ending_as_a_command_starts_fails_that_host_alone(fleet):
    """paramiko raises EOFError when the connection ends as a command starts (its reader saw
    the end before the command's channel opened): that host's step failed, the others ran."""
    said = []
    with Fleet(load_inventory(fleet)[:2], said.append) as connected:
        ending, other = connected.hosts
        client = ending.connector.client

        def connection_ends(*args, **kwargs):
            client.get_transport().close()
            raise EOFError

        client.exec_command = connection_ends
        failures = connected.run(
            lambda state: add_op(state, server.shell, commands=["true"], name="say hi")
        )
        assert run_command(ending, StringCommand("true"))[0] is False
    assert [(f.host, f.operation) for f in failures] == [(ending.name, "say hi")], failures
    assert "connection lost" in failures[0].output
    assert connected.changed()[other.name] == ["say hi"]


def load(address: str, stop: threading.Event, seen: list, errors: list) -> None:
    """Steady requests through nginx until `stop`; bounded to 10 minutes."""
    deadline = time.monotonic() + 600
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{address}/healthz", timeout=10) as answer:
                seen.append(answer.read().decode())
        except Exception as exc:  # every failure counts
            errors.append(repr(exc))
        time.sleep(0.01)


def test_zero_failed_requests_during_apply_and_set_active(deployed):
    app = deployed
    set_version(app, "2")
    address = host_addresses()[0]
    stop, seen, errors = threading.Event(), [], []
    worker = threading.Thread(target=load, args=(address, stop, seen, errors))
    worker.start()
    try:
        time.sleep(1)
        ok("apply", *INVENTORY, "--yes", cwd=app)
        ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
        ok("set-active", "latest", *INVENTORY, "--yes", cwd=app)
        time.sleep(1)
    finally:
        stop.set()
        worker.join()
    assert errors == [], errors[:5]
    assert len(seen) > 100
    pairs = {(answer["version"], answer["release"]) for answer in map(json.loads, seen)}
    assert pairs == {("1", "1"), ("2", "2")}, "each response wholly from the old or the new"


def test_full_disk_on_one_host_while_building(app):
    """sandbox-2's app root is a small size-limited mount: its release build runs out of space."""
    full = host_addresses()[1]
    others = [a for a in host_addresses() if a != full]
    ok("apply", *INVENTORY, "--limit", "sandbox-1", "--limit", "sandbox-3", "--yes", cwd=app)
    small = on_host(
        full,
        "mount -t tmpfs -o size=8m,mode=755 full-srv /srv/hello && "
        "install -d -o deploy -g deploy /srv/hello /srv/hello/supervisor",
    )
    assert small.returncode == 0, small.stderr
    try:
        set_version(app, "2")
        result = shipstate("apply", *INVENTORY, "--yes", cwd=app)
        assert result.code == 1 and "Traceback" not in result.output, result.output
        assert "no host was switched" in result.stderr and "sandbox-2" in result.stderr
        assert "No space left on device" in result.stderr, result.stderr
        for address in others:
            assert served(address) == ("1", "1")
        left = on_host(full, "ls -A /srv/hello/releases /srv/hello/envs 2>/dev/null; true")
        assert "building" not in left.stdout and "2" not in left.stdout.split(), left.stdout
        no_leftovers()

        assert on_host(full, "mount -o remount,size=1g /srv/hello").returncode == 0
        ok("apply", *INVENTORY, "--yes", cwd=app)
        fleet_serves("2", "2")
        assert "No changes" in ok("plan", *INVENTORY, cwd=app).stdout
    finally:
        on_host(
            full, "rm -f /srv/hello/supervisor/*.conf; supervisorctl update; umount -l /srv/hello"
        )


def test_a_host_without_the_configured_python_is_named_before_anything_changes(deployed):
    app = deployed
    edit_config(app, "workers = 2\n", 'workers = 2\npython = "python3.99"\n')
    commit(app, "a python the hosts lack")
    for command in (("plan",), ("apply", "--yes")):
        result = shipstate(*command, *INVENTORY, cwd=app)
        assert result.code == 1, result.output
        assert "Traceback" not in result.output
        assert "cannot read the host's state: its Python was not found" in result.stderr
        assert "`python` in shipstate.toml" in result.stderr
    fleet_serves("1", "1")
    no_leftovers()
