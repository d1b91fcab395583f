"""Who runs shipstate, and when: recorded in manifests, locks and the history journal."""

import getpass
import socket
from datetime import UTC, datetime


def operator() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
