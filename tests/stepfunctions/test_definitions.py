"""CreateStateMachine / UpdateStateMachine / ValidateStateMachineDefinition refuse what AWS
refuses: invalid ASL (InvalidDefinition, AWS's message shape) and a role states.amazonaws.com
cannot assume (AccessDeniedException) - checked before moto stores anything."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lakekit.local.stepfunctions.validate import diagnostics, invalid_definition_message

OK = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
NOT_ASSUMABLE = ("Neither the global service principal states.amazonaws.com, nor the regional "
                 "one is authorized to assume the provided role.")


def _found(doc) -> list[tuple[str, str, str | None]]:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return [(d["code"], d["message"], d.get("location")) for d in diagnostics(text)]


# -- the validator: AWS's diagnostics ---------------------------------------------------------
def test_valid_definitions_have_no_findings():
    assert _found(OK) == []
    pipeline = {"Comment": "c", "StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {"JobName": "j"}, "ResultPath": "$.run", "TimeoutSeconds": 60,
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Bad"}], "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.s", "StringEquals": "READY", "Next": "Fan"}], "Default": "Wait"},
        "Fan": {"Type": "Parallel", "Branches": [
            {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}], "Next": "Each"},
        "Each": {"Type": "Map", "ItemProcessor": {"StartAt": "Y", "States": {
            "Y": {"Type": "Pass", "End": True}}}, "End": True},
        "Bad": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    assert _found(pipeline) == []


def test_dangling_next_and_unreachable_state_are_missing_transition_target():
    # the AWS answer quoted in localstack/localstack#11978
    doc = {"StartAt": "pass1", "States": {"pass1": {"Type": "Pass", "Next": "pass3"},
                                         "pass2": {"Type": "Pass", "End": True}}}
    found = diagnostics(json.dumps(doc))
    assert invalid_definition_message(found) == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
        "pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not "
        "reachable. at /States/pass2'")


def test_start_at_naming_no_state_and_every_transition_position():
    doc = {"StartAt": "Not sure", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "gone1"}]},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True,
                                             "Next": "gone2"}], "Default": "gone3"}}}
    got = _found(doc)
    assert got[0] == ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: Not sure", "/StartAt")
    assert ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: gone1", "/States/T/Catch[0]/Next") in got
    assert ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: gone2",
            "/States/C/Choices[0]/Next") in got
    assert ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: gone3", "/States/C/Default") in got


def test_no_terminal_state_is_missing_end_state_without_location():
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                       "B": {"Type": "Pass", "Next": "A"},
                                       "Z": {"Type": "Pass", "Next": "A"}}}
    # MISSING_END_STATE suppresses the unreachable-state finding for Z
    assert _found(loop) == [("MISSING_END_STATE", "Workflow has no terminal state", None)]
    assert invalid_definition_message(diagnostics(json.dumps(loop))) == (
        "Invalid State Machine Definition: 'MISSING_END_STATE: Workflow has no terminal state "
        "at null'")
    loop["States"]["C"] = {"Type": "Pass", "End": True}
    assert ("MISSING_TRANSITION_TARGET", 'State "C" is not reachable.', "/States/C") in _found(loop)


def test_schema_findings():
    doc = {"StartAt": "A", "States": {
        "A": {"Type": "Pas", "End": True},
        "B": {"Resource": "x", "End": True},
        "M": {"Type": "Map", "TimeoutSeconds": 3, "Iterator": {"StartAt": "I", "States": {
            "I": {"Type": "Pass", "End": True}}}, "End": True},
        "P": {"Type": "Pass", "Catch": [], "End": True},
        "T": {"Type": "Task", "Next": "A", "End": True},
        "W": {"Type": "Wait", "Seconds": 1},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "StringEquals": "x"}],
              "Default": "A"}}}
    got = _found(doc)
    assert ("SCHEMA_VALIDATION_FAILED", "The field 'Type' should have one of these values: "
            "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]", "/States/A/Type") in got
    assert ("SCHEMA_VALIDATION_FAILED", "These fields are required: [Type]", "/States/B") in got
    assert ("SCHEMA_VALIDATION_FAILED", "Field 'TimeoutSeconds' is not supported", "/States/M") in got
    assert ("SCHEMA_VALIDATION_FAILED", "Field 'Catch' is not supported", "/States/P") in got
    assert ("SCHEMA_VALIDATION_FAILED", "These fields are required: [Resource]", "/States/T") in got
    assert ("SCHEMA_VALIDATION_FAILED", "Field 'End' is not supported", "/States/T") in got
    assert ("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]", "/States/W") in got
    assert ("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]",
            "/States/C/Choices[0]") in got
    assert {c for c, _, _ in got} <= {"SCHEMA_VALIDATION_FAILED", "MISSING_TRANSITION_TARGET"}


def test_nested_scopes_are_checked_with_their_locations():
    doc = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "nowhere"}}}]}}}
    got = _found(doc)
    assert got == [("MISSING_TRANSITION_TARGET", "Missing 'Next' target: nowhere",
                    "/States/P/Branches[0]/States/X/Next"),
                   ("MISSING_END_STATE", "Workflow has no terminal state", None)]


def test_not_json_and_missing_top_level_fields():
    assert _found("{not json")[0][0] == "INVALID_JSON_DESCRIPTION"
    assert _found("[1]")[0][0] == "INVALID_JSON_DESCRIPTION"
    assert _found({"States": {"A": {"Type": "Succeed"}}}) == [
        ("SCHEMA_VALIDATION_FAILED", "These fields are required: [StartAt]", "/"),
        ("MISSING_TRANSITION_TARGET", 'State "A" is not reachable.', "/States/A")]
    assert ("SCHEMA_VALIDATION_FAILED", "Field 'Coment' is not supported", "/") in _found(
        {"Coment": "typo", **OK})


# -- through the endpoint -----------------------------------------------------------------------
def _error(call) -> dict:
    with pytest.raises(ClientError) as err:
        call()
    return {"code": err.value.response["Error"]["Code"],
            "message": err.value.response["Error"]["Message"],
            "status": err.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def test_create_refuses_invalid_asl_with_invalid_definition(lab):
    role = lab.role(["sns:Publish"])
    bad = {"StartAt": "pass1", "States": {"pass1": {"Type": "Pass", "Next": "pass3"},
                                         "pass2": {"Type": "Pass", "End": True}}}
    err = _error(lambda: lab.sfn.create_state_machine(name="bad-asl", definition=json.dumps(bad),
                                                      roleArn=role))
    assert err == {"code": "InvalidDefinition", "status": 400, "message": (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
        "pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not "
        "reachable. at /States/pass2'")}
    names = [m["name"] for m in lab.sfn.list_state_machines()["stateMachines"]]
    assert "bad-asl" not in names                                # nothing was stored
    err = _error(lambda: lab.sfn.create_state_machine(name="bad-json", definition="{",
                                                      roleArn=role))
    assert err["code"] == "InvalidDefinition"
    assert err["message"].startswith("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ")


def test_create_refuses_a_role_states_cannot_assume(lab):
    lambda_role = lab.role(["sns:Publish"], service="lambda.amazonaws.com")
    err = _error(lambda: lab.sfn.create_state_machine(name="bad-trust", definition=json.dumps(OK),
                                                      roleArn=lambda_role))
    assert err == {"code": "AccessDeniedException", "status": 400, "message": NOT_ASSUMABLE}
    missing = "arn:aws:iam::123456789012:role/no-such-role-for-sfn"
    err = _error(lambda: lab.sfn.create_state_machine(name="no-role", definition=json.dumps(OK),
                                                      roleArn=missing))
    assert err == {"code": "AccessDeniedException", "status": 400, "message": NOT_ASSUMABLE}
    err = _error(lambda: lab.sfn.create_state_machine(name="bad-arn", definition=json.dumps(OK),
                                                      roleArn="not-an-arn"))
    assert err["code"] == "InvalidArn"
    names = [m["name"] for m in lab.sfn.list_state_machines()["stateMachines"]]
    assert not {"bad-trust", "no-role", "bad-arn"} & set(names)


def test_update_checks_the_new_definition_and_role(lab):
    good_role = lab.role(["sns:Publish"])
    sm = lab.machine(OK, good_role)
    err = _error(lambda: lab.sfn.update_state_machine(
        stateMachineArn=sm, definition=json.dumps({"StartAt": "A", "States": {}})))
    assert err["code"] == "InvalidDefinition"
    assert "SCHEMA_VALIDATION_FAILED: The field 'States' should be non-empty at /States" in err["message"]
    err = _error(lambda: lab.sfn.update_state_machine(
        stateMachineArn=sm, roleArn=lab.role(["sns:Publish"], service="glue.amazonaws.com")))
    assert (err["code"], err["message"]) == ("AccessDeniedException", NOT_ASSUMABLE)
    desc = lab.sfn.describe_state_machine(stateMachineArn=sm)
    assert json.loads(desc["definition"]) == OK and desc["roleArn"] == good_role   # unchanged
    new = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
    lab.sfn.update_state_machine(stateMachineArn=sm, definition=json.dumps(new))
    assert json.loads(lab.sfn.describe_state_machine(stateMachineArn=sm)["definition"]) == new
    err = _error(lambda: lab.sfn.update_state_machine(stateMachineArn=sm))
    assert err["code"] == "MissingRequiredParameter"


def test_validate_state_machine_definition_answers_diagnostics(lab):
    ok = lab.sfn.validate_state_machine_definition(definition=json.dumps(OK))
    assert (ok["result"], ok["diagnostics"], ok["truncated"]) == ("OK", [], False)
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    got = lab.sfn.validate_state_machine_definition(definition=json.dumps(loop))
    assert got["result"] == "FAIL" and got["truncated"] is False
    assert got["diagnostics"] == [{"severity": "ERROR", "code": "MISSING_END_STATE",
                                   "message": "Workflow has no terminal state"}]
    many = {"StartAt": "A", "States": {f"S{i}": {"Type": "Pass", "End": True} for i in range(5)}}
    got = lab.sfn.validate_state_machine_definition(definition=json.dumps(many), maxResults=2)
    assert len(got["diagnostics"]) == 2 and got["truncated"] is True
    assert got["diagnostics"][0] == {"severity": "ERROR", "code": "MISSING_TRANSITION_TARGET",
                                     "message": "Missing 'Next' target: A", "location": "/StartAt"}
