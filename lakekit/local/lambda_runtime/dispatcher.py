"""Asynchronous invocations with AWS semantics: queue, retries, destinations, DLQ.

Events from S3 notifications, ``Invoke`` with ``InvocationType=Event`` and Lambda
destinations go into one in-memory queue served by ``concurrency`` worker threads. A
function error (exception, timeout, crash) is retried ``MaximumRetryAttempts`` times
(default 2, from ``PutFunctionEventInvokeConfig``) after ``retry_delays`` seconds — AWS waits
about 1 min then 2 min; locally the default is 1 s then 2 s (``LAKEKIT_LAMBDA_RETRY_DELAYS``,
comma-separated seconds, e.g. ``60,120`` for AWS timing). Events older than
``MaximumEventAgeInSeconds`` are discarded. After the last failure the event goes to the
``OnFailure`` destination (SQS, SNS, Lambda, EventBridge; AWS's invocation record) and to the
function's ``DeadLetterConfig`` target (SQS/SNS; the original event) — otherwise it is logged
and dropped, as on AWS. Success goes to ``OnSuccess`` when configured.

Queued events live in memory: a stopped endpoint drops events not yet run.
"""
from __future__ import annotations

import collections
import datetime as _dt
import heapq
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakekit.config import LOCAL_ACCESS_KEY
from lakekit.local._clients import endpoint_client
from lakekit.local.lambda_runtime import invoker

__all__ = ["AsyncEvent", "Dispatcher", "InvocationRecord"]

log = logging.getLogger("lakekit.local.lambda")


def _env_delays() -> tuple[float, ...]:
    raw = os.environ.get("LAKEKIT_LAMBDA_RETRY_DELAYS", "1,2")
    try:
        return tuple(float(x) for x in raw.split(",") if x.strip()) or (1.0, 2.0)
    except ValueError:
        log.warning("LAKEKIT_LAMBDA_RETRY_DELAYS=%r is not a list of seconds; using 1,2", raw)
        return (1.0, 2.0)


@dataclass
class AsyncEvent:
    """One queued asynchronous invocation (all attempts share ``request_id`` as on AWS)."""

    function: str                      # name or ARN, maybe qualified
    payload: bytes
    account_id: str
    region: str
    source: str                        # s3 | invoke | destination
    access_key: str = "test"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enqueued_at: float = field(default_factory=time.time)
    attempts: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class InvocationRecord:
    """What :func:`invocations` reports about one finished invocation."""

    request_id: str
    function: str
    source: str
    status: str                        # success | error | timeout | crash | dropped
    attempts: int
    duration_ms: float
    init_ms: float
    error: str | None
    enqueued_at: float
    handler_started_at: float
    finished_at: float
    destination: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Dispatcher:
    """The event queue and its workers (threads start on first use)."""

    def __init__(self, endpoint_url: Callable[[], str], home: Callable[[], Path],
                 dead_letter: Callable[[str], str | None], concurrency: int | None = None,
                 retry_delays: tuple[float, ...] | None = None, history: int = 1000) -> None:
        self._endpoint_url, self._home, self._dead_letter = endpoint_url, home, dead_letter
        self.concurrency = concurrency or int(os.environ.get("LAKEKIT_LAMBDA_CONCURRENCY", "4"))
        self.retry_delays = retry_delays or _env_delays()
        self._heap: list[tuple[float, int, AsyncEvent]] = []
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._running = 0
        self.records: collections.deque[InvocationRecord] = collections.deque(maxlen=history)

    # -- queue --------------------------------------------------------------------------
    def submit(self, event: AsyncEvent, delay: float = 0.0) -> str:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._count), event))
            if len(self._workers) < self.concurrency:
                t = threading.Thread(target=self._work, name=f"lambda-worker-{len(self._workers)}",
                                     daemon=True)
                self._workers.append(t)
                t.start()
            self._cond.notify()
        return event.request_id

    def pending(self) -> int:
        """Events queued or running."""
        with self._cond:
            return len(self._heap) + self._running

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or running (True) or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._heap:
                        due = self._heap[0][0] - time.monotonic()
                        if due <= 0:
                            _, _, event = heapq.heappop(self._heap)
                            self._running += 1
                            break
                        self._cond.wait(due)
                    else:
                        self._cond.wait()
            try:
                self._attempt(event)
            except Exception:
                log.exception("lambda async invocation %s of %s failed inside the runtime",
                              event.request_id, event.function)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    # -- one attempt --------------------------------------------------------------------
    def _attempt(self, event: AsyncEvent) -> None:
        try:
            spec = invoker.resolve(event.account_id, event.region, event.function)
        except invoker.FunctionNotFound as exc:
            self._record(event, "dropped", None, str(exc), None)
            return
        config = _event_invoke_config(event.account_id, event.region, spec.name)
        max_retries = int(config.get("MaximumRetryAttempts", 2))
        max_age = float(config.get("MaximumEventAgeInSeconds", 21600))
        if time.time() - event.enqueued_at > max_age:
            self._finish_failed(event, spec, config, None, "EventAgeExceeded")
            return
        event.attempts += 1
        invoked_arn = event.function if event.function.startswith("arn:") else spec.arn
        outcome = invoker.invoke(spec, event.payload, request_id=event.request_id,
                                 invoked_arn=invoked_arn, endpoint_url=self._endpoint_url(),
                                 home=self._home(), access_key=event.access_key)
        if outcome.ok:
            dest = _destination(config, "OnSuccess")
            if dest:
                self._deliver(dest, event, spec, outcome, "Success")
            self._record(event, "success", outcome, None, dest)
            return
        if event.attempts <= max_retries:
            delay = self.retry_delays[min(event.attempts - 1, len(self.retry_delays) - 1)]
            log.info("lambda %s request %s failed (attempt %d, %s); retrying in %.1f s",
                     spec.name, event.request_id, event.attempts, outcome.status, delay)
            self.submit(event, delay)
            return
        self._finish_failed(event, spec, config, outcome, "RetriesExhausted")

    def _finish_failed(self, event: AsyncEvent, spec: invoker.FunctionSpec, config: dict[str, Any],
                       outcome: invoker.Outcome | None, condition: str) -> None:
        targets = []
        dest = _destination(config, "OnFailure")
        if dest:
            self._deliver(dest, event, spec, outcome, "Failure", condition)
            targets.append(dest)
        dlq = self._dead_letter(spec.arn)
        if dlq:
            self._dead_letter_send(dlq, event, spec, outcome)
            targets.append(dlq)
        if not targets:
            log.warning("lambda %s request %s failed after %d attempts (%s) and has no on-failure "
                        "destination or DLQ: event dropped", spec.name, event.request_id,
                        event.attempts, condition)
        status = outcome.status if outcome else "dropped"
        error = _error_text(outcome) if outcome else condition
        self._record(event, status, outcome, error, ",".join(targets) or None)

    # -- destinations -------------------------------------------------------------------
    def _deliver(self, arn: str, event: AsyncEvent, spec: invoker.FunctionSpec,
                 outcome: invoker.Outcome | None, kind: str, condition: str = "Success") -> None:
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{spec.arn}:{spec.version}",
                "condition": condition,
                "approximateInvokeCount": event.attempts,
            },
            "requestPayload": _json_or_text(event.payload),
            "responseContext": {"statusCode": 200, "executedVersion": spec.version},
        }
        if outcome is not None:
            if not outcome.ok:
                record["responseContext"]["functionError"] = "Unhandled"
            record["responsePayload"] = _json_or_text(outcome.response_payload)
        body = json.dumps(record)
        try:
            self._send(arn, body, event, kind, {}, spec)
        except Exception as exc:
            log.error("lambda %s: delivering request %s to %s destination %s failed: %s",
                      spec.name, event.request_id, kind, arn, exc)

    def _dead_letter_send(self, arn: str, event: AsyncEvent, spec: invoker.FunctionSpec,
                          outcome: invoker.Outcome | None) -> None:
        attrs = {
            "RequestID": event.request_id,
            "ErrorCode": "200",
            "ErrorMessage": (_error_text(outcome) or "")[:1024] if outcome else "EventAgeExceeded",
        }
        try:
            self._send(arn, event.payload.decode("utf-8", "replace"), event, "DLQ", attrs, spec)
        except Exception as exc:
            log.error("lambda %s: sending request %s to the dead-letter target %s failed: %s",
                      event.function, event.request_id, arn, exc)

    def _send(self, arn: str, body: str, event: AsyncEvent, kind: str, attrs: dict[str, str],
              spec: invoker.FunctionSpec) -> None:
        """Deliver as AWS does: with the function's execution role (sqs:SendMessage,
        sns:Publish, lambda:InvokeFunction, events:PutEvents on the target), so a role
        without the permission loses the record (AccessDenied, logged) like on AWS."""
        parts = arn.split(":")
        service, region, account = parts[2], parts[3] or event.region, parts[4] or event.account_id
        url = self._endpoint_url()
        if service == "sqs":
            # Lambda knows the queue: resolving its URL is the service's own call, not the role's
            queue_url = endpoint_client(url, "sqs", region, LOCAL_ACCESS_KEY).get_queue_url(
                QueueName=parts[5], QueueOwnerAWSAccountId=account)["QueueUrl"]
            msg_attrs = {k: {"DataType": "Number" if k == "ErrorCode" else "String", "StringValue": v}
                         for k, v in attrs.items()}
            invoker.role_client(spec, url, "sqs", region, event.access_key).send_message(
                QueueUrl=queue_url, MessageBody=body, **({"MessageAttributes": msg_attrs} if msg_attrs else {}))
        elif service == "sns":
            msg_attrs = {k: {"DataType": "Number" if k == "ErrorCode" else "String", "StringValue": v}
                         for k, v in attrs.items()}
            invoker.role_client(spec, url, "sns", region, event.access_key).publish(
                TopicArn=arn, Message=body, **({"MessageAttributes": msg_attrs} if msg_attrs else {}))
        elif service == "lambda":
            invoker.role_client(spec, url, "lambda", region, event.access_key).invoke(
                FunctionName=arn, InvocationType="Event", Payload=body.encode())
        elif service == "events":
            invoker.role_client(spec, url, "events", region, event.access_key).put_events(Entries=[{
                "Source": "lambda",
                "DetailType": f"Lambda Function Invocation Result - {kind}",
                "Detail": body, "EventBusName": arn}])
        else:
            raise ValueError(f"unsupported destination service {service!r} in {arn}: use an SQS "
                             f"queue, SNS topic, Lambda function or EventBridge bus ARN")

    # -- records ------------------------------------------------------------------------
    def _record(self, event: AsyncEvent, status: str, outcome: invoker.Outcome | None,
                error: str | None, destination: str | None) -> None:
        self.add_record(InvocationRecord(
            request_id=event.request_id, function=event.function, source=event.source,
            status=status, attempts=event.attempts,
            duration_ms=round(outcome.duration_ms, 2) if outcome else 0.0,
            init_ms=round(outcome.init_ms, 2) if outcome else 0.0,
            error=error if error is not None else (_error_text(outcome) if outcome and not outcome.ok else None),
            enqueued_at=event.enqueued_at,
            handler_started_at=outcome.started_at if outcome else 0.0,
            finished_at=time.time(), destination=destination, detail=dict(event.detail)))

    def add_record(self, record: InvocationRecord) -> None:
        self.records.append(record)
        log.info("lambda invocation %s", json.dumps(record.as_dict(), default=str))


def _event_invoke_config(account_id: str, region: str, name: str) -> dict[str, Any]:
    try:
        from moto.awslambda.models import lambda_backends

        fn = lambda_backends[account_id][region].get_function(name)
        configs = getattr(fn, "event_invoke_config", None) or []
        return dict(configs[0].config) if configs else {}
    except Exception:
        return {}


def _destination(config: dict[str, Any], which: str) -> str | None:
    return ((config.get("DestinationConfig") or {}).get(which) or {}).get("Destination") or None


def _error_text(outcome: invoker.Outcome | None) -> str | None:
    if outcome is None or outcome.error is None:
        return None
    return f"{outcome.error.get('errorType')}: {outcome.error.get('errorMessage')}"


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _iso(ts: float) -> str:
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
