"""In-process reads for the engine running inside the endpoint: moto's S3 objects and Glue partitions.

Inside the endpoint process, moto's backends live in the same interpreter. Reading object bodies
and partitions from them directly skips an HTTP round trip per request (HEAD + GETs per file,
ListObjectsV2 pages, GetPartitions pages) that the same process would otherwise have to serve.
Writes still go over HTTP (observers such as S3 notifications must see them).

Example (inside the endpoint)::

    src = MotoSource(s3_account="123456789012", glue_account="123456789012", region="us-east-1",
                     lock=lambda: runtime.state_lock().shared())
    engine = QueryEngine(glue, s3, url, "us-east-1", inproc=src)
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, ContextManager

import pyarrow as pa
import pyarrow.fs as pafs

from ._io import _hidden, split_s3

__all__ = ["MotoSource", "S3Session"]


class S3Session:
    """One query's view of moto's S3: listings remember the object references they saw.

    Byte bodies are read from those references (moto's key buffer, copied) without holding the
    state lock; an object not listed first is looked up under the lock.
    """

    def __init__(self, source: MotoSource) -> None:
        self._src = source
        self._refs: dict[str, Any] = {}

    def list_files(self, location: str) -> list[tuple[str, int, str]]:
        """Like :func:`lakekit.local.athena._io.list_files`: [(bucket/key, size, ETag)] sorted by key."""
        bucket_name, prefix = split_s3(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        with self._src.lock():
            bucket = self._src.bucket(bucket_name)
            if bucket is None:
                return []
            found = [(k, v) for k, v in bucket.keys.items() if k.startswith(prefix)]
        from moto.s3.models import FakeKey

        out: list[tuple[str, int, str]] = []
        for key, obj in sorted(found, key=lambda kv: kv[0]):
            if not isinstance(obj, FakeKey):  # delete markers
                continue
            if key.endswith("/") or _hidden(key[len(prefix):]):
                continue
            size = obj.size
            if not size:
                continue
            path = f"{bucket_name}/{key}"
            self._refs[path] = obj
            out.append((path, size, obj.etag))
        return out

    def _ref(self, path: str) -> Any:
        obj = self._refs.get(path)
        if obj is not None:
            return obj
        bucket_name, _, key = path.partition("/")
        from moto.s3.models import FakeKey

        with self._src.lock():
            bucket = self._src.bucket(bucket_name)
            obj = bucket.keys.get(key) if bucket is not None else None
        if not isinstance(obj, FakeKey):
            raise FileNotFoundError(f"s3://{path} does not exist (deleted while the query ran?); run the query again")
        self._refs[path] = obj
        return obj

    def read_bytes(self, path: str) -> bytes:
        """The object's bytes (a copy of moto's buffer)."""
        try:
            return self._ref(path).value
        except ValueError as ex:  # buffer closed: the object was overwritten/deleted and disposed
            raise FileNotFoundError(f"s3://{path} changed while the query ran ({ex}); run the query again") from None

    def open_input_file(self, path: str) -> pa.NativeFile:
        """The object's bytes as an in-memory Arrow file."""
        return pa.BufferReader(self.read_bytes(path))

    def get_file_info(self, paths: Any) -> list[pafs.FileInfo]:
        out = []
        for p in paths if isinstance(paths, list) else [paths]:
            try:
                out.append(pafs.FileInfo(p, pafs.FileType.File, size=self._ref(p).size))
            except FileNotFoundError:
                out.append(pafs.FileInfo(p, pafs.FileType.NotFound))
        return out


class MotoSource:
    """moto's backends of this process: S3 objects of ``s3_account``, Glue of ``glue_account``/``region``.

    ``lock``: returns a context manager held while moto's dicts are read (the endpoint's
    ``runtime.state_lock().shared()``); held only for lookups, never while a query runs.
    """

    def __init__(self, s3_account: str, glue_account: str, region: str,
                 lock: Callable[[], ContextManager[Any]] | None = None) -> None:
        self.s3_account = s3_account
        self.glue_account = glue_account
        self.region = region
        self.lock = lock or contextlib.nullcontext

    def session(self) -> S3Session:
        return S3Session(self)

    def bucket(self, name: str) -> Any:
        from moto.s3.models import s3_backends

        try:
            return s3_backends[self.s3_account]["aws"].buckets.get(name)
        except KeyError:
            return None

    def get_partitions(self, database: str, table: str) -> list[dict] | None:
        """Every partition's ``PartitionInput``-shaped dict (Values, StorageDescriptor, ...), or
        None when the database/table is unknown here (the caller then asks over HTTP for the error)."""
        from moto.glue.models import glue_backends

        with self.lock():
            try:
                backend = glue_backends[self.glue_account][self.region]
                db = backend.databases.get(database)
                tbl = db.tables.get(table) if db is not None else None
            except KeyError:
                return None
            if tbl is None:
                return None
            return [p.partition_input for p in list(tbl.partitions.values())]
