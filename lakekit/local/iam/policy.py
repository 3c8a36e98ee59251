"""IAM policy evaluation, as AWS's policy-evaluation logic defines it.

One evaluator for identity policies, bucket policies and key policies:

* a statement applies when its Action/NotAction, Resource/NotResource, (for resource
  policies) Principal/NotPrincipal and every Condition match the request;
* an applying ``Deny`` wins over everything; else an applying ``Allow`` allows; else the
  request is implicitly denied (:data:`NEUTRAL` - another policy may still allow it);
* actions compare case-insensitively, resources case-sensitively, both with ``*`` / ``?``;
* conditions: every operator must hold (AND), every key of an operator (AND), any value of a
  key (OR). Missing keys: ``...IfExists`` holds, negated operators (``StringNotEquals``...)
  hold, ``Null: true`` holds, ``ForAllValues:`` holds, anything else does not;
* policy variables ``${aws:username}``, ``${aws:PrincipalTag/...}``... are substituted from
  the request context in Resource and condition values (``${*}``, ``${?}``, ``${$}`` too).

An operator this evaluator does not know makes an ``Allow`` not apply and a ``Deny`` apply
(logged): the local endpoint must never be more permissive than AWS.

Example::

    >>> doc = {"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}]}
    >>> evaluate([doc], Request("s3:GetObject", "arn:aws:s3:::b/k"))
    'ALLOW'
"""
from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["ALLOW", "DENY", "NEUTRAL", "Request", "evaluate", "evaluate_detail", "conditions_hold",
           "statements", "principal_matches", "action_matches", "resource_matches"]

log = logging.getLogger(__name__)

ALLOW, DENY, NEUTRAL = "ALLOW", "DENY", "NEUTRAL"


@dataclass(frozen=True)
class Request:
    """What one authorization check is about.

    ``principal``: the caller as resource policies see it - ``{"AWS": [arns...]}`` (the
    assumed-role session ARN, its role ARN, the account root for the account) or
    ``{"Service": ["glue.amazonaws.com"]}``; ``context``: condition keys (values are strings
    or lists of strings).
    """

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    principal: Mapping[str, list[str]] = field(default_factory=dict)


def statements(policy: Any) -> list[dict[str, Any]]:
    """The statements of a policy document (dict or JSON text; one statement or a list)."""
    if policy is None:
        return []
    if isinstance(policy, (bytes, bytearray)):
        policy = policy.decode()
    if isinstance(policy, str):
        from urllib.parse import unquote

        text = policy.strip()
        if text.startswith("%7B") or text.startswith("%7b"):
            text = unquote(text)
        policy = json.loads(text) if text else {}
    st = policy.get("Statement", []) if isinstance(policy, dict) else []
    return [st] if isinstance(st, dict) else list(st)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE if ignore_case else 0)


def _like(value: str, pattern: str, ignore_case: bool = False) -> bool:
    # fnmatch also treats [...] as classes; IAM only knows * and ?
    pattern = pattern.replace("[", "[[]")
    return _glob(pattern, ignore_case).match(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """``s3:get*`` matches ``s3:GetObject`` (IAM compares actions case-insensitively)."""
    return pattern == "*" or _like(action, pattern, ignore_case=True)


def resource_matches(pattern: str, resource: str) -> bool:
    return pattern == "*" or _like(resource, pattern)


# ----------------------------------------------------------------------------- variables
_VAR = re.compile(r"\$\{([^}]+)\}")


def _substitute(text: str, context: Mapping[str, Any]) -> str | None:
    """Policy variables replaced; None when a variable has no value (the value then matches nothing)."""
    if "${" not in text:
        return text
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1)
        if name in ("*", "?", "$"):
            return name
        default = None
        if "," in name:  # ${aws:username, 'default'}
            name, _, default = name.partition(",")
            default = default.strip().strip("'")
            name = name.strip()
        value = _lookup(context, name)
        if value is None or isinstance(value, list):
            if default is not None:
                return default
            missing = True
            return ""
        return str(value)

    out = _VAR.sub(repl, text)
    return None if missing else out


def _lookup(context: Mapping[str, Any], key: str) -> Any:
    if key in context:
        return context[key]
    low = key.lower()
    for k, v in context.items():  # condition key names are case-insensitive
        if k.lower() == low:
            return v
    return None


# ----------------------------------------------------------------------------- principals
def principal_matches(spec: Any, principal: Mapping[str, list[str]]) -> bool:
    """Does a statement's ``Principal`` name the caller?"""
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        mine = principal.get(kind, [])
        for v in _as_list(values):
            if v == "*" and mine:
                return True
            if kind == "AWS" and re.fullmatch(r"\d{12}", str(v)):
                v = f"arn:aws:iam::{v}:root"
            if v in mine:
                return True
    return False


# ----------------------------------------------------------------------------- conditions
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike", "NumericNotEquals", "DateNotEquals", "NotIpAddress"}


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _date(v: Any) -> float | None:
    if isinstance(v, datetime):
        return v.timestamp()
    s = str(v).strip()
    try:
        return float(s)
    except ValueError:
        pass
    try:
        d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.timestamp()


def _arn_like(value: str, pattern: str) -> bool:
    vparts, pparts = value.split(":", 5), pattern.split(":", 5)
    if len(vparts) != 6 or len(pparts) != 6:
        return False
    return all(_like(v, p) for v, p in zip(vparts, pparts, strict=True))


def _ip_in(value: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _compare(base: str, actual: str, wanted: str) -> bool | None:
    """One (actual, wanted) pair under a positive operator; None = unknown operator."""
    if base == "StringEquals":
        return actual == wanted
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == wanted.lower()
    if base == "StringLike":
        return _like(actual, wanted)
    if base == "ArnEquals":
        return actual == wanted
    if base == "ArnLike":
        return _arn_like(actual, wanted)
    if base == "Bool":
        return actual.lower() == wanted.lower()
    if base == "BinaryEquals":
        return actual == wanted
    if base == "IpAddress":
        return _ip_in(actual, wanted)
    if base.startswith("Numeric"):
        a, w = _num(actual), _num(wanted)
        if a is None or w is None:
            return False
        return _ORDER[base[len("Numeric"):]](a, w)
    if base.startswith("Date"):
        a, w = _date(actual), _date(wanted)
        if a is None or w is None:
            return False
        return _ORDER[base[len("Date"):]](a, w)
    return None


_ORDER = {
    "Equals": lambda a, w: a == w,
    "LessThan": lambda a, w: a < w,
    "LessThanEquals": lambda a, w: a <= w,
    "GreaterThan": lambda a, w: a > w,
    "GreaterThanEquals": lambda a, w: a >= w,
}
_POSITIVE = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
             "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
             "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
             "NotIpAddress": "IpAddress"}


def _str(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _one_key(operator: str, key: str, expected: Any, context: Mapping[str, Any]) -> bool | None:
    set_op = ""
    op = operator
    if ":" in op:
        set_op, _, op = op.partition(":")
        if set_op not in ("ForAnyValue", "ForAllValues"):
            return None
    if_exists = op.endswith("IfExists") and op != "IfExists"
    base = op[: -len("IfExists")] if if_exists else op
    actual = _lookup(context, key)
    wanted_raw = [_str(w) for w in _as_list(expected)]
    wanted = [w2 for w in wanted_raw if (w2 := _substitute(w, context)) is not None]
    if base == "Null":
        is_null = actual is None or actual == []
        return is_null == (bool(wanted_raw) and wanted_raw[0].lower() == "true")
    negated = base in _NEGATED
    positive = _POSITIVE.get(base, base)
    if _compare(positive, "", "") is None:
        return None
    if actual is None or actual == []:
        if if_exists or set_op == "ForAllValues":
            return True
        return negated  # a negated operator on a missing key holds; the others do not
    values = [_str(a) for a in _as_list(actual)]

    def pos(a: str) -> bool:
        return any(_compare(positive, a, w) for w in wanted)

    if set_op == "ForAllValues":
        return all((not pos(a)) if negated else pos(a) for a in values)
    if set_op == "ForAnyValue":
        return any((not pos(a)) if negated else pos(a) for a in values)
    if negated:
        return not any(pos(a) for a in values)
    return any(pos(a) for a in values)


def conditions_hold(condition: Mapping[str, Any] | None, context: Mapping[str, Any]) -> bool | None:
    """True/False like IAM; None when an operator is unknown to this evaluator."""
    unknown = False
    for operator, pairs in (condition or {}).items():
        for key, expected in (pairs or {}).items():
            ok = _one_key(operator, key, expected, context)
            if ok is None:
                unknown = True
                continue
            if not ok:
                return False
    return None if unknown else True


# ----------------------------------------------------------------------------- statements
def _statement_applies(st: Mapping[str, Any], req: Request, resource_policy: bool) -> bool:
    deny = st.get("Effect") == "Deny"
    if "Action" in st:
        if not any(action_matches(str(a), req.action) for a in _as_list(st["Action"])):
            return False
    elif "NotAction" in st:
        if any(action_matches(str(a), req.action) for a in _as_list(st["NotAction"])):
            return False
    else:
        return False
    if "Resource" in st or "NotResource" in st:
        key = "Resource" if "Resource" in st else "NotResource"
        pats = [p for r in _as_list(st[key]) if (p := _substitute(str(r), req.context)) is not None]
        hit = any(resource_matches(p, req.resource) for p in pats)
        if hit != (key == "Resource"):
            return False
    elif not resource_policy:
        return False  # an identity policy statement without Resource is invalid
    if resource_policy:
        if "Principal" in st:
            if not principal_matches(st["Principal"], req.principal):
                return False
        elif "NotPrincipal" in st:
            if principal_matches(st["NotPrincipal"], req.principal):
                return False
        else:
            return False
    if st.get("Condition"):
        holds = conditions_hold(st["Condition"], req.context)
        if holds is None:
            log.warning("policy statement %s: a condition operator of %s is not known to the "
                        "local IAM evaluator; the %s statement is treated as %s",
                        st.get("Sid", "(no Sid)"), list(st["Condition"]), st.get("Effect"),
                        "applying" if deny else "not applying")
            return deny
        return holds
    return True


def evaluate_detail(policies: Iterable[Any], req: Request, *, resource_policy: bool = False
                    ) -> tuple[str, list[dict[str, Any]]]:
    """(decision, the statements that decided it)."""
    allows: list[dict[str, Any]] = []
    for policy in policies:
        for st in statements(policy):
            if not _statement_applies(st, req, resource_policy):
                continue
            if st.get("Effect") == "Deny":
                return DENY, [st]
            if st.get("Effect") == "Allow":
                allows.append(st)
    return (ALLOW, allows) if allows else (NEUTRAL, [])


def evaluate(policies: Iterable[Any], req: Request, *, resource_policy: bool = False) -> str:
    """:data:`DENY` (explicit), :data:`ALLOW`, or :data:`NEUTRAL` (implicit deny)."""
    return evaluate_detail(policies, req, resource_policy=resource_policy)[0]
