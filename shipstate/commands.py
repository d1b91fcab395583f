"""Remote commands as data: every user value is quoted, pieces are joined by shell operators."""

import re
import shlex

from pyinfra.api import QuoteString, StringCommand

from shipstate.config import Config
from shipstate.layout import NGINX_CONFIG, PROCESSES_CONFIG, Layout

NOTE = "shipstate: "  # starts a line a command writes to stderr for the operator


def argv(*args: object) -> StringCommand:
    return StringCommand(*(QuoteString(str(a)) for a in args))


PATH = "/usr/local/bin:/usr/bin:/bin"


def command_path(command: str) -> StringCommand:
    """Where the host finds `command`, as one shell word: uv takes `--python python3` for any
    Python 3, and may pick a python3.13 that comes first on PATH, not the host's python3."""
    return StringCommand(f'"$(command -v {shlex.quote(command)})"')


class Chain(StringCommand):
    """Commands joined by one operator (`&&`, `||`)."""

    def __init__(self, operator: str, *bits: object):
        super().__init__(*bits)
        self.operator = operator


def chain(*commands: StringCommand, operator: str = "&&") -> Chain:
    """The commands joined by `operator`; a chain of another operator among them is grouped
    (`a && { b || c; }`: the shell reads `a && b || c` as `{ a && b; } || c`)."""
    bits: list[object] = []
    for command in commands:
        if bits:
            bits.append(operator)
        if isinstance(command, Chain) and command.operator != operator:
            command = StringCommand("{", command, ";", "}")
        bits.append(command)
    return Chain(operator, *bits)


def copied(source: str, target: str) -> StringCommand:
    """`target` replaced by a copy of `source` (a skipped hook's output, from the live release)."""
    parent = target.rsplit("/", 1)[0]
    return StringCommand(
        missing_fails(source, "the live release has no such output to copy"),
        "&&",
        chain(
            argv("rm", "-rf", target), argv("mkdir", "-p", parent), argv("cp", "-a", source, target)
        ),
    )


PURGING = ".purging-"


def _purging(path: str) -> str:
    parent, name = path.rsplit("/", 1)
    return f"{parent}/{PURGING}{name}"


def removed(*paths: str) -> StringCommand:
    """Each path renamed out of the way (one step) before it is deleted: a delete cut short
    leaves a `.purging-` leftover, never part of a release or environment under its name."""
    gone = [_purging(path) for path in paths]
    moves = (argv("mv", "-T", path, to) for path, to in zip(paths, gone, strict=True))
    return chain(*moves, argv("rm", "-rf", *gone))


def missing_fails(path: str, why: str) -> StringCommand:
    """Succeeds if `path` exists, else says so on stderr and fails."""
    return StringCommand(
        "{",
        argv("test", "-e", path),
        "||",
        "{",
        argv("echo", f"{path}: {why}"),
        ">&2",
        ";",
        "false",
        ";",
        "}",
        ";",
        "}",
    )


def sudo(*args: object) -> StringCommand:
    """`sudo -n` of a literal command, which command-restricted sudoers rules accept."""
    return argv("sudo", "-n", *args)


# HTTP/1.0 over a unix socket or to address:port (TLS if `tls_host`), in a few lines: Python's
# http.client alone takes ~40 ms to import, and these scripts run several times per deploy.
# The scripts run on hosts import only modules built into Python (socket and re take ~8 ms each).
HTTP_CLIENT = """\
import _socket, sys, time
def connected(target):
    \"\"\"A socket connected to a unix socket's path or to address:port.\"\"\"
    if target.startswith("/"):
        places = [(_socket.AF_UNIX, target)]
    else:
        address, _, port = target.rpartition(":")
        found = _socket.getaddrinfo(address.strip("[]"), int(port), 0, _socket.SOCK_STREAM)
        places = [(family, place) for family, _, _, _, place in found]
    for family, place in places:
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        sock.settimeout(10)
        try:
            sock.connect(place)
            return sock
        except OSError as error:
            sock.close()
            failure = error
    raise failure
def http(target, request, tls_host=None, limit=1 << 24):
    \"\"\"Send `request`; returns the answer's status, headers (lowercase) and body (its first
    `limit` bytes). An answer that is not HTTP is an OSError.\"\"\"
    sock = connected(target)
    try:
        if tls_host is not None:  # the site as served, whatever its certificate
            import socket, ssl
            sock = socket.socket(fileno=sock.detach())
            sock.settimeout(10)
            sock = ssl._create_unverified_context().wrap_socket(sock, server_hostname=tls_host)
        sock.sendall(request)
        data, status, headers = b"", None, {}
        while True:
            head, found, body = data.partition(b"\\r\\n\\r\\n")
            if found and status is None:
                lines = head.decode("latin-1").split("\\r\\n")
                words = lines[0].split(" ", 2)
                if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
                    raise OSError("not an HTTP answer: %r" % data[:80])
                status = int(words[1])
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = headers.get("content-length", "")
                limit = min(limit, int(length)) if length.isdigit() else limit
            if found and len(body) >= limit:
                break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    if status is None:
        raise OSError("no HTTP answer: %r" % data[:80])
    return status, headers, body[:limit]
"""

# exit status of a health check whose last answer was a server error (HTTP 5xx)
SERVER_ERROR = 3
HEALTH_CHECK = (
    f"SERVER_ERROR, server_error = {SERVER_ERROR}, False\n"
    + """\
def text_of(body):
    \"\"\"An answer's body as one line of words (an HTML page's, without its head and tags).\"\"\"
    import re
    text = body.decode("utf-8", "replace")
    text = re.sub(r"(?is)<(head|script|style)\\b.*?</\\1>|<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:300] + "..."
target, host, page, limit, scheme = sys.argv[1:4] + [float(sys.argv[4]), sys.argv[5]]
request = "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n" % (page, host)
request += "X-Forwarded-Proto: %s\\r\\n\\r\\n" % scheme
tls_host = host if scheme == "https" and not target.startswith("/") else None
deadline, last, ask_at = time.monotonic() + limit, "no answer", 0
while time.monotonic() < deadline:
    try:
        status, headers, body = http(target, request.encode(), tls_host, 300)
        if status == 200:
            sys.exit(0)
        server_error = status >= 500
        said = text_of(body)
        last = "HTTP %d: %s" % (status, said)
        if status == 400:
            last = "HTTP 400, Django's answer to a Host that ALLOWED_HOSTS lacks: allow %s " \\
                "there, or set server_name in shipstate.toml to a name it allows: %s" % (host, said)
        moved = headers.get("location")
        if moved:
            last = "HTTP %d to %s" % (status, moved)
        if moved and moved.startswith("https:"):
            last += ": the app wants HTTPS (Django: SECURE_SSL_REDIRECT); set [tls]"
        if status < 500 and answers_are_final:
            break
        deadline = min(deadline, time.monotonic() + 5)  # it answers, but not healthy
    except OSError as exc:
        last, server_error = str(exc), False
        if time.monotonic() >= ask_at:  # a few times a second, not at every try
            ended, ask_at = gave_up(), time.monotonic() + 0.25
            if ended:
                sys.exit("health check of %s (Host: %s) failed: %s" % (page, host, ended))
    time.sleep(0.02)
sys.stderr.write("health check of %s (Host: %s) failed: %s\\n" % (page, host, last))
sys.exit(SERVER_ERROR if server_error else 1)
"""
)


# The health check's request made again in a new process of the app, to show what a server
# error was (Django logs none with DEBUG off); run in the release by `in_release`.
DJANGO_REQUEST = """\
import importlib, sys, traceback
module, page, host, scheme = sys.argv[1:5]
said = "the same request in a new process of the app"
try:
    importlib.import_module(module)
    if "django" not in sys.modules:
        sys.exit(0)
    from django.test import Client
    answer = Client(raise_request_exception=True).get(
        page, HTTP_HOST=host, HTTP_X_FORWARDED_PROTO=scheme
    )
except Exception:
    print(traceback.format_exc(limit=-4).partition("\\n")[2], end="")  # its last frames
    print("(what %s raised)" % said)
else:
    print("%s answered HTTP %d" % (said, answer.status_code))
"""


# pip run from the wheel ensurepip installs it from, as ensurepip itself runs it: a venv for a
# tool needs no pip of its own (a venv with pip took ~3 s more here: it installs pip, compiled)
PIP_FROM_ITS_WHEEL = """\
import glob, os, runpy, sys
import ensurepip
bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
distributions = str(getattr(ensurepip, "_WHEEL_PKG_DIR", None) or "")  # Debian's python-wheels
places = [place for place in (bundled, distributions) if place]
def version(wheel):
    number = os.path.basename(wheel).split("-")[1]
    return [int(part) for part in number.split(".") if part.isdigit()]
found = [sorted(glob.glob(os.path.join(p, "pip-*.whl")), key=version) for p in places]
wheel = next((wheels[-1] for wheels in found if wheels), None)
if wheel is None:
    sys.exit("no wheel of pip for ensurepip in " + " or ".join(places))
sys.path.insert(0, wheel)
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def pip_from_its_wheel(python: str, *args: str) -> StringCommand:
    """`python -m pip ARGS` for a `python` (a venv's) without pip."""
    return argv(python, "-c", PIP_FROM_ITS_WHEEL, *args)


def python_script(python: str, script: str, *args: object) -> StringCommand:
    """A stdlib-only script, run without `site` (it starts in a few ms)."""
    return argv(python, "-S", "-c", script, *args)


# Runs a command with the KEY=VALUE lines of a file added to its environment (variables already
# set win; `#` comments, `export ` and quotes around a value are understood); the values are
# never on a command line. One line without ` ;` or ` #`: it starts supervisor's program command.
ENV_FILE = (
    "import os,sys;"
    "[os.environ.setdefault(k.strip().removeprefix('export ').strip(),v.strip().strip('\"\\''))"
    " for k,s,v in (line.partition('=') for line in open(sys.argv[1]))"
    " if s and k.strip() and not k.lstrip().startswith('#')];"
    "os.execvp(sys.argv[2],sys.argv[2:])"
)


def with_env_file(python: str, path: str) -> tuple[str, ...]:
    """The start of a command line that runs the rest with `path`'s variables."""
    return (python, "-S", "-c", ENV_FILE, path)


def workdir_in(app: Config, directory: str) -> str:
    """Where the app runs in a release's directory: its `workdir` there, if it has one."""
    return f"{directory}/{app.workdir}" if app.workdir else directory


def as_in_release(app: Config, directory: str, *command: str) -> tuple[str, ...]:
    """`command` as a release's hooks and app server run: its venv on PATH, the app's
    `pythonpath` on PYTHONPATH, its [env], and the secrets file's variables if they are asked
    for (`directory`: the release's)."""
    variables = [f"PATH={directory}/venv/bin:{PATH}", *(f"{k}={v}" for k, v in app.env.items())]
    if app.pythonpath:
        variables.append("PYTHONPATH=" + ":".join(f"{directory}/{d}" for d in app.pythonpath))
    secrets_file = app.secrets_env_file
    secrets = with_env_file(app.python, f"{directory}/{secrets_file}") if secrets_file else ()
    return ("env", *variables, *secrets, *command)


def in_release(app: Config, directory: str, release_id: int, *command: str) -> StringCommand:
    """`command` run in a release's directory (its `workdir` in it, if the app has one) as
    `as_in_release` says, with SHIPSTATE_RELEASE set to its number."""
    released = as_in_release(app, directory, *command)
    numbered = (released[0], f"SHIPSTATE_RELEASE={release_id}", *released[1:])
    return chain(argv("cd", workdir_in(app, directory)), argv(*numbered))


def supervisor_command(*words: str) -> str:
    """Words for a supervisord `command=`, which ends it at a ';' or '#' after a space (a
    comment), replaces %(here)s in it as text, then expands %(...)s, and splits the rest as a
    shell would: each word is quoted in pieces, so that it arrives verbatim."""
    quoted = (
        "".join(shlex.quote(piece) for piece in re.split(r"(?<=\s)(?=[;#])|(?<=%)(?=\()", word))
        for word in words
    )
    return " ".join(quoted).replace("%", "%%")


def process_command_line(app: Config, current: str, command: str) -> str:
    """A process's command line for supervisord: run from `current`, in its workdir, as hooks
    run."""
    words = as_in_release(app, current, *shlex.split(command))
    return supervisor_command(words[0], "-C", workdir_in(app, current), *words[1:])


def django_request(app: Config, directory: str, release_id: int, host: str) -> StringCommand:
    """The health check's request, made in a new process of the app (at most 30 s)."""
    module = app.application.split(":")[0]
    return in_release(
        app, directory, release_id, "timeout", "30", "python", "-c", DJANGO_REQUEST,
        module, app.health_path, host, app.scheme,
    )  # fmt: skip


def health_check(
    python: str, target: str, host_header: str, path: str, scheme: str, limit_seconds: int = 60
) -> StringCommand:
    """GET `path` until it answers 200; `target` is a unix socket path or `address:port`,
    spoken to in `scheme` (http or https, which the request also says as nginx would)."""
    script = HTTP_CLIENT + NGINX_MAY_STILL_LOAD_THE_SITE + HEALTH_CHECK
    return python_script(python, script, target, host_header, path, limit_seconds, scheme)


def switch_current(layout: Layout, release_id: int) -> StringCommand:
    """Point `current` at the release: a new link renamed over the old one (atomic)."""
    temp = f"{layout.root}/.current.tmp"
    return chain(
        argv("rm", "-f", temp),
        argv("ln", "-s", f"releases/{release_id}", temp),
        argv("mv", "-T", temp, layout.current),
    )


def record_states(layout: Layout, states: dict[int, str]) -> StringCommand:
    """Write each release's state into its state file (a new file renamed over the old one);
    a release that is gone is skipped."""
    steps = []
    for number, state in sorted(states.items()):
        path = layout.state(layout.release(number))
        written = chain(write_line(state, f"{path}.tmp"), argv("mv", "-f", f"{path}.tmp", path))
        steps.append(where_directory(path.rsplit("/", 1)[0], written))
    return chain(*steps)


def where_directory(directory: str, command: StringCommand) -> Chain:
    """`command` if `directory` exists; else nothing, and success."""
    return chain(argv("test", "!", "-d", directory), command, operator="||")


def site_config_of(layout: Layout, release_id: int | None) -> StringCommand:
    """Put the release's site config where nginx includes it (a copy renamed into place), or
    none when there is no release. nginx reads it at its next reload, not before."""
    if release_id is None:
        return argv("rm", "-f", layout.nginx_site)
    temp = f"{layout.nginx}/.site.tmp"
    return chain(
        argv("mkdir", "-p", layout.nginx),
        argv("cp", "-f", layout.release_config(release_id, NGINX_CONFIG), temp),
        argv("mv", "-f", temp, layout.nginx_site),
    )


# nginx takes a site answering for a name on a port another site answers for with only a
# warning ("conflicting server name "_" on 0.0.0.0:80, ignored"), then serves one of the two
SITE_CONFLICTS = """\
BEGIN { split(ENVIRON["SITE_NAMES"], names, " "); split(ENVIRON["SITE_PORTS"], ports, " ") }
{
    for (n in names) for (p in ports)
        if (index($0, "conflicting server name \\"" names[n] "\\" on ") &&
            index($0, ":" ports[p] ", ignored")) found = 1
}
END { exit !found }
"""
NGINX_TEST = """\
out=$(sudo -n /usr/sbin/nginx -t 2>&1); status=$?
printf '%s\\n' "$out" >&2
[ "$status" = 0 ] || exit "$status"
printf '%s\\n' "$out" | awk "$1" || exit 0
echo "another site on this server answers for the same name and port" >&2
exit 1
"""


def check_site_config(
    layout: Layout, release_id: int, live: int | None, names: list[str], ports: list[int]
) -> StringCommand:
    """`nginx -t` with the release's site config in place, then the live release's put back;
    it fails too if another site answers for one of the site's `names` on one of its `ports`."""
    nginx_test = argv(
        "env",
        f"SITE_NAMES={' '.join(names)}",
        f"SITE_PORTS={' '.join(map(str, ports))}",
        "sh",
        "-c",
        NGINX_TEST,
        "sh",
        SITE_CONFLICTS,
    )
    return StringCommand(
        chain(site_config_of(layout, release_id), nginx_test),
        "; status=$?;",
        site_config_of(layout, live),
        "; exit $status",
    )


def write_line(text: str, path: str, append: bool = False) -> StringCommand:
    """Write `text` and a newline to the remote file (or append to it)."""
    return write_text(f"{text}\n", path, append)


def write_text(text: str, path: str, append: bool = False) -> StringCommand:
    """Write `text`, as it is, to the remote file (or append it): for text that is no secret
    and fits in a command (see inline_cost)."""
    return StringCommand(argv("printf", "%s", text), ">>" if append else ">", QuoteString(path))


# Linux takes a command (one argument of `sh -c`) of up to 128 KiB
INLINE_LIMIT = 64 << 10


def inline_cost(text: str) -> int:
    """The bytes `text` takes in a command run as `sh -c` over SSH (quoted twice)."""
    return len(shlex.quote(shlex.quote(text)).encode())


# `nginx -s reload` returns before nginx serves the new config: wait until every worker that
# accepted connections under the old one has been told to quit (old workers keep serving
# for a moment after the signal).
RELOAD_NGINX = """\
workers() { pgrep -d ' ' -x -f 'nginx: worker process'; }
old=" $(workers) "
sudo -n /usr/sbin/nginx -s reload || exit 1
for attempt in $(seq 200); do
  waiting=0
  for pid in $(workers); do
    case "$old" in *" $pid "*) waiting=1 ;; esac
  done
  [ "$waiting" = 0 ] && exit 0
  sleep 0.05
done
echo "nginx still served its old config 10 s after the reload" >&2
exit 1
"""


def reload_nginx(layout: Layout, release_id: int | None, site_sha: str | None) -> StringCommand:
    """Put the release's site config in place, check nginx's config, reload it gracefully, and
    record which site config it loaded."""
    record = (
        write_line(site_sha, layout.nginx_loaded)
        if site_sha
        else argv("rm", "-f", layout.nginx_loaded)
    )
    return chain(
        site_config_of(layout, release_id),
        sudo("/usr/sbin/nginx", "-t"),
        argv("sh", "-c", RELOAD_NGINX),
        record,
    )


# whether a unix socket takes connections (an app server's, before it answers HTTP)
LISTENING = """\
def listening(path):
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()
"""

SUPERVISORCTL_OPTIONS = """\
def supervisorctl_options(path):
    \"\"\"The [supervisorctl] section of a supervisord config, read as its configparser does:
    `key = value` or `key: value`, comments at a line's start or after a space.\"\"\"
    options, section = {}, None
    with open(path) as f:
        for line in f:
            for i, char in enumerate(line):
                if char in ";#" and (i == 0 or line[i - 1].isspace()):
                    line = line[:i]
                    break
            text = line.strip()
            if text.startswith("[") and "]" in text:
                section = text[1 : text.index("]")]
            elif section == "supervisorctl" and text and not line[0].isspace():
                cut = min(i for i in (text.find("="), text.find(":"), len(text)) if i >= 0)
                options[text[:cut].strip().lower()] = text[cut + 1 :].strip()
    return options
"""

# supervisorctl's own work over supervisord's XML-RPC, without its ~0.2 s of start-up
# (supervisor imports pkg_resources): `update NAME...` loads the programs' config (starting
# what was added, restarting what changed, starting what had stopped or crashed, once it has);
# `remove NAME=CONF=SOCKET...` tells the programs' processes to stop (gracefully, all at once),
# deletes their configs and returns once no socket takes connections: the processes finish in
# the background (a gunicorn takes ~0.3 s to exit) and stay loaded, stopped, until the next
# run unloads them. Both unload every program whose config is gone once it has stopped.
SUPERVISOR_CLIENT = (
    HTTP_CLIENT
    + """\
import binascii, os
from xml.parsers import expat
"""
    + SUPERVISORCTL_OPTIONS
    + """\
paths = ["/etc/supervisor/supervisord.conf", "/etc/supervisord.conf"]
found = next((p for p in paths if os.path.exists(p)), None)
if found is None:
    sys.exit("supervisord's config is in none of " + ", ".join(paths))
options = supervisorctl_options(found)
def option(name, default=""):
    return options.get(name, default).replace("%(here)s", os.path.dirname(found))
url, user = option("serverurl", "http://localhost:9001"), option("username")
server = url[len("unix://"):] if url.startswith("unix://") else url.partition("://")[2].split("/")[0]
credentials = binascii.b2a_base64((user + ":" + option("password")).encode(), newline=False)
credentials = credentials.decode()
auth = "Authorization: Basic %s\\r\\n" % credentials if user else ""
class RPCError(Exception):
    pass
class Fault(RPCError):
    def __init__(self, code, text):
        super().__init__("%s: %s" % (code, text))
        self.faultCode = code
def encode(value):
    if isinstance(value, bool):
        return "<boolean>%d</boolean>" % value
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<string>%s</string>" % text
def decode(node):
    kind, children, text = node
    if kind == "value":
        return decode(children[0]) if children else text
    if kind in ("int", "i4", "i8"):
        return int(text)
    if kind == "boolean":
        return text.strip() == "1"
    if kind == "array":
        return [decode(value) for value in children[0][1]]
    if kind == "struct":
        return {member[1][0][2]: decode(member[1][1]) for member in children}
    return None if kind == "nil" else text
def tree(document):
    root = ["", [], ""]
    stack = [root]
    def start(kind, attributes):
        node = [kind, [], ""]
        stack[-1][1].append(node)
        stack.append(node)
    def text(data):
        stack[-1][2] += data
    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.CharacterDataHandler = start, text
    parser.EndElementHandler = lambda kind: stack.pop()
    parser.Parse(document, True)
    return root[1][0]
def call(method, *args):
    params = "".join("<param><value>%s</value></param>" % encode(a) for a in args)
    body = ("<?xml version='1.0'?><methodCall><methodName>supervisor.%s</methodName>"
            "<params>%s</params></methodCall>" % (method, params)).encode()
    head = "POST /RPC2 HTTP/1.0\\r\\nHost: localhost\\r\\nContent-Type: text/xml\\r\\n"
    head += "Content-Length: %d\\r\\n%s\\r\\n" % (len(body), auth)
    status, _, answer = http(server, head.encode() + body)
    if status != 200:
        raise RPCError("HTTP %d" % status)
    try:
        outcome = tree(answer)[1][0]  # methodResponse: params or fault
        if outcome[0] == "fault":
            fault = decode(outcome[1][0])
            raise Fault(fault["faultCode"], fault["faultString"])
        return decode(outcome[1][0][1][0])  # params, param, value
    except (expat.ExpatError, IndexError, KeyError, ValueError) as error:
        raise RPCError("an answer that is not XML-RPC: %s" % error) from None
class Proxy:
    def __getattr__(self, method):
        return lambda *args: call(method, *args)
rpc = Proxy()
"""
)
SUPERVISOR = (
    SUPERVISOR_CLIENT
    + """\
LIVE = ("STARTING", "RUNNING", "BACKOFF", "STOPPING")
def wait_until(done, what):
    deadline = time.monotonic() + 300
    while not done():
        if time.monotonic() > deadline:
            sys.exit(what + " after 300 s")
        time.sleep(0.01)
def in_state(groups, states):
    if not groups:
        return set()
    infos = rpc.getAllProcessInfo()
    return {i["group"] for i in infos if i["group"] in groups and i["statename"] in states}
def signal_stop(groups):
    for group in groups:
        try:
            rpc.stopProcessGroup(group, False)
        except Fault as fault:
            if fault.faultCode != 10:  # BAD_NAME: not loaded
                raise
def add_loaded(groups, added, changed):
    for group in groups:
        if group in added or group in changed:
            rpc.addProcessGroup(group)
def start_stopped(groups, infos):
    for info in infos:
        if info["group"] in groups and info["statename"] in ("STOPPED", "EXITED", "FATAL"):
            rpc.startProcess(info["group"] + ":" + info["name"], False)
"""
    + LISTENING
    + """\
def processes(conf, prefix):
    \"\"\"supervisord runs the programs of `conf` (each restarted) and no other process of the
    app (a program `prefix` + a letter...); waits until each is RUNNING.\"\"\"
    wanted = []
    if os.path.exists(conf):
        with open(conf) as f:
            wanted = [line.strip()[9:-1] for line in f if line.startswith("[program:")]
    added, changed, removed = rpc.reloadConfig()[0]
    gone = [g for g in removed if g.startswith(prefix) and g[len(prefix):][:1].isalpha()]
    stop = gone + [g for g in wanted if g not in added]
    signal_stop(stop)
    wait_until(lambda: not in_state(stop, LIVE), "processes did not stop")
    for group in [*gone, *(g for g in wanted if g in changed)]:
        rpc.removeProcessGroup(group)
    add_loaded(wanted, added, changed)
    start_stopped(wanted, rpc.getAllProcessInfo())
    def running():
        infos = [i for i in rpc.getAllProcessInfo() if i["group"] in wanted]
        for info in infos:
            if info["statename"] in ("BACKOFF", "EXITED", "FATAL"):
                try:
                    with open(info["stdout_logfile"], "rb") as f:
                        f.seek(max(0, os.fstat(f.fileno()).st_size - 4000))
                        last = f.read().decode(errors="replace").splitlines()[-8:]
                except OSError:
                    last = []
                sys.exit("process %s exited while starting (supervisord: %s); the last lines of "
                         "%s:\\n%s" % (info["group"], info["statename"], info["stdout_logfile"],
                                      "\\n".join(last)))
        return all(i["statename"] == "RUNNING" for i in infos)
    wait_until(running, "processes did not start")
try:
    action, targets = sys.argv[1], [t.split("=") for t in sys.argv[2:]]
    groups = [target[0] for target in targets]
    if action == "processes":
        processes(*sys.argv[2:4])
        sys.exit(0)
    if action == "remove":
        signal_stop(groups)
        for _, conf, _ in targets:
            if os.path.exists(conf):
                os.remove(conf)
        sockets = [target[2] for target in targets]
        wait_until(lambda: not any(listening(s) for s in sockets), "app servers still listen")
    added, changed, removed = rpc.reloadConfig()[0]
    restart = [g for g in groups if g in changed]
    signal_stop(restart)
    wait_until(lambda: not in_state(restart, LIVE), "app servers did not stop")
    for group in [*(set(removed) - in_state(removed, LIVE)), *restart]:
        rpc.removeProcessGroup(group)
    add_loaded(groups, added, changed)
    if action == "update":
        wait_until(lambda: not in_state(groups, ("STOPPING",)), "app servers did not stop")
        infos = rpc.getAllProcessInfo()
        missing = set(groups) - {info["group"] for info in infos}
        if missing:
            sys.exit("supervisord has no program " + ", ".join(sorted(missing)))
        start_stopped(groups, infos)
except (OSError, RPCError) as error:
    sys.exit("supervisord at %s (see %s): %s" % (url, found, error))
"""
)


def start_program(layout: Layout, python: str, release_id: int) -> StringCommand:
    """supervisord loads the release's program from its config, and starts it."""
    return python_script(python, SUPERVISOR, "update", layout.program(release_id))


def processes_from(layout: Layout, python: str, release_id: int | None) -> StringCommand:
    """supervisord runs the processes of the release (none if None, or if it has none),
    each restarted, and records that they run from it."""
    conf = layout.release_config(release_id, PROCESSES_CONFIG) if release_id else ""
    temp = f"{layout.processes_file}.tmp"
    put = StringCommand(
        "if",
        argv("test", "-f", conf) if conf else "false",
        ";",
        "then",
        chain(argv("cp", conf, temp), argv("mv", "-f", temp, layout.processes_file)),
        ";",
        "else",
        argv("rm", "-f", layout.processes_file),
        ";",
        "fi",
    )
    restart = python_script(
        python, SUPERVISOR, "processes", layout.processes_file, layout.process_program("")
    )
    record = (
        write_line(str(release_id), layout.processes_release)
        if release_id
        else argv("rm", "-f", layout.processes_release)
    )
    return chain(put, restart, record)


def stop_programs(layout: Layout, python: str, release_ids) -> StringCommand:
    """The releases' app servers are told to stop gracefully, and no longer take connections;
    their programs are removed."""
    targets = [
        f"{layout.program(n)}={layout.program_file(n)}={layout.socket(n)}" for n in release_ids
    ]
    return python_script(python, SUPERVISOR, "remove", *targets)


# through nginx, an answer other than a server error may be the old config's (a reload is
# graceful): it is retried for 5 s
NGINX_MAY_STILL_LOAD_THE_SITE = """\
answers_are_final = False
def gave_up():
    return None
"""

# the health check of an app server: the app's answer is final unless a server error (an app
# may answer 503 while it warms up); it also ends as soon as supervisord saw its process exit
APP_SERVER_EXITED = """\
answers_are_final = True
def gave_up():
    name = sys.argv[6] + ":" + sys.argv[6]
    try:
        state = rpc.getProcessInfo(name)["statename"]
    except (OSError, RPCError):
        return None
    if state in ("BACKOFF", "EXITED", "FATAL"):
        return "its process exited while starting (supervisord: %s)" % state
"""


def app_server_health_check(
    layout: Layout, python: str, release_id: int, host_header: str, path: str, scheme: str
) -> StringCommand:
    """GET `path` on the release's socket until it answers 200, or its process exits."""
    script = SUPERVISOR_CLIENT + APP_SERVER_EXITED + HEALTH_CHECK
    socket = layout.socket(release_id)
    return python_script(
        python, script, socket, host_header, path, 60, scheme, layout.program(release_id)
    )
