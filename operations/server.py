"""Server setup operations for `shipstate bootstrap` (run as root, or through sudo)."""

import hashlib
import io
from collections.abc import Sequence

from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, StringCommand, operation
from pyinfra.facts.files import Sha256File

from shipstate.commands import argv, chain

SYSTEMD = argv("test", "-d", "/run/systemd/system")
APT_LOCK_SECONDS = 300
DPKG_UPDATES = "/var/lib/dpkg/updates"  # not empty: dpkg was interrupted (by Ctrl-C, say)


class Running(FactBase):
    """Whether a process of this exact name runs."""

    def command(self, process: str) -> str:
        return f"pgrep -x {process} >/dev/null && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return output == ["yes"]


def _either(condition: StringCommand, then: StringCommand, otherwise: StringCommand):
    return StringCommand("if", condition, ";", "then", then, ";", "else", otherwise, ";", "fi")


class PathPresent(FactBase):
    """Whether a file, directory or link (even a dangling one) is at the path."""

    def command(self, path: str) -> StringCommand:
        present = StringCommand(argv("test", "-e", path), "||", argv("test", "-L", path))
        return _either(present, argv("echo", "yes"), argv("echo", "no"))

    def process(self, output: list[str]) -> bool:
        return output == ["yes"]


class DebPackagesInstalled(FactBase):
    """The Debian packages installed, and those they provide (awk: mawk provides it)."""

    def command(self) -> str:
        return "dpkg-query -W -f '${Status}\\t${Package}\\t${Provides}\\n'"

    def process(self, output: list[str]) -> set[str]:
        names = set()
        for line in output:
            status, _, package_provides = line.partition("\t")
            if status.endswith(" installed"):
                package, _, provides = package_provides.partition("\t")
                names |= {
                    package,
                    *(name.split()[0] for name in provides.split(",") if name.strip()),
                }
        return names


@operation()
def packages_installed(packages: Sequence[str]):
    """The Debian packages are installed (apt-get runs only when one is missing)."""
    installed = host.get_fact(DebPackagesInstalled)
    missing = [name for name in packages if name not in installed]
    if not missing:
        host.noop(f"{', '.join(packages)} installed")
        return
    # needrestart's apt hook (Ubuntu 22.04+) would ask which services to restart: not run
    noninteractive = (
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "NEEDRESTART_SUSPEND=1",
        "NEEDRESTART_MODE=l",
    )
    # waits for another apt's lock, as unattended-upgrades' on a new server's first boot
    apt = (*noninteractive, "apt-get", "-q", "-y", "-o", f"DPkg::Lock::Timeout={APT_LOCK_SECONDS}")
    interrupted = StringCommand(argv("ls", "-A", DPKG_UPDATES), "|", argv("grep", "-q", "."))
    yield chain(
        _either(interrupted, argv(*noninteractive, "dpkg", "--configure", "-a"), argv("true")),
        argv(*apt, "update"),
        argv(*apt, "install", "--no-install-recommends", *missing),
    )


@operation()
def file_contents(
    path: str,
    content: str,
    mode: str = "644",
    check: Sequence[str] = (),
    then: StringCommand | None = None,
):
    """The file holds `content`, replaced atomically; `check` (given the new file's temp
    path last) must accept it first; `then` runs after a change."""
    if host.get_fact(Sha256File, path=path) == hashlib.sha256(content.encode()).hexdigest():
        host.noop(f"{path} up to date")
        return
    directory, name = path.rsplit("/", 1)
    temp = f"{directory}/.{name}.shipstate-tmp"
    yield FileUploadCommand(io.BytesIO(content.encode()), temp)
    checked = argv(*check, temp) if check else argv("true")
    yield StringCommand(
        chain(
            checked,
            argv("chmod", mode, temp),
            argv("chown", "root:root", temp),
            argv("mv", "-f", temp, path),
        ),
        "||",
        "{",
        argv("rm", "-f", temp),
        ";",
        "exit",
        "1;",
        "}",
    )
    if then is not None:
        yield then


@operation()
def path_absent(path: str, then: StringCommand | None = None):
    """Nothing is at the path (a directory is removed with what it holds); `then` runs after
    a removal."""
    if not host.get_fact(PathPresent, path=path):
        host.noop(f"no {path}")
        return
    yield argv("rm", "-rf", path)
    if then is not None:
        yield then


@operation()
def supervisor_running(config: str):
    """supervisord runs (its own service under systemd)."""
    if host.get_fact(Running, process="supervisord"):
        host.noop("supervisord runs")
        return
    yield _either(
        SYSTEMD,
        chain(
            argv("systemctl", "enable", "supervisor"), argv("systemctl", "restart", "supervisor")
        ),
        argv("supervisord", "-c", config),
    )


@operation()
def nginx_running():
    """nginx runs, with its config checked."""
    if host.get_fact(Running, process="nginx"):
        host.noop("nginx runs")
        return
    yield chain(
        argv("nginx", "-t", "-q"),
        _either(SYSTEMD, argv("systemctl", "enable", "--now", "nginx"), argv("nginx")),
    )


def if_running(process: str, command: StringCommand) -> StringCommand:
    return StringCommand(
        "if", argv("pgrep", "-x", process), ">/dev/null;", "then", command, ";", "fi"
    )
