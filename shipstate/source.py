"""The release's source: a git commit of the app (or its work tree with --allow-dirty)."""

import codecs
import hashlib
import io
import json
import os
import posixpath
import re
import shlex
import subprocess
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable, Set
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from shipstate.config import Build, Config, Hook, Secrets, in_workdir
from shipstate.errors import ShipstateError
from shipstate.locks import CONVERTERS, LOCAL_HINT, LOCAL_SOURCE

# -r / --requirement / -c / --constraint FILE in a requirements file
INCLUDE = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(\S+)", re.M)

# a requirement that is a path on disk: -e ., ./pkg, /abs/pkg, file:..., name @ file:...
LOCAL_PATH = re.compile(
    r"""^[ \t]*(?:
        (?:-e|--editable)(?:[ \t]*=[ \t]*|[ \t]+)(?:(?!\S*://)\S+|file:\S+)
      | (?:\.\.?|~)(?:/\S*)?(?=\s|$) | /\S+ | file:\S+
      | [^\s#@]+[ \t]*@[ \t]*file:\S+
    )""",
    re.M | re.X,
)


# name @ file:///...: how `pip freeze` lists a package installed from a file of that machine, as
# each that conda installed
FROZEN_FROM_A_FILE = re.compile(r"[^\s#@]+(?=[ \t]*@[ \t]*file://)")


def local_requirement(path: str, text: str) -> ShipstateError | None:
    """Why the requirements file cannot be installed as it is: it names a path on disk."""
    local = LOCAL_PATH.search(text)
    if not local:
        return None
    line = text[: local.start()].count("\n") + 1
    where = f"{path} line {line}: `{local[0].strip()}`"
    frozen = FROZEN_FROM_A_FILE.match(local[0].strip())
    if frozen:
        return ShipstateError(
            f"{where} installs a file of the machine that wrote it (as `pip freeze` lists what "
            "conda installed)",
            hint=f"require {frozen[0]} by its version instead: `pip list --format=freeze > "
            f"{path}` writes each so",
        )
    return ShipstateError(
        f"{where} installs a path on disk: {LOCAL_SOURCE}", hint=f"remove the line: {LOCAL_HINT}"
    )


class Source(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str
    commit: str
    tree: str
    dirty: bool
    subject: str
    prefix: str
    # the file, then each it includes (a lock file: the requirements file made of it): what the
    # environment is keyed by
    requirements: bytes

    @property
    def requirements_sha(self) -> str:
        return hashlib.sha256(self.requirements).hexdigest()


def _run_git(app_dir: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(app_dir), *args], capture_output=True)
    except FileNotFoundError:
        raise ShipstateError("git is not installed", hint="apt-get install git") from None


def _git(app_dir: Path, *args: str, binary: bool = False) -> str | bytes:
    done = _run_git(app_dir, *args)
    if done.returncode != 0:
        raise ShipstateError(
            f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}",
            hint="shipstate deploys a commit of your app's git repository",
        )
    return done.stdout if binary else done.stdout.decode().rstrip()  # porcelain: " M path"


MAKE_A_COMMIT = (
    "shipstate deploys commits: `git init`, then `git add -A && git commit -m first` (with a "
    ".gitignore for databases, venvs and secrets files)"
)


def tracked_files(app_dir: Path, pattern: str) -> list[str]:
    """The files git tracks that match `pattern`, as paths from `app_dir`; outside a
    repository, none."""
    done = _run_git(app_dir, "ls-files", "-z", "--", pattern)
    return done.stdout.decode().split("\0")[:-1] if done.returncode == 0 else []


def in_git_work_tree(app_dir: Path) -> bool:
    return _run_git(app_dir, "rev-parse", "--is-inside-work-tree").stdout.strip() == b"true"


def git_ignores(app_dir: Path, path: str) -> bool:
    return _run_git(app_dir, "check-ignore", "-q", path).returncode == 0


def _commit(app_dir: Path, ref: str) -> str:
    """The commit `ref` names, or an error saying why there is none."""
    if not in_git_work_tree(app_dir):
        raise ShipstateError(f"{app_dir} is not in a git repository", hint=MAKE_A_COMMIT)
    named = _run_git(app_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if named.returncode == 0:
        return named.stdout.decode().strip()
    if ref == "HEAD":
        raise ShipstateError(
            "the repository has no commit yet",
            hint="shipstate deploys commits: `git add -A && git commit -m first` (with a "
            ".gitignore for databases, venvs and secrets files)",
        )
    raise ShipstateError(
        f"--ref {ref} names no commit of this repository",
        hint="give a branch, tag or commit (`git log --oneline` lists commits)",
    )


def _leaving_out(app_dir: Path, path: Path | None) -> list[str]:
    """A pathspec leaving out `path`, if it is in the app."""
    inside, root = path.resolve() if path else None, app_dir.resolve()
    if inside is None or not inside.is_relative_to(root):
        return []
    return [f":(exclude){inside.relative_to(root).as_posix()}"]


def read_source(
    app_dir: Path,
    ref: str,
    requirements: str,
    kind: str,
    allow_dirty: bool,
    variables: Set[str] = frozenset(),
    inventory: Path | None = None,
) -> Source:
    """`kind`: the config's requirements_kind; `variables`: those the secrets file sets;
    `inventory`: read from the work tree as it is, so its changes are no change to the app."""
    commit = _commit(app_dir, ref)
    prefix = _git(app_dir, "rev-parse", "--show-prefix")
    changes = _git(
        app_dir,
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        *_leaving_out(app_dir, inventory),
    )
    dirty = bool(changes)
    if dirty and not allow_dirty:
        files = ", ".join(line[3:] for line in changes.splitlines()[:5])
        raise ShipstateError(
            f"uncommitted changes to tracked files: {files}",
            hint="commit them, or pass --allow-dirty to deploy the work tree "
            "(the release is marked dirty)",
        )
    if dirty:
        commit = _git(app_dir, "stash", "create")
    tree = _git(app_dir, "rev-parse", f"{commit}:{prefix}")
    subject = _git(app_dir, "log", "-1", "--format=%s", commit)
    reqs = _committed(app_dir, commit, prefix, requirements, None)
    if kind == "pyproject":
        _check_dependencies(reqs, requirements)
    elif kind in CONVERTERS:
        reqs = CONVERTERS[kind](reqs, requirements, variables)
    elif kind == "requirements":
        reqs += _included(app_dir, commit, prefix, requirements, reqs)
    return Source(
        ref=ref,
        commit=commit,
        tree=tree,
        dirty=dirty,
        subject=subject,
        prefix=prefix,
        requirements=reqs,
    )


def requirements_made(app_dir: Path, commit: str, requirements: str, variables: Set[str]) -> bytes:
    """The requirements file shipstate makes of the lock file `requirements` at `commit`."""
    prefix = _git(app_dir, "rev-parse", "--show-prefix")
    lock = _committed(app_dir, commit, prefix, requirements, None)
    return CONVERTERS[PurePosixPath(requirements).name](lock, requirements, variables)


@dataclass(frozen=True)
class CommitChange:
    """Hosts whose live commit a plan replaces by another; `changes`: the commits that makes
    live and those it undoes (commits_between), None when the repository lacks one of the two."""

    hosts: tuple[str, ...]
    live: str
    target: str
    changes: tuple[list[str], list[str]] | None
    migrations: tuple["MigrationsUndone", ...] = ()


@dataclass(frozen=True)
class MigrationsUndone:
    """An app's migrations the live commit has and the target lacks: the database keeps what
    they did. `back_to`: the target's last migration of the app ("zero" if it has none)."""

    app: str  # its label: its AppConfig's, or the name of the directory holding migrations/
    count: int
    back_to: str


# squashmigrations' `replaces = [("blog", "0001_initial"), ...]`: the migrations one stands for
REPLACED = re.compile(r"""\(\s*["'][\w.]+["']\s*,\s*["'](\w+)["']\s*\)""")


def _replaced(app_dir: Path, commit: str, directory: str, name: str) -> set[str]:
    """The migrations a squashed one (`0001_squashed_0004_...`) replaces; none for another."""
    if "_squashed_" not in name:
        return set()
    shown = _run_git(app_dir, "show", f"{commit}:{directory}/{name}.py")
    text = shown.stdout.decode(errors="replace")
    replaces = re.search(r"^\s*replaces\s*=\s*[\[(](.*?)[\])]\s*$", text, re.M | re.S)
    return set(REPLACED.findall(replaces[1])) if replaces else set()


def _app_label(app_dir: Path, commit: str, directory: str) -> str:
    """The label of the app in `directory`: its AppConfig's `label`, else the directory's name."""
    apps = _run_git(app_dir, "show", f"{commit}:{directory}/apps.py").stdout.decode(
        errors="replace"
    )
    label = re.search(r"""^\s+label\s*=\s*["'](\w+)["']""", apps, re.M)
    return label[1] if label else posixpath.basename(directory)


def migrations_undone(app_dir: Path, live: str, target: str) -> tuple[MigrationsUndone, ...]:
    """Per app, the migrations (`<app>/migrations/*.py`) commit `live` has that `target` lacks,
    but those a squashed migration of `target` replaces, and squashed ones of `live` whose
    replaced migrations `target` has."""
    added = _run_git(
        app_dir, "diff", "--name-only", "--relative", "--no-renames", "--diff-filter=A",
        target, live, "--", ":(glob)**/migrations/*.py",
    )  # fmt: skip
    if added.returncode != 0:
        return ()
    live_only: dict[str, list[str]] = {}
    for path in added.stdout.decode(errors="replace").splitlines():
        directory, name = posixpath.split(path)
        if name != "__init__.py":
            live_only.setdefault(directory, []).append(name[:-3])
    prefix = _git(app_dir, "rev-parse", "--show-prefix")
    found = []
    for directory, names in sorted(live_only.items()):
        in_repository = f"{prefix}{directory}"
        listed = _run_git(
            app_dir, "ls-tree", "--full-tree", "--name-only", f"{target}:{in_repository}"
        )
        kept = sorted(
            name[:-3]
            for name in listed.stdout.decode(errors="replace").split()
            if name.endswith(".py") and name != "__init__.py"
        )
        replaced_there = set().union(*(_replaced(app_dir, target, in_repository, k) for k in kept))
        squashing_kept = {
            name
            for name in names
            if (replaced := _replaced(app_dir, live, in_repository, name)) and replaced <= set(kept)
        }
        undone = [n for n in names if n not in replaced_there and n not in squashing_kept]
        if undone:
            app = _app_label(app_dir, live, posixpath.dirname(in_repository))
            found.append(MigrationsUndone(app, len(undone), kept[-1] if kept else "zero"))
    return tuple(found)


def commits_between(app_dir: Path, live: str, target: str) -> tuple[list[str], list[str]] | None:
    """The commits `target` has that `live` lacks, and those `live` has that `target` lacks
    (`<short hash> <subject>`, newest first); None if the repository lacks either commit."""
    done = _run_git(app_dir, "log", "--left-right", "--format=%m %h %s", f"{live}...{target}", "--")
    if done.returncode != 0:
        return None
    lines = done.stdout.decode(errors="replace").splitlines()
    added = [line[2:] for line in lines if line.startswith(">")]
    return added, [line[2:] for line in lines if line.startswith("<")]


def _kind_in(app_dir: Path, source: Source, path: str) -> bytes:
    """What `path` is in the source's commit: b"tree", b"blob"..., or b"" when it has none."""
    return _run_git(
        app_dir, "cat-file", "-t", f"{source.commit}:{source.prefix}{path}"
    ).stdout.strip()


def check_directories(
    app_dir: Path, source: Source, workdir: str | None, pythonpath: tuple[str, ...]
) -> None:
    """`workdir` and each `pythonpath` directory are directories in the commit."""
    wanted = [("workdir", workdir, "the directory that holds manage.py")] if workdir else []
    wanted += [("pythonpath", path, "directories the app imports from") for path in pythonpath]
    for key, path, what in wanted:
        if _kind_in(app_dir, source, path) != b"tree":
            raise ShipstateError(
                f"{key} {path!r} is not a directory in commit {source.commit[:12]}",
                hint=f"set `{key}` in shipstate.toml to {what}, relative to the app, and commit it",
            )


def check_shared_files(app_dir: Path, source: Source, files: tuple[str, ...]) -> None:
    """A path `shared` lists as a file is none the commit has as a directory (its files would
    go, the release linking an empty file there)."""
    for path in files:
        if _kind_in(app_dir, source, path) == b"tree":
            raise ShipstateError(
                f"shared lists {path!r} as a file, and it is a directory in commit "
                f"{source.commit[:12]}",
                hint=f'write "{path}/" in shared: directories end with /',
            )


def sqlite_url_file(url: str) -> str | None:
    """The file a SQLite database URL names, normalised: sqlite:///x relative to where the app
    runs, sqlite:////x absolute; None for another database, or one in memory."""
    named = re.fullmatch(r"sqlite:///([^?#]+)", url)
    return posixpath.normpath(named[1]) if named and named[1] != ":memory:" else None


def check_database_url(config: Config, secrets: "LocalSecrets | None", inventory: str) -> None:
    """The SQLite file a DATABASE_URL ([env]'s, else the inventory's secrets file's) names in
    the directory the app runs in is one `shared` keeps: else each release has an empty one."""
    from_secrets = secrets.variables if secrets and config.secrets_env_file else {}
    url = config.env.get("DATABASE_URL") or from_secrets.get("DATABASE_URL", "")
    named = sqlite_url_file(url)
    if named is None or named.startswith("/"):
        return
    path = posixpath.normpath(in_workdir(config.workdir, named))
    shared_dirs = [posixpath.normpath(d) for d in config.shared_dirs]
    kept = (
        path in map(posixpath.normpath, config.shared_files)
        or any(path.startswith(f"{d}/") for d in shared_dirs)
        or any(posixpath.basename(d) == "instance" for d in shared_dirs)
    )  # Flask-SQLAlchemy's relative URLs are in Flask's instance folder
    if not kept and not path.startswith("../"):
        given = (
            "[env]"
            if "DATABASE_URL" in config.env
            else config.secrets.file.replace("{inventory}", inventory)
        )
        raise ShipstateError(
            f"DATABASE_URL ({given}) names a SQLite file in the release ({path}): each release "
            "would start with an empty database of its own",
            hint=f'add "{path}" to shared in shipstate.toml (one database per host, kept by '
            'every release; the migrate hook\'s run = "every-host"), or name a file outside '
            f"the releases (sqlite:///{config.root}/shared/db.sqlite3)",
        )


def _committed(app_dir: Path, commit: str, prefix: str, path: str, by: str | None) -> bytes:
    try:
        return _git(app_dir, "show", f"{commit}:{prefix}{path}", binary=True)
    except ShipstateError:
        raise ShipstateError(
            f"{path}{f', which {by} includes,' if by else ''} is not in commit {commit[:12]}",
            hint="set `requirements` in shipstate.toml to your requirements file; commit it and "
            "the files it includes",
        ) from None


def decoded_requirements(data: bytes) -> str:
    """A requirements file's text as pip and uv read it: UTF-8, or what its BOM names (a file
    PowerShell's `>` wrote is UTF-16)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    return data.decode(errors="replace")


def _included(app_dir: Path, commit: str, prefix: str, path: str, content: bytes) -> bytes:
    """The files a requirements file includes (-r, -c), recursively, each after its path: they
    are part of what the environment is keyed by."""
    found: dict[str, bytes] = {}

    def follow(path: str, content: bytes) -> None:
        text = decoded_requirements(content)
        local = local_requirement(path, text)
        if local:
            raise local
        for name in INCLUDE.findall(text):
            if "://" in name:
                continue  # a URL: pip's to fetch, not ours to read
            included = posixpath.normpath(posixpath.join(posixpath.dirname(path), name))
            if included.startswith("../") or included.startswith("/"):
                raise ShipstateError(
                    f"{path} includes {name}, outside the app",
                    hint="only the app's directory is deployed: keep what it includes inside it",
                )
            if included not in found:
                found[included] = _committed(app_dir, commit, prefix, included, path)
                follow(included, found[included])

    follow(path, content)
    return b"".join(b"\0" + name.encode() + b"\0" + text for name, text in found.items())


def lists_dependencies(pyproject: bytes) -> bool:
    """A pyproject.toml lists its [project] dependencies (statically: uv installs them).
    Raises UnicodeDecodeError or TOMLDecodeError on a file that is not TOML."""
    project = tomllib.loads(pyproject.decode()).get("project", {})
    static = "dependencies" not in project.get("dynamic", ())
    return static and isinstance(project.get("dependencies"), list)


def _check_dependencies(pyproject: bytes, path: str) -> None:
    try:
        listed = lists_dependencies(pyproject)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ShipstateError(f"{path}: {exc}", hint="fix the TOML syntax") from None
    if not listed:
        raise ShipstateError(
            f"{path} has no [project] dependencies list to install",
            hint="list them under [project] dependencies = [...], or point `requirements` at "
            "a requirements file, or at poetry.lock for Poetry",
        )


def _pattern(pattern: str) -> re.Pattern:
    """config.input_pattern's syntax as a regular expression over paths from the app's root."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        else:
            parts.append({"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i])))
            i += 1
    return re.compile("".join(parts).rstrip("/") + "(?:/.*)?")


def inputs_digest(files: dict[str, str], patterns: tuple[str, ...]) -> str:
    """What a hook's inputs are: each matching path and its content's id (`files`). The last
    pattern matching a path decides, as in .gitignore: `!` excludes it, any other includes it."""
    decides = [(not p.startswith("!"), _pattern(p.removeprefix("!"))) for p in reversed(patterns)]
    matched = [
        f"{blob} {path}"
        for path, blob in sorted(files.items())
        if next((include for include, r in decides if r.fullmatch(path)), False)
    ]
    return hashlib.sha256("\n".join(matched).encode(errors="surrogateescape")).hexdigest()


def hook_inputs(app_dir: Path, source: Source, hooks: tuple[Hook, ...]) -> tuple[str, ...]:
    """Per hook, the digest of its inputs in the source ("" when it declares none)."""
    if not any(hook.inputs for hook in hooks):
        return tuple("" for _ in hooks)
    entries = _tree_entries(app_dir, f"{source.commit}:{source.prefix}")
    files = {path: object_id for _, object_id, path in entries}
    return tuple(inputs_digest(files, hook.inputs) if hook.inputs else "" for hook in hooks)


def _tree_entries(repo: Path, tree: str) -> list[tuple[str, str, str]]:
    """Everything in `tree` (git ls-tree -r): each entry's mode, object id and path in it."""
    listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", tree, binary=True)
    entries = []
    for entry in listing.decode(errors="surrogateescape").split("\0"):
        meta, _, path = entry.partition("\t")
        if path:
            mode, _, object_id = meta.split()
            entries.append((mode, object_id, path))
    return entries


# the attributes of the repository's working tree too: those above the app's directory (a root
# .gitattributes saying which files Git LFS keeps), which its tree alone lacks
GIT_ARCHIVE = ("archive", "--worktree-attributes")


def archive(app_dir: Path, commit: str) -> bytes:
    """A tar.gz of the app's directory at `commit`, with its git submodules at the commits
    it records (git archive leaves them out), and the files Git LFS keeps (git-lfs puts them
    in place of their pointers); refused while it would hold such pointers."""
    top = Path(_git(app_dir, "rev-parse", "--show-toplevel"))
    tree = f"{commit}:{_git(app_dir, 'rev-parse', '--show-prefix')}"
    submodules = _submodules(top, tree)
    if submodules:
        made = _merged(_tars(top, tree, "", submodules))
    else:
        made = _git(top, *GIT_ARCHIVE, "--format=tar.gz", tree, binary=True)
    pointers = _lfs_pointers_left(top, commit, tree, made)
    if pointers:
        more = f" and {len(pointers) - 3} more" if len(pointers) > 3 else ""
        raise ShipstateError(
            f"the archive holds Git LFS pointers in place of {', '.join(pointers[:3])}{more} "
            "(git-lfs is not installed here, or has not fetched them)",
            hint="install git-lfs (Debian: apt install git-lfs), run `git lfs install` and `git "
            "lfs pull` in the app's repository, then apply again",
        )
    return made


# what git holds in place of a file Git LFS keeps: a small text starting so
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\n"


def _lfs_pointers_left(top: Path, commit: str, tree: str, made: bytes) -> list[str]:
    """The files of `tree` (in `commit`) that Git LFS keeps which the tar.gz `made` holds as
    pointers."""
    lfs = ("grep", "-q", "-e", "filter=lfs", commit, "--", ".gitattributes", "*/.gitattributes")
    if _run_git(top, *lfs).returncode != 0:
        return []
    found = _run_git(top, "grep", "-l", "-F", "-e", LFS_POINTER.decode().strip(), tree)
    kept = {line[len(tree) + 1 :] for line in found.stdout.decode().splitlines()}
    with tarfile.open(fileobj=io.BytesIO(made)) as tar:
        return [
            member.name
            for member in tar
            if member.name in kept
            and member.isfile()
            and tar.extractfile(member).read(len(LFS_POINTER)) == LFS_POINTER
        ]


def _merged(parts: list[bytes], replaced: tuple[str, ...] = ()) -> bytes:
    """One tar.gz of the tars `parts` (compressed or not), in order, without the first part's
    paths in or under `replaced` (those a later part brings)."""
    merged = io.BytesIO()
    with tarfile.open(fileobj=merged, mode="w:gz", compresslevel=6) as out:
        for number, part in enumerate(parts):
            with tarfile.open(fileobj=io.BytesIO(part)) as tar:
                for member in tar:
                    name = member.name.removeprefix("./")
                    if number == 0 and any(
                        name == path or name.startswith(f"{path}/") for path in replaced
                    ):
                        continue
                    out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    return merged.getvalue()


BUILDS_KEPT = 20


def builds_cache() -> Path:
    """Where the outputs of builds are kept, by commit and command."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "shipstate" / "builds"


def release_archive(
    app_dir: Path, commit: str, build: Build | None, report: Callable[[str], None]
) -> bytes:
    """The release's tar.gz: the commit's files (`archive`), and what `build` makes of them
    (made once per commit and build: kept in builds_cache())."""
    code = archive(app_dir, commit)
    if build is None:
        return code
    tree = _git(app_dir, "rev-parse", f"{commit}:{_git(app_dir, 'rev-parse', '--show-prefix')}")
    key = hashlib.sha256(json.dumps([tree, build.model_dump(mode="json")]).encode()).hexdigest()
    kept = builds_cache() / f"{key[:32]}.tar.gz"
    if kept.is_file():
        report(f"build: the outputs of `{build.command}` for this commit, made before")
        outputs = kept.read_bytes()
    else:
        outputs = _build(code, build, report)
        kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = kept.with_suffix(".tmp")
        temp.write_bytes(outputs)
        temp.replace(kept)
        for old in sorted(kept.parent.glob("*.tar.gz"), key=lambda f: f.stat().st_mtime)[
            :-BUILDS_KEPT
        ]:
            old.unlink(missing_ok=True)
    return _merged([code, outputs], tuple(p.rstrip("/") for p in build.outputs))


def _build(code: bytes, build: Build, report: Callable[[str], None]) -> bytes:
    """Run the build in a checkout of `code` (a tar.gz); returns a tar.gz of its outputs."""
    with tempfile.TemporaryDirectory(prefix="shipstate-build-") as directory:
        with tarfile.open(fileobj=io.BytesIO(code)) as tar:
            # the "data" filter (Python 3.11.4+) refuses what git archive never makes anyway
            tar.extractall(
                directory, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {})
            )
        report(f"build: running `{build.command}` in a checkout of the commit on this machine")
        started = time.monotonic()
        done = subprocess.run(
            ["sh", "-c", build.command],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        said = done.stdout.decode(errors="replace").splitlines()
        if done.returncode != 0:
            raise ShipstateError(
                f"the build `{build.command}` failed (exit status {done.returncode}); its last "
                "lines:\n" + "\n".join(said[-20:]),
                hint="nothing changed on the servers: fix the build (it runs in a checkout of "
                "the commit, without untracked files), commit, and apply again",
            )
        missing = [path for path in build.outputs if not Path(directory, path).exists()]
        if missing:
            raise ShipstateError(
                f"the build `{build.command}` made no {', '.join(missing)}",
                hint="list in build.outputs the paths its command makes, relative to the app",
            )
        outputs = io.BytesIO()
        with tarfile.open(fileobj=outputs, mode="w:gz", compresslevel=6) as tar:
            for path in build.outputs:
                tar.add(Path(directory, path), arcname=path.rstrip("/"))
        report(f"build: done ({time.monotonic() - started:.1f}s)")
        return outputs.getvalue()


def _submodules(repo: Path, tree: str) -> list[tuple[str, str]]:
    """The submodules in `tree`: each one's path in it and the commit it records."""
    return [(path, commit) for mode, commit, path in _tree_entries(repo, tree) if mode == "160000"]


def _tars(repo: Path, tree: str, prefix: str, submodules: list[tuple[str, str]]) -> list[bytes]:
    """Uncompressed tars of `tree` of `repo` under `prefix`, then of its `submodules`'."""
    parts = [_git(repo, *GIT_ARCHIVE, "--format=tar", f"--prefix={prefix}", tree, binary=True)]
    directory = repo / tree.split(":", 1)[1]
    for path, commit in submodules:
        checkout = directory / path
        found = _run_git(checkout, "cat-file", "-e", f"{commit}^{{commit}}")
        if not (checkout / ".git").exists() or found.returncode != 0:
            raise ShipstateError(
                f"submodule {prefix}{path} is not checked out with commit {commit[:12]}",
                hint="git submodule update --init --recursive",
            )
        inner = f"{commit}:"
        parts += _tars(checkout, inner, f"{prefix}{path}/", _submodules(checkout, inner))
    return parts


SECRETS_LIMIT = 1 << 20


class LocalSecrets(BaseModel):
    """The secrets file's content, kept in memory; `digest` is all that is ever shown."""

    model_config = ConfigDict(frozen=True)

    content: bytes = Field(repr=False)
    digest: str

    @property
    def variables(self) -> dict[str, str]:
        """The variables it sets and their values, read as the servers read it
        (commands.ENV_FILE: the first setting of a name wins)."""
        lines = (line.partition("=") for line in self.content.decode(errors="replace").splitlines())
        found: dict[str, str] = {}
        for key, is_set, value in lines:
            if is_set and key.strip() and not key.lstrip().startswith("#"):
                found.setdefault(
                    key.strip().removeprefix("export ").strip(), value.strip().strip("\"'")
                )
        return found

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.variables)


def read_secrets(app_dir: Path, secrets: Secrets | None, inventory: str) -> LocalSecrets | None:
    if secrets is None:
        return None
    path = secrets.local_file(app_dir, inventory)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ShipstateError(
            f"secrets file {path}: {exc.strerror or exc}",
            hint="create it, untracked by git: "
            + (
                "the variables the app needs, as KEY=VALUE lines"
                if secrets.environment
                else f"the file the app reads at {secrets.path}"
            )
            + "; or remove [secrets] from shipstate.toml",
        ) from None
    if len(content) > SECRETS_LIMIT:
        raise ShipstateError(f"secrets file {path} is over 1 MiB", hint="keep only secrets in it")
    tracked = _run_git(path.parent, "ls-files", "--error-unmatch", path.name)
    if tracked.returncode == 0:
        raise ShipstateError(
            f"secrets file {path} is tracked by git: its secrets are in your repository",
            hint=f"git rm --cached {shlex.quote(os.path.relpath(path))}, add it to .gitignore, "
            "and rotate those secrets",
        )
    content = content.removeprefix(b"\xef\xbb\xbf")  # a byte order mark would be in the first name
    return LocalSecrets(content=content, digest=hashlib.sha256(content).hexdigest()[:16])
