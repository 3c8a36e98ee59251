"""AWS::Lambda::Function and AWS::Lambda::Permission through the Lambda API."""
from __future__ import annotations

import io
import random
import string
import zipfile
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
    provisioner,
    tags_list,
)

__all__ = ["Function", "Permission"]

_CONFIG_KEYS = ("Runtime", "Handler", "Role", "MemorySize", "Timeout", "Environment",
                "Description", "KmsKeyArn", "Architectures")


def _code(code: dict[str, Any], runtime: str | None) -> dict[str, Any]:
    if "ZipFile" in code:
        ext = "js" if (runtime or "").startswith("nodejs") else "py"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"index.{ext}", code["ZipFile"])
        return {"ZipFile": buf.getvalue()}
    if "ImageUri" in code:
        raise ResourceFailure("Property Code.ImageUri: container-image functions are not supported "
                              "by the local engine; use a zip (Code.S3Bucket/S3Key or ZipFile).")
    out = {"S3Bucket": code.get("S3Bucket"), "S3Key": code.get("S3Key")}
    if code.get("S3ObjectVersion"):
        out["S3ObjectVersion"] = code["S3ObjectVersion"]
    if not out["S3Bucket"] or not out["S3Key"]:
        raise ResourceFailure("Property Code: give S3Bucket and S3Key (or ZipFile).")
    return out


def _check_s3_code(ctx: ProvisionContext, code: dict[str, Any]) -> None:
    """AWS reads the zip at CreateFunction/UpdateFunctionCode; moto 5.2 accepts a missing key."""
    if "S3Bucket" not in code:
        return
    kwargs = {"Bucket": code["S3Bucket"], "Key": code["S3Key"]}
    if code.get("S3ObjectVersion"):
        kwargs["VersionId"] = code["S3ObjectVersion"]
    try:
        ctx.client("s3").head_object(**kwargs)
    except ClientError as exc:
        missing_bucket = error_code(exc) == "NoSuchBucket"
        what = ("NoSuchBucket. S3 Error Message: The specified bucket does not exist" if missing_bucket
                else "NoSuchKey. S3 Error Message: The specified key does not exist.")
        raise ResourceFailure(
            f'Property Code: Resource handler returned message: "Error occurred while GetObject. '
            f'S3 Error Code: {what}" (Service: Lambda, Status Code: 400, Error Code: '
            f"InvalidParameterValueException) Upload s3://{code['S3Bucket']}/{code['S3Key']} first "
            f"(lakekit.deploy.upload_assets()).") from None


def _config(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _CONFIG_KEYS:
        if key in props:
            out[key] = props[key]
    for key in ("MemorySize", "Timeout"):
        if key in out:
            out[key] = int(out[key])
    if "KmsKeyArn" in out:
        out["KMSKeyArn"] = out.pop("KmsKeyArn")
    return out


@provisioner
class Function(Provisioner):
    type = "AWS::Lambda::Function"
    supported = frozenset({"FunctionName", "Code", "Runtime", "Handler", "Role", "MemorySize",
                           "Timeout", "Environment", "Description", "KmsKeyArn", "Tags",
                           "Architectures", "ReservedConcurrentExecutions"})
    required = frozenset({"Code", "Role"})
    attributes = ("Arn",)

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        lam = ctx.client("lambda")
        name = props.get("FunctionName") or ctx.physical_name(logical, 64)
        code = _code(props["Code"], props.get("Runtime"))
        _check_s3_code(ctx, code)
        kwargs = {"FunctionName": name, "Code": code,
                  **_config(props)}
        if props.get("Tags"):
            kwargs["Tags"] = {t["Key"]: t["Value"] for t in tags_list(props["Tags"])}
        try:
            with failing_as(None, "Lambda"):
                fn = lam.create_function(**kwargs)
        except ResourceFailure as exc:
            msg = str(exc)
            prop = ("Role" if "role" in msg.lower() else
                    "Code" if ("GetObject" in msg or "S3" in msg or "zip" in msg.lower()) else None)
            raise ResourceFailure(f"Property {prop}: {msg}" if prop else msg) from None
        if "ReservedConcurrentExecutions" in props:
            with failing_as("ReservedConcurrentExecutions", "Lambda"):
                lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(
                    props["ReservedConcurrentExecutions"]))
        return Created(name, {"Arn": fn["FunctionArn"]})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        lam = ctx.client("lambda")
        if old.get("Code") != new.get("Code"):
            code = _code(new["Code"], new.get("Runtime"))
            _check_s3_code(ctx, code)
            with failing_as("Code", "Lambda"):
                lam.update_function_code(FunctionName=physical_id, **code)
        old_cfg, new_cfg = _config(old), _config(new)
        if old_cfg != new_cfg:
            if "Environment" not in new_cfg and "Environment" in old_cfg:
                new_cfg["Environment"] = {"Variables": {}}
            with failing_as("Environment" if old_cfg.get("Environment") != new_cfg.get("Environment")
                            else None, "Lambda"):
                lam.update_function_configuration(FunctionName=physical_id, **new_cfg)
        if old.get("ReservedConcurrentExecutions") != new.get("ReservedConcurrentExecutions"):
            with failing_as("ReservedConcurrentExecutions", "Lambda"):
                if "ReservedConcurrentExecutions" in new:
                    lam.put_function_concurrency(FunctionName=physical_id, ReservedConcurrentExecutions=int(
                        new["ReservedConcurrentExecutions"]))
                else:
                    lam.delete_function_concurrency(FunctionName=physical_id)
        if old.get("Tags") != new.get("Tags"):
            with failing_as("Tags", "Lambda"):
                gone = {t["Key"] for t in tags_list(old.get("Tags"))} - {t["Key"] for t in tags_list(new.get("Tags"))}
                if gone:
                    lam.untag_resource(Resource=attrs["Arn"], TagKeys=sorted(gone))
                if new.get("Tags"):
                    lam.tag_resource(Resource=attrs["Arn"],
                                     Tags={t["Key"]: t["Value"] for t in tags_list(new["Tags"])})
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with deleting("ResourceNotFoundException", "Lambda"):
            ctx.client("lambda").delete_function(FunctionName=physical_id)


@provisioner
class Permission(Provisioner):
    type = "AWS::Lambda::Permission"
    supported = frozenset({"Action", "FunctionName", "Principal", "SourceAccount", "SourceArn",
                           "EventSourceToken", "PrincipalOrgID", "FunctionUrlAuthType"})
    required = frozenset({"Action", "FunctionName", "Principal"})
    attributes = ()

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        sid = f"{ctx.stack_name}-{logical}-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=13))
        kwargs = {"FunctionName": props["FunctionName"], "StatementId": sid[:100],
                  "Action": props["Action"], "Principal": props["Principal"]}
        for key in ("SourceAccount", "SourceArn", "EventSourceToken", "PrincipalOrgID", "FunctionUrlAuthType"):
            if key in props:
                kwargs[key] = props[key]
        with failing_as("FunctionName", "Lambda"):
            ctx.client("lambda").add_permission(**kwargs)
        return Created(sid[:100], {})

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with deleting("ResourceNotFoundException", "Lambda"):
            ctx.client("lambda").remove_permission(FunctionName=props["FunctionName"], StatementId=physical_id)
