"""An app on one PostgreSQL database shared by every host: its migrations run once."""

import glob
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from test_deploy import INVENTORY, fleet_serves

from conftest import commit, host_addresses, http_get, ok, on_host, set_version, shipstate

PASSWORD = "s3cret 'quoted' $(id)"
SETTINGS = """
if os.environ.get("DATABASE_PORT"):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": os.environ["DATABASE_PORT"],
        "NAME": "hello",
        "USER": "hello",
        "PASSWORD": os.environ["DATABASE_PASSWORD"],
    }
"""


def as_postgres(*argv: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)


@pytest.fixture
def postgres():
    """A PostgreSQL server of the machine's (scripts/setup installs it) on 127.0.0.1 only,
    with a database `hello` owned by a role `hello`; yields its port."""
    installed = glob.glob("/usr/lib/postgresql/*/bin")  # Debian's: one directory per version
    binaries = Path(max(installed, key=lambda p: [int(n) for n in p.split("/")[-2].split(".")]))
    data = Path(tempfile.mkdtemp(prefix="shipstate-pg-"))
    shutil.chown(data, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = data / "password"
    secret.write_text(PASSWORD)
    shutil.chown(secret, "postgres", "postgres")
    as_postgres(
        str(binaries / "initdb"), "-D", str(data / "db"), "-U", "postgres",
        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={secret}",
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
    start = ["-o", options, "-l", str(data / "log"), "-w", "start"]  # -l: it keeps no pipe of ours
    as_postgres(str(binaries / "pg_ctl"), "-D", str(data / "db"), *start)
    try:
        sql = f"CREATE ROLE hello LOGIN PASSWORD '{PASSWORD.replace(chr(39), chr(39) * 2)}';"
        psql = ["psql", "-h", str(data), "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        as_postgres(*psql, "-c", sql, "-c", "CREATE DATABASE hello OWNER hello;")
        yield port
    finally:
        as_postgres(str(binaries / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop")
        shutil.rmtree(data)


def test_a_shared_database_is_migrated_once_and_served_by_every_host(app, postgres):
    settings = app / "hello" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS)
    requirements = app / "requirements.txt"
    requirements.write_text(requirements.read_text() + "psycopg[binary]==3.3.9\n")
    config = app / "shipstate.toml"
    text = config.read_text().replace(
        'command = "python manage.py migrate --noinput"\nrun = "every-host"',
        'command = "python manage.py migrate --noinput && echo $SHIPSTATE_RELEASE >> var/migrated"'
        '\nrun = "once"',
    )
    secrets = '[secrets]\nfile = "secrets/{inventory}.env"\npath = "database.env"\n\n'
    text = text.replace("[env]\n", f'{secrets}[env]\nDATABASE_PORT = "{postgres}"\n')
    config.write_text(text)
    (app / "secrets").mkdir()
    (app / "secrets" / "sandbox.env").write_text("DATABASE_PASSWORD=wrong\n")
    with open(app / ".gitignore", "a") as ignored:
        ignored.write("secrets/\n")
    commit(app, "one PostgreSQL database for every host")

    refused = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert refused.code == 1 and "no host was switched" in refused.stderr, refused.output
    assert 'password authentication failed for user "hello"' in refused.stderr
    assert "hint: the database server refused the user hello: check the user" in refused.stderr
    (app / "secrets" / "sandbox.env").write_text(f'DATABASE_PASSWORD="{PASSWORD}"\n')
    planned = ok("plan", *INVENTORY, cwd=app).stdout
    ok("apply", *INVENTORY, "--yes", cwd=app)
    migrated = [
        on_host(address, "cat /srv/hello/shared/var/migrated").stdout
        for address in host_addresses()
    ]
    assert sorted(migrated) == ["", "", "1\n"], f"`once`: on one host only\n{planned}"
    fleet_serves("1", "1")  # a visit recorded on each host
    assert [visits(address) for address in host_addresses()] == [4, 5, 6], "one database"

    set_version(app, "2")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
    assert visits(host_addresses()[0]) == 10, "the next release has the same data"


def visits(address: str) -> int:
    status, body, _ = http_get(f"http://{address}/")
    assert status == 200, body
    return int(re.search(r"visits: (\d+)", body).group(1))
