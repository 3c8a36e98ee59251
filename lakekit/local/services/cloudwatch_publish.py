"""What Lambda, Glue and Athena publish to CloudWatch about themselves, and when.

Called by the executors (one line each) at the moment AWS publishes; everything goes through
:func:`lakekit.local.metrics.emit_many` (service-owned, no IAM, never raises).

- **Lambda** (Lambda developer guide, "Working with Lambda function metrics"): after each
  invocation attempt (retries are invocations too) ``Invocations`` = 1, ``Errors`` = 1 when the
  function failed (errors, timeouts, crashes), ``Duration`` in ms, and ``ConcurrentExecutions``
  (instances busy when it started; use the Maximum statistic) - with the dimension
  ``FunctionName`` only (AWS also publishes ``FunctionName + Resource`` and an account-wide set
  without dimensions; moto's subset matching of dimensions would double-count them);
  timestamped when the invocation started. Lambda only sends a metric when
  it is nonzero, so ``Errors`` is absent for successful invocations.
- **Glue** (Glue developer guide, "Monitoring AWS Glue using Amazon CloudWatch metrics"), only
  for runs with ``--enable-metrics``: namespace ``Glue``, dimensions ``JobName``, ``JobRunId``
  (the run id, and ``ALL``) and ``Type`` (``count`` / ``gauge``):
  ``glue.driver.aggregate.elapsedTime`` (ms), ``glue.driver.aggregate.numFailedTasks`` (1 for a
  failed run), ``glue.driver.jvm.heap.used`` / ``glue.ALL.jvm.heap.used`` (bytes) when the run
  ends.
- **Athena** (Athena user guide, "Monitor Athena queries with CloudWatch metrics"), only when
  the workgroup has ``PublishCloudWatchMetricsEnabled``: namespace ``AWS/Athena``, dimensions
  ``QueryState`` (SUCCEEDED / FAILED / CANCELED), ``QueryType`` (DML / DDL / UTILITY) and
  ``WorkGroup``; ``ProcessedBytes`` (DML only; = the query's ``DataScannedInBytes``),
  ``TotalExecutionTime``, ``EngineExecutionTime``, ``QueryQueueTime``, ``QueryPlanningTime``,
  ``ServicePreProcessingTime``, ``ServiceProcessingTime`` (ms) when the query finishes.
"""
from __future__ import annotations

import datetime as _dt
import threading
from collections import Counter
from typing import Any

from lakekit.local.metrics import emit_many

__all__ = ["lambda_started", "lambda_finished", "glue_run_finished", "athena_query_finished"]

_BUSY: Counter[str] = Counter()
_BUSY_LOCK = threading.Lock()


def lambda_started(function_arn: str) -> tuple[int, int]:
    """Count one more busy instance of the function: (its concurrency, the account's) now."""
    with _BUSY_LOCK:
        _BUSY[function_arn] += 1
        return _BUSY[function_arn], sum(_BUSY.values())


def lambda_finished(spec: Any, outcome: Any, invoked_arn: str, busy: tuple[int, int]) -> None:
    """Publish the AWS/Lambda metrics of one finished invocation attempt (``busy``: what
    :func:`lambda_started` returned for it)."""
    with _BUSY_LOCK:
        _BUSY[spec.arn] = max(0, _BUSY[spec.arn] - 1)
    concurrency, account_total = busy
    qualifier = invoked_arn.split(":")[7] if invoked_arn.count(":") >= 7 else ""
    resource = f"{spec.name}:{qualifier}" if qualifier else spec.name
    started = outcome.started_at or outcome.spawned_at
    when = _dt.datetime.fromtimestamp(started, _dt.UTC) if started else None
    failed = outcome.status != "success"
    data = []
    # Only the FunctionName set: moto's GetMetricStatistics/GetMetricData match dimensions as a
    # SUBSET, so the Resource and account-wide (no dimension) series AWS also publishes would be
    # summed into every FunctionName query here (parity ledger).
    del resource, account_total  # noqa: F821 (kept for the day moto matches exactly)
    for dims in ({"FunctionName": spec.name},):
        data.append(("Invocations", 1.0, "Count", dims))
        if failed:
            data.append(("Errors", 1.0, "Count", dims))
        data.append(("Duration", float(outcome.duration_ms), "Milliseconds", dims))
        data.append(("ConcurrentExecutions", float(concurrency), "Count",
                     dims))
    emit_many(spec.account_id, spec.region, "AWS/Lambda", data, when)


def _enabled(args: dict[str, Any], name: str) -> bool:
    return name in args and str(args[name]).strip().lower() != "false"


def glue_run_finished(rec: dict[str, Any]) -> None:
    """Publish the ``Glue`` job metrics of a finished run (only with ``--enable-metrics``)."""
    args = rec.get("_args") or {}
    if not _enabled(args, "--enable-metrics"):
        return
    job, run = rec["JobName"], rec["Id"]
    started, done = float(rec.get("StartedOn") or 0), float(rec.get("CompletedOn") or 0)
    elapsed_ms = max(0.0, (done - started) * 1000.0)
    heap = float(rec.get("_peak_rss_mb") or 0) * 1024 * 1024
    failed = 1.0 if rec.get("JobRunState") in ("FAILED", "TIMEOUT", "ERROR") else 0.0
    data = []
    for run_id in (run, "ALL"):
        count = {"JobName": job, "JobRunId": run_id, "Type": "count"}
        gauge = {"JobName": job, "JobRunId": run_id, "Type": "gauge"}
        data.append(("glue.driver.aggregate.elapsedTime", elapsed_ms, "Milliseconds", count))
        data.append(("glue.driver.aggregate.numFailedTasks", failed, "Count", count))
        if heap:
            data.append(("glue.driver.jvm.heap.used", heap, "Bytes", gauge))
            data.append(("glue.ALL.jvm.heap.used", heap, "Bytes", gauge))
    emit_many(rec["_account"], rec["_region"], "Glue", data,
              _dt.datetime.fromtimestamp(done, _dt.UTC) if done else None)


_TIMES = (("TotalExecutionTime", "TotalExecutionTimeInMillis"),
          ("EngineExecutionTime", "EngineExecutionTimeInMillis"),
          ("QueryQueueTime", "QueryQueueTimeInMillis"),
          ("QueryPlanningTime", "QueryPlanningTimeInMillis"),
          ("ServicePreProcessingTime", "ServicePreProcessingTimeInMillis"),
          ("ServiceProcessingTime", "ServiceProcessingTimeInMillis"))


def athena_query_finished(rec: dict[str, Any]) -> None:
    """Publish the ``AWS/Athena`` metrics of a finished query (workgroups with
    ``PublishCloudWatchMetricsEnabled`` only; the flag is recorded at StartQueryExecution)."""
    if not rec.get("_publish_metrics"):
        return
    state = rec["Status"]["State"]
    dims = {"QueryState": "CANCELED" if state == "CANCELLED" else state,
            "QueryType": rec.get("StatementType") or "DML", "WorkGroup": rec.get("WorkGroup", "primary")}
    stats = rec.get("Statistics") or {}
    data: list[tuple[str, float, str, dict[str, str]]] = [
        (metric, float(stats[key]), "Milliseconds", dims) for metric, key in _TIMES if key in stats]
    if dims["QueryType"] == "DML":
        data.append(("ProcessedBytes", float(stats.get("DataScannedInBytes") or 0), "Bytes", dims))
    done = rec["Status"].get("CompletionDateTime")
    emit_many(rec["_account"], rec["_region"], "AWS/Athena", data,
              _dt.datetime.fromtimestamp(float(done), _dt.UTC) if done else None)
