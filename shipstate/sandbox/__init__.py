"""A fleet of real servers on this machine: each host in its own mount/PID/UTS namespaces,
with its own sshd, nginx and supervisord listening on its own loopback address."""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from shipstate import server_files
from shipstate.config import default_root
from shipstate.errors import ShipstateError
from shipstate.layout import Layout
from shipstate.local_files import write_whole

BASE = Path(os.environ.get("SHIPSTATE_SANDBOX_DIR", "/opt/shipstate-sandbox"))
FIRST_OCTET = 10
MAX_HOSTS = 50
NEEDS = {
    "unshare": "util-linux",
    "/usr/sbin/sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "/usr/sbin/nginx": "nginx",
    "supervisord": "supervisor",
    "sudo": "sudo",
}
INVENTORY_FILE = Path("inventories/sandbox.py")
FIRST_APP_PORT = 80
FIRST_OTHER_APP_PORT = 8001
MAX_APPS = 100
DEPLOY_USER = "deploy"


@dataclass(frozen=True)
class SandboxHost:
    name: str
    address: str
    pid: int

    @property
    def dir(self) -> Path:
        return BASE / self.name


def address(index: int) -> str:
    return f"127.0.0.{FIRST_OCTET + index}"


def key_path() -> Path:
    return BASE / "id_ed25519"


def known_hosts_path() -> Path:
    return BASE / "known_hosts"


def _state_file() -> Path:
    return BASE / "state.json"


def _alive(pid: int) -> bool:
    """Running, and not a zombie left for a parent that does not reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def hosts() -> list[SandboxHost]:
    try:
        data = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return []
    return [SandboxHost(**h) for h in data.get("hosts", [])]


def alive_hosts() -> list[SandboxHost]:
    return [h for h in hosts() if _alive(h.pid)]


PYENV_VERSIONS = Path("/root/.pyenv/versions")


def host_pythons() -> dict[str, Path]:
    """The machine's other Pythons (pyenv's) each host has as its own python3.X (as a server's
    own would be: `python = "python3.12"`), by that name, where the machine has no such
    command; and its python3 as `python3`."""
    found = {"python3": Path("/usr/bin/python3").resolve()}
    for python in sorted(PYENV_VERSIONS.glob("3.*/bin/python3.*")):
        if (
            re.fullmatch(r"python3\.\d{1,2}", python.name)
            and not (Path("/usr/bin") / python.name).exists()
        ):
            found[python.name] = python
    return found


def _preflight() -> None:
    if os.uname().sysname != "Linux" or os.geteuid() != 0:
        raise ShipstateError(
            "the sandbox needs Linux and root (it creates namespaces and mounts)",
            hint="run it as root on a Linux machine or VM",
        )
    missing = sorted({pkg for cmd, pkg in NEEDS.items() if not shutil.which(cmd)})
    if missing:
        raise ShipstateError(
            f"the sandbox needs packages that are not installed: {', '.join(missing)}",
            hint=f"apt-get install {' '.join(missing)} (see README)",
        )


def _port_taken(addr: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((addr, port))
        except OSError:
            return True
    return False


def _wait_ready(host_dir: Path, addr: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if (
            (host_dir / "ready").exists()
            and not _port_free_to_connect(addr, 22)
            and not _port_free_to_connect(addr, 80)
        ):
            return
        time.sleep(0.05)
    log = (
        (host_dir / "log").read_text(errors="replace")[-2000:]
        if (host_dir / "log").exists()
        else ""
    )
    raise ShipstateError(
        f"sandbox host at {addr} did not come up:\n{log}",
        hint="see the log above; `shipstate sandbox down` cleans up",
    )


def _port_free_to_connect(addr: str, port: int) -> bool:
    try:
        socket.create_connection((addr, port), timeout=0.5).close()
    except OSError:
        return True
    return False


def running(count: int, bare: bool = False, debian: str | None = None) -> list[SandboxHost]:
    """The sandbox's hosts if it is up as asked, [] if it is down; an error if it is up with
    other hosts."""
    alive = alive_hosts()
    if not alive:
        return []
    state = _state()
    up_debian = state.get("debian")
    if (state["bare"], len(alive), up_debian) != (bare, count, debian):
        kind = (" bare" if state["bare"] else "") + (f" Debian {up_debian}" if up_debian else "")
        options = (" --bare" if state["bare"] else "") + (
            f" --debian {up_debian}" if up_debian else ""
        )
        raise ShipstateError(
            f"the sandbox is already up: {len(alive)}{kind} host(s), for {apps_text()}",
            hint=f"use it as it is (--hosts {len(alive)}{options}), or `shipstate sandbox down` "
            "first",
        )
    return alive


# the Debian releases hosts may run instead of this machine's own system, by number
DEBIAN_RELEASES = {"12": "bookworm", "13": "trixie"}
ROOTS = Path(os.environ.get("SHIPSTATE_SANDBOX_ROOTS", "/opt/shipstate-sandbox-roots"))
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# what a host runs (sshd, nginx, supervisord) and what bootstrap installs, as this machine has
ROOT_PACKAGES = (
    "openssh-server", "nginx", "supervisor", "sudo", "python3", "python3-venv", "tar", "procps",
    "ca-certificates",
)  # fmt: skip


def debian_release(asked: str) -> str:
    """The release number `--debian` names, by number or by name (13, trixie)."""
    names = {name: number for number, name in DEBIAN_RELEASES.items()}
    if asked in DEBIAN_RELEASES or asked in names:
        return names.get(asked, asked)
    raise ShipstateError(
        f"--debian {asked}: not a Debian release the sandbox has",
        hint="one of "
        + ", ".join(f"{number} ({name})" for number, name in DEBIAN_RELEASES.items()),
    )


def python_lacking_note(root: Path, release: str, python: str) -> str | None:
    """A note when the hosts of Debian `release` (its system in `root`) lack the `python`
    the app's sandbox environment names (init's python3.12 of this machine's pyenv)."""
    places = (
        [root / python.lstrip("/")]
        if "/" in python
        else [root / directory / python for directory in ("usr/bin", "usr/local/bin", "bin")]
    )
    if any(place.exists() or place.is_symlink() for place in places):
        return None
    system = (
        os.readlink(root / "usr/bin/python3") if (root / "usr/bin/python3").is_symlink() else ""
    )
    theirs = f" (their python3 is {system})" if system.startswith("python3.") else ""
    return (
        f'shipstate.toml gives the sandbox python = "{python}", which Debian {release}\'s hosts '
        f"lack{theirs}: set python there to one they have (remove [environments.sandbox]'s "
        "python to use python3), or apply fails to build the environment"
    )


def debian_root(release: str, report: Callable[[str], None]) -> Path:
    """The system of Debian `release` the hosts run, made once by debootstrap (kept in ROOTS),
    trusting what this machine trusts: the certificate authorities it added, its pip.conf."""
    suite = DEBIAN_RELEASES[release]
    root = ROOTS / suite
    if root.is_dir():
        return root
    if not shutil.which("debootstrap"):
        raise ShipstateError(
            f"--debian {release} needs debootstrap, which is not installed",
            hint="apt-get install debootstrap",
        )
    report(f"making the hosts' Debian {release} ({suite}) with debootstrap, once (~1 min)")
    partial = ROOTS / f".{suite}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    ROOTS.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(ROOT_PACKAGES)}",
            suite,
            str(partial),
            DEBIAN_MIRROR,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if made.returncode != 0:
        said = made.stdout.decode(errors="replace").splitlines()
        raise ShipstateError(
            f"debootstrap of Debian {release} failed; its last lines:\n" + "\n".join(said[-10:]),
            hint=f"check that {DEBIAN_MIRROR} answers, then run sandbox up again",
        )
    added = Path("/usr/local/share/ca-certificates")
    for certificate in added.rglob("*.crt") if added.is_dir() else ():
        shutil.copy2(certificate, partial / certificate.relative_to("/"))
    subprocess.run(["chroot", str(partial), "update-ca-certificates"], capture_output=True)
    if Path("/etc/pip.conf").is_file():
        shutil.copy2("/etc/pip.conf", partial / "etc/pip.conf")
    partial.rename(root)
    return root


def _state() -> dict:
    return json.loads(_state_file().read_text())


def apps_text() -> str:
    """The apps the sandbox serves, with the port of each but the first."""
    return ", ".join(
        f"app {app}" + ("" if port == FIRST_APP_PORT else f" (port {port})")
        for app, port in _state()["apps"].items()
    )


def http_port(app: str) -> int | None:
    """The port the app's site listens on in the sandbox; None if the sandbox does not serve it."""
    return _state()["apps"].get(app) if _state_file().exists() else None


# the trees each host has of its own (host.sh): an app root elsewhere, e.g. in /opt, would be
# this machine's, shared by every host
PRIVATE_TREES = ("/srv/", "/home/", "/var/")


def app_layout(app: str, root: str | None = None) -> Layout:
    """The app's root on the sandbox hosts: `root` (shipstate.toml's), else the default."""
    root = root or default_root(app)
    if not root.startswith(PRIVATE_TREES):
        raise ShipstateError(
            f"root {root} is in none of the trees a sandbox host has of its own (/srv, /home, "
            "/var): it would be this machine's, shared by every host",
            hint=f"give the sandbox a root of its own in shipstate.toml: [environments.sandbox] "
            f'root = "{default_root(app)}"',
        )
    return Layout(root=root, app=app)


def add_app(started: list[SandboxHost], layout: Layout) -> int:
    """Give a running sandbox another app: its root on each host (as bootstrap would) and an
    HTTP port of its own, since every app's site answers for any name (`server_name _`)."""
    state = _state()
    taken = set(state["apps"].values())
    port = next(
        (
            p
            for p in range(FIRST_OTHER_APP_PORT, FIRST_OTHER_APP_PORT + MAX_APPS)
            if p not in taken and not any(_port_taken(h.address, p) for h in started)
        ),
        None,
    )
    if port is None:
        raise ShipstateError(
            f"no port left for another app from {FIRST_OTHER_APP_PORT} on",
            hint="`shipstate sandbox down`, then `shipstate sandbox up` for this app",
        )
    set_up_app(started, layout)
    state["apps"][layout.app] = port
    _state_file().write_text(json.dumps(state))
    return port


def set_up_app(started: list[SandboxHost], layout: Layout) -> None:
    """The app's root and includes on each host (not bare), as bootstrap makes them; again for
    an app the sandbox serves, whose root may have changed since."""
    if _state()["bare"]:
        return
    for host in started:
        made = subprocess.run(
            ssh_command(host, "root", [_commands(_app_setup(layout))]),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if made.returncode:
            raise ShipstateError(
                f"{host.name}: cannot set up app {layout.app}: {made.stderr.strip()}",
                hint="`shipstate sandbox status`; `shipstate sandbox down` cleans up",
            )


def _written(path: str, content: str, mode: str = "644") -> list[str]:
    return ["sh", "-c", 'printf %s "$1" > "$2" && chmod "$3" "$2"', "sh", content, path, mode]


def _app_setup(layout: Layout) -> list[list[str]]:
    """The app's root and the includes of its site and programs, as bootstrap makes them."""
    owned = ["-o", DEPLOY_USER, "-g", DEPLOY_USER]
    return [
        ["install", "-d", "-m", "755", *owned, layout.root, layout.programs],
        ["install", "-d", "-m", "755", server_files.SUPERVISOR_APPS],
        ["ln", "-sfn", layout.programs, server_files.programs_link(layout.app)],
        _written(server_files.nginx_include_path(layout.app), server_files.nginx_include(layout)),
    ]


def _host_setup(layout: Layout) -> list[list[str]]:
    """What bootstrap writes on a server for the deploy user and the app."""
    return [
        _written(
            server_files.sudoers_path(DEPLOY_USER), server_files.sudo_rules(DEPLOY_USER), "440"
        ),
        _written(server_files.SUPERVISOR_CONF, server_files.supervisord_conf(DEPLOY_USER)),
        *_app_setup(layout),
    ]


def _commands(steps: list[list[str]]) -> str:
    return " && ".join(map(shlex.join, steps))


def up(
    count: int, layout: Layout, bare: bool = False, debian: tuple[str, Path] | None = None
) -> list[SandboxHost]:
    """Start `count` hosts: running this machine's system, or `debian`'s (its release and
    root, debian_root())."""
    _preflight()
    if not 1 <= count <= MAX_HOSTS:
        raise ShipstateError(f"--hosts must be from 1 to {MAX_HOSTS}", hint="e.g. --hosts 3")
    if running(count, bare, debian and debian[0]):
        raise ShipstateError("the sandbox is already up", hint="`shipstate sandbox status`")
    names = [(f"sandbox-{i}", address(i)) for i in range(1, count + 1)]
    taken = [f"{a}:{p}" for _, a in names for p in (22, 80) if _port_taken(a, p)]
    if taken:
        raise ShipstateError(
            f"address already in use: {', '.join(taken)}",
            hint="stop what listens there (a machine-wide sshd or nginx on "
            "0.0.0.0 takes every loopback address)",
        )
    _remove_state()
    BASE.mkdir(parents=True, mode=0o700)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "shipstate-sandbox",
            "-f",
            str(key_path()),
        ],
        check=True,
    )
    script = resources.files("shipstate.sandbox") / "host.sh"
    started = []
    try:
        for name, addr in names:
            host_dir = BASE / name
            host_dir.mkdir()
            env = {
                **os.environ,
                "SANDBOX_BASE": str(BASE),
                "SANDBOX_HOST_DIR": str(host_dir),
                "SANDBOX_NAME": name,
                "SANDBOX_ADDR": addr,
                "SANDBOX_SETUP": _commands(_host_setup(layout)),
                "SANDBOX_BARE": "1" if bare else "0",
                "SANDBOX_ROOT": str(debian[1]) if debian else "",
                "SANDBOX_PYTHONS": ""
                if debian
                else " ".join(
                    f"{name}={path}" for name, path in host_pythons().items() if name != "python3"
                ),
            }
            with open(host_dir / "log", "wb") as log:
                process = subprocess.Popen(
                    [
                        "unshare",
                        "--mount",
                        "--pid",
                        "--uts",
                        "--fork",
                        "--mount-proc",
                        "--propagation",
                        "private",
                        "bash",
                        str(script),
                    ],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd="/",
                )
            started.append(SandboxHost(name=name, address=addr, pid=process.pid))
            _write_state(started, layout.app, bare, debian and debian[0])
        deadline = time.monotonic() + 60
        for host in started:
            _wait_ready(host.dir, host.address, deadline)
    except BaseException:
        down()
        raise
    known = [
        f"{h.address} {' '.join((h.dir / 'hostkey.pub').read_text().split()[:2])}" for h in started
    ]
    known_hosts_path().write_text("\n".join(known) + "\n")
    return started


def _write_state(started: list[SandboxHost], app: str, bare: bool, debian: str | None) -> None:
    state = {
        "apps": {app: FIRST_APP_PORT},
        "bare": bare,
        "debian": debian,
        "hosts": [asdict(h) for h in started],
    }
    _state_file().write_text(json.dumps(state))


def namespace_init(pid: int) -> list[int]:
    """A host's PID namespace's init (host.sh), the child of its `unshare` process `pid`."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def down() -> int:
    """Stop every sandbox host (killing a PID namespace's init ends all its processes)."""
    stopped = 0
    for host in hosts():
        for pid in [*namespace_init(host.pid), host.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
                stopped += pid != host.pid
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while _alive(host.pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(host.pid, os.WNOHANG)
            time.sleep(0.05)
    _remove_state()
    return stopped


def _remove_state() -> None:
    """Remove the hosts' files; a tree still changing as its processes die is tried again."""
    for attempt in range(3):
        try:
            if BASE.exists():
                shutil.rmtree(BASE)
            return
        except OSError as exc:
            if attempt == 2:
                raise ShipstateError(
                    f"cannot remove {BASE}: {exc.strerror}: {exc.filename}",
                    hint="run `shipstate sandbox down` again",
                ) from None
            time.sleep(0.5)


def status() -> list[dict]:
    return [
        {
            "name": h.name,
            "address": h.address,
            "running": _alive(h.pid),
            "ssh": not _port_free_to_connect(h.address, 22),
            "http": not _port_free_to_connect(h.address, 80),
        }
        for h in hosts()
    ]


def find(name: str) -> SandboxHost:
    for host in hosts():
        if name in (host.name, host.address):
            return host
    raise ShipstateError(f"no sandbox host {name!r}", hint="`shipstate sandbox status` lists them")


def ssh_command(host: SandboxHost, user: str, command: list[str]) -> list[str]:
    return [
        "ssh",
        "-i",
        str(key_path()),
        "-o",
        f"UserKnownHostsFile={known_hosts_path()}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        f"{user}@{host.address}",
        *command,
    ]


def inventory_text(started: list[SandboxHost], port: int) -> str:
    port_data = "" if port == FIRST_APP_PORT else f', "http_port": {port}'
    lines = [
        '"""pyinfra inventory of the shipstate sandbox (written by `shipstate sandbox up`)."""',
        "",
        "_ssh = {",
        '    "ssh_user": "deploy",',
        f'    "ssh_key": "{key_path()}",',
        f'    "ssh_known_hosts_file": "{known_hosts_path()}",',
        '    "ssh_allow_agent": False,',
        '    "ssh_look_for_keys": False,',
        "}",
        "",
        "web = [",
        *(
            f'    ("{h.name}", {{**_ssh, "ssh_hostname": "{h.address}", '
            f'"listen_addr": "{h.address}"{port_data}}}),'
            for h in started
        ),
        "]",
        "",
    ]
    return "\n".join(lines)


def write_inventory(app_dir: Path, started: list[SandboxHost], port: int) -> Path:
    path = app_dir / INVENTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, inventory_text(started, port))
    return path
