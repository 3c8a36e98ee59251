"""Step Functions requests are authorized on the state machine or execution ARN, not on '*'."""
from __future__ import annotations

from types import SimpleNamespace

from lakekit.local.iam.actions import checks_for

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:pipe"
EX = "arn:aws:states:us-east-1:123456789012:execution:pipe:run-1"


def _req(op: str, **params):
    return SimpleNamespace(service="states", operation=op, params=params, region="us-east-1",
                           account_id="123456789012")


def test_start_execution_is_on_the_state_machine_and_describe_on_the_execution():
    assert [(c.action, c.resource) for c in checks_for(_req("StartExecution", stateMachineArn=SM))] == [
        ("states:StartExecution", SM)]
    assert [(c.action, c.resource) for c in checks_for(_req("DescribeExecution", executionArn=EX))] == [
        ("states:DescribeExecution", EX)]
    assert [(c.action, c.resource) for c in checks_for(_req("CreateStateMachine", name="pipe"))] == [
        ("states:CreateStateMachine", SM)]
    assert [(c.action, c.resource) for c in checks_for(_req("ListStateMachines"))] == [
        ("states:ListStateMachines", "*")]
