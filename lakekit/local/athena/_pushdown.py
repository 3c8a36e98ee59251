"""Partition predicates pushed down to Glue's GetPartitions ``Expression``."""
from __future__ import annotations

import re

from sqlglot import exp

__all__ = ["glue_expression"]

_GLUE_INT = {"tinyint", "smallint", "int", "integer", "bigint"}
_GLUE_STR = {"string", "varchar", "char"}
_GLUE_OPS = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_GLUE_FLIP = {"=": "=", "<>": "<>", ">": "<", ">=": "<=", "<": ">", "<=": ">="}


def glue_expression(conjuncts: list[exp.Expression], partition_keys: list[dict]) -> str | None:
    """Glue GetPartitions ``Expression`` for the conjuncts it can evaluate exactly (None if none).

    Only integer keys compared with integer literals and string keys with string literals, via
    =, <>, <, <=, >, >=, IN, BETWEEN, AND, OR: Glue then returns a superset of the partitions the
    conjuncts keep (NULL partitions may come back; local pruning removes them). Example::

        _glue_expression([parse_one("year = 2014 AND month IN (1, 2)")], [{"Name": "year", "Type": "int"}, ...])
        -> "(year = 2014) AND (month IN (1, 2))"
    """
    keys = {k["Name"].lower(): (k["Name"], (k.get("Type") or "").lower()) for k in partition_keys}

    def literal(node: exp.Expression, typ: str) -> str | None:
        neg = False
        if isinstance(node, exp.Neg):
            node, neg = node.this, True
        if not isinstance(node, exp.Literal):
            return None
        if typ in _GLUE_INT and node.is_number and re.fullmatch(r"\d+", node.this):
            return ("-" if neg else "") + str(int(node.this))
        if typ in _GLUE_STR and node.is_string and not neg:
            return "'" + node.this.replace("'", "''") + "'"
        return None

    def key(node: exp.Expression) -> tuple[str, str] | None:
        if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
            k = keys.get(node.name.lower())
            if k is not None and re.fullmatch(r"[A-Za-z0-9._]+", k[0]):
                return k
        return None

    def tr(node: exp.Expression) -> str | None:
        if isinstance(node, exp.Paren):
            return tr(node.this)
        if isinstance(node, (exp.And, exp.Or)):
            left, right = tr(node.left), tr(node.right)
            if isinstance(node, exp.And) and (left is None or right is None):
                return left or right  # dropping one side of an AND keeps a superset
            if left is None or right is None:
                return None
            return f"({left}) {'AND' if isinstance(node, exp.And) else 'OR'} ({right})"
        op = _GLUE_OPS.get(type(node))
        if op is not None:
            k, other = key(node.left), node.right
            if k is None:
                k, other, op = key(node.right), node.left, _GLUE_FLIP[op]
            if k is None:
                return None
            lit = literal(other, k[1])
            return None if lit is None else f"{k[0]} {op} {lit}"
        if isinstance(node, exp.In) and not node.args.get("query") and not node.args.get("unnest"):
            k = key(node.this)
            lits = [literal(e, k[1]) for e in node.expressions] if k else []
            if not k or not lits or any(v is None for v in lits):
                return None
            return f"{k[0]} IN ({', '.join(lits)})"  # type: ignore[arg-type]
        if isinstance(node, exp.Between):
            k = key(node.this)
            if k is None:
                return None
            low, high = literal(node.args["low"], k[1]), literal(node.args["high"], k[1])
            return None if low is None or high is None else f"{k[0]} BETWEEN {low} AND {high}"
        return None

    parts = [t for t in (tr(c) for c in conjuncts) if t]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " AND ".join(f"({t})" for t in parts)
