"""Type conversions: Glue/Hive type strings <-> Arrow <-> Athena result type names."""
from __future__ import annotations

import re

import pyarrow as pa

# Arrow -> Glue type string: one mapping for the crawler and CTAS (struct field names lower-cased)
from lakekit.local.glue.schema import arrow_type_to_glue as arrow_to_hive
from lakekit.local.glue.schema import split_top

__all__ = ["hive_to_arrow", "arrow_to_hive", "arrow_to_athena", "athena_precision_scale"]

_SIMPLE = {
    "string": pa.string(),
    "varchar": pa.string(),
    "char": pa.string(),
    "int": pa.int32(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(),
    "float": pa.float32(),
    "real": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("ms"),
    "binary": pa.binary(),
    "varbinary": pa.binary(),
}


def hive_to_arrow(t: str) -> pa.DataType:
    """``"array<struct<a:int>>"`` -> ``pa.list_(pa.struct([("a", pa.int32())]))``."""
    s = t.strip()
    low = s.lower()
    if low.startswith("array<") and low.endswith(">"):
        return pa.list_(hive_to_arrow(s[6:-1]))
    if low.startswith("map<") and low.endswith(">"):
        k, v = split_top(s[4:-1])
        return pa.map_(hive_to_arrow(k), hive_to_arrow(v))
    if (low.startswith("struct<") or low.startswith("row(")) and low[-1] in ">)":
        body = s[7:-1] if low.startswith("struct<") else s[4:-1]
        fields = []
        for part in split_top(body):
            if ":" in part and (part.index(":") < part.find("<") or "<" not in part):
                name, typ = part.split(":", 1)
            else:
                name, typ = part.split(None, 1)
            fields.append(pa.field(name.strip().strip('"`'), hive_to_arrow(typ)))
        return pa.struct(fields)
    m = re.fullmatch(r"decimal\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", low)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2) or 0))
    if low == "decimal":
        return pa.decimal128(10, 0)
    base = re.sub(r"\(.*\)$", "", low).strip()
    if base.startswith("timestamp"):
        return pa.timestamp("ms")
    if base in _SIMPLE:
        return _SIMPLE[base]
    raise ValueError(f"unsupported Glue column type {t!r}: use a Hive type such as string, bigint, double")


def arrow_to_athena(t: pa.DataType) -> str:
    """Arrow type -> the type name Athena's GetQueryResults reports (varchar, bigint, row...)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "varchar"
    if pa.types.is_int64(t) or pa.types.is_uint32(t) or pa.types.is_uint64(t):
        return "bigint"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "smallint"
    if pa.types.is_int8(t):
        return "tinyint"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp with time zone" if t.tz else "timestamp"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "varbinary"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "array"
    if pa.types.is_map(t):
        return "map"
    if pa.types.is_struct(t):
        return "row"
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return "interval day to second"
    if pa.types.is_null(t):
        return "unknown"
    return "varchar"


def athena_precision_scale(t: pa.DataType) -> tuple[int, int]:
    """(Precision, Scale) as Athena's ColumnInfo reports them."""
    name = arrow_to_athena(t)
    if name == "decimal":
        return t.precision, t.scale
    return {
        "varchar": (2147483647, 0),
        "bigint": (19, 0),
        "integer": (10, 0),
        "smallint": (5, 0),
        "tinyint": (3, 0),
        "double": (17, 0),
        "float": (7, 0),
        "timestamp": (3, 0),
        "date": (0, 0),
        "boolean": (0, 0),
    }.get(name, (0, 0))
