"""An execution in flight when the endpoint restarts fails cleanly (States.Runtime), as documented
in lakekit/local/services/stepfunctions.py; finished ones and the state machine survive."""
from __future__ import annotations

import json

from lakekit.local.services.stepfunctions import RESTART_CAUSE
from tests.stepfunctions.conftest import SfnLab, types_of


def test_execution_running_at_restart_fails_cleanly_and_the_rest_survives(fresh_endpoint):
    lab = SfnLab(fresh_endpoint)
    role = lab.role(["sns:Publish"])
    quick = lab.machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, role)
    slow = lab.machine({"StartAt": "Hold", "States": {
        "Hold": {"Type": "Wait", "Seconds": 36000, "Next": "Done"},
        "Done": {"Type": "Succeed"}}}, role)
    finished, finished_events = lab.run(quick, {"n": 1}, name="finished")
    arn = lab.sfn.start_execution(stateMachineArn=slow, name="in-flight")["executionArn"]
    before = lab.wait_event(arn, "WaitStateEntered")

    fresh_endpoint.stop()
    fresh_endpoint.start()
    sfn = fresh_endpoint.client("stepfunctions")

    desc = sfn.describe_execution(executionArn=arn)
    assert (desc["status"], desc["error"], desc["cause"]) == ("FAILED", "States.Runtime", RESTART_CAUSE)
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert types_of(events) == [*types_of(before), "ExecutionFailed"]
    assert events[-1]["id"] == events[-2]["id"] + 1
    assert events[-1]["previousEventId"] == events[-2]["id"]
    assert events[-1]["executionFailedEventDetails"] == {"error": "States.Runtime",
                                                         "cause": RESTART_CAUSE}
    again = sfn.describe_execution(executionArn=finished["executionArn"])
    assert again["status"] == "SUCCEEDED" and json.loads(again["output"]) == {"n": 1}
    assert len(sfn.get_execution_history(executionArn=finished["executionArn"])["events"]) \
        == len(finished_events)
    assert sfn.describe_state_machine(stateMachineArn=slow)["name"] == slow.rsplit(":", 1)[1]
    assert [e["status"] for e in sfn.list_executions(stateMachineArn=slow)["executions"]] == ["FAILED"]
    lab2 = SfnLab(fresh_endpoint)
    redo, _ = lab2.run(quick, {"n": 2}, name="after-restart")
    assert redo["status"] == "SUCCEEDED"
