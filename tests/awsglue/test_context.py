"""GlueContext through the endpoint: StartJobRun of a Glue-style script (scripts/glue_probe.py).

Sources: Glue developer guide "Connection types and options for ETL in AWS Glue for Spark" (S3:
paths, recurse, exclusions), "Data format options" (csv withHeader/separator/quoteChar, json
multiLine, parquet), "GlueContext class" (from_options, from_catalog + push_down_predicate,
create_data_frame.from_catalog, getSink + setCatalogInfo + setFormat + writeFrame, purge_s3_path).
"""
from __future__ import annotations

import io
import json

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
    assert rep["json"]["schema"] == "struct<k:bigint,v:string>"
    assert rep["json_multiline"]["rows"] == [{"k": 1, "v": "x"}]
    assert rep["parquet"]["rows"] == [{"n": 1, "s": "a"}, {"n": 3, "s": "c"}]
    assert rep["parquet"]["schema"] == "struct<n:bigint,s:string>"
    # reading uploads nothing back
    assert glab.keys(raw, "fo/") == sorted(["fo/csv/a.csv", "fo/csv/sub/b.csv", "fo/csv/notes.txt",
                                           "fo/json/a.json", "fo/jsonml/a.json", "fo/pq/part-0.parquet",
                                           "fo/pq/_SUCCESS"])
