"""S3 landing -> raw/quarantine ingest Lambda (python3.11 runtime: stdlib + boto3 only).

Triggered by ``s3:ObjectCreated:*`` on the landing bucket. For every record of the event:

1. decode the key (``unquote_plus``, as AWS URL-encodes it) and infer the dataset from the
   first path segment (``flights/2013-01.csv`` -> flights; a leading ``landing/`` is skipped);
2. skip it if its manifest entry exists (S3 delivers at least once: same bucket/key/etag = same
   object, lands once);
3. validate by STREAMING the object (constant memory, 1 MiB chunks; see ingest_validate.py):
   extension and content type, size limit, gzip integrity, no NUL bytes, UTF-8, line-length
   limit over the whole object; CSV parsed as RFC 4180 with the csv module, every record
   (optional UTF-8 BOM, LF/CRLF, quoted commas/quotes/line breaks, no final newline): header,
   delimiter, field count; JSON Lines parse + required keys (files above FULL_VALIDATE_BYTES
   parse the first SAMPLE_LINES and last TAIL_LINES lines); at least one data row;
4. valid -> CopyObject to ``s3://$RAW_BUCKET/<dataset>/ingest_date=YYYY-MM-DD/<file>`` with
   metadata source-key, source-etag, sha256, ingest-time, dataset (MetadataDirective REPLACE);
   invalid -> copy to ``s3://$QUARANTINE_BUCKET/<dataset|unknown>/YYYY-MM-DD/<file>`` with
   metadata quarantine-reason + a ``<file>.reason.json`` sidecar;
5. write the manifest ``s3://$RAW_BUCKET/_manifest/<dataset|unknown>/<sha256(bucket/key/etag)>.json``
   (status landed|quarantined; If-None-Match: a concurrent delivery that loses counts as a
   duplicate), THEN delete the landing original: landing is versioned, so the exact version
   copied is deleted (DeleteObject VersionId=...: no delete marker, a newer upload stays);
   unversioned buckets get a conditional delete (If-Match). A denied delete fails the record
   loudly (error -> the event is retried; the retry skips the copy, the manifest exists).

IAM: the role (IngestLambdaRole) has no s3:ListBucket on landing, so S3 answers a HEAD/GET of a
missing landing key with 403, not 404; every existence check reads 403 like 404.

Environment:
    RAW_BUCKET, QUARANTINE_BUCKET    required
    MAX_BYTES                        size limit in bytes (default 536870912 = 512 MiB)
    MAX_DECOMPRESSED_BYTES           limit for .gz content (default 4 * MAX_BYTES)
    MAX_LINE_BYTES                   longest accepted line / CSV record (default 1048576)
    FULL_VALIDATE_BYTES              JSON Lines: parse every line up to this size (default 67108864)
    SAMPLE_LINES / TAIL_LINES        JSON lines parsed at the start / end of bigger files (1000 / 100)
    DELETE_FROM_LANDING              delete the landing original after the copy (default true)
    START_JOB_ON_ARRIVAL             start the Glue job when a dataset landed (default false:
                                     leave it to the schedule/trigger; set true for event-driven)
    GLUE_JOB_NAME                    job to start; may contain ``{dataset}``
    GLUE_JOB_ARGUMENTS               JSON object of job arguments, values may contain
                                     ``{dataset}`` (default {"--dataset": "{dataset}"})
    RAISE_ON_ERROR                   raise after the batch if a record hit an unexpected
                                     error so Lambda retries the event (default true)

Reason codes: unknown_dataset, bad_extension, format_mismatch, bad_content_type, empty_file,
too_large, bad_gzip, gzip_truncated, binary_content, not_utf8, line_too_long, bad_header,
bad_delimiter, header_only, bad_row, truncated_row, invalid_json, json_shape.

Returns ``{"landed": [...], "quarantined": [...], "skipped_duplicates": [...], "ignored": [...],
"missing": [...], "errors": [...], "jobs_started": [...]}``; one JSON log line per decision.

Metrics (lakekit.pipeline.CUSTOM_METRICS): the last log line of an invocation, ``summary``, is
also a CloudWatch Embedded Metric Format document (CloudWatch user guide, "Specification:
Embedded metric format"; "Using the embedded metric format with Lambda": CloudWatch Logs
extracts the metrics from the function's log, no cloudwatch:PutMetricData needed): namespace
``lakekit``, dimension set ``[["Prefix"]]``, ``FilesLanded`` = files handled (landed +
quarantined + duplicates) and ``FilesQuarantined``, both Count, both published every invocation
(0 too, so the quarantine-rate alarm has its denominator). The Prefix is the function's name
``<prefix>-ingest`` (AWS_LAMBDA_FUNCTION_NAME) without ``-ingest``; outside Lambda (no function
name) the line has no metrics.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

import boto3
from botocore.exceptions import ClientError, ParamValidationError

try:  # imported as lakekit.lambdas.ingest.handler (tests, tools)
    from .ingest_validate import DATASETS, REASON_CODES, Invalid, scan
except ImportError:  # in the Lambda zip the modules sit at the top level
    from ingest_validate import DATASETS, REASON_CODES, Invalid, scan

__all__ = ["DATASETS", "REASON_CODES", "lambda_handler"]

_EXTENSIONS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl"}
_CONTENT_TYPES = {
    "", "binary/octet-stream", "application/octet-stream", "text/plain", "text/csv",
    "application/csv", "text/comma-separated-values", "application/vnd.ms-excel",
    "application/json", "text/json", "application/x-ndjson", "application/ndjson",
    "application/jsonl", "application/json-lines", "application/x-jsonlines", "application/jsonlines",
    "application/gzip", "application/x-gzip", "application/x-gzip-compressed",
}
_COPY_LIMIT = 5 * (1 << 30)  # CopyObject single-request limit; above it use a multipart copy


@dataclass(frozen=True)
class _Config:
    raw_bucket: str
    quarantine_bucket: str
    max_bytes: int
    max_decompressed: int
    max_line: int
    full_validate_bytes: int
    sample_lines: int
    tail_lines: int
    delete_from_landing: bool
    start_job: bool
    glue_job_name: str
    glue_job_arguments: dict
    raise_on_error: bool


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _config() -> _Config:
    missing = [n for n in ("RAW_BUCKET", "QUARANTINE_BUCKET") if not os.environ.get(n)]
    if missing:
        raise RuntimeError(f"environment variable(s) {', '.join(missing)} not set: configure the "
                           "function's Environment with the raw and quarantine bucket names")
    max_bytes = int(os.environ.get("MAX_BYTES") or 512 * (1 << 20))
    return _Config(
        raw_bucket=os.environ["RAW_BUCKET"],
        quarantine_bucket=os.environ["QUARANTINE_BUCKET"],
        max_bytes=max_bytes,
        max_decompressed=int(os.environ.get("MAX_DECOMPRESSED_BYTES") or 4 * max_bytes),
        max_line=int(os.environ.get("MAX_LINE_BYTES") or 1 << 20),
        full_validate_bytes=int(os.environ.get("FULL_VALIDATE_BYTES") or 64 * (1 << 20)),
        sample_lines=max(1, int(os.environ.get("SAMPLE_LINES") or 1000)),
        tail_lines=int(os.environ.get("TAIL_LINES") or 100),
        delete_from_landing=_env_bool("DELETE_FROM_LANDING", True),
        start_job=_env_bool("START_JOB_ON_ARRIVAL", False),
        glue_job_name=os.environ.get("GLUE_JOB_NAME", ""),
        glue_job_arguments=json.loads(os.environ.get("GLUE_JOB_ARGUMENTS") or '{"--dataset": "{dataset}"}'),
        raise_on_error=_env_bool("RAISE_ON_ERROR", True),
    )


METRIC_NAMESPACE = "lakekit"  # lakekit.pipeline.METRIC_NAMESPACE (this zip cannot import lakekit)
_FUNCTION_SUFFIX = "-ingest"   # the stack names the function "${Prefix}-ingest"


def _metrics_prefix() -> str:
    """The stack Prefix of this function (``lakekit-ingest`` -> ``lakekit``); "" outside Lambda."""
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    if name.endswith(_FUNCTION_SUFFIX) and len(name) > len(_FUNCTION_SUFFIX):
        return name[: -len(_FUNCTION_SUFFIX)]
    if _FUNCTION_SUFFIX + "-" in name:  # e.g. a copy named "<prefix>-ingest-<tag>"
        return name.rsplit(_FUNCTION_SUFFIX + "-", 1)[0]
    return name


def _emf(prefix: str, landed: int, quarantined: int) -> dict:
    """The EMF members of the summary line (empty without a prefix: no metrics published)."""
    if not prefix:
        return {}
    return {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": METRIC_NAMESPACE, "Dimensions": [["Prefix"]],
            "Metrics": [{"Name": "FilesLanded", "Unit": "Count"},
                        {"Name": "FilesQuarantined", "Unit": "Count"}]}]},
        "Prefix": prefix, "FilesLanded": landed, "FilesQuarantined": quarantined,
    }


def _log(level: str, message: str, **fields) -> None:
    """One JSON object per line on stdout (CloudWatch Logs keeps each line as one event)."""
    record = {"ts": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
              "level": level, "message": message, **fields}
    print(json.dumps(record, default=str), flush=True)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _dataset_of(key: str) -> tuple[str | None, str]:
    """('flights', '2013-01.csv') for 'flights/2013-01.csv'; (None, flattened key) if unknown."""
    parts = [p for p in key.split("/") if p]
    if len(parts) > 2 and parts[0] == "landing":
        parts = parts[1:]
    if len(parts) >= 2 and parts[0] in DATASETS:
        return parts[0], "__".join(parts[1:])
    return None, "__".join(parts) or "unnamed"


def _split_ext(name: str) -> tuple[str | None, bool]:
    """('csv', True) for 'a.csv.gz'; (None, False) for 'a.xlsx'."""
    lower = name.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    ext = lower.rsplit(".", 1)[-1] if "." in lower else ""
    return _EXTENSIONS.get(ext), gz


def _meta_value(value: str) -> str:
    """S3 user metadata must be ASCII: percent-encode anything else."""
    return value if value.isascii() and value.isprintable() else quote(value, safe="/ ")


def _manifest_key(dataset: str | None, bucket: str, key: str, etag: str) -> str:
    digest = hashlib.sha256(f"{bucket}/{key}/{etag}".encode()).hexdigest()
    return f"_manifest/{dataset or 'unknown'}/{digest}.json"


#: Error codes of a HEAD/GET/DELETE on a key that is not there. With s3:ListBucket on the bucket
#: S3 answers 404 (NoSuchKey); WITHOUT it - the ingest role has none on landing - it answers
#: 403 AccessDenied, so S3 does not tell "absent" from "not allowed" (HeadObject/GetObject docs).
_ABSENT = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})
_DENIED = frozenset({"403", "AccessDenied", "Forbidden"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _head(s3, bucket: str, key: str, version_id: str | None = None) -> tuple[dict | None, str]:
    """(HeadObject response, "") or (None, error code) when S3 says 404 or 403.

    A 403 means "absent, or not readable": only a later write or read can tell; callers treat
    it as absent and rely on a conditional write (manifest) or a loud failure (copy) after it.
    """
    extra = {"VersionId": version_id} if version_id else {}
    try:
        return s3.head_object(Bucket=bucket, Key=key, **extra), ""
    except ClientError as e:
        if _code(e) in _ABSENT | _DENIED:
            return None, _code(e)
        raise


class LandingDeleteDenied(Exception):
    """The copy and manifest are done but S3 refused to delete the landing original."""


class _Superseded(Exception):
    """The object changed after the event was sent; the newer version has its own event."""


def _scan(s3, bucket: str, key: str, etag: str, size: int, dataset: str, fmt: str, gz: bool,
          file_name: str, cfg: _Config) -> dict:
    """GET the object (only while it still has ``etag``) and validate it while streaming."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')["Body"]
    except ClientError as e:
        if _code(e) in ("PreconditionFailed", "412"):
            raise _Superseded() from None
        raise
    return scan(body, size, dataset, fmt, gz, key.rsplit("/", 1)[-1], cfg)


# ---------------------------------------------------------------------------------- actions


def _copy(s3, src_bucket: str, src_key: str, etag: str, size: int, dst_bucket: str, dst_key: str,
          metadata: dict, content_type: str) -> dict:
    source = {"Bucket": src_bucket, "Key": src_key}
    if size > _COPY_LIMIT:
        s3.copy(source, dst_bucket, dst_key, ExtraArgs={
            "Metadata": metadata, "MetadataDirective": "REPLACE", "ContentType": content_type})
        return s3.head_object(Bucket=dst_bucket, Key=dst_key)
    return s3.copy_object(Bucket=dst_bucket, Key=dst_key, CopySource=source,
                          CopySourceIfMatch=f'"{etag}"', Metadata=metadata,
                          MetadataDirective="REPLACE", ContentType=content_type)


def _put_manifest(s3, bucket: str, key: str, entry: dict) -> bool:
    """Write the manifest only if absent; False if a concurrent delivery wrote it first."""
    body = json.dumps(entry, indent=1).encode()
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json",
                      IfNoneMatch="*")
        return True
    except ParamValidationError:  # botocore too old for conditional writes
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        return True
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412",
                                                       "ConditionalRequestConflict"):
            return False
        raise


def _delete_landing(s3, bucket: str, key: str, etag: str, version_id: str | None,
                    manifest_key: str) -> str:
    """Remove the landing original that was copied: 'deleted' | 'absent' | 'changed'.

    Landing is versioned: a plain DeleteObject would only add a delete marker and keep the bytes
    as a noncurrent version. With the event's version id, DeleteObject(VersionId=...) removes
    exactly the version that was validated and copied, for good (s3:DeleteObjectVersion); a newer
    upload of the same key is another version, stays current and has its own event. It is
    idempotent (S3 answers 204 for a version already gone), so a retry is safe. Without a
    version id (unversioned bucket) a conditional delete (If-Match: the copied ETag) is used.

    A 403 is ambiguous when the object is gone (no s3:ListBucket on landing): HEAD it; if it is
    still there and readable, the delete really was denied -> :class:`LandingDeleteDenied`.
    """
    try:
        if version_id:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
        else:
            s3.delete_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
        return "deleted"
    except ParamValidationError:  # botocore without conditional deletes: check, then delete
        head, _ = _head(s3, bucket, key)
        if head is None:
            return "absent"
        if head["ETag"].strip('"') != etag:
            return "changed"
        s3.delete_object(Bucket=bucket, Key=key)
        return "deleted"
    except ClientError as e:
        code = _code(e)
        if code in ("PreconditionFailed", "412"):
            return "changed"
        if code in _ABSENT:
            return "absent"
        if code not in _DENIED:
            raise
        head, _ = _head(s3, bucket, key, version_id)
        if head is None:
            return "absent"
        if not version_id and head["ETag"].strip('"') != etag:
            return "changed"
        what = f"version {version_id} of " if version_id else ""
        said = e.response.get("Error", {}).get("Message") or ""
        raise LandingDeleteDenied(
            f"copied and recorded (manifest {manifest_key} in the raw bucket), but S3 denied deleting {what}"
            f"s3://{bucket}/{key} ({code}{': ' + said if said else ''}): grant the ingest role s3:DeleteObject and "
            f"s3:DeleteObjectVersion on arn:aws:s3:::{bucket}/*. The original stays in landing; "
            "the retried event skips the copy (the manifest exists) and deletes it") from None


def _content_type(fmt: str | None, gz: bool) -> str:
    if gz:
        return "application/gzip"
    return {"csv": "text/csv", "jsonl": "application/x-ndjson",
            "json": "application/x-ndjson"}.get(fmt or "", "application/octet-stream")


def _process(s3, cfg: _Config, record: dict, request_id: str) -> tuple[str, dict]:
    """Handle one S3 record; returns (outcome, detail dict)."""
    started = time.monotonic()
    s3info = record["s3"]
    bucket = s3info["bucket"]["name"]
    key = unquote_plus(s3info["object"]["key"])
    etag = (s3info["object"].get("eTag") or "").strip('"')
    size = s3info["object"].get("size")
    base = {"request_id": request_id, "bucket": bucket, "key": key}
    event_name = record.get("eventName", "")
    if event_name and not event_name.startswith("ObjectCreated"):
        _log("INFO", "ignored", reason="not an ObjectCreated event", event_name=event_name, **base)
        return "ignored", {"key": key, "reason": "not_object_created"}
    if key.endswith("/"):
        _log("INFO", "ignored", reason="folder placeholder", **base)
        return "ignored", {"key": key, "reason": "folder_placeholder"}

    dataset, file_name = _dataset_of(key)
    version_id = s3info["object"].get("versionId") or None  # set by a versioned bucket
    head = None
    if not etag:
        head, code = _head(s3, bucket, key, version_id)
        if head is None:
            _log("WARNING", "missing", detail=f"HeadObject answered {code} and the event carries no "
                 "eTag: the object is gone (or the role cannot read it)", **base)
            return "missing", {"key": key}
        etag = head["ETag"].strip('"')
    manifest_key = _manifest_key(dataset, bucket, key, etag)
    # raw has s3:ListBucket (404 when absent); a 403 is read as "absent" too: the conditional
    # manifest write (If-None-Match) below is what really stops a second landing.
    if _head(s3, cfg.raw_bucket, manifest_key)[0] is not None:
        deleted = (_delete_landing(s3, bucket, key, etag, version_id, manifest_key)
                   if cfg.delete_from_landing else "kept")
        _log("INFO", "skipped_duplicate", dataset=dataset, etag=etag, manifest=manifest_key,
             landing=deleted, **base)
        return "skipped_duplicates", {"key": key, "etag": etag, "manifest": manifest_key}
    if head is None:
        head, code = _head(s3, bucket, key)
        if head is None:
            # No s3:ListBucket on landing: a deleted key answers 403, not 404. Nothing to copy
            # either way; if the key IS still listed in landing, the role cannot read it.
            _log("WARNING", "missing", detail=f"HeadObject answered {code}: the object was deleted "
                 "before it was ingested and no manifest exists (403 = absent without "
                 "s3:ListBucket, or s3:GetObject denied if it is still in landing)", etag=etag,
                 **base)
            return "missing", {"key": key, "etag": etag}
    if head["ETag"].strip('"') != etag:
        _log("INFO", "ignored", reason="superseded: the key was overwritten; its newer version has "
             "its own event", etag=etag, **base)
        return "ignored", {"key": key, "reason": "superseded"}
    version_id = version_id or head.get("VersionId") or None
    size = int(head.get("ContentLength", size or 0))

    ingest_time = _now()
    fmt, gz = _split_ext(file_name)
    info: dict = {}
    try:
        if dataset is None:
            first = key.split("/", 1)[0]
            raise Invalid("unknown_dataset", f"key prefix '{first}/' is not a dataset; put files "
                           f"under one of {sorted(DATASETS)}/")
        if fmt is None:
            raise Invalid("bad_extension", f"'{file_name}' is not .csv, .json or .jsonl (optionally "
                           ".gz): convert the file or rename it")
        allowed = DATASETS[dataset]["formats"]
        if fmt not in allowed:
            raise Invalid("format_mismatch", f"{dataset} files must be {sorted(allowed)}, got .{fmt}")
        ctype = (head.get("ContentType") or "").split(";")[0].strip().lower()
        if ctype not in _CONTENT_TYPES:
            raise Invalid("bad_content_type", f"Content-Type '{ctype}' is not CSV/JSON/gzip: "
                           "upload with text/csv, application/json or no content type")
        if size == 0:
            raise Invalid("empty_file", "object has 0 bytes: upload the real file")
        if size > cfg.max_bytes:
            raise Invalid("too_large", f"{size} bytes exceeds MAX_BYTES={cfg.max_bytes}: split the "
                           "file (e.g. one per month) or raise MAX_BYTES")
        info = _scan(s3, bucket, key, etag, size, dataset, fmt, gz, file_name, cfg)
    except _Superseded:
        _log("INFO", "ignored", reason="superseded during validation", etag=etag, **base)
        return "ignored", {"key": key, "reason": "superseded"}
    except Invalid as bad:
        return _quarantine(s3, cfg, bucket, key, etag, version_id, size, dataset, file_name, fmt,
                           gz, ingest_time, bad, manifest_key, started, base)

    date = ingest_time.strftime("%Y-%m-%d")
    raw_key = f"{dataset}/ingest_date={date}/{file_name}"
    iso = ingest_time.isoformat(timespec="seconds").replace("+00:00", "Z")
    metadata = {"source-key": _meta_value(key), "source-bucket": bucket, "source-etag": etag,
                "sha256": info["sha256"], "ingest-time": iso, "dataset": dataset,
                "rows": str(info["rows"])}
    copied = _copy(s3, bucket, key, etag, size, cfg.raw_bucket, raw_key, metadata,
                   _content_type(fmt, gz))
    entry = {"status": "landed", "dataset": dataset, "source_bucket": bucket, "source_key": key,
             "source_etag": etag, "size": size, "sha256": info["sha256"], "rows": info["rows"],
             "validation": info["mode"], "raw_bucket": cfg.raw_bucket, "raw_key": raw_key,
             "raw_version_id": copied.get("VersionId"), "ingest_time": iso,
             "request_id": request_id}
    first_writer = _put_manifest(s3, cfg.raw_bucket, manifest_key, entry)
    deleted = (_delete_landing(s3, bucket, key, etag, version_id, manifest_key)
               if cfg.delete_from_landing else "kept")
    if not first_writer:
        return _concurrent_duplicate(dataset, etag, manifest_key, deleted, base)
    _log("INFO", "landed", dataset=dataset, raw_key=raw_key, rows=info["rows"], size=size,
         sha256=info["sha256"], validation=info["mode"], landing=deleted,
         duration_ms=round((time.monotonic() - started) * 1000, 1), **base)
    return "landed", {"key": key, "dataset": dataset, "raw_key": raw_key, "rows": info["rows"],
                      "sha256": info["sha256"]}


def _concurrent_duplicate(dataset, etag, manifest_key, deleted, base) -> tuple[str, dict]:
    """Another delivery of the same object wrote the manifest first: it counts, this one not."""
    _log("INFO", "skipped_duplicate", dataset=dataset, etag=etag, manifest=manifest_key,
         landing=deleted, concurrent_duplicate=True, **base)
    return "skipped_duplicates", {"key": base["key"], "etag": etag, "manifest": manifest_key}


def _quarantine(s3, cfg, bucket, key, etag, version_id, size, dataset, file_name, fmt, gz,
                ingest_time, bad: Invalid, manifest_key, started, base) -> tuple[str, dict]:
    date = ingest_time.strftime("%Y-%m-%d")
    q_key = f"{dataset or 'unknown'}/{date}/{file_name}"
    iso = ingest_time.isoformat(timespec="seconds").replace("+00:00", "Z")
    metadata = {"quarantine-reason": bad.code, "source-key": _meta_value(key),
                "source-bucket": bucket, "source-etag": etag, "ingest-time": iso,
                "dataset": dataset or "unknown"}
    _copy(s3, bucket, key, etag, size, cfg.quarantine_bucket, q_key, metadata,
          _content_type(fmt, gz))
    sidecar = {"reason_code": bad.code, "detail": bad.detail, "source_bucket": bucket,
               "source_key": key, "source_etag": etag, "size": size,
               "dataset": dataset or "unknown", "ingest_time": iso,
               "quarantine_key": q_key, "request_id": base["request_id"]}
    s3.put_object(Bucket=cfg.quarantine_bucket, Key=q_key + ".reason.json",
                  Body=json.dumps(sidecar, indent=1).encode(), ContentType="application/json")
    entry = {"status": "quarantined", **sidecar, "quarantine_bucket": cfg.quarantine_bucket}
    first_writer = _put_manifest(s3, cfg.raw_bucket, manifest_key, entry)
    deleted = (_delete_landing(s3, bucket, key, etag, version_id, manifest_key)
               if cfg.delete_from_landing else "kept")
    if not first_writer:
        return _concurrent_duplicate(dataset, etag, manifest_key, deleted, base)
    _log("WARNING", "quarantined", dataset=dataset or "unknown", reason_code=bad.code,
         detail=bad.detail, quarantine_key=q_key, size=size, landing=deleted,
         duration_ms=round((time.monotonic() - started) * 1000, 1), **base)
    return "quarantined", {"key": key, "dataset": dataset or "unknown", "reason": bad.code,
                           "detail": bad.detail, "quarantine_key": q_key}


def _start_jobs(cfg: _Config, datasets: list[str], request_id: str) -> list[dict]:
    if not cfg.start_job or not datasets:
        return []
    if not cfg.glue_job_name:
        _log("ERROR", "job_not_started", detail="START_JOB_ON_ARRIVAL=true but GLUE_JOB_NAME is "
             "empty: set GLUE_JOB_NAME", request_id=request_id)
        return []
    glue = boto3.client("glue")
    started = []
    for dataset in datasets:
        name = cfg.glue_job_name.replace("{dataset}", dataset)
        args = {k: str(v).replace("{dataset}", dataset) for k, v in cfg.glue_job_arguments.items()}
        try:
            run_id = glue.start_job_run(JobName=name, Arguments=args)["JobRunId"]
        except ClientError as e:
            # ConcurrentRunsExceeded etc.: the data is safe in raw; the next run/schedule picks it up
            _log("WARNING", "job_not_started", job=name, dataset=dataset,
                 error=e.response.get("Error", {}).get("Code"), request_id=request_id)
            started.append({"dataset": dataset, "job": name, "run_id": None,
                            "error": e.response.get("Error", {}).get("Code")})
            continue
        _log("INFO", "job_started", job=name, dataset=dataset, run_id=run_id, arguments=args,
             request_id=request_id)
        started.append({"dataset": dataset, "job": name, "run_id": run_id})
    return started


def lambda_handler(event: dict, context=None) -> dict:
    """Entry point: process every S3 record of ``event``; see the module docstring."""
    cfg = _config()
    request_id = getattr(context, "aws_request_id", None) or "local"
    s3 = boto3.client("s3")
    summary: dict[str, list] = {"landed": [], "quarantined": [], "skipped_duplicates": [],
                                "ignored": [], "missing": [], "errors": [], "jobs_started": []}
    records = (event or {}).get("Records") or []
    if not records:
        _log("WARNING", "no_records", detail="event has no Records: expected an S3 event",
             request_id=request_id)
    for record in records:
        try:
            outcome, detail = _process(s3, cfg, record, request_id)
            summary[outcome].append(detail)
        except Exception as e:  # noqa: BLE001 - log, finish the batch, then fail for a retry
            key = unquote_plus(record.get("s3", {}).get("object", {}).get("key", "?"))
            _log("ERROR", "error", key=key, error=f"{type(e).__name__}: {e}", request_id=request_id)
            summary["errors"].append({"key": key, "error": f"{type(e).__name__}: {e}"})
    landed_datasets = sorted({d["dataset"] for d in summary["landed"]})
    summary["jobs_started"] = _start_jobs(cfg, landed_datasets, request_id)
    counts = {k: len(v) for k, v in summary.items()}
    handled = counts["landed"] + counts["quarantined"] + counts["skipped_duplicates"]
    _log("INFO", "summary", request_id=request_id, **counts,
         **_emf(_metrics_prefix(), handled, counts["quarantined"]))
    if summary["errors"] and cfg.raise_on_error:
        raise RuntimeError(f"{len(summary['errors'])} of {len(records)} record(s) failed "
                           f"({summary['errors'][0]['error']}); the originals stay in landing and "
                           "the event will be retried")
    return summary
