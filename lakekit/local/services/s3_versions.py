"""ListObjectVersions without copying every object, with its markers read as positions.

moto 5.2.5's ``S3Backend.list_object_versions`` has two faults this module replaces:

* it ``copy.deepcopy``-ies every version of every key in the bucket on each call (to set
  ``is_latest`` without touching the stored keys). A FakeKey's deepcopy goes through its
  ``__getstate__``, which reads the object's whole body into a new buffer: one page of a listing
  copied every byte in the bucket, and paging through N versions cost O(N^2 / MaxKeys) copies;
* it looks the markers up instead of treating them as positions. With KeyMarker and
  VersionIdMarker, a page after a marker version that was deleted meanwhile came back empty
  (the loop never found the marker), so code that deletes while paging stopped after the
  first page. With KeyMarker alone it skipped the first version at or after the marker and
  then listed the marker key's other versions.

S3 orders versions by key, then newest first, and a page starts after the marker:

* KeyMarker alone: the versions of keys after it;
* KeyMarker + VersionIdMarker: the versions of that key after that version, then later keys.
  When the marker version no longer exists, its key's remaining versions are listed, then later
  keys. S3 keeps the deleted version's place in the order, but only its key is known here. In a
  delete-while-paging loop the remaining versions are the older ones, as on S3. A version
  written after the marker page is listed here but not on S3 (ledger row).

The rest (delimiter and common prefixes, MaxKeys, NextKeyMarker / NextVersionIdMarker being
the last item returned) is moto's logic, unchanged.
"""
from __future__ import annotations

from typing import Any

__all__ = ["list_object_versions"]


class _Listed:
    """A stored version as one listing shows it: ``is_latest`` set, nothing copied."""

    __slots__ = ("_version", "is_latest")

    def __init__(self, version: Any, is_latest: bool) -> None:
        self._version = version
        self.is_latest = is_latest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._version, name)


def _same_version(version: Any, marker: str) -> bool:
    vid = version.version_id
    return vid == marker or (vid is None and marker == "null")


def _entries(bucket: Any, prefix: str, key_marker: str | None, version_id_marker: str | None):
    """``(name, listed version)`` in S3's order, from the position after the markers."""
    # list() copies the key names in one step (no Python code runs while it iterates): a PUT on
    # another request thread cannot change the dict under the filter
    names = sorted(n for n in list(bucket.keys) if n.startswith(prefix or ""))
    for name in names:
        if key_marker is not None and (name < key_marker or (name == key_marker and not version_id_marker)):
            continue
        newest_first = list(reversed(bucket.keys.getlist(name) or []))  # deleted meanwhile: none
        listed = [_Listed(v, i == 0) for i, v in enumerate(newest_first)]
        if key_marker is not None and name == key_marker:
            at = next((i for i, v in enumerate(newest_first) if _same_version(v, version_id_marker)), None)
            listed = listed[at + 1:] if at is not None else listed
        for item in listed:
            yield name, item


def list_object_versions(self: Any, bucket_name: str, delimiter: str | None = None,
                         key_marker: str | None = None, max_keys: int | None = 1000, prefix: str = "",
                         version_id_marker: str | None = None) -> tuple[list, list, list, str | None, str | None]:
    """``S3Backend.list_object_versions`` (same signature and result), see the module docstring."""
    from moto.s3.models import FakeKey

    bucket = self.get_bucket(bucket_name)
    prefix = prefix or ""
    common_prefixes: set[str] = set()
    versions: list[Any] = []
    delete_markers: list[Any] = []
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    last_item_added: Any = None
    for name, version in _entries(bucket, prefix, key_marker, version_id_marker):
        is_common_prefix = False
        if delimiter and delimiter in name[len(prefix):]:
            end = len(prefix) + name[len(prefix):].index(delimiter) + len(delimiter)
            folder = name[:end]
            if folder == key_marker:  # the previous page ended on this common prefix
                continue
            common_prefixes.add(folder)
            name = folder
            is_common_prefix = True
        elif last_item_added is not None:
            name = last_item_added.name
        if max_keys is not None and len(versions) + len(delete_markers) + len(common_prefixes) >= max_keys:
            next_key_marker = name
            next_version_id_marker = (None if is_common_prefix or last_item_added is None
                                      else last_item_added.version_id)
            break
        if not is_common_prefix:
            last_item_added = version
            (versions if isinstance(version._version, FakeKey) else delete_markers).append(version)
    return versions, sorted(common_prefixes), delete_markers, next_key_marker, next_version_id_marker


def _install() -> None:
    from moto.s3.models import S3Backend

    if getattr(S3Backend.list_object_versions, "_lakekit", False):
        return
    list_object_versions._lakekit = True  # type: ignore[attr-defined]
    S3Backend.list_object_versions = list_object_versions


_install()
