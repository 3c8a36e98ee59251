"""CloudFormation stacks on the run lifecycle (lakekit/local/cloudformation/stacks.py): scoped by
account and region, and what a restart mid-operation leaves (as AWS leaves a failed operation)."""
from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from lakekit.local.cloudformation import engine, stacks
from lakekit.local.runs import run_key

from ._stacks import kill_after_snapshot, settle

ACCT = "123456789012"


def _log_group_template(*names: str, export: str | None = None) -> str:
    resources = {f"G{i}": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": n}}
                 for i, n in enumerate(names)}
    body: dict = {"Resources": resources}
    if export:
        body["Outputs"] = {"Out": {"Value": {"Ref": "G0"}, "Export": {"Name": export}}}
    return json.dumps(body)


# ---------------------------------------------------------------- scope (through the endpoint)
def test_a_stack_is_scoped_to_its_region_and_the_same_name_works_in_two(endpoint):
    east = endpoint.client("cloudformation")
    west = boto3.client("cloudformation", endpoint_url=endpoint.url, region_name="eu-west-1",
                        aws_access_key_id="test", aws_secret_access_key="test")
    name, tag = f"scope-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:6]
    export = f"{name}-group"
    east.create_stack(StackName=name, TemplateBody=_log_group_template(f"/scope/{tag}/east", export=export))
    east_stack = settle(east, name)
    assert east_stack["StackStatus"] == "CREATE_COMPLETE", east_stack.get("StackStatusReason")

    for ref in (name, east_stack["StackId"]):  # by name and by the other region's ARN
        with pytest.raises(ClientError) as e:
            west.describe_stacks(StackName=ref)
        err = e.value.response["Error"]
        assert (err["Code"], err["Message"]) == ("ValidationError", f"Stack with id {ref} does not exist")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert name not in [s["StackName"] for s in west.list_stacks()["StackSummaries"]]
    with pytest.raises(ClientError) as e:
        west.describe_stack_events(StackName=name)
    assert e.value.response["Error"]["Message"] == f"Stack [{name}] does not exist"

    # the same stack name and export name in eu-west-1: allowed, as on AWS
    west.create_stack(StackName=name, TemplateBody=_log_group_template(f"/scope/{tag}/west", export=export))
    west_stack = settle(west, name)
    assert west_stack["StackStatus"] == "CREATE_COMPLETE", west_stack.get("StackStatusReason")
    assert west_stack["StackId"].startswith(f"arn:aws:cloudformation:eu-west-1:{ACCT}:stack/{name}/")
    assert east.describe_stacks(StackName=name)["Stacks"][0]["StackId"] == east_stack["StackId"]
    values = {r: {x["Name"]: x["Value"] for x in c.list_exports()["Exports"]}.get(export)
              for r, c in (("east", east), ("west", west))}
    assert values == {"east": f"/scope/{tag}/east", "west": f"/scope/{tag}/west"}
    assert west.list_imports(ExportName=export)["Imports"] == []

    west.delete_stack(StackName=name)
    assert settle(west, west_stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"
    assert east.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert export in [x["Name"] for x in east.list_exports()["Exports"]]
    east.delete_stack(StackName=name)
    assert settle(east, east_stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"


# ---------------------------------------------------------------- recovery (in process)
@pytest.fixture
def fresh_recovery():
    """Let :func:`engine.recover` run again in this process; remove the test's records after."""
    before = set(stacks.STACKS)
    engine._RECOVERED, stacks.RUNS._recovered = False, False
    yield
    for key in set(stacks.STACKS) - before:
        stacks.STACKS.pop(key, None)
    engine._RECOVERED = stacks.RUNS._recovered = True


def _stack(name: str, status: str, on_failure: str = "ROLLBACK", region: str = "us-east-1",
           resources: dict | None = None) -> dict:
    arn = f"arn:aws:cloudformation:{region}:{ACCT}:stack/{name}/{uuid.uuid4()}"
    template = {"Resources": {n: {"Type": r["ResourceType"]} for n, r in (resources or {}).items()}}
    return {"StackId": arn, "StackName": name, "StackStatus": status, "OnFailure": on_failure,
            "resources": resources or {}, "events": [], "template": template, "Parameters": [],
            "caller": {"region": region, "account_id": ACCT, "access_key_id": "test",
                       "endpoint_url": "http://127.0.0.1:9"},
            "_account": ACCT, "_region": region}


def test_a_restart_leaves_each_operation_as_aws_leaves_a_failed_one(fresh_recovery):
    group = {"ResourceType": "AWS::Logs::LogGroup", "LogicalResourceId": "G",
             "ResourceStatus": "CREATE_IN_PROGRESS", "PhysicalResourceId": ""}
    cases = {
        "upd": _stack("upd", "UPDATE_IN_PROGRESS"),
        "del": _stack("del", "DELETE_IN_PROGRESS"),
        "cleanup": _stack("cleanup", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        "keep": _stack("keep", "CREATE_IN_PROGRESS", on_failure="DO_NOTHING", resources={"G": dict(group)}),
        "roll": _stack("roll", "CREATE_IN_PROGRESS", resources={"G": dict(group)}),
        "done": _stack("done", "CREATE_COMPLETE"),
    }
    for s in cases.values():
        stacks.STACKS[run_key(ACCT, "us-east-1", s["StackId"])] = s
    # a snapshot written before stacks were scoped: bare StackId key, no scope fields
    legacy = _stack("legacy", "DELETE_IN_PROGRESS", region="eu-west-1")
    del legacy["_account"], legacy["_region"]
    stacks.STACKS[legacy["StackId"]] = legacy

    engine.recover()
    assert engine.wait_idle(cases["roll"], timeout=30) == "ROLLBACK_COMPLETE"
    got = {n: s["StackStatus"] for n, s in cases.items()}
    assert got == {"upd": "UPDATE_ROLLBACK_FAILED", "del": "DELETE_FAILED", "cleanup": "UPDATE_COMPLETE",
                   "keep": "CREATE_FAILED", "roll": "ROLLBACK_COMPLETE", "done": "CREATE_COMPLETE"}
    assert cases["upd"]["StackStatusReason"] == stacks.INTERRUPTED_REASON.format(status="UPDATE_IN_PROGRESS")
    keep = cases["keep"]
    assert keep["resources"]["G"]["ResourceStatus"] == "CREATE_FAILED"
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in keep["events"]] == \
        [("G", "CREATE_FAILED"), ("keep", "CREATE_FAILED")]
    roll = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in cases["roll"]["events"]]
    assert roll == [("G", "CREATE_FAILED"), ("roll", "ROLLBACK_IN_PROGRESS"), ("G", "DELETE_COMPLETE"),
                    ("roll", "ROLLBACK_COMPLETE")]
    assert cases["roll"]["events"][1]["ResourceStatusReason"].startswith(
        "The following resource(s) failed to create: [G]. The local endpoint restarted during CREATE_IN_PROGRESS")
    assert stacks.find_stack(ACCT, "eu-west-1", "legacy")["StackStatus"] == "DELETE_FAILED"
    assert stacks.find_stack(ACCT, "us-east-1", "legacy") is None
    assert legacy["StackId"] not in stacks.STACKS


def test_stack_statuses_are_validated_by_the_lifecycle():
    rec = _stack("x", "CREATE_COMPLETE")
    with pytest.raises(Exception, match="final state CREATE_COMPLETE cannot become UPDATE_COMPLETE"):
        stacks.RUNS.transition(rec, "UPDATE_COMPLETE")
    stacks.RUNS.transition(rec, "UPDATE_IN_PROGRESS", reopen=True)  # the next operation
    assert rec["StackStatus"] == "UPDATE_IN_PROGRESS"
    assert set(stacks.FAILED_STATUS) == set(stacks.ACTIVE)
    assert set(stacks.FAILED_STATUS.values()) <= stacks.FINAL
    assert (stacks.RUNS.workers, "REVIEW_IN_PROGRESS" in stacks.FINAL) == (8, True)


# ---------------------------------------------------------------- a real restart mid-deploy
def test_a_restart_mid_create_rolls_the_stack_back(fresh_endpoint, monkeypatch):
    ep = fresh_endpoint
    monkeypatch.setenv("LAKEKIT_CFN_RESOURCE_DELAY_S", "4")  # each resource waits 4 s first
    ep.stop()
    ep.start()
    cf, logs = ep.client("cloudformation"), ep.client("logs")
    tag = uuid.uuid4().hex[:6]
    names = [f"/restart/{tag}/{i}" for i in range(4)]
    cf.create_stack(StackName="roll", TemplateBody=_log_group_template(*names))
    cf.create_stack(StackName="keep", TemplateBody=_log_group_template(*[n + "k" for n in names]),
                    DisableRollback=True)

    deadline = time.monotonic() + 60
    while not [r for r in cf.list_stack_resources(StackName="roll")["StackResourceSummaries"]
               if r["ResourceStatus"] == "CREATE_COMPLETE"]:  # the first log group of "roll" exists
        assert time.monotonic() < deadline, "no resource created within 60 s"
        time.sleep(0.2)

    def still_creating() -> None:
        assert cf.describe_stacks(StackName="roll")["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS", (
            "the stack finished before the endpoint could be killed; raise the delay")

    kill_after_snapshot(ep, lambda: logs.create_log_group(logGroupName=f"/nudge/{uuid.uuid4().hex[:6]}"),
                        still_creating)
    monkeypatch.delenv("LAKEKIT_CFN_RESOURCE_DELAY_S")
    ep.start()
    cf, logs = ep.client("cloudformation"), ep.client("logs")

    roll = settle(cf, "roll", timeout=120)
    assert roll["StackStatus"] == "ROLLBACK_COMPLETE", roll.get("StackStatusReason")
    events = [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
              for e in reversed(cf.describe_stack_events(StackName="roll")["StackEvents"])]
    rolling = [e for e in events if e[1] == "ROLLBACK_IN_PROGRESS"]
    assert len(rolling) == 1 and "The local endpoint restarted during CREATE_IN_PROGRESS" in rolling[0][2]
    left = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=f"/restart/{tag}/")["logGroups"]]
    assert [n for n in left if not n.endswith("k")] == []  # what the create made is deleted

    keep = cf.describe_stacks(StackName="keep")["Stacks"][0]
    assert keep["StackStatus"] == "CREATE_FAILED"
    assert keep["StackStatusReason"] == stacks.INTERRUPTED_REASON.format(status="CREATE_IN_PROGRESS")
    cf.delete_stack(StackName="keep")  # and it can be deleted, as on AWS
    assert settle(cf, keep["StackId"])["StackStatus"] == "DELETE_COMPLETE"
