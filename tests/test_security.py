"""Secrets and hostile input, end to end on a sandbox host."""

import json
import re
import secrets
import shlex
import shutil
import threading
import tomllib
import zipfile
from base64 import b64encode, urlsafe_b64encode
from contextlib import contextmanager
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import commit, git, host_addresses, http_get, ok, on_host, shipstate

ONE_HOST = ("-i", "inventories/sandbox.py", "--limit", "sandbox-1")
SECRETS_CONFIG = """
[secrets]
file = "secrets/{inventory}.env"
path = ".env"
"""


def use_secrets(app, content: str) -> None:
    config = app / "shipstate.toml"
    config.write_text(config.read_text().replace(', ".env"]', "]") + SECRETS_CONFIG)
    (app / ".gitignore").write_text((app / ".gitignore").read_text() + "secrets/\n")
    (app / "secrets").mkdir(exist_ok=True)
    (app / "secrets" / "sandbox.env").write_text(content)
    commit(app, "secrets from secrets/<inventory>.env")


def health(address: str) -> dict:
    status, body, _ = http_get(f"http://{address}/healthz")
    assert status == 200, body
    return json.loads(body)


def test_a_host_key_not_known_or_a_user_refused_stops_before_anything_runs(app, tmp_path):
    """SSH host keys are checked against the inventory's known_hosts: a host missing there is
    refused, naming why, until --accept-new-host-keys records its key; so is a user sshd
    refuses."""
    inventories = app / "inventories"
    sandbox = (inventories / "sandbox.py").read_text()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    (inventories / "new.py").write_text(
        re.sub(
            r'"ssh_known_hosts_file": "[^"]*"', f'"ssh_known_hosts_file": "{known_hosts}"', sandbox
        )
    )
    (inventories / "stranger.py").write_text(sandbox.replace('"deploy"', '"stranger"'))
    new_host = ("-i", "new", "--limit", "sandbox-1")

    unknown = shipstate("plan", *new_host, cwd=app)
    assert unknown.code == 1, unknown.output
    assert (
        "error: could not connect to sandbox-1: SSH error (StrictPolicy: No host key for "
        "127.0.0.11 found in known_hosts)" in unknown.stderr
    )
    assert "then pass --accept-new-host-keys once to record it" in unknown.stderr
    assert known_hosts.read_text() == ""
    ok("plan", *new_host, "--accept-new-host-keys", cwd=app)
    assert known_hosts.read_text().startswith("127.0.0.11 ssh-ed25519 ")
    ok("plan", *new_host, cwd=app)

    refused = shipstate("plan", "-i", "stranger", "--limit", "sandbox-1", cwd=app)
    assert refused.code == 1 and "(username=stranger, key=" in refused.stderr, refused.output
    assert "(Authentication failed.)" in refused.stderr
    assert "hint: the server refused the inventory's ssh_user with that key: a new server" in (
        refused.stderr
    )


def test_secrets_are_private_redacted_and_never_on_a_command_line(app):
    token = secrets.token_hex(16)
    use_secrets(app, f"GREETING=hi-{token}\nDJANGO_SECRET_KEY={token}\n")
    address = host_addresses()[0]

    planned = ok("plan", *ONE_HOST, cwd=app)
    as_json = ok("plan", *ONE_HOST, "--json", cwd=app)
    assert "+ secrets " in planned.stdout and "never shown" in planned.stdout
    applied = ok("-v", "apply", *ONE_HOST, "--yes", cwd=app)
    assert "$ " in applied.stderr and "upload -> /srv/hello/shared/.secrets/" in applied.stderr
    for shown in (planned, as_json, applied):
        assert token not in shown.output
    assert health(address)["greeting"] == f"hi-{token}"

    modes = on_host(
        address,
        "stat -c '%a %U' /srv/hello/shared/.secrets /srv/hello/shared/.secrets/*; "
        "readlink /srv/hello/current/.env",
    ).stdout.split("\n")
    assert modes[:2] == ["700 deploy", "600 deploy"], modes
    assert modes[2].startswith("/srv/hello/shared/.secrets/")
    leaked = on_host(address, f"grep -rl {token} /srv/hello /var/log --exclude-dir=.secrets")
    assert leaked.stdout == "", f"the secret is in {leaked.stdout}"

    (app / "secrets" / "sandbox.env").write_text(f"GREETING=changed-{token}\n")
    changed = ok("plan", *ONE_HOST, cwd=app)
    assert "secrets changed" in changed.stdout and token not in changed.output
    ok("apply", *ONE_HOST, "--yes", cwd=app)
    assert health(address)["greeting"] == f"changed-{token}"
    ok("set-active", "previous", *ONE_HOST, "--yes", cwd=app)
    assert health(address)["greeting"] == f"hi-{token}", "a release keeps its own secrets"

    git(app, "add", "-f", "secrets/sandbox.env")
    tracked = shipstate("plan", *ONE_HOST, cwd=app)
    assert tracked.code == 1 and "tracked by git" in tracked.stderr
    assert token not in tracked.output


def app_server_environment(address: str, release: int) -> list[str]:
    """The environment gunicorn's master was started with (as the kernel has it)."""
    pid = on_host(address, f"supervisorctl pid hello-{release}").stdout.strip()
    return on_host(address, f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout.splitlines()


def test_secrets_reach_the_app_server_and_hooks_as_environment_variables(app):
    use_secrets(app, '# for the app\nGREETING=from-the-file\nexport QUOTED="two words"\n')
    config = app / "shipstate.toml"
    hook = '\n[[hooks]]\ncommand = "test \\"$QUOTED\\" = \\"two words\\""\n'
    config.write_text(config.read_text().replace("\n[secrets]", hook + "\n[secrets]"))
    commit(app, "a hook that needs a secret")
    ok("apply", *ONE_HOST, "--yes", cwd=app)
    address = host_addresses()[0]
    environment = app_server_environment(address, 1)
    assert "GREETING=from-the-file" in environment and "QUOTED=two words" in environment
    ran = ok("run", *ONE_HOST, "--", "sh", "-c", 'echo "$GREETING/$QUOTED"', cwd=app)
    assert ran.stdout == "from-the-file/two words\n", "`shipstate run` gets them too"

    config.write_text(config.read_text().replace(hook, "") + "environment = false\n")
    commit(app, "the app reads its .env itself")
    ok("apply", *ONE_HOST, "--yes", cwd=app)
    assert not [v for v in app_server_environment(address, 2) if v.startswith("GREETING=")]
    assert health(address)["greeting"] == "from-the-file", "the file is still linked as .env"


HOSTILE = "$(touch /tmp/PWNED-1); `touch /tmp/PWNED-2` 'q' \"dq\" %(ENV_HOME)s \\ ; & | > <"


def test_hostile_values_stay_inert_in_every_user_field(app):
    requirements = 'req dir $(touch PWNED-3)/it\'s "reqs"; `id`.txt'
    (app / "req dir $(touch PWNED-3)").mkdir()
    (app / requirements).write_text((app / "requirements.txt").read_text())
    shared_dir = "data $(touch /tmp/PWNED-4); `touch /tmp/PWNED-5` 'x' \"y\"/"
    shared_file = 'conf/it\'s "z" $(touch /tmp/PWNED-6).txt'
    secrets_path = "conf/.env $(touch /tmp/PWNED-7) ;'#x%(here)s"
    config = app / "shipstate.toml"
    data = tomllib.loads(config.read_text())
    data["requirements"] = requirements
    data["shared"] = ["var/", shared_dir, shared_file]
    data["env"]["GREETING"] = HOSTILE
    data["secrets"] = {"file": "secrets/{inventory}.env", "path": secrets_path}
    printed = 'sh -c \'printf "%s|\\n" "$GREETING"; exec sleep 3600\''
    data["processes"] = [{"name": "greeter", "command": printed}]
    config.write_text(_toml(data))
    (app / ".gitignore").write_text((app / ".gitignore").read_text() + "secrets/\n")
    (app / "secrets").mkdir()
    (app / "secrets" / "sandbox.env").write_text("DJANGO_SECRET_KEY=x\n")
    commit(app, "hostile $(touch /tmp/PWNED-8); `touch /tmp/PWNED-9`")

    ok("apply", *ONE_HOST, "--yes", cwd=app)
    address = host_addresses()[0]
    assert health(address)["greeting"] == HOSTILE, "the value reached the app verbatim"
    greeted = ok("logs", *ONE_HOST, "--process", "greeter", "-n", "1", cwd=app).stdout
    assert greeted == f"sandbox-1: {HOSTILE}|\n", "and a process, through supervisord's parser"
    release = "/srv/hello/current/"
    names = [shared_dir.rstrip("/"), shared_file, secrets_path, requirements]
    found = on_host(
        address,
        " && ".join(f"test -e {shlex.quote(release + name)}" for name in names)
        + " && find /tmp /srv /home /root /var/tmp -name 'PWNED-[0-9]'",
    )
    assert found.returncode == 0 and found.stdout == "", found.stdout + found.stderr
    assert ok("releases", *ONE_HOST, cwd=app).stdout.count("hostile $(touch") == 1


def _toml(data: dict) -> str:
    """Enough TOML for the config above: strings as JSON (a TOML basic string), lists, tables."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(
                f"[{key}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in value.items())
            )
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables.extend(
                f"[[{key}]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in item.items())
                for item in value
            )
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n\n" + "\n".join(tables)


def wheel(directory: Path, name: str, version: str, code: str) -> None:
    """A pure-Python wheel of one module, `name` (the project's name too)."""
    files = {
        f"{name}/__init__.py": code,
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = f"{name}-{version}.dist-info/RECORD"
    lines = [
        f"{path},sha256={urlsafe_b64encode(sha256(text.encode()).digest()).decode().rstrip('=')},"
        f"{len(text.encode())}"
        for path, text in files.items()
    ]
    files[record] = "\n".join([*lines, f"{record},,"]) + "\n"
    with zipfile.ZipFile(directory / f"{name}-{version}-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


@contextmanager
def private_index(wheels: Path, user: str, token: str):
    """A package index on 127.0.0.1 serving `wheels` to `user` with `token` only (basic
    auth); yields its port."""
    allowed = "Basic " + b64encode(f"{user}:{token}".encode()).decode()

    class Index(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.answer(send_body=False)

        def do_GET(self):
            self.answer(send_body=True)

        def answer(self, send_body: bool):
            if self.headers.get("Authorization") != allowed:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.end_headers()
                return
            parts = [p for p in self.path.split("/") if p]
            found = sorted(w.name for w in wheels.glob("*.whl"))
            if len(parts) == 2 and parts[0] == "simple":
                project = parts[1].replace("-", "_")  # as wheels name it (PEP 503 asks, "-")
                body = "".join(
                    f'<a href="/files/{n}">{n}</a>' for n in found if n.startswith(f"{project}-")
                ).encode()
            elif len(parts) == 2 and parts[0] == "files" and parts[1] in found:
                body = (wheels / parts[1]).read_bytes()
            else:
                body = b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html" if parts[0] == "simple" else "x/wheel")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


POETRY_PRIVATE_PACKAGE = """
[[package]]
name = "shipstate-private"
version = "1.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [{{file = "{wheel}", hash = "sha256:{digest}"}}]

[package.source]
type = "legacy"
url = "http://127.0.0.1:{port}/simple"
reference = "private-packages"

"""


def require_from_the_private_index(app, kind: str, port: int, wheel_file: Path) -> str:
    """The app requires shipstate_private from the index on `port`: in requirements.txt, the
    index's URL naming the token's variable, or in a poetry.lock, from a source of Poetry's;
    returns the secrets file's lines giving the token ({token} in them)."""
    if kind == "requirements.txt":
        requirements = app / "requirements.txt"
        requirements.write_text(
            requirements.read_text()
            + f"--extra-index-url http://deploys:${{PRIVATE_INDEX_TOKEN}}@127.0.0.1:{port}/simple/\n"
            + "shipstate_private==1.0\n"
        )
        return "PRIVATE_INDEX_TOKEN={token}\n"
    (app / "requirements.txt").unlink()
    fixtures = Path(__file__).parent / "fixtures" / "poetry"
    shutil.copy(fixtures / "pyproject.toml", app / "pyproject.toml")
    lock = (fixtures / "poetry.lock").read_text()
    package = POETRY_PRIVATE_PACKAGE.format(
        wheel=wheel_file.name, digest=sha256(wheel_file.read_bytes()).hexdigest(), port=port
    )
    (app / "poetry.lock").write_text(lock.replace("[metadata]", package + "[metadata]"))
    config = app / "shipstate.toml"
    config.write_text(config.read_text().replace("requirements.txt", "poetry.lock"))
    return (
        "POETRY_HTTP_BASIC_PRIVATE_PACKAGES_USERNAME=deploys\n"
        "POETRY_HTTP_BASIC_PRIVATE_PACKAGES_PASSWORD={token}\n"
    )


@pytest.mark.parametrize("kind", ["requirements.txt", "poetry.lock"])
def test_a_private_index_gets_its_credentials_from_the_secrets_file(app, tmp_path, kind):
    token = secrets.token_hex(16)
    (tmp_path / "wheels").mkdir()
    wheel(tmp_path / "wheels", "shipstate_private", "1.0", "VALUE = 'from the private index'\n")
    with private_index(tmp_path / "wheels", "deploys", token) as port:
        wheel_file = next((tmp_path / "wheels").glob("*.whl"))
        credentials = require_from_the_private_index(app, kind, port, wheel_file)
        use_secrets(app, "GREETING=hello\n")
        refused = shipstate("apply", *ONE_HOST, "--yes", cwd=app)
        assert refused.code == 1 and "401 Unauthorized" in refused.stderr, refused.output
        assert "hint: the index http://127.0.0.1:" in refused.stderr
        assert "asks for credentials the servers were not given" in refused.stderr

        (app / "secrets" / "sandbox.env").write_text(credentials.format(token=token))
        applied = ok("apply", *ONE_HOST, "--yes", cwd=app)
        assert token not in applied.output
    python = "/srv/hello/current/venv/bin/python"
    value = on_host(
        host_addresses()[0], f"{python} -c 'import shipstate_private as p; print(p.VALUE)'"
    )
    assert value.stdout == "from the private index\n", value.stderr
