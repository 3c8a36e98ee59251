"""lakekit.athena.query publishes QueryBytes (namespace lakekit, dimension Prefix) per finished query.

With the caller's credentials: the admin (deployer) may; a principal without
cloudwatch:PutMetricData gets its rows anyway, and the refusal is logged once.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

import awswrangler as wr
import boto3
import pytest
from botocore.config import Config

from lakekit import athena as helper
from lakekit import pipeline

from . import _gwlake as L

SQL = "SELECT carrier, count(*) AS n FROM flights GROUP BY carrier"


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture(autouse=True)
def _wrangler(endpoint, monkeypatch):
    for name in ("s3", "athena", "glue", "sts"):
        monkeypatch.setattr(wr.config, f"{name}_endpoint_url", endpoint.url)


def _admin(endpoint) -> dict:
    sess = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return {"athena": endpoint.client("athena"), "boto3_session": sess, "progress": False}


def _points(endpoint, prefix: str) -> list[tuple[float, float, str]]:
    now = dt.datetime.now(dt.UTC)
    pts = endpoint.client("cloudwatch").get_metric_statistics(
        Namespace=pipeline.METRIC_NAMESPACE, MetricName="QueryBytes",
        Dimensions=pipeline.metric_dimensions(prefix), StartTime=now - dt.timedelta(hours=1),
        EndTime=now + dt.timedelta(minutes=5), Period=3900, Statistics=["Sum", "SampleCount"])["Datapoints"]
    return [(p["Sum"], p["SampleCount"], p["Unit"]) for p in pts]


def _prefix() -> str:
    return f"qb{uuid.uuid4().hex[:8]}"


def test_each_finished_query_puts_its_scanned_bytes(endpoint, lake):
    prefix = _prefix()
    _, first = helper.query(SQL, L.DB, "analysts", prefix=prefix, **_admin(endpoint))
    _, second = helper.query(SQL + " ORDER BY n", L.DB, "analysts", prefix=prefix, **_admin(endpoint))
    assert first.data_scanned_bytes > 0
    total = float(first.data_scanned_bytes + second.data_scanned_bytes)
    assert _points(endpoint, prefix) == [(total, 2.0, "Bytes")]


def test_a_cancelled_query_is_billed_and_published_before_it_raises(endpoint, lake):
    prefix = _prefix()
    wg = f"qb-capped-{uuid.uuid4().hex[:6]}"
    unchecked = endpoint.client("athena", config=Config(parameter_validation=False))  # AWS min 10 MB
    unchecked.create_work_group(Name=wg, Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/{wg}/"},
        "EnforceWorkGroupConfiguration": True, "BytesScannedCutoffPerQuery": 10_000})
    with pytest.raises(helper.QueryFailed) as ei:
        helper.query("SELECT * FROM flights", L.DB, wg, prefix=prefix, **_admin(endpoint))
    assert ei.value.stats.state == "CANCELLED"
    assert _points(endpoint, prefix) == [(float(ei.value.stats.data_scanned_bytes), 1.0, "Bytes")]


def test_publish_metrics_false_puts_nothing(endpoint, lake):
    prefix = _prefix()
    helper.query(SQL, L.DB, "analysts", prefix=prefix, publish_metrics=False, **_admin(endpoint))
    assert _points(endpoint, prefix) == []


def test_without_put_metric_data_the_query_still_returns_and_warns_once(endpoint, lake, caplog):
    iam = endpoint.client("iam")
    name = f"qb-analyst-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="analyst", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["athena:*", "glue:*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": [
                f"arn:aws:s3:::{L.BUCKET}", f"arn:aws:s3:::{L.BUCKET}/*",
                f"arn:aws:s3:::{L.RESULTS}", f"arn:aws:s3:::{L.RESULTS}/*"]}]}))  # no cloudwatch:*
    key = iam.create_access_key(UserName=name)["AccessKey"]
    creds = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    sess = boto3.Session(region_name="us-east-1", **creds)
    athena = endpoint.client("athena", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    prefix = _prefix()
    truth = lake["df"].groupby("carrier").size().to_dict()
    with caplog.at_level(logging.DEBUG, logger="lakekit.athena"):
        for _ in range(2):
            df, stats = helper.query(SQL, L.DB, "analysts", athena=athena, boto3_session=sess,
                                     progress=False, prefix=prefix)
            assert stats.state == "SUCCEEDED"
            assert dict(zip(df["carrier"], df["n"].astype(int), strict=True)) == truth
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "QueryBytes" in r.getMessage()]
    assert len(warned) == 1 and "AccessDenied" in warned[0].getMessage()
    assert "cloudwatch:PutMetricData" in warned[0].getMessage()
    assert [r.levelno for r in caplog.records if "QueryBytes" in r.getMessage()] == [logging.WARNING,
                                                                                      logging.DEBUG]
    assert _points(endpoint, prefix) == []
