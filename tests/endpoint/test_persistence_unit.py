"""Persistence in-process: blob references round-trip, long-lived objects frozen after a snapshot."""
from __future__ import annotations

import gc
import pickle
import time

from lakekit.local import persistence as P
from lakekit.local.gateway import StateLock


class _Holder:
    def __init__(self, digest: str) -> None:
        self.body = P._BlobRef(digest)
        self.more = {"x": [1, 2, 3]}


def test_blob_refs_resolve_from_the_blob_store(tmp_path):
    p = P.Persistence(tmp_path, StateLock())
    digest = p._write_blob(b"payload" * 10, "etag-abc-70")
    import io

    buf = io.BytesIO()
    P._Pickler(buf, p).dump({"h": _Holder(digest)})
    assert b"payload" not in buf.getvalue()  # the body lives in the blob store, not the pickle
    buf.seek(0)
    restored = P._Unpickler(buf, p.blobs).load()
    assert restored["h"].body == b"payload" * 10 and restored["h"].more == {"x": [1, 2, 3]}
    buf.seek(0)
    try:  # without the store (plain pickle), a blob reference is a clear error, not silent data
        pickle.load(buf)
    except RuntimeError as ex:
        assert "Persistence.restore" in str(ex)
    else:
        raise AssertionError("plain unpickling resolved a blob reference")


def test_snapshot_freezes_long_lived_objects_and_idle_collects(tmp_path):
    p = P.Persistence(tmp_path, StateLock(), quiet=0.01, max_delay=0.05, manage_gc=True)
    p.store_poll = 0.05
    try:
        p.start()
        p.mark_dirty()
        deadline = time.monotonic() + 10
        while p.snapshots == 0 or not p._frozen_at:
            assert time.monotonic() < deadline, "no snapshot/freeze within 10 s"
            time.sleep(0.02)
        assert gc.get_freeze_count() > 0
        p._last_change -= 31  # idle for > 30 s: the next poll unfreezes, collects, freezes again
        deadline = time.monotonic() + 10
        while p._frozen_at:
            assert time.monotonic() < deadline, "no idle collection within 10 s"
            time.sleep(0.02)
        assert gc.get_freeze_count() > 0
    finally:
        p.stop()
        gc.unfreeze()
