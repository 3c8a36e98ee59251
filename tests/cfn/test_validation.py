"""What AWS refuses while a stack is created, the local engine refuses the same way.

- S3 checks that it may invoke a notification's Lambda function (the function's resource
  policy must allow ``s3.amazonaws.com`` for the bucket) before it stores the configuration:
  InvalidArgument "Unable to validate the following destination configurations".
- Lake Formation refuses IAM principals that do not exist (data lake admins, grants):
  InvalidInputException "Invalid principal, arn: ...".
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lakekit import deploy
from lakekit.exceptions import DeployError

from ._stacks import settle

ACCOUNT, REGION = "123456789012", "us-east-1"
UNABLE = ('Property NotificationConfiguration: Resource handler returned message: "Unable to '
          'validate the following destination configurations" (Service: S3, Status Code: 400, '
          "Error Code: InvalidArgument). Not authorized to invoke function ")


@pytest.fixture(scope="module")
def cf(endpoint):
    return endpoint.client("cloudformation")


def _events(cf, name: str) -> list[dict]:
    return list(reversed(cf.describe_stack_events(StackName=name)["StackEvents"]))


def _failed(cf, name: str) -> list[dict]:
    return [e for e in _events(cf, name) if e["ResourceStatus"].endswith("_FAILED")
            and e["ResourceType"] != "AWS::CloudFormation::Stack"]


def _delete(cf, name: str) -> str:
    stack_id = cf.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    cf.delete_stack(StackName=name)
    return settle(cf, stack_id)["StackStatus"]


def _notify_template(bucket: str, permission: str) -> str:
    """A function, optionally its S3 invoke permission, and a bucket notifying it."""
    return f"""
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}]
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {{ZipFile: "def handler(event, context):\\n    return None\\n"}}
{permission}
  Landing:
    Type: AWS::S3::Bucket
    {'DependsOn: Perm' if permission else ''}
    Properties:
      BucketName: {bucket}
      NotificationConfiguration:
        LambdaConfigurations:
          - Event: "s3:ObjectCreated:*"
            Function: !GetAtt Fn.Arn
"""


def _permission(source_arn: str) -> str:
    return f"""  Perm:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !GetAtt Fn.Arn
      Principal: s3.amazonaws.com
      SourceAccount: !Ref AWS::AccountId
      SourceArn: {source_arn}"""


def test_notification_without_invoke_permission_fails_the_bucket(cf, endpoint):
    cf.create_stack(StackName="notify-noperm", TemplateBody=_notify_template("cfnval-noperm", ""),
                    Capabilities=["CAPABILITY_IAM"])
    stack = settle(cf, "notify-noperm")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = _failed(cf, "notify-noperm")
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in failed] == [("Landing", "CREATE_FAILED")]
    reason = failed[0]["ResourceStatusReason"]
    assert reason.startswith(UNABLE)
    assert re.search(r"\[arn:aws:lambda:us-east-1:123456789012:function:notify-noperm-Fn-\w+\]", reason)
    assert "AWS::Lambda::Permission" in reason and "SourceArn arn:aws:s3:::cfnval-noperm" in reason
    rollback = [e for e in _events(cf, "notify-noperm") if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"]
    assert rollback[0]["ResourceStatusReason"].startswith("The following resource(s) failed to create: [Landing].")
    names = {b["Name"] for b in endpoint.client("s3").list_buckets()["Buckets"]}
    assert "cfnval-noperm" not in names  # the half-made bucket went with the rollback
    assert _delete(cf, "notify-noperm") == "DELETE_COMPLETE"


def test_permission_for_another_bucket_does_not_count(cf):
    body = _notify_template("cfnval-wrongarn", _permission("arn:aws:s3:::some-other-bucket"))
    cf.create_stack(StackName="notify-wrongarn", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    assert settle(cf, "notify-wrongarn")["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = _failed(cf, "notify-wrongarn")
    assert failed[0]["LogicalResourceId"] == "Landing"
    assert failed[0]["ResourceStatusReason"].startswith(UNABLE)
    assert _delete(cf, "notify-wrongarn") == "DELETE_COMPLETE"


def test_notification_with_the_permission_is_written(cf, endpoint):
    body = _notify_template("cfnval-perm", _permission("arn:aws:s3:::cfnval-perm"))
    cf.create_stack(StackName="notify-perm", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    assert settle(cf, "notify-perm")["StackStatus"] == "CREATE_COMPLETE"
    cfg = endpoint.client("s3").get_bucket_notification_configuration(Bucket="cfnval-perm")
    [lam] = cfg["LambdaFunctionConfigurations"]
    assert lam["Events"] == ["s3:ObjectCreated:*"]
    assert lam["LambdaFunctionArn"].startswith("arn:aws:lambda:us-east-1:123456789012:function:notify-perm-Fn-")
    assert _delete(cf, "notify-perm") == "DELETE_COMPLETE"


# ---------------------------------------------------------------- Lake Formation principals
SSO_PATH = "/aws-reserved/sso.amazonaws.com/us-east-1/"


@pytest.fixture(scope="module")
def sso_role(endpoint):
    iam = endpoint.client("iam")
    name = "AWSReservedSSO_Workshop_0123456789abcdef"
    role = iam.create_role(RoleName=name, Path=SSO_PATH, AssumeRolePolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        '{"Federated":"arn:aws:iam::123456789012:saml-provider/AWSSSO"},"Action":"sts:AssumeRoleWithSAML"}]}'))
    yield role["Role"]["Arn"]
    iam.delete_role(RoleName=name)


def _settings_template(admin: str) -> str:
    return f"""
Resources:
  Settings:
    Type: AWS::LakeFormation::DataLakeSettings
    Properties:
      MutationType: APPEND
      Admins:
        - DataLakePrincipalIdentifier: {admin}
"""


def _admins(endpoint) -> list[str]:
    got = endpoint.client("lakeformation").get_data_lake_settings()["DataLakeSettings"]
    return [a["DataLakePrincipalIdentifier"] for a in got.get("DataLakeAdmins", [])]


@pytest.mark.parametrize("admin", [
    f"arn:aws:iam::{ACCOUNT}:role/cfnval-nobody",
    # the SSO role without its path: what deploy used to pass for an Identity Center caller
    f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Workshop_0123456789abcdef",
    f"arn:aws:iam::{ACCOUNT}:user/cfnval-nobody",
])
def test_data_lake_admin_that_does_not_exist_fails(cf, endpoint, sso_role, admin):
    name = "lfadmin-" + str(abs(hash(admin)) % 10_000)
    cf.create_stack(StackName=name, TemplateBody=_settings_template(admin))
    assert settle(cf, name)["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = _failed(cf, name)
    assert failed["LogicalResourceId"] == "Settings"
    assert failed["ResourceStatusReason"].startswith(
        f'Property Admins: Resource handler returned message: "Invalid principal, arn: {admin}" '
        "(Service: LakeFormation, Status Code: 400, Error Code: InvalidInputException).")
    assert admin not in _admins(endpoint)
    assert _delete(cf, name) == "DELETE_COMPLETE"


def test_data_lake_admin_with_the_role_path_is_accepted(cf, endpoint, sso_role):
    cf.create_stack(StackName="lfadmin-sso", TemplateBody=_settings_template(sso_role))
    assert settle(cf, "lfadmin-sso")["StackStatus"] == "CREATE_COMPLETE"
    assert sso_role in _admins(endpoint)
    assert _delete(cf, "lfadmin-sso") == "DELETE_COMPLETE"
    assert sso_role not in _admins(endpoint)


GRANTS = """
Resources:
  Db:
    Type: AWS::Glue::Database
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseInput: {{Name: {db}}}
  Grant:
    Type: AWS::LakeFormation::{kind}
    Properties:
{props}
"""


@pytest.mark.parametrize("kind,props,prop", [
    ("PrincipalPermissions",
     "      Principal: {DataLakePrincipalIdentifier: arn:aws:iam::123456789012:role/cfnval-ghost}\n"
     "      Resource: {Database: {CatalogId: !Ref AWS::AccountId, Name: !Ref Db}}\n"
     "      Permissions: [DESCRIBE]\n      PermissionsWithGrantOption: []", "Principal"),
    ("Permissions",
     "      DataLakePrincipal: {DataLakePrincipalIdentifier: arn:aws:iam::123456789012:role/cfnval-ghost}\n"
     "      Resource: {DatabaseResource: {CatalogId: !Ref AWS::AccountId, Name: !Ref Db}}\n"
     "      Permissions: [DESCRIBE]", "DataLakePrincipal"),
])
def test_grant_to_a_principal_that_does_not_exist_fails(cf, kind, props, prop):
    name = f"lfgrant-{kind.lower()}"
    body = GRANTS.format(db=f"cfnval_{kind.lower()}", kind=kind, props=props)
    cf.create_stack(StackName=name, TemplateBody=body)
    assert settle(cf, name)["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = _failed(cf, name)
    assert failed["LogicalResourceId"] == "Grant"
    assert failed["ResourceStatusReason"].startswith(
        f'Property {prop}: Resource handler returned message: "Invalid principal, arn: '
        'arn:aws:iam::123456789012:role/cfnval-ghost" (Service: LakeFormation, Status Code: 400, '
        "Error Code: InvalidInputException).")
    assert _delete(cf, name) == "DELETE_COMPLETE"


# ---------------------------------------------------------------- the data lake template
def _without_invoke_permission(text: str) -> str:
    """datalake.yaml minus IngestInvokePermission (and the reference that orders the bucket after it)."""
    start = text.index("  IngestInvokePermission:\n")
    end = text.index("\n  ApiPullFunction:\n")
    text = text[:start] + text[end + 1:]
    ordered = "!Select [0, [!GetAtt IngestFunction.Arn, !Ref IngestInvokePermission]]"
    assert ordered in text
    return text.replace(ordered, "!GetAtt IngestFunction.Arn")


def test_template_without_the_invoke_permission_rolls_back(endpoint, tmp_path, monkeypatch):
    copy = tmp_path / "datalake.yaml"
    copy.write_text(_without_invoke_permission(Path(deploy.TEMPLATE).read_text()))
    monkeypatch.setattr(deploy, "TEMPLATE", copy)
    s = endpoint.settings.with_(prefix="cfnnoperm")
    with pytest.raises(DeployError) as err:
        deploy.deploy(s, progress=False, timeout=300)
    msg = str(err.value)
    assert "stack cfnnoperm-datalake failed (UPDATE_ROLLBACK_COMPLETE): AWS::S3::Bucket LandingBucket: " in msg
    assert UNABLE + "[arn:aws:lambda:us-east-1:123456789012:function:cfnnoperm-ingest]" in msg
    landing = f"cfnnoperm-landing-{ACCOUNT}-{REGION}"
    cfg = endpoint.client("s3").get_bucket_notification_configuration(Bucket=landing)
    assert "LambdaFunctionConfigurations" not in cfg  # nothing was written
    result = deploy.teardown(s, progress=False, timeout=300)
    assert result["stack"] == "DELETE_COMPLETE"
