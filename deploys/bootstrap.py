"""`shipstate bootstrap`: a Debian/Ubuntu server made ready for shipstate deploys.

Installs the packages, creates the deploy user with its key, the app root it owns, the only
sudo rules it gets, supervisor's socket for its group and the nginx site include."""

from dataclasses import dataclass
from functools import partial

from pyinfra.api import State
from pyinfra.api.host import Host
from pyinfra.api.operation import add_op
from pyinfra.operations import files, server

from shipstate.commands import argv, chain
from shipstate.layout import Layout
from shipstate.operations.server import (
    file_contents,
    if_running,
    nginx_running,
    packages_installed,
    supervisor_running,
)

PACKAGES = ("nginx", "supervisor", "python3", "python3-venv", "sudo", "tar", "procps")
SUPERVISOR_CONF = "/etc/supervisor/supervisord.conf"
SUPERVISOR_SOCKET_OWNER = "chown=root:"  # then the deploy user's group
SUPERVISOR_APPS = "/etc/supervisor/shipstate.d"
SUPERVISORD_CONF = """\
; Managed by shipstate bootstrap. Each app's programs live in its root, linked from {apps}.
[unix_http_server]
file=/var/run/supervisor.sock
chmod=0770
{owner}{group}

[supervisord]
logfile=/var/log/supervisor/supervisord.log
pidfile=/var/run/supervisord.pid
childlogdir=/var/log/supervisor

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///var/run/supervisor.sock

[include]
files = /etc/supervisor/conf.d/*.conf {apps}/*/*.conf
"""


@dataclass(frozen=True)
class ServerSetup:
    deploy_user: str
    public_key: str
    layout: Layout
    app_packages: tuple[str, ...]  # what the app needs besides shipstate's (`packages`)

    def sudoers(self) -> str:
        return (
            "# Managed by shipstate bootstrap: the only root commands a deploy runs.\n"
            f"{self.deploy_user} ALL=(root) NOPASSWD: /usr/sbin/nginx -t, "
            "/usr/sbin/nginx -s reload\n"
        )

    def nginx_include(self) -> str:
        return (
            "# Managed by shipstate bootstrap: the active release's site config.\n"
            f"include {self.layout.nginx}/*.conf;\n"
        )


def add_bootstrap_ops(state: State, setups: dict[Host, ServerSetup], sudo: bool) -> None:
    for target, setup in setups.items():
        _setup_ops(partial(_add, state, target, sudo), setup)


def _add(state: State, on: Host, sudo: bool, op, **arguments) -> None:
    add_op(state, op, host=on, _sudo=sudo, **arguments)


def _setup_ops(each, setup: ServerSetup) -> None:
    """The same operations, in the same order, for every host (pyinfra matches them by order)."""
    user, layout = setup.deploy_user, setup.layout

    packages = (*PACKAGES, *setup.app_packages)
    each(packages_installed, packages=packages, name=f"packages {' '.join(packages)}")
    each(
        server.user,
        user=user,
        shell="/bin/bash",
        home=f"/home/{user}",
        create_home=True,
        public_keys=[setup.public_key],
        password="*",  # no password, but not locked: sshd refuses key logins to locked users
        name=f"deploy user {user} with its public key",
    )
    each(
        server.user,
        user="www-data",
        groups=[user],
        append=True,
        ensure_home=False,
        name=f"nginx's www-data in group {user} (release sockets and static files)",
    )
    for path in (layout.root, layout.programs):
        each(files.directory, path=path, user=user, group=user, mode="755", name=f"{path}/")
    sudoers = f"/etc/sudoers.d/shipstate-{user}"
    each(
        file_contents,
        path=sudoers,
        content=setup.sudoers(),
        mode="440",
        check=("visudo", "-cqf"),
        name=f"{sudoers}: nginx -t and reload only (checked by visudo)",
    )
    each(files.directory, path=SUPERVISOR_APPS, mode="755", name=f"{SUPERVISOR_APPS}/")
    link = f"{SUPERVISOR_APPS}/{layout.app}"
    each(files.link, path=link, target=layout.programs, name=f"{link} -> {layout.programs}")
    each(
        file_contents,
        path=SUPERVISOR_CONF,
        content=SUPERVISORD_CONF.format(
            owner=SUPERVISOR_SOCKET_OWNER, group=user, apps=SUPERVISOR_APPS
        ),
        then=if_running("supervisord", argv("supervisorctl", "reload")),
        name=f"{SUPERVISOR_CONF}: socket for group {user}, app programs included",
    )
    each(supervisor_running, config=SUPERVISOR_CONF, name="supervisord running")
    default_site = "/etc/nginx/sites-enabled/default"
    each(files.file, path=default_site, present=False, name=f"no {default_site}")
    include = f"/etc/nginx/conf.d/shipstate-{layout.app}.conf"
    each(
        file_contents,
        path=include,
        content=setup.nginx_include(),
        then=if_running("nginx", chain(argv("nginx", "-t", "-q"), argv("nginx", "-s", "reload"))),
        name=f"{include}: the active release's site",
    )
    each(nginx_running, name="nginx running")
