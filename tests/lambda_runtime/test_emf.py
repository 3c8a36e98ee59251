"""Embedded Metric Format: CloudWatch Logs turns a Lambda function's EMF log lines into metrics.

The documents are the examples of the CloudWatch user guide's "Specification: Embedded metric
format" (the full valid example; the DimensionSet, MetricDefinition and target-member fragments
completed into documents). Invalid documents give no metric and stay log lines.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import uuid

import pytest

from lakekit.local.lambda_runtime import emf
from tests.lambda_runtime.conftest import Lam, make_zip

# the specification's "valid example of embedded metric format", verbatim
SPEC_EXAMPLE = {
    "_aws": {
        "Timestamp": 1574109732004,
        "CloudWatchMetrics": [{
            "Namespace": "lambda-function-metrics",
            "Dimensions": [["functionVersion"]],
            "Metrics": [{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}],
        }],
    },
    "functionVersion": "$LATEST",
    "time": 100,
    "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee",
}


def _doc(metrics: list[dict], dimensions: list[list[str]] | None = None, **members) -> dict:
    return {"_aws": {"Timestamp": 1559748430481, "CloudWatchMetrics": [{
        "Namespace": "MyApp", "Dimensions": dimensions if dimensions is not None else [[]],
        "Metrics": metrics}]}, **members}


def _tuples(message: str) -> list[tuple]:
    return [(m.namespace, m.name, m.value, m.unit, m.dimensions, m.timestamp_ms, m.storage_resolution)
            for m in emf.extract(message)]


def test_spec_example_gives_exactly_its_one_metric():
    assert _tuples(json.dumps(SPEC_EXAMPLE)) == [
        ("lambda-function-metrics", "time", 100.0, "Milliseconds", {"functionVersion": "$LATEST"},
         1574109732004, 60)]


def test_spec_fragments_completed_into_documents():
    # MetricDefinition example: "Time" in Milliseconds, StorageResolution 60, value 1
    time_doc = _doc([{"Name": "Time", "Unit": "Milliseconds", "StorageResolution": 60}], Time=1)
    assert _tuples(json.dumps(time_doc)) == [
        ("MyApp", "Time", 1.0, "Milliseconds", {}, 1559748430481, 60)]
    # target members: a reference "A.a" names the top-level member "A.a", never A -> a
    dotted = _doc([{"Name": "A.a"}], **{"A.a": 7, "A": {"a": 9}})
    assert _tuples(json.dumps(dotted)) == [("MyApp", "A.a", 7.0, "None", {}, 1559748430481, 60)]


def test_every_dimension_set_and_every_array_value_is_a_sample():
    doc = _doc([{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Hits", "StorageResolution": 1}],
               dimensions=[["Service"], ["Service", "Operation"], []],
               Service="api", Operation="get", Latency=[3, 4.5], Hits=2)
    got = _tuples(json.dumps(doc))
    sets = [{"Service": "api"}, {"Service": "api", "Operation": "get"}, {}]
    assert got == ([("MyApp", "Latency", v, "Milliseconds", d, 1559748430481, 60)
                    for v in (3.0, 4.5) for d in sets]
                   + [("MyApp", "Hits", 2.0, "None", d, 1559748430481, 1) for d in sets])


def _broken(path: str, value) -> dict:
    doc = copy.deepcopy(SPEC_EXAMPLE)
    node = doc
    *parents, last = path.split("/")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return doc


INVALID = {
    "no Timestamp": _broken("_aws/Timestamp", KeyError),
    "Timestamp not a number": _broken("_aws/Timestamp", "2019-11-18T20:42:12Z"),
    "CloudWatchMetrics not an array": _broken("_aws/CloudWatchMetrics", {}),
    "no Namespace": _broken("_aws/CloudWatchMetrics/0/Namespace", KeyError),
    "empty Namespace": _broken("_aws/CloudWatchMetrics/0/Namespace", ""),
    "AWS/ namespace": _broken("_aws/CloudWatchMetrics/0/Namespace", "AWS/Lambda"),
    "no Dimensions": _broken("_aws/CloudWatchMetrics/0/Dimensions", KeyError),
    "Dimensions empty": _broken("_aws/CloudWatchMetrics/0/Dimensions", []),
    "DimensionSet not an array": _broken("_aws/CloudWatchMetrics/0/Dimensions", ["functionVersion"]),
    "31 dimension keys": _broken("_aws/CloudWatchMetrics/0/Dimensions", [["functionVersion"] * 31]),
    "dimension target missing": _broken("functionVersion", KeyError),
    "dimension target a number": _broken("functionVersion", 3),
    "dimension target too long": _broken("functionVersion", "v" * 1025),
    "metric target missing": _broken("time", KeyError),
    "metric target a string": _broken("time", "100"),
    "metric target a boolean": _broken("time", True),
    "metric target nested": _broken("time", {"value": 100}),
    "101 values": _broken("time", list(range(101))),
    "empty value array": _broken("time", []),
    "unit not a CloudWatch unit": _broken("_aws/CloudWatchMetrics/0/Metrics/0/Unit", "ms"),
    "StorageResolution 30": _broken("_aws/CloudWatchMetrics/0/Metrics/0/StorageResolution", 30),
    "no metric Name": _broken("_aws/CloudWatchMetrics/0/Metrics/0/Name", KeyError),
    "101 metric definitions": _broken("_aws/CloudWatchMetrics/0/Metrics", [{"Name": "time"}] * 101),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_documents_give_no_metric(case):
    message = json.dumps(INVALID[case])
    with pytest.raises(emf.InvalidEmf):
        emf.parse(message)
    assert emf.extract(message) == []


def test_text_around_the_object_or_a_plain_line_is_no_emf():
    valid = json.dumps(SPEC_EXAMPLE)
    with pytest.raises(emf.InvalidEmf, match="not one JSON object"):
        emf.parse(valid + " trailing")
    assert emf.parse("[INFO]\t2024-01-01T00:00:00.000Z\trid\t" + valid) is None
    assert emf.parse('{"message": "landed", "key": "flights/2013-01.csv"}') is None
    assert emf.parse("START RequestId: abc Version: $LATEST") is None


def test_publish_puts_the_metrics_into_cloudwatch():
    from moto import mock_aws

    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    good = copy.deepcopy(SPEC_EXAMPLE)
    good["_aws"]["Timestamp"] = now_ms
    good["time"] = [100, 300]
    events = [(now_ms, "START RequestId: r1"), (now_ms, json.dumps(good)),
              (now_ms, json.dumps(INVALID["metric target a string"])), (now_ms, "END RequestId: r1")]
    with mock_aws():
        import boto3

        assert emf.publish("123456789012", "us-east-1", events, source="test") == 2
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        when = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
        pts = cw.get_metric_statistics(
            Namespace="lambda-function-metrics", MetricName="time",
            Dimensions=[{"Name": "functionVersion", "Value": "$LATEST"}],
            StartTime=when - dt.timedelta(minutes=5), EndTime=when + dt.timedelta(minutes=5),
            Period=600, Statistics=["Sum", "SampleCount", "Maximum"])["Datapoints"]
        assert [(p["Sum"], p["SampleCount"], p["Maximum"], p["Unit"]) for p in pts] == [
            (400.0, 2.0, 300.0, "Milliseconds")]


# --- through the endpoint: a function's stdout -> its log group -> metrics ---------------

EMF_PRINTER = '''
import json, time

def handler(event, context):
    doc = {"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
        "Namespace": event["namespace"], "Dimensions": [["Stage"]],
        "Metrics": [{"Name": "Widgets", "Unit": "Count"}]}]},
        "Stage": "test", "Widgets": event["widgets"]}
    print(json.dumps(doc))
    bad = dict(doc, Widgets="many")
    print(json.dumps(bad))
    return {"ok": True}
'''


def _sum(cw, namespace: str, metric: str, dims: list[dict]) -> list[tuple]:
    now = dt.datetime.now(dt.UTC)
    pts = cw.get_metric_statistics(Namespace=namespace, MetricName=metric, Dimensions=dims,
                                   StartTime=now - dt.timedelta(hours=1),
                                   EndTime=now + dt.timedelta(minutes=5), Period=3900,
                                   Statistics=["Sum", "SampleCount"])["Datapoints"]
    return [(p["Sum"], p["SampleCount"], p["Unit"]) for p in pts]


def test_function_emf_lines_become_metrics_invalid_ones_stay_log_lines(lam: Lam):
    namespace = f"emf-{lam.tag}"
    fn = lam.function("emf", EMF_PRINTER)["FunctionName"]
    for widgets in (3, 4):
        out = lam.lam.invoke(FunctionName=fn, Payload=json.dumps(
            {"namespace": namespace, "widgets": widgets}).encode())
        assert json.loads(out["Payload"].read()) == {"ok": True}
    cw = lam.ep.client("cloudwatch")
    dims = [{"Name": "Stage", "Value": "test"}]
    assert _sum(cw, namespace, "Widgets", dims) == [(7.0, 2.0, "Count")]
    lines = [m for m in lam.log_messages(fn) if m.startswith("{")]
    assert [json.loads(m)["Widgets"] for m in lines] == [3, "many", 4, "many"]


def test_no_metrics_when_the_role_cannot_write_the_logs(lam: Lam):
    """AWS extracts EMF in CloudWatch Logs: a function whose logs are denied has no metrics."""
    namespace = f"emf-nolog-{lam.tag}"
    name = f"emfnolog{uuid.uuid4().hex[:8]}"  # outside the role's logs resource (*-<tag>-*)


    lam.lam.create_function(FunctionName=name, Runtime="python3.11", Role=lam.role_arn,
                            Handler="h.handler", Code={"ZipFile": make_zip({"h.py": EMF_PRINTER})},
                            Timeout=10, MemorySize=256)
    out = lam.lam.invoke(FunctionName=name, Payload=json.dumps(
        {"namespace": namespace, "widgets": 5}).encode())
    assert json.loads(out["Payload"].read()) == {"ok": True}
    assert lam.log_messages(name) == []
    assert _sum(lam.ep.client("cloudwatch"), namespace, "Widgets",
                [{"Name": "Stage", "Value": "test"}]) == []


def test_parity_no_emf_error_metrics_and_no_extraction_from_put_log_events(lam: Lam):
    """Ledger pins. AWS counts invalid documents in AWS/Logs EMFValidationErrors and extracts EMF
    from ANY event reaching CloudWatch Logs; locally only a Lambda function's own log is read
    and no AWS/Logs error metric is published."""
    namespace = f"emf-direct-{lam.tag}"
    fn = lam.function("emf", EMF_PRINTER)["FunctionName"]
    lam.lam.invoke(FunctionName=fn, Payload=json.dumps({"namespace": namespace, "widgets": 1}).encode())
    cw = lam.ep.client("cloudwatch")
    now = dt.datetime.now(dt.UTC)
    listed = cw.list_metrics(Namespace="AWS/Logs")["Metrics"]
    assert [m for m in listed if m["MetricName"].startswith("EMF")] == []
    group, stream = f"/emf-direct-{lam.tag}", "s"
    lam.logs.create_log_group(logGroupName=group)
    lam.logs.create_log_stream(logGroupName=group, logStreamName=stream)
    doc = copy.deepcopy(SPEC_EXAMPLE)
    doc["_aws"]["Timestamp"] = int(now.timestamp() * 1000)
    doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] = namespace
    lam.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": doc["_aws"]["Timestamp"], "message": json.dumps(doc)}])
    assert _sum(cw, namespace, "time", [{"Name": "functionVersion", "Value": "$LATEST"}]) == []
    assert _sum(cw, namespace, "Widgets", [{"Name": "Stage", "Value": "test"}]) == [(1.0, 1.0, "Count")]
