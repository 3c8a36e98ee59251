"""deploy.empty_bucket removes every version of a versioned bucket, past the first 1,000.

Deleting while paging ListObjectVersions ended the local listing after its first page (the
next page's KeyMarker/VersionIdMarker had been deleted), so notebook 99's teardown failed
``DELETE_FAILED: BucketNotEmpty`` once 07 had rewritten the processed zone a few times."""
from __future__ import annotations

import uuid

from lakekit import deploy


def test_a_bucket_with_more_than_a_thousand_versions_ends_empty(endpoint):
    s3 = endpoint.client("s3")
    name = f"empty-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for i in range(1300):
        s3.put_object(Bucket=name, Key=f"k/{i % 650:04d}", Body=b"x")   # two versions of each key
    s3.delete_object(Bucket=name, Key="k/0001")                        # and a delete marker
    assert deploy.empty_bucket(name, endpoint.settings) == 1301
    left = s3.list_object_versions(Bucket=name)
    assert left.get("Versions", []) == [] and left.get("DeleteMarkers", []) == []
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_listing_whose_marker_was_deleted_ends_locally(endpoint):
    """Pins the ledger row: on AWS a KeyMarker/VersionIdMarker is a position, so the next page
    follows even if the marker's version was deleted meanwhile; locally (moto) the listing
    ends there. lakekit lists first, then deletes."""
    s3 = endpoint.client("s3")
    name = f"marker-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for i in range(6):
        s3.put_object(Bucket=name, Key=f"k/{i}", Body=b"x")
    first = s3.list_object_versions(Bucket=name, MaxKeys=3)
    assert first["IsTruncated"] and len(first["Versions"]) == 3
    s3.delete_objects(Bucket=name, Delete={"Objects": [
        {"Key": v["Key"], "VersionId": v["VersionId"]} for v in first["Versions"]]})
    nxt = s3.list_object_versions(Bucket=name, MaxKeys=3, KeyMarker=first["NextKeyMarker"],
                                  VersionIdMarker=first["NextVersionIdMarker"])
    assert nxt.get("Versions", []) == []                    # AWS: the three remaining versions
    assert len(s3.list_object_versions(Bucket=name)["Versions"]) == 3
    deploy.empty_bucket(name, endpoint.settings)
    s3.delete_bucket(Bucket=name)
