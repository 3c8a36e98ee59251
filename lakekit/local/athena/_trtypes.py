"""Trino types as the local Athena's type checker sees them (:mod:`._typecheck`).

A :class:`T` is a Trino type (``varchar``, ``varchar(3)``, ``integer``, ``decimal(10,2)``,
``timestamp(3)``, ``array(integer)``, ``row(a integer)``...). ``str(t)`` is Trino's display
name, the spelling Trino's error messages use. :func:`common_super` is Trino's implicit
coercion (``TypeCoercion.getCommonSuperType``) for the types the checker knows: integer
widening, integer -> real/double/decimal, decimal -> real/double, varchar(n) -> varchar,
char <-> varchar, date -> timestamp, unknown (NULL) -> anything. Trino never converts between
character and numeric/temporal/boolean types implicitly.

Example::

    common_super(parse_glue("int"), T("bigint"))        -> T("bigint")
    common_super(parse_glue("string"), T("integer"))    -> None   (varchar = integer is refused)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from lakekit.local.glue.schema import split_top

__all__ = ["T", "parse_glue", "from_datatype", "common_super", "literal_type",
           "STRING", "INTS", "NUMERIC", "TEMPORAL", "UNKNOWN"]

INTS = ("tinyint", "smallint", "integer", "bigint")
STRING = frozenset({"varchar", "char"})
NUMERIC = frozenset({*INTS, "real", "double", "decimal"})
TEMPORAL = frozenset({"date", "timestamp", "timestamptz", "time"})
INTERVALS = frozenset({"interval day to second", "interval year to month"})


@dataclass(frozen=True)
class T:
    """A Trino type: ``name`` plus parameters (length, precision/scale, element/field types)."""

    name: str
    args: tuple = ()

    def __str__(self) -> str:
        n, a = self.name, self.args
        if n in ("varchar", "char") and a:
            return f"{n}({a[0]})"
        if n == "decimal":
            return f"decimal({a[0]},{a[1]})"
        if n == "timestamp":
            return f"timestamp({a[0] if a else 3})"
        if n == "timestamptz":
            return f"timestamp({a[0] if a else 3}) with time zone"
        if n == "array":
            return f"array({a[0]})"
        if n == "map":
            return f"map({a[0]}, {a[1]})"
        if n == "row":
            return "row(" + ", ".join(f"{k} {v}" if k else str(v) for k, v in a) + ")"
        return n

    @property
    def family(self) -> str:
        """string | numeric | temporal | boolean | interval | unknown | <name> (array, map, row...)."""
        if self.name in STRING:
            return "string"
        if self.name in NUMERIC:
            return "numeric"
        if self.name in TEMPORAL:
            return "temporal"
        if self.name in INTERVALS:
            return "interval"
        return self.name


UNKNOWN = T("unknown")
VARCHAR = T("varchar")
BIGINT = T("bigint")
DOUBLE = T("double")
BOOLEAN = T("boolean")

_GLUE_SIMPLE = {
    "string": VARCHAR, "varchar": VARCHAR, "char": T("char", (1,)), "int": T("integer"), "integer": T("integer"),
    "bigint": BIGINT, "smallint": T("smallint"), "tinyint": T("tinyint"), "double": DOUBLE,
    "float": T("real"), "real": T("real"), "boolean": BOOLEAN, "date": T("date"), "timestamp": T("timestamp", (3,)),
    "binary": T("varbinary"), "varbinary": T("varbinary"), "json": T("json"),
}


def parse_glue(t: str) -> T | None:
    """A Glue/Hive column type (``string``, ``decimal(10,2)``, ``array<struct<a:int>>``) -> T; None if unknown."""
    s = t.strip()
    low = s.lower()
    try:
        if low.startswith("array<") and low.endswith(">"):
            el = parse_glue(s[6:-1])
            return None if el is None else T("array", (el,))
        if low.startswith("map<") and low.endswith(">"):
            k, v = split_top(s[4:-1])
            kt, vt = parse_glue(k), parse_glue(v)
            return None if kt is None or vt is None else T("map", (kt, vt))
        if low.startswith("struct<") and low.endswith(">"):
            fields = []
            for part in split_top(s[7:-1]):
                name, _, typ = part.partition(":")
                ft = parse_glue(typ)
                if ft is None:
                    return None
                fields.append((name.strip().strip('"`').lower(), ft))
            return T("row", tuple(fields))
    except ValueError:
        return None
    m = re.fullmatch(r"(varchar|char)\s*\(\s*(\d+)\s*\)", low)
    if m:
        return T(m.group(1), (int(m.group(2)),))
    m = re.fullmatch(r"decimal\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?", low)
    if m:
        return T("decimal", (int(m.group(1) or 10), int(m.group(2) or 0)))
    return _GLUE_SIMPLE.get(low)


_DT = exp.DataType.Type
_FROM_DT = {
    _DT.TINYINT: "tinyint", _DT.SMALLINT: "smallint", _DT.INT: "integer", _DT.BIGINT: "bigint",
    _DT.FLOAT: "real", _DT.DOUBLE: "double", _DT.BOOLEAN: "boolean", _DT.DATE: "date",
    _DT.JSON: "json", _DT.VARBINARY: "varbinary", _DT.BINARY: "varbinary", _DT.TIME: "time",
}


def _int_param(dt: exp.DataType, i: int) -> int | None:
    ps = dt.expressions
    if len(ps) <= i:
        return None
    p = ps[i]
    node = p.this if isinstance(p, exp.DataTypeParam) else p
    try:
        return int(node.name)
    except (ValueError, AttributeError):
        return None


def from_datatype(dt: exp.DataType) -> T | None:
    """A sqlglot DataType (a CAST target) -> T; None for types the checker does not model."""
    k = dt.this
    if k in _FROM_DT:
        return T(_FROM_DT[k])
    if k in (_DT.VARCHAR, _DT.NVARCHAR, _DT.TEXT):
        n = _int_param(dt, 0)
        return T("varchar", (n,)) if n is not None else VARCHAR
    if k in (_DT.CHAR, _DT.NCHAR):
        return T("char", (_int_param(dt, 0) or 1,))
    if k == _DT.DECIMAL:
        return T("decimal", (_int_param(dt, 0) or 38, _int_param(dt, 1) or 0))
    if k in (_DT.TIMESTAMP, _DT.DATETIME):
        p = _int_param(dt, 0)
        return T("timestamp", (3 if p is None else p,))
    if k in (_DT.TIMESTAMPTZ, _DT.TIMESTAMPLTZ):
        p = _int_param(dt, 0)
        return T("timestamptz", (3 if p is None else p,))
    if k == _DT.ARRAY and dt.expressions:
        el = from_datatype(dt.expressions[0]) if isinstance(dt.expressions[0], exp.DataType) else None
        return None if el is None else T("array", (el,))
    if k == _DT.MAP and len(dt.expressions) == 2:
        kt, vt = (from_datatype(e) if isinstance(e, exp.DataType) else None for e in dt.expressions)
        return None if kt is None or vt is None else T("map", (kt, vt))
    return None


def literal_type(node: exp.Literal) -> T | None:
    """Trino's type of a literal: 'abc' varchar(3), 7 integer, 2^40 bigint, 1.5 decimal(2,1), 1e3 double."""
    text = node.this
    if node.is_string:
        return T("varchar", (len(text),))
    if re.fullmatch(r"\d+", text):
        return T("integer") if int(text) <= 2**31 - 1 else BIGINT
    m = re.fullmatch(r"(\d*)\.(\d*)", text)
    if m:
        whole, frac = m.group(1).lstrip("0"), m.group(2)
        return T("decimal", (max(1, len(whole) + len(frac)), len(frac)))
    if re.fullmatch(r"[\d.]+[eE][+-]?\d+", text):
        return DOUBLE
    return None


def _rank(t: T) -> int:
    return INTS.index(t.name)


_INT_DIGITS = {"tinyint": 3, "smallint": 5, "integer": 10, "bigint": 19}


def _decimal_of(t: T) -> tuple[int, int]:
    if t.name == "decimal":
        return t.args[0], t.args[1]
    return _INT_DIGITS[t.name], 0


def common_super(a: T, b: T) -> T | None:
    """Trino's common super type of ``a`` and ``b`` (both known); None when Trino refuses to coerce."""
    if a == b:
        return a
    if a.name == "unknown":
        return b
    if b.name == "unknown":
        return a
    fa, fb = a.family, b.family
    if fa == fb == "numeric":
        if a.name in INTS and b.name in INTS:
            return a if _rank(a) >= _rank(b) else b
        if "double" in (a.name, b.name):
            return DOUBLE
        if "real" in (a.name, b.name):
            return T("real")
        (pa, sa), (pb, sb) = _decimal_of(a), _decimal_of(b)
        s = max(sa, sb)
        return T("decimal", (min(38, max(pa - sa, pb - sb) + s), s))
    if fa == fb == "string":
        if a.name == "char" and b.name == "char":
            return T("char", (max(a.args[0], b.args[0]),))
        if "char" in (a.name, b.name):  # Trino: varchar(x) coerces to char(x) when compared to a char
            c, v = (a, b) if a.name == "char" else (b, a)
            return T("char", (max(c.args[0], v.args[0] if v.args else c.args[0]),))
        if not a.args or not b.args:
            return VARCHAR
        return T("varchar", (max(a.args[0], b.args[0]),))
    if fa == fb == "temporal":
        names = {a.name, b.name}
        if names == {"date", "timestamp"}:
            return a if a.name == "timestamp" else b
        if names <= {"date", "timestamp", "timestamptz"} and "timestamptz" in names:
            return a if a.name == "timestamptz" else b
        if a.name == b.name:  # timestamp(p) vs timestamp(q)
            return T(a.name, (max(a.args[0] if a.args else 3, b.args[0] if b.args else 3),))
        return None
    if a.name == b.name and a.name in ("array", "map"):
        parts = [common_super(x, y) for x, y in zip(a.args, b.args, strict=True)]
        return None if any(p is None for p in parts) else T(a.name, tuple(parts))
    if a.name == b.name == "row":
        if len(a.args) != len(b.args):
            return None
        fields = []
        for (na, ta), (_nb, tb) in zip(a.args, b.args, strict=True):
            c = common_super(ta, tb)
            if c is None:
                return None
            fields.append((na, c))
        return T("row", tuple(fields))
    if a.name == b.name:
        return a
    return None


def coercible(actual: T, expected: str) -> bool:
    """Whether ``actual`` may be passed where a function parameter of kind ``expected`` is declared.

    Kinds: varchar (varchar/char), integer (tinyint..bigint), numeric, temporal (date/timestamp),
    timestamp (date or timestamp, with or without time zone), date, boolean, array, map, any.
    """
    if actual.name == "unknown" or expected == "any":
        return True
    if expected == "varchar":
        return actual.name in STRING
    if expected == "integer":
        return actual.name in INTS
    if expected == "numeric":
        return actual.family == "numeric"
    if expected in ("temporal", "timestamp"):
        return actual.name in ("date", "timestamp", "timestamptz")
    if expected == "date":
        return actual.name == "date"
    if expected == "interval":
        return actual.family == "interval"
    return actual.name == expected
