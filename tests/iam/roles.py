"""Roles for tests of executors that run as a role (strict IAM)."""
from __future__ import annotations


def service_role(ep, role_arn: str, service: str, actions: list[str]) -> str:
    """Create (once) ``role_arn`` trusting ``service`` with ``actions`` on ``*`` - for tests of
    executors that run as a role (strict IAM: AWS refuses to assume a role that does not exist)."""
    import json

    from botocore.exceptions import ClientError

    iam = ep.client("iam")
    name = role_arn.rsplit("/", 1)[1]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    except ClientError as e:
        if e.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    iam.put_role_policy(RoleName=name, PolicyName="test-permissions", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return role_arn
