"""Scheduled rules fire: a background thread over every account's and region's default bus.

Each ENABLED rule with a ``ScheduleExpression`` has a next fire time. A ``rate(n unit)`` rule
fires every period counted from when it was created or (re)enabled - its first event one period
later; a ``cron(...)`` rule fires at its matching minutes, UTC. A DISABLED or deleted rule never
fires and loses its phase (enabling it again starts a new period). Each fire sends the
"Scheduled Event" (:func:`lakekit.local.events.envelope.scheduled_event`, ``time`` = the
scheduled minute) to the rule's targets through :class:`~lakekit.local.events.delivery.Bus`.

**Time compression** for workshops and tests: ``LAKEKIT_EVENTS_TIME_SCALE`` (default ``1``)
makes the scheduler's clock run that many times faster than the wall clock - ``60`` is a minute
per second, so ``rate(1 hour)`` fires every minute. The clock starts at the wall clock (or
where the last run left it, whichever is later) and only runs forward; the events' ``time`` is
on that clock.

**Restarts**: rule phases and the clock are kept in the persistent store ``events.schedules``,
so a restarted endpoint keeps each rule's period. Fires that fell while the endpoint was down
are skipped, not sent in a burst (one log line says how many).
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from lakekit.local.events import envelope
from lakekit.local.events.delivery import Bus, RuleView
from lakekit.local.events.schedule import Cron, InvalidSchedule, Rate, parse

__all__ = ["Clock", "Scheduler", "time_scale"]

log = logging.getLogger(__name__)

_ENABLED = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


def time_scale() -> float:
    """``LAKEKIT_EVENTS_TIME_SCALE`` as a positive number (1 when unset or invalid)."""
    raw = os.environ.get("LAKEKIT_EVENTS_TIME_SCALE", "1")
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        log.warning("LAKEKIT_EVENTS_TIME_SCALE=%r is not a positive number; using 1", raw)
        return 1.0
    return value


class Clock:
    """Scheduler time (UTC, epoch seconds): ``start + (monotonic elapsed) * scale``."""

    def __init__(self, scale: float = 1.0, start: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self._mono = monotonic
        self._m0 = monotonic()
        self._v0 = time.time() if start is None else start

    def now(self) -> float:
        return self._v0 + (self._mono() - self._m0) * self.scale

    def real_seconds(self, virtual_seconds: float) -> float:
        return max(0.0, virtual_seconds / self.scale)

    def advance_to(self, when: float) -> None:
        """Never go back: restart the clock at ``when`` if it is ahead of now."""
        if when > self.now():
            self._v0, self._m0 = when, self._mono()


def _dt_of(ts: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC)


class Scheduler:
    """Finds due scheduled rules and fires them (``poll`` once, or ``start`` the thread)."""

    def __init__(self, bus: Bus, state: dict[str, Any], clock: Clock | None = None,
                 rules: Callable[[], list[RuleView]] | None = None,
                 lock: Callable[[], Any] | None = None, max_sleep: float = 1.0) -> None:
        self.bus, self.state = bus, state
        self.clock = clock or Clock(time_scale())
        self._rules = rules or _all_scheduled_rules
        self._lock = lock
        self.max_sleep = max_sleep
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired = 0

    # -- thread -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="events-scheduler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """A rule changed: look again now."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                due_in = self.poll()
            except Exception:
                log.exception("the EventBridge scheduler failed; trying again")
                due_in = self.max_sleep
            self._wake.wait(min(self.max_sleep, self.clock.real_seconds(due_in)))
            self._wake.clear()

    # -- one pass -----------------------------------------------------------------------------
    def poll(self) -> float:
        """Fire every due rule once; scheduler-seconds until the next fire (inf: none)."""
        self._restore_clock()
        now = self.clock.now()
        seen: set[str] = set()
        soonest = float("inf")
        for rule in self._rules():
            if rule.state not in _ENABLED or not rule.schedule:
                continue
            seen.add(rule.arn)
            try:
                sched = parse(rule.schedule)
            except InvalidSchedule as exc:
                log.warning("rule %s: %s; it never fires", rule.arn, exc)
                continue
            entry = self.state.get(rule.arn)
            if entry is None or entry.get("expr") != rule.schedule:
                entry = {"expr": rule.schedule, "anchor": now,
                         "next": _next(sched, now, now), "clock": now}
                self._put(rule.arn, entry)
            if entry["next"] <= now:
                fire_at = entry["next"]
                following = _next(sched, fire_at, entry["anchor"])
                skipped = 0
                while following <= now - 1.0 and skipped < 100000:  # missed while down
                    fire_at, following = following, _next(sched, following, entry["anchor"])
                    skipped += 1
                if skipped:
                    log.info("rule %s: %d fire(s) fell while the endpoint was stopped; skipped",
                             rule.arn, skipped)
                self._put(rule.arn, {**entry, "next": following, "clock": now})
                self.fired += 1
                self.bus.fire(rule, envelope.scheduled_event(rule.arn, _dt_of(fire_at)))
                entry = self.state[rule.arn]
            soonest = min(soonest, entry["next"] - now)
        for arn in [a for a in list(self.state) if a not in seen and a != "_clock"]:
            self._pop(arn)
        return max(0.0, soonest)

    def _restore_clock(self) -> None:
        # every pass: the store may have been restored from a snapshot since the last one
        last = max([float(v.get("clock", 0)) for k, v in list(self.state.items())
                    if isinstance(v, dict)] or [0.0])
        self.clock.advance_to(last)

    def _put(self, key: str, value: dict[str, Any]) -> None:
        if self._lock is None:
            self.state[key] = value
            return
        with self._lock().shared():
            self.state[key] = value

    def _pop(self, key: str) -> None:
        if self._lock is None:
            self.state.pop(key, None)
            return
        with self._lock().shared():
            self.state.pop(key, None)


def _next(sched: Rate | Cron, after: float, anchor: float) -> float:
    return sched.next_after(_dt_of(after), _dt_of(anchor)).timestamp()


def _all_scheduled_rules() -> list[RuleView]:
    """Every default-bus rule with a ScheduleExpression, in every account and region."""
    from moto.events.models import events_backends

    out: list[RuleView] = []
    for account in list(events_backends.keys()):
        for backend in list(events_backends[account].values()):
            bus = backend.event_buses.get("default") if hasattr(backend, "event_buses") else None
            if bus is None:
                continue
            for rule in list(bus.rules.values()):
                if rule.scheduled_expression:
                    out.append(RuleView.of(rule))
    return out
