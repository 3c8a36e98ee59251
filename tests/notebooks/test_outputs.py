"""lakekit.notebook_checks on small hand-made notebooks (each check: a passing and a failing case),
and lakekit.waiters.progress_bar in a real kernel (papermill): green, 100 %, one final line."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from lakekit.notebook_checks import check_notebook, cost_column, output_lines

VIEW = "application/vnd.jupyter.widget-view+json"


def code(source: str, *outputs: dict, tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {"tags": tags or []}, "outputs": list(outputs),
            "execution_count": 1}


def md(source: str) -> dict:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def frame(df: pd.DataFrame) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {},
            "data": {"text/html": df.to_html(), "text/plain": df.to_string()}}


def widget(model_id: str, text: str = "job x:   0%|          | 0/900") -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}, "text/plain": text}}


def png() -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}


def notebook(*cells: dict, widgets: dict | None = None) -> dict:
    nb = {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    if widgets is not None:
        nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": widgets}}
    return nb


def bar_state(box: str, progress: str, value: float, top: float, style: str) -> dict:
    return {box: {"model_name": "HBoxModel", "state": {"children": [f"IPY_MODEL_{progress}"]}},
            progress: {"model_name": "FloatProgressModel", "state": {"value": value, "max": top, "bar_style": style}}}


def checks(nb: dict) -> list[str]:
    return [f.check for f in check_notebook(nb).findings]


# ----------------------------------------------------------------------------- lengths
def test_code_cell_of_twenty_lines_passes_and_twenty_one_fails():
    ok = check_notebook(notebook(code("\n".join(["x = 1"] * 20))))
    assert ok.ok and ok.longest_code == (20, 0)
    long = check_notebook(notebook(md("# t"), code("\n".join(["x = 1"] * 21))))
    assert [(f.check, f.cell) for f in long.findings] == [("code-too-long", 1)]
    assert "21 lines (at most 20)" in long.findings[0].message


def test_papermill_injected_parameters_do_not_count():
    nb = notebook(code("\n".join(f"p{i} = {i}" for i in range(30)), tags=["injected-parameters"]))
    assert check_notebook(nb).ok


def test_output_length_counts_stream_lines_and_table_rows():
    assert check_notebook(notebook(code("print()", stream("a\n" * 25)))).ok
    assert checks(notebook(code("print()", stream("a\n" * 26)))) == ["output-too-long"]
    small, big = pd.DataFrame({"a": range(24)}), pd.DataFrame({"a": range(30)})
    assert output_lines(frame(small)) == 25  # the header row and 24 rows
    assert output_lines(frame(pd.DataFrame({"a": range(23)}).set_index("a").assign(b=1))) == 25  # + index name
    report = check_notebook(notebook(code("df", frame(big))))
    assert [f.check for f in report.findings] == ["output-too-long"] and report.longest_output == (31, 0)


def test_a_progress_line_over_carriage_returns_counts_once():
    assert output_lines(stream("10%\r50%\r100%\n")) == 1


# ----------------------------------------------------------------------------- stderr, noise
def test_anything_on_stderr_is_a_finding():
    assert check_notebook(notebook(code("print(1)", stream("1\n")))).ok
    report = check_notebook(notebook(code("warn()", stream("FutureWarning: x\n", "stderr"))))
    assert [f.check for f in report.findings] == ["stderr"] and "FutureWarning" in report.findings[0].message


def test_spark_and_log4j_lines_are_noise_even_on_stdout():
    for line in ('Setting default log level to "WARN".\n',
                 "26/12/02 01:48:34 WARN NativeCodeLoader: Unable to load native-hadoop library\n",
                 "[Stage 0:>                    (0 + 1) / 1]"):
        assert checks(notebook(code("spark()", stream(line)))) == ["spark-noise"], line
    assert check_notebook(notebook(code("x", stream("[etl] flights: 336,776 rows in\n")))).ok


def test_error_outputs_are_findings():
    err = {"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": ["KeyError"]}
    assert checks(notebook(code("d['x']", err))) == ["error"]


# ----------------------------------------------------------------------------- progress bars
def test_a_bar_with_its_final_line_and_a_green_full_state_passes():
    nb = notebook(code("wait()", widget("box"), stream("✓ job x: SUCCEEDED after 12.0 s\n")),
                  widgets=bar_state("box", "p", 900, 900, "success"))
    report = check_notebook(nb)
    assert report.ok and report.bars == 1


def test_a_bar_without_its_final_line_shows_zero_percent_statically():
    report = check_notebook(notebook(code("wait()", widget("box"), stream("done\n"))))
    assert [f.check for f in report.findings] == ["progress-not-done"]
    assert "1 progress bar(s) but 0 final text line(s)" in report.findings[0].message


@pytest.mark.parametrize("value, top, style", [(12, 900, "success"), (900, 900, "danger"), (900, 900, "")])
def test_a_bar_left_short_or_not_green_fails(value, top, style):
    nb = notebook(code("wait()", widget("box"), stream("✓ job x: SUCCEEDED\n")),
                  widgets=bar_state("box", "p", value, top, style))
    report = check_notebook(nb)
    assert [f.check for f in report.findings] == ["progress-not-done"]
    assert f"ended at {value:g}/{top:g}" in report.findings[0].message


def test_a_text_mode_tqdm_bar_is_a_finding():
    nb = notebook(code("upload()", stream("upload: 100%|##########| 3/3 [00:01<00:00]\n", "stdout")))
    assert checks(nb) == ["progress-not-done"]


# ----------------------------------------------------------------------------- plots
def test_a_plot_needs_axis_labels():
    assert checks(notebook(code("counts.plot.bar(title='flights')", png()))) == ["plot-unlabelled"]
    assert check_notebook(notebook(code("ax = counts.plot.bar()\nax.set(ylabel='flights')", png()))).ok


# ----------------------------------------------------------------------------- markdown
def test_a_number_in_markdown_must_be_shown_by_an_output():
    shown = notebook(md("The year has **336,776** flights."), code("len(df)", stream("336776\n")))
    assert check_notebook(shown).ok
    also_formatted = notebook(md("336,776 flights"), code("x", stream("336,776 rows\n")))
    assert check_notebook(also_formatted).ok
    report = check_notebook(notebook(md("The year has 336,776 flights."), code("len(df)", stream("336775\n"))))
    assert [f.check for f in report.findings] == ["markdown-number"] and "336,776" in report.findings[0].message


def _comparison_table(csv_cost: float, pq_cost: float) -> dict:
    """The table notebook 06 shows after the CSV vs Parquet question (QueryStats.as_dict rows)."""
    rows = pd.DataFrame([{"query_id": "a", "state": "SUCCEEDED", "workgroup": "engineers", "scanned_bytes": 31_000_000,
                          "scanned": "29.6 MB", "cost_usd": csv_cost, "engine_ms": 900},
                         {"query_id": "b", "state": "SUCCEEDED", "workgroup": "engineers", "scanned_bytes": 1_300_000,
                          "scanned": "1.2 MB", "cost_usd": pq_cost, "engine_ms": 300}],
                        index=["raw CSV", "Parquet, partitioned"])
    return frame(rows)


def test_cost_column_reads_the_dataframe_html():
    assert cost_column(_comparison_table(0.000143, 0.0000477)) == [0.000143, 0.000048]  # as pandas shows them
    assert cost_column(stream("no table")) == []


def test_notebook_06_statement_both_queries_cost_the_same_is_refuted_by_its_table():
    claim = md("Both queries cost the same here — Athena bills at least 10 MB per query")
    wrong = check_notebook(notebook(code("pd.DataFrame(...)", _comparison_table(0.000143, 0.0000477)), claim))
    assert [f.check for f in wrong.findings] == ["markdown-claim"]
    assert "differ by 3.0x" in wrong.findings[0].message
    same = check_notebook(notebook(code("pd.DataFrame(...)", _comparison_table(0.0000477, 0.0000477)), claim))
    assert same.ok
    unproven = check_notebook(notebook(code("x", stream("1\n")), claim))
    assert [f.check for f in unproven.findings] == ["markdown-claim"]


def test_the_notebook_06_source_no_longer_claims_equal_costs():
    from lakekit.workshop import NOTEBOOKS

    nb = json.loads((NOTEBOOKS / "06_query_athena.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "cost the same" not in text


# ----------------------------------------------------------------------------- a real kernel
def _execute(tmp_path, source: str) -> dict:
    import nbformat
    import papermill as pm

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    pm.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        progress_bar=False, log_output=False, cwd=str(tmp_path))
    return json.loads((tmp_path / "out.ipynb").read_text())


@pytest.mark.timeout(300)
def test_progress_bar_in_a_kernel_ends_green_at_100_with_one_line(tmp_path):
    nb = _execute(tmp_path, "from lakekit.waiters import progress_bar, wait_for\n"
                            "def work():\n"
                            "    with progress_bar(total=4, desc='files', unit='file') as bar:\n"
                            "        bar.update(4)\n"
                            "    with progress_bar(total=0, desc='none', unit='file'):\n"
                            "        pass  # nothing to wait for (a re-run): still done, at 100 %\n"
                            "    states = iter(['BUSY', 'DONE'])\n"
                            "    wait_for(lambda: next(states), str, {'DONE'}, timeout=60, interval=0, desc='job j')\n"
                            "work()  # the bars are garbage once it returns: their state must survive\n")
    report = check_notebook(nb)
    assert report.ok, report.summary()
    assert report.bars == 3
    lines = [o["text"] for o in nb["cells"][0]["outputs"] if o["output_type"] == "stream"]
    text = "".join("".join(t) for t in lines)
    assert "✓ files: 100% (4/4 file) in" in text and "✓ job j: DONE after" in text
    styles = [m["state"].get("bar_style") for m in
              nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
              if m["model_name"] == "FloatProgressModel"]
    assert styles == ["success", "success", "success"]


@pytest.mark.timeout(300)
def test_a_plain_tqdm_bar_and_a_failed_one_in_a_kernel_fail_the_check(tmp_path):
    nb = _execute(tmp_path, "from tqdm.auto import tqdm\nfrom lakekit.waiters import progress_bar\n"
                            "plain = tqdm(total=4, desc='plain')\nplain.update(4)\nplain.close()\n"
                            "try:\n"
                            "    with progress_bar(total=4, desc='broken', unit='file') as bar:\n"
                            "        bar.update(1)\n"
                            "        raise ValueError('disk full')\n"
                            "except ValueError:\n"
                            "    pass\n")
    findings = check_notebook(nb).findings
    assert [f.check for f in findings] == ["progress-not-done", "progress-not-done"], findings
    assert "ended at 1/4 with style 'danger'" in findings[0].message  # the failed bar is red, short
    assert "2 progress bar(s) but 1 final text line(s)" in findings[1].message  # plain tqdm: no line
    text = "".join("".join(o["text"]) for o in nb["cells"][0]["outputs"] if o["output_type"] == "stream")
    assert "✗ broken: stopped at 1/4 file" in text


# ----------------------------------------------------------------------------- make run
def test_run_all_prints_the_check_and_strict_fails_on_findings(tmp_path, monkeypatch, capsys):
    from lakekit import workshop

    bad = tmp_path / "05_x.ipynb"
    bad.write_text(json.dumps(notebook(code("warn()", stream("DeprecationWarning: y\n", "stderr")))))
    monkeypatch.setattr(workshop, "notebooks", lambda only=None: [bad])
    monkeypatch.setattr(workshop, "run_notebook", lambda nb, *a, **k: workshop.NotebookRun(nb.name, 1.0, bad, None))
    runs = workshop.run_all(html=False)
    assert [r.name for r in runs] == ["05_x.ipynb"]
    assert "1 finding(s):\n  cell 0: stderr: stderr says 'DeprecationWarning: y'" in capsys.readouterr().out
    with pytest.raises(workshop.NotebookFailed, match="05_x.ipynb ran, but its outputs have findings"):
        workshop.run_all(html=False, strict=True)
    bad.write_text(json.dumps(notebook(code("print(1)", stream("1\n")))))
    assert len(workshop.run_all(html=False, strict=True)) == 1
