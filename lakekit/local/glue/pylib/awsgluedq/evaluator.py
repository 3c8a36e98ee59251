"""Evaluate parsed DQDL rules on a Spark DataFrame, the way Glue Data Quality does.

Semantics, metric names and failure messages follow AWS's open-source port of Glue's evaluator
(awslabs/deequ ``com.amazon.deequ.dqdl``: ``translation/rules/*Rule.scala``, ``RuleOutcome``,
``ReferentialIntegrityExecutor``, ``RowLevelResultHelper``):

* metrics ``Dataset.*.RowCount``, ``Column.<c>.Completeness``, ``Column.<c>.Uniqueness`` /
  ``Multicolumn.<a,b>.Uniqueness``, ``Column.<c>.Mean|Sum|StandardDeviation|DistinctValuesCount``,
  ``Column.<c>.Minimum|Maximum`` (ColumnValues with a plain comparison), ``Column.<c>.ColumnValues.Compliance``
  (between / in / != / matches / with threshold), ``Column.<alias>.ReferentialIntegrity``,
  ``Dataset.*.CustomSQL``;
* ``between`` is exclusive; NULL fails a ColumnValues check except ``!=`` / ``not in`` / lists with NULL;
* a failed check says ``Value: <v> does not meet the constraint requirement!``;
* Uniqueness is rows whose key occurs once / all rows; StandardDeviation is the population one.

Simple aggregates of all rules run in one Spark pass, with the row counts of uniqueness and the
matches of referential integrity (each reference's distinct keys broadcast-joined to the frame, a
flag per rule); uniqueness then runs one grouped query each, CustomSql one query each.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from .dqdl import Composite, Condition, Rule

__all__ = ["Outcome", "evaluate", "row_level", "scala_double", "PASSED", "FAILED"]

PASSED, FAILED = "Passed", "Failed"


@dataclass
class Outcome:
    rule: Rule | Composite
    outcome: str
    failure_reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    row_pass: Column | None = None  # per-row boolean (None: the rule has no row-level result)


def scala_double(x: float) -> str:
    """``Double.toString`` as the JVM prints it (``0.5``, ``3.0``, ``1.0E7``, ``1.0E-4``)."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        r = repr(x)
        return r if "." in r else r + ".0"
    _, digits, exp = Decimal(repr(abs(x))).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = len(digits) + int(exp) - 1
    return ("-" if x < 0 else "") + f"{ds[0]}.{ds[1:] or '0'}E{exponent}"


def _not_met(value: Any, bang: bool = True) -> str:
    if value is None:
        shown = "NULL"
    elif isinstance(value, int):
        shown = str(value)
    else:
        shown = scala_double(value)
    return f"Value: {shown} does not meet the constraint requirement{'!' if bang else '.'}"


def _c(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def check(cond: Condition, x: Any) -> bool:
    """Does a dataset-level value satisfy a number condition?"""
    a = cond.args
    if x is None:
        return False
    if cond.op == "between":
        return a[0] < x < a[1]
    if cond.op == "not between":
        return not a[0] < x < a[1]
    if cond.op == "in":
        return x in a
    if cond.op == "not in":
        return x not in a
    return {"=": x == a[0], "!=": x != a[0], ">": x > a[0], ">=": x >= a[0],
            "<": x < a[0], "<=": x <= a[0]}[cond.op]


def _num_row(cond: Condition, c: Column) -> Column:
    """Row predicate of a numeric ColumnValues condition (deequ's SQL, nulls included)."""
    a = cond.args
    nums = [v for v in a if v is not None]
    has_null = None in a
    op = cond.op
    if op == "between":
        return c.isNotNull() & (c > a[0]) & (c < a[1])
    if op == "not between":
        return c.isNotNull() & ((c <= a[0]) | (c >= a[1]))
    if op == "in":
        p = c.isin(*nums) if nums else F.lit(False)
        return (p | c.isNull()) if has_null else (c.isNotNull() & p)
    if op == "not in":
        p = ~c.isin(*nums) if nums else F.lit(True)
        return (p & c.isNotNull()) if has_null else (c.isNull() | p)
    if op == "=":
        return c.isNull() if has_null else (c.isNotNull() & (c == a[0]))
    if op == "!=":
        return c.isNotNull() if has_null else (c.isNull() | (c != a[0]))
    return c.isNotNull() & {">": c > a[0], ">=": c >= a[0], "<": c < a[0], "<=": c <= a[0]}[op]


def _str_row(cond: Condition, c: Column) -> Column:
    """Row predicate of a string ColumnValues condition (deequ ``constructComplianceCondition``)."""
    vals = [v for v in cond.args if v is not None]
    has_null = None in cond.args or (cond.op in ("=", "!=") and not cond.args and "NULL" in cond.keywords)
    empty = "EMPTY" in cond.keywords
    blank = "WHITESPACES_ONLY" in cond.keywords
    if cond.op in ("matches", "not matches"):
        p = c.rlike("^" + cond.args[0] + "$")
        return c.isNotNull() & (p if cond.op == "matches" else ~p)
    negated = cond.op in ("!=", "not in")
    parts: list[Column] = []
    if negated:
        if has_null:
            parts.append(c.isNotNull())
        if empty:
            parts.append(c != "")
        if blank:
            parts.append((F.length(F.trim(c)) > 0) | (F.length(c) == 0))
        if vals:
            parts.append(c.isNull() | ~c.isin(*vals))
        out = F.lit(True)
        for p in parts:
            out = out & p
        return out
    if has_null:
        parts.append(c.isNull())
    if empty:
        parts.append(c == "")
    if blank:
        parts.append((F.length(F.trim(c)) == 0) & (F.length(c) > 0))
    if vals:
        parts.append(c.isNotNull() & c.isin(*vals))
    out = F.lit(False)
    for p in parts:
        out = out | p
    return out


def _where(rule: Rule) -> Column:
    return F.expr(rule.where) if rule.where else F.lit(True)


class _Plan:
    """Collects aggregate expressions of all rules into one ``df.agg``."""

    def __init__(self) -> None:
        self.aggs: list[Column] = []

    def add(self, expr: Column) -> str:
        name = f"__a{len(self.aggs)}"
        self.aggs.append(expr.alias(name))
        return name


def _flatten(rules: list[Rule | Composite]) -> list[Rule]:
    out: list[Rule] = []
    for r in rules:
        out.extend(_flatten(r.rules) if isinstance(r, Composite) else [r])
    return out


def evaluate(df: DataFrame, rules: list[Rule | Composite],
             references: dict[str, DataFrame] | None = None) -> list[Outcome]:
    """One :class:`Outcome` per top-level rule, in ruleset order."""
    references = references or {}
    leaves = _flatten(rules)
    plan = _Plan()
    pending: dict[int, Any] = {}
    base = df
    for i, r in enumerate(leaves):
        pending[id(r)] = _prepare(df, r, plan)
        if r.kind == "ReferentialIntegrity" and not _missing(df, _key_columns(r)):
            base = _join_reference(base, r, references, plan, pending[id(r)], i)
    row = base.agg(*plan.aggs).collect()[0].asDict() if plan.aggs else {}
    done: dict[int, Outcome] = {id(r): _finish(df, r, pending[id(r)], row, references) for r in leaves}
    return [_compose(r, done) for r in rules]


def _join_reference(base: DataFrame, r: Rule, references: dict[str, DataFrame], plan: _Plan,
                    p: dict[str, Any], i: int) -> DataFrame:
    """Left-join the reference's distinct keys (broadcast) with a match flag; register its sums.

    Distinct keys never multiply rows, so every other aggregate of the pass is unchanged; a NULL
    key matches nothing (as a semi join). A reference that is absent or lacks the columns is left
    to :func:`_referential` to report."""
    primary, alias, ref_cols = _ref_spec(r)
    ref = references.get(alias)
    if ref is None or len(primary) != len(ref_cols) or _missing(ref, ref_cols):
        return base
    flag = _RI_FLAG.format(i)
    keys = ref.select(*[_c(c).alias(f"{flag}_k{j}") for j, c in enumerate(ref_cols)]).distinct() \
        .withColumn(flag, F.lit(True))
    cond = None
    for j, c in enumerate(primary):
        e = _c(c) == F.col(f"{flag}_k{j}")
        cond = e if cond is None else cond & e
    p["ri_total"] = plan.add(F.count(F.lit(1)))
    p["ri_matched"] = plan.add(F.sum(F.when(F.col(flag), 1).otherwise(0)))
    return base.join(F.broadcast(keys), cond, "left").drop(*[f"{flag}_k{j}" for j in range(len(ref_cols))])


def _compose(rule: Rule | Composite, done: dict[int, Outcome]) -> Outcome:
    if isinstance(rule, Rule):
        return done[id(rule)]
    parts = [_compose(r, done) for r in rule.rules]
    ok = all(p.outcome == PASSED for p in parts) if rule.operator == "and" \
        else any(p.outcome == PASSED for p in parts)
    reasons = [p.failure_reason for p in parts if p.failure_reason]
    metrics: dict[str, float] = {}
    for p in parts:
        metrics.update(p.metrics)
    row: Column | None = None
    if all(p.row_pass is not None for p in parts):
        row = parts[0].row_pass
        for p in parts[1:]:
            row = (row & p.row_pass) if rule.operator == "and" else (row | p.row_pass)  # type: ignore[operator]
    return Outcome(rule, PASSED if ok else FAILED, "\n".join(reasons) or None, metrics, row)


def _missing(df: DataFrame, cols: list[str]) -> str | None:
    for c in cols:
        if c not in df.columns:
            return f"Input data does not include column {c}!"
    return None


def _prepare(df: DataFrame, r: Rule, plan: _Plan) -> dict[str, Any]:
    """Register the aggregates a rule needs; return what :func:`_finish` reads back."""
    w = _where(r)
    k = r.kind
    p: dict[str, Any] = {}
    if k in ("RowCount", "Completeness", "IsComplete", "ColumnValues", "ColumnLength"):
        p["n"] = plan.add(F.sum(F.when(w, 1).otherwise(0)))
    cols = _key_columns(r)
    if _missing(df, cols):
        return p
    if k in ("Completeness", "IsComplete"):
        p["nonnull"] = plan.add(F.count(F.when(w, _c(cols[0]))))
    elif k in ("Mean", "Sum", "StandardDeviation", "DistinctValuesCount"):
        c = F.when(w, _c(cols[0]))
        fn = {"Mean": F.avg, "Sum": F.sum, "StandardDeviation": F.stddev_pop,
              "DistinctValuesCount": F.count_distinct}[k]
        p["value"] = plan.add(fn(c))
    elif k == "ColumnValues":
        c = _c(cols[0])
        pred = _num_row(r.condition, c) if r.condition.kind == "number" else _str_row(r.condition, c)
        p["pass"] = plan.add(F.sum(F.when(w & F.coalesce(pred, F.lit(False)), 1).otherwise(0)))
        p["nonnull"] = plan.add(F.count(F.when(w, c)))
        p["min"] = plan.add(F.min(F.when(w, c)))
        p["max"] = plan.add(F.max(F.when(w, c)))
        p["row"] = F.coalesce(pred, F.lit(False))
    elif k in ("IsUnique", "Uniqueness", "IsPrimaryKey"):
        p["total"] = plan.add(F.sum(F.when(w, 1).otherwise(0)) if r.where else F.count(F.lit(1)))
        if k == "IsPrimaryKey":
            p["nn"] = {c: plan.add(F.count(F.when(w, _c(c))) if r.where else F.count(_c(c))) for c in cols}
    elif k == "ColumnLength":
        ln = F.length(_c(cols[0]).cast("string"))
        pred = F.coalesce(_num_row(r.condition, ln), F.lit(False))
        p["pass"] = plan.add(F.sum(F.when(w & pred, 1).otherwise(0)))
        p["min"] = plan.add(F.min(F.when(w, ln)))
        p["max"] = plan.add(F.max(F.when(w, ln)))
        p["nonnull"] = plan.add(F.count(F.when(w, ln)))
        p["row"] = pred
    return p


def _key_columns(r: Rule) -> list[str]:
    if r.kind in ("RowCount", "ColumnCount", "CustomSql", "ColumnExists"):
        return []
    if r.kind == "ReferentialIntegrity":
        return [c.strip() for c in r.params[0].split(",")]
    return list(r.params)


def _ratio(num: float, den: float) -> float | None:
    return (num / den) if den else None


def _finish(df: DataFrame, r: Rule, p: dict[str, Any], row: dict[str, Any],
            references: dict[str, DataFrame]) -> Outcome:
    k = r.kind
    w = _where(r)
    cols = _key_columns(r)
    missing = _missing(df, cols)
    if missing:
        return Outcome(r, FAILED, missing)
    n = int(row[p["n"]] or 0) if "n" in p else None
    empty_ok = r.where is not None  # deequ: everything filtered out by the where clause passes
    if k == "RowCount":
        ok = check(r.condition, n)
        return Outcome(r, PASSED if ok else FAILED, None if ok else _not_met(n),
                       {"Dataset.*.RowCount": float(n)})
    if k == "ColumnCount":
        cnt = len(df.columns)
        ok = check(r.condition, cnt)
        return Outcome(r, PASSED if ok else FAILED, None if ok else _not_met(cnt),
                       {"Dataset.*.ColumnCount": float(cnt)})
    if k == "ColumnExists":
        ok = r.params[0] in df.columns
        return Outcome(r, PASSED if ok else FAILED,
                       None if ok else f"Input data does not include column {r.params[0]}!",
                       {f"Dataset.{r.params[0]}.ColumnExists": 1.0 if ok else 0.0})
    if k in ("Completeness", "IsComplete"):
        ratio = _ratio(int(row[p["nonnull"]] or 0), n)
        key = f"Column.{cols[0]}.Completeness"
        rp = F.when(w, _c(cols[0]).isNotNull())
        if ratio is None:
            return _empty(r, key, empty_ok, rp)
        ok = ratio == 1.0 if k == "IsComplete" else check(r.condition, ratio)
        return Outcome(r, PASSED if ok else FAILED, None if ok else _not_met(ratio), {key: ratio}, rp)
    if k in ("Mean", "Sum", "StandardDeviation", "DistinctValuesCount"):
        v = row[p["value"]]
        key = f"Column.{cols[0]}.{k}"
        if v is None:
            return _empty(r, key, empty_ok, None)
        v = int(v) if k == "DistinctValuesCount" else float(v)
        ok = check(r.condition, v)
        return Outcome(r, PASSED if ok else FAILED, None if ok else _not_met(v), {key: float(v)})
    if k == "ColumnValues":
        return _column_values(r, p, row, n, cols[0], w)
    if k == "ColumnLength":
        return _column_length(r, p, row, n, cols[0], w)
    if k in ("IsUnique", "Uniqueness", "IsPrimaryKey"):
        return _uniqueness(df, r, cols, w, p, row)
    if k == "ReferentialIntegrity":
        return _referential(df, r, references, p, row)
    if k == "CustomSql":
        return _custom_sql(df, r)
    raise AssertionError(f"rule type {k} reached the evaluator")  # the parser refuses it


def _empty(r: Rule, key: str, ok: bool, rp: Column | None) -> Outcome:
    if ok:
        return Outcome(r, PASSED, None, {}, rp)
    return Outcome(r, FAILED, f"Empty state for analyzer {key.rsplit('.', 1)[-1]}, all input values "
                              f"were NULL.", {}, rp)


def _column_values(r: Rule, p: dict[str, Any], row: dict[str, Any], n: int, col: str,
                   w: Column) -> Outcome:
    cond = r.condition
    passed = int(row[p["pass"]] or 0)
    rp = F.when(w, p["row"])
    plain = cond.kind == "number" and r.threshold is None and cond.op in (">", ">=", "<", "<=", "=") \
        and None not in cond.args
    if not n:
        return Outcome(r, PASSED, None, {}, rp) if r.where else \
            Outcome(r, FAILED, f"Empty state for analyzer Minimum({col}), all input values were NULL.",
                    {}, rp)
    if plain:
        mn, mx = row[p["min"]], row[p["max"]]
        metrics: dict[str, float] = {}
        reasons = []
        if cond.op in (">", ">=", "="):
            if mn is not None:
                metrics[f"Column.{col}.Minimum"] = float(mn)
            if mn is None or not check(cond, mn):
                reasons.append(_not_met(float(mn) if mn is not None else None))
        if cond.op in ("<", "<=", "="):
            if mx is not None:
                metrics[f"Column.{col}.Maximum"] = float(mx)
            if mx is None or not check(cond, mx):
                reasons.append(_not_met(float(mx) if mx is not None else None))
        if int(row[p["nonnull"]] or 0) != n:
            reasons.append("Value: NULL does not meet the constraint requirement!")
        reasons = list(dict.fromkeys(reasons))
        ok = not reasons
        return Outcome(r, PASSED if ok else FAILED, "\n".join(reasons) or None, metrics, rp)
    ratio = passed / n
    ok = check(r.threshold, ratio) if r.threshold is not None else ratio == 1.0
    return Outcome(r, PASSED if ok else FAILED, None if ok else _not_met(ratio),
                   {f"Column.{col}.ColumnValues.Compliance": ratio}, rp)


def _column_length(r: Rule, p: dict[str, Any], row: dict[str, Any], n: int, col: str,
                   w: Column) -> Outcome:
    """Min/MaximumLength against a plain comparison; LengthCompliance otherwise; NULL fails."""
    cond = r.condition
    rp = F.when(w, p["row"])
    if not n:
        return _empty(r, f"Column.{col}.MaximumLength", r.where is not None, rp)
    mn, mx = row[p["min"]], row[p["max"]]
    metrics: dict[str, float] = {}
    if mn is not None:
        metrics = {f"Column.{col}.MinimumLength": float(mn), f"Column.{col}.MaximumLength": float(mx)}
    reasons = []
    if cond.op in (">", ">=", "<", "<=", "=") and None not in cond.args:
        if cond.op in (">", ">=", "=") and (mn is None or not check(cond, mn)):
            reasons.append(_not_met(float(mn) if mn is not None else None))
        if cond.op in ("<", "<=", "=") and (mx is None or not check(cond, mx)):
            reasons.append(_not_met(float(mx) if mx is not None else None))
        if int(row[p["nonnull"]] or 0) != n:
            reasons.append("Value: NULL does not meet the constraint requirement!")
    else:
        ratio = int(row[p["pass"]] or 0) / n
        metrics[f"Column.{col}.LengthCompliance"] = ratio
        if ratio != 1.0:
            reasons.append(_not_met(ratio))
    reasons = list(dict.fromkeys(reasons))
    return Outcome(r, FAILED if reasons else PASSED, "\n".join(reasons) or None, metrics, rp)


def _uniqueness(df: DataFrame, r: Rule, cols: list[str], w: Column, p: dict[str, Any],
                row: dict[str, Any]) -> Outcome:
    scoped = df.where(w) if r.where else df
    total = int(row[p["total"]] or 0)
    any_nonnull = F.lit(False)
    for c in cols:
        any_nonnull = any_nonnull | _c(c).isNotNull()
    unique = 0
    if total:
        groups = scoped.where(any_nonnull).groupBy(*[_c(c) for c in cols]).count()
        unique = int(groups.agg(F.sum(F.when(F.col("count") == 1, 1).otherwise(0))).collect()[0][0] or 0)
    key = (f"Column.{cols[0]}.Uniqueness" if len(cols) == 1
           else f"Multicolumn.{','.join(cols)}.Uniqueness")
    win = Window.partitionBy(*[_c(c) for c in cols])
    rp = F.when(w, F.coalesce(any_nonnull & (F.count(F.lit(1)).over(win) == 1), F.lit(False)))
    if not total:
        return _empty(r, key, r.where is not None, rp)
    ratio = unique / total
    metrics = {key: ratio}
    reasons = []
    if r.kind == "Uniqueness":
        ok = check(r.condition, ratio)
        if not ok:
            reasons.append(_not_met(ratio))
    else:
        if ratio != 1.0:
            reasons.append(_not_met(ratio))
    if r.kind == "IsPrimaryKey":
        all_nonnull = F.lit(True)
        for c in cols:
            comp = int(row[p["nn"][c]] or 0) / total
            metrics[f"Column.{c}.Completeness"] = comp
            all_nonnull = all_nonnull & _c(c).isNotNull()
            if comp != 1.0:
                reasons.append(_not_met(comp))
        rp = F.when(w, F.coalesce(all_nonnull & (F.count(F.lit(1)).over(win) == 1), F.lit(False)))
    ok = not reasons
    return Outcome(r, PASSED if ok else FAILED, "\n".join(reasons) or None, metrics, rp)


def _ref_spec(r: Rule) -> tuple[list[str], str, list[str]]:
    primary = [c.strip() for c in r.params[0].split(",")]
    alias, _, rest = r.params[1].partition(".")
    rest = rest.strip()
    if rest.startswith("{") and rest.endswith("}"):
        rest = rest[1:-1]
    return primary, alias, [c.strip() for c in rest.split(",")]


_RI_FLAG = "__lakekit_dq_ri_{}"


def _referential(df: DataFrame, r: Rule, references: dict[str, DataFrame], p: dict[str, Any],
                 row: dict[str, Any]) -> Outcome:
    primary, alias, ref_cols = _ref_spec(r)
    ref = references.get(alias)
    if ref is None:
        return Outcome(r, FAILED, f"{alias} not found in additional sources")
    if len(primary) != len(ref_cols):
        return Outcome(r, FAILED, "Primary and reference column counts differ: "
                                  f"{len(primary)} vs {len(ref_cols)}.")
    missing = _missing(ref, ref_cols)
    if missing:
        return Outcome(r, FAILED, missing)
    total = int(row[p["ri_total"]] or 0)  # the pass of evaluate() counted them (_join_reference)
    matched = int(row[p["ri_matched"]] or 0)
    ratio = matched / total if total else 0.0
    ok = check(r.condition, ratio)
    return Outcome(r, PASSED if ok else FAILED, None if ok else _not_met(ratio, bang=False),
                   {f"Column.{alias}.ReferentialIntegrity": ratio})


def _custom_sql(df: DataFrame, r: Rule) -> Outcome:
    spark = df.sparkSession
    view = "primary"
    df.createOrReplaceTempView(view)
    try:
        result = spark.sql(r.params[0])
        if r.condition is not None:
            rows = result.take(2)
            if len(rows) != 1 or len(rows[0]) != 1:
                return Outcome(r, FAILED, "Custom SQL did not return a single numeric value.")
            v = rows[0][0]
            if not isinstance(v, (int, float)) and v is not None:
                try:
                    v = float(v)
                except (TypeError, ValueError):
                    return Outcome(r, FAILED, "Custom SQL did not return a single numeric value.")
            ok = v is not None and check(r.condition, v)
            return Outcome(r, PASSED if ok else FAILED,
                           None if ok else _not_met(float(v) if v is not None else None),
                           {"Dataset.*.CustomSQL": float(v)} if v is not None else {})
        returned = result.columns
        extra = [c for c in returned if c not in df.columns]
        if extra:
            return Outcome(r, FAILED, "The columns returned from the SQL statement should only belong to "
                                      "the primary table.")
        total = df.count()
        matched = df.join(result.distinct(), [df[c].eqNullSafe(result[c]) for c in returned],
                          "left_semi").count() if returned else 0
    except Exception as exc:  # Glue reports SQL errors as the rule's failure reason
        return Outcome(r, FAILED, f"Error executing SQL statement: {str(exc).splitlines()[0]}")
    ratio = matched / total if total else 1.0
    ok = check(r.threshold, ratio) if r.threshold is not None else ratio == 1.0
    return Outcome(r, PASSED if ok else FAILED, None if ok else _not_met(ratio, bang=False),
                   {"Dataset.*.CustomSQL.Compliance": ratio})


def row_level(df: DataFrame, outcomes: list[Outcome]) -> DataFrame:
    """``df`` plus DataQualityRulesPass / Fail / Skip and DataQualityEvaluationResult per row."""
    flags: list[tuple[str, str]] = []
    out = df
    for i, o in enumerate(outcomes):
        if o.row_pass is not None:
            name = f"__lakekit_dq_{i}"
            out = out.withColumn(name, o.row_pass)
            flags.append((name, o.rule.text))
    rule_names = [o.rule.text for o in outcomes]
    by_flag = {n for n, _ in flags}

    def names(test: Any) -> Column:
        parts = [F.when(test(F.col(n)), F.lit(t)) for n, t in flags]
        return F.filter(F.array(*parts), lambda x: x.isNotNull()) if parts \
            else F.array().cast("array<string>")

    skipped_always = [t for i, t in enumerate(rule_names) if f"__lakekit_dq_{i}" not in by_flag]
    out = out.withColumn("DataQualityRulesPass", names(lambda c: c == F.lit(True)))
    out = out.withColumn("DataQualityRulesFail", names(lambda c: c == F.lit(False)))
    skip_null = names(lambda c: c.isNull())
    out = out.withColumn("DataQualityRulesSkip", F.concat(
        F.array(*[F.lit(t) for t in skipped_always]).cast("array<string>"), skip_null))
    out = out.withColumn("DataQualityEvaluationResult",
                         F.when(F.size("DataQualityRulesFail") == 0, F.lit(PASSED)).otherwise(F.lit(FAILED)))
    return out.drop(*by_flag)
