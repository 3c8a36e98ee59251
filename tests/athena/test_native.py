"""DuckDB's native Parquet reader over mirrored copies vs the pyarrow path: same rows, types, bytes."""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from lakekit.local.athena import QueryEngine, TableAccess
from lakekit.local.athena._native import ParquetMirror, columns_read

from . import _gwlake as L
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


# ----------------------------------------------------------------------------- hard links to persistence blobs
def _parquet_body(values: list[int]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"v": values}), buf)
    return buf.getvalue()


def _blob_mirror(tmp_path: Path) -> tuple[ParquetMirror, Path]:
    blobs = tmp_path / "state" / "blobs"
    blobs.mkdir(parents=True)
    return ParquetMirror(tmp_path / "mirror", blobs), blobs


def _no_fetch(path: str) -> bytes:
    raise AssertionError(f"{path} was fetched although its blob exists")


def test_mirror_links_a_blob_with_the_same_etag_and_size_instead_of_copying(tmp_path):
    from lakekit.local.persistence import blob_name

    mirror, blobs = _blob_mirror(tmp_path)
    body = _parquet_body([1, 2, 3])
    (blobs / blob_name('"abc123"', len(body))).write_bytes(body)
    blob = mirror.blob_for('"abc123"', len(body))
    assert blob == str(blobs / f"etag-abc123-{len(body)}")
    local = mirror.local_path("t", "", "b/k", '"abc123"')
    [meta] = mirror.ensure([("b/k", local, (blob, len(body)))], _no_fetch)
    assert os.stat(local).st_ino == os.stat(blob).st_ino and os.stat(blob).st_nlink == 2
    assert (mirror.linked, mirror.copied) == (1, 0)
    assert meta.schema.names == ["v"] and meta.size == len(body)


def test_mirror_copies_when_the_blob_is_missing_or_has_another_size(tmp_path):
    from lakekit.local.persistence import blob_name

    mirror, blobs = _blob_mirror(tmp_path)
    body = _parquet_body([7])
    truncated = blobs / blob_name('"e1"', len(body))
    truncated.write_bytes(body[:-5])  # a blob of another size is not this body
    wanted = [("b/k1", mirror.local_path("t", "", "b/k1", '"e1"'), (str(truncated), len(body))),
              ("b/k2", mirror.local_path("t", "", "b/k2", '"e2"'), (mirror.blob_for('"e2"', len(body)), len(body)))]
    mirror.ensure(wanted, {"b/k1": body, "b/k2": body}.__getitem__)
    assert (mirror.linked, mirror.copied) == (0, 2)
    for _, local, _ in wanted:
        assert os.stat(local).st_nlink == 1 and Path(local).read_bytes() == body
    assert truncated.read_bytes() == body[:-5]


def test_mirror_copies_when_hard_links_fail(tmp_path, monkeypatch):
    from lakekit.local.persistence import blob_name

    mirror, blobs = _blob_mirror(tmp_path)
    body = _parquet_body([5])
    (blobs / blob_name('"e"', len(body))).write_bytes(body)

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    local = mirror.local_path("t", "", "b/k", '"e"')
    mirror.ensure([("b/k", local, (mirror.blob_for('"e"', len(body)), len(body)))], {"b/k": body}.__getitem__)
    assert (mirror.linked, mirror.copied) == (0, 1)
    assert os.stat(local).st_ino != os.stat(blobs / blob_name('"e"', len(body))).st_ino
    assert Path(local).read_bytes() == body


def test_eviction_unlinks_the_mirror_name_and_leaves_the_blob_intact(tmp_path):
    from lakekit.local.persistence import blob_name

    mirror, blobs = _blob_mirror(tmp_path)
    mirror.BUDGET, mirror.IDLE = 1, 0.0
    body = _parquet_body([1, 2])
    blob = blobs / blob_name('"ee"', len(body))
    blob.write_bytes(body)
    local = mirror.local_path("t", "", "b/k", '"ee"')
    mirror.ensure([("b/k", local, (str(blob), len(body)))], _no_fetch)
    assert mirror.linked == 1 and not os.path.exists(local)  # idle and over budget: evicted at once
    assert os.stat(blob).st_nlink == 1 and blob.read_bytes() == body
    assert pq.read_table(blob).column("v").to_pylist() == [1, 2]


def test_a_replaced_mirror_file_never_writes_into_the_linked_blob(tmp_path):
    """A copy over an existing (linked) name goes to a new inode: the blob keeps its bytes."""
    from lakekit.local.athena._native import _write_new
    from lakekit.local.persistence import blob_name

    mirror, blobs = _blob_mirror(tmp_path)
    body = _parquet_body([1])
    blob = blobs / blob_name('"x"', len(body))
    blob.write_bytes(body)
    local = mirror.local_path("t", "", "b/k", '"x"')
    mirror.ensure([("b/k", local, (str(blob), len(body)))], _no_fetch)
    _write_new(local, b"other bytes")
    assert Path(local).read_bytes() == b"other bytes" and blob.read_bytes() == body
    assert os.stat(blob).st_nlink == 1


def test_a_restarted_mirror_keeps_valid_files_and_remakes_the_others(tmp_path):
    from lakekit.local.persistence import blob_name

    blobs = tmp_path / "state" / "blobs"
    blobs.mkdir(parents=True)
    root = tmp_path / "work" / "athena-mirror"
    old = ParquetMirror(root, blobs)
    bodies = {f"b/k{i}": _parquet_body(list(range(i + 1))) for i in range(3)}
    wanted = []
    for i, (path, body) in enumerate(bodies.items()):
        (blobs / blob_name(f'"r{i}"', len(body))).write_bytes(body)
        wanted.append((path, old.local_path("t", "", path, f'"r{i}"'), (old.blob_for(f'"r{i}"', len(body)), len(body))))
    old.ensure(wanted, _no_fetch)
    torn, leftover_tmp, orphan = wanted[1][1], wanted[1][1] + ".123-456.tmp", root / "t" / "gone-object.parquet"
    os.unlink(torn)
    Path(torn).write_bytes(b"torn")  # a copy of another size under the right name
    Path(leftover_tmp).write_bytes(b"half")
    orphan.write_bytes(b"an object nobody reads any more")
    inodes = [os.stat(w[1]).st_ino for w in wanted]
    mirror = ParquetMirror.for_root(root, blobs)  # a new process
    try:
        assert not os.path.exists(leftover_tmp) and orphan.exists()  # kept until the budget needs room
        metas = mirror.ensure(wanted, _no_fetch)
        assert [m.size for m in metas] == [len(b) for b in bodies.values()]
        assert (mirror.linked, mirror.copied) == (1, 0)  # only the torn one was made again
        assert os.stat(wanted[0][1]).st_ino == inodes[0] and os.stat(wanted[2][1]).st_ino == inodes[2]
        assert Path(torn).read_bytes() == bodies["b/k1"] and os.stat(torn).st_nlink == 2
        mirror.BUDGET, mirror.IDLE = 1, 3600.0
        mirror._evict(0.0)  # over budget: the unclaimed file goes first, claimed ones stay
        assert not orphan.exists() and all(os.path.exists(w[1]) for w in wanted)
        assert all(blob.read_bytes() for blob in blobs.iterdir())
    finally:
        ParquetMirror._mirrors.pop(str(root), None)


def _alnum(etag: str) -> str:  # how mirror file names spell an ETag ("<md5>-<parts>" for multipart)
    return "".join(c for c in etag if c.isalnum())


def _endpoint_query(athena, sql: str) -> list[list[str | None]]:
    qe = L.run(athena, sql)
    assert qe["Status"]["State"] == "SUCCEEDED", qe["Status"]
    return L.results(athena, qe["QueryExecutionId"])[1]


def test_first_query_after_restart_links_the_persistence_blobs(fresh_endpoint):
    ep = fresh_endpoint
    L.build(ep)
    sql = "SELECT carrier, count(*) AS n, sum(distance) AS d FROM flights GROUP BY carrier ORDER BY carrier"
    before = _endpoint_query(ep.client("athena"), sql)
    assert len(before) > 10
    ep.stop()  # snapshots: every object body is a blob now
    ep.start()
    mirror, blobs = ep.home / "work" / "athena-mirror", ep.home / "state" / "blobs"
    assert len(list(mirror.rglob("*.parquet"))) == 21
    shutil.rmtree(mirror)  # as if never queried before the snapshot: the first query must link
    athena = ep.client("athena")
    assert _endpoint_query(athena, sql) == before
    blob_inodes = {p.stat().st_ino: p for p in blobs.iterdir()}
    copies = sorted(mirror.rglob("*.parquet"))
    assert len(copies) == 21
    assert all(p.stat().st_ino in blob_inodes and p.stat().st_nlink >= 2 for p in copies)
    assert all(blob_inodes[p.stat().st_ino].read_bytes() == p.read_bytes() for p in copies)

    # an object overwritten after the snapshot: a fresh copy (or its new blob), never the stale blob
    s3 = ep.client("s3")
    key = "processed/flights/year=2013/month=1/day=1/part-0.parquet"
    old_tag = _alnum(s3.head_object(Bucket=L.BUCKET, Key=key)["ETag"])
    [old_copy] = [p for p in copies if p.name.endswith(f"-{old_tag}.parquet")]
    old_ino = old_copy.stat().st_ino
    tbl = pq.read_table(io.BytesIO(s3.get_object(Bucket=L.BUCKET, Key=key)["Body"].read())).slice(0, 5)
    buf = io.BytesIO()
    pq.write_table(tbl, buf)
    body = buf.getvalue()
    s3.put_object(Bucket=L.BUCKET, Key=key, Body=body)
    new_tag = _alnum(s3.head_object(Bucket=L.BUCKET, Key=key)["ETag"])
    assert new_tag != old_tag
    rows = _endpoint_query(athena, "SELECT count(*) AS n FROM flights WHERE year = 2013 AND month = 1 AND day = 1")
    assert rows == [["n"], ["5"]]
    [fresh] = [p for p in mirror.rglob("*.parquet") if p.name.endswith(f"-{new_tag}.parquet")]
    assert fresh.stat().st_ino != old_ino and fresh.read_bytes() == body
    assert old_copy.read_bytes() != body  # the old linked copy (and its blob) kept the old bytes


def test_footers_of_blob_backed_objects_are_reused_after_a_restart(tmp_path, monkeypatch):
    from lakekit.local.athena import _native
    from lakekit.local.persistence import blob_name

    mirror, blobs = _blob_mirror(tmp_path)
    bodies = [_parquet_body([i, i + 1]) for i in range(3)]
    wanted = []
    for i, body in enumerate(bodies):
        (blobs / blob_name(f'"t{i}"', len(body))).write_bytes(body)
        wanted.append((f"b/k{i}", mirror.local_path("t", "", f"b/k{i}", f'"t{i}"'),
                       (mirror.blob_for(f'"t{i}"', len(body)), len(body))))
    first = mirror.ensure(wanted, _no_fetch)
    assert mirror.footers_read == 3 and (tmp_path / "mirror.footers.pkl").exists()

    def no_footer_read(*a, **k):
        raise AssertionError("a footer was parsed although the index has it")

    monkeypatch.setattr(_native.FileMeta, "read", no_footer_read)
    shutil.rmtree(tmp_path / "mirror")  # a new process: the mirror emptied, nothing in memory
    restarted = ParquetMirror(tmp_path / "mirror", blobs)
    again = restarted.ensure(wanted, _no_fetch)
    assert (restarted.linked, restarted.copied, restarted.footers_read) == (3, 0, 0)
    assert [(m.schema, m.column_bytes, m.size) for m in again] == [(m.schema, m.column_bytes, m.size) for m in first]
    assert all(m.schema is again[0].schema for m in again)  # shared: the native path compares with `is`


def test_a_footer_index_entry_of_another_size_or_a_torn_index_is_not_trusted(tmp_path):
    from lakekit.local.persistence import blob_name

    mirror, blobs = _blob_mirror(tmp_path)
    body = _parquet_body([1, 2, 3])
    (blobs / blob_name('"s"', len(body))).write_bytes(body)
    blob = mirror.blob_for('"s"', len(body))
    mirror.ensure([("b/k", mirror.local_path("t", "", "b/k", '"s"'), (blob, len(body)))], _no_fetch)
    restarted = ParquetMirror(tmp_path / "mirror", blobs)
    assert restarted._footers.get(os.path.basename(blob), len(body) + 1) is None
    assert restarted._footers.get(os.path.basename(blob), len(body)).size == len(body)
    (tmp_path / "mirror.footers.pkl").write_bytes(b"torn")
    torn = ParquetMirror(tmp_path / "mirror2", blobs)
    assert torn._footers.get(os.path.basename(blob), len(body)) is None  # other root: no index yet
    torn = ParquetMirror(tmp_path / "mirror", blobs)
    assert torn._footers.get(os.path.basename(blob), len(body)) is None
    local = torn.local_path("t", "", "b/k", '"s"')
    os.unlink(local)
    [meta] = torn.ensure([("b/k", local, (blob, len(body)))], _no_fetch)
    assert torn.footers_read == 1 and torn.linked == 1 and meta.size == len(body)
