"""Notebooks 01 (deploy) and 99 (cleanup) run twice in a row with papermill against the endpoint."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAPERMILL = Path(sys.executable).parent / "papermill"

pytestmark = pytest.mark.notebooks


def _run(name: str, out: Path, env: dict[str, str]) -> str:
    proc = subprocess.run([str(PAPERMILL), str(ROOT / "notebooks" / name), str(out), "-k", "python3",
                           "--log-level", "WARNING"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                texts.append(o["text"])
            elif o.get("output_type") == "error":
                pytest.fail(f"{name}: {o['ename']}: {o['evalue']}")
    return "".join(texts)


def test_notebooks_01_then_99_twice(endpoint, tmp_path):
    env = {**os.environ, "LAKEKIT_TARGET": "local", "LAKEKIT_PORT": str(endpoint.settings.port),
           "LAKEKIT_HOME": str(endpoint.home), "LAKEKIT_PREFIX": "nbcfn"}
    for round_ in (1, 2):
        deployed = _run("01_deploy_infrastructure.ipynb", tmp_path / f"01-{round_}.ipynb", env)
        assert "0 cfn-lint findings" in deployed
        assert "raw versioning:        Enabled" in deployed
        assert "analysts bytes cutoff:      10,485,760" in deployed
        assert "landing -> Lambda:    arn:aws:lambda:us-east-1:123456789012:function:nbcfn-ingest" in deployed
        cleaned = _run("99_cleanup.ipynb", tmp_path / f"99-{round_}.ipynb", env)
        assert "stack: DELETE_COMPLETE" in cleaned
        assert "0 resources with prefix 'nbcfn' remain" in cleaned
    again = _run("99_cleanup.ipynb", tmp_path / "99-again.ipynb", env)
    assert "stack: DOES_NOT_EXIST" in again and "0 resources with prefix 'nbcfn' remain" in again
