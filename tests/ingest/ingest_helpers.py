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




class _Raw:
    """The minimal urllib3-like body botocore's AWSResponse reads."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kw):
        yield self._body


_DENIED_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
               b'<Message>Access Denied</Message><RequestId>SIM</RequestId></Error>')


class RoleOnS3:
    """What S3 answers the ingest ROLE (cloudformation IngestLambdaRole), on top of bare moto.

    Registered on a client's ``before-send`` hook so botocore parses a real 403 response:
    * buckets in ``no_list`` (the role has no s3:ListBucket there): a HEAD/GET/DELETE of a key
      or version that does not exist answers 403 (HEAD: no body; others: AccessDenied XML)
      instead of 404 - as the HeadObject/GetObject docs describe;
    * buckets in ``no_delete``: every DeleteObject answers 403 AccessDenied;
    * ``deny_head`` (bucket, key prefix) pairs: HEAD answers 403 even if the key exists.
    """

    def __init__(self, admin_s3, no_list=(), no_delete=(), deny_head=()) -> None:
        self.admin, self.no_list, self.no_delete = admin_s3, set(no_list), set(no_delete)
        self.deny_head = list(deny_head)
        self.denied: list[tuple[str, str, str]] = []

    def attach(self, client):
        client.meta.events.register("before-send.s3", self._before_send)
        return client

    def _deny(self, method: str, bucket: str, key: str):
        from botocore.awsrequest import AWSResponse

        self.denied.append((method, bucket, key))
        body = b"" if method == "HEAD" else _DENIED_XML
        return AWSResponse("https://sim", 403, {"Content-Type": "application/xml"}, _Raw(body))

    def _exists(self, bucket: str, key: str, version: str | None) -> bool:
        try:
            self.admin.head_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
            return True
        except Exception:  # noqa: BLE001 - 404 or 400 (bad version id): not there
            return False

    def _before_send(self, request, **_kw):
        from urllib.parse import parse_qs, unquote, urlsplit

        url = urlsplit(request.url)
        bucket, _, key = unquote(url.path).lstrip("/").partition("/")
        if not key:
            return None
        version = parse_qs(url.query).get("versionId", [None])[0]
        method = request.method
        if method == "DELETE" and bucket in self.no_delete:
            return self._deny(method, bucket, key)
        if method == "HEAD" and any(bucket == b and key.startswith(p) for b, p in self.deny_head):
            return self._deny(method, bucket, key)
        if method in ("HEAD", "GET", "DELETE") and bucket in self.no_list \
                and not self._exists(bucket, key, version):
            if method == "DELETE" and version:
                return None  # S3 answers 204 for a version that is already gone
            return self._deny(method, bucket, key)
        return None
