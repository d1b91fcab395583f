"""`shipstate init` in a project without Django (Flask, FastAPI...): its application, static
files, health route, database migrations and Flask's instance folder, then deployed."""

import tomllib
from pathlib import Path

import pytest

from conftest import commit, commit_all, host_addresses, http_get, ok, reset_app_on_hosts, shipstate
from shipstate.config import parse_config
from shipstate.init import detect, render_config

FLASK_FACTORY = """\
import os

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Visit(db.Model):
    id = db.Column(db.Integer, primary_key=True)


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///hello.db")
    db.init_app(app)
    Migrate(app, db)

    @app.route("/")
    def index():
        db.session.add(Visit())
        db.session.commit()
        return f"visits: {db.session.query(Visit).count()}"

    @app.route("/healthz")
    def healthz():
        return "ok"

    return app
"""
# Flask-Migrate's migrations, as `flask db init` and `flask db migrate` would write them
MIGRATIONS = {
    "alembic.ini": "[alembic]\n",
    "env.py": """\
from alembic import context
from flask import current_app

db = current_app.extensions["migrate"].db
with db.engine.connect() as connection:
    context.configure(connection=connection, target_metadata=db.metadata)
    with context.begin_transaction():
        context.run_migrations()
""",
    "versions/0001_visits.py": """\
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("visit", sa.Column("id", sa.Integer, primary_key=True))
""",
}


# the Flask tutorial's blog (flaskr), its database made by `flask init-db`, which drops its
# tables first; its secret key read from the instance folder's config.py
FLASK_TUTORIAL = {
    "flaskr/__init__.py": """\
import os

from flask import Flask


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "flaskr.sqlite"),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    os.makedirs(app.instance_path, exist_ok=True)

    from . import db

    db.init_app(app)

    @app.route("/")
    def index():
        posts = db.get_db().execute("SELECT count(*) FROM post").fetchone()[0]
        return f"posts: {posts}, key: {app.config['SECRET_KEY']}"

    @app.route("/write")
    def write():
        db.get_db().execute("INSERT INTO post (body) VALUES ('hello')")
        db.get_db().commit()
        return "written"

    return app
""",
    "flaskr/db.py": """\
import sqlite3

import click
from flask import current_app, g


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
    return g.db


def close_db(e=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db():
    with current_app.open_resource("schema.sql") as f:
        get_db().executescript(f.read().decode("utf8"))


@click.command("init-db")
def init_db_command():
    \"\"\"Clear existing data and create new tables.\"\"\"
    init_db()
    click.echo("Initialized the database.")


def init_app(app):
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
""",
    "flaskr/schema.sql": "DROP TABLE IF EXISTS post;\n"
    "CREATE TABLE post (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);\n",
    ".gitignore": "instance/\n",
}


def project(path: Path, files: dict[str, str], requirements: str = "flask\n") -> Path:
    for name, text in {"requirements.txt": requirements, **files}.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return commit_all(path, "the app")


def written(path: Path) -> tuple[str, object]:
    """The shipstate.toml init writes, as text and as the config it is."""
    text = render_config(detect(path))
    return text, parse_config(tomllib.loads(text), "shipstate.toml")


def test_a_flask_module_is_served_with_its_static_files_and_health_route(tmp_path):
    app = project(
        tmp_path / "notes",
        {
            "notes.py": 'from flask import Flask\napp = Flask(__name__)\n@app.get("/ping")\n'
            'def ping():\n    return "ok"\n',
            "static/site.css": "body {}\n",
            "tests/test_app.py": "from flask import Flask\nother = Flask('x')\n",
        },
    )
    text, config = written(app)
    assert (config.wsgi, config.asgi, config.health_path) == ("notes:app", None, "/ping")
    assert (config.static_root, config.static_url) == ("static", "/static/")
    assert config.hooks == () and config.env == {} and config.shared == ()
    assert "DJANGO" not in text and "manage.py" not in text
    found = detect(app)
    assert found.notes[0].startswith(
        "no Django project here: shipstate.toml serves the Flask WSGI app notes.py makes "
        "(notes:app) with gunicorn; add hooks"
    )
    assert "nginx serves /static/ from static, as the app does" in found.notes
    module = (app / "notes.py").read_text()
    for made, static in [
        ('Flask(__name__, static_folder="assets", static_url_path="/a")', ("assets", "/a/")),
        ('Flask(__name__, static_folder="assets")', ("assets", "/assets/")),
        ("Flask(__name__, static_folder=None)", (None, "/static/")),
        ('Flask(__name__, static_url_path="")', (None, "/static/")),
    ]:
        (app / "assets").mkdir(exist_ok=True)
        (app / "notes.py").write_text(module.replace("Flask(__name__)", made))
        found = detect(app)
        assert (found.static_root, found.static_url) == static, made


def test_a_dotenv_git_tracks_that_the_app_loads_is_named(tmp_path):
    app = project(
        tmp_path / "notes",
        {
            "notes.py": "import os\nfrom dotenv import load_dotenv\nfrom flask import Flask\n"
            'load_dotenv()\napp = Flask(__name__)\napp.secret_key = os.environ.get("KEY", "dev")\n',
            ".env": "KEY=dev-key\nFLASK_DEBUG=1\n",
        },
        requirements="flask\npython-dotenv\n",
    )
    said = [note for note in detect(app).notes if note.startswith("git tracks")]
    assert said == [
        "git tracks .env, which the app loads (load_dotenv): each release holds it, so the servers "
        "get what it sets wherever their environment does not (FLASK_DEBUG, KEY): take it out of "
        "git (`git rm --cached .env`, and .env in .gitignore; it stays in git's history: change "
        "the secrets it held) and give the servers their values in the secrets file"
    ]


def test_a_fastapi_app_in_src_with_its_mounted_static_files(tmp_path):
    app = project(
        tmp_path / "api",
        {
            "src/service/__init__.py": "",
            "src/service/main.py": "from fastapi import FastAPI\n"
            "from fastapi.staticfiles import StaticFiles\napp: FastAPI = FastAPI()\n"
            'app.mount("/assets", StaticFiles(directory="public"), name="assets")\n'
            '@app.get("/")\ndef index():\n    return {}\n',
            "public/app.js": "",
        },
        "fastapi\n",
    )
    _, config = written(app)
    assert (config.asgi, config.wsgi, config.pythonpath) == ("service.main:app", None, ("src",))
    assert (config.static_root, config.static_url) == ("public", "/assets/")
    assert config.health_path == "/"
    notes = detect(app).notes
    assert any(n.startswith('no health route (healthz, health, ping) found: health_path = "/"')
               for n in notes)  # fmt: skip


SQLMODEL_TUTORIAL = """\
from fastapi import FastAPI
from sqlmodel import SQLModel, create_engine

sqlite_file_name = "database.db"
sqlite_url = f"sqlite:///{sqlite_file_name}"
engine = create_engine(sqlite_url, connect_args={"check_same_thread": False})
app = FastAPI()


@app.on_event("startup")
def on_startup():
    SQLModel.metadata.create_all(engine)


@app.get("/heroes/")
def read_heroes():
    return []
"""


def test_fastapis_sql_tutorial_keeps_its_database_and_is_asked_its_docs_page(tmp_path):
    """FastAPI's SQL tutorial names its SQLite file by a variable, and has neither / nor a
    health route: its docs page answers while it runs."""
    app = project(tmp_path / "heroes", {"main.py": SQLMODEL_TUTORIAL}, "fastapi\nsqlmodel\n")
    _, config = written(app)
    assert (config.asgi, config.shared, config.health_path) == (
        "main:app",
        ("database.db",),
        "/docs",
    )
    notes = detect(app).notes
    assert any(n.startswith('no health route (healthz, health, ping) nor / found: health_path = '
                            '"/docs", FastAPI\'s docs page') for n in notes)  # fmt: skip
    (app / "main.py").write_text(
        SQLMODEL_TUTORIAL.replace("FastAPI()", "FastAPI(docs_url=None)").replace(
            '"database.db"', '"./data/heroes.db"'
        )
    )
    commit(app, "no docs page; the database in data/")
    _, config = written(app)
    assert (config.shared, config.health_path) == (("data/heroes.db",), "/")


def test_a_health_route_is_asked_below_its_routers_prefixes(tmp_path):
    """FastAPI's bigger applications: routers with a prefix of their own, or one they are
    included with; Flask's blueprints with a url_prefix."""
    app = project(
        tmp_path / "api",
        {
            "app/main.py": "from fastapi import FastAPI\nfrom .routers import items, status\n"
            "app = FastAPI()\napp.include_router(status.router, prefix='/api')\n"
            "app.include_router(items.router)\n",
            "app/routers/items.py": "from fastapi import APIRouter\n"
            'router = APIRouter(prefix="/items")\n@router.get("/")\ndef items():\n    return []\n',
            "app/routers/status.py": "from fastapi import APIRouter\n"
            'router = APIRouter(prefix="/v1/")\n@router.get("/healthz")\n'
            "def ok():\n    return {}\n",
        },
        "fastapi\n",
    )
    assert written(app)[1].health_path == "/api/v1/healthz"
    (app / "app" / "routers" / "status.py").unlink()
    commit_all(app, "no health route; the items' index is not the site's")
    assert written(app)[1].health_path == "/docs"
    flask = project(
        tmp_path / "site",
        {
            "site/__init__.py": "from flask import Flask\napp = Flask(__name__)\n"
            "from . import ops\napp.register_blueprint(ops.bp)\n",
            "site/ops.py": "from flask import Blueprint\n"
            "bp = Blueprint('ops', __name__, url_prefix='/ops')\n@bp.route('/ping')\n"
            "def ping():\n    return 'pong'\n",
        },
    )
    assert written(flask)[1].health_path == "/ops/ping"
    (flask / "site" / "ops.py").write_text(
        "from flask import Blueprint\nbp = Blueprint('ops', __name__)\n"
        "@bp.route('/health-check/')\ndef check():\n    return 'ok'\n"
    )
    commit_all(flask, "FastAPI's template names it so")
    assert written(flask)[1].health_path == "/health-check/"


def test_a_starlette_app_with_its_routes_and_mounts_in_a_list(tmp_path):
    app = project(
        tmp_path / "feed",
        {
            "app.py": "from starlette.applications import Starlette\n"
            "from starlette.routing import Mount, Route\n"
            "from starlette.staticfiles import StaticFiles\n"
            'routes = [Route("/", home), Route("/ping", ping),\n'
            '          Mount("/files", app=StaticFiles(directory="files"), name="files")]\n'
            "app = Starlette(routes=routes)\n",
            "files/a.txt": "a",
        },
        "starlette\n",
    )
    _, config = written(app)
    assert (config.asgi, config.health_path) == ("app:app", "/ping")
    assert (config.static_root, config.static_url) == ("files", "/files/")


@pytest.mark.parametrize(
    ("web", "application", "asgi"),
    [
        ("gunicorn -w 3 --timeout 90 --bind 0.0.0.0:$PORT 'wsgi:app'", "wsgi:app", False),
        (
            'gunicorn "shop:create_app()" -k uvicorn.workers.UvicornWorker',
            "shop:create_app()",
            True,
        ),
        ("uvicorn --factory shop.api:build --host 0.0.0.0 --port $PORT", "shop.api:build()", True),
    ],
)
def test_the_procfile_names_the_application_and_the_app_servers_options(
    tmp_path, web, application, asgi
):
    app = project(
        tmp_path / "shop",
        {
            "Procfile": f"web: {web}\nworker: rq worker\n",
            "wsgi.py": "from shop import create_app\napp = create_app()\n",
            "shop/__init__.py": "",
        },
    )
    _, config = written(app)
    assert (config.asgi if asgi else config.wsgi) == application
    if web.startswith("gunicorn -w 3"):
        assert (config.workers, config.timeout) == (3, 90)
    assert detect(app).processes == (("worker", "rq worker"),)


def test_a_flask_factory_keeps_its_instance_folder_and_migrates_with_flask_migrate(tmp_path):
    app = project(
        tmp_path / "hello",
        {
            "hello/__init__.py": FLASK_FACTORY,
            "hello/static/site.css": "body {}\n",
            **{f"migrations/{name}": text for name, text in MIGRATIONS.items()},
        },
    )
    text, config = written(app)
    assert config.wsgi == "hello:create_app()"
    assert config.shared == ("instance/",) and config.static_root == "hello/static"
    assert [(h.command, h.run, h.inputs) for h in config.hooks] == [
        ("flask --app 'hello:create_app()' db upgrade", "every-host", ("migrations/**",))
    ]
    assert config.secrets.file == "secrets/{inventory}.env"
    assert "# The app's modules need SECRET_KEY (they fail without)" in text
    assert detect(app).environment_required == ("SECRET_KEY",)
    (app / "Procfile").write_text("release: flask db upgrade\nweb: gunicorn 'hello:create_app()'\n")
    commit(app, "a Procfile whose release command upgrades the database")
    assert [h.command for h in written(app)[1].hooks] == [config.hooks[0].command], "not twice"
    (app / "Procfile").write_text("release: python seed.py\nweb: gunicorn 'hello:create_app()'\n")
    commit(app, "one that seeds it")
    assert [h.command for h in written(app)[1].hooks][1:] == ["python seed.py"]


def test_the_flask_tutorials_database_is_made_once_and_its_instance_config_is_a_secret(tmp_path):
    app = project(tmp_path / "flaskr", FLASK_TUTORIAL)
    text, config = written(app)
    assert config.wsgi == "flaskr:create_app()"
    assert config.shared == ("instance/flaskr.sqlite",), "not the folder: config.py differs"
    assert (config.secrets.file, config.secrets.path, config.secrets.environment) == (
        "secrets/{inventory}_config.py",
        "instance/config.py",
        False,
    )
    made_once = "test -s instance/flaskr.sqlite || flask --app 'flaskr:create_app()' init-db"
    assert [(h.command, h.run, h.inputs) for h in config.hooks] == [
        (made_once, "every-host", ("flaskr/db.py", "flaskr/**/*.sql"))
    ]
    factory = app / "flaskr" / "__init__.py"
    factory.write_text(
        factory.read_text().replace(
            "    os.makedirs(",
            '    UPLOADS = Path(app.instance_path) / "uploads"\n    os.makedirs(',
        )
    )
    assert written(app)[1].shared == ("instance/flaskr.sqlite", "instance/uploads/")
    commit(app, "uploads kept in the instance folder")
    said = shipstate("init", cwd=app)
    assert "write secrets/production_config.py (SECRET_KEY = '...': the app needs it)" in (
        said.stdout
    )
    assert "so once (run again, the command would make it anew)" in said.stderr
    assert (app / "secrets").stat().st_mode & 0o777 == 0o700
    (app / "instance").mkdir(exist_ok=True)
    (app / "instance" / "config.py").write_text("SECRET_KEY = 'dev'\n")  # git has none
    assert (
        "(SECRET_KEY = '...': the app needs it; your instance/config.py: `cp instance/config.py "
        "secrets/sandbox_config.py`)"
    ) in shipstate("init", "--force", cwd=app).stdout
    (app / "instance" / "config.py").unlink()
    (app / "flaskr" / "__init__.py").write_text(
        FLASK_TUTORIAL["flaskr/__init__.py"].replace(
            'app.config.from_pyfile("config.py", silent=True)', "pass"
        )
    )
    (app / "flaskr" / "db.py").write_text(
        FLASK_TUTORIAL["flaskr/db.py"]
        .replace('@click.command("init-db")\ndef init_db_command', "def init_db_command")
        .replace("app.cli.add_command(init_db_command)", "app.cli.command()(init_db)")
        .replace("def init_db():", "@click.command()\n@click.option('-v')\ndef init_db(v):")
    )
    commit(app, "no instance config; the command named by its function")
    _, config = written(app)
    assert config.shared == ("instance/",) and config.secrets is None
    assert [h.command for h in config.hooks] == [made_once]
    (app / "flaskr" / "db.py").write_text(
        FLASK_TUTORIAL["flaskr/db.py"]
        .replace('@click.command("init-db")\ndef init_db_command', "def init_db_command")
        .replace(
            "    app.cli.add_command(init_db_command)",
            '    @app.cli.command("init-db")\n    def make():\n        init_db()',
        )
    )
    commit(app, "the command made in the factory")
    assert [h.command for h in written(app)[1].hooks] == [made_once]


def test_an_application_imported_from_its_package_and_its_sqlite_file(tmp_path):
    """As the Flask Mega-Tutorial's microblog.py: `from app import app, db`, the database
    `"sqlite:///" + os.path.join(basedir, "app.db")` beside config.py."""
    app = project(
        tmp_path / "microblog",
        {
            "microblog.py": "from app import app, db\n",
            "config.py": "import os\nbasedir = os.path.abspath(os.path.dirname(__file__))\n"
            "class Config:\n    SQLALCHEMY_DATABASE_URI = os.environ.get('DATABASE_URL') or \\\n"
            "        'sqlite:///' + os.path.join(basedir, 'app.db')\n",
            "app/__init__.py": "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n"
            "app = Flask(__name__)\ndb = SQLAlchemy(app)\nfrom app import routes\n",
            "app/routes.py": "from app import app\n@app.route('/')\ndef index():\n    return ''\n",
            "app/static/logo.svg": "<svg/>",
            "Procfile": "web: flask db upgrade; gunicorn microblog:app\n",
        },
    )
    _, config = written(app)
    assert config.wsgi == "microblog:app" and config.static_root == "app/static"
    assert config.shared == ("app.db",), "not Flask's instance folder: the URL is absolute"
    assert "the database is SQLite (app.db): in `shared`" in " ".join(detect(app).notes)
    (app / "config.py").write_text("DATABASE = 'sqlite:///./data/app.db'\n")
    (app / "microblog.py").write_text("from app import app as application, db\n")
    (app / "Procfile").write_text("web: gunicorn microblog:application\n")
    commit(app, "a relative URL, the application imported as another name")
    _, config = written(app)
    assert config.shared == ("instance/",), "Flask-SQLAlchemy: in the instance folder"
    (app / "app" / "__init__.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    commit(app, "plain SQLAlchemy")
    _, config = written(app)
    assert (config.static_root, config.shared) == ("app/static", ("data/app.db",))


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ('app.secret_key = "hard to guess"', "SECRET_KEY is written in the app, so in git"),
        ('app.config["SECRET_KEY"] = "x"', "SECRET_KEY is written in the app, so in git"),
        (
            'app.config["SECRET_KEY"] = os.environ.get("KEY") or "you-will-never-guess"',
            "SECRET_KEY falls back to a key written in the app, so in git, when the "
            "environment has no KEY",
        ),
        ('app.config.from_mapping(SECRET_KEY=os.getenv("KEY", "dev"))', "SECRET_KEY falls back"),
        ('app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]', None),
        ("app.secret_key = os.urandom(16)", "SECRET_KEY is a random key: each app server"),
        (  # FastAPI's full-stack template
            "class Settings(BaseSettings):\n    SECRET_KEY: str = secrets.token_urlsafe(32)\n",
            "SECRET_KEY falls back to a random key when the environment has no SECRET_KEY",
        ),
        (
            'app.config["SECRET_KEY"] = os.environ.get("KEY") or secrets.token_hex()',
            "SECRET_KEY falls back to a random key when the environment has no KEY",
        ),
        (
            "class Config:\n    SECRET_KEY = os.environ['SECRET_KEY']\n"
            "class TestingConfig(Config):\n    SECRET_KEY = 'test'",
            None,
        ),
    ],
)
def test_a_key_signing_the_apps_sessions_written_in_it_is_named(tmp_path, key, said):
    app = project(
        tmp_path / "site",
        {"app.py": f"import os\nfrom flask import Flask\napp = Flask(__name__)\n{key}\n"},
    )
    notes = [note for note in detect(app).notes if note.startswith("SECRET_KEY")]
    assert [note[: len(said)] for note in notes] == ([said] if said else [])


def test_a_celery_app_made_on_import_is_a_worker_to_run(tmp_path):
    """As Flask's Celery example: make_celery.py takes it from the app its factory makes."""
    factory = (
        "from celery import Celery\nfrom flask import Flask\n\ndef create_app():\n"
        "    app = Flask(__name__)\n    app.extensions['celery'] = Celery(app.name)\n"
        "    return app\n"
    )
    app = project(
        tmp_path / "tasks",
        {
            "src/task_app/__init__.py": factory,
            "make_celery.py": "from task_app import create_app\n\nflask_app = create_app()\n"
            'celery_app = flask_app.extensions["celery"]\n',
        },
    )
    found = detect(app)
    assert found.wsgi == "task_app:create_app()" and found.pythonpath == "src"
    assert found.processes == (("worker", "celery -A make_celery worker -l info"),)
    assert found.processes_found_in == "make_celery.py"
    assert '# command = "celery -A make_celery worker -l info"' in render_config(found)
    (app / "make_celery.py").unlink()
    (app / "worker.py").write_text("import celery\n\ncelery = celery.Celery('tasks')\n")
    commit_all(app, "a Celery app of its own")
    assert detect(app).processes == (("worker", "celery -A worker worker -l info"),)


def test_what_the_procfiles_web_command_runs_before_its_server_and_babels_translations(tmp_path):
    """As the Flask Mega-Tutorial's microblog: `flask db upgrade; flask translate compile;
    gunicorn microblog:app`, its translations kept uncompiled."""
    factory = FLASK_FACTORY.replace(
        "from flask_migrate", "from flask_babel import Babel\nfrom flask_migrate"
    )
    app = project(
        tmp_path / "microblog",
        {
            "app/__init__.py": factory,
            "microblog.py": "from app import create_app\n\napp = create_app()\n",
            "app/translations/es/LC_MESSAGES/messages.po": 'msgid ""\nmsgstr ""\n',
            **{f"migrations/{name}": text for name, text in MIGRATIONS.items()},
            "Procfile": "web: flask db upgrade; flask translate compile; gunicorn microblog:app\n",
        },
    )
    _, config = written(app)
    assert config.wsgi == "microblog:app"
    assert [(h.command, h.run, h.outputs) for h in config.hooks] == [
        ("flask --app microblog:app db upgrade", "every-host", ()),
        ("flask --app microblog:app translate compile", "every-host", ()),
    ], "the upgrade once, as the migrate hook; the step compiles the translations"
    assert "runs `flask --app microblog:app translate compile` before its server" in " ".join(
        detect(app).notes
    )
    (app / "Procfile").unlink()
    commit_all(app, "no Procfile")
    _, config = written(app)
    assert [(h.command, h.inputs, h.outputs) for h in config.hooks][1:] == [
        ("pybabel compile -d app/translations", ("**/*.po",), ("app/translations",))
    ]
    assert config.packages == (), "pybabel is Python's: no gettext"


def test_an_app_a_factory_taking_its_configs_name_makes(tmp_path):
    """As Flasky (Flask Web Development): flasky.py's `app = create_app(os.getenv(...) or
    'default')`, the factory in app/ needing that argument."""
    app = project(
        tmp_path / "flasky",
        {
            "flasky.py": "import os\nfrom app import create_app\n\n"
            "app = create_app(os.getenv('FLASK_CONFIG') or 'default')\n",
            "app/__init__.py": "from flask import Flask\n\n\ndef create_app(config_name):\n"
            "    app = Flask(__name__)\n    return app\n",
            "app/static/site.css": "",
        },
    )
    found = detect(app)
    assert (found.wsgi, found.web.framework, found.static_root) == (
        "flasky:app",
        "Flask",
        "app/static",
    )


FLASKY_CONFIG = """import os

basedir = os.path.abspath(os.path.dirname(__file__))


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")


class DevelopmentConfig(Config):
    NAME = "development"
    DATABASE = "sqlite:///" + os.path.join(basedir, "data-dev.sqlite")


class ProductionConfig(Config):
    NAME = "production"
    DATABASE = "sqlite:///" + os.path.join(basedir, "data.sqlite")


config = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "default": DevelopmentConfig,
}
"""
FLASKY_FACTORY = """from flask import Flask

from config import config


def create_app(config_name):
    app = Flask(__name__)
    app.config.from_object(config[config_name])

    @app.route("/")
    def home():
        return app.config["NAME"]

    return app
"""


def test_the_servers_get_the_production_config_a_variable_chooses(tmp_path, fleet):
    """Flasky's create_app(os.getenv("FLASK_CONFIG") or "default") with its dict of configs:
    [env] chooses the production one, whose SQLite file is kept."""
    reset_app_on_hosts()
    app = project(
        tmp_path / "hello",
        {
            "flasky.py": "import os\nfrom app import create_app\n\n"
            "app = create_app(os.getenv('FLASK_CONFIG') or 'default')\n",
            "config.py": FLASKY_CONFIG,
            "app/__init__.py": FLASKY_FACTORY,
        },
    )
    found = detect(app)
    assert found.settings_variable[:2] == ("FLASK_CONFIG", "production")
    assert (found.sqlite_file, found.environment) == ("data.sqlite", ("SECRET_KEY",))
    said = 'the app picks its config by FLASK_CONFIG: the servers get FLASK_CONFIG = "production"'
    assert any(note.startswith(said) for note in found.notes)
    applied_as_init_writes_it(app, fleet, "sandbox.env", "SECRET_KEY=sandbox\n")
    for address in host_addresses():
        assert http_get(f"http://{address}/")[:2] == (200, "production")


def test_the_production_config_class_from_object_loads_by_a_variable(tmp_path):
    """Real Python's Flask on Heroku: app.config.from_object(os.environ["APP_SETTINGS"])."""
    app = project(
        tmp_path / "site",
        {
            "app.py": "import os\nfrom flask import Flask\napp = Flask(__name__)\n"
            "app.config.from_object(os.environ['APP_SETTINGS'])\n",
            "config.py": FLASKY_CONFIG.rpartition("config = ")[0],
        },
    )
    text, config = written(app)
    assert config.env == {"APP_SETTINGS": "config.ProductionConfig"}
    assert "APP_SETTINGS" not in detect(app).environment_required, "[env] gives it"
    assert config.shared == ("data.sqlite",)


def test_the_variables_a_pydantic_settings_class_needs_are_the_secrets_files(tmp_path):
    """FastAPI's way: fields without a default must come from the environment."""
    app = project(
        tmp_path / "api",
        {
            "app/config.py": "from pydantic import Field\n"
            "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\n"
            "class Settings(BaseSettings):\n"
            '    model_config = SettingsConfigDict(env_file=".env", env_prefix="SHOP_")\n\n'
            "    database_url: str\n    secret_key: str = Field(...)\n    debug: bool = False\n"
            "\n    def dsn(self) -> str:\n        scheme: str = 'x'\n        return scheme\n\n\n"
            "settings = Settings()\n",
            "app/main.py": "from fastapi import FastAPI\n\nfrom app.config import settings\n\n"
            "app = FastAPI()\n",
        },
        "fastapi\npydantic-settings\n",
    )
    found = detect(app)
    assert found.environment == ("SHOP_DATABASE_URL", "SHOP_SECRET_KEY", "SHOP_DEBUG")
    assert found.environment_required == ("SHOP_DATABASE_URL", "SHOP_SECRET_KEY")
    _, config = written(app)
    assert config.secrets.file == "secrets/{inventory}.env"


def test_a_wsgi_module_calling_the_packages_factory(tmp_path):
    app = project(
        tmp_path / "blog",
        {
            "wsgi.py": "from blog import create_app\n\napp = create_app()\n",
            "blog/__init__.py": "import flask\n\ndef create_app():\n"
            "    app = flask.Flask(__name__, instance_relative_config=True)\n    return app\n",
            "blog/static/blog.css": "",
        },
    )
    found = detect(app)
    assert (found.wsgi, found.static_root, found.web.framework) == (
        "wsgi:app",
        "blog/static",
        "Flask",
    )
    assert written(app)[1].shared == ("instance/",)


def test_alembic_upgrades_a_database_the_hosts_share(tmp_path):
    app = project(
        tmp_path / "svc",
        {
            "app.py": "import os\nfrom bottle import Bottle\napp = Bottle()\n"
            'DB = os.environ["DATABASE_URL"]\n',
            "alembic.ini": "[alembic]\nscript_location = %(here)s/db/migrations\n",
            "db/migrations/env.py": "",
        },
    )
    _, config = written(app)
    assert config.wsgi == "app:app" and config.shared == ()
    assert [(h.command, h.run, h.inputs) for h in config.hooks] == [
        ("alembic upgrade head", "once", ("db/migrations/**", "alembic.ini"))
    ]


def test_a_project_without_django_or_a_web_app_is_told_what_init_looks_for(tmp_path):
    flask = "from flask import Flask\napp = Flask(__name__)\n"
    app = project(
        tmp_path / "tool",
        # modules that cannot be imported by a name: the root's __init__, one in my-app/
        {"tool.py": "print('hello')\n", "__init__.py": flask, "my-app/app.py": flask},
    )
    said = shipstate("init", cwd=app)
    assert said.code == 1 and "error: no manage.py in" in said.stderr
    assert "Flask, FastAPI" in said.stderr
    assert not (app / "shipstate.toml").exists()
    both = project(
        tmp_path / "both",
        {
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "a/manage.py": "",
            "b/manage.py": "",
        },
    )
    said = shipstate("init", cwd=both)
    assert said.code == 1 and "but one in each of a, b" in said.stderr, "Django's, not Flask's"


def test_init_then_deploy_a_flask_app(tmp_path, fleet):
    """A Flask factory with Flask-SQLAlchemy and Flask-Migrate: its SQLite database in the
    instance folder outlives releases, its migrations run as a hook, nginx serves its static
    files."""
    reset_app_on_hosts()
    app = project(
        tmp_path / "hello",
        {
            "hello/__init__.py": FLASK_FACTORY,
            "hello/static/site.css": "body { color: green }\n",
            **{f"migrations/{name}": text for name, text in MIGRATIONS.items()},
            ".gitignore": "instance/\n",
        },
        "flask\nflask-sqlalchemy\nflask-migrate\n",
    )
    applied_as_init_writes_it(app, fleet, "sandbox.env", "SECRET_KEY=sandbox\n")
    for address in host_addresses():
        assert http_get(f"http://{address}/")[:2] == (200, "visits: 1")
        status, css, headers = http_get(f"http://{address}/static/site.css")
        assert (status, css) == (200, "body { color: green }\n")
        assert "max-age=3600" in headers["Cache-Control"], "served by nginx, not by Flask"
    (app / "hello" / "__init__.py").write_text(FLASK_FACTORY.replace("visits:", "Visits:"))
    commit(app, "code only")
    again = ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=app).stdout
    assert "so skipped: `flask --app 'hello:create_app()' db upgrade`" in again
    for address in host_addresses():
        assert http_get(f"http://{address}/")[:2] == (200, "Visits: 2"), "the same database"


def test_deploy_the_flask_tutorials_blog_as_init_writes_it(tmp_path, fleet):
    """Its database made by its init-db command once on each host, kept when the command's
    module changes; its secret key from each release's instance config."""
    reset_app_on_hosts()
    app = project(tmp_path / "hello", FLASK_TUTORIAL)
    applied_as_init_writes_it(app, fleet, "sandbox_config.py", "SECRET_KEY = 'first'\n")
    for address in host_addresses():
        assert http_get(f"http://{address}/")[:2] == (200, "posts: 0, key: first")
        assert http_get(f"http://{address}/write")[:2] == (200, "written")
    db = app / "flaskr" / "db.py"
    db.write_text(db.read_text() + "# a change to the hook's inputs\n")
    commit(app, "the command's module changes")
    (app / "secrets" / "sandbox_config.py").write_text("SECRET_KEY = 'second'\n")
    again = ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=app).stdout
    assert "so skipped" not in again, "its inputs changed: it runs, and keeps the database"
    for address in host_addresses():
        assert http_get(f"http://{address}/")[:2] == (200, "posts: 1, key: second")
    ok("rollback", "-i", "inventories/sandbox.py", "--yes", cwd=app)
    for address in host_addresses():
        assert http_get(f"http://{address}/")[:2] == (200, "posts: 1, key: first")


def applied_as_init_writes_it(app: Path, fleet: Path, secrets: str, secret: str) -> None:
    """`shipstate init`, then its secrets file for the sandbox, then apply to it."""
    ok("init", cwd=app)
    (app / "secrets" / secrets).write_text(secret)
    (app / "inventories" / "sandbox.py").write_text(fleet.read_text())
    commit(app, "shipstate init")
    ok("apply", "-i", "inventories/sandbox.py", "--yes", cwd=app)
