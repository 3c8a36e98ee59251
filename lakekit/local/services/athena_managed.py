"""Athena-owned result storage for workgroups with managed query results.

A query in a workgroup whose ``ManagedQueryResultsConfiguration.Enabled`` is true has no
``OutputLocation``: Athena keeps its result files where the caller cannot see them and serves
them through ``GetQueryResults``. Locally they live under ``<home>/work/athena-managed/`` (never
in a bucket of the caller). Athena keeps managed results 24 hours: a file older than
:attr:`ManagedStore.RETENTION_SECONDS` (by its modification time, against the store's ``clock``) is
expired - deleted on the next read, which then fails as for a deleted result. :class:`ManagedStore` speaks the two S3 calls the result writer and
reader make (``put_object``, ``get_object``), so the same code writes both kinds of results.

Example::

    store = ManagedStore.default()
    store.put_object(Bucket=ManagedStore.BUCKET, Key="123/us-east-1/wg/q.csv", Body=b"...")
    store.get_object(Bucket=ManagedStore.BUCKET, Key="123/us-east-1/wg/q.csv")["Body"].read()
"""
from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local import runtime

__all__ = ["ManagedStore"]

log = logging.getLogger(__name__)


class ManagedStore:
    """Result files of managed-results queries, on the endpoint's disk (``root``/<key>)."""

    BUCKET = "lakekit-athena-managed"  # a name for the records; no such bucket exists
    RETENTION_SECONDS = 24 * 3600  # "Athena retains query results for 24 hours"

    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.clock = clock

    def expired(self, key: str) -> bool:
        """True when the result file of ``key`` is gone or older than the retention (then removed)."""
        path = self._path(key)
        try:
            age = self.clock() - path.stat().st_mtime
        except FileNotFoundError:
            return True
        if age <= self.RETENTION_SECONDS:
            return False
        log.info("managed query result %s expired (%.0f s old, kept %d s)", key, age, self.RETENTION_SECONDS)
        path.unlink(missing_ok=True)
        return True

    @classmethod
    def default(cls) -> ManagedStore:
        return cls(runtime.home() / "work" / "athena-managed")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"managed result key {key!r} leaves the store")
        return path

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:  # noqa: N803 - S3's names
        path = self._path(Key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(Body)
        os.replace(tmp, path)
        return {}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803 - S3's names
        if self.expired(Key):
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "The managed query result expired."}},
                              "GetObject")
        try:
            return {"Body": io.BytesIO(self._path(Key).read_bytes())}
        except FileNotFoundError:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "The managed query result is gone."}},
                              "GetObject") from None

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803 - S3's names
        if self.expired(Key):
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return {}
