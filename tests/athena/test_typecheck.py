"""Trino's analysis-time type checks through the engine: what Athena refuses fails locally too,
with Athena's error shape; what Trino coerces implicitly keeps answering; DuckDB namesakes of
Trino functions answer as Trino does.

``flights_str``: the ``flights`` Parquet data with the partition keys typed ``string`` (what the
Glue crawler infers for Hive partitions), so ``month = 1`` is the workshop's classic mistake.
"""
from __future__ import annotations

import pytest

from lakekit.local.athena import AthenaQueryError
from lakekit.local.athena._trinofuncs import joda_to_strftime

from .conftest import DB


@pytest.fixture(scope="module")
def str_lake(lake):
    glue = lake["glue"]
    t = glue.get_table(DatabaseName=DB, Name="flights")["Table"]
    keys = [{"Name": k["Name"], "Type": "string"} for k in t["PartitionKeys"]]
    if "flights_str" not in [x["Name"] for x in glue.get_tables(DatabaseName=DB)["TableList"]]:
        glue.create_table(DatabaseName=DB, TableInput={
            "Name": "flights_str", "TableType": "EXTERNAL_TABLE", "Parameters": t["Parameters"],
            "PartitionKeys": keys, "StorageDescriptor": t["StorageDescriptor"]})
        parts = glue.get_partitions(DatabaseName=DB, TableName="flights")["Partitions"]
        glue.batch_create_partition(DatabaseName=DB, TableName="flights_str", PartitionInputList=[
            {"Values": p["Values"], "StorageDescriptor": p["StorageDescriptor"]} for p in parts])
    yield lake
    glue.delete_table(DatabaseName=DB, Name="flights_str")  # other modules list the database's tables


def _fails(run, sql: str, **kw) -> AthenaQueryError:
    with pytest.raises(AthenaQueryError) as ei:
        run(sql, **kw)
    err = ei.value
    assert err.error_category == 2 and err.state == "FAILED", err
    assert err.error_type_code == 1000, err
    return err


def _one(run, sql: str) -> str | None:
    return run(sql).rows()[0][0]


# ----------------------------------------------------------------------------- refused like Trino


def test_string_partition_key_compared_to_integer_fails(run, str_lake):
    """The workshop's mistake: on today's main this query answered locally, Athena fails it."""
    sql = "SELECT count(*) FROM flights_str WHERE month = 1"
    err = _fails(run, sql)
    assert err.error_type == "TYPE_MISMATCH"
    assert err.message == "TYPE_MISMATCH: line 1:46: Cannot apply operator: varchar = integer"
    assert sql[45] == "="  # Trino reports the operator's position


def test_string_partition_key_compared_to_string_literal_answers(run, str_lake, flights_df):
    want = int((flights_df.month == 1).sum())
    assert _one(run, "SELECT count(*) FROM flights_str WHERE month = '1'") == str(want)
    assert _one(run, "SELECT count(*) FROM flights_str WHERE month IN ('1', '2') AND day = '3'") == str(
        int(((flights_df.month <= 2) & (flights_df.day == 3)).sum()))
    assert _one(run, "SELECT count(*) FROM flights_str WHERE CAST(month AS integer) = 1") == str(want)


REFUSED = [
    ("SELECT count(*) FROM flights_str WHERE month <> 1", "TYPE_MISMATCH",
     "line 1:46: Cannot apply operator: varchar = integer"),
    ("SELECT count(*) FROM flights_str WHERE month > 1", "TYPE_MISMATCH",
     "line 1:46: Cannot apply operator: varchar < integer"),
    ("SELECT count(*) FROM flights WHERE carrier <= 5", "TYPE_MISMATCH",
     "line 1:44: Cannot apply operator: varchar <= integer"),
    ("SELECT count(*) FROM flights_str WHERE month IN (1, 2)", "TYPE_MISMATCH",
     "line 1:50: IN value and list items must be the same type or coercible to a common type. Cannot find common "
     "type between varchar and integer, all types (without duplicates): [varchar, integer]"),
    ("SELECT count(*) FROM flights_str WHERE month BETWEEN 1 AND 3", "TYPE_MISMATCH",
     "line 1:46: Cannot check if varchar is BETWEEN integer and integer"),
    ("SELECT CASE month WHEN 1 THEN 'jan' ELSE 'other' END FROM flights_str", "TYPE_MISMATCH",
     "line 1:24: CASE operand type does not match WHEN clause operand type: varchar vs integer"),
    ("SELECT count(*) FROM flights WHERE flight_date = '2013-01-01'", "TYPE_MISMATCH",
     "line 1:48: Cannot apply operator: date = varchar(10)"),
    ("SELECT count(*) FROM flights WHERE carrier = true", "TYPE_MISMATCH",
     "line 1:44: Cannot apply operator: varchar = boolean"),
    ("SELECT 'a' + 1", "TYPE_MISMATCH", "line 1:12: Cannot apply operator: varchar(1) + integer"),
    ("SELECT max(flight_date + 1) FROM flights", "TYPE_MISMATCH", "line 1:24: Cannot apply operator: date + integer"),
    ("SELECT foo(1)", "FUNCTION_NOT_FOUND", "line 1:8: Function 'foo' not registered"),
    ("SELECT list_value(1, 2)", "FUNCTION_NOT_FOUND", "line 1:8: Function 'list_value' not registered"),
    ("SELECT strftime(time_hour, '%Y') FROM flights", "FUNCTION_NOT_FOUND",
     "line 1:8: Function 'strftime' not registered"),
    ("SELECT substr(distance, 1) FROM flights", "FUNCTION_NOT_FOUND",
     "line 1:8: Unexpected parameters (bigint, integer) for function substr. Expected: substr(char(x), bigint), "
     "substr(char(x), bigint, bigint), substr(varbinary, bigint), substr(varbinary, bigint, bigint), "
     "substr(varchar(x), bigint), substr(varchar(x), bigint, bigint)"),
    ("SELECT length(123)", "FUNCTION_NOT_FOUND",
     "line 1:8: Unexpected parameters (integer) for function length. Expected: length(char(x)), length(varbinary), "
     "length(varchar(x))"),
    ("SELECT date_trunc('day', carrier) FROM flights", "FUNCTION_NOT_FOUND",
     "line 1:8: Unexpected parameters (varchar(3), varchar) for function date_trunc. Expected: "
     "date_trunc(varchar(x), date), date_trunc(varchar(x), time(p)), date_trunc(varchar(x), time(p) with time zone), "
     "date_trunc(varchar(x), timestamp(p)), date_trunc(varchar(x), timestamp(p) with time zone)"),
    ("SELECT concat(carrier, flight) FROM flights", "FUNCTION_NOT_FOUND",
     "line 1:8: Unexpected parameters (varchar, bigint) for function concat. Expected: concat(E, array(E)) E, "
     "concat(array(E)) E, concat(array(E), E) E, concat(char(x), char(y)), concat(varbinary), concat(varchar)"),
    ("SELECT carrier || 1 FROM flights", "FUNCTION_NOT_FOUND",
     "line 1:16: Unexpected parameters (varchar, integer) for function concat. Expected: concat(E, array(E)) E, "
     "concat(array(E)) E, concat(array(E), E) E, concat(char(x), char(y)), concat(varbinary), concat(varchar)"),
    ("SELECT sum(carrier) FROM flights", "FUNCTION_NOT_FOUND",
     "line 1:8: Unexpected parameters (varchar) for function sum. Expected: sum(bigint), sum(decimal(p,s)), "
     "sum(double), sum(interval day to second), sum(interval year to month), sum(real)"),
    ("SELECT count(*) FROM flights WHERE distance LIKE '1%'", "TYPE_MISMATCH",
     "line 1:36: Left side of LIKE expression must evaluate to a varchar (actual: bigint)"),
    ("SELECT count(*) FROM flights WHERE distance", "TYPE_MISMATCH",
     "line 1:36: WHERE clause must evaluate to a boolean: actual type bigint"),
    ("SELECT coalesce(month, 0) FROM flights_str", "TYPE_MISMATCH",
     "line 1:24: All COALESCE operands must be the same type or coercible to a common type. Cannot find common "
     "type between varchar and integer, all types (without duplicates): [varchar, integer]"),
    ("SELECT CASE WHEN day = '1' THEN 'first' ELSE 2 END FROM flights_str", "TYPE_MISMATCH",
     "line 1:46: All CASE results must be the same type or coercible to a common type. Cannot find common type "
     "between varchar(5) and integer, all types (without duplicates): [varchar(5), integer]"),
]


@pytest.mark.parametrize("sql,kind,message", REFUSED, ids=[f"r{i:02d}" for i in range(len(REFUSED))])
def test_refused_like_trino(run, str_lake, sql, kind, message):
    err = _fails(run, sql)
    assert (err.error_type, err.message) == (kind, f"{kind}: {message}")


NESTED = [
    # subquery / derived table
    "SELECT m FROM (SELECT month AS m FROM flights_str) AS x WHERE x.m = 1",
    # CTE
    "WITH jan AS (SELECT * FROM flights_str WHERE month = 1) SELECT count(*) FROM jan",
    # join condition between an integer and a string key
    "SELECT count(*) FROM flights f JOIN flights_str s ON f.month = s.month",
    # scalar subquery and IN subquery
    "SELECT (SELECT max(month) FROM flights_str) + 1",
    "SELECT count(*) FROM flights WHERE month IN (SELECT month FROM flights_str)",
    # multi-line statement: position on line 3
    "SELECT count(*)\nFROM flights_str\nWHERE month = 1",
]


@pytest.mark.parametrize("sql", NESTED, ids=[f"n{i}" for i in range(len(NESTED))])
def test_refused_inside_subqueries_ctes_and_joins(run, str_lake, sql):
    err = _fails(run, sql)
    assert err.error_type in ("TYPE_MISMATCH",), err
    assert "Cannot apply operator: " in err.message or "IN expression: integer vs varchar" in err.message
    if "\n" in sql:
        assert err.message == "TYPE_MISMATCH: line 3:13: Cannot apply operator: varchar = integer"


@pytest.fixture
def scratch(run):
    yield
    run("DROP VIEW IF EXISTS tc_v")
    run("DROP TABLE IF EXISTS tc_ok")


def test_positions_count_leading_comment_lines_like_trino(run, str_lake):
    err = _fails(run, "-- January only\n/* note */ SELECT count(*) FROM flights_str WHERE month = 1;")
    assert err.message == "TYPE_MISMATCH: line 2:57: Cannot apply operator: varchar = integer"


def test_refused_in_ctas_insert_and_views_before_anything_is_written(run, str_lake, scratch):
    glue, s3 = str_lake["glue"], str_lake["s3"]
    err = _fails(run, "CREATE TABLE tc_bad WITH (format = 'PARQUET', external_location = 's3://lake/tc/bad/') "
                      "AS SELECT carrier FROM flights_str WHERE month = 1", output_location="s3://athena-results/")
    assert err.message.startswith("TYPE_MISMATCH: line 1:")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_table(DatabaseName=DB, Name="tc_bad")
    assert s3.list_objects_v2(Bucket="lake", Prefix="tc/bad/").get("KeyCount", 0) == 0

    run("CREATE TABLE tc_ok WITH (format = 'PARQUET', external_location = 's3://lake/tc/ok/') "
        "AS SELECT carrier, month FROM flights_str WHERE month = '1' AND day = '1' AND carrier = 'UA'",
        output_location="s3://athena-results/")
    before = _one(run, "SELECT count(*) FROM tc_ok")
    err = _fails(run, "INSERT INTO tc_ok SELECT carrier, month FROM flights_str WHERE day = 2")
    assert err.message == "TYPE_MISMATCH: line 1:68: Cannot apply operator: varchar = integer"
    assert _one(run, "SELECT count(*) FROM tc_ok") == before
    # INSERT: a query column Trino cannot coerce to the table's column type (main cast 1 to '1')
    err = _fails(run, "INSERT INTO tc_ok SELECT carrier, 1 FROM flights WHERE month = 1 AND day = 2")
    assert err.message == ("TYPE_MISMATCH: line 1:1: Insert query has mismatched column types: "
                           "Table: [varchar, varchar], Query: [varchar, integer]")
    err = _fails(run, "INSERT INTO tc_ok (month, carrier) SELECT month, flight FROM flights_str WHERE day = '2'")
    assert err.message.endswith("Table: [varchar, varchar], Query: [varchar, bigint]")
    assert _one(run, "SELECT count(*) FROM tc_ok") == before
    r = run("INSERT INTO tc_ok SELECT CAST(NULL AS varchar), '13' FROM flights WHERE month = 1 AND day = 1 LIMIT 2")
    assert r.update_count == 2
    assert _one(run, "SELECT count(*) FROM tc_ok WHERE month = '13' AND carrier IS NULL") == "2"
    # the CTAS wrote month as a string column: comparing it to an integer fails too
    assert _fails(run, "SELECT count(*) FROM tc_ok WHERE month = 1").error_type == "TYPE_MISMATCH"

    err = _fails(run, "CREATE VIEW tc_bad_v AS SELECT carrier FROM flights_str WHERE month = 1")
    assert err.error_type == "TYPE_MISMATCH"
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_table(DatabaseName=DB, Name="tc_bad_v")
    run("CREATE OR REPLACE VIEW tc_v AS SELECT month AS m, carrier FROM flights_str")
    err = _fails(run, "SELECT count(*) FROM tc_v WHERE m = 1")  # view columns typed from the catalog
    assert err.message == "TYPE_MISMATCH: line 1:35: Cannot apply operator: varchar = integer"
    assert _one(run, "SELECT count(*) FROM tc_v WHERE m = '1' AND carrier = 'UA'") == _one(
        run, "SELECT count(*) FROM flights WHERE month = 1 AND carrier = 'UA'")


# ----------------------------------------------------------------------------- allowed like Trino

ALLOWED = [
    # integer widening tinyint < smallint < integer < bigint
    ("SELECT CAST(1 AS tinyint) + CAST(2 AS smallint) + 3 + CAST(4 AS bigint)", "10"),
    ("SELECT count(*) FROM flights WHERE flight = 1545 AND month = 1 AND day = 1", "1"),
    # integer -> double / decimal, decimal -> double
    ("SELECT 1 + 1.5", "2.5"),
    ("SELECT CAST(2 AS integer) * 1.5e0", "3.0"),
    ("SELECT CAST(1.5 AS decimal(3,1)) + 1e0", "2.5"),
    ("SELECT CAST(1.25 AS decimal(4,2)) = 1.25e0", "true"),
    # varchar(n) -> varchar, char/varchar
    ("SELECT CAST('UA' AS varchar(2)) = 'UA'", "true"),
    ("SELECT count(*) > 0 FROM flights WHERE carrier = CAST('UA' AS varchar(5))", "true"),
    ("SELECT CAST('UA' AS char(2)) = 'UA'", "true"),
    # date -> timestamp, date literals vs date columns
    ("SELECT count(*) FROM flights WHERE flight_date = DATE '2013-01-01'", None),
    ("SELECT DATE '2013-01-02' > TIMESTAMP '2013-01-01 23:00:00'", "true"),
    ("SELECT count(*) = count(time_hour) FROM flights WHERE time_hour >= flight_date", "true"),
    ("SELECT DATE '2013-01-01' + INTERVAL '1' DAY > DATE '2013-01-01'", "true"),
    # unknown (NULL) -> anything
    ("SELECT count(*) FROM flights WHERE carrier = NULL", "0"),
    ("SELECT coalesce(NULL, 1) + 1", "2"),
    ("SELECT CASE WHEN 1 = 1 THEN NULL ELSE 'x' END IS NULL", "true"),
    # casts and try_cast
    ("SELECT CAST('42' AS integer) + 1", "43"),
    ("SELECT try_cast('x' AS integer) IS NULL", "true"),
    ("SELECT CAST(distance AS varchar) || ' mi' FROM flights WHERE flight = 1545 AND month = 1 AND day = 1", "1400 mi"),
    # what the checker cannot type runs (lambda body, UNNEST columns)
    ("SELECT array_join(transform(ARRAY[1, 2], x -> x * 10), ',')", "10,20"),
    ("SELECT sum(x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x) WHERE x > 1", "5"),
]


@pytest.mark.parametrize("sql,expected", ALLOWED, ids=[f"a{i:02d}" for i in range(len(ALLOWED))])
def test_allowed_coercions_answer(run, flights_df, sql, expected):
    if expected is None:
        expected = str(int(((flights_df.month == 1) & (flights_df.day == 1)).sum()))
    assert _one(run, sql) == expected


# ----------------------------------------------------------------------------- Trino semantics of namesakes

SEMANTICS = [
    ("SELECT date_format(TIMESTAMP '2013-01-05 10:30:07', '%Y-%m-%d %H:%i:%s')", "2013-01-05 10:30:07"),
    ("SELECT date_format(TIMESTAMP '2013-01-05 10:30:07', '%W %M %e, %l:%i %p')", "Saturday January 5, 10:30 AM"),
    ("SELECT date_parse('05/01/2013 07:08', '%d/%m/%Y %H:%i')", "2013-01-05 07:08:00.000"),
    ("SELECT format_datetime(TIMESTAMP '2013-01-05 10:30:07', 'yyyy-MM-dd HH:mm:ss')", "2013-01-05 10:30:07"),
    ("SELECT format_datetime(TIMESTAMP '2013-01-05 10:30:07', 'EEE, d MMM yyyy')", "Sat, 5 Jan 2013"),
    ("SELECT format_datetime(DATE '2013-01-05', 'yyyy''w''DDD')", "2013w005"),
    ("SELECT parse_datetime('2013-01-05 10:30', 'yyyy-MM-dd HH:mm')", "2013-01-05 10:30:00.000 UTC"),
    ("SELECT concat('a', NULL, 'b') IS NULL", "true"),
    ("SELECT concat('a', 'b', 'c')", "abc"),
    ("SELECT 5 / 2", "2"),
    ("SELECT -5 / 2", "-2"),
    ("SELECT -5 % 3", "-2"),
    ("SELECT length('héllo')", "5"),
    ("SELECT date_diff('day', TIMESTAMP '2013-01-01 23:00:00', TIMESTAMP '2013-01-02 01:00:00')", "0"),
    ("SELECT date_diff('hour', TIMESTAMP '2013-01-01 23:30:00', TIMESTAMP '2013-01-02 01:00:00')", "1"),
    ("SELECT date_diff('day', DATE '2013-01-01', DATE '2013-03-01')", "59"),
]


@pytest.mark.parametrize("sql,expected", SEMANTICS, ids=[f"s{i:02d}" for i in range(len(SEMANTICS))])
def test_trino_semantics_of_duckdb_namesakes(run, sql, expected):
    assert _one(run, sql) == expected


def test_date_plus_interval_is_a_date(run):
    r = run("SELECT DATE '2013-01-31' + INTERVAL '1' DAY AS a, DATE '2013-03-01' - INTERVAL '1' MONTH AS b, "
            "INTERVAL '2' DAY + DATE '2013-01-01' AS c")
    assert [c.type for c in r.columns] == ["date", "date", "date"]
    assert r.rows() == [["2013-02-01", "2013-02-01", "2013-01-03"]]
    assert _one(run, "SELECT min(flight_date + INTERVAL '1' DAY) FROM flights") == "2013-01-02"


def test_parse_datetime_is_timestamp_with_time_zone(run):
    r = run("SELECT parse_datetime('2013-01-05', 'yyyy-MM-dd') AS t")
    assert [c.type for c in r.columns] == ["timestamp with time zone"]


def test_approx_aggregates_within_trino_error_bounds(run):
    """Trino: approx_distinct has a 2.3% standard error; approx_percentile's rank error is ~1%.
    DuckDB's own HyperLogLog answered 96408 for 100000 distinct values (3.6% off)."""
    n = 100000
    got = int(_one(run, f"SELECT approx_distinct(x) FROM UNNEST(sequence(1, {n})) AS t(x)"))
    assert abs(got - n) <= 0.023 * n, got
    p50 = int(_one(run, f"SELECT approx_percentile(x, 0.5) FROM UNNEST(sequence(1, {n})) AS t(x)"))
    assert abs(p50 - n / 2) <= 0.01 * n, p50
    many = run("SELECT approx_percentile(x, ARRAY[0.1, 0.9]) FROM UNNEST(sequence(1, 1000)) AS t(x)").rows()[0][0]
    lo, hi = (int(v) for v in many.strip("[]").split(", "))
    assert abs(lo - 100) <= 10 and abs(hi - 900) <= 10, many


def test_joda_patterns_translate():
    assert joda_to_strftime("yyyy-MM-dd HH:mm:ss.SSS") == "%Y-%m-%d %H:%M:%S.%g"
    assert joda_to_strftime("d/M/yy h:mm a") == "%-d/%-m/%y %-I:%M %p"
    assert joda_to_strftime("d/M/yy", parse=True) == "%d/%m/%y"
    assert joda_to_strftime("'at' HH'h'") == "at %Hh"
    assert joda_to_strftime("G yyyy") is None  # an era letter: not translated, left to fail loudly


def test_integer_division_by_zero_fails_like_trino(run):
    for sql in ("SELECT 5 / 0", "SELECT 7 % 0", "SELECT max(distance / (day - day)) FROM flights WHERE month = 1",
                "SELECT (10 / x) / 0 FROM (VALUES 1, 2) AS t(x)"):
        err = _fails(run, sql)
        assert (err.error_type, err.message) == ("DIVISION_BY_ZERO", "DIVISION_BY_ZERO: Division by zero"), sql
    assert run("SELECT 10 / x, 10 % x FROM (VALUES 3, 4) AS t(x) ORDER BY 1").rows() == [["2", "2"], ["3", "1"]]
    assert _one(run, "SELECT 5e0 / 2") == "2.5"


def test_untypable_constructs_run_and_log_at_debug(run, caplog):
    with caplog.at_level("DEBUG", logger="lakekit.local.athena._typecheck"):
        assert _one(run, "SELECT (1, 'a') = (1, 'a')") == "true"
    assert any("no type for Tuple" in r.getMessage() for r in caplog.records)


def test_endpoint_reports_the_refusal_as_athena_does(endpoint):
    """Through the lakekit endpoint (boto3): FAILED with Athena's StateChangeReason and AthenaError."""
    from . import _gwlake as L

    L.build(endpoint)
    athena = endpoint.client("athena")
    for sql, reason in [
        ("SELECT count(*) FROM flights WHERE carrier = 1", "TYPE_MISMATCH: line 1:44: Cannot apply operator: varchar = integer"),
        ("SELECT list_value(carrier) FROM flights", "FUNCTION_NOT_FOUND: line 1:8: Function 'list_value' not registered"),
    ]:
        st = L.run(athena, sql)["Status"]
        assert (st["State"], st["StateChangeReason"]) == ("FAILED", reason)
        assert st["AthenaError"] == {"ErrorCategory": 2, "ErrorType": 1000, "Retryable": False, "ErrorMessage": reason}
    ok = L.run(athena, "SELECT count(*) FROM flights WHERE carrier = 'UA' AND flight = 1545")
    assert ok["Status"]["State"] == "SUCCEEDED"


# ----------------------------------------------------------------------------- pins (docs/aws-parity.md)

def test_pin_double_division_by_zero_is_null_where_operands_are_untyped(run):
    """Trino: a double divided by zero is Infinity (NaN for 0/0). Local: Infinity where the checker
    types the operands (tests/athena/test_trino_functions.py); NULL where it cannot (VALUES columns)."""
    assert _one(run, "SELECT 5e0 / 0e0") == "Infinity"
    assert _one(run, "SELECT x / 0 FROM (VALUES 1e0) AS t(x)") is None


def test_pin_date_diff_month_counts_calendar_months_locally(run):
    """Trino: date_diff('month', DATE '2013-01-31', DATE '2013-02-28') = 0 (not a whole month).
    Local: 1."""
    assert _one(run, "SELECT date_diff('month', DATE '2013-01-31', DATE '2013-02-28')") == "1"
