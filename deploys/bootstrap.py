"""`shipstate bootstrap`: a Debian/Ubuntu server made ready for shipstate deploys.

Installs the packages, creates the deploy user with its key, the app root it owns, the only
sudo rules it gets, supervisor's socket for its group and the nginx site include.
`shipstate remove` takes the app's off again."""

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
    path_absent,
    supervisor_running,
)
from shipstate.server_files import (
    SUPERVISOR_APPS,
    SUPERVISOR_CONF,
    nginx_include,
    nginx_include_path,
    programs_link,
    sudo_rules,
    sudoers_path,
    supervisord_conf,
)

PACKAGES = ("nginx", "supervisor", "python3", "python3-venv", "sudo", "tar", "procps")
NGINX_RELOAD = if_running("nginx", chain(argv("nginx", "-t", "-q"), argv("nginx", "-s", "reload")))


@dataclass(frozen=True)
class ServerSetup:
    deploy_user: str
    public_key: str
    layout: Layout
    app_packages: tuple[str, ...]  # what the app needs besides shipstate's (`packages`)


def add_bootstrap_ops(state: State, setups: dict[Host, ServerSetup], sudo: bool) -> None:
    for target, setup in setups.items():
        _setup_ops(partial(_add, state, target, sudo), setup)


def _add(state: State, on: Host, sudo: bool, op, **arguments) -> None:
    add_op(state, op, host=on, _sudo=sudo, **arguments)


def add_removal_ops(state: State, hosts: list[Host], layout: Layout, sudo: bool) -> None:
    """The app's programs stopped (supervisord no longer includes them), its site gone from
    nginx, then its root removed; what bootstrap set up for every app stays."""
    link, include = programs_link(layout.app), nginx_include_path(layout.app)
    update = if_running("supervisord", argv("supervisorctl", "update"))
    for target in hosts:
        each = partial(_add, state, target, sudo)
        each(path_absent, path=link, then=update, name=f"{link}: its programs stopped")
        each(path_absent, path=include, then=NGINX_RELOAD, name=f"{include}: its site")
        each(path_absent, path=layout.root, name=f"{layout.root}/: releases, environments, shared")


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
    sudoers = sudoers_path(user)
    each(
        file_contents,
        path=sudoers,
        content=sudo_rules(user),
        mode="440",
        check=("visudo", "-cqf"),
        name=f"{sudoers}: nginx -t and reload only (checked by visudo)",
    )
    each(files.directory, path=SUPERVISOR_APPS, mode="755", name=f"{SUPERVISOR_APPS}/")
    link = programs_link(layout.app)
    each(files.link, path=link, target=layout.programs, name=f"{link} -> {layout.programs}")
    each(
        file_contents,
        path=SUPERVISOR_CONF,
        content=supervisord_conf(user),
        then=if_running("supervisord", argv("supervisorctl", "reload")),
        name=f"{SUPERVISOR_CONF}: socket for group {user}, app programs included",
    )
    each(supervisor_running, config=SUPERVISOR_CONF, name="supervisord running")
    default_site = "/etc/nginx/sites-enabled/default"
    each(files.file, path=default_site, present=False, name=f"no {default_site}")
    include = nginx_include_path(layout.app)
    each(
        file_contents,
        path=include,
        content=nginx_include(layout),
        then=NGINX_RELOAD,
        name=f"{include}: the active release's site",
    )
    each(nginx_running, name="nginx running")
