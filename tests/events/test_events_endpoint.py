"""EventBridge through the real endpoint: schedules fire, S3 -> EventBridge -> Lambda / Step
Functions, PutEvents, permissions and dead-letter queues (LAKEKIT_EVENTS_TIME_SCALE=600)."""
from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests._waits import wait_until
from tests.conftest import Endpoint, free_port
from tests.iam.roles import ACCOUNT, REGION, lambda_basic_logs, service_role
from tests.lambda_runtime.conftest import make_zip

RECORDER = '''
import json, os, boto3
def handler(event, context):
    boto3.client("s3").put_object(Bucket=os.environ["DEST"], Key="seen/" + context.aws_request_id,
                                  Body=json.dumps(event).encode())
    return {"ok": True}
'''


@pytest.fixture(scope="module")
def ep(tmp_path_factory):
    old = os.environ.get("LAKEKIT_EVENTS_TIME_SCALE")
    os.environ["LAKEKIT_EVENTS_TIME_SCALE"] = "600"      # a minute every 0.1 s
    e = Endpoint(tmp_path_factory.mktemp("events-home"), free_port())
    try:
        e.start()
    finally:
        if old is None:
            os.environ.pop("LAKEKIT_EVENTS_TIME_SCALE", None)
        else:
            os.environ["LAKEKIT_EVENTS_TIME_SCALE"] = old
    yield e
    e.stop()


class Kit:
    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.tag = uuid.uuid4().hex[:6]
        self.s3, self.lam, self.events = ep.client("s3"), ep.client("lambda"), ep.client("events")
        self.sqs, self.sfn, self.cw = ep.client("sqs"), ep.client("stepfunctions"), ep.client("cloudwatch")
        self.dest = f"seen-{self.tag}"
        self.s3.create_bucket(Bucket=self.dest)
        role = service_role(ep, f"arn:aws:iam::{ACCOUNT}:role/ev-fn-{self.tag}", "lambda.amazonaws.com",
                            statements=[{"Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{self.dest}/*"]},
                                        lambda_basic_logs("*")])
        self.fn = self.lam.create_function(
            FunctionName=f"rec-{self.tag}", Runtime="python3.11", Role=role, Handler="h.handler",
            Code={"ZipFile": make_zip({"h.py": RECORDER})}, Timeout=10,
            Environment={"Variables": {"DEST": self.dest}})["FunctionArn"]

    def allow_rule(self, rule_arn: str) -> None:
        self.lam.add_permission(FunctionName=self.fn, StatementId=f"ev-{uuid.uuid4().hex[:6]}",
                                Action="lambda:InvokeFunction", Principal="events.amazonaws.com",
                                SourceArn=rule_arn)

    def seen(self) -> list[dict[str, Any]]:
        out = self.s3.list_objects_v2(Bucket=self.dest, Prefix="seen/").get("Contents", [])
        return [json.loads(self.s3.get_object(Bucket=self.dest, Key=o["Key"])["Body"].read()) for o in out]

    def dlq(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=f"{name}-{self.tag}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                    "Action": "sqs:SendMessage", "Resource": arn}]})})
        return url, arn

    def messages(self, url: str) -> list[dict[str, Any]]:
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                        WaitTimeSeconds=0).get("Messages", [])


@pytest.fixture(scope="module")
def kit(ep) -> Kit:
    return Kit(ep)


def test_put_rule_refuses_schedules_eventbridge_refuses(kit):
    for expr in ("cron(0 10 * * * *)", "rate(1 minutes)", "cron(0 10 * *)"):
        with pytest.raises(ClientError) as err:
            kit.events.put_rule(Name=f"bad-{kit.tag}", ScheduleExpression=expr)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert err.value.response["Error"]["Message"] == "Parameter ScheduleExpression is not valid."
    with pytest.raises(ClientError):
        kit.events.describe_rule(Name=f"bad-{kit.tag}")


def test_rate_rule_fires_in_compressed_time_and_disabled_never_fires(kit):
    on = kit.events.put_rule(Name=f"tick-{kit.tag}", ScheduleExpression="rate(1 minute)")["RuleArn"]
    off = kit.events.put_rule(Name=f"off-{kit.tag}", ScheduleExpression="rate(1 minute)",
                              State="DISABLED")["RuleArn"]
    kit.allow_rule(on)
    kit.allow_rule(off)
    kit.events.put_targets(Rule=f"off-{kit.tag}", Targets=[{"Id": "rec", "Arn": kit.fn}])
    kit.events.put_targets(Rule=f"tick-{kit.tag}", Targets=[{"Id": "rec", "Arn": kit.fn}])
    def three_ticks() -> list[dict]:
        snapshot = kit.seen()  # one snapshot: the Lambda keeps receiving events meanwhile
        ticks = [e for e in snapshot if e.get("detail-type") == "Scheduled Event" and e["resources"] == [on]]
        return ticks if len(ticks) >= 3 else []

    mine = wait_until(three_ticks, "3 scheduled events at the Lambda target", 120)
    kit.events.disable_rule(Name=f"tick-{kit.tag}")
    assert len(mine) >= 3
    assert [e for e in kit.seen() if e["resources"] == [off]] == []
    e = mine[0]
    assert set(e) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert (e["version"], e["source"], e["account"], e["region"], e["detail"]) == \
        ("0", "aws.events", ACCOUNT, REGION, {})
    assert e["time"].endswith("Z") and len(e["time"]) == 20
    assert len({x["id"] for x in mine}) == len(mine)


def test_s3_put_reaches_a_lambda_rule_with_s3s_exact_event(kit):
    bucket = f"lake-{kit.tag}"
    kit.s3.create_bucket(Bucket=bucket)
    kit.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kit.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "EventBridgeConfiguration": {}})
    rule = kit.events.put_rule(Name=f"s3-{kit.tag}", EventPattern=json.dumps({
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": "in/"}]}}}))["RuleArn"]
    kit.allow_rule(rule)
    kit.events.put_targets(Rule=f"s3-{kit.tag}", Targets=[{"Id": "rec", "Arn": kit.fn}])
    kit.s3.put_object(Bucket=bucket, Key="other/x.csv", Body=b"no")
    put = kit.s3.put_object(Bucket=bucket, Key="in/a b.csv", Body=b"hello")
    got = wait_until(lambda: [e for e in kit.seen() if e.get("source") == "aws.s3"
                              and e["resources"] == [f"arn:aws:s3:::{bucket}"]],
                     "the S3 event at the Lambda target", 60)
    assert len(got) == 1
    e = got[0]
    assert set(e) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert (e["version"], e["detail-type"], e["account"], e["region"]) == ("0", "Object Created", ACCOUNT, REGION)
    d = e["detail"]
    assert set(d) == {"version", "bucket", "object", "request-id", "requester", "source-ip-address", "reason"}
    assert d["version"] == "0" and d["bucket"] == {"name": bucket} and d["reason"] == "PutObject"
    assert d["requester"] == ACCOUNT and d["source-ip-address"] == "127.0.0.1"
    obj = d["object"]
    assert set(obj) == {"key", "size", "etag", "version-id", "sequencer"}
    assert obj["key"] == "in/a b.csv" and obj["size"] == 5
    assert obj["etag"] == put["ETag"].strip('"') and obj["version-id"] == put["VersionId"]


def _state_machine(kit, name: str) -> str:
    # CreateStateMachine refuses a role states.amazonaws.com cannot assume, as AWS does
    role = service_role(kit.ep, f"arn:aws:iam::{ACCOUNT}:role/sfn-{kit.tag}", "states.amazonaws.com",
                        ["sns:Publish"])
    return kit.sfn.create_state_machine(
        name=name, roleArn=role,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]


def test_s3_to_step_functions_with_input_transformer_and_a_role_without_permission(kit):
    bucket = f"sfn-{kit.tag}"
    kit.s3.create_bucket(Bucket=bucket)
    kit.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "EventBridgeConfiguration": {}})
    sm_ok, sm_no = _state_machine(kit, f"ok-{kit.tag}"), _state_machine(kit, f"no-{kit.tag}")
    good = service_role(kit.ep, f"arn:aws:iam::{ACCOUNT}:role/ev-sfn-{kit.tag}", "events.amazonaws.com",
                        ["states:StartExecution"])
    bad = service_role(kit.ep, f"arn:aws:iam::{ACCOUNT}:role/ev-nosfn-{kit.tag}", "events.amazonaws.com",
                       ["states:DescribeExecution"])
    dlq_url, dlq_arn = kit.dlq("dlq")
    name = f"to-sfn-{kit.tag}"
    rule = kit.events.put_rule(Name=name, EventPattern=json.dumps({
        "source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}}))["RuleArn"]
    transformer = {"InputPathsMap": {"b": "$.detail.bucket.name", "k": "$.detail.object.key",
                                     "size": "$.detail.object.size"},
                   "InputTemplate": '{"bucket": <b>, "key": <k>, "bytes": <size>, "note": "got <k> from <b>"}'}
    kit.events.put_targets(Rule=name, Targets=[
        {"Id": "ok", "Arn": sm_ok, "RoleArn": good, "InputTransformer": transformer},
        {"Id": "no", "Arn": sm_no, "RoleArn": bad, "DeadLetterConfig": {"Arn": dlq_arn}}])
    kit.s3.put_object(Bucket=bucket, Key="raw/r.json", Body=b"12345678")
    runs = wait_until(lambda: kit.sfn.list_executions(stateMachineArn=sm_ok)["executions"],
                      "the execution EventBridge started", 60)
    assert len(runs) == 1
    started = kit.sfn.describe_execution(executionArn=runs[0]["executionArn"])
    assert started["input"] == ('{"bucket": "' + bucket + '", "key": "raw/r.json", "bytes": 8, '
                                '"note": "got raw/r.json from ' + bucket + '"}')
    # the role without states:StartExecution: no execution, FailedInvocations and the DLQ
    msgs = wait_until(lambda: kit.messages(dlq_url), "the dead-letter message", 60)
    assert kit.sfn.list_executions(stateMachineArn=sm_no)["executions"] == []
    attrs = {k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()}
    assert attrs["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attrs["RULE_ARN"] == rule and attrs["TARGET_ARN"] == sm_no
    assert "states:StartExecution" in attrs["ERROR_MESSAGE"]
    body = json.loads(msgs[0]["Body"])
    assert body["detail-type"] == "Object Created" and body["detail"]["object"]["key"] == "raw/r.json"
    # FailedInvocations: tests/events/test_transform_and_scheduler.py (GetMetricStatistics through
    # the endpoint is H-D's CloudWatch work)


def test_lambda_without_permission_for_the_rule_is_not_invoked(kit):
    dlq_url, dlq_arn = kit.dlq("nolam")
    name = f"noperm-{kit.tag}"
    kit.events.put_rule(Name=name, EventPattern=json.dumps({"source": [f"app.{kit.tag}"]}))
    kit.events.put_targets(Rule=name, Targets=[{"Id": "rec", "Arn": kit.fn, "DeadLetterConfig": {"Arn": dlq_arn}}])
    before = len(kit.seen())
    out = kit.events.put_events(Entries=[{"Source": f"app.{kit.tag}", "DetailType": "t", "Detail": '{"n": 1}'}])
    assert out["FailedEntryCount"] == 0
    msgs = wait_until(lambda: kit.messages(dlq_url), "the dead-letter message", 60)
    attrs = {k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()}
    assert attrs["ERROR_CODE"] == "NO_PERMISSIONS" and attrs["TARGET_ARN"] == kit.fn
    assert len(kit.seen()) == before


def test_put_events_custom_event_to_sqs_and_entry_errors(kit):
    url, arn = kit.dlq("custom")
    name = f"custom-{kit.tag}"
    kit.events.put_rule(Name=name, EventPattern=json.dumps({"source": ["lakekit.test"],
                                                            "detail": {"n": [{"numeric": [">", 1]}]}}))
    kit.events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn, "InputPath": "$.detail"}])
    out = kit.events.put_events(Entries=[
        {"Source": "lakekit.test", "DetailType": "t", "Detail": '{"n": 1}'},
        {"Source": "lakekit.test", "DetailType": "t", "Detail": '{"n": 2}'},
        {"Source": "aws.s3", "DetailType": "t", "Detail": "{}"},
        {"Source": "lakekit.test", "DetailType": "t", "Detail": "not json"},
        {"Source": "lakekit.test", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"}])
    assert out["FailedEntryCount"] == 3
    codes = [e.get("ErrorCode") for e in out["Entries"]]
    assert codes == [None, None, "NotAuthorizedForSourceException", "MalformedDetail", "ResourceNotFoundException"]
    msgs = wait_until(lambda: kit.messages(url), "the matched custom event", 60)
    assert [json.loads(m["Body"]) for m in msgs] == [{"n": 2}]
