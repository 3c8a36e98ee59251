"""cloudwatch_alarms.evaluate: M of N, missing-data treatments, reasons and StateReasonData."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from lakekit.local.services.cloudwatch_alarms import AlarmSpec, aggregate, evaluate

T0 = dt.datetime(2019, 10, 1, 13, 46, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=5)


def spec(**kw) -> AlarmSpec:
    base = dict(name="a", statistic="Average", extended_statistic=None, period=60, evaluation_periods=3,
                datapoints_to_alarm=None, threshold=50.0, comparison="GreaterThanThreshold",
                treat_missing="missing", state="OK")
    base.update(kw)
    return AlarmSpec(**base)


def periods(*values):
    return [(T0 + dt.timedelta(minutes=i), None if v is None else (float(v), 1.0))
            for i, v in enumerate(values)]


def test_all_breaching_goes_to_alarm_with_the_aws_reason_and_data():
    ev = evaluate(spec(), periods(60, 70, 80), NOW)
    assert ev.state == "ALARM"
    assert ev.reason == ("Threshold Crossed: 3 out of the last 3 datapoints [80.0 (01/10/19 13:48:00), "
                         "70.0 (01/10/19 13:47:00), 60.0 (01/10/19 13:46:00)] were greater than the "
                         "threshold (50.0) (minimum 3 datapoints for OK -> ALARM transition).")
    data = json.loads(ev.reason_data)
    assert data["version"] == "1.0" and data["statistic"] == "Average" and data["period"] == 60
    assert data["recentDatapoints"] == [80.0, 70.0, 60.0] and data["threshold"] == 50.0
    assert data["startDate"] == "2019-10-01T13:46:00.000+0000"
    assert data["queryDate"] == "2019-10-01T13:51:00.000+0000"
    assert data["evaluatedDatapoints"][0] == {"timestamp": "2019-10-01T13:48:00.000+0000",
                                              "sampleCount": 1.0, "value": 80.0}


def test_m_of_n_needs_datapoints_to_alarm_breaching():
    assert evaluate(spec(datapoints_to_alarm=2), periods(60, 10, 10), NOW).state == "OK"
    ev = evaluate(spec(datapoints_to_alarm=2), periods(60, 10, 70), NOW)
    assert ev.state == "ALARM"
    assert "2 out of the last 3 datapoints [70.0 (01/10/19 13:48:00), 60.0 (01/10/19 13:46:00)]" in ev.reason


def test_ok_reason_names_the_non_breaching_datapoints():
    ev = evaluate(spec(evaluation_periods=1, state="ALARM"), periods(0.5), NOW)
    assert ev.state == "OK"
    assert ev.reason == ("Threshold Crossed: 1 out of the last 1 datapoints [0.5 (01/10/19 13:46:00)] was "
                         "not greater than the threshold (50.0) (minimum 1 datapoint for ALARM -> OK "
                         "transition).")


@pytest.mark.parametrize(("treat", "current", "expected"), [
    ("missing", "OK", "INSUFFICIENT_DATA"),
    ("ignore", "ALARM", "ALARM"),
    ("notBreaching", "ALARM", "OK"),
    ("breaching", "OK", "ALARM"),
])
def test_all_missing_follows_treat_missing_data(treat, current, expected):
    ev = evaluate(spec(treat_missing=treat, state=current), periods(None, None, None), NOW)
    assert ev.state == expected
    if expected == "INSUFFICIENT_DATA":
        assert ev.reason == "Insufficient Data: 3 datapoints were unknown."
    if treat == "breaching":
        assert ev.reason == ("Threshold Crossed: no datapoints were received for 3 periods and 3 missing "
                             "datapoints were treated as [Breaching].")


def test_some_missing_breaching_counts_them_as_bad():
    assert evaluate(spec(treat_missing="breaching"), periods(60, None, None), NOW).state == "ALARM"
    assert evaluate(spec(treat_missing="missing"), periods(60, None, None), NOW).state == "OK"


def test_comparisons_and_statistics():
    assert evaluate(spec(comparison="LessThanThreshold", evaluation_periods=1), periods(10), NOW).state == "ALARM"
    assert evaluate(spec(comparison="GreaterThanOrEqualToThreshold", evaluation_periods=1),
                    periods(50), NOW).state == "ALARM"
    assert evaluate(spec(comparison="GreaterThanThreshold", evaluation_periods=1), periods(50), NOW).state == "OK"
    parts = [(1.0, 1.0, 1.0, 1.0), (5.0, 5.0, 5.0, 1.0), (3.0, 3.0, 3.0, 1.0)]
    raw = [1.0, 5.0, 3.0]
    assert aggregate(parts, "Sum", None, raw) == (9.0, 3.0)
    assert aggregate(parts, "Average", None, raw) == (3.0, 3.0)
    assert aggregate(parts, "Maximum", None, raw) == (5.0, 3.0)
    assert aggregate(parts, "Minimum", None, raw) == (1.0, 3.0)
    assert aggregate(parts, "SampleCount", None, raw) == (3.0, 3.0)
    assert aggregate(parts, None, "p50", raw) == (3.0, 3.0)
    assert aggregate([], "Sum", None, []) is None
