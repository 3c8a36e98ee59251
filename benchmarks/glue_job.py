"""Benchmark: the ETL job as DynamicFrames (lakekit/jobs/etl.py) vs as plain DataFrames, and the runner.

For each flights scale (default 1x and 10x, ``data/generate.py``'s scale factor), on the same input
in the same run:

- **bare**: the DataFrame job (``benchmarks/_etl_dataframe.py``, the plain-PySpark script the
  workshop used before it was written with GlueContext) as ``python <script> --dataset all`` on a
  local raw folder (one driver + its JVM), outputs to local folders;
- **endpoint DataFrame**: that script through the local Glue runner (raw files in S3 of the
  endpoint, ``StartJobRun`` -> final state: staging, the script, sync-back included);
- **endpoint DynamicFrame**: lakekit/jobs/etl.py (GlueContext, DynamicFrames, EvaluateDataQuality)
  through the runner on the same raw objects;
- **endpoint minimal**: the lean baseline (issue #17): a plain Spark script that reads the same raw
  objects, casts them to the job's schemas (``etl.SCHEMAS``) and writes Parquet (flights and weather
  partitioned by year/month/day) - no rejects, dedup, enrichment, DQ or accounting;
- **endpoint DynF cold** (``cold``): the workshop job again, as a copy the runner will not give a
  warm driver (:func:`lakekit.local.glue.warm.eligible`): a new Python driver and JVM, as every
  run had before warm drivers. The other endpoint runs reuse the endpoint's warm driver (a first
  minimal run at the first scale starts it), so the ratios between them compare warm with warm;
- ``--before SCRIPT`` (optional): another version of the workshop job (e.g. ``git show
  main:lakekit/jobs/etl.py > /tmp/etl_before.py``) through the runner in the same run.

The **profile** of the workshop job comes from Spark's event log of its run
(``LAKEKIT_SPARK_EVENT_LOG_DIR``, see ``jobrunner.library_env``): JVM start-up, every Spark action
(call site in etl.py / awsglue, wall time, jobs, stages, tasks, shuffle bytes), grouped by kind
(reads, counts, DQ passes, writes), and the number of output files per dataset.

Prints rows/s (rows = sum of ``rows_in`` the job reports), the ratios DynamicFrame/DataFrame job
time (goal <= 1.2x), endpoint/bare rows/s (goal >= 0.8x), workshop/minimal job time (goal <= 1.5x),
the workshop job in a warm driver against a cold one,
and the peak RSS of the job's process group (driver + JVM). Standalone::

    .venv/bin/python benchmarks/glue_job.py            # 1x and 10x
    .venv/bin/python benchmarks/glue_job.py --scales 1
    .venv/bin/python benchmarks/glue_job.py --scales 1 --only minimal dyf   # skip the DataFrame jobs
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _servers import LakekitEndpoint, client, service_role  # noqa: E402

from lakekit.local.glue import jobrunner  # noqa: E402

ETL = ROOT / "lakekit" / "jobs" / "etl.py"
PYLIB = ROOT / "lakekit" / "local" / "glue" / "pylib"
DATAFRAME_ETL = ROOT / "benchmarks" / "_etl_dataframe.py"
INGEST_DATE = "ingest_date=2026-01-15"
ROLE = "arn:aws:iam::123456789012:role/lakekit-glue-bench"


def _generate(out: Path, scale: int) -> dict[str, int]:
    spec = importlib.util.spec_from_file_location("lakekit_data_generate", ROOT / "data" / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    landing = out / "landing"
    counts = mod.generate(landing, scale=scale)
    raw = out / "raw"
    for path in landing.rglob("*"):
        if path.is_file():
            dataset = path.relative_to(landing).parts[0]
            target = raw / dataset / INGEST_DATE / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)
    return counts


def _rows_in(lines: list[str]) -> int:
    for line in reversed(lines):
        if line.startswith("[etl] done: "):
            return sum(d["rows_in"] for d in json.loads(line[len("[etl] done: "):]).values())
    raise RuntimeError("the job printed no '[etl] done:' line; see its output above")


def _args(raw: str, processed: str, quarantine: str, artifacts: str) -> dict[str, str]:
    return {"--dataset": "all", "--raw_path": raw, "--processed_path": processed,
            "--rejected_path": f"{quarantine}rejected_rows/", "--reports_path": f"{artifacts}reports/",
            "--bookmark_path": f"{artifacts}bookmarks/bench/",
            "--job-bookmark-option": "job-bookmark-disable"}


def bare(work: Path) -> dict[str, float]:
    out = work / "bare"
    args = _args(f"{work}/raw/", f"{out}/processed/", f"{out}/quarantine/", f"{out}/artifacts/")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
           "TZ": "UTC", "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    res = jobrunner.run_process([sys.executable, str(DATAFRAME_ETL), "--JOB_NAME", "bench",
                                 *jobrunner.argv_from(args)], env, work, timeout_seconds=3600)
    seconds = time.monotonic() - started
    if res.returncode != 0:
        print("\n".join(m for _, m in res.stderr[-40:]))
        raise RuntimeError(f"bare run failed: {jobrunner.python_error(res.stderr, res.returncode)}")
    rows = _rows_in([m for _, m in res.stdout])
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "peak_rss_mb": res.peak_rss_mb}


def _job_role(url: str, buckets: dict[str, str]) -> None:
    """The job's role, allowed what the template's GlueRole allows on these buckets."""
    arns = [f"arn:aws:s3:::{b}" for b in buckets.values()]
    service_role(url, ROLE.rsplit("/", 1)[1], "glue.amazonaws.com", [
        {"Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": [f"{a}/*" for a in arns]},
        {"Action": "s3:ListBucket", "Resource": arns},
        {"Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:aws:logs:*:*:log-group:/aws-glue/*"}])


def upload_raw(work: Path, url: str, tag: str) -> str:
    """The raw files in one bucket of the endpoint (shared by both jobs); returns its name."""
    s3 = client(url, "s3")
    bucket = f"bench-raw-{tag}"
    s3.create_bucket(Bucket=bucket)
    for path in (work / "raw").rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, path.relative_to(work / "raw").as_posix())
    return bucket


def through_endpoint(url: str, tag: str, raw_bucket: str, script: Path | str,
                     extra_args: dict[str, str] | None = None, event_log: Path | None = None,
                     done_marker: str = "[etl] done: ") -> dict[str, Any]:
    """One run of ``script`` (a path, or the script's text) through StartJobRun; its figures."""
    s3, glue, logs = client(url, "s3"), client(url, "glue"), client(url, "logs")
    buckets = {"raw": raw_bucket, **{k: f"bench-{k}-{tag}" for k in ("processed", "quarantine", "artifacts")}}
    for k in ("processed", "quarantine", "artifacts"):
        s3.create_bucket(Bucket=buckets[k])
    body = script.read_bytes() if isinstance(script, Path) else script.encode()
    s3.put_object(Bucket=buckets["artifacts"], Key="scripts/etl.py", Body=body)
    _job_role(url, buckets)
    job = f"bench-etl-{tag}"
    glue.create_job(Name=job, Role=ROLE, GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{buckets['artifacts']}/scripts/etl.py"},
                    DefaultArguments={**_args(*(f"s3://{buckets[k]}/" for k in
                                                ("raw", "processed", "quarantine", "artifacts"))),
                                      **(extra_args or {})})
    window_start = int(time.time() * 1000)
    started = time.monotonic()
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    deadline = started + 3600
    while True:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} not final after 3600 s")
        time.sleep(0.25)
    seconds = time.monotonic() - started
    if run["JobRunState"] != "SUCCEEDED":
        raise RuntimeError(f"endpoint run {run['JobRunState']}: {run.get('ErrorMessage')}")

    from lakekit.glue import job_logs

    got = job_logs(job, run_id, glue=glue, logs=logs)  # the groups/streams Glue 5.0 writes
    notes = [m for m in got.error if m.startswith("lakekit-glue:")]
    rss = next((int(m) for n in notes for m in re.findall(r"peak RSS of its process group (\d+) MB", n)), 0)
    script_s = next((float(m) for n in notes for m in re.findall(r"script exited with 0 after ([\d.]+) s", n)), seconds)
    rows = _rows_in(got.output) if done_marker == "[etl] done: " else _minimal_rows(got.output)
    for n in notes:
        if "staged" in n or "synced" in n or "script exited" in n:
            print("   ", n)
    out: dict[str, Any] = {"rows": rows, "seconds": seconds, "script_s": script_s,
                           "rows_per_s": rows / seconds, "peak_rss_mb": rss,
                           "output_files": _output_files(s3, buckets["processed"])}
    if event_log is not None:
        # a cold run writes an event log of its own; a warm driver appends to its application's
        # log, so the run is the window between StartJobRun and its final state
        written = [p for p in event_log.iterdir() if p.stat().st_mtime * 1000 >= window_start]
        out["events"] = max(written, key=lambda p: p.stat().st_mtime) if written else None
        out["window"] = (window_start, int(time.time() * 1000))
    return out


def _output_files(s3: Any, bucket: str) -> dict[str, dict[str, int]]:
    """Per dataset: Parquet files and partition folders written into the processed bucket."""
    out: dict[str, dict[str, int]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not key.endswith(".parquet"):
                continue
            ds = key.split("/", 1)[0]
            d = out.setdefault(ds, {"files": 0, "partitions": set()})  # type: ignore[dict-item]
            d["files"] += 1
            d["partitions"].add(key.rsplit("/", 1)[0])  # type: ignore[union-attr]
    return {ds: {"files": d["files"], "partitions": len(d["partitions"])}  # type: ignore[arg-type]
            for ds, d in sorted(out.items())}


def _minimal_rows(lines: list[str]) -> int:
    for line in reversed(lines):
        if line.startswith("[minimal] done: "):
            return sum(json.loads(line[len("[minimal] done: "):]).values())
    raise RuntimeError("the minimal job printed no '[minimal] done:' line; see its output above")


COLD_MARK = ("\nif False:  # the benchmark's cold run: warm.eligible() sends this copy to a new driver\n"
             "    SparkConf  # noqa: F821\n")

# ---------------------------------------------------------------------------- the lean baseline
MINIMAL_JOB = r"""
# The minimal Spark job (benchmarks/glue_job.py): raw -> cast to the job's schemas -> Parquet.
import glob, json, os, sys
from pyspark.sql import SparkSession, functions as F, types as T

args = {}
argv = sys.argv[1:]
for i, a in enumerate(argv):
    if a.startswith("--") and i + 1 < len(argv):
        args[a[2:]] = argv[i + 1]
spec = json.loads(args["spec"])
spark = SparkSession.builder.getOrCreate()
for k, v in {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false",
             "spark.sql.sources.partitionOverwriteMode": "dynamic",
             "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}.items():
    spark.conf.set(k, v)


def raw_schema(node):
    if isinstance(node, list):
        return T.StructType([T.StructField(c, T.StringType()) for c in node])
    return T.StructType([T.StructField(k, T.StringType() if v is None else raw_schema(v))
                         for k, v in node.items()])


def leaves(node, prefix=()):
    if isinstance(node, list):
        return [(c,) for c in node]
    out = []
    for k, v in node.items():
        out += [prefix + (k,)] if v is None else leaves(v, prefix + (k,))
    return out


done = {}
for ds, d in spec.items():
    root = os.path.join(args["raw_path"], ds)
    ext = ("csv",) if d["format"] == "csv" else ("json", "jsonl", "ndjson")
    files = sorted(f for e in ext for f in glob.glob(os.path.join(root, "ingest_date=*", "*." + e)))
    if not files:
        continue
    reader = spark.read.schema(raw_schema(d["raw"]))
    if d["format"] == "csv":
        df = reader.option("header", True).option("multiLine", True).option("escape", '"').csv(files)
    else:
        df = reader.json(files)
        df = df.select(*[F.col(".".join(p)).alias(d["renames"].get("_".join(p), "_".join(p)))
                         for p in leaves(d["raw"])])
    df = df.select(*[F.col(c).cast(t).alias(c) for c, t in d["columns"]])
    w = df.write.mode("overwrite")
    if d["partitions"]:
        w = w.partitionBy(*d["partitions"])
    w.parquet(os.path.join(args["processed_path"], ds))
    done[ds] = len(files)
print("[minimal] done: " + json.dumps(done), flush=True)
"""


def minimal_spec() -> str:
    """The job's raw shapes, schemas and partitions (from lakekit/jobs/etl.py) for MINIMAL_JOB."""
    if str(PYLIB) not in sys.path:
        sys.path.insert(0, str(PYLIB))
    from lakekit.jobs import etl

    return json.dumps({ds: {"format": "csv" if isinstance(etl.RAW_SCHEMAS[ds], list) else "json",
                            "raw": etl.RAW_SCHEMAS[ds], "renames": etl.RENAMES.get(ds, {}),
                            "columns": [(f.name, f.dataType.simpleString()) for f in etl.SCHEMAS[ds]],
                            "partitions": etl.PARTITIONS.get(ds, [])} for ds in etl.DATASETS})


# ---------------------------------------------------------------------------- the profile
def _kind(site: str) -> str:
    """What an action is, from its call site (``count at .../etl.py:612``)."""
    where = site.split(" at ", 1)[-1]
    if "awsgluedq" in where:
        return "DQ pass"
    if "_readers.py" in where or "_choice.py" in where:
        return "read (typing pass)"
    if site.startswith(("parquet at", "save at", "csv at", "json at", "insertInto at")):
        return "write"
    if site.startswith(("count at", "collect at", "first at", "take at")):
        return "count/collect"
    return "other"


def profile(events: Path | None, script_s: float, source: Path | None = None,
            window: tuple[int, int] | None = None) -> dict[str, Any]:
    """Where the job's time went, from Spark's event log (one JSON object a line).

    ``window`` (epoch ms): only the Spark jobs submitted in it count - the run's share of a warm
    driver's log, whose application started before the run (then there is no JVM start-up)."""
    if events is None or not events.exists():
        return {}
    lines = source.read_text().splitlines() if source else []
    app_start = app_end = None
    last = 0  # the latest time an event names: the end when the log has no ApplicationEnd
    jobs: dict[int, dict[str, Any]] = {}
    stages: dict[int, dict[str, Any]] = {}
    sql: dict[str, str] = {}  # execution id -> description ("count at ...": PySpark names the
    # Python line only for actions that return rows to Python, e.g. collect)
    for line in events.read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        ev = e.get("Event")
        last = max([last] + [v for k in ("Timestamp", "Submission Time", "Completion Time", "time")
                             if isinstance(v := e.get(k), int)])
        if ev == "SparkListenerApplicationStart":
            app_start = e["Timestamp"]
        elif ev == "SparkListenerApplicationEnd":
            app_end = e["Timestamp"]
        elif ev and ev.endswith("SQLExecutionStart"):
            sql[str(e.get("executionId"))] = e.get("description") or "?"
        elif ev == "SparkListenerJobStart":
            if window and not window[0] <= e["Submission Time"] <= window[1]:
                continue
            props = e.get("Properties") or {}
            jobs[e["Job ID"]] = {"start": e["Submission Time"], "stages": e.get("Stage IDs", []),
                                 "site": props.get("callSite.short", "?"),
                                 "sql": props.get("spark.sql.execution.id")}
        elif ev == "SparkListenerJobEnd":
            if window and e["Job ID"] not in jobs:
                continue
            jobs.setdefault(e["Job ID"], {"start": e["Completion Time"], "stages": [], "site": "?",
                                          "sql": None})["end"] = e["Completion Time"]
        elif ev == "SparkListenerStageCompleted":
            info = e["Stage Info"]
            acc = {a.get("Name"): a.get("Value") for a in info.get("Accumulables", [])}
            stages[info["Stage ID"]] = {
                "tasks": info.get("Number of Tasks", 0),
                "shuffle_write": int(acc.get("internal.metrics.shuffle.write.bytesWritten") or 0),
                "shuffle_read": int(acc.get("internal.metrics.shuffle.read.localBytesRead") or 0)
                + int(acc.get("internal.metrics.shuffle.read.remoteBytesRead") or 0)}
    # one action = one SQL execution (AQE may run several jobs for it) or one job
    actions: dict[Any, dict[str, Any]] = {}
    for jid, j in sorted(jobs.items()):
        key = ("sql", j["sql"]) if j["sql"] is not None else ("job", jid)
        site = j["site"] if j["site"] != "?" else sql.get(str(j["sql"]), "?")
        a = actions.setdefault(key, {"site": site, "start": j["start"], "end": j.get("end", j["start"]),
                                     "jobs": 0, "stages": 0, "tasks": 0, "shuffle": 0})
        a["start"], a["end"] = min(a["start"], j["start"]), max(a["end"], j.get("end", j["start"]))
        a["jobs"] += 1
        for sid in j["stages"]:
            st = stages.get(sid)
            if st:  # skipped stages (reused shuffle output) never complete
                a["stages"] += 1
                a["tasks"] += st["tasks"]
                a["shuffle"] += st["shuffle_write"]
    rows = []
    for a in sorted(actions.values(), key=lambda a: a["start"]):
        site = a["site"]
        m = re.search(r"([\w./-]+\.py):(\d+)", site)
        text = ""
        if m and source is not None and m.group(1).endswith(source.name) and int(m.group(2)) <= len(lines):
            text = lines[int(m.group(2)) - 1].strip()
        short = re.sub(r"/[^ ]*/", "", site)
        rows.append({"site": short, "code": text[:70], "kind": _kind(site), "s": (a["end"] - a["start"]) / 1000,
                     "jobs": a["jobs"], "stages": a["stages"], "tasks": a["tasks"], "shuffle_mb": a["shuffle"] / 2**20})
    # a script that never stops its SparkContext (Glue's Job.commit does not) logs no
    # ApplicationEnd: its app ran until its last event
    if window and app_start and app_start < window[0]:   # a warm driver: its JVM was up already
        app_start, app_end = window[0], min(app_end or last, window[1])
    spark_s = ((app_end or last) - app_start) / 1000 if app_start else 0.0
    first = min((a["start"] for a in actions.values()), default=app_start or 0)
    kinds: dict[str, list[float]] = {}
    for r in rows:
        k = kinds.setdefault(r["kind"], [0, 0.0])
        k[0] += 1
        k[1] += r["s"]
    return {"actions": rows, "kinds": kinds, "jvm_start_s": max(script_s - spark_s, 0.0),
            "until_first_action_s": (first - app_start) / 1000 if app_start else 0.0,
            "in_actions_s": sum(r["s"] for r in rows), "spark_s": spark_s,
            "shuffle_mb": sum(r["shuffle_mb"] for r in rows)}


def print_profile(label: str, prof: dict[str, Any], files: dict[str, dict[str, int]], script_s: float) -> None:
    if not prof:
        print(f"  profile {label}: no event log (LAKEKIT_SPARK_EVENT_LOG_DIR)")
        return
    print(f"  profile {label}: script {script_s:.1f} s = JVM start-up ~{prof['jvm_start_s']:.1f} s "
          f"+ Spark app {prof['spark_s']:.1f} s (first action after {prof['until_first_action_s']:.1f} s; "
          f"{prof['in_actions_s']:.1f} s inside {len(prof['actions'])} actions; "
          f"shuffle written {prof['shuffle_mb']:.1f} MB)")
    for kind, (n, sec) in sorted(prof["kinds"].items(), key=lambda kv: -kv[1][1]):
        print(f"    {kind:<20} {n:3d} actions {sec:7.2f} s")
    print(f"    {'s':>6} {'jobs':>4} {'stg':>4} {'tasks':>5} {'shufMB':>7}  call site / code")
    for r in prof["actions"]:
        print(f"    {r['s']:6.2f} {r['jobs']:4d} {r['stages']:4d} {r['tasks']:5d} {r['shuffle_mb']:7.1f}  "
              f"{r['site']}  {r['code']}")
    print("    output files: " + ", ".join(f"{ds} {d['files']} in {d['partitions']} folder(s)"
                                        for ds, d in files.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--only", nargs="+", choices=["bare", "df", "dyf", "minimal", "cold"],
                        default=["bare", "df", "dyf", "minimal", "cold"], help="which runs (default: all)")
    parser.add_argument("--before", type=Path, help="another version of etl.py, run in the same run")
    opts = parser.parse_args(argv)
    os.environ.setdefault("LAKEKIT_SPARK_MASTER", "local[2]")
    os.environ.setdefault("LAKEKIT_SPARK_DRIVER_MEMORY", "2g")
    for script in (ETL, DATAFRAME_ETL, *([opts.before] if opts.before else [])):
        if not script.exists():
            print(f"{script} does not exist: nothing to benchmark")
            return 1
    events = Path(tempfile.mkdtemp(prefix="lakekit-gluebench-events-"))
    os.environ["LAKEKIT_SPARK_EVENT_LOG_DIR"] = str(events)
    spec = minimal_spec()
    runs = opts.only
    try:
        with LakekitEndpoint() as ep:
            for scale in opts.scales:
                work = Path(tempfile.mkdtemp(prefix=f"lakekit-gluebench-{scale}x-"))
                try:
                    _one_scale(ep.url, work, scale, runs, spec, events, opts.before, opts.scales[0])
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(events, ignore_errors=True)
    return 0


def _one_scale(url: str, work: Path, scale: int, runs: list[str], spec: str, events: Path,
               before: Path | None, first_scale: int) -> None:
    counts = _generate(work, scale)
    print(f"scale {scale}x: {counts['flights']:,} flights (+ lookups, planes)")
    got: dict[str, dict[str, Any]] = {}
    if "bare" in runs:
        got["bare DataFrame    "] = bare(work)
    raw = upload_raw(work, url, f"{scale}x")
    if scale == first_scale:  # the endpoint's warm driver (lakekit/local/glue/warm.py) starts here
        through_endpoint(url, f"{scale}x-warmup", raw, MINIMAL_JOB, {"--spec": spec}, events,
                         done_marker="[minimal] done: ")
    if "df" in runs:
        got["endpoint DataFrame"] = through_endpoint(url, f"{scale}x-df", raw, DATAFRAME_ETL, None, events)
    if before is not None:
        got["endpoint DynF before"] = through_endpoint(url, f"{scale}x-dyf0", raw, before, None, events)
    if "dyf" in runs:
        got["endpoint DynamicFr"] = through_endpoint(url, f"{scale}x-dyf", raw, ETL, None, events)
    if "minimal" in runs:
        got["endpoint minimal  "] = through_endpoint(url, f"{scale}x-min", raw, MINIMAL_JOB, {"--spec": spec},
                                                     events, done_marker="[minimal] done: ")
    if "dyf" in runs and "cold" in runs:
        # the same script, made ineligible for a warm driver: a new Python driver and JVM
        got["endpoint DynF cold"] = through_endpoint(url, f"{scale}x-dyfc", raw,
                                                     ETL.read_text() + COLD_MARK, None, events)
    etl_rows = {r["rows"] for k, r in got.items() if "minimal" not in k}
    if len(etl_rows) > 1:
        raise RuntimeError("rows differ: " + ", ".join(f"{k.strip()} {r['rows']}" for k, r in got.items()))
    for label, r in got.items():
        unit = "files" if "minimal" in label else "rows"
        print(f"  {label}: {r['rows']:,} {unit} in {r['seconds']:.1f} s (script {r.get('script_s', r['seconds']):.1f} s)"
              + (f" = {r['rows_per_s']:,.0f} rows/s" if unit == "rows" else "")
              + f", peak RSS {r['peak_rss_mb']} MB")
    b, e = got.get("bare DataFrame    "), got.get("endpoint DataFrame")
    g, m = got.get("endpoint DynamicFr"), got.get("endpoint minimal  ")
    g0 = got.get("endpoint DynF before")
    if b and e:
        print(f"  ratio endpoint/bare (DataFrame job) = {e['rows_per_s'] / b['rows_per_s']:.2f}x (goal >= 0.8x)")
    if g and e:
        print(f"  ratio DynamicFrame/DataFrame job time = {g['seconds'] / e['seconds']:.2f}x run, "
              f"{g['script_s'] / e['script_s']:.2f}x script (goal <= 1.2x)")
    if g and m:
        print(f"  ratio workshop/minimal job time = {g['seconds'] / m['seconds']:.2f}x run, "
              f"{g['script_s'] / m['script_s']:.2f}x script (goal <= 1.5x)")
    if g0 and m:
        print(f"  ratio workshop BEFORE/minimal job time = {g0['seconds'] / m['seconds']:.2f}x run, "
              f"{g0['script_s'] / m['script_s']:.2f}x script")
    if g0 and g:
        print(f"  ratio workshop after/before = {g['seconds'] / g0['seconds']:.2f}x run")
    if g and (c := got.get("endpoint DynF cold")):
        print(f"  ratio workshop job warm/cold driver = {g['seconds'] / c['seconds']:.2f}x run, "
              f"{g['script_s'] / c['script_s']:.2f}x script")
    for label, r, src in (("minimal", m, None), ("workshop job BEFORE", g0, before), ("workshop job", g, ETL),
                          ("workshop job, cold driver", got.get("endpoint DynF cold"), ETL)):
        if r:
            print_profile(label, profile(r.get("events"), r["script_s"], src, r.get("window")),
                          r["output_files"], r["script_s"])


if __name__ == "__main__":
    sys.exit(main())
