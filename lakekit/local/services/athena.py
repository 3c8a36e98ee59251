"""Local Athena query executions: StartQueryExecution really runs the SQL.

The engine (:mod:`lakekit.local.athena`) runs Athena/Trino SQL over the Glue catalog and
S3 in DuckDB; this module is its HTTP side. It answers ``StartQueryExecution``,
``GetQueryExecution``, ``BatchGetQueryExecution``, ``GetQueryResults``,
``GetQueryRuntimeStatistics``, ``StopQueryExecution``, ``ListQueryExecutions``. Workgroups are in
:mod:`.athena_workgroups`, the submission checks in :mod:`.athena_start`, result reuse in
:mod:`.athena_reuse`, Athena-owned (managed) result storage in :mod:`.athena_managed`.

A query, like on AWS:

1. ``StartQueryExecution`` checks the workgroup (unknown or ``DISABLED`` ->
   ``InvalidRequestException``), resolves the output location (the workgroup's when
   ``EnforceWorkGroupConfiguration`` is true or the caller gave none; neither ->
   "No output location provided..."; Athena-owned storage for managed query results), refuses
   what Athena's parser refuses (syntax errors, backquoted identifiers), binds
   ``ExecutionParameters`` / ``EXECUTE ... USING`` into the ``?`` placeholders (a count mismatch
   records a FAILED query), records the execution ``QUEUED`` and returns its id at once
   (``ClientRequestToken`` makes the call idempotent);
2. a worker thread (pool of 4) sets it ``RUNNING``, answers it from a previous result when
   ``ResultReuseConfiguration`` allows, else calls the engine with the caller's
   Glue credentials, the endpoint's admin S3 credentials (Athena reads S3 with credentials
   Lake Formation vends), the Lake Formation access hook of the caller, and the workgroup's
   ``BytesScannedCutoffPerQuery``;
3. results go to ``<OutputLocation>/<id>.csv`` (+ ``.csv.metadata``, a JSON description of the
   columns - Athena's is a binary format no client reads) for SELECT-like statements, to
   ``<id>.txt`` for DDL/utility statements; CTAS and INSERT also write ``<id>-manifest.csv``
   (the data files written, one ``s3://`` URI a line) named by ``Statistics.DataManifestLocation``;
4. final state ``SUCCEEDED``, ``FAILED`` (``StateChangeReason`` + ``AthenaError``) or
   ``CANCELLED`` (``StopQueryExecution`` interrupts DuckDB; the bytes-scanned cutoff cancels
   with Athena's message).

Executions persist (a :class:`lakekit.local.runs.RunStore`, ``athena.queries``, keyed by account,
region and id; results live in S3). One that was ``QUEUED`` or
``RUNNING`` when the endpoint stopped is ``FAILED`` ("interrupted by endpoint restart").

Example::

    qid = athena.start_query_execution(QueryString="SELECT 1", WorkGroup="primary",
        ResultConfiguration={"OutputLocation": "s3://results/"})["QueryExecutionId"]
    athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
"""
from __future__ import annotations

import atexit
import base64
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local import runtime
from lakekit.local._clients import endpoint_client
from lakekit.local.athena import (
    AthenaQueryError,
    Cancellation,
    QueryEngine,
    QueryResult,
    write_results_csv,
    write_results_text,
)
from lakekit.local.athena import _requests as rq
from lakekit.local.athena._inproc import MotoSource
from lakekit.local.iam import athena as iam_athena
from lakekit.local.iam import strict as iam_strict
from lakekit.local.persistence import blobs_dir
from lakekit.local.registry import AwsError, AwsRequest, operation
from lakekit.local.runs import Lifecycle, RunStore
from lakekit.local.services import athena_reuse, cloudwatch_publish
from lakekit.local.services.athena_managed import ManagedStore
from lakekit.local.services.athena_start import NO_OUTPUT_MESSAGE, plan, result_location
from lakekit.local.services.athena_workgroups import work_group as _work_group

try:
    from lakekit.local.lakeformation.evaluator import access_hook as _access_hook
except ImportError:  # pragma: no cover - Lake Formation evaluator not installed
    _access_hook = None

__all__ = ["QUERY_RUNS", "QUERIES", "ACTIVE_STATES", "FINAL_STATES", "WORKERS", "NO_OUTPUT_MESSAGE", "wait_query"]

log = logging.getLogger("lakekit.local.athena")

ACTIVE_STATES = ("QUEUED", "RUNNING")
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
WORKERS = 4
MAX_HISTORY = 10_000
ADMIN_KEY = "test"
ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
RESTART_MESSAGE = ("interrupted by endpoint restart: the local endpoint stopped while this query was "
                   "queued or running; run it again")
_DDL_WORDS = {"CREATE", "DROP", "ALTER", "MSCK"}



def _restarted(rec: dict[str, Any], now: float) -> None:
    _finish(rec, "FAILED", now, RESTART_MESSAGE,
            {"ErrorCategory": 1, "ErrorType": 401, "Retryable": True, "ErrorMessage": RESTART_MESSAGE})


QUERY_RUNS = RunStore("athena.queries", Lifecycle(active=set(ACTIVE_STATES), final=set(FINAL_STATES),
                                                  restart_state="FAILED"),
                      state=("Status", "State"), workers=WORKERS, on_restart=_restarted, history=False)
QUERIES = QUERY_RUNS.data
"""``account|region|QueryExecutionId`` -> the QueryExecution shape plus private ``_`` fields."""
_LOCK = QUERY_RUNS.lock
_ROWS: OrderedDict[str, list[list[str | None]]] = OrderedDict()
_ROWS_MAX = 32
_VERIFIED_BUCKETS: dict[str, float] = {}  # output bucket -> when HeadBucket last succeeded
_ENGINES = threading.local()
_CLIENT_LOCK = threading.Lock()  # engines are created once per (caller, region)


# ----------------------------------------------------------------------------- helpers
def _now() -> float:
    return round(time.time(), 3)


def _ms(seconds: float) -> int:
    return max(0, int(round(seconds * 1000)))


def _client(url: str, service: str, region: str, access_key: str) -> Any:
    return endpoint_client(url, service, region, access_key)


def _submit(qid: str, job: dict[str, Any]) -> None:
    """Queue a query for the worker threads (daemons: a running query never blocks shutdown)."""
    QUERY_RUNS.launch(job["account"], job["region"], qid, lambda control: _run(qid, job, control.handle))


atexit.register(QUERY_RUNS.stop_all)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, 400)


@runtime.once
def _recover() -> None:
    """Executions in flight when the endpoint stopped become FAILED (:func:`_restarted`)."""
    with runtime.state_lock().shared():
        QUERY_RUNS.recover()


def _finish(rec: dict[str, Any], state: str, now: float, reason: str | None = None,
            error: dict[str, Any] | None = None) -> None:
    st = rec["Status"]
    QUERY_RUNS.transition(rec, state, now)  # a final state is final
    st["CompletionDateTime"] = now
    if reason:
        st["StateChangeReason"] = reason
    if error:
        st["AthenaError"] = error
    stats = rec["Statistics"]
    stats["TotalExecutionTimeInMillis"] = _ms(now - st["SubmissionDateTime"])
    if "_running" not in rec:
        stats["QueryQueueTimeInMillis"] = stats["TotalExecutionTimeInMillis"]
    cloudwatch_publish.athena_query_finished(rec)  # AWS/Athena, when the workgroup publishes


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in rec.items() if not k.startswith("_")}
    if rec.get("_managed"):  # Athena-owned storage: no location is shown
        out.pop("ResultConfiguration", None)
    out["Status"] = dict(rec["Status"])
    out["Statistics"] = dict(rec["Statistics"])
    if rec["Status"]["State"] == "RUNNING" and "_running" in rec:
        out["Statistics"]["EngineExecutionTimeInMillis"] = _ms(time.time() - rec["_running"])
        out["Statistics"]["TotalExecutionTimeInMillis"] = _ms(time.time() - rec["Status"]["SubmissionDateTime"])
    return out


def _get(req: AwsRequest, qid: str) -> dict[str, Any]:
    if not qid:
        raise _invalid("QueryExecutionId is required.")
    rec = QUERY_RUNS.get(req.account_id, req.region, qid)
    if rec is None:
        raise _invalid(f"QueryExecution {qid} was not found. Check the id and the region "
                       "(ListQueryExecutions lists the ids of a workgroup).")
    return rec


def _statement_type(sql: str) -> tuple[str, str]:
    words = [w.upper() for w in sql.lstrip("( \n\t").split(None, 5)[:5]]
    first = words[0] if words else ""
    if first == "EXPLAIN":
        return "UTILITY", "EXPLAIN"
    if first in ("DESCRIBE", "DESC"):
        return "DDL", "DESCRIBE_TABLE"
    if first == "SHOW":
        return "DDL", "_".join(words[:2]) if len(words) > 1 else "SHOW"
    if first in _DDL_WORDS:
        if first == "CREATE" and "VIEW" in words:
            return "DDL", "CREATE_VIEW"
        if first == "CREATE" and " AS " in " ".join(sql.upper().split()).join("  "):
            return "DDL", "CREATE_TABLE_AS_SELECT"
        return "DDL", "_".join(words[:2])
    if first == "INSERT":
        return "DML", "INSERT"
    if first == "UNLOAD":
        return "DML", "UNLOAD"
    return "DML", "SELECT"


# ----------------------------------------------------------------------------- running
def _engine(region: str, access_key: str, url: str) -> QueryEngine:
    cache = getattr(_ENGINES, "cache", None)
    if cache is None:
        cache = _ENGINES.cache = {}
    key = (url, region, access_key)
    eng = cache.get(key)
    if eng is None:
        glue = _client(url, "glue", region, access_key)
        s3 = _client(url, "s3", region, ADMIN_KEY)
        # moto lives in this process: read objects, listings and partitions from its backends
        inproc = MotoSource(_account(ADMIN_KEY), _account(access_key), region,
                            lock=lambda: runtime.state_lock().shared())
        with _CLIENT_LOCK:
            eng = cache[key] = QueryEngine(glue, s3, url, region, ADMIN_KEY, "test", inproc=inproc,
                                           mirror_dir=runtime.home() / "work" / "athena-mirror",
                                           mirror_blobs=blobs_dir(runtime.home()))
    return eng


def _account(access_key: str) -> str:
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def _update(job: dict[str, Any], qid: str, fn: Any) -> None:
    """Mutate a record from a worker thread (shared side of the state lock, like every request)."""
    QUERY_RUNS.update(job["account"], job["region"], qid, fn)


def _put(s3: Any, bucket: str, key: str, body: bytes, enc: dict[str, Any] | None, ctype: str) -> None:
    kw: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body, "ContentType": ctype}
    option = (enc or {}).get("EncryptionOption")
    if option == "SSE_S3":
        kw["ServerSideEncryption"] = "AES256"
    elif option == "SSE_KMS":
        kw["ServerSideEncryption"] = "aws:kms"
        if enc.get("KmsKey"):
            kw["SSEKMSKeyId"] = enc["KmsKey"]
    s3.put_object(**kw)


def _run(qid: str, job: dict[str, Any], token: Cancellation | None) -> None:
    try:
        _run_inner(qid, job, token)
    except Exception as exc:  # an engine/gateway bug must still end the query
        log.exception("athena query %s failed inside the endpoint", qid)
        msg = (f"GENERIC_INTERNAL_ERROR: the local Athena engine failed: {exc!r}. This is a bug of the "
               "local endpoint; the endpoint log has the traceback.")

        def fail(rec: dict[str, Any]) -> None:
            if rec["Status"]["State"] in ACTIVE_STATES:
                _finish(rec, "FAILED", _now(), msg,
                        {"ErrorCategory": 1, "ErrorType": 200, "Retryable": False, "ErrorMessage": msg})

        _update(job, qid, fail)


def _run_inner(qid: str, job: dict[str, Any], token: Cancellation | None) -> None:
    started = time.time()
    go = {"ok": False}

    def to_running(rec: dict[str, Any]) -> None:
        if rec["Status"]["State"] == "QUEUED":
            rec["Status"]["State"] = "RUNNING"
            rec["_running"] = started
            rec["Statistics"]["QueryQueueTimeInMillis"] = _ms(started - rec["Status"]["SubmissionDateTime"])
            go["ok"] = True

    _update(job, qid, to_running)
    if not go["ok"]:
        return  # stopped while queued
    url = job["url"]
    s3: Any = ManagedStore.default() if job.get("managed") else _client(url, "s3", job["region"], ADMIN_KEY)
    bucket = job["bucket"]
    try:
        if not job.get("managed") and time.monotonic() - _VERIFIED_BUCKETS.get(bucket, -1e9) > 30:
            s3.head_bucket(Bucket=bucket)  # Athena's check, once per 30 s
            _VERIFIED_BUCKETS[bucket] = time.monotonic()
    except ClientError:
        _output_failed(job, qid, bucket)
        return
    hook = None
    if _access_hook is not None:
        hook = _access_hook(job["account"], job["access_key"], job["region"])
    if iam_strict.enabled():
        hook = iam_athena.table_hook(job["account"], job["region"], job["access_key"], hook)
    if job.get("reuse") and _reuse(qid, job, s3, hook):
        return
    filtered = {"seen": False}
    if hook is not None:
        inner_hook = hook

        def hook(db: str, name: str) -> Any:  # notes Lake Formation filters: such results are not reused
            ta = inner_hook(db, name)
            if ta is not None and (ta.columns is not None or ta.row_filter):
                filtered["seen"] = True
            return ta

    t_engine = time.time()
    try:
        if job.get("utility"):  # PREPARE / DEALLOCATE PREPARE: done at submission, no result rows
            import pyarrow as pa

            res = QueryResult("UTILITY", [], pa.table({}), substatement_type=job["utility"], header_row=False)
        else:
            res = _engine(job["region"], job["access_key"], url).execute(
                job["sql"], database=job["database"], catalog=job["catalog"], access=hook,
                output_location=job["output"], bytes_scanned_cutoff=job["cutoff"], cancel=token,
                query_id=qid)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("AccessDeniedException", "AccessDenied"):
            raise
        msg = iam_athena.glue_denied_reason(exc.response["Error"].get("Message", ""))
        _update(job, qid, lambda rec: rec["Status"]["State"] in ACTIVE_STATES and _finish(
            rec, "FAILED", _now(), msg, {"ErrorCategory": 2, "ErrorType": 1000, "Retryable": False,
                                         "ErrorMessage": msg}))
        return
    except AthenaQueryError as exc:
        err = exc
        engine_ms = _ms(time.time() - t_engine)

        def failed(rec: dict[str, Any]) -> None:
            if rec["Status"]["State"] not in ACTIVE_STATES:
                return
            rec["Statistics"]["EngineExecutionTimeInMillis"] = engine_ms
            rec["Statistics"]["DataScannedInBytes"] = err.data_scanned_bytes
            rec["Statistics"]["ServicePreProcessingTimeInMillis"] = _ms(t_engine - started)
            _finish(rec, err.state, _now(), err.message, {
                "ErrorCategory": err.error_category, "ErrorType": err.error_type_code,
                "Retryable": False, "ErrorMessage": err.message})

        _update(job, qid, failed)
        return
    if iam_strict.enabled() and not job.get("managed"):  # managed: Athena writes its own storage
        who = iam_athena.caller(job["account"], job["access_key"])
        denied = None if who is None or who.is_admin else iam_athena.check_output(
            who, job["region"], bucket, [f"{job['prefix']}{qid}.{'csv' if res.header_row else 'txt'}"],
            job.get("encryption"))
        if denied is not None:
            _update(job, qid, lambda rec: rec["Status"]["State"] in ACTIVE_STATES and _finish(
                rec, "FAILED", _now(), denied, {"ErrorCategory": 2, "ErrorType": 1000,
                                                "Retryable": False, "ErrorMessage": denied}))
            return
    try:
        _write_results(qid, job, s3, res, started, t_engine)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchBucket", "AccessDenied"):
            raise
        _output_failed(job, qid, bucket)  # deleted (or locked) since it was verified
        return
    _update(job, qid, lambda rec: rec.update({"_tables": [list(t) for t in res.tables],
                                         "_reusable": not filtered["seen"]}))


def _reuse(qid: str, job: dict[str, Any], s3: Any, hook: Any) -> bool:
    """Answer the execution from a previous result (ResultReuseConfiguration); False to run it."""
    with _LOCK:
        found = athena_reuse.candidates([(r["QueryExecutionId"], r) for r in QUERY_RUNS.records(
            job["account"], job["region"])], job["reuse"]["key"], job["account"], job["region"],
            job["reuse"]["since"])
        found = [(q, {**r, "_result": dict(r["_result"]), "Statistics": dict(r["Statistics"]),
                      "ResultConfiguration": dict(r["ResultConfiguration"])}) for q, r in found if q != qid]
    for prev_id, prev in found:
        result = prev["_result"]

        def exists(result: dict[str, Any] = result) -> bool:
            try:
                s3.head_object(Bucket=result["bucket"], Key=result["key"])
                return True
            except ClientError:
                return False

        def readable(result: dict[str, Any] = result) -> bool:
            return not iam_strict.enabled() or athena_reuse.result_readable(
                job["account"], job["region"], job["access_key"], result["bucket"], result["key"])

        if not athena_reuse.accessible(prev, job["access_key"], lambda: _client(
                job["url"], "glue", job["region"], job["access_key"]), hook, exists, readable):
            continue

        def reused(rec: dict[str, Any], prev: dict[str, Any] = prev, prev_id: str = prev_id) -> None:
            if rec["Status"]["State"] not in ACTIVE_STATES:
                return
            rec["Statistics"].update({"EngineExecutionTimeInMillis": 0, "DataScannedInBytes": 0,
                                      "ResultReuseInformation": {"ReusedPreviousResult": True}})
            rec["StatementType"] = prev["StatementType"]
            rec["SubstatementType"] = prev["SubstatementType"]
            rec["ResultConfiguration"]["OutputLocation"] = prev["ResultConfiguration"]["OutputLocation"]
            rec["_result"] = prev["_result"]
            rec["_tables"] = prev.get("_tables") or []
            rec["_reused_from"] = prev_id
            _finish(rec, "SUCCEEDED", _now())

        _update(job, qid, reused)
        log.info("athena query %s reused the result of %s", qid, prev_id)
        return True
    return False


def _output_failed(job: dict[str, Any], qid: str, bucket: str) -> None:
    _VERIFIED_BUCKETS.pop(bucket, None)
    msg = (f"Unable to verify/create output bucket {bucket}. Create the bucket or change the "
           "OutputLocation (ResultConfiguration or the workgroup's).")
    _update(job, qid, lambda rec: rec["Status"]["State"] in ACTIVE_STATES and _finish(rec, "FAILED", _now(), msg, {
        "ErrorCategory": 2, "ErrorType": 1000, "Retryable": False, "ErrorMessage": msg}))


_WRITE_STATEMENTS = ("CREATE_TABLE_AS_SELECT", "INSERT", "UNLOAD")


def _write_results(qid: str, job: dict[str, Any], s3: Any, res: Any, started: float, t_engine: float) -> None:
    """The files Athena leaves in the output location, then SUCCEEDED:

    - SELECT-like: ``<qid>.csv`` + ``<qid>.csv.metadata``;
    - DDL/utility: ``<qid>.txt`` + ``<qid>.txt.metadata``;
    - CTAS, INSERT INTO, UNLOAD: ``<qid>.metadata`` + ``<qid>-manifest.csv`` (the data files written,
      named by ``Statistics.DataManifestLocation``) and no result file; ``OutputLocation`` is
      ``s3://.../<qid>`` without an extension.
    """
    bucket, prefix = job["bucket"], job["prefix"]
    t_written = time.time()
    base = f"{prefix}{qid}"
    enc = job.get("encryption")
    rows = None
    meta = {"ColumnInfo": [c.to_athena() for c in res.columns], "UpdateCount": res.update_count,
            "StatementType": res.statement_type, "format": "lakekit-local-json"}
    manifest = None
    columns = [c.to_athena() for c in res.columns]
    header = res.header_row
    if res.substatement_type in _WRITE_STATEMENTS:
        key: str | None = None
        location = f"s3://{bucket}/{base}"
        body = json.dumps({**meta, "ColumnInfo": []}).encode()
        _put(s3, bucket, base + ".metadata", body, enc, "application/octet-stream")
        manifest = f"s3://{bucket}/{base}-manifest.csv"
        _put(s3, bucket, base + "-manifest.csv", "".join(f + "\n" for f in res.written_files).encode(),
             enc, "text/csv")
        columns, header = [], False
    elif res.header_row:
        key = base + ".csv"
        rows = res.rows()
        body = write_results_csv(res, rows)
        _put(s3, bucket, key, body, enc, "text/csv")
        _put(s3, bucket, key + ".metadata", json.dumps(meta).encode(), enc, "application/octet-stream")
        location = f"s3://{bucket}/{key}"
    else:
        key = base + ".txt"
        body = write_results_text(res)
        _put(s3, bucket, key, body, enc, "text/plain")
        _put(s3, bucket, key + ".metadata", json.dumps(meta).encode(), enc, "application/octet-stream")
        location = f"s3://{bucket}/{key}"
    done_at = time.time()

    def succeeded(rec: dict[str, Any]) -> None:
        if rec["Status"]["State"] not in ACTIVE_STATES:
            return
        stats = rec["Statistics"]
        stats.update({
            "EngineExecutionTimeInMillis": res.engine_ms,
            "DataScannedInBytes": res.data_scanned_bytes,
            "ServicePreProcessingTimeInMillis": _ms(t_engine - started),
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": _ms(done_at - t_written),
        })
        if manifest:
            stats["DataManifestLocation"] = manifest
        rec["StatementType"] = res.statement_type
        rec["SubstatementType"] = res.substatement_type
        rec["ResultConfiguration"]["OutputLocation"] = location
        rec["_result"] = {"bucket": bucket, "key": key, "header": header,
                          "columns": columns, "update_count": res.update_count,
                          "rows": res.arrow.num_rows, "bytes": len(body)}
        _finish(rec, "SUCCEEDED", _now())

    if rows is not None and len(rows) <= 10_000:  # GetQueryResults serves these without reading the file
        with _LOCK:
            _ROWS[qid] = rows
            while len(_ROWS) > _ROWS_MAX:
                _ROWS.popitem(last=False)
    _update(job, qid, succeeded)


def wait_query(qid: str, timeout: float = 600.0) -> str:
    """Block until the execution is final (inside the endpoint process; tests/benchmarks)."""
    rec = QUERY_RUNS.locate(qid)
    return QUERY_RUNS.wait(rec["_account"], rec["_region"], qid, timeout) if rec else ""


# ----------------------------------------------------------------------------- executors
@operation("athena", "StartQueryExecution")
def start_query_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    p = req.params
    sql = p.get("QueryString") or ""
    if not sql.strip():
        raise _invalid("QueryString is required: pass the SQL statement to run.")
    if len(sql) > 262_144:
        raise _invalid("QueryString is longer than 262144 characters (Athena's limit).")
    token = p.get("ClientRequestToken")
    if token:
        with _LOCK:
            for rec in QUERY_RUNS.records(req.account_id, req.region, lambda r: r.get("_token") == token):
                if rec["Query"] != sql:
                    raise AwsError("InvalidRequestException", "ClientRequestToken was already used "
                                   "for a different query: use a new token for a new query.", 400)
                return {"QueryExecutionId": rec["QueryExecutionId"]}
    wg_name = p.get("WorkGroup") or "primary"
    wg = _work_group(req, wg_name)
    if getattr(wg, "state", "ENABLED") == "DISABLED":
        raise _invalid(f"WorkGroup {wg_name} is disabled.")
    cfg = wg.configuration or {}
    loc = result_location(req, wg_name, cfg)
    reuse_minutes = athena_reuse.max_age(p.get("ResultReuseConfiguration"))
    params = [str(x) for x in p.get("ExecutionParameters") or []]
    todo = plan(req, wg_name, sql, params)
    ctx = dict(p.get("QueryExecutionContext") or {})
    qid = str(uuid.uuid4())
    now = _now()
    stype, sub = ("UTILITY", todo.utility) if todo.utility else _statement_type(todo.sql)
    cutoff = cfg.get("BytesScannedCutoffPerQuery")
    result_conf = {k: v for k, v in {
        "OutputLocation": f"s3://{loc.bucket}/{loc.prefix}{qid}"
        + (".csv" if stype == "DML" or sub == "CREATE_TABLE_AS_SELECT" else ".txt"),
        "EncryptionConfiguration": loc.result_cfg.get("EncryptionConfiguration"),
        "ExpectedBucketOwner": loc.result_cfg.get("ExpectedBucketOwner"),
        "AclConfiguration": loc.result_cfg.get("AclConfiguration"),
    }.items() if v is not None}
    rec: dict[str, Any] = {
        "QueryExecutionId": qid,
        "Query": sql,
        "StatementType": stype,
        "SubstatementType": sub,
        "ResultConfiguration": result_conf,
        "ResultReuseConfiguration": p.get("ResultReuseConfiguration")
        or {"ResultReuseByAgeConfiguration": {"Enabled": False}},
        "QueryExecutionContext": ctx,
        "Status": {"State": "QUEUED", "SubmissionDateTime": now},
        "Statistics": {"EngineExecutionTimeInMillis": 0, "DataScannedInBytes": 0,
                       "TotalExecutionTimeInMillis": 0, "QueryQueueTimeInMillis": 0,
                       "ServicePreProcessingTimeInMillis": 0, "QueryPlanningTimeInMillis": 0,
                       "ServiceProcessingTimeInMillis": 0,
                       "ResultReuseInformation": {"ReusedPreviousResult": False}},
        "WorkGroup": wg_name,
        "EngineVersion": dict(ENGINE_VERSION),
        "_publish_metrics": bool(cfg.get("PublishCloudWatchMetricsEnabled")),
        "_token": token,
        "_access_key": req.access_key_id,
    }
    if loc.managed is not None:
        rec["ManagedQueryResultsConfiguration"] = loc.managed
        rec["_managed"] = True
    if params:  # kept privately: "The list of parameters is not returned in the response" (botocore)
        rec["_execution_parameters"] = params
    reuse = None
    if loc.managed is None and todo.failure is None and (stype, sub) == ("DML", "SELECT") \
            and rq.reusable(todo.sql):
        rec["_reuse_key"] = athena_reuse.reuse_key(wg_name, sql, params, ctx.get("Database"), ctx.get("Catalog"),
                                                   loc.result_cfg)
        if reuse_minutes is not None:
            reuse = {"key": rec["_reuse_key"], "since": now - reuse_minutes * 60}
    job = {
        "sql": todo.sql, "database": ctx.get("Database"), "catalog": ctx.get("Catalog") or "AwsDataCatalog",
        "account": req.account_id, "region": req.region, "access_key": req.access_key_id,
        "url": req.endpoint_url or runtime.endpoint_url(), "output": loc.output, "bucket": loc.bucket,
        "prefix": loc.prefix, "cutoff": int(cutoff) if cutoff else None,
        "encryption": loc.result_cfg.get("EncryptionConfiguration"), "managed": loc.managed is not None,
        "utility": todo.utility, "reuse": reuse,
    }
    with _LOCK:
        QUERY_RUNS.add(req.account_id, req.region, qid, rec, control=todo.failure is None)
        if todo.failure is not None:  # Athena accepts the request, the query FAILS
            err = todo.failure
            _finish(rec, "FAILED", _now(), err.message, {"ErrorCategory": err.error_category,
                    "ErrorType": err.error_type_code, "Retryable": False, "ErrorMessage": err.message})
            _trim()
            return {"QueryExecutionId": qid}
        control = QUERY_RUNS.control(req.account_id, req.region, qid)
        control.handle = token = Cancellation()
        control.on_stop(token.cancel)
        _trim()
    _submit(qid, job)
    return {"QueryExecutionId": qid}


def _trim() -> None:
    for key in QUERY_RUNS.trim(MAX_HISTORY, newest=lambda r: r["Status"]["SubmissionDateTime"]):
        _ROWS.pop(key.rsplit("|", 1)[-1], None)


@operation("athena", "GetQueryExecution")
def get_query_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    with _LOCK:
        return {"QueryExecution": _public(_get(req, req.params.get("QueryExecutionId", "")))}


@operation("athena", "BatchGetQueryExecution")
def batch_get_query_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    ids = req.params.get("QueryExecutionIds") or []
    if not 1 <= len(ids) <= 50:
        raise _invalid("QueryExecutionIds takes 1 to 50 ids.")
    found, missing = [], []
    with _LOCK:
        for qid in ids:
            try:
                found.append(_public(_get(req, qid)))
            except AwsError as err:
                missing.append({"QueryExecutionId": qid, "ErrorCode": err.code, "ErrorMessage": err.message})
    return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}


@operation("athena", "ListQueryExecutions")
def list_query_executions(req: AwsRequest) -> dict[str, Any]:
    _recover()
    wg_name = req.params.get("WorkGroup") or "primary"
    _work_group(req, wg_name)
    limit = int(req.params.get("MaxResults") or 50)
    if not 0 < limit <= 50:
        raise _invalid("MaxResults must be between 1 and 50.")
    start = _decode_token(req.params.get("NextToken"), "list")
    with _LOCK:
        mine = sorted(((r["Status"]["SubmissionDateTime"], r["QueryExecutionId"]) for r in
                       QUERY_RUNS.records(req.account_id, req.region, lambda r: r.get("WorkGroup") == wg_name)),
                      reverse=True)
    ids = [q for _, q in mine]
    out: dict[str, Any] = {"QueryExecutionIds": ids[start:start + limit]}
    if start + limit < len(ids):
        out["NextToken"] = _encode_token("list", start + limit)
    return out


@operation("athena", "StopQueryExecution")
def stop_query_execution(req: AwsRequest) -> dict[str, Any]:
    _recover()
    qid = req.params.get("QueryExecutionId", "")
    with _LOCK:
        rec = _get(req, qid)
        state = rec["Status"]["State"]
        if state == "QUEUED":
            _finish(rec, "CANCELLED", _now(), "Query cancelled by user (StopQueryExecution) while queued")
        if state in ACTIVE_STATES:
            QUERY_RUNS.stop(req.account_id, req.region, qid)  # interrupts DuckDB (Cancellation)
    return {}


@operation("athena", "GetQueryRuntimeStatistics")
def get_query_runtime_statistics(req: AwsRequest) -> dict[str, Any]:
    _recover()
    with _LOCK:
        rec = _public(_get(req, req.params.get("QueryExecutionId", "")))
        result = _get(req, rec["QueryExecutionId"]).get("_result") or {}
    s = rec["Statistics"]
    timeline = {k: s.get(k, 0) for k in ("QueryQueueTimeInMillis", "ServicePreProcessingTimeInMillis",
                                          "QueryPlanningTimeInMillis", "EngineExecutionTimeInMillis",
                                          "ServiceProcessingTimeInMillis", "TotalExecutionTimeInMillis")}
    stats: dict[str, Any] = {"Timeline": timeline}
    if rec["Status"]["State"] == "SUCCEEDED":
        stats["Rows"] = {"InputBytes": s.get("DataScannedInBytes", 0), "OutputBytes": result.get("bytes", 0),
                         "OutputRows": result.get("rows", 0)}
    return {"QueryRuntimeStatistics": stats}


@operation("athena", "GetQueryResults")
def get_query_results(req: AwsRequest) -> dict[str, Any]:
    _recover()
    p = req.params
    qid = p.get("QueryExecutionId", "")
    with _LOCK:
        rec = _get(req, qid)
        state = rec["Status"]["State"]
        result = rec.get("_result")
        stype = rec.get("StatementType")
        managed = bool(rec.get("_managed"))
    if state in ACTIVE_STATES:
        raise _invalid(f"Query has not yet finished. Current state: {state}")
    if state != "SUCCEEDED" or result is None:
        reason = rec["Status"].get("StateChangeReason", "")
        raise _invalid(f"Query did not finish successfully. Final query state: {state}. {reason}".rstrip())
    limit = int(p.get("MaxResults") or 1000)
    if not 0 < limit <= 1000:
        raise _invalid(f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy "
                       "constraint: Member must have value less than or equal to 1000")
    start = _decode_token(p.get("NextToken"), qid)
    rows = _result_rows(qid, result, req.endpoint_url or runtime.endpoint_url(), managed)
    names = [c["Name"] for c in result["columns"]]
    total = len(rows) + (1 if result["header"] else 0)
    page: list[dict[str, Any]] = []
    for i in range(start, min(total, start + limit)):
        if result["header"]:
            values = names if i == 0 else rows[i - 1]
        else:
            values = rows[i]
        page.append({"Data": [{} if v is None else {"VarCharValue": v} for v in values]})
    out: dict[str, Any] = {"ResultSet": {"Rows": page, "ResultSetMetadata": {"ColumnInfo": result["columns"]}}}
    if stype == "DML" or result.get("update_count") is not None:
        out["UpdateCount"] = int(result.get("update_count") or 0)
    if start + limit < total:
        out["NextToken"] = _encode_token(qid, start + limit)
    return out


def _encode_token(scope: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([scope, offset]).encode()).decode()


def _decode_token(token: str | None, scope: str) -> int:
    if not token:
        return 0
    try:
        got_scope, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
        if got_scope == scope and isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, TypeError):
        pass
    raise _invalid("NextToken is invalid for this request: pass the NextToken of the previous page of the "
                   "same call, or none for the first page.")


def _result_rows(qid: str, result: dict[str, Any], url: str, managed: bool = False) -> list[list[str | None]]:
    """The result rows as VarCharValue strings, read back from the result file in S3 (cached)."""
    if result.get("key") is None:  # CTAS / INSERT / UNLOAD: no result file, no rows
        return []
    if managed and ManagedStore.default().expired(result["key"]):  # kept 24 hours, as on Athena
        with _LOCK:
            _ROWS.pop(qid, None)
        raise _invalid(f"The managed query results of query {qid} have expired: Athena keeps managed "
                       "query results for 24 hours. Run the query again.")
    with _LOCK:
        rows = _ROWS.get(qid)
        if rows is not None:
            _ROWS.move_to_end(qid)
            return rows
    s3: Any = ManagedStore.default() if managed else _client(url, "s3", "us-east-1", ADMIN_KEY)
    try:
        body = s3.get_object(Bucket=result["bucket"], Key=result["key"])["Body"].read()
    except ClientError as exc:
        raise _invalid(f"The result file s3://{result['bucket']}/{result['key']} of query {qid} cannot be "
                       f"read ({exc.response['Error']['Code']}); it was deleted or moved. Run the query "
                       "again.") from exc
    ncols = len(result["columns"])
    if result["header"]:
        rows = _parse_csv(body, ncols)
    else:
        rows = [line.split("\t") for line in body.decode("utf-8").split("\n")[:-1]] if body else []
        rows = [[v if v != "" else None for v in r] for r in rows]
    with _LOCK:
        _ROWS[qid] = rows
        while len(_ROWS) > _ROWS_MAX:
            _ROWS.popitem(last=False)
    return rows


def _parse_csv(body: bytes, ncols: int) -> list[list[str | None]]:
    """Athena's result CSV -> rows; an empty unquoted field is NULL, ``""`` the empty string."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    if ncols == 0:
        return []
    names = [f"c{i}" for i in range(ncols)]
    tbl = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=True, quoted_strings_can_be_null=False,
                                             null_values=[""]),
    )
    cols = [tbl.column(n).to_pylist() for n in names]
    return [list(r) for r in zip(*cols, strict=True)]
