"""Edge cases of the Trino functions rewritten in lakekit/local/athena/_trinoextra.py and the syntax
refused by _trinosyntax.py (each failed or answered differently before: refused, or a DuckDB error)."""
from __future__ import annotations

import pytest

from lakekit.local.athena import AthenaQueryError, QueryEngine


@pytest.fixture(scope="module")
def run():
    engine = QueryEngine(None, None, None, "us-east-1", native_parquet=False)
    return lambda sql: engine.execute(sql).rows()[0]


def _err(run, sql: str) -> tuple[str, str]:
    with pytest.raises(AthenaQueryError) as ei:
        run(sql)
    return ei.value.error_type, ei.value.message


def test_array_set_functions_keep_first_occurrence_order(run):
    assert run("SELECT array_distinct(ARRAY[3, 1, 3, NULL, 2, NULL]), array_union(ARRAY[3, 1], ARRAY[2, 1, 4]), "
               "array_except(ARRAY[3, 1, 2, 3], ARRAY[2]), array_intersect(ARRAY[1, 2, 3], ARRAY[4, 3, 2, 1, 5]), "
               "array_union(ARRAY[1], NULL)") == ["[3, 1, null, 2]", "[3, 1, 2, 4]", "[3, 1]", "[3, 2, 1]", None]


def test_arrays_overlap_three_valued(run):
    assert run("SELECT arrays_overlap(ARRAY[1, NULL], ARRAY[NULL, 3]), arrays_overlap(ARRAY[1, 2], ARRAY[3]), "
               "arrays_overlap(ARRAY[1, 2], ARRAY[2, NULL]), arrays_overlap(ARRAY[NULL], ARRAY[])") == [
        None, "false", "true", "false"]


def test_slice_like_trino(run):
    assert run("SELECT slice(ARRAY[1, 2, 3, 4], -3, 2), slice(ARRAY[1, 2, 3, 4], -9, 2), slice(ARRAY[1, 2, 3, 4], 3, 9), "
               "slice(ARRAY[1, 2, 3, 4], 5, 1)") == ["[2, 3]", "[]", "[3, 4]", "[]"]
    assert _err(run, "SELECT slice(ARRAY[1, 2], 0, 1)") == (
        "INVALID_FUNCTION_ARGUMENT", "INVALID_FUNCTION_ARGUMENT: SQL array indices start at 1")
    assert _err(run, "SELECT slice(ARRAY[1, 2], 1, -1)") == (
        "INVALID_FUNCTION_ARGUMENT", "INVALID_FUNCTION_ARGUMENT: length must be greater than or equal to 0")


def test_zip_and_zip_with_pad_with_null(run):
    """Trino docs (array.md) examples."""
    assert run("SELECT cardinality(zip(ARRAY[1, 2], ARRAY['1b', null, '3b'])), "
               "zip_with(ARRAY['a'], ARRAY['d', null, 'f'], (x, y) -> coalesce(x, y)), "
               "zip_with(ARRAY['a', 'b', 'c'], ARRAY['d', 'e', 'f'], (x, y) -> concat(x, y))") == [
        "3", "[a, null, f]", "[ad, be, cf]"]


def test_match_functions_three_valued(run):
    assert run("SELECT all_match(ARRAY[], x -> x > 0), all_match(ARRAY[1, NULL], x -> x > 0), "
               "all_match(ARRAY[-1, NULL], x -> x > 0), any_match(ARRAY[1, NULL], x -> x > 2), "
               "none_match(ARRAY[1, NULL], x -> x > 2), none_match(ARRAY[3], x -> x > 2)") == [
        "true", None, "false", None, None, "false"]


def test_url_functions_as_java_uri(run):
    assert run("SELECT url_extract_host('http://user@x.org:80/p'), url_extract_port('http://x.org/p'), "
               "url_extract_query('http://x.org/p'), url_extract_path('http://x.org/a%20b/q'), "
               "url_extract_parameter('http://x.org/p?q=1&r=a+b%21&s', 'r'), "
               "url_extract_parameter('http://x.org/p?q=1&s', 's'), url_extract_parameter('http://x.org/p?q=1', 'z'), "
               "url_extract_host('http://x y.org/'), url_encode('a b*~é'), url_decode('a+b%20c')") == [
        "x.org", None, "", "/a b/q", "a b!", "", None, None, "a+b*%7E%C3%A9", "a b c"]


def test_bit_count_checks_like_trino(run):
    """Trino docs (bitwise.md): bit_count(9, 64) = 2, bit_count(9, 8) = 2, bit_count(-7, 64) = 62, bit_count(-7, 8) = 6."""
    assert run("SELECT bit_count(9, 64), bit_count(9, 8), bit_count(-7, 64), bit_count(-7, 8)") == ["2", "2", "62", "6"]
    assert _err(run, "SELECT bit_count(19, 2)") == (
        "INVALID_FUNCTION_ARGUMENT", "INVALID_FUNCTION_ARGUMENT: Number must be representable with the bits specified. "
        "19 can not be represented with 2 bits")
    assert _err(run, "SELECT bit_count(19, 1)") == (
        "INVALID_FUNCTION_ARGUMENT", "INVALID_FUNCTION_ARGUMENT: Bits specified in bit_count must be between 2 and 64, got 1")


def test_aggregates(run):
    assert run("SELECT skewness(x), round(skewness(y), 4), every(x > 0), map_agg(k, x), multimap_agg(k, x) "
               "FROM (VALUES (1, 1e0, 'a'), (2, 2e0, NULL), (3, 3e0, 'a'), (10, 10e0, 'b')) t(x, y, k)") == [
        "1.0182337649086284", "1.0182", "true", "{a=1, b=10}", "{a=[1, 3], b=[10]}"]
    assert run("SELECT skewness(x) FROM (VALUES 1e0, 2e0) t(x)") == [None]


def test_scalars(run):
    assert run("SELECT e(), codepoint('A'), millisecond(TIMESTAMP '2020-01-02 03:04:05.321'), "
               "to_hex(sha1(to_utf8('abc'))), length(normalize('e' || chr(769))), "
               "length(normalize('e' || chr(769), NFC))") == [
        "2.718281828459045", "65", "321", "A9993E364706816ABA3E25717850C26C9CD0D89D", "1", "1"]
    kind, msg = _err(run, "SELECT normalize('a', NFD)")
    assert (kind, msg) == ("NOT_SUPPORTED", "NOT_SUPPORTED: line 1:8: normalize(x, NFD) is not available in the local "
                           "Athena engine (Athena runs it; only NFC is local); see docs/trino-functions.md, or run "
                           "this query on AWS")


def test_timezone_parts_of_zoned_literals(run):
    """Before: INVALID_CAST_ARGUMENT (DuckDB's cast refuses ' +05:30')."""
    assert run("SELECT timezone_hour(TIMESTAMP '2020-01-01 00:00:00 +05:30'), "
               "timezone_minute(TIMESTAMP '2020-01-01 00:00:00 -05:30'), "
               "timezone_hour(TIMESTAMP '2020-07-01 00:00:00 America/New_York'), "
               "TIMESTAMP '2020-01-01 00:00:00 +05:30' = TIMESTAMP '2019-12-31 18:30:00 UTC'") == ["5", "-30", "-4", "true"]


@pytest.mark.parametrize("sql,kind,message", [
    ("SELECT ARRAY[1, 2] IS A SET", "SYNTAX_ERROR", "line 1:23: mismatched input 'A'. Expecting: 'DISTINCT', 'NOT', 'NULL'"),
    ("SELECT ARRAY[1] MULTISET UNION ARRAY[2]", "SYNTAX_ERROR",
     "line 1:32: mismatched input 'ARRAY'. Expecting: '(', 'SELECT', 'TABLE', 'VALUES'"),
    ("SELECT x\nFROM (VALUES 1) t(x) WHERE set(x) = 1", "FUNCTION_NOT_FOUND",
     "FUNCTION_NOT_FOUND: line 2:28: Function 'set' not registered"),
    ("SELECT * FROM TABLE(sequence(start => 1, stop => 3))", "NOT_SUPPORTED",
     "NOT_SUPPORTED: line 1:15: Table functions (FROM TABLE(...)) are not available in the local Athena engine; for "
     "TABLE(sequence(...)) write UNNEST(sequence(start, stop)) AS t(sequential_number), or run this query on AWS"),
    ("SELECT (CAST(ROW(1, 2) AS ROW(a integer, b integer))).*", "NOT_SUPPORTED",
     "NOT_SUPPORTED: line 1:55: Row field expansion (<row expression>.*) is not available in the local Athena engine "
     "(Athena runs it); select the fields by name (r.a, r.b), or run this query on AWS"),
])
def test_syntax_refused_before_duckdb(run, sql, kind, message):
    assert _err(run, sql) == (kind, message)


def test_syntax_words_in_strings_and_set_operations_still_run(run):
    assert run("SELECT 'IS A SET' AS s") == ["IS A SET"]
    assert run("SELECT count(*) FROM (SELECT 1 UNION SELECT 2) t") == ["2"]
