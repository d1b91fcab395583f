"""The deploy composition: a plan's actions as pyinfra operations, in phases across the fleet.

Every host gets the same sequence of operations (pyinfra identifies them by position); an
operation with nothing to do on a host yields no command there. run_ops finishes each operation
on every host before the next, and stops everywhere after a failure: every host prepares
before any host switches, and a failure while preparing switches nothing."""

from dataclasses import dataclass

from pyinfra.api import State
from pyinfra.api.host import Host
from pyinfra.api.operation import add_op

from shipstate.config import Config
from shipstate.desired import HookStep
from shipstate.layout import Layout
from shipstate.operations import releases
from shipstate.plan import HostPlan

PREPARE = "prepare"
SWITCH = "switch"
HOOKS = "hooks"  # the step running the release's hooks
FINISH = "finish"


@dataclass(frozen=True)
class HostWork:
    """What one host is given: its plan and the inputs its operations need."""

    plan: HostPlan
    program_conf: str
    archive: bytes
    hooks: tuple[HookStep, ...]
    site_address: str
    site_ports: list[int]  # nginx's for the site: HTTP's, and HTTPS' with TLS
    secrets: bytes | None
    requirements: bytes | None  # made of a lock file, for a new environment


def _reload_to(plan: HostPlan) -> str | None:
    return next((a.after for a in plan.actions if a.kind == "reload_nginx"), None)


def add_plan_ops(state: State, config: Config, work: dict[Host, HostWork]) -> dict[str, str]:
    """Add the operations, each named by its step; returns each step -> its phase."""
    layout = Layout(config.root, config.name)
    phases: dict[str, str] = {}

    def each(phase, step, op, arguments):
        phases[step] = phase
        for pyinfra_host, item in work.items():
            add_op(state, op, name=step, host=pyinfra_host, **arguments(item.plan, item))

    each(
        PREPARE,
        "remove leftovers",
        releases.leftovers_absent,
        lambda p, w: {"layout": layout, "leftovers": p.targets("remove_leftover")},
    )
    each(
        PREPARE,
        "upload",
        releases.release_uploaded,
        lambda p, w: {
            "layout": layout,
            "release": p.new_release,
            "archive": w.archive,
            "shared_dirs": config.shared_dirs,
            "shared_files": config.shared_files,
            "secrets_path": config.secrets.path if config.secrets else None,
            "secrets": w.secrets if p.has("upload_secrets") else None,
            "requirements": w.requirements,
        },
    )
    each(
        PREPARE,
        "environment",
        releases.environment_present,
        lambda p, w: {
            "layout": layout,
            "release": p.new_release,
            "build": p.has("create_environment"),
            "app": config,
        },
    )
    each(
        PREPARE,
        "release in place",
        releases.release_present,
        lambda p, w: {"layout": layout, "release": p.new_release},
    )
    each(
        PREPARE,
        "check nginx config",
        releases.site_config_checked,
        lambda p, w: {
            "layout": layout,
            "release_id": p.active_after,
            "live": p.active_before,
            "check": p.has("reload_nginx"),
            "names": config.server_name.split(),
            "ports": w.site_ports,
        },
    )

    start_app_server = (
        PREPARE,
        "start app server",
        releases.app_server_started,
        lambda p, w: {
            "layout": layout,
            "release_id": p.active_after,
            "python": config.python,
            "program_conf": w.program_conf,
            "start": p.has("start_app_server"),
        },
    )
    hooks = (
        PREPARE,
        HOOKS,
        releases.release_hooks_run,
        lambda p, w: {
            "layout": layout,
            "release": p.new_release,
            "hooks": w.hooks,
            "app": config,
        },
    )
    # the new app server imports the app while the hooks run; it is asked nothing before
    for step in (
        (start_app_server, hooks) if config.start_during_hooks else (hooks, start_app_server)
    ):
        each(*step)
    each(
        PREPARE,
        "check app server",
        releases.app_server_answers,
        lambda p, w: {
            "layout": layout,
            "release_id": p.active_after,
            "check": p.has("start_app_server"),
            "app": config,
            "health_host": config.host_name or "localhost",
        },
    )
    each(
        PREPARE,
        "release ready",
        releases.release_ready,
        lambda p, w: {"layout": layout, "release": p.new_release},
    )
    each(
        SWITCH,
        "switch",
        releases.active_release,
        lambda p, w: {
            "layout": layout,
            "release_id": p.active_after,
            "current": p.active_before,
            "states": p.states_after(),
        },
    )
    each(
        SWITCH,
        "reload nginx",
        releases.nginx_config,
        lambda p, w: {"layout": layout, "release_id": p.active_after, "site_sha": _reload_to(p)},
    )
    each(
        SWITCH,
        "check site",
        releases.site_answers,
        lambda p, w: {
            "python": layout.python(layout.release(p.active_after)),
            "address": w.site_address,
            "health_host": config.host_name or "localhost",
            "health_path": config.health_path,
            "scheme": config.scheme,
            "check": p.has("switch_active") or p.has("reload_nginx"),
        },
    )
    each(
        SWITCH,
        "restart processes",
        releases.processes_running,
        lambda p, w: {
            "layout": layout,
            "python": config.python,
            "release_id": p.active_after,
            "restart": p.has("restart_processes"),
            "wanted": any(a.after for a in p.actions if a.kind == "restart_processes"),
        },
    )
    each(
        FINISH,
        "stop old app servers",
        releases.app_servers_stopped,
        lambda p, w: {
            "layout": layout,
            "python": config.python,
            "release_ids": p.release_ids("stop_app_server"),
            "drain": p.active_before in p.release_ids("stop_app_server"),
        },
    )
    each(
        FINISH,
        "purge releases",
        releases.releases_absent,
        lambda p, w: {"layout": layout, "release_ids": p.release_ids("purge_release")},
    )
    each(
        FINISH,
        "purge environments",
        releases.environments_absent,
        lambda p, w: {"layout": layout, "keys": p.targets("purge_environment")},
    )
    each(
        FINISH,
        "purge secrets",
        releases.secrets_absent,
        lambda p, w: {"layout": layout, "digests": p.targets("purge_secrets")},
    )
    return phases
