"""DQDL (Data Quality Definition Language) parser for the local ``awsgluedq``.

Follows the open-source DQDL grammar and rule catalogue (awslabs/dqdl:
``configuration/dqdl/DataQualityDefinitionLanguage.g4`` and ``configuration/rules/rules-config.json``)
and its error wording (``DQDLParser``/``DQDLParserListener``: ``Parsing Error: Rule Type: X is not
valid``, ``Threshold condition not supported for rule type: X``, ...). A rule is rendered back the
way ``DQRule.toString`` renders it (that text is the ``Rule`` column and the result's ``Name``).

Valid DQDL that this local evaluator does not compute (dynamic rules such as ``avg(last(3))``,
date/duration conditions, DataFreshness, DetectAnomalies, ...) raises
:class:`UnsupportedDataQualityRuleError` - never a silent pass.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InvalidDataQualityRulesetException", "UnsupportedDataQualityRuleError", "Condition",
           "Rule", "Composite", "Ruleset", "parse", "RULE_TYPES", "EVALUATED"]

# rule type -> (parameter names, var-arg last, return types, threshold, where) from rules-config.json
RULE_TYPES: dict[str, tuple[tuple[str, ...], bool, tuple[str, ...], bool, bool]] = {
    "RowCount": ((), False, ("NUMBER",), False, True),
    "RowCountMatch": (("ReferenceDatasetAlias",), False, ("NUMBER",), False, False),
    "ColumnCount": ((), False, ("NUMBER",), False, False),
    "Completeness": (("TargetColumn",), False, ("NUMBER",), False, True),
    "IsComplete": (("TargetColumn",), False, ("BOOLEAN",), False, True),
    "ColumnDataType": (("TargetColumn",), False, ("STRING",), True, True),
    "ColumnNamesMatchPattern": (("PatternToMatch",), False, ("BOOLEAN",), False, False),
    "ColumnExists": (("TargetColumn",), False, ("BOOLEAN",), False, False),
    "ColumnCorrelation": (("TargetColumn1", "TargetColumn2"), False, ("NUMBER",), False, True),
    "Uniqueness": (("TargetColumn",), True, ("NUMBER",), False, True),
    "IsUnique": (("TargetColumn",), True, ("BOOLEAN",), False, True),
    "Mean": (("TargetColumn",), False, ("NUMBER",), False, True),
    "Sum": (("TargetColumn",), False, ("NUMBER",), False, True),
    "StandardDeviation": (("TargetColumn",), False, ("NUMBER",), False, True),
    "Variance": (("TargetColumn",), False, ("NUMBER",), False, True),
    "Entropy": (("TargetColumn",), False, ("NUMBER",), False, True),
    "DistinctValuesCount": (("TargetColumn",), False, ("NUMBER",), False, True),
    "UniqueValueRatio": (("TargetColumn",), False, ("NUMBER",), False, True),
    "ColumnLength": (("TargetColumn",), False, ("NUMBER",), False, True),
    "IsPrimaryKey": (("TargetColumn",), True, ("BOOLEAN",), False, True),
    "ColumnValues": (("TargetColumn",), False, ("STRING_ARRAY", "NUMBER_ARRAY", "DATE_ARRAY"), True, True),
    "DataFreshness": (("TargetColumn",), False, ("DURATION_ARRAY",), False, True),
    "CustomSql": (("CustomSqlStatement",), False, ("NUMBER", "BOOLEAN"), True, False),
    "ReferentialIntegrity": (("PrimaryDatasetColumns", "ReferenceDatasetColumns"), False, ("NUMBER",),
                             False, False),
    "DatasetMatch": (("ReferenceDatasetAlias", "KeyColumnMappings"), False, ("NUMBER",), False, False),
    "SchemaMatch": (("ReferenceDatasetAlias",), False, ("NUMBER",), False, False),
    "AggregateMatch": (("AggregateExpression1", "AggregateExpression2"), False, ("NUMBER",), False, False),
    "DetectAnomalies": (("MetricParameter",), True, ("BOOLEAN",), False, False),
    "AllStatistics": (("TargetColumn",), False, ("NUMBER",), False, False),
}
_DATASET_MATCH_3 = ("ReferenceDatasetAlias", "KeyColumnMappings", "MatchColumnMappings")

#: The rule types this local evaluator computes; other valid types are refused.
EVALUATED = frozenset({
    "RowCount", "ColumnCount", "Completeness", "IsComplete", "ColumnExists", "Uniqueness", "IsUnique",
    "IsPrimaryKey", "Mean", "Sum", "StandardDeviation", "DistinctValuesCount", "ColumnLength",
    "ColumnValues", "CustomSql", "ReferentialIntegrity",
})


class InvalidDataQualityRulesetException(ValueError):
    """The ruleset is not valid DQDL (Glue: ``InvalidDataQualityRulesetException``)."""


class UnsupportedDataQualityRuleError(NotImplementedError):
    """Valid DQDL that the local Glue runner does not evaluate (refused, never passed)."""


@dataclass
class Condition:
    """A DQDL condition: ``op`` in = != > >= < <= between "not between" in "not in" matches
    "not matches"; ``args`` numbers, strings or ``None`` (NULL); ``keywords`` EMPTY /
    WHITESPACES_ONLY in string conditions."""

    op: str
    args: list[Any] = field(default_factory=list)
    kind: str = "number"  # number | string
    keywords: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # operands as written

    def render(self) -> str:
        t = self.texts
        if self.op in ("between", "not between"):
            return f"{self.op} {t[0]} and {t[1]}"
        if self.op in ("in", "not in"):
            return f"{self.op} [{','.join(t)}]"
        return f"{self.op} {t[0]}"


@dataclass(eq=False)
class Rule:
    """One parsed DQDL rule (``text`` as Glue renders it)."""

    kind: str
    params: list[str]
    condition: Condition | None = None
    threshold: Condition | None = None
    where: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        out = [self.kind, *(json.dumps(p, ensure_ascii=False) for p in self.params)]
        if self.condition is not None:
            out.append(self.condition.render())
        if self.where is not None:
            out.append(f"where {json.dumps(self.where, ensure_ascii=False)}")
        if self.threshold is not None:
            out.append(f"with threshold {self.threshold.render()}")
        if self.labels:
            out.append("labels=[" + ", ".join(f'"{k}"="{v}"' for k, v in self.labels.items()) + "]")
        return " ".join(out)

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False)
class Composite:
    """``(rule) and (rule)`` / ``(rule) or (rule)``."""

    operator: str  # "and" | "or"
    rules: list[Rule | Composite]
    kind: str = "Composite"

    @property
    def text(self) -> str:
        return f" {self.operator} ".join(f"({r.text})" for r in self.rules)

    def __str__(self) -> str:
        return self.text


@dataclass
class Ruleset:
    rules: list[Rule | Composite]


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)'
    r'|(?P<op>>=|<=|!=|=|>|<)|(?P<punct>[\[\](),{}:$+*/-])|(?P<word>[A-Za-z_][\w.]*(?:\(\))?))')
_KEYWORDS = {"NULL", "EMPTY", "WHITESPACES_ONLY"}


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, Any, str, int, int]] = []  # kind, value, raw, line, col
        pos, line, line_start = 0, 1, 0
        while True:
            m = _TOKEN.match(text, pos)
            ws_end = len(text) - len(text[pos:].lstrip())
            for i in range(pos, ws_end):
                if text[i] == "\n":
                    line, line_start = line + 1, i + 1
            if ws_end >= len(text):
                break
            if not m or m.end() == pos or m.lastgroup is None:
                raise InvalidDataQualityRulesetException(
                    f"Parsing Error: line {line}:{ws_end - line_start} token recognition error at: "
                    f"'{text[ws_end]}'")
            kind = m.lastgroup
            raw = m.group(kind)
            start = m.start(kind)
            for i in range(ws_end, start):
                if text[i] == "\n":
                    line, line_start = line + 1, i + 1
            value: Any = raw
            if kind == "str":
                value = json.loads(raw) if "\\" in raw else raw[1:-1]
            self.items.append((kind, value, raw, line, start - line_start))
            pos = m.end()
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, Any, str, int, int] | None:
        j = self.i + k
        return self.items[j] if j < len(self.items) else None

    def next(self) -> tuple[str, Any, str, int, int]:
        tok = self.peek()
        if tok is None:
            raise InvalidDataQualityRulesetException("Parsing Error: line 1:0 mismatched input '<EOF>'")
        self.i += 1
        return tok

    def is_(self, raw: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok[2] == raw

    def expect(self, raw: str) -> None:
        tok = self.peek()
        if tok is None or tok[2] != raw:
            self.fail(f"expecting '{raw}'")
        self.i += 1

    def fail(self, what: str) -> None:
        tok = self.peek()
        if tok is None:
            last = self.items[-1] if self.items else ("", "", "", 1, 0)
            raise InvalidDataQualityRulesetException(
                f"Parsing Error: line {last[3]}:{last[4] + len(last[2])} mismatched input '<EOF>' {what}")
        raise InvalidDataQualityRulesetException(
            f"Parsing Error: line {tok[3]}:{tok[4]} mismatched input '{tok[2]}' {what}")


def _unsupported(what: str) -> UnsupportedDataQualityRuleError:
    return UnsupportedDataQualityRuleError(
        f"{what} is valid DQDL on AWS Glue but the local Glue runner does not evaluate it (lakekit "
        f"refuses it instead of reporting a result it did not compute). Remove it from the ruleset "
        f"for local runs, or run the job on AWS.")


def _number_value(toks: _Tokens) -> tuple[Any, str]:
    kind, value, raw, _, _ = toks.next()
    if kind == "num":
        nxt = toks.peek()
        if nxt is not None and nxt[2] in ("+", "-", "*", "/") and nxt[0] == "punct":
            raise _unsupported("An arithmetic expression in a DQDL condition")
        return (float(raw) if re.search(r"[.eE]", raw) else int(raw)), raw
    if kind == "word" and raw == "NULL":
        return None, "NULL"
    if kind == "word" and (toks.is_("(") or raw.endswith("()")):
        raise _unsupported(f"The function call {raw}(...) (a dynamic rule)")
    if kind == "punct" and raw == "(":
        raise _unsupported("A parenthesised or dynamic expression in a DQDL condition")
    toks.i -= 1
    toks.fail("expecting a number")
    raise AssertionError  # pragma: no cover


def _string_value(toks: _Tokens) -> tuple[Any, str]:
    kind, value, raw, _, _ = toks.next()
    if kind == "str":
        return value, raw
    if kind == "word" and raw in _KEYWORDS:
        return (None if raw == "NULL" else ("__kw__", raw)), raw
    if kind == "punct" and raw == "$":
        raise _unsupported("A DQDL variable ($name)")
    toks.i -= 1
    toks.fail("expecting a quoted string, NULL, EMPTY or WHITESPACES_ONLY")
    raise AssertionError  # pragma: no cover


def _condition(toks: _Tokens, rule_type: str) -> Condition | None:
    tok = toks.peek()
    if tok is None:
        return None
    raw = tok[2]
    neg = False
    if raw == "not":
        neg = True
        toks.next()
        tok = toks.peek()
        raw = tok[2] if tok else ""
    if raw in ("between",):
        toks.next()
        a = _bound(toks)
        toks.expect("and")
        b = _bound(toks)
        kind = "number"
        return Condition(("not " if neg else "") + "between", [a[0], b[0]], kind, texts=[a[1], b[1]])
    if raw == "in":
        toks.next()
        if toks.is_("$"):
            raise _unsupported("A DQDL variable ($name)")
        toks.expect("[")
        vals: list[tuple[Any, str]] = []
        kind = "number"
        first = toks.peek()
        if first is not None and (first[0] == "str" or first[2] in ("EMPTY", "WHITESPACES_ONLY")):
            kind = "string"
        while True:
            vals.append(_string_value(toks) if kind == "string" else _number_value(toks))
            if toks.is_(","):
                toks.next()
                continue
            toks.expect("]")
            break
        if kind == "number" and any(isinstance(v, str) for v, _ in vals):
            raise InvalidDataQualityRulesetException(
                f"Parsing Error: Unexpected condition for rule of type {rule_type} with number return type")
        args = [v for v, _ in vals if not (isinstance(v, tuple))]
        kws = [v[1] for v, _ in vals if isinstance(v, tuple)]
        return Condition(("not " if neg else "") + "in", args, kind, kws, [t for _, t in vals])
    if raw == "matches":
        toks.next()
        kind_, value, sraw, _, _ = toks.next()
        if kind_ != "str":
            toks.i -= 1
            toks.fail("expecting a quoted regular expression")
        return Condition(("not " if neg else "") + "matches", [value], "string", texts=[sraw])
    if neg:
        toks.fail("expecting 'between', 'in' or 'matches'")
    if tok is not None and tok[0] == "op":
        toks.next()
        nxt = toks.peek()
        if raw in ("=", "!=") and nxt is not None and (nxt[0] == "str" or nxt[2] in ("EMPTY", "WHITESPACES_ONLY")):
            v, t = _string_value(toks)
            if isinstance(v, tuple):
                return Condition(raw, [], "string", [v[1]], [t])
            return Condition(raw, [v], "string", texts=[t])
        v, t = _bound(toks)
        return Condition(raw, [v], "number", texts=[t])
    return None


def _bound(toks: _Tokens) -> tuple[Any, str]:
    tok = toks.peek()
    if tok is not None and tok[0] == "str":
        raise _unsupported("A date condition (quoted date operands)")
    if tok is not None and tok[2] in ("now()", "now"):
        raise _unsupported("A date condition (now())")
    return _number_value(toks)


def _rule(toks: _Tokens) -> Rule:
    kind, rule_type, raw, line, col = toks.next()
    if kind != "word":
        toks.i -= 1
        toks.fail("expecting a rule type")
    params: list[str] = []
    while True:
        tok = toks.peek()
        if tok is None:
            break
        if tok[2] in ("of", "and") and toks.peek(1) is not None and toks.peek(1)[0] == "str":
            toks.next()
            continue
        if tok[0] == "str":
            params.append(tok[1])
            toks.next()
            continue
        if tok[0] == "punct" and tok[2] == "$":
            raise _unsupported("A DQDL variable ($name)")
        break
    spec = RULE_TYPES.get(rule_type)
    names, var_arg = (spec[0], spec[1]) if spec else ((), False)
    if rule_type == "DatasetMatch" and len(params) == 3:
        names = _DATASET_MATCH_3
    if spec is None:
        raise InvalidDataQualityRulesetException(f"Parsing Error: Rule Type: {rule_type} is not valid")
    if var_arg and len(params) < len(names):
        raise InvalidDataQualityRulesetException(
            f"Parsing Error: VarArgs needs at least one parameter: {rule_type}")
    if not var_arg and len(params) != len(names):
        raise InvalidDataQualityRulesetException(f"Parsing Error: Rule Type: {rule_type} is not valid")
    returns, threshold_ok, where_ok = spec[2], spec[3], spec[4]
    cond = _condition(toks, rule_type)
    where = None
    if toks.is_("where"):
        toks.next()
        k, v, _, _, _ = toks.next()
        if k != "str":
            toks.i -= 1
            toks.fail("expecting a quoted where clause")
        if not where_ok:
            raise InvalidDataQualityRulesetException(
                f"Parsing Error: Where clause is not supported for rule type: {rule_type}")
        if not v:
            raise InvalidDataQualityRulesetException(
                f"Parsing Error: Empty where condition provided for rule type: {rule_type}")
        where = v
    labels: dict[str, str] = {}
    if toks.is_("labels"):
        toks.next()
        toks.expect("=")
        toks.expect("[")
        while not toks.is_("]"):
            k1 = toks.next()
            toks.expect("=")
            v1 = toks.next()
            if k1[0] != "str" or v1[0] != "str":
                toks.fail("expecting \"key\"=\"value\"")
            labels[k1[1]] = v1[1]
            if toks.is_(","):
                toks.next()
        toks.expect("]")
    threshold = None
    while toks.is_("with"):
        toks.next()
        tag = toks.next()
        if tag[2].lower() != "threshold":
            raise _unsupported(f"The rule tag 'with {tag[2]}'")
        if not threshold_ok:
            raise InvalidDataQualityRulesetException(
                f"Parsing Error: Threshold condition not supported for rule type: {rule_type}")
        if threshold is not None:
            raise InvalidDataQualityRulesetException(
                "Parsing Error: Only one threshold condition at a time is supported.")
        threshold = _condition(toks, rule_type)
        if threshold is None or threshold.kind != "number":
            toks.fail("expecting a number condition after 'with threshold'")
    # return-type checks, as DQDLParserListener.parseCondition words them
    if cond is None and "BOOLEAN" not in returns:
        ret = returns[0].split("_")[0].lower()
        raise InvalidDataQualityRulesetException(
            f"Parsing Error: Unexpected condition for rule of type {rule_type} with {ret} return type")
    if cond is not None and returns == ("BOOLEAN",):
        raise InvalidDataQualityRulesetException(
            f"Parsing Error: Unexpected condition for rule of type {rule_type} with boolean return type")
    if cond is not None and cond.kind == "string" and not any(r.startswith("STRING") for r in returns):
        raise InvalidDataQualityRulesetException(
            f"Parsing Error: Unexpected condition for rule of type {rule_type} with number return type")
    if rule_type not in EVALUATED:
        raise _unsupported(f"The DQDL rule type {rule_type}")
    return Rule(rule_type, params, cond, threshold, where, labels)


def _top(toks: _Tokens) -> Rule | Composite:
    if toks.is_("("):
        items: list[Rule | Composite] = []
        op: str | None = None
        while True:
            toks.expect("(")
            items.append(_top(toks))
            toks.expect(")")
            nxt = toks.peek()
            if nxt is not None and nxt[2] in ("and", "or"):
                if op is not None and nxt[2] != op:
                    # mixed operators need their own parentheses, as the DQDL docs require
                    toks.fail(f"(mixing 'and' and 'or' needs parentheses around each '{op}' group)")
                op = nxt[2]
                toks.next()
                if not toks.is_("("):
                    toks.fail("expecting '(' : each rule joined with and/or must be in parentheses")
                continue
            break
        if op is None:
            return items[0]
        return Composite(op, items)
    return _rule(toks)


def parse(ruleset: str) -> Ruleset:
    """Parse a DQDL document (``Rules = [ ... ]``) into rules.

    >>> [r.text for r in parse('Rules = [ RowCount > 0, IsComplete "a" ]').rules]
    ['RowCount > 0', 'IsComplete "a"']
    """
    if not isinstance(ruleset, str) or not ruleset.strip():
        raise InvalidDataQualityRulesetException("Parsing Error: No rules or analyzers provided.")
    toks = _Tokens(ruleset)
    if toks.is_("Metadata") or toks.is_("DataSources"):
        raise _unsupported("A Metadata / DataSources section")
    if toks.peek() is not None and toks.peek(1) is not None and toks.peek(1)[2] == "=" \
            and toks.peek()[2] not in ("Rules", "Analyzers"):
        raise _unsupported("A DQDL variable declaration")
    if toks.is_("Analyzers"):
        raise _unsupported("An Analyzers section")
    if not toks.is_("Rules"):
        toks.fail("expecting 'Rules'")
    toks.next()
    toks.expect("=")
    toks.expect("[")
    rules: list[Rule | Composite] = []
    if not toks.is_("]"):
        while True:
            rules.append(_top(toks))
            if toks.is_(","):
                toks.next()
                continue
            break
    toks.expect("]")
    if toks.is_("Analyzers"):
        raise _unsupported("An Analyzers section")
    if toks.peek() is not None:
        toks.fail("expecting <EOF>")
    if not rules:
        raise InvalidDataQualityRulesetException("Parsing Error: No rules or analyzers provided.")
    # Glue de-duplicates identical rules (DQDLRuleTranslator.toExecutableRules(...).distinct)
    seen: set[str] = set()
    unique = []
    for r in rules:
        if r.text not in seen:
            seen.add(r.text)
            unique.append(r)
    return Ruleset(unique)
