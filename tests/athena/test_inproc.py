"""In-process reads (engine inside the endpoint) vs the HTTP path; Glue partition expressions.

The ``moto_url`` server runs in this process (a thread), so moto's backends here are the ones
the HTTP path reads through: both engines see the same lake.
"""
from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot

from lakekit.local.athena import QueryEngine
from lakekit.local.athena._inproc import MotoSource
from lakekit.local.athena.engine import _glue_expression

from .conftest import DB, REGION

ACCOUNT = "123456789012"
KEYS = [{"Name": "year", "Type": "int"}, {"Name": "month", "Type": "int"}, {"Name": "day", "Type": "int"}]

# (sql, expected row count) - every format and pruning shape the engine reads
QUERIES = [
    ("SELECT carrier, count(*) AS n FROM flights GROUP BY carrier ORDER BY carrier", 15),
    ("SELECT origin, dest, count(*) AS n FROM flights GROUP BY origin, dest ORDER BY n DESC, origin, dest LIMIT 5", 5),
    ("SELECT month, avg(arr_delay) AS a FROM flights WHERE year = 2013 AND month IN (2, 3) GROUP BY month ORDER BY month", 2),
    ("SELECT carrier, flight, dep_delay FROM flights WHERE year = 2013 AND month = 1 AND day = 4 "
     "AND dep_delay IS NOT NULL ORDER BY dep_delay DESC, carrier, flight LIMIT 7", 7),
    ("SELECT day, count(dep_delay) AS n FROM flights WHERE month BETWEEN 2 AND 3 AND (day = 1 OR day > 5) GROUP BY day ORDER BY day", 3),
    ("SELECT count(*) AS n FROM flights WHERE time_hour >= TIMESTAMP '2013-03-01 00:00:00'", 1),
    ("SELECT * FROM flights WHERE year = 2013 AND month = 3 AND day = 2 ORDER BY flight, carrier, sched_dep_time", 765),
    ("SELECT origin, count(*) AS n, sum(distance) AS d FROM flights_csv GROUP BY origin ORDER BY origin", 3),
    ("SELECT name FROM airlines WHERE carrier = 'UA'", 1),
    ("SELECT tailnum, engine.count AS engines FROM planes ORDER BY tailnum LIMIT 3", 3),
]


@pytest.fixture(scope="module")
def inproc_engine(lake) -> QueryEngine:
    # a dead S3 endpoint for pyarrow: every object byte must come from moto's backend in-process
    return QueryEngine(lake["glue"], lake["s3"], "http://127.0.0.1:9", REGION,
                       inproc=MotoSource(ACCOUNT, ACCOUNT, REGION))


@pytest.mark.parametrize("sql,nrows", QUERIES)
def test_inproc_results_and_bytes_equal_http(engine, inproc_engine, sql, nrows):
    http = engine.execute(sql, database=DB)
    local = inproc_engine.execute(sql, database=DB)
    assert local.arrow.equals(http.arrow)
    assert local.arrow.num_rows == nrows
    assert http.data_scanned_bytes > 0
    assert local.data_scanned_bytes == http.data_scanned_bytes


def test_inproc_partitions_and_listing_equal_http(engine, inproc_engine):
    def shape(parts):
        return [(p["Values"], p["StorageDescriptor"]["Location"]) for p in parts]

    assert shape(inproc_engine.get_partitions(DB, "flights")) == shape(engine.get_partitions(DB, "flights"))
    assert len(inproc_engine.get_partitions(DB, "flights")) == 21
    session = inproc_engine.inproc.session()
    from lakekit.local.athena._io import list_files

    loc = "s3://lake/processed/flights/"
    assert session.list_files(loc) == list_files(inproc_engine.s3, loc)
    assert len(session.list_files(loc)) == 21
    assert session.list_files("s3://no-such-bucket-here/x/") == []


def test_inproc_cutoff_counts_like_http(engine, inproc_engine):
    sql = "SELECT carrier, count(*) FROM flights GROUP BY carrier"
    errors = []
    for eng in (engine, inproc_engine):
        with pytest.raises(Exception) as exc:
            eng.execute(sql, database=DB, bytes_scanned_cutoff=1000)
        errors.append(exc.value)
    assert [e.error_type for e in errors] == ["EXCEEDED_SCANNED_BYTES_LIMIT"] * 2
    assert all(e.data_scanned_bytes > 1000 for e in errors)


def test_inproc_missing_object_is_a_clear_error(lake, inproc_engine):
    session = inproc_engine.inproc.session()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        session.open_input_file("lake/processed/flights/nothing-here.parquet")
    body = session.open_input_file("lake/lookups/airlines/airlines.csv").read()
    assert body == lake["s3"].get_object(Bucket="lake", Key="lookups/airlines/airlines.csv")["Body"].read()


def _where(sql: str) -> list:
    where = sqlglot.parse_one(sql, read="athena").args["where"].this
    return list(where.flatten()) if isinstance(where, sqlglot.exp.And) else [where]


@pytest.mark.parametrize("sql,expected", [
    ("SELECT 1 FROM t WHERE year = 2014 AND month = 7 AND day = 4",
     "(year = 2014) AND (month = 7) AND (day = 4)"),
    ("SELECT 1 FROM t WHERE month IN (1, 2) AND 3 < day", "(month IN (1, 2)) AND (day > 3)"),
    ("SELECT 1 FROM t WHERE month BETWEEN 2 AND 3 AND (day = 1 OR day >= 30)",
     "(month BETWEEN 2 AND 3) AND ((day = 1) OR (day >= 30))"),
    ("SELECT 1 FROM t WHERE year = 2013 AND carrier = 'UA'", "year = 2013"),       # data column: left out
    ("SELECT 1 FROM t WHERE month = '7'", None),                                    # string literal on int key
    ("SELECT 1 FROM t WHERE day = 1 OR carrier = 'UA'", None),                      # OR with a data column
    ("SELECT 1 FROM t WHERE NOT month = 1", None),
    ("SELECT 1 FROM t WHERE month = 1.5", None),
    ("SELECT 1 FROM t WHERE region = 'it''s'", "region = 'it''s'"),
])
def test_glue_expression(sql, expected):
    keys = KEYS + [{"Name": "region", "Type": "string"}]
    assert _glue_expression(_where(sql), keys) == expected


def test_get_partitions_with_expression_over_http(engine):
    assert sorted(p["Values"][2] for p in engine.get_partitions(DB, "flights", "(month = 2) AND (day <= 3)")) == ["1", "2", "3"]
    # an expression Glue cannot evaluate falls back to every partition (pruned locally afterwards)
    assert len(engine.get_partitions(DB, "flights", "month = 'not a number'")) == 21
    assert len(engine.get_partitions(DB, "flights", "month === 2")) == 21


def test_limit_over_many_files_stops_early_and_is_right(inproc_engine, engine):
    r = inproc_engine.execute("SELECT flight FROM flights LIMIT 3", database=DB)
    assert r.arrow.num_rows == 3 and r.arrow.schema.field("flight").type == pa.int64()
    full = engine.execute("SELECT flight FROM flights", database=DB)
    assert 0 < r.data_scanned_bytes <= full.data_scanned_bytes
