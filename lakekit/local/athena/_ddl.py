"""DDL and utility statements of the local Athena engine, written to/read from the Glue catalog."""
from __future__ import annotations

import base64
import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from . import _bucketing
from ._ctas import ctas, insert
from ._ddlbase import (
    LAZY_SERDE,
    NAME,
    add_partitions,
    classification,
    empty,
    err,
    like,
    lines_result,
    prop_value,
    require_table,
    split_name,
    storage,
)
from ._errors import USER_ERROR, AthenaQueryError
from ._io import list_files, split_s3
from ._types import arrow_to_hive, hive_to_arrow

if TYPE_CHECKING:
    from .engine import QueryEngine, QueryResult, _Query

__all__ = ["dispatch_text", "create", "insert", "describe_table", "drop", "view_query", "view_schema"]



# ----------------------------------------------------------------------------- text statements


def dispatch_text(engine: QueryEngine, q: _Query, text: str, database: str) -> QueryResult | None:
    """Statements sqlglot parses only as opaque commands (SHOW, MSCK, ALTER ... PARTITION, DATABASE DDL)."""
    flags = re.IGNORECASE | re.DOTALL
    m = re.match(r"SHOW\s+(DATABASES|SCHEMAS)(?:\s+LIKE)?(?:\s+'([^']*)')?$", text, flags)
    if m:
        names = []
        for page in engine.glue.get_paginator("get_databases").paginate():
            names += [d["Name"] for d in page["DatabaseList"]]
        return lines_result(engine, "DDL", "SHOW_DATABASES", "database_name",
                             sorted(n for n in names if like(m.group(2), n)))
    m = re.match(rf"SHOW\s+(TABLES|VIEWS)(?:\s+(?:IN|FROM)\s+{NAME})?(?:\s+(?:LIKE\s+)?'([^']*)')?$", text, flags)
    if m:
        db = m.group(2).strip('`"').lower() if m.group(2) else database
        if not engine.database_exists(db):
            raise err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
        names = []
        for page in engine.glue.get_paginator("get_tables").paginate(DatabaseName=db):
            for t in page["TableList"]:
                is_view = t.get("TableType") == "VIRTUAL_VIEW"
                if m.group(1).upper() == "VIEWS" and not is_view:
                    continue
                names.append(t["Name"])
        sub = "SHOW_TABLES" if m.group(1).upper() == "TABLES" else "SHOW_VIEWS"
        col = "tab_name" if sub == "SHOW_TABLES" else "views"
        return lines_result(engine, "DDL", sub, col, sorted(n for n in names if like(m.group(3), n)))
    m = re.match(rf"SHOW\s+PARTITIONS\s+{NAME}$", text, flags)
    if m:
        db, name = split_name(m.group(1), database)
        table = require_table(engine, db, name)
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        if not keys:
            raise err("NOT_SUPPORTED", f"Table {db}.{name} is not partitioned")
        lines = sorted(
            "/".join(f"{k}={v}" for k, v in zip(keys, p["Values"])) for p in engine.get_partitions(db, name)
        )
        return lines_result(engine, "DDL", "SHOW_PARTITIONS", "partition", lines)
    m = re.match(rf"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{NAME}(?:\s+(?:IN|FROM)\s+{NAME})?$", text, flags)
    if m:
        db, name = split_name(m.group(1), m.group(2).strip('`"').lower() if m.group(2) else database)
        table = require_table(engine, db, name)
        cols = [c["Name"] for c in _visible_columns(engine, q, db, name, table)]
        return lines_result(engine, "DDL", "SHOW_COLUMNS", "field", cols)
    m = re.match(rf"SHOW\s+CREATE\s+(TABLE|VIEW)\s+{NAME}$", text, flags)
    if m:
        db, name = split_name(m.group(2), database)
        table = require_table(engine, db, name)
        stmt = _show_create(table, db)
        return lines_result(engine, "DDL", "SHOW_CREATE_TABLE", "createtab_stmt", stmt.split("\n"))
    m = re.match(rf"SHOW\s+TBLPROPERTIES\s+{NAME}$", text, flags)
    if m:
        db, name = split_name(m.group(1), database)
        table = require_table(engine, db, name)
        props = table.get("Parameters", {}) or {}
        return engine._result("DDL", "SHOW_TBLPROPERTIES", pa.table({
            "prpt_name": pa.array(list(props), pa.string()), "prpt_value": pa.array(list(props.values()), pa.string())
        }), header=False)
    m = re.match(rf"(?:DESCRIBE|DESC)(?:\s+(?:FORMATTED|EXTENDED))?\s+{NAME}$", text, flags)
    if m:
        db, name = split_name(m.group(1), database)
        return _describe(engine, q, db, name)
    m = re.match(rf"MSCK\s+REPAIR\s+TABLE\s+{NAME}$", text, flags)
    if m:
        db, name = split_name(m.group(1), database)
        return _msck(engine, db, name)
    m = re.match(rf"ALTER\s+TABLE\s+{NAME}\s+(ADD|DROP)\s+(IF\s+(?:NOT\s+)?EXISTS\s+)?(PARTITION.*)$", text, flags)
    if m:
        db, name = split_name(m.group(1), database)
        return _alter_partitions(engine, db, name, m.group(2).upper(), bool(m.group(3)), m.group(4))
    m = re.match(
        rf"CREATE\s+(?:DATABASE|SCHEMA)\s+(IF\s+NOT\s+EXISTS\s+)?{NAME}(?:\s+COMMENT\s+'([^']*)')?"
        rf"(?:\s+LOCATION\s+'([^']*)')?(?:\s+WITH\s+DBPROPERTIES\s*\((.*)\))?$", text, flags)
    if m:
        return _create_database(engine, m.group(2).strip('`"').lower(), bool(m.group(1)), m.group(3), m.group(4),
                                _kv_props(m.group(5) or ""))
    m = re.match(rf"DROP\s+(?:DATABASE|SCHEMA)\s+(IF\s+EXISTS\s+)?{NAME}(\s+CASCADE|\s+RESTRICT)?$", text, flags)
    if m:
        return _drop_database(engine, m.group(2).strip('`"').lower(), bool(m.group(1)),
                              (m.group(3) or "").strip().upper() == "CASCADE")
    m = re.match(rf"DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?{NAME}$", text, flags)
    if m:
        db, name = split_name(m.group(3), database)
        return _drop_table(engine, db, name, bool(m.group(2)), m.group(1).upper())
    if re.match(r"SHOW\b", text, flags):
        raise err("NOT_SUPPORTED", f"'{text[:60]}' is not supported locally; supported: SHOW DATABASES|SCHEMAS, "
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
            return empty(engine, "CREATE_DATABASE")
        raise err("ALREADY_EXISTS", f"Database {name} already exists. Use CREATE DATABASE IF NOT EXISTS to ignore.")
    di: dict[str, Any] = {"Name": name}
    if comment:
        di["Description"] = comment
    if location:
        di["LocationUri"] = location
    if props:
        di["Parameters"] = props
    engine.glue.create_database(DatabaseInput=di)
    return empty(engine, "CREATE_DATABASE")


def _drop_database(engine: QueryEngine, name: str, if_exists: bool, cascade: bool) -> QueryResult:
    if not engine.database_exists(name):
        if if_exists:
            return empty(engine, "DROP_DATABASE")
        raise err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{name}' does not exist")
    tables = []
    for page in engine.glue.get_paginator("get_tables").paginate(DatabaseName=name):
        tables += [t["Name"] for t in page["TableList"]]
    if tables and not cascade:
        raise err("SCHEMA_NOT_EMPTY", f"Database {name} is not empty ({len(tables)} tables). "
                   "Drop its tables first or use DROP DATABASE ... CASCADE.")
    for t in tables:
        engine.glue.delete_table(DatabaseName=name, Name=t)
    engine.glue.delete_database(Name=name)
    return empty(engine, "DROP_DATABASE")


# ----------------------------------------------------------------------------- tables


def _drop_table(engine: QueryEngine, db: str, name: str, if_exists: bool, kind: str) -> QueryResult:
    table = engine.get_table(db, name) if engine.database_exists(db) else None
    if table is None:
        if if_exists:
            return empty(engine, f"DROP_{kind}")
        if kind == "VIEW":
            raise err("TABLE_NOT_FOUND", f"line 1:1: View '{'awsdatacatalog'}.{db}.{name}' does not exist")
        raise err("TABLE_NOT_FOUND", f"Table not found {db}.{name}. Check the name or use DROP TABLE IF EXISTS.")
    if kind == "VIEW" and table.get("TableType") != "VIRTUAL_VIEW":
        raise err("NOT_SUPPORTED", f"{db}.{name} is a table, not a view: use DROP TABLE")
    engine.glue.delete_table(DatabaseName=db, Name=name)
    return empty(engine, f"DROP_{kind}")


def drop(engine: QueryEngine, q: _Query, ast: exp.Drop, database: str) -> QueryResult:
    kind = (ast.args.get("kind") or "TABLE").upper()
    t = ast.this
    if kind in ("DATABASE", "SCHEMA"):
        return _drop_database(engine, t.name.lower(), bool(ast.args.get("exists")), bool(ast.args.get("cascade")))
    db = (t.db or database).lower()
    return _drop_table(engine, db, t.name.lower(), bool(ast.args.get("exists")), "VIEW" if kind == "VIEW" else "TABLE")


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
        return ctas(engine, q, ast, database, output_location)
    if kind == "TABLE" and isinstance(ast.this, exp.Schema):
        return _create_external(engine, ast, database)
    raise err("NOT_SUPPORTED", f"CREATE {kind} is not supported locally")


def _create_external(engine: QueryEngine, ast: exp.Create, database: str) -> QueryResult:
    schema = ast.this
    t = schema.this
    db = (t.db or database).lower()
    name = t.name.lower()
    if not engine.database_exists(db):
        raise err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
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
    clustered = None
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
        elif isinstance(p, exp.ClusteredByProperty):
            clustered = p
        elif type(p) is exp.Property:
            params[p.this.name if isinstance(p.this, exp.Literal) else p.name] = str(prop_value(p))
    if not external:
        raise err("NOT_SUPPORTED", "CREATE TABLE without AS SELECT must be CREATE EXTERNAL TABLE for Hive tables "
                   "(Iceberg tables are not supported locally)")
    if not location:
        raise err("SYNTAX_ERROR", "CREATE EXTERNAL TABLE needs LOCATION 's3://bucket/prefix/'")
    if fmt not in ("PARQUET", "TEXTFILE", "JSON"):
        raise err("NOT_SUPPORTED", f"STORED AS {fmt} is not supported locally; use PARQUET or TEXTFILE")
    if serde and "json" in serde.lower():
        fmt = "JSON"
    if fmt == "TEXTFILE" and not serde:
        serde = LAZY_SERDE
        serde_params = serde_params or {"field.delim": "\x01", "serialization.format": "\x01"}
    if fmt == "PARQUET" and serde == LAZY_SERDE:
        serde = None
    sd = storage(fmt, location, columns, serde, serde_params, inp, outp)
    if clustered is not None:
        _bucketing.clustered_by(clustered, columns, partition_keys, params).apply(sd)
    params.setdefault("classification", classification(sd))
    if engine.get_table(db, name) is not None:
        if ast.args.get("exists"):
            return empty(engine, "CREATE_TABLE")
        raise err("ALREADY_EXISTS", f"Table {db}.{name} already exists. Use CREATE EXTERNAL TABLE IF NOT EXISTS or DROP it first.")
    ti: dict[str, Any] = {"Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd,
                          "PartitionKeys": partition_keys, "Parameters": params}
    if comment:
        ti["Description"] = comment
    engine.glue.create_table(DatabaseName=db, TableInput=ti)
    return empty(engine, "CREATE_TABLE")


# ----------------------------------------------------------------------------- partitions


def _msck(engine: QueryEngine, db: str, name: str) -> QueryResult:
    table = require_table(engine, db, name)
    keys = [k["Name"] for k in table.get("PartitionKeys", [])]
    location = table["StorageDescriptor"]["Location"]
    if not keys:
        return lines_result(engine, "DDL", "MSCK_REPAIR_TABLE", "result", [])
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
    add_partitions(engine, db, name, table["StorageDescriptor"], key_dicts, new, location)
    lines = []
    for v in new:
        lines.append(f"Partitions not in metastore:\t{name}:" + "/".join(f"{k}={v[k]}" for k in keys))
    for v in new:
        lines.append(f"Repair: Added partition to metastore {name}:" + "/".join(f"{k}={v[k]}" for k in keys))
    return lines_result(engine, "DDL", "MSCK_REPAIR_TABLE", "result", lines)


def _alter_partitions(engine: QueryEngine, db: str, name: str, action: str, if_flag: bool, rest: str) -> QueryResult:
    table = require_table(engine, db, name)
    keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
    if not keys:
        raise err("NOT_SUPPORTED", f"Table {db}.{name} is not partitioned")
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
            raise err("COLUMN_NOT_FOUND", f"Partition key(s) {sorted(set(vals) - set(keys))} not in table {db}.{name} (keys: {keys})")
        values = [vals.get(k) for k in keys]
        if action == "ADD":
            if None in values:
                raise err("GENERIC_USER_ERROR", f"ADD PARTITION must give every key {keys}; got {vals}")
            if tuple(values) in existing:
                if if_flag:
                    continue
                raise err("ALREADY_EXISTS", f"Partition already exists: {vals}. Use ADD IF NOT EXISTS.")
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
                raise err("PARTITION_NOT_FOUND", f"No partition {vals} in {db}.{name}. Use DROP IF EXISTS.")
            for p in matches:
                engine.glue.delete_partition(DatabaseName=db, TableName=name, PartitionValues=list(p))
                existing.discard(p)
    return empty(engine, "ALTER_TABLE_ADD_PARTITION" if action == "ADD" else "ALTER_TABLE_DROP_PARTITION")


# ----------------------------------------------------------------------------- describe / show create


def _visible_columns(engine: QueryEngine, q: _Query, db: str, name: str, table: dict) -> list[dict]:
    cols = list(table.get("StorageDescriptor", {}).get("Columns", [])) + list(table.get("PartitionKeys", []))
    ta = engine._check_access(q, db, name)
    if ta is not None and ta.columns is not None:
        allowed = {c.lower() for c in ta.columns}
        cols = [c for c in cols if c["Name"].lower() in allowed]
    return cols


def _describe(engine: QueryEngine, q: _Query, db: str, name: str) -> QueryResult:
    table = require_table(engine, db, name)
    visible = {c["Name"] for c in _visible_columns(engine, q, db, name, table)}
    data = [c for c in table.get("StorageDescriptor", {}).get("Columns", []) if c["Name"] in visible]
    keys = [c for c in table.get("PartitionKeys", []) if c["Name"] in visible]

    def line(c: dict) -> str:
        return f"{c['Name']:<20}\t{c['Type']:<20}\t{c.get('Comment', '')}"

    lines = [line(c) for c in data + keys]
    if keys:
        lines += ["", "# Partition Information", f"{'# col_name':<20}\t{'data_type':<20}\tcomment", ""]
        lines += [line(c) for c in keys]
    res = lines_result(engine, "DDL", "DESCRIBE_TABLE", "col_name", lines)
    # Athena describes three columns (clients read the tab-separated .txt by these names:
    # awswrangler's describe_table), each line holding the three values
    res.columns = [dataclasses.replace(res.columns[0], name=n) for n in ("col_name", "data_type", "comment")]
    return res


def describe_table(engine: QueryEngine, q: _Query, t: exp.Expression, database: str) -> QueryResult:
    if not isinstance(t, exp.Table):
        raise err("NOT_SUPPORTED", "DESCRIBE needs a table name")
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
    buckets = int(sd.get("NumberOfBuckets") or 0)
    if sd.get("BucketColumns") and buckets > 0:  # Hive's ShowCreateTable layout
        out += ["CLUSTERED BY ( ", "  " + ", \n  ".join(sd["BucketColumns"]) + ") ", f"INTO {buckets} BUCKETS"]
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
        raise err("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{db}' does not exist")
    m = re.search(r"\bAS\b\s*(.*)$", text, re.IGNORECASE | re.DOTALL)
    original_sql = m.group(1).strip() if m else ast.expression.sql("trino")
    existing = engine.get_table(db, name)
    if existing is not None and not ast.args.get("replace"):
        raise err("ALREADY_EXISTS", f"View '{'awsdatacatalog'}.{db}.{name}' already exists. Use CREATE OR REPLACE VIEW.")
    if existing is not None and existing.get("TableType") != "VIRTUAL_VIEW":
        raise err("ALREADY_EXISTS", f"{db}.{name} is a table, not a view: drop it first")
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
    return empty(engine, "CREATE_VIEW")


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
        raise err("INVALID_VIEW", f"View '{table.get('Name')}' is stale or invalid: {ex}") from None
