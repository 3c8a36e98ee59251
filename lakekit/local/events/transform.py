"""What a target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``.

As the EventBridge User Guide ("Amazon EventBridge input transformation") and the API
reference (``Target``, ``InputTransformer``) describe it:

* no input settings: the whole event as JSON;
* ``Input``: that JSON text as is, the event is not passed;
* ``InputPath``: the part of the event the JSONPath selects (``$.detail``);
* ``InputTransformer``: variables from ``InputPathsMap`` (JSONPath into the event) plus the
  predefined ``aws.events.rule-arn``, ``aws.events.rule-name``,
  ``aws.events.event.ingestion-time``, ``aws.events.event`` (the event without ``detail``) and
  ``aws.events.event.json`` (the whole event), put into ``InputTemplate`` where it says
  ``<name>``. Inside a JSON string a string value goes in as its text (not escaped) and an
  object or array loses its inner quotes; outside a string every value goes in as JSON (a
  string gets its quotes). A variable whose path is not in the event is not created: nothing
  inside a string, ``null`` outside one.

Example::

    >>> event = {"detail": {"instance-id": "i-1", "state": "RUNNING"}}
    >>> render_template('{"id": <i>, "msg": "<i> is <s>"}', {"i": "$.detail.instance-id",
    ...                 "s": "$.detail.state"}, event, rule_arn="arn:r", rule_name="r")
    '{"id": "i-1", "msg": "i-1 is RUNNING"}'
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any

__all__ = ["target_input", "render_template", "json_path", "MISSING"]

MISSING = object()
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def json_path(event: Any, path: str) -> Any:
    """The value at ``path`` (dot notation, array indices, ``*``) or :data:`MISSING`."""
    from jsonpath_ng.ext import parse

    found = parse(path).find(event)
    if not found:
        return MISSING
    if len(found) == 1 and "*" not in path:
        return found[0].value
    return [f.value for f in found]


def _ingestion_time(event: dict[str, Any]) -> str:
    stamp = event.get("ingestion-time") if isinstance(event, dict) else None
    when = _dt.datetime.fromtimestamp(stamp, _dt.UTC) if isinstance(stamp, (int, float)) \
        else _dt.datetime.now(_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _variables(paths: dict[str, str], event: dict[str, Any], rule_arn: str, rule_name: str
               ) -> dict[str, Any]:
    wire = {k: v for k, v in event.items() if k != "ingestion-time"}
    envelope = {k: v for k, v in wire.items() if k != "detail"}
    out: dict[str, Any] = {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": _ingestion_time(event),
        "aws.events.event": _Raw(json.dumps(envelope)),
        "aws.events.event.json": _Raw(json.dumps(wire)),
    }
    for name, path in (paths or {}).items():
        out[name] = json_path(wire, path)
    return out


class _Raw(str):
    """A JSON document inserted verbatim (the ``aws.events.event*`` variables)."""


def _in_string(value: Any) -> str:
    if value is MISSING or value is None:
        return "" if value is MISSING else "null"
    if isinstance(value, _Raw):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":")).replace('"', "")
    return json.dumps(value)


def _outside(value: Any) -> str:
    if value is MISSING:
        return "null"
    if isinstance(value, _Raw):
        return str(value)
    return json.dumps(value)


def render_template(template: str, paths: dict[str, str], event: dict[str, Any], *,
                    rule_arn: str, rule_name: str) -> str:
    """``InputTemplate`` with its ``<variables>`` filled from ``event`` (see the module doc)."""
    variables = _variables(paths, event, rule_arn, rule_name)
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "<":
            m = _PLACEHOLDER.match(template, i)
            if m and m.group(1) in variables:
                value = variables[m.group(1)]
                out.append(_in_string(value) if in_string else _outside(value))
                i = m.end()
                continue
        if ch == "\\" and in_string and i + 1 < len(template):
            out.append(template[i:i + 2])
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
        out.append(ch)
        i += 1
    return "".join(out)


def target_input(target: dict[str, Any], event: dict[str, Any], *, rule_arn: str,
                 rule_name: str) -> str:
    """The text EventBridge sends to ``target`` (a PutTargets ``Target``) for ``event``."""
    wire = {k: v for k, v in event.items() if k != "ingestion-time"}
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        value = json_path(wire, target["InputPath"])
        return json.dumps(None if value is MISSING else value)
    transformer = target.get("InputTransformer")
    if transformer:
        return render_template(str(transformer.get("InputTemplate", "")),
                               transformer.get("InputPathsMap") or {}, event,
                               rule_arn=rule_arn, rule_name=rule_name)
    return json.dumps(wire)
