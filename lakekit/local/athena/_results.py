"""Athena's result-file text: how each Trino value is written into the query's CSV / text output."""
from __future__ import annotations

import datetime as _dt
import decimal
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import QueryResult

__all__ = ["format_value", "write_results_csv", "write_results_text"]


def _java_double(x: float) -> str:
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0.0"
    ax = abs(x)
    if 1e-3 <= ax < 1e7:
        s = repr(x)
        return s if ("." in s or "e" in s) else s + ".0"
    mant, _, expo = f"{x:.16E}".partition("E")
    mant = mant.rstrip("0")
    if mant.endswith("."):
        mant += "0"
    # shortest repr mantissa
    r = repr(x)
    if "e" in r:
        m, _, e = r.partition("e")
        if "." not in m:
            m += ".0"
        return f"{m}E{int(e)}"
    digits = r.replace("-", "").replace(".", "").lstrip("0").rstrip("0") or "0"
    e = int(expo)
    m = digits[0] + "." + (digits[1:] or "0")
    return f"{'-' if x < 0 else ''}{m}E{e}"


def format_value(v: Any) -> str | None:
    """A Python value -> Athena's text form (VarCharValue / CSV cell); None stays None."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _java_double(v)
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.") + f"{v.microsecond // 1000:03d}" + (
            f" {v.tzname()}" if v.tzinfo is not None else ""
        )
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return " ".join(f"{b:02x}" for b in v)
    if isinstance(v, list):
        if v and all(isinstance(i, tuple) and len(i) == 2 for i in v):  # map from arrow
            return "{" + ", ".join(f"{format_value(k)}={_inner(val)}" for k, val in v) + "}"
        return "[" + ", ".join(_inner(i) for i in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_inner(val)}" for k, val in v.items()) + "}"
    return str(v)


def _inner(v: Any) -> str:
    s = format_value(v)
    return "null" if s is None else s


def write_results_csv(result: QueryResult, rows: list[list[str | None]] | None = None) -> bytes:
    """Athena's ``<qid>.csv``: header row, every value double-quoted, NULL as an empty unquoted field.

    ``rows``: ``result.rows()`` when the caller already has them."""
    out = io.StringIO()
    names = [c.name for c in result.columns]
    out.write(",".join('"' + n.replace('"', '""') + '"' for n in names) + "\n")
    for row in result.rows() if rows is None else rows:
        out.write(",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row) + "\n")
    return out.getvalue().encode("utf-8")


def write_results_text(result: QueryResult) -> bytes:
    """Athena's ``<qid>.txt`` for DDL/UTILITY results: one line per row, columns tab-separated, no header."""
    return "".join("\t".join("" if v is None else v for v in row) + "\n" for row in result.rows()).encode()
