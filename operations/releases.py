"""shipstate's pyinfra operations, each named after the resource it manages.

They are told the observed state (one observation, made before the plan) and yield nothing
when the resource already is as asked."""

import io
import json
import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from shipstate.commands import (
    INLINE_LIMIT,
    NOTE,
    SERVER_ERROR,
    app_server_health_check,
    argv,
    chain,
    check_site_config,
    command_path,
    copied,
    django_request,
    health_check,
    in_release,
    inline_cost,
    missing_fails,
    pip_from_its_wheel,
    processes_from,
    record_states,
    reload_nginx,
    removed,
    start_program,
    stop_programs,
    switch_current,
    where_directory,
    with_env_file,
    write_text,
)
from shipstate.config import Config
from shipstate.desired import HookStep, NewRelease
from shipstate.layout import Layout
from shipstate.locks import CONVERTERS
from shipstate.observed import BUILDING, READY

UV = "uv==0.13.9"
DRAIN_SECONDS = 2


def _upload(content: str | bytes, dest: str):
    data = content.encode() if isinstance(content, str) else content
    return FileUploadCommand(io.BytesIO(data), dest)


def _written(files: dict[str, str]):
    """Files of text that is no secret: uploads those that would not fit in one command (what
    fits, INLINE_LIMIT, is shared by them all); returns commands writing the others."""
    written, budget = [], INLINE_LIMIT
    for path, content in files.items():
        cost = inline_cost(content)
        if cost < budget:
            written.append(write_text(content, path))
            budget -= cost
        else:
            yield _upload(content, path)
    return written


@operation()
def leftovers_absent(layout: Layout, leftovers: Sequence[str]):
    """Directories left by interrupted or failed builds are removed."""
    if not leftovers:
        host.noop("no leftovers")
        return
    yield removed(*(f"{layout.root}/{name}" for name in leftovers))


def _quietly(command: StringCommand) -> StringCommand:
    """A first try whose errors would only confuse: the try after it says what went wrong."""
    return StringCommand(command, "2>/dev/null")


def _environment(
    layout: Layout, key: str, app: Config, requirements: str, secrets_file: str | None
):
    """Build the environment `key` under a temporary name with uv (pip when uv cannot be had,
    for a requirements file only), then rename it into place: complete or absent, never
    changed. `requirements`: the app's requirements (or lock) file on the host; uv and pip get
    the variables of `secrets_file` (a private index's credentials, as `${TOKEN}` in it)."""
    secrets = with_env_file(app.python, secrets_file) if secrets_file else ()
    building, tools_tmp = layout.building_env(key), f"{layout.tools}.tmp"
    python, kind = app.python, app.requirements_kind
    locked = kind == "uv.lock"
    packages = app.server_packages
    wants = (*packages,) if locked else ("-r", requirements, *packages)
    get_uv = chain(
        argv("rm", "-rf", tools_tmp),
        argv(python, "-m", "venv", "--without-pip", tools_tmp),
        pip_from_its_wheel(
            f"{tools_tmp}/bin/python", "install", "--quiet", "--disable-pip-version-check", UV
        ),
        argv("rm", "-rf", layout.tools),
        argv("mv", "-T", tools_tmp, layout.tools),
    )
    yield chain(
        argv("test", "-x", layout.uv),
        get_uv,
        StringCommand(
            argv("echo", f"{NOTE}uv could not be installed, so pip built the environment"), ">&2"
        ),
        operator="||",
    )
    interpreter = command_path(python)
    uv_install = argv(
        *secrets,
        layout.uv,
        "pip",
        "install",
        "--quiet",
        "--system-certs",
        "--python",
        f"{building}/bin/python",
        "--cache-dir",
        layout.uv_cache,
        "--compile-bytecode",
        *wants,
    )
    uv_sync = StringCommand(
        argv(
            *secrets,
            "env",
            f"UV_PROJECT_ENVIRONMENT={building}",
            layout.uv,
            "sync",
            "--quiet",
            "--frozen",
            "--no-dev",
            "--no-install-project",
            "--no-python-downloads",
            "--system-certs",
            "--project",
            requirements.rsplit("/", 1)[0],
            "--cache-dir",
            layout.uv_cache,
            "--compile-bytecode",
            "--python",
        ),
        interpreter,
    )
    sync, install = (
        chain(_quietly(StringCommand(uv, "--offline")), uv, operator="||")
        for uv in (uv_sync, uv_install)
    )
    uv_venv = argv(layout.uv, "venv", "--quiet", "--relocatable", "--python")
    with_uv = chain(
        StringCommand(uv_venv, interpreter, argv(building)),
        *([sync] if locked else []),
        install,
    )
    # --no-input: a private index asking for a password fails the build instead of waiting
    pip = (
        *secrets,
        f"{building}/bin/python",
        "-m",
        "pip",
        "--no-input",
        "--quiet",
        "--disable-pip-version-check",
    )
    offline = argv(*pip, "install", "--no-index", "--find-links", layout.wheels, *wants)
    with_pip = (
        StringCommand(
            argv("echo", f"{NOTE}installing from {PurePosixPath(app.requirements).name} needs uv"),
            ">&2;",
            "false",
        )
        if kind != "requirements"
        else chain(
            argv(python, "-m", "venv", building),
            chain(
                _quietly(offline),
                chain(argv(*pip, "wheel", "--wheel-dir", layout.wheels, *wants), offline),
                operator="||",
            ),
        )
    )
    yield argv("rm", "-rf", building)
    yield StringCommand(
        "if",
        argv("test", "-x", layout.uv),
        ";",
        "then",
        with_uv,
        ";",
        "else",
        with_pip,
        ";",
        "fi",
    )
    yield argv("mv", "-T", building, layout.env(key))


@operation()
def release_uploaded(
    layout: Layout,
    release: NewRelease | None,
    archive: bytes,
    shared_dirs: Sequence[str],
    shared_files: Sequence[str],
    secrets_path: str | None,
    secrets: bytes | None,
    requirements: bytes | None,
):
    """The release's code and configs are unpacked under its temporary name, its venv, shared
    paths and secrets linked in; `requirements`: made of a lock file, for a new environment."""
    if release is None:
        host.noop("release already present")
        return
    build = layout.building(release.id)
    meta = f"{build}/.shipstate"
    yield chain(
        argv(
            "mkdir",
            "-p",
            layout.releases,
            layout.shared,
            layout.programs,
            layout.logs,
            layout.envs,
            layout.wheels,
        ),
        argv("rm", "-rf", build),
        argv("mkdir", "-p", meta),
    )
    yield _upload(archive, f"{meta}/source.tar.gz")
    files = {f"{meta}/{name}": content for name, content in sorted(release.configs.items())}
    files[layout.manifest(build)] = _manifest(release, BUILDING)
    if requirements is not None:
        files[layout.made_requirements(build)] = requirements.decode()
    written = yield from _written(files)  # by the command that unpacks
    if secrets is not None:
        yield from _secrets_file(layout, release.secrets, secrets)
    links = [argv("ln", "-s", layout.env(release.env), f"{build}/venv")]
    for path in shared_dirs:
        target, link = f"{layout.shared}/{path}", f"{build}/{path}"
        links.append(chain(argv("mkdir", "-p", target), _link(target, link)))
    for path in shared_files:
        target, link = f"{layout.shared}/{path}", f"{build}/{path}"
        links.append(
            chain(
                argv("mkdir", "-p", target.rsplit("/", 1)[0]),
                chain(
                    argv("test", "-e", target),
                    argv("install", "-m", "600", "/dev/null", target),
                    operator="||",
                ),
                _link(target, link),
            )
        )
    if secrets_path:
        links.append(_link(layout.secret(release.secrets), f"{build}/{secrets_path}"))
    yield chain(
        argv("tar", "-xzf", f"{meta}/source.tar.gz", "-C", build),
        argv("rm", "-f", f"{meta}/source.tar.gz"),
        *written,
        *links,
    )


@operation()
def environment_present(layout: Layout, release: NewRelease | None, build: bool, app: Config):
    """The environment the new release links to is built (once per requirements and Python)."""
    if release is None or not build:
        host.noop("environment already built")
        return
    directory = layout.building(release.id)
    requirements = (
        layout.made_requirements(directory)
        if app.requirements_kind in CONVERTERS
        else f"{directory}/{app.requirements}"
    )
    secrets_file = app.secrets_env_file
    secrets = f"{directory}/{secrets_file}" if secrets_file else None
    yield from _environment(layout, release.env, app, requirements, secrets)


@operation()
def release_hooks_run(
    layout: Layout, release: NewRelease | None, hooks: Sequence[HookStep], app: Config
):
    """The hooks ran in the new release's directory, with its environment on PATH (and the
    secrets file's variables, if they are asked for); a skipped hook's outputs are copied."""
    if release is None or not hooks:
        host.noop("no hooks to run")
        return
    directory = layout.release(release.id)
    for hook in hooks:
        if hook.reuse_from is not None:
            for output in hook.outputs:
                yield copied(f"{layout.release(hook.reuse_from)}/{output}", f"{directory}/{output}")
            continue
        yield in_release(app, directory, release.id, "sh", "-c", hook.command)
        for output in hook.outputs:
            yield missing_fails(
                f"{directory}/{output}",
                f"`{hook.command}` did not make it, and its `outputs` say it does (for a "
                "command making it only when it has something to put there, as collectstatic "
                f"finding no static files: `mkdir -p {shlex.quote(output)} && ` before it)",
            )


def _manifest(release: NewRelease, state: str) -> str:
    return json.dumps(release.manifest(state), sort_keys=True)


@operation()
def release_present(layout: Layout, release: NewRelease | None):
    """The release directory is renamed into place, before its hooks run: its manifest says
    `building` until its app server answered, so an unfinished one is a leftover."""
    if release is None:
        host.noop("release already present")
        return
    yield argv("mv", "-T", layout.building(release.id), layout.release(release.id))


@operation()
def release_ready(layout: Layout, release: NewRelease | None):
    """The new release is marked ready: its app server answered the health check."""
    if release is None:
        host.noop("no new release")
        return
    yield record_states(layout, {release.id: READY})


def _secrets_file(layout: Layout, digest: str, content: bytes):
    """Upload into a 0700 directory, to a file that is 0600 before it holds anything; only
    SFTP carries the content, never a command line."""
    temp = f"{layout.secrets}/.tmp-{digest}"
    yield chain(
        argv("mkdir", "-p", "-m", "700", layout.secrets),
        argv("chmod", "700", layout.secrets),
        argv("rm", "-f", temp),
        argv("install", "-m", "600", "/dev/null", temp),
    )
    yield _upload(content, temp)
    yield argv("mv", "-f", temp, layout.secret(digest))


def _link(target: str, link: str) -> StringCommand:
    return chain(
        argv("rm", "-rf", link),
        argv("mkdir", "-p", link.rsplit("/", 1)[0]),
        argv("ln", "-s", target, link),
    )


@operation()
def app_server_started(
    layout: Layout, release_id: int, python: str, program_conf: str, start: bool
):
    """The release's own gunicorn is started under supervisor (its health check comes later)."""
    if not start:
        host.noop(f"app server of release {release_id} already running")
        return
    conf = layout.program_file(release_id)
    written = yield from _written({f"{conf}.tmp": program_conf})
    yield chain(
        *written, argv("mv", "-f", f"{conf}.tmp", conf), start_program(layout, python, release_id)
    )


@operation()
def app_server_answers(layout: Layout, release_id: int, check: bool, app: Config, health_host: str):
    """The release's app server answers its health check on its own socket (else: its log,
    and for a server error, what the same request raises in a new process of the app)."""
    if not check:
        host.noop(f"app server of release {release_id} was already running")
        return
    directory = layout.release(release_id)
    answers = app_server_health_check(
        layout, layout.python(directory), release_id, health_host, app.health_path, app.scheme
    )
    log = argv("tail", "-n", "8", layout.log(release_id))
    # supervisord writes the app server's output to its log a moment after gunicorn logs the
    # request: up to 1 s for the health check's request to be there
    logged = argv("grep", "-qF", f"GET {app.health_path} ", layout.log(release_id))
    ask_again = django_request(app, directory, release_id, health_host)
    yield StringCommand(
        answers, "||", "{", "failed=$?;",
        "for", "i", "in", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10;", "do", logged,
        "&&", "break;", "sleep", "0.1;", "done;",
        argv("echo", "last lines of its log:"), ">&2;", log, ">&2;",
        "if", "test", "$failed", "=", str(SERVER_ERROR), ";", "then", ask_again, ">&2;", "fi;",
        "exit", "1;", "}",
    )  # fmt: skip


@operation()
def active_release(layout: Layout, release_id: int, current: int | None, states: dict[int, str]):
    """`current` points at the release, and each release's state file says what it is
    (`states`: those to write, e.g. the new one `active`, the one it replaced `retired`)."""
    if current == release_id and not states:
        host.noop(f"release {release_id} already active")
        return
    record = record_states(layout, states)
    yield record if current == release_id else chain(switch_current(layout, release_id), record)


@operation()
def site_config_checked(
    layout: Layout,
    release_id: int,
    live: int | None,
    check: bool,
    names: list[str],
    ports: list[int],
):
    """nginx accepts the release's site config (`nginx -t`), and no other site answers for its
    `names` on its `ports`, tried before anything switches; the live release's config is put
    back whatever the outcome."""
    if not check:
        host.noop("nginx keeps its site config")
        return
    yield check_site_config(layout, release_id, live, names, ports)


@operation()
def nginx_config(layout: Layout, release_id: int, site_sha: str | None):
    """nginx runs with the active release's site config (checked, then reloaded gracefully).

    `site_sha` is that config's hash, recorded once nginx has loaded it; None: already loaded."""
    if site_sha is None:
        host.noop("nginx already runs the active site config")
        return
    yield reload_nginx(layout, release_id, site_sha)


@operation()
def site_answers(
    python: str, address: str, health_host: str, health_path: str, scheme: str, check: bool
):
    """The site answers its health check through nginx, on the host's own address."""
    if not check:
        host.noop("nothing was switched")
        return
    yield health_check(python, address, health_host, health_path, scheme, limit_seconds=15)


@operation()
def processes_running(layout: Layout, python: str, release_id: int, restart: bool, wanted: bool):
    """The app's processes run from the active release (restarted), or none runs when it has
    none; each must stay up (supervisord's RUNNING) or the switch is undone."""
    if not restart:
        host.noop("the processes run from the active release")
        return
    yield processes_from(layout, python, release_id if wanted else None)


@operation()
def app_servers_stopped(layout: Layout, python: str, release_ids: Sequence[int], drain: bool):
    """Only the active release's app server runs (and the replaced one's, kept warm); others
    are stopped gracefully, after draining when one of them was serving until this switch."""
    if not release_ids:
        host.noop("no other app server running")
        return
    if drain:
        yield argv("sleep", DRAIN_SECONDS)  # connections nginx queued at its socket get served
    yield stop_programs(layout, python, release_ids)


@operation()
def releases_absent(layout: Layout, release_ids: Sequence[int]):
    """Releases beyond keep_releases are deleted, with their app servers' logs."""
    if not release_ids:
        host.noop("nothing to purge")
        return
    logs: list[str] = []
    for log in map(layout.log, release_ids):
        logs += ["-o", "-path", log, "-o", "-path", f"{log}.*"]  # and its rotated copies
    find = argv("find", layout.logs, "-maxdepth", "1", "(", *logs[1:], ")", "-delete")
    yield chain(
        removed(*(layout.release(n) for n in release_ids)),
        where_directory(layout.logs, find),
    )


@operation()
def secrets_absent(layout: Layout, digests: Sequence[str]):
    """Secrets files that no kept release uses are deleted."""
    if not digests:
        host.noop("no unused secrets")
        return
    yield argv("rm", "-f", *(layout.secret(digest) for digest in digests))


@operation()
def environments_absent(layout: Layout, keys: Sequence[str]):
    """Environments that no kept release uses are deleted."""
    if not keys:
        host.noop("no unused environment")
        return
    yield removed(*(layout.env(key) for key in keys))
