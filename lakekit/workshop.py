"""Run the workshop's notebooks in order with papermill (what ``make run`` does).

Every ``notebooks/NN_*.ipynb`` runs in file-name order into ``build/notebooks/`` (the
executed copy plus an HTML rendering beside it). The first failure stops the run and
names the notebook, the cell and the error. Each executed copy is then checked by
:func:`lakekit.notebook_checks.check_notebook` (short cells and outputs, nothing on stderr,
progress bars done...): its findings are printed, and with ``--strict`` they fail the run.

Example::

    python -m lakekit.workshop                 # all notebooks, local target
    python -m lakekit.workshop --only 00 01    # a subset, by number
    python -m lakekit.workshop --strict        # output findings fail the run too
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lakekit.exceptions import LakekitError

__all__ = ["NotebookFailed", "WORKSHOP_TIME_KNOBS", "workshop_environment", "notebooks", "run_notebook",
           "run_all", "main"]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build" / "notebooks"

#: Time compression of the local endpoint for a workshop run (local target only; AWS runs in
#: real time). Read by the endpoint when it starts, so they must be in the environment of the
#: process that starts it (``make run``, notebook 00's ``lk.connect()``, tests/notebooks):
#: Step Functions Wait/Retry at 1/100 (the crawler poll of 30 s lasts 0.3 s), EventBridge
#: schedules 1200x (``rate(1 hour)`` fires every 3 s), CloudWatch periods 60x (a 5-minute
#: alarm period lasts 5 s) with an evaluation pass every 0.25 s. Values already set win.
WORKSHOP_TIME_KNOBS = {"LAKEKIT_SFN_TIME_SCALE": "0.01", "LAKEKIT_EVENTS_TIME_SCALE": "1200",
                       "LAKEKIT_CW_TIME_SCALE": "60", "LAKEKIT_CW_ALARM_TICK": "0.25"}


def workshop_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Put :data:`WORKSHOP_TIME_KNOBS` into ``environ`` (default ``os.environ``) unless set; -> them."""
    env = os.environ if environ is None else environ
    for key, value in WORKSHOP_TIME_KNOBS.items():
        env.setdefault(key, value)
    return {k: env[k] for k in WORKSHOP_TIME_KNOBS}


class NotebookFailed(LakekitError):
    """A notebook failed; the message names notebook, cell and error."""


@dataclass
class NotebookRun:
    name: str
    seconds: float
    output: Path
    html: Path | None

    def check(self):
        """The output check of the executed copy (:class:`lakekit.notebook_checks.Report`)."""
        from lakekit.notebook_checks import check_notebook

        return check_notebook(self.output, name=self.name)


def notebooks(only: list[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """``NN_*.ipynb`` in order; ``only`` keeps those whose number or name is listed."""
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if p.name[:2] in only or p.stem in only or p.name in only]
    return found


def run_notebook(path: Path, out_dir: Path = BUILD, parameters: dict | None = None,
                 html: bool = True, suffix: str = "") -> NotebookRun:
    """Execute one notebook with papermill; raise NotebookFailed naming the cell on error."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{path.stem}{suffix}.ipynb"
    started = time.monotonic()
    try:
        pm.execute_notebook(str(path), str(output), parameters=parameters or {}, kernel_name="python3",
                            cwd=str(path.parent), progress_bar=False, log_output=False)
    except pm.PapermillExecutionError as err:
        raise NotebookFailed(
            f"{path.name} failed in cell {err.cell_index} (execution count {err.exec_count}): "
            f"{err.ename}: {err.evalue}\n--- cell source ---\n{err.source}\n"
            f"The executed notebook with the full traceback is {output}."
        ) from None
    seconds = time.monotonic() - started
    html_path = _to_html(output) if html else None
    return NotebookRun(path.name, seconds, output, html_path)


def _to_html(notebook: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    out = notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def run_all(only: list[str] | None = None, out_dir: Path = BUILD, parameters: dict | None = None,
            html: bool = True, suffix: str = "", strict: bool = False) -> list[NotebookRun]:
    """Run the notebooks in order, printing one line per notebook and its output check.

    ``strict``: a notebook whose outputs have findings fails the run (:class:`NotebookFailed`).
    """
    runs = []
    todo = notebooks(only)
    if not todo:
        raise NotebookFailed(f"no notebooks matched {only!r} in {NOTEBOOKS}")
    for nb in todo:
        print(f"[lakekit] running {nb.name} ...", flush=True)
        run = run_notebook(nb, out_dir, parameters, html, suffix)
        print(f"[lakekit]   ok in {run.seconds:.1f} s -> {run.output}", flush=True)
        report = run.check()
        print(f"[lakekit]   {report.summary()}", flush=True)
        if strict and not report.ok:
            raise NotebookFailed(f"{nb.name} ran, but its outputs have findings (see above): fix the "
                                 "cells they name, or run without --strict")
        runs.append(run)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakekit.workshop")
    parser.add_argument("--only", nargs="*", help="notebook numbers or names (default: all)")
    parser.add_argument("--out", type=Path, default=BUILD)
    parser.add_argument("--no-html", action="store_true")
    parser.add_argument("--strict", action="store_true",
                        help="fail when an executed notebook's outputs have findings (lakekit.notebook_checks)")
    parser.add_argument("--keep-endpoint", action="store_true",
                        help="leave the local endpoint running afterwards (default: stop it if this "
                             "run started it)")
    args = parser.parse_args(argv)
    from lakekit import local
    from lakekit.config import settings

    s = settings()
    if s.is_local:  # before the endpoint starts (notebook 00 starts it unless it runs)
        workshop_environment()
    started_here = s.is_local and not local.status(s).running
    try:
        runs = run_all(args.only, args.out, html=not args.no_html, strict=args.strict)
    except LakekitError as exc:
        print(f"[lakekit] FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if started_here and not args.keep_endpoint and os.environ.get("LAKEKIT_KEEP_ENDPOINT") != "1":
            local.down(s, quiet=True)
    total = sum(r.seconds for r in runs)
    print(f"[lakekit] {len(runs)} notebooks passed in {total:.0f} s; executed copies in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
