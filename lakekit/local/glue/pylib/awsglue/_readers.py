"""S3 readers and writers behind ``GlueContext`` (formats csv / json / parquet, Spark underneath).

Glue 5.0 documents them in "Connection types and options for ETL" (S3: ``paths``, ``recurse``,
``exclusions``, ``groupFiles``/``groupSize``, ``maxBand``, ``path``, ``partitionKeys``,
``compression``) and "Data format options" (csv: ``withHeader``, ``separator``, ``quoteChar``,
``escaper``, ``multiLine``, ``skipFirst``, ``writeHeader``; json: ``jsonPath``, ``multiLine``;
parquet: ``compression``). Grouping options change how Glue splits work, not what is read:
they are accepted and have no effect here.

CSV values are typed the way the DynamicFrame CSV reader types them: a column whose non-empty
values are all whole numbers is ``long``, all numbers ``double``, else ``string``; a column
mixing numbers and text becomes a *choice* (struct with one field per type, see ``_choice``).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ._s3 import S3Object, StageView, glob_to_regex

__all__ = ["list_sources", "read_files", "read_with_choices", "write_frame_df", "partition_values",
           "glue_columns", "empty_df"]

log = logging.getLogger(__name__)

_LONG_RE = r"^[+-]?[0-9]{1,18}$"
_DOUBLE_RE = r"^[+-]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?$"


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _exclusions(value: Any) -> list[Any]:
    if not value:
        return []
    patterns = json.loads(value) if isinstance(value, str) else list(value)
    return [glob_to_regex(p) for p in patterns]


def list_sources(stage: StageView, connection_options: dict[str, Any]) -> list[S3Object]:
    """The objects ``connection_options`` names: ``paths`` (+ ``recurse``, ``exclusions``)."""
    paths = connection_options.get("paths") or ([connection_options["path"]]
                                                if connection_options.get("path") else [])
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise ValueError("connection_options['paths'] is required for connection_type 's3': pass "
                         "a list of s3:// paths, e.g. {'paths': ['s3://bucket/prefix/']}.")
    recurse = _truthy(connection_options.get("recurse", False))
    excluded = _exclusions(connection_options.get("exclusions"))
    seen: dict[str, S3Object] = {}
    for p in paths:
        for obj in stage.list(p, recurse=recurse):
            if any(rx.match(obj.uri) or rx.match(obj.key) for rx in excluded):
                continue
            seen.setdefault(obj.uri, obj)
    return list(seen.values())


def empty_df(spark: Any, columns: list[tuple[str, str]] | None = None) -> Any:
    from pyspark.sql.types import StructType, _parse_datatype_string

    schema = StructType()
    for name, typ in columns or []:
        try:
            schema = schema.add(name, _parse_datatype_string(typ), True)
        except Exception:
            schema = schema.add(name, "string", True)
    return spark.createDataFrame([], schema)


def _csv_reader(spark: Any, fo: dict[str, Any]) -> Any:
    reader = spark.read.option("header", "true" if _truthy(fo.get("withHeader")) else "false")
    reader = reader.option("sep", fo.get("separator", ","))
    quote = fo.get("quoteChar", '"')
    reader = reader.option("quote", "\u0000" if str(quote) == "-1" else quote)
    if fo.get("escaper"):
        reader = reader.option("escape", fo["escaper"])
    if _truthy(fo.get("multiLine")) or _truthy(fo.get("multiline")):
        reader = reader.option("multiLine", "true")
    return reader.option("inferSchema", "false").option("mode", "PERMISSIVE")


def _type_csv(df: Any) -> Any:
    """Glue's per-value CSV typing on an all-string frame (long / double / string / choice).

    One pass: each non-empty value gets a bit - 1 whole number, 2 other number, 4 text - and the
    bits of a column are OR-ed (``bit_or``); a whole number is a number too, so a value costs one
    regex (text) or two (numbers)."""
    from pyspark.sql import functions as F

    if not df.columns:
        return df
    aggs = []
    for i, c in enumerate(df.columns):
        col = F.col(f"`{c}`")
        code = (F.when(col.isNull() | (col == ""), 0)
                .when(~col.rlike(_DOUBLE_RE), 4)
                .when(col.rlike(_LONG_RE), 1)
                .otherwise(2))
        aggs.append(F.bit_or(code).alias(f"b{i}"))
    stats = df.agg(*aggs).collect()[0].asDict()
    out = []
    for i, c in enumerate(df.columns):
        col = F.col(f"`{c}`")
        bits = int(stats[f"b{i}"] or 0)
        empty = F.when(col == "", None).otherwise(col)
        if not bits & 3:  # no number at all
            out.append(col.alias(c))
        elif not bits & 6:  # whole numbers only
            out.append(empty.cast("long").alias(c))
        elif not bits & 4:  # numbers only
            out.append(empty.cast("double").alias(c))
        else:
            num_type = "double" if bits & 2 else "long"
            out.append(F.struct(
                F.when(col.rlike(_DOUBLE_RE), col.cast(num_type)).alias(num_type),
                F.when(~col.rlike(_DOUBLE_RE), col).alias("string")).alias(c))
    return df.select(*out)


def read_files(glue_ctx: Any, objects: list[S3Object], fmt: str, format_options: dict[str, Any],
               name: str, csv_columns: list[tuple[str, str]] | None = None) -> Any:
    """A DataFrame of ``objects`` in ``fmt`` (``csv_columns``: names/types from a catalog table)."""
    return read_with_choices(glue_ctx, objects, fmt, format_options, name, csv_columns)[0]


def read_with_choices(glue_ctx: Any, objects: list[S3Object], fmt: str, format_options: dict[str, Any],
                      name: str, csv_columns: list[tuple[str, str]] | None = None) -> tuple[Any, frozenset]:
    """-> (DataFrame, choice paths): the paths whose values mix types (each a struct, one field per
    type), for CSV and JSON as Glue's DynamicFrame readers type them; none for Parquet or a catalog
    schema (the types are given)."""
    spark = glue_ctx.spark_session
    fmt = (fmt or "").lower()
    files = [o.path for o in objects]
    if not files:
        return empty_df(spark, csv_columns), frozenset()
    if fmt in ("parquet", "glueparquet"):
        return spark.read.parquet(*files), frozenset()
    if fmt == "json":
        from ._choice import json_frame

        opts = dict(format_options)
        opts["multiline"] = _truthy(opts.get("multiline")) or _truthy(opts.get("multiLine"))
        frame = json_frame(glue_ctx, files, opts, name)
        return frame.toDF(), frame._choices
    if fmt == "csv":
        df = _csv_reader(spark, format_options).csv(files)
        if _truthy(format_options.get("skipFirst")):
            df = df.rdd.zipWithIndex().filter(lambda r: r[1] > 0).map(lambda r: r[0]).toDF(df.schema)
        if csv_columns is not None:
            from pyspark.sql import functions as F

            names = [n for n, _ in csv_columns]
            cols = [F.col(f"`{c}`") for c in df.columns[:len(names)]]
            return df.select(*[F.when(col == "", None).otherwise(col).cast(t).alias(n)
                               if t != "string" else col.alias(n)
                               for col, (n, t) in zip(cols, csv_columns)]), frozenset()
        if not _truthy(format_options.get("withHeader")):
            df = df.toDF(*[f"col{i}" for i in range(len(df.columns))])
        df = _type_csv(df)
        # a CSV column is a struct only when its values mix types: that struct is a choice
        return df, frozenset((f.name,) for f in df.schema.fields if f.dataType.typeName() == "struct")
    raise ValueError(f"format {fmt!r} is not supported by the local awsglue for S3: use csv, json "
                     f"or parquet (Glue also reads avro, orc, xml, ion, grokLog; not provided locally).")


def partition_values(df: Any, keys: list[str]) -> list[list[str]]:
    """The distinct partition values of ``df`` as Hive path strings."""
    if not keys:
        return []
    rows = df.select(*[f"`{k}`" for k in keys]).distinct().collect()
    out = []
    for r in rows:
        vals = []
        for v in r:
            if v is None:
                vals.append("__HIVE_DEFAULT_PARTITION__")
            elif isinstance(v, bool):
                vals.append("true" if v else "false")
            else:
                vals.append(v.isoformat() if hasattr(v, "isoformat") else str(v))
        out.append(vals)
    return sorted(out)


def glue_columns(schema: Any, skip: list[str] | None = None) -> list[tuple[str, str]]:
    """Spark schema -> Data Catalog columns (``simpleString`` spells Hive types)."""
    skip_set = set(skip or [])
    return [(f.name, f.dataType.simpleString().replace("timestamp_ntz", "timestamp"))
            for f in schema.fields if f.name not in skip_set]


def write_frame_df(df: Any, local_dir: Path, fmt: str, partition_keys: list[str],
                   compression: str | None, format_options: dict[str, Any]) -> None:
    """Append ``df`` under ``local_dir`` (a stage folder) the way Glue's S3 sink writes it."""
    fmt = (fmt or "").lower()
    writer = df.write.mode("append")
    if partition_keys:
        missing = [k for k in partition_keys if k not in df.columns]
        if missing:
            raise ValueError(f"partitionKeys {missing} are not fields of the frame "
                             f"(fields: {df.columns}): fix connection_options['partitionKeys'].")
        writer = writer.partitionBy(*partition_keys)
    if fmt in ("parquet", "glueparquet"):
        codec = format_options.get("compression") or compression or "snappy"
        writer.option("compression", "none" if codec == "uncompressed" else codec).parquet(str(local_dir))
    elif fmt == "csv":
        w = writer.option("header", "false" if str(format_options.get("writeHeader", "true")).lower()
                          == "false" else "true")
        w = w.option("sep", format_options.get("separator", ","))
        if format_options.get("quoteChar") not in (None, "-1", -1):
            w = w.option("quote", format_options["quoteChar"])
        if format_options.get("escaper"):
            w = w.option("escape", format_options["escaper"])
        if compression:
            w = w.option("compression", compression)
        w.csv(str(local_dir))
    elif fmt == "json":
        w = writer.option("compression", compression) if compression else writer
        w.json(str(local_dir))
    else:
        raise ValueError(f"format {fmt!r} is not supported by the local awsglue for S3 writes: use "
                         f"parquet, glueparquet, csv or json.")
