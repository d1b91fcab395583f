"""Fixtures for end-to-end tests: a real sandbox fleet and a git copy of examples/hello."""

import os
import pty
import select
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "hello"
FLEET_SIZE = 3


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli_env(extra: dict | None = None) -> dict:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(extra or {})}


def shipstate(
    *args: str, cwd: Path | None = None, timeout: int = 600, env: dict | None = None
) -> Result:
    """Run the real CLI in a subprocess, as a user would."""
    done = subprocess.run(
        [sys.executable, "-m", "shipstate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=cli_env(env),
    )
    return Result(done.returncode, done.stdout, done.stderr)


def start(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start the CLI in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "shipstate", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=cli_env(env),
    )


def in_terminal(
    *args: str,
    cwd: Path,
    dialogue: tuple[tuple[bytes, bytes], ...] = (),
    timeout: float = 600,
    env: dict | None = None,
) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its stdin, stdout and stderr, as a user at a
    terminal would: for each (prompt, answer), once it shows the prompt, type the answer.
    Its exit code and everything it showed."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "shipstate", *args],
        cwd=cwd,
        stdin=child,
        stdout=child,
        stderr=child,
        env=cli_env(env),
    )
    os.close(child)
    shown, answered, waiting = b"", 0, list(dialogue)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if waiting and waiting[0][0] in shown[answered:]:
                os.write(main, waiting.pop(0)[1])
                answered = len(shown)
            if not select.select([main], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            shown += data
        return process.wait(timeout=60), shown.decode(errors="replace")
    finally:
        process.kill()
        os.close(main)


def finish(process: subprocess.Popen, timeout: int = 600) -> Result:
    stdout, stderr = process.communicate(timeout=timeout)
    return Result(process.returncode, stdout, stderr)


def ok(*args: str, cwd: Path | None = None) -> Result:
    result = shipstate(*args, cwd=cwd)
    assert result.code == 0, f"shipstate {' '.join(args)} failed:\n{result.output}"
    return result


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout


def http_get(url: str, host: str | None = None) -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)


def host_addresses() -> list[str]:
    from shipstate import sandbox

    return [h.address for h in sandbox.hosts()]


def sandbox_ssh(address: str, user: str, command: str) -> list[str]:
    """ssh's command line running `command` on the sandbox host at `address`."""
    from shipstate import sandbox

    host = next(h for h in sandbox.hosts() if h.address == address)
    return sandbox.ssh_command(host, user, [command])


def on_host(address: str, command: str, user: str = "root") -> subprocess.CompletedProcess:
    return subprocess.run(
        sandbox_ssh(address, user, command), capture_output=True, text=True, timeout=60
    )


# a host losing power, then booting: every process killed (no clean stop), /run and /tmp
# emptied, then sshd, nginx and supervisord started as at boot, with the configs they have
POWER_CYCLE = """\
kill -9 -1; sleep 0.5
umount /run && mount -t tmpfs -o mode=755 sandbox-run /run
find /tmp -mindepth 1 -delete
mkdir -p /run/sshd /var/run/supervisor && /usr/sbin/sshd && nginx
supervisord -c /etc/supervisor/supervisord.conf
"""


def power_cycle(address: str) -> None:
    """Restart a sandbox host the hard way (through its namespaces, as root on this machine)."""
    from shipstate import sandbox

    host = next(h for h in sandbox.hosts() if h.address == address)
    init = sandbox.namespace_init(host.pid)[0]
    done = subprocess.run(
        ["nsenter", "-t", str(init), "-a", "sh", "-ec", POWER_CYCLE], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


LEAST_PRIVILEGE = [
    "deploy",
    "no-etc",
    "no-nginx-conf",
    "no-supervisor-conf",
    "no-sudo-shell",
    "nginx-test-ok",
    "srv-app-ok",
    "no-srv",
]


def deploy_user_privileges(address: str) -> list[str]:
    """What the deploy user may do on a host: LEAST_PRIVILEGE when exactly what it needs."""
    return on_host(
        address,
        "id -un; touch /etc/x 2>/dev/null || echo no-etc; "
        "touch /etc/nginx/conf.d/x 2>/dev/null || echo no-nginx-conf; "
        "touch /etc/supervisor/conf.d/x 2>/dev/null || echo no-supervisor-conf; "
        "sudo -n true 2>/dev/null || echo no-sudo-shell; "
        "sudo -n /usr/sbin/nginx -t 2>/dev/null && echo nginx-test-ok; "
        "touch /srv/hello/x && rm /srv/hello/x && echo srv-app-ok; "
        "touch /srv/x 2>/dev/null || echo no-srv",
        user="deploy",
    ).stdout.split()


def make_app(path: Path) -> Path:
    """A git repository holding a copy of examples/hello."""
    shutil.copytree(
        EXAMPLE, path, ignore=shutil.ignore_patterns("inventories", "__pycache__", "var")
    )
    return commit_all(path, "v1")


def commit_all(path: Path, message: str) -> Path:
    """Make `path` a git repository of its files, in one commit."""
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "tests@shipstate.invalid")
    git(path, "config", "user.name", "shipstate tests")
    commit(path, message)
    return path


def commit(app: Path, message: str) -> None:
    git(app, "add", "-A")
    git(app, "commit", "-q", "--allow-empty", "-m", message)


def set_version(app: Path, version: str) -> None:
    (app / "hello" / "version.py").write_text(f'VERSION = "{version}"\n')
    commit(app, f"version {version}")


@pytest.fixture(scope="session")
def fleet(tmp_path_factory) -> Path:
    """Sandbox hosts for the whole session; yields the directory holding the inventory."""
    home = tmp_path_factory.mktemp("fleet")
    shipstate("sandbox", "down")
    ok("sandbox", "up", "--hosts", str(FLEET_SIZE), "--app", "hello", cwd=home)
    yield home / "inventories" / "sandbox.py"
    shipstate("sandbox", "down")


def reset_app_on_hosts() -> None:
    """Remove every trace of the hello app from the sandbox hosts (as root), in parallel.
    uv and its cache stay: they belong to the server, not to a release."""
    reset = (
        "rm -f /srv/hello/supervisor/*.conf; supervisorctl update >/dev/null; "
        "find /srv/hello -mindepth 1 -maxdepth 1 ! -name supervisor ! -name .tools "
        "! -name .cache -exec rm -rf {} +; nginx -s reload"
    )
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda address: on_host(address, reset), host_addresses()))


@pytest.fixture
def app(tmp_path, fleet) -> Path:
    """A fresh app repo, with the fleet's inventory, and hosts holding no release."""
    reset_app_on_hosts()
    path = make_app(tmp_path / "app")
    (path / "inventories").mkdir()
    shutil.copy(fleet, path / "inventories" / "sandbox.py")
    return path
