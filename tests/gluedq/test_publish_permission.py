"""A job's Data Quality results are published only if its role may (glue:PublishDataQuality)."""
from __future__ import annotations

import json

import boto3
from moto import mock_aws

from lakekit.local.services import glue_dq

ACCOUNT, REGION = "123456789012", "us-east-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _role(iam, name: str, actions: list[str]) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return arn


def test_results_of_a_role_without_publish_permission_are_not_published(tmp_path):
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        allowed = _role(iam, "dq-may", ["glue:PublishDataQuality"])
        denied = _role(iam, "dq-may-not", ["glue:GetTable"])
        assert glue_dq.publish_allowed(ACCOUNT, REGION, allowed) is None
        msg = glue_dq.publish_allowed(ACCOUNT, REGION, denied)
        assert msg == (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/dq-may-not/GlueJobRunnerSession is not "
                       f"authorized to perform: glue:PublishDataQuality on resource: "
                       f"arn:aws:glue:{REGION}:{ACCOUNT}:dataQualityRuleset/* because no identity-based "
                       "policy allows the glue:PublishDataQuality action")
        assert "does not exist" in glue_dq.publish_allowed(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:role/gone")
        (tmp_path / "r.json").write_text("{}")
        run = {"Id": "jr_1", "JobName": "j", "_account": ACCOUNT, "_region": REGION}
        assert glue_dq.ingest_results(run, tmp_path, denied) == []
