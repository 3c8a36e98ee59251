"""AWS::Events::Rule (EventBridge rules on the default event bus).

The rule and its targets are stored in moto's EventBridge backend, so ``events.describe_rule``
and ``list_targets_by_rule`` answer as on AWS. ``EventPattern`` (an object in
the template) is stored as its JSON, targets keep RoleArn / Input / InputPath / InputTransformer
as PutTargets takes them; a Step Functions target without RoleArn and any entry PutTargets
refuses (FailedEntries) fail the resource, as on AWS. Firing rules is the endpoint's job.
"""
from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    deleting,
    failing_as,
    provisioner,
)

__all__ = ["Rule"]

_TARGET_KEYS = ("Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "RetryPolicy",
                "DeadLetterConfig")


@provisioner
class Rule(Provisioner):
    type = "AWS::Events::Rule"
    supported = frozenset({"Name", "Description", "ScheduleExpression", "EventPattern", "State",
                           "Targets", "RoleArn"})
    attributes = ("Arn",)

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("Name") or ctx.physical_name(logical)
        try:
            ctx.client("events").describe_rule(Name=name)
            existed = True
        except ClientError:
            existed = False
        try:
            arn = self._put(ctx, name, props)
        except ResourceFailure:
            # a refused target leaves no half-made rule behind (the handler cleans up on AWS)
            if not existed:
                self.delete(ctx, logical, name, props, {})
            raise
        return Created(name, {"Arn": arn})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        events = ctx.client("events")
        gone = {t["Id"] for t in old.get("Targets", [])} - {t["Id"] for t in new.get("Targets", [])}
        if gone:
            with failing_as("Targets", "EventBridge"):
                events.remove_targets(Rule=physical_id, Ids=sorted(gone))
        return {"Arn": self._put(ctx, physical_id, new)}

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        events = ctx.client("events")
        with deleting("ResourceNotFoundException", "EventBridge"):
            ids = [t["Id"] for t in events.list_targets_by_rule(Rule=physical_id).get("Targets", [])]
            if ids:
                events.remove_targets(Rule=physical_id, Ids=ids)
            events.delete_rule(Name=physical_id)

    @staticmethod
    def _put(ctx: ProvisionContext, name: str, props: dict[str, Any]) -> str:
        events = ctx.client("events")
        targets = [{k: t[k] for k in _TARGET_KEYS if k in t} for t in props.get("Targets", [])]
        for t in targets:
            if t.get("Arn", "").split(":")[2:3] == ["states"] and not t.get("RoleArn"):
                # EventBridge calls StartExecution with a role it assumes: no RoleArn, no target
                raise ResourceFailure(
                    f'Resource handler returned message: "RoleArn is required for target '
                    f'{t.get("Arn")}." (Service: EventBridge, Status Code: 400, Error Code: '
                    f"ValidationException). Give target {t.get('Id')} a RoleArn whose role allows "
                    "states:StartExecution on the state machine.")
        kwargs: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        for key in ("Description", "ScheduleExpression", "RoleArn"):
            if key in props:
                kwargs[key] = props[key]
        if "EventPattern" in props:
            pattern = props["EventPattern"]
            kwargs["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        with failing_as("ScheduleExpression" if "ScheduleExpression" in props else "EventPattern",
                        "EventBridge"):
            arn = events.put_rule(**kwargs)["RuleArn"]
        if targets:
            with failing_as("Targets", "EventBridge"):
                resp = events.put_targets(Rule=name, Targets=targets)
            failed = resp.get("FailedEntries") or []
            if resp.get("FailedEntryCount") or failed:
                first = failed[0] if failed else {}
                raise ResourceFailure(
                    f"Property Targets: target {first.get('TargetId', '?')} was refused: "
                    f"{first.get('ErrorCode', '')}: {first.get('ErrorMessage', '')} (Service: "
                    "EventBridge, PutTargets FailedEntries). Fix the target's Arn/RoleArn/Input.")
        return arn
