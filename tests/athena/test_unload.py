"""UNLOAD through the lakekit endpoint: boto3 (the S3 objects left, GetQueryExecution,
GetQueryResults), awswrangler's ``wr.athena.unload`` and ``read_sql_query(unload_approach=True)``,
the result files each statement type leaves, and awswrangler's cleanup leaving nothing behind."""
from __future__ import annotations

import gzip
import io
import json
import uuid

import fastavro
import pyarrow.orc as orc
import pyarrow.parquet as pq
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
def athena(endpoint):
    return endpoint.client("athena")


@pytest.fixture
def s3(endpoint):
    return endpoint.client("s3")


def _fresh(name: str) -> str:
    return f"{name}/{uuid.uuid4().hex[:8]}/"


def _keys(s3, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=L.RESULTS, Prefix=prefix).get("Contents", []))


def _body(s3, uri: str) -> bytes:
    bucket, key = uri[5:].split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _unload(athena, sql: str, to: str, with_: str, out: str) -> dict:
    return L.run(athena, f"UNLOAD ({sql}) TO 's3://{L.RESULTS}/{to}' WITH ({with_})",
                 ResultConfiguration={"OutputLocation": f"s3://{L.RESULTS}/{out}"})


def test_unload_parquet_objects_execution_and_results(athena, s3, truth):
    to, out = _fresh("unl/data"), _fresh("unl/out")
    qe = _unload(athena, SQL, to, "format = 'PARQUET'", out)
    assert qe["Status"]["State"] == "SUCCEEDED", qe["Status"]
    qid = qe["QueryExecutionId"]
    assert (qe["StatementType"], qe["SubstatementType"]) == ("DML", "UNLOAD")
    assert qe["ResultConfiguration"]["OutputLocation"] == f"s3://{L.RESULTS}/{out}{qid}"
    assert qe["Statistics"]["DataManifestLocation"] == f"s3://{L.RESULTS}/{out}{qid}-manifest.csv"
    assert qe["Statistics"]["DataScannedInBytes"] > 0
    # the output location holds the metadata and the manifest, no .csv result
    assert _keys(s3, out) == [f"{out}{qid}-manifest.csv", f"{out}{qid}.metadata"]
    files = _body(s3, qe["Statistics"]["DataManifestLocation"]).decode().splitlines()
    assert files and all(f.startswith(f"s3://{L.RESULTS}/{to}") for f in files)
    assert _keys(s3, to) == sorted(f.split("/", 3)[3] for f in files)
    got = {}
    for f in files:
        pf = pq.ParquetFile(io.BytesIO(_body(s3, f)))
        assert pf.metadata.row_group(0).column(0).compression == "GZIP"  # UNLOAD's Parquet default
        for r in pf.read().to_pylist():
            got[r["carrier"]] = (r["n"], r["dist"])
    assert got == truth
    assert str(pf.schema_arrow.field("n").type) == "int64"
    res = athena.get_query_results(QueryExecutionId=qid)
    assert res["ResultSet"]["Rows"] == [] and res["ResultSet"]["ResultSetMetadata"]["ColumnInfo"] == []
    assert res["UpdateCount"] == len(truth)


def test_unload_to_a_location_with_data_fails(athena, s3):
    to, out = _fresh("unl/busy"), _fresh("unl/out")
    s3.put_object(Bucket=L.RESULTS, Key=f"{to}existing.parquet", Body=b"x")
    qe = _unload(athena, "SELECT 1 AS a", to, "format = 'PARQUET'", out)
    assert qe["Status"]["State"] == "FAILED"
    err = qe["Status"]["AthenaError"]
    assert (err["ErrorCategory"], err["ErrorType"]) == (2, 1000)
    assert qe["Status"]["StateChangeReason"].startswith(
        f"HIVE_PATH_ALREADY_EXISTS: Target directory for UNLOAD already exists: s3://{L.RESULTS}/{to}.")
    assert _keys(s3, to) == [f"{to}existing.parquet"]


def test_unload_partitioned_textfile_and_rerun(athena, s3, lake):
    to, out = _fresh("unl/part"), _fresh("unl/out")
    sql = "SELECT carrier, flight, origin FROM flights WHERE month = 1 AND day = 1 AND carrier = 'AA'"
    with_ = "format = 'TEXTFILE', field_delimiter = '|', partitioned_by = ARRAY['origin']"
    qe = _unload(athena, sql, to, with_, out)
    assert qe["Status"]["State"] == "SUCCEEDED", qe["Status"]
    files = _body(s3, qe["Statistics"]["DataManifestLocation"]).decode().splitlines()
    df = lake["df"]
    sub = df[(df.month == 1) & (df.day == 1) & (df.carrier == "AA")]
    assert sorted(f.split("/")[-2] for f in files) == sorted(f"origin={o}" for o in sub.origin.unique())
    rows = set()
    for f in files:
        assert f.endswith(".gz")
        origin = f.split("/")[-2].split("=")[1]
        for line in gzip.decompress(_body(s3, f)).decode().splitlines():
            c, fl = line.split("|")
            rows.add((c, int(fl), origin))
    assert rows == set(zip(sub.carrier, sub.flight.astype(int), sub.origin))
    # a partitioned UNLOAD may write into the same location again (Athena skips the emptiness check)
    again = _unload(athena, sql, to, with_, out)
    assert again["Status"]["State"] == "SUCCEEDED", again["Status"]
    assert len(_keys(s3, to)) == 2 * len(files)


def test_unload_orc_avro_json(athena, s3, truth):
    for fmt, codec in (("ORC", "ZLIB"), ("AVRO", None), ("JSON", "GZIP")):
        to, out = _fresh(f"unl/{fmt.lower()}"), _fresh("unl/out")
        qe = _unload(athena, SQL, to, f"format = '{fmt}'", out)
        assert qe["Status"]["State"] == "SUCCEEDED", (fmt, qe["Status"])
        got = {}
        for f in _body(s3, qe["Statistics"]["DataManifestLocation"]).decode().splitlines():
            body = _body(s3, f)
            if fmt == "ORC":
                of = orc.ORCFile(io.BytesIO(body))
                assert of.compression == codec
                recs = of.read().to_pylist()
            elif fmt == "AVRO":
                recs = list(fastavro.reader(io.BytesIO(body)))
            else:
                assert f.endswith(".gz")
                recs = [json.loads(x) for x in gzip.decompress(body).splitlines()]
            got.update({r["carrier"]: (r["n"], r["dist"]) for r in recs})
        assert got == truth, fmt


@pytest.mark.parametrize(("sql", "with_", "kind", "message"), [
    ("SELECT carrier, count(*) FROM flights GROUP BY 1", "format = 'PARQUET'", "MISSING_COLUMN_NAME",
     "line 1:1: Column name not specified at position 2"),
    ("SELECT carrier, carrier FROM flights", "format = 'PARQUET'", "DUPLICATE_COLUMN_NAME",
     "line 1:1: Column name 'carrier' specified more than once"),
    ("SELECT NULL AS x", "format = 'PARQUET'", "COLUMN_TYPE_UNKNOWN", "line 1:1: Column type is unknown: x"),
    ("SELECT 1 AS a", "format = 'ORC', compression = 'GZIP'", "NOT_SUPPORTED",
     "Compression codec GZIP not supported for ORC. Supported for ORC: LZ4, NONE, SNAPPY, ZLIB, ZSTD"),
])
def test_unload_refusals(athena, s3, sql, with_, kind, message):
    to, out = _fresh("unl/bad"), _fresh("unl/out")
    qe = _unload(athena, sql, to, with_, out)
    assert qe["Status"]["State"] == "FAILED"
    assert qe["Status"]["StateChangeReason"] == f"{kind}: {message}"
    assert qe["Status"]["AthenaError"]["ErrorCategory"] == 2
    assert _keys(s3, to) == []


def test_result_files_per_statement_type(athena, s3):
    out = _fresh("files")
    kw = {"ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/{out}"}}
    sel = L.run(athena, "SELECT 1 AS a", **kw)["QueryExecutionId"]
    ddl = L.run(athena, "SHOW TABLES", **kw)["QueryExecutionId"]
    ctas = L.run(athena, f"CREATE TABLE files_ctas WITH (external_location = 's3://{L.RESULTS}/{out}data/') "
                         "AS SELECT 1 AS a", **kw)
    ins = L.run(athena, "INSERT INTO files_ctas SELECT 2", **kw)
    assert ctas["Status"]["State"] == ins["Status"]["State"] == "SUCCEEDED"
    c, i = ctas["QueryExecutionId"], ins["QueryExecutionId"]
    assert ctas["ResultConfiguration"]["OutputLocation"] == f"s3://{L.RESULTS}/{out}{c}"
    assert ins["ResultConfiguration"]["OutputLocation"] == f"s3://{L.RESULTS}/{out}{i}"
    data = _keys(s3, f"{out}data/")
    assert len(data) == 2
    assert _keys(s3, out) == sorted(data + [
        f"{out}{sel}.csv", f"{out}{sel}.csv.metadata", f"{out}{ddl}.txt", f"{out}{ddl}.txt.metadata",
        f"{out}{c}-manifest.csv", f"{out}{c}.metadata", f"{out}{i}-manifest.csv", f"{out}{i}.metadata"])
    assert athena.get_query_results(QueryExecutionId=i)["UpdateCount"] == 1
    L.run(athena, "DROP TABLE files_ctas", **kw)




def test_awswrangler_unload(wr, session, s3, truth):
    path = _fresh("wr/unload")
    meta = wr.athena.unload(SQL, path=f"s3://{L.RESULTS}/{path}", database=L.DB, boto3_session=session)
    qid = meta.execution_id
    assert meta.manifest_location == f"s3://{L.RESULTS}/{path}{qid}-manifest.csv"
    keys = _keys(s3, path)
    assert f"{path}{qid}.metadata" in keys and f"{path}{qid}-manifest.csv" in keys
    assert not [k for k in keys if k.endswith(".csv") and not k.endswith("-manifest.csv")]
    df = wr.s3.read_parquet(path=[f for f in _body(s3, meta.manifest_location).decode().split()],
                            boto3_session=session)
    assert {r.carrier: (int(r.n), int(r.dist)) for r in df.itertuples()} == truth


def test_awswrangler_unload_approach_leaves_nothing(wr, session, s3, truth):
    path = _fresh("wr/unload_approach")
    df = wr.athena.read_sql_query(SQL, database=L.DB, ctas_approach=False, unload_approach=True,
                                  s3_output=f"s3://{L.RESULTS}/{path}", keep_files=False, boto3_session=session)
    assert str(df["n"].dtype) == "Int64" and str(df["dist"].dtype) == "Int64"
    assert {r.carrier: (int(r.n), int(r.dist)) for r in df.itertuples()} == truth
    assert df.query_metadata["SubstatementType"] == "UNLOAD"
    assert _keys(s3, path) == []  # data files, manifest and metadata deleted by awswrangler


def test_awswrangler_ctas_approach_leaves_nothing(wr, session, s3, truth, endpoint):
    path = _fresh("wr/ctas_approach")
    df = wr.athena.read_sql_query(SQL, database=L.DB, ctas_approach=True, s3_output=f"s3://{L.RESULTS}/{path}",
                                  keep_files=False, boto3_session=session)
    assert {r.carrier: (int(r.n), int(r.dist)) for r in df.itertuples()} == truth
    assert _keys(s3, path) == []
    names = [t["Name"] for t in endpoint.client("glue").get_tables(DatabaseName=L.DB)["TableList"]]
    assert not [n for n in names if n.startswith("temp_table_")]
