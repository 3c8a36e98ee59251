"""DuckDB's own Parquet reader over local copies of S3 objects: the fast path for Parquet tables.

Reading Parquet with pyarrow through a byte-counting Python filesystem (``_io.ChunkedScan``) is
exact but slow over thousands of small files: every read crosses the GIL. For Parquet the bytes
a query scans are known without reading them - the compressed sizes of the column chunks it
projects, from the files' footers - so the engine can let DuckDB read natively:

1. each S3 object is copied once into a local mirror folder, laid out in Hive ``key=value``
   folders built from the *Glue* partition values, named by the object's ETag (an overwritten
   object gets a new copy; the footer of a copy never changes, so it is parsed once; copies
   are kept across restarts, see :class:`ParquetMirror`). When the
   endpoint's persistence already holds the body (a blob named by the same ETag and size, see
   :func:`lakekit.local.persistence.blob_name`) the copy is a hard link to that blob instead:
   the first query after a restart then costs a link per object, not a copy, and no footer read
   either: footers of blob-backed objects are kept by blob name in ``<mirror>.footers.pkl``;
2. DuckDB scans the copies with ``read_parquet([...], hive_partitioning = true)``;
3. ``DataScannedInBytes`` = the footers' compressed sizes of the columns the statement
   references (:func:`columns_read`), summed over the files after partition pruning.

Tables the fast path cannot express (files whose schemas differ, a Glue column missing from the
files, partition values that are not plain ``[A-Za-z0-9_.+-]``) keep the pyarrow path.

Example::

    mirror = ParquetMirror.for_root(Path("/tmp/lk-mirror"))
    scan = NativeScan.build(mirror, fetch, table_key, files, data_schema, keys)   # or None
    con.execute(f"CREATE TEMP VIEW t AS {scan.select_sql()}")
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import pickle
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

__all__ = ["FileMeta", "ParquetMirror", "NativeScan", "columns_read"]

log = logging.getLogger(__name__)

_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.+-]+")

# Arrow type of a partition key -> the DuckDB type DuckDB gives the Hive column
_DUCK_KEY_TYPES: dict[pa.DataType, str] = {
    pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
    pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.string(): "VARCHAR", pa.date32(): "DATE",
    pa.bool_(): "BOOLEAN",
}


@dataclass(frozen=True)
class FileMeta:
    """What the engine needs from one Parquet footer."""

    schema: pa.Schema
    column_bytes: dict[str, int]  # top-level column (lower case) -> compressed bytes over all row groups
    size: int

    @classmethod
    def read(cls, path: str, schemas: dict[str, pa.Schema] | None = None) -> FileMeta:
        """``schemas``: equal schemas are shared through it, so comparing files is ``is``."""
        md = pq.read_metadata(path)
        by_col: dict[str, int] = {}
        for rg in range(md.num_row_groups):
            group = md.row_group(rg)
            for c in range(group.num_columns):
                cc = group.column(c)
                top = cc.path_in_schema.split(".", 1)[0].lower()
                by_col[top] = by_col.get(top, 0) + cc.total_compressed_size
        schema = md.schema.to_arrow_schema().remove_metadata()
        if schemas is not None:
            schema = schemas.setdefault(schema.to_string(), schema)
        return cls(schema, by_col, os.path.getsize(path))


class ParquetMirror:
    """Local copies of S3 Parquet objects (one folder per process, least recently used evicted).

    ``for_root(root)`` returns the process-wide mirror of ``root``; the files a previous process
    left there are kept (scanned once, when first used): a file's name says which object version
    it holds (``<sha1(s3 path)>-<ETag>``) and it is only used again when its size is the
    object's (anything else is removed and made again); files no query claims count in the
    budget and are evicted first. ``for_root(None)``: a temporary folder removed at exit.

    ``blobs``: the persistence blob folder (``<home>/state/blobs``). A wanted object whose body
    is a blob there (same ETag and size) is hard-linked instead of copied (a copy when linking
    fails: another filesystem, no permission). Blobs are immutable and so are mirror files:
    the mirror only creates files it writes under fresh temporary names (``O_EXCL``), renames
    them into place, and unlinks; nothing ever opens a mirror file for writing, so a linked
    blob's bytes never change through it (eviction and the start-up scan only unlink names).
    With ``blobs``, footers are also remembered by blob name across restarts (:class:`_FooterIndex`).
    """

    BUDGET = 4 << 30  # bytes kept before least recently used copies are removed...
    IDLE = 60.0  # ...if unused for this many seconds (a running query keeps its copies)
    _mirrors: dict[str, ParquetMirror] = {}
    _mirrors_lock = threading.Lock()

    def __init__(self, root: Path, blobs: Path | None = None) -> None:
        self.root = root
        self._root = str(root)
        self._blobs = str(blobs) if blobs is not None else None
        self.linked = 0  # objects hard-linked from persistence blobs (since start)
        self.copied = 0  # objects fetched and written
        self.footers_read = 0  # footers parsed (the others came from the footer index)
        self._lock = threading.Lock()
        self._known: dict[str, tuple[FileMeta, float]] = {}  # local path -> (footer, last used)
        self._bytes = 0
        self._schemas: dict[str, pa.Schema] = {}
        self._names: dict[str, str] = {}  # s3 path -> file name stem (sha1)
        self._folders: set[str] = set()  # folders this mirror created
        self._unclaimed: dict[str, int] = {}  # files a previous process left -> size (in _bytes)
        self._footers = _FooterIndex(root.parent / f"{root.name}.footers.pkl" if blobs is not None else None,
                                     self._schemas)

    @classmethod
    def for_root(cls, root: Path | None, blobs: Path | None = None) -> ParquetMirror:
        key = str(root) if root is not None else ""
        with cls._mirrors_lock:
            mirror = cls._mirrors.get(key)
            if mirror is None:
                if root is None:
                    path = Path(tempfile.mkdtemp(prefix="lakekit-athena-mirror-"))
                    atexit.register(shutil.rmtree, path, True)
                else:
                    root.mkdir(parents=True, exist_ok=True)
                    path = root
                mirror = cls._mirrors[key] = cls(path, blobs)
                if root is not None:
                    mirror._scan()
            return mirror

    def _scan(self) -> None:
        """Take stock of the files a previous process left (before any query runs): temporary
        files are removed, the others wait for a query to claim them."""
        for folder, _, names in os.walk(self._root):
            for name in names:
                path = f"{folder}/{name}"
                try:
                    if name.endswith(".tmp"):
                        os.unlink(path)
                    else:
                        self._unclaimed[path] = os.stat(path).st_size
                except OSError:
                    pass
            if names:
                self._folders.add(folder)
        self._bytes += sum(self._unclaimed.values())
        self._evict(time.monotonic())

    def blob_for(self, etag: str, size: int) -> str | None:
        """Path of the persistence blob that would hold this object's body (it may not exist)."""
        if self._blobs is None or size <= 0 or not etag:
            return None
        from lakekit.local.persistence import blob_name

        return f"{self._blobs}/{blob_name(etag, size)}"

    def local_path(self, table_key: str, hive: str, s3_path: str, etag: str) -> str:
        """``<root>/<table_key>/<k=v/...>/<sha1(s3 path)>-<etag>.parquet`` (string ops: 1,000s per query)."""
        name = self._names.get(s3_path)
        if name is None:
            if len(self._names) > 200_000:
                self._names.clear()
            name = self._names[s3_path] = hashlib.sha1(s3_path.encode()).hexdigest()[:20]
        tag = etag.strip('"')
        if not tag.isalnum():
            tag = re.sub(r"[^A-Za-z0-9]", "", tag) or "noetag"
        folder = f"{self._root}/{table_key}/{hive}" if hive else f"{self._root}/{table_key}"
        return f"{folder}/{name}-{tag}.parquet"

    def ensure(self, wanted: list[tuple[str, str]] | list[tuple[str, str, tuple[str | None, int]]],
               fetch: Callable[[str], bytes]) -> list[FileMeta]:
        """``wanted``: [(s3 bucket/key, local path[, (blob path or None, size or -1)])]. Links
        (from the blob, when given and its size matches) or copies what is missing (8 at a
        time) and returns each file's footer, in order."""
        now = time.monotonic()
        metas: list[FileMeta | None] = []
        missing: list[int] = []
        claimed: dict[str, int] = {}  # left by a previous process -> its size (checked below)
        with self._lock:
            for i, w in enumerate(wanted):
                local = w[1]
                known = self._known.get(local)
                if known is None:
                    metas.append(None)
                    missing.append(i)
                    size = self._unclaimed.pop(local, None)
                    if size is not None:  # this query's now: eviction no longer sees it
                        self._bytes -= size
                        claimed[local] = size
                else:
                    self._known[local] = (known[0], now)
                    metas.append(known[0])

        def copy(i: int) -> tuple[FileMeta, int]:  # (footer, 1 if linked / 2 if copied / 0 if present)
            s3_path, local = wanted[i][0], wanted[i][1]
            blob_path, size = wanted[i][2] if len(wanted[i]) > 2 else (None, -1)  # type: ignore[misc]
            blob = (blob_path, size) if blob_path is not None else None
            if local in claimed and (size < 0 or claimed[local] != size):
                os.unlink(local)  # not the object's size (a torn copy?) or unknown: made again
            meta = self._footers.get(os.path.basename(blob[0]), blob[1]) if blob is not None else None
            linked = self._link(blob[0], blob[1], local) if blob is not None else None
            how = 1 if linked else 0
            if linked is None and not os.path.exists(local):
                os.makedirs(os.path.dirname(local), exist_ok=True)
                _write_new(local, fetch(s3_path))
                how = 2
            if meta is not None:
                return meta, how
            try:
                meta = FileMeta.read(local, self._schemas)
                if blob is not None:
                    self._footers.put(os.path.basename(blob[0]), meta)
                return meta, how + 4
            except (pa.ArrowException, OSError) as ex:
                raise pa.ArrowInvalid(f"s3://{s3_path} is not a readable Parquet file ({ex}); remove it from the "
                                      "table's location or declare the table's real format") from None

        if missing:
            folders = {os.path.dirname(wanted[i][1]) for i in missing} - self._folders
            for folder in sorted(folders):  # once each, here: 8 threads in mkdir contend in the kernel
                os.makedirs(folder, exist_ok=True)
            if len(self._folders) > 200_000:
                self._folders.clear()
            self._folders |= folders
            with ThreadPoolExecutor(8) as pool:
                fresh = list(pool.map(copy, missing))
            with self._lock:
                self.linked += sum(1 for _, how in fresh if how & 3 == 1)
                self.copied += sum(1 for _, how in fresh if how & 3 == 2)
                self.footers_read += sum(1 for _, how in fresh if how & 4)
                for i, (meta, _) in zip(missing, fresh, strict=True):
                    metas[i] = meta
                    if wanted[i][1] not in self._known:
                        self._bytes += meta.size
                    self._known[wanted[i][1]] = (meta, now)
                self._evict(now)
            self._footers.save(self._blobs)
        return metas  # type: ignore[return-value]

    def _link(self, blob: str, size: int, local: str) -> bool | None:
        """Hard-link ``blob`` as ``local``: True when linked, False when ``local`` exists already
        (another query materialised it: links and renames are atomic), None (copy instead) when
        the blob is missing, has another size (not the same body) or cannot be linked (EXDEV,
        EPERM, the folder was removed...)."""
        try:
            if os.stat(blob).st_size != size:
                return None
            os.link(blob, local)
        except FileExistsError:
            return False
        except OSError as ex:
            if not isinstance(ex, FileNotFoundError):
                log.debug("cannot hard-link %s as %s (%s): copying", blob, local, ex)
            return None
        return True

    def _evict(self, now: float) -> None:
        if self._bytes <= self.BUDGET:
            return
        while self._unclaimed and self._bytes > self.BUDGET:  # left by a previous process: first
            local, size = self._unclaimed.popitem()
            self._bytes -= size
            with contextlib.suppress(FileNotFoundError):
                os.unlink(local)
        for local, (meta, used) in sorted(self._known.items(), key=lambda kv: kv[1][1]):
            if self._bytes <= self.BUDGET or now - used < self.IDLE:
                break
            del self._known[local]
            self._bytes -= meta.size
            try:
                os.unlink(local)
            except FileNotFoundError:
                pass


class _FooterIndex:
    """Footers of blob-backed objects by blob name (ETag + size: the bytes' identity), saved in
    ``path`` so a restarted endpoint does not parse again footers it read before. A footer
    depends on the bytes only, so an entry never goes stale; entries whose blob is gone are
    dropped when saving. A missing or unreadable file is an empty index. ``path`` None: off."""

    _VERSION = 1

    def __init__(self, path: Path | None, schemas: dict[str, pa.Schema]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, FileMeta] = {}
        self._used: set[str] = set()
        self._dirty = False
        if path is not None and path.exists():
            try:
                with open(path, "rb") as f:
                    saved = pickle.load(f)
                if saved.get("version") == self._VERSION:
                    shared = [schemas.setdefault(s.to_string(), s) for s in saved["schemas"]]
                    self._entries = {name: FileMeta(shared[i], cols, size)
                                     for name, (i, cols, size) in saved["entries"].items()}
            except Exception as ex:  # a torn or foreign file: read the footers again
                log.warning("ignoring the Athena mirror's footer index %s (%s); footers are read again", path, ex)

    def get(self, name: str, size: int) -> FileMeta | None:
        if self.path is None:
            return None
        with self._lock:
            meta = self._entries.get(name)
            if meta is None or meta.size != size:
                return None
            self._used.add(name)
            return meta

    def put(self, name: str, meta: FileMeta) -> None:
        if self.path is not None:
            with self._lock:
                self._entries[name] = meta
                self._used.add(name)
                self._dirty = True

    def save(self, blobs: str | None) -> None:
        """Write the index if it changed (atomically: temporary file + rename)."""
        if self.path is None or not self._dirty:
            return
        with self._lock:
            self._dirty = False
            keep = {n: m for n, m in self._entries.items()
                    if n in self._used or (blobs is not None and os.path.exists(f"{blobs}/{n}"))}
            self._entries = keep
        index: dict[int, int] = {}
        schemas: list[pa.Schema] = []
        entries = {}
        for name, meta in keep.items():
            i = index.get(id(meta.schema))
            if i is None:
                i = index[id(meta.schema)] = len(schemas)
                schemas.append(meta.schema)
            entries[name] = (i, meta.column_bytes, meta.size)
        tmp = f"{self.path}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "wb") as f:
                pickle.dump({"version": self._VERSION, "schemas": schemas, "entries": entries}, f,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError as ex:
            log.warning("cannot save the Athena mirror's footer index %s (%s)", self.path, ex)


def _write_new(local: str, data: bytes) -> None:
    """Write ``data`` to a new inode and rename it to ``local``: an existing file (maybe a hard
    link to a persistence blob) is replaced, never written into."""
    tmp = f"{local}.{os.getpid()}-{threading.get_ident()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # left by a failed attempt
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, local)


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


@dataclass
class NativeScan:
    """One Glue Parquet table (after partition pruning) read by DuckDB from mirror copies."""

    files: list[str]
    metas: list[FileMeta]
    schema: pa.Schema  # Glue's column order and names, the files' physical types, then the keys
    physical: dict[str, str]  # Glue column (lower case) -> column name in the files
    key_types: dict[str, str]  # partition key -> DuckDB type

    @classmethod
    def build(cls, mirror: ParquetMirror, fetch: Callable[[str], bytes], table_key: str,
              files: list[tuple[str, str, dict[str, Any], list[str]]], data_schema: pa.Schema,
              keys: list[tuple[str, pa.DataType]]) -> NativeScan | None:
        """``files``: [(bucket/key, etag, {key: value}, [raw Glue value strings], size)]. None
        when the table needs the pyarrow path (see the module docstring)."""
        if "=" in str(mirror.root) or not files:
            return None
        key_types = {}
        for k, t in keys:
            if t not in _DUCK_KEY_TYPES or k in data_schema.names:
                return None
            key_types[k] = _DUCK_KEY_TYPES[t]
        wanted = []
        safe: set[str] = set()  # partition values already checked (few distinct ones)
        for s3_path, etag, _, raw, size in files:
            if len(raw) != len(keys):
                return None
            for v in raw:
                if v not in safe:
                    if not _SAFE_VALUE.fullmatch(v):
                        return None  # NULL (__HIVE_DEFAULT_PARTITION__) or characters DuckDB would decode
                    safe.add(v)
            hive = "/".join(f"{k}={v}" for (k, _), v in zip(keys, raw, strict=True))
            wanted.append((s3_path, mirror.local_path(table_key, hive, s3_path, etag),
                           (mirror.blob_for(etag, size), size)))
        metas = mirror.ensure(wanted, fetch)
        first = metas[0].schema
        if any(m.schema is not first for m in metas):
            return None  # schema drift between files: pyarrow reconciles it
        by_lower = {f.name.lower(): f for f in first}
        if any(k in by_lower for k in key_types):
            return None  # the files carry a partition column too: which value wins is pyarrow's call
        physical: dict[str, str] = {}
        fields = []
        for f in data_schema:
            pf = by_lower.get(f.name)
            if pf is None:
                return None  # a Glue column the files lack (NULL-filled by the pyarrow path)
            physical[f.name] = pf.name
            fields.append(pa.field(f.name, pf.type))
        schema = pa.schema(fields + [pa.field(k, t) for k, t in keys])
        return cls([w[1] for w in wanted], metas, schema, physical, key_types)

    def select_sql(self) -> str:
        """``SELECT <Glue columns>, <keys> FROM read_parquet([...])`` for a DuckDB view."""
        cols = [f"{_ident(p)} AS {_ident(g)}" for g, p in self.physical.items()] + [_ident(k) for k in self.key_types]
        files = "[" + ", ".join(_sql_str(f) for f in self.files) + "]"
        if self.key_types:
            types = ", ".join(f"{_sql_str(k)}: {_sql_str(t)}" for k, t in self.key_types.items())
            opts = f", hive_partitioning = true, hive_types = {{{types}}}, hive_types_autocast = false"
        else:
            opts = ", hive_partitioning = false"
        return f"SELECT {', '.join(cols) or '*'} FROM read_parquet({files}{opts})"

    def bytes_per_file(self, columns: set[str] | None) -> list[int]:
        """Compressed bytes of ``columns`` (Glue names, lower case; None = every Glue column) per file."""
        names = [self.physical[c].lower() for c in (self.physical if columns is None else columns)
                 if c in self.physical]
        return [sum(m.column_bytes.get(n, 0) for n in names) for m in self.metas]


def columns_read(ast: exp.Expression, aliases: Iterable[str]) -> dict[str, set[str] | None]:
    """Per table alias: the column names the statement may read from it (None = all, ``SELECT *``).

    Conservative where SQL is ambiguous without a full scope analysis: an unqualified column
    counts for every table that has it, ``*`` for every table read directly by that SELECT (not
    through a subquery), and a qualifier that is no table alias (``struct_col.field``) counts as
    a column name too. ``count(*)`` reads no column.
    """
    need: dict[str, set[str] | None] = {a: set() for a in aliases}
    for star in ast.find_all(exp.Star):
        parent = star.parent
        if isinstance(parent, exp.Count):
            continue
        if isinstance(parent, exp.Column) and parent.table:
            if parent.table.lower() in need:
                need[parent.table.lower()] = None
            continue
        select = star.find_ancestor(exp.Select)
        sources = []
        if select is not None:  # FROM is "from_" in sqlglot >= 28
            sources = [select.args.get("from_") or select.args.get("from"), *(select.args.get("joins") or [])]
        for src in sources:
            if src is not None and isinstance(src.this, exp.Table) and src.this.alias_or_name.lower() in need:
                need[src.this.alias_or_name.lower()] = None
    for col in ast.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            continue
        name, table = col.name.lower(), col.table.lower()
        if table in need:
            targets: list[tuple[str, str]] = [(table, name)]
        elif table:  # struct access (engine.count) or a subquery alias: the qualifier may be a column
            targets = [(a, n) for a in need for n in (table, name)]
        else:
            targets = [(a, name) for a in need]
        for a, n in targets:
            cols = need[a]
            if cols is not None:
                cols.add(n)
    return need
