"""AWS::SecretsManager::Secret: a secret with a given or generated value, under a KMS key.

As the CloudFormation reference describes the type: ``Ref`` and ``Fn::GetAtt Id`` are the
secret's ARN; ``SecretString`` and ``GenerateSecretString`` are mutually exclusive; the value is
generated with Secrets Manager's own GetRandomPassword (``GenerateStringKey`` +
``SecretStringTemplate`` put it into a JSON document); changing ``Name`` replaces the secret.
Deleting the stack deletes the secret without a recovery window, so a re-deploy can reuse the
name at once.
"""
from __future__ import annotations

import json
from typing import Any

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    deleting,
    failing_as,
    provisioner,
    tags_list,
)

__all__ = ["Secret"]

_PASSWORD_OPTIONS = ("PasswordLength", "ExcludeCharacters", "ExcludeNumbers", "ExcludePunctuation",
                     "ExcludeUppercase", "ExcludeLowercase", "IncludeSpace", "RequireEachIncludedType")


def _generated(ctx: ProvisionContext, spec: dict[str, Any]) -> str:
    """The secret value GenerateSecretString describes (a password, or a JSON document with one)."""
    unknown = sorted(set(spec) - set(_PASSWORD_OPTIONS) - {"GenerateStringKey", "SecretStringTemplate"})
    if unknown:
        raise ResourceFailure(f"Property GenerateSecretString: unsupported key(s) {unknown}")
    if ("GenerateStringKey" in spec) != ("SecretStringTemplate" in spec):
        raise ResourceFailure("Property GenerateSecretString: GenerateStringKey and SecretStringTemplate "
                              "must be specified together")
    kwargs = {k: spec[k] for k in _PASSWORD_OPTIONS if k in spec}
    if "PasswordLength" in kwargs:
        kwargs["PasswordLength"] = int(kwargs["PasswordLength"])
    for k in _PASSWORD_OPTIONS[2:]:
        if k in kwargs:
            kwargs[k] = str(kwargs[k]).lower() == "true"
    with failing_as("GenerateSecretString", "SecretsManager"):
        password = ctx.client("secretsmanager").get_random_password(**kwargs)["RandomPassword"]
    if "GenerateStringKey" not in spec:
        return password
    try:
        doc = json.loads(spec["SecretStringTemplate"])
    except (TypeError, ValueError):
        raise ResourceFailure("Property GenerateSecretString: SecretStringTemplate is not a JSON object") from None
    doc[spec["GenerateStringKey"]] = password
    return json.dumps(doc)


@provisioner
class Secret(Provisioner):
    type = "AWS::SecretsManager::Secret"
    supported = frozenset({"Name", "Description", "KmsKeyId", "SecretString", "GenerateSecretString", "Tags"})
    also_replace = frozenset({"Name"})
    attributes = ("Id",)

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        if "SecretString" in props and "GenerateSecretString" in props:
            raise ResourceFailure("Properties SecretString and GenerateSecretString are mutually exclusive")
        name = props.get("Name") or ctx.physical_name(logical, 256)
        value = props["SecretString"] if "SecretString" in props else _generated(ctx, props.get("GenerateSecretString") or {})
        kwargs: dict[str, Any] = {"Name": name, "SecretString": value}
        for key in ("Description", "KmsKeyId"):
            if key in props:
                kwargs[key] = props[key]
        if props.get("Tags"):
            kwargs["Tags"] = tags_list(props["Tags"])
        with failing_as("Name" if "Name" in props else None, "SecretsManager"):
            arn = ctx.client("secretsmanager").create_secret(**kwargs)["ARN"]
        return Created(arn, {"Id": arn})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        sm = ctx.client("secretsmanager")
        kwargs: dict[str, Any] = {}
        for key in ("Description", "KmsKeyId"):
            if old.get(key) != new.get(key) and key in new:
                kwargs[key] = new[key]
        if old.get("SecretString") != new.get("SecretString") and "SecretString" in new:
            kwargs["SecretString"] = new["SecretString"]
        elif old.get("GenerateSecretString") != new.get("GenerateSecretString") and "GenerateSecretString" in new:
            kwargs["SecretString"] = _generated(ctx, new["GenerateSecretString"])
        if kwargs:
            with failing_as(None, "SecretsManager"):
                sm.update_secret(SecretId=physical_id, **kwargs)
        if old.get("Tags") != new.get("Tags"):
            gone = {t["Key"] for t in tags_list(old.get("Tags"))} - {t["Key"] for t in tags_list(new.get("Tags"))}
            with failing_as("Tags", "SecretsManager"):
                if gone:
                    sm.untag_resource(SecretId=physical_id, TagKeys=sorted(gone))
                if new.get("Tags"):
                    sm.tag_resource(SecretId=physical_id, Tags=tags_list(new["Tags"]))
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with deleting("ResourceNotFoundException", "SecretsManager"):
            ctx.client("secretsmanager").delete_secret(SecretId=physical_id, ForceDeleteWithoutRecovery=True)
