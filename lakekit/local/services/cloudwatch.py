"""CloudWatch alarms that change state locally: evaluation, history and actions.

moto stores metric alarms (PutMetricAlarm / DescribeAlarms / SetAlarmState) but never evaluates
them, starts them in ``OK`` and has no DescribeAlarmHistory. Here, as the CloudWatch user guide
("Using Amazon CloudWatch alarms") describes:

- a new alarm starts ``INSUFFICIENT_DATA`` ("Unchecked: Initial alarm creation"); an update
  keeps the alarm's state (PutMetricAlarm API reference); both write a ``ConfigurationUpdate``
  history item;
- a background evaluator (one daemon thread in the endpoint process, at most
  ``MAX_ALARMS_PER_PASS`` alarms a pass) computes each metric alarm's state from its metric's
  datapoints per period (:mod:`lakekit.local.services.cloudwatch_alarms`), sets StateValue /
  StateReason / StateReasonData / StateUpdatedTimestamp, writes a ``StateUpdate`` history item
  and, on a transition with ``ActionsEnabled``, runs the AlarmActions / OKActions /
  InsufficientDataActions: an SNS topic gets the alarm JSON message CloudWatch sends
  (subject ``ALARM: "name" in US East (N. Virginia)``), recorded as an ``Action`` history item;
- ``SetAlarmState`` runs the actions of the state it sets, as on AWS;
- ``DescribeAlarmHistory`` answers from the history kept here (30 days, also after the alarm
  is deleted).

Time compression for workshops and tests: ``LAKEKIT_CW_TIME_SCALE=60`` makes a 60-second period
last one real second (evaluation windows are ``Period / scale`` real seconds, aligned to the
clock); ``LAKEKIT_CW_ALARM_TICK`` is the real seconds between evaluation passes (default
``10 / scale``, at least 0.2). Both are read when the endpoint starts.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
import time
from typing import Any

from lakekit.local import runtime
from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, observer, operation
from lakekit.local.services import cloudwatch_alarms as ca

__all__ = ["Evaluator", "EVALUATOR", "evaluate_all", "history", "time_scale"]

log = logging.getLogger(__name__)

HISTORY = store("cloudwatch.alarm_history")
"""``"<account>|<region>"`` -> list of AlarmHistoryItem dicts (Timestamp: epoch seconds)."""
MIRROR = store("cloudwatch.alarm_state")
"""Alarm ARN -> the state we last set or saw (to notice SetAlarmState and keep it on updates)."""

MAX_ALARMS_PER_PASS = 1000
HISTORY_DAYS = 30
_HISTORY_CAP = 10000
_LOCK = threading.RLock()


def time_scale() -> float:
    try:
        return max(1.0, float(os.environ.get("LAKEKIT_CW_TIME_SCALE", "1")))
    except ValueError:
        return 1.0


def _tick() -> float:
    try:
        return max(0.2, float(os.environ["LAKEKIT_CW_ALARM_TICK"]))
    except (KeyError, ValueError):
        return max(0.2, 10.0 / time_scale())


# -- history ------------------------------------------------------------------------------
def _add_history(account: str, region: str, alarm: str, kind: str, summary: str,
                 data: dict[str, Any], when: float | None = None, alarm_type: str = "MetricAlarm"
                 ) -> None:
    key = f"{account}|{region}"
    now = time.time() if when is None else when
    item = {"AlarmName": alarm, "AlarmType": alarm_type, "Timestamp": now,
            "HistoryItemType": kind, "HistorySummary": summary,
            "HistoryData": json.dumps(data, separators=(",", ":"))}
    with runtime.state_lock().shared(), _LOCK:
        items = HISTORY.setdefault(key, [])
        items.append(item)
        cutoff = now - HISTORY_DAYS * 86400
        if len(items) > _HISTORY_CAP or (items and items[0]["Timestamp"] < cutoff):
            HISTORY[key] = [i for i in items if i["Timestamp"] >= cutoff][-_HISTORY_CAP:]


def history(account: str, region: str, alarm: str | None = None) -> list[dict[str, Any]]:
    """The history items of one account/region (oldest first), optionally of one alarm."""
    with _LOCK:
        items = list(HISTORY.get(f"{account}|{region}", []))
    return [i for i in items if alarm is None or i["AlarmName"] == alarm]


# -- moto access --------------------------------------------------------------------------
def _backends() -> list[tuple[str, str, Any]]:
    from moto.cloudwatch.models import cloudwatch_backends

    out = []
    for account, regions in list(cloudwatch_backends.items()):
        for region, backend in list(regions.items()):
            out.append((account, region, backend))
    return out


def _backend(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region]


def _utc(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value.astimezone(_dt.UTC)
    return _dt.datetime.fromtimestamp(float(value), _dt.UTC)


def _set_state(alarm: Any, state: str, reason: str, reason_data: str, when: _dt.datetime) -> None:
    alarm.state_value = state
    alarm.state_reason = reason
    alarm.state_reason_data = reason_data
    alarm.state_updated_timestamp = when.astimezone(_dt.UTC).replace(tzinfo=None)
    MIRROR[alarm.alarm_arn] = {"state": state, "reason": reason, "data": reason_data,
                               "updated": when.timestamp()}


# -- observers ----------------------------------------------------------------------------
@observer("monitoring", "PutMetricAlarm")
def _on_put_alarm(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    name = str(req.params.get("AlarmName", ""))
    alarm = _backend(req.account_id, req.region).alarms.get(name)
    if alarm is None:
        return
    now = _dt.datetime.now(_dt.UTC)
    with runtime.state_lock().shared(), _LOCK:
        known = MIRROR.get(alarm.alarm_arn)
        if known:  # an update keeps the alarm's state (PutMetricAlarm API reference)
            _set_state(alarm, known["state"], known["reason"], known["data"],
                       _dt.datetime.fromtimestamp(known["updated"], _dt.UTC))
        else:
            _set_state(alarm, "INSUFFICIENT_DATA", "Unchecked: Initial alarm creation", "{}", now)
    verb = "updated" if known else "created"
    _add_history(req.account_id, req.region, name, "ConfigurationUpdate", f'Alarm "{name}" {verb}',
                 {"version": "1.0", "type": "Update" if known else "Create",
                  ("updatedAlarm" if known else "createdAlarm"): _alarm_config(alarm)})
    EVALUATOR.wake()


@observer("monitoring", "DeleteAlarms")
def _on_delete(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    names = _list_param(req.params, "AlarmNames")
    for name in names:
        arn = f"arn:aws:cloudwatch:{req.region}:{req.account_id}:alarm:{name}"
        with runtime.state_lock().shared(), _LOCK:
            existed = MIRROR.pop(arn, None)
        if existed is not None:
            _add_history(req.account_id, req.region, name, "ConfigurationUpdate",
                         f'Alarm "{name}" deleted', {"version": "1.0", "type": "Delete"})


@observer("monitoring", "SetAlarmState")
def _on_set_state(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    name = str(req.params.get("AlarmName", ""))
    alarm = _backend(req.account_id, req.region).alarms.get(name)
    if alarm is None:
        return
    with runtime.state_lock().shared(), _LOCK:
        old = MIRROR.get(alarm.alarm_arn) or {"state": "INSUFFICIENT_DATA", "reason": "", "data": "{}"}
        _set_state(alarm, alarm.state_value, alarm.state_reason, alarm.state_reason_data or "{}",
                   _dt.datetime.now(_dt.UTC))
    _transitioned(req.account_id, req.region, alarm, old)


def _alarm_config(alarm: Any) -> dict[str, Any]:
    return {"alarmName": alarm.name, "namespace": alarm.namespace, "metricName": alarm.metric_name,
            "dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
            "statistic": alarm.statistic, "extendedStatistic": alarm.extended_statistic,
            "period": alarm.period, "evaluationPeriods": alarm.evaluation_periods,
            "datapointsToAlarm": alarm.datapoints_to_alarm, "threshold": alarm.threshold,
            "comparisonOperator": alarm.comparison_operator,
            "treatMissingData": alarm.treat_missing_data, "actionsEnabled": alarm.actions_enabled,
            "alarmActions": list(alarm.alarm_actions or []), "okActions": list(alarm.ok_actions or []),
            "insufficientDataActions": list(alarm.insufficient_data_actions or [])}


def _list_param(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(v) for k, v in sorted(params.items()) if k.startswith(f"{name}.member.")]


# -- DescribeAlarmHistory ---------------------------------------------------------------------
@operation("monitoring", "DescribeAlarmHistory")
def describe_alarm_history(req: AwsRequest) -> dict[str, Any]:
    if req.protocol != "json":
        raise AwsError("NotImplemented", "The local endpoint answers DescribeAlarmHistory in the "
                       "JSON protocol only (botocore >= 1.38 sends it); upgrade the SDK.", 501,
                       sender=False)
    p = req.params
    types = p.get("AlarmTypes") or ["MetricAlarm"]
    kind = p.get("HistoryItemType")
    if kind and kind not in ("ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate",
                             "AlarmContributorAction"):
        raise AwsError("ValidationError", f"1 validation error detected: Value '{kind}' at "
                       "'historyItemType' failed to satisfy constraint: Member must satisfy enum "
                       "value set: [ConfigurationUpdate, StateUpdate, Action, "
                       "AlarmContributorStateUpdate, AlarmContributorAction]")
    start = _utc(p["StartDate"]).timestamp() if p.get("StartDate") is not None else None
    end = _utc(p["EndDate"]).timestamp() if p.get("EndDate") is not None else None
    items = [i for i in history(req.account_id, req.region, p.get("AlarmName"))
             if i["AlarmType"] in types and (not kind or i["HistoryItemType"] == kind)
             and (start is None or i["Timestamp"] >= start) and (end is None or i["Timestamp"] <= end)]
    if p.get("ScanBy", "TimestampDescending") == "TimestampDescending":
        items.reverse()
    size = int(p.get("MaxRecords") or 100)
    if not 1 <= size <= 100:
        raise AwsError("ValidationError", f"1 validation error detected: Value '{size}' at "
                       "'maxRecords' failed to satisfy constraint: Member must have value less "
                       "than or equal to 100 and greater than or equal to 1")
    offset = 0
    if p.get("NextToken"):
        try:
            offset = int(str(p["NextToken"]))
        except ValueError:
            raise AwsError("InvalidNextToken", "The service couldn't process the NextToken: pass "
                           "the NextToken of the previous response unchanged.") from None
    page = items[offset:offset + size]
    out: dict[str, Any] = {"AlarmHistoryItems": page}
    if offset + size < len(items):
        out["NextToken"] = str(offset + size)
    return out


# -- evaluation ---------------------------------------------------------------------------------
def _spec(alarm: Any) -> ca.AlarmSpec:
    return ca.AlarmSpec(
        name=alarm.name, statistic=alarm.statistic, extended_statistic=alarm.extended_statistic,
        period=int(alarm.period or 60), evaluation_periods=int(alarm.evaluation_periods or 1),
        datapoints_to_alarm=int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
        threshold=float(alarm.threshold or 0.0), comparison=alarm.comparison_operator,
        treat_missing=alarm.treat_missing_data or "missing", state=alarm.state_value)


def _dims(items: Any) -> frozenset[tuple[str, str]]:
    out = set()
    for d in items or []:
        if isinstance(d, dict):
            out.add((str(d.get("Name")), str(d.get("Value"))))
        else:
            out.add((str(d.name), str(d.value)))
    return frozenset(out)


def _periods(backend: Any, alarm: Any, now: float, scale: float
             ) -> list[tuple[_dt.datetime, tuple[float, float] | None]]:
    period = int(alarm.period or 60)
    n = int(alarm.evaluation_periods or 1)
    width = period / scale
    end = (now // width) * width
    start = end - n * width
    want = _dims(alarm.dimensions)
    buckets: list[list[tuple[float, float, float, float]]] = [[] for _ in range(n)]
    raws: list[list[float]] = [[] for _ in range(n)]
    for md in backend.get_all_metrics():
        if md.namespace != alarm.namespace or md.name != alarm.metric_name:
            continue
        if alarm.unit and md.unit and md.unit != alarm.unit:
            continue
        ts = _utc(md.timestamp).timestamp()
        if not start <= ts < end or _dims(md.dimensions) != want:
            continue
        i = int((ts - start) // width)
        if hasattr(md, "value"):
            v = float(md.value)
            buckets[i].append((v, v, v, 1.0))
            raws[i].append(v)
        else:
            buckets[i].append((float(md.sum), float(md.min), float(md.max), float(md.sample_count)))
    out = []
    for i in range(n):
        # the period's timestamp as CloudWatch shows it: real-clock start of the window
        ts = _dt.datetime.fromtimestamp(start + i * width, _dt.UTC)
        out.append((ts, ca.aggregate(buckets[i], alarm.statistic, alarm.extended_statistic, raws[i])))
    return out


def evaluate_all(now: float | None = None) -> int:
    """One pass over every metric alarm of every account/region; the number of transitions."""
    when = time.time() if now is None else now
    scale = time_scale()
    changed = 0
    seen = 0
    for account, region, backend in _backends():
        for alarm in list(backend.alarms.values()):
            if seen >= MAX_ALARMS_PER_PASS:
                return changed
            if getattr(alarm, "rule", None) or alarm.metric_data_queries or not alarm.metric_name:
                continue  # composite and metric-math alarms are not evaluated locally
            if alarm.comparison_operator not in ca.COMPARISONS:
                continue  # anomaly-detection bands are not evaluated locally
            seen += 1
            try:
                if _evaluate_one(account, region, backend, alarm, when, scale):
                    changed += 1
            except Exception:
                log.exception("evaluating alarm %s failed", alarm.name)
    return changed


def _evaluate_one(account: str, region: str, backend: Any, alarm: Any, now: float, scale: float
                  ) -> bool:
    with runtime.state_lock().shared(), _LOCK:
        if backend.alarms.get(alarm.name) is not alarm:
            return False  # replaced or deleted meanwhile
        if alarm.alarm_arn not in MIRROR:
            MIRROR[alarm.alarm_arn] = {"state": alarm.state_value, "reason": alarm.state_reason,
                                       "data": alarm.state_reason_data or "{}",
                                       "updated": _utc(alarm.state_updated_timestamp).timestamp()}
        result = ca.evaluate(_spec(alarm), _periods(backend, alarm, now, scale),
                             _dt.datetime.fromtimestamp(now, _dt.UTC))
        if result.state == alarm.state_value:
            return False
        old = dict(MIRROR[alarm.alarm_arn])
        _set_state(alarm, result.state, result.reason, result.reason_data,
                   _dt.datetime.fromtimestamp(now, _dt.UTC))
    _transitioned(account, region, alarm, old)
    return True


def _transitioned(account: str, region: str, alarm: Any, old: dict[str, Any]) -> None:
    new = MIRROR[alarm.alarm_arn]
    if old.get("state") == new["state"]:
        return
    old_part: dict[str, Any] = {"stateValue": old.get("state"), "stateReason": old.get("reason", "")}
    if old.get("data") and old["data"] != "{}":
        old_part["stateReasonData"] = _json(old["data"])
    new_part: dict[str, Any] = {"stateValue": new["state"], "stateReason": new["reason"]}
    if new.get("data") and new["data"] != "{}":
        new_part["stateReasonData"] = _json(new["data"])
    _add_history(account, region, alarm.name, "StateUpdate",
                 f"Alarm updated from {old.get('state')} to {new['state']}",
                 {"version": "1.0", "oldState": old_part, "newState": new_part}, new["updated"])
    if not alarm.actions_enabled:
        return
    actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
               "INSUFFICIENT_DATA": alarm.insufficient_data_actions}.get(new["state"]) or []
    for arn in actions:
        _run_action(account, region, alarm, arn, old, new)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- actions ------------------------------------------------------------------------------------
def _region_name(region: str) -> str:
    try:
        import botocore.session

        data = botocore.session.get_session().get_data("endpoints")
        for partition in data["partitions"]:
            if region in partition.get("regions", {}):
                return partition["regions"][region]["description"]
    except Exception:
        pass
    return region


def alarm_message(account: str, region: str, alarm: Any, old: dict[str, Any], new: dict[str, Any]
                  ) -> dict[str, Any]:
    """The JSON CloudWatch publishes to an SNS topic for a state change (single-metric alarm)."""
    stat_type = "ExtendedStatistic" if alarm.extended_statistic else "Statistic"
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name, "Namespace": alarm.namespace, "StatisticType": stat_type,
        "Statistic" if stat_type == "Statistic" else "ExtendedStatistic":
            (alarm.statistic or "").upper() if stat_type == "Statistic" else alarm.extended_statistic,
        "Unit": alarm.unit,
        "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
        "Period": int(alarm.period), "EvaluationPeriods": int(alarm.evaluation_periods),
        "ComparisonOperator": alarm.comparison_operator, "Threshold": float(alarm.threshold),
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }
    if alarm.datapoints_to_alarm:
        trigger["DatapointsToAlarm"] = int(alarm.datapoints_to_alarm)
    return {
        "AlarmName": alarm.name, "AlarmDescription": alarm.description or None,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": ca.iso(_utc(alarm.configuration_updated_timestamp)),
        "NewStateValue": new["state"], "NewStateReason": new["reason"],
        "StateChangeTime": ca.iso(_dt.datetime.fromtimestamp(new["updated"], _dt.UTC)),
        "Region": _region_name(region), "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old.get("state"), "OKActions": list(alarm.ok_actions or []),
        "AlarmActions": list(alarm.alarm_actions or []),
        "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
        "Trigger": trigger,
    }


def _run_action(account: str, region: str, alarm: Any, arn: str, old: dict[str, Any],
                new: dict[str, Any]) -> None:
    when = new["updated"]
    base = {"actionState": "Succeeded", "stateUpdateTimestamp": int(when * 1000),
            "notificationResource": arn}
    if arn.startswith("arn:aws:sns:"):
        message = json.dumps(alarm_message(account, region, alarm, old, new))
        subject = f'{new["state"]}: "{alarm.name}" in {_region_name(region)}'[:100]
        try:
            _publish(arn, message, subject)
        except Exception as exc:
            log.warning("alarm %s: publishing to %s failed: %s", alarm.name, arn, exc)
            _add_history(account, region, alarm.name, "Action", f"Failed to execute action {arn}",
                         {**base, "actionState": "Failed", "error": str(exc)})
            return
        _add_history(account, region, alarm.name, "Action", f"Successfully executed action {arn}",
                     {**base, "publishedMessage": message})
        return
    _add_history(account, region, alarm.name, "Action", f"Failed to execute action {arn}",
                 {**base, "actionState": "Failed",
                  "error": "The local endpoint runs SNS topic alarm actions only; this action "
                           "runs on AWS (LAKEKIT_TARGET=aws)."})


def _publish(topic_arn: str, message: str, subject: str) -> None:
    """CloudWatch publishes as the service, not as a caller: straight into moto's SNS."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    backend = sns_backends[parts[4]][parts[3]]
    with runtime.state_lock().shared():
        backend.publish(message, arn=topic_arn, subject=subject)


# -- the background thread ---------------------------------------------------------------------
class Evaluator:
    """One daemon thread evaluating every alarm each tick; ``stop()`` ends it."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.passes = 0

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="lakekit-cw-alarms", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        tick = _tick()
        log.info("CloudWatch alarm evaluator: every %.2f s, time scale %.0fx", tick, time_scale())
        while not self._stop.is_set():
            try:
                evaluate_all()
            except Exception:
                log.exception("CloudWatch alarm evaluation pass failed")
            self.passes += 1
            self._wake.wait(tick)
            self._wake.clear()


EVALUATOR = Evaluator()

if runtime.endpoint_url():  # inside the endpoint process (configured before services load)
    import atexit

    EVALUATOR.start()
    atexit.register(EVALUATOR.stop)
