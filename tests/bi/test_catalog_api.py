"""Athena's catalog API (what BI drivers reflect with) on the local endpoint: shapes, paging,
errors, IAM on the data catalog and on Glue, Lake Formation filtering."""
from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from tests.bi.conftest import ACCOUNT, DB, REGION

CAT = "AwsDataCatalog"
ENVELOPE = re.compile(r" \(Service: AmazonDataCatalog; Status Code: 400; Error Code: (\w+); "
                      r"Request ID: [0-9a-f-]{36}; Proxy: null\)$")


def _err(exc: pytest.ExceptionInfo) -> tuple[str, int, str]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


# ============================================================================ shapes (admin)
def test_list_databases_is_the_glue_catalog(bi_lake):
    dbs = bi_lake.athena().list_databases(CatalogName=CAT)["DatabaseList"]
    assert [d["Name"] for d in dbs] == [DB]
    assert dbs[0] == {"Name": DB, "Description": "nycflights13, the BI lesson", "Parameters": {}}
    assert bi_lake.athena().get_database(CatalogName="awsdatacatalog", DatabaseName=DB)["Database"]["Name"] == DB


def test_list_table_metadata_shape(bi_lake):
    tables = bi_lake.athena().list_table_metadata(CatalogName=CAT, DatabaseName=DB)["TableMetadataList"]
    assert [t["Name"] for t in tables] == ["airlines", "flights"]  # name order
    flights = tables[1]
    assert flights["TableType"] == "EXTERNAL_TABLE"
    assert [(c["Name"], c["Type"]) for c in flights["Columns"]] == [
        ("carrier", "string"), ("flight", "bigint"), ("tailnum", "string"), ("origin", "string"),
        ("dest", "string"), ("dep_delay", "double"), ("arr_delay", "double"), ("distance", "bigint"),
        ("time_hour", "timestamp")]
    assert flights["PartitionKeys"] == [{"Name": "month", "Type": "int", "Comment": "1-12"}]
    assert flights["Parameters"] == {
        "classification": "parquet", "location": "s3://bi-lake/processed/flights/",
        "inputformat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "outputformat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "serde.serialization.lib": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "serde.param.serialization.format": "1"}
    assert flights["CreateTime"].year >= 2024
    airlines = tables[0]
    assert airlines["Columns"][1] == {"Name": "name", "Type": "string", "Comment": "full name"}


def test_get_table_metadata_equals_the_listed_entry(bi_lake):
    athena = bi_lake.athena()
    listed = athena.list_table_metadata(CatalogName=CAT, DatabaseName=DB, Expression="fli*")["TableMetadataList"]
    got = athena.get_table_metadata(CatalogName=CAT, DatabaseName=DB, TableName="FLIGHTS")["TableMetadata"]
    assert [t["Name"] for t in listed] == ["flights"]
    assert got == listed[0]


def test_paging_by_max_results(bi_lake):
    athena = bi_lake.athena()
    first = athena.list_table_metadata(CatalogName=CAT, DatabaseName=DB, MaxResults=1)
    assert [t["Name"] for t in first["TableMetadataList"]] == ["airlines"] and first["NextToken"]
    second = athena.list_table_metadata(CatalogName=CAT, DatabaseName=DB, MaxResults=1,
                                        NextToken=first["NextToken"])
    assert [t["Name"] for t in second["TableMetadataList"]] == ["flights"] and "NextToken" not in second
    pages = athena.get_paginator("list_table_metadata").paginate(CatalogName=CAT, DatabaseName=DB,
                                                                 PaginationConfig={"PageSize": 1})
    assert [t["Name"] for p in pages for t in p["TableMetadataList"]] == ["airlines", "flights"]


# ============================================================================ errors
def test_missing_table_is_metadata_exception_with_glue_envelope(bi_lake):
    with pytest.raises(ClientError) as exc:
        bi_lake.athena().get_table_metadata(CatalogName=CAT, DatabaseName=DB, TableName="nope")
    code, status, message = _err(exc)
    assert (code, status) == ("MetadataException", 400)
    assert message.startswith("Entity Not Found (Service: AmazonDataCatalog;")
    assert ENVELOPE.search(message).group(1) == "EntityNotFoundException"


def test_missing_database(bi_lake):
    with pytest.raises(ClientError) as exc:
        bi_lake.athena().list_table_metadata(CatalogName=CAT, DatabaseName="nodb")
    code, status, message = _err(exc)
    assert (code, status) == ("MetadataException", 400)
    assert message.startswith("Database nodb not found. (Service: AmazonDataCatalog;")
    assert ENVELOPE.search(message).group(1) == "EntityNotFoundException"


def test_other_catalog_and_bad_token_are_invalid_requests(bi_lake):
    athena = bi_lake.athena()
    with pytest.raises(ClientError) as exc:
        athena.list_table_metadata(CatalogName="some_federated", DatabaseName=DB)
    assert _err(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        athena.list_table_metadata(CatalogName=CAT, DatabaseName=DB, NextToken="garbage")
    assert _err(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:  # the model's range is 1-50; botocore sends 51
        athena.list_table_metadata(CatalogName=CAT, DatabaseName=DB, MaxResults=51)
    assert _err(exc) == ("InvalidRequestException", 400, "1 validation error detected: Value '51' at "
                         "'maxResults' failed to satisfy constraint: Member must have value less than or "
                         "equal to 50")


# ============================================================================ IAM
def test_without_athena_catalog_actions_the_data_catalog_is_refused(bi_lake):
    athena = bi_lake.athena("bi-no-catalog-api")
    arn = bi_lake.arns["bi-no-catalog-api"]
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{arn.rsplit('/', 1)[1]}/bi-no-catalog-api-session"
    with pytest.raises(ClientError) as exc:
        athena.list_table_metadata(CatalogName="awsdatacatalog", DatabaseName=DB)
    assert _err(exc) == (
        "AccessDeniedException", 400,
        f"User: {session_arn} is not authorized to perform: athena:ListTableMetadata on resource: "
        f"arn:aws:athena:{REGION}:{ACCOUNT}:datacatalog/awsdatacatalog because no identity-based policy "
        "allows the athena:ListTableMetadata action")
    with pytest.raises(ClientError) as exc:
        athena.get_table_metadata(CatalogName="awsdatacatalog", DatabaseName=DB, TableName="flights")
    assert _err(exc)[0] == "AccessDeniedException" and "athena:GetTableMetadata" in _err(exc)[2]


def test_without_glue_get_tables_athena_relays_glues_denial(bi_lake):
    athena = bi_lake.athena("bi-no-glue")
    with pytest.raises(ClientError) as exc:
        athena.list_table_metadata(CatalogName="awsdatacatalog", DatabaseName=DB)
    code, status, message = _err(exc)
    assert (code, status) == ("MetadataException", 400)
    assert "is not authorized to perform: glue:GetTables on resource: " in message
    assert ENVELOPE.search(message).group(1) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        athena.get_table_metadata(CatalogName="awsdatacatalog", DatabaseName=DB, TableName="flights")
    assert "glue:GetTable on resource: " in _err(exc)[2]


# ============================================================================ Lake Formation
def test_analyst_lists_only_granted_tables_and_columns(bi_lake):
    athena = bi_lake.athena("bi-analyst")
    tables = athena.list_table_metadata(CatalogName="awsdatacatalog", DatabaseName=DB)["TableMetadataList"]
    assert [t["Name"] for t in tables] == ["flights"]  # no grant on airlines
    names = [c["Name"] for c in tables[0]["Columns"]] + [c["Name"] for c in tables[0]["PartitionKeys"]]
    assert names == ["carrier", "flight", "origin", "dest", "dep_delay", "arr_delay", "distance",
                     "time_hour", "month"]  # tailnum excluded by the grant
    assert [d["Name"] for d in athena.list_databases(CatalogName="awsdatacatalog")["DatabaseList"]] == [DB]


def test_analyst_get_table_metadata_of_ungranted_table_is_denied(bi_lake):
    with pytest.raises(ClientError) as exc:
        bi_lake.athena("bi-analyst").get_table_metadata(CatalogName="awsdatacatalog", DatabaseName=DB,
                                                        TableName="airlines")
    code, status, message = _err(exc)
    assert (code, status) == ("MetadataException", 400)
    assert message.startswith("Insufficient Lake Formation permission(s) on airlines (Service: AmazonDataCatalog;")
    assert ENVELOPE.search(message).group(1) == "AccessDeniedException"


def test_principal_without_any_grant_sees_no_database_and_is_refused_its_tables(bi_lake):
    athena = bi_lake.athena("bi-no-grant")
    assert athena.list_databases(CatalogName="awsdatacatalog")["DatabaseList"] == []
    with pytest.raises(ClientError) as exc:
        athena.list_table_metadata(CatalogName="awsdatacatalog", DatabaseName=DB)
    code, status, message = _err(exc)
    assert (code, status) == ("MetadataException", 400)
    assert message.startswith(f"Insufficient Lake Formation permission(s) on {DB} (Service: AmazonDataCatalog;")
