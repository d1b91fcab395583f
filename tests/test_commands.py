"""Remote commands are data: exact strings, with every user value quoted."""

from pyinfra.api import StringCommand

from shipstate.commands import argv, chain, sudo
from shipstate.layout import Layout

HOSTILE = ["a b", "it's", "$(reboot)", "`id`", "x; rm -rf /", "a\nb", "*", "--help"]


def test_argv_quotes_every_value():
    command = argv("rm", "-rf", "/srv/my app/releases/3")
    assert command.get_raw_value() == "rm -rf '/srv/my app/releases/3'"


def test_hostile_values_stay_inert():
    import shlex

    for value in HOSTILE:
        raw = argv("echo", value).get_raw_value()
        assert shlex.split(raw) == ["echo", value]


def test_chain_and_sudo():
    command = chain(argv("mkdir", "-p", "/a"), sudo("/usr/sbin/nginx", "-t"))
    assert command.get_raw_value() == "mkdir -p /a && sudo -n /usr/sbin/nginx -t"
    either = chain(argv("test", "-x", "/u"), argv("echo", "no"), operator="||")
    assert isinstance(either, StringCommand)
    assert either.get_raw_value() == "test -x /u || echo no"


def test_layout_paths():
    layout = Layout("/srv/shop", "shop")
    assert layout.release(7) == "/srv/shop/releases/7"
    assert layout.building(7) == "/srv/shop/releases/.building-7"
    assert layout.program_file(7) == "/srv/shop/supervisor/shop-7.conf"
    assert layout.socket(7) == "/srv/shop/releases/7/.shipstate/gunicorn.sock"
    assert layout.env("0123456789abcdef") == "/srv/shop/envs/0123456789abcdef"
