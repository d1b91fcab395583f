"""Drive pyinfra in-process: connect to the fleet, read facts, run operations."""

import contextlib
import functools
import logging
import os
import re
import socket
import subprocess
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import gevent
from paramiko.channel import Channel
from paramiko.common import cMSG_CHANNEL_REQUEST
from paramiko.message import Message
from paramiko.ssh_exception import SSHException
from pyinfra.api import Config, Inventory, State, StringCommand
from pyinfra.api.connect import connect_all, disconnect_all
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.facts import get_facts
from pyinfra.api.host import Host
from pyinfra.api.operation import OperationMeta
from pyinfra.api.operations import run_ops
from pyinfra.api.state import BaseStateCallback, StateStage
from pyinfra.connectors import util as pyinfra_connector_util
from pyinfra.connectors.util import CommandOutput, OutputLine

from shipstate.causes import connect_hint
from shipstate.commands import NOTE
from shipstate.errors import ShipstateError
from shipstate.hosts import named_among, named_hosts
from shipstate.inventory import HostSpec

STOP_SECONDS = 5

SSH_DEFAULTS = {
    "ssh_strict_host_key_checking": "yes",
    "ssh_allow_agent": True,
    "ssh_look_for_keys": True,
}


def openssh_command(
    spec: HostSpec, accept_new_host_keys: bool, command: str, terminal: bool = True
) -> list[str]:
    """OpenSSH's `ssh` running `command` on the host, connecting as pyinfra does with the
    inventory's data: with a terminal (paramiko gives no interactive one), or without one
    and never asking for a password (one of several at once)."""
    data = {**SSH_DEFAULTS, **spec.data}
    checking = "accept-new" if accept_new_host_keys else data["ssh_strict_host_key_checking"]
    options = {"StrictHostKeyChecking": checking}
    if data.get("ssh_port"):  # else the SSH config's, as pyinfra
        options["Port"] = data["ssh_port"]
    if data.get("ssh_user"):
        options["User"] = data["ssh_user"]
    if data.get("ssh_key"):
        options["IdentityFile"] = data["ssh_key"]
        options["IdentitiesOnly"] = "yes" if not data["ssh_look_for_keys"] else "no"
    if data.get("ssh_known_hosts_file"):
        options["UserKnownHostsFile"] = data["ssh_known_hosts_file"]
    if not data["ssh_allow_agent"]:
        options["IdentityAgent"] = "none"
    config = ["-F", str(data["ssh_config_file"])] if data.get("ssh_config_file") else []
    given = [f"-o{name}={value}" for name, value in options.items()]
    mode = ["-t"] if terminal else ["-T", "-oBatchMode=yes"]
    return ["ssh", *mode, "-oLogLevel=ERROR", *config, *given, "--", spec.address, command]


Reporter = Callable[[str], None]
T = TypeVar("T")


def _refuse_prompt(prompt: str = "") -> str:
    raise ShipstateError(
        "sudo asked for a password on a host",
        hint="shipstate never prompts: give the deploy user NOPASSWD rules for exactly "
        "`/usr/sbin/nginx -t` and `/usr/sbin/nginx -s reload` (see the README)",
    )


class _Commands(logging.Handler):
    """-v: each remote command and upload as pyinfra runs it (uploads name only the path)."""

    SHOWN = ("Running command on ", "Attempting upload of ")

    def __init__(self, report: Reporter):
        super().__init__(logging.DEBUG)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith(self.SHOWN):
            if record.msg.startswith("Running"):
                host, _, command = record.args
                self.report(f"{host}: $ {command}")
            else:
                self.report(f"upload -> {record.args[1]}")


def _quiet_pyinfra(verbose: Reporter | None) -> None:
    pyinfra_connector_util.getpass = _refuse_prompt
    logger = logging.getLogger("pyinfra")
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.CRITICAL)
    if verbose is not None:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(_Commands(verbose))
    gevent.get_hub().exception_stream = None


def _step(state: State, op_hash: str) -> str:
    """An operation's name as shipstate reports it (the step it was added under)."""
    return ", ".join(sorted(state.get_op_meta(op_hash).names))


def seconds_setting(name: str, default: int, least: int) -> int:
    """A number of seconds the environment variable `name` may set."""
    value = os.environ.get(name, str(default))
    if not value.isdigit() or int(value) < least:
        raise ShipstateError(
            f"{name}={value!r} is not a number of seconds >= {least}",
            hint=f"unset it for the default of {default}",
        )
    return int(value)


class Progress(BaseStateCallback):
    """Each operation that did something, as it ends on every host: a line per outcome, under
    the hosts that had it, with their durations; and while steps run long, which
    (still_running)."""

    def __init__(self, report: Reporter, hosts: int):
        self.report = report
        self.hosts = hosts
        self.running: dict[tuple[str, str], tuple[str, float]] = {}  # -> step, start
        self.ended: dict[tuple[str, str], dict[str, float]] = {}  # step, outcome -> host: seconds
        self.spans: dict[str, tuple[float, float]] = {}  # step -> first start, last end
        self.connect_errors: dict[str, str] = {}

    def host_connect_error(self, state, host, error):
        said = str(error.args[0] if error.args else error)
        self.connect_errors[host.name] = re.sub(r"\[Errno [^]]*\] ", "", said)

    def operation_host_start(self, state, host, op_hash):
        self.running[host.name, op_hash] = (_step(state, op_hash), time.monotonic())

    def _ended(self, state, host, op_hash, outcome: str | None) -> None:
        """The step ended on the host: its outcome reported (None: it changed nothing) and its
        time counted in the step's span."""
        now = time.monotonic()
        step, start = self.running.pop((host.name, op_hash), (_step(state, op_hash), now))
        if outcome is None:
            return
        self.ended.setdefault((step, outcome), {})[host.name] = now - start
        first, _ = self.spans.get(step, (start, 0.0))
        self.spans[step] = (min(first, start), now)

    def operation_end(self, state, op_hash):
        self.report_ended()

    def report_ended(self) -> None:
        """The outcomes not yet reported, hosts alike on one line."""
        for (step, outcome), seconds in self.ended.items():
            least, most = (f"{s:.1f}" for s in (min(seconds.values()), max(seconds.values())))
            took = least if least == most else f"{least}-{most}"
            self.report(f"{named_among(list(seconds), self.hosts)}: {step} {outcome} ({took}s)")
        self.ended.clear()

    def operation_host_success(self, state, host, op_hash, retry_count=0):
        changed = state.get_op_data_for_host(host, op_hash).operation_meta.will_change
        self._ended(state, host, op_hash, "done" if changed else None)

    def operation_host_error(self, state, host, op_hash, retry_count=0, max_retries=0):
        self._ended(state, host, op_hash, "FAILED")

    def still_running(self, every: int) -> None:
        """The steps that have run `every` seconds, and on which hosts: once they have (checked
        each second), then every `every` seconds at most."""
        told = time.monotonic()
        while True:
            gevent.sleep(min(every, 1))
            now, long = time.monotonic(), {}
            if now - told < every:
                continue
            for (name, _), (step, start) in self.running.items():
                if now - start >= every:
                    hosts, longest = long.get(step, ([], 0.0))
                    long[step] = ([*hosts, name], max(longest, now - start))
            if long:
                told = now
                self.report(
                    "still running: "
                    + "; ".join(
                        f"{step} on {named_among(hosts, self.hosts)} ({seconds:.0f}s)"
                        for step, (hosts, seconds) in long.items()
                    )
                )


def _transport(host: Host):
    client = getattr(host.connector, "client", None)
    return client.get_transport() if client is not None else None


def _send_at_once(host: Host) -> None:
    """Turn Nagle's algorithm off on the host's TCP connection, which paramiko leaves on: with
    it, each command's small packets wait for a delayed ACK (~40 ms per command; 4 ms without)."""
    sock = getattr(_transport(host), "sock", None)  # a channel or command when proxied
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _lost_connection_is_an_ssh_error(host: Host) -> None:
    """paramiko raises EOFError for a command started as the connection ends (its reader saw
    the end first); pyinfra takes only SSHException and OSError for a failed command, and any
    other exception out of one host's run stops every host's."""
    connector = host.connector
    for name in ("run_shell_command", "put_file", "get_file"):
        setattr(connector, name, _eof_as_ssh_error(getattr(connector, name)))


def _eof_as_ssh_error(method: Callable) -> Callable:
    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except EOFError as exc:
            raise SSHException("the host ended the connection") from exc

    return call


def _connection_lost(host: Host) -> bool:
    transport = _transport(host)
    return transport is not None and not transport.is_active()


def run_command(host: Host, command: StringCommand) -> tuple[bool, CommandOutput]:
    """Run one command on the host; a lost connection is a failed command, not an exception."""
    try:
        return host.run_shell_command(command)
    except (PyinfraError, OSError, SSHException) as exc:
        lost = f"connection lost: {exc or type(exc).__name__}"
        return False, CommandOutput([OutputLine("stderr", lost)])


@dataclass(frozen=True)
class Ran:
    """What a command run on one host did."""

    host: str
    ok: bool
    stdout: tuple[str, ...]
    stderr: tuple[str, ...]


@dataclass(frozen=True)
class Failure:
    host: str
    operation: str
    output: str


def describe_failures(failures: list[Failure]) -> str:
    """Each failure's host, step and output, whose middle is left out when long (the full output
    is for hints: what names a cause is often there, as a build's error in pip's output); hosts
    failing alike (the same step and output), once under all their names."""
    alike: dict[tuple[str, str], list[str]] = {}
    for failure in failures:
        alike.setdefault((failure.operation, failure.output), []).append(failure.host)
    described = []
    for (operation, output), hosts in alike.items():
        lines = output.splitlines()
        if len(lines) > 20:
            lines = [*lines[:6], "...", *lines[-12:]]
        described.append(f"{named_hosts(hosts)}: {operation}:\n    " + "\n    ".join(lines))
    return "\n  ".join(described)


def _tracked_commands(host: Host) -> weakref.WeakSet[Channel]:
    """The channels of the commands started on the host from now on."""
    client = host.connector.client
    channels: weakref.WeakSet[Channel] = weakref.WeakSet()
    exec_command = client.exec_command

    @functools.wraps(exec_command)
    def started(*args, **kwargs):
        streams = exec_command(*args, **kwargs)
        channels.add(streams[1].channel)
        return streams

    client.exec_command = started
    return channels


def _signal(channel: Channel, name: str) -> None:
    """SSH's `signal` request (RFC 4254 6.9): sshd sends it to the command's process group.
    paramiko has no method for it; its own requests are sent this way."""
    message = Message()
    message.add_byte(cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("signal")
    message.add_boolean(False)
    message.add_string(name)
    with contextlib.suppress(SSHException, OSError, EOFError):  # gone, with what ran on it
        channel.transport._send_user_message(message)


class Fleet:
    """A connected set of hosts. Use as a context manager."""

    def __init__(
        self,
        hosts: list[HostSpec],
        report: Reporter,
        accept_new_host_keys: bool = False,
        verbose: bool = False,
    ):
        self.specs = {h.name: h for h in hosts}
        self.report = report
        self.verbose = verbose
        defaults = dict(SSH_DEFAULTS)
        if accept_new_host_keys:
            defaults["ssh_strict_host_key_checking"] = "accept-new"
        names = [(h.name, {**defaults, **h.data}) for h in hosts]
        inventory = Inventory((names, {}))
        self.state = State(inventory=inventory, config=Config(FAIL_PERCENT=0, CONNECT_TIMEOUT=10))
        self.progress = Progress(report, len(hosts))
        self.state.add_callback_handler(self.progress)
        self._commands: list[weakref.WeakSet[Channel]] = []

    def __enter__(self) -> "Fleet":
        _quiet_pyinfra(self.report if self.verbose else None)
        self.state.set_stage(StateStage.Connect)
        said = self.progress.connect_errors
        try:
            connect_all(self.state)
        except PyinfraError as error:  # every host failed, or a host's key could not be read
            for host in self.state.inventory:
                said.setdefault(host.name, str(error))
        failed = [h.name for h in self.state.inventory if h not in self.state.activated_hosts]
        if failed:
            self.close()
            hosts_by_reason: dict[str, list[str]] = {}
            for name in failed:
                hosts_by_reason.setdefault(said[name], []).append(name)
            hint = connect_hint(list(hosts_by_reason))
            if len(failed) < len(self.specs):
                hint += (
                    "; to deploy to the hosts that answer meanwhile, name them (or their group) "
                    "with --limit"
                )
            raise ShipstateError(
                "could not connect to "
                + "; ".join(f"{', '.join(n)}: {r}" for r, n in hosts_by_reason.items()),
                hint=hint,
            )
        for host in self.state.activated_hosts:
            _send_at_once(host)
            _lost_connection_is_an_ssh_error(host)
            self._commands.append(_tracked_commands(host))
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stop_running()
        self.state.set_stage(StateStage.Disconnect)
        disconnect_all(self.state)

    def stop_running(self) -> None:
        """Stop what an interrupted run left going: pyinfra's greenlets for the hosts (else
        disconnecting waits for a free slot in their pool), and the commands on the hosts, as a
        command without a terminal outlives its connection: SIGTERM, SIGKILL a few seconds on."""
        self.state.pool.kill()
        running = [channel for channels in self._commands for channel in channels]
        for name in ("TERM", "KILL"):
            running = [channel for channel in running if not channel.exit_status_ready()]
            for channel in running:
                _signal(channel, name)
            deadline = time.monotonic() + STOP_SECONDS
            for channel in running:
                channel.status_event.wait(max(0.0, deadline - time.monotonic()))

    @property
    def hosts(self) -> list[Host]:
        return list(self.state.inventory)

    def facts(self, fact, **kwargs) -> dict[str, object]:
        results = get_facts(self.state, fact, kwargs=kwargs)
        return {h.name: value for h, value in results.items()}

    def prepare(self, add_ops: Callable[[State], None]) -> dict[str, list[str]]:
        """Prepare operations with `add_ops`; returns, per host, those that will change it."""
        self.state.set_stage(StateStage.Prepare)
        add_ops(self.state)
        return self._changes(lambda meta: meta.will_change)

    def step_spans(self) -> dict[str, tuple[float, float]]:
        """After `run`: each step that did something, from its first start to its last end."""
        return dict(self.progress.spans)

    def changed(self) -> dict[str, list[str]]:
        """After `run`: per host, the operations that changed it."""
        return self._changes(lambda meta: meta.is_complete() and meta.did_change())

    def reached(self, step: str) -> list[str]:
        """After `run`: the hosts whose `step` ran commands, to their end or to a failure."""
        return [
            host.name
            for host in self.hosts
            for name, meta in self._operations(host)
            if name == step and meta.is_complete() and (meta.did_change() or not meta.did_succeed())
        ]

    def _changes(self, changes: Callable) -> dict[str, list[str]]:
        return {
            host.name: [name for name, meta in self._operations(host) if changes(meta)]
            for host in self.hosts
        }

    def _operations(self, host: Host) -> Iterator[tuple[str, OperationMeta]]:
        """The host's operations in order: name and outcome."""
        for op_hash in self.state.get_op_order():
            op_data = self.state.ops[host].get(op_hash)
            if op_data is not None:
                yield _step(self.state, op_hash), op_data.operation_meta

    def run(self, add_ops: Callable[[State], None]) -> list[Failure]:
        """Prepare operations with `add_ops`, execute them; return what failed, per host."""
        self.prepare(add_ops)
        return self.execute()

    def execute(self) -> list[Failure]:
        """Execute the prepared operations; return what failed, per host."""
        self.state.set_stage(StateStage.Execute)
        every = seconds_setting("SHIPSTATE_PROGRESS_SECONDS", 10, 1)
        heartbeat = gevent.spawn(self.progress.still_running, every)
        try:
            run_ops(self.state)
        except PyinfraError:
            pass  # failures are read from the operation results below
        except ShipstateError:
            raise
        except Exception as exc:
            raise ShipstateError(
                f"internal error while applying: {type(exc).__name__}: {exc}",
                hint="rerun with --debug for the traceback, and please report it",
            ) from exc
        finally:
            heartbeat.kill()
            self.progress.report_ended()  # interrupted: what ended before
            self.stop_running()  # interrupted: before anything is undone
        self._report_notes()
        return self._failures()

    def _report_notes(self) -> None:
        """What the hosts' commands told the operator on stderr (`shipstate: ...` lines), as
        the pip fallback does, even when they succeeded."""
        noted: dict[tuple[str, str], list[str]] = {}
        for host in self.hosts:
            for name, meta in self._operations(host):
                if meta.is_complete():
                    for line in meta.stderr_lines:
                        if line.startswith(NOTE):
                            noted.setdefault((name, line), []).append(host.name)
        for (name, line), hosts in noted.items():
            self.report(f"{named_among(hosts, len(self.specs))}: {name}: {line.removeprefix(NOTE)}")

    def _failures(self) -> list[Failure]:
        failures = []
        for host in self.hosts:
            for name, meta in self._operations(host):
                if not meta.is_complete() or meta.did_succeed(False):
                    continue
                lines = (meta.stderr or meta.stdout).strip().splitlines()
                if _connection_lost(host):
                    lines = ["connection lost while this ran; its last output:", *lines]
                failures.append(Failure(host.name, name, "\n".join(lines) or "(no output)"))
                break
        return failures

    def interrupted(self) -> list[Failure]:
        """Where each host's run stopped: the first of its steps that did not end."""
        failures = []
        for host in self.hosts:
            unfinished = (name for name, meta in self._operations(host) if not meta.is_complete())
            step = next(unfinished, None)
            if step is not None:
                failures.append(Failure(host.name, step, "interrupted (Ctrl-C, SIGTERM or SIGHUP)"))
        return failures

    def each_host(self, commands: Callable[[str], list[StringCommand]]) -> list[str]:
        """Run `commands(host name)` on every host in parallel, outside pyinfra's operations
        (which stop after a failure). Returns the lines describing what failed."""

        def run(host: Host) -> list[str]:
            problems = []
            try:
                for command in commands(host.name):
                    ok, output = run_command(host, command)
                    if not ok:
                        problems.append(f"{host.name}: {output.stderr.strip() or command}")
                    if _connection_lost(host):
                        break
            except Exception as exc:  # one host's error must not stop the others' report
                problems.append(f"{host.name}: {exc!r}")
            return problems

        return [line for lines in on_each(self.hosts, run) for line in lines]


def follow(commands: dict[str, list[str]], emit: Callable[[str, str], None]) -> list[str]:
    """Run each host's command (argv) at once, emitting (host, line) for each line it prints,
    until every one ended; returns the hosts whose command failed."""
    processes = {
        name: subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for name, argv in commands.items()
    }

    def read(name: str) -> int:
        for line in processes[name].stdout:
            emit(name, line.decode(errors="replace").rstrip("\n"))
        return processes[name].wait()

    try:
        codes = on_each(list(processes), read)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait()
    return [name for name, code in zip(processes, codes, strict=True) if code != 0]


def on_each(hosts: list[Host], function: Callable[[Host], T]) -> list[T]:
    """`function(host)` on every host at once, results in the hosts' order; once all are done,
    the first exception raised is raised again."""
    greenlets = [gevent.spawn(function, host) for host in hosts]
    gevent.joinall(greenlets)
    return [g.get() for g in greenlets]


def through_interrupts(work: Callable[[], T], report: Reporter, why: str) -> T:
    """`work()` run to its end though Ctrl-C or SIGTERM come meanwhile (each is met with `why`):
    undoing an apply must not stop halfway."""
    running = gevent.spawn(work)
    while not running.ready():
        try:
            running.join()
        except KeyboardInterrupt:
            report(why)
    return running.get()
