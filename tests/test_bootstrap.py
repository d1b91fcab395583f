"""`shipstate bootstrap` on bare hosts (root ssh only), then a deploy as the deploy user; on a
sandbox host, which holds what bootstrap writes already."""

import contextlib
import json
import re
import shlex
import shutil
import subprocess

from conftest import (
    FLEET_SIZE,
    LEAST_PRIVILEGE,
    commit,
    deploy_user_privileges,
    http_get,
    make_app,
    ok,
    on_host,
    sandbox_ssh,
    set_version,
    shipstate,
)

INVENTORY = ("-i", "inventories/sandbox.py")


def test_bootstrap_bare_hosts_then_deploy_as_deploy(fleet, tmp_path):
    app = make_app(tmp_path / "app")
    try:
        ok("sandbox", "down")
        ok("sandbox", "up", "--hosts", "2", "--bare", "--app", "hello", cwd=app)
        addresses = ["127.0.0.11", "127.0.0.12"]

        not_a_key = shipstate("bootstrap", *INVENTORY, "--public-key", "manage.py", cwd=app)
        assert not_a_key.code == 1 and "not an OpenSSH public key" in not_a_key.stderr

        planned = ok("bootstrap", *INVENTORY, "--plan", cwd=app)
        assert planned.stdout.startswith("sandbox-1, sandbox-2: would change "), planned.stdout
        assert "deploy user deploy" in planned.stdout and "visudo" in planned.stdout
        assert "no such user" in on_host(addresses[0], "id deploy").stderr, "--plan changed it"

        first = ok("-q", "bootstrap", *INVENTORY, cwd=app)
        assert first.stdout.startswith("sandbox-1, sandbox-2: changed "), first.output
        assert first.stderr == "", "-q: results only"
        again = ok("bootstrap", *INVENTORY, cwd=app)
        assert again.stdout == "sandbox-1, sandbox-2: already set up, nothing to do\n", again.output
        assert "would change" not in ok("bootstrap", *INVENTORY, "--plan", cwd=app).stdout
        config = app / "shipstate.toml"
        # awk: a virtual package, which mawk provides
        config.write_text(
            'packages = ["jq", "awk", "shipstate-not-installed"]\n' + config.read_text()
        )
        wanted = ok("bootstrap", *INVENTORY, "--plan", cwd=app).stdout
        assert wanted.startswith("sandbox-1, sandbox-2: would change "), wanted
        assert "procps jq awk shipstate-not-installed" in wanted, "the app's packages after ours"
        config.write_text(config.read_text().replace(', "shipstate-not-installed"', ""))
        commit(app, "the app's packages")
        assert "would change" not in ok("bootstrap", *INVENTORY, "--plan", cwd=app).stdout

        absent = on_host(addresses[0], "dpkg -s figlet")
        assert absent.returncode != 0, "a package the hosts lack, to install"
        config.write_text(config.read_text().replace('"jq"', '"jq", "figlet"'))
        commit(app, "a package to install")
        for command in (("plan",), ("apply", "--yes")):
            refused = shipstate(*command, *INVENTORY, cwd=app)
            assert refused.code == 1 and "Traceback" not in refused.output, refused.output
            assert (
                "error: sandbox-1, sandbox-2: figlet not installed, which `packages` in "
                "shipstate.toml lists\nhint: install them with `shipstate bootstrap -i "
                "inventories/sandbox.py` (as root" in refused.stderr
            ), refused.stderr
        assert on_host(addresses[0], "ls /srv/hello/releases").stdout == "", "refused, unchanged"
        on_host(addresses[1], "touch /var/lib/dpkg/updates/0000")  # dpkg was interrupted
        on_host(addresses[1], NEEDRESTART_HOOK)
        with dpkg_locked(addresses[0], seconds=20) as holder:  # as unattended-upgrades does
            ok("bootstrap", *INVENTORY, cwd=app)  # apt-get update takes less than 20 s
            assert holder.poll() is not None, "it waited for the lock"
        for address in addresses:
            assert on_host(address, "dpkg -s figlet").returncode == 0
        assert on_host(addresses[1], "ls -A /var/lib/dpkg/updates").stdout == ""
        assert on_host(addresses[1], "test -e /etc/needrestart-ran").returncode == 1, (
            "needrestart's hook ran"
        )

        ok("apply", *INVENTORY, "--yes", cwd=app)
        for address in addresses:
            status, body, _ = http_get(f"http://{address}/healthz")
            assert status == 200 and json.loads(body)["release"] == "1", body
            assert deploy_user_privileges(address) == LEAST_PRIVILEGE
        sudoers = on_host(addresses[0], "ls /etc/sudoers.d; visudo -c >/dev/null && echo ok")
        assert "shipstate-deploy" in sudoers.stdout and "ok" in sudoers.stdout

        blog = make_app(tmp_path / "blog")
        blog_config = blog / "shipstate.toml"
        blog_config.write_text(blog_config.read_text().replace('name = "hello"', 'name = "blog"'))
        set_version(blog, "blog")
        commit(blog, "a second app")
        ok("sandbox", "up", "--hosts", "2", "--bare", cwd=blog)
        port = re.search(r'"http_port": (\d+)', (blog / INVENTORY[1]).read_text()).group(1)
        second = ok("bootstrap", *INVENTORY, cwd=blog)
        assert second.stdout.startswith("sandbox-1, sandbox-2: changed 4\n"), second.output
        ok("apply", *INVENTORY, "--yes", cwd=blog)
        for address in addresses:
            for site, version in ((address, "1"), (f"{address}:{port}", "blog")):
                status, body, _ = http_get(f"http://{site}/healthz")
                assert status == 200 and json.loads(body)["version"] == version, body
        other_user = (blog / INVENTORY[1]).read_text().replace('"deploy"', '"blogger"')
        (blog / "inventories" / "blogger.py").write_text(other_user)
        refused = shipstate("bootstrap", "-i", "blogger", "--plan", cwd=blog)
        assert refused.code == 1 and "Traceback" not in refused.output
        assert (
            "error: supervisord on sandbox-1, sandbox-2 is set up for deploy user deploy "
            "(another app's?)" in refused.stderr
        )
        assert "hint: deploy every app on a server as the same user: ssh_user = 'deploy'" in (
            refused.stderr
        )
    finally:
        ok("sandbox", "down")
        ok("sandbox", "up", "--hosts", str(FLEET_SIZE), "--app", "hello", cwd=fleet.parent.parent)
        shutil.rmtree(app, ignore_errors=True)


def test_bootstrap_then_deploy_and_roll_back_on_debian_13_hosts(fleet, tmp_path):
    """Hosts of Debian 13, as new servers now run (Python 3.13, OpenSSH 10, supervisor 4.2.5):
    bootstrap installs the app's packages there with apt, the app deploys and rolls back."""
    app = make_app(tmp_path / "app")
    try:
        ok("sandbox", "down")
        up = ("sandbox", "up", "--hosts", "2", "--bare", "--debian", "trixie", "--app", "hello")
        ok(*up, cwd=app)
        addresses = ["127.0.0.11", "127.0.0.12"]
        for address in addresses:
            assert on_host(address, "cat /etc/debian_version").stdout.startswith("13.")
        config = app / "shipstate.toml"
        config.write_text('packages = ["jq"]\n' + config.read_text())
        commit(app, "the app's packages")
        assert ok("bootstrap", *INVENTORY, cwd=app).stdout.startswith(
            "sandbox-1, sandbox-2: changed"
        )
        ok("apply", *INVENTORY, "--yes", cwd=app)
        set_version(app, "2")
        ok("apply", *INVENTORY, "--yes", cwd=app)
        ok("rollback", *INVENTORY, "--yes", cwd=app)
        for address in addresses:
            status, body, _ = http_get(f"http://{address}/healthz")
            assert status == 200 and json.loads(body)["version"] == "1", body
            assert on_host(address, "jq --version").returncode == 0
            python = on_host(address, "/srv/hello/current/venv/bin/python --version").stdout
            assert python.startswith("Python 3.13."), python
        again = shipstate("sandbox", "up", "--hosts", "2", "--app", "hello", cwd=app)
        assert again.code == 1 and "already up: 2 bare Debian 13 host(s)" in again.stderr
    finally:
        ok("sandbox", "down")
        ok("sandbox", "up", "--hosts", str(FLEET_SIZE), "--app", "hello", cwd=fleet.parent.parent)
        shutil.rmtree(app, ignore_errors=True)


def test_a_debian_release_the_sandbox_lacks_is_refused(tmp_path):
    refused = shipstate("sandbox", "up", "--debian", "14", "--app", "hello", cwd=tmp_path)
    assert refused.code == 1 and "Traceback" not in refused.stderr
    assert refused.stderr == (
        "error: --debian 14: not a Debian release the sandbox has\n"
        "hint: one of 12 (bookworm), 13 (trixie)\n"
    )


def test_a_python_the_debian_hosts_lack_is_named_as_they_start(tmp_path):
    """init's [environments.sandbox] python = "python3.12" (this machine's pyenv, for Django
    6) is none of Debian 13's hosts'."""
    from shipstate.sandbox import python_lacking_note

    root = tmp_path / "trixie"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "python3.13").touch()
    (root / "usr" / "bin" / "python3").symlink_to("python3.13")
    assert python_lacking_note(root, "13", "python3") is None
    assert python_lacking_note(root, "13", "python3.13") is None
    assert python_lacking_note(root, "13", "/usr/bin/python3.13") is None
    assert python_lacking_note(root, "13", "python3.12") == (
        'shipstate.toml gives the sandbox python = "python3.12", which Debian 13\'s hosts lack '
        "(their python3 is python3.13): set python there to one they have (remove "
        "[environments.sandbox]'s python to use python3), or apply fails to build the environment"
    )


# needrestart's apt hook, as Ubuntu 22.04+ has it; its stand-in notes that it ran (the real
# one asks which services to restart, and so waits for an answer) unless told to skip
NEEDRESTART_HOOK = """
hook=/usr/lib/needrestart/apt-pinvoke
mkdir -p /usr/lib/needrestart
printf '%s\\n' '#!/bin/sh' '[ -n "$NEEDRESTART_SUSPEND" ] || touch /etc/needrestart-ran' > $hook
chmod +x $hook
conf=/etc/apt/apt.conf.d/99needrestart
echo "DPkg::Post-Invoke {\\"test -x $hook && $hook -m u || true\\";};" > $conf
"""


@contextlib.contextmanager
def dpkg_locked(address: str, seconds: int):
    """dpkg's frontend lock held on the host, as apt holds it, for `seconds`."""
    hold = (
        "import fcntl, time; lock = open('/var/lib/dpkg/lock-frontend', 'w'); "
        f"fcntl.lockf(lock, fcntl.LOCK_EX); print('held', flush=True); time.sleep({seconds})"
    )
    holder = subprocess.Popen(
        sandbox_ssh(address, "root", shlex.join(["python3", "-c", hold])),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.wait(timeout=seconds + 30)


def test_bootstrap_on_a_sandbox_host_changes_nothing_and_moves_the_app_to_another_root(app):
    planned = ok("bootstrap", *INVENTORY, "--plan", cwd=app)
    assert planned.stdout == "sandbox-1, sandbox-2, sandbox-3: already set up, nothing to do\n"

    config = app / "shipstate.toml"
    config.write_text('root = "/srv/hello-moved"\n' + config.read_text())
    commit(app, "a root of its own")
    first = ("--limit", "sandbox-1")
    try:
        moved = ok("bootstrap", *INVENTORY, *first, cwd=app).stdout
        assert "~ /etc/nginx/conf.d/shipstate-hello.conf" in moved, moved
        assert "~ /etc/supervisor/shipstate.d/hello -> /srv/hello-moved/supervisor" in moved
        ok("apply", *INVENTORY, *first, "--yes", cwd=app)
        status, body, _ = http_get("http://127.0.0.11/healthz")
        assert status == 200 and json.loads(body)["release"] == "1", body
        site = on_host("127.0.0.11", "nginx -T 2>/dev/null | grep -c 'upstream hello_app'")
        assert site.stdout.strip() == "1", "one site for the app, from its new root only"
        assert "/srv/hello-moved/releases/1" in on_host("127.0.0.11", "ps -eo args").stdout
    finally:
        config.write_text(config.read_text().replace('root = "/srv/hello-moved"\n', ""))
        ok("bootstrap", *INVENTORY, *first, cwd=app)
        on_host("127.0.0.11", "rm -rf /srv/hello-moved")


def test_remove_takes_the_app_off_the_servers_and_bootstrap_sets_it_up_anew(app):
    ok("apply", *INVENTORY, "--yes", cwd=app)
    addresses = [f"127.0.0.{10 + i}" for i in range(1, FLEET_SIZE + 1)]
    info = '{"holder": "ops@elsewhere", "pid": 42, "command": "shipstate apply", "token": "x"}'
    lock = f"mkdir /srv/hello/.lock && printf '%s' '{info}' > /srv/hello/.lock/info.json"
    assert on_host(addresses[1], lock, user="deploy").returncode == 0
    refused = shipstate("remove", *INVENTORY, "--yes", cwd=app)
    assert refused.code == 3 and "sandbox-2: locked by ops@elsewhere pid 42" in refused.stderr
    on_host(addresses[1], "rm -rf /srv/hello/.lock")
    planned = ok("remove", *INVENTORY, "--plan", cwd=app).stdout
    assert "sandbox-1, sandbox-2, sandbox-3: would remove 3\n" in planned
    assert "~ /srv/hello/: releases, environments, shared" in planned
    asked = shipstate("remove", *INVENTORY, cwd=app)
    assert asked.code == 1 and "refusing to remove the app without confirmation" in asked.stderr
    for address in addresses:
        assert http_get(f"http://{address}/healthz")[0] == 200, "the plan changed nothing"
    try:
        ok("remove", *INVENTORY, "--yes", cwd=app)
        for address in addresses:
            assert http_get(f"http://{address}/healthz")[0] == 404, "nginx's sandbox site"
            left = on_host(
                address,
                "ls -d /srv/hello /etc/nginx/conf.d/shipstate-hello.conf "
                "/etc/supervisor/shipstate.d/hello; supervisorctl status; pgrep -u deploy -a .",
            ).stdout
            assert left == "", left
        again = ok("remove", *INVENTORY, "--yes", cwd=app).stdout
        assert again == "sandbox-1, sandbox-2, sandbox-3: nothing of the app here\n"
    finally:
        ok("bootstrap", *INVENTORY, cwd=app)
    ok("apply", *INVENTORY, "--yes", cwd=app)
    for address in addresses:
        assert http_get(f"http://{address}/healthz")[0] == 200
