"""One lifecycle for the endpoint's background runs: Athena queries, Glue job runs, crawls, stack
operations and Step Functions executions.

A :class:`RunStore` is a persisted dict (:func:`lakekit.local.persistence.store`) of run records
keyed ``"<account>|<region>|<run id>"``. What it does for every service the same way:

* **scoping** - :meth:`RunStore.get` and :meth:`RunStore.records` take the caller's account and
  region: a request can never see another account's or region's runs;
* **transitions** - :meth:`RunStore.transition` validates the new state against the service's
  :class:`Lifecycle` (a final state is final: :class:`FinalStateError`) and appends
  ``(state, epoch seconds)`` to the record's ``_history``;
* **stop** - every run in flight in this process has a :class:`Control` (never persisted): the
  worker checks ``control.stop_requested`` (or registers ``control.on_stop(fn)``, e.g. kill a
  process group); :meth:`RunStore.stop` asks and waits up to a deadline for the worker to end;
* **bounded workers** - :meth:`RunStore.launch` runs the worker function on one of at most
  ``workers`` daemon threads (the rest queue, in their initial state);
* **restart recovery** - :meth:`RunStore.recover` (once per process, on the first request after
  a restore): a run still active without a control in this process was cut short by an endpoint
  restart; it gets the lifecycle's ``restart_state`` (or what the service's ``restart(record)``
  picks, e.g. CANCELLED for a run a stop was asked of) and the service's ``on_restart(record,
  now)`` hook adds the service's reason fields. A ``restart`` that picks an *active* state
  resumes the run (CloudFormation's rollback of an interrupted create): the service launches a
  worker for it;
* **re-opening** - a record that serves several operations one after the other (a
  CloudFormation stack: create, then update, then delete) starts its next operation with
  ``transition(rec, new, reopen=True)``, the one way out of a final state.

Records keep each service's own API shape; ``state`` names the (possibly nested) field that holds
the state, e.g. ``("Status", "State")`` for Athena. Example::

    LIFE = Lifecycle(active={"RUNNING"}, final={"SUCCEEDED", "FAILED"}, restart_state="FAILED")
    RUNS = RunStore("demo.runs", LIFE, state=("status",), workers=2,
                    on_restart=lambda rec, now: rec.update(reason="interrupted by endpoint restart"))
    RUNS.recover()                                          # first request after a restore
    rec = RUNS.add("123456789012", "us-east-1", "r-1", {"status": "RUNNING"})

    def work(control: Control) -> None:                     # runs on a worker thread
        done = "FAILED" if control.stop_requested else "SUCCEEDED"
        RUNS.update("123456789012", "us-east-1", "r-1", lambda r: RUNS.transition(r, done))

    RUNS.launch("123456789012", "us-east-1", "r-1", work)
    RUNS.wait("123456789012", "us-east-1", "r-1", timeout=5)  # -> "SUCCEEDED"
    RUNS.get("123456789012", "eu-west-1", "r-1")              # -> None: another region
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakekit.local import runtime
from lakekit.local.persistence import store

__all__ = ["Control", "FinalStateError", "Lifecycle", "RunStore", "run_key"]

log = logging.getLogger(__name__)

HISTORY = "_history"


def run_key(account: str, region: str, run_id: str) -> str:
    """The store key of a run: account and region first, so every lookup is scoped."""
    return f"{account}|{region}|{run_id}"


class FinalStateError(RuntimeError):
    """A transition out of a final state (or into an unknown state) was attempted."""


@dataclass(frozen=True)
class Lifecycle:
    """A service's run states: which are active, which are final, what a restart leaves."""

    active: frozenset[str] | set[str]
    final: frozenset[str] | set[str]
    restart_state: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "active", frozenset(self.active))
        object.__setattr__(self, "final", frozenset(self.final))
        if self.restart_state not in self.final:
            raise ValueError(f"restart_state {self.restart_state!r} must be one of the final states")


class Control:
    """In-memory handle of a run in flight in this process: stop request, done flag, thread."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.done = threading.Event()
        self.deadline: float | None = None
        self.thread: threading.Thread | None = None
        self.handle: Any = None
        """What the worker runs (a process, an interpreter execution), for the service's stop."""
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def on_stop(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when a stop is requested (at once if it already was)."""
        with self._lock:
            if not self._stop.is_set():
                self._callbacks.append(fn)
                return
        fn()

    def request_stop(self, grace: float = 10.0) -> None:
        """Ask the worker to stop; it should end within ``grace`` seconds (:attr:`overdue`)."""
        with self._lock:
            if self._stop.is_set():
                return
            self.deadline = time.monotonic() + grace
            self._stop.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            try:
                fn()
            except Exception:
                log.exception("a stop callback failed")

    @property
    def overdue(self) -> bool:
        """A stop was requested and its deadline has passed while the worker still runs."""
        return self.deadline is not None and not self.done.is_set() and time.monotonic() > self.deadline


class RunStore:
    """Persisted, account- and region-scoped records of one service's background runs."""

    def __init__(self, name: str, lifecycle: Lifecycle, *, state: tuple[str, ...],
                 workers: int = 8, on_restart: Callable[[dict[str, Any], float], None] | None = None,
                 history: bool = True, restart: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.name, self.lifecycle, self.state_path = name, lifecycle, state
        self.data: dict[str, dict[str, Any]] = store(name)
        self.lock = threading.RLock()
        self.controls: dict[str, Control] = {}
        self.workers = workers
        self.on_restart = on_restart
        self.restart = restart
        self.history = history
        self._pending: collections.deque[tuple[str, Callable[[Control], None], Control]] = collections.deque()
        self._ready = threading.Condition(self.lock)
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._recovered = False

    # -- records -------------------------------------------------------------------------------
    def add(self, account: str, region: str, run_id: str, record: dict[str, Any], *,
            control: bool = True) -> dict[str, Any]:
        """Store a new run (its first state in ``_history``); with a :class:`Control` by default."""
        record["_account"], record["_region"] = account, region
        if self.history:
            record.setdefault(HISTORY, [(self.state(record), round(time.time(), 3))])
        key = run_key(account, region, run_id)
        with self.lock:
            self.data[key] = record
            if control:
                self.controls[key] = Control()
        return record

    def get(self, account: str, region: str, run_id: str) -> dict[str, Any] | None:
        """The run of this account and region, or None (also for another scope's run)."""
        return self.data.get(run_key(account, region, run_id))

    def locate(self, run_id: str) -> dict[str, Any] | None:
        """A run by id alone, in any scope: only for in-process helpers (tests, benchmarks)."""
        suffix = "|" + run_id
        with self.lock:
            return next((r for k, r in self.data.items() if k.endswith(suffix)), None)

    def records(self, account: str, region: str,
                where: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Every run of this account and region (optionally filtered), in insertion order."""
        prefix = f"{account}|{region}|"
        with self.lock:
            return [r for k, r in self.data.items() if k.startswith(prefix) and (where is None or where(r))]

    def pop(self, account: str, region: str, run_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self.data.pop(run_key(account, region, run_id), None)

    def control(self, account: str, region: str, run_id: str) -> Control | None:
        return self.controls.get(run_key(account, region, run_id))

    def update(self, account: str, region: str, run_id: str, fn: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply ``fn`` to the record from a background thread (under the state lock's shared side
        like every request, so a snapshot never sees half a change); None when it is gone."""
        with runtime.state_lock().shared(), self.lock:
            rec = self.get(account, region, run_id)
            return None if rec is None else fn(rec)

    # -- states --------------------------------------------------------------------------------
    def state(self, rec: dict[str, Any]) -> str:
        value: Any = rec
        for part in self.state_path:
            value = (value or {}).get(part)
        return str(value or "")

    def is_active(self, rec: dict[str, Any]) -> bool:
        return self.state(rec) in self.lifecycle.active

    def is_final(self, rec: dict[str, Any]) -> bool:
        return self.state(rec) in self.lifecycle.final

    def transition(self, rec: dict[str, Any], new: str, when: float | None = None, *,
                   reopen: bool = False) -> float:
        """Set the run's state (validated) and record it with its time; returns the time.

        ``reopen``: the record's next operation starts (the only way out of a final state)."""
        life = self.lifecycle
        if new not in life.active and new not in life.final:
            raise FinalStateError(f"{self.name}: unknown state {new!r}; known: "
                                  f"{sorted(life.active | life.final)}")
        old = self.state(rec)
        if self.is_final(rec) and new != old and not reopen:
            raise FinalStateError(f"{self.name}: a run in the final state {old} cannot become {new}")
        now = round(time.time() if when is None else when, 3)
        target: dict[str, Any] = rec
        for part in self.state_path[:-1]:
            target = target.setdefault(part, {})
        if new != old:
            target[self.state_path[-1]] = new
            if self.history:
                rec.setdefault(HISTORY, []).append((new, now))
        return now

    def history_of(self, rec: dict[str, Any]) -> list[tuple[str, float]]:
        return [tuple(x) for x in rec.get(HISTORY, [])]  # type: ignore[misc]

    # -- workers -------------------------------------------------------------------------------
    def launch(self, account: str, region: str, run_id: str, work: Callable[[Control], None]) -> Control:
        """Run ``work(control)`` on a worker thread; the control is dropped when it returns."""
        key = run_key(account, region, run_id)
        with self.lock:
            control = self.controls.setdefault(key, Control())
            self._pending.append((key, work, control))
            self._ready.notify()
            if len(self._pending) > self._idle and len(self._threads) < self.workers:
                t = threading.Thread(target=self._worker, daemon=True,
                                     name=f"lakekit-{self.name}-{len(self._threads)}")
                self._threads.append(t)
                t.start()
        return control

    def _worker(self) -> None:
        while True:
            with self.lock:
                self._idle += 1
                while not self._pending:
                    self._ready.wait()
                self._idle -= 1
                key, work, control = self._pending.popleft()
            control.thread = threading.current_thread()
            try:
                work(control)
            except Exception:  # the worker function must end its run itself; this is a bug
                log.exception("%s: the worker of %s raised", self.name, key)
            finally:
                with self.lock:
                    if self.controls.get(key) is control:
                        del self.controls[key]
                control.done.set()

    def stop(self, account: str, region: str, run_id: str, grace: float = 10.0, wait: bool = False) -> bool:
        """Request a cooperative stop; with ``wait``, True when the worker ended within ``grace``."""
        control = self.control(account, region, run_id)
        if control is None:
            return True
        control.request_stop(grace)
        return control.done.wait(grace) if wait else control.done.is_set()

    def wait(self, account: str, region: str, run_id: str, timeout: float = 600.0) -> str:
        """Block until the worker ended (inside the endpoint process); the run's state."""
        control = self.control(account, region, run_id)
        if control is not None:
            control.done.wait(timeout)
        rec = self.get(account, region, run_id)
        return self.state(rec) if rec is not None else ""

    def stop_all(self) -> None:
        """Ask every run in flight to stop (process exit)."""
        for control in list(self.controls.values()):
            control.request_stop(0.0)

    # -- recovery and housekeeping ---------------------------------------------------------------
    def recover(self) -> list[dict[str, Any]]:
        """Once per process: runs active without a control here were cut short by a restart; they
        get ``restart_state`` or what ``restart(record)`` picks (+ the service's ``on_restart``
        fields). Returns those runs; the ones left in an active state are the service's to resume."""
        with self.lock:
            if self._recovered:
                return []
            self._recovered = True
            self._rekey()
            now = round(time.time(), 3)
            lost = []
            for key, rec in self.data.items():
                if self.is_active(rec) and key not in self.controls:
                    target = self.restart(rec) if self.restart is not None else self.lifecycle.restart_state
                    self.transition(rec, target, now)
                    if self.on_restart is not None:
                        self.on_restart(rec, now)
                    lost.append(rec)
        if lost:
            log.info("%s: %d run(s) interrupted by the endpoint restart: %s", self.name, len(lost),
                     sorted({self.state(r) for r in lost}))
        return lost

    def _rekey(self) -> None:
        """Snapshots written before this store scoped its keys used the bare run id."""
        for key in [k for k in self.data if k.count("|") < 2]:
            rec = self.data.pop(key)
            self.data[run_key(rec.get("_account", ""), rec.get("_region", ""), key)] = rec

    def trim(self, keep: int, newest: Callable[[dict[str, Any]], float]) -> list[str]:
        """Forget the oldest final runs beyond ``keep`` records; returns the removed keys."""
        with self.lock:
            if len(self.data) <= keep:
                return []
            done = sorted((newest(r), k) for k, r in self.data.items() if self.is_final(r))
            gone = [k for _, k in done[: len(self.data) - keep]]
            for k in gone:
                self.data.pop(k, None)
            return gone
