"""Glue SearchTables: Filters, SearchText, SortCriteria, paging, ResourceShareType and what
Lake Formation lets the caller see."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lakekit.local.glue import search
from tests.glue_catalog.conftest import ACCOUNT, REGION, table_input
from tests.iam.roles import service_role


# ----------------------------------------------------------------------------- matching (unit)
def test_name_filter_is_the_documented_token_match():
    names = ["customer-link", "xx-link-yy", "xxlinkyy", "link"]
    got = [n for n in names if search.matches_filter({"Name": n}, {"Key": "Name", "Value": "link"})]
    assert got == ["customer-link", "xx-link-yy", "link"]
    assert search.tokens("a:b#c d.e-f_g") == ["a", "b", "c", "d", "e", "f_g"]


def test_time_filters_compare_and_refuse_what_is_not_a_time():
    t = {"UpdateTime": 1_700_000_000.5}
    assert search.matches_filter(t, {"Key": "UpdateTime", "Value": "1700000000", "Comparator": "GREATER_THAN"})
    assert not search.matches_filter(t, {"Key": "UpdateTime", "Value": "1700000000500", "Comparator": "LESS_THAN"})
    assert search.matches_filter(t, {"Key": "UpdateTime", "Value": "2023-11-14T22:13:20.500Z"})
    with pytest.raises(search.SearchInputError, match="not a time"):
        search.matches_filter(t, {"Key": "UpdateTime", "Value": "yesterday"})
    with pytest.raises(search.SearchInputError, match="Comparator"):
        search.matches_filter(t, {"Key": "UpdateTime", "Value": "1", "Comparator": "LIKE"})


def test_search_text_words_quotes_and_wildcards():
    t = {"Name": "orders_2024", "Description": "Daily orders", "Parameters": {"classification": "parquet"},
         "StorageDescriptor": {"Columns": [{"Name": "amount", "Type": "double", "Comment": "in euros"}]}}
    assert search.matches_text(t, "parquet") and search.matches_text(t, "daily euros")
    assert not search.matches_text(t, "daily dollars")
    assert search.matches_text(t, '"daily orders"') and not search.matches_text(t, '"daily"')
    assert search.matches_text(t, "ord*") and search.matches_text(t, "*") and search.matches_text(t, None)
    assert not search.matches_text({"Name": "orders_2024"}, "orders")  # orders_2024 is one token


def test_sort_criteria_apply_in_order_missing_last():
    rows = [{"Name": "b", "Owner": "x"}, {"Name": "a"}, {"Name": "c", "Owner": "x"}, {"Name": "d", "Owner": "w"}]
    out = search.sort_tables(rows, [{"FieldName": "Owner", "Sort": "ASC"}, {"FieldName": "Name", "Sort": "DESC"}])
    assert [r["Name"] for r in out] == ["d", "c", "b", "a"]


# ----------------------------------------------------------------------------- through the endpoint
@pytest.fixture
def three(glue, db):
    glue.create_table(DatabaseName=db, TableInput=table_input("customer-link", description="crm links"))
    glue.create_table(DatabaseName=db, TableInput=table_input("xx-link-yy", fmt="csv"))
    glue.create_table(DatabaseName=db, TableInput=table_input("xxlinkyy", {"id": "bigint", "iban": "string"}))
    return db


def _names(resp) -> list[str]:
    return [t["Name"] for t in resp["TableList"]]


def test_filters_by_name_database_and_parameter(glue, three):
    db = three
    f_db = {"Key": "DatabaseName", "Value": db}
    assert _names(glue.search_tables(Filters=[f_db, {"Key": "Name", "Value": "link"}])) == [
        "customer-link", "xx-link-yy"]
    assert _names(glue.search_tables(Filters=[f_db, {"Key": "classification", "Value": "csv"}])) == ["xx-link-yy"]
    assert _names(glue.search_tables(Filters=[f_db])) == ["customer-link", "xx-link-yy", "xxlinkyy"]
    created = glue.get_table(DatabaseName=db, Name="xx-link-yy")["Table"]["CreateTime"]
    later = glue.search_tables(Filters=[f_db, {"Key": "CreateTime", "Value": str(int(created.timestamp() * 1000)),
                                               "Comparator": "GREATER_THAN_EQUALS"}])
    assert _names(later) == ["xx-link-yy", "xxlinkyy"]


def test_search_text_sort_and_pages(glue, three):
    db = three
    f_db = [{"Key": "DatabaseName", "Value": db}]
    assert _names(glue.search_tables(Filters=f_db, SearchText="iban")) == ["xxlinkyy"]
    assert _names(glue.search_tables(Filters=f_db, SearchText="crm")) == ["customer-link"]
    assert _names(glue.search_tables(Filters=f_db, SearchText="parquet")) == ["customer-link", "xxlinkyy"]
    desc = glue.search_tables(Filters=f_db, SortCriteria=[{"FieldName": "Name", "Sort": "DESC"}], MaxResults=2)
    assert _names(desc) == ["xxlinkyy", "xx-link-yy"] and desc["NextToken"]
    rest = glue.search_tables(Filters=f_db, SortCriteria=[{"FieldName": "Name", "Sort": "DESC"}], MaxResults=2,
                              NextToken=desc["NextToken"])
    assert _names(rest) == ["customer-link"] and "NextToken" not in rest
    t = glue.search_tables(Filters=f_db, SearchText="crm")["TableList"][0]
    assert t == glue.get_table(DatabaseName=db, Name="customer-link")["Table"]


def test_resource_share_type_and_refusals(glue, three):
    f_db = [{"Key": "DatabaseName", "Value": three}]
    assert _names(glue.search_tables(Filters=f_db, ResourceShareType="FOREIGN")) == []
    assert len(_names(glue.search_tables(Filters=f_db, ResourceShareType="ALL"))) == 3
    for kwargs in ({"Filters": [{"Key": "UpdateTime", "Value": "soon"}]},
                   {"Filters": [{"Key": "Name", "Value": "x", "Comparator": "LIKE"}]},
                   {"SortCriteria": [{"Sort": "ASC"}]}, {"MaxResults": 1001}, {"NextToken": "garbage"}):
        with pytest.raises(ClientError) as e:
            glue.search_tables(**kwargs)
        assert e.value.response["Error"]["Code"] == "InvalidInputException", kwargs


def test_results_are_what_lake_formation_lets_the_caller_see(cat, glue):
    db = "cat_governed"
    glue.create_database(DatabaseInput={"Name": db, "CreateTableDefaultPermissions": []})
    glue.create_table(DatabaseName=db, TableInput=table_input("granted", {"id": "bigint", "secret": "string"}))
    glue.create_table(DatabaseName=db, TableInput=table_input("hidden"))
    arn = f"arn:aws:iam::{ACCOUNT}:role/catalog-searcher"
    service_role(cat, arn, None, trusted={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, statements=[
        {"Action": ["glue:SearchTables", "glue:GetTables"], "Resource": [f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
                                                        f"arn:aws:glue:{REGION}:{ACCOUNT}:database/*",
                                                        f"arn:aws:glue:{REGION}:{ACCOUNT}:table/*/*"]}])
    cat.client("lakeformation").grant_permissions(
        Principal={"DataLakePrincipalIdentifier": arn},
        Resource={"TableWithColumns": {"DatabaseName": db, "Name": "granted", "ColumnNames": ["id"]}},
        Permissions=["SELECT"])
    creds = cat.client("sts").assume_role(RoleArn=arn, RoleSessionName="searcher")["Credentials"]
    role_glue = cat.client("glue", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                           session_token=creds["SessionToken"])
    f_db = [{"Key": "DatabaseName", "Value": db}]
    seen = role_glue.search_tables(Filters=f_db)["TableList"]
    assert [t["Name"] for t in seen] == ["granted"]
    assert [c["Name"] for c in seen[0]["StorageDescriptor"]["Columns"]] == ["id"]
    assert role_glue.search_tables(Filters=f_db, SearchText="secret")["TableList"] == []
    assert _names(glue.search_tables(Filters=f_db)) == ["granted", "hidden"]  # the creator sees both


def test_get_tables_is_not_filtered_by_lake_formation_locally(cat, glue):
    """Ledger pin: on AWS GetTables lists only the tables the caller holds LF permissions on;
    locally it lists every table IAM allows (SearchTables is filtered)."""
    db = "cat_governed_list"
    glue.create_database(DatabaseInput={"Name": db, "CreateTableDefaultPermissions": []})
    glue.create_table(DatabaseName=db, TableInput=table_input("hidden"))
    arn = f"arn:aws:iam::{ACCOUNT}:role/catalog-lister"
    service_role(cat, arn, None, trusted={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, statements=[
        {"Action": ["glue:SearchTables", "glue:GetTables"], "Resource": ["*"]}])
    creds = cat.client("sts").assume_role(RoleArn=arn, RoleSessionName="lister")["Credentials"]
    role_glue = cat.client("glue", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                           session_token=creds["SessionToken"])
    assert _names(role_glue.get_tables(DatabaseName=db)) == ["hidden"]
    assert _names(role_glue.search_tables(Filters=[{"Key": "DatabaseName", "Value": db}])) == []
