"""AWS::KMS::Key, AWS::KMS::Alias, AWS::IAM::Role, AWS::IAM::ManagedPolicy, AWS::Logs::LogGroup."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    deleting,
    error_code,
    failing_as,
    policy_json,
    provisioner,
    tags_list,
)

__all__ = ["Key", "Alias", "Role", "ManagedPolicy", "LogGroup"]


@provisioner
class Key(Provisioner):
    type = "AWS::KMS::Key"
    supported = frozenset({"Description", "Enabled", "EnableKeyRotation", "KeyPolicy", "KeySpec",
                           "KeyUsage", "MultiRegion", "PendingWindowInDays", "Tags"})
    # AWS docs: KeySpec, KeyUsage and MultiRegion updates require replacement.
    also_replace = frozenset({"KeySpec", "KeyUsage", "MultiRegion"})
    attributes = ("Arn", "KeyId")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        kms = ctx.client("kms")
        kwargs: dict[str, Any] = {
            "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
            "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
            "MultiRegion": bool(props.get("MultiRegion", False)),
            "Description": props.get("Description", ""),
        }
        if "KeyPolicy" in props:
            kwargs["Policy"] = policy_json(props["KeyPolicy"])  # moto trap: a string, never a dict
        if props.get("Tags"):
            kwargs["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags_list(props["Tags"])]
        with failing_as("KeyPolicy" if "KeyPolicy" in props else None, "KMS"):
            meta = kms.create_key(**kwargs)["KeyMetadata"]
        key_id = meta["KeyId"]
        try:
            self._settings(ctx, key_id, {}, props)
        except ResourceFailure:
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
            raise
        return Created(key_id, {"Arn": meta["Arn"], "KeyId": key_id})

    def _settings(self, ctx: ProvisionContext, key_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        kms = ctx.client("kms")
        if bool(old.get("EnableKeyRotation", False)) != bool(new.get("EnableKeyRotation", False)):
            with failing_as("EnableKeyRotation", "KMS"):
                if new.get("EnableKeyRotation"):
                    kms.enable_key_rotation(KeyId=key_id)
                else:
                    kms.disable_key_rotation(KeyId=key_id)
        if bool(old.get("Enabled", True)) != bool(new.get("Enabled", True)):
            with failing_as("Enabled", "KMS"):
                (kms.enable_key if new.get("Enabled", True) else kms.disable_key)(KeyId=key_id)

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        kms = ctx.client("kms")
        if old.get("KeyPolicy") != new.get("KeyPolicy") and "KeyPolicy" in new:
            with failing_as("KeyPolicy", "KMS"):
                kms.put_key_policy(KeyId=physical_id, PolicyName="default",
                                   Policy=policy_json(new["KeyPolicy"]))
        if old.get("Description") != new.get("Description"):
            with failing_as("Description", "KMS"):
                kms.update_key_description(KeyId=physical_id, Description=new.get("Description", ""))
        if old.get("Tags") != new.get("Tags"):
            with failing_as("Tags", "KMS"):
                gone = {t["Key"] for t in tags_list(old.get("Tags"))} - {t["Key"] for t in tags_list(new.get("Tags"))}
                if gone:
                    kms.untag_resource(KeyId=physical_id, TagKeys=sorted(gone))
                if new.get("Tags"):
                    kms.tag_resource(KeyId=physical_id, Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]}
                                                             for t in tags_list(new["Tags"])])
        self._settings(ctx, physical_id, old, new)
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        try:
            ctx.client("kms").schedule_key_deletion(
                KeyId=physical_id, PendingWindowInDays=int(props.get("PendingWindowInDays", 30)))
        except ClientError as exc:
            if error_code(exc) not in ("NotFoundException", "KMSInvalidStateException"):
                with failing_as(None, "KMS"):
                    raise


@provisioner
class Alias(Provisioner):
    type = "AWS::KMS::Alias"
    supported = frozenset({"AliasName", "TargetKeyId"})
    required = frozenset({"AliasName", "TargetKeyId"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        with failing_as("AliasName", "KMS"):
            ctx.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        return Created(props["AliasName"], {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        with failing_as("TargetKeyId", "KMS"):
            ctx.client("kms").update_alias(AliasName=physical_id, TargetKeyId=new["TargetKeyId"])
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with deleting("NotFoundException", "KMS"):
            ctx.client("kms").delete_alias(AliasName=physical_id)


@provisioner
class Role(Provisioner):
    type = "AWS::IAM::Role"
    supported = frozenset({"RoleName", "AssumeRolePolicyDocument", "Description", "MaxSessionDuration",
                           "Path", "Policies", "ManagedPolicyArns", "PermissionsBoundary", "Tags"})
    required = frozenset({"AssumeRolePolicyDocument"})
    attributes = ("Arn", "RoleId")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        iam = ctx.client("iam")
        name = props.get("RoleName") or ctx.physical_name(logical, 64)
        kwargs: dict[str, Any] = {
            "RoleName": name, "Path": props.get("Path", "/"),
            "AssumeRolePolicyDocument": policy_json(props["AssumeRolePolicyDocument"]),
        }
        for key in ("Description", "PermissionsBoundary"):
            if key in props:
                kwargs[key] = props[key]
        if "MaxSessionDuration" in props:
            kwargs["MaxSessionDuration"] = int(props["MaxSessionDuration"])
        if props.get("Tags"):
            kwargs["Tags"] = tags_list(props["Tags"])
        with failing_as("AssumeRolePolicyDocument", "Iam"):
            role = iam.create_role(**kwargs)["Role"]
        try:
            self._policies(ctx, name, {}, props)
        except ResourceFailure:
            self.delete(ctx, logical, name, props, {})
            raise
        return Created(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def _policies(self, ctx: ProvisionContext, name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        iam = ctx.client("iam")
        old_inline = {p["PolicyName"]: p["PolicyDocument"] for p in old.get("Policies") or []}
        new_inline = {p["PolicyName"]: p["PolicyDocument"] for p in new.get("Policies") or []}
        for pname, doc in new_inline.items():
            if old_inline.get(pname) != doc:
                with failing_as(f"Policies[{pname}]", "Iam"):
                    iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=policy_json(doc))
        for pname in set(old_inline) - set(new_inline):
            with failing_as("Policies", "Iam"):
                iam.delete_role_policy(RoleName=name, PolicyName=pname)
        old_managed = set(old.get("ManagedPolicyArns") or [])
        new_managed = list(dict.fromkeys(new.get("ManagedPolicyArns") or []))
        for arn in new_managed:
            if arn not in old_managed:
                try:
                    with failing_as("ManagedPolicyArns", "Iam"):
                        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
                except ResourceFailure as exc:
                    if ":aws:policy/" in arn:
                        raise ResourceFailure(
                            f"{exc} The local endpoint knows AWS managed policies only when started "
                            "with MOTO_IAM_LOAD_MANAGED_POLICIES=true; prefer an inline or "
                            "customer managed policy (least privilege).") from None
                    raise
        for arn in old_managed - set(new_managed):
            with failing_as("ManagedPolicyArns", "Iam"):
                iam.detach_role_policy(RoleName=name, PolicyArn=arn)

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        iam = ctx.client("iam")
        if old.get("AssumeRolePolicyDocument") != new.get("AssumeRolePolicyDocument"):
            with failing_as("AssumeRolePolicyDocument", "Iam"):
                iam.update_assume_role_policy(RoleName=physical_id,
                                              PolicyDocument=policy_json(new["AssumeRolePolicyDocument"]))
        if (old.get("Description"), old.get("MaxSessionDuration")) != (new.get("Description"), new.get("MaxSessionDuration")):
            with failing_as("Description", "Iam"):
                iam.update_role(RoleName=physical_id, Description=new.get("Description", ""),
                                MaxSessionDuration=int(new.get("MaxSessionDuration", 3600)))
        if old.get("PermissionsBoundary") != new.get("PermissionsBoundary"):
            with failing_as("PermissionsBoundary", "Iam"):
                if new.get("PermissionsBoundary"):
                    iam.put_role_permissions_boundary(RoleName=physical_id,
                                                      PermissionsBoundary=new["PermissionsBoundary"])
                else:
                    iam.delete_role_permissions_boundary(RoleName=physical_id)
        if old.get("Tags") != new.get("Tags"):
            with failing_as("Tags", "Iam"):
                gone = {t["Key"] for t in tags_list(old.get("Tags"))} - {t["Key"] for t in tags_list(new.get("Tags"))}
                if gone:
                    iam.untag_role(RoleName=physical_id, TagKeys=sorted(gone))
                if new.get("Tags"):
                    iam.tag_role(RoleName=physical_id, Tags=tags_list(new["Tags"]))
        self._policies(ctx, physical_id, old, new)
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        iam = ctx.client("iam")
        with deleting("NoSuchEntity", "Iam"):
            for arn in [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=physical_id)["AttachedPolicies"]]:
                iam.detach_role_policy(RoleName=physical_id, PolicyArn=arn)
            for pname in iam.list_role_policies(RoleName=physical_id)["PolicyNames"]:
                iam.delete_role_policy(RoleName=physical_id, PolicyName=pname)
            for prof in iam.list_instance_profiles_for_role(RoleName=physical_id)["InstanceProfiles"]:
                iam.remove_role_from_instance_profile(InstanceProfileName=prof["InstanceProfileName"],
                                                      RoleName=physical_id)
            iam.delete_role(RoleName=physical_id)


@provisioner
class ManagedPolicy(Provisioner):
    type = "AWS::IAM::ManagedPolicy"
    supported = frozenset({"ManagedPolicyName", "Description", "Path", "PolicyDocument", "Roles",
                           "Users", "Groups"})
    required = frozenset({"PolicyDocument"})
    attributes = ("PolicyArn",)

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        iam = ctx.client("iam")
        name = props.get("ManagedPolicyName") or ctx.physical_name(logical, 128)
        kwargs: dict[str, Any] = {"PolicyName": name, "Path": props.get("Path", "/"),
                                  "PolicyDocument": policy_json(props["PolicyDocument"])}
        if "Description" in props:
            kwargs["Description"] = props["Description"]
        with failing_as("PolicyDocument", "Iam"):
            arn = iam.create_policy(**kwargs)["Policy"]["Arn"]
        self._attach(ctx, arn, {}, props)
        return Created(arn, {"PolicyArn": arn})

    def _attach(self, ctx: ProvisionContext, arn: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        iam = ctx.client("iam")
        for key, attach, detach, arg in (
            ("Roles", iam.attach_role_policy, iam.detach_role_policy, "RoleName"),
            ("Users", iam.attach_user_policy, iam.detach_user_policy, "UserName"),
            ("Groups", iam.attach_group_policy, iam.detach_group_policy, "GroupName"),
        ):
            before, after = set(old.get(key) or []), set(new.get(key) or [])
            for name in sorted(after - before):
                with failing_as(key, "Iam"):
                    attach(**{arg: name, "PolicyArn": arn})
            for name in sorted(before - after):
                with failing_as(key, "Iam"):
                    detach(**{arg: name, "PolicyArn": arn})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        iam = ctx.client("iam")
        if old.get("PolicyDocument") != new.get("PolicyDocument"):
            with failing_as("PolicyDocument", "Iam"):
                versions = iam.list_policy_versions(PolicyArn=physical_id)["Versions"]
                if len(versions) >= 5:
                    oldest = sorted((v for v in versions if not v["IsDefaultVersion"]),
                                    key=lambda v: v["CreateDate"])[0]
                    iam.delete_policy_version(PolicyArn=physical_id, VersionId=oldest["VersionId"])
                iam.create_policy_version(PolicyArn=physical_id, SetAsDefault=True,
                                          PolicyDocument=policy_json(new["PolicyDocument"]))
        self._attach(ctx, physical_id, old, new)
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        iam = ctx.client("iam")
        with deleting("NoSuchEntity", "Iam"):
            ents = iam.list_entities_for_policy(PolicyArn=physical_id)
            for r in ents.get("PolicyRoles", []):
                iam.detach_role_policy(RoleName=r["RoleName"], PolicyArn=physical_id)
            for u in ents.get("PolicyUsers", []):
                iam.detach_user_policy(UserName=u["UserName"], PolicyArn=physical_id)
            for g in ents.get("PolicyGroups", []):
                iam.detach_group_policy(GroupName=g["GroupName"], PolicyArn=physical_id)
            for v in iam.list_policy_versions(PolicyArn=physical_id)["Versions"]:
                if not v["IsDefaultVersion"]:
                    iam.delete_policy_version(PolicyArn=physical_id, VersionId=v["VersionId"])
            iam.delete_policy(PolicyArn=physical_id)


@provisioner
class LogGroup(Provisioner):
    type = "AWS::Logs::LogGroup"
    supported = frozenset({"LogGroupName", "RetentionInDays", "KmsKeyId", "Tags"})
    attributes = ("Arn",)

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        logs = ctx.client("logs")
        name = props.get("LogGroupName") or ctx.physical_name(logical, 512)
        kwargs: dict[str, Any] = {"logGroupName": name}
        if "KmsKeyId" in props:
            kwargs["kmsKeyId"] = props["KmsKeyId"]
        if props.get("Tags"):
            kwargs["tags"] = {t["Key"]: t["Value"] for t in tags_list(props["Tags"])}
        with failing_as("LogGroupName", "CloudWatchLogs"):
            logs.create_log_group(**kwargs)
        if "RetentionInDays" in props:
            with failing_as("RetentionInDays", "CloudWatchLogs"):
                logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return Created(name, {"Arn": f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account_id}:log-group:{name}:*"})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        logs = ctx.client("logs")
        if old.get("RetentionInDays") != new.get("RetentionInDays"):
            with failing_as("RetentionInDays", "CloudWatchLogs"):
                if "RetentionInDays" in new:
                    logs.put_retention_policy(logGroupName=physical_id,
                                              retentionInDays=int(new["RetentionInDays"]))
                else:
                    logs.delete_retention_policy(logGroupName=physical_id)
        if old.get("KmsKeyId") != new.get("KmsKeyId"):
            with failing_as("KmsKeyId", "CloudWatchLogs"):
                if "KmsKeyId" in new:
                    logs.associate_kms_key(logGroupName=physical_id, kmsKeyId=new["KmsKeyId"])
                else:
                    logs.disassociate_kms_key(logGroupName=physical_id)
        if old.get("Tags") != new.get("Tags"):
            with failing_as("Tags", "CloudWatchLogs"):
                gone = {t["Key"] for t in tags_list(old.get("Tags"))} - {t["Key"] for t in tags_list(new.get("Tags"))}
                if gone:
                    logs.untag_log_group(logGroupName=physical_id, tags=sorted(gone))
                if new.get("Tags"):
                    logs.tag_log_group(logGroupName=physical_id,
                                       tags={t["Key"]: t["Value"] for t in tags_list(new["Tags"])})
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with deleting("ResourceNotFoundException", "CloudWatchLogs"):
            ctx.client("logs").delete_log_group(logGroupName=physical_id)
