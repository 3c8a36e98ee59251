"""Trainee-facing ingestion helpers: upload landing files, prove nothing was lost.

    >>> keys = upload_landing_files(s3, landing, landing_files("data/sample"))
    >>> df = reconcile(s3, landing, raw, quarantine, keys)
    >>> df.attrs["summary"]          # {'sent': 17, 'raw': 16, 'quarantine': 1, ..., 'balanced': True}
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

__all__ = ["RECONCILE_COLUMNS", "landing_files", "reconcile", "upload_landing_files"]

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
    from tqdm.auto import tqdm

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
        rows.append(row)
    df = pd.DataFrame(rows, columns=RECONCILE_COLUMNS)
    counts = df["where"].value_counts().to_dict() if len(df) else {}
    summary = {"sent": len(df), "raw": counts.get("raw", 0), "quarantine": counts.get("quarantine", 0),
               "pending": counts.get("landing", 0), "missing": counts.get("missing", 0)}
    summary["balanced"] = summary["raw"] + summary["quarantine"] == summary["sent"]
    df.attrs["summary"] = summary
    return df
