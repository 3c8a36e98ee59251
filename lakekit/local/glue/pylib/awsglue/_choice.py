"""Glue's schema-on-read for records: per-value types merged into a schema with choice types.

Interface shared by ``context.py`` (the readers) and ``dynamicframe.py``::

    frame = json_frame(glue_ctx, ["/local/stage/raw/planes/"], {"multiline": False}, "planes")

A field whose values have more than one type across records becomes a *choice*: in the frame it is
held as a struct with one field per type name (``int``, ``string``, ...), as ``DynamicFrame.toDF()``
shows an unresolved choice on Glue; ``DynamicFrame.schema()`` shows it as ``ChoiceType``.

Value types as Glue's JSON reader gives them: integers ``int`` (``long`` beyond 32 bits), numbers with
a fraction or exponent ``double``, ``string``, ``boolean``, objects ``struct``, arrays ``array``; a
null merges away, and a field null in every record has type ``null``.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import json
from typing import Any

from . import gluetypes as gt
from .dynamicframe import DynamicFrame

__all__ = ["infer_type", "json_frame", "records_frame", "to_row"]

_INT_MIN, _INT_MAX = -(2 ** 31), 2 ** 31 - 1


def infer_type(value: Any) -> gt.DataType:
    """Glue type of one Python value (as parsed from JSON or returned by a map function)."""
    if value is None:
        return gt.NullType()
    if isinstance(value, bool):
        return gt.BooleanType()
    if isinstance(value, int):
        return gt.IntegerType() if _INT_MIN <= value <= _INT_MAX else gt.LongType()
    if isinstance(value, float):
        return gt.DoubleType()
    if isinstance(value, str):
        return gt.StringType()
    if isinstance(value, decimal.Decimal):
        return gt.DecimalType(38, 18)
    if isinstance(value, _dt.datetime):
        return gt.TimestampType()
    if isinstance(value, _dt.date):
        return gt.DateType()
    if isinstance(value, (bytes, bytearray)):
        return gt.BinaryType()
    if isinstance(value, dict):
        return gt.StructType([gt.Field(str(k), infer_type(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        element: gt.DataType = gt.NullType()
        for v in value:
            element = gt.mergeDataTypes(element, infer_type(v))
        return gt.ArrayType(element)
    raise TypeError(f"cannot hold a {type(value).__name__} in a DynamicRecord: return dicts, lists "
                    f"and scalars (str, int, float, bool, None, date, datetime, Decimal, bytes)")


def to_row(value: Any, t: gt.DataType) -> Any:
    """The Spark value for ``value`` under Glue type ``t`` (a choice: a tuple, one slot per type)."""
    if value is None:
        return None
    if isinstance(t, gt.ChoiceType):
        members = t.sorted_choices()
        vt = infer_type(value)
        slot = vt.typeName()
        return tuple(to_row(value, m) if m.typeName() == slot else None for m in members)
    if isinstance(t, gt.StructType):
        if not isinstance(value, dict):
            return None
        return tuple(to_row(value.get(f.name), f.dataType) for f in t)
    if isinstance(t, gt.ArrayType):
        return [to_row(v, t.elementType) for v in value]
    if isinstance(t, gt.MapType):
        return {str(k): to_row(v, t.valueType) for k, v in value.items()}
    if isinstance(t, gt.NullType):
        return None
    if isinstance(t, gt.LongType) and isinstance(value, int):
        return int(value)
    if isinstance(t, gt.DoubleType) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(t, gt.DecimalType) and isinstance(value, (int, float)):
        return decimal.Decimal(str(value))
    return value


def _merge_all(types) -> gt.DataType:
    merged: gt.DataType = gt.StructType([])
    for t in types:
        merged = gt.mergeDataTypes(merged, t)
    return merged


_SCALARS = {type(None): "null", bool: "boolean", float: "double", str: "string",
            decimal.Decimal: "decimal", _dt.datetime: "timestamp", _dt.date: "date",
            bytes: "binary", bytearray: "binary"}


def _signature(value: Any) -> Any:
    """A hashable key that determines :func:`infer_type` of ``value`` (None: no key, infer it).

    Records of one shape share a key, so a partition's schema merges each shape once: merging a
    type already merged changes nothing, so skipping a repeated shape gives the same schema.
    """
    kind = type(value)
    if kind is int:
        return "int" if _INT_MIN <= value <= _INT_MAX else "long"
    if kind is dict:
        items = []
        for k, v in value.items():
            sig = _signature(v)
            if sig is None:
                return None
            items.append((str(k), sig))
        return ("struct", tuple(items))
    if kind is list or kind is tuple:
        members = {}
        for v in value:
            sig = _signature(v)
            if sig is None:
                return None
            members[sig] = None
        return ("array", tuple(members))
    return _SCALARS.get(kind)


def _partition_schema(records) -> list[gt.DataType]:
    merged: gt.DataType = gt.StructType([])
    seen: set[Any] = set()
    for rec in records:
        sig = _signature(rec)
        if sig is not None:
            if sig in seen:
                continue
            seen.add(sig)
        merged = gt.mergeDataTypes(merged, infer_type(rec))
    return [merged]


def _finalize(t: gt.DataType) -> gt.DataType:
    """Unknown leaves (an array only ever empty) become null, as Glue shows them."""
    if isinstance(t, gt.StructType):
        return gt.StructType([gt.Field(f.name, _finalize(f.dataType)) for f in t])
    if isinstance(t, gt.ArrayType):
        return gt.ArrayType(_finalize(t.elementType))
    if isinstance(t, gt.ChoiceType):
        return gt.ChoiceType([_finalize(c) for c in t.sorted_choices()])
    if isinstance(t, gt.UnknownType):
        return gt.NullType()
    return t


def records_frame(glue_ctx: Any, rdd: Any, name: str) -> DynamicFrame:
    """A DynamicFrame from an RDD of dict records: schema computed on the fly, choices where types differ."""
    rdd = rdd.cache()
    schema = _finalize(_merge_all(rdd.mapPartitions(_partition_schema).collect()))
    if not isinstance(schema, gt.StructType):
        raise TypeError("records must be dicts (JSON objects); got a non-object record")
    spark_schema = gt.to_spark(schema)
    rows = rdd.map(lambda rec, _s=schema: to_row(rec, _s))
    df = glue_ctx.spark_session.createDataFrame(rows, spark_schema)
    return DynamicFrame(df, glue_ctx, name, choice_paths=frozenset(gt.choice_paths_of(schema)))


def _parse_lines(lines):
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"malformed JSON record (line {number} of its split): {exc}; "
                             f"fix the input, or read it with format 'text'") from None
        yield from _records(value)


def _records(value: Any):
    if isinstance(value, list):
        yield from value
    else:
        yield value


def _parse_documents(docs):
    for text in docs:
        if text.strip():
            yield from _records(json.loads(text))


def _needs_python(t: gt.DataType) -> bool:
    if isinstance(t, (gt.ChoiceType, gt.NullType, gt.UnknownType)):
        return True
    if isinstance(t, gt.StructType):
        return any(_needs_python(f.dataType) for f in t)
    if isinstance(t, gt.ArrayType):
        return _needs_python(t.elementType)
    if isinstance(t, gt.MapType):
        return _needs_python(t.valueType)
    return False


def json_frame(glue_ctx: Any, paths: list[str], options: dict[str, Any], name: str) -> DynamicFrame:
    """Read JSON (JSON Lines, or whole documents with ``multiline``) with Glue's types and choices."""
    spark = glue_ctx.spark_session
    multiline = str(options.get("multiline", options.get("multiLine", False))).lower() == "true"
    text = spark.read.text(paths, wholetext=multiline)
    lines = text.rdd.map(lambda r: r[0])
    records = lines.mapPartitions(_parse_documents if multiline else _parse_lines).cache()
    schema = _finalize(_merge_all(records.mapPartitions(_partition_schema).collect()))
    if not isinstance(schema, gt.StructType):
        raise TypeError(f"JSON records under {paths} are not objects; Glue reads one object per record")
    if not _needs_python(schema) and not multiline and schema.fields:
        # every field has one type: Spark's reader with that exact schema, no Python per row
        records.unpersist()
        df = spark.read.schema(gt.to_spark(schema)).json(paths)
        return DynamicFrame(df, glue_ctx, name)
    rows = records.map(lambda rec, _s=schema: to_row(rec, _s))
    df = spark.createDataFrame(rows, gt.to_spark(schema))
    return DynamicFrame(df, glue_ctx, name, choice_paths=frozenset(gt.choice_paths_of(schema)))
