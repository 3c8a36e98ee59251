"""deploy on a real account, with botocore Stubber (no account exists here).

- the deployer's principal is the role's real ARN (with its path), read with iam.get_role;
- remaining() reads every listing page after page: a leftover on a second page is found;
- teardown() deletes what the services made outside the stack (Glue log groups/streams of
  the prefix, the prefix's LF-tags) — against the local endpoint.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _stubs import Stubs
from botocore.stub import ANY, Stubber

from lakekit import deploy
from lakekit.config import Settings
from lakekit.exceptions import DeployError

ACCOUNT = "111122223333"
SSO_ROLE = "AWSReservedSSO_DataEngineer_0123456789abcdef"
SSO_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def stubs(monkeypatch):
    st = Stubs()
    monkeypatch.setattr(deploy, "_client", st)
    return st


AWS = Settings(target="aws", region="us-east-1", prefix="ws01")


# ---------------------------------------------------------------- 2. the deployer's ARN
def _sso_caller(stubs: Stubs) -> None:
    stubs.stub("sts").add_response("get_caller_identity", {
        "UserId": "AROAEXAMPLE:alice@example.com", "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice@example.com"})


def test_deployer_of_an_sso_session_is_the_role_with_its_path(stubs):
    _sso_caller(stubs)
    stubs.stub("iam").add_response("get_role", {"Role": {
        "Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/", "RoleName": SSO_ROLE, "RoleId": "AROAEXAMPLEEXAMPLE1",
        "Arn": SSO_ARN, "CreateDate": NOW, "AssumeRolePolicyDocument": "{}"}}, {"RoleName": SSO_ROLE})
    assert deploy.deployer_arn(AWS) == SSO_ARN
    stubs.assert_done()


def test_deploy_passes_the_path_arn_as_deployer_principal(stubs):
    _sso_caller(stubs)
    stubs.stub("iam").add_response("get_role", {"Role": {
        "Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/", "RoleName": SSO_ROLE, "RoleId": "AROAEXAMPLEEXAMPLE1",
        "Arn": SSO_ARN, "CreateDate": NOW, "AssumeRolePolicyDocument": "{}"}}, {"RoleName": SSO_ROLE})
    cf = stubs.stub("cloudformation")
    missing = "Stack with id ws01-datalake does not exist"
    cf.add_client_error("describe_stacks", "ValidationError", missing)   # deploy(): no stack yet
    cf.add_client_error("describe_stacks", "ValidationError", missing)   # _apply(): still none
    stack_id = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/ws01-datalake/1"
    cf.add_response("create_stack", {"StackId": stack_id}, {
        "StackName": "ws01-datalake", "TemplateBody": ANY, "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "Tags": [{"Key": "lakekit:prefix", "Value": "ws01"}],
        "Parameters": [{"ParameterKey": "Prefix", "ParameterValue": "ws01"},
                       {"ParameterKey": "DeployerPrincipalArn", "ParameterValue": SSO_ARN},
                       {"ParameterKey": "DeployCompute", "ParameterValue": "false"}]})
    done = {"StackName": "ws01-datalake", "StackId": stack_id, "CreationTime": NOW,
            "StackStatus": "CREATE_COMPLETE",
            "Outputs": [{"OutputKey": "ArtifactsBucket", "OutputValue": "ws01-artifacts"}]}
    cf.add_response("describe_stacks", {"Stacks": [done]}, {"StackName": "ws01-datalake"})
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id})
    cf.add_response("describe_stacks", {"Stacks": [done]}, {"StackName": "ws01-datalake"})
    assert deploy.deploy(AWS, wait=False, progress=False) == {"ArtifactsBucket": "ws01-artifacts"}
    stubs.assert_done()


def test_deployer_role_that_cannot_be_read_says_what_to_ask_for(stubs):
    _sso_caller(stubs)
    stubs.stub("iam").add_client_error(
        "get_role", "AccessDenied", f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice is not "
        "authorized to perform: iam:GetRole", http_status_code=403)
    with pytest.raises(DeployError, match=rf"could not read the ARN of your role {SSO_ROLE} \(iam:GetRole: "
                                          r"AccessDenied: .*ask your administrator for iam:GetRole"):
        deploy.deployer_arn(AWS)


@pytest.mark.parametrize("caller,local,expected", [
    (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", False, f"arn:aws:iam::{ACCOUNT}:user/ops/alice"),
    ("arn:aws:sts::123456789012:user/moto", True, "arn:aws:iam::123456789012:user/moto"),
    (f"arn:aws:iam::{ACCOUNT}:root", False, f"arn:aws:iam::{ACCOUNT}:root"),
])
def test_principal_arn_of_other_callers(caller, local, expected):
    assert deploy.principal_arn(caller, iam=None, local=local) == expected


# ---------------------------------------------------------------- 3. remaining(): every page
def _two_pages(st: Stubber, op: str, key: str, first: list, second: list, params: dict | None = None,
               token_in: str = "NextToken", token_out: str = "NextToken") -> None:
    params = params or {}
    st.add_response(op, {key: first, token_out: "page-2"}, params)
    st.add_response(op, {key: second}, {**params, token_in: "page-2"})


def test_remaining_finds_leftovers_on_second_pages(stubs):
    p = "ws01"
    cf = stubs.stub("cloudformation")
    cf.add_client_error("describe_stacks", "ValidationError", "Stack with id ws01-datalake does not exist")
    cf.add_client_error("describe_stacks", "ValidationError", "Stack with id ws01-pipeline does not exist")
    # the pipeline stack's resources (none left here) are listed first
    stubs.stub("stepfunctions").add_response("list_state_machines", {"stateMachines": []}, {})
    stubs.stub("sns").add_response("list_topics", {"Topics": []}, {})
    stubs.stub("events").add_response("list_rules", {"Rules": []}, {"NamePrefix": f"{p}-"})
    cw = stubs.stub("cloudwatch")
    cw.add_response("describe_alarms", {"MetricAlarms": []}, {"AlarmNamePrefix": f"{p}-"})
    cw.add_response("list_dashboards", {"DashboardEntries": []}, {"DashboardNamePrefix": f"{p}-"})
    stubs.stub("logs").add_response("describe_log_groups", {"logGroups": []},
                                    {"logGroupNamePrefix": f"/aws/vendedlogs/states/{p}-"})
    stubs.stub("sqs").add_response("list_queues", {"QueueUrls": [f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{p}-pipeline-inbox"]},
                                   {"QueueNamePrefix": f"{p}-"})
    _two_pages(stubs.stub("s3"), "list_buckets", "Buckets", [{"Name": "other-bucket"}],
               [{"Name": f"{p}-raw-{ACCOUNT}-us-east-1"}], token_in="ContinuationToken",
               token_out="ContinuationToken")
    iam = stubs.stub("iam")
    role = {"Path": "/", "RoleId": "AROAEXAMPLEEXAMPLE2", "CreateDate": NOW}
    iam.add_response("list_roles", {"Roles": [{**role, "RoleName": "x", "Arn": "arn:aws:iam::1:role/x"}],
                                    "IsTruncated": True, "Marker": "m2"}, {})
    iam.add_response("list_roles", {"Roles": [{**role, "RoleName": f"{p}-glue", "Arn": "arn:aws:iam::1:role/g"}],
                                    "IsTruncated": False}, {"Marker": "m2"})
    iam.add_response("list_policies", {"Policies": [{"PolicyName": "x"}], "IsTruncated": True, "Marker": "m2"},
                     {"Scope": "Local"})
    iam.add_response("list_policies", {"Policies": [{"PolicyName": f"{p}-datalake-read"}], "IsTruncated": False},
                     {"Scope": "Local", "Marker": "m2"})
    glue = stubs.stub("glue")
    _two_pages(glue, "get_databases", "DatabaseList", [{"Name": "default"}], [{"Name": "ws01_lake"}])
    _two_pages(glue, "get_jobs", "Jobs", [{"Name": "other-etl"}], [{"Name": f"{p}-etl"}])
    _two_pages(glue, "get_crawlers", "Crawlers", [{"Name": "other-crawler"}], [{"Name": f"{p}-processed-crawler"}])
    _two_pages(glue, "list_triggers", "TriggerNames", ["other"], [f"{p}-crawl-after-etl"])
    _two_pages(glue, "get_security_configurations", "SecurityConfigurations", [{"Name": "other"}],
               [{"Name": f"{p}-glue-kms"}])
    _two_pages(stubs.stub("athena"), "list_work_groups", "WorkGroups", [{"Name": "primary"}],
               [{"Name": f"{p}-analysts"}])
    _two_pages(stubs.stub("lambda"), "list_functions", "Functions", [{"FunctionName": "other"}],
               [{"FunctionName": f"{p}-ingest"}], token_in="Marker", token_out="NextMarker")
    logs = stubs.stub("logs")
    _two_pages(logs, "describe_log_groups", "logGroups", [{"logGroupName": "/aws/lambda/ws01-api-pull"}],
               [{"logGroupName": "/aws/lambda/ws01-ingest"}], {"logGroupNamePrefix": "/aws/lambda/ws01-"},
               token_in="nextToken", token_out="nextToken")
    sec_group = f"/aws-glue/jobs/{p}-glue-kms-role/{p}-glue/output"
    _two_pages(logs, "describe_log_groups", "logGroups",
               [{"logGroupName": "/aws-glue/jobs/other-glue-kms-role/other-glue/output"},
                {"logGroupName": "/aws-glue/jobs/output"}],
               [{"logGroupName": sec_group}, {"logGroupName": f"/aws-glue/crawlers-role/{p}-glue-{p}-glue-kms"}],
               {"logGroupNamePrefix": "/aws-glue/"}, token_in="nextToken", token_out="nextToken")
    _two_pages(logs, "describe_log_streams", "logStreams", [],
               [{"logStreamName": f"{p}-processed-crawler"}],
               {"logGroupName": "/aws-glue/crawlers", "logStreamNamePrefix": f"{p}-processed-crawler"},
               token_in="nextToken", token_out="nextToken")
    kms = stubs.stub("kms")
    kms.add_response("list_aliases", {"Aliases": [{"AliasName": "alias/aws/s3"}], "NextMarker": "page-2",
                                      "Truncated": True}, {})
    kms.add_response("list_aliases", {"Aliases": [{"AliasName": f"alias/{p}-datalake"}], "Truncated": False},
                     {"Marker": "page-2"})
    kms.add_response("list_keys", {"Keys": [{"KeyId": "k-gone"}], "NextMarker": "page-2", "Truncated": True}, {})
    kms.add_response("describe_key", {"KeyMetadata": {"KeyId": "k-gone", "KeyManager": "CUSTOMER",
                                                      "KeyState": "PendingDeletion",
                                                      "Description": f"{p} data lake key (S3 zones)"}},
                     {"KeyId": "k-gone"})
    # the listing is read lazily: page 2 is asked for after the first key was described
    kms.add_response("list_keys", {"Keys": [{"KeyId": "k-live"}], "Truncated": False}, {"Marker": "page-2"})
    kms.add_response("describe_key", {"KeyMetadata": {"KeyId": "k-live", "KeyManager": "CUSTOMER",
                                                      "KeyState": "Enabled",
                                                      "Description": f"{p} data lake key (S3 zones)"}},
                     {"KeyId": "k-live"})
    lf = stubs.stub("lakeformation")
    _two_pages(lf, "list_resources", "ResourceInfoList", [{"ResourceArn": "arn:aws:s3:::other"}],
               [{"ResourceArn": f"arn:aws:s3:::{p}-raw-{ACCOUNT}-us-east-1"}])
    _two_pages(lf, "list_lf_tags", "LFTags", [{"TagKey": "other-domain", "TagValues": ["a"]}],
               [{"TagKey": f"{p}-sensitivity", "TagValues": ["public", "pii"]}])

    got = deploy.remaining(AWS)
    stubs.assert_done()
    assert sorted(map(tuple, got[["service", "kind", "name"]].values.tolist())) == sorted([
        ("s3", "bucket", f"{p}-raw-{ACCOUNT}-us-east-1"),
        ("iam", "role", f"{p}-glue"),
        ("iam", "policy", f"{p}-datalake-read"),
        ("glue", "database", "ws01_lake"),
        ("glue", "job", f"{p}-etl"),
        ("glue", "crawler", f"{p}-processed-crawler"),
        ("glue", "trigger", f"{p}-crawl-after-etl"),
        ("glue", "security configuration", f"{p}-glue-kms"),
        ("athena", "workgroup", f"{p}-analysts"),
        ("lambda", "function", f"{p}-ingest"),
        ("logs", "log group", "/aws/lambda/ws01-api-pull"),
        ("logs", "log group", "/aws/lambda/ws01-ingest"),
        ("logs", "log group", sec_group),
        ("logs", "log group", f"/aws-glue/crawlers-role/{p}-glue-{p}-glue-kms"),
        ("logs", "log stream", f"/aws-glue/crawlers:{p}-processed-crawler"),
        ("kms", "alias", f"alias/{p}-datalake"),
        ("kms", "key", "k-live (Enabled)"),
        ("lakeformation", "registered location", f"arn:aws:s3:::{p}-raw-{ACCOUNT}-us-east-1"),
        ("lakeformation", "lf-tag", f"{p}-sensitivity"),
        ("sqs", "queue", f"{p}-pipeline-inbox"),
    ])


@pytest.mark.parametrize("name,ours", [
    ("/aws-glue/jobs/ws01-glue-kms-role/ws01-glue/output", True),
    ("/aws-glue/jobs/ws01-glue-kms-role/ws01-glue/logs-v2", True),
    ("/aws-glue/python-jobs/ws01-glue-kms-role/ws01-glue/error", True),
    ("/aws-glue/jobs-ws01-glue-ws01-glue-kms", True),
    ("/aws-glue/crawlers-role/ws01-glue-ws01-glue-kms", True),
    ("/aws-glue/jobs/output", False),                                   # shared: only our streams go
    ("/aws-glue/jobs/xws01-glue-kms-role/xws01-glue/output", False),    # another prefix
    ("/aws-glue/jobs/my-ws01-glue-kms-role/my-ws01-glue/output", False),
    ("/aws-glue/crawlers", False),
])
def test_which_glue_log_groups_belong_to_the_prefix(name, ours):
    assert deploy._glue_log_group_is_ours(name, "ws01") is ours


# ---------------------------------------------------------------- 3. teardown cleans the service leftovers
def test_teardown_deletes_what_the_services_made(endpoint):
    s = endpoint.settings.with_(prefix="tdleft")
    logs, lf = endpoint.client("logs"), endpoint.client("lakeformation")
    ours = "/aws-glue/jobs/tdleft-glue-kms-role/tdleft-glue/output"
    theirs = "/aws-glue/jobs/other-glue-kms-role/other-glue/output"
    for g in (ours, theirs, "/aws-glue/crawlers"):
        try:
            logs.create_log_group(logGroupName=g)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
    for stream in ("tdleft-processed-crawler", "other-processed-crawler"):
        logs.create_log_stream(logGroupName="/aws-glue/crawlers", logStreamName=stream)
    lf.create_lf_tag(TagKey="tdleft-domain", TagValues=["operations"])
    lf.create_lf_tag(TagKey="othertd-domain", TagValues=["operations"])

    before = deploy.remaining(s)
    assert sorted(before["name"]) == sorted([ours, "/aws-glue/crawlers:tdleft-processed-crawler",
                                             "tdleft-domain"])
    result = deploy.teardown(s, progress=False)
    assert result == {"stack": "DOES_NOT_EXIST", "emptied": {}, "deleted": {
        "log groups": [ours], "log streams": ["/aws-glue/crawlers:tdleft-processed-crawler"],
        "lf-tags": ["tdleft-domain"]}}
    assert deploy.remaining(s).empty
    groups = {g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/aws-glue/")["logGroups"]}
    assert theirs in groups and ours not in groups
    streams = {x["logStreamName"] for x in logs.describe_log_streams(logGroupName="/aws-glue/crawlers")["logStreams"]}
    assert "other-processed-crawler" in streams and "tdleft-processed-crawler" not in streams
    assert [t["TagKey"] for t in lf.list_lf_tags()["LFTags"] if t["TagKey"] == "othertd-domain"] == ["othertd-domain"]
