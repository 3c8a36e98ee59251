"""The whole workshop end to end (the last stage of `make test`).

A fresh endpoint (own port, own LAKEKIT_HOME) runs every ``notebooks/NN_*.ipynb`` in
order, each one TWICE in a row (idempotency): first with papermill, exactly as `make run`
does, then under nbval (``--nbval-lax``, :mod:`lakekit.nbval_check`) on the committed
notebook, which also compares the cells tagged ``nbval-check-output`` with the committed
reference outputs (:mod:`lakekit.reference_outputs`): a change that alters what attendees see
fails here. Every notebook asserts its own results (row counts, denials, bytes scanned...);
here we also check the values the setup, deploy and cleanup notebooks print, and both runs'
outputs with :func:`lakekit.notebook_checks.check_notebook` (cell and output lengths, nothing
on stderr, no Spark noise, progress bars done, labelled plots, markdown numbers the outputs show).
"""
from __future__ import annotations

import json

import pytest

import lakekit as lk
from lakekit import deploy, local, nbval_check, notebook_checks, workshop
from tests.conftest import Endpoint, free_port
from tests.exercises import test_solutions as solutions

pytestmark = pytest.mark.notebooks
# Not the default prefix: every notebook must take it from the environment (a parameters cell
# that hard-codes "lakekit" would silently switch to another stack). As long as "lakekit", the
# reference run's: nbval maps it back before comparing, and tables keep the reference's widths.
PREFIX = "lkother"


def _stdout(path) -> str:
    nb = json.loads(path.read_text())
    chunks = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            chunks.append("".join(out.get("text", "")))
            chunks.append("".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(chunks)


EXPECTED_OUTPUT = {
    "00_setup.ipynb": ["'Account': '123456789012'", "counted 1000 rows"],
    "01_deploy_infrastructure.ipynb": [
        "0 cfn-lint findings", "raw versioning:        Enabled", "analysts bytes cutoff:      10,485,760",
        f"landing -> Lambda:    arn:aws:lambda:us-east-1:123456789012:function:{PREFIX}-ingest"],
    "07_orchestrate_monitor.ipynb": ["SUCCEEDED @ PipelineSucceeded in", "Glue.AccessDeniedException", "rule: DISABLED"],
    "99_cleanup.ipynb": [f"0 resources with prefix '{PREFIX}' remain"],
}


@pytest.fixture
def workshop_endpoint(tmp_path, monkeypatch):
    """A private endpoint started with the workshop's time compression (what `make run` sets:
    notebook 07 waits for a schedule, an alarm period and the crawler loop)."""
    for key, value in workshop.WORKSHOP_TIME_KNOBS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAKEKIT_GLUE_PREWARM", "1")  # the endpoint's default (tests/conftest.py: 0)
    ep = Endpoint(tmp_path / "home", free_port())
    ep.start()
    yield ep
    ep.stop()


@pytest.mark.timeout(3600)  # nine notebooks twice; beside two other xdist workers it takes long
def test_every_notebook_twice_in_a_row(workshop_endpoint, monkeypatch, tmp_path):
    fresh_endpoint = workshop_endpoint
    for key, value in {"LAKEKIT_TARGET": "local", "LAKEKIT_HOME": str(fresh_endpoint.home),
                       "LAKEKIT_PORT": str(fresh_endpoint.settings.port), "LAKEKIT_PREFIX": PREFIX,
                       "LAKEKIT_REGION": "us-east-1"}.items():  # the reference outputs' region
        monkeypatch.setenv(key, value)
    books = workshop.notebooks()
    names = [p.name for p in books]
    assert names[0] == "00_setup.ipynb" and names[-1] == "99_cleanup.ipynb" and len(names) >= 8
    out_dir = tmp_path / "executed"
    for nb in books:
        first = workshop.run_notebook(nb, out_dir, html=True)
        # the re-run: nbval on the committed notebook, its tagged cells against the reference outputs
        second = nbval_check.run(nb, record=out_dir / f"{nb.stem}_rerun.ipynb", prefix=PREFIX)
        assert second.ok, second.summary()
        assert first.html is not None and first.html.stat().st_size > 10_000
        for output in (first.output, second.recorded):
            report = notebook_checks.check_notebook(output)
            assert report.ok, report.summary()
            text = _stdout(output)
            for expected in EXPECTED_OUTPUT.get(nb.name, []):
                assert expected in text, f"{output.name}: missing {expected!r}"
        if nb.name.startswith("06_"):  # the lake 00-06 built: every exercise's solution on it
            assert [ex for book in sorted(out_dir.glob("0[2-6]_*.ipynb")) if "_rerun" not in book.name
                    for ex in solutions.hints_missing(book)] == []
            lk.connect()
            solutions.check_all(deploy.outputs())
        if nb.name == "99_cleanup.ipynb":
            assert "stack: DOES_NOT_EXIST" in _stdout(second.recorded)
    assert local.status(fresh_endpoint.settings).running  # notebooks attach, never restart it
