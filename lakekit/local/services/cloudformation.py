"""CloudFormation API executors (query protocol) over the local engine.

Every CloudFormation operation is answered here, so moto's own CloudFormation (which skips
Glue/Athena/Lake Formation resources and S3 settings while reporting success) is never
reached: operations the engine does not implement answer ``501 NotImplemented``.
Requests are decoded and responses encoded from botocore's service model, so boto3 and
the AWS CLI parse them exactly like AWS's. Every lookup is the caller's account and region
(:mod:`lakekit.local.cloudformation.stacks`): another region's stack "does not exist".
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
from typing import Any

import botocore.session

from lakekit.local.cloudformation import engine
from lakekit.local.cloudformation.engine import CallerContext, EngineError
from lakekit.local.cloudformation.stacks import export_key, exports_of
from lakekit.local.registry import (
    AwsError,
    AwsRequest,
    AwsResponse,
    operation,
    query_response,
    xml_escape,
)

__all__ = ["decode_params", "encode_result"]

_SERVICE = "cloudformation"


@functools.lru_cache(maxsize=1)
def _model():
    return botocore.session.get_session().get_service_model("cloudformation")


# ---------------------------------------------------------------- wire format
def decode_params(op_name: str, flat: dict[str, str]) -> dict[str, Any]:
    """Flattened query form (``Parameters.member.1.ParameterKey=...``) -> nested dict."""
    shape = _model().operation_model(op_name).input_shape
    if shape is None:
        return {}
    return _decode(shape, flat, "") or {}


def _decode(shape: Any, flat: dict[str, str], prefix: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = f"{prefix}.{name}" if prefix else name
            value = _decode(member, flat, key)
            if value is not None:
                out[name] = value
        return out or (None if prefix else {})
    if kind == "list":
        items = []
        i = 1
        while True:
            key = f"{prefix}.member.{i}"
            if not any(k == key or k.startswith(key + ".") for k in flat):
                break
            items.append(_decode(shape.member, flat, key))
            i += 1
        if not items and flat.get(prefix) == "":
            return []
        return items or None
    if kind == "map":
        out = {}
        i = 1
        while f"{prefix}.entry.{i}.key" in flat:
            out[flat[f"{prefix}.entry.{i}.key"]] = _decode(shape.value, flat, f"{prefix}.entry.{i}.value")
            i += 1
        return out or None
    if prefix not in flat:
        return None
    raw = flat[prefix]
    if kind == "boolean":
        return raw.lower() == "true"
    if kind in ("integer", "long"):
        return int(raw)
    return raw


def encode_result(op_name: str, result: dict[str, Any]) -> str:
    """A result dict -> the inner XML of ``<{Op}Result>`` following the output shape."""
    shape = _model().operation_model(op_name).output_shape
    if shape is None:
        return ""
    return "".join(_encode(member, result[name], name) for name, member in shape.members.items()
                   if result.get(name) is not None)


def _encode(shape: Any, value: Any, tag: str) -> str:
    kind = shape.type_name
    if kind == "structure":
        inner = "".join(_encode(m, value[n], n) for n, m in shape.members.items()
                        if isinstance(value, dict) and value.get(n) is not None)
        return f"<{tag}>{inner}</{tag}>"
    if kind == "list":
        inner = "".join(_encode(shape.member, v, "member") for v in value)
        return f"<{tag}>{inner}</{tag}>"
    if kind == "map":
        inner = "".join(f"<entry>{_encode(shape.key, k, 'key')}{_encode(shape.value, v, 'value')}</entry>"
                        for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>"
    if kind == "timestamp":
        if isinstance(value, (int, float)):
            value = _dt.datetime.fromtimestamp(value, _dt.UTC)
        if isinstance(value, _dt.datetime):
            value = value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return f"<{tag}>{xml_escape(value)}</{tag}>"
    if kind == "boolean":
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    return f"<{tag}>{xml_escape(value)}</{tag}>"


def _respond(req: AwsRequest, result: dict[str, Any] | None = None) -> AwsResponse:
    return query_response(req.operation, encode_result(req.operation, result or {}), req.request_id)


def _caller(req: AwsRequest) -> CallerContext:
    from lakekit.local import runtime

    return CallerContext(region=req.region, account_id=req.account_id,
                         access_key_id=req.access_key_id,
                         endpoint_url=req.endpoint_url or runtime.endpoint_url())


def _params(req: AwsRequest) -> dict[str, Any]:
    return decode_params(req.operation, {k: v for k, v in req.params.items()
                                         if k not in ("Action", "Version")})


def _guard(fn):
    @functools.wraps(fn)
    def wrapper(req: AwsRequest) -> AwsResponse:
        try:
            engine.recover()  # once per process: operations a restart cut short
            return fn(req, _params(req))
        except EngineError as exc:
            raise AwsError(exc.code, exc.message, exc.status) from None

    return wrapper


# ---------------------------------------------------------------- views
def _stack_view(stack: dict[str, Any]) -> dict[str, Any]:
    params = []
    for p in stack["Parameters"]:
        params.append({"ParameterKey": p["ParameterKey"],
                       "ParameterValue": "****" if p.get("NoEcho") else p["ParameterValue"]})
    view = {k: stack.get(k) for k in ("StackId", "StackName", "ChangeSetId", "Description",
                                      "CreationTime", "DeletionTime", "LastUpdatedTime",
                                      "StackStatus", "StackStatusReason", "DisableRollback",
                                      "Capabilities", "Outputs", "Tags",
                                      "EnableTerminationProtection")}
    view["Parameters"] = params
    view["NotificationARNs"] = []
    view["RollbackConfiguration"] = {}
    view["DriftInformation"] = {"StackDriftStatus": "NOT_CHECKED"}
    return view


def _resource_view(stack: dict[str, Any], rec: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    view = {
        "StackName": stack["StackName"], "StackId": stack["StackId"],
        "LogicalResourceId": rec["LogicalResourceId"], "PhysicalResourceId": rec.get("PhysicalResourceId") or None,
        "ResourceType": rec.get("ResourceType"), "Timestamp": rec.get("Timestamp"),
        "LastUpdatedTimestamp": rec.get("Timestamp"), "ResourceStatus": rec.get("ResourceStatus"),
        "ResourceStatusReason": rec.get("ResourceStatusReason"),
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
    }
    if detail and rec.get("Metadata") is not None:
        view["Metadata"] = json.dumps(rec["Metadata"])
    return view


def _visible_resources(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in stack["resources"].values()]


# ---------------------------------------------------------------- stacks
@operation(_SERVICE, "CreateStack")
@_guard
def create_stack(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    on_failure = p.get("OnFailure")
    stack = engine.create_stack(
        _caller(req), p.get("StackName", ""), p.get("TemplateBody"), p.get("TemplateURL"),
        p.get("Parameters") or [], p.get("Capabilities") or [], p.get("Tags") or [],
        bool(p.get("DisableRollback", False)), on_failure, p.get("ClientRequestToken"))
    return _respond(req, {"StackId": stack["StackId"]})


@operation(_SERVICE, "UpdateStack")
@_guard
def update_stack(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack = engine.update_stack(
        _caller(req), p.get("StackName", ""), p.get("TemplateBody"), p.get("TemplateURL"),
        bool(p.get("UsePreviousTemplate", False)), p.get("Parameters") or [],
        p.get("Capabilities") or [], p.get("Tags"), bool(p.get("DisableRollback", False)),
        p.get("ClientRequestToken"))
    return _respond(req, {"StackId": stack["StackId"]})


@operation(_SERVICE, "DeleteStack")
@_guard
def delete_stack(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    engine.delete_stack(_caller(req), p.get("StackName", ""), p.get("RetainResources"))
    return _respond(req)


@operation(_SERVICE, "DescribeStacks")
@_guard
def describe_stacks(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    name = p.get("StackName")
    if name:
        stack = engine.find_stack(req.account_id, req.region, name)
        if stack is None:
            raise EngineError("ValidationError", f"Stack with id {name} does not exist")
        stacks = [stack]
    else:
        stacks = engine.stacks_of(req.account_id, req.region)
    with engine._LOCK:
        views = [_stack_view(s) for s in stacks]
    return _respond(req, {"Stacks": views})


@operation(_SERVICE, "ListStacks")
@_guard
def list_stacks(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    wanted = set(p.get("StackStatusFilter") or [])
    out = []
    with engine._LOCK:
        for s in engine.stacks_of(req.account_id, req.region, include_deleted=True):
            if wanted and s["StackStatus"] not in wanted:
                continue
            out.append({k: s.get(k) for k in ("StackId", "StackName", "CreationTime", "LastUpdatedTime",
                                              "DeletionTime", "StackStatus", "StackStatusReason")}
                       | {"TemplateDescription": s.get("Description")})
    return _respond(req, {"StackSummaries": out})


def _stack_or_error(req: AwsRequest, name: str | None) -> dict[str, Any]:
    if not name:
        raise EngineError("ValidationError", "StackName is required.")
    stack = engine.find_stack(req.account_id, req.region, name)
    if stack is None:
        raise EngineError("ValidationError", f"Stack [{name}] does not exist")
    return stack


@operation(_SERVICE, "DescribeStackEvents")
@_guard
def describe_stack_events(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack = _stack_or_error(req, p.get("StackName"))
    with engine._LOCK:
        events = [dict(e) for e in reversed(stack["events"])]
    return _respond(req, {"StackEvents": events})


@operation(_SERVICE, "DescribeStackResources")
@_guard
def describe_stack_resources(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack = None
    if p.get("StackName"):
        stack = _stack_or_error(req, p["StackName"])
    elif p.get("PhysicalResourceId"):
        for s in engine.stacks_of(req.account_id, req.region):
            if any(r.get("PhysicalResourceId") == p["PhysicalResourceId"] for r in s["resources"].values()):
                stack = s
        if stack is None:
            raise EngineError("ValidationError", f"Stack for {p['PhysicalResourceId']} does not exist")
    else:
        raise EngineError("ValidationError", "Either StackName or PhysicalResourceId must be specified.")
    with engine._LOCK:
        items = [_resource_view(stack, r) for r in _visible_resources(stack)
                 if not p.get("LogicalResourceId") or r["LogicalResourceId"] == p["LogicalResourceId"]]
    return _respond(req, {"StackResources": items})


@operation(_SERVICE, "DescribeStackResource")
@_guard
def describe_stack_resource(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack = _stack_or_error(req, p.get("StackName"))
    rec = stack["resources"].get(p.get("LogicalResourceId", ""))
    if rec is None:
        raise EngineError("ValidationError", f"Resource {p.get('LogicalResourceId')} does not exist for "
                          f"stack {stack['StackName']}")
    with engine._LOCK:
        view = _resource_view(stack, rec, detail=True)
    return _respond(req, {"StackResourceDetail": view})


@operation(_SERVICE, "ListStackResources")
@_guard
def list_stack_resources(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack = _stack_or_error(req, p.get("StackName"))
    with engine._LOCK:
        items = [_resource_view(stack, r) for r in _visible_resources(stack)]
    return _respond(req, {"StackResourceSummaries": items})


@operation(_SERVICE, "GetTemplate")
@_guard
def get_template(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    if p.get("ChangeSetName"):
        _, cs = engine.find_change_set(req.account_id, req.region, p["ChangeSetName"], p.get("StackName"))
        body = cs["TemplateBody"]
    else:
        stack = _stack_or_error(req, p.get("StackName"))
        body = stack["TemplateBody"]
    return _respond(req, {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]})


@operation(_SERVICE, "ValidateTemplate")
@_guard
def validate_template(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    out = engine.validate_template(_caller(req), p.get("TemplateBody"), p.get("TemplateURL"))
    params = [{k: v for k, v in x.items() if k in ("ParameterKey", "DefaultValue", "NoEcho", "Description")}
              for x in out["Parameters"]]
    return _respond(req, {"Parameters": params, "Description": out.get("Description"),
                          "Capabilities": out["Capabilities"], "CapabilitiesReason": out.get("CapabilitiesReason"),
                          "DeclaredTransforms": []})


@operation(_SERVICE, "GetTemplateSummary")
@_guard
def get_template_summary(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    body, url = p.get("TemplateBody"), p.get("TemplateURL")
    if p.get("StackName"):
        body, url = _stack_or_error(req, p["StackName"])["TemplateBody"], None
    out = engine.validate_template(_caller(req), body, url)
    return _respond(req, out)


@operation(_SERVICE, "ListExports")
@_guard
def list_exports(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    with engine._LOCK:
        exports = [dict(e) for e in exports_of(req.account_id, req.region)]
    return _respond(req, {"Exports": exports})


@operation(_SERVICE, "ListImports")
@_guard
def list_imports(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    name = p.get("ExportName", "")
    if export_key(req.account_id, req.region, name) not in engine.EXPORTS:
        raise EngineError("ValidationError", f"Export '{name}' does not exist.")
    users = [s["StackName"] for s in engine.stacks_of(req.account_id, req.region)
             if name in s.get("imports", [])]
    return _respond(req, {"Imports": users})


@operation(_SERVICE, "UpdateTerminationProtection")
@_guard
def update_termination_protection(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack = _stack_or_error(req, p.get("StackName"))
    with engine._mutating():
        stack["EnableTerminationProtection"] = bool(p.get("EnableTerminationProtection"))
    return _respond(req, {"StackId": stack["StackId"]})


# ---------------------------------------------------------------- change sets
@operation(_SERVICE, "CreateChangeSet")
@_guard
def create_change_set(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    cs = engine.create_change_set(
        _caller(req), p.get("StackName", ""), p.get("ChangeSetName", ""), p.get("TemplateBody"),
        p.get("TemplateURL"), bool(p.get("UsePreviousTemplate", False)), p.get("Parameters") or [],
        p.get("Capabilities") or [], p.get("ChangeSetType") or "UPDATE", p.get("Description"),
        p.get("Tags"))
    return _respond(req, {"Id": cs["ChangeSetId"], "StackId": cs["StackId"]})


@operation(_SERVICE, "DescribeChangeSet")
@_guard
def describe_change_set(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack, cs = engine.find_change_set(req.account_id, req.region, p.get("ChangeSetName", ""),
                                       p.get("StackName"))
    view = {k: cs.get(k) for k in ("ChangeSetName", "ChangeSetId", "StackId", "StackName", "Description",
                                   "CreationTime", "ExecutionStatus", "Status", "StatusReason",
                                   "Capabilities", "Tags", "Changes")}
    view["Parameters"] = [{"ParameterKey": x["ParameterKey"],
                           "ParameterValue": "****" if x.get("NoEcho") else x["ParameterValue"]}
                          for x in cs["Parameters"]]
    view["NotificationARNs"] = []
    return _respond(req, view)


@operation(_SERVICE, "ExecuteChangeSet")
@_guard
def execute_change_set(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    engine.execute_change_set(_caller(req), p.get("ChangeSetName", ""), p.get("StackName"),
                              bool(p.get("DisableRollback", False)))
    return _respond(req)


@operation(_SERVICE, "DeleteChangeSet")
@_guard
def delete_change_set(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    engine.delete_change_set(req.account_id, req.region, p.get("ChangeSetName", ""), p.get("StackName"))
    return _respond(req)


@operation(_SERVICE, "ListChangeSets")
@_guard
def list_change_sets(req: AwsRequest, p: dict[str, Any]) -> AwsResponse:
    stack = engine.find_stack(req.account_id, req.region, p.get("StackName", ""), include_deleted=True)
    if stack is None:
        raise EngineError("ValidationError", f"Stack [{p.get('StackName')}] does not exist")
    items = [{k: cs.get(k) for k in ("StackId", "StackName", "ChangeSetId", "ChangeSetName",
                                     "ExecutionStatus", "Status", "StatusReason", "CreationTime",
                                     "Description")} for cs in stack["changesets"].values()]
    return _respond(req, {"Summaries": items})


# ---------------------------------------------------------------- everything else
def _not_implemented(req: AwsRequest) -> AwsResponse:
    raise AwsError(
        "NotImplemented",
        f"The local CloudFormation engine does not implement {req.operation}. It works on real "
        f"AWS (LAKEKIT_TARGET=aws); locally use Create/Update/Delete/Describe stacks, change sets, "
        f"ValidateTemplate, GetTemplate(Summary), ListExports/ListImports.",
        501, sender=False)


def _register_rest() -> None:
    from lakekit.local.registry import REGISTRY

    for op_name in _model().operation_names:
        if REGISTRY.executor_for(_SERVICE, op_name) is None:
            operation(_SERVICE, op_name)(_not_implemented)


_register_rest()
