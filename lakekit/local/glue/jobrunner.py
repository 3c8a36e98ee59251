"""The engine behind the local Glue job runner: staging, the script subprocess, sync-back, logs.

No s3a jars exist locally (see DESIGN.md), so a run works on a *stage*: every ``s3://``
argument of the run is downloaded to ``<work>/stage/<bucket>/<prefix>`` and rewritten to
that local path; the script runs on local files in its own process (its own JVM); only when
it succeeds is the stage synced back (new/changed files uploaded, objects whose staged file
was deleted removed). A failed, stopped or timed-out run therefore leaves no partial output.

Example (what :mod:`lakekit.local.services.glue_jobs` does for one run)::

    stage = Stage(work / "stage")
    local_args = stage.stage_arguments(s3, {"--input": "s3://raw/flights/"})
    result = run_process([sys.executable, "job.py", *argv(local_args)], env, work, 600)
    if result.returncode == 0:
        report = stage.sync_back(s3)
"""
from __future__ import annotations

import concurrent.futures as _futures
import hashlib
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local._clients import endpoint_client

__all__ = [
    "StagedObject",
    "SyncReport",
    "Stage",
    "ProcessResult",
    "RunningProcess",
    "Spawner",
    "SPAWNER",
    "parse_s3_uri",
    "run_process",
    "python_error",
    "argv_from",
    "script_arguments",
    "job_id",
    "default_temp_dir",
    "split_driver_stderr",
    "client",
    "SKIPPED_OUTPUT",
    "PYLIB",
    "library_env",
    "write_runtime",
]

log = logging.getLogger("lakekit.local.glue.jobrunner")

_S3_URI = re.compile(r"^s3[an]?://(?P<bucket>[A-Za-z0-9][A-Za-z0-9.\-_]{1,254})(?:/(?P<key>.*))?$")
SKIPPED_OUTPUT = "_SUCCESS, *.crc, _temporary/, .spark-staging-*/"
"""Spark bookkeeping files that are never uploaded (nor treated as deleted)."""
PYLIB = Path(__file__).resolve().parent / "pylib"
"""The local ``awsglue`` library: on the job's PYTHONPATH only (never deployed)."""


def library_env(runtime: Path) -> dict[str, str]:
    """What the script process gets so ``import awsglue`` finds the local library.

    ``PYTHONPATH`` = :data:`PYLIB` only; ``LAKEKIT_GLUE_RUNTIME`` = the run's folder shared with the
    library (stage manifest, journal, bookmarks); ``PYSPARK_SUBMIT_ARGS`` = the Spark settings the
    Glue environment provides to a script that builds its own ``SparkContext()`` (master, driver
    memory, shuffle partitions; ``LAKEKIT_SPARK_*`` override them as they do for lakekit's jobs).
    ``LAKEKIT_SPARK_EVENT_LOG_DIR`` (a local folder) turns Spark's event log on, for profiles
    (``benchmarks/glue_job.py``); Glue's own ``--enable-spark-ui`` is not emulated.
    """
    conf = (f"--master {os.environ.get('LAKEKIT_SPARK_MASTER', 'local[*]')} "
            f"--driver-memory {os.environ.get('LAKEKIT_SPARK_DRIVER_MEMORY', '2g')} "
            f"--conf spark.sql.shuffle.partitions={os.environ.get('LAKEKIT_SHUFFLE_PARTITIONS', '8')} ")
    event_log = os.environ.get("LAKEKIT_SPARK_EVENT_LOG_DIR")
    if event_log:
        Path(event_log).mkdir(parents=True, exist_ok=True)
        conf += (f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file://{event_log} "
                 f"--conf spark.eventLog.compress=false ")
    # the staged S3 prefixes are local folders: the raw local file system writes no .crc side
    # file per output file (S3 keeps none, and the sync-back skips them anyway)
    conf += "--conf spark.hadoop.fs.file.impl=org.apache.hadoop.fs.RawLocalFileSystem "
    # no console progress bar: it is written with carriage returns and no newline, so it glued
    # itself to the next stderr line (an exception's first line) and filled Glue's error log
    conf += "--conf spark.ui.showConsoleProgress=false "
    conf += "--conf spark.ui.enabled=false --conf spark.sql.session.timeZone=UTC pyspark-shell"
    return {"PYTHONPATH": str(PYLIB), "LAKEKIT_GLUE_RUNTIME": str(runtime), "PYSPARK_SUBMIT_ARGS": conf}


def write_runtime(runtime: Path, name: str, data: Any) -> None:
    """Write one JSON file of the run's runtime folder (read by the local awsglue library)."""
    runtime.mkdir(parents=True, exist_ok=True)
    tmp = runtime / (name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, runtime / name)


def parse_s3_uri(value: str) -> tuple[str, str] | None:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``; None for anything else.

    >>> parse_s3_uri("s3://raw/flights/")
    ('raw', 'flights/')
    >>> parse_s3_uri("--not-s3") is None
    True
    """
    m = _S3_URI.match(value.strip()) if isinstance(value, str) else None
    if not m:
        return None
    return m.group("bucket"), m.group("key") or ""


def argv_from(args: dict[str, str]) -> list[str]:
    """Glue's argument convention: ``{"--k": "v"}`` -> ``["--k", "v"]`` (keys get ``--``)."""
    out: list[str] = []
    for key, value in args.items():
        out += [key if key.startswith("--") else f"--{key}", str(value)]
    return out


# -- what Glue 5.0 passes to the script -----------------------------------------------------
def job_id(account: str, region: str, job_name: str, created_on: str = "") -> str:
    """A stable ``--JOB_ID`` for a job definition: ``j_`` + 64 hex digits (Glue's shape).

    >>> len(job_id("123456789012", "us-east-1", "etl")), job_id("1", "r", "j")[:2]
    (66, 'j_')
    """
    digest = hashlib.sha256(f"{account}|{region}|{job_name}|{created_on}".encode()).hexdigest()
    return "j_" + digest


def default_temp_dir(account: str, region: str) -> str:
    """The temporary path the Glue console gives a job: ``s3://aws-glue-assets-<acct>-<region>/temporary/``."""
    return f"s3://aws-glue-assets-{account}-{region}/temporary/"


def script_arguments(args: dict[str, str], *, job_name: str, job_id: str, run_id: str,
                     temp_dir: str, security_configuration: str | None = None) -> dict[str, str]:
    """The ``--key value`` pairs Glue 5.0 hands the script (``args`` = the merged arguments).

    Glue adds ``--JOB_ID``, ``--JOB_RUN_ID``, ``--JOB_NAME`` (its own values win),
    ``--job-bookmark-option`` (``job-bookmark-disable`` unless set), ``--TempDir`` (``temp_dir``
    unless set) and, for a job with a security configuration, ``--SECURITY_CONFIGURATION``;
    every other argument is passed as given.

    >>> script_arguments({"--x": "1"}, job_name="j", job_id="j_1", run_id="jr_1",
    ...                  temp_dir="s3://t/")  # doctest: +NORMALIZE_WHITESPACE
    {'--JOB_ID': 'j_1', '--JOB_RUN_ID': 'jr_1', '--JOB_NAME': 'j',
     '--job-bookmark-option': 'job-bookmark-disable', '--TempDir': 's3://t/', '--x': '1'}
    """
    given = {(k if k.startswith("--") else f"--{k}"): str(v) for k, v in args.items()}
    out = {"--JOB_ID": job_id, "--JOB_RUN_ID": run_id, "--JOB_NAME": job_name,
           "--job-bookmark-option": given.get("--job-bookmark-option") or "job-bookmark-disable",
           "--TempDir": given.get("--TempDir") or temp_dir}
    if security_configuration:
        out["--SECURITY_CONFIGURATION"] = security_configuration
    out.update({k: v for k, v in given.items() if k not in out and k not in _GLUE_OWNED})
    return out


_GLUE_OWNED = frozenset({"--JOB_ID", "--JOB_RUN_ID", "--JOB_NAME", "--SECURITY_CONFIGURATION"})
# Spark's log4j2 default pattern: "%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n"
_LOG4J_LINE = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) ")
_SPARK_BANNER = ("Setting default log level to", "To adjust logging level use sc.setLogLevel",
                 "Using Spark's default log4j profile")


def split_driver_stderr(lines: list[tuple[int, str]]) -> tuple[list[tuple[int, str]],
                                                               list[tuple[int, str]]]:
    """Split the driver's stderr the way Glue 5.0 routes it: (user stderr, Spark/system logs).

    Glue 5.0 sends the script's stderr to ``/output`` and Spark's own log4j messages to
    ``/error``. Locally both share one pipe; a log4j line (and the indented lines or
    ``Caused by:`` lines after it: a Java stack trace) is Spark's, anything else the script's.

    >>> user, spark = split_driver_stderr([(1, "25/01/02 10:00:00 WARN Utils: slow"),
    ...     (2, "    at org.X"), (3, "Traceback (most recent call last):"), (4, "  File 'x'"),
    ...     (5, "ValueError: bad")])
    >>> [m for _, m in user], [m for _, m in spark]
    (['Traceback (most recent call last):', "  File 'x'", 'ValueError: bad'], ['25/01/02 10:00:00 WARN Utils: slow', '    at org.X'])
    """
    user: list[tuple[int, str]] = []
    spark: list[tuple[int, str]] = []
    sink = user
    for ts, line in lines:
        if _LOG4J_LINE.match(line) or line.startswith(_SPARK_BANNER):
            sink = spark
        elif not (line[:1].isspace() or line.startswith("Caused by:")) or not line.strip():
            sink = user if line.strip() else sink
        sink.append((ts, line))
    return user, spark


def _skipped(rel_parts: tuple[str, ...]) -> bool:
    name = rel_parts[-1]
    if name == "_SUCCESS" or name.endswith(".crc"):
        return True
    return any(p == "_temporary" or p.startswith(".spark-staging") for p in rel_parts[:-1])


def _safe_key(key: str) -> bool:
    parts = key.split("/")
    return bool(key) and not key.endswith("/") and all(p not in ("", ".", "..") for p in parts)


@dataclass
class StagedObject:
    """One object downloaded into the stage, with what it looked like on both sides."""

    bucket: str
    key: str
    etag: str
    size: int
    path: str
    stat: tuple[int, int, int]  # (size, mtime_ns, inode) right after the download
    last_modified: int = 0      # S3 LastModified, epoch milliseconds
    storage_class: str = "STANDARD"


@dataclass
class SyncReport:
    """What :meth:`Stage.sync_back` did."""

    uploaded: list[str] = field(default_factory=list)   # s3:// URIs
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    bytes_uploaded: int = 0
    seconds: float = 0.0


@dataclass
class _Root:
    bucket: str
    prefix: str          # "" = whole bucket, "a/b/" = a folder, "a/b.csv" = one object (is_file)
    is_file: bool = False

    def covers(self, bucket: str, key: str) -> bool:
        if bucket != self.bucket:
            return False
        return key == self.prefix if self.is_file else key.startswith(self.prefix)


class Stage:
    """A run-local copy of the S3 prefixes a run's arguments name.

    ``Stage(root).stage_arguments(s3, args)`` downloads and returns the rewritten arguments;
    :attr:`manifest` maps ``(bucket, key)`` to the :class:`StagedObject` downloaded.
    """

    def __init__(self, root: Path, workers: int = 8) -> None:
        self.root = Path(root)
        self.workers = workers
        self.roots: list[_Root] = []
        self.manifest: dict[tuple[str, str], StagedObject] = {}
        self.bytes_downloaded = 0
        self.seconds = 0.0
        self.deletes: list[tuple[str, str]] = []   # journaled by the library (purge_s3_path)
        self._meta: dict[tuple[str, str], tuple[int, str]] = {}   # LastModified ms, StorageClass

    # -- paths ----------------------------------------------------------------------
    def local_path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key if key else self.root / bucket

    def to_s3(self, text: str) -> str:
        """Rewrite stage paths in ``text`` (errors, logs) back to the ``s3://`` URIs they stand for."""
        base = str(self.root) + "/"
        return text.replace("file://" + base, "s3://").replace("file:" + base, "s3://").replace(
            base, "s3://")

    # -- download ---------------------------------------------------------------------
    def stage_arguments(self, s3: Any, args: dict[str, str],
                        keep: frozenset[str] = frozenset()) -> dict[str, str]:
        """Download every ``s3://`` argument (except keys in ``keep``) and rewrite it locally.

        A value ending in ``/`` (or naming no existing object) is a folder: its prefix is
        downloaded and the argument becomes the local folder (same trailing-slash shape).
        A value naming one existing object becomes that local file.
        """
        started = time.monotonic()
        wanted: list[tuple[str, str, str, bool]] = []   # (arg, bucket, prefix, is_file)
        for name, value in args.items():
            parsed = parse_s3_uri(value) if name not in keep else None
            if parsed is None:
                continue
            bucket, key = parsed
            is_file = False
            if key and not key.endswith("/"):
                is_file = self._is_object(s3, bucket, key) and not self._has_children(s3, bucket, key)
                if not is_file:
                    key += "/"
            wanted.append((name, bucket, key, is_file))
        self._add_roots([_Root(b, k, f) for _, b, k, f in wanted])
        jobs: list[tuple[str, str, str, int]] = []
        for root in self.roots:
            jobs += self._list(s3, root)
        self._download_all(s3, jobs)
        out = dict(args)
        for name, bucket, key, is_file in wanted:
            local = str(self.local_path(bucket, key.rstrip("/") if not is_file else key))
            if args[name].endswith("/") and not is_file:
                local += "/"
            out[name] = local
        self.seconds = time.monotonic() - started
        return out

    def _add_roots(self, new: list[_Root]) -> None:
        candidates = self.roots + new
        kept: list[_Root] = []
        for r in sorted(candidates, key=lambda r: (r.bucket, r.is_file, len(r.prefix))):
            if any(not k.is_file and k.covers(r.bucket, r.prefix) for k in kept):
                continue
            if any(k.is_file and r.is_file and (k.bucket, k.prefix) == (r.bucket, r.prefix) for k in kept):
                continue
            kept.append(r)
        self.roots = kept

    @staticmethod
    def _is_object(s3: Any, bucket: str, key: str) -> bool:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError:
            return False

    @staticmethod
    def _has_children(s3: Any, bucket: str, key: str) -> bool:
        try:
            got = s3.list_objects_v2(Bucket=bucket, Prefix=key + "/", MaxKeys=1)
        except ClientError:
            return False
        return bool(got.get("KeyCount"))

    def _list(self, s3: Any, root: _Root) -> list[tuple[str, str, str, int]]:
        if root.is_file:
            head = s3.head_object(Bucket=root.bucket, Key=root.prefix)
            self._meta[(root.bucket, root.prefix)] = (int(head["LastModified"].timestamp() * 1000),
                                                      head.get("StorageClass") or "STANDARD")
            return [(root.bucket, root.prefix, head["ETag"].strip('"'), int(head["ContentLength"]))]
        out = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=root.bucket,
                                                                      Prefix=root.prefix):
                for obj in page.get("Contents", []):
                    self._meta[(root.bucket, obj["Key"])] = (
                        int(obj["LastModified"].timestamp() * 1000), obj.get("StorageClass") or "STANDARD")
                    out.append((root.bucket, obj["Key"], obj["ETag"].strip('"'), int(obj["Size"])))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchBucket":
                raise FileNotFoundError(
                    f"bucket {root.bucket!r} of argument s3://{root.bucket}/{root.prefix} does not "
                    f"exist: create it (deploy the stack) or fix the job argument.") from exc
            raise
        return out

    def _download_all(self, s3: Any, jobs: list[tuple[str, str, str, int]]) -> None:
        todo = []
        taken_dirs: set[Path] = set()
        for bucket, key, etag, size in sorted(jobs, key=lambda j: (j[0], j[1])):
            if (bucket, key) in self.manifest:
                continue
            if not _safe_key(key):
                if not key.endswith("/"):  # directory markers are expected; others are odd
                    log.warning("not staging s3://%s/%s: key is not a safe relative path", bucket, key)
                continue
            path = self.local_path(bucket, key)
            taken_dirs.update(path.parents)
            todo.append((bucket, key, etag, size, path))
        # a key that is also a folder (a, a/b): keep the folder, skip the object
        for t in todo:
            if t[4] in taken_dirs:
                log.warning("not staging s3://%s/%s: a folder of the same name exists", t[0], t[1])
        todo = [t for t in todo if t[4] not in taken_dirs]

        def fetch(item: tuple[str, str, str, int, Path]) -> StagedObject:
            bucket, key, etag, size, path = item
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".lakekit-download")
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            with open(tmp, "wb") as fh:
                for chunk in iter(lambda: body.read(1 << 20), b""):
                    fh.write(chunk)
            os.replace(tmp, path)
            st = path.stat()
            lm, sc = self._meta.get((bucket, key), (0, "STANDARD"))
            return StagedObject(bucket, key, etag, size, str(path), (st.st_size, st.st_mtime_ns, st.st_ino),
                                lm, sc)

        if not todo:
            return
        with _futures.ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            for obj in pool.map(fetch, todo):
                self.manifest[(obj.bucket, obj.key)] = obj
                self.bytes_downloaded += obj.size

    # -- the local awsglue library ----------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """``stage.json`` for the library: the stage root, its roots and objects (with LastModified)."""
        return {"root": str(self.root),
                "roots": [{"bucket": r.bucket, "prefix": r.prefix, "is_file": r.is_file} for r in self.roots],
                "objects": [{"bucket": o.bucket, "key": o.key, "path": o.path, "etag": o.etag,
                             "size": o.size, "last_modified": o.last_modified,
                             "storage_class": o.storage_class} for o in self.manifest.values()]}

    def adopt(self, journal: dict[str, Any]) -> None:
        """Take over what the library did in the script: prefixes it downloaded (read roots and
        their objects: unchanged ones are not re-uploaded), prefixes it wrote to, objects it purged."""
        roots = [_Root(r["bucket"], r["prefix"], bool(r.get("is_file")))
                 for r in journal.get("roots", []) + journal.get("write_roots", [])]
        for o in journal.get("objects", []):
            self.manifest.setdefault((o["bucket"], o["key"]), StagedObject(
                o["bucket"], o["key"], o.get("etag", ""), int(o.get("size", 0)), o["path"],
                tuple(o["stat"]), int(o.get("last_modified", 0)), o.get("storage_class", "STANDARD")))
        self._add_roots(roots)
        for uri in journal.get("deletes", []):
            parsed = parse_s3_uri(uri)
            if parsed and parsed[1]:
                self.deletes.append(parsed)

    # -- upload -----------------------------------------------------------------------
    def sync_back(self, s3: Any, workers: int = 4) -> SyncReport:
        """Upload new/changed staged files, delete objects whose staged file is gone.

        Only files under the staged roots count; Spark's ``_SUCCESS``/``.crc``/temporary
        files are ignored and no directory marker objects are written.
        """
        started = time.monotonic()
        report = SyncReport()
        uploads: list[tuple[str, str, Path]] = []
        seen: set[tuple[str, str]] = set()
        for root in self.roots:
            base = self.local_path(root.bucket, "")
            top = self.local_path(root.bucket, root.prefix)
            files = [top] if root.is_file else (
                [p for p in top.rglob("*") if p.is_file() and not p.is_symlink()] if top.is_dir() else [])
            for path in files:
                if not path.exists():
                    continue
                rel = path.relative_to(base)
                if _skipped(rel.parts) or path.name.endswith(".lakekit-download"):
                    continue
                key = rel.as_posix()
                seen.add((root.bucket, key))
                staged = self.manifest.get((root.bucket, key))
                st = path.stat()
                if staged and staged.stat == (st.st_size, st.st_mtime_ns, st.st_ino):
                    report.unchanged += 1
                    continue
                uploads.append((root.bucket, key, path))
        deletes = [(b, k) for (b, k), obj in self.manifest.items()
                   if (b, k) not in seen and not _skipped(tuple(k.split("/")))
                   and any(r.covers(b, k) for r in self.roots)]
        deletes += [d for d in dict.fromkeys(self.deletes) if d not in deletes and d not in seen]

        def put(item: tuple[str, str, Path]) -> int:
            bucket, key, path = item
            size = path.stat().st_size
            if size > 64 * 1024 * 1024:
                from boto3.s3.transfer import TransferConfig

                s3.upload_file(str(path), bucket, key,
                               Config=TransferConfig(multipart_threshold=64 * 1024 * 1024,
                                                     use_threads=False))
            else:
                with open(path, "rb") as fh:
                    s3.put_object(Bucket=bucket, Key=key, Body=fh)
            return size

        if uploads:
            with _futures.ThreadPoolExecutor(max_workers=min(workers, len(uploads))) as pool:
                for (bucket, key, _), size in zip(uploads, pool.map(put, uploads), strict=True):
                    report.uploaded.append(f"s3://{bucket}/{key}")
                    report.bytes_uploaded += size
        by_bucket: dict[str, list[str]] = {}
        for bucket, key in deletes:
            by_bucket.setdefault(bucket, []).append(key)
        for bucket, keys in by_bucket.items():
            for i in range(0, len(keys), 1000):
                chunk = keys[i:i + 1000]
                got = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk],
                                                               "Quiet": True})
                if got.get("Errors"):
                    first = got["Errors"][0]
                    raise RuntimeError(f"deleting s3://{bucket}/{first.get('Key')} failed: "
                                       f"{first.get('Message')}")
                report.deleted += [f"s3://{bucket}/{k}" for k in chunk]
        report.seconds = time.monotonic() - started
        return report


# -- clients ------------------------------------------------------------------------------
def client(endpoint_url: str, service: str, region: str, access_key: str, secret: str = "test",
           session_token: str | None = None) -> Any:
    """A cached loopback boto3 client to the endpoint (no retries)."""
    return endpoint_client(endpoint_url, service, region, access_key, secret, session_token=session_token)


# -- the script process ---------------------------------------------------------------------
@dataclass
class ProcessResult:
    """How the script process ended and what it printed (``(epoch ms, line)`` pairs)."""

    returncode: int
    timed_out: bool
    stopped: bool
    stdout: list[tuple[int, str]]
    stderr: list[tuple[int, str]]
    peak_rss_mb: int
    seconds: float


def _reader(stream: Any, sink: list[tuple[int, str]]) -> None:
    for raw in stream:
        sink.append((int(time.time() * 1000), raw.decode("utf-8", "replace").rstrip("\r\n")))
    stream.close()


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s process group (it leads one: ``start_new_session``), or ``proc`` alone
    when the group is gone or not ours; a process that already exited is no error."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def _group_members(pgid: int) -> list[tuple[str, bytes]]:
    """``(pid, state)`` of every process in group ``pgid`` (``/proc``; zombies included, state ``Z``)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) == pgid:
                members.append((entry.name, fields[0]))
        except (OSError, IndexError, ValueError):
            continue
    return members


def _group_rss_kb(pgid: int) -> int:
    total = 0
    for pid, _state in _group_members(pgid):
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, IndexError, ValueError):
            continue
    return total


# SIGKILL is asynchronous: a killed process (a JVM releasing gigabytes) exits only once it is
# scheduled again. A run is over when no process of its group still runs (zombies count as gone).
_GROUP_EXIT_DEADLINE_SECONDS = 10.0


def _wait_group_gone(pgid: int, deadline_seconds: float = _GROUP_EXIT_DEADLINE_SECONDS) -> bool:
    """Wait until every process of group ``pgid`` has exited; ``False`` if some still run at the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        alive = [pid for pid, state in _group_members(pgid) if state not in (b"Z", b"X")]
        if not alive:
            return True
        if time.monotonic() >= deadline:
            log.warning("process group %d: %s still running %.0fs after SIGKILL",
                           pgid, ", ".join(alive), deadline_seconds)
            return False
        time.sleep(0.02)


# The job dies with the endpoint: PR_SET_PDEATHSIG, set by a tiny exec wrapper in the child.
# Not a preexec_fn: Python code between fork and exec in the multi-threaded endpoint (DuckDB's
# thread pool, reader threads) crashed the child with SIGSEGV.
_DEATHSIG_EXEC = """
import ctypes, os, sys
try:
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG = SIGKILL (Linux)
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(137)  # the parent died before prctl took effect
os.execvp(sys.argv[2], sys.argv[2:])
"""


def _with_deathsig(cmd: list[str]) -> list[str]:
    return [sys.executable, "-c", _DEATHSIG_EXEC, str(os.getpid()), *cmd]


class Spawner:
    """Starts processes from one thread that lives as long as the endpoint (PDEATHSIG)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[_futures.Future, list[str], dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="process-spawner", daemon=True)
                self._thread.start()
        fut: _futures.Future = _futures.Future()
        self._queue.put((fut, cmd, kwargs))
        return fut.result()

    def _run(self) -> None:
        while True:
            fut, cmd, kwargs = self._queue.get()
            try:
                fut.set_result(subprocess.Popen(_with_deathsig(cmd), **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                fut.set_exception(exc)


SPAWNER = Spawner()
"""Starts the processes that outlive the request thread that wants them (Lambda environments,
warm Glue drivers)."""


class RunningProcess:
    """A script process in its own process group; :meth:`stop` kills the whole group."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(_with_deathsig(cmd), cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.stdout: list[tuple[int, str]] = []
        self.stderr: list[tuple[int, str]] = []
        self.stopped = False
        self.peak_kb = 0
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=_reader, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=_reader, args=(self.proc.stderr, self.stderr), daemon=True),
            threading.Thread(target=self._sample, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _sample(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, _group_rss_kb(self.proc.pid))
            if self._done.wait(0.5):
                return

    def kill(self) -> None:
        kill_group(self.proc)

    def stop(self) -> None:
        """Kill the script and everything it started (the JVM); the run becomes STOPPED."""
        self.stopped = True
        self.kill()

    def wait(self, timeout_seconds: float | None) -> ProcessResult:
        timed_out = False
        try:
            self.proc.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            timed_out = not self.stopped
            self.kill()
            self.proc.wait()
        self.kill()  # leftovers of the group (a JVM outliving its driver)
        _wait_group_gone(self.proc.pid)
        self._done.set()
        for t in self._threads:
            t.join(timeout=10)
        return ProcessResult(self.proc.returncode, timed_out, self.stopped, self.stdout, self.stderr,
                             self.peak_kb // 1024, time.monotonic() - self.started)


def run_process(cmd: list[str], env: dict[str, str], cwd: Path,
                timeout_seconds: float | None) -> ProcessResult:
    """Run ``cmd`` in its own process group; kill the group after ``timeout_seconds``.

    >>> import sys
    >>> r = run_process([sys.executable, "-c", "import time; time.sleep(30)"], {}, Path("."), 0.5)
    >>> r.timed_out, r.returncode
    (True, -9)
    """
    return RunningProcess(cmd, env, cwd).wait(timeout_seconds)


_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)|[A-Za-z_][\w.]*)"
                       r"(: .*)?$")


def python_error(stderr: list[tuple[int, str]] | list[str], returncode: int) -> str:
    """The ErrorMessage Glue shows: the script's last exception line, else the exit code.

    >>> python_error(["Traceback (most recent call last):", '  File "x.py", line 1',
    ...               "ValueError: bad input"], 1)
    'ValueError: bad input'
    """
    lines = [ln[1] if isinstance(ln, tuple) else ln for ln in stderr]
    last_tb = max((i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call last)")),
                  default=None)
    if last_tb is not None:
        for ln in lines[last_tb + 1:]:
            if ln and not ln.startswith((" ", "\t")) and _EXC_LINE.match(ln):
                message = ln
                # a multi-line exception message: keep its first line only
                return message[:2000]
    tail = next((ln for ln in reversed(lines) if ln.strip()), "")
    why = f"killed by signal {signal.Signals(-returncode).name}" if returncode < 0 else \
        f"exit code {returncode}"
    return f"Command failed with {why}" + (f": {tail.strip()[:1000]}" if tail else "")


# -- CloudWatch Logs ------------------------------------------------------------------------
# -- credentials ----------------------------------------------------------------------------
