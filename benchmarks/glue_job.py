"""Benchmark: the ETL job through the local Glue runner vs the same script on local files.

For each flights scale (default 1x and 10x, ``data/generate.py``'s scale factor):

- **bare**: ``python lakekit/jobs/etl.py --dataset all`` on a local raw folder (what
  ``spark-submit`` of the script does: one driver + its JVM), outputs to local folders;
- **endpoint**: the same raw files in S3 of a fresh endpoint, the script uploaded as
  ScriptLocation, ``StartJobRun`` -> final state (staging, the script, sync-back included).

Prints rows/s of both (rows = sum of ``rows_in`` the job reports), their ratio (goal >= 0.8)
and the peak RSS of the job's process group (driver + JVM). Standalone::

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
    res = jobrunner.run_process([sys.executable, str(ETL), "--JOB_NAME", "bench",
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


def through_endpoint(work: Path, url: str, tag: str) -> dict[str, float]:
    s3, glue, logs = client(url, "s3"), client(url, "glue"), client(url, "logs")
    buckets = {k: f"bench-{k}-{tag}" for k in ("raw", "processed", "quarantine", "artifacts")}
    for b in buckets.values():
        s3.create_bucket(Bucket=b)
    for path in (work / "raw").rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), buckets["raw"], path.relative_to(work / "raw").as_posix())
    s3.upload_file(str(ETL), buckets["artifacts"], "scripts/etl.py")
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
    rows = _rows_in(got.output)
    for n in notes:
        if "staged" in n or "synced" in n or "script exited" in n:
            print("   ", n)
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "peak_rss_mb": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    opts = parser.parse_args(argv)
    os.environ.setdefault("LAKEKIT_SPARK_MASTER", "local[2]")
    os.environ.setdefault("LAKEKIT_SPARK_DRIVER_MEMORY", "2g")
    if not ETL.exists():
        print(f"{ETL} does not exist yet: nothing to benchmark")
        return 1
    with LakekitEndpoint() as ep:
        for scale in opts.scales:
            work = Path(tempfile.mkdtemp(prefix=f"lakekit-gluebench-{scale}x-"))
            try:
                counts = _generate(work, scale)
                print(f"scale {scale}x: {counts['flights']:,} flights (+ lookups, planes)")
                b = bare(work)
                e = through_endpoint(work, ep.url, f"{scale}x")
                if b["rows"] != e["rows"]:
                    raise RuntimeError(f"rows differ: bare {b['rows']} vs endpoint {e['rows']}")
                ratio = e["rows_per_s"] / b["rows_per_s"]
                print(f"  bare     : {b['rows']:,} rows in {b['seconds']:.1f} s = {b['rows_per_s']:,.0f} rows/s, "
                      f"peak RSS {b['peak_rss_mb']} MB")
                print(f"  endpoint : {e['rows']:,} rows in {e['seconds']:.1f} s = {e['rows_per_s']:,.0f} rows/s, "
                      f"peak RSS {e['peak_rss_mb']} MB")
                print(f"  ratio endpoint/bare = {ratio:.2f}x (goal >= 0.8x)")
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
