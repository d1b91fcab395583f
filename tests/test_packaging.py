"""The wheel installs one top-level package, `shipstate`, with templates and the sandbox."""

import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_holds_only_shipstate(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("shipstate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"shipstate"}
    for expected in (
        "shipstate/operations/releases.py",
        "shipstate/deploys/apply.py",
        "shipstate/deploy_templates/nginx.conf.j2",
        "shipstate/deploy_templates/supervisor.conf.j2",
        "shipstate/sandbox/host.sh",
    ):
        assert expected in names


def test_effects_packages_do_not_import_the_cli():
    for folder in ("operations", "deploys"):
        for path in (REPO / folder).glob("*.py"):
            text = path.read_text()
            assert "shipstate.cli" not in text and "import typer" not in text, path


def test_invoke_loads_only_when_an_ssh_config_match_exec_runs(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text('Match exec "true"\n    User matched\n')
    script = f"""
import sys
import shipstate.runner
import paramiko
assert "invoke.collection" not in sys.modules, "invoke was loaded at import"
found = paramiko.SSHConfig.from_path({str(config)!r}).lookup("web")
assert found["user"] == "matched", found
assert "invoke.collection" in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
