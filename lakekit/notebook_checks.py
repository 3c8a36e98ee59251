"""Checks over an *executed* notebook: are its outputs honest and readable?

What an attendee (or a static rendering on GitHub, nbviewer, the HTML copies) sees must be
short, quiet and true. :func:`check_notebook` reads an executed ``.ipynb`` and reports

* ``code-too-long``: a code cell longer than ``max_code_lines`` (20) lines;
* ``output-too-long``: a cell whose outputs take more than ``max_output_lines`` (25) lines
  (a stream's lines, a table's rows as rendered, a repr's lines; a plot or a widget is 1);
* ``stderr`` / ``error``: anything on stderr, an error output;
* ``spark-noise``: log4j / Spark / Hadoop console lines in any output;
* ``progress-not-done``: a progress bar not closed as a success at 100 % (the widget state
  papermill stores), a text-mode tqdm bar in a stream, or a bar without its final text line
  (``✓ ...``, :data:`DONE_MARK`) in the same cell — without it a static rendering shows "0%";
* ``plot-unlabelled``: a cell that draws a plot but sets no axis label;
* ``markdown-number`` / ``markdown-claim``: a number a markdown cell states that no output of
  the notebook shows, and the registered comparisons (:data:`CLAIMS`) an output contradicts.

Example::

    >>> from lakekit.notebook_checks import check_notebook        # doctest: +SKIP
    >>> report = check_notebook("build/notebooks/06_query_athena.ipynb")  # doctest: +SKIP
    >>> report.longest_code, report.longest_output, report.findings      # doctest: +SKIP
    ((14, 20), (29, 14), [])
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = ["DONE_MARK", "FAIL_MARK", "Finding", "Report", "Claim", "CLAIMS", "check_notebook",
           "output_lines", "cost_column", "check_all"]

log = logging.getLogger(__name__)

#: First character of the line a progress bar prints when it ends as a success
#: (:func:`lakekit.waiters.progress_bar`); ``FAIL_MARK`` when it ends otherwise.
DONE_MARK = "✓"
FAIL_MARK = "✗"

MAX_CODE_LINES = 20
MAX_OUTPUT_LINES = 25

#: Console lines of Spark, log4j, Hadoop and the JVM (the driver's log, not a result).
SPARK_NOISE = re.compile(
    r"log4j|SLF4J|Setting default log level to|sc\.setLogLevel|NativeCodeLoader|"
    r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (WARN|INFO|ERROR) |\[Stage \d+:|"
    r"Using Spark's default|WARNING: An illegal reflective access", re.MULTILINE)
#: A text-mode tqdm bar (tqdm without widgets writes these to stderr).
TEXT_BAR = re.compile(r"\d+%\|[^|\n]*\|")
_PLOT_CALL = re.compile(r"\.plot(\.\w+)?\(|plt\.(subplots|figure|bar|plot)\(|\.(barh|bar|hist|scatter|imshow)\(")
_AXIS_LABEL = re.compile(r"(x|y)label|set_(x|y)label")
#: A number as prose writes a measured value: thousands separators (336,776) — years,
#: prices and sizes of the workshop's own settings are not claims about the run.
_MD_NUMBER = re.compile(r"(?<![\w.$])(\d{1,3}(?:,\d{3})+)(?![\w,])")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@dataclass(frozen=True)
class Finding:
    """One violation: the ``check`` code, the ``cell`` index, what is wrong and what to do."""

    check: str
    cell: int
    message: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.check}: {self.message}"


@dataclass
class Report:
    """Outcome of :func:`check_notebook`; ``longest_*`` are ``(lines, cell index)``."""

    notebook: str
    longest_code: tuple[int, int] = (0, -1)
    longest_output: tuple[int, int] = (0, -1)
    bars: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        head = (f"{self.notebook}: longest code cell {self.longest_code[0]} lines (cell "
                f"{self.longest_code[1]}), longest output {self.longest_output[0]} lines (cell "
                f"{self.longest_output[1]}), {self.bars} progress bar(s)")
        if self.ok:
            return head + ", no findings"
        return head + f", {len(self.findings)} finding(s):\n" + "\n".join(f"  {f}" for f in self.findings)


# ----------------------------------------------------------------------------- tables in HTML
class _Table(HTMLParser):
    """The rows of the first ``<table>`` of a DataFrame's HTML: ``rows`` (header rows first)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self._depth += 1
        elif tag == "tr" and self._depth == 1:
            self.rows.append([])
        elif tag in ("td", "th") and self._depth == 1 and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html_rows(html: str) -> list[list[str]]:
    parser = _Table()
    parser.feed(html)
    return parser.rows


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _stream_lines(text: str) -> list[str]:
    """Lines as a terminal shows them: a carriage return overwrites the line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines]


def output_lines(output: dict[str, Any]) -> int:
    """How many lines one output takes when rendered (a plot or a widget counts 1)."""
    kind = output.get("output_type")
    if kind == "stream":
        return len(_stream_lines(_text(output.get("text", ""))))
    if kind == "error":
        return len(output.get("traceback", [])) or 1
    data = output.get("data", {})
    if _WIDGET_VIEW in data or any(k.startswith("image/") for k in data):
        return 1
    html = _text(data.get("text/html", ""))
    if "<table" in html:
        return len(_html_rows(html))
    return len(_text(data.get("text/plain", "")).splitlines())


def _all_text(output: dict[str, Any]) -> str:
    if output.get("output_type") == "stream":
        return _text(output.get("text", ""))
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", []))
    data = output.get("data", {})
    return _text(data.get("text/plain", "")) + "\n" + _text(data.get("text/html", ""))


def cost_column(output: dict[str, Any], column: str = "cost_usd") -> list[float]:
    """The values of ``column`` of a DataFrame shown by ``output`` (its HTML table); [] if none."""
    rows = _html_rows(_text(output.get("data", {}).get("text/html", "")))
    if not rows or column not in rows[0]:
        return []
    at = rows[0].index(column)
    # a DataFrame's header row has an empty corner cell the body rows fill with the index
    offset = 0 if len(rows[0]) == max(len(r) for r in rows[1:] or [rows[0]]) else 1
    values = []
    for row in rows[1:]:
        try:
            values.append(float(row[at + offset].replace(",", "").lstrip("$")))
        except (IndexError, ValueError):
            continue
    return values


# ----------------------------------------------------------------------------- markdown claims
@dataclass(frozen=True)
class Claim:
    """A statement a markdown cell may make, and how the outputs prove or refute it.

    ``pattern`` finds the statement in a markdown cell; ``check(cells, index)`` gets every
    cell and the markdown cell's index and returns what contradicts it ('' when it holds).
    """

    name: str
    pattern: re.Pattern[str]
    check: Callable[[list[dict[str, Any]], int], str]


def _same_cost(cells: list[dict[str, Any]], at: int) -> str:
    """'The queries cost the same': the nearest table with a ``cost_usd`` column above must agree."""
    for index in range(at - 1, -1, -1):
        for output in cells[index].get("outputs", []):
            costs = cost_column(output)
            if len(costs) >= 2:
                if max(costs) - min(costs) > 1e-12:
                    return (f"the table of cell {index} shows costs {costs}: they differ by "
                            f"{max(costs) / max(min(costs), 1e-300):.1f}x")
                return ""
    return "no table with a cost_usd column precedes it to prove it"


CLAIMS: list[Claim] = [
    Claim("same-cost", re.compile(r"(?i)\b(both|the two|these) (queries|runs) cost the same\b"), _same_cost),
]


# ----------------------------------------------------------------------------- the checker
def _widget_models(nb: dict[str, Any]) -> dict[str, dict[str, Any]]:
    state = nb.get("metadata", {}).get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    return {mid: m for mid, m in state.items() if isinstance(m, dict)}


def _bar_models(models: dict[str, dict[str, Any]], view_id: str) -> list[dict[str, Any]]:
    """The progress models inside the displayed widget ``view_id`` (a tqdm HBox)."""
    model = models.get(view_id)
    if model is None:
        return []
    if model.get("model_name", "").endswith("ProgressModel"):
        return [model.get("state", {})]
    found: list[dict[str, Any]] = []
    for child in model.get("state", {}).get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            found.extend(_bar_models(models, child[len("IPY_MODEL_"):]))
    return found


def _check_bars(index: int, outputs: list[dict[str, Any]], models: dict[str, dict[str, Any]],
                report: Report) -> None:
    views = [o["data"][_WIDGET_VIEW].get("model_id", "") for o in outputs
             if o.get("output_type") == "display_data" and _WIDGET_VIEW in o.get("data", {})]
    report.bars += len(views)
    for view in views:
        for bar in _bar_models(models, view):
            value, top, style = bar.get("value", 0), bar.get("max", 100), bar.get("bar_style", "")
            if style != "success" or value < top:
                report.findings.append(Finding(
                    "progress-not-done", index,
                    f"a progress bar ended at {value:g}/{top:g} with style {style or 'none'!r}: on "
                    "success set n = total and close it (lakekit.waiters.progress_bar does)"))
    done = sum(1 for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout"
               for line in _stream_lines(_text(o.get("text", "")))
               if line.startswith((DONE_MARK, FAIL_MARK)))
    if len(views) > done:
        report.findings.append(Finding(
            "progress-not-done", index,
            f"{len(views)} progress bar(s) but {done} final text line(s) starting with {DONE_MARK!r}: "
            "a static rendering shows such a bar at 0%; print its final state "
            "(lakekit.waiters.progress_bar prints it on close)"))
    for o in outputs:
        if o.get("output_type") == "stream" and TEXT_BAR.search(_text(o.get("text", ""))):
            report.findings.append(Finding(
                "progress-not-done", index,
                f"a text progress bar on {o.get('name')}: use lakekit.waiters.progress_bar "
                "(widgets in Jupyter, one final line)"))
            break


def _markdown_numbers(cells: list[dict[str, Any]], report: Report) -> None:
    shown = re.sub(r"[,\s\u2009\u202f_]", "", "\n".join(
        _all_text(o) for c in cells if c.get("cell_type") == "code" for o in c.get("outputs", [])))
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "markdown":
            continue
        source = _text(cell.get("source", ""))
        for number in _MD_NUMBER.findall(source):
            if number.replace(",", "") not in shown:
                report.findings.append(Finding(
                    "markdown-number", index,
                    f"the markdown states {number} but no output shows it: print it from the run "
                    "(or correct the text)"))
        for claim in CLAIMS:
            if claim.pattern.search(source):
                problem = claim.check(cells, index)
                if problem:
                    report.findings.append(Finding(
                        "markdown-claim", index, f"{claim.name}: {claim.pattern.search(source).group(0)!r} "
                        f"but {problem}: say what the run shows (or compute it in a cell)"))


def check_notebook(notebook: str | Path | dict[str, Any], *, max_code_lines: int = MAX_CODE_LINES,
                   max_output_lines: int = MAX_OUTPUT_LINES, name: str | None = None) -> Report:
    """Check an executed notebook (a path or its JSON as a dict); -> :class:`Report`."""
    if isinstance(notebook, dict):
        nb, label = notebook, name or "notebook"
    else:
        path = Path(notebook)
        nb, label = json.loads(path.read_text(encoding="utf-8")), name or path.name
    cells: list[dict[str, Any]] = nb.get("cells", [])
    models = _widget_models(nb)
    report = Report(label)
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        source = _text(cell.get("source", ""))
        n_code = len(source.rstrip("\n").splitlines())
        if "injected-parameters" not in tags:
            report.longest_code = max(report.longest_code, (n_code, index), key=lambda t: t[0])
            if n_code > max_code_lines:
                report.findings.append(Finding(
                    "code-too-long", index, f"{n_code} lines (at most {max_code_lines}): split the "
                    "cell, or move the mechanics into a function of lakekit"))
        outputs = cell.get("outputs", [])
        n_out = sum(output_lines(o) for o in outputs)
        report.longest_output = max(report.longest_output, (n_out, index), key=lambda t: t[0])
        if n_out > max_output_lines:
            report.findings.append(Finding(
                "output-too-long", index, f"{n_out} lines of output (at most {max_output_lines}): "
                "choose the columns, .head() the rows, summarize"))
        for o in outputs:
            kind = o.get("output_type")
            if kind == "stream" and o.get("name") == "stderr":
                first = _text(o.get("text", "")).strip().splitlines()[:1]
                report.findings.append(Finding(
                    "stderr", index, f"stderr says {first[0][:120] if first else ''!r}: silence or "
                    "fix its source (warnings, logging, Spark) so nothing lands on stderr"))
            elif kind == "error":
                report.findings.append(Finding(
                    "error", index, f"{o.get('ename')}: {str(o.get('evalue'))[:160]}"))
            noise = SPARK_NOISE.search(_all_text(o))
            if noise:
                report.findings.append(Finding(
                    "spark-noise", index, f"Spark/log4j console output ({noise.group(0)!r}): quiet "
                    "the logger (log4j2 level, spark.ui.showConsoleProgress=false)"))
        _check_bars(index, outputs, models, report)
        plots = any(k.startswith("image/") for o in outputs for k in o.get("data", {}))
        if plots and _PLOT_CALL.search(source) and not _AXIS_LABEL.search(source):
            report.findings.append(Finding(
                "plot-unlabelled", index, "a plot without axis labels: ax.set(xlabel=..., "
                "ylabel=...) with units (and a log scale when bars differ by orders of magnitude)"))
    _markdown_numbers(cells, report)
    return report


def check_all(paths: Iterable[str | Path], **kwargs: Any) -> list[Report]:
    """:func:`check_notebook` over several executed notebooks."""
    return [check_notebook(p, **kwargs) for p in paths]
