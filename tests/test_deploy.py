"""The declarative core on real hosts: plan, apply, set-active, releases."""

import base64
import json
import os
import re
import shlex
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import (
    commit,
    finish,
    git,
    host_addresses,
    http_get,
    in_terminal,
    make_app,
    ok,
    on_host,
    power_cycle,
    set_version,
    shipstate,
    start,
)
from shipstate.sandbox import key_path, known_hosts_path

INVENTORY = ("-i", "inventories/sandbox.py")
CONFIG_MARKER = """{% extends "nginx.conf.j2" %}"""


def served(address: str) -> tuple[str, str]:
    status, body, _ = http_get(f"http://{address}/")
    assert status == 200, body
    version = re.search(r"hello version (\w+)", body).group(1)
    release = re.search(r"release (\d+)", body).group(1)
    return version, release


def fleet_serves(version: str, release: str) -> None:
    for address in host_addresses():
        assert served(address) == (version, release), address


def site_config_header(address: str) -> str | None:
    return http_get(f"http://{address}/")[2].get("X-Site-Config")


def override_nginx_template(app, marker: str, comment_lines: int = 0) -> None:
    """Give the app its own nginx template: ours plus a header naming `marker` (and as many
    comment lines of 100 bytes)."""
    from importlib import resources

    ours = (resources.files("shipstate.deploy_templates") / "nginx.conf.j2").read_text()
    (app / "deploy_templates").mkdir(exist_ok=True)
    (app / "deploy_templates" / "nginx.conf.j2").write_text(
        ours.replace(
            "    client_max_body_size",
            f"    add_header X-Site-Config {marker} always;\n    client_max_body_size",
            1,
        )
        + f"# {'x' * 97}\n" * comment_lines
    )


def test_deploy_rollback_rollforward_and_noop(app):
    first = ok("apply", *INVENTORY, "--yes", cwd=app).stdout
    assert first.startswith("sandbox-1, sandbox-2, sandbox-3\n"), "the same plan for each host"
    assert "+    listen 127.0.0.11:80;" in first and "127.0.0.12" not in first, "one diff"
    fleet_serves("1", "1")
    for address in host_addresses():
        status, _, _ = http_get(f"http://{address}/static/pages/style.css")
        assert status == 200, "static files are served by nginx from the release"

    set_version(app, "2")
    override_nginx_template(app, "v2", comment_lines=1000)  # too large to go in a command
    commit(app, "v2 with its own nginx config")
    planned = shipstate("plan", *INVENTORY, "--detailed-exitcode", cwd=app)
    assert planned.code == 2, planned.output
    assert "+ release 2" in planned.stdout and "active release 1 -> 2" in planned.stdout
    assert "sandbox-1, sandbox-2, sandbox-3\n  + release 2" in planned.stdout, "the same plan"
    assert planned.stdout.count("add_header X-Site-Config") == 1, "one diff for all hosts"
    assert "+    add_header X-Site-Config v2 always;" in planned.stdout
    fleet_serves("1", "1")  # plan changed nothing

    as_json = json.loads(ok("plan", *INVENTORY, "--json", cwd=app).stdout)
    assert as_json["version"] == 1
    kinds = {a["kind"] for h in as_json["hosts"] for a in h["actions"]}
    assert {"create_release", "switch_active", "change_config"} <= kinds
    assert "stop_app_server" not in kinds, "release 1, replaced, is kept warm"

    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
    assert {site_config_header(a) for a in host_addresses()} == {"v2"}
    for address in host_addresses():
        size = on_host(address, "wc -c < /srv/hello/releases/2/.shipstate/nginx.conf").stdout
        assert int(size) > 100_000

    back = ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
    assert "start app server" not in back.stderr, "release 1's app server was still running"
    fleet_serves("1", "1")
    assert {site_config_header(a) for a in host_addresses()} == {None}, "v1's own config"

    again = ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
    assert "already the oldest" in again.output
    fleet_serves("1", "1")

    ok("set-active", "latest", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
    assert {site_config_header(a) for a in host_addresses()} == {"v2"}

    noop = ok("plan", *INVENTORY, "--detailed-exitcode", cwd=app)
    assert "No changes" in noop.stdout
    assert ok("plan", "-i", "sandbox", cwd=app).stdout == noop.stdout, "the inventory's name"
    assert "No changes" in ok("apply", *INVENTORY, "--yes", cwd=app).stdout

    listing = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    for host in listing["hosts"].values():
        assert host["active"] == 2
        assert [(r["id"], r["state"]) for r in host["releases"]] == [(1, "retired"), (2, "active")]
        assert all(r["commit"] and r["created_by"] and r["created_at"] for r in host["releases"])
    text = ok("releases", *INVENTORY, cwd=app).stdout
    assert re.search(r"\* active\s+2", text)

    history = json.loads(ok("history", *INVENTORY, "--json", cwd=app).stdout)
    for entries in history["hosts"].values():
        assert [(e["command"], e["from"], e["to"], e["outcome"]) for e in entries] == [
            ("apply", None, 1, "applied"),
            ("apply", 1, 2, "applied"),
            ("set-active", 2, 1, "applied"),
            ("set-active", 1, 2, "applied"),
        ]
        assert all(e["by"] and e["at"] for e in entries)


def test_a_request_longer_than_timeout_or_larger_than_the_body_size_is_cut(app):
    config = app / "shipstate.toml"
    default = config.read_text()
    config.write_text('timeout = 2\nclient_max_body_size = "1k"\n' + default)
    commit(app, "short requests, small bodies")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    address = host_addresses()[0]
    assert http_get(f"http://{address}/slow/1")[:2] == (200, "slept 1s")
    assert http_get(f"http://{address}/slow/4")[0] in (502, 504), "cut at 2 s"
    assert post(f"http://{address}/", b"x" * 2048) == 413, "nginx refuses a body over 1k"
    config.write_text(default)
    commit(app, "the defaults: 60 s, 20m")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    assert http_get(f"http://{address}/slow/4")[:2] == (200, "slept 4s")
    assert post(f"http://{address}/", b"x" * 2048) == 200, "the app answers it"


def post(url: str, body: bytes) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body), timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_inventory_deploys_with_its_environments_keys(app):
    """[environments.sandbox] is for inventories/sandbox.py: its server_name, and its [env]
    merged over the app's (ALLOWED_HOSTS "*" becomes only that name)."""
    with open(app / "shipstate.toml", "a") as config:
        config.write(
            '\n[environments.sandbox]\nserver_name = "sandbox.example.com"\n'
            'env = { ALLOWED_HOSTS = "sandbox.example.com" }\n'
            '\n[environments.production]\nserver_name = "example.com"\n'
        )
    commit(app, "a name per environment")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    for address in host_addresses():
        assert http_get(f"http://{address}/", host="sandbox.example.com")[0] == 200
        assert http_get(f"http://{address}/")[0] == 400, "Django allows sandbox.example.com only"
    shown = ok("run", *INVENTORY, "--", "sh", "-c", "echo $ALLOWED_HOSTS", cwd=app).stdout
    assert shown == "sandbox.example.com\n"


def test_hosts_named_by_the_ssh_config_are_deployed_as_its_user(app):
    """An inventory of the names an SSH config gives (`Host web1`, its HostName, User,
    IdentityFile), no ssh_user: the app server runs as the user pyinfra logs in as (deploy),
    not as this machine's (root), whose socket deploy could not reach."""
    ssh_config = app / "ssh_config"
    ssh_config.write_text(
        "".join(
            f"Host web{n}\n  HostName {address}\n  User deploy\n  IdentityFile {key_path()}"
            f"\n  UserKnownHostsFile {known_hosts_path()}\n"
            for n, address in enumerate(host_addresses(), 1)
        )
    )
    hosts = [
        (f"web{n}", {"ssh_config_file": str(ssh_config), "listen_addr": address})
        for n, address in enumerate(host_addresses(), 1)
    ]
    (app / "inventories" / "aliases.py").write_text(f"web = {hosts!r}\n")
    commit(app, "hosts as the SSH config names them")
    ok("apply", "-i", "inventories/aliases.py", "--yes", cwd=app)
    for address in host_addresses():
        assert served(address) == ("1", "1")
    shell = ("run", "-i", "inventories/aliases.py", "-t", "--", "id", "-un")
    code, shown = in_terminal(*shell, cwd=app)
    assert code == 0 and shown.splitlines()[-1] == "deploy", shown


WORKER = (
    '\n[[processes]]\nname = "worker"\ncommand = "python -u -c \'import os, time; '
    'print(\\"worker\\", os.getcwd(), os.environ[\\"ALLOWED_HOSTS\\"], flush=True); '
    "time.sleep(3600)'\"\nstop_seconds = 5\n"
)
SCHEDULER = (
    '\n[[processes]]\nname = "scheduler"\nrun = "once"\nstop_seconds = 5\n'
    'command = "python -u -c \'import time; print(\\"ticks\\", flush=True); time.sleep(3600)\'"\n'
)


def workers_run_from(app, release: str) -> None:
    """One worker on each host, started from the release, the app's [env] given."""
    shown = ok("logs", *INVENTORY, "--process", "worker", "-n", "1", cwd=app).stdout
    for n, address in enumerate(host_addresses(), 1):
        assert f"sandbox-{n}: worker /srv/hello/releases/{release} *" in shown, shown
        count = on_host(address, "pgrep -fc '[i]mport os, time'").stdout.strip()
        assert count == "1", f"{address}: {count} workers"


def schedulers() -> list[str]:
    return [on_host(a, "pgrep -fc '[p]rint..ticks'").stdout.strip() for a in host_addresses()]


def test_processes_run_from_the_active_release_only(app):
    """A worker on every host; a scheduler (`run = "once"`) on the first host only."""
    with open(app / "shipstate.toml", "a") as config:
        config.write(WORKER + SCHEDULER)
    commit(app, "a worker and a scheduler")
    planned = ok("plan", *INVENTORY, cwd=app).stdout
    assert "~ restart processes from release 1" in planned and "+[program:hello-worker]" in planned
    assert planned.count("+[program:hello-scheduler]") == 1
    ok("apply", *INVENTORY, "--yes", cwd=app)
    workers_run_from(app, "1")
    assert schedulers() == ["1", "0", "0"]
    scheduler_logs = ("logs", *INVENTORY, "--process", "scheduler")
    assert ok(*scheduler_logs, cwd=app).stdout.splitlines() == ["sandbox-1: ticks"]
    elsewhere = shipstate(*scheduler_logs, "--limit", "sandbox-2", cwd=app)
    assert elsewhere.code == 1 and (
        "error: process 'scheduler' runs once, on sandbox-1, which --limit leaves out"
        in elsewhere.stderr
    )
    stopped = on_host(host_addresses()[1], "supervisorctl stop hello-worker")
    assert stopped.returncode == 0, stopped.stderr
    planned = shipstate("plan", *INVENTORY, "--detailed-exitcode", cwd=app)
    assert planned.code == 2 and planned.stdout.count("~ restart processes") == 1
    said = "~ restart processes from release 1  hello-worker is STOPPED (supervisord does not"
    assert f"sandbox-2\n  {said} run it)" in planned.stdout
    ok("apply", *INVENTORY, "--yes", cwd=app)
    workers_run_from(app, "1")
    assert "No changes" in ok("plan", *INVENTORY, cwd=app).stdout
    set_version(app, "2")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
    workers_run_from(app, "2")
    ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")
    workers_run_from(app, "1")
    ok("set-active", "latest", *INVENTORY, "--yes", cwd=app)
    workers_run_from(app, "2")

    config = (app / "shipstate.toml").read_text()
    (app / "shipstate.toml").write_text(
        config.replace("time.sleep(3600)", 'raise SystemExit(\\"no broker here\\")')
    )
    set_version(app, "3")
    failed = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert failed.code == 1 and "every host was switched back" in failed.stderr, failed.output
    assert "process hello-worker exited while starting (supervisord: " in failed.stderr
    assert "no broker here" in failed.stderr, "with the last lines of its log"
    fleet_serves("2", "2")
    workers_run_from(app, "2")

    assert schedulers() == ["1", "0", "0"]

    (app / "shipstate.toml").write_text(config.replace(WORKER + SCHEDULER, "\n"))
    set_version(app, "4")
    assert "~ stop processes" in ok("apply", *INVENTORY, "--yes", cwd=app).stdout
    for address in host_addresses():
        assert on_host(address, "pgrep -fc '[i]mport os, time'").stdout.strip() == "0"
    assert schedulers() == ["0", "0", "0"]
    assert "No changes" in ok("plan", *INVENTORY, cwd=app).stdout


NO_OP_MIGRATION = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("pages", "0001_initial")]
    operations = []
"""


def commit_lines(output: str, symbol: str) -> list[str]:
    return re.findall(rf"^  {re.escape(symbol)} [0-9a-f]{{7,}} (.+)$", output, re.M)


def test_the_plan_shows_the_commits_a_change_makes_live_and_those_it_undoes(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    first = git(app, "rev-parse", "HEAD").strip()
    set_version(app, "2")
    (app / "pages" / "migrations" / "0002_nothing.py").write_text(NO_OP_MIGRATION)
    set_version(app, "3")
    head = git(app, "rev-parse", "HEAD").strip()
    planned = ok("plan", *INVENTORY, cwd=app).stdout
    assert f"Commits on sandbox-1, sandbox-2, sandbox-3: {first[:12]} -> {head[:12]}" in planned
    assert commit_lines(planned, "+") == ["version 3", "version 2"]
    assert commit_lines(planned, "-") == [] and "undone" not in planned
    ok("apply", *INVENTORY, "--yes", cwd=app)

    older = ok("plan", *INVENTORY, "--ref", "HEAD~1", cwd=app).stdout
    assert (commit_lines(older, "+"), commit_lines(older, "-")) == ([], ["version 3"])
    assert f"1 commit(s) live now not in {git(app, 'rev-parse', 'HEAD~1')[:12]}: undone" in older
    undone = (
        "1 migration(s) of pages live now not in {}: the database keeps what they did; if that "
        "commit cannot work with it, reverse them first, while the live release has them: "
        "shipstate run -i inventories/sandbox.py --all -- python manage.py migrate pages "
        "0001_initial"  # the migrate hook runs on every host: SQLite on each
    )
    assert undone.format(git(app, "rev-parse", "HEAD~1")[:12]) in " ".join(older.split())
    back = ok("set-active", "previous", *INVENTORY, "--yes", cwd=app).stdout
    assert commit_lines(back, "-") == ["version 3", "version 2"]
    assert undone.format(first[:12]) in " ".join(back.split())
    assert "migration(s)" not in planned, "none undone"
    assert "No changes" in ok("plan", *INVENTORY, "--ref", "HEAD~2", cwd=app).stdout
    git(app, "commit", "--amend", "-q", "-m", "version 3, amended")
    git(app, "reflog", "expire", "--expire=now", "--all")
    git(app, "gc", "-q", "--prune=now")
    forgotten = ok("set-active", "latest", *INVENTORY, "--yes", cwd=app).stdout
    assert f"this repository lacks {first[:12]} or {head[:12]}: `git fetch`" in forgotten


BUILD_SCRIPT = """\
import pathlib, sys, time

with open(sys.argv[1], "a") as runs:
    runs.write("run\\n")
if pathlib.Path("untracked.txt").exists():
    sys.exit("the build sees files the commit does not have")
if pathlib.Path("break-the-build").exists():
    sys.exit("the build broke")
time.sleep(2)  # as a frontend's build takes a while: the apply waits for it, saying so
pathlib.Path("assets").mkdir()
version = pathlib.Path("hello/version.py").read_text().strip()
pathlib.Path("assets/built.txt").write_text(f"built from {version}")
"""


def test_the_files_git_lfs_keeps_are_deployed_not_their_pointers(app):
    git(app, "lfs", "install", "--local")
    git(app, "lfs", "track", "*.svg")
    banner = '<svg xmlns="http://www.w3.org/2000/svg"><text>kept by Git LFS</text></svg>\n'
    (app / "pages" / "static" / "pages" / "banner.svg").write_text(banner)
    commit(app, "a banner Git LFS keeps")
    assert git(app, "cat-file", "-p", "HEAD:pages/static/pages/banner.svg").startswith("version ")
    ok("apply", *INVENTORY, "--limit", "sandbox-1", "--yes", cwd=app)
    address = host_addresses()[0]
    assert http_get(f"http://{address}/static/pages/banner.svg", "localhost")[:2] == (200, banner)


def test_a_build_runs_on_this_machine_once_per_commit_and_its_outputs_are_deployed(app, tmp_path):
    runs = tmp_path / "runs"
    (app / "build.py").write_text(BUILD_SCRIPT)
    with open(app / "shipstate.toml", "a") as config:
        config.write(f'\n[build]\ncommand = "python3 build.py {runs}"\noutputs = ["assets/"]\n')
    commit(app, "a build")
    (app / "untracked.txt").write_text("not in the commit")
    first = ok("apply", *INVENTORY, "--limit", "sandbox-1", "--yes", cwd=app)
    assert "build: running `python3 build.py" in first.stderr and "build: done (" in first.stderr
    assert re.search(
        r"\narchiving commit \w{12}\n(.*\n)*archived: [\d.]+ MB compressed\n", first.stderr
    )
    assert f"with what `python3 build.py {runs}` makes on this machine" in first.stdout
    assert runs.read_text() == "run\n"
    built = on_host(host_addresses()[0], "cat /srv/hello/current/assets/built.txt").stdout
    assert built == 'built from VERSION = "1"'
    everywhere = ok("apply", *INVENTORY, "--yes", cwd=app)
    assert "made before" in everywhere.stderr and runs.read_text() == "run\n", "not built again"
    for address in host_addresses():
        built = on_host(address, "cat /srv/hello/current/assets/built.txt").stdout
        assert built == 'built from VERSION = "1"'

    (app / "untracked.txt").unlink()
    (app / "break-the-build").write_text("")
    set_version(app, "2")
    broken = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert broken.code == 1 and "Traceback" not in broken.stderr
    said = f"error: the build `python3 build.py {runs}` failed (exit status 1); its last lines:"
    assert f"{said}\nthe build broke\nhint: nothing changed on the servers" in broken.stderr
    fleet_serves("1", "1")


def test_a_second_app_on_the_same_servers_gets_a_port_of_its_own_and_cannot_take_the_first_ones(
    app, tmp_path
):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    blog = make_app(tmp_path / "blog")
    config = blog / "shipstate.toml"
    config.write_text(config.read_text().replace('name = "hello"', 'name = "blog"'))
    set_version(blog, "blog")
    commit(blog, "the blog")
    try:
        ok("sandbox", "up", "--hosts", str(len(host_addresses())), cwd=blog)
        inventory = blog / "inventories" / "sandbox.py"
        port = re.search(r'"http_port": (\d+)', inventory.read_text()).group(1)
        ok("apply", *INVENTORY, "--yes", cwd=blog)
        for address in host_addresses():
            assert served(address) == ("1", "1") and served(f"{address}:{port}")[0] == "blog"

        inventory.write_text(inventory.read_text().replace(f', "http_port": {port}', ""))
        set_version(blog, "blog2")
        commit(blog, "the blog on the first app's port")
        refused = shipstate("apply", *INVENTORY, "--yes", cwd=blog)
        assert refused.code == 1 and "no host was switched" in refused.stderr
        assert 'conflicting server name "_" on 127.0.0.11:80, ignored' in refused.stderr
        assert "sandbox-1: check nginx config:" in refused.stderr
        assert "hint: another site on this server answers for _ on 127.0.0.11:80 too" in (
            refused.stderr
        )
        for address in host_addresses():
            assert served(address) == ("1", "1") and served(f"{address}:{port}")[0] == "blog"
    finally:
        for address in host_addresses():
            on_host(
                address,
                "rm -f /srv/blog/supervisor/*.conf /srv/blog/nginx/*.conf; "
                "supervisorctl update >/dev/null; nginx -s reload",
            )


def test_a_host_that_is_down_stops_the_apply_which_can_go_on_without_it(app):
    inventory = app / "inventories" / "sandbox.py"
    (app / "inventories" / "ghost.py").write_text(
        inventory.read_text()
        + 'web.append(("ghost", {**_ssh, "ssh_hostname": "127.0.0.254", "ssh_port": 9}))\n'
    )
    refused = shipstate("apply", "-i", "ghost", "--yes", cwd=app)
    assert refused.code == 1 and "error: could not connect to ghost: " in refused.stderr
    assert "name them (or their group) with --limit" in refused.stderr
    listing = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    assert all(not host["releases"] for host in listing["hosts"].values()), "nothing changed"
    answering = [arg for n in (1, 2, 3) for arg in ("--limit", f"sandbox-{n}")]
    ok("apply", "-i", "ghost", *answering, "--yes", cwd=app)
    fleet_serves("1", "1")


def test_keep_releases_never_purges_active_or_previous(app):
    config = app / "shipstate.toml"
    config.write_text(config.read_text().replace("keep_releases = 4", "keep_releases = 3"))
    commit(app, "keep 3")
    for version in "12345":
        set_version(app, version)
        ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("5", "5")
    listing = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    for host in listing["hosts"].values():
        assert [r["id"] for r in host["releases"]] == [3, 4, 5]

    ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
    ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
    fleet_serves("3", "3")
    set_version(app, "6")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("6", "6")
    listing = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    for host in listing["hosts"].values():
        assert [r["id"] for r in host["releases"]] == [3, 5, 6], "3 was replaced: kept"
    for address in host_addresses():
        programs = on_host(address, "supervisorctl status").stdout
        running = re.findall(r"^hello-(\d+)\s+RUNNING", programs, re.M)
        assert running == ["3", "6"], ("6 and 3, the one it replaced, kept warm", programs)
        logs = on_host(address, "ls /srv/hello/logs").stdout.split()
        assert logs == ["hello-3.log", "hello-5.log", "hello-6.log"], "purged with its release"


def test_bad_release_names_fail_clearly_and_change_nothing(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    for name in ("../../etc", "0", "1.5", "7; rm -rf /", "$(reboot)", "99"):
        result = shipstate("set-active", name, *INVENTORY, "--yes", cwd=app)
        assert result.code == 1, (name, result.output)
        assert "error:" in result.stderr and "hint:" in result.stderr
        assert "Traceback" not in result.output
    fleet_serves("1", "1")


def test_a_root_holding_another_tools_releases_is_refused_and_kept(app):
    """Deployer's deploy_path, then Capistrano's deploy_to, given as `root`: their releases are
    not leftovers, their `current` not a link to replace."""
    deployer, capistrano = host_addresses()[:2]
    cap_release = "/srv/hello/releases/20261201120000"
    kept = {deployer: ["1", "releases/1"], capistrano: ["20261201120000", cap_release]}
    on_host(deployer, "mkdir -p /srv/hello/releases/1 && ln -s releases/1 /srv/hello/current")
    on_host(capistrano, f"mkdir -p {cap_release} && ln -s {cap_release} /srv/hello/current")
    for command in (("plan",), ("apply", "--yes")):
        result = shipstate(*command, *INVENTORY, cwd=app)
        assert result.code == 1 and "Traceback" not in result.output, result.output
        for error in (
            "sandbox-1: releases/1 in the app root was not made by shipstate",
            f"sandbox-2: current -> {cap_release} in the app root was not made by shipstate",
            "hint: give shipstate a directory of its own: `root`",
        ):
            assert error in result.stderr, result.stderr
    for address, listing in kept.items():
        found = on_host(address, "ls /srv/hello/releases && readlink /srv/hello/current").stdout
        assert found.split() == listing
    assert on_host(host_addresses()[2], "ls /srv/hello/releases").stdout == "", "nothing built"


def test_a_root_the_deploy_user_cannot_create_is_named_with_bootstrap_as_the_way(app):
    config = app / "shipstate.toml"
    config.write_text('root = "/srv/hello-shipstate"\n' + config.read_text())
    commit(app, "a root of its own")
    result = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert result.code == 1 and "Traceback" not in result.output, result.output
    assert "cannot take the deploy lock in /srv/hello-shipstate/.lock" in result.stderr
    assert "`shipstate bootstrap -i INVENTORY --user root` makes it so" in result.stderr
    assert "hello-shipstate" not in on_host(host_addresses()[0], "ls /srv").stdout.split()


def test_template_error_fails_plan_before_connecting(app):
    (app / "deploy_templates").mkdir()
    (app / "deploy_templates" / "nginx.conf.j2").write_text("server { listen {{ nope }}; }\n")
    commit(app, "broken template")
    unreachable = app / "inventories" / "unreachable.py"
    unreachable.write_text('web = [("ghost", {"ssh_hostname": "127.0.0.254", "ssh_port": 9})]\n')
    result = shipstate("plan", "-i", str(unreachable), cwd=app)
    assert result.code == 1
    assert "nginx.conf.j2" in result.stderr and "'nope' is undefined" in result.stderr
    assert "connecting" not in result.stderr and "Traceback" not in result.output


def test_a_shared_file_the_commit_has_as_a_directory_stops_the_plan(app):
    (app / "media" / "covers").mkdir(parents=True)
    (app / "media" / "covers" / "default.png").write_text("png\n")
    config = app / "shipstate.toml"
    config.write_text(config.read_text().replace('"media/"', '"media"'))
    commit(app, "media shared as a file")
    refused = shipstate("plan", *INVENTORY, cwd=app)
    assert refused.code == 1 and "Traceback" not in refused.output
    assert "error: shared lists 'media' as a file, and it is a directory in commit" in (
        refused.stderr
    )


def test_dirty_tree_is_refused_unless_allowed(app):
    git(app, "add", "--force", "inventories/sandbox.py")  # committed with the app, by some
    set_version(app, "1")
    inventory = app / "inventories" / "sandbox.py"
    inventory.write_text(inventory.read_text() + "# changed, not committed\n")
    # the inventory is read as it is (`sandbox up` rewrites it): a change there is not the app's
    ok("apply", "-i", "sandbox", "--yes", cwd=app)
    fleet_serves("1", "1")
    (app / "hello" / "version.py").write_text('VERSION = "dirty"\n')
    refused = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert refused.code == 1 and "--allow-dirty" in refused.stderr
    assert "changes to tracked files: hello/version.py" in refused.stderr
    ok("apply", *INVENTORY, "--yes", "--allow-dirty", cwd=app)
    fleet_serves("dirty", "2")
    listing = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    assert all(h["releases"][-1]["dirty"] for h in listing["hosts"].values())
    assert not any(h["releases"][0]["dirty"] for h in listing["hosts"].values())


def test_apply_without_terminal_needs_yes(app):
    result = shipstate("apply", *INVENTORY, cwd=app)
    assert result.code == 1 and "--yes" in result.stderr
    assert "No releases" not in result.output
    listing = json.loads(ok("releases", *INVENTORY, "--json", cwd=app).stdout)
    assert all(h["releases"] == [] for h in listing["hosts"].values())


def test_saved_plan_applies_exactly_and_refuses_when_stale(app):
    one = ("--limit", "sandbox-1")
    address = host_addresses()[0]
    ok("plan", *INVENTORY, *one, "--out", "first.plan", cwd=app)
    set_version(app, "2")  # the saved plan still names version 1's commit
    applied = ok("apply", *INVENTORY, *one, "first.plan", cwd=app)
    assert "Applied." in applied.stdout
    assert served(address) == ("1", "1")

    ok("plan", *INVENTORY, *one, "--out", "second.plan", cwd=app)
    ok("set-active", "1", *INVENTORY, *one, "--yes", cwd=app)  # nothing to do: 1 is active
    ok("apply", *INVENTORY, *one, "--yes", cwd=app)  # the host changes: release 2
    stale = shipstate("apply", *INVENTORY, *one, "second.plan", cwd=app)
    assert stale.code == 1 and "stale: sandbox-1 changed" in stale.stderr, stale.output
    assert served(address) == ("2", "2")

    other_hosts = shipstate("apply", *INVENTORY, "second.plan", cwd=app)
    assert other_hosts.code == 1 and "same inventory and --limit" in other_hosts.stderr
    (app / "garbage.plan").write_text("{not a plan")
    garbage = shipstate("apply", *INVENTORY, *one, "garbage.plan", cwd=app)
    assert garbage.code == 1 and "not a plan saved by" in garbage.stderr
    assert "connecting" not in other_hosts.output + garbage.output
    assert "Traceback" not in stale.output + other_hosts.output + garbage.output


def imports(module: str, release: str = "current") -> list[bool]:
    """Whether the release's environment imports `module`, on each host."""
    python = f"/srv/hello/{release}/venv/bin/python"
    return [on_host(a, f"{python} -c 'import {module}'").returncode == 0 for a in host_addresses()]


def test_dependencies_from_a_uv_lock(app):
    """`requirements = "uv.lock"`: the environment holds exactly what the lock says (uv sync
    --frozen), keyed by the lock: a code-only release reuses it, a changed lock builds anew."""
    fixtures = Path(__file__).parent / "fixtures" / "uv"
    (app / "requirements.txt").unlink()
    shutil.copy(fixtures / "pyproject.toml", app / "pyproject.toml")
    shutil.copy(fixtures / "uv.lock", app / "uv.lock")
    config = app / "shipstate.toml"
    config.write_text(config.read_text().replace("requirements.txt", "uv.lock"))
    commit(app, "dependencies locked by uv")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")
    versions = "import django, gunicorn; print(django.__version__, gunicorn.__version__)"
    for address in host_addresses():
        found = on_host(address, f"/srv/hello/current/venv/bin/python -c {shlex.quote(versions)}")
        assert found.stdout.split() == ["5.2.19", "23.0.0"], found.stderr

    set_version(app, "2")
    assert "reused" in ok("plan", *INVENTORY, cwd=app).stdout
    ok("apply", *INVENTORY, "--yes", cwd=app)

    shutil.copy(fixtures / "pyproject-six.toml", app / "pyproject.toml")
    shutil.copy(fixtures / "uv-six.lock", app / "uv.lock")
    commit(app, "six added to the lock")
    assert "built" in ok("plan", *INVENTORY, cwd=app).stdout
    uv = "stat -c %i /srv/hello/.tools/bin/uv"
    installed = [on_host(address, uv).stdout for address in host_addresses()]
    no_pip = "ls /srv/hello/.tools/bin/pip /srv/hello/.tools/lib/python3*/site-packages/pip"
    for address in host_addresses():  # pip installed uv from the wheel ensurepip has
        assert on_host(address, no_pip).stderr.count("No such file") == 2
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "3")
    assert [on_host(address, uv).stdout for address in host_addresses()] == installed, (
        "uv, installed for the first environment, is not installed again"
    )
    assert imports("six") == [True] * 3
    assert imports("six", "releases/2") == [False] * 3, "release 2's environment is not changed"


def test_dependencies_from_a_poetry_pipenv_or_pdm_lock(app):
    """`requirements = "poetry.lock"` (Poetry 2), `"Pipfile.lock"` or `"pdm.lock"`: the
    environment holds the packages the lock pins for the app (Poetry's main group, Pipenv's
    [packages], PDM's default group), their hashes checked, not those for development only nor
    another platform's (tzdata on Windows); it is keyed by those alone, so a lock changed for
    development only reuses it."""
    fixtures = Path(__file__).parent / "fixtures"
    (app / "requirements.txt").unlink()
    shutil.copy(fixtures / "poetry" / "pyproject.toml", app / "pyproject.toml")
    shutil.copy(fixtures / "poetry" / "poetry.lock", app / "poetry.lock")
    config = app / "shipstate.toml"
    config.write_text(config.read_text().replace("requirements.txt", "poetry.lock"))
    commit(app, "dependencies locked by Poetry")
    ok("plan", *INVENTORY, "--out", "first.plan", cwd=app)
    ok("apply", *INVENTORY, "first.plan", cwd=app)  # made of the commit's lock again
    fleet_serves("1", "1")
    probe = (
        "import importlib.util, django, gunicorn; print(django.__version__, gunicorn.__version__,"
        " *(bool(importlib.util.find_spec(m)) for m in ('pytest', 'tzdata')))"
    )
    for address in host_addresses():
        found = on_host(address, f"/srv/hello/current/venv/bin/python -c {shlex.quote(probe)}")
        assert found.stdout.split() == ["5.2.19", "23.0.0", "False", "False"], found.stderr

    shutil.copy(fixtures / "poetry" / "pyproject-dev-bumped.toml", app / "pyproject.toml")
    shutil.copy(fixtures / "poetry" / "poetry-dev-bumped.lock", app / "poetry.lock")
    commit(app, "pytest for development changed")
    assert re.search(r"environment \w+ reused", ok("plan", *INVENTORY, cwd=app).stdout)
    ok("apply", *INVENTORY, "--yes", cwd=app)

    for name in ("pyproject.toml", "poetry.lock"):
        (app / name).unlink()
    lock = (fixtures / "pipenv" / "Pipfile.lock").read_text()
    django_hashes = re.search(r'"django": \{\s*"hashes": \[([^]]*)\]', lock)[1]
    wrong = re.sub(r"(?<=sha256:)\w+", lambda digest: digest[0][::-1], django_hashes)
    (app / "Pipfile.lock").write_text(lock.replace(django_hashes, wrong))
    config.write_text(config.read_text().replace("poetry.lock", "Pipfile.lock"))
    commit(app, "dependencies locked by Pipenv, one hash wrong")
    failed = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert failed.code == 1 and "Hash mismatch for `django==5.2.19`" in failed.stderr
    fleet_serves("1", "2")

    shutil.copy(fixtures / "pipenv" / "Pipfile.lock", app / "Pipfile.lock")
    commit(app, "dependencies locked by Pipenv")
    assert re.search(r"environment \w+ built", ok("plan", *INVENTORY, cwd=app).stdout)
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "3")
    assert imports("six") == [True] * 3 and imports("pytest") == [False] * 3

    (app / "Pipfile.lock").unlink()
    shutil.copy(fixtures / "pdm" / "pyproject.toml", app / "pyproject.toml")
    shutil.copy(fixtures / "pdm" / "pdm.lock", app / "pdm.lock")
    config.write_text(config.read_text().replace("Pipfile.lock", "pdm.lock"))
    commit(app, "dependencies locked by PDM")
    assert re.search(r"environment \w+ built", ok("plan", *INVENTORY, cwd=app).stdout)
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "4")
    assert imports("setproctitle") == [True] * 3, "gunicorn[setproctitle]'s extra"
    assert imports("six") == [False] * 3 and imports("pytest") == [False] * 3
    shutil.copy(fixtures / "pdm" / "pyproject-dev-bumped.toml", app / "pyproject.toml")
    shutil.copy(fixtures / "pdm" / "pdm-dev-bumped.lock", app / "pdm.lock")
    commit(app, "pytest for development changed")
    assert re.search(r"environment \w+ reused", ok("plan", *INVENTORY, cwd=app).stdout)


ASGI_APP = """\
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hello.settings")
django_app = get_asgi_application()


async def application(scope, receive, send):
    \"\"\"Django for HTTP; a websocket echoes each text it is sent, upper-cased.\"\"\"
    if scope["type"] != "websocket":
        return await django_app(scope, receive, send)
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event["text"].upper()})
        else:
            return
"""


def websocket_echo(address: str, text: str) -> tuple[str, str]:
    """The answer's status line to a websocket's opening at /ws/ through nginx, and the text
    sent back for `text` (one masked frame, as a client sends)."""
    with socket.create_connection((address, 80), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /ws/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13"
            "\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        status = head.split(b"\r\n")[0].decode()
        if " 101 " not in status:
            return status, ""
        payload, mask = text.encode(), os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        frame = b""
        while len(frame) < 2 + len(payload):
            frame += sock.recv(64)
        return status, frame[2:].decode()


def test_an_asgi_app_is_served_with_its_websockets(app):
    """`asgi` instead of `wsgi`: gunicorn serves the app through uvicorn's worker (installed
    beside gunicorn), nginx passes websockets on; releases switch as for WSGI."""
    (app / "hello" / "asgi.py").write_text(ASGI_APP)
    config = app / "shipstate.toml"
    config.write_text(
        config.read_text().replace(
            'wsgi = "hello.wsgi:application"', 'asgi = "hello.asgi:application"'
        )
    )
    commit(app, "served as ASGI")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")
    for address in host_addresses():
        assert websocket_echo(address, "hello") == ("HTTP/1.1 101 Switching Protocols", "HELLO")
        log = on_host(address, "cat /srv/hello/logs/hello-1.log").stdout
        assert "Using worker: uvicorn_worker.UvicornWorker" in log, log
    set_version(app, "2")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
    assert websocket_echo(host_addresses()[0], "again") == (
        "HTTP/1.1 101 Switching Protocols",
        "AGAIN",
    )
    ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")


def test_dependencies_from_a_pyproject(app):
    """`requirements = "pyproject.toml"`: its [project] dependencies are installed (uv); one
    without such a list is refused before anything connects."""
    fixtures = Path(__file__).parent / "fixtures" / "uv"
    (app / "requirements.txt").unlink()
    pyproject = app / "pyproject.toml"
    pyproject.write_text('[project]\nname = "hello"\nversion = "1"\ndynamic = ["dependencies"]\n')
    config = app / "shipstate.toml"
    config.write_text(config.read_text().replace("requirements.txt", "pyproject.toml"))
    commit(app, "dependencies from the build backend")
    refused = shipstate("plan", *INVENTORY, cwd=app)
    assert refused.code == 1 and "no [project] dependencies list" in refused.stderr
    assert "connecting" not in refused.output and "Traceback" not in refused.output

    shutil.copy(fixtures / "pyproject-six.toml", pyproject)
    commit(app, "dependencies in pyproject.toml")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")
    assert imports("six") == [True] * 3


def test_the_python_the_app_names_runs_it(app):
    """`python = "python3.12"`: a Python beside the servers' python3 (3.11 on Debian 12), as
    Django 6 needs; the sandbox's hosts have the machine's pyenv Pythons as python3.X."""
    config = app / "shipstate.toml"
    config.write_text('python = "python3.12"\n' + config.read_text())
    commit(app, "Python 3.12")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")
    for address in host_addresses():
        version = on_host(address, "/srv/hello/current/venv/bin/python --version", "deploy")
        assert version.stdout.startswith("Python 3.12."), version.stdout + version.stderr


def test_without_uv_pip_builds_the_environment_and_says_so(app):
    """uv cannot be installed (here: a leftover of root's that its install cannot remove)."""
    blocked = "rm -rf /srv/hello/.tools && mkdir -p /srv/hello/.tools.tmp/x && touch {}/x/y"
    try:
        for address in host_addresses():
            on_host(address, blocked.format("/srv/hello/.tools.tmp"))
        applied = ok("apply", *INVENTORY, "--yes", cwd=app)
        fleet_serves("1", "1")
        said = "all 3 hosts: environment: uv could not be installed, so pip built the environment"
        assert said in applied.stderr.splitlines(), applied.stderr
        for address in host_addresses():
            built = on_host(
                address, "cat /srv/hello/current/venv/pyvenv.cfg; ls /srv/hello/.cache/wheels"
            )
            assert (
                " -m venv " in built.stdout and "gunicorn-23.0.0-py3-none-any.whl" in built.stdout
            )
    finally:
        for address in host_addresses():
            on_host(address, "rm -rf /srv/hello/.tools.tmp")


def test_an_app_server_that_stopped_is_started_again(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    first = host_addresses()[0]
    on_host(first, "supervisorctl stop hello-1")
    assert http_get(f"http://{first}/")[0] == 502, "nginx has no app server to pass to"
    planned = ok("plan", *INVENTORY, cwd=app).stdout
    assert "+ app server 1" in planned and "Plan: 1 to add, 0 to change, 0 to remove" in planned
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("1", "1")


def test_a_server_restarted_serves_the_active_release_and_runs_its_processes(app):
    with open(app / "shipstate.toml", "a") as config:
        config.write(WORKER)
    commit(app, "a worker")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    set_version(app, "2")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    first = host_addresses()[0]
    power_cycle(first)
    deadline = time.monotonic() + 30
    while http_get(f"http://{first}/")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # supervisord starts the app servers as it starts
    assert served(first) == ("2", "2")
    workers_run_from(app, "2")
    assert "No changes" in ok("plan", *INVENTORY, cwd=app).stdout


def log_seconds(stamp: str) -> int:
    """`2026-11-27 04:43:43 +0000` (gunicorn's log) or `27/Nov/2026:04:43:44 +0000` (access)."""
    from datetime import datetime

    for layout in ("%Y-%m-%d %H:%M:%S %z", "%d/%b/%Y:%H:%M:%S %z"):
        try:
            return int(datetime.strptime(stamp, layout).timestamp())
        except ValueError:
            continue
    raise AssertionError(f"not a log time: {stamp}")


def app_server_timeline(address: str, release: int) -> tuple[int, int, int, str]:
    """When the release's gunicorn started, when it was first asked /healthz, when its slow
    hook finished (seconds), and the directory the hook ran in."""
    log = on_host(address, f"cat /srv/hello/logs/hello-{release}.log").stdout
    started = re.search(r"^\[([^\]]+)\] \[\d+\] \[INFO\] Starting gunicorn", log, re.M)
    asked = re.search(r"\[([^\]]+)\] \"GET /healthz", log)
    hook = on_host(address, "cat /srv/hello/shared/var/hook-done /srv/hello/shared/var/hook-dir")
    done, directory = hook.stdout.split()
    return log_seconds(started.group(1)), log_seconds(asked.group(1)), int(done), directory


def test_app_server_starts_after_the_hooks_or_while_they_run_and_is_asked_after_them(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    config = app / "shipstate.toml"
    config.write_text(
        config.read_text()
        + '\n[[hooks]]\ncommand = "sleep 4 && pwd -P > var/hook-dir && date +%s > var/hook-done"\n'
    )
    set_version(app, "2")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
    for address in host_addresses():
        started, asked, hook_done, directory = app_server_timeline(address, 2)
        assert started >= hook_done, "by default, the app server starts after the hooks"
        assert directory == "/srv/hello/releases/2", "hooks run in the release's own directory"

    config.write_text(
        config.read_text().replace('name = "hello"', 'name = "hello"\nstart_during_hooks = true')
    )
    set_version(app, "3")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("3", "3")
    for address in host_addresses():
        started, asked, hook_done, _ = app_server_timeline(address, 3)
        assert started <= hook_done - 2, "start_during_hooks = true: it started while they ran"
        assert asked >= hook_done, "its health check came after the hooks"


def test_run_a_command_and_read_the_logs_of_the_active_release(app):
    idle = shipstate("run", *INVENTORY, "--", "true", cwd=app)
    assert idle.code == 1 and "no active release on sandbox-1" in idle.stderr
    idle = shipstate("logs", *INVENTORY, cwd=app)
    assert idle.code == 1 and "no active release on sandbox-1, sandbox-2, sandbox-3" in idle.stderr
    views = app / "pages" / "views.py"
    fails = '    if "fail" in request.GET:\n        raise RuntimeError("on purpose")\n'
    fails += '    if "frozen" in request.GET:\n        import gc\n'
    fails += "        return HttpResponse(str(gc.get_freeze_count()))\n"
    healthz = "def healthz(request):\n"
    views.write_text(views.read_text().replace(healthz, healthz + fails))
    commit(app, "a page that fails when asked to")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    assert http_get(f"http://{host_addresses()[0]}/healthz?fail")[0] == 500
    status, frozen, _ = http_get(f"http://{host_addresses()[0]}/healthz?frozen")
    assert status == 200 and int(frozen) > 10000, "a worker leaves the app's objects to the master"
    logs = ok("logs", *INVENTORY, "-n", "30", cwd=app).stdout
    assert "sandbox-1: RuntimeError: on purpose" in logs, "Django with DEBUG off and no LOGGING"
    assert "[ERROR] Internal Server Error: /healthz" in logs
    logs = ok("logs", *INVENTORY, "-n", "5", cwd=app).stdout.splitlines()
    for n in (1, 2, 3):
        assert [line for line in logs if re.match(f"sandbox-{n}: .*GET /healthz", line)], logs
    for address in host_addresses():
        assert http_get(f"http://{address}/hello-from-a-client")[0] == 404
    logs = ok("logs", *INVENTORY, "-n", "1", cwd=app).stdout.splitlines()
    for n in (1, 2, 3):  # with the client's address, which gunicorn itself does not see
        client = rf'sandbox-{n}: 127\.[\d.]+ - - \[.*\] "GET /hello-from-a-client HTTP/1\.0" 404'
        assert [line for line in logs if re.match(client, line)], logs
    show = "import os; from hello.version import VERSION; print(VERSION, os.getcwd(), os.environ"
    show += "['SHIPSTATE_RELEASE'], os.environ['ALLOWED_HOSTS'], os.environ['PATH'].split(':')[0])"
    once = ok(
        "run", *INVENTORY, "--", "python", "manage.py", "shell", "-v", "0", "-c", show, cwd=app
    )
    assert once.stdout.splitlines() == [
        "1 /srv/hello/releases/1 1 * /srv/hello/releases/1/venv/bin"
    ]
    quoted = ("sh", "-c", 'echo "$(id -un)" "$1"', "-", "$(id)")
    every = ok("run", *INVENTORY, "--all", "--", *quoted, cwd=app)
    lines = sorted(every.stdout.splitlines())
    assert lines == [f"sandbox-{n}: deploy $(id)" for n in (1, 2, 3)], lines
    assert ok("run", *INVENTORY, "--", "cat", cwd=app).stdout == "", "stdin is empty, not open"
    failed = shipstate("run", *INVENTORY, "--", "python", "manage.py", "no_such_command", cwd=app)
    assert failed.code == 1 and "Unknown command: 'no_such_command'" in failed.stderr
    assert "python manage.py no_such_command failed on sandbox-1" in failed.stderr
    assert "Traceback" not in failed.stderr
    inventory = (app / "inventories" / "sandbox.py").read_text()
    down = inventory + 'web.append(("down", {**_ssh, "ssh_hostname": "127.0.0.99"}))\n'
    (app / "inventories" / "one-down.py").write_text(down)
    first = ok("run", "-i", "inventories/one-down.py", "--", "echo", "ok", cwd=app)
    assert first.stdout == "ok\n", "run connects to the first host only: another down is no matter"
    run_with_a_terminal(app)
    interrupt_a_run(app)
    follow_the_logs(app)


def interrupt_a_run(app):
    """Ctrl-C stops `run`'s command on every host: run without a terminal, it would outlive
    its SSH connection."""
    running = start("run", *INVENTORY, "--all", "--", "sleep", "300", cwd=app)

    def sleeping(address: str) -> bool:
        return on_host(address, "pgrep -f '[s]leep 300'").returncode == 0

    deadline = time.monotonic() + 30
    while not all(sleeping(address) for address in host_addresses()):
        assert time.monotonic() < deadline and running.poll() is None, "the command did not start"
    running.send_signal(signal.SIGINT)
    result = finish(running, timeout=30)
    assert result.code == 130 and "interrupted" in result.stderr, result.output
    assert not any(sleeping(address) for address in host_addresses()), "stopped on every host"


def follow_the_logs(app):
    """`logs -f` prints each host's new lines as they are written, until Ctrl-C."""
    following = start("logs", *INVENTORY, "-n", "1", "-f", cwd=app)
    shown: list[str] = []
    reader = threading.Thread(target=lambda: shown.extend(following.stdout), daemon=True)
    reader.start()

    def seen(pattern: str) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(re.match(pattern, line) for line in list(shown)):
                return True
            time.sleep(0.1)
        return False

    assert seen(r"sandbox-3: "), shown  # the last line, then the new ones
    for n, address in enumerate(host_addresses(), 1):
        http_get(f"http://{address}/followed-{n}")
        assert seen(rf'sandbox-{n}: 127\.[\d.]+ - - .*"GET /followed-{n} HTTP'), shown
    following.send_signal(signal.SIGINT)
    assert following.wait(timeout=30) == 0, shown + following.stderr.readlines()
    reader.join(timeout=30)
    for address in host_addresses():
        assert on_host(address, "pgrep -f '[t]ail -n 1 -F'").stdout == "", "no tail left behind"


def run_with_a_terminal(app):
    """`run --tty`: the command reads what is typed at this terminal, and has one itself."""
    typed = b"import os; print(6 * 7, os.environ['SHIPSTATE_RELEASE'], os.isatty(0))\r"
    dialogue = ((b">>> ", typed), (b"42 ", b"exit(3)\r"))
    shell = ("run", *INVENTORY, "-t", "--", "python", "manage.py", "shell", "-i", "python")
    code, shown = in_terminal(*shell, cwd=app, dialogue=dialogue)
    assert code == 3, shown
    assert "42 1 True" in shown and "Traceback" not in shown
    without = shipstate(*shell, cwd=app)
    assert without.code == 1 and "error: --tty needs a terminal: stdin is not one" in without.stderr
    every = shipstate("run", *INVENTORY, "--all", "-t", "--", "true", cwd=app)
    assert every.code == 1 and "error: --tty runs on one host, not --all" in every.stderr


def test_a_hook_is_skipped_while_its_inputs_are_as_in_the_active_release(app):
    config = app / "shipstate.toml"
    config.write_text(
        config.read_text()
        + '\n[[hooks]]\ncommand = "echo ran >> var/built.log && mkdir -p out && cp -r pages/static'
        ' out/"\ninputs = ["pages/static"]\noutputs = ["out"]\n'
    )
    commit(app, "a hook with inputs and outputs")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    style = app / "pages" / "static" / "pages" / "style.css"

    def built(release: int) -> list[tuple[str, str]]:
        return [
            tuple(
                on_host(
                    address,
                    f"cat /srv/hello/shared/var/built.log | wc -l; "
                    f"cat /srv/hello/releases/{release}/out/static/pages/style.css",
                ).stdout.split("\n", 1)
            )
            for address in host_addresses()
        ]

    set_version(app, "2")
    planned = ok("plan", *INVENTORY, cwd=app).stdout
    assert "inputs as in release 1, so skipped: `python manage.py migrate --noinput`, " in planned
    assert "`echo ran >> var/built.log" in planned
    ok("apply", *INVENTORY, "--yes", cwd=app)
    fleet_serves("2", "2")
    assert built(2) == [("1", style.read_text())] * 3, "skipped; its outputs copied from 1"
    for address in host_addresses():
        status, _, _ = http_get(f"http://{address}/static/pages/style.css")
        assert status == 200, "collectstatic's output was copied too"

    style.write_text(style.read_text() + "/* changed */\n")
    commit(app, "a static file changed")
    planned = ok("plan", *INVENTORY, cwd=app).stdout
    assert "skipped: `python manage.py migrate --noinput`\n" in planned, "only migrate"
    ok("apply", *INVENTORY, "--yes", cwd=app)
    assert built(3) == [("2", style.read_text())] * 3, "an input changed: it ran"
    for address in host_addresses():
        _, body, _ = http_get(f"http://{address}/static/pages/style.css")
        assert "/* changed */" in body

    settings = app / "hello" / "settings.py"
    settings.write_text(settings.read_text() + "# changed\n")
    commit(app, "the settings changed")
    planned = ok("plan", *INVENTORY, cwd=app).stdout
    skipped = re.findall(r"so skipped: (.*)", planned)
    assert skipped and all(hooks.startswith("`echo ran") for hooks in skipped), planned
    assert "manage.py" not in "".join(skipped), (
        'collectstatic\'s "hello/settings.py" is after "!**/*.py"'
    )

    config.write_text(
        config.read_text().replace('ALLOWED_HOSTS = "*"', 'ALLOWED_HOSTS = "*"\nX = "1"')
    )
    commit(app, "[env] changed")
    assert "skipped" not in ok("plan", *INVENTORY, cwd=app).stdout, "[env] is an input of all"

    config.write_text(
        config.read_text()
        + '\n[[hooks]]\ncommand = "true"\ninputs = ["pages"]\noutputs = ["made"]\n'
    )
    commit(app, "a hook that does not make its outputs")
    failed = shipstate("apply", *INVENTORY, "--yes", cwd=app)
    assert failed.code == 1, failed.output
    assert "/srv/hello/releases/4/made: `true` did not make it, and its `outputs` say it" in (
        failed.stderr
    )
    fleet_serves("2", "3")
