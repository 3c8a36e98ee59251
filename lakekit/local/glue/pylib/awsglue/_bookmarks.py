"""Job bookmarks for S3 sources, kept the way Glue keeps them.

State per ``transformation_ctx`` (what GetJobBookmark returns in ``JobBookmark``)::

    {"<ctx>": {"jsonClass": "HadoopDataSourceJobBookmarkState",
               "timestamps": {"RUN": "2", "HIGH_BAND": "900000", "CURR_LATEST_PARTITION": "0",
                              "CURR_LATEST_PARTITIONS": "", "CURR_RUN_START_TIME": "2024-10-28T02:12:06.503Z",
                              "INCLUDE_LIST": "<md5>,<md5>"}}}

Selection (Glue tracks S3 objects by modification time): an object is read when its
LastModified is at most this run's start and either later than the previous run's start, or
inside the previous run's band (``maxBand`` ms before its start, default 900000) without being on
its INCLUDE_LIST (the objects of that band the previous run had already processed). New and
modified objects are therefore read once; objects changed after the run started wait for the next run.

``job-bookmark-enable``: select, then ``job.commit()`` hands the new state to the runner, which
stores it only when the run succeeds. ``job-bookmark-pause``: select against the current state,
store nothing; with ``job-bookmark-from``/``job-bookmark-to`` (run ids) the objects processed after
run *from* up to run *to* are read. ``job-bookmark-disable``: everything, no state.

Runner contract: ``$LAKEKIT_GLUE_RUNTIME/bookmark.json`` (in) =
``{"option", "from", "to", "started_ms", "bookmark": {...}, "runs": {run id: {...}}}``;
``bookmark-commit.json`` (out) = ``{"bookmark": {...}}``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from ._s3 import S3Object

__all__ = ["Bookmarks", "DEFAULT_MAX_BAND_MS", "include_hash"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BAND_MS = 900_000
_JSON_CLASS = "HadoopDataSourceJobBookmarkState"


def include_hash(obj: S3Object) -> str:
    return hashlib.md5(obj.uri.encode(), usedforsecurity=False).hexdigest()


def _iso(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


def _ms(iso: str) -> int:
    return int(_dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=_dt.UTC).timestamp() * 1000)


class Bookmarks:
    """The bookmark service of one run (created by ``Job.init``)."""

    def __init__(self, runtime: Path | None, option: str = "job-bookmark-disable",
                 bookmark_from: str | None = None, bookmark_to: str | None = None) -> None:
        self.runtime = runtime
        data: dict[str, Any] = {}
        if runtime is not None and (runtime / "bookmark.json").exists():
            data = json.loads((runtime / "bookmark.json").read_text())
        self.option = data.get("option") or option
        self.bookmark_from = data.get("from") or bookmark_from
        self.bookmark_to = data.get("to") or bookmark_to
        self.started_ms = int(data.get("started_ms") or time.time() * 1000)
        self.state: dict[str, Any] = dict(data.get("bookmark") or {})
        self.runs: dict[str, dict[str, Any]] = dict(data.get("runs") or {})
        self.pending: dict[str, Any] = {}

    def _run_state(self, run_id: str, which: str) -> dict[str, Any]:
        if run_id not in self.runs:
            raise RuntimeError(f"{which} {run_id} is not a run of this job with a stored bookmark "
                               f"state: pass the JobRunId of a successful job-bookmark-enable run "
                               f"(GetJobRuns lists them).")
        return self.runs[run_id]

    def select(self, ctx: str | None, objects: list[S3Object],
               max_band_ms: int = DEFAULT_MAX_BAND_MS) -> list[S3Object]:
        """The objects this run reads for source ``ctx`` (all of them without a ctx or bookmarks)."""
        if not ctx or self.option == "job-bookmark-disable":
            return list(objects)
        upper = self.started_ms
        prev = (self.state.get(ctx) or {}).get("timestamps")
        if self.option == "job-bookmark-pause" and self.bookmark_from and self.bookmark_to:
            prev = (self._run_state(self.bookmark_from, "job-bookmark-from").get(ctx) or {}).get("timestamps")
            to = (self._run_state(self.bookmark_to, "job-bookmark-to").get(ctx) or {}).get("timestamps")
            upper = _ms(to["CURR_RUN_START_TIME"]) if to else upper
        chosen = [o for o in objects if self._wanted(o, prev, upper)]
        if self.option == "job-bookmark-enable":
            band = int(max_band_ms)
            run = int((prev or {}).get("RUN", "0")) + 1
            include = [include_hash(o) for o in objects if upper - band < o.last_modified <= upper]
            self.pending[ctx] = {"jsonClass": _JSON_CLASS, "timestamps": {
                "RUN": str(run), "HIGH_BAND": str(band), "CURR_LATEST_PARTITION": "0",
                "CURR_LATEST_PARTITIONS": "", "CURR_RUN_START_TIME": _iso(upper),
                "INCLUDE_LIST": ",".join(include)}}
        log.info("bookmark %s (%s): %d of %d object(s) to read", ctx, self.option, len(chosen), len(objects))
        return chosen

    @staticmethod
    def _wanted(obj: S3Object, prev: dict[str, str] | None, upper: int) -> bool:
        if obj.last_modified > upper:
            return False
        if not prev:
            return True
        start = _ms(prev["CURR_RUN_START_TIME"])
        if obj.last_modified > start:
            return True
        band = int(prev.get("HIGH_BAND") or DEFAULT_MAX_BAND_MS)
        included = set(filter(None, (prev.get("INCLUDE_LIST") or "").split(",")))
        return obj.last_modified > start - band and include_hash(obj) not in included

    def commit(self) -> None:
        """Hand the new state to the runner (stored only if the run succeeds; enable only)."""
        if self.option != "job-bookmark-enable" or self.runtime is None:
            return
        merged = {**self.state, **self.pending}
        tmp = self.runtime / "bookmark-commit.json.tmp"
        tmp.write_text(json.dumps({"bookmark": merged}))
        os.replace(tmp, self.runtime / "bookmark-commit.json")
