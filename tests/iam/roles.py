"""Roles for tests of executors that run as a role (strict IAM)."""
from __future__ import annotations

import json
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


def service_role(ep, role_arn: str, service: str | None, actions: list[str] | None = None, *,
                 statements: list[dict[str, Any]] | None = None,
                 trusted: dict[str, str] | None = None) -> str:
    """Create (once) ``role_arn`` trusting ``service`` (e.g. ``"lambda.amazonaws.com"``) and
    give it its permissions (one inline policy ``test-permissions``, replaced on each call) -
    for tests of executors that run as a role (strict IAM: AWS refuses to assume a role that
    does not exist, and the role may do only what its policies allow).

    ``actions``: allowed on ``*``. ``statements``: least-privilege ``{"Action": [...],
    "Resource": [...]}`` statements (``Effect: Allow`` is added). ``trusted``: another
    principal the trust policy names too, e.g. ``{"AWS": "arn:aws:iam::<acct>:root"}`` for a
    role that a test also assumes itself."""
    from botocore.exceptions import ClientError

    iam = ep.client("iam")
    name = role_arn.rsplit("/", 1)[1]
    principals = [{"Service": service}] if service else []
    if trusted:
        principals.append(trusted)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"} for p in principals]}
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    except ClientError as e:
        if e.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    allowed = [{"Effect": "Allow", **s} for s in statements or []]
    if actions:
        allowed.append({"Effect": "Allow", "Action": actions, "Resource": "*"})
    if not allowed:
        raise ValueError(f"role {name}: pass actions or statements (a role with no policy may do nothing)")
    iam.put_role_policy(RoleName=name, PolicyName="test-permissions", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": allowed}))
    return role_arn


def lambda_basic_logs(function_pattern: str) -> dict[str, Any]:
    """What AWSLambdaBasicExecutionRole grants, scoped to ``/aws/lambda/<function_pattern>``:
    the Lambda service writes the function's logs with its execution role."""
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function_pattern}"
    return {"Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [group, f"{group}:*"]}
