"""Key-policy-only KMS decisions (enforce.kms_allows): Lake Formation's service-linked role.

The template's DataKey lets that role use the key through ``"Principal": {"AWS": "*"}`` narrowed
by ``kms:CallerAccount`` and ``aws:PrincipalArn`` (a principal that does not exist yet cannot be
named). ``aws:PrincipalArn`` is in every request's context - for a role, the role's ARN - so the
statement must match it (IAM "AWS global condition context keys": aws:PrincipalArn).
"""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from lakekit.local.iam import enforce
from lakekit.local.iam.athena import lakeformation_role_can_decrypt
from lakekit.local.iam.principals import SERVICE_LINKED_LF_ROLE

ACCOUNT, REGION = "123456789012", "us-east-1"
SLR = SERVICE_LINKED_LF_ROLE.format(account=ACCOUNT)
KEY_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AccountAdministersKeyViaIam", "Effect": "Allow",
     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "LakeFormationServiceLinkedRoleUsesKey", "Effect": "Allow", "Principal": {"AWS": "*"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*",
     "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}, "ArnEquals": {"aws:PrincipalArn": SLR}}}]}


@pytest.fixture
def key_arn():
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        yield kms.create_key(Policy=json.dumps(KEY_POLICY))["KeyMetadata"]["Arn"]


def test_service_linked_role_decrypts_through_the_principal_arn_condition(key_arn):
    assert lakeformation_role_can_decrypt(ACCOUNT, REGION, key_arn, "lake-processed", "t/data.csv") is True
    assert enforce.kms_allows(SLR, ACCOUNT, REGION, key_arn, "kms:Decrypt", {"kms:CallerAccount": ACCOUNT})


def test_other_principals_and_accounts_do_not_match_the_condition(key_arn):
    other = f"arn:aws:iam::{ACCOUNT}:role/someone-else"
    assert enforce.kms_allows(other, ACCOUNT, REGION, key_arn, "kms:Decrypt", {"kms:CallerAccount": ACCOUNT}) is False
    assert enforce.kms_allows(SLR, ACCOUNT, REGION, key_arn, "kms:Decrypt", {"kms:CallerAccount": "210987654321"}) is False
    # an action the statement does not list
    assert enforce.kms_allows(SLR, ACCOUNT, REGION, key_arn, "kms:ScheduleKeyDeletion",
                              {"kms:CallerAccount": ACCOUNT}) is False
