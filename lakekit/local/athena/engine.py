"""Local Athena engine: Athena/Trino SQL over the Glue Data Catalog, executed in DuckDB.

A pure library (no HTTP): the gateway's StartQueryExecution calls :meth:`QueryEngine.execute`
on a worker thread, then writes :func:`write_results_csv` to the output location.

Example::

    engine = QueryEngine(glue, s3, "http://127.0.0.1:5000", "us-east-1")
    res = engine.execute("SELECT carrier, count(*) n FROM flights GROUP BY 1", database="lake")
    res.arrow.to_pandas(); res.data_scanned_bytes; [c.type for c in res.columns]
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import sqlglot
from botocore.exceptions import ClientError
from sqlglot import exp

from . import _bucketing, _ddl, _trinofuncs, _typecheck, _unload
from . import _requests as _rq
from ._errors import USER_ERROR, AccessDeniedError, AthenaQueryError
from ._io import ByteCounter, CountingFS, TableReader, _CutoffExceeded, glue_schema, partition_value
from ._native import NativeScan, ParquetMirror, columns_read
from ._pushdown import glue_expression as _glue_expression
from ._requests import strip_comments
from ._results import format_value, write_results_csv, write_results_text
from ._trinosyntax import refuse_unsupported_syntax
from ._types import arrow_to_athena, athena_precision_scale

__all__ = [
    "QueryEngine",
    "QueryResult",
    "Cancellation",
    "ColumnInfo",
    "TableAccess",
    "AthenaQueryError",
    "AccessDeniedError",
    "write_results_csv",
    "write_results_text",
    "format_value",
    "CUTOFF_MESSAGE",
]

DEFAULT_CATALOG = "awsdatacatalog"
CUTOFF_MESSAGE = "Query cancelled! : Bytes scanned limit was exceeded"


@dataclass
class ColumnInfo:
    """One result column as Athena's ``ResultSetMetadata.ColumnInfo`` describes it."""

    name: str
    type: str
    precision: int = 0
    scale: int = 0
    nullable: str = "UNKNOWN"
    case_sensitive: bool = False

    def to_athena(self) -> dict[str, Any]:
        """The ``ColumnInfo`` dict GetQueryResults returns."""
        return {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": self.name,
            "Label": self.name,
            "Type": self.type,
            "Precision": self.precision,
            "Scale": self.scale,
            "Nullable": self.nullable,
            "CaseSensitive": self.case_sensitive,
        }


@dataclass
class QueryResult:
    """Outcome of one statement.

    ``statement_type``: DML | DDL | UTILITY (Athena's StatementType); ``substatement_type``:
    SELECT, CREATE_TABLE_AS_SELECT, INSERT, CREATE_TABLE, SHOW_TABLES...; ``arrow``: the rows;
    ``data_scanned_bytes``: bytes read from S3 (measured); ``update_count``: rows written by
    CTAS/INSERT; ``written_files``: s3:// paths written by CTAS/INSERT (the gateway writes them to
    ``<qid>-manifest.csv`` and sets ``Statistics.DataManifestLocation`` — awswrangler's
    ``ctas_approach=True`` reads the result from that manifest).
    ``header_row``: whether GetQueryResults/CSV start with a header row (SELECT-like results);
    DDL/UTILITY results are written as a ``.txt`` without header by Athena.
    """

    statement_type: str
    columns: list[ColumnInfo]
    arrow: pa.Table
    data_scanned_bytes: int = 0
    update_count: int | None = None
    substatement_type: str = "SELECT"
    written_files: list[str] = field(default_factory=list)
    engine_ms: int = 0
    header_row: bool = True
    tables: list[tuple[str, str]] = field(default_factory=list)  # (database, table) the statement read

    def rows(self) -> list[list[str | None]]:
        """Rows formatted as Athena's VarCharValue strings (None for NULL)."""
        cols = [c.to_pylist() for c in self.arrow.columns]
        return [[format_value(col[i]) for col in cols] for i in range(self.arrow.num_rows)]


@dataclass
class TableAccess:
    """What an access hook (Lake Formation) lets the caller see of one table.

    ``columns``: visible column names (None = all); ``row_filter``: a Trino/PartiQL-ish predicate
    applied before anything in the user's query (None = all rows).
    """

    columns: set[str] | None = None
    row_filter: str | None = None


AccessHook = Callable[[str, str], "TableAccess | None"]

CANCELLED_MESSAGE = "Query cancelled by user (StopQueryExecution)"


class Cancellation:
    """Lets another thread stop a running :meth:`QueryEngine.execute` (StopQueryExecution).

    ``token.cancel()`` interrupts the query's DuckDB connection; ``execute`` then raises
    :class:`AthenaQueryError` with ``state="CANCELLED"``. Example::

        token = Cancellation()
        threading.Thread(target=engine.execute, args=(sql,), kwargs={"cancel": token}).start()
        token.cancel()
    """

    def __init__(self) -> None:
        self.cancelled = False
        self._cons: list[Any] = []
        self._lock = threading.Lock()

    def cancel(self, deadline: float = 60.0) -> None:
        """Interrupt now, and again every 50 ms while the query runs (an interrupt that lands
        between two DuckDB statements is lost), for at most ``deadline`` seconds."""
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
        self._interrupt()
        threading.Thread(target=self._keep_interrupting, args=(time.monotonic() + deadline,),
                         name="athena-cancel", daemon=True).start()

    def _interrupt(self) -> bool:
        with self._lock:
            for con in self._cons:
                try:
                    con.interrupt()
                except Exception:  # noqa: BLE001 - a closed connection has nothing to interrupt
                    pass
            return bool(self._cons)

    def _keep_interrupting(self, until: float) -> None:
        while time.monotonic() < until:
            time.sleep(0.05)
            if not self._interrupt():
                return

    def _attach(self, con: Any) -> None:
        with self._lock:
            self._cons.append(con)

    def _detach(self, con: Any) -> None:
        with self._lock:
            if con in self._cons:
                self._cons.remove(con)

    def check(self) -> None:
        """Raise the CANCELLED error if the query was cancelled."""
        if self.cancelled:
            raise AthenaQueryError(USER_ERROR, "USER_CANCELLED", CANCELLED_MESSAGE, state="CANCELLED")


# ----------------------------------------------------------------------------- helpers


def _ident_start(node: exp.Expression) -> tuple[int, int]:
    """(line, 1-based start column) of an identifier node from sqlglot's token meta."""
    meta = getattr(node, "meta", None) or {}
    line = meta.get("line", 1)
    col = meta.get("col", 1)
    text = node.name if hasattr(node, "name") else ""
    if isinstance(node, exp.Identifier) and node.quoted:
        return line, max(1, col - len(text) - 1)
    return line, max(1, col - len(text) + 1)


def _table_pos(t: exp.Table) -> tuple[int, int]:
    for part in ("catalog", "db", "this"):
        node = t.args.get(part)
        if isinstance(node, exp.Identifier) and node.meta:
            return _ident_start(node)
    return 1, 1


def _user_error(kind: str, message: str) -> AthenaQueryError:
    return AthenaQueryError(USER_ERROR, kind, f"{kind}: {message}")


_STARTERS = {"SELECT", "WITH", "VALUES", "CREATE", "DROP", "ALTER", "INSERT", "MSCK", "SHOW", "DESCRIBE", "DESC", "TABLE",
             "UNLOAD"}
_EXPECTING = "'ALTER', 'CREATE', 'DESCRIBE', 'DROP', 'INSERT', 'MSCK', 'SELECT', 'SHOW', 'VALUES', 'WITH', <query>"
_DATE_FUNCS = (exp.CurrentDate, exp.DateTrunc, exp.DateStrToDate, exp.StrToDate, exp.TsOrDsToDate, exp.LastDay)


class _Query:
    """State of one statement's execution: DuckDB connection, counter, registered tables."""

    def __init__(self, engine: QueryEngine, access: AccessHook | None, cutoff: int | None) -> None:
        self.engine = engine
        self.access = access
        self.counter = ByteCounter(cutoff)
        self.con = engine._db.cursor()  # a connection of its own: temp views/registrations are private
        self.con.execute("SET integer_division = true")
        self.con.execute("SET ieee_floating_point_ops = true")  # Trino: 1e0 / 0 = Infinity, 0e0 / 0 = NaN
        self.con.execute("SET TimeZone = 'UTC'")
        self.n = 0
        self.query_id: str | None = None  # the Athena execution id, when the endpoint runs the statement
        self.text = ""  # the statement as parsed (leading comments stripped)
        self.source = ""  # the statement as submitted: positions in Trino-style errors count from it
        self.tables: dict[tuple[str, str], dict] = {}  # Glue tables read by this statement
        self.date_columns: set[str] = set()
        # native Parquet scans: (alias in the statement, scan, columns the caller may see or None,
        # columns a Lake Formation row filter reads)
        self.native: list[tuple[str, NativeScan, set[str] | None, set[str]]] = []
        self.inline: dict[str, NativeScan] = {}  # registered name -> scan written into the SQL text
        if engine.inproc is not None:  # inside the endpoint: moto's objects, no HTTP
            session = engine.inproc.session()
            source, lister, fetch = session, session.list_files, session.read_bytes
        else:
            source, lister, fetch = engine._s3fs, None, engine._read_bytes
        self.fs = CountingFS(source, self.counter)
        self.parquet_fs = CountingFS(source, self.counter, skip_tail=True)
        self.reader = TableReader(engine.s3, self.fs, self.parquet_fs, lister=lister, mirror=engine.mirror,
                                  fetch=fetch)

    def close(self) -> None:
        self.con.close()


class QueryEngine:
    """Runs Athena SQL against the Glue catalog and S3 (moto or AWS) with DuckDB.

    ``glue``/``s3``: boto3 clients; ``s3_endpoint_url``: where pyarrow reads/writes S3.
    ``inproc``: a :class:`~lakekit.local.athena._inproc.MotoSource` when the engine runs in the
    process that hosts moto (the endpoint): object bodies, listings and partitions are then read
    from moto's backends directly; writes and catalog changes still go through ``s3``/``glue``.

    ``mirror_dir``: where Parquet objects are copied for DuckDB's native reader (see
    :mod:`~lakekit.local.athena._native`; kept across restarts, checked by name and size); None = a
    temporary folder; ``mirror_blobs``: the endpoint's persistence blob folder, whose files the
    mirror hard-links instead of copying the same bodies; ``native_parquet=False`` reads
    Parquet with pyarrow only.
    """

    def __init__(self, glue: Any, s3: Any, s3_endpoint_url: str | None, region: str,
                 access_key: str = "test", secret_key: str = "test", inproc: Any = None,
                 mirror_dir: Path | None = None, native_parquet: bool = True,
                 mirror_blobs: Path | None = None) -> None:
        self.glue = glue
        self.s3 = s3
        self.region = region
        self.inproc = inproc
        self.mirror = ParquetMirror.for_root(mirror_dir, mirror_blobs) if native_parquet else None
        self._db = duckdb.connect(":memory:")  # each statement runs on a cursor (connection) of it
        self._db.execute("SET threads TO 2")
        kw: dict[str, Any] = {"region": region, "access_key": access_key, "secret_key": secret_key}
        if s3_endpoint_url:
            scheme, _, host = s3_endpoint_url.partition("://")
            kw.update(endpoint_override=host.rstrip("/"), scheme=scheme or "http")
        self._s3fs = pafs.S3FileSystem(**kw)

    def _read_bytes(self, path: str) -> bytes:
        with self._s3fs.open_input_file(path) as f:
            return f.read()

    # ------------------------------------------------------------------ entry point
    def execute(
        self,
        sql: str,
        database: str | None = None,
        catalog: str = "AwsDataCatalog",
        access: AccessHook | None = None,
        output_location: str | None = None,
        bytes_scanned_cutoff: int | None = None,
        cancel: Cancellation | None = None,
        query_id: str | None = None,
    ) -> QueryResult:
        """Run one statement. Raises :class:`AthenaQueryError` with Athena's category/type/message.

        ``cancel``: a :class:`Cancellation` another thread may trigger (raises state CANCELLED).
        ``query_id``: the execution's id (a CTAS without ``external_location`` writes under
        ``<output_location>/tables/<query_id>/``, as Athena does; a fresh UUID when None).
        """
        if catalog and catalog.lower() != DEFAULT_CATALOG:
            raise _user_error("CATALOG_NOT_FOUND", f"Catalog '{catalog}' does not exist (only AwsDataCatalog is served locally)")
        t0 = time.perf_counter()
        q = _Query(self, access, bytes_scanned_cutoff)
        q.query_id = query_id
        database = _rq.hive_context_database(sql, database)
        if cancel is not None:
            cancel._attach(q.con)
        try:
            try:
                if cancel is not None:
                    cancel.check()
                res = self._dispatch(q, sql, database or "default", output_location)
            except _CutoffExceeded:
                raise self._cutoff_error(q) from None
            except AthenaQueryError:
                if cancel is not None:
                    cancel.check()
                raise
            except duckdb.Error as ex:
                if q.counter.exceeded:
                    raise self._cutoff_error(q) from None
                if cancel is not None:
                    cancel.check()
                raise self._map_duckdb_error(ex, sql) from None
            except (pa.ArrowException, OSError) as ex:
                if q.counter.exceeded:
                    raise self._cutoff_error(q) from None
                if cancel is not None:
                    cancel.check()
                raise AthenaQueryError(USER_ERROR, "HIVE_BAD_DATA", f"HIVE_BAD_DATA: {ex}") from None
            if cancel is not None:
                cancel.check()
        finally:
            if cancel is not None:
                cancel._detach(q.con)
            q.close()
        res.data_scanned_bytes = q.counter.total
        res.tables = sorted(q.tables)
        res.engine_ms = int((time.perf_counter() - t0) * 1000)
        return res

    def _cutoff_error(self, q: _Query) -> AthenaQueryError:
        return AthenaQueryError(
            USER_ERROR,
            "EXCEEDED_SCANNED_BYTES_LIMIT",
            f"{CUTOFF_MESSAGE} (scanned more than {q.counter.cutoff} bytes, the workgroup's "
            f"BytesScannedCutoffPerQuery; read {q.counter.total} bytes). Filter on partition columns, "
            "select fewer columns, or raise the workgroup limit.",
            state="CANCELLED",
            data_scanned_bytes=q.counter.total,
        )

    def _dispatch(self, q: _Query, sql: str, database: str, output_location: str | None) -> QueryResult:
        text = strip_comments(sql)
        if not text:
            raise AthenaQueryError(USER_ERROR, "SYNTAX_ERROR", f"line 1:1: mismatched input '<EOF>'. Expecting: {_EXPECTING}")
        first = re.match(r"\(*\s*([A-Za-z_]+)", text)
        if first is None or first.group(1).upper() not in _STARTERS:
            tok = first.group(1) if first else text.split()[0]
            raise AthenaQueryError(USER_ERROR, "SYNTAX_ERROR", f"line 1:1: mismatched input '{tok}'. Expecting: {_EXPECTING}")
        q.text, q.source = text, sql
        if first.group(1).upper() == "UNLOAD":
            return _unload.unload(self, q, text, database)
        handled = _ddl.dispatch_text(self, q, text, database)
        if handled is not None:
            return handled
        ast = self._parse(text)
        if isinstance(ast, exp.Create):
            return _ddl.create(self, q, ast, text, database, output_location)
        if isinstance(ast, exp.Insert):
            _typecheck.check_insert(ast, text, lambda db, name: self._typecheck_columns(q, db, name), database, sql)
            return _ddl.insert(self, q, ast, text, database)
        if isinstance(ast, (exp.Query,)):
            tbl = self.run_select(q, ast, database)
            return self._result("DML", "SELECT", tbl, header=True)
        if isinstance(ast, exp.Describe):
            return _ddl.describe_table(self, q, ast.this, database)
        if isinstance(ast, exp.Drop):
            return _ddl.drop(self, q, ast, database)
        raise AthenaQueryError(
            USER_ERROR, "NOT_SUPPORTED",
            f"NOT_SUPPORTED: statement {type(ast).__name__.upper()} is not supported by the local Athena engine; "
            "supported: SELECT/WITH, CTAS, INSERT INTO, CREATE/DROP DATABASE|TABLE|VIEW, MSCK REPAIR, ALTER TABLE ADD/DROP PARTITION, SHOW, DESCRIBE",
        )

    def _result(self, st: str, sub: str, tbl: pa.Table, header: bool = True, update_count: int | None = None,
                written: list[str] | None = None) -> QueryResult:
        cols = []
        for f in tbl.schema:
            p, s = athena_precision_scale(f.type)
            t = arrow_to_athena(f.type)
            cols.append(ColumnInfo(f.name, t, p, s, "UNKNOWN", t == "varchar"))
        return QueryResult(st, cols, tbl, 0, update_count, sub, written or [], 0, header)

    # ------------------------------------------------------------------ parsing / errors
    def _parse(self, text: str) -> exp.Expression:
        refuse_unsupported_syntax(text)  # Trino syntax DuckDB would otherwise report
        try:
            asts = sqlglot.parse(text, read="athena")
        except sqlglot.errors.ParseError as ex:
            err = ex.errors[0] if ex.errors else {}
            hl = err.get("highlight") or ""
            line = err.get("line", 1)
            col = max(1, (err.get("col") or 1) - len(hl) + 1)
            tok = hl or "<EOF>"
            raise AthenaQueryError(
                USER_ERROR, "SYNTAX_ERROR",
                f"line {line}:{col}: mismatched input '{tok}'. Check the SQL near '{tok}' "
                f"({err.get('description', 'invalid syntax')}).",
            ) from None
        except sqlglot.errors.TokenError as ex:
            raise AthenaQueryError(USER_ERROR, "SYNTAX_ERROR", f"line 1:1: {ex}") from None
        asts = [a for a in asts if a is not None]
        if len(asts) != 1:
            raise AthenaQueryError(USER_ERROR, "SYNTAX_ERROR",
                                   "line 1:1: Only one sql statement is allowed. Got: " + str(len(asts)))
        ast = asts[0]
        if isinstance(ast, exp.Command):
            word = ast.name.split()[0] if ast.name else str(ast.this)
            raise AthenaQueryError(USER_ERROR, "SYNTAX_ERROR", f"line 1:1: mismatched input '{word}'. Statement not supported locally")
        return ast

    def _map_duckdb_error(self, ex: duckdb.Error, sql: str) -> AthenaQueryError:
        msg = str(ex)
        raised = _trinofuncs.raised_error(msg)
        if raised is not None:
            return AthenaQueryError(USER_ERROR, *raised)
        m = re.search(r'Referenced column "([^"]+)" not found|does not have a column named "([^"]+)"', msg)
        if m:
            name = m.group(1) or m.group(2)
            line, col = self._find_column_pos(sql, name)
            return _user_error("COLUMN_NOT_FOUND", f"line {line}:{col}: Column '{name}' cannot be resolved")
        m = re.search(r"(?:Scalar|Aggregate|Table) Function with name \"?([\w]+)\"? does not exist", msg)
        if m:
            name = m.group(1)
            line, col = self._find_func_pos(sql, name)
            return _user_error("FUNCTION_NOT_FOUND", f"line {line}:{col}: Function '{name}' not registered")
        if "must appear in the GROUP BY clause" in msg or "must be part of an aggregate" in msg:
            return _user_error("EXPRESSION_NOT_AGGREGATE", f"line 1:8: {msg.splitlines()[0]}")
        if isinstance(ex, duckdb.ConversionException):
            return _user_error("INVALID_CAST_ARGUMENT", msg.splitlines()[0])
        if isinstance(ex, duckdb.ParserException):
            return AthenaQueryError(USER_ERROR, "SYNTAX_ERROR", f"SYNTAX_ERROR: {msg.splitlines()[0]} (after translation to DuckDB)")
        if isinstance(ex, duckdb.BinderException):
            return _user_error("TYPE_MISMATCH", msg.splitlines()[0])
        return _user_error("GENERIC_USER_ERROR", msg.splitlines()[0])

    @staticmethod
    def _find_column_pos(sql: str, name: str) -> tuple[int, int]:
        try:
            ast = sqlglot.parse_one(strip_comments(sql), read="athena")
            for c in ast.find_all(exp.Column):
                if c.name.lower() == name.lower() and isinstance(c.this, exp.Identifier):
                    if c.args.get("table") is not None:
                        return _ident_start(c.args["table"]) if c.args["table"].meta else _ident_start(c.this)
                    return _ident_start(c.this)
        except Exception:  # noqa: BLE001 - positions are best effort
            pass
        return 1, 1

    @staticmethod
    def _find_func_pos(sql: str, name: str) -> tuple[int, int]:
        m = re.search(re.escape(name) + r"\s*\(", sql, re.IGNORECASE)
        if not m:
            return 1, 1
        before = sql[: m.start()]
        line = before.count("\n") + 1
        return line, m.start() - (before.rfind("\n") + 1) + 1

    # ------------------------------------------------------------------ catalog access
    def get_table(self, database: str, name: str) -> dict | None:
        """The Glue table dict, or None if it does not exist (SCHEMA_NOT_FOUND raised for a missing database)."""
        try:
            return self.glue.get_table(DatabaseName=database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            if not self.database_exists(database):
                raise _user_error("SCHEMA_NOT_FOUND", f"line 1:1: Schema '{database}' does not exist") from None
            return None

    def database_exists(self, database: str) -> bool:
        try:
            self.glue.get_database(Name=database)
            return True
        except self.glue.exceptions.EntityNotFoundException:
            return False

    def get_partitions(self, database: str, name: str, expression: str | None = None) -> list[dict]:
        """The table's Glue partitions (read-only dicts with ``Values`` and ``StorageDescriptor``).

        ``expression``: a Glue GetPartitions ``Expression`` narrowing the list (a superset of what
        the query keeps; the caller still prunes). Ignored in-process (all partitions are cheap
        there) and dropped if Glue rejects it.
        """
        if self.inproc is not None:
            parts = self.inproc.get_partitions(database, name)
            if parts is not None:
                return parts
        kw: dict[str, Any] = {"DatabaseName": database, "TableName": name}
        if expression:
            try:
                return self._paged_partitions({**kw, "Expression": expression})
            except ClientError as ex:  # InvalidInput/InvalidState (values not castable): list all, prune here
                if ex.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                    raise
        return self._paged_partitions(kw)

    def _paged_partitions(self, kw: dict[str, Any]) -> list[dict]:
        out: list[dict] = []
        for page in self.glue.get_paginator("get_partitions").paginate(**kw):
            out += page.get("Partitions", [])
        return out

    # ------------------------------------------------------------------ SELECT
    def run_select(self, q: _Query, ast: exp.Expression, database: str) -> pa.Table:
        """Resolve the catalog tables of a query AST, run it in DuckDB, return Athena-named columns."""
        _trinofuncs.mark(ast)
        original = ast.copy()
        types = _typecheck.check(original, q.text, lambda db, name: self._typecheck_columns(q, db, name), database,
                                 q.source)
        ast = self._resolve(q, ast, database, depth=0)
        self._fix_date_add(q, ast)
        _trinofuncs.rewrite(ast, types)
        duck_sql = ast.sql(dialect="duckdb")
        for reg, scan in q.inline.items():  # bound once, in the statement (a view would bind twice)
            duck_sql = re.sub(rf'(?<![\w"]){reg}(?![\w"])|"{reg}"', lambda _m, s=scan: f"({s.select_sql()})", duck_sql)
        scanned = self._native_bytes(q, ast)
        tbl = q.con.execute(duck_sql).fetch_arrow_table()
        q.counter.add(scanned)
        return self._rename_output(original, _trino_types(tbl))

    def _typecheck_columns(self, q: _Query, db: str, name: str) -> list[tuple[str, str]] | None:
        """[(column, Glue type)] of a table (data columns + partition keys) as the caller sees it,
        for :mod:`._typecheck`; None when unknown (the resolver reports missing tables/denials)."""
        try:
            table = q.tables.get((db, name)) or self.glue.get_table(DatabaseName=db, Name=name)["Table"]
        except Exception:  # noqa: BLE001 - missing table/schema: reported by _resolve
            return None
        q.tables[(db, name)] = table
        sd = table.get("StorageDescriptor") or {}
        cols = [(c["Name"], c.get("Type") or "") for c in (sd.get("Columns") or []) + (table.get("PartitionKeys") or [])]
        if q.access is not None:
            try:
                ta = q.access(db, name)
            except AccessDeniedError:
                return None
            if ta is not None and ta.columns is not None:
                allowed = {c.lower() for c in ta.columns}
                cols = [(c, t) for c, t in cols if c.lower() in allowed]
        return cols

    def _native_bytes(self, q: _Query, ast: exp.Expression) -> int:
        """Bytes the native Parquet scans of ``ast`` read (footers' column chunk sizes of the
        referenced columns). Over the cutoff: cancelled before running, billed up to the file
        that crossed it, like Athena stopping mid-scan."""
        if not q.native:
            return 0
        limit = ast.args.get("limit")
        if isinstance(ast, exp.Select) and limit is not None and limit.expression.sql() == "0":
            return 0  # schema probe (CREATE VIEW): reads no data
        need = columns_read(ast, {native[0] for native in q.native})
        per_file: list[int] = []
        for alias, scan, visible, filtered in q.native:
            cols = need[alias]
            if visible is not None:
                cols = set(visible) if cols is None else cols & visible
            if cols is not None:
                cols |= filtered
            per_file += scan.bytes_per_file(cols)
        cutoff = q.counter.cutoff
        if cutoff is not None and q.counter.total + sum(per_file) > cutoff:
            run = q.counter.total
            for n in per_file:
                run += n
                if run > cutoff:
                    break
            q.counter.add(run - q.counter.total)  # raises _CutoffExceeded
        return sum(per_file)

    def _resolve(self, q: _Query, ast: exp.Expression, database: str, depth: int) -> exp.Expression:
        if depth > 10:
            raise _user_error("VIEW_IS_RECURSIVE", "View is recursive (more than 10 nested views)")
        cte_names = {c.alias_or_name.lower() for c in ast.find_all(exp.CTE)}
        for t in list(ast.find_all(exp.Table)):
            if not isinstance(t.this, exp.Identifier):
                continue
            if not t.args.get("db") and t.name.lower() in cte_names:
                continue
            cat = t.args.get("catalog")
            if cat is not None and cat.name.lower() != DEFAULT_CATALOG:
                line, col = _table_pos(t)
                raise _user_error("CATALOG_NOT_FOUND", f"line {line}:{col}: Catalog '{cat.name.lower()}' does not exist")
            db = (t.db or database).lower()
            name = t.name.lower()
            table = q.tables.get((db, name)) or self.get_table_for_query(t, db, name)
            alias = t.args.get("alias")
            alias_expr = alias.copy() if alias is not None else exp.TableAlias(this=exp.to_identifier(name))
            ta = self._check_access(q, db, name)
            if table.get("TableType") == "VIRTUAL_VIEW":
                view_ast = _ddl.view_query(table)
                view_db = _ddl.view_schema(table) or db
                inner = self._resolve(q, view_ast, view_db, depth + 1)
                if ta is not None:
                    inner = self._restrict(inner, ta, name)
                t.replace(exp.Subquery(this=inner, alias=alias_expr))
                continue
            reg = self._register_table(q, t, table, db, name, ta)
            t.replace(exp.Table(this=exp.to_identifier(reg), alias=alias_expr))
        # drop db/catalog qualifiers from column references (db.t.col -> t.col)
        for c in ast.find_all(exp.Column):
            if c.args.get("db") is not None:
                c.set("db", None)
                c.set("catalog", None)
        return ast

    def get_table_for_query(self, t: exp.Table, db: str, name: str) -> dict:
        line, col = _table_pos(t)
        try:
            table = self.glue.get_table(DatabaseName=db, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            if not self.database_exists(db):
                raise _user_error("SCHEMA_NOT_FOUND", f"line {line}:{col}: Schema '{db}' does not exist") from None
            raise _user_error(
                "TABLE_NOT_FOUND", f"line {line}:{col}: Table '{DEFAULT_CATALOG}.{db}.{name}' does not exist"
            ) from None
        return table

    def _check_access(self, q: _Query, db: str, name: str) -> TableAccess | None:
        if q.access is None:
            return None
        try:
            return q.access(db, name)
        except AccessDeniedError as ex:
            raise AthenaQueryError(USER_ERROR, "PERMISSION_DENIED", f"PERMISSION_DENIED: {ex.message}") from None

    def _restrict(self, inner: exp.Expression, ta: TableAccess, name: str) -> exp.Expression:
        """Wrap a (view) subquery with the access hook's column list and row filter."""
        sub = exp.select("*").from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("__lk_v"))))
        if ta.row_filter:
            sub = sub.where(sqlglot.parse_one(ta.row_filter, read="trino"))
        if ta.columns is not None:
            out = exp.select(*[exp.column(c) for c in sorted(ta.columns)]).from_(
                exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier("__lk_w"))))
            return out
        return sub

    def _register_table(self, q: _Query, t: exp.Table, table: dict, db: str, name: str,
                        ta: TableAccess | None) -> str:
        data_schema, keys = glue_schema(table)
        parts = None
        if keys:
            usable = self._partition_conjuncts(t, name, keys)
            expression = _glue_expression([u for _, u in usable], table.get("PartitionKeys") or [])
            parts = self._prune(keys, self.get_partitions(db, name, expression), [sql for sql, _ in usable])
        obj = q.reader.build(table, parts, _bucketing.buckets_for_query(t, name, table))
        reg = f"__lk_{q.n}"
        q.n += 1
        schema = obj.schema
        for f in schema:
            if pa.types.is_date(f.type):
                q.date_columns.add(f.name.lower())
        if isinstance(obj, NativeScan):
            visible = None if ta is None or ta.columns is None else {c.lower() for c in ta.columns}
            filtered: set[str] = set()
            if ta is not None and ta.row_filter:
                try:
                    pred = sqlglot.parse_one(ta.row_filter, read="trino")
                    filtered = {c.name.lower() for c in pred.find_all(exp.Column)}
                except sqlglot.errors.ParseError:
                    pass  # reported as PERMISSION_DENIED below
            q.native.append((t.alias_or_name.lower(), obj, visible, filtered))
        if ta is None:
            if isinstance(obj, NativeScan):
                q.inline[reg] = obj
            else:
                q.con.register(reg, obj)
            return reg
        raw = f"({obj.select_sql()})" if isinstance(obj, NativeScan) else f'"{reg}_raw"'
        if not isinstance(obj, NativeScan):
            q.con.register(reg + "_raw", obj)
        all_cols = [f.name for f in schema]
        if ta.columns is None:
            visible = all_cols
        else:
            allowed = {c.lower() for c in ta.columns}
            visible = [c for c in all_cols if c.lower() in allowed]
        if not visible:
            raise AthenaQueryError(USER_ERROR, "PERMISSION_DENIED",
                                   f"PERMISSION_DENIED: no column of {db}.{name} is visible to the caller")
        select = "SELECT " + ", ".join(f'"{c}"' for c in visible) + f" FROM {raw} AS __lk_raw"
        if ta.row_filter:
            try:
                pred = sqlglot.transpile(ta.row_filter, read="trino", write="duckdb")[0]
            except sqlglot.errors.ParseError as ex:
                raise AthenaQueryError(USER_ERROR, "PERMISSION_DENIED",
                                       f"PERMISSION_DENIED: the row filter on {db}.{name} is invalid: {ex}") from None
            select += f" WHERE {pred}"
        q.con.execute(f'CREATE TEMP VIEW "{reg}" AS {select}')
        return reg

    # ------------------------------------------------------------------ partition pruning
    def _partition_conjuncts(self, t: exp.Table, name: str,
                             keys: list[tuple[str, pa.DataType]]) -> list[tuple[str, exp.Expression]]:
        """The WHERE conjuncts of ``t``'s SELECT that only involve this table's partition keys:
        [(DuckDB SQL, unqualified sqlglot node)]."""
        select = t.find_ancestor(exp.Select)
        where = select.args.get("where") if select is not None else None
        if where is None:
            return []
        alias = t.alias_or_name.lower()
        key_names = {k for k, _ in keys}
        conjuncts = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
        usable = []
        for cj in conjuncts:
            if cj.find(exp.Subquery, exp.Select, exp.Is, exp.Coalesce, exp.Anonymous, exp.Rand):
                continue
            cols = list(cj.find_all(exp.Column))
            if not cols:
                continue
            ok = all(
                c.name.lower() in key_names and (not c.table or c.table.lower() in (alias, name))
                for c in cols
            )
            if ok:
                c2 = cj.copy()
                for c in c2.find_all(exp.Column):
                    c.set("table", None)
                    c.set("db", None)
                    c.set("catalog", None)
                usable.append((c2.sql(dialect="duckdb"), c2))
        return usable

    def _prune(self, keys: list[tuple[str, pa.DataType]], partitions: list[dict], usable: list[str]) -> list[dict]:
        """Keep the partitions whose values satisfy the WHERE conjuncts on keys (``usable``, DuckDB SQL)."""
        if not partitions or not usable:
            return partitions
        arrays = {}
        for i, (k, typ) in enumerate(keys):
            arrays[k] = pa.array([partition_value(p["Values"][i], typ) if i < len(p["Values"]) else None
                                  for p in partitions], typ)
        arrays["__lk_idx"] = pa.array(range(len(partitions)), pa.int64())
        pt = pa.table(arrays)
        keep: set[int] | None = None
        for cond in usable:
            try:
                with_con = self._db.cursor()
                with_con.register("__parts", pt)
                rows = with_con.execute(f"SELECT __lk_idx FROM __parts WHERE {cond}").fetchall()
                with_con.close()
            except duckdb.Error:
                continue  # not evaluable on keys alone: no pruning from this conjunct
            idx = {r[0] for r in rows}
            keep = idx if keep is None else keep & idx
        if keep is None:
            return partitions
        return [p for i, p in enumerate(partitions) if i in keep]

    # ------------------------------------------------------------------ DuckDB traps
    def _fix_date_add(self, q: _Query, ast: exp.Expression) -> None:
        """Trino's date_add(unit, n, DATE) is a DATE; DuckDB's DATE + INTERVAL is a TIMESTAMP: cast back."""

        def is_date(e: exp.Expression) -> bool:
            if isinstance(e, exp.Cast) and e.to.this == exp.DataType.Type.DATE:
                return True
            if isinstance(e, _DATE_FUNCS) and not isinstance(e, exp.DateTrunc):
                return True
            if isinstance(e, exp.DateTrunc):
                return is_date(e.this)
            if isinstance(e, (exp.DateAdd, exp.DateSub)):
                return is_date(e.this)
            if isinstance(e, exp.Column):
                return e.name.lower() in q.date_columns
            return False

        for node in list(ast.find_all(exp.DateAdd, exp.DateSub)):
            unit = (node.text("unit") or "DAY").upper()
            if unit in ("DAY", "WEEK", "MONTH", "YEAR", "QUARTER") and is_date(node.this):
                node.replace(exp.Cast(this=node.copy(), to=exp.DataType.build("DATE")))
        # DATE +/- INTERVAL '1' DAY is a DATE in Trino too
        for node in list(ast.find_all(exp.Add, exp.Sub)):
            date_side, iv = node.this, node.expression
            if isinstance(date_side, exp.Interval) and isinstance(node, exp.Add):
                date_side, iv = iv, date_side
            if isinstance(iv, exp.Interval) and (iv.text("unit") or "").upper() in (
                    "DAY", "WEEK", "MONTH", "YEAR", "QUARTER") and is_date(date_side):
                node.replace(exp.Cast(this=node.copy(), to=exp.DataType.build("DATE")))

    def _rename_output(self, original: exp.Expression, tbl: pa.Table) -> pa.Table:
        """Athena's output names: lower-cased aliases/column names, ``_colN`` for unnamed expressions."""
        sel = original
        while isinstance(sel, (exp.Union, exp.Subquery)) or (isinstance(sel, exp.SetOperation)):
            sel = sel.this if not isinstance(sel, exp.SetOperation) else sel.left
        if not isinstance(sel, exp.Select):
            return tbl.rename_columns([n.lower() for n in tbl.column_names])
        exprs = sel.expressions
        if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)) for e in exprs) \
                or len(exprs) != tbl.num_columns:
            return tbl.rename_columns([n.lower() for n in tbl.column_names])
        names = []
        for i, e in enumerate(exprs):
            if isinstance(e, exp.Alias):
                names.append(e.alias.lower())
            elif isinstance(e, exp.Column):
                names.append(e.name.lower())
            elif isinstance(e, exp.Dot):
                names.append(e.name.lower())
            else:
                names.append(f"_col{i}")
        return tbl.rename_columns(names)


def _trino_types(tbl: pa.Table) -> pa.Table:
    """DuckDB's sum(bigint) is HUGEINT (decimal(38,0) in Arrow); Trino's is bigint: narrow when it fits."""
    for i, f in enumerate(tbl.schema):
        if pa.types.is_decimal(f.type) and f.type.precision == 38 and f.type.scale == 0:
            try:
                tbl = tbl.set_column(i, pa.field(f.name, pa.int64()), tbl.column(i).cast(pa.int64()))
            except (pa.ArrowInvalid, OverflowError):
                pass
        elif pa.types.is_string_view(f.type) or pa.types.is_large_string(f.type):
            tbl = tbl.set_column(i, pa.field(f.name, pa.string()), tbl.column(i).cast(pa.string()))
    return tbl
