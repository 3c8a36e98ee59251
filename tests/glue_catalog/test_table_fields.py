"""The fields of a Glue ``Table`` as Glue returns them (GetTable, GetTables, versions)."""
from __future__ import annotations

from tests.glue_catalog.conftest import ACCOUNT, BOOTSTRAP_ARN, REGION, table_input
from tests.iam.roles import service_role


def test_table_fields_as_glue_returns_them(glue, db):
    ti = table_input("t", parameters={"classification": "parquet", "owner_team": "finance"},
                     description="sales")
    glue.create_table(DatabaseName=db, TableInput=ti)
    t = glue.get_table(DatabaseName=db, Name="t")["Table"]
    assert t["Parameters"] == {"classification": "parquet", "owner_team": "finance"}  # as stored
    assert (t["Name"], t["DatabaseName"], t["CatalogId"], t["VersionId"]) == ("t", db, ACCOUNT, "0")
    assert t["CreatedBy"] == BOOTSTRAP_ARN
    assert t["IsRegisteredWithLakeFormation"] is False
    assert t["Retention"] == 0 and t["Description"] == "sales" and t["TableType"] == "EXTERNAL_TABLE"
    assert t["UpdateTime"] == t["CreateTime"]
    listed = glue.get_tables(DatabaseName=db)["TableList"]
    assert listed == [t]
    version = glue.get_table_versions(DatabaseName=db, TableName="t")["TableVersions"][0]["Table"]
    assert version == t


def test_update_replaces_parameters_and_keeps_the_creation_fields(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t", parameters={"a": "1", "b": "2"}))
    created = glue.get_table(DatabaseName=db, Name="t")["Table"]
    glue.update_table(DatabaseName=db, TableInput=table_input("t", parameters={"d": "4"}), SkipArchive=True)
    t = glue.get_table(DatabaseName=db, Name="t")["Table"]
    assert t["Parameters"] == {"d": "4"}
    assert t["CreateTime"] == created["CreateTime"] and t["CreatedBy"] == created["CreatedBy"]
    assert t["UpdateTime"] >= created["UpdateTime"]


def test_created_by_an_assumed_role_is_its_session_arn(cat, glue, db):
    arn = f"arn:aws:iam::{ACCOUNT}:role/catalog-writer"
    service_role(cat, arn, None, trusted={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, statements=[
        {"Action": ["glue:CreateTable", "glue:GetTable"],
         "Resource": [f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/{db}",
                      f"arn:aws:glue:{REGION}:{ACCOUNT}:table/{db}/*"]}])
    creds = cat.client("sts").assume_role(RoleArn=arn, RoleSessionName="writer-1")["Credentials"]
    role_glue = cat.client("glue", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                           session_token=creds["SessionToken"])
    role_glue.create_table(DatabaseName=db, TableInput=table_input("by_role"))
    t = role_glue.get_table(DatabaseName=db, Name="by_role")["Table"]
    assert t["CreatedBy"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/catalog-writer/writer-1"


def test_is_registered_with_lake_formation_follows_the_registered_locations(cat, glue, db):
    lf = cat.client("lakeformation")
    lf.register_resource(ResourceArn="arn:aws:s3:::catalog-registered/lake", UseServiceLinkedRole=True)
    try:
        glue.create_table(DatabaseName=db, TableInput=table_input(
            "inside", location="s3://catalog-registered/lake/inside/"))
        glue.create_table(DatabaseName=db, TableInput=table_input(
            "beside", location="s3://catalog-registered/lakehouse/beside/"))
        got = {t["Name"]: t["IsRegisteredWithLakeFormation"] for t in glue.get_tables(DatabaseName=db)["TableList"]}
        assert got == {"inside": True, "beside": False}
    finally:
        lf.deregister_resource(ResourceArn="arn:aws:s3:::catalog-registered/lake")
    assert glue.get_table(DatabaseName=db, Name="inside")["Table"]["IsRegisteredWithLakeFormation"] is False


def test_names_are_kept_as_given_locally(glue, db):
    """Ledger pin: Glue stores table names in lower case ("For Hive compatibility"); moto keeps
    the case the caller used."""
    glue.create_table(DatabaseName=db, TableInput=table_input("MixedCase"))
    assert [t["Name"] for t in glue.get_tables(DatabaseName=db)["TableList"]] == ["MixedCase"]
