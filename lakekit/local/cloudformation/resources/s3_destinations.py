"""S3's check of notification destinations, as PutBucketNotificationConfiguration does it.

When a bucket's notification configuration names a Lambda function, Amazon S3 verifies
that it may invoke the function *before* it stores the configuration: the function's
resource-based policy must allow the S3 service principal ``lambda:InvokeFunction`` for
this bucket (conditions ``aws:SourceArn`` / ``aws:SourceAccount``, when the statement has
them, must match the bucket and its owner). Otherwise S3 refuses the whole configuration::

    <Error><Code>InvalidArgument</Code>
      <Message>Unable to validate the following destination configurations</Message>
      <ArgumentName1>arn:aws:lambda:...:function:NAME, null</ArgumentName1>
      <ArgumentValue1>Not authorized to invoke function [arn:aws:lambda:...:function:NAME]</ArgumentValue1>
    </Error>

(HTTP 400; AWS S3 User Guide "Granting permissions to publish event notification messages
to a destination"). In CloudFormation the bucket resource fails with that message and the
stack rolls back; the fix is an ``AWS::Lambda::Permission`` the bucket depends on.

The check reads the function's policy with the service's own view (the endpoint's
bootstrap identity), like S3 does internally: the deploying caller needs no
``lambda:GetPolicy`` permission for it.

Example::

    >>> problems = lambda_destination_problems(lam, "arn:aws:s3:::lakekit-landing-1-us-east-1",
    ...     "123456789012", ["arn:aws:lambda:us-east-1:123456789012:function:lakekit-ingest"])
    ... # doctest: +SKIP
    >>> problems   # doctest: +SKIP
    []
"""
from __future__ import annotations

import fnmatch
import json
import logging
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["S3_PRINCIPAL", "lambda_destination_problems", "statement_allows_s3", "failure_message"]

log = logging.getLogger(__name__)

S3_PRINCIPAL = "s3.amazonaws.com"
_INVOKE = "lambda:invokefunction"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_is_s3(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        if "*" in _as_list(principal.get("AWS")):
            return True
        return any(str(p).lower() == S3_PRINCIPAL for p in _as_list(principal.get("Service")))
    return False


def _action_is_invoke(actions: Any) -> bool:
    return any(fnmatch.fnmatchcase(_INVOKE, str(a).lower()) for a in _as_list(actions))


def _resource_matches(resources: Any, function_arn: str) -> bool:
    return any(fnmatch.fnmatchcase(function_arn, str(r)) for r in _as_list(resources))


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """The operators AddPermission writes (and their IfExists forms); anything else: False.

    Keys compare case-insensitively (IAM condition keys do), values case-sensitively.
    """
    ctx = {k.lower(): v for k, v in context.items()}
    for operator, pairs in (condition or {}).items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, expected in (pairs or {}).items():
            wanted = [str(v) for v in _as_list(expected)]
            actual = ctx.get(key.lower())
            if actual is None:
                if if_exists:
                    continue
                return False
            if base in ("StringEquals", "ArnEquals"):
                ok = actual in wanted
            elif base in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            elif base == "StringEqualsIgnoreCase":
                ok = actual.lower() in [w.lower() for w in wanted]
            else:
                log.warning("Lambda policy condition operator %s is not evaluated by the local S3 "
                            "destination check: the statement does not count as allowing S3", operator)
                return False
            if not ok:
                return False
    return True


def statement_allows_s3(statement: dict[str, Any], function_arn: str, bucket_arn: str,
                        bucket_account: str) -> bool:
    """Does one policy statement let S3 invoke ``function_arn`` for ``bucket_arn``?"""
    if statement.get("Effect") != "Allow":
        return False
    if not _principal_is_s3(statement.get("Principal")):
        return False
    if not _action_is_invoke(statement.get("Action")):
        return False
    if not _resource_matches(statement.get("Resource"), function_arn):
        return False
    return _condition_holds(statement.get("Condition") or {},
                            {"aws:SourceArn": bucket_arn, "aws:SourceAccount": bucket_account})


def _denied_by(statements: list[dict[str, Any]], function_arn: str, bucket_arn: str,
               bucket_account: str) -> bool:
    for st in statements:
        if st.get("Effect") == "Deny" and _principal_is_s3(st.get("Principal")) \
                and _action_is_invoke(st.get("Action")) \
                and _resource_matches(st.get("Resource"), function_arn) \
                and _condition_holds(st.get("Condition") or {},
                                     {"aws:SourceArn": bucket_arn, "aws:SourceAccount": bucket_account}):
            return True
    return False


def _split_qualifier(function_arn: str) -> tuple[str, str | None]:
    parts = function_arn.split(":")
    if len(parts) == 8 and parts[5] == "function":
        return ":".join(parts[:7]), parts[7]
    return function_arn, None


def lambda_destination_problems(lam: Any, bucket_arn: str, bucket_account: str,
                                function_arns: list[str]) -> list[str]:
    """The function ARNs S3 may not invoke for this bucket (empty list = all valid).

    ``lam`` is a Lambda client with the service's view (reads any function's policy).
    A function that does not exist, has no policy, or whose policy does not allow the S3
    principal for this bucket, is a problem — as on AWS.
    """
    problems = []
    for arn in function_arns:
        name, qualifier = _split_qualifier(str(arn))
        kwargs: dict[str, Any] = {"FunctionName": name}
        if qualifier:
            kwargs["Qualifier"] = qualifier
        try:
            doc = lam.get_policy(**kwargs)["Policy"]
        except ClientError as exc:
            log.debug("no policy readable for %s: %s", arn, exc)
            problems.append(str(arn))
            continue
        statements = _as_list((json.loads(doc) if isinstance(doc, str) else doc).get("Statement"))
        allowed = any(statement_allows_s3(st, str(arn), bucket_arn, bucket_account) for st in statements)
        if not allowed or _denied_by(statements, str(arn), bucket_arn, bucket_account):
            problems.append(str(arn))
    return problems


def failure_message(bucket: str, bucket_account: str, problems: list[str]) -> str:
    """The bucket resource's failure reason: S3's error as AWS words it, then what to do."""
    which = ", ".join(problems)
    return ('Property NotificationConfiguration: Resource handler returned message: "Unable to '
            'validate the following destination configurations" (Service: S3, Status Code: 400, '
            f"Error Code: InvalidArgument). Not authorized to invoke function [{which}]: S3 must be "
            "allowed to invoke it before the notification is written. Add an "
            f"AWS::Lambda::Permission (Action lambda:InvokeFunction, Principal {S3_PRINCIPAL}, "
            f"SourceArn arn:aws:s3:::{bucket}, SourceAccount {bucket_account}) and make the bucket "
            "depend on it (DependsOn, or a Ref to it in the bucket's properties).")
