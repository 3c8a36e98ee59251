"""Glue job helpers that work the same on AWS and on the local endpoint: logs and bookmarks.

Where a Glue 5.0 job run's driver logs are (AWS Glue docs, "Logging for AWS Glue jobs" and
"Running Spark ETL jobs with reduced startup times" / "Encrypting logs written to CloudWatch"):

* the script's stdout **and** stderr go to ``<prefix>/output``; Glue's system logs, Spark's own
  (log4j) messages and the GlueLogger go to ``<prefix>/error``;
* ``<prefix>`` is ``/aws-glue/jobs``, or ``/aws-glue/jobs/<security configuration>-role/<role
  name>`` when the job's security configuration encrypts CloudWatch Logs (SSE-KMS);
* log streams start with the JobRunId (Glue 5.0 names the driver's ``<run id>-driver`` and
  executors ``<run id>-<n>``), so this module lists the streams by that prefix.

``--enable-continuous-cloudwatch-log`` is a Glue 4.0-and-earlier feature
(``/aws-glue/jobs/logs-v2``); Glue 5.0 logs in real time to the groups above without it.

Bookmarks: lakekit's ETL script reads through ``GlueContext`` with a ``transformation_ctx`` per
dataset and calls ``job.commit()``, so Glue's own job bookmark is the only one: ``GetJobBookmark``
shows it, ``ResetJobBookmark`` (:func:`reset_bookmarks`) makes the next run reprocess everything.

Example::

    from lakekit import glue
    got = glue.job_logs("lakekit-etl", run_id)
    print(got.group_prefix, got.streams)
    print("\\n".join(got.output))
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["DEFAULT_LOG_GROUP", "JobLogs", "log_group_prefix", "job_log_group_prefix",
           "job_logs", "reset_bookmarks"]

log = logging.getLogger(__name__)

DEFAULT_LOG_GROUP = "/aws-glue/jobs"


def role_name(role: str) -> str:
    """``arn:aws:iam::1:role/service-role/R`` or ``R`` -> ``R`` (the IAM role's name).

    >>> role_name("arn:aws:iam::123456789012:role/path/lakekit-glue")
    'lakekit-glue'
    """
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def log_group_prefix(security_configuration: str | None, role: str,
                     cloudwatch_encrypted: bool) -> str:
    """The log group prefix of a job's runs (``<prefix>/output``, ``<prefix>/error``).

    >>> log_group_prefix(None, "r", False)
    '/aws-glue/jobs'
    >>> log_group_prefix("lakekit-glue-kms", "arn:aws:iam::1:role/lakekit-glue", True)
    '/aws-glue/jobs/lakekit-glue-kms-role/lakekit-glue'
    """
    if security_configuration and cloudwatch_encrypted:
        return f"{DEFAULT_LOG_GROUP}/{security_configuration}-role/{role_name(role)}"
    return DEFAULT_LOG_GROUP


def cloudwatch_encryption(glue: Any, security_configuration: str | None) -> dict[str, str] | None:
    """The security configuration's CloudWatchEncryption if it is on (mode SSE-KMS), else None."""
    if not security_configuration:
        return None
    conf = glue.get_security_configuration(Name=security_configuration)["SecurityConfiguration"]
    cw = (conf.get("EncryptionConfiguration") or {}).get("CloudWatchEncryption") or {}
    return cw if cw.get("CloudWatchEncryptionMode", "DISABLED") != "DISABLED" else None


def job_log_group_prefix(glue: Any, job: dict[str, Any]) -> str:
    """Log group prefix for a ``GetJob`` Job: from its SecurityConfiguration and Role."""
    sec = job.get("SecurityConfiguration")
    return log_group_prefix(sec, job.get("Role", ""), cloudwatch_encryption(glue, sec) is not None)


@dataclass
class JobLogs:
    """The driver/executor logs of one job run: message lines per group, streams read."""

    group_prefix: str
    output: list[str] = field(default_factory=list)
    error: list[str] = field(default_factory=list)
    streams: dict[str, list[str]] = field(default_factory=dict)


def _streams(logs: Any, group: str, run_id: str) -> list[str]:
    names: list[str] = []
    kw: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": run_id}
    try:
        while True:
            got = logs.describe_log_streams(**kw)
            names += [s["logStreamName"] for s in got.get("logStreams", [])]
            if not got.get("nextToken"):
                return sorted(names)
            kw["nextToken"] = got["nextToken"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise


def _events(logs: Any, group: str, stream: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    kw: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    while True:
        got = logs.get_log_events(**kw)
        out += [(e["timestamp"], e["message"]) for e in got["events"]]
        token = got.get("nextForwardToken")
        if not got["events"] or not token or token == kw.get("nextToken"):
            return out
        kw["nextToken"] = token


def job_logs(job_name: str, run_id: str, *, glue: Any = None, logs: Any = None) -> JobLogs:
    """Read a run's logs where Glue 5.0 writes them (both targets): see the module docstring.

    Streams of ``<prefix>/output`` and ``<prefix>/error`` whose name starts with ``run_id``
    are read in full, oldest event first. A run that logged nothing yet gives empty lists.
    """
    if glue is None or logs is None:
        from lakekit.session import client

        glue = glue or client("glue")
        logs = logs or client("logs")
    prefix = job_log_group_prefix(glue, glue.get_job(JobName=job_name)["Job"])
    got = JobLogs(prefix)
    for kind in ("output", "error"):
        group = f"{prefix}/{kind}"
        names = _streams(logs, group, run_id)
        got.streams[group] = names
        events = sorted(e for name in names for e in _events(logs, group, name))
        setattr(got, kind, [message for _, message in events])
    return got


def reset_bookmarks(job_name: str, *, glue: Any = None, s3: Any = None) -> dict[str, Any]:
    """Make the next run reprocess everything, on AWS and locally alike: ``ResetJobBookmark``.

    Returns ``{"glue": JobBookmarkEntry or None (Glue kept none yet), "deleted": [s3 URIs]}``.
    Earlier versions of lakekit's ETL script kept bookmark files of their own under a
    ``--bookmark_path`` job argument; when the job still names one, objects left there are
    deleted too (``deleted``), so an old stack's state cannot linger.
    """
    if glue is None or s3 is None:
        from lakekit.session import client

        glue = glue or client("glue")
        s3 = s3 or client("s3")
    path = (glue.get_job(JobName=job_name)["Job"].get("DefaultArguments") or {}).get(
        "--bookmark_path", "")
    try:
        entry = glue.reset_job_bookmark(JobName=job_name)["JobBookmarkEntry"]
    except ClientError as exc:  # Glue keeps no bookmark for the job (yet): nothing to reset
        if exc.response["Error"]["Code"] != "EntityNotFoundException":
            raise
        entry = None
    deleted: list[str] = []
    if path.startswith("s3://"):
        bucket, _, prefix = path[len("s3://"):].partition("/")
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]
        for i in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
        deleted = [f"s3://{bucket}/{k}" for k in keys]
    log.info("job %s: Glue bookmark reset%s", job_name,
             f"; {len(deleted)} legacy bookmark object(s) deleted under {path}" if deleted else "")
    return {"glue": entry, "deleted": deleted}
