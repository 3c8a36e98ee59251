"""lakekit.athena.query (the notebooks' helper) against the endpoint: rows, stats, cost, errors."""
from __future__ import annotations

import awswrangler as wr
import boto3
import pytest
from botocore.config import Config

from lakekit import athena as helper

from . import _gwlake as L


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture
def env(endpoint, lake, monkeypatch):
    for name in ("s3", "athena", "glue", "sts"):
        monkeypatch.setattr(wr.config, f"{name}_endpoint_url", endpoint.url)
    sess = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    athena = endpoint.client("athena")
    if "helper-capped" not in {w["Name"] for w in athena.list_work_groups()["WorkGroups"]}:
        unchecked = endpoint.client("athena", config=Config(parameter_validation=False))  # AWS min 10 MB
        unchecked.create_work_group(Name="helper-capped", Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/capped/"},
            "EnforceWorkGroupConfiguration": True, "BytesScannedCutoffPerQuery": 10_000})
    return {"athena": athena, "boto3_session": sess, "progress": False}


def test_cost_is_billed_per_mb_with_10_mb_minimum():
    assert helper.cost_usd(0) == 0.0
    assert helper.cost_usd(1) == helper.cost_usd(10 * 1024**2) == pytest.approx(10 / 1024**2 * 5)
    assert helper.cost_usd(10 * 1024**2 + 1, price_per_tb=6.0) == pytest.approx(11 / 1024**2 * 6)
    assert helper.human_bytes(1536) == "1.5 KB" and helper.human_bytes(12) == "12 B"


def test_poll_interval_is_short_only_for_a_loopback_endpoint(env, monkeypatch):
    aws = boto3.client("athena", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    assert helper.poll_interval(aws) == helper.POLL_INTERVAL_AWS == 0.25
    assert helper.poll_interval(env["athena"]) == helper.POLL_INTERVAL_LOCAL == 0.05
    seen = []
    real = helper.wait_for
    monkeypatch.setattr(helper, "wait_for", lambda *a, **kw: seen.append(kw["interval"]) or real(*a, **kw))
    df, _ = helper.query("SELECT 1 AS one", L.DB, "analysts", **env)
    assert seen == [0.05] and df["one"].tolist() == [1]


def test_rows_and_stats_equal_pandas(env, lake):
    df, stats = helper.query("SELECT carrier, count(*) AS n FROM flights GROUP BY carrier",
                             L.DB, "analysts", **env)
    truth = lake["df"].groupby("carrier").size().to_dict()
    assert dict(zip(df["carrier"], df["n"].astype(int), strict=True)) == truth
    assert stats.state == "SUCCEEDED" and stats.workgroup == "analysts"
    assert stats.data_scanned_bytes > 0 and stats.cost_usd == helper.cost_usd(stats.data_scanned_bytes)
    assert stats.output_location.startswith(f"s3://{L.RESULTS}/analysts/")
    assert stats.as_dict()["scanned"] == helper.human_bytes(stats.data_scanned_bytes)


def test_ddl_returns_text_lines(env):
    df, stats = helper.query("SHOW PARTITIONS flights", L.DB, "analysts", **env)
    assert len(df) == 21 and "year=2013/month=1/day=1" in set(df["result"])
    assert stats.data_scanned_bytes == 0 and stats.cost_usd == 0.0


def test_failed_query_raises_with_athenas_reason(env):
    with pytest.raises(helper.QueryFailed) as ei:
        helper.query("SELECT no_such_column FROM flights", L.DB, "analysts", **env)
    assert ei.value.stats.state == "FAILED"
    assert "COLUMN_NOT_FOUND" in ei.value.stats.reason and "no_such_column" in str(ei.value)


def test_cutoff_cancels_and_reports_bytes_read(env):
    with pytest.raises(helper.QueryFailed) as ei:
        helper.query("SELECT * FROM flights", L.DB, "helper-capped", **env)
    stats = ei.value.stats
    assert stats.state == "CANCELLED" and "Bytes scanned limit was exceeded" in stats.reason
    assert stats.data_scanned_bytes > 10_000 and stats.cost_usd > 0


def test_governance_query_returns_outcomes_for_success_and_denial(endpoint, lake, monkeypatch):
    """lakekit.governance.query (notebook 05) shares the helper: frames on success, reasons on failure."""
    from lakekit import governance

    for key, value in {"LAKEKIT_TARGET": "local", "LAKEKIT_PORT": str(endpoint.settings.port),
                       "LAKEKIT_HOME": str(endpoint.home)}.items():
        monkeypatch.setenv(key, value)
    for name in ("s3", "athena", "glue", "sts"):
        monkeypatch.setattr(wr.config, f"{name}_endpoint_url", endpoint.url)
    ok = governance.query("SELECT carrier, count(*) AS n FROM flights GROUP BY carrier", "analysts", L.DB)
    assert ok.state == "SUCCEEDED" and ok.columns == ["carrier", "n"]
    assert dict(zip(ok.frame["carrier"], ok.frame["n"].astype(int), strict=True)) == \
        lake["df"].groupby("carrier").size().to_dict()
    bad = governance.query("SELECT no_such_column FROM flights", "analysts", L.DB)
    assert bad.state == "FAILED" and bad.frame is None and "no_such_column" in bad.error
