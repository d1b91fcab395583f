"""Poetry's, Pipenv's and PDM's lock files as the requirements file shipstate installs (pure)."""

import json
from pathlib import Path

import pytest

from shipstate.errors import ShipstateError
from shipstate.locks import from_pdm_lock, from_pipfile_lock, from_poetry_lock, poetry_credentials
from shipstate.source import LocalSecrets

FIXTURES = Path(__file__).parent / "fixtures"


def requirements(made: bytes) -> list[str]:
    """Each requirement of a requirements file, without its hashes."""
    lines = made.decode().replace(" \\\n", " ").splitlines()
    return [line.split(" --hash")[0].strip() for line in lines if not line.startswith("#")]


def test_a_poetry_lock_gives_its_main_group_pinned_with_hashes():
    lock = (FIXTURES / "poetry" / "poetry.lock").read_bytes()
    made = from_poetry_lock(lock, "poetry.lock")
    assert requirements(made) == [
        "asgiref==3.13.0",
        "django==5.2.19",
        "gunicorn==23.0.0",
        "packaging==26.4",  # main and dev
        "sqlparse==0.6.1",
        'tzdata==2026.6 ; sys_platform == "win32"',
    ]
    assert made.count(b"--hash=sha256:") == 12
    assert "django==5.2.19 \\\n    --hash=sha256:5965d974a5218a2b" in made.decode()


def test_a_poetry_lock_changed_for_development_only_makes_the_same_requirements():
    first, bumped = (
        (FIXTURES / "poetry" / name).read_bytes()
        for name in ("poetry.lock", "poetry-dev-bumped.lock")
    )
    assert first != bumped
    assert from_poetry_lock(first, "poetry.lock") == from_poetry_lock(bumped, "poetry.lock")


POETRY_SOURCES = b"""
[[package]]
name = "private"
version = "1.2"
groups = ["main"]
markers = {main = "python_version < \\"3.13\\"", dev = "sys_platform == \\"linux\\""}
files = [{file = "private-1.2-py3-none-any.whl", hash = "sha256:aa"}]

[package.source]
type = "legacy"
url = "https://pkgs.example.com/simple/"
reference = "company"

[[package]]
name = "forked"
version = "0.3"
groups = ["main"]
files = []

[package.source]
type = "git"
url = "https://github.com/example/forked.git"
reference = "main"
resolved_reference = "0123456789abcdef0123456789abcdef01234567"
subdirectory = "lib"

[[package]]
name = "tarball"
version = "1.0"
groups = ["main", "dev"]
markers = {dev = "python_version >= \\"3.12\\""}
files = [{file = "tarball-1.0.tar.gz", hash = "sha256:bb"}]

[package.source]
type = "url"
url = "https://example.com/tarball-1.0.tar.gz"

[[package]]
name = "an-extra"
version = "2"
optional = true
groups = ["main"]
files = []

[metadata]
lock-version = "2.1"
"""


def test_a_poetry_lock_s_other_sources_markers_by_group_and_extras():
    made = from_poetry_lock(POETRY_SOURCES, "poetry.lock").decode()
    assert requirements(made.encode()) == [
        "--extra-index-url https://pkgs.example.com/simple",
        'private==1.2 ; python_version < "3.13"',
        "forked @ git+https://github.com/example/forked.git"
        "@0123456789abcdef0123456789abcdef01234567#subdirectory=lib",
        "tarball @ https://example.com/tarball-1.0.tar.gz",
    ]
    assert "--hash=sha256:aa" in made and "--hash=sha256:bb" in made


@pytest.mark.parametrize(
    ("variables", "index"),
    [
        (
            {"POETRY_HTTP_BASIC_COMPANY_USERNAME", "POETRY_HTTP_BASIC_COMPANY_PASSWORD", "X"},
            "https://${POETRY_HTTP_BASIC_COMPANY_USERNAME}:${POETRY_HTTP_BASIC_COMPANY_PASSWORD}"
            "@pkgs.example.com/simple",
        ),
        ({"POETRY_HTTP_BASIC_COMPANY_USERNAME"}, "https://pkgs.example.com/simple"),
        (set(), "https://pkgs.example.com/simple"),
    ],
)
def test_a_poetry_source_gets_the_credentials_the_secrets_file_sets_as_poetry_names_them(
    variables, index
):
    made = from_poetry_lock(POETRY_SOURCES, "poetry.lock", frozenset(variables)).decode()
    assert requirements(made.encode())[0] == f"--extra-index-url {index}"
    assert poetry_credentials("my-repo.internal") == (
        "POETRY_HTTP_BASIC_MY_REPO_INTERNAL_USERNAME",
        "POETRY_HTTP_BASIC_MY_REPO_INTERNAL_PASSWORD",
    )


def test_the_variables_a_secrets_file_sets_are_read_as_the_servers_read_it():
    content = b"# A=1\nexport TOKEN='x=y'\n B = 2\nnot a line\n=3\nC=\n"
    assert LocalSecrets(content=content, digest="").names == {"TOKEN", "B", "C"}


@pytest.mark.parametrize(
    ("lock", "error", "hint"),
    [
        (
            b'[[package]]\nname = "x"\nversion = "1"\ncategory = "main"\n'
            b'[metadata]\nlock-version = "2.0"\n',
            "poetry.lock is lock-version 2.0, which does not say which packages the app needs",
            "run `poetry lock` with Poetry 2",
        ),
        (b"[metadata\n", "poetry.lock: ", "run `poetry lock` and commit it"),
        (
            b'[[package]]\nname = "mine"\nversion = "1"\ngroups = ["main"]\n'
            b'[package.source]\ntype = "directory"\nurl = "libs/mine"\n'
            b'[metadata]\nlock-version = "2.1"\n',
            "poetry.lock: mine is installed from the directory libs/mine on disk",
            "require a local package by its name",
        ),
    ],
)
def test_a_poetry_lock_shipstate_cannot_install_is_refused_saying_why(lock, error, hint):
    with pytest.raises(ShipstateError) as refused:
        from_poetry_lock(lock, "poetry.lock")
    assert str(refused.value).startswith(error) and hint in refused.value.hint


def test_a_pipfile_lock_gives_its_packages_pinned_with_hashes():
    lock = (FIXTURES / "pipenv" / "Pipfile.lock").read_bytes()
    made = from_pipfile_lock(lock, "Pipfile.lock")
    assert requirements(made) == [
        "asgiref==3.13.0 ; python_version >= '3.11'",
        "django==5.2.19 ; python_version >= '3.10'",
        "gunicorn==23.0.0 ; python_version >= '3.7'",
        "packaging==26.4 ; python_version >= '3.10'",
        "six==1.17.0 ; python_version >= '2.7' and python_version != '3.0' and python_version "
        "!= '3.1' and python_version != '3.2'",
        "sqlparse==0.6.1 ; python_version >= '3.10'",
    ]
    assert b"--hash=sha256:" in made


def test_a_pipfile_lock_s_other_sources_and_kinds_of_package():
    lock = {
        "_meta": {
            "sources": [
                {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True},
                {"name": "company", "url": "https://pkgs.example.com/simple", "verify_ssl": True},
            ]
        },
        "default": {
            "requests": {"extras": ["socks"], "version": "==2.34.2", "index": "pypi"},
            "forked": {"git": "https://github.com/example/forked.git", "ref": "abc123"},
            "tarball": {"file": "https://example.com/tarball-1.0.tar.gz"},
        },
        "develop": {"pytest": {"version": "==8.4.2"}},
    }
    made = from_pipfile_lock(json.dumps(lock).encode(), "Pipfile.lock")
    assert requirements(made) == [
        "--extra-index-url https://pkgs.example.com/simple",
        "forked @ git+https://github.com/example/forked.git@abc123",
        "requests[socks]==2.34.2",
        "tarball @ https://example.com/tarball-1.0.tar.gz",
    ]
    lock["default"]["mine"] = {"editable": True, "path": "."}
    with pytest.raises(ShipstateError) as refused:
        from_pipfile_lock(json.dumps(lock).encode(), "Pipfile.lock")
    assert str(refused.value).startswith("Pipfile.lock: mine is installed from the path . on")
    for broken in (b"{", b"[]", b'{"develop": {}}'):
        with pytest.raises(ShipstateError) as refused:
            from_pipfile_lock(broken, "Pipfile.lock")
        assert str(refused.value).startswith("Pipfile.lock is not a Pipfile.lock (")
        assert refused.value.hint == "run `pipenv lock` and commit it"


def test_a_pdm_lock_gives_its_default_group_pinned_with_hashes():
    lock, bumped = (
        (FIXTURES / "pdm" / name).read_bytes() for name in ("pdm.lock", "pdm-dev-bumped.lock")
    )
    made = from_pdm_lock(lock, "pdm.lock")
    assert requirements(made) == [
        "asgiref==3.13.0",
        "django==5.2.19",
        "gunicorn==23.0.0",  # and, without a line of its own, gunicorn[setproctitle]'s entry
        "packaging==26.4",  # default and dev
        "setproctitle==1.3.8",
        "sqlparse==0.6.1",
        'tzdata==2026.6 ; sys_platform == "win32"',
    ]
    assert "django==5.2.19 \\\n    --hash=sha256:5965d974a5218a2b" in made.decode()
    assert lock != bumped and from_pdm_lock(bumped, "pdm.lock") == made, "pytest is dev's"


PDM_KINDS = b"""
[metadata]
groups = ["default"]
strategy = ["inherit_metadata"]
lock_version = "4.5.1"

[[package]]
name = "forked"
version = "0.3"
git = "https://github.com/example/forked.git"
ref = "main"
revision = "0123abcd"
subdirectory = "python"
groups = ["default"]

[[package]]
name = "six"
version = "1.17.0"
url = "https://files.example.com/six-1.17.0-py2.py3-none-any.whl"
groups = ["default"]
files = [{file = "six-1.17.0-py2.py3-none-any.whl", hash = "sha256:47"}]
"""


def test_a_pdm_lock_s_other_kinds_of_package_and_what_is_refused():
    made = from_pdm_lock(PDM_KINDS, "pdm.lock").decode()
    assert requirements(made.encode()) == [
        "forked @ git+https://github.com/example/forked.git@0123abcd#subdirectory=python",
        "six @ https://files.example.com/six-1.17.0-py2.py3-none-any.whl",
    ]
    assert "--hash=sha256:47" in made
    local = PDM_KINDS + b'\n[[package]]\nname = "mylib"\nversion = "0.1"\npath = "./libs/mylib"\n'
    with pytest.raises(ShipstateError) as refused:
        from_pdm_lock(local + b'groups = ["default"]\n', "pdm.lock")
    assert str(refused.value).startswith("pdm.lock: mylib is installed from the path ./libs/mylib")
    by_uv = PDM_KINDS.replace(b'strategy = ["inherit_metadata"]', b"strategy = []")
    with pytest.raises(ShipstateError) as refused:
        from_pdm_lock(by_uv, "pdm.lock")
    assert "without PDM's inherit_metadata strategy" in str(refused.value)
    assert "pdm lock --strategy inherit_metadata" in refused.value.hint
    with pytest.raises(ShipstateError) as refused:
        from_pdm_lock(b"[metadata\n", "pdm.lock")
    assert refused.value.hint == "run `pdm lock` and commit it"
