"""S3 PUT/GET MB/s through the lakekit gateway vs bare moto, measured in the same run.

Both servers are separate processes with the same werkzeug threaded server; rounds
alternate between them so machine noise hits both. Goal: gateway >= 0.9x of moto.

    python benchmarks/s3_throughput.py [--objects 16] [--mib 8] [--rounds 3]
    python benchmarks/s3_throughput.py --objects 400 --mib 0.01   # small objects: requests/s
    python benchmarks/s3_throughput.py --objects 400 --mib 0.01 --prefill 20000   # and a big state to snapshot
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _servers import BareMoto, LakekitEndpoint, client  # noqa: E402


def one_round(url: str, bucket: str, body: bytes, objects: int, threads: int) -> tuple[float, float]:
    s3 = client(url, "s3")
    mib = len(body) * objects / 2**20
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"obj-{i}", Body=body), range(objects)))
    put = mib / (time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        sizes = list(pool.map(lambda i: len(s3.get_object(Bucket=bucket, Key=f"obj-{i}")["Body"].read()),
                              range(objects)))
    get = mib / (time.perf_counter() - started)
    assert sizes == [len(body)] * objects
    return put, get


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=16)
    ap.add_argument("--mib", type=float, default=8, help="object size (0.01: 10 KiB, request-bound)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--prefill", type=int, default=0,
                    help="objects put first into another bucket: state the endpoint's snapshots pickle")
    args = ap.parse_args()
    body = os.urandom(int(args.mib * 2**20))
    results: dict[str, list[tuple[float, float]]] = {"moto": [], "gateway": []}
    with BareMoto() as moto, LakekitEndpoint() as gw:
        for url in (moto.url, gw.url):
            s3 = client(url, "s3")
            s3.create_bucket(Bucket="bench-bkt")
            if args.prefill:
                s3.create_bucket(Bucket="bench-prefill")
                with ThreadPoolExecutor(args.threads) as pool:
                    list(pool.map(lambda i, s3=s3: s3.put_object(Bucket="bench-prefill", Key=f"p/{i:07d}",
                                                                  Body=b"x" * 512),
                                  range(args.prefill)))
        for _ in range(args.rounds):
            for name, url in (("moto", moto.url), ("gateway", gw.url)):
                results[name].append(one_round(url, "bench-bkt", body, args.objects, args.threads))
    med = {n: (statistics.median(p for p, _ in r), statistics.median(g for _, g in r))
           for n, r in results.items()}
    print(f"{args.objects} x {args.mib} MiB objects, {args.threads} threads, {args.rounds} rounds (median)"
          + (f", {args.prefill:,} other objects stored first" if args.prefill else ""))
    for n, (p, g) in med.items():
        print(f"  {n:8s} PUT {p:7.1f} MB/s   GET {g:7.1f} MB/s   "
              f"({p * 2**20 / len(body):,.0f} PUT/s, {g * 2**20 / len(body):,.0f} GET/s)")
    put_ratio = med["gateway"][0] / med["moto"][0]
    get_ratio = med["gateway"][1] / med["moto"][1]
    print(f"ratio gateway/moto: PUT {put_ratio:.2f}x  GET {get_ratio:.2f}x  (goal >= 0.90x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
