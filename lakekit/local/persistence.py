"""State that survives restarts: moto's backends and our executors' stores on disk.

A snapshot is one pickle of every moto backend the endpoint has used plus every store
that executors registered with :func:`store`. S3 object bodies are not inside the pickle:
each is written once to ``blobs/etag-<md5>-<size>`` (content addressed) so a snapshot after
a small change rewrites only metadata, not gigabytes of objects.

Snapshots are taken shortly after mutating requests (debounced: 0.2 s of quiet, at most
1 s after the first unsaved change), within ~2 s of an executor's background thread
changing a store, on ``SIGTERM`` and on ``lakekit local down``. A large state is saved less
often: after a snapshot of B bytes the next one starts no sooner than B / ``SNAPSHOT_RATE``
seconds after it (16 MB/s: a 112 MB snapshot, the 30x lake, waits 7 s; states under 16 MB keep
the 1 s window). Each snapshot pickles the whole state under the state lock, so without the
spacing a long write burst on a large state spent most of its time snapshotting, O(objects) per
second (``benchmarks/scale.py``). What a ``SIGKILL`` can lose is therefore bounded by that
window plus one snapshot's duration; ``benchmarks/persistence.py`` measures it.

Example (inside an executor module)::

    from lakekit.local.persistence import store
    FILTERS = store("lakeformation.data_cells_filters")   # a dict that survives restarts
"""
from __future__ import annotations

import collections
import gc
import hashlib
import io
import logging
import os
import pickle
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

__all__ = ["store", "Persistence", "SNAPSHOT_NAME", "blob_name", "blobs_dir"]

log = logging.getLogger("lakekit.local.persistence")

SNAPSHOT_NAME = "snapshot.pkl"
_FORMAT = 1
#: bytes of snapshot per second of spacing: after a snapshot of B bytes the next waits B / this
SNAPSHOT_RATE = 16 * 1024 * 1024

# moto services whose state the kit relies on; others are saved too if they were used.
_KNOWN = ["s3", "iam", "sts", "kms", "glue", "athena", "lakeformation", "logs", "events", "cloudwatch",
          "awslambda", "cloudformation", "sqs", "sns", "ssm", "secretsmanager", "scheduler",
          "stepfunctions"]

_STORES: dict[str, dict[str, Any]] = {}
_LOCK_FACTORIES: dict[type, Any] = {type(threading.Lock()): threading.Lock,
                                    type(threading.RLock()): threading.RLock}
_LOCK_TYPES = (*_LOCK_FACTORIES, threading.Condition, threading.Event)


def blobs_dir(home: Path) -> Path:
    """Where the S3 object bodies of ``home``'s snapshots are kept."""
    return Path(home) / "state" / "blobs"


def blob_name(etag: str, size: int) -> str:
    """File name (in :func:`blobs_dir`) of a non-empty object body with this ETag and size.

    Blobs are immutable: written once to a temporary file then renamed into place, never
    opened for writing again (only unlinked when no snapshot references them), so other
    local caches of the same bytes (the Athena mirror) may hard-link them.
    """
    return f"etag-{str(etag).strip(chr(34))}-{size}"


def store(name: str) -> dict[str, Any]:
    """A dict owned by an executor that is saved in every snapshot and restored on start."""
    return _STORES.setdefault(name, {})


def _moto_backends() -> dict[str, Any]:
    """The BackendDicts of every moto service module already imported."""
    from moto.backends import get_backend

    out: dict[str, Any] = {}
    for name in _KNOWN:
        module = "moto.awslambda.models" if name == "awslambda" else f"moto.{name}.models"
        if module in sys.modules:
            out[name] = get_backend("lambda" if name == "awslambda" else name)
    return out


def _restore_key(cls: type, state: dict[str, Any]) -> Any:
    obj = cls.__new__(cls)
    obj.__setstate__(state)
    return obj


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


_SPECIAL_BASES = (*_LOCK_TYPES, weakref.WeakValueDictionary, collections.defaultdict)
_PLAIN_TYPES: set[type] = set()


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, persistence: Persistence) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.p = persistence

    # No persistent_id hook: pickle would call it for every object (~800k at 3,650 S3 keys).
    # reducer_override is not called for exact builtins (bytes, str, dict...), so it stays cheap.
    def reducer_override(self, obj: Any) -> Any:
        t = type(obj)
        if t in _PLAIN_TYPES:  # most objects: moto models, datetimes, enums...
            return NotImplemented
        if t is _BlobRef:
            return (_load_blob, (obj.digest,))
        name = t.__name__
        if name == "FakeKey" and hasattr(obj, "__getstate__") and "_value_buffer" in obj.__dict__:
            state = obj.__dict__.copy()
            state.pop("_value_buffer", None)
            state.pop("lock", None)
            state["value"] = _BlobRef(self.p._blob_for_key(obj))
            return (_restore_key, (type(obj), state))
        if isinstance(obj, _LOCK_TYPES):  # moto objects hold locks: restore fresh ones
            return (type(obj) if isinstance(obj, (threading.Condition, threading.Event))
                    else _LOCK_FACTORIES[type(obj)], ())
        if isinstance(obj, weakref.WeakValueDictionary):
            return (weakref.WeakValueDictionary, (dict(obj.items()),))
        if isinstance(obj, collections.defaultdict) and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            # moto's `defaultdict(lambda: {})`: keep the kind of default, drop the lambda
            return (collections.defaultdict, (type(obj.default_factory()), dict(obj)))
        if "PrivateKey" in name and hasattr(obj, "private_bytes"):
            from cryptography.hazmat.primitives import serialization as ser

            pem = obj.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
            return (_load_private_key, (pem,))
        if not (name == "FakeKey" or "PrivateKey" in name or issubclass(t, _SPECIAL_BASES)):
            _PLAIN_TYPES.add(t)  # none of the cases above can apply to any instance of t
        return NotImplemented


class _BlobRef:
    """Placeholder for an S3 object body stored beside the snapshot."""

    def __init__(self, digest: str) -> None:
        self.digest = digest


def _load_blob(digest: str) -> bytes:
    raise RuntimeError("blob references are resolved by Persistence.restore()")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedReader, blobs: Path) -> None:
        super().__init__(file)
        self.blobs = blobs

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_load_blob":
            return lambda digest: (self.blobs / digest).read_bytes()
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:  # snapshots written before blob refs were reduced
        kind, digest = pid
        if kind != "blob":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return (self.blobs / digest).read_bytes()



class Persistence:
    """Owns ``<home>/state``: snapshot file + blob store + debounced saver thread."""

    def __init__(self, home: Path, state_lock: Any, quiet: float = 0.2, max_delay: float = 1.0,
                 manage_gc: bool = False):
        """``manage_gc``: freeze long-lived objects after each snapshot (the endpoint process)."""
        self.dir = Path(home) / "state"
        self.blobs = blobs_dir(home)
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.state_lock = state_lock
        self.quiet, self.max_delay = quiet, max_delay
        self._dirty_since: float | None = None
        self._last_change = 0.0
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._key_digests: weakref.WeakKeyDictionary[Any, tuple[Any, str]] = weakref.WeakKeyDictionary()
        self._referenced: set[str] = set()
        self._on_disk: set[str] = {p.name for p in self.blobs.iterdir() if not p.name.endswith(".tmp")}
        self._save_lock = threading.Lock()
        self.snapshots = 0
        self.last_snapshot_seconds = 0.0
        self.last_snapshot_bytes = 0
        self._last_snapshot_done = 0.0  # monotonic time the last snapshot ended
        self.store_poll = 2.0
        self._saved_stores_digest = ""
        self.manage_gc = manage_gc
        self._frozen_at = 0.0

    # -- blobs ------------------------------------------------------------
    def _write_blob(self, data: bytes, name: str | None = None) -> str:
        digest = name or hashlib.sha256(data).hexdigest()
        path = self.blobs / digest
        if digest not in self._on_disk and not path.exists():
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        self._on_disk.add(digest)
        self._referenced.add(digest)
        return digest

    def _blob_for_key(self, key: Any) -> str:
        stamp = (key.__dict__.get("_etag"), key.__dict__.get("contentsize"),
                 key.__dict__.get("last_modified"))
        cached = self._key_digests.get(key)
        if cached and cached[0] == stamp and cached[1] in self._on_disk:
            self._referenced.add(cached[1])
            return cached[1]
        try:
            value = key.value
        except ValueError:  # a disposed multipart part: moto itself pickles it as empty
            value = b""
        # moto already computed the MD5-based ETag: name the blob by it instead of hashing again
        name = blob_name(key.etag, len(value)) if value else None
        digest = self._write_blob(value, name)
        self._key_digests[key] = (stamp, digest)
        return digest

    # -- snapshot / restore ----------------------------------------------
    def snapshot(self) -> float:
        """Write a consistent snapshot now; returns the seconds it took."""
        with self._save_lock:
            started = time.monotonic()
            self._referenced = set()
            buf = io.BytesIO()
            with self.state_lock.exclusive():
                with self._cond:
                    self._dirty_since = None
                payload = {"format": _FORMAT, "moto": _moto_backends(), "stores": dict(_STORES)}
                _Pickler(buf, self).dump(payload)
                try:
                    self._saved_stores_digest = hashlib.sha256(
                        pickle.dumps(_STORES, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
                except Exception:
                    self._saved_stores_digest = ""
            tmp = self.dir / (SNAPSHOT_NAME + ".tmp")
            with open(tmp, "wb") as fh:
                fh.write(buf.getbuffer())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / SNAPSHOT_NAME)
            self._gc_blobs()
            self.snapshots += 1
            self.last_snapshot_bytes = buf.getbuffer().nbytes
            self._last_snapshot_done = time.monotonic()
            self.last_snapshot_seconds = self._last_snapshot_done - started
            return self.last_snapshot_seconds

    def _gc_blobs(self) -> None:
        for path in self.blobs.iterdir():
            if path.name not in self._referenced and not path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                self._on_disk.discard(path.name)

    def restore(self) -> bool:
        """Load the last snapshot into moto and the stores; False when there is none."""
        path = self.dir / SNAPSHOT_NAME
        if not path.exists():
            return False
        from moto.backends import get_backend

        with open(path, "rb") as fh:
            payload = _Unpickler(fh, self.blobs).load()
        for name, saved in payload["moto"].items():
            live = get_backend("lambda" if name == "awslambda" else name)
            live.clear()
            live.update(saved)
        for name, saved in payload["stores"].items():
            target = store(name)
            target.clear()
            target.update(saved)
        return True

    # -- debounced saver --------------------------------------------------
    def mark_dirty(self) -> None:
        with self._cond:
            now = time.monotonic()
            self._last_change = now
            if self._dirty_since is None:
                self._dirty_since = now
            self._cond.notify()

    def due(self) -> float:
        """When the next snapshot of unsaved changes starts (``time.monotonic()`` clock).

        0.2 s of quiet or 1 s after the first unsaved change, whichever comes first; but no
        sooner than last snapshot's size / :data:`SNAPSHOT_RATE` seconds after it ended.
        """
        dirty = self._dirty_since if self._dirty_since is not None else self._last_change
        due = min(self._last_change + self.quiet, dirty + self.max_delay)
        return max(due, self._last_snapshot_done + self.last_snapshot_bytes / SNAPSHOT_RATE)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lakekit-snapshot", daemon=True)
        self._thread.start()

    def _stores_digest(self) -> str:
        """Digest of the executors' stores (small), to notice changes made off-request."""
        try:
            with self.state_lock.shared():
                data = pickle.dumps(_STORES, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an unpicklable value: the next snapshot will log it
            return ""
        return hashlib.sha256(data).hexdigest()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread:
            self._thread.join(timeout=30)
        self.snapshot()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._dirty_since is None and not self._stop:
                    if not self._cond.wait(timeout=self.store_poll):
                        break  # no request for a while: did a background thread change a store?
                if self._stop:
                    return
                if self._dirty_since is None:
                    if self._stores_digest() == self._saved_stores_digest:
                        self._idle_collect()
                        continue
                    self._dirty_since = self._last_change = time.monotonic() - self.quiet
                now = time.monotonic()
                due = self.due()
                if now < due:
                    self._cond.wait(timeout=due - now)
                    continue
            try:
                self.snapshot()
            except Exception:
                log.exception("snapshot failed; will retry on the next change")
            if self.manage_gc:
                # What survived until a snapshot is long-lived (moto's backends): keep it out of the
                # cyclic GC's full collections, which otherwise rescan ~1M objects and stall
                # requests for ~0.15 s. Cycles among frozen objects are reclaimed when idle.
                gc.freeze()
                self._frozen_at = time.monotonic()

    def _idle_collect(self) -> None:
        """After 30 s without changes: one full collection of everything frozen since the last one."""
        if self.manage_gc and self._frozen_at and time.monotonic() - self._last_change > 30:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._frozen_at = 0.0
