"""Host names as listings show them. Pure."""

import re
from collections.abc import Iterable


def host_order(name: str) -> tuple:
    """A host name's place in listings, numbers counted: sandbox-2 before sandbox-10."""
    parts = re.split(r"(\d+)", name)  # text, number, text, ...
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def in_host_order(names: Iterable[str]) -> list[str]:
    return sorted(names, key=host_order)


def named_hosts(names: Iterable[str]) -> str:
    """Hosts told together: their names in order, and how many when they are more than a few."""
    ordered = in_host_order(names)
    return ", ".join(ordered) + (f" ({len(ordered)} hosts)" if len(ordered) > 3 else "")


def named_among(names: list[str], hosts: int) -> str:
    """Hosts told together among `hosts` in all: "both hosts" or "all N hosts" when they are
    every one of more than one, else their names."""
    if len(names) != hosts or hosts == 1:
        return named_hosts(names)
    return "both hosts" if hosts == 2 else f"all {hosts} hosts"
