"""Who may put the pipeline's custom metrics (namespace ``lakekit``), per the data lake template.

The Glue ETL job publishes RowsIn / RowsOut / RowsRejected / DqFailures with PutMetricData, so
its role's JobMetrics statement must allow the ``lakekit`` namespace besides ``Glue``; the
ingest Lambda needs no cloudwatch permission at all (Embedded Metric Format via its logs).
"""
from __future__ import annotations

from cfnlint.decode import decode_str

from lakekit import pipeline
from lakekit.deploy import TEMPLATE
from lakekit.local.iam.policy import ALLOW, NEUTRAL, Request, evaluate


def _role_with(sid: str) -> tuple[str, list[dict]]:
    template, _ = decode_str(TEMPLATE.read_text())
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        docs = [p["PolicyDocument"] for p in res["Properties"].get("Policies", [])]
        if any(st.get("Sid") == sid for d in docs for st in d["Statement"]):
            return name, docs
    raise AssertionError(f"no role in {TEMPLATE.name} has a statement {sid}")


def _put(docs: list[dict], namespace: str) -> str:
    return evaluate(docs, Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace}))


def test_the_glue_job_role_may_put_glue_and_lakekit_metrics_only():
    _, docs = _role_with("JobMetrics")
    assert _put(docs, "Glue") == ALLOW
    assert _put(docs, pipeline.METRIC_NAMESPACE) == ALLOW
    assert _put(docs, "AWS/Lambda") == NEUTRAL and _put(docs, "other") == NEUTRAL


def test_the_ingest_role_has_no_cloudwatch_permission():
    name, docs = _role_with("WriteOwnLogs")
    assert name == "IngestLambdaRole"
    assert _put(docs, pipeline.METRIC_NAMESPACE) == NEUTRAL
