"""The optimized Athena integration ``arn:aws:states:::athena:<action>[.sync]``.

moto 5.2.5's interpreter forwards optimized Athena calls to the service as they are
(request-response) and has no ``.sync`` for them. Step Functions documents
``startQueryExecution.sync`` ("Run a Job"): the state waits until the query is final and its
output is the ``GetQueryExecution`` response; a query that ends FAILED or CANCELLED fails the
state with ``States.TaskFailed`` and the ``GetQueryExecution`` response as the cause (the way
the interpreter's Glue ``startJobRun.sync`` reports a failed run). Calls are signed with the
state machine role's credentials, so the role needs what AWS's generated policy for .sync
lists: ``athena:StartQueryExecution``, ``athena:GetQueryExecution`` (and StopQueryExecution,
which StopExecution uses), plus the Glue/S3 access the query itself needs.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["install", "TERMINAL_STATES"]

log = logging.getLogger(__name__)

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


def install() -> None:
    """Route ``athena`` optimized integrations to :class:`StateTaskServiceAthena` (once)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory

    original = state_task_factory.state_task_service_for
    if getattr(original, "_lk_athena", False):
        return
    athena_class = _athena_class()

    def state_task_service_for(service_name: str) -> Any:
        if service_name == "athena":
            return athena_class()
        return original(service_name=service_name)

    state_task_service_for._lk_athena = True  # type: ignore[attr-defined]
    state_task_factory.state_task_service_for = state_task_service_for


def _athena_class() -> type:
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (  # noqa: E501
        StateTaskServiceUnsupported,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    from lakekit.local.stepfunctions.interpreter import boto_client_for

    class StateTaskServiceAthena(StateTaskServiceUnsupported):
        """Request-response for every Athena action, ``.sync`` for startQueryExecution."""

        def __init__(self) -> None:
            super().__init__()
            self._supported_integration_patterns = {ResourceCondition.Sync}  # type: ignore[misc]

        def _log_unsupported_warning(self) -> None:  # supported here: nothing to warn about
            return

        def _build_sync_resolver(self, env: Any, resource_runtime_part: Any,
                                 normalised_parameters: dict, state_credentials: Any
                                 ) -> Callable[[], Any] | None:
            if self._get_boto_service_action() != "start_query_execution":
                raise RuntimeError(f"Unsupported .sync callback procedure in resource "
                                   f"{self.resource.resource_arn}: Step Functions runs only "
                                   f"athena:startQueryExecution as a job (.sync)")
            started: dict = env.stack.pop()
            query_id = started["QueryExecutionId"]
            client = boto_client_for(service="athena", region=resource_runtime_part.region,
                                     state_credentials=state_credentials)

            def resolve() -> Any | None:
                got = client.get_query_execution(QueryExecutionId=query_id)
                got.pop("ResponseMetadata", None)
                state = got["QueryExecution"]["Status"]["State"]
                if state not in TERMINAL_STATES:
                    return None
                if state == "SUCCEEDED":
                    return json.loads(to_json_str(got))   # timestamps as ISO-8601 strings
                name = StatesErrorNameType.StatesTaskFailed.to_name()
                raise FailureEventException(FailureEvent(
                    env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(), error=name,
                        cause=to_json_str(got)))))

            return resolve

    return StateTaskServiceAthena
