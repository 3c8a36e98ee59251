"""Local Step Functions executions: StartExecution really runs the state machine's ASL.

State machines stay in moto (Create/Describe/Update/Delete/ListStateMachines pass through);
this module answers ``StartExecution``, ``DescribeExecution``, ``GetExecutionHistory``,
``StopExecution``, ``ListExecutions`` and ``DescribeStateMachineForExecution``.

An execution runs in a background thread of the endpoint (StartExecution returns the ARN at once,
like AWS) on moto's bundled ASL interpreter, hooked by :mod:`lakekit.local.stepfunctions.interpreter`:
task integrations (``glue:startJobRun[.sync]``, ``lambda:invoke``, ``sns:publish``,
``aws-sdk:<service>:<action>``...) call this endpoint's gateway with the state machine role's
credentials assumed by ``states.amazonaws.com`` - strict IAM decides every call, and a denial fails
the state with the service's error (``Glue.AccessDeniedException``, cause "... (Service: AWSGlue;
Status Code: 400; Error Code: AccessDeniedException; ...)"), which Retry/Catch see like on AWS.

History: every event the interpreter records (ExecutionStarted, TaskStateEntered, TaskScheduled,
TaskStarted, TaskSubmitted, TaskSucceeded/TaskFailed, ChoiceStateEntered, WaitStateEntered,
ExecutionSucceeded/Failed/Aborted ... with ``id``/``previousEventId``) is stored as it happens
(a :class:`lakekit.local.runs.RunStore`, ``stepfunctions.executions``, keyed by account, region and ARN); timestamps follow the execution's virtual clock (see
``LAKEKIT_SFN_TIME_SCALE`` in the interpreter module). When an execution ends, ``AWS/States``
metrics are published (ExecutionsStarted at start; ExecutionsSucceeded / ExecutionsFailed /
ExecutionsAborted / ExecutionsTimedOut and ExecutionTime at the end; dimension StateMachineArn).

StopExecution stops the interpreter (an in-flight Wait/Retry interval is interrupted), stops the
Glue job run a ``startJobRun.sync`` state is waiting for (BatchStopJobRun) or the query of an
``athena:startQueryExecution.sync`` state (StopQueryExecution), as Step Functions does for .sync
tasks, and records ``ExecutionAborted`` with the given error/cause.

**Endpoint restarts.** On AWS an execution is never interrupted by the service. Locally the
interpreter's state (the position in the state machine, retry counters, the job run it waits
for) lives in the endpoint process and cannot be resumed safely - re-running the state would
start its job or Lambda a second time. So an execution that was RUNNING when the endpoint
stopped is **failed cleanly** on the first request after the restart: status ``FAILED``,
``error`` ``States.Runtime`` (the error AWS uses for an execution it cannot continue, which no
Catch can catch), a cause saying what happened and what to do, a final ``ExecutionFailed``
event after the events recorded before the restart, and ``ExecutionsFailed`` published. Its Glue
job run, if any, is failed by the Glue runner's own restart recovery. Start a new execution.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import time
import types
import uuid
from typing import Any

from lakekit.local import metrics, runtime
from lakekit.local.registry import AwsError, AwsRequest, operation
from lakekit.local.runs import Lifecycle, RunStore, run_key
from lakekit.local.stepfunctions import interpreter

__all__ = ["RUNS", "EXECUTIONS", "wait_execution", "RESTART_CAUSE"]

log = logging.getLogger(__name__)

RESTART_CAUSE = ("The local endpoint stopped while this execution was running: the local "
                 "Step Functions interpreter cannot resume an execution after a restart (AWS "
                 "would have continued it). Start a new execution.")
_FINAL_EVENTS = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED",
                 "ExecutionAborted": "ABORTED", "ExecutionTimedOut": "TIMED_OUT"}
_METRIC_FOR = {"SUCCEEDED": "ExecutionsSucceeded", "FAILED": "ExecutionsFailed",
               "ABORTED": "ExecutionsAborted", "TIMED_OUT": "ExecutionsTimedOut"}
_EXECUTION_ARN = re.compile(r"^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:[^:]{1,80}:[^:]{1,80}$")
_STATE_MACHINE_ARN = re.compile(r"^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[^:]{1,80}(:\d+)?$")
_BAD_NAME_CHARS = set(' <>{}[]?*"#%\\^|~`$&,;:/') | {chr(i) for i in range(32)} \
    | {chr(i) for i in range(127, 160)}
_STOP_GRACE_SECONDS = 10.0
WORKERS = 64
"""Executions interpreted at once; more wait (RUNNING, no events yet) for a free worker."""


def _restarted(rec: dict[str, Any], now: float) -> None:
    """An execution RUNNING when the endpoint stopped fails cleanly (see the module docstring)."""
    event = _next_event(rec, "ExecutionFailed", "executionFailedEventDetails",
                        {"error": "States.Runtime", "cause": RESTART_CAUSE}, now)
    rec["events"].append(event)
    rec.update(stopDate=round(now, 3), error="States.Runtime", cause=RESTART_CAUSE)


RUNS = RunStore("stepfunctions.executions",
                Lifecycle(active={"RUNNING"}, final=set(_METRIC_FOR), restart_state="FAILED"),
                state=("status",), workers=WORKERS, on_restart=_restarted)
EXECUTIONS = RUNS.data
"""``account|region|executionArn`` -> record (the DescribeExecution shape, ``events``, ``_`` fields)."""
_LOCK = RUNS.lock


def _scope(arn: str) -> tuple[str, str]:
    """(account, region) of an execution ARN."""
    parts = arn.split(":")
    return (parts[4], parts[3]) if len(parts) > 4 else ("", "")


def _find(arn: str) -> dict[str, Any] | None:
    return RUNS.get(*_scope(arn), arn)


# -- records -------------------------------------------------------------------------------
def _epoch(ts: Any) -> float:
    if isinstance(ts, (int, float)):
        return float(ts)
    if isinstance(ts, _dt.datetime):
        return ts.timestamp()
    return _dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()


def _plain(event: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(event, default=str))
    out["timestamp"] = round(_epoch(event.get("timestamp")), 3)
    return out


def _record_event(arn: str, event: dict[str, Any]) -> None:
    plain = _plain(event)

    def add(rec: dict[str, Any]) -> None:
        if not RUNS.is_final(rec):  # else an aborted execution's late events (see StopExecution)
            rec["events"].append(plain)

    RUNS.update(*_scope(arn), arn, add)


def _close(arn: str, status: str, stop: float, *, output: str | None = None,
           error: str | None = None, cause: str | None = None,
           final_event: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Mark the execution final (once) and publish its metrics; returns the record or None."""
    def close(rec: dict[str, Any]) -> dict[str, Any] | None:
        if RUNS.is_final(rec):
            return None
        if final_event is not None:
            rec["events"].append(final_event)
        RUNS.transition(rec, status, stop)
        rec["stopDate"] = round(stop, 3)
        for key, value in (("output", output), ("error", error), ("cause", cause)):
            if value is not None:
                rec[key] = value
        return dict(rec)

    rec = RUNS.update(*_scope(arn), arn, close)
    if rec is None:
        return None
    _publish(rec)
    return rec


def _publish(rec: dict[str, Any]) -> None:
    """``AWS/States`` metrics of an execution that ended."""
    status, arn, error, cause = rec["status"], rec["executionArn"], rec.get("error"), rec.get("cause")
    dims = {"StateMachineArn": rec["stateMachineArn"]}
    duration_ms = max(0.0, (rec["stopDate"] - rec["startDate"]) * 1000.0)
    metrics.emit_many(rec["_account"], rec["_region"], "AWS/States",
                      [(_METRIC_FOR[status], 1.0, "Count", dims),
                       ("ExecutionTime", duration_ms, "Milliseconds", dims)])
    log.info("step functions execution %s: %s in %.1f s%s", arn, status, duration_ms / 1000,
             f" ({error}: {cause})" if error else "")


def _next_event(rec: dict[str, Any], typ: str, details_key: str, details: dict[str, Any],
                when: float) -> dict[str, Any]:
    events = rec.get("events") or []
    last = events[-1]["id"] if events else 0
    return {"id": last + 1, "previousEventId": last, "type": typ, "timestamp": round(when, 3),
            details_key: {k: v for k, v in details.items() if v is not None}}


@runtime.once
def _recover() -> None:
    """Executions RUNNING when the endpoint stopped fail cleanly (:func:`_restarted`)."""
    with runtime.state_lock().shared():
        lost = [dict(rec) for rec in RUNS.recover()]
    for rec in lost:
        _publish(rec)


def wait_execution(arn: str, timeout: float = 600.0) -> str:
    """Block until the execution is final (inside the endpoint process; tests/benchmarks)."""
    return RUNS.wait(*_scope(arn), arn, timeout)


# -- the interpreter -------------------------------------------------------------------------
def _classes() -> tuple[type, type, type]:
    """Subclasses of the interpreter's Execution / worker / worker communication (built once)."""
    cached = getattr(_classes, "_cached", None)
    if cached is not None:
        return cached
    from moto.stepfunctions.parser.backend.execution import (
        BaseExecutionWorkerCommunication,
        Execution,
    )
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    class Comm(BaseExecutionWorkerCommunication):
        def terminated(self) -> None:
            super().terminated()
            _finished(self.execution)

    class Worker(ExecutionWorker):
        lk_arn = ""

        def _get_evaluation_environment(self) -> Any:
            env = super()._get_evaluation_environment()
            arn = self.lk_arn
            interpreter.sink(env.event_manager, lambda event: _record_event(arn, event))
            return env

        def _execution_logic(self) -> None:
            try:
                super()._execution_logic()
            except Exception as exc:  # an interpreter bug must still end the execution
                log.exception("step functions execution %s crashed in the interpreter", self.lk_arn)
                now = time.time()
                rec = _find(self.lk_arn) or {}
                cause = (f"the local Step Functions interpreter failed: {exc!r}; see the endpoint "
                         f"log (lakekit local status)")
                _close(self.lk_arn, "FAILED", now, error="States.Runtime", cause=cause,
                       final_event=_next_event(rec, "ExecutionFailed", "executionFailedEventDetails",
                                               {"error": "States.Runtime", "cause": cause}, now))

        def start(self) -> None:  # on one of the store's bounded worker threads
            RUNS.launch(*_scope(self.lk_arn), self.lk_arn, lambda control: self._execution_logic())

    class LocalExecution(Execution):
        def _get_start_execution_worker_comm(self) -> Any:
            return Comm(self)

        def _get_start_execution_worker(self) -> Any:
            worker = super()._get_start_execution_worker()
            worker.__class__ = Worker
            worker.lk_arn = self.exec_arn
            return worker

    _classes._cached = (LocalExecution, Worker, Comm)  # type: ignore[attr-defined]
    return _classes._cached  # type: ignore[attr-defined]


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, (_dt.date, _dt.datetime)) else str(value)


def _finished(execution: Any) -> None:
    arn = execution.exec_arn
    status = getattr(execution.exec_status, "value", str(execution.exec_status))
    rec = _find(arn) or {}
    final = next((e for e in reversed(rec.get("events") or []) if e["type"] in _FINAL_EVENTS), None)
    stop = final["timestamp"] if final else time.time()
    output = None
    if status == "SUCCEEDED":
        # an SDK integration's output can hold timestamps (GetQueryExecution...): ISO-8601, as
        # the interpreter's own history events write them
        output = json.dumps(execution.output, separators=(",", ":"), default=_iso)
    _close(arn, status, stop, output=output, error=execution.error, cause=execution.cause)


def _launch(rec: dict[str, Any]) -> None:
    from moto.stepfunctions.parser.api import StateMachineType

    interpreter.install()
    local_execution, _, _ = _classes()
    machine = types.SimpleNamespace(
        arn=rec["stateMachineArn"], name=rec["_sm_name"], definition=rec["_definition"],
        sm_type=StateMachineType.STANDARD, roleArn=rec["_roleArn"], create_date=None,
        revision_id=None, logging_config=None)
    execution = local_execution(
        name=rec["name"], sm_type=StateMachineType.STANDARD, role_arn=rec["_roleArn"],
        exec_arn=rec["executionArn"], account_id=rec["_account"], region_name=rec["_region"],
        state_machine=machine, start_date=_dt.datetime.fromtimestamp(rec["startDate"], _dt.UTC),
        cloud_watch_logging_session=None, activity_store={}, input_data=rec["input"])
    control = RUNS.control(rec["_account"], rec["_region"], rec["executionArn"])
    if control is not None:
        control.handle = execution
    execution.start()


# -- helpers ---------------------------------------------------------------------------------
def _state_machine(req: AwsRequest, arn: str) -> Any:
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist
    from moto.stepfunctions.models import stepfunctions_backends

    if not arn:
        raise AwsError("ValidationException", "1 validation error detected: Value null at "
                       "'stateMachineArn' failed to satisfy constraint: Member must not be null")
    if not _STATE_MACHINE_ARN.match(arn):
        raise AwsError("InvalidArn", f"Invalid Arn: '{arn}'")
    try:
        return stepfunctions_backends[req.account_id][req.region].describe_state_machine(arn)
    except StateMachineDoesNotExist as exc:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'") from exc
    except Exception as exc:
        if type(exc).__name__ == "InvalidArn":
            raise AwsError("InvalidArn", f"Invalid Arn: '{arn}'") from exc
        raise


def _execution(req: AwsRequest, arn: str) -> dict[str, Any]:
    if not arn:
        raise AwsError("ValidationException", "1 validation error detected: Value null at "
                       "'executionArn' failed to satisfy constraint: Member must not be null")
    if not _EXECUTION_ARN.match(arn):
        raise AwsError("InvalidArn", f"Invalid Arn: '{arn}'")
    rec = RUNS.get(req.account_id, req.region, arn)
    if rec is None:
        raise AwsError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
    return rec


def _page(params: dict[str, Any], rows: list[Any], what: str) -> tuple[list[Any], str | None]:
    size = int(params.get("maxResults") or 100)
    if not 0 <= size <= 1000:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{size}' at "
                       f"'maxResults' failed to satisfy constraint: Member must have value less "
                       f"than or equal to 1000")
    size = size or 100
    token = params.get("nextToken")
    try:
        offset = int(token) if token else 0
    except ValueError as exc:
        raise AwsError("InvalidToken", f"Invalid Token: '{token}': pass the nextToken the "
                       f"previous {what} call returned.") from exc
    chunk = rows[offset:offset + size]
    return chunk, (str(offset + size) if offset + size < len(rows) else None)


def _describe(rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "executionArn": rec["executionArn"], "stateMachineArn": rec["stateMachineArn"],
        "name": rec["name"], "status": rec["status"], "startDate": rec["startDate"],
        "input": rec["input"], "inputDetails": {"included": True},
    }
    if rec.get("stopDate") is not None and rec["status"] != "RUNNING":
        out["stopDate"] = rec["stopDate"]
    if rec["status"] == "SUCCEEDED" and rec.get("output") is not None:
        out["output"] = rec["output"]
        out["outputDetails"] = {"included": True}
    for key in ("error", "cause"):
        if rec.get(key) is not None:
            out[key] = rec[key]
    return out


# -- executors -------------------------------------------------------------------------------
@operation("states", "StartExecution")
def start_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    p = req.params
    machine = _state_machine(req, str(p.get("stateMachineArn") or ""))
    name = str(p.get("name") or uuid.uuid4())
    if not 1 <= len(name) <= 80 or any(c in _BAD_NAME_CHARS for c in name):
        raise AwsError("InvalidName", f"Invalid Name: '{name}'")
    raw_input = p.get("input")
    raw_input = "{}" if raw_input is None else str(raw_input)
    try:
        json.loads(raw_input)
    except ValueError as exc:
        raise AwsError("InvalidExecutionInput", f"Invalid State Machine Execution Input: "
                       f"'{exc}': pass a JSON document as input.") from exc
    source_arn = machine.arn if ":stateMachine:" in machine.arn else p["stateMachineArn"]
    sm_name = source_arn.split(":stateMachine:", 1)[1].split(":", 1)[0]
    arn = f"arn:aws:states:{req.region}:{req.account_id}:execution:{sm_name}:{name}"
    with _LOCK:
        existing = RUNS.get(req.account_id, req.region, arn)
        if existing is not None:
            if existing["status"] == "RUNNING" and existing["input"] == raw_input:
                return {"executionArn": arn, "startDate": existing["startDate"]}
            raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        now = round(time.time(), 3)
        rec: dict[str, Any] = {
            "executionArn": arn, "stateMachineArn": source_arn, "name": name, "status": "RUNNING",
            "startDate": now, "stopDate": None, "input": raw_input, "events": [],
            "_account": req.account_id, "_region": req.region, "_roleArn": machine.roleArn,
            "_definition": machine.definition, "_sm_name": sm_name,
            "_sm_updated": _epoch(getattr(machine, "update_date", None) or now),
        }
        RUNS.add(req.account_id, req.region, arn, rec)
    metrics.emit(req.account_id, req.region, "AWS/States", "ExecutionsStarted", 1.0, "Count",
                 {"StateMachineArn": source_arn})
    try:
        _launch(rec)
    except Exception as exc:
        log.exception("starting step functions execution %s failed", arn)
        cause = f"the local Step Functions interpreter could not start: {exc!r}"
        _close(arn, "FAILED", time.time(), error="States.Runtime", cause=cause,
               final_event=_next_event(rec, "ExecutionFailed", "executionFailedEventDetails",
                                       {"error": "States.Runtime", "cause": cause}, time.time()))
        control = RUNS.control(req.account_id, req.region, arn)
        if control is not None and control.thread is None:  # never launched: nothing will end it
            RUNS.controls.pop(run_key(req.account_id, req.region, arn), None)
            control.done.set()
    return {"executionArn": arn, "startDate": now}


@operation("states", "DescribeExecution")
def describe_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    return _describe(_execution(req, str(req.params.get("executionArn") or "")))


@operation("states", "DescribeStateMachineForExecution")
def describe_state_machine_for_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    rec = _execution(req, str(req.params.get("executionArn") or ""))
    return {"stateMachineArn": rec["stateMachineArn"], "name": rec["_sm_name"],
            "definition": rec["_definition"], "roleArn": rec["_roleArn"],
            "updateDate": rec["_sm_updated"]}


@operation("states", "GetExecutionHistory")
def get_execution_history(req: AwsRequest) -> dict[str, Any]:
    _recover()
    p = req.params
    rec = _execution(req, str(p.get("executionArn") or ""))
    with _LOCK:
        events = [dict(e) for e in rec.get("events") or []]
    if p.get("reverseOrder"):
        events.reverse()
    if p.get("includeExecutionData") is False:
        for e in events:
            for key, value in list(e.items()):
                if key.endswith("EventDetails") and isinstance(value, dict):
                    e[key] = {k: v for k, v in value.items()
                              if k not in ("input", "output", "inputDetails", "outputDetails")}
    chunk, token = _page(p, events, "GetExecutionHistory")
    out: dict[str, Any] = {"events": chunk}
    if token:
        out["nextToken"] = token
    return out


@operation("states", "ListExecutions")
def list_executions(req: AwsRequest) -> dict[str, Any]:
    _recover()
    p = req.params
    machine_arn = str(p.get("stateMachineArn") or "")
    _state_machine(req, machine_arn)
    status = p.get("statusFilter")
    valid = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
    if status is not None and status not in valid:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{status}' at "
                       f"'statusFilter' failed to satisfy constraint: Member must satisfy enum "
                       f"value set: [{', '.join(valid)}]")
    rows = RUNS.records(req.account_id, req.region, lambda r: r["stateMachineArn"] == machine_arn
                        and (status is None or r["status"] == status))
    rows.sort(key=lambda r: r["startDate"], reverse=True)
    chunk, token = _page(p, rows, "ListExecutions")
    items = []
    for r in chunk:
        item = {k: r[k] for k in ("executionArn", "stateMachineArn", "name", "status", "startDate")}
        if r["status"] != "RUNNING" and r.get("stopDate") is not None:
            item["stopDate"] = r["stopDate"]
        items.append(item)
    out: dict[str, Any] = {"executions": items}
    if token:
        out["nextToken"] = token
    return out


@operation("states", "StopExecution")
def stop_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    p = req.params
    arn = str(p.get("executionArn") or "")
    rec = _execution(req, arn)
    error, cause = p.get("error"), p.get("cause")
    if error is not None and len(str(error)) > 256:
        raise AwsError("ValidationException", "1 validation error detected: Value at 'error' "
                       "failed to satisfy constraint: Member must have length less than or equal "
                       "to 256")
    if cause is not None and len(str(cause)) > 32768:
        raise AwsError("ValidationException", "1 validation error detected: Value at 'cause' "
                       "failed to satisfy constraint: Member must have length less than or equal "
                       "to 32768")
    if rec["status"] != "RUNNING":
        return {"stopDate": rec.get("stopDate") or time.time()}
    control = RUNS.control(req.account_id, req.region, arn)
    execution = control.handle if control is not None else None
    offset = 0.0
    if execution is not None and execution.exec_worker is not None \
            and execution.exec_worker.env is not None:
        offset = interpreter.clock_offset(execution.exec_worker.env.event_manager)
    stop = time.time() + offset
    _stop_sync_job(rec)
    if control is not None:
        if execution is not None:
            control.on_stop(lambda: execution.stop(
                stop_date=_dt.datetime.fromtimestamp(stop, _dt.UTC), error=error, cause=cause))
        if not RUNS.stop(req.account_id, req.region, arn, grace=_STOP_GRACE_SECONDS, wait=True):
            log.warning("execution %s did not unwind within %.0f s of StopExecution; recorded "
                        "ABORTED anyway", arn, _STOP_GRACE_SECONDS)
    current = RUNS.get(req.account_id, req.region, arn) or rec
    if not RUNS.is_final(current):  # the interpreter did not record it: record it here
        _close(arn, "ABORTED", stop, error=error, cause=cause,
               final_event=_next_event(current, "ExecutionAborted", "executionAbortedEventDetails",
                                       {"error": error, "cause": cause}, stop))
    final = RUNS.get(req.account_id, req.region, arn) or current
    return {"stopDate": final.get("stopDate") or stop}


def _stop_sync_job(rec: dict[str, Any]) -> None:
    """Stop what a ``.sync`` state is waiting for, as the role: the Glue job run of
    ``glue:startJobRun.sync`` (BatchStopJobRun) or the query of
    ``athena:startQueryExecution.sync`` (StopQueryExecution) - Step Functions does the same."""
    pending: dict[str, Any] | None = None
    for event in rec.get("events") or []:
        if event["type"] == "TaskSubmitted":
            d = event.get("taskSubmittedEventDetails") or {}
            resource = str(d.get("resource", ""))
            if (d.get("resourceType"), resource) in (("glue", "startJobRun.sync"),
                                                     ("athena", "startQueryExecution.sync")):
                pending = d
        elif event["type"] in ("TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStateExited"):
            pending = None
    if not pending:
        return
    try:
        out = json.loads(pending.get("output") or "{}")
        creds = interpreter._ExecutionCredentials(rec["_roleArn"], rec["name"])
        if pending.get("resourceType") == "glue":
            client = interpreter.boto_client_for(rec["_region"], "glue", creds)
            client.batch_stop_job_run(JobName=out["JobName"], JobRunIds=[out["JobRunId"]])
        else:
            client = interpreter.boto_client_for(rec["_region"], "athena", creds)
            client.stop_query_execution(QueryExecutionId=out["QueryExecutionId"])
    except Exception:
        log.warning("could not stop the %s work of execution %s", pending.get("resourceType"),
                    rec["executionArn"], exc_info=True)
