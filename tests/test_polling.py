"""lakekit.polling: the helpers' waits pause less between calls on the local (loopback) endpoint."""
from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest

from lakekit import ingest, polling

AWS_S3 = "https://s3.us-east-1.amazonaws.com"


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:4810", True), ("http://localhost:4810", True), ("http://[::1]:4810", True),
    (AWS_S3, False), ("http://10.0.0.5:4810", False), (None, False)])
def test_on_loopback_by_endpoint_host(url, local):
    client = SimpleNamespace(meta=SimpleNamespace(endpoint_url=url))
    assert polling.on_loopback(client) is local
    assert polling.interval(client, aws=0.5, local=0.1) == (0.1 if local else 0.5)


def test_a_real_boto3_client_without_endpoint_url_is_aws():
    s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    assert s3.meta.endpoint_url.startswith("https://") and not polling.on_loopback(s3)


class _Landing:
    """A fake S3 client: the landing bucket holds ``key`` for the first ``listings`` listings."""

    def __init__(self, endpoint_url: str, listings: int = 1) -> None:
        self.meta = SimpleNamespace(endpoint_url=endpoint_url)
        self.left = listings

    def get_paginator(self, _name):
        fake = self

        class _Pages:
            def paginate(self, Bucket, Prefix=""):  # noqa: N803 - boto3's names
                if Bucket == "landing" and fake.left > 0:
                    fake.left -= 1
                    return [{"Contents": [{"Key": "flights/2013-01.csv"}]}]
                return [{}]

        return _Pages()


@pytest.mark.parametrize(("url", "pause"), [("http://127.0.0.1:4810", 0.1), (AWS_S3, 0.5)])
def test_wait_until_ingested_pauses_by_target(monkeypatch, url, pause):
    slept: list[float] = []
    monkeypatch.setattr(ingest.time, "sleep", slept.append)
    df = ingest.wait_until_ingested(_Landing(url, listings=2), "landing", "raw", "quarantine",
                                    ["flights/2013-01.csv"], timeout=60, progress=False)
    assert slept == [pause, pause] and df["where"].tolist() == ["missing"]
    slept.clear()
    ingest.wait_until_ingested(_Landing(url), "landing", "raw", "quarantine",
                               ["flights/2013-01.csv"], timeout=60, progress=False, poll=0.7)
    assert slept == [0.7]


class _Logs:
    """A fake CloudWatch Logs client: the decision line shows up on the second read."""

    def __init__(self, endpoint_url: str) -> None:
        self.meta = SimpleNamespace(endpoint_url=endpoint_url)
        self.reads = 0
        self.exceptions = SimpleNamespace(ResourceNotFoundException=LookupError)

    def get_paginator(self, _name):
        fake = self

        class _Pages:
            def paginate(self, **_kw):
                fake.reads += 1
                if fake.reads < 2:
                    return [{"events": []}]
                return [{"events": [{"timestamp": 1, "message":
                                     '{"message": "landed", "key": "k", "level": "INFO"}'}]}]

        return _Pages()


@pytest.mark.parametrize(("url", "pause"), [("http://127.0.0.1:4810", 0.2), ("https://logs.us-east-1.amazonaws.com", 1.0)])
def test_lambda_logs_pauses_by_target(monkeypatch, url, pause):
    slept: list[float] = []
    monkeypatch.setattr(ingest.time, "sleep", slept.append)
    df = ingest.lambda_logs(_Logs(url), "fn", keys=["k"], timeout=60)
    assert slept == [pause] and df["message"].tolist() == ["landed"]
