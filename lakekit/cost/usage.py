"""What a run used, read from the services' own APIs (the same calls on AWS and locally).

One reader per service; each returns a DataFrame with one row per billed thing (a job run, a
crawl, a query, an invocation, a bucket, a key...) and its ``usd`` from
:mod:`lakekit.cost.prices`. The resources are those of the lake's stacks
(``<prefix>-datalake`` and, when deployed, ``<prefix>-pipeline``), found with
``ListStackResources``, so another attendee's resources in a shared account never count.

================  ==========================================================================
service           read from
================  ==========================================================================
Glue jobs         ``GetJobRuns``: ``StartedOn``, ``ExecutionTime``, ``WorkerType`` x
                  ``NumberOfWorkers`` or ``MaxCapacity``, ``DPUSeconds``, ``GlueVersion``,
                  ``ExecutionClass``; a running run is priced on the time so far
Glue crawlers     ``ListCrawls``: ``StartTime``, ``EndTime``, ``DPUHour``; a running crawl is
                  priced at (at least) its 10-minute minimum, on the DPUs of the crawler's
                  latest finished crawl
Athena            ``ListQueryExecutions`` + ``BatchGetQueryExecution`` per workgroup:
                  ``DataScannedInBytes``, ``State``, ``StatementType``, result reuse
Lambda            the ``REPORT`` lines in ``/aws/lambda/<function>`` (``FilterLogEvents``):
                  one request each, ``Billed Duration`` x ``Memory Size``
S3                ``ListObjectVersions``: every stored version's bytes x hours in the window
                  (storage); the versions written in the window (PUT-class requests, a lower
                  bound: GET and LIST requests appear in no API without paid request metrics)
KMS               ``DescribeKey``: hours the key existed in the window (free once pending deletion)
Secrets Manager   ``DescribeSecret``: hours the secret existed in the window
Step Functions    ``ListExecutions`` + ``GetExecutionHistory``: ``*StateEntered`` events
================  ==========================================================================

Not counted (no API reports them per resource): KMS and Secrets Manager API requests, S3
GET/LIST requests, CloudWatch Logs ingestion, Glue Data Catalog requests (free below one
million a month), data transfer.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from lakekit.cost import prices as P

log = logging.getLogger(__name__)

__all__ = ["Window", "Lake", "lake", "glue_job_runs", "crawls", "athena_queries", "lambda_invocations",
           "s3_storage", "kms_keys", "secrets", "state_machine_executions"]

_RUNNING_JOB = ("STARTING", "RUNNING", "STOPPING", "WAITING")
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>\S+)\s.*?Billed Duration: (?P<billed>\d+) ms\s+"
                     r"Memory Size: (?P<mem>\d+) MB")


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass(frozen=True)
class Window:
    """The time span a cost covers: ``[since, until]``, both aware UTC datetimes."""

    since: dt.datetime
    until: dt.datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "since", _utc(self.since))
        object.__setattr__(self, "until", _utc(self.until))
        if self.until < self.since:
            raise ValueError(f"the cost window ends ({self.until:%Y-%m-%d %H:%M:%S}) before it starts "
                             f"({self.since:%Y-%m-%d %H:%M:%S}): pass since= earlier than until=")

    def contains(self, when: dt.datetime | None) -> bool:
        return when is not None and self.since <= _utc(when) <= self.until

    def hours_overlap(self, start: dt.datetime | None, end: dt.datetime | None = None) -> float:
        """Hours of ``[start, end or until]`` inside the window (0 when disjoint)."""
        if start is None:
            return 0.0
        lo = max(self.since, _utc(start))
        hi = min(self.until, _utc(end) if end else self.until)
        return max((hi - lo).total_seconds(), 0.0) / 3600


@dataclass
class Lake:
    """The physical ids of the lake's resources by CloudFormation type, and when it was created."""

    prefix: str
    created: dt.datetime | None = None
    resources: dict[str, list[str]] = field(default_factory=dict)

    def of(self, resource_type: str) -> list[str]:
        return self.resources.get(resource_type, [])


def lake(client: Callable[[str], Any], prefix: str) -> Lake:
    """The resources of ``<prefix>-datalake`` and ``<prefix>-pipeline`` (absent stacks add none)."""
    cf = client("cloudformation")
    found = Lake(prefix)
    for stack in (f"{prefix}-datalake", f"{prefix}-pipeline"):
        try:
            described = cf.describe_stacks(StackName=stack)["Stacks"][0]
        except ClientError as exc:
            if "does not exist" in str(exc):
                continue
            raise
        if described.get("StackStatus") == "DELETE_COMPLETE":
            continue
        created = _utc(described["CreationTime"])
        if stack.endswith("-datalake"):
            found.created = created
        for page in cf.get_paginator("list_stack_resources").paginate(StackName=stack):
            for r in page["StackResourceSummaries"]:
                if r.get("PhysicalResourceId") and not r["ResourceStatus"].startswith("DELETE_COMPLETE"):
                    found.resources.setdefault(r["ResourceType"], []).append(r["PhysicalResourceId"])
    return found


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def _missing(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("EntityNotFoundException", "ResourceNotFoundException", "NoSuchBucket",
                    "NotFoundException", "StateMachineDoesNotExist", "InvalidRequestException",
                    "NotFoundException")


# ------------------------------------------------------------------------------------- Glue jobs
JOB_COLUMNS = ["job", "run", "state", "started", "seconds", "dpus", "billed_dpu_hours", "usd"]


def glue_job_runs(glue: Any, jobs: list[str], window: Window, prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per run of ``jobs`` started in the window."""
    rows = []
    for job in jobs:
        try:
            pages = list(glue.get_paginator("get_job_runs").paginate(JobName=job))
        except ClientError as exc:
            if _missing(exc):
                continue
            raise
        for r in (run for page in pages for run in page.get("JobRuns", [])):
            if not window.contains(r.get("StartedOn")):
                continue
            seconds = float(r.get("ExecutionTime") or 0)
            if r.get("JobRunState") in _RUNNING_JOB:
                seconds = max(seconds, (window.until - _utc(r["StartedOn"])).total_seconds())
            dpus = P.glue_dpus(r.get("WorkerType"), r.get("NumberOfWorkers"),
                               r.get("MaxCapacity") or r.get("AllocatedCapacity"))
            hours, usd = P.glue_job_usd(seconds, dpus, r.get("GlueVersion"), r.get("ExecutionClass"),
                                        r.get("DPUSeconds"), prices)
            rows.append({"job": job, "run": r["Id"], "state": r.get("JobRunState"),
                         "started": _utc(r["StartedOn"]), "seconds": seconds, "dpus": dpus,
                         "billed_dpu_hours": hours, "usd": usd})
    return _frame(rows, JOB_COLUMNS)


# --------------------------------------------------------------------------------- Glue crawlers
CRAWL_COLUMNS = ["crawler", "crawl", "state", "started", "seconds", "billed_seconds", "billed_dpu_hours", "usd"]


def crawls(glue: Any, crawlers: list[str], window: Window, prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per crawl of ``crawlers`` started in the window."""
    rows = []
    for name in crawlers:
        history: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"CrawlerName": name, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            try:
                page = glue.list_crawls(**kwargs)
            except ClientError as exc:
                if _missing(exc):
                    break
                raise
            history += page.get("Crawls", [])
            token = page.get("NextToken")
            if not token:
                break
        # a crawl still running has no DPUHour yet: it is priced at the DPUs of the crawler's
        # latest finished crawl (the default DPUs when there is none)
        finished = sorted((c for c in history if c.get("EndTime") and c.get("DPUHour")),
                          key=lambda c: _utc(c["StartTime"]))
        rate = None
        if finished:
            last = finished[-1]
            took = (_utc(last["EndTime"]) - _utc(last["StartTime"])).total_seconds()
            rate = last["DPUHour"] / took if took > 0 else None
        for c in history:
            if not window.contains(c.get("StartTime")):
                continue
            end = _utc(c["EndTime"]) if c.get("EndTime") else window.until
            seconds = max((end - _utc(c["StartTime"])).total_seconds(), 0.0)
            dpu_hour = c.get("DPUHour") if c.get("EndTime") else (rate * seconds if rate else None)
            hours, usd = P.crawl_usd(seconds, dpu_hour, prices)
            rows.append({"crawler": name, "crawl": c.get("CrawlId"), "state": c.get("State"),
                         "started": _utc(c["StartTime"]), "seconds": round(seconds, 1),
                         "billed_seconds": max(round(seconds), prices.crawler_min_seconds),
                         "billed_dpu_hours": hours, "usd": usd})
    return _frame(rows, CRAWL_COLUMNS)


# ---------------------------------------------------------------------------------------- Athena
QUERY_COLUMNS = ["workgroup", "query", "state", "statement", "submitted", "scanned_bytes",
                 "billed_bytes", "usd"]


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def athena_queries(athena: Any, workgroups: list[str], window: Window,
                   prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per query execution submitted in the window in ``workgroups``."""
    rows = []
    for wg in workgroups:
        try:
            ids = [q for page in athena.get_paginator("list_query_executions").paginate(WorkGroup=wg)
                   for q in page.get("QueryExecutionIds", [])]
        except ClientError as exc:
            if _missing(exc):
                continue
            raise
        for batch in _chunks(ids, 50):
            for qe in athena.batch_get_query_execution(QueryExecutionIds=batch).get("QueryExecutions", []):
                submitted = (qe.get("Status") or {}).get("SubmissionDateTime")
                if not window.contains(submitted):
                    continue
                st = qe.get("Statistics") or {}
                scanned = int(st.get("DataScannedInBytes") or 0)
                state = qe["Status"]["State"]
                reused = bool((st.get("ResultReuseInformation") or {}).get("ReusedPreviousResult"))
                billed, usd = P.athena_query_usd(scanned, state, qe.get("StatementType") or "DML", reused,
                                                 prices)
                rows.append({"workgroup": wg, "query": qe["QueryExecutionId"], "state": state,
                             "statement": qe.get("StatementType"), "submitted": _utc(submitted),
                             "scanned_bytes": scanned, "billed_bytes": billed, "usd": usd})
    return _frame(rows, QUERY_COLUMNS)


# ---------------------------------------------------------------------------------------- Lambda
LAMBDA_COLUMNS = ["function", "request", "at", "billed_ms", "memory_mb", "gb_seconds", "usd"]


def lambda_invocations(logs: Any, lam: Any, functions: list[str], window: Window,
                       prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per ``REPORT`` line of ``functions`` in the window (duration plus the request)."""
    rows = []
    for fn in functions:
        try:
            conf = lam.get_function_configuration(FunctionName=fn)
            group = (conf.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{fn}"
            arch = (conf.get("Architectures") or ["x86_64"])[0]
        except ClientError as exc:
            if not _missing(exc):
                raise
            group, arch = f"/aws/lambda/{fn}", "x86_64"
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(window.since.timestamp() * 1000),
                                  "endTime": int(window.until.timestamp() * 1000) + 1}
        try:
            for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
                for ev in page.get("events", []):
                    m = _REPORT.match(ev.get("message", ""))
                    if not m:
                        continue
                    billed, mem = int(m["billed"]), int(m["mem"])
                    gbs, usd = P.lambda_usd(billed, mem, arch, prices)
                    rows.append({"function": fn, "request": m["id"],
                                 "at": dt.datetime.fromtimestamp(ev["timestamp"] / 1000, dt.UTC),
                                 "billed_ms": billed, "memory_mb": mem, "gb_seconds": gbs,
                                 "usd": round(usd + P.lambda_requests_usd(1, prices), 12)})
        except ClientError as exc:
            if not _missing(exc):
                raise
    return _frame(rows, LAMBDA_COLUMNS)


# -------------------------------------------------------------------------------------------- S3
S3_COLUMNS = ["bucket", "versions", "bytes", "byte_hours", "puts", "usd"]


def s3_storage(s3: Any, buckets: list[str], window: Window, prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per bucket: the byte-hours its stored versions spent in the window, and the
    versions written in the window (each one PUT/COPY/POST request at least)."""
    rows = []
    for bucket in buckets:
        versions = stored = puts = 0
        byte_hours = 0.0
        try:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                for v in page.get("Versions", []):
                    versions += 1
                    stored += int(v.get("Size") or 0)
                    byte_hours += int(v.get("Size") or 0) * window.hours_overlap(v.get("LastModified"))
                    puts += window.contains(v.get("LastModified"))
        except ClientError as exc:
            if _missing(exc):
                continue
            raise
        _, storage = P.s3_storage_usd(byte_hours, prices)
        rows.append({"bucket": bucket, "versions": versions, "bytes": stored, "byte_hours": byte_hours,
                     "puts": int(puts), "usd": round(storage + P.s3_requests_usd(int(puts), 0, prices), 12)})
    return _frame(rows, S3_COLUMNS)


# ------------------------------------------------------------------------------- KMS and secrets
KEY_COLUMNS = ["key", "state", "created", "hours", "usd"]


def kms_keys(kms: Any, keys: list[str], window: Window, prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per customer managed key: the hours it existed (not pending deletion) in the window."""
    rows = []
    for key in keys:
        try:
            meta = kms.describe_key(KeyId=key)["KeyMetadata"]
        except ClientError as exc:
            if _missing(exc) or "NotFound" in str(exc):
                continue
            raise
        if meta.get("KeyManager") == "AWS":
            continue
        end = None
        if meta.get("KeyState") == "PendingDeletion" and meta.get("DeletionDate"):
            end = _utc(meta["DeletionDate"]) - dt.timedelta(days=int(meta.get("PendingDeletionWindowInDays") or 7))
        hours = window.hours_overlap(meta.get("CreationDate"), end)
        rows.append({"key": meta["KeyId"], "state": meta.get("KeyState"), "created": _utc(meta["CreationDate"]),
                     "hours": hours, "usd": P.kms_key_usd(hours, prices)})
    return _frame(rows, KEY_COLUMNS)


SECRET_COLUMNS = ["secret", "created", "hours", "usd"]


def secrets(sm: Any, arns: list[str], window: Window, prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per secret: the hours it was stored in the window."""
    rows = []
    for arn in arns:
        try:
            meta = sm.describe_secret(SecretId=arn)
        except ClientError as exc:
            if _missing(exc):
                continue
            raise
        hours = window.hours_overlap(meta.get("CreatedDate"), meta.get("DeletedDate"))
        rows.append({"secret": meta.get("Name", arn), "created": _utc(meta["CreatedDate"]),
                     "hours": hours, "usd": P.secret_usd(hours, prices)})
    return _frame(rows, SECRET_COLUMNS)


# -------------------------------------------------------------------------------- Step Functions
SFN_COLUMNS = ["state_machine", "execution", "status", "started", "transitions", "usd"]


def state_machine_executions(sfn: Any, machines: list[str], window: Window,
                             prices: P.Prices = P.PRICES) -> pd.DataFrame:
    """One row per execution of a STANDARD state machine started in the window."""
    rows = []
    for arn in machines:
        try:
            if sfn.describe_state_machine(stateMachineArn=arn).get("type", "STANDARD") != "STANDARD":
                continue
            executions = [e for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
                          for e in page.get("executions", [])]
        except ClientError as exc:
            if _missing(exc):
                continue
            raise
        for e in executions:
            if not window.contains(e.get("startDate")):
                continue
            events = [ev for page in sfn.get_paginator("get_execution_history").paginate(
                executionArn=e["executionArn"]) for ev in page.get("events", [])]
            transitions = sum(1 for ev in events if ev["type"].endswith("StateEntered"))
            rows.append({"state_machine": arn.rsplit(":", 1)[-1], "execution": e["name"],
                         "status": e.get("status"), "started": _utc(e["startDate"]),
                         "transitions": transitions, "usd": P.sfn_transitions_usd(transitions, prices)})
    return _frame(rows, SFN_COLUMNS)
