"""Paging ListObjectVersions through a versioned bucket: lakekit's listing vs moto's, same run.

In-process (moto's backend, no HTTP): a versioned bucket of ``--objects`` keys with
``--kib`` KiB bodies, two versions each; every version is paged through with MaxKeys=1000, by
``lakekit.local.services.s3_versions.list_object_versions`` and by moto 5.2.5's own
``S3Backend.list_object_versions`` (which deep-copies every version, bodies included, per page),
alternating over ``--rounds``. Both must return the same versions. Prints the median seconds per
full listing and the ratio lakekit / moto.

    python benchmarks/s3_listing.py [--objects 3000] [--kib 64] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def page_all(backend, listing, bucket: str) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    key_marker = version_marker = None
    while True:
        versions, _, markers, key_marker, version_marker = listing(
            backend, bucket, key_marker=key_marker, version_id_marker=version_marker, max_keys=1000)
        got += [(v.name, v.version_id) for v in versions + markers]
        if key_marker is None:
            return got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=3000)
    ap.add_argument("--kib", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    import boto3
    from moto import mock_aws
    from moto.s3.models import S3Backend, s3_backends

    moto_listing = S3Backend.list_object_versions
    from lakekit.local.services.s3_versions import list_object_versions as lakekit_listing

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="listing")
        s3.put_bucket_versioning(Bucket="listing", VersioningConfiguration={"Status": "Enabled"})
        body = b"x" * (args.kib * 1024)
        for i in range(args.objects * 2):
            s3.put_object(Bucket="listing", Key=f"part={i % args.objects:05d}/data.parquet", Body=body)
        backend = s3_backends["123456789012"]["aws"]
        times: dict[str, list[float]] = {"lakekit": [], "moto": []}
        results = {}
        for r in range(args.rounds):
            order = (("lakekit", lakekit_listing), ("moto", moto_listing))
            for name, fn in order if r % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                results[name] = page_all(backend, fn, "listing")
                times[name].append(time.perf_counter() - started)
        if results["lakekit"] != results["moto"]:
            print("the two listings differ", file=sys.stderr)
            return 1
        lk, mo = statistics.median(times["lakekit"]), statistics.median(times["moto"])
        n, mib = len(results["lakekit"]), args.objects * 2 * args.kib / 1024
        print(f"{n:,} versions ({mib:,.0f} MiB of bodies), MaxKeys=1000, median of {args.rounds}: "
              f"lakekit {lk:.3f} s, moto {mo:.3f} s per full listing; ratio lakekit/moto {lk / mo:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
