"""Remote commands are data: exact strings, with every user value quoted."""

import configparser
import http.server
import re
import shlex
import socketserver
import subprocess
import sys
import threading

import pytest
from pyinfra.api import StringCommand

from shipstate.commands import (
    ENV_FILE,
    SUPERVISORCTL_OPTIONS,
    argv,
    chain,
    health_check,
    inline_cost,
    pip_from_its_wheel,
    process_command_line,
    sudo,
    where_directory,
    write_text,
)
from shipstate.config import parse_config
from shipstate.engine import read_public_key, ssh_user
from shipstate.inventory import HostSpec
from shipstate.layout import Layout
from shipstate.runner import openssh_command

HOSTILE = ["a b", "it's", "$(reboot)", "`id`", "x; rm -rf /", "a\nb", "*", "--help"]


def test_argv_quotes_every_value():
    command = argv("rm", "-rf", "/srv/my app/releases/3")
    assert command.get_raw_value() == "rm -rf '/srv/my app/releases/3'"


def test_hostile_values_stay_inert():
    import shlex

    for value in HOSTILE:
        raw = argv("echo", value).get_raw_value()
        assert shlex.split(raw) == ["echo", value]


def test_text_written_by_a_command_arrives_as_it_is(tmp_path):
    """As pyinfra runs it over SSH: `sh -c '<command>'`, run by the login shell."""
    text = (
        "'" * 50 + "".join(HOSTILE) + "100% \\n \\\\ %s %b '\"'\"' \u00e9t\u00e9\n\n  trailing  \n"
    )
    target = tmp_path / "it's a file"
    command = write_text(text, str(target)).get_raw_value()
    sent = f"sh -c {shlex.quote(command)}"
    subprocess.run(["sh", "-c", sent], check=True)
    assert target.read_bytes() == text.encode()
    assert len(sent.encode()) < inline_cost(text) + 2 * len(str(target)) + 50, "what it costs"


def test_chain_and_sudo():
    command = chain(argv("mkdir", "-p", "/a"), sudo("/usr/sbin/nginx", "-t"))
    assert command.get_raw_value() == "mkdir -p /a && sudo -n /usr/sbin/nginx -t"
    either = chain(argv("test", "-x", "/u"), argv("echo", "no"), operator="||")
    assert isinstance(either, StringCommand)
    assert either.get_raw_value() == "test -x /u || echo no"


def test_a_chain_of_another_operator_in_a_chain_is_grouped(tmp_path):
    """The shell reads `a && b || c && d` as `{ { a && b; } || c; } && d`: a chain of `||` in
    one of `&&` (a build's steps, each with a fallback) runs as one step."""
    ran = tmp_path / "ran"

    def step(name: str, status: int = 0) -> StringCommand:
        return argv("sh", "-c", f"echo {name} >> {ran}; exit {status}")

    def run(command: StringCommand) -> tuple[list[str], int]:
        ran.write_text("")
        status = subprocess.run(["sh", "-c", command.get_raw_value()]).returncode
        return ran.read_text().split(), status

    fallback = chain(step("offline", 1), step("online"), operator="||")
    assert run(chain(step("venv", 1), fallback, step("install"))) == (["venv"], 1)
    assert run(chain(step("venv"), fallback, step("install"))) == (
        ["venv", "offline", "online", "install"],
        0,
    )
    installed = chain(step("rm"), step("venv"), step("pip"))
    assert run(chain(step("test"), installed, step("note"), operator="||")) == (["test"], 0)
    assert run(chain(step("test", 1), installed, step("note"), operator="||")) == (
        ["test", "rm", "venv", "pip"],
        0,
    )
    gone = where_directory(str(tmp_path / "gone"), chain(step("write"), step("rename")))
    assert run(chain(gone, step("next"))) == (["next"], 0), "a directory that is gone is skipped"


@pytest.mark.parametrize("python", [f"{sys.base_prefix}/bin/python3", "/usr/bin/python3"])
def test_a_venv_without_pip_runs_pip_from_the_wheel_ensurepip_has(python, tmp_path):
    """Python as built (its ensurepip's `_bundled` wheel) and Debian's (its python-wheels)."""
    subprocess.run([python, "-m", "venv", "--without-pip", tmp_path / "tools"], check=True)
    command = pip_from_its_wheel(f"{tmp_path}/tools/bin/python", "--version")
    ran = subprocess.run(["sh", "-c", command.get_raw_value()], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert re.match(r"pip [\d.]+ from /\S+/pip-[\d.]+-py3-none-any\.whl/pip ", ran.stdout)
    assert not list((tmp_path / "tools").glob("lib/python3*/site-packages/pip"))


def test_layout_paths():
    layout = Layout("/srv/shop", "shop")
    assert layout.release(7) == "/srv/shop/releases/7"
    assert layout.building(7) == "/srv/shop/releases/.building-7"
    assert layout.program_file(7) == "/srv/shop/supervisor/shop-7.conf"
    assert layout.socket(7) == "/srv/shop/releases/7/.shipstate/gunicorn.sock"
    assert layout.env("0123456789abcdef") == "/srv/shop/envs/0123456789abcdef"


DJANGO_NOT_FOUND = b"""
<!doctype html>
<html lang="en">
<head>
  <title>Not Found</title>
</head>
<body>
  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>
</body>
</html>
"""


@pytest.mark.parametrize(
    ("status", "location", "said"),
    [
        (
            301,
            "https://example.com/healthz",
            "HTTP 301 to https://example.com/healthz: the app wants HTTPS",
        ),
        (301, "/healthz/", "HTTP 301 to /healthz/\n"),
        (400, None, "ALLOWED_HOSTS lacks: allow example.com there, or set server_name"),
        (404, None, "HTTP 404: Not Found The requested resource was not found on this server.\n"),
    ],
)
def test_health_check_names_what_the_answer_means(status, location, said):
    """Run for real against a loopback server that answers as Django's SECURE_SSL_REDIRECT,
    APPEND_SLASH or ALLOWED_HOSTS would."""

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(DJANGO_NOT_FOUND)))
            self.end_headers()
            self.wfile.write(DJANGO_NOT_FOUND)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = f"127.0.0.1:{server.server_address[1]}"
        command = health_check(sys.executable, target, "example.com", "/healthz", "http", 1)
        done = subprocess.run(
            ["sh", "-c", command.get_raw_value()], capture_output=True, text=True, timeout=30
        )
    finally:
        server.shutdown()
    assert done.returncode == 1
    assert said in done.stderr


def test_health_check_passes_a_large_page_and_names_an_answer_that_is_not_http():
    """Against loopback servers: a healthy page of 1 MB passes; a server speaking something
    else than HTTP fails the check with what it said."""

    class Big(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            assert self.headers["X-Forwarded-Proto"] == "http"
            assert self.headers["Host"] == "example.com"
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            self.wfile.write(b"x" * (1 << 20))

        def log_message(self, *args):
            pass

    class Banner(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

    def check(server) -> subprocess.CompletedProcess:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            target = f"127.0.0.1:{server.server_address[1]}"
            command = health_check(sys.executable, target, "example.com", "/healthz", "http", 1)
            return subprocess.run(
                ["sh", "-c", command.get_raw_value()], capture_output=True, text=True, timeout=30
            )
        finally:
            server.shutdown()

    healthy = check(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Big))
    assert healthy.returncode == 0, healthy.stderr
    other = check(socketserver.ThreadingTCPServer(("127.0.0.1", 0), Banner))
    assert other.returncode == 1
    assert "not an HTTP answer: b'SSH-2.0-OpenSSH_9.2" in other.stderr


@pytest.mark.parametrize(
    "text",
    [
        "[unix_http_server]\nfile=/run/a.sock\n[supervisorctl]\nserverurl=unix:///run/a.sock\n",
        "[supervisorctl]\nserverurl = http://127.0.0.1:9001 ; the TCP one\n"
        "username: ann\nPassword = p#1 # a comment\n\n; serverurl=unix:///nope\n[other]\nusername=bob\n",
        "# Debian's\n[supervisord]\nlogfile=/var/log/s.log\n[supervisorctl]\n"
        "serverurl=unix://%(here)s/s.sock\t;here\n[include]\nfiles = conf.d/*.conf\n",
        "[program:x]\ncommand=sleep 1\n",
    ],
)
def test_supervisorctl_options_are_read_as_configparser_reads_them(tmp_path, text):
    """The host scripts read supervisord's config without configparser (~9 ms to import)."""
    path = tmp_path / "supervisord.conf"
    path.write_text(text)
    scope: dict = {}
    exec(SUPERVISORCTL_OPTIONS, scope)
    expected = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    expected.read(path)
    wanted = dict(expected["supervisorctl"]) if expected.has_section("supervisorctl") else {}
    assert scope["supervisorctl_options"](str(path)) == wanted


def test_a_terminal_connects_as_pyinfra_does_with_the_inventorys_data():
    sandbox_like = HostSpec(
        name="web-1",
        data={
            "ssh_hostname": "127.0.0.11",
            "ssh_port": 2222,
            "ssh_user": "deploy",
            "ssh_key": "/k/id",
            "ssh_known_hosts_file": "/k/known",
            "ssh_allow_agent": False,
            "ssh_look_for_keys": False,
        },
        groups=(),
    )
    assert openssh_command(sandbox_like, False, "sh -c 'x'") == [
        "ssh", "-t", "-oLogLevel=ERROR", "-oStrictHostKeyChecking=yes", "-oPort=2222",
        "-oUser=deploy", "-oIdentityFile=/k/id", "-oIdentitiesOnly=yes",
        "-oUserKnownHostsFile=/k/known", "-oIdentityAgent=none", "--", "127.0.0.11", "sh -c 'x'",
    ]  # fmt: skip
    plain = HostSpec(name="-web", data={"ssh_config_file": "/k/config"}, groups=())
    assert openssh_command(plain, True, "true") == [
        "ssh",
        "-t",
        "-oLogLevel=ERROR",
        "-F",
        "/k/config",
        "-oStrictHostKeyChecking=accept-new",
        "--",
        "-web",
        "true",
    ]  # fmt: skip, the port the SSH config gives, else 22


def test_a_host_named_as_the_ssh_config_names_it_has_its_user_and_key(tmp_path):
    key = tmp_path / "web_key"
    (tmp_path / "web_key.pub").write_text("ssh-ed25519 AAAAC3Nz web\n")
    config = tmp_path / "ssh_config"
    config.write_text(f"Host web1\n  HostName 127.0.0.11\n  User deploy\n  IdentityFile {key}\n")
    aliased = HostSpec(name="web1", data={"ssh_config_file": str(config)}, groups=())
    assert ssh_user(aliased) == "deploy"
    assert read_public_key(None, aliased) == "ssh-ed25519 AAAAC3Nz web"
    named = HostSpec(
        name="web1", data={"ssh_config_file": str(config), "ssh_user": "app"}, groups=()
    )
    assert ssh_user(named) == "app", "the inventory's, as pyinfra logs in"


def test_a_process_runs_from_current_in_its_workdir_as_hooks_run():
    app = parse_config(
        {
            "name": "shop",
            "wsgi": "shop.wsgi:application",
            "workdir": "src",
            "env": {"GREETING": "100% sure ;not #a comment %(ENV_HOME)s %(here)s"},
            "secrets": {"file": "s.env"},
        },
        "t",
    )
    line = process_command_line(app, "/srv/shop/current", "celery -A shop worker -l 'info'")
    # read as supervisord reads its config: ';' and '#' after a space start a comment, then
    # %(here)s is replaced, %(...)s expanded and the rest split as a shell would
    config = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"))
    config.read_string(f"[program:shop-worker]\ncommand={line}\n")
    here = config.get("program:shop-worker", "command").replace("%(here)s", "/etc/supervisor")
    read = here % {"ENV_HOME": "/root", "here": "/etc/supervisor"}
    assert shlex.split(read) == [
        "env", "-C", "/srv/shop/current/src",
        "PATH=/srv/shop/current/venv/bin:/usr/local/bin:/usr/bin:/bin",
        "GREETING=100% sure ;not #a comment %(ENV_HOME)s %(here)s",
        "python3", "-S", "-c", ENV_FILE, "/srv/shop/current/.env",
        "celery", "-A", "shop", "worker", "-l", "info",
    ]  # fmt: skip
