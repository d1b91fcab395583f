"""One shipstate run: load the project and fleet, observe, plan, apply, verify."""

import getpass
import json
import shlex
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pyinfra.api import StringCommand

from shipstate.causes import hint_for
from shipstate.commands import (
    argv,
    in_release,
    process_command_line,
    processes_from,
    record_states,
    reload_nginx,
    stop_programs,
    supervisor_command,
    switch_current,
    with_env_file,
    write_line,
)
from shipstate.config import Config, load_config
from shipstate.desired import (
    HookStamp,
    ReleaseDraft,
    desired_for_apply,
    desired_for_set_active,
    hook_steps,
    parse_release_name,
    resolve_release,
)
from shipstate.errors import Interrupted, RemoteError, ShipstateError
from shipstate.hosts import in_host_order, named_among
from shipstate.identity import operator, utc_now
from shipstate.inventory import HostSpec, inventory_file, load_inventory, select_hosts
from shipstate.layout import PROCESSES_CONFIG, Layout
from shipstate.local_files import write_whole
from shipstate.locks import CONVERTERS
from shipstate.observed import ACTIVE, FAILED, ObservedHost, refuse_missing_packages
from shipstate.plan import (
    HostPlan,
    Plan,
    SavedPlan,
    compute_plan,
    desired_after,
    fingerprint,
    read_saved_plan,
    sha256,
)
from shipstate.runner import (
    Failure,
    Fleet,
    Ran,
    Reporter,
    describe_failures,
    follow,
    on_each,
    openssh_command,
    run_command,
    through_interrupts,
)
from shipstate.source import (
    CommitChange,
    LocalSecrets,
    Source,
    check_database_url,
    check_directories,
    check_shared_files,
    commits_between,
    hook_inputs,
    migrations_undone,
    read_secrets,
    read_source,
    release_archive,
    requirements_made,
)
from shipstate.templates import PROGRAM_TEMPLATE, RELEASE_TEMPLATES, Templates


@dataclass(frozen=True)
class AppRead:
    """What a plan needs from the app's checkout, read before the hosts are observed."""

    secrets: LocalSecrets | None
    source: Source
    inputs: tuple[str, ...]  # each hook's inputs digest
    configs: dict[str, dict[str, str]]  # each host's rendered release configs
    archive: Future[bytes] | None


def host_context(config: Config, spec: HostSpec) -> dict:
    return {
        "app": config,
        "host": {
            "name": spec.name,
            "data": spec.data,
            "groups": spec.groups,
            "listen_addr": spec.data.get("listen_addr", ""),
            "http_port": spec.port("http"),
            "https_port": spec.port("https"),
        },
    }


def site_address(spec: HostSpec, scheme: str) -> str:
    """Where the host's nginx serves the site, seen from the host itself."""
    return f"{spec.data.get('listen_addr') or '127.0.0.1'}:{spec.port(scheme)}"


def _refuse_another_deploy_user(fleet: Fleet, deploy_users: dict[str, str]) -> None:
    """supervisord's socket is for one group: a server that bootstrap set up for another
    app's deploy user keeps it (rewriting it would lock that app out, and restart it)."""
    from pyinfra.facts.files import FindInFile

    from shipstate.server_files import SUPERVISOR_CONF, SUPERVISOR_SOCKET_OWNER

    found = fleet.facts(FindInFile, path=SUPERVISOR_CONF, pattern=f"^{SUPERVISOR_SOCKET_OWNER}")
    groups = {
        name: lines[0].removeprefix(SUPERVISOR_SOCKET_OWNER).strip()
        for name, lines in found.items()
        if lines
    }
    others = {name: group for name, group in groups.items() if group != deploy_users[name]}
    if others:
        users = sorted(set(others.values()))
        raise ShipstateError(
            f"supervisord on {', '.join(in_host_order(others))} is set up for deploy user "
            f"{', '.join(users)} (another app's?): its socket serves that user's group only",
            hint=f"deploy every app on a server as the same user: ssh_user = {users[0]!r} in "
            "the inventory",
        )


def _executed(fleet: Fleet, command: str, hint: str) -> dict[str, list[str]]:
    """What the operations prepared changed on each host, once run; a failure raised."""
    failures = fleet.execute()
    if failures:
        raise RemoteError(f"{command} failed:\n  " + describe_failures(failures), hint=hint)
    return fleet.changed()


def site_ports(spec: HostSpec, config: Config) -> list[int]:
    """The ports the host's nginx serves the site on: HTTP's, and HTTPS' with TLS."""
    return [spec.port("http"), *([spec.port("https")] if config.tls else [])]


def recovery_commands(
    layout: Layout, plan: HostPlan, switched: bool, python: str
) -> list[StringCommand]:
    """Undo what a failed apply did on one host (see Session._recover). A release that failed
    after a switch is kept, marked `failed`, until the next apply removes it."""
    commands = []
    before, after = plan.active_before, plan.active_after
    if switched and before != after:
        if before is None:
            commands.append(argv("rm", "-f", layout.current))
        else:
            commands.append(switch_current(layout, before))
        states = {after: FAILED} if before is None else {after: FAILED, before: ACTIVE}
        commands.append(record_states(layout, states))
    reload = next((a for a in plan.actions if a.kind == "reload_nginx"), None)
    if switched and reload is not None:
        commands.append(reload_nginx(layout, before, reload.before))
    if switched and plan.has("restart_processes"):
        commands.append(processes_from(layout, python, before))
    if plan.has("start_app_server") and after != before:
        started = argv("test", "-e", layout.program_file(after))
        commands.append(
            StringCommand(
                "if", started, ";", "then", stop_programs(layout, python, [after]), ";", "fi"
            )
        )
    if uploaded := plan.targets("upload_secrets"):
        commands.append(argv("rm", "-f", *(layout.secret(digest) for digest in uploaded)))
    if new := plan.new_release:
        unfinished = [layout.building(new.id), layout.building_env(new.env)]
        if not switched:
            unfinished.append(layout.release(new.id))
        commands.append(argv("rm", "-rf", *unfinished))
    return commands


def read_public_key(path: Path | None, spec: HostSpec) -> str:
    """The deploy user's public key: `path`, else the inventory's ssh_key + .pub, else the SSH
    config's IdentityFile + .pub, else ~/.ssh's."""
    home = Path.home() / ".ssh"
    keys = [spec.data["ssh_key"]] if spec.data.get("ssh_key") else []
    keys += _ssh_config(spec).get("identityfile", [])
    candidates = (
        [path]
        if path
        else [
            *(Path(f"{key}.pub").expanduser() for key in keys),
            home / "id_ed25519.pub",
            home / "id_rsa.pub",
        ]
    )
    for candidate in candidates:
        try:
            key = candidate.read_text().strip()
        except OSError:
            continue
        if len(key.splitlines()) != 1 or not key.startswith(("ssh-", "ecdsa-", "sk-")):
            raise ShipstateError(
                f"{candidate} is not an OpenSSH public key",
                hint="pass the .pub file: --public-key ~/.ssh/id_ed25519.pub",
            )
        return key
    raise ShipstateError(
        f"no public key for the deploy user of {spec.name} (tried "
        f"{', '.join(str(c) for c in candidates)})",
        hint="pass one: --public-key ~/.ssh/id_ed25519.pub",
    )


def ssh_user(spec: HostSpec) -> str:
    """Who pyinfra logs in as: the inventory's ssh_user, else the SSH config's `User` for the
    host, else this machine's user."""
    return str(spec.data.get("ssh_user") or _ssh_config(spec).get("user") or getpass.getuser())


def _ssh_config(spec: HostSpec) -> dict:
    """What the SSH config (~/.ssh/config, or the inventory's ssh_config_file) says of the host,
    as pyinfra reads it."""
    from pyinfra.connectors.sshuserclient.client import get_ssh_config

    config = get_ssh_config(spec.data.get("ssh_config_file"))
    return config.lookup(spec.address) if config else {}


def home_of(user: str) -> str:
    return "/root" if user == "root" else f"/home/{user}"


class Session:
    """Everything one command needs; connects to the fleet on first use."""

    def __init__(
        self,
        app_dir: Path,
        inventory: Path,
        limit: list[str] | None,
        report: Reporter,
        accept_new_host_keys: bool = False,
        verbose: bool = False,
    ):
        self.app_dir = app_dir
        self.config = load_config(app_dir, inventory.stem)
        self.templates = Templates(app_dir)
        self.inventory_hosts = load_inventory(inventory)
        # runs "once" processes
        self.first_host = in_host_order(spec.name for spec in self.inventory_hosts)[0]
        self.hosts = select_hosts(self.inventory_hosts, limit)
        self.inventory = inventory_file(inventory)
        self.inventory_name = self.inventory.stem
        self.layout = Layout(self.config.root, self.config.name)
        self.report = report
        self.accept_new_host_keys = accept_new_host_keys
        self.verbose = verbose
        self._fleet: Fleet | None = None
        self._secrets: LocalSecrets | None = None
        self._archives: dict[str, Future[bytes]] = {}
        self._made_requirements: dict[str, bytes] = {}
        self._observed_while_locking: dict[str, list[str]] = {}
        self.observed: dict[str, ObservedHost] = {}

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        if self._fleet is not None:
            self._fleet.close()

    def fleet(self) -> Fleet:
        if self._fleet is None:
            self.report(f"connecting to {len(self.hosts)} host(s)")
            try:
                self._fleet = Fleet(
                    self.hosts, self.report, self.accept_new_host_keys, self.verbose
                ).__enter__()
            except ShipstateError as error:
                if self._sandbox_down():
                    size = len(self.inventory_hosts)
                    raise ShipstateError(
                        error.message,
                        hint="this inventory is the sandbox's, and the sandbox is down: "
                        f"`shipstate sandbox up --hosts {size}` starts it again",
                    ) from None
                raise
        return self._fleet

    def _sandbox_down(self) -> bool:
        from shipstate import sandbox

        sandbox_key = str(sandbox.key_path())
        sandbox_inventory = any(spec.data.get("ssh_key") == sandbox_key for spec in self.hosts)
        return sandbox_inventory and not sandbox.alive_hosts()

    def _observation(self) -> dict[str, object]:
        return {
            "root": self.config.root,
            "app": self.config.name,
            "python": self.config.python,
            "packages": self.config.packages,
        }

    def observe(self) -> dict[str, ObservedHost]:
        """Each host's state: read by the lock's round trip if it was just taken, else now."""
        from shipstate.facts import HostState

        lines, self._observed_while_locking = self._observed_while_locking, {}
        if set(lines) != {host.name for host in self.fleet().hosts}:
            lines = self.fleet().facts(HostState, **self._observation())
        observed, unusable = {}, []
        for name, value in lines.items():
            try:
                observed[name] = HostState.observe(name, value, self.config.name)
            except ShipstateError as exc:
                unusable.append(exc)
        if unusable:
            raise ShipstateError(
                "\n".join(exc.message for exc in unusable),
                hint="; ".join(dict.fromkeys(exc.hint for exc in unusable if exc.hint)) or None,
            )
        self.observed = observed
        return self.observed

    # -- desired state ---------------------------------------------------------------------

    def render_program(self, spec: HostSpec, release_id: int) -> str:
        user = ssh_user(spec)
        release_dir = self.layout.release(release_id)
        secrets = self.config.secrets_env_file
        load_secrets = (
            supervisor_command(*with_env_file(self.config.python, secrets)) + " " if secrets else ""
        )
        return self.templates.render(
            PROGRAM_TEMPLATE,
            {
                **host_context(self.config, spec),
                "program": self.layout.program(release_id),
                "release": release_id,
                "release_dir": release_dir,
                "load_secrets": load_secrets,
                "user": user,
                "home": home_of(user),
            },
        )

    def render_release(self, spec: HostSpec) -> dict[str, str]:
        """The release's configs for the host (a template mistake fails here, before connecting);
        processes.conf only for a host running some of the app's processes."""
        user = ssh_user(spec)
        current = self.layout.current
        context = {
            **host_context(self.config, spec),
            "user": user,
            "home": home_of(user),
            "processes": [
                {
                    "program": self.layout.process_program(process.name),
                    "command_line": process_command_line(self.config, current, process.command),
                    "stop_seconds": process.stop_seconds,
                    "log": self.layout.process_log(process.name),
                }
                for process in self.config.processes
                if process.runs_on(spec.name, self.first_host)
            ],
        }
        self.render_program(spec, 0)
        return {
            name: self.templates.render(template, context)
            for name, template in RELEASE_TEMPLATES.items()
            if name != PROCESSES_CONFIG or context["processes"]
        }

    def draft(
        self,
        spec: HostSpec,
        source: Source,
        inputs: tuple[str, ...],
        configs: dict[str, str],
        secrets: str,
        created_at: str,
        python_version: str,
    ) -> ReleaseDraft:
        """The release for the host; its environment is keyed by the requirements and the
        host's Python version. `inputs`: the digest of each hook's inputs in the source."""
        context = host_context(self.config, spec)
        env = sha256(
            json.dumps(
                [
                    self.config.python,
                    python_version,
                    source.requirements_sha,
                    *self.config.server_packages,
                ]
            )
        )[:16]
        # what the build makes is no input of a hook's, but the build is, when the app has one
        built = [self.config.build.model_dump(mode="json")] if self.config.build else []
        hooks = tuple(
            HookStamp(
                command=hook.command,
                inputs=sha256(
                    json.dumps(
                        [hook.model_dump(mode="json"), digest, env, self.config.env, secrets]
                        + built
                        + ([self.config.pythonpath] if self.config.pythonpath else [])
                    )
                )[:16]
                if digest
                else "",
            )
            for hook, digest in zip(self.config.hooks, inputs, strict=True)
        )
        key = sha256(
            json.dumps(
                {
                    "tree": source.tree,
                    "requirements": source.requirements_sha,
                    "env": env,
                    "secrets": secrets,
                    "config": self.config.model_dump(mode="json"),
                    "templates": self.templates.source_digest(),
                    "host": {k: v for k, v in context["host"].items() if k != "name"},
                },
                sort_keys=True,
                default=str,
            )
        )
        return ReleaseDraft(
            env=env,
            secrets=secrets,
            key=key,
            commit=source.commit,
            dirty=source.dirty,
            subject=source.subject,
            created_at=created_at,
            created_by=operator(),
            configs=configs,
            hooks=hooks,
            build=self.config.build.command if self.config.build else "",
        )

    def read_app(self, ref: str, allow_dirty: bool, with_archive: bool) -> Future[AppRead]:
        """Start reading the app's checkout in a thread (a greenlet under the CLI's gevent),
        and for an apply archiving its commit in another: both overlap connecting to the fleet
        and the lock, and the plan waits only for the read."""
        pool = ThreadPoolExecutor(2)

        def read() -> AppRead:
            try:
                secrets = read_secrets(self.app_dir, self.config.secrets, self.inventory_name)
                source = read_source(
                    self.app_dir,
                    ref,
                    self.config.requirements,
                    self.config.requirements_kind,
                    allow_dirty,
                    secrets.names if secrets else frozenset(),
                    self.inventory,
                )
                check_directories(self.app_dir, source, self.config.workdir, self.config.pythonpath)
                check_shared_files(self.app_dir, source, self.config.shared_files)
                check_database_url(self.config, secrets, self.inventory_name)
                archived = (
                    pool.submit(
                        release_archive,
                        self.app_dir,
                        source.commit,
                        self.config.build,
                        self.report,
                    )
                    if with_archive
                    else None
                )
            finally:
                pool.shutdown(wait=False)
            return AppRead(
                secrets=secrets,
                source=source,
                inputs=hook_inputs(self.app_dir, source, self.config.hooks),
                configs={spec.name: self.render_release(spec) for spec in self.hosts},
                archive=archived,
            )

        return pool.submit(read)

    def plan_apply(self, reading: Future[AppRead]) -> Plan:
        read = reading.result()
        self._secrets = read.secrets
        if read.archive is not None:
            self._archives[read.source.commit] = read.archive
        if self.config.requirements_kind in CONVERTERS:
            self._made_requirements[read.source.commit] = read.source.requirements
        digest = self._secrets.digest if self._secrets else ""
        created_at = utc_now()
        observed = self.observe()
        refuse_missing_packages(observed, str(self.inventory))
        drafts = {
            spec.name: self.draft(
                spec,
                read.source,
                read.inputs,
                read.configs[spec.name],
                digest,
                created_at,
                observed[spec.name].python,
            )
            for spec in self.hosts
        }
        desired = desired_for_apply(
            observed, drafts, self.config.keep_releases, self.config.warm_previous
        )
        return compute_plan("apply", desired, observed)

    @staticmethod
    def check_release_name(name: str) -> None:
        parse_release_name(name)

    def plan_set_active(self, name: str) -> Plan:
        wanted = parse_release_name(name)
        observed = self.observe()
        release = resolve_release(observed, wanted)
        desired = desired_for_set_active(observed, release, self.config.warm_previous)
        return compute_plan("set-active", desired, observed)

    def own_values(self) -> dict[str, tuple[str, ...]]:
        """Each host's values its configs hold that no other host's do (its name, the address
        nginx listens on), for a view to tell which hosts' config changes are alike."""
        values = {}
        for spec in self.hosts:
            host = host_context(self.config, spec)["host"]
            values[spec.name] = tuple(v for v in (host["name"], host["listen_addr"]) if v)
        return values

    def run_line(self) -> str:
        """`shipstate run` reaching the database(s) the migrate hook does: each host's own when
        that hook runs on every host."""
        every_host = " --all" if self.config.migrates_on_every_host else ""
        return f"shipstate run -i {self.inventory}{every_host}"

    def commit_changes(self, plan: Plan) -> list[CommitChange]:
        """The commits each switch in `plan` makes live or undoes, by pair of commits."""
        pairs: dict[tuple[str, str], list[str]] = {}
        for host in plan.hosts:
            observed = self.observed[host.host]
            live = observed.release(observed.current)
            target = host.new_release or observed.release(host.active_after)
            if live and target and live.commit != target.commit:
                pairs.setdefault((live.commit, target.commit), []).append(host.host)
        return [
            CommitChange(
                tuple(hosts),
                live,
                target,
                commits_between(self.app_dir, live, target),
                migrations_undone(self.app_dir, live, target),
            )
            for (live, target), hosts in pairs.items()
        ]

    # -- saved plans ---------------------------------------------------------------------------

    def project_digest(self) -> str:
        """Everything besides the hosts that a plan is computed from."""
        return sha256(
            json.dumps(
                {
                    "config": self.config.model_dump(mode="json"),
                    "templates": self.templates.source_digest(),
                    "hosts": [spec.model_dump(mode="json") for spec in self.hosts],
                },
                sort_keys=True,
                default=str,
            )
        )

    def save_plan(self, plan: Plan, path: Path) -> None:
        saved = SavedPlan(
            plan=plan,
            fingerprints={name: fingerprint(seen) for name, seen in self.observed.items()},
            project=self.project_digest(),
        )
        try:
            write_whole(path, saved.model_dump_json(indent=2) + "\n")
        except OSError as exc:
            raise ShipstateError(
                f"cannot write {path}: {exc.strerror}", hint="pick another path"
            ) from None

    def load_plan(self, path: Path) -> SavedPlan:
        """A saved plan made for this project and these hosts (checked before connecting)."""
        saved = read_saved_plan(path)
        if set(saved.fingerprints) != {spec.name for spec in self.hosts}:
            raise ShipstateError(
                f"{path} was made for hosts {', '.join(in_host_order(saved.fingerprints))}",
                hint="apply it with the same inventory and --limit it was made with",
            )
        if saved.project != self.project_digest():
            raise ShipstateError(
                f"{path} was made from another shipstate.toml, templates or inventory",
                hint="make a new plan: shipstate plan --out FILE",
            )
        return saved

    def fresh_plan(self, saved: SavedPlan, path: Path) -> Plan:
        """The saved plan, if every host is still as it was when the plan was made."""
        observed = self.observe()
        changed = in_host_order(
            h for h, o in observed.items() if fingerprint(o) != saved.fingerprints[h]
        )
        if changed:
            raise ShipstateError(
                f"the plan in {path} is stale: {', '.join(changed)} changed since it was made",
                hint="nothing was applied; make a new plan: shipstate plan --out FILE",
            )
        digests = {h.new_release.secrets for h in saved.plan.hosts if h.new_release}
        if digests:
            self._secrets = read_secrets(self.app_dir, self.config.secrets, self.inventory_name)
            if {self._secrets.digest if self._secrets else ""} != digests:
                raise ShipstateError(
                    f"the secrets file changed since {path} was made",
                    hint="nothing was applied; make a new plan: shipstate plan --out FILE",
                )
        return saved.plan

    # -- effects -----------------------------------------------------------------------------

    def _archive(self, commit: str) -> bytes:
        archived = self._archives.get(commit)
        if archived is None:
            return release_archive(self.app_dir, commit, self.config.build, self.report)
        if not archived.done():  # a large repository's
            self.report(f"archiving commit {commit[:12]}")
            self.report(f"archived: {len(archived.result()) / 1e6:.1f} MB compressed")
        return archived.result()

    def _requirements_made(self, commit: str) -> bytes | None:
        """The requirements file made of the app's lock file, for a new environment."""
        if self.config.requirements_kind not in CONVERTERS:
            return None
        if commit not in self._made_requirements:
            self._made_requirements[commit] = requirements_made(
                self.app_dir,
                commit,
                self.config.requirements,
                self._secrets.names if self._secrets else frozenset(),
            )
        return self._made_requirements[commit]

    def apply(self, plan: Plan) -> None:
        from shipstate.deploys.apply import HostWork, add_plan_ops

        specs = {spec.name: spec for spec in self.hosts}
        builders = in_host_order(h.host for h in plan.hosts if h.new_release)
        commits = {h.new_release.commit for h in plan.hosts if h.new_release}
        commit = commits.pop() if commits else None
        source_archive = self._archive(commit) if commit else b""
        made = self._requirements_made(commit) if commit else None
        runs_once_hooks = builders[0] if builders else None
        work = {}
        for pyinfra_host in self.fleet().hosts:
            host_plan = next(h for h in plan.hosts if h.host == pyinfra_host.name)
            hooks = hook_steps(
                self.config.hooks,
                host_plan.new_release,
                host_plan.active_before,
                pyinfra_host.name == runs_once_hooks,
            )
            work[pyinfra_host] = HostWork(
                plan=host_plan,
                program_conf=self.render_program(specs[pyinfra_host.name], host_plan.active_after),
                archive=source_archive if host_plan.new_release else b"",
                hooks=hooks,
                site_address=site_address(specs[pyinfra_host.name], self.config.scheme),
                site_ports=site_ports(specs[pyinfra_host.name], self.config),
                secrets=self._secrets.content if self._secrets else None,
                requirements=made if host_plan.has("create_environment") else None,
            )
        before = dict(self.observed)
        self.report("applying")
        phases: dict[str, str] = {}
        interrupted = False
        try:
            failures = self.fleet().run(
                lambda state: phases.update(add_plan_ops(state, self.config, work))
            )
        except KeyboardInterrupt:
            failures, interrupted = self.fleet().interrupted(), True
            if not failures:
                raise
        self._report_phases(phases)
        try:
            if failures:
                ran = {
                    h.name: [s.command for s in w.hooks if s.reuse_from is None]
                    for h, w in work.items()
                }
                self._recover(plan, failures, phases, interrupted, ran)
            self.verify(plan, before)
        except ShipstateError as exc:
            said, *where = (line.strip().rstrip(":") for line in exc.message.splitlines())
            self._journal(plan, f"failed: {said}{f' ({where[0]})' if where else ''}")
            raise
        self._journal(plan, "applied")

    def _report_phases(self, phases: dict[str, str]) -> None:
        """One line: how long each phase took across the fleet."""
        spans: dict[str, tuple[float, float]] = {}
        for step, (start, end) in self.fleet().step_spans().items():
            phase = phases.get(step, step)
            first, last = spans.get(phase, (start, end))
            spans[phase] = (min(first, start), max(last, end))
        if spans:
            took = ", ".join(f"{phase} {end - start:.1f}s" for phase, (start, end) in spans.items())
            self.report(f"phases: {took}")

    def _journal(self, plan: Plan, outcome: str) -> None:
        """Append what happened to each host's history (never secrets: no config, no env)."""
        by_host = {h.host: h for h in plan.hosts}
        at, by = utc_now(), operator()

        def entry(name: str) -> list[StringCommand]:
            host_plan = by_host[name]
            new = host_plan.new_release
            line = json.dumps(
                {
                    "at": at,
                    "by": by,
                    "command": plan.command,
                    "from": host_plan.active_before,
                    "to": host_plan.active_after,
                    "commit": new.commit if new else None,
                    "outcome": outcome,
                }
            )
            return [write_line(line, self.layout.journal, append=True)]

        for problem in self.fleet().each_host(entry):
            self.report(f"could not write the history: {problem}")

    def run(self, command: tuple[str, ...], every_host: bool) -> list[Ran]:
        """`command` run in the active release of the first host (or of every host, at once),
        as its hooks are."""
        return self._on_active(
            every_host,
            lambda release_id: StringCommand(
                in_release(self.config, self.layout.release(release_id), release_id, *command),
                "</dev/null",  # nothing to read: a command that reads stdin ends, never waits
            ),
        )

    def _log_of(self, process: str | None) -> Callable[[int], str]:
        """The log, by the active release's number: its app server's, or a process's."""
        if process is None:
            return self.layout.log
        named = {p.name: p for p in self.config.processes}
        if process not in named:
            raise ShipstateError(
                f"shipstate.toml has no process {process!r}",
                hint=f"its processes: {', '.join(named)}"
                if named
                else "[[processes]] in shipstate.toml declares them (README: Configuration)",
            )
        self.hosts = [h for h in self.hosts if named[process].runs_on(h.name, self.first_host)]
        if not self.hosts:
            raise ShipstateError(
                f"process {process!r} runs once, on {self.first_host}, which --limit leaves out",
                hint=f"--limit {self.first_host}, or leave --limit out",
            )
        return lambda release_id: self.layout.process_log(process)

    def logs(self, lines: int, process: str | None = None) -> list[Ran]:
        """The last lines of each host's active app server log (or a process's)."""
        log = self._log_of(process)
        return self._on_active(
            True, lambda release_id: argv("tail", "-n", str(lines), log(release_id))
        )

    def terminal(self, command: tuple[str, ...]) -> list[str]:
        """The `ssh` command running `command` in the active release of the first host as `run`
        does, with a terminal (for a shell, createsuperuser); the caller runs it."""
        self._only_the_first_host()
        spec = self.hosts[0]
        current = self._active_releases(self.fleet().hosts)[spec.name]
        remote = in_release(self.config, self.layout.release(current), current, *command)
        return openssh_command(
            spec, self.accept_new_host_keys, shlex.join(["sh", "-c", remote.get_raw_value()])
        )

    def follow_logs(
        self, lines: int, emit: Callable[[str, str], None], process: str | None = None
    ) -> list[str]:
        """The last lines of each host's active app server log (or a process's), then each new
        one as it is written (through OpenSSH), until interrupted; returns the hosts whose
        connection failed."""
        log = self._log_of(process)
        active = self._active_releases(self.fleet().hosts)
        self._fleet.close()
        self._fleet = None
        tail = {
            spec.name: argv("tail", "-n", str(lines), "-F", log(active[spec.name]))
            for spec in self.hosts
        }
        return follow(
            {
                spec.name: openssh_command(
                    spec, self.accept_new_host_keys, tail[spec.name].get_raw_value(), False
                )
                for spec in self.hosts
            },
            emit,
        )

    def _only_the_first_host(self) -> None:
        """Connect to the first host only: another one down does not matter."""
        self.hosts = self.hosts[:1]

    def _active_releases(self, hosts: list) -> dict[str, int]:
        observed = self.observe()
        idle = [h.name for h in hosts if observed[h.name].current is None]
        if idle:
            raise ShipstateError(
                f"no active release on {', '.join(idle)}",
                hint="`shipstate apply` deploys one; `shipstate releases` shows each host's",
            )
        return {h.name: observed[h.name].current for h in hosts}

    def _on_active(self, every_host: bool, command: Callable[[int], StringCommand]) -> list[Ran]:
        if not every_host:
            self._only_the_first_host()
        hosts = self.fleet().hosts
        active = self._active_releases(hosts)

        def run(host) -> Ran:
            ok, output = run_command(host, command(active[host.name]))
            return Ran(host.name, ok, tuple(output.stdout_lines), tuple(output.stderr_lines))

        return on_each(hosts, run)

    def history(self, entries: int) -> dict[str, list[dict]]:
        from shipstate.facts import HostHistory

        found = self.fleet().facts(HostHistory, journal=self.layout.journal, entries=entries)
        return {name: HostHistory.entries(lines) for name, lines in found.items()}

    def _recover(
        self,
        plan: Plan,
        failures: list[Failure],
        phases: dict[str, str],
        interrupted: bool,
        hooks: dict[str, list[str]],
    ) -> None:
        """Undo a failed or interrupted apply: remove what it built and, if any host was
        switched, switch every host back to its previous release. Then raise the failure,
        naming the `hooks` (each host's commands) that ran: what they did outside the release
        stays."""
        from shipstate.deploys.apply import PREPARE, SWITCH

        failed_in = {phases.get(f.operation, PREPARE) for f in failures}
        switched = SWITCH in failed_in and PREPARE not in failed_in
        by_host = {h.host: h for h in plan.hosts}
        problems = []
        if failed_in & {PREPARE, SWITCH}:
            problems = through_interrupts(
                lambda: self.fleet().each_host(
                    lambda name: recovery_commands(
                        self.layout, by_host[name], switched, self.config.python
                    )
                ),
                self.report,
                "undoing the apply: it ends once every host is as it was (SIGKILL would stop it "
                "halfway)",
            )
        what = describe_failures(failures)
        stopped = "was interrupted" if interrupted else "failed"
        if PREPARE in failed_in:
            outcome = f"{stopped} while preparing; no host was switched"
        elif switched:
            outcome = (
                f"{stopped} after switching; every host was switched back to its previous"
                " release (the release it switched to is kept, marked failed, until the next"
                " apply)"
            )
        else:
            outcome = f"the new release is live, but cleaning up after it {stopped}"
        if problems:
            outcome += "\n  and the recovery itself failed on:\n  " + "\n  ".join(problems)
        error, hint = (
            (Interrupted, "apply again to deploy: it starts anew")
            if interrupted
            else (RemoteError, hint_for([f.output for f in failures]))
        )
        ran = self._hooks_ran(failures, hooks) if failed_in & {PREPARE, SWITCH} else ""
        raise error(f"apply {outcome}:\n  {what}{ran}", hint=hint)

    def _hooks_ran(self, failures: list[Failure], hooks: dict[str, list[str]]) -> str:
        """Which hooks ran where, when any did: the release they ran in is gone, what they did
        outside it (a database they migrated) is not."""
        from shipstate.deploys.apply import HOOKS

        failed = {f.host for f in failures if f.operation == HOOKS}
        alike: dict[tuple[tuple[str, ...], bool], list[str]] = {}
        for name in in_host_order({*self.fleet().reached(HOOKS), *failed}):
            if hooks.get(name):
                alike.setdefault((tuple(hooks[name]), name in failed), []).append(name)
        return "".join(
            f"\n  {named_among(names, len(self.hosts))}: the hooks ran"
            + (" (up to the one that failed)" if failing else "")
            + f": {', '.join(f'`{c}`' for c in commands)}; what they changed outside the release, "
            "as a database they migrated, stays"
            for (commands, failing), names in alike.items()
        )

    def verify(self, plan: Plan, before: dict[str, ObservedHost]) -> None:
        observed = self.observe()
        left = compute_plan(plan.command, desired_after(plan, before), observed)
        if not left.empty:
            pending = "; ".join(
                f"{h.host}: {', '.join(a.kind for a in h.actions)}" for h in left.hosts if h.actions
            )
            raise ShipstateError(
                f"the fleet does not match the plan after apply ({pending})",
                hint="run `shipstate plan` to see what differs",
            )
        self.report("verified: the fleet matches the desired state")

    # -- server setup --------------------------------------------------------------------------

    def bootstrap(
        self, connect_user: str, public_key: Path | None, plan_only: bool
    ) -> dict[str, list[str]]:
        """Set the hosts up for deploys as their inventory user; returns, per host, what
        changed (or with `plan_only`, what would)."""
        from shipstate.deploys.bootstrap import ServerSetup, add_bootstrap_ops

        deploy_users = {spec.name: ssh_user(spec) for spec in self.hosts}
        as_root = in_host_order(name for name, user in deploy_users.items() if user == "root")
        if as_root:
            raise ShipstateError(
                f"the inventory deploys to {', '.join(as_root)} as root",
                hint="set ssh_user to an unprivileged user (e.g. deploy): bootstrap creates it",
            )
        keys = {spec.name: read_public_key(public_key, spec) for spec in self.hosts}
        fleet = self._connected_as(connect_user)
        _refuse_another_deploy_user(fleet, deploy_users)
        setups = {
            target: ServerSetup(
                deploy_users[target.name], keys[target.name], self.layout, self.config.packages
            )
            for target in fleet.hosts
        }
        self.report(f"setting up as {connect_user}: " + ", ".join(in_host_order(deploy_users)))
        changes = fleet.prepare(
            lambda state: add_bootstrap_ops(state, setups, connect_user != "root")
        )
        if plan_only:
            return changes
        return _executed(
            fleet,
            "bootstrap",
            "fix the cause and run bootstrap again: it only does what is missing",
        )

    def remove(
        self, connect_user: str, confirm: Callable[[dict[str, list[str]]], bool]
    ) -> dict[str, list[str]] | None:
        """Take the app off the hosts, as `connect_user` (root, or a sudoer), once `confirm` is
        shown what that removes on each host; refused while a deploy holds the lock. Returns
        what was removed, or None when not confirmed."""
        from shipstate.deploys.bootstrap import add_removal_ops
        from shipstate.lock import LockedError, describe, lock_ttl

        fleet = self._connected_as(connect_user)
        held = {name: host.lock for name, host in self.observe().items() if host.lock}
        if held:
            raise LockedError(
                "refusing to remove the app while its deploy lock is held: "
                + "; ".join(describe(name, held[name], lock_ttl()) for name in in_host_order(held)),
                hint="wait until that deploy ends; a stale lock (its holder gone) goes with "
                "`shipstate lock release --force`",
            )
        sudo = connect_user != "root"
        changes = fleet.prepare(
            lambda state: add_removal_ops(state, fleet.hosts, self.layout, sudo)
        )
        if not confirm(changes):
            return None
        return _executed(
            fleet, "remove", "fix the cause and run remove again: it only does what is left"
        )

    def _connected_as(self, user: str) -> Fleet:
        """The fleet, reached as `user` instead of the inventory's deploy user."""
        self.hosts = [
            spec.model_copy(update={"data": {**spec.data, "ssh_user": user}}) for spec in self.hosts
        ]
        return self.fleet()

    def locked(self, wait_seconds: float, steal_stale: bool):
        """The deploy lock on every target host, for the duration of a `with` block."""
        from shipstate.facts import HostState
        from shipstate.lock import FleetLock

        lock = FleetLock(
            self.fleet(),
            self.layout,
            self.report,
            HostState().command(**self._observation()),
            wait_seconds,
            steal_stale,
        )
        self._observed_while_locking = lock.outputs
        return lock

    def release_locks(self) -> list[str]:
        from shipstate.lock import force_release

        return force_release(self.fleet(), self.layout)
