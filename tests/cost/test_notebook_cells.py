"""The cost cells sit where the merge plan puts them: the last two cells of 01-06, and in 99
right after its setup cell, before anything is torn down (afterwards the history is gone)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
STEPS = ["01_deploy_infrastructure", "02_ingest", "03_transform_glue", "04_catalog_crawl",
         "05_govern_lakeformation", "06_query_athena"]


def cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("name", STEPS)
def test_each_step_ends_with_its_cost_cell(name):
    nb = cells(name)
    md, code = nb[-2], nb[-1]
    assert (md["id"], code["id"]) == (f"cost-{name[:2]}-md", f"cost-{name[:2]}-code")
    assert md["cell_type"] == "markdown" and "".join(md["source"]).startswith("## Cost of this step")
    src = "".join(code["source"])
    assert code["cell_type"] == "code" and "cost.running_total()" in src and "print(step.line)" in src
    assert src.rstrip().endswith("step.table()")
    # costs come from the run's measured durations: shown as the reference run's, never compared
    assert "nbval-check-output" not in code["metadata"].get("tags", [])
    assert sum(c.get("id", "").startswith("cost-") for c in nb) == 2


def test_cleanup_costs_the_run_before_the_teardown():
    nb = cells("99_cleanup")
    ids = [c.get("id", "") for c in nb]
    setup = next(i for i, c in enumerate(nb) if "cfg = lk.connect" in "".join(c["source"]))
    teardown = next(i for i, c in enumerate(nb)
                    if c["cell_type"] == "code" and "deploy.teardown()" in "".join(c["source"]))
    assert ids[setup + 1:setup + 3] == ["cost-99-md", "cost-99-code"] and setup + 2 < teardown
    assert "cost.summary()" in "".join(nb[setup + 2]["source"])
