"""What the deploy tool an app used before says (a fabfile, Capistrano's stages, Kamal's
config): its servers, for the inventories `init` writes, and how many releases it kept. Read,
never connected to."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENTS = {
    "production": "production",
    "prod": "production",
    "live": "production",
    "staging": "staging",
    "stage": "staging",
}


@dataclass(frozen=True)
class FormerHost:
    address: str
    user: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class FormerHosts:
    hosts: tuple[FormerHost, ...]
    found_in: str  # the file
    tool: str


# [user@]host[:port], as Fabric and Capistrano write a host
HOST_STRING = re.compile(r"^(?:([a-z_][\w.-]*)@)?([\w.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?$", re.I)


def _host(text: str, user: str | None = None, port: int | None = None) -> FormerHost | None:
    match = HOST_STRING.match(text.strip())
    if not match:
        return None
    named_port = int(match.group(3)) if match.group(3) else port
    return FormerHost(match.group(2).strip("[]"), match.group(1) or user, named_port)


def _unique(hosts) -> tuple[FormerHost, ...]:
    return tuple(dict.fromkeys(host for host in hosts if host is not None))


def _strings(node: ast.AST) -> list[str]:
    """The strings of a list, tuple or comma-separated string literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [part for part in node.value.split(",") if part.strip()]
    if isinstance(node, ast.List | ast.Tuple):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def _env_setting(node: ast.Assign, name: str) -> ast.AST | None:
    """The value of `env.<name> = ...` (Fabric 1)."""
    for target in node.targets:
        if (
            isinstance(target, ast.Attribute)
            and target.attr == name
            and isinstance(target.value, ast.Name)
            and target.value.id == "env"
        ):
            return node.value
    return None


def _assigned_strings(node: ast.AST, name: str) -> list[str]:
    value = _env_setting(node, name) if isinstance(node, ast.Assign) else None
    return _strings(value) if value is not None else []


TASK = ast.FunctionDef | ast.AsyncFunctionDef


def _fabric_hosts(body: list[ast.stmt], user: str | None) -> list[FormerHost | None]:
    """`env.hosts = [...]` (Fabric 1) and `Connection("host", user=...)` (Fabric 2) in `body`."""
    nodes = [node for statement in body for node in ast.walk(statement)]
    user = next((u for n in nodes for u in _assigned_strings(n, "user")), user)
    found = []
    for node in nodes:
        if isinstance(node, ast.Assign) and (value := _env_setting(node, "hosts")) is not None:
            found += [_host(text, user) for text in _strings(value)]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Connection"
            and node.args
        ):
            named = next((_strings(k.value) for k in node.keywords if k.arg == "user"), [])
            found += [_host(text, next(iter(named), user)) for text in _strings(node.args[0])]
    return found


def _fabfile(app_dir: Path) -> tuple[str, ast.Module] | None:
    """The fabfile (a module or a package), parsed."""
    for name in ("fabfile.py", "fabfile/__init__.py"):
        if (app_dir / name).is_file():
            try:
                return name, ast.parse((app_dir / name).read_text(errors="replace"))
            except (SyntaxError, ValueError):
                return None
    return None


def from_fabfile(module: ast.Module) -> dict[str, tuple[FormerHost, ...]]:
    """A task named production, staging... setting its hosts gives that environment's; hosts set
    outside such tasks are production's."""
    module_level = [node for node in module.body if not isinstance(node, TASK)]
    user = next((u for node in module_level for u in _assigned_strings(node, "user")), None)
    tasks = {node.name: node for node in module.body if isinstance(node, TASK)}
    environments: dict[str, list] = {}
    for name, task in tasks.items():
        if name.lower() in ENVIRONMENTS:
            environments.setdefault(ENVIRONMENTS[name.lower()], []).extend(
                _fabric_hosts(task.body, user)
            )
    if "production" not in environments:
        others = [
            node for node in module.body if getattr(node, "name", "").lower() not in ENVIRONMENTS
        ]
        environments["production"] = _fabric_hosts(others, user)
    return {env: hosts for env, found in environments.items() if (hosts := _unique(found))}


CAPISTRANO_SERVER = re.compile(r"""^\s*server\s+["']([^"']+)["'](.*)$""", re.M)
CAPISTRANO_ROLE = re.compile(
    r"""^\s*role\s+:\w+\s*,\s*(?:%[wW][\[{(]([^\]})]*)|\[([^\]]*)\])""", re.M
)


def from_capistrano_stage(text: str) -> tuple[FormerHost, ...]:
    """`server "web1.example.com", user: "deploy", port: 2222` and `role :app, %w{deploy@web1}`."""
    found = []
    for address, options in CAPISTRANO_SERVER.findall(text):
        user = re.search(r"""\buser:\s*["']([^"']+)["']""", options)
        port = re.search(r"\bport:\s*(\d{1,5})", options)
        found.append(_host(address, user and user.group(1), port and int(port.group(1))))
    for words, listed in CAPISTRANO_ROLE.findall(text):
        found += [_host(h) for h in (words.split() or re.findall(r"""["']([^"']+)["']""", listed))]
    return _unique(found)


def _yaml_blocks(text: str):
    """(the keys above, key or None for a list item, value) of each line of a YAML file in
    block style, as Kamal's config is written; flow lists (`[a, b]`) as items."""
    keys: list[tuple[int, str]] = []  # the keys enclosing a line, with their indentation
    for line in text.splitlines():
        content = re.sub(r"\s+#.*$", "", line.rstrip())
        if not content.strip() or content.lstrip().startswith("#"):
            continue
        indent = len(content) - len(content.lstrip())
        item = re.match(r"^\s*-\s*[\"']?([^\s\"':]+)", content)
        while keys and (keys[-1][0] > indent or (keys[-1][0] == indent and not item)):
            keys.pop()
        path = tuple(key for _, key in keys)
        key = None if item else re.match(r"^\s*([\w-]+):\s*(.*)$", content)
        if item:
            yield path, None, item.group(1)
        elif key:
            name, value = key[1], key[2].strip("\"'")
            if value.startswith("["):
                for listed in value.strip("[]").split(","):
                    yield (*path, name), None, listed.strip(" \"'")
            else:
                yield path, name, value
            keys.append((indent, name))


def from_kamal(text: str) -> tuple[FormerHost, ...]:
    """config/deploy.yml's `servers` (a list, or roles each with a list or `hosts`), and `ssh`'s
    user and port (Kamal connects as root by default)."""
    addresses, ssh = [], {}
    for path, key, value in _yaml_blocks(text):
        if key is None and path[:1] == ("servers",) and (len(path) <= 2 or path[2:] == ("hosts",)):
            addresses.append(value)
        elif path == ("ssh",) and key in ("user", "port"):
            ssh[key] = value
    port = int(ssh["port"]) if ssh.get("port", "").isdigit() else None
    user = ssh.get("user") or "root"
    return _unique(_host(a, user, port) for a in addresses if a and "<%" not in a)


def kamal_environment(app_dir: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The names of the secrets config/deploy.yml gives the app (`env.secret`, from
    .kamal/secrets) and its clear variables (`env.clear`)."""
    config = app_dir / "config" / "deploy.yml"
    secret, clear = [], {}
    for path, key, value in _yaml_blocks(
        config.read_text(errors="replace") if config.is_file() else ""
    ):
        if path == ("env", "secret") and key is None:
            secret.append(value)
        elif path == ("env", "clear") and key:
            clear[key] = value
    return tuple(secret), clear


def former_hosts(app_dir: Path) -> dict[str, FormerHosts]:
    """Each environment's hosts, from the first of these tools' files that lists any."""
    read: list[tuple[str | None, tuple[FormerHost, ...], str, str]] = []
    if fabfile := _fabfile(app_dir):
        name, module = fabfile
        read += [(env, hosts, name, "Fabric") for env, hosts in from_fabfile(module).items()]
    for stage in sorted((app_dir / "config" / "deploy").glob("*.rb")):
        hosts = from_capistrano_stage(stage.read_text(errors="replace"))
        read.append(
            (
                ENVIRONMENTS.get(stage.stem.lower()),
                hosts,
                f"config/deploy/{stage.name}",
                "Capistrano",
            )
        )
    for config in sorted((app_dir / "config").glob("deploy*.yml")):
        destination = config.stem.partition(".")[2] or "production"
        hosts = from_kamal(config.read_text(errors="replace"))
        read.append(
            (ENVIRONMENTS.get(destination.lower()), hosts, f"config/{config.name}", "Kamal")
        )
    found: dict[str, FormerHosts] = {}
    for environment, hosts, file, tool in read:
        if environment and hosts and environment not in found:
            found[environment] = FormerHosts(hosts, file, tool)
    return found


# the fabfile's MAX_DEPLOYED_VERSIONS (README of the Fabric project shipstate replaces), or
# Capistrano's `set :keep_releases, 5`
KEPT_RELEASES = {
    "fabfile.py": re.compile(r"^(?:env\.)?max_deployed_versions\s*=\s*(\d+)\s*$", re.M | re.I),
    "config/deploy.rb": re.compile(r"^\s*set\s+:keep_releases\s*,\s*(\d+)\s*$", re.M),
}


def releases_kept(app_dir: Path) -> tuple[int, str] | None:
    """How many releases the former tool kept, and the file saying so."""
    for file, setting in KEPT_RELEASES.items():
        path = app_dir / file
        found = setting.search(path.read_text(errors="replace")) if path.is_file() else None
        if found:
            return int(found.group(1)), file
    return None


CAPISTRANO_DEPLOY_TO = re.compile(r"""^\s*set\s+:deploy_to\s*,\s*["']([^"'#]+)["']\s*$""", re.M)


def _fabfile_deploys_to(module: ast.Module) -> str | None:
    """`env.root` joined with `env.project`, as the Fabric project shipstate replaces keeps its
    versions in `<root>/<project>/versions` and links `current` there."""
    named = {
        name: value
        for node in module.body
        for name in ("root", "project")
        for value in _assigned_strings(node, name)[:1]
    }
    if named.get("root") and named.get("project"):
        return f"{named['root'].rstrip('/')}/{named['project']}"
    return None


def deploys_to(app_dir: Path) -> tuple[str, str] | None:
    """The directory on the servers the former tool deploys into, and the file saying so."""
    fabfile = _fabfile(app_dir)
    if fabfile and (found := _fabfile_deploys_to(fabfile[1])):
        return found, fabfile[0]
    deploy_rb = app_dir / "config" / "deploy.rb"
    text = deploy_rb.read_text(errors="replace") if deploy_rb.is_file() else ""
    setting = CAPISTRANO_DEPLOY_TO.search(text)
    return (setting.group(1).rstrip("/"), "config/deploy.rb") if setting else None
