"""What strict authorization costs per request: the same S3 calls as an assumed role with
``LAKEKIT_STRICT_IAM`` on (the default) and off, measured in one run.

A role with a least-privilege inline policy (like the template's) PUTs, GETs and HEADs small
objects in an SSE-KMS bucket (so every PUT/GET also checks the key policy). Two endpoints are
started one after the other with the same workload; the script prints the median per-request
latency of each call and the ratio strict / off.

    python benchmarks/strict_iam.py [--objects 300] [--size 4096] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _servers import LakekitEndpoint, client  # noqa: E402

ACCOUNT = "123456789012"
BUCKET = "bench-strict"


def _role_clients(url: str):
    import boto3

    iam, kms, s3 = client(url, "iam"), client(url, "kms"), client(url, "s3")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
         "BucketKeyEnabled": True}]})
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}
    iam.create_role(RoleName="bench-writer", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="bench-writer", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"arn:aws:s3:::{BUCKET}/data/*"},
            {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
            {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key}]}))
    c = client(url, "sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/bench-writer",
                                       RoleSessionName="bench")["Credentials"]
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"],
                        config=Config(retries={"max_attempts": 1}))


def _measure(strict: bool, objects: int, size: int, rounds: int) -> dict[str, float]:
    if strict:
        os.environ.pop("LAKEKIT_STRICT_IAM", None)
    else:
        os.environ["LAKEKIT_STRICT_IAM"] = "0"  # the benchmark's baseline only
    try:
        with LakekitEndpoint() as ep:
            s3 = _role_clients(ep.url)
            body = os.urandom(size)
            per: dict[str, list[float]] = {"put": [], "get": [], "head": []}
            for r in range(rounds):
                for op in per:
                    started = time.perf_counter()
                    for i in range(objects):
                        key = f"data/r{r}/o{i}"
                        if op == "put":
                            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                        elif op == "get":
                            assert len(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == size
                        else:
                            s3.head_object(Bucket=BUCKET, Key=key)
                    per[op].append((time.perf_counter() - started) / objects * 1000)
            return {op: statistics.median(v) for op, v in per.items()}
    finally:
        os.environ.pop("LAKEKIT_STRICT_IAM", None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=300)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    off = _measure(False, a.objects, a.size, a.rounds)
    on = _measure(True, a.objects, a.size, a.rounds)
    print(f"{a.objects} objects of {a.size} B x {a.rounds} rounds, as an assumed role, SSE-KMS bucket")
    print(f"{'call':6} {'strict off ms':>14} {'strict on ms':>13} {'ratio':>7}")
    for op in ("put", "get", "head"):
        print(f"{op:6} {off[op]:14.2f} {on[op]:13.2f} {on[op] / off[op]:7.2f}x")
    total_off, total_on = sum(off.values()), sum(on.values())
    print(f"all    {total_off:14.2f} {total_on:13.2f} {total_on / total_off:7.2f}x  "
          f"(+{total_on / 3 - total_off / 3:.2f} ms per request)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
