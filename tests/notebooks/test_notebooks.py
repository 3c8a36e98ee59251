"""Notebooks end to end with papermill (the last stage of `make test`).

Each test gets its own endpoint (own port, own LAKEKIT_HOME) so the run starts fresh.
The whole sequence runs twice in a row: every notebook must be idempotent.
"""
from __future__ import annotations

import json

import pytest

from lakekit import local, workshop

pytestmark = pytest.mark.notebooks


@pytest.fixture
def notebook_env(fresh_endpoint, monkeypatch, tmp_path):
    for key, value in {"LAKEKIT_TARGET": "local", "LAKEKIT_HOME": str(fresh_endpoint.home),
                       "LAKEKIT_PORT": str(fresh_endpoint.settings.port),
                       "LAKEKIT_PREFIX": "lakekit"}.items():
        monkeypatch.setenv(key, value)
    return tmp_path / "executed"


def _outputs_text(path) -> str:
    nb = json.loads(path.read_text())
    chunks = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            chunks.append("".join(out.get("text", "")))
            chunks.append("".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(chunks)


def test_00_setup_runs_twice_and_shows_checks(notebook_env, fresh_endpoint):
    nb = workshop.notebooks(["00"])
    assert [p.name for p in nb] == ["00_setup.ipynb"]
    first = workshop.run_notebook(nb[0], notebook_env, html=False)
    second = workshop.run_notebook(nb[0], notebook_env, html=False, suffix="_rerun")
    for run in (first, second):
        text = _outputs_text(run.output)
        assert "arn:aws:iam::123456789012" in text          # caller identity shown
        assert "counted 1000 rows" in text                  # Spark check ran
        assert fresh_endpoint.url in text                   # attached to the test endpoint
    assert local.status(fresh_endpoint.settings).running    # notebooks attach, never restart


def test_whole_workshop_twice_in_a_row(notebook_env):
    names = [p.name for p in workshop.notebooks()]
    assert names[0] == "00_setup.ipynb"
    first = workshop.run_all(out_dir=notebook_env, html=True)
    second = workshop.run_all(out_dir=notebook_env, html=False, suffix="_rerun")
    assert [r.name for r in first] == names == [r.name for r in second]
    assert all(r.html is not None and r.html.exists() for r in first)
