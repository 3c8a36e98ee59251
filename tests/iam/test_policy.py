"""The policy evaluator (lakekit.local.iam.policy): AWS's evaluation logic, operator by operator."""
from __future__ import annotations

import pytest

from lakekit.local.iam.policy import ALLOW, DENY, NEUTRAL, Request, conditions_hold, evaluate


def pol(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="*", resource="*", **kw):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **kw}


def deny(action="*", resource="*", **kw):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **kw}


OBJ = "arn:aws:s3:::bkt/raw/a.csv"


def test_explicit_deny_wins_over_allow_in_another_policy():
    assert evaluate([pol(allow("s3:*")), pol(deny("s3:GetObject", OBJ))], Request("s3:GetObject", OBJ)) == DENY


def test_no_statement_is_implicit_deny():
    assert evaluate([pol(allow("s3:PutObject"))], Request("s3:GetObject", OBJ)) == NEUTRAL


def test_actions_are_case_insensitive_with_wildcards():
    assert evaluate([pol(allow("S3:get*"))], Request("s3:GetObject", OBJ)) == ALLOW
    assert evaluate([pol(allow("s3:Get?bject"))], Request("s3:GetObject", OBJ)) == ALLOW
    assert evaluate([pol(allow("s3:Get?"))], Request("s3:GetObject", OBJ)) == NEUTRAL


def test_resources_are_case_sensitive_globs():
    assert evaluate([pol(allow("s3:GetObject", "arn:aws:s3:::bkt/raw/*"))], Request("s3:GetObject", OBJ)) == ALLOW
    assert evaluate([pol(allow("s3:GetObject", "arn:aws:s3:::bkt/RAW/*"))], Request("s3:GetObject", OBJ)) == NEUTRAL
    # the bucket ARN is not an object ARN
    assert evaluate([pol(allow("s3:GetObject", "arn:aws:s3:::bkt"))], Request("s3:GetObject", OBJ)) == NEUTRAL


def test_not_action():
    st = {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}
    assert evaluate([pol(st)], Request("s3:GetObject", OBJ)) == ALLOW
    assert evaluate([pol(st)], Request("s3:DeleteObject", OBJ)) == NEUTRAL


def test_not_resource_deny():
    st = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::bkt/raw/*"}
    assert evaluate([pol(allow(), st)], Request("s3:GetObject", OBJ)) == ALLOW
    assert evaluate([pol(allow(), st)], Request("s3:GetObject", "arn:aws:s3:::bkt/processed/x")) == DENY


def test_principal_and_not_principal_in_resource_policies():
    role = {"AWS": ["arn:aws:sts::1:assumed-role/r/s", "arn:aws:iam::1:role/r"]}
    st = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/r"}, "Action": "s3:*", "Resource": "*"}
    assert evaluate([pol(st)], Request("s3:GetObject", OBJ, {}, role), resource_policy=True) == ALLOW
    other = {"AWS": ["arn:aws:iam::1:user/u"]}
    assert evaluate([pol(st)], Request("s3:GetObject", OBJ, {}, other), resource_policy=True) == NEUTRAL
    nst = {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:role/r"}, "Action": "s3:*", "Resource": "*"}
    assert evaluate([pol(nst)], Request("s3:GetObject", OBJ, {}, other), resource_policy=True) == DENY
    assert evaluate([pol(nst)], Request("s3:GetObject", OBJ, {}, role), resource_policy=True) == NEUTRAL
    svc = {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert evaluate([pol(svc)], Request("sts:AssumeRole", "arn:aws:iam::1:role/r", {},
                                        {"Service": ["glue.amazonaws.com"]}), resource_policy=True) == ALLOW
    assert evaluate([pol(svc)], Request("sts:AssumeRole", "arn:aws:iam::1:role/r", {},
                                        {"Service": ["lambda.amazonaws.com"]}), resource_policy=True) == NEUTRAL


# ----------------------------------------------------------------------------- conditions
@pytest.mark.parametrize("op,expected,actual,holds", [
    ("StringEquals", "aws:kms", "aws:kms", True),
    ("StringEquals", "aws:kms", "AES256", False),
    ("StringNotEquals", "aws:kms", "AES256", True),
    ("StringEqualsIgnoreCase", "AWS:KMS", "aws:kms", True),
    ("StringNotEqualsIgnoreCase", "AWS:KMS", "aws:kms", False),
    ("StringLike", "raw/*", "raw/a.csv", True),
    ("StringLike", "raw/?", "raw/ab", False),
    ("StringNotLike", "raw/*", "processed/a", True),
    ("ArnEquals", "arn:aws:iam::1:role/r", "arn:aws:iam::1:role/r", True),
    ("ArnLike", "arn:aws:logs:*:1:log-group:*", "arn:aws:logs:us-east-1:1:log-group:/x", True),
    ("ArnLike", "arn:aws:logs:*:2:log-group:*", "arn:aws:logs:us-east-1:1:log-group:/x", False),
    ("ArnNotLike", "arn:aws:logs:*:2:*", "arn:aws:logs:us-east-1:1:log-group:/x", True),
    ("Bool", "false", "true", False),
    ("Bool", "true", "TRUE", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericNotEquals", "10", "11", True),
    ("NumericLessThan", "10", "9", True),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericGreaterThan", "10", "10", False),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("DateLessThan", "2030-01-01T00:00:00Z", "2026-06-01T00:00:00Z", True),
    ("DateGreaterThan", "2030-01-01T00:00:00Z", "2026-06-01T00:00:00Z", False),
    ("DateEquals", "2026-06-01T00:00:00Z", "1780272000", True),
    ("DateNotEquals", "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", True),
    ("DateLessThanEquals", "2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z", True),
    ("DateGreaterThanEquals", "2026-06-01T00:00:00Z", "2026-05-01T00:00:00Z", False),
    ("IpAddress", "127.0.0.0/8", "127.0.0.1", True),
    ("NotIpAddress", "10.0.0.0/8", "127.0.0.1", True),
])
def test_each_operator(op, expected, actual, holds):
    assert conditions_hold({op: {"k": expected}}, {"k": actual}) is holds


def test_several_values_or_several_keys_and():
    assert conditions_hold({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}) is True
    assert conditions_hold({"StringEquals": {"k": "a", "j": "x"}}, {"k": "a", "j": "y"}) is False
    assert conditions_hold({"StringEquals": {"k": "a"}, "Bool": {"b": "true"}}, {"k": "a", "b": "false"}) is False


@pytest.mark.parametrize("op,holds", [
    ("StringEquals", False), ("StringLike", False), ("ArnLike", False), ("Bool", False),
    ("NumericLessThan", False), ("DateLessThan", False),
    ("StringNotEquals", True), ("StringNotLike", True), ("ArnNotLike", True),
    ("StringEqualsIfExists", True), ("NumericLessThanIfExists", True), ("BoolIfExists", True),
])
def test_missing_key_rules(op, holds):
    assert conditions_hold({op: {"absent": "1"}}, {}) is holds


def test_if_exists_still_checks_a_present_key():
    assert conditions_hold({"StringEqualsIfExists": {"k": "a"}}, {"k": "b"}) is False
    assert conditions_hold({"StringEqualsIfExists": {"k": "a"}}, {"k": "a"}) is True


def test_null_operator():
    assert conditions_hold({"Null": {"k": "true"}}, {}) is True
    assert conditions_hold({"Null": {"k": "true"}}, {"k": "v"}) is False
    assert conditions_hold({"Null": {"k": "false"}}, {"k": "v"}) is True
    assert conditions_hold({"Null": {"k": "false"}}, {}) is False


def test_set_operators():
    ctx = {"tags": ["a", "b"]}
    assert conditions_hold({"ForAnyValue:StringEquals": {"tags": ["b", "z"]}}, ctx) is True
    assert conditions_hold({"ForAnyValue:StringEquals": {"tags": ["z"]}}, ctx) is False
    assert conditions_hold({"ForAllValues:StringEquals": {"tags": ["a", "b", "c"]}}, ctx) is True
    assert conditions_hold({"ForAllValues:StringEquals": {"tags": ["a"]}}, ctx) is False
    # missing key: ForAllValues holds, ForAnyValue does not
    assert conditions_hold({"ForAllValues:StringEquals": {"tags": ["a"]}}, {}) is True
    assert conditions_hold({"ForAnyValue:StringEquals": {"tags": ["a"]}}, {}) is False


def test_template_deny_puts_without_kms():
    """The lake buckets' DenyPutsWithoutKms: only a put asking for another encryption is denied."""
    st = deny("s3:PutObject", "arn:aws:s3:::bkt/*", Principal="*", Condition={
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption": "false"}})
    p = {"AWS": ["arn:aws:iam::1:root"]}
    put = lambda ctx: evaluate([pol(st)], Request("s3:PutObject", OBJ, ctx, p), resource_policy=True)  # noqa: E731
    assert put({}) == NEUTRAL
    assert put({"s3:x-amz-server-side-encryption": "aws:kms"}) == NEUTRAL
    assert put({"s3:x-amz-server-side-encryption": "AES256"}) == DENY


def test_failed_condition_on_allow_is_not_a_deny():
    """moto returns DENIED here; AWS: the statement simply does not apply."""
    st = allow("cloudwatch:PutMetricData", Condition={"StringEquals": {"cloudwatch:namespace": "Glue"}})
    other = pol(allow("cloudwatch:PutMetricData"))
    assert evaluate([pol(st)], Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "X"})) == NEUTRAL
    assert evaluate([pol(st), other], Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "X"})) == ALLOW


def test_unknown_operator_never_widens_access():
    assert evaluate([pol(allow(Condition={"StringFancy": {"k": "v"}}))], Request("s3:GetObject", OBJ, {"k": "v"})) == NEUTRAL
    assert evaluate([pol(allow(), deny(Condition={"StringFancy": {"k": "v"}}))], Request("s3:GetObject", OBJ)) == DENY


def test_policy_variables():
    st = allow("s3:GetObject", "arn:aws:s3:::bkt/home/${aws:username}/*")
    assert evaluate([pol(st)], Request("s3:GetObject", "arn:aws:s3:::bkt/home/ana/x", {"aws:username": "ana"})) == ALLOW
    assert evaluate([pol(st)], Request("s3:GetObject", "arn:aws:s3:::bkt/home/bob/x", {"aws:username": "ana"})) == NEUTRAL
    assert evaluate([pol(st)], Request("s3:GetObject", "arn:aws:s3:::bkt/home/ana/x", {})) == NEUTRAL


def test_json_text_and_single_statement_documents():
    import json

    doc = json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJ}})
    assert evaluate([doc], Request("s3:GetObject", OBJ)) == ALLOW
