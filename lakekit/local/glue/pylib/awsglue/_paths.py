"""Field paths as Glue writes them (``a.b``, ``\\`a.b\\`.c``, ``list[].price``) and nested rewrites of a DataFrame.

A parsed path is a tuple of names; ``"[]"`` steps into an array's elements. ``rebuild`` walks a
Spark schema and rebuilds only the columns an edit touches (structs stay null when null).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql import types as T  # noqa: N812

__all__ = ["field_at", "format_path", "parse_path", "rebuild", "select_tree"]

Edit = Callable[[Column, T.StructField], list[tuple[str, Column]]]


def parse_path(path: str) -> tuple[str, ...]:
    """``a.b`` -> (a, b); backticks quote a name holding dots; ``x[]`` adds an array step."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"a field path must be a non-empty string, got {path!r}")
    parts: list[str] = []
    buf, quoted, i = "", False, 0
    while i < len(path):
        ch = path[i]
        if ch == "`":
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(buf)
            buf = ""
        elif ch == "[" and not quoted and path[i:i + 2] == "[]":
            parts.append(buf)
            buf = "[]"
            i += 1
            if i + 1 < len(path) and path[i + 1] == ".":
                parts.append(buf)
                buf = ""
                i += 1
        else:
            buf += ch
        i += 1
    if quoted:
        raise ValueError(f"unbalanced backtick in field path {path!r}")
    parts.append(buf)
    out = tuple(p for p in parts if p != "")
    if not out:
        raise ValueError(f"empty field path {path!r}")
    return out


def format_path(path: tuple[str, ...]) -> str:
    out = ""
    for p in path:
        if p == "[]":
            out += "[]"
            continue
        name = f"`{p}`" if "." in p else p
        out = f"{out}.{name}" if out else name
    return out


def _find(struct: T.StructType, name: str, case_sensitive: bool = True) -> T.StructField | None:
    for f in struct.fields:
        if f.name == name or (not case_sensitive and f.name.lower() == name.lower()):
            return f
    return None


def field_at(schema: T.StructType, path: tuple[str, ...], case_sensitive: bool = True) -> Any:
    """The Spark type at ``path`` (None when absent); names are matched as given."""
    dt: Any = schema
    for step in path:
        if step == "[]":
            if not isinstance(dt, T.ArrayType):
                return None
            dt = dt.elementType
            continue
        if isinstance(dt, T.ArrayType):  # implicit array step (a.b where a is an array)
            dt = dt.elementType
        if not isinstance(dt, T.StructType):
            return None
        f = _find(dt, step, case_sensitive)
        if f is None:
            return None
        dt = f.dataType
    return dt


def _norm(path: tuple[str, ...], schema: T.StructType) -> tuple[str, ...]:
    """Insert the ``[]`` steps a path leaves implicit (``list.price`` == ``list[].price``)."""
    out: list[str] = []
    dt: Any = schema
    for step in path:
        if step == "[]":
            out.append(step)
            dt = dt.elementType if isinstance(dt, T.ArrayType) else None
            continue
        while isinstance(dt, T.ArrayType):
            out.append("[]")
            dt = dt.elementType
        out.append(step)
        f = _find(dt, step) if isinstance(dt, T.StructType) else None
        dt = f.dataType if f else None
    return tuple(out)


def _struct_expr(col: Column, fields: list[tuple[str, Column]]) -> Column:
    if not fields:
        return F.lit(None).cast(T.NullType())
    return F.when(col.isNull(), F.lit(None)).otherwise(F.struct(*[c.alias(n) for n, c in fields]))


def _walk(col: Column, dt: Any, prefix: tuple[str, ...], edits: dict[tuple[str, ...], Edit]) -> Column:
    if isinstance(dt, T.ArrayType):
        step = prefix + ("[]",)
        if not any(p[:len(step)] == step for p in edits):
            return col
        return F.transform(col, lambda e: _walk(e, dt.elementType, step, edits))
    if not isinstance(dt, T.StructType):
        return col
    return _struct_expr(col, _fields(col, dt, prefix, edits))


def _fields(col: Column | None, struct: T.StructType, prefix: tuple[str, ...],
            edits: dict[tuple[str, ...], Edit]) -> list[tuple[str, Column]]:
    out: list[tuple[str, Column]] = []
    for f in struct.fields:
        path = prefix + (f.name,)
        child = F.col(f"`{f.name}`") if col is None else col.getField(f.name)
        if path in edits:
            out.extend(edits[path](child, f))
        elif any(p[:len(path)] == path for p in edits):
            out.append((f.name, _walk(child, f.dataType, path, edits)))
        else:
            out.append((f.name, child))
    return out


def rebuild(df: Any, edits: dict[tuple[str, ...], Edit]) -> Any:
    """``df`` with each field at an edit's path replaced by the (name, column) pairs the edit returns."""
    edits = {_norm(p, df.schema): e for p, e in edits.items()}
    return df.select(*[c.alias(n) for n, c in _fields(None, df.schema, (), edits)])


def _keep(col: Column, dt: Any, prefix: tuple[str, ...], keep: set[tuple[str, ...]]) -> Column | None:
    if isinstance(dt, T.ArrayType):
        step = prefix + ("[]",)
        if step in keep:
            return col
        if not any(p[:len(step)] == step for p in keep):
            return None
        return F.transform(col, lambda e: _keep(e, dt.elementType, step, keep))
    if not isinstance(dt, T.StructType):
        return None
    fields = []
    for f in dt.fields:
        path = prefix + (f.name,)
        child = col.getField(f.name)
        if path in keep:
            fields.append((f.name, child))
        elif any(p[:len(path)] == path for p in keep):
            sub = _keep(child, f.dataType, path, keep)
            if sub is not None:
                fields.append((f.name, sub))
    return _struct_expr(col, fields) if fields else None


def select_tree(df: Any, paths: list[tuple[str, ...]]) -> Any:
    """Only the fields on ``paths`` (a nested path keeps its parents with just that child)."""
    keep = {_norm(p, df.schema) for p in paths}
    cols = []
    for f in df.schema.fields:
        path = (f.name,)
        col = F.col(f"`{f.name}`")
        if path in keep:
            cols.append(col.alias(f.name))
        elif any(p[:1] == path for p in keep):
            sub = _keep(col, f.dataType, path, keep)
            if sub is not None:
                cols.append(sub.alias(f.name))
    return df.select(*cols)
