"""The sandbox is a fleet of real, isolated servers on loopback."""

import re
import socket
from pathlib import Path

from conftest import (
    FLEET_SIZE,
    LEAST_PRIVILEGE,
    deploy_user_privileges,
    host_addresses,
    http_get,
    ok,
    on_host,
    shipstate,
)


def test_each_host_has_its_own_files_processes_and_name(fleet):
    first, second = host_addresses()[:2]
    assert on_host(first, "echo secret > /tmp/only-here && touch /srv/only-here").returncode == 0
    seen = on_host(second, "ls /tmp/only-here /srv/only-here 2>&1; hostname; pgrep -c sshd")
    assert "No such file" in seen.stdout and seen.stdout.count("No such file") == 2
    assert "sandbox-2" in seen.stdout
    assert on_host(first, "hostname").stdout.strip() == "sandbox-1"
    pids = on_host(first, "pgrep -x nginx | wc -l; ls /proc | grep -c '^[0-9]'").stdout.split()
    assert int(pids[1]) < 30, "a host sees only its own processes"
    hidden = on_host(first, "ls /opt/shipstate-sandbox 2>&1 | wc -l").stdout.strip()
    assert hidden == "0", "a host cannot see the sandbox's state (other hosts' files)"


def test_ssh_as_deploy_and_least_privilege(fleet):
    assert deploy_user_privileges(host_addresses()[0]) == LEAST_PRIVILEGE


def test_nginx_answers_on_each_hosts_own_address_only(fleet):
    for index, address in enumerate(host_addresses(), start=1):
        name = f"sandbox-{index}.sandbox.invalid"
        status, body, _ = http_get(f"http://{address}/__sandbox", host=name)
        assert (status, body.strip()) == (200, f"sandbox-{index}")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", 80)) != 0, "nothing listens on 127.0.0.1:80"


def test_up_while_up_writes_the_inventory_adds_another_app_or_refuses_another_size(fleet, tmp_path):
    again = shipstate("sandbox", "up", "--hosts", str(FLEET_SIZE), "--app", "hello", cwd=tmp_path)
    assert again.code == 0 and "the sandbox is already up, 3 host(s) for app hello" in again.stderr
    assert (tmp_path / "inventories" / "sandbox.py").read_text() == fleet.read_text()
    for other in (["--hosts", "1"], ["--hosts", "3", "--bare"]):
        result = shipstate("sandbox", "up", *other, "--app", "hello")
        assert result.code == 1 and "Traceback" not in result.output
        assert "error: the sandbox is already up: 3 host(s), for app hello" in result.stderr
        assert "hint: use it as it is (--hosts 3), or `shipstate sandbox down` first" in (
            result.stderr
        )
    bad = shipstate("sandbox", "up", "--hosts", "3", "--app", "../etc")
    assert bad.code == 1 and "error: --app '../etc' is not an app name" in bad.stderr

    other = tmp_path / "other"
    other.mkdir()
    added = shipstate("sandbox", "up", "--hosts", "3", "--app", "other", cwd=other)
    assert added.code == 0, added.output
    port = int(re.search(r"added app other, on port (\d+)", added.stderr).group(1))
    assert port >= 8001, "each app but the first has a port of its own, from 8001 on"
    assert f"http://127.0.0.11:{port}/" in added.stdout
    inventory = (other / "inventories" / "sandbox.py").read_text()
    assert inventory.count(f'"http_port": {port}') == FLEET_SIZE
    assert f"app other (port {port})" in ok("sandbox", "status").stdout
    for address in host_addresses():
        writable = on_host(address, "touch /srv/other/x && rm /srv/other/x", user="deploy")
        assert writable.returncode == 0, writable.stderr
    same = shipstate("sandbox", "up", "--hosts", "3", "--app", "other", cwd=other)
    assert "the sandbox is already up, 3 host(s) for app other" in same.stderr
    assert (other / "inventories" / "sandbox.py").read_text() == inventory

    blog = tmp_path / "blog"
    blog.mkdir()
    config = 'name = "blog"\nwsgi = "blog.wsgi:application"\nroot = "{}"\n'
    (blog / "shipstate.toml").write_text(config.format("/opt/blog"))
    outside = shipstate("sandbox", "up", "--hosts", "3", cwd=blog)
    assert outside.code == 1 and "Traceback" not in outside.output
    assert "error: root /opt/blog is in none of the trees a sandbox host has of its own" in (
        outside.stderr.replace("\n", " ")
    )
    hint = "give the sandbox a root of its own in shipstate.toml: [environments.sandbox] root = "
    assert f'hint: {hint}"/srv/blog"' in outside.stderr.replace("\n", " ")
    ok("sandbox", "up", "--hosts", "3", "--app", "blog", cwd=blog)  # in /srv/blog
    named = 'server_name = "blog.example.com www.blog.example.com"\n'
    (blog / "shipstate.toml").write_text(config.format("/srv/blog-shipstate") + named)
    again = ok("sandbox", "up", "--hosts", "3", cwd=blog)
    assert "the sandbox is already up, 3 host(s) for app blog" in again.stderr
    assert re.search(r"http://127\.0\.0\.11:\d+/  \(Host: blog\.example\.com\)\n", again.stdout)
    for address in host_addresses():
        writable = on_host(address, "touch /srv/blog-shipstate/x", user="deploy")
        assert writable.returncode == 0, "the root shipstate.toml names now, for the deploy user"
        site = on_host(address, "cat /etc/nginx/conf.d/shipstate-blog.conf").stdout
        assert "include /srv/blog-shipstate/nginx/*.conf;" in site


def _sandbox_traces() -> list[str]:
    traces = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "sandbox/host.sh" in text:
            traces.append(text)
    mounts = Path("/proc/self/mountinfo").read_text()
    traces += [line for line in mounts.splitlines() if "sandbox-" in line]
    return traces


def test_down_leaves_nothing_and_up_refuses_a_taken_address(fleet):
    try:
        ok("sandbox", "down")
        assert _sandbox_traces() == []
        assert not Path("/opt/shipstate-sandbox").exists()
        assert "down" in ok("sandbox", "status").stdout
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.11", 80))
            squatter.listen()
            refused = shipstate("sandbox", "up", "--hosts", "2", "--app", "hello")
        assert refused.code == 1
        assert "127.0.0.11:80" in refused.stderr and "Traceback" not in refused.output
        assert _sandbox_traces() == []
        ok("sandbox", "up", "--hosts", "1", "--bare", "--app", "hello")
        bare = on_host("127.0.0.11", "id deploy; ls /srv; ls /etc/sudoers.d")
        assert "no such user" in bare.stderr, "root only, nothing else"
        assert "hello" not in bare.stdout and "shipstate" not in bare.stdout
        deploy = on_host("127.0.0.11", "true", user="deploy")
        assert deploy.returncode != 0, "no deploy user on a bare host"
        ok("sandbox", "down")
    finally:
        ok("sandbox", "up", "--hosts", str(FLEET_SIZE), "--app", "hello", cwd=fleet.parent.parent)
    status = ok("sandbox", "status").stdout
    assert status.count("ssh:up  http:up") == FLEET_SIZE
