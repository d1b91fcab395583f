"""django-split-settings: the files a settings module's `include()` reads, and the environment
variable choosing among them, read from its source (never run)."""

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shipstate.python_source import source_text, statements

CHOSEN = "\0"  # stands for the environment variable's value in an include() pattern


@dataclass(frozen=True)
class SplitSettings:
    files: tuple[Path, ...]  # what include() reads for the servers, in order
    optional: tuple[Path, ...]  # the optional() files, found or not
    variable: str | None  # the environment variable a pattern is made of
    default: str | None  # its value when unset: the one manage.py gets
    chosen: str | None  # the servers' value: the name of a production file there is


def _environment_reads(tree: Iterable[ast.AST]) -> list[tuple[str, str | None]]:
    """The variables read, with their defaults: environ.setdefault("X", "dev"),
    environ.get("X", "dev"), getenv("X"), environ["X"]."""
    reads: list[tuple[str, str | None]] = []
    for node in tree:
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            if name in ("setdefault", "get", "getenv") and args and isinstance(args[0], str):
                default = args[1] if len(args) > 1 and isinstance(args[1], str) else None
                reads.append((args[0], default))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute | ast.Name)
            and "environ" in ast.unparse(node.value)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            reads.append((node.slice.value, None))
    return reads


def _chosen_by(
    paths: list[ast.expr], assigned: dict[str, ast.expr], module: list[ast.AST]
) -> tuple[str | None, str | None]:
    """The environment variable the paths are made of (directly, or through the names they
    use), and its default anywhere in the module (environ.setdefault("X", "dev"))."""
    used = [node for path in paths for node in ast.walk(path)]
    names = {node.id for node in used if isinstance(node, ast.Name)}
    used += [node for name in names if name in assigned for node in ast.walk(assigned[name])]
    read = _environment_reads(used)
    if not read:
        return None, None
    variable = read[0][0]
    defaults = [d for v, d in [*read, *_environment_reads(module)] if v == variable and d]
    return variable, defaults[0] if defaults else None


def _pattern(node: ast.expr) -> str | None:
    """A path include() is given: a string, or one made of a variable ("x/{}.py".format(ENV),
    f"x/{ENV}.py", "x/%s.py" % ENV), the variable as CHOSEN."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [p.value if isinstance(p, ast.Constant) else CHOSEN for p in node.values]
        return "".join(str(p) for p in parts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        return re.sub(r"\{[^{}]*\}", CHOSEN, node.func.value.value)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
    ):
        return node.left.value.replace("%s", CHOSEN)
    return None


def _included(node: ast.expr, assigned: dict[str, ast.expr]) -> list[tuple[str, bool, ast.expr]]:
    """include()'s argument as (pattern, optional, the path's expression): a path,
    optional(path), *a_list."""
    if isinstance(node, ast.Starred):
        named = isinstance(node.value, ast.Name)
        listed = assigned.get(node.value.id) if named else node.value
        elements = listed.elts if isinstance(listed, ast.List | ast.Tuple) else []
        return [pair for element in elements for pair in _included(element, assigned)]
    optional = (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "optional"
        and len(node.args) == 1
    )
    path = node.args[0] if optional else node
    pattern = _pattern(path)
    return [(pattern, optional, path)] if pattern else []


def split_settings(module_file: Path, production_names: Iterable[str]) -> SplitSettings | None:
    """What a settings module using django-split-settings includes on the servers: for a path
    made of an environment variable, the first of `production_names` it has a file for."""
    body = statements(source_text(module_file))
    if body is None or not any(
        isinstance(node, ast.ImportFrom) and (node.module or "").startswith("split_settings")
        for node in body
    ):
        return None
    assigned = {
        target.id: node.value
        for node in body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    nodes = list(ast.walk(ast.Module(body=body, type_ignores=[])))
    calls = [
        node
        for node in nodes
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "include"
    ]
    included = [found for call in calls for arg in call.args for found in _included(arg, assigned)]
    pairs = [(pattern, optional) for pattern, optional, _ in included]
    made = [path for pattern, _, path in included if CHOSEN in pattern]
    variable, default = _chosen_by(made, assigned, nodes)
    directory = module_file.parent
    chosen = next(
        (
            name
            for name in production_names
            if any((directory / p.replace(CHOSEN, name)).is_file() for p, _ in pairs if CHOSEN in p)
        ),
        None,
    )
    resolved = [(p.replace(CHOSEN, chosen or default or ""), optional) for p, optional in pairs]
    files = [
        found
        for pattern, _ in resolved
        for found in (sorted(directory.glob(pattern)) if not pattern.startswith("/") else [])
        if found.is_file() and found != module_file
    ]
    return SplitSettings(
        files=tuple(dict.fromkeys(files)),
        optional=tuple(directory / p for p, optional in resolved if optional),
        variable=variable,
        default=default,
        chosen=chosen if variable else None,
    )
