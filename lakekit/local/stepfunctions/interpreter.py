"""Hooks that make moto's bundled ASL interpreter run inside the lakekit endpoint.

moto 5.2.5 ships LocalStack's Amazon States Language interpreter (``moto.stepfunctions.parser``).
Out of the box its task integrations call ``http://localhost:$MOTO_PORT`` with the fixed keys
``ak``/``sk`` and its Wait/Retry sleep in real time. :func:`install` (idempotent, called by
:mod:`lakekit.local.services.stepfunctions`) changes, from here, never in site-packages:

* **credentials** - every service call of a task is signed with temporary credentials of the
  state machine's role (or the task's ``Credentials.RoleArn``), assumed *as the service principal*
  ``states.amazonaws.com`` (:func:`lakekit.local._clients.role_credentials`), and sent to this
  endpoint's gateway: strict IAM evaluates the role's policies for every ``glue:StartJobRun``,
  ``sns:Publish``... A role whose trust policy does not let ``states.amazonaws.com`` assume it
  fails the task with ``States.TaskFailed`` and AWS's cause "Neither the global service principal
  states.amazonaws.com, nor the regional one is authorized to assume the provided role."
* **time** - ``LAKEKIT_SFN_TIME_SCALE`` (default ``1``; e.g. ``0.01`` in tests and workshops)
  multiplies the real time a ``Wait`` state or a ``Retry`` interval sleeps. What is *recorded*
  does not change: each execution keeps a virtual clock that advances by the part of a wait that
  was compressed, so history timestamps, ``stopDate`` and ``ExecutionTime`` show the declared
  intervals (a Retry with ``IntervalSeconds: 2, BackoffRate: 2`` has TaskFailed -> TaskScheduled
  gaps of 2 s, 4 s, ...) as on AWS. Waits stay interruptible by StopExecution.
* **timestamps** - service responses enter the state data with their timestamps as ISO-8601
  strings (botocore's datetimes cannot pass through JSON paths, intrinsics or the output).
* **States.ALL** - matches every error name except ``States.Runtime`` and
  ``States.DataLimitExceeded``, in ``Retry`` and ``Catch`` alike: "The States.ALL error type ...
  can't catch the States.DataLimitExceeded terminal error or Runtime error types" (developer
  guide, "Handling errors in Step Functions workflows"). moto's interpreter caught them, so a
  runtime error (a JSONPath not found, an intrinsic function failing) took a Catch locally where
  AWS fails the execution.
* **streaming bodies** - an ``aws-sdk:<service>:<action>`` output carries a streaming member
  (``s3:getObject``'s ``Body``) as the content, a string, as AWS returns it; moto 5.2.5 left
  botocore's StreamingBody object there, so ``States.StringToJson($.Body)`` failed
  ``States.Runtime`` and the history showed the object's repr.
* **error names** - ``aws-sdk:<service>:<action>`` failures are ``<Service>.<ErrorCode>`` with
  the ``Exception`` suffix, PascalCase service ("Glue.EntityNotFoundException",
  "Athena.InvalidRequestException"), as the developer guide's "AWS SDK service integrations"
  states; the optimized Glue integration's cause carries the SDK's
  ``(Service: AWSGlue; Status Code: ..; Error Code: ..; Request ID: ..; Proxy: null)`` suffix
  like the Lambda integration's does.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

__all__ = ["install", "time_scale", "TIME_SCALE_ENV", "ROLE_NOT_ASSUMABLE", "RoleNotAssumable",
           "sink", "clock_offset"]

log = logging.getLogger(__name__)

TIME_SCALE_ENV = "LAKEKIT_SFN_TIME_SCALE"
SERVICE_PRINCIPAL = "states.amazonaws.com"
ROLE_NOT_ASSUMABLE = ("Neither the global service principal states.amazonaws.com, nor the regional "
                      "one is authorized to assume the provided role.")
_CLIENT_CONFIG = Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"},
                        connect_timeout=10, read_timeout=300, max_pool_connections=16)
# PascalCase service names of the aws-sdk integrations' error names (botocore name -> SFN name)
_SDK_SERVICE_NAMES = {
    "athena": "Athena", "glue": "Glue", "s3": "S3", "lambda": "Lambda", "sns": "Sns", "sqs": "Sqs",
    "dynamodb": "DynamoDb", "sfn": "Sfn", "stepfunctions": "Sfn", "cloudwatch": "CloudWatch",
    "eventbridge": "EventBridge", "events": "EventBridge", "lakeformation": "LakeFormation",
    "sts": "Sts", "iam": "Iam", "kms": "Kms", "logs": "CloudWatchLogs", "secretsmanager": "SecretsManager",
    "ssm": "Ssm", "ec2": "Ec2", "ecs": "Ecs",
}
_PATCH_MODULES = [
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
]
_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


class RoleNotAssumable(Exception):
    """``states.amazonaws.com`` could not assume the role a task runs with."""


@dataclass
class _ExecutionCredentials:
    """The interpreter's StateCredentials plus which execution asks (the role session's name)."""

    role_arn: str
    execution_name: str = ""


def time_scale() -> float:
    """``LAKEKIT_SFN_TIME_SCALE`` as a factor in [0, 1] (1 = real time; bad values -> 1)."""
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number; Wait/Retry run in real time", TIME_SCALE_ENV, raw)
        return 1.0
    return min(max(value, 0.0), 1.0)


def clock_offset(event_manager: Any) -> float:
    """Seconds the execution's virtual clock is ahead of the wall clock (compressed waits)."""
    return float(getattr(event_manager, "_lk_offset", 0.0))


def sink(event_manager: Any, callback: Any) -> None:
    """Call ``callback(event)`` for every history event the execution records from now on."""
    event_manager._lk_sink = callback


def pause(env: Any, seconds: float) -> None:
    """Wait ``seconds`` of execution time (scaled), interruptible by stop/failure of ``env``."""
    if seconds is None or seconds <= 0:
        return
    real = float(seconds) * time_scale()
    started = time.monotonic()
    deadline = started + real
    while env.is_running():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        env.program_state_event.wait(min(left, 1.0))
    if env.is_running():
        skipped = float(seconds) - (time.monotonic() - started)
        if skipped > 0:
            em = env.event_manager
            with _INSTALL_LOCK:
                em._lk_offset = clock_offset(em) + skipped


# -- the boto client factory ------------------------------------------------------------------
def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """A client to this endpoint, signed as the task's role assumed by states.amazonaws.com."""
    from lakekit.local import runtime
    from lakekit.local._clients import (
        credentials_client,
        endpoint_client,
        role_credentials,
        role_session_name,
    )

    endpoint = runtime.endpoint_url()
    role_arn = getattr(state_credentials, "role_arn", None) or ""
    if not endpoint:
        raise RuntimeError("the Step Functions interpreter runs outside the lakekit endpoint "
                           "(no endpoint URL configured)")
    if not role_arn:
        raise RoleNotAssumable(ROLE_NOT_ASSUMABLE)
    name = getattr(state_credentials, "execution_name", "") or "execution"
    session = role_session_name(f"StepFunctions-{name}")
    sts = endpoint_client(endpoint, "sts", region or "us-east-1")
    try:
        creds = role_credentials(sts, role_arn, session, service=SERVICE_PRINCIPAL)
    except ClientError as exc:
        log.info("states.amazonaws.com could not assume %s: %s", role_arn, exc)
        raise RoleNotAssumable(ROLE_NOT_ASSUMABLE) from exc
    client = credentials_client(endpoint, service, region, creds, config=_CLIENT_CONFIG)
    client.meta.events.register("after-call", _jsonable_response, unique_id=_ISO_HANDLER)
    return client


_ISO_HANDLER = "lakekit-sfn-iso-timestamps"


def _jsonable_response(parsed: Any = None, **_: Any) -> None:
    """A service response enters the state's JSON data: timestamps become ISO-8601 strings
    (botocore parses them into datetimes, which no JSON path, intrinsic function or output can
    carry)."""
    if isinstance(parsed, dict):
        _iso_in_place(parsed)


def _iso_in_place(value: Any) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _iso_in_place(item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _iso_in_place(item)
    elif isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return value


# -- install ----------------------------------------------------------------------------------
def install() -> None:
    """Patch the interpreter once per process (see the module docstring)."""
    global _INSTALLED
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        _patch_clients()
        _patch_credentials()
        _patch_time()
        _patch_errors()
        _patch_catch_all()
        _patch_streaming_bodies()
        _patch_sync()
        from lakekit.local.stepfunctions import athena_sync

        athena_sync.install()
        _INSTALLED = True


def _patch_clients() -> None:
    import importlib

    for name in _PATCH_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "boto_client_for"):
            module.boto_client_for = boto_client_for
    from moto.stepfunctions.parser.asl.utils import boto_client

    boto_client.boto_client_for = boto_client_for


def _patch_credentials() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask

    original = StateTask._eval_state_credentials

    def eval_state_credentials(self: Any, env: Any) -> Any:
        creds = original(self, env)
        try:
            name = env.states.context_object.context_object_data["Execution"]["Name"]
        except (KeyError, AttributeError, TypeError):
            name = ""
        return _ExecutionCredentials(role_arn=getattr(creds, "role_arn", ""), execution_name=name)

    StateTask._eval_state_credentials = eval_state_credentials


def _patch_time() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import (
        MaxAttemptsOutcome,
    )
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    def retrier_eval_body(self: Any, env: Any) -> None:
        # moto's RetrierDecl._eval_body with its time.sleep(interval) made scaled and interruptible
        self.error_equals.eval(env)
        if not env.stack.pop():
            env.stack.append(RetrierOutcome.Skipped)
            return
        self.max_attempts.eval(env=env)
        if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
            env.stack.append(RetrierOutcome.Failed)
            return
        self.interval_seconds.eval(env=env)
        self.backoff_rate.eval(env=env)
        self.max_delay_seconds.eval(env=env)
        self.jitter_strategy.eval(env=env)
        interval: float = env.stack.pop()
        pause(env, interval)
        env.stack.append(RetrierOutcome.Executed)

    retrier_decl.RetrierDecl._eval_body = retrier_eval_body

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        pause(env, wait_seconds)

    WaitFunction._wait_interval = wait_interval

    original_add = EventManager.add_event

    def add_event(self: Any, context: Any, event_type: Any, event_details: Any = None,
                  timestamp: Any = None, update_source_event_id: bool = True) -> int:
        if timestamp is None:
            timestamp = _dt.datetime.now(tz=_dt.UTC) + _dt.timedelta(seconds=clock_offset(self))
        event_id = original_add(self, context, event_type, event_details, timestamp,
                                update_source_event_id)
        callback = getattr(self, "_lk_sink", None)
        if callback is not None:
            event = next((e for e in reversed(self._history_event_list) if e.get("id") == event_id),
                         None)
            if event is not None:
                try:
                    callback(event)
                except Exception:
                    log.exception("recording history event %s failed", event_id)
        return event_id

    EventManager.add_event = add_event


def _patch_errors() -> None:
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as sdk,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_glue as glue,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    base_from_error = ExecutionState._from_error

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, RoleNotAssumable):
            details = TaskFailedEventDetails(error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                             cause=str(ex))
            resource = getattr(self, "_get_sfn_resource", None)
            if resource is not None:
                details["resource"] = resource()
                details["resourceType"] = self._get_sfn_resource_type()
            return FailureEvent(env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                                event_type=HistoryEventType.TaskFailed,
                                event_details=EventDetails(taskFailedEventDetails=details))
        return base_from_error(self, env, ex)

    ExecutionState._from_error = from_error

    def sdk_service_name(service_name: str) -> str:
        low = service_name.lower()
        return _SDK_SERVICE_NAMES.get(low, service_name[:1].upper() + service_name[1:])

    def sdk_exception_name(norm_service_name: str, ex: Exception) -> str:
        code = ""
        if isinstance(ex, ClientError):
            code = str(ex.response.get("Error", {}).get("Code") or "")
        name = code or ex.__class__.__name__
        if name == "ClientError":
            name = norm_service_name
        full = f"{norm_service_name}.{name}"
        return full if full.endswith("Exception") else full + "Exception"

    sdk.StateTaskServiceAwsSdk._normalise_service_error_name = staticmethod(sdk_service_name)
    sdk.StateTaskServiceAwsSdk._normalise_exception_name = staticmethod(sdk_exception_name)

    glue_from_error = glue.StateTaskServiceGlue._from_error

    def glue_error(self: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return glue_from_error(self, env, ex)
        err, meta = ex.response.get("Error", {}), ex.response.get("ResponseMetadata", {})
        code = err.get("Code", "")
        name = f"Glue.{code}"
        cause = (f"{err.get('Message', '')} (Service: AWSGlue; Status Code: "
                 f"{meta.get('HTTPStatusCode', 400)}; Error Code: {code}; Request ID: "
                 f"{meta.get('RequestId', '')}; Proxy: null)")
        return FailureEvent(env=env, error_name=CustomErrorName(name),
                            event_type=HistoryEventType.TaskFailed,
                            event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                                error=name, cause=cause, resource=self._get_sfn_resource(),
                                resourceType=self._get_sfn_resource_type())))

    glue.StateTaskServiceGlue._from_error = glue_error


#: what ``States.ALL`` does not match (see the module docstring)
UNCATCHABLE = ("States.Runtime", "States.DataLimitExceeded")


def _patch_streaming_bodies() -> None:
    from botocore.response import StreamingBody
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as sdk,
    )

    original = sdk.StateTaskServiceAwsSdk._eval_service_task

    def eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        response = env.stack[-1] if env.stack else None
        if isinstance(response, dict):
            for key, value in list(response.items()):
                if isinstance(value, StreamingBody):
                    response[key] = value.read().decode("utf-8", errors="replace")

    sdk.StateTaskServiceAwsSdk._eval_service_task = eval_service_task


def _patch_catch_all() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl

    decl = error_equals_decl.ErrorEqualsDecl
    original = decl._eval_body

    def eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1] if env.stack else None
        name = getattr(error_name, "error_name", None)
        if name in UNCATCHABLE and decl._STATE_ALL_ERROR in self.error_names:
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    decl._eval_body = eval_body


def _patch_sync() -> None:
    """moto 5.2.5's ``.sync`` path calls ``callback_endpoint.interrupt_all()`` on a None endpoint
    for integrations without ``.waitForTaskToken`` (Glue): every ``glue:startJobRun.sync`` would
    fail with States.Runtime. Same method, with that one call guarded."""
    import json

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as cb,
    )

    def eval_integration_pattern(self: Any, env: Any, resource_runtime_part: Any,
                                 normalised_parameters: dict, state_credentials: Any) -> None:
        task_output = env.stack.pop()
        callback_endpoint = None
        if cb.ResourceCondition.WaitForTaskToken in self._supported_integration_patterns:
            callback_id = env.states.context_object.context_object_data["Task"]["Token"]
            callback_endpoint = env.callback_pool_manager.get(callback_id)
        self.timeout.eval(env=env)
        timeout_seconds = env.stack.pop()
        heartbeat_endpoint = None
        if self.heartbeat:
            self.heartbeat.eval(env=env)
            heartbeat_seconds = env.stack.pop()
            heartbeat_endpoint = callback_endpoint.setup_heartbeat_endpoint(
                heartbeat_seconds=heartbeat_seconds)
        try:
            if self.resource.condition == cb.ResourceCondition.WaitForTaskToken:
                outcome = self._eval_wait_for_task_token(
                    env=env, timeout_seconds=timeout_seconds, callback_endpoint=callback_endpoint,
                    heartbeat_endpoint=heartbeat_endpoint)
            else:
                env.stack.append(task_output)
                build = (self._build_sync_resolver
                         if self.resource.condition == cb.ResourceCondition.Sync
                         else self._build_sync2_resolver)
                sync_resolver = build(env=env, resource_runtime_part=resource_runtime_part,
                                      normalised_parameters=normalised_parameters,
                                      state_credentials=state_credentials)
                outcome = self._eval_sync(env=env, timeout_seconds=timeout_seconds,
                                          callback_endpoint=callback_endpoint,
                                          heartbeat_endpoint=heartbeat_endpoint,
                                          sync_resolver=sync_resolver)
        except Exception as integration_exception:
            outcome = integration_exception
        finally:
            if callback_endpoint is not None:
                callback_endpoint.interrupt_all()
        if isinstance(outcome, cb.CallbackOutcomeTimedOut):
            raise cb.CallbackTimeoutError()
        if isinstance(outcome, cb.HeartbeatTimedOut):
            raise cb.HeartbeatTimeoutError()
        if isinstance(outcome, cb.CallbackOutcomeFailure):
            raise cb.CallbackOutcomeFailureError(callback_outcome_failure=outcome)
        if isinstance(outcome, cb.CallbackOutcomeSuccess):
            env.stack.append(json.loads(outcome.output))
        elif isinstance(outcome, Exception):
            raise outcome
        else:
            env.stack.append(outcome)

    cb.StateTaskServiceCallback._eval_integration_pattern = eval_integration_pattern
