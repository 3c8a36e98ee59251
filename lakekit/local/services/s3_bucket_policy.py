"""moto's own bucket-policy check, replaced so there is exactly one decision: lakekit's.

moto evaluates a bucket policy on every object GET/PUT (and per key in DeleteObjects) with
its weak evaluator (only ``StringEquals`` conditions). Here:

* strict IAM on (default): the gateway already authorized the request with
  :mod:`lakekit.local.iam` (identity + bucket policy); moto's check answers NEUTRAL, except
  inside DeleteObjects where it asks the gateway's per-key decider (AWS reports a denied key
  as an ``AccessDenied`` entry of the response, not a 403 of the whole request);
* ``LAKEKIT_STRICT_IAM=0``: the bucket policy alone is evaluated by the same evaluator
  (:func:`lakekit.local.iam.policy.evaluate`), so its explicit denies still apply.
"""
from __future__ import annotations

from typing import Any

from lakekit.local.iam import enforce, strict
from lakekit.local.iam.actions import global_context
from lakekit.local.iam.policy import ALLOW, DENY, Request, evaluate

__all__ = ["REQUEST_CONTEXT"]

#: the loopback stands in for TLS: aws:SecureTransport is "true" (what a client sees on AWS)
REQUEST_CONTEXT: dict[str, str] = {"aws:SecureTransport": "true"}


def _install() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.get_permission, "_lakekit", False):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if strict.enabled():
            decider = enforce.peek_decider()
            if decider is None:
                return PermissionResult.NEUTRAL
            return getattr(PermissionResult, decider(action, resource))
        if self.policy is None:
            return PermissionResult.NEUTRAL
        ctx = {**global_context("us-east-1"), **REQUEST_CONTEXT}
        decision = evaluate([self.policy], Request(action, resource, ctx, {"AWS": ["*"]}),
                            resource_policy=True)
        return {DENY: PermissionResult.DENIED, ALLOW: PermissionResult.PERMITTED}.get(
            decision, PermissionResult.NEUTRAL)

    get_permission._lakekit = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission


_install()
