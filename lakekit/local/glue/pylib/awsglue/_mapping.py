"""ApplyMapping, ResolveChoice and DropNullFields over a Spark DataFrame plus its set of choice paths."""
from __future__ import annotations

import re
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql import types as T  # noqa: N812

from ._paths import _find, _norm, field_at, format_path, parse_path, rebuild

__all__ = ["apply_mapping", "drop_null_fields", "resolve_choice", "spark_type"]

_NAMES: dict[str, Any] = {
    "int": T.IntegerType, "integer": T.IntegerType, "long": T.LongType, "bigint": T.LongType,
    "string": T.StringType, "varchar": T.StringType, "char": T.StringType,
    "double": T.DoubleType, "float": T.FloatType, "boolean": T.BooleanType, "bool": T.BooleanType,
    "short": T.ShortType, "smallint": T.ShortType, "byte": T.ByteType, "tinyint": T.ByteType,
    "date": T.DateType, "timestamp": T.TimestampType, "binary": T.BinaryType, "null": T.NullType,
}
_DECIMAL = re.compile(r"^decimal\s*(?:\(\s*(\d+)\s*,\s*(\d+)\s*\))?$")
ACTIONS = ("cast:<type>", "project:<type>", "make_struct", "make_cols", "match_catalog")


def spark_type(name: str) -> Any:
    """Spark type for a Glue type name (``int``, ``long``, ``decimal(10,2)``, ...)."""
    key = str(name).strip().lower()
    if key in _NAMES:
        return _NAMES[key]()
    m = _DECIMAL.match(key)
    if m:
        return T.DecimalType(int(m.group(1) or 10), int(m.group(2) or 2))
    raise ValueError(f"unknown Glue type {name!r}: use one of {sorted(set(_NAMES))} or decimal(p,s)")


def _glue_name(dt: Any) -> str:
    from .gluetypes import from_spark
    return from_spark(dt).typeName()


def _members(col: Column, dt: T.StructType) -> list[tuple[str, Column]]:
    return [(f.name, col.getField(f.name)) for f in dt.fields]


def _under(path: tuple, roots: set[tuple]) -> bool:
    return any(path[:len(r)] == r for r in roots)


# ------------------------------------------------------------------------------ resolveChoice
def resolve_choice(df: Any, choices: frozenset, specs: list[tuple[str, str]] | None,
                   choice: str) -> tuple[Any, frozenset]:
    if specs is None and not choice:
        raise ValueError("Parameter specs and option are both missing, add one.")
    if specs is not None and choice:
        raise ValueError("Parameter specs and option are both specified, choose one.")
    if isinstance(specs, tuple):
        specs = [specs]
    if specs is None:
        specs = [(format_path(p), choice) for p in sorted(choices, key=len) if "\0" not in p]
    edits: dict[tuple, Any] = {}
    resolved: set[tuple] = set()
    for path_text, action in specs:
        path = _norm(parse_path(path_text), df.schema)
        dt = field_at(df.schema, path)
        if dt is None:
            continue  # a path no record has: nothing to resolve
        is_choice = path in choices and isinstance(dt, T.StructType)
        edits[path] = _action(str(action).strip(), is_choice, dt, path_text)
        if is_choice:
            resolved.add(path)
    out = rebuild(df, edits) if edits else df
    left = frozenset(p for p in choices if not _under(p, resolved))
    return out, left


def _action(action: str, is_choice: bool, dt: Any, path_text: str):
    kind, _, arg = action.partition(":")
    kind = kind.lower()
    if kind == "cast":
        target = spark_type(arg)

        def cast(col: Column, field: T.StructField) -> list[tuple[str, Column]]:
            if not is_choice:
                return [(field.name, col.cast(target))]
            return [(field.name, F.coalesce(*[c.cast(target) for _, c in _members(col, dt)]))]
        return cast
    if kind == "project":
        target = spark_type(arg)
        tname = _glue_name(target)

        def project(col: Column, field: T.StructField) -> list[tuple[str, Column]]:
            if is_choice:
                for name, c in _members(col, dt):
                    if name == tname:
                        return [(field.name, c)]
                return [(field.name, F.lit(None).cast(target))]
            if _glue_name(dt) == tname:
                return [(field.name, col)]
            return [(field.name, F.lit(None).cast(target))]
        return project
    if kind == "make_struct":
        return lambda col, field: [(field.name, col)]
    if kind == "make_cols":
        def make_cols(col: Column, field: T.StructField) -> list[tuple[str, Column]]:
            if not is_choice:
                return [(field.name, col)]
            return [(f"{field.name}_{name}", c) for name, c in _members(col, dt)]
        return make_cols
    if kind == "match_catalog":
        raise NotImplementedError(
            f"resolveChoice action match_catalog ({path_text}) is not provided by the local awsglue: "
            f"use cast:<type> with the catalog column's type")
    raise ValueError(f"unknown resolveChoice action {action!r} for {path_text!r}: use one of {ACTIONS}")


# ------------------------------------------------------------------------------ apply_mapping
def _source(df_schema: T.StructType, path: tuple[str, ...], case_sensitive: bool):
    dt: Any = df_schema
    col: Column | None = None
    real: list[str] = []
    for step in path:
        if not isinstance(dt, T.StructType):
            return None
        f = _find(dt, step, case_sensitive)
        if f is None:
            return None
        col = F.col(f"`{f.name}`") if col is None else col.getField(f.name)
        real.append(f.name)
        dt = f.dataType
    return col, dt, tuple(real)


def apply_mapping(df: Any, choices: frozenset, mappings: list, case_sensitive: bool) -> tuple[Any, frozenset]:
    if isinstance(mappings, tuple):
        mappings = [mappings]
    tree: dict[str, Any] = {}
    out_choices: set[tuple] = set()
    for m in mappings:
        if len(m) != 4:
            raise ValueError(f"mapping {m!r} must be (source path, source type, target path, target type)")
        src, _src_type, dst, dst_type = m
        found = _source(df.schema, parse_path(src), case_sensitive)
        if found is None:
            continue  # no record has the source field: the target field is absent too
        col, dt, real = found
        target_path = parse_path(dst)
        kind = str(dst_type).strip().lower()
        if real in choices and isinstance(dt, T.StructType):
            if kind == "choice":
                out_choices.add(target_path)
                expr = col
            else:
                target = spark_type(dst_type)
                preferred = str(_src_type).strip().lower()
                members = sorted(_members(col, dt), key=lambda nc: nc[0] != preferred)
                expr = F.coalesce(*[c.cast(target) for _, c in members])
        elif kind in ("struct", "array", "map", "choice") or _glue_name(dt) == _glue_name(spark_type(dst_type)):
            expr = col
            out_choices |= {target_path + p[len(real):] for p in choices if p[:len(real)] == real and p != real}
        else:
            expr = col.cast(spark_type(dst_type))
        node = tree
        for step in target_path[:-1]:
            node = node.setdefault(step, {})
            if not isinstance(node, dict):
                raise ValueError(f"mapping target {dst!r} goes through a field already mapped as a value")
        node[target_path[-1]] = expr

    def build(node: dict) -> list[Column]:
        return [(F.struct(*build(v)) if isinstance(v, dict) else v).alias(k) for k, v in node.items()]
    return df.select(*build(tree)), frozenset(out_choices)


# ------------------------------------------------------------------------------ DropNullFields
def _leaves(dt: T.StructType, prefix: tuple, choices: frozenset):
    for f in dt.fields:
        path = prefix + (f.name,)
        if isinstance(f.dataType, T.StructType) and path not in choices:
            yield from _leaves(f.dataType, path, choices)
        else:
            yield path, f.dataType


def drop_null_fields(df: Any, choices: frozenset) -> tuple[Any, frozenset]:
    """Drop every field null (or missing) in all records; a struct left empty goes too."""
    leaves = list(_leaves(df.schema, (), choices))
    checks = [p for p, dt in leaves if not isinstance(dt, T.NullType)]
    present: set[tuple] = set()
    if checks:
        def ref(p: tuple) -> Column:
            c = F.col(f"`{p[0]}`")
            for s in p[1:]:
                c = c.getField(s)
            return c
        row = df.agg(*[F.max(F.when(ref(p).isNotNull(), 1).otherwise(0)).alias(f"c{i}")
                       for i, p in enumerate(checks)]).collect()[0]
        present = {p for i, p in enumerate(checks) if row[f"c{i}"] == 1}
    drop = [p for p, _ in leaves if p not in present]
    if not drop:
        return df, choices
    return drop_paths(df, choices, drop)


def drop_paths(df: Any, choices: frozenset, paths: list[tuple]) -> tuple[Any, frozenset]:
    edits = {p: (lambda col, field: []) for p in paths}
    out = rebuild(df, edits)
    # a struct whose fields all went is dropped too (its column is left null-typed)
    empties = [f.name for f in out.schema.fields if isinstance(f.dataType, T.NullType)
               and any(p[:1] == (f.name,) and len(p) > 1 for p in paths)]
    if empties:
        out = out.drop(*empties)
    normed = {_norm(p, df.schema) for p in paths}
    return out, frozenset(p for p in choices if not _under(p, normed))
