"""The consoles: results to stdout, progress and errors to stderr."""

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def progress(message: str) -> None:
    err.print(f"[dim]{message}[/]")
