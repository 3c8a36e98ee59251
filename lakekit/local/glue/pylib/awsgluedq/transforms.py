"""``awsgluedq.transforms.EvaluateDataQuality`` as Glue 5.0 scripts call it (local runner only).

* ``EvaluateDataQuality.apply(frame, ruleset, publishing_options={...})`` -> a DynamicFrame of rule
  outcomes with columns ``Rule``, ``Outcome`` (``Passed``/``Failed``), ``FailureReason``,
  ``EvaluatedMetrics`` (map<string,double>) - the schema the Glue developer guide prints;
* ``EvaluateDataQuality().process_rows(frame, ruleset, publishing_options, additional_options)`` ->
  a DynamicFrameCollection with ``ruleOutcomes`` and ``rowLevelOutcomes`` (the input columns plus
  ``DataQualityRulesPass`` / ``DataQualityRulesFail`` / ``DataQualityRulesSkip`` arrays of rule texts
  and ``DataQualityEvaluationResult``);
* ``additional_data_sources={"alias": dynamic_frame}`` for ReferentialIntegrity.

Publishing options (defaults as documented): ``dataQualityEvaluationContext`` (``default_context``),
``enableDataQualityResultsPublishing`` (True): the result is written as JSON into
``$LAKEKIT_GLUE_DQ_DIR`` and the local Glue runner stores it when the run ends (GetDataQualityResult
/ ListDataQualityResults read it); ``enableDataQualityCloudWatchMetrics`` (False): the job's role
puts ``glue.data.quality.rules.passed`` / ``.failed`` into the ``Glue Data Quality`` namespace.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql import types as T

from . import dqdl
from .evaluator import FAILED, PASSED, Outcome, evaluate, row_level

__all__ = ["EvaluateDataQuality", "DQ_DIR_ENV"]

log = logging.getLogger(__name__)

DQ_DIR_ENV = "LAKEKIT_GLUE_DQ_DIR"
METRICS_NAMESPACE = "Glue Data Quality"
_OUTCOME_SCHEMA = T.StructType([
    T.StructField("Rule", T.StringType(), True),
    T.StructField("Outcome", T.StringType(), True),
    T.StructField("FailureReason", T.StringType(), True),
    T.StructField("EvaluatedMetrics", T.MapType(T.StringType(), T.DoubleType(), True), True),
])
_KNOWN_ADDITIONAL = {"performanceTuning.caching", "dataQualityResultsPublishing.strategy",
                     "observations.scope", "compositeRuleEvaluation.method"}


def _dynamic_frame_classes() -> tuple[Any, Any]:
    from awsglue import dynamicframe

    collection = getattr(dynamicframe, "DynamicFrameCollection", None) or _Collection
    return dynamicframe.DynamicFrame, collection


class _Collection:
    """Fallback DynamicFrameCollection (``keys``/``values``/``select``/``[]``) if awsglue lacks one."""

    def __init__(self, dynamic_frames: dict[str, Any], glue_ctx: Any) -> None:
        self._frames = dict(dynamic_frames)
        self.glue_ctx = glue_ctx

    def __getitem__(self, key: str) -> Any:
        return self._frames[key]

    def __len__(self) -> int:
        return len(self._frames)

    def keys(self) -> Any:
        return self._frames.keys()

    def values(self) -> Any:
        return self._frames.values()

    def select(self, key: str, transformation_ctx: str = "") -> Any:
        return self._frames[key]


def _argv_value(name: str) -> str | None:
    argv = sys.argv
    for i, a in enumerate(argv):
        if a == f"--{name}" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class EvaluateDataQuality:
    """Evaluates a DQDL ruleset against a DynamicFrame (see the module docstring)."""

    @classmethod
    def apply(cls, frame: Any, ruleset: str, publishing_options: dict[str, Any] | None = None,
              additional_data_sources: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return cls()(frame, ruleset, publishing_options, additional_data_sources, **kwargs)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    def __call__(self, frame: Any, ruleset: str, publishing_options: dict[str, Any] | None = None,
                 additional_data_sources: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        outcomes, started, df = self._evaluate(frame, ruleset, additional_data_sources, {})
        self._publish(outcomes, publishing_options or {}, started, None)
        dynamic_frame, _ = _dynamic_frame_classes()
        return dynamic_frame.fromDF(self._outcomes_df(df, outcomes), frame.glue_ctx, "ruleOutcomes")

    def process_rows(self, frame: Any, ruleset: str, publishing_options: dict[str, Any] | None = None,
                     additional_options: dict[str, Any] | None = None,
                     additional_data_sources: dict[str, Any] | None = None) -> Any:
        options = dict(additional_options or {})
        outcomes, started, df = self._evaluate(frame, ruleset, additional_data_sources, options)
        rows = row_level(df, outcomes)
        if str(options.get("performanceTuning.caching", "")).upper() == "CACHE_INPUT":
            rows = rows.cache()
        counts = rows.groupBy("DataQualityEvaluationResult").count().collect()
        by = {r[0]: int(r[1]) for r in counts}
        aggregated = {
            "TotalRowsProcessed": float(sum(by.values())), "TotalRowsPassed": float(by.get(PASSED, 0)),
            "TotalRowsFailed": float(by.get(FAILED, 0)), "TotalRulesProcessed": float(len(outcomes)),
            "TotalRulesPassed": float(sum(o.outcome == PASSED for o in outcomes)),
            "TotalRulesFailed": float(sum(o.outcome == FAILED for o in outcomes)),
        }
        self._publish(outcomes, publishing_options or {}, started, aggregated)
        dynamic_frame, collection = _dynamic_frame_classes()
        glue_ctx = frame.glue_ctx
        return collection({
            "ruleOutcomes": dynamic_frame.fromDF(self._outcomes_df(df, outcomes), glue_ctx, "ruleOutcomes"),
            "rowLevelOutcomes": dynamic_frame.fromDF(rows, glue_ctx, "rowLevelOutcomes"),
        }, glue_ctx)

    # -- internals -------------------------------------------------------------------------
    def _evaluate(self, frame: Any, ruleset: str, sources: dict[str, Any] | None,
                  options: dict[str, Any]) -> tuple[list[Outcome], float, Any]:
        unknown = set(options) - _KNOWN_ADDITIONAL
        if unknown:
            log.warning("EvaluateDataQuality: additional_options %s are not known locally; ignored",
                        sorted(unknown))
        if str(options.get("compositeRuleEvaluation.method", "DATASET")).upper() == "ROW":
            raise dqdl.UnsupportedDataQualityRuleError(
                "additional_options compositeRuleEvaluation.method=ROW is valid on AWS Glue but the "
                "local Glue runner evaluates composite rules per dataset only; remove the option for "
                "local runs or run the job on AWS.")
        started = time.time()
        parsed = dqdl.parse(ruleset)
        df = frame.toDF()
        refs = {alias: (src.toDF() if hasattr(src, "toDF") else src)
                for alias, src in (sources or {}).items()}
        return evaluate(df, parsed.rules, refs), started, df

    @staticmethod
    def _outcomes_df(df: Any, outcomes: list[Outcome]) -> Any:
        rows = [(o.rule.text, o.outcome, o.failure_reason, dict(o.metrics)) for o in outcomes]
        return df.sparkSession.createDataFrame(rows, _OUTCOME_SCHEMA)

    @staticmethod
    def _publish(outcomes: list[Outcome], options: dict[str, Any], started: float,
                 aggregated: dict[str, float] | None) -> None:
        context = str(options.get("dataQualityEvaluationContext") or "default_context")
        passed = sum(o.outcome == PASSED for o in outcomes)
        failed = len(outcomes) - passed
        if _bool(options.get("enableDataQualityResultsPublishing"), True):
            _write_result(outcomes, context, started, aggregated)
        if _bool(options.get("enableDataQualityCloudWatchMetrics"), False):
            _put_metrics(context, passed, failed)
        if options.get("resultsS3Prefix"):
            log.warning("EvaluateDataQuality: resultsS3Prefix %r: the local Glue runner does not write "
                        "result files to S3 (read the results with GetDataQualityResult)",
                        options["resultsS3Prefix"])


def rule_results(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Outcomes in the GetDataQualityResult ``RuleResults`` shape (``Rule_1``, ``Rule_2``...)."""
    out = []
    for i, o in enumerate(outcomes, 1):
        item: dict[str, Any] = {"Name": f"Rule_{i}", "Description": o.rule.text,
                                "Result": "PASS" if o.outcome == PASSED else "FAIL",
                                "EvaluatedMetrics": dict(o.metrics)}
        if o.failure_reason:
            item["EvaluationMessage"] = o.failure_reason[:2048]
        labels = getattr(o.rule, "labels", None)
        if labels:
            item["Labels"] = dict(labels)
        out.append(item)
    return out


def _write_result(outcomes: list[Outcome], context: str, started: float,
                  aggregated: dict[str, float] | None) -> None:
    folder = os.environ.get(DQ_DIR_ENV)
    if not folder:
        log.warning("EvaluateDataQuality: %s is not set (not inside the local Glue runner): the "
                    "result is not published", DQ_DIR_ENV)
        return
    doc: dict[str, Any] = {
        "EvaluationContext": context, "StartedOn": started, "CompletedOn": time.time(),
        "Score": (sum(o.outcome == PASSED for o in outcomes) / len(outcomes)) if outcomes else 1.0,
        "RuleResults": rule_results(outcomes),
    }
    if aggregated is not None:
        doc["AggregatedMetrics"] = aggregated
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
    tmp = path / f".{name}.tmp"
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    tmp.rename(path / name)


def _put_metrics(context: str, passed: int, failed: int) -> None:
    """CloudWatch metrics with the job's role (the role needs cloudwatch:PutMetricData)."""
    import boto3

    dims = [{"Name": "EvaluationContext", "Value": context}]
    job = _argv_value("JOB_NAME")
    if job:
        dims.insert(0, {"Name": "JobName", "Value": job})
    try:
        boto3.client("cloudwatch").put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=[
            {"MetricName": "glue.data.quality.rules.passed", "Dimensions": dims, "Value": float(passed),
             "Unit": "Count"},
            {"MetricName": "glue.data.quality.rules.failed", "Dimensions": dims, "Value": float(failed),
             "Unit": "Count"},
        ])
    except Exception as exc:  # publishing is best effort, as Glue's; the evaluation stands
        print(f"EvaluateDataQuality: publishing CloudWatch metrics to {METRICS_NAMESPACE!r} failed: "
              f"{exc}", file=sys.stderr)
