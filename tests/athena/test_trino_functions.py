"""Trino's functions in the local Athena: the survey of Trino's whole function list (one case per
entry, data in ``_trino_function_cases.py``, table in docs/trino-functions.md), and the functions
clients use: ``nan()``, ``infinity()``, ``is_nan``/``is_finite``/``is_infinite``, ``random(n)`` /
``random(m, n)`` argument checks, ``CAST(varchar AS JSON)``, ``typeof`` spelled as Trino spells types.

The many small cases run on an engine without a catalog (table-less SELECTs need none); a few run
through the endpoint with boto3 (StartQueryExecution, GetQueryResults, the result CSV).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lakekit.local.athena import AthenaQueryError, QueryEngine
from lakekit.local.athena._funcsigs import LOCAL_UNSUPPORTED

from ._trino_function_cases import CASES

DOC = Path(__file__).resolve().parents[2] / "docs" / "trino-functions.md"


@pytest.fixture(scope="module")
def bare():
    """An engine with no catalog: enough for SELECTs without tables."""
    engine = QueryEngine(None, None, None, "us-east-1", native_parquet=False)

    def run(sql: str):
        return engine.execute(sql)

    return run


def _fails(run, sql: str) -> AthenaQueryError:
    with pytest.raises(AthenaQueryError) as ei:
        run(sql)
    assert ei.value.error_category == 2 and ei.value.state == "FAILED", ei.value
    return ei.value


# ----------------------------------------------------------------------------- the survey


@pytest.mark.parametrize("name,sql,status,expected", CASES, ids=[c[0] for c in CASES])
def test_trino_function(bare, name, sql, status, expected):
    if isinstance(expected, tuple):
        kind, message = expected
        err = _fails(bare, sql)
        assert (err.error_type, err.message) == (kind, message)
        if status == "no" and kind == "NOT_SUPPORTED":
            assert "not available in the local Athena engine" in message
            assert message.endswith("or run this query on AWS")
        return
    assert status in ("yes", "differs")
    assert bare(sql).rows()[0][0] == expected


def test_survey_doc_lists_the_cases():
    """docs/trino-functions.md and the parametrised cases name the same functions, in the same order,
    with the same status."""
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| ") and not line.startswith(("| function", "| ---"))]
    doc = [tuple(c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", r)[1:3]) for r in rows]
    assert doc == [(c[0], c[2]) for c in CASES]
    assert len(CASES) == 509
    from ._trino_function_cases import doc_row
    assert rows == [doc_row(*c) for c in CASES]  # regenerate: python -m tests.athena._trino_function_cases


def test_refused_functions_are_the_surveyed_ones():
    """Every name the checker refuses is a surveyed ``no`` case that asserts the refusal."""
    refused = {c[0].lower() for c in CASES if isinstance(c[3], tuple) and c[3][0] == "NOT_SUPPORTED"}
    syntax = {"row::fields", "sequence table function"}  # refused before parsing (_trinosyntax)
    assert refused - syntax <= set(LOCAL_UNSUPPORTED)
    assert set(LOCAL_UNSUPPORTED) <= {c[0].lower() for c in CASES if c[2] == "no"}


def test_refusal_is_not_a_duckdb_answer(bare):
    """trim_array is refused, not answered by a DuckDB namesake."""
    err = _fails(bare, "SELECT trim_array(ARRAY[1, 2, 3, 4], 2)")
    assert err.error_type == "NOT_SUPPORTED"
    assert err.message.startswith("NOT_SUPPORTED: line 1:8: Function 'trim_array' is not available")


def test_slice_is_trinos_length_not_duckdbs_end(bare):
    """Before: refused (DuckDB's array_slice(x, 2, 2) is [2]); Trino's third argument is a length."""
    assert bare("SELECT slice(ARRAY[1, 2, 3, 4], 2, 2)").rows() == [["[2, 3]"]]


# ----------------------------------------------------------------------------- functions clients use


def test_nan_and_infinity(bare):
    r = bare("SELECT nan() AS n, infinity() AS i, -infinity() AS m, is_nan(nan()) AS a, is_nan(1e0) AS b, "
             "is_finite(1e0) AS c, is_finite(infinity()) AS d, is_infinite(-infinity()) AS e, is_infinite(nan()) AS f")
    assert r.rows() == [["NaN", "Infinity", "-Infinity", "true", "false", "true", "false", "true", "false"]]
    assert [c.type for c in r.columns] == ["double"] * 3 + ["boolean"] * 6


def test_is_nan_refuses_a_varchar_like_trino(bare):
    err = _fails(bare, "SELECT is_nan('x')")
    assert (err.error_type, err.message) == (
        "FUNCTION_NOT_FOUND", "FUNCTION_NOT_FOUND: line 1:8: Unexpected parameters (varchar(1)) for function is_nan. "
        "Expected: is_nan(double)")


def test_double_division_by_zero_is_infinity_like_trino(bare):
    """Before: NULL (DuckDB's integer_division); Trino: Infinity, -Infinity, NaN. Decimals fail."""
    assert bare("SELECT 5e0 / 0, -1e0 / 0e0, 0e0 / 0e0, 5 / 0e0").rows() == [["Infinity", "-Infinity", "NaN", "Infinity"]]
    for sql in ("SELECT 1.5 / 0", "SELECT 5 / 0"):
        err = _fails(bare, sql)
        assert (err.error_type, err.message) == ("DIVISION_BY_ZERO", "DIVISION_BY_ZERO: Division by zero")


@pytest.mark.parametrize("sql,message", [
    ("SELECT random(0)", "INVALID_FUNCTION_ARGUMENT: bound must be positive"),
    ("SELECT random(-3)", "INVALID_FUNCTION_ARGUMENT: bound must be positive"),
    ("SELECT rand(0)", "INVALID_FUNCTION_ARGUMENT: bound must be positive"),
    ("SELECT random(5, 5)", "INVALID_FUNCTION_ARGUMENT: start value must be less than stop value"),
    ("SELECT random(5, 1)", "INVALID_FUNCTION_ARGUMENT: start value must be less than stop value"),
])
def test_random_bounds_checked_like_trino(bare, sql, message):
    """Trino's MathFunctions.random: checkCondition(value > 0 / start < stop, INVALID_FUNCTION_ARGUMENT, ...).
    Before: DuckDB read the bound as a seed and answered a double."""
    err = _fails(bare, sql)
    assert (err.error_type, err.message) == ("INVALID_FUNCTION_ARGUMENT", message)


def test_random_values_and_types(bare):
    r = bare("SELECT min(random(3)) AS lo, max(random(3)) AS hi, min(random(10, 12)) AS a, max(random(10, 12)) AS b, "
             "typeof(random(3)) AS t1, typeof(random(CAST(3 AS bigint))) AS t2, typeof(random()) AS t3 "
             "FROM UNNEST(sequence(1, 2000)) AS t(x)")
    lo, hi, a, b, t1, t2, t3 = r.rows()[0]
    assert (lo, hi, a, b) == ("0", "2", "10", "11")
    assert (t1, t2, t3) == ("integer", "bigint", "double")
    assert [c.type for c in r.columns][:4] == ["integer"] * 4
    err = _fails(bare, "SELECT random(1.5)")
    assert err.error_type == "FUNCTION_NOT_FOUND"
    assert err.message.startswith("FUNCTION_NOT_FOUND: line 1:8: Unexpected parameters (decimal(2,1)) for function random.")


def test_cast_varchar_to_json_is_a_json_string(bare):
    """Trino: CAST(varchar AS JSON) is a JSON string; json_parse parses. Before: '{"a":1}'."""
    r = bare("""SELECT json_format(CAST('{"a":1}' AS JSON)) AS s, json_format(json_parse('{"a":1}')) AS p, """
             """CAST(ARRAY[1, 2] AS JSON) AS arr, CAST(MAP(ARRAY['k'], ARRAY[1]) AS JSON) AS m, """
             """json_extract_scalar(CAST('{"a":1}' AS JSON), '$.a') AS x""")
    assert r.rows() == [['"{\\"a\\":1}"', '{"a":1}', "[1,2]", '{"k":1}', None]]


@pytest.mark.parametrize("expr,trino", [
    ("'abc'", "varchar(3)"), ("1.5", "decimal(3,1)".replace("3", "2")), ("12.50", "decimal(4,2)"), ("1", "integer"),
    ("10000000000", "bigint"), ("1e0", "double"), ("true", "boolean"), ("NULL", "unknown"),
    ("DATE '2020-01-01'", "date"), ("TIMESTAMP '2020-01-01 00:00:00'", "timestamp(0)"),
    ("current_timestamp", "timestamp(3) with time zone"), ("ARRAY[1, 2]", "array(integer)"),
    ("ROW(1, 'a')", "row(integer, varchar(1))"), ("CAST(ROW(1) AS ROW(x integer))", "row(x integer)"),
    ("CAST(1 AS real)", "real"),
    ("CAST('a' AS varchar)", "varchar"), ("x", "integer"),
])
def test_typeof_spelled_as_trino(bare, expr, trino):
    """Before: DuckDB's spelling (VARCHAR, DECIMAL(2,1), INTEGER[], TIMESTAMP WITH TIME ZONE)."""
    assert bare(f"SELECT typeof({expr}) FROM (VALUES 1) AS t(x)").rows() == [[trino]]


def test_typeof_falls_back_to_duckdb_types_in_trino_spelling(bare):
    """A type the checker does not model (a function without a signature): DuckDB's typeof translated."""
    assert bare("SELECT typeof(array_sort(ARRAY[2, 1])), typeof(MAP(ARRAY['a'], ARRAY[1]))").rows() == [
        ["array(integer)", "map(varchar, integer)"]]  # Trino: map(varchar(1), integer)


# ----------------------------------------------------------------------------- through the endpoint


def test_endpoint_answers_and_refuses_as_athena(endpoint):
    """StartQueryExecution + GetQueryResults + the result CSV, as Athena writes them."""
    from . import _gwlake as L

    L.build(endpoint)
    athena, s3 = endpoint.client("athena"), endpoint.client("s3")
    sql = ("SELECT nan() AS n, infinity() AS i, typeof(1.5) AS t, json_format(CAST('{\"a\":1}' AS JSON)) AS j, "
           "random(1) AS r, typeof(current_timestamp) AS z")
    ex = L.run(athena, sql)
    assert ex["Status"]["State"] == "SUCCEEDED"
    qid = ex["QueryExecutionId"]
    res = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]
    values = [d.get("VarCharValue") for d in res["Rows"][1]["Data"]]
    assert values == ["NaN", "Infinity", "decimal(2,1)", '"{\\"a\\":1}"', "0", "timestamp(3) with time zone"]
    assert [c["Type"] for c in res["ResultSetMetadata"]["ColumnInfo"]] == [
        "double", "double", "varchar", "varchar", "integer", "varchar"]
    loc = ex["ResultConfiguration"]["OutputLocation"]
    bucket, _, key = loc[len("s3://"):].partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert body == ('"n","i","t","j","r","z"\n'
                    '"NaN","Infinity","decimal(2,1)","""{\\""a\\"":1}""","0","timestamp(3) with time zone"\n')
    for bad, reason in [
        ("SELECT random(0)", "INVALID_FUNCTION_ARGUMENT: bound must be positive"),
        ("SELECT trim_array(ARRAY[1, 2], 1)", "NOT_SUPPORTED: line 1:8: Function 'trim_array' is not available in the "
                                               "local Athena engine (Athena runs it); see docs/trino-functions.md, or run "
                                               "this query on AWS"),
    ]:
        st = L.run(athena, bad)["Status"]
        assert (st["State"], st["StateChangeReason"]) == ("FAILED", reason)
        assert st["AthenaError"]["ErrorCategory"] == 2
