"""lakekit.dashboard.render: widgets, titles, axes, units and values from GetMetricData."""
from __future__ import annotations

import datetime as dt
import json

import boto3
from moto import mock_aws

from lakekit.dashboard import parse_metrics, render
from lakekit.local.services.cloudwatch_publish import glue_run_finished

BODY = {"widgets": [
    {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
        "title": "Job rows", "period": 60, "stat": "Sum", "region": "us-east-1", "view": "timeSeries",
        "metrics": [["Lakekit/Pipeline", "RowsIn", "Job", "clean"],
                    [".", "RowsRejected", ".", ".", {"label": "rejected", "stat": "Maximum"}]],
        "yAxis": {"left": {"label": "Rows", "min": 0}}}},
    {"type": "metric", "x": 12, "y": 0, "width": 6, "height": 3, "properties": {
        "title": "Rows in (latest)", "view": "singleValue", "period": 60, "stat": "Sum",
        "metrics": [["Lakekit/Pipeline", "RowsIn", "Job", "clean"]]}},
    {"type": "text", "x": 18, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "# Pipeline\nRuns daily"}},
    {"type": "log", "x": 0, "y": 6, "width": 24, "height": 6, "properties": {"title": "Errors", "query": "x"}},
]}


def test_parse_metrics_resolves_the_dot_shorthand_and_options():
    rows = parse_metrics(BODY["widgets"][0]["properties"]["metrics"])
    assert [(r.namespace, r.name, r.dimensions, r.options) for r in rows] == [
        ("Lakekit/Pipeline", "RowsIn", {"Job": "clean"}, {}),
        ("Lakekit/Pipeline", "RowsRejected", {"Job": "clean"}, {"label": "rejected", "stat": "Maximum"})]


def test_rendered_dashboard_has_the_widgets_titles_axes_and_values():
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        t = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
        for i, (rows_in, rejected) in enumerate(((100, 2), (120, 5), (90, 1))):
            when = t + dt.timedelta(minutes=i)
            cw.put_metric_data(Namespace="Lakekit/Pipeline", MetricData=[
                {"MetricName": "RowsIn", "Dimensions": [{"Name": "Job", "Value": "clean"}], "Value": rows_in,
                 "Unit": "Count", "Timestamp": when},
                {"MetricName": "RowsRejected", "Dimensions": [{"Name": "Job", "Value": "clean"}],
                 "Value": rejected, "Unit": "Count", "Timestamp": when}])
        cw.put_dashboard(DashboardName="lake", DashboardBody=json.dumps(BODY))
        fig = render("lake", cw, t - dt.timedelta(minutes=5), t + dt.timedelta(minutes=15))
    kinds = [w["type"] for w in fig.lakekit_widgets]
    assert kinds == ["metric", "metric", "text"]
    assert fig.lakekit_not_drawn == [{"type": "log", "title": "Errors"}]
    ts = fig.lakekit_widgets[0]
    ax = ts["ax"]
    assert ax.get_title() == "Job rows"
    assert ax.get_ylabel() == "Rows" and ax.get_xlabel() == "Time (UTC), period 1 min"
    assert [line.get_label() for line in ax.get_lines()] == ["RowsIn", "rejected"]
    assert list(ax.get_lines()[0].get_ydata()) == [100.0, 120.0, 90.0]
    assert list(ax.get_lines()[1].get_ydata()) == [2.0, 5.0, 1.0]
    assert [s["unit"] for s in ts["series"]] == ["Count", "Count"]
    assert [s["stat"] for s in ts["series"]] == ["Sum", "Maximum"]
    single = fig.lakekit_widgets[1]["ax"]
    assert single.get_title() == "Rows in (latest)"
    assert [t.get_text() for t in single.texts] == ["RowsIn (Sum): 90 Count"]
    text = fig.lakekit_widgets[2]["ax"]
    assert [t.get_text() for t in text.texts] == ["Pipeline\nRuns daily"]
    assert len(fig.axes) == 4


def test_render_accepts_a_body_and_draws_no_data_as_empty_lines():
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        end = dt.datetime.now(dt.UTC)
        fig = render(json.dumps({"widgets": [BODY["widgets"][0]]}), cw, end - dt.timedelta(hours=1), end)
    ax = fig.lakekit_widgets[0]["ax"]
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[], []]
    assert ax.get_ylabel() == "Rows"


def test_glue_metrics_only_with_enable_metrics():
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        base = {"JobName": "clean", "StartedOn": 1000.0, "CompletedOn": 1012.5, "JobRunState": "SUCCEEDED",
                "_account": "123456789012", "_region": "us-east-1", "_peak_rss_mb": 200}
        glue_run_finished({**base, "Id": "jr_off", "_args": {}})
        assert cw.list_metrics(Namespace="Glue")["Metrics"] == []
        glue_run_finished({**base, "Id": "jr_on", "_args": {"--enable-metrics": "true"}})
        got = cw.get_metric_statistics(
            Namespace="Glue", MetricName="glue.driver.aggregate.elapsedTime",
            Dimensions=[{"Name": "JobName", "Value": "clean"}, {"Name": "JobRunId", "Value": "jr_on"},
                        {"Name": "Type", "Value": "count"}],
            StartTime=dt.datetime.fromtimestamp(900, dt.UTC), EndTime=dt.datetime.fromtimestamp(1100, dt.UTC),
            Period=60, Statistics=["Sum"])["Datapoints"]
        assert [(p["Sum"], p["Unit"]) for p in got] == [(12500.0, "Milliseconds")]
        names = {m["MetricName"] for m in cw.list_metrics(Namespace="Glue")["Metrics"]}
        assert names == {"glue.driver.aggregate.elapsedTime", "glue.driver.aggregate.numFailedTasks",
                         "glue.driver.jvm.heap.used", "glue.ALL.jvm.heap.used"}
