"""Bucket policies with conditions, evaluated like AWS (a fix for moto 5.2.x).

moto evaluates a bucket policy on every object GET/PUT but ignores every condition
operator except ``StringEquals``: a conditional ``Deny`` such as "deny when
``aws:SecureTransport`` is false" then denies *every* request with a bare 403. Here each
statement's ``Condition`` is evaluated first against the request context the local
endpoint can know — the loopback stands in for TLS, so ``aws:SecureTransport`` is
``"true"`` (what a client sees on AWS over HTTPS) — and a statement whose condition does
not hold does not apply (AWS semantics). Missing keys follow the IAM rules: ``...IfExists``
and negated operators are true, ``Null: true`` is true, everything else false. A
condition operator this evaluator does not know makes the statement not apply (logged).
"""
from __future__ import annotations

import fnmatch
import json
import logging
from typing import Any

__all__ = ["conditions_hold", "REQUEST_CONTEXT"]

log = logging.getLogger("lakekit.local.s3_bucket_policy")

REQUEST_CONTEXT: dict[str, str] = {"aws:SecureTransport": "true"}
_NEGATED = ("StringNot", "ArnNot", "NotIpAddress", "NumericNotEquals", "DateNotEquals")


def _values(expected: Any) -> list[str]:
    items = expected if isinstance(expected, list) else [expected]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool | None:
    """True/False like IAM; None when an operator is unknown here."""
    for operator, pairs in condition.items():
        base = operator[:-len("IfExists")] if operator.endswith("IfExists") else operator
        base = base.replace("ForAnyValue:", "").replace("ForAllValues:", "")
        for key, expected in (pairs or {}).items():
            wanted = _values(expected)
            if key not in context:
                if operator.endswith("IfExists") or base.startswith(_NEGATED):
                    continue
                if base == "Null":
                    if wanted[0].lower() == "true":
                        continue
                    return False
                return False
            actual = context[key]
            if base == "Null":
                ok = wanted[0].lower() == "false"
            elif base == "Bool":
                ok = actual.lower() in [w.lower() for w in wanted]
            elif base in ("StringEquals", "ArnEquals"):
                ok = actual in wanted
            elif base == "StringEqualsIgnoreCase":
                ok = actual.lower() in [w.lower() for w in wanted]
            elif base in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in wanted
            elif base in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            elif base in ("StringNotLike", "ArnNotLike"):
                ok = not any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            else:
                return None
            if not ok:
                return False
    return True


def _install() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.get_permission, "_lakekit", False):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        statements = json.loads(policy).get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        permitted = False
        for statement in statements:
            condition = statement.get("Condition")
            if condition:
                holds = conditions_hold(condition, REQUEST_CONTEXT)
                if holds is None:
                    log.warning("bucket policy of %s: condition %s not evaluated locally; the "
                                "statement is not applied", self.name, list(condition))
                if not holds:
                    continue
                statement = {k: v for k, v in statement.items() if k != "Condition"}
            result = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return result
            if result == PermissionResult.PERMITTED:
                permitted = True
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    get_permission._lakekit = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission


_install()
