"""The deploy composition: a plan's actions as pyinfra operations, in phases across the fleet.

Every host gets the same sequence of operations (pyinfra identifies them by position); an
operation with nothing to do on a host yields no command there. run_ops finishes each operation
on every host before the next, so every host prepares before any host switches."""

from dataclasses import dataclass

from pyinfra.api import State
from pyinfra.api.host import Host
from pyinfra.api.operation import add_op

from shipstate.config import Config
from shipstate.layout import Layout
from shipstate.operations import releases
from shipstate.plan import HostPlan


@dataclass(frozen=True)
class HostWork:
    """What one host is given: its plan and the inputs its operations need."""

    plan: HostPlan
    program_conf: str
    archive: bytes
    hooks: tuple[str, ...]


def _reload_to(plan: HostPlan) -> str | None:
    return next((a.after for a in plan.actions if a.kind == "reload_nginx"), None)


def health_host(config: Config) -> str:
    first = config.server_name.split()[0]
    return "localhost" if first == "_" or "*" in first or first.startswith("~") else first


def add_plan_ops(state: State, config: Config, work: dict[Host, HostWork]) -> None:
    layout = Layout(config.root, config.name)

    def each(op, arguments):
        for pyinfra_host, item in work.items():
            add_op(state, op, host=pyinfra_host, **arguments(item.plan, item))

    each(
        releases.leftovers_absent,
        lambda p, w: {"layout": layout, "leftovers": p.targets("remove_leftover")},
    )
    each(
        releases.release_present,
        lambda p, w: {
            "layout": layout,
            "release": p.new_release,
            "build_env": p.has("create_environment"),
            "archive": w.archive,
            "python": config.python,
            "requirements": config.requirements,
            "shared_dirs": config.shared_dirs,
            "shared_files": config.shared_files,
            "hooks": w.hooks,
            "env": config.env,
        },
    )
    each(
        releases.app_server_running,
        lambda p, w: {
            "layout": layout,
            "release_id": p.active_after,
            "program_conf": w.program_conf,
            "start": p.has("start_app_server"),
            "health_host": health_host(config),
            "health_path": config.health_path,
        },
    )
    each(
        releases.active_release,
        lambda p, w: {"layout": layout, "release_id": p.active_after, "current": p.active_before},
    )
    each(releases.nginx_config, lambda p, w: {"layout": layout, "site_sha": _reload_to(p)})
    each(
        releases.app_servers_stopped,
        lambda p, w: {
            "layout": layout,
            "release_ids": [int(t) for t in p.targets("stop_app_server")],
        },
    )
    each(
        releases.releases_absent,
        lambda p, w: {
            "layout": layout,
            "release_ids": [int(t) for t in p.targets("purge_release")],
        },
    )
    each(
        releases.environments_absent,
        lambda p, w: {"layout": layout, "keys": p.targets("purge_environment")},
    )
