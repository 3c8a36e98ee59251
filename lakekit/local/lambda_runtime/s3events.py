"""S3 event notifications -> the exact AWS event JSON, for Lambda destinations.

moto calls ``moto.s3.notifications.send_event(account, event_name, bucket, key)`` for every
object it creates (Put, Post, Copy, CompleteMultipartUpload) and for deletes, tagging, ACL
and restore changes. :func:`install` wraps that function: moto keeps serving SQS/SNS/
EventBridge notifications, its own docker-based Lambda call is disabled, and each
``LambdaFunctionConfiguration`` whose events and prefix/suffix rules match gets one event
built by :func:`build_event` and handed to ``sink`` (which only enqueues: the PUT is never
blocked by a handler).

Example of what a handler receives (``dir/a b+c.csv`` on a versioned bucket)::

    {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
      "eventTime": "2026-11-05T10:00:00.123Z", "eventName": "ObjectCreated:Put",
      "userIdentity": {"principalId": "AWS:AIDA..."}, "requestParameters": {...},
      "responseElements": {"x-amz-request-id": "...", "x-amz-id-2": "..."},
      "s3": {"s3SchemaVersion": "1.0", "configurationId": "ingest", "bucket": {...},
             "object": {"key": "dir/a+b%2Bc.csv", "size": 12, "eTag": "...",
                        "versionId": "...", "sequencer": "0018745A3B2C1D0E00"}}}]}
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

__all__ = ["install", "listen", "build_event", "encode_key", "matches", "S3Delivery"]

log = logging.getLogger("lakekit.local.lambda.s3")

_seq_lock = threading.Lock()
_last_seq = 0


class S3Delivery:
    """One event for one function: what the dispatcher queues."""

    __slots__ = ("function_arn", "event", "bucket", "key", "event_name")

    def __init__(self, function_arn: str, event: dict[str, Any], bucket: str, key: str,
                 event_name: str) -> None:
        self.function_arn, self.event = function_arn, event
        self.bucket, self.key, self.event_name = bucket, key, event_name


def encode_key(key: str) -> str:
    """URL-encode an object key the way S3 event notifications do.

    Spaces become ``+``, other reserved characters ``%XX``; ``/`` stays as is.

    >>> encode_key("dir/a b+c.csv")
    'dir/a+b%2Bc.csv'
    >>> encode_key("year=2013/f.csv")
    'year%3D2013/f.csv'
    """
    return quote_plus(key, safe="/")


def _next_sequencer() -> str:
    """Hex, fixed width, strictly increasing within the process (compare as strings)."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns())
        return f"00{_last_seq:016X}"


def _rules(filters: dict[str, Any]) -> dict[str, str]:
    """``{"prefix": ..., "suffix": ...}`` from moto's parsed Filter (XML or JSON casing)."""
    s3key = filters.get("S3Key") or filters.get("Key") or {}
    rules = s3key.get("FilterRule") or s3key.get("FilterRules") or []
    if isinstance(rules, dict):
        rules = [rules]
    return {str(r.get("Name", "")).lower(): str(r.get("Value", "")) for r in rules}


def matches(events: list[str], filters: dict[str, Any], event_name: str, key: str) -> bool:
    """Does a notification configuration want ``event_name`` (``s3:ObjectCreated:Put``) on ``key``?

    >>> matches(["s3:ObjectCreated:*"], {"S3Key": {"FilterRule": [{"Name": "suffix", "Value": ".csv"}]}},
    ...         "s3:ObjectCreated:Put", "a/b.csv")
    True
    """
    family = ":".join(event_name.split(":")[:2]) + ":*"
    if event_name not in events and family not in events:
        return False
    rules = _rules(filters or {})
    return key.startswith(rules.get("prefix", "")) and key.endswith(rules.get("suffix", ""))


def _owner_id(account_id: str) -> str:
    return "A" + hashlib.sha1(account_id.encode()).hexdigest()[:13].upper()


def build_event(*, event_name: str, region: str, account_id: str, bucket_name: str,
                configuration_id: str, key: str, size: int | None = None,
                etag: str | None = None, version_id: str | None = None,
                principal_id: str | None = None, source_ip: str = "127.0.0.1",
                now: _dt.datetime | None = None) -> dict[str, Any]:
    """The S3 notification document AWS sends (one record).

    ``event_name`` like ``s3:ObjectCreated:Put``; ``size``/``etag`` are left out for
    ``ObjectRemoved`` events as on AWS; ``versionId`` only when the bucket versions.
    """
    now = now or _dt.datetime.now(_dt.UTC)
    obj: dict[str, Any] = {"key": encode_key(key)}
    short = event_name[3:] if event_name.startswith("s3:") else event_name
    if not short.startswith("ObjectRemoved"):
        if size is not None:
            obj["size"] = int(size)
        if etag:
            obj["eTag"] = etag.strip('"')
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    obj["sequencer"] = _next_sequencer()
    owner = _owner_id(account_id)
    return {
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "eventName": short,
            "userIdentity": {"principalId": principal_id or f"AWS:{owner}"},
            "requestParameters": {"sourceIPAddress": source_ip},
            "responseElements": {
                "x-amz-request-id": os.urandom(8).hex().upper(),
                "x-amz-id-2": base64.b64encode(os.urandom(42)).decode(),
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": configuration_id,
                "bucket": {
                    "name": bucket_name,
                    "ownerIdentity": {"principalId": owner},
                    "arn": f"arn:aws:s3:::{bucket_name}",
                },
                "object": obj,
            },
        }]
    }


def _deliveries(account_id: str, name: str, bucket: Any, key: Any) -> list[S3Delivery]:
    config = getattr(bucket, "notification_configuration", None)
    functions = getattr(config, "cloud_function", None) if config is not None else None
    if not functions:
        return []
    key_name = getattr(key, "name", None) or ""
    out: list[S3Delivery] = []
    for notification in functions:
        if not matches(list(notification.events), notification.filters, name, key_name):
            continue
        version = getattr(key, "version_id", None)  # "null" when the bucket never versioned
        event = build_event(
            event_name=name, region=bucket.region_name, account_id=account_id,
            bucket_name=bucket.name, configuration_id=notification.id, key=key_name,
            size=getattr(key, "size", None), etag=getattr(key, "etag", None), version_id=version,
        )
        out.append(S3Delivery(notification.arn, event, bucket.name, key_name, name))
    return out


_installed: dict[str, Any] = {}
_tl = threading.local()
_listeners: list[Callable[[str, str, Any, Any], None]] = []


def listen(fn: Callable[[str, str, Any, Any], None]) -> None:
    """Also call ``fn(account_id, event_name, bucket, key)`` for every object event S3 sends
    (after by-products are dropped); the S3 -> EventBridge source uses it. moto's own EventBridge
    delivery is replaced by it."""
    if fn not in _listeners:
        _listeners.append(fn)


def _by_product(name: str, key: Any) -> bool:
    """Events moto emits that AWS does not: the inner ``Put`` of CompleteMultipartUpload, the
    ``ObjectTagging:Put``/``ObjectAcl:Put`` that follow every PutObject/CopyObject."""
    only = getattr(_tl, "only", None)
    if only and name != only:
        return True
    if name in ("s3:ObjectTagging:Put", "s3:ObjectAcl:Put") and getattr(_tl, "created", None) is key:
        return True
    if name.startswith("s3:ObjectCreated:"):
        _tl.created = key
    return False


def install(sink: Callable[[S3Delivery, str], None]) -> None:
    """Route moto's S3 notifications for Lambda to ``sink(delivery, account_id)`` (idempotent)."""
    from moto.s3 import models, notifications

    if "original" not in _installed:
        _installed["original"] = notifications.send_event
        # moto would try to run the function in docker inside the PUT: never.
        notifications._invoke_awslambda = lambda *a, **k: None
        # EventBridge gets S3's events from the listeners (lakekit.local.services.events_scheduler)
        notifications._send_event_bridge_message = lambda *a, **k: None
        complete = models.S3Backend.complete_multipart_upload

        def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
            _tl.only = "s3:ObjectCreated:CompleteMultipartUpload"
            try:
                return complete(self, *args, **kwargs)
            finally:
                _tl.only = None

        models.S3Backend.complete_multipart_upload = complete_multipart_upload
    original = _installed["original"]

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        name = str(event_name.value if hasattr(event_name, "value") else event_name)
        if _by_product(name, key):
            return
        try:
            for delivery in _deliveries(account_id, name, bucket, key):
                sink(delivery, account_id)
            for listener in list(_listeners):
                listener(account_id, name, bucket, key)
        except Exception:  # an event source bug must never fail the S3 request
            log.exception("building the S3 event for %s failed", getattr(bucket, "name", "?"))
        original(account_id, event_name, bucket, key)

    notifications.send_event = send_event
