"""A Glue job's partitioned Parquet write on the local runner's Spark settings, with and without
the raw local file system, in the same run.

The local Glue runner stages S3 prefixes as local folders, so a job's output goes through
Hadoop's ``file:`` file system. Hadoop's default ``LocalFileSystem`` writes a ``.crc`` side
file next to every output file (the sync-back never uploads them); the runner sets
``fs.file.impl`` to ``RawLocalFileSystem``, which writes none. Each round runs two Spark
processes with :func:`lakekit.local.glue.jobrunner.library_env`'s settings, one with the
runner's file system and one with Hadoop's default, alternating which goes first. Each
writes a flights-shaped frame (``--rows`` rows, 19 columns) partitioned year/month/day over
365 days (one file per folder, as the workshop job writes it) three times, and reports the
median write. Prints the medians, the files written and the ratio runner / default.

    python benchmarks/spark_write.py [--rows 336776] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RAW_FS = "--conf spark.hadoop.fs.file.impl=org.apache.hadoop.fs.RawLocalFileSystem "

CHILD = r"""
import json, os, statistics, sys, time
from pyspark.sql import SparkSession, functions as F
rows, out = int(sys.argv[1]), sys.argv[2]
spark = SparkSession.builder.getOrCreate()
spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
spark.sparkContext._jsc.hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
day = F.date_add(F.lit("2013-01-01").cast("date"), (F.col("id") % 365).cast("int"))
df = spark.range(rows).select(
    F.year(day).alias("year"), F.month(day).alias("month"), F.dayofmonth(day).alias("day"),
    *[(F.col("id") * (k + 7) % 100003).cast("string" if k % 3 else "double").alias(f"c{k}")
      for k in range(16)]).persist()
df.count()
times = []
for _ in range(3):
    t = time.perf_counter()
    df.repartition("year", "month", "day").write.mode("overwrite").partitionBy(
        "year", "month", "day").parquet(out)
    times.append(time.perf_counter() - t)
files = [f for _d, _s, fs in os.walk(out) for f in fs]
print(json.dumps({"seconds": statistics.median(times), "parquet": sum(f.endswith(".parquet") for f in files),
                  "crc": sum(f.endswith(".crc") for f in files)}))
"""


def run(conf: str, rows: int, work: Path) -> dict:
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": conf}
    env.pop("PYTHONPATH", None)
    out = work / "out"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(rows), str(out)], env=env,
                          capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode:
        raise SystemExit(f"spark write failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=336_776)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    from lakekit.local.glue.jobrunner import library_env

    with tempfile.TemporaryDirectory(prefix="lakekit-spark-write-") as tmp:
        runner = library_env(Path(tmp) / "runtime")["PYSPARK_SUBMIT_ARGS"]
        if RAW_FS not in runner:
            raise SystemExit("the runner's Spark settings no longer set fs.file.impl: update this benchmark")
        confs = {"runner (raw local fs)": runner, "default (LocalFileSystem)": runner.replace(RAW_FS, "")}
        got: dict[str, list[dict]] = {k: [] for k in confs}
        for i in range(args.rounds):
            for label in (list(confs) if i % 2 == 0 else list(confs)[::-1]):
                r = run(confs[label], args.rows, Path(tmp) / label.split()[0])
                got[label].append(r)
                print(f"round {i + 1} {label:26}: {r['seconds']:6.2f} s, {r['parquet']} parquet, "
                      f"{r['crc']} .crc", flush=True)
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in got.items()}
    a, b = med["runner (raw local fs)"], med["default (LocalFileSystem)"]
    print(f"{args.rows:,} rows into 365 partitions: runner {a:.2f} s, default {b:.2f} s, "
          f"ratio runner/default {a / b:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
