"""UNLOAD of the local Athena: ``UNLOAD (SELECT ...) TO 's3://...' WITH (format = ..., ...)``.

As Athena documents it: ``format`` is required (PARQUET, ORC, AVRO, JSON, TEXTFILE);
``compression`` defaults to GZIP for Parquet/JSON/TEXTFILE and ZLIB for ORC; ``field_delimiter``
(one character, default ``\\001``) applies to TEXTFILE; ``partitioned_by = ARRAY[...]`` names the
last SELECT columns. The ``TO`` location must hold no data unless the UNLOAD is partitioned. The
statement is DML (SubstatementType ``UNLOAD``); the gateway writes ``<QueryId>-manifest.csv``
(the data files, one ``s3://`` URI a line) and ``<QueryId>.metadata`` to the output location and
no ``.csv`` result.

Example::

    engine.execute("UNLOAD (SELECT carrier, count(*) AS n FROM flights GROUP BY 1) "
                   "TO 's3://lake/exports/by_carrier/' WITH (format = 'PARQUET')", database="lakedb")
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ._ctas import (
    check_partition_columns,
    normalize_for_write,
    read_props,
    select_of,
    write_options,
)
from ._ddlbase import check_output_columns, err, statement_pos
from ._errors import USER_ERROR, AthenaQueryError
from ._io import location_has_data, split_s3, write_table

if TYPE_CHECKING:
    from .engine import QueryEngine, QueryResult, _Query

__all__ = ["unload", "split_unload"]

_KNOWN = {"format", "compression", "compression_level", "field_delimiter", "partitioned_by"}


def _syntax(msg: str) -> AthenaQueryError:
    return AthenaQueryError(USER_ERROR, "SYNTAX_ERROR", f"SYNTAX_ERROR: {msg}")


def _close_paren(text: str, start: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``start`` (quotes and comments skipped); -1 if none."""
    depth, i, n = 0, start, len(text)
    while i < n:
        ch = text[i]
        if ch in ("'", '"'):
            j = i + 1
            while j < n and not (text[j] == ch and (j + 1 >= n or text[j + 1] != ch)):
                j += 2 if text[j] == ch else 1
            i = j + 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def split_unload(text: str) -> tuple[str, str, str, int]:
    """``UNLOAD (q) TO 'loc' WITH (props)`` -> (q, loc, props, offset of q in ``text``); SYNTAX_ERROR
    when malformed."""
    m = re.match(r"\s*UNLOAD\s*", text, re.IGNORECASE)
    if m is None or m.end() >= len(text) or text[m.end()] != "(":
        tok = text[m.end():].split(None, 1)[0] if m and text[m.end():].strip() else "<EOF>"
        raise _syntax(f"line 1:8: mismatched input '{tok}'. Expecting: '('")
    end = _close_paren(text, m.end())
    if end < 0:
        raise _syntax("line 1:8: missing ')' closing the UNLOAD query")
    query = text[m.end() + 1:end]
    rest = text[end + 1:]
    m2 = re.match(r"\s*TO\s+'((?:[^']|'')*)'\s*", rest, re.IGNORECASE)
    if m2 is None:
        tok = rest.split(None, 1)[0] if rest.strip() else "<EOF>"
        raise _syntax(f"mismatched input '{tok}'. Expecting: 'TO'")
    location = m2.group(1).replace("''", "'")
    rest = rest[m2.end():]
    m3 = re.match(r"WITH\s*\(", rest, re.IGNORECASE)
    if m3 is None:
        tok = rest.split(None, 1)[0] if rest.strip() else "<EOF>"
        raise _syntax(f"mismatched input '{tok}'. Expecting: 'WITH'")
    pend = _close_paren(rest, m3.end() - 1)
    if pend < 0 or rest[pend + 1:].strip():
        raise _syntax("mismatched input after the WITH (...) properties of UNLOAD")
    return query, location, rest[m3.end():pend], m.end() + 1


def _blank(s: str) -> str:
    return re.sub(r"[^\n]", " ", s)


def unload(engine: QueryEngine, q: _Query, text: str, database: str) -> QueryResult:
    query_sql, location, props_sql, offset = split_unload(text)
    if not query_sql.strip():
        raise _syntax("line 1:9: mismatched input ')'. Expecting: <query>")
    try:
        probe = sqlglot.parse_one(f"CREATE TABLE __lk_unload WITH ({props_sql}) AS SELECT 1", read="athena")
    except sqlglot.errors.ParseError as ex:
        raise _syntax(f"the WITH (...) properties of UNLOAD cannot be parsed: {ex.errors[0]['description'] if ex.errors else ex}") from None
    props = read_props(probe.args.get("properties"))
    props.pop("__no_data", None)
    unknown = sorted(set(props) - _KNOWN)
    if unknown:
        raise err("INVALID_TABLE_PROPERTY", f"Unknown UNLOAD property '{unknown[0]}'; UNLOAD takes "
                                            f"{', '.join(sorted(_KNOWN))}")
    if not props.get("format"):
        raise err("GENERIC_USER_ERROR", "UNLOAD requires the format property: WITH (format = 'PARQUET' | 'ORC' | "
                                        "'AVRO' | 'JSON' | 'TEXTFILE')")
    fmt, compression, delimiter = write_options(props, "compression")
    try:
        split_s3(location)
    except ValueError:
        raise err("INVALID_ARGUMENTS", f"UNLOAD TO location '{location}' is not an s3:// URI; use "
                                       "s3://bucket/prefix/") from None
    location = location if location.endswith("/") else location + "/"
    # the inner query, blanked around so that positions in errors count from the submitted statement
    source = q.source or text
    at = source.find(text)
    begin = (at if at >= 0 else 0) + offset
    q.source = _blank(source[:begin]) + query_sql
    q.text = _blank(text[:offset]) + query_sql
    ast = engine._parse(q.text)
    if not isinstance(ast, exp.Query):
        raise _syntax(f"{statement_pos(source)}: UNLOAD takes a SELECT query, not "
                      f"{type(ast).__name__.upper()}")
    query = select_of(ast)
    tbl = engine.run_select(q, query, database)
    check_output_columns(query, tbl.column_names, source, tbl.schema.types)
    pcols = props.get("partitioned_by") or []
    if not pcols and location_has_data(engine.s3, location):
        raise err("HIVE_PATH_ALREADY_EXISTS",
                  f"Target directory for UNLOAD already exists: {location}. UNLOAD writes only to an empty "
                  f"location; delete the data at '{location}' or choose another TO location. Athena will not "
                  "delete data in your account.")
    tbl = normalize_for_write(tbl)
    check_partition_columns(tbl, pcols)
    written, _ = write_table(engine.s3, tbl, location, pcols, fmt, compression, delimiter) \
        if tbl.num_rows else ([], [])
    return engine._result("DML", "UNLOAD", pa.table({"rows": pa.array([tbl.num_rows], pa.int64())}),
                          header=False, update_count=tbl.num_rows, written=written)
