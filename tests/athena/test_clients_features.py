"""Issue #16's features through the clients that use them, with their own documented options.

awswrangler 3.17.1: ``wr.athena.create_ctas_table(storage_format=, write_compression=, bucketing_info=)``,
``wr.s3.to_parquet(bucketing_info=)`` tables queried with bucket pruning,
``read_sql_query(athena_cache_settings=)`` (its own client-side cache), ``paramstyle="named"``,
``wr.athena.repair_table`` / ``describe_table`` / ``show_create_table`` (backquoted DDL).
PyAthena 4.2.1: ``unload=True`` cursors (pandas, arrow), a managed-results workgroup without
``s3_staging_dir``, ``pyformat`` and ``qmark`` parameters, backquoted DDL and a refused backquoted
SELECT. Every test asserts rows, types, bytes scanned or the objects left in S3.
"""
from __future__ import annotations

import uuid

import pytest

from . import _gwlake as L

SQL = "SELECT carrier, count(*) AS n, sum(distance) AS dist FROM flights WHERE month = 1 GROUP BY carrier"


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture(scope="module")
def truth(lake) -> dict[str, tuple[int, int]]:
    df = lake["df"]
    g = df[df.month == 1].groupby("carrier").agg(n=("flight", "size"), dist=("distance", "sum"))
    return {c: (int(r.n), int(r.dist)) for c, r in g.iterrows()}




@pytest.fixture
def s3(endpoint):
    return endpoint.client("s3")


@pytest.fixture
def athena(endpoint, lake):
    return endpoint.client("athena")


def _fresh(name: str) -> str:
    return f"{name}/{uuid.uuid4().hex[:8]}/"


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def _connect(endpoint, **kw):
    from pyathena import connect

    kw.setdefault("s3_staging_dir", L.OUTPUT)
    return connect(region_name="us-east-1", schema_name=L.DB, endpoint_url=endpoint.url,
                   aws_access_key_id="test", aws_secret_access_key="test", poll_interval=0.05, **kw)


# ----------------------------------------------------------------------------- UNLOAD via PyAthena
@pytest.fixture
def s3_env(endpoint, monkeypatch):
    # PyAthena drops ``endpoint_url`` for its S3 client: S3 comes from the environment
    # (``lakekit local env`` exports AWS_ENDPOINT_URL for every service).
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint.url)


@pytest.fixture
def arrow_s3(endpoint, monkeypatch):
    # PyAthena's ArrowCursor builds a pyarrow S3FileSystem from region and credentials only, and
    # pyarrow 25 reads no endpoint from the environment: point it at the endpoint (a client gap).
    import pyarrow.fs as pafs
    from pyathena.arrow.result_set import AthenaArrowResultSetMetadataReader

    def make(self):
        return pafs.S3FileSystem(region="us-east-1", access_key="test", secret_key="test", scheme="http",
                                 endpoint_override=endpoint.url.split("://", 1)[1])

    monkeypatch.setattr(AthenaArrowResultSetMetadataReader, "_create_s3_file_system", make)


@pytest.mark.parametrize("kind", ["pandas", "arrow"])
def test_pyathena_unload_cursor(endpoint, s3, s3_env, arrow_s3, truth, kind):
    if kind == "pandas":
        from pyathena.pandas.cursor import PandasCursor as Cursor
    else:
        from pyathena.arrow.cursor import ArrowCursor as Cursor
    staging = f"s3://{L.RESULTS}/{_fresh('pyathena-unload')}"
    with _connect(endpoint, s3_staging_dir=staging, cursor_class=Cursor) as conn:
        cur = conn.cursor(unload=True)
        cur.execute(SQL)
        table = cur.as_pandas() if kind == "pandas" else cur.as_arrow().to_pandas()
        qid = cur.query_id
        assert cur.data_scanned_in_bytes > 0
    assert {r.carrier: (int(r.n), int(r.dist)) for r in table.itertuples()} == truth
    assert str(table["n"].dtype) in ("int64", "Int64")
    prefix = staging[len(f"s3://{L.RESULTS}/"):]
    keys = _keys(s3, L.RESULTS, prefix)
    data = [k for k in keys if "/unload/" in k]
    assert data and all(not k.endswith(".csv") for k in data)  # Parquet data files, no CSV result
    assert f"{prefix}{qid}-manifest.csv" in keys and f"{prefix}{qid}.metadata" in keys
    assert f"{prefix}{qid}.csv" not in keys


def test_pyathena_unload_of_an_unknown_typed_column_fails_as_athena(endpoint, s3_env):
    from pyathena.error import OperationalError
    from pyathena.pandas.cursor import PandasCursor

    with _connect(endpoint, s3_staging_dir=f"s3://{L.RESULTS}/{_fresh('pyathena-unload-bad')}",
                  cursor_class=PandasCursor) as conn:
        with pytest.raises(OperationalError) as exc:
            conn.cursor(unload=True).execute("SELECT x FROM (SELECT NULL AS x)")
    assert "COLUMN_TYPE_UNKNOWN" in str(exc.value)


# ----------------------------------------------------------------------------- CTAS formats via awswrangler
@pytest.mark.parametrize("fmt,codec,serde", [
    ("ORC", "ZLIB", "org.apache.hadoop.hive.ql.io.orc.OrcSerde"),
    ("PARQUET", "GZIP", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    ("AVRO", "DEFLATE", "org.apache.hadoop.hive.serde2.avro.AvroSerDe"),
    ("JSON", "GZIP", "org.apache.hive.hcatalog.data.JsonSerDe"),
])
def test_awswrangler_create_ctas_table_formats(wr, session, endpoint, truth, fmt, codec, serde):
    name = f"wr_ctas_{fmt.lower()}_{uuid.uuid4().hex[:6]}"
    out = f"s3://{L.RESULTS}/{_fresh('wr-ctas')}"
    meta = wr.athena.create_ctas_table(SQL, database=L.DB, ctas_table=name, s3_output=out, storage_format=fmt,
                                       write_compression=codec, wait=True, boto3_session=session)
    assert meta["ctas_query_metadata"].raw_payload["Status"]["State"] == "SUCCEEDED"
    table = endpoint.client("glue").get_table(DatabaseName=L.DB, Name=name)["Table"]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == serde
    df = wr.athena.read_sql_query(f"SELECT carrier, n, dist FROM {name}", database=L.DB, ctas_approach=False,
                                  s3_output=out, boto3_session=session)
    assert {r.carrier: (int(r.n), int(r.dist)) for r in df.itertuples()} == truth
    wr.catalog.delete_table_if_exists(database=L.DB, table=name, boto3_session=session)


def test_awswrangler_create_ctas_table_unsupported_codec_is_not_supported(wr, session):
    from awswrangler.exceptions import QueryFailed

    with pytest.raises(QueryFailed) as exc:
        wr.athena.create_ctas_table(SQL, database=L.DB, ctas_table=f"wr_bad_{uuid.uuid4().hex[:6]}",
                                    s3_output=f"s3://{L.RESULTS}/{_fresh('wr-ctas-bad')}", storage_format="AVRO",
                                    write_compression="LZ4", wait=True, boto3_session=session)
    assert "NOT_SUPPORTED" in str(exc.value)


# ----------------------------------------------------------------------------- bucketing via awswrangler
def _scanned(wr, session, sql: str) -> tuple[int, object]:
    df = wr.athena.read_sql_query(sql, database=L.DB, ctas_approach=False, s3_output=L.OUTPUT,
                                  boto3_session=session)
    return df.query_metadata["Statistics"]["DataScannedInBytes"], df


def test_awswrangler_ctas_bucketing_info_prunes(wr, session, endpoint, s3, lake):
    name = f"wr_bucketed_{uuid.uuid4().hex[:6]}"
    out = _fresh("wr-bucketed")
    wr.athena.create_ctas_table("SELECT tailnum, carrier, distance FROM flights WHERE month = 1", database=L.DB,
                                ctas_table=name, s3_output=f"s3://{L.RESULTS}/{out}", bucketing_info=(["tailnum"], 4),
                                wait=True, boto3_session=session)
    table = endpoint.client("glue").get_table(DatabaseName=L.DB, Name=name)["Table"]
    assert table["StorageDescriptor"]["BucketColumns"] == ["tailnum"]
    assert table["StorageDescriptor"]["NumberOfBuckets"] == 4
    loc = table["StorageDescriptor"]["Location"]
    files = [k for k in _keys(s3, L.RESULTS, loc.split(f"s3://{L.RESULTS}/", 1)[1])]
    assert len(files) == 4
    df = lake["df"]
    want = int(((df.month == 1) & (df.tailnum == "N14228")).sum())
    whole, _ = _scanned(wr, session, f"SELECT count(tailnum) AS n FROM {name}")
    part, got = _scanned(wr, session, f"SELECT count(tailnum) AS n FROM {name} WHERE tailnum = 'N14228'")
    assert int(got["n"][0]) == want > 0
    assert 0 < part < whole
    wr.catalog.delete_table_if_exists(database=L.DB, table=name, boto3_session=session)


def test_awswrangler_to_parquet_bucketing_info_prunes(wr, session, lake):
    df = lake["df"]
    jan = df[(df.month == 1) & (df.day == 1)][["carrier", "flight", "distance"]].reset_index(drop=True)
    name = f"wr_to_parquet_b_{uuid.uuid4().hex[:6]}"
    wr.s3.to_parquet(jan, path=f"s3://{L.BUCKET}/{_fresh('wr-bucketed-parquet')}", dataset=True, database=L.DB,
                     table=name, bucketing_info=(["carrier"], 3), boto3_session=session)
    whole, _ = _scanned(wr, session, f"SELECT count(carrier) AS n FROM {name}")
    part, got = _scanned(wr, session, f"SELECT count(carrier) AS n FROM {name} WHERE carrier = 'UA'")
    assert int(got["n"][0]) == int((jan.carrier == "UA").sum()) > 0
    assert 0 < part < whole
    wr.catalog.delete_table_if_exists(database=L.DB, table=name, boto3_session=session)


# ----------------------------------------------------------------------------- managed results via PyAthena
@pytest.fixture(scope="module")
def managed_wg(endpoint, lake):
    name = "clients-managed"
    endpoint.client("athena").create_work_group(Name=name, Configuration={
        "ManagedQueryResultsConfiguration": {"Enabled": True}})
    return name


def test_pyathena_managed_workgroup_without_staging_dir(endpoint, managed_wg, lake):
    from pyathena import connect

    with connect(region_name="us-east-1", schema_name=L.DB, endpoint_url=endpoint.url, work_group=managed_wg,
                 aws_access_key_id="test", aws_secret_access_key="test", poll_interval=0.05) as conn:
        cur = conn.cursor()
        rows = cur.execute("SELECT origin, count(*) AS n FROM flights WHERE month = 2 GROUP BY origin "
                           "ORDER BY origin").fetchall()
        assert cur.output_location is None
    g = lake["df"][lake["df"].month == 2].groupby("origin").size().sort_index()
    assert rows == [(o, int(n)) for o, n in g.items()]


def test_pyathena_managed_workgroup_refuses_a_staging_dir(endpoint, managed_wg):
    from pyathena import connect
    from pyathena.error import DatabaseError

    with connect(region_name="us-east-1", endpoint_url=endpoint.url, work_group=managed_wg, s3_staging_dir=L.OUTPUT,
                 aws_access_key_id="test", aws_secret_access_key="test", poll_interval=0.05) as conn:
        with pytest.raises(DatabaseError) as exc:
            conn.cursor().execute("SELECT 1")
    assert "ManagedQueryResultsConfiguration and ResultConfiguration cannot be set together." in str(exc.value)


# ----------------------------------------------------------------------------- awswrangler's own cache
def test_awswrangler_athena_cache_settings(wr, session, athena):
    sql = "SELECT dest, count(*) AS n FROM flights WHERE month = 3 AND day = 2 GROUP BY dest ORDER BY dest"
    kw = {"database": L.DB, "ctas_approach": False, "s3_output": L.OUTPUT, "boto3_session": session}
    first = wr.athena.read_sql_query(sql, **kw)
    cached = wr.athena.read_sql_query(sql, athena_cache_settings={"max_cache_seconds": 900}, **kw)
    assert cached.query_metadata["QueryExecutionId"] == first.query_metadata["QueryExecutionId"]
    assert cached.equals(first) and len(first) > 10
    fresh = wr.athena.read_sql_query(sql, athena_cache_settings={"max_cache_seconds": 0}, **kw)
    assert fresh.query_metadata["QueryExecutionId"] != first.query_metadata["QueryExecutionId"]


# ----------------------------------------------------------------------------- parameters
COUNT_SQL_NAMED = "SELECT count(*) AS n FROM flights WHERE carrier = :carrier AND month = :month"


def _count(df, carrier: str, month: int) -> int:
    return int(((df.carrier == carrier) & (df.month == month)).sum())


def test_awswrangler_named_params(wr, session, lake):
    df = wr.athena.read_sql_query(COUNT_SQL_NAMED, params={"carrier": "UA", "month": 2}, paramstyle="named",
                                  database=L.DB, ctas_approach=False, s3_output=L.OUTPUT, boto3_session=session)
    assert int(df["n"][0]) == _count(lake["df"], "UA", 2) > 0
    assert "carrier = 'UA'" in df.query_metadata["Query"]  # named params are formatted by the client


def test_pyathena_pyformat_params(endpoint, lake):
    with _connect(endpoint) as conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) AS n FROM flights WHERE carrier = %(c)s AND month = %(m)d", {"c": "DL", "m": 3})
        assert cur.fetchone() == (_count(lake["df"], "DL", 3),)
        assert cur.query.endswith("carrier = 'DL' AND month = 3")
        # a bare word where a value belongs is an identifier, as on Athena
        from pyathena.error import OperationalError

        with pytest.raises(OperationalError) as exc:
            cur.execute("SELECT count(*) FROM flights WHERE carrier = ?", ["DL"], paramstyle="qmark")
    assert "COLUMN_NOT_FOUND: line 1:46: Column 'dl' cannot be resolved" in str(exc.value).replace("'DL'", "'dl'")


# ----------------------------------------------------------------------------- identifiers
def test_awswrangler_backquoted_ddl_helpers(wr, session, endpoint):
    desc = wr.athena.describe_table(table="flights", database=L.DB, s3_output=L.OUTPUT, boto3_session=session)
    assert list(desc["Column Name"]) == [c for c, _ in L.COLS] + ["year", "month", "day"]
    assert list(desc["Type"])[:4] == ["double", "double", "double", "string"]
    assert list(desc["Partition"]) == [False] * len(L.COLS) + [True] * 3
    ddl = wr.athena.show_create_table(table="flights", database=L.DB, s3_output=L.OUTPUT, boto3_session=session)
    assert ddl.startswith("CREATE EXTERNAL TABLE `gwdb`.`flights`(")
    assert wr.athena.repair_table(table="flights", database=L.DB, s3_output=L.OUTPUT,
                                  boto3_session=session) == "SUCCEEDED"


def test_pyathena_backquotes_in_ddl_and_select(endpoint):
    from pyathena.error import DatabaseError

    with _connect(endpoint) as conn:
        cur = conn.cursor()
        rows = cur.execute(f"DESCRIBE `{L.DB}`.`flights`").fetchall()
        assert [d[0] for d in cur.description] == ["col_name", "data_type", "comment"]
        assert [(r[0] or "").strip() for r in rows][:4] == ["dep_time", "dep_delay", "arr_delay", "carrier"]
        assert (rows[3][1] or "").strip() == "string"
        with pytest.raises(DatabaseError) as exc:
            cur.execute(f"SELECT count(*) FROM `{L.DB}`.`flights`")
    assert "backquoted identifiers are not supported" in str(exc.value)
