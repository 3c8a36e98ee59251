"""Query result reuse (ResultReuseConfiguration) as the Athena user guide documents it.

Reused: same workgroup, query string, parameters, database/catalog and result configuration,
a SUCCEEDED previous result not older than MaxAgeInMinutes, a deterministic SELECT. A reused
execution scans 0 bytes, reports ReusedPreviousResult and points at the previous result file;
changed source data does not invalidate it (Athena does not look).
"""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from . import _gwlake as L

REUSE = {"ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 60}}


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture(scope="module")
def athena(endpoint, lake):
    return endpoint.client("athena")


def _run(athena, sql: str, reuse: dict | None = REUSE, **kw):
    if reuse is not None:
        kw["ResultReuseConfiguration"] = reuse
    qe = L.run(athena, sql, **kw)
    assert qe["Status"]["State"] == "SUCCEEDED", qe["Status"]
    return qe, L.results(athena, qe["QueryExecutionId"])[1]


def _reused(qe) -> bool:
    return qe["Statistics"]["ResultReuseInformation"]["ReusedPreviousResult"]


def test_a_repeated_query_reuses_the_previous_result(athena, lake):
    sql = "SELECT carrier, count(*) AS n FROM flights WHERE month = 1 GROUP BY carrier ORDER BY carrier"
    first, rows1 = _run(athena, sql)
    second, rows2 = _run(athena, sql)
    assert not _reused(first) and first["Statistics"]["DataScannedInBytes"] > 0
    assert _reused(second)
    assert second["Statistics"]["DataScannedInBytes"] == 0
    assert second["QueryExecutionId"] != first["QueryExecutionId"]
    assert second["ResultConfiguration"]["OutputLocation"] == first["ResultConfiguration"]["OutputLocation"]
    assert rows2 == rows1 and len(rows1) > 1
    assert second["ResultReuseConfiguration"] == REUSE


@pytest.mark.parametrize("change", ["sql", "database", "workgroup", "not_enabled", "max_age_0", "output"])
def test_no_reuse_when_a_documented_condition_differs(athena, lake, change):
    sql = f"SELECT sum(distance) AS n FROM {L.DB}.flights WHERE month = 2 AND day = 3 -- {change}"
    _run(athena, sql)
    kw: dict = {}
    reuse: dict | None = REUSE
    if change == "sql":
        sql = sql.replace("day = 3", "day  = 3")
    elif change == "database":
        kw["QueryExecutionContext"] = {"Database": "reuse_other_db"}
        try:
            lake_glue = boto3.client("glue", endpoint_url=athena.meta.endpoint_url, region_name="us-east-1",
                                     aws_access_key_id="test", aws_secret_access_key="test")
            lake_glue.create_database(DatabaseInput={"Name": "reuse_other_db"})
        except ClientError:
            pass
    elif change == "workgroup":
        kw.update(WorkGroup="reuse-other", ResultConfiguration={"OutputLocation": L.OUTPUT})
        try:
            athena.create_work_group(Name="reuse-other", Configuration={"EnforceWorkGroupConfiguration": False})
        except ClientError:
            pass
    elif change == "not_enabled":
        reuse = None
    elif change == "max_age_0":
        reuse = {"ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 0}}
    elif change == "output":
        kw["ResultConfiguration"] = {"OutputLocation": f"s3://{L.RESULTS}/elsewhere/"}
    qe, _ = _run(athena, sql, reuse, **kw)
    assert not _reused(qe)
    assert qe["Statistics"]["DataScannedInBytes"] > 0


@pytest.mark.parametrize("sql", [
    "SELECT carrier FROM flights WHERE month = 3 LIMIT 5",
    "SELECT carrier, rand() AS r FROM flights WHERE month = 3 AND day = 1 ORDER BY carrier LIMIT 5",
])
def test_nondeterministic_queries_are_not_reused(athena, sql):
    _run(athena, sql)
    qe, _ = _run(athena, sql)
    assert not _reused(qe)


def test_changed_data_does_not_invalidate_a_reused_result(athena, lake):
    import pyarrow as pa
    import pyarrow.parquet as pq

    sql = "SELECT count(*) AS n FROM flights WHERE year = 2013 AND month = 3 AND day = 7"
    _, before = _run(athena, sql)
    extra = pa.table({c: pa.array([None], pa.float64() if t == "double" else pa.int64() if t == "bigint" else pa.string())
                      for c, t in L.COLS})
    path = f"{L.BUCKET}/processed/flights/year=2013/month=3/day=7/part-extra.parquet"
    pq.write_table(extra, path, filesystem=lake["fs"])
    try:
        stale, rows = _run(athena, sql)
        assert _reused(stale) and rows == before
        fresh, rows_now = _run(athena, sql, reuse=None)
        assert int(rows_now[1][0]) == int(before[1][0]) + 1 and not _reused(fresh)
    finally:  # the lake is shared by the whole session: leave its flights as they were
        lake["fs"].delete_file(path)


def test_a_deleted_previous_result_is_not_reused(athena, endpoint):
    sql = "SELECT count(*) AS n FROM flights WHERE month = 1 AND day = 2"
    first, _ = _run(athena, sql)
    key = first["ResultConfiguration"]["OutputLocation"].split(f"s3://{L.RESULTS}/", 1)[1]
    endpoint.client("s3").delete_object(Bucket=L.RESULTS, Key=key)
    qe, rows = _run(athena, sql)
    assert not _reused(qe) and rows[0] == ["n"]


def test_max_age_outside_the_api_range_is_refused(athena):
    with pytest.raises(ClientError) as exc:
        L.run(athena, "SELECT 1", ResultReuseConfiguration={
            "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 20000}})
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "Member must have value less than or equal to 10080" in exc.value.response["Error"]["Message"]


def test_awswrangler_result_reuse_configuration(endpoint, lake):
    import awswrangler as wr

    for name in ("athena", "s3", "glue", "sts"):
        setattr(wr.config, f"{name}_endpoint_url", endpoint.url)
    try:
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        kw = {"database": L.DB, "ctas_approach": False, "s3_output": L.OUTPUT, "boto3_session": session,
              "result_reuse_configuration": REUSE}
        sql = "SELECT origin, count(*) AS n FROM flights WHERE month = 2 GROUP BY origin ORDER BY origin"
        df1 = wr.athena.read_sql_query(sql, **kw)
        df2 = wr.athena.read_sql_query(sql, **kw)
    finally:
        wr.config.reset()
    assert df2.query_metadata["Statistics"]["ResultReuseInformation"]["ReusedPreviousResult"] is True
    assert df2.query_metadata["Statistics"]["DataScannedInBytes"] == 0
    assert df1.equals(df2) and len(df1) == 3


def test_pyathena_result_reuse(endpoint, lake):
    from pyathena import connect

    sql = "SELECT dest, count(*) AS n FROM flights WHERE month = 1 AND day = 4 GROUP BY dest ORDER BY dest"
    with connect(s3_staging_dir=L.OUTPUT, region_name="us-east-1", schema_name=L.DB, endpoint_url=endpoint.url,
                 aws_access_key_id="test", aws_secret_access_key="test", poll_interval=0.05,
                 result_reuse_enable=True, result_reuse_minutes=30) as conn:
        cur = conn.cursor()
        first = cur.execute(sql).fetchall()
        again = cur.execute(sql).fetchall()
        assert cur.reused_previous_result is True and cur.data_scanned_in_bytes == 0
    assert again == first and len(first) > 10
