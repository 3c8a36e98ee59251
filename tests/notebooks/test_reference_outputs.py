"""The reference outputs the notebooks ship with, and the nbval re-run that checks them (fast:
no workshop notebook runs here; nbval runs on tiny notebooks in a subprocess)."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakekit import nbval_check, notebook_checks, workshop
from lakekit import reference_outputs as ro

ROOT = Path(__file__).resolve().parents[2]
VIEW = "application/vnd.jupyter.widget-view+json"
BOOKS = workshop.notebooks()


def code(source: str, *outputs: dict, tags: list[str] | None = None, cell_id: str = "", count=None) -> dict:
    return {"cell_type": "code", "id": cell_id or f"c{abs(hash(source)) % 10**8}", "source": source,
            "metadata": {"tags": tags or []}, "outputs": list(outputs), "execution_count": count}


def stream(text, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def notebook(*cells: dict, **meta) -> dict:
    return {"cells": list(cells), "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         **meta}}


def write(path: Path, nb: dict) -> Path:
    path.write_text(ro.dumps(nb), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- nbval on tiny notebooks
CHECKED = 'print(6 * 7)\nprint(f"run at {__import__(\'datetime\').datetime.now().isoformat()} in 1.25 s")'
PREFIXED = 'import os\nprint(os.environ["LAKEKIT_PREFIX"] + "-datalake")'
VARYING = "import random\nprint(random.random())"


def tiny(answer: str) -> dict:
    return notebook(
        code(CHECKED, stream(f"{answer}\nrun at 2026-01-02T03:04:05.678901 in 0.4 s\n"),
             tags=[ro.CHECK_TAG], cell_id="checked", count=1),
        code(PREFIXED, stream("lakekit-datalake\n"), tags=[ro.CHECK_TAG], cell_id="prefixed", count=2),
        code(VARYING, stream("0.123\n"), cell_id="unmarked", count=3))


def test_nbval_fails_a_tagged_cell_whose_committed_output_is_wrong_and_passes_the_right_one(tmp_path):
    env = {**__import__("os").environ, "LAKEKIT_PREFIX": "lkother"}
    wrong = nbval_check.run(write(tmp_path / "wrong.ipynb", tiny("41")), env=env, timeout=300)
    assert not wrong.ok and wrong.returncode == 1, wrong.output
    assert "Cell outputs differ" in wrong.output and "41" in wrong.output and "42" in wrong.output
    assert "wrong.ipynb: nbval failed (exit 1)" in wrong.summary()

    record = tmp_path / "right_rerun.ipynb"
    right = nbval_check.run(write(tmp_path / "right.ipynb", tiny("42")), env=env, record=record, timeout=300)
    # the timestamp and the duration are sanitized, the prefix lkother maps back to lakekit, the
    # unmarked cell's random number is not compared
    assert right.ok, right.output
    assert right.summary().startswith("right.ipynb: nbval 3 passed"), right.summary()
    seen = json.loads(record.read_text(encoding="utf-8"))
    texts = ["".join(o["text"]) for c in seen["cells"] for o in c["outputs"]]
    assert texts[0].startswith("42\nrun at ") and texts[1] == "lkother-datalake\n" and texts[2] != "0.123\n"
    assert [c["execution_count"] for c in seen["cells"]] == [1, 2, 3]
    assert notebook_checks.check_notebook(record).ok


def test_without_the_prefix_rule_the_other_prefix_is_a_difference(tmp_path):
    env = {**__import__("os").environ, "LAKEKIT_PREFIX": "lkother"}
    run = nbval_check.run(write(tmp_path / "nb.ipynb", tiny("42")), env=env, prefix="lakekit", timeout=300)
    assert not run.ok and "lkother-datalake" in run.output


def test_prefix_rules_map_only_the_whole_prefix():
    [(regex, replace)] = nbval_check.prefix_rules("lkother")
    text = "lkother-raw lkother_lake prefix='lkother' lkotherx xlkother"
    assert ro.sanitize(text, [(regex, replace)]) == "lakekit-raw lakekit_lake prefix='lakekit' lkotherx xlkother"
    assert nbval_check.prefix_rules("lakekit") == []


def test_the_test_collection_never_collects_notebooks_and_nbval_lax_does():
    def collect(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                               *args, "notebooks"], cwd=ROOT, capture_output=True, text=True, timeout=120)

    plain = collect()
    assert plain.returncode == 5 and "no tests collected" in plain.stdout, plain.stdout + plain.stderr
    lax = collect("--nbval-lax")
    cells = sum(c["cell_type"] == "code" for p in BOOKS for c in json.loads(p.read_text())["cells"])
    assert lax.returncode == 0 and f"{cells} tests collected" in lax.stdout, lax.stdout[-2000:]


# ----------------------------------------------------------------------------- the committed notebooks
@pytest.mark.parametrize("path", BOOKS, ids=[p.name for p in BOOKS])
def test_committed_notebook_outputs_are_small_and_checkable(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert ro.problems(nb, path.name) == []
    assert path.read_text(encoding="utf-8") == ro.dumps(nb)  # the project's JSON form
    tagged = [c for c in nb["cells"] if ro.CHECK_TAG in c["metadata"].get("tags", [])]
    assert tagged, f"{path.name}: no cell tagged {ro.CHECK_TAG}"
    assert all(c["outputs"] and c["execution_count"] for c in tagged)
    # every code cell shows what the reference run printed (the parameters cell prints nothing)
    silent = [c["id"] for c in nb["cells"] if c["cell_type"] == "code" and c["execution_count"] is None]
    assert silent == []
    # what a static rendering shows passes the same output checks as the executed copy
    report = notebook_checks.check_notebook(nb, name=path.name)
    assert report.ok, report.summary()


def test_committed_notebooks_stay_small_together():
    sizes = {p.name: p.stat().st_size for p in BOOKS}
    assert max(sizes.values()) <= ro.MAX_NOTEBOOK_BYTES and sum(sizes.values()) < 6 * ro.MAX_NOTEBOOK_BYTES, sizes
    text = "".join(p.read_text(encoding="utf-8") for p in BOOKS)
    assert "image/png" not in text and "image/svg+xml" not in text and VIEW not in text
    assert "widget-state" not in text and '"papermill"' not in text


# ----------------------------------------------------------------------------- sanitize rules
def test_the_sanitize_file_is_read_as_nbval_reads_it_and_levels_what_runs_vary_in():
    from nbval.plugin import get_sanitize_patterns

    rules = ro.sanitize_rules()
    assert rules == get_sanitize_patterns(ro.SANITIZE.read_text(encoding="utf-8")) and len(rules) >= 6
    first = ("✓ lakekit-datalake: 100% (35/35 resource) in 1.3 s, CREATE_COMPLETE\n"
             "airlines/ingest_date=2026-12-02/airlines.csv 'ingest-time': '2026-12-02T05:35:14Z'\n"
             "query 3f2c0a7e-61b5-4c1d-9a1e-0d2f7c9b8a11 run jr_0123456789abcdef0123 at http://127.0.0.1:4810\n"
             "state in /tmp/pytest-of-root/pytest-7/home, export LAKEKIT_PORT=4810\n"
             "b925c7f6… SUCCEEDED; StartJobRun -> jr_33c0d934157eb9aba…")
    second = ("✓ lakekit-datalake: 100% (35/35 resource) in 12 s, CREATE_COMPLETE\n"
              "airlines/ingest_date=2027-01-15/airlines.csv 'ingest-time': '2027-01-15T23:01:59Z'\n"
              "query 9d8e7f60-0000-4abc-8def-111111111111 run jr_fedcba9876543210fedc at http://127.0.0.1:39123\n"
              "state in /tmp/lakekit-x/home, export LAKEKIT_PORT=39123\n"
              "7f452dc9… SUCCEEDED; StartJobRun -> jr_2fe8ce044479d8a15…")
    assert ro.sanitize(first, rules) == ro.sanitize(second, rules)
    # what the data says is kept: its 2013 dates, counts, names
    data = "2013-01-01 05:00:00 flights/2013-01.csv 336,776 rows, 35/35 resource, 26,115 records"
    assert ro.sanitize(data, rules) == data
    assert ro.sanitize("landed 69 = raw 68 + quarantined 1", rules) != ro.sanitize("landed 70 = raw 68 + quarantined 2", rules)


# ----------------------------------------------------------------------------- copying outputs
WIDGET_STATE = {"application/vnd.jupyter.widget-state+json": {"state": {"m1": {"model_name": "HBoxModel"}}}}


def executed_pair() -> tuple[dict, dict]:
    """A source notebook and its executed copy (papermill metadata, widgets, images, html)."""
    source = notebook(
        {"cell_type": "markdown", "id": "md", "source": "# Title", "metadata": {}},
        code("x = 1", tags=["parameters"], cell_id="params"),
        code("show()", cell_id="plot"),
        code("frame", tags=[ro.CHECK_TAG], cell_id="table"),
        code("frame2", cell_id="table2"),
        code("bar()", cell_id="bar"))
    executed = copy.deepcopy(source)
    executed["metadata"]["papermill"] = {"start_time": "2026-12-02T05:35:11", "duration": 3.2}
    executed["metadata"]["widgets"] = WIDGET_STATE
    for count, cell in enumerate(executed["cells"][1:], start=1):
        cell["execution_count"] = count
        cell["metadata"]["papermill"] = {"duration": 0.1 * count, "status": "completed"}
        cell["metadata"]["execution"] = {"iopub.execute_input": "2026-12-02T05:35:11.1Z"}
    html = {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "   a\n0  1"}
    executed["cells"][2]["outputs"] = [
        {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": "<svg/>",
                                                                 "text/plain": "<IPython.core.display.SVG object>"}},
        {"output_type": "display_data", "metadata": {"needs_background": "light"},
         "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"}}]
    executed["cells"][3]["outputs"] = [{"output_type": "execute_result", "execution_count": 3, "metadata": {},
                                        "data": dict(html)}]
    executed["cells"][4]["outputs"] = [{"output_type": "execute_result", "execution_count": 4, "metadata": {},
                                        "data": dict(html)}]
    executed["cells"][5]["outputs"] = [
        {"output_type": "display_data", "metadata": {}, "data": {VIEW: {"model_id": "m1"}, "text/plain": "bar:   0%"}},
        stream(["step 1\r", "step 2\n"]), stream("✓ bar: 100% (3/3) in 0.2 s\n")]
    return source, executed


def test_outputs_are_copied_small_and_the_rest_of_the_notebook_is_kept():
    source, executed = executed_pair()
    result = ro.with_outputs(source, executed, "pair.ipynb")
    assert result["metadata"] == source["metadata"]
    assert [(c["id"], c["source"], c["metadata"]) for c in result["cells"]] == \
        [(c["id"], c["source"], c["metadata"]) for c in source["cells"]]
    cells = {c["id"]: c for c in result["cells"]}
    assert cells["params"]["outputs"] == [] and cells["params"]["execution_count"] == 1
    assert cells["plot"]["outputs"] == []  # an SVG and a PNG: nothing but their bare reprs left
    # a table keeps its HTML (what nbval compares in a tagged cell, what renderings show) and text
    for table in ("table", "table2"):
        assert cells[table]["outputs"][0]["data"] == {
            "text/html": ["<table><tr><td>1</td></tr></table>"], "text/plain": ["   a\n", "0  1"]}
    assert cells["bar"]["outputs"] == [stream(["step 2\n", "✓ bar: 100% (3/3) in 0.2 s\n"])]
    assert ro.problems(result, "pair.ipynb") == []
    assert ro.problems(executed, "executed.ipynb")  # papermill metadata, widgets, images: unfit
    # idempotent, and the outputs come off again as they were
    assert ro.with_outputs(result, executed, "pair.ipynb") == result
    assert ro.without_outputs(result) == source


def test_an_executed_copy_older_than_the_notebook_is_refused():
    source, executed = executed_pair()
    edited = copy.deepcopy(source)
    edited["cells"][3]["source"] = "frame.head()"
    with pytest.raises(ValueError, match=r"cell 3 \(table\) was edited after the executed copy"):
        ro.with_outputs(edited, executed, "pair.ipynb")
    edited["cells"].pop()
    with pytest.raises(ValueError, match="other cells than the notebook"):
        ro.with_outputs(edited, executed, "pair.ipynb")


def test_refresh_writes_the_notebooks_once_then_changes_nothing(tmp_path):
    source, executed = executed_pair()
    folder, build = tmp_path / "notebooks", tmp_path / "build"
    folder.mkdir()
    build.mkdir()
    write(folder / "00_pair.ipynb", source)
    (build / "00_pair.ipynb").write_text(json.dumps(executed), encoding="utf-8")
    assert ro.refresh(build=build, folder=folder) == [folder / "00_pair.ipynb"]
    once = (folder / "00_pair.ipynb").read_text(encoding="utf-8")
    assert ro.refresh(build=build, folder=folder) == []
    assert (folder / "00_pair.ipynb").read_text(encoding="utf-8") == once == ro.dumps(json.loads(once))
    (build / "00_pair.ipynb").unlink()
    with pytest.raises(ValueError, match="no executed copy .* of 00_pair.ipynb"):
        ro.refresh(build=build, folder=folder)


def test_a_tagged_cell_with_a_progress_bar_is_refused():
    source, executed = executed_pair()
    source["cells"][5]["metadata"]["tags"] = [ro.CHECK_TAG]
    with pytest.raises(ValueError, match=r"cell 5 \(bar\) is tagged nbval-check-output but shows a progress bar"):
        ro.with_outputs(source, executed, "pair.ipynb")


def test_a_tagged_cell_without_outputs_or_with_an_svg_is_a_problem():
    nb = notebook(code("x", tags=[ro.CHECK_TAG], cell_id="empty"),
                  code("y", {"output_type": "display_data", "metadata": {},
                             "data": {"image/svg+xml": ["<svg/>"], "text/plain": ["<SVG>"]}},
                       tags=[ro.CHECK_TAG], cell_id="svg", count=2))
    found = ro.problems(nb)
    assert any("cell 0 (empty): tagged nbval-check-output but has no committed outputs" in f for f in found)
    assert any("cell 1 (svg): an SVG in a nbval-check-output cell" in f for f in found)
    assert any("at most 10" in f for f in ro.problems(nb, max_bytes=10))


def test_unstable_cells_are_those_whose_outputs_differ_beyond_the_sanitize_rules():
    a = notebook(code("t", stream("done in 1.2 s at 2026-12-02T05:35:14Z\n"), cell_id="t", count=1),
                 code("n", stream("landed 69\n"), cell_id="n", count=2))
    b = copy.deepcopy(a)
    b["cells"][0]["outputs"] = [stream("done in 3 s at 2026-12-02T06:01:00Z\n")]
    assert ro.unstable_cells(a, b) == []
    b["cells"][1]["outputs"] = [stream("landed 70\n")]
    assert ro.unstable_cells(a, b) == [1]
