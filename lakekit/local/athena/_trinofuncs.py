"""Trino functions whose DuckDB namesake (after sqlglot's translation) answers differently.

:func:`rewrite` edits a resolved query AST in place, just before it is generated as DuckDB SQL:

- ``format_datetime(ts, 'yyyy-MM-dd HH:mm')`` / ``parse_datetime(s, fmt)``: Joda-Time patterns
  (Trino) -> strftime/strptime specifiers (DuckDB has no ``format_datetime``; sqlglot passes the
  Joda pattern to ``strptime`` unchanged). ``parse_datetime`` returns ``timestamp with time zone``.
- ``date_diff(unit, a, b)``: Trino counts whole units elapsed (23:00 -> 01:00 next day is 0
  days); DuckDB's ``date_diff`` counts boundaries crossed (1): use DuckDB's ``date_sub``.
- ``a / b``, ``a % b`` with integer operands and ``b = 0``: Trino fails the query with
  ``DIVISION_BY_ZERO: Division by zero``; DuckDB answers NULL. (Decimal and double division by
  zero still answer NULL locally: Trino fails decimals and answers Infinity/NaN for doubles.)
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

from sqlglot import exp

__all__ = ["rewrite", "joda_to_strftime", "DIVISION_BY_ZERO"]

DIVISION_BY_ZERO = "DIVISION_BY_ZERO: Division by zero"

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


def _checked_division(node: exp.Div | exp.Mod) -> exp.Expression:
    """``CASE WHEN b = 0 AND <integer result> THEN error(DIVISION_BY_ZERO) ELSE a / b END``."""
    raw = node.copy()
    zero = exp.EQ(this=exp.Paren(this=node.expression.copy()), expression=exp.Literal.number(0))
    integral = exp.Not(this=exp.In(this=exp.Anonymous(this="TYPEOF", expressions=[raw.copy()]),
                                   expressions=[exp.Literal.string("DOUBLE"), exp.Literal.string("FLOAT")]))
    fail = exp.Anonymous(this="ERROR", expressions=[exp.Literal.string(DIVISION_BY_ZERO)])
    return exp.Case(ifs=[exp.If(this=exp.And(this=zero, expression=integral), true=fail)], default=raw)


def rewrite(ast: exp.Expression) -> None:
    """Replace the DuckDB namesakes that differ from Trino (see the module doc) in ``ast``."""
    for div in reversed(list(ast.find_all(exp.Div, exp.Mod))):  # innermost first
        if not (isinstance(div.expression, exp.Literal) and div.expression.this not in ("0", "0.0")):
            div.replace(_checked_division(div))
    for node in list(ast.find_all(exp.Anonymous, exp.ParseDatetime, exp.DateDiff, exp.ApproxDistinct,
                                  exp.ApproxQuantile)):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime" and len(node.expressions) == 2:
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
