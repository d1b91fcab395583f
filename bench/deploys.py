"""Benchmark: shipstate against the fabfile's way of deploying, on the sandbox fleet.

Run as root: `.venv/bin/python bench/deploys.py [--runs 3] [--fleet 10]`. It brings up its own
sandbox (stopping any running one), measures both tools on the same hosts and the same app
(examples/hello) in one run, prints min/median per case with the ratio baseline/shipstate, and
writes bench/results/deploys.json. Every request stays on 127.0.0.0/8.

The baseline does what the fabfile did, over plain ssh: upload the code, a fresh virtualenv and
`pip install -r requirements.txt` with pip's cache, `ln -sfn` the new release to current, and
`supervisorctl reload`; it then waits until gunicorn serves the new version (so does shipstate's
apply, which verifies through nginx).
"code-only, no hooks" is shipstate deploying the same app without its migrate and collectstatic
hooks, which is the work the fabfile's way does (its figure there is its code-only redeploy's).
"plain WSGI" is shipstate deploying a WSGI app that imports nothing, to 1 host and to all: here
every host shares this machine's cores, and a Django app's start (~0.25 CPU-s per host) is much
of the work on ten; without it, what is left is the hosts' other work and shipstate's own.

With `--ansible` it also measures the peer users would pick: the playbooks in bench/ansible/
(community.general.deploy_helper, a pip-built virtualenv per release, migrate and collectstatic,
supervisor), run by ansible-playbook from a venv of the bench's own (bench/.ansible, installed
from PyPI on first use), with pipelining and one fork per host.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from conftest import commit, commit_all, make_app, set_version  # noqa: E402
from shipstate import sandbox  # noqa: E402

ANSIBLE = "ansible==12.3.0"
ANSIBLE_VENV = REPO / "bench" / ".ansible"
FAB_ROOT = "/srv/hello/fab"
PLAIN_ONE = "plain WSGI, 1 host"
PLAIN_FLEET = "plain WSGI, all hosts"
FAB_PROGRAM = """[program:fabhello]
command={root}/current/venv/bin/python -m gunicorn --chdir {root}/current -b {addr}:8000 -w 2 \
hello.wsgi:application
directory={root}
user=deploy
environment=HOME="/home/deploy",ALLOWED_HOSTS="*"
stopasgroup=true
"""


def cli(app: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "shipstate", *args],
        cwd=app,
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )


def served_during(app: Path, args: tuple[str, ...], url: str, text: str) -> float:
    """Seconds from starting the command until `url` shows `text` (the command must succeed)."""
    start = time.perf_counter()
    command = subprocess.Popen(
        [sys.executable, "-m", "shipstate", *args],
        cwd=app,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    wait_for(url, text)
    seconds = time.perf_counter() - start
    _, stderr = command.communicate(timeout=300)
    if command.returncode != 0:
        raise RuntimeError(f"shipstate {' '.join(args)} failed: {stderr.decode()}")
    return seconds


def ssh(host: sandbox.SandboxHost, command: str, user: str = "deploy", stdin: bytes = b"") -> str:
    done = subprocess.run(
        sandbox.ssh_command(host, user, [command]), input=stdin, capture_output=True, check=True
    )
    return done.stdout.decode()


def on_all(hosts, function) -> None:
    with ThreadPoolExecutor(len(hosts)) as pool:
        list(pool.map(function, hosts))


def reset(hosts) -> None:
    on_all(
        hosts,
        lambda h: ssh(
            h,
            "rm -f /srv/hello/supervisor/*.conf; supervisorctl update "
            ">/dev/null; rm -rf /srv/hello/* /srv/hello/.[a-z]*; "
            "install -d -o deploy -g deploy /srv/hello /srv/hello/supervisor; "
            "nginx -s reload",
            user="root",
        ),
    )


def wait_for(url: str, text: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if text in answer.read().decode():
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} never showed {text!r}")


def app_archive(app: Path) -> bytes:
    """The app's committed code, as the peers upload it."""
    command = ["git", "-C", str(app), "archive", "--format=tar.gz", "HEAD"]
    return subprocess.run(command, capture_output=True, check=True).stdout


def fab_deploy(app: Path, hosts, version: str) -> None:
    archive = app_archive(app)
    stamp = str(time.time_ns())

    def deploy(host):
        release = f"{FAB_ROOT}/releases/{stamp}"
        ssh(host, f"mkdir -p {release} && tar -xzf - -C {release}", stdin=archive)
        ssh(
            host,
            f"cd {release} && python3 -m venv venv && venv/bin/pip install -q "
            f"--disable-pip-version-check --cache-dir {FAB_ROOT}/pipcache "
            f"-r requirements.txt && mkdir -p var",
        )
        program = FAB_PROGRAM.format(root=FAB_ROOT, addr=host.address).encode()
        ssh(host, "cat > /srv/hello/supervisor/fabhello.conf", stdin=program)
        ssh(host, f"ln -sfn {release} {FAB_ROOT}/current && supervisorctl reload >/dev/null")
        wait_for(f"http://{host.address}:8000/healthz", f'"version": "{version}"')

    on_all(hosts, deploy)


def fab_rollback(hosts, version: str) -> None:
    def rollback(host):
        previous = ssh(host, f"ls -1 {FAB_ROOT}/releases | sort | tail -n 2 | head -n 1").strip()
        ssh(
            host,
            f"ln -sfn {FAB_ROOT}/releases/{previous} {FAB_ROOT}/current && "
            "supervisorctl reload >/dev/null",
        )
        wait_for(f"http://{host.address}:8000/healthz", f'"version": "{version}"')

    on_all(hosts, rollback)


def ansible_playbook() -> Path:
    binary = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if not binary.exists():
        print(f"installing {ANSIBLE} into {ANSIBLE_VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
        pip = [str(ANSIBLE_VENV / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, "--disable-pip-version-check", ANSIBLE], check=True)
    return binary


class Ansible:
    """The bench/ansible playbooks on the sandbox hosts; each call returns once every host
    serves `version` (gunicorn on port 8001, like the fabfile's on 8000)."""

    def __init__(self, work: Path, app: Path):
        self.work, self.app, self.binary = work, app, ansible_playbook()
        self.archive = work / "app.tar.gz"

    def _play(self, hosts, playbook: str, *extra: str) -> None:
        inventory = self.work / "ansible.ini"
        inventory.write_text(
            "[web]\n"
            + "".join(f"{h.name} ansible_host={h.address}\n" for h in hosts)
            + "[web:vars]\nansible_user=deploy\nansible_python_interpreter=/usr/bin/python3\n"
            f"ansible_ssh_private_key_file={sandbox.key_path()}\n"
            f"ansible_ssh_common_args='-o UserKnownHostsFile={sandbox.known_hosts_path()} "
            "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n"
        )
        playbook_path = REPO / "bench" / "ansible" / playbook
        command = [str(self.binary), "-i", str(inventory), "--forks", str(len(hosts))]
        done = subprocess.run(
            [*command, str(playbook_path), *extra],
            cwd=self.work,
            env={**os.environ, "ANSIBLE_PIPELINING": "1", "ANSIBLE_NOCOLOR": "1"},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ansible-playbook {playbook} failed:\n{done.stdout[-3000:]}")

    def deploy(self, hosts, version: str) -> None:
        self.archive.write_bytes(app_archive(self.app))
        self._play(hosts, "deploy.yml", "-e", f"archive={self.archive}")
        self._served(hosts, version)

    def rollback(self, hosts, version: str) -> None:
        self._play(hosts, "rollback.yml")
        self._served(hosts, version)

    @staticmethod
    def _served(hosts, version: str) -> None:
        expected = f'"version": "{version}"'
        on_all(hosts, lambda h: wait_for(f"http://{h.address}:8001/healthz", expected))


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def cpu_of(function) -> float:
    """CPU seconds (user + system) spent by the commands `function` ran (not by the hosts)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    function()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def machine_cpu_of(function) -> float:
    """CPU seconds the whole machine spent while `function` ran (client, sshd, the hosts' hooks
    and app servers): divided by the cores, the least time the work could take here."""

    def busy() -> float:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    before = busy()
    function()
    return busy() - before


PLAIN_APP = """\
from version import VERSION


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"plain version {VERSION}".encode()]
"""
PLAIN_CONFIG = """\
name = "plain"
wsgi = "plain:application"
health_path = "/"
"""


def make_plain_app(path: Path) -> Path:
    """A git repository holding a WSGI app that imports nothing, served by gunicorn alone."""
    path.mkdir()
    (path / "plain.py").write_text(PLAIN_APP)
    (path / "shipstate.toml").write_text(PLAIN_CONFIG)
    (path / "requirements.txt").write_text("gunicorn==23.0.0\n")
    (path / "version.py").write_text('VERSION = "1"\n')
    return commit_all(path, "v1")


def set_plain_version(plain: Path, version: int) -> None:
    (plain / "version.py").write_text(f'VERSION = "{version}"\n')
    commit(plain, f"version {version}")


def measure_plain(work: Path, hosts, runs: int, version, record) -> None:
    """The plain WSGI app's code-only redeploys to one host and to all, once the others' runs
    are done: its app servers would otherwise be restarted by the fabfile's way's reloads."""
    plain = make_plain_app(work / "plain")
    port = sandbox.add_app(hosts, sandbox.app_layout("plain"))
    sandbox.write_inventory(plain, hosts, port)
    (plain / "inventories" / "one.py").write_text(sandbox.inventory_text(hosts[:1], port))
    cli(plain, "apply", "-i", "inventories/sandbox.py", "--yes")
    for _ in range(runs):
        for inventory, case in (("one.py", PLAIN_ONE), ("sandbox.py", PLAIN_FLEET)):
            set_plain_version(plain, next(version))
            deploy = partial(cli, plain, "apply", "-i", f"inventories/{inventory}", "--yes")
            record(case, "shipstate", timed(deploy))


def run_once(run: int, app: Path, one, fleet, version, record, ansible) -> None:
    """One measurement of every case: shipstate, the fabfile's way, then Ansible if asked."""

    def apply(inventory: str):
        return lambda: cli(app, "apply", "-i", f"inventories/{inventory}", "--yes")

    reset(fleet)
    record("first deploy", "shipstate", timed(apply("one.py")))
    v = next(version)
    set_version(app, str(v))
    record("code-only redeploy", "shipstate", timed(apply("one.py")))
    config = app / "shipstate.toml"
    with_hooks = config.read_text()
    config.write_text(with_hooks[: with_hooks.index("\n[[hooks]]")] + "\n")
    v = next(version)
    set_version(app, str(v))
    record("code-only, no hooks", "shipstate", timed(apply("one.py")))
    config.write_text(with_hooks)
    v = next(version)
    set_version(app, str(v))
    record("client CPU, 1 host", "shipstate", cpu_of(apply("one.py")))
    requirements = app / "requirements.txt"
    original = requirements.read_text()
    requirements.write_text(original + f"six==1.1{6 + run % 2}.0\n")
    commit(app, "one requirement changed")
    record("requirement changed", "shipstate", timed(apply("one.py")))
    record("no-op apply", "shipstate", timed(apply("one.py")))
    v = next(version)
    set_version(app, str(v))
    cli(app, "apply", "-i", "inventories/one.py", "--yes")
    record(
        "set-active previous",
        "shipstate",
        served_during(
            app,
            ("set-active", "previous", "-i", "inventories/one.py", "--yes"),
            f"http://{one[0].address}/",
            f"hello version {v - 1}",
        ),
    )
    cli(app, "set-active", "latest", "-i", "inventories/one.py", "--yes")
    apply("sandbox.py")()
    v = next(version)
    set_version(app, str(v))
    record(f"code-only, {len(fleet)} hosts", "shipstate", timed(apply("sandbox.py")))
    v = next(version)
    set_version(app, str(v))
    record(f"client CPU, {len(fleet)} hosts", "shipstate", cpu_of(apply("sandbox.py")))
    v = next(version)
    set_version(app, str(v))
    record(f"machine CPU, {len(fleet)} hosts", "shipstate", machine_cpu_of(apply("sandbox.py")))
    record(f"no-op apply, {len(fleet)} hosts", "shipstate", timed(apply("sandbox.py")))
    requirements.write_text(original)
    commit(app, "requirements back")

    reset(fleet)
    v = next(version)
    set_version(app, str(v))
    record("first deploy", "fabfile", timed(lambda: fab_deploy(app, one, str(v))))
    v = next(version)
    set_version(app, str(v))
    seconds = timed(lambda: fab_deploy(app, one, str(v)))
    record("code-only redeploy", "fabfile", seconds)
    record("code-only, no hooks", "fabfile", seconds)  # the same: the fabfile's way has none
    requirements.write_text(original + f"six==1.1{6 + run % 2}.0\n")
    commit(app, "one requirement changed")
    record("requirement changed", "fabfile", timed(lambda: fab_deploy(app, one, str(v))))
    record("no-op apply", "fabfile", timed(lambda: fab_deploy(app, one, str(v))))
    previous = v
    v = next(version)
    set_version(app, str(v))
    fab_deploy(app, one, str(v))
    record("set-active previous", "fabfile", timed(lambda: fab_rollback(one, str(previous))))
    v = next(version)
    set_version(app, str(v))
    record(
        f"code-only, {len(fleet)} hosts",
        "fabfile",
        timed(lambda: fab_deploy(app, fleet, str(v))),
    )
    requirements.write_text(original)
    commit(app, "requirements back")
    if ansible is None:
        return

    reset(fleet)
    v = next(version)
    set_version(app, str(v))
    record("first deploy", "ansible", timed(lambda: ansible.deploy(one, str(v))))
    v = next(version)
    set_version(app, str(v))
    record("code-only redeploy", "ansible", timed(lambda: ansible.deploy(one, str(v))))
    requirements.write_text(original + f"six==1.1{6 + run % 2}.0\n")
    commit(app, "one requirement changed")
    record("requirement changed", "ansible", timed(lambda: ansible.deploy(one, str(v))))
    record("no-op apply", "ansible", timed(lambda: ansible.deploy(one, str(v))))
    previous = v
    v = next(version)
    set_version(app, str(v))
    ansible.deploy(one, str(v))
    record("set-active previous", "ansible", timed(lambda: ansible.rollback(one, str(previous))))
    v = next(version)
    set_version(app, str(v))
    record(
        f"code-only, {len(fleet)} hosts", "ansible", timed(lambda: ansible.deploy(fleet, str(v)))
    )
    requirements.write_text(original)
    commit(app, "requirements back")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fleet", type=int, default=10)
    parser.add_argument("--ansible", action="store_true", help="also measure the Ansible playbooks")
    args = parser.parse_args()
    # shipstate's bytecode, as a wheel install has it: the checkout's may be missing or stale
    packages = [str(REPO / name) for name in ("shipstate", "operations", "deploys")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)
    sandbox.down()
    work = Path(tempfile.mkdtemp(prefix="shipstate-bench-"))
    app = make_app(work / "app")
    hosts = sandbox.up(args.fleet, sandbox.app_layout("hello"))
    sandbox.write_inventory(app, hosts, sandbox.FIRST_APP_PORT)
    one_host = sandbox.inventory_text(hosts[:1], sandbox.FIRST_APP_PORT)
    (app / "inventories" / "one.py").write_text(one_host)
    one, fleet = hosts[:1], hosts
    ansible = Ansible(work, app) if args.ansible else None
    results: dict[str, dict[str, list[float]]] = {}
    version = iter(range(2, 10_000))

    def record(case: str, tool: str, seconds: float) -> None:
        results.setdefault(case, {}).setdefault(tool, []).append(seconds)
        print(f"  {case:<22} {tool:<10} {seconds:7.2f} s", flush=True)

    try:
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            run_once(run, app, one, fleet, version, record, ansible)
        measure_plain(work, hosts, args.runs, version, record)
    finally:
        sandbox.down()
        shutil.rmtree(work, ignore_errors=True)

    summary = {}
    peers = ["fabfile", *(["ansible"] if args.ansible else [])]
    print(f"\n{'case':<24}{'shipstate min/median':>22}", end="")
    print("".join(f"{peer + ' min/median':>22}{'ratio':>8}" for peer in peers))
    for case, tools in results.items():
        ours = tools["shipstate"]
        summary[case] = {"shipstate": ours}
        line = f"{case:<24}{min(ours):>10.2f} / {statistics.median(ours):<9.2f}"
        for peer in peers:
            theirs = tools.get(peer, [])
            if not theirs:
                continue
            ratio = statistics.median(theirs) / statistics.median(ours)
            summary[case] |= {peer: theirs, f"ratio_median_{peer}": ratio}
            line += f"{min(theirs):>10.2f} / {statistics.median(theirs):<9.2f}{ratio:>7.1f}x"
        print(line)
    scaling = statistics.median(
        results[f"code-only, {len(fleet)} hosts"]["shipstate"]
    ) / statistics.median(results["code-only redeploy"]["shipstate"])
    print(f"shipstate {len(fleet)} hosts / 1 host, code-only redeploy: {scaling:.2f}x")
    summary["fleet_scaling"] = scaling
    plain_scaling = statistics.median(results[PLAIN_FLEET]["shipstate"]) / statistics.median(
        results[PLAIN_ONE]["shipstate"]
    )
    print(f"the same for a WSGI app that imports nothing: {plain_scaling:.2f}x")
    summary["fleet_scaling_plain_wsgi"] = plain_scaling
    cores = os.cpu_count() or 1
    busy = statistics.median(results[f"machine CPU, {len(fleet)} hosts"]["shipstate"])
    print(
        f"a code-only redeploy to {len(fleet)} hosts keeps this machine busy {busy:.1f} CPU-s: "
        f"about {busy / cores:.1f} s of all its {cores} cores"
    )
    summary["cores"] = cores
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "deploys.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
