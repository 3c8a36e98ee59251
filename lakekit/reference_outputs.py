"""Reference outputs: what a reference run showed, copied into the committed notebooks, small.

The notebooks ship with the outputs of a reference run (``python -m lakekit.workshop`` on a
fresh local endpoint, default prefix), so GitHub, nbviewer and an attendee opening JupyterLab
see what each cell prints before running it. The cells tagged :data:`CHECK_TAG`
(``nbval-check-output``) are the deterministic ones — truth tables, row accounting,
reconciliation, schemas, the governance side by side: the notebook test re-runs every
committed notebook under nbval (``--nbval-lax``, :mod:`lakekit.nbval_check`), which compares
their outputs with the committed ones, so a change that alters what attendees see fails.

:func:`refresh` copies the outputs of executed copies (``build/notebooks/NN.ipynb``) into
``notebooks/NN.ipynb`` and keeps them small (:func:`small_outputs`): streams merged as a
terminal shows them, text and tables only (no images, no SVG, no widget views), no widget
state, no papermill metadata or timestamps. A DataFrame keeps its HTML table beside its text:
static renderings then show it as JupyterLab does (its text form wraps wide frames, making
outputs longer than the 25 lines :mod:`lakekit.notebook_checks` allows).
Cell sources, ids and tags are never changed; refreshing twice changes nothing.

Example::

    python -m lakekit.workshop --out build/notebooks   # a reference run (fresh endpoint)
    python -m lakekit.reference_outputs                # copy its outputs into notebooks/
    python -m lakekit.reference_outputs --check        # the committed notebooks are small
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

from lakekit.exceptions import LakekitError

__all__ = ["CHECK_TAG", "SANITIZE", "MAX_NOTEBOOK_BYTES", "small_outputs", "with_outputs",
           "without_outputs", "refresh", "problems", "sanitize_rules", "sanitize", "dumps",
           "unstable_cells", "reference_run", "main"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build" / "notebooks"

#: The cell tag nbval reads under ``--nbval-lax``: this cell's outputs must match the committed ones.
CHECK_TAG = "nbval-check-output"
#: Regex replacements nbval applies to both sides before comparing (run ids, times, ports...).
SANITIZE = NOTEBOOKS / "nbval_sanitize.cfg"
#: Upper bound of one committed notebook with its reference outputs (sources are 9-33 kB today).
MAX_NOTEBOOK_BYTES = 120_000

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Keys nbval never compares (``IPyNbFile.skip_compare``): dropped from checked cells too.
_NBVAL_SKIPS = {_WIDGET_VIEW, "image/png", "image/jpeg"}
#: The repr an object without a text form prints (``<IPython.core.display.SVG object>``).
_BARE_REPR = re.compile(r"<[^<>\n]*>")
#: nbval's rule for a stream (``coalesce_streams``): a line overwritten by a carriage return goes.
_CR = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _terminal(text: str) -> str:
    """A stream as nbval compares it: what a carriage return overwrote is gone."""
    return _CR.sub("", text)


def _lines(text: str) -> list[str]:
    """nbformat's multi-line string form: a list of lines, each keeping its newline."""
    return text.splitlines(keepends=True)


def _mime(key: str, value: Any) -> Any:
    """One MIME value in nbformat's form: text as a list of lines, JSON as it is."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "".join(value)
    if isinstance(value, str) and (key.startswith("text/") or key == "image/svg+xml"):
        return _lines(value)
    return value


def small_outputs(outputs: list[dict[str, Any]], checked: bool) -> list[dict[str, Any]]:
    """The outputs to commit for one cell (new dicts; ``outputs`` is not changed).

    Streams of one name merge into one output in place of the first, with carriage returns
    applied (as nbval and a terminal show them). An unmarked cell keeps text and HTML: images,
    SVG and widget views go, and a display left with nothing but an object's bare repr
    (``<Figure size 640x480 with 1 Axes>``) goes.
    A ``checked`` cell keeps every key nbval compares (the live run produces them: a missing one
    fails the comparison), dropping only what nbval skips (widget views, PNG, JPEG).
    """
    kept: list[dict[str, Any]] = []
    streams: dict[str, dict[str, Any]] = {}
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            name = out.get("name", "stdout")
            if name in streams:
                streams[name]["text"] += _text(out.get("text", ""))
            else:
                streams[name] = {"output_type": "stream", "name": name, "text": _text(out.get("text", ""))}
                kept.append(streams[name])
            continue
        if kind == "error":
            kept.append({"output_type": "error", "ename": out.get("ename", ""),
                         "evalue": out.get("evalue", ""), "traceback": list(out.get("traceback", []))})
            continue
        data = dict(out.get("data", {}))
        if checked:
            data = {k: v for k, v in data.items() if k not in _NBVAL_SKIPS}
        else:
            if _WIDGET_VIEW in data:
                continue  # a progress bar: its final text line is in the stream beside it
            data = {k: v for k, v in data.items() if not k.startswith("image/")}
            plain = _text(data.get("text/plain", "")).strip()
            if set(data) <= {"text/plain"} and (not plain or _BARE_REPR.fullmatch(plain)):
                continue
        if not data:
            continue
        node: dict[str, Any] = {"output_type": kind,
                                "data": {k: _mime(k, v) for k, v in sorted(data.items())}, "metadata": {}}
        if kind == "execute_result":
            node["execution_count"] = out.get("execution_count")
        kept.append(node)
    for stream in streams.values():
        stream["text"] = _lines(_terminal(stream["text"]))
    return [dict(sorted(out.items())) for out in kept]  # keys sorted, as Jupyter saves them


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def with_outputs(source: dict[str, Any], executed: dict[str, Any], name: str = "notebook") -> dict[str, Any]:
    """``source`` (a committed notebook) with the outputs and execution counts of ``executed``.

    Cells are matched one to one by id and must have the same source: an executed copy older
    than the notebook raises :class:`ValueError` naming the first cell that differs. Everything
    else of ``source`` (cell sources, ids, tags, metadata) is kept as it is.
    """
    src_cells, run_cells = source.get("cells", []), executed.get("cells", [])
    if [c.get("id") for c in src_cells] != [c.get("id") for c in run_cells]:
        raise ValueError(f"{name}: the executed copy has other cells than the notebook (ids differ): "
                         "run the notebook again (python -m lakekit.workshop --only NN), then refresh")
    result = copy.deepcopy(source)
    for index, (cell, ran) in enumerate(zip(result["cells"], run_cells, strict=True)):
        if _text(cell.get("source", "")) != _text(ran.get("source", "")):
            raise ValueError(f"{name}: cell {index} ({cell.get('id')}) was edited after the executed "
                             "copy was made: run the notebook again (python -m lakekit.workshop "
                             "--only NN), then refresh")
        if cell.get("cell_type") != "code":
            continue
        checked = CHECK_TAG in _tags(cell)
        if checked and any(_WIDGET_VIEW in o.get("data", {}) for o in ran.get("outputs", [])):
            raise ValueError(f"{name}: cell {index} ({cell.get('id')}) is tagged {CHECK_TAG} but shows a "
                             "progress bar: nbval would compare (and the notebook show) the bar's 0% "
                             "text; remove the tag, or move what it checks into a cell without a bar")
        cell["outputs"] = small_outputs(ran.get("outputs", []), checked)
        cell["execution_count"] = ran.get("execution_count")
    return result


def without_outputs(notebook: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``notebook`` with no outputs and no execution counts (as it was before runs)."""
    result = copy.deepcopy(notebook)
    for cell in result.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return result


def dumps(notebook: dict[str, Any]) -> str:
    """The committed JSON form of a notebook (deterministic, as the project writes notebooks)."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def refresh(only: list[str] | None = None, build: Path = BUILD, folder: Path = NOTEBOOKS) -> list[Path]:
    """Copy the outputs of ``build/NN.ipynb`` into ``folder/NN.ipynb``; -> the notebooks changed.

    Every notebook of ``folder`` (or those ``only`` names, by number or name) needs its executed
    copy in ``build``. A notebook whose result would not pass :func:`problems` is not written.
    """
    from lakekit.workshop import notebooks

    todo = notebooks(only, folder)
    if not todo:
        raise ValueError(f"no notebooks matched {only!r} in {folder}")
    missing = [p.name for p in todo if not (build / p.name).exists()]
    if missing:
        raise ValueError(f"no executed copy in {build} of {', '.join(missing)}: run "
                         f"python -m lakekit.workshop --out {build} first (a fresh endpoint)")
    changed = []
    for path in todo:
        before = path.read_text(encoding="utf-8")
        executed = json.loads((build / path.name).read_text(encoding="utf-8"))
        result = with_outputs(json.loads(before), executed, path.name)
        found = problems(result, path.name)
        if found:
            raise ValueError(f"{path.name}: the reference outputs are not fit to commit:\n  "
                             + "\n  ".join(found))
        text = dumps(result)
        if text != before:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
            log.info("reference outputs of %s refreshed from %s", path.name, build / path.name)
    return changed


def problems(notebook: dict[str, Any], name: str = "notebook",
             max_bytes: int = MAX_NOTEBOOK_BYTES) -> list[str]:
    """What makes a committed notebook's outputs unfit: [] when they are small and checkable.

    Too big; widget state or papermill/timing metadata; an image, SVG or widget view in an
    unmarked cell; a marked cell without outputs or execution count (nbval
    would skip or reject it), or one with what nbval cannot compare across runs (widgets, SVG).
    """
    found = []
    size = len(dumps(notebook).encode("utf-8"))
    if size > max_bytes:
        found.append(f"{size:,} bytes (at most {max_bytes:,}): shorten the outputs of its longest cells")
    meta = notebook.get("metadata", {})
    for key in ("widgets", "papermill"):
        if key in meta:
            found.append(f"notebook metadata {key!r}: refresh with python -m lakekit.reference_outputs "
                         "(it keeps the notebook's own metadata)")
    for index, cell in enumerate(notebook.get("cells", [])):
        where = f"cell {index} ({cell.get('id')})"
        for key in ("papermill", "execution"):
            if key in cell.get("metadata", {}):
                found.append(f"{where}: metadata {key!r} (times of a run): refresh to drop it")
        if cell.get("cell_type") != "code":
            continue
        checked = CHECK_TAG in _tags(cell)
        outputs = cell.get("outputs", [])
        if checked and (not outputs or cell.get("execution_count") is None):
            found.append(f"{where}: tagged {CHECK_TAG} but has no committed outputs: refresh the "
                         "reference outputs (or remove the tag)")
        if outputs and cell.get("execution_count") is None:
            found.append(f"{where}: outputs without an execution count (nbval rejects it): refresh")
        for out in outputs:
            data = out.get("data", {})
            if _WIDGET_VIEW in data:
                found.append(f"{where}: a widget view: refresh (progress bars are not committed)")
            images = sorted(k for k in data if k.startswith("image/"))
            if images and not checked:
                found.append(f"{where}: {', '.join(images)}: refresh (images are not committed)")
            if checked and "image/svg+xml" in data:
                found.append(f"{where}: an SVG in a {CHECK_TAG} cell: nbval compares it byte by byte; "
                             "remove the tag")
    return found


def sanitize_rules(path: Path = SANITIZE) -> list[tuple[str, str]]:
    """The ``regex:`` / ``replace:`` pairs of an nbval sanitize file, parsed as nbval parses it."""
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


def sanitize(text: str, rules: list[tuple[str, str]]) -> str:
    """``text`` after the rules, in order (nbval applies them to both sides of a comparison)."""
    for regex, replace in rules:
        text = re.sub(regex, replace, text)
    return text


def _comparable(outputs: list[dict[str, Any]], rules: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """What nbval compares of a cell's outputs: every key but its skips, sanitized."""
    def clean(value: Any) -> Any:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "".join(value)
        return sanitize(value, rules) if isinstance(value, str) else value

    found = []
    for out in small_outputs(outputs, checked=True):
        found.append({k: ({m: clean(v) for m, v in out["data"].items()} if k == "data" else clean(v))
                      for k, v in out.items() if k not in ("metadata", "execution_count", "traceback")})
    return found


def unstable_cells(first: dict[str, Any], second: dict[str, Any],
                   rules: list[tuple[str, str]] | None = None) -> list[int]:
    """Indexes of the code cells whose outputs differ between two runs, as nbval compares them."""
    rules = sanitize_rules() if rules is None else rules
    return [index for index, (a, b) in enumerate(zip(first["cells"], second["cells"], strict=True))
            if a.get("cell_type") == "code"
            and _comparable(a.get("outputs", []), rules) != _comparable(b.get("outputs", []), rules)]


def reference_run(out: Path = ROOT / "build" / "reference", only: list[str] | None = None,
                  folder: Path = NOTEBOOKS) -> dict[str, list[int]]:
    """Run every notebook twice in a row (as the notebook test does) into ``out/first`` and
    ``out/rerun``; -> per notebook, the tagged cells whose outputs differ between the two runs.

    Start it on a fresh endpoint (``make reference-outputs`` does): the first run is what
    attendees see, :func:`refresh` copies it; a tagged cell the re-run changes would fail nbval.
    """
    from lakekit.workshop import notebooks, run_notebook

    unstable = {}
    for path in notebooks(only, folder):
        print(f"[lakekit] reference run of {path.name} ...", flush=True)
        first = run_notebook(path, out / "first", html=False)
        second = run_notebook(path, out / "rerun", html=False)
        print(f"[lakekit]   {first.seconds:.0f} s, re-run {second.seconds:.0f} s", flush=True)
        a, b = (json.loads(r.output.read_text(encoding="utf-8")) for r in (first, second))
        tagged = {i for i, c in enumerate(a["cells"]) if CHECK_TAG in _tags(c)}
        unstable[path.name] = [i for i in unstable_cells(a, b) if i in tagged]
    return unstable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakekit.reference_outputs",
                                     description="Copy a reference run's outputs into notebooks/ (small).")
    parser.add_argument("--only", nargs="*", help="notebook numbers or names (default: all)")
    parser.add_argument("--from", dest="build", type=Path, default=BUILD,
                        help=f"folder of the executed copies (default {BUILD})")
    parser.add_argument("--check", action="store_true",
                        help="only check the committed notebooks (size, no images/widgets, marked cells)")
    parser.add_argument("--clear", action="store_true", help="remove every output from the notebooks")
    parser.add_argument("--run", type=Path, metavar="DIR",
                        help="first run every notebook twice on the endpoint of the environment into "
                             "DIR/first and DIR/rerun (a fresh one: make reference-outputs), fail if "
                             "a tagged cell differs, then refresh from DIR/first")
    args = parser.parse_args(argv)
    from lakekit.workshop import notebooks, workshop_environment

    try:
        if args.run is not None:
            from lakekit import local
            from lakekit.config import settings

            workshop_environment()  # before the endpoint starts (notebook 00 starts it)
            s = settings()
            started_here = s.is_local and not local.status(s).running
            try:
                found = reference_run(args.run, args.only)
            finally:
                if started_here:
                    local.down(s, quiet=True)
            unstable = {name: cells for name, cells in found.items() if cells}
            if unstable:
                print("[lakekit] reference outputs: tagged cells whose outputs the re-run changed "
                      f"(untag them, or sanitize what varies in {SANITIZE.name}): {unstable}", file=sys.stderr)
                return 1
            args.build = args.run / "first"
        if args.check:
            bad = {p.name: problems(json.loads(p.read_text(encoding="utf-8")), p.name)
                   for p in notebooks(args.only)}
            for name, found in bad.items():
                print(f"{name}: " + ("ok" if not found else "\n  " + "\n  ".join(found)))
            return 1 if any(bad.values()) else 0
        if args.clear:
            for path in notebooks(args.only):
                path.write_text(dumps(without_outputs(json.loads(path.read_text(encoding="utf-8")))),
                                encoding="utf-8")
            return 0
        changed = refresh(args.only, args.build)
    except (ValueError, LakekitError) as exc:
        print(f"[lakekit] reference outputs: {exc}", file=sys.stderr)
        return 1
    print(f"[lakekit] reference outputs: {len(changed)} notebook(s) changed"
          + "".join(f"\n  {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}" for p in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
