"""`shipstate init` on a Django project it has never seen, then a real deploy."""

import re
import shlex
import shutil
import stat
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from unittest.mock import ANY

import pytest

from conftest import (
    commit,
    commit_all,
    git,
    host_addresses,
    http_get,
    ok,
    on_host,
    reset_app_on_hosts,
    shipstate,
)
from shipstate.app_processes import FrontendBuild
from shipstate.app_requirements import SERVER_PACKAGES, allows, needing_server_packages
from shipstate.config import parse_config
from shipstate.django_settings import as_configuration, split_settings_notes
from shipstate.errors import ShipstateError
from shipstate.init import detect, init, render_config
from shipstate.settings_read import (
    SETTING_NOTES,
    as_servers_run_them,
    environment_required,
    files_read,
    presence_switch,
    production_switch,
)


def django_project(path):
    path.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(path)], check=True
    )
    (path / "requirements.txt").write_text("Django==5.2.19\ngunicorn==27.0.1\n")  # newest
    return path


def config_written_for(found):
    """The configuration init writes for what it found."""
    return parse_config(tomllib.loads(render_config(found)), "shipstate.toml")


def startproject(path):
    return commit_all(django_project(path), "django-admin startproject")


def deploy_serving_the_admin(app, fleet, login="/admin/login/", showing="Django"):
    """Commit what init wrote, apply it to the sandbox: every host serves Django's admin (or
    the page at `login`, `showing` that)."""
    commit(app, "shipstate init")
    (app / "inventories" / "sandbox.py").write_text(fleet.read_text())
    ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=app)
    for address in host_addresses():
        status, body, _ = http_get(f"http://{address}{login}", host="localhost")
        assert status == 200 and showing in body


def uploaded_settings(found) -> tuple[str | None, str]:
    """The settings file the config init writes has [secrets] upload as it is (the same path,
    not as variables), and its server_name (the health check's Host: one Django allows)."""
    config = config_written_for(found)
    secrets = config.secrets
    as_is = secrets and secrets.file == secrets.path and not secrets.environment
    return (secrets.file if as_is else None), config.server_name


def run_on_the_sandbox(app, script: str) -> str:
    """What `script` printed, run by `shipstate run` in the active release."""
    return ok("run", "-i", "inventories/sandbox.py", "--", "sh", "-c", script, cwd=app).stdout


def test_init_then_deploy_a_fresh_startproject(tmp_path, fleet):
    reset_app_on_hosts()
    project = startproject(tmp_path / "hello")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text() + 'MEDIA_ROOT = BASE_DIR / "uploads"\nMEDIA_URL = "files/"\n'
    )
    commit(project, "uploads")
    written = ok("init", "--templates", cwd=project).stdout
    assert "wrote shipstate.toml" in written and "deploy_templates/nginx.conf.j2" in written
    assert "\n  shipstate sandbox up --hosts 2 && shipstate apply -i inventories/sandbox.py\n" in (
        written
    ), "no packages to install first"
    config = (project / "shipstate.toml").read_text()
    assert 'wsgi = "mysite.wsgi:application"' in config
    assert 'shared = ["db.sqlite3", "uploads/"]' in config
    assert 'media_root = "uploads"' in config and 'media_url = "/files/"' in config
    assert 'health_path = "/admin/login/"' in config
    assert 'inputs = ["**/migrations/*.py", "mysite/settings.py"]' in config
    again = shipstate("init", cwd=project)
    assert again.code == 1 and "error: would overwrite shipstate.toml\n" in again.stderr
    assert "hint: pass --force to overwrite it (inventories that exist are kept)" in again.stderr
    production = project / "inventories" / "production.py"
    production.write_text('web = ["app1.example.com"]\n')
    forced = ok("init", "--force", cwd=project).stdout
    assert "wrote shipstate.toml" in forced and "kept inventories/production.py" in forced
    assert production.read_text() == 'web = ["app1.example.com"]\n', "the user's hosts stay"
    deploy_serving_the_admin(project, fleet)
    # an upload saved as the app server saves it (its umask: 0o007), on every host
    save = (
        "from django.core.files.base import ContentFile; "
        "from django.core.files.storage import default_storage as storage; "
        "print(storage.save('notes/hello.txt', ContentFile(b'uploaded')))"
    )
    upload = f"umask 007 && python manage.py shell -c {shlex.quote(save)}"
    ok("run", "-i", "inventories/sandbox.py", "--all", "--", "sh", "-c", upload, cwd=project)
    (project / "mysite" / "urls.py").write_text(
        (project / "mysite" / "urls.py").read_text() + "# a code-only change\n"
    )
    commit(project, "code only")
    again = ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=project).stdout
    assert "so skipped: `python manage.py migrate --noinput`" in again
    for address in host_addresses():
        assert http_get(f"http://{address}/files/notes/hello.txt") == (200, "uploaded", ANY)
        assert http_get(f"http://{address}/files../db.sqlite3")[0] != 200
        # gunicorn 25.1+ control sockets: each running release's own, not one in $HOME
        controls = [f"/srv/hello/releases/{n}/.shipstate/gunicorn.ctl" for n in (1, 2)]
        connect = (
            "import socket, sys\nfor p in sys.argv[1:]: socket.socket(socket.AF_UNIX).connect(p)"
        )
        answered = on_host(address, shlex.join(["python3", "-c", connect, *controls]), "deploy")
        assert answered.returncode == 0, answered.stderr


def test_init_then_deploy_keeps_the_sqlite_database_the_dotenv_it_copies_names(tmp_path, fleet):
    """DATABASE_URL=sqlite:///db.sqlite3 is relative to where the app runs: each release's
    own file, empty, unless `shared` keeps one per host; apply refuses a config without it."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    settings = project / "mysite" / "settings.py"
    text = re.sub(r"^DATABASES = \{.*?^\}$", "", settings.read_text(), flags=re.M | re.S)
    settings.write_text(
        "import dj_database_url\n" + text + 'DATABASES = {"default": dj_database_url.config()}\n'
    )
    with (project / "requirements.txt").open("a") as requirements:
        requirements.write("dj-database-url==3.1.2\n")
    (project / ".gitignore").write_text(".env\n")
    (project / ".env").write_text("DATABASE_URL=sqlite:///db.sqlite3\n")
    commit_all(project, "a database URL in .env")
    said = ok("init", cwd=project)
    assert "DATABASE_URL in .env is SQLite (db.sqlite3, in the directory" in said.stderr
    assert "your .env has it: `cp .env secrets/sandbox.env`" in said.stdout
    shutil.copy(project / ".env", project / "secrets" / "sandbox.env")
    deploy_serving_the_admin(project, fleet)
    count_users = "from django.contrib.auth.models import User; print(User.objects.count())"
    add_user = "from django.contrib.auth.models import User; User.objects.create(username='ann')"
    ok("run", "-i", "inventories/sandbox.py", "--all", "--", "python", "manage.py", "shell",
       "-c", add_user, cwd=project)  # fmt: skip
    (project / "mysite" / "urls.py").write_text(
        (project / "mysite" / "urls.py").read_text() + "# a code-only change\n"
    )
    commit(project, "code only")
    ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=project)
    counted = ok("run", "-i", "inventories/sandbox.py", "--all", "--", "python", "manage.py",
                 "shell", "-c", count_users, cwd=project).stdout  # fmt: skip
    assert re.findall(r"^\S*\s*(\d+)$", counted, re.M) == ["1"] * len(host_addresses()), counted
    config = project / "shipstate.toml"
    config.write_text(config.read_text().replace('shared = ["db.sqlite3", ', "shared = ["))
    commit(project, "db.sqlite3 no longer shared")
    refused = shipstate("plan", "-i", "inventories/sandbox.py", cwd=project)
    assert refused.code == 1 and "Traceback" not in refused.stderr
    assert (
        "error: DATABASE_URL (secrets/sandbox.env) names a SQLite file in the release "
        "(db.sqlite3): each release would start with an empty database of its own" in refused.stderr
    )


def test_init_then_deploy_a_project_kept_in_src(tmp_path, fleet):
    """The repository holds requirements.txt; the Django project is in src/."""
    reset_app_on_hosts()
    app = tmp_path / "hello"
    project = django_project(app / "src")
    (project / "requirements.txt").rename(app / "requirements.txt")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'STATIC_ROOT = BASE_DIR / "staticfiles"\n')
    commit_all(app, "src layout")
    ok("init", cwd=app)
    config = (app / "shipstate.toml").read_text()
    assert 'workdir = "src"' in config and 'requirements = "requirements.txt"' in config
    assert 'shared = ["src/db.sqlite3", "src/media/"]' in config
    assert 'static_root = "src/staticfiles"' in config
    deploy_serving_the_admin(app, fleet)
    for address in host_addresses():
        assert http_get(f"http://{address}/static/admin/css/base.css")[0] == 200
    ran = run_on_the_sandbox(app, "pwd && ls -l db.sqlite3 && python manage.py showmigrations auth")
    assert "/srv/hello/releases/1/src\n" in ran and "/srv/hello/shared/src/db.sqlite3" in ran
    assert "[X] 0001_initial" in ran, "migrate ran in src/, on the shared database"
    settings.write_text(settings.read_text() + "# a code-only change\n")
    commit(app, "code only")
    ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=app)
    (app / "shipstate.toml").write_text(config.replace('workdir = "src"', 'workdir = "app"'))
    commit(app, "a workdir the app does not have")
    refused = shipstate("plan", "-i", "inventories/sandbox.py", cwd=app)
    assert refused.code == 1 and "workdir 'app' is not a directory in commit" in refused.stderr


def test_init_then_deploy_a_project_whose_modules_are_in_src_beside_manage_py(tmp_path, fleet):
    """A src layout: manage.py at the root, the project's package in src/ (which manage.py does
    not put on sys.path here: shipstate's `pythonpath` does, for hooks and the app server)."""
    reset_app_on_hosts()
    app = django_project(tmp_path / "hello")
    (app / "src").mkdir()
    (app / "mysite").rename(app / "src" / "mysite")
    settings = app / "src" / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'STATIC_ROOT = BASE_DIR / "staticfiles"\n')
    commit_all(app, "src layout")
    ok("init", cwd=app)
    config = (app / "shipstate.toml").read_text()
    assert 'wsgi = "mysite.wsgi:application"' in config and "workdir" not in config
    assert 'pythonpath = ["src"]' in config
    assert 'shared = ["src/db.sqlite3", "media/"]' in config, "BASE_DIR is src/"
    assert 'static_root = "src/staticfiles"' in config
    assert '"src/mysite/settings.py"]' in config, "the settings are the hooks' inputs"
    deploy_serving_the_admin(app, fleet)
    for address in host_addresses():
        assert http_get(f"http://{address}/static/admin/css/base.css")[0] == 200
    ran = run_on_the_sandbox(
        app,
        "python -c 'import mysite; print(mysite.__file__)' && python manage.py showmigrations auth",
    )
    assert "/srv/hello/releases/1/src/mysite/__init__.py" in ran
    assert "[X] 0001_initial" in ran, "migrate ran with src/ on sys.path"
    (app / "shipstate.toml").write_text(
        config.replace('pythonpath = ["src"]', 'pythonpath = ["lib"]')
    )
    commit(app, "a pythonpath the app does not have")
    refused = shipstate("plan", "-i", "inventories/sandbox.py", cwd=app)
    assert refused.code == 1 and "pythonpath 'lib' is not a directory in commit" in refused.stderr


def test_init_names_a_virtualenv_or_node_modules_git_tracks(tmp_path):
    """As a beginner's repository may hold them: every release would upload them."""
    project = django_project(tmp_path / "shop")
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / "web" / "node_modules" / "lib").mkdir(parents=True)
    (project / "web" / "node_modules" / "lib" / "index.js").write_text("")
    commit_all(project, "everything")
    said = ok("init", cwd=project).stderr
    assert (
        "note: git tracks .venv/, a virtualenv (the servers build their own): every release "
        "would upload it; `git rm -r --cached .venv/`, add it to .gitignore and commit"
    ) in said
    assert "note: git tracks web/node_modules/, the frontend's packages" in said


def test_init_keeps_the_secrets_files_out_of_git(tmp_path):
    """The config's [secrets] names secrets/{inventory}.env: init has git ignore that
    directory (once), unless it does already."""
    project = startproject(tmp_path / "hello")
    (project / ".gitignore").write_text("*.pyc")  # no newline at its end
    written = ok("init", cwd=project).stdout
    assert "added /secrets/ to .gitignore (secrets files stay out of git)" in written
    (project / "secrets").mkdir()
    (project / "secrets" / "production.env").write_text("SECRET_KEY=x\n")
    git(project, "add", "-A")
    tracked = git(project, "ls-files").split()
    assert "shipstate.toml" in tracked and "secrets/production.env" not in tracked
    assert (project / ".gitignore").read_text().startswith("*.pyc\n# shipstate's secrets")
    ok("init", "--force", cwd=project)
    assert (project / ".gitignore").read_text().count("/secrets/") == 1
    ignoring = startproject(tmp_path / "ignoring")
    (ignoring / ".gitignore").write_text("*.env\n")
    assert "gitignore" not in ok("init", cwd=ignoring).stdout
    assert (ignoring / ".gitignore").read_text() == "*.env\n"


def test_init_finds_the_project_in_a_directory_of_the_app(tmp_path):
    app = tmp_path / "repo"
    django_project(app / "backend")
    found = detect(app)
    assert (found.workdir, found.requirements) == ("backend", "backend/requirements.txt")
    assert found.settings_paths == ("backend/mysite/settings.py",)
    assert found.sqlite_file == "backend/db.sqlite3"
    assert detect(app / "backend").workdir is None, "in the project itself: no workdir"
    assert detect(app / "backend").name == "backend", "no repository: the directory's name"
    commit_all(app, "a repository with its Django project in backend/")
    assert detect(app / "backend").name == "repo", "a part of the repository: the repository's"
    assert detect(app).name == "repo"
    (app / "requirements.txt").write_text("Django\n")
    assert detect(app).requirements == "requirements.txt", "the app's own first"
    django_project(app / "other")
    refused = shipstate("init", cwd=app)
    assert refused.code == 1 and "one in each of backend, other" in refused.stderr


def test_init_names_the_django_project_git_tracks_deeper_and_where_to_run(tmp_path):
    repository = tmp_path / "monorepo"
    django_project(repository / "services" / "web")
    commit_all(repository, "a Django project in services/web/")
    refused = shipstate("init", cwd=repository)
    assert refused.code == 1 and "deeper: services/web/manage.py" in refused.stderr
    assert "e.g. `shipstate -C services init`" in refused.stderr
    ok("-C", "services", "init", cwd=repository)
    written = tomllib.loads((repository / "services" / "shipstate.toml").read_text())
    assert written["workdir"] == "web"


@pytest.mark.parametrize(
    "line",
    [
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")',
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'mysite.settings'",
    ],
)
def test_init_reads_the_settings_manage_py_sets_either_way(tmp_path, line):
    project = startproject(tmp_path / "set")
    manage = project / "manage.py"
    manage.write_text(re.sub(r"os\.environ\.setdefault\([^)]*\)", line, manage.read_text()))
    assert line in manage.read_text()
    found = detect(project)
    assert found.settings == "mysite.settings"
    assert not any("in a way shipstate does not read" in note for note in found.notes)


def test_init_takes_the_only_settings_module_when_manage_py_computes_its_name(tmp_path):
    project = startproject(tmp_path / "computed")
    manage = project / "manage.py"
    computed = 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", os.getenv("SETTINGS", "x"))'
    manage.write_text(re.sub(r"os\.environ\.setdefault\([^)]*\)", computed, manage.read_text()))
    found = detect(project)
    assert found.settings == "mysite.settings"
    assert any(
        "the servers get mysite.settings, the only settings module for" in n for n in found.notes
    )

    settings = project / "mysite" / "settings"
    settings.mkdir()
    (settings / "production.py").write_text("from mysite.settings import *\n")
    (project / "mysite" / "settings.py").rename(project / "mysite" / "common.py")
    found = detect(project)
    assert found.settings == "mysite.settings.production"
    assert any(
        "the servers get mysite.settings.production, the only settings module for them" in n
        for n in found.notes
    )

    (project / "other" / "settings").mkdir(parents=True)
    (project / "other" / "settings" / "prod.py").write_text("")
    with pytest.raises(ShipstateError) as refused:
        detect(project)
    assert "several: mysite.settings.production, other.settings.prod" in str(refused.value)


@pytest.mark.parametrize(
    ("routes", "health"),
    [
        ('path("admin/", admin.site.urls),', "/admin/login/"),
        ('path("healthz/", views.up),\n    path("admin/", admin.site.urls),', "/healthz/"),
        ("re_path(r'^health-check$', views.up),", "/health-check"),
        ('path("backstage/", admin.site.urls),', "/backstage/login/"),
        ("path(settings.ADMIN_URL, admin.site.urls),", "/"),
        ("path('ht/', include('health_check.urls')),", "/ht/"),
        ('re_path(r"^status/", include("health_check.urls")),', "/status/"),
        ('path("polls/<int:pk>/", views.detail),\n    path("polls/", views.index),', "/polls/"),
        ('re_path(r"^api/v1/", include(router.urls)),', "/api/v1/"),
        ('path("polls/", views.index),\n    path("", views.home),', "/"),
        ("url(r'^admin/', admin.site.urls),", "/admin/login/"),  # before Django 4
        ("url(r'^ping/$', views.ping),\n    url(r'^admin/', admin.site.urls),", "/ping/"),
    ],
)
def test_init_checks_health_at_a_route_the_root_urlconf_has_as_written(tmp_path, routes, health):
    project = startproject(tmp_path / "routes")
    urls = project / "mysite" / "urls.py"
    urls.write_text(urls.read_text().replace("path('admin/', admin.site.urls),", routes))
    assert routes in urls.read_text()
    found = detect(project)
    assert found.health_path == health
    told = [n for n in found.notes if n.startswith("no health route")]
    assert bool(told) == (health in ("/", "/polls/", "/api/v1/"))
    assert not told or told[0].startswith(
        f'no health route (healthz, health, ping) nor admin found: health_path = "{health}" ('
        + ("the home page)" if health == "/" else "the root URLconf's first route)")
    )


I18N_ADMIN = 'urlpatterns = i18n_patterns(\n    path("admin/", admin.site.urls),\n)\n'


@pytest.mark.parametrize(
    ("language", "urlpatterns", "health"),
    [
        ('LANGUAGE_CODE = "en-us"', I18N_ADMIN, "/en-us/admin/login/"),
        (
            'LANGUAGE_CODE = "en-us"\nLANGUAGES = [\n    ("en", _("English")),\n    ("de", ""),\n]',
            I18N_ADMIN,
            "/en/admin/login/",
        ),
        (
            'LANGUAGE_CODE = "de"',
            'urlpatterns = [path("healthz", views.up)]\n'
            'urlpatterns += i18n_patterns(path("admin/", admin.site.urls))\n',
            "/healthz",
        ),
        (
            'LANGUAGE_CODE = "de"',
            'urlpatterns = i18n_patterns(\n    path("admin/", admin.site.urls),\n'
            "    prefix_default_language=False,\n)\n",
            "/admin/login/",
        ),
    ],
    ids=["language-code", "generic-language", "health-outside", "unprefixed"],
)
def test_init_checks_health_below_the_default_languages_prefix_of_i18n_patterns(
    tmp_path, language, urlpatterns, health
):
    """django CMS's template serves its admin from i18n_patterns: /admin/login/ redirects."""
    project = startproject(tmp_path / "cms")
    urls = project / "mysite" / "urls.py"
    urls.write_text(re.sub(r"(?ms)^urlpatterns = \[.*?^\]\n", urlpatterns, urls.read_text()))
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("LANGUAGE_CODE = 'en-us'", language))
    assert urlpatterns in urls.read_text() and language in settings.read_text()
    assert detect(project).health_path == health


def test_an_admin_in_i18n_patterns_is_checked_and_served_below_the_language(tmp_path, fleet):
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    urls = project / "mysite" / "urls.py"
    text = re.sub(r"(?ms)^urlpatterns = \[.*?^\]\n", I18N_ADMIN, urls.read_text())
    urls.write_text("from django.conf.urls.i18n import i18n_patterns\n" + text)
    commit_all(project, "the admin in i18n_patterns")
    ok("init", cwd=project)
    assert 'health_path = "/en-us/admin/login/"' in (project / "shipstate.toml").read_text()
    deploy_serving_the_admin(project, fleet, login="/en-us/admin/login/")


# what Heroku's Django tutorial of 2019 changed in the settings startproject wrote
HEROKU_2019_SETTINGS = {
    "from pathlib import Path\n": "import os\nimport dj_database_url\n",
    "BASE_DIR = Path(__file__).resolve().parent.parent": (
        "BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))"
    ),
    "'NAME': BASE_DIR / 'db.sqlite3',": "'NAME': os.path.join(BASE_DIR, 'db.sqlite3'),",
    "ALLOWED_HOSTS = []": "ALLOWED_HOSTS = ['*']",
    "'django.middleware.security.SecurityMiddleware',": (
        "'django.middleware.security.SecurityMiddleware',\n"
        "    'whitenoise.middleware.WhiteNoiseMiddleware',"
    ),
    "STATIC_URL = 'static/'": (
        "STATIC_URL = '/static/'\nSTATIC_ROOT = os.path.join(BASE_DIR, 'staticfiles')\n"
        "STATICFILES_STORAGE = 'whitenoise.storage.CompressedManifestStaticFilesStorage'\n"
        "db_from_env = dj_database_url.config(conn_max_age=500)\n"
        "DATABASES['default'].update(db_from_env)"
    ),
}


def test_init_then_deploy_a_django_2_project_of_herokus_tutorial(tmp_path, fleet):
    """Django 2.2, its admin routed with url(), SQLite unless DATABASE_URL is set: deployed
    as init wrote it."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    for written, changed in HEROKU_2019_SETTINGS.items():
        assert written in text
        text = text.replace(written, changed)
    settings.write_text(text)
    urls = project / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from django.urls import path", "from django.conf.urls import url")
        .replace("path('admin/', admin.site.urls)", "url(r'^admin/', admin.site.urls)")
    )
    (project / "requirements.txt").write_text(
        "Django==2.2.28\ndj-database-url==0.5.0\ngunicorn==22.0.0\nwhitenoise==4.1.4\n"
        "pytz==2019.1\nsqlparse==0.3.0\n"
    )
    (project / "Procfile").write_text("web: gunicorn mysite.wsgi --log-file -\n")
    commit_all(project, "Heroku's tutorial")
    written = ok("init", cwd=project).stdout
    config = (project / "shipstate.toml").read_text()
    assert 'health_path = "/admin/login/"' in config
    assert "\n[secrets]" not in config and "the app needs it" not in written
    deploy_serving_the_admin(project, fleet)
    for address in host_addresses():
        assert http_get(f"http://{address}/static/admin/css/base.css")[0] == 200


# the shape of what `mezzanine-project mysite` writes (Mezzanine 6): its settings run a
# local_settings.py git ignores, holding the key and the database, and name their roots so
MEZZANINE_SETTINGS = """\
import os

ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
DEBUG = False
SITE_ID = 1
USE_I18N = False
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTHENTICATION_BACKENDS = ("mezzanine.core.auth_backends.MezzanineBackend",)

DATABASES = {
    "default": {
        # Ends with "postgresql_psycopg2", "mysql", "sqlite3" or "oracle".
        "ENGINE": "django.db.backends.",
        # DB name or path to database file if using sqlite3.
        "NAME": "",
    }
}

PROJECT_APP_PATH = os.path.dirname(os.path.abspath(__file__))
PROJECT_APP = os.path.basename(PROJECT_APP_PATH)
PROJECT_ROOT = BASE_DIR = os.path.dirname(PROJECT_APP_PATH)
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(PROJECT_ROOT, STATIC_URL.strip("/"))
MEDIA_URL = "/media/"
MEDIA_ROOT = os.path.join(PROJECT_ROOT, MEDIA_URL.strip("/"))
ROOT_URLCONF = "%s.urls" % PROJECT_APP

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(PROJECT_ROOT, "templates")],
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
                "django.template.context_processors.static",
                "mezzanine.conf.context_processors.settings",
                "mezzanine.pages.context_processors.page",
            ],
            "loaders": [
                "mezzanine.template.loaders.host_themes.Loader",
                "django.template.loaders.filesystem.Loader",
                "django.template.loaders.app_directories.Loader",
            ],
        },
    },
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.redirects",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.sitemaps",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mezzanine.boot",
    "mezzanine.conf",
    "mezzanine.core",
    "mezzanine.generic",
    "mezzanine.pages",
    "mezzanine.blog",
]

MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "mezzanine.core.request.CurrentRequestMiddleware",
    "mezzanine.core.middleware.RedirectFallbackMiddleware",
    "mezzanine.pages.middleware.PageMiddleware",
)

PACKAGE_NAME_FILEBROWSER = "filebrowser_safe"
PACKAGE_NAME_GRAPPELLI = "grappelli_safe"
OPTIONAL_APPS = (
    "debug_toolbar",
    "django_extensions",
    PACKAGE_NAME_FILEBROWSER,
    PACKAGE_NAME_GRAPPELLI,
)

f = os.path.join(PROJECT_APP_PATH, "local_settings.py")
if os.path.exists(f):
    import sys
    import types

    module_name = "%s.local_settings" % PROJECT_APP
    module = types.ModuleType(module_name)
    module.__file__ = f
    sys.modules[module_name] = module
    exec(open(f, "rb").read())

try:
    from mezzanine.utils.conf import set_dynamic_settings
except ImportError:
    pass
else:
    set_dynamic_settings(globals())
"""
MEZZANINE_URLS = """\
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

admin.autodiscover()
urlpatterns = [
    path("admin/", include(admin.site.urls)),
    path("", TemplateView.as_view(template_name="index.html"), name="home"),
    path("", include("mezzanine.urls")),
]
"""


MEZZANINE_MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    from mezzanine.utils.conf import real_project_name

    settings_module = "%s.settings" % real_project_name("mysite")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""


def mezzanine_project(path):
    project = django_project(path)
    (project / "manage.py").write_text(MEZZANINE_MANAGE_PY)
    (project / "mysite" / "settings.py").write_text(MEZZANINE_SETTINGS)
    (project / "mysite" / "urls.py").write_text(MEZZANINE_URLS)
    (project / "mysite" / "local_settings.py").write_text(
        'DEBUG = True\nSECRET_KEY = "this machine\'s"\nDATABASES = {"default": {"ENGINE": '
        '"django.db.backends.sqlite3", "NAME": "dev.db"}}\n'
    )
    (project / ".gitignore").write_text("local_settings.py\n/static\n*.db\n")
    (project / "requirements.txt").write_text(
        "Mezzanine==6.1.1\nDjango==4.2.30\nsoupsieve==2.7\nbeautifulsoup4==4.13.4\n"
    )
    return commit_all(project, "mezzanine-project mysite")


def test_init_reads_a_mezzanine_project_as_mezzanine_runs_it(tmp_path):
    """Its manage.py's settings module, its roots made of STATIC_URL.strip("/"), its
    OPTIONAL_APPS (installed when they import), the sqlite3 of a comment, and the
    local_settings.py it runs when there is one (what the settings lack without it is said
    there, not once more)."""
    found = detect(mezzanine_project(tmp_path / "hello"))
    assert found.settings == "mysite.settings"
    assert (found.static_root, found.media_root) == ("static", "media")
    assert not [
        n
        for n in found.notes
        if "debug_toolbar" in n or "SQLite database" in n or "sets no" in n or "manage.py" in n
    ]
    assert (
        "the settings import mysite/local_settings.py when there is one, and git has none, and "
        "the settings set no SECRET_KEY without it: shipstate.toml's [secrets] gives each release "
        "one from secrets/sandbox_local_settings.py (and the like for each inventory): write it "
        "as a copy of yours with DEBUG = False and the servers' own SECRET_KEY, ALLOWED_HOSTS and "
        "DATABASES (with SQLite, a file in the project must be in `shared` too"
    ) in "\n".join(found.notes)
    config = config_written_for(found)
    assert (config.secrets.file, config.secrets.path, config.secrets.environment) == (
        "secrets/{inventory}_local_settings.py",
        "mysite/local_settings.py",
        False,
    )
    assert (
        "the DATABASES of mysite/local_settings.py is SQLite (dev.db, in the directory the app "
        "runs in: each release's): it is in `shared`, so the releases of each host keep one "
        "database (migrate runs on every host); for one database for every host, name a database "
        'server in the secrets files and set the migrate hook\'s run = "once"'
    ) in found.notes
    assert config.shared == ("dev.db", "media/") and config.hooks[0].run == "every-host"


def test_init_then_deploy_a_mezzanine_project_with_the_local_settings_init_asks_for(
    tmp_path, fleet
):
    reset_app_on_hosts()
    project = mezzanine_project(tmp_path / "hello")
    said = ok("init", cwd=project).stdout
    assert (
        "with secrets/sandbox_local_settings.py (the app reads it as mysite/local_settings.py; "
        "your mysite/local_settings.py: `cp mysite/local_settings.py "
        "secrets/sandbox_local_settings.py`):"
    ) in said
    config = (project / "shipstate.toml").read_text()
    assert 'outputs = ["static"]' in config and '[secrets]\nfile = "secrets/' in config
    (project / "secrets" / "sandbox_local_settings.py").write_text(
        'SECRET_KEY = "the sandbox\'s own"\nALLOWED_HOSTS = ["*"]\nDATABASES = {"default": '
        '{"ENGINE": "django.db.backends.sqlite3", "NAME": "dev.db"}}\n'
    )  # a copy of this machine's, as init says
    deploy_serving_the_admin(project, fleet, login="/blog/", showing="Mezzanine")
    for address in host_addresses():
        assert http_get(f"http://{address}/static/css/mezzanine.css")[0] == 200


def test_init_names_code_importing_what_newer_pythons_removed(tmp_path):
    """distutils' strtobool in old settings (Python 3.12 removed it; setuptools has it too),
    Mezzanine's `import imp` (3.12), cgi (3.13); not one a `try:` falls back from."""
    project = django_project(tmp_path / "old")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        "from distutils.util import strtobool\n"
        + settings.read_text()
        + "try:\n    import cgi\nexcept ImportError:\n    cgi = None\n"
    )
    (project / "mysite" / "views.py").write_text("def view():\n    import imp\n")
    commit_all(project, "old code")
    said = [n for n in detect(project).notes if n.startswith("the code imports")]
    assert said == [
        "the code imports distutils (mysite/settings.py), which Python 3.12 removed: servers whose "
        "python3 is 3.12 or newer (Ubuntu 24.04's is 3.12, Debian 13's 3.13) cannot start the "
        "app; update that code (Python 3.12's \"What's New\" names what replaces it)",
        "the code imports imp (mysite/views.py), which Python 3.12 removed: servers whose python3 "
        "is 3.12 or newer (Ubuntu 24.04's is 3.12, Debian 13's 3.13) cannot start the app; "
        "update that code (Python 3.12's \"What's New\" names what replaces it)",
    ]
    (project / ".python-version").write_text("3.13\n")
    (project / "requirements.txt").write_text("Django==5.2.19\nsetuptools==80.9.0\n")
    commit(project, "Python 3.13, and setuptools' distutils")
    said = [n for n in detect(project).notes if n.startswith("the code imports")]
    assert said == [
        "the code imports imp (mysite/views.py), which Python 3.12 removed: the app cannot start "
        "on the servers' Python 3.13; update that code (Python 3.12's \"What's New\" names what "
        "replaces it)"
    ]


def test_an_interrupted_init_leaves_the_files_it_was_writing_as_they_were(tmp_path, monkeypatch):
    project = startproject(tmp_path / "edited")
    (project / "shipstate.toml").write_text("# the user's own edits\n")
    (project / ".gitignore").write_text("*.pyc\n")

    def interrupted(self, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        init(project, force=True, copy_templates=False)
    assert (project / "shipstate.toml").read_text() == "# the user's own edits\n"
    assert not list(project.glob(".*.shipstate-tmp")), "no temporary file left"
    monkeypatch.undo()
    init(project, force=True, copy_templates=False)
    assert (project / "shipstate.toml").read_text().startswith("# shipstate configuration")
    assert (project / ".gitignore").read_text().startswith("*.pyc\n# shipstate's secrets files")


def test_init_refuses_what_is_not_a_django_project(tmp_path):
    result = shipstate("init", cwd=tmp_path)
    assert result.code == 1 and "no manage.py" in result.stderr and "Traceback" not in result.stderr


def test_init_prefers_a_uv_lock_to_a_requirements_file(tmp_path):
    project = startproject(tmp_path / "locked")
    assert detect(project).requirements == "requirements.txt"
    assert detect(project).sqlite_file == "db.sqlite3"
    (project / "uv.lock").write_text("version = 1\n")
    assert detect(project).requirements == "uv.lock"


@pytest.mark.parametrize(
    ("files", "taken"),
    [
        (["requirements-dev.txt", "requirements-prod.txt"], "requirements-prod.txt"),
        (["requirements_production.txt", "requirements_test.txt"], "requirements_production.txt"),
        (["requirements/common.txt", "requirements/live.txt"], "requirements/live.txt"),
        (["requirements/common.txt", "requirements/develop.txt"], "requirements/common.txt"),
        (
            ["requirements-docs.txt", "requirements/requirements.txt"],
            "requirements/requirements.txt",
        ),
        (["requirements.txt", "requirements-prod.txt"], "requirements.txt"),
        (["requirements-dev.txt", "requirements-ci.txt"], None),
        (["requirements.in", "requirements-prod.txt"], "requirements-prod.txt"),
        (["requirements.in", "requirements-dev.in"], "requirements.in"),
    ],
)
def test_init_finds_a_requirements_file_named_for_production(tmp_path, files, taken):
    project = django_project(tmp_path / "shop")
    (project / "requirements.txt").unlink()
    for name in files:
        (project / name).parent.mkdir(exist_ok=True)
        (project / name).write_text("Django==5.2.19\n")
    if not taken:
        with pytest.raises(ShipstateError, match="no requirements file found"):
            detect(project)
        return
    found = detect(project)
    assert found.requirements == taken
    compile_it = "requirements.in is pip-tools' input, which pins no versions"
    assert any(note.startswith(compile_it) for note in found.notes) == taken.endswith(".in")


def test_init_takes_a_poetry_pipenv_or_pdm_lock_and_says_why_an_old_poetry_lock_is_not(
    tmp_path,
):
    project = startproject(tmp_path / "poetry")
    fixtures = Path(__file__).parent / "fixtures"
    shutil.copy(fixtures / "pdm" / "pdm.lock", project / "pdm.lock")
    assert detect(project).requirements == "pdm.lock"
    (project / "pdm.lock").unlink()
    shutil.copy(fixtures / "pipenv" / "Pipfile.lock", project / "Pipfile.lock")
    assert detect(project).requirements == "Pipfile.lock"
    lock = (fixtures / "poetry" / "poetry.lock").read_text()
    (project / "poetry.lock").write_text(lock)
    assert detect(project).requirements == "poetry.lock"
    (project / "poetry.lock").write_text(
        lock.replace('lock-version = "2.1"', 'lock-version = "2.0"')
    )
    assert detect(project).requirements == "Pipfile.lock"
    (project / "Pipfile.lock").unlink()
    (project / "requirements.txt").unlink()
    refused = shipstate("init", cwd=project)
    assert refused.code == 1 and "Traceback" not in refused.stderr
    assert "error: poetry.lock is lock-version 2.0, which does not say" in refused.stderr
    assert "hint: run `poetry lock` with Poetry 2 (it keeps the locked" in refused.stderr


@pytest.mark.parametrize(
    ("databases", "shared"),
    [
        ("dj_database_url.config(default=f\"sqlite:///{BASE_DIR / 'db.sqlite3'}\")", "db.sqlite3"),
        ('dj_database_url.parse("sqlite:///" + str(BASE_DIR / "data" / "app.db"))', "data/app.db"),
        ("env.db('DATABASE_URL', default='sqlite:///db.sqlite3')", "db.sqlite3"),
        (  # python-decouple's, as its README casts it
            "config('DATABASE_URL', default=f'sqlite:///{BASE_DIR}/data/db.sqlite3', cast=db_url)",
            "data/db.sqlite3",
        ),
        ('dj_database_url.config(default="sqlite:////var/lib/app/db.sqlite3")', None),
        ('env.db("DATABASE_URL")', None),
    ],
)
def test_init_shares_the_sqlite_file_a_database_url_defaults_to(tmp_path, databases, shared):
    """Else each release would start with a database of its own, losing the last one's data."""
    project = startproject(tmp_path / "url")
    settings = project / "mysite" / "settings.py"
    text = re.sub(r"^DATABASES = \{.*?^\}$", "", settings.read_text(), flags=re.M | re.S)
    settings.write_text(text + f'DATABASES = {{"default": {databases}}}\n')
    found = detect(project)
    assert found.sqlite_file == shared
    config = config_written_for(found)
    assert (shared in config.shared) if shared else not config.shared_files
    assert config.hooks[0].run == ("every-host" if shared else "once")
    said = [note for note in found.notes if note.startswith("the database is SQLite")]
    assert said == ([f"the database is SQLite ({shared}, shared by the releases of each host)"
                     " when the environment gives no database URL: for one database for every "
                     "host, put its URL in the secrets file and set the migrate hook's run = "
                     '"once"'] if shared else [])  # fmt: skip


@pytest.mark.parametrize(
    ("env_file", "url", "shared", "said"),
    [
        (".env", "sqlite:///db.sqlite3", "db.sqlite3", "is SQLite (db.sqlite3, in the directory"),
        (".env", "sqlite:///./db.sqlite3", "db.sqlite3", "is SQLite (db.sqlite3, in the"),
        (".env.example", '"sqlite:///data/app.db"', "data/app.db", "is SQLite (data/app.db,"),
        (".env", "sqlite:////home/me/db.sqlite3", None, "a SQLite file of this machine"),
        (".env", "sqlite:///../db.sqlite3", None, "a SQLite file of this machine"),
        (".env", "postgres://me@localhost/hello", None, None),
        (".env", "sqlite:///:memory:", None, None),
    ],
)
def test_init_shares_the_sqlite_file_the_database_url_of_the_env_names(
    tmp_path, env_file, url, shared, said
):
    """The .env init says to copy into the secrets files: its SQLite file, relative to where
    the app runs, would be each release's own."""
    project = django_project(tmp_path / "url")
    settings = project / "mysite" / "settings.py"
    text = re.sub(r"^DATABASES = \{.*?^\}$", "", settings.read_text(), flags=re.M | re.S)
    settings.write_text(
        "import dj_database_url\n" + text + 'DATABASES = {"default": dj_database_url.config()}\n'
    )
    (project / ".gitignore").write_text(".env\n")
    (project / env_file).write_text(f"SECRET_KEY=x\nDATABASE_URL={url}\nDATABASE_URL=y\n")
    commit_all(project, "a database URL")
    found = detect(project)
    assert found.sqlite_file == shared
    config = config_written_for(found)
    assert (shared in config.shared) if shared else "db.sqlite3" not in config.shared
    assert config.hooks[0].run == ("once" if said is None else "every-host")
    notes = [note for note in found.notes if note.startswith("DATABASE_URL in ")]
    assert len(notes) == (said is not None) and all(said in note for note in notes)
    assert all(note.startswith(f"DATABASE_URL in {env_file} ") for note in notes)
    if said == "a SQLite file of this machine":
        assert "(as sqlite:////srv/url/shared/db.sqlite3;" in notes[0]


@pytest.mark.parametrize(
    ("name", "shared"),
    [('"dev.db"', "dev.db"), ("'data/app.sqlite3'", "data/app.sqlite3")],
)
def test_init_shares_the_sqlite_file_named_relative_to_where_the_app_runs(tmp_path, name, shared):
    project = django_project(tmp_path / "old")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("BASE_DIR / 'db.sqlite3'", name))
    commit_all(project, "a database named as older Djangos did")
    found = detect(project)
    assert found.sqlite_file == shared
    assert not [note for note in found.notes if "SQLite" in note]
    config = config_written_for(found)
    assert config.shared[0] == shared and config.hooks[0].run == "every-host"


def test_init_takes_a_pyproject_listing_dependencies_when_there_is_no_requirements_file(
    tmp_path,
):
    project = startproject(tmp_path / "modern")
    (project / "requirements.txt").unlink()
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[tool.poetry.dependencies]\ndjango = "^5.2"\n')
    refused = shipstate("init", cwd=project)
    assert refused.code == 1 and "Traceback" not in refused.stderr
    assert "error: no requirements file found, only Poetry's [tool.poetry.dependencies] in " in (
        refused.stderr
    )
    assert "hint: lock them (`poetry lock`; shipstate installs what poetry.lock pins)" in (
        refused.stderr
    )
    for unusable in (
        '[project]\nname = "mysite"\ndynamic = ["dependencies"]\ndependencies = []\n',
        "[project\n",
    ):
        pyproject.write_text(unusable)
        refused = shipstate("init", cwd=project)
        assert refused.code == 1 and "no requirements file found" in refused.stderr
        assert "Traceback" not in refused.stderr
    (project / "Pipfile").write_text("")
    refused = shipstate("init", cwd=project)
    assert "error: no requirements file found, only Pipfile\n" in refused.stderr
    assert "hint: lock it (`pipenv lock`) and use Pipfile.lock, commit it, and run" in (
        refused.stderr
    )
    (project / "Pipfile").unlink()
    pyproject.unlink()
    (project / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    refused = shipstate("init", cwd=project)
    assert "error: no requirements file found, only setup.py\n" in refused.stderr
    assert "(`uv pip compile setup.py -o requirements.txt`, or pip-tools'" in refused.stderr
    (project / "setup.py").unlink()
    pyproject.write_text('[project]\nname = "mysite"\ndependencies = ["Django==5.2.19"]\n')
    assert detect(project).requirements == "pyproject.toml"


def test_init_without_requirements_says_how_to_write_them_from_the_projects_virtualenv(
    tmp_path,
):
    """As the Django Girls tutorial leaves a project: Django installed in myvenv/ (git ignores
    it), no requirements file."""
    project = startproject(tmp_path / "blog")
    (project / "requirements.txt").unlink()
    refused = shipstate("init", cwd=project)
    assert "hint: create requirements.txt listing what the app needs (Django...); or uv.lock" in (
        refused.stderr
    )
    venv = project / "myvenv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "pip").write_text("")
    refused = shipstate("init", cwd=project)
    assert refused.code == 1 and "error: no requirements file found\n" in refused.stderr
    assert (
        "(Django...): `myvenv/bin/python -m pip freeze > requirements.txt` writes what its "
        "virtualenv myvenv/ holds (remove what only development needs); or uv.lock"
    ) in refused.stderr.replace("\n", " ")


def test_init_shares_and_serves_the_media_root_the_settings_name(tmp_path):
    project = startproject(tmp_path / "media")
    assert detect(project).media_root is None
    assert 'shared = ["db.sqlite3", "media/"]' in render_config(detect(project))
    settings = project / "mysite" / "settings.py"
    original = settings.read_text()
    for lines, root, url in (
        ('MEDIA_ROOT = BASE_DIR / "public" / "media"\n', "public/media", "/media/"),
        ("MEDIA_ROOT = os.path.join(BASE_DIR, 'up')\nMEDIA_URL = '/up'\n", "up", "/up/"),
        ('MEDIA_ROOT = "/var/www/media"\n', None, "/media/"),
        (
            'APPS_DIR = BASE_DIR / "shop"\nMEDIA_ROOT = str(APPS_DIR / "media")\n',
            "shop/media",
            "/media/",
        ),
        ('MEDIA_ROOT = env("MEDIA_ROOT", default="media")\n', None, "/media/"),
    ):
        settings.write_text(original + lines)
        found = detect(project)
        assert (found.media_root, found.media_url) == (root, url)
        config = config_written_for(found)
        assert config.media_root == root and config.media_url == url
        assert f"{root or 'media'}/" in config.shared


@pytest.mark.parametrize(
    ("line", "url"),
    [
        ('STATIC_URL = "/assets/"', "/assets/"),
        ("STATIC_URL = 'static/'", "/static/"),
        ('STATIC_URL = "https://cdn.example.com/static/"', "/static/"),
    ],
)
def test_init_has_nginx_serve_static_files_at_the_static_url_the_settings_set(tmp_path, line, url):
    project = startproject(tmp_path / "assets")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + f'{line}\nSTATIC_ROOT = BASE_DIR / "static"\n')
    written = render_config(detect(project))
    assert parse_config(tomllib.loads(written), "shipstate.toml").static_url == url
    assert ("static_url =" in written) == (url != "/static/")


def test_init_says_uploads_would_be_lost_when_models_have_file_fields_and_no_media_root(tmp_path):
    project = startproject(tmp_path / "media")
    models = project / "shop" / "models.py"
    models.parent.mkdir()
    models.write_text("class Product(models.Model):\n    name = models.CharField(max_length=9)\n")
    commit_all(project, "a model without files")
    said = "MEDIA_ROOT is not set, and shop/models.py has file fields: uploads would be written"
    assert not [note for note in detect(project).notes if note.startswith(said)]
    models.write_text(models.read_text() + "    photo = models.ImageField(upload_to='p')\n")
    commit_all(project, "its photo")
    assert [note for note in detect(project).notes if note.startswith(said)]
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'MEDIA_ROOT = BASE_DIR / "media"\n')
    assert not [note for note in detect(project).notes if note.startswith(said)]


def test_init_says_uploads_would_be_lost_when_an_installed_app_keeps_files_and_no_media_root(
    tmp_path,
):
    """django-oscar's docs add its apps (product images) to a startproject's settings, and
    sorl-thumbnail: neither sets MEDIA_ROOT."""
    project = startproject(tmp_path / "frobshop")
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    settings.write_text(
        text.replace("INSTALLED_APPS = [", "INSTALLED_APPS = [\n    'oscar.config.Shop',")
    )
    said = "MEDIA_ROOT is not set, and oscar (in INSTALLED_APPS) has file fields: uploads would be"
    assert [note for note in detect(project).notes if note.startswith(said)]
    settings.write_text(text)
    assert not [note for note in detect(project).notes if note.startswith("MEDIA_ROOT is not")]


LOGGING_TO = """
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {{"file": {{"class": "logging.FileHandler", "filename": {}}}}},
    "root": {{"handlers": ["file"], "level": "INFO"}},
}}
"""


@pytest.mark.parametrize(
    ("lines", "shared"),
    [
        ('BASE_DIR / "logs" / "django.log"', "logs/"),
        ("os.path.join(BASE_DIR, 'debug.log')", "debug.log"),
        ('LOG_DIR / "app.log"', "var/log/"),
        ('"/var/log/shop/app.log"', None),
    ],
)
def test_init_shares_where_logging_writes_in_the_project(tmp_path, lines, shared):
    project = startproject(tmp_path / "logs")
    settings = project / "mysite" / "settings.py"
    log_dir = 'LOG_DIR = BASE_DIR / "var" / "log"\n'
    settings.write_text(settings.read_text() + log_dir + LOGGING_TO.format(lines))
    found = detect(project)
    config = config_written_for(found)
    assert config.shared == ("db.sqlite3", "media/", *([shared] if shared else []))
    told = [n for n in found.notes if n.startswith("LOGGING writes ")]
    assert told == ([f"LOGGING writes files in the app: {shared} in `shared`, so each host "
                     "has it, and it outlives releases (the app server's own log: `shipstate "
                     "logs`)"] if shared else [
                     "LOGGING writes /var/log/shop/app.log on the servers: the deploy user must "
                     "be able to write there (make its directory theirs on each server), or write "
                     'in a directory of the app that `shared` lists (BASE_DIR / "logs" / ..., '
                     'with "logs/" in shared)'])  # fmt: skip


def test_a_log_file_in_the_app_is_written_in_shared_and_without_it_named(tmp_path, fleet):
    """logs/ is not in git: init shares it, and the log outlives releases; without it in
    shared, the hint names the handler."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + LOGGING_TO.format('BASE_DIR / "logs" / "app.log"'))
    commit_all(project, "a log file")
    ok("init", cwd=project)
    deploy_serving_the_admin(project, fleet)
    for address in host_addresses():
        assert http_get(f"http://{address}/nothing/", host="localhost")[0] == 404
        logged = on_host(address, "cat /srv/hello/shared/logs/app.log").stdout
        assert "Not Found: /nothing/" in logged, "Django logged the 404 there"
    config = project / "shipstate.toml"
    config.write_text(config.read_text().replace(', "logs/"]', "]"))
    commit(project, "logs/ no longer shared")
    failed = shipstate("apply", "-i", "inventories/sandbox.py", "--yes", cwd=project)
    assert failed.code == 1 and "ValueError: Unable to configure handler 'file'" in (
        failed.stderr
    ), failed.output
    assert "hint: the settings' LOGGING handler file cannot open its file on the servers" in (
        failed.stderr
    )


def test_init_names_settings_not_ready_for_production(tmp_path):
    project = startproject(tmp_path / "fresh")
    result = ok("init", cwd=project)
    for setting in ("DEBUG = True", "ALLOWED_HOSTS = []", "SECRET_KEY"):
        assert f"note: {setting}" in result.stderr, (setting, result.stderr)
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    text = text.replace("DEBUG = True", 'DEBUG = os.environ.get("DEBUG") == "1"')
    text = text.replace("ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = ["example.com"]')
    text = re.sub(r"^SECRET_KEY = .*$", 'SECRET_KEY = os.environ["SECRET_KEY"]', text, flags=re.M)
    text += 'STATIC_ROOT = BASE_DIR / "staticfiles"\nSECURE_SSL_REDIRECT = True\n'
    text += 'CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", True)\nSESSION_COOKIE_SECURE = True\n'
    settings.write_text("import os\n" + text)
    found = detect(project)
    assert found.environment == ("SECRET_KEY", "DEBUG", "SECURE_COOKIES")
    assert found.notes == (
        SETTING_NOTES[4][2],
        SETTING_NOTES[5][2],
        SETTING_NOTES[6][2],
        "the settings read SECRET_KEY, DEBUG, SECURE_COOKIES from the environment: put them in a "
        "secrets file per inventory, see [secrets] in shipstate.toml",
    )
    written = render_config(found)
    assert "# The settings read from the environment: SECRET_KEY, DEBUG, SECURE_COOKIES." in written
    text = settings.read_text().replace("SSL_REDIRECT = True", "SSL_REDIRECT = False")
    text = text.replace("SESSION_COOKIE_SECURE = True", "SESSION_COOKIE_SECURE = False")
    settings.write_text(text.replace('env.bool("SECURE_COOKIES", True)', "False"))
    assert detect(project).notes[0].startswith("the settings read SECRET_KEY")


def test_init_says_how_to_have_static_files_served(tmp_path):
    project = startproject(tmp_path / "static")
    assert "note: STATIC_ROOT is not set" in ok("init", cwd=project).stderr
    written = (project / "shipstate.toml").read_text()
    hook = r"^# (?=\[\[hooks\]\]$|command |inputs |outputs )"
    uncommented = tomllib.loads(re.sub(hook, "", written, flags=re.M))
    settings = project / "mysite" / "settings.py"
    original = settings.read_text()
    settings.write_text(original + 'STATIC_ROOT = BASE_DIR / "staticfiles"\n')
    found = detect(project)
    assert found.static_root == "staticfiles" and not any("STATIC" in n for n in found.notes)
    rendered = tomllib.loads(render_config(found))
    assert uncommented["hooks"] == rendered["hooks"], "uncommented, the hook is as detected"
    assert rendered["hooks"][1]["outputs"] == ["staticfiles"]
    settings.write_text(original + 'STATIC_ROOT = os.environ["STATIC_ROOT"]\n')
    assert "STATIC_ROOT is not a path below BASE_DIR" in detect(project).notes[-2]
    settings.write_text(original + 'STATIC_ROOT = "/var/www/static"\nMEDIA_ROOT = "/var/www/m"\n')
    outside = [n.partition(":")[0] for n in detect(project).notes if "outside the" in n]
    assert outside == [
        "STATIC_ROOT is /var/www/static, outside the releases",
        "MEDIA_ROOT is /var/www/m, outside the app",
    ]
    settings.write_text(
        original + 'STATIC_ROOT = BASE_DIR.parent / "static"\n'
        'MEDIA_ROOT = os.path.join(BASE_DIR, "..", "media")\n'
    )
    found = detect(project)
    assert (found.static_root, found.media_root) == (None, None)
    outside = [n.partition(", outside")[0] for n in found.notes if "outside the" in n]
    assert outside == [
        'STATIC_ROOT is BASE_DIR.parent / "static"',
        'MEDIA_ROOT is os.path.join(BASE_DIR, "..", "media")',
    ]
    settings.write_text(  # Two Scoops' older layout, beside the project
        original + 'STATIC_ROOT = os.path.join(os.path.dirname(BASE_DIR), "staticfiles")\n'
        'MEDIA_ROOT = Path(BASE_DIR).parent / "media"\n'
    )
    found = detect(project)
    assert (found.static_root, found.media_root) == (None, None)
    outside = [n.partition(", outside")[0] for n in found.notes if "outside the" in n]
    assert outside == [
        'STATIC_ROOT is os.path.join(os.path.dirname(BASE_DIR), "staticfiles")',
        'MEDIA_ROOT is Path(BASE_DIR).parent / "media"',
    ]
    for dirs in ('[BASE_DIR / "static"]', '(\n    os.path.join(BASE_DIR, "static"),\n)'):
        settings.write_text(
            f'{original}STATIC_ROOT = BASE_DIR / "static"\nSTATICFILES_DIRS = {dirs}\n'
        )
        assert "STATIC_ROOT (static) is in STATICFILES_DIRS too: Django refuses it" in (
            "\n".join(detect(project).notes)
        )
    settings.write_text(
        f'{original}STATIC_ROOT = BASE_DIR / "static"\nSTATICFILES_DIRS = [BASE_DIR / "assets"]\n'
    )
    assert not [n for n in detect(project).notes if "STATIC" in n]


@pytest.mark.parametrize(
    ("name", "said"),
    [
        (
            "os.path.join(BASE_DIR, '../database/db.sqlite3')",
            "the SQLite database is os.path.join(BASE_DIR, '../database/db.sqlite3'), outside "
            "the project: on the servers that is below the releases' directory",
        ),
        (
            '"/var/lib/shop/db.sqlite3"',
            "the SQLite database is /var/lib/shop/db.sqlite3, outside the app: each server needs "
            "its directory, writable by the deploy user",
        ),
        (  # the Goat's third edition
            "db_path",
            "the SQLite database's file is named by the environment's DB_PATH: each host keeps "
            "its own there (migrate runs on every host); name a file outside the release, which "
            "the next deploy replaces (as /srv/shop/shared/db.sqlite3)",
        ),
    ],
)
def test_a_sqlite_database_outside_the_project_is_named_and_migrated_on_each_host(
    tmp_path, name, said
):
    """As Obey the Testing Goat keeps it: beside the source (second edition), where the
    environment says (third)."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace("BASE_DIR / 'db.sqlite3'", name)
        + 'db_path = os.environ["DB_PATH"]\n'
    )
    found = detect(project)
    assert found.sqlite_file is None and any(note.startswith(said) for note in found.notes)
    config = config_written_for(found)
    assert [hook.run for hook in config.hooks][0] == "every-host"
    assert config.shared == ("media/",)


DIGITALOCEANS_DATABASES = """DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'myproject',
        'USER': 'myprojectuser',
        'PASSWORD': 'password',
        'HOST': 'localhost',
        'PORT': '',
    }
}
"""


def test_init_names_a_database_on_each_server_and_its_password_in_git(tmp_path):
    """DigitalOcean's Django + PostgreSQL + nginx + gunicorn tutorial's settings; its
    STATIC_ROOT os.path.join(BASE_DIR, 'static/') too (init wrote nothing before)."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    text = re.sub(r"(?ms)^DATABASES = \{.*?^\}\n", DIGITALOCEANS_DATABASES, settings.read_text())
    settings.write_text(
        f"import os\n{text}STATIC_ROOT = os.path.join(BASE_DIR, 'static/')\n"
        "MEDIA_ROOT = os.path.join(BASE_DIR, 'media/')\n"
    )
    found = detect(project)
    config = config_written_for(found)
    assert (config.static_root, config.shared) == ("static", ("media/",))
    notes = [note.partition(":")[0] for note in found.notes if "database" in note]
    assert notes == [
        "the database (postgresql) is on each server itself (HOST localhost)",
        "the database's PASSWORD is written in the settings, so in git",
    ]
    settings.write_text(
        settings.read_text()
        .replace("'password'", "os.environ['DB_PASSWORD']")
        .replace("'localhost'", "os.environ['DB_HOST']")
    )
    assert not [note for note in detect(project).notes if "database" in note]
    settings.write_text(settings.read_text().replace("postgresql'", "postgresql_psycopg2'"))
    gone = "ENGINE django.db.backends.postgresql_psycopg2 is gone since Django 3.0"
    assert any(note.startswith(gone) for note in detect(project).notes)


def settings_package(project, used_by_manage: str, **modules: str):
    """A project whose settings are a package of `modules` (module name: source), with
    wsgi.py in the package above it; returns the settings' directory."""
    package, _, _ = used_by_manage.rpartition(".")
    settings = project.joinpath(*package.split("."))
    settings.mkdir(parents=True)
    (project / "manage.py").write_text(
        f'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{used_by_manage}")\n'
    )
    (settings.parent / "__init__.py").write_text("")
    (settings.parent / "wsgi.py").write_text("application = get_wsgi_application()\n")
    (settings / "__init__.py").write_text("")
    for name, source in modules.items():
        (settings / f"{name}.py").write_text(source)
    (project / "requirements.txt").write_text("Django\n")
    return settings


def test_init_serves_the_wsgi_application_the_settings_name(tmp_path):
    """WSGI_APPLICATION's, when the project has its module: not only beside the settings."""
    project = startproject(tmp_path / "shop")
    (project / "server").mkdir()
    (project / "server" / "__init__.py").write_text("")
    (project / "server" / "wsgi.py").write_text("app = get_wsgi_application()\n")
    settings = project / "mysite" / "settings.py"
    named = "WSGI_APPLICATION = 'mysite.wsgi.application'"
    assert named in settings.read_text()
    settings.write_text(settings.read_text().replace(named, 'WSGI_APPLICATION = "server.wsgi.app"'))
    assert detect(project).wsgi == "server.wsgi:app"
    (project / "server" / "wsgi.py").unlink()
    assert detect(project).wsgi == "mysite.wsgi:application", "a module the project lacks"


def test_init_serves_the_asgi_application_the_settings_name(tmp_path):
    project = startproject(tmp_path / "channels")
    assert (detect(project).wsgi, detect(project).asgi) == ("mysite.wsgi:application", None)
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'ASGI_APPLICATION = "mysite.asgi.application"\n')
    (project / "mysite" / "wsgi.py").unlink()
    found = detect(project)
    assert (found.wsgi, found.asgi) == (None, "mysite.asgi:application")
    config = config_written_for(found)
    assert (config.wsgi, config.asgi) == (None, "mysite.asgi:application")


def written_build(found):
    """The [build] init writes commented out, uncommented: (command, outputs)."""
    config = render_config(found)
    block = config[config.index("# [build]") : config.index("# Keys that differ")]
    live = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    build = parse_config({**live, **MINIMAL}, "t").build
    return build.command, build.outputs


def detect_tracked(project):
    """What init finds once git tracks the project's files."""
    git(project, "add", "-A")
    return detect(project)


def test_init_writes_a_frontend_build_package_json_describes_commented_out(tmp_path):
    project = startproject(tmp_path / "frontend")
    (project / "package.json").write_text('{"scripts": {"dev": "vite"}}')
    assert detect_tracked(project).build is None, "no build script"
    (project / "package.json").write_text('{"scripts": {"build": "tsc && vite build"}}')
    (project / "package-lock.json").write_text("{}")
    found = detect_tracked(project)
    assert found.build == FrontendBuild("npm ci && npm run build", "package.json", "dist/")
    assert any(note.startswith("package.json has a build script") for note in found.notes)
    assert written_build(found) == ("npm ci && npm run build", ("dist/",))
    (project / "yarn.lock").write_text("")
    assert detect_tracked(project).build.command == "yarn install --frozen-lockfile && yarn build"


def test_init_builds_a_frontend_in_a_directory_of_the_app_into_what_its_bundler_says(tmp_path):
    project = startproject(tmp_path / "shop")
    frontend = project / "frontend"
    (frontend / "node_modules" / "lib").mkdir(parents=True)
    (frontend / "node_modules" / "lib" / "package.json").write_text('{"scripts": {"build": "x"}}')
    (project / ".gitignore").write_text("node_modules/\n")
    assert detect_tracked(project).build is None, "a dependency's, which git ignores"
    (frontend / "package.json").write_text('{"scripts": {"build": "webpack --mode production"}}')
    (frontend / "pnpm-lock.yaml").write_text("")
    command = "cd frontend && pnpm install --frozen-lockfile && pnpm run build"
    found = detect_tracked(project)
    assert found.build == FrontendBuild(command, "frontend/package.json", None)
    assert written_build(found) == (command, ("static/dist/",)), "to be listed by the user"
    (frontend / "webpack.config.js").write_text(
        "module.exports = {\n  output: {\n    path: path.resolve(__dirname, '..', 'mysite', "
        "'static', 'bundles'),\n    filename: '[name].js',\n  },\n};\n"
    )
    assert detect_tracked(project).build.outputs == "mysite/static/bundles/"
    (frontend / "webpack.config.js").unlink()
    vite = frontend / "vite.config.ts"
    vite.write_text('export default defineConfig({build: {outDir: "../assets/dist"}})\n')
    assert written_build(detect_tracked(project)) == (command, ("assets/dist/",))
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + '\nwith open(BASE_DIR / "assets" / "dist" / "manifest.json") as f:\n    MANIFEST = f\n'
    )
    (project / ".gitignore").write_text("node_modules/\nassets/dist/\n")
    commit_all(project, "the settings read what the build makes")
    read = detect_tracked(project)
    assert read.read_at_start is None and not [n for n in read.notes if "manifest" in n]
    vite.write_text('export default defineConfig({build: {outDir: "/var/www/assets"}})\n')
    assert detect_tracked(project).build.outputs is None, "outside the app: not a release's"
    frontend.rename(project / "web client")
    assert detect_tracked(project).build.command.startswith("cd 'web client' && pnpm install")


def test_init_builds_django_tailwinds_theme_into_the_directory_its_cli_writes(tmp_path):
    """django-tailwind's theme app: its static_src/package.json runs the Tailwind CLI."""
    project = startproject(tmp_path / "shop")
    source = project / "theme" / "static_src"
    source.mkdir(parents=True)
    (source / "package.json").write_text(
        '{"scripts": {"build": "npm run build:clean && npm run build:tailwind", '
        '"build:clean": "rimraf ../static/css/dist", "build:tailwind": "cross-env '
        "NODE_ENV=production tailwindcss --postcss -i ./src/styles.css -o "
        '../static/css/dist/styles.css --minify"}}'
    )
    (source / "package-lock.json").write_text("{}")
    (project / "fabfile.py").write_text(
        "from fabric import task\n\n@task\ndef deploy(c):\n"
        '    c.run("python manage.py tailwind install")\n'
        '    c.run("python manage.py tailwind build")\n'
        '    c.run("python manage.py collectstatic --noinput")\n'
        '    c.run("python manage.py clearsessions")\n'
    )
    found = detect_tracked(project)
    assert found.build == FrontendBuild(
        "cd theme/static_src && npm ci && npm run build",
        "theme/static_src/package.json",
        "theme/static/css/dist/",
    )
    assert (found.former_before_static, found.former_after_static) == ((), ("clearsessions",)), (
        "the fabfile's `tailwind build`, which needs npm on the servers: [build] instead"
    )


def test_the_staging_inventory_gets_the_staging_settings_beside_the_production_ones(tmp_path):
    project = tmp_path / "shop"
    settings_package(
        project,
        "config.settings.local",
        base="DATABASES = {}\nSECRET_KEY = 'x'\n",
        local="from .base import *\n",
        production='from .base import *\nALLOWED_HOSTS = ["shop.example.com"]\n',
        staging='from .production import *\nALLOWED_HOSTS = ["shop.staging-example.net"]\n',
    )
    found = detect(project)
    assert (found.settings, found.staging_settings) == (
        "config.settings.production",
        "config.settings.staging",
    )
    written = tomllib.loads(render_config(found))
    assert written["server_name"] == "shop.example.com"
    assert written["environments"]["staging"] == {
        "server_name": "shop.staging-example.net",
        "env": {"DJANGO_SETTINGS_MODULE": "config.settings.staging"},
    }
    assert found.notes[0] == (
        "manage.py uses config.settings.local; the servers get config.settings.production, the "
        "staging inventory's config.settings.staging"
    )


def test_init_finds_production_settings_and_wsgi_above_a_settings_package(tmp_path):
    """The cookiecutter-django layout: manage.py names config.settings.local, wsgi.py is in
    config/, production.py star-imports base.py."""
    project = tmp_path / "shop"
    settings = settings_package(
        project,
        "config.settings.local",
        base='DEBUG = True\nSTATIC_ROOT = str(BASE_DIR / "staticfiles")\n'
        "INSTALLED_APPS = ['django.contrib.admin']\n"
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}}\n',
        local='from .base import *\nSECRET_KEY = "dev"\n',
        production="from .base import *  # noqa\nDEBUG = False\n"
        'SECRET_KEY = env("DJANGO_SECRET_KEY")\nALLOWED_HOSTS = ["shop.example.com"]\n',
    )
    found = detect(project)
    assert found.settings == "config.settings.production"
    assert found.settings_paths == ("config/settings",), "base.py, production.py: the package"
    production = settings / "production.py"
    production.write_text(production.read_text() + 'STATIC_ROOT = BASE_DIR / "public" / "static"\n')
    assert detect(project).static_root == "public/static", "the override wins"
    production.write_text(production.read_text().replace("STATIC_ROOT = BASE_DIR /", "#"))
    assert found.wsgi == "config.wsgi:application"
    assert found.static_root == "staticfiles"
    assert found.notes == (
        "manage.py uses config.settings.local; the servers get config.settings.production",
        "the settings read DJANGO_SECRET_KEY from the environment: put them in a secrets file "
        "per inventory, see [secrets] in shipstate.toml",
    )


@pytest.mark.parametrize(
    ("file", "imports"),
    [
        ("settings_prod.py", "from .settings import *"),
        ("production_settings.py", "from mysite.settings import *  # noqa: F403"),
        ("production.py", "from .settings import *"),
    ],
)
def test_init_takes_the_production_module_beside_a_flat_settings_module(tmp_path, file, imports):
    """manage.py names mysite.settings; a module beside it star-imports it for production."""
    project = startproject(tmp_path / "shop")
    (project / "mysite" / file).write_text(
        f'{imports}\nDEBUG = False\nALLOWED_HOSTS = ["shop.example.com"]\n'
        'STATIC_ROOT = BASE_DIR / "static"\n'
    )
    found = detect(project)
    production = f"mysite.{file.removesuffix('.py')}"
    assert found.settings == production
    assert found.settings_paths == (f"mysite/{file}", "mysite/settings.py"), "both: hooks' inputs"
    assert (found.static_root, found.served_at.names) == ("static", ("shop.example.com",))
    assert not [note for note in found.notes if "DEBUG" in note or "ALLOWED_HOSTS" in note]
    assert f"manage.py uses mysite.settings; the servers get {production}" in found.notes
    migrate = config_written_for(found).hooks[0]
    assert migrate.inputs == ("**/migrations/*.py", f"mysite/{file}", "mysite/settings.py")


@pytest.mark.parametrize(
    ("lines", "variable"),
    [
        (
            'ENV = os.environ.get("ENV", "dev")\nDEBUG = ENV != "production"',
            ("ENV", "production", None),
        ),
        (
            'DEBUG = os.getenv("DJANGO_ENV", "dev").lower() != "prod"',
            ("DJANGO_ENV", "prod", None),
        ),
        (
            'STAGE: str = env("STAGE")\nif STAGE in ("staging", "production"):\n    DEBUG = False',
            ("STAGE", "production", "staging"),
        ),
        (
            'ENV = os.getenv("ENV", "dev")\nDEBUG = ENV not in ("Prod", "stage")\n'
            'X = os.getenv("X")\nY = X == "staging"',
            ("ENV", "Prod", "stage"),
        ),
        ('DEBUG = os.environ.get("DEBUG") == "1"\nX = "production"\nY = X == "production"', None),
    ],
)
def test_init_sets_the_variable_the_settings_compare_with_production(tmp_path, lines, variable):
    """DEBUG off only when the environment says "production": [env] says it, not the secrets;
    the staging inventory's, when the settings compare it with "staging" too."""
    project = startproject(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("DEBUG = True", f"import os\n{lines}"))
    found = detect(project)
    written = tomllib.loads(render_config(found))
    env = parse_config(written, "shipstate.toml").env
    if variable is None:
        assert found.settings_variable is None and "X" not in env
        return
    name, value, staging = variable
    assert env[name] == value
    assert parse_config(written, "shipstate.toml", "staging").env[name] == (staging or value)
    assert name not in found.environment + found.environment_required, "[env] gives it"
    said = (
        f'the settings compare {name} with "{value}": the servers get {name} = "{value}" in [env]'
    )
    assert said + (f', staging\'s "{staging}"' if staging else "") in found.notes


GOATS_SETTINGS = """
if "DJANGO_DEBUG_FALSE" in os.environ:
    DEBUG = False
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
    ALLOWED_HOSTS = [os.environ["DJANGO_ALLOWED_HOST"]]
else:
    DEBUG = True
    SECRET_KEY = "insecure-key-for-dev"
    ALLOWED_HOSTS = []
"""


def test_the_servers_take_the_settings_branch_a_variable_set_in_env_chooses(tmp_path, fleet):
    """Obey the Testing Goat's settings: production's when DJANGO_DEBUG_FALSE is set. [env]
    sets it, and the variables that branch reads are the secrets file's."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    settings = project / "mysite" / "settings.py"
    text = re.sub(
        r"\nSECRET_KEY = .*?\nALLOWED_HOSTS = \[\]\n",
        GOATS_SETTINGS,
        settings.read_text(),
        flags=re.S,
    )
    settings.write_text("import os\n" + text)
    commit_all(project, "the Goat's settings")
    found = detect(project)
    assert found.settings_variable[:2] == ("DJANGO_DEBUG_FALSE", "1")
    assert found.environment_required == ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOST")
    assert not [n for n in found.notes if "sets no" in n or "DEBUG = True" in n], found.notes
    written = ok("init", cwd=project).stdout
    assert "secrets/sandbox.env (DJANGO_SECRET_KEY=..., DJANGO_ALLOWED_HOST=...:" in written
    (project / "secrets" / "sandbox.env").write_text(
        "DJANGO_SECRET_KEY=the sandbox's\nDJANGO_ALLOWED_HOST=localhost\n"
    )
    deploy_serving_the_admin(project, fleet)
    printed = run_on_the_sandbox(
        project,
        "python manage.py shell -c 'from django.conf import settings; "
        "print(settings.DEBUG, settings.SECRET_KEY)'",
    )
    assert printed.strip().splitlines()[-1] == "False the sandbox's"


def test_the_settings_are_read_as_the_branch_the_servers_take():
    settings = (
        'ENV = os.environ.get("ENV", "dev")\n'
        'if ENV == "production":\n    DEBUG = False\n    ALLOWED_HOSTS = ["shop.example.com"]\n'
        'elif ENV == "staging":\n    DEBUG = True\nelse:\n    DEBUG = True\n'
        "if DEBUG:\n    INSTALLED_APPS += ['debug_toolbar']\n"
        'if not os.getenv("CI"):\n    X = 1\n'
    )
    compared = production_switch(settings)
    assert compared == ("ENV", "production", "staging")
    assert as_servers_run_them(settings, compared, None) == (
        'ENV = os.environ.get("ENV", "dev")\n'
        'DEBUG = False\nALLOWED_HOSTS = ["shop.example.com"]\n'
        'if not os.getenv("CI"):\n    X = 1\n'
    ), "an `if` the servers' environment does not decide is kept; DEBUG's is, once it is set"
    by_debug = (
        "DEBUG = False\nif not DEBUG:\n    SECURE_SSL_REDIRECT = True\n"
        "if settings.DEBUG is True:\n    X = 1\nelse:\n    X = 2\n"
    )
    assert as_servers_run_them(by_debug, None, None) == (
        "DEBUG = False\nSECURE_SSL_REDIRECT = True\nX = 2\n"
    )
    assert as_servers_run_them(by_debug.replace("False", "env.bool('DEBUG')"), None, None) == (
        by_debug.replace("False", "env.bool('DEBUG')")
    ), "DEBUG unknown"
    negated = 'if ENV != "prod":\n    DEBUG = True\nelse:\n    DEBUG = False\n'
    assert as_servers_run_them(negated, ("ENV", "prod", None), None) == "DEBUG = False\n"
    absent = 'if not os.environ.get("LIVE"):\n    DEBUG = True\n'
    assert presence_switch(absent) == "LIVE"
    assert as_servers_run_them(absent, None, "LIVE") == ""
    assert presence_switch('if "CI" in os.environ:\n    DEBUG = True\n') is None


def test_init_names_what_the_settings_set_when_debug_is_off(tmp_path):
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace("DEBUG = True", "DEBUG = False")
        + "\nif not DEBUG:\n    SECURE_SSL_REDIRECT = True\n"
    )
    assert any(n.startswith("SECURE_SSL_REDIRECT may be on") for n in detect(project).notes)


def test_init_takes_the_production_module_named_as_the_development_one_manage_py_uses(tmp_path):
    """settings_dev.py named by manage.py, settings_prod.py beside it; a module that imports no
    settings is not taken for them."""
    project = django_project(tmp_path / "shop")
    manage = project / "manage.py"
    manage.write_text(manage.read_text().replace("mysite.settings", "mysite.settings_dev"))
    (project / "mysite" / "settings_dev.py").write_text("from .settings import *\nDEBUG = True\n")
    (project / "mysite" / "production.py").write_text("PRODUCTION_API = 'https://x'\n")
    assert detect(project).settings == "mysite.settings_dev", "production.py is no settings"
    (project / "mysite" / "settings_prod.py").write_text("DEBUG = False\n")
    assert detect(project).settings == "mysite.settings_prod"


def test_production_settings_git_ignores_are_uploaded_into_each_release(tmp_path, fleet):
    """The production settings are kept out of git (they hold the secrets): init has
    [secrets] upload them, and every host's release runs with them."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    settings = project / "mysite" / "settings"
    settings.mkdir()
    (settings / "__init__.py").write_text("")
    base = (project / "mysite" / "settings.py").read_text()
    (settings / "base.py").write_text(base.replace(".parent.parent", ".parent.parent.parent"))
    (project / "mysite" / "settings.py").unlink()
    (settings / "local.py").write_text("from .base import *\n")
    (settings / "production.py").write_text(
        'from .base import *\nDEBUG = False\nALLOWED_HOSTS = ["shop.example.com", "127.0.0.1"]\n'
        'SECRET_KEY = "kept out of git"\nDEPLOYED_WITH = "the settings git ignores"\n'
    )
    for module in ("manage.py", "mysite/wsgi.py"):
        path = project / module
        path.write_text(path.read_text().replace("mysite.settings'", "mysite.settings.local'"))
    (project / ".gitignore").write_text("mysite/settings/production.py\n")
    commit_all(project, "production settings kept out of git")

    found = detect(project)
    assert (found.settings, found.settings_ignored) == (
        "mysite.settings.production",
        "mysite/settings/production.py",
    )
    assert not any("SECRET_KEY is written in the settings, so in git" in n for n in found.notes)
    assert uploaded_settings(found) == ("mysite/settings/production.py", "shop.example.com")
    noted = ok("init", cwd=project).output
    assert "note: git ignores mysite/settings/production.py, the settings the servers get" in noted
    commit(project, "shipstate init")
    (project / "inventories" / "sandbox.py").write_text(fleet.read_text())
    ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=project)
    for address in host_addresses():
        status, body, _ = http_get(f"http://{address}/admin/login/", host="shop.example.com")
        assert status == 200 and "Django" in body
    printed = run_on_the_sandbox(
        project,
        "python manage.py shell -c 'from django.conf import settings; "
        "print(settings.DEPLOYED_WITH, settings.DEBUG)'",
    )
    assert printed.strip().splitlines()[-1] == "the settings git ignores False"

    (project / ".gitignore").write_text("")  # neither ignored nor committed
    found = detect(project)
    assert found.settings_ignored is None
    uncommitted = "git does not track mysite/settings/production.py, the settings the servers get"
    assert any(note.startswith(uncommitted) for note in found.notes)


TWO_SCOOPS_SECRETS = """
with open(BASE_DIR / "secrets.json") as f:
    secrets = json.load(f)


def get_secret(setting, secrets=secrets):
    try:
        return secrets[setting]
    except KeyError:
        raise ImproperlyConfigured(f"Set the {setting} environment variable")


SECRET_KEY = get_secret("SECRET_KEY")
"""


def test_a_file_git_ignores_that_the_settings_read_is_each_releases_from_the_secrets(
    tmp_path, fleet
):
    """Two Scoops of Django's secrets.json, which git ignores and the settings open as they
    start: init gives each release one from a secrets file per inventory, and the releases
    run with its key."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    settings = project / "mysite" / "settings.py"
    text = settings.read_text().replace(
        "from pathlib import Path\n",
        "import json\nfrom pathlib import Path\n\n"
        "from django.core.exceptions import ImproperlyConfigured\n",
    )
    text = re.sub(r"\nSECRET_KEY = .*\n", TWO_SCOOPS_SECRETS, text)
    text = text.replace("DEBUG = True", "DEBUG = False")
    settings.write_text(text.replace("ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = ["localhost"]'))
    (project / "secrets.json").write_text('{"SECRET_KEY": "the developer\'s"}')
    (project / ".gitignore").write_text("secrets.json\n")
    commit_all(project, "secrets.json, kept out of git")

    written = ok("init", cwd=project).output
    assert "the settings read secrets.json as they start, which git ignores" in written
    secrets = parse_config(tomllib.loads((project / "shipstate.toml").read_text()), "").secrets
    assert (secrets.file, secrets.path, secrets.environment) == (
        "secrets/{inventory}_secrets.json",
        "secrets.json",
        False,
    )
    copy = "`cp secrets.json secrets/sandbox_secrets.json`"
    assert copy in written and "write secrets/production_secrets.json" in written
    subprocess.run(shlex.split(copy.strip("`")), cwd=project, check=True)
    (project / "secrets" / "sandbox_secrets.json").write_text('{"SECRET_KEY": "the sandbox\'s"}')
    deploy_serving_the_admin(project, fleet)
    printed = run_on_the_sandbox(
        project,
        "python manage.py shell -c 'from django.conf import settings; print(settings.SECRET_KEY)'",
    )
    assert printed.strip().splitlines()[-1] == "the sandbox's"

    (project / ".gitignore").write_text("")  # neither ignored nor committed
    found = detect(project)
    assert found.read_at_start is None and config_written_for(found).secrets is None
    assert (
        "the settings read secrets.json as they start, which git does not have: no release "
        "has it; commit it" in "\n".join(found.notes)
    )


@pytest.mark.parametrize(
    "statement",
    [
        'with open(BASE_DIR / "conf" / "secrets.json") as f:\n    secrets = json.load(f)',
        "secrets = json.load(open(os.path.join(BASE_DIR, 'conf', 'secrets.json')))",
        'SECRET_KEY = (BASE_DIR / "conf/secrets.json").read_text().strip()',
        'SECRET_KEY = Path(BASE_DIR, "conf", "secrets.json").read_text()',
        'config = configparser.ConfigParser()\nconfig.read(BASE_DIR / "conf" / "secrets.json")',
        'CONF = BASE_DIR / "conf"\nwith open(CONF / "secrets.json", encoding="utf-8") as f:\n'
        "    pass",
    ],
)
def test_the_files_the_settings_read_as_they_start_are_found_however_written(statement):
    settings = f"BASE_DIR = Path(__file__).resolve().parent.parent\n{statement}\n"
    assert files_read(settings) == (("conf/secrets.json", True),)


def test_a_file_read_in_a_function_or_a_try_is_not_one_the_settings_need_to_start():
    settings = (
        "def key():\n    return open(BASE_DIR / 'key.txt').read()\n"
        "try:\n    with open('local.json') as f:\n        LOCAL = json.load(f)\n"
        "except FileNotFoundError:\n    LOCAL = {}\n"
        "with open('/etc/secret_key.txt') as f:\n    SECRET_KEY = f.read().strip()\n"
    )
    assert files_read(settings) == (("/etc/secret_key.txt", False),)


def test_init_says_each_server_needs_the_file_outside_the_app_the_settings_read(tmp_path):
    """The Django deployment checklist's way: the key read from /etc/secret_key.txt."""
    project = django_project(tmp_path / "checklist")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        re.sub(
            r"\nSECRET_KEY = .*\n",
            '\nwith open("/etc/secret_key.txt") as f:\n    SECRET_KEY = f.read().strip()\n',
            settings.read_text(),
        )
    )
    commit_all(project, "the key outside the project")
    notes = "\n".join(detect(project).notes)
    assert "the settings read /etc/secret_key.txt as they start: each server needs it" in notes


def test_init_uploads_the_local_settings_git_ignores_that_the_settings_import(tmp_path):
    """settings.py ends with `from .local_settings import *` (no `try:`), and git ignores
    local_settings.py, which holds the secrets: every release would fail to import it."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\nfrom .local_settings import *  # noqa\n")
    (project / "mysite" / "local_settings.py").write_text(
        'DEBUG = False\nSECRET_KEY = "kept out of git"\nALLOWED_HOSTS = ["shop.example.com"]\n'
    )
    (project / ".gitignore").write_text("local_settings.py\n")
    commit_all(project, "local settings kept out of git")
    found = detect(project)
    assert found.settings_ignored == "mysite/local_settings.py"
    assert uploaded_settings(found) == ("mysite/local_settings.py", "shop.example.com"), (
        "its ALLOWED_HOSTS, imported last, win"
    )
    assert [n for n in found.notes if "local_settings" in n or "DEBUG" in n] == [
        "git ignores mysite/local_settings.py, which the settings import, so no release has it: "
        "shipstate.toml's [secrets] uploads it from this machine into each release (README: "
        "Secrets)"
    ]
    (project / ".gitignore").write_text("")
    untracked = [n for n in detect(project).notes if "local_settings" in n]
    assert untracked == [
        "git does not track mysite/local_settings.py, which the settings import: commit it "
        "(shipstate deploys commits)"
    ]


@pytest.mark.parametrize(
    "imported",
    ["SECRET_KEY, DATABASES  # kept out of git", "(\n    SECRET_KEY,\n    DATABASES,\n)"],
)
def test_init_uploads_the_module_git_ignores_that_the_settings_import_settings_of(
    tmp_path, imported
):
    """`from .secret_settings import SECRET_KEY, DATABASES`: the settings are what that module
    sets them to (not its other settings), and git ignores it, so [secrets] uploads it."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    text = re.sub(
        r"\nSECRET_KEY = .*\n", f"\nfrom .secret_settings import {imported}\n", settings.read_text()
    )
    text = re.sub(r"\nDATABASES = \{.*?\n\}\n", "\n", text, flags=re.S)
    settings.write_text(text.replace("ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = ["shop.example.com"]'))
    (project / "mysite" / "secret_settings.py").write_text(
        'SECRET_KEY = "kept out of git"\nDATABASES = {\n    "default": {\n'
        '        "ENGINE": "django.db.backends.sqlite3",\n        "NAME": BASE_DIR / "shop.db",\n'
        '    }\n}\nSTATIC_ROOT = "/elsewhere"\n'
    )
    (project / ".gitignore").write_text("secret_settings.py\n")
    commit_all(project, "secret settings kept out of git")
    found = detect(project)
    assert uploaded_settings(found) == ("mysite/secret_settings.py", "shop.example.com")
    assert (found.sqlite_file, found.static_root) == ("shop.db", None)
    assert not [n for n in found.notes if "sets no SECRET_KEY" in n or "DATABASES" in n]


@pytest.mark.parametrize(
    ("allowed", "names", "read_from"),
    [
        (
            '["www.shop.example.com", "shop.example.com"]',
            "www.shop.example.com shop.example.com",
            None,
        ),
        (
            '(".shop.example.com", "Shop.Example.com", "localhost", "127.0.0.1")',
            "shop.example.com .shop.example.com",
            None,
        ),
        ('["*"]', "_", None),
        ('[\n    "shop.example.com",  # the site\n]', "shop.example.com", None),
        (
            'env.list("ALLOWED_HOSTS", default=["shop.example.com"])',
            "shop.example.com",
            "ALLOWED_HOSTS",
        ),
        (
            'os.getenv("HOSTS", "a.example.com, b.example.com").split(",")',
            "a.example.com b.example.com",
            "HOSTS",
        ),
        ('env.list("ALLOWED_HOSTS")', "_", "ALLOWED_HOSTS"),
        ('["127.0.0.1", ".pythonanywhere.com"]', "_", None),
        ('["shop.example.com", "shop.herokuapp.com"]', "shop.example.com", None),
        (
            '[\n    config("DOMAIN_NAME"),\n    config("WWW_DOMAIN"),\n]',
            "_",
            "DOMAIN_NAME, WWW_DOMAIN",
        ),
    ],
)
def test_init_names_the_server_as_allowed_hosts_lists_its_domains(
    tmp_path, allowed, names, read_from
):
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text() + f'ALLOWED_HOSTS = ["first.example.com"]\nALLOWED_HOSTS = {allowed}\n'
    )
    found = detect(project)
    assert config_written_for(found).server_name == names
    said = [n.partition(":")[0] for n in found.notes if n.startswith("ALLOWED_HOSTS is read")]
    assert said == ([f"ALLOWED_HOSTS is read from {read_from}"] if read_from else [])
    platforms = [n.partition(":")[0] for n in found.notes if "a hosting platform's" in n]
    pythonanywhere = "ALLOWED_HOSTS lists .pythonanywhere.com, a hosting platform's"
    assert platforms == ([pythonanywhere] if "pythonanywhere" in allowed else [])


def test_init_gives_the_staging_domains_allowed_hosts_lists_to_the_staging_inventory(tmp_path):
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    allowed = '["shop.example.com", "staging.shop.example.com", "www.shop.example.com"]'
    settings.write_text(settings.read_text() + f"ALLOWED_HOSTS = {allowed}\n")
    written = tomllib.loads(render_config(detect(project)))
    production = parse_config(written, "shipstate.toml", "production").server_name
    staging = parse_config(written, "shipstate.toml", "staging").server_name
    assert (production, staging) == (
        "shop.example.com www.shop.example.com",
        "staging.shop.example.com",
    )
    settings.write_text(settings.read_text() + 'ALLOWED_HOSTS = ["staging.shop.example.com"]\n')
    written = tomllib.loads(render_config(detect(project)))
    assert parse_config(written, "shipstate.toml", "production").server_name == (
        "staging.shop.example.com"
    ), "only staging names: the servers' own, whichever inventory they are in"


NGINX_SITE_TEMPLATE = """\
server {
    listen 80;
    server_name {{ domain }} shop.example.com www.shop.example.com;  # a template's
    client_max_body_size 10m;

    location /uploads/ {
        client_max_body_size 200M;
    }
}
"""


def test_init_takes_the_names_and_upload_size_of_the_nginx_site_git_holds(tmp_path):
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'ALLOWED_HOSTS = ["other.example.com"]\n')
    (project / "deploy").mkdir()
    (project / "deploy" / "nginx.conf.j2").write_text(NGINX_SITE_TEMPLATE)
    commit_all(project, "the nginx site the fabfile renders")
    config = config_written_for(detect(project))
    assert (config.server_name, config.client_max_body_size) == (
        "shop.example.com www.shop.example.com",
        "200M",
    )
    (project / "deploy" / "nginx.conf.j2").write_text("server {\n    server_name _;\n}\n")
    commit(project, "no name of its own")
    config = config_written_for(detect(project))
    assert (config.server_name, config.client_max_body_size) == ("other.example.com", "20m")


@pytest.mark.parametrize(
    ("added", "requirement", "told"),
    [
        ('INSTALLED_APPS += ["debug_toolbar"]\n', "", True),
        ('MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")\n', "", True),
        ('INSTALLED_APPS += ["debug_toolbar"]\n', "django_debug_toolbar==5.2\n", False),
        ('DEBUG = False\nif DEBUG:\n    INSTALLED_APPS += ["debug_toolbar"]\n', "", False),
        (
            'DEBUG = os.environ.get("DEBUG") == "1"\n'
            'if DEBUG:\n    INSTALLED_APPS += ["debug_toolbar"]\n',
            "",
            False,
        ),
        ('if DEBUG:\n    INSTALLED_APPS += ["debug_toolbar"]\n', "", True),  # as startproject's
        ("# debug_toolbar, one day\n", "", False),
    ],
)
def test_init_names_a_development_tool_the_servers_settings_use_without_its_package(
    tmp_path, added, requirement, told
):
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + added)
    requirements = project / "requirements.txt"
    requirements.write_text(requirements.read_text() + requirement)
    said = (
        "the settings the servers get name debug_toolbar, whose package (django-debug-toolbar) "
        "the requirements lack: the app would not start there"
    )
    assert any(note.startswith(said) for note in detect(project).notes) == told


def test_init_reads_the_settings_without_warning_about_their_source(tmp_path):
    """Python 3.12+ prints a SyntaxWarning for an invalid escape sequence in source it parses
    (3.11: a DeprecationWarning): the settings' are theirs to fix, not init's to print."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text() + 'PHONE = "\\d+"\nALLOWED_HOSTS = ["shop.example.com"]\n'
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = detect(project)
    assert found.served_at.names == ("shop.example.com",)
    assert [str(w.message) for w in caught] == []


def test_init_reads_settings_in_the_encoding_their_coding_line_names(tmp_path):
    """A legacy project's `# -*- coding: latin-1 -*-`, with accents in comments (init stopped
    with a UnicodeDecodeError); the settings' star-imports likewise."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    coded = "# -*- coding: latin-1 -*-\n# Réglages d'été\n"
    settings.write_bytes((coded + settings.read_text()).encode("latin-1"))
    production = project / "mysite" / "settings_prod.py"
    production.write_bytes(
        (coded + 'from .settings import *\nSTATIC_ROOT = BASE_DIR / "public"\n').encode("latin-1")
    )
    found = detect(project)
    assert (found.settings, found.static_root) == ("mysite.settings_prod", "public")


def test_init_writes_nothing_when_the_settings_name_a_path_the_config_cannot_take(tmp_path):
    project = startproject(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'STATIC_ROOT = BASE_DIR / "static files"\n')
    refused = shipstate("init", cwd=project)
    assert refused.code == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: init wrote nothing: what it read in the project")
    assert "static_root: must be a relative path" in refused.stderr
    assert not (project / "shipstate.toml").exists()


@pytest.mark.parametrize(
    ("imported", "path"),
    [(".local_settings", "mysite/local_settings.py"), ("local_settings", "local_settings.py")],
)
def test_init_names_the_settings_each_server_may_have_that_git_has_not(tmp_path, imported, path):
    project = startproject(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        f"{settings.read_text()}try:\n    from {imported} import *\nexcept ImportError:\n    pass\n"
    )
    (project / path).write_text("DEBUG = True  # this machine's\n")
    (project / ".gitignore").write_text(path)
    commit(project, "settings of this machine's own, out of git")
    said = f"the settings import {path} when there is one, and git has none: the releases run"
    assert any(note.startswith(said) for note in detect(project).notes)
    git(project, "add", "-f", path)
    commit(project, "in git after all")
    assert not any(note.startswith("the settings import") for note in detect(project).notes)


def test_init_takes_the_production_module_a_settings_package_picks_by_the_environment(tmp_path):
    project = tmp_path / "shop"
    settings = settings_package(
        project,
        "config.settings.base",
        base='DEBUG = True\nSTATIC_ROOT = BASE_DIR / "staticfiles"\n',
        dev='from .base import *\nSECRET_KEY = "dev"\n',
        production="from .base import *\nDEBUG = False\nSECRET_KEY = os.environ['SECRET_KEY']\n"
        'ALLOWED_HOSTS = ["shop.example.com"]\n',
    )
    (project / "manage.py").write_text(
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n'
    )
    switch = settings / "__init__.py"
    switch.write_text(
        'if os.environ.get("DJANGO_ENV") == "production":\n    from .production import *\n'
        "else:\n    from .dev import *\n"
    )
    found = detect(project)
    assert found.settings == "config.settings.production"
    assert (
        found.notes[0]
        == "manage.py uses config.settings; the servers get config.settings.production"
    )
    assert found.static_root == "staticfiles"
    assert not any(n.startswith("DEBUG = True") for n in found.notes), "production.py's DEBUG"
    switch.write_text("from .base import *\n" + switch.read_text())
    assert detect(project).settings == "config.settings", "production.py alone lacks base's"


def test_init_reads_the_production_module_a_settings_package_imports_when_the_env_says(tmp_path):
    """config/settings/__init__.py imports base.py, then production.py when DJANGO_ENV is
    "production": the servers get DJANGO_ENV in [env], and init reads production.py's."""
    project = tmp_path / "shop"
    settings = settings_package(
        project,
        "config.settings.base",
        base='DEBUG = True\nSTATIC_ROOT = BASE_DIR / "staticfiles"\nALLOWED_HOSTS = []\n',
        production='DEBUG = False\nALLOWED_HOSTS = ["shop.example.com"]\nSECRET_KEY = "k"\n',
        local='SECRET_KEY = "dev"\n',
    )
    manage = project / "manage.py"
    manage.write_text(manage.read_text().replace("config.settings.base", "config.settings"))
    (settings / "__init__.py").write_text(
        "import os\nfrom .base import *\n\n"
        'if os.environ.get("DJANGO_ENV", "local") == "production":  # the servers\n'
        "    from .production import *\nelse:\n    from .local import *\n"
    )
    found = detect(project)
    assert found.settings == "config.settings"
    assert found.settings_variable[:2] == ("DJANGO_ENV", "production")
    assert found.served_at.names == ("shop.example.com",)
    assert not [n for n in found.notes if n.startswith(("DEBUG", "ALLOWED_HOSTS"))]


def test_init_names_what_the_servers_settings_do_not_set(tmp_path):
    """Wagtail's project template: SECRET_KEY and ALLOWED_HOSTS only in dev.py, which manage.py
    and wsgi.py name; production.py star-imports base.py."""
    project = tmp_path / "cms"
    settings = settings_package(
        project,
        "cms.settings.dev",
        base="INSTALLED_APPS = []\n",
        dev='from .base import *\nDEBUG = True\nSECRET_KEY = "x"\nALLOWED_HOSTS = ["*"]\n',
        production="from .base import *\n\nDEBUG = False\n",
    )
    production = settings / "production.py"
    notes = detect(project).notes
    assert notes[1:3] == (
        "cms.settings.production (with what it star-imports) sets no SECRET_KEY: Django will not "
        'start without one; add SECRET_KEY = os.environ["SECRET_KEY"] and put the key in a '
        "secrets file (README: Secrets)",
        "cms.settings.production (with what it star-imports) sets no ALLOWED_HOSTS: Django "
        "answers 400 to every request with DEBUG off; list your domains, as in server_name",
    )
    (settings / "base.py").write_text('INSTALLED_APPS = []\nALLOWED_HOSTS = ["example.com"]\n')
    production.write_text(production.read_text() + 'SECRET_KEY = os.environ["SECRET_KEY"]\n')
    assert not any("sets no" in note for note in detect(project).notes)


@pytest.mark.parametrize(
    "name, written, python",
    [
        (".python-version", "3.12.4\n", "python3.12"),
        (".python-version", "3.13\n", "python3.13"),
        ("runtime.txt", "python-3.12.1\n", "python3.12"),
        (".python-version", "system\n", None),
        ("runtime.txt", "python-3.9.18\n", "# python3.9"),  # Heroku's: older than Debian 12's
    ],
)
def test_init_names_the_python_the_app_pins_for_the_servers(tmp_path, name, written, python):
    project = startproject(tmp_path / "pinned")
    (project / name).write_text(written)
    found = detect(project)
    older = python and python.startswith("# ")
    command = python and python.removeprefix("# ")
    assert found.pythons.command == command
    config = render_config(found)
    assert tomllib.loads(config).get("python") == (None if older else command)
    said = [n for n in found.notes if " pins Python " in n]
    if older:
        assert f'# python = "{command}"   # as runtime.txt says, if the servers have it' in config
        assert said == [
            "runtime.txt pins Python 3.9, older than Debian 12's python3 (3.11), which has no "
            "python3.9: shipstate.toml has `python` commented out, so the servers' python3 runs "
            "the app; uncomment it for servers that have python3.9 (Ubuntu 22.04's python3 is "
            "3.10)"
        ]
    elif command:
        assert said == [
            f"{name} pins Python {command[6:]}, newer than Debian 12's python3 (3.11): the "
            f"servers need {command} (Ubuntu 24.04's python3 is 3.12, Debian 13's 3.13; "
            "`shipstate plan` names the hosts lacking it)"
        ]
    else:
        assert said == []


@pytest.mark.parametrize(
    "machine, required, sandbox",
    [
        (("3.11", "3.12", "3.13"), "Django>=6.0", "python3.12"),
        (("3.11", "3.12", "3.13"), "Django>=6.0\nsix ; python_version >= '3.13'", "python3.12"),
        (("3.11", "3.13"), "Django>=6.0", "python3.13"),
        (("3.11",), "Django>=6.0", None),
        (("3.13",), "Django>=6.0", None),
        (("3.11", "3.12"), "Django>=5.2,<6", None),
    ],
)
def test_init_names_the_python_this_machines_sandbox_hosts_have_for_the_app(
    tmp_path, monkeypatch, machine, required, sandbox
):
    """The sandbox's hosts have the machine's python3 (first) and its pyenv Pythons: where
    the app needs a newer one than python3, [environments.sandbox] names the oldest that fits."""
    python3, *others = machine
    pythons = {"python3": Path(f"/usr/bin/python{python3}")}
    pythons |= {f"python{v}": Path(f"/root/.pyenv/versions/{v}.1/bin/python{v}") for v in others}
    monkeypatch.setattr("shipstate.app_requirements.host_pythons", lambda: pythons)
    project = django_project(tmp_path / "newer")
    (project / "requirements.txt").write_text(required + "\n")
    found = detect(project)
    assert found.pythons.sandbox == sandbox
    written = tomllib.loads(render_config(found))
    assert parse_config(written, "shipstate.toml", "sandbox").python == (sandbox or "python3")
    assert parse_config(written, "shipstate.toml", "production").python == "python3"
    said = f"this machine's sandbox hosts have {sandbox}, which [environments.sandbox] names"
    assert any(said in note for note in found.notes) == bool(sandbox)


@pytest.mark.parametrize(
    "files, needed",
    [
        ({"requirements.txt": "Django>=6.1,<6.2\nwagtail>=8.0\n"}, "3.12"),
        ({"requirements.txt": "django[argon2] == 6.0.2\n"}, "3.12"),
        ({"requirements.txt": "-r base.txt\n", "base.txt": "Django~=6.0\n"}, "3.12"),
        ({"requirements.txt": "Django>=5.2,<6\n"}, None),
        ({"requirements.txt": "Django\n"}, None),
        ({"uv.lock": '[[package]]\nname = "django"\nversion = "6.1.3"\n'}, "3.12"),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.13"\n'
                'dependencies = ["django>=5.2"]\n',
            },
            "3.13",
        ),
        (
            {
                "requirements.txt": "Django>=5.2\n",
                "pyproject.toml": '[project]\nrequires-python = ">=3.10"\n',
            },
            None,
        ),
        ({"requirements.txt": "Django>=6.1\n", ".python-version": "3.13\n"}, None),
    ],
)
def test_init_says_when_the_requirements_need_a_python_newer_than_debian_12s(
    tmp_path, files, needed
):
    project = django_project(tmp_path / "newer")
    (project / "requirements.txt").unlink()
    for name, text in files.items():
        (project / name).write_text(text)
    found = detect(project)
    assert found.pythons.needed == needed
    written = render_config(found)
    config = tomllib.loads(written)
    assert config.get("python") == ("python3.13" if ".python-version" in files else None)
    commented = f'# python = "python{needed}"   # '
    assert (commented in written) == bool(needed)
    said = [n for n in found.notes if f"needs Python {needed} or newer" in n]
    assert len(said) == bool(needed)


def test_init_outside_git_says_shipstate_deploys_commits(tmp_path):
    outside = ok("init", cwd=django_project(tmp_path / "loose")).stderr
    assert "note: not in a git repository: shipstate deploys commits: `git init`" in outside
    assert "not in a git repository" not in ok("init", cwd=startproject(tmp_path / "kept")).stderr


def uncommented_processes(config: str) -> list[dict]:
    block = config[config.index("# [[processes]]") : config.index("# Keys that differ")]
    live = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    return [p.model_dump() for p in parse_config(tomllib.loads(live) | MINIMAL, "t").processes]


MINIMAL = {"name": "shop", "wsgi": "shop.wsgi:application"}
EVERY_HOST = {"stop_seconds": 60, "run": "every-host"}
ONCE = {"stop_seconds": 60, "run": "once"}


SUPERVISOR_TEMPLATE = """\
[program:shop-web]
command=/srv/shop/venv/bin/gunicorn mysite.wsgi -b 127.0.0.1:8000
directory=/srv/shop/current

[program:shop-worker]
command=/srv/shop/venv/bin/celery -A mysite worker -l info
stopwaitsecs=600

[program:shop-beat]
command = /srv/shop/venv/bin/python manage.py run_scheduler

[program:nginx]
command=/usr/sbin/nginx -g "daemon off;"

[program:{{ project }}-mailer]
command={{ venv }}/bin/python manage.py send_mail
"""


def test_init_makes_the_cache_table_of_a_cache_in_the_database(tmp_path):
    project = startproject(tmp_path / "cached")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text() + "CACHES = {'default': {'BACKEND': "
        "'django.core.cache.backends.db.DatabaseCache', 'LOCATION': 'cache'}}\n"
    )
    hooks = config_written_for(detect(project)).hooks
    assert [(h.command, h.run, h.inputs) for h in hooks][:2] == [
        ("python manage.py migrate --noinput", "every-host", ANY),
        ("python manage.py createcachetable", "every-host", ("mysite/settings.py",)),
    ], "after migrate, on each host's SQLite database, again when the settings change"


@pytest.mark.parametrize(
    ("installed", "process"),
    [
        ("django_q", {"name": "qcluster", "command": "python manage.py qcluster"}),
        ("huey.contrib.djhuey", {"name": "huey", "command": "python manage.py run_huey"}),
        ("django_rq", {"name": "rqworker", "command": "python manage.py rqworker default"}),
    ],
)
def test_init_writes_the_worker_of_a_task_queue_the_settings_install(tmp_path, installed, process):
    project = startproject(tmp_path / "queued")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + f'INSTALLED_APPS += ["{installed}"]\n')
    found = detect(project)
    assert uncommented_processes(render_config(found)) == [{**process, **EVERY_HOST}]
    assert found.processes_found_in == "INSTALLED_APPS"


def test_init_writes_the_processes_of_a_procfile_or_a_celery_app_commented_out(tmp_path):
    project = startproject(tmp_path / "queued")
    (project / "mysite" / "celery.py").write_text("from celery import Celery\n")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\nCELERY_BEAT_SCHEDULE = {}\n")
    found = detect(project)
    config = render_config(found)
    assert "\n[[processes]]" not in config, "commented out: they need their broker"
    assert uncommented_processes(config) == [
        {"name": "worker", "command": "celery -A mysite worker -l info", **EVERY_HOST},
        {"name": "beat", "command": "celery -A mysite beat -l info", **ONCE},
    ]
    assert any(n.startswith("mysite/celery.py names processes (worker, beat)") for n in found.notes)
    (project / "deploy").mkdir()
    (project / "deploy" / "supervisor.conf.j2").write_text(SUPERVISOR_TEMPLATE)
    commit(project, "the supervisor programs the fabfile installs")
    found = detect(project)
    assert uncommented_processes(render_config(found)) == [
        {"name": "shop_worker", "command": "celery -A mysite worker -l info", **EVERY_HOST},
        {"name": "shop_beat", "command": "python manage.py run_scheduler", **ONCE},
    ], "the web server is shipstate's; a program with a template's placeholder is not read"
    assert any(n.startswith("deploy/supervisor.conf.j2 names processes") for n in found.notes)
    (project / "Procfile").write_text(
        "web: gunicorn mysite.wsgi --log-file -\nrelease: python manage.py migrate\n"
        'worker: celery -A mysite worker -Q "high,low" --concurrency 2\n'
        "clock: python manage.py run_clock\n"
    )
    config = render_config(detect(project))
    assert uncommented_processes(config) == [
        {
            "name": "worker",
            "command": 'celery -A mysite worker -Q "high,low" --concurrency 2',
            **EVERY_HOST,
        },
        {"name": "clock", "command": "python manage.py run_clock", **ONCE},
    ], "the Procfile's, but not web or release; a scheduler on one host only"
    assert [h.command for h in parse_config(tomllib.loads(config), "t").hooks] == [
        "python manage.py migrate --noinput"
    ], "a release command that only migrates is the migrate hook"


@pytest.mark.parametrize(
    ("web", "asgi"),
    [
        ("gunicorn mysite.wsgi --log-file -", None),
        ("uvicorn mysite.asgi:application --host 0.0.0.0 --port $PORT", "mysite.asgi:application"),
        ("daphne -b 0.0.0.0 -p $PORT mysite.asgi:app", "mysite.asgi:app"),
        ("gunicorn mysite.asgi -k uvicorn_worker.UvicornWorker", "mysite.asgi:application"),
    ],
)
def test_init_takes_a_procfiles_asgi_server_and_release_command(tmp_path, web, asgi):
    project = startproject(tmp_path / "heroku")
    release = "./bin/release.sh && python manage.py createcachetable"
    (project / "Procfile").write_text(f"web: {web}\nrelease: {release}\n")
    found = detect(project)
    assert found.asgi == asgi and found.wsgi == (None if asgi else "mysite.wsgi:application")
    assert any(note.startswith("the Procfile's release command is a hook") for note in found.notes)
    config = config_written_for(found)
    assert config.asgi == asgi
    assert [(h.command, h.run, h.inputs) for h in config.hooks] == [
        ("python manage.py migrate --noinput", "every-host", ("**/migrations/*.py", ANY)),
        (release, "every-host", ()),
    ], "the release command runs for every release, after the migrate hook"


def test_a_procfiles_release_of_management_commands_runs_those_init_does_not_write(tmp_path):
    project = startproject(tmp_path / "heroku")
    (project / "Procfile").write_text(
        "web: gunicorn mysite.wsgi\nrelease: python manage.py migrate --noinput && "
        "python manage.py clearsessions; ./manage.py update_index\n"
    )
    found = detect(project)
    assert not any(note.startswith("the Procfile's release command") for note in found.notes)
    assert [(h.command, h.run) for h in config_written_for(found).hooks] == [
        ("python manage.py migrate --noinput", "every-host"),
        ("python manage.py clearsessions", "every-host"),
        ("python manage.py update_index", "every-host"),
    ], "migrate once, as init writes it; every host for SQLite's databases"
    assert "# What the Procfile's release ran on each deploy after collectstatic" in (
        render_config(found)
    )
    (project / "Procfile").write_text(
        "web: gunicorn mysite.wsgi\nrelease: python manage.py migrate\n"
    )
    assert len(config_written_for(detect(project)).hooks) == 1, "only what init writes anyway"


def test_what_a_procfiles_web_command_runs_before_its_server_runs_as_hooks(tmp_path):
    project = startproject(tmp_path / "heroku")
    (project / "Procfile").write_text(
        "web: python manage.py migrate && python manage.py clearsessions && gunicorn mysite.wsgi\n"
    )
    found = detect(project)
    assert [(h.command, h.run) for h in config_written_for(found).hooks] == [
        ("python manage.py migrate --noinput", "every-host"),
        ("python manage.py clearsessions", "every-host"),
    ], "migrate as init writes it, the other management command after it"
    assert any(n.startswith("the Procfile's web command ran `manage.py clearsessions`")
               for n in found.notes)  # fmt: skip
    (project / "Procfile").write_text("web: ./bin/warm-cache.sh; exec gunicorn mysite.wsgi\n")
    found = detect(project)
    assert [h.command for h in config_written_for(found).hooks][1:] == ["./bin/warm-cache.sh"]
    assert "the Procfile's web command runs `./bin/warm-cache.sh` before its server: a hook" in (
        " ".join(found.notes)
    )


def test_settings_without_databases_get_the_migrate_hook_commented_out(tmp_path):
    project = startproject(tmp_path / "nodb")
    settings = project / "mysite" / "settings.py"
    settings.write_text(re.sub(r"(?s)DATABASES = \{.*?\n\}\n", "", settings.read_text()))
    found = detect(project)
    assert config_written_for(found).hooks == ()
    assert '# command = "python manage.py migrate --noinput"' in render_config(found)
    assert "the settings set no DATABASES: the migrate hook is written commented out" in (
        " ".join(found.notes)
    )


FRENCH_LOG_IN = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Log in"
msgstr "Entrer chez nous"
"""


def test_init_compiles_the_translations_git_holds_uncompiled_and_they_are_served(tmp_path, fleet):
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")  # the fleet serves app hello
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text() + 'LANGUAGE_CODE = "fr"\nLOCALE_PATHS = [BASE_DIR / "locale"]\n'
    )
    catalog = project / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text(FRENCH_LOG_IN)
    catalog.with_suffix(".mo").write_bytes(b"compiled here, ignored by git")
    (project / ".gitignore").write_text("*.mo\n")
    commit_all(project, "French, with our own words for the login button")
    found = detect(project)
    assert found.translations == ("locale",)
    assert any(note.startswith("git holds translations (.po) without") for note in found.notes)
    config = config_written_for(found)
    assert config.packages == ("gettext",)
    assert [(h.command, h.inputs, h.outputs) for h in config.hooks][-1] == (
        "python manage.py compilemessages",
        ("**/*.po",),
        ("locale",),
    )

    ok("init", cwd=project)
    deploy_serving_the_admin(project, fleet)
    for address in host_addresses():
        status, body, _ = http_get(f"http://{address}/admin/login/", host="localhost")
        assert status == 200 and "Entrer chez nous" in body, "compiled in the release"

    git(project, "add", "-f", "locale/fr/LC_MESSAGES/django.mo")
    commit(project, "the compiled translation too")
    assert detect(project).translations == (), "a tracked .mo needs no compilemessages"


@pytest.mark.parametrize(
    ("requirements", "included", "packages"),
    [
        ("Django\npsycopg2-binary==2.9.10\n", "", ()),
        ("Django\npsycopg[binary]\n", "", ()),
        ("Django\nPsycopg2==2.9.10 \\\n  --hash=sha256:00\n", "", ("libpq-dev", "python3-dev")),
        ("-r base.txt\n", "mysqlclient>=2\n", ("default-libmysqlclient-dev", "pkg-config")),
        ("Django\npsycopg==3.3.9\n", "", ("libpq5",)),
        ("Django\npsycopg[pool]>=3.2\n", "", ("libpq5",)),
        ("Django\npsycopg[c]==3.3.9\n", "", ("libpq-dev", "python3-dev")),
        ("Django\npsycopg[binary,pool]\n", "", ()),
        ("Django\npsycopg==3.3.9\npsycopg-binary==3.3.9\n", "", ()),  # as pip-compile writes
        ("Django\n-e git+https://example.com/me/lib.git@v1#egg=lib\n", "", ("git",)),
        ("-r base.txt\n", "lib @ git+ssh://git@example.com/me/lib.git\n", ("git",)),
        ("Django\nlib @ https://example.com/lib-1.0.tar.gz\n", "", ()),
        ("Django\ndjango-heroku==0.3.1\n", "", ("libpq-dev", "python3-dev")),
        (
            "Django\nuWSGI==2.0.28  # the former app server\n",
            "",
            ("python3-dev", "build-essential"),
        ),
    ],
)
def test_init_lists_the_packages_a_requirement_built_on_the_servers_needs(
    tmp_path, requirements, included, packages
):
    project = django_project(tmp_path / "built")
    (project / "requirements.txt").write_text(requirements)
    (project / "base.txt").write_text(included)
    found = detect(project)
    config = config_written_for(found)
    assert config.packages[: len(packages)] == packages
    built = packages not in ((), ("libpq5",), ("git",))
    assert ("build-essential" in config.packages) == built
    built_note = [n for n in found.notes if n.startswith("the servers build ")]
    assert bool(built_note) == built
    if built:
        named = (requirements + included).lower()
        name = (
            "psycopg2 (for django-heroku)"
            if "django-heroku" in named
            else next(n for n in ("psycopg2", "psycopg[c]", "mysqlclient", "uwsgi") if n in named)
        )
        instead = {"psycopg2": "psycopg2-binary", "psycopg[c]": "psycopg[binary]"}.get(name)
        assert built_note[0].startswith(f"the servers build {name} from source")
        assert built_note[0].endswith(
            f"({instead} instead of {name} would need none)"
            if instead
            else "which `shipstate bootstrap` installs"
        )
    loads = any(n.startswith("psycopg without [binary] loads") for n in found.notes)
    assert loads == (packages == ("libpq5",))
    from_git = any(
        n.startswith("the requirements install a package from a git") for n in found.notes
    )
    assert from_git == (packages == ("git",))
    former_server = any(n.startswith("the requirements list uWSGI") for n in found.notes)
    assert former_server == ("uWSGI" in requirements)


@pytest.mark.parametrize(
    ("file", "text", "told"),
    [
        ("requirements.txt", "Django==5.2.19\ngunicorn==20.0.4\n", "20.0.4"),
        (
            "requirements.txt",
            "Django==5.2.19\nGunicorn == 19.9.0 ; python_version > '3'\n",
            "19.9.0",
        ),
        ("requirements.txt", "Django==5.2.19\ngunicorn==20.1.0\n", "20.1.0"),
        ("requirements.txt", "Django==5.2.19\ngunicorn==21.2.0\n", None),
        ("requirements.txt", "Django==5.2.19\ngunicorn>=19\n", None),
        ("uv.lock", '[[package]]\nname = "gunicorn"\nversion = "20.0.4"\n', "20.0.4"),
    ],
)
def test_init_says_when_the_requirements_pin_a_gunicorn_too_old_to_run(tmp_path, file, text, told):
    project = django_project(tmp_path / "old")
    (project / "requirements.txt").unlink()
    (project / file).write_text(text)
    if file == "uv.lock":
        (project / "pyproject.toml").write_text('[project]\nname = "old"\ndependencies = []\n')
    notes = [n for n in detect(project).notes if n.startswith("the requirements pin gunicorn")]
    why = (
        "imports pkg_resources: setuptools, installed with it, has none since 82 (gunicorn 21 "
        "and newer import none)"
        if told == "20.1.0"
        else "cannot run as `python -m gunicorn` (20.1 and newer can)"
    )
    assert notes == ([f"the requirements pin gunicorn {told}, which {why}: require gunicorn>=21, "
                      "or remove it (shipstate adds the newest)"] if told else [])  # fmt: skip


def detected_pinning(tmp_path, requirements, python):
    """What init finds in a startproject with these requirements, its Python pinned or not."""
    project = django_project(tmp_path / "old")
    (project / "requirements.txt").write_text(requirements)
    if python:
        (project / ".python-version").write_text(python)
    return detect(project)


@pytest.mark.parametrize(
    ("python", "requirement", "told", "packages"),
    [
        (None, "Pillow==8.0.1", "Pillow 8.0.1, which has no wheel for the servers' Python 3.11 "
         "(Pillow 9.2 and newer have one)", ("libjpeg-dev", "zlib1g-dev")),
        (None, "pillow == 9.2.0", None, ()),
        ("3.12", "Pillow==9.5.0", "Pillow 9.5.0, which has no wheel for the servers' Python 3.12 "
         "(Pillow 10.0 and newer have one)", ("libjpeg-dev", "zlib1g-dev")),
        (None, "psycopg2_binary==2.8.6", "psycopg2-binary 2.8.6, which has no wheel for the "
         "servers' Python 3.11 (psycopg2-binary 2.9.5 and newer have one)", ("libpq-dev",)),
        (None, "psycopg2-binary>=2.8", None, ()),
    ],
)  # fmt: skip
def test_init_names_a_requirement_pinned_before_its_wheels_for_the_servers_python(
    tmp_path, python, requirement, told, packages
):
    """Tutorials' requirements pin versions older than the servers' Python: pip builds those
    from source, which fails on a server without their libraries' headers."""
    found = detected_pinning(tmp_path, f"Django==4.2.16\n{requirement}\n", python)
    notes = [n for n in found.notes if " which has no wheel for the servers' Python " in n]
    assert notes == ([f"requirements.txt pins {told}: the servers build it from source, for which "
                      f"`packages` in shipstate.toml lists {', '.join(SERVER_PACKAGES[n])}; a "
                      "newer pin would need none" for n in ["Pillow" if "Pillow" in told
                                                            else "psycopg2-binary"]]
                     if told else [])  # fmt: skip
    config = config_written_for(found)
    assert all(p in config.packages for p in packages) and bool(config.packages) == bool(told)


@pytest.mark.parametrize(
    ("requirements", "allowed"),
    [
        ("Django\n", True),
        ("django>=2.2\n", True),
        ("Django==3.2.25\n", False),
        ("Django==3.2.*\n", False),
        ("Django==4.0.1\n", True),
        ("Django>=2.2,<4\n", False),
        ("Django<=3.2.25\n", False),
        ("Django<4.1\n", True),
        ("Django~=3.2\n", False),
        ("Django~=3.2.0\n", False),
        ("Django~=4.0\n", True),
        ("django-environ\n", False),
        ('[[package]]\nname = "django"\nversion = "3.2.25"\n', False),
        ('[[package]]\nname = "django"\nversion = "4.2.16"\n', True),
    ],
)
def test_init_knows_whether_the_requirements_let_a_django_release_install(requirements, allowed):
    assert allows(requirements, "Django", (4, 0)) == allowed


@pytest.mark.parametrize(
    ("requirements", "told"),
    [
        ("Django\n", "django.conf.urls.url (mysite/urls.py), which Django 4.0 removed, "
         "ugettext (polls/models.py), which Django 4.0 removed, and requirements.txt"),
        ("Django>=3.0,<4.1\n", "django.conf.urls.url (mysite/urls.py), which Django 4.0 removed, "
         "ugettext (polls/models.py), which Django 4.0 removed, and requirements.txt"),
        ("Django==3.2.25\n", None),
    ],
)  # fmt: skip
def test_init_names_what_the_code_uses_that_a_django_the_requirements_allow_removed(
    tmp_path, requirements, told
):
    """A tutorial of Django 2 with `Django` unpinned: every new environment took Django 5,
    whose migrate failed on `from django.conf.urls import url` (seen)."""
    project = django_project(tmp_path / "old")
    (project / "requirements.txt").write_text(requirements)
    (project / "mysite" / "urls.py").write_text(
        "from django.conf.urls import (\n    include,\n    url,\n)\n"
        "urlpatterns = [url(r'^polls/', include('polls.urls'))]\n"
    )
    (project / "polls" / "migrations").mkdir(parents=True)
    (project / "polls" / "models.py").write_text(
        "from django.utils.translation import ugettext_lazy as _\n"
    )
    (project / "polls" / "migrations" / "0001_initial.py").write_text("index_together = []\n")
    commit_all(project, "a Django 2 tutorial")
    (project / "polls" / "untracked.py").write_text("from django.utils import six\n")
    notes = [n for n in detect(project).notes if n.startswith("the code uses ")]
    assert notes == ([f"the code uses {told} lets such a Django install (each new environment "
                      "takes the newest the servers' Python runs): pin the Django the app was "
                      "written for (e.g. `Django<4.0`; `pip freeze` where it runs), or update the "
                      "code"] if told else [])  # fmt: skip


def test_init_says_when_no_django_the_servers_python_runs_has_what_the_code_uses(tmp_path):
    """Code of Django 1 (a relation without on_delete): no Django before 2.0 runs on Python
    3.11, so pinning one is no way out."""
    project = django_project(tmp_path / "older")
    (project / "requirements.txt").write_text("Django>=1.11\n")
    (project / "polls").mkdir()
    (project / "polls" / "models.py").write_text(
        "a = models.ForeignKey(User, verbose_name=_('a'), on_delete=models.CASCADE)\n"
        "b = models.OneToOneField(\n    User,\n    on_delete=models.CASCADE,\n)\n"
    )
    commit_all(project, "Django 1")
    assert not [n for n in detect(project).notes if n.startswith("the code uses ")]
    with (project / "polls" / "models.py").open("a") as models:
        models.write("c = models.ForeignKey(User, related_name=_('c'))\n")
    commit(project, "a relation of Django 1")
    notes = [n for n in detect(project).notes if n.startswith("the code uses ")]
    assert notes == [
        "the code uses a ForeignKey without on_delete (polls/models.py), which Django 2.0 "
        "removed, and requirements.txt lets such a Django install (each new environment takes "
        "the newest the servers' Python runs): no Django before 2.0 runs on their Python 3.11 "
        "(2.2 is the oldest that does): update the code"
    ]


WHITENOISE_DJANGO = (
    "the code uses whitenoise.django (mysite/wsgi.py), which whitenoise 4.0 removed, and "
    "requirements.txt lets such a whitenoise install (each new environment takes the newest the "
    "servers' Python runs): pin the whitenoise the app was written for (e.g. `whitenoise<4.0`; "
    "`pip freeze` where it runs), or update the code"
)
TEMPLATE_TAG = (
    "the code uses {% load staticfiles %} (polls/templates/polls/index.html), which Django 3.0 "
    "removed, and requirements.txt lets such a Django install (each new environment takes the "
    "newest the servers' Python runs): pin the Django the app was written for (e.g. "
    "`Django<3.0`; `pip freeze` where it runs), or update the code"
)
STORAGE_SETTING = (
    "the code uses STATICFILES_STORAGE or DEFAULT_FILE_STORAGE (STORAGES since Django 4.2) "
    "(mysite/settings.py), which Django 5.1 removed, and requirements.txt lets such a Django "
    "install (each new environment takes the newest the servers' Python runs): pin the Django "
    "the app was written for (e.g. `Django<5.1`; `pip freeze` where it runs), or update the code"
)


@pytest.mark.parametrize(
    ("requirements", "path", "code", "told"),
    [
        # Heroku's Django tutorials of 2017 wrapped the WSGI app in whitenoise.django
        ("Django==3.2.25\nwhitenoise\n", "mysite/wsgi.py",
         "from whitenoise.django import DjangoWhiteNoise", WHITENOISE_DJANGO),
        ("Django==3.2.25\nwhitenoise==3.3.1\n", "mysite/wsgi.py",
         "from whitenoise.django import DjangoWhiteNoise", None),
        # Django 5.1 ignores STATICFILES_STORAGE: whitenoise's hashed files silently went
        ("Django>=4.2\n", "mysite/settings.py",
         'STATICFILES_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"',
         STORAGE_SETTING),
        ("Django~=4.2\n", "mysite/settings.py",
         'STATICFILES_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"', None),
        # a template of Django 2: its page fails as it renders, not the admin's
        ("Django>=2.2\n", "polls/templates/polls/index.html", "{% load i18n staticfiles %}",
         TEMPLATE_TAG),
        ("Django<3\n", "polls/templates/polls/index.html", "{% load i18n staticfiles %}", None),
    ],
)  # fmt: skip
def test_init_names_what_an_upgrade_the_requirements_allow_removed(
    tmp_path, requirements, path, code, told
):
    project = django_project(tmp_path / "upgraded")
    (project / "requirements.txt").write_text(requirements)
    (project / path).parent.mkdir(parents=True, exist_ok=True)
    with (project / path).open("a") as written:
        written.write(f"{code}\n")
    commit_all(project, "as it was written")
    notes = [n for n in detect(project).notes if n.startswith("the code uses ")]
    assert notes == ([told] if told else [])


@pytest.mark.parametrize(
    ("python", "requirement", "told"),
    [
        (None, "Django==1.11.29", "Django 1.11.29, which does not work on the servers' Python 3.11 "
         "(Django 2.2 is the oldest that does)"),
        (None, "django==2.2.28", None),
        ("3.12", "Django==3.1.14", "Django 3.1.14, which does not work on the servers' Python 3.12 "
         "(Django 3.2 is the oldest that does)"),
        ("3.7", "Django==1.11.29", None),
        (None, "Django>=1.11", None),
        # psycopg2 2.8.5 and older do not compile for Python 3.11 (seen)
        (None, "psycopg2==2.7.7", "psycopg2 2.7.7, which does not work on the servers' Python "
         "3.11 (psycopg2 2.8.6 is the oldest that does)"),
        (None, "psycopg2-binary==2.8.4", "psycopg2-binary 2.8.4, which does not work on the "
         "servers' Python 3.11 (psycopg2-binary 2.8.6 is the oldest that does)"),
        (None, "psycopg2==2.8.6", None),
    ],
)  # fmt: skip
def test_init_names_a_requirement_pinned_older_than_the_servers_python_runs(
    tmp_path, python, requirement, told
):
    """Old tutorials pin Django 1.11, which imports what Python 3.10 removed: every release of
    it would fail on Debian 12's Python 3.11 (seen); and a psycopg2 that does not build there,
    which needs no note that it builds from source."""
    found = detected_pinning(tmp_path, f"{requirement}\n", python)
    notes = [n for n in found.notes if "which does not work on the servers' Python" in n]
    name = told and told.split()[0]
    assert notes == ([f"requirements.txt pins {told}: upgrade {name}, or install an older Python "
                      "on the servers and name it with `python` in shipstate.toml"]
                     if told else [])  # fmt: skip
    assert not [n for n in found.notes if "which has no wheel" in n]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ('print "settings loaded"',
         "Missing parentheses in call to 'print'. Did you mean print(...)?"),
        ("try:\n    import x\nexcept ImportError, e:\n    pass",
         "multiple exception types must be parenthesized"),
        ("print('settings loaded')", None),
    ],
)  # fmt: skip
def test_init_names_settings_of_python_2(tmp_path, code, words):
    project = django_project(tmp_path / "py2")
    settings = project / "mysite" / "settings.py"
    line = settings.read_text().count("\n") + (3 if "except" in code else 1)
    settings.write_text(settings.read_text() + code + "\n")
    notes = [n for n in detect(project).notes if " is Python 2 code " in n]
    assert notes == ([f"mysite/settings.py, line {line}, is Python 2 code ({words}), which no "
                      "Python 3 parses: port the app to Python 3 (`2to3 -w .` starts it), with a "
                      "Django that runs on the servers' Python"] if words else [])  # fmt: skip


def test_init_names_what_a_freeze_on_windows_macos_ubuntu_or_conda_listed_that_cannot_install(
    tmp_path,
):
    project = django_project(tmp_path / "frozen")
    (project / "requirements.txt").write_text(
        "Django==5.2.20\npywin32==306\npywin32-ctypes==0.2.3\npyobjc-core==10.1\n"
        "pkg-resources==0.0.0\nbackports.zoneinfo==0.2.1\n"
        'backports.zoneinfo==0.2.1;python_version<"3.9"\n'
        'pywinpty==2.0.14 ; sys_platform == "win32"\nappnope==0.1.4\n'
        "certifi @ file:///croot/certifi_1690232220950/work/certifi\n"
    )
    notes = [n for n in detect(project).notes if "`pip freeze`" in n]
    assert notes == [
        "requirements.txt line 10: `certifi @ file:///croot/certifi_1690232220950/work/certifi` "
        "installs a file of the machine that wrote it (as `pip freeze` lists what conda "
        "installed): require certifi by its version instead: `pip list --format=freeze > "
        "requirements.txt` writes each so",
        "requirements.txt requires pywin32==306, which installs on Windows only (as `pip freeze` "
        "there lists it): the servers cannot install it; remove it, or mark it `pywin32==306; "
        'sys_platform == "win32"`',
        "requirements.txt requires pyobjc-core==10.1, which installs on macOS only (as `pip "
        "freeze` there lists it): the servers cannot install it; remove it, or mark it "
        '`pyobjc-core==10.1; sys_platform == "darwin"`',
        "requirements.txt requires backports.zoneinfo==0.2.1 (as `pip freeze` on Python 3.8 lists "
        "it for Django 4), which Python 3.9 and newer have as zoneinfo (it builds on none of "
        "them): remove it, or mark it as Django requires it, "
        '`backports.zoneinfo==0.2.1; python_version < "3.9"`',
        "requirements.txt lists pkg-resources==0.0.0, which `pip freeze` of Debian's and "
        "Ubuntu's pip writes and no package index has (every install would fail): remove that "
        "line",
    ]


def test_init_reads_a_requirements_file_powershell_wrote(tmp_path):
    project = django_project(tmp_path / "windows")
    requirements = "Django==6.0\r\n-r base.txt\r\n"
    (project / "requirements.txt").write_bytes(requirements.encode("utf-16"))
    (project / "base.txt").write_bytes("psycopg2==2.9.10\r\n".encode("utf-16"))
    found = detect(project)
    config = config_written_for(found)
    assert config.packages[:2] == ("libpq-dev", "python3-dev")
    assert any(n.startswith("Django 6 (requirements.txt) needs Python 3.12") for n in found.notes)


@pytest.mark.parametrize(
    "requirement, apps, packages",
    [
        ("python-magic==0.4.27", "", ("libmagic1",)),
        ("Python_Magic>=0.4", "", ("libmagic1",)),
        ("python-magic-bin==0.4.14", "", ()),
        ("weasyprint>=62", "", ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0")),
        ("", 'INSTALLED_APPS += ["django.contrib.gis"]\n', ("gdal-bin",)),
    ],
)
def test_init_lists_the_packages_of_the_libraries_the_app_loads_on_the_servers(
    tmp_path, requirement, apps, packages
):
    project = django_project(tmp_path / "loads")
    (project / "requirements.txt").write_text(f"Django\n{requirement}\n")
    with (project / "mysite" / "settings.py").open("a") as settings:
        settings.write(apps)
    found = detect(project)
    config = config_written_for(found)
    assert config.packages == packages
    told = [n for n in found.notes if " from the servers: `packages` in shipstate.toml lists " in n]
    assert len(told) == (1 if packages else 0), found.notes
    assert not packages or told[0].endswith(
        f"{', '.join(packages)}, which `shipstate bootstrap` installs"
    )


CLASS_BASED_SETTINGS = """\
from pathlib import Path

from configurations import Configuration, values

BASE_DIR = Path(__file__).resolve().parent.parent


class Dev(Configuration):
    DEBUG = True
    SECRET_KEY = "django-insecure-dev"
    ALLOWED_HOSTS = []
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
    ]
    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    ROOT_URLCONF = "mysite.urls"
    TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ]
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    }
    STATIC_URL = "static/"


class Prod(Dev):
    DEBUG = False
    SECRET_KEY = values.SecretValue()
    ALLOWED_HOSTS = values.ListValue(["localhost"])
    STATIC_ROOT = BASE_DIR / "staticfiles"
"""


def deploy_with_a_secret_key(project: Path, fleet, config: str) -> str:
    """Deploy with `config`, its [secrets] uncommented, DJANGO_SECRET_KEY in the sandbox's
    secrets file: the DEBUG and SECRET_KEY the servers' settings then have."""
    config = config.replace("# [secrets]\n# file", "[secrets]\nfile")
    (project / "shipstate.toml").write_text(config)
    (project / "secrets").mkdir(exist_ok=True)  # init made it: the settings need secrets
    (project / "secrets" / "sandbox.env").write_text("DJANGO_SECRET_KEY=not-in-git\n")
    deploy_serving_the_admin(project, fleet)
    debug = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    said = run_on_the_sandbox(project, f"python manage.py shell -c {shlex.quote(debug)}")
    return said.splitlines()[-1]


def class_based_project(path: Path) -> Path:
    """A django-configurations project: settings classes, manage.py naming Dev."""
    project = django_project(path)
    (project / "mysite" / "settings.py").write_text(CLASS_BASED_SETTINGS)
    for name, module in (("manage.py", "management"), ("mysite/wsgi.py", "wsgi")):
        source = project / name
        text = re.sub(
            r"from django\.core\.(management|wsgi) import",
            f"from configurations.{module} import",
            source.read_text(),
        )
        text = re.sub(
            r"^( *)os\.environ\.setdefault\(",
            r"\1os.environ.setdefault('DJANGO_CONFIGURATION', 'Dev')\n\1os.environ.setdefault(",
            text,
            count=1,
            flags=re.M,
        )
        source.write_text(text)
    (project / "requirements.txt").write_text("Django==5.2.19\ndjango-configurations==2.5.1\n")
    return commit_all(project, "a django-configurations project")


SPLIT_SETTINGS = """\
from os import environ

from split_settings.tools import include, optional

environ.setdefault("DJANGO_ENV", "development")
ENV = environ["DJANGO_ENV"]

base_settings = [
    "components/*.py",
    "environments/{}.py".format(ENV),
    optional("environments/local.py"),
]

include(*base_settings)
"""


def split_settings_project(path: Path) -> Path:
    """A django-split-settings project (as wemake-django-template's): the settings package's
    __init__ includes components/*.py, then environments/<DJANGO_ENV>.py, development by
    default; the included files share the package's globals."""
    project = django_project(path)
    package = project / "mysite" / "settings"
    (package / "components").mkdir(parents=True)
    (package / "environments").mkdir()
    common = (project / "mysite" / "settings.py").read_text()
    common = re.sub(r"(?m)^(SECRET_KEY|DEBUG|ALLOWED_HOSTS) = .*\n", "", common)
    # __file__ is the package's __init__ in each included file
    common = common.replace(".parent.parent\n", ".parent.parent.parent\n")
    (package / "components" / "common.py").write_text(common)
    (project / "mysite" / "settings.py").unlink()
    (package / "__init__.py").write_text(SPLIT_SETTINGS)
    (package / "environments" / "development.py").write_text(
        'DEBUG = True\nSECRET_KEY = "development"\nALLOWED_HOSTS = ["localhost"]\n'
    )
    (package / "environments" / "production.py").write_text(
        'import os\n\nDEBUG = False\nSECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\n'
        'ALLOWED_HOSTS = ["localhost"]\nSTATIC_ROOT = BASE_DIR / "staticfiles"\n'
    )
    with (project / "requirements.txt").open("a") as requirements:
        requirements.write("django-split-settings==1.3.2\n")
    return commit_all(project, "a django-split-settings project")


def test_init_deploys_the_production_files_of_split_settings(tmp_path, fleet):
    reset_app_on_hosts()
    project = split_settings_project(tmp_path / "hello")
    found = detect(project)
    assert found.settings == "mysite.settings" and found.static_root == "staticfiles"
    assert found.settings_variable == ("DJANGO_ENV", "production", "chooses the settings' files")
    assert found.environment == ("DJANGO_SECRET_KEY",)
    assert found.notes == (
        "the settings include files by DJANGO_ENV (django-split-settings): manage.py gets its "
        'default, development; the servers get DJANGO_ENV = "production" in [env]',
        "the settings import mysite/settings/environments/local.py when there is one, and git "
        "has none: the releases run without it; if the servers need one, give it them with "
        '[secrets] in shipstate.toml (file = "secrets/{inventory}_local.py", path = '
        '"mysite/settings/environments/local.py", environment = false; README: Secrets)',
        "the settings read DJANGO_SECRET_KEY from the environment: put them in a secrets file "
        "per inventory, see [secrets] in shipstate.toml",
    ), "development.py's DEBUG, SECRET_KEY and ALLOWED_HOSTS are not the servers'"
    ok("init", cwd=project)
    config = (project / "shipstate.toml").read_text()
    assert config_written_for(found).env["DJANGO_ENV"] == "production"
    config = re.sub(r"(?m)^# (?=\[\[hooks\]\]$|command |inputs |outputs )", "", config)
    assert deploy_with_a_secret_key(project, fleet, config) == "False not-in-git"
    for address in host_addresses():
        status, _, _ = http_get(f"http://{address}/static/admin/css/base.css", host="localhost")
        assert status == 200


@pytest.mark.parametrize(
    ("included", "files"),
    [
        ('include("base.py", f"env/{ENV}.py")', ["base.py", "env/prod.py"]),
        (
            'include("base.py", "env/%s.py" % ENV, optional("env/local.py"))',
            ["base.py", "env/prod.py"],
        ),
        ('include(*["base.py", "env/{0}.py".format(ENV)])', ["base.py", "env/prod.py"]),
    ],
)
def test_split_settings_include_the_production_file_however_its_path_is_made(
    tmp_path, included, files
):
    from shipstate.split_settings import split_settings

    (tmp_path / "env").mkdir()
    for name in ("base.py", "env/dev.py", "env/prod.py"):
        (tmp_path / name).write_text("")
    module = tmp_path / "__init__.py"
    module.write_text(
        f"import os\nfrom split_settings.tools import include, optional\n"
        f'DEBUG_SQL = os.environ.get("DEBUG_SQL")\n'  # not what chooses the files
        f'ENV = os.environ.get("APP_ENV", "dev")\n{included}\n'
    )
    split = split_settings(module, ("production", "prod"))
    assert [f.relative_to(tmp_path).as_posix() for f in split.files] == files
    assert (split.variable, split.default, split.chosen) == ("APP_ENV", "dev", "prod")
    (tmp_path / "env" / "prod.py").unlink()
    split = split_settings(module, ("production", "prod"))
    assert split.chosen is None and [f.name for f in split.files] == ["base.py", "dev.py"]
    module.write_text('from split_settings.tools import include\ninclude("/etc/app/x.py")\n')
    assert split_settings(module, ("production",)).files == (), "only the app's, by a pattern"
    module.write_text("from .base import *\n")
    assert split_settings(module, ("production",)) is None


def test_class_based_settings_read_as_the_class_and_its_bases_set_them():

    settings = (
        "X = 0\nclass Base(Configuration):\n    A = 1\n    B = 1\n"
        "class Mixin:\n    B = 2\n    C = 2\nclass Prod(Mixin, Base):\n    C = 3\n"
    )
    assert as_configuration(settings, "Prod").splitlines() == [
        "X = 0",
        "A = 1",
        "B = 1",
        "B = 2",
        "C = 2",
        "C = 3",
    ], "the last wins: Prod's, then Mixin's over Base's"
    assert as_configuration(settings, "Staging") == settings, "a class it lacks: as written"


def test_init_deploys_the_production_class_of_class_based_settings(tmp_path, fleet):
    reset_app_on_hosts()
    project = class_based_project(tmp_path / "hello")
    found = detect(project)
    assert found.configuration == "Prod" and found.static_root == "staticfiles"
    assert found.environment == ("DJANGO_SECRET_KEY",)
    assert found.notes == (
        "manage.py uses the Dev settings class (django-configurations); the servers get Prod",
        "the settings read DJANGO_SECRET_KEY from the environment: put them in a secrets file "
        "per inventory, see [secrets] in shipstate.toml",
    ), "Dev's DEBUG, SECRET_KEY and ALLOWED_HOSTS are not the servers'"
    ok("init", cwd=project)
    config = (project / "shipstate.toml").read_text()
    assert 'DJANGO_CONFIGURATION = "Prod"' in config
    assert deploy_with_a_secret_key(project, fleet, config) == "False not-in-git"


def test_a_geodjango_project_is_told_to_have_gdal_on_the_servers(tmp_path, fleet):
    """The sandbox's hosts have no GDAL: the apply is refused, gdal-bin being in `packages`;
    without it there, the apply fails, and the hint names the package."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    with (project / "mysite" / "settings.py").open("a") as settings:
        settings.write('INSTALLED_APPS += ["django.contrib.gis"]\n')
    commit_all(project, "a GeoDjango project")
    next_steps = ok("init", cwd=project).stdout
    assert (
        "\n  shipstate sandbox up --hosts 2 && shipstate bootstrap -i inventories/sandbox.py && "
        "shipstate apply -i inventories/sandbox.py\n" in next_steps
    ), next_steps
    config = parse_config(tomllib.loads((project / "shipstate.toml").read_text()), "shipstate.toml")
    assert config.packages == ("gdal-bin",)
    commit(project, "shipstate init")
    (project / "inventories" / "sandbox.py").write_text(fleet.read_text())
    refused = shipstate("apply", "-i", "inventories/sandbox.py", "--yes", cwd=project)
    assert refused.code == 1 and "gdal-bin not installed, which `packages` in" in refused.stderr
    config_file = project / "shipstate.toml"
    config_file.write_text(re.sub(r"(?m)^packages = .*\n", "", config_file.read_text()))
    commit(project, "without packages, as if init had not listed it")
    failed = shipstate("apply", "-i", "inventories/sandbox.py", "--yes", cwd=project)
    assert failed.code == 1 and "Could not find the GDAL library" in failed.stderr, failed.output
    assert (
        "hint: GeoDjango (django.contrib.gis) loads GDAL, which the servers lack: add gdal-bin"
        in failed.stderr
    ), failed.stderr


@pytest.mark.parametrize(
    "lock",
    [
        '[[package]]\nname = "lib"\nsource = { git = "https://example.com/lib.git?rev=v1#ab" }\n',
        '[[package]]\nname = "lib"\n\n[package.source]\ntype = "git"\nurl = "https://example.com/l"\n',
        '{"default": {"lib": {"git": "https://example.com/lib.git", "ref": "ab"}}}',
    ],
    ids=["uv.lock", "poetry.lock", "Pipfile.lock"],
)
def test_a_lock_installing_from_git_needs_git_on_the_servers(lock):

    assert needing_server_packages(lock, 11) == ("git",)
    assert needing_server_packages(lock.replace("git", "url"), 11) == ()


def test_init_says_to_start_the_secrets_file_from_the_projects_env_example(tmp_path):
    project = django_project(tmp_path / "example")
    assert not any(".env.example" in note for note in detect(project).notes)
    (project / ".env.example").write_text("SECRET_KEY=\nDATABASE_URL=\n")
    said = [note for note in detect(project).notes if note.startswith(".env.example lists")]
    assert said == [
        ".env.example lists the environment the app expects: copy it to secrets/production.env "
        "(one per inventory: secrets/staging.env...), fill in the values, and uncomment "
        "[secrets] in shipstate.toml"
    ]
    (project / ".env.example").unlink()
    (project / "config").mkdir()
    (project / "config" / ".env.template").write_text("SECRET_KEY=\n")  # wemake-django-template's
    said = [note for note in detect(project).notes if "lists the environment" in note]
    assert said[0].startswith("config/.env.template lists the environment the app expects")


def test_init_says_when_git_tracks_what_each_host_keeps_in_its_shared_dir(tmp_path):
    project = startproject(tmp_path / "tracked")
    assert not any(note.startswith("git tracks") for note in detect(project).notes)
    (project / "db.sqlite3").write_bytes(b"SQLite format 3\0")
    (project / "media").mkdir()
    (project / "media" / "default-avatar.png").write_bytes(b"\x89PNG")
    commit(project, "the database and an image, by mistake")
    said = [note for note in detect(project).notes if note.startswith("git tracks")]
    assert [note.split(",")[0] for note in said] == ["git tracks db.sqlite3", "git tracks media"]
    assert "`git rm -r --cached media` and add it to .gitignore" in said[1]


def test_init_says_when_git_tracks_a_dotenv_the_settings_load_on_the_servers_too(tmp_path):
    """django-environ's read_env() fills in what the environment lacks from the release's .env:
    the servers would run with the development DEBUG and key git holds."""
    project = startproject(tmp_path / "dotenv")
    settings = project / "mysite" / "settings.py"
    (project / ".env").write_text("DEBUG=True\nSECRET_KEY=dev-key\n")

    def said():
        return [note for note in detect_tracked(project).notes if note.startswith("git tracks")]

    assert said() == [], "the settings load no .env"
    original = settings.read_text()
    settings.write_text("import environ\n" + original + 'environ.Env.read_env(BASE_DIR / ".env")\n')
    assert said() == [
        "git tracks .env, which the settings load (read_env): each release holds it, so the "
        "servers get what it sets wherever their environment does not (DEBUG, SECRET_KEY): take "
        "it out of git (`git rm --cached .env`, and .env in .gitignore; it stays in git's "
        "history: change the secrets it held) and give the servers their values in the secrets "
        "file"
    ]
    settings.write_text(settings.read_text() + 'SECRET_KEY = env("SECRET_KEY")\n')
    assert said() == [], "[secrets] is written active: the secrets file takes .env's place"
    (project / ".env").rename(project / "mysite" / ".env")  # python-decouple's, beside them
    settings.write_text("from decouple import config\n" + original)
    assert said()[0].startswith("git tracks mysite/.env, which the settings load (decouple)")
    (project / ".gitignore").write_text(".env\n")
    git(project, "rm", "-q", "--cached", "mysite/.env")
    assert said() == [], "git does not track it"


FABFILE = """\
from fabric.api import env, run, task

env.user = "deploy"
env.hosts = ["web1.example.com", "web2.example.com:2222"]
MAX_DEPLOYED_VERSIONS = 7


@task
def staging():
    env.user = "ubuntu"
    env.hosts = "staging.example.com"


@task
def deploy():
    run("git pull")
"""
KAMAL = """\
service: mysite
servers:
  web:
    - web0.example.com
    - "web1.example.com"  # the second
  job:
    hosts:
      - web2.example.com
    cmd: celery -A mysite worker
    env:
      secret:
        - BROKER_URL
env:
  clear:
    DJANGO_ALLOWED_HOSTS: shop.example.com
    DATABASE_HOST: mysite-db  # an accessory
  secret:
    - SECRET_KEY
    - DATABASE_PASSWORD
"""


COMPRESSED_HOME = """\
{% load static compress %}<html><head>{% compress css %}
<link rel="stylesheet" href="{% static 'pages/site.css' %}">{% endcompress %}</head></html>
"""
WRITE_MARKER = """\
from pathlib import Path
from django.core.management.base import BaseCommand

class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **options):
        Path("marker.txt").write_text("written by the fabfile's own command")
"""
DEPLOYING_FABFILE = """\
from fabric.api import env, execute, run

def migrate():
    run("python manage.py migrate --noinput")

def deploy():
    execute(migrate)
    run("python manage.py createcachetable")
    run("python manage.py collectstatic --noinput")
    run("%s/bin/python manage.py compress --settings=%s" % (env.venv, env.settings))
    run("python manage.py write_marker --quiet")

def reset_database():
    run("python manage.py flush --noinput")
"""


def test_init_runs_what_the_fabfile_ran_on_each_deploy_and_compresses_offline(tmp_path, fleet):
    """The fabfile's deploy ran django-compressor's `compress` and a command of the app's own:
    init writes them as hooks, so the pages compressed offline are served, and the command's
    file is in each release; a task outside deploy (a flush) is not taken."""
    reset_app_on_hosts()
    project = django_project(tmp_path / "hello")
    requirements = project / "requirements.txt"
    requirements.write_text(requirements.read_text() + "django-compressor==4.7.0\n")
    pages = project / "pages"
    for path, text in {
        "__init__.py": "",
        "management/__init__.py": "",
        "management/commands/__init__.py": "",
        "management/commands/write_marker.py": WRITE_MARKER,
        "templates/pages/home.html": COMPRESSED_HOME,
        "static/pages/site.css": "body { color: #123456 }\n",
    }.items():
        (pages / path).parent.mkdir(parents=True, exist_ok=True)
        (pages / path).write_text(text)
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + 'INSTALLED_APPS += ["compressor", "pages"]\nSTATIC_ROOT = BASE_DIR / "staticfiles"\n'
        "STATICFILES_FINDERS = [\n"
        '    "django.contrib.staticfiles.finders.AppDirectoriesFinder",\n'
        '    "compressor.finders.CompressorFinder",\n]\n'
        "COMPRESS_ENABLED = True\nCOMPRESS_OFFLINE = True\n"
        "CACHES = {'default': {\n"
        "    'BACKEND': 'django.core.cache.backends.db.DatabaseCache', 'LOCATION': 'cache'}}\n"
    )
    urls = project / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text() + "from django.views.generic import TemplateView\n"
        'urlpatterns.append(path("", TemplateView.as_view(template_name="pages/home.html")))\n'
    )
    (project / "fabfile.py").write_text(DEPLOYING_FABFILE)
    commit_all(project, "a home page compressed offline, deployed by a fabfile")

    found = detect(project)
    assert (found.former_before_static, found.former_after_static) == (
        (),
        ("write_marker --quiet",),
    )
    config = config_written_for(found)
    assert [(h.command, h.run) for h in config.hooks] == [
        ("python manage.py migrate --noinput", "every-host"),
        ("python manage.py createcachetable", "every-host"),  # once: the fabfile's too
        ("python manage.py collectstatic --noinput && python manage.py compress", "every-host"),
        ("python manage.py write_marker --quiet", "every-host"),
    ]
    written = ok("init", cwd=project).output
    assert "fabfile.py ran `manage.py write_marker --quiet` on each deploy: hooks" in written
    assert "the collectstatic hook runs `manage.py compress` after it, as fabfile.py says" in (
        written
    )
    deploy_serving_the_admin(project, fleet)
    for address in host_addresses():
        status, body, _ = http_get(f"http://{address}/", host="localhost")
        assert status == 200, body[-800:]
        stylesheet = re.search(r'href="(/static/CACHE/css/[\w.]+\.css)"', body)
        assert stylesheet, body
        status, css, _ = http_get(f"http://{address}{stylesheet[1]}", host="localhost")
        assert (status, "#123456" in css) == (200, True)
    marker = run_on_the_sandbox(project, "cat marker.txt")  # fails on a host without it
    assert marker.strip() == "written by the fabfile's own command"
    cached = run_on_the_sandbox(
        project,
        "python manage.py shell -c 'from django.core.cache import cache; "
        'cache.set("k", "in the table"); print(cache.get("k"))\'',
    )
    assert cached.strip().splitlines()[-1] == "in the table", "the cache's table was made"

    shipstate_toml = project / "shipstate.toml"
    shipstate_toml.write_text(
        shipstate_toml.read_text()
        .replace(" && python manage.py compress", "")
        .replace('health_path = "/admin/login/"', 'health_path = "/"')
    )
    (pages / "static" / "pages" / "site.css").write_text("body { color: #654321 }\n")
    commit(project, "the compress left out")
    failed = shipstate("apply", "-i", "inventories/sandbox.py", "--yes", cwd=project)
    assert failed.code == 1, failed.output
    assert "OfflineGenerationError" in failed.output
    assert "hint: the settings compress offline (COMPRESS_OFFLINE), and this release's" in (
        failed.output
    )


CAPISTRANO_DEPLOY = """\
namespace :django do
  task :migrate do
    on primary(:db) do
      within release_path do
        execute :python, "manage.py", "migrate", "--noinput"
      end
    end
  end

  task :compress do
    on roles(:web) do
      execute "cd #{release_path} && venv/bin/python manage.py compress --force"
    end
  end

  task :reset do
    on primary(:db) do
      execute :python, "manage.py flush --noinput"
    end
  end
end

after "deploy:updated", "django:migrate"
after "django:migrate", "django:compress"
"""
DEPLOYER_RECIPE = """\
<?php
namespace Deployer;

task('deploy:migrate', function () {
    run('cd {{release_path}} && {{bin/python}} manage.py migrate --noinput');
});
task('search:index', function () {
    run('cd {{release_path}} && {{bin/python}} manage.py update_index');
});
task('backup', function () {
    run('{{bin/python}} {{current_path}}/manage.py dumpdata > backup.json');
});
task('deploy', ['deploy:prepare', 'deploy:migrate', 'deploy:publish']);
after('deploy:migrate', 'search:index');
"""


def test_the_commands_a_former_tools_deploy_ran_are_read_from_its_files(tmp_path):
    from shipstate.former_tool import deploy_commands, fabric_deploy_commands

    fabric2 = """\
from invoke import task

@task
def deploy(c):
    with c.cd(RELEASE):
        c.run(f"{VENV}/bin/python manage.py migrate")
        build_static(c)
    c.run("python manage.py update_index --remove; echo done")

def build_static(c):
    c.run("django-admin compilejsi18n -l fr")
    c.run("python manage.py collectstatic --noinput")
    c.run("python manage.py %s" % command)  # a command named elsewhere: not read

@task
def shell(c):
    c.run("python manage.py shell_plus")
"""
    assert fabric_deploy_commands(fabric2) == [
        "migrate",
        "compilejsi18n -l fr",
        "collectstatic --noinput",
        "update_index --remove",
    ]
    assert fabric_deploy_commands("def backup():\n    run('python manage.py dumpdata')\n") == []

    deploy = tmp_path / "deploy"
    (deploy / "hooks").mkdir(parents=True)
    (deploy / "deploy.yml").write_text(
        "- hosts: web\n  vars:\n"
        '    ansistrano_after_symlink_tasks_file: "{{ playbook_dir }}/hooks/after-symlink.yml"\n'
        '    ansistrano_before_symlink_tasks_file: "{{ playbook_dir }}/hooks/before-symlink.yml"\n'
        "  roles:\n    - ansistrano.deploy\n"
    )
    (deploy / "hooks" / "before-symlink.yml").write_text(
        "- name: compress\n  community.general.django_manage:\n"
        '    app_path: "{{ ansistrano_release_path.stdout }}"\n    command: compress\n'
        "- django_manage: command=createcachetable app_path=/srv/app\n"
    )
    (deploy / "hooks" / "after-symlink.yml").write_text(
        '- shell: "cd {{ ansistrano_release_path.stdout }} && ../venv/bin/python manage.py '
        'clearsessions"\n'
    )
    assert deploy_commands(tmp_path) == (
        ("compress", "createcachetable", "clearsessions"),
        "deploy/hooks/before-symlink.yml",
    )
    capistrano = tmp_path / "capistrano"
    (capistrano / "config").mkdir(parents=True)
    (capistrano / "config" / "deploy.rb").write_text(CAPISTRANO_DEPLOY)
    assert deploy_commands(capistrano) == (
        ("migrate --noinput", "compress --force"),
        "config/deploy.rb",
    ), "the tasks hooked into the deploy, not the others (a flush)"
    deployer = tmp_path / "deployer"
    deployer.mkdir()
    (deployer / "deploy.php").write_text(DEPLOYER_RECIPE)
    assert deploy_commands(deployer) == (("migrate --noinput", "update_index"), "deploy.php")
    found = detect(startproject(tmp_path / "shop"))
    assert (found.former_commands_in, found.compress) == (None, False)


def test_init_takes_the_hosts_and_releases_kept_of_a_fabfile_or_capistrano(tmp_path):
    from shipstate.inventory import load_inventory

    project = django_project(tmp_path / "fabric")
    (project / "fabfile.py").write_text(FABFILE)
    (project / "config" / "deploy").mkdir(parents=True)  # a stage of Capistrano's comes second
    (project / "config" / "deploy" / "production.rb").write_text('server "cap.example.com"\n')
    result = ok("init", cwd=project)
    hosts = {
        env: [(h.name, h.data) for h in load_inventory(project / "inventories" / f"{env}.py")]
        for env in ("production", "staging")
    }
    assert hosts == {
        "production": [
            ("web1.example.com", {"ssh_user": "deploy"}),
            ("web2.example.com", {"ssh_user": "deploy", "ssh_port": 2222}),
        ],
        "staging": [("staging.example.com", {"ssh_user": "ubuntu"})],
    }
    assert "note: inventories/production.py lists the 2 hosts fabfile.py names: check them (" in (
        result.stderr
    )
    assert "check the hosts in inventories/production.py" in result.stdout
    assert tomllib.loads((project / "shipstate.toml").read_text())["keep_releases"] == 7
    (project / "fabfile.py").unlink()
    (project / "config" / "deploy.rb").write_text("set :keep_releases, 1\n")
    shutil.rmtree(project / "inventories")
    ok("init", "--force", cwd=project)
    production = load_inventory(project / "inventories" / "production.py")
    assert [h.name for h in production] == ["cap.example.com"]
    config = (project / "shipstate.toml").read_text()
    assert "keep_releases = 2   # config/deploy.rb kept 1: the active release and the" in config


def test_init_lists_kamals_servers_as_the_deploy_users_and_says_kamal_connected_as_root(tmp_path):
    from shipstate.inventory import load_inventory

    project = django_project(tmp_path / "kamal")
    (project / "config").mkdir()
    proxy = (
        "proxy:\n  ssl: true\n  hosts:\n    - shop.example.com\n    - www.shop.example.com\n"
        "  healthcheck:\n    interval: 3\n    path: /up/\n"
    )
    (project / "config" / "deploy.yml").write_text(KAMAL + proxy)
    (project / "config" / "deploy.staging.yml").write_text(
        "servers: [stage.example.com]\nssh:\n  user: app\n  port: 2200\n"
        "proxy:\n  host: staging.shop.example.com\n"
    )
    result = ok("init", cwd=project)
    production = load_inventory(project / "inventories" / "production.py")
    assert [(h.name, h.data) for h in production] == [
        (f"web{n}.example.com", {"ssh_user": "deploy"}) for n in range(3)
    ], "a role's env is not a host"
    staging = load_inventory(project / "inventories" / "staging.py")
    assert [(h.name, h.data) for h in staging] == [
        ("stage.example.com", {"ssh_user": "app", "ssh_port": 2200})
    ]
    assert (
        "Kamal connects to web0.example.com, web1.example.com, web2.example.com as root: "
        "shipstate deploys as an unprivileged user, which `shipstate bootstrap -i production "
        "--user root` creates"
    ) in result.stderr.replace("\n", " ")
    assert "stage.example.com as root" not in result.stderr
    assert (
        "note: config/deploy.yml gives the app SECRET_KEY, DATABASE_PASSWORD from .kamal/secrets"
        in result.stderr
    )
    config = (project / "shipstate.toml").read_text()
    env = config.split("[env]\n")[1].split("\n\n")[0].splitlines()
    assert env[-2:] == [
        '# DJANGO_ALLOWED_HOSTS = "shop.example.com"',
        '# DATABASE_HOST = "mysite-db"',
    ]
    assert (
        'server_name = "shop.example.com www.shop.example.com"   # as config/deploy.yml\'s proxy '
        "lists them\n" in config
    )
    assert 'health_path = "/up/"' in config, "where kamal-proxy checked the app"
    for_staging = parse_config(tomllib.loads(config), "shipstate.toml", "staging")
    assert for_staging.server_name == "staging.shop.example.com", "the staging destination's"
    (project / "config" / "deploy.yml").write_text(KAMAL + "healthcheck:\n  path: /health\n")
    found = detect(project)
    assert (found.health_path, found.served_at.names) == ("/health", ()), "Kamal 1's"


def test_without_a_former_tools_hosts_the_inventories_are_examples(tmp_path):
    from shipstate.former_tool import (
        fabric_settings,
        former_hosts,
        from_capistrano_stage,
        from_fabfile,
    )

    project = django_project(tmp_path / "none")
    (project / "fabfile.py").write_text("def broken(:\n")
    result = ok("init", cwd=project)
    assert "add your hosts to inventories/production.py" in result.stdout
    assert "example.com" in (project / "inventories" / "production.py").read_text()
    assert former_hosts(project) == {}
    fabric2 = (
        'from fabric import Connection\ndef prod(c):\n    Connection("a.example.com", user="ops")\n'
    )
    assert [(h.address, h.user) for h in from_fabfile(fabric_settings(fabric2))["production"]] == [
        ("a.example.com", "ops")
    ]
    roles = (
        'env.user = "deploy"\nenv.roledefs = {\n'
        '    "web": ["web1.example.com", "web2.example.com"],\n    "db": ["db1.example.com"],\n'
        '    "worker": {"hosts": ["worker1.example.com"]},\n}\n'
        'def staging():\n    env.roledefs = {"app": ["stage.example.com"], "cache": ["c"]}\n'
    )
    assert {
        env: [(h.address, h.user) for h in hosts]
        for env, hosts in from_fabfile(fabric_settings(roles)).items()
    } == {
        "staging": [("stage.example.com", "deploy")],
        "production": [
            ("web1.example.com", "deploy"),
            ("web2.example.com", "deploy"),
            ("worker1.example.com", "deploy"),
        ],
    }, "env.roledefs' roles but a database's or a cache's"
    stage = (
        'role :app, %w{deploy@a.example.com b.example.com}\nrole :db, ["deploy@a.example.com"]\n'
    )
    assert [(h.address, h.user) for h in from_capistrano_stage(stage)] == [
        ("a.example.com", "deploy"),
        ("b.example.com", None),
    ]


def test_init_gives_each_host_the_key_the_former_tool_connected_with(tmp_path):
    from shipstate.former_tool import (
        fabric_settings,
        from_ansible_inventory,
        from_fabfile,
        from_kamal,
    )
    from shipstate.inventory import load_inventory

    fabric2 = (
        "def production(c):\n"
        '    Connection("a.example.com", connect_kwargs={"key_filename": ["~/.ssh/ops"]})\n'
    )
    assert [h.key for h in from_fabfile(fabric_settings(fabric2))["production"]] == ["~/.ssh/ops"]
    kamal = 'servers:\n  - web.example.com\nssh:\n  user: app\n  keys: [ "~/.ssh/kamal" ]\n'
    assert [h.key for h in from_kamal(kamal)] == ["~/.ssh/kamal"]
    ini = "[web]\nweb1 ansible_host=web1.example.com ansible_ssh_private_key_file=~/.ssh/a\n"
    assert [h.key for h in from_ansible_inventory(ini, "production")["production"]] == ["~/.ssh/a"]

    project = django_project(tmp_path / "keyed")
    (project / "fabfile.py").write_text(
        'env.hosts = ["deploy@web1.example.com"]\nenv.key_filename = "~/.ssh/deploy.pem"\n'
    )
    ok("init", cwd=project)
    production = load_inventory(project / "inventories" / "production.py")
    assert [(h.name, h.data) for h in production] == [
        ("web1.example.com", {"ssh_user": "deploy", "ssh_key": "~/.ssh/deploy.pem"})
    ]


# as the fabfile of the Fabric project shipstate replaces (../shared/seed) begins: Python 2
SEED_FABFILE = """\
from fabric.api import env

env.hosts = [
    'deploy@web1.example.com',  # the first
    'deploy@web2.example.com',
]
env.root = '/srv'
env.project = 'mysite'

# Maximum number of versions to keep on the server, including the current version.
MAX_DEPLOYED_VERSIONS = 4

def deploy_app_archive():
    try:
        print "Creating app bundle..."
    except BaseException, e:
        print e
"""


def test_init_gives_shipstate_a_root_beside_the_one_the_fabfile_deploys_to(tmp_path):
    """The fabfile keeps versions/ and current in /srv/<project>, shipstate's default root for
    an app of that name: the old and new deploys side by side, until the old one is retired."""
    from shipstate.inventory import load_inventory

    project = django_project(tmp_path / "mysite")
    (project / "fabfile.py").write_text(SEED_FABFILE)  # Python 2, as Fabric 1's are
    (project / "config").mkdir()
    (project / "requirements.txt").rename(project / "config" / "requirements.txt")
    result = ok("init", cwd=project)
    config = tomllib.loads((project / "shipstate.toml").read_text())
    assert config["name"] == "mysite" and config["root"] == "/srv/mysite-shipstate"
    assert config["keep_releases"] == 4
    assert config["requirements"] == "config/requirements.txt", "where the fabfile has it"
    production = load_inventory(project / "inventories" / "production.py")
    assert [(h.name, h.data) for h in production] == [
        ("web1.example.com", {"ssh_user": "deploy"}),
        ("web2.example.com", {"ssh_user": "deploy"}),
    ]
    assert (
        "note: fabfile.py deploys to /srv/mysite (shipstate's root for mysite by default): "
        "shipstate.toml's root is /srv/mysite-shipstate"
    ) in result.stderr
    (project / "fabfile.py").write_text(SEED_FABFILE.replace("'/srv'", "'/var/www'"))
    ok("init", "--force", cwd=project)
    assert "root" not in tomllib.loads((project / "shipstate.toml").read_text())
    (project / "fabfile").mkdir()  # a fabfile package
    package = (project / "fabfile.py").read_text().replace("VERSIONS = 4", "VERSIONS = 5")
    (project / "fabfile" / "__init__.py").write_text(package)
    (project / "fabfile.py").unlink()
    shutil.rmtree(project / "inventories")
    ok("init", "--force", cwd=project)
    assert tomllib.loads((project / "shipstate.toml").read_text())["keep_releases"] == 5
    assert [h.name for h in load_inventory(project / "inventories" / "production.py")] == [
        "web1.example.com",
        "web2.example.com",
    ]


DEPLOYER_PHP = """\
<?php
namespace Deployer;

require 'recipe/common.php';

set('keep_releases', 6);
set('deploy_path', '/srv/shop');
set('shared_dirs', ['media', 'storage/logs/']);
add('shared_files', ['.env']);
// host('commented-out.example.com');

host('web1.example.com', 'web2.example.com')
    ->setRemoteUser('deployer')
    ->setPort(2222)
    ->set('labels', ['stage' => 'production']);

host('staging')
    ->set('hostname', 'staging.example.com')
    ->set('remote_user', 'deploy')
    ->set('labels', ['stage' => 'staging']);

host('old.example.com')->stage('staging')->user('ubuntu');  // Deployer 6
"""

ANSISTRANO_PLAYBOOK = """\
- name: Deploy shop
  hosts: all
  vars:
    ansistrano_deploy_to: "/var/www/shop"
    ansistrano_keep_releases: 3
    ansistrano_shared_paths:
      - logs
  roles:
    - { role: ansistrano.deploy }
"""

ANSIBLE_HOSTS = """\
[web]
web1.example.com ansible_user=deploy ansible_port=2222
app2 ansible_host=app2.example.com

[web:vars]
ansible_python_interpreter=/usr/bin/python3
"""


def inventory_hosts(project) -> dict[str, list]:
    from shipstate.inventory import load_inventory

    return {
        env: [(h.name, h.data) for h in load_inventory(project / "inventories" / f"{env}.py")]
        for env in ("production", "staging")
    }


def test_init_takes_deployers_and_ansistranos_hosts_releases_kept_and_root(tmp_path):
    project = django_project(tmp_path / "shop")
    (project / "deploy.php").write_text(DEPLOYER_PHP)
    result = ok("init", cwd=project)
    assert inventory_hosts(project) == {
        "production": [
            ("web1.example.com", {"ssh_user": "deployer", "ssh_port": 2222}),
            ("web2.example.com", {"ssh_user": "deployer", "ssh_port": 2222}),
        ],
        "staging": [
            ("staging.example.com", {"ssh_user": "deploy"}),
            ("old.example.com", {"ssh_user": "ubuntu"}),
        ],
    }
    assert "note: inventories/staging.py lists the 2 hosts deploy.php names: check them" in (
        result.stderr
    )
    config = tomllib.loads((project / "shipstate.toml").read_text())
    assert config["keep_releases"] == 6 and config["root"] == "/srv/shop-shipstate"
    assert config["shared"] == ["db.sqlite3", "media/", "storage/logs/"]
    assert "note: deploy.php keeps .env across releases: shipstate uploads it" in (result.stderr)
    assert "the old deploys (README: From Capistrano, Deployer, Ansistrano or Kamal)" in (
        result.stderr.replace("\n", " ")
    )

    (project / "deploy.php").unlink()
    shutil.rmtree(project / "inventories")
    (project / "ansible" / "inventories" / "staging").mkdir(parents=True)
    (project / "ansible" / "deploy.yml").write_text(ANSISTRANO_PLAYBOOK)
    (project / "ansible" / "hosts").write_text(ANSIBLE_HOSTS)
    staging = "[all]\nstage.example.com ansible_user=ubuntu  # the stage\n"
    (project / "ansible" / "inventories" / "staging" / "hosts.ini").write_text(staging)
    ok("init", "--force", cwd=project)
    assert inventory_hosts(project) == {
        "production": [
            ("web1.example.com", {"ssh_user": "deploy", "ssh_port": 2222}),
            ("app2.example.com", {"ssh_user": "deploy"}),
        ],
        "staging": [("stage.example.com", {"ssh_user": "ubuntu"})],
    }, "a group's vars are no host; a host without ansible_user is the deploy user's"
    config = tomllib.loads((project / "shipstate.toml").read_text())
    assert config["keep_releases"] == 3 and "root" not in config
    assert config["shared"] == ["db.sqlite3", "media/", "logs/"]
    assert "logs/: as ansible/deploy.yml kept" in (project / "shipstate.toml").read_text()


def test_what_capistrano_deployer_and_kamal_keep_is_shared(tmp_path):
    from shipstate.former_tool import former_shared

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.rb").write_text(
        "set :linked_dirs, %w{log public/uploads /abs ../up}\n"  # none outside the release
        'append :linked_files, ".env", "./local.py"\n'
    )
    assert former_shared(tmp_path) == (
        ("log/", "public/uploads/", ".env", "local.py"),
        "config/deploy.rb",
    )
    (tmp_path / "config" / "deploy.rb").unlink()
    (tmp_path / "deploy.yaml").write_text(
        "config:\n  shared_dirs:\n    - media\n  shared_files: [.env]\nhosts:\n  a.example.com:\n"
    )
    assert former_shared(tmp_path) == (("media/", ".env"), "deploy.yaml")

    (tmp_path / "deploy.yaml").unlink()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: shop\nvolumes:\n  - /var/lib/shop/media:/app/media\n"
        '  - "shop_db:/app/var/db.sqlite3:rw"\n  - /srv/logs:/var/log/shop\n'
    )
    assert former_shared(tmp_path) is None, "without a Dockerfile's WORKDIR, in no release"
    (tmp_path / "Dockerfile").write_text("FROM python:3.12\nWORKDIR /build\nWORKDIR /app/\n")
    assert former_shared(tmp_path) == (
        ("media/", "var/db.sqlite3"),
        "config/deploy.yml",
    ), "a volume outside the image's WORKDIR is none of the release's"


def test_deployers_yaml_and_ansibles_yaml_inventory_give_their_hosts():
    from shipstate.former_tool import (
        FormerHost,
        from_ansible_inventory,
        from_deployer_yaml,
        from_kamal,
    )

    recipe = """\
import:
  - recipe/common.php
config:
  keep_releases: 3
hosts:
  prod.example.org:
    remote_user: deployer
    port: 2200
    labels:
      stage: production
  "stage":
    hostname: stage.example.org
    labels:
      stage: staging
tasks:
  build:
    - run: uptime
"""
    assert from_deployer_yaml(recipe) == {
        "production": (FormerHost("prod.example.org", "deployer", 2200),),
        "staging": (FormerHost("stage.example.org"),),
    }
    inventory = """\
all:
  children:
    webservers:
      hosts:
        p1.example.com:
          ansible_user: deploy
        p2.example.com:
    staging:
      hosts:
        s1.example.com:
"""
    assert from_ansible_inventory(inventory, "production") == {
        "production": (FormerHost("p1.example.com", "deploy"), FormerHost("p2.example.com")),
        "staging": (FormerHost("s1.example.com"),),
    }
    ini = """\
[web]
w1.example.com:2222

[stageweb]
s1.example.com ansible_user=ubuntu

[staging:children]
stageweb
"""
    assert from_ansible_inventory(ini, "production") == {
        "production": (FormerHost("w1.example.com", None, 2222),),
        "staging": (FormerHost("s1.example.com", "ubuntu"),),
    }, "a group in staging's children is staging's"
    tagged = "servers:\n  web:\n    - a.example.com: canary\n    - b.example.com\n"
    assert from_kamal(tagged) == (
        FormerHost("a.example.com", "root"),
        FormerHost("b.example.com", "root"),
    )


def test_ansibles_host_ranges_are_the_hosts_they_stand_for():
    from shipstate.former_tool import FormerHost, from_ansible_inventory

    ini = """\
[production]
web[01:03].example.com ansible_user=deploy
db-[a:b].example.com:2222
app[8:12:2].example.com
odd[x:9].example.com
"""
    assert from_ansible_inventory(ini, "staging") == {
        "production": (
            FormerHost("web01.example.com", "deploy"),
            FormerHost("web02.example.com", "deploy"),
            FormerHost("web03.example.com", "deploy"),
            FormerHost("db-a.example.com", None, 2222),
            FormerHost("db-b.example.com", None, 2222),
            FormerHost("app8.example.com"),
            FormerHost("app10.example.com"),
            FormerHost("app12.example.com"),
        )
    }, "a range Ansible refuses is no host"
    yaml = """\
staging:
  hosts:
    "s[1:2]-[a:b].example.com":
      ansible_user: ubuntu
    named[1:3]:
      ansible_host: one.example.com
    old:
      ansible_ssh_host: old.example.com
      ansible_ssh_user: root
      ansible_ssh_port: 2200
    both:
      ansible_ssh_host: moved.example.com
      ansible_host: stale.example.com
      ansible_user: deploy
      ansible_ssh_user: admin
"""
    assert from_ansible_inventory(yaml, "production") == {
        "staging": (
            FormerHost("s1-a.example.com", "ubuntu"),
            FormerHost("s1-b.example.com", "ubuntu"),
            FormerHost("s2-a.example.com", "ubuntu"),
            FormerHost("s2-b.example.com", "ubuntu"),
            FormerHost("one.example.com"),
            FormerHost("old.example.com", "root", 2200),
            FormerHost("moved.example.com", "admin"),
        )
    }, "ansible_ssh_host, _user and _port: Ansible 1's names, which win, as in its ssh connection"


DOCKERFILE = """\
FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \\
    build-essential libjpeg-dev \\
    libpq-dev \\
    gettext \\
  && rm -rf /var/lib/apt/lists/*
RUN apt-get -qq install -y nodejs=20.19.2-1 && pip install -r requirements.txt
"""


def test_init_names_the_packages_a_dockerfile_installs_that_packages_lacks(tmp_path):
    project = django_project(tmp_path / "docker")
    assert not any("Dockerfile" in note for note in detect(project).notes)
    (project / "Dockerfile").write_text(DOCKERFILE)
    (project / "requirements.txt").write_text("Django\npsycopg2==2.9.10\n")
    found = detect(project)
    said = [note for note in found.notes if note.startswith("the Dockerfile installs")]
    assert said == [
        "the Dockerfile installs gettext, nodejs with apt: add those the app needs on the "
        "servers to `packages` in shipstate.toml (`shipstate bootstrap` installs them)"
    ], "libpq-dev is in `packages` already (psycopg2); building a requirement needs the others"


def test_split_settings_without_a_production_file_are_named():
    from shipstate.split_settings import SplitSettings

    split = SplitSettings(files=(), optional=(), variable="DJANGO_ENV", default="dev", chosen=None)
    assert split_settings_notes(split) == [
        "the settings include files by DJANGO_ENV (django-split-settings), and none is for "
        "production (production, prod): the servers get its default, dev; set DJANGO_ENV in "
        "[env] in shipstate.toml"
    ]
    assert split_settings_notes(split.__class__(**{**split.__dict__, "chosen": "dev"})) == []


@pytest.mark.parametrize(
    ("path", "text", "workers", "timeout"),
    [
        ("Procfile", "web: gunicorn mysite.wsgi --workers 5 --timeout=180 --log-file -\n", 5, 180),
        (
            "deploy/supervisor.conf",
            "[program:web]\ncommand=/srv/venv/bin/gunicorn -w 3 -t 90 mysite.wsgi\n",
            3,
            90,
        ),
        (
            "deploy/gunicorn.service",
            "[Service]\n# ExecStart=gunicorn --workers 9\nExecStart=/srv/venv/bin/gunicorn \\\n"
            "    --workers 4 \\\n    --bind unix:/run/gunicorn.sock mysite.wsgi:application\n",
            4,
            60,
        ),
        (
            "config/gunicorn.conf.py",
            "bind = ':8000'\nworkers = 6\ntimeout = 300  # reports\n",
            6,
            300,
        ),
        (
            "Dockerfile",
            'FROM python:3.12\nCMD ["gunicorn", "--workers", "4", "mysite.wsgi"]\n',
            4,
            60,
        ),
        ("Procfile", "web: gunicorn mysite.wsgi --workers 100 --timeout 0\n", 2, 60),
        ("Procfile", "web: gunicorn mysite.wsgi -w ${WEB_CONCURRENCY:-4} -t $TIMEOUT\n", 4, 60),
        (
            "docker-compose.yml",
            "services:\n  web:\n    command: gunicorn mysite.wsgi -b 0.0.0.0:8000 -w 5\n",
            5,
            60,
        ),
        (
            "deploy/uwsgi.ini",
            "[uwsgi]\nmodule = mysite.wsgi\nprocesses = 3\nharakiri = 120\nmaster = true\n",
            3,
            120,
        ),
    ],
    ids=[
        "procfile",
        "supervisor",
        "systemd",
        "config",
        "dockerfile",
        "out-of-bounds",
        "variable",
        "compose",
        "uwsgi",
    ],
)
def test_init_gives_the_app_server_the_workers_and_timeout_gunicorn_had(
    tmp_path, path, text, workers, timeout
):
    project = django_project(tmp_path / "shop")
    (project / path).parent.mkdir(parents=True, exist_ok=True)
    (project / path).write_text(text)
    commit_all(project, "the former app server's config")
    written = render_config(detect(project))
    config = parse_config(tomllib.loads(written), "shipstate.toml")
    assert (config.workers, config.timeout) == (workers, timeout)
    server = "uWSGI" if "uwsgi" in path else "gunicorn"
    assert (f"# as {path}'s {server} had it" in written) == (workers != 2)


def test_init_names_a_file_setting_the_settings_module_over_the_environment(tmp_path):
    project = django_project(tmp_path / "shop")
    forced = r"os.environ['DJANGO_SETTINGS_MODULE'] = '\1'"
    for name, module in (("manage.py", "mysite.settings"), ("mysite/wsgi.py", "mysite.dev")):
        file = project / name
        setdefault = r"os\.environ\.setdefault\('DJANGO_SETTINGS_MODULE', '([\w.]+)'\)"
        file.write_text(re.sub(setdefault, forced.replace(r"\1", module), file.read_text()))
    notes = [note for note in detect(project).notes if "whatever the environment" in note]
    assert notes == [
        "mysite/wsgi.py sets DJANGO_SETTINGS_MODULE to mysite.dev whatever the environment says, "
        "so the servers would run that rather than mysite.settings ([env] in shipstate.toml): "
        'write os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.dev") there instead'
    ], "manage.py's is the servers' module"


def test_init_reads_the_settings_as_django_heroku_leaves_them(tmp_path):
    """An app leaving Heroku: `django_heroku.settings(locals())` sets STATIC_ROOT and
    ALLOWED_HOSTS as the app runs, and requires psycopg2."""
    project = django_project(tmp_path / "shop")
    (project / "requirements.txt").write_text("Django==5.2.19\ndjango-heroku==0.3.1\n")
    settings = project / "mysite" / "settings.py"
    original = settings.read_text()
    settings.write_text(f"import django_heroku\n{original}django_heroku.settings(locals())\n")
    found = detect(project)
    assert (found.static_root, found.served_at.names) == ("staticfiles", ())
    assert not [n for n in found.notes if "STATIC_ROOT" in n or "ALLOWED_HOSTS" in n]
    assert config_written_for(found).packages[:2] == ("libpq-dev", "python3-dev")
    settings.write_text(f"{original}django_heroku.settings(locals(), staticfiles=False)\n")
    assert detect(project).static_root is None


def test_init_reads_what_the_settings_star_import_in_their_place_and_theirs(tmp_path):
    project = tmp_path / "shop"
    settings_package(
        project,
        "config.settings.local",
        common='STATIC_ROOT = BASE_DIR / "staticfiles"\nDEBUG = True\n',
        base='from .common import *  # noqa\nINSTALLED_APPS = ["django.contrib.admin"]\n',
        local='from .base import *\nSECRET_KEY = "dev"\n',
        production='DEBUG = True\nfrom .base import *\nDEBUG = False\nSECRET_KEY = env("KEY")\n'
        'ALLOWED_HOSTS = ["shop.example.com"]\n',
    )
    found = detect(project)
    assert (found.settings, found.static_root) == ("config.settings.production", "staticfiles")
    assert not [note for note in found.notes if "DEBUG" in note], "production's, set last"


@pytest.mark.parametrize(
    ("read", "required"),
    [
        ('SECRET_KEY = os.environ["SECRET_KEY"]', ("SECRET_KEY",)),
        ('SECRET_KEY = os.environ.get("SECRET_KEY", "x")', ()),
        ('os.environ["SECRET_KEY"] = "set here, not read"', ()),
        ('DEBUG = os.environ["DEBUG"] == "1"', ("DEBUG",)),
        ('SECRET_KEY = env("SECRET_KEY")\nHOSTS = env.list("HOSTS")', ("SECRET_KEY", "HOSTS")),
        ('DEBUG = env.bool("DEBUG", False)\nKEY = env("KEY", default="x")', ()),
        (
            'DEBUG = config("DEBUG", cast=bool)\nKEY = config("KEY", default="", cast=str)',
            ("DEBUG",),
        ),
        ("SECRET_KEY = values.SecretValue()", ("DJANGO_SECRET_KEY",)),
        ('if "DSN" in os.environ:\n    init(dsn=os.environ["DSN"])', ()),
        ('SECRET_KEY = os.environ.get("KEY")\nDSN = os.getenv("DSN")', ("KEY",)),
        ('SECRET_KEY = os.getenv("KEY", "")\nSECRET_KEY = os.getenv("KEY") or "x"', ()),
        ('DATABASES = {"default": dj_database_url.config(conn_max_age=600)}', ("DATABASE_URL",)),
        ('DATABASES = {"default": dj_database_url.config(env="PG_URL")}', ("PG_URL",)),
        ('DATABASES = {"default": dj_database_url.config(default="sqlite:///x")}', ()),
        (  # Heroku's Django template: the SQLite database unless DATABASE_URL is set
            "db_from_env = dj_database_url.config(conn_max_age=500)\n"
            "DATABASES['default'].update(db_from_env)",
            (),
        ),
        ('DATABASES["default"].update(dj_database_url.config(env="PG"))', ()),
        (
            'DATABASES = {"default": env.db()}\nCACHES = {"default": env.cache()}',
            ("DATABASE_URL", "CACHE_URL"),
        ),
        ('DATABASES = {"default": env.db("DB", default="sqlite:///x")}', ()),
        (  # django-environ's scheme: DEBUG's default is given there, KEY's type only
            'env = environ.Env(DEBUG=(bool, False), KEY=(str))\nDEBUG = env("DEBUG")\n'
            'SECRET_KEY = env("KEY")',
            ("KEY",),
        ),
        (
            'env = environ.Env(\n    DEBUG=(bool, False),\n    HOSTS=(list, ["a.example"]),\n)\n'
            'DEBUG = env("DEBUG")\nALLOWED_HOSTS = env("HOSTS")',
            (),
        ),
    ],
)
def test_init_names_the_variables_the_settings_cannot_start_without(read, required):

    assert environment_required(read) == required


def test_init_gives_the_app_a_secrets_file_per_inventory_when_its_settings_need_one(tmp_path):
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    original = settings.read_text()
    settings.write_text(original + 'DEBUG = os.environ.get("DEBUG") == "1"\n')
    commit_all(project, "a variable with a default")
    assert config_written_for(detect(project)).secrets is None, "written commented out"
    settings.write_text(original + 'SECRET_KEY = os.environ["SECRET_KEY"]\n')
    (project / ".env.example").write_text("SECRET_KEY=\n")
    commit(project, "one without")
    said = ok("init", cwd=project)
    written = (project / "shipstate.toml").read_text()
    assert "[secrets]\nfile = " in written
    assert parse_config(tomllib.loads(written), "t").secrets.file == "secrets/{inventory}.env"
    assert (
        "note: .env.example lists the environment the app expects: copy it to secrets/"
        in (said.stderr)
        and "uncomment [secrets]" not in said.stderr
    )
    assert (
        "add your hosts to inventories/production.py, write secrets/production.env (SECRET_KEY="
        "...: the app needs it), commit, then" in said.stdout
    )
    assert (
        "README: The sandbox), with secrets/sandbox.env (SECRET_KEY=...: the app needs it):"
        in said.stdout
    )
    (project / ".env").write_text("DEBUG=1\n")
    assert "`cp .env" not in ok("init", "--force", cwd=project).stdout, "it lacks SECRET_KEY"
    (project / ".env").write_text("export SECRET_KEY=this machine's\n")
    assert (
        "(SECRET_KEY=...: the app needs it; your .env has it: `cp .env secrets/sandbox.env`):"
        in ok("init", "--force", cwd=project).stdout
    )
    from shipstate.source import read_secrets

    config = parse_config(tomllib.loads(written), "t")
    with pytest.raises(ShipstateError, match=r"secrets file .*secrets/sandbox\.env") as missing:
        read_secrets(project, config.secrets, "sandbox")
    assert missing.value.hint.startswith("create it")
    assert "made secrets/ (for the secrets files, readable by you alone)" in said.stdout
    assert stat.S_IMODE((project / "secrets").stat().st_mode) == 0o700
    subprocess.run(["cp", ".env", "secrets/sandbox.env"], cwd=project, check=True)
    assert "secrets/" not in git(project, "status", "--porcelain", "--untracked-files=all")


DEBUG_ON = "DEBUG is on unless the environment's {} turns it off"
DEBUG_STRING = (
    "DEBUG is the string the environment's {} gives, and any but an empty one, "
    '"False" too, turns it on'
)
HOSTS_STRING = (
    "ALLOWED_HOSTS is the string the environment's {} gives, which Django reads as a list of "
    "its characters"
)
KEY_IN_GIT = (
    "SECRET_KEY falls back to a key written in the settings, so in git, when the environment "
    "has no {}"
)


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("DEBUG", 'env.bool("DJANGO_DEBUG", True)', DEBUG_ON.format("DJANGO_DEBUG")),
        ("DEBUG", 'config("DEBUG", default=True, cast=bool)', DEBUG_ON.format("DEBUG")),
        ("DEBUG", 'os.environ.get("DEBUG", "True") == "True"', DEBUG_ON.format("DEBUG")),
        ("DEBUG", 'os.getenv("DEBUG", "1") == "1"', DEBUG_ON.format("DEBUG")),
        ("DEBUG", 'env.bool("DJANGO_DEBUG", False)', None),
        ("DEBUG", 'os.environ.get("DEBUG", "False") == "True"', None),
        ("DEBUG", 'os.environ.get("DEBUG") == "1"', None),
        ("DEBUG", "os.environ.get('DJANGO_DEBUG', '') != 'False'", DEBUG_ON.format("DJANGO_DEBUG")),
        ("DEBUG", 'os.getenv("DEBUG") != "0"', DEBUG_ON.format("DEBUG")),
        ("DEBUG", 'os.environ.get("DEBUG", "False") != "False"', None),
        ("DEBUG", 'os.environ.get("DEBUG", "False")', DEBUG_STRING.format("DEBUG")),
        (
            "DEBUG",
            'os.getenv("DJANGO_DEBUG", "True")  # on here',
            DEBUG_STRING.format("DJANGO_DEBUG"),
        ),
        ("DEBUG", 'os.getenv("DEBUG")', DEBUG_STRING.format("DEBUG")),
        (
            "SECRET_KEY",
            'os.environ.get("SECRET_KEY", "insecure-dev-key")',
            KEY_IN_GIT.format("SECRET_KEY"),
        ),
        (
            "SECRET_KEY",
            'env("DJANGO_SECRET_KEY", default="x")',
            KEY_IN_GIT.format("DJANGO_SECRET_KEY"),
        ),
        (
            "SECRET_KEY",
            'os.environ.get("DJANGO_KEY") or "insecure"  # for development',
            KEY_IN_GIT.format("DJANGO_KEY"),
        ),
        ("SECRET_KEY", 'os.environ.get("SECRET_KEY", "")', None),
        ("SECRET_KEY", 'os.environ.get("SECRET_KEY")', None),
        ("SECRET_KEY", 'os.environ["SECRET_KEY"]', None),
        ("ALLOWED_HOSTS", 'os.environ["HOSTS"]', HOSTS_STRING.format("HOSTS")),
        ("ALLOWED_HOSTS", 'os.getenv("HOSTS", "a.example.com")', HOSTS_STRING.format("HOSTS")),
        ("ALLOWED_HOSTS", 'os.getenv("HOSTS", "a.example.com").split(",")', None),
    ],
)
def test_init_names_a_default_the_environment_must_override(tmp_path, setting, value, said):
    """DEBUG on, or a SECRET_KEY written in the settings, unless the environment says; a DEBUG
    that is the environment's string (on for "False")."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    text = re.sub(rf"(?m)^{setting} = .*$", f"{setting} = {value}", settings.read_text())
    settings.write_text(text)
    kinds = (DEBUG_ON, DEBUG_STRING, HOSTS_STRING, KEY_IN_GIT)
    kinds = tuple(kind.partition("{")[0] for kind in kinds)
    notes = [n.partition(":")[0] for n in detect(project).notes if n.startswith(kinds)]
    assert notes == ([said] if said else [])


@pytest.mark.parametrize(
    ("value", "needed", "said"),
    [
        (  # DigitalOcean's App Platform tutorial
            'os.getenv("DJANGO_SECRET_KEY", get_random_secret_key())',
            ("DJANGO_SECRET_KEY",),
            "SECRET_KEY falls back to a random key when the environment has no DJANGO_SECRET_KEY",
        ),
        (
            'env("SECRET_KEY", default=get_random_string(50))',
            ("SECRET_KEY",),
            "SECRET_KEY falls back to a random key when the environment has no SECRET_KEY",
        ),
        ("get_random_secret_key()", (), "SECRET_KEY is a random key"),
    ],
)
def test_a_random_secret_key_is_named_and_the_secrets_file_gives_one(tmp_path, value, needed, said):
    """A key each process makes: gunicorn's workers would each sign with their own."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        re.sub(r"(?m)^SECRET_KEY = .*$", f"SECRET_KEY = {value}", settings.read_text())
    )
    found = detect(project)
    notes = [n for n in found.notes if n.startswith("SECRET_KEY")]
    assert len(notes) == 1 and notes[0].startswith(
        f"{said}: each app server process (gunicorn's workers, every release's) would make its own"
    )
    assert found.environment_required == needed
    secrets = config_written_for(found).secrets
    assert (secrets and secrets.file) == ("secrets/{inventory}.env" if needed else None)


def test_init_runs_what_render_or_fly_ran_on_each_deploy(tmp_path):
    from shipstate.former_tool import deploy_commands

    project = django_project(tmp_path / "shop")
    (project / "render.yaml").write_text(
        "services:\n  - type: web\n    name: shop\n    buildCommand: './build.sh'\n"
        '    preDeployCommand: "python manage.py clearsessions"\n'
        "    startCommand: gunicorn mysite.wsgi --workers 3\n"
    )
    (project / "build.sh").write_text(
        "#!/usr/bin/env bash\nset -o errexit\npip install -r requirements.txt\n"
        "python manage.py collectstatic --no-input\npython manage.py update_index\n"
    )
    assert deploy_commands(project) == (
        ("collectstatic --no-input", "update_index", "clearsessions"),
        "render.yaml",
    )
    commit_all(project, "deployed on Render")
    found = detect(project)
    assert (found.former_before_static, found.former_after_static) == (
        (),
        ("update_index", "clearsessions"),
    )
    assert found.app_server.workers == 3 and found.app_server.found_in == "render.yaml"
    (project / "render.yaml").unlink()
    (project / "fly.toml").write_text(
        'app = "shop"\n\n[deploy]\n  release_command = "python manage.py migrate --noinput"\n'
    )
    assert deploy_commands(project) == (("migrate --noinput",), "fly.toml")


def test_init_runs_what_the_dockerfile_ran_building_and_starting_the_image(tmp_path):
    """As cookiecutter-django's image (Kamal's, or any): the scripts it copies in and starts
    the container with, and what it runs as it builds."""
    from shipstate.former_tool import deploy_commands

    project = django_project(tmp_path / "shop")
    scripts = project / "compose" / "production" / "django"
    scripts.mkdir(parents=True)
    (scripts / "entrypoint").write_text(
        '#!/bin/bash\nset -o errexit\npython manage.py createcachetable\nexec "$@"\n'
    )
    (scripts / "start").write_text(
        "#!/bin/bash\npython /app/manage.py collectstatic --noinput\n"
        "python /app/manage.py update_index\nexec gunicorn mysite.wsgi --bind 0.0.0.0:5000\n"
    )
    (project / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN pip install -r requirements.txt\n"
        "COPY ./compose/production/django/entrypoint /entrypoint\n"
        "RUN sed -i 's/\\r$//g' /entrypoint && chmod +x /entrypoint\n"
        "COPY ./compose/production/django/start /start\nCOPY . /app\n"
        'RUN python manage.py compilemessages\nENTRYPOINT ["/entrypoint"]\nCMD ["/start"]\n'
    )
    assert deploy_commands(project) == (
        ("compilemessages", "createcachetable", "collectstatic --noinput", "update_index"),
        "Dockerfile",
    )
    commit_all(project, "deployed as an image")
    found = detect(project)
    assert (found.former_before_static, found.former_after_static) == (
        ("createcachetable",),
        ("update_index",),
    )
    assert found.former_commands_in == "Dockerfile"


@pytest.mark.parametrize(
    ("roots", "static_root"),
    [
        (  # Heroku's former Django template
            "PROJECT_ROOT = os.path.dirname(os.path.abspath(__file__))\n"
            "STATIC_ROOT = os.path.join(PROJECT_ROOT, 'staticfiles')\n",
            "mysite/staticfiles",
        ),
        (
            "SITE_ROOT = Path(__file__).resolve().parent.parent\n"
            "STATIC_ROOT = SITE_ROOT / 'public' / 'static'\n",
            "public/static",
        ),
        (
            "PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))\n"
            "STATIC_ROOT = os.path.join(PROJECT_DIR, 'static')\n",
            None,  # above BASE_DIR: outside the app
        ),
        (  # django-environ's, as older cookiecutter-django's (mysite/settings.py - 2: the root)
            "ROOT_DIR = environ.Path(__file__) - 2  # (x - 2 = root)\n"
            "APPS_DIR = ROOT_DIR.path('mysite')\n"
            "STATIC_ROOT = str(APPS_DIR('staticfiles'))\n",
            "mysite/staticfiles",
        ),
    ],
)
def test_init_finds_paths_below_another_root_the_settings_make_of_their_file(
    tmp_path, roots, static_root
):
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    settings.write_text("import os\n" + settings.read_text() + roots)
    assert detect(project).static_root == static_root


@pytest.mark.parametrize(
    ("name", "shared"),
    [
        ("os.path.join(PROJECT_ROOT, 'dev.db')", "dev.db"),
        ("os.path.join(PROJECT_ROOT, 'data', 'dev.db')", "data/dev.db"),
        ("os.path.join(PROJECT_ROOT, '..', 'dev.db')", None),  # outside the app
        ("os.path.join(os.path.dirname(PROJECT_ROOT), 'dev.db')", None),
    ],
)
def test_init_shares_the_sqlite_file_named_below_another_root(tmp_path, name, shared):
    """As old projects name their root (and `NAME` keys outside DATABASES are not it)."""
    project = django_project(tmp_path / "shop")
    settings = project / "mysite" / "settings.py"
    text = settings.read_text().replace(
        "BASE_DIR = Path(__file__).resolve().parent.parent",
        "PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))",
    )
    settings.write_text("import os\n" + text.replace("BASE_DIR / 'db.sqlite3'", name))
    found = detect(project)
    assert found.sqlite_file == shared
    outside = [n for n in found.notes if n.startswith(f"the SQLite database is {name}, outside")]
    assert len(outside) == (shared is None)
