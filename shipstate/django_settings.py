"""Which settings a Django project's servers run, and their text as init reads it: the
production module beside the development one, django-configurations' class, files git ignores."""

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shipstate.errors import ShipstateError
from shipstate.python_source import INDENTED_LINE, source_text, statements
from shipstate.source import git_ignores, in_git_work_tree, tracked_files
from shipstate.split_settings import SplitSettings, split_settings

# ASGI_APPLICATION = "mysite.asgi.application": Channels serves websockets from there
ASGI_APPLICATION = re.compile(r"""^ASGI_APPLICATION\s*=\s*["']([\w.]+)\.(\w+)["']""", re.M)


# Mezzanine's manage.py: "%s.settings" % real_project_name("mysite")
MEZZANINE_SETTINGS = r"""['"]%s\.settings['"]\s*%\s*real_project_name\(\s*['"](\w+)['"]\s*\)"""


def manage_py_settings(app_dir: Path) -> tuple[str, bool]:
    """The settings module manage.py names; else the project's only one, and True."""
    manage = app_dir / "manage.py"
    text = source_text(manage)
    found = re.search(  # setdefault("...", "x") or environ["..."] = "x"
        r"DJANGO_SETTINGS_MODULE['\"]\s*(?:,|\]\s*=)\s*['\"]([\w.]+)['\"]", text
    )
    if found:
        return found.group(1), False
    mezzanine = re.search(MEZZANINE_SETTINGS, text)
    if mezzanine:
        return f"{mezzanine[1]}.settings", False
    modules = [f"{p.parent.name}.settings" for p in sorted(app_dir.glob("*/settings.py"))]
    modules += [
        f"{package.parent.name}.settings.{name}"
        for package in sorted(app_dir.glob("*/settings"))
        for name in PRODUCTION_SETTINGS
        if (package / f"{name}.py").is_file()
    ]
    if len(modules) != 1:
        raise ShipstateError(
            "manage.py does not name DJANGO_SETTINGS_MODULE as a plain string, and the project "
            f"has {'no settings module' if not modules else 'several: ' + ', '.join(modules)}",
            hint="write shipstate.toml by hand (see the README), with DJANGO_SETTINGS_MODULE "
            "in [env]",
        )
    return modules[0], True


DEVELOPMENT_SETTINGS = ("local", "dev", "development")
PRODUCTION_SETTINGS = ("production", "prod")
STAGING_SETTINGS = ("staging", "stage")
PRODUCTION_VALUE = rf"""(?i:{"|".join(PRODUCTION_SETTINGS)})"""  # "production", "PROD"


def _module_file(app_dir: Path, module: str) -> Path | None:
    base = app_dir / module.replace(".", "/")
    return next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)


CONFIGURATION_NAMED = r"DJANGO_CONFIGURATION['\"]\s*(?:,|\]\s*=)\s*['\"](\w+)['\"]"


def configurations(project: Path, settings: str) -> tuple[str, str] | None:
    """django-configurations' settings classes: the one manage.py names, and the servers' (a
    Prod or Production class when manage.py names a Dev, Development or Local one)."""
    named = re.search(CONFIGURATION_NAMED, source_text(project / "manage.py"))
    if named is None:
        return None
    classes = re.findall(r"^class (\w+)\(", settings, re.M)
    production = [name for name in classes if name.lower() in PRODUCTION_SETTINGS]
    if named[1].lower() in DEVELOPMENT_SETTINGS and production:
        return named[1], production[0]
    return named[1], named[1]


# django_heroku.settings(locals(), staticfiles=False...): settings made at run time
DJANGO_HEROKU = re.compile(r"^django_heroku\.settings\(\s*locals\(\)([^)]*)\)", re.M)


def as_django_heroku_leaves_them(settings: str) -> str:
    """The settings with what django-heroku's `settings(locals())` sets in them written where
    it is: STATIC_ROOT (BASE_DIR / "staticfiles") and ALLOWED_HOSTS (all), unless told not to."""
    call = DJANGO_HEROKU.search(settings)
    if call is None:
        return settings
    made = {
        "staticfiles": 'STATIC_ROOT = BASE_DIR / "staticfiles"',
        "allowed_hosts": 'ALLOWED_HOSTS = ["*"]',
    }
    kept = [
        line for option, line in made.items() if not re.search(rf"{option}\s*=\s*False", call[1])
    ]
    return "\n".join([settings[: call.end()], *kept, settings[call.end() :]])


def as_configuration(settings: str, name: str) -> str:
    """Class-based settings read as a module's: the module's own statements, then those of
    the class `name` after its bases' (what comes later wins, as in a module)."""
    body = statements(settings)
    classes = {node.name: node for node in body or [] if isinstance(node, ast.ClassDef)}
    if body is None or name not in classes:
        return settings
    kept = [node for node in body if not isinstance(node, ast.ClassDef)]
    seen: set[str] = set()

    def inherited(name: str) -> None:
        if name in seen or name not in classes:
            return
        seen.add(name)
        for base in reversed(classes[name].bases):
            inherited(base.id if isinstance(base, ast.Name) else "")
        kept.extend(classes[name].body)

    inherited(name)
    return "\n".join(ast.get_source_segment(settings, node) or "" for node in kept)


def _production_sibling(app_dir: Path, module: str) -> str | None:
    """The production module beside the development one manage.py names (config.settings.local:
    config.settings.production; settings_dev: settings_prod), or beside plain settings one that
    star-imports settings (settings_prod, production_settings, production)."""
    package, _, leaf = module.rpartition(".")
    words = leaf.split("_")
    if any(word in DEVELOPMENT_SETTINGS for word in words):
        names = [
            "_".join(production if word in DEVELOPMENT_SETTINGS else word for word in words)
            for production in PRODUCTION_SETTINGS
        ]
        overlays = False
    else:
        names = [
            name
            for production in PRODUCTION_SETTINGS
            for name in (f"{leaf}_{production}", f"{production}_{leaf}", production)
        ]
        overlays = True
    for name in names:
        sibling = f"{package}.{name}" if package else name
        found = _module_file(app_dir, sibling)
        if found and (
            not overlays or re.search(r"^from [\w.]+ import \*", source_text(found), re.M)
        ):
            return sibling
    return None


def production_settings(app_dir: Path, module: str) -> str:
    """A sibling production module (see _production_sibling); the production module a settings
    package's __init__ star-imports only under a condition (as on an environment variable),
    when it star-imports nothing always."""
    sibling = _production_sibling(app_dir, module)
    if sibling:
        return sibling
    found = _module_file(app_dir, module)
    if found is not None and found.name == "__init__.py":
        text = source_text(found)
        chosen = re.findall(r"^[ \t]+from \.(\w+) import \*", text, re.M)
        production = [name for name in chosen if name in PRODUCTION_SETTINGS]
        if production and not re.search(r"^from \.\w+ import \*", text, re.M):
            return f"{module}.{production[0]}"
    return module


def staging_settings(modules: Path, production: str) -> str | None:
    """The staging module beside the production one (proj.settings.staging beside
    proj.settings.production, settings_stage beside settings_prod)."""
    package, _, leaf = production.rpartition(".")
    words = leaf.split("_")
    for staging in STAGING_SETTINGS:
        name = "_".join(staging if word in PRODUCTION_SETTINGS else word for word in words)
        sibling = f"{package}.{name}" if package else name
        if name != leaf and _module_file(modules, sibling):
            return sibling
    return None


def base_dir(modules: Path, settings_module: str, settings: str) -> Path | None:
    """BASE_DIR: the settings file's directory, or as many above it as BASE_DIR's `.parent`s,
    `.parents[n]` or `os.path.dirname`s of `__file__` say; None when set otherwise."""
    found = _module_file(modules, settings_module)
    return _root_named(settings, found, "BASE_DIR") if found else None


def _from_file(file: Path, value: str) -> Path | None:
    """The directory a value made of `__file__` names: as many above `file` as its
    `.parent`s, `.parents[n]`, `os.path.dirname`s or django-environ's `Path(__file__) - n` say."""
    up = len(re.findall(r"\.parent\b|dirname\(", value))
    up += sum(int(n) + 1 for n in re.findall(r"\.parents\[(\d)\]", value))
    up += sum(int(n) for n in re.findall(r"Path\(\s*__file__\s*\)\s*-\s*(\d+)", value))
    return file.parents[up - 1] if 0 < up <= len(file.parents) else None


def roots_from_base(settings: str, file: Path | None, base: Path) -> str:
    """Lines giving the settings' other roots made of `__file__` (PROJECT_ROOT =
    os.path.dirname(os.path.abspath(__file__))) from BASE_DIR, for paths below them."""
    lines = []
    for name, value in re.findall(r"^([A-Z][A-Z0-9_]*)\s*=\s*(.*__file__.*)$", settings, re.M):
        root = _from_file(file, value) if file and name != "BASE_DIR" else None
        if root is not None and root.is_relative_to(base):
            below = root.relative_to(base).as_posix()
            lines.append(f'{name} = BASE_DIR / "{below}"' if below != "." else f"{name} = BASE_DIR")
    return "\n".join(lines)


def modules_dir(project: Path, settings_module: str) -> str | None:
    """`src` when the settings are in the project's src/ (a src layout, whose manage.py puts
    it on sys.path), not beside manage.py."""
    if _module_file(project, settings_module) or not _module_file(project / "src", settings_module):
        return None
    return "src"


# from .base import *, unconditionally (a `try:`'s is indented); or some settings of it,
# from .secret_settings import SECRET_KEY
SETTINGS_IMPORT = re.compile(
    r"^from (\.?[\w.]+) import (?:\*.*|\(\s*([A-Z][\w\s,]*)\)|([A-Z][\w \t,]*?))[ \t]*(?:#.*)?$",
    re.M,
)
# the block of `if ENV == "production":` (or `in ("prod", ...)`), whose star-imports the
# servers run once [env] sets the variable compared (see settings_read.production_switch)
PRODUCTION_BLOCK = re.compile(
    r"""^if\b(?![^\n]*(?:!=|\bnot\s+in\b))[^\n]*(?:==|\bin\b)[^\n]*"""
    rf"""['"]{PRODUCTION_VALUE}['"][^\n]*:[ \t]*(?:#[^\n]*)?\n({INDENTED_LINE}+)""",
    re.M,
)


def _statements_setting(text: str, names: list[str]) -> str:
    """The top-level statements of `text` that assign one of `names` (with their lines
    below)."""
    statements = re.findall(r"^\S.*\n?(?:(?:[ \t]+.*|[ \t]*[)\]}].*)?\n)*", text, re.M)
    setting = re.compile(rf"({'|'.join(names)})\s*(?::[^=]+)?=(?!=)")
    return "".join(s for s in statements if setting.match(s))


def _production_imports_lifted(text: str) -> str:
    """The source with the star-imports of its production blocks unindented, so that they are
    read as the servers': `if ENV == "production":` then `    from .production import *`."""
    return PRODUCTION_BLOCK.sub(
        lambda block: block[0].replace(
            block[1], re.sub(r"(?m)^[ \t]+(from \.?[\w.]+ import \*)", r"\1", block[1])
        ),
        text,
    )


def _settings_text(app_dir: Path, module: str) -> tuple[str, list[Path]]:
    """The settings' source, with that of each module of the project it star-imports
    (`from .base import *`, `from mysite.settings import *`) in its place (theirs too), or the
    statements setting the settings it imports by name; and those modules' files."""
    found = _module_file(app_dir, module)
    if found is None:
        return "", []
    siblings: list[Path] = []

    def spliced(file: Path, seen: frozenset[Path]) -> str:
        def sibling(line: re.Match) -> str:
            name = line[1]
            if name.startswith("."):
                imported = file.parent / f"{name[1:].replace('.', '/')}.py"
            elif (app_dir / name.partition(".")[0]).is_dir():
                imported = _module_file(app_dir, name) or app_dir / f"{name.replace('.', '/')}.py"
            else:
                return line[0]
            siblings.append(imported)
            if imported in seen or not imported.is_file():
                return line[0]
            text = spliced(imported, seen | {imported})
            names = re.findall(r"\w+", line[2] or line[3] or "")
            return _statements_setting(text, names) if names else text

        return SETTINGS_IMPORT.sub(sibling, _production_imports_lifted(source_text(file)))

    return spliced(found, frozenset([found])), siblings


@dataclass(frozen=True)
class ServersSettings:
    """The servers' settings as read: their source (with what they import), and their files
    git does not have."""

    text: str
    file: Path | None  # the settings module's
    files: tuple[Path, ...]  # it and those it imports
    split: SplitSettings | None  # django-split-settings' files
    uncommitted: str | None  # the settings module's file, when git does not track it
    out_of_git: tuple[str, ...]  # it and the files it imports that git does not have
    ignored: tuple[str, ...]  # those of them git ignores
    optional_missing: tuple[str, ...]  # those it imports when there are, git has not

    @property
    def uploaded(self) -> str | None:
        """The first file git ignores, which [secrets] uploads."""
        return self.ignored[0] if self.ignored else None


def servers_settings(app_dir: Path, modules: Path, settings_module: str) -> ServersSettings:
    file = _module_file(modules, settings_module)
    split = split_settings(file, PRODUCTION_SETTINGS) if file else None
    if split:
        text = "\n".join(source_text(included) for included in split.files)
        imported = [included for included in split.files if included not in split.optional]
        optional = list(split.optional)
    else:
        text, imported = _settings_text(modules, settings_module)
        optional = _optional_settings(text, file, modules) if file else []
    uncommitted = _uncommitted(app_dir, file)
    files = tuple(dict.fromkeys(f for f in [file, *imported] if f and f.is_file()))
    out_of_git = tuple(
        dict.fromkeys([*filter(None, [uncommitted]), *not_in_git(app_dir, imported)])
    )
    return ServersSettings(
        text=text,
        file=file,
        files=files,
        split=split,
        uncommitted=uncommitted,
        out_of_git=out_of_git,
        ignored=tuple(path for path in out_of_git if git_ignores(app_dir, path)),
        optional_missing=tuple(not_in_git(app_dir, optional)),
    )


def _uncommitted(app_dir: Path, file: Path | None) -> str | None:
    """The file's path from `app_dir` when git does not track it, in a repository."""
    at = file.relative_to(app_dir).as_posix() if file else None
    return at if at and in_git_work_tree(app_dir) and not tracked_files(app_dir, at) else None


# `try:` then `from .local_settings import *`: settings each server may have, or not
OPTIONAL_SETTINGS = re.compile(
    r"^try:[ \t]*\n[ \t]+from[ \t]+(\.?[\w.]+)[ \t]+import[ \t]+\*", re.M
)


# Mezzanine's: f = os.path.join(PROJECT_APP_PATH, "local_settings.py"), then, when it exists,
# exec(open(f, "rb").read())
EXECUTED_SETTINGS = re.compile(
    r"""os\.path\.join\(\s*([A-Z][A-Z0-9_]*)\s*,\s*['"](\w+\.py)['"]\s*\)"""
)
EXECUTES = re.compile(r"\bexec(?:file\(|\(\s*open\()")


def _optional_settings(settings: str, file: Path, modules: Path) -> list[Path]:
    """The modules the settings (`file`) import when there is one (a local_settings.py), or
    execute."""
    imported = [
        (file.parent if module.startswith(".") else modules)
        / f"{module.lstrip('.').replace('.', '/')}.py"
        for module in OPTIONAL_SETTINGS.findall(settings)
    ]
    executed = [
        root / name
        for variable, name in (
            EXECUTED_SETTINGS.findall(settings) if EXECUTES.search(settings) else []
        )
        if (root := _root_named(settings, file, variable))
    ]
    return imported + executed


def _root_named(settings: str, file: Path, variable: str) -> Path | None:
    """The directory a variable of the settings names as made of `__file__`."""
    values = re.findall(rf"^{variable}\s*=\s*(.*__file__.*)$", settings, re.M)
    return _from_file(file, values[-1]) if values else None


def split_settings_notes(split: SplitSettings | None) -> list[str]:
    if split is None or split.variable is None or split.chosen == split.default:
        return []
    if split.chosen is None:
        return [
            f"the settings include files by {split.variable} (django-split-settings), and none "
            f"is for production ({', '.join(PRODUCTION_SETTINGS)}): the servers get "
            + (f"its default, {split.default}" if split.default else "none of them")
            + f"; set {split.variable} in [env] in shipstate.toml"
        ]
    manage_gets = f"its default, {split.default}" if split.default else "it from the environment"
    return [
        f"the settings include files by {split.variable} (django-split-settings): manage.py "
        f'gets {manage_gets}; the servers get {split.variable} = "{split.chosen}" in [env]'
    ]


def out_of_git_notes(read: ServersSettings) -> list[str]:
    """On the settings' files git does not have: the settings module's, those it imports."""
    notes = []
    for path in read.out_of_git:
        what = (
            "the settings the servers get"
            if path == read.uncommitted
            else "which the settings import"
        )
        if path == read.uploaded:
            notes.append(
                f"git ignores {path}, {what}, so no release has it: shipstate.toml's [secrets] "
                "uploads it from this machine into each release (README: Secrets)"
            )
        elif path in read.ignored:
            notes.append(
                f"git ignores {path}, {what}, so no release has it: commit it, or give it the "
                "servers with [secrets] (README: Secrets)"
            )
        else:
            notes.append(
                f"git does not track {path}, {what}: commit it (shipstate deploys commits)"
            )
    return notes


def not_in_git(app_dir: Path, files: Iterable[Path]) -> list[str]:
    """Those of `files` in the app that git does not have, as paths from `app_dir` (none
    outside a repository: init says so once)."""
    if not in_git_work_tree(app_dir):
        return []
    paths = [f.relative_to(app_dir) for f in files if f.is_relative_to(app_dir)]
    return [p.as_posix() for p in paths if not tracked_files(app_dir, p.as_posix())]


def settings_paths(app_dir: Path, module: str, files: tuple[Path, ...]) -> tuple[str, ...]:
    """The settings' package, or their files (the module's and those it imports)."""
    if not files:
        return (module.replace(".", "/") + ".py",)
    package = files[0].name == "__init__.py" or files[0].parent.name == "settings"
    read = (files[0].parent,) if package else files
    return tuple(file.relative_to(app_dir).as_posix() for file in read)


def wsgi_application(app_dir: Path, settings_module: str, settings: str) -> str:
    """The WSGI application WSGI_APPLICATION names, when its module is in the project; else
    the `application` of wsgi.py in the settings' package or the nearest package above it."""
    named = re.findall(r"^WSGI_APPLICATION\s*=\s*['\"]([\w.]+)\.(\w+)['\"]", settings, re.M)
    if named and _module_file(app_dir, named[-1][0]):
        return ":".join(named[-1])
    parts = settings_module.split(".")[:-1]
    while parts:
        if (app_dir.joinpath(*parts) / "wsgi.py").is_file():
            return ".".join(parts) + ".wsgi:application"
        parts.pop()
    raise ShipstateError(
        f"no wsgi.py in {settings_module.rsplit('.', 1)[0]} or a package above it",
        hint="set `wsgi` in shipstate.toml by hand",
    )


# os.environ["DJANGO_SETTINGS_MODULE"] = "x": over what the environment says
SETTINGS_FORCED = re.compile(
    r"""environ\[\s*["']DJANGO_SETTINGS_MODULE["']\s*\]\s*=\s*["']([\w.]+)"""
)


def settings_forced(files: dict[str, Path], settings_module: str) -> list[str]:
    """Notes on the files (manage.py, the WSGI or ASGI module) that set another settings
    module than the servers' whatever the environment says."""
    return [
        f"{name} sets DJANGO_SETTINGS_MODULE to {forced[1]} whatever the environment says, so "
        f"the servers would run that rather than {settings_module} ([env] in shipstate.toml): "
        f'write os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{forced[1]}") there instead'
        for name, file in files.items()
        if file.is_file()
        and (forced := SETTINGS_FORCED.search(file.read_text(errors="replace")))
        and forced[1] != settings_module
    ]
