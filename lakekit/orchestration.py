"""Notebook 07's helpers: run the pipeline state machine, read its history, draw its graph.

Works the same on AWS and the local endpoint: it only calls the Step Functions, SNS, SQS and
CloudFormation APIs.

- :func:`start` / :func:`wait_execution` (progress bar of the current state), :func:`history`
  (every page of GetExecutionHistory);
- :func:`state_outcomes` colours each state from the history: ``SUCCEEDED`` (exited),
  ``CAUGHT`` (failed, a Catch moved on), ``FAILED``, ``RUNNING``, or absent (not run);
  :func:`history_table` is the console's *Events* view cut to one row per state;
- :func:`draw` draws the ASL's states with matplotlib, coloured by those outcomes (the console's
  *Graph view*);
- :func:`inbox` subscribes an SQS queue ``<prefix>-pipeline-inbox`` to the pipeline topic (queue
  policy for ``sns.amazonaws.com``, raw delivery off: the body is SNS's JSON envelope);
  :func:`read_inbox` reads it; :func:`delete_inbox` removes it (notebook 99);
- :func:`set_api_pull_schedule` updates the data lake stack with ``ApiPullSchedule`` (previous
  template, every other parameter kept), what the console's *Update stack* does.

Example::

    >>> from lakekit import orchestration
    >>> orchestration.state_outcomes([
    ...     {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "A"}},
    ...     {"type": "TaskFailed", "taskFailedEventDetails": {"error": "X"}},
    ...     {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "B"}},
    ...     {"type": "TaskStateExited", "stateExitedEventDetails": {"name": "B"}}])
    {'A': 'CAUGHT', 'B': 'SUCCEEDED'}
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any

from lakekit.config import Settings
from lakekit.config import settings as _settings
from lakekit.session import client as _client
from lakekit.waiters import Waited, wait_for

log = logging.getLogger(__name__)

__all__ = ["FINAL", "COLOURS", "start", "wait_execution", "history", "state_outcomes", "history_table",
           "draw", "inbox_name", "purge_inbox", "endpoint_time_scales", "inbox", "read_inbox", "delete_inbox", "set_api_pull_schedule"]

FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
#: the console's graph view colours
COLOURS = {"SUCCEEDED": "#2ca02c", "FAILED": "#d62728", "CAUGHT": "#ff7f0e", "RUNNING": "#1f77b4",
           None: "#dddddd"}
_FAILED_SUFFIXES = ("Failed", "TimedOut", "StartFailed", "SubmitFailed")


def start(sfn: Any, machine_arn: str, payload: dict[str, Any] | None = None, name: str | None = None) -> str:
    """StartExecution; -> the execution ARN."""
    kw = {"name": name} if name else {}
    return sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(payload or {}), **kw)["executionArn"]


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """Every event of the execution, oldest first (all pages)."""
    events: list[dict[str, Any]] = []
    kw: dict[str, Any] = {}
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **kw)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kw["nextToken"] = page["nextToken"]


def _entered(e: dict[str, Any]) -> str | None:
    return (e.get("stateEnteredEventDetails") or {}).get("name") if e["type"].endswith("StateEntered") else None


def _exited(e: dict[str, Any]) -> str | None:
    return (e.get("stateExitedEventDetails") or {}).get("name") if e["type"].endswith("StateExited") else None


def wait_execution(sfn: Any, arn: str, *, timeout: float = 600.0, progress: bool = True,
                   interval: float = 0.5) -> Waited[dict[str, Any]]:
    """Wait until the execution is final; the bar shows ``STATUS @ current state``."""
    def poll() -> dict[str, Any]:
        desc = sfn.describe_execution(executionArn=arn)
        names = [n for n in map(_entered, history(sfn, arn)) if n]
        desc["_state"] = names[-1] if names else "-"
        return desc

    return wait_for(poll, lambda d: f"{d['status']} @ {d['_state']}", lambda s: s.split()[0] in FINAL,
                    timeout=timeout, interval=interval, progress=progress, desc=f"execution {arn.rsplit(':', 1)[-1]}",
                    hint="Open it in the Step Functions console (Executions tab) or read history(); "
                         "sfn.stop_execution stops it.")


def state_outcomes(events: list[dict[str, Any]]) -> dict[str, str]:
    """State name -> SUCCEEDED / CAUGHT / FAILED / RUNNING, in the order first entered."""
    out: dict[str, str] = {}
    open_: list[str] = []
    failed: set[str] = set()
    for e in events:
        if name := _entered(e):
            for prev in [p for p in open_ if p in failed]:   # a Catch moved on from a failed state
                out[prev] = "CAUGHT"
                open_.remove(prev)
            out[name] = "FAILED" if e["type"] == "FailStateEntered" else "RUNNING"
            open_.append(name)
            failed.discard(name)
        elif name := _exited(e):  # an exit after a failure it did not retry: a Catch took it
            out[name] = "CAUGHT" if name in failed else "SUCCEEDED"
            failed.discard(name)
            if name in open_:
                open_.remove(name)
        elif e["type"].endswith(_FAILED_SUFFIXES) and not e["type"].startswith("Execution") and open_:
            failed.add(open_[-1])
        elif e["type"].endswith(("Scheduled", "Succeeded")) and not e["type"].startswith("Execution") and open_:
            failed.discard(open_[-1])  # a retry's next attempt, or its success
        elif e["type"] in ("ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"):
            for prev in open_:
                out[prev] = "FAILED"
        elif e["type"] == "ExecutionSucceeded":
            for prev in open_:
                out[prev] = "SUCCEEDED"
    return out


def history_table(events: list[dict[str, Any]]):
    """One row per state entered: when (s after the start), how long, outcome, error and attempts."""
    import pandas as pd

    if not events:
        return pd.DataFrame(columns=["state", "type", "entered_s", "seconds", "attempts", "outcome", "error"])
    t0 = events[0]["timestamp"]
    outcomes = state_outcomes(events)
    rows: dict[str, dict[str, Any]] = {}
    current: str | None = None
    for e in events:
        at = (e["timestamp"] - t0).total_seconds()
        if name := _entered(e):
            current = name
            rows.setdefault(name, {"state": name, "type": e["type"].removesuffix("StateEntered"),
                                   "entered_s": round(at, 2), "seconds": 0.0, "attempts": 0, "error": ""})
        elif name := _exited(e):
            rows[name]["seconds"] = round(at - rows[name]["entered_s"], 2)
        elif e["type"] == "TaskScheduled" and current:
            rows[current]["attempts"] += 1
        elif e["type"].endswith(_FAILED_SUFFIXES) and current in rows:
            details = next((v for k, v in e.items() if k.endswith("EventDetails")), {}) or {}
            rows[current]["error"] = details.get("error", e["type"])
            rows[current]["seconds"] = round(at - rows[current]["entered_s"], 2)
    frame = pd.DataFrame(list(rows.values()))
    frame["outcome"] = frame["state"].map(outcomes)
    return frame[["state", "type", "entered_s", "seconds", "attempts", "outcome", "error"]]


def _edges(states: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(from, to, kind) for Next / Choice / Default / Catch transitions."""
    out = []
    for name, st in states.items():
        if st.get("Next"):
            out.append((name, st["Next"], "next"))
        for choice in st.get("Choices", []):
            out.append((name, choice["Next"], "choice"))
        if st.get("Default"):
            out.append((name, st["Default"], "choice"))
        for catch in st.get("Catch", []):
            out.append((name, catch["Next"], "catch"))
    return out


def _layout(definition: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """State -> (column, row): column = BFS depth from StartAt over non-catch edges first."""
    states = definition["States"]
    edges = _edges(states)
    depth = {definition["StartAt"]: 0}
    queue = [definition["StartAt"]]
    for kinds in (("next", "choice"), ("next", "choice", "catch")):
        queue = list(depth)
        while queue:
            cur = queue.pop(0)
            for a, b, kind in edges:
                if a == cur and kind in kinds and b not in depth:
                    depth[b] = depth[a] + 1
                    queue.append(b)
    for name in states:
        depth.setdefault(name, max(depth.values()) + 1)
    rows: dict[int, int] = {}
    pos = {}
    for name in states:
        col = depth[name]
        pos[name] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return pos


def draw(definition: dict[str, Any] | str, outcomes: dict[str, str] | None = None, title: str = ""):
    """The state machine's graph, each state coloured by its outcome (grey: not run); the
    figure's ``lakekit_states`` maps each state name to its box."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Patch

    if isinstance(definition, str):
        definition = json.loads(definition)
    outcomes = outcomes or {}
    states = definition["States"]
    pos = _layout(definition)
    cols = max(c for c, _ in pos.values()) + 1
    rows = max(r for _, r in pos.values()) + 1
    fig, ax = plt.subplots(figsize=(max(10, 1.6 * cols), 1.2 + 1.1 * rows))
    w, h = 1.35, 0.55
    for a, b, kind in _edges(states):
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.annotate("", xy=(xb * 1.6, -yb), xytext=(xa * 1.6, -ya),
                    arrowprops={"arrowstyle": "->", "color": "#d62728" if kind == "catch" else "#555555",
                                "linestyle": "--" if kind == "catch" else "-", "lw": 0.8,
                                "shrinkA": 18, "shrinkB": 18,
                                "connectionstyle": "arc3,rad=0.25" if xb <= xa else "arc3,rad=0.0"})
    boxes = {}
    for name, (x, y) in pos.items():
        st = states[name]
        label = name
        if st["Type"] == "Map":
            inner = list(st.get("ItemProcessor", st.get("Iterator", {})).get("States", {}))
            label += "\n[" + ", ".join(inner) + "]"
        colour = COLOURS.get(outcomes.get(name), COLOURS[None])
        boxes[name] = ax.add_patch(FancyBboxPatch((x * 1.6 - w / 2, -y - h / 2), w, h, boxstyle="round,pad=0.03",
                                    facecolor=colour, edgecolor="#333333", lw=0.8))
        ax.text(x * 1.6, -y + 0.05, label, ha="center", va="center", fontsize=6.5, wrap=True)
        ax.text(x * 1.6, -y - 0.19, st["Type"], ha="center", va="center", fontsize=5.5, color="#333333")
    ax.set_xlim(-1, cols * 1.6 - 0.6)
    ax.set_ylim(-rows + 0.4, 0.6)
    ax.axis("off")
    ax.legend(handles=[Patch(color=c, label=k or "not run") for k, c in COLOURS.items()],
              loc="lower right", fontsize=7, ncol=5, frameon=False)
    ax.set_title(title or definition.get("Comment", "")[:100], fontsize=9)
    fig.tight_layout()
    fig.lakekit_states = boxes   # state name -> its box (tests read the colours)
    return fig


def inbox_name(s: Settings | None = None) -> str:
    return f"{(s or _settings()).prefix}-pipeline-inbox"


def inbox(topic_arn: str, s: Settings | None = None) -> str:
    """Create (idempotent) the SQS queue ``<prefix>-pipeline-inbox`` and subscribe it to the topic."""
    s = s or _settings()
    sqs, sns = _client("sqs", s), _client("sns", s)
    url = sqs.create_queue(QueueName=inbox_name(s))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "PipelineTopicSends", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subs = [x for x in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"] if x["Endpoint"] == arn]
    if not subs:
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


#: envelopes received but not yet matched, per queue URL (a later read_inbox sees them first)
_UNCLAIMED: dict[str, list[dict[str, Any]]] = {}


def read_inbox(queue_url: str, *, want: int = 1, timeout: float = 60.0,
               match: Any = None, s: Settings | None = None) -> list[dict[str, Any]]:
    """SNS envelopes matching ``match(envelope)`` (all when None), oldest first, until ``want`` or
    the deadline. Messages are deleted from the queue once received; those that do not match
    are kept for the next call."""
    sqs = _client("sqs", s or _settings())
    pending = _UNCLAIMED.setdefault(queue_url, [])
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        for body in list(pending):
            if len(got) < want and (match is None or match(body)):
                got.append(body)
                pending.remove(body)
        if len(got) >= want or time.monotonic() >= deadline:
            return got
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in resp.get("Messages", []):
            pending.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def purge_inbox(queue_url: str, s: Settings | None = None) -> int:
    """Drop what is waiting (a re-run starts from an empty inbox); -> messages dropped."""
    dropped = len(read_inbox(queue_url, want=10_000, timeout=2.0, s=s))
    _UNCLAIMED.pop(queue_url, None)
    return dropped


def delete_inbox(s: Settings | None = None) -> bool:
    """Delete ``<prefix>-pipeline-inbox`` if it exists (its subscription goes with the topic)."""
    from botocore.exceptions import ClientError

    sqs = _client("sqs", s or _settings())
    try:
        url = sqs.get_queue_url(QueueName=inbox_name(s))["QueueUrl"]
    except ClientError:
        return False
    sqs.delete_queue(QueueUrl=url)
    return True


def endpoint_time_scales(s: Settings | None = None) -> dict[str, str]:
    """The local endpoint's time-compression knobs (its health report); {} on aws or when unset."""
    import urllib.request

    s = s or _settings()
    if not s.is_local or not s.endpoint_url:
        return {}
    try:
        with urllib.request.urlopen(f"{s.endpoint_url}/_lakekit/health", timeout=5) as resp:
            return dict(json.loads(resp.read()).get("time_scales") or {})
    except (OSError, ValueError):
        return {}


def set_api_pull_schedule(enabled: bool, api_url: str = "", s: Settings | None = None,
                          timeout: float = 600.0) -> str:
    """Update the data lake stack: ``ApiPullSchedule`` (and ``ApiPullUrl``), previous template,
    every other parameter unchanged; -> the rule's new state. A no-op update is fine."""
    from botocore.exceptions import ClientError

    from lakekit import deploy

    s = s or _settings()
    cf = _client("cloudformation", s)
    stack = cf.describe_stacks(StackName=deploy.stack_name(s))["Stacks"][0]
    new = {"ApiPullSchedule": "ENABLED" if enabled else "DISABLED", "ApiPullUrl": api_url if enabled else ""}
    params = [{"ParameterKey": p["ParameterKey"], "ParameterValue": new[p["ParameterKey"]]}
              if p["ParameterKey"] in new else {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
              for p in stack["Parameters"]]
    params += [{"ParameterKey": k, "ParameterValue": v} for k, v in new.items()
               if k not in {p["ParameterKey"] for p in stack["Parameters"]}]
    started = time.time() - 1
    try:
        cf.update_stack(StackName=stack["StackId"], UsePreviousTemplate=True, Parameters=params,
                        Capabilities=["CAPABILITY_NAMED_IAM"], Tags=stack.get("Tags", []))
        deploy.wait_for_stack(s, timeout, progress=False, since=started)
    except ClientError as exc:
        if "No updates are to be performed" not in str(exc):
            raise
    rule = deploy.outputs(s)["ApiPullScheduleRuleName"]
    return _client("events", s).describe_rule(Name=rule)["State"]
