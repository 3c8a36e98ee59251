"""AWS::Events::Rule (EventBridge rules on the default event bus).

The rule and its targets are stored in moto's EventBridge backend, so ``events.describe_rule``
and ``list_targets_by_rule`` answer as on AWS. The local endpoint does not fire scheduled rules
(see docs/aws-parity.md): an ENABLED schedule is stored, never run.
"""
from __future__ import annotations

import json
from typing import Any

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
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
        arn = self._put(ctx, name, props)
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
        targets = [{k: t[k] for k in _TARGET_KEYS if k in t} for t in props.get("Targets", [])]
        if targets:
            with failing_as("Targets", "EventBridge"):
                events.put_targets(Rule=name, Targets=targets)
        return arn
