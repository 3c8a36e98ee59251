"""CTAS and INSERT INTO of the local Athena: run the SELECT, write the files, register table and partitions."""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlglot import exp

from . import _bucketing
from ._ddlbase import add_partitions, empty, err, prop_value, storage
from ._io import glue_schema, list_files, split_s3, table_format, write_parquet
from ._types import arrow_to_hive

if TYPE_CHECKING:
    from .engine import QueryEngine, QueryResult, _Query

__all__ = ["ctas", "insert", "select_of"]


def select_of(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Subquery) and not e.args.get("alias"):
        e = e.this
    return e


def ctas(engine: QueryEngine, q: _Query, ast: exp.Create, database: str, output_location: str | None) -> QueryResult:
    t = ast.this
    db = (t.db or database).lower()
    name = t.name.lower()
    props: dict[str, Any] = {}
    no_data = False
    for p in (ast.args.get("properties").expressions if ast.args.get("properties") else []):
        if isinstance(p, exp.WithDataProperty):
            no_data = bool(p.args.get("no"))
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
    fmt = str(props.get("format", "PARQUET")).upper()
    if fmt != "PARQUET":
        raise err("NOT_SUPPORTED", f"CTAS format '{fmt}' is not supported locally; use format = 'PARQUET'")
    buckets = _bucketing.ctas_spec(props)
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
        location = f"{output_location.rstrip('/')}/tables/{uuid.uuid4()}/"
    location = location if location.endswith("/") else location + "/"
    if list_files(engine.s3, location):
        raise err("HIVE_PATH_ALREADY_EXISTS",
                   f"Target directory for table '{db}.{name}' already exists: {location}. "
                   "You may need to manually clean the data at location before retrying.")
    tbl = engine.run_select(q, select_of(ast.expression), database)
    tbl = _normalize_for_write(tbl)
    if no_data:
        tbl = tbl.slice(0, 0)
    pcols = props.get("partitioned_by") or []
    missing = [c for c in pcols if c not in tbl.column_names]
    if missing:
        raise err("COLUMN_NOT_FOUND", f"Partition column(s) {missing} are not in the query's output columns {tbl.column_names}")
    if pcols and tbl.column_names[-len(pcols):] != pcols:
        raise err("GENERIC_USER_ERROR", f"Partition columns {pcols} must be the last columns of the SELECT, in the same order")
    compression = str(props.get("write_compression") or props.get("parquet_compression") or "SNAPPY").upper()
    btypes = _bucketing.check_ctas(buckets, tbl, pcols, f"{db}.{name}") if buckets else []
    if buckets and tbl.num_rows:
        written, parts = _bucketing.write_parquet_buckets(engine._s3fs, tbl, location, pcols, compression, buckets, btypes)
    else:
        written, parts = write_parquet(engine._s3fs, tbl, location, pcols, compression) if tbl.num_rows else ([], [])
    data_cols = [{"Name": f.name, "Type": arrow_to_hive(f.type)} for f in tbl.schema if f.name not in pcols]
    keys = [{"Name": c, "Type": arrow_to_hive(tbl.schema.field(c).type)} for c in pcols]
    sd = storage("PARQUET", location, data_cols)
    if buckets:
        buckets.apply(sd)
    params = {"EXTERNAL": "TRUE", "classification": "parquet", "has_encrypted_data": "false",
              "parquet.compression": compression}
    engine.glue.create_table(DatabaseName=db, TableInput={
        "Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd, "PartitionKeys": keys,
        "Parameters": params})
    add_partitions(engine, db, name, sd, keys, parts, location)
    return engine._result("DDL", "CREATE_TABLE_AS_SELECT", pa.table({"rows": pa.array([tbl.num_rows], pa.int64())}),
                          header=True, update_count=tbl.num_rows, written=written)


def _normalize_for_write(tbl: pa.Table) -> pa.Table:
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
