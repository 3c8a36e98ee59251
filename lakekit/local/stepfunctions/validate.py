"""Static checks of an Amazon States Language definition, as Step Functions makes them.

AWS checks a definition at ``CreateStateMachine`` / ``UpdateStateMachine`` (refused with
``InvalidDefinition``) and answers ``ValidateStateMachineDefinition`` with the same findings as
diagnostics. :func:`diagnostics` returns them in AWS's shape (``severity``, ``code``,
``message``, ``location``) and :func:`invalid_definition_message` joins them the way the
``InvalidDefinition`` message does::

    Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3
    at /States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at
    /States/pass2'

What is checked (codes from the API reference's ValidateStateMachineDefinitionDiagnostic):

* ``INVALID_JSON_DESCRIPTION`` - the definition is not a JSON object;
* ``SCHEMA_VALIDATION_FAILED`` - a required field missing ("These fields are required: [X]"),
  a field the state's type does not support ("Field 'X' is not supported"), an unknown state
  ``Type`` ("The field 'Type' should have one of these values: [...]"), ``Next`` together with
  ``End``, empty ``States`` / ``Choices`` / ``Branches``;
* ``MISSING_TRANSITION_TARGET`` - a ``Next`` / ``Default`` / ``Choices[i].Next`` /
  ``Catch[i].Next`` / ``StartAt`` naming no state of its scope ("Missing 'Next' target: X",
  always the word Next), a state nothing reaches ("State \"X\" is not reachable.");
* ``MISSING_END_STATE`` - no terminal state ("Workflow has no terminal state", no location;
  it suppresses the unreachable-state findings of its scope).

Nested scopes (``Parallel`` branches, ``Map`` ``ItemProcessor`` / ``Iterator``) are checked the
same way, with their own locations (``/States/P/Branches[0]/States/X``).
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["diagnostics", "invalid_definition_message", "STATE_TYPES"]

STATE_TYPES = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map")
_COMMON = {"Type", "Comment", "QueryLanguage"}
_IO = {"InputPath", "OutputPath", "Assign", "Output"}
_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _IO | {"Next", "End", "ResultPath", "Parameters", "Result"},
    "Task": _COMMON | _IO | {"Next", "End", "Resource", "ResultPath", "Parameters",
                             "ResultSelector", "Retry", "Catch", "TimeoutSeconds",
                             "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath",
                             "Credentials", "Arguments"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Wait": _COMMON | _IO | {"Next", "End", "Seconds", "Timestamp", "SecondsPath",
                             "TimestampPath"},
    "Succeed": _COMMON | {"InputPath", "OutputPath", "Output"},
    "Fail": _COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
    "Parallel": _COMMON | _IO | {"Next", "End", "Branches", "ResultPath", "Parameters",
                                 "ResultSelector", "Retry", "Catch", "Arguments"},
    "Map": _COMMON | _IO | {"Next", "End", "Iterator", "ItemProcessor", "ItemsPath", "Items",
                            "ItemReader", "ItemSelector", "Parameters", "ItemBatcher",
                            "ResultWriter", "MaxConcurrency", "MaxConcurrencyPath",
                            "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
                            "ToleratedFailureCount", "ToleratedFailureCountPath", "Label",
                            "ResultPath", "ResultSelector", "Retry", "Catch"},
}
_TOP = {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
_TERMINAL_TYPES = {"Succeed", "Fail"}


def _diag(code: str, message: str, location: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": "ERROR", "code": code, "message": message}
    if location is not None:
        out["location"] = location
    return out


def diagnostics(definition: str) -> list[dict[str, Any]]:
    """Every ERROR finding of ``definition`` (empty when AWS would accept it)."""
    try:
        doc = json.loads(definition)
    except ValueError as exc:
        return [_diag("INVALID_JSON_DESCRIPTION", f"JSON syntax problem found: {exc}", None)]
    if not isinstance(doc, dict):
        return [_diag("INVALID_JSON_DESCRIPTION",
                      "JSON syntax problem found: the definition must be a JSON object", None)]
    out: list[dict[str, Any]] = []
    for key in doc:
        if key not in _TOP:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", f"Field '{key}' is not supported", "/"))
    _scope(doc, "", out)
    return out


def _scope(doc: dict[str, Any], prefix: str, out: list[dict[str, Any]]) -> None:
    """Check one ``{StartAt, States}`` scope (the machine, a branch, an item processor)."""
    missing = [k for k in ("StartAt", "States") if k not in doc]
    if missing:
        out.append(_diag("SCHEMA_VALIDATION_FAILED",
                         f"These fields are required: [{', '.join(missing)}]", prefix or "/"))
    states = doc.get("States")
    if "States" in doc and (not isinstance(states, dict) or not states):
        out.append(_diag("SCHEMA_VALIDATION_FAILED", "The field 'States' should be non-empty",
                         f"{prefix}/States"))
    if not isinstance(states, dict) or not states:
        return
    transitions: list[tuple[str, str, str]] = []   # (from state, target, location)
    start = doc.get("StartAt")
    if isinstance(start, str) and start not in states:
        out.append(_diag("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {start}",
                         f"{prefix}/StartAt"))
    terminal = False
    for name, state in states.items():
        where = f"{prefix}/States/{name}"
        if not isinstance(state, dict):
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "The state should be a JSON object", where))
            continue
        typ = state.get("Type")
        if typ is None:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Type]", where))
            continue
        if typ not in STATE_TYPES:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "The field 'Type' should have one of "
                             f"these values: [{', '.join(STATE_TYPES)}]", f"{where}/Type"))
            continue
        for key in state:
            if key not in _FIELDS[typ]:
                out.append(_diag("SCHEMA_VALIDATION_FAILED", f"Field '{key}' is not supported",
                                 where))
        terminal |= _state(name, state, typ, where, transitions, out)
    for _source, target, location in transitions:
        if target not in states:
            out.append(_diag("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}",
                             location))
    if not terminal:
        out.append(_diag("MISSING_END_STATE", "Workflow has no terminal state", None))
        return
    reached: set[str] = set()
    todo = [start] if isinstance(start, str) else []
    edges: dict[str, list[str]] = {}
    for source, target, _ in transitions:
        edges.setdefault(source, []).append(target)
    while todo:
        name = todo.pop()
        if name in reached or name not in states:
            continue
        reached.add(name)
        todo.extend(edges.get(name, []))
    for name in states:
        if name not in reached:
            out.append(_diag("MISSING_TRANSITION_TARGET", f'State "{name}" is not reachable.',
                             f"{prefix}/States/{name}"))


def _state(name: str, state: dict[str, Any], typ: str, where: str,
           transitions: list[tuple[str, str, str]], out: list[dict[str, Any]]) -> bool:
    """Check one state; collect its transitions; True when it can end the scope."""
    terminal = typ in _TERMINAL_TYPES
    if typ == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Choices]"
                             if choices is None else "The field 'Choices' should be non-empty",
                             where))
        else:
            for i, rule in enumerate(choices):
                if not isinstance(rule, dict) or "Next" not in rule:
                    out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]",
                                     f"{where}/Choices[{i}]"))
                elif isinstance(rule["Next"], str):
                    transitions.append((name, rule["Next"], f"{where}/Choices[{i}]/Next"))
        if isinstance(state.get("Default"), str):
            transitions.append((name, state["Default"], f"{where}/Default"))
    elif typ not in _TERMINAL_TYPES:
        has_next, end = "Next" in state, state.get("End")
        if has_next and end is not None:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "Field 'End' is not supported", where))
        elif not has_next and end is not True:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]"
                             if end is None else "The field 'End' should have one of these "
                             "values: [true]", where))
        if isinstance(state.get("Next"), str):
            transitions.append((name, state["Next"], f"{where}/Next"))
        terminal = end is True
    if typ == "Task" and "Resource" not in state:
        out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Resource]", where))
    for i, catcher in enumerate(state.get("Catch") or []) if typ in ("Task", "Parallel", "Map") else ():
        if not isinstance(catcher, dict):
            continue
        missing = [k for k in ("ErrorEquals", "Next") if k not in catcher]
        if missing:
            out.append(_diag("SCHEMA_VALIDATION_FAILED",
                             f"These fields are required: [{', '.join(missing)}]",
                             f"{where}/Catch[{i}]"))
        if isinstance(catcher.get("Next"), str):
            transitions.append((name, catcher["Next"], f"{where}/Catch[{i}]/Next"))
    for i, retrier in enumerate(state.get("Retry") or []) if typ in ("Task", "Parallel", "Map") else ():
        if isinstance(retrier, dict) and "ErrorEquals" not in retrier:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [ErrorEquals]",
                             f"{where}/Retry[{i}]"))
    if typ == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Branches]"
                             if branches is None else "The field 'Branches' should be non-empty",
                             where))
        else:
            for i, branch in enumerate(branches):
                if isinstance(branch, dict):
                    _scope(branch, f"{where}/Branches[{i}]", out)
    if typ == "Map":
        key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        processor = state.get(key)
        if processor is None:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: "
                             "[ItemProcessor]", where))
        elif isinstance(processor, dict):
            _scope(processor, f"{where}/{key}", out)
    return terminal


def invalid_definition_message(found: list[dict[str, Any]]) -> str:
    """The ``InvalidDefinition`` message of CreateStateMachine / UpdateStateMachine."""
    parts = [f"{d['code']}: {d['message']} at {d.get('location') or 'null'}" for d in found]
    return f"Invalid State Machine Definition: '{', '.join(parts)}'"
