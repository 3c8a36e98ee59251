"""EventBridge that fires locally: scheduled rules, S3 -> EventBridge, PutEvents, targets.

moto stores rules and targets (PutRule, PutTargets, EnableRule...); this module makes them run:

- **Scheduled rules** (``rate(...)`` / ``cron(...)`` on the default bus, ENABLED only) fire
  from a background thread, :mod:`lakekit.local.events.scheduler` - with the time-compression
  knob ``LAKEKIT_EVENTS_TIME_SCALE`` (``60`` = a minute per second) and phases that survive a
  restart. PutRule refuses a ScheduleExpression EventBridge refuses (``ValidationException``
  "Parameter ScheduleExpression is not valid.") - moto accepts any ``cron(...)``.
- **S3 -> EventBridge**: a bucket whose notification configuration has
  ``EventBridgeConfiguration`` sends every object event to the default bus, with S3's exact
  EventBridge JSON (:func:`lakekit.local.events.envelope.s3_event`).
- **PutEvents**: custom events are validated per entry as AWS does and go to the named bus.
- **Matching and targets**: :mod:`lakekit.local.events.delivery` - moto's EventPattern matcher,
  Lambda (resource-based policy for events.amazonaws.com), Step Functions (the target's
  RoleArn assumed as events.amazonaws.com), SQS, SNS; Input / InputPath / InputTransformer;
  FailedInvocations and the target's dead-letter queue on failure.

Inside the endpoint process::

    from lakekit.local.services import events_scheduler
    events_scheduler.deliveries(rule="lakekit-api-pull-schedule", limit=5)
"""
from __future__ import annotations

import json
import logging
from typing import Any

from lakekit.local import runtime
from lakekit.local.events import envelope
from lakekit.local.events.delivery import Bus
from lakekit.local.events.schedule import INVALID_MESSAGE, InvalidSchedule, parse
from lakekit.local.events.scheduler import Scheduler
from lakekit.local.lambda_runtime import s3events
from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, observer, operation

__all__ = ["BUS", "SCHEDULER", "deliveries", "wait_idle"]

log = logging.getLogger(__name__)

SCHEDULES = store("events.schedules")
"""Rule ARN -> {expr, anchor, next, clock} (scheduler time, epoch seconds)."""

BUS = Bus(endpoint_url=runtime.endpoint_url)
SCHEDULER = Scheduler(BUS, SCHEDULES, lock=runtime.state_lock)
MAX_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024


def deliveries(rule: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The latest target invocations (newest last), optionally of one rule (name or ARN)."""
    rows = [r.as_dict() for r in list(BUS.records)]
    if rule:
        rows = [r for r in rows if r["rule"] == rule or r["rule"].endswith(f"/{rule}")]
    return rows[-limit:]


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until no target invocation is queued or running; False if ``timeout`` passed."""
    return BUS.wait_idle(timeout)


def _backend(req: AwsRequest) -> Any:
    from moto.events.models import events_backends

    return events_backends[req.account_id][req.region]


def _moto(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from moto.core.exceptions import JsonRESTError

    try:
        return fn(*args, **kwargs)
    except JsonRESTError as err:
        raise AwsError(err.error_type, err.message, int(getattr(err, "code", 400) or 400)) from None


# -- PutRule: the schedule is validated like EventBridge does ---------------------------------
@operation("events", "PutRule")
def put_rule(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    expr = p.get("ScheduleExpression")
    if expr:
        try:
            parse(expr)
        except InvalidSchedule as exc:
            log.info("PutRule %s refused: %s", p.get("Name"), exc)
            raise AwsError("ValidationException", INVALID_MESSAGE, 400) from None
    rule = _moto(_backend(req).put_rule, p.get("Name"), description=p.get("Description"),
                 event_bus_arn=p.get("EventBusName"), event_pattern=p.get("EventPattern"),
                 role_arn=p.get("RoleArn"), scheduled_expression=expr, state=p.get("State"),
                 tags=p.get("Tags"))
    SCHEDULER.wake()
    return {"RuleArn": rule.arn}


@observer("events", "EnableRule")
@observer("events", "DisableRule")
@observer("events", "DeleteRule")
@observer("events", "PutTargets")
@observer("events", "RemoveTargets")
def _rules_changed(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    SCHEDULER.wake()


# -- PutEvents --------------------------------------------------------------------------------
def _entry_error(entry: dict[str, Any], buses: dict[str, Any]) -> tuple[str, str] | None:
    for name in ("Source", "DetailType", "Detail"):
        if not entry.get(name):
            return "InvalidArgument", f"Parameter {name} is not valid. Reason: {name} is a required argument."
    if str(entry["Source"]).startswith("aws."):
        return "NotAuthorizedForSourceException", "Not authorized for the source."
    try:
        detail = json.loads(entry["Detail"])
    except (TypeError, ValueError):
        return "MalformedDetail", "Detail is malformed."
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed."
    bus = _bus_name(entry.get("EventBusName"))
    if bus not in buses:
        return "ResourceNotFoundException", f"Event bus {bus} does not exist."
    return None


def _bus_name(value: Any) -> str:
    text = str(value or "default")
    return text.split("event-bus/", 1)[1] if text.startswith("arn:") and "event-bus/" in text else text


@operation("events", "PutEvents")
def put_events(req: AwsRequest) -> dict[str, Any]:
    entries = req.params.get("Entries") or []
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise AwsError("ValidationException", "1 validation error detected: Value '[PutEventsRequestEntry]' "
                       "at 'entries' failed to satisfy constraint: Member must have length less than "
                       f"or equal to {MAX_ENTRIES}" if entries else "1 validation error detected: Value "
                       "'[]' at 'entries' failed to satisfy constraint: Member must have length "
                       "greater than or equal to 1", 400)
    size = len(json.dumps(entries).encode())
    if size > MAX_BATCH_BYTES:
        raise AwsError("ValidationException", f"Total size of the entries in the request is over the "
                       f"limit ({size} > {MAX_BATCH_BYTES} bytes): send fewer or smaller events.", 400)
    buses = _backend(req).event_buses
    out: list[dict[str, Any]] = []
    for entry in entries:
        problem = _entry_error(entry, buses)
        if problem:
            out.append({"ErrorCode": problem[0], "ErrorMessage": problem[1]})
            continue
        event = envelope.custom_event(entry, req.account_id, req.region, entry.get("Time"))
        BUS.publish(event, _bus_name(entry.get("EventBusName")))
        out.append({"EventId": event["id"]})
    return {"FailedEntryCount": sum(1 for e in out if "ErrorCode" in e), "Entries": out}


# -- S3 -> EventBridge ------------------------------------------------------------------------
def _on_s3(account_id: str, event_name: str, bucket: Any, key: Any) -> None:
    config = getattr(bucket, "notification_configuration", None)
    if config is None or getattr(config, "event_bridge", None) is None:
        return
    version = getattr(key, "version_id", None)
    versioned = getattr(bucket, "is_versioned", False)
    event = envelope.s3_event(
        event_name=event_name, account=account_id, region=bucket.region_name, bucket=bucket.name,
        key=getattr(key, "name", "") or "", size=getattr(key, "size", None),
        etag=getattr(key, "etag", None), version_id=version if versioned else None,
        delete_marker=event_name.endswith("DeleteMarkerCreated"))
    if event is not None:
        BUS.publish(event, "default")


s3events.listen(_on_s3)

if runtime.endpoint_url():  # inside the endpoint process: schedules run
    SCHEDULER.start()
