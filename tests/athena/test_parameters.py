"""ExecutionParameters and prepared statements, bound as Athena binds them.

Athena substitutes each execution parameter into its ``?`` exactly as given: a string value must
carry its own single quotes (``"'UA'"``); a bare ``UA`` is an identifier, so the query FAILS with
COLUMN_NOT_FOUND. A count mismatch is accepted by StartQueryExecution and FAILS the query with
"Incorrect number of parameters: expected N but found M" (ErrorCategory 2, ErrorType 1006).
Prepared statements (PREPARE / EXECUTE [USING] / DEALLOCATE PREPARE) belong to their workgroup.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lakekit.local.athena import _requests as rq

from . import _gwlake as L

COUNT_SQL = "SELECT count(*) AS n FROM flights WHERE carrier = ? AND month = ?"


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture(scope="module")
def athena(endpoint, lake):
    return endpoint.client("athena")


def _truth(lake, carrier: str, month: int) -> int:
    df = lake["df"]
    return int(((df.carrier == carrier) & (df.month == month)).sum())


def _n(athena, qe) -> int:
    assert qe["Status"]["State"] == "SUCCEEDED", qe["Status"]
    return int(L.results(athena, qe["QueryExecutionId"])[1][1][0])


def test_quoted_string_values_are_bound_as_literals(athena, lake):
    qe = L.run(athena, COUNT_SQL, ExecutionParameters=["'UA'", "2"])
    assert _n(athena, qe) == _truth(lake, "UA", 2) > 0
    assert qe["Query"] == COUNT_SQL


def test_bare_string_values_are_identifiers_and_fail(athena):
    qe = L.run(athena, COUNT_SQL, ExecutionParameters=["UA", "2"])
    st = qe["Status"]
    assert st["State"] == "FAILED"
    assert st["StateChangeReason"].lower() == "column_not_found: line 1:51: column 'ua' cannot be resolved"


@pytest.mark.parametrize("params, expected, found", [
    (["'UA'"], 2, 1), (["'UA'", "2", "3"], 2, 3), (None, 2, 0)])
def test_a_count_mismatch_fails_the_query(athena, params, expected, found):
    kw = {"ExecutionParameters": params} if params else {}
    qe = L.run(athena, COUNT_SQL, **kw)
    st = qe["Status"]
    assert st["State"] == "FAILED"
    msg = f"Incorrect number of parameters: expected {expected} but found {found}"
    assert st["StateChangeReason"] == msg
    assert st["AthenaError"] == {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False, "ErrorMessage": msg}


def test_question_marks_in_literals_and_comments_are_not_parameters(athena):
    sql = "SELECT '?' AS q, ? AS v -- ?\n"
    assert rq.placeholders(sql) == 1
    qe = L.run(athena, sql, ExecutionParameters=["'x'"])
    assert L.results(athena, qe["QueryExecutionId"])[1][1] == ["?", "x"]


# ----------------------------------------------------------------------------- prepared statements
def test_prepare_execute_using_and_deallocate(athena, lake):
    qe = L.run(athena, "PREPARE by_carrier FROM SELECT count(*) AS n FROM flights WHERE carrier = ? AND month = ?")
    assert (qe["Status"]["State"], qe["StatementType"], qe["SubstatementType"]) == ("SUCCEEDED", "UTILITY", "PREPARE")
    assert _n(athena, L.run(athena, "EXECUTE by_carrier USING 'AA', 3")) == _truth(lake, "AA", 3) > 0
    by_params = L.run(athena, "EXECUTE by_carrier", ExecutionParameters=["'DL'", "1"])
    assert _n(athena, by_params) == _truth(lake, "DL", 1) > 0
    assert athena.get_prepared_statement(StatementName="by_carrier", WorkGroup="primary")[
        "PreparedStatement"]["QueryStatement"].startswith("SELECT count(*)")
    short = L.run(athena, "EXECUTE by_carrier USING 'DL'")
    assert short["Status"]["StateChangeReason"] == "Incorrect number of parameters: expected 2 but found 1"
    assert L.run(athena, "DEALLOCATE PREPARE by_carrier")["Status"]["State"] == "SUCCEEDED"
    with pytest.raises(ClientError) as exc:
        L.run(athena, "EXECUTE by_carrier USING 'AA', 3")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert exc.value.response["Error"]["Message"].startswith("Prepared statement not found: by_carrier")


def test_prepared_statements_belong_to_their_workgroup(athena, lake):
    athena.create_work_group(Name="params-other", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/other/"}})
    L.run(athena, "PREPARE wg_only FROM SELECT count(*) AS n FROM flights WHERE month = ?")
    with pytest.raises(ClientError) as exc:
        L.run(athena, "EXECUTE wg_only USING 1", WorkGroup="params-other")
    assert exc.value.response["Error"]["Message"].startswith("Prepared statement not found: wg_only")
    assert _n(athena, L.run(athena, "EXECUTE wg_only USING 1")) == int((lake["df"].month == 1).sum())


def test_a_prepared_statement_with_a_syntax_error_is_refused(athena):
    with pytest.raises(ClientError) as exc:
        L.run(athena, "PREPARE broken FROM SELEC 1")
    assert exc.value.response["Error"]["Message"].startswith("line 1:21: mismatched input 'SELEC'")


# ----------------------------------------------------------------------------- the clients


def test_awswrangler_qmark_params_quoted_and_bare(wr, session, lake):
    kw = {"database": L.DB, "ctas_approach": False, "s3_output": L.OUTPUT, "boto3_session": session,
          "paramstyle": "qmark"}
    df = wr.athena.read_sql_query(COUNT_SQL, params=["'UA'", "2"], **kw)
    assert df["n"].tolist() == [_truth(lake, "UA", 2)]
    with pytest.raises(wr.exceptions.QueryFailed, match="(?i)COLUMN_NOT_FOUND: line 1:51: Column 'ua' cannot be"):
        wr.athena.read_sql_query(COUNT_SQL, params=["UA", "2"], **kw)


def test_pyathena_qmark_params_quoted_and_bare(endpoint, lake):
    from pyathena import connect
    from pyathena.error import DatabaseError

    with connect(s3_staging_dir=L.OUTPUT, region_name="us-east-1", schema_name=L.DB, endpoint_url=endpoint.url,
                 aws_access_key_id="test", aws_secret_access_key="test", poll_interval=0.05) as conn:
        cur = conn.cursor()
        cur.execute(COUNT_SQL, ["'AA'", "1"], paramstyle="qmark")
        assert cur.fetchall() == [(_truth(lake, "AA", 1),)]
        with pytest.raises(DatabaseError, match="(?i)COLUMN_NOT_FOUND: line 1:51: Column 'aa' cannot be resolved"):
            cur.execute(COUNT_SQL, ["AA", "1"], paramstyle="qmark")
