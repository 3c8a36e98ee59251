"""The local Glue crawler engine: S3 objects -> Data Catalog tables and partitions.

A pure library: it talks to S3 and Glue through boto3 clients (bound to the local endpoint)
and reads Parquet footers through ``pyarrow.fs.S3FileSystem``. The gateway (phase 2) wraps
it in a thread per StartCrawler and maps :class:`CrawlResult` onto GetCrawler /
GetCrawlerMetrics / ListCrawls.

Example::

    crawler = glue.get_crawler(Name="lake")["Crawler"]
    result = run_crawl(glue, s3, "http://127.0.0.1:5000", crawler)
    result.tables_created          # ['flights']
    state = result.state           # persist it; pass back as previous= next time

What it does, following AWS Glue:

* walks every object under each S3 target, skipping exclusions (Glue globs, relative to
  the include path), keys whose file or folder name starts with ``_`` or ``.``
  (``_SUCCESS``, ``_temporary/``, ``.crc``) and empty folder markers;
* infers each object's schema (Parquet footer, CSV / JSON sample; ``.gz`` unpacked);
* groups objects into tables: a folder whose sub-folders are Hive ``key=value`` folders,
  or whose sub-folders have similar schemas, is one table (the sub-folders are partitions,
  keys named after ``key`` or ``partition_N``, typed ``string`` as Glue does); otherwise
  each sub-folder is examined on its own. ``Grouping.TableLevelConfiguration`` (absolute
  level, bucket = 1) and ``TableGroupingPolicy=CombineCompatibleSchemas`` override this;
* writes tables with CreateTable / UpdateTable (only when the definition changed, so an
  unchanged re-crawl adds no table version) and partitions with BatchCreatePartition /
  BatchUpdatePartition (100 per call) / BatchDeletePartition (25 per call);
* applies ``SchemaChangePolicy`` (UPDATE_IN_DATABASE / LOG, DeleteBehavior
  DELETE_FROM_DATABASE / DEPRECATE_IN_DATABASE / LOG), the ``CrawlerOutput`` options
  ``Tables.AddOrUpdateBehavior=MergeNewColumns`` and
  ``Partitions.AddOrUpdateBehavior=InheritFromTable``, and
  ``RecrawlPolicy=CRAWL_NEW_FOLDERS_ONLY`` using the folder list kept in ``state``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from lakekit.local.glue.schema import (
    FORMATS,
    SAMPLE_BYTES,
    FileSchema,
    decompress_sample,
    hive_format,
    infer_csv,
    infer_json,
    infer_parquet,
    merge_columns,
)

__all__ = [
    "FORMATS",
    "STATE_VERSION",
    "Crawl",
    "CrawlResult",
    "CrawlerError",
    "glob_to_regex",
    "run_crawl",
]

STATE_VERSION = 1
_CREATE_BATCH = 100  # AWS limit for BatchCreatePartition / BatchUpdatePartition
_DELETE_BATCH = 25  # AWS limit for BatchDeletePartition
_SIMILARITY = 0.7  # share of common columns for sibling folders to be one table
_READ_THREADS = 8

# Table parameters that are part of the definition (a change means a new table version).
_DEFINITION_PARAMS = (
    "classification",
    "compressionType",
    "typeOfData",
    "delimiter",
    "skip.header.line.count",
    "areColumnsQuoted",
    "DEPRECATED_BY_CRAWLER",
)


class CrawlerError(Exception):
    """A crawl cannot run; the message says why and what to do."""


# ----------------------------------------------------------------------------- results
@dataclass
class CrawlResult:
    """Outcome of one crawl. ``state`` is what the caller persists and passes back as
    ``previous`` (folders already crawled, for CRAWL_NEW_FOLDERS_ONLY)."""

    crawler_name: str
    start_time: datetime
    end_time: datetime | None = None
    tables_created: list[str] = field(default_factory=list)
    tables_updated: list[str] = field(default_factory=list)
    tables_deleted: list[str] = field(default_factory=list)
    partitions_created: int = 0
    partitions_updated: int = 0
    partitions_deleted: int = 0
    files_crawled: int = 0
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    cancelled: bool = False
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """LastCrawl.Status: SUCCEEDED | CANCELLED | FAILED."""
        if self.error:
            return "FAILED"
        return "CANCELLED" if self.cancelled else "SUCCEEDED"

    @property
    def duration_seconds(self) -> float:
        end = self.end_time or datetime.now(UTC)
        return (end - self.start_time).total_seconds()

    def metrics(self) -> dict[str, Any]:
        """Shape of one GetCrawlerMetrics ``CrawlerMetricsList`` entry."""
        return {
            "CrawlerName": self.crawler_name,
            "TimeLeftSeconds": 0.0,
            "StillEstimating": False,
            "LastRuntimeSeconds": round(self.duration_seconds, 3),
            "MedianRuntimeSeconds": round(self.duration_seconds, 3),
            "TablesCreated": len(self.tables_created),
            "TablesUpdated": len(self.tables_updated),
            "TablesDeleted": len(self.tables_deleted),
        }

    def last_crawl(self) -> dict[str, Any]:
        """Shape of GetCrawler ``Crawler.LastCrawl``."""
        out: dict[str, Any] = {
            "Status": self.status,
            "StartTime": self.start_time,
            "LogGroup": "/aws-glue/crawlers",
            "LogStream": self.crawler_name,
            "MessagePrefix": self.state.get("run_id", ""),
        }
        if self.error:
            out["ErrorMessage"] = self.error
        return out


class Crawl:
    """One crawler run with progress and a cancel flag, for the gateway's StartCrawler.

    Its lifecycle (RUNNING -> STOPPING -> COMPLETED | STOPPED | FAILED) is the caller's run
    record (:data:`lakekit.local.services.glue_crawler.CRAWLS`); :meth:`stop` is StopCrawler's
    request, honoured at the next file/table boundary.

    >>> c = Crawl(crawler_dict, previous=saved_state)       # doctest: +SKIP
    >>> threading.Thread(target=c.run, args=(glue, s3, url)).start()  # doctest: +SKIP
    >>> c.progress, c.stop_requested                         # doctest: +SKIP
    """

    def __init__(self, crawler: dict[str, Any], previous: dict[str, Any] | None = None):
        self.crawler = crawler
        self.previous = previous
        self.progress: dict[str, Any] = {"phase": "starting", "files_total": 0, "files_read": 0}
        self.result: CrawlResult | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # Slows every object read, to watch STOPPING/restart behaviour on small data (tests, demos).
        self._file_delay = float(os.environ.get("LAKEKIT_CRAWL_FILE_DELAY_S", "0") or 0)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the crawl to stop at the next file/table boundary (the result is CANCELLED)."""
        self._stop.set()

    def _on_progress(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            self.progress = {"phase": phase, "files_read": done, "files_total": total}
        if self._file_delay and done:
            time.sleep(self._file_delay)

    def run(self, glue: Any, s3: Any, s3_endpoint_url: str) -> CrawlResult:
        self.result = run_crawl(glue, s3, s3_endpoint_url, self.crawler,
                                should_stop=self._stop.is_set, previous=self.previous,
                                progress=self._on_progress)
        return self.result


# ----------------------------------------------------------------------------- model
@dataclass
class _Obj:
    bucket: str
    key: str
    size: int
    rel: tuple[str, ...]  # folder parts relative to the include path (file name excluded)
    schema: FileSchema | None = None

    @property
    def folder_uri(self) -> str:
        folder = self.key.rsplit("/", 1)[0] if "/" in self.key else ""
        return f"s3://{self.bucket}/{folder}/" if folder else f"s3://{self.bucket}/"


@dataclass
class _Target:
    bucket: str
    prefix: str  # '' or ends with '/'
    exclusions: list[re.Pattern[str]]

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass
class _TableSpec:
    name: str
    location: str
    classification: str
    columns: list[tuple[str, str]]
    partition_keys: list[str]
    partitions: dict[tuple[str, ...], list[_Obj]]
    objs: list[_Obj]
    params: dict[str, str]
    serde_params: dict[str, str]


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a Glue exclude glob (``*`` within a level, ``**`` across levels, ``?``,
    ``[...]``, ``{a,b}``) into a regex matched against the key relative to the include path.

    >>> bool(glob_to_regex("**.csv").match("a/b/c.csv")), bool(glob_to_regex("*.csv").match("a/c.csv"))
    (True, False)
    """
    out, i = [], 0
    in_brace = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        elif c == "{":
            out.append("(?:")
            in_brace += 1
        elif c == "}" and in_brace:
            out.append(")")
            in_brace -= 1
        elif c == "," and in_brace:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def _parse_target(t: dict[str, Any]) -> _Target:
    path = t.get("Path") or ""
    m = re.match(r"^(?:s3a?://)?([^/]+)/?(.*)$", path)
    if not m or not m.group(1):
        raise CrawlerError(
            f"S3 target path {path!r} is not an S3 URI: use s3://bucket/prefix/ in Targets.S3Targets"
        )
    prefix = m.group(2)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return _Target(m.group(1), prefix, [glob_to_regex(p) for p in t.get("Exclusions") or []])


def _hidden(part: str) -> bool:
    return part.startswith(("_", "."))


def _list_objects(s3: Any, target: _Target) -> list[_Obj]:
    out: list[_Obj] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=target.bucket, Prefix=target.prefix):
        for o in page.get("Contents", []):
            key: str = o["Key"]
            if key.endswith(("/", "_$folder$")):
                continue
            rel_key = key[len(target.prefix) :]
            parts = rel_key.split("/")
            if any(_hidden(p) for p in parts):
                continue
            if any(rx.match(rel_key) for rx in target.exclusions):
                continue
            if o.get("Size", 0) == 0:
                continue
            out.append(_Obj(target.bucket, key, int(o["Size"]), tuple(parts[:-1])))
    return out


# ----------------------------------------------------------------------------- inference
def _classify_by_name(key: str) -> tuple[str | None, bool]:
    """(format guess from the extension, gzip?)."""
    name = key.rsplit("/", 1)[-1].lower()
    gz = name.endswith((".gz", ".gzip"))
    if gz:
        name = name.rsplit(".", 1)[0]
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext in ("parquet", "parq", "pq"):
        return "parquet", gz
    if ext in ("csv", "tsv", "psv", "txt"):
        return "csv", gz
    if ext in ("json", "jsonl", "ndjson"):
        return "json", gz
    return None, gz


def _infer_object(obj: _Obj, s3: Any, fs: Any) -> FileSchema:
    guess, gz = _classify_by_name(obj.key)
    if guess == "parquet" and not gz:
        return infer_parquet(f"{obj.bucket}/{obj.key}", fs)
    resp = s3.get_object(Bucket=obj.bucket, Key=obj.key, Range=f"bytes=0-{SAMPLE_BYTES - 1}")
    raw = resp["Body"].read()
    complete = len(raw) >= obj.size
    if raw[:4] == b"PAR1":
        return infer_parquet(f"{obj.bucket}/{obj.key}", fs)
    compression = "none"
    data = raw
    if raw[:2] == b"\x1f\x8b":
        compression = "gzip"
        data = decompress_sample(raw)
    # estimated uncompressed size of the whole object, for record-count extrapolation
    total = int(obj.size * (len(data) / max(len(raw), 1)))
    head = data.lstrip()[:1]
    kind = guess if guess in ("csv", "json") else ("json" if head in (b"{", b"[") else "csv")
    if kind == "json":
        fsch = infer_json(data, complete=complete, total_size=total)
        if fsch.classification == "unknown" and guess is None:
            fsch = infer_csv(data, complete=complete, total_size=total)
    else:
        fsch = infer_csv(data, complete=complete, total_size=total)
    fsch.compression = compression
    return fsch


# ----------------------------------------------------------------------------- grouping
def _similar(a: FileSchema, b: FileSchema) -> bool:
    if a.classification != b.classification:
        return False
    na, nb = {n for n, _ in a.columns}, {n for n, _ in b.columns}
    if not na and not nb:
        return True
    return len(na & nb) / max(len(na | nb), 1) >= _SIMILARITY


def _summary(objs: list[_Obj]) -> FileSchema:
    """Merged schema of the objects' majority classification (for grouping decisions)."""
    counts: dict[str, int] = {}
    for o in objs:
        if o.schema:
            counts[o.schema.classification] = counts.get(o.schema.classification, 0) + 1
    cls = max(counts, key=lambda k: counts[k]) if counts else "unknown"
    cols: list[tuple[str, str]] = []
    for o in objs:
        if o.schema and o.schema.classification == cls:
            cols, _ = merge_columns(cols, o.schema.columns)
    return FileSchema(classification=cls, columns=cols)


def _group_default(
    node: tuple[str, ...], objs: list[_Obj], combine: bool
) -> list[tuple[tuple[str, ...], list[_Obj]]]:
    depth = len(node)
    direct = [o for o in objs if len(o.rel) == depth]
    children: dict[str, list[_Obj]] = {}
    for o in objs:
        if len(o.rel) > depth:
            children.setdefault(o.rel[depth], []).append(o)
    if direct or not children:
        return [(node, objs)]
    if all("=" in c for c in children):
        return [(node, objs)]
    if combine:
        s = _summary(objs)
        if all(o.schema and o.schema.classification == s.classification for o in objs):
            return [(node, objs)]
    if len(children) == 1:
        ((name, sub),) = children.items()
        return _group_default(node + (name,), sub, False)
    summaries = [_summary(sub) for sub in children.values()]
    if all(_similar(summaries[0], s) for s in summaries[1:]):
        return [(node, objs)]
    out: list[tuple[tuple[str, ...], list[_Obj]]] = []
    for name, sub in sorted(children.items()):
        out.extend(_group_default(node + (name,), sub, False))
    return out


def _group(
    target: _Target, objs: list[_Obj], table_level: int | None, combine: bool, messages: list[str]
) -> list[tuple[tuple[str, ...], list[_Obj]]]:
    if table_level is None:
        return _group_default((), objs, combine)
    # absolute level: bucket = 1, first folder = 2 ...
    include_level = 1 + len([p for p in target.prefix.split("/") if p])
    depth = max(table_level - include_level, 0)
    groups: dict[tuple[str, ...], list[_Obj]] = {}
    for o in objs:
        if len(o.rel) < depth:
            messages.append(
                f"skipped s3://{o.bucket}/{o.key}: it sits above TableLevelConfiguration "
                f"{table_level}; move it into a table folder or lower the table level"
            )
            continue
        groups.setdefault(o.rel[:depth], []).append(o)
    return sorted(groups.items())


# ----------------------------------------------------------------------------- tables
def _table_name(target: _Target, node: tuple[str, ...], prefix: str) -> str:
    parts = [p for p in target.prefix.split("/") if p] + list(node)
    base = parts[-1] if parts else target.bucket
    return (prefix + base).lower()


def _build_table(
    name: str,
    target: _Target,
    node: tuple[str, ...],
    objs: list[_Obj],
    crawler_name: str,
    messages: list[str],
) -> _TableSpec | None:
    rel_root = target.prefix + "".join(p + "/" for p in node)
    location = f"s3://{target.bucket}/{rel_root}"
    summary = _summary(objs)
    cls = summary.classification
    if cls == "unknown":
        messages.append(
            f"{location}: no object could be classified as parquet, csv or json; "
            "the folder was not catalogued (check the files or add a classifier)"
        )
        return None
    good = [o for o in objs if o.schema and o.schema.classification == cls]
    for o in objs:
        if o not in good:
            got = o.schema.classification if o.schema else "unreadable"
            messages.append(
                f"{location}: skipped s3://{o.bucket}/{o.key} ({got}, table is {cls}); "
                "keep one format per table folder"
            )
    good.sort(key=lambda o: o.key)
    # partition keys: the folder levels between the table root and the shallowest file
    pdepth = min(len(o.rel) for o in good) - len(node)
    levels: list[list[str]] = [[o.rel[len(node) + i] for o in good] for i in range(pdepth)]
    pkeys: list[str] = []
    for i, vals in enumerate(levels):
        keys = {v.split("=", 1)[0] for v in vals if "=" in v}
        if len(keys) == 1 and all("=" in v for v in vals):
            pkeys.append(keys.pop().lower())
        else:
            pkeys.append(f"partition_{i}")
    partitions: dict[tuple[str, ...], list[_Obj]] = {}
    for o in good:
        folders = o.rel[len(node) : len(node) + pdepth]
        values = tuple(unquote(f.split("=", 1)[1]) if "=" in f else unquote(f) for f in folders)
        partitions.setdefault(values, []).append(o)
    # merged columns, in object-key order: later new columns are appended (schema evolution)
    columns: list[tuple[str, str]] = []
    for o in good:
        columns, conflicts = merge_columns(columns, o.schema.columns, prefer_first=cls == "parquet")
        for c in conflicts:
            messages.append(
                f"{name}: type conflict {c} (in s3://{o.bucket}/{o.key}); kept {dict(columns)[c.split(':')[0]]}"
            )
    clash = [c for c, _ in columns if c in pkeys]
    if clash:
        messages.append(
            f"{name}: data columns {clash} have the same name as partition keys; the partition "
            "keys win (Athena rejects duplicates). Drop those columns from the files."
        )
        columns = [(c, t) for c, t in columns if c not in pkeys]
    params = _stats(good, cls)
    params.update({"UPDATED_BY_CRAWLER": crawler_name})
    serde_params: dict[str, str] = {}
    first = good[0].schema
    assert first is not None
    if cls == "parquet":
        serde_params = {"serialization.format": "1"}
    elif cls == "csv":
        delim = first.delimiter or ","
        serde_params = {"field.delim": delim}
        params.update(
            {
                "delimiter": delim,
                "columnsOrdered": "true",
                "areColumnsQuoted": "true" if any(o.schema.quoted for o in good) else "false",
            }
        )
        if first.has_header:
            params["skip.header.line.count"] = "1"
    elif cls == "json":
        serde_params = {"paths": ",".join(c for c, _ in columns)}
    for o in good:
        for note in o.schema.notes:
            messages.append(f"{name}: s3://{o.bucket}/{o.key}: {note}")
            break
    return _TableSpec(name, location, cls, columns, pkeys, partitions, good, params, serde_params)


def _stats(objs: list[_Obj], cls: str) -> dict[str, str]:
    size = sum(o.size for o in objs)
    records = sum(o.schema.record_count for o in objs if o.schema)
    comps = {o.schema.compression for o in objs if o.schema}
    return {
        "classification": cls,
        "compressionType": comps.pop() if len(comps) == 1 else "none",
        "typeOfData": "file",
        "recordCount": str(records),
        "averageRecordSize": str(size // records if records else 0),
        "objectCount": str(len(objs)),
        "sizeKey": str(size),
        "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
    }


def _storage_descriptor(
    spec: _TableSpec, location: str, columns: list[tuple[str, str]], params: dict[str, str]
) -> dict[str, Any]:
    return {
        "Columns": [{"Name": n, "Type": t} for n, t in columns],
        "Location": location,
        **hive_format(spec.classification, spec.serde_params),
        "Compressed": params.get("compressionType", "none") != "none",
        "NumberOfBuckets": -1,
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": dict(params),
        "StoredAsSubDirectories": False,
    }


def _table_input(spec: _TableSpec, columns: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "Name": spec.name,
        "Owner": "owner",
        "Retention": 0,
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in spec.partition_keys],
        "StorageDescriptor": _storage_descriptor(spec, spec.location, columns, spec.params),
        "Parameters": dict(spec.params),
    }


def _cols(sd: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["Name"], c["Type"]) for c in sd.get("Columns", [])]


def _definition(t: dict[str, Any]) -> dict[str, Any]:
    sd = t.get("StorageDescriptor", {})
    params = t.get("Parameters", {}) or {}
    return {
        "columns": _cols(sd),
        "location": sd.get("Location"),
        "input": sd.get("InputFormat"),
        "output": sd.get("OutputFormat"),
        "serde": (sd.get("SerdeInfo") or {}).get("SerializationLibrary"),
        "serde_params": (sd.get("SerdeInfo") or {}).get("Parameters") or {},
        "pkeys": [(k["Name"], k.get("Type")) for k in t.get("PartitionKeys", [])],
        "params": {k: params.get(k) for k in _DEFINITION_PARAMS},
    }


def _part_definition(p: dict[str, Any]) -> dict[str, Any]:
    sd = p.get("StorageDescriptor", {})
    return {
        "columns": _cols(sd),
        "location": sd.get("Location"),
        "input": sd.get("InputFormat"),
        "serde": (sd.get("SerdeInfo") or {}).get("SerializationLibrary"),
    }


def _describe_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    oc, nc = dict(old["columns"]), dict(new["columns"])
    bits = []
    added = [c for c in nc if c not in oc]
    removed = [c for c in oc if c not in nc]
    changed = [f"{c} {oc[c]}->{nc[c]}" for c in nc if c in oc and oc[c] != nc[c]]
    if added:
        bits.append(f"new columns {added}")
    if removed:
        bits.append(f"missing columns {removed}")
    if changed:
        bits.append(f"type changes {changed}")
    for k in ("location", "input", "serde", "pkeys", "params", "serde_params"):
        if old[k] != new[k] and not (k == "serde_params" and added):
            bits.append(f"{k} {old[k]} -> {new[k]}")
    return "; ".join(bits) or "definition changed"


def _chunks(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def _get_table(glue: Any, db: str, name: str) -> dict[str, Any] | None:
    try:
        return glue.get_table(DatabaseName=db, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None


def _existing_partitions(glue: Any, db: str, table: str) -> dict[tuple[str, ...], dict[str, Any]]:
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for page in glue.get_paginator("get_partitions").paginate(DatabaseName=db, TableName=table):
        for p in page.get("Partitions", []):
            out[tuple(p["Values"])] = p
    return out


def _check_batch(resp: dict[str, Any], what: str, table: str) -> None:
    errors = resp.get("Errors") or []
    if errors:
        first = errors[0]
        raise CrawlerError(
            f"{what} for table {table} failed for {len(errors)} partition(s), first "
            f"{first.get('PartitionValues') or first.get('PartitionValueList')}: "
            f"{first.get('ErrorDetail', {}).get('ErrorMessage')}; re-run the crawler, or delete "
            "the table to let the crawler recreate it"
        )


# ----------------------------------------------------------------------------- main
def _config(crawler: dict[str, Any]) -> dict[str, Any]:
    raw = crawler.get("Configuration") or "{}"
    try:
        return json.loads(raw) if isinstance(raw, str) else dict(raw)
    except json.JSONDecodeError as e:
        raise CrawlerError(
            f"crawler Configuration is not valid JSON ({e}); fix it with UpdateCrawler"
        ) from e


def run_crawl(
    glue: Any,
    s3: Any,
    s3_endpoint_url: str,
    crawler: dict[str, Any],
    should_stop: Callable[[], bool] = lambda: False,
    previous: dict[str, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> CrawlResult:
    """Crawl the crawler's S3 targets into its database. Never raises for crawl problems:
    they end up in ``result.error`` (status FAILED) so the gateway can report LastCrawl.

    ``crawler`` is ``glue.get_crawler(Name=...)["Crawler"]``; ``previous`` is the ``state``
    of the last crawl (only needed for ``RecrawlPolicy=CRAWL_NEW_FOLDERS_ONLY``);
    ``should_stop`` is polled between objects and tables (StopCrawler -> CANCELLED);
    ``progress(phase, done, total)`` is called as objects are read.
    """
    name = crawler.get("Name", "crawler")
    started = datetime.now(UTC)
    run_id = hashlib.sha1(f"{name}{time.time_ns()}".encode()).hexdigest()[:16]
    result = CrawlResult(crawler_name=name, start_time=started)
    prev_folders = set((previous or {}).get("crawled_folders", []))
    result.state = {
        "version": STATE_VERSION,
        "run_id": run_id,
        "crawled_folders": sorted(prev_folders),
        "tables": dict((previous or {}).get("tables", {})),
    }
    try:
        _crawl(glue, s3, s3_endpoint_url, crawler, should_stop, prev_folders, progress, result)
    except CrawlerError as e:
        result.error = str(e)
    except Exception as e:  # noqa: BLE001 - reported as the crawl's ErrorMessage
        denied = access_denied_message(e)
        if denied is not None:
            result.error = denied
            result.end_time = datetime.now(UTC)
            return result
        code = (
            getattr(e, "response", {}).get("Error", {}).get("Code")
            if hasattr(e, "response")
            else None
        )
        result.error = (
            f"internal crawler error {type(e).__name__}{f' ({code})' if code else ''}: {e}; "
            "see the crawl messages, fix the data or the crawler settings, and re-run"
        )
        result.messages.append(traceback.format_exc(limit=3))
    result.end_time = datetime.now(UTC)
    return result


def _crawl(
    glue: Any,
    s3: Any,
    endpoint: str,
    crawler: dict[str, Any],
    should_stop: Callable[[], bool],
    prev_folders: set[str],
    progress: Callable[[str, int, int], None] | None,
    result: CrawlResult,
) -> None:
    from pyarrow import fs as pafs

    name = crawler.get("Name", "crawler")
    db = crawler.get("DatabaseName")
    if not db:
        raise CrawlerError(f"crawler {name} has no DatabaseName; set one with UpdateCrawler")
    try:
        glue.get_database(Name=db)
    except glue.exceptions.EntityNotFoundException:
        raise CrawlerError(
            f"database {db} not found: create it (glue.create_database) or point the crawler "
            "at an existing database, then start the crawler again"
        ) from None
    targets_raw = (crawler.get("Targets") or {}).get("S3Targets") or []
    if not targets_raw:
        raise CrawlerError(f"crawler {name} has no S3 targets; add Targets.S3Targets[].Path")
    targets = [_parse_target(t) for t in targets_raw]
    policy = crawler.get("SchemaChangePolicy") or {}
    update_behavior = policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE"
    delete_behavior = policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE"
    new_only = (crawler.get("RecrawlPolicy") or {}).get(
        "RecrawlBehavior"
    ) == "CRAWL_NEW_FOLDERS_ONLY"
    incremental = new_only and bool(prev_folders)
    cfg = _config(crawler)
    grouping = cfg.get("Grouping") or {}
    table_level = grouping.get("TableLevelConfiguration")
    table_level = int(table_level) if table_level else None
    combine = grouping.get("TableGroupingPolicy") == "CombineCompatibleSchemas"
    out_cfg = cfg.get("CrawlerOutput") or {}
    merge_new_only = (out_cfg.get("Tables") or {}).get("AddOrUpdateBehavior") == "MergeNewColumns"
    inherit = (out_cfg.get("Partitions") or {}).get("AddOrUpdateBehavior") == "InheritFromTable"
    prefix = crawler.get("TablePrefix") or ""
    msgs = result.messages

    # 1. list
    listed: list[tuple[_Target, list[_Obj]]] = []
    for t in targets:
        try:
            objs = _list_objects(s3, t)
        except s3.exceptions.NoSuchBucket:
            raise CrawlerError(
                f"S3 target {t.uri}: bucket {t.bucket} does not exist; create it or fix the path"
            ) from None
        if incremental:
            objs = [o for o in objs if o.folder_uri not in prev_folders]
        listed.append((t, objs))
    total = sum(len(o) for _, o in listed)
    if progress:
        progress("reading", 0, total)

    # 2. infer (footers / samples, in parallel)
    key_id, secret, token = _client_credentials(s3)
    fs = pafs.S3FileSystem(
        endpoint_override=endpoint.split("://", 1)[-1],
        scheme=endpoint.split("://", 1)[0] if "://" in endpoint else "http",
        access_key=key_id,
        secret_key=secret,
        session_token=token,
        region="us-east-1",
    )
    denied: list[str] = []
    done = 0
    lock = threading.Lock()

    def infer(o: _Obj, last_try: bool) -> bool:
        """Read ``o``'s schema; False = the read failed and ``o`` gets another try."""
        nonlocal done
        if should_stop():
            return True
        try:
            o.schema = _infer_object(o, s3, fs)
        except Exception as e:  # noqa: BLE001 - one bad object must not fail the crawl
            if access_denied_message(e) is not None or "ACCESS_DENIED" in str(e):
                with lock:  # ... but a role that may not read the data fails it, as on AWS
                    denied.append(access_denied_message(e) or _pyarrow_denied(o, e))
                return True
            if not last_try:
                return False
            o.schema = FileSchema(classification="unknown", notes=[f"unreadable: {e}"])
            with lock:
                msgs.append(
                    f"could not read s3://{o.bucket}/{o.key} (read twice): {type(e).__name__}: "
                    f"{e}; the object was skipped (fix or exclude it)"
                )
        with lock:
            done += 1
            if progress:
                progress("reading", done, total)
        return True

    all_objs = [o for _, objs in listed for o in objs]
    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        read = list(pool.map(lambda o: infer(o, False), all_objs))
    # a failed read gets a second one, alone: a busy endpoint (a timeout under load) must not
    # drop a partition; an object that cannot be read is skipped after it, with a message
    for o in [o for o, ok in zip(all_objs, read, strict=True) if not ok]:
        infer(o, True)
    if denied:
        raise CrawlerError(denied[0])
    result.files_crawled = sum(1 for o in all_objs if o.schema is not None)
    if should_stop():
        result.cancelled = True
        msgs.append("crawl stopped before writing the catalog (StopCrawler)")
        return

    # 3. group into tables
    existing_tables = {
        t["Name"]: t
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=db)
        for t in page.get("TableList", [])
    }
    ours = {
        n: t
        for n, t in existing_tables.items()
        if (t.get("Parameters") or {}).get("UPDATED_BY_CRAWLER") == name
    }
    specs: list[_TableSpec] = []
    used_names: set[str] = set()
    for target, objs in listed:
        if not objs:
            continue
        groups: list[tuple[tuple[str, ...], list[_Obj]]] = []
        if incremental:
            # new folders under a table this crawler already owns become its partitions
            rest: list[_Obj] = []
            owned = sorted(
                ((t["StorageDescriptor"]["Location"], n) for n, t in ours.items()),
                key=lambda x: -len(x[0]),
            )
            attach: dict[str, list[_Obj]] = {}
            for o in objs:
                hit = next((n for loc, n in owned if o.folder_uri.startswith(loc)), None)
                if hit:
                    attach.setdefault(hit, []).append(o)
                else:
                    rest.append(o)
            for tname, tobjs in attach.items():
                loc = ours[tname]["StorageDescriptor"]["Location"]
                node = (
                    tuple(p for p in loc[len(target.uri) :].split("/") if p)
                    if loc.startswith(target.uri)
                    else None
                )
                if node is None:
                    continue
                spec = _build_table(tname, target, node, tobjs, name, msgs)
                if spec:
                    specs.append(spec)
                    used_names.add(tname)
            objs = rest
        if objs:
            groups = _group(target, objs, table_level, combine, msgs)
        for node, gobjs in groups:
            tname = _table_name(target, node, prefix)
            location = target.uri + "".join(p + "/" for p in node)
            other = existing_tables.get(tname)
            other_loc = (other or {}).get("StorageDescriptor", {}).get("Location")
            if tname in used_names or (other is not None and other_loc not in (None, location)):
                suffix = hashlib.md5(location.encode()).hexdigest()[:8]
                msgs.append(
                    f"table name {tname} is taken by another location; {location} is "
                    f"catalogued as {tname}_{suffix} (Glue adds a hash suffix the same way)"
                )
                tname = f"{tname}_{suffix}"
            spec = _build_table(tname, target, node, gobjs, name, msgs)
            if spec:
                specs.append(spec)
                used_names.add(tname)

    # 4. write tables + partitions
    for spec in specs:
        if should_stop():
            result.cancelled = True
            msgs.append("crawl stopped (StopCrawler); tables not yet written stay as they were")
            return
        _write_table(
            glue,
            db,
            spec,
            existing_tables.get(spec.name),
            result,
            update=(update_behavior == "UPDATE_IN_DATABASE") and not incremental,
            merge_new_only=merge_new_only,
            inherit=inherit,
            delete_partitions=(delete_behavior == "DELETE_FROM_DATABASE") and not incremental,
            log_partition_deletes=not incremental,
        )
        folders = set(result.state["crawled_folders"])
        folders.update(o.folder_uri for o in spec.objs)
        result.state["crawled_folders"] = sorted(folders)
        result.state["tables"][spec.name] = spec.location

    # 5. tables whose folders vanished
    if incremental:
        return
    produced = {s.name for s in specs}
    for tname, t in ours.items():
        if tname in produced:
            continue
        loc = (t.get("StorageDescriptor") or {}).get("Location", "")
        if not any(loc.startswith(tg.uri) or tg.uri.startswith(loc) for tg in targets):
            continue
        if delete_behavior == "DELETE_FROM_DATABASE":
            glue.delete_table(DatabaseName=db, Name=tname)
            result.tables_deleted.append(tname)
            result.state["tables"].pop(tname, None)
            msgs.append(f"deleted table {tname}: no objects left under {loc}")
        elif delete_behavior == "DEPRECATE_IN_DATABASE":
            if "DEPRECATED_BY_CRAWLER" in (t.get("Parameters") or {}):
                continue
            ti = {
                k: t[k]
                for k in (
                    "Name",
                    "Owner",
                    "Retention",
                    "TableType",
                    "PartitionKeys",
                    "StorageDescriptor",
                    "Parameters",
                )
                if k in t
            }
            ti["Parameters"] = {
                **(t.get("Parameters") or {}),
                "DEPRECATED_BY_CRAWLER": str(int(time.time() * 1000)),
            }
            glue.update_table(DatabaseName=db, TableInput=ti)
            result.tables_deleted.append(tname)
            msgs.append(
                f"deprecated table {tname} (DEPRECATED_BY_CRAWLER): no objects left under {loc}"
            )
        else:
            msgs.append(f"LOG: table {tname} has no objects left under {loc}; left unchanged")


def _write_table(
    glue: Any,
    db: str,
    spec: _TableSpec,
    existing: dict[str, Any] | None,
    result: CrawlResult,
    *,
    update: bool,
    merge_new_only: bool,
    inherit: bool,
    delete_partitions: bool,
    log_partition_deletes: bool,
) -> None:
    msgs = result.messages
    desired = _table_input(spec, spec.columns)
    table_columns = spec.columns
    if existing is None:
        glue.create_table(DatabaseName=db, TableInput=desired)
        result.tables_created.append(spec.name)
    else:
        old_def, new_def = _definition(existing), _definition(desired)
        if merge_new_only:
            old_cols = dict(old_def["columns"])
            table_columns = old_def["columns"] + [c for c in spec.columns if c[0] not in old_cols]
            desired = _table_input(spec, table_columns)
            new_def = _definition(desired)
        if old_def != new_def:
            change = _describe_change(old_def, new_def)
            if update:
                glue.update_table(DatabaseName=db, TableInput=desired)
                result.tables_updated.append(spec.name)
                msgs.append(f"updated table {spec.name}: {change}")
            else:
                table_columns = old_def["columns"]
                msgs.append(
                    f"LOG: table {spec.name} changed but was not updated (policy LOG): {change}"
                )
    if not spec.partition_keys:
        return
    # partitions
    current = _existing_partitions(glue, db, spec.name)
    to_create: list[dict[str, Any]] = []
    to_update: list[dict[str, Any]] = []
    for values, objs in sorted(spec.partitions.items()):
        cols: list[tuple[str, str]] = []
        for o in objs:
            cols, _ = merge_columns(
                cols, o.schema.columns, prefer_first=spec.classification == "parquet"
            )
        cols = [c for c in cols if c[0] not in spec.partition_keys]
        if inherit:
            cols = table_columns
        loc = _partition_location(spec, objs[0])
        pinput = {
            "Values": list(values),
            "StorageDescriptor": _storage_descriptor(
                spec, loc, cols, _stats(objs, spec.classification)
            ),
            "Parameters": {},
        }
        old = current.get(values)
        if old is None:
            to_create.append(pinput)
        elif _part_definition(old) != _part_definition(pinput):
            if update:
                to_update.append({"PartitionValueList": list(values), "PartitionInput": pinput})
            else:
                msgs.append(f"LOG: partition {spec.name}{list(values)} changed but was not updated")
    for chunk in _chunks(to_create, _CREATE_BATCH):
        _check_batch(
            glue.batch_create_partition(
                DatabaseName=db, TableName=spec.name, PartitionInputList=chunk
            ),
            "BatchCreatePartition",
            spec.name,
        )
    for chunk in _chunks(to_update, _CREATE_BATCH):
        _check_batch(
            glue.batch_update_partition(DatabaseName=db, TableName=spec.name, Entries=chunk),
            "BatchUpdatePartition",
            spec.name,
        )
    result.partitions_created += len(to_create)
    result.partitions_updated += len(to_update)
    gone = [v for v in current if v not in spec.partitions]
    if gone and delete_partitions:
        for chunk in _chunks(gone, _DELETE_BATCH):
            _check_batch(
                glue.batch_delete_partition(
                    DatabaseName=db,
                    TableName=spec.name,
                    PartitionsToDelete=[{"Values": list(v)} for v in chunk],
                ),
                "BatchDeletePartition",
                spec.name,
            )
        result.partitions_deleted += len(gone)
    elif gone and log_partition_deletes:
        msgs.append(
            f"LOG: {len(gone)} partition(s) of {spec.name} have no objects any more "
            f"(e.g. {list(gone[0])}); kept (DeleteBehavior is not DELETE_FROM_DATABASE)"
        )


def _partition_location(spec: _TableSpec, obj: _Obj) -> str:
    depth = len(spec.partition_keys)
    root_parts = len([p for p in spec.location.split("/", 3)[-1].split("/") if p])
    key_parts = obj.key.split("/")[:-1]
    return f"s3://{obj.bucket}/" + "".join(p + "/" for p in key_parts[: root_parts + depth])


_DENIED_CODES = ("AccessDenied", "AccessDeniedException")
_SERVICE_NAMES = {"s3": "Amazon S3", "glue": "AWSGlue", "logs": "AWSLogs"}


def access_denied_message(e: BaseException) -> str | None:
    """A denied call of the crawler's role, worded as Glue reports it in LastCrawl.ErrorMessage
    (the SDK exception text: message + ``(Service: ...; Status Code: ...; Error Code: ...)``)."""
    resp = getattr(e, "response", None)
    if not isinstance(resp, dict):
        return None
    err = resp.get("Error") or {}
    if err.get("Code") not in _DENIED_CODES:
        return None
    meta = resp.get("ResponseMetadata") or {}
    op = getattr(e, "operation_name", "")
    svc = _SERVICE_NAMES.get(_service_of(op), "AWS")
    return (f"{err.get('Message') or 'Access Denied'} (Service: {svc}; Status Code: "
            f"{meta.get('HTTPStatusCode', 403)}; Error Code: {err.get('Code')}; Request ID: "
            f"{meta.get('RequestId', '')}; Proxy: null)")


def _service_of(operation: str) -> str:
    if operation in ("ListObjectsV2", "ListObjects", "GetObject", "HeadObject", "HeadBucket"):
        return "s3"
    return "glue"


def _pyarrow_denied(o: Any, e: BaseException) -> str:
    return (f"Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; "
            f"Request ID: ; Proxy: null) reading s3://{o.bucket}/{o.key}: {e}")


def _client_credentials(client: Any) -> tuple[str, str, str | None]:
    """The (access key, secret, session token) a boto3 client signs with."""
    creds = client._request_signer._credentials
    if creds is None:
        return "test", "test", None
    frozen = creds.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token
