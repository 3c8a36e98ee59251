"""Crawler engine against a bare moto server: tables, partitions, policies, versions."""

from __future__ import annotations

import gzip
import io
import json
import time

import awswrangler as wr
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import DATA, make_crawler, write_partitioned

from lakekit.local.glue.crawler import Crawl, run_crawl
from lakekit.local.glue.schema import arrow_schema_to_columns

PARQUET_IN = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


@pytest.fixture(scope="module")
def january(flights_all) -> pa.Table:
    """Real flights of January 2013 (31 days, 27,004 rows)."""
    return flights_all.filter(pc.equal(flights_all["month"], 1))


def _data_columns(table: pa.Table) -> list[tuple[str, str]]:
    return arrow_schema_to_columns(table.drop_columns(["year", "month", "day"]).schema)


def _versions(glue, db, name) -> list[str]:
    return sorted(
        (
            v["VersionId"]
            for v in glue.get_table_versions(DatabaseName=db, TableName=name)["TableVersions"]
        ),
        key=int,
    )


def _partitions(glue, db, name) -> list[dict]:
    out = []
    for page in glue.get_paginator("get_partitions").paginate(DatabaseName=db, TableName=name):
        out += page["Partitions"]
    return out


def test_crawl_partitioned_flights(glue, s3, s3fs, moto_url, names, january):
    bucket, db = names
    write_partitioned(january, s3fs, f"{bucket}/flights")
    s3.put_object(Bucket=bucket, Key="flights/_SUCCESS", Body=b"")
    s3.put_object(
        Bucket=bucket, Key="flights/year=2013/month=1/day=1/.part-0.parquet.crc", Body=b"x"
    )
    crawler = make_crawler(glue, db, [f"s3://{bucket}/flights/"])

    res = run_crawl(glue, s3, moto_url, crawler)

    assert res.error is None and res.status == "SUCCEEDED"
    assert res.tables_created == ["flights"] and res.tables_updated == []
    assert res.partitions_created == 31 and res.files_crawled == 31
    t = glue.get_table(DatabaseName=db, Name="flights")["Table"]
    assert [(k["Name"], k["Type"]) for k in t["PartitionKeys"]] == [
        ("year", "string"),
        ("month", "string"),
        ("day", "string"),
    ]
    sd = t["StorageDescriptor"]
    cols = [(c["Name"], c["Type"]) for c in sd["Columns"]]
    assert cols == _data_columns(january)
    assert dict(cols)["time_hour"] == "timestamp" and dict(cols)["dep_time"] == "bigint"
    assert sd["Location"] == f"s3://{bucket}/flights/"
    assert (
        sd["InputFormat"] == PARQUET_IN and sd["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    )
    p = t["Parameters"]
    assert p["classification"] == "parquet" and p["typeOfData"] == "file"
    assert p["recordCount"] == "27004" and p["objectCount"] == "31"
    assert p["UPDATED_BY_CRAWLER"] == crawler["Name"] and p["compressionType"] == "none"
    parts = _partitions(glue, db, "flights")
    assert len(parts) == 31
    by_values = {tuple(x["Values"]): x for x in parts}
    d15 = by_values[("2013", "1", "15")]
    assert (
        d15["StorageDescriptor"]["Location"] == f"s3://{bucket}/flights/year=2013/month=1/day=15/"
    )
    expected_rows = pc.sum(pc.equal(january["day"], 15)).as_py()
    assert d15["StorageDescriptor"]["Parameters"]["recordCount"] == str(expected_rows)
    assert res.metrics()["TablesCreated"] == 1


def test_recrawl_unchanged_adds_no_version_then_new_column_makes_version_2(
    glue, s3, s3fs, moto_url, names, january
):
    bucket, db = names
    write_partitioned(january, s3fs, f"{bucket}/flights")
    crawler = make_crawler(glue, db, [f"s3://{bucket}/flights/"])
    first = run_crawl(glue, s3, moto_url, crawler)
    assert first.partitions_created == 31

    again = run_crawl(glue, s3, moto_url, crawler, previous=first.state)
    assert (again.tables_created, again.tables_updated) == ([], [])
    assert (again.partitions_created, again.partitions_updated) == (0, 0)
    assert _versions(glue, db, "flights") == ["1"]

    # a later day gets an extra column: schema evolution
    feb1 = january.filter(pc.equal(january["day"], 1)).set_column(1, "month", pa.array([2] * 842))
    feb1 = feb1.append_column("carbon_kg", pa.array([1.5] * feb1.num_rows))
    write_partitioned(feb1, s3fs, f"{bucket}/flights")
    evolved = run_crawl(glue, s3, moto_url, crawler, previous=again.state)

    assert evolved.tables_updated == ["flights"] and evolved.partitions_created == 1
    assert _versions(glue, db, "flights") == ["1", "2"]
    cols = [
        c["Name"]
        for c in glue.get_table(DatabaseName=db, Name="flights")["Table"]["StorageDescriptor"][
            "Columns"
        ]
    ]
    assert cols == [c for c, _ in _data_columns(january)] + ["carbon_kg"]
    v1 = glue.get_table_version(DatabaseName=db, TableName="flights", VersionId="1")["TableVersion"]
    assert "carbon_kg" not in [c["Name"] for c in v1["Table"]["StorageDescriptor"]["Columns"]]
    new_part = glue.get_partition(
        DatabaseName=db, TableName="flights", PartitionValues=["2013", "2", "1"]
    )
    assert new_part["Partition"]["StorageDescriptor"]["Columns"][-1] == {
        "Name": "carbon_kg",
        "Type": "double",
    }
    assert any("new columns ['carbon_kg']" in m for m in evolved.messages)


def test_crawl_new_folders_only_adds_only_new_partitions(glue, s3, s3fs, moto_url, names, january):
    bucket, db = names
    write_partitioned(january.filter(pc.less_equal(january["day"], 28)), s3fs, f"{bucket}/flights")
    crawler = make_crawler(
        glue,
        db,
        [f"s3://{bucket}/flights/"],
        RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
    )
    first = run_crawl(glue, s3, moto_url, crawler)
    assert first.partitions_created == 28 and len(first.state["crawled_folders"]) == 28

    write_partitioned(january.filter(pc.greater(january["day"], 28)), s3fs, f"{bucket}/flights")
    # an object added to an already crawled folder is not looked at in this mode
    s3.copy_object(
        Bucket=bucket,
        Key="flights/year=2013/month=1/day=1/extra.parquet",
        CopySource={"Bucket": bucket, "Key": "flights/year=2013/month=1/day=1/part-0.parquet"},
    )
    second = run_crawl(glue, s3, moto_url, crawler, previous=first.state)

    assert second.error is None
    assert second.files_crawled == 3 and second.partitions_created == 3
    assert (second.tables_created, second.tables_updated, second.partitions_updated) == ([], [], 0)
    assert len(_partitions(glue, db, "flights")) == 31
    assert _versions(glue, db, "flights") == ["1"]
    assert len(second.state["crawled_folders"]) == 31


def test_awswrangler_reads_crawled_table(glue, s3, s3fs, moto_url, names, january):
    bucket, db = names
    write_partitioned(january, s3fs, f"{bucket}/flights")
    res = run_crawl(glue, s3, moto_url, make_crawler(glue, db, [f"s3://{bucket}/flights/"]))
    assert res.partitions_created == 31
    old = (wr.config.s3_endpoint_url, wr.config.glue_endpoint_url)
    wr.config.s3_endpoint_url = wr.config.glue_endpoint_url = moto_url
    try:
        df = wr.s3.read_parquet_table(table="flights", database=db)
        dtypes = wr.catalog.get_table_types(database=db, table="flights")
        pruned = wr.s3.read_parquet_table(
            table="flights", database=db, partition_filter=lambda p: p["day"] == "15"
        )
    finally:
        wr.config.s3_endpoint_url, wr.config.glue_endpoint_url = old
    assert len(df) == january.num_rows == 27004
    assert (df["carrier"] == "UA").sum() == pc.sum(pc.equal(january["carrier"], "UA")).as_py()
    assert dtypes["time_hour"] == "timestamp" and dtypes["day"] == "string"
    assert len(pruned) == pc.sum(pc.equal(january["day"], 15)).as_py()


def test_csv_and_json_landing_zone(glue, s3, moto_url, names):
    bucket, db = names
    flights_csv = (DATA / "airlines.csv").read_bytes()  # all-string: no header, like Glue
    planes = [
        {
            "tailnum": "N10156",
            "year": 2004,
            "engine": {"count": 2, "type": "Turbo-fan"},
            "capacity": {"seats": 55, "speed": None},
        },
        {
            "tailnum": "N102UW",
            "year": 1998,
            "engine": {"count": 2, "type": "Turbo-fan"},
            "capacity": {"seats": 182, "speed": 432},
        },
    ]
    s3.put_object(Bucket=bucket, Key="landing/airlines/airlines.csv", Body=flights_csv)
    s3.put_object(
        Bucket=bucket,
        Key="landing/planes/planes.jsonl.gz",
        Body=gzip.compress("\n".join(json.dumps(p) for p in planes).encode()),
    )
    csv_body = (
        b'year,month,day,dep_delay,carrier,tailnum\n2013,1,1,2,UA,N14228\n2013,1,1,,"B6",N24211\n'
    )
    s3.put_object(Bucket=bucket, Key="landing/flights/2013-01.csv", Body=csv_body)
    s3.put_object(
        Bucket=bucket,
        Key="landing/flights/2013-02.csv",
        Body=csv_body.replace(b"2013,1", b"2013,2"),
    )
    s3.put_object(Bucket=bucket, Key="landing/flights/notes.tmp", Body=b"ignore me")
    crawler = make_crawler(
        glue, db, [f"s3://{bucket}/landing/"], exclusions=["**.tmp"], TablePrefix="landing_"
    )

    res = run_crawl(glue, s3, moto_url, crawler)

    assert res.error is None
    assert sorted(res.tables_created) == ["landing_airlines", "landing_flights", "landing_planes"]
    f = glue.get_table(DatabaseName=db, Name="landing_flights")["Table"]
    sd = f["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [
        ("year", "bigint"),
        ("month", "bigint"),
        ("day", "bigint"),
        ("dep_delay", "bigint"),
        ("carrier", "string"),
        ("tailnum", "string"),
    ]
    assert f["PartitionKeys"] == []
    assert (
        sd["SerdeInfo"]["SerializationLibrary"]
        == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    )
    assert sd["SerdeInfo"]["Parameters"] == {"field.delim": ","}
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert f["Parameters"]["skip.header.line.count"] == "1"
    assert f["Parameters"]["recordCount"] == "4" and f["Parameters"]["objectCount"] == "2"
    assert f["Parameters"]["areColumnsQuoted"] == "true"
    a = glue.get_table(DatabaseName=db, Name="landing_airlines")["Table"]
    assert [c["Name"] for c in a["StorageDescriptor"]["Columns"]] == ["col0", "col1"]
    assert "skip.header.line.count" not in a["Parameters"]
    assert any("no header was inferred" in m for m in res.messages)
    p = glue.get_table(DatabaseName=db, Name="landing_planes")["Table"]
    assert [(c["Name"], c["Type"]) for c in p["StorageDescriptor"]["Columns"]] == [
        ("tailnum", "string"),
        ("year", "int"),
        ("engine", "struct<count:int,type:string>"),
        ("capacity", "struct<seats:int,speed:int>"),
    ]
    assert (
        p["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
        == "org.openx.data.jsonserde.JsonSerDe"
    )
    assert (
        p["Parameters"]["compressionType"] == "gzip" and p["Parameters"]["classification"] == "json"
    )


def test_bucket_root_target_splits_datasets_and_table_level(
    glue, s3, s3fs, moto_url, names, january
):
    bucket, db = names
    small = january.slice(0, 500)
    write_partitioned(small, s3fs, f"{bucket}/flights")
    weather = pa.table(
        {
            "origin": ["EWR", "JFK"],
            "temp": [39.02, 39.9],
            "year": [2013, 2013],
            "month": [1, 1],
            "day": [1, 2],
        }
    )
    write_partitioned(weather, s3fs, f"{bucket}/weather")
    airlines = pa.table({"carrier": ["UA", "AA"], "name": ["United", "American"]})
    buf = io.BytesIO()
    pq.write_table(airlines, buf)
    s3.put_object(Bucket=bucket, Key="airlines/part-0.parquet", Body=buf.getvalue())

    res = run_crawl(glue, s3, moto_url, make_crawler(glue, db, [f"s3://{bucket}/"]))
    assert sorted(res.tables_created) == ["airlines", "flights", "weather"]
    w = glue.get_table(DatabaseName=db, Name="weather")["Table"]
    assert [k["Name"] for k in w["PartitionKeys"]] == ["year", "month", "day"]
    assert glue.get_table(DatabaseName=db, Name="airlines")["Table"]["PartitionKeys"] == []

    # TableLevelConfiguration 3 (bucket=1, flights=2, year=3): one table per year folder
    db2 = db + "_lvl"
    glue.create_database(DatabaseInput={"Name": db2})
    lvl = make_crawler(
        glue,
        db2,
        [f"s3://{bucket}/flights/"],
        Configuration=json.dumps({"Version": 1.0, "Grouping": {"TableLevelConfiguration": 3}}),
    )
    res2 = run_crawl(glue, s3, moto_url, lvl)
    assert res2.tables_created == ["year=2013"]
    t = glue.get_table(DatabaseName=db2, Name="year=2013")["Table"]
    assert [k["Name"] for k in t["PartitionKeys"]] == ["month", "day"]
    assert t["StorageDescriptor"]["Location"] == f"s3://{bucket}/flights/year=2013/"


def test_similar_sibling_folders_become_partition_n(glue, s3, moto_url, names):
    bucket, db = names
    body = b"id,amount\n1,2.5\n2,3.0\n"
    for k in ("sales/table1/p1/a.csv", "sales/table1/p2/a.csv", "sales/table2/p4/a.csv"):
        s3.put_object(Bucket=bucket, Key=k, Body=body)
    res = run_crawl(glue, s3, moto_url, make_crawler(glue, db, [f"s3://{bucket}/sales/"]))
    assert res.tables_created == ["sales"]
    t = glue.get_table(DatabaseName=db, Name="sales")["Table"]
    assert [(k["Name"], k["Type"]) for k in t["PartitionKeys"]] == [
        ("partition_0", "string"),
        ("partition_1", "string"),
    ]
    assert sorted(tuple(p["Values"]) for p in _partitions(glue, db, "sales")) == [
        ("table1", "p1"),
        ("table1", "p2"),
        ("table2", "p4"),
    ]


@pytest.mark.parametrize("behavior", ["DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE", "LOG"])
def test_delete_behavior_for_vanished_table(glue, s3, moto_url, names, behavior):
    bucket, db = names
    s3.put_object(Bucket=bucket, Key="zone/a/x.json", Body=b'{"k": 1, "v": "a"}\n')
    s3.put_object(Bucket=bucket, Key="zone/b/x.csv", Body=b"n,m\n1,x\n")
    crawler = make_crawler(
        glue,
        db,
        [f"s3://{bucket}/zone/"],
        SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": behavior},
    )
    assert sorted(run_crawl(glue, s3, moto_url, crawler).tables_created) == ["a", "b"]
    s3.delete_object(Bucket=bucket, Key="zone/b/x.csv")
    res = run_crawl(glue, s3, moto_url, crawler)
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=db)["TableList"]}
    if behavior == "DELETE_FROM_DATABASE":
        assert res.tables_deleted == ["b"] and "b" not in tables
    elif behavior == "DEPRECATE_IN_DATABASE":
        assert (
            res.tables_deleted == ["b"]
            and int(tables["b"]["Parameters"]["DEPRECATED_BY_CRAWLER"]) > 0
        )
    else:
        assert res.tables_deleted == [] and "DEPRECATED_BY_CRAWLER" not in tables["b"]["Parameters"]
        assert any("LOG: table b" in m for m in res.messages)


def test_log_policy_reports_change_without_new_version(glue, s3, moto_url, names):
    bucket, db = names
    s3.put_object(Bucket=bucket, Key="events/e1.json", Body=b'{"id": 1, "kind": "a"}\n')
    crawler = make_crawler(
        glue,
        db,
        [f"s3://{bucket}/events/"],
        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
    )
    run_crawl(glue, s3, moto_url, crawler)
    s3.put_object(
        Bucket=bucket, Key="events/e2.json", Body=b'{"id": 2, "kind": "b", "extra": true}\n'
    )
    res = run_crawl(glue, s3, moto_url, crawler)
    assert res.tables_updated == []
    assert any(m.startswith("LOG: table events changed") and "extra" in m for m in res.messages)
    assert _versions(glue, db, "events") == ["1"]


def test_parquet_type_conflict_is_reported(glue, s3, moto_url, names):
    bucket, db = names
    for key, arr in (("t/a.parquet", pa.array([1, 2])), ("t/b.parquet", pa.array(["x", "y"]))):
        buf = io.BytesIO()
        pq.write_table(pa.table({"v": arr}), buf)
        s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    res = run_crawl(glue, s3, moto_url, make_crawler(glue, db, [f"s3://{bucket}/t/"]))
    assert res.tables_created == ["t"]
    cols = glue.get_table(DatabaseName=db, Name="t")["Table"]["StorageDescriptor"]["Columns"]
    assert cols == [{"Name": "v", "Type": "bigint"}]
    assert any("type conflict v: bigint vs string" in m for m in res.messages)


def test_missing_database_fails_with_reason(glue, s3, moto_url, names):
    bucket, _ = names
    crawler = make_crawler(glue, names[1], [f"s3://{bucket}/x/"])
    crawler["DatabaseName"] = "no_such_db"
    res = run_crawl(glue, s3, moto_url, crawler)
    assert res.status == "FAILED"
    assert res.error.startswith("database no_such_db not found: create it")
    assert res.last_crawl()["ErrorMessage"] == res.error


def test_stop_cancels_before_catalog_writes(glue, s3, s3fs, moto_url, names, january):
    bucket, db = names
    write_partitioned(january.slice(0, 2000), s3fs, f"{bucket}/flights")
    crawl = Crawl(make_crawler(glue, db, [f"s3://{bucket}/flights/"]))
    crawl.stop()
    assert crawl.stop_requested
    res = crawl.run(glue, s3, moto_url)
    assert res.status == "CANCELLED"
    assert res.tables_created == [] and glue.get_tables(DatabaseName=db)["TableList"] == []


def test_crawl_365_partitions_timing(glue, s3, s3fs, moto_url, names, flights_all, capsys):
    """Whole-year flights (336,776 rows in 365 day partitions); prints the crawl time."""
    bucket, db = names
    write_partitioned(flights_all, s3fs, f"{bucket}/flights")
    crawler = make_crawler(glue, db, [f"s3://{bucket}/flights/"])
    t0 = time.perf_counter()
    res = run_crawl(glue, s3, moto_url, crawler)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = run_crawl(glue, s3, moto_url, crawler)
    second = time.perf_counter() - t0
    assert res.partitions_created == 365 and again.partitions_created == 0
    assert (
        glue.get_table(DatabaseName=db, Name="flights")["Table"]["Parameters"]["recordCount"]
        == "336776"
    )
    with capsys.disabled():
        print(
            f"\n[crawler] 365 partitions: first crawl {first:.2f}s, unchanged re-crawl {second:.2f}s"
        )


def test_a_read_that_fails_once_is_read_again(glue, s3, s3fs, moto_url, names, january, monkeypatch):
    """A footer read that fails once (a timeout while the endpoint is busy) must not drop its
    partition; an object that fails every read is skipped with a message naming it."""
    from lakekit.local.glue import crawler as engine

    bucket, db = names
    write_partitioned(january, s3fs, f"{bucket}/flights")
    s3.put_object(Bucket=bucket, Key="flights/year=2013/month=2/day=1/bad.parquet", Body=b"PAR1 no footer")
    real, failed = engine._infer_object, []

    def flaky(obj, s3_, fs):
        if "day=15/" in obj.key and not failed:
            failed.append(obj.key)
            raise OSError("AWS Error NETWORK_CONNECTION during GetObject operation: Timeout was reached")
        return real(obj, s3_, fs)

    monkeypatch.setattr(engine, "_infer_object", flaky)
    res = run_crawl(glue, s3, moto_url, make_crawler(glue, db, [f"s3://{bucket}/flights/"]))

    assert failed and res.status == "SUCCEEDED", res.error
    values = {tuple(p["Values"]) for p in _partitions(glue, db, "flights")}
    assert len(values) == 31 and ("2013", "1", "15") in values and ("2013", "2", "1") not in values
    skipped = [m for m in res.messages if "could not read" in m]
    assert len(skipped) == 1 and "month=2/day=1/bad.parquet (read twice)" in skipped[0], skipped
