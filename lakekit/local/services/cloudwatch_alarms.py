"""How a CloudWatch metric alarm's state follows from its metric's datapoints (pure functions).

Follows the CloudWatch user guide, "Using Amazon CloudWatch alarms" -> "Evaluating an alarm"
and "Configuring how CloudWatch alarms treat missing data": the last ``EvaluationPeriods`` (N)
periods of ``Period`` seconds are aggregated with the alarm's ``Statistic`` /
``ExtendedStatistic``; the alarm is ``ALARM`` when at least ``DatapointsToAlarm`` (M, default
N) of them breach the threshold; missing periods count as good (``notBreaching``), bad
(``breaching``), are skipped keeping the current state when all are missing (``ignore``), or
make the alarm ``INSUFFICIENT_DATA`` when all are missing (``missing``, the default).

The state reason and ``StateReasonData`` JSON are written the way CloudWatch writes them, e.g.
``Threshold Crossed: 1 out of the last 1 datapoints [5.0 (01/10/19 13:46:00)] was greater than
the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).``

:func:`evaluate` is the whole decision; :mod:`lakekit.local.services.cloudwatch` feeds it the
datapoints of moto's CloudWatch backend.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["AlarmSpec", "Evaluation", "evaluate", "aggregate", "iso", "COMPARISONS"]

COMPARISONS: dict[str, tuple[str, Any]] = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}


@dataclass(frozen=True)
class AlarmSpec:
    """What evaluating one metric alarm needs (read from moto's ``Alarm``)."""

    name: str
    statistic: str | None          # SampleCount | Average | Sum | Minimum | Maximum
    extended_statistic: str | None  # p90, p99.9 ...
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int | None
    threshold: float
    comparison: str
    treat_missing: str              # missing | notBreaching | breaching | ignore
    state: str                      # current StateValue


@dataclass(frozen=True)
class Evaluation:
    state: str
    reason: str
    reason_data: str


def iso(when: _dt.datetime) -> str:
    """CloudWatch's timestamp form in reasons and messages: ``2019-10-01T13:56:40.985+0000``."""
    when = when.astimezone(_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def _short(when: _dt.datetime) -> str:
    return when.astimezone(_dt.UTC).strftime("%d/%m/%y %H:%M:%S")


def aggregate(values: list[tuple[float, float, float, float]], statistic: str | None,
              extended: str | None, raw: list[float]) -> tuple[float, float] | None:
    """(value, sampleCount) of one period from ``(sum, min, max, count)`` parts.

    ``raw``: the single values of the period (percentiles need them; aggregated
    ``StatisticValues`` data cannot give percentiles, as on AWS)."""
    if not values:
        return None
    total = sum(v[0] for v in values)
    count = sum(v[3] for v in values)
    if extended:
        if not raw:
            return None
        pct = float(extended.lstrip("pP"))
        ordered = sorted(raw)
        rank = max(0, math.ceil(pct / 100.0 * len(ordered)) - 1)
        return ordered[min(rank, len(ordered) - 1)], count
    stat = statistic or "Average"
    if stat == "Sum":
        return total, count
    if stat == "SampleCount":
        return count, count
    if stat == "Minimum":
        return min(v[1] for v in values), count
    if stat == "Maximum":
        return max(v[2] for v in values), count
    return (total / count if count else 0.0), count


def _num(value: float) -> str:
    return repr(float(value))


def evaluate(spec: AlarmSpec, periods: list[tuple[_dt.datetime, tuple[float, float] | None]],
             now: _dt.datetime) -> Evaluation:
    """The alarm's state from its last N periods, newest LAST: ``(period start, (value,
    sampleCount) | None)``."""
    n = spec.evaluation_periods
    m = spec.datapoints_to_alarm or n
    word, breaches = COMPARISONS[spec.comparison]
    stat_name = spec.extended_statistic or spec.statistic or "Average"
    present = [(ts, v) for ts, v in periods if v is not None]
    missing = len(periods) - len(present)
    treat = spec.treat_missing or "missing"
    data: dict[str, Any] = {"version": "1.0", "queryDate": iso(now)}
    if periods:
        data["startDate"] = iso(periods[0][0])
    data["statistic" if not spec.extended_statistic else "extendedStatistic"] = stat_name
    data.update({"period": spec.period,
                 "recentDatapoints": [v[0] for _, v in reversed(present)],
                 "threshold": float(spec.threshold)})
    evaluated = []
    for ts, v in reversed(periods):
        item: dict[str, Any] = {"timestamp": iso(ts)}
        if v is not None:
            item.update({"sampleCount": v[1], "value": v[0]})
        evaluated.append(item)
    data["evaluatedDatapoints"] = evaluated
    reason_data = json.dumps(data, separators=(",", ":"))

    if not present and treat in ("missing", "ignore"):
        if treat == "ignore" and spec.state != "INSUFFICIENT_DATA":
            return Evaluation(spec.state, "", reason_data)  # no change, nothing to say
        few = "1 datapoint was" if len(periods) == 1 else f"{len(periods)} datapoints were"
        return Evaluation("INSUFFICIENT_DATA", f"Insufficient Data: {few} unknown.", reason_data)

    bad = [(ts, v) for ts, v in present if breaches(v[0], spec.threshold)]
    good = [(ts, v) for ts, v in present if not breaches(v[0], spec.threshold)]
    n_bad = len(bad) + (missing if treat == "breaching" else 0)
    new_state = "ALARM" if n_bad >= m else "OK"
    shown = bad if new_state == "ALARM" else good
    listed = ", ".join(f"{_num(v[0])} ({_short(ts)})" for ts, v in reversed(shown))
    count = len(shown)
    verb = "was" if count == 1 else "were"
    neg = "" if new_state == "ALARM" else "not "
    old = spec.state
    need = m if new_state == "ALARM" else max(1, n - m + 1)
    plural = "datapoint" if need == 1 else "datapoints"
    if count:
        reason = (f"Threshold Crossed: {count} out of the last {n} datapoints [{listed}] {verb} "
                  f"{neg}{word} the threshold ({_num(spec.threshold)}) (minimum {need} {plural} "
                  f"for {old} -> {new_state} transition).")
    else:
        reason = f"Threshold Crossed: no datapoints were received for {n} period{'s' if n > 1 else ''}"
    if missing and treat in ("breaching", "notBreaching"):
        kind = "Breaching" if treat == "breaching" else "NonBreaching"
        one = "1 missing datapoint was" if missing == 1 else f"{missing} missing datapoints were"
        reason = (reason.rstrip(".") + f" and {one} treated as [{kind}].") if count else (
            f"Threshold Crossed: no datapoints were received for {missing} period"
            f"{'s' if missing > 1 else ''} and {one} treated as [{kind}].")
    return Evaluation(new_state, reason, reason_data)

