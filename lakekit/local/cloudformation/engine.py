"""The local CloudFormation engine: stacks, change sets, exports; create/update/delete/rollback.

State lives in :mod:`lakekit.local.cloudformation.stacks` (persisted, scoped by account and
region; each stack operation is a run of its ``RunStore``), so stacks survive endpoint restarts
and a restart mid-operation leaves the stack as AWS leaves a failed one (a create rolls back).
Stack operations run on a worker and record events like AWS; ``Describe*`` reflect progress. Each resource goes through its provisioner
(:mod:`lakekit.local.cloudformation.resources`), i.e. real API calls to the endpoint.

Example (what the CloudFormation executors do)::

    stack = create_stack(request_ctx, "demo", body, [], ["CAPABILITY_NAMED_IAM"])
    # -> returns at once; a thread walks CREATE_IN_PROGRESS -> CREATE_COMPLETE
"""
from __future__ import annotations

import copy
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lakekit.local.cloudformation import stacks as _stacks
from lakekit.local.cloudformation.intrinsics import (
    NO_VALUE,
    Context,
    Resolver,
    TemplateError,
    parse_template,
    references,
)
from lakekit.local.cloudformation.resources.base import (
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    get_provisioner,
)
from lakekit.local.cloudformation.stacks import (
    EXPORTS,
    RUNS,
    STACKS,
    export_key,
    export_value,
    stacks_of,
)
from lakekit.local.runs import Control

__all__ = [
    "STACKS",
    "EXPORTS",
    "CallerContext",
    "EngineError",
    "create_stack",
    "update_stack",
    "delete_stack",
    "find_stack",
    "validate_template",
    "create_change_set",
    "execute_change_set",
    "find_change_set",
    "delete_change_set",
    "recover",
    "stacks_of",
    "wait_idle",
]

log = logging.getLogger("lakekit.local.cloudformation")

_LOCK = RUNS.lock
_RESOURCE_DELAY_S = min(float(os.environ.get("LAKEKIT_CFN_RESOURCE_DELAY_S", "0") or 0), 60.0)
"""Seconds each resource creation waits first (at most 60): slows a deploy to watch it."""
MAX_BODY = 51_200
_NAME_RE = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")
_UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
              "IMPORT_ROLLBACK_COMPLETE"}
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName", "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::KMS::Alias": "AliasName",
    "AWS::Glue::Job": "Name", "AWS::Glue::Crawler": "Name", "AWS::Glue::Trigger": "Name",
    "AWS::Glue::SecurityConfiguration": "Name", "AWS::Athena::WorkGroup": "Name",
    "AWS::LakeFormation::DataCellsFilter": "Name", "AWS::LakeFormation::Tag": "TagKey",
}


class EngineError(Exception):
    """A synchronous API error (code, message, status) raised to the caller."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class CallerContext:
    region: str
    account_id: str
    access_key_id: str
    endpoint_url: str


def _now() -> float:
    return time.time()


@contextmanager
def _mutating() -> Iterator[None]:
    """Hold the gateway's shared state lock (snapshot consistency) and our own lock."""
    from lakekit.local import runtime

    with runtime.state_lock().shared():
        with _LOCK:
            yield


# ---------------------------------------------------------------- lookup
_RECOVERED = False


def recover() -> None:
    """Once per process, before the first stack is read: operations a restart cut short end as
    AWS ends a failed one (:func:`lakekit.local.cloudformation.stacks.restart_status`); an
    interrupted create with rollback enabled rolls back on a worker now."""
    global _RECOVERED
    if _RECOVERED:
        return
    from lakekit.local import runtime

    with _mutating():
        if _RECOVERED:
            return
        _stacks.adopt_legacy()
        lost = RUNS.recover()
        _RECOVERED = True
    endpoint = runtime.endpoint_url()
    for stack in lost:
        if stack["StackStatus"] == "ROLLBACK_IN_PROGRESS":
            if endpoint:  # the endpoint may listen elsewhere now
                stack["caller"]["endpoint_url"] = endpoint
            _start(stack, _rollback_create, stack, _stored_deps(stack))


def find_stack(account: str, region: str, name_or_id: str, *,
               include_deleted: bool = False) -> dict[str, Any] | None:
    """The caller's stack of this region by name or StackId (None for another scope's)."""
    recover()
    return _stacks.find_stack(account, region, name_or_id, include_deleted=include_deleted)


def wait_idle(stack: dict[str, Any], timeout: float = 60.0) -> str:
    """Block until the stack's operation ended (inside the endpoint process); its status."""
    return RUNS.wait(stack["_account"], stack["_region"], stack["StackId"], timeout)


# ---------------------------------------------------------------- templates
def load_template(caller: CallerContext, body: str | None, url: str | None) -> tuple[str, dict[str, Any]]:
    if body is None and url:
        body = _fetch_template_url(caller, url)
    if body is None:
        raise EngineError("ValidationError", "Either Template URL or Template Body must be specified.")
    if len(body.encode()) > MAX_BODY:
        raise EngineError("ValidationError",
                          f"1 validation error detected: Value '{body[:20]}...' at 'templateBody' failed "
                          f"to satisfy constraint: Member must have length less than or equal to "
                          f"{MAX_BODY}. Upload the template to S3 and pass TemplateURL.")
    try:
        return body, parse_template(body)
    except TemplateError as exc:
        raise EngineError("ValidationError", str(exc)) from None


def _fetch_template_url(caller: CallerContext, url: str) -> str:
    from urllib.parse import urlparse

    from botocore.exceptions import ClientError

    from lakekit.local._clients import endpoint_client

    u = urlparse(url)
    host, path = u.netloc.split(":")[0], u.path.lstrip("/")
    if u.scheme == "s3":
        bucket, key = host, path
    elif ".s3" in host and not host.startswith("s3"):
        bucket, key = host.split(".s3")[0], path
    else:
        bucket, _, key = path.partition("/")
    try:
        s3 = endpoint_client(caller.endpoint_url, "s3", caller.region, caller.access_key_id)
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except ClientError as exc:
        raise EngineError("ValidationError", f"TemplateURL must reference a valid S3 object to which "
                          f"you have access ({url}: {exc.response['Error'].get('Code')}).") from None


def _check_parameter(name: str, decl: dict[str, Any], value: str) -> Any:
    ptype = decl.get("Type", "String")
    desc = decl.get("ConstraintDescription")

    def fail(msg: str) -> None:
        raise EngineError("ValidationError", f"Parameter '{name}' {msg}" if not desc else
                          f"Parameter {name} failed to satisfy constraint: {desc}")

    if ptype.startswith("AWS::SSM::"):
        raise EngineError("ValidationError", f"Parameter '{name}': type {ptype} (SSM parameters) is "
                          "not supported by the local engine; pass the value as a String parameter.")
    is_list = ptype.startswith("List<") or ptype == "CommaDelimitedList"
    items = [v.strip() for v in value.split(",")] if is_list else [value]
    numeric = ptype in ("Number", "List<Number>")
    for item in items:
        if numeric:
            try:
                num = float(item)
            except ValueError:
                raise EngineError("ValidationError", f"Parameter '{name}' must be a number.") from None
            if "MinValue" in decl and num < float(decl["MinValue"]):
                fail(f"must be a number not less than {decl['MinValue']}")
            if "MaxValue" in decl and num > float(decl["MaxValue"]):
                fail(f"must be a number not greater than {decl['MaxValue']}")
        if "AllowedValues" in decl and item not in [str(v) for v in decl["AllowedValues"]]:
            fail("must be one of AllowedValues")
        if "AllowedPattern" in decl and not re.fullmatch(str(decl["AllowedPattern"]), item):
            fail(f"must match pattern {decl['AllowedPattern']}")
        if "MinLength" in decl and len(item) < int(decl["MinLength"]):
            fail(f"must contain at least {decl['MinLength']} characters")
        if "MaxLength" in decl and len(item) > int(decl["MaxLength"]):
            fail(f"must contain at most {decl['MaxLength']} characters")
    return items if is_list else value


def resolve_parameters(template: dict[str, Any], given: list[dict[str, Any]],
                       previous: dict[str, str] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Template parameter values for Ref, and the DescribeStacks ``Parameters`` list."""
    decls = template.get("Parameters") or {}
    given_map: dict[str, str] = {}
    for p in given:
        key = p.get("ParameterKey")
        if key not in decls:
            raise EngineError("ValidationError", f"Parameters: [{key}] do not exist in the template")
        if str(p.get("UsePreviousValue", "")).lower() == "true":
            if previous is None or key not in previous:
                raise EngineError("ValidationError", f"Invalid input for parameter key {key}. Cannot "
                                  "specify usePreviousValue as true for a parameter key not in the "
                                  "previous template")
            given_map[key] = previous[key]
        else:
            given_map[key] = str(p.get("ParameterValue", ""))
    values: dict[str, Any] = {}
    listing: list[dict[str, Any]] = []
    missing = []
    for name, decl in decls.items():
        if name in given_map:
            raw = given_map[name]
        elif "Default" in decl:
            d = decl["Default"]
            raw = ",".join(str(x) for x in d) if isinstance(d, list) else str(d)
        else:
            missing.append(name)
            continue
        values[name] = _check_parameter(name, decl, raw)
        listing.append({"ParameterKey": name, "ParameterValue": raw,
                        "NoEcho": str(decl.get("NoEcho", "false")).lower() == "true"})
    if missing:
        raise EngineError("ValidationError", f"Parameters: [{', '.join(missing)}] must have values")
    return values, listing


def required_capabilities(template: dict[str, Any], conditions: Resolver | None = None) -> tuple[list[str], str]:
    iam = [(n, r) for n, r in (template.get("Resources") or {}).items()
           if str(r.get("Type", "")).startswith("AWS::IAM::")]
    if not iam:
        return [], ""
    named = [n for n, r in iam if any(k in (r.get("Properties") or {}) for k in
                                      ("RoleName", "ManagedPolicyName", "UserName", "GroupName",
                                       "InstanceProfileName"))]
    if named:
        return ["CAPABILITY_NAMED_IAM"], f"The following resource(s) require capabilities: [{', '.join(sorted({template['Resources'][n]['Type'] for n in named}))}]"
    return ["CAPABILITY_IAM"], f"The following resource(s) require capabilities: [{', '.join(sorted({r['Type'] for _, r in iam}))}]"


def _check_capabilities(template: dict[str, Any], given: list[str]) -> None:
    needed, _ = required_capabilities(template)
    if not needed:
        return
    if needed == ["CAPABILITY_NAMED_IAM"] and "CAPABILITY_NAMED_IAM" not in given:
        raise EngineError("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_NAMED_IAM]")
    if needed == ["CAPABILITY_IAM"] and not {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} & set(given):
        raise EngineError("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]")


def _check_structure(template: dict[str, Any]) -> None:
    if "Rules" in template:
        raise EngineError("ValidationError", "Template Rules are not evaluated by the local engine: "
                          "move the checks into parameter constraints (AllowedValues/AllowedPattern).")
    resources = template["Resources"]
    params = template.get("Parameters") or {}
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    unknown = []
    for logical, res in resources.items():
        if not isinstance(res, dict) or "Type" not in res:
            raise EngineError("ValidationError", f"Template format error: [/Resources/{logical}] "
                              "Every Resources object must contain a Type member.")
        rtype = res["Type"]
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            continue
        try:
            PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", rtype)
        except Exception:
            unknown.append(rtype)
    if unknown:
        raise EngineError("ValidationError", f"Template format error: Unrecognized resource types: "
                          f"[{', '.join(sorted(set(unknown)))}]")
    names = set(resources) | set(params)
    for res in resources.values():
        refs = references({"p": res.get("Properties"), "c": res.get("Metadata")})
        deps = res.get("DependsOn") or []
        deps = [deps] if isinstance(deps, str) else deps
        bad = sorted((refs | set(deps)) - names)
        if bad:
            raise EngineError("ValidationError", f"Template format error: Unresolved resource "
                              f"dependencies [{', '.join(bad)}] in the Resources block of the template")
        if "Condition" in res and res["Condition"] not in (template.get("Conditions") or {}):
            raise EngineError("ValidationError", f"Template format error: Unresolved dependencies "
                              f"[{res['Condition']}]. Cannot reference resources in the Conditions block")
    for out in (template.get("Outputs") or {}).values():
        bad = sorted(references(out) - names)
        if bad:
            raise EngineError("ValidationError", f"Template format error: Unresolved resource "
                              f"dependencies [{', '.join(bad)}] in the Outputs block of the template")


@dataclass
class _Plan:
    template: dict[str, Any]
    values: dict[str, Any]
    listing: list[dict[str, Any]]
    resolver: Resolver
    active: list[str]
    deps: dict[str, set[str]]
    order: list[str]


def _plan(caller: CallerContext, template: dict[str, Any], values: dict[str, Any],
          listing: list[dict[str, Any]], stack_name: str, stack_id: str,
          resources: dict[str, dict[str, Any]] | None = None) -> _Plan:
    ctx = Context(account_id=caller.account_id, region=caller.region, stack_name=stack_name,
                  stack_id=stack_id, parameters=values, mappings=template.get("Mappings") or {},
                  conditions=template.get("Conditions") or {},
                  resources=resources if resources is not None else {},
                  exports=lambda name: export_value(caller.account_id, caller.region, name),
                  template_resources=template["Resources"])
    resolver = Resolver(ctx)
    try:
        for cname in ctx.conditions:
            resolver.condition(cname)
        active = [n for n, r in template["Resources"].items()
                  if "Condition" not in r or resolver.condition(r["Condition"])]
    except TemplateError as exc:
        raise EngineError("ValidationError", str(exc)) from None
    deps: dict[str, set[str]] = {}
    for name in active:
        res = template["Resources"][name]
        found = references(res.get("Properties") or {}, resolver.condition)
        depends = res.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else list(depends)
        for d in depends:
            if d not in active:
                raise EngineError("ValidationError", f"Template format error: Unresolved resource "
                                  f"dependencies [{d}] in the Resources block of the template")
        deps[name] = {d for d in found | set(depends) if d in template["Resources"]}
        inactive = sorted(d for d in deps[name] if d not in active)
        if inactive:
            raise EngineError("ValidationError", f"Template format error: Unresolved resource "
                              f"dependencies [{', '.join(inactive)}] in the Resources block of the "
                              f"template (their Condition is false)")
    return _Plan(template, values, listing, resolver, active, deps, _toposort(active, deps))


def _toposort(active: list[str], deps: dict[str, set[str]]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    remaining = list(active)
    while remaining:
        ready = [n for n in remaining if deps[n] <= done]
        if not ready:
            cycle = _find_cycle(remaining, deps)
            raise EngineError("ValidationError", f"Circular dependency between resources: [{', '.join(cycle)}]")
        for n in ready:
            order.append(n)
            done.add(n)
        remaining = [n for n in remaining if n not in done]
    return order


def _find_cycle(nodes: list[str], deps: dict[str, set[str]]) -> list[str]:
    return sorted(n for n in nodes if deps[n] & set(nodes))


def validate_template(caller: CallerContext, body: str | None, url: str | None) -> dict[str, Any]:
    _, template = load_template(caller, body, url)
    _check_structure(template)
    caps, reason = required_capabilities(template)
    params = []
    for name, decl in (template.get("Parameters") or {}).items():
        item = {"ParameterKey": name, "NoEcho": str(decl.get("NoEcho", "false")).lower() == "true"}
        if "Default" in decl:
            item["DefaultValue"] = str(decl["Default"])
        if "Description" in decl:
            item["Description"] = decl["Description"]
        if "Type" in decl:
            item["ParameterType"] = decl["Type"]
        if "AllowedValues" in decl:
            item["ParameterConstraints"] = {"AllowedValues": [str(v) for v in decl["AllowedValues"]]}
        params.append(item)
    out: dict[str, Any] = {"Parameters": params, "Capabilities": caps, "DeclaredTransforms": []}
    if reason:
        out["CapabilitiesReason"] = reason
    if "Description" in template:
        out["Description"] = template["Description"]
    out["ResourceTypes"] = sorted({r["Type"] for r in template["Resources"].values()})
    out["Version"] = str(template.get("AWSTemplateFormatVersion", "2010-09-09"))
    if "Metadata" in template:
        out["Metadata"] = json.dumps(template["Metadata"])
    return out


# ---------------------------------------------------------------- events
def _event(stack: dict[str, Any], logical: str, rtype: str, status: str, reason: str = "",
           physical: str = "", props: Any = None) -> None:
    ev = {
        "StackId": stack["StackId"], "EventId": str(uuid.uuid4()), "StackName": stack["StackName"],
        "LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": rtype,
        "Timestamp": _now(), "ResourceStatus": status,
    }
    if reason:
        ev["ResourceStatusReason"] = reason
    if props is not None:
        ev["ResourceProperties"] = json.dumps(props)
    if stack.get("ClientRequestToken"):
        ev["ClientRequestToken"] = stack["ClientRequestToken"]
    with _mutating():
        stack["events"].append(ev)


def _stack_status(stack: dict[str, Any], status: str, reason: str = "", *, reopen: bool = False) -> None:
    """The stack's next status (validated by its lifecycle); ``reopen`` starts a new operation."""
    with _mutating():
        RUNS.transition(stack, status, reopen=reopen)
        if reason:
            stack["StackStatusReason"] = reason
        else:
            stack.pop("StackStatusReason", None)
    _event(stack, stack["StackName"], "AWS::CloudFormation::Stack", status, reason, stack["StackId"])


def _set_resource(stack: dict[str, Any], logical: str, **fields: Any) -> None:
    with _mutating():
        rec = stack["resources"].setdefault(logical, {"LogicalResourceId": logical})
        rec.update(fields)
        rec["Timestamp"] = _now()


# ---------------------------------------------------------------- operations
def _new_stack(caller: CallerContext, name: str, body: str, template: dict[str, Any],
               listing: list[dict[str, Any]], capabilities: list[str], tags: list[dict[str, str]],
               disable_rollback: bool, on_failure: str, token: str | None, status: str) -> dict[str, Any]:
    stack_id = (f"arn:aws:cloudformation:{caller.region}:{caller.account_id}:stack/{name}/"
                f"{uuid.uuid4()}")
    return {
        "StackId": stack_id, "StackName": name, "Description": template.get("Description"),
        "Parameters": listing, "CreationTime": _now(), "StackStatus": status,
        "DisableRollback": disable_rollback, "OnFailure": on_failure,
        "Capabilities": list(capabilities), "Tags": list(tags), "Outputs": [],
        "TemplateBody": body, "template": template, "resources": {}, "events": [],
        "changesets": {}, "imports": [], "ClientRequestToken": token,
        "caller": caller.__dict__.copy(), "EnableTerminationProtection": False,
    }


def create_stack(caller: CallerContext, name: str, body: str | None, url: str | None,
                 parameters: list[dict[str, Any]], capabilities: list[str],
                 tags: list[dict[str, str]] | None = None, disable_rollback: bool = False,
                 on_failure: str | None = None, token: str | None = None) -> dict[str, Any]:
    if not _NAME_RE.match(name or ""):
        raise EngineError("ValidationError", f"1 validation error detected: Value '{name}' at "
                          "'stackName' failed to satisfy constraint: Member must satisfy regular "
                          "expression pattern: [a-zA-Z][-a-zA-Z0-9]*")
    body, template = load_template(caller, body, url)
    with _LOCK:
        if find_stack(caller.account_id, caller.region, name) is not None:
            raise EngineError("AlreadyExistsException", f"Stack [{name}] already exists")
    _check_structure(template)
    values, listing = resolve_parameters(template, parameters)
    _check_capabilities(template, capabilities)
    if on_failure and disable_rollback:
        raise EngineError("ValidationError", "You cannot specify both DisableRollback and OnFailure.")
    on_failure = on_failure or ("DO_NOTHING" if disable_rollback else "ROLLBACK")
    stack = _new_stack(caller, name, body, template, listing, capabilities, tags or [],
                       on_failure == "DO_NOTHING", on_failure, token, "CREATE_IN_PROGRESS")
    plan = _plan(caller, template, values, listing, name, stack["StackId"])
    with _mutating():
        RUNS.add(caller.account_id, caller.region, stack["StackId"], stack, control=False)
    _event(stack, name, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated",
           stack["StackId"])
    _start(stack, _run_create, stack, plan)
    return stack


def _start(stack: dict[str, Any], fn: Any, *args: Any) -> None:
    """Run the stack operation ``fn(*args)`` on a worker of :data:`RUNS`."""
    def run(control: Control) -> None:
        try:
            fn(*args)
        except Exception as exc:  # an engine bug must still end the operation visibly
            log.exception("stack operation failed")
            status = stack["StackStatus"]
            final = _stacks.FAILED_STATUS.get(status, status)
            _stack_status(stack, final, f"Internal error of the local CloudFormation engine: {exc!r}. "
                          "See the endpoint log (lakekit local status).")

    RUNS.launch(stack["_account"], stack["_region"], stack["StackId"], run)


def _pctx(stack: dict[str, Any]) -> ProvisionContext:
    c = stack["caller"]
    return ProvisionContext(region=c["region"], account_id=c["account_id"],
                            access_key_id=c["access_key_id"], endpoint_url=c["endpoint_url"],
                            stack_name=stack["StackName"], stack_id=stack["StackId"])


def _resolved_props(plan: _Plan, logical: str) -> dict[str, Any]:
    res = plan.template["Resources"][logical]
    try:
        props = plan.resolver.resolve(res.get("Properties") or {})
    except TemplateError as exc:
        raise ResourceFailure(str(exc)) from None
    return props


def _provisioner(rtype: str, logical: str) -> Provisioner:
    prov = get_provisioner(rtype)
    if prov is None:
        from lakekit.local.cloudformation.resources import supported_types

        raise ResourceFailure(
            f"Resource type {rtype} ({logical}) is not supported by the local CloudFormation "
            f"engine (supported: {', '.join(supported_types())}). Remove it, or deploy to AWS "
            f"(LAKEKIT_TARGET=aws); file an issue to add it.")
    return prov


def _create_one(stack: dict[str, Any], plan: _Plan, logical: str, pctx: ProvisionContext) -> None:
    res = plan.template["Resources"][logical]
    rtype = res["Type"]
    _event(stack, logical, rtype, "CREATE_IN_PROGRESS")
    _set_resource(stack, logical, ResourceType=rtype, ResourceStatus="CREATE_IN_PROGRESS",
                  PhysicalResourceId="")
    if _RESOURCE_DELAY_S:  # tests and demos: watch a deploy in flight (a restart mid-create)
        time.sleep(_RESOURCE_DELAY_S)
    props = _resolved_props(plan, logical)
    prov = _provisioner(rtype, logical)
    prov.validate(logical, props)
    created = prov.create(pctx, logical, props)
    _event(stack, logical, rtype, "CREATE_IN_PROGRESS", "Resource creation Initiated",
           created.physical_id, props)
    _set_resource(stack, logical, PhysicalResourceId=created.physical_id, props=props,
                  attrs=created.attrs, ResourceStatus="CREATE_COMPLETE",
                  DeletionPolicy=res.get("DeletionPolicy", "Delete"),
                  UpdateReplacePolicy=res.get("UpdateReplacePolicy", "Delete"),
                  Metadata=res.get("Metadata"))
    with _LOCK:
        plan.resolver.ctx.resources[logical] = {"ref": created.physical_id, "attrs": created.attrs,
                                                "type": rtype}
    _event(stack, logical, rtype, "CREATE_COMPLETE", "", created.physical_id, props)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ResourceFailure):
        return str(exc)
    log.exception("provisioner error")
    return (f"Internal error of the local CloudFormation engine: {exc!r}. See the endpoint log "
            "(lakekit local status) and file an issue.")


def _fail_resource(stack: dict[str, Any], logical: str, rtype: str, status: str, reason: str) -> None:
    physical = stack["resources"].get(logical, {}).get("PhysicalResourceId", "")
    _set_resource(stack, logical, ResourceType=rtype, ResourceStatus=status,
                  ResourceStatusReason=reason)
    _event(stack, logical, rtype, status, reason, physical)


def _outputs(stack: dict[str, Any], plan: _Plan) -> list[dict[str, Any]]:
    outs = []
    for name, out in (plan.template.get("Outputs") or {}).items():
        if "Condition" in out and not plan.resolver.condition(out["Condition"]):
            continue
        value = plan.resolver.resolve(out.get("Value"))
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        item: dict[str, Any] = {"OutputKey": name, "OutputValue": str(value)}
        if "Description" in out:
            item["Description"] = out["Description"]
        if "Export" in out:
            item["ExportName"] = str(plan.resolver.resolve(out["Export"].get("Name")))
        outs.append(item)
    return outs


def _drop_exports(stack: dict[str, Any]) -> None:
    for entry in _stacks.exports_of(stack["_account"], stack["_region"]):
        if entry["ExportingStackId"] == stack["StackId"]:
            EXPORTS.pop(export_key(stack["_account"], stack["_region"], entry["Name"]), None)


def _publish_outputs(stack: dict[str, Any], outs: list[dict[str, Any]]) -> None:
    with _mutating():
        _drop_exports(stack)
        for o in outs:
            if "ExportName" in o:
                EXPORTS[export_key(stack["_account"], stack["_region"], o["ExportName"])] = {"ExportingStackId": stack["StackId"],
                                            "Name": o["ExportName"], "Value": o["OutputValue"]}
        stack["Outputs"] = outs


def _check_exports(stack: dict[str, Any], plan: _Plan) -> list[dict[str, Any]]:
    try:
        outs = _outputs(stack, plan)
    except TemplateError as exc:
        raise ResourceFailure(f"Outputs: {exc}") from None
    for o in outs:
        owner = EXPORTS.get(export_key(stack["_account"], stack["_region"], o.get("ExportName", "")))
        if owner and owner["ExportingStackId"] != stack["StackId"]:
            raise ResourceFailure(f"Export with name {o['ExportName']} is already exported by stack "
                                  f"{owner['ExportingStackId'].split('/')[1]}. Rename the export.")
    return outs


def _imports_of(plan: _Plan) -> list[str]:
    names: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if len(v) == 1 and "Fn::ImportValue" in v:
                try:
                    names.append(str(plan.resolver.resolve(v["Fn::ImportValue"])))
                except TemplateError:
                    pass
                return
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk({n: plan.template["Resources"][n] for n in plan.active})
    walk(plan.template.get("Outputs") or {})
    return names


def _exports_or_fail(stack: dict[str, Any], plan: _Plan, failed_status: str) -> bool:
    """After every resource succeeded: check the exports, then publish the outputs and record the
    imports (True); an export clash is a stack event with ``failed_status`` instead (False)."""
    try:
        outs = _check_exports(stack, plan)
    except ResourceFailure as exc:
        _event(stack, stack["StackName"], "AWS::CloudFormation::Stack", failed_status, str(exc), stack["StackId"])
        return False
    _publish_outputs(stack, outs)
    with _mutating():
        stack["imports"] = _imports_of(plan)
    return True


def _run_create(stack: dict[str, Any], plan: _Plan) -> None:
    pctx = _pctx(stack)
    failed: str | None = None
    for logical in plan.order:
        rtype = plan.template["Resources"][logical]["Type"]
        try:
            _create_one(stack, plan, logical, pctx)
        except Exception as exc:
            _fail_resource(stack, logical, rtype, "CREATE_FAILED", _reason(exc))
            failed = logical
            break
    if failed is None:
        if _exports_or_fail(stack, plan, "CREATE_FAILED"):
            _stack_status(stack, "CREATE_COMPLETE")
            return
        failed = "Outputs"
    reason = f"The following resource(s) failed to create: [{failed}]. "
    if stack["OnFailure"] == "DO_NOTHING":
        _stack_status(stack, "CREATE_FAILED", reason)
        return
    _stack_status(stack, "ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
    _rollback_create(stack, plan.deps)


def _rollback_create(stack: dict[str, Any], deps: dict[str, set[str]]) -> None:
    """ROLLBACK_IN_PROGRESS: delete what the create made (then the stack with OnFailure DELETE)."""
    ok = _delete_resources(stack, deps, rollback=True)
    if not ok:
        _stack_status(stack, "ROLLBACK_FAILED", "The following resource(s) failed to delete: "
                      f"[{', '.join(_failed_deletes(stack))}]. ")
        return
    _stack_status(stack, "ROLLBACK_COMPLETE")
    if stack["OnFailure"] == "DELETE":
        _stack_status(stack, "DELETE_IN_PROGRESS", "User Initiated", reopen=True)
        _finish_delete(stack)


def _failed_deletes(stack: dict[str, Any]) -> list[str]:
    return sorted(n for n, r in stack["resources"].items() if r.get("ResourceStatus") == "DELETE_FAILED")


def _delete_resources(stack: dict[str, Any], deps: dict[str, set[str]], rollback: bool = False,
                      retain: set[str] | None = None, only: set[str] | None = None) -> bool:
    """Delete resources in reverse dependency order; True when nothing failed.

    A resource something failed-to-delete depends on is left alone (AWS never deletes a
    dependency before its dependents are gone).
    """
    pctx = _pctx(stack)
    retain = retain or set()
    names = [n for n, r in stack["resources"].items()
             if r.get("ResourceStatus") not in ("DELETE_COMPLETE", "DELETE_SKIPPED")
             and (only is None or n in only)]
    local_deps = {n: {d for d in deps.get(n, set()) if d in names} for n in names}
    order = list(reversed(_toposort(names, local_deps))) if names else []
    blocked: set[str] = set()
    ok = True
    for logical in order:
        rec = stack["resources"][logical]
        rtype = rec["ResourceType"]
        if logical in blocked:
            continue
        if not rec.get("PhysicalResourceId"):
            _set_resource(stack, logical, ResourceStatus="DELETE_COMPLETE")
            _event(stack, logical, rtype, "DELETE_COMPLETE")
            continue
        if (rec.get("DeletionPolicy") == "Retain" and not rollback) or logical in retain:
            _set_resource(stack, logical, ResourceStatus="DELETE_SKIPPED")
            _event(stack, logical, rtype, "DELETE_SKIPPED", "", rec["PhysicalResourceId"])
            continue
        _event(stack, logical, rtype, "DELETE_IN_PROGRESS", "", rec["PhysicalResourceId"])
        _set_resource(stack, logical, ResourceStatus="DELETE_IN_PROGRESS")
        try:
            prov = _provisioner(rtype, logical)
            prov.delete(pctx, logical, rec["PhysicalResourceId"], rec.get("props") or {},
                        rec.get("attrs") or {})
        except Exception as exc:
            _fail_resource(stack, logical, rtype, "DELETE_FAILED", _reason(exc))
            ok = False
            blocked |= _all_deps(logical, local_deps)
            continue
        _set_resource(stack, logical, ResourceStatus="DELETE_COMPLETE")
        _event(stack, logical, rtype, "DELETE_COMPLETE", "", rec["PhysicalResourceId"])
    return ok


def _all_deps(name: str, deps: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    todo = list(deps.get(name, set()))
    while todo:
        d = todo.pop()
        if d not in out:
            out.add(d)
            todo.extend(deps.get(d, set()))
    return out


def _stored_deps(stack: dict[str, Any]) -> dict[str, set[str]]:
    """Dependencies among the stack's existing resources, from its current template."""
    template = stack["template"]
    deps: dict[str, set[str]] = {}
    for name in stack["resources"]:
        res = template["Resources"].get(name) or {}
        found = references(res.get("Properties") or {})
        depends = res.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else list(depends)
        deps[name] = {d for d in found | set(depends) if d in stack["resources"]}
    return deps


# ---------------------------------------------------------------- delete
def delete_stack(caller: CallerContext, name: str, retain: list[str] | None = None) -> None:
    stack = find_stack(caller.account_id, caller.region, name)
    if stack is None:
        return  # AWS: deleting a stack that does not exist succeeds
    status = stack["StackStatus"]
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        if status == "DELETE_IN_PROGRESS":
            return
        raise EngineError("ValidationError", f"Stack [{stack['StackName']}] cannot be deleted while "
                          f"in status {status}. Wait until the operation finishes.")
    if retain and status != "DELETE_FAILED":
        raise EngineError("ValidationError", f"Invalid operation on stack [{stack['StackId']}]. "
                          "RetainResources can only be specified when the stack is in the "
                          "DELETE_FAILED state.")
    for exp in [e for e in _stacks.exports_of(caller.account_id, caller.region)
                if e["ExportingStackId"] == stack["StackId"]]:
        users = [s["StackName"] for s in stacks_of(caller.account_id, caller.region)
                 if exp["Name"] in s.get("imports", [])]
        if users:
            raise EngineError("ValidationError", f"Export {exp['Name']} cannot be deleted as it is "
                              f"in use by {', '.join(users)}. Delete those stacks first.")
    _stack_status(stack, "DELETE_IN_PROGRESS", "User Initiated", reopen=True)
    _start(stack, _run_delete, stack, set(retain or []))


def _run_delete(stack: dict[str, Any], retain: set[str]) -> None:
    ok = _delete_resources(stack, _stored_deps(stack), retain=retain)
    if not ok:
        _stack_status(stack, "DELETE_FAILED", "The following resource(s) failed to delete: "
                      f"[{', '.join(_failed_deletes(stack))}]. ")
        return
    _finish_delete(stack)


def _finish_delete(stack: dict[str, Any]) -> None:
    with _mutating():
        _drop_exports(stack)
        stack["DeletionTime"] = _now()
    _stack_status(stack, "DELETE_COMPLETE")


# ---------------------------------------------------------------- update
def _previous_values(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def _prepare_update(caller: CallerContext, stack: dict[str, Any], body: str | None, url: str | None,
                    use_previous: bool, parameters: list[dict[str, Any]],
                    capabilities: list[str]) -> tuple[str, dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    if use_previous:
        body, template = stack["TemplateBody"], copy.deepcopy(stack["template"])
    else:
        body, template = load_template(caller, body, url)
    _check_structure(template)
    values, listing = resolve_parameters(template, parameters, _previous_values(stack))
    _check_capabilities(template, capabilities)
    return body, template, values, listing


def update_stack(caller: CallerContext, name: str, body: str | None, url: str | None,
                 use_previous: bool, parameters: list[dict[str, Any]], capabilities: list[str],
                 tags: list[dict[str, str]] | None = None, disable_rollback: bool = False,
                 token: str | None = None) -> dict[str, Any]:
    stack = find_stack(caller.account_id, caller.region, name)
    if stack is None:
        raise EngineError("ValidationError", f"Stack [{name}] does not exist")
    if stack["StackStatus"] not in _UPDATABLE:
        raise EngineError("ValidationError", f"Stack:{stack['StackId']} is in {stack['StackStatus']} "
                          "state and can not be updated.")
    body, template, values, listing = _prepare_update(caller, stack, body, url, use_previous,
                                                      parameters, capabilities)
    new_tags = stack["Tags"] if tags is None else tags
    if (template == stack["template"] and
            [(p["ParameterKey"], p["ParameterValue"]) for p in listing] ==
            [(p["ParameterKey"], p["ParameterValue"]) for p in stack["Parameters"]] and
            new_tags == stack["Tags"]):
        raise EngineError("ValidationError", "No updates are to be performed.")
    plan = _plan(caller, template, values, listing, stack["StackName"], stack["StackId"],
                 {n: {"ref": r["PhysicalResourceId"], "attrs": r.get("attrs") or {}, "type": r["ResourceType"]}
                  for n, r in stack["resources"].items()})
    with _mutating():
        stack["previous"] = {"TemplateBody": stack["TemplateBody"], "template": stack["template"],
                             "Parameters": stack["Parameters"], "Tags": stack["Tags"],
                             "Capabilities": stack["Capabilities"]}
        stack.update(TemplateBody=body, template=template, Parameters=listing, Tags=new_tags,
                     Capabilities=list(capabilities), LastUpdatedTime=_now(),
                     Description=template.get("Description"), ClientRequestToken=token,
                     UpdateDisableRollback=disable_rollback)
        stack["caller"] = caller.__dict__.copy()
    _stack_status(stack, "UPDATE_IN_PROGRESS", "User Initiated", reopen=True)
    _start(stack, _run_update, stack, plan)
    return stack


def _run_update(stack: dict[str, Any], plan: _Plan) -> None:
    pctx = _pctx(stack)
    old_records = copy.deepcopy(stack["resources"])
    journal: list[tuple[str, str, Any]] = []
    failed: str | None = None
    for logical in plan.order:
        res = plan.template["Resources"][logical]
        rtype = res["Type"]
        try:
            if logical not in old_records or old_records[logical].get("ResourceStatus") in (
                    "DELETE_COMPLETE", None) or not old_records[logical].get("PhysicalResourceId"):
                _create_one(stack, plan, logical, pctx)
                journal.append(("created", logical, None))
                continue
            old = old_records[logical]
            if old["ResourceType"] != rtype:
                raise ResourceFailure(f"Update of resource type is not permitted. The new template "
                                      f"modifies resource type of resource {logical}; give it a "
                                      f"new logical id instead.")
            new_props = _resolved_props(plan, logical)
            policies = (res.get("DeletionPolicy", "Delete"), res.get("UpdateReplacePolicy", "Delete"),
                        res.get("Metadata"))
            if new_props == old.get("props") and policies == (old.get("DeletionPolicy"),
                                                                old.get("UpdateReplacePolicy"), old.get("Metadata")):
                continue
            prov = _provisioner(rtype, logical)
            prov.validate(logical, new_props)
            if new_props == old.get("props"):
                _set_resource(stack, logical, DeletionPolicy=policies[0], UpdateReplacePolicy=policies[1],
                              Metadata=policies[2])
                continue
            reasons = prov.replacement_reasons(old.get("props") or {}, new_props)
            if reasons:
                name_prop = _NAME_PROPERTY.get(rtype)
                if name_prop and new_props.get(name_prop) and new_props.get(name_prop) == (old.get("props") or {}).get(name_prop):
                    raise ResourceFailure(
                        f"CloudFormation cannot update a stack when a custom-named resource requires "
                        f"replacing. Rename {new_props[name_prop]} and update the stack again. "
                        f"(Replacement needed because {', '.join(reasons)} changed.)")
                _event(stack, logical, rtype, "UPDATE_IN_PROGRESS",
                       "Requested update requires the creation of a new physical resource; hence "
                       "creating one.", old["PhysicalResourceId"])
                created = prov.create(pctx, logical, new_props)
                journal.append(("replaced", logical, old))
                _set_resource(stack, logical, PhysicalResourceId=created.physical_id, props=new_props,
                              attrs=created.attrs, ResourceStatus="UPDATE_COMPLETE",
                              DeletionPolicy=policies[0], UpdateReplacePolicy=policies[1],
                              Metadata=policies[2])
                with _LOCK:
                    plan.resolver.ctx.resources[logical] = {"ref": created.physical_id,
                                                            "attrs": created.attrs, "type": rtype}
                _event(stack, logical, rtype, "UPDATE_COMPLETE", "", created.physical_id, new_props)
            else:
                _event(stack, logical, rtype, "UPDATE_IN_PROGRESS", "", old["PhysicalResourceId"])
                _set_resource(stack, logical, ResourceStatus="UPDATE_IN_PROGRESS")
                attrs = prov.update(pctx, logical, old["PhysicalResourceId"], old.get("props") or {},
                                    new_props, dict(old.get("attrs") or {}))
                journal.append(("updated", logical, old))
                _set_resource(stack, logical, props=new_props, attrs=attrs, ResourceStatus="UPDATE_COMPLETE",
                              DeletionPolicy=policies[0], UpdateReplacePolicy=policies[1],
                              Metadata=policies[2])
                with _LOCK:
                    plan.resolver.ctx.resources[logical]["attrs"] = attrs
                _event(stack, logical, rtype, "UPDATE_COMPLETE", "", old["PhysicalResourceId"], new_props)
        except Exception as exc:
            status = "CREATE_FAILED" if logical not in old_records else "UPDATE_FAILED"
            _fail_resource(stack, logical, rtype, status, _reason(exc))
            failed = logical
            break
    if failed is None and not _exports_or_fail(stack, plan, "UPDATE_FAILED"):
        failed = "Outputs"
    if failed is not None:
        _rollback_update(stack, journal, old_records, failed)
        return
    _stack_status(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    # cleanup: old physical resources of replacements, then resources gone from the template
    for kind, logical, old in reversed(journal):
        if kind == "replaced":
            rtype = old["ResourceType"]
            if old.get("UpdateReplacePolicy") == "Retain":
                _event(stack, logical, rtype, "DELETE_SKIPPED", "", old["PhysicalResourceId"])
                continue
            _event(stack, logical, rtype, "DELETE_IN_PROGRESS", "", old["PhysicalResourceId"])
            try:
                _provisioner(rtype, logical).delete(pctx, logical, old["PhysicalResourceId"],
                                                    old.get("props") or {}, old.get("attrs") or {})
                _event(stack, logical, rtype, "DELETE_COMPLETE", "", old["PhysicalResourceId"])
            except ResourceFailure as exc:
                _event(stack, logical, rtype, "DELETE_FAILED", str(exc), old["PhysicalResourceId"])
    removed = {n for n in old_records if n not in plan.active}
    if removed:
        old_deps = {n: set() for n in removed}
        prev_t = stack["previous"]["template"]
        for n in removed:
            res = prev_t["Resources"].get(n) or {}
            d = res.get("DependsOn") or []
            d = [d] if isinstance(d, str) else list(d)
            old_deps[n] = {x for x in references(res.get("Properties") or {}) | set(d) if x in removed}
        _delete_resources(stack, old_deps, only=removed)
        with _mutating():
            for n in removed:
                if stack["resources"].get(n, {}).get("ResourceStatus") in ("DELETE_COMPLETE", "DELETE_SKIPPED"):
                    stack["resources"].pop(n, None)
    _stack_status(stack, "UPDATE_COMPLETE")


def _rollback_update(stack: dict[str, Any], journal: list[tuple[str, str, Any]],
                     old_records: dict[str, Any], failed: str) -> None:
    reason = f"The following resource(s) failed to {'create' if failed not in old_records else 'update'}: [{failed}]. "
    if stack.get("UpdateDisableRollback"):
        _stack_status(stack, "UPDATE_FAILED", reason)
        return
    _stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    pctx = _pctx(stack)
    prev = stack["previous"]
    rollback_failed = []
    for kind, logical, old in reversed(journal):
        rec = stack["resources"][logical]
        rtype = rec["ResourceType"]
        try:
            prov = _provisioner(rtype, logical)
            if kind == "created":
                _event(stack, logical, rtype, "DELETE_IN_PROGRESS", "", rec["PhysicalResourceId"])
                prov.delete(pctx, logical, rec["PhysicalResourceId"], rec.get("props") or {}, rec.get("attrs") or {})
                _event(stack, logical, rtype, "DELETE_COMPLETE", "", rec["PhysicalResourceId"])
                with _mutating():
                    stack["resources"].pop(logical, None)
            elif kind == "updated":
                _event(stack, logical, rtype, "UPDATE_IN_PROGRESS", "", rec["PhysicalResourceId"])
                prov.update(pctx, logical, rec["PhysicalResourceId"], rec.get("props") or {},
                            old.get("props") or {}, dict(rec.get("attrs") or {}))
                with _mutating():
                    stack["resources"][logical] = copy.deepcopy(old)
                _event(stack, logical, rtype, "UPDATE_COMPLETE", "", old["PhysicalResourceId"])
            elif kind == "replaced":
                _event(stack, logical, rtype, "DELETE_IN_PROGRESS", "", rec["PhysicalResourceId"])
                prov.delete(pctx, logical, rec["PhysicalResourceId"], rec.get("props") or {}, rec.get("attrs") or {})
                with _mutating():
                    stack["resources"][logical] = copy.deepcopy(old)
                _event(stack, logical, rtype, "UPDATE_COMPLETE", "", old["PhysicalResourceId"])
        except ResourceFailure as exc:
            rollback_failed.append(logical)
            _fail_resource(stack, logical, rtype, "UPDATE_FAILED", str(exc))
    # the failed resource itself
    rec = stack["resources"].get(failed)
    if rec is not None and failed not in old_records:
        if rec.get("PhysicalResourceId"):
            try:
                _provisioner(rec["ResourceType"], failed).delete(pctx, failed, rec["PhysicalResourceId"],
                                                                 rec.get("props") or {}, rec.get("attrs") or {})
            except ResourceFailure:
                pass
        with _mutating():
            stack["resources"].pop(failed, None)
    elif rec is not None and failed in old_records:
        with _mutating():
            stack["resources"][failed] = copy.deepcopy(old_records[failed])
    with _mutating():
        stack.update(TemplateBody=prev["TemplateBody"], template=prev["template"],
                     Parameters=prev["Parameters"], Tags=prev["Tags"], Capabilities=prev["Capabilities"])
    if rollback_failed:
        _stack_status(stack, "UPDATE_ROLLBACK_FAILED", "The following resource(s) failed to update: "
                      f"[{', '.join(rollback_failed)}]. ")
        return
    _stack_status(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    _stack_status(stack, "UPDATE_ROLLBACK_COMPLETE")


# ---------------------------------------------------------------- change sets
def create_change_set(caller: CallerContext, stack_name: str, cs_name: str, body: str | None,
                      url: str | None, use_previous: bool, parameters: list[dict[str, Any]],
                      capabilities: list[str], cs_type: str = "UPDATE", description: str | None = None,
                      tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    stack = find_stack(caller.account_id, caller.region, stack_name)
    if cs_type == "CREATE":
        if stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            raise EngineError("ValidationError", f"Stack [{stack_name}] already exists and cannot be "
                              "created again with the changeSet [{cs_name}].")
        body, template = load_template(caller, body, url)
        _check_structure(template)
        values, listing = resolve_parameters(template, parameters)
        _check_capabilities(template, capabilities)
        if stack is None:
            if not _NAME_RE.match(stack_name or ""):
                raise EngineError("ValidationError", f"Stack name {stack_name!r} is invalid.")
            stack = _new_stack(caller, stack_name, "", {"Resources": {}}, [], [], tags or [], False,
                               "ROLLBACK", None, "REVIEW_IN_PROGRESS")
            with _mutating():
                RUNS.add(caller.account_id, caller.region, stack["StackId"], stack, control=False)
            _event(stack, stack_name, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", "User Initiated",
                   stack["StackId"])
    elif cs_type == "UPDATE":
        if stack is None:
            raise EngineError("ValidationError", f"Stack [{stack_name}] does not exist")
        body, template, values, listing = _prepare_update(caller, stack, body, url, use_previous,
                                                          parameters, capabilities)
    else:
        raise EngineError("ValidationError", f"ChangeSetType {cs_type} is not supported by the local "
                          "engine (use CREATE or UPDATE).")
    if any(c["ChangeSetName"] == cs_name for c in stack["changesets"].values()):
        raise EngineError("AlreadyExistsException", f"ChangeSet [{cs_name}] already exists")
    preview = {n: {"ref": r["PhysicalResourceId"], "attrs": r.get("attrs") or {}, "type": r["ResourceType"]}
               for n, r in stack["resources"].items()}
    plan = _plan(caller, template, values, listing, stack["StackName"], stack["StackId"], preview)
    changes = _changes(stack, plan)
    cs_id = (f"arn:aws:cloudformation:{caller.region}:{caller.account_id}:changeSet/{cs_name}/"
             f"{uuid.uuid4()}")
    cs: dict[str, Any] = {
        "ChangeSetId": cs_id, "ChangeSetName": cs_name, "StackId": stack["StackId"],
        "StackName": stack["StackName"], "Description": description, "Parameters": listing,
        "CreationTime": _now(), "ExecutionStatus": "AVAILABLE", "Status": "CREATE_COMPLETE",
        "Capabilities": list(capabilities), "Tags": tags if tags is not None else stack["Tags"],
        "Changes": changes, "ChangeSetType": cs_type, "TemplateBody": body, "template": template,
        "RawParameters": parameters,
    }
    if not changes and cs_type == "UPDATE" and template == stack["template"] and \
            [(p["ParameterKey"], p["ParameterValue"]) for p in listing] == \
            [(p["ParameterKey"], p["ParameterValue"]) for p in stack["Parameters"]]:
        cs.update(Status="FAILED", ExecutionStatus="UNAVAILABLE",
                  StatusReason="The submitted information didn't contain changes. Submit different "
                               "information to create a change set.")
    with _mutating():
        stack["changesets"][cs_id] = cs
    return cs


def _changes(stack: dict[str, Any], plan: _Plan) -> list[dict[str, Any]]:
    out = []
    existing = stack["resources"]
    for logical in plan.order:
        rtype = plan.template["Resources"][logical]["Type"]
        if logical not in existing:
            out.append({"Type": "Resource", "ResourceChange": {
                "Action": "Add", "LogicalResourceId": logical, "ResourceType": rtype,
                "Scope": [], "Details": []}})
            plan.resolver.ctx.resources[logical] = {"ref": f"{{{{{logical}}}}}", "type": rtype,
                                                    "attrs": _placeholder_attrs(rtype, logical)}
            continue
        old = existing[logical]
        try:
            new_props = plan.resolver.resolve(plan.template["Resources"][logical].get("Properties") or {})
        except TemplateError:
            new_props = None
        if new_props == old.get("props"):
            continue
        prov = get_provisioner(rtype)
        reasons = prov.replacement_reasons(old.get("props") or {}, new_props or {}) if prov else []
        changed = sorted(k for k in set(old.get("props") or {}) | set(new_props or {})
                         if (old.get("props") or {}).get(k) != (new_props or {}).get(k))
        out.append({"Type": "Resource", "ResourceChange": {
            "Action": "Modify", "LogicalResourceId": logical, "PhysicalResourceId": old["PhysicalResourceId"],
            "ResourceType": rtype, "Replacement": "True" if reasons else "False", "Scope": ["Properties"],
            "Details": [{"Target": {"Attribute": "Properties", "Name": k,
                                    "RequiresRecreation": "Always" if any(r.split(".")[0] == k for r in reasons) else "Never"},
                         "Evaluation": "Static", "ChangeSource": "DirectModification"} for k in changed]}})
    for logical, rec in existing.items():
        if logical not in plan.active:
            out.append({"Type": "Resource", "ResourceChange": {
                "Action": "Remove", "LogicalResourceId": logical,
                "PhysicalResourceId": rec["PhysicalResourceId"], "ResourceType": rec["ResourceType"],
                "Scope": [], "Details": []}})
    return out


def _placeholder_attrs(rtype: str, logical: str) -> dict[str, Any]:
    prov = get_provisioner(rtype)
    names = list(prov.attributes) if prov else []
    return {a: f"{{{{{logical}.{a}}}}}" for a in names}


def find_change_set(account: str, region: str, name_or_id: str,
                    stack_name: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    with _LOCK:
        stacks = ([find_stack(account, region, stack_name, include_deleted=True)] if stack_name
                  else stacks_of(account, region, include_deleted=True))
        for stack in stacks:
            if stack is None:
                continue
            for cs in stack["changesets"].values():
                if name_or_id in (cs["ChangeSetId"], cs["ChangeSetName"]):
                    return stack, cs
    raise EngineError("ChangeSetNotFound", f"ChangeSet [{name_or_id}] does not exist", 404)


def execute_change_set(caller: CallerContext, name_or_id: str, stack_name: str | None,
                       disable_rollback: bool = False) -> None:
    stack, cs = find_change_set(caller.account_id, caller.region, name_or_id, stack_name)
    if cs["ExecutionStatus"] != "AVAILABLE":
        raise EngineError("InvalidChangeSetStatus", f"ChangeSet [{cs['ChangeSetId']}] cannot be executed "
                          f"in its current status of [{cs['Status']}]")
    with _mutating():
        cs["ExecutionStatus"] = "EXECUTE_IN_PROGRESS"
    if cs["ChangeSetType"] == "CREATE":
        template = cs["template"]
        values, listing = resolve_parameters(template, cs["RawParameters"])
        plan = _plan(caller, template, values, listing, stack["StackName"], stack["StackId"])
        with _mutating():
            stack.update(TemplateBody=cs["TemplateBody"], template=template, Parameters=listing,
                         Capabilities=cs["Capabilities"], Description=template.get("Description"),
                         DisableRollback=disable_rollback,
                         OnFailure="DO_NOTHING" if disable_rollback else "ROLLBACK",
                         caller=caller.__dict__.copy(), ChangeSetId=cs["ChangeSetId"])
        _stack_status(stack, "CREATE_IN_PROGRESS", "User Initiated", reopen=True)
        _start(stack, _run_create, stack, plan)
    else:
        update_stack(caller, stack["StackName"], cs["TemplateBody"], None, False, cs["RawParameters"],
                     cs["Capabilities"], cs["Tags"], disable_rollback)
        with _mutating():
            stack["ChangeSetId"] = cs["ChangeSetId"]
    with _mutating():
        cs["ExecutionStatus"] = "EXECUTE_COMPLETE"
        # AWS deletes the other change sets of the stack once one is executed
        for other in [k for k in stack["changesets"] if k != cs["ChangeSetId"]]:
            del stack["changesets"][other]


def delete_change_set(account: str, region: str, name_or_id: str, stack_name: str | None) -> None:
    stack, cs = find_change_set(account, region, name_or_id, stack_name)
    if cs["ExecutionStatus"] == "EXECUTE_IN_PROGRESS":
        raise EngineError("InvalidChangeSetStatus", "Cannot delete a change set that is executing.")
    with _mutating():
        del stack["changesets"][cs["ChangeSetId"]]
        if stack["StackStatus"] == "REVIEW_IN_PROGRESS" and not stack["changesets"]:
            RUNS.transition(stack, "DELETE_COMPLETE", reopen=True)
            stack["DeletionTime"] = _now()


def no_value() -> Any:
    return NO_VALUE
