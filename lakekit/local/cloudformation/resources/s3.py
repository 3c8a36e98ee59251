"""AWS::S3::Bucket and AWS::S3::BucketPolicy through the S3 API."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    error_code,
    failing_as,
    policy_json,
    provisioner,
    tags_list,
)
from lakekit.local.cloudformation.resources.s3_destinations import (
    failure_message,
    lambda_destination_problems,
)

__all__ = ["Bucket", "BucketPolicy"]


def _bucket_attrs(ctx: ProvisionContext, name: str) -> dict[str, Any]:
    suffix = "amazonaws.com"
    return {
        "Arn": f"arn:{ctx.partition}:s3:::{name}",
        "DomainName": f"{name}.s3.{suffix}",
        "RegionalDomainName": f"{name}.s3.{ctx.region}.{suffix}",
        "DualStackDomainName": f"{name}.s3.dualstack.{ctx.region}.{suffix}",
        "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.{suffix}",
    }


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule -> the S3 API's (different field names)."""
    out: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    tags = rule.get("TagFilters") or []
    prefix = rule.get("Prefix")
    size_gt, size_lt = rule.get("ObjectSizeGreaterThan"), rule.get("ObjectSizeLessThan")
    conds = sum(x is not None for x in (prefix, size_gt, size_lt)) + len(tags)
    if conds > 1:
        and_: dict[str, Any] = {}
        if prefix is not None:
            and_["Prefix"] = prefix
        if tags:
            and_["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
        if size_gt is not None:
            and_["ObjectSizeGreaterThan"] = int(size_gt)
        if size_lt is not None:
            and_["ObjectSizeLessThan"] = int(size_lt)
        out["Filter"] = {"And": and_}
    elif tags:
        out["Filter"] = {"Tag": {"Key": tags[0]["Key"], "Value": tags[0]["Value"]}}
    elif size_gt is not None:
        out["Filter"] = {"ObjectSizeGreaterThan": int(size_gt)}
    elif size_lt is not None:
        out["Filter"] = {"ObjectSizeLessThan": int(size_lt)}
    else:
        out["Filter"] = {"Prefix": prefix or ""}
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        out["Expiration"] = expiration
    nve = rule.get("NoncurrentVersionExpiration")
    if nve:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(nve["NoncurrentDays"])}
        if "NewerNoncurrentVersions" in nve:
            out["NoncurrentVersionExpiration"]["NewerNoncurrentVersions"] = int(nve["NewerNoncurrentVersions"])
    elif "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
    transitions = list(rule.get("Transitions") or [])
    if "Transition" in rule:
        transitions.append(rule["Transition"])
    if transitions:
        out["Transitions"] = [
            {k: v for k, v in {"Days": int(t["TransitionInDays"]) if "TransitionInDays" in t else None,
                               "Date": t.get("TransitionDate"),
                               "StorageClass": t["StorageClass"]}.items() if v is not None}
            for t in transitions]
    ncts = list(rule.get("NoncurrentVersionTransitions") or [])
    if ncts:
        out["NoncurrentVersionTransitions"] = [
            {"NoncurrentDays": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in ncts]
    return out


def _notification(cfg: dict[str, Any]) -> dict[str, Any]:
    def filt(item: dict[str, Any]) -> dict[str, Any]:
        rules = (item.get("Filter") or {}).get("S3Key", {}).get("Rules") or []
        return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]}
                                                   for r in rules]}}} if rules else {}

    out: dict[str, Any] = {}
    lambdas = [{"LambdaFunctionArn": c["Function"], "Events": [c["Event"]], **filt(c)}
               for c in cfg.get("LambdaConfigurations") or []]
    queues = [{"QueueArn": c["Queue"], "Events": [c["Event"]], **filt(c)}
              for c in cfg.get("QueueConfigurations") or []]
    topics = [{"TopicArn": c["Topic"], "Events": [c["Event"]], **filt(c)}
              for c in cfg.get("TopicConfigurations") or []]
    if lambdas:
        out["LambdaFunctionConfigurations"] = lambdas
    if queues:
        out["QueueConfigurations"] = queues
    if topics:
        out["TopicConfigurations"] = topics
    # EventBridgeEnabled is required; false means no delivery (the API's empty
    # EventBridgeConfiguration object is what switches it on).
    eb = cfg.get("EventBridgeConfiguration")
    if isinstance(eb, dict) and str(eb.get("EventBridgeEnabled")).lower() == "true":
        out["EventBridgeConfiguration"] = {}
    return out


@provisioner
class Bucket(Provisioner):
    type = "AWS::S3::Bucket"
    supported = frozenset({
        "BucketName", "BucketEncryption", "VersioningConfiguration",
        "PublicAccessBlockConfiguration", "OwnershipControls", "LifecycleConfiguration",
        "NotificationConfiguration", "Tags", "CorsConfiguration",
    })
    attributes = ("Arn", "DomainName", "RegionalDomainName", "DualStackDomainName", "WebsiteURL")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("BucketName") or ctx.physical_name(logical, 63, lower=True)
        s3 = ctx.client("s3")
        kwargs: dict[str, Any] = {"Bucket": name}
        if ctx.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        try:
            s3.head_bucket(Bucket=name)
            raise ResourceFailure(f"{name} already exists (Service: S3, Status Code: 409, Error "
                                  f"Code: BucketAlreadyExists). Pick another BucketName/Prefix or "
                                  f"delete the existing bucket.")
        except ClientError:
            pass
        with failing_as("BucketName", "S3"):
            s3.create_bucket(**kwargs)
        try:
            self._apply(ctx, name, {}, props)
        except ResourceFailure:
            try:
                s3.delete_bucket(Bucket=name)
            except ClientError:
                pass
            raise
        return Created(name, _bucket_attrs(ctx, name))

    def _apply(self, ctx: ProvisionContext, name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        s3 = ctx.client("s3")

        def changed(key: str) -> bool:
            return old.get(key) != new.get(key)

        if changed("OwnershipControls"):
            with failing_as("OwnershipControls", "S3"):
                if "OwnershipControls" in new:
                    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=new["OwnershipControls"])
                else:
                    s3.delete_bucket_ownership_controls(Bucket=name)
        if changed("PublicAccessBlockConfiguration"):
            with failing_as("PublicAccessBlockConfiguration", "S3"):
                if "PublicAccessBlockConfiguration" in new:
                    cfg = {k: bool(v) for k, v in new["PublicAccessBlockConfiguration"].items()}
                    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=cfg)
                else:
                    s3.delete_public_access_block(Bucket=name)
        if changed("BucketEncryption"):
            with failing_as("BucketEncryption", "S3"):
                if "BucketEncryption" in new:
                    rules = []
                    for r in new["BucketEncryption"]["ServerSideEncryptionConfiguration"]:
                        rule: dict[str, Any] = {}
                        if "ServerSideEncryptionByDefault" in r:
                            rule["ApplyServerSideEncryptionByDefault"] = r["ServerSideEncryptionByDefault"]
                        if "BucketKeyEnabled" in r:
                            rule["BucketKeyEnabled"] = bool(r["BucketKeyEnabled"])
                        rules.append(rule)
                    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
                else:
                    s3.delete_bucket_encryption(Bucket=name)
        if changed("VersioningConfiguration"):
            with failing_as("VersioningConfiguration", "S3"):
                status = (new.get("VersioningConfiguration") or {}).get("Status")
                if status is None and old.get("VersioningConfiguration"):
                    status = "Suspended"
                if status:
                    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        if changed("LifecycleConfiguration"):
            with failing_as("LifecycleConfiguration", "S3"):
                if "LifecycleConfiguration" in new:
                    rules = [_lifecycle_rule(r) for r in new["LifecycleConfiguration"]["Rules"]]
                    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
                else:
                    s3.delete_bucket_lifecycle(Bucket=name)
        if changed("CorsConfiguration"):
            with failing_as("CorsConfiguration", "S3"):
                if "CorsConfiguration" in new:
                    rules = []
                    for r in new["CorsConfiguration"]["CorsRules"]:
                        rule = {k: v for k, v in r.items() if k != "Id"}
                        if "Id" in r:
                            rule["ID"] = r["Id"]
                        if "MaxAge" in rule:
                            rule["MaxAgeSeconds"] = int(rule.pop("MaxAge"))
                        rules.append(rule)
                    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
                else:
                    s3.delete_bucket_cors(Bucket=name)
        if changed("Tags"):
            with failing_as("Tags", "S3"):
                tags = tags_list(new.get("Tags"))
                if tags:
                    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
                else:
                    s3.delete_bucket_tagging(Bucket=name)
        if changed("NotificationConfiguration"):
            cfg = _notification(new.get("NotificationConfiguration") or {})
            functions = [c["LambdaFunctionArn"] for c in cfg.get("LambdaFunctionConfigurations", [])]
            if functions:
                problems = lambda_destination_problems(ctx.service_client("lambda"),
                                                       f"arn:{ctx.partition}:s3:::{name}",
                                                       ctx.account_id, functions)
                if problems:
                    raise ResourceFailure(failure_message(name, ctx.account_id, problems))
            with failing_as("NotificationConfiguration", "S3"):
                s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=cfg)

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        self._apply(ctx, physical_id, old, new)
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        s3 = ctx.client("s3")
        try:
            s3.delete_bucket(Bucket=physical_id)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("NoSuchBucket", "404"):
                return
            if code == "BucketNotEmpty":
                raise ResourceFailure(
                    "Resource handler returned message: \"The bucket you tried to delete is not "
                    "empty. You must delete all versions in the bucket. (Service: S3, Status Code: "
                    f"409, Error Code: BucketNotEmpty)\" Empty s3://{physical_id} (all versions and "
                    "delete markers; lakekit.deploy.teardown() does it) and delete the stack again, "
                    "or set DeletionPolicy: Retain.") from None
            with failing_as(None, "S3"):
                raise


@provisioner
class BucketPolicy(Provisioner):
    type = "AWS::S3::BucketPolicy"
    supported = frozenset({"Bucket", "PolicyDocument"})
    required = frozenset({"Bucket", "PolicyDocument"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        with failing_as("PolicyDocument", "S3"):
            ctx.client("s3").put_bucket_policy(Bucket=props["Bucket"],
                                               Policy=policy_json(props["PolicyDocument"]))
        return Created(f"{ctx.stack_name}-{logical}-{props['Bucket']}"[:255], {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        with failing_as("PolicyDocument", "S3"):
            ctx.client("s3").put_bucket_policy(Bucket=new["Bucket"],
                                               Policy=policy_json(new["PolicyDocument"]))
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        try:
            ctx.client("s3").delete_bucket_policy(Bucket=props["Bucket"])
        except ClientError as exc:
            if error_code(exc) not in ("NoSuchBucket", "NoSuchBucketPolicy", "404"):
                with failing_as(None, "S3"):
                    raise
