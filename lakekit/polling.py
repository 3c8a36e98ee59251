"""Poll intervals for the helpers' bounded waits: AWS's, or a shorter one on the local endpoint.

A wait asks a service for a state every few tenths of a second. Against AWS that pace is right
(each call is a network round trip, and the state changes on the scale of seconds). Against the
embedded endpoint on loopback a call costs about a millisecond and a small Athena query or an
ingest invocation ends within tens of milliseconds, so the AWS pace is mostly idle time. Only the
pause changes: the same calls are made, in the same order, with the same deadlines.

>>> import boto3
>>> interval(boto3.client("s3", region_name="us-east-1"), aws=0.5, local=0.1)
0.5
>>> interval(boto3.client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:4810"),
...          aws=0.5, local=0.1)
0.1
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

__all__ = ["interval", "on_loopback"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def on_loopback(client: Any) -> bool:
    """True when the boto3 ``client`` talks to an endpoint on this machine (the local target)."""
    url = getattr(getattr(client, "meta", None), "endpoint_url", None) or ""
    return urlparse(url).hostname in _LOOPBACK


def interval(client: Any, *, aws: float, local: float) -> float:
    """``local`` when ``client`` talks to a loopback endpoint, else ``aws`` (seconds)."""
    return local if on_loopback(client) else aws
