"""Bounded waits with a progress bar (notebooks never sleep-poll without a deadline).

:func:`wait_for` polls any callable until its state is final and records every state it
saw, with when it saw it; :func:`wait_job_run` and :func:`wait_crawler` apply it to a Glue
job run and a crawler. They work the same on ``aws`` and ``local``.

Example::

    >>> glue = lk.client("glue")                                       # doctest: +SKIP
    >>> run_id = glue.start_job_run(JobName="lakekit-etl")["JobRunId"]  # doctest: +SKIP
    >>> done = wait_job_run(glue, "lakekit-etl", run_id, timeout=600)   # doctest: +SKIP
    >>> done.state, done.history_frame()                                # doctest: +SKIP
    ('SUCCEEDED',        state   seen_at  after_s ...)
"""
from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lakekit.exceptions import WaitTimeout

__all__ = ["Waited", "wait_for", "wait_job_run", "wait_crawler", "JOB_FINAL_STATES"]

T = TypeVar("T")

JOB_FINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")


@dataclass
class Waited(Generic[T]):
    """Outcome of a wait: the last polled ``value``, its ``state``, the ``seconds`` waited and
    the ``history`` of distinct states seen (``state``, ``seen_at`` UTC, ``after_s``)."""

    value: T
    state: str
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)

    def history_frame(self):
        """The state history as a DataFrame (one row per state seen while polling)."""
        import pandas as pd

        return pd.DataFrame(self.history, columns=["state", "seen_at", "after_s"])


def _bar(desc: str, timeout: float, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=round(timeout), desc=desc, unit="s", disable=not enabled, leave=True,
                bar_format="{desc}: {n:.0f}/{total:.0f} s budget |{bar}| {postfix}")


def wait_for(poll: Callable[[], T], state: Callable[[T], str], until: Collection[str] | Callable[[str], bool],
             *, timeout: float, desc: str = "waiting", interval: float = 1.0, progress: bool = True,
             hint: str = "") -> Waited[T]:
    """Call ``poll()`` every ``interval`` s until ``state(value)`` is in ``until`` (or
    ``until(state)`` is true); at most ``timeout`` s, with a progress bar of the time used.

    Raises :class:`~lakekit.exceptions.WaitTimeout` with the last state and ``hint`` (what
    to look at next) when the deadline passes.

    >>> n = iter(range(5))
    >>> w = wait_for(lambda: next(n), lambda v: "DONE" if v >= 2 else "BUSY", {"DONE"},
    ...              timeout=5, interval=0, progress=False)
    >>> w.value, [h["state"] for h in w.history]
    (2, ['BUSY', 'DONE'])
    """
    done = until if callable(until) else (lambda s, _final=frozenset(until): s in _final)
    started = time.monotonic()
    deadline = started + timeout
    history: list[dict[str, Any]] = []
    bar = _bar(desc, timeout, progress)
    current = ""
    try:
        while True:
            value = poll()
            current = state(value)
            elapsed = time.monotonic() - started
            if not history or history[-1]["state"] != current:
                history.append({"state": current, "seen_at": _dt.datetime.now(_dt.UTC),
                                "after_s": round(elapsed, 1)})
            bar.set_postfix_str(current, refresh=False)
            bar.update(min(elapsed, timeout) - bar.n)
            if done(current):
                bar.total = max(bar.n, 1)
                bar.refresh()
                return Waited(value, current, round(elapsed, 1), history)
            if time.monotonic() + interval > deadline:
                raise WaitTimeout(f"{desc}: still {current} after {timeout:.0f} s. "
                                  f"{hint or 'Look at its logs, then wait again with a larger timeout.'}")
            time.sleep(interval)
    finally:
        bar.close()


def wait_job_run(glue: Any, job_name: str, run_id: str, *, timeout: float = 900.0,
                 interval: float = 2.0, progress: bool = True) -> Waited[dict[str, Any]]:
    """Wait until a Glue job run is final; ``value`` is the last ``GetJobRun`` JobRun.

    The caller checks ``state`` (``SUCCEEDED`` or not) and ``value.get("ErrorMessage")``.
    """
    return wait_for(
        lambda: glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"],
        lambda run: run["JobRunState"], JOB_FINAL_STATES, timeout=timeout, interval=interval,
        progress=progress, desc=f"job {job_name}",
        hint=(f"Open the run in Glue Studio (Jobs -> {job_name} -> Runs) or its CloudWatch logs "
              f"(<LogGroupName of the run>/output and /error, streams starting with {run_id}: "
              f"lakekit.glue.job_logs reads them); stop it with "
              f"glue.batch_stop_job_run or wait again."))


def wait_crawler(glue: Any, name: str, *, since: _dt.datetime | None = None, timeout: float = 600.0,
                 interval: float = 1.0, progress: bool = True) -> Waited[dict[str, Any]]:
    """Wait until the crawler is ``READY``; ``value`` is the last ``GetCrawler`` Crawler.

    With ``since`` (a UTC datetime), a READY crawler whose ``LastCrawl`` started before it
    still counts as ``PENDING``: the crawl started at ``since`` has not been seen yet.
    """
    def state(crawler: dict[str, Any]) -> str:
        current = crawler.get("State", "")
        last = crawler.get("LastCrawl") or {}
        if current == "READY" and since is not None:
            started = last.get("StartTime")
            if started is None or started < since - _dt.timedelta(seconds=2):
                return "PENDING"
        if current == "READY" and last.get("Status"):
            return f"READY ({last['Status']})"
        return current

    return wait_for(
        lambda: glue.get_crawler(Name=name)["Crawler"], state, lambda s: s.startswith("READY"),
        timeout=timeout, interval=interval, progress=progress, desc=f"crawler {name}",
        hint=(f"Look at the crawler's CloudWatch log group /aws-glue/crawlers (stream {name}) "
              f"or the Glue console (Crawlers -> {name}), then wait again."))
