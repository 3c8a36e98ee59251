"""Glue Data Quality results of local job runs: the store and GetDataQualityResult & co.

A job script's ``EvaluateDataQuality`` (the local ``awsgluedq``, see
``lakekit/local/glue/pylib/awsgluedq``) writes one JSON file per evaluation into
``$LAKEKIT_GLUE_DQ_DIR`` (a folder of the run's work dir); when the run ends - in any final state,
as on AWS where a result is published when the evaluation completes, not when the job does - the
runner calls :func:`ingest_results`, which gives each a ``ResultId`` (``dqresult-`` + 40 hex) and
keeps it in the persisted store ``glue.dq_results`` (survives endpoint restarts).

Operations (shapes of the botocore model ``glue/2017-03-31``):

* ``GetDataQualityResult`` (``ResultId``) -> the DataQualityResult fields; unknown id ->
  ``EntityNotFoundException``;
* ``ListDataQualityResults`` (``Filter``: JobName, JobRunId, DataSource, StartedAfter,
  StartedBefore; ``MaxResults`` 1..1000, ``NextToken``) -> ``Results`` of DataQualityResultDescription,
  newest first;
* ``BatchGetDataQualityResult`` (``ResultIds``, 1..100) -> ``Results`` + ``ResultsNotFound``.

IAM: ``glue:GetDataQualityResult`` (also for BatchGetDataQualityResult, as the Glue DQ
authorization page documents) and ``glue:ListDataQualityResults``.

Example::

    glue.list_data_quality_results(Filter={"JobName": "lakekit-etl"})["Results"][0]["ResultId"]
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from lakekit.local import runtime
from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, operation

__all__ = ["RESULTS", "DQ_DIR_ENV", "ingest_results", "results_dir"]

log = logging.getLogger(__name__)

RESULTS = store("glue.dq_results")
"""ResultId -> DataQualityResult fields plus private ``_account`` / ``_region``."""
DQ_DIR_ENV = "LAKEKIT_GLUE_DQ_DIR"
_LOCK = threading.Lock()
_RESULT_FIELDS = ("ResultId", "Score", "DataSource", "RulesetName", "EvaluationContext", "StartedOn",
                  "CompletedOn", "JobName", "JobRunId", "RulesetEvaluationRunId", "RuleResults",
                  "AnalyzerResults", "Observations", "AggregatedMetrics")
_CONTEXT = re.compile(r"[A-Za-z0-9_-]*")


def results_dir(work: Path) -> Path:
    """The folder of a run's work dir that ``$LAKEKIT_GLUE_DQ_DIR`` names."""
    return Path(work) / "dq-results"


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _record(doc: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for i, r in enumerate(doc.get("RuleResults") or [], 1):
        item = {"Name": str(r.get("Name") or f"Rule_{i}"), "Description": str(r.get("Description", "")),
                "Result": r.get("Result") if r.get("Result") in ("PASS", "FAIL", "ERROR") else "ERROR",
                "EvaluatedMetrics": {str(k): float(v) for k, v in (r.get("EvaluatedMetrics") or {}).items()
                                     if _num(v) is not None}}
        if r.get("EvaluationMessage"):
            item["EvaluationMessage"] = str(r["EvaluationMessage"])[:2048]
        if r.get("Labels"):
            item["Labels"] = {str(k): str(v) for k, v in r["Labels"].items()}
        rules.append(item)
    context = str(doc.get("EvaluationContext") or "default_context")
    rec: dict[str, Any] = {
        "ResultId": "dqresult-" + secrets.token_hex(20),
        "Score": max(0.0, min(1.0, _num(doc.get("Score")) or 0.0)),
        "EvaluationContext": context if _CONTEXT.fullmatch(context) else re.sub(r"[^A-Za-z0-9_-]", "_", context),
        "StartedOn": _num(doc.get("StartedOn")) or run.get("StartedOn"),
        "CompletedOn": _num(doc.get("CompletedOn")) or run.get("CompletedOn"),
        "JobName": run.get("JobName"), "JobRunId": run.get("Id"), "RuleResults": rules,
        "_account": run.get("_account"), "_region": run.get("_region"),
    }
    if isinstance(doc.get("AggregatedMetrics"), dict):
        rec["AggregatedMetrics"] = {k: float(v) for k, v in doc["AggregatedMetrics"].items()
                                    if _num(v) is not None}
    if isinstance(doc.get("DataSource"), dict):
        rec["DataSource"] = doc["DataSource"]
    return rec


def publish_allowed(account: str, region: str, role_arn: str) -> str | None:
    """None when the job's role may publish Data Quality results (``glue:PublishDataQuality``,
    "Configure IAM permissions for AWS Glue Data Quality"), else AWS's denial text."""
    from lakekit.local.iam import enforce, principals
    from lakekit.local.iam.actions import Check

    if not enforce.is_strict():
        return None
    role = principals._role_by_arn(account, role_arn) if role_arn else None
    if role is None:
        return f"role {role_arn or '(none)'} does not exist"
    who = principals.Principal(kind="role", arn=f"arn:aws:sts::{account}:assumed-role/{role.name}/GlueJobRunnerSession",
                               account=account, policies=principals.role_policies(role), role_arn=role_arn)
    try:
        enforce.authorize_check(who, Check("glue:PublishDataQuality",
                                           f"arn:aws:glue:{region}:{account}:dataQualityRuleset/*"), region)
    except enforce.Denied as denied:
        return denied.message
    return None


def ingest_results(run: dict[str, Any], folder: Path, role_arn: str | None = None) -> list[str]:
    """Store the results a run's script wrote into ``folder``; returns their ResultIds.

    ``run`` is the job run record (``Id``, ``JobName``, ``StartedOn``, ``_account``, ``_region``).
    Unreadable files are skipped with a warning (publishing is best effort, as in Glue). With
    ``role_arn`` (the job's role) the results are published only if that role may
    (:func:`publish_allowed`); otherwise they are dropped and the denial logged.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    if role_arn is not None and any(folder.glob("*.json")):
        denied = publish_allowed(run.get("_account", ""), run.get("_region", ""), role_arn)
        if denied:
            log.warning("glue job run %s: data quality results not published: %s", run.get("Id"), denied)
            return []
    ids = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            rec = _record(doc, run)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("data quality result %s of run %s is unreadable (%s); skipped", path.name,
                        run.get("Id"), exc)
            continue
        with runtime.state_lock().shared():
            with _LOCK:
                RESULTS[rec["ResultId"]] = rec
        ids.append(rec["ResultId"])
    if ids:
        log.info("glue job run %s published %d data quality result(s): %s", run.get("Id"), len(ids),
                 ", ".join(ids))
    return ids


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: rec[k] for k in _RESULT_FIELDS if rec.get(k) is not None}


def _mine(req: AwsRequest, rec: dict[str, Any] | None) -> bool:
    return rec is not None and rec.get("_account") == req.account_id and rec.get("_region") == req.region


def _not_found(result_id: str) -> AwsError:
    return AwsError("EntityNotFoundException",
                    f"Cannot find Data Quality result with id {result_id}: use a ResultId that "
                    f"ListDataQualityResults returns (results are kept per account and region).")


def _result_id(value: Any, field: str = "ResultId") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise AwsError("InvalidInputException",
                       f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
                       f"Member must have length between 1 and 255")
    return value


@operation("glue", "GetDataQualityResult")
def get_data_quality_result(req: AwsRequest) -> dict[str, Any]:
    result_id = _result_id(req.params.get("ResultId"))
    rec = RESULTS.get(result_id)
    if not _mine(req, rec):
        raise _not_found(result_id)
    return _public(rec)  # type: ignore[arg-type]


@operation("glue", "BatchGetDataQualityResult")
def batch_get_data_quality_result(req: AwsRequest) -> dict[str, Any]:
    ids = req.params.get("ResultIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise AwsError("InvalidInputException",
                       "1 validation error detected: Value at 'resultIds' failed to satisfy constraint: "
                       "Member must have length between 1 and 100")
    found, missing = [], []
    for i, rid in enumerate(ids):
        _result_id(rid, f"resultIds.{i + 1}.member")
        rec = RESULTS.get(rid)
        if _mine(req, rec):
            found.append(_public(rec))  # type: ignore[arg-type]
        else:
            missing.append(rid)
    out: dict[str, Any] = {"Results": found}
    if missing:
        out["ResultsNotFound"] = missing
    return out


def _epoch(value: Any, field: str) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass
    raise AwsError("InvalidInputException", f"Filter.{field} is not a timestamp: {value!r}")


def _matches(rec: dict[str, Any], flt: dict[str, Any]) -> bool:
    if flt.get("JobName") and rec.get("JobName") != flt["JobName"]:
        return False
    if flt.get("JobRunId") and rec.get("JobRunId") != flt["JobRunId"]:
        return False
    started = float(rec.get("StartedOn") or 0)
    if flt.get("StartedAfter") is not None and not started > _epoch(flt["StartedAfter"], "StartedAfter"):
        return False
    if flt.get("StartedBefore") is not None and not started < _epoch(flt["StartedBefore"], "StartedBefore"):
        return False
    if flt.get("DataSource"):
        want = (flt["DataSource"] or {}).get("GlueTable") or {}
        have = (rec.get("DataSource") or {}).get("GlueTable") or {}
        if not have or any(have.get(k) != want.get(k) for k in ("DatabaseName", "TableName")):
            return False
    if flt.get("EvaluationRunMode") or flt.get("DataQualityEvaluationConfig"):
        return False  # ETL-job results come from no evaluation run and match neither value
    return True


@operation("glue", "ListDataQualityResults")
def list_data_quality_results(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    flt = p.get("Filter") or {}
    size = p.get("MaxResults")
    if size is not None and (not isinstance(size, int) or not 1 <= size <= 1000):
        raise AwsError("InvalidInputException",
                       "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: "
                       "Member must have value between 1 and 1000")
    size = size or 100
    rows = sorted((r for r in RESULTS.values() if _mine(req, r) and _matches(r, flt)),
                  key=lambda r: (float(r.get("StartedOn") or 0), r["ResultId"]), reverse=True)
    token = p.get("NextToken")
    offset = 0
    if token:
        try:
            offset = int(str(token).removeprefix("dq-"))
        except ValueError:
            raise AwsError("InvalidInputException",
                           "Invalid NextToken: pass the NextToken the previous "
                           "ListDataQualityResults response returned.") from None
    page = rows[offset:offset + size]
    out: dict[str, Any] = {"Results": [
        {k: r[k] for k in ("ResultId", "DataSource", "JobName", "JobRunId", "StartedOn") if r.get(k)}
        for r in page]}
    if offset + size < len(rows):
        out["NextToken"] = f"dq-{offset + size}"
    return out
