"""Implicit Lake Formation permissions as the Developer Guide documents them.

Data lake administrators: DESCRIBE on everything and may grant anything (to themselves too),
but no data access without a grant. Creators: ALL with grant option on what they create
(a crawler's tables belong to the crawler's role). Anyone else may not grant.
"""
from __future__ import annotations

import pytest
from _waits import crawler_ready
from botocore.exceptions import ClientError

from lakekit.local.athena import AthenaQueryError
from lakekit.local.lakeformation.evaluator import evaluator

from .conftest import ACCOUNT, BUCKET, DEPLOYER, GLUE_TYPES, IAM_DB, REGION, _table_input

IAM = {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}
NOT_AUTHORIZED = "Resource does not exist or requester is not authorized to access requested permissions."


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _as(gov, role: str, service: str):
    """A client of the endpoint with the assumed role's credentials."""
    from lakekit.local._clients import endpoint_client

    return endpoint_client(gov.endpoint.url, service, REGION, gov.keys[role])


@pytest.fixture
def etl_table(gov):
    """``lf_iam.etl_flights``, created by the ``etl`` role in a database still in IAM mode."""
    glue = _as(gov, "etl", "glue")
    glue.create_table(DatabaseName=IAM_DB, TableInput=_table_input("etl_flights", GLUE_TYPES,
                                                                   f"s3://{BUCKET}/flights/"))
    yield {"Table": {"DatabaseName": IAM_DB, "Name": "etl_flights"}}
    gov.client("glue").delete_table(DatabaseName=IAM_DB, Name="etl_flights")


def test_admin_without_select_is_denied_once_iam_allowed_principals_is_revoked(gov, etl_table):
    lf = gov.client("lakeformation")
    n = len(gov.flights)
    assert gov.query("SELECT count(*) AS n FROM etl_flights", None, IAM_DB).n[0] == n  # IAM governs
    lf.revoke_permissions(Principal=IAM, Resource=etl_table, Permissions=["ALL"])
    admin = evaluator(ACCOUNT, "test", REGION, gov.endpoint.url)
    assert admin.is_admin() and admin.can_see_table(IAM_DB, "etl_flights")  # DESCRIBE: listed
    with pytest.raises(AthenaQueryError) as failed:
        gov.query("SELECT count(*) AS n FROM etl_flights", None, IAM_DB)
    assert failed.value.error_type == "PERMISSION_DENIED"
    assert failed.value.message.startswith(
        "PERMISSION_DENIED: Insufficient permissions to execute the query. Insufficient Lake Formation "
        f"permission(s) on etl_flights (database {IAM_DB}): principal {DEPLOYER} holds no SELECT on it.")
    # an admin may grant itself SELECT, and then reads
    lf.grant_permissions(Principal={"DataLakePrincipalIdentifier": DEPLOYER}, Resource=etl_table,
                         Permissions=["SELECT"])
    assert gov.query("SELECT count(*) AS n FROM etl_flights", None, IAM_DB).n[0] == n
    # the creator keeps ALL with grant option
    got = lf.list_permissions(Principal=gov.principal("etl"), Resource=etl_table)["PrincipalResourcePermissions"]
    assert [(g["Permissions"], g["PermissionsWithGrantOption"]) for g in got] == [(["ALL"], ["ALL"])]
    assert gov.query("SELECT count(*) AS n FROM etl_flights", "etl", IAM_DB).n[0] == n


def test_a_non_admin_cannot_grant_but_the_creator_can(gov, etl_table):
    lf = gov.client("lakeformation")
    lf.revoke_permissions(Principal=IAM, Resource=etl_table, Permissions=["ALL"])
    none = _as(gov, "analyst-none", "lakeformation")
    for resource in (etl_table, {"Database": {"Name": IAM_DB}},
                     {"Table": {"DatabaseName": IAM_DB, "Name": "no_such_table"}}):
        perms = ["DESCRIBE"] if "Database" in resource else ["SELECT"]
        with pytest.raises(ClientError) as exc:
            none.grant_permissions(Principal=gov.principal("analyst-none"), Resource=resource, Permissions=perms)
        code, message, status = _err(exc)
        assert (code, status) == ("AccessDeniedException", 400) and message.startswith(NOT_AUTHORIZED), resource
        assert gov.arns["analyst-none"] in message
    with pytest.raises(ClientError) as exc:  # revoking is granting's twin
        none.revoke_permissions(Principal=IAM, Resource={"Table": {"DatabaseName": IAM_DB, "Name": "flights_open"}},
                                Permissions=["ALL"])
    assert _err(exc)[0] == "AccessDeniedException"
    assert lf.list_permissions(Principal=gov.principal("analyst-none"), Resource=etl_table)[
        "PrincipalResourcePermissions"] == []
    with pytest.raises(AthenaQueryError):
        gov.query("SELECT count(*) FROM etl_flights", "analyst-none", IAM_DB)
    # the creator holds ALL with grant option on its table: it may grant SELECT on it ...
    _as(gov, "etl", "lakeformation").grant_permissions(
        Principal=gov.principal("analyst-none"), Resource=etl_table, Permissions=["SELECT"])
    assert gov.query("SELECT count(*) AS n FROM etl_flights", "analyst-none", IAM_DB).n[0] == len(gov.flights)
    # ... but nothing on a table it did not create
    with pytest.raises(ClientError) as exc:
        _as(gov, "etl", "lakeformation").grant_permissions(
            Principal=gov.principal("analyst-none"), Permissions=["SELECT"],
            Resource={"Table": {"DatabaseName": IAM_DB, "Name": "flights_open"}})
    assert _err(exc)[0] == "AccessDeniedException"
    # a grantee with the grant option may pass the permission on, one without may not
    lf.grant_permissions(Principal=gov.principal("analyst-tags"), Resource=etl_table, Permissions=["SELECT"],
                         PermissionsWithGrantOption=["SELECT"])
    _as(gov, "analyst-tags", "lakeformation").grant_permissions(
        Principal=gov.principal("analyst-full"), Resource=etl_table, Permissions=["SELECT"])
    with pytest.raises(ClientError) as exc:
        _as(gov, "analyst-full", "lakeformation").grant_permissions(
            Principal=gov.principal("analyst-restricted"), Resource=etl_table, Permissions=["SELECT"])
    assert _err(exc)[0] == "AccessDeniedException"


def test_a_crawled_table_belongs_to_the_crawler_role(gov):
    glue, lf = gov.client("glue"), gov.client("lakeformation")
    db = "lf_crawled"
    role = gov.arns["etl"]
    glue.create_database(DatabaseInput={"Name": db, "CreateTableDefaultPermissions": []})  # LF mode
    try:
        glue.create_crawler(Name="lf-crawler", Role=role, DatabaseName=db,
                            Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/airlines/"}]})
        glue.start_crawler(Name="lf-crawler")  # started by the deployer, runs as its role
        assert crawler_ready(glue, "lf-crawler")["LastCrawl"]["Status"] == "SUCCEEDED"
        assert [t["Name"] for t in glue.get_tables(DatabaseName=db)["TableList"]] == ["airlines"]
        airlines = {"Table": {"DatabaseName": db, "Name": "airlines"}}
        listed = lf.list_permissions(Resource=airlines)["PrincipalResourcePermissions"]
        assert [(g["Principal"]["DataLakePrincipalIdentifier"], g["Permissions"]) for g in listed] == [
            (role, ["ALL"])]
        got = gov.query("SELECT count(*) AS n FROM airlines", "etl", db)
        assert got.n[0] == len(gov.airlines)
        for who in (None, "analyst-none"):  # the deployer (admin, database creator) and anyone else
            with pytest.raises(AthenaQueryError) as failed:
                gov.query("SELECT count(*) FROM airlines", who, db)
            assert failed.value.error_type == "PERMISSION_DENIED", who
    finally:
        glue.delete_crawler(Name="lf-crawler")
        for t in glue.get_tables(DatabaseName=db)["TableList"]:
            glue.delete_table(DatabaseName=db, Name=t["Name"])
        glue.delete_database(Name=db)


def test_a_ctas_table_belongs_to_its_caller(gov, etl_table):
    """A table created through Athena (here: the engine with the etl role's glue client) is its caller's."""
    from lakekit.local.athena import QueryEngine

    engine = QueryEngine(_as(gov, "etl", "glue"), _as(gov, "etl", "s3"), gov.endpoint.url, REGION)
    engine.execute(f"CREATE TABLE etl_copy WITH (format = 'PARQUET', external_location = "
                   f"'s3://{BUCKET}/etl_copy/') AS SELECT carrier FROM etl_flights", IAM_DB,
                   access=gov.hook("etl"))
    try:
        lf = gov.client("lakeformation")
        copy = {"Table": {"DatabaseName": IAM_DB, "Name": "etl_copy"}}
        listed = lf.list_permissions(Principal=gov.principal("etl"), Resource=copy)["PrincipalResourcePermissions"]
        assert [g["Permissions"] for g in listed] == [["ALL"]]
    finally:
        gov.client("glue").delete_table(DatabaseName=IAM_DB, Name="etl_copy")


def test_lake_formation_reads_its_catalog_itself_not_with_the_grantors_glue_permissions(gov, etl_table):
    """GrantPermissions needs lakeformation:GrantPermissions (IAM) and the grant option (LF); Lake
    Formation checks that the table exists itself. analyst-tags has no glue permission at all."""
    lf = gov.client("lakeformation")
    with pytest.raises(ClientError) as exc:
        _as(gov, "analyst-tags", "glue").get_table(DatabaseName=IAM_DB, Name="etl_flights")
    assert _err(exc)[0] == "AccessDeniedException"
    lf.grant_permissions(Principal=gov.principal("analyst-tags"), Resource=etl_table, Permissions=["SELECT"],
                         PermissionsWithGrantOption=["SELECT"])
    _as(gov, "analyst-tags", "lakeformation").grant_permissions(   # was EntityNotFoundException
        Principal=gov.principal("analyst-restricted"), Resource=etl_table, Permissions=["SELECT"])
    listed = lf.list_permissions(Principal=gov.principal("analyst-restricted"),
                                 Resource=etl_table)["PrincipalResourcePermissions"]
    assert [g["Permissions"] for g in listed] == [["SELECT"]]
    # a table that does not exist: EntityNotFoundException for the admin, and for anyone else the
    # one denial that does not tell a missing resource from a forbidden one
    missing = {"Table": {"DatabaseName": IAM_DB, "Name": "no_such_table"}}
    for client, expected in ((lf, "EntityNotFoundException"),
                             (_as(gov, "analyst-tags", "lakeformation"), "AccessDeniedException")):
        with pytest.raises(ClientError) as exc:
            client.grant_permissions(Principal=gov.principal("analyst-restricted"), Permissions=["SELECT"],
                                     Resource=missing)
        code, message, status = _err(exc)
        assert (code, status) == (expected, 400)
        assert message.startswith(f"Table {IAM_DB}.no_such_table not found in the Data Catalog"
                                  if expected == "EntityNotFoundException" else NOT_AUTHORIZED)
