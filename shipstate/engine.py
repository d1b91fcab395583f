"""One shipstate run: load the project and fleet, observe, plan, apply, verify."""

import getpass
import hashlib
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

from shipstate.config import Config, load_config
from shipstate.desired import (
    DesiredHost,
    ReleaseDraft,
    desired_for_apply,
    desired_for_set_active,
    parse_release_name,
    resolve_release,
)
from shipstate.errors import ShipstateError
from shipstate.inventory import HostSpec, load_inventory, select_hosts
from shipstate.layout import Layout
from shipstate.observed import ObservedHost
from shipstate.plan import Plan, compute_plan
from shipstate.runner import Fleet, Reporter
from shipstate.source import Source, archive, read_source
from shipstate.templates import PROGRAM_TEMPLATE, RELEASE_TEMPLATES, Templates


def host_context(config: Config, spec: HostSpec) -> dict:
    return {
        "app": config,
        "host": {
            "name": spec.name,
            "data": spec.data,
            "groups": spec.groups,
            "listen_addr": spec.data.get("listen_addr", ""),
            "http_port": spec.data.get("http_port", 80),
        },
    }


def ssh_user(spec: HostSpec) -> str:
    return str(spec.data.get("ssh_user") or getpass.getuser())


class Session:
    """Everything one command needs; connects to the fleet on first use."""

    def __init__(
        self,
        app_dir: Path,
        inventory: Path,
        limit: list[str] | None,
        report: Reporter,
        accept_new_host_keys: bool = False,
    ):
        self.app_dir = app_dir
        self.config = load_config(app_dir)
        self.templates = Templates(app_dir)
        self.hosts = select_hosts(load_inventory(inventory), limit)
        self.layout = Layout(self.config.root, self.config.name)
        self.report = report
        self.accept_new_host_keys = accept_new_host_keys
        self._fleet: Fleet | None = None
        self._source: Source | None = None
        self._redesire = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        if self._fleet is not None:
            self._fleet.close()

    def fleet(self) -> Fleet:
        if self._fleet is None:
            self.report(f"connecting to {len(self.hosts)} host(s)")
            self._fleet = Fleet(self.hosts, self.report, self.accept_new_host_keys).__enter__()
        return self._fleet

    def observe(self) -> dict[str, ObservedHost]:
        from shipstate.facts import HostState

        lines = self.fleet().facts(HostState, root=self.config.root, app=self.config.name)
        return {
            name: HostState.observe(name, value, self.config.name) for name, value in lines.items()
        }

    # -- desired state ---------------------------------------------------------------------

    def render_program(self, spec: HostSpec, release_id: int) -> str:
        user = ssh_user(spec)
        release_dir = self.layout.release(release_id)
        return self.templates.render(
            PROGRAM_TEMPLATE,
            {
                **host_context(self.config, spec),
                "program": self.layout.program(release_id),
                "release": release_id,
                "release_dir": release_dir,
                "user": user,
                "home": "/root" if user == "root" else f"/home/{user}",
            },
        )

    def draft(self, spec: HostSpec, source: Source, created_at: str) -> ReleaseDraft:
        context = host_context(self.config, spec)
        configs = {
            name: self.templates.render(template, context)
            for name, template in RELEASE_TEMPLATES.items()
        }
        self.render_program(spec, 0)
        key = hashlib.sha256(
            json.dumps(
                {
                    "tree": source.tree,
                    "requirements": source.requirements_sha,
                    "config": self.config.model_dump(mode="json"),
                    "templates": self.templates.source_digest(),
                    "host": {k: v for k, v in context["host"].items() if k != "name"},
                },
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()
        env = hashlib.sha256(
            json.dumps([self.config.python, source.requirements_sha, "gunicorn"]).encode()
        ).hexdigest()[:16]
        return ReleaseDraft(
            env=env,
            key=key,
            commit=source.commit,
            dirty=source.dirty,
            subject=source.subject,
            created_at=created_at,
            created_by=f"{getpass.getuser()}@{socket.gethostname()}",
            configs=configs,
        )

    def plan_apply(self, ref: str, allow_dirty: bool) -> Plan:
        source = read_source(self.app_dir, ref, self.config.requirements, allow_dirty)
        self._source = source
        created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        drafts = {spec.name: self.draft(spec, source, created_at) for spec in self.hosts}

        def redesire(observed: dict[str, ObservedHost]) -> dict[str, DesiredHost]:
            return desired_for_apply(observed, drafts, self.config.keep_releases)

        return self._plan("apply", redesire)

    def plan_set_active(self, name: str) -> Plan:
        wanted = parse_release_name(name)
        observed = self.observe()
        release = resolve_release(observed, wanted)
        return self._plan(
            "set-active", lambda seen: desired_for_set_active(seen, release), observed
        )

    def _plan(self, command: str, redesire, observed=None) -> Plan:
        observed = observed if observed is not None else self.observe()
        self._redesire = (command, redesire)
        return compute_plan(command, redesire(observed), observed)

    # -- effects -----------------------------------------------------------------------------

    def apply(self, plan: Plan) -> None:
        from shipstate.deploys.apply import HostWork, add_plan_ops

        specs = {spec.name: spec for spec in self.hosts}
        builders = sorted(h.host for h in plan.hosts if h.new_release)
        source_archive = archive(self.app_dir, self._source) if builders else b""
        runs_once_hooks = builders[0] if builders else None
        work = {}
        for pyinfra_host in self.fleet().hosts:
            host_plan = next(h for h in plan.hosts if h.host == pyinfra_host.name)
            hooks = tuple(
                h.command
                for h in self.config.hooks
                if h.run == "every-host" or pyinfra_host.name == runs_once_hooks
            )
            work[pyinfra_host] = HostWork(
                plan=host_plan,
                program_conf=self.render_program(specs[pyinfra_host.name], host_plan.active_after),
                archive=source_archive if host_plan.new_release else b"",
                hooks=hooks,
            )
        self.report("applying")
        self.fleet().run(lambda state: add_plan_ops(state, self.config, work))
        self.verify()

    def verify(self) -> None:
        assert self._redesire is not None
        command, redesire = self._redesire
        observed = self.observe()
        left = compute_plan(command, redesire(observed), observed)
        if not left.empty:
            pending = "; ".join(
                f"{h.host}: {', '.join(a.kind for a in h.actions)}" for h in left.hosts if h.actions
            )
            raise ShipstateError(
                f"the fleet does not match the plan after apply ({pending})",
                hint="run `shipstate plan` to see what differs",
            )
        self.report("verified: the fleet matches the desired state")

    def releases(self) -> dict[str, ObservedHost]:
        return self.observe()
