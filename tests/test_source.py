"""The release's source read from git: the requirements and what they include."""

import hashlib
import io
import re
import shlex
import subprocess
import tarfile

import pytest

from conftest import commit, commit_all, git
from shipstate.config import Hook, Secrets, parse_config
from shipstate.errors import ShipstateError
from shipstate.source import (
    LocalSecrets,
    MigrationsUndone,
    archive,
    check_database_url,
    check_shared_files,
    hook_inputs,
    inputs_digest,
    migrations_undone,
    read_secrets,
    read_source,
)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("Django==5.2.19\n-c ../constraints.txt\n")
    (tmp_path / "constraints.txt").write_text("sqlparse<1\n")
    production = "-r base.txt\n--requirement=https://example.com/r.txt\ngunicorn==23.0.0\n"
    (tmp_path / "requirements" / "production.txt").write_text(production)
    (tmp_path / "requirements.txt").write_text("Django==5.2.19\n")
    return commit_all(tmp_path, "layered requirements")


def sha(repo, requirements="requirements/production.txt") -> str:
    kind = "requirements"
    return read_source(repo, "HEAD", requirements, kind, allow_dirty=False).requirements_sha


def test_a_plain_requirements_file_is_the_key_by_itself(repo):
    assert sha(repo, "requirements.txt") == hashlib.sha256(b"Django==5.2.19\n").hexdigest()


def test_an_included_file_changed_is_a_new_environment(repo):
    """cookiecutter-django's requirements/production.txt holds `-r base.txt`: a change in
    base.txt, or in a constraints file base.txt names, must not reuse the old environment."""
    before = sha(repo)
    (repo / "requirements" / "base.txt").write_text("Django==5.2.19\n-c ../constraints.txt\nsix\n")
    commit(repo, "six in base")
    after_base = sha(repo)
    (repo / "constraints.txt").write_text("sqlparse<0.6\n")
    commit(repo, "tighter constraint")
    assert len({before, after_base, sha(repo)}) == 3


def test_a_requirements_file_powershell_wrote_has_its_includes_followed(repo):
    """PowerShell's `>` writes UTF-16 with a byte order mark, which pip and uv read: the files
    such a requirements file includes are part of the key too."""
    production = repo / "requirements" / "production.txt"
    for encoding in ("utf-16", "utf-8-sig"):
        production.write_bytes("-r base.txt\r\ngunicorn==23.0.0\r\n".encode(encoding))
        commit(repo, encoding)
        before = sha(repo)
        base = repo / "requirements" / "base.txt"
        base.write_text(base.read_text() + f"# {encoding}\n")
        commit(repo, "base changed")
        assert sha(repo) != before, encoding


def test_a_shared_file_that_the_commit_has_as_a_directory_is_refused(tmp_path):
    app = tmp_path / "repo" / "app"  # the app in a subdirectory of its repository
    (app / "media" / "covers").mkdir(parents=True)
    (app / "media" / "covers" / "default.png").write_text("png\n")
    (app / "db.sqlite3").write_text("")
    (app / "requirements.txt").write_text("Django==5.2.19\n")
    commit_all(tmp_path / "repo", "app")
    source = read_source(app, "HEAD", "requirements.txt", "requirements", allow_dirty=False)
    check_shared_files(app, source, ("db.sqlite3", ".env", "var/app.db"))  # a file, or none
    with pytest.raises(ShipstateError) as error:
        check_shared_files(app, source, ("db.sqlite3", "media"))
    assert error.value.message.startswith("shared lists 'media' as a file, and it is a directory")
    assert error.value.hint == 'write "media/" in shared: directories end with /'


def test_an_app_without_a_commit_to_deploy_is_told_how_to_make_one(tmp_path):
    def refused(ref="HEAD") -> str:
        with pytest.raises(ShipstateError) as error:
            read_source(tmp_path, ref, "requirements.txt", "requirements", allow_dirty=False)
        return f"{error.value.message} / {error.value.hint}"

    (tmp_path / "requirements.txt").write_text("Django==5.2.19\n")
    assert refused().startswith(f"{tmp_path} is not in a git repository / shipstate deploys")
    git(tmp_path, "init", "-q")
    assert refused().startswith("the repository has no commit yet / shipstate deploys commits")
    commit_all(tmp_path, "first")
    assert refused("v9").startswith("--ref v9 names no commit of this repository / give a branch")


def test_an_include_missing_or_outside_the_app_is_refused(repo):
    (repo / "requirements" / "production.txt").write_text("-r missing.txt\n")
    commit(repo, "broken include")
    with pytest.raises(ShipstateError, match=r"requirements/missing.txt, which requirements/pr"):
        sha(repo)
    (repo / "requirements" / "production.txt").write_text("-r ../../elsewhere.txt\n")
    commit(repo, "include from outside")
    with pytest.raises(ShipstateError, match="includes ../../elsewhere.txt, outside the app"):
        sha(repo)


@pytest.mark.parametrize(
    "line, refused",
    [
        ("-e .", "installs a path on disk"),
        ("  --editable=./libs/shop  # ours", "installs a path on disk"),
        ("./wheels/shop-1.0-py3-none-any.whl", "installs a path on disk"),
        ("file:wheels/shop-1.0-py3-none-any.whl", "installs a path on disk"),
        ("-e git+https://example.com/shop.git#egg=shop", None),
        ("shop @ https://example.com/shop-1.0-py3-none-any.whl", None),
        ("# -e .", None),
    ],
)
def test_a_requirement_that_is_a_path_on_disk_is_refused(repo, line, refused):
    """An environment is shared by every release with the same requirements: it cannot hold
    the files of the release that built it (uv: "`/home/deploy` does not appear to be a Python
    project")."""
    (repo / "requirements" / "base.txt").write_text(f"Django==5.2.19\n{line}\n")
    commit(repo, "a line")
    if not refused:
        sha(repo)
        return
    with pytest.raises(ShipstateError) as error:
        sha(repo)
    assert error.value.message.startswith(
        f"requirements/base.txt line 2: `{line.split('#')[0].strip()}` {refused}"
    )
    assert "import the app from the release's directory" in error.value.hint


def test_a_freeze_of_a_conda_environment_is_told_to_list_versions(repo):
    """`pip freeze` in a conda environment lists its packages as files of that machine."""
    (repo / "requirements" / "base.txt").write_text(
        "Django==5.2.19\ncertifi @ file:///croot/certifi_1690232220950/work/certifi\n"
    )
    commit(repo, "conda freeze")
    with pytest.raises(ShipstateError) as error:
        sha(repo)
    assert error.value.message == (
        "requirements/base.txt line 2: `certifi @ file:///croot/certifi_1690232220950/work/"
        "certifi` installs a file of the machine that wrote it (as `pip freeze` lists what conda "
        "installed)"
    )
    assert error.value.hint == (
        "require certifi by its version instead: `pip list --format=freeze > "
        "requirements/base.txt` writes each so"
    )


def test_a_hooks_inputs_are_the_paths_its_patterns_match_in_the_commit(tmp_path):
    app = tmp_path / "repo" / "app"  # the app in a subdirectory of its repository
    (app / "pages" / "migrations").mkdir(parents=True)
    (app / "pages" / "migrations" / "0001_initial.py").write_text("# 1\n")
    (app / "pages" / "static").mkdir()
    (app / "pages" / "static" / "site.css").write_text("body {}\n")
    (app / "pages" / "views.py").write_text("# views\n")
    (app / "requirements.txt").write_text("Django\n")
    commit_all(tmp_path / "repo", "app")
    hooks = (
        Hook(command="migrate", inputs=("**/migrations/*.py",)),
        Hook(command="collectstatic", inputs=("**", "!**/*.py")),
        Hook(command="notify"),
    )

    def digests() -> tuple[str, ...]:
        source = read_source(app, "HEAD", "requirements.txt", "requirements", allow_dirty=False)
        return hook_inputs(app, source, hooks)

    first = digests()
    assert first[2] == "" and first[0] != first[1]
    assert first[0] == inputs_digest(
        {"pages/migrations/0001_initial.py": blob(app, "pages/migrations/0001_initial.py")},
        ("**/migrations/*.py",),
    )
    (app / "pages" / "views.py").write_text("# views changed\n")
    commit(tmp_path / "repo", "code only")
    assert digests() == first, "neither hook's inputs changed"
    (app / "pages" / "static" / "site.css").write_text("body { margin: 0 }\n")
    commit(tmp_path / "repo", "a static file")
    second = digests()
    assert second[0] == first[0] and second[1] != first[1]


def blob(app, path: str) -> str:
    return git(app, "rev-parse", f"HEAD:./{path}").strip()


@pytest.mark.parametrize(
    ("patterns", "matched"),
    [
        (("**/migrations/*.py",), ["a/migrations/0001.py"]),
        (("*.py",), ["manage.py"]),
        (("a",), ["a/migrations/0001.py", "a/static/x.css", "a/views.py"]),
        (("**", "!**/*.py"), ["a/static/x.css"]),
        (("**", "!**/*.py", "a/views.py"), ["a/static/x.css", "a/views.py"]),  # the last decides
        (("a/views.py", "!**/*.py"), []),
        (("a/static/",), ["a/static/x.css"]),
        (("a/v?ews.py",), ["a/views.py"]),
    ],
)
def test_input_patterns(patterns, matched):
    files = ["a/migrations/0001.py", "a/static/x.css", "a/views.py", "manage.py"]

    def digest(paths) -> str:
        return inputs_digest({p: "b" for p in paths}, ("**",))

    assert inputs_digest({p: "b" for p in files}, patterns) == digest(matched)


def test_the_archive_holds_submodules_at_the_commits_the_app_records(tmp_path):
    (tmp_path / "theme").mkdir()
    (tmp_path / "theme" / "style.css").write_text("v1\n")
    theme = commit_all(tmp_path / "theme", "theme v1")
    app = tmp_path / "repo" / "app"  # the app in a subdirectory of its repository
    app.mkdir(parents=True)
    (app / "manage.py").write_text("# manage\n")
    commit_all(tmp_path / "repo", "app")
    git(app, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(theme), "theme")
    commit(tmp_path / "repo", "theme as a submodule")
    (theme / "style.css").write_text("v2, not recorded by the app\n")
    commit(theme, "theme v2")

    def unpacked() -> dict[str, bytes]:
        with tarfile.open(fileobj=io.BytesIO(archive(app, "HEAD"))) as tar:
            return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}

    files = unpacked()
    assert files["manage.py"] == b"# manage\n" and files["theme/style.css"] == b"v1\n"
    assert ".gitmodules" not in files, "the app is below the repository's root"
    git(tmp_path / "repo", "submodule", "deinit", "-q", "--all")
    with pytest.raises(ShipstateError, match="submodule theme is not checked out") as caught:
        archive(app, "HEAD")
    assert caught.value.hint == "git submodule update --init --recursive"


def test_the_archive_holds_the_files_git_lfs_keeps_and_is_refused_with_their_pointers(
    tmp_path, monkeypatch
):
    app = tmp_path / "repo" / "app"  # the app in a subdirectory, .gitattributes at the root
    (app / "static").mkdir(parents=True)
    (app / "manage.py").write_text("# manage\n")
    repo = commit_all(tmp_path / "repo", "app")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")  # git-lfs only as this repository says
    git(repo, "lfs", "install", "--local")
    git(repo, "lfs", "track", "*.jpg")
    image = bytes(range(256)) * 8
    (app / "static" / "hero.jpg").write_bytes(image)
    commit(repo, "an image Git LFS keeps")
    assert git(repo, "cat-file", "-p", "HEAD:app/static/hero.jpg").startswith(
        "version https://git-lfs.github.com/spec/v1\n"
    ), "git holds a pointer"
    with tarfile.open(fileobj=io.BytesIO(archive(app, "HEAD"))) as tar:
        assert tar.extractfile("static/hero.jpg").read() == image
    git(repo, "lfs", "uninstall", "--local")  # as a machine without git-lfs
    with pytest.raises(ShipstateError) as refused:
        archive(app, "HEAD")
    assert refused.value.message == (
        "the archive holds Git LFS pointers in place of static/hero.jpg (git-lfs is not "
        "installed here, or has not fetched them)"
    )
    assert refused.value.hint.startswith("install git-lfs (Debian: apt install git-lfs)")


def test_a_secrets_file_is_read_without_a_byte_order_mark_and_refused_when_git_tracks_it(
    tmp_path, monkeypatch
):
    app = commit_all(tmp_path, "empty")
    (app / "secrets").mkdir()
    (app / "secrets/production.env").write_bytes(b"\xef\xbb\xbfSECRET_KEY=x\r\nDEBUG=0\r\n")
    given = Secrets(file="secrets/{inventory}.env")
    secrets = read_secrets(app, given, "production")
    assert secrets.names == {"SECRET_KEY", "DEBUG"}
    assert secrets.content.startswith(b"SECRET_KEY=x")
    commit(app, "the secrets, by mistake")
    monkeypatch.chdir(app)
    with pytest.raises(ShipstateError, match="is tracked by git") as caught:
        read_secrets(app, given, "production")
    untrack = caught.value.hint.partition(",")[0]
    assert untrack == "git rm --cached secrets/production.env", "the path from where you are"
    subprocess.run(shlex.split(untrack), check=True, capture_output=True)
    assert read_secrets(app, given, "production").names == {"SECRET_KEY", "DEBUG"}


def test_the_migrations_a_change_leaves_the_database_with_are_named_per_app(tmp_path):
    """In an app below the repository's root: the live commit's migrations that the target
    lacks, per app, and the target's last migration of that app (zero: it has none)."""
    app = tmp_path / "backend"
    for path in ("blog/migrations/__init__.py", "blog/migrations/0001_initial.py", "manage.py"):
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        (app / path).write_text("")
    (tmp_path / "elsewhere" / "migrations").mkdir(parents=True)
    commit_all(tmp_path, "blog")
    target = git(tmp_path, "rev-parse", "HEAD").strip()
    for path in (
        "blog/migrations/0002_tags.py",
        "blog/migrations/0003_slugs.py",
        "apps/shop/migrations/__init__.py",
        "apps/shop/migrations/0001_initial.py",
        "blog/templates/migrations/page.html",
    ):
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        (app / path).write_text("")
    (app / "apps" / "shop" / "apps.py").write_text(
        'class ShopConfig(AppConfig):\n    name = "apps.shop"\n    label = "store"\n'
    )
    (tmp_path / "elsewhere" / "migrations" / "0001_other.py").write_text("")  # not the app's
    commit(tmp_path, "tags, slugs and a shop")
    live = git(tmp_path, "rev-parse", "HEAD").strip()
    assert migrations_undone(app, live, target) == (
        MigrationsUndone(app="store", count=1, back_to="zero"),  # its label
        MigrationsUndone(app="blog", count=2, back_to="0001_initial"),
    )
    assert migrations_undone(app, target, live) == (), "a change adding migrations undoes none"
    assert migrations_undone(app, live, "0" * 40) == (), "a commit the repository lacks"


SQUASHED = """\
class Migration(migrations.Migration):
    replaces = [
        ("blog", "0001_initial"),
        ('blog', '0002_tags'),
    ]
"""


def test_a_squash_of_migrations_is_not_taken_for_undoing_them(tmp_path):
    """squashmigrations' file stands for those it replaces: deploying the squash, which
    deletes them, or going back from it to them, undoes none."""
    migrations = tmp_path / "blog" / "migrations"
    migrations.mkdir(parents=True)
    for name in ("__init__", "0001_initial", "0002_tags"):
        (migrations / f"{name}.py").write_text("")
    commit_all(tmp_path, "blog")
    before = git(tmp_path, "rev-parse", "HEAD").strip()
    (migrations / "0001_initial.py").unlink()
    (migrations / "0002_tags.py").unlink()
    (migrations / "0001_squashed_0002_tags.py").write_text(SQUASHED)
    commit(tmp_path, "squashed")
    squashed = git(tmp_path, "rev-parse", "HEAD").strip()
    assert migrations_undone(tmp_path, before, squashed) == (), "forward, to the squash"
    assert migrations_undone(tmp_path, squashed, before) == (), "back, from the squash"
    (migrations / "0002_slugs.py").write_text("")
    commit(tmp_path, "after the squash")
    assert migrations_undone(tmp_path, "HEAD", squashed) == (
        MigrationsUndone(app="blog", count=1, back_to="0001_squashed_0002_tags"),
    )
    assert migrations_undone(tmp_path, "HEAD", before) == (
        MigrationsUndone(app="blog", count=1, back_to="0002_tags"),
    ), "the squash stands for what the target has; what came after it does not"


@pytest.mark.parametrize(
    ("config", "url", "refused"),
    [
        ({}, "sqlite:///db.sqlite3", "(secrets/staging.env) names a SQLite file in the release"),
        ({"shared": ["db.sqlite3"]}, "sqlite:///db.sqlite3", None),
        ({"shared": ["./db.sqlite3"]}, "sqlite:///./db.sqlite3", None),
        ({"shared": ["./data/"]}, "sqlite:///data/db.sqlite3", None),
        ({}, "sqlite:///./db.sqlite3", "in the release (db.sqlite3)"),
        ({"shared": ["data/"]}, "sqlite:///data/app.db?timeout=5", None),
        ({"shared": ["data/"]}, "sqlite:///database/app.db", "in the release (database/app.db)"),
        ({"workdir": "src", "shared": ["db.sqlite3"]}, "sqlite:///db.sqlite3", "(src/db.sqlite3)"),
        ({"workdir": "src", "shared": ["src/db.sqlite3"]}, "sqlite:///db.sqlite3", None),
        ({"workdir": "src"}, "sqlite:///../db.sqlite3", "in the release (db.sqlite3)"),
        ({}, "sqlite:///../db.sqlite3", None),
        ({}, "sqlite:////srv/hello/shared/db.sqlite3", None),
        ({}, "sqlite:///:memory:", None),
        ({"shared": ["instance/"]}, "sqlite:///app.db", None),  # Flask-SQLAlchemy's
        ({}, "postgres://hello@localhost/hello", None),
        ({"env": {"DATABASE_URL": "sqlite:///app.db"}}, "", "DATABASE_URL ([env]) names"),
        ({"env": {"DATABASE_URL": "postgres://db/hello"}}, "sqlite:///db.sqlite3", None),
        ({"secrets": {"file": "s.py", "path": "s.py", "environment": False}}, "sqlite:///x", None),
    ],
)
def test_a_sqlite_database_url_naming_a_file_in_each_release_is_refused(config, url, refused):
    """Each release would start with an empty database: the last one's data left behind."""
    config = parse_config(
        {
            "name": "hello",
            "wsgi": "mysite.wsgi:application",
            "secrets": {"file": "secrets/{inventory}.env"},
            **config,
        },
        "shipstate.toml",
    )
    secrets = LocalSecrets(content=f"export DATABASE_URL='{url}'\n".encode(), digest="")
    if refused is None:
        check_database_url(config, secrets, "staging")
        return
    with pytest.raises(ShipstateError, match=re.escape(refused)) as error:
        check_database_url(config, secrets, "staging")
    assert "would start with an empty database of its own" in str(error.value)
    assert error.value.hint.startswith('add "')
    assert error.value.hint.endswith("(sqlite:////srv/hello/shared/db.sqlite3)")
