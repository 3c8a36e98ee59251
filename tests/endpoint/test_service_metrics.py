"""lakekit.local.metrics: the services' own metrics land in CloudWatch like client-put ones."""
from __future__ import annotations

import datetime as dt

import boto3
from moto import mock_aws

from lakekit.local.metrics import emit, emit_many


def test_emitted_metrics_are_listed_and_summed_by_get_metric_statistics():
    with mock_aws():
        now = dt.datetime.now(dt.UTC)
        emit("123456789012", "us-east-1", "AWS/Lambda", "Invocations", 1, "Count", {"FunctionName": "f"})
        emit_many("123456789012", "us-east-1", "AWS/Lambda",
                  [("Invocations", 2, "Count", {"FunctionName": "f"}),
                   ("Duration", 12.5, "Milliseconds", {"FunctionName": "f"})])
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        names = sorted(m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Lambda")["Metrics"])
        assert names == ["Duration", "Invocations"]
        got = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Invocations",
                                       Dimensions=[{"Name": "FunctionName", "Value": "f"}],
                                       StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=5),
                                       Period=600, Statistics=["Sum"])["Datapoints"]
        assert [p["Sum"] for p in got] == [3.0]
        assert cw.list_metrics(Namespace="AWS/Glue")["Metrics"] == []  # another namespace: nothing


def test_a_failing_backend_never_raises():
    # no mock, an account that does not parse: logged, not raised
    emit("not-an-account", "nowhere-1", "AWS/Lambda", "Errors", 1, "Count", {})
