"""SELECT path: results vs pandas, bytes scanned, Trino constructs, result CSV."""
from __future__ import annotations

import csv
import io

import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from lakekit.local.athena import write_results_csv


def test_carrier_counts_equal_pandas(run, flights_df):
    r = run("SELECT carrier, count(*) AS flights FROM flights GROUP BY carrier ORDER BY carrier")
    got = dict(zip(r.arrow["carrier"].to_pylist(), r.arrow["flights"].to_pylist()))
    want = flights_df.groupby("carrier").size().to_dict()
    assert got == want
    assert sum(got.values()) == len(flights_df)
    assert [(c.name, c.type) for c in r.columns] == [("carrier", "varchar"), ("flights", "bigint")]
    assert r.statement_type == "DML" and r.substatement_type == "SELECT"


def test_monthly_average_delay_equals_pandas(run, flights_df):
    r = run("""
        SELECT month, avg(arr_delay) AS avg_arr_delay, count(arr_delay) AS n
        FROM awsdatacatalog.lakedb.flights WHERE year = 2013 GROUP BY month ORDER BY month""")
    got = r.arrow.to_pandas()
    want = flights_df.groupby("month")["arr_delay"].agg(["mean", "count"]).reset_index()
    assert got["month"].tolist() == want["month"].tolist() == [1, 2, 3]
    assert got["avg_arr_delay"].round(9).tolist() == want["mean"].round(9).tolist()
    assert got["n"].tolist() == want["count"].tolist()


def test_csv_table_matches_parquet_and_reads_whole_files(run, lake, flights_df):
    r = run("SELECT origin, count(*) AS n, sum(distance) AS d FROM flights_csv GROUP BY origin ORDER BY origin")
    want = flights_df.groupby("origin").agg(n=("distance", "size"), d=("distance", "sum")).reset_index()
    assert r.arrow["origin"].to_pylist() == want["origin"].tolist()
    assert r.arrow["n"].to_pylist() == want["n"].tolist()
    assert r.arrow["d"].to_pylist() == want["d"].tolist()
    sizes = sum(o["Size"] for o in lake["s3"].list_objects_v2(Bucket="lake", Prefix="landing/flights/")["Contents"])
    assert r.data_scanned_bytes == sizes  # CSV: every file read whole
    # missing values are NULL for numbers (empty fields in the CSV)
    nulls = run("SELECT count(*) AS c FROM flights_csv WHERE dep_delay IS NULL").arrow["c"][0].as_py()
    assert nulls == int(flights_df["dep_delay"].isna().sum()) > 0


def test_one_day_scan_is_small_fraction_of_full_scan(run, lake):
    fs = lake["fs"]

    def chunk_bytes(columns):
        total = 0
        for fi in fs.get_file_info(pafs.FileSelector("lake/processed/flights", recursive=True)):
            if fi.path.endswith(".parquet"):
                md = pq.ParquetFile(fi.path, filesystem=fs).metadata
                for rg in range(md.num_row_groups):
                    for c in range(md.num_columns):
                        cc = md.row_group(rg).column(c)
                        if columns is None or cc.path_in_schema in columns:
                            total += cc.total_compressed_size
        return total

    full = run("SELECT sum(distance) AS d, count(dep_delay) AS c FROM flights")
    day = run("SELECT sum(distance) AS d, count(dep_delay) AS c FROM flights WHERE year = 2013 AND month = 2 AND day = 3")
    assert full.data_scanned_bytes > 0 and day.data_scanned_bytes > 0
    assert day.data_scanned_bytes < 0.10 * full.data_scanned_bytes, (day.data_scanned_bytes, full.data_scanned_bytes)
    # pruning through IN / BETWEEN on keys as well
    two = run("SELECT count(*) AS c FROM flights WHERE month IN (1, 3) AND day BETWEEN 2 AND 3")
    assert two.arrow["c"][0].as_py() == run(
        "SELECT count(*) AS c FROM flights WHERE (month = 1 OR month = 3) AND (day = 2 OR day = 3)").arrow["c"][0].as_py()
    # projection: two columns read only their column chunks; measured == sum of those chunks' sizes
    star = run("SELECT * FROM flights")
    assert full.data_scanned_bytes < 0.2 * star.data_scanned_bytes
    assert (full.data_scanned_bytes, star.data_scanned_bytes) == (chunk_bytes(["distance", "dep_delay"]), chunk_bytes(None))
    assert [c.type for c in full.columns] == ["bigint", "bigint"]


def test_joins_csv_lookup_with_quotes_and_json_nested(run, flights_df, lake):
    r = run("""SELECT a.name, count(*) AS n FROM flights f JOIN airlines a ON f.carrier = a.carrier
               WHERE a.carrier = 'UA' GROUP BY a.name""")
    assert r.arrow.to_pylist() == [{"name": "United Air Lines, Inc.", "n": int((flights_df.carrier == "UA").sum())}]
    p = run("SELECT tailnum, engine.type AS engine_type, capacity.seats AS seats FROM planes WHERE engine.count = 4 ORDER BY tailnum")
    planes = lake["planes"]
    want = planes[planes.engines == 4].sort_values("tailnum")
    assert p.arrow["tailnum"].to_pylist() == want["tailnum"].tolist()
    assert p.arrow["seats"].to_pylist() == want["seats"].tolist()
    assert [c.type for c in run("SELECT engine FROM planes LIMIT 1").columns] == ["row"]


CONSTRUCTS = [
    ("SELECT date_trunc('month', DATE '2013-02-17') AS v", "2013-02-01"),
    ("SELECT date_add('day', 3, DATE '2013-02-27') AS v", "2013-03-02"),
    ("SELECT min(date_add('day', 1, flight_date)) AS v FROM flights", "2013-01-02"),
    ("SELECT date_diff('day', DATE '2013-01-01', DATE '2013-03-01') AS v", "59"),
    ("SELECT approx_percentile(x, 0.5) AS v FROM (VALUES 1, 2, 3, 4, 5) AS t(x)", "3"),
    ("SELECT sum(x) AS v FROM UNNEST(ARRAY[1, 2, 3]) AS t(x)", "6"),
    ("SELECT element_at(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), 'b') AS v", "2"),
    ("SELECT element_at(ARRAY[10, 20, 30], 2) AS v", "20"),
    ("SELECT json_extract_scalar('{\"a\": {\"b\": \"x\"}}', '$.a.b') AS v", "x"),
    ("SELECT regexp_like('N14228', '^N[0-9]+$') AS v", "true"),
    ("SELECT regexp_extract('flight-1545', '[0-9]+') AS v", "1545"),
    ("SELECT CAST('42' AS integer) + 1 AS v", "43"),
    ("SELECT CASE WHEN 5 > 3 THEN 'big' ELSE 'small' END AS v", "big"),
    ("SELECT 7 / 2 AS v", "3"),
    ("SELECT v FROM (SELECT carrier, row_number() OVER (ORDER BY count(*) DESC) AS rn, carrier AS v "
     "FROM flights GROUP BY carrier) WHERE rn = 1", "UA"),
    ("WITH c AS (SELECT carrier, count(*) AS n FROM flights GROUP BY carrier) SELECT max(n) AS v FROM c", "3236"),
    ("SELECT cardinality(split('a,b,c', ',')) AS v", "3"),
    ("SELECT array_join(transform(ARRAY[1, 2], x -> x * 10), '|') AS v", "10|20"),
    ("SELECT date_format(TIMESTAMP '2013-01-05 10:30:00', '%Y-%m-%d %H:%i') AS v", "2013-01-05 10:30"),
    ("SELECT coalesce(NULL, 'fallback') AS v", "fallback"),
    ("SELECT try_cast('abc' AS integer) IS NULL AS v", "true"),
    ("SELECT count_if(dep_delay > 60) AS v FROM flights WHERE month = 1 AND day = 1", None),
    ("SELECT lag(x) OVER (ORDER BY x) AS v FROM (VALUES 1, 2) AS t(x) ORDER BY x DESC LIMIT 1", "1"),
    ("SELECT year(DATE '2013-07-04') * 100 + month(DATE '2013-07-04') AS v", "201307"),
]


@pytest.mark.parametrize("sql,expected", CONSTRUCTS, ids=[f"c{i:02d}" for i in range(len(CONSTRUCTS))])
def test_trino_constructs(run, flights_df, sql, expected):
    r = run(sql)
    got = r.rows()[0][0]
    if expected is None:  # count_if: independent pandas truth
        d = flights_df[(flights_df.month == 1) & (flights_df.day == 1)]
        expected = str(int((d.dep_delay > 60).sum()))
    assert got == expected, (sql, got)


def test_date_add_keeps_date_type(run):
    r = run("SELECT date_add('day', 1, DATE '2013-01-31') AS d, date_add('month', 1, DATE '2013-01-31') AS m")
    assert [c.type for c in r.columns] == ["date", "date"]
    assert r.rows() == [["2013-02-01", "2013-02-28"]]


def test_unnamed_columns_are_colN(run):
    r = run("SELECT carrier, count(*), max(distance) AS MaxDist FROM flights WHERE month = 1 AND day = 1 GROUP BY 1 LIMIT 1")
    assert [c.name for c in r.columns] == ["carrier", "_col1", "maxdist"]


def test_results_csv_format(run):
    r = run("SELECT 'a\"b' AS s, CAST(NULL AS varchar) AS n, 1.5 AS d, true AS b, DATE '2013-01-02' AS dt, "
            "TIMESTAMP '2013-01-02 03:04:05' AS ts, 7 AS i")
    text = write_results_csv(r).decode()
    assert text == ('"s","n","d","b","dt","ts","i"\n'
                    '"a""b",,"1.5","true","2013-01-02","2013-01-02 03:04:05.000","7"\n')
    assert list(csv.reader(io.StringIO(text)))[1][1] == ""


def test_results_csv_of_aggregate_round_trips_with_pandas(run, flights_df):
    r = run("SELECT origin, count(*) AS n FROM flights GROUP BY origin ORDER BY origin")
    back = pd.read_csv(io.BytesIO(write_results_csv(r)))
    assert back["n"].tolist() == flights_df.groupby("origin").size().sort_index().tolist()
