"""What a project needs installed: its requirements file, its Python, the Debian packages its
requirements need on the servers (for `shipstate init`)."""

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from shipstate.causes import (
    DEVELOPMENT_TOOLS,
    OLDEST_FOR_PYTHON,
    REMOVED_FROM_PYTHON,
    WHEELS_SINCE,
    dotted,
)
from shipstate.config import EXPORTS, in_workdir
from shipstate.errors import ShipstateError
from shipstate.locks import CONVERTERS
from shipstate.python_source import source_text, statements, unguarded_imports
from shipstate.sandbox import host_pythons
from shipstate.source import (
    decoded_requirements,
    lists_dependencies,
    local_requirement,
    tracked_files,
)

REQUIREMENTS = (
    "uv.lock",
    *CONVERTERS,
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements/base.txt",
    "config/requirements.txt",  # the fabfile's of the Fabric project shipstate replaces
)
# requirements-prod.txt, requirements/live.txt: a production one first, then a base one
PRODUCTION_REQUIREMENTS = re.compile(r"prod|live|deploy|server", re.I)
NOT_PRODUCTION_REQUIREMENTS = re.compile(r"dev|test|local|doc|lint|ci\b|typ|debug", re.I)


@dataclass(frozen=True)
class Pythons:
    command: str | None = None  # the servers' command for the version a file of the app names
    named_by: str | None = None
    needed: str | None = None  # unpinned, a Python newer than Debian 12's the app needs
    needed_by: str | None = None
    sandbox: str | None = None  # the python3.X this machine's sandbox hosts have for it

    @property
    def minor(self) -> int:
        """The servers' Python 3 minor: the version pinned, else needed, else Debian 12's."""
        if self._pinned_minor is not None:
            return self._pinned_minor
        return int(self.needed.partition(".")[2]) if self.needed else NEWEST_ON_DEBIAN_12

    @property
    def pinned_older(self) -> bool:
        """The version pinned is older than Debian 12's python3, which has no such command."""
        return self._pinned_minor is not None and self._pinned_minor < NEWEST_ON_DEBIAN_12

    @property
    def pinned_newer(self) -> bool:
        return self._pinned_minor is not None and self._pinned_minor > NEWEST_ON_DEBIAN_12

    @property
    def _pinned_minor(self) -> int | None:
        return int(self.command.partition(".")[2]) if self.command else None


# the Debian packages requirements need on the servers: those with no wheel are built there
# (psycopg 3's C implementation too); others load a library of the servers'
BUILDS_ON_LIBPQ = ("libpq-dev", "python3-dev", "build-essential")
FOR_DJANGO_HEROKU = "psycopg2 (for django-heroku)"  # which requires psycopg2, not its wheels
SERVER_PACKAGES = {
    "psycopg2": BUILDS_ON_LIBPQ,
    FOR_DJANGO_HEROKU: BUILDS_ON_LIBPQ,
    "mysqlclient": ("default-libmysqlclient-dev", "pkg-config", "python3-dev", "build-essential"),
    "psycopg[c]": BUILDS_ON_LIBPQ,
    "uwsgi": ("python3-dev", "build-essential"),
    "psycopg": ("libpq5",),
    "Pillow": ("libjpeg-dev", "zlib1g-dev", "python3-dev", "build-essential"),
    "psycopg2-binary": BUILDS_ON_LIBPQ,
    "python-magic": ("libmagic1",),
    "weasyprint": ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"),
    "django.contrib.gis": ("gdal-bin",),
    "git": ("git",),
}
# what needs a library on the servers: who, loading what, and what would need none
LOADS_FROM_THE_SERVERS = {
    "psycopg": ("psycopg without [binary]", "PostgreSQL's client library", "psycopg[binary]"),
    "python-magic": ("python-magic", "libmagic", None),
    "weasyprint": ("WeasyPrint", "Pango", None),
    "django.contrib.gis": ("GeoDjango (django.contrib.gis)", "GDAL, GEOS and PROJ", None),
}
# a requirement from a git repository: a requirements line (or one made of a lock), uv.lock's
# source, poetry.lock's or Pipfile.lock's
FROM_GIT = re.compile(
    r"""\bgit\+[a-z]+://|\bsource\s*=\s*\{\s*git\s*=|^type\s*=\s*"git"|"git"\s*:""", re.M
)
# what is built on the servers, and the requirement with wheels that would build nothing
BUILT_ON_THE_SERVERS = {
    "psycopg2": "psycopg2-binary",
    FOR_DJANGO_HEROKU: None,
    "mysqlclient": None,
    "psycopg[c]": "psycopg[binary]",
    "uwsgi": None,
}
# psycopg[binary] as required, or psycopg-binary as locked; the same for [c]
PSYCOPG_BINARY = re.compile(r"""(?im)psycopg[-_]binary|^\s*["']?psycopg\[[^]]*\bbinary\b""")
PSYCOPG_C = re.compile(r"""(?im)psycopg[-_]c(?![\w.-])|^\s*["']?psycopg\[[^]]*\bc\b""")
# a requirement pinned (==, as a lock pins it too), and its version
PINNED = (
    r"""(?im)^\s*(?:name\s*=\s*)?["']?{}["']?\s*(?:==\s*|\n\s*version\s*=\s*["'])(\d+(?:\.\d+)*)"""
)
# before 20.1, gunicorn cannot run as `python -m gunicorn`; before 21 it imports pkg_resources,
# which setuptools 82 and newer (installed with it) lack
GUNICORN_PINNED = re.compile(PINNED.format("gunicorn"))
# a requirements line, without an environment marker, of what installs on Windows or macOS only
# (as `pip freeze` there writes them)
DESKTOP_ONLY = re.compile(
    r"(?im)^\s*(?:(?P<windows>pywin32|pypiwin32|pywinpty|wmi|windows-curses)|pyobjc(?:-[\w-]+)?)"
    r"(?![\w.-])[^;\n]*$"
)

# what `pip freeze` of Debian's and Ubuntu's pip lists for setuptools' pkg_resources: no index
# has it
FROZEN_PKG_RESOURCES = re.compile(r"(?im)^\s*pkg[-_.]resources\s*==\s*0\.0\.0\b")

# backports.zoneinfo as `pip freeze` on Python 3.8 lists it for Django 4, without the marker
# Django requires it with: it builds on no Python 3.9 or newer, which has zoneinfo
UNMARKED_ZONEINFO = re.compile(r"(?im)^\s*(backports[-_.]zoneinfo\b[^;#\n]*?)\s*$")


# a requirement's name at the start of a line, as a lock file names it (name = "x") or as
# pyproject.toml lists it ("x>=1",)
REQUIREMENT_NAMED = r"""(?im)^\s*(?:name\s*=\s*)?["']?({})(?![\w.-])"""


def read_requirements(requirements: Path) -> str:
    """The requirements file, and those it includes with -r."""
    text = decoded_requirements(requirements.read_bytes())
    for included in re.findall(r"(?m)^\s*-r\s+(\S+)", text):
        path = requirements.parent / included
        text += "\n" + (decoded_requirements(path.read_bytes()) if path.is_file() else "")
    return text


def packages(server_needs, translations) -> dict[str, tuple[str, ...]]:
    """The Debian packages the servers need, by what needs them."""
    needed = {name: SERVER_PACKAGES[name] for name in server_needs}
    if translations:
        needed["compilemessages"] = ("gettext",)
    return needed


def pinned_before_wheels(text: str, python_minor: int) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The requirements pinned to a version with no wheel for Python 3.<python_minor> (but
    working there, once built): the version pinned and the first with one, by name."""
    not_working = _pinned_before(OLDEST_FOR_PYTHON, text, python_minor)
    return {
        name: pinned
        for name, pinned in _pinned_before(WHEELS_SINCE, text, python_minor).items()
        if name not in not_working
    }


def _pinned_before(
    versions: dict[str, dict[int, tuple[int, ...]]], text: str, python_minor: int
) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The requirements pinned older than `versions` gives for Python 3.<python_minor>: the
    version pinned and that version, by name."""
    found = {}
    for name, since in versions.items():
        first = since.get(python_minor)
        pinned = re.search(PINNED.format(re.sub(r"-", "[-_.]", name)), text)
        if first and pinned and _version(pinned[1]) < first:
            found[name] = (pinned[1], first)
    return found


def _version(written: str) -> tuple[int, ...]:
    return tuple(int(n) for n in written.split("."))


def allows(text: str, package: str, release: tuple[int, int]) -> bool:
    """Whether the requirements (or a lock) let `package` of `release` or newer install."""
    found = re.search(SPECIFIERS.format(re.sub(r"-", "[-_.]", package)), text)
    if not found:
        return False
    written = f"=={found[2]}" if found[2] else found[1]
    for operator, version in re.findall(r"(===?|~=|<=?)\s*(\d+(?:\.\d+)*)", written):
        bound = _version(version)
        if operator == "~=":
            bound = (*bound[:-2], bound[-2] + 1) if len(bound) > 1 else bound
        if operator.startswith("==") and bound < release[: len(bound)]:
            return False
        if (operator in ("<", "~=") and bound <= release) or (operator == "<=" and bound < release):
            return False
    return True


def removed_notes(app_dir: Path, requirements: str, text: str, pythons: Pythons) -> list[str]:
    """What the app's code (read once) uses that a newer Django or Python removed."""
    code = _tracked_code(app_dir, "*.py", "*.html")
    return [
        *_removed_by_upgrades_notes(code, requirements, text, pythons),
        *_removed_from_python_notes(code, text, pythons),
    ]


def _removed_by_upgrades_notes(
    code: dict[str, str], requirements: str, text: str, pythons: Pythons
) -> list[str]:
    """What the app's code uses that a version of Django (or of a package used with it) its
    requirements (a pip requirements file, or the lock of uv or Poetry) let install removed."""
    if not requirements.endswith((".txt", ".in", "uv.lock", "poetry.lock")):
        return []
    removed = [r for r in REMOVED_BY_RELEASE if allows(text, r[0], r[3])]
    used: dict[str, dict[str, tuple[str, tuple[int, int]]]] = {}
    for package, pattern, what, release in removed:
        path = next((p for p, source in code.items() if re.search(pattern, source)), None)
        if path:
            used.setdefault(package, {})[what] = (path, release)
    return [_removed_note(package, uses, requirements, pythons) for package, uses in used.items()]


def _tracked_code(app_dir: Path, *patterns: str) -> dict[str, str]:
    """The text of each file git tracks matching one of `patterns`, but migrations."""
    return {
        path: source_text(app_dir / path)
        for pattern in patterns
        for path in tracked_files(app_dir, pattern)
        if "/migrations/" not in f"/{path}" and (app_dir / path).is_file()
    }


def _removed_from_python_notes(code: dict[str, str], text: str, pythons: Pythons) -> list[str]:
    """What the app's code imports (not in a `try:`) that Python 3.12 or 3.13 removed: the
    python3 of Ubuntu 24.04 and Debian 13. distutils is setuptools' too, when required."""
    removed = {
        module: minor
        for module, minor in REMOVED_FROM_PYTHON.items()
        if module != "distutils" or not re.search(REQUIREMENT_NAMED.format("setuptools"), text)
    }
    names = "|".join(map(re.escape, removed))
    named = re.compile(rf"\b(?:import|from)\b.*\b(?:{names})\b")  # only those are parsed
    first: dict[str, str] = {}
    for path, source in code.items():
        if not path.endswith(".py") or not named.search(source):
            continue
        for module in sorted(unguarded_imports(source) & removed.keys()):
            first.setdefault(module, path)
    return [
        f"the code imports {module} ({path}), which Python 3.{removed[module]} removed: "
        + (
            f"the app cannot start on the servers' Python 3.{pythons.minor}"
            if pythons.minor >= removed[module]
            else f"servers whose python3 is 3.{removed[module]} or newer (Ubuntu 24.04's is "
            "3.12, Debian 13's 3.13) cannot start the app"
        )
        + f"; update that code (Python 3.{removed[module]}'s \"What's New\" names what replaces "
        "it)"
        for module, path in first.items()
    ]


def _removed_note(package: str, uses: dict, requirements: str, pythons: Pythons) -> str:
    removed_in = dotted(min(release for _, release in uses.values()))
    runs_since = OLDEST_FOR_PYTHON["Django"].get(pythons.minor) if package == "Django" else None
    return (
        "the code uses "
        + ", ".join(
            f"{what} ({path}), which {package} {dotted(release)} removed"
            for what, (path, release) in uses.items()
        )
        + f", and {requirements} lets such a {package} install (each new environment takes the "
        + (
            f"newest the servers' Python runs): no Django before {removed_in} runs on their "
            f"Python 3.{pythons.minor} ({dotted(runs_since)} is the oldest that does): "
            "update the code"
            if runs_since and _version(removed_in) <= runs_since
            else f"newest the servers' Python runs): pin the {package} the app was written for "
            f"(e.g. `{package}<{removed_in}`; `pip freeze` where it runs), or update the code"
        )
    )


def needing_server_packages(text: str, python_minor: int, settings: str = "") -> tuple[str, ...]:
    """The requirements (in a requirements text) and the settings' apps that need Debian
    packages on the servers whose Python is 3.<python_minor>."""
    named = re.findall(
        REQUIREMENT_NAMED.format(
            "psycopg2|mysqlclient|psycopg|python[-_.]magic|weasyprint|django[-_.]heroku|uwsgi"
        ),
        text,
    )
    found = [re.sub(r"[-_.]", "-", name.lower()) for name in named]
    found = [FOR_DJANGO_HEROKU if name == "django-heroku" else name for name in found]
    if "psycopg2" in found:
        found = [name for name in found if name != FOR_DJANGO_HEROKU]
    if "psycopg" in found:
        found = [name for name in found if name != "psycopg"]
        if not PSYCOPG_BINARY.search(text):
            found.append("psycopg[c]" if PSYCOPG_C.search(text) else "psycopg")
    found += pinned_before_wheels(text, python_minor)
    if FROM_GIT.search(text):
        found.append("git")
    if re.search(r"""["']django\.contrib\.gis["']""", settings):
        found.append("django.contrib.gis")
    return tuple(dict.fromkeys(found))


def development_tools(settings: str, requirements_text: str) -> list[tuple[str, str]]:
    """The development tools (debug_toolbar) the settings' own statements name, not under a
    condition (`if DEBUG:`), whose package the requirements lack: (module, package)."""
    named = {
        node.value
        for statement in statements(settings) or []
        if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Expr)
        and not _installed_when_importable(statement)
        for node in ast.walk(statement)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return [
        (module, package)
        for module, package in DEVELOPMENT_TOOLS.items()
        if any(name == module or name.startswith(f"{module}.") for name in named)
        and not re.search(
            REQUIREMENT_NAMED.format(re.sub(r"-", "[-_.]", package)), requirements_text
        )
    ]


# apps a framework installs only when they import: Mezzanine's OPTIONAL_APPS
INSTALLED_WHEN_IMPORTABLE = ("OPTIONAL_APPS",)


def _installed_when_importable(statement: ast.stmt) -> bool:
    targets = statement.targets if isinstance(statement, ast.Assign) else []
    return any(isinstance(t, ast.Name) and t.id in INSTALLED_WHEN_IMPORTABLE for t in targets)


# what only building a requirement from source needs (the servers install wheels; `packages`
# lists what those requirements init finds needing a build need)
BUILD_ONLY = re.compile(r"build-essential|gcc|g\+\+|make|cmake|pkg-config|.+-dev")


# the files that pin the app's Python version, and how each writes it
PYTHON_VERSION_FILES = (
    (".python-version", r"(\d+)\.(\d+)"),
    ("runtime.txt", r"python-(\d+)\.(\d+)"),
)


def find_pythons(
    app_dir: Path, places: list[Path], requirements: str, requirements_text: str
) -> Pythons:
    """The Python a file of the app pins, else the newer one its requirements need, and the
    sandbox hosts' for it."""
    command, named_by = _python(places)
    if command:
        return Pythons(command, named_by)
    needed, needed_by = _python_needed(app_dir, requirements, requirements_text)
    return Pythons(None, None, needed, needed_by, _sandbox_python(needed) if needed else None)


def _python(places: list[Path]) -> tuple[str, str] | tuple[None, None]:
    """The servers' command for the Python version a file of the app pins (python3.12)."""
    for directory in places:
        for name, written in PYTHON_VERSION_FILES:
            path = directory / name
            text = path.read_text(errors="replace").strip() if path.is_file() else ""
            found = re.match(written, text)
            if found:
                return f"python{found[1]}.{found[2]}", path.name
    return None, None


# Debian 12's python3 is 3.11: an app needing a newer one says so in its requirements
NEWEST_ON_DEBIAN_12 = 11
# the oldest Python 3 minor each Django major runs on, where newer than Debian 12's
DJANGO_NEEDS_PYTHON = {6: 12}
# what old code uses that a release of Django, or of a package used with it, removed: (the
# package, the code's words, what, the release)
REMOVED_BY_RELEASE = (
    (
        "Django",
        r"from django\.conf\.urls import\s*\(?[\w\s,]*\bpatterns\b",
        "django.conf.urls.patterns",
        (1, 10),
    ),
    ("Django", r"\bdjango\.core\.urlresolvers\b", "django.core.urlresolvers", (2, 0)),
    ("Django", r"\bSessionAuthenticationMiddleware\b", "SessionAuthenticationMiddleware", (2, 0)),
    ("Django", r"(?m)^MIDDLEWARE_CLASSES\s*=", "MIDDLEWARE_CLASSES", (2, 0)),
    (  # a relation without on_delete (its arguments holding calls one level deep)
        "Django",
        r"\b(?:ForeignKey|OneToOneField)\((?!(?:[^()]|\([^()]*\))*on_delete)(?:[^()]|\([^()]*\))*\)",
        "a ForeignKey without on_delete",
        (2, 0),
    ),
    ("Django", r"\bdjango\.utils\b[^\n]*\bsix\b", "django.utils.six", (3, 0)),
    ("Django", r"\brender_to_response\b", "render_to_response", (3, 0)),
    ("Django", r"\bpython_2_unicode_compatible\b", "python_2_unicode_compatible", (3, 0)),
    (  # in a template: its pages fail as they render, the health check's may not
        "Django",
        r"\{%\s*load\s+(?:\w+\s+)*(?:staticfiles|admin_static)\b",
        "{% load staticfiles %}",
        (3, 0),
    ),
    (
        "Django",
        r"from django\.conf\.urls import\s*\(?[\w\s,]*\burl\b",
        "django.conf.urls.url",
        (4, 0),
    ),
    ("Django", r"\bu(?:n)?gettext(?:_lazy|_noop)?\b", "ugettext", (4, 0)),
    ("Django", r"\b(?:force|smart)_text\b", "force_text", (4, 0)),
    ("Django", r"from django\.utils\.timezone import\s*\(?[\w\s,]*\butc\b", "timezone.utc", (5, 0)),
    ("Django", r"(?m)^\s+index_together\s*=", "Meta.index_together", (5, 1)),
    (  # ignored since: static files unhashed, uploads on the servers' disks instead
        "Django",
        r"(?m)^(?:STATICFILES_STORAGE|DEFAULT_FILE_STORAGE)\s*=",
        "STATICFILES_STORAGE or DEFAULT_FILE_STORAGE (STORAGES since Django 4.2)",
        (5, 1),
    ),
    ("whitenoise", r"\bwhitenoise\.django\b", "whitenoise.django", (4, 0)),
)
# a requirement's version specifiers (Django>=2.2,<4), or the version a lock pins
SPECIFIERS = (
    r"""(?im)^\s*["']?{0}(?:\[[^\]]*\])?(?![\w.-])\s*([^;#"'\n]*)|"""
    r'^name\s*=\s*"{0}"\s*\nversion\s*=\s*"([\d.]+)"'
)
# Django's version as a requirement (Django>=6.1), a pyproject (["django~=6.0"]) or a lock
# (name = "django" then version = "6.1.3") gives its lower bound
DJANGO_VERSION = re.compile(
    r"""(?im)^\s*["']?django(?:\[[^\]]*\])?\s*(?:==|>=|~=|===)\s*(\d+)\.|"""
    r"""^name\s*=\s*"django"\s*\nversion\s*=\s*"(\d+)\."""
)
# requires-python = ">=3.12", Poetry's python = "^3.12"
LOWEST_PYTHON = re.compile(r"(?:>=|~=|\^|==)\s*3\.(\d+)")


def _python_needed(
    app_dir: Path, requirements: str, text: str
) -> tuple[str, str] | tuple[None, None]:
    """The oldest Python the app needs, where newer than Debian 12's, and what says so."""
    project = _pyproject(app_dir / "pyproject.toml")
    poetry = project.get("tool", {}).get("poetry", {}).get("dependencies", {})
    for wanted, said_by in (
        (project.get("project", {}).get("requires-python"), "requires-python in pyproject.toml"),
        (poetry.get("python") if isinstance(poetry, dict) else None, "Poetry's python"),
    ):
        found = LOWEST_PYTHON.search(wanted) if isinstance(wanted, str) else None
        if found and int(found[1]) > NEWEST_ON_DEBIAN_12:
            return f"3.{found[1]}", said_by
    django = DJANGO_VERSION.search(text)
    major = int(django[1] or django[2]) if django else 0
    minor = max((m for since, m in DJANGO_NEEDS_PYTHON.items() if major >= since), default=0)
    return (f"3.{minor}", f"Django {major} ({requirements})") if minor else (None, None)


def _sandbox_python(needed: str) -> str | None:
    """The python3.X, `needed` (3.12) or newer, this machine's sandbox hosts have, when their
    python3 is older (pyenv's Pythons beside Debian 12's)."""
    minors = {
        name: int(minor[0])
        for name, path in host_pythons().items()
        if (minor := re.findall(r"^python3\.(\d+)$", path.name))
    }
    wanted = int(needed.partition(".")[2])
    if minors.get("python3", wanted) >= wanted:
        return None
    newer = sorted((minor, name) for name, minor in minors.items() if minor >= wanted)
    return newer[0][1] if newer else None


def _requirements_places(directory: Path) -> list[str]:
    """Where the requirements may be, relative to `directory`, the likeliest first: the usual
    names, a requirements file named otherwise but for production, pip-tools' input
    (requirements.in) when it has not been compiled, then pyproject.toml."""
    named = [
        str(path.relative_to(directory))
        for pattern in ("requirements*.txt", "requirements/*.txt", "requirements*.in")
        for path in sorted(directory.glob(pattern))
        if not NOT_PRODUCTION_REQUIREMENTS.search(path.stem)
    ]
    others = sorted(
        named, key=lambda name: (name.endswith(".in"), not PRODUCTION_REQUIREMENTS.search(name))
    )
    return [*REQUIREMENTS, *(n for n in others if n not in REQUIREMENTS), "pyproject.toml"]


def requirements_file(app_dir: Path, project: Path, workdir: str | None) -> str:
    """The requirements file (or lock) to install, from `app_dir`; refused when there is
    none, saying how to make one."""
    in_project = _requirements_places(project) if workdir else []
    places = [*_requirements_places(app_dir), *(in_workdir(workdir, p) for p in in_project)]
    unusable: list[ShipstateError] = []
    requirements = next((r for r in places if _installable(app_dir / r, unusable)), None)
    if requirements:
        return requirements
    if unusable:
        raise unusable[0]
    if any(_poetry_dependencies(directory / "pyproject.toml") for directory in (app_dir, project)):
        raise ShipstateError(
            "no requirements file found, only Poetry's [tool.poetry.dependencies] in "
            "pyproject.toml, without poetry.lock",
            hint="lock them (`poetry lock`; shipstate installs what poetry.lock pins), commit "
            "poetry.lock, and run init again",
        )
    kept_in = next((n for n in EXPORTS if (app_dir / n).is_file() or (project / n).is_file()), None)
    if kept_in:
        raise ShipstateError(
            f"no requirements file found, only {kept_in}",
            hint=f"{EXPORTS[kept_in]}, commit it, and run init again",
        )
    venv = _virtualenv(app_dir, project)
    freeze = (
        f": `{venv}/bin/python -m pip freeze > requirements.txt` writes what its virtualenv "
        f"{venv}/ holds (remove what only development needs)"
        if venv
        else ""
    )
    raise ShipstateError(
        "no requirements file found",
        hint=f"create requirements.txt listing what the app needs (Django...){freeze}; or "
        "uv.lock, or [project] dependencies in pyproject.toml; commit it, and run init again",
    )


def _virtualenv(app_dir: Path, project: Path) -> str | None:
    """A virtualenv with pip in the project (myvenv/, .venv/), from `app_dir`."""
    found = (
        config.parent
        for directory in dict.fromkeys((project, app_dir))
        for config in sorted(directory.glob("*/pyvenv.cfg"))
        if (config.parent / "bin" / "pip").is_file()
    )
    return next((venv.relative_to(app_dir).as_posix() for venv in found), None)


def _pyproject(path: Path) -> dict:
    """pyproject.toml's tables; none when there is no such file, or it is not TOML."""
    try:
        return tomllib.loads(path.read_text(errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _poetry_dependencies(pyproject: Path) -> bool:
    poetry = _pyproject(pyproject).get("tool", {}).get("poetry", {})
    return isinstance(poetry, dict) and "dependencies" in poetry


def _installable(path: Path, unusable: list[ShipstateError]) -> bool:
    """Adds to `unusable` why a lock file shipstate converts cannot be."""
    if not path.is_file():
        return False
    if path.name in CONVERTERS:
        try:
            CONVERTERS[path.name](path.read_bytes(), path.name)
        except ShipstateError as exc:
            unusable.append(exc)
            return False
        return True
    if path.name != "pyproject.toml":
        return True
    try:
        return lists_dependencies(path.read_bytes())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def requirements_notes(
    app_dir: Path,
    requirements: str,
    requirements_text: str,
    pythons: Pythons,
) -> list[str]:
    """What the requirements (and the Python they need) ask of the servers or of you."""
    pip_format = requirements.endswith((".txt", ".in"))
    own_text = decoded_requirements((app_dir / requirements).read_bytes()) if pip_format else ""
    local = local_requirement(requirements, own_text)
    return [
        *([f"{local.message}: {local.hint}"] if local else []),
        *(
            [
                f"{requirements} is pip-tools' input, which pins no versions: each new "
                "environment takes the newest that match; compile it (`pip-compile "
                f"{requirements}`), commit the .txt it writes, and run init again"
            ]
            if requirements.endswith(".in")
            else []
        ),
        *(
            f"the requirements pin gunicorn {version}, which "
            + (
                "cannot run as `python -m gunicorn` (20.1 and newer can)"
                if _version(version) < (20, 1)
                else "imports pkg_resources: setuptools, installed with it, has none since 82 "
                "(gunicorn 21 and newer import none)"
            )
            + ": require gunicorn>=21, or remove it (shipstate adds the newest)"
            for version in GUNICORN_PINNED.findall(requirements_text)
            if _version(version) < (21,)
        ),
        *(
            f"{requirements} pins {name} {pinned}, which has no wheel for the servers' Python "
            f"3.{pythons.minor} ({name} {dotted(first)} and newer have one): the "
            f"servers build it from source, for which `packages` in shipstate.toml lists "
            f"{', '.join(SERVER_PACKAGES[name])}; a newer pin would need none"
            for name, (pinned, first) in pinned_before_wheels(
                requirements_text, pythons.minor
            ).items()
        ),
        *(
            f"{requirements} pins {name} {pinned}, which does not work on the servers' Python "
            f"3.{pythons.minor} ({name} {dotted(oldest)} is the oldest that does): "
            f"upgrade {name}, or install an older Python on the servers and name it with "
            "`python` in shipstate.toml"
            for name, (pinned, oldest) in _pinned_before(
                OLDEST_FOR_PYTHON, requirements_text, pythons.minor
            ).items()
        ),
        *(
            f"{requirements} requires {found[0].strip()}, which installs on "
            + ("Windows" if found["windows"] else "macOS")
            + " only (as `pip freeze` there lists it): the servers cannot install it; remove "
            f'it, or mark it `{found[0].strip()}; sys_platform == "'
            + ("win32" if found["windows"] else "darwin")
            + '"`'
            for found in DESKTOP_ONLY.finditer(requirements_text)
            if pip_format
        ),
        *(
            f"{requirements} requires {found[1]} (as `pip freeze` on Python 3.8 lists it for "
            "Django 4), which Python 3.9 and newer have as zoneinfo (it builds on none of them): "
            "remove it, or mark it as Django requires it, "
            f'`{found[1]}; python_version < "3.9"`'
            for found in UNMARKED_ZONEINFO.finditer(requirements_text)
            if pip_format
        ),
        *(
            [
                f"{requirements} lists pkg-resources==0.0.0, which `pip freeze` of Debian's and "
                "Ubuntu's pip writes and no package index has (every install would fail): "
                "remove that line"
            ]
            if pip_format and FROZEN_PKG_RESOURCES.search(requirements_text)
            else []
        ),
        *(
            [
                f"{pythons.named_by} pins Python {pythons.command.removeprefix('python')}, older "
                f"than Debian 12's python3 (3.{NEWEST_ON_DEBIAN_12}), which has no "
                f"{pythons.command}: shipstate.toml has `python` commented out, so the servers' "
                f"python3 runs the app; uncomment it for servers that have {pythons.command} "
                "(Ubuntu 22.04's python3 is 3.10)"
            ]
            if pythons.pinned_older
            else [
                f"{pythons.named_by} pins Python {pythons.command.removeprefix('python')}, newer "
                f"than Debian 12's python3 (3.{NEWEST_ON_DEBIAN_12}): the servers need "
                f"{pythons.command} (Ubuntu 24.04's python3 is 3.12, Debian 13's 3.13; "
                f"`shipstate plan` names the hosts lacking it)"
            ]
            if pythons.pinned_newer
            else []
        ),
        *(
            [
                f"{pythons.needed_by} needs Python {pythons.needed} or newer, and Debian 12's "
                f"python3 is 3.{NEWEST_ON_DEBIAN_12}: on servers with an older python3, "
                "install a newer one and uncomment `python` in shipstate.toml"
                + (
                    f"; this machine's sandbox hosts have {pythons.sandbox}, which "
                    "[environments.sandbox] names"
                    if pythons.sandbox
                    else ""
                )
            ]
            if pythons.needed
            else []
        ),
    ]


def server_needs_notes(server_needs: tuple[str, ...]) -> list[str]:
    """What the requirements needing Debian packages on the servers make `packages` list."""
    built = [name for name in server_needs if name in BUILT_ON_THE_SERVERS]
    return [
        *(
            [
                f"the servers build {', '.join(built)} from source (no wheel): `packages` "
                "in shipstate.toml lists what that needs there, which `shipstate bootstrap` "
                "installs"
                + "".join(
                    f" ({instead} instead of {name} would need none)"
                    for name in built
                    if (instead := BUILT_ON_THE_SERVERS[name])
                )
            ]
            if built
            else []
        ),
        *(
            [
                "the requirements list uWSGI, the former app server: shipstate runs gunicorn, "
                "so unless the code imports uwsgi, remove it from the servers' requirements "
                "(and python3-dev, build-essential from `packages`)"
            ]
            if "uwsgi" in built
            else []
        ),
        *(
            f"{who} loads {what} from the servers: `packages` in shipstate.toml lists "
            f"{', '.join(SERVER_PACKAGES[need])}, which `shipstate bootstrap` installs"
            + (f" ({instead} would need none)" if instead else "")
            for need, (who, what, instead) in LOADS_FROM_THE_SERVERS.items()
            if need in server_needs
        ),
        *(
            [
                "the requirements install a package from a git repository: `packages` in "
                "shipstate.toml lists git, which `shipstate bootstrap` installs; a private "
                "one needs its credentials on the servers (a token in the URL as "
                "`${GIT_TOKEN}`, set in the secrets file; README: Secrets)"
            ]
            if "git" in server_needs
            else []
        ),
    ]
