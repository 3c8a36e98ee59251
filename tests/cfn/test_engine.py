"""The local CloudFormation engine through the real API (boto3 against the endpoint)."""
from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

from lakekit import deploy

from ._stacks import settle

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture(scope="module")
def cf(endpoint):
    return endpoint.client("cloudformation")


def _delete(cf, name: str) -> str:
    """Delete a stack and wait; returns the final status (looked up by stack id)."""
    stack_id = cf.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    cf.delete_stack(StackName=name)
    return settle(cf, stack_id)["StackStatus"]


def _events(cf, name: str) -> list[dict]:
    return list(reversed(cf.describe_stack_events(StackName=name)["StackEvents"]))


def _create(cf, name: str, body: str, **kw) -> dict:
    cf.create_stack(StackName=name, TemplateBody=body, **kw)
    return settle(cf, name)


def _update(cf, name: str, body: str, **kw) -> dict:
    cf.update_stack(StackName=name, TemplateBody=body, **kw)
    return settle(cf, name)


# ---------------------------------------------------------------- the data lake template
@pytest.fixture(scope="module")
def lake(endpoint):
    s = endpoint.settings.with_(prefix="cfnlake")
    out = deploy.deploy(s, progress=False, timeout=300)
    return s, out


def test_full_template_outputs_and_resources(lake, cf):
    s, out = lake
    assert out["RawBucket"] == f"cfnlake-raw-{ACCOUNT}-{REGION}"
    assert out["DatabaseName"] == "cfnlake_lake"
    assert out["EtlJobName"] == "cfnlake-etl" and out["IngestFunctionName"] == "cfnlake-ingest"
    assert out["AnalystsWorkGroup"] == "cfnlake-analysts" and out["ComputeDeployed"] == "true"
    table = deploy.resources(s)
    assert len(table) == 43
    assert set(table["status"]) <= {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
    assert cf.describe_stacks(StackName="cfnlake-datalake")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_second_deploy_is_a_no_op(lake, cf):
    s, out = lake
    before = len(cf.describe_stack_events(StackName="cfnlake-datalake")["StackEvents"])
    assert deploy.deploy(s, progress=False) == out
    assert len(cf.describe_stack_events(StackName="cfnlake-datalake")["StackEvents"]) == before


def test_s3_buckets_read_back(lake, endpoint):
    _, out = lake
    s3 = endpoint.client("s3")
    raw, landing = out["RawBucket"], out["LandingBucket"]
    for key in ("LandingBucket", "RawBucket", "ProcessedBucket", "QuarantineBucket", "ArtifactsBucket",
                "AthenaResultsBucket"):
        b = out[key]
        assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                             "KMSMasterKeyID": out["DataKeyArn"]}
        assert rule["BucketKeyEnabled"] is True
        assert s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True}
        assert s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "BucketOwnerEnforced"}]
        policy = json.loads(s3.get_bucket_policy(Bucket=b)["Policy"])
        assert [st["Sid"] for st in policy["Statement"]] == ["DenyInsecureTransport", "DenyPutsWithoutKms"]
        assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=landing)["Rules"]
    assert rules[0]["ID"] == "expire-landed-files" and rules[0]["Expiration"]["Days"] == 30
    assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    assert s3.get_bucket_lifecycle_configuration(Bucket=raw)["Rules"][0]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 90}
    notif = s3.get_bucket_notification_configuration(Bucket=landing)["LambdaFunctionConfigurations"]
    assert notif[0]["LambdaFunctionArn"] == out["IngestFunctionArn"]
    assert notif[0]["Events"] == ["s3:ObjectCreated:*"]
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=landing)["TagSet"]}
    assert tags == {"lakekit:zone": "landing"}
    # S3 tag values allow letters, digits, spaces and + - = . _ : / @ only (a Ref of an
    # AWS::Lambda::Permission, once used here to order the notification, is no such value).
    for b in (landing, raw):
        for tag in s3.get_bucket_tagging(Bucket=b)["TagSet"]:
            assert re.fullmatch(r"[\w\s+=.:/@-]*", tag["Value"]), tag
    # the conditional denies do not block ordinary (loopback = TLS) puts with default encryption
    s3.put_object(Bucket=raw, Key="probe.txt", Body=b"x")
    assert s3.head_object(Bucket=raw, Key="probe.txt")["ServerSideEncryption"] == "aws:kms"
    s3.delete_object(Bucket=raw, Key="probe.txt")


def test_kms_iam_logs_read_back(lake, endpoint):
    _, out = lake
    kms, iam, logs = endpoint.client("kms"), endpoint.client("iam"), endpoint.client("logs")
    key_id = out["DataKeyArn"].split("/")[-1]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert [st["Sid"] for st in policy["Statement"]] == ["AccountAdministersKeyViaIam",
                                                        "CloudWatchLogsEncryptsLakeLogGroups",
                                                        "LakeFormationServiceLinkedRoleUsesKey"]
    slr = policy["Statement"][2]
    assert slr["Condition"]["ArnEquals"]["aws:PrincipalArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/lakeformation.amazonaws.com/"
        "AWSServiceRoleForLakeFormationDataAccess")
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(slr["Action"])
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/cfnlake-datalake"] == key_id
    role = iam.get_role(RoleName="cfnlake-ingest-lambda")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert iam.list_role_policies(RoleName="cfnlake-ingest-lambda")["PolicyNames"] == ["ingest"]
    doc = iam.get_role_policy(RoleName="cfnlake-glue", PolicyName="etl")["PolicyDocument"]
    assert "WriteZones" in [st["Sid"] for st in doc["Statement"]]
    attached = iam.list_attached_role_policies(RoleName="cfnlake-analyst-restricted")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["cfnlake-datalake-read"]
    trust = iam.get_role(RoleName="cfnlake-analyst-full")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    group = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/cfnlake-ingest")["logGroups"][0]
    assert group["retentionInDays"] == 14 and group["kmsKeyId"] == out["DataKeyArn"]


def test_lambda_read_back(lake, endpoint):
    _, out = lake
    lam = endpoint.client("lambda")
    cfg = lam.get_function_configuration(FunctionName=out["IngestFunctionName"])
    assert (cfg["Runtime"], cfg["Handler"], cfg["Timeout"], cfg["MemorySize"]) == \
        ("python3.11", "handler.lambda_handler", 120, 512)
    assert cfg["Role"] == out["IngestLambdaRoleArn"]
    assert cfg["Environment"]["Variables"] == {
        "RAW_BUCKET": out["RawBucket"], "QUARANTINE_BUCKET": out["QuarantineBucket"],
        "GLUE_JOB_NAME": "cfnlake-etl", "START_JOB_ON_ARRIVAL": "false"}
    api = lam.get_function_configuration(FunctionName=out["ApiPullFunctionName"])
    assert api["Environment"]["Variables"] == {"LANDING_BUCKET": out["LandingBucket"],
                                               "STATE_BUCKET": out["ArtifactsBucket"],
                                               "STATE_KEY": "state/weather_cursor.json"}
    policy = json.loads(lam.get_policy(FunctionName=out["IngestFunctionName"])["Policy"])
    st = policy["Statement"][0]
    assert st["Principal"] == {"Service": "s3.amazonaws.com"}
    assert st["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{out['LandingBucket']}"


def test_glue_read_back(lake, endpoint):
    _, out = lake
    glue = endpoint.client("glue")
    assert glue.get_database(Name="cfnlake_lake")["Database"]["LocationUri"] == f"s3://{out['ProcessedBucket']}/"
    job = glue.get_job(JobName="cfnlake-etl")["Job"]
    assert (job["GlueVersion"], job["Command"]["Name"], job["ExecutionProperty"]["MaxConcurrentRuns"]) == \
        ("5.0", "glueetl", 1)
    assert job["Command"]["ScriptLocation"] == f"s3://{out['ArtifactsBucket']}/scripts/etl.py"
    args = job["DefaultArguments"]
    assert args["--raw_path"] == f"s3://{out['RawBucket']}/"
    assert args["--rejected_path"] == f"s3://{out['QuarantineBucket']}/rejected_rows/"
    assert args["--bookmark_path"] == f"s3://{out['ArtifactsBucket']}/bookmarks/cfnlake-etl/"
    assert args["--job-bookmark-option"] == "job-bookmark-enable" and args["--dataset"] == "all"
    assert job["Role"] == out["GlueRoleArn"] and job["SecurityConfiguration"] == "cfnlake-glue-kms"
    crawler = glue.get_crawler(Name="cfnlake-processed-crawler")["Crawler"]
    assert [t["Path"] for t in crawler["Targets"]["S3Targets"]] == [
        f"s3://{out['ProcessedBucket']}/{d}/" for d in ("flights", "weather", "planes", "airlines", "airports")]
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"}
    assert crawler["DatabaseName"] == "cfnlake_lake"
    trigger = glue.get_trigger(Name="cfnlake-crawl-after-etl")["Trigger"]
    assert trigger["Type"] == "CONDITIONAL"
    assert trigger["Predicate"]["Conditions"][0]["JobName"] == "cfnlake-etl"
    assert trigger["Actions"] == [{"CrawlerName": "cfnlake-processed-crawler"}]
    sec = glue.get_security_configuration(Name="cfnlake-glue-kms")["SecurityConfiguration"]
    assert sec["EncryptionConfiguration"]["S3Encryption"][0]["S3EncryptionMode"] == "SSE-KMS"
    s3 = endpoint.client("s3")
    assert s3.get_object(Bucket=out["ArtifactsBucket"], Key="scripts/etl.py")["Body"].read() == \
        (deploy.PACKAGE / "jobs" / "etl.py").read_bytes()


def test_athena_and_lakeformation_read_back(lake, endpoint):
    _, out = lake
    athena, lf = endpoint.client("athena"), endpoint.client("lakeformation")
    wg = athena.get_work_group(WorkGroup="cfnlake-analysts")["WorkGroup"]["Configuration"]
    assert wg["BytesScannedCutoffPerQuery"] == 10485760 and wg["EnforceWorkGroupConfiguration"] is True
    assert wg["ResultConfiguration"]["OutputLocation"] == f"s3://{out['AthenaResultsBucket']}/analysts/"
    assert wg["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS",
                                                                   "KmsKey": out["DataKeyArn"]}
    eng = athena.get_work_group(WorkGroup="cfnlake-engineers")["WorkGroup"]["Configuration"]
    assert "BytesScannedCutoffPerQuery" not in eng
    admins = lf.get_data_lake_settings()["DataLakeSettings"]["DataLakeAdmins"]
    assert {"DataLakePrincipalIdentifier": out["DataLakeAdminRoleArn"]} in admins
    registered = {r["ResourceArn"] for r in lf.list_resources()["ResourceInfoList"]}
    assert {f"arn:aws:s3:::{out['RawBucket']}", f"arn:aws:s3:::{out['ProcessedBucket']}"} <= registered
    perms = lf.list_permissions(Principal={"DataLakePrincipalIdentifier": out["GlueRoleArn"]},
                                Resource={"Database": {"Name": "cfnlake_lake"}})["PrincipalResourcePermissions"]
    assert {"CREATE_TABLE", "ALTER", "DROP", "DESCRIBE"} <= {p for x in perms for p in x["Permissions"]}


def test_api_pull_schedule_rule_disabled_by_default(lake, endpoint):
    """The schedule notebook 02 talks about exists, DISABLED unless ApiPullSchedule=ENABLED."""
    _, out = lake
    events, lam = endpoint.client("events"), endpoint.client("lambda")
    rule = events.describe_rule(Name=out["ApiPullScheduleRuleName"])
    assert (rule["Name"], rule["ScheduleExpression"], rule["State"]) == (
        "cfnlake-api-pull-schedule", "rate(1 hour)", "DISABLED")
    targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    fn_arn = lam.get_function(FunctionName=out["ApiPullFunctionName"])["Configuration"]["FunctionArn"]
    assert [(t["Id"], t["Arn"]) for t in targets] == [("api-pull", fn_arn)]
    policy = json.loads(lam.get_policy(FunctionName=out["ApiPullFunctionName"])["Policy"])
    assert [st["Principal"] for st in policy["Statement"]] == [{"Service": "events.amazonaws.com"}]
    assert policy["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]


def test_uploaded_assets_use_the_lake_key(lake, endpoint):
    """``ServerSideEncryption="aws:kms"`` alone would mean aws/s3 on AWS, not the lake's key."""
    s, out = lake
    s3 = endpoint.client("s3")
    keys = deploy.upload_assets(s, bucket=out["ArtifactsBucket"])
    for key in keys.values():
        head = s3.head_object(Bucket=out["ArtifactsBucket"], Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == out["DataKeyArn"], (key, head.get("SSEKMSKeyId"))


def test_validate_template_and_summary(cf):
    body = deploy.TEMPLATE.read_text()
    v = cf.validate_template(TemplateBody=body)
    assert v["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert {p["ParameterKey"] for p in v["Parameters"]} >= {"Prefix", "DeployCompute", "AnalystBytesCutoff"}
    summary = cf.get_template_summary(TemplateBody=body)
    assert "AWS::LakeFormation::DataLakeSettings" in summary["ResourceTypes"]
    with pytest.raises(ClientError, match="Unresolved resource dependencies"):
        cf.validate_template(TemplateBody="Resources:\n  B: {Type: AWS::S3::Bucket, Properties: {BucketName: !Ref X}}\n")


# ---------------------------------------------------------------- small stacks
SMALL = """
Parameters:
  Retention: {Type: Number, Default: 7}
  Secret: {Type: String, NoEcho: true, Default: hunter2}
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: /cfntest/logs-BUCKET, RetentionInDays: !Ref Retention}
  Data:
    Type: AWS::S3::Bucket
    Properties: {BucketName: BUCKET, VersioningConfiguration: {Status: Enabled}}
Outputs:
  Bucket: {Value: !Ref Data, Export: {Name: small-bucket}}
  Arn: {Value: !GetAtt Data.Arn}
"""


def test_create_noecho_exports_and_boto3_waiter(cf, endpoint):
    body = SMALL.replace("BUCKET", "cfntest-small-a")
    cf.create_stack(StackName="small", TemplateBody=body)
    cf.get_waiter("stack_create_complete").wait(StackName="small", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    stack = cf.describe_stacks(StackName="small")["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params == {"Retention": "7", "Secret": "****"}
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {
        "Bucket": "cfntest-small-a", "Arn": "arn:aws:s3:::cfntest-small-a"}
    exports = {e["Name"]: e["Value"] for e in cf.list_exports()["Exports"]}
    assert exports["small-bucket"] == "cfntest-small-a"
    statuses = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in _events(cf, "small")]
    assert statuses[0] == ("small", "CREATE_IN_PROGRESS") and statuses[-1] == ("small", "CREATE_COMPLETE")
    assert ("Data", "CREATE_COMPLETE") in statuses and ("Logs", "CREATE_COMPLETE") in statuses
    consumer = ("Resources:\n  Q:\n    Type: AWS::Logs::LogGroup\n    Properties:\n"
                "      LogGroupName: !Sub ['/cfntest/${B}', {B: !ImportValue small-bucket}]\n")
    assert _create(cf, "consumer", consumer)["StackStatus"] == "CREATE_COMPLETE"
    assert endpoint.client("logs").describe_log_groups(logGroupNamePrefix="/cfntest/cfntest-small-a")["logGroups"]
    with pytest.raises(ClientError, match="Export small-bucket cannot be deleted as it is in use by consumer"):
        cf.delete_stack(StackName="small")
    assert _delete(cf, "consumer") == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="Stack with id consumer does not exist"):
        cf.describe_stacks(StackName="consumer")


def test_export_clash_fails_create_and_rolls_back_update(cf):
    owner = "Resources:\n  L: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: /cfntest/clash-NAME}}\n"
    out = "Outputs:\n  O: {Value: !Ref L, Export: {Name: cfntest-clash}}\n"
    assert _create(cf, "clash-owner", owner.replace("NAME", "a") + out)["StackStatus"] == "CREATE_COMPLETE"
    stack = _create(cf, "clash-new", owner.replace("NAME", "b") + out)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in _events(cf, "clash-new") if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["clash-new"]
    assert "Export with name cfntest-clash is already exported by stack clash-owner" in failed[0]["ResourceStatusReason"]
    # an update adding the same export is rolled back: the stack keeps its old outputs
    assert _create(cf, "clash-upd", owner.replace("NAME", "c"))["StackStatus"] == "CREATE_COMPLETE"
    stack = _update(cf, "clash-upd", owner.replace("NAME", "c") + out)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE" and not stack.get("Outputs")
    assert any(e["ResourceStatus"] == "UPDATE_FAILED" and "already exported" in e.get("ResourceStatusReason", "")
               for e in _events(cf, "clash-upd"))
    assert {e["Name"]: e["ExportingStackId"].split("/")[1] for e in cf.list_exports()["Exports"]
            if e["Name"] == "cfntest-clash"} == {"cfntest-clash": "clash-owner"}
    for name in ("clash-upd", "clash-new", "clash-owner"):
        assert _delete(cf, name) == "DELETE_COMPLETE"


def test_update_in_place_leaves_others_untouched(cf, endpoint):
    body = SMALL.replace("BUCKET", "cfntest-small-b").replace("small-bucket", "small-b")
    _create(cf, "inplace", body)
    before = {r["LogicalResourceId"]: r["PhysicalResourceId"]
              for r in cf.list_stack_resources(StackName="inplace")["StackResourceSummaries"]}
    n_events = len(_events(cf, "inplace"))
    stack = _update(cf, "inplace", body, Parameters=[{"ParameterKey": "Retention", "ParameterValue": "30"}])
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    new_events = _events(cf, "inplace")[n_events:]
    touched = {e["LogicalResourceId"] for e in new_events}
    assert touched == {"inplace", "Logs"}
    assert [e["ResourceStatus"] for e in new_events if e["LogicalResourceId"] == "Logs"] == [
        "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
    after = {r["LogicalResourceId"]: r["PhysicalResourceId"]
             for r in cf.list_stack_resources(StackName="inplace")["StackResourceSummaries"]}
    assert after == before
    group = endpoint.client("logs").describe_log_groups(logGroupNamePrefix="/cfntest/logs-cfntest-small-b")["logGroups"][0]
    assert group["retentionInDays"] == 30
    with pytest.raises(ClientError, match="No updates are to be performed"):
        cf.update_stack(StackName="inplace", TemplateBody=body,
                        Parameters=[{"ParameterKey": "Retention", "ParameterValue": "30"}])
    # a change set previews the next update: Modify, no replacement
    cs = cf.create_change_set(StackName="inplace", ChangeSetName="ret60", TemplateBody=body,
                              Parameters=[{"ParameterKey": "Retention", "ParameterValue": "60"}])
    desc = cf.describe_change_set(ChangeSetName=cs["Id"])
    assert desc["Status"] == "CREATE_COMPLETE" and desc["ExecutionStatus"] == "AVAILABLE"
    change = desc["Changes"][0]["ResourceChange"]
    assert (change["Action"], change["LogicalResourceId"], change["Replacement"]) == ("Modify", "Logs", "False")
    cf.execute_change_set(ChangeSetName=cs["Id"])
    assert settle(cf, "inplace")["StackStatus"] == "UPDATE_COMPLETE"
    group = endpoint.client("logs").describe_log_groups(logGroupNamePrefix="/cfntest/logs-cfntest-small-b")["logGroups"][0]
    assert group["retentionInDays"] == 60
    assert _delete(cf, "inplace") == "DELETE_COMPLETE"


def test_update_replacement_and_custom_name_rule(cf, endpoint):
    s3 = endpoint.client("s3")
    body = SMALL.replace("BUCKET", "cfntest-repl-a").replace("small-bucket", "repl")
    _create(cf, "repl", body)
    stack = _update(cf, "repl", body.replace("cfntest-repl-a", "cfntest-repl-b"))
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    res = cf.describe_stack_resource(StackName="repl", LogicalResourceId="Data")["StackResourceDetail"]
    assert res["PhysicalResourceId"] == "cfntest-repl-b"
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert "cfntest-repl-b" in names and "cfntest-repl-a" not in names
    reasons = [e.get("ResourceStatusReason", "") for e in _events(cf, "repl") if e["LogicalResourceId"] == "Data"]
    assert "Requested update requires the creation of a new physical resource; hence creating one." in reasons
    assert s3.get_bucket_versioning(Bucket="cfntest-repl-b")["Status"] == "Enabled"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["Bucket"] == "cfntest-repl-b"
    # a custom-named resource whose change requires replacement cannot be updated (AWS rule)
    sec = ("Resources:\n  Sec:\n    Type: AWS::Glue::SecurityConfiguration\n    Properties:\n"
           "      Name: cfntest-sec\n      EncryptionConfiguration:\n"
           "        S3Encryptions: [{S3EncryptionMode: MODE}]\n")
    _create(cf, "named", sec.replace("MODE", "SSE-S3"))
    stack = _update(cf, "named", sec.replace("MODE", "DISABLED"))
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in _events(cf, "named") if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed[0]["ResourceStatusReason"].startswith(
        "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
        "Rename cfntest-sec and update the stack again.")
    got = endpoint.client("glue").get_security_configuration(Name="cfntest-sec")["SecurityConfiguration"]
    assert got["EncryptionConfiguration"]["S3Encryption"][0]["S3EncryptionMode"] == "SSE-S3"
    for name in ("repl", "named"):
        assert _delete(cf, name) == "DELETE_COMPLETE"


BAD = """
Resources:
  First:
    Type: AWS::S3::Bucket
    Properties: {BucketName: cfntest-rollback}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  Fn:
    Type: AWS::Lambda::Function
    DependsOn: First
    Properties:
      Runtime: python3.11
      Handler: handler.lambda_handler
      Role: !GetAtt Role.Arn
      Code: {S3Bucket: cfntest-rollback, S3Key: missing.zip}
"""


def test_failure_rolls_back_in_reverse_order_with_reason(cf, endpoint):
    stack = _create(cf, "rollback", BAD, Capabilities=["CAPABILITY_IAM"])
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = _events(cf, "rollback")
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["LogicalResourceId"] == "Fn"
    assert "Property Code:" in failed[0]["ResourceStatusReason"]
    assert "Error occurred while GetObject. S3 Error Code: NoSuchKey." in failed[0]["ResourceStatusReason"]
    rollback = [e for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"][0]
    assert rollback["ResourceStatusReason"] == ("The following resource(s) failed to create: [Fn]. "
                                                "Rollback requested by user.")
    created = [e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "CREATE_COMPLETE"]
    deleted = [e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert created == ["First", "Role"] and deleted[-2:] == ["Role", "First"]  # reverse order
    role_name = [e for e in events if e["LogicalResourceId"] == "Role"][-1]["PhysicalResourceId"]
    assert role_name.startswith("rollback-Role-")
    with pytest.raises(ClientError, match="NoSuchEntity|cannot be found"):
        endpoint.client("iam").get_role(RoleName=role_name)
    with pytest.raises(ClientError):
        endpoint.client("s3").head_bucket(Bucket="cfntest-rollback")
    with pytest.raises(ClientError, match="ROLLBACK_COMPLETE state and can not be updated"):
        cf.update_stack(StackName="rollback", TemplateBody=BAD, Capabilities=["CAPABILITY_IAM"])
    assert _delete(cf, "rollback") == "DELETE_COMPLETE"


@pytest.mark.parametrize("resource,expected", [
    ("{Type: AWS::S3::Bucket, Properties: {AccelerateConfiguration: {AccelerationStatus: Enabled}}}",
     "AWS::S3::Bucket B: property AccelerateConfiguration is not supported by the local CloudFormation "
     "engine (supported: BucketEncryption, BucketName,"),
    ("{Type: AWS::S3::Bucket, Properties: {BucketNam: x}}",
     "Properties validation failed for resource B with message: #: extraneous key [BucketNam] is not permitted"),
    ("{Type: AWS::SQS::Queue}",
     "Resource type AWS::SQS::Queue (B) is not supported by the local CloudFormation engine"),
])
def test_unsupported_type_or_property_fails_the_stack(cf, resource, expected):
    name = "unsupported-" + str(abs(hash(resource)) % 10_000)
    stack = _create(cf, name, f"Resources:\n  B: {resource}\n", DisableRollback=True)
    assert stack["StackStatus"] == "CREATE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to create: [B]. "
    failed = [e for e in _events(cf, name) if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["ResourceStatusReason"].startswith(expected)
    assert _delete(cf, name) == "DELETE_COMPLETE"


def test_capabilities_are_required_synchronously(cf):
    body = ("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: cfntest-cap\n"
            "      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: []}\n")
    with pytest.raises(ClientError, match=r"Requires capabilities : \[CAPABILITY_NAMED_IAM\]"):
        cf.create_stack(StackName="caps", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])


KEEP = """
Resources:
  Plain:
    Type: AWS::S3::Bucket
    Properties: {BucketName: cfntest-del-plain}
  Kept:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties: {BucketName: cfntest-del-kept}
"""


def test_delete_non_empty_bucket_fails_unless_retained(cf, endpoint):
    s3 = endpoint.client("s3")
    _create(cf, "deleting", KEEP)
    for b in ("cfntest-del-plain", "cfntest-del-kept"):
        s3.put_object(Bucket=b, Key="a.csv", Body=b"1")
    cf.delete_stack(StackName="deleting")
    stack = settle(cf, "deleting")
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to delete: [Plain]. "
    res = {r["LogicalResourceId"]: r for r in cf.list_stack_resources(StackName="deleting")["StackResourceSummaries"]}
    assert res["Plain"]["ResourceStatus"] == "DELETE_FAILED"
    assert "The bucket you tried to delete is not empty" in res["Plain"]["ResourceStatusReason"]
    assert res["Kept"]["ResourceStatus"] == "DELETE_SKIPPED"
    # empty it (all versions) and delete again: now it goes
    assert deploy.empty_bucket("cfntest-del-plain", endpoint.settings) == 1
    assert _delete(cf, "deleting") == "DELETE_COMPLETE"
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert "cfntest-del-kept" in names and "cfntest-del-plain" not in names


def test_teardown_empties_versioned_buckets_and_leaves_nothing(lake, endpoint):
    s, out = lake
    s3 = endpoint.client("s3")
    s3.put_object(Bucket=out["RawBucket"], Key="flights/a.csv", Body=b"1")
    s3.put_object(Bucket=out["RawBucket"], Key="flights/a.csv", Body=b"2")
    s3.delete_object(Bucket=out["RawBucket"], Key="flights/a.csv")  # a delete marker
    result = deploy.teardown(s, progress=False, timeout=300)
    assert result["stack"] == "DELETE_COMPLETE"
    assert result["emptied"][out["RawBucket"]] >= 3  # 2 versions + 1 delete marker (+ probes)
    assert result["emptied"][out["ArtifactsBucket"]] >= 3  # the two Lambda zips and the script
    assert deploy.remaining(s).empty
    assert deploy.teardown(s) == {"stack": "DOES_NOT_EXIST", "emptied": {}}

