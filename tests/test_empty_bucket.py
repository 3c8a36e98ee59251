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


def test_the_page_after_a_deleted_marker_version_follows_it(endpoint):
    """A KeyMarker/VersionIdMarker is a position: the next page follows it even when the
    marker's version was deleted meanwhile (moto's own listing came back empty)."""
    s3 = endpoint.client("s3")
    name = f"marker-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for i in range(6):
        s3.put_object(Bucket=name, Key=f"k/{i}", Body=b"x")
    first = s3.list_object_versions(Bucket=name, MaxKeys=3)
    assert first["IsTruncated"] and [v["Key"] for v in first["Versions"]] == ["k/0", "k/1", "k/2"]
    s3.delete_objects(Bucket=name, Delete={"Objects": [
        {"Key": v["Key"], "VersionId": v["VersionId"]} for v in first["Versions"]]})
    nxt = s3.list_object_versions(Bucket=name, MaxKeys=3, KeyMarker=first["NextKeyMarker"],
                                  VersionIdMarker=first["NextVersionIdMarker"])
    assert [v["Key"] for v in nxt["Versions"]] == ["k/3", "k/4", "k/5"] and not nxt["IsTruncated"]
    deploy.empty_bucket(name, endpoint.settings)
    s3.delete_bucket(Bucket=name)


def _versioned(s3, versions_of: dict[str, int]) -> tuple[str, dict[str, list[str]]]:
    name = f"order-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    ids: dict[str, list[str]] = {}
    for key, n in versions_of.items():
        for i in range(n):
            ids.setdefault(key, []).insert(0, s3.put_object(Bucket=name, Key=key, Body=f"{i}".encode())["VersionId"])
    return name, ids  # ids[key]: newest first


def test_versions_are_listed_by_key_then_newest_first_and_pages_resume_after_the_marker(endpoint):
    s3 = endpoint.client("s3")
    bucket, ids = _versioned(s3, {"b": 3, "a": 2, "c": 1})
    whole = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in whole] == [
        ("a", ids["a"][0], True), ("a", ids["a"][1], False),
        ("b", ids["b"][0], True), ("b", ids["b"][1], False), ("b", ids["b"][2], False),
        ("c", ids["c"][0], True)]
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert [v["VersionId"] for p in pages for v in p.get("Versions", [])] == [v["VersionId"] for v in whole]
    # KeyMarker alone: the keys after it (none of the marker key's versions)
    after_a = s3.list_object_versions(Bucket=bucket, KeyMarker="a")["Versions"]
    assert [v["Key"] for v in after_a] == ["b", "b", "b", "c"]
    after_missing = s3.list_object_versions(Bucket=bucket, KeyMarker="aa")["Versions"]
    assert [v["Key"] for v in after_missing] == ["b", "b", "b", "c"]  # moto skipped b's newest
    # KeyMarker + VersionIdMarker: that key's older versions, then later keys
    mid = s3.list_object_versions(Bucket=bucket, KeyMarker="b", VersionIdMarker=ids["b"][0])["Versions"]
    assert [v["VersionId"] for v in mid] == [ids["b"][1], ids["b"][2], ids["c"][0]]
    # the stored versions are not touched by a listing (moto copied every one, bodies included)
    assert s3.get_object(Bucket=bucket, Key="b", VersionId=ids["b"][2])["Body"].read() == b"0"
    deploy.empty_bucket(bucket, endpoint.settings)
    s3.delete_bucket(Bucket=bucket)


def test_delimiter_and_delete_markers_in_the_listing(endpoint):
    s3 = endpoint.client("s3")
    bucket, ids = _versioned(s3, {"logs/1": 1, "logs/2": 1, "top": 2})
    marker = s3.delete_object(Bucket=bucket, Key="top")["VersionId"]
    got = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in got["CommonPrefixes"]] == ["logs/"]
    assert [(v["Key"], v["IsLatest"]) for v in got["Versions"]] == [("top", False), ("top", False)]
    assert [(d["Key"], d["VersionId"], d["IsLatest"]) for d in got["DeleteMarkers"]] == [("top", marker, True)]
    deploy.empty_bucket(bucket, endpoint.settings)
    s3.delete_bucket(Bucket=bucket)


def test_a_version_written_after_a_deleted_marker_is_listed_locally(endpoint):
    """Pins the ledger row: when the marker's version is gone, only its key is known locally, so
    the next page lists all of that key's versions left, including one written after the first
    page (S3 keeps the deleted version's place and lists only the older ones)."""
    s3 = endpoint.client("s3")
    bucket, ids = _versioned(s3, {"a": 2, "b": 1})
    first = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    assert (first["NextKeyMarker"], first["NextVersionIdMarker"]) == ("a", ids["a"][0])
    s3.delete_object(Bucket=bucket, Key="a", VersionId=ids["a"][0])
    newer = s3.put_object(Bucket=bucket, Key="a", Body=b"new")["VersionId"]
    nxt = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker=ids["a"][0])
    assert [v["VersionId"] for v in nxt["Versions"]] == [newer, ids["a"][1], ids["b"][0]]  # S3: without `newer`
    deploy.empty_bucket(bucket, endpoint.settings)
    s3.delete_bucket(Bucket=bucket)
