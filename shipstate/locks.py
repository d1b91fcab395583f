"""Other tools' lock files as the pinned requirements file shipstate installs. Pure."""

import json
import re
import tomllib
from collections.abc import Iterable, Set

from shipstate.errors import ShipstateError

PYPI = "https://pypi.org/simple"
LOCAL_SOURCE = (
    "an environment is built once for all the releases with the same requirements, so it "
    "cannot hold files of one release"
)
LOCAL_HINT = (
    "the app server, hooks and `run` import the app from the release's directory (set "
    "`workdir` when manage.py is in a subdirectory); require a local package by its name from "
    "an index or a URL"
)


def _line(requirement: str, marker: str | None, hashes: Iterable[str]) -> str:
    pieces = [f"{requirement} ; {marker}" if marker else requirement]
    pieces += [f"    --hash={h}" for h in hashes]
    return " \\\n".join(pieces)


def _file(indexes: Iterable[str], lines: Iterable[str], kept_in: str) -> bytes:
    extra = sorted({u.rstrip("/") for u in indexes} - {PYPI})
    header = [f"# the packages {kept_in} locks for the app, written by shipstate"]
    return "\n".join([*header, *(f"--extra-index-url {u}" for u in extra), *lines, ""]).encode()


def _refuse_local(path: str, name: str, where: str) -> ShipstateError:
    return ShipstateError(
        f"{path}: {name} is installed from {where} on disk: {LOCAL_SOURCE}", hint=LOCAL_HINT
    )


def _from_git(name: str, url: str, commit: str, subdirectory: str | None) -> str:
    requirement = f"{name} @ git+{url}@{commit}"
    return f"{requirement}#subdirectory={subdirectory}" if subdirectory else requirement


def _toml_lock(content: bytes, path: str, relock: str) -> dict:
    """A TOML lock file's data; one that is not TOML is refused, `relock` making it again."""
    try:
        return tomllib.loads(content.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ShipstateError(f"{path}: {exc}", hint=f"run `{relock}` and commit it") from None


def poetry_credentials(source: str) -> tuple[str, str]:
    """The variables Poetry reads a source's user and password from."""
    name = re.sub(r"[^A-Z0-9]+", "_", source.upper())
    return f"POETRY_HTTP_BASIC_{name}_USERNAME", f"POETRY_HTTP_BASIC_{name}_PASSWORD"


def _with_credentials(url: str, source: str, variables: Set[str]) -> str:
    """`url` with the source's credentials as `${VAR}`s uv and pip expand, when the secrets
    file sets both (Poetry keeps them out of the lock, in its config or those variables)."""
    user, password = poetry_credentials(source)
    scheme, found, rest = url.partition("://")
    if not found or "@" in rest.split("/")[0] or not {user, password} <= variables:
        return url
    return f"{scheme}://${{{user}}}:${{{password}}}@{rest}"


def _poetry_marker(package: dict) -> str | None:
    markers = package.get("markers")
    return markers.get("main") if isinstance(markers, dict) else markers


def from_poetry_lock(content: bytes, path: str, variables: Set[str] = frozenset()) -> bytes:
    """The main group's packages of a Poetry 2 lock file (lock-version 2.1 records each
    package's groups and markers), pinned, with their hashes; not the project itself, nor its
    extras. `variables`: those the secrets file sets, for a source's credentials."""
    lock = _toml_lock(content, path, "poetry lock")
    version = str(lock.get("metadata", {}).get("lock-version", "1.0"))
    if tuple(int(p) for p in version.split(".") if p.isdigit()) < (2, 1):
        raise ShipstateError(
            f"{path} is lock-version {version}, which does not say which packages the app needs "
            "(its main group) and which only its development does",
            hint="run `poetry lock` with Poetry 2 (it keeps the locked versions and records "
            "each package's groups) and commit it; or export a requirements file (`poetry "
            "export -o requirements.txt`) and point `requirements` at it",
        )
    lines, indexes = [], []
    for package in lock.get("package", ()):
        if "main" not in package.get("groups", ()) or package.get("optional"):
            continue
        name, version = package["name"], package["version"]
        source = package.get("source", {})
        kind, url = source.get("type"), source.get("url", "")
        hashes = [f["hash"] for f in package.get("files", ()) if "hash" in f]
        if kind in ("directory", "file"):
            raise _refuse_local(path, name, f"the {kind} {url}")
        if kind == "git":
            commit = source.get("resolved_reference") or source.get("reference")
            requirement = _from_git(name, url, commit, source.get("subdirectory"))
            hashes = []
        elif kind == "url":
            requirement = f"{name} @ {url}"
        else:
            requirement = f"{name}=={version}"
            if kind == "legacy":
                indexes.append(_with_credentials(url, source.get("reference", ""), variables))
        lines.append(_line(requirement, _poetry_marker(package), hashes))
    return _file(indexes, lines, path)


def from_pipfile_lock(content: bytes, path: str, variables: Set[str] = frozenset()) -> bytes:
    """Pipenv's [packages] (the lock's "default"), pinned, with their hashes. Its sources'
    URLs keep the `${VAR}`s the Pipfile gives them: `variables` are not needed."""
    try:
        lock = json.loads(content)
        packages = lock["default"]
        sources = lock.get("_meta", {}).get("sources", ())
        indexes = [s["url"] for s in sources]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ShipstateError(
            f"{path} is not a Pipfile.lock ({type(exc).__name__}: {exc})",
            hint="run `pipenv lock` and commit it",
        ) from None
    lines = []
    for name, spec in sorted(packages.items()):
        extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
        if "path" in spec:
            raise _refuse_local(path, name, f"the path {spec['path']}")
        if "git" in spec:
            requirement = _from_git(
                f"{name}{extras}", spec["git"], spec.get("ref", "HEAD"), spec.get("subdirectory")
            )
        elif "file" in spec:
            requirement = f"{name}{extras} @ {spec['file']}"
        else:
            requirement = f"{name}{extras}{spec.get('version', '')}"
        lines.append(_line(requirement, spec.get("markers"), spec.get("hashes", ())))
    return _file(indexes, lines, path)


def from_pdm_lock(content: bytes, path: str, variables: Set[str] = frozenset()) -> bytes:
    """The default group's packages of a PDM lock (its inherit_metadata strategy, PDM's
    default, records each package's groups and marker), pinned, with their hashes; not the
    project itself, nor an extra's entry (the packages it adds have entries of their own)."""
    lock = _toml_lock(content, path, "pdm lock")
    if "inherit_metadata" not in lock.get("metadata", {}).get("strategy", ()):
        raise ShipstateError(
            f"{path} was locked without PDM's inherit_metadata strategy (as with `use_uv`), so "
            "it does not say which packages the app needs (its default group) and which only "
            "its development does",
            hint="run `pdm lock --strategy inherit_metadata` and commit it; or export a "
            "requirements file (`pdm export --prod -o requirements.txt`) and point "
            "`requirements` at it",
        )
    lines = []
    for package in lock.get("package", ()):
        if "default" not in package.get("groups", ()) or package.get("extras"):
            continue
        name = package["name"]
        hashes = [f["hash"] for f in package.get("files", ()) if "hash" in f]
        if "path" in package:
            raise _refuse_local(path, name, f"the path {package['path']}")
        if "git" in package:
            commit = package.get("revision") or package.get("ref") or "HEAD"
            requirement = _from_git(name, package["git"], commit, package.get("subdirectory"))
            hashes = []
        elif "url" in package:
            requirement = f"{name} @ {package['url']}"
        else:
            requirement = f"{name}=={package['version']}"
        lines.append(_line(requirement, package.get("marker"), hashes))
    return _file((), lines, path)


CONVERTERS = {
    "poetry.lock": from_poetry_lock,
    "Pipfile.lock": from_pipfile_lock,
    "pdm.lock": from_pdm_lock,
}
