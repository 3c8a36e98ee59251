"""Strict IAM through a running endpoint, with the workshop stack's own roles and policies."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lakekit import deploy

ACCOUNT = "123456789012"
PREFIX = "iamt"
RAW = f"{PREFIX}-raw-{ACCOUNT}-us-east-1"
LANDING = f"{PREFIX}-landing-{ACCOUNT}-us-east-1"
PROCESSED = f"{PREFIX}-processed-{ACCOUNT}-us-east-1"
ROOT_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def lake(private_endpoint):
    ep = private_endpoint("iam-strict")
    s = ep.settings.with_(prefix=PREFIX)
    out = deploy.deploy(s, progress=False, timeout=300)
    s3 = ep.client("s3")
    # These probes need files to stay in landing: no ingest Lambda moving them on arrival.
    s3.put_bucket_notification_configuration(Bucket=LANDING, NotificationConfiguration={})
    for bucket in (RAW, LANDING, PROCESSED):
        s3.put_object(Bucket=bucket, Key="flights/a.csv", Body=b"year,month\n2013,1\n")
    yield ep, out
    ep.stop()


def _as_role(ep, role_arn: str, trust_root: bool = False):
    """Clients signed with ``role_arn``'s session (trust widened to the account for service roles)."""
    if trust_root:
        ep.client("iam").update_assume_role_policy(RoleName=role_arn.rsplit("/", 1)[1],
                                                   PolicyDocument=json.dumps(ROOT_TRUST))
    c = ep.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="iam-test")["Credentials"]

    def client(service: str):
        return ep.client(service, access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"],
                         session_token=c["SessionToken"])

    return client


def _error(exc_info) -> tuple[str, str, int]:
    r = exc_info.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_bootstrap_key_can_do_everything(lake):
    ep, out = lake
    s3, glue, kms = ep.client("s3"), ep.client("glue"), ep.client("kms")
    assert s3.get_object(Bucket=RAW, Key="flights/a.csv")["Body"].read() == b"year,month\n2013,1\n"
    s3.delete_object(Bucket=LANDING, Key="flights/a.csv")
    s3.put_object(Bucket=LANDING, Key="flights/a.csv", Body=b"year,month\n2013,1\n")
    glue.create_database(DatabaseInput={"Name": "iamt_scratch"})
    assert glue.get_database(Name="iamt_scratch")["Database"]["Name"] == "iamt_scratch"
    glue.delete_database(Name="iamt_scratch")
    blob = kms.encrypt(KeyId=out["DataKeyArn"], Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_unknown_key_is_refused_per_protocol(lake):
    ep, _ = lake
    with pytest.raises(ClientError) as e:
        ep.client("s3", access_key="AKIAUNKNOWN0000000000").list_buckets()
    assert _error(e) == ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403)
    with pytest.raises(ClientError) as e:
        ep.client("sts", access_key="AKIAUNKNOWN0000000000").get_caller_identity()
    assert _error(e) == ("InvalidClientTokenId", "The security token included in the request is invalid.", 403)
    with pytest.raises(ClientError) as e:
        ep.client("glue", access_key="AKIAUNKNOWN0000000000").get_databases()
    assert _error(e) == ("UnrecognizedClientException", "The security token included in the request is invalid.", 400)


def test_analyst_cannot_get_raw_objects(lake):
    ep, out = lake
    s3 = _as_role(ep, out["AnalystFullRoleArn"])("s3")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=RAW, Key="flights/a.csv")
    assert _error(e) == ("AccessDenied",
                         f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{PREFIX}-analyst-full/iam-test is not "
                         f"authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::{RAW}/flights/a.csv\" "
                         "because no identity-based policy allows the s3:GetObject action", 403)


def test_ingest_role_reads_landing_but_not_processed(lake):
    ep, out = lake
    s3 = _as_role(ep, out["IngestLambdaRoleArn"], trust_root=True)("s3")
    assert s3.get_object(Bucket=LANDING, Key="flights/a.csv")["Body"].read().startswith(b"year")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=PROCESSED, Key="flights/a.csv")
    code, msg, status = _error(e)
    assert (code, status) == ("AccessDenied", 403)
    assert f'perform: s3:GetObject on resource: "arn:aws:s3:::{PROCESSED}/flights/a.csv"' in msg


def test_glue_role_cannot_delete_from_landing(lake):
    ep, out = lake
    role = _as_role(ep, out["GlueRoleArn"], trust_root=True)
    s3 = role("s3")
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=LANDING, Key="flights/a.csv")
    assert _error(e)[0] == "AccessDenied"
    assert "s3:DeleteObject" in _error(e)[1]
    # DeleteObjects: per key, as an entry of the 200 answer (AWS's shape)
    resp = s3.delete_objects(Bucket=LANDING, Delete={"Objects": [{"Key": "flights/a.csv"}]})
    assert [(x["Key"], x["Code"]) for x in resp.get("Errors", [])] == [("flights/a.csv", "AccessDenied")]
    assert ep.client("s3").head_object(Bucket=LANDING, Key="flights/a.csv")["ContentLength"] > 0
    # what the role is for still works: processed/* is its to write
    s3.put_object(Bucket=PROCESSED, Key="flights/b.csv", Body=b"x")
    s3.delete_object(Bucket=PROCESSED, Key="flights/b.csv")


def test_role_without_kms_decrypt_cannot_get_sse_kms_object(lake):
    ep, out = lake
    iam = ep.client("iam")
    iam.create_role(RoleName="iamt-no-kms", AssumeRolePolicyDocument=json.dumps(ROOT_TRUST))
    iam.put_role_policy(RoleName="iamt-no-kms", PolicyName="read-raw", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{RAW}/*"}]}))
    s3 = _as_role(ep, f"arn:aws:iam::{ACCOUNT}:role/iamt-no-kms")("s3")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=RAW, Key="flights/a.csv")
    code, msg, status = _error(e)
    assert (code, status) == ("AccessDenied", 403)
    assert msg == (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/iamt-no-kms/iam-test is not authorized to perform: "
                   f"kms:Decrypt on resource: {out['DataKeyArn']} because no identity-based policy allows the "
                   "kms:Decrypt action")
    with pytest.raises(ClientError) as e:  # default encryption is SSE-KMS: a put needs GenerateDataKey
        s3.put_object(Bucket=RAW, Key="flights/new.csv", Body=b"x")
    assert "kms:GenerateDataKey" in _error(e)[1]
    # granting kms:Decrypt on the key makes the GET work
    iam.put_role_policy(RoleName="iamt-no-kms", PolicyName="kms", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": out["DataKeyArn"]}]}))
    assert s3.get_object(Bucket=RAW, Key="flights/a.csv")["Body"].read().startswith(b"year")


def test_service_role_cannot_be_assumed_by_the_account(lake):
    ep, out = lake
    arn = out["ApiPullLambdaRoleArn"]  # trusts lambda.amazonaws.com only
    with pytest.raises(ClientError) as e:
        ep.client("sts").assume_role(RoleArn=arn, RoleSessionName="nope")
    assert _error(e) == ("AccessDenied", f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: "
                                          f"sts:AssumeRole on resource: {arn}", 403)


def test_glue_calls_outside_the_roles_catalog_are_denied(lake):
    ep, out = lake
    glue = _as_role(ep, out["AnalystFullRoleArn"])("glue")
    assert glue.get_database(Name=out["DatabaseName"])["Database"]["Name"] == out["DatabaseName"]
    with pytest.raises(ClientError) as e:
        glue.create_database(DatabaseInput={"Name": "iamt_other"})
    code, msg, status = _error(e)
    assert (code, status) == ("AccessDeniedException", 400)
    assert msg.endswith(f"glue:CreateDatabase on resource: arn:aws:glue:us-east-1:{ACCOUNT}:catalog because no "
                        "identity-based policy allows the glue:CreateDatabase action")


def test_strict_off_by_env(private_endpoint, monkeypatch):
    monkeypatch.setenv("LAKEKIT_STRICT_IAM", "0")
    ep = private_endpoint("iam-off")
    try:
        assert "LAKEKIT_STRICT_IAM=0" in (ep.home / "endpoint.log").read_text()
        # an unknown key is accepted, as moto does
        s3 = ep.client("s3", access_key="AKIAUNKNOWN0000000000")
        s3.create_bucket(Bucket="iam-off-bucket")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["iam-off-bucket"]
    finally:
        ep.stop()


def test_token_key_secret_is_under_the_lake_key_and_only_the_glue_role_reads_it(lake):
    ep, out = lake
    sm = ep.client("secretsmanager")
    arn = sm.describe_secret(SecretId=f"{PREFIX}-tailnum-token-key")["ARN"]
    meta = sm.describe_secret(SecretId=arn)
    assert meta["KmsKeyId"] == out["DataKeyArn"] or meta["KmsKeyId"].endswith(out["DataKeyArn"].rsplit("/", 1)[1])
    value = sm.get_secret_value(SecretId=arn)["SecretString"]
    assert len(value) == 64 and value.isalnum()  # GenerateSecretString: 64 chars, no punctuation
    glue = _as_role(ep, f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-glue", trust_root=True)("secretsmanager")
    assert glue.get_secret_value(SecretId=arn)["SecretString"] == value
    analyst = _as_role(ep, f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-analyst-full")("secretsmanager")
    with pytest.raises(ClientError) as e:
        analyst.get_secret_value(SecretId=arn)
    code, msg, status = _error(e)
    assert (code, status) == ("AccessDeniedException", 400)
    assert msg == (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{PREFIX}-analyst-full/iam-test is not authorized to "
                   f"perform: secretsmanager:GetSecretValue on resource: {arn} because no identity-based policy "
                   "allows the secretsmanager:GetSecretValue action")


def test_reading_a_secret_needs_kms_decrypt_on_its_key_in_secrets_managers_words(lake):
    ep, out = lake
    sm = ep.client("secretsmanager")
    arn = sm.describe_secret(SecretId=f"{PREFIX}-tailnum-token-key")["ARN"]
    iam = ep.client("iam")
    iam.create_role(RoleName="iamt-secret-no-kms", AssumeRolePolicyDocument=json.dumps(ROOT_TRUST))
    iam.put_role_policy(RoleName="iamt-secret-no-kms", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}]}))
    client = _as_role(ep, f"arn:aws:iam::{ACCOUNT}:role/iamt-secret-no-kms")("secretsmanager")
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=arn)
    assert _error(e) == ("AccessDeniedException", "Access to KMS is not allowed", 400)
    iam.put_role_policy(RoleName="iamt-secret-no-kms", PolicyName="kms", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": out["DataKeyArn"],
             "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}]}))
    assert len(client.get_secret_value(SecretId=arn)["SecretString"]) == 64
