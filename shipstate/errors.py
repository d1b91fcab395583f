"""Errors raised by the core: each carries a hint; the CLI prints them and picks the exit code."""

EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_LOCKED = 3
EXIT_INTERRUPTED = 130


class ShipstateError(Exception):
    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class RemoteError(ShipstateError):
    """A command failed on a host."""


class Interrupted(ShipstateError):
    """Ctrl-C, SIGTERM or SIGHUP stopped an apply, which undid what it had done."""

    exit_code = EXIT_INTERRUPTED
