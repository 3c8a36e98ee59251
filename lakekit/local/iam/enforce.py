"""Authorize every request like AWS before an executor or moto answers it.

The gateway calls :func:`authorize` with the classified request; a denial comes back as an
:class:`~lakekit.local.registry.AwsError` in the service's shape:

* S3: ``AccessDenied`` 403, ``User: <arn> is not authorized to perform: s3:GetObject on
  resource: "arn:aws:s3:::b/k" because no identity-based policy allows the s3:GetObject
  action`` (or ``... with an explicit deny in a resource-based policy``);
* JSON services: ``AccessDeniedException`` (400; Lambda and Lake Formation 403), same wording
  without the quotes; query services (STS, IAM, CloudFormation): ``AccessDenied`` 403;
* an unknown access key: ``InvalidAccessKeyId`` (S3), ``InvalidClientTokenId`` (query) or
  ``UnrecognizedClientException`` (JSON), as AWS words them.

Same-account logic: an S3 request is allowed by the identity policies OR the bucket policy,
an explicit deny in either wins. KMS: the key policy must allow, directly or through a
statement for ``arn:aws:iam::<account>:root`` that delegates to IAM policies. SSE-KMS through
S3: a PUT needs ``kms:GenerateDataKey`` and a GET ``kms:Decrypt`` on the object's key for the
caller (``kms:ViaService`` = ``s3.<region>.amazonaws.com``, ``kms:EncryptionContext:aws:s3:arn``).
``sts:AssumeRole`` needs the role's trust policy to name the caller (a role ARN, a service
principal) or the account, and then an identity policy allowing it.
"""
from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from lakekit.local.iam import principals, strict
from lakekit.local.iam.actions import (
    Check,
    checks_for,
    global_context,
    kms_key_arn,
    s3_context,
    s3_object_arn,
)
from lakekit.local.iam.policy import ALLOW, DENY, NEUTRAL, Request, evaluate
from lakekit.local.iam.principals import Principal
from lakekit.local.registry import AwsError

__all__ = ["authorize", "authorize_check", "denied_message", "Denied", "unknown_key_error",
           "kms_allows", "decide", "delete_objects_decider", "missing_key_error"]

log = logging.getLogger(__name__)

_DENY_STATUS = {"lambda": 403, "lakeformation": 403}
_LOCAL = threading.local()


class Denied(Exception):
    """An authorization failed: ``message`` as AWS words it (caller, action, resource, reason)."""

    def __init__(self, message: str, action: str, resource: str) -> None:
        super().__init__(message)
        self.message, self.action, self.resource = message, action, resource


def denied_message(caller: str, action: str, resource: str, reason: str, *, quote: bool = False) -> str:
    """``reason``: identity | session | resource | explicit-identity | explicit-resource | none."""
    res = f'"{resource}"' if quote else resource
    head = f"User: {caller} is not authorized to perform: {action} on resource: {res}"
    tail = {
        "identity": f" because no identity-based policy allows the {action} action",
        "session": f" because no session policy allows the {action} action",
        "resource": f" because no resource-based policy allows the {action} action",
        "explicit-identity": " with an explicit deny in an identity-based policy",
        "explicit-resource": " with an explicit deny in a resource-based policy",
        "none": "",
    }[reason]
    return head + tail


def unknown_key_error(service: str, protocol: str) -> AwsError:
    if protocol == "rest-xml":
        return AwsError("InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.", 403)
    if protocol == "query":
        return AwsError("InvalidClientTokenId", "The security token included in the request is invalid.",
                        403)
    return AwsError("UnrecognizedClientException", "The security token included in the request is invalid.",
                    _DENY_STATUS.get(service, 400))


def _deny_error(service: str, protocol: str, message: str) -> AwsError:
    if protocol == "rest-xml":
        return AwsError("AccessDenied", message, 403)
    if protocol == "query" or protocol.startswith("smithy-rpc"):
        return AwsError("AccessDenied", message, 403)
    return AwsError("AccessDeniedException", message, _DENY_STATUS.get(service, 400))


# ----------------------------------------------------------------------------- decisions
def _identity(p: Principal, req: Request) -> str:
    if p.is_admin:
        return ALLOW
    if p.kind == "service":
        return NEUTRAL
    return evaluate(p.policies, req)


def _session_ok(p: Principal, req: Request) -> bool:
    return p.session_policy is None or evaluate([p.session_policy], req) == ALLOW


def _without_root(p: Principal) -> dict[str, list[str]]:
    spec = p.as_resource_principal()
    if p.is_admin:
        return spec
    return {k: [v for v in vals if not v.endswith(":root")] for k, vals in spec.items()}


def decide(p: Principal, check: Check, region: str, resource_policy: Any = None) -> None:
    """Raise :class:`Denied` unless ``p`` may do ``check`` (with that resource policy)."""
    ctx = {**global_context(region), **p.context(), **check.context}
    full = Request(check.action, check.resource, ctx, p.as_resource_principal())
    quote = check.action.startswith("s3:")
    deny = lambda reason: Denied(check.message or denied_message(p.arn, check.action, check.resource,  # noqa: E731
                                                                 reason, quote=quote), check.action, check.resource)
    ident = _identity(p, full)
    if ident == DENY:
        raise deny("explicit-identity")
    if check.resource_policy == "kms":
        _decide_kms(p, check, full, ident, resource_policy, deny)
        return
    if check.resource_policy == "trust":
        _decide_trust(p, check, full, ident, resource_policy, deny)
        return
    res = NEUTRAL
    if resource_policy is not None:
        if evaluate([resource_policy], full, resource_policy=True) == DENY:
            raise deny("explicit-resource")
        narrow = Request(check.action, check.resource, ctx, _without_root(p))
        res = evaluate([resource_policy], narrow, resource_policy=True)
    if res == ALLOW:
        return
    if ident == ALLOW:
        if not _session_ok(p, full):
            raise deny("session")
        return
    raise deny("identity")


def _decide_kms(p: Principal, check: Check, full: Request, ident: str, key_policy: Any,
                deny: Callable[[str], Denied]) -> None:
    if key_policy is None:
        key_policy = _key_policy(check.key_arn or check.resource)
    if evaluate([key_policy], full, resource_policy=True) == DENY:
        raise deny("explicit-resource")
    direct = Request(full.action, full.resource, full.context, _without_root(p))
    if evaluate([key_policy], direct, resource_policy=True) == ALLOW:
        return
    account = Request(full.action, full.resource, full.context, {"AWS": [f"arn:aws:iam::{p.account}:root"]})
    if p.kind != "service" and evaluate([key_policy], account, resource_policy=True) == ALLOW:
        if ident == ALLOW and _session_ok(p, full):
            return
        raise deny("identity")
    raise deny("resource")


def _decide_trust(p: Principal, check: Check, full: Request, ident: str, trust: Any,
                  deny: Callable[[str], Denied]) -> None:
    if trust is None:
        trust = principals.role_trust_policy(p.account, check.resource)
    if trust is None:
        raise deny("none")  # no such role: AWS answers AccessDenied too
    if evaluate([trust], full, resource_policy=True) == DENY:
        raise deny("explicit-resource")
    direct = Request(full.action, full.resource, full.context, _without_root(p))
    if evaluate([trust], direct, resource_policy=True) == ALLOW:
        return
    account = Request(full.action, full.resource, full.context, {"AWS": [f"arn:aws:iam::{p.account}:root"]})
    if p.kind != "service" and evaluate([trust], account, resource_policy=True) == ALLOW \
            and ident == ALLOW and _session_ok(p, full):
        return
    raise deny("none")


def _key_policy(key_arn: str) -> Any:
    from moto.kms.models import kms_backends

    try:
        _, _, _, region, account, rest = key_arn.split(":", 5)
        return kms_backends[account][region].keys[rest.split("/", 1)[1]].policy
    except Exception:
        return None


def _bucket(account: str, name: str) -> Any:
    from moto.s3.models import s3_backends

    try:
        return s3_backends[account]["aws"].buckets.get(name)
    except Exception:
        return None


def _bucket_policy(account: str, name: str | None) -> Any:
    b = _bucket(account, name) if name else None
    return None if b is None else b.policy


# ----------------------------------------------------------------------------- KMS through S3
def _via_s3(region: str, bucket: str, key: str, bucket_key: bool) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}" if bucket_key else s3_object_arn(bucket, key)
    return {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": arn,
            "kms:EncryptionContextKeys": ["aws:s3:arn"]}


def _default_kms(account: str, bucket: str) -> tuple[str | None, bool]:
    b = _bucket(account, bucket)
    enc = getattr(b, "encryption", None) if b is not None else None
    if not enc:
        return None, False
    rules = enc.get("Rule") or []
    rules = rules if isinstance(rules, list) else [rules]
    for rule in rules:
        d = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if d.get("SSEAlgorithm") == "aws:kms":
            return d.get("KMSMasterKeyID") or None, str(rule.get("BucketKeyEnabled", "")).lower() == "true"
    return None, False


def _put_kms_check(req: Any, bucket: str, key: str) -> Check | None:
    h = req.headers
    if h.get("x-amz-server-side-encryption") not in (None, "aws:kms", "aws:kms:dsse"):
        return None
    default_key, bucket_key = _default_kms(req.account_id, bucket)
    if h.get("x-amz-server-side-encryption") is None and default_key is None:
        return None
    key_id = h.get("x-amz-server-side-encryption-aws-kms-key-id") or default_key
    if "x-amz-server-side-encryption-bucket-key-enabled" in h:
        bucket_key = h["x-amz-server-side-encryption-bucket-key-enabled"].lower() == "true"
    arn = kms_key_arn(req.account_id, req.region, key_id)
    if arn is None:
        return None  # the AWS-managed aws/s3 key (its policy allows the account via S3) or moto's error
    return Check("kms:GenerateDataKey", arn, _via_s3(req.region, bucket, key, bucket_key), "kms", key_arn=arn)


def object_kms_check(account: str, region: str, bucket: str, key: str, version: str | None = None,
                     action: str = "kms:Decrypt") -> Check | None:
    """The kms:Decrypt a read of an SSE-KMS object needs (None: not SSE-KMS / no such object)."""
    from moto.s3.models import s3_backends

    try:
        obj = s3_backends[account]["aws"].get_object(bucket, key, version_id=version)
    except Exception:
        return None
    if obj is None or getattr(obj, "encryption", None) not in ("aws:kms", "aws:kms:dsse"):
        return None
    arn = kms_key_arn(account, region, obj.kms_key_id)
    if arn is None:
        return None
    bucket_key = bool(getattr(obj, "bucket_key_enabled", False))
    return Check(action, arn, _via_s3(region, bucket, key, bucket_key), "kms", key_arn=arn)


def _s3_kms_checks(req: Any, checks: list[Check]) -> list[Check]:
    out: list[Check] = []
    for c in checks:
        if not c.resource.startswith("arn:aws:s3:::") or "/" not in c.resource[13:]:
            continue
        bucket, key = c.resource[13:].split("/", 1)
        if c.action == "s3:PutObject" and req.operation in ("PutObject", "CopyObject",
                                                             "CreateMultipartUpload"):
            kc = _put_kms_check(req, bucket, key)
        elif c.action in ("s3:GetObject", "s3:GetObjectVersion") and req.operation in (
                "GetObject", "CopyObject", "UploadPartCopy"):
            version = req.query.get("versionId", [None])[0] if req.operation == "GetObject" else None
            kc = object_kms_check(req.account_id, req.region, bucket, key, version)
        else:
            kc = None
        if kc is not None:
            out.append(kc)
    return out


# ----------------------------------------------------------------------------- entry points
def authorize_check(p: Principal, check: Check, region: str) -> None:
    """Raise :class:`Denied` unless ``p`` may do ``check`` (resource policy looked up)."""
    policy = None
    if check.resource_policy == "s3":
        policy = _bucket_policy(p.account, check.bucket)
    decide(p, check, region, policy)


def authorize(req: Any, environ: dict[str, Any] | None = None) -> AwsError | None:
    """None when ``req`` may proceed, else the AWS-shaped error to answer."""
    p = principals.resolve(req.access_key_id, req.account_id)
    if p is None:
        return unknown_key_error(req.service, req.protocol)
    checks = checks_for(req)
    if req.service == "s3":
        checks = checks + _s3_kms_checks(req, checks)
        if req.operation == "DeleteObjects":
            _LOCAL.decider = delete_objects_decider(p, req.region)
    try:
        for check in checks:
            authorize_check(p, check, req.region)
    except Denied as d:
        log.info("denied %s.%s for %s: %s", req.service, req.operation, p.arn, d.message)
        return _deny_error(req.service, req.protocol, d.message)
    return None


def missing_key_error(req: Any) -> AwsError | None:
    """What S3 answers instead of 404 for a missing key: None to keep the 404.

    GetObject / HeadObject of a key that does not exist: "If you have the s3:ListBucket
    permission on the bucket, Amazon S3 returns an HTTP status code 404 Not Found error. If you
    don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access
    Denied error" (S3 API reference, GetObject / HeadObject "Permissions"). The 403's message is
    S3's plain ``Access Denied`` (it names no action: that would tell the key is missing).
    """
    p = principals.resolve(req.access_key_id, req.account_id)
    if p is None or p.is_admin:
        return None
    bucket = req.params.get("Bucket") or req.path.lstrip("/").split("/", 1)[0]
    if _bucket(req.account_id, bucket) is None:
        return None  # NoSuchBucket stays 404
    check = Check("s3:ListBucket", f"arn:aws:s3:::{bucket}", s3_context(req), "s3", bucket)
    try:
        authorize_check(p, check, req.region)
    except Denied:
        log.info("missing key answered 403 to %s: no s3:ListBucket on %s", p.arn, bucket)
        return AwsError("AccessDenied", "Access Denied", 403)
    return None


def delete_objects_decider(p: Principal, region: str) -> Callable[[str, str], str]:
    """For moto's per-key check in DeleteObjects: 'DENIED' / 'PERMITTED' per (action, key ARN)."""

    def decider(action: str, resource: str) -> str:
        bucket = resource[13:].split("/", 1)[0]
        try:
            authorize_check(p, Check(action, resource, {}, "s3", bucket), region)
        except Denied:
            return "DENIED"
        return "PERMITTED"

    return decider


def take_decider() -> Callable[[str, str], str] | None:
    d = getattr(_LOCAL, "decider", None)
    _LOCAL.decider = None
    return d


def peek_decider() -> Callable[[str, str], str] | None:
    return getattr(_LOCAL, "decider", None)


def clear_decider() -> None:
    _LOCAL.decider = None


def delete_keys(body: bytes) -> list[str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    return [el.text or "" for el in root.iter() if el.tag.endswith("Key")]


def kms_allows(principal_arn: str, account: str, region: str, key_arn: str, action: str,
               context: dict[str, Any] | None = None) -> bool:
    """Does the KEY POLICY alone let ``principal_arn`` do ``action`` (no IAM policies involved)?

    For principals whose identity policies cannot grant KMS access, e.g. Lake Formation's
    service-linked role ``AWSServiceRoleForLakeFormationDataAccess``.
    """
    # aws:PrincipalArn / aws:PrincipalAccount are in every request's context (for a role: the
    # role's ARN, not the session's) - key policies narrow "Principal": "*" with them
    ctx = {**global_context(region), "aws:PrincipalArn": principal_arn, "aws:PrincipalAccount": account,
           **(context or {})}
    req = Request(action, key_arn, ctx, {"AWS": [principal_arn]})
    policy = _key_policy(key_arn)
    return evaluate([policy], req, resource_policy=True) == ALLOW


def is_strict() -> bool:
    return strict.enabled()
