"""unnest and relationalize: nested structs flattened to ``a.b`` columns, arrays pivoted into child tables.

Relationalize naming as Glue's: the root table is ``<root>``; an array column ``p`` (flattened name)
becomes table ``<root>_<p>`` with columns ``id`` (the join key held in the parent's ``p`` column),
``index`` (position in the array, from 0) and ``p.val`` (a primitive element) or ``p.val.<field>``
(a struct element, flattened); arrays inside elements pivot again (``<root>_<p>.val.<q>``).
"""
from __future__ import annotations

from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql import types as T  # noqa: N812

__all__ = ["flatten_columns", "relationalize", "unnest"]


def flatten_columns(schema: T.StructType, base: list[tuple[str, Column, Any]] | None = None,
                    choices: frozenset = frozenset()) -> list[tuple[str, Column, Any]]:
    """(flat name, column, type) for every non-struct leaf; nested names joined with dots."""
    if base is None:
        base = [(f.name, F.col(f"`{f.name}`"), f.dataType) for f in schema.fields]
    out: list[tuple[str, Column, Any]] = []
    for name, col, dt in base:
        if isinstance(dt, T.StructType) and dt.fields:
            out.extend(flatten_columns(dt, [(f"{name}.{f.name}", col.getField(f.name), f.dataType)
                                            for f in dt.fields]))
        else:
            out.append((name, col, dt))
    return out


def unnest(df: Any, choices: frozenset) -> tuple[Any, frozenset]:
    cols = []
    for name, col, _dt in _flatten_keep_choices(df.schema, choices):
        cols.append(col.alias(name))
    flat_choices = frozenset((".".join(p),) for p in choices if "[]" not in p and "\0" not in p)
    return df.select(*cols), flat_choices


def _flatten_keep_choices(schema: T.StructType, choices: frozenset, prefix: tuple = (),
                          col: Column | None = None):
    for f in schema.fields:
        path = prefix + (f.name,)
        c = F.col(f"`{f.name}`") if col is None else col.getField(f.name)
        if isinstance(f.dataType, T.StructType) and f.dataType.fields and path not in choices:
            yield from _flatten_keep_choices(f.dataType, choices, path, c)
        else:
            yield ".".join(path), c, f.dataType


def _with_row_ids(df: Any, name: str) -> Any:
    """``df`` plus a 1-based sequential long column ``name`` (stable: the result is cached)."""
    spark = df.sparkSession
    schema = T.StructType(df.schema.fields + [T.StructField(name, T.LongType(), False)])
    rdd = df.rdd.zipWithIndex().map(lambda t: tuple(t[0]) + (t[1] + 1,))
    return spark.createDataFrame(rdd, schema).cache()


_RID = "__lakekit_rid"


def _pivot(df: Any, table: str, root: str, out: dict[str, Any]) -> None:
    """Flatten ``df`` into ``table``; every array column goes to its own child table (recursively)."""
    flat = flatten_columns(df.schema)
    arrays = [(n, c, dt) for n, c, dt in flat if isinstance(dt, T.ArrayType) and n != _RID]
    if not arrays:
        out[table] = df.select(*[c.alias(n) for n, c, _ in flat if n != _RID])
        return
    keyed = _with_row_ids(df.select(*[c.alias(n) for n, c, _ in flat if n != _RID]), _RID)
    rid = F.col(_RID)
    cols = []
    for n, _c, dt in flat:
        if n == _RID:
            continue
        ref = F.col(f"`{n}`")
        if isinstance(dt, T.ArrayType):
            cols.append(F.when(ref.isNull(), F.lit(None).cast("long")).otherwise(rid).alias(n))
        else:
            cols.append(ref.alias(n))
    out[table] = keyed.select(*cols)
    for n, _c, dt in arrays:
        child = keyed.select(rid.alias("id"), F.posexplode(F.col(f"`{n}`")).alias("index", "val"))
        val_name = f"{n}.val"
        element = dt.elementType
        if isinstance(element, T.StructType) and element.fields:
            body = [(f"{val_name}.{f.name}", F.col("val").getField(f.name), f.dataType) for f in element.fields]
            body = flatten_columns(element, body)
        else:
            body = [(val_name, F.col("val"), element)]
        child_df = child.select(F.col("id"), F.col("index").cast("int").alias("index"),
                                *[c.alias(nm) for nm, c, _ in body])
        _pivot(child_df, f"{root}_{n}", root, out)


def relationalize(df: Any, choices: frozenset, root_table_name: str) -> dict[str, Any]:
    """Tables (name -> DataFrame) of Glue's relationalize: the root first, then each pivoted array."""
    out: dict[str, Any] = {}
    _pivot(df, root_table_name, root_table_name, out)
    return out
