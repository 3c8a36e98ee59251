"""CloudWatch Embedded Metric Format (EMF): metrics extracted from a Lambda function's log lines.

On AWS, Lambda ships everything a function writes to stdout to CloudWatch Logs, and CloudWatch
Logs "extracts metrics from any log events that follow the embedded metric format
specification" (CloudWatch user guide, *Using the embedded metric format with Lambda*) - no
``cloudwatch:PutMetricData`` permission is involved. The local runtime does the same: after the
invocation's log events were written to the function's log group (with the execution role; no
logs, no metrics), :func:`publish` parses every event and puts what it extracts straight into the
endpoint's CloudWatch with :func:`lakekit.local.metrics.emit_many`.

What a valid document is (CloudWatch user guide, *Specification: Embedded metric format*):

- the event message is ONE JSON object, nothing before or after it;
- ``_aws`` is an object with ``Timestamp`` (epoch milliseconds, a number) and
  ``CloudWatchMetrics``, an array of MetricDirectives;
- a MetricDirective has ``Namespace`` (string, 1-1024 characters), ``Dimensions`` (an array of
  at least one DimensionSet; a DimensionSet is an array of 0-30 dimension keys) and ``Metrics``
  (at most 100 MetricDefinitions: ``Name``, optional ``Unit`` - a CloudWatch unit, default
  ``None`` - and ``StorageResolution`` 1 or 60);
- every referenced key is a TOP-LEVEL member of the root node ("A.a" names the member ``"A.a"``,
  never a nested one): a dimension target is a string of at most 1024 characters, a metric
  target a number or an array of at most 100 numbers.

Every DimensionSet makes its own metric; an array of values makes one sample per value.
A document that breaks any rule yields no metric at all and stays an ordinary log line (AWS
counts it in ``AWS/Logs`` ``EMFValidationErrors`` / ``EMFParsingErrors``; not published here).
``AWS/`` namespaces are refused as PutMetricData refuses them.

Example::

    >>> doc = {"_aws": {"Timestamp": 1574109732004, "CloudWatchMetrics": [{
    ...     "Namespace": "lambda-function-metrics", "Dimensions": [["functionVersion"]],
    ...     "Metrics": [{"Name": "time", "Unit": "Milliseconds"}]}]},
    ...     "functionVersion": "$LATEST", "time": 100}
    >>> [(m.namespace, m.name, m.value, m.unit, m.dimensions) for m in extract(json.dumps(doc))]
    [('lambda-function-metrics', 'time', 100.0, 'Milliseconds', {'functionVersion': '$LATEST'})]
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from lakekit.local.metrics import emit_many

__all__ = ["ExtractedMetric", "InvalidEmf", "extract", "parse", "publish", "UNITS"]

log = logging.getLogger(__name__)

#: the units the specification's JSON schema accepts (MetricDatum's StandardUnit)
UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None"})
MAX_EVENT_BYTES = 1024 * 1024
MAX_METRICS = 100
MAX_VALUES = 100
MAX_DIMENSIONS = 30
MAX_TARGET_CHARS = 1024
MAX_NAME_CHARS = 1024


class InvalidEmf(ValueError):
    """The event names ``_aws.CloudWatchMetrics`` but breaks the specification (reason in str)."""


@dataclass(frozen=True)
class ExtractedMetric:
    """One sample CloudWatch Logs extracts from an EMF event."""

    namespace: str
    name: str
    value: float
    unit: str
    dimensions: dict[str, str] = field(default_factory=dict)
    timestamp_ms: int = 0
    storage_resolution: int = 60


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def _string(value: object, what: str, limit: int = MAX_NAME_CHARS) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidEmf(f"{what} must be a string of 1-{limit} characters, got {value!r:.80}")
    return value


def _dimension_sets(directive: dict, root: dict) -> list[dict[str, str]]:
    sets = directive.get("Dimensions")
    if not isinstance(sets, list) or not sets:
        raise InvalidEmf("Dimensions must be an array of at least one DimensionSet")
    out = []
    for dimension_set in sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSIONS:
            raise InvalidEmf(f"a DimensionSet must be an array of at most {MAX_DIMENSIONS} "
                             f"dimension keys, got {dimension_set!r:.80}")
        dims: dict[str, str] = {}
        for key in dimension_set:
            _string(key, "a dimension key", 250)
            if key not in root:
                raise InvalidEmf(f"dimension {key!r} has no target member on the root node")
            value = root[key]
            if not isinstance(value, str) or len(value) > MAX_TARGET_CHARS:
                raise InvalidEmf(f"dimension target {key!r} must be a string of at most "
                                 f"{MAX_TARGET_CHARS} characters, got {value!r:.80}")
            dims[key] = value
        out.append(dims)
    return out


def _values(name: str, root: dict) -> list[float]:
    if name not in root:
        raise InvalidEmf(f"metric {name!r} has no target member on the root node")
    value = root[name]
    if _is_number(value):
        return [float(value)]
    if (isinstance(value, list) and value and len(value) <= MAX_VALUES
            and all(_is_number(v) for v in value)):
        return [float(v) for v in value]
    raise InvalidEmf(f"metric target {name!r} must be a number or an array of 1-{MAX_VALUES} "
                     f"numbers, got {value!r:.80}")


def parse(message: str) -> list[ExtractedMetric] | None:
    """The metrics of one log event: None if it is no EMF document (plain log line, JSON
    without ``_aws``); raises :class:`InvalidEmf` if it is one that breaks the specification."""
    text = message.strip()
    if not text.startswith("{") or '"_aws"' not in text:
        return None
    if len(text.encode()) > MAX_EVENT_BYTES:
        raise InvalidEmf(f"the event is larger than {MAX_EVENT_BYTES} bytes")
    try:
        root = json.loads(text)
    except ValueError as exc:
        raise InvalidEmf(f"the event is not one JSON object: {exc}") from None
    if not isinstance(root, dict) or "_aws" not in root:
        return None
    meta = root["_aws"]
    if not isinstance(meta, dict):
        raise InvalidEmf("_aws must be an object")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise InvalidEmf("_aws.CloudWatchMetrics must be an array of MetricDirectives")
    stamp = meta.get("Timestamp")
    if not _is_number(stamp) or stamp < 0:
        raise InvalidEmf("_aws.Timestamp must be a number: epoch milliseconds")
    out: list[ExtractedMetric] = []
    for directive in directives:
        if not isinstance(directive, dict):
            raise InvalidEmf("a MetricDirective must be an object")
        namespace = _string(directive.get("Namespace"), "Namespace")
        if namespace.startswith("AWS/"):
            raise InvalidEmf(f"namespace {namespace!r}: names beginning with 'AWS/' are reserved "
                             "for AWS services")
        sets = _dimension_sets(directive, root)
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
            raise InvalidEmf(f"Metrics must be an array of at most {MAX_METRICS} MetricDefinitions")
        for definition in metrics:
            if not isinstance(definition, dict):
                raise InvalidEmf("a MetricDefinition must be an object")
            name = _string(definition.get("Name"), "a metric Name")
            unit = definition.get("Unit", "None")
            if unit not in UNITS:
                raise InvalidEmf(f"metric {name!r}: Unit {unit!r} is not a CloudWatch unit")
            resolution = definition.get("StorageResolution", 60)
            if resolution not in (1, 60) or isinstance(resolution, bool):
                raise InvalidEmf(f"metric {name!r}: StorageResolution must be 1 or 60")
            for value in _values(name, root):
                out += [ExtractedMetric(namespace, name, value, unit, dims, int(stamp), resolution)
                        for dims in sets]
    return out


def extract(message: str) -> list[ExtractedMetric]:
    """The metrics of one log event; [] for a plain line and for invalid EMF (AWS ignores it)."""
    try:
        return parse(message) or []
    except InvalidEmf:
        return []


def publish(account: str, region: str, events: Iterable[tuple[int, str]], source: str = "") -> int:
    """Extract and publish the EMF metrics of ``(epoch ms, message)`` log events that were
    delivered to CloudWatch Logs; returns how many samples were published. Never raises."""
    batches: dict[tuple[str, int], list[tuple[str, float, str, dict[str, str]]]] = defaultdict(list)
    for _, message in events:
        try:
            metrics = parse(message)
        except InvalidEmf as exc:
            log.info("%s: an EMF log event was left as a log line, no metric extracted: %s",
                     source or "log", exc)
            continue
        for m in metrics or ():
            batches[(m.namespace, m.timestamp_ms)].append((m.name, m.value, m.unit, m.dimensions))
    count = 0
    for (namespace, stamp), data in batches.items():
        when = _dt.datetime.fromtimestamp(stamp / 1000, _dt.UTC)
        emit_many(account, region, namespace, data, when)
        count += len(data)
    return count
