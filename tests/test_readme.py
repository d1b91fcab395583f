"""What the README, the help and the hints tell a user to type is what shipstate takes."""

import re
import tomllib
from pathlib import Path

import pytest
import typer.main

from shipstate.cli.main import _options, app
from shipstate.config import Build, Config, Hook, Process, Secrets, Tls

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CLI = typer.main.get_command(app)

# `shipstate <command> <words...>`, up to the end of a code span, a comment, `&&` or a bracket
COMMAND_LINE = re.compile(
    rf"\bshipstate((?:[ \t]+(?:{'|'.join(map(re.escape, CLI.commands))})(?=[\s`\"',.:|\\]|$))"
    r"(?:[ \t]+[^\s`\"'#;&()]+)*)"
)


def command_line_errors(line: str) -> list[str]:
    """What in `shipstate LINE` shipstate would refuse: an unknown command or option."""
    command, errors, rest = CLI, [], iter(line.split())
    for word in rest:
        last = word[-1] in ",.:;"
        word = word.rstrip(",.:;").strip("[]")
        if word == "--" or not word:
            break
        alternatives = word.split("|")
        if word.startswith("-"):
            options = {**_options(CLI), **_options(command)}
            known = {a: options.get(a.split("=")[0]) for a in alternatives}
            errors += [f"{command.name}: no option {a}" for a, found in known.items() if not found]
            option = known[alternatives[0]]
            if len(known) == 1 and option and not option.is_flag and "=" not in word:
                next(rest, None)  # its value
        elif hasattr(command, "commands"):
            unknown = [a for a in alternatives if a not in command.commands]
            errors += [f"{command.name}: no command {a}" for a in unknown]
            command = command.commands.get(alternatives[0], command)
        if last:
            break
    return errors


def lines_told(text: str) -> list[str]:
    return [match.group(1).replace("\\|", "|") for match in COMMAND_LINE.finditer(text)]


def _help_texts(command):
    yield command.help or ""
    yield command.epilog or ""
    yield from (getattr(param, "help", None) or "" for param in command.params)
    for sub in getattr(command, "commands", {}).values():
        yield from _help_texts(sub)


SOURCES = {
    "README.md": README,
    "--help": "\n".join(_help_texts(CLI)),
    **{str(path.relative_to(ROOT)): path.read_text() for path in ROOT.glob("shipstate/**/*.py")},
}


def test_the_checker_finds_what_shipstate_refuses():
    assert command_line_errors("apply -i INV --yes") == []
    assert command_line_errors("sandbox up|status|down --hosts 2") == []
    assert command_line_errors("run -i INV -- python manage.py --nope") == []
    assert command_line_errors("apply --yess") == ["apply: no option --yess"]
    assert command_line_errors("sandbox up|stop") == ["sandbox: no command stop"]
    assert command_line_errors("lock free") == ["lock: no command free"]
    told = lines_told("then `shipstate logs -i INV [-n 50] [-f]` and")
    assert told == [" logs -i INV [-n 50] [-f]"]
    assert lines_told("shipstate runs from your app's root") == []


@pytest.mark.parametrize("source", SOURCES)
def test_every_command_line_told_is_accepted(source):
    told = lines_told(SOURCES[source])
    assert told or source != "README.md"
    errors = {line: command_line_errors(line) for line in told}
    assert {line: found for line, found in errors.items() if found} == {}


def _reference_keys() -> set[str]:
    section = README.split("## Configuration reference")[1].split("\n## ")[0]
    keys = set()
    for row in re.findall(r"^\| (`[^|]+) \|", section, re.M):
        keys.update(re.findall(r"`([a-z_.]+)(?:\.NAME)?`", row))
    return keys


def test_the_configuration_reference_names_every_key_and_only_those():
    tables = {"build": Build, "secrets": Secrets, "tls": Tls}
    keys = {key for key in Config.model_fields if key not in tables} | {"environments"}
    keys |= {f"{table}.{key}" for table, model in tables.items() for key in model.model_fields}
    assert _reference_keys() == keys


@pytest.mark.parametrize("key, model", [("hooks", Hook), ("processes", Process)])
def test_the_reference_gives_each_key_of_a_hook_and_a_process(key, model):
    section = README.split("## Configuration reference")[1]
    row = re.search(rf"^\| `{key}` \|[^|]*\| `\{{([^}}]*)\}}`", section, re.M).group(1)
    assert {part.split("=")[0].strip() for part in row.split(",")} == set(model.model_fields)


def test_the_tutorials_shipstate_toml_is_a_valid_config():
    example = re.search(r"```toml\n# shipstate.toml\n(.*?)```", README, re.S).group(1)
    Config.model_validate(tomllib.loads(example))


def test_no_help_paragraph_is_broken_mid_sentence():
    """The help shows a docstring's line breaks as they are: a paragraph is one line."""
    broken = [text for text in _help_texts(CLI) for para in text.split("\n\n") if "\n" in para]
    assert broken == []
