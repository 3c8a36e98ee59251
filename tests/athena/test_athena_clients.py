"""Unchanged Athena clients against the lakekit endpoint return the same rows as pandas.

boto3, awswrangler ``read_sql_query`` (ctas_approach False and True, s3_output and an enforced
workgroup), PyAthena (DB-API cursor and PandasCursor) and the AWS CLI.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from . import _gwlake as L

SQL = ("SELECT carrier, month, count(*) AS n, avg(dep_delay) AS avg_dep_delay FROM flights "
       "WHERE day <= 5 GROUP BY carrier, month ORDER BY carrier, month")
AWS_CLI = Path(sys.executable).parent / "aws"


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture(scope="module")
def truth(lake) -> list[tuple]:
    df = lake["df"]
    g = df[df.day <= 5].groupby(["carrier", "month"]).agg(n=("flight", "size"), avg_dep_delay=("dep_delay", "mean"))
    return [(c, int(m), int(r.n), float(r.avg_dep_delay)) for (c, m), r in g.sort_index().iterrows()]


def _norm(rows) -> list[tuple]:
    return [(str(c), int(m), int(n), float(a)) for c, m, n, a in rows]


def _same(got: list[tuple], truth: list[tuple]) -> None:
    assert len(got) == len(truth) > 0
    for g, t in zip(got, truth, strict=True):
        assert g[:3] == t[:3]
        assert g[3] == pytest.approx(t[3], rel=1e-9)


def _frame_rows(df: pd.DataFrame) -> list[tuple]:
    assert list(df.columns) == ["carrier", "month", "n", "avg_dep_delay"]
    return _norm(df[["carrier", "month", "n", "avg_dep_delay"]].itertuples(index=False, name=None))




def test_boto3(endpoint, lake, truth):
    athena = endpoint.client("athena")
    qe = L.run(athena, SQL)
    cols, rows = L.results(athena, qe["QueryExecutionId"], page=10)
    assert [c["Type"] for c in cols] == ["varchar", "integer", "bigint", "double"]
    assert rows[0] == ["carrier", "month", "n", "avg_dep_delay"]
    _same(_norm(rows[1:]), truth)


def test_awswrangler_without_ctas(wr, session, truth):
    df = wr.athena.read_sql_query(SQL, database=L.DB, ctas_approach=False, s3_output=L.OUTPUT,
                                         boto3_session=session)
    assert len(df) == len(truth)
    assert str(df["n"].dtype) == "Int64" and str(df["month"].dtype) == "Int32"
    _same(_frame_rows(df), truth)
    assert df.query_metadata["Statistics"]["DataScannedInBytes"] > 0


def test_awswrangler_ctas_approach_default(wr, session, endpoint, truth):
    df = wr.athena.read_sql_query(SQL, database=L.DB, s3_output=L.OUTPUT, boto3_session=session)
    assert len(df) == len(truth)
    _same(_frame_rows(df.sort_values(["carrier", "month"])), truth)
    assert df.query_metadata["SubstatementType"] == "CREATE_TABLE_AS_SELECT"
    assert df.query_metadata["Statistics"]["DataManifestLocation"].endswith("-manifest.csv")
    # the temporary CTAS table was dropped by awswrangler
    names = [t["Name"] for t in endpoint.client("glue").get_tables(DatabaseName=L.DB)["TableList"]]
    assert not [n for n in names if n.startswith("temp_table_")]


def test_awswrangler_ctas_in_an_enforced_workgroup(wr, session, truth):
    df = wr.athena.read_sql_query(SQL, database=L.DB, workgroup="analysts", boto3_session=session)
    _same(_frame_rows(df.sort_values(["carrier", "month"])), truth)
    empty = wr.athena.read_sql_query("SELECT carrier, month FROM flights WHERE month = 12", database=L.DB,
                                            workgroup="analysts", boto3_session=session)
    assert len(empty) == 0 and list(empty.columns) == ["carrier", "month"]


def _pyathena_connect(endpoint):
    from pyathena import connect

    return connect(s3_staging_dir=L.OUTPUT, region_name="us-east-1", schema_name=L.DB, endpoint_url=endpoint.url,
                   aws_access_key_id="test", aws_secret_access_key="test", poll_interval=0.05)


def test_pyathena_cursor(endpoint, lake, truth):
    with _pyathena_connect(endpoint) as conn:
        cur = conn.cursor()
        cur.execute(SQL)
        assert [d[0] for d in cur.description] == ["carrier", "month", "n", "avg_dep_delay"]
        assert [d[1] for d in cur.description] == ["varchar", "integer", "bigint", "double"]
        rows = cur.fetchall()
        assert cur.state == "SUCCEEDED" and cur.data_scanned_in_bytes > 0
        cur.execute("SELECT carrier, count(*) AS n FROM flights WHERE carrier = %(c)s GROUP BY carrier", {"c": "UA"})
        assert cur.fetchall() == [("UA", int((lake["df"].carrier == "UA").sum()))]
    assert isinstance(rows[0][1], int) and isinstance(rows[0][3], float)
    _same(_norm(rows), truth)


def test_pyathena_pandas_cursor(endpoint, truth, monkeypatch):
    from pyathena.pandas.cursor import PandasCursor

    # PyAthena drops ``endpoint_url`` for its S3 client on purpose: S3 comes from the environment
    # (``lakekit local env`` exports AWS_ENDPOINT_URL for every service).
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint.url)
    with _pyathena_connect(endpoint) as conn:
        df = conn.cursor(PandasCursor).execute(SQL).as_pandas()
    assert len(df) == len(truth)
    _same(_frame_rows(df), truth)


def test_aws_cli(endpoint, lake, truth):
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint.url, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"}

    def cli(*args: str) -> dict:
        out = subprocess.run([str(AWS_CLI), "athena", *args, "--output", "json"], env=env, check=True,
                             capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout)

    qid = cli("start-query-execution", "--query-string", SQL, "--query-execution-context", f"Database={L.DB}",
              "--result-configuration", f"OutputLocation={L.OUTPUT}")["QueryExecutionId"]
    assert L.wait(endpoint.client("athena"), qid)["Status"]["State"] == "SUCCEEDED"
    assert cli("get-query-execution", "--query-execution-id", qid)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    res = cli("get-query-results", "--query-execution-id", qid, "--page-size", "7")  # the CLI follows NextToken
    rows = [[d.get("VarCharValue") for d in r["Data"]] for r in res["ResultSet"]["Rows"]]
    assert rows[0] == ["carrier", "month", "n", "avg_dep_delay"]
    _same(_norm(rows[1:]), truth)
