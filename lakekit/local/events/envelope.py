"""The events EventBridge puts on a bus, exactly as AWS shapes them.

* :func:`scheduled_event` - what a scheduled rule sends ("Scheduled Event", source
  ``aws.events``, ``resources`` = the rule ARN, ``detail`` = ``{}``; EventBridge User Guide,
  "Creating rules that run on a schedule");
* :func:`s3_event` - S3 -> EventBridge (Amazon S3 User Guide, "Using EventBridge" and
  "EventBridge event message structure"): ``Object Created`` (``reason`` = the API: PutObject,
  POST Object, CopyObject, CompleteMultipartUpload) and ``Object Deleted`` (``reason``
  DeleteObject, ``deletion-type`` Permanently Deleted / Delete Marker Created);
* :func:`custom_event` - a PutEvents entry.

Every event also carries ``ingestion-time`` (epoch seconds) for the input transformer's
``aws.events.event.ingestion-time``; it is removed before a target sees the event.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import time
import uuid
from typing import Any

__all__ = ["scheduled_event", "s3_event", "custom_event", "iso", "S3_DETAIL_TYPES"]

S3_DETAIL_TYPES = {
    "ObjectCreated": "Object Created",
    "ObjectRemoved": "Object Deleted",
    "ObjectRestore:Post": "Object Restore Initiated",
    "ObjectRestore:Completed": "Object Restore Completed",
    "ObjectRestore:Delete": "Object Restore Expired",
    "ObjectTagging:Put": "Object Tags Added",
    "ObjectTagging:Delete": "Object Tags Deleted",
    "ObjectAcl:Put": "Object ACL Updated",
}
_CREATED_REASON = {"Put": "PutObject", "Post": "POST Object", "Copy": "CopyObject",
                   "CompleteMultipartUpload": "CompleteMultipartUpload"}


def iso(when: _dt.datetime | float) -> str:
    """``2024-03-01T10:00:00Z`` (EventBridge's ``time``: UTC, whole seconds)."""
    if not isinstance(when, _dt.datetime):
        when = _dt.datetime.fromtimestamp(float(when), _dt.UTC)
    return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(detail_type: str, source: str, account: str, region: str, resources: list[str],
              detail: Any, when: _dt.datetime | float | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso(when if when is not None else time.time()),
        "region": region,
        "resources": list(resources),
        "detail": detail,
        "ingestion-time": time.time(),
    }


def scheduled_event(rule_arn: str, fire_time: _dt.datetime) -> dict[str, Any]:
    """The event a scheduled rule sends at ``fire_time`` (its scheduled minute, UTC)."""
    parts = rule_arn.split(":")
    return _envelope("Scheduled Event", "aws.events", parts[4], parts[3], [rule_arn], {},
                     fire_time)


def custom_event(entry: dict[str, Any], account: str, region: str, when: Any = None) -> dict[str, Any]:
    """A PutEvents entry (already validated) as the bus sees it."""
    return _envelope(str(entry["DetailType"]), str(entry["Source"]), account, region,
                     list(entry.get("Resources") or []), json.loads(entry["Detail"]), when)


def _sequencer() -> str:
    return f"{time.time_ns():016X}"


def s3_event(*, event_name: str, account: str, region: str, bucket: str, key: str,
             size: int | None = None, etag: str | None = None, version_id: str | None = None,
             requester: str | None = None, source_ip: str = "127.0.0.1",
             delete_marker: bool = False) -> dict[str, Any] | None:
    """S3's EventBridge event for ``event_name`` (``s3:ObjectCreated:Put``...); None when S3 does
    not send that event to EventBridge. ``version-id`` only on a versioned bucket."""
    short = event_name[3:] if event_name.startswith("s3:") else event_name
    family, _, kind = short.partition(":")
    detail_type = S3_DETAIL_TYPES.get(family) or S3_DETAIL_TYPES.get(short)
    if detail_type is None:
        return None
    obj: dict[str, Any] = {"key": key}
    if family == "ObjectCreated":
        if size is not None:
            obj["size"] = int(size)
        if etag:
            obj["etag"] = etag.strip('"')
    if version_id and version_id != "null":
        obj["version-id"] = version_id
    obj["sequencer"] = _sequencer()
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": os.urandom(8).hex().upper(),
        "requester": requester or account,
        "source-ip-address": source_ip,
    }
    if family == "ObjectCreated":
        detail["reason"] = _CREATED_REASON.get(kind, "PutObject")
    elif family == "ObjectRemoved":
        detail["reason"] = "DeleteObject"
        detail["deletion-type"] = "Delete Marker Created" if delete_marker else "Permanently Deleted"
    return _envelope(detail_type, "aws.s3", account, region, [f"arn:aws:s3:::{bucket}"], detail)
