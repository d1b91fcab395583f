"""Remote commands as data: every user value is quoted, pieces are joined by shell operators."""

from pyinfra.api import QuoteString, StringCommand


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
path_, host, url, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path_)
deadline, last = time.monotonic() + limit, "no answer"
while time.monotonic() < deadline:
    try:
        conn = Conn(host)
        conn.request("GET", url, headers={"Host": host})
        answer = conn.getresponse()
        if answer.status == 200:
            sys.exit(0)
        last = "HTTP %d: %r" % (answer.status, answer.read(300))
    except OSError as exc:
        last = str(exc)
    time.sleep(0.2)
sys.exit("health check of %s (Host: %s) failed: %s" % (url, host, last))
"""


def health_check(
    python: str, socket_path: str, host_header: str, path: str, limit_seconds: int = 60
) -> StringCommand:
    return argv(python, "-c", HEALTH_CHECK, socket_path, host_header, path, limit_seconds)
