"""The ingest handler under the permissions of its real role (IngestLambdaRole).

The role has s3:GetObject/GetObjectVersion on landing/* but NO s3:ListBucket on landing, so S3
answers a HEAD/GET of a missing landing key with 403, not 404 (HeadObject/GetObject docs);
raw has s3:ListBucket. :class:`RoleOnS3` makes bare moto answer like that (real 403 responses
parsed by botocore). Landing is versioned as in the template.
"""
from __future__ import annotations

import hashlib

import pytest
from ingest_helpers import SAMPLE, RoleOnS3, s3_record

from lakekit.ingest import reconcile
from lakekit.lambdas.ingest import handler as ingest

AIRLINES = (SAMPLE / "airlines" / "airlines.csv").read_bytes()


@pytest.fixture
def role(lake, monkeypatch):
    """The handler's boto3 S3 client behaves as the ingest role; landing is versioned."""
    lake.s3.put_bucket_versioning(Bucket=lake.landing, VersioningConfiguration={"Status": "Enabled"})
    sim = RoleOnS3(lake.s3, no_list={lake.landing})
    real_client = ingest.boto3.client

    def client(service, *a, **kw):
        c = real_client(service, *a, **kw)
        return sim.attach(c) if service == "s3" else c

    monkeypatch.setattr(ingest.boto3, "client", client)
    return sim


def _versions(lake, bucket, prefix=""):
    out = lake.s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    return out.get("Versions", []), out.get("DeleteMarkers", [])


def test_missing_landing_object_403_is_reported_missing_not_error(lake, role):
    rec = s3_record(lake.landing, "airlines/ghost.csv", 10, "0123456789abcdef0123456789abcdef")
    out = ingest.lambda_handler({"Records": [rec]}, None)
    assert out["errors"] == [] and [x["key"] for x in out["missing"]] == ["airlines/ghost.csv"]
    assert ("HEAD", lake.landing, "airlines/ghost.csv") in role.denied


def test_versioned_landing_ends_without_versions_or_delete_markers(lake, role):
    rec = lake.put("airlines/airlines.csv", AIRLINES)
    assert rec["s3"]["object"].get("versionId") is None  # helper: take it from HEAD
    out = ingest.lambda_handler({"Records": [rec]}, None)
    assert [x["rows"] for x in out["landed"]] == [16]
    assert _versions(lake, lake.landing) == ([], [])


def test_event_version_id_is_the_version_deleted(lake, role):
    r = lake.s3.put_object(Bucket=lake.landing, Key="airlines/a.csv", Body=AIRLINES)
    rec = s3_record(lake.landing, "airlines/a.csv", len(AIRLINES), r["ETag"], version_id=r["VersionId"])
    out = ingest.lambda_handler({"Records": [rec]}, None)
    assert len(out["landed"]) == 1 and _versions(lake, lake.landing) == ([], [])
    again = ingest.lambda_handler({"Records": [rec]}, None)  # redelivery: version already gone
    assert again["errors"] == [] and [x["key"] for x in again["skipped_duplicates"]] == ["airlines/a.csv"]
    assert len(_versions(lake, lake.raw, "airlines/")[0]) == 1


def test_delete_keeps_a_newer_upload_of_the_same_key(lake):
    lake.s3.put_bucket_versioning(Bucket=lake.landing, VersioningConfiguration={"Status": "Enabled"})
    v1 = lake.s3.put_object(Bucket=lake.landing, Key="airlines/a.csv", Body=AIRLINES)
    v2 = lake.s3.put_object(Bucket=lake.landing, Key="airlines/a.csv", Body=AIRLINES + b"ZZ,Z\n")
    got = ingest._delete_landing(lake.s3, lake.landing, "airlines/a.csv", v1["ETag"].strip('"'),
                                 v1["VersionId"], "_manifest/x.json")
    versions, markers = _versions(lake, lake.landing)
    assert got == "deleted" and markers == []
    assert [v["VersionId"] for v in versions] == [v2["VersionId"]]


def test_redelivery_after_delete_unversioned_conditional_delete_403(lake, monkeypatch):
    """Unversioned landing: If-Match delete of the already-deleted key answers 403 -> 'absent'."""
    sim = RoleOnS3(lake.s3, no_list={lake.landing})
    real_client = ingest.boto3.client
    monkeypatch.setattr(ingest.boto3, "client",
                        lambda service, *a, **kw: sim.attach(real_client(service, *a, **kw)))
    rec = lake.put("airlines/airlines.csv", AIRLINES)
    first = ingest.lambda_handler({"Records": [rec]}, None)
    second = ingest.lambda_handler({"Records": [rec]}, None)
    assert len(first["landed"]) == 1 and second["errors"] == []
    assert [x["key"] for x in second["skipped_duplicates"]] == ["airlines/airlines.csv"]
    assert ("DELETE", lake.landing, "airlines/airlines.csv") in sim.denied


def test_delete_denied_fails_loudly_then_retry_lands_once(lake, role, capsys):
    role.no_delete.add(lake.landing)
    rec = lake.put("airlines/airlines.csv", AIRLINES)
    with pytest.raises(RuntimeError, match="1 of 1 record") as exc:
        ingest.lambda_handler({"Records": [rec]}, None)
    assert "s3:DeleteObjectVersion" in str(exc.value) and "AccessDenied" in str(exc.value)
    assert lake.keys(lake.landing) == ["airlines/airlines.csv"]  # not lost: still in landing
    etag = hashlib.md5(AIRLINES).hexdigest()
    entry = lake.json(lake.raw, ingest._manifest_key("airlines", lake.landing, "airlines/airlines.csv", etag))
    assert entry["status"] == "landed" and entry["rows"] == 16
    df = reconcile(lake.s3, lake.landing, lake.raw, lake.quarantine, ["airlines/airlines.csv"])
    assert df.attrs["summary"]["raw"] == 1 and "still in landing" in df.loc[0, "reason"]

    role.no_delete.clear()  # the coordinator grants s3:DeleteObject(Version); the event is retried
    out = ingest.lambda_handler({"Records": [rec]}, None)
    assert out["landed"] == [] and out["errors"] == []
    assert [x["key"] for x in out["skipped_duplicates"]] == ["airlines/airlines.csv"]
    assert lake.keys(lake.landing) == [] and len(_versions(lake, lake.raw, "airlines/")[0]) == 1
    df = reconcile(lake.s3, lake.landing, lake.raw, lake.quarantine, ["airlines/airlines.csv"])
    assert df.attrs["summary"] == {"sent": 1, "raw": 1, "quarantine": 0, "pending": 0, "missing": 0,
                                   "balanced": True}


def test_manifest_head_403_then_conditional_write_counts_once(lake, role):
    """A 403 on the manifest HEAD is read as absent; If-None-Match stops the second landing."""
    rec = lake.put("airlines/airlines.csv", AIRLINES)
    lake.s3.put_bucket_versioning(Bucket=lake.landing, VersioningConfiguration={"Status": "Suspended"})
    first = ingest.lambda_handler({"Records": [rec]}, None)
    assert len(first["landed"]) == 1
    rec2 = lake.put("airlines/airlines.csv", AIRLINES)  # same bytes again = same manifest
    role.deny_head.append((lake.raw, "_manifest/"))
    out = ingest.lambda_handler({"Records": [rec2]}, None)
    assert out["landed"] == [] and out["errors"] == []
    assert [x["key"] for x in out["skipped_duplicates"]] == ["airlines/airlines.csv"]
    assert lake.keys(lake.landing) == []
