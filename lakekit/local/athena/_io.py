"""S3 access for the engine: a byte-counting filesystem, listing, table readers and writers."""
from __future__ import annotations

import functools
import hashlib
import io
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.json as pajson
import pyarrow.parquet as pq

from ._bucketing import select_files as select_bucket_files
from ._types import hive_to_arrow

__all__ = ["ByteCounter", "CountingFS", "split_s3", "list_files", "location_has_data", "TableReader", "write_table",
           "data_file_name"]


class _CutoffExceeded(Exception):
    """Raised inside a read when the bytes-scanned cutoff is passed."""


class ByteCounter:
    """Thread-safe count of bytes read from S3, with an optional cutoff."""

    def __init__(self, cutoff: int | None = None) -> None:
        self.total = 0
        self.cutoff = cutoff
        self.exceeded = False
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.total += n
            if self.cutoff is not None and self.total > self.cutoff:
                self.exceeded = True
        if self.exceeded:
            raise _CutoffExceeded(f"bytes scanned {self.total} exceeded cutoff {self.cutoff}")


class _CountingFile:
    """File-like wrapper counting every byte returned by read/read_at."""

    closed = False

    def __init__(self, f: Any, counter: ByteCounter, skip_tail: bool = False) -> None:
        self._f = f
        self._c = counter
        self._skip_tail = skip_tail
        self._size = f.size() if skip_tail else -1

    def _count(self, offset: int, n: int) -> None:
        # Parquet: the read that reaches end-of-file is the footer (metadata) read, not column data.
        if self._skip_tail and offset + n >= self._size:
            return
        self._c.add(n)

    def read(self, n: int = -1) -> bytes:
        pos = self._f.tell()
        b = self._f.read(n) if n is not None and n >= 0 else self._f.read()
        self._count(pos, len(b))
        return b

    def read_at(self, n: int, offset: int) -> bytes:
        b = self._f.read_at(n, offset)
        self._count(offset, len(b))
        return b

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def size(self) -> int:
        return self._f.size()

    def close(self) -> None:
        self._f.close()
        self.closed = True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False


class _CountingHandler(pafs.FileSystemHandler):
    """Read-only delegate to an S3FileSystem (or any object with ``open_input_file`` and
    ``get_file_info``, e.g. the in-process moto reader) that counts the bytes each query reads."""

    def __init__(self, fs: Any, counter: ByteCounter, skip_tail: bool) -> None:
        self.fs = fs
        self.counter = counter
        self.skip_tail = skip_tail

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def get_type_name(self) -> str:
        return "lakekit-counting-s3"

    def normalize_path(self, path: str) -> str:
        return path

    def get_file_info(self, paths):  # type: ignore[no-untyped-def]
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):  # type: ignore[no-untyped-def]
        if not isinstance(self.fs, pafs.FileSystem):
            raise NotImplementedError("directory listings go through list_files, not the query filesystem")
        return self.fs.get_file_info(selector)

    def open_input_file(self, path: str):  # type: ignore[no-untyped-def]
        f = self.fs.open_input_file(path)
        return pa.PythonFile(_CountingFile(f, self.counter, self.skip_tail), mode="r")

    def open_input_stream(self, path: str):  # type: ignore[no-untyped-def]
        return self.open_input_file(path)

    def _ro(self, *args: Any) -> None:
        raise NotImplementedError("the query filesystem is read-only")

    create_dir = delete_dir = delete_dir_contents = delete_root_dir_contents = _ro
    delete_file = move = copy_file = open_output_stream = open_append_stream = _ro


def CountingFS(fs: Any, counter: ByteCounter, skip_tail: bool = False) -> pafs.FileSystem:  # noqa: N802
    """A pyarrow filesystem over ``fs`` that adds every byte read to ``counter``.

    ``fs``: a pyarrow filesystem, or an object with ``open_input_file(path)`` / ``get_file_info(paths)``.

    ``skip_tail``: do not count reads reaching end-of-file (Parquet footers), so a Parquet scan
    counts the column chunks it reads, like Athena's DataScannedInBytes.
    """
    return pafs.PyFileSystem(_CountingHandler(fs, counter, skip_tail))


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://b/p/`` -> ``("b", "p/")``."""
    if uri.startswith("s3://") and "?" not in uri and "#" not in uri:  # fast path (thousands of partitions)
        bucket, _, key = uri[5:].partition("/")
        if bucket:
            return bucket, key.lstrip("/")
    u = urlparse(uri)
    if u.scheme not in ("s3", "s3a", "s3n") or not u.netloc:
        raise ValueError(f"not an S3 location: {uri!r} (expected s3://bucket/prefix/)")
    return u.netloc, u.path.lstrip("/")


def _hidden(rel: str) -> bool:
    if "$folder$" not in rel and "/_" not in rel and "/." not in rel and rel[:1] not in ("_", "."):
        return False  # fast path: thousands of keys per query
    return any(p.startswith(("_", ".")) or p.endswith("$folder$") for p in rel.split("/") if p)


def list_files(s3: Any, location: str) -> list[tuple[str, int, str]]:
    """Data files under an S3 prefix (recursive, Hive-hidden ``_``/``.`` files skipped): [(bucket/key, size, ETag)]."""
    bucket, prefix = split_s3(location)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    out: list[tuple[str, int, str]] = []
    token = None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        try:
            resp = s3.list_objects_v2(**kw)
        except s3.exceptions.NoSuchBucket:
            return []
        for obj in resp.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/") or _hidden(key[len(prefix):]):
                continue
            if obj.get("Size", 0) == 0:
                continue
            out.append((f"{bucket}/{key}", obj["Size"], obj.get("ETag", "")))
        if not resp.get("IsTruncated"):
            return out
        token = resp.get("NextContinuationToken")


@dataclass
class TableFormat:
    """How a Glue table's files are read."""

    kind: str  # parquet | orc | avro | csv | json
    delimiter: str = ","
    quote_char: str | bool = False
    escape_char: str | bool = False
    skip_header: int = 0
    null_values: list[str] = field(default_factory=lambda: ["", "\\N"])


def table_format(table: dict) -> TableFormat:
    """Derive the reader from the Glue table's StorageDescriptor/SerDe/parameters."""
    sd = table.get("StorageDescriptor", {})
    serde = sd.get("SerdeInfo", {}) or {}
    lib = (serde.get("SerializationLibrary") or "").lower()
    sp = serde.get("Parameters", {}) or {}
    inp = (sd.get("InputFormat") or "").lower()
    params = {**(sd.get("Parameters") or {}), **(table.get("Parameters") or {})}
    cls = (params.get("classification") or "").lower()
    skip = int(params.get("skip.header.line.count", "0") or 0)
    if "parquet" in lib or "parquet" in inp or cls == "parquet":
        return TableFormat("parquet")
    if "orcserde" in lib or ".orc." in inp or cls == "orc":
        return TableFormat("orc")
    if "avroserde" in lib or "avro" in inp or cls == "avro":
        return TableFormat("avro")
    if "json" in lib or cls == "json":
        return TableFormat("json")
    if "opencsv" in lib:
        return TableFormat(
            "csv",
            delimiter=sp.get("separatorChar", ","),
            quote_char=sp.get("quoteChar", '"'),
            escape_char=sp.get("escapeChar", "\\"),
            skip_header=skip,
            null_values=[],
        )
    delim = sp.get("field.delim") or sp.get("separatorChar") or sp.get("serialization.format") or ","
    if delim == "1":  # Hive's default serialization.format, i.e. Ctrl-A unless field.delim says otherwise
        delim = "\x01" if not sp.get("field.delim") else sp["field.delim"]
    if cls in ("csv", "tsv", "") or "text" in inp or "lazysimple" in lib:
        return TableFormat("csv", delimiter=delim, skip_header=skip)
    raise ValueError(
        f"unsupported table format (SerDe {lib!r}, InputFormat {inp!r}): "
        "use Parquet, ORC, Avro, delimited text (LazySimpleSerDe/OpenCSVSerde) or JSON"
    )


def _fix_temporal(tbl: pa.Table, target: pa.Schema) -> pa.Table:
    """Convert string columns read for date/timestamp targets (ISO text, 'T'/'Z' allowed); bad values -> NULL."""
    cols = []
    for f in target:
        col = tbl.column(f.name)
        if (pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)) and pa.types.is_string(col.type):
            s = pc.replace_substring_regex(col, r"(Z|[+-]00:?00)$", "")
            s = pc.replace_substring(s, "T", " ")
            parsed = None
            for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
                try:
                    cand = pc.strptime(s, format=fmt, unit="ms", error_is_null=True)
                except pa.ArrowInvalid:
                    continue
                parsed = cand if parsed is None else pc.coalesce(parsed, cand)
            try:
                frac = pc.cast(s, pa.timestamp("ms"), safe=False)
                parsed = pc.coalesce(parsed, frac) if parsed is not None else frac
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
            col = parsed if parsed is not None else pa.nulls(len(col), pa.timestamp("ms"))
            col = col.cast(f.type)
        cols.append(col)
    return pa.table(cols, schema=target)


def read_text_file(fs: pafs.FileSystem, path: str, fmt: TableFormat, schema: pa.Schema) -> pa.Table:
    """Read one CSV/JSON-lines file (whole file counted; .gz decompressed) into ``schema`` (data columns only)."""
    with fs.open_input_file(path) as f:
        raw = f.read()
    if path.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
    if path.endswith(".bz2"):
        import bz2

        raw = bz2.decompress(raw)
    if path.endswith(".zst"):
        raw = pa.CompressedInputStream(pa.BufferReader(raw), "zstd").read()
    names = schema.names
    read_types = {
        f.name: (pa.string() if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type) else f.type)
        for f in schema
    }
    if not raw.strip():
        return schema.empty_table()
    if fmt.kind == "json":
        rs = pa.schema([pa.field(n, read_types[n]) for n in names])
        tbl = pajson.read_json(
            io.BytesIO(raw),
            parse_options=pajson.ParseOptions(explicit_schema=rs, unexpected_field_behavior="ignore"),
        )
        missing = [n for n in names if n not in tbl.column_names]
        for n in missing:
            tbl = tbl.append_column(pa.field(n, read_types[n]), pa.nulls(tbl.num_rows, read_types[n]))
        tbl = tbl.select(names)
    else:

        def _pad(row: Any) -> str:  # rows with a wrong field count are skipped (Athena pads/truncates)
            return "skip"

        tbl = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=fmt.skip_header),
            parse_options=pacsv.ParseOptions(
                delimiter=fmt.delimiter,
                quote_char=fmt.quote_char,
                escape_char=fmt.escape_char,
                invalid_row_handler=_pad,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=read_types,
                null_values=fmt.null_values or [""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                true_values=["true", "TRUE", "True"],
                false_values=["false", "FALSE", "False"],
            ),
        )
    return _fix_temporal(tbl, schema)


def glue_schema(table: dict) -> tuple[pa.Schema, list[tuple[str, pa.DataType]]]:
    """(data columns schema, [(partition key, arrow type)]) from a Glue table."""
    cols = table.get("StorageDescriptor", {}).get("Columns", []) or []
    data = pa.schema([pa.field(c["Name"].lower(), hive_to_arrow(c["Type"])) for c in cols])
    keys = [(k["Name"].lower(), hive_to_arrow(k["Type"])) for k in table.get("PartitionKeys", []) or []]
    return data, keys


def partition_value(value: str, typ: pa.DataType) -> Any:
    """Glue partition value string -> Python value of the key's type (None for Hive's default partition)."""
    if value in ("__HIVE_DEFAULT_PARTITION__", "\\N"):
        return None
    return _cast_partition_value(value, typ)


@functools.lru_cache(maxsize=65536)
def _cast_partition_value(value: str, typ: pa.DataType) -> Any:
    # a table has thousands of partitions but few distinct values per key (years, months, days)
    return pa.scalar(value).cast(typ).as_py()


def write_parquet(s3fs: pafs.FileSystem, tbl: pa.Table, location: str, partition_cols: list[str],
                  compression: str) -> tuple[list[str], list[dict[str, str]]]:
    """Write ``tbl`` as Parquet under ``location`` (Hive key=value folders for partitions).

    Returns (written s3:// paths, [partition values {key: value}]).
    """
    bucket, prefix = split_s3(location)
    prefix = prefix.rstrip("/")
    base = f"{bucket}/{prefix}" if prefix else bucket
    qid = uuid.uuid4().hex
    written: list[str] = []
    parts: list[dict[str, str]] = []
    if not partition_cols:
        groups = [({}, tbl)]
    else:
        keys = tbl.select(partition_cols)
        uniq = keys.group_by(partition_cols).aggregate([]).to_pylist()
        groups = []
        for combo in uniq:
            mask = None
            for k, v in combo.items():
                m = pc.is_null(tbl[k]) if v is None else pc.equal(tbl[k], pa.scalar(v, tbl.schema.field(k).type))
                m = pc.fill_null(m, False)
                mask = m if mask is None else pc.and_(mask, m)
            groups.append((combo, tbl.filter(mask).drop_columns(partition_cols)))
    for combo, sub in groups:
        rel = "/".join(f"{k}={'__HIVE_DEFAULT_PARTITION__' if v is None else v}" for k, v in combo.items())
        folder = f"{base}/{rel}" if rel else base
        path = f"{folder}/{qid}_00000.parquet"
        comp = None if compression.upper() in ("NONE", "UNCOMPRESSED") else compression.lower()
        pq.write_table(sub, path, filesystem=s3fs, compression=comp)
        written.append(f"s3://{path}")
        if combo:
            parts.append({k: ("__HIVE_DEFAULT_PARTITION__" if v is None else str(v)) for k, v in combo.items()})
    return written, parts


def location_has_data(s3: Any, location: str) -> bool:
    """Whether any object other than a zero-byte folder marker lies under the S3 prefix (the
    emptiness check of CTAS ``external_location`` and UNLOAD ``TO``)."""
    bucket, prefix = split_s3(location)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    kw: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        try:
            resp = s3.list_objects_v2(**kw)
        except s3.exceptions.NoSuchBucket:
            return False
        for obj in resp.get("Contents", []):
            if not (obj["Key"].endswith("/") and obj.get("Size", 0) == 0):
                return True
        if not resp.get("IsTruncated"):
            return False
        kw["ContinuationToken"] = resp.get("NextContinuationToken")


def data_file_name(query_tag: str, n: int) -> str:
    """A data file name as Trino/Athena writers spell them: ``<yyyymmdd_hhmmss>_<nnnnn>_<tag>_<uuid>``."""
    import datetime as _dt

    now = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d_%H%M%S")
    return f"{now}_{n:05d}_{query_tag}_{uuid.uuid4()}"


def _groups(tbl: pa.Table, partition_cols: list[str]) -> list[tuple[dict[str, Any], pa.Table]]:
    if not partition_cols:
        return [({}, tbl)]
    uniq = tbl.select(partition_cols).group_by(partition_cols).aggregate([]).to_pylist()
    out = []
    for combo in uniq:
        mask = None
        for k, v in combo.items():
            m = pc.is_null(tbl[k]) if v is None else pc.equal(tbl[k], pa.scalar(v, tbl.schema.field(k).type))
            m = pc.fill_null(m, False)
            mask = m if mask is None else pc.and_(mask, m)
        out.append((combo, tbl.filter(mask).drop_columns(partition_cols)))
    return out


def write_table(s3: Any, tbl: pa.Table, location: str, partition_cols: list[str], fmt: str, compression: str,
                delimiter: str | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """Write ``tbl`` under ``location`` in ``fmt`` (PARQUET, ORC, AVRO, JSON, TEXTFILE), one file per
    Hive ``key=value`` partition folder, through ``s3.put_object``.

    Returns (written s3:// paths, [partition values {key: value}]).
    """
    from ._formats import encode

    bucket, prefix = split_s3(location)
    prefix = prefix.rstrip("/")
    tag = uuid.uuid4().hex[:5]
    written: list[str] = []
    parts: list[dict[str, str]] = []
    for i, (combo, sub) in enumerate(_groups(tbl, partition_cols)):
        rel = "/".join(f"{k}={'__HIVE_DEFAULT_PARTITION__' if v is None else v}" for k, v in combo.items())
        body, ext = encode(sub, fmt, compression, delimiter)
        key = "/".join(x for x in (prefix, rel, data_file_name(tag, i) + ext) if x)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        written.append(f"s3://{bucket}/{key}")
        if combo:
            parts.append({k: ("__HIVE_DEFAULT_PARTITION__" if v is None else str(v)) for k, v in combo.items()})
    return written, parts


class ChunkedScan(ds.InMemoryDataset):
    """The dataset DuckDB scans: a FileSystemDataset read a chunk of files at a time.

    DuckDB pushes its projection and filters into ``scanner(columns=, filter=)`` exactly as for
    the wrapped dataset (so the same column chunks are read and counted), then pulls batches
    from ``to_reader()``. Each chunk is read with ``Dataset.to_table``, which releases the GIL
    while Arrow's threads read through the Python (byte-counting) filesystem. Letting DuckDB call
    ``Scanner.to_reader()`` on the dataset itself instead can deadlock: pyarrow starts the scan
    holding the GIL and waits on a lock held by an Arrow thread that waits for the GIL.
    Chunks grow 4, 8, ... 512 files, so a query that stops early (LIMIT) reads few files.
    """

    FIRST, LAST = 4, 512

    def __init__(self, dataset: ds.FileSystemDataset) -> None:
        super().__init__(dataset.schema.empty_table())
        self.dataset = dataset
        self.fragments = list(dataset.get_fragments())

    def scanner(self, columns: Any = None, filter: Any = None, **kw: Any) -> _ChunkedScanner:  # noqa: A002
        return _ChunkedScanner(self, columns, filter, kw)

    def to_table(self, columns: Any = None, filter: Any = None, **kw: Any) -> pa.Table:  # noqa: A002
        return self.scanner(columns, filter, **kw).to_reader().read_all()


class _ChunkedScanner:
    """What :meth:`ChunkedScan.scanner` returns: ``projected_schema`` and ``to_reader()``."""

    def __init__(self, scan: ChunkedScan, columns: Any, filter: Any, kw: dict[str, Any]) -> None:  # noqa: A002
        self.scan, self.columns, self.filter, self.kw = scan, columns, filter, kw
        args: dict[str, Any] = {"columns": columns, **kw}
        if filter is not None:
            args["filter"] = filter
        self.args = args
        self.projected_schema = scan.dataset.scanner(**args).projected_schema

    def _batches(self) -> Any:
        frags, scan = self.scan.fragments, self.scan
        i, n = 0, scan.FIRST
        while i < len(frags):
            part = ds.FileSystemDataset(frags[i:i + n], scan.dataset.schema, scan.dataset.format,
                                        scan.dataset.filesystem)
            tbl = part.to_table(**self.args)  # GIL released while Arrow reads
            if tbl.schema != self.projected_schema:
                tbl = tbl.cast(self.projected_schema)
            # one batch per file is ~1,000 rows: hand DuckDB big batches (one GIL hop each)
            yield from tbl.combine_chunks().to_batches(max_chunksize=1 << 20)
            i += n
            n = min(n * 2, scan.LAST)

    def to_reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.projected_schema, self._batches())

    def to_table(self) -> pa.Table:
        return self.to_reader().read_all()


@dataclass
class _File:
    """One data file of a table scan: where it is, its version and its partition values."""

    path: str  # bucket/key
    etag: str
    values: dict[str, Any]  # partition key -> typed value
    raw: list[str]  # Glue's partition value strings, in key order
    size: int = -1  # bytes, from the listing (-1: unknown)


class TableReader:
    """Builds what DuckDB scans for one Glue table (after partition pruning): a
    :class:`~lakekit.local.athena._native.NativeScan` over local copies for Parquet when it can,
    else an Arrow object read through the byte-counting filesystem."""

    def __init__(self, s3: Any, fs: pafs.FileSystem, parquet_fs: pafs.FileSystem | None = None,
                 lister: Callable[[str], list[tuple[str, int, str]]] | None = None,
                 mirror: Any = None, fetch: Callable[[str], bytes] | None = None) -> None:
        self.s3 = s3
        self.fs = fs  # counting filesystem (whole files)
        self.parquet_fs = parquet_fs or fs  # counting filesystem that ignores footer reads
        # location -> [(bucket/key, size, etag)]; in-process moto listing inside the endpoint
        self.list_files = lister or (lambda location: list_files(self.s3, location))
        self.mirror = mirror  # a _native.ParquetMirror: DuckDB reads Parquet natively from copies
        self.fetch = fetch  # bucket/key -> bytes (uncounted: the native path meters from footers)

    def build(self, table: dict, partitions: list[dict] | None, buckets: set[int] | None = None) -> Any:
        """``partitions``: Glue partitions kept after pruning (None for an unpartitioned table);
        ``buckets``: of a bucketed table, the buckets to read (None: all; see :mod:`._bucketing`)."""
        fmt = table_format(table)
        data_schema, keys = glue_schema(table)
        full = pa.schema(list(data_schema) + [pa.field(k, t) for k, t in keys if k not in data_schema.names])
        root = table.get("StorageDescriptor", {}).get("Location") or ""
        files: list[_File] = []
        if keys:
            located = []
            for p in partitions or []:
                vals = {k: partition_value(v, t) for (k, t), v in zip(keys, p["Values"], strict=False)}
                loc = p.get("StorageDescriptor", {}).get("Location") or ""
                if loc:
                    located.append((loc, vals, list(p["Values"])))
            files = self._partition_files(root, located)
        elif root:
            files = [_File(path, etag, {}, [], size) for path, size, etag in self.list_files(root)]
        files = select_bucket_files(table, files, buckets)
        if fmt.kind == "parquet":
            if not files:
                return full.empty_table()
            if self.mirror is not None and self.fetch is not None:
                from ._native import NativeScan

                table_key = hashlib.sha1(f"{root}|{','.join(k for k, _ in keys)}".encode()).hexdigest()[:16]
                native = NativeScan.build(self.mirror, self.fetch, table_key,
                                          [(f.path, f.etag, f.values, f.raw, f.size) for f in files],
                                          data_schema, keys)
                if native is not None:
                    return native
            return self._arrow_parquet(files, data_schema, keys)
        tables = []
        for f in files:
            t = self._read_file(f.path, fmt, data_schema)
            for k, typ in keys:
                if k not in t.column_names:
                    t = t.append_column(pa.field(k, typ), pa.array([f.values.get(k)] * t.num_rows, typ))
            tables.append(t)
        if not tables:
            return full.empty_table()
        return pa.concat_tables(tables)

    def _read_file(self, path: str, fmt: TableFormat, schema: pa.Schema) -> pa.Table:
        """One ORC/Avro/text file (the whole file is read and counted) in the Glue data columns."""
        if fmt.kind in ("orc", "avro"):
            from ._formats import decode_avro, decode_orc

            with self.fs.open_input_file(path) as fh:
                raw = fh.read()
            return decode_orc(raw, schema) if fmt.kind == "orc" else decode_avro(raw, schema)
        return read_text_file(self.fs, path, fmt, schema)

    def _arrow_parquet(self, files: list[_File], data_schema: pa.Schema, keys: list[tuple[str, pa.DataType]]) -> ChunkedScan:
        """The pyarrow path: files read through the counting filesystem (footers not counted)."""
        physical = self._physical_schema(files[0].path, data_schema)
        schema = pa.schema(list(physical) + [pa.field(k, t) for k, t in keys if k not in physical.names])
        exprs = []
        key_exprs: dict[tuple[str, Any], Any] = {}  # few distinct values: build each test once

        def key_expr(k: str, v: Any) -> Any:
            e = key_exprs.get((k, v))
            if e is None:
                e = key_exprs[(k, v)] = (pc.field(k).is_null() if v is None
                                         else (pc.field(k) == pa.scalar(v, schema.field(k).type)))
            return e

        for f in files:
            e = pc.scalar(True)
            for k, _ in keys:
                e = e & key_expr(k, f.values.get(k))
            exprs.append(e)
        # no pre-buffer coalescing: only the projected column chunks are read (and counted)
        fmt_ = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
        return ChunkedScan(ds.FileSystemDataset.from_paths(
            [f.path for f in files], schema=schema, format=fmt_, filesystem=self.parquet_fs, partitions=exprs,
        ))

    def _partition_files(self, root: str, located: list[tuple[str, dict[str, Any], list[str]]]) -> list[_File]:
        """Files of the kept partitions: one listing of the table location when many partitions
        live under it (1 request per 1,000 files instead of 1 per partition), else one listing
        per partition, 8 at a time."""
        def norm(loc: str) -> str:
            b, k = split_s3(loc)
            return f"{b}/{k.rstrip('/')}/" if k else f"{b}/"

        if not located:
            return []
        if root and len(located) > 16:
            try:
                base = norm(root)
                by_dir = {norm(loc): (vals, raw) for loc, vals, raw in located}
            except ValueError:
                by_dir, base = {}, ""
            if by_dir and all(d.startswith(base) for d in by_dir):
                out = []
                for path, size, etag in self.list_files(root):
                    d = path.rsplit("/", 1)[0] + "/"
                    while d.startswith(base):
                        if d in by_dir:
                            out.append(_File(path, etag, *by_dir[d], size))
                            break
                        d = d[:-1].rsplit("/", 1)[0] + "/"
                return out
        if len(located) == 1:
            loc, vals, raw = located[0]
            return [_File(path, etag, vals, raw, size) for path, size, etag in self.list_files(loc)]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            listed = list(pool.map(lambda lv: self.list_files(lv[0]), located))
        return [_File(path, etag, vals, raw, size) for (_, vals, raw), paths in zip(located, listed, strict=True)
                for path, size, etag in paths]

    def _physical_schema(self, path: str, glue: pa.Schema) -> pa.Schema:
        """Glue's column order and names, the first file's physical types (Glue type if the file lacks a column)."""
        fields = []
        try:
            file_schema = pq.read_schema(path, filesystem=self.parquet_fs)
        except Exception:  # noqa: BLE001 - unreadable footer: fall back to Glue types
            return glue
        by_lower = {f.name.lower(): f for f in file_schema}
        for f in glue:
            pf = by_lower.get(f.name)
            if pf is None:
                fields.append(f)
            else:
                fields.append(pa.field(pf.name, pf.type))
        return pa.schema(fields)
