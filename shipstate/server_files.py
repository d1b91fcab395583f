"""What `shipstate bootstrap` writes outside an app's root: the deploy user's sudo rules,
supervisord's config, and each app's includes of its site and programs. The sandbox gives its
hosts the same files, so that bootstrap run there changes none of them. Pure."""

from shipstate.layout import Layout

SUPERVISOR_CONF = "/etc/supervisor/supervisord.conf"
SUPERVISOR_APPS = "/etc/supervisor/shipstate.d"
SUPERVISOR_SOCKET_OWNER = "chown=root:"  # then the deploy user's group
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


def supervisord_conf(group: str) -> str:
    """supervisord's config: its socket for the deploy user's group, every app's programs."""
    return SUPERVISORD_CONF.format(owner=SUPERVISOR_SOCKET_OWNER, group=group, apps=SUPERVISOR_APPS)


def sudoers_path(user: str) -> str:
    return f"/etc/sudoers.d/shipstate-{user}"


def sudo_rules(user: str) -> str:
    return (
        "# Managed by shipstate bootstrap: the only root commands a deploy runs.\n"
        f"{user} ALL=(root) NOPASSWD: /usr/sbin/nginx -t, /usr/sbin/nginx -s reload\n"
    )


def programs_link(app: str) -> str:
    """Links to the app's programs dir (Layout.programs), which supervisord includes."""
    return f"{SUPERVISOR_APPS}/{app}"


def nginx_include_path(app: str) -> str:
    return f"/etc/nginx/conf.d/shipstate-{app}.conf"


def nginx_include(layout: Layout) -> str:
    return (
        "# Managed by shipstate bootstrap: the active release's site config.\n"
        f"include {layout.nginx}/*.conf;\n"
    )
