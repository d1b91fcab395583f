"""The `shipstate` command. Errors from the core are printed here, in one place."""

from gevent import events

# gevent scans every installed package's entry points for plugins at each patch, ~0.1 s of
# every command's start; the only plugin there is its own, which queues a warning.
events.notify_and_call_entry_points = events.notify

from gevent import monkey  # noqa: E402

monkey.patch_all()

import contextlib  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import stat  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

import gevent  # noqa: E402
import greenlet  # noqa: E402
import typer  # noqa: E402
from rich.markup import escape  # noqa: E402
from typer.core import TyperArgument, TyperOption  # noqa: E402

from shipstate import __version__  # noqa: E402
from shipstate.cli import deploy, project, sandbox  # noqa: E402
from shipstate.cli.output import configure, err  # noqa: E402
from shipstate.errors import EXIT_INTERRUPTED, ShipstateError  # noqa: E402
from shipstate.inventory import which_inventory  # noqa: E402

_display_type = TyperOption.display_type_rich
# typer 0.29's help shows `-y <bool>`, as if a flag took a value, and `COMMAND <list[str]>`
TyperOption.display_type_rich = lambda option, ctx: (
    None if option.is_flag else _display_type(option, ctx)
)
TyperArgument.display_type_rich = lambda argument, ctx: None

app = typer.Typer(
    name="shipstate",
    help="Declarative, all-or-nothing deploys of Django apps to nginx + gunicorn + supervisor.\n\n"
    "Run it from your app's root, next to shipstate.toml.\n\n"
    "Example: shipstate plan -i inventories/staging.py",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
project.register(app)
deploy.register(app)
app.add_typer(sandbox.app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        print(f"shipstate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    directory: str = typer.Option(
        None, "-C", help="Run as if started in DIR (the app's root).", metavar="DIR"
    ),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="No progress; results and errors only."
    ),
    verbose: bool = typer.Option(
        False, "-v", "--verbose", help="Also show every remote command as it runs."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    configure(quiet, verbose)
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise ShipstateError(
                f"-C {directory}: {exc.strerror}", hint="pass the directory of your app"
            ) from None


def _interrupt_on_signals() -> None:
    """SIGTERM and SIGHUP (the terminal gone) end a run like Ctrl-C: cleanup (the deploy lock,
    undoing an apply) runs on the way out."""
    main_greenlet = greenlet.getcurrent()

    def hung_up() -> None:
        _print_to_nowhere()
        main_greenlet.throw(KeyboardInterrupt())

    gevent.signal_handler(signal.SIGTERM, lambda: main_greenlet.throw(KeyboardInterrupt()))
    gevent.signal_handler(signal.SIGHUP, hung_up)


def _print_to_nowhere() -> None:
    """Output to a terminal that hung up fails (EIO), which would stop the cleanup midway.
    (isatty() is False for it by then: a terminal is a character device, as is /dev/null.)"""
    nowhere = os.open(os.devnull, os.O_WRONLY)
    for stream in (1, 2):
        if stat.S_ISCHR(os.fstat(stream).st_mode):
            os.dup2(nowhere, stream)


def _options(command) -> dict:
    return {name: param for param in command.params for name in param.opts if name[0] == "-"}


def with_common_options_first(args: list[str], root_command) -> list[str]:
    """`shipstate apply -i INV -q` as `shipstate -q apply -i INV`: shipstate's own options may
    follow the command too, up to `--` or the command's free arguments (`run`'s COMMAND)."""
    common, first, kept, command = _options(root_command), [], [], root_command
    tokens = iter(args)
    for token in tokens:
        option = _options(command).get(token) or common.get(token)
        if option is not None:
            taken = [token] if option.is_flag else [token, next(tokens, "")]
            (kept if token in _options(command) else first).extend(taken)
            continue
        kept.append(token)
        subcommands = getattr(command, "commands", {})
        if token in subcommands:
            command = subcommands[token]
        elif token == "--" or (
            not token.startswith("-") and any(param.nargs == -1 for param in command.params)
        ):
            kept.extend(tokens)
    return first + kept


COMMON_OPTIONS = "Also: -q (quiet), -v (every remote command), --debug, -C DIR; see shipstate -h."


def _note_common_options(group) -> None:
    """Each command's help ends by naming shipstate's own options, which it also takes."""
    for command in getattr(group, "commands", {}).values():
        command.epilog = command.epilog or COMMON_OPTIONS
        _note_common_options(command)


# what the tools shipstate replaces call a command (fab, cap, dep, kamal), and shipstate's word
FORMER_WORDS = {
    "deploy": "apply",
    "setup": "bootstrap",
    "status": "releases",
    "version_list": "releases",
    "diff": "plan",
    "deploy:unlock": "lock release",
    "unlock": "lock release",
    "shell": "run -t -- python manage.py shell",
    "console": "run -t -- python manage.py shell",
    "tail": "logs -f",
}


def _former_word_hint(error: typer.TyperException) -> str | None:
    """For `shipstate deploy` and the like: the command shipstate has for it."""
    unknown = re.match(r"No such command '([^']*)'", getattr(error, "message", ""))
    ours = FORMER_WORDS.get(unknown.group(1)) if unknown else None
    return f"shipstate's word for it: `shipstate {ours}` (shipstate -h lists all)" if ours else None


def run(args: list[str]) -> int:
    """Run the command; returns its exit code."""
    _interrupt_on_signals()
    command = typer.main.get_command(app)
    _note_common_options(command)
    try:
        code = command.main(
            args=with_common_options_first(args, command),
            prog_name="shipstate",
            standalone_mode=False,
        )
    except ShipstateError as exc:
        if "--debug" in args:
            traceback.print_exc()
        if exc.exit_code:
            err.print(f"[red]error:[/] {escape(exc.message)}")
            if exc.hint:
                err.print(f"[yellow]hint:[/] {escape(exc.hint)}")
        else:
            print(exc.message)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = EXIT_INTERRUPTED
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors: typer prints them with a hint
        exc.show()
        if isinstance(exc, typer.BadParameter) and getattr(exc.param, "name", None) == "inventory":
            err.print(f"[yellow]hint:[/] {escape(which_inventory())}")
        elif hint := _former_word_hint(exc):
            err.print(f"[yellow]hint:[/] {escape(hint)}")
        return exc.exit_code
    if code == EXIT_INTERRUPTED:  # also typer's answer to Ctrl-C: a silent exit 130
        err.print("interrupted")
    return code if isinstance(code, int) else 0


def main() -> None:
    code = run(sys.argv[1:])
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):
            stream.flush()
    os._exit(code)  # skips the interpreter's teardown: ~0.2 s of stopping SSH transports


if __name__ == "__main__":
    main()
