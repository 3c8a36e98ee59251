"""Who is calling: an access key -> the principal and the policies IAM evaluates for it.

* the bootstrap key ``test`` (:data:`lakekit.config.LOCAL_ACCESS_KEY`) is the deploying
  identity, the account's administrator: allowed every action (bucket and key policies'
  explicit denies still apply to it, as to every principal);
* a moto IAM user key -> the user's inline, attached managed and group policies;
* an STS assumed-role key -> the role's inline + attached managed policies (AWS-managed ones
  by name from moto's catalogue, even when moto did not load them) and the session policy;
* a service key (:func:`service_key`, minted in this process only) -> an AWS service
  principal such as ``glue.amazonaws.com``: what executors use to assume a job's role;
* anything else is unknown: :func:`resolve` returns None (the gateway refuses the request).
"""
from __future__ import annotations

import functools
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from lakekit.config import LOCAL_ACCESS_KEY

__all__ = ["Principal", "resolve", "service_key", "role_policies", "role_trust_policy",
           "SERVICE_LINKED_LF_ROLE"]

SERVICE_LINKED_LF_ROLE = ("arn:aws:iam::{account}:role/aws-service-role/lakeformation.amazonaws.com/"
                          "AWSServiceRoleForLakeFormationDataAccess")

_SERVICE_KEYS: dict[str, str] = {}
_SERVICE_LOCK = threading.Lock()


@dataclass
class Principal:
    """The caller. ``arn`` is what AWS names in "User: <arn> is not authorized..."."""

    kind: str  # admin | user | role | service
    arn: str
    account: str
    policies: list[Any] = field(default_factory=list)
    session_policy: Any = None
    role_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    user_id: str = ""
    name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    def as_resource_principal(self) -> dict[str, list[str]]:
        """How resource policies' ``Principal`` match this caller."""
        if self.kind == "service":
            return {"Service": [self.arn]}
        arns = [self.arn, f"arn:aws:iam::{self.account}:root"]
        if self.role_arn:
            arns.append(self.role_arn)
        return {"AWS": arns}

    def context(self) -> dict[str, Any]:
        """Global condition keys of this principal (aws:PrincipalArn, aws:username...)."""
        if self.kind == "service":
            # a service acting for a resource of this account (assuming its role, delivering an
            # event) passes the account as aws:SourceAccount (IAM "confused deputy prevention")
            return {"aws:PrincipalServiceName": self.arn, "aws:SourceAccount": self.account}
        ctx: dict[str, Any] = {
            "aws:PrincipalArn": self.role_arn or self.arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": {"admin": "Account", "user": "User", "role": "AssumedRole"}[self.kind],
            "aws:userid": self.user_id or self.account,
        }
        if self.kind == "user":
            ctx["aws:username"] = self.name
        for k, v in self.tags.items():
            ctx[f"aws:PrincipalTag/{k}"] = v
        return ctx


def service_key(service_principal: str) -> str:
    """A per-process access key id that stands for ``service_principal`` (e.g. glue.amazonaws.com).

    Only code inside the endpoint process can know it: executors sign with it when AWS acts as
    the service (a Glue job or a Lambda assuming its execution role).
    """
    with _SERVICE_LOCK:
        for key, name in _SERVICE_KEYS.items():
            if name == service_principal:
                return key
        key = "LKSV" + secrets.token_hex(8).upper()
        _SERVICE_KEYS[key] = service_principal
        return key


def resolve(access_key_id: str, account: str) -> Principal | None:
    """The principal of ``access_key_id`` (None: no such key)."""
    if access_key_id == LOCAL_ACCESS_KEY:
        return Principal("admin", f"arn:aws:iam::{account}:root", account)
    svc = _SERVICE_KEYS.get(access_key_id)
    if svc is not None:
        return Principal("service", svc, account)
    return _assumed_role(access_key_id) or _user(access_key_id)


def _iam(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def _assumed_role(access_key_id: str) -> Principal | None:
    from moto.sts.models import sts_backends

    for account, by_part in list(sts_backends.items()):
        for backend in list(by_part.values()):
            ar = backend.get_assumed_role_from_access_key(access_key_id)
            if ar is None:
                continue
            from moto.core.utils import utcnow

            if ar.expiration < utcnow():
                return None  # ExpiredToken is answered as an unknown key below
            role = _role_by_arn(account, ar.role_arn)
            policies = role_policies(role) if role is not None else []
            tags = {t["Key"]: t["Value"] for t in (getattr(role, "tags", {}) or {}).values()} \
                if role is not None and isinstance(getattr(role, "tags", None), dict) else {}
            return Principal("role", ar.arn, account, policies, ar.policy or None, ar.role_arn,
                             tags, user_id=f"{getattr(role, 'id', 'AROA')}:{ar.session_name}",
                             name=ar.session_name)
    return None


def _user(access_key_id: str) -> Principal | None:
    from moto.iam.models import iam_backends

    for account, by_part in list(iam_backends.items()):
        for backend in list(by_part.values()):
            user = backend.get_user_from_access_key_id(access_key_id)
            if user is None:
                continue
            key = next((k for k in user.access_keys if k.access_key_id == access_key_id), None)
            if key is not None and getattr(key, "status", "Active") != "Active":
                return None
            policies: list[Any] = list(user.policies.values())
            policies += [_document(p) for p in user.managed_policies.values()]
            for group in backend.get_groups_for_user(user.name):
                policies += list(group.policies.values())
                policies += [_document(p) for p in group.managed_policies.values()]
            tags = {t["Key"]: t["Value"] for t in (user.tags or {}).values()} \
                if isinstance(getattr(user, "tags", None), dict) else {}
            return Principal("user", user.arn, account, policies, None, None, tags,
                             user_id=user.id, name=user.name)
    return None


def _role_by_arn(account: str, arn: str) -> Any:
    try:
        return _iam(account).get_role_by_arn(arn)
    except Exception:
        return None


def role_policies(role: Any) -> list[Any]:
    """Inline + attached managed policy documents of a moto role."""
    out: list[Any] = list(role.policies.values())
    out += [_document(p) for p in role.managed_policies.values()]
    return out


def role_trust_policy(account: str, role_arn: str) -> Any:
    role = _role_by_arn(account, role_arn)
    return None if role is None else role.assume_role_policy_document


def _document(policy: Any) -> Any:
    """The default version's document of a managed policy (AWS-managed ones by name)."""
    doc = None
    for v in getattr(policy, "versions", []) or []:
        if getattr(v, "is_default", False) or getattr(v, "version_id", "") == policy.default_version_id:
            doc = v.document
            break
    if doc:
        return doc
    arn = getattr(policy, "arn", "")
    if ":aws:policy/" in arn:
        return _aws_managed(arn.rsplit("/", 1)[-1])
    return None


@functools.lru_cache(maxsize=256)
def _aws_managed(name: str) -> Any:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data = json.loads(aws_managed_policies_data).get(name)
    return None if data is None else data.get("Document")


def aws_managed_document(arn: str) -> Any:
    """An AWS-managed policy's document by ARN (``arn:aws:iam::aws:policy/...``)."""
    return _aws_managed(arn.rsplit("/", 1)[-1])
