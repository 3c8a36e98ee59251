"""The metrics AWS services publish about themselves, written into the endpoint's CloudWatch.

On AWS, Lambda, Glue, Athena and Step Functions put their own metrics into CloudWatch
(``AWS/Lambda``, ``Glue``, ``AWS/Athena``, ``AWS/States``) without the caller's credentials
and without IAM. The local executors do the same through :func:`emit`, straight into moto's
CloudWatch backend (no HTTP, no authorization), so GetMetricData / alarms / dashboards see them
exactly like metrics put by a client.

Example::

    emit("123456789012", "us-east-1", "AWS/Lambda", "Invocations", 1.0, "Count",
         {"FunctionName": "lakekit-ingest"})
"""
from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["emit", "emit_many"]


def _datum(name: str, value: float, unit: str, dimensions: dict[str, str],
           timestamp: _dt.datetime | None) -> dict[str, Any]:
    when = timestamp or _dt.datetime.now(_dt.UTC)
    if when.tzinfo is not None:  # moto keeps naive UTC datetimes
        when = when.astimezone(_dt.UTC).replace(tzinfo=None)
    return {"MetricName": name, "Value": float(value), "Unit": unit,
            "Dimensions": [{"Name": k, "Value": str(v)} for k, v in dimensions.items()],
            "Timestamp": when}


def emit_many(account: str, region: str, namespace: str,
              data: list[tuple[str, float, str, dict[str, str]]],
              timestamp: _dt.datetime | None = None) -> None:
    """Publish several ``(metric, value, unit, dimensions)`` of one namespace at once.

    Never raises: a service's own metrics are best effort (a failure is logged), they must not
    fail the run that emits them.
    """
    if not data:
        return
    try:
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[account][region]
        backend.put_metric_data(namespace, [_datum(n, v, u, d, timestamp) for n, v, u, d in data])
    except Exception:  # pragma: no cover - logged, never raised
        log.warning("could not publish %s metrics %s", namespace, [d[0] for d in data], exc_info=True)


def emit(account: str, region: str, namespace: str, metric: str, value: float, unit: str,
         dimensions: dict[str, str], timestamp: _dt.datetime | None = None) -> None:
    """Publish one datum of a service's own metric (see the module docstring)."""
    emit_many(account, region, namespace, [(metric, value, unit, dimensions)], timestamp)
