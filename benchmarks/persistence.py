"""What a SIGKILL of the local endpoint loses: acknowledged writes, measured.

A writer PUTs small objects as fast as it can and records when each was acknowledged;
the endpoint is killed with SIGKILL mid-stream, restarted on the same home, and every
acknowledged key is looked up. Prints how many acknowledged writes were lost and the
window they span (time between the oldest lost ack and the kill), against the bound the
design states (snapshot debounce: at most 1 s after a change, plus one snapshot).

    python benchmarks/persistence.py [--rounds 3] [--seconds 3]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _servers import LakekitEndpoint, client  # noqa: E402

BOUND_S = 1.0  # Persistence.max_delay


def one_round(seconds: float) -> tuple[int, int, float]:
    from lakekit import local

    with LakekitEndpoint() as ep:
        s3 = client(ep.url, "s3")
        s3.create_bucket(Bucket="kill-bkt")
        time.sleep(BOUND_S + 0.5)  # the bucket itself is safely on disk
        acked: list[tuple[str, float]] = []
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                try:
                    s3.put_object(Bucket="kill-bkt", Key=f"k{i:07d}", Body=b"x" * 1024)
                except Exception:
                    return
                acked.append((f"k{i:07d}", time.monotonic()))
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        time.sleep(seconds)
        killed_at = time.monotonic()
        os.kill(local.status(ep.settings).pid, signal.SIGKILL)
        stop.set()
        t.join()
        local.up(ep.settings, quiet=True)
        s3 = client(ep.url, "s3")
        present = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="kill-bkt"):
            present |= {o["Key"] for o in page.get("Contents", [])}
        acked_before_kill = [(k, at) for k, at in acked if at <= killed_at]
        lost = [(k, at) for k, at in acked_before_kill if k not in present]
        window = killed_at - min(at for _, at in lost) if lost else 0.0
        return len(acked_before_kill), len(lost), window


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    rows = [one_round(args.seconds) for _ in range(args.rounds)]
    for i, (acked, lost, window) in enumerate(rows, 1):
        print(f"round {i}: {acked} acknowledged PUTs, {lost} lost, loss window {window * 1000:.0f} ms")
    worst = max(w for _, _, w in rows)
    print(f"median loss window {statistics.median(w for _, _, w in rows) * 1000:.0f} ms, worst "
          f"{worst * 1000:.0f} ms; ratio worst/bound({BOUND_S:.1f} s) = {worst / BOUND_S:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
