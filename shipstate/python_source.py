"""The app's Python source read, never run: parsed quietly (a warning Python 3.12+ prints for,
say, an invalid escape sequence in the user's settings is theirs, not init's output)."""

import ast
import io
import re
import tokenize
import warnings
from pathlib import Path

PARSE_ERRORS = (SyntaxError, ValueError, TypeError, MemoryError, RecursionError)
# a line of an indented block (a blank one too), as a regex: the body of an `if` or `class`
INDENTED_LINE = r"(?:[ \t]+[^\n]*\n|[ \t]*\n)"
# Python 3's words for what only Python 2 wrote: a print statement, `except X, e:`, octal 0777
PYTHON_2_SYNTAX = (
    r"Missing parentheses in call to '(?:print|exec)'|multiple exception types must be "
    r"parenthesized|leading zeros in decimal integer literals"
)


def statements(text: str) -> list[ast.stmt] | None:
    """The module's top-level statements; None if it is not Python 3."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text).body
        except PARSE_ERRORS:
            return None


def python_2_at(text: str) -> tuple[int, str] | None:
    """The line of Python 2 code Python 3 cannot parse, and Python's words for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(text)
        except SyntaxError as error:
            if re.match(PYTHON_2_SYNTAX, error.msg or ""):
                return error.lineno or 0, error.msg
        except PARSE_ERRORS:
            pass
    return None


def literal(text: str) -> object:
    """The value of a Python literal (a list, a dict of strings...); None if it is none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.literal_eval(text.strip())
        except PARSE_ERRORS:
            return None


def source_text(path: Path) -> str:
    """A Python file's text, decoded as Python decodes it (its coding line, as
    `# -*- coding: latin-1 -*-`, else UTF-8), bytes it cannot decode replaced."""
    data = path.read_bytes()
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:  # an unknown encoding
        encoding = "utf-8"
    return data.decode(encoding, errors="replace")


def unguarded_imports(text: str) -> set[str]:
    """The top-level packages the module imports, but in a `try:` (which has a fallback)."""
    body = statements(text)
    if body is None:
        return set()
    module = ast.Module(body=body, type_ignores=[])
    guarded = {
        id(node)
        for tried in ast.walk(module)
        if isinstance(tried, ast.Try)
        for statement in tried.body
        for node in ast.walk(statement)
    }
    imported = set()
    for node in ast.walk(module):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            imported |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.partition(".")[0])
    return imported
