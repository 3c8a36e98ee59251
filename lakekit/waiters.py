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
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lakekit.exceptions import WaitTimeout

__all__ = ["Waited", "wait_for", "wait_job_run", "wait_crawler", "progress_bar", "JOB_FINAL_STATES",
           "DONE_MARK", "FAIL_MARK"]

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


#: First character of the one text line a finished bar prints: a static rendering of the
#: notebook (GitHub, nbviewer, the HTML copies) shows a widget's text at its *start* ("0%"),
#: so the outcome must be written out (lakekit.notebook_checks looks for these lines).
DONE_MARK = "\u2713"
FAIL_MARK = "\u2717"
_DONE_FORMAT = "{desc}: 100% ({n_fmt}/{total_fmt} {unit}) in {elapsed_s:.1f} s{postfix}"
_BAR_CLASS: type | None = None
# Finished bars stay referenced: a widget garbage-collected early closes its comm, and the saved
# notebook would lose the final (green, 100%) state of the bar.
_FINISHED: deque[Any] = deque(maxlen=256)


def _bar_class() -> type:
    global _BAR_CLASS
    if _BAR_CLASS is not None:
        return _BAR_CLASS
    from tqdm.auto import tqdm as base

    class LakekitBar(base):  # type: ignore[misc, valid-type]
        """tqdm.auto's bar that ends honestly: green at 100 % and one text line on success."""

        def __init__(self, *args: Any, done: str = "", **kwargs: Any) -> None:
            self.done_text, self.failed, self._finished = done, False, False
            super().__init__(*args, **kwargs)
            self._created = time.time()  # reset() restarts tqdm's clock; the final line counts from here

        def finish(self, text: str = "", ok: bool = True) -> None:
            """End the bar: on ``ok`` at 100 % (n = total), green; else red. ``text`` is the final line."""
            self.done_text, self.failed = text or self.done_text, not ok
            if ok and self.total and self.n < self.total:
                self.update(self.total - self.n)
            self.close()

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
            if exc_type is not None:
                self.failed = True
            return super().__exit__(exc_type, exc, tb)

        def close(self) -> None:
            if self._finished or self.disable:
                return super().close()
            self._finished = True
            ok = not self.failed and not (self.total and self.n < self.total)
            if ok:
                line = self.done_text or self.format_meter(**{
                    **self.format_dict, "bar_format": _DONE_FORMAT, "elapsed": time.time() - self._created})
            else:
                line = self.done_text or f"stopped at {self.n:g}/{self.total or 0:g} {self.unit}"
            if not line.startswith(f"{self.desc}:"):
                line = f"{self.desc}: {line}" if self.desc else line
            super().close()
            container = getattr(self, "container", None)
            if container is not None:  # the notebook widget: tqdm paints n >= total green
                widget = container.children[1]
                widget.bar_style = "success" if ok else "danger"
                if ok:  # also a bar without a total (tqdm shows it as 0 of 1)
                    widget.value = widget.max
                _FINISHED.append(self)
            print(f"{DONE_MARK if ok else FAIL_MARK} {line}", flush=True)

    _BAR_CLASS = LakekitBar
    return _BAR_CLASS


def progress_bar(*args: Any, done: str = "", **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar (a widget in Jupyter, text elsewhere) that ends honestly.

    Use it as tqdm (same arguments, ``with progress_bar(total=n, desc=...) as bar``). When it
    closes with its work done (``n >= total``, no exception inside the ``with``) it is set to
    100 %, painted green (``bar_style='success'``) and prints one line ``✓ <desc>: <done>``
    (default: count, unit and seconds); otherwise red and ``✗ <desc>: ...``. ``bar.finish(text,
    ok)`` ends it explicitly. A disabled bar (``disable=True``) prints nothing.

    >>> with progress_bar(total=2, desc="files", unit="file", file=__import__("io").StringIO()) as b:
    ...     _ = b.update(2)  # doctest: +ELLIPSIS
    ✓ files: 100% (2/2 file) in ... s
    """
    return _bar_class()(*args, done=done, **kwargs)


def _bar(desc: str, timeout: float, enabled: bool) -> Any:
    return progress_bar(total=max(round(timeout), 1), desc=desc, unit="s", disable=not enabled,
                        leave=True, bar_format="{desc} |{bar}| {postfix}")


def wait_for(poll: Callable[[], T], state: Callable[[T], str], until: Collection[str] | Callable[[str], bool],
             *, timeout: float, desc: str = "waiting", interval: float = 1.0, progress: bool = True,
             hint: str = "", ok: Collection[str] | Callable[[str], bool] | None = None) -> Waited[T]:
    """Call ``poll()`` every ``interval`` s until ``state(value)`` is in ``until`` (or
    ``until(state)`` is true); at most ``timeout`` s, with a progress bar of the time used.

    The bar ends at 100 %, green, with the line ``✓ <desc>: <state> after <s> s`` when the
    final state is a success: in ``ok`` (or ``ok(state)``), any final state when ``ok`` is
    None. A final state that is not a success ends it red (``✗ ...``); so does a timeout.
    Raises :class:`~lakekit.exceptions.WaitTimeout` with the last state and ``hint`` (what
    to look at next) when the deadline passes.

    >>> n = iter(range(5))
    >>> w = wait_for(lambda: next(n), lambda v: "DONE" if v >= 2 else "BUSY", {"DONE"},
    ...              timeout=5, interval=0, progress=False)
    >>> w.value, [h["state"] for h in w.history]
    (2, ['BUSY', 'DONE'])
    """
    done = until if callable(until) else (lambda s, _final=frozenset(until): s in _final)
    success = ((lambda s: True) if ok is None else ok if callable(ok)
               else (lambda s, _ok=frozenset(ok): s in _ok))
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
            if done(current):
                text = f"{current} after {elapsed:.1f} s"
                bar.set_postfix_str(text, refresh=False)
                bar.finish(text, ok=success(current))
                return Waited(value, current, round(elapsed, 1), history)
            bar.set_postfix_str(f"{current}, {elapsed:.0f} s of {timeout:.0f} s budget", refresh=False)
            bar.update(min(elapsed, timeout) - bar.n)
            if time.monotonic() + interval > deadline:
                bar.finish(f"still {current} after {timeout:.0f} s", ok=False)
                raise WaitTimeout(f"{desc}: still {current} after {timeout:.0f} s. "
                                  f"{hint or 'Look at its logs, then wait again with a larger timeout.'}")
            time.sleep(interval)
    finally:
        if not bar._finished:  # poll() raised: the wait ended without a final state
            bar.finish(f"stopped while {current or 'starting'}", ok=False)


def wait_job_run(glue: Any, job_name: str, run_id: str, *, timeout: float = 900.0,
                 interval: float = 2.0, progress: bool = True) -> Waited[dict[str, Any]]:
    """Wait until a Glue job run is final; ``value`` is the last ``GetJobRun`` JobRun.

    The caller checks ``state`` (``SUCCEEDED`` or not) and ``value.get("ErrorMessage")``.
    """
    return wait_for(
        lambda: glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"],
        lambda run: run["JobRunState"], JOB_FINAL_STATES, timeout=timeout, interval=interval,
        progress=progress, desc=f"job {job_name}", ok={"SUCCEEDED"},
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
        ok=lambda s: s in ("READY", "READY (SUCCEEDED)"),
        hint=(f"Look at the crawler's CloudWatch log group /aws-glue/crawlers (stream {name}) "
              f"or the Glue console (Crawlers -> {name}), then wait again."))
