"""DDL round-trips through the Glue catalog (moto)."""
from __future__ import annotations

import base64
import json

import pyarrow.parquet as pq
import pytest

from lakekit.local.athena import AthenaQueryError


def _keys(s3, bucket, prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_create_and_drop_database(run, lake):
    glue = lake["glue"]
    r = run("CREATE DATABASE IF NOT EXISTS scratch_db COMMENT 'tmp' LOCATION 's3://lake/scratch/'")
    assert r.statement_type == "DDL"
    assert glue.get_database(Name="scratch_db")["Database"]["Description"] == "tmp"
    run("CREATE SCHEMA IF NOT EXISTS scratch_db")  # idempotent
    with pytest.raises(AthenaQueryError) as ei:
        run("CREATE DATABASE scratch_db")
    assert ei.value.error_type == "ALREADY_EXISTS"
    assert "scratch_db" in [x[0] for x in run("SHOW DATABASES").rows()]
    assert run("SHOW SCHEMAS LIKE 'scratch*'").rows() == [["scratch_db"]]
    run("DROP DATABASE scratch_db")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_database(Name="scratch_db")
    run("DROP DATABASE IF EXISTS scratch_db")


def test_create_external_parquet_table_msck_and_partitions(run, lake, flights_df):
    glue = lake["glue"]
    run("""CREATE EXTERNAL TABLE IF NOT EXISTS ext_flights (
             carrier string, distance bigint, dep_delay double, flight_date date)
           PARTITIONED BY (year int, month int, day int)
           STORED AS PARQUET
           LOCATION 's3://lake/processed/flights/'
           TBLPROPERTIES ('parquet.compression'='SNAPPY')""")
    t = glue.get_table(DatabaseName="lakedb", Name="ext_flights")["Table"]
    sd = t["StorageDescriptor"]
    assert sd["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [
        ("carrier", "string"), ("distance", "bigint"), ("dep_delay", "double"), ("flight_date", "date")]
    assert [k["Name"] for k in t["PartitionKeys"]] == ["year", "month", "day"]
    assert t["TableType"] == "EXTERNAL_TABLE" and t["Parameters"]["classification"] == "parquet"
    assert t["Parameters"]["parquet.compression"] == "SNAPPY"
    # no partitions yet: Athena returns no rows
    assert run("SELECT count(*) AS c FROM ext_flights").rows() == [["0"]]
    r = run("MSCK REPAIR TABLE ext_flights")
    assert len(r.rows()) == 2 * 21
    parts = glue.get_partitions(DatabaseName="lakedb", TableName="ext_flights")["Partitions"]
    assert len(parts) == 21
    assert parts[0]["StorageDescriptor"]["Location"].startswith("s3://lake/processed/flights/year=2013/")
    assert run("SELECT count(*) AS c FROM ext_flights").rows() == [[str(len(flights_df))]]
    assert run("MSCK REPAIR TABLE ext_flights").rows() == []  # nothing new
    show = [x[0] for x in run("SHOW PARTITIONS ext_flights").rows()]
    assert len(show) == 21 and "year=2013/month=2/day=3" in show
    # DROP / ADD PARTITION
    run("ALTER TABLE ext_flights DROP PARTITION (year=2013, month=2, day=3)")
    assert len(glue.get_partitions(DatabaseName="lakedb", TableName="ext_flights")["Partitions"]) == 20
    feb3 = int(((flights_df.month == 2) & (flights_df.day == 3)).sum())
    assert run("SELECT count(*) AS c FROM ext_flights").rows() == [[str(len(flights_df) - feb3)]]
    with pytest.raises(AthenaQueryError) as ei:
        run("ALTER TABLE ext_flights DROP PARTITION (year=2013, month=2, day=3)")
    assert ei.value.error_type == "PARTITION_NOT_FOUND"
    run("ALTER TABLE ext_flights DROP IF EXISTS PARTITION (year=2013, month=2, day=3)")
    run("ALTER TABLE ext_flights ADD IF NOT EXISTS PARTITION (year=2013, month=2, day=3) "
        "LOCATION 's3://lake/processed/flights/year=2013/month=2/day=3/' PARTITION (year=2013, month=1, day=1)")
    p = glue.get_partition(DatabaseName="lakedb", TableName="ext_flights", PartitionValues=["2013", "2", "3"])["Partition"]
    assert p["StorageDescriptor"]["Location"] == "s3://lake/processed/flights/year=2013/month=2/day=3/"
    assert run("SELECT count(*) AS c FROM ext_flights WHERE month = 2 AND day = 3").rows() == [[str(feb3)]]
    with pytest.raises(AthenaQueryError) as ei:
        run("ALTER TABLE ext_flights ADD PARTITION (year=2013, month=1, day=1)")
    assert ei.value.error_type == "ALREADY_EXISTS"
    # SHOW COLUMNS / DESCRIBE / SHOW CREATE TABLE / SHOW TABLES
    assert [x[0] for x in run("SHOW COLUMNS IN ext_flights").rows()] == [
        "carrier", "distance", "dep_delay", "flight_date", "year", "month", "day"]
    desc = [x[0] for x in run("DESCRIBE ext_flights").rows()]
    assert desc[0].split("\t")[0].strip() == "carrier" and "# Partition Information" in desc
    ddl = "\n".join(x[0] for x in run("SHOW CREATE TABLE ext_flights").rows())
    assert "CREATE EXTERNAL TABLE `lakedb`.`ext_flights`" in ddl and "PARTITIONED BY" in ddl
    assert "LOCATION\n  's3://lake/processed/flights/'" in ddl
    assert "ext_flights" in [x[0] for x in run("SHOW TABLES IN lakedb").rows()]
    assert run("SHOW TABLES 'ext_*'").rows() == [["ext_flights"]]
    run("DROP TABLE ext_flights")
    assert "ext_flights" not in [x[0] for x in run("SHOW TABLES").rows()]
    assert _keys(lake["s3"], "lake", "processed/flights/year=2013/month=1/day=1/")  # external data kept
    run("DROP TABLE IF EXISTS ext_flights")
    with pytest.raises(AthenaQueryError) as ei:
        run("DROP TABLE ext_flights")
    assert ei.value.error_type == "TABLE_NOT_FOUND"


def test_create_external_csv_tables_with_serde_options(run, lake):
    glue = lake["glue"]
    lake["s3"].put_object(Bucket="lake", Key="ddl/tsv/a.tsv", Body=b"id\tname\n1\tx\n2\t\n")
    run("""CREATE EXTERNAL TABLE tsv_t (id int, name string)
           ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t'
           STORED AS TEXTFILE LOCATION 's3://lake/ddl/tsv/'
           TBLPROPERTIES ('skip.header.line.count'='1')""")
    t = glue.get_table(DatabaseName="lakedb", Name="tsv_t")["Table"]
    assert t["StorageDescriptor"]["SerdeInfo"] == {
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "Parameters": {"field.delim": "\t", "serialization.format": "\t"}}
    assert t["StorageDescriptor"]["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert t["Parameters"]["skip.header.line.count"] == "1"
    assert run("SELECT id, name FROM tsv_t ORDER BY id").rows() == [["1", "x"], ["2", ""]]

    lake["s3"].put_object(Bucket="lake", Key="ddl/q/a.csv", Body=b'"k","v"\n"a","1,5"\n"b","2"\n')
    run("""CREATE EXTERNAL TABLE q_t (k string, v string)
           ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
           WITH SERDEPROPERTIES ('separatorChar'=',', 'quoteChar'='"')
           LOCATION 's3://lake/ddl/q/' TBLPROPERTIES ('skip.header.line.count'='1')""")
    t = glue.get_table(DatabaseName="lakedb", Name="q_t")["Table"]
    assert t["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert run("SELECT v FROM q_t WHERE k = 'a'").rows() == [["1,5"]]

    lake["s3"].put_object(Bucket="lake", Key="ddl/j/a.json", Body=b'{"a": 1, "s": {"x": "p"}}\n{"a": 2, "s": null}\n')
    run("""CREATE EXTERNAL TABLE j_t (a bigint, s struct<x:string>)
           ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://lake/ddl/j/'""")
    assert run("SELECT a, s.x AS x FROM j_t ORDER BY a").rows() == [["1", "p"], ["2", None]]
    for name in ("tsv_t", "q_t", "j_t"):
        run(f"DROP TABLE {name}")


def test_ctas_partitioned_parquet_and_insert(run, lake, flights_df):
    glue = lake["glue"]
    r = run("""CREATE TABLE lakedb.daily WITH (format = 'PARQUET', external_location = 's3://lake/ctas/daily/',
                 partitioned_by = ARRAY['month'], write_compression = 'SNAPPY')
               AS SELECT carrier, day, count(*) AS n, month FROM flights GROUP BY carrier, day, month""")
    want = flights_df.groupby(["carrier", "day", "month"]).size()
    assert r.statement_type == "DDL" and r.substatement_type == "CREATE_TABLE_AS_SELECT"
    assert r.update_count == len(want)
    assert len(r.written_files) == 3 and all(f.startswith("s3://lake/ctas/daily/month=") for f in r.written_files)
    assert r.data_scanned_bytes > 0
    t = glue.get_table(DatabaseName="lakedb", Name="daily")["Table"]
    assert [(c["Name"], c["Type"]) for c in t["StorageDescriptor"]["Columns"]] == [
        ("carrier", "string"), ("day", "int"), ("n", "bigint")]
    assert t["PartitionKeys"] == [{"Name": "month", "Type": "int"}]
    assert t["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    parts = glue.get_partitions(DatabaseName="lakedb", TableName="daily")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["1", "2", "3"]
    f = pq.read_table(r.written_files[0][5:], filesystem=lake["fs"])
    assert f.column_names == ["carrier", "day", "n"]
    assert pq.ParquetFile(r.written_files[0][5:], filesystem=lake["fs"]).metadata.row_group(0).column(0).compression == "SNAPPY"
    assert run("SELECT sum(n) AS s FROM daily WHERE month = 2").rows() == [[str(int((flights_df.month == 2).sum()))]]
    # CTAS into an existing location / name fails like Athena
    with pytest.raises(AthenaQueryError) as ei:
        run("CREATE TABLE daily2 WITH (external_location='s3://lake/ctas/daily/') AS SELECT 1 AS x")
    assert ei.value.error_type == "HIVE_PATH_ALREADY_EXISTS"
    with pytest.raises(AthenaQueryError) as ei:
        run("CREATE TABLE daily AS SELECT 1 AS x")
    assert ei.value.error_type == "ALREADY_EXISTS"
    # INSERT INTO a new partition and an existing one
    ins = run("INSERT INTO daily SELECT 'ZZ', 9, 5, 4 UNION ALL SELECT 'ZZ', 1, 6, 1")
    assert ins.update_count == 2 and ins.statement_type == "DML"
    assert sorted(p["Values"][0] for p in glue.get_partitions(DatabaseName="lakedb", TableName="daily")["Partitions"]) == ["1", "2", "3", "4"]
    assert run("SELECT month, sum(n) AS s FROM daily WHERE carrier = 'ZZ' GROUP BY month ORDER BY month").rows() == [["1", "6"], ["4", "5"]]
    run("DROP TABLE daily")


def test_awswrangler_ctas_statement(run, lake):
    """The exact CTAS text awswrangler 3.17.1 (ctas_approach=True) sends, then its cleanup."""
    sql = ('CREATE TABLE "lakedb"."temp_table_0123abcd"\nWITH(\n'
           "    external_location = 's3://athena-results/temp_table_0123abcd',\n"
           "    format = 'PARQUET')\n"
           "AS SELECT origin, count(*) AS n FROM flights GROUP BY origin")
    r = run(sql, output_location="s3://athena-results/")
    assert r.update_count == 3 and len(r.written_files) == 1
    back = pq.read_table(r.written_files[0][5:], filesystem=lake["fs"]).to_pydict()
    assert sorted(back["origin"]) == ["EWR", "JFK", "LGA"]
    lake["glue"].delete_table(DatabaseName="lakedb", Name="temp_table_0123abcd")  # what awswrangler does
    # CTAS without external_location goes under the output location
    r2 = run("CREATE TABLE tmp_default AS (SELECT 1 AS x)", output_location="s3://athena-results/q/")
    assert r2.written_files[0].startswith("s3://athena-results/q/tables/")
    run("DROP TABLE `tmp_default`")


def test_views_stored_like_athena_and_queryable(run, lake, flights_df):
    glue = lake["glue"]
    run("CREATE VIEW jfk_flights AS SELECT carrier, dest, distance FROM flights WHERE origin = 'JFK'")
    t = glue.get_table(DatabaseName="lakedb", Name="jfk_flights")["Table"]
    assert t["TableType"] == "VIRTUAL_VIEW" and t["Parameters"]["presto_view"] == "true"
    text = t["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */")
    payload = json.loads(base64.b64decode(text[len("/* Presto View: "):-3]))
    assert payload["originalSql"] == "SELECT carrier, dest, distance FROM flights WHERE origin = 'JFK'"
    assert payload["catalog"] == "awsdatacatalog" and payload["schema"] == "lakedb"
    assert payload["columns"] == [{"name": "carrier", "type": "varchar"}, {"name": "dest", "type": "varchar"},
                                  {"name": "distance", "type": "bigint"}]
    assert [(c["Name"], c["Type"]) for c in t["StorageDescriptor"]["Columns"]] == [
        ("carrier", "string"), ("dest", "string"), ("distance", "bigint")]
    r = run("SELECT count(*) AS c FROM jfk_flights v WHERE v.carrier = 'B6'")
    assert r.rows() == [[str(int(((flights_df.origin == "JFK") & (flights_df.carrier == "B6")).sum()))]]
    with pytest.raises(AthenaQueryError) as ei:
        run("CREATE VIEW jfk_flights AS SELECT 1 AS x")
    assert ei.value.error_type == "ALREADY_EXISTS"
    run("CREATE OR REPLACE VIEW jfk_flights AS SELECT dest, count(*) AS n FROM flights WHERE origin = 'JFK' GROUP BY dest")
    top = run("SELECT dest FROM jfk_flights ORDER BY n DESC, dest LIMIT 1").rows()[0][0]
    assert top == flights_df[flights_df.origin == "JFK"].groupby("dest").size().sort_values(ascending=False).index[0]
    # view over a view
    run("CREATE VIEW top_dest AS SELECT dest FROM jfk_flights WHERE n > 100")
    assert run("SELECT count(*) AS c FROM top_dest").rows()[0][0] == str(
        int((flights_df[flights_df.origin == "JFK"].groupby("dest").size() > 100).sum()))
    assert run("SHOW VIEWS").rows() == [["jfk_flights"], ["top_dest"]]
    assert "CREATE VIEW" in run("SHOW CREATE VIEW top_dest").rows()[0][0]
    run("DROP VIEW top_dest")
    run("DROP VIEW jfk_flights")
    assert run("SHOW VIEWS").rows() == []


def test_awswrangler_reads_tables_created_by_ddl(run, lake, flights_df):
    """Tables made by CREATE EXTERNAL TABLE / CTAS carry a StorageDescriptor awswrangler understands."""
    import awswrangler as wr
    import boto3

    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    old = (wr.config.s3_endpoint_url, wr.config.glue_endpoint_url)
    wr.config.s3_endpoint_url = lake["url"]
    wr.config.glue_endpoint_url = lake["url"]
    try:
        run("CREATE TABLE wr_ctas WITH (external_location='s3://lake/ctas/wr_ctas/', partitioned_by=ARRAY['origin']) "
            "AS SELECT carrier, count(*) AS n, origin FROM flights GROUP BY carrier, origin")
        df = wr.s3.read_parquet_table(table="wr_ctas", database="lakedb", boto3_session=session)
        assert int(df["n"].sum()) == len(flights_df)
        assert sorted(df["origin"].astype(str).unique()) == ["EWR", "JFK", "LGA"]
        types = wr.catalog.get_table_types(database="lakedb", table="wr_ctas", boto3_session=session)
        assert types == {"carrier": "string", "n": "bigint", "origin": "string"}
    finally:
        wr.config.s3_endpoint_url, wr.config.glue_endpoint_url = old
        run("DROP TABLE IF EXISTS wr_ctas")
