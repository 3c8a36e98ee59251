"""One private endpoint for the Glue catalog tests (they list every table of the account, so
they must not share the session endpoint with other packages), and a fresh database per test.

``table_input(name, ...)``: a Parquet TableInput as awswrangler's ``create_parquet_table`` writes it.
"""
from __future__ import annotations

import uuid
from typing import Any

import pytest

ACCOUNT = "123456789012"
REGION = "us-east-1"
BOOTSTRAP_ARN = f"arn:aws:iam::{ACCOUNT}:user/moto"
PARQUET_SD = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
CSV_SD = {
    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"},
}


def table_input(name: str, columns: dict[str, str] | None = None, *, location: str | None = None,
                fmt: str = "parquet", parameters: dict[str, str] | None = None,
                description: str | None = None) -> dict[str, Any]:
    cols = columns or {"id": "bigint", "amount": "double"}
    sd = dict(PARQUET_SD if fmt == "parquet" else CSV_SD)
    sd["Columns"] = [{"Name": k, "Type": v} for k, v in cols.items()]
    sd["Location"] = location or f"s3://catalog-lake/{name}/"
    out: dict[str, Any] = {"Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd,
                           "PartitionKeys": []}
    out["Parameters"] = {"classification": fmt} if parameters is None else parameters
    if description is not None:
        out["Description"] = description
    return out


@pytest.fixture(scope="package")
def cat(private_endpoint):
    ep = private_endpoint("glue-catalog")
    yield ep
    ep.stop()


@pytest.fixture
def glue(cat):
    return cat.client("glue")


@pytest.fixture
def db(glue):
    name = f"cat_{uuid.uuid4().hex[:10]}"
    glue.create_database(DatabaseInput={"Name": name})
    yield name
    try:
        glue.delete_database(Name=name)
    except Exception:
        pass
