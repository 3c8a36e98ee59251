"""S3 inside a local Glue job: every read and write goes through the run's *stage*.

The local Glue runner (``lakekit/local/glue/jobrunner.py``) downloads the job's ``s3://``
arguments into ``<work>/stage/<bucket>/<key>`` and syncs that folder back only when the script
succeeds. A script also names ``s3://`` paths in code; :class:`StageView` maps them onto the same
stage: a prefix the stage does not hold yet is listed and downloaded with the job role's
credentials (``AWS_*`` of the script process), a write lands in the stage, a purge is journaled.
The runner adopts the journal after a successful run (uploads, deletes); a failed run leaves S3
untouched.

Files shared with the runner, in ``$LAKEKIT_GLUE_RUNTIME`` (written by the runner / by us)::

    stage.json     {"root": ".../stage", "roots": [{"bucket","prefix","is_file"}],
                    "objects": [{"bucket","key","path","etag","size","last_modified","storage_class"}]}
    journal.json   {"roots": [...read...], "write_roots": [...], "objects": [...downloaded, +"stat"],
                    "deletes": ["s3://b/k", ...]}
"""
from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["S3Object", "StageView", "parse_s3", "runtime_dir", "glob_to_regex"]

log = logging.getLogger(__name__)

_S3_URI = re.compile(r"^s3[an]?://(?P<bucket>[A-Za-z0-9][A-Za-z0-9.\-_]{1,254})(?:/(?P<key>.*))?$")


def parse_s3(value: str) -> tuple[str, str] | None:
    """``s3://bucket/key`` -> ``("bucket", "key")``; None for anything else."""
    m = _S3_URI.match(value.strip()) if isinstance(value, str) else None
    return (m.group("bucket"), m.group("key") or "") if m else None


def runtime_dir() -> Path | None:
    value = os.environ.get("LAKEKIT_GLUE_RUNTIME")
    return Path(value) if value else None


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Glue's ``exclusions`` globs: ``**`` crosses ``/``, ``*`` and ``?`` do not.

    >>> bool(glob_to_regex("**.pdf").match("s3://b/a/c.pdf")), bool(glob_to_regex("*.pdf").match("a/c.pdf"))
    (True, False)
    """
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = pattern.find("]", i)
            if j < 0:
                out += re.escape(c)
            else:
                out += fnmatch.translate(pattern[i:j + 1])[4:-3]
                i = j
        elif c == "{":
            j = pattern.find("}", i)
            if j < 0:
                out += re.escape(c)
            else:
                out += "(" + "|".join(re.escape(p) for p in pattern[i + 1:j].split(",")) + ")"
                i = j
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


@dataclass
class S3Object:
    """One S3 object as the stage holds it (``last_modified``: epoch milliseconds)."""

    bucket: str
    key: str
    path: str
    etag: str = ""
    size: int = 0
    last_modified: int = 0
    storage_class: str = "STANDARD"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _hidden(key: str, prefix: str) -> bool:
    """Hadoop's hidden-file rule (``_SUCCESS``, ``.crc``, ``_temporary/``): names starting ``_``/``.``."""
    rel = key[len(prefix):] if key.startswith(prefix) else key
    return any(p.startswith(("_", ".")) for p in rel.split("/") if p) or key.endswith(".lakekit-download")


class StageView:
    """The run's stage as the script sees it (see the module docstring)."""

    def __init__(self, runtime: Path | None = None) -> None:
        self.runtime = runtime if runtime is not None else runtime_dir()
        data: dict[str, Any] = {}
        if self.runtime is not None and (self.runtime / "stage.json").exists():
            data = json.loads((self.runtime / "stage.json").read_text())
        root = data.get("root") or (str(self.runtime / "stage") if self.runtime else
                                    tempfile.mkdtemp(prefix="awsglue-stage-"))
        self.root = Path(root)
        self.roots: list[dict[str, Any]] = list(data.get("roots", []))
        self.objects: dict[tuple[str, str], S3Object] = {}
        for o in data.get("objects", []):
            obj = S3Object(**{k: o[k] for k in S3Object.__dataclass_fields__ if k in o})
            self.objects[(obj.bucket, obj.key)] = obj
        self.journal: dict[str, list[Any]] = {"roots": [], "write_roots": [], "objects": [], "deletes": []}
        self._s3: Any = None

    # -- paths ----------------------------------------------------------------------
    def local_path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key if key else self.root / bucket

    def to_s3(self, path: str) -> tuple[str, str] | None:
        """An ``s3://`` URI or a stage path (what the runner rewrote an argument to) -> (bucket, key)."""
        parsed = parse_s3(path)
        if parsed is not None:
            return parsed
        local = path[len("file://"):] if path.startswith("file://") else path
        base = str(self.root).rstrip("/") + "/"
        if local.startswith(base):
            rest = local[len(base):]
            bucket, _, key = rest.partition("/")
            return bucket, key
        return None

    def client(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    # -- reading ----------------------------------------------------------------------
    def _covered(self, bucket: str, key: str) -> bool:
        for r in self.roots + self.journal["roots"]:
            if r["bucket"] != bucket:
                continue
            if (key == r["prefix"]) if r.get("is_file") else key.startswith(r["prefix"]):
                return True
        return False

    def list(self, path: str, recurse: bool = False) -> list[S3Object]:
        """The objects under ``path`` (a prefix, or one object), hidden files left out, key order.

        ``recurse=False`` (Glue's default) keeps only the objects directly under the prefix.
        """
        loc = self.to_s3(path)
        if loc is None:
            raise ValueError(f"{path!r} is not an s3:// path: Glue's connection_type 's3' reads "
                             f"s3://bucket/prefix/ paths; fix connection_options['paths'].")
        bucket, key = loc
        if key and not key.endswith("/"):
            one = self.objects.get((bucket, key))
            if one is None and not self._covered(bucket, key) and not self._covered(bucket, key + "/"):
                self._download_prefix(bucket, key, exact=True)
                one = self.objects.get((bucket, key))
            if one is not None:
                return [one]
            key += "/"
        if not self._covered(bucket, key):
            self._download_prefix(bucket, key)
        out = []
        for (b, k), obj in sorted(self.objects.items()):
            if b != bucket or not k.startswith(key) or k.endswith("/") or _hidden(k, key):
                continue
            if not recurse and "/" in k[len(key):]:
                continue
            if Path(obj.path).exists():
                out.append(obj)
        return out

    def _download_prefix(self, bucket: str, prefix: str, exact: bool = False) -> None:
        from botocore.exceptions import ClientError

        s3 = self.client()
        found: list[dict[str, Any]] = []
        if exact:
            try:
                head = s3.head_object(Bucket=bucket, Key=prefix)
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    return
                raise
            found.append({"Key": prefix, "ETag": head.get("ETag", ""), "Size": head["ContentLength"],
                          "LastModified": head["LastModified"],
                          "StorageClass": head.get("StorageClass", "STANDARD")})
        else:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                found += page.get("Contents", [])
        for o in found:
            key = o["Key"]
            if key.endswith("/") or (bucket, key) in self.objects:
                continue
            path = self.local_path(bucket, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".lakekit-download")
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            with open(tmp, "wb") as fh:
                while chunk := body.read(1 << 20):
                    fh.write(chunk)
            os.replace(tmp, path)
            st = path.stat()
            obj = S3Object(bucket, key, str(path), o.get("ETag", "").strip('"'), int(o["Size"]),
                           int(o["LastModified"].timestamp() * 1000), o.get("StorageClass") or "STANDARD")
            self.objects[(bucket, key)] = obj
            self.journal["objects"].append({**asdict(obj), "stat": [st.st_size, st.st_mtime_ns, st.st_ino]})
        self.journal["roots"].append({"bucket": bucket, "prefix": prefix, "is_file": exact})
        self.save()

    def objects_under(self, bucket: str, prefix: str) -> list[S3Object]:
        """Everything S3 holds under ``prefix`` (listed now, not staged) - for purge."""
        s3 = self.client()
        out = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out.append(S3Object(bucket, o["Key"], str(self.local_path(bucket, o["Key"])),
                                    o.get("ETag", "").strip('"'), int(o["Size"]),
                                    int(o["LastModified"].timestamp() * 1000),
                                    o.get("StorageClass") or "STANDARD"))
        return out

    # -- writing ----------------------------------------------------------------------
    def write_dir(self, path: str) -> Path:
        """The stage folder a write to ``path`` goes to (uploaded when the run succeeds)."""
        loc = self.to_s3(path)
        if loc is None:
            raise ValueError(f"{path!r} is not an s3:// path: connection_type 's3' writes to "
                             f"s3://bucket/prefix/; fix connection_options['path'].")
        bucket, key = loc
        if key and not key.endswith("/"):
            key += "/"
        if not self._covered(bucket, key):
            self.journal["write_roots"].append({"bucket": bucket, "prefix": key, "is_file": False})
            self.save()
        out = self.local_path(bucket, key.rstrip("/"))
        out.mkdir(parents=True, exist_ok=True)
        return out

    def delete(self, obj: S3Object) -> None:
        """Journal ``obj`` for deletion (the runner deletes it when the run succeeds)."""
        self.journal["deletes"].append(obj.uri)
        staged = self.objects.pop((obj.bucket, obj.key), None)
        if staged is not None:
            Path(staged.path).unlink(missing_ok=True)
        self.save()

    def save(self) -> None:
        if self.runtime is None:
            return
        tmp = self.runtime / "journal.json.tmp"
        tmp.write_text(json.dumps(self.journal))
        os.replace(tmp, self.runtime / "journal.json")
