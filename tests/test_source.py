"""The release's source read from git: the requirements and what they include."""

import hashlib

import pytest

from conftest import commit, commit_all
from shipstate.errors import ShipstateError
from shipstate.source import read_source


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


def test_an_include_missing_or_outside_the_app_is_refused(repo):
    (repo / "requirements" / "production.txt").write_text("-r missing.txt\n")
    commit(repo, "broken include")
    with pytest.raises(ShipstateError, match=r"requirements/missing.txt, which requirements/pr"):
        sha(repo)
    (repo / "requirements" / "production.txt").write_text("-r ../../elsewhere.txt\n")
    commit(repo, "include from outside")
    with pytest.raises(ShipstateError, match="includes ../../elsewhere.txt, outside the app"):
        sha(repo)
