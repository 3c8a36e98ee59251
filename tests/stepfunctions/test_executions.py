"""Local Step Functions executions through the endpoint: real Glue runs, SNS, Retry/Catch, IAM."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.stepfunctions.conftest import entered, types_of

GLUE_SYNC = ["glue:StartJobRun", "glue:GetJob", "glue:GetJobRun", "glue:GetJobRuns",
             "glue:BatchStopJobRun"]


def _pipeline(job: str, topic: str) -> dict:
    """Task(glue .sync) -> Choice -> SNS publish; a failed job is retried then caught -> SNS -> Fail."""
    return {"StartAt": "RunJob", "States": {
        "RunJob": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                   "Parameters": {"JobName": job}, "ResultPath": "$.run",
                   "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2,
                              "BackoffRate": 2.0, "MaxAttempts": 2}],
                   "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                              "Next": "NotifyFailure"}],
                   "Next": "Gate"},
        "Gate": {"Type": "Choice", "Choices": [
            {"Variable": "$.run.JobRunState", "StringEquals": "SUCCEEDED", "Next": "Notify"}],
            "Default": "Failed"},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                   "Parameters": {"TopicArn": topic, "Message.$": "States.Format('run {} {}', "
                                  "$.run.Id, $.run.JobRunState)"}, "End": True},
        "NotifyFailure": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                          "Parameters": {"TopicArn": topic, "Message.$": "$.error.Cause"},
                          "ResultPath": None, "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "the Glue job failed"},
    }}


def test_execution_succeeds_end_to_end_with_history_as_aws_records_it(lab):
    job = lab.job("ok_job.py")
    sm = lab.machine(_pipeline(job, lab.topic), lab.role([*GLUE_SYNC, "sns:Publish"]))
    desc, events = lab.run(sm, {"dataset": "flights"})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    assert entered(events) == ["RunJob", "Gate", "Notify"]
    assert types_of(events) == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
        "TaskSucceeded", "TaskStateExited", "ChoiceStateEntered", "ChoiceStateExited",
        "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
        "ExecutionSucceeded"]
    assert [e["id"] for e in events] == list(range(1, 16))
    assert all(e["previousEventId"] < e["id"] for e in events)
    assert events[2]["taskScheduledEventDetails"]["resource"] == "startJobRun.sync"
    assert json.loads(events[2]["taskScheduledEventDetails"]["parameters"]) == {"JobName": job}
    submitted = json.loads(events[4]["taskSubmittedEventDetails"]["output"])
    assert submitted["JobName"] == job and submitted["JobRunId"].startswith("jr_")
    out = json.loads(desc["output"])
    assert set(out) == {"MessageId"}
    run = lab.glue.get_job_run(JobName=job, RunId=submitted["JobRunId"])["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"                   # a real job run, waited for
    assert lab.messages(1) == [f"run {submitted['JobRunId']} SUCCEEDED"]
    assert json.loads(desc["input"]) == {"dataset": "flights"}
    assert desc["stopDate"] >= desc["startDate"]
    listed = lab.sfn.list_executions(stateMachineArn=sm, statusFilter="SUCCEEDED")["executions"]
    assert [e["executionArn"] for e in listed] == [desc["executionArn"]]
    again = lab.sfn.describe_state_machine_for_execution(executionArn=desc["executionArn"])
    assert json.loads(again["definition"]) == _pipeline(job, lab.topic)


def test_failing_job_is_retried_with_backoff_then_caught_and_notified(lab):
    job = lab.job("fail_job.py")
    sm = lab.machine(_pipeline(job, lab.topic), lab.role([*GLUE_SYNC, "sns:Publish"]))
    desc, events = lab.run(sm)
    assert desc["status"] == "FAILED"
    assert (desc["error"], desc["cause"]) == ("PipelineFailed", "the Glue job failed")
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert len(failed) == 3                                   # 1 attempt + MaxAttempts 2 retries
    assert {e["taskFailedEventDetails"]["error"] for e in failed} == {"States.TaskFailed"}
    cause = json.loads(failed[-1]["taskFailedEventDetails"]["cause"])
    assert cause["JobRunState"] == "FAILED" and cause["JobName"] == job
    assert "bad input row 7" in cause["ErrorMessage"]
    # the backoff is recorded as AWS would (virtual clock): 2 s then 4 s between a failure and
    # the next attempt, although the endpoint slept 1/100 of it
    scheduled = [e for e in events if e["type"] == "TaskScheduled"][:3]
    gaps = [(s["timestamp"] - f["timestamp"]).total_seconds()
            for f, s in zip(failed[:2], scheduled[1:3], strict=True)]
    assert 2.0 <= gaps[0] < 2.5 and 4.0 <= gaps[1] < 4.5, gaps
    assert entered(events) == ["RunJob", "NotifyFailure", "Failed"]
    assert types_of(events)[-1] == "ExecutionFailed"
    body = lab.messages(1)
    assert len(body) == 1 and json.loads(body[0])["JobRunState"] == "FAILED"


def test_role_without_glue_start_job_run_fails_the_state_with_the_services_error(lab):
    job = lab.job("ok_job.py")
    role = lab.role(["glue:GetJobRun", "sns:Publish"])
    definition = _pipeline(job, lab.topic)
    del definition["States"]["RunJob"]["Catch"]
    del definition["States"]["NotifyFailure"]    # unreachable now: AWS would refuse the definition
    sm = lab.machine(definition, role)
    desc, events = lab.run(sm)
    assert desc["status"] == "FAILED"
    failed = [e for e in events if e["type"] == "TaskFailed"]
    # States.TaskFailed in a Retrier matches every error but States.Timeout (ASL): retried twice
    assert len(failed) == 3
    assert {e["taskFailedEventDetails"]["error"] for e in failed} == {"Glue.AccessDeniedException"}
    details = failed[-1]["taskFailedEventDetails"]
    assert details["error"] == desc["error"] == "Glue.AccessDeniedException"
    role_name = role.rsplit("/", 1)[1]
    assert details["cause"].startswith(f"User: arn:aws:sts::123456789012:assumed-role/{role_name}/")
    assert "is not authorized to perform: glue:StartJobRun" in details["cause"]
    assert "(Service: AWSGlue; Status Code: 400; Error Code: AccessDeniedException;" in details["cause"]
    assert entered(events) == ["RunJob"]
    assert lab.glue.get_job_runs(JobName=job)["JobRuns"] == []    # nothing was started


def test_role_that_states_cannot_assume_fails_the_task_as_aws_does(lab):
    # CreateStateMachine refuses such a role (tests/stepfunctions/test_definitions.py); a trust
    # policy changed after creation fails the task at run time, with AWS's cause
    role = lab.role(["sns:Publish"])
    sm = lab.machine({"StartAt": "Notify", "States": {"Notify": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": lab.topic, "Message": "x"}, "End": True}}}, role)
    lab.iam.update_assume_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    desc, events = lab.run(sm)
    assert desc["status"] == "FAILED"
    details = next(e for e in events if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert details["error"] == "States.TaskFailed"
    assert details["cause"] == ("Neither the global service principal states.amazonaws.com, nor the "
                                "regional one is authorized to assume the provided role.")
    assert lab.messages(0, timeout=1) == []


def test_aws_sdk_errors_are_named_service_dot_exception_and_catchable(lab):
    role = lab.role(["glue:GetJob"])
    sm = lab.machine({"StartAt": "Look", "States": {
        "Look": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:glue:getJob",
                 "Parameters": {"JobName": "no-such-job"},
                 "Catch": [{"ErrorEquals": ["Glue.EntityNotFoundException"], "Next": "Missing"}],
                 "End": True},
        "Missing": {"Type": "Pass", "Result": "missing", "End": True}}}, role)
    desc, events = lab.run(sm)
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["output"]) == "missing"
    details = next(e for e in events if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert details["error"] == "Glue.EntityNotFoundException"
    assert details["resourceType"] == "aws-sdk:glue" and details["resource"] == "getJob"


def test_stop_execution_interrupts_a_wait_and_records_execution_aborted(lab):
    sm = lab.machine({"StartAt": "Hold", "States": {
        "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Succeed"}}}, lab.role(["sns:Publish"]))
    arn = lab.sfn.start_execution(stateMachineArn=sm, name="stop-me")["executionArn"]
    lab.wait_event(arn, "WaitStateEntered")
    assert lab.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    stopped = lab.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by a test")
    desc, events = lab.wait(arn, timeout=30)
    assert desc["status"] == "ABORTED"
    assert types_of(events)[-1] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Operator",
                                                         "cause": "stopped by a test"}
    assert "WaitStateExited" not in types_of(events)
    assert desc["stopDate"] == stopped["stopDate"]
    listed = lab.sfn.list_executions(stateMachineArn=sm, statusFilter="ABORTED")["executions"]
    assert [e["name"] for e in listed] == ["stop-me"]
    assert lab.sfn.stop_execution(executionArn=arn)["stopDate"] == stopped["stopDate"]


def test_api_errors_are_awss(lab):
    sm = lab.machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                     lab.role(["sns:Publish"]))
    missing = sm.replace(":stateMachine:", ":execution:") + ":nope"
    cases = [
        (lambda: lab.sfn.describe_execution(executionArn=missing), "ExecutionDoesNotExist",
         f"Execution Does Not Exist: '{missing}'"),
        (lambda: lab.sfn.start_execution(stateMachineArn=sm, input="{not json"),
         "InvalidExecutionInput", None),
        (lambda: lab.sfn.start_execution(stateMachineArn=sm + "x"), "StateMachineDoesNotExist",
         f"State Machine Does Not Exist: '{sm}x'"),
        (lambda: lab.sfn.list_executions(stateMachineArn=sm + "x"), "StateMachineDoesNotExist", None),
        (lambda: lab.sfn.start_execution(stateMachineArn=sm, name="bad name"), "InvalidName",
         "Invalid Name: 'bad name'"),
        (lambda: lab.sfn.get_execution_history(executionArn="arn:aws:sqs:x"), "InvalidArn", None),
    ]
    for call, code, message in cases:
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == code
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        if message:
            assert err.value.response["Error"]["Message"] == message
    desc, _ = lab.run(sm, {"a": 1}, name="once")
    assert desc["status"] == "SUCCEEDED" and json.loads(desc["output"]) == {"a": 1}
    with pytest.raises(ClientError) as err:
        lab.sfn.start_execution(stateMachineArn=sm, name="once", input='{"a": 1}')
    assert err.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_history_paging_order_and_execution_data(lab):
    sm = lab.machine({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "Next": "B"},
        "B": {"Type": "Pass", "End": True}}}, lab.role(["sns:Publish"]))
    desc, events = lab.run(sm, {"secret": "s"})
    page = lab.sfn.get_execution_history(executionArn=desc["executionArn"], maxResults=2)
    assert [e["id"] for e in page["events"]] == [1, 2] and page["nextToken"]
    rest = lab.sfn.get_execution_history(executionArn=desc["executionArn"], maxResults=100,
                                         nextToken=page["nextToken"])
    assert [e["id"] for e in page["events"] + rest["events"]] == [e["id"] for e in events]
    rev = lab.sfn.get_execution_history(executionArn=desc["executionArn"], reverseOrder=True)
    assert rev["events"][0]["type"] == "ExecutionSucceeded"
    bare = lab.sfn.get_execution_history(executionArn=desc["executionArn"],
                                         includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert events[0]["executionStartedEventDetails"]["input"] == '{"secret": "s"}'


def test_executions_publish_aws_states_metrics_when_they_end():
    """In-process: the executor's close step publishes AWS/States metrics into moto's CloudWatch."""
    import boto3
    from moto import mock_aws

    from lakekit.local.services import stepfunctions as sfn

    sm = "arn:aws:states:us-east-1:123456789012:stateMachine:metrics"
    arn = "arn:aws:states:us-east-1:123456789012:execution:metrics:one"
    with mock_aws():
        sfn.RUNS.add("123456789012", "us-east-1", arn, {
            "executionArn": arn, "stateMachineArn": sm, "status": "RUNNING", "startDate": 1000.0,
            "events": []}, control=False)
        try:
            assert sfn._close(arn, "FAILED", 1002.5, error="E", cause="c") is not None
            assert sfn._close(arn, "SUCCEEDED", 1003.0) is None      # closed once only
            cw = boto3.client("cloudwatch", region_name="us-east-1")
            names = sorted(m["MetricName"] for m in cw.list_metrics(
                Namespace="AWS/States",
                Dimensions=[{"Name": "StateMachineArn", "Value": sm}])["Metrics"])
            assert names == ["ExecutionTime", "ExecutionsFailed"]
            import datetime as dt
            got = cw.get_metric_statistics(
                Namespace="AWS/States", MetricName="ExecutionTime",
                Dimensions=[{"Name": "StateMachineArn", "Value": sm}],
                StartTime=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
                EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5), Period=600,
                Statistics=["Maximum"])["Datapoints"]
            assert [p["Maximum"] for p in got] == [2500.0]
            assert sfn.RUNS.get("123456789012", "us-east-1", arn)["status"] == "FAILED"
            assert sfn.RUNS.get("123456789012", "eu-west-1", arn) is None
        finally:
            sfn.RUNS.pop("123456789012", "us-east-1", arn)
