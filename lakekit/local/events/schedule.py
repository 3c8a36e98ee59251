"""EventBridge schedule expressions: ``rate(...)`` and ``cron(...)``, next fire times in UTC.

As documented in the EventBridge User Guide, "Using cron and rate expressions to schedule
rules": a rate is ``rate(<positive int> <minute|minutes|hour|hours|day|days>)`` (singular unit
for 1, plural otherwise); a cron has six fields ``Minutes Hours Day-of-month Month Day-of-week
Year`` (UTC) with the wildcards ``, - * /`` everywhere, ``?`` in Day-of-month / Day-of-week (one
of them must be ``?``), ``L`` and ``W`` in Day-of-month (``L``, ``LW``, ``15W``), ``L`` and
``#`` in Day-of-week (``6L`` = last Friday, ``3#2`` = second Tuesday; 1 = SUN ... 7 = SAT).

Example::

    >>> import datetime as dt
    >>> s = parse("cron(0 10 ? * MON-FRI *)")
    >>> s.next_after(dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC))   # a Friday, at 10:00
    datetime.datetime(2024, 3, 4, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse("rate(5 minutes)").seconds
    300
"""
from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass

__all__ = ["InvalidSchedule", "Rate", "Cron", "parse", "INVALID_MESSAGE"]

INVALID_MESSAGE = "Parameter ScheduleExpression is not valid."
"""AWS's ValidationException message for a bad ScheduleExpression (PutRule)."""

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_LAST_YEAR = 2199


class InvalidSchedule(ValueError):
    """The expression is not one EventBridge accepts (``reason`` says which part)."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"{INVALID_MESSAGE} ({expression!r}: {reason})")
        self.expression, self.reason = expression, reason


@dataclass(frozen=True)
class Rate:
    """``rate(n unit)``: fires every ``seconds``, counted from ``anchor`` (the rule's start)."""

    expression: str
    seconds: int

    def next_after(self, when: _dt.datetime, anchor: _dt.datetime | None = None) -> _dt.datetime:
        """The first fire strictly after ``when`` on the grid ``anchor + k * seconds`` (k >= 1)."""
        anchor = anchor or when
        if when < anchor:
            return anchor + _dt.timedelta(seconds=self.seconds)
        k = int((when - anchor).total_seconds() // self.seconds) + 1
        return anchor + _dt.timedelta(seconds=k * self.seconds)


@dataclass(frozen=True)
class _Field:
    values: frozenset[int]


@dataclass(frozen=True)
class Cron:
    """A parsed ``cron(...)``; :meth:`next_after` finds the next matching minute (UTC)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    dom: str                 # the raw Day-of-month field ("?" when Day-of-week is used)
    dow: str                 # the raw Day-of-week field

    def next_after(self, when: _dt.datetime, anchor: _dt.datetime | None = None) -> _dt.datetime:
        """The first matching minute strictly after ``when`` (``anchor`` is ignored)."""
        when = when.astimezone(_dt.UTC)
        start = (when.replace(second=0, microsecond=0) + _dt.timedelta(minutes=1))
        day = start.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        while day.year <= _LAST_YEAR:
            if day.year not in self.years:
                day = _dt.date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = (_dt.date(day.year + 1, 1, 1) if day.month == 12
                       else _dt.date(day.year, day.month + 1, 1))
                continue
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        t = _dt.datetime(day.year, day.month, day.day, h, m, tzinfo=_dt.UTC)
                        if t >= start:
                            return t
            day += _dt.timedelta(days=1)
        raise InvalidSchedule(self.expression, f"never fires after {when.isoformat()}")

    def _day_matches(self, day: _dt.date) -> bool:
        if self.dom != "?":
            return _dom_matches(self.dom, day)
        return _dow_matches(self.dow, day)


def parse(expression: str) -> Rate | Cron:
    """Parse a ScheduleExpression; :class:`InvalidSchedule` if EventBridge would refuse it."""
    expr = (expression or "").strip()
    m = _RATE.match(expr)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        if value <= 0:
            raise InvalidSchedule(expression, "the rate value must be a positive integer")
        if (value == 1) != (not unit.endswith("s")):
            raise InvalidSchedule(expression, "use the singular unit for 1 (rate(1 hour)) and the "
                                              "plural otherwise (rate(5 hours))")
        return Rate(expr, value * _UNIT_SECONDS[unit.rstrip("s")])
    m = _CRON.match(expr)
    if not m:
        raise InvalidSchedule(expression, "expected rate(value unit) or cron(6 fields)")
    fields = m.group(1).split()
    if len(fields) != 6:
        raise InvalidSchedule(expression, f"a cron expression has 6 fields, got {len(fields)}")
    mi, hr, dom, mon, dow, yr = (f.upper() for f in fields)
    if (dom == "?") == (dow == "?"):
        raise InvalidSchedule(expression, "one of Day-of-month and Day-of-week must be '?' "
                                          "(and only one)")
    cron = Cron(expr, _set(mi, 0, 59, expression), _set(hr, 0, 23, expression),
                _set(mon, 1, 12, expression, _MONTHS), _set(yr, 1970, _LAST_YEAR, expression),
                dom, dow)
    if dom != "?":
        _check_dom(dom, expression)
    else:
        _check_dow(dow, expression)
    return cron


# -- fields ---------------------------------------------------------------------------------
def _num(token: str, lo: int, hi: int, expr: str, names: dict[str, int] | None = None) -> int:
    if names and token in names:
        return names[token]
    if not token.isdigit():
        raise InvalidSchedule(expr, f"{token!r} is not a value between {lo} and {hi}")
    n = int(token)
    if not lo <= n <= hi:
        raise InvalidSchedule(expr, f"{n} is outside {lo}-{hi}")
    return n


def _set(field: str, lo: int, hi: int, expr: str, names: dict[str, int] | None = None) -> frozenset[int]:
    out: set[int] = set()
    for part in field.split(","):
        if not part:
            raise InvalidSchedule(expr, f"empty list item in {field!r}")
        step = 1
        if "/" in part:
            part, _, step_s = part.partition("/")
            if not step_s.isdigit() or int(step_s) == 0:
                raise InvalidSchedule(expr, f"bad increment in {field!r}")
            step = int(step_s)
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            x, _, y = part.partition("-")
            a, b = _num(x, lo, hi, expr, names), _num(y, lo, hi, expr, names)
        else:
            a = _num(part, lo, hi, expr, names)
            b = hi if step != 1 else a
        if a <= b:
            out.update(range(a, b + 1, step))
        else:  # a wrapping range such as FRI-MON / 22-2
            span = list(range(a, hi + 1)) + list(range(lo, b + 1))
            out.update(span[::step])
    return frozenset(out)


def _check_dom(field: str, expr: str) -> None:
    for part in field.split(","):
        if part in ("L", "LW"):
            continue
        if part.endswith("W"):
            _num(part[:-1], 1, 31, expr)
            if "," in field:
                raise InvalidSchedule(expr, "W cannot be combined with a list")
            continue
        _set(part, 1, 31, expr)


def _check_dow(field: str, expr: str) -> None:
    if "#" in field:
        if "," in field:
            raise InvalidSchedule(expr, "only one expression may use '#' in Day-of-week "
                                        "(e.g. '3#1,6#3' is invalid)")
        day, _, nth = field.partition("#")
        _num(day, 1, 7, expr, _DAYS)
        _num(nth, 1, 5, expr)
        return
    for part in field.split(","):
        if part == "L":
            continue
        if part.endswith("L"):
            _num(part[:-1], 1, 7, expr, _DAYS)
            continue
        _set(part, 1, 7, expr, _DAYS)


def _weekday_1_7(day: _dt.date) -> int:
    """1 = Sunday ... 7 = Saturday (EventBridge's numbering)."""
    return (day.isoweekday() % 7) + 1


def _dom_matches(field: str, day: _dt.date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for part in field.split(","):
        if part == "L":
            if day.day == last:
                return True
        elif part == "LW":
            if day == _nearest_weekday(day.year, day.month, last, last):
                return True
        elif part.endswith("W"):
            target = min(int(part[:-1]), last)
            if day == _nearest_weekday(day.year, day.month, target, last):
                return True
        elif day.day in _set(part, 1, 31, field):
            return True
    return False


def _nearest_weekday(year: int, month: int, target: int, last: int) -> _dt.date:
    """The weekday closest to ``target`` without leaving the month (Quartz semantics)."""
    d = _dt.date(year, month, target)
    wd = d.weekday()  # Mon=0 ... Sun=6
    if wd == 5:  # Saturday -> Friday, or Monday when the 1st is a Saturday
        return d - _dt.timedelta(days=1) if target > 1 else d + _dt.timedelta(days=2)
    if wd == 6:  # Sunday -> Monday, or Friday when it is the last day
        return d + _dt.timedelta(days=1) if target < last else d - _dt.timedelta(days=2)
    return d


def _dow_matches(field: str, day: _dt.date) -> bool:
    wd = _weekday_1_7(day)
    last = calendar.monthrange(day.year, day.month)[1]
    if "#" in field:
        d, _, nth = field.partition("#")
        want = _DAYS.get(d) or int(d)
        return wd == want and (day.day - 1) // 7 + 1 == int(nth)
    for part in field.split(","):
        if part == "L":
            if wd == 7:
                return True
        elif part.endswith("L"):
            want = _DAYS.get(part[:-1]) or int(part[:-1])
            if wd == want and day.day + 7 > last:
                return True
        elif wd in _set(part, 1, 7, field, _DAYS):
            return True
    return False
