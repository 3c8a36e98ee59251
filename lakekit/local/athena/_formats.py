"""Storage formats the local Athena writes (CTAS, UNLOAD) and reads besides Parquet/text: which
compressions each format takes, the Glue StorageDescriptor Athena records for it, and the encoders
and decoders of ORC, Avro, JSON and TEXTFILE data files.

Compressions per format follow Athena engine version 3's "Hive table compression support by file
format" table (CTAS and INSERT INTO are write operations there); Athena's defaults: Parquet GZIP,
ORC ZLIB, JSON/TEXTFILE GZIP, Avro uncompressed.

Example::

    fmt, codec = resolve("ORC", None)          # ("ORC", "ZLIB")
    body, ext = encode(tbl, fmt, codec, "\\x01")
"""
from __future__ import annotations

import bz2
import datetime as _dt
import decimal
import gzip
import io
import json
import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakekit.local.glue.schema import hive_format

from ._ddlbase import err
from ._results import format_value

__all__ = ["WRITE_FORMATS", "ALLOWED", "DEFAULT", "resolve", "storage_for", "table_parameters", "encode",
           "decode_orc", "decode_avro", "ORC_SD", "AVRO_SD", "JSON_SERDE"]

log = logging.getLogger(__name__)

WRITE_FORMATS = ("PARQUET", "ORC", "AVRO", "JSON", "TEXTFILE")

#: What Athena engine v3 writes per format (Hive tables).
ALLOWED: dict[str, tuple[str, ...]] = {
    "PARQUET": ("GZIP", "LZ4", "LZO", "SNAPPY", "ZSTD", "NONE"),
    "ORC": ("LZ4", "SNAPPY", "ZLIB", "ZSTD", "NONE"),
    "AVRO": ("BZIP2", "DEFLATE", "SNAPPY", "ZSTD", "NONE"),
    "JSON": ("BZIP2", "GZIP", "LZ4", "SNAPPY", "ZSTD", "NONE"),
    "TEXTFILE": ("BZIP2", "GZIP", "LZ4", "SNAPPY", "ZSTD", "NONE"),
}
#: Combinations Athena writes but the local endpoint cannot (no encoder here): refused NOT_SUPPORTED.
LOCAL_GAPS: dict[str, tuple[str, ...]] = {
    "PARQUET": ("LZO",),  # pyarrow has no LZO encoder
    "AVRO": ("SNAPPY", "ZSTD"),  # fastavro needs cramjam / backports.zstd for these
    "JSON": ("LZ4", "SNAPPY"),  # Hadoop-framed LZ4/Snappy text streams
    "TEXTFILE": ("LZ4", "SNAPPY"),
}
DEFAULT = {"PARQUET": "GZIP", "ORC": "ZLIB", "AVRO": "NONE", "JSON": "GZIP", "TEXTFILE": "GZIP"}
_ALIASES = {"UNCOMPRESSED": "NONE", "ZSTANDARD": "ZSTD"}
_TEXT_EXT = {"GZIP": ".gz", "BZIP2": ".bz2", "ZSTD": ".zst", "NONE": ""}

ORC_SD = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
}
AVRO_SD = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
    "SerializationLibrary": "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
}
#: The SerDe of a CTAS/UNLOAD ``format = 'JSON'`` table (Hive's JSON SerDe, not OpenX).
JSON_SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"


def resolve(fmt: str | None, compression: str | None) -> tuple[str, str]:
    """(FORMAT, COMPRESSION) upper-cased with Athena's default filled in; an unknown format or a
    compression the format does not take -> NOT_SUPPORTED."""
    f = (fmt or "PARQUET").strip().upper()
    if f not in WRITE_FORMATS:
        if f == "ION":
            raise err("NOT_SUPPORTED", "format 'ION' is not supported by the local Athena engine; "
                                       f"use one of {', '.join(WRITE_FORMATS)}")
        raise err("NOT_SUPPORTED", f"Unsupported format '{fmt}'. Supported formats: {', '.join(WRITE_FORMATS)}")
    c = (compression or DEFAULT[f]).strip().upper()
    c = _ALIASES.get(c, c)
    if c not in ALLOWED[f]:
        raise err("NOT_SUPPORTED", f"Compression codec {c} not supported for {f}. "
                                   f"Supported for {f}: {', '.join(sorted(ALLOWED[f]))}")
    if c in LOCAL_GAPS.get(f, ()):
        raise err("NOT_SUPPORTED", f"Compression codec {c} for {f} is supported by Athena but not by the local "
                                   f"endpoint; use one of "
                                   f"{', '.join(sorted(set(ALLOWED[f]) - set(LOCAL_GAPS[f])))} locally")
    return f, c


def storage_for(fmt: str, delimiter: str | None) -> dict[str, Any]:
    """InputFormat/OutputFormat/SerdeInfo Athena records for a CTAS of ``fmt``."""
    if fmt == "PARQUET":
        return hive_format("parquet", {"serialization.format": "1"})
    if fmt == "ORC":
        return {"InputFormat": ORC_SD["InputFormat"], "OutputFormat": ORC_SD["OutputFormat"],
                "SerdeInfo": {"SerializationLibrary": ORC_SD["SerializationLibrary"], "Parameters": {}}}
    if fmt == "AVRO":
        return {"InputFormat": AVRO_SD["InputFormat"], "OutputFormat": AVRO_SD["OutputFormat"],
                "SerdeInfo": {"SerializationLibrary": AVRO_SD["SerializationLibrary"], "Parameters": {}}}
    if fmt == "JSON":
        sd = hive_format("json")
        sd["SerdeInfo"]["SerializationLibrary"] = JSON_SERDE
        return sd
    delim = delimiter if delimiter is not None else "\x01"
    return hive_format("csv", {"field.delim": delim, "serialization.format": delim})


def table_parameters(fmt: str, compression: str) -> dict[str, str]:
    """Glue table Parameters of a CTAS table (classification + the write compression property)."""
    params = {"EXTERNAL": "TRUE", "has_encrypted_data": "false",
              "classification": {"TEXTFILE": "csv"}.get(fmt, fmt.lower())}
    if fmt == "PARQUET":
        params["parquet.compression"] = "UNCOMPRESSED" if compression == "NONE" else compression
    elif fmt == "ORC":
        params["orc.compress"] = compression
    elif fmt == "AVRO":
        params["avro.codec"] = compression.lower() if compression != "NONE" else "null"
    else:
        params["write.compression"] = compression
    return params


# ----------------------------------------------------------------------------- encoders
def encode(tbl: pa.Table, fmt: str, compression: str, delimiter: str | None = None) -> tuple[bytes, str]:
    """One data file of ``tbl`` in ``fmt``: (body, file-name extension)."""
    if fmt == "PARQUET":
        import pyarrow.parquet as pq

        buf = pa.BufferOutputStream()
        pq.write_table(tbl, buf, compression=None if compression == "NONE" else compression.lower())
        return buf.getvalue().to_pybytes(), ""
    if fmt == "ORC":
        import pyarrow.orc as orc

        buf = pa.BufferOutputStream()
        orc.write_table(_orc_safe(tbl), buf, compression="uncompressed" if compression == "NONE" else compression.lower())
        return buf.getvalue().to_pybytes(), ""
    if fmt == "AVRO":
        return _avro(tbl, compression), ""
    raw = _json_lines(tbl) if fmt == "JSON" else _text_lines(tbl, "\x01" if delimiter is None else delimiter)
    return _compress(raw, compression), _TEXT_EXT[compression]


def _compress(raw: bytes, compression: str) -> bytes:
    if compression == "GZIP":
        return gzip.compress(raw, mtime=0)
    if compression == "BZIP2":
        return bz2.compress(raw)
    if compression == "ZSTD":
        return pa.Codec("zstd").compress(raw, asbytes=True)
    return raw


def _orc_safe(tbl: pa.Table) -> pa.Table:
    """ORC has no unsigned/ms-timestamp quirks to fix but needs plain strings (no views)."""
    cols = []
    for f, c in zip(tbl.schema, tbl.columns):
        if pa.types.is_null(f.type):
            c = c.cast(pa.string())
        cols.append(c)
    return pa.table(cols, names=tbl.column_names)


def _hive_text(v: Any, depth: int = 0) -> str:
    """A value as LazySimpleSerDe writes it: NULL ``\\N``, collections split by \\x02, \\x03..."""
    if v is None:
        return "\\N"
    sep = chr(2 + depth)
    if isinstance(v, dict):
        return sep.join(_hive_text(x, depth + 1) for x in v.values())
    if isinstance(v, list):
        if v and all(isinstance(i, tuple) and len(i) == 2 for i in v):  # map
            kv = chr(3 + depth)
            return sep.join(f"{_hive_text(k, depth + 2)}{kv}{_hive_text(x, depth + 2)}" for k, x in v)
        return sep.join(_hive_text(x, depth + 1) for x in v)
    if isinstance(v, bytes):
        import base64

        return base64.b64encode(v).decode()
    s = format_value(v)
    return "\\N" if s is None else s


def _text_lines(tbl: pa.Table, delim: str) -> bytes:
    cols = [c.to_pylist() for c in tbl.columns]
    out = io.StringIO()
    for i in range(tbl.num_rows):
        out.write(delim.join(_hive_text(col[i]) for col in cols))
        out.write("\n")
    return out.getvalue().encode("utf-8")


def _json_value(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        return format_value(v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v) if v != v.to_integral_value() else int(v)
    if isinstance(v, bytes):
        import base64

        return base64.b64encode(v).decode()
    if isinstance(v, list):
        if v and all(isinstance(i, tuple) and len(i) == 2 for i in v):
            return {str(k): _json_value(x) for k, x in v}
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return format_value(v)
    return v


def _json_lines(tbl: pa.Table) -> bytes:
    names = tbl.column_names
    cols = [c.to_pylist() for c in tbl.columns]
    out = io.StringIO()
    for i in range(tbl.num_rows):
        out.write(json.dumps({n: _json_value(col[i]) for n, col in zip(names, cols)}, separators=(",", ":")))
        out.write("\n")
    return out.getvalue().encode("utf-8")


def _avro_type(t: pa.DataType, name: str) -> Any:
    if pa.types.is_boolean(t):
        base: Any = "boolean"
    elif pa.types.is_integer(t):
        base = "long" if t.bit_width == 64 or (pa.types.is_unsigned_integer(t) and t.bit_width >= 32) else "int"
    elif pa.types.is_float32(t) or pa.types.is_float16(t):
        base = "float"
    elif pa.types.is_floating(t):
        base = "double"
    elif pa.types.is_decimal(t):
        base = {"type": "bytes", "logicalType": "decimal", "precision": t.precision, "scale": t.scale}
    elif pa.types.is_date(t):
        base = {"type": "int", "logicalType": "date"}
    elif pa.types.is_timestamp(t):
        base = {"type": "long", "logicalType": "timestamp-millis"}
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        base = "bytes"
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        base = {"type": "array", "items": _avro_type(t.value_type, name + "_item")}
    elif pa.types.is_map(t):
        base = {"type": "map", "values": _avro_type(t.item_type, name + "_value")}
    elif pa.types.is_struct(t):
        base = {"type": "record", "name": f"r_{name}", "fields": [
            {"name": f.name, "type": _avro_type(f.type, f"{name}_{f.name}"), "default": None} for f in t]}
    else:
        base = "string"
    return ["null", base]


def _avro(tbl: pa.Table, compression: str) -> bytes:
    import fastavro

    schema = {"type": "record", "name": "hive_schema", "namespace": "org.apache.hadoop.hive",
              "fields": [{"name": f.name, "type": _avro_type(f.type, f.name), "default": None} for f in tbl.schema]}
    maps = [f.name for f in tbl.schema if pa.types.is_map(f.type)]
    records = tbl.to_pylist()
    if maps:
        for r in records:
            for m in maps:
                if r[m] is not None:
                    r[m] = {str(k): v for k, v in r[m]}
    buf = io.BytesIO()
    codec = {"NONE": "null", "DEFLATE": "deflate", "BZIP2": "bzip2"}[compression]
    fastavro.writer(buf, fastavro.parse_schema(schema), records, codec=codec)
    return buf.getvalue()


# ----------------------------------------------------------------------------- decoders
def _conform(tbl: pa.Table, schema: pa.Schema) -> pa.Table:
    """File columns matched to the Glue columns by lower-cased name (missing -> NULL), cast to their types."""
    by_lower = {n.lower(): i for i, n in enumerate(tbl.column_names)}
    cols = []
    for f in schema:
        i = by_lower.get(f.name.lower())
        if i is None:
            cols.append(pa.nulls(tbl.num_rows, f.type))
            continue
        c = tbl.column(i)
        if pa.types.is_timestamp(f.type) and pa.types.is_timestamp(c.type) and c.type.tz is not None:
            c = pc.cast(c, pa.timestamp(c.type.unit))
        cols.append(c.cast(f.type) if c.type != f.type else c)
    return pa.table(cols, schema=schema)


def decode_orc(raw: bytes, schema: pa.Schema) -> pa.Table:
    """An ORC file's rows in the Glue columns' names and types."""
    import pyarrow.orc as orc

    if not raw:
        return schema.empty_table()
    return _conform(orc.ORCFile(pa.BufferReader(raw)).read(), schema)


def decode_avro(raw: bytes, schema: pa.Schema) -> pa.Table:
    """An Avro container file's rows in the Glue columns' names and types."""
    import fastavro

    if not raw:
        return schema.empty_table()
    records = list(fastavro.reader(io.BytesIO(raw)))
    names = {f.name.lower(): f for f in schema}
    rows = []
    for r in records:
        low = {k.lower(): v for k, v in r.items()}
        row = {}
        for n, f in names.items():
            v = low.get(n)
            if isinstance(v, _dt.datetime) and v.tzinfo is not None:
                v = v.astimezone(_dt.UTC).replace(tzinfo=None)
            if isinstance(v, dict) and pa.types.is_map(f.type):
                v = list(v.items())
            row[f.name] = v
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema)
