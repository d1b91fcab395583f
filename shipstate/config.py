"""shipstate.toml (or [tool.shipstate] in pyproject.toml): load and validate. Pure."""

import difflib
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shipstate.errors import ShipstateError
from shipstate.locks import CONVERTERS

CONFIG_FILE = "shipstate.toml"

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
PROCESS_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,30}$"
WSGI_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*(:[A-Za-z_][A-Za-z0-9_]*(\(\))?)?$"
SERVER_NAME_PATTERN = r"^[A-Za-z0-9_.*~^$\\-]+( [A-Za-z0-9_.*~^$\\-]+)*$"
URL_PATH_PATTERN = r"^/[A-Za-z0-9_./~-]*$"
# a location nginx serves a directory at: an alias of a prefix without its slash reaches "../"
URL_DIR_PATTERN = r"^/(?:[A-Za-z0-9_~-][A-Za-z0-9_.~-]*/)+$"
DIR_PATTERN = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
BODY_SIZE_PATTERN = r"^[0-9]{1,7}[kKmMgG]?$"
COMMAND_WORD_PATTERN = r"^[A-Za-z0-9_./+-]+$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def relative_path(value: str) -> str:
    """A path inside the release: relative, normalised, never escaping it."""
    if not value or "\x00" in value or "\n" in value:
        raise ValueError("must be a non-empty path without control characters")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError("must be relative to the app and must not contain '..'")
    if str(path) in (".", ""):
        raise ValueError("must name a file or directory inside the app")
    return value


def single_line(value: str) -> str:
    if "\n" in value or "\x00" in value:
        raise ValueError("must be a single line")
    return value


OneLine = Annotated[str, AfterValidator(single_line)]


def input_pattern(value: str) -> str:
    """A pattern of paths from the app's root (`*` within a directory, `**` across them, a
    directory stands for what it holds); a leading `!` excludes what it matches."""
    path = value.removeprefix("!")
    if not path or "\n" in path or "\x00" in path:
        raise ValueError("must be a non-empty pattern on one line")
    if path.startswith("/") or ".." in path.split("/"):
        raise ValueError("must be relative to the app and must not contain '..'")
    return value


# what other tools keep dependencies in that shipstate cannot install, and what to do instead
EXPORTS = {
    "Pipfile": "lock it (`pipenv lock`) and use Pipfile.lock",
    **{
        name: f"write its dependencies to a requirements file (`uv pip compile {name} -o "
        "requirements.txt`, or pip-tools' `pip-compile`) and use that"
        for name in ("setup.cfg", "setup.py")
    },
}


def in_workdir(workdir: str | None, path: str) -> str:
    """A path of the `workdir` (where manage.py is) as a path of the app."""
    return f"{workdir}/{path}" if workdir else path


def default_root(name: str) -> str:
    return f"/srv/{name}"


class Hook(BaseModel):
    """A command run in each new release before it goes live. With `inputs`, it is skipped
    when they, its command, the environment, [env] and secrets are as in the active release;
    its `outputs` are then copied from that release."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: Annotated[OneLine, Field(min_length=1, max_length=2000)]
    run: Literal["every-host", "once"] = "every-host"
    inputs: tuple[Annotated[str, AfterValidator(input_pattern)], ...] = ()
    outputs: tuple[Annotated[str, AfterValidator(relative_path)], ...] = ()

    @model_validator(mode="after")
    def _skippable(self) -> "Hook":
        if self.inputs and all(p.startswith("!") for p in self.inputs):
            raise ValueError("inputs need a pattern that is not an exclusion ('!...')")
        if self.outputs and not self.inputs:
            raise ValueError(
                "outputs are copied when the hook is skipped for unchanged inputs: set inputs"
            )
        if self.outputs and self.run == "once":
            raise ValueError(
                'a hook run once leaves its outputs on one host: outputs need run = "every-host"'
            )
        return self


class Process(BaseModel):
    """A program run beside the app server from the active release only, e.g. a task queue's
    worker or scheduler: (re)started after each switch, from `current`, as hooks run; on every
    host, or (`run = "once"`, for a scheduler) on the inventory's first host by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=PROCESS_NAME_PATTERN)]
    command: Annotated[OneLine, Field(min_length=1, max_length=2000)]
    stop_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    run: Literal["every-host", "once"] = "every-host"

    def runs_on(self, host: str, first_host: str) -> bool:
        return self.run == "every-host" or host == first_host

    @field_validator("command")
    @classmethod
    def _words(cls, value: str) -> str:
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split into words as a shell would: {exc}") from None
        if not words:
            raise ValueError("names no program")
        return value


class Build(BaseModel):
    """A command run on this machine in a checkout of the commit before its release is
    uploaded (e.g. a frontend's `npm ci && npm run build`): the `outputs` it makes are added to
    the release, so the servers need none of its tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: Annotated[OneLine, Field(min_length=1, max_length=2000)]
    outputs: Annotated[
        tuple[Annotated[str, AfterValidator(relative_path)], ...], Field(min_length=1)
    ]


SECRETS_PATH = ".env"


class Secrets(BaseModel):
    """A local file uploaded to each host (0600, content-addressed) and linked into releases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Annotated[OneLine, Field(min_length=1, max_length=500)]
    path: str = SECRETS_PATH
    environment: bool = True

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return relative_path(value)

    def local_file(self, app_dir: Path, inventory: str) -> Path:
        """`{inventory}` in `file` is replaced by the inventory's name (staging, production...)."""
        return app_dir / self.file.replace("{inventory}", inventory)


def server_path(value: str) -> str:
    """An absolute path on the servers, of plain characters."""
    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts or len(path.parts) < 2:
        raise ValueError("must be an absolute path below / without '..'")
    if not all(re.fullmatch(r"[A-Za-z0-9._@+-]+", part) for part in path.parts[1:]):
        raise ValueError("may only use letters, digits, '-', '_', '.', '@' and '+'")
    return str(path)


ServerPath = Annotated[str, AfterValidator(server_path)]


class Tls(BaseModel):
    """HTTPS served by nginx with a certificate already on the servers (e.g. certbot's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate: ServerPath
    key: ServerPath


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    root: str = ""
    keep_releases: Annotated[int, Field(ge=2, le=100)] = 4
    warm_previous: bool = True
    start_during_hooks: bool = False
    wsgi: Annotated[str | None, Field(pattern=WSGI_PATTERN)] = None
    asgi: Annotated[str | None, Field(pattern=WSGI_PATTERN)] = None
    workdir: Annotated[str | None, Field(pattern=DIR_PATTERN)] = None
    # directories (in the app) the app's code imports from, as a src/ layout's: on sys.path
    pythonpath: tuple[Annotated[str, Field(pattern=DIR_PATTERN)], ...] = ()
    requirements: str = "requirements.txt"
    python: Annotated[str, Field(pattern=COMMAND_WORD_PATTERN)] = "python3"
    # Debian packages the app needs on its servers, which `bootstrap` installs
    packages: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9+.-]{0,99}$")], ...] = ()
    health_path: Annotated[str, Field(pattern=URL_PATH_PATTERN)] = "/healthz"
    server_name: Annotated[str, Field(pattern=SERVER_NAME_PATTERN)] = "_"
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    # seconds a request may take: gunicorn's worker timeout, and how long nginx waits on the app
    timeout: Annotated[int, Field(ge=1, le=3600)] = 60
    # the largest request nginx accepts (an upload): nginx's client_max_body_size
    client_max_body_size: Annotated[str, Field(pattern=BODY_SIZE_PATTERN)] = "20m"
    static_url: Annotated[str, Field(pattern=URL_DIR_PATTERN)] = "/static/"
    static_root: Annotated[str, Field(pattern=DIR_PATTERN)] = "staticfiles"
    media_url: Annotated[str, Field(pattern=URL_DIR_PATTERN)] = "/media/"
    media_root: Annotated[str | None, Field(pattern=DIR_PATTERN)] = None
    shared: tuple[str, ...] = ()
    env: dict[Annotated[str, Field(pattern=ENV_NAME_PATTERN)], OneLine] = {}
    hooks: tuple[Hook, ...] = ()
    processes: tuple[Process, ...] = ()
    build: Build | None = None
    secrets: Secrets | None = None
    tls: Tls | None = None

    @property
    def requirements_kind(
        self,
    ) -> Literal["requirements", "pyproject", "uv.lock", "poetry.lock", "Pipfile.lock"]:
        """A requirements file (uv or pip), a pyproject.toml's [project] dependencies (uv), a
        uv.lock with its pyproject.toml, installed exactly (uv), or a lock file of Poetry or
        Pipenv, installed as the pinned requirements file made of it (uv)."""
        name = PurePosixPath(self.requirements).name
        if name == "pyproject.toml":
            return "pyproject"
        if name == "uv.lock" or name in CONVERTERS:
            return name
        return "requirements"

    @field_validator("requirements", "static_root", "media_root", "workdir")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        return value if value is None else relative_path(value)

    @field_validator("requirements")
    @classmethod
    def _installable(cls, value: str) -> str:
        name = PurePosixPath(value).name
        if name in EXPORTS:
            raise ValueError(f"{name} cannot be installed by shipstate: {EXPORTS[name]}")
        return value

    @field_validator("pythonpath")
    @classmethod
    def _relative_dirs(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(relative_path(value) for value in values)

    @field_validator("shared")
    @classmethod
    def _shared(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            relative_path(value)
        names = [v.rstrip("/") for v in values]
        if len(set(names)) != len(names):
            raise ValueError("lists the same path twice")
        return values

    @field_validator("processes")
    @classmethod
    def _processes(cls, values: tuple[Process, ...]) -> tuple[Process, ...]:
        names = [process.name for process in values]
        if len(set(names)) != len(names):
            raise ValueError("names the same process twice")
        return values

    @field_validator("root")
    @classmethod
    def _root(cls, root: str) -> str:
        if not root:
            return root
        if not re.fullmatch(r"[A-Za-z0-9._/-]+", root):
            raise ValueError("may only use letters, digits, '-', '_' and '.'")
        return server_path(root)

    @model_validator(mode="after")
    def _secrets_not_shared(self) -> "Config":
        path = self.secrets.path.rstrip("/") if self.secrets else None
        if path in (p.rstrip("/") for p in self.shared):
            raise ValueError(f"secrets.path {self.secrets.path!r} is also listed in shared")
        holder = next((d for d in self.shared_dirs if path and path.startswith(d + "/")), None)
        if holder:
            raise ValueError(
                f"secrets.path {path!r} is in the shared dir {holder + '/'!r}: every release "
                "would see the same file, a new one before its release goes live; share what "
                f'the app writes there instead (files or dirs in it, as "{holder}/app.db")'
            )
        return self

    @model_validator(mode="after")
    def _media_shared(self) -> "Config":
        if self.media_root is None:
            return self
        if self.media_root not in self.shared_dirs:
            raise ValueError(
                f"media_root {self.media_root!r} must be a shared dir: add "
                f'"{self.media_root}/" to shared, or uploads are lost at the next release'
            )
        if self.media_url == self.static_url:
            raise ValueError("media_url and static_url must differ")
        return self

    @model_validator(mode="after")
    def _one_app(self) -> "Config":
        if (self.wsgi is None) == (self.asgi is None):
            raise ValueError(
                'set `wsgi` to the app\'s WSGI application (e.g. "mysite.wsgi:application"), '
                "or `asgi` to its ASGI one for websockets (Channels), not both"
            )
        return self

    @model_validator(mode="after")
    def _default_root(self) -> "Config":
        if not self.root:
            object.__setattr__(self, "root", default_root(self.name))
        return self

    @property
    def application(self) -> str:
        """What gunicorn serves: the WSGI app, or the ASGI one (through uvicorn's worker)."""
        return self.asgi or self.wsgi or ""

    @property
    def server_packages(self) -> tuple[str, ...]:
        """Installed in every environment, beside the requirements (an ASGI app: uvicorn's
        gunicorn worker, and the websockets library it speaks websockets with)."""
        return ("gunicorn", "uvicorn-worker", "websockets") if self.asgi else ("gunicorn",)

    @property
    def migrates_on_every_host(self) -> bool:
        """A hook runs `migrate` on every host (each has its own database, as SQLite)."""
        return any("migrate" in hook.command and hook.run == "every-host" for hook in self.hooks)

    @property
    def host_name(self) -> str | None:
        """The name requests ask for (the health check's Host): server_name's first, unless it
        is nginx's catch-all `_`, a wildcard or a regular expression; `.example.com` (it and its
        subdomains) asks for example.com."""
        first = self.server_name.split()[0]
        return None if first == "_" or "*" in first or first.startswith("~") else first.lstrip(".")

    @property
    def scheme(self) -> str:
        """What nginx serves the site as, and so what the app is told it is served as."""
        return "https" if self.tls else "http"

    @property
    def secrets_env_file(self) -> str | None:
        """The secrets file whose variables the app server and hooks get, if they do."""
        return self.secrets.path if self.secrets and self.secrets.environment else None

    @property
    def shared_dirs(self) -> tuple[str, ...]:
        return tuple(p.rstrip("/") for p in self.shared if p.endswith("/"))

    @property
    def shared_files(self) -> tuple[str, ...]:
        return tuple(p for p in self.shared if not p.endswith("/"))


def _location(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


ENVIRONMENTS = "environments"


def for_environment(data: dict, environment: str | None) -> dict:
    """The configuration's keys, with those of `[environments.<environment>]` over them (a
    table, as [env], merged key by key)."""
    base = {key: value for key, value in data.items() if key != ENVIRONMENTS}
    over = data.get(ENVIRONMENTS, {}).get(environment, {}) if environment else {}
    merged = {
        key: {**base[key], **value}
        if isinstance(value, dict) and isinstance(base.get(key), dict)
        else value
        for key, value in over.items()
    }
    return {**base, **merged}


# what a value of each pattern must be, in words
PATTERN_WORDS = {
    NAME_PATTERN: "lowercase letters, digits, - and _, starting with a letter (at most 40)",
    PROCESS_NAME_PATTERN: "lowercase letters, digits and _, starting with a letter (at most 31)",
    WSGI_PATTERN: "a module and its callable (or a factory making it, called: app:create_app()), "
    "e.g. mysite.wsgi:application",
    SERVER_NAME_PATTERN: "names separated by spaces, as nginx's server_name (e.g. example.com)",
    URL_PATH_PATTERN: "a URL path starting with / (letters, digits and _ . / ~ -)",
    URL_DIR_PATTERN: "a URL path starting and ending with /, e.g. /static/",
    DIR_PATTERN: "a relative path of letters, digits and _ . - (parts separated by /)",
    COMMAND_WORD_PATTERN: "a command, without spaces (e.g. python3.12)",
    BODY_SIZE_PATTERN: 'a size as nginx writes it: a number, then k, m or g (e.g. "100m")',
    ENV_NAME_PATTERN: "an environment variable's name: letters, digits and _",
}


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model whose table holds the key at `loc` (hooks.0.x: Hook's)."""
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        found = [field.annotation] if field else []
        model = None
        while found:
            kind = found.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                model = kind
                break
            found += get_args(kind)
    return model


def _said(error: dict) -> str:
    """A validation error in the user's terms."""
    loc = error["loc"]
    if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        key, model = loc[-1], _model_at(loc)
        if model is not Config and key in Config.model_fields:
            return (
                f"unknown key here: {key} is a top-level key, and in TOML a key written after "
                "a [table] or [[hooks]] header is that table's: move it above the first header"
            )
        close = difflib.get_close_matches(key, list(model.model_fields) if model else [], 1)
        return f"unknown key{f' (did you mean {close[0]}?)' if close else ''}"
    words = PATTERN_WORDS.get(error.get("ctx", {}).get("pattern"))
    if error["type"] == "string_pattern_mismatch" and words:
        return f"must be {words}"
    if error["type"] == "value_error":  # our validators' words, without pydantic's prefix
        return str(error["ctx"]["error"])
    return error["msg"]


def _validated(data: dict, source: str, where: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {where}{_location(e)}: {_said(e)}" for e in exc.errors()]
        raise ShipstateError(
            "invalid configuration\n  " + "\n  ".join(lines),
            hint="fix the keys named above; `shipstate init` writes a commented example",
        ) from None


def parse_config(data: dict, source: str, environment: str | None = None) -> Config:
    """The configuration for `environment` (an inventory's name). Every environment's keys are
    checked, not only those of the one asked for."""
    environments = data.get(ENVIRONMENTS, {})
    if not isinstance(environments, dict) or not all(
        isinstance(keys, dict) for keys in environments.values()
    ):
        raise ShipstateError(
            f"{source}: {ENVIRONMENTS}: not a table of tables",
            hint="give each inventory's own keys as [environments.NAME], e.g. "
            '[environments.staging] then server_name = "staging.example.com"',
        )
    config = _validated(for_environment(data, None), source, "")
    for name in environments:
        checked = _validated(for_environment(data, name), source, f"{ENVIRONMENTS}.{name}.")
        if name == environment:
            config = checked
    return config


def load_config(app_dir: Path, environment: str | None = None) -> Config:
    """shipstate.toml (or [tool.shipstate] in pyproject.toml) for `environment`."""
    toml_path = app_dir / CONFIG_FILE
    pyproject = app_dir / "pyproject.toml"
    if toml_path.is_file():
        return parse_config(_read_toml(toml_path), CONFIG_FILE, environment)
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("shipstate")
        if section is not None:
            return parse_config(section, "pyproject.toml [tool.shipstate]", environment)
    above = next((d for d in app_dir.resolve().parents if (d / CONFIG_FILE).is_file()), None)
    raise ShipstateError(
        f"no {CONFIG_FILE} in {app_dir}",
        hint=f"there is one in {above}: run shipstate there, or pass -C {above}"
        if above
        else "run shipstate from your app's root (or pass -C DIR); `shipstate init` creates one",
    )


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ShipstateError(
            f"{path.name}: not valid TOML: {exc}", hint="check the quoting on the line named"
        ) from None
