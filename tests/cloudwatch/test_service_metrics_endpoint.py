"""The executors publish AWS/Lambda and AWS/Athena metrics through the endpoint (values asserted)."""
from __future__ import annotations

import datetime as dt
import json
import uuid

from tests.athena import _gwlake
from tests.lambda_runtime.conftest import ECHO, Lam


def _stat(cw, ns, metric, dims, stat="Sum"):
    now = dt.datetime.now(dt.UTC)
    pts = cw.get_metric_statistics(Namespace=ns, MetricName=metric, StartTime=now - dt.timedelta(hours=1),
                                   EndTime=now + dt.timedelta(minutes=5), Period=3600 + 300,
                                   Statistics=[stat], Dimensions=dims)["Datapoints"]
    return [p[stat] for p in pts], [p.get("Unit") for p in pts]


def test_lambda_invocations_errors_and_duration(cw_ep):
    lam = Lam(cw_ep)
    fn = lam.function("cwecho", ECHO, timeout=10)
    name = fn["FunctionName"]
    for event in ({"a": 1}, {"a": 2}, {"action": "fail"}):
        lam.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    cw = cw_ep.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": name}]
    assert _stat(cw, "AWS/Lambda", "Invocations", dims) == ([3.0], ["Count"])
    assert _stat(cw, "AWS/Lambda", "Errors", dims) == ([1.0], ["Count"])
    assert _stat(cw, "AWS/Lambda", "Duration", dims, "SampleCount") == ([3.0], ["Milliseconds"])
    longest, _ = _stat(cw, "AWS/Lambda", "Duration", dims, "Maximum")
    assert 0.0 < longest[0] < 10_000.0
    # only the FunctionName series is published locally (moto matches dimensions as a subset)
    res = [{"Name": "FunctionName", "Value": name}, {"Name": "Resource", "Value": name}]
    assert _stat(cw, "AWS/Lambda", "Invocations", res)[0] == []
    assert _stat(cw, "AWS/Lambda", "ConcurrentExecutions", dims, "Maximum")[0] == [1.0]


def test_athena_processed_bytes_only_when_the_workgroup_publishes(cw_ep):
    _gwlake.build(cw_ep)
    athena, cw = cw_ep.client("athena"), cw_ep.client("cloudwatch")
    tag = uuid.uuid4().hex[:6]
    loud, quiet = f"cw-on-{tag}", f"cw-off-{tag}"
    for wg, flag in ((loud, True), (quiet, False)):
        athena.create_work_group(Name=wg, Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{_gwlake.RESULTS}/{wg}/"},
            "PublishCloudWatchMetricsEnabled": flag})
    sql = "SELECT sum(distance), count(*) FROM gwdb.flights WHERE month = 1"
    qes = {}
    for wg in (loud, quiet):
        qid = athena.start_query_execution(QueryString=sql, WorkGroup=wg)["QueryExecutionId"]
        qes[wg] = _gwlake.wait(athena, qid)
        assert qes[wg]["Status"]["State"] == "SUCCEEDED"
    scanned = qes[loud]["Statistics"]["DataScannedInBytes"]
    assert scanned > 0
    dims = [{"Name": "QueryState", "Value": "SUCCEEDED"}, {"Name": "QueryType", "Value": "DML"},
            {"Name": "WorkGroup", "Value": loud}]
    assert _stat(cw, "AWS/Athena", "ProcessedBytes", dims) == ([float(scanned)], ["Bytes"])
    total, units = _stat(cw, "AWS/Athena", "TotalExecutionTime", dims)
    assert total == [float(qes[loud]["Statistics"]["TotalExecutionTimeInMillis"])] and units == ["Milliseconds"]
    quiet_metrics = [m for m in cw.list_metrics(Namespace="AWS/Athena")["Metrics"]
                     if {"Name": "WorkGroup", "Value": quiet} in m["Dimensions"]]
    assert quiet_metrics == []
