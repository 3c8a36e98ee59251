"""The ingest Lambda's metrics: FilesLanded / FilesQuarantined as Embedded Metric Format.

lakekit.pipeline.CUSTOM_METRICS: namespace ``lakekit``, dimension ``Prefix``; FilesLanded =
files the invocation handled (landed + quarantined + duplicates), FilesQuarantined = the
quarantined ones. The summary log line carries them (no cloudwatch:PutMetricData: CloudWatch
Logs extracts them); through the endpoint they reach CloudWatch from the function's log.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from _waits import wait_until
from test_ingest_endpoint import LAMBDAS, TRUST, _role_policy, _zip
from test_ingest_handler import FLIGHTS_JAN, HEADER, _event

from lakekit import pipeline
from lakekit.lambdas.ingest import handler as ingest
from lakekit.local.lambda_runtime import emf


def _summary_metrics(out: str) -> tuple[dict, list]:
    line = [json.loads(x) for x in out.splitlines()][-1]
    assert line["message"] == "summary"
    return line, emf.parse(json.dumps(line)) or []


def test_summary_line_is_emf_with_the_contract_metrics(lake, monkeypatch, capsys):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "demo-ingest")
    good = lake.put("flights/2013-01.csv", FLIGHTS_JAN)
    bad = lake.put("flights/header_only.csv", HEADER + b"\n")
    summary = ingest.lambda_handler(_event(good, bad, dict(good)), None)
    assert [len(summary[k]) for k in ("landed", "quarantined", "skipped_duplicates")] == [1, 1, 1]
    line, metrics = _summary_metrics(capsys.readouterr().out)
    assert line["landed"] == 1 and line["quarantined"] == 1 and line["Prefix"] == "demo"
    got = {(m.namespace, m.name, m.value, m.unit, tuple(m.dimensions.items())) for m in metrics}
    assert got == {("lakekit", "FilesLanded", 3.0, "Count", (("Prefix", "demo"),)),
                   ("lakekit", "FilesQuarantined", 1.0, "Count", (("Prefix", "demo"),))}
    # the names and units are the pipeline stack's contract
    for m in metrics:
        assert m.namespace == pipeline.METRIC_NAMESPACE
        assert m.unit == pipeline.CUSTOM_METRICS[m.name].unit
        assert [{"Name": k, "Value": v} for k, v in m.dimensions.items()] == pipeline.metric_dimensions("demo")


def test_zero_quarantined_is_published_too(lake, monkeypatch, capsys):
    """The quarantine-rate alarm divides by FilesLanded: a clean batch still sends both."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "demo-ingest")
    ingest.lambda_handler(_event(lake.put("flights/2013-01.csv", FLIGHTS_JAN)), None)
    _, metrics = _summary_metrics(capsys.readouterr().out)
    assert sorted((m.name, m.value) for m in metrics) == [("FilesLanded", 1.0), ("FilesQuarantined", 0.0)]


def test_outside_lambda_the_summary_has_no_metrics(lake, monkeypatch, capsys):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    ingest.lambda_handler(_event(lake.put("flights/header_only.csv", HEADER + b"\n")), None)
    line, metrics = _summary_metrics(capsys.readouterr().out)
    assert metrics == [] and "_aws" not in line and line["quarantined"] == 1


@pytest.mark.parametrize(("function_name", "prefix"), [
    ("lakekit-ingest", "lakekit"), ("team-a-ingest", "team-a"), ("e2e-ingest-1a2b", "e2e"),
    ("custom", "custom"), ("", "")])
def test_prefix_comes_from_the_function_name(monkeypatch, function_name, prefix):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", function_name)
    assert ingest._metrics_prefix() == prefix


# --- through the endpoint ---------------------------------------------------------------


def _stat(cw, metric: str, prefix: str) -> list[tuple[float, float, str]]:
    now = dt.datetime.now(dt.UTC)
    pts = cw.get_metric_statistics(
        Namespace="lakekit", MetricName=metric, Dimensions=pipeline.metric_dimensions(prefix),
        StartTime=now - dt.timedelta(hours=1), EndTime=now + dt.timedelta(minutes=5),
        Period=3900, Statistics=["Sum", "SampleCount"])["Datapoints"]
    return [(p["Sum"], p["SampleCount"], p["Unit"]) for p in pts]


def test_one_good_one_bad_file_through_the_endpoint(endpoint):
    """landing PUT -> S3 notification -> ingest Lambda -> its log group -> CloudWatch metrics."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"e2e-m{tag}"           # the stack's naming: function "<prefix>-ingest"
    s3, lam, iam = endpoint.client("s3"), endpoint.client("lambda"), endpoint.client("iam")
    landing, raw, quarantine, state = (f"{prefix}-{b}" for b in ("landing", "raw", "quarantine", "state"))
    for bucket in (landing, raw, quarantine, state):
        s3.create_bucket(Bucket=bucket)
    role = iam.create_role(RoleName=f"{prefix}-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"{prefix}-role", PolicyName="ingest",  # no cloudwatch:* at all
                        PolicyDocument=json.dumps(_role_policy(landing, raw, quarantine, state)))
    fn = lam.create_function(
        FunctionName=f"{prefix}-ingest", Runtime="python3.11", Role=role,
        Handler="handler.lambda_handler", Code={"ZipFile": _zip(LAMBDAS / "ingest")},
        Timeout=60, MemorySize=512,
        Environment={"Variables": {"RAW_BUCKET": raw, "QUARANTINE_BUCKET": quarantine}})
    s3.put_bucket_notification_configuration(
        Bucket=landing, NotificationConfiguration={"LambdaFunctionConfigurations": [{
            "LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=landing, Key="flights/2013-01.csv", Body=FLIGHTS_JAN, ContentType="text/csv")
    s3.put_object(Bucket=landing, Key="flights/header_only.csv", Body=HEADER + b"\n")
    cw = endpoint.client("cloudwatch")
    # two objects, two invocations: each publishes both metrics
    landed = wait_until(lambda: [p for p in _stat(cw, "FilesLanded", prefix) if p[1] >= 2],
                        "FilesLanded from both invocations", 120)
    assert landed == [(2.0, 2.0, "Count")]
    assert _stat(cw, "FilesQuarantined", prefix) == [(1.0, 2.0, "Count")]
    assert s3.list_objects_v2(Bucket=quarantine, Prefix="flights/")["KeyCount"] == 2  # file + sidecar
    other = f"e2e-m{uuid.uuid4().hex[:8]}"
    assert _stat(cw, "FilesLanded", other) == []
