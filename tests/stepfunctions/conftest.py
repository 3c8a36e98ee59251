"""Fixtures for local Step Functions executions: an endpoint with compressed time, toy Glue jobs,
an SNS topic captured by an SQS queue, and state machine roles."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoint, free_port
from tests.iam.roles import service_role

SCRIPTS = Path(__file__).resolve().parent / "scripts"
ACCOUNT = "123456789012"
GLUE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/lakekit-sfn-tests-glue"
TIME_SCALE = "0.01"
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class SfnLab:
    """One endpoint's Step Functions playground."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.sfn = endpoint.client("stepfunctions")
        self.glue = endpoint.client("glue")
        self.s3 = endpoint.client("s3")
        self.sns = endpoint.client("sns")
        self.sqs = endpoint.client("sqs")
        self.iam = endpoint.client("iam")
        suffix = uuid.uuid4().hex[:8]
        self.art = f"sfn-art-{suffix}"
        self.s3.create_bucket(Bucket=self.art)
        for script in SCRIPTS.glob("*.py"):
            self.s3.put_object(Bucket=self.art, Key=f"scripts/{script.name}", Body=script.read_bytes())
        service_role(endpoint, GLUE_ROLE, "glue.amazonaws.com", ["s3:*", "logs:*"])
        self.topic = self.sns.create_topic(Name=f"sfn-notify-{suffix}")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName=f"sfn-captured-{suffix}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=queue_arn,
                           Attributes={"RawMessageDelivery": "true"})

    def job(self, script: str) -> str:
        name = f"sfn-{Path(script).stem.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
        self.glue.create_job(Name=name, Role=GLUE_ROLE, GlueVersion="5.0",
                             Command={"Name": "glueetl", "PythonVersion": "3",
                                      "ScriptLocation": f"s3://{self.art}/scripts/{script}"})
        return name

    def role(self, actions: list[str] | None = None, *, service: str = "states.amazonaws.com",
             statements: list[dict[str, Any]] | None = None) -> str:
        arn = f"arn:aws:iam::{ACCOUNT}:role/sfn-{uuid.uuid4().hex[:10]}"
        return service_role(self.endpoint, arn, service, actions, statements=statements)

    def machine(self, definition: dict[str, Any], role: str) -> str:
        return self.sfn.create_state_machine(
            name=f"sm-{uuid.uuid4().hex[:10]}", definition=json.dumps(definition),
            roleArn=role)["stateMachineArn"]

    def run(self, machine: str, payload: dict[str, Any] | None = None, timeout: float = 180.0,
            name: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        kw = {"name": name} if name else {}
        arn = self.sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload or {}),
                                       **kw)["executionArn"]
        return self.wait(arn, timeout)

    def wait(self, arn: str, timeout: float = 180.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while True:
            desc = self.sfn.describe_execution(executionArn=arn)
            if desc["status"] in FINAL:
                return desc, self.history(arn)
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {arn} still {desc['status']} after {timeout} s; "
                                     f"events {[e['type'] for e in self.history(arn)]}")
            time.sleep(0.2)

    def wait_event(self, arn: str, event_type: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            events = self.history(arn)
            if any(e["type"] == event_type for e in events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event_type} in {arn} after {timeout} s: "
                                     f"{[e['type'] for e in events]}")
            time.sleep(0.1)

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kw: dict[str, Any] = {}
        while True:
            page = self.sfn.get_execution_history(executionArn=arn, maxResults=1000, **kw)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kw["nextToken"] = page["nextToken"]

    def messages(self, want: int, timeout: float = 30.0) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            resp = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=1)
            for m in resp.get("Messages", []):
                got.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
        return got


@pytest.fixture(scope="module")
def sfn_endpoint(tmp_path_factory):
    """A private endpoint whose Step Functions Wait/Retry run at 1/100 of real time."""
    old = os.environ.get("LAKEKIT_SFN_TIME_SCALE")
    os.environ["LAKEKIT_SFN_TIME_SCALE"] = TIME_SCALE
    ep = Endpoint(tmp_path_factory.mktemp("sfn-home"), free_port())
    try:
        ep.start()
    finally:
        if old is None:
            os.environ.pop("LAKEKIT_SFN_TIME_SCALE", None)
        else:
            os.environ["LAKEKIT_SFN_TIME_SCALE"] = old
    yield ep
    ep.stop()


@pytest.fixture(scope="module")
def lab(sfn_endpoint) -> SfnLab:
    return SfnLab(sfn_endpoint)


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def entered(events: list[dict[str, Any]]) -> list[str]:
    """Names of the states entered, in order."""
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
