"""Table versions as Glue numbers and keeps them: UpdateTable SkipArchive / VersionId,
GetTableVersion(s), DeleteTableVersion, BatchDeleteTableVersion, and their persistence."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.glue_catalog.conftest import table_input


def _versions(glue, db, name) -> list[str]:
    pages = glue.get_paginator("get_table_versions").paginate(DatabaseName=db, TableName=name)
    return [v["VersionId"] for page in pages for v in page["TableVersions"]]


def _columns(table) -> list[str]:
    return [c["Name"] for c in table["StorageDescriptor"]["Columns"]]


def test_a_new_table_is_version_0_updated_when_created(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t"))
    t = glue.get_table(DatabaseName=db, Name="t")["Table"]
    assert t["VersionId"] == "0"
    assert t["UpdateTime"] == t["CreateTime"]
    assert _versions(glue, db, "t") == ["0"]


def test_skip_archive_keeps_no_old_version_but_advances_the_version_id(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t"))
    glue.update_table(DatabaseName=db, TableInput=table_input("t", {"id": "bigint", "b": "string"}),
                      SkipArchive=True)
    assert _versions(glue, db, "t") == ["1"]
    t = glue.get_table(DatabaseName=db, Name="t")["Table"]
    assert t["VersionId"] == "1" and _columns(t) == ["id", "b"]
    assert t["UpdateTime"] >= t["CreateTime"]

    glue.update_table(DatabaseName=db, TableInput=table_input("t", {"id": "bigint", "c": "int"}))
    assert _versions(glue, db, "t") == ["2", "1"]  # newest first, the archived one kept
    old = glue.get_table_version(DatabaseName=db, TableName="t", VersionId="1")["TableVersion"]
    assert old["VersionId"] == "1" and _columns(old["Table"]) == ["id", "b"]
    assert old["Table"]["VersionId"] == "1"


def test_version_id_is_an_optimistic_check(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t"))
    glue.update_table(DatabaseName=db, TableInput=table_input("t", {"x": "int"}), VersionId="0")
    with pytest.raises(ClientError) as e:
        glue.update_table(DatabaseName=db, TableInput=table_input("t", {"y": "int"}), VersionId="0")
    err = e.value.response
    assert err["Error"]["Code"] == "ConcurrentModificationException"
    assert err["Error"]["Message"] == "Update table failed due to concurrent modifications."
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    t = glue.get_table(DatabaseName=db, Name="t")["Table"]
    assert t["VersionId"] == "1" and _columns(t) == ["x"]


def test_update_of_a_missing_table_is_entity_not_found(glue, db):
    with pytest.raises(ClientError) as e:
        glue.update_table(DatabaseName=db, TableInput=table_input("nope"))
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert e.value.response["Error"]["Message"] == "Table nope not found."


def test_get_table_version_defaults_to_the_current_one(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t"))
    glue.update_table(DatabaseName=db, TableInput=table_input("t", {"x": "int"}))
    cur = glue.get_table_version(DatabaseName=db, TableName="t")["TableVersion"]
    assert cur["VersionId"] == "1" and _columns(cur["Table"]) == ["x"]
    with pytest.raises(ClientError) as e:
        glue.get_table_version(DatabaseName=db, TableName="t", VersionId="7")
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"
    with pytest.raises(ClientError) as e:
        glue.get_table_version(DatabaseName=db, TableName="t", VersionId="latest")
    assert e.value.response["Error"]["Code"] == "InvalidInputException"


def test_delete_table_version_removes_archived_versions_only(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t"))
    glue.update_table(DatabaseName=db, TableInput=table_input("t", {"x": "int"}))
    with pytest.raises(ClientError) as e:
        glue.delete_table_version(DatabaseName=db, TableName="t", VersionId="1")
    assert e.value.response["Error"]["Code"] == "InvalidInputException"
    assert "current version" in e.value.response["Error"]["Message"]
    glue.delete_table_version(DatabaseName=db, TableName="t", VersionId="0")
    assert _versions(glue, db, "t") == ["1"]
    with pytest.raises(ClientError) as e:
        glue.delete_table_version(DatabaseName=db, TableName="t", VersionId="0")
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert _columns(glue.get_table(DatabaseName=db, Name="t")["Table"]) == ["x"]


def test_batch_delete_table_version_reports_each_failure(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t"))
    for cols in ({"a": "int"}, {"b": "int"}, {"c": "int"}):
        glue.update_table(DatabaseName=db, TableInput=table_input("t", cols))
    out = glue.batch_delete_table_version(DatabaseName=db, TableName="t", VersionIds=["0", "1"])
    assert out["Errors"] == []
    out = glue.batch_delete_table_version(DatabaseName=db, TableName="t", VersionIds=["2", "3", "9"])
    assert [(e["VersionId"], e["ErrorDetail"]["ErrorCode"]) for e in out["Errors"]] == [
        ("3", "InvalidInputException"), ("9", "EntityNotFoundException")]
    assert all(e["TableName"] == "t" for e in out["Errors"])
    assert _versions(glue, db, "t") == ["3"]


def test_table_versions_and_tables_page(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("t"))
    for cols in ({"a": "int"}, {"b": "int"}):
        glue.update_table(DatabaseName=db, TableInput=table_input("t", cols))
    first = glue.get_table_versions(DatabaseName=db, TableName="t", MaxResults=2)
    assert [v["VersionId"] for v in first["TableVersions"]] == ["2", "1"]
    rest = glue.get_table_versions(DatabaseName=db, TableName="t", MaxResults=2, NextToken=first["NextToken"])
    assert [v["VersionId"] for v in rest["TableVersions"]] == ["0"] and "NextToken" not in rest
    with pytest.raises(ClientError) as e:
        glue.get_table_versions(DatabaseName=db, TableName="t", MaxResults=101)
    assert e.value.response["Error"]["Code"] == "InvalidInputException"

    for name in ("v", "u"):
        glue.create_table(DatabaseName=db, TableInput=table_input(name))
    page = glue.get_tables(DatabaseName=db, MaxResults=2)
    assert [t["Name"] for t in page["TableList"]] == ["t", "u"] and page["NextToken"]  # by name
    names = [t["Name"] for p in glue.get_paginator("get_tables").paginate(DatabaseName=db, PaginationConfig={
        "PageSize": 2}) for t in p["TableList"]]
    assert names == ["t", "u", "v"]
    assert [t["Name"] for t in glue.get_tables(DatabaseName=db, Expression="u.*")["TableList"]] == ["u"]


def test_versions_and_fields_survive_a_restart(fresh_endpoint):
    glue = fresh_endpoint.client("glue")
    glue.create_database(DatabaseInput={"Name": "keep"})
    glue.create_table(DatabaseName="keep", TableInput=table_input("t"))
    glue.update_table(DatabaseName="keep", TableInput=table_input("t", {"a": "int"}), SkipArchive=True)
    glue.update_table(DatabaseName="keep", TableInput=table_input("t", {"b": "int"}))
    before = glue.get_table(DatabaseName="keep", Name="t")["Table"]
    assert fresh_endpoint.stop() is True
    fresh_endpoint.start()
    glue = fresh_endpoint.client("glue")
    after = glue.get_table(DatabaseName="keep", Name="t")["Table"]
    assert after == before
    assert after["VersionId"] == "2" and after["CreatedBy"] == before["CreatedBy"]
    assert _versions(glue, "keep", "t") == ["2", "1"]
    glue.update_table(DatabaseName="keep", TableInput=table_input("t", {"c": "int"}), VersionId="2",
                      SkipArchive=True)
    assert _versions(glue, "keep", "t") == ["3", "1"]
