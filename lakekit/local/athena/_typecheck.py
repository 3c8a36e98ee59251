"""Trino's analysis-time type checks for the local Athena, run before a query reaches DuckDB.

DuckDB casts implicitly where Trino refuses (``WHERE month = 1`` on a ``string`` partition
column answers locally and fails on Athena). :func:`check` types every expression of a query
(SELECT list, WHERE, GROUP BY, HAVING, ORDER BY, JOIN ON, in CTEs, derived tables and
subqueries) against the Glue column types and raises :class:`AthenaQueryError` where Trino's
analyzer would, with Trino's message and position, e.g.::

    TYPE_MISMATCH: line 1:34: Cannot apply operator: varchar = integer
    FUNCTION_NOT_FOUND: line 1:8: Function 'foo' not registered
    FUNCTION_NOT_FOUND: line 1:8: Unexpected parameters (integer) for function length. Expected: ...

What the checker cannot type (an unknown construct, a column it cannot resolve, a function
without a modelled signature) is let through untouched and logged at DEBUG: it never refuses
SQL it does not understand. Coercions follow :mod:`._trtypes`.

Example::

    check(ast, text, lookup=lambda db, name: [("month", "string")], database="lake")
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from ._errors import USER_ERROR, AthenaQueryError
from ._funcsigs import (
    FUNCTION_SIGS,
    LOCAL_UNSUPPORTED,
    NORMALIZE_FORM,
    TRINO_FUNCTIONS,
    FuncSig,
    ret_type,
)
from ._trinofuncs import MARK
from ._trtypes import (
    BOOLEAN,
    UNKNOWN,
    VARCHAR,
    T,
    common_super,
    from_datatype,
    literal_type,
    parse_glue,
)

__all__ = ["check", "check_insert", "TableLookup"]

log = logging.getLogger(__name__)

# (db, table) -> [(column name, Glue type)] or None when the table is unknown / not visible
TableLookup = Callable[[str, str], "list[tuple[str, str]] | None"]

_CMP_OP = {exp.EQ: "=", exp.NEQ: "=", exp.LT: "<", exp.GT: "<", exp.LTE: "<=", exp.GTE: "<="}
_ARITH_OP = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%"}


def _error(kind: str, pos: tuple[int, int], message: str) -> AthenaQueryError:
    return AthenaQueryError(USER_ERROR, kind, f"{kind}: line {pos[0]}:{pos[1]}: {message}")


def check(ast: exp.Expression, text: str, lookup: TableLookup, database: str,
          source: str | None = None) -> dict[int, list[T]]:
    """Type ``ast`` (a query parsed from ``text``) like Trino's analyzer; raise on what Trino refuses.

    ``source``: the statement as submitted, when ``text`` is a cleaned part of it (leading comments
    stripped): positions in messages then count from the start of ``source``, as Trino's do.
    Returns the argument types of the nodes :func:`._trinofuncs.mark` numbered ({mark: [T, ...]},
    only the fully typed ones) for :func:`._trinofuncs.rewrite`."""
    checker = _prepare(ast, text, lookup, database, source)
    if checker is None:
        return {}
    _guarded(checker.run)
    return checker.marked


def check_insert(ast: exp.Insert, text: str, lookup: TableLookup, database: str,
                 source: str | None = None) -> None:
    """INSERT INTO t [(cols)] <query>: the query's checks, then Trino's column type match.

    Refused like Trino: a query column whose type cannot be coerced to the table column's type
    across families (varchar into bigint, integer into varchar, date into double...)::

        TYPE_MISMATCH: line 1:1: Insert query has mismatched column types: Table: [varchar, bigint], Query: [integer, bigint]

    Narrowing within a family (bigint into integer, varchar into varchar(3)) is left to run.
    """
    target = ast.this
    given = None
    if isinstance(target, exp.Schema):
        given = [c.name.lower() for c in target.expressions]
        target = target.this
    if not isinstance(target, exp.Table):
        return
    cols = lookup((target.db or database).lower(), target.name.lower())
    query = ast.expression
    while isinstance(query, exp.Subquery) and not query.args.get("alias"):
        query = query.this
    checker = _prepare(query, text, lookup, database, source)
    if cols is None or checker is None:
        return
    _guarded(checker.run)
    table_types = {c.lower(): parse_glue(t) for c, t in cols}
    names = given or [c.lower() for c, _ in cols]
    want = [table_types.get(n) for n in names]
    got = _guarded(lambda: checker.output_types())
    if got is None or len(got) != len(want) or any(t is None for t in [*want, *got]):
        return
    if any(not _insert_coercible(q, t) for q, t in zip(got, want, strict=True) if q is not None and t is not None):
        raise _error("TYPE_MISMATCH", checker.line_col(0),
                     f"Insert query has mismatched column types: Table: [{', '.join(str(t) for t in want)}], "
                     f"Query: [{', '.join(str(t) for t in got)}]")


def _insert_coercible(query: T, table: T) -> bool:
    """Trino refuses INSERT coercions across type families; same-family narrowing runs (lenient)."""
    if query.name == "unknown":
        return True
    if query.family != table.family:
        return False
    return query.family not in ("array", "map", "row") or common_super(query, table) is not None


def _guarded(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except AthenaQueryError:
        raise
    except Exception as ex:  # noqa: BLE001 - a construct the checker does not model: run unchecked
        log.debug("typecheck skipped: %s: %s", type(ex).__name__, ex)
        return None


def _prepare(ast: exp.Expression, text: str, lookup: TableLookup, database: str,
             source: str | None = None) -> _Checker | None:
    tables: dict[tuple[str, str], dict[str, T | None] | None] = {}
    cte_names = {c.alias_or_name.lower() for c in ast.find_all(exp.CTE)}
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for t in ast.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier) or (not t.args.get("db") and t.name.lower() in cte_names):
            continue
        db, name = (t.db or database).lower(), t.name.lower()
        if (db, name) in tables:
            continue
        cols = lookup(db, name)
        if cols is None:
            log.debug("typecheck skipped: table %s.%s not typed", db, name)
            return None
        tables[(db, name)] = {c.lower(): parse_glue(typ) for c, typ in cols}
        schema.setdefault(db, {})[name] = {c.lower(): "int" for c, _ in cols}  # names only: qualify needs no types
    work = ast.copy()
    try:
        work = qualify(work, schema=schema or None, db=database, dialect="athena", validate_qualify_columns=False,
                       quote_identifiers=False, identify=False)
        scopes = list(traverse_scope(work))
    except Exception as ex:  # noqa: BLE001 - anything qualify cannot handle runs unchecked
        log.debug("typecheck skipped: cannot qualify the query: %s", ex)
        return None
    return _Checker(text, tables, scopes, database, source) if scopes else None


class _Checker:
    def __init__(self, text: str, tables: dict, scopes: list[Scope], database: str, source: str | None = None) -> None:
        self.text = text
        base = source.find(text) if source else -1
        self.source, self.base = (source, base) if source and base >= 0 else (text, 0)
        self.tables = tables
        self.scopes = scopes
        self.database = database
        self.by_expr = {id(s.expression): s for s in scopes}
        self.proj: dict[int, dict[str, T | None]] = {}
        self._tokens: list[Any] | None = None
        self._busy: set[int] = set()  # columns being resolved (an alias naming itself)
        self.marked: dict[int, list[T]] = {}  # typeof/random argument types, by _trinofuncs.MARK

    # ------------------------------------------------------------------ positions
    def tokens(self) -> list[Any]:
        if self._tokens is None:
            try:
                self._tokens = list(sqlglot.tokenize(self.text, read="athena"))
            except Exception:  # noqa: BLE001 - positions are best effort
                self._tokens = []
        return self._tokens

    def line_col(self, offset: int) -> tuple[int, int]:
        """(line, 1-based column) of a character offset of ``text``, counted in the submitted statement."""
        src, off = self.source, offset + self.base
        line = src.count("\n", 0, off) + 1
        return line, off - (src.rfind("\n", 0, off) + 1) + 1

    def span(self, node: exp.Expression) -> tuple[int, int] | None:
        """(start, end) character offsets of ``node`` in the statement, from its leaves' token meta."""
        lo, hi = None, None
        for n in node.walk():
            if isinstance(n, exp.Identifier) and isinstance(n.parent, exp.Column) and n.arg_key != "this":
                continue  # qualifiers added by qualify() carry the FROM alias' position
            meta = n.meta if n.meta else None
            if meta and "start" in meta and "end" in meta:
                lo = meta["start"] if lo is None else min(lo, meta["start"])
                hi = meta["end"] if hi is None else max(hi, meta["end"])
        return None if lo is None else (lo, hi)

    def pos(self, node: exp.Expression) -> tuple[int, int]:
        sp = self.span(node)
        if sp is None:
            return 1, 1
        start = sp[0]
        # widen to an opening quote / keyword that the leaf meta does not include (DATE '...', 'abc')
        for tok in self.tokens():
            if tok.start <= start <= tok.end:
                start = tok.start
                break
        return self.line_col(start)

    def op_pos(self, node: exp.Expression, left: exp.Expression | None, right: exp.Expression | None,
               texts: Iterable[str]) -> tuple[int, int]:
        """Position of the operator token of ``node`` between its operands (Trino reports the operator)."""
        want = {t.upper() for t in texts}
        ls = self.span(left) if left is not None else None
        rs = self.span(right) if right is not None else None
        lo = ls[1] if ls else -1
        hi = rs[0] if rs else len(self.text)
        for tok in self.tokens():
            if lo < tok.start and tok.end < hi and tok.text.upper() in want:
                return self.line_col(tok.start)
        return self.pos(node)

    # ------------------------------------------------------------------ driver
    def run(self) -> None:
        for scope in self.scopes:
            sel = scope.expression
            if not isinstance(sel, exp.Select):
                continue
            # Trino's order: FROM (join criteria), WHERE, SELECT list, GROUP BY, HAVING, ORDER BY
            for join in sel.args.get("joins") or []:
                on = join.args.get("on")
                if on is not None:
                    self.ty(on, scope)
            where = sel.args.get("where")
            if where is not None:
                t = self.ty(where.this, scope)
                if t is not None and t not in (BOOLEAN, UNKNOWN):
                    raise _error("TYPE_MISMATCH", self.pos(where.this),
                                 f"WHERE clause must evaluate to a boolean: actual type {t}")
            for e in sel.expressions:
                self.ty(e, scope)
            for key in ("group", "having", "order", "qualify"):
                clause = sel.args.get(key)
                for e in clause.iter_expressions() if clause is not None else []:
                    self.ty(e, scope)

    def output_types(self) -> list[T | None] | None:
        """Types of the statement's output columns, in order (the root scope's SELECT list)."""
        sel = self.scopes[-1].expression
        while isinstance(sel, exp.SetOperation):
            sel = sel.this
        if not isinstance(sel, exp.Select) or any(isinstance(e, exp.Star) for e in sel.expressions):
            return None
        scope = self.by_expr.get(id(sel), self.scopes[-1])
        return [self.ty(e, scope) for e in sel.expressions]

    # ------------------------------------------------------------------ columns
    def source_columns(self, source: Any) -> dict[str, T | None] | None:
        if isinstance(source, exp.Table):
            return self.tables.get(((source.db or self.database).lower(), source.name.lower()))
        if isinstance(source, Scope):
            return self.projections(source)
        return None

    def projections(self, scope: Scope) -> dict[str, T | None] | None:
        sel = scope.expression
        while isinstance(sel, exp.SetOperation):
            sel = sel.this
        if not isinstance(sel, exp.Select):
            return None
        inner = self.by_expr.get(id(sel), scope)
        key = id(sel)
        if key not in self.proj:
            self.proj[key] = {}
            out: dict[str, T | None] = {}
            for e in sel.expressions:
                out[e.alias_or_name.lower()] = self.ty(e, inner)
            self.proj[key] = out
        return self.proj[key]

    def column(self, col: exp.Column, scope: Scope) -> T | None:
        if isinstance(col.this, exp.Star) or id(col) in self._busy:
            return None
        self._busy.add(id(col))
        try:
            return self._column(col, scope)
        finally:
            self._busy.discard(id(col))

    def _column(self, col: exp.Column, scope: Scope) -> T | None:
        name = col.name.lower()
        table = col.table.lower() if col.table else None
        s: Scope | None = scope
        while s is not None:
            if table is not None:
                if table in s.sources:
                    cols = self.source_columns(s.sources[table])
                    return None if cols is None else cols.get(name)
            else:
                found = []
                for src in s.sources.values():
                    cols = self.source_columns(src)
                    if cols is None:
                        return None  # a source the checker cannot see into: the column may be there
                    if name in cols:
                        found.append(cols[name])
                if len(found) == 1:
                    return found[0]
                if found:
                    return None
                sel = s.expression
                if isinstance(sel, exp.Select):  # ORDER BY / GROUP BY on an output alias
                    for e in sel.expressions:
                        if isinstance(e, exp.Alias) and e.alias.lower() == name:
                            return self.ty(e.this, s)
            s = s.parent
        return None

    # ------------------------------------------------------------------ expressions
    def ty(self, node: exp.Expression, scope: Scope) -> T | None:  # noqa: C901 - one dispatch table
        if isinstance(node, (exp.Alias, exp.Paren, exp.Ordered)):
            return self.ty(node.this, scope)
        if isinstance(node, exp.Column):
            return self.column(node, scope)
        if isinstance(node, exp.Literal):
            return literal_type(node)
        if isinstance(node, exp.Null):
            return UNKNOWN
        if isinstance(node, exp.Boolean):
            return BOOLEAN
        if isinstance(node, (exp.Cast, exp.TryCast)):
            self.ty(node.this, scope)
            return from_datatype(node.to)
        if isinstance(node, exp.Typeof):
            t = self.ty(node.this, scope)
            if t is not None and MARK in node.meta:
                self.marked[node.meta[MARK]] = [t]
            return VARCHAR
        if isinstance(node, exp.Struct):  # ROW(1, 'a'): row(integer, varchar(1))
            fields = [self.ty(e, scope) for e in node.expressions]
            if any(f is None for f in fields) or any(isinstance(e, (exp.PropertyEQ, exp.Alias)) for e in node.expressions):
                return None
            return T("row", tuple((None, f) for f in fields))
        if isinstance(node, tuple(_CMP_OP)) or isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
            return self.comparison(node, scope)
        if isinstance(node, tuple(_ARITH_OP)):
            return self.arithmetic(node, scope)
        if isinstance(node, (exp.And, exp.Or, exp.Not, exp.Xor)):
            for c in node.iter_expressions():
                self.ty(c, scope)
            return BOOLEAN
        if isinstance(node, exp.Is):
            self.ty(node.this, scope)
            return BOOLEAN
        if isinstance(node, exp.In):
            return self.in_(node, scope)
        if isinstance(node, exp.Between):
            return self.between(node, scope)
        if isinstance(node, (exp.Like, exp.ILike)):
            return self.like(node, scope)
        if isinstance(node, exp.Case):
            return self.case(node, scope)
        if isinstance(node, exp.If):
            cond = self.ty(node.this, scope)
            a, b = self.ty(node.args["true"], scope), (self.ty(node.args["false"], scope)
                                                       if node.args.get("false") is not None else UNKNOWN)
            del cond
            return common_super(a, b) if a is not None and b is not None else None
        if isinstance(node, exp.Coalesce):
            return self.single_type("All COALESCE operands", [node.this, *node.expressions], scope)
        if isinstance(node, exp.Nullif):
            a = self.ty(node.this, scope)
            self.ty(node.expression, scope)
            return a
        if isinstance(node, (exp.DPipe, exp.Concat)):
            return self.concat(node, scope)
        if isinstance(node, exp.Neg):
            t = self.ty(node.this, scope)
            if t is not None and t.family in ("string", "boolean", "temporal"):
                raise _error("TYPE_MISMATCH", self.pos(node), f"Cannot negate {t}")
            return t
        if isinstance(node, exp.Window):
            for key in ("partition_by", "order"):
                v = node.args.get(key)
                for e in (v if isinstance(v, list) else [v] if v is not None else []):
                    for sub in (e.expressions if isinstance(e, exp.Order) else [e]):
                        self.ty(sub, scope)
            return self.ty(node.this, scope)
        if isinstance(node, exp.Subquery):
            inner = self.by_expr.get(id(node.this))
            cols = self.projections(inner) if inner is not None else None
            return next(iter(cols.values())) if cols and len(cols) == 1 else None
        if isinstance(node, (exp.Exists,)):
            return BOOLEAN
        if isinstance(node, exp.Interval):
            unit = (node.text("unit") or "").upper()
            return T("interval year to month" if unit in ("YEAR", "MONTH") else "interval day to second")
        if isinstance(node, exp.Array):
            types = [self.ty(e, scope) for e in node.expressions]
            if not types or any(t is None for t in types):
                return None
            el = self.single_type("All ARRAY elements", node.expressions, scope)
            return None if el is None else T("array", (el,))
        if isinstance(node, exp.Bracket):
            base = self.ty(node.this, scope)
            for e in node.expressions:
                self.ty(e, scope)
            if base is not None and base.name == "array":
                return base.args[0]
            if base is not None and base.name == "map":
                return base.args[1]
            return None
        if isinstance(node, exp.Dot):
            base = self.ty(node.this, scope)
            if base is not None and base.name == "row":
                field = node.name.lower()
                for n, t in base.args:
                    if n == field:
                        return t
            return None
        if isinstance(node, (exp.Lambda, exp.Select, exp.SetOperation, exp.Star)):
            return None
        if isinstance(node, exp.Func):
            return self.function(node, scope)
        for c in node.iter_expressions():
            self.ty(c, scope)
        log.debug("typecheck: no type for %s", type(node).__name__)
        return None

    # ------------------------------------------------------------------ operators
    def comparison(self, node: exp.Expression, scope: Scope) -> T:
        left, right = node.this, node.expression
        a, b = self.ty(left, scope), self.ty(right, scope)
        if a is not None and b is not None and common_super(a, b) is None:
            if isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
                p = self.op_pos(node, left, right, ["IS"])
                raise _error("TYPE_MISMATCH", p, f"Cannot check if {a} is distinct from {b}")
            texts = {exp.EQ: ["="], exp.NEQ: ["<>", "!="], exp.LT: ["<"], exp.GT: [">"],
                     exp.LTE: ["<="], exp.GTE: [">="]}[type(node)]
            raise _error("TYPE_MISMATCH", self.op_pos(node, left, right, texts),
                         f"Cannot apply operator: {a} {_CMP_OP[type(node)]} {b}")
        return BOOLEAN

    def arithmetic(self, node: exp.Expression, scope: Scope) -> T | None:
        left, right = node.this, node.expression
        a, b = self.ty(left, scope), self.ty(right, scope)
        if a is None or b is None:
            return None
        op = _ARITH_OP[type(node)]
        fa, fb = a.family, b.family
        if MARK in node.meta:
            self.marked[node.meta[MARK]] = [a, b]
        if {fa, fb} <= {"numeric", "unknown"}:
            if "unknown" in (fa, fb):
                return b if fa == "unknown" else a
            return common_super(a, b)
        if op in "+-" and fa in ("temporal", "unknown") and fb == "interval":
            return a
        if op == "+" and fa == "interval" and fb in ("temporal", "unknown"):
            return b
        if op == "-" and fa == fb == "temporal" and a.name != "date" and b.name != "date":
            return T("interval day to second")
        refused = {"string", "boolean"}
        if fa in refused or fb in refused or {fa, fb} == {"numeric", "temporal"} \
                or (op in "+-" and {fa, fb} == {"numeric", "interval"}):
            raise _error("TYPE_MISMATCH", self.op_pos(node, left, right, [op]), f"Cannot apply operator: {a} {op} {b}")
        return None

    def single_type(self, description: str, exprs: list[exp.Expression], scope: Scope) -> T | None:
        """Trino's coerceToSingleType: one common type for all ``exprs`` or TYPE_MISMATCH."""
        typed: list[tuple[T, exp.Expression]] = []
        unknown = False
        for e in exprs:
            t = self.ty(e, scope)
            if t is None:
                unknown = True
            elif all(t != seen for seen, _ in typed):
                typed.append((t, e))
        if unknown:
            return None
        sup = UNKNOWN
        for t, e in typed:
            new = common_super(sup, t)
            if new is None:
                all_types = ", ".join(str(x) for x, _ in typed)
                raise _error("TYPE_MISMATCH", self.pos(e),
                             f"{description} must be the same type or coercible to a common type. Cannot find common "
                             f"type between {sup} and {t}, all types (without duplicates): [{all_types}]")
            sup = new
        return sup

    def in_(self, node: exp.In, scope: Scope) -> T:
        query = node.args.get("query")
        if query is not None:
            value = self.ty(node.this, scope)
            inner = self.by_expr.get(id(query.this if isinstance(query, exp.Subquery) else query))
            cols = self.projections(inner) if inner is not None else None
            if value is not None and cols and len(cols) == 1:
                sub = next(iter(cols.values()))
                if sub is not None and common_super(value, sub) is None:
                    raise _error("TYPE_MISMATCH", self.op_pos(node, node.this, None, ["IN"]),
                                 f"value and result of subquery must be of the same type for IN expression: {value} vs {sub}")
            return BOOLEAN
        if node.args.get("unnest") is not None or not node.expressions:
            self.ty(node.this, scope)
            return BOOLEAN
        self.single_type("IN value and list items", [node.this, *node.expressions], scope)
        return BOOLEAN

    def between(self, node: exp.Between, scope: Scope) -> T:
        v, lo, hi = (self.ty(node.args[k], scope) for k in ("this", "low", "high"))
        if v is not None and lo is not None and hi is not None:
            c = common_super(v, lo)
            if c is None or common_super(c, hi) is None:
                raise _error("TYPE_MISMATCH", self.op_pos(node, node.this, node.args["low"], ["NOT", "BETWEEN"]),
                             f"Cannot check if {v} is BETWEEN {lo} and {hi}")
        return BOOLEAN

    def like(self, node: exp.Expression, scope: Scope) -> T:
        v, p = self.ty(node.this, scope), self.ty(node.expression, scope)
        if v is not None and v.family not in ("string", "unknown"):
            raise _error("TYPE_MISMATCH", self.pos(node.this), f"Left side of LIKE expression must evaluate to a varchar (actual: {v})")
        if p is not None and p.family not in ("string", "unknown"):
            raise _error("TYPE_MISMATCH", self.pos(node.expression),
                         f"Pattern for LIKE expression must evaluate to a varchar (actual: {p})")
        return BOOLEAN

    def case(self, node: exp.Case, scope: Scope) -> T | None:
        operand = node.this
        ifs = node.args.get("ifs") or []
        if operand is not None:
            ot = self.ty(operand, scope)
            common = ot
            for branch in ifs:
                wt = self.ty(branch.this, scope)
                if common is not None and wt is not None:
                    new = common_super(common, wt)
                    if new is None:
                        raise _error("TYPE_MISMATCH", self.pos(branch.this),
                                     f"CASE operand type does not match WHEN clause operand type: {ot} vs {wt}")
                    common = new
        else:
            for branch in ifs:
                self.ty(branch.this, scope)
        results = [b.args["true"] for b in ifs]
        if node.args.get("default") is not None:
            results.append(node.args["default"])
        return self.single_type("All CASE results", results, scope)

    def concat(self, node: exp.Expression, scope: Scope) -> T | None:
        args: list[exp.Expression] = []

        def flat(n: exp.Expression) -> None:
            if isinstance(n, exp.DPipe):
                flat(n.this)
                flat(n.expression)
            else:
                args.append(n)

        if isinstance(node, exp.DPipe):
            flat(node)
        else:
            args = list(node.expressions)
        types = [self.ty(a, scope) for a in args]
        if any(t is None for t in types):
            return None
        known = [t for t in types if t is not None]
        if any(t.name in ("array",) for t in known):
            return None
        if all(t.family in ("string", "unknown") for t in known):
            return VARCHAR
        if all(t.name in ("varbinary", "unknown") for t in known):
            return T("varbinary")
        if isinstance(node, exp.DPipe):
            # Trino: a || b is concat(a, b), reported at the first || between mismatched operands
            pos = self.op_pos(node, None, None, ["||"])
            sp = self.span(node)
            if sp is not None:
                for tok in self.tokens():
                    if sp[0] <= tok.start <= sp[1] and tok.text == "||":
                        pos = self.line_col(tok.start)
                        break
            shown = [t for t in known]
        else:
            pos = self.pos(node)
            shown = known
        raise _error("FUNCTION_NOT_FOUND", pos,
                     f"Unexpected parameters ({', '.join(str(t) for t in shown)}) for function concat. Expected: "
                     "concat(E, array(E)) E, concat(array(E)) E, concat(array(E), E) E, concat(char(x), char(y)), "
                     "concat(varbinary), concat(varchar)")

    # ------------------------------------------------------------------ functions
    def written_name(self, node: exp.Func) -> str | None:
        meta = node.meta or {}
        if "start" in meta and "end" in meta:
            word = self.text[meta["start"]: meta["end"] + 1]
            if word.replace("_", "").isalnum():
                return word.lower()
        return None

    def function(self, node: exp.Func, scope: Scope) -> T | None:
        name = self.written_name(node)
        if name is not None and name not in TRINO_FUNCTIONS:
            raise _error("FUNCTION_NOT_FOUND", self.pos(node), f"Function '{name}' not registered")
        if name is not None and name in LOCAL_UNSUPPORTED:
            raise _error("NOT_SUPPORTED", self.pos(node), LOCAL_UNSUPPORTED[name].format(n=name))
        if isinstance(node, exp.Normalize) and isinstance(node.args.get("form"), exp.Expression) \
                and node.args["form"].name.upper() != "NFC":
            pos, sp = self.pos(node), self.span(node.this)
            for tok in self.tokens():  # the function name, as Trino reports it (sqlglot spans the argument)
                if sp is not None and tok.start < sp[0] and tok.text.lower() == "normalize":
                    pos = self.line_col(tok.start)
            raise _error("NOT_SUPPORTED", pos, NORMALIZE_FORM.format(form=node.args["form"].name.upper()))
        sig: FuncSig | None = FUNCTION_SIGS.get(type(node).__name__)
        if isinstance(node, exp.Anonymous):
            sig = FUNCTION_SIGS.get((name or node.name).lower())
        if sig is None:
            for c in node.iter_expressions():
                self.ty(c, scope)
            return None
        args = sig.args(node)
        types: list[T | None] = []
        for a in args:
            if isinstance(a, exp.Var):  # date_trunc('day', ...) unit: a varchar literal in Trino
                types.append(T("varchar", (len(a.name),)))
            elif isinstance(a, exp.Distinct):
                types.append(self.ty(a.expressions[0], scope) if a.expressions else None)
            else:
                types.append(self.ty(a, scope))
        for c in node.iter_expressions():  # FILTER / OVER parts not in the signature
            if all(c is not a for a in args) and not isinstance(c, exp.Var):
                self.ty(c, scope)
        if any(t is None for t in types):
            return None
        known = [t for t in types if t is not None]
        if MARK in node.meta:
            self.marked[node.meta[MARK]] = known
        if not sig.accepts(known):
            shown = name or sig.name
            raise _error("FUNCTION_NOT_FOUND", self.pos(node),
                         f"Unexpected parameters ({', '.join(str(t) for t in known)}) for function {shown}. "
                         f"Expected: {sig.expected_text(shown)}")
        return ret_type(sig, known)

