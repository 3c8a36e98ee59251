"""Which Lake Formation principal an access key is (in the endpoint process).

- an STS assumed-role key -> the role's ARN (``arn:aws:iam::<acct>:role/<name>``), as LF
  names principals;
- an IAM user's key -> the user's ARN;
- any other key, among them the bootstrap key ``test`` (:data:`lakekit.config.LOCAL_ACCESS_KEY`)
  -> what moto's STS GetCallerIdentity answers for it, ``arn:aws:sts::<acct>:user/moto``, in
  its IAM form :func:`bootstrap_principal` (``arn:aws:iam::<acct>:user/moto``), the same ARN
  :func:`lakekit.deploy.deployer_arn` passes to the template as ``DeployerPrincipalArn``.
  Like any principal it is a data lake administrator only when DataLakeSettings lists it
  (on AWS an account's root or deploying identity is not an LF admin by itself).

Example::

    >>> bootstrap_principal("123456789012")
    'arn:aws:iam::123456789012:user/moto'
"""
from __future__ import annotations

__all__ = ["bootstrap_principal", "principal_from_caller_arn", "principal_of_key"]


def bootstrap_principal(account_id: str) -> str:
    """The principal of keys moto did not issue (the bootstrap ``test`` key)."""
    return f"arn:aws:iam::{account_id}:user/moto"


def principal_from_caller_arn(arn: str) -> str:
    """The LF principal of an STS GetCallerIdentity ARN (assumed role -> role ARN, user -> IAM user ARN)."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[2] == "sts":
        kind, _, rest = parts[5].partition("/")
        if kind == "assumed-role":
            return f"arn:{parts[1]}:iam::{parts[4]}:role/{rest.split('/', 1)[0]}"
        if kind == "user":
            return f"arn:{parts[1]}:iam::{parts[4]}:user/{rest}"
    return arn


def principal_of_key(account_id: str, access_key_id: str) -> str:
    """The principal of an access key, read from moto's STS and IAM backends (no HTTP)."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for _, by_part in list(sts_backends.items()):
        for backend in list(by_part.values()):
            role = backend.get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                return role.role_arn
    for _, by_part in list(iam_backends.items()):
        for backend in list(by_part.values()):
            user = backend.get_user_from_access_key_id(access_key_id)
            if user is not None:
                return user.arn
    return bootstrap_principal(account_id)
