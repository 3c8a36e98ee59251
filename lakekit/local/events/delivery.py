"""Rules matched, targets invoked: the part of EventBridge that runs after an event arrives.

:meth:`Bus.publish` matches an event against the ENABLED rules with an ``EventPattern`` on its
bus (moto's maintained matcher, :class:`moto.events.models.EventPattern`), :meth:`Bus.fire`
sends a scheduled rule's event; both queue one job per target and return at once (PutEvents
and the S3 request never wait for a target). A job computes the target's input
(:mod:`lakekit.local.events.transform`) and invokes it the way EventBridge does:

* **Lambda** - asynchronously (the Lambda runtime's event queue), only if the function's
  resource-based policy allows ``events.amazonaws.com`` ``lambda:InvokeFunction`` (conditions
  ``aws:SourceArn`` = the rule ARN, ``aws:SourceAccount``) - what ``AWS::Lambda::Permission``
  / AddPermission grant;
* **Step Functions** - ``states:StartExecution`` through the endpoint with the target's
  ``RoleArn``, assumed as ``events.amazonaws.com`` (the role's trust policy must name it and its
  policies must allow StartExecution);
* **SQS / SNS** - SendMessage / Publish, only if the queue / topic policy allows
  ``events.amazonaws.com``.

A failed invocation is not retried when AWS does not retry it (missing permission, missing
resource: EventBridge User Guide, "Using dead-letter queues to process undelivered events"):
``FailedInvocations`` (namespace ``AWS/Events``, dimension ``RuleName``) is published and, if the
target has ``DeadLetterConfig.Arn``, the event goes to that SQS queue with the attributes
``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE`` (``NO_PERMISSIONS``, ``NO_RESOURCE``,
``FAILED_TO_ASSUME_ROLE``...) and ``ERROR_MESSAGE`` (``InvocationsSentToDlq`` /
``InvocationsFailedToBeSentToDlq``). Every job ends in :attr:`Bus.records` (newest last).
"""
from __future__ import annotations

import collections
import copy
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lakekit.local.events.transform import target_input

__all__ = ["Bus", "RuleView", "Record", "EVENTS_PRINCIPAL", "rules_of"]

log = logging.getLogger(__name__)

EVENTS_PRINCIPAL = "events.amazonaws.com"
_ENABLED = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


@dataclass
class RuleView:
    """A copy of a moto rule taken when the event arrived (targets included)."""

    name: str
    arn: str
    account: str
    region: str
    bus: str
    state: str
    pattern: Any                      # moto EventPattern (or None for schedule-only rules)
    schedule: str | None
    targets: list[dict[str, Any]]

    @classmethod
    def of(cls, rule: Any) -> RuleView:
        pattern = rule.event_pattern if getattr(rule.event_pattern, "get_pattern", None) \
            and rule.event_pattern.get_pattern() else None
        return cls(rule.name, rule.arn, rule.account_id, rule.region_name, rule.event_bus_name,
                   rule.state, pattern, rule.scheduled_expression, copy.deepcopy(list(rule.targets)))


def rules_of(account: str, region: str, bus: str = "default") -> list[RuleView]:
    """The rules of one bus as copies (an unknown bus: none)."""
    from moto.events.models import events_backends

    try:
        buses = events_backends[account][region].event_buses
    except Exception:
        return []
    b = buses.get(bus)
    return [RuleView.of(r) for r in list(b.rules.values())] if b is not None else []


@dataclass
class Record:
    """One target invocation (or its failure)."""

    event_id: str
    rule: str                 # rule ARN
    target_id: str
    target_arn: str
    status: str               # invoked | failed
    input: str
    error_code: str | None = None
    error_message: str | None = None
    dead_letter: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class TargetFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass
class _Job:
    rule: RuleView
    target: dict[str, Any]
    event: dict[str, Any]


class Bus:
    """The delivery queue and its workers (threads start on first use)."""

    def __init__(self, endpoint_url: Callable[[], str], workers: int = 2, history: int = 2000) -> None:
        self._endpoint_url = endpoint_url
        self._workers_wanted = workers
        self._q: queue.Queue[_Job] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self.records: collections.deque[Record] = collections.deque(maxlen=history)

    # -- entry points -----------------------------------------------------------------------
    def publish(self, event: dict[str, Any], bus: str = "default") -> list[str]:
        """Match ``event`` against its bus's ENABLED pattern rules; the matched rule ARNs."""
        matched = []
        for rule in rules_of(event["account"], event["region"], bus):
            if rule.state not in _ENABLED or rule.pattern is None:
                continue
            try:
                hit = rule.pattern.matches_event(_wire(event))
            except Exception:
                log.exception("matching rule %s failed", rule.arn)
                hit = False
            if hit:
                matched.append(rule.arn)
                self._enqueue(rule, event)
        if matched:
            _metric(event["account"], event["region"], "MatchedEvents", float(len(matched)), {})
        return matched

    def fire(self, rule: RuleView, event: dict[str, Any]) -> None:
        """Send a scheduled rule's event to its targets."""
        self._enqueue(rule, event)

    def pending(self) -> int:
        """Jobs queued or being delivered (counted from enqueue to the end of delivery)."""
        with self._lock:
            return self._busy

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.2))
        return True

    # -- queue ---------------------------------------------------------------------------
    def _enqueue(self, rule: RuleView, event: dict[str, Any]) -> None:
        _metric(rule.account, rule.region, "TriggeredRules", 1.0, {"RuleName": rule.name})
        with self._lock:
            for target in rule.targets:
                self._busy += 1  # before the put: a worker that takes the job never sees 0
                self._q.put(_Job(rule, target, event))
            while len(self._workers) < self._workers_wanted:
                t = threading.Thread(target=self._work, daemon=True,
                                     name=f"events-target-{len(self._workers)}")
                self._workers.append(t)
                t.start()

    def _work(self) -> None:
        while True:
            job = self._q.get()
            try:
                self._deliver(job)
            except Exception:
                log.exception("delivering event %s to %s failed inside the endpoint",
                              job.event.get("id"), job.target.get("Arn"))
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    # -- one target ------------------------------------------------------------------------
    def _deliver(self, job: _Job) -> None:
        rule, target, event = job.rule, job.target, job.event
        arn = str(target.get("Arn", ""))
        payload = target_input(target, event, rule_arn=rule.arn, rule_name=rule.name)
        record = Record(event["id"], rule.arn, str(target.get("Id", "")), arn, "invoked", payload)
        try:
            service = arn.split(":")[2] if arn.count(":") >= 5 else ""
            handler = {"lambda": self._lambda, "states": self._states, "sqs": self._sqs,
                       "sns": self._sns}.get(service)
            if handler is None:
                raise TargetFailure("INVALID_PARAMETER", f"the local endpoint does not deliver to "
                                    f"{service or arn!r} targets (Lambda, Step Functions, SQS, SNS "
                                    "are supported)")
            record.detail = handler(rule, target, payload, event) or {}
            _metric(rule.account, rule.region, "Invocations", 1.0, {"RuleName": rule.name})
        except TargetFailure as f:
            record.status, record.error_code, record.error_message = "failed", f.code, f.message
            log.warning("EventBridge rule %s could not invoke target %s: %s %s", rule.name, arn,
                        f.code, f.message)
            _metric(rule.account, rule.region, "Invocations", 1.0, {"RuleName": rule.name})
            _metric(rule.account, rule.region, "FailedInvocations", 1.0, {"RuleName": rule.name})
            record.dead_letter = self._dead_letter(rule, target, event, f)
        self.records.append(record)
        log.info("events delivery %s", json.dumps(record.as_dict(), default=str))

    def _lambda(self, rule: RuleView, target: dict[str, Any], payload: str, event: dict[str, Any]
                ) -> dict[str, Any]:
        from lakekit.local.lambda_runtime import invoker
        from lakekit.local.lambda_runtime.dispatcher import AsyncEvent
        from lakekit.local.services import awslambda

        arn = str(target["Arn"])
        region, account = arn.split(":")[3], arn.split(":")[4]
        try:
            invoker.resolve(account, region, arn)
        except invoker.FunctionNotFound as exc:
            raise TargetFailure("NO_RESOURCE", str(exc)) from exc
        if not _lambda_policy_allows(account, region, arn, rule):
            raise TargetFailure("NO_PERMISSIONS", f"EventBridge is not authorized to invoke {arn}: its "
                                "resource-based policy must allow events.amazonaws.com "
                                f"lambda:InvokeFunction with SourceArn {rule.arn} (AddPermission / "
                                "AWS::Lambda::Permission)")
        request_id = awslambda.DISPATCHER.submit(AsyncEvent(
            function=arn, payload=payload.encode(), account_id=account, region=region,
            source="events", detail={"rule": rule.arn, "event_id": event["id"]}))
        return {"request_id": request_id}

    def _states(self, rule: RuleView, target: dict[str, Any], payload: str, event: dict[str, Any]
                ) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        from lakekit.config import LOCAL_ACCESS_KEY
        from lakekit.local._clients import endpoint_client, role_credentials

        arn = str(target["Arn"])
        region = arn.split(":")[3]
        role = target.get("RoleArn")
        if not role:
            raise TargetFailure("INVALID_PARAMETER", f"target {arn} has no RoleArn: EventBridge needs "
                                "a role allowed states:StartExecution to start the state machine")
        url = self._endpoint_url()
        try:
            creds = role_credentials(endpoint_client(url, "sts", region, LOCAL_ACCESS_KEY), role,
                                     f"events-{rule.name}"[:64], service=EVENTS_PRINCIPAL)
        except ClientError as exc:
            raise TargetFailure("FAILED_TO_ASSUME_ROLE", _err_text(exc)) from exc
        sfn = endpoint_client(url, "stepfunctions", region, creds["AWS_ACCESS_KEY_ID"],
                              creds["AWS_SECRET_ACCESS_KEY"], creds["AWS_SESSION_TOKEN"])
        try:
            out = sfn.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=payload)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            mapped = {"AccessDeniedException": "NO_PERMISSIONS", "AccessDenied": "NO_PERMISSIONS",
                      "StateMachineDoesNotExist": "NO_RESOURCE", "InvalidArn": "NO_RESOURCE",
                      "InvalidExecutionInput": "INVALID_JSON",
                      "ExecutionLimitExceeded": "RESOURCE_LIMIT_EXCEEDED",
                      "ThrottlingException": "THROTTLING"}.get(code, "SDK_CLIENT_ERROR")
            raise TargetFailure(mapped, _err_text(exc)) from exc
        return {"executionArn": out["executionArn"]}

    def _sqs(self, rule: RuleView, target: dict[str, Any], payload: str, event: dict[str, Any]
             ) -> dict[str, Any]:
        arn = str(target["Arn"])
        kwargs: dict[str, Any] = {}
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if group:
            kwargs["MessageGroupId"] = group
        msg_id = _send_sqs(self._endpoint_url(), arn, rule.arn, payload, {}, **kwargs)
        return {"MessageId": msg_id}

    def _sns(self, rule: RuleView, target: dict[str, Any], payload: str, event: dict[str, Any]
             ) -> dict[str, Any]:
        from lakekit.config import LOCAL_ACCESS_KEY
        from lakekit.local._clients import endpoint_client

        arn = str(target["Arn"])
        policy = _topic_policy(arn)
        if policy is not None and not _service_allowed(policy, "sns:Publish", arn, rule):
            raise TargetFailure("NO_PERMISSIONS", f"the topic policy of {arn} does not allow "
                                "events.amazonaws.com sns:Publish")
        try:
            out = endpoint_client(self._endpoint_url(), "sns", arn.split(":")[3],
                                  LOCAL_ACCESS_KEY).publish(TopicArn=arn, Message=payload)
        except Exception as exc:
            raise TargetFailure("NO_RESOURCE", _err_text(exc)) from exc
        return {"MessageId": out.get("MessageId")}

    # -- failures --------------------------------------------------------------------------
    def _dead_letter(self, rule: RuleView, target: dict[str, Any], event: dict[str, Any],
                     failure: TargetFailure) -> str | None:
        dlq = ((target.get("DeadLetterConfig") or {}).get("Arn")) or None
        if not dlq:
            return None
        attrs = {"RULE_ARN": rule.arn, "TARGET_ARN": str(target.get("Arn", "")),
                 "ERROR_CODE": failure.code, "ERROR_MESSAGE": failure.message[:1024],
                 "RETRY_ATTEMPTS": "0"}
        try:
            _send_sqs(self._endpoint_url(), dlq, rule.arn, json.dumps(_wire(event)), attrs)
        except TargetFailure as f:
            log.warning("EventBridge rule %s: sending event %s to the dead-letter queue %s failed: %s",
                        rule.name, event.get("id"), dlq, f)
            _metric(rule.account, rule.region, "InvocationsFailedToBeSentToDlq", 1.0,
                    {"RuleName": rule.name})
            return None
        _metric(rule.account, rule.region, "InvocationsSentToDlq", 1.0, {"RuleName": rule.name})
        return dlq


# -- helpers ----------------------------------------------------------------------------------
def _wire(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "ingestion-time"}


def _err_text(exc: Exception) -> str:
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict) and resp.get("Error"):
        return f"{resp['Error'].get('Code')}: {resp['Error'].get('Message')}"
    return str(exc)


def _metric(account: str, region: str, name: str, value: float, dims: dict[str, str]) -> None:
    from lakekit.local import metrics

    metrics.emit(account, region, "AWS/Events", name, value, "Count", dims)


def _service_allowed(policy: Any, action: str, resource: str, rule: RuleView) -> bool:
    from lakekit.local.iam.policy import ALLOW, Request, evaluate

    req = Request(action, resource, {"aws:SourceArn": rule.arn, "aws:SourceAccount": rule.account},
                  {"Service": [EVENTS_PRINCIPAL]})
    return evaluate([policy], req, resource_policy=True) == ALLOW


def _lambda_policy_allows(account: str, region: str, arn: str, rule: RuleView) -> bool:
    from moto.awslambda.models import lambda_backends

    from lakekit.local.lambda_runtime import invoker

    name, qualifier = invoker._split(arn, None)
    try:
        policy = lambda_backends[account][region].get_policy(name, qualifier)
    except Exception as exc:
        log.info("no resource-based policy readable for %s: %r", arn, exc)
        return False
    try:  # moto's wire format: {"Policy": "<the document as JSON text>", "RevisionId": ...}
        doc = json.loads(policy)
        policy = doc.get("Policy", doc) if isinstance(doc, dict) else policy
    except (TypeError, ValueError):
        pass
    return _service_allowed(policy, "lambda:InvokeFunction", arn, rule)


def _queue(arn: str) -> Any:
    from moto.sqs.models import sqs_backends

    parts = arn.split(":")
    try:
        return sqs_backends[parts[4]][parts[3]].queues.get(parts[5])
    except Exception:
        return None


def _topic_policy(arn: str) -> Any:
    from moto.sns.models import sns_backends

    parts = arn.split(":")
    try:
        topic = sns_backends[parts[4]][parts[3]].topics.get(arn)
    except Exception:
        return None
    return getattr(topic, "policy", None) if topic is not None else None


def _send_sqs(url: str, arn: str, rule_arn: str, body: str, attrs: dict[str, str], **kwargs: Any) -> str:
    """SendMessage as EventBridge: the queue policy must allow events.amazonaws.com."""
    from lakekit.config import LOCAL_ACCESS_KEY
    from lakekit.local._clients import endpoint_client

    q = _queue(arn)
    if q is None:
        raise TargetFailure("NO_RESOURCE", f"queue {arn} does not exist")
    parts = arn.split(":")
    view = RuleView(rule_arn.rsplit("/", 1)[-1], rule_arn, parts[4], parts[3], "default", "ENABLED",
                    None, None, [])
    policy = getattr(q, "policy", None)
    if not policy or not _service_allowed(policy, "sqs:SendMessage", arn, view):
        raise TargetFailure("NO_PERMISSIONS", f"the queue policy of {arn} does not allow "
                            "events.amazonaws.com sqs:SendMessage (aws:SourceArn the rule)")
    sqs = endpoint_client(url, "sqs", parts[3], LOCAL_ACCESS_KEY)
    queue_url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
    msg_attrs = {k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()}
    out = sqs.send_message(QueueUrl=queue_url, MessageBody=body,
                           **({"MessageAttributes": msg_attrs} if msg_attrs else {}), **kwargs)
    return str(out.get("MessageId"))
