"""Unit tests of the Glue ETL job's pure transforms on small DataFrames (lakekit/jobs/etl.py)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import types as T

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

UTC = dt.UTC
BASE = {
    "year": "2013", "month": "1", "day": "1", "dep_time": "517", "sched_dep_time": "515",
    "dep_delay": "2", "arr_time": "830", "sched_arr_time": "819", "arr_delay": "11",
    "carrier": "UA", "flight": "1545", "tailnum": "N14228", "origin": "EWR", "dest": "IAH",
    "air_time": "227", "distance": "1400", "hour": "5", "minute": "15",
    "time_hour": "2013-01-01T10:00:00Z",
}


def flights_df(spark, etl, rows):
    cols = etl.FLIGHTS_CSV
    data = [tuple({**BASE, **r}.get(c) for c in cols) for r in rows]
    schema = T.StructType([T.StructField(c, T.StringType(), True) for c in cols])
    return spark.createDataFrame(data, schema)


# ------------------------------------------------------------------ types + rejects
def test_cast_types_and_rejects_with_reasons(spark, etl):
    df = flights_df(spark, etl, [
        {"flight": "1"},                                   # good
        {"flight": "2", "dep_time": "517.0"},              # integral decimal is accepted
        {"flight": "3", "dep_delay": "abc"},               # bad double
        {"flight": "4", "dep_time": "5.5"},                # fractional int: never truncated
        {"flight": "5", "time_hour": "2013-02-30T10:00:00Z"},  # impossible date
        {"flight": "6", "carrier": ""},                    # required column missing
        {"flight": "7", "dep_delay": "x", "distance": "far"},  # two reasons
    ])
    valid, rejected = etl.cast_with_rejects(df, etl.SCHEMAS["flights"])
    types = {f.name: f.dataType for f in valid.schema.fields}
    assert types["year"] == T.IntegerType() and types["dep_delay"] == T.DoubleType()
    assert types["time_hour"] == T.TimestampType() and types["carrier"] == T.StringType()
    good = {r["flight"]: r for r in valid.collect()}
    assert sorted(good) == [1, 2]
    assert good[2]["dep_time"] == 517
    assert good[1]["time_hour"].replace(tzinfo=UTC) == dt.datetime(2013, 1, 1, 10, tzinfo=UTC) \
        or good[1]["time_hour"] == dt.datetime(2013, 1, 1, 10)
    reasons = {r["flight"]: (r["reject_reason"], r["reject_columns"]) for r in rejected.collect()}
    assert reasons == {
        "3": ("dep_delay='abc' is not a valid double", ["dep_delay"]),
        "4": ("dep_time='5.5' is not a valid int", ["dep_time"]),
        "5": ("time_hour='2013-02-30T10:00:00Z' is not a valid timestamp", ["time_hour"]),
        "6": ("carrier: required value is missing", ["carrier"]),
        "7": ("dep_delay='x' is not a valid double; distance='far' is not a valid double",
              ["dep_delay", "distance"]),
    }
    # rejected rows keep the original strings
    assert {f.dataType for f in rejected.schema.fields if f.name in etl.FLIGHTS_CSV} == {
        T.StringType()}


def test_cancelled_flights_keep_na_times(spark, etl):
    df = flights_df(spark, etl, [
        {"flight": "10", "dep_time": "", "dep_delay": "", "arr_time": "NA", "arr_delay": "",
         "air_time": "", "tailnum": ""},
        {"flight": "11"},
    ])
    valid, rejected = etl.cast_with_rejects(df, etl.SCHEMAS["flights"])
    assert rejected.count() == 0
    rows = {r["flight"]: r for r in etl.add_flight_flags(valid).collect()}
    c = rows[10]
    assert (c["dep_time"], c["dep_delay"], c["arr_time"], c["arr_delay"], c["air_time"],
            c["tailnum"]) == (None,) * 6
    assert c["cancelled"] is True and c["sched_dep_time"] == 515
    assert rows[11]["cancelled"] is False


def test_malformed_csv_row_is_rejected(spark, etl, tmp_path):
    d = tmp_path / "flights" / "ingest_date=2026-01-01"
    d.mkdir(parents=True)
    header = ",".join(etl.FLIGHTS_CSV)
    good = ",".join(BASE[c] for c in etl.FLIGHTS_CSV)
    (d / "a.csv").write_text(f"{header}\n{good}\n2013,1,1,517\n")
    raw = etl.read_raw(spark, "flights", [str(d / "a.csv")])
    valid, rejected = etl.cast_with_rejects(raw, etl.SCHEMAS["flights"])
    assert valid.count() == 1
    rej = rejected.collect()
    assert len(rej) == 1 and rej[0]["reject_reason"].startswith("malformed record: 2013,1,1,517")
    assert rej[0]["source_file"] == "flights/ingest_date=2026-01-01/a.csv"
    assert str(rej[0]["ingest_date"]) == "2026-01-01"



def test_valid_csv_shapes_the_ingest_lambda_accepts_read_whole(spark, etl, tmp_path):
    """What lands in raw (a spreadsheet's BOM + CRLF, doubled quotes, a quoted line break, no
    final newline) is read as the rows it holds: the job's count equals the Lambda's."""
    d = tmp_path / "flights" / "ingest_date=2026-01-01"
    d.mkdir(parents=True)
    header = ",".join(etl.FLIGHTS_CSV)
    row = dict(BASE)
    quoted = {**row, "tailnum": '"N1""2"', "dest": '"IA\r\nH"'}
    lines = [header, ",".join(row[c] for c in etl.FLIGHTS_CSV), ",".join(quoted.get(c, row[c]) for c in etl.FLIGHTS_CSV)]
    (d / "excel.csv").write_bytes(("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
    raw = etl.read_raw(spark, "flights", [str(d / "excel.csv")])
    valid, rejected = etl.cast_with_rejects(raw, etl.SCHEMAS["flights"])
    assert rejected.count() == 0, [r["reject_reason"] for r in rejected.collect()]
    got = sorted((r["tailnum"], r["dest"]) for r in valid.collect())
    assert len(got) == 2 and ('N1"2', "IA\nH") in [(t, d.replace("\r\n", "\n")) for t, d in got]


# ------------------------------------------------------------------ dedup (weather DST)
def _weather_raw(tmp_path, extra: list[dict] | None = None):
    src = SAMPLE / "weather" / "weather.jsonl"
    if not src.exists():
        pytest.skip("data/sample/weather/weather.jsonl missing: run `python data/generate.py --sample`")
    d1 = tmp_path / "weather" / "ingest_date=2026-01-01"
    d1.mkdir(parents=True)
    shutil.copy(src, d1 / "weather.jsonl")
    files = [str(d1 / "weather.jsonl")]
    if extra:
        d2 = tmp_path / "weather" / "ingest_date=2026-01-02"
        d2.mkdir(parents=True)
        (d2 / "page-2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in extra))
        files.append(str(d2 / "page-2.jsonl"))
    return src, files


def test_weather_dst_hours_are_distinct_instants_and_redelivered_rows_dedup(spark, etl, tmp_path):
    src, _ = _weather_raw(tmp_path)
    records = [json.loads(line) for line in src.read_text().splitlines()]
    dst = [r for r in records if r["observed_at"] == "2013-11-03T06:00:00Z"]
    assert len(dst) == 3  # the repeated local 01:00 (EST) at each station
    redelivered = [{**r, "temperature": {**r["temperature"], "temp": 99.5}} for r in dst]
    _, files = _weather_raw(tmp_path / "b", redelivered)
    raw = etl.flatten(etl.read_raw(spark, "weather", files), etl.RENAMES["weather"])
    valid, rejected = etl.cast_with_rejects(raw, etl.SCHEMAS["weather"])
    assert rejected.count() == 0
    n_valid = valid.count()
    out = etl.dedup(valid, etl.KEYS["weather"])
    assert n_valid == len(records) + 3
    assert n_valid - out.count() == 3  # duplicates counted on (station, observed_at)
    nov3 = out.where("month = 11 AND day = 3 AND hour = 1").collect()
    # the local 01:00 happens twice (EDT then EST): both are real hours and both are kept
    assert len(nov3) == 6
    kept = {(r["station"], r["observed_at"].strftime("%H")): r for r in nov3}
    # deterministic winner: the later-ingested page
    assert all(kept[(s, "06")]["temp"] == 99.5 for s in ("EWR", "JFK", "LGA"))
    assert all(kept[(s, "06")]["ingest_date"] == dt.date(2026, 1, 2) for s in ("EWR", "JFK", "LGA"))
    assert all(kept[(s, "05")]["temp"] != 99.5 for s in ("EWR", "JFK", "LGA"))
    # same input again -> same winners (deterministic)
    again = etl.dedup(valid, etl.KEYS["weather"]).where("month = 11 AND day = 3 AND hour = 1")
    assert sorted((r["station"], r["observed_at"], r["temp"]) for r in again.collect()) == sorted(
        (r["station"], r["observed_at"], r["temp"]) for r in nov3)


def test_dedup_identical_rows_keeps_one(spark, etl):
    df = spark.createDataFrame([("a", 1, "x"), ("a", 1, "y"), ("a", 1, "x"), ("b", 2, "z")],
                               "k string, n int, v string")
    out = sorted(tuple(r) for r in etl.dedup(df, ["k", "n"]).collect())
    assert out == [("a", 1, "x"), ("b", 2, "z")]


# ------------------------------------------------------------------ flattening
def test_flatten_planes_and_weather_names(spark, etl):
    planes = spark.read.schema(etl._raw_struct(etl.RAW_SCHEMAS["planes"])).json(
        str(SAMPLE / "planes" / "planes.jsonl"))
    flat = etl.flatten(planes, etl.RENAMES["planes"])
    assert flat.columns == ["tailnum", "year", "type", "manufacturer", "model",
                            "engine_count", "engine_type", "seats", "speed"]
    valid, rejected = etl.cast_with_rejects(flat, etl.SCHEMAS["planes"])
    assert rejected.count() == 0
    row = valid.where("tailnum = 'N10156'").collect()[0]
    assert (row["engine_count"], row["engine_type"], row["seats"], row["speed"], row["year"]) == (
        2, "Turbo-fan", 55, None, 2004)
    weather = spark.createDataFrame(
        [], etl._raw_struct(etl.RAW_SCHEMAS["weather"]))
    assert etl.flatten(weather, etl.RENAMES["weather"]).columns == [
        "station", "observed_at", "year", "month", "day", "hour", "temp", "dewp", "humid",
        "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib"]


def test_flatten_snake_case_and_collision(spark, etl):
    df = spark.createDataFrame([(("1", "2"),)], "engineInfo struct<maxCount:string, Type:string>")
    assert etl.flatten(df).columns == ["engine_info_max_count", "engine_info_type"]
    with pytest.raises(ValueError, match="duplicate column names"):
        etl.flatten(df, {"engine_info_max_count": "x", "engine_info_type": "x"})


# ------------------------------------------------------------------ enrichment
def test_enrich_flights_with_broadcast_lookups(spark, etl):
    df = flights_df(spark, etl, [{"flight": "1"}, {"flight": "2", "dest": "SJU", "carrier": "ZZ"},
                                 {"flight": "3", "origin": "JFK", "sched_dep_time": "2359",
                                  "month": "7"}])
    valid, _ = etl.cast_with_rejects(df, etl.SCHEMAS["flights"])
    airlines = spark.createDataFrame([("UA", "United Air Lines Inc.")], "carrier string, name string")
    airports = spark.createDataFrame(
        [("EWR", "Newark Liberty Intl", "America/New_York"),
         ("JFK", "John F Kennedy Intl", "America/New_York"),
         ("IAH", "George Bush Intercontinental", "America/Chicago")],
        "faa string, name string, tzone string")
    out = etl.enrich_flights(valid, airlines, airports)
    plan = out._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan
    rows = {r["flight"]: r for r in out.collect()}
    r1 = rows[1]
    assert (r1["carrier_name"], r1["origin_name"], r1["dest_name"], r1["origin_tz"],
            r1["dest_tz"]) == ("United Air Lines Inc.", "Newark Liberty Intl",
                               "George Bush Intercontinental", "America/New_York",
                               "America/Chicago")
    # 05:15 EST on 2013-01-01 = 10:15 UTC (session time zone is UTC)
    assert r1["sched_dep_utc"] == dt.datetime(2013, 1, 1, 10, 15)
    # 23:59 EDT on 2013-07-01 = 03:59 UTC next day
    assert rows[3]["sched_dep_utc"] == dt.datetime(2013, 7, 2, 3, 59)
    assert (rows[2]["carrier_name"], rows[2]["dest_name"], rows[2]["dest_tz"]) == (None,) * 3
    assert out.count() == 3  # left joins never drop or multiply rows
    bare = etl.enrich_flights(valid)
    assert {"carrier_name", "origin_name", "dest_name", "origin_tz", "dest_tz",
            "sched_dep_utc"} <= set(bare.columns)
    assert bare.where("carrier_name IS NOT NULL OR sched_dep_utc IS NOT NULL").count() == 0


# ------------------------------------------------------------------ DQDL
def test_parse_dqdl_subset(etl):
    rules = etl.parse_dqdl("""Rules = [
        RowCount between 1 and 10,
        IsComplete "a",
        Completeness "b" >= 0.5,
        IsPrimaryKey "a" "b",
        ColumnValues "c" in ["x", "y,z", NULL],
        ColumnValues "n" between 0 and 13 with threshold > 0.9,
        ReferentialIntegrity "c" "ref.k" = 1.0
    ]""")
    assert [r.kind for r in rules] == ["RowCount", "IsComplete", "Completeness", "IsPrimaryKey",
                                       "ColumnValues", "ColumnValues", "ReferentialIntegrity"]
    assert rules[3].columns == ["a", "b"]
    assert rules[4].cmp.op == "in" and rules[4].cmp.args == ["x", "y,z", None]
    assert rules[5].threshold.op == ">" and rules[5].threshold.args == [0.9]
    with pytest.raises(ValueError, match="not supported"):
        etl.parse_dqdl('Rules = [ ColumnLength "a" > 1 ]')
    with pytest.raises(ValueError, match="Rules = \\["):
        etl.parse_dqdl('IsComplete "a"')


def test_evaluate_dqdl_values_and_null_semantics(spark, etl):
    df = spark.createDataFrame([("A", 1, 0), ("B", 13, 1), (None, 5, 2), ("A", 12, 3)],
                               "c string, month int, id int")
    ref = spark.createDataFrame([("A",)], "k string")
    rules = etl.parse_dqdl("""Rules = [
        RowCount = 4,
        IsComplete "c",
        Completeness "c" > 0.7,
        IsUnique "id",
        IsPrimaryKey "c" "month",
        ColumnValues "month" between 0 and 13,
        ColumnValues "month" between 0 and 13 with threshold >= 0.75,
        ColumnValues "c" in ["A", "B"],
        ColumnValues "c" in ["A", "B", NULL],
        ColumnValues "c" != "B",
        ReferentialIntegrity "c" "ref.k" > 0.6,
        ReferentialIntegrity "c" "other.k" = 1.0
    ]""", "soft")
    res = etl.evaluate_dqdl(df, rules, {"ref": ref})
    got = [(r["outcome"], r["observed"]) for r in res]
    assert got == [
        ("Passed", 4), ("Failed", 0.75), ("Passed", 0.75), ("Passed", 1.0),
        ("Failed", 1.0),              # unique, but a null key fails IsPrimaryKey
        ("Failed", 0.75),             # between is exclusive: 13 fails
        ("Passed", 0.75),
        ("Failed", 0.75),             # NULL fails unless listed
        ("Passed", 1.0),
        ("Failed", 0.75),             # != lets NULL pass, B fails
        ("Passed", 0.666667),         # 2 of 3 non-null values found in ref
        ("Skipped", None),
    ]
    assert "value 13 does not meet the constraint between 0 and 13" in res[5]["message"]
    assert res[4]["message"] == "0 duplicate row(s), 1 row(s) with a null key"


def test_hard_rule_failure_raises_with_rule_and_observed(spark, etl):
    df = spark.createDataFrame([("UA", 1), (None, 14)], "carrier string, month int")
    rules = etl.parse_dqdl('Rules = [ IsComplete "carrier", ColumnValues "month" between 0 and 13 ]',
                           "hard")
    res = etl.evaluate_dqdl(df, rules)
    with pytest.raises(etl.DataQualityError) as err:
        etl._raise_on_hard("flights", res)
    msg = str(err.value)
    assert 'IsComplete "carrier" (observed 0.5: 1 null value(s))' in msg
    assert 'ColumnValues "month" between 0 and 13 (observed 0.5' in msg
    assert "No data was written" in msg
    soft = etl.evaluate_dqdl(df, etl.parse_dqdl('Rules = [ IsComplete "carrier" ]', "soft"))
    etl._raise_on_hard("flights", soft)  # soft failures never raise
    assert soft[0]["outcome"] == "Failed"


# ------------------------------------------------------------------ arguments
def test_job_args_like_get_resolved_options(etl):
    argv = ["etl.py", "--JOB_NAME", "j", "--dataset", "flights", "--raw_path", "s3://r/",
            "--processed_path", "p", "--rejected_path", "q", "--reports_path", "rep",
            "--bookmark_path", "b", "--TempDir", "s3://tmp/", "--enable-metrics", "true"]
    cfg = etl.parse_config(argv)
    assert (cfg.job_name, cfg.dataset, cfg.raw_path, cfg.bookmark_option, cfg.lookups) == (
        "j", "flights", "s3://r/", "job-bookmark-disable", "p")
    cfg2 = etl.parse_config(argv + ["--job-bookmark-option", "job-bookmark-enable",
                                    "--run_id", "r1", "--lookups", "s3://proc/"])
    assert (cfg2.bookmark_option, cfg2.run_id, cfg2.lookups) == (
        "job-bookmark-enable", "r1", "s3://proc/")
    assert etl.parse_config(argv + ["--JOB_RUN_ID", "jr_abc"]).run_id == "jr_abc"
    with pytest.raises(ValueError, match="--dataset 'cars' is unknown"):
        etl.parse_config([a if a != "flights" else "cars" for a in argv])
    with pytest.raises(ValueError, match="invalid job arguments"):
        etl.parse_config(["etl.py", "--JOB_NAME", "j"])


def test_hard_dq_failure_in_job_writes_no_output(spark, etl, tmp_path):
    raw = tmp_path / "raw" / "flights" / "ingest_date=2026-01-01"
    raw.mkdir(parents=True)
    cols = etl.FLIGHTS_CSV
    lines = [",".join(cols)] + [",".join({**BASE, "flight": str(i), "month": m}[c] for c in cols)
                                for i, m in ((1, "1"), (2, "14"))]
    (raw / "2013-01.csv").write_text("\n".join(lines) + "\n")
    cfg = etl.JobConfig("t", "flights", str(tmp_path / "raw"), str(tmp_path / "proc"),
                        str(tmp_path / "rej"), str(tmp_path / "rep"), str(tmp_path / "bm"),
                        "job-bookmark-enable", "run1", str(tmp_path / "proc"))
    with pytest.raises(etl.DataQualityError, match='ColumnValues "month" between 0 and 13'):
        etl.run_dataset(spark, cfg, "flights")
    assert not (tmp_path / "proc").exists() and not (tmp_path / "bm").exists()
    dq = json.loads((tmp_path / "rep" / "t" / "flights" / "run1" / "dq.json").read_text())
    assert dq["status"] == "Failed"
    failed = [r for r in dq["results"] if r["outcome"] == "Failed" and r["severity"] == "hard"]
    assert [r["rule"] for r in failed] == ['ColumnValues "month" between 0 and 13']
    # carrier RI is skipped (no lookups), not failed
    assert any(r["outcome"] == "Skipped" and r["rule"].startswith("ReferentialIntegrity")
               for r in dq["results"])


# ------------------------------------------------------------------ S3 paths (boto3, as on Glue)
def test_s3_listing_and_json_state(etl, moto_client, moto_url, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setattr(etl, "_S3", None)
    s3 = moto_client("s3")
    s3.create_bucket(Bucket="raw")
    body = b"carrier,name\nUA,United\n"
    for key in ("airlines/ingest_date=2026-01-01/airlines.csv",
                "airlines/ingest_date=2026-01-01/notes.txt",
                "airlines/loose.csv",
                "_manifest/airlines/x.json"):
        s3.put_object(Bucket="raw", Key=key, Body=body)
    files, ignored = etl.list_raw_files("s3://raw/", "airlines")
    assert [(f.rel, f.uri, f.size) for f in files] == [
        ("airlines/ingest_date=2026-01-01/airlines.csv",
         "s3://raw/airlines/ingest_date=2026-01-01/airlines.csv", len(body))]
    assert files[0].etag == hashlib.md5(body).hexdigest()  # = local fingerprint of same bytes
    assert sorted(ignored) == ["airlines/ingest_date=2026-01-01/notes.txt", "airlines/loose.csv"]
    s3.create_bucket(Bucket="art")
    assert etl.read_json_file("s3://art/bookmarks/t/airlines.json") is None
    etl.write_json_file("s3://art/bookmarks/t/airlines.json", {"files": {"a": {"size": 1}}})
    assert etl.read_json_file("s3://art/bookmarks/t/airlines.json") == {"files": {"a": {"size": 1}}}
    assert etl._exists_dataset("s3://art/processed/airlines") is False
    s3.put_object(Bucket="art", Key="processed/airlines/part-0.snappy.parquet", Body=b"x")
    assert etl._exists_dataset("s3://art/processed/airlines/") is True
    monkeypatch.setattr(etl, "_S3", None)
