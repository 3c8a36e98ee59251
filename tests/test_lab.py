"""`make lab` / ``lakekit.lab``: install once, --allow-root as root, open on 00, no news prompt.

The browser side (the page really opens on 00, no toast) is tests/browser/test_jupyterlab.py.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakekit import lab

ROOT = Path(__file__).resolve().parents[1]


def test_command_adds_allow_root_only_for_root(tmp_path):
    as_root = lab.command(tmp_path, as_root=True, settings=tmp_path)
    as_user = lab.command(tmp_path, as_root=False, settings=tmp_path)
    assert "--allow-root" in as_root
    assert "--allow-root" not in as_user
    assert [a for a in as_root if a != "--allow-root"] == as_user


def test_command_opens_on_00_with_the_news_settings_and_no_update_check(tmp_path):
    cmd = lab.command(tmp_path / "nb", port=8899, token="t0k", ip="127.0.0.1", open_browser=False,
                      settings=tmp_path / "s", as_root=False, extra=["--ServerApp.foo=1"])
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={(tmp_path / 'nb').resolve()}" in cmd
    assert "--LabApp.default_url=/lab/tree/00_setup.ipynb" in cmd
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in cmd
    assert f"--LabApp.app_settings_dir={(tmp_path / 's').resolve()}" in cmd
    assert {"--ServerApp.port=8899", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
            "--IdentityProvider.token=t0k", "--no-browser"} <= set(cmd)
    assert cmd[-1] == "--ServerApp.foo=1"
    assert (ROOT / "notebooks" / lab.DEFAULT_NOTEBOOK).exists()


def test_default_settings_dir_is_the_environments_app_settings():
    assert lab.settings_dir() == Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    assert f"--LabApp.app_settings_dir={lab.settings_dir().resolve()}" in lab.command(as_root=False)


def test_write_overrides_turns_news_off_and_keeps_other_plugins(tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/apputils-extension:notification": {"doNotDisturbMode": True, "fetchNews": "true"},
    }))
    assert lab.write_overrides(tmp_path) == path
    data = json.loads(path.read_text())
    assert data["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert data["@jupyterlab/apputils-extension:notification"] == {
        "doNotDisturbMode": True, "fetchNews": "false", "checkForUpdates": False}
    before = path.stat().st_mtime_ns
    lab.write_overrides(tmp_path)  # idempotent: an unchanged file is not rewritten
    assert path.stat().st_mtime_ns == before


def test_write_overrides_refuses_a_broken_file_and_says_what_to_do(tmp_path):
    (tmp_path / "overrides.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"overrides\.json is not valid JSON .*fix or delete it"):
        lab.write_overrides(tmp_path)


def test_overrides_match_jupyterlabs_notification_schema():
    schema_file = (Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas" / "@jupyterlab"
                   / "apputils-extension" / "notification.json")
    if not schema_file.exists():
        pytest.skip(f"JupyterLab is not installed in {sys.prefix} (pip install -e '.[lab]')")
    props = json.loads(schema_file.read_text())["properties"]
    ours = lab.OVERRIDES[lab.NOTIFICATION_PLUGIN]
    assert set(ours) <= set(props)
    assert ours["fetchNews"] in [c["const"] for c in props["fetchNews"]["oneOf"]]
    assert ours["fetchNews"] == "false"  # "Never"; the default "none" asks the attendee
    assert props["checkForUpdates"]["type"] == "boolean" and ours["checkForUpdates"] is False


def test_module_prints_the_command_and_writes_the_settings(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "lakekit.lab", "--print", "--no-browser",
                          "--settings-dir", str(tmp_path), "--", "--ip=0.0.0.0"],
                         capture_output=True, text=True, env=env, timeout=60, check=True).stdout
    assert "-m jupyterlab" in out and "--no-browser" in out and out.strip().endswith("--ip=0.0.0.0")
    assert ("--allow-root" in out) == (os.geteuid() == 0)
    assert json.loads((tmp_path / "overrides.json").read_text()) == lab.OVERRIDES


def _make_n_lab(venv: Path) -> str:
    return subprocess.run(["make", "-n", "lab", f"VENV={venv}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True).stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on PATH")
def test_make_lab_installs_the_lab_extra_once(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    future = time.time() + 60  # stamps newer than pyproject.toml: the venv is up to date
    stamp = venv / ".lakekit-installed"
    stamp.touch()
    os.utime(stamp, (future, future))
    first = _make_n_lab(venv)
    assert "pip install --quiet -e '.[lab]'" in first
    lab_stamp = venv / ".lakekit-lab-installed"
    lab_stamp.touch()
    os.utime(lab_stamp, (future + 1, future + 1))
    second = _make_n_lab(venv)
    assert "pip install" not in second
    assert "lakekit local up" in second and "-m lakekit.lab" in second
