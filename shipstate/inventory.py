"""pyinfra inventory files (inventories/<env>.py): hosts, their data and groups."""

import difflib
import ipaddress
import re
import runpy
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from shipstate.errors import ShipstateError
from shipstate.hosts import in_host_order

HOST_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,252}$")


INVENTORIES = Path("inventories")
DEFAULT_PORTS = {"ssh": 22, "http": 80, "https": 443}


class HostSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    data: dict
    groups: tuple[str, ...]

    @property
    def address(self) -> str:
        return str(self.data.get("ssh_hostname", self.name))

    @property
    def listen_addr(self) -> str:
        return str(self.data.get("listen_addr", "0.0.0.0"))

    def port(self, kind: str) -> int:
        """The host's `ssh`, `http` or `https` port."""
        return self.data.get(f"{kind}_port", DEFAULT_PORTS[kind])


def _entries(group: str, value, path: Path):
    for item in value:
        if isinstance(item, str):
            yield item, {}
        elif (
            isinstance(item, tuple | list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], dict)
        ):
            yield item[0], item[1]
        else:
            raise ShipstateError(
                f"{path}: group {group!r}: {item!r} is not a host",
                hint='a host is "name" or ("name", {"ssh_hostname": ..., ...})',
            )


def _check_host(name: str, data: dict, path: Path) -> None:
    if not HOST_NAME_PATTERN.match(name):
        raise ShipstateError(
            f"{path}: host name {name!r} is not valid", hint="use letters, digits, '.', '-', '_'"
        )
    for kind, default in DEFAULT_PORTS.items():
        key = f"{kind}_port"
        port = data.get(key, default)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ShipstateError(
                f"{path}: host {name!r}: {key} {port!r} is not a port number",
                hint=f"{key} must be an integer from 1 to 65535",
            )
    from pyinfra.connectors.ssh import ConnectorData  # paramiko's import: only when connecting

    known = list(ConnectorData.__annotations__)
    for key in data:
        if key.startswith("ssh_") and key not in known:
            close = difflib.get_close_matches(key, known, 1)
            raise ShipstateError(
                f"{path}: host {name!r}: {key} is no SSH setting (pyinfra would ignore it)",
                hint=f"did you mean {close[0]}?" if close else "pyinfra's: " + ", ".join(known),
            )
    listen = data.get("listen_addr", "")
    try:
        if listen:
            ipaddress.ip_address(listen)
    except ValueError:
        raise ShipstateError(
            f"{path}: host {name!r}: listen_addr {listen!r} is not an IP address",
            hint="listen_addr is the address nginx listens on, e.g. 127.0.0.11; omit it for all",
        ) from None


def inventory_file(path: Path) -> Path:
    """`path`, or `inventories/<path>.py` when it is an environment's name (`-i production`)."""
    named = INVENTORIES / f"{path}.py"
    if not path.exists() and path.parent == Path(".") and not path.suffix and named.is_file():
        return named
    return path


SANDBOX_UP_WRITES_IT = (
    "`shipstate sandbox up` writes it here (and starts the sandbox hosts, or adds this app to "
    "those up)"
)


def which_inventory(directory: Path = INVENTORIES) -> str:
    """What to pass as -i: the inventories in `directory`."""
    found = sorted(f.as_posix() for f in directory.glob("*.py") if f.name[0] != "_")
    if not found:
        return "pass -i inventories/<env>.py; `shipstate sandbox up` writes inventories/sandbox.py"
    return f"pass -i with one of: {', '.join(found)} (or its name: -i {Path(found[0]).stem})"


def load_inventory(path: Path) -> list[HostSpec]:
    path = inventory_file(path)
    if not path.is_file():
        places = (path, path.parent, INVENTORIES)
        near = next((d for d in places if d.is_dir() and d != Path(".")), INVENTORIES)
        raise ShipstateError(
            f"inventory {path} {'is a directory' if path.is_dir() else 'does not exist'}",
            hint=SANDBOX_UP_WRITES_IT if path.stem == "sandbox" else which_inventory(near),
        )
    try:
        namespace = runpy.run_path(str(path))
    except (Exception, SystemExit) as exc:  # a user's Python file: its errors are theirs
        raise ShipstateError(
            f"inventory {path} failed to load: {type(exc).__name__}: {exc}",
            hint="an inventory is a Python file of host lists",
        ) from None
    hosts: dict[str, dict] = {}
    groups: dict[str, list[str]] = {}
    for group, value in namespace.items():
        if group.startswith("_") or not isinstance(value, list | tuple):
            continue
        for name, data in _entries(group, value, path):
            _check_host(name, data, path)
            if name in hosts and hosts[name] != data and data:
                raise ShipstateError(
                    f"{path}: host {name!r} is listed twice with different data",
                    hint="give each host its data once",
                )
            hosts.setdefault(name, data)
            if data:
                hosts[name] = data
            groups.setdefault(name, []).append(group)
    if not hosts:
        raise ShipstateError(
            f"inventory {path} lists no hosts",
            hint='define a list at top level, e.g. web = ["app1.example.com"]',
        )
    return [HostSpec(name=n, data=d, groups=tuple(groups[n])) for n, d in hosts.items()]


def select_hosts(hosts: list[HostSpec], limit: list[str] | None) -> list[HostSpec]:
    if not limit:
        return hosts
    known = {h.name for h in hosts} | {g for h in hosts for g in h.groups}
    unknown = [name for name in limit if name not in known]
    if unknown:
        raise ShipstateError(
            f"--limit names unknown hosts or groups: {', '.join(unknown)}",
            hint=f"known: {', '.join(in_host_order(known))}",
        )
    wanted = set(limit)
    return [h for h in hosts if h.name in wanted or wanted & set(h.groups)]
