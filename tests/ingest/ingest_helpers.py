"""Helpers for the ingestion tests: buckets on the bare moto server + real S3 event JSON."""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from urllib.parse import quote_plus

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
_SEQ = itertools.count(1)


def s3_record(bucket: str, key: str, size: int, etag: str, *, encode_space: str = "+",
              event_name: str = "ObjectCreated:Put", version_id: str | None = None) -> dict:
    """One record exactly as S3 sends it (eventVersion 2.1, key URL-encoded)."""
    encoded = quote_plus(key, safe="/")
    if encode_space != "+":
        encoded = encoded.replace("+", encode_space)
    obj = {"key": encoded, "size": size, "eTag": etag.strip('"'), "sequencer": f"{next(_SEQ):016X}"}
    if version_id:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T12:00:00.000Z", "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "landing-ingest",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }


class Lake:
    """Buckets for one test + helpers to put objects and build events."""

    def __init__(self, s3, tag: str) -> None:
        self.s3 = s3
        self.landing, self.raw = f"landing-{tag}", f"raw-{tag}"
        self.quarantine, self.state = f"quarantine-{tag}", f"artifacts-{tag}"
        for b in (self.landing, self.raw, self.quarantine, self.state):
            s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=self.raw, VersioningConfiguration={"Status": "Enabled"})

    def put(self, key: str, body: bytes | str, content_type: str | None = None, **kw) -> dict:
        data = body.encode() if isinstance(body, str) else body
        extra = {"ContentType": content_type} if content_type else {}
        r = self.s3.put_object(Bucket=self.landing, Key=key, Body=data, **extra)
        return s3_record(self.landing, key, len(data), r["ETag"], **kw)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    def read(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def json(self, bucket: str, key: str) -> dict:
        return json.loads(self.read(bucket, key))


