"""CTAS and INSERT INTO of the local Athena: run the SELECT, write the files, register table and partitions."""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlglot import exp

from . import _bucketing
from ._ddlbase import add_partitions, check_output_columns, empty, err, prop_value
from ._formats import resolve, storage_for, table_parameters
from ._io import glue_schema, location_has_data, split_s3, table_format, write_parquet, write_table
from ._types import arrow_to_hive

if TYPE_CHECKING:
    from .engine import QueryEngine, QueryResult, _Query

__all__ = ["ctas", "insert", "select_of", "write_options", "read_props", "check_partition_columns", "normalize_for_write"]


MAX_PARTITIONS = 100  # Athena: partitions (x buckets) one CTAS / INSERT / UNLOAD may write


def select_of(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Subquery) and not e.args.get("alias"):
        e = e.this
    return e


def ctas(engine: QueryEngine, q: _Query, ast: exp.Create, database: str, output_location: str | None) -> QueryResult:
    t = ast.this
    db = (t.db or database).lower()
    name = t.name.lower()
    props = read_props(ast.args.get("properties"))
    no_data = bool(props.pop("__no_data", False))
    fmt, compression, delimiter = write_options(props, "write_compression")
    buckets = _bucketing.ctas_spec(props)
    if buckets and fmt != "PARQUET":
        raise err("NOT_SUPPORTED", f"bucketed_by with format '{fmt}' is not supported locally (Athena writes it): "
                  "use format = 'PARQUET' for a bucketed table, or run this query on AWS")
    if not engine.database_exists(db):
        raise err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
    if engine.get_table(db, name) is not None:
        if ast.args.get("exists"):
            return empty(engine, "CREATE_TABLE_AS_SELECT")
        raise err("ALREADY_EXISTS", f"Table '{'awsdatacatalog'}.{db}.{name}' already exists. Drop it or choose another name.")
    location = props.get("external_location")
    if not location:
        if not output_location:
            raise err("GENERIC_USER_ERROR", "CTAS needs external_location in WITH (...) or a query output location")
        location = f"{output_location.rstrip('/')}/tables/{q.query_id or uuid.uuid4()}/"
    location = location if location.endswith("/") else location + "/"
    query = select_of(ast.expression)
    tbl = engine.run_select(q, query, database)
    check_output_columns(query, tbl.column_names, q.source or q.text, tbl.schema.types)
    if location_has_data(engine.s3, location):
        raise err("HIVE_PATH_ALREADY_EXISTS",
                  f"Target directory for table '{db}.{name}' already exists: {location}. You may need to manually "
                  f"clean the data at location '{location}' before retrying. Athena will not delete data in your "
                  "account.")
    tbl = normalize_for_write(tbl)
    if no_data:
        tbl = tbl.slice(0, 0)
    pcols = props.get("partitioned_by") or []
    check_partition_columns(tbl, pcols)
    btypes = _bucketing.check_ctas(buckets, tbl, pcols, f"{db}.{name}") if buckets else []
    if buckets and tbl.num_rows:
        written, parts = _bucketing.write_parquet_buckets(engine._s3fs, tbl, location, pcols, compression,
                                                          buckets, btypes)
    else:
        written, parts = write_table(engine.s3, tbl, location, pcols, fmt, compression, delimiter) \
            if tbl.num_rows else ([], [])
    data_cols = [{"Name": f.name, "Type": arrow_to_hive(f.type)} for f in tbl.schema if f.name not in pcols]
    keys = [{"Name": c, "Type": arrow_to_hive(tbl.schema.field(c).type)} for c in pcols]
    sd = {**storage_for(fmt, delimiter), "Location": location, "Columns": data_cols,
          "Compressed": compression != "NONE", "NumberOfBuckets": -1, "StoredAsSubDirectories": False,
          "BucketColumns": [], "SortColumns": []}
    if buckets:
        buckets.apply(sd)
    engine.glue.create_table(DatabaseName=db, TableInput={
        "Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd, "PartitionKeys": keys,
        "Parameters": table_parameters(fmt, compression)})
    add_partitions(engine, db, name, sd, keys, parts, location)
    return engine._result("DDL", "CREATE_TABLE_AS_SELECT", pa.table({"rows": pa.array([tbl.num_rows], pa.int64())}),
                          header=True, update_count=tbl.num_rows, written=written)


def read_props(properties: exp.Expression | None) -> dict[str, Any]:
    """``WITH (name = value, ...)`` of a CTAS (or UNLOAD, parsed as one) -> {lower-cased name: value}
    (ARRAY[...] -> list of names; ``WITH NO DATA`` -> ``__no_data``)."""
    props: dict[str, Any] = {}
    for p in (properties.expressions if properties is not None else []):
        if isinstance(p, exp.WithDataProperty):
            props["__no_data"] = bool(p.args.get("no"))
        elif isinstance(p, exp.PartitionedByProperty):
            v = p.this
            props["partitioned_by"] = [x.name.lower() for x in (v.expressions if hasattr(v, "expressions") else [])]
        elif isinstance(p, exp.FileFormatProperty):
            props["format"] = (p.this.name if p.this is not None else "PARQUET").upper()
        elif isinstance(p, exp.LocationProperty):
            props["external_location"] = p.this.name
        else:
            key = p.this.name if isinstance(p.this, (exp.Literal, exp.Var, exp.Identifier)) else p.name
            props[key.lower()] = prop_value(p)
    return props


def write_options(props: dict[str, Any], compression_key: str) -> tuple[str, str, str | None]:
    """(FORMAT, COMPRESSION, field delimiter) of a CTAS/UNLOAD ``WITH (...)``; Athena's refusals:
    two compression properties, a multi-character delimiter, a codec the format does not take."""
    fmt_raw = props.get("format")
    fmt_name = str(fmt_raw).upper() if fmt_raw else "PARQUET"
    keys = [k for k in (compression_key, "parquet_compression", "orc_compression") if props.get(k)]
    if len(keys) > 1:
        raise err("INVALID_TABLE_PROPERTY", f"Only one of the compression properties {', '.join(keys)} can be "
                                            f"set; use {compression_key} alone")
    if fmt_name in ("PARQUET", "ORC") and keys and keys[0] not in (compression_key, f"{fmt_name.lower()}_compression"):
        raise err("INVALID_TABLE_PROPERTY", f"{keys[0]} does not apply to format {fmt_name}; use {compression_key}")
    fmt, compression = resolve(fmt_name, str(props[keys[0]]) if keys else None)
    delimiter = props.get("field_delimiter")
    if delimiter is not None:
        delimiter = str(delimiter)
        if len(delimiter) != 1:
            raise err("NOT_SUPPORTED", f"field_delimiter must be a single character, got {delimiter!r}: "
                                       "multi-character field delimiters are not supported")
    return fmt, compression, delimiter


def check_partition_columns(tbl: pa.Table, pcols: list[str]) -> None:
    missing = [c for c in pcols if c not in tbl.column_names]
    if missing:
        raise err("COLUMN_NOT_FOUND", f"Partition column(s) {missing} are not in the query's output columns {tbl.column_names}")
    if pcols and tbl.column_names[-len(pcols):] != pcols:
        raise err("GENERIC_USER_ERROR", f"Partition columns {pcols} must be the last columns of the SELECT, in the same order")
    if pcols and tbl.num_rows:
        n = tbl.select(pcols).group_by(pcols).aggregate([]).num_rows
        if n > MAX_PARTITIONS:
            raise err("HIVE_TOO_MANY_OPEN_PARTITIONS",
                      f"Exceeded limit of {MAX_PARTITIONS} open writers for partitions/buckets ({n} partitions). "
                      "Write at most 100 partitions per statement (CTAS, then INSERT INTO for the rest).")
    if pcols and len(pcols) == tbl.num_columns:
        raise err("GENERIC_USER_ERROR", "A partitioned write needs at least one column that is not a partition column")


def normalize_for_write(tbl: pa.Table) -> pa.Table:
    """Arrow types DuckDB emits that Glue/Hive cannot name -> plain ones (string_view -> string, etc.)."""
    cols = []
    fields = []
    for f, c in zip(tbl.schema, tbl.columns):
        t = f.type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            t = pa.string()
        elif pa.types.is_timestamp(t) and t.tz is not None:
            t = pa.timestamp(t.unit)
        elif pa.types.is_null(t):
            t = pa.string()
        if t != f.type:
            c = c.cast(t)
        cols.append(c)
        fields.append(pa.field(f.name, t))
    return pa.table(cols, schema=pa.schema(fields))


def insert(engine: QueryEngine, q: _Query, ast: exp.Insert, text: str, database: str) -> QueryResult:
    target = ast.this
    cols_given = None
    if isinstance(target, exp.Schema):
        cols_given = [c.name.lower() for c in target.expressions]
        target = target.this
    db = (target.db or database).lower()
    name = target.name.lower()
    table = engine.get_table_for_query(target, db, name)
    _bucketing.refuse_insert(table, db, name)
    if table.get("TableType") == "VIRTUAL_VIEW":
        raise err("NOT_SUPPORTED", f"Inserting into view {db}.{name} is not supported")
    fmt = table_format(table)
    if fmt.kind == "json":
        raise err("NOT_SUPPORTED", "INSERT INTO a JSON table is not supported locally; use Parquet or text tables")
    data_schema, keys = glue_schema(table)
    target_fields = list(data_schema) + [pa.field(k, t) for k, t in keys]
    tbl = engine.run_select(q, select_of(ast.expression), database)
    names = cols_given or [f.name for f in target_fields]
    if tbl.num_columns != len(names):
        raise err("TYPE_MISMATCH", f"Insert query has {tbl.num_columns} columns, table {db}.{name} expects {len(names)}: {names}")
    by_name = dict(zip(names, tbl.columns))
    arrays = []
    for f in target_fields:
        col = by_name.get(f.name)
        if col is None:
            arrays.append(pa.nulls(tbl.num_rows, f.type))
        else:
            try:
                arrays.append(col.cast(f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as ex:
                raise err("TYPE_MISMATCH", f"Insert query column for '{f.name}' cannot be cast to {f.type}: {ex}") from None
    out = pa.table(arrays, schema=pa.schema(target_fields))
    location = table["StorageDescriptor"].get("Location", "")
    key_names = [k for k, _ in keys]
    written: list[str] = []
    parts: list[dict[str, str]] = []
    if out.num_rows:
        if fmt.kind == "parquet":
            written, parts = write_parquet(engine._s3fs, out, location, key_names, "SNAPPY")
        else:
            written, parts = _write_text(engine, out, location, key_names, fmt.delimiter)
    key_dicts = [{"Name": k["Name"].lower(), "Type": k["Type"]} for k in table.get("PartitionKeys", [])]
    add_partitions(engine, db, name, table["StorageDescriptor"], key_dicts, parts, location)
    return engine._result("DML", "INSERT", pa.table({"rows": pa.array([out.num_rows], pa.int64())}), header=True,
                          update_count=out.num_rows, written=written)


def _write_text(engine: QueryEngine, tbl: pa.Table, location: str, keys: list[str], delim: str) -> tuple[list[str], list[dict[str, str]]]:
    bucket, prefix = split_s3(location)
    prefix = prefix.rstrip("/")
    qid = uuid.uuid4().hex
    groups: list[tuple[dict[str, Any], pa.Table]] = []
    if keys:
        for combo in tbl.select(keys).group_by(keys).aggregate([]).to_pylist():
            mask = None
            for k, v in combo.items():
                m = pc.fill_null(pc.equal(tbl[k], pa.scalar(v, tbl.schema.field(k).type)), False)
                mask = m if mask is None else pc.and_(mask, m)
            groups.append((combo, tbl.filter(mask).drop_columns(keys)))
    else:
        groups = [({}, tbl)]
    written, parts = [], []
    for combo, sub in groups:
        rel = "/".join(f"{k}={v}" for k, v in combo.items())
        key = "/".join(x for x in (prefix, rel, f"{qid}_00000.csv") if x)
        buf = pa.BufferOutputStream()
        pacsv.write_csv(sub, buf, write_options=pacsv.WriteOptions(include_header=False, delimiter=delim,
                                                                    quoting_style="none"))
        engine.s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue().to_pybytes())
        written.append(f"s3://{bucket}/{key}")
        if combo:
            parts.append({k: str(v) for k, v in combo.items()})
    return written, parts
