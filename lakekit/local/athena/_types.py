"""Type conversions: Glue/Hive type strings <-> Arrow <-> Athena result type names."""
from __future__ import annotations

import re

import pyarrow as pa

# Arrow -> Glue type string: one mapping for the crawler and CTAS (struct field names lower-cased)
from lakekit.local.glue.schema import arrow_kind, split_top
from lakekit.local.glue.schema import arrow_type_to_glue as arrow_to_hive

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


_ATHENA_SPELLING = {"string": "varchar", "int": "integer", "binary": "varbinary", "struct": "row",
                    "interval": "interval day to second", "null": "unknown", "other": "varchar"}


def arrow_to_athena(t: pa.DataType) -> str:
    """Arrow type -> the type name Athena's GetQueryResults reports (varchar, bigint, row...)."""
    kind = arrow_kind(t)
    if kind == "timestamp" and t.tz:
        return "timestamp with time zone"
    return _ATHENA_SPELLING.get(kind, kind)


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
