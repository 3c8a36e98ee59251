"""lambda Invoke (RequestResponse, Event, DryRun), timeouts, errors, logs."""
from __future__ import annotations

import base64
import json
import math
import re
import urllib.request

import pytest
from botocore.exceptions import ClientError
from conftest import ECHO, wait_for


@pytest.fixture
def echo(lam):
    return lam.function("echo", ECHO, env={"GREETING": "bonjour"}, timeout=5, memory=512)


def test_request_response_returns_the_payload_and_tail(lam, echo):
    resp = lam.lam.invoke(FunctionName=echo["FunctionName"], Payload=b'{"a": [1, 2]}', LogType="Tail")
    assert resp["StatusCode"] == 200
    assert resp["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in resp
    body = json.loads(resp["Payload"].read())
    assert body["echo"] == {"a": [1, 2]}
    assert body["greeting"] == "bonjour" and body["memory"] == "512"
    assert body["arn"] == echo["FunctionArn"]
    assert 0 < body["remaining_ms"] <= 5000
    tail = base64.b64decode(resp["LogResult"]).decode()
    rid = resp["ResponseMetadata"]["RequestId"]
    lines = tail.splitlines()
    assert lines[0] == "init line"
    assert lines[1] == f"START RequestId: {rid} Version: $LATEST"
    assert lines[2] == 'handling {"a": [1, 2]}'
    assert re.fullmatch(rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT[\d:.]+Z\t{rid}\tvia logging", lines[3])
    assert lines[4] == f"END RequestId: {rid}"
    assert lines[5].startswith(f"REPORT RequestId: {rid}\tDuration: ")
    assert "Memory Size: 512 MB" in lines[5]


def test_unhandled_error_is_a_function_error(lam, echo):
    resp = lam.lam.invoke(FunctionName=echo["FunctionName"], Payload=b'{"action": "fail"}')
    assert resp["StatusCode"] == 200 and resp["FunctionError"] == "Unhandled"
    err = json.loads(resp["Payload"].read())
    assert err["errorType"] == "KeyError" and err["errorMessage"] == "'missing thing'"
    assert err["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert len(err["stackTrace"]) == 1 and 'h.py", line ' in err["stackTrace"][0]
    assert "bootstrap" not in "".join(err["stackTrace"])

    resp = lam.lam.invoke(FunctionName=echo["FunctionName"], Payload=b'{"action": "unserializable"}')
    err = json.loads(resp["Payload"].read())
    assert resp["FunctionError"] == "Unhandled" and err["errorType"] == "Runtime.MarshalError"

    resp = lam.lam.invoke(FunctionName=echo["FunctionName"], Payload=b'{"action": "exit"}')
    err = json.loads(resp["Payload"].read())
    assert err["errorType"] == "Runtime.ExitError"
    assert err["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_import_and_handler_errors(lam):
    broken = lam.function("broken", "import not_a_module_anywhere\n")
    resp = lam.lam.invoke(FunctionName=broken["FunctionName"], Payload=b"{}")
    err = json.loads(resp["Payload"].read())
    assert resp["FunctionError"] == "Unhandled"
    assert err["errorType"] == "Runtime.ImportModuleError"
    assert err["errorMessage"] == "Unable to import module 'h': No module named 'not_a_module_anywhere'"

    wrong = lam.function("wrong", ECHO, handler="h.nope")
    err = json.loads(lam.lam.invoke(FunctionName=wrong["FunctionName"])["Payload"].read())
    assert err == {"errorMessage": "Handler 'nope' missing on module 'h'",
                   "errorType": "Runtime.HandlerNotFound",
                   "requestId": err["requestId"], "stackTrace": []}


def test_timeout_kills_the_handler(lam):
    fn = lam.function("slow", ECHO, timeout=1)
    resp = lam.lam.invoke(FunctionName=fn["FunctionName"], Payload=b'{"action": "sleep", "seconds": 30}',
                          LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    rid = resp["ResponseMetadata"]["RequestId"]
    err = json.loads(resp["Payload"].read())
    assert err == {"errorMessage": f"RequestId: {rid} Error: Task timed out after 1.00 seconds",
                   "errorType": "Sandbox.Timedout"}
    tail = base64.b64decode(resp["LogResult"]).decode()
    assert re.search(rf"Z {rid} Task timed out after 1\.00 seconds\n", tail)
    msgs = wait_for(lambda: lam.log_messages(fn["FunctionName"], '"Task timed out"'), 20, "the timeout line")
    assert len(msgs) == 1
    report = [m for m in lam.log_messages(fn["FunctionName"]) if m.startswith("REPORT")]
    assert report[0].startswith(f"REPORT RequestId: {rid}\tDuration: 1000.00 ms\tBilled Duration: ")
    init = float(re.search(r"Init Duration: ([\d.]+) ms", report[0])[1])  # a cold start: INIT is billed
    assert f"\tBilled Duration: {math.ceil(1000 + init)} ms\t" in report[0]
    assert report[0].endswith("\tStatus: timeout")


def test_event_dryrun_and_missing_function(lam, echo):
    resp = lam.lam.invoke(FunctionName=echo["FunctionName"], InvocationType="Event",
                          Payload=b'{"n": 1}')
    assert resp["StatusCode"] == 202 and resp["Payload"].read() == b""
    rid = resp["ResponseMetadata"]["RequestId"]
    msgs = wait_for(lambda: [m for m in lam.log_messages(echo["FunctionName"]) if m.startswith("END")]
                    and lam.log_messages(echo["FunctionName"]), 30, "the async invocation's logs")
    assert f"START RequestId: {rid} Version: $LATEST" in msgs
    assert 'handling {"n": 1}' in msgs

    resp = lam.lam.invoke(FunctionName=echo["FunctionName"], InvocationType="DryRun")
    assert resp["StatusCode"] == 204

    with pytest.raises(ClientError) as exc:
        lam.lam.invoke(FunctionName="no-such-function-" + lam.tag, Payload=b"{}")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    with pytest.raises(ClientError) as exc:
        lam.lam.invoke(FunctionName=echo["FunctionName"], Payload=b"{not json")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_invoke_is_answered_by_the_kit_not_moto(lam, echo):
    with urllib.request.urlopen(f"{lam.ep.url}/_lakekit/health") as r:
        executors = json.loads(r.read())["executors"]
    assert "lambda.Invoke" in executors and "lambda.InvokeAsync" in executors
    body = lam.lam.invoke(FunctionName=echo["FunctionName"], Payload=b"{}")["Payload"].read()
    assert b"Simple Lambda happy path" not in body and json.loads(body)["echo"] == {}


def test_qualified_invoke_uses_the_version(lam, echo):
    version = lam.lam.publish_version(FunctionName=echo["FunctionName"])["Version"]
    resp = lam.lam.invoke(FunctionName=echo["FunctionName"], Qualifier=version, Payload=b"{}")
    assert resp["ExecutedVersion"] == version
    assert json.loads(resp["Payload"].read())["arn"] == f"{echo['FunctionArn']}:{version}"
