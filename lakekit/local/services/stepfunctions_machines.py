"""CreateStateMachine / UpdateStateMachine / ValidateStateMachineDefinition as AWS checks them.

moto stores state machines without looking at them. These executors refuse, before moto
stores anything, what Step Functions refuses:

* a definition that is not valid ASL -> ``InvalidDefinition`` (400) with AWS's message
  ``Invalid State Machine Definition: 'CODE: message at location, ...'`` (the findings of
  :mod:`lakekit.local.stepfunctions.validate`);
* a role that ``states.amazonaws.com`` cannot assume (its trust policy does not name the
  service, or the role does not exist) -> ``AccessDeniedException`` (400) "Neither the global
  service principal states.amazonaws.com, nor the regional one is authorized to assume the
  provided role." - AWS checks this at creation (and when UpdateStateMachine changes the role),
  so a bad role never reaches an execution.

``ValidateStateMachineDefinition`` answers the same findings as diagnostics
(``result`` OK/FAIL, ``diagnostics``, ``truncated``) without creating anything.
"""
from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

from lakekit.local.registry import AwsError, AwsRequest, operation
from lakekit.local.stepfunctions import interpreter, validate

__all__ = ["check_role", "check_definition"]

log = logging.getLogger(__name__)

_TYPES = ("STANDARD", "EXPRESS")


def _backend(req: AwsRequest) -> Any:
    from moto.stepfunctions.models import stepfunctions_backends

    return stepfunctions_backends[req.account_id][req.region]


def _ts(value: Any) -> float:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return round(value.timestamp(), 3)
    return float(value)


def _moto_error(exc: Exception) -> AwsError:
    code = getattr(exc, "error_type", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    return AwsError(str(code), str(message), int(getattr(exc, "code", 400) or 400))


def check_definition(definition: Any) -> None:
    """Raise ``InvalidDefinition`` (AWS's message) when ``definition`` is not valid ASL."""
    if definition is None:
        raise AwsError("ValidationException", "1 validation error detected: Value null at "
                       "'definition' failed to satisfy constraint: Member must not be null")
    found = validate.diagnostics(str(definition))
    if found:
        raise AwsError("InvalidDefinition", validate.invalid_definition_message(found))


def check_role(req: AwsRequest, role_arn: str) -> None:
    """Raise AWS's AccessDeniedException when states.amazonaws.com cannot assume ``role_arn``."""
    from botocore.exceptions import ClientError

    from lakekit.local._clients import endpoint_client
    from lakekit.local.iam.principals import service_key

    # not the cached role_credentials: a trust policy changed since must be seen now
    sts = endpoint_client(req.endpoint_url, "sts", req.region,
                          service_key(interpreter.SERVICE_PRINCIPAL))
    try:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="StepFunctions-CreateStateMachine",
                        DurationSeconds=900)
    except ClientError as exc:
        log.info("CreateStateMachine: states.amazonaws.com cannot assume %s: %s", role_arn, exc)
        raise AwsError("AccessDeniedException", interpreter.ROLE_NOT_ASSUMABLE) from exc


def _check_type(value: Any) -> None:
    if value is not None and value not in _TYPES:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{value}' at "
                       f"'type' failed to satisfy constraint: Member must satisfy enum value set: "
                       f"[{', '.join(_TYPES)}]")


@operation("states", "CreateStateMachine")
def create_state_machine(req: AwsRequest) -> dict[str, Any]:
    from moto.core.exceptions import JsonRESTError

    p = req.params
    for key in ("name", "definition", "roleArn"):
        if p.get(key) is None:
            raise AwsError("ValidationException", f"1 validation error detected: Value null at "
                           f"'{key}' failed to satisfy constraint: Member must not be null")
    _check_type(p.get("type"))
    if p.get("versionDescription") and not p.get("publish"):
        raise AwsError("ValidationException",
                       "Version description can only be set when publish is true")
    backend = _backend(req)
    try:
        backend._validate_name(str(p["name"]))
        backend._validate_role_arn(str(p["roleArn"]))
    except JsonRESTError as exc:
        raise _moto_error(exc) from exc
    check_definition(p["definition"])
    check_role(req, str(p["roleArn"]))
    try:
        sm = backend.create_state_machine(
            name=p["name"], definition=p["definition"], roleArn=p["roleArn"], tags=p.get("tags"),
            publish=p.get("publish"), loggingConfiguration=p.get("loggingConfiguration"),
            tracingConfiguration=p.get("tracingConfiguration"),
            encryptionConfiguration=p.get("encryptionConfiguration"),
            version_description=p.get("versionDescription"), sm_type=p.get("type"))
    except JsonRESTError as exc:
        raise _moto_error(exc) from exc
    out: dict[str, Any] = {"stateMachineArn": sm.arn, "creationDate": _ts(sm.creation_date)}
    if getattr(sm, "latest_version", None) is not None:
        out["stateMachineVersionArn"] = sm.latest_version.arn
    return out


@operation("states", "UpdateStateMachine")
def update_state_machine(req: AwsRequest) -> dict[str, Any]:
    from moto.core.exceptions import JsonRESTError

    p = req.params
    arn = str(p.get("stateMachineArn") or "")
    if not arn:
        raise AwsError("ValidationException", "1 validation error detected: Value null at "
                       "'stateMachineArn' failed to satisfy constraint: Member must not be null")
    if p.get("versionDescription") and not p.get("publish"):
        raise AwsError("ValidationException",
                       "Version description can only be set when publish is true")
    if all(p.get(k) is None for k in ("definition", "roleArn", "loggingConfiguration",
                                      "tracingConfiguration", "encryptionConfiguration")):
        raise AwsError("MissingRequiredParameter", "Either the definition, the role ARN, the "
                       "LoggingConfiguration, the EncryptionConfiguration or the "
                       "TracingConfiguration must be specified")
    backend = _backend(req)
    try:
        backend.describe_state_machine(arn)
        if p.get("roleArn") is not None:
            backend._validate_role_arn(str(p["roleArn"]))
    except JsonRESTError as exc:
        raise _moto_error(exc) from exc
    if p.get("definition") is not None:
        check_definition(p["definition"])
    if p.get("roleArn") is not None:
        check_role(req, str(p["roleArn"]))
    try:
        sm = backend.update_state_machine(
            arn=arn, definition=p.get("definition"), role_arn=p.get("roleArn"),
            tracing_configuration=p.get("tracingConfiguration"),
            encryption_configuration=p.get("encryptionConfiguration"),
            logging_configuration=p.get("loggingConfiguration"), publish=p.get("publish"),
            version_description=p.get("versionDescription"))
    except JsonRESTError as exc:
        raise _moto_error(exc) from exc
    out: dict[str, Any] = {"updateDate": _ts(sm.update_date)}
    if p.get("publish") and getattr(sm, "latest_version", None) is not None:
        out["stateMachineVersionArn"] = sm.latest_version.arn
    return out


@operation("states", "ValidateStateMachineDefinition")
def validate_state_machine_definition(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    if p.get("definition") is None:
        raise AwsError("ValidationException", "1 validation error detected: Value null at "
                       "'definition' failed to satisfy constraint: Member must not be null")
    _check_type(p.get("type"))
    severity = p.get("severity")
    if severity is not None and severity not in ("ERROR", "WARNING"):
        raise AwsError("ValidationException", f"1 validation error detected: Value '{severity}' "
                       "at 'severity' failed to satisfy constraint: Member must satisfy enum "
                       "value set: [ERROR, WARNING]")
    size = int(p.get("maxResults") or 0)
    if not 0 <= size <= 100:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{size}' at "
                       "'maxResults' failed to satisfy constraint: Member must have value less "
                       "than or equal to 100")
    size = size or 100
    found = validate.diagnostics(str(p["definition"]))
    return {"result": "FAIL" if found else "OK", "diagnostics": found[:size],
            "truncated": len(found) > size}
