"""The consoles: results to stdout, progress and errors to stderr.

Progress is a plain line per step; on a terminal a spinner shows the step in flight.
`-q` hides progress, `-v` adds every remote command. rich honours NO_COLOR."""

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.status import Status

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Settings:
    quiet = False
    verbose = False
    status: Status | None = None


def configure(quiet: bool, verbose: bool) -> None:
    Settings.quiet, Settings.verbose = quiet, verbose and not quiet


def progress(message: str) -> None:
    if Settings.quiet:
        return
    err.print(f"[dim]{escape(message)}[/]")
    if Settings.status is not None:
        Settings.status.update(f"{escape(message.splitlines()[0])} ...")


@contextmanager
def working(label: str) -> Iterator[None]:
    """A spinner on a terminal while long work runs; nothing otherwise."""
    if Settings.quiet or not err.is_terminal or Settings.status is not None:
        yield
        return
    Settings.status = err.status(f"{label} ...")
    Settings.status.start()
    try:
        yield
    finally:
        Settings.status.stop()
        Settings.status = None
