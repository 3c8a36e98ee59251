"""AWS::StepFunctions::StateMachine through the Step Functions API.

``Definition`` (an object) or ``DefinitionString`` is serialised, ``DefinitionSubstitutions``
replace their ``${key}`` placeholders as text (CloudFormation does the same before it calls
CreateStateMachine), and the result is checked the way Step Functions checks it
(:func:`definition_problems`: JSON, StartAt, every transition target, Task resources) so a
definition AWS refuses with ``InvalidDefinition`` fails the stack here too. The state machine is
stored in the endpoint's Step Functions (moto) and read back with ``describe_state_machine``.
"""
from __future__ import annotations

import json
import re
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

__all__ = ["StateMachine", "render_definition", "definition_problems"]

_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
_TERMINAL = {"Succeed", "Fail", "Choice"}


def render_definition(props: dict[str, Any]) -> str:
    """The definition string CreateStateMachine receives (substitutions applied)."""
    if "Definition" in props and "DefinitionString" in props:
        raise ResourceFailure("Properties validation failed: specify only one of Definition and "
                              "DefinitionString (AWS::StepFunctions::StateMachine).")
    if "Definition" in props:
        body = json.dumps(props["Definition"], indent=2)
    elif "DefinitionString" in props:
        body = str(props["DefinitionString"])
    else:
        raise ResourceFailure("Properties validation failed for resource: one of Definition, "
                              "DefinitionString or DefinitionS3Location is required "
                              "(AWS::StepFunctions::StateMachine).")
    subs = props.get("DefinitionSubstitutions") or {}
    for key, value in subs.items():
        text = value if isinstance(value, str) else json.dumps(value)
        body = body.replace("${" + key + "}", text)
    return body


def _states_problems(states: Any, start: Any, where: str) -> list[str]:
    if not isinstance(states, dict) or not states:
        return [f"SCHEMA_VALIDATION_FAILED: The field 'States' should be a non-empty object at {where}"]
    out: list[str] = []
    if start not in states:
        out.append(f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {start} at {where}/StartAt")
    for name, st in states.items():
        at = f"{where}/States/{name}"
        if not isinstance(st, dict) or st.get("Type") not in _TYPES:
            out.append(f"SCHEMA_VALIDATION_FAILED: These fields are required: [Type] at {at}")
            continue
        kind = st["Type"]
        targets = []
        if "Next" in st:
            targets.append((st["Next"], f"{at}/Next"))
        if kind == "Choice":
            for i, ch in enumerate(st.get("Choices") or []):
                targets.append((ch.get("Next"), f"{at}/Choices[{i}]/Next"))
            if "Default" in st:
                targets.append((st["Default"], f"{at}/Default"))
        for i, c in enumerate(st.get("Catch") or []):
            targets.append((c.get("Next"), f"{at}/Catch[{i}]/Next"))
        for target, path in targets:
            if target not in states:
                out.append(f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {target} at {path}")
        if kind not in _TERMINAL and "Next" not in st and st.get("End") is not True:
            out.append(f"SCHEMA_VALIDATION_FAILED: These fields are required: [Next or End] at {at}")
        if kind == "Task" and not isinstance(st.get("Resource"), str):
            out.append(f"SCHEMA_VALIDATION_FAILED: These fields are required: [Resource] at {at}")
        if kind == "Map":
            inner = st.get("ItemProcessor") or st.get("Iterator") or {}
            out += _states_problems(inner.get("States"), inner.get("StartAt"), f"{at}/ItemProcessor")
        if kind == "Parallel":
            for i, br in enumerate(st.get("Branches") or []):
                out += _states_problems(br.get("States"), br.get("StartAt"), f"{at}/Branches[{i}]")
    return out


def definition_problems(body: str) -> list[str]:
    """What Step Functions' validation would report for this definition (empty = valid)."""
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        return [f"INVALID_JSON_DESCRIPTION: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
    if not isinstance(doc, dict):
        return ["SCHEMA_VALIDATION_FAILED: the definition must be a JSON object at /"]
    unresolved = sorted(set(re.findall(r"\$\{([A-Za-z0-9_.:-]+)\}", body)))
    problems = _states_problems(doc.get("States"), doc.get("StartAt"), "")
    if unresolved and problems:
        problems.append(f"(placeholders without a DefinitionSubstitutions value: {', '.join(unresolved)})")
    return problems


def _sfn_tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t["Value"]} for t in tags_list(props.get("Tags"))]


def _logging(cfg: dict[str, Any] | None) -> dict[str, Any]:
    if not cfg:
        return {"level": "OFF", "includeExecutionData": False}
    out: dict[str, Any] = {"level": cfg.get("Level", "OFF"),
                           "includeExecutionData": str(cfg.get("IncludeExecutionData", False)).lower() == "true"}
    dests = [{"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
             for d in cfg.get("Destinations") or [] if "CloudWatchLogsLogGroup" in d]
    if dests:
        out["destinations"] = dests
    return out


def _tracing(cfg: dict[str, Any] | None) -> dict[str, Any]:
    return {"enabled": str((cfg or {}).get("Enabled", False)).lower() == "true"}


@provisioner
class StateMachine(Provisioner):
    type = "AWS::StepFunctions::StateMachine"
    supported = frozenset({"StateMachineName", "StateMachineType", "RoleArn", "Definition",
                           "DefinitionString", "DefinitionSubstitutions", "LoggingConfiguration",
                           "TracingConfiguration", "Tags"})
    required = frozenset({"RoleArn"})
    attributes = ("Arn", "Name", "StateMachineRevisionId")

    def _checked(self, logical: str, props: dict[str, Any]) -> str:
        body = render_definition(props)
        problems = definition_problems(body)
        if problems:
            raise ResourceFailure(
                f'Resource handler returned message: "Invalid State Machine Definition: '
                f"'{'; '.join(problems)}'\" (Service: Sfn, Status Code: 400, Error Code: "
                f"InvalidDefinition) — fix the Definition of {logical} (the Step Functions "
                "console's Workflow Studio or cfn-lint shows where).")
        return body

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        body = self._checked(logical, props)
        name = props.get("StateMachineName") or ctx.physical_name(logical, 80)
        kwargs: dict[str, Any] = {"name": name, "definition": body, "roleArn": props["RoleArn"],
                                  "type": props.get("StateMachineType", "STANDARD"),
                                  "loggingConfiguration": _logging(props.get("LoggingConfiguration")),
                                  "tracingConfiguration": _tracing(props.get("TracingConfiguration"))}
        tags = _sfn_tags(props)
        if tags:
            kwargs["tags"] = tags
        with failing_as("Definition", "Sfn"):
            arn = ctx.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
        return Created(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": arn})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        body = self._checked(logical, new)
        sfn = ctx.client("stepfunctions")
        with failing_as("Definition", "Sfn"):
            sfn.update_state_machine(stateMachineArn=physical_id, definition=body, roleArn=new["RoleArn"],
                                     loggingConfiguration=_logging(new.get("LoggingConfiguration")),
                                     tracingConfiguration=_tracing(new.get("TracingConfiguration")))
        if old.get("Tags") != new.get("Tags"):
            with failing_as("Tags", "Sfn"):
                gone = {t["Key"] for t in tags_list(old.get("Tags"))} - {t["Key"] for t in tags_list(new.get("Tags"))}
                if gone:
                    sfn.untag_resource(resourceArn=physical_id, tagKeys=sorted(gone))
                if new.get("Tags"):
                    sfn.tag_resource(resourceArn=physical_id, tags=_sfn_tags(new))
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with deleting("StateMachineDoesNotExist", "Sfn"):
            ctx.client("stepfunctions").delete_state_machine(stateMachineArn=physical_id)
