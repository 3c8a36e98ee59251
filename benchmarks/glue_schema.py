"""Glue's schema-on-read for JSON records (the local awsglue's typing pass) vs a merge of every record.

``create_dynamic_frame`` over JSON types every record (``_choice.infer_type``) and merges the
types into one schema with choices; each Spark partition does it in a Python worker
(``_choice._partition_schema``). The baseline merges every record's type, as that function did
before it keyed records by shape (``_choice._signature``) and merged each shape once. Both must
give the same schema (printed). Pure Python, no Spark: the workshop's weather (26,115 nested
records, ``data/generate.py``) and planes (3,322), ``--copies`` times over, best of ``--rounds``.

    python benchmarks/glue_schema.py [--copies 4] [--rounds 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lakekit" / "local" / "glue" / "pylib"))
sys.path.insert(0, str(ROOT / "data"))

from awsglue import gluetypes as gt  # noqa: E402
from awsglue._choice import _partition_schema, infer_type  # noqa: E402
from generate import planes_records, weather_records  # noqa: E402


def every_record(records: list[dict]) -> gt.DataType:
    """The baseline: merge the type of every record in order."""
    merged: gt.DataType = gt.StructType([])
    for rec in records:
        merged = gt.mergeDataTypes(merged, infer_type(rec))
    return merged


def best(fn, records: list[dict], rounds: int) -> tuple[float, gt.DataType]:
    times, got = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        got = fn(records)
        times.append(time.perf_counter() - started)
    return min(times), got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/glue_schema.py")
    parser.add_argument("--copies", type=int, default=4, help="each dataset this many times over")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    for name, source in (("weather", weather_records), ("planes", planes_records)):
        records = list(source()) * args.copies
        base_s, expected = best(every_record, records, args.rounds)
        new_s, got = best(lambda r: _partition_schema(r)[0], records, args.rounds)
        same = repr(got) == repr(expected)
        print(f"{name:8s} {len(records):>8,} records: every record {base_s:6.3f} s, each shape once "
              f"{new_s:6.3f} s = {new_s / base_s:.2f}x; {len(gt.choice_paths_of(got))} choice(s); "
              f"same schema: {same}")
        if not same:
            print(f"  different schemas:\n  {expected!r}\n  {got!r}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
