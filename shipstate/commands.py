"""Remote commands as data: every user value is quoted, pieces are joined by shell operators."""

from pyinfra.api import QuoteString, StringCommand

from shipstate.layout import Layout


def argv(*args: object) -> StringCommand:
    return StringCommand(*(QuoteString(str(a)) for a in args))


def chain(*commands: StringCommand, operator: str = "&&") -> StringCommand:
    bits: list[object] = []
    for command in commands:
        if bits:
            bits.append(operator)
        bits.append(command)
    return StringCommand(*bits)


def sudo(*args: object) -> StringCommand:
    """`sudo -n` of a literal command, which command-restricted sudoers rules accept."""
    return argv("sudo", "-n", *args)


HEALTH_CHECK = """\
import http.client, socket, sys, time
target, host, url, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
class Conn(http.client.HTTPConnection):
    def connect(self):
        if not target.startswith("/"):
            self.sock = socket.create_connection(target.rsplit(":", 1), timeout=10)
            return
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(target)
deadline, last = time.monotonic() + limit, "no answer"
while time.monotonic() < deadline:
    try:
        conn = Conn(host)
        conn.request("GET", url, headers={"Host": host})
        answer = conn.getresponse()
        if answer.status == 200:
            sys.exit(0)
        last = "HTTP %d: %r" % (answer.status, answer.read(300))
        deadline = min(deadline, time.monotonic() + 5)  # it answers, but not healthy
    except OSError as exc:
        last = str(exc)
    time.sleep(0.05)
sys.exit("health check of %s (Host: %s) failed: %s" % (url, host, last))
"""


def health_check(
    python: str, target: str, host_header: str, path: str, limit_seconds: int = 60
) -> StringCommand:
    """GET `path` until it answers 200; `target` is a unix socket path or `address:port`."""
    return argv(python, "-c", HEALTH_CHECK, target, host_header, path, limit_seconds)


def switch_current(layout: Layout, release_id: int) -> StringCommand:
    """Point `current` at the release: a new link renamed over the old one (atomic)."""
    temp = f"{layout.root}/.current.tmp"
    return chain(
        argv("rm", "-f", temp),
        argv("ln", "-s", f"releases/{release_id}", temp),
        argv("mv", "-T", temp, layout.current),
    )


RECORD_STATES = """\
import json, os, sys
for path, state in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        with open(path) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        continue
    manifest["state"] = state
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f, sort_keys=True)
    os.replace(path + ".tmp", path)
"""


def record_states(layout: Layout, python: str, states: dict[int, str]) -> StringCommand:
    """Write each release's state into its manifest (a new file renamed over the old one);
    a release that is gone is skipped."""
    pairs = [
        value
        for number, state in sorted(states.items())
        for value in (layout.manifest(layout.release(number)), state)
    ]
    return argv(python, "-S", "-c", RECORD_STATES, *pairs)


def site_config_of(layout: Layout, release_id: int | None) -> StringCommand:
    """Put the release's site config where nginx includes it (a copy renamed into place), or
    none when there is no release. nginx reads it at its next reload, not before."""
    if release_id is None:
        return argv("rm", "-f", layout.nginx_site)
    temp = f"{layout.nginx}/.site.tmp"
    return chain(
        argv("mkdir", "-p", layout.nginx),
        argv("cp", "-f", layout.site_config(release_id), temp),
        argv("mv", "-f", temp, layout.nginx_site),
    )


def check_site_config(layout: Layout, release_id: int, live: int | None) -> StringCommand:
    """`nginx -t` with the release's site config in place, then the live release's put back."""
    return StringCommand(
        chain(site_config_of(layout, release_id), sudo("/usr/sbin/nginx", "-t")),
        "; status=$?;",
        site_config_of(layout, live),
        "; exit $status",
    )


def write_line(text: str, path: str, append: bool = False) -> StringCommand:
    """Write `text` and a newline to the remote file (or append to it)."""
    return StringCommand(argv("printf", "%s\\n", text), ">>" if append else ">", QuoteString(path))


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


def stop_programs(layout: Layout, release_ids) -> StringCommand:
    """Stop the releases' app servers (gracefully), then remove their supervisor programs.
    `stop` returns as soon as they exited; stopping by removal alone (`update`) waits for
    supervisord's next 1 s tick. `update` rereads the config itself."""
    names = [layout.program(n) for n in release_ids]
    return chain(
        argv("supervisorctl", "stop", *names),
        chain(
            argv("rm", "-f", *(layout.program_file(n) for n in release_ids)),
            argv("supervisorctl", "update", *names),
        ),
        operator=";",
    )
