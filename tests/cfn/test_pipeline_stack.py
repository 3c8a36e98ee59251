"""The pipeline stack (cloudformation/pipeline.yaml) on the local endpoint, read back through the
service APIs: state machine definition and role, SNS topic, EventBridge rules and targets, alarms,
dashboard; deploy is idempotent, teardown deletes it first and leaves nothing behind.
"""
from __future__ import annotations

import json
import textwrap

import pytest

from lakekit import deploy, pipeline

from ._stacks import settle

ACCOUNT, REGION = "123456789012", "us-east-1"
P = "cfnpipe"

#: IAM actions each task resource of the definition needs (Step Functions developer guide: "IAM
#: policies for calling AWS Glue" (.sync: StartJobRun, GetJobRun, GetJobRuns, BatchStopJobRun),
#: AWS SDK integrations (the API's own action), "IAM policies for Amazon SNS" (sns:Publish))
TASK_ACTIONS = {
    "arn:aws:states:::glue:startJobRun.sync": ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                                               "glue:BatchStopJobRun"),
    "arn:aws:states:::aws-sdk:glue:startCrawler": ("glue:StartCrawler",),
    "arn:aws:states:::aws-sdk:glue:getCrawler": ("glue:GetCrawler",),
    "arn:aws:states:::aws-sdk:s3:getObject": ("s3:GetObject",),
    "arn:aws:states:::sns:publish": ("sns:Publish",),
}


def _tasks(states: dict) -> list[tuple[str, dict]]:
    out = []
    for name, st in states.items():
        if st["Type"] == "Task":
            out.append((name, st))
        if st["Type"] == "Map":
            out += _tasks(st["ItemProcessor"]["States"])
    return out


def _all_states(states: dict) -> list[str]:
    out = list(states)
    for st in states.values():
        if st["Type"] == "Map":
            out += _all_states(st["ItemProcessor"]["States"])
    return out


def missing_permissions(definition: dict, policy: dict, resources: dict[str, str]) -> list[str]:
    """``action on resource`` the role's policy lacks for the definition's tasks (Allow statements,
    exact resource match: the role is least privilege, so no wildcard may stand in)."""
    granted = set()
    for stmt in policy["Statement"]:
        if stmt["Effect"] != "Allow":
            continue
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        res = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
        granted |= {(a, r) for a in actions for r in res}
    missing = []
    for name, st in _tasks(definition["States"]):
        for action in TASK_ACTIONS[st["Resource"]]:
            if (action, resources[action]) not in granted:
                missing.append(f"{name}: {action} on {resources[action]}")
    return missing


@pytest.fixture(scope="module")
def stacks(endpoint):
    s = endpoint.settings.with_(prefix=P)
    lake = deploy.deploy(s, progress=False, timeout=600)
    return s, lake, pipeline.outputs(s)


@pytest.fixture(scope="module")
def definition(stacks, endpoint):
    _, _, out = stacks
    sm = endpoint.client("stepfunctions").describe_state_machine(stateMachineArn=out["StateMachineArn"])
    return sm, json.loads(sm["definition"])


def test_pipeline_stack_created_with_every_resource(stacks, endpoint):
    s, lake, out = stacks
    cf = endpoint.client("cloudformation")
    stack = cf.describe_stacks(StackName=f"{P}-pipeline")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["EtlJobName"] == f"{P}-etl" and params["RawBucket"] == lake["RawBucket"]
    assert params["PipelineTrigger"] == "DISABLED"
    res = cf.list_stack_resources(StackName=f"{P}-pipeline")["StackResourceSummaries"]
    assert len(res) == pipeline.expected_resources() == 14
    assert {r["ResourceStatus"] for r in res} == {"CREATE_COMPLETE"}
    assert out["StateMachineArn"] == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{P}-pipeline"
    assert out["TopicArn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:{P}-pipeline"
    # the template went through TemplateURL (in the artifacts bucket), not TemplateBody
    keys = [o["Key"] for o in endpoint.client("s3").list_objects_v2(
        Bucket=lake["ArtifactsBucket"], Prefix="cloudformation/")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("cloudformation/pipeline-")
    assert deploy.expected_resources(True, pipeline=True) == deploy.expected_resources(True) + 14


def test_raw_bucket_sends_events_to_eventbridge(stacks, endpoint):
    _, lake, _ = stacks
    """The template asks for EventBridge delivery on raw (not landing). Local difference pinned
    here: moto 5.2.5 stores EventBridgeConfiguration (and sends the events to its EventBridge)
    but its GetBucketNotificationConfiguration omits the element, where AWS returns
    ``"EventBridgeConfiguration": {}``."""
    from cfnlint.decode import decode_str

    template, _ = decode_str(deploy.TEMPLATE.read_text())
    raw = template["Resources"]["RawBucket"]["Properties"]["NotificationConfiguration"]
    assert raw == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    cfg = endpoint.client("s3").get_bucket_notification_configuration(Bucket=lake["RawBucket"])
    assert "EventBridgeConfiguration" not in cfg  # AWS: {} (see the docstring)
    landing = endpoint.client("s3").get_bucket_notification_configuration(Bucket=lake["LandingBucket"])
    assert "EventBridgeConfiguration" not in landing and len(landing["LambdaFunctionConfigurations"]) == 1


def test_state_machine_definition_substituted_with_retry_and_catch(definition, stacks):
    sm, doc = definition
    _, lake, out = stacks
    assert sm["name"] == f"{P}-pipeline" and sm["type"] == "STANDARD"
    assert sm["roleArn"] == out["StateMachineRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{P}-pipeline-sfn"
    assert "${" not in sm["definition"]
    assert sorted(_all_states(doc["States"])) == sorted(pipeline.STATE_NAMES)
    assert doc["StartAt"] == "Configure"
    assert doc["States"]["Configure"]["Parameters"]["poll_seconds.$"] == "States.StringToJson('30')"
    run = doc["States"]["RunEtlJob"]
    assert run["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert run["Parameters"] == {"JobName": f"{P}-etl"} and run["Next"] == "StartCrawler"
    assert run["Retry"][0] == {"ErrorEquals": ["Glue.ConcurrentRunsExceededException"],
                               "IntervalSeconds": 60, "BackoffRate": 2.0, "MaxAttempts": 3}
    tasks = _tasks(doc["States"])
    assert len(tasks) == 6
    for name, st in tasks:
        assert st["Retry"] and all(r["BackoffRate"] >= 2.0 and r["MaxAttempts"] >= 2 for r in st["Retry"]), name
        assert st["Catch"], name
    # every Catch of the top level ends in NotifyFailure (or, from the notifications, PipelineFailed)
    for name, st in doc["States"].items():
        for c in st.get("Catch", []):
            if c["ErrorEquals"] == ["States.ALL"]:
                assert c["Next"] == ("PipelineFailed" if name.startswith("Notify") else "NotifyFailure"), name
    assert doc["States"]["StartCrawler"]["Catch"][0] == {
        "ErrorEquals": ["Glue.CrawlerRunningException"], "ResultPath": None, "Next": "WaitForCrawler"}
    assert doc["States"]["WaitForCrawler"]["SecondsPath"] == "$.config.poll_seconds"
    get_report = doc["States"]["ReadDataQualityReports"]["ItemProcessor"]["States"]["GetDataQualityReport"]
    assert get_report["Parameters"] == {
        "Bucket": lake["ArtifactsBucket"],
        "Key.$": f"States.Format('reports/{P}-etl/{{}}/{{}}/dq.json', $.dataset, $.run_id)"}
    gate = doc["States"]["DataQualityGate"]
    assert [c["Next"] for c in gate["Choices"]] == ["DataQualityFailed", "NotifySuccess"]
    assert gate["Default"] == "NoNewData"
    for notify in ("NotifySuccess", "NotifyFailure"):
        assert doc["States"][notify]["Parameters"]["TopicArn"] == out["TopicArn"]
    assert doc["States"]["PipelineFailed"] == {  # a Fail state may not report States.* names
        "Type": "Fail", "Error": "PipelineFailed",
        "CausePath": "States.Format('{}: {}', $.error.Error, $.error.Cause)"}
    assert sm["loggingConfiguration"]["level"] == "ERROR"
    assert sm["loggingConfiguration"]["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/{P}-pipeline:*")


def _role_policy(endpoint, role: str, name: str) -> dict:
    doc = endpoint.client("iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(doc) if isinstance(doc, str) else doc


def _task_resources(lake: dict, out: dict) -> dict[str, str]:
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    return {**{a: f"{glue}:job/{P}-etl" for a in TASK_ACTIONS["arn:aws:states:::glue:startJobRun.sync"]},
            "glue:StartCrawler": f"{glue}:crawler/{P}-processed-crawler",
            "glue:GetCrawler": f"{glue}:crawler/{P}-processed-crawler",
            "s3:GetObject": f"arn:aws:s3:::{lake['ArtifactsBucket']}/reports/{P}-etl/*",
            "sns:Publish": out["TopicArn"]}


def test_state_machine_role_grants_exactly_what_the_tasks_need(definition, stacks, endpoint):
    _, doc = definition
    _, lake, out = stacks
    policy = _role_policy(endpoint, f"{P}-pipeline-sfn", "pipeline")
    assert missing_permissions(doc, policy, _task_resources(lake, out)) == []
    by_sid = {st["Sid"]: st for st in policy["Statement"]}
    assert sorted(by_sid) == ["DecryptReports", "EncryptNotifications", "FindDataQualityReports",
                              "LogDelivery", "Notify", "ReadDataQualityReports", "RunCrawler", "RunEtlJob"]
    # a missing report must be NoSuchKey (the ReportMissing Catch), which S3 answers only with it
    assert by_sid["FindDataQualityReports"]["Action"] == "s3:ListBucket"
    assert by_sid["FindDataQualityReports"]["Resource"] == f"arn:aws:s3:::{lake['ArtifactsBucket']}"
    # only log delivery (which takes no resource) has "*"; Glue .sync polls, no events:* needed
    assert [sid for sid, st in by_sid.items() if st["Resource"] == "*"] == ["LogDelivery"]
    assert not any(a.startswith("events:") for st in policy["Statement"]
                   for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))
    assert by_sid["DecryptReports"]["Resource"] == lake["DataKeyArn"]
    assert by_sid["EncryptNotifications"]["Resource"] == out["NotificationKeyArn"]
    trust = endpoint.client("iam").get_role(RoleName=f"{P}-pipeline-sfn")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_removed_permission_is_reported_by_the_definition_check(definition, stacks, endpoint):
    """The least-privilege check above would fail on a role without glue:StartJobRun (or with a
    wildcard job): the definition names each task, the check names what it lacks."""
    _, doc = definition
    _, lake, out = stacks
    policy = _role_policy(endpoint, f"{P}-pipeline-sfn", "pipeline")
    for st in policy["Statement"]:
        if st["Sid"] == "RunEtlJob":
            st["Action"] = [a for a in st["Action"] if a != "glue:StartJobRun"]
        if st["Sid"] == "RunCrawler":
            st["Resource"] = f"arn:aws:glue:{REGION}:{ACCOUNT}:crawler/*"
    assert missing_permissions(doc, policy, _task_resources(lake, out)) == [
        f"RunEtlJob: glue:StartJobRun on arn:aws:glue:{REGION}:{ACCOUNT}:job/{P}-etl",
        f"StartCrawler: glue:StartCrawler on arn:aws:glue:{REGION}:{ACCOUNT}:crawler/{P}-processed-crawler",
        f"GetCrawler: glue:GetCrawler on arn:aws:glue:{REGION}:{ACCOUNT}:crawler/{P}-processed-crawler",
    ]


def test_topic_encrypted_with_its_key_and_policy_for_alarms_and_rule(stacks, endpoint):
    _, _, out = stacks
    attrs = endpoint.client("sns").get_topic_attributes(TopicArn=out["TopicArn"])["Attributes"]
    assert attrs["KmsMasterKeyId"] == out["NotificationKeyArn"]
    assert attrs["DisplayName"] == "lakekit pipeline"
    policy = json.loads(attrs["Policy"])
    principals = {st["Sid"]: st["Principal"]["Service"] for st in policy["Statement"]}
    assert principals == {"CloudWatchAlarmsPublish": "cloudwatch.amazonaws.com",
                          "GlueJobFailedRulePublishes": "events.amazonaws.com"}
    kms = endpoint.client("kms")
    key_policy = json.loads(kms.get_key_policy(KeyId=out["NotificationKeyArn"], PolicyName="default")["Policy"])
    services = sorted(st["Principal"].get("Service", "") for st in key_policy["Statement"])
    assert services == ["", "cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert kms.get_key_rotation_status(KeyId=out["NotificationKeyArn"])["KeyRotationEnabled"] is True


def test_s3_rule_pattern_and_state_machine_target(stacks, endpoint):
    _, lake, out = stacks
    ev = endpoint.client("events")
    rule = ev.describe_rule(Name=f"{P}-pipeline-on-raw")
    assert rule["State"] == "DISABLED" and out["TriggerRuleName"] == f"{P}-pipeline-on-raw"
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [lake["RawBucket"]]},
                   "object": {"key": [{"prefix": f"{d}/"} for d in
                                      ("flights", "weather", "planes", "airlines", "airports")]}}}
    [target] = ev.list_targets_by_rule(Rule=f"{P}-pipeline-on-raw")["Targets"]
    assert target["Arn"] == out["StateMachineArn"] and target["RoleArn"] == out["TriggerRoleArn"]
    assert target["InputTransformer"] == {
        "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key", "time": "$.time"},
        "InputTemplate": '{"trigger": "s3", "bucket": <bucket>, "key": <key>, "time": <time>}'}
    policy = _role_policy(endpoint, f"{P}-pipeline-events", "start-pipeline")
    assert policy["Statement"] == [{"Sid": "StartPipeline", "Effect": "Allow", "Action": "states:StartExecution",
                                    "Resource": out["StateMachineArn"]}]
    failed = ev.describe_rule(Name=f"{P}-etl-failed")
    assert failed["State"] == "ENABLED"
    assert json.loads(failed["EventPattern"])["detail"] == {"jobName": [f"{P}-etl"],
                                                            "state": ["FAILED", "TIMEOUT", "ERROR"]}
    [t] = ev.list_targets_by_rule(Rule=f"{P}-etl-failed")["Targets"]
    assert t["Arn"] == out["TopicArn"] and "RoleArn" not in t


def test_alarms_notify_the_topic(stacks, endpoint):
    _, _, out = stacks
    alarms = {a["AlarmName"]: a for a in endpoint.client("cloudwatch").describe_alarms(
        AlarmNamePrefix=f"{P}-")["MetricAlarms"]}
    assert sorted(alarms) == [f"{P}-etl-job-failed", f"{P}-pipeline-failed", f"{P}-quarantine-rate"]
    for a in alarms.values():
        assert a["AlarmActions"] == [out["TopicArn"]] and a["OKActions"] == [out["TopicArn"]]
        assert a["TreatMissingData"] == "notBreaching" and a["EvaluationPeriods"] == 1
    rate = alarms[f"{P}-quarantine-rate"]
    assert rate["Threshold"] == 10.0 and rate["ComparisonOperator"] == "GreaterThanThreshold"
    assert [m["Id"] for m in rate["Metrics"]] == ["landed", "quarantined", "rate"]
    assert rate["Metrics"][2]["Expression"] == "100 * quarantined / landed"
    stat = rate["Metrics"][1]["MetricStat"]
    assert stat["Metric"] == {"Namespace": "lakekit", "MetricName": "FilesQuarantined",
                              "Dimensions": pipeline.metric_dimensions(P)}
    assert (stat["Period"], stat["Stat"]) == (300, "Sum")
    failed = alarms[f"{P}-pipeline-failed"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": out["StateMachineArn"]}]
    job = alarms[f"{P}-etl-job-failed"]
    assert (job["Namespace"], job["MetricName"]) == ("AWS/Events", "TriggeredRules")
    assert job["Dimensions"] == [{"Name": "RuleName", "Value": f"{P}-etl-failed"}]


def test_dashboard_widgets_use_the_contract_metrics(stacks, endpoint):
    _, lake, out = stacks
    dash = endpoint.client("cloudwatch").get_dashboard(DashboardName=f"{P}-pipeline")
    body = json.loads(dash["DashboardBody"])
    widgets = body["widgets"]
    assert [w["type"] for w in widgets] == ["text"] + ["metric"] * 8 + ["alarm"]
    metrics = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    custom = {m[1] for m in metrics if m[0] == pipeline.METRIC_NAMESPACE}
    assert custom == set(pipeline.CUSTOM_METRICS)
    assert all(m[2:4] == ["Prefix", P] for m in metrics if m[0] == "lakekit")
    aws = {(m[0], m[1], tuple(m[2::2][:len(m[2:]) // 2])) for m in metrics if m[0] != "lakekit"}
    expected = {x for x in pipeline.AWS_METRICS if x[0] != "AWS/Events"}
    assert aws == expected
    assert ["AWS/States", "ExecutionsFailed", "StateMachineArn", out["StateMachineArn"]] in metrics
    assert ["AWS/Lambda", "Errors", "FunctionName", f"{P}-ingest"] in metrics
    alarm_widget = widgets[-1]["properties"]["alarms"]
    assert alarm_widget == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{P}-{n}"
                            for n in ("quarantine-rate", "etl-job-failed", "pipeline-failed")]
    assert all(w["properties"].get("region", REGION) == REGION for w in widgets if w["type"] == "metric")


def test_second_deploy_is_a_no_op_and_trigger_switch(stacks, endpoint):
    s, _, out = stacks
    cf = endpoint.client("cloudformation")
    before = len(cf.describe_stack_events(StackName=f"{P}-pipeline")["StackEvents"])
    assert pipeline.deploy_pipeline(s, progress=False) == out
    assert len(cf.describe_stack_events(StackName=f"{P}-pipeline")["StackEvents"]) == before
    pipeline.deploy_pipeline(s, progress=False, trigger=True, crawler_poll_seconds=1)
    ev = endpoint.client("events")
    assert ev.describe_rule(Name=f"{P}-pipeline-on-raw")["State"] == "ENABLED"
    sm = endpoint.client("stepfunctions").describe_state_machine(stateMachineArn=out["StateMachineArn"])
    assert json.loads(sm["definition"])["States"]["Configure"]["Parameters"]["poll_seconds.$"] == \
        "States.StringToJson('1')"
    # a later deploy keeps the switch where it is
    pipeline.deploy_pipeline(s, progress=False)
    assert ev.describe_rule(Name=f"{P}-pipeline-on-raw")["State"] == "ENABLED"
    pipeline.deploy_pipeline(s, progress=False, trigger=False, crawler_poll_seconds=30)
    assert ev.describe_rule(Name=f"{P}-pipeline-on-raw")["State"] == "DISABLED"


def test_parameters_name_the_missing_lake_outputs():
    from lakekit.exceptions import DeployError

    with pytest.raises(DeployError, match="no output\\(s\\) CrawlerName, EtlJobName"):
        pipeline.parameters({k: "x" for k in pipeline.FROM_LAKE_OUTPUTS.values()
                             if k not in ("EtlJobName", "CrawlerName")})


# ---------------------------------------------------------------- provisioners refuse like AWS
def _stack(endpoint, name: str, resources: str) -> dict:
    cf = endpoint.client("cloudformation")
    body = "Resources:\n" + textwrap.indent(textwrap.dedent(resources), "  ")
    cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = settle(cf, name)
    reasons = [e.get("ResourceStatusReason", "") for e in cf.describe_stack_events(StackName=name)["StackEvents"]
               if e["ResourceStatus"] == "CREATE_FAILED"]
    cf.delete_stack(StackName=stack["StackId"])
    settle(cf, stack["StackId"])
    return {"status": stack["StackStatus"], "reasons": reasons}


def test_state_machine_with_a_missing_transition_target_fails(endpoint):
    got = _stack(endpoint, "cfnpipe-baddef", """
        Sm:
          Type: AWS::StepFunctions::StateMachine
          Properties:
            RoleArn: arn:aws:iam::123456789012:role/none
            Definition:
              StartAt: A
              States:
                A: {Type: Pass, Next: Nowhere}
        """)
    assert got["status"] == "ROLLBACK_COMPLETE"
    assert any("Error Code: InvalidDefinition" in r and "MISSING_TRANSITION_TARGET: Missing 'Next' target: "
               "Nowhere at /States/A/Next" in r for r in got["reasons"]), got


def test_state_machine_target_without_role_fails(endpoint):
    got = _stack(endpoint, "cfnpipe-norole", """
        Rule:
          Type: AWS::Events::Rule
          Properties:
            EventPattern: {source: [aws.s3]}
            Targets:
              - Id: sm
                Arn: arn:aws:states:us-east-1:123456789012:stateMachine:any
        """)
    assert got["status"] == "ROLLBACK_COMPLETE"
    assert any("RoleArn is required for target arn:aws:states:us-east-1:123456789012:stateMachine:any" in r
               and "ValidationException" in r for r in got["reasons"]), got


def test_alarm_with_metric_math_and_a_metric_name_fails(endpoint):
    got = _stack(endpoint, "cfnpipe-badalarm", """
        A:
          Type: AWS::CloudWatch::Alarm
          Properties:
            ComparisonOperator: GreaterThanThreshold
            EvaluationPeriods: 1
            Threshold: 1
            MetricName: FilesLanded
            Metrics:
              - Id: e
                Expression: "1"
        """)
    assert got["status"] == "ROLLBACK_COMPLETE"
    assert any("mutually exclusive" in r and "ValidationError" in r for r in got["reasons"]), got


def test_eventbridge_enabled_false_sends_nothing(endpoint):
    cf = endpoint.client("cloudformation")
    body = textwrap.dedent("""\
        Resources:
          B:
            Type: AWS::S3::Bucket
            Properties:
              BucketName: cfnpipe-ebfalse-bucket
              NotificationConfiguration:
                EventBridgeConfiguration: {EventBridgeEnabled: false}
        """)
    cf.create_stack(StackName="cfnpipe-ebfalse", TemplateBody=body)
    stack = settle(cf, "cfnpipe-ebfalse")
    try:
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        cfg = endpoint.client("s3").get_bucket_notification_configuration(Bucket="cfnpipe-ebfalse-bucket")
        assert "EventBridgeConfiguration" not in cfg
    finally:
        cf.delete_stack(StackName=stack["StackId"])
        assert settle(cf, stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"


# ---------------------------------------------------------------- teardown (last)
def test_teardown_deletes_the_pipeline_first_and_leaves_nothing(stacks, endpoint):
    s, _, out = stacks
    result = deploy.teardown(s, progress=False, timeout=600)
    assert result["pipeline"] == "DELETE_COMPLETE" and result["stack"] == "DELETE_COMPLETE"
    assert endpoint.client("stepfunctions").list_state_machines()["stateMachines"] == [] or all(
        not m["name"].startswith(f"{P}-") for m in endpoint.client("stepfunctions").list_state_machines()["stateMachines"])
    left = deploy.remaining(s)
    assert left.empty, left.to_csv()
