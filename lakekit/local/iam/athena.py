"""What Athena authorizes AS THE CALLER while a query runs (the gateway checked
``athena:StartQueryExecution`` on the workgroup already).

* the catalog: ``glue:GetTable`` / ``glue:GetPartitions`` on catalog + database + table (the
  engine's Glue client signs with the caller's key, so the gateway checks those calls; a
  denial ends the query with :func:`glue_denied_reason`);
* a table whose location is NOT registered with Lake Formation: ``s3:ListBucket`` on the
  bucket and ``s3:GetObject`` + ``kms:Decrypt`` (SSE-KMS objects, via S3) on every object read;
* a REGISTERED location (RegisterResource): Lake Formation reads it with the registration's
  role. The service-linked role ``AWSServiceRoleForLakeFormationDataAccess`` has fixed
  permissions: its only KMS access is what the key policy grants it directly;
* results: ``s3:PutObject`` on the output objects and ``kms:GenerateDataKey`` for SSE_KMS.

:func:`table_hook` wraps the Lake Formation access hook (called per table by the engine).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lakekit.local.iam import enforce, principals
from lakekit.local.iam.actions import Check, kms_key_arn, s3_object_arn
from lakekit.local.iam.principals import SERVICE_LINKED_LF_ROLE, Principal

__all__ = ["table_hook", "check_output", "check_location", "registered_role",
           "lakeformation_role_can_decrypt", "glue_denied_reason", "OUTPUT_DENIED"]

log = logging.getLogger(__name__)

OUTPUT_DENIED = ("Access denied when writing output to url: {url} . Please ensure you are allowed to "
                 "access the S3 bucket. If you are encrypting query results with KMS key, please "
                 "ensure you are allowed to access your KMS key")


class PathDenied(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def registered_role(account: str, region: str, bucket: str, prefix: str) -> str | None:
    """The role Lake Formation reads ``s3://bucket/prefix`` with (None: not registered)."""
    from moto.lakeformation.models import lakeformation_backends

    try:
        resources = lakeformation_backends[account][region].resources
    except Exception:
        return None
    target = f"arn:aws:s3:::{bucket}/{prefix}".rstrip("/")
    for arn, res in list(resources.items()):
        base = arn.rstrip("/")
        if target == base or target.startswith(base + "/"):
            role = getattr(res, "role_arn", None)
            if not role or "AWSServiceRoleForLakeFormationDataAccess" in role:
                return SERVICE_LINKED_LF_ROLE.format(account=account)
            return role
    return None


def lakeformation_role_can_decrypt(account: str, region: str, key_arn: str, bucket: str,
                                   key: str, bucket_key: bool = True) -> bool:
    """May Lake Formation's service-linked role decrypt an object of ``bucket`` with ``key_arn``?

    Only the key policy can grant it (its identity policy cannot be edited and has no KMS).
    """
    arn = f"arn:aws:s3:::{bucket}" if bucket_key else s3_object_arn(bucket, key)
    ctx = {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": arn,
           "kms:EncryptionContextKeys": ["aws:s3:arn"], "kms:CallerAccount": account}
    return enforce.kms_allows(SERVICE_LINKED_LF_ROLE.format(account=account), account, region,
                              key_arn, "kms:Decrypt", ctx)


def _objects(account: str, bucket: str, prefix: str) -> list[Any]:
    from moto.s3.models import s3_backends

    try:
        b = s3_backends[account]["aws"].buckets[bucket]
    except Exception:
        return []
    p = prefix.rstrip("/") + "/" if prefix else ""
    return [k for name, k in list(b.keys.items()) if name.startswith(p) and not name.endswith("/")]


def _role_principal(account: str, role_arn: str) -> Principal:
    role = None
    try:
        from moto.iam.models import iam_backends

        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        pass
    policies = principals.role_policies(role) if role is not None else []
    return Principal("role", role_arn, account, policies, None, role_arn)


def check_location(caller: Principal, region: str, location: str) -> None:
    """Raise :class:`PathDenied` unless the query may read ``location`` (s3://bucket/prefix)."""
    if not location.startswith("s3://"):
        return
    bucket, _, prefix = location[5:].partition("/")
    account = caller.account
    reader_arn = registered_role(account, region, bucket, prefix)
    objs = _objects(account, bucket, prefix)
    if reader_arn == SERVICE_LINKED_LF_ROLE.format(account=account):
        seen: set[tuple[str, bool]] = set()
        for o in objs:
            if getattr(o, "encryption", None) not in ("aws:kms", "aws:kms:dsse"):
                continue
            key_arn = kms_key_arn(account, region, o.kms_key_id)
            bk = bool(getattr(o, "bucket_key_enabled", False))
            if key_arn is None or (key_arn, bk) in seen:
                continue
            seen.add((key_arn, bk))
            if not lakeformation_role_can_decrypt(account, region, key_arn, bucket, o.name, bk):
                raise PathDenied(
                    f"Permission denied on S3 path: s3://{bucket}/{o.name}. Lake Formation reads this "
                    f"registered location with {reader_arn}, which is not authorized to perform: "
                    f"kms:Decrypt on resource: {key_arn} because no resource-based policy allows the "
                    f"kms:Decrypt action (grant it in the key policy: a service-linked role's own "
                    f"policy cannot be edited)")
        return
    reader = caller if reader_arn is None else _role_principal(account, reader_arn)
    try:
        enforce.authorize_check(reader, Check("s3:ListBucket", f"arn:aws:s3:::{bucket}",
                                              {"s3:prefix": prefix}, "s3", bucket), region)
        for o in objs:
            enforce.authorize_check(reader, Check("s3:GetObject", s3_object_arn(bucket, o.name), {},
                                                  "s3", bucket), region)
            kc = enforce.object_kms_check(account, region, bucket, o.name)
            if kc is not None:
                enforce.authorize_check(reader, kc, region)
    except enforce.Denied as d:
        path = d.resource[13:] if d.resource.startswith("arn:aws:s3:::") else f"{bucket}/{prefix}"
        raise PathDenied(f"Permission denied on S3 path: s3://{path}: {d.message}") from None


def check_output(caller: Principal, region: str, bucket: str, keys: list[str],
                 encryption: dict[str, Any] | None) -> str | None:
    """None when the caller may write the result objects, else Athena's failure reason."""
    option = (encryption or {}).get("EncryptionOption")
    for key in keys:
        try:
            enforce.authorize_check(caller, Check("s3:PutObject", s3_object_arn(bucket, key), {
                "s3:x-amz-server-side-encryption": "aws:kms" if option == "SSE_KMS" else "AES256"}
                if option else {}, "s3", bucket), region)
            if option == "SSE_KMS" or (option is None and enforce._default_kms(caller.account, bucket)[0]):
                key_id = (encryption or {}).get("KmsKey") or enforce._default_kms(caller.account, bucket)[0]
                arn = kms_key_arn(caller.account, region, key_id)
                if arn:
                    enforce.authorize_check(caller, Check(
                        "kms:GenerateDataKey", arn, enforce._via_s3(region, bucket, key, True), "kms",
                        key_arn=arn), region)
        except enforce.Denied as d:
            return OUTPUT_DENIED.format(url=f"s3://{bucket}/{key}") + f" ({d.message})"
    return None


def glue_denied_reason(message: str) -> str:
    """Athena's StateChangeReason when the caller's Glue call was denied."""
    return (f"Insufficient permissions to execute the query. {message} (Service: AWSGlue; Status "
            f"Code: 400; Error Code: AccessDeniedException)")


def caller(account: str, access_key: str) -> Principal | None:
    return principals.resolve(access_key, account)


def table_hook(account: str, region: str, access_key: str,
               inner: Callable[[str, str], Any] | None) -> Callable[[str, str], Any] | None:
    """The engine's per-table access hook: S3/KMS reads authorized, then Lake Formation's hook."""
    from lakekit.local.athena.engine import AccessDeniedError

    who = caller(account, access_key)
    if who is None or who.is_admin:
        return inner
    checked: set[tuple[str, str]] = set()

    def hook(db: str, name: str) -> Any:
        if (db, name) not in checked:
            location = _table_location(account, region, db, name)
            if location:
                try:
                    check_location(who, region, location)
                except PathDenied as e:
                    raise AccessDeniedError(e.message) from None
            checked.add((db, name))
        return inner(db, name) if inner is not None else None

    return hook


def _table_location(account: str, region: str, db: str, name: str) -> str | None:
    from moto.glue.models import glue_backends

    try:
        t = glue_backends[account][region].get_table(db, name).as_dict()
    except Exception:
        return None
    if t.get("TableType") == "VIRTUAL_VIEW":
        return None
    return (t.get("StorageDescriptor") or {}).get("Location")
