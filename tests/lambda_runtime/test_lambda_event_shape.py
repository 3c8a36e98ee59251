"""Unit tests of the S3 event builder and filter matching (no endpoint)."""
from __future__ import annotations

import datetime as dt

from lakekit.local.lambda_runtime.s3events import build_event, encode_key, matches


def test_key_encoding_like_s3_notifications():
    assert encode_key("dir/a b+c.csv") == "dir/a+b%2Bc.csv"
    assert encode_key("raw/ingest_date=2013-01-01/é.csv") == "raw/ingest_date%3D2013-01-01/%C3%A9.csv"
    assert encode_key("plain/key_1-2.txt") == "plain/key_1-2.txt"


def test_matches_events_and_filters():
    rules = {"S3Key": {"FilterRule": [{"Name": "Prefix", "Value": "in/"},
                                      {"Name": "suffix", "Value": ".csv"}]}}
    assert matches(["s3:ObjectCreated:*"], rules, "s3:ObjectCreated:Put", "in/a.csv")
    assert matches(["s3:ObjectCreated:Put"], rules, "s3:ObjectCreated:Put", "in/a.csv")
    assert not matches(["s3:ObjectCreated:Put"], rules, "s3:ObjectCreated:Copy", "in/a.csv")
    assert not matches(["s3:ObjectCreated:*"], rules, "s3:ObjectCreated:Put", "in/a.json")
    assert not matches(["s3:ObjectCreated:*"], rules, "s3:ObjectCreated:Put", "out/a.csv")
    assert not matches(["s3:ObjectCreated:*"], {}, "s3:ObjectRemoved:Delete", "in/a.csv")
    assert matches(["s3:ObjectRemoved:*"], {}, "s3:ObjectRemoved:Delete", "x")


def test_build_event_shapes():
    now = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    ev = build_event(event_name="s3:ObjectCreated:Put", region="eu-west-1", account_id="123456789012",
                     bucket_name="bkt", configuration_id="cfg", key="a b.csv", size=3,
                     etag='"abc"', version_id="null", now=now)
    rec = ev["Records"][0]
    assert rec["eventTime"] == "2026-01-02T03:04:05.678Z"
    assert rec["eventName"] == "ObjectCreated:Put" and rec["awsRegion"] == "eu-west-1"
    assert rec["s3"]["object"]["key"] == "a+b.csv"
    assert rec["s3"]["object"]["eTag"] == "abc" and rec["s3"]["object"]["size"] == 3
    assert "versionId" not in rec["s3"]["object"]
    removed = build_event(event_name="s3:ObjectRemoved:Delete", region="us-east-1",
                          account_id="123456789012", bucket_name="bkt", configuration_id="cfg",
                          key="k", size=3, etag="abc", version_id="v1")["Records"][0]["s3"]["object"]
    assert set(removed) == {"key", "versionId", "sequencer"}
    assert removed["sequencer"] > rec["s3"]["object"]["sequencer"]


def test_only_the_events_aws_sends_reach_lambda():
    """moto also emits Put inside CompleteMultipartUpload and ObjectTagging:Put after every put."""
    import boto3
    from moto import mock_aws

    from lakekit.local.lambda_runtime import s3events

    got = []
    s3events.install(lambda delivery, account: got.append((delivery.event_name, delivery.key)))
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        s3.put_bucket_notification_configuration(Bucket="bkt", NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": [
                "s3:ObjectCreated:*", "s3:ObjectTagging:*", "s3:ObjectRemoved:*"]}]})
        s3.put_object(Bucket="bkt", Key="a.csv", Body=b"1", Tagging="k=v")
        mpu = s3.create_multipart_upload(Bucket="bkt", Key="m.bin")
        part = s3.upload_part(Bucket="bkt", Key="m.bin", UploadId=mpu["UploadId"], PartNumber=1, Body=b"x")
        s3.complete_multipart_upload(Bucket="bkt", Key="m.bin", UploadId=mpu["UploadId"],
                                     MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
        s3.copy_object(Bucket="bkt", Key="c.csv", CopySource={"Bucket": "bkt", "Key": "a.csv"})
        s3.put_object_tagging(Bucket="bkt", Key="a.csv", Tagging={"TagSet": [{"Key": "x", "Value": "y"}]})
        s3.delete_object(Bucket="bkt", Key="c.csv")
    assert got == [("s3:ObjectCreated:Put", "a.csv"),
                   ("s3:ObjectCreated:CompleteMultipartUpload", "m.bin"),
                   ("s3:ObjectCreated:Copy", "c.csv"),
                   ("s3:ObjectTagging:Put", "a.csv"),
                   ("s3:ObjectRemoved:Delete", "c.csv")]
