"""Schema inference per format (no server needed)."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs

from lakekit.local.glue.crawler import glob_to_regex
from lakekit.local.glue.schema import (
    arrow_type_to_glue,
    decompress_sample,
    infer_csv,
    infer_json,
    infer_parquet,
    merge_columns,
)


def test_parquet_footer_nested_and_logical_types(tmp_path):
    table = pa.table(
        {
            "ID": pa.array([1, 2], pa.int64()),
            "small": pa.array([1, 2], pa.int8()),
            "i16": pa.array([1, 2], pa.int16()),
            "i32": pa.array([1, 2], pa.int32()),
            "f32": pa.array([1.0, 2.0], pa.float32()),
            "ok": pa.array([True, False]),
            "price": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(10, 2)),
            "seen": pa.array([dt.datetime(2013, 1, 1, 5), None], pa.timestamp("us", tz="UTC")),
            "d": pa.array([dt.date(2013, 1, 1), None], pa.date32()),
            "blob": pa.array([b"x", None], pa.binary()),
            "cat": pa.array(["a", "b"]).dictionary_encode(),
            "engine": pa.array(
                [{"count": 2, "Type": "Turbo"}, None],
                pa.struct([("count", pa.int32()), ("Type", pa.string())]),
            ),
            "tags": pa.array([["a"], []], pa.list_(pa.string())),
            "attrs": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())),
            "deep": pa.array(
                [{"a": [{"b": 1.5}]}, None],
                pa.struct([("a", pa.list_(pa.struct([("b", pa.float64())])))]),
            ),
        }
    )
    pq.write_table(table, tmp_path / "x.parquet")
    fsch = infer_parquet(str(tmp_path / "x.parquet"), pafs.LocalFileSystem())
    assert fsch.classification == "parquet" and fsch.record_count == 2
    assert fsch.columns == [
        ("id", "bigint"),
        ("small", "tinyint"),
        ("i16", "smallint"),
        ("i32", "int"),
        ("f32", "float"),
        ("ok", "boolean"),
        ("price", "decimal(10,2)"),
        ("seen", "timestamp"),
        ("d", "date"),
        ("blob", "binary"),
        ("cat", "string"),
        ("engine", "struct<count:int,type:string>"),
        ("tags", "array<string>"),
        ("attrs", "map<string,bigint>"),
        ("deep", "struct<a:array<struct<b:double>>>"),
    ]


def test_arrow_unsigned_and_large_types():
    assert arrow_type_to_glue(pa.uint8()) == "smallint"
    assert arrow_type_to_glue(pa.uint32()) == "bigint"
    assert arrow_type_to_glue(pa.large_string()) == "string"
    assert arrow_type_to_glue(pa.large_list(pa.int32())) == "array<int>"
    assert arrow_type_to_glue(pa.timestamp("ns")) == "timestamp"


def test_csv_types_nulls_and_quoted_fields():
    data = (
        b"id,name,score,active,note,empty\n"
        b'1,"Smith, John",3.5,true,,\n'
        b'2,"O""Brien",,FALSE,"x",\n'
        b"3,Lee,4,true,y,\n"
    )
    f = infer_csv(data)
    assert f.classification == "csv" and f.delimiter == "," and f.has_header and f.quoted
    assert f.columns == [
        ("id", "bigint"),
        ("name", "string"),
        ("score", "double"),
        ("active", "boolean"),
        ("note", "string"),
        ("empty", "string"),
    ]
    assert f.record_count == 3


@pytest.mark.parametrize("delim", ["|", "\t", ";", "\x01"])
def test_csv_other_delimiters(delim):
    rows = [["carrier", "flights", "delay"], ["UA", "58665", "12.1"], ["B6", "54635", ""]]
    f = infer_csv("\n".join(delim.join(r) for r in rows).encode())
    assert f.delimiter == delim and f.has_header
    assert f.columns == [("carrier", "string"), ("flights", "bigint"), ("delay", "double")]


def test_csv_header_rules_follow_glue():
    # all columns string -> Glue infers no header: col0.., header row counted as data
    f = infer_csv(b"carrier,name\nUA,United Air Lines Inc.\nAA,American Airlines Inc.\n")
    assert f.columns == [("col0", "string"), ("col1", "string")] and not f.has_header
    assert f.record_count == 3
    # numeric first row -> no header
    g = infer_csv(b"1,2\n3,4\n")
    assert g.columns == [("col0", "bigint"), ("col1", "bigint")] and g.record_count == 2
    # integer too large for bigint -> string; mixed bigint/double -> double
    h = infer_csv(b"a,b\n99999999999999999999,1\n1,2.5\n")
    assert h.columns == [("a", "string"), ("b", "double")]


def test_csv_truncated_sample_drops_partial_line_and_estimates_rows():
    body = b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(1000))
    cut = body[:2003]  # ends in the middle of a line
    f = infer_csv(cut, complete=False, total_size=len(body))
    assert f.columns == [("a", "bigint"), ("b", "string")]
    assert not f.record_count_exact and 900 <= f.record_count <= 1100


def test_json_lines_nested_planes_like():
    lines = [
        {
            "tailnum": "N10156",
            "year": 2004,
            "engine": {"count": 2, "type": "Turbo-fan"},
            "capacity": {"seats": 55, "speed": None},
            "tags": [],
        },
        {
            "tailnum": "N102UW",
            "year": None,
            "engine": {"count": 2, "type": "Turbo-fan"},
            "capacity": {"seats": 182, "speed": 432.5},
            "tags": ["a", "b"],
            "Big": 5000000000,
        },
    ]
    f = infer_json("\n".join(json.dumps(x) for x in lines).encode())
    assert f.classification == "json" and f.record_count == 2
    assert f.columns == [
        ("tailnum", "string"),
        ("year", "int"),
        ("engine", "struct<count:int,type:string>"),
        ("capacity", "struct<seats:int,speed:double>"),
        ("tags", "array<string>"),
        ("big", "bigint"),
    ]


def test_json_array_document_nulls_and_conflicts():
    doc = [{"a": None, "b": 1, "c": [{"x": 1}, {"y": "s"}]}, {"a": None, "b": "two"}]
    f = infer_json(json.dumps(doc).encode())
    assert f.columns == [("a", "string"), ("b", "string"), ("c", "array<struct<x:int,y:string>>")]
    assert f.notes == ["b: int vs string"]


def test_gzip_sample_and_not_json():
    raw = gzip.compress(b'{"k": 1}\n' * 10)
    assert infer_json(decompress_sample(raw)).record_count == 10
    assert infer_json(b"plain text").classification == "unknown"


def test_merge_columns_evolution_and_conflicts():
    cols, conflicts = merge_columns(
        [("a", "int"), ("b", "string")], [("a", "bigint"), ("c", "double")]
    )
    assert cols == [("a", "bigint"), ("b", "string"), ("c", "double")] and conflicts == []
    cols, conflicts = merge_columns([("a", "bigint")], [("a", "string")], prefer_first=True)
    assert cols == [("a", "bigint")] and conflicts == ["a: bigint vs string"]


def test_exclusion_globs_like_glue():
    assert glob_to_regex("**.csv").match("a/b/c.csv")
    assert not glob_to_regex("*.csv").match("a/c.csv")
    assert glob_to_regex("*.csv").match("c.csv")
    assert glob_to_regex("year=2013/**").match("year=2013/month=1/x.parquet")
    assert glob_to_regex("**/*.{tmp,bak}").match("a/x.bak")
    assert not glob_to_regex("**/*.{tmp,bak}").match("a/x.parquet")
