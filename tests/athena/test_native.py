"""DuckDB's native Parquet reader over mirrored copies vs the pyarrow path: same rows, types, bytes."""
from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from lakekit.local.athena import QueryEngine, TableAccess
from lakekit.local.athena._native import ParquetMirror, columns_read

from .conftest import BUCKET, DB, PARQUET_SD, REGION

QUERIES = [
    "SELECT carrier, count(*) AS n FROM flights GROUP BY carrier ORDER BY carrier",
    "SELECT * FROM flights WHERE year = 2013 AND month = 2 AND day = 3 ORDER BY flight, carrier, sched_dep_time",
    "SELECT month, day, avg(arr_delay) AS a, max(time_hour) AS t, min(flight_date) AS d FROM flights "
    "GROUP BY month, day ORDER BY month, day",
    "SELECT f.carrier, a.name, count(*) AS n FROM flights f JOIN airlines a ON f.carrier = a.carrier "
    "WHERE f.month = 3 GROUP BY f.carrier, a.name ORDER BY n DESC, f.carrier",
    "SELECT x.c, count(*) AS n FROM (SELECT origin AS c FROM flights WHERE day = 1) x GROUP BY x.c ORDER BY x.c",
    "SELECT count(*) AS n FROM flights WHERE dep_delay > 60",
    "SELECT flight FROM flights WHERE year = 2013 AND month = 1 AND day = 1 ORDER BY flight LIMIT 3",
    "SELECT * FROM (SELECT carrier, distance FROM flights WHERE day = 2) s ORDER BY carrier, distance LIMIT 5",
]


@pytest.fixture(scope="module")
def arrow_engine(lake) -> QueryEngine:
    return QueryEngine(lake["glue"], lake["s3"], lake["url"], REGION, native_parquet=False)


@pytest.fixture(scope="module")
def native_engine(lake, tmp_path_factory) -> QueryEngine:
    return QueryEngine(lake["glue"], lake["s3"], lake["url"], REGION,
                       mirror_dir=tmp_path_factory.mktemp("mirror") / "m")


@pytest.mark.parametrize("sql", QUERIES)
def test_native_equals_pyarrow_path(native_engine, arrow_engine, sql):
    native = native_engine.execute(sql, database=DB)
    arrow = arrow_engine.execute(sql, database=DB)
    assert native.rows() == arrow.rows() and len(native.rows()) > 0
    assert [(c.name, c.type) for c in native.columns] == [(c.name, c.type) for c in arrow.columns]
    assert native.data_scanned_bytes == arrow.data_scanned_bytes


def test_native_reads_mirror_copies_once(native_engine):
    root = native_engine.mirror.root
    native_engine.execute("SELECT count(distance) AS n FROM flights", database=DB)
    copies = sorted(Path(root).rglob("*.parquet"))
    assert len(copies) == 21  # one per S3 object, in Hive folders built from Glue's values
    assert {p.relative_to(root).parts[1:4] for p in copies} == {
        ("year=2013", f"month={m}", f"day={d}") for m in (1, 2, 3) for d in range(1, 8)}
    mtimes = {p: p.stat().st_mtime_ns for p in copies}
    native_engine.execute("SELECT count(distance) AS n FROM flights", database=DB)
    assert {p: p.stat().st_mtime_ns for p in Path(root).rglob("*.parquet")} == mtimes


def _table(glue, name: str, location: str, columns: list[tuple[str, str]], keys: list[str]) -> None:
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys],
        "StorageDescriptor": {**PARQUET_SD, "Location": location,
                              "Columns": [{"Name": n, "Type": t} for n, t in columns]}})


def _put_parquet(s3, key: str, tbl: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(tbl, buf)
    s3.put_object(Bucket=BUCKET, Key=key, Body=buf.getvalue())


def test_overwritten_object_is_read_fresh(lake, native_engine):
    s3, glue = lake["s3"], lake["glue"]
    _table(glue, "native_versions", f"s3://{BUCKET}/native/versions/", [("v", "bigint")], [])
    _put_parquet(s3, "native/versions/a.parquet", pa.table({"v": [1, 2]}))
    first = native_engine.execute("SELECT sum(v) AS s FROM native_versions", database=DB)
    _put_parquet(s3, "native/versions/a.parquet", pa.table({"v": [10, 20, 30]}))
    second = native_engine.execute("SELECT sum(v) AS s FROM native_versions", database=DB)
    assert (first.rows(), second.rows()) == ([["3"]], [["60"]])


def test_schema_drift_and_odd_partition_values_use_the_pyarrow_path(lake, native_engine):
    s3, glue = lake["s3"], lake["glue"]
    _table(glue, "native_drift", f"s3://{BUCKET}/native/drift/", [("id", "bigint"), ("note", "string")], ["src"])
    _put_parquet(s3, "native/drift/src=a/1.parquet", pa.table({"id": [1, 2], "note": ["x", "y"]}))
    _put_parquet(s3, "native/drift/src=b b/1.parquet", pa.table({"id": [3]}))  # no 'note'; a space in the value
    glue.batch_create_partition(DatabaseName=DB, TableName="native_drift", PartitionInputList=[
        {"Values": [v], "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/native/drift/src={v}/"}}
        for v in ("a", "b b")])
    r = native_engine.execute("SELECT src, id, note FROM native_drift ORDER BY id", database=DB)
    assert r.rows() == [["a", "1", "x"], ["a", "2", "y"], ["b b", "3", None]]
    one = native_engine.execute("SELECT id, note FROM native_drift WHERE src = 'a' ORDER BY id", database=DB)
    assert one.rows() == [["1", "x"], ["2", "y"]] and one.data_scanned_bytes > 0


def test_a_non_parquet_object_fails_naming_it(lake, native_engine):
    from lakekit.local.athena import AthenaQueryError

    s3, glue = lake["s3"], lake["glue"]
    _table(glue, "native_bad", f"s3://{BUCKET}/native/bad/", [("v", "bigint")], [])
    _put_parquet(s3, "native/bad/good.parquet", pa.table({"v": [1]}))
    s3.put_object(Bucket=BUCKET, Key="native/bad/notes.txt", Body=b"not parquet at all")
    with pytest.raises(AthenaQueryError) as ei:
        native_engine.execute("SELECT sum(v) AS s FROM native_bad", database=DB)
    assert ei.value.error_type == "HIVE_BAD_DATA"
    assert f"s3://{BUCKET}/native/bad/notes.txt is not a readable Parquet file" in ei.value.message


def test_lake_formation_view_meters_visible_and_filter_columns(native_engine, arrow_engine):
    hook = lambda db, table: TableAccess(columns=["carrier", "distance"], row_filter="origin = 'JFK'")  # noqa: E731
    for sql in ("SELECT * FROM flights", "SELECT carrier, count(*) AS n FROM flights GROUP BY carrier ORDER BY carrier"):
        native = native_engine.execute(sql, database=DB, access=hook)
        arrow = arrow_engine.execute(sql, database=DB, access=hook)
        assert native.rows() == arrow.rows()
        assert [c.name for c in native.columns] == [c.name for c in arrow.columns]
        assert native.data_scanned_bytes == arrow.data_scanned_bytes > 0


def test_mirror_evicts_least_recently_used_copies(tmp_path):
    mirror = ParquetMirror(tmp_path)
    mirror.BUDGET, mirror.IDLE = 1, 0.0
    bodies = {}
    for i in range(3):
        buf = io.BytesIO()
        pq.write_table(pa.table({"v": [i]}), buf)
        bodies[f"b/k{i}"] = buf.getvalue()
    wanted = [(k, mirror.local_path("t", "", k, f'"e{i}"')) for i, k in enumerate(bodies)]
    metas = mirror.ensure(wanted, bodies.__getitem__)
    assert [m.schema.names for m in metas] == [["v"]] * 3
    assert sorted(p.name for p in tmp_path.rglob("*.parquet")) == []  # all idle and over budget: evicted
    mirror.BUDGET = 1 << 30
    mirror.ensure(wanted[:1], bodies.__getitem__)
    assert len(list(tmp_path.rglob("*.parquet"))) == 1


@pytest.mark.parametrize("sql,expected", [
    ("SELECT * FROM t", {"t": None}),
    ("SELECT count(*) FROM t", {"t": set()}),
    ("SELECT a, count(*) FROM t WHERE b > 1 GROUP BY a", {"t": {"a", "b"}}),
    ("SELECT t.a, u.* FROM t JOIN u ON t.k = u.k", {"t": {"a", "k"}, "u": None}),
    ("SELECT s.f FROM t", {"t": {"s", "f"}}),  # struct access: both names may be columns
    ("SELECT x.c FROM (SELECT a AS c FROM t) x", {"t": {"a", "c", "x"}}),  # conservative
    ("SELECT * FROM (SELECT a FROM t) x", {"t": {"a"}}),  # * over a subquery: its columns only
    ("SELECT * FROM t JOIN (SELECT k FROM u) v ON t.k = v.k", {"t": None, "u": {"k", "v"}}),
])
def test_columns_read(sql, expected):
    assert columns_read(sqlglot.parse_one(sql, read="trino"), expected.keys()) == expected
