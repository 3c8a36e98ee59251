"""The local Lambda runtime: S3 notifications and ``Invoke`` run real Python handlers.

- **S3 event source**: every object moto creates (Put, Post, Copy,
  CompleteMultipartUpload; also deletes, tagging, ACL and restore events) is matched against
  the bucket's ``LambdaFunctionConfigurations`` (events incl. ``s3:ObjectCreated:*``,
  ``Filter.Key.FilterRules`` prefix/suffix) and the exact AWS S3 event JSON is queued for
  each match — the S3 request itself never waits for a handler. moto's own docker-based
  Lambda call is disabled.
- **Invoke** (``POST /2015-03-31/functions/{name}/invocations``): ``RequestResponse`` runs the
  handler now and returns its payload (``X-Amz-Function-Error: Unhandled`` with the error
  document on failure, ``X-Amz-Log-Result`` = base64 of the last 4 KB of log with
  ``LogType=Tail``); ``Event`` queues it and answers 202; ``DryRun`` answers 204.
  moto's ``Invoke``/``InvokeAsync`` are never reached.
- **Async semantics** (S3 events, ``Event`` invokes): see
  :mod:`lakekit.local.lambda_runtime.dispatcher` — 2 retries (1 s then 2 s locally,
  ``LAKEKIT_LAMBDA_RETRY_DELAYS``; AWS waits ~1 and ~2 min), then the ``OnFailure`` destination
  of ``PutFunctionEventInvokeConfig`` and/or the ``DeadLetterConfig`` target, else logged.
  ``LAKEKIT_LAMBDA_CONCURRENCY`` (default 4) bounds the handlers running at once.
- **Execution**: see :mod:`lakekit.local.lambda_runtime.invoker` — warm execution
  environments (:mod:`lakekit.local.lambda_runtime.environments`: a long-lived process of the
  kit's Python per environment, init once, module globals kept, at most
  ``LAKEKIT_LAMBDA_CONCURRENCY`` per function, reaped after ``LAKEKIT_LAMBDA_IDLE_S``), with the function's environment, ``AWS_ENDPOINT_URL`` back to this
  endpoint, the execution role's credentials, Timeout enforced, logs in CloudWatch Logs
  ``/aws/lambda/<name>`` (``START``/``END``/``REPORT`` lines, as on AWS).

moto drops ``DeadLetterConfig`` from CreateFunction/UpdateFunctionConfiguration; it is kept
here (persistent store ``awslambda.dead_letter``) so async failures reach it. It is not
echoed back by GetFunctionConfiguration.

Inside the endpoint process, :func:`invocations` lists recent invocations and each finished
one is logged (``lambda invocation {...}`` in the endpoint log)::

    from lakekit.local.services import awslambda
    awslambda.invocations(function="ingest", limit=5)
"""
from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import unquote

from lakekit.local import runtime
from lakekit.local.lambda_runtime import invoker, s3events
from lakekit.local.lambda_runtime.dispatcher import AsyncEvent, Dispatcher, InvocationRecord
from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, AwsResponse, observer, operation

__all__ = ["invocations", "wait_idle", "configure", "DISPATCHER", "DEAD_LETTER"]

DEAD_LETTER = store("awslambda.dead_letter")
"""Unqualified function ARN -> DeadLetterConfig.TargetArn."""

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 256 * 1024
_INVOKE_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/functions/(?P<name>[^/]+)/invoke")

DISPATCHER = Dispatcher(endpoint_url=runtime.endpoint_url, home=runtime.home,
                        dead_letter=lambda arn: DEAD_LETTER.get(arn))


def invocations(function: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The most recent finished invocations (newest last), optionally of one function.

    Each: request_id, function, source (s3|invoke|invoke-sync|destination), status
    (success|error|timeout|crash|dropped), attempts, duration_ms, init_ms, error,
    enqueued_at, handler_started_at, finished_at, destination, detail.
    """
    rows = [r.as_dict() for r in list(DISPATCHER.records)]
    if function:
        rows = [r for r in rows if r["function"] == function
                or r["function"].endswith(f":function:{function}")]
    return rows[-limit:]


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until no async invocation is queued or running; False if ``timeout`` passed."""
    return DISPATCHER.wait_idle(timeout)


def configure(*, concurrency: int | None = None, retry_delays: tuple[float, ...] | None = None) -> None:
    """Change worker count (before the first event) or the retry delays in seconds."""
    if concurrency:
        DISPATCHER.concurrency = concurrency
    if retry_delays:
        DISPATCHER.retry_delays = tuple(retry_delays)




# -- S3 event source ----------------------------------------------------------------------
def _on_s3_event(delivery: s3events.S3Delivery, account_id: str) -> None:
    parts = delivery.function_arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else "us-east-1"
    account = parts[4] if len(parts) > 4 and parts[4] else account_id
    DISPATCHER.submit(AsyncEvent(
        function=delivery.function_arn, payload=json.dumps(delivery.event).encode(),
        account_id=account, region=region, source="s3",
        detail={"bucket": delivery.bucket, "key": delivery.key, "event": delivery.event_name}))


s3events.install(_on_s3_event)


# -- Invoke ---------------------------------------------------------------------------------
def _function_name(req: AwsRequest) -> str:
    m = _INVOKE_PATH.match(req.path)
    if m:
        return unquote(m.group("name"))
    return str(req.params.get("FunctionName", ""))


def _check_payload(body: bytes) -> None:
    if not body.strip():
        return
    try:
        json.loads(body)
    except ValueError as exc:
        raise AwsError("InvalidRequestContentException",
                       f"Could not parse request body into json: Could not parse payload into "
                       f"json: {exc}. Send a JSON document as Payload.", 400) from exc


def _resolve(req: AwsRequest, name: str, qualifier: str | None) -> invoker.FunctionSpec:
    try:
        return invoker.resolve(req.account_id, req.region, name, qualifier)
    except invoker.FunctionNotFound as exc:
        raise AwsError("ResourceNotFoundException", f"{exc}. Create it first (CreateFunction) "
                       f"or check the name and region.", 404) from exc


@operation("lambda", "Invoke")
def invoke(req: AwsRequest) -> AwsResponse:
    name = _function_name(req)
    qualifier = (req.query.get("Qualifier") or [None])[0]
    kind = req.headers.get("x-amz-invocation-type", "RequestResponse")
    payload = req.body or b""
    if kind not in ("RequestResponse", "Event", "DryRun"):
        raise AwsError("InvalidParameterValueException",
                       f"InvocationType {kind!r} is not valid: use RequestResponse, Event or DryRun.")
    _check_payload(payload)
    spec = _resolve(req, name, qualifier)
    base = {"Content-Type": "application/json", "x-amzn-RequestId": req.request_id}
    if kind == "DryRun":
        return AwsResponse(204, base, b"")
    invoked_arn = spec.arn + (f":{qualifier}" if qualifier else "")
    if kind == "Event":
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise AwsError("RequestEntityTooLargeException",
                           f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes for the "
                           f"InvokeAsync operation (got {len(payload)}): put the data in S3 "
                           f"and pass its key.", 413)
        DISPATCHER.submit(AsyncEvent(function=invoked_arn, payload=payload, account_id=req.account_id,
                                     region=req.region, source="invoke",
                                     access_key=req.access_key_id, request_id=req.request_id))
        return AwsResponse(202, base, b"")
    if len(payload) > SYNC_PAYLOAD_LIMIT:
        raise AwsError("RequestEntityTooLargeException",
                       f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the Invoke "
                       f"operation (got {len(payload)}).", 413)
    client_context = None
    if req.headers.get("x-amz-client-context"):
        try:
            client_context = base64.b64decode(req.headers["x-amz-client-context"]).decode()
        except ValueError:
            client_context = None
    enqueued = time.time()
    outcome = invoker.invoke(spec, payload, request_id=req.request_id, invoked_arn=invoked_arn,
                             endpoint_url=req.endpoint_url or runtime.endpoint_url(),
                             home=runtime.home(), access_key=req.access_key_id,
                             client_context=client_context)
    DISPATCHER.add_record(InvocationRecord(
        request_id=req.request_id, function=invoked_arn, source="invoke-sync",
        status=outcome.status, attempts=1, duration_ms=round(outcome.duration_ms, 2),
        init_ms=round(outcome.init_ms, 2),
        error=None if outcome.ok else f"{(outcome.error or {}).get('errorType')}: "
                                      f"{(outcome.error or {}).get('errorMessage')}",
        enqueued_at=enqueued, handler_started_at=outcome.started_at, finished_at=time.time()))
    headers = {**base, "X-Amz-Executed-Version": outcome.executed_version}
    if not outcome.ok:
        headers["X-Amz-Function-Error"] = "Unhandled"
    if req.headers.get("x-amz-log-type") == "Tail":
        headers["X-Amz-Log-Result"] = base64.b64encode(outcome.log_tail.encode()).decode()
    return AwsResponse(200, headers, outcome.response_payload)


@operation("lambda", "InvokeAsync")
def invoke_async(req: AwsRequest) -> AwsResponse:
    """The deprecated InvokeAsync API: same queue as ``InvocationType=Event``."""
    name = _function_name(req)
    payload = req.body or b""
    _check_payload(payload)
    spec = _resolve(req, name, None)
    DISPATCHER.submit(AsyncEvent(function=spec.arn, payload=payload, account_id=req.account_id,
                                 region=req.region, source="invoke", access_key=req.access_key_id,
                                 request_id=req.request_id))
    return AwsResponse(202, {"Content-Type": "application/json", "x-amzn-RequestId": req.request_id},
                       json.dumps({"Status": 202}).encode())


# -- DeadLetterConfig (moto drops it) -------------------------------------------------------
def _arn(req: AwsRequest, name: str) -> str:
    name = invoker._split(name, None)[0]
    return f"arn:aws:lambda:{req.region}:{req.account_id}:function:{name}"


@observer("lambda", "CreateFunction")
@observer("lambda", "UpdateFunctionConfiguration")
def _remember_dead_letter(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    if "DeadLetterConfig" not in req.params:
        return
    target = (req.params.get("DeadLetterConfig") or {}).get("TargetArn")
    arn = _arn(req, str(req.params.get("FunctionName", "")))
    if target:
        DEAD_LETTER[arn] = target
    else:
        DEAD_LETTER.pop(arn, None)


@observer("lambda", "DeleteFunction")
def _forget_dead_letter(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    if not req.query.get("Qualifier"):
        DEAD_LETTER.pop(_arn(req, str(req.params.get("FunctionName", ""))), None)
