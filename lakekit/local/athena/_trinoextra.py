"""Trino functions DuckDB has no namesake for (or one with other semantics), rewritten to DuckDB SQL
that computes Trino's result. Called by :func:`._trinofuncs.rewrite` on the resolved AST.

Each rewrite follows Trino's implementation (io.trino.operator.scalar / aggregation) and its
documented examples (docs/src/main/sphinx/functions/*.md); tests/athena/_trino_function_cases.py
holds one documented example per function, tests/athena/test_trino_extra.py the edge cases.

- arrays: ``array_distinct`` / ``array_union`` / ``array_except`` / ``array_intersect`` keep the
  order of first occurrence (Trino's BlockSet; DuckDB's list_distinct does not), NULL is one
  element; ``array_intersect`` walks the longer array (ArrayIntersectFunction swaps);
  ``arrays_overlap`` is NULL when only NULLs could match; ``slice(x, start, length)`` (DuckDB's
  array_slice takes an end index); ``zip`` / ``zip_with`` pad the shorter arrays with NULL;
  ``all_match`` / ``any_match`` / ``none_match`` three-valued as documented.
- URLs: java.net.URI's components (``url_extract_*``: a missing part is ``''``, a missing port
  NULL, an unparsable URL NULL; path, query and fragment percent-decoded), ``url_encode`` as
  Guava's form-parameter escaper (space -> ``+``, ``*`` kept, ``~`` escaped), ``url_decode`` as
  java.net.URLDecoder (``+`` -> space).
- strings / math / binary / date: ``sha1`` (varbinary, DuckDB's is hex text), ``codepoint``, ``normalize(x[, NFC])``, ``e()``, ``millisecond``
  (of the second, not DuckDB's seconds*1000+ms), ``bit_count(x, bits)``.
- ``timezone_hour`` / ``timezone_minute`` of a ``TIMESTAMP '... +05:30'`` literal: the literal's
  offset; such a literal is a ``timestamptz`` (DuckDB reads the offset only without the space).
- aggregates: ``every`` (bool_and), ``skewness`` (Trino's population skewness
  sqrt(n)*m3/m2^1.5, NULL below 3 rows; DuckDB's has the sample correction), ``kurtosis`` (the
  same estimator as DuckDB's), ``map_agg`` / ``multimap_agg`` (NULL keys skipped; map_agg keeps
  the first value of a repeated key).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp

__all__ = ["rewrite_extra", "SUPPORTED"]

log = logging.getLogger(__name__)

_ARG = re.compile(r"\{(\d+)\}")


def _tpl(sql: str, args: list[exp.Expression]) -> exp.Expression:
    """Parse a DuckDB template whose ``{n}`` are the call's arguments; substitute copies of them."""
    text = _ARG.sub(lambda m: f"lk_arg{m.group(1)}", sql)
    tree = sqlglot.parse_one(text, read="duckdb")

    def sub(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name.startswith("lk_arg"):
            return args[int(node.name[6:])].copy()
        return node

    return tree.transform(sub, copy=False)


def _null_on_null(body: str, n: int) -> str:
    cond = " OR ".join(f"({{{i}}}) IS NULL" for i in range(n))
    return f"CASE WHEN {cond} THEN NULL ELSE {body} END"


def _distinct(x: str) -> str:
    """Trino's array_distinct: first occurrences, in order (NULL counts once)."""
    return f"list_filter({x}, (lk_e, lk_i) -> list_position({x}, lk_e) = lk_i)"


def _fail(message: str) -> str:
    return "error('" + message.replace("'", "''") + "')"


_INTERSECT = _distinct("list_filter({a}, lk_e -> list_position({b}, lk_e) IS NOT NULL)")
_TEMPLATES: dict[str, tuple[int | None, str]] = {
    # name: (argument count, or None for any; DuckDB template)
    "array_distinct": (1, _distinct("{0}")),
    "array_union": (2, _null_on_null(_distinct("list_concat({0}, {1})"), 2)),
    "array_except": (2, _null_on_null(
        f"list_filter({_distinct('{0}')}, lk_x -> list_position({{1}}, lk_x) IS NULL)", 2)),
    "array_intersect": (2, _null_on_null(
        "CASE WHEN len({0}) < len({1}) THEN " + _INTERSECT.format(a="{1}", b="{0}")
        + " ELSE " + _INTERSECT.format(a="{0}", b="{1}") + " END", 2)),
    "arrays_overlap": (2, _null_on_null(
        "CASE WHEN len({0}) = 0 OR len({1}) = 0 THEN false WHEN list_has_any({0}, {1}) THEN true "
        "WHEN list_position({0}, NULL) IS NOT NULL OR list_position({1}, NULL) IS NOT NULL THEN NULL "
        "ELSE false END", 2)),
    "slice": (3, _null_on_null(
        "CASE WHEN {2} < 0 THEN " + _fail("INVALID_FUNCTION_ARGUMENT: length must be greater than or equal to 0")
        + " WHEN {1} = 0 THEN " + _fail("INVALID_FUNCTION_ARGUMENT: SQL array indices start at 1")
        + " WHEN (CASE WHEN {1} < 0 THEN len({0}) + {1} + 1 ELSE {1} END) < 1 THEN list_slice({0}, 1, 0)"
        " ELSE list_slice({0}, CASE WHEN {1} < 0 THEN len({0}) + {1} + 1 ELSE {1} END,"
        " (CASE WHEN {1} < 0 THEN len({0}) + {1} + 1 ELSE {1} END) + {2} - 1) END", 3)),
    "all_match": (2, "CASE WHEN {0} IS NULL THEN NULL WHEN list_contains(list_transform({0}, {1}), false) THEN false "
                     "WHEN list_position(list_transform({0}, {1}), NULL) IS NOT NULL THEN NULL ELSE true END"),
    "any_match": (2, "CASE WHEN {0} IS NULL THEN NULL WHEN list_contains(list_transform({0}, {1}), true) THEN true "
                     "WHEN list_position(list_transform({0}, {1}), NULL) IS NOT NULL THEN NULL ELSE false END"),
    "none_match": (2, "CASE WHEN {0} IS NULL THEN NULL WHEN list_contains(list_transform({0}, {1}), true) THEN false "
                      "WHEN list_position(list_transform({0}, {1}), NULL) IS NOT NULL THEN NULL ELSE true END"),
    "codepoint": (1, "CASE WHEN length({0}) <> 1 THEN "
                     + _fail("INVALID_FUNCTION_ARGUMENT: Input string must be a single character string")
                     + " ELSE unicode({0}) END"),
    "e": (0, "exp(1)"),
    "millisecond": (1, "millisecond({0}) % 1000"),
    "every": (1, "bool_and({0})"),
    "map_agg": (2, "map_from_entries(list_filter(list({'k': {0}, 'v': {1}}) FILTER (WHERE ({0}) IS NOT NULL), "
                   "(lk_e, lk_i) -> list_position(list({0}) FILTER (WHERE ({0}) IS NOT NULL), lk_e.k) = lk_i))"),
    "multimap_agg": (2, "map_from_entries(list_transform(list_filter(list({0}) FILTER (WHERE ({0}) IS NOT NULL), "
                        "(lk_e, lk_i) -> list_position(list({0}) FILTER (WHERE ({0}) IS NOT NULL), lk_e) = lk_i), "
                        "lk_k -> {'k': lk_k, 'v': list_transform(list_filter(list({'k': {0}, 'v': {1}}), "
                        "lk_p -> lk_p.k IS NOT DISTINCT FROM lk_k), lk_q -> lk_q.v)}))"),
}
# Java URI components (RFC 2396 regex of its appendix B); an URL java.net.URI refuses -> NULL
_URI_RE = r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$"
_URI_BAD = r"[\s\"<>\\^`{|}]|%([^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|[0-9A-Fa-f]?$)"
_HOST = r"^(?:[^@]*@)?(\[[^\]]*\]|[^:]*)(?::(\d*))?$"


def _uri_part(group: int, decode: bool) -> str:
    raw = f"regexp_extract({{0}}, '{_URI_RE}', {group})"
    val = f"url_decode({raw})" if decode else raw
    return f"CASE WHEN regexp_matches({{0}}, '{_URI_BAD}') THEN NULL ELSE {val} END"


_AUTH = f"regexp_extract({{0}}, '{_URI_RE}', 2)"
_TEMPLATES.update({
    "url_extract_protocol": (1, _uri_part(1, False)),
    "url_extract_path": (1, _uri_part(3, True)),
    "url_extract_query": (1, _uri_part(4, True)),
    "url_extract_fragment": (1, _uri_part(5, True)),
    "url_extract_host": (1, f"CASE WHEN regexp_matches({{0}}, '{_URI_BAD}') THEN NULL "
                            f"ELSE regexp_extract({_AUTH}, '{_HOST}', 1) END"),
    "url_extract_port": (1, f"CASE WHEN regexp_matches({{0}}, '{_URI_BAD}') THEN NULL "
                            f"ELSE TRY_CAST(NULLIF(regexp_extract({_AUTH}, '{_HOST}', 2), '') AS BIGINT) END"),
    "url_extract_parameter": (2, f"CASE WHEN regexp_matches({{0}}, '{_URI_BAD}') THEN NULL ELSE "
                                 f"(SELECT CASE WHEN lk_a IS NULL THEN NULL WHEN strpos(lk_a, '=') = 0 THEN '' "
                                 f"ELSE url_decode(replace(substr(lk_a, strpos(lk_a, '=') + 1), '+', ' ')) END "
                                 f"FROM (SELECT list_filter(string_split(regexp_extract({{0}}, '{_URI_RE}', 4), '&'), "
                                 f"lk_s -> split_part(lk_s, '=', 1) = {{1}})[1] AS lk_a)) END"),
    "url_encode": (1, "replace(replace(replace(url_encode({0}), '~', '%7E'), '%2A', '*'), '%20', '+')"),
    "url_decode": (1, "url_decode(replace({0}, '+', ' '))"),
})

SUPPORTED = frozenset(_TEMPLATES) | {"zip", "zip_with", "normalize", "skewness", "bit_count"}


def _zip(args: list[exp.Expression]) -> exp.Expression:
    n = len(args)
    longest = "greatest(" + ", ".join(f"len({{{i}}})" for i in range(n)) + ")" if n > 1 else "len({0})"
    fields = ", ".join(f"'field{i}': ({{{i}}})[lk_i]" for i in range(n))
    return _tpl(_null_on_null(f"list_transform(range(1, {longest} + 1), lk_i -> {{{fields}}})", n), args)


def _zip_with(args: list[exp.Expression]) -> exp.Expression | None:
    a, b, fn = args
    if not isinstance(fn, exp.Lambda) or len(fn.expressions) != 2:
        return None
    names = [p.name for p in fn.expressions]
    body = fn.this.copy()
    idx = exp.column("lk_i")

    def sub(node: exp.Expression) -> exp.Expression:
        plain = isinstance(node, exp.Column) and not node.table or (
            isinstance(node, exp.Identifier) and not isinstance(node.parent, (exp.Column, exp.Dot)))
        if plain and node.name in names:
            src = a if node.name == names[0] else b
            return exp.Bracket(this=exp.Paren(this=src.copy()), expressions=[idx.copy()])
        return node

    body = body.transform(sub, copy=False)
    return _tpl(_null_on_null("list_transform(range(1, greatest(len({0}), len({1})) + 1), lk_i -> {2})", 2),
                [a, b, body])


def _skewness(args: list[exp.Expression]) -> exp.Expression:
    """Trino: sqrt(n) * M3 / M2^1.5 (central sums); DuckDB's skewness(x) = that * sqrt(n(n-1))/(n-2)."""
    return _tpl("CASE WHEN count({0}) < 3 THEN NULL ELSE skewness({0}) * (count({0}) - 2) "
                "/ sqrt(count({0}) * (count({0}) - 1)) END", args)


def _bit_count(args: list[exp.Expression]) -> exp.Expression:
    """Trino's BitwiseFunctions.bitCount: 64 bits counts the bigint; else bits in [2, 64] and the value
    representable in them, or INVALID_FUNCTION_ARGUMENT (message as Athena's bitwise-functions page)."""
    bits_bad = ("error('INVALID_FUNCTION_ARGUMENT: Bits specified in bit_count must be between 2 and 64, got ' "
                "|| CAST({1} AS VARCHAR))")
    num_bad = ("error('INVALID_FUNCTION_ARGUMENT: Number must be representable with the bits specified. ' "
               "|| CAST({0} AS VARCHAR) || ' can not be represented with ' || CAST({1} AS VARCHAR) || ' bits')")
    return _tpl(_null_on_null(
        "CASE WHEN {1} = 64 THEN CAST(bit_count(CAST({0} AS BIGINT)) AS BIGINT) "
        f"WHEN {{1}} < 2 OR {{1}} > 64 THEN {bits_bad} "
        "WHEN CAST({0} AS HUGEINT) >= (CAST(1 AS HUGEINT) << CAST({1} - 1 AS INTEGER)) "
        "OR CAST({0} AS HUGEINT) < -(CAST(1 AS HUGEINT) << CAST({1} - 1 AS INTEGER)) "
        f"THEN {num_bad} "
        "ELSE CAST(bit_count(CAST(CAST({0} AS HUGEINT) & ((CAST(1 AS HUGEINT) << CAST({1} AS INTEGER)) - 1) AS BIGINT)) "
        "AS BIGINT) END", 2), args)


_BUILDERS: dict[str, Callable[[list[exp.Expression]], exp.Expression | None]] = {
    "zip": _zip, "zip_with": _zip_with, "skewness": _skewness, "bit_count": _bit_count,
}
# sqlglot classes the athena dialect parses these names into
_CLASSES: dict[type[exp.Expression], str] = {
    exp.ArrayDistinct: "array_distinct", exp.ArrayExcept: "array_except", exp.ArrayIntersect: "array_intersect",
    exp.ArraySlice: "slice", exp.Skewness: "skewness",
}
_NORMAL_FORMS = {"NFC", "NFD", "NFKC", "NFKD"}


def _call_args(node: exp.Expression) -> tuple[str, list[exp.Expression]] | None:
    if isinstance(node, exp.Anonymous):
        return node.name.lower(), list(node.expressions)
    name = _CLASSES.get(type(node))
    if name is None:
        return None
    if isinstance(node, exp.ArrayIntersect):
        return name, list(node.expressions)
    if isinstance(node, exp.ArraySlice):
        return name, [node.this, node.args.get("start"), node.args.get("end")]
    return name, [a for a in (node.this, node.args.get("expression")) if a is not None]


def _normalize(node: exp.Normalize) -> exp.Expression | None:
    form = node.args.get("form")
    name = "NFC" if form is None or isinstance(form, bool) else form.name.upper()
    if name != "NFC":
        return None  # the checker refuses the other forms (DuckDB has only nfc_normalize)
    return exp.Anonymous(this="NFC_NORMALIZE", expressions=[node.this.copy()])


_ZONED = re.compile(r"^(\d{4}-\d\d-\d\d(?: \d\d?:\d\d(?::\d\d(?:\.\d+)?)?)?)\s*"
                    r"(?:([+-]\d\d?)(?::?(\d\d))?|([A-Za-z][\w/+-]*))$")


def _zoned_literal(node: exp.Expression) -> tuple[str, int, int] | None:
    """``TIMESTAMP '2020-01-01 00:00:00 +05:30'`` (a timestamp with time zone literal in Trino):
    (DuckDB literal text, offset hours, offset minutes); None if not such a literal."""
    if not (isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string
            and node.to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ)):
        return None
    m = _ZONED.match(node.this.this.strip())
    if m is None:
        return None
    when, hours, minutes, zone = m.groups()
    if hours is not None:
        h, mi = int(hours), int(minutes or 0) * (-1 if hours.startswith("-") else 1)
        return f"{when}{hours[0]}{abs(h):02d}:{abs(mi):02d}", h, mi
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo
        off = datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone)).utcoffset()
    except (ValueError, KeyError, OSError):
        return None
    total = int(off.total_seconds() // 60) if off is not None else 0
    sign = -1 if total < 0 else 1
    return f"{when} {zone}", sign * (abs(total) // 60), sign * (abs(total) % 60)


def _timezone_part(name: str, args: list[exp.Expression]) -> exp.Expression | None:
    """timezone_hour / timezone_minute of a zoned TIMESTAMP literal: the literal's own offset (DuckDB
    keeps only the instant)."""
    zoned = _zoned_literal(args[0]) if len(args) == 1 else None
    if zoned is None:
        return None
    return exp.cast(exp.Literal.number(zoned[1] if name == "timezone_hour" else zoned[2]), "BIGINT")


def rewrite_extra(ast: exp.Expression) -> None:
    """Replace the calls of :data:`SUPPORTED` functions in ``ast`` (innermost first)."""
    for node in list(ast.find_all(exp.Anonymous)):
        if node.name.lower() in ("timezone_hour", "timezone_minute"):
            new = _timezone_part(node.name.lower(), list(node.expressions))
            if new is not None:
                node.replace(new)
    for node in list(ast.find_all(exp.Cast)):  # '... +05:30': DuckDB reads the offset without the space
        zoned = _zoned_literal(node)
        if zoned is not None and zoned[0][10:].strip()[:1] != "" and zoned[0][-6:-5] in "+-":
            node.replace(exp.Cast(this=exp.Literal.string(zoned[0]), to=exp.DataType.build("TIMESTAMPTZ")))
    for node in reversed(list(ast.find_all(exp.Anonymous, exp.Normalize, exp.SHA, *_CLASSES))):
        if isinstance(node, exp.SHA):  # Trino's sha1 is varbinary; DuckDB's sha1 the hex text
            node.replace(exp.Unhex(this=exp.Anonymous(this="SHA1", expressions=[node.this.copy()])))
            continue
        if isinstance(node, exp.Normalize):
            new = _normalize(node)
            if new is not None:
                node.replace(new)
            continue
        call = _call_args(node)
        if call is None or call[0] not in SUPPORTED or any(a is None for a in call[1]):
            continue
        name, args = call
        if name in _BUILDERS:
            new = _BUILDERS[name](args)
        else:
            count, template = _TEMPLATES[name]
            if count is not None and count != len(args):
                continue
            new = _tpl(template, args)
        if new is not None:
            node.replace(new)
