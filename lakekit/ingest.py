"""Trainee-facing ingestion helpers: upload landing files, prove nothing was lost.

    >>> keys = upload_landing_files(s3, landing, landing_files("data/sample"))
    >>> df = reconcile(s3, landing, raw, quarantine, keys)
    >>> df.attrs["summary"]          # {'sent': 17, 'raw': 16, 'quarantine': 1, ..., 'balanced': True}
    >>> df = wait_until_ingested(s3, landing, raw, quarantine, keys, timeout=300)
    >>> lambda_logs(logs, "lakekit-ingest", since=started, keys=keys)   # JSON log lines as a table
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from lakekit.polling import interval

__all__ = ["DECISIONS", "LOG_COLUMNS", "RECONCILE_COLUMNS", "lambda_logs", "landing_files", "reconcile",
           "upload_landing_files", "wait_until_ingested"]

#: The ingest Lambda's per-object log messages.
DECISIONS = ("landed", "quarantined", "skipped_duplicate", "ignored", "missing", "error")
LOG_COLUMNS = ["time", "level", "message", "key", "dataset", "reason_code", "rows", "landing",
               "target", "request_id"]
RECONCILE_COLUMNS = ["key", "where", "reason", "dataset", "target_key", "rows", "sha256"]
_CONTENT_TYPES = {".csv": "text/csv", ".jsonl": "application/x-ndjson",
                  ".json": "application/json", ".gz": "application/gzip"}


def landing_files(root: str | os.PathLike) -> dict[str, Path]:
    """Map every file under ``root`` to its landing key (path relative to root, '/'-separated).

    >>> landing_files("data/sample")["flights/2013-01.csv"]
    PosixPath('data/sample/flights/2013-01.csv')
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory: run `python data/generate.py --out "
                                f"{root}` first or use data/sample")
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def _as_pairs(files) -> list[tuple[str, Path]]:
    if isinstance(files, Mapping):
        return [(str(k), Path(v)) for k, v in files.items()]
    pairs = []
    for item in files:
        if isinstance(item, (tuple, list)):
            pairs.append((str(item[0]), Path(item[1])))
        else:  # a bare path: key = '<parent folder>/<name>', e.g. flights/2013-01.csv
            p = Path(item)
            pairs.append((f"{p.parent.name}/{p.name}", p))
    return pairs


def upload_landing_files(s3_client, bucket: str, files: Mapping[str, str | os.PathLike]
                         | Iterable[str | os.PathLike | tuple[str, str | os.PathLike]],
                         progress: bool = True) -> list[str]:
    """Upload files to the landing bucket with a byte progress bar; returns the keys sent.

    ``files``: {key: path}, (key, path) pairs, or bare paths (key = parent folder/name).
    Each PUT triggers the ingest Lambda (one S3 event per object).
    """
    from lakekit.waiters import progress_bar as tqdm  # ends green at 100 % with one text line

    pairs = _as_pairs(files)
    for _, path in pairs:
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: generate the data first "
                                    "(python data/generate.py) or fix the path")
    total = sum(p.stat().st_size for _, p in pairs)
    sent: list[str] = []
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"upload to s3://{bucket}",
              disable=not progress) as bar:
        for key, path in pairs:
            suffix = path.suffix.lower()
            extra = {"ContentType": _CONTENT_TYPES.get(suffix, "application/octet-stream")}
            s3_client.upload_file(str(path), bucket, key, ExtraArgs=extra, Callback=bar.update)
            sent.append(key)
            bar.set_postfix_str(key, refresh=False)
        bar.set_postfix_str(f"{len(sent)} files", refresh=False)  # the final line's summary
    return sent


def _list(s3_client, bucket: str, prefix: str = "") -> list[dict]:
    out = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(page.get("Contents", []))
    return out


def _read_json(s3_client, bucket: str, key: str) -> dict:
    return json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())


def reconcile(s3_client, landing_bucket: str, raw_bucket: str, quarantine_bucket: str,
              sent_keys: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per landing key: where it ended up (raw | quarantine | landing | missing) and why.

    Evidence: the ingest manifests (``s3://raw/_manifest/``) and quarantine sidecars, checked
    against the objects that really exist in raw/quarantine. ``where='landing'`` = not processed
    yet; ``'missing'`` = neither copied nor still in landing (data loss: investigate).
    ``df.attrs["summary"]``: {sent, raw, quarantine, pending, missing, balanced} where
    balanced means raw + quarantine == sent.
    """
    manifests: dict[str, dict] = {}
    for obj in _list(s3_client, raw_bucket, "_manifest/"):
        entry = _read_json(s3_client, raw_bucket, obj["Key"])
        if entry.get("source_bucket") != landing_bucket:
            continue
        prev = manifests.get(entry["source_key"])
        if prev is None or entry.get("ingest_time", "") >= prev.get("ingest_time", ""):
            manifests[entry["source_key"]] = entry
    raw_keys = {o["Key"] for o in _list(s3_client, raw_bucket) if not o["Key"].startswith("_manifest/")}
    q_objects = _list(s3_client, quarantine_bucket)
    q_keys = {o["Key"] for o in q_objects}
    sidecars: dict[str, dict] = {}
    for obj in q_objects:
        if obj["Key"].endswith(".reason.json") and not obj["Key"].startswith("rejected_rows/"):
            car = _read_json(s3_client, quarantine_bucket, obj["Key"])
            if car.get("source_bucket", landing_bucket) == landing_bucket:
                sidecars.setdefault(car.get("source_key"), car)
    landing_keys = {o["Key"] for o in _list(s3_client, landing_bucket)}
    keys = list(dict.fromkeys(sent_keys)) if sent_keys is not None else sorted(
        set(manifests) | set(sidecars) | landing_keys)

    rows = []
    for key in keys:
        entry = manifests.get(key)
        row = {"key": key, "where": "missing", "reason": None, "dataset": None,
               "target_key": None, "rows": None, "sha256": None}
        if entry and entry.get("status") == "landed":
            row.update(dataset=entry.get("dataset"), target_key=entry.get("raw_key"),
                       rows=entry.get("rows"), sha256=entry.get("sha256"))
            if entry.get("raw_key") in raw_keys:
                row["where"] = "raw"
            else:
                row["reason"] = "manifest says landed but the raw object is absent"
        elif entry or key in sidecars:
            car = entry or sidecars[key]
            row.update(dataset=car.get("dataset"), target_key=car.get("quarantine_key"),
                       reason=car.get("reason_code"))
            if car.get("quarantine_key") in q_keys:
                row["where"] = "quarantine"
            else:
                row["reason"] = f"manifest says quarantined ({car.get('reason_code')}) but the object is absent"
        elif key in landing_keys:
            row.update(where="landing", reason="not processed yet (still in landing)")
        else:
            row["reason"] = "no manifest, not in raw, quarantine or landing"
        if row["where"] != "raw" and key in landing_keys and row["where"] == "missing":
            row.update(where="landing")
        elif row["where"] in ("raw", "quarantine") and key in landing_keys:
            row["reason"] = ((row["reason"] + "; ") if row["reason"] else "") + (
                "copied, but the original is still in landing: the Lambda could not delete it "
                "(its log says why, e.g. AccessDenied on s3:DeleteObjectVersion) or a newer upload "
                "of the key is waiting")
        rows.append(row)
    df = pd.DataFrame(rows, columns=RECONCILE_COLUMNS)
    counts = df["where"].value_counts().to_dict() if len(df) else {}
    summary = {"sent": len(df), "raw": counts.get("raw", 0), "quarantine": counts.get("quarantine", 0),
               "pending": counts.get("landing", 0), "missing": counts.get("missing", 0)}
    summary["balanced"] = summary["raw"] + summary["quarantine"] == summary["sent"]
    df.attrs["summary"] = summary
    return df


def wait_until_ingested(s3_client, landing_bucket: str, raw_bucket: str, quarantine_bucket: str,
                        keys: Iterable[str], timeout: float = 300.0, progress: bool = True,
                        poll: float | None = None) -> pd.DataFrame:
    """Wait (bounded, progress bar) until the ingest Lambda handled every key; return :func:`reconcile`.

    A key is handled once it is gone from landing: the Lambda deletes the original only after
    the copy to raw or quarantine and its manifest are written (``DELETE_FROM_LANDING=true``,
    the default). Raises :class:`~lakekit.exceptions.WaitTimeout` naming the keys still waiting.
    ``poll``: seconds between listings (default 0.5 on AWS, 0.1 on the local endpoint).
    """
    from lakekit.exceptions import WaitTimeout
    from lakekit.waiters import progress_bar as tqdm  # ends green at 100 % with one text line

    keys = list(dict.fromkeys(keys))
    poll = interval(s3_client, aws=0.5, local=0.1) if poll is None else poll
    deadline = time.monotonic() + timeout
    with tqdm(total=len(keys), unit="file", desc="landing -> raw/quarantine", disable=not progress) as bar:
        while True:
            in_landing = {o["Key"] for o in _list(s3_client, landing_bucket)}
            waiting = [k for k in keys if k in in_landing]
            bar.update(len(keys) - len(waiting) - bar.n)
            if not waiting:
                break
            if time.monotonic() > deadline:
                raise WaitTimeout(
                    f"{len(waiting)} of {len(keys)} object(s) still in s3://{landing_bucket} after "
                    f"{timeout:.0f} s (e.g. {waiting[:3]}): check the ingest Lambda's log group "
                    "/aws/lambda/<function> for errors (an AccessDenied on the landing delete means "
                    "the role lacks s3:DeleteObject/s3:DeleteObjectVersion) and the landing "
                    "bucket's event notification, then wait again")
            time.sleep(poll)
    return reconcile(s3_client, landing_bucket, raw_bucket, quarantine_bucket, keys)


def _epoch_ms(when) -> int | None:
    if when is None:
        return None
    if isinstance(when, _dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.UTC)
        return int(when.timestamp() * 1000)
    return int(when)


def _log_rows(logs_client, group: str, start: int | None) -> list[dict]:
    kwargs = {"logGroupName": group} | ({"startTime": start} if start is not None else {})
    rows = []
    try:
        for page in logs_client.get_paginator("filter_log_events").paginate(**kwargs):
            for event in page["events"]:
                text = event["message"].strip()
                if not text.startswith("{"):
                    continue  # START / END / REPORT lines of the runtime
                try:
                    rec = json.loads(text)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    rows.append(rec | {"_timestamp": event["timestamp"]})
    except logs_client.exceptions.ResourceNotFoundException:
        return []
    return rows


def lambda_logs(logs_client, function_name: str, since=None, keys: Iterable[str] | None = None,
                timeout: float = 60.0, poll: float | None = None) -> pd.DataFrame:
    """The ingest Lambda's structured (JSON) log lines from ``/aws/lambda/<function_name>``.

    ``since``: datetime or epoch milliseconds (only later events). With ``keys``, waits (bounded)
    until each key has a decision line (landed, quarantined, skipped_duplicate, ...) — CloudWatch
    Logs shows lines a few seconds after the function wrote them — and keeps only those keys.
    One row per line, oldest first; columns :data:`LOG_COLUMNS` (``target`` = raw or quarantine key).
    ``poll``: seconds between reads (default 1 on AWS, 0.2 on the local endpoint).
    """
    from lakekit.exceptions import WaitTimeout

    group = f"/aws/lambda/{function_name}"
    poll = interval(logs_client, aws=1.0, local=0.2) if poll is None else poll
    wanted = list(dict.fromkeys(keys)) if keys is not None else None
    deadline = time.monotonic() + timeout
    while True:
        recs = _log_rows(logs_client, group, _epoch_ms(since))
        if wanted is None:
            break
        decided = {r.get("key") for r in recs if r.get("message") in DECISIONS}
        missing = [k for k in wanted if k not in decided]
        if not missing:
            recs = [r for r in recs if r.get("key") in set(wanted)]
            break
        if time.monotonic() > deadline:
            raise WaitTimeout(f"no log line for {len(missing)} key(s) in {group} after {timeout:.0f} s "
                              f"(e.g. {missing[:3]}): the function may not have run for them; check "
                              "that the objects left landing, then call lambda_logs again")
        time.sleep(poll)
    rows = [{"time": pd.Timestamp(r["_timestamp"], unit="ms", tz="UTC"), "level": r.get("level"),
             "message": r.get("message"), "key": r.get("key"), "dataset": r.get("dataset"),
             "reason_code": r.get("reason_code"), "rows": r.get("rows"), "landing": r.get("landing"),
             "target": r.get("raw_key") or r.get("quarantine_key"), "request_id": r.get("request_id")}
            for r in sorted(recs, key=lambda r: r["_timestamp"])]
    return pd.DataFrame(rows, columns=LOG_COLUMNS)
