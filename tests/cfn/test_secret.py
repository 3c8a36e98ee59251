"""AWS::SecretsManager::Secret through the local CloudFormation engine."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ._stacks import settle

TEMPLATE = json.dumps({
    "Resources": {
        "Key": {"Type": "AWS::KMS::Key"},
        "Plain": {"Type": "AWS::SecretsManager::Secret",
                  "Properties": {"Name": "cfnsec-plain", "KmsKeyId": {"Ref": "Key"},
                                 "GenerateSecretString": {"PasswordLength": 40, "ExcludePunctuation": True}}},
        "Doc": {"Type": "AWS::SecretsManager::Secret",
                "Properties": {"Name": "cfnsec-doc", "GenerateSecretString": {
                    "SecretStringTemplate": '{"username": "etl"}', "GenerateStringKey": "password",
                    "PasswordLength": 16, "ExcludeCharacters": "abc"}}},
    },
    "Outputs": {"PlainRef": {"Value": {"Ref": "Plain"}}, "PlainId": {"Value": {"Fn::GetAtt": ["Plain", "Id"]}},
                "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}},
})


@pytest.fixture(scope="module")
def clients(endpoint):
    return endpoint.client("cloudformation"), endpoint.client("secretsmanager")


def _outputs(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_generated_secrets_ref_arn_and_delete_frees_the_name(clients):
    cf, sm = clients
    for attempt in range(2):  # the second deploy reuses the names: deletion left no recovery window
        stack_id = cf.create_stack(StackName="cfnsec", TemplateBody=TEMPLATE)["StackId"]
        stack = settle(cf, stack_id)
        assert stack["StackStatus"] == "CREATE_COMPLETE", attempt
        out = _outputs(stack)
        meta = sm.describe_secret(SecretId="cfnsec-plain")
        assert out["PlainRef"] == out["PlainId"] == meta["ARN"]
        assert meta["ARN"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:cfnsec-plain-")
        assert meta["KmsKeyId"].endswith(out["KeyArn"].rsplit("/", 1)[1])
        plain = sm.get_secret_value(SecretId="cfnsec-plain")["SecretString"]
        assert len(plain) == 40 and plain.isalnum()
        doc = json.loads(sm.get_secret_value(SecretId="cfnsec-doc")["SecretString"])
        assert doc["username"] == "etl" and len(doc["password"]) == 16 and not set("abc") & set(doc["password"])
        cf.delete_stack(StackName="cfnsec")
        assert settle(cf, stack_id)["StackStatus"] == "DELETE_COMPLETE"
        with pytest.raises(ClientError) as e:
            sm.describe_secret(SecretId="cfnsec-plain")
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_secret_string_and_generate_secret_string_together_fail_the_resource(clients):
    cf, _ = clients
    body = json.dumps({"Resources": {"Both": {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "Name": "cfnsec-both", "SecretString": "x", "GenerateSecretString": {}}}}})
    cf.create_stack(StackName="cfnsec-both", TemplateBody=body)
    stack = settle(cf, "cfnsec-both")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in cf.describe_stack_events(StackName="cfnsec-both")["StackEvents"]
               if e["LogicalResourceId"] == "Both" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert reasons == ["Properties SecretString and GenerateSecretString are mutually exclusive"]
    cf.delete_stack(StackName="cfnsec-both")
