"""Bucketed Hive tables of the local Athena: CTAS ``bucketed_by``/``bucket_count``, ``CLUSTERED BY``
DDL, bucket pruning on reads, the refusals Athena makes.

What Athena engine v3 (Trino's Hive connector) does, and so what this module does:

* **hash**: Hive bucketing v1 (``HiveBucketingV1``): per column an int32 hash (int types: the
  value, bigint/double: the 64-bit value folded ``(v >>> 32) ^ v``, float: its IEEE bits, boolean
  1/0, date: days since 1970-01-01, string: ``h = 31*h + byte`` over the UTF-8 bytes as *signed*
  bytes, starting at 0 for ``string`` and 1 for ``varchar(n)``; NULL: 0), combined
  ``h = 31*h + column_hash``; bucket = ``(h & 0x7fffffff) % bucket_count``. Tables with
  ``TBLPROPERTIES ('bucketing_format'='spark')`` use Spark's Murmur3 (seed 42) and
  ``pmod(hash, n)``, which Athena engine v3 reads.
* **files**: one file per written (partition, bucket), named ``0{bucket:05d}_0_{uuid}_{query id}``
  (``HiveWriterFactory.computeNonTransactionalBucketedFilename``); no file for an empty bucket.
  Reading takes the bucket number from the file name (Trino's Hive, legacy Presto and Hive ACID
  patterns; Spark's ``part-NNNNN-<uuid>_BBBBB`` for Spark tables); a directory whose names do not
  carry it must hold exactly one file per bucket (taken in sorted order), else
  ``HIVE_INVALID_BUCKET_FILES``.
* **pruning**: a WHERE with ``=``/``IN``/``IS NULL`` on *every* bucket column (types Athena lists:
  boolean, tinyint, smallint, int, bigint, float, double, string, varchar, date) reads only the
  files of the matching buckets (Trino's ``HiveBucketing.getHiveBuckets``: at most
  ``max(4 * buckets, 1000)`` value combinations, no pruning when every bucket matches).

Example::

    CREATE TABLE lakedb.by_tail WITH (bucketed_by = ARRAY['tailnum'], bucket_count = 8)
    AS SELECT * FROM lakedb.flights
    SELECT count(*) FROM lakedb.by_tail WHERE tailnum = 'N14228'   -- reads 1 of 8 files
"""
from __future__ import annotations

import datetime as _dt
import logging
import random
import re
import string
import struct
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from ._errors import USER_ERROR, AthenaQueryError

log = logging.getLogger(__name__)

__all__ = ["BucketSpec", "ctas_spec", "table_spec", "hive_hash", "spark_hash", "bucket_number", "write_parquet_buckets",
           "select_files", "buckets_for_query", "clustered_by", "refuse_insert", "bucket_of_file"]

MAX_OPEN_WRITERS = 100  # Athena: "100 unique partition and bucket combinations" per CTAS / INSERT
_EXPLORATION_FACTOR, _EXPLORATION_GUARANTEED = 4, 1000  # Trino HiveBucketing
_FILTER_TYPES = {"boolean", "tinyint", "smallint", "int", "integer", "bigint", "float", "real", "double", "string",
                 "varchar", "date"}
_WRITE_TYPES = _FILTER_TYPES  # what HiveBucketingV1 hashes (its array/map support is not built locally)

# Trino BackgroundHiveSplitLoader.BUCKET_PATTERNS (+ Spark's writer names, read by Athena engine v3)
_HIVE_PATTERNS = (
    re.compile(r"\d{8}_\d{6}_\d{5}_[a-z0-9]{5}_bucket-(\d+)(?:[-_.].*)?"),  # legacy Presto
    re.compile(r"(\d+)_\d+.*"),  # Hive, Trino, Athena engine v3
    re.compile(r"bucket_(\d+)(_\d+)?$"),  # Hive ACID
)
_SPARK_PATTERN = re.compile(r"part-\d+-[0-9a-fA-F-]{36}_(\d{5})(?:[.-].*)?")


def _err(kind: str, msg: str) -> AthenaQueryError:
    return AthenaQueryError(USER_ERROR, kind, f"{kind}: {msg}")


def _base(hive_type: str) -> str:
    return re.sub(r"\(.*\)$", "", hive_type.strip().lower()).strip()


@dataclass(frozen=True)
class BucketSpec:
    """A table's bucketing: columns (lower case, in order), bucket count, ``hive`` or ``spark``."""

    columns: tuple[str, ...]
    count: int
    fmt: str = "hive"

    def apply(self, sd: dict) -> dict:
        """Write the bucketing into a Glue StorageDescriptor (as Athena's CTAS/DDL do)."""
        sd["BucketColumns"] = list(self.columns)
        sd["NumberOfBuckets"] = self.count
        sd.setdefault("SortColumns", [])
        return sd


# ----------------------------------------------------------------------------- hashing


def _i32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _hive_value_hash(hive_type: str, v: Any) -> int:
    if v is None:
        return 0
    base = _base(hive_type)
    if base == "boolean":
        return 1 if v else 0
    if base in ("tinyint", "smallint", "int", "integer"):
        return _i32(int(v))
    if base == "bigint":
        u = int(v) & 0xFFFFFFFFFFFFFFFF
        return _i32((u >> 32) ^ u)
    if base in ("float", "real"):
        f = float(v)
        return 0x7FC00000 if f != f else _i32(struct.unpack(">i", struct.pack(">f", f))[0])
    if base == "double":
        f = float(v)
        u = 0x7FF8000000000000 if f != f else struct.unpack(">Q", struct.pack(">d", f))[0]
        return _i32((u >> 32) ^ u)
    if base == "date":
        d = v if isinstance(v, _dt.date) else _dt.date.fromisoformat(str(v))
        return (d - _dt.date(1970, 1, 1)).days
    if base in ("string", "varchar"):
        h = 0 if base == "string" else 1
        for b in str(v).encode("utf-8"):
            h = (h * 31 + (b - 256 if b > 127 else b)) & 0xFFFFFFFF
        return _i32(h)
    raise _err("NOT_SUPPORTED", f"Computation of Hive bucket hashCode is not supported for Hive type {hive_type}")


def hive_hash(types: Sequence[str], values: Sequence[Any]) -> int:
    """Hive bucketing v1 hash (signed int32) of one row's bucket-column values."""
    h = 0
    for t, v in zip(types, values, strict=True):
        h = (h * 31 + _hive_value_hash(t, v)) & 0xFFFFFFFF
    return _i32(h)


_C1, _C2 = 0xCC9E2D51, 0x1B873593


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def _mix_k1(k: int) -> int:
    return (_rotl((k * _C1) & 0xFFFFFFFF, 15) * _C2) & 0xFFFFFFFF


def _mix_h1(h: int, k: int) -> int:
    return (_rotl(h ^ k, 13) * 5 + 0xE6546B64) & 0xFFFFFFFF


def _fmix(h: int, length: int) -> int:
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def _m3_int(i: int, seed: int) -> int:
    return _fmix(_mix_h1(seed, _mix_k1(i & 0xFFFFFFFF)), 4)


def _m3_long(v: int, seed: int) -> int:
    u = v & 0xFFFFFFFFFFFFFFFF
    h = _mix_h1(seed, _mix_k1(u & 0xFFFFFFFF))
    return _fmix(_mix_h1(h, _mix_k1(u >> 32)), 8)


def _m3_bytes(b: bytes, seed: int) -> int:
    """Spark's ``Murmur3_x86_32.hashUnsafeBytes``: 4-byte little-endian words, then each tail byte alone."""
    h = seed
    n = len(b) - len(b) % 4
    for i in range(0, n, 4):
        h = _mix_h1(h, _mix_k1(int.from_bytes(b[i:i + 4], "little")))
    for x in b[n:]:
        h = _mix_h1(h, _mix_k1((x - 256 if x > 127 else x) & 0xFFFFFFFF))
    return _fmix(h, len(b))


def spark_hash(types: Sequence[str], values: Sequence[Any]) -> int:
    """Spark's ``hash(...)`` (Murmur3, seed 42) of one row's bucket-column values (signed int32)."""
    h = 42
    for t, v in zip(types, values, strict=True):
        if v is None:
            continue
        base = _base(t)
        if base == "boolean":
            h = _m3_int(1 if v else 0, h)
        elif base in ("tinyint", "smallint", "int", "integer"):
            h = _m3_int(int(v), h)
        elif base == "bigint":
            h = _m3_long(int(v), h)
        elif base in ("float", "real"):
            f = float(v)
            f = 0.0 if f == 0.0 else f  # -0.0 hashes like 0.0
            h = _m3_int(0x7FC00000 if f != f else struct.unpack(">i", struct.pack(">f", f))[0], h)
        elif base == "double":
            f = float(v)
            f = 0.0 if f == 0.0 else f
            h = _m3_long(0x7FF8000000000000 if f != f else struct.unpack(">q", struct.pack(">d", f))[0], h)
        elif base == "date":
            d = v if isinstance(v, _dt.date) else _dt.date.fromisoformat(str(v))
            h = _m3_int((d - _dt.date(1970, 1, 1)).days, h)
        elif base in ("string", "varchar"):
            h = _m3_bytes(str(v).encode("utf-8"), h)
        else:
            raise _err("NOT_SUPPORTED", f"Spark bucket hash is not supported locally for type {t}")
    return _i32(h)


def bucket_number(spec: BucketSpec, types: Sequence[str], values: Sequence[Any]) -> int:
    """The bucket of one row (values in ``spec.columns`` order)."""
    if spec.fmt == "spark":
        return spark_hash(types, values) % spec.count  # pmod: Python's % is already non-negative
    return (hive_hash(types, values) & 0x7FFFFFFF) % spec.count


def _column_hash(col: pa.ChunkedArray, hive_type: str) -> np.ndarray:
    """HiveBucketingV1 hash of every value of a column, as uint32 (NULL: 0)."""
    base = _base(hive_type)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    valid = np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)
    if base == "boolean":
        out = np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=np.uint32)
    elif base in ("tinyint", "smallint", "int", "integer"):
        out = np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(), dtype=np.int64).astype(np.uint32)
    elif base == "bigint":
        u = np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(), dtype=np.int64).view(np.uint64)
        out = ((u >> np.uint64(32)) ^ u).astype(np.uint32)
    elif base in ("float", "real"):
        f = np.asarray(pc.fill_null(arr.cast(pa.float32()), 0).to_numpy(), dtype=np.float32)
        out = np.where(np.isnan(f), np.uint32(0x7FC00000), f.view(np.uint32))
    elif base == "double":
        f = np.asarray(pc.fill_null(arr.cast(pa.float64()), 0).to_numpy(), dtype=np.float64)
        u = np.where(np.isnan(f), np.uint64(0x7FF8000000000000), f.view(np.uint64))
        out = ((u >> np.uint64(32)) ^ u).astype(np.uint32)
    elif base == "date":
        out = np.asarray(pc.fill_null(arr.cast(pa.date32()).cast(pa.int32()), 0).to_numpy(),
                         dtype=np.int64).astype(np.uint32)
    elif base in ("string", "varchar"):
        enc = pc.dictionary_encode(arr.cast(pa.string()))
        per = np.array([_hive_value_hash(hive_type, v) & 0xFFFFFFFF for v in enc.dictionary.to_pylist()] or [0],
                       dtype=np.uint32)
        out = per[np.asarray(pc.fill_null(enc.indices, 0).to_numpy(), dtype=np.int64)]
    else:
        raise _err("NOT_SUPPORTED", f"Computation of Hive bucket hashCode is not supported for Hive type {hive_type}")
    return np.where(valid, out, np.uint32(0)).astype(np.uint32)


def _buckets_of_table(tbl: pa.Table, spec: BucketSpec, types: Sequence[str]) -> np.ndarray:
    if spec.fmt == "spark":
        rows = zip(*[tbl[c].to_pylist() for c in spec.columns], strict=True)
        return np.array([bucket_number(spec, types, r) for r in rows], dtype=np.int64)
    h = np.zeros(tbl.num_rows, dtype=np.uint64)
    for c, t in zip(spec.columns, types, strict=True):
        h = (h * np.uint64(31) + _column_hash(tbl[c], t).astype(np.uint64)) & np.uint64(0xFFFFFFFF)
    return ((h & np.uint64(0x7FFFFFFF)) % np.uint64(spec.count)).astype(np.int64)


# ----------------------------------------------------------------------------- specs and refusals


def _int_prop(raw: Any) -> int:
    s = str(raw).strip()
    if not re.fullmatch(r"[+-]?\d+", s):
        raise _err("INVALID_TABLE_PROPERTY",
                   f"Invalid value for table property 'bucket_count': Cannot convert [{raw}] to integer")
    return int(s)


def ctas_spec(props: dict[str, Any]) -> BucketSpec | None:
    """The CTAS ``bucketed_by``/``bucket_count`` properties (Trino ``HiveTableProperties.getBucketInfo``)."""
    by = props.get("bucketed_by")
    raw_count = props.get("bucket_count")
    if by is None and raw_count is None:
        return None
    cols = [by] if isinstance(by, str) else list(by or [])
    count = _int_prop(raw_count) if raw_count is not None else 0
    if not cols and count == 0:
        return None
    if count < 0:
        raise _err("INVALID_TABLE_PROPERTY", "bucket_count must be greater than zero")
    if not cols or count == 0:
        raise _err("INVALID_TABLE_PROPERTY", "bucketed_by and bucket_count must be specified together")
    return BucketSpec(tuple(str(c).lower() for c in cols), count)


def _check_types(spec: BucketSpec, types: Sequence[str], what: str) -> None:
    for c, t in zip(spec.columns, types, strict=True):
        base = _base(t)
        if base == "timestamp":
            raise _err("NOT_SUPPORTED", f"Writing to tables bucketed on timestamp not supported (column '{c}' of "
                       f"{what}); bucket on a string, integer, boolean, float, double or date column")
        if base not in _WRITE_TYPES:
            raise _err("NOT_SUPPORTED", f"Bucketing on column '{c}' of type {t} is not supported (Hive bucket "
                       "hashCode has no function for it); bucket on a string, integer, boolean, float, double or "
                       "date column")


def check_ctas(spec: BucketSpec, tbl: pa.Table, pcols: list[str], what: str) -> list[str]:
    """Refuse what Athena refuses for the CTAS output ``tbl``; returns the bucket columns' Hive types."""
    from ._types import arrow_to_hive

    names = tbl.column_names
    missing = [c for c in spec.columns if c not in names]
    if missing:
        raise _err("INVALID_TABLE_PROPERTY", f"Bucketing columns {missing} not present in schema")
    both = [c for c in spec.columns if c in pcols]
    if both:
        raise _err("INVALID_TABLE_PROPERTY", f"Bucketing columns {both} are partition columns; bucket on data "
                   "columns only (a partition column has one value per partition folder)")
    types = [arrow_to_hive(tbl.schema.field(c).type) for c in spec.columns]
    _check_types(spec, types, what)
    return types


def table_spec(table: dict) -> BucketSpec | None:
    """The bucketing of a Glue table (None if not bucketed)."""
    sd = table.get("StorageDescriptor") or {}
    n = sd.get("NumberOfBuckets") or 0
    cols = [c.lower() for c in sd.get("BucketColumns") or []]
    if n <= 0 or not cols:
        return None
    params = table.get("Parameters") or {}
    fmt = str(params.get("bucketing_format", "hive")).strip().lower()
    if fmt != "spark" and str(params.get("bucketing_version", "1")).strip() == "2":
        fmt = "hive-v2"  # Hive 3's murmur3 bucketing: read whole (no local pruning)
    return BucketSpec(tuple(cols), int(n), "spark" if fmt == "spark" else fmt if fmt == "hive-v2" else "hive")


def _column_types(table: dict) -> dict[str, str]:
    sd = table.get("StorageDescriptor") or {}
    return {c["Name"].lower(): (c.get("Type") or "").lower() for c in sd.get("Columns") or []}


def refuse_insert(table: dict, db: str, name: str) -> None:
    """Athena: "Athena does not support using INSERT INTO to add new records to bucketed tables"."""
    if table_spec(table) is not None:
        raise _err("NOT_SUPPORTED", f"Cannot insert into bucketed table {db}.{name}: Athena does not support INSERT "
                   "INTO bucketed tables. Create a new table with CTAS (bucketed_by, bucket_count) instead.")


def clustered_by(prop: exp.ClusteredByProperty, columns: list[dict], partition_keys: list[dict],
                 params: dict[str, str]) -> BucketSpec:
    """``CLUSTERED BY (c, ...) INTO n BUCKETS`` of CREATE EXTERNAL TABLE, checked like Hive's DDL."""
    cols = [c.name.lower() for c in prop.expressions]
    data = {c["Name"] for c in columns}
    bad = [c for c in cols if c not in data]
    if bad:
        where = "a partition column" if any(c in {k["Name"] for k in partition_keys} for c in bad) else "not a column"
        raise _err("SEMANTIC_ERROR", f"Invalid column reference {bad[0]!r} in CLUSTERED BY ({where} of the table); "
                   "bucket columns must be data columns listed in the table's column list")
    n = int(prop.args["buckets"].name) if prop.args.get("buckets") is not None else 0
    if n <= 0:
        raise _err("SEMANTIC_ERROR", f"INTO {n} BUCKETS: the number of buckets must be greater than zero")
    fmt = str(params.get("bucketing_format", "hive")).strip().lower()
    return BucketSpec(tuple(cols), n, "spark" if fmt == "spark" else "hive")


# ----------------------------------------------------------------------------- writing


def _query_id() -> str:
    rnd = random.SystemRandom()
    return (time.strftime("%Y%m%d_%H%M%S", time.gmtime()) + f"_{rnd.randrange(100000):05d}_"
            + "".join(rnd.choice(string.ascii_lowercase + string.digits) for _ in range(5)))


def bucket_file_name(bucket: int, query_id: str) -> str:
    """Trino ``computeNonTransactionalBucketedFilename``: ``0{bucket:05d}_0_{uuid}_{query id}``."""
    return f"0{bucket:05d}_0_{uuid.uuid4()}_{query_id}"


def write_parquet_buckets(s3fs: Any, tbl: pa.Table, location: str, pcols: list[str], compression: str,
                          spec: BucketSpec, types: Sequence[str]) -> tuple[list[str], list[dict[str, str]]]:
    """Write ``tbl`` as one Parquet file per (partition, bucket) under ``location``.

    Returns (written s3:// paths, [partition values {key: value}]) like ``_io.write_parquet``.
    """
    from ._io import split_s3

    bucket, prefix = split_s3(location)
    prefix = prefix.rstrip("/")
    base = f"{bucket}/{prefix}" if prefix else bucket
    qid = _query_id()
    work = tbl.append_column("__lk_bucket", pa.array(_buckets_of_table(tbl, spec, types), pa.int64()))
    keys = [*pcols, "__lk_bucket"]
    combos = work.select(keys).group_by(keys).aggregate([]).to_pylist()
    if len(combos) > MAX_OPEN_WRITERS:
        raise _err("HIVE_TOO_MANY_OPEN_PARTITIONS",
                   f"Exceeded limit of {MAX_OPEN_WRITERS} open writers for partitions/buckets ({len(combos)} "
                   "partition and bucket combinations). Use fewer buckets or partitions, or write the rest with "
                   "INSERT INTO in batches of up to 100 partitions.")
    comp = None if compression.upper() in ("NONE", "UNCOMPRESSED") else compression.lower()
    written: list[str] = []
    parts: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for combo in sorted(combos, key=lambda c: tuple(str(c[k]) for k in keys)):
        mask = None
        for k, v in combo.items():
            m = pc.is_null(work[k]) if v is None else pc.equal(work[k], pa.scalar(v, work.schema.field(k).type))
            m = pc.fill_null(m, False)
            mask = m if mask is None else pc.and_(mask, m)
        sub = work.filter(mask).drop_columns(keys)
        pvals = {k: ("__HIVE_DEFAULT_PARTITION__" if combo[k] is None else str(combo[k])) for k in pcols}
        rel = "/".join(f"{k}={v}" for k, v in pvals.items())
        folder = f"{base}/{rel}" if rel else base
        path = f"{folder}/{bucket_file_name(int(combo['__lk_bucket']), qid)}"
        pq.write_table(sub, path, filesystem=s3fs, compression=comp)
        written.append(f"s3://{path}")
        tup = tuple(pvals.values())
        if pcols and tup not in seen:
            seen.add(tup)
            parts.append(pvals)
    log.debug("bucketed CTAS wrote %d files (%d buckets) under %s", len(written), spec.count, location)
    return written, parts


# ----------------------------------------------------------------------------- reading


def bucket_of_file(name: str, fmt: str = "hive") -> int | None:
    """Bucket number encoded in a data file's name (None: no known pattern)."""
    if fmt == "spark":
        m = _SPARK_PATTERN.fullmatch(name)
        if m:
            return int(m.group(1))
    for p in _HIVE_PATTERNS:  # Trino: Matcher.matches(), the whole name
        m = p.fullmatch(name)
        if m:
            return int(m.group(1))
    return None


def select_files(table: dict, files: list[Any], keep: set[int] | None) -> list[Any]:
    """The data files of a bucketed table (``files``: objects with ``.path`` = bucket/key) that hold the
    buckets in ``keep`` (None: all), checking each directory's bucket files as Trino does."""
    spec = table_spec(table)
    if spec is None or not files:
        return files
    name = f"{(table.get('DatabaseName') or '')}.{table.get('Name') or ''}".strip(".")
    by_dir: dict[str, list[Any]] = {}
    for f in files:
        by_dir.setdefault(f.path.rsplit("/", 1)[0], []).append(f)
    out: list[Any] = []
    for d, group in by_dir.items():
        numbered = [(bucket_of_file(f.path.rsplit("/", 1)[1], spec.fmt), f) for f in group]
        if any(b is None for b, _ in numbered):
            bad = next(f for b, f in numbered if b is None).path.rsplit("/", 1)[1]
            if len(group) != spec.count:
                raise _err("HIVE_INVALID_BUCKET_FILES",
                           f"Hive table '{name}' is corrupt. File '{bad}' does not match the standard naming pattern, "
                           f"and the number of files in the directory ({len(group)}) does not match the declared "
                           f"bucket count ({spec.count}) for partition: {_partition_name(d, table)}")
            numbered = list(enumerate(sorted(group, key=lambda f: f.path)))
        top = max(b for b, _ in numbered)
        if top >= spec.count:
            raise _err("HIVE_INVALID_BUCKET_FILES",
                       f"Hive table '{name}' is corrupt. The highest bucket number in the directory ({top}) exceeds "
                       f"the bucket number range defined by the declared bucket count ({spec.count}) for "
                       f"partition: {_partition_name(d, table)}")
        out += [f for b, f in numbered if keep is None or b in keep]
    return out


def _partition_name(directory: str, table: dict) -> str:
    keys = [k["Name"].lower() for k in table.get("PartitionKeys") or []]
    if not keys:
        return "<UNPARTITIONED>"
    parts = [p for p in directory.split("/") if "=" in p and p.split("=", 1)[0].lower() in keys]
    return "/".join(parts) or directory


def _literal(node: exp.Expression) -> tuple[bool, Any]:
    """(is a constant, Python value) of a literal node (NULL -> (True, None))."""
    if isinstance(node, exp.Paren):
        return _literal(node.this)
    if isinstance(node, exp.Null):
        return True, None
    if isinstance(node, exp.Boolean):
        return True, bool(node.this)
    if isinstance(node, exp.Literal):
        return True, node.name if node.is_string else ("num", node.name)
    if isinstance(node, exp.Neg):
        ok, v = _literal(node.this)
        if ok and isinstance(v, tuple):
            return True, ("num", "-" + v[1])
        return False, None
    if isinstance(node, exp.Cast):
        ok, v = _literal(node.this)
        if ok:
            to = node.to.sql("hive").lower()
            return True, ("cast", to, v)
    return False, None


def _coerce(v: Any, hive_type: str) -> tuple[bool, Any]:
    """A literal's value as the column's type, as Trino coerces it (False: not comparable -> no pruning)."""
    if v is None:
        return True, None
    base = _base(hive_type)
    if isinstance(v, tuple) and v[0] == "cast":
        _, to, inner = v
        if _base(to) == "date":
            if base != "date" or not isinstance(inner, str):
                return False, None
            try:
                return True, _dt.date.fromisoformat(inner.strip())
            except ValueError:
                return False, None
        return _coerce(inner, hive_type)
    if isinstance(v, tuple) and v[0] == "num":
        text = v[1]
        try:
            if base in ("tinyint", "smallint", "int", "integer", "bigint"):
                return (True, int(text)) if re.fullmatch(r"-?\d+", text) else (False, None)
            if base in ("float", "real", "double"):
                f = float(text)
                return True, float(np.float32(f)) if base in ("float", "real") else f
        except ValueError:
            return False, None
        return False, None
    if isinstance(v, bool):
        return (True, v) if base == "boolean" else (False, None)
    if isinstance(v, str):
        return (True, v) if base in ("string", "varchar") else (False, None)
    return False, None


def _conjuncts(t: exp.Table) -> list[exp.Expression]:
    select = t.find_ancestor(exp.Select)
    where = select.args.get("where") if select is not None else None
    if where is None:
        return []
    return list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]


def _column_of(node: exp.Expression, alias: str, name: str, cols: Iterable[str]) -> str | None:
    if isinstance(node, exp.Paren):
        node = node.this
    if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
        return None
    if node.table and node.table.lower() not in (alias, name):
        return None
    c = node.name.lower()
    return c if c in cols else None


def buckets_for_query(t: exp.Table, name: str, table: dict) -> set[int] | None:
    """Buckets of ``table`` the query reads given the WHERE of the SELECT reading ``t`` (None: all)."""
    spec = table_spec(table)
    if spec is None or spec.fmt == "hive-v2":
        return None
    types_by_col = _column_types(table)
    types = [types_by_col.get(c, "") for c in spec.columns]
    if any(_base(ty) not in _FILTER_TYPES for ty in types):
        return None  # Athena filters only on the documented types
    alias = t.alias_or_name.lower()
    values: dict[str, set[Any] | None] = {}
    for cj in _conjuncts(t):
        found = _discrete(cj, alias, name, spec.columns, types_by_col)
        if found is None:
            continue
        col, vals = found
        prev = values.get(col)
        values[col] = vals if prev is None else prev & vals
    if any(c not in values for c in spec.columns):
        return None
    lists = [sorted(values[c], key=repr) for c in spec.columns]  # type: ignore[arg-type]
    combos = 1
    for v in lists:
        combos *= len(v)
    if combos > max(spec.count * _EXPLORATION_FACTOR, _EXPLORATION_GUARANTEED):
        return None
    keep: set[int] = set()
    for row in _product(lists):
        keep.add(bucket_number(spec, types, row))
        if len(keep) >= spec.count:
            return None
    return keep


def _product(lists: list[list[Any]]) -> Iterable[list[Any]]:
    if not lists:
        yield []
        return
    for head in lists[0]:
        for rest in _product(lists[1:]):
            yield [head, *rest]


def _discrete(cj: exp.Expression, alias: str, name: str, bucket_cols: Sequence[str],
              types: dict[str, str]) -> tuple[str, set[Any]] | None:
    """``col = lit`` / ``lit = col`` / ``col IN (lits)`` / ``col IS NULL`` on one bucket column -> (col, values)."""
    if isinstance(cj, exp.Paren):
        return _discrete(cj.this, alias, name, bucket_cols, types)
    if isinstance(cj, exp.EQ):
        for a, b in ((cj.this, cj.expression), (cj.expression, cj.this)):
            col = _column_of(a, alias, name, bucket_cols)
            if col is None:
                continue
            ok, v = _literal(b)
            if not ok or v is None:
                return None  # col = NULL matches nothing: leave it to the engine
            ok, cv = _coerce(v, types.get(col, ""))
            return (col, {cv}) if ok else None
        return None
    if isinstance(cj, exp.In) and not cj.args.get("query") and not cj.args.get("unnest"):
        col = _column_of(cj.this, alias, name, bucket_cols)
        if col is None:
            return None
        vals: set[Any] = set()
        for e in cj.expressions:
            ok, v = _literal(e)
            if not ok:
                return None
            if v is None:
                continue  # NULL in an IN list matches no row
            ok, cv = _coerce(v, types.get(col, ""))
            if not ok:
                return None
            vals.add(cv)
        return col, vals
    if isinstance(cj, exp.Is) and isinstance(cj.expression, exp.Null):
        col = _column_of(cj.this, alias, name, bucket_cols)
        return (col, {None}) if col is not None else None
    return None
