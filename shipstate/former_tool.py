"""What the deploy tool an app used before says (a fabfile, Capistrano's stages, Deployer's
recipe, Ansistrano's inventory, Kamal's config): its servers, for the inventories `init`
writes, where it deployed, how many releases it kept, what it kept across them and ran on each
deploy, and the names its site answered for. Read, never connected to."""

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipstate.python_source import literal

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
    key: str | None = None  # the private key's file, on the machine deploying


@dataclass(frozen=True)
class FormerHosts:
    hosts: tuple[FormerHost, ...]
    found_in: str  # the file
    tool: str


# [user@]host[:port], as Fabric and Capistrano write a host
HOST_STRING = re.compile(r"^(?:([a-z_][\w.-]*)@)?([\w.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?$", re.I)


def _host(
    text: str, user: str | None = None, port: int | None = None, key: str | None = None
) -> FormerHost | None:
    match = HOST_STRING.match(text.strip())
    if not match:
        return None
    named_port = int(match.group(3)) if match.group(3) else port
    return FormerHost(match.group(2).strip("[]"), match.group(1) or user, named_port, key)


def _text(path: Path) -> str:
    """The file's text ("" when there is no such file)."""
    return path.read_text(errors="replace") if path.is_file() else ""


def _unique(hosts) -> tuple[FormerHost, ...]:
    return tuple(dict.fromkeys(host for host in hosts if host is not None))


def _by_environment(found: dict[str, list]) -> dict[str, tuple[FormerHost, ...]]:
    return {env: hosts for env, listed in found.items() if (hosts := _unique(listed))}


@dataclass(frozen=True)
class FabricSetting:
    task: str | None  # the function it is set in; None: the module's own code
    # env's hosts (its roledefs' too), user, root, project, key_filename; Fabric 2's "connection"
    name: str
    values: tuple[str, ...]


# a top-level function of a fabfile, its tasks among them
FABRIC_TASK = re.compile(r"^(?:async\s+)?def\s+(\w+)", re.M)
FABRIC_SETTING = re.compile(r"^\s*env\.(hosts|user|root|project|roledefs|key_filename)\s*=\s*(.*)$")
# Fabric 2's Connection(..., connect_kwargs={"key_filename": "~/.ssh/deploy"}), or a list of them
KEY_FILENAME = re.compile(r"""key_filename["']?\s*[:=]\s*\[?\s*["']([^"']+)""")
# roles whose hosts serve no app (Fabric's env.roledefs)
NOT_APP_ROLES = re.compile(r"db|database|postgres|mysql|redis|cache|memcache|queue|broker|lb|proxy")
FABRIC_CONNECTION = re.compile(r"""\bConnection\(\s*(?:host\s*=\s*)?["']([^"']+)["']([^)]*)""")
USER_KEYWORD = re.compile(r"""\buser\s*=\s*["']([^"']+)["']""")


def _literal_strings(value: str) -> tuple[str, ...]:
    """The strings of a list, tuple or comma-separated string literal."""
    value = literal(value)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return ()
    return tuple(item.strip() for item in items if isinstance(item, str) and item.strip())


def _role_hosts(value: str) -> tuple[str, ...]:
    """The hosts of env.roledefs' roles that serve the app (`{"web": [...], "db": [...]}`, a
    role's list, or Fabric 1.5's `{"hosts": [...]}`): not a database's, a cache's..."""
    roles = literal(value)
    if not isinstance(roles, dict):
        return ()
    hosts = []
    for role, listed in roles.items():
        listed = listed.get("hosts", []) if isinstance(listed, dict) else listed
        if isinstance(role, str) and not NOT_APP_ROLES.search(role.lower()):
            hosts += [h for h in listed if isinstance(h, str)] if isinstance(listed, list) else []
    return tuple(hosts)


def fabric_settings(text: str) -> list[FabricSetting]:
    """Fabric 1's `env.hosts = [...]`, `env.user`, `env.root`, `env.project`, and Fabric 2's
    `Connection("host", user=...)`, read line by line: Fabric 1's fabfiles are Python 2, which
    Python 3 does not parse."""
    found, task, lines = [], None, iter(text.splitlines())
    for line in lines:
        if line[:1] not in ("", " ", "\t", "#", "@", ")", "]"):
            task = next(iter(FABRIC_TASK.findall(line)), None)
        setting = FABRIC_SETTING.match(line)
        if setting:
            value = setting.group(2)
            opened = ("[", "(", "{")
            while sum(map(value.count, opened)) > sum(map(value.count, ("]", ")", "}"))):
                value += "\n" + next(lines, "]")
            if setting.group(1) == "roledefs":
                found.append(FabricSetting(task, "hosts", _role_hosts(value)))
            else:
                found.append(FabricSetting(task, setting.group(1), _literal_strings(value)))
        for host, arguments in FABRIC_CONNECTION.findall(line):
            user = USER_KEYWORD.search(arguments)
            found.append(
                FabricSetting(task, "connection", (f"{user[1]}@{host}" if user else host,))
            )
        found += [FabricSetting(task, "key_filename", (k,)) for k in KEY_FILENAME.findall(line)]
    return found


def _setting(settings: list[FabricSetting], name: str, default: str | None) -> str | None:
    return next((s.values[0] for s in settings if s.name == name and s.values), default)


def _fabric_hosts(
    settings: list[FabricSetting], user: str | None, key: str | None
) -> list[FormerHost | None]:
    user, key = _setting(settings, "user", user), _setting(settings, "key_filename", key)
    hosts = [v for s in settings if s.name in ("hosts", "connection") for v in s.values]
    return [_host(host, user, key=key) for host in hosts]


def _fabfile(app_dir: Path) -> tuple[str, list[FabricSetting]] | None:
    """The fabfile (a module or a package) and its settings."""
    for name in ("fabfile.py", "fabfile/__init__.py"):
        if (app_dir / name).is_file():
            return name, fabric_settings((app_dir / name).read_text(errors="replace"))
    return None


def from_fabfile(settings: list[FabricSetting]) -> dict[str, tuple[FormerHost, ...]]:
    """A task named production, staging... setting its hosts gives that environment's; hosts set
    outside such tasks are production's."""
    outside = [s for s in settings if not s.task]
    user, key = _setting(outside, "user", None), _setting(outside, "key_filename", None)
    tasks = {s.task for s in settings if s.task and s.task.lower() in ENVIRONMENTS}
    environments: dict[str, list] = {}
    for task in sorted(tasks):
        in_task = [s for s in settings if s.task == task]
        hosts = _fabric_hosts(in_task, user, key)
        environments.setdefault(ENVIRONMENTS[task.lower()], []).extend(hosts)
    if "production" not in environments:
        others = [s for s in settings if s.task not in tasks]
        environments["production"] = _fabric_hosts(others, user, key)
    return _by_environment(environments)


QUOTED = re.compile(r"""["']([^"']+)["']""")
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
        found += [_host(h) for h in (words.split() or QUOTED.findall(listed))]
    return _unique(found)


DEPLOYER_HOST = re.compile(r"(?<![\w>$:])host\(([^)]*)\)([^;]*);")
DEPLOYER_OPTION = r"""->\s*(?:set\(\s*["']{0}["']\s*,|{1}\(|{2}\()\s*["']?([\w.@~/-]+)"""
DEPLOYER_USER = re.compile(DEPLOYER_OPTION.format("remote_user", "setRemoteUser", "user"))
DEPLOYER_PORT = re.compile(DEPLOYER_OPTION.format("port", "setPort", "port"))
DEPLOYER_HOSTNAME = re.compile(DEPLOYER_OPTION.format("hostname", "setHostname", "hostname"))
# Deployer 6's ->stage('production'), 7's labels ['stage' => 'production']
DEPLOYER_STAGE = re.compile(r"""(?:->\s*stage\(|["']stage["']\s*=>)\s*["'](\w+)["']""")


def _environment(name: str | None) -> str:
    """The environment a stage or group name says; production when it says none."""
    return ENVIRONMENTS.get((name or "").lower(), "production")


def _port(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def from_deployer_php(text: str) -> dict[str, tuple[FormerHost, ...]]:
    """deploy.php's `host('web1.example.com')->setRemoteUser('deploy')->setPort(2222)` (or
    ->set('remote_user', ...), Deployer 6's ->user(...)), with its stage."""
    text = re.sub(r"(?m)^\s*(?://|#).*$", "", text)
    environments: dict[str, list] = {}
    for names, chain in DEPLOYER_HOST.findall(text):
        user, port = DEPLOYER_USER.search(chain), DEPLOYER_PORT.search(chain)
        hostname, stage = DEPLOYER_HOSTNAME.search(chain), DEPLOYER_STAGE.search(chain)
        for name in QUOTED.findall(names):
            address = hostname[1] if hostname else name
            found = _host(address, user and user[1], _port(port and port[1]))
            environments.setdefault(_environment(stage and stage[1]), []).append(found)
    return _by_environment(environments)


def from_deployer_yaml(text: str) -> dict[str, tuple[FormerHost, ...]]:
    """deploy.yaml's `hosts:`, each with its hostname, remote_user, port and labels' stage."""
    hosts: dict[str, dict[str, str]] = {}
    for path, key, value in _yaml_blocks(text):
        if path == ("hosts",) and key:
            hosts.setdefault(key, {})
        elif path[:1] == ("hosts",) and len(path) >= 2 and key and path[1] in hosts:
            hosts[path[1]][key] = value
    environments: dict[str, list] = {}
    for name, options in hosts.items():
        found = _host(options.get("hostname") or name, options.get("remote_user"))
        found = found and FormerHost(found.address, found.user, _port(options.get("port")))
        environments.setdefault(_environment(options.get("stage")), []).append(found)
    return _by_environment(environments)


# `web[01:10].example.com`, `db-[a:c]`, `web[1:9:2]`: Ansible's host ranges
ANSIBLE_RANGE = re.compile(r"\[([a-z0-9]*):([a-z0-9]+)(?::(\d+))?\]", re.I)


def _ansible_names(pattern: str) -> list[str]:
    """The names an inventory's host pattern stands for, as Ansible expands its ranges (a
    number keeps the width of a first one with leading zeros); one it would refuse, as is."""
    found = ANSIBLE_RANGE.search(pattern)
    if not found:
        return [pattern]
    first, last, step = found[1] or "0", found[2], int(found[3] or 1)
    if first.isdigit() and last.isdigit():
        width = len(first) if first.startswith("0") else 0
        values = [str(n).zfill(width) for n in range(int(first), int(last) + 1, step or 1)]
    elif len(first) == len(last) == 1 and first.isalpha() and last.isalpha():
        values = [chr(c) for c in range(ord(first), ord(last) + 1, step or 1)]
    else:
        return [pattern]
    head, tail = pattern[: found.start()], _ansible_names(pattern[found.end() :])
    return [head + value + rest for value in values for rest in tail]


def _ansible_hosts(name: str, options: dict[str, str]) -> list[FormerHost | None]:
    """A host's (or a range's) address, user and port, by Ansible's names for them or the
    `ansible_ssh_` ones of Ansible before 2.0, which win where both are given (as in Ansible's
    ssh connection, where the later of a setting's variables wins)."""
    old_last = sorted(options.items(), key=lambda item: item[0].startswith("ansible_ssh_"))
    given = {key.replace("ansible_ssh_", "ansible_"): value for key, value in old_last}
    user, port = given.get("ansible_user"), _port(given.get("ansible_port"))
    key = given.get("ansible_private_key_file")
    if "ansible_host" in given:
        return [_host(given["ansible_host"], user, port, key)]
    return [_host(address, user, port, key) for address in _ansible_names(name)]


def _ini_hosts(line: str) -> list[FormerHost | None]:
    """`web1 ansible_host=web1.example.com ansible_user=deploy ansible_port=2222`"""
    name, *words = line.split()
    return _ansible_hosts(name, dict(word.split("=", 1) for word in words if "=" in word))


def _ini_sections(text: str) -> dict[str, list[str]]:
    """An INI inventory's lines by section (a group, `group:vars`, `group:children`)."""
    sections: dict[str, list[str]] = {}
    group = ""
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if line.startswith("["):
            group = line.strip("[]")
        elif line and not line.startswith(("#", ";")):
            sections.setdefault(group, []).append(line)
    return sections


def from_ansible_inventory(text: str, environment: str) -> dict[str, tuple[FormerHost, ...]]:
    """An Ansible inventory (INI, or YAML's `hosts:` maps): hosts of a group named production,
    staging... (or of a group in its children) are that environment's, the others
    `environment`'s (the file's)."""
    environments: dict[str, list] = {}
    if re.search(r"(?m)^\s*\[", text):
        sections = _ini_sections(text)
        parents = {
            child.split()[0]: group.partition(":")[0]
            for group, lines in sections.items()
            if group.endswith(":children")
            for child in lines
        }

        def environment_of(group: str, seen: tuple[str, ...] = ()) -> str:
            if group.lower() in ENVIRONMENTS:
                return ENVIRONMENTS[group.lower()]
            parent = parents.get(group)
            if parent and parent not in seen:
                return environment_of(parent, (*seen, group))
            return environment

        for group, lines in sections.items():
            if ":" not in group:  # not a group's :vars or :children
                in_group = environments.setdefault(environment_of(group), [])
                in_group += [host for line in lines for host in _ini_hosts(line)]
        return _by_environment(environments)
    hosts: dict[tuple[str, ...], dict[str, str]] = {}
    for path, key, value in _yaml_blocks(text):
        if path[-1:] == ("hosts",) and key:
            hosts[(*path, key)] = {}
        elif path in hosts and key:
            hosts[path][key] = value
    for path, options in hosts.items():
        group = next((ENVIRONMENTS[p.lower()] for p in path if p.lower() in ENVIRONMENTS), None)
        environments.setdefault(group or environment, []).extend(_ansible_hosts(path[-1], options))
    return _by_environment(environments)


ANSIBLE_INVENTORIES = ("hosts", "hosts.ini", "hosts.yml", "inventory", "inventory.ini")


def ansistrano_files(app_dir: Path) -> list[Path]:
    """The playbooks running Ansistrano's roles, at the app's top or in ansible/ or deploy/,
    and their group_vars."""
    playbooks = [
        path
        for folder in (app_dir, app_dir / "ansible", app_dir / "deploy")
        for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
        if path.is_file() and "ansistrano" in path.read_text(errors="replace")
    ]
    group_vars = sorted({p.parent / "group_vars" for p in playbooks})
    return [*playbooks, *(v for d in group_vars for v in sorted(d.rglob("*.y*ml")) if v.is_file())]


def _ansible_inventories(app_dir: Path) -> list[tuple[Path, str]]:
    """The inventories beside Ansistrano's playbooks, each with the environment its path names
    (inventories/staging/hosts.yml, inventories/staging.ini), else production."""
    folders = dict.fromkeys(
        p.parent for p in ansistrano_files(app_dir) if "group_vars" not in p.parts
    )
    found = []
    for folder in folders:
        found += [(folder / name, "production") for name in ANSIBLE_INVENTORIES]
        for named in ("inventories", "inventory"):
            for path in sorted((folder / named).glob("*")):
                inside = [path / name for name in ANSIBLE_INVENTORIES] if path.is_dir() else [path]
                found += [
                    (inventory, _environment(path.name.partition(".")[0])) for inventory in inside
                ]
    return [(path, env) for path, env in found if path.is_file()]


# `- value` (up to a `: `, as of a tagged host `- 1.2.3.4: canary`), quoted or not
YAML_ITEM = re.compile(r"""^\s*-\s*["']?((?:[^\s"':]|:(?=[^\s"']))+)""")
# `key: value`, the key quoted or not, maybe with Ansible's ranges (`web[01:03].example.com:`)
YAML_KEY = re.compile(r"""^\s*["']?((?:[\w.-]|\[[\w:]*\])+)["']?:\s*(.*)$""")


def _yaml_blocks(text: str):
    """(the keys above, key or None for a list item, value) of each line of a YAML file in
    block style, as Kamal's config is written; flow lists (`[a, b]`) as items."""
    keys: list[tuple[int, str]] = []  # the keys enclosing a line, with their indentation
    for line in text.splitlines():
        content = re.sub(r"\s+#.*$", "", line.rstrip())
        if not content.strip() or content.lstrip().startswith("#"):
            continue
        indent = len(content) - len(content.lstrip())
        item = YAML_ITEM.match(content)
        while keys and (keys[-1][0] > indent or (keys[-1][0] == indent and not item)):
            keys.pop()
        path = tuple(key for _, key in keys)
        key = None if item else YAML_KEY.match(content)
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
        elif path == ("ssh", "keys") and key is None:
            ssh.setdefault("key", value)
    port = int(ssh["port"]) if ssh.get("port", "").isdigit() else None
    user, key = ssh.get("user") or "root", ssh.get("key")
    return _unique(_host(a, user, port, key) for a in addresses if a and "<%" not in a)


def kamal_environment(app_dir: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The names of the secrets config/deploy.yml gives the app (`env.secret`, from
    .kamal/secrets) and its clear variables (`env.clear`)."""
    text = _text(app_dir / "config" / "deploy.yml")
    secret, clear = [], {}
    for path, key, value in _yaml_blocks(text):
        if path == ("env", "secret") and key is None:
            secret.append(value)
        elif path == ("env", "clear") and key:
            clear[key] = value
    return tuple(secret), clear


def kamal_proxy(app_dir: Path, destination: str = "") -> tuple[tuple[str, ...], str | None]:
    """The names kamal-proxy served the app at (`proxy.host`, `proxy.hosts`) and its health
    check's path (`proxy.healthcheck.path`; Kamal 1's `healthcheck.path`), as config/deploy.yml
    says, or a destination's (config/deploy.staging.yml)."""
    names, health = [], None
    config = f"deploy.{destination}.yml" if destination else "deploy.yml"
    for path, key, value in _yaml_blocks(_text(app_dir / "config" / config)):
        if (path, key) == (("proxy",), "host"):
            names += [name.strip() for name in value.split(",")]
        elif path == ("proxy", "hosts") and key is None:
            names.append(value)
        elif path in (("proxy", "healthcheck"), ("healthcheck",)) and key == "path":
            health = value
    plain = (name for name in names if re.fullmatch(r"[\w.-]+", name))
    return tuple(dict.fromkeys(plain)), health if health and health.startswith("/") else None


NGINX_SERVER_NAME = re.compile(r"^\s*server_name\s+([^;#\n]+);", re.M)
NGINX_BODY_SIZE = re.compile(r"^\s*client_max_body_size\s+(\d{1,7}[kmg]?)\s*;", re.M | re.I)
SIZE_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}


def _size(text: str) -> int:
    """nginx's size (`100m`) in bytes."""
    unit = SIZE_UNITS.get(text[-1].lower())
    return int(text[:-1]) * unit if unit else int(text)


@dataclass(frozen=True)
class NginxSite:
    names: tuple[str, ...] = ()  # server_name's
    body_size: str | None = None  # the largest client_max_body_size
    found_in: str | None = None


def nginx_site(app_dir: Path, paths: list[str]) -> NginxSite:
    """What the first of these nginx configs (a fabfile's template of its site) says."""
    for path in paths:
        text = _text(app_dir / path)
        names = [name for found in NGINX_SERVER_NAME.findall(text) for name in found.split()]
        sizes = NGINX_BODY_SIZE.findall(text)
        if names or sizes:
            body_size = max(sizes, key=_size, default=None)
            return NginxSite(tuple(dict.fromkeys(names)), body_size, path)
    return NginxSite()


SUPERVISOR_PROGRAM = re.compile(r"^\[program:([\w.-]+)\][ \t]*$(.*?)(?=^\[|\Z)", re.M | re.S)
SUPERVISOR_COMMAND = re.compile(r"^command[ \t]*=[ \t]*(.+)$", re.M)
# what serves the app (shipstate runs gunicorn itself), and the services a server (or a Docker
# image's supervisord) runs beside it
NOT_THE_APPS = re.compile(
    r"\b(?:gunicorn|uwsgi|daphne|uvicorn|hypercorn|waitress|runserver|nginx|apache2|httpd"
    r"|redis-server|memcached|postgres|mysqld|cron|crond|sshd)\b"
)


def supervisor_programs(app_dir: Path, paths: list[str]) -> tuple[tuple[tuple[str, str], ...], str]:
    """The programs of the app but its web server the first of these supervisor configs (a
    fabfile's template) runs, `(name, command)`, a virtualenv's path left out of the command;
    and its path."""
    for path in paths:
        programs = []
        for name, body in SUPERVISOR_PROGRAM.findall(_text(app_dir / path)):
            command = SUPERVISOR_COMMAND.search(body)
            words = command[1].split() if command else []
            if not words or NOT_THE_APPS.search(command[1]) or re.search(r"\{[{%]", command[1]):
                continue
            if "/bin/" in words[0]:
                words[0] = words[0].rpartition("/")[2]  # /srv/app/venv/bin/celery: the release's
            programs.append((name, " ".join(words)))
        if programs:
            return tuple(programs), path
    return (), ""


# gunicorn's command line: -w 4, --workers=4, -t 120, --timeout 120 (also as a Dockerfile's
# ["--workers", "4"], or a variable's default: ${WEB_CONCURRENCY:-4}); its config file: workers = 4
GUNICORN_OPTION = re.compile(
    r"""(?<![\w-])(?:-([wt])|--(workers|timeout))(?:=|[\s"',]+)?(?:\$\{\w+:?-)?(\d+)\b"""
)
GUNICORN_SETTING = re.compile(r"^(workers|timeout)[ \t]*=[ \t]*(\d+)[ \t]*(?:#.*)?$", re.M)
GUNICORN_LONG = {"w": "workers", "t": "timeout"}
# uWSGI's ini: processes = 4 (or workers), harakiri = 60 (its request timeout)
UWSGI_SETTING = re.compile(r"^[ \t]*(processes|workers|harakiri)[ \t]*[=:][ \t]*(\d+)\b", re.M)
UWSGI_NAMES = {"processes": "workers", "workers": "workers", "harakiri": "timeout"}


@dataclass(frozen=True)
class AppServer:
    workers: int | None
    timeout: int | None
    found_in: str  # the file
    server: str = "gunicorn"


def former_app_server(app_dir: Path, paths: list[str]) -> AppServer | None:
    """The workers and request timeout gunicorn had, from the first of these files (a
    Procfile, a supervisor config, a systemd unit, a Dockerfile, gunicorn's config) that says;
    or uWSGI, from its ini file."""
    for path in paths:
        text = _text(app_dir / path).replace("\\\n", " ")
        if "uwsgi" in PurePosixPath(path).name and path.endswith(".ini"):
            read = {UWSGI_NAMES[name]: int(value) for name, value in UWSGI_SETTING.findall(text)}
            if read:
                return AppServer(read.get("workers"), read.get("timeout"), path, "uWSGI")
        found = {
            GUNICORN_LONG.get(short, long): int(value)
            for line in text.splitlines()
            if re.search(r"\bgunicorn\b", line) and not line.lstrip().startswith("#")
            for short, long, value in GUNICORN_OPTION.findall(line)
        }
        if "gunicorn" in PurePosixPath(path).name and path.endswith(".py"):
            found.update((name, int(value)) for name, value in GUNICORN_SETTING.findall(text))
        if found:
            return AppServer(found.get("workers"), found.get("timeout"), path)
    return None


def former_hosts(app_dir: Path) -> dict[str, FormerHosts]:
    """Each environment's hosts, from the first of these tools' files that lists any."""
    read: list[tuple[str | None, tuple[FormerHost, ...], str, str]] = []

    def listed(by_environment: dict, file: str, tool: str) -> None:
        read.extend((env, hosts, file, tool) for env, hosts in by_environment.items())

    if fabfile := _fabfile(app_dir):
        listed(from_fabfile(fabfile[1]), fabfile[0], "Fabric")
    for stage in sorted((app_dir / "config" / "deploy").glob("*.rb")):
        hosts = from_capistrano_stage(stage.read_text(errors="replace"))
        environment = ENVIRONMENTS.get(stage.stem.lower())
        listed({environment: hosts}, f"config/deploy/{stage.name}", "Capistrano")
    for name in ("deploy.php", "deploy.yaml", "deploy.yml"):
        recipe = app_dir / name
        if recipe.is_file():
            read_recipe = from_deployer_php if name.endswith(".php") else from_deployer_yaml
            listed(read_recipe(recipe.read_text(errors="replace")), name, "Deployer")
    for inventory, environment in _ansible_inventories(app_dir):
        text = inventory.read_text(errors="replace")
        file = str(inventory.relative_to(app_dir))
        listed(from_ansible_inventory(text, environment), file, "Ansistrano")
    for config in sorted((app_dir / "config").glob("deploy*.yml")):
        destination = config.stem.partition(".")[2] or "production"
        hosts = from_kamal(config.read_text(errors="replace"))
        listed({ENVIRONMENTS.get(destination.lower()): hosts}, f"config/{config.name}", "Kamal")
    found: dict[str, FormerHosts] = {}
    for environment, hosts, file, tool in read:
        if environment and hosts and environment not in found:
            found[environment] = FormerHosts(hosts, file, tool)
    return found


# the fabfile's MAX_DEPLOYED_VERSIONS (README of the Fabric project shipstate replaces),
# Capistrano's `set :keep_releases, 5`, Deployer's `set('keep_releases', 5)` or its YAML's
YAML_KEEP_RELEASES = re.compile(r"^\s*keep_releases:\s*(\d+)\s*$", re.M)
FABFILE_KEEP_RELEASES = re.compile(r"^(?:env\.)?max_deployed_versions\s*=\s*(\d+)\s*$", re.M | re.I)
KEPT_RELEASES = {
    "fabfile.py": FABFILE_KEEP_RELEASES,
    "fabfile/__init__.py": FABFILE_KEEP_RELEASES,
    "config/deploy.rb": re.compile(r"^\s*set\s+:keep_releases\s*,\s*(\d+)\s*$", re.M),
    "deploy.php": re.compile(r"""^\s*set\(\s*["']keep_releases["']\s*,\s*(\d+)\s*\)""", re.M),
    "deploy.yaml": YAML_KEEP_RELEASES,
    "deploy.yml": YAML_KEEP_RELEASES,
}
ANSISTRANO_KEEP_RELEASES = re.compile(r"""^\s*ansistrano_keep_releases:\s*["']?(\d+)""", re.M)


def _first_setting(app_dir: Path, settings: dict[str, re.Pattern], ansistrano: re.Pattern):
    """The value of the first setting found (in the files named, then Ansistrano's), and its
    file."""
    candidates = [(app_dir / file, setting) for file, setting in settings.items()]
    candidates += [(path, ansistrano) for path in ansistrano_files(app_dir)]
    for path, setting in candidates:
        found = setting.search(_text(path))
        if found:
            return found.group(1), str(path.relative_to(app_dir))
    return None


def releases_kept(app_dir: Path) -> tuple[int, str] | None:
    """How many releases the former tool kept, and the file saying so."""
    found = _first_setting(app_dir, KEPT_RELEASES, ANSISTRANO_KEEP_RELEASES)
    return (int(found[0]), found[1]) if found else None


# an absolute path without a Deployer {{placeholder}}
YAML_DEPLOY_PATH = re.compile(r"""^\s*deploy_path:\s*["']?(/[^"'{\s]+)""", re.M)
DEPLOY_PATHS = {
    "config/deploy.rb": re.compile(r"""^\s*set\s+:deploy_to\s*,\s*["'](/[^"'#]+)["']\s*$""", re.M),
    "deploy.php": re.compile(
        r"""^\s*set\(\s*["']deploy_path["']\s*,\s*["'](/[^"'{]+)["']\s*\)""", re.M
    ),
    "deploy.yaml": YAML_DEPLOY_PATH,
    "deploy.yml": YAML_DEPLOY_PATH,
}
ANSISTRANO_DEPLOY_TO = re.compile(r"""^\s*ansistrano_deploy_to:\s*["']?(/[^"'{\s]+)""", re.M)


def _fabfile_deploys_to(settings: list[FabricSetting]) -> str | None:
    """`env.root` joined with `env.project`, as the Fabric project shipstate replaces keeps its
    versions in `<root>/<project>/versions` and links `current` there."""
    named = {s.name: s.values[0] for s in settings if not s.task and s.values}
    if named.get("root") and named.get("project"):
        return f"{named['root'].rstrip('/')}/{named['project']}"
    return None


def deploys_to(app_dir: Path) -> tuple[str, str] | None:
    """The directory on the servers the former tool deploys into, and the file saying so."""
    fabfile = _fabfile(app_dir)
    if fabfile and (found := _fabfile_deploys_to(fabfile[1])):
        return found, fabfile[0]
    found = _first_setting(app_dir, DEPLOY_PATHS, ANSISTRANO_DEPLOY_TO)
    return (found[0].rstrip("/"), found[1]) if found else None


# Capistrano's `set :linked_dirs, %w{log media}` / `append :linked_files, ".env"`
CAPISTRANO_LINKED = re.compile(r"^\s*(?:set|append)\s+:linked_(dirs|files)\s*,(.*)$", re.M)
# Deployer's `set('shared_dirs', ['media'])` / `add('shared_files', ['.env'])`
DEPLOYER_SHARED = re.compile(
    r"""\b(?:set|add)\(\s*["']shared_(dirs|files)["']\s*,\s*\[([^\]]*)\]"""
)
SHARED_KEYS = {
    "shared_dirs": "dirs",
    "shared_files": "files",
    "ansistrano_shared_paths": "dirs",
    "ansistrano_shared_files": "files",
}


def _in_release(path: str) -> bool:
    """A path `shared` takes: in the release (not absolute, nothing above it), plain characters."""
    parts = path.rstrip("/").split("/")
    return bool(re.fullmatch(r"[\w./-]+", path)) and all(p not in ("", ".", "..") for p in parts)


def _listed(value: str) -> list[str]:
    """The words of a Ruby %w{...}, else the quoted strings."""
    words = re.search(r"%[wW][\[{(]([^\]})]*)", value)
    return words[1].split() if words else QUOTED.findall(value)


def _shared_path(path: str, kind: str) -> str:
    """As shipstate's `shared` lists it: a directory with a trailing /."""
    path = path.strip().removeprefix("./").rstrip("/")
    return f"{path}/" if kind == "dirs" else path


DOCKERFILE_WORKDIR = re.compile(r"^\s*WORKDIR\s+[\"']?(/[^\s\"']*)", re.M | re.I)


def _kamal_volumes(app_dir: Path, text: str) -> list[tuple[str, str]]:
    """Kamal's `volumes` (`/var/lib/app/media:/app/media[:ro]`, or a named volume's) mounted
    in the image's WORKDIR, as paths in the release: a directory, unless its name has a dot
    after its first character (db.sqlite3), or is .env."""
    workdirs = DOCKERFILE_WORKDIR.findall(_text(app_dir / "Dockerfile"))
    if not workdirs:
        return []
    workdir = workdirs[-1].rstrip("/") + "/"
    mounted = []
    for keys, key, value in _yaml_blocks(text):
        parts = value.split(":")
        if keys == ("volumes",) and key is None and parts[1:2] and parts[1].startswith(workdir):
            path = parts[1].removeprefix(workdir)
            name = path.rstrip("/").rpartition("/")[2]
            mounted.append(("files" if "." in name[1:] or name == ".env" else "dirs", path))
    return mounted


def former_shared(app_dir: Path) -> tuple[tuple[str, ...], str] | None:
    """The paths the former tool kept across releases (Capistrano's linked_dirs and
    linked_files, Deployer's shared_dirs and shared_files, Ansistrano's shared paths and
    files), as `shared` lists them, and the file saying so."""
    texts = [
        (path, path.read_text(errors="replace"))
        for path in (app_dir / "config" / "deploy.rb", app_dir / "deploy.php")
        if path.is_file()
    ]
    kamal = app_dir / "config" / "deploy.yml"
    yamls = [app_dir / "deploy.yaml", app_dir / "deploy.yml", *ansistrano_files(app_dir), kamal]
    texts += [(path, path.read_text(errors="replace")) for path in yamls if path.is_file()]
    for path, text in texts:
        found = [
            (kind, v) for kind, value in CAPISTRANO_LINKED.findall(text) for v in _listed(value)
        ]
        found += [
            (kind, v) for kind, value in DEPLOYER_SHARED.findall(text) for v in _listed(value)
        ]
        if path == kamal:
            found += _kamal_volumes(app_dir, text)
        elif path.suffix in (".yml", ".yaml"):
            found += [
                (SHARED_KEYS[keys[-1]], value)
                for keys, key, value in _yaml_blocks(text)
                if key is None and keys[-1:] and keys[-1] in SHARED_KEYS
            ]
        paths = (_shared_path(v, kind) for kind, v in found)
        shared = tuple(dict.fromkeys(p for p in paths if _in_release(p)))
        if shared:
            return shared, str(path.relative_to(app_dir))
    return None


# `apt-get install -y --no-install-recommends libpq-dev gettext`, to the end of the command
APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\s([^&;|\n]*)")
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]*")


def dockerfile_packages(app_dir: Path) -> tuple[str, ...]:
    """The Debian packages the Dockerfile installs with apt, in its order."""
    text = _text(app_dir / "Dockerfile")
    words = [w for found in APT_INSTALL.findall(text.replace("\\\n", " ")) for w in found.split()]
    names = (word.split("=")[0] for word in words)  # nodejs=20.1.0-1: a version pinned
    return tuple(dict.fromkeys(name for name in names if DEBIAN_PACKAGE.fullmatch(name)))


# `manage.py compress --force`, `django-admin update_index`: what follows, to a quote or `;&|)`
MANAGEMENT_COMMAND = re.compile(r"""(?:\bmanage\.py|\bdjango-admin(?:\.py)?)[ \t]+([^"'\n;&|)]*)""")
# Ansible's django_manage module: `command=compress` inline, or its `command:` a line below
DJANGO_MANAGE = re.compile(
    r"""django_manage:(?:[ \t]+command=([^\s"']+)|[^\n]*\n(?:[ \t]+\S[^\n]*\n)*?"""
    r"""[ \t]+command:[ \t]*["']?([^"'\n#]+))"""
)
PLAIN_WORD = re.compile(r"[\w.:/,-]+(?:=[\w.:/,-]+)?")  # no placeholder (%s, {{x}}, #{x}, $X)
SETTINGS_OPTION = re.compile(r"--(?:settings|pythonpath)(?:=|$)")
ANSISTRANO_STAGES = ("setup", "update_code", "symlink_shared", "symlink", "cleanup")
ANSISTRANO_HOOK = re.compile(
    r"""^\s*ansistrano_(before|after)_(\w+?)_tasks_file:\s*["']?([^"'\n]+?)["']?\s*$""", re.M
)


def _management_command(rest: str) -> str | None:
    """The command and its literal words, up to the first that is not (a placeholder)."""
    words = []
    for word in rest.split():
        if not PLAIN_WORD.fullmatch(word):
            break
        if not SETTINGS_OPTION.match(word):  # the servers' settings are shipstate's
            words.append(word)
    return " ".join(words) if words and re.fullmatch(r"[a-z][\w-]*", words[0]) else None


def _commands_in(text: str) -> list[str]:
    """The management commands `text` runs, in its order."""
    found = [(m.start(), m[1]) for m in MANAGEMENT_COMMAND.finditer(text)]
    found += [(m.start(), m[1] or m[2]) for m in DJANGO_MANAGE.finditer(text)]
    commands = (_management_command(rest) for _, rest in sorted(found))
    return [command for command in commands if command]


def management_commands_only(line: str) -> list[str] | None:
    """The management commands of a command line made only of them (a Procfile's `release:
    python manage.py migrate && python manage.py createcachetable`), else None."""
    parts = [part for part in re.split(r"&&|;", line) if part.strip()]
    commands = [_commands_in(part) for part in parts]
    if not parts or any(len(found) != 1 for found in commands):
        return None
    return [found[0] for found in commands]


def fabric_deploy_commands(text: str) -> list[str]:
    """The management commands a fabfile's deploy task runs: in the functions it names
    (`migrate()`, Fabric 1's `execute(migrate)`), and theirs, in the order it reaches them.
    Read line by line: Fabric 1's fabfiles are Python 2."""
    starts = [(m.start(), m[1]) for m in FABRIC_TASK.finditer(text)]
    bodies = {
        name: text[start : next((s for s, _ in starts if s > start), len(text))]
        for start, name in starts
    }
    named = re.compile(r"\b(" + "|".join(map(re.escape, bodies)) + r")\b") if bodies else None
    commands: list[str] = []
    reached: set[str] = set()

    def reach(name: str) -> None:
        reached.add(name)
        for line in bodies[name].splitlines()[1:]:
            commands.extend(_commands_in(line))
            for callee in named.findall(line) if named else ():
                if callee not in reached:
                    reach(callee)

    for name in bodies:
        if name.lower().startswith("deploy") and name not in reached:
            reach(name)
    return commands


# a task's start: Capistrano's `task :compress do`, Deployer's `task('deploy:compress', ...`
TASK_START = re.compile(r"""^\s*task[ \t(]+[:"']?([\w:-]+)""", re.M)
# tasks run around others: `after :updated, :compress`, `before('deploy:symlink', 'compress')`;
# and Deployer's `task('deploy', ['deploy:prepare', 'compress', ...])`
TASK_HOOKED = re.compile(
    r"""^\s*(?:after|before)[ \t(]+[:"']?[\w:-]+["']?\s*,\s*[:"']?([\w:-]+)""", re.M
)
TASK_LIST = re.compile(r"""^\s*task\(\s*["']deploy["']\s*,\s*\[([^\]]*)\]""", re.M)


def hooked_task_commands(text: str) -> list[str]:
    """The management commands of the tasks Capistrano's or Deployer's deploy runs (hooked
    before or after one of its steps, or listed in Deployer's `deploy` task), in the file's
    order; a task lasts until the next one starts. Capistrano's `execute :python, "manage.py",
    "migrate"` is read as its words."""
    hooked = {name.rpartition(":")[2] for name in TASK_HOOKED.findall(text)}
    for listed in TASK_LIST.findall(text):
        hooked |= {name.rpartition(":")[2] for name in re.findall(r"[\w:-]+", listed)}
    starts = [(m.start(), m[1].rpartition(":")[2]) for m in TASK_START.finditer(text)]
    commands = []
    ends = [start for start, _ in starts[1:]] + [len(text)]
    for (start, name), end in zip(starts, ends, strict=False):
        if name in hooked:
            commands += _commands_in(re.sub(r"""["']\s*,\s*["']""", " ", text[start:end]))
    return commands


def _ansistrano_hook_files(app_dir: Path) -> list[Path]:
    """The task files Ansistrano's playbooks run around its steps, in the order it runs them
    (`ansistrano_after_symlink_tasks_file: "{{ playbook_dir }}/hooks/after-symlink.yml"`)."""
    hooks = []
    for path in ansistrano_files(app_dir):
        group_vars = next((p for p in path.parents if p.name == "group_vars"), None)
        playbook_dir = group_vars.parent if group_vars else path.parent
        for when, stage, file in ANSISTRANO_HOOK.findall(_text(path)):
            if stage in ANSISTRANO_STAGES:
                file = re.sub(r"\{\{\s*playbook_dir\s*\}\}", str(playbook_dir), file)
                order = ANSISTRANO_STAGES.index(stage) * 2 + (when == "after")
                hooks.append((order, playbook_dir / file))
    inside = (file.resolve() for _, file in sorted(hooks))
    return list(dict.fromkeys(f for f in inside if f.is_file() and f.is_relative_to(app_dir)))


def deploy_commands(app_dir: Path) -> tuple[tuple[str, ...], str] | None:
    """The management commands (`compress --force`) the former tool ran on each deploy, in
    its order, and the file saying so: a fabfile's deploy task, Capistrano's or Deployer's tasks
    hooked into their deploy, Ansistrano's hook tasks, Render's or Fly's deploy commands, or
    what the Dockerfile (Kamal's image) runs, building or starting it."""
    if (fabfile := _fabfile(app_dir)) and (
        commands := fabric_deploy_commands(_text(app_dir / fabfile[0]))
    ):
        return tuple(commands), fabfile[0]
    for name in ("config/deploy.rb", "deploy.php"):
        if commands := hooked_task_commands(_text(app_dir / name)):
            return tuple(commands), name
    files = _ansistrano_hook_files(app_dir.resolve())
    commands = [command for file in files for command in _commands_in(_text(file))]
    if commands:
        return tuple(commands), str(files[0].relative_to(app_dir.resolve()))
    for name in ("render.yaml", "fly.toml"):
        if commands := _platform_commands(app_dir, _text(app_dir / name)):
            return tuple(commands), name
    if commands := _image_commands(app_dir, _text(app_dir / "Dockerfile")):
        return tuple(commands), "Dockerfile"
    return None


# a Dockerfile's instructions running commands: RUN as it builds, ENTRYPOINT and CMD as the
# container starts (a script of the app's, as cookiecutter-django's /start); and its copies
IMAGE_COMMAND = re.compile(r"^(RUN|ENTRYPOINT|CMD)\s+(.+(?:\\\n.*)*)", re.M | re.I)
IMAGE_COPY = re.compile(r"^(?:COPY|ADD)\s+(?:--\S+\s+)*(\S+)\s+(\S+)\s*$", re.M | re.I)
START_SCRIPT = re.compile(r"[\w.-]+\.sh|(?:docker-)?entrypoint|start")


def _image_commands(app_dir: Path, text: str) -> list[str]:
    """The management commands a Dockerfile runs, and those of the app's scripts it starts
    the container with (copied into the image, or at their path in the app)."""
    copied = {dest: source for source, dest in IMAGE_COPY.findall(text)}
    commands = []
    for instruction, line in IMAGE_COMMAND.findall(text):
        for word in re.findall(r"[\w./-]+", line) if instruction.upper() != "RUN" else ():
            name = PurePosixPath(word).name
            source = copied.get(word) or (word.lstrip("./") if START_SCRIPT.fullmatch(name) else "")
            script = app_dir / source.lstrip("./") if source else None
            if script and script.is_file() and script.resolve().is_relative_to(app_dir.resolve()):
                commands += _commands_in(_text(script))
        commands += _commands_in(line)
    return list(dict.fromkeys(commands))


# a platform's commands run on each deploy: Render's build and pre-deploy, Fly's release
PLATFORM_COMMAND = re.compile(
    r"""^\s*(?:buildCommand|preDeployCommand|release_command)\s*[:=]\s*["']?(.+?)["']?\s*$""",
    re.M,
)


def _platform_commands(app_dir: Path, text: str) -> list[str]:
    """The management commands of a platform's deploy commands, or of the scripts they run
    (Render's `./build.sh`)."""
    commands = []
    for line in PLATFORM_COMMAND.findall(text):
        scripts = [app_dir / w for w in line.split() if re.fullmatch(r"[\w./-]+\.sh", w)]
        inside = [s for s in scripts if s.resolve().is_relative_to(app_dir.resolve())]
        commands += [c for script in inside for c in _commands_in(_text(script))]
        commands += _commands_in(line)
    return commands
