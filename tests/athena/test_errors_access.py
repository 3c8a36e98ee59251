"""Errors (category/type/message), bytes-scanned cutoff, Lake Formation access hook."""
from __future__ import annotations

import pytest

from lakekit.local.athena import AccessDeniedError, AthenaQueryError, TableAccess


def _err(run, sql, **kw) -> AthenaQueryError:
    with pytest.raises(AthenaQueryError) as ei:
        run(sql, **kw)
    assert ei.value.error_category == 2
    return ei.value


def test_syntax_error(run):
    e = _err(run, "SELECT FROM WHERE x")
    assert e.error_type == "SYNTAX_ERROR"
    assert e.message.startswith("line 1:13: mismatched input 'WHERE'")
    e = _err(run, "SELEC carrier FROM flights")
    assert e.error_type == "SYNTAX_ERROR" and e.message.startswith("line 1:1: mismatched input 'SELEC'")


def test_table_not_found(run):
    e = _err(run, "SELECT * FROM awsdatacatalog.lakedb.nope")
    assert (e.error_type, e.message) == (
        "TABLE_NOT_FOUND", "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.lakedb.nope' does not exist")
    e = _err(run, "SELECT *\nFROM   nope2")
    assert e.message == "TABLE_NOT_FOUND: line 2:8: Table 'awsdatacatalog.lakedb.nope2' does not exist"


def test_schema_not_found(run):
    e = _err(run, "SELECT * FROM nodb.flights")
    assert (e.error_type, e.message) == ("SCHEMA_NOT_FOUND", "SCHEMA_NOT_FOUND: line 1:15: Schema 'nodb' does not exist")


def test_column_not_found(run):
    e = _err(run, "SELECT x FROM flights")
    assert (e.error_type, e.message) == ("COLUMN_NOT_FOUND", "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved")
    e = _err(run, "SELECT carrier FROM flights WHERE bogus_col > 1")
    assert e.message == "COLUMN_NOT_FOUND: line 1:35: Column 'bogus_col' cannot be resolved"


def test_function_not_found(run):
    e = _err(run, "SELECT no_such_fn(carrier) FROM flights")
    assert e.error_type == "FUNCTION_NOT_FOUND" and "Function 'no_such_fn' not registered" in e.message


def test_bytes_scanned_cutoff(run):
    full = run("SELECT * FROM flights").data_scanned_bytes
    with pytest.raises(AthenaQueryError) as ei:
        run("SELECT * FROM flights", bytes_scanned_cutoff=full // 4)
    e = ei.value
    assert e.error_type == "EXCEEDED_SCANNED_BYTES_LIMIT" and e.state == "CANCELLED"
    assert e.message.startswith("Query cancelled! : Bytes scanned limit was exceeded")
    assert str(full // 4) in e.message
    assert full // 4 < e.data_scanned_bytes <= full
    # a pruned query under the same limit runs
    ok = run("SELECT * FROM flights WHERE month = 1 AND day = 1", bytes_scanned_cutoff=full // 4)
    assert 0 < ok.data_scanned_bytes <= full // 4
    # CSV tables are cut off too
    with pytest.raises(AthenaQueryError) as ei:
        run("SELECT count(*) FROM flights_csv", bytes_scanned_cutoff=1000)
    assert ei.value.error_type == "EXCEEDED_SCANNED_BYTES_LIMIT"


def _hook(rules):
    calls = []

    def access(db, table):
        calls.append((db, table))
        rule = rules.get(table)
        if rule == "deny":
            raise AccessDeniedError(f"Insufficient Lake Formation permission(s) on {db}.{table}")
        return rule

    access.calls = calls
    return access


def test_access_hides_columns(run):
    hook = _hook({"flights": TableAccess(columns={"carrier", "origin", "dest", "month"})})
    r = run("SELECT * FROM flights LIMIT 1", access=hook)
    assert [c.name for c in r.columns] == ["carrier", "origin", "dest", "month"]
    assert ("lakedb", "flights") in hook.calls
    e = _err(run, "SELECT tailnum FROM flights", access=hook)
    assert e.message == "COLUMN_NOT_FOUND: line 1:8: Column 'tailnum' cannot be resolved"
    e = _err(run, "SELECT count(*) FROM flights WHERE tailnum = 'N14228'", access=hook)
    assert e.error_type == "COLUMN_NOT_FOUND"
    assert [x[0] for x in run("SHOW COLUMNS IN flights", access=hook).rows()] == ["carrier", "origin", "dest", "month"]


def test_access_row_filter_applies_before_aggregates_and_joins(run, flights_df):
    hook = _hook({"flights": TableAccess(row_filter="origin = 'JFK'")})
    jfk = flights_df[flights_df.origin == "JFK"]
    assert run("SELECT count(*) AS c FROM flights", access=hook).rows() == [[str(len(jfk))]]
    # user predicate OR cannot widen the filter; GROUP BY sees only JFK
    r = run("SELECT origin, count(*) AS c FROM flights WHERE origin = 'EWR' OR 1 = 1 GROUP BY origin", access=hook)
    assert r.rows() == [["JFK", str(len(jfk))]]
    # join + subquery + CTE + union
    r = run("""WITH f AS (SELECT carrier FROM flights)
               SELECT count(*) AS c FROM f JOIN airlines a ON f.carrier = a.carrier
               UNION ALL SELECT count(*) FROM (SELECT * FROM flights) s""", access=hook)
    assert [x[0] for x in r.rows()] == [str(len(jfk)), str(len(jfk))]


def test_access_over_view_cannot_leak(run, flights_df):
    run("CREATE OR REPLACE VIEW all_origins AS SELECT origin, tailnum FROM flights")
    try:
        hook = _hook({"flights": TableAccess(columns={"origin", "carrier"}, row_filter="origin = 'LGA'")})
        e = _err(run, "SELECT * FROM all_origins", access=hook)
        assert e.error_type == "COLUMN_NOT_FOUND"  # the view needs the hidden tailnum
        hook2 = _hook({"flights": TableAccess(row_filter="origin = 'LGA'")})
        r = run("SELECT origin, count(*) AS c FROM all_origins GROUP BY origin", access=hook2)
        assert r.rows() == [["LGA", str(int((flights_df.origin == "LGA").sum()))]]
    finally:
        run("DROP VIEW all_origins")


def test_access_denied(run):
    hook = _hook({"airlines": "deny"})
    e = _err(run, "SELECT f.carrier FROM flights f JOIN airlines a ON f.carrier = a.carrier", access=hook)
    assert e.error_type == "PERMISSION_DENIED"
    assert e.message == "PERMISSION_DENIED: Insufficient Lake Formation permission(s) on lakedb.airlines"
    e = _err(run, "DESCRIBE airlines", access=hook)
    assert e.error_type == "PERMISSION_DENIED"
    # allowed table still works with the same hook
    assert run("SELECT count(*) AS c FROM planes", access=hook).rows() == [["200"]]
