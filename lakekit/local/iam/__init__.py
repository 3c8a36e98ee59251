"""Strict IAM + KMS authorization for the local endpoint (on by default).

Every request the endpoint serves is authorized as AWS would authorize it before an executor
or moto answers, and refused with AWS's error code, HTTP status and message otherwise:

* :mod:`~lakekit.local.iam.policy` - the policy evaluator (explicit Deny wins, then any
  Allow, else implicit deny; Action/NotAction, Resource/NotResource, Principal/NotPrincipal,
  String*/Arn*/Bool/Null/Numeric*/Date*/IpAddress conditions, ``...IfExists``,
  ``ForAnyValue:``/``ForAllValues:``, policy variables);
* :mod:`~lakekit.local.iam.principals` - access key -> principal and its policies (the
  bootstrap key ``test`` is the account's administrator);
* :mod:`~lakekit.local.iam.actions` - request -> IAM action(s), resource ARN(s), context;
* :mod:`~lakekit.local.iam.enforce` - the decision (identity + bucket / key / trust policy,
  SSE-KMS through S3) and the AWS-shaped denial; the gateway calls it;
* :mod:`~lakekit.local.iam.athena` - what Athena checks as the caller while a query runs.

Switch: ``LAKEKIT_STRICT_IAM=0`` in the endpoint's environment turns authorization off (a
WARNING at startup says so): identity, key and trust policies are then not evaluated and
unknown keys are accepted; only bucket policies' explicit denies still apply. Use it only to
tell an IAM problem from another one - AWS will refuse what strict mode refuses.

Example (a role without s3:GetObject on the bucket)::

    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=role_key, ...)
    s3.get_object(Bucket="raw", Key="a.csv")
    # ClientError AccessDenied: User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized
    # to perform: s3:GetObject on resource: "arn:aws:s3:::raw/a.csv" because no identity-based
    # policy allows the s3:GetObject action
"""
from __future__ import annotations

from lakekit.local.iam.strict import announce, enabled

__all__ = ["enabled", "announce"]
