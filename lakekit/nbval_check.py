"""Re-run a committed notebook under nbval (``--nbval-lax``), recording what it printed.

The notebook test runs every notebook twice on one endpoint: first with papermill (the
executed copy and its HTML), then with :func:`run` — nbval in a subprocess on the committed
``notebooks/NN.ipynb``, which proves the notebook re-runs cleanly (idempotency) AND compares
the outputs of the cells tagged ``nbval-check-output`` with the committed reference outputs
(:mod:`lakekit.reference_outputs`), after the sanitize rules (``notebooks/nbval_sanitize.cfg``).
This module is also the pytest plugin (``-p lakekit.nbval_check``) that writes, with
``--nbval-record PATH``, the outputs nbval saw as an executed notebook, so the re-run's
outputs can be checked like papermill's (:func:`lakekit.notebook_checks.check_notebook`).

Example::

    >>> from lakekit import nbval_check                                     # doctest: +SKIP
    >>> result = nbval_check.run(Path("notebooks/02_ingest.ipynb"), record=Path("02_rerun.ipynb"),
    ...                          prefix="ana-01")                          # doctest: +SKIP
    >>> result.ok, result.summary()                                         # doctest: +SKIP
    (True, '02_ingest.ipynb: nbval 41 passed in 95.2s')
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakekit.reference_outputs import CHECK_TAG, SANITIZE, dumps

__all__ = ["CHECK_TAG", "REFERENCE_PREFIX", "NbvalRun", "prefix_rules", "command", "run"]

ROOT = Path(__file__).resolve().parents[1]
#: The prefix of the reference run (the default one, what attendees see in the committed outputs).
REFERENCE_PREFIX = "lakekit"
#: A cell may wait that long (03 waits up to 30 min for a first Glue job run on a loaded machine).
CELL_TIMEOUT_S = 2400


@dataclass
class NbvalRun:
    """The outcome of one nbval run: exit code, pytest's output, the recorded notebook."""

    notebook: str
    returncode: int
    output: str
    recorded: Path | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self, tail_lines: int = 60) -> str:
        lines = self.output.rstrip().splitlines()
        last = lines[-1] if lines else "(no output)"
        if self.ok:
            return f"{self.notebook}: nbval {last.strip('= ')}"
        return (f"{self.notebook}: nbval failed (exit {self.returncode}); the last {tail_lines} lines:\n"
                + "\n".join(lines[-tail_lines:]))


def prefix_rules(prefix: str, reference: str = REFERENCE_PREFIX) -> list[tuple[str, str]]:
    """Sanitize rules mapping a run's own prefix (word-bounded) back to the reference run's."""
    if prefix == reference:
        return []
    return [(rf"(?<![A-Za-z0-9]){re.escape(prefix)}(?![A-Za-z0-9])", reference)]


def _sanitize_file(rules: list[tuple[str, str]], base: Path, folder: Path) -> Path:
    """``base`` plus ``rules`` (nbval reads a single file): the file to pass, in ``folder``."""
    if not rules:
        return base
    path = folder / f"nbval_sanitize_{os.getpid()}.cfg"
    extra = "".join(f"regex: {regex}\nreplace: {replace}\n" for regex, replace in rules)
    path.write_text(base.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + extra, encoding="utf-8")
    return path


def command(notebook: Path, sanitize: Path, record: Path | None = None,
            cell_timeout: float = CELL_TIMEOUT_S) -> list[str]:
    """The pytest command line: nbval, lax, this Python's kernel, stop at the first failing cell."""
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
           "--nbval-sanitize-with", str(sanitize), "--nbval-cell-timeout", str(cell_timeout),
           "--nbval-kernel-startup-timeout", "180",
           # pyproject's per-test timeout (900 s) would cut a long cell; nbval has its own
           "--timeout", str(int(cell_timeout) + 120),
           "-p", "no:cacheprovider", "-p", "lakekit.nbval_check", "-x", "-q", "--color=no",
           "-W", "ignore::DeprecationWarning"]
    if record is not None:
        cmd += ["--nbval-record", str(record)]
    return cmd + [str(notebook)]


def run(notebook: Path, *, record: Path | None = None, prefix: str | None = None,
        sanitize: Path = SANITIZE, env: dict[str, str] | None = None,
        cell_timeout: float = CELL_TIMEOUT_S, timeout: float | None = None) -> NbvalRun:
    """Run ``notebook`` under nbval in a subprocess (environment ``env``, default ours).

    ``prefix``: the run's LAKEKIT_PREFIX when it is not the reference run's (its names are
    mapped back before comparing; use one as long as ``lakekit`` so tables align the same).
    ``record``: where to write the notebook with the outputs nbval saw.
    """
    env = dict(os.environ if env is None else env)
    prefix = prefix or env.get("LAKEKIT_PREFIX") or REFERENCE_PREFIX
    with tempfile.TemporaryDirectory(prefix="lakekit-nbval-") as tmp:
        cfg = _sanitize_file(prefix_rules(prefix), sanitize, Path(tmp))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        proc = subprocess.run(command(notebook, cfg, record, cell_timeout), cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
    recorded = record if record is not None and record.exists() else None
    return NbvalRun(notebook.name, proc.returncode, proc.stdout, recorded)


# ----------------------------------------------------------------------------- the pytest plugin
def pytest_addoption(parser: Any) -> None:
    parser.getgroup("nbval").addoption(
        "--nbval-record", default=None, metavar="PATH",
        help="write the outputs nbval saw as an executed notebook (lakekit.nbval_check)")


def _recorded(nb: dict[str, Any], outputs: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """``nb`` with each code cell's outputs as nbval saw them (unrun cells: none)."""
    result = copy.deepcopy(nb)
    code_cells = [c for c in result["cells"] if c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells):
        seen = outputs.get(number)
        cell["outputs"] = [] if seen is None else [_plain(o) for o in seen]
        cell["execution_count"] = None if seen is None else number + 1
    return result


def _plain(output: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(output))  # NotebookNode -> dict
    if out.get("output_type") in ("display_data", "execute_result"):
        out.setdefault("metadata", {})
    return out


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = session.config.getoption("nbval_record", None)
    if not path:
        return
    books: dict[int, tuple[Any, dict[int, list]]] = {}
    for item in getattr(session, "items", []):
        parent = getattr(item, "parent", None)
        if not hasattr(item, "cell_num") or not hasattr(parent, "nb"):
            continue
        _, seen = books.setdefault(id(parent), (parent, {}))
        if getattr(item, "test_outputs", None) is not None:
            seen[item.cell_num] = item.test_outputs
    if len(books) != 1:
        return  # one notebook per recorded run
    parent, seen = next(iter(books.values()))
    nb = json.loads(json.dumps(parent.nb))
    Path(path).write_text(dumps(_recorded(nb, seen)), encoding="utf-8")
