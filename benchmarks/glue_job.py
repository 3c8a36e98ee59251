"""Benchmark: the ETL job as DynamicFrames (lakekit/jobs/etl.py) vs as plain DataFrames, and the runner.

For each flights scale (default 1x and 10x, ``data/generate.py``'s scale factor), on the same input
in the same run:

- **bare**: the DataFrame job (``benchmarks/_etl_dataframe.py``, the plain-PySpark script the
  workshop used before it was written with GlueContext) as ``python <script> --dataset all`` on a
  local raw folder (one driver + its JVM), outputs to local folders;
- **endpoint DataFrame**: that script through the local Glue runner (raw files in S3 of the
  endpoint, ``StartJobRun`` -> final state: staging, the script, sync-back included);
- **endpoint DynamicFrame**: lakekit/jobs/etl.py (GlueContext, DynamicFrames, EvaluateDataQuality)
  through the runner on the same raw objects.

Prints rows/s (rows = sum of ``rows_in`` the job reports), the ratios DynamicFrame/DataFrame job
time (goal <= 1.2x) and endpoint/bare rows/s (goal >= 0.8x), and the peak RSS of the job's process
group (driver + JVM). Standalone::

    .venv/bin/python benchmarks/glue_job.py            # 1x and 10x
    .venv/bin/python benchmarks/glue_job.py --scales 1
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _servers import LakekitEndpoint, client, service_role  # noqa: E402

from lakekit.local.glue import jobrunner  # noqa: E402

ETL = ROOT / "lakekit" / "jobs" / "etl.py"
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


def through_endpoint(url: str, tag: str, raw_bucket: str, script: Path) -> dict[str, float]:
    s3, glue, logs = client(url, "s3"), client(url, "glue"), client(url, "logs")
    buckets = {"raw": raw_bucket, **{k: f"bench-{k}-{tag}" for k in ("processed", "quarantine", "artifacts")}}
    for k in ("processed", "quarantine", "artifacts"):
        s3.create_bucket(Bucket=buckets[k])
    s3.upload_file(str(script), buckets["artifacts"], "scripts/etl.py")
    _job_role(url, buckets)
    job = f"bench-etl-{tag}"
    glue.create_job(Name=job, Role=ROLE, GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{buckets['artifacts']}/scripts/etl.py"},
                    DefaultArguments=_args(*(f"s3://{buckets[k]}/" for k in
                                             ("raw", "processed", "quarantine", "artifacts"))))
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
    rows = _rows_in(got.output)
    for n in notes:
        if "staged" in n or "synced" in n or "script exited" in n:
            print("   ", n)
    return {"rows": rows, "seconds": seconds, "script_s": script_s, "rows_per_s": rows / seconds,
            "peak_rss_mb": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    opts = parser.parse_args(argv)
    os.environ.setdefault("LAKEKIT_SPARK_MASTER", "local[2]")
    os.environ.setdefault("LAKEKIT_SPARK_DRIVER_MEMORY", "2g")
    for script in (ETL, DATAFRAME_ETL):
        if not script.exists():
            print(f"{script} does not exist: nothing to benchmark")
            return 1
    with LakekitEndpoint() as ep:
        for scale in opts.scales:
            work = Path(tempfile.mkdtemp(prefix=f"lakekit-gluebench-{scale}x-"))
            try:
                counts = _generate(work, scale)
                print(f"scale {scale}x: {counts['flights']:,} flights (+ lookups, planes)")
                b = bare(work)
                raw = upload_raw(work, ep.url, f"{scale}x")
                e = through_endpoint(ep.url, f"{scale}x-df", raw, DATAFRAME_ETL)
                g = through_endpoint(ep.url, f"{scale}x-dyf", raw, ETL)
                if not b["rows"] == e["rows"] == g["rows"]:
                    raise RuntimeError(f"rows differ: bare {b['rows']}, endpoint DataFrame {e['rows']}, "
                                       f"endpoint DynamicFrame {g['rows']}")
                for label, r in (("bare DataFrame    ", b), ("endpoint DataFrame", e), ("endpoint DynamicFr", g)):
                    print(f"  {label}: {r['rows']:,} rows in {r['seconds']:.1f} s = {r['rows_per_s']:,.0f} rows/s, "
                          f"peak RSS {r['peak_rss_mb']} MB")
                print(f"  ratio endpoint/bare (DataFrame job) = {e['rows_per_s'] / b['rows_per_s']:.2f}x (goal >= 0.8x)")
                print(f"  ratio DynamicFrame/DataFrame job time = {g['seconds'] / e['seconds']:.2f}x run, "
                      f"{g['script_s'] / e['script_s']:.2f}x script (goal <= 1.2x)")
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
