"""DDL and utility statements of the local Athena engine, written to/read from the Glue catalog."""
from __future__ import annotations

import base64
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlglot
from sqlglot import exp

from lakekit.local.glue.schema import FORMATS, hive_format

from ._errors import USER_ERROR, AthenaQueryError
from ._io import glue_schema, list_files, split_s3, table_format, write_parquet
from ._types import arrow_to_hive, hive_to_arrow

if TYPE_CHECKING:
    from .engine import QueryEngine, QueryResult, _Query

__all__ = ["dispatch_text", "create", "insert", "describe_table", "drop", "view_query", "view_schema"]

LAZY_SERDE = FORMATS["csv"]["SerializationLibrary"]

_ID = r'(?:`[^`]+`|"[^"]+"|[\w-]+)'
_NAME = rf"({_ID}(?:\s*\.\s*{_ID}){{0,2}})"


def _err(kind: str, msg: str) -> AthenaQueryError:
    return AthenaQueryError(USER_ERROR, kind, f"{kind}: {msg}")


def _split_name(raw: str, database: str) -> tuple[str, str]:
    parts = [p.strip().strip('`"').lower() for p in re.findall(_ID, raw)]
    if len(parts) == 3:
        if parts[0] != "awsdatacatalog":
            raise _err("CATALOG_NOT_FOUND", f"Catalog '{parts[0]}' does not exist")
        parts = parts[1:]
    if len(parts) == 2:
        return parts[0], parts[1]
    return database.lower(), parts[0]


def _lines_result(engine: QueryEngine, st: str, sub: str, column: str, lines: list[str]) -> QueryResult:
    return engine._result(st, sub, pa.table({column: pa.array(lines, pa.string())}), header=False)


def _empty(engine: QueryEngine, sub: str) -> QueryResult:
    return engine._result("DDL", sub, pa.table({}), header=False)


def _require_table(engine: QueryEngine, db: str, name: str) -> dict:
    table = engine.get_table(db, name)
    if table is None:
        raise _err("TABLE_NOT_FOUND", f"line 1:1: Table '{'awsdatacatalog'}.{db}.{name}' does not exist")
    return table


def _like(pattern: str | None, name: str) -> bool:
    if not pattern:
        return True
    alts = pattern.split("|")
    return any(re.fullmatch(a.strip().replace("*", ".*"), name, re.IGNORECASE) for a in alts)


# ----------------------------------------------------------------------------- text statements


def dispatch_text(engine: QueryEngine, q: _Query, text: str, database: str) -> QueryResult | None:
    """Statements sqlglot parses only as opaque commands (SHOW, MSCK, ALTER ... PARTITION, DATABASE DDL)."""
    flags = re.IGNORECASE | re.DOTALL
    m = re.match(r"SHOW\s+(DATABASES|SCHEMAS)(?:\s+LIKE)?(?:\s+'([^']*)')?$", text, flags)
    if m:
        names = []
        for page in engine.glue.get_paginator("get_databases").paginate():
            names += [d["Name"] for d in page["DatabaseList"]]
        return _lines_result(engine, "DDL", "SHOW_DATABASES", "database_name",
                             sorted(n for n in names if _like(m.group(2), n)))
    m = re.match(rf"SHOW\s+(TABLES|VIEWS)(?:\s+(?:IN|FROM)\s+{_NAME})?(?:\s+(?:LIKE\s+)?'([^']*)')?$", text, flags)
    if m:
        db = m.group(2).strip('`"').lower() if m.group(2) else database
        if not engine.database_exists(db):
            raise _err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
        names = []
        for page in engine.glue.get_paginator("get_tables").paginate(DatabaseName=db):
            for t in page["TableList"]:
                is_view = t.get("TableType") == "VIRTUAL_VIEW"
                if m.group(1).upper() == "VIEWS" and not is_view:
                    continue
                names.append(t["Name"])
        sub = "SHOW_TABLES" if m.group(1).upper() == "TABLES" else "SHOW_VIEWS"
        col = "tab_name" if sub == "SHOW_TABLES" else "views"
        return _lines_result(engine, "DDL", sub, col, sorted(n for n in names if _like(m.group(3), n)))
    m = re.match(rf"SHOW\s+PARTITIONS\s+{_NAME}$", text, flags)
    if m:
        db, name = _split_name(m.group(1), database)
        table = _require_table(engine, db, name)
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        if not keys:
            raise _err("NOT_SUPPORTED", f"Table {db}.{name} is not partitioned")
        lines = sorted(
            "/".join(f"{k}={v}" for k, v in zip(keys, p["Values"])) for p in engine.get_partitions(db, name)
        )
        return _lines_result(engine, "DDL", "SHOW_PARTITIONS", "partition", lines)
    m = re.match(rf"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_NAME}(?:\s+(?:IN|FROM)\s+{_NAME})?$", text, flags)
    if m:
        db, name = _split_name(m.group(1), m.group(2).strip('`"').lower() if m.group(2) else database)
        table = _require_table(engine, db, name)
        cols = [c["Name"] for c in _visible_columns(engine, q, db, name, table)]
        return _lines_result(engine, "DDL", "SHOW_COLUMNS", "field", cols)
    m = re.match(rf"SHOW\s+CREATE\s+(TABLE|VIEW)\s+{_NAME}$", text, flags)
    if m:
        db, name = _split_name(m.group(2), database)
        table = _require_table(engine, db, name)
        stmt = _show_create(table, db)
        return _lines_result(engine, "DDL", "SHOW_CREATE_TABLE", "createtab_stmt", stmt.split("\n"))
    m = re.match(rf"SHOW\s+TBLPROPERTIES\s+{_NAME}$", text, flags)
    if m:
        db, name = _split_name(m.group(1), database)
        table = _require_table(engine, db, name)
        props = table.get("Parameters", {}) or {}
        return engine._result("DDL", "SHOW_TBLPROPERTIES", pa.table({
            "prpt_name": pa.array(list(props), pa.string()), "prpt_value": pa.array(list(props.values()), pa.string())
        }), header=False)
    m = re.match(rf"(?:DESCRIBE|DESC)(?:\s+(?:FORMATTED|EXTENDED))?\s+{_NAME}$", text, flags)
    if m:
        db, name = _split_name(m.group(1), database)
        return _describe(engine, q, db, name)
    m = re.match(rf"MSCK\s+REPAIR\s+TABLE\s+{_NAME}$", text, flags)
    if m:
        db, name = _split_name(m.group(1), database)
        return _msck(engine, db, name)
    m = re.match(rf"ALTER\s+TABLE\s+{_NAME}\s+(ADD|DROP)\s+(IF\s+(?:NOT\s+)?EXISTS\s+)?(PARTITION.*)$", text, flags)
    if m:
        db, name = _split_name(m.group(1), database)
        return _alter_partitions(engine, db, name, m.group(2).upper(), bool(m.group(3)), m.group(4))
    m = re.match(
        rf"CREATE\s+(?:DATABASE|SCHEMA)\s+(IF\s+NOT\s+EXISTS\s+)?{_NAME}(?:\s+COMMENT\s+'([^']*)')?"
        rf"(?:\s+LOCATION\s+'([^']*)')?(?:\s+WITH\s+DBPROPERTIES\s*\((.*)\))?$", text, flags)
    if m:
        return _create_database(engine, m.group(2).strip('`"').lower(), bool(m.group(1)), m.group(3), m.group(4),
                                _kv_props(m.group(5) or ""))
    m = re.match(rf"DROP\s+(?:DATABASE|SCHEMA)\s+(IF\s+EXISTS\s+)?{_NAME}(\s+CASCADE|\s+RESTRICT)?$", text, flags)
    if m:
        return _drop_database(engine, m.group(2).strip('`"').lower(), bool(m.group(1)),
                              (m.group(3) or "").strip().upper() == "CASCADE")
    m = re.match(rf"DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?{_NAME}$", text, flags)
    if m:
        db, name = _split_name(m.group(3), database)
        return _drop_table(engine, db, name, bool(m.group(2)), m.group(1).upper())
    if re.match(r"SHOW\b", text, flags):
        raise _err("NOT_SUPPORTED", f"'{text[:60]}' is not supported locally; supported: SHOW DATABASES|SCHEMAS, "
                   "SHOW TABLES [IN db], SHOW VIEWS, SHOW PARTITIONS t, SHOW COLUMNS IN t, SHOW CREATE TABLE|VIEW t, "
                   "SHOW TBLPROPERTIES t")
    return None


def _kv_props(text: str) -> dict[str, str]:
    return {k: v for k, v in re.findall(r"'([^']*)'\s*=\s*'([^']*)'", text)}


# ----------------------------------------------------------------------------- databases


def _create_database(engine: QueryEngine, name: str, if_not_exists: bool, comment: str | None,
                     location: str | None, props: dict[str, str]) -> QueryResult:
    if engine.database_exists(name):
        if if_not_exists:
            return _empty(engine, "CREATE_DATABASE")
        raise _err("ALREADY_EXISTS", f"Database {name} already exists. Use CREATE DATABASE IF NOT EXISTS to ignore.")
    di: dict[str, Any] = {"Name": name}
    if comment:
        di["Description"] = comment
    if location:
        di["LocationUri"] = location
    if props:
        di["Parameters"] = props
    engine.glue.create_database(DatabaseInput=di)
    return _empty(engine, "CREATE_DATABASE")


def _drop_database(engine: QueryEngine, name: str, if_exists: bool, cascade: bool) -> QueryResult:
    if not engine.database_exists(name):
        if if_exists:
            return _empty(engine, "DROP_DATABASE")
        raise _err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{name}' does not exist")
    tables = []
    for page in engine.glue.get_paginator("get_tables").paginate(DatabaseName=name):
        tables += [t["Name"] for t in page["TableList"]]
    if tables and not cascade:
        raise _err("SCHEMA_NOT_EMPTY", f"Database {name} is not empty ({len(tables)} tables). "
                   "Drop its tables first or use DROP DATABASE ... CASCADE.")
    for t in tables:
        engine.glue.delete_table(DatabaseName=name, Name=t)
    engine.glue.delete_database(Name=name)
    return _empty(engine, "DROP_DATABASE")


# ----------------------------------------------------------------------------- tables


def _drop_table(engine: QueryEngine, db: str, name: str, if_exists: bool, kind: str) -> QueryResult:
    table = engine.get_table(db, name) if engine.database_exists(db) else None
    if table is None:
        if if_exists:
            return _empty(engine, f"DROP_{kind}")
        if kind == "VIEW":
            raise _err("TABLE_NOT_FOUND", f"line 1:1: View '{'awsdatacatalog'}.{db}.{name}' does not exist")
        raise _err("TABLE_NOT_FOUND", f"Table not found {db}.{name}. Check the name or use DROP TABLE IF EXISTS.")
    if kind == "VIEW" and table.get("TableType") != "VIRTUAL_VIEW":
        raise _err("NOT_SUPPORTED", f"{db}.{name} is a table, not a view: use DROP TABLE")
    engine.glue.delete_table(DatabaseName=db, Name=name)
    return _empty(engine, f"DROP_{kind}")


def drop(engine: QueryEngine, q: _Query, ast: exp.Drop, database: str) -> QueryResult:
    kind = (ast.args.get("kind") or "TABLE").upper()
    t = ast.this
    if kind in ("DATABASE", "SCHEMA"):
        return _drop_database(engine, t.name.lower(), bool(ast.args.get("exists")), bool(ast.args.get("cascade")))
    db = (t.db or database).lower()
    return _drop_table(engine, db, t.name.lower(), bool(ast.args.get("exists")), "VIEW" if kind == "VIEW" else "TABLE")


def _storage(fmt: str, location: str, columns: list[dict], serde: str | None = None,
             serde_params: dict[str, str] | None = None, input_format: str | None = None,
             output_format: str | None = None) -> dict:
    fmt = fmt.upper()
    if fmt == "PARQUET":
        sd = hive_format("parquet", {"serialization.format": "1"})
    elif fmt == "JSON":
        sd = hive_format("json")
    else:
        sd = hive_format("csv", {"field.delim": ",", "serialization.format": ","})
    if serde:
        sd["SerdeInfo"] = {"SerializationLibrary": serde, "Parameters": {}}
    if serde_params:
        sd["SerdeInfo"]["Parameters"] = {**sd["SerdeInfo"].get("Parameters", {}), **serde_params}
    if input_format:
        sd["InputFormat"] = input_format
    if output_format:
        sd["OutputFormat"] = output_format
    sd.update({"Location": location, "Columns": columns, "Compressed": False, "NumberOfBuckets": -1,
               "StoredAsSubDirectories": False, "BucketColumns": [], "SortColumns": []})
    return sd


def _classification(sd: dict) -> str:
    lib = sd["SerdeInfo"].get("SerializationLibrary", "").lower()
    if "parquet" in lib or "parquet" in sd.get("InputFormat", "").lower():
        return "parquet"
    if "json" in lib:
        return "json"
    return "csv"


def create(engine: QueryEngine, q: _Query, ast: exp.Create, text: str, database: str,
           output_location: str | None) -> QueryResult:
    kind = (ast.args.get("kind") or "").upper()
    if kind in ("DATABASE", "SCHEMA"):
        t = ast.this
        name = (t.name or t.db).lower()
        return _create_database(engine, name, bool(ast.args.get("exists")), None, None, {})
    if kind == "VIEW":
        return _create_view(engine, q, ast, text, database)
    if kind == "TABLE" and ast.expression is not None:
        return _ctas(engine, q, ast, database, output_location)
    if kind == "TABLE" and isinstance(ast.this, exp.Schema):
        return _create_external(engine, ast, database)
    raise _err("NOT_SUPPORTED", f"CREATE {kind} is not supported locally")


def _prop_value(p: exp.Expression) -> Any:
    v = p.args.get("value")
    if v is None:
        v = p.this
    if isinstance(v, exp.Array):
        return [x.name for x in v.expressions]
    if isinstance(v, exp.Literal):
        return v.name
    if isinstance(v, (exp.Var, exp.Identifier)):
        return v.name
    return v.sql()


def _create_external(engine: QueryEngine, ast: exp.Create, database: str) -> QueryResult:
    schema = ast.this
    t = schema.this
    db = (t.db or database).lower()
    name = t.name.lower()
    if not engine.database_exists(db):
        raise _err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
    columns = []
    for cd in schema.expressions:
        if not isinstance(cd, exp.ColumnDef):
            continue
        typ = cd.args["kind"].sql("hive").lower().replace(": ", ":").replace(", ", ",")
        hive_to_arrow(typ)  # validate
        col = {"Name": cd.name.lower(), "Type": typ}
        for c in cd.args.get("constraints") or []:
            if isinstance(c.args.get("kind"), exp.CommentColumnConstraint):
                col["Comment"] = c.args["kind"].name
        columns.append(col)
    fmt = "TEXTFILE"
    location = ""
    serde = None
    serde_params: dict[str, str] = {}
    inp = outp = None
    params: dict[str, str] = {"EXTERNAL": "TRUE"}
    partition_keys: list[dict] = []
    comment = None
    external = False
    for p in (ast.args.get("properties").expressions if ast.args.get("properties") else []):
        if isinstance(p, exp.ExternalProperty):
            external = True
        elif isinstance(p, exp.PartitionedByProperty):
            for cd in p.this.expressions if isinstance(p.this, exp.Schema) else []:
                typ = cd.args["kind"].sql("hive").lower().replace(": ", ":").replace(", ", ",")
                partition_keys.append({"Name": cd.name.lower(), "Type": typ})
        elif isinstance(p, exp.RowFormatDelimitedProperty):
            delim = p.args.get("fields")
            d = delim.name if delim is not None else "\x01"
            serde_params = {"field.delim": d, "serialization.format": d}
            if p.args.get("escaped") is not None:
                serde_params["escape.delim"] = p.args["escaped"].name
            if p.args.get("collection_items") is not None:
                serde_params["collection.delim"] = p.args["collection_items"].name
            if p.args.get("map_keys") is not None:
                serde_params["mapkey.delim"] = p.args["map_keys"].name
            if p.args.get("lines") is not None:
                serde_params["line.delim"] = p.args["lines"].name
            serde = LAZY_SERDE
        elif isinstance(p, exp.RowFormatSerdeProperty):
            serde = p.this.name
            sp = p.args.get("serde_properties")
            if sp is not None:
                serde_params.update({x.this.name: x.args["value"].name for x in sp.expressions})
        elif isinstance(p, exp.FileFormatProperty):
            v = p.this
            if isinstance(v, exp.InputOutputFormat):
                inp = v.args["input_format"].name
                outp = v.args["output_format"].name
                fmt = "PARQUET" if "parquet" in inp.lower() else "TEXTFILE"
            else:
                fmt = (v.name if v is not None else "TEXTFILE").upper()
        elif isinstance(p, exp.LocationProperty):
            location = p.this.name
        elif isinstance(p, exp.SchemaCommentProperty):
            comment = p.this.name
        elif type(p) is exp.Property:
            params[p.this.name if isinstance(p.this, exp.Literal) else p.name] = str(_prop_value(p))
    if not external:
        raise _err("NOT_SUPPORTED", "CREATE TABLE without AS SELECT must be CREATE EXTERNAL TABLE for Hive tables "
                   "(Iceberg tables are not supported locally)")
    if not location:
        raise _err("SYNTAX_ERROR", "CREATE EXTERNAL TABLE needs LOCATION 's3://bucket/prefix/'")
    if fmt not in ("PARQUET", "TEXTFILE", "JSON"):
        raise _err("NOT_SUPPORTED", f"STORED AS {fmt} is not supported locally; use PARQUET or TEXTFILE")
    if serde and "json" in serde.lower():
        fmt = "JSON"
    if fmt == "TEXTFILE" and not serde:
        serde = LAZY_SERDE
        serde_params = serde_params or {"field.delim": "\x01", "serialization.format": "\x01"}
    if fmt == "PARQUET" and serde == LAZY_SERDE:
        serde = None
    sd = _storage(fmt, location, columns, serde, serde_params, inp, outp)
    params.setdefault("classification", _classification(sd))
    if engine.get_table(db, name) is not None:
        if ast.args.get("exists"):
            return _empty(engine, "CREATE_TABLE")
        raise _err("ALREADY_EXISTS", f"Table {db}.{name} already exists. Use CREATE EXTERNAL TABLE IF NOT EXISTS or DROP it first.")
    ti: dict[str, Any] = {"Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd,
                          "PartitionKeys": partition_keys, "Parameters": params}
    if comment:
        ti["Description"] = comment
    engine.glue.create_table(DatabaseName=db, TableInput=ti)
    return _empty(engine, "CREATE_TABLE")


def _select_of(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Subquery) and not e.args.get("alias"):
        e = e.this
    return e


def _ctas(engine: QueryEngine, q: _Query, ast: exp.Create, database: str, output_location: str | None) -> QueryResult:
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
            props[key.lower()] = _prop_value(p)
    fmt = str(props.get("format", "PARQUET")).upper()
    if fmt != "PARQUET":
        raise _err("NOT_SUPPORTED", f"CTAS format '{fmt}' is not supported locally; use format = 'PARQUET'")
    if props.get("bucketed_by"):
        raise _err("NOT_SUPPORTED", "CTAS bucketed_by/bucket_count is not supported locally")
    if not engine.database_exists(db):
        raise _err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
    if engine.get_table(db, name) is not None:
        if ast.args.get("exists"):
            return _empty(engine, "CREATE_TABLE_AS_SELECT")
        raise _err("ALREADY_EXISTS", f"Table '{'awsdatacatalog'}.{db}.{name}' already exists. Drop it or choose another name.")
    location = props.get("external_location")
    if not location:
        if not output_location:
            raise _err("GENERIC_USER_ERROR", "CTAS needs external_location in WITH (...) or a query output location")
        location = f"{output_location.rstrip('/')}/tables/{uuid.uuid4()}/"
    location = location if location.endswith("/") else location + "/"
    if list_files(engine.s3, location):
        raise _err("HIVE_PATH_ALREADY_EXISTS",
                   f"Target directory for table '{db}.{name}' already exists: {location}. "
                   "You may need to manually clean the data at location before retrying.")
    tbl = engine.run_select(q, _select_of(ast.expression), database)
    tbl = _normalize_for_write(tbl)
    if no_data:
        tbl = tbl.slice(0, 0)
    pcols = props.get("partitioned_by") or []
    missing = [c for c in pcols if c not in tbl.column_names]
    if missing:
        raise _err("COLUMN_NOT_FOUND", f"Partition column(s) {missing} are not in the query's output columns {tbl.column_names}")
    if pcols and tbl.column_names[-len(pcols):] != pcols:
        raise _err("GENERIC_USER_ERROR", f"Partition columns {pcols} must be the last columns of the SELECT, in the same order")
    compression = str(props.get("write_compression") or props.get("parquet_compression") or "SNAPPY").upper()
    written, parts = write_parquet(engine._s3fs, tbl, location, pcols, compression) if tbl.num_rows else ([], [])
    data_cols = [{"Name": f.name, "Type": arrow_to_hive(f.type)} for f in tbl.schema if f.name not in pcols]
    keys = [{"Name": c, "Type": arrow_to_hive(tbl.schema.field(c).type)} for c in pcols]
    sd = _storage("PARQUET", location, data_cols)
    params = {"EXTERNAL": "TRUE", "classification": "parquet", "has_encrypted_data": "false",
              "parquet.compression": compression}
    engine.glue.create_table(DatabaseName=db, TableInput={
        "Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd, "PartitionKeys": keys,
        "Parameters": params})
    _add_partitions(engine, db, name, sd, keys, parts, location)
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


def _add_partitions(engine: QueryEngine, db: str, name: str, sd: dict, keys: list[dict],
                    parts: list[dict[str, str]], location: str) -> int:
    """Create missing Glue partitions for written key=value folders; returns how many were added."""
    if not keys or not parts:
        return 0
    existing = {tuple(p["Values"]) for p in engine.get_partitions(db, name)}
    inputs = []
    for vals in parts:
        values = [vals[k["Name"]] for k in keys]
        if tuple(values) in existing:
            continue
        existing.add(tuple(values))
        rel = "/".join(f"{k['Name']}={v}" for k, v in zip(keys, values))
        psd = {**sd, "Location": f"{location.rstrip('/')}/{rel}/"}
        inputs.append({"Values": values, "StorageDescriptor": psd})
    for i in range(0, len(inputs), 100):
        engine.glue.batch_create_partition(DatabaseName=db, TableName=name, PartitionInputList=inputs[i:i + 100])
    return len(inputs)


def insert(engine: QueryEngine, q: _Query, ast: exp.Insert, text: str, database: str) -> QueryResult:
    target = ast.this
    cols_given = None
    if isinstance(target, exp.Schema):
        cols_given = [c.name.lower() for c in target.expressions]
        target = target.this
    db = (target.db or database).lower()
    name = target.name.lower()
    table = engine.get_table_for_query(target, db, name)
    if table.get("TableType") == "VIRTUAL_VIEW":
        raise _err("NOT_SUPPORTED", f"Inserting into view {db}.{name} is not supported")
    fmt = table_format(table)
    if fmt.kind == "json":
        raise _err("NOT_SUPPORTED", "INSERT INTO a JSON table is not supported locally; use Parquet or text tables")
    data_schema, keys = glue_schema(table)
    target_fields = list(data_schema) + [pa.field(k, t) for k, t in keys]
    tbl = engine.run_select(q, _select_of(ast.expression), database)
    names = cols_given or [f.name for f in target_fields]
    if tbl.num_columns != len(names):
        raise _err("TYPE_MISMATCH", f"Insert query has {tbl.num_columns} columns, table {db}.{name} expects {len(names)}: {names}")
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
                raise _err("TYPE_MISMATCH", f"Insert query column for '{f.name}' cannot be cast to {f.type}: {ex}") from None
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
    _add_partitions(engine, db, name, table["StorageDescriptor"], key_dicts, parts, location)
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


# ----------------------------------------------------------------------------- partitions


def _msck(engine: QueryEngine, db: str, name: str) -> QueryResult:
    table = _require_table(engine, db, name)
    keys = [k["Name"] for k in table.get("PartitionKeys", [])]
    location = table["StorageDescriptor"]["Location"]
    if not keys:
        return _lines_result(engine, "DDL", "MSCK_REPAIR_TABLE", "result", [])
    _, prefix = split_s3(location)
    prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"
    found: list[dict[str, str]] = []
    seen = set()
    for path, *_ in list_files(engine.s3, location):
        rel = path.split("/", 1)[1][len(prefix):]
        dirs = rel.split("/")[:-1]
        if len(dirs) < len(keys):
            continue
        vals = {}
        for k, d in zip(keys, dirs):
            if "=" not in d or d.split("=", 1)[0].lower() != k.lower():
                break
            vals[k] = d.split("=", 1)[1]
        else:
            tup = tuple(vals[k] for k in keys)
            if tup not in seen:
                seen.add(tup)
                found.append(vals)
    before = {tuple(p["Values"]) for p in engine.get_partitions(db, name)}
    new = [v for v in found if tuple(v[k] for k in keys) not in before]
    key_dicts = [{"Name": k, "Type": "string"} for k in keys]
    _add_partitions(engine, db, name, table["StorageDescriptor"], key_dicts, new, location)
    lines = []
    for v in new:
        lines.append(f"Partitions not in metastore:\t{name}:" + "/".join(f"{k}={v[k]}" for k in keys))
    for v in new:
        lines.append(f"Repair: Added partition to metastore {name}:" + "/".join(f"{k}={v[k]}" for k in keys))
    return _lines_result(engine, "DDL", "MSCK_REPAIR_TABLE", "result", lines)


def _alter_partitions(engine: QueryEngine, db: str, name: str, action: str, if_flag: bool, rest: str) -> QueryResult:
    table = _require_table(engine, db, name)
    keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
    if not keys:
        raise _err("NOT_SUPPORTED", f"Table {db}.{name} is not partitioned")
    specs = re.findall(r"PARTITION\s*\(([^)]*)\)(?:\s*LOCATION\s*'([^']*)')?", rest, re.IGNORECASE)
    if not specs:
        raise AthenaQueryError(USER_ERROR, "SYNTAX_ERROR", "line 1:1: expected PARTITION (key=value, ...)")
    existing = {tuple(p["Values"]) for p in engine.get_partitions(db, name)}
    location = table["StorageDescriptor"]["Location"]
    for spec, loc in specs:
        vals: dict[str, str] = {}
        for k, v in re.findall(r"([\w`\"]+)\s*=\s*('(?:[^']|'')*'|[^,\s]+)", spec):
            v = v[1:-1].replace("''", "'") if v.startswith("'") else v
            vals[k.strip('`"').lower()] = v
        if set(vals) - set(keys):
            raise _err("COLUMN_NOT_FOUND", f"Partition key(s) {sorted(set(vals) - set(keys))} not in table {db}.{name} (keys: {keys})")
        values = [vals.get(k) for k in keys]
        if action == "ADD":
            if None in values:
                raise _err("GENERIC_USER_ERROR", f"ADD PARTITION must give every key {keys}; got {vals}")
            if tuple(values) in existing:
                if if_flag:
                    continue
                raise _err("ALREADY_EXISTS", f"Partition already exists: {vals}. Use ADD IF NOT EXISTS.")
            rel = "/".join(f"{k}={v}" for k, v in zip(keys, values))
            psd = {**table["StorageDescriptor"], "Location": loc or f"{location.rstrip('/')}/{rel}/"}
            engine.glue.create_partition(DatabaseName=db, TableName=name,
                                         PartitionInput={"Values": values, "StorageDescriptor": psd})
            existing.add(tuple(values))
        else:
            matches = [p for p in existing if all(vals.get(k) is None or str(p[i]) == vals[k] for i, k in enumerate(keys))]
            if not matches:
                if if_flag:
                    continue
                raise _err("PARTITION_NOT_FOUND", f"No partition {vals} in {db}.{name}. Use DROP IF EXISTS.")
            for p in matches:
                engine.glue.delete_partition(DatabaseName=db, TableName=name, PartitionValues=list(p))
                existing.discard(p)
    return _empty(engine, "ALTER_TABLE_ADD_PARTITION" if action == "ADD" else "ALTER_TABLE_DROP_PARTITION")


# ----------------------------------------------------------------------------- describe / show create


def _visible_columns(engine: QueryEngine, q: _Query, db: str, name: str, table: dict) -> list[dict]:
    cols = list(table.get("StorageDescriptor", {}).get("Columns", [])) + list(table.get("PartitionKeys", []))
    ta = engine._check_access(q, db, name)
    if ta is not None and ta.columns is not None:
        allowed = {c.lower() for c in ta.columns}
        cols = [c for c in cols if c["Name"].lower() in allowed]
    return cols


def _describe(engine: QueryEngine, q: _Query, db: str, name: str) -> QueryResult:
    table = _require_table(engine, db, name)
    visible = {c["Name"] for c in _visible_columns(engine, q, db, name, table)}
    data = [c for c in table.get("StorageDescriptor", {}).get("Columns", []) if c["Name"] in visible]
    keys = [c for c in table.get("PartitionKeys", []) if c["Name"] in visible]

    def line(c: dict) -> str:
        return f"{c['Name']:<20}\t{c['Type']:<20}\t{c.get('Comment', '')}"

    lines = [line(c) for c in data + keys]
    if keys:
        lines += ["", "# Partition Information", f"{'# col_name':<20}\t{'data_type':<20}\tcomment", ""]
        lines += [line(c) for c in keys]
    return _lines_result(engine, "DDL", "DESCRIBE_TABLE", "col_name", lines)


def describe_table(engine: QueryEngine, q: _Query, t: exp.Expression, database: str) -> QueryResult:
    if not isinstance(t, exp.Table):
        raise _err("NOT_SUPPORTED", "DESCRIBE needs a table name")
    return _describe(engine, q, (t.db or database).lower(), t.name.lower())


def _show_create(table: dict, db: str) -> str:
    name = table["Name"]
    if table.get("TableType") == "VIRTUAL_VIEW":
        return f'CREATE VIEW "{db}"."{name}" AS\n{view_original_sql(table)}'
    sd = table.get("StorageDescriptor", {})
    cols = ",\n".join(f"  `{c['Name']}` {c['Type']}" for c in sd.get("Columns", []))
    out = [f"CREATE EXTERNAL TABLE `{db}`.`{name}`(", cols, ")"]
    keys = table.get("PartitionKeys", [])
    if keys:
        out += ["PARTITIONED BY ( ", ", \n".join(f"  `{k['Name']}` {k['Type']}" for k in keys), ")"]
    serde = sd.get("SerdeInfo", {})
    out += ["ROW FORMAT SERDE ", f"  '{serde.get('SerializationLibrary', '')}' "]
    sp = serde.get("Parameters", {}) or {}
    if sp:
        out += ["WITH SERDEPROPERTIES ( ",
                ", \n".join(f"  '{k}'='{v}'" for k, v in sp.items()), ") "]
    out += ["STORED AS INPUTFORMAT ", f"  '{sd.get('InputFormat', '')}' ", "OUTPUTFORMAT ",
            f"  '{sd.get('OutputFormat', '')}'", "LOCATION", f"  '{sd.get('Location', '')}'"]
    params = {k: v for k, v in (table.get("Parameters") or {}).items() if k != "EXTERNAL"}
    if params:
        out += ["TBLPROPERTIES (", ", \n".join(f"  '{k}'='{v}'" for k, v in params.items()) + ")"]
    return "\n".join(out)


# ----------------------------------------------------------------------------- views


def _trino_type(t: pa.DataType) -> str:
    from ._types import arrow_to_athena

    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array({_trino_type(t.value_type)})"
    if pa.types.is_map(t):
        return f"map({_trino_type(t.key_type)}, {_trino_type(t.item_type)})"
    if pa.types.is_struct(t):
        return "row(" + ", ".join(f"{f.name} {_trino_type(f.type)}" for f in t) + ")"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp(3)"
    return arrow_to_athena(t)


def _create_view(engine: QueryEngine, q: _Query, ast: exp.Create, text: str, database: str) -> QueryResult:
    t = ast.this
    db = (t.db or database).lower()
    name = t.name.lower()
    if not engine.database_exists(db):
        raise _err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
    m = re.search(r"\bAS\b\s*(.*)$", text, re.IGNORECASE | re.DOTALL)
    original_sql = m.group(1).strip() if m else ast.expression.sql("trino")
    existing = engine.get_table(db, name)
    if existing is not None and not ast.args.get("replace"):
        raise _err("ALREADY_EXISTS", f"View '{'awsdatacatalog'}.{db}.{name}' already exists. Use CREATE OR REPLACE VIEW.")
    if existing is not None and existing.get("TableType") != "VIRTUAL_VIEW":
        raise _err("ALREADY_EXISTS", f"{db}.{name} is a table, not a view: drop it first")
    # Result schema: run the query with no rows (reads only footers/metadata).
    probe = exp.select("*").from_(exp.Subquery(this=ast.expression.copy(), alias=exp.TableAlias(this=exp.to_identifier("__lk_probe")))).limit(0)
    schema_tbl = engine.run_select(q, probe, db)
    names = [n.lower() for n in schema_tbl.column_names]
    columns = [{"name": n, "type": _trino_type(f.type)} for n, f in zip(names, schema_tbl.schema)]
    payload = {"originalSql": original_sql, "catalog": "awsdatacatalog", "schema": db, "columns": columns,
               "owner": "arn:aws:iam::123456789012:root", "runAsInvoker": False, "properties": {}}
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    ti = {
        "Name": name,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": f"/* Presto View: {encoded} */",
        "ViewExpandedText": "/* Presto View */",
        "PartitionKeys": [],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": arrow_to_hive(f.type)} for n, f in zip(names, schema_tbl.schema)],
            "Location": "", "InputFormat": "", "OutputFormat": "", "Compressed": False, "NumberOfBuckets": 0,
            "SerdeInfo": {}, "BucketColumns": [], "SortColumns": [], "StoredAsSubDirectories": False,
        },
    }
    if existing is not None:
        engine.glue.update_table(DatabaseName=db, TableInput=ti)
    else:
        engine.glue.create_table(DatabaseName=db, TableInput=ti)
    return _empty(engine, "CREATE_VIEW")


def _view_payload(table: dict) -> dict:
    text = table.get("ViewOriginalText") or ""
    m = re.search(r"/\*\s*Presto View:\s*([A-Za-z0-9+/=]+)\s*\*/", text)
    if not m:
        # a Hive view: the text is the SQL itself
        return {"originalSql": text, "schema": None}
    return json.loads(base64.b64decode(m.group(1)))


def view_original_sql(table: dict) -> str:
    return _view_payload(table).get("originalSql", "")


def view_schema(table: dict) -> str | None:
    return _view_payload(table).get("schema")


def view_query(table: dict) -> exp.Expression:
    """The parsed query of a Glue VIRTUAL_VIEW (Presto view JSON or Hive view text)."""
    sql = view_original_sql(table)
    try:
        return sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError as ex:
        raise _err("INVALID_VIEW", f"View '{table.get('Name')}' is stale or invalid: {ex}") from None
