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


def test_a_large_snapshot_spaces_the_next_one_by_its_size(tmp_path):
    """After a snapshot of B bytes the next starts no sooner than B / SNAPSHOT_RATE s after it."""
    p = P.Persistence(tmp_path, StateLock())
    p.snapshot()
    assert p.last_snapshot_bytes == (tmp_path / "state" / P.SNAPSHOT_NAME).stat().st_size > 0
    t0 = time.monotonic()
    p._dirty_since, p._last_change, p._last_snapshot_done = t0, t0 + 0.9, t0
    p.last_snapshot_bytes = 1000  # a small state: the 1 s window after the first unsaved change
    assert p.due() == t0 + 1.0
    p._last_change = t0  # then quiet: 0.2 s after the change
    assert p.due() == t0 + 0.2
    p.last_snapshot_bytes = 7 * P.SNAPSHOT_RATE  # 112 MB (the 30x lake): 7 s after the last one
    assert p.due() == t0 + 7.0
