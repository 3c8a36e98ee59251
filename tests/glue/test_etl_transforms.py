"""The Glue ETL job's steps on small inputs (lakekit/jobs/etl.py with the local awsglue).

Raw objects are read the way the script reads them (``create_dynamic_frame.from_options`` over a
stage that holds local files, as the local Glue runner's does), then ResolveChoice / unnest /
ApplyMapping to strings, the DataFrame rejects, dedup and enrichment, and EvaluateDataQuality."""
from __future__ import annotations

import datetime as dt
import json
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


def stage(glue_ctx, tmp_path: Path, files: dict[str, bytes | str]) -> str:
    """Put ``files`` (key under the bucket -> content) on a stage the GlueContext reads as S3."""
    from awsglue._s3 import StageView

    root = tmp_path / "stage"
    objects = []
    for i, (key, body) in enumerate(sorted(files.items())):
        path = root / "raw" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body.encode() if isinstance(body, str) else body)
        objects.append({"bucket": "raw", "key": key, "path": str(path), "etag": f"e{i}",
                        "size": path.stat().st_size, "last_modified": 1_000 + i})
    runtime = tmp_path / "rt"
    runtime.mkdir()
    (runtime / "stage.json").write_text(json.dumps({
        "root": str(root), "roots": [{"bucket": "raw", "prefix": "", "is_file": False}],
        "objects": objects}))
    glue_ctx.stage = StageView(runtime)
    glue_ctx.bookmarks = None
    return "s3://raw/"


def read(etl, glue_ctx, raw: str, dataset: str):
    return etl.raw_strings(etl.read_raw(glue_ctx, raw, dataset), dataset)


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


# ------------------------------------------------------------------ reading as Glue reads
def test_choice_column_is_cast_back_to_the_text_that_arrived(etl, glue_ctx, tmp_path):
    header = ",".join(etl.FLIGHTS_CSV)
    rows = [",".join({**BASE, "flight": str(i), "dep_delay": d}[c] for c in etl.FLIGHTS_CSV)
            for i, d in ((1, "2"), (2, "abc"), (3, "-4"))]
    raw = stage(glue_ctx, tmp_path, {
        "flights/ingest_date=2026-01-01/a.csv": "\n".join([header, *rows]) + "\n",
        "flights/ingest_date=2026-01-01/notes.json": '{"not": "flights"}\n',   # excluded format
        "flights/ingest_date=2026-01-01/_hidden.csv": header + "\n"})         # Hadoop-hidden
    dyf = etl.read_raw(glue_ctx, raw, "flights")
    assert dyf.schema().getField("dep_delay").dataType.typeName() == "choice"   # long | string
    df = etl.raw_strings(dyf, "flights")
    assert df.columns == etl.FLIGHTS_CSV + ["_file", "source_file", "ingest_date"]
    got = sorted((r["flight"], r["dep_delay"], r["source_file"]) for r in df.collect())
    assert got == [("1", "2", "flights/ingest_date=2026-01-01/a.csv"),
                   ("2", "abc", "flights/ingest_date=2026-01-01/a.csv"),
                   ("3", "-4", "flights/ingest_date=2026-01-01/a.csv")]
    valid, rejected = etl.cast_with_rejects(df.drop("_file"), etl.SCHEMAS["flights"])
    assert [r["reject_reason"] for r in rejected.collect()] == ["dep_delay='abc' is not a valid double"]
    assert sorted(r["dep_delay"] for r in valid.collect()) == [-4.0, 2.0]


def test_short_csv_row_is_rejected_for_its_missing_values(etl, glue_ctx, tmp_path):
    header = ",".join(etl.FLIGHTS_CSV)
    good = ",".join(BASE[c] for c in etl.FLIGHTS_CSV)
    raw = stage(glue_ctx, tmp_path, {"flights/ingest_date=2026-01-01/a.csv":
                                     f"{header}\n{good}\n2013,1,1,517\n"})
    valid, rejected = etl.cast_with_rejects(read(etl, glue_ctx, raw, "flights").drop("_file"),
                                            etl.SCHEMAS["flights"])
    assert valid.count() == 1
    rej = rejected.collect()
    assert len(rej) == 1 and rej[0]["reject_reason"].startswith(
        "sched_dep_time: required value is missing; sched_arr_time: required value is missing")
    assert rej[0]["source_file"] == "flights/ingest_date=2026-01-01/a.csv"
    assert str(rej[0]["ingest_date"]) == "2026-01-01"


def test_valid_csv_shapes_the_ingest_lambda_accepts_read_whole(etl, glue_ctx, tmp_path):
    """What lands in raw (a spreadsheet's BOM + CRLF, doubled quotes, a quoted line break, no
    final newline) is read as the rows it holds: the job's count equals the Lambda's."""
    header = ",".join(etl.FLIGHTS_CSV)
    row = dict(BASE)
    quoted = {**row, "tailnum": '"N1""2"', "dest": '"IA\r\nH"'}
    lines = [header, ",".join(row[c] for c in etl.FLIGHTS_CSV), ",".join(quoted.get(c, row[c]) for c in etl.FLIGHTS_CSV)]
    raw = stage(glue_ctx, tmp_path, {"flights/ingest_date=2026-01-01/excel.csv":
                                     ("\ufeff" + "\r\n".join(lines)).encode("utf-8")})
    valid, rejected = etl.cast_with_rejects(read(etl, glue_ctx, raw, "flights").drop("_file"),
                                            etl.SCHEMAS["flights"])
    assert rejected.count() == 0, [r["reject_reason"] for r in rejected.collect()]
    got = sorted((r["tailnum"], r["dest"]) for r in valid.collect())
    assert len(got) == 2 and ('N1"2', "IA\nH") in [(t, d.replace("\r\n", "\n")) for t, d in got]


def test_nested_json_unnests_to_stable_names(etl, glue_ctx, tmp_path):
    raw = stage(glue_ctx, tmp_path, {
        "planes/ingest_date=2026-01-01/planes.jsonl": (SAMPLE / "planes" / "planes.jsonl").read_text(),
        "weather/ingest_date=2026-01-01/w.jsonl": (SAMPLE / "weather" / "weather.jsonl").read_text()})
    flat = read(etl, glue_ctx, raw, "planes").drop("_file")
    assert flat.columns == ["tailnum", "year", "type", "manufacturer", "model",
                            "engine_count", "engine_type", "seats", "speed", "source_file", "ingest_date"]
    valid, rejected = etl.cast_with_rejects(flat, etl.SCHEMAS["planes"])
    assert rejected.count() == 0
    row = valid.where("tailnum = 'N10156'").collect()[0]
    assert (row["engine_count"], row["engine_type"], row["seats"], row["speed"], row["year"]) == (
        2, "Turbo-fan", 55, None, 2004)
    assert read(etl, glue_ctx, raw, "weather").columns[:15] == [
        "station", "observed_at", "year", "month", "day", "hour", "temp", "dewp", "humid",
        "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
    assert etl.raw_mappings("planes")[5] == ("`engine.count`", "string", "engine_count", "string")


# ------------------------------------------------------------------ dedup (weather DST)
def test_weather_dst_hours_are_distinct_instants_and_redelivered_rows_dedup(etl, glue_ctx, tmp_path):
    src = SAMPLE / "weather" / "weather.jsonl"
    records = [json.loads(line) for line in src.read_text().splitlines()]
    dst = [r for r in records if r["observed_at"] == "2013-11-03T06:00:00Z"]
    assert len(dst) == 3  # the repeated local 01:00 (EST) at each station
    redelivered = [{**r, "temperature": {**r["temperature"], "temp": 99.5}} for r in dst]
    raw = stage(glue_ctx, tmp_path, {
        "weather/ingest_date=2026-01-01/weather.jsonl": src.read_text(),
        "weather/ingest_date=2026-01-02/page-2.jsonl": "".join(json.dumps(r) + "\n" for r in redelivered)})
    valid, rejected = etl.cast_with_rejects(read(etl, glue_ctx, raw, "weather").drop("_file"),
                                            etl.SCHEMAS["weather"])
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


def test_dedup_identical_rows_keeps_one(spark, etl):
    df = spark.createDataFrame([("a", 1, "x"), ("a", 1, "y"), ("a", 1, "x"), ("b", 2, "z")],
                               "k string, n int, v string")
    out = sorted(tuple(r) for r in etl.dedup(df, ["k", "n"]).collect())
    assert out == [("a", 1, "x"), ("b", 2, "z")]


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


# ------------------------------------------------------------------ Glue Data Quality
def test_evaluate_quality_publishes_results_and_skips_rules_without_their_lookup(
        etl, glue_ctx, spark, tmp_path, monkeypatch):
    from awsglue.dynamicframe import DynamicFrame

    monkeypatch.setenv("LAKEKIT_GLUE_DQ_DIR", str(tmp_path / "dq"))
    df = flights_df(spark, etl, [{"flight": "1"}, {"flight": "2", "month": "14", "carrier": "ZZ"}])
    valid, _ = etl.cast_with_rejects(df, etl.SCHEMAS["flights"])
    frame = DynamicFrame.fromDF(valid, glue_ctx, "t")
    airlines = spark.createDataFrame([("UA", "United")], "carrier string, name string")
    res = etl.evaluate_quality(glue_ctx, frame, "flights", "hard", {"airlines": airlines})
    by = {r["rule"]: r for r in res}
    assert [r["outcome"] for r in res] == ["Passed", "Passed", "Passed", "Passed", "Failed", "Passed",
                                           "Failed"]
    assert by['ColumnValues "month" between 0 and 13']["message"] == \
        "Value: 0.5 does not meet the constraint requirement!"   # compliance, as Glue
    assert by['ReferentialIntegrity "carrier" "airlines.carrier" = 1.0']["observed"] == 0.5
    with pytest.raises(etl.DataQualityError) as err:
        etl._raise_on_hard("flights", res)
    assert 'ColumnValues "month" between 0 and 13 (Value: 0.5 does not meet' in str(err.value)
    assert "No data was written" in str(err.value)
    published = [json.loads(p.read_text()) for p in sorted((tmp_path / "dq").glob("*.json"))]
    assert [(d["EvaluationContext"], len(d["RuleResults"])) for d in published] == [("flights_hard", 7)]
    assert published[0]["RuleResults"][4]["Result"] == "FAIL"

    soft = etl.evaluate_quality(glue_ctx, frame, "flights", "soft", {"airports": None})
    skipped = [r["rule"] for r in soft if r["outcome"] == "Skipped"]
    assert skipped == ['ReferentialIntegrity "origin" "airports.faa" = 1.0',
                       'ReferentialIntegrity "dest" "airports.faa" > 0.95']
    etl._raise_on_hard("flights", soft)  # soft failures never raise
    assert len(list((tmp_path / "dq").glob("*.json"))) == 2  # the skipped rules are not sent


# ------------------------------------------------------------------ arguments
def test_job_args_through_get_resolved_options(etl):
    argv = ["etl.py", "--JOB_NAME", "j", "--dataset", "flights", "--raw_path", "s3://r/",
            "--processed_path", "p", "--rejected_path", "q", "--reports_path", "rep",
            "--bookmark_path", "b", "--TempDir", "s3://tmp/", "--enable-metrics", "true"]
    cfg, args = etl.parse_config(argv)
    assert (cfg.job_name, cfg.dataset, cfg.raw_path, cfg.bookmark_option, cfg.lookups) == (
        "j", "flights", "s3://r/", "job-bookmark-disable", "p")
    assert args["TempDir"] == "s3://tmp/" and "bookmark_path" not in args
    cfg2, _ = etl.parse_config(argv + ["--job-bookmark-option", "job-bookmark-enable",
                                       "--run_id", "r1", "--lookups", "s3://proc/"])
    assert (cfg2.bookmark_option, cfg2.run_id, cfg2.lookups) == (
        "job-bookmark-enable", "r1", "s3://proc/")
    assert etl.parse_config(argv + ["--JOB_RUN_ID", "jr_abc"])[0].run_id == "jr_abc"
    with pytest.raises(ValueError, match="--dataset 'cars' is unknown"):
        etl.parse_config([a if a != "flights" else "cars" for a in argv])
    from awsglue.utils import GlueArgumentError

    with pytest.raises(GlueArgumentError, match="the following arguments are required: --dataset"):
        etl.parse_config(["etl.py", "--JOB_NAME", "j"])


def test_the_script_imports_only_what_glue_provides():
    """No lakekit import: on AWS the job gets Glue's own awsglue / awsgluedq, pyspark and boto3."""
    text = (Path(__file__).resolve().parents[2] / "lakekit" / "jobs" / "etl.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in text.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "datetime", "hashlib", "json", "os", "re", "sys", "time", "typing",
                       "awsglue", "awsgluedq", "pyspark"}, imports
    for name in ("from awsglue.context import GlueContext", "from awsglue.job import Job",
                 "from awsglue.utils import getResolvedOptions", "from awsglue.transforms import *",
                 "from awsgluedq.transforms import EvaluateDataQuality", "job.init(", "job.commit()",
                 'transformation_ctx=f"raw_{dataset}"'):
        assert name in text, name
