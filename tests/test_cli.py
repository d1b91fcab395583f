"""The CLI: help that teaches, errors without tracebacks, exit codes."""

import re
import subprocess
import sys

import pytest

from conftest import EXAMPLE, make_app, shipstate

COMMANDS = [
    "bootstrap",
    "remove",
    "history",
    "init",
    "plan",
    "apply",
    "set-active",
    "rollback",
    "releases",
    "run",
    "logs",
    "lock status",
    "lock release",
    "sandbox up",
    "sandbox ssh",
]


def test_version_and_help():
    result = shipstate("--version")
    assert result.code == 0 and result.stdout.startswith("shipstate ")
    assert "plan" in shipstate("--help").stdout
    assert "<bool>" not in shipstate("--help").stdout, "a flag shown as if it took a value"
    assert "<list[str]>" not in shipstate("run", "--help").stdout, "an argument named twice"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(command):
    result = shipstate(*command.split(), "--help")
    assert result.code == 0 and "Example:" in result.stdout
    assert "Also: -q (quiet), -v (every remote command), --debug, -C DIR" in result.stdout
    assert not re.search(r"\w \.(?=\s)", result.stdout), "a [bracketed] text rich took for markup"
    assert not re.search(r"--[\w-]+(\s+-\w)?\s+<\w+>", result.stdout), "an option's value unnamed"


SUMMARIES = """
import typer.main
from shipstate.cli.main import app

def commands(group, prefix=""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        yield from commands(command, f"{prefix}{name} ") if hasattr(command, "commands") else ()

for name, command in commands(typer.main.get_command(app)):
    print(name, repr((command.help or "").strip().split("\\n\\n")[0]), sep="\\t")
"""


def test_each_command_is_summed_up_in_one_line_of_the_command_list():
    """Read in a process of its own: the CLI's module patches the standard library for gevent,
    which breaks the locks of threads this process started before."""
    listed = subprocess.run([sys.executable, "-c", SUMMARIES], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    summaries = dict(line.split("\t") for line in listed.stdout.splitlines())
    assert {"apply", "plan", "set-active", "lock release"} <= set(summaries), summaries
    for name, summary in summaries.items():
        assert summary not in ("''", '""') and "\\n" not in summary, f"{name}: {summary}"


def test_another_tools_command_is_met_with_shipstates(tmp_path):
    deploy = shipstate("deploy", "-i", "inventories/production.py", cwd=tmp_path)
    assert deploy.code == 2 and "No such command 'deploy'" in deploy.stderr
    assert "hint: shipstate's word for it: `shipstate apply`" in deploy.stderr
    assert "`shipstate lock release`" in shipstate("deploy:unlock", cwd=tmp_path).stderr
    assert "hint:" not in shipstate("no-such-word", cwd=tmp_path).stderr


def test_missing_config_is_a_clean_error(tmp_path):
    result = shipstate("plan", "-i", "inventories/x.py", cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.startswith("error: no shipstate.toml")
    assert "hint:" in result.stderr and "Traceback" not in result.output


def test_missing_inventory_and_bad_dir(tmp_path):
    result = shipstate("-C", str(EXAMPLE), "plan", "-i", "inventories/nope.py")
    assert result.code == 1 and "does not exist" in result.stderr
    result = shipstate("-C", str(tmp_path / "nope"), "plan", "-i", "x.py")
    assert result.code == 1 and "error: -C" in result.stderr


def test_a_missing_inventory_or_config_is_met_with_where_they_are(tmp_path):
    app = make_app(tmp_path / "app")
    (app / "inventories").mkdir()
    for name in ("staging.py", "production.py", "_shared.py"):
        (app / "inventories" / name).write_text("web = []\n")
    listed = (
        "hint: pass -i with one of: inventories/production.py, inventories/staging.py "
        "(or its name: -i production)\n"
    )
    for given in ("inventories/prod.py", "inventories", "inventory/prod.py"):
        result = shipstate("plan", "-i", given, cwd=app)
        assert result.code == 1 and result.stderr.endswith(listed), result.stderr
    for command in ("plan", "apply", "releases"):
        without = shipstate(command, cwd=app)
        assert without.code == 2 and "Missing option '-i' / '--inventory'" in without.stderr
        assert without.stderr.endswith(listed), without.stderr
    for given in ("inventories/sandbox.py", "sandbox"):  # as init's next steps name it
        result = shipstate("apply", "-i", given, cwd=app)
        assert result.code == 1 and result.stderr.endswith(
            "hint: `shipstate sandbox up` writes it here (and starts the sandbox hosts, or adds "
            "this app to those up)\n"
        ), result.stderr
    below = shipstate("plan", "-i", "inventories/staging.py", cwd=app / "hello")
    assert f"hint: there is one in {app}: run shipstate there, or pass -C {app}" in below.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = shipstate("--debug", "plan", "-i", "x.py", cwd=tmp_path)
    assert result.code == 1 and "Traceback" in result.stderr


@pytest.mark.parametrize(
    "given, parsed",
    [
        ("apply -i inv.py --yes -q", "-q apply -i inv.py --yes"),
        ("lock release -i inv.py --force --debug -v", "--debug -v lock release -i inv.py --force"),
        ("plan -C app -i -q", "-C app plan -i -q"),  # -q is the value of -i
        ("logs -n 5 --quiet", "--quiet logs -n 5"),
        (
            "run -i inv.py -v -- python manage.py check -v 2",
            "-v run -i inv.py -- python manage.py check -v 2",
        ),
        ("run -i inv.py python manage.py check -v 2", "run -i inv.py python manage.py check -v 2"),
        ("sandbox ssh sandbox-1 -q", "sandbox ssh sandbox-1 -q"),
    ],
)
def test_shipstate_options_may_follow_the_command(given, parsed):
    """Up to `--` or the command's free arguments, which are the command's own."""
    import typer.main

    from shipstate.cli.main import app, with_common_options_first

    command = typer.main.get_command(app)
    assert with_common_options_first(given.split(), command) == parsed.split()


def test_common_options_after_the_command_work(tmp_path):
    result = shipstate("plan", "-i", "x.py", "--debug", "-C", str(tmp_path / "nope"))
    assert result.code == 1 and "error: -C" in result.stderr and "Traceback" in result.stderr


def test_bad_release_name_is_refused_before_connecting(tmp_path):
    app = make_app(tmp_path / "app")
    (app / "unreachable.py").write_text('web = [("ghost", {"ssh_hostname": "127.0.0.254"})]\n')
    result = shipstate("set-active", "../../etc", "-i", "unreachable.py", "--yes", cwd=app)
    assert result.code == 1 and "is not a release" in result.stderr
    assert "connecting" not in result.stderr


def test_saved_plan_errors_before_connecting(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "shipstate.toml").write_text('name = "shop"\nwsgi = "shop.wsgi"\n')
    (app / "inv.py").write_text(
        'web = [("ghost", {"ssh_hostname": "127.0.0.254", "ssh_port": 9})]\n'
    )
    (app / "junk.plan").write_text("[]")
    for plan_file, message in (("junk.plan", "not a plan saved by"), ("none.plan", "cannot read")):
        result = shipstate("apply", "-i", "inv.py", plan_file, cwd=app)
        assert result.code == 1 and message in result.stderr, result.output
        assert "connecting" not in result.stderr and "Traceback" not in result.output
    mixed = shipstate("apply", "-i", "inv.py", "junk.plan", "--ref", "v1", cwd=app)
    assert mixed.code == 1 and "already names its commit" in mixed.stderr


def test_a_host_that_cannot_be_reached_is_named_with_the_reason(tmp_path):
    app = make_app(tmp_path / "app")
    (app / "inventories").mkdir(exist_ok=True)
    closed = '{"ssh_hostname": "127.0.0.254", "ssh_port": 9}'
    (app / "inventories" / "closed.py").write_text(
        f'web = [("ghost", {closed}), ("ghost-2", {closed})]\n'
    )
    refused = shipstate("plan", "-i", "closed", cwd=app)
    assert refused.code == 1, refused.output
    said = "error: could not connect to ghost, ghost-2: Could not connect ("
    assert said in refused.stderr, "the same reason, once"
    assert "--limit" not in refused.stderr, "no host answers"
    assert "(Unable to connect to port 9 on 127.0.0.254)" in refused.stderr
    assert "hint: nothing answers SSH at that address and port" in refused.stderr
    assert "sandbox" not in refused.stderr

    sandbox_dir = tmp_path / "no-sandbox"  # the sandbox is down: none was ever started there
    data = (
        f'{{"ssh_hostname": "127.0.0.254", "ssh_port": 9, "ssh_key": "{sandbox_dir}/id_ed25519"}}'
    )
    (app / "inventories" / "sandbox.py").write_text(
        f'web = [("sandbox-1", {data}), ("sandbox-2", {data})]\n'
    )
    down = shipstate(
        "plan",
        "-i",
        "sandbox",
        "--limit",
        "sandbox-1",
        cwd=app,
        env={"SHIPSTATE_SANDBOX_DIR": str(sandbox_dir)},
    )
    assert down.code == 1 and "No such private key file" in down.stderr, down.output
    assert (
        "hint: this inventory is the sandbox's, and the sandbox is down: `shipstate "
        "sandbox up --hosts 2`" in down.stderr
    ), "the inventory's hosts, not those --limit leaves"
