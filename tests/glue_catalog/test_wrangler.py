"""awswrangler 3.17.1's ``wr.catalog`` against the local endpoint, function by function, with
the values Glue gives (awswrangler's own test_catalog.py runs the same calls on AWS)."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.glue_catalog.conftest import ACCOUNT

wr = pytest.importorskip("awswrangler")


@pytest.fixture
def wrangler(cat):
    saved = {k: getattr(wr.config, k) for k in ("glue_endpoint_url", "s3_endpoint_url", "sts_endpoint_url")}
    for k in saved:
        setattr(wr.config, k, cat.url)
    cat.client("s3").create_bucket(Bucket="wr-catalog")
    yield wr
    for k, v in saved.items():
        setattr(wr.config, k, v)


def test_databases_and_tables_lifecycle(wrangler, glue):
    db = "wr_life"
    wr.catalog.create_database(db, description="from wrangler", exist_ok=True)
    wr.catalog.create_database(db, exist_ok=True)
    dbs = wr.catalog.databases()
    assert dbs.set_index("Database").loc[db, "Description"] == "from wrangler"
    assert db in [d["Name"] for d in wr.catalog.get_databases(catalog_id=ACCOUNT)]
    path = "s3://wr-catalog/pq/"
    wr.catalog.create_parquet_table(
        database=db, table="pq", path=path, columns_types={"col0": "int", "col1": "double"},
        partitions_types={"y": "int", "m": "int"}, compression="snappy", description="Foo boo bar",
        parameters={"tag": "test"}, columns_comments={"col0": "my int", "y": "year"})
    wr.catalog.create_csv_table(database=db, table="csv", path="s3://wr-catalog/csv/",
                                columns_types={"c0": "int"}, partitions_types={"p": "string"})
    wr.catalog.create_json_table(database=db, table="js", path="s3://wr-catalog/js/", columns_types={"c0": "int"})
    assert wr.catalog.does_table_exist(database=db, table="pq") is True
    assert wr.catalog.does_table_exist(database=db, table="nope") is False
    assert wr.catalog.get_table_location(database=db, table="pq") == path
    assert wr.catalog.get_table_types(database=db, table="pq") == {"col0": "int", "col1": "double", "y": "int",
                                                                   "m": "int"}
    assert wr.catalog.get_columns_comments(database=db, table="pq") == {"col0": "my int", "col1": None,
                                                                        "y": "year", "m": None}
    assert wr.catalog.get_table_description(database=db, table="pq") == "Foo boo bar"
    assert wr.catalog.get_table_parameters(database=db, table="pq") == {
        "classification": "parquet", "compressionType": "snappy", "typeOfData": "file", "tag": "test",
        "projection.enabled": "false"}
    assert wr.catalog.get_table_parameters(database=db, table="csv")["classification"] == "csv"
    assert wr.catalog.get_table_parameters(database=db, table="js")["classification"] == "json"
    tables = wr.catalog.tables(database=db)
    assert list(tables["Table"]) == ["csv", "js", "pq"]
    assert tables.set_index("Table").loc["pq", "Partitions"] == "y, m"
    detail = wr.catalog.table(database=db, table="pq")
    assert list(detail["Column Name"]) == ["col0", "col1", "y", "m"]
    assert list(detail["Partition"]) == [False, False, True, True]
    assert sorted(t["Name"] for t in wr.catalog.get_tables(database=db, name_prefix="p")) == ["pq"]
    assert sorted(t["Name"] for t in wr.catalog.get_tables(database=db, name_suffix="s")) == ["js"]

    assert wr.catalog.delete_table_if_exists(database=db, table="js") is True
    assert wr.catalog.delete_table_if_exists(database=db, table="js") is False
    wr.catalog.delete_database(db)
    assert db not in list(wr.catalog.databases()["Database"])


def test_search_tables_finds_by_text(wrangler):
    db = "wr_search"
    wr.catalog.create_database(db, exist_ok=True)
    wr.catalog.create_parquet_table(database=db, table="wr_sales", path="s3://wr-catalog/sales/",
                                    columns_types={"amount": "double"})
    wr.catalog.create_csv_table(database=db, table="wr_raw", path="s3://wr-catalog/raw/", columns_types={"c": "int"})
    found = [t["Name"] for t in wr.catalog.search_tables(text="parquet") if t["DatabaseName"] == db]
    assert found == ["wr_sales"]
    df = wr.catalog.tables(database=db, search_text="parquet", name_prefix="wr")
    assert list(df["Table"]) == ["wr_sales"]


def test_parameters_columns_and_versions(wrangler):
    db = "wr_params"
    wr.catalog.create_database(db, exist_ok=True)
    wr.catalog.create_parquet_table(database=db, table="t", path="s3://wr-catalog/t/", columns_types={"c0": "int"},
                                    parameters={"a": "1", "b": "2"})
    assert wr.catalog.get_table_number_of_versions(database=db, table="t") == 1
    pars = wr.catalog.upsert_table_parameters(parameters={"a": "0", "c": "3"}, database=db, table="t")
    assert (pars["a"], pars["b"], pars["c"]) == ("0", "2", "3")
    assert wr.catalog.get_table_parameters(database=db, table="t")["c"] == "3"
    assert wr.catalog.overwrite_table_parameters(parameters={"d": "4"}, database=db, table="t") == {"d": "4"}
    assert wr.catalog.get_table_parameters(database=db, table="t") == {"d": "4"}
    # catalog_versioning=False (the default) sends SkipArchive=True: still one version
    assert wr.catalog.get_table_number_of_versions(database=db, table="t") == 1
    wr.catalog.upsert_table_parameters(parameters={"e": "5"}, database=db, table="t", catalog_versioning=True)
    assert wr.catalog.get_table_number_of_versions(database=db, table="t") == 2
    versions = wr.catalog.get_table_versions(database=db, table="t")
    assert [v["VersionId"] for v in versions] == ["3", "2"]  # created 0, then 1 and 2 unarchived
    assert versions[1]["Table"]["Parameters"] == {"d": "4"}

    wr.catalog.add_column(database=db, table="t", column_name="c1", column_type="string", column_comment="new")
    assert wr.catalog.get_table_types(database=db, table="t") == {"c0": "int", "c1": "string"}
    assert wr.catalog.get_columns_comments(database=db, table="t")["c1"] == "new"
    wr.catalog.delete_column(database=db, table="t", column_name="c1")
    assert wr.catalog.get_table_types(database=db, table="t") == {"c0": "int"}
    with pytest.raises(wr.exceptions.InvalidTable):
        wr.catalog.overwrite_table_parameters({"foo": "boo"}, db, "fake_table")


def test_partitions(wrangler):
    db, path = "wr_parts", "s3://wr-catalog/parts/"
    wr.catalog.create_database(db, exist_ok=True)
    wr.catalog.create_parquet_table(database=db, table="t", path=path, columns_types={"c0": "int"},
                                    partitions_types={"y": "int", "m": "int"}, compression="snappy")
    wr.catalog.add_parquet_partitions(database=db, table="t", compression="snappy", partitions_values={
        f"{path}y=2020/m=1/": ["2020", "1"], f"{path}y=2021/m=2/": ["2021", "2"]})
    both = {f"{path}y=2020/m=1/": ["2020", "1"], f"{path}y=2021/m=2/": ["2021", "2"]}
    assert wr.catalog.get_parquet_partitions(database=db, table="t") == both
    assert wr.catalog.get_partitions(database=db, table="t") == both
    assert wr.catalog.get_partitions(database=db, table="t", expression="y = 2021 AND m = 2") == {
        f"{path}y=2021/m=2/": ["2021", "2"]}
    wr.catalog.create_csv_table(database=db, table="c", path="s3://wr-catalog/c/", columns_types={"v": "int"},
                                partitions_types={"p": "string"})
    wr.catalog.add_csv_partitions(database=db, table="c", partitions_values={"s3://wr-catalog/c/p=a/": ["a"]})
    assert wr.catalog.get_csv_partitions(database=db, table="c") == {"s3://wr-catalog/c/p=a/": ["a"]}
    wr.catalog.delete_partitions(database=db, table="t", partitions_values=[["2020", "1"]])
    assert list(wr.catalog.get_partitions(database=db, table="t")) == [f"{path}y=2021/m=2/"]
    assert wr.catalog.delete_all_partitions(database=db, table="t") == [["2021", "2"]]
    assert wr.catalog.get_partitions(database=db, table="t") == {}


def test_to_parquet_catalog_versioning_counts_as_on_aws(wrangler):
    """awswrangler's test_catalog_versioning (run against AWS): SkipArchive keeps one version."""
    db, path = "wr_versioning", "s3://wr-catalog/versioning/"
    wr.catalog.create_database(db, exist_ok=True)
    wr.s3.to_parquet(df=pd.DataFrame({"c0": [1, 2]}), path=path, dataset=True, database=db, table="t",
                     mode="overwrite")
    assert wr.catalog.get_table_number_of_versions(table="t", database=db) == 1
    wr.s3.to_parquet(df=pd.DataFrame({"c1": ["foo", "boo"]}), path=path, dataset=True, database=db, table="t",
                     mode="overwrite", catalog_versioning=True)
    assert wr.catalog.get_table_number_of_versions(table="t", database=db) == 2
    wr.s3.to_parquet(df=pd.DataFrame({"c2": [True]}), path=path, dataset=True, database=db, table="t",
                     mode="overwrite", catalog_versioning=False)
    assert wr.catalog.get_table_number_of_versions(table="t", database=db) == 2
    assert wr.catalog.get_table_types(database=db, table="t") == {"c2": "boolean"}
