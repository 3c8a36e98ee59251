"""Athena query result reuse (``ResultReuseConfiguration.ResultReuseByAgeConfiguration``).

As the Athena user guide ("Reuse query results") documents it, a query that enables reuse is
answered from the latest previous execution when all of these hold:

- same workgroup, exact same query string (and execution parameters), same database and catalog;
- same result configuration (output location, encryption, bucket owner, ACL);
- the previous execution SUCCEEDED no longer ago than ``MaxAgeInMinutes`` (default 60, at most
  10080 = 7 days);
- the statement is a SELECT (or EXECUTE of one) without non-deterministic parts (``rand()``,
  ``shuffle()``, ``LIMIT`` without ``ORDER BY``...), not in a managed-results workgroup;
- neither execution read a table with Lake Formation row or column filters;
- the caller may read every table of the query, the previous result file still exists and the
  caller may read it (``s3:GetObject``, and ``kms:Decrypt`` for SSE-KMS, under strict IAM).

Changed source data does not invalidate a reusable result (Athena does not look). A reused execution
scans nothing (``DataScannedInBytes`` 0), reports ``ResultReuseInformation.ReusedPreviousResult``
true and points its ``OutputLocation`` at the previous result file.

Example::

    key = reuse_key("wg", "SELECT 1", [], "db", "AwsDataCatalog", {"OutputLocation": "s3://r/"})
    minutes = max_age({"ResultReuseByAgeConfiguration": {"Enabled": True}})   # 60
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.registry import AwsError

__all__ = ["DEFAULT_MAX_AGE", "MAX_AGE_LIMIT", "max_age", "reuse_key", "candidates", "accessible",
           "result_readable"]

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 60
MAX_AGE_LIMIT = 10080


def max_age(cfg: dict[str, Any] | None) -> int | None:
    """Minutes a reused result may be old, or None when the request does not enable reuse.

    Raises Athena's validation error for a ``MaxAgeInMinutes`` outside 0..10080."""
    by_age = (cfg or {}).get("ResultReuseByAgeConfiguration") or {}
    minutes = by_age.get("MaxAgeInMinutes")
    if minutes is not None and not 0 <= int(minutes) <= MAX_AGE_LIMIT:
        raise AwsError("InvalidRequestException", (
            f"1 validation error detected: Value '{minutes}' at 'resultReuseConfiguration."
            "resultReuseByAgeConfiguration.maxAgeInMinutes' failed to satisfy constraint: Member must have "
            f"value {'less' if int(minutes) > 0 else 'greater'} than or equal to "
            f"{MAX_AGE_LIMIT if int(minutes) > 0 else 0}"), 400)
    if not by_age.get("Enabled"):
        return None
    return DEFAULT_MAX_AGE if minutes is None else int(minutes)


def reuse_key(work_group: str, query: str, params: list[str], database: str | None, catalog: str | None,
              result_cfg: dict[str, Any]) -> str:
    """What two executions must share for one to answer the other."""
    return json.dumps([work_group, query, list(params), (database or "default").lower(),
                       (catalog or "AwsDataCatalog").lower(), result_cfg], sort_keys=True, default=str)


def candidates(records: Iterable[tuple[str, dict[str, Any]]], key: str, account: str, region: str,
               since: float) -> list[tuple[str, dict[str, Any]]]:
    """Previous executions that may be reused, newest first (completed at or after ``since``)."""
    found = []
    for qid, rec in records:
        if rec.get("_reuse_key") != key or not rec.get("_reusable") or rec.get("_result") is None:
            continue
        if rec.get("_account") != account or rec.get("_region") != region:
            continue
        st = rec["Status"]
        if st["State"] != "SUCCEEDED" or st.get("CompletionDateTime", 0) < since:
            continue
        found.append((qid, rec))
    found.sort(key=lambda item: item[1]["Status"]["CompletionDateTime"], reverse=True)
    return found


def result_readable(account: str, region: str, access_key: str, bucket: str, key: str) -> bool:
    """Whether the caller may read the previous result file (``s3:GetObject`` on it, and
    ``kms:Decrypt`` when it is SSE-KMS encrypted) - Athena reuses a result only for a caller with
    "access to the S3 file location where the previous result is stored". Strict IAM only."""
    from lakekit.local.iam import enforce, principals
    from lakekit.local.iam.actions import Check, s3_object_arn

    who = principals.resolve(access_key, account)
    if who is None or who.is_admin:
        return True
    try:
        enforce.authorize_check(who, Check("s3:GetObject", s3_object_arn(bucket, key), {}, "s3", bucket), region)
        kc = enforce.object_kms_check(account, region, bucket, key)
        if kc is not None:
            enforce.authorize_check(who, kc, region)
    except enforce.Denied as d:
        log.info("no reuse of s3://%s/%s for %s: %s", bucket, key, who.arn, d.message)
        return False
    return True


def accessible(prev: dict[str, Any], access_key: str, glue: Callable[[], Any],
               hook: Callable[[str, str], Any] | None, result_exists: Callable[[], bool],
               result_readable: Callable[[], bool] | None = None) -> bool:
    """Whether the caller may be answered with ``prev``'s result: the file is still there, the
    caller may read it (``result_readable``, strict IAM) and every table ``prev`` read, without
    Lake Formation filters."""
    from lakekit.local.athena import AccessDeniedError

    if not result_exists():
        return False
    if result_readable is not None and not result_readable():
        return False
    tables = [tuple(t) for t in prev.get("_tables") or []]
    if access_key != prev.get("_access_key"):
        client = glue()
        for db, name in tables:
            try:
                client.get_table(DatabaseName=db, Name=name)
            except ClientError as exc:
                log.debug("no reuse of %s: %s", prev.get("QueryExecutionId"), exc)
                return False
    if hook is not None:
        for db, name in tables:
            try:
                ta = hook(db, name)
            except AccessDeniedError:
                return False
            if ta is not None and (ta.columns is not None or ta.row_filter):
                return False
    return True
