"""shipstate.toml and inventory loading: valid input gives a model, anything else a clear error."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE
from shipstate.config import load_config, parse_config
from shipstate.errors import ShipstateError
from shipstate.inventory import load_inventory, select_hosts
from shipstate.templates import Templates

MINIMAL = {"name": "shop", "wsgi": "shop.wsgi:application"}


def test_example_config_loads_with_defaults():
    config = load_config(EXAMPLE)
    assert config.name == "hello" and config.root == "/srv/hello"
    assert config.shared_dirs == ("var", "media") and config.shared_files == (".env",)
    assert [h.run for h in config.hooks] == ["every-host", "every-host"]
    assert parse_config(MINIMAL, "t").keep_releases == 4
    assert config.requirements_kind == "requirements"


@pytest.mark.parametrize(
    ("processes", "said"),
    [
        ([{"name": "Worker", "command": "celery"}], "processes.0.name: must be lowercase letters"),
        ([{"name": "w", "command": "celery -A 'x"}], "processes.0.command: cannot"),
        ([{"name": "w", "command": "  "}], "processes.0.command: names no program"),
        ([{"name": "w", "command": "a"}, {"name": "w", "command": "b"}], "the same process twice"),
        ([{"name": "w", "command": "a", "stop_seconds": 0}], "processes.0.stop_seconds"),
        ([{"name": "w", "command": "a", "run": "first"}], "processes.0.run: Input should be"),
    ],
)
def test_a_process_needs_a_plain_name_and_a_command(processes, said):
    with pytest.raises(ShipstateError, match=said):
        parse_config({**MINIMAL, "processes": processes}, "shipstate.toml")


def test_an_environment_has_its_own_keys_over_the_others():
    data = {
        **MINIMAL,
        "server_name": "_",
        "env": {"ALLOWED_HOSTS": "*", "MODE": "live"},
        "environments": {
            "staging": {"server_name": "staging.example.com", "env": {"MODE": "try"}},
            "production": {"workers": 8},
        },
    }
    staging = parse_config(data, "t", "staging")
    assert staging.server_name == "staging.example.com" and staging.workers == 2
    assert staging.env == {"ALLOWED_HOSTS": "*", "MODE": "try"}, "[env] merged key by key"
    production = parse_config(data, "t", "production")
    assert production.server_name == "_" and production.workers == 8
    assert (
        parse_config(data, "t", "sandbox")
        == parse_config(data, "t")
        == parse_config({key: value for key, value in data.items() if key != "environments"}, "t")
    )


def test_an_app_is_served_as_wsgi_or_as_asgi_through_uvicorn_s_worker():
    wsgi = parse_config(MINIMAL, "t")
    assert (wsgi.application, wsgi.server_packages) == ("shop.wsgi:application", ("gunicorn",))
    asgi = parse_config({"name": "shop", "asgi": "shop.asgi:application"}, "t")
    assert asgi.application == "shop.asgi:application"
    assert asgi.server_packages == ("gunicorn", "uvicorn-worker", "websockets")
    for both_or_neither in ({**MINIMAL, "asgi": "shop.asgi:application"}, {"name": "shop"}):
        with pytest.raises(ShipstateError) as error:
            parse_config(both_or_neither, "shipstate.toml")
        assert "(top level): set `wsgi` to the app's WSGI" in error.value.message


def test_config_errors_say_what_is_wanted_in_the_users_terms():
    hook = {"command": "python manage.py migrate", "runs": "once", "shared": ["media/"]}
    data = {**MINIMAL, "keep_release": 3, "name": "My App", "hooks": [hook], "secret": {}}
    with pytest.raises(ShipstateError) as error:
        parse_config(data, "shipstate.toml")
    said = error.value.message.splitlines()
    assert "  shipstate.toml: keep_release: unknown key (did you mean keep_releases?)" in said
    assert "  shipstate.toml: secret: unknown key (did you mean secrets?)" in said
    assert "  shipstate.toml: hooks.0.runs: unknown key (did you mean run?)" in said
    assert (
        "  shipstate.toml: hooks.0.shared: unknown key here: shared is a top-level key, and in "
        "TOML a key written after a [table] or [[hooks]] header is that table's: move it above "
        "the first header" in said
    )
    assert (
        "  shipstate.toml: name: must be lowercase letters, digits, - and _, starting with a "
        "letter (at most 40)" in said
    )
    with pytest.raises(ShipstateError, match="health_path: must be a URL path starting with /"):
        parse_config({**MINIMAL, "health_path": "healthz"}, "shipstate.toml")


def test_every_environments_keys_are_checked_whichever_is_used():
    data = {**MINIMAL, "environments": {"staging": {"workers": 0, "sever_name": "x"}}}
    with pytest.raises(ShipstateError) as error:
        parse_config(data, "shipstate.toml", "production")
    assert "shipstate.toml: environments.staging.workers: Input should be" in error.value.message
    assert (
        "shipstate.toml: environments.staging.sever_name: unknown key (did you mean server_name?)"
        in error.value.message
    )
    with pytest.raises(ShipstateError, match="environments: not a table of tables"):
        parse_config({**MINIMAL, "environments": {"staging": "x"}}, "shipstate.toml")


@pytest.mark.parametrize(
    ("requirements", "kind"),
    [
        ("deps/uv.lock", "uv.lock"),
        ("uv.lock.txt", "requirements"),
        ("pyproject.toml", "pyproject"),
        ("api/pyproject.toml", "pyproject"),
        ("requirements/prod.txt", "requirements"),
        ("poetry.lock", "poetry.lock"),
        ("backend/Pipfile.lock", "Pipfile.lock"),
    ],
)
def test_the_requirements_kind_is_read_from_the_file_name(requirements, kind):
    assert parse_config({**MINIMAL, "requirements": requirements}, "t").requirements_kind == kind


@pytest.mark.parametrize(
    ("hooks", "every_host"),
    [
        ([{"command": "python manage.py migrate --noinput"}], True),
        ([{"command": "python manage.py migrate", "run": "once"}], False),
        ([{"command": "python manage.py collectstatic --noinput"}], False),
        ([], False),
    ],
)
def test_a_migrate_hook_run_on_every_host_is_told(hooks, every_host):
    config = parse_config({**MINIMAL, "hooks": hooks}, "t")
    assert config.migrates_on_every_host == every_host


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"keep_releases": 1}, "keep_releases"),
        ({"root": "relative/path"}, "root"),
        ({"root": "/srv/../etc"}, "root"),
        ({"root": "/srv/a b"}, "root"),
        ({"shared": ["../escape"]}, "shared"),
        ({"shared": ["/etc/passwd"]}, "shared"),
        ({"requirements": "../x.txt"}, "requirements"),
        ({"requirements": "Pipfile"}, "requirements"),
        ({"requirements": "setup.cfg"}, "requirements"),
        ({"wsgi": "x; rm -rf /"}, "wsgi"),
        ({"wsgi": 'app:create_app(os.system("id"))'}, "wsgi"),
        ({"timeout": 0}, "timeout"),
        ({"client_max_body_size": "20 MB"}, "client_max_body_size"),
        ({"client_max_body_size": "1m; } server {"}, "client_max_body_size"),
        ({"python": "python3 -c evil"}, "python"),
        ({"packages": ["libpq-dev; reboot"]}, "packages.0"),
        ({"build": {"command": "npm run build", "outputs": []}}, "build.outputs"),
        ({"build": {"command": "npm run build", "outputs": ["../dist"]}}, "build.outputs.0"),
        ({"build": {"command": "a\nb", "outputs": ["dist"]}}, "build.command"),
        ({"health_path": "healthz"}, "health_path"),
        ({"hooks": [{"command": "a\nb"}]}, "hooks.0.command"),
        ({"hooks": [{"command": "x", "run": "sometimes"}]}, "hooks.0.run"),
        ({"hooks": [{"command": "x", "inputs": ["/etc"]}]}, "hooks.0.inputs.0"),
        ({"hooks": [{"command": "x", "inputs": ["a/../../b"]}]}, "hooks.0.inputs.0"),
        ({"hooks": [{"command": "x", "inputs": ["!*.py"]}]}, "hooks.0"),
        ({"hooks": [{"command": "x", "outputs": ["static"]}]}, "hooks.0"),
        ({"hooks": [{"command": "x", "inputs": ["a"], "outputs": ["../s"]}]}, "hooks.0.outputs.0"),
        (
            {"hooks": [{"command": "x", "run": "once", "inputs": ["a"], "outputs": ["s"]}]},
            "hooks.0",
        ),
        ({"env": {"A": "x\ny"}}, "env"),
        ({"env": {"BAD NAME": "x"}}, "env"),
        ({"static_root": "static; } server {"}, "static_root"),
        ({"static_url": "/static"}, "static_url"),
        ({"static_url": "/static/../"}, "static_url"),
        ({"media_url": "/"}, "media_url"),
        ({"media_root": "uploads"}, "(top level)"),
        ({"media_root": "../up", "shared": ["../up/"]}, "shared"),
        ({"media_root": "up", "shared": ["up/"], "media_url": "/static/"}, "(top level)"),
        ({"secrets": {"file": ".env.prod", "path": "../.env"}}, "secrets.path"),
        ({"secrets": {"file": ".env.prod", "typo": 1}}, "secrets.typo"),
        ({"secrets": {"file": ".env.prod"}, "shared": [".env"]}, "(top level)"),
        (
            {"secrets": {"file": "c.py", "path": "instance/config.py"}, "shared": ["instance/"]},
            "(top level): secrets.path 'instance/config.py' is in the shared dir 'instance/'",
        ),
        ({"tls": {"certificate": "cert.pem", "key": "/k"}}, "tls.certificate"),
        ({"tls": {"certificate": "/c.pem", "key": "/k; } server {"}}, "tls.key"),
        ({"tls": {"certificate": "/etc/../c.pem", "key": "/k"}}, "tls.certificate"),
        ({"tls": {"certificate": "/c.pem"}}, "tls.key"),
        ({"root": "/srv/a@b"}, "root"),
        ({"workdir": "../src"}, "workdir"),
        ({"workdir": "/src"}, "workdir"),
        ({"workdir": "src; ls"}, "workdir"),
        ({"pythonpath": ["../lib"]}, "pythonpath"),
        ({"pythonpath": ["/usr/lib"]}, "pythonpath.0"),
        ({"pythonpath": "src"}, "pythonpath"),
        ({"typo_key": 1}, "typo_key"),
    ],
)
def test_bad_config_names_the_key(override, where):
    with pytest.raises(ShipstateError) as caught:
        parse_config({**MINIMAL, **override}, "shipstate.toml")
    assert f"shipstate.toml: {where}" in caught.value.message
    assert caught.value.hint


def test_tls_takes_certbot_paths_and_makes_the_site_https():
    live = "/etc/letsencrypt/live/www.example.com"
    tls = {"certificate": f"{live}/fullchain.pem", "key": f"{live}/privkey.pem"}
    config = parse_config({**MINIMAL, "tls": tls}, "t")
    assert config.tls.key == f"{live}/privkey.pem" and config.scheme == "https"
    assert parse_config(MINIMAL, "t").scheme == "http"


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ShipstateError, match="no shipstate.toml"):
        load_config(tmp_path)
    (tmp_path / "shipstate.toml").write_text('name = "x\n')
    with pytest.raises(ShipstateError, match="not valid TOML"):
        load_config(tmp_path)
    # as Windows' Notepad saves it: a byte order mark first
    (tmp_path / "shipstate.toml").write_bytes(b'\xef\xbb\xbfname = "notes"\nwsgi = "notes.wsgi"\n')
    assert load_config(tmp_path).name == "notes"
    (tmp_path / "shipstate.toml").unlink()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.shipstate]\nname = "shop"\nwsgi = "shop.wsgi"\n'
    )
    assert load_config(tmp_path).name == "shop"


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "wsgi", "root", "shared", "hooks", "keep_releases", "env", "zz"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner),
            max_leaves=5,
        ),
    )
)
def test_any_config_gives_a_model_or_a_clean_error(data):
    try:
        parse_config(data, "shipstate.toml")
    except ShipstateError as exc:
        assert exc.message.startswith("invalid configuration")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inv.py"
    path.write_text(text)
    return path


def test_inventory_groups_data_and_limit(tmp_path):
    hosts = load_inventory(
        write(
            tmp_path,
            '_x = 1\nweb = [("a", {"ssh_hostname": "127.0.0.5"}), "b"]\nworkers = ["b"]\n',
        )
    )
    assert [(h.name, h.groups) for h in hosts] == [("a", ("web",)), ("b", ("web", "workers"))]
    assert [h.name for h in select_hosts(hosts, ["workers"])] == ["b"]
    with pytest.raises(ShipstateError, match="unknown hosts or groups: nope"):
        select_hosts(hosts, ["nope"])


def test_an_inventory_by_its_environments_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "production.py").write_text('web = ["app1.example.com"]\n')
    assert [h.name for h in load_inventory(Path("production"))] == ["app1.example.com"]
    with pytest.raises(ShipstateError) as missing:
        load_inventory(Path("staging"))
    assert missing.value.message == "inventory staging does not exist"
    assert missing.value.hint == (
        "pass -i with one of: inventories/production.py (or its name: -i production)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web = [1]\n", "is not a host"),
        ('web = [("a b", {})]\n', "not valid"),
        ('web = [("a", {"ssh_port": "22; x"})]\n', "ssh_port"),
        ('web = [("a", {"ssh_port": 1}), ("a", {"ssh_port": 2})]\n', "listed twice"),
        ('web = [("a", {"http_port": 0})]\n', "http_port"),
        ('web = [("a", {"https_port": "443"})]\n', "https_port"),
        ('web = [("a", {"listen_addr": "0.0.0.0:80; x"})]\n', "not an IP address"),
        ('web = [("a", {"ssh_usr": "deploy"})]\n', "ssh_usr is no SSH setting"),
        ("raise SystemExit(3)\n", "failed to load"),
        ("x = 1\n", "lists no hosts"),
    ],
)
def test_bad_inventories(tmp_path, text, message):
    with pytest.raises(ShipstateError, match=message):
        load_inventory(write(tmp_path, text))


def test_a_mistyped_ssh_setting_names_the_one_it_is_close_to(tmp_path):
    with pytest.raises(ShipstateError) as error:
        load_inventory(write(tmp_path, 'web = [("a", {"ssh_usr": "deploy"})]\n'))
    assert error.value.hint == "did you mean ssh_user?"


@pytest.mark.parametrize("media", [{}, {"media_root": "up/files", "shared": ["up/files/"]}])
def test_the_site_serves_uploads_from_the_shared_dir_only_when_media_root_is_set(tmp_path, media):
    config = parse_config({**MINIMAL, **media}, "shipstate.toml")
    host = {"name": "web1", "listen_addr": "", "http_port": 80, "https_port": 443}
    site = Templates(tmp_path).render("nginx.conf.j2", {"app": config, "host": host})
    served = "    location /media/ {\n        alias /srv/shop/shared/up/files/;\n    }\n"
    assert (served in site) == bool(media)
    assert "\n\n\n" not in site and "location /static/ {" in site


@pytest.mark.parametrize(
    ("server_name", "asked"),
    [
        ("_", None),
        ("*.example.com", None),
        ("~^www\\.example\\.com$", None),
        ("example.com www.example.com", "example.com"),
        (".example.com", "example.com"),  # nginx's and Django's: it and its subdomains
    ],
)
def test_the_name_requests_ask_for_is_server_names_first_unless_a_pattern(server_name, asked):
    assert parse_config({**MINIMAL, "server_name": server_name}, "t").host_name == asked
