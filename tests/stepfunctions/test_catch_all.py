"""``States.ALL`` does not catch (or retry) a runtime error: "The States.ALL error type ... can't
catch the States.DataLimitExceeded terminal error or Runtime error types" (Step Functions
developer guide, "Handling errors in Step Functions workflows"). A JSONPath of a task's
Parameters that is not in the input is such an error: the execution fails ``States.Runtime``
at that state, its Catch and Retry unused."""
from __future__ import annotations

from tests.stepfunctions.conftest import entered, types_of


def _definition(topic: str) -> dict:
    return {"StartAt": "Notify", "States": {
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                   "Parameters": {"TopicArn": topic, "Message.$": "$.not_in_the_input"},
                   "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                              "MaxAttempts": 2}],
                   "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                              "Next": "Caught"}],
                   "End": True},
        "Caught": {"Type": "Pass", "End": True}}}


def test_states_all_does_not_catch_a_runtime_error(lab):
    sm = lab.machine(_definition(lab.topic), lab.role(["sns:Publish"]))
    desc, events = lab.run(sm, {"message": "hello"})
    # before the fix: SUCCEEDED through "Caught" (moto's States.ALL matched States.Runtime)
    assert (desc["status"], desc.get("error")) == ("FAILED", "States.Runtime"), desc
    assert "$.not_in_the_input" in desc["cause"]
    assert entered(events) == ["Notify"]
    assert types_of(events).count("TaskScheduled") == 0          # never called SNS, not retried
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["executionFailedEventDetails"]["error"] == "States.Runtime"


def test_states_all_still_catches_a_task_failure(lab):
    definition = _definition(lab.topic)
    definition["States"]["Notify"]["Parameters"] = {"TopicArn": lab.topic + "-missing",
                                                    "Message": "hello"}
    definition["States"]["Notify"]["Retry"][0]["MaxAttempts"] = 1
    sm = lab.machine(definition, lab.role(["sns:Publish"]))
    desc, events = lab.run(sm, {})
    assert desc["status"] == "SUCCEEDED", desc
    assert entered(events) == ["Notify", "Caught"]
    failed = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert failed == ["SNS.NotFoundException", "SNS.NotFoundException"]   # retried once, caught
