"""Trino functions whose DuckDB namesake (after sqlglot's translation) answers differently.

:func:`rewrite` edits a resolved query AST in place, just before it is generated as DuckDB SQL:

- ``format_datetime(ts, 'yyyy-MM-dd HH:mm')`` / ``parse_datetime(s, fmt)``: Joda-Time patterns
  (Trino) -> strftime/strptime specifiers (DuckDB has no ``format_datetime``; sqlglot passes the
  Joda pattern to ``strptime`` unchanged). ``parse_datetime`` returns ``timestamp with time zone``.
- ``date_diff(unit, a, b)``: Trino counts whole units elapsed (23:00 -> 01:00 next day is 0
  days); DuckDB's ``date_diff`` counts boundaries crossed (1): use DuckDB's ``date_sub``.
- ``a / b``, ``a % b`` with integer or decimal operands and ``b = 0``: Trino fails the query with
  ``DIVISION_BY_ZERO: Division by zero``; DuckDB answers NULL. Doubles answer Infinity/NaN in
  both (the engine sets DuckDB's ``ieee_floating_point_ops``).
- ``nan()``, ``infinity()``, ``is_finite``, ``is_infinite``: DuckDB's ``'NaN'::DOUBLE``,
  ``isfinite``, ``isinf``.
- ``random(n)`` / ``random(m, n)``: DuckDB's ``random(x)`` is not Trino's (sqlglot reads the
  bound as a seed). Rewritten to ``floor(random() * n)`` of ``n``'s type, failing like Trino
  with ``INVALID_FUNCTION_ARGUMENT: bound must be positive`` / ``start value must be less than
  stop value``.
- ``CAST(varchar AS JSON)``: Trino makes a JSON *string* (``json_parse`` parses); DuckDB parses
  the text. Rewritten to ``to_json(x)``, which also renders arrays, maps and rows as Trino does.
- ``typeof(x)``: the type the checker (:mod:`._typecheck`) computed, spelled as Trino spells it
  (``varchar(3)``, ``decimal(2,1)``, ``timestamp(3) with time zone``, ``array(integer)``); where
  the checker has no type, DuckDB's ``typeof`` translated to Trino's spelling.
- Functions DuckDB lacks (array set functions in first-occurrence order, ``slice``, ``zip``,
  ``url_extract_*``, ``map_agg``, ``skewness``...): :mod:`._trinoextra`.
- Functions Trino has and the local engine cannot answer as Trino does (see
  ``_funcsigs.LOCAL_UNSUPPORTED``) are refused by the checker before DuckDB runs.
- ``approx_distinct(x)`` / ``approx_percentile(x, p)``: DuckDB's HyperLogLog is off by a few
  percent already at 10^5 rows; exact answers (``count(DISTINCT x)``, ``quantile_disc``) are
  always within Trino's documented error bounds (standard error 2.3%).

Already equal, checked by tests/athena/test_typecheck.py: ``date_format``/``date_parse``
(sqlglot maps MySQL specifiers), ``concat`` with a NULL argument (NULL), integer division
(``SET integer_division``: 5/2 = 2, -5/2 = -2), ``length``.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from sqlglot import exp

from ._trinoextra import rewrite_extra

__all__ = ["rewrite", "joda_to_strftime", "mark", "raised_error", "DIVISION_BY_ZERO", "MARK"]

DIVISION_BY_ZERO = "DIVISION_BY_ZERO: Division by zero"
BOUND_POSITIVE = "INVALID_FUNCTION_ARGUMENT: bound must be positive"
START_BEFORE_STOP = "INVALID_FUNCTION_ARGUMENT: start value must be less than stop value"
# the error kinds the rewritten SQL raises with DuckDB's error(): mapped back by raised_error()
_RAISED = re.compile(r"\b(DIVISION_BY_ZERO|INVALID_FUNCTION_ARGUMENT|NUMERIC_VALUE_OUT_OF_RANGE): ([^\n]*)")
_CONSTANTS = {"nan": "NaN", "infinity": "Infinity"}
_RENAMED = {"is_finite": "ISFINITE", "is_infinite": "ISINF"}
MARK = "lk_mark"  # meta key: the id under which the checker reports a node's argument types

log = logging.getLogger(__name__)

# Joda pattern letters -> strftime (formatting); parsing uses the zero-padded forms
_JODA = [
    ("yyyy", "%Y", "%Y"), ("yy", "%y", "%y"), ("y", "%Y", "%Y"), ("YYYY", "%Y", "%Y"),
    ("MMMM", "%B", "%B"), ("MMM", "%b", "%b"), ("MM", "%m", "%m"), ("M", "%-m", "%m"),
    ("dd", "%d", "%d"), ("d", "%-d", "%d"), ("DDD", "%j", "%j"),
    ("HH", "%H", "%H"), ("H", "%-H", "%H"), ("hh", "%I", "%I"), ("h", "%-I", "%I"),
    ("mm", "%M", "%M"), ("m", "%-M", "%M"), ("ss", "%S", "%S"), ("s", "%-S", "%S"),
    ("SSSSSS", "%f", "%f"), ("SSS", "%g", "%g"), ("a", "%p", "%p"),
    ("EEEE", "%A", "%A"), ("EEE", "%a", "%a"), ("E", "%a", "%a"), ("ZZ", "%z", "%z"), ("Z", "%z", "%z"),
    ("zzzz", "%Z", "%Z"), ("z", "%Z", "%Z"),
]


def joda_to_strftime(pattern: str, parse: bool = False) -> str | None:
    """A Joda-Time pattern -> DuckDB strftime/strptime format; None if it uses a letter not mapped."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            j = pattern.find("'", i + 1)
            if j == i + 1:  # '' is a literal quote
                out.append("'")
                i += 2
                continue
            if j < 0:
                return None
            out.append(pattern[i + 1:j].replace("%", "%%"))
            i = j + 1
            continue
        if ch.isalpha():
            run = re.match(rf"{re.escape(ch)}+", pattern[i:]).group(0)  # type: ignore[union-attr]
            for token, fmt, pfmt in _JODA:
                if run == token:
                    out.append(pfmt if parse else fmt)
                    break
            else:
                return None
            i += len(run)
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


def _fmt_literal(node: exp.Expression | None, parse: bool) -> exp.Literal | None:
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    conv = joda_to_strftime(node.this, parse)
    return None if conv is None else exp.Literal.string(conv)


def _checked_division(node: exp.Div | exp.Mod, types: dict[int, Any]) -> exp.Expression:
    """``CASE WHEN b = 0 AND <no double operand> THEN error(DIVISION_BY_ZERO) ELSE a / b END``;
    ``a * Infinity`` (+/-Infinity, NaN for 0) for a double divided by zero when the checker typed it
    (DuckDB's integer_division answers NULL)."""
    raw = node.copy()
    zero = exp.EQ(this=exp.Paren(this=node.expression.copy()), expression=exp.Literal.number(0))
    known = types.get(node.meta.get(MARK, -1)) or []
    if isinstance(node, exp.Div) and any(t.name == "double" for t in known):
        inf = exp.Mul(this=exp.Paren(this=node.this.copy()),
                      expression=exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE")))
        return exp.Case(ifs=[exp.If(this=zero, true=inf)], default=raw)
    floats = [exp.Literal.string("DOUBLE"), exp.Literal.string("FLOAT")]
    exact = exp.And(
        this=exp.Not(this=exp.In(this=exp.Anonymous(this="TYPEOF", expressions=[node.this.copy()]), expressions=floats)),
        expression=exp.Not(this=exp.In(this=exp.Anonymous(this="TYPEOF", expressions=[node.expression.copy()]),
                                       expressions=[f.copy() for f in floats])))
    return exp.Case(ifs=[exp.If(this=exp.And(this=zero, expression=exact), true=_fail(DIVISION_BY_ZERO))], default=raw)


def _nonzero(lit: exp.Literal) -> bool:
    try:
        return not lit.is_string and float(lit.this) != 0
    except ValueError:
        return False


def _fail(message: str) -> exp.Expression:
    return exp.Anonymous(this="ERROR", expressions=[exp.Literal.string(message)])


def raised_error(message: str) -> tuple[str, str] | None:
    """(error kind, Athena message) when a DuckDB error is one the rewritten SQL raised on purpose."""
    m = _RAISED.search(message)
    return None if m is None else (m.group(1), f"{m.group(1)}: {m.group(2)}")


def mark(ast: exp.Expression) -> None:
    """Number the nodes whose rewrite needs the checker's argument types (typeof, random, /), so the
    checker's copies and the resolved AST can be matched up (``node.meta[MARK]``)."""
    for i, node in enumerate(ast.find_all(exp.Typeof, exp.Rand, exp.Div, exp.Mod)):
        node.meta[MARK] = i


_DUCK_INT = {"tinyint": "TINYINT", "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT"}


def _random(node: exp.Rand, types: dict[int, Any]) -> exp.Expression | None:
    """Trino's random(n) / random(m, n): a value of n's integer type in [0, n) / [m, n)."""
    lo, hi = (node.this, node.args.get("lower")) if node.args.get("lower") is not None else (None, node.this)
    if hi is None:
        return None
    known = types.get(node.meta.get(MARK, -1))
    name = str(known[-1]) if known else "bigint"
    if name not in _DUCK_INT and name != "unknown":
        return None  # random(double): not a Trino signature; left to fail in DuckDB
    to = exp.DataType.build(_DUCK_INT.get(name, "BIGINT"))
    span = hi.copy() if lo is None else exp.Paren(this=exp.Sub(this=hi.copy(), expression=lo.copy()))
    draw: exp.Expression = exp.Floor(this=exp.Mul(this=exp.Rand(), expression=exp.Cast(this=span, to=exp.DataType.build("DOUBLE"))))
    if lo is not None:
        draw = exp.Add(this=exp.Cast(this=lo.copy(), to=exp.DataType.build("BIGINT")), expression=draw)
    value = exp.Cast(this=draw, to=to)
    cond = exp.GT(this=hi.copy(), expression=exp.Literal.number(0)) if lo is None else exp.LT(
        this=lo.copy(), expression=hi.copy())
    return exp.Case(ifs=[exp.If(this=cond, true=value)], default=_fail(BOUND_POSITIVE if lo is None else START_BEFORE_STOP))


def _duck_typeof(arg: exp.Expression) -> exp.Expression:
    """DuckDB's ``typeof`` spelled as Trino spells types (scalars, arrays, rows, maps)."""
    s: exp.Expression = exp.Lower(this=exp.Anonymous(this="TYPEOF", expressions=[arg.copy()]))
    for pattern, repl in ((r"timestamp with time zone", "timestamptz"), (r"\btimestamp\b", "timestamp(3)"),
                          (r"\btimestamptz\b", "timestamp(3) with time zone"), (r"\bfloat\b", "real"),
                          (r"\bblob\b", "varbinary"), (r"\bstruct\(", "row("), (r"^(.*)\[\]$", "array(\\1)"),
                          (r"^(.*)\[\]$", "array(\\1)"), (r"\bhugeint\b", "decimal(38,0)")):
        s = exp.RegexpReplace(this=s, expression=exp.Literal.string(pattern), replacement=exp.Literal.string(repl),
                              modifiers=exp.Literal.string("g"))
    return s


def rewrite(ast: exp.Expression, types: dict[int, Any] | None = None) -> None:
    """Replace the DuckDB namesakes that differ from Trino (see the module doc) in ``ast``.

    ``types``: the checker's argument types of the nodes :func:`mark` numbered ({mark: [T...]})."""
    types = types or {}
    for div in reversed(list(ast.find_all(exp.Div, exp.Mod))):  # innermost first
        if not (isinstance(div.expression, exp.Literal) and _nonzero(div.expression)):
            div.replace(_checked_division(div, types))
    for node in reversed(list(ast.find_all(exp.Typeof, exp.Rand, exp.Cast, exp.TryCast))):
        if isinstance(node, exp.Typeof):
            known = types.get(node.meta.get(MARK, -1))
            node.replace(exp.Literal.string(str(known[0])) if known else _duck_typeof(node.this))
        elif isinstance(node, exp.Rand):
            if node.this is not None:
                new = _random(node, types)
                if new is not None:
                    node.replace(new)
        elif node.to.this == exp.DataType.Type.JSON:
            node.replace(exp.Anonymous(this="TO_JSON", expressions=[node.this.copy()]))
    for node in list(ast.find_all(exp.Anonymous, exp.ParseDatetime, exp.DateDiff, exp.ApproxDistinct,
                                  exp.ApproxQuantile)):
        if isinstance(node, exp.Anonymous) and node.name.lower() in _CONSTANTS and not node.expressions:
            node.replace(exp.Cast(this=exp.Literal.string(_CONSTANTS[node.name.lower()]),
                                  to=exp.DataType.build("DOUBLE")))
        elif isinstance(node, exp.Anonymous) and node.name.lower() in _RENAMED:
            node.set("this", _RENAMED[node.name.lower()])
        elif isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime" and len(node.expressions) == 2:
            fmt = _fmt_literal(node.expressions[1], parse=False)
            if fmt is None:
                log.debug("format_datetime pattern not translatable: %s", node.sql())
                continue
            node.replace(exp.Anonymous(this="STRFTIME", expressions=[node.expressions[0].copy(), fmt]))
        elif isinstance(node, exp.ParseDatetime):
            fmt = _fmt_literal(node.args.get("format"), parse=True)
            if fmt is None:
                log.debug("parse_datetime pattern not translatable: %s", node.sql())
                continue
            parsed = exp.Anonymous(this="STRPTIME", expressions=[node.this.copy(), fmt])
            node.replace(exp.Cast(this=parsed, to=exp.DataType.build("TIMESTAMPTZ")))
        elif isinstance(node, exp.DateDiff):
            unit = node.text("unit") or "DAY"
            node.replace(exp.Anonymous(this="DATE_SUB", expressions=[
                exp.Literal.string(unit.lower()), node.expression.copy(), node.this.copy()]))
        elif isinstance(node, exp.ApproxDistinct):
            node.replace(exp.Count(this=exp.Distinct(expressions=[node.this.copy()])))
        elif isinstance(node, exp.ApproxQuantile) and node.args.get("weight") is None \
                and node.args.get("accuracy") is None:
            node.replace(exp.Anonymous(this="QUANTILE_DISC", expressions=[node.this.copy(),
                                                                          node.args["quantile"].copy()]))
    rewrite_extra(ast)
