"""Landing -> raw throughput of the ingest Lambda vs a plain S3 copy, measured in one run.

For each scale of flights (``data/generate.py --scale``; 1x = 12 monthly CSVs, 336,776 rows):

1. the month files are uploaded once to a staging bucket (not timed);
2. **baseline**: ``copy_object`` of the same objects into a plain bucket (no notification),
   ``--threads`` at a time (default 4 = the local Lambda concurrency);
3. **end to end**: ``copy_object`` staging -> landing (each copy is an ``ObjectCreated:Copy``
   event) and the clock runs until every file is in ``raw/flights/ingest_date=.../`` with its
   manifest and landing is empty — i.e. event delivery, the Lambda handler per file,
   full validation (sha256, UTF-8, header, every row), copy, manifest, delete;
   (Lambda execution environments are warm after their first invocation, as on AWS);
4. the baseline copy is timed again after the end-to-end run; the ratio uses their mean.

Prints files/s and MB/s of both paths and the ratio end-to-end / plain copy, plus the
handlers' mean Duration / Init Duration from their CloudWatch ``REPORT`` lines.
Standalone: starts its own endpoint on a free port with a temp home and stops it.

    python benchmarks/ingest.py [--scales 1 10] [--threads 4] [--timeout 1800]
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _servers import LakekitEndpoint, client  # noqa: E402

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
_REPORT = re.compile(r"Duration: ([\d.]+) ms.*?(?:Init Duration: ([\d.]+) ms)?$")


def _generator():
    spec = importlib.util.spec_from_file_location("_lakekit_data_generate", ROOT / "data" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                zf.writestr(path.relative_to(folder).as_posix(), path.read_bytes())
    return buf.getvalue()


def _count(s3, bucket: str, prefix: str = "") -> int:
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        n += len(page.get("Contents", []))
    return n


def _copy_all(s3, src: str, dst: str, keys: list[str], threads: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda k: s3.copy_object(Bucket=dst, Key=k, CopySource={"Bucket": src, "Key": k}),
                      keys))
    return time.perf_counter() - started


def _reports(logs, fn: str) -> tuple[float, float, int]:
    """(mean Duration ms, mean Init Duration ms, count) from the function's REPORT lines."""
    durations, inits = [], []
    for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{fn}", filterPattern="REPORT"):
        for e in page["events"]:
            m = _REPORT.search(e["message"])
            if m:
                durations.append(float(m.group(1)))
                if m.group(2):
                    inits.append(float(m.group(2)))
    return (statistics.mean(durations) if durations else 0.0,
            statistics.mean(inits) if inits else 0.0, len(durations))


# The template's IngestLambdaRole (cloudformation/datalake.yaml), for the bench-* buckets and
# the function's logs: the local endpoint enforces IAM, the handler runs with this role.
INGEST_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject",
                                   "s3:DeleteObjectVersion"],
     "Resource": "arn:aws:s3:::bench-landing-*/*"},
    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
     "Resource": ["arn:aws:s3:::bench-raw-*/*", "arn:aws:s3:::bench-quarantine-*/*"]},
    {"Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": ["arn:aws:s3:::bench-raw-*", "arn:aws:s3:::bench-quarantine-*"]},
    {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": ["arn:aws:logs:*:*:log-group:/aws/lambda/bench-ingest-*",
                  "arn:aws:logs:*:*:log-group:/aws/lambda/bench-ingest-*:*"]},
]}


def run_scale(url: str, role: str, scale: int, files: dict[str, Path], threads: int,
              timeout: float) -> dict:
    s3, lam, logs = client(url, "s3"), client(url, "lambda"), client(url, "logs")
    tag = f"x{scale}"
    staging, landing, raw = f"bench-staging-{tag}", f"bench-landing-{tag}", f"bench-raw-{tag}"
    quarantine, plain = f"bench-quarantine-{tag}", f"bench-plain-{tag}"
    for b in (staging, landing, raw, quarantine, plain):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=raw, VersioningConfiguration={"Status": "Enabled"})
    fn = f"bench-ingest-{tag}"
    arn = lam.create_function(
        FunctionName=fn, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": _zip(ROOT / "lakekit" / "lambdas" / "ingest")}, Timeout=120, MemorySize=512,
        Environment={"Variables": {"RAW_BUCKET": raw, "QUARANTINE_BUCKET": quarantine}})["FunctionArn"]
    s3.put_bucket_notification_configuration(Bucket=landing, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})

    keys = sorted(files)
    nbytes = sum(p.stat().st_size for p in files.values())
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda k: s3.upload_file(str(files[k]), staging, k), keys))

    copy_before = _copy_all(s3, staging, plain, keys, threads)
    started = time.perf_counter()
    _copy_all(s3, staging, landing, keys, threads)
    deadline = time.monotonic() + timeout
    while True:
        in_raw = _count(s3, raw, "flights/")
        done = in_raw + _count(s3, quarantine) >= len(keys) and _count(s3, landing) == 0
        if done:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{in_raw}/{len(keys)} files in raw after {timeout} s: see the endpoint "
                               f"log and /aws/lambda/{fn}")
        time.sleep(0.2)
    e2e = time.perf_counter() - started
    copy_after = _copy_all(s3, staging, plain, keys, threads)
    quarantined = _count(s3, quarantine)
    if quarantined or in_raw != len(keys):
        raise RuntimeError(f"{quarantined} file(s) quarantined, {in_raw} in raw: the benchmark "
                           f"input must be valid; inspect s3://{quarantine}")
    duration, init, invocations = _reports(logs, fn)
    copy = (copy_before + copy_after) / 2
    mb = nbytes / 1e6
    return {"scale": scale, "files": len(keys), "mb": mb, "e2e_s": e2e, "copy_s": copy,
            "copy_before_s": copy_before, "copy_after_s": copy_after,
            "e2e_files_s": len(keys) / e2e, "e2e_mb_s": mb / e2e,
            "copy_files_s": len(keys) / copy, "copy_mb_s": mb / copy, "ratio": e2e / copy,
            "handler_ms": duration, "init_ms": init, "invocations": invocations}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--threads", type=int, default=4, help="copy threads (default 4)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per scale")
    args = ap.parse_args(argv)
    gen = _generator()
    work = Path(tempfile.mkdtemp(prefix="lakekit-bench-ingest-"))
    rows = []
    ep = LakekitEndpoint()
    try:
        with ep:
            iam = client(ep.url, "iam")
            role = iam.create_role(RoleName="bench-ingest", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
            iam.put_role_policy(RoleName="bench-ingest", PolicyName="ingest",
                                PolicyDocument=json.dumps(INGEST_POLICY))
            for scale in args.scales:
                out = work / f"x{scale}"
                t = time.perf_counter()
                counts = gen.generate(out, scale=scale)
                files = {f"flights/{p.name}": p for p in sorted((out / "flights").glob("*.csv"))}
                print(f"[{scale}x] generated {counts['flights']:,} flights rows in {len(files)} files "
                      f"({sum(p.stat().st_size for p in files.values()) / 1e6:.0f} MB) in "
                      f"{time.perf_counter() - t:.0f} s", flush=True)
                row = run_scale(ep.url, role, scale, files, args.threads, args.timeout)
                rows.append(row)
                print(f"[{scale}x] end to end {row['e2e_s']:.1f} s, plain copy {row['copy_s']:.2f} s "
                      f"(before {row['copy_before_s']:.2f}, after {row['copy_after_s']:.2f})", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    conc = os.environ.get("LAKEKIT_LAMBDA_CONCURRENCY", "4")
    print(f"\nlanding -> raw, flights month files; Lambda concurrency {conc}, copy threads {args.threads}")
    print(f"{'scale':>5} {'files':>5} {'MB':>7} | {'e2e s':>7} {'files/s':>7} {'MB/s':>7} | "
          f"{'copy s':>7} {'files/s':>8} {'MB/s':>7} | {'e2e/copy':>8} | handler ms  init ms")
    for r in rows:
        print(f"{r['scale']:>4}x {r['files']:>5} {r['mb']:>7.1f} | {r['e2e_s']:>7.1f} "
              f"{r['e2e_files_s']:>7.2f} {r['e2e_mb_s']:>7.1f} | {r['copy_s']:>7.2f} "
              f"{r['copy_files_s']:>8.1f} {r['copy_mb_s']:>7.1f} | {r['ratio']:>7.1f}x | "
              f"{r['handler_ms']:>10.0f} {r['init_ms']:>8.0f}  ({r['invocations']} invocations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
