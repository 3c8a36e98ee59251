"""Task integrations through the local endpoint: lambda:invoke, sns:publish with
MessageAttributes, Athena (aws-sdk polling loop and the optimized .sync), and StopExecution
stopping the work a .sync state waits for."""
from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile

import pytest

from tests.iam.roles import lambda_basic_logs, service_role
from tests.stepfunctions.conftest import ACCOUNT, entered, types_of

HANDLER = '''
def handler(event, context):
    if event.get("action") == "fail":
        raise KeyError("missing thing")
    return {"echo": event, "fn": context.function_name}
'''


@pytest.fixture(scope="module")
def function(lab) -> str:
    tag = uuid.uuid4().hex[:6]
    name = f"sfn-echo-{tag}"
    role = service_role(lab.endpoint, f"arn:aws:iam::{ACCOUNT}:role/sfn-fn-{tag}",
                        "lambda.amazonaws.com", statements=[lambda_basic_logs(name)])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("h.py", textwrap.dedent(HANDLER))
    lam = lab.endpoint.client("lambda")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="h.handler",
                        Code={"ZipFile": buf.getvalue()}, Timeout=30)
    return name


def _invoke(fn: str, payload: object, **state: object) -> dict:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": fn, "Payload": payload}, **state}


def test_lambda_invoke_returns_the_payload_and_the_invoke_response(lab, function):
    sm = lab.machine({"StartAt": "Call", "States": {
        "Call": _invoke(function, {"n.$": "$.n", "fixed": "x"}, End=True)}},
        lab.role(["lambda:InvokeFunction"]))
    desc, events = lab.run(sm, {"n": 3})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    out = json.loads(desc["output"])
    assert out["Payload"] == {"echo": {"n": 3, "fixed": "x"}, "fn": function}
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in out
    # AWS adds the Java SDK's SdkHttpMetadata / SdkResponseMetadata; locally they are absent
    assert not {"SdkHttpMetadata", "SdkResponseMetadata"} & set(out)
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("lambda", "invoke")
    assert json.loads(scheduled["parameters"])["Payload"] == {"n": 3, "fixed": "x"}


def test_function_error_is_named_by_its_error_type_and_not_retried_as_a_service_error(lab, function):
    sm = lab.machine({"StartAt": "Call", "States": {
        "Call": _invoke(function, {"action": "fail"}, Retry=[{
            "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException",
                            "Lambda.SdkClientException"], "IntervalSeconds": 1, "MaxAttempts": 3}],
            Catch=[{"ErrorEquals": ["KeyError"], "ResultPath": "$.err", "Next": "Caught"}], End=True),
        "Caught": {"Type": "Pass", "End": True}}}, lab.role(["lambda:InvokeFunction"]))
    desc, events = lab.run(sm, {"action": "fail"})
    assert desc["status"] == "SUCCEEDED"
    failed = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert len(failed) == 1                                   # a function error is no Lambda.*
    assert failed[0]["error"] == "KeyError"
    cause = json.loads(failed[0]["cause"])
    assert cause["errorType"] == "KeyError" and cause["errorMessage"] == "'missing thing'"
    out = json.loads(desc["output"])
    assert out["err"]["Error"] == "KeyError" and json.loads(out["err"]["Cause"]) == cause
    assert entered(events) == ["Call", "Caught"]


def test_lambda_service_errors_are_lambda_dot_code_and_retried(lab):
    missing = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:no-such-fn"
    sm = lab.machine({"StartAt": "Call", "States": {
        "Call": _invoke(missing, {}, Retry=[{"ErrorEquals": ["Lambda.ResourceNotFoundException"],
                                             "IntervalSeconds": 1, "BackoffRate": 2,
                                             "MaxAttempts": 2}], End=True)}},
        lab.role(["lambda:InvokeFunction"]))
    desc, events = lab.run(sm)
    assert desc["status"] == "FAILED" and desc["error"] == "Lambda.ResourceNotFoundException"
    failed = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert len(failed) == 3
    assert "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException;" \
        in failed[-1]["cause"]


def test_lambda_invoke_without_permission_is_lambda_access_denied(lab, function):
    sm = lab.machine({"StartAt": "Call", "States": {"Call": _invoke(function, {}, End=True)}},
                     lab.role(["sns:Publish"]))
    desc, events = lab.run(sm)
    assert desc["status"] == "FAILED" and desc["error"] == "Lambda.AccessDeniedException"
    assert "is not authorized to perform: lambda:InvokeFunction" in desc["cause"]


def test_sns_publish_carries_message_attributes(lab):
    sm = lab.machine({"StartAt": "Notify", "States": {"Notify": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": lab.topic, "Subject": "pipeline", "Message.$": "$.text",
                       "MessageAttributes": {
                           "stage": {"DataType": "String", "StringValue.$": "$.stage"},
                           "rows": {"DataType": "Number", "StringValue": "42"}}},
        "End": True}}}, lab.role(["sns:Publish"]))
    desc, _ = lab.run(sm, {"text": "done", "stage": "silver"})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    assert set(json.loads(desc["output"])) == {"MessageId"}
    got = lab.sqs.receive_message(QueueUrl=lab.queue, MaxNumberOfMessages=1, WaitTimeSeconds=5,
                                  MessageAttributeNames=["All"])["Messages"]
    lab.sqs.delete_message(QueueUrl=lab.queue, ReceiptHandle=got[0]["ReceiptHandle"])
    assert got[0]["Body"] == "done"
    assert got[0]["MessageAttributes"] == {
        "stage": {"DataType": "String", "StringValue": "silver"},
        "rows": {"DataType": "Number", "StringValue": "42"}}


ATHENA = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution",
          "athena:GetQueryResults", "s3:*", "glue:*"]


def _athena_params(lab, sql: str) -> dict:
    return {"QueryString": sql, "WorkGroup": "primary",
            "ResultConfiguration": {"OutputLocation": f"s3://{lab.art}/athena/"}}


def test_athena_sdk_start_then_poll_with_wait_and_choice(lab):
    sm = lab.machine({"StartAt": "Start", "States": {
        "Start": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:athena:startQueryExecution",
                  "Parameters": _athena_params(lab, "SELECT 41 + 1 AS answer"),
                  "ResultPath": "$.q", "Next": "Poll"},
        "Poll": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:athena:getQueryExecution",
                 "Parameters": {"QueryExecutionId.$": "$.q.QueryExecutionId"},
                 "ResultSelector": {"State.$": "$.QueryExecution.Status.State"},
                 "ResultPath": "$.status", "Next": "Done?"},
        "Done?": {"Type": "Choice", "Choices": [
            {"Variable": "$.status.State", "StringEquals": "SUCCEEDED", "Next": "Results"},
            {"Or": [{"Variable": "$.status.State", "StringEquals": "FAILED"},
                    {"Variable": "$.status.State", "StringEquals": "CANCELLED"}],
             "Next": "Broken"}], "Default": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Poll"},
        "Results": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:athena:getQueryResults",
                    "Parameters": {"QueryExecutionId.$": "$.q.QueryExecutionId"},
                    "ResultSelector": {"rows.$": "$.ResultSet.Rows"}, "End": True},
        "Broken": {"Type": "Fail", "Error": "QueryFailed"}}}, lab.role(ATHENA))
    desc, events = lab.run(sm)
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    rows = json.loads(desc["output"])["rows"]
    assert rows == [{"Data": [{"VarCharValue": "answer"}]}, {"Data": [{"VarCharValue": "42"}]}]
    names = entered(events)
    assert names[:3] == ["Start", "Poll", "Done?"] and names[-1] == "Results"
    assert "Broken" not in names


def test_athena_start_query_execution_sync_waits_and_returns_get_query_execution(lab):
    sm = lab.machine({"StartAt": "Query", "States": {"Query": {
        "Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
        "Parameters": _athena_params(lab, "SELECT 7 AS seven"), "End": True}}}, lab.role(ATHENA))
    desc, events = lab.run(sm)
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    qe = json.loads(desc["output"])["QueryExecution"]
    assert qe["Status"]["State"] == "SUCCEEDED" and qe["Query"] == "SELECT 7 AS seven"
    assert types_of(events)[1:7] == ["TaskStateEntered", "TaskScheduled", "TaskStarted",
                                     "TaskSubmitted", "TaskSucceeded", "TaskStateExited"]
    submitted = next(e for e in events if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    assert (submitted["resourceType"], submitted["resource"]) == ("athena",
                                                                  "startQueryExecution.sync")
    assert json.loads(submitted["output"])["QueryExecutionId"] == qe["QueryExecutionId"]


def test_athena_sync_failed_query_fails_the_state_with_states_task_failed(lab):
    sm = lab.machine({"StartAt": "Query", "States": {"Query": {
        "Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
        "Parameters": _athena_params(lab, "SELECT * FROM no_such_db_x.no_such_table"),
        "End": True}}}, lab.role(ATHENA))
    desc, events = lab.run(sm)
    assert desc["status"] == "FAILED" and desc["error"] == "States.TaskFailed"
    cause = json.loads(desc["cause"])
    assert cause["QueryExecution"]["Status"]["State"] == "FAILED"
    assert cause["QueryExecution"]["Status"]["StateChangeReason"]


def test_stop_execution_stops_the_glue_job_run_a_sync_state_waits_for(lab):
    job = lab.job("slow_job.py")
    sm = lab.machine({"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
        "Parameters": {"JobName": job}, "End": True}}},
        lab.role(["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]))
    arn = lab.sfn.start_execution(stateMachineArn=sm)["executionArn"]
    events = lab.wait_event(arn, "TaskSubmitted")
    run_id = json.loads(next(e for e in events if e["type"] == "TaskSubmitted")[
        "taskSubmittedEventDetails"]["output"])["JobRunId"]
    lab.sfn.stop_execution(executionArn=arn, error="Operator", cause="stop the job")
    desc, events = lab.wait(arn, timeout=60)
    assert desc["status"] == "ABORTED" and types_of(events)[-1] == "ExecutionAborted"
    import time
    deadline = time.monotonic() + 60
    while True:
        state = lab.glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"]
        if state in ("STOPPED", "FAILED", "SUCCEEDED", "ERROR", "TIMEOUT") or \
                time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state == "STOPPED"


def test_sdk_output_with_timestamps_is_the_execution_output(lab):
    """GetQueryExecution's timestamps reach the execution output (they crashed it before)."""
    sm = lab.machine({"StartAt": "Start", "States": {
        "Start": {"Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution",
                  "Parameters": _athena_params(lab, "SELECT 1 AS one"), "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:athena:getQueryExecution",
                "Parameters": {"QueryExecutionId.$": "$.QueryExecutionId"}, "End": True}}},
        lab.role(ATHENA))
    desc, _ = lab.run(sm)
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    qe = json.loads(desc["output"])["QueryExecution"]
    assert qe["Query"] == "SELECT 1 AS one"
    assert isinstance(qe["Status"]["SubmissionDateTime"], str)
    assert qe["Status"]["SubmissionDateTime"][:2] == "20"
