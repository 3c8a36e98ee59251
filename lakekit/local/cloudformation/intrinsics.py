"""CloudFormation templates: parsing and intrinsic functions.

Templates are parsed with cfn-lint's decoder (the YAML short forms ``!Ref``, ``!Sub``,
``!GetAtt``... become their long ``{"Fn::...": ...}`` form) and turned into plain Python
values. :class:`Resolver` evaluates conditions and intrinsic functions against parameter
values, pseudo parameters, mappings, exports and the resources created so far.

Example::

    >>> from lakekit.local.cloudformation.intrinsics import parse_template, Resolver, Context
    >>> t = parse_template("Resources: {}\\nOutputs: {A: {Value: !Sub '${AWS::Region}-x'}}")
    >>> Resolver(Context(region="eu-west-1")).resolve(t["Outputs"]["A"]["Value"])
    'eu-west-1-x'
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TemplateError",
    "NO_VALUE",
    "Context",
    "Resolver",
    "parse_template",
    "references",
    "PSEUDO_PARAMETERS",
]

PSEUDO_PARAMETERS = ("AWS::AccountId", "AWS::Region", "AWS::StackName", "AWS::StackId",
                     "AWS::Partition", "AWS::URLSuffix", "AWS::NoValue", "AWS::NotificationARNs")
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """The template is invalid (AWS: ``ValidationError`` 'Template format error: ...')."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"

    def __reduce__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


def _plain(value: Any) -> Any:
    """cfn-lint's node classes -> plain dict/list/str/int/float/bool (picklable)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if value is None:
        return None
    return str(value)


def parse_template(body: str) -> dict[str, Any]:
    """JSON or YAML (short forms included) -> a plain dict; raises :class:`TemplateError`."""
    from cfnlint.decode import decode_str

    text = body.strip()
    if not text:
        raise TemplateError("Template format error: the template body is empty.")
    if text.startswith("{"):
        try:
            template = json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"Template format error: JSON not well-formed. ({exc})") from None
    else:
        decoded, matches = decode_str(body)
        if matches or decoded is None:
            detail = "; ".join(m.message for m in matches) or "not a mapping"
            raise TemplateError(f"Template format error: YAML not well-formed. ({detail})")
        template = _plain(decoded)
    if not isinstance(template, dict):
        raise TemplateError("Template format error: the template must be a JSON/YAML object.")
    known = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Mappings",
             "Conditions", "Transform", "Resources", "Outputs", "Rules"}
    unknown = sorted(set(template) - known)
    if unknown:
        raise TemplateError(f"Template format error: Invalid template property or properties {unknown}")
    if "Transform" in template:
        raise TemplateError(
            f"Transform {template['Transform']} is not supported by the local CloudFormation "
            "engine: expand it (e.g. `sam build` / `aws cloudformation package`) or deploy with "
            "LAKEKIT_TARGET=aws.")
    if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        raise TemplateError("Template format error: At least one Resources member must be defined.")
    return template


@dataclass
class Context:
    """What intrinsic functions can see."""

    account_id: str = "123456789012"
    region: str = "us-east-1"
    stack_name: str = "stack"
    stack_id: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)  # raw condition definitions
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical -> {ref, attrs}
    exports: Callable[[str], Any] | None = None
    template_resources: dict[str, Any] = field(default_factory=dict)

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def url_suffix(self) -> str:
        return "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"


class Resolver:
    """Evaluates conditions and intrinsic functions in a :class:`Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._condition_cache: dict[str, bool] = {}

    # -- conditions --------------------------------------------------------
    def condition(self, name: str, _stack: tuple[str, ...] = ()) -> bool:
        if name in self._condition_cache:
            return self._condition_cache[name]
        if name not in self.ctx.conditions:
            raise TemplateError(f"Template format error: Unresolved dependencies [{name}]. "
                                "Cannot reference resources in the Conditions block of the template")
        if name in _stack:
            raise TemplateError(f"Template format error: Circular dependency between conditions: "
                                f"{list(_stack) + [name]}")
        value = self._cond_value(self.ctx.conditions[name], _stack + (name,))
        self._condition_cache[name] = value
        return value

    def _cond_value(self, expr: Any, stack: tuple[str, ...]) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            fn, arg = next(iter(expr.items()))
            if fn == "Condition":
                return self.condition(arg, stack)
            if fn == "Fn::Equals":
                if not isinstance(arg, list) or len(arg) != 2:
                    raise TemplateError("Template error: Fn::Equals takes exactly two values.")
                a, b = (self._resolve(v, stack) for v in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self._cond_value(_one(arg, "Fn::Not"), stack)
            if fn == "Fn::And":
                return all(self._cond_value(v, stack) for v in _list(arg, "Fn::And", 2, 10))
            if fn == "Fn::Or":
                return any(self._cond_value(v, stack) for v in _list(arg, "Fn::Or", 2, 10))
        raise TemplateError(f"Template error: a condition must be Fn::Equals, Fn::And, Fn::Or, "
                            f"Fn::Not or Condition, got {json.dumps(expr)[:120]}")

    # -- intrinsics --------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Evaluate every intrinsic in ``value``; ``AWS::NoValue`` removes keys/items."""
        return self._resolve(value, ())

    def _resolve(self, value: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(value, list):
            out = [self._resolve(v, stack) for v in value]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            fn, arg = next(iter(value.items()))
            handler = _FUNCTIONS.get(fn)
            if handler is not None:
                return handler(self, arg, stack)
            if fn.startswith("Fn::"):
                raise TemplateError(f"Template error: {fn} is not a supported intrinsic function "
                                    "in the local engine (supported: "
                                    f"{', '.join(sorted(_FUNCTIONS))}).")
        out = {}
        for k, v in value.items():
            r = self._resolve(v, stack)
            if r is not NO_VALUE:
                out[k] = r
        return out

    def ref(self, name: str) -> Any:
        ctx = self.ctx
        pseudo = {
            "AWS::AccountId": ctx.account_id, "AWS::Region": ctx.region,
            "AWS::StackName": ctx.stack_name, "AWS::StackId": ctx.stack_id,
            "AWS::Partition": ctx.partition, "AWS::URLSuffix": ctx.url_suffix,
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in ctx.parameters:
            return ctx.parameters[name]
        if name in ctx.resources:
            return ctx.resources[name]["ref"]
        if name in ctx.template_resources:
            raise TemplateError(f"Template error: resource {name} is referenced but not created "
                                "(its Condition is false, or it is not created yet).")
        raise TemplateError(f"Template format error: Unresolved resource dependencies [{name}] "
                            "in the Resources block of the template")

    def get_att(self, logical: str, attribute: str) -> Any:
        res = self.ctx.resources.get(logical)
        if res is None:
            if logical in self.ctx.template_resources:
                raise TemplateError(f"Template error: resource {logical} is referenced by "
                                    f"Fn::GetAtt but not created (its Condition is false).")
            raise TemplateError(f"Template error: instance of Fn::GetAtt references undefined "
                                f"resource {logical}")
        attrs = res.get("attrs", {})
        if attribute not in attrs:
            raise TemplateError(f"Template error: resource {logical} ({res.get('type')}) has no "
                                f"attribute {attribute} (available: {', '.join(sorted(attrs))}).")
        return attrs[attribute]

    def find_in_map(self, map_name: str, top: str, second: str) -> Any:
        try:
            return self.ctx.mappings[map_name][top][second]
        except KeyError:
            raise TemplateError(f"Template error: Unable to get mapping for {map_name}::{top}::"
                                f"{second}") from None

    def import_value(self, name: str) -> Any:
        found = self.ctx.exports(name) if self.ctx.exports else None
        if found is None:
            raise TemplateError(f"No export named {name} found. Deploy the stack that exports it "
                                "first (ListExports shows what exists).")
        return found


def _one(arg: Any, fn: str) -> Any:
    if isinstance(arg, list):
        if len(arg) != 1:
            raise TemplateError(f"Template error: {fn} takes a list of exactly one condition.")
        return arg[0]
    return arg


def _list(arg: Any, fn: str, lo: int, hi: int) -> list[Any]:
    if not isinstance(arg, list) or not lo <= len(arg) <= hi:
        raise TemplateError(f"Template error: {fn} takes a list of {lo} to {hi} values.")
    return arg


def _fn_ref(r: Resolver, arg: Any, stack: tuple[str, ...]) -> Any:
    if not isinstance(arg, str):
        raise TemplateError("Template error: Ref takes the name of a parameter or resource.")
    return r.ref(arg)


def _fn_get_att(r: Resolver, arg: Any, stack: tuple[str, ...]) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError("Template error: Fn::GetAtt takes [LogicalId, Attribute].")
    attribute = r._resolve(arg[1], stack)
    return r.get_att(arg[0], attribute)


def _stringify(value: Any, fn: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and fn == "Ref-list":
        return ",".join(str(v) for v in value)
    raise TemplateError(f"Template error: {fn} can only substitute strings, got {json.dumps(value)}")


def _fn_sub(r: Resolver, arg: Any, stack: tuple[str, ...]) -> str:
    if isinstance(arg, str):
        text, variables = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        text, variables = arg[0], {k: r._resolve(v, stack) for k, v in arg[1].items()}
    else:
        raise TemplateError("Template error: Fn::Sub takes a string or [string, {Var: value}].")

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        name = name.strip()
        if name in variables:
            return _stringify(variables[name], "Fn::Sub")
        if "." in name and not name.startswith("AWS::"):
            logical, attribute = name.split(".", 1)
            return _stringify(r.get_att(logical, attribute), "Fn::Sub")
        value = r.ref(name)
        if value is NO_VALUE:
            raise TemplateError("Template error: AWS::NoValue cannot be used in Fn::Sub.")
        return _stringify(value, "Ref-list" if isinstance(value, list) else "Fn::Sub")

    return _SUB_VAR.sub(replace, text)


def _fn_join(r: Resolver, arg: Any, stack: tuple[str, ...]) -> str:
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError("Template error: Fn::Join takes [delimiter, [values]].")
    delim = r._resolve(arg[0], stack)
    values = r._resolve(arg[1], stack)
    if not isinstance(values, list):
        raise TemplateError("Template error: the second element of Fn::Join must be a list.")
    return str(delim).join(_stringify(v, "Fn::Join") for v in values)


def _fn_select(r: Resolver, arg: Any, stack: tuple[str, ...]) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError("Template error: Fn::Select takes [index, [values]].")
    index = r._resolve(arg[0], stack)
    values = r._resolve(arg[1], stack)
    try:
        i = int(index)
    except (TypeError, ValueError):
        raise TemplateError(f"Template error: Fn::Select index {index!r} is not a number.") from None
    if not isinstance(values, list) or not 0 <= i < len(values):
        raise TemplateError(f"Template error: Fn::Select cannot select nonexistent value at index {i}")
    return values[i]


def _fn_split(r: Resolver, arg: Any, stack: tuple[str, ...]) -> list[str]:
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError("Template error: Fn::Split takes [delimiter, string].")
    delim, source = r._resolve(arg[0], stack), r._resolve(arg[1], stack)
    if not isinstance(source, str) or not isinstance(delim, str) or not delim:
        raise TemplateError("Template error: Fn::Split needs a non-empty delimiter and a string.")
    return source.split(delim)


def _fn_if(r: Resolver, arg: Any, stack: tuple[str, ...]) -> Any:
    if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
        raise TemplateError("Template error: Fn::If takes [ConditionName, value_if_true, value_if_false].")
    return r._resolve(arg[1] if r.condition(arg[0]) else arg[2], stack)


def _fn_equals(r: Resolver, arg: Any, stack: tuple[str, ...]) -> bool:
    return r._cond_value({"Fn::Equals": arg}, stack)


def _fn_and(r: Resolver, arg: Any, stack: tuple[str, ...]) -> bool:
    return r._cond_value({"Fn::And": arg}, stack)


def _fn_or(r: Resolver, arg: Any, stack: tuple[str, ...]) -> bool:
    return r._cond_value({"Fn::Or": arg}, stack)


def _fn_not(r: Resolver, arg: Any, stack: tuple[str, ...]) -> bool:
    return r._cond_value({"Fn::Not": arg}, stack)


def _fn_condition(r: Resolver, arg: Any, stack: tuple[str, ...]) -> bool:
    return r.condition(arg, stack)


def _fn_find_in_map(r: Resolver, arg: Any, stack: tuple[str, ...]) -> Any:
    if not isinstance(arg, list) or len(arg) not in (3, 4):
        raise TemplateError("Template error: Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey].")
    names = [r._resolve(v, stack) for v in arg[:3]]
    return r.find_in_map(*[str(n) for n in names])


def _fn_import_value(r: Resolver, arg: Any, stack: tuple[str, ...]) -> Any:
    return r.import_value(str(r._resolve(arg, stack)))


def _fn_get_azs(r: Resolver, arg: Any, stack: tuple[str, ...]) -> list[str]:
    region = r._resolve(arg, stack) or r.ctx.region
    return [f"{region}{s}" for s in "abcdef"]


def _fn_base64(r: Resolver, arg: Any, stack: tuple[str, ...]) -> str:
    value = r._resolve(arg, stack)
    return base64.b64encode(_stringify(value, "Fn::Base64").encode()).decode()


_FUNCTIONS: dict[str, Callable[[Resolver, Any, tuple[str, ...]], Any]] = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Fn::Not": _fn_not,
    "Condition": _fn_condition,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::ImportValue": _fn_import_value,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::Base64": _fn_base64,
}


def references(value: Any, condition: Callable[[str], bool] | None = None) -> set[str]:
    """Logical ids (resources or parameters) that ``value`` refers to.

    With ``condition`` given, only the taken branch of each ``Fn::If`` counts (what the
    stack will really use). Pseudo parameters are left out.
    """
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, list):
            for item in v:
                walk(item)
            return
        if not isinstance(v, dict):
            return
        if len(v) == 1:
            fn, arg = next(iter(v.items()))
            if fn == "Ref" and isinstance(arg, str):
                if arg not in PSEUDO_PARAMETERS:
                    found.add(arg)
                return
            if fn == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                if isinstance(target, str):
                    found.add(target)
                if isinstance(arg, list):
                    walk(arg[1:])
                return
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                if isinstance(variables, dict):
                    walk(list(variables.values()))
                for name in _SUB_VAR.findall(text if isinstance(text, str) else ""):
                    if name.startswith("!") or name.strip() in variables:
                        continue
                    name = name.strip()
                    target = name.split(".", 1)[0] if "." in name and not name.startswith("AWS::") else name
                    if target not in PSEUDO_PARAMETERS:
                        found.add(target)
                return
            if fn == "Fn::If" and condition is not None and isinstance(arg, list) and len(arg) == 3:
                walk(arg[1] if condition(arg[0]) else arg[2])
                return
        for item in v.values():
            walk(item)

    walk(value)
    return found
