"""Bucketed tables: CTAS bucketed_by/bucket_count, CLUSTERED BY DDL, bucket pruning, Athena's refusals."""
from __future__ import annotations

import datetime as dt
import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakekit.local.athena import AthenaQueryError
from lakekit.local.athena._bucketing import bucket_of_file, hive_hash, spark_hash

DB = "lakedb"
NAME_RE = re.compile(r"0(\d{5})_0_[0-9a-f-]{36}_\d{8}_\d{6}_\d{5}_[a-z0-9]{5}")


def _objects(s3, prefix: str) -> list[tuple[str, int]]:
    out = s3.list_objects_v2(Bucket="lake", Prefix=prefix).get("Contents", [])
    return sorted((o["Key"], o["Size"]) for o in out)


def _fails(run, sql: str) -> AthenaQueryError:
    with pytest.raises(AthenaQueryError) as ei:
        run(sql)
    return ei.value


@pytest.fixture(scope="module")
def by_tail(run, lake):
    """flights bucketed by tailnum into 8 buckets, and the same rows unbucketed."""
    cols = "carrier, flight, tailnum, origin, dest, dep_delay, distance"
    run(f"CREATE TABLE bk_tail WITH (bucketed_by = ARRAY['tailnum'], bucket_count = 8, "
        f"external_location = 's3://lake/bk/tail/') AS SELECT {cols} FROM flights")
    run(f"CREATE TABLE bk_plain WITH (external_location = 's3://lake/bk/plain/') AS SELECT {cols} FROM flights")
    return lake


# ----------------------------------------------------------------------------- hash functions


def test_hive_v1_hash_is_javas_hash_code():
    # java.lang.String.hashCode of ASCII strings; Trino's HiveBucketingV1 for the others
    assert hive_hash(["string"], ["hello"]) == 99162322
    assert hive_hash(["string"], ["abc"]) == 96354
    assert hive_hash(["varchar(10)"], ["a"]) == 31 * 1 + 97  # varchar starts at 1
    assert hive_hash(["string"], ["é"]) == -61 * 31 - 87  # UTF-8 c3 a9 as signed bytes
    assert hive_hash(["int"], [-5]) == -5
    assert hive_hash(["bigint"], [2**33 + 1]) == 3  # (v >>> 32) ^ v
    assert hive_hash(["boolean", "int"], [True, 7]) == 31 + 7
    assert hive_hash(["date"], [dt.date(1970, 1, 11)]) == 10
    assert hive_hash(["string"], [None]) == 0
    assert hive_hash(["double"], [1.0]) == 1072693248  # 0x3ff00000_00000000 folded


def test_hive_bucket_agrees_with_awswrangler_for_ascii_and_positive_ints():
    from awswrangler.s3._write_dataset import _get_bucket_number

    from lakekit.local.athena._bucketing import BucketSpec, bucket_number

    spec = BucketSpec(("a", "b"), 7)
    for a, b in [("N14228", 1545), ("UA", 0), ("", 99), ("zzz", 2**31 - 1)]:
        assert bucket_number(spec, ["string", "int"], [a, b]) == _get_bucket_number(7, [a, b])


def test_spark_hash_equals_pyspark_hash():
    # pinned from pyspark 3.5.7: SELECT hash(...), pmod(hash('N14228'), 8)
    assert spark_hash(["int"], [5]) == 1023896466
    assert spark_hash(["bigint"], [-7]) == 222034016
    assert spark_hash(["bigint"], [8589934593]) == -1952210761
    assert spark_hash(["string"], ["abc"]) == 1322437556
    assert spark_hash(["string"], ["é"]) == 2119106806
    assert spark_hash(["string"], ["abcde"]) == 814637928
    assert spark_hash(["boolean"], [True]) == -559580957
    assert spark_hash(["double"], [1.5]) == 1290763749
    assert spark_hash(["double"], [-0.0]) == -1670924195
    assert spark_hash(["float"], [2.5]) == 204117216
    assert spark_hash(["date"], [dt.date(2013, 1, 1)]) == -1477305664
    assert spark_hash(["string", "int"], ["UA", 1545]) == 1388081303
    assert spark_hash(["string", "string"], [None, "x"]) == -80340190
    assert spark_hash(["tinyint"], [3]) == spark_hash(["smallint"], [3]) == -1823081949
    assert spark_hash(["string"], ["N14228"]) % 8 == 4


def test_bucket_numbers_from_file_names():
    assert bucket_of_file("000003_0_6b1e_20240101_010203_00001_abcde") == 3
    assert bucket_of_file("20190526_072952_00009_fn7s5_bucket-00234") == 234
    assert bucket_of_file("000234_0.txt") == 234
    assert bucket_of_file("bucket_00005") == 5
    assert bucket_of_file("part-00000-0b9a3c6e-1b1c-4a55-9d9a-3a0f5f9e7c11_00006.c000.snappy.parquet", "spark") == 6
    assert bucket_of_file("part-00000-0b9a3c6e-1b1c-4a55-9d9a-3a0f5f9e7c11_00006.c000.snappy.parquet") is None
    assert bucket_of_file("3f2a9c_bucket-00001.snappy.parquet") is None


# ----------------------------------------------------------------------------- CTAS


def test_ctas_writes_one_file_per_bucket_with_rows_of_that_bucket(by_tail, flights_df):
    glue, s3, fs = by_tail["glue"], by_tail["s3"], by_tail["fs"]
    t = glue.get_table(DatabaseName=DB, Name="bk_tail")["Table"]
    sd = t["StorageDescriptor"]
    assert sd["NumberOfBuckets"] == 8 and sd["BucketColumns"] == ["tailnum"] and sd["SortColumns"] == []
    assert t["Parameters"]["classification"] == "parquet"
    assert "bucketing_format" not in t["Parameters"] and "bucketing_version" not in t["Parameters"]
    objs = _objects(s3, "bk/tail/")
    names = [k.rsplit("/", 1)[1] for k, _ in objs]
    assert all(NAME_RE.fullmatch(n) for n in names), names
    buckets = sorted(int(NAME_RE.fullmatch(n).group(1)) for n in names)
    assert buckets == list(range(8))  # 4,000+ tail numbers fill every bucket, one file each
    total = 0
    for key, _ in objs:
        tbl = pq.read_table(f"lake/{key}", filesystem=fs)
        b = int(NAME_RE.fullmatch(key.rsplit("/", 1)[1]).group(1))
        got = {(hive_hash(["string"], [v]) & 0x7FFFFFFF) % 8 for v in tbl["tailnum"].to_pylist()}
        assert got == {b}
        total += tbl.num_rows
    assert total == len(flights_df)


def test_point_lookup_reads_one_bucket(run, by_tail, flights_df):
    sql = "SELECT count(*) AS n, sum(distance) AS d FROM {t} WHERE tailnum = 'N14228'"
    b, p = run(sql.format(t="bk_tail")), run(sql.format(t="bk_plain"))
    want = flights_df[flights_df.tailnum == "N14228"]
    assert b.rows() == p.rows() == [[str(len(want)), str(int(want.distance.sum()))]]
    assert 0 < b.data_scanned_bytes < p.data_scanned_bytes / 4  # 1 of 8 buckets
    # IN over two buckets, and a qualified alias
    two = ["N14228", "N24211"]
    r = run("SELECT count(*) FROM bk_tail t WHERE t.tailnum IN ('N14228', 'N24211')")
    assert r.rows() == [[str(int(flights_df.tailnum.isin(two).sum()))]]
    assert r.data_scanned_bytes < p.data_scanned_bytes / 2


def test_no_bucket_predicate_reads_everything(run, by_tail, flights_df):
    b = run("SELECT count(*) FROM bk_tail WHERE carrier = 'UA'")
    p = run("SELECT count(*) FROM bk_plain WHERE carrier = 'UA'")
    assert b.rows() == p.rows() == [[str(int((flights_df.carrier == "UA").sum()))]]
    both = "SELECT count(*) FROM {t} WHERE tailnum = 'N14228' AND carrier = 'UA'"
    lookup, plain = run(both.format(t="bk_tail")), run(both.format(t="bk_plain"))
    assert lookup.rows() == plain.rows() and lookup.data_scanned_bytes < plain.data_scanned_bytes / 4
    # OR is no discrete set: every bucket is read, the answer is still right
    o = run("SELECT count(*) FROM bk_tail WHERE tailnum = 'N14228' OR carrier = 'UA'")
    want = int(((flights_df.tailnum == "N14228") | (flights_df.carrier == "UA")).sum())
    assert o.rows() == [[str(want)]] and o.data_scanned_bytes >= b.data_scanned_bytes
    assert run("SELECT count(*) FROM bk_tail WHERE tailnum IS NULL").rows() == [[str(int(flights_df.tailnum.isna().sum()))]]


def test_partitioned_and_bucketed_ctas(run, lake, flights_df):
    run("CREATE TABLE bk_month WITH (partitioned_by = ARRAY['month'], bucketed_by = ARRAY['carrier'], "
        "bucket_count = 4, external_location = 's3://lake/bk/month/') AS "
        "SELECT carrier, flight, dep_delay, month FROM flights")
    glue, s3 = lake["glue"], lake["s3"]
    parts = glue.get_partitions(DatabaseName=DB, TableName="bk_month")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["1", "2", "3"]
    assert all(p["StorageDescriptor"]["NumberOfBuckets"] == 4 for p in parts)
    keys = [k for k, _ in _objects(s3, "bk/month/")]
    assert {k.split("/")[2] for k in keys} == {"month=1", "month=2", "month=3"}
    assert len(keys) == 12 and all(NAME_RE.fullmatch(k.rsplit("/", 1)[1]) for k in keys)
    one = run("SELECT count(*), sum(flight) FROM bk_month WHERE month = 2 AND carrier = 'AA'")
    full = run("SELECT count(*), sum(flight) FROM bk_month WHERE month = 2 AND carrier LIKE 'AA'")  # no pruning
    want = flights_df[(flights_df.month == 2) & (flights_df.carrier == "AA")]
    assert one.rows() == full.rows() == [[str(len(want)), str(int(want.flight.sum()))]]
    assert 0 < one.data_scanned_bytes < full.data_scanned_bytes  # 1 of 4 files of month=2 (carriers are skewed)


def test_two_bucket_columns_prune_only_with_both(run, lake, flights_df):
    run("CREATE TABLE bk_two WITH (bucketed_by = ARRAY['origin', 'carrier'], bucket_count = 6, "
        "external_location = 's3://lake/bk/two/') AS SELECT origin, carrier, flight FROM flights")
    both = run("SELECT count(*) FROM bk_two WHERE origin = 'JFK' AND carrier = 'B6'")
    one = run("SELECT count(*) FROM bk_two WHERE origin = 'JFK' AND carrier LIKE 'B6'")  # one column bound
    assert both.rows() == one.rows() == [
        [str(int(((flights_df.origin == "JFK") & (flights_df.carrier == "B6")).sum()))]]
    assert 0 < both.data_scanned_bytes < one.data_scanned_bytes / 2


def test_integer_bucket_column_and_empty_result(run, lake, flights_df):
    run("CREATE TABLE bk_flight WITH (bucketed_by = ARRAY['flight'], bucket_count = 5, "
        "external_location = 's3://lake/bk/flight/') AS SELECT flight, carrier FROM flights")
    keys = [k.rsplit("/", 1)[1] for k, _ in _objects(lake["s3"], "bk/flight/")]
    for k in keys:
        tbl = pq.read_table(f"lake/bk/flight/{k}", filesystem=lake["fs"])
        assert {f % 5 for f in tbl["flight"].to_pylist()} == {int(k[1:6])}  # int hash = the value
    r = run("SELECT count(*) FROM bk_flight WHERE flight IN (1545, 1714)")
    assert r.rows() == [[str(int(flights_df.flight.isin([1545, 1714]).sum()))]]
    assert run("SELECT count(*) FROM bk_flight WHERE flight = 999999").rows() == [["0"]]


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("props", "kind", "message"), [
    ("bucket_count = 4", "INVALID_TABLE_PROPERTY", "bucketed_by and bucket_count must be specified together"),
    ("bucketed_by = ARRAY['carrier']", "INVALID_TABLE_PROPERTY",
     "bucketed_by and bucket_count must be specified together"),
    ("bucketed_by = ARRAY['carrier'], bucket_count = 0", "INVALID_TABLE_PROPERTY",
     "bucketed_by and bucket_count must be specified together"),
    ("bucketed_by = ARRAY['carrier'], bucket_count = -2", "INVALID_TABLE_PROPERTY",
     "bucket_count must be greater than zero"),
    ("bucketed_by = ARRAY['carrier'], bucket_count = 'many'", "INVALID_TABLE_PROPERTY",
     "Invalid value for table property 'bucket_count'"),
    ("bucketed_by = ARRAY['nope'], bucket_count = 4", "INVALID_TABLE_PROPERTY",
     "Bucketing columns ['nope'] not present in schema"),
    ("bucketed_by = ARRAY['time_hour'], bucket_count = 4", "NOT_SUPPORTED",
     "Writing to tables bucketed on timestamp not supported"),
    ("bucketed_by = ARRAY['price'], bucket_count = 4", "NOT_SUPPORTED",
     "Bucketing on column 'price' of type decimal(10,2) is not supported"),
    ("bucketed_by = ARRAY['month'], bucket_count = 4, partitioned_by = ARRAY['month']", "INVALID_TABLE_PROPERTY",
     "Bucketing columns ['month'] are partition columns"),
    ("bucketed_by = ARRAY['tailnum'], bucket_count = 101", "HIVE_TOO_MANY_OPEN_PARTITIONS",
     "Exceeded limit of 100 open writers for partitions/buckets"),
])
def test_ctas_refusals(run, lake, props, kind, message):
    e = _fails(run, f"CREATE TABLE bk_bad WITH ({props}, external_location = 's3://lake/bk/bad/') AS "
                    "SELECT carrier, tailnum, time_hour, CAST(distance AS decimal(10,2)) AS price, month FROM flights")
    assert e.error_type == kind and e.error_category == 2
    assert e.message.startswith(f"{kind}: ") and message in e.message
    assert lake["glue"].get_tables(DatabaseName=DB, Expression="bk_bad")["TableList"] == []
    assert _objects(lake["s3"], "bk/bad/") == []


def test_insert_into_bucketed_table_refused(run, by_tail):
    before = _objects(by_tail["s3"], "bk/tail/")
    e = _fails(run, "INSERT INTO bk_tail SELECT carrier, flight, tailnum, origin, dest, dep_delay, distance "
                    "FROM flights LIMIT 1")
    assert e.error_type == "NOT_SUPPORTED" and "Cannot insert into bucketed table lakedb.bk_tail" in e.message
    assert _objects(by_tail["s3"], "bk/tail/") == before
    run("INSERT INTO bk_plain SELECT carrier, flight, tailnum, origin, dest, dep_delay, distance FROM flights LIMIT 0")


# ----------------------------------------------------------------------------- CREATE EXTERNAL TABLE ... CLUSTERED BY


def _put_parquet(lake, key: str, tbl: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(tbl, buf)
    lake["s3"].put_object(Bucket="lake", Key=key, Body=buf.getvalue())


def test_clustered_by_ddl_metadata_and_spark_pruning(run, lake):
    # a Spark-written dataset: one file per bucket, Spark's names, rows placed by Spark's hash
    ids = list(range(40))
    names = {b: [] for b in range(4)}
    for i in ids:
        names[spark_hash(["int"], [i]) % 4].append(i)
    for b, vals in names.items():
        _put_parquet(lake, f"bk/spark/part-00000-0b9a3c6e-1b1c-4a55-9d9a-3a0f5f9e7c11_{b:05d}.c000.snappy.parquet",
                     pa.table({"id": pa.array(vals, pa.int32()), "v": pa.array([str(v) for v in vals])}))
    run("CREATE EXTERNAL TABLE bk_spark (id int, v string) CLUSTERED BY (id) INTO 4 BUCKETS STORED AS PARQUET "
        "LOCATION 's3://lake/bk/spark/' TBLPROPERTIES ('bucketing_format'='spark')")
    t = lake["glue"].get_table(DatabaseName=DB, Name="bk_spark")["Table"]
    assert t["StorageDescriptor"]["NumberOfBuckets"] == 4 and t["StorageDescriptor"]["BucketColumns"] == ["id"]
    assert t["Parameters"]["bucketing_format"] == "spark"
    one = run("SELECT v FROM bk_spark WHERE id = 17")
    every = run("SELECT v FROM bk_spark WHERE id + 0 = 17")  # not a bucket predicate: reads all 4 files
    assert one.rows() == every.rows() == [["17"]]
    assert run("SELECT count(*) FROM bk_spark").rows() == [["40"]]
    assert 0 < one.data_scanned_bytes < every.data_scanned_bytes


def test_clustered_by_refusals_and_corrupt_bucket_files(run, lake):
    e = _fails(run, "CREATE EXTERNAL TABLE bk_x (a int) CLUSTERED BY (b) INTO 4 BUCKETS STORED AS PARQUET "
                    "LOCATION 's3://lake/bk/x/'")
    assert e.error_type == "SEMANTIC_ERROR" and "Invalid column reference 'b'" in e.message
    e = _fails(run, "CREATE EXTERNAL TABLE bk_x (a int) CLUSTERED BY (a) INTO 0 BUCKETS STORED AS PARQUET "
                    "LOCATION 's3://lake/bk/x/'")
    assert e.error_type == "SEMANTIC_ERROR" and "greater than zero" in e.message
    # 3 files whose names carry no bucket number, 4 declared buckets: Trino's HIVE_INVALID_BUCKET_FILES
    for i in range(3):
        _put_parquet(lake, f"bk/odd/data-{i}.parquet", pa.table({"a": pa.array([i], pa.int32())}))
    run("CREATE EXTERNAL TABLE bk_odd (a int) CLUSTERED BY (a) INTO 4 BUCKETS STORED AS PARQUET "
        "LOCATION 's3://lake/bk/odd/'")
    e = _fails(run, "SELECT count(*) FROM bk_odd")
    assert e.error_type == "HIVE_INVALID_BUCKET_FILES"
    assert ("Hive table 'lakedb.bk_odd' is corrupt. File 'data-0.parquet' does not match the standard naming "
            "pattern, and the number of files in the directory (3) does not match the declared bucket count (4)") \
        in e.message
    # exactly one file per bucket: sorted order gives the bucket numbers (Hive's legacy rule)
    _put_parquet(lake, "bk/odd/data-3.parquet", pa.table({"a": pa.array([3], pa.int32())}))
    assert run("SELECT count(*) FROM bk_odd").rows() == [["4"]]
    assert run("SELECT a FROM bk_odd WHERE a = 2").rows() == [["2"]]
    # a bucket number beyond the declared count
    _put_parquet(lake, "bk/high/000009_0_x", pa.table({"a": pa.array([9], pa.int32())}))
    run("CREATE EXTERNAL TABLE bk_high (a int) CLUSTERED BY (a) INTO 4 BUCKETS STORED AS PARQUET "
        "LOCATION 's3://lake/bk/high/'")
    e = _fails(run, "SELECT count(*) FROM bk_high")
    assert e.error_type == "HIVE_INVALID_BUCKET_FILES" and "highest bucket number in the directory (9)" in e.message


def test_empty_buckets_get_no_file(run, lake, flights_df):
    run("CREATE TABLE bk_sparse WITH (bucketed_by = ARRAY['origin'], bucket_count = 10, "
        "external_location = 's3://lake/bk/sparse/') AS SELECT origin, flight FROM flights")
    names = [k.rsplit("/", 1)[1] for k, _ in _objects(lake["s3"], "bk/sparse/")]
    want = sorted({(hive_hash(["string"], [o]) & 0x7FFFFFFF) % 10 for o in flights_df.origin.unique()})
    assert sorted(int(n[1:6]) for n in names) == want and len(want) < 10
    assert run("SELECT count(*) FROM bk_sparse WHERE origin = 'LGA'").rows() == [
        [str(int((flights_df.origin == "LGA").sum()))]]


def test_bucketing_version_2_table_is_read_whole(run, lake):
    for b in range(2):
        _put_parquet(lake, f"bk/v2/00000{b}_0", pa.table({"a": pa.array([b, b + 2], pa.int32())}))
    run("CREATE EXTERNAL TABLE bk_v2 (a int) CLUSTERED BY (a) INTO 2 BUCKETS STORED AS PARQUET "
        "LOCATION 's3://lake/bk/v2/' TBLPROPERTIES ('bucketing_version'='2')")
    pruned_v1 = run("SELECT a FROM bk_v2 WHERE a = 2")
    assert pruned_v1.rows() == [["2"]]
    assert pruned_v1.data_scanned_bytes == run("SELECT a FROM bk_v2 WHERE a + 0 = 2").data_scanned_bytes
