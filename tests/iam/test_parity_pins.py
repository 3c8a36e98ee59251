"""Pins of the known differences from AWS listed in docs/aws-parity.md.

Each test asserts what the local endpoint does TODAY where it still differs from AWS. When one
of them fails, the endpoint changed: make it match AWS, then move the row out of the ledger
(and turn the pin into a parity test).
"""
from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
TRUST_ACCOUNT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}


def _role(endpoint, statements: list[dict]):
    """A role with ``statements`` (inline), assumed by the account: -> client factory."""
    iam = endpoint.client("iam")
    name = f"pin-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_ACCOUNT))
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    c = endpoint.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
                                           RoleSessionName="pin")["Credentials"]
    return lambda service: endpoint.client(service, access_key=c["AccessKeyId"],
                                           secret_key=c["SecretAccessKey"],
                                           session_token=c["SessionToken"])


@pytest.fixture(scope="module")
def bucket(endpoint):
    name = f"pin-{uuid.uuid4().hex[:10]}"
    endpoint.client("s3").create_bucket(Bucket=name)
    return name


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(endpoint, bucket):
    """S3 (GetObject/HeadObject "Permissions"): a missing key is 404 NoSuchKey with
    s3:ListBucket on the bucket, 403 AccessDenied without it (S3 does not tell absent from
    not allowed). An existing key is read as before."""
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    without = _role(endpoint, [read])("s3")
    endpoint.client("s3").put_object(Bucket=bucket, Key="there.csv", Body=b"a\n")
    assert without.get_object(Bucket=bucket, Key="there.csv")["Body"].read() == b"a\n"
    for call in (without.head_object, without.get_object):
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket, Key="missing.csv")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert err.value.response["Error"]["Code"] in ("403", "AccessDenied")
    with pytest.raises(ClientError) as err:
        without.get_object(Bucket=bucket, Key="missing.csv")
    assert err.value.response["Error"] == {"Code": "AccessDenied", "Message": "Access Denied"}
    with_list = _role(endpoint, [read, {"Effect": "Allow", "Action": "s3:ListBucket",
                                        "Resource": f"arn:aws:s3:::{bucket}"}])("s3")
    with pytest.raises(ClientError) as err:
        with_list.get_object(Bucket=bucket, Key="missing.csv")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as err:
        with_list.head_object(Bucket=bucket, Key="missing.csv")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_sse_kms_header_without_key_id_uses_the_bucket_key_locally(endpoint):
    """AWS: ``x-amz-server-side-encryption: aws:kms`` without a key id means the AWS managed key
    aws/s3. Local (moto): the bucket's default key. lakekit always names the lake key."""
    s3, kms = endpoint.client("s3"), endpoint.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    name = f"pin-kms-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    s3.put_object(Bucket=name, Key="a", Body=b"x", ServerSideEncryption="aws:kms")
    assert s3.head_object(Bucket=name, Key="a")["SSEKMSKeyId"] == key


def test_pass_role_is_not_checked_locally(endpoint):
    """AWS: glue:CreateJob with a Role also needs iam:PassRole on it. Local: not checked."""
    glue = _role(endpoint, [{"Effect": "Allow", "Action": ["glue:CreateJob", "glue:DeleteJob"],
                             "Resource": "*"}])("glue")
    name = f"pin-job-{uuid.uuid4().hex[:6]}"
    glue.create_job(Name=name, Role=f"arn:aws:iam::{ACCOUNT}:role/anything",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://nowhere/x.py"})
    assert endpoint.client("glue").get_job(JobName=name)["Job"]["Name"] == name
    glue.delete_job(JobName=name)


def test_bucket_notification_api_does_not_validate_the_lambda_permission(endpoint, bucket):
    """AWS: PutBucketNotificationConfiguration to a function S3 may not invoke fails with
    "Unable to validate the following destination configurations". Local: only the
    CloudFormation engine checks it (tests/cfn/test_validation.py)."""
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:pin-no-permission"
    s3 = endpoint.client("s3")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    got = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    assert [c["LambdaFunctionArn"] for c in got] == [arn]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})


def test_lf_tags_can_be_created_by_any_principal_iam_allows(endpoint):
    """AWS: CreateLFTag needs a data lake administrator (or CREATE_LF_TAG... permissions).
    Local: any principal whose IAM policy allows lakeformation:CreateLFTag."""
    lf = _role(endpoint, [{"Effect": "Allow", "Action": ["lakeformation:CreateLFTag",
                                                          "lakeformation:DeleteLFTag"], "Resource": "*"}])("lakeformation")
    key = f"pin-{uuid.uuid4().hex[:6]}"
    lf.create_lf_tag(TagKey=key, TagValues=["a"])
    assert endpoint.client("lakeformation").get_lf_tag(TagKey=key)["TagValues"] == ["a"]
    lf.delete_lf_tag(TagKey=key)
