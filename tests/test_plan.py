"""The pure core: desired state and plan, without hosts."""

import socket
import subprocess
import sys
from io import StringIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from shipstate.config import Hook
from shipstate.desired import (
    AlreadyOldest,
    HookStamp,
    HookStep,
    NewRelease,
    ReleaseDraft,
    desired_for_apply,
    desired_for_set_active,
    hook_steps,
    parse_release_name,
    releases_to_keep,
    resolve_release,
)
from shipstate.errors import ShipstateError
from shipstate.facts import observe_command
from shipstate.hosts import in_host_order, named_among
from shipstate.observed import (
    ObservedHost,
    ObservedRelease,
    parse_host_state,
    refuse_missing_packages,
)
from shipstate.plan import Action, HostPlan, Plan, compute_plan, sha256
from shipstate.views import render_locks, render_plan, render_releases

CONFIGS = {"nginx.conf": "server {}\n", "gunicorn.conf.py": "workers = 2\n"}


def draft(key: str = "k2", env: str = "e" * 16, secrets: str = "") -> ReleaseDraft:
    return ReleaseDraft(
        secrets=secrets,
        key=key,
        commit="c" * 40,
        dirty=False,
        subject="s",
        created_at="2026-01-01T00:00:00Z",
        created_by="me@here",
        env=env,
        configs=CONFIGS,
    )


def release(
    number: int,
    key: str | None = None,
    env: str = "e" * 16,
    secrets: str = "",
    state: str = "retired",
) -> ObservedRelease:
    return ObservedRelease(
        id=number,
        state=state,
        key=key or f"k{number}",
        commit="c" * 40,
        env=env,
        secrets=secrets,
        configs=CONFIGS,
    )


NGINX_SHA = sha256(CONFIGS["nginx.conf"])


def host(ids=(1,), current=1, running=None, name="web1", nginx=NGINX_SHA) -> ObservedHost:
    running = (current,) if running is None and current else (running or ())
    return ObservedHost(
        host=name,
        root_exists=True,
        current=current,
        releases=tuple(release(n, state="active" if n == current else "retired") for n in ids),
        programs=tuple(running),
        running=tuple(running),
        envs=("e" * 16,) if ids else (),
        nginx_loaded=nginx if ids else "",
        nginx_site=nginx if ids else "",
    )


def kinds(plan) -> list[str]:
    return [a.kind for h in plan.hosts for a in h.actions]


def test_first_deploy_creates_builds_switches_and_reloads():
    observed = {"web1": host(ids=(), current=None)}
    plan = compute_plan("apply", desired_for_apply(observed, {"web1": draft()}, 4), observed)
    assert kinds(plan) == [
        "create_environment",
        "create_release",
        "start_app_server",
        "switch_active",
        "change_config",
        "change_config",
        "reload_nginx",
    ]
    assert plan.hosts[0].new_release.id == 1
    configs = [a.reason for a in plan.hosts[0].actions if a.kind == "change_config"]
    assert configs == ["release 1 brings it (no live release has one)"] * 2


def test_same_content_again_is_no_change():
    observed = {"web1": host(ids=(1,), current=1)}
    plan = compute_plan("apply", desired_for_apply(observed, {"web1": draft("k1")}, 4), observed)
    assert plan.empty


def test_new_release_number_is_the_same_on_every_host():
    observed = {"a": host(ids=(1, 2), current=2, name="a"), "b": host(ids=(5,), current=5)}
    desired = desired_for_apply(observed, {"a": draft("new"), "b": draft("new")}, 4)
    assert desired["a"].new_release.id == desired["b"].new_release.id == 6


def test_a_limited_deploy_keeps_release_numbers_aligned():
    observed = {
        "a": host(ids=(1, 2), current=2, name="a"),
        "b": host(ids=(1,), current=1, name="b"),
    }
    desired = desired_for_apply(observed, {"a": draft("k2"), "b": draft("k2-on-b")}, 4)
    assert desired["a"].new_release is None and desired["b"].new_release.id == 2
    taken = {"a": host(ids=(1, 2), current=2, name="a"), "b": host(ids=(1, 2), current=1)}
    desired = desired_for_apply(taken, {"a": draft("k2"), "b": draft("other")}, 4)
    assert desired["b"].new_release.id == 3


def test_code_only_change_reuses_the_environment():
    observed = {"web1": host(ids=(1,), current=1)}
    plan = compute_plan("apply", desired_for_apply(observed, {"web1": draft("k9")}, 4), observed)
    assert "create_environment" not in kinds(plan)
    assert "reused" in plan.hosts[0].actions[0].reason
    assert kinds(plan) == ["create_release", "start_app_server", "switch_active"], "1 kept warm"
    cold = desired_for_apply(observed, {"web1": draft("k9")}, 4, warm_previous=False)
    assert kinds(compute_plan("apply", cold, observed))[-1] == "stop_app_server"


def test_the_replaced_release_is_kept_warm_and_the_one_before_it_stopped():
    warm = {"web1": host(ids=(1, 2), current=2, running=(1, 2))}
    back = compute_plan("set-active", desired_for_set_active(warm, 1), warm)
    assert kinds(back) == ["switch_active"], "switching back to a warm release is a rename"
    plan = compute_plan("apply", desired_for_apply(warm, {"web1": draft("k9")}, 4), warm)
    assert kinds(plan) == ["create_release", "start_app_server", "switch_active", "stop_app_server"]
    assert plan.hosts[0].targets("stop_app_server") == ["1"]
    noop = compute_plan("apply", desired_for_apply(warm, {"web1": draft("k2")}, 4), warm)
    assert noop.empty, "the warm release stays warm"


def test_the_processes_restart_from_each_new_active_release_and_stop_without_one():
    with_processes = {**CONFIGS, "processes.conf": "[program:hello-worker]\n"}
    wanted = sha256(with_processes["processes.conf"])
    observed = {"web1": host(ids=(1,), current=1)}
    new = draft("k9").model_copy(update={"configs": with_processes})
    plan = compute_plan("apply", desired_for_apply(observed, {"web1": new}, 4), observed)
    (restart,) = [a for a in plan.hosts[0].actions if a.kind == "restart_processes"]
    assert (restart.before, restart.after) == (None, "2"), "none ran: from the new release"

    def running(release_id: int | None, processes: str) -> dict[str, ObservedHost]:
        seen = host(ids=(1, 2), current=2, running=(1, 2))
        configs = {**CONFIGS, "processes.conf": with_processes["processes.conf"]}
        releases = tuple(r.model_copy(update={"configs": configs}) for r in seen.releases)
        update = {"releases": releases, "processes_release": release_id, "processes": processes}
        return {"web1": seen.model_copy(update=update)}

    settled = running(2, wanted)
    assert compute_plan("set-active", desired_for_set_active(settled, 2), settled).empty
    back = compute_plan("set-active", desired_for_set_active(settled, 1), settled)
    assert kinds(back) == ["switch_active", "restart_processes"], "same config, other release"
    crashed = {
        "web1": settled["web1"].model_copy(update={"processes_down": {"hello-worker": "FATAL"}})
    }
    (restart,) = (
        compute_plan("set-active", desired_for_set_active(crashed, 2), crashed).hosts[0].actions
    )
    assert (restart.kind, restart.after) == ("restart_processes", "2")
    assert restart.reason == "hello-worker is FATAL (supervisord does not run it)"
    stale = running(2, sha256("[program:hello-old]\n"))
    assert kinds(compute_plan("set-active", desired_for_set_active(stale, 2), stale)) == [
        "restart_processes"
    ]
    gone = compute_plan("apply", desired_for_apply(settled, {"web1": draft("k9")}, 4), settled)
    (stop,) = [a for a in gone.hosts[0].actions if a.kind == "restart_processes"]
    assert (stop.before, stop.after) == ("2", None), "a release without processes stops them"


def test_set_active_previous_and_latest():
    observed = {"web1": host(ids=(1, 2, 3), current=3)}
    assert resolve_release(observed, "previous") == 2
    assert resolve_release(observed, "latest") == 3
    plan = compute_plan("set-active", desired_for_set_active(observed, 2), observed)
    assert kinds(plan) == ["start_app_server", "switch_active"]
    oldest = {"web1": host(ids=(1, 2), current=1)}
    with pytest.raises(AlreadyOldest):
        resolve_release(oldest, "previous")


@pytest.mark.parametrize("name", ["../../etc", "0", "-1", "1.5", "1e3", "$(id)", "", "latest "])
def test_bad_release_names_are_refused(name):
    with pytest.raises(ShipstateError):
        parse_release_name(name)


def test_release_missing_on_one_host_is_refused():
    observed = {"a": host(ids=(1, 2), current=2, name="a"), "b": host(ids=(2,), current=2)}
    with pytest.raises(ShipstateError, match="release 1 does not exist on b"):
        resolve_release(observed, 1)


def test_nginx_not_yet_loaded_is_a_change():
    observed = {"web1": host(ids=(1,), current=1, nginx="")}
    plan = compute_plan("apply", desired_for_apply(observed, {"web1": draft("k1")}, 4), observed)
    assert kinds(plan) == ["reload_nginx"]


def test_site_config_on_disk_not_the_active_ones_is_a_change():
    """e.g. left behind by a shipstate killed during its `nginx -t` of a new site config."""
    observed = {"web1": host(ids=(1,), current=1).model_copy(update={"nginx_site": "other"})}
    plan = compute_plan("apply", desired_for_apply(observed, {"web1": draft("k1")}, 4), observed)
    assert kinds(plan) == ["reload_nginx"]
    assert "not the active release's" in plan.hosts[0].actions[0].reason


SECRETS_A, SECRETS_B = "a" * 16, "b" * 16


def with_secrets(seen: ObservedHost, digests: dict[int, str]) -> ObservedHost:
    releases = tuple(r.model_copy(update={"secrets": digests.get(r.id, "")}) for r in seen.releases)
    uploaded = tuple(sorted(set(digests.values()) - {""}))
    return seen.model_copy(update={"releases": releases, "secrets": uploaded})


def test_changed_secrets_are_uploaded_once_and_old_ones_purged_when_unused():
    observed = {"web1": with_secrets(host(ids=(1,), current=1), {1: SECRETS_A})}
    same = compute_plan(
        "apply", desired_for_apply(observed, {"web1": draft("k9", secrets=SECRETS_A)}, 4), observed
    )
    assert (
        "upload_secrets" not in kinds(same)
        and "secrets unchanged" in same.hosts[0].actions[0].reason
    )
    changed = compute_plan(
        "apply", desired_for_apply(observed, {"web1": draft("k9", secrets=SECRETS_B)}, 4), observed
    )
    assert changed.hosts[0].targets("upload_secrets") == [SECRETS_B]
    assert "purge_secrets" not in kinds(changed)  # release 1 is kept and still uses A
    full = {"web1": with_secrets(host(ids=(1, 2), current=2), {1: SECRETS_A, 2: SECRETS_B})}
    desired = desired_for_apply(full, {"web1": draft("k9", secrets=SECRETS_B)}, 2)
    assert compute_plan("apply", desired, full).hosts[0].targets("purge_secrets") == [SECRETS_A]


@settings(max_examples=300, deadline=None)
@given(
    ids=st.sets(st.integers(1, 30), min_size=1, max_size=12),
    data=st.data(),
    limit=st.integers(2, 6),
    same_content=st.booleans(),
)
def test_apply_never_purges_active_or_replaced_and_keeps_at_most_n(ids, data, limit, same_content):
    current = data.draw(st.sampled_from(sorted(ids)))
    digests = {n: data.draw(st.sampled_from(["", SECRETS_A, SECRETS_B])) for n in ids}
    observed = {"web1": with_secrets(host(ids=tuple(sorted(ids)), current=current), digests)}
    key = f"k{current}" if same_content else "new"
    wanted = digests[current] if same_content else data.draw(st.sampled_from(["", SECRETS_A]))
    desired = desired_for_apply(observed, {"web1": draft(key, secrets=wanted)}, limit)["web1"]
    plan = compute_plan("apply", {"web1": desired}, observed)
    purged = {int(t) for t in plan.hosts[0].targets("purge_release")}
    assert desired.active not in purged and current not in purged
    remaining = (set(ids) | {desired.active}) - purged
    assert len(remaining) <= limit
    used = {digests.get(n, wanted) for n in remaining} - {""}
    uploaded = (set(digests.values()) | set(plan.hosts[0].targets("upload_secrets"))) - {""}
    assert used <= uploaded - set(plan.hosts[0].targets("purge_secrets"))
    # applying the plan yields the desired state: the next plan is empty
    before = observed["web1"]
    states = {
        n: plan.hosts[0].states_after().get(n, r.state if (r := before.release(n)) else "ready")
        for n in remaining
    }
    after = ObservedHost(
        host="web1",
        root_exists=True,
        current=desired.active,
        releases=tuple(
            release(
                n,
                key=key if n == desired.active else None,
                secrets=digests.get(n, wanted),
                state=states[n],
            )
            for n in remaining
        ),
        secrets=tuple(sorted(used)),
        programs=(desired.active,),
        running=(desired.active,),
        envs=("e" * 16,),
        nginx_loaded=NGINX_SHA,
        nginx_site=NGINX_SHA,
    )
    redesired = desired_for_apply({"web1": after}, {"web1": draft(key, secrets=wanted)}, limit)
    assert compute_plan("apply", redesired, {"web1": after}).empty


@given(st.lists(st.integers(1, 50), min_size=1, max_size=10, unique=True), st.integers(2, 5))
def test_releases_to_keep(ids, limit):
    active, replaced = ids[0], ids[-1]
    keep = releases_to_keep(ids, active, replaced, limit)
    assert active in keep and replaced in keep
    assert len(keep) == min(limit, len(ids)) or len(keep) == 2


def test_fact_output_parser():
    lines = [
        "python Python 3.11.2",
        "root 1",
        "current releases/2",
        "nginx abc",
        'release 1 {"state": "ready", "key": "k1", "commit": "c1", "env": "0123456789abcdef"}',
        'release 2 {"state": "ready", "key": "k2", "commit": "c2", "env": "0123456789abcdef"}',
        "release 3 {not json",
        'release 5 {"state": "building", "key": "k5", "commit": "c5", "env": "0123456789abcdef"}',
        "config 2 nginx.conf c2VydmVyIHt9Cg==",
        "site c2VydmVyIHt9Cg==",
        "building .building-4",
        "env 0123456789abcdef",
        "env .building-fedcba9876543210",
        "secret 0123456789abcdef",
        "secret .tmp-0123456789abcdef",
        "program hello-2.conf",
        "program other-9.conf",
        "running 2",
        "running ../x",
        "processes 2 W3Byb2dyYW06aGVsbG8td29ya2VyXQo=",
        "down hello-worker FATAL",
    ]
    seen = parse_host_state("web1", lines, "hello")
    assert seen.processes == sha256("[program:hello-worker]\n") and seen.processes_release == 2
    assert seen.processes_down == {"hello-worker": "FATAL"}
    assert seen.current == 2 and seen.ids == (1, 2) and seen.nginx_loaded == "abc"
    assert seen.nginx_site == sha256("server {}\n")
    assert seen.python == "3.11"
    assert seen.release(2).configs == {"nginx.conf": "server {}\n"}
    assert set(seen.leftovers) == {
        "releases/3",
        "releases/5",
        "releases/.building-4",
        "envs/.building-fedcba9876543210",
        "shared/.secrets/.tmp-0123456789abcdef",
    }
    assert seen.secrets == ("0123456789abcdef",)
    assert seen.highest_id == 5, "an interrupted release's number is never reused"
    assert seen.programs == (2,) and seen.running == (2,)
    assert seen.envs == ("0123456789abcdef",)
    assert parse_host_state("web1", ["root 0"], "hello").root_exists is False
    with pytest.raises(ShipstateError, match="web1: cannot read the host's state: its Python was"):
        parse_host_state("web1", ["unobserved 127"], "hello")
    with pytest.raises(ShipstateError, match="web1: releases/7 in the app root was not made by"):
        parse_host_state("web1", ["root 1", "release 7 "], "hello")  # Deployer numbers them too
    with pytest.raises(ShipstateError, match="web1: current -> /srv/hello/v3 in the app root was"):
        parse_host_state("web1", ["root 1", "current /srv/hello/v3"], "hello")


def test_observe_reads_an_app_root_as_the_parser_expects(tmp_path):
    """OBSERVE run for real on a tree holding what a host can hold, hidden leftovers too."""
    root = tmp_path / "hello"
    manifest = '{"state": "active", "key": "k2", "commit": "c2", "env": "0123456789abcdef"}'
    for path, text in {
        "releases/2/.shipstate/manifest.json": manifest + "\n",
        "releases/2/.shipstate/nginx.conf": "server {}\n",
        "releases/3/.shipstate/manifest.json": manifest.replace("active", "ready"),
        "releases/3/.shipstate/state": "retired\n",  # written since, by a switch
        "releases/.building-4/x": "",
        "releases/.purging-1/venv/x": "",  # a purge cut short
        "envs/0123456789abcdef/bin/python": "",
        "envs/.purging-aaaaaaaaaaaaaaaa/bin/x": "",
        "envs/.building-fedcba9876543210/x": "",
        "shared/.secrets/0123456789abcdef": "S=1\n",
        "shared/.secrets/.tmp-fedcba9876543210": "",
        "supervisor/hello-2.conf": "",
        "supervisor/.hidden.conf": "",
        "supervisor/notes.txt": "",
        "nginx/site.conf": "server { listen 80; }\n",
        ".nginx-loaded": "abc\n",
        ".lock/info.json": '{"holder": "ann@laptop", "pid": 7}\n',
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "current").symlink_to("releases/2")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(root / "releases/2/.shipstate/gunicorn.sock"))
    listening.listen()
    (root / "releases/3/.shipstate/gunicorn.sock").touch()  # left by a stopped server
    try:
        # libc6 is dpkg's as libc6:amd64; awk is no package but one mawk provides
        packages = ("dpkg", "libc6", "awk", "shipstate-not-installed")
        command = observe_command(sys.executable, str(root), packages)
        done = subprocess.run(["sh", "-c", command.get_raw_value()], capture_output=True)
    finally:
        listening.close()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert [line for line in lines if line.startswith(("building", "env", "secret", "prog"))] == [
        "building .building-4",
        "building .purging-1",
        "env .building-fedcba9876543210",
        "env .purging-aaaaaaaaaaaaaaaa",
        "env 0123456789abcdef",
        "secret .tmp-fedcba9876543210",
        "secret 0123456789abcdef",
        "program hello-2.conf",
    ]
    seen = parse_host_state("web1", lines, "hello")
    assert seen.root_exists and seen.current == 2 and seen.ids == (2, 3)
    assert seen.release(2).configs == {"nginx.conf": "server {}\n"}
    assert seen.release(2).state == "active" and seen.release(3).state == "retired"
    assert seen.nginx_loaded == "abc" and seen.nginx_site == sha256("server { listen 80; }\n")
    assert seen.envs == ("0123456789abcdef",) and seen.secrets == ("0123456789abcdef",)
    assert set(seen.leftovers) == {
        "releases/.building-4",
        "releases/.purging-1",
        "envs/.building-fedcba9876543210",
        "envs/.purging-aaaaaaaaaaaaaaaa",
        "shared/.secrets/.tmp-fedcba9876543210",
    }
    assert seen.programs == (2,) and seen.running == (2,)
    assert seen.lock is not None and seen.lock.holder == "ann@laptop"
    assert seen.missing_packages == ("shipstate-not-installed",)
    none = observe_command(sys.executable, str(tmp_path / "none"), ("shipstate-not-installed",))
    missing = subprocess.run(["sh", "-c", none.get_raw_value()], capture_output=True, text=True)
    seen = parse_host_state("web1", missing.stdout.splitlines(), "hello")
    assert seen.root_exists is False and seen.missing_packages == ("shipstate-not-installed",)
    unasked = subprocess.run(
        ["sh", "-c", observe_command(sys.executable, str(root), ()).get_raw_value()],
        capture_output=True,
        text=True,
    )
    assert not [line for line in unasked.stdout.splitlines() if line.startswith("missing")]


def test_packages_a_host_lacks_refuse_the_apply_naming_hosts_alike_once():
    observed = {
        name: ObservedHost(host=name, root_exists=True, missing_packages=missing)
        for name, missing in (
            ("web10", ("figlet",)),
            ("web2", ("figlet",)),
            ("web1", ("figlet", "jq")),
            ("web3", ()),
        )
    }
    with pytest.raises(ShipstateError) as refused:
        refuse_missing_packages(observed, "inventories/production.py")
    assert refused.value.message == (
        "web1: figlet, jq not installed, which `packages` in shipstate.toml lists\n"
        "web2, web10: figlet not installed, which `packages` in shipstate.toml lists"
    )
    assert refused.value.hint.startswith(
        "install them with `shipstate bootstrap -i inventories/production.py` (as root"
    )
    refuse_missing_packages({"web3": observed["web3"]}, "inventories/production.py")


def test_a_removal_renames_each_path_out_of_the_way_before_deleting(tmp_path):
    from shipstate.commands import removed

    for path in ("releases/2/.shipstate/manifest.json", "releases/3/x", "envs/ab/bin/python"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    gone = [str(tmp_path / p) for p in ("releases/2", "releases/3", "envs/ab")]
    command = removed(*gone).get_raw_value()
    assert command.index(f"mv -T {gone[0]} {tmp_path}/releases/.purging-2") < command.index("rm")
    subprocess.run(["sh", "-c", command], check=True)
    assert sorted(p.name for p in tmp_path.glob("*/*")) == []


def test_manifest_states_are_parsed_and_only_counting_releases_are_releases():
    def manifest(number: int, state: str) -> str:
        return f'release {number} {{"state": "{state}", "key": "k", "commit": "c", "env": ""}}'

    lines = [
        "root 1",
        "current releases/4",
        manifest(1, "retired"),
        manifest(2, "failed"),
        manifest(3, "ready"),
        manifest(4, "building"),
        manifest(5, "failed"),
    ]
    seen = parse_host_state("web1", lines, "hello")
    assert seen.ids == (1, 3, 4), "the live release counts whatever its manifest says"
    assert seen.release(4).state == "building" and seen.release(1).state == "retired"
    assert seen.failed == (2, 5) and seen.highest_id == 5


def test_a_switch_records_active_and_retired_as_release_states():
    observed = {"web1": host(ids=(1, 2), current=2)}
    plan = compute_plan("set-active", desired_for_set_active(observed, 1), observed).hosts[0]
    assert plan.states_after() == {1: "active", 2: "retired"}
    assert not plan.has("record_state"), "a switch implies its states"


def test_release_states_found_wrong_are_planned_and_written():
    seen = host(ids=(1, 2, 3), current=3)
    wrong = (release(1, state="active"), release(2, state="ready"), release(3, state="ready"))
    observed = {"web1": seen.model_copy(update={"releases": wrong})}
    plan = compute_plan("set-active", desired_for_set_active(observed, 3), observed).hosts[0]
    assert [(a.kind, a.target, a.after) for a in plan.actions] == [
        ("record_state", "1", "retired"),
        ("record_state", "3", "active"),
    ]
    assert plan.states_after() == {1: "retired", 3: "active"}


def test_failed_releases_are_never_chosen_and_are_removed_by_the_next_apply():
    seen = host(ids=(1, 2), current=1).model_copy(update={"failed": (3,)})
    observed = {"web1": seen}
    assert resolve_release(observed, "latest") == 2
    with pytest.raises(ShipstateError, match="release 3 failed its checks on web1"):
        resolve_release(observed, 3)
    plan = compute_plan("apply", desired_for_apply(observed, {"web1": draft("k9")}, 5), observed)
    assert plan.hosts[0].targets("remove_leftover") == ["releases/3"]
    assert plan.hosts[0].new_release.id == 4, "a failed release's number is not reused"


def test_history_shows_a_first_deploy_as_from_none_and_escapes_what_the_host_wrote():
    from rich.console import Console

    from shipstate.views import render_history

    console = Console(record=True, width=200)
    entry = {"at": "2026-11-27T05:27:28Z", "by": "[red]me", "command": "apply", "outcome": "ok"}
    render_history({"web1": [{**entry, "from": None, "to": 1}]}, console)
    assert console.export_text().splitlines() == [
        "web1",
        "  2026-11-27T05:27:28Z  [red]me  apply  none -> 1  ok",
    ]


def test_releases_line_up_in_columns_whatever_their_state():
    from rich.console import Console

    from shipstate.views import render_releases

    console = Console(record=True, width=200)
    seen = host(ids=(1, 2, 3), current=2).model_copy(update={"failed": (4,)})
    ready = seen.release(3).model_copy(update={"state": "ready"})
    seen = seen.model_copy(update={"releases": (*seen.releases[:2], ready)})
    render_releases({"web1": seen}, console)
    lines = console.export_text().splitlines()
    assert [line[:16] for line in lines] == [
        "web1",
        "  ready        3",
        "* active       2",
        "  retired      1",
        "  failed       4",
    ]


def test_hooks_whose_inputs_are_as_in_the_active_release_are_skipped():
    hooks = (
        HookStamp(command="migrate", inputs="m1"),
        HookStamp(command="collectstatic", inputs="s2"),
        HookStamp(command="notify"),
    )
    new = draft(key="k3").model_copy(update={"hooks": hooks})
    seen = host(ids=(1, 2), current=2)
    active = seen.release(2).model_copy(update={"hooks": ("m1", "s1")})
    retired = seen.release(1).model_copy(update={"hooks": ("m1", "s2")})
    seen = seen.model_copy(update={"releases": (retired, active)})
    plan = compute_plan(
        "apply", desired_for_apply({"web1": seen}, {"web1": new}, 4), {"web1": seen}
    )
    (created,) = [a for a in plan.hosts[0].actions if a.kind == "create_release"]
    assert plan.hosts[0].new_release.skipped_hooks == (0,), "only the active release counts"
    assert created.reason.endswith("inputs as in release 2, so skipped: `migrate`")
    assert plan.hosts[0].new_release.manifest("building")["hooks"] == ["m1", "s2"]

    first = compute_plan(
        "apply", desired_for_apply({"web1": host(ids=())}, {"web1": new}, 4), {"web1": host(ids=())}
    )
    assert first.hosts[0].new_release.skipped_hooks == (), "nothing to compare with: all run"


def test_hook_steps_run_or_copy_outputs_and_once_hooks_run_on_one_host():
    hooks = (
        Hook(command="migrate", run="once", inputs=("**/migrations/*.py",)),
        Hook(command="collectstatic", inputs=("**",), outputs=("static",)),
        Hook(command="compress", inputs=("**",)),
        Hook(command="notify"),
    )
    new = NewRelease(id=3, skipped_hooks=(1, 2), **draft().model_dump())
    assert hook_steps(hooks, new, 2, runs_once=True) == (
        HookStep(command="migrate"),
        HookStep(command="collectstatic", reuse_from=2, outputs=("static",)),
        HookStep(command="notify"),
    )
    assert hook_steps(hooks, new, 2, runs_once=False)[0].command == "collectstatic"
    assert hook_steps(hooks, None, 2, runs_once=True) == ()


def test_hosts_making_alike_config_changes_are_shown_once():
    def host(name: str, nginx: str) -> HostPlan:
        configs = {"gunicorn.conf.py": "workers = 2\n", "nginx.conf": nginx}
        actions = tuple(
            Action(
                kind="change_config", target=t, before=f"listen {name};\n", after=text, reason="r"
            )
            for t, text in configs.items()
        )
        return HostPlan(host=name, active_before=None, active_after=1, actions=actions)

    plan = Plan(
        command="apply",
        hosts=(
            host("web1", "listen web1;\n# on web1\n"),
            host("web10", "listen web10;\n# on web10\n"),
            host("web2", "listen web2;\n# on web2\nserver {}\n"),
        ),
    )
    screen = StringIO()
    render_plan(plan, Console(file=screen, width=200, no_color=True))
    text = screen.getvalue()
    assert text.startswith("web1, web10\n"), "the same changes but for the host's name"
    assert text.count("(web1's diff: the others' differ only in their own names") == 2
    assert text.count("+workers = 2") == 1 and text.count("(the same change as on web1)") == 1
    assert "+# on web1" in text and "+# on web10" not in text
    assert " listen web1;" in text and " listen web10;" not in text, "the lines around it"
    assert "\nweb2\n" in text and "+# on web2" in text and "+server {}" in text
    assert "Plan: 0 to add, 6 to change, 0 to remove." in text


def test_hosts_with_the_same_plan_are_shown_once_under_their_names():
    def host(name: str, *releases: int) -> HostPlan:
        actions = tuple(
            Action(kind="create_release", target=str(n), after="1", reason="new code")
            for n in releases
        )
        return HostPlan(host=name, active_before=1, active_after=2, actions=actions)

    names = ("web1", "web2", "web3", "web4", "web5")
    plan = Plan(
        command="apply", hosts=(*(host(n, 2) for n in names), host("web6", 3), host("web7"))
    )
    screen = StringIO()
    render_plan(plan, Console(file=screen, width=200, no_color=True))
    assert screen.getvalue().splitlines() == [
        "web1, web2, web3, web4, web5 (5 hosts)",
        "  + release 2  new code",
        "web6",
        "  + release 3  new code",
        "web7: no changes",
        "",
        "Plan: 6 to add, 0 to change, 0 to remove.",
    ]


def test_config_changes_alike_but_for_each_hosts_address_are_one():
    def host(name: str, address: str) -> HostPlan:
        config = f"server {{\n    listen {address}:80;\n}}\n"
        action = Action(kind="change_config", target="nginx.conf", after=config, reason="new")
        return HostPlan(host=name, active_before=None, active_after=1, actions=(action,))

    plan = Plan(command="apply", hosts=(host("a", "127.0.0.11"), host("b", "127.0.0.12")))
    own = {"a": ("a", "127.0.0.11"), "b": ("b", "127.0.0.12")}
    screen = StringIO()
    render_plan(plan, Console(file=screen, width=200, no_color=True), own)
    text = screen.getvalue()
    assert text.startswith("a, b\n") and "+    listen 127.0.0.11:80;" in text
    assert "127.0.0.12" not in text and "the others' differ only in their own names or" in text
    screen = StringIO()
    render_plan(plan, Console(file=screen, width=200, no_color=True))
    assert "+    listen 127.0.0.12:80;" in screen.getvalue(), "the address unknown: not alike"


def test_hosts_with_the_same_releases_or_lock_are_listed_once():
    observed = {n: host((1, 2), 2, name=n) for n in ("web1", "web2", "web3", "web4")}
    observed["web5"] = host((1, 2), 1, name="web5")
    screen = StringIO()
    render_releases(observed, Console(file=screen, width=200, no_color=True))
    lines = screen.getvalue().splitlines()
    assert lines[0] == "web1, web2, web3, web4 (4 hosts)" and lines[3] == "web5", lines
    assert lines[1].startswith("* active       2") and lines[5].startswith("* active       1")
    screen = StringIO()
    render_locks(observed, 60, Console(file=screen, width=200, no_color=True))
    assert screen.getvalue() == "web1, web2, web3, web4, web5 (5 hosts): not locked\n"


def test_hosts_are_listed_by_name_with_their_numbers_counted():
    assert in_host_order(["web10", "web2", "db", "web1", "1web"]) == [
        "1web",
        "db",
        "web1",
        "web2",
        "web10",
    ]
    observed = {n: host(name=n) for n in ("web10", "web11", "web9")}
    plan = compute_plan("set-active", desired_for_set_active(observed, 1), observed)
    assert [h.host for h in plan.hosts] == ["web9", "web10", "web11"]
    observed["web2"] = host((1, 2), 2, name="web2")
    screen = StringIO()
    render_releases(observed, Console(file=screen, width=200, no_color=True))
    headers = [line for line in screen.getvalue().splitlines() if line.startswith("web")]
    assert headers == ["web2", "web9, web10, web11"]


def test_progress_names_the_hosts_of_a_step_unless_they_are_all():
    assert named_among(["web1"], 1) == "web1"
    assert named_among(["web1", "web2"], 2) == "both hosts"
    assert named_among(["web2", "web1"], 3) == "web1, web2"
    assert named_among([f"web{n}" for n in range(1, 11)], 10) == "all 10 hosts"
    assert named_among([f"web{n}" for n in range(3, 11)], 10) == (
        "web3, web4, web5, web6, web7, web8, web9, web10 (8 hosts)"
    )
