"""The job's tailnum token: keyed HMAC-SHA256 in Spark's own functions, equal to Python's hmac."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from botocore.stub import Stubber


@pytest.mark.parametrize("key", [b"k" * 64, b"short key", b"a much longer key than one sha-256 block " * 3])
def test_hmac_column_equals_python_hmac(spark, etl, key):
    values = ["N14228", "N24211", "", "Ñ-ünïcode", None]
    df = spark.createDataFrame([(v,) for v in values], "tailnum string")
    got = [r["tailnum_token"] for r in etl.tokenize(df, "tailnum", key).collect()]
    want = [None if v is None else hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest() for v in values]
    assert got == want
    assert got[0] != got[1] and all(len(t) == 64 for t in got[:4])


def test_a_different_key_gives_different_tokens(spark, etl):
    df = spark.createDataFrame([("N14228",)], "tailnum string")
    a = etl.tokenize(df, "tailnum", b"key-a").collect()[0]["tailnum_token"]
    b = etl.tokenize(df, "tailnum", b"key-b").collect()[0]["tailnum_token"]
    assert a != b and "N14228" not in a


def test_token_key_comes_from_secrets_manager_and_a_denial_says_what_to_grant(etl, monkeypatch):
    import boto3

    client = boto3.client("secretsmanager", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response("get_secret_value", {"SecretString": "s3cr3t", "Name": "k"}, {"SecretId": "k"})
    stub.add_client_error("get_secret_value", "AccessDeniedException", "not authorized", 400,
                          expected_params={"SecretId": "k"})
    monkeypatch.setattr(boto3, "client", lambda *a, **kw: client)
    with stub:
        assert etl.read_token_key("k") == b"s3cr3t"
        with pytest.raises(RuntimeError, match="secretsmanager:GetSecretValue on the secret and kms:Decrypt"):
            etl.read_token_key("k")
