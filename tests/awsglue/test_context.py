"""GlueContext through the endpoint: StartJobRun of a Glue-style script (scripts/glue_probe.py).

Sources: Glue developer guide "Connection types and options for ETL in AWS Glue for Spark" (S3:
paths, recurse, exclusions), "Data format options" (csv withHeader/separator/quoteChar, json
multiLine, parquet), "GlueContext class" (from_options, from_catalog + push_down_predicate,
create_data_frame.from_catalog, getSink + setCatalogInfo + setFormat + writeFrame, purge_s3_path).
"""
from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from tests.glue_runner.conftest import ROLE


def _parquet(rows: dict) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(rows), buf)
    return buf.getvalue()


def test_from_options_csv_json_parquet_rows_and_schemas(glab):
    raw = glab.raw
    glab.s3.put_object(Bucket=raw, Key="fo/csv/a.csv", Body=b'id|name|score\n1|"Ann|B"|1.5\n2|Bob|2\n')
    glab.s3.put_object(Bucket=raw, Key="fo/csv/sub/b.csv", Body=b"id|name|score\n3|Cy|x\n")
    glab.s3.put_object(Bucket=raw, Key="fo/csv/notes.txt", Body=b"id|name|score\n9|Zed|9\n")
    glab.s3.put_object(Bucket=raw, Key="fo/json/a.json", Body=b'{"k": 1, "v": "x"}\n{"k": 2, "v": "y"}\n')
    glab.s3.put_object(Bucket=raw, Key="fo/jsonml/a.json", Body=b'[{"k": 1,\n "v": "x"}]')
    glab.s3.put_object(Bucket=raw, Key="fo/pq/part-0.parquet", Body=_parquet({"n": [3, 1], "s": ["c", "a"]}))
    glab.s3.put_object(Bucket=raw, Key="fo/pq/_SUCCESS", Body=b"")
    plan = {"reads": [
        {"kind": "options", "name": "csv_top", "format": "csv",
         "connection_options": {"paths": [f"s3://{raw}/fo/csv/"]},
         "format_options": {"withHeader": True, "separator": "|"}},
        {"kind": "options", "name": "csv_recurse", "format": "csv",
         "connection_options": {"paths": [f"s3://{raw}/fo/csv/"], "recurse": True,
                                "exclusions": "[\"**.txt\"]", "groupFiles": "inPartition"},
         "format_options": {"withHeader": True, "separator": "|"}},
        {"kind": "options", "name": "csv_noheader", "format": "csv",
         "connection_options": {"paths": [f"s3://{raw}/fo/csv/sub/b.csv"]},
         "format_options": {"separator": "|"}},
        {"kind": "options", "name": "json", "format": "json",
         "connection_options": {"paths": [f"s3://{raw}/fo/json/"]}},
        {"kind": "options", "name": "json_multiline", "format": "json",
         "connection_options": {"paths": [f"s3://{raw}/fo/jsonml/"]}, "format_options": {"multiLine": True}},
        {"kind": "options", "name": "parquet", "format": "parquet",
         "connection_options": {"paths": [f"s3://{raw}/fo/pq/"]}},
    ]}
    run, rep = glab.run(glab.probe_job(), plan)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    # recurse defaults to false: sub/ is not read; notes.txt is (no exclusions)
    assert rep["csv_top"]["schema"] == "struct<id:bigint,name:string,score:double>"
    assert rep["csv_top"]["rows"] == [{"id": 1, "name": "Ann|B", "score": 1.5},
                                      {"id": 2, "name": "Bob", "score": 2.0},
                                      {"id": 9, "name": "Zed", "score": 9.0}]
    # recurse + exclusions: a.csv and sub/b.csv; 'score' mixes numbers and text -> a choice
    assert rep["csv_recurse"]["schema"] == \
        "struct<id:bigint,name:string,score:struct<double:double,string:string>>"
    assert rep["csv_recurse"]["rows"] == [
        {"id": 1, "name": "Ann|B", "score": {"double": 1.5, "string": None}},
        {"id": 2, "name": "Bob", "score": {"double": 2.0, "string": None}},
        {"id": 3, "name": "Cy", "score": {"double": None, "string": "x"}}]
    # no header: Glue names the columns col0, col1, ...; the header line is data ("id" vs 3: a choice)
    assert rep["csv_noheader"]["schema"] == \
        "struct<col0:struct<long:bigint,string:string>,col1:string,col2:string>"
    assert rep["csv_noheader"]["rows"] == [
        {"col0": {"long": 3, "string": None}, "col1": "Cy", "col2": "x"},
        {"col0": {"long": None, "string": "id"}, "col1": "name", "col2": "score"}]
    assert rep["json"]["rows"] == [{"k": 1, "v": "x"}, {"k": 2, "v": "y"}]
    assert rep["json"]["schema"] == "struct<k:int,v:string>"  # a whole number that fits 32 bits: int
    assert rep["json_multiline"]["rows"] == [{"k": 1, "v": "x"}]
    assert rep["parquet"]["rows"] == [{"n": 1, "s": "a"}, {"n": 3, "s": "c"}]
    assert rep["parquet"]["schema"] == "struct<n:bigint,s:string>"
    # reading uploads nothing back
    assert glab.keys(raw, "fo/") == sorted(["fo/csv/a.csv", "fo/csv/sub/b.csv", "fo/csv/notes.txt",
                                           "fo/json/a.json", "fo/jsonml/a.json", "fo/pq/part-0.parquet",
                                           "fo/pq/_SUCCESS"])


def _catalog_table(glab, db: str) -> None:
    raw = glab.raw
    parts = {("2023", "01"): {"id": [1], "v": ["x"]}, ("2024", "01"): {"id": [2, 3], "v": ["y", "z"]},
             ("2024", "02"): {"id": [4], "v": ["w"]}}
    for (year, month), rows in parts.items():
        glab.s3.put_object(Bucket=raw, Key=f"cat/t/year={year}/month={month}/part-0.parquet",
                           Body=_parquet(rows))
    fmt = {"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
           "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
           "SerdeInfo": {"SerializationLibrary":
                         "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}
    cols = [{"Name": "id", "Type": "bigint"}, {"Name": "v", "Type": "string"}]
    glab.glue.create_table(DatabaseName=db, TableInput={
        "Name": "t", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": "year", "Type": "int"}, {"Name": "month", "Type": "string"}],
        "StorageDescriptor": {"Columns": cols, "Location": f"s3://{raw}/cat/t/", **fmt}})
    glab.glue.batch_create_partition(DatabaseName=db, TableName="t", PartitionInputList=[
        {"Values": [y, m], "StorageDescriptor": {"Columns": cols, **fmt,
                                                 "Location": f"s3://{raw}/cat/t/year={y}/month={m}/"}}
        for y, m in parts])
    glab.s3.put_object(Bucket=raw, Key="cat/c/data.csv", Body=b"code;amount\nA;10\nB;\n")
    glab.glue.create_table(DatabaseName=db, TableInput={
        "Name": "c", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {
            "Columns": [{"Name": "code", "Type": "string"}, {"Name": "amount", "Type": "int"}],
            "Location": f"s3://{raw}/cat/c/", "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                          "Parameters": {"field.delim": ";"}}}})


def test_from_catalog_pushdown_sink_catalog_update_writes_and_purge(glab):
    db = glab.database()
    _catalog_table(glab, db)
    raw, out = glab.raw, glab.out
    glab.s3.put_object(Bucket=raw, Key="purge/old.txt", Body=b"1")
    glab.s3.put_object(Bucket=raw, Key="purge/deep/old2.txt", Body=b"2")
    glab.s3.put_object(Bucket=raw, Key="purge/cold.txt", Body=b"3", StorageClass="GLACIER")
    plan = {"reads": [
        {"kind": "catalog", "name": "y2024", "database": db, "table": "t", "predicate": "year = 2024"},
        {"kind": "catalog", "name": "all", "database": db, "table": "t"},
        {"kind": "dataframe", "name": "csv", "database": db, "table": "c"}],
        "writes": [
            {"kind": "sink", "frame": "y2024", "path": f"s3://{out}/sinkt/", "database": db,
             "table": "sink_t", "partitionKeys": ["month"]},
            {"kind": "options", "frame": "all", "format": "json",
             "connection_options": {"path": f"s3://{out}/jsonout/", "partitionKeys": ["year"],
                                    "compression": "gzip"}}],
        "purges": [{"path": f"s3://{raw}/purge/",
                    "options": {"retentionPeriod": 0, "excludeStorageClasses": ["GLACIER"]}}]}
    run, rep = glab.run(glab.probe_job(), plan)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    # push_down_predicate: only the two 2024 partitions are read; partition columns typed as the table says
    assert rep["y2024"]["rows"] == [{"id": 2, "month": "01", "v": "y", "year": 2024},
                                    {"id": 3, "month": "01", "v": "z", "year": 2024},
                                    {"id": 4, "month": "02", "v": "w", "year": 2024}]
    assert rep["y2024"]["schema"] == "struct<id:bigint,v:string,year:int,month:string>"
    assert rep["all"]["count"] == 4
    # csv table: names/types from the catalog, header skipped, empty field -> null
    assert rep["csv"]["rows"] == [{"amount": 10, "code": "A"}, {"amount": None, "code": "B"}]
    assert rep["csv"]["schema"] == "struct<code:string,amount:int>"

    table = glab.glue.get_table(DatabaseName=db, Name="sink_t")["Table"]
    sd = table["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [("id", "bigint"), ("v", "string"),
                                                               ("year", "int")]
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [("month", "string")]
    assert sd["Location"] == f"s3://{out}/sinkt/"
    assert table["Parameters"]["classification"] == "parquet"
    assert sd["SerdeInfo"]["SerializationLibrary"] == \
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    parts = glab.glue.get_partitions(DatabaseName=db, TableName="sink_t")["Partitions"]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in parts) == [
        (["01"], f"s3://{out}/sinkt/month=01/"), (["02"], f"s3://{out}/sinkt/month=02/")]
    keys = glab.keys(out, "sinkt/")
    assert {k.split("/")[1] for k in keys} == {"month=01", "month=02"}
    assert all(k.endswith(".parquet") for k in keys), keys
    rows = sum(pq.read_table(io.BytesIO(glab.s3.get_object(Bucket=out, Key=k)["Body"].read())).num_rows
               for k in keys)
    assert rows == 3
    jkeys = glab.keys(out, "jsonout/")
    assert {k.split("/")[1] for k in jkeys} == {"year=2023", "year=2024"}
    assert all(k.endswith(".json.gz") for k in jkeys), jkeys
    # purge: everything older than 0 hours, recursively, except the GLACIER object
    assert glab.keys(raw, "purge/") == ["purge/cold.txt"]

    # a second sink write with a new column: the schema grows, new partitions only are added
    plan2 = {"reads": [{"kind": "options", "name": "more", "format": "json",
                        "connection_options": {"paths": [f"s3://{raw}/cat/more/"]}}],
             "writes": [{"kind": "sink", "frame": "more", "path": f"s3://{out}/sinkt/", "database": db,
                         "table": "sink_t", "partitionKeys": ["month"]}]}
    glab.s3.put_object(Bucket=raw, Key="cat/more/m.json",
                       Body=b'{"id": 5, "v": "q", "year": 2025, "month": "03", "extra": true}\n'
                            b'{"id": 6, "v": "r", "year": 2025, "month": "01", "extra": false}\n')
    run2, _ = glab.run(glab.probe_job(), plan2)
    assert run2["JobRunState"] == "SUCCEEDED", run2.get("ErrorMessage")
    table2 = glab.glue.get_table(DatabaseName=db, Name="sink_t")["Table"]
    assert [c["Name"] for c in table2["StorageDescriptor"]["Columns"]] == ["id", "v", "year", "extra"]
    parts2 = glab.glue.get_partitions(DatabaseName=db, TableName="sink_t")["Partitions"]
    assert sorted(p["Values"][0] for p in parts2) == ["01", "02", "03"]


def test_from_catalog_with_a_role_without_glue_get_table_fails_as_on_aws(glab):
    from tests.iam.roles import service_role

    db = glab.database()
    _catalog_table(glab, db)
    role = "arn:aws:iam::123456789012:role/lakekit-awsglue-no-catalog"
    service_role(glab.endpoint, role, "glue.amazonaws.com", ["s3:*", "logs:*"])
    job = f"probe-nocat-{db}"
    glab.glue.create_job(Name=job, Role=role, GlueVersion="5.0", Command={
        "Name": "glueetl", "PythonVersion": "3", "ScriptLocation": f"s3://{glab.art}/scripts/glue_probe.py"})
    run, rep = glab.run(job, {"reads": [{"kind": "catalog", "name": "t", "database": db, "table": "t"}]})
    assert run["JobRunState"] == "FAILED"
    assert "AccessDeniedException" in run["ErrorMessage"] and "GetTable" in run["ErrorMessage"], \
        run["ErrorMessage"]
    assert rep == {}
    assert ROLE != role


def test_from_options_json_mixed_types_are_a_choice_as_glue_reads_them(glab):
    """A JSON field holding an int in one record and a string in another is a *choice* on the S3
    read path (Glue developer guide, "DynamicFrame class": "explicitly encodes schema
    inconsistencies using a choice (or union) type"); ResolveChoice cast:string resolves it.
    Before, ``from_options`` dropped the choice on this path and the field was a plain struct."""
    raw = glab.raw
    glab.s3.put_object(Bucket=raw, Key="ch/json/a.json",
                       Body=b'{"id": 1, "price": 1, "dims": {"w": 3}}\n{"id": 2, "price": null}\n')
    glab.s3.put_object(Bucket=raw, Key="ch/json/b.json",
                       Body=b'{"id": 3, "price": "1.5", "dims": {"w": "wide"}}\n')
    glab.s3.put_object(Bucket=raw, Key="ch/plain/c.json", Body=b'{"id": 4, "v": "x"}\n{"id": 5, "v": "y"}\n')
    glab.s3.put_object(Bucket=raw, Key="ch/plain/d.json", Body=b'{"id": 6, "v": "z"}\n')
    plan = {"reads": [
        {"kind": "options", "name": "mixed", "format": "json", "lineage": True,
         "connection_options": {"paths": [f"s3://{raw}/ch/json/"]},
         "resolve": [["price", "cast:string"], ["dims.w", "cast:string"]]},
        {"kind": "options", "name": "plain", "format": "json", "lineage": True,
         "connection_options": {"paths": [f"s3://{raw}/ch/plain/"]}},
    ]}
    run, rep = glab.run(glab.probe_job(), plan)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    mixed = rep["mixed"]
    assert mixed["types"] == {"id": "int", "price": "choice", "dims": "struct"}
    assert mixed["schema"] == ("struct<id:int,price:struct<int:int,string:string>,"
                               "dims:struct<w:struct<int:int,string:string>>>")
    assert mixed["count"] == 3
    assert mixed["resolved_schema"] == "struct<id:int,price:string,dims:struct<w:string>>"
    assert sorted((r["id"], r["price"], (r["dims"] or {}).get("w")) for r in mixed["resolved_rows"]) == [
        (1, "1", "3"), (2, None, None), (3, "1.5", "wide")]
    # lineage: input_file_name() after toDF() names each record's object when the reader is
    # Spark's file scan (one type per field); a frame with choices is built record by record
    # (Python) and has no file behind its rows: '' (ledger row "input_file_name() with choices")
    assert rep["plain"]["types"] == {"id": "int", "v": "string"}
    assert rep["plain"]["files"] == ["c.json", "d.json"]
    assert mixed["files"] == [""]
