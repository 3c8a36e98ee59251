"""Lake Formation's check that a principal it is given exists, as AWS makes it.

Lake Formation resolves every IAM principal of ``PutDataLakeSettings`` (data lake admins)
and ``GrantPermissions`` before it stores anything; an IAM role or user ARN of this account
that does not resolve — the role does not exist, or the ARN lacks the role's path (IAM
Identity Center roles live under ``role/aws-reserved/sso.amazonaws.com/...``) — is refused::

    InvalidInputException (HTTP 400): Invalid principal, arn: arn:aws:iam::111111111111:role/user.name

(the message AWS returned for an ``AWS::LakeFormation::Permissions`` principal that does not
exist: "starterAdminPermission Invalid principal, arn: arn:aws:iam::111111111111:role/
user.name (Service: AWSLakeFormation; Status Code: 400; Error Code: InvalidInputException)",
aws-samples/data-lake-as-code#17.)

Principals this module cannot resolve locally are left to the service: the special groups
``IAM_ALLOWED_PRINCIPALS`` and ``<account>:IAMPrincipals``, account ids, principals of other
accounts, SAML / Identity Center / Organizations ARNs.

Example::

    >>> invalid_principals(iam, "123456789012",
    ...                    ["arn:aws:iam::123456789012:role/nobody"])  # doctest: +SKIP
    ['arn:aws:iam::123456789012:role/nobody']
"""
from __future__ import annotations

import logging
import re
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.cloudformation.resources.base import ResourceFailure

__all__ = ["invalid_principals", "check_principals"]

log = logging.getLogger(__name__)

_IAM_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)/(.+)$")


def _exists(iam: Any, kind: str, path_and_name: str, arn: str) -> bool:
    name = path_and_name.rsplit("/", 1)[-1]
    try:
        if kind == "role":
            real = iam.get_role(RoleName=name)["Role"]["Arn"]
        else:
            real = iam.get_user(UserName=name)["User"]["Arn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return False
        raise
    return real == arn


def invalid_principals(iam: Any, account_id: str, principals: list[str]) -> list[str]:
    """The IAM role/user ARNs of ``account_id`` among ``principals`` that do not resolve."""
    bad = []
    for p in principals:
        m = _IAM_ARN.match(str(p))
        if not m or m.group(2) != account_id:
            continue
        if not _exists(iam, m.group(3), m.group(4), str(p)):
            bad.append(str(p))
    return bad


def check_principals(iam: Any, account_id: str, principals: list[str], prop: str) -> None:
    """Raise the resource failure Lake Formation's refusal makes (first invalid principal)."""
    bad = invalid_principals(iam, account_id, principals)
    if bad:
        arn = bad[0]
        raise ResourceFailure(
            f'Property {prop}: Resource handler returned message: "Invalid principal, arn: {arn}" '
            "(Service: LakeFormation, Status Code: 400, Error Code: InvalidInputException). "
            "The IAM principal does not exist under that ARN: create it first (or make this "
            "resource depend on it), and give a role's full ARN including its path "
            "(iam get-role --role-name NAME prints it).")
