"""Alarms on the endpoint: OK -> ALARM -> OK from metric data, SNS messages, history; the
JSON-protocol CloudWatch client of an assumed role is classified and authorized."""
from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.cloudwatch.conftest import wait_for
from tests.conftest import NO_RETRY, REGION
from tests.iam.roles import ACCOUNT, service_role


def _queue_for_topic(ep, tag: str) -> tuple[str, str]:
    sns, sqs = ep.client("sns"), ep.client("sqs")
    topic = sns.create_topic(Name=f"alarms-{tag}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"alarms-{tag}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def _drain(sqs, url: str, into: list[dict]) -> list[dict]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    for m in got.get("Messages", []):
        into.append(json.loads(m["Body"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return into


def _alarm(cw, name: str):
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_alarm_goes_ok_alarm_ok_notifies_sns_and_writes_history(cw_ep):
    tag = uuid.uuid4().hex[:8]
    cw, sqs = cw_ep.client("cloudwatch"), cw_ep.client("sqs")
    topic, url = _queue_for_topic(cw_ep, tag)
    name, ns = f"quarantine-{tag}", f"Lakekit/Test{tag}"
    dims = [{"Name": "Pipeline", "Value": "flights"}]
    cw.put_metric_alarm(AlarmName=name, AlarmDescription="too many quarantined files", Namespace=ns,
                        MetricName="FilesQuarantined", Dimensions=dims, Statistic="Sum", Period=60,
                        EvaluationPeriods=3, DatapointsToAlarm=1, Threshold=5.0,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
                        AlarmActions=[topic], OKActions=[topic], Unit="Count")
    created = cw.describe_alarm_history(AlarmName=name, HistoryItemType="ConfigurationUpdate")
    assert [i["HistorySummary"] for i in created["AlarmHistoryItems"]] == [f'Alarm "{name}" created']

    # no data, notBreaching: INSUFFICIENT_DATA -> OK
    wait_for(lambda: _alarm(cw, name)["StateValue"] == "OK", 30, "the alarm to become OK")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "FilesQuarantined", "Dimensions": dims,
                                                  "Value": 9.0, "Unit": "Count"}])
    wait_for(lambda: _alarm(cw, name)["StateValue"] == "ALARM", 30, "the alarm to go to ALARM")
    alarm = _alarm(cw, name)
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 out of the last 3 datapoints [9.0 (")
    assert ("was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition)"
            in alarm["StateReason"])
    data = json.loads(alarm["StateReasonData"])
    assert (data["statistic"], data["period"], data["threshold"], data["recentDatapoints"]) == (
        "Sum", 60, 5.0, [9.0])
    # the 9 leaves the 3-period window (3 s at 60x): back to OK
    wait_for(lambda: _alarm(cw, name)["StateValue"] == "OK", 30, "the alarm to return to OK")

    messages: list[dict] = []
    wait_for(lambda: len(_drain(sqs, url, messages)) >= 3, 30, "three SNS notifications")
    assert [m["Type"] for m in messages] == ["Notification"] * 3
    bodies = [json.loads(m["Message"]) for m in messages]
    assert [(b["OldStateValue"], b["NewStateValue"]) for b in bodies] == [
        ("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK")]
    assert messages[1]["Subject"] == f'ALARM: "{name}" in US East (N. Virginia)'
    b = bodies[1]
    assert (b["AlarmName"], b["AlarmDescription"], b["AWSAccountId"], b["Region"]) == (
        name, "too many quarantined files", ACCOUNT, "US East (N. Virginia)")
    assert b["AlarmArn"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
    assert b["NewStateReason"] == alarm["StateReason"]
    assert b["AlarmActions"] == [topic] and b["OKActions"] == [topic]
    assert b["Trigger"] == {"MetricName": "FilesQuarantined", "Namespace": ns, "StatisticType": "Statistic",
                            "Statistic": "SUM", "Unit": "Count",
                            "Dimensions": [{"value": "flights", "name": "Pipeline"}], "Period": 60,
                            "EvaluationPeriods": 3, "DatapointsToAlarm": 1,
                            "ComparisonOperator": "GreaterThanThreshold", "Threshold": 5.0,
                            "TreatMissingData": "notBreaching", "EvaluateLowSampleCountPercentile": ""}

    states = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in states] == [  # newest first
        "Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK"]
    hd = json.loads(states[1]["HistoryData"])
    assert hd["oldState"]["stateValue"] == "OK" and hd["newState"]["stateValue"] == "ALARM"
    assert hd["newState"]["stateReasonData"]["recentDatapoints"] == [9.0]
    actions = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in actions] == [f"Successfully executed action {topic}"] * 3
    page = cw.describe_alarm_history(AlarmName=name, MaxRecords=2)
    assert len(page["AlarmHistoryItems"]) == 2 and page["NextToken"]
    rest = cw.describe_alarm_history(AlarmName=name, MaxRecords=100, NextToken=page["NextToken"])
    assert len(rest["AlarmHistoryItems"]) == 1 + 3 + 3 - 2 + 0  # created + 3 states + 3 actions - 2


def test_set_alarm_state_runs_the_actions_and_an_update_keeps_the_state(cw_ep):
    tag = uuid.uuid4().hex[:8]
    cw, sqs = cw_ep.client("cloudwatch"), cw_ep.client("sqs")
    topic, url = _queue_for_topic(cw_ep, tag)
    name = f"manual-{tag}"
    kwargs = dict(AlarmName=name, Namespace=f"Lakekit/Manual{tag}", MetricName="M", Statistic="Maximum",
                  Period=3600, EvaluationPeriods=1, Threshold=1.0,
                  ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic],
                  TreatMissingData="ignore")  # no data: the evaluator keeps the state set
    cw.put_metric_alarm(**kwargs)
    assert _alarm(cw, name)["StateValue"] == "INSUFFICIENT_DATA"
    assert _alarm(cw, name)["StateReason"] == "Unchecked: Initial alarm creation"
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing purposes")
    got: list[dict] = []
    wait_for(lambda: _drain(sqs, url, got), 15, "the SNS message")
    body = json.loads(got[0]["Message"])
    assert (body["NewStateValue"], body["NewStateReason"], body["OldStateValue"]) == (
        "ALARM", "testing purposes", "INSUFFICIENT_DATA")
    cw.put_metric_alarm(**{**kwargs, "Threshold": 2.0})
    assert _alarm(cw, name)["StateValue"] == "ALARM"
    assert _alarm(cw, name)["Threshold"] == 2.0
    summaries = [i["HistorySummary"] for i in cw.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"]]
    assert summaries[:3] == [f'Alarm "{name}" updated', f"Successfully executed action {topic}",
                             "Alarm updated from INSUFFICIENT_DATA to ALARM"]


def _role_cw(ep, actions: list[str]):
    tag = uuid.uuid4().hex[:8]
    arn = service_role(ep, f"arn:aws:iam::{ACCOUNT}:role/cw-writer-{tag}", None, actions,
                       trusted={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    c = ep.client("sts").assume_role(RoleArn=arn, RoleSessionName="cw-test")["Credentials"]
    return boto3.client("cloudwatch", endpoint_url=ep.url, region_name=REGION, config=NO_RETRY,
                        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                        aws_session_token=c["SessionToken"])


def test_an_assumed_role_puts_metric_data_through_the_json_protocol(cw_ep):
    # botocore 1.44 resolves CloudWatch to awsJson1_0 (X-Amz-Target, POST /); the gateway used to
    # read the model's legacy "smithy-rpc-v2-cbor" and refused: "could not tell which ... POST /"
    cw = _role_cw(cw_ep, ["cloudwatch:PutMetricData", "cloudwatch:ListMetrics"])
    ns = f"Lakekit/Role{uuid.uuid4().hex[:6]}"
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "RowsIn", "Value": 42.0, "Unit": "Count"}])
    metrics = cw.list_metrics(Namespace=ns)["Metrics"]
    assert {m["MetricName"] for m in metrics} == {"RowsIn"}


def test_a_role_without_the_permission_is_denied_in_the_json_error_shape(cw_ep):
    cw = _role_cw(cw_ep, ["cloudwatch:ListMetrics"])
    with pytest.raises(ClientError) as err:
        cw.put_metric_data(Namespace="Lakekit/Denied", MetricData=[{"MetricName": "X", "Value": 1.0}])
    # AWS (awsQueryCompatible) adds x-amzn-query-error "AccessDenied;Sender" so botocore shows
    # "AccessDenied"; the local JSON error has no such header yet (ledger row)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "cloudwatch:PutMetricData" in err.value.response["Error"]["Message"]
