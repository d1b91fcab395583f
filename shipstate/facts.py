"""pyinfra facts: read a host's whole shipstate state in one round trip."""

import json
import shlex

from pyinfra.api import FactBase, StringCommand

from shipstate.commands import LISTENING, PURGING, SUPERVISOR_CLIENT, python_script
from shipstate.observed import ObservedHost, parse_host_state
from shipstate.templates import RELEASE_TEMPLATES

# Tagged lines, one round trip, one process (a shell loop forked ~2 processes per release):
# `python <version>`, `root 0|1`, then in the app root: `lock <seconds since heartbeat>
# <info.json>` when a deploy lock is held, `current`, `nginx` (the site config nginx loaded),
# `site <base64>` (the site config in place), `processes <release> <base64>` (the processes'
# config in place and the release they were started from), `down <program> <state>` for each of
# them supervisord does not run (DOWN; ABSENT: not loaded), `release <n> <manifest>`,
# `state <n> <state>` (what the release is now, when it changed since its upload),
# `config <n> <file> <base64>`, `building`, `env`, `secret`, `program` and `running <n>` for
# each release whose app server accepts connections on its socket (cheaper than asking
# supervisord). First, `missing <package>` for each of the packages (comma-separated) dpkg has
# not installed, on a host with dpkg. Arguments: the app root, the packages, then the names of
# the configs each release keeps.
# states of a process supervisord will not change by itself (EXITED: autorestart restarts it)
DOWN = ("STOPPED", "FATAL", "UNKNOWN", "ABSENT")
# Only modules built into Python are imported: glob, base64, hashlib and socket took ~17 ms.
OBSERVE = (
    """\
import _socket, binascii, os, sys, time
out = sys.stdout.buffer
def say(tag, *values):
    words = [v if isinstance(v, bytes) else str(v).encode() for v in (tag, *values)]
    out.write(b" ".join(words) + b"\\n")
def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None
def mtime(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None
def names(want, directory, prefixes=("",), suffix=""):
    \"\"\"Paths in `directory` whose name starts with a prefix and ends with `suffix`, as glob
    matches them: a name starting with a dot only by a prefix that does.\"\"\"
    try:
        found = os.listdir(directory)
    except OSError:
        return []
    return sorted(
        directory + "/" + name
        for name in found
        for prefix in prefixes
        if name.startswith(prefix) and name.endswith(suffix)
        and (prefix.startswith(".") or not name.startswith("."))
        and want(directory + "/" + name)
    )
"""
    + LISTENING
    + f"SUPERVISOR_CLIENT = {SUPERVISOR_CLIENT!r}\n"
    + f"DOWN = {DOWN!r}\n"
    + f"PURGING = {PURGING!r}\n"
    + """\
def encoded(data):
    return binascii.b2a_base64(data, newline=False)
def places(data, marker):
    at = data.find(marker)
    while at >= 0:
        yield at
        at = data.find(marker, at + 1)
def installed_at(status, start):
    \"\"\"The stanza of dpkg's status file starting at `start` is of an installed package.\"\"\"
    end = status.find(b"\\n\\n", start + 1)
    lines = status[start : end if end >= 0 else len(status)].split(b"\\n")
    return any(line.startswith(b"Status: ") and line.endswith(b" installed") for line in lines)
def installed(status, package):
    \"\"\"dpkg's status file has the package, or one providing it, installed (for one
    architecture or another).\"\"\"
    if any(installed_at(status, at) for at in places(status, b"\\nPackage: " + package + b"\\n")):
        return True
    for at in places(status, b"\\nProvides: "):
        provided = status[at + 11 : status.find(b"\\n", at + 1)].split(b",")
        if package in [name.split()[0].split(b":")[0] for name in provided if name.strip()]:
            if installed_at(status, status.rfind(b"\\n\\n", 0, at) + 1):
                return True
    return False
root, packages, configs = sys.argv[1], sys.argv[2], sys.argv[3:]
say("python", "Python " + sys.version.split()[0])
status = read("/var/lib/dpkg/status") if packages else None
for package in packages.split(",") if status is not None else ():
    if not installed(b"\\n" + status, package.encode()):
        say("missing", package)
try:
    os.chdir(root)
except OSError:
    say("root", 0)
    sys.exit(0)
say("root", 1)
if os.path.isdir(".lock"):
    beat = mtime(".lock/heartbeat") or mtime(".lock") or time.time()
    say("lock", int(time.time()) - int(beat), (read(".lock/info.json") or b"").replace(b"\\n", b""))
say("current", os.readlink("current") if os.path.islink("current") else "")
say("nginx", (read(".nginx-loaded") or b"").strip())
processes = read("supervisor/processes.conf")
if processes is not None:
    say("processes", (read(".processes-release") or b"-").strip(), encoded(processes))
    try:
        client = {}
        exec(SUPERVISOR_CLIENT, client)
        live = {info["group"]: info["statename"] for info in client["rpc"].getAllProcessInfo()}
    except BaseException:  # supervisord unreachable: not known to be down
        live = None
    for line in processes.decode(errors="replace").splitlines():
        program = line.strip()[9:-1] if line.startswith("[program:") else None
        state = live.get(program, "ABSENT") if program and live is not None else None
        if state in DOWN:
            say("down", program, state)
site = read("nginx/site.conf")
if site is not None:
    say("site", encoded(site))
releases = names(os.path.isdir, "releases")
for path in releases:
    n = path.split("/")[1]
    say("release", n, (read(path + "/.shipstate/manifest.json") or b"").replace(b"\\n", b""))
    state = read(path + "/.shipstate/state")
    if state is not None:
        say("state", n, state.strip())
    for name in configs:
        config = read(path + "/.shipstate/" + name)
        if config is not None:
            say("config", n, name, encoded(config))
for path in names(os.path.lexists, "releases", (".building-", PURGING)):
    say("building", path.split("/")[1])
for path in names(os.path.isdir, "envs", ("", ".building-", PURGING)):
    say("env", path.split("/")[1])
for path in names(os.path.isfile, "shared/.secrets", ("", ".tmp-")):
    say("secret", path.split("/")[-1])
for path in names(os.path.isfile, "supervisor", suffix=".conf"):
    say("program", path.split("/")[1])
for path in releases:
    if listening(path + "/.shipstate/gunicorn.sock"):
        say("running", path.split("/")[1])
"""
)


def observe_command(python: str, root: str, packages: tuple[str, ...]) -> StringCommand:
    """The host's state as tagged lines (OBSERVE); `unobserved <status>` if `python` cannot
    run it."""
    return StringCommand(
        python_script(python, OBSERVE, root, ",".join(packages), *RELEASE_TEMPLATES),
        "||",
        "printf",
        "'unobserved %s\\n'",
        '"$?"',
    )


class HostState(FactBase):
    """Releases with their manifests and configs, `current`, leftovers, app server programs."""

    def command(self, root: str, app: str, python: str, packages: tuple[str, ...]) -> StringCommand:
        return observe_command(python, root, packages)

    def process(self, output: list[str]) -> list[str]:
        return output

    @staticmethod
    def observe(host_name: str, lines: list[str] | None, app: str) -> ObservedHost:
        return parse_host_state(host_name, lines or [], app)


class HostHistory(FactBase):
    """The last entries of the host's journal (one JSON object per line)."""

    def command(self, journal: str, entries: int) -> str:
        return f"tail -n {int(entries)} {shlex.quote(journal)} 2>/dev/null; true"

    def process(self, output: list[str]) -> list[str]:
        return output

    @staticmethod
    def entries(lines: list[str] | None) -> list[dict]:
        found = []
        for line in lines or []:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found
