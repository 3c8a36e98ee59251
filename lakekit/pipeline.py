"""The pipeline stack (``cloudformation/pipeline.yaml``): its names, metrics and lifecycle.

The data lake template is at CloudFormation's 51,200-byte TemplateBody limit, so orchestration
and monitoring live in a second stack, ``<prefix>-pipeline``: the Step Functions state machine
(Glue job ``.sync`` -> crawler wait loop -> data-quality gate -> SNS), its SNS topic (own KMS
key), the S3 -> EventBridge rule that starts it, a Glue job failure rule, three alarms and the
dashboard. :func:`deploy_pipeline` uploads the template to the artifacts bucket and creates or
updates the stack with ``TemplateURL`` (limit 1 MB), passing the data lake stack's outputs as
parameters; :func:`lakekit.deploy.deploy` calls it after the compute phase and
:func:`lakekit.deploy.teardown` deletes the stack first.

This module is also the contract the emitters and the notebook share: :data:`CUSTOM_METRICS`
(namespace ``lakekit``, one dimension ``Prefix``), :data:`AWS_METRICS` the dashboard and alarms
read, and :data:`STATE_NAMES` of the state machine.

Example::

    >>> from lakekit import pipeline
    >>> pipeline.CUSTOM_METRICS["FilesQuarantined"].unit
    'Count'
    >>> pipeline.metric_dimensions("lakekit")
    [{'Name': 'Prefix', 'Value': 'lakekit'}]
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lakekit import _stacks
from lakekit.config import Settings
from lakekit.config import settings as _settings
from lakekit.exceptions import DeployError
from lakekit.session import client as _client

log = logging.getLogger(__name__)

__all__ = [
    "TEMPLATE",
    "METRIC_NAMESPACE",
    "METRIC_DIMENSION",
    "CustomMetric",
    "CUSTOM_METRICS",
    "AWS_METRICS",
    "STATE_NAMES",
    "FROM_LAKE_OUTPUTS",
    "stack_name",
    "metric_dimensions",
    "parameters",
    "upload_template",
    "expected_resources",
    "deploy_pipeline",
    "outputs",
    "teardown_pipeline",
]

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "cloudformation" / "pipeline.yaml"
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]

#: namespace of the pipeline's own metrics (PutMetricData by the Lambdas, the job, the client)
METRIC_NAMESPACE = "lakekit"
#: the one dimension every custom datum carries (isolates attendees sharing an account); the
#: alarms and the dashboard read exactly [Prefix=<prefix>]. Emitters MAY publish a second datum
#: with [Prefix, Dataset] for detail; nothing in the stack reads that one.
METRIC_DIMENSION = "Prefix"


@dataclass(frozen=True)
class CustomMetric:
    name: str
    unit: str
    emitter: str
    meaning: str


CUSTOM_METRICS: dict[str, CustomMetric] = {m.name: m for m in (
    CustomMetric("FilesLanded", "Count", "ingest Lambda",
                 "files the ingest Lambda handled (raw + quarantined + duplicates), per invocation"),
    CustomMetric("FilesQuarantined", "Count", "ingest Lambda",
                 "files the ingest Lambda sent to the quarantine zone"),
    CustomMetric("RowsIn", "Count", "Glue ETL job", "rows read from raw (accounting rows_in, all datasets)"),
    CustomMetric("RowsOut", "Count", "Glue ETL job", "rows written to processed (accounting rows_out)"),
    CustomMetric("RowsRejected", "Count", "Glue ETL job", "rows sent to quarantine/rejected_rows"),
    CustomMetric("DqFailures", "Count", "Glue ETL job",
                 "data-quality rules whose outcome is Failed (hard and soft) in the run's dq.json"),
    CustomMetric("QueryBytes", "Bytes", "lakekit.athena client",
                 "DataScannedInBytes of each finished Athena query"),
)}

#: (namespace, metric, dimension names) of the metrics AWS publishes that the stack reads
AWS_METRICS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("AWS/Lambda", "Invocations", ("FunctionName",)),
    ("AWS/Lambda", "Errors", ("FunctionName",)),
    ("AWS/Lambda", "Throttles", ("FunctionName",)),
    ("AWS/Lambda", "Duration", ("FunctionName",)),
    ("Glue", "glue.driver.aggregate.recordsRead", ("JobName", "JobRunId", "Type")),
    ("Glue", "glue.driver.aggregate.numFailedTasks", ("JobName", "JobRunId", "Type")),
    ("AWS/States", "ExecutionsSucceeded", ("StateMachineArn",)),
    ("AWS/States", "ExecutionsFailed", ("StateMachineArn",)),
    ("AWS/Athena", "ProcessedBytes", ("QueryState", "QueryType", "WorkGroup")),
    ("AWS/Events", "TriggeredRules", ("RuleName",)),
)

#: the state machine's states, top level then the Map's item processor
STATE_NAMES = ("Configure", "RunEtlJob", "StartCrawler", "WaitForCrawler", "GetCrawler",
               "CrawlerFinished", "CrawlFailed", "ReadDataQualityReports", "EvaluateDataQuality",
               "DataQualityGate", "DataQualityFailed", "NoNewData", "NotifySuccess",
               "PipelineSucceeded", "NotifyFailure", "PipelineFailed",
               "GetDataQualityReport", "ReportMissing")

#: pipeline parameter <- data lake stack output
FROM_LAKE_OUTPUTS = {
    "Prefix": "Prefix", "DataKeyArn": "DataKeyArn", "RawBucket": "RawBucket",
    "ArtifactsBucket": "ArtifactsBucket", "EtlJobName": "EtlJobName", "CrawlerName": "CrawlerName",
    "IngestFunctionName": "IngestFunctionName", "ApiPullFunctionName": "ApiPullFunctionName",
    "EngineersWorkGroup": "EngineersWorkGroup", "AnalystsWorkGroup": "AnalystsWorkGroup",
}


def stack_name(s: Settings | None = None) -> str:
    """``<LAKEKIT_PREFIX>-pipeline``."""
    return f"{(s or _settings()).prefix}-pipeline"


def metric_dimensions(prefix: str) -> list[dict[str, str]]:
    """The Dimensions of every custom datum (PutMetricData shape)."""
    return [{"Name": METRIC_DIMENSION, "Value": prefix}]


def parameters(lake_outputs: dict[str, str], **overrides: str) -> dict[str, str]:
    """Pipeline stack parameters from the data lake stack's outputs (plus overrides).

    Raises :class:`DeployError` naming the outputs that are missing (compute phase not deployed).
    """
    missing = sorted(o for o in FROM_LAKE_OUTPUTS.values() if not lake_outputs.get(o))
    if missing:
        raise DeployError(f"the data lake stack has no output(s) {', '.join(missing)}: the pipeline "
                          "stack needs the compute phase (Glue job, crawler, Lambdas). Run "
                          "deploy.deploy() to completion first.")
    out = {p: lake_outputs[o] for p, o in FROM_LAKE_OUTPUTS.items()}
    out.update({k: str(v) for k, v in overrides.items() if v is not None})
    return out


def upload_template(bucket: str, s: Settings | None = None) -> str:
    """Put the template in the artifacts bucket (content-addressed key); -> its TemplateURL."""
    s = s or _settings()
    body = TEMPLATE.read_bytes()
    key = f"cloudformation/pipeline-{hashlib.sha256(body).hexdigest()[:16]}.yaml"
    s3 = _client("s3", s)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-yaml")
    suffix = "amazonaws.com.cn" if s.region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{s.region}.{suffix}/{key}"


def expected_resources() -> int:
    """How many resources the pipeline template defines (none is conditional)."""
    from cfnlint.decode import decode_str

    template, _ = decode_str(TEMPLATE.read_text())
    if template is None:
        raise DeployError(f"{TEMPLATE} is not valid YAML: run deploy.lint(pipeline.TEMPLATE).")
    return len(template["Resources"])


def _describe(s: Settings) -> dict[str, Any] | None:
    return _stacks.describe(_client("cloudformation", s), stack_name(s))


def outputs(s: Settings | None = None) -> dict[str, str]:
    """The pipeline stack's outputs ({} when it does not exist)."""
    return _stacks.outputs_of(_describe(s or _settings()))


def deploy_pipeline(s: Settings | None = None, lake_outputs: dict[str, str] | None = None,
                    wait: bool = True, progress: bool = True, timeout: float = 1800.0,
                    trigger: bool | None = None, crawler_poll_seconds: int | None = None) -> dict[str, str]:
    """Create or update ``<prefix>-pipeline``; returns its outputs. Idempotent.

    ``trigger``: None keeps the S3 -> EventBridge rule's current state (DISABLED on creation),
    True enables it, False disables it. ``crawler_poll_seconds`` likewise keeps the current value.
    """
    from lakekit import deploy as _deploy

    s = s or _settings()
    lake = lake_outputs if lake_outputs is not None else _deploy.outputs(s)
    stack = _describe(s)
    state = None if trigger is None else ("ENABLED" if trigger else "DISABLED")
    params = parameters(lake, PipelineTrigger=state or _stacks.parameter(stack, "PipelineTrigger"),
                        CrawlerPollSeconds=crawler_poll_seconds if crawler_poll_seconds is not None
                        else _stacks.parameter(stack, "CrawlerPollSeconds"))
    url = upload_template(lake["ArtifactsBucket"], s)
    cf = _client("cloudformation", s)
    name = stack_name(s)
    plist = [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
    tags = [{"Key": "lakekit:prefix", "Value": s.prefix}]
    started = time.time() - 1
    if stack is not None and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
        cf.delete_stack(StackName=stack["StackId"])
        _deploy.wait_for_stack(s, timeout, progress=False, name=stack["StackId"])
        stack = None
    if stack is None:
        cf.create_stack(StackName=name, TemplateURL=url, Parameters=plist, Capabilities=CAPABILITIES, Tags=tags)
    else:
        if stack["StackStatus"].endswith("_IN_PROGRESS"):
            _deploy.wait_for_stack(s, timeout, progress=False, name=stack["StackId"])
        try:
            cf.update_stack(StackName=name, TemplateURL=url, Parameters=plist, Capabilities=CAPABILITIES,
                            Tags=tags)
        except ClientError as exc:
            if "No updates are to be performed" in str(exc):
                return outputs(s)
            raise DeployError(f"stack {name} update was refused: {exc.response['Error']['Message']}") from None
    if wait:
        _deploy.wait_for_stack(s, timeout, progress=progress, total=expected_resources(), since=started,
                               name=name)
    return outputs(s)


def teardown_pipeline(s: Settings | None = None, wait: bool = True, progress: bool = True,
                      timeout: float = 1800.0) -> str:
    """Delete ``<prefix>-pipeline`` (it holds no data); -> final status or ``DOES_NOT_EXIST``.

    Executions still running are stopped by Step Functions when the state machine is deleted.
    """
    from lakekit import deploy as _deploy

    s = s or _settings()
    stack = _describe(s)
    if stack is None:
        return "DOES_NOT_EXIST"
    cf = _client("cloudformation", s)
    if stack["StackStatus"].endswith("_IN_PROGRESS"):
        _deploy.wait_for_stack(s, timeout, progress=False, name=stack["StackId"])
    started = time.time() - 1
    cf.delete_stack(StackName=stack["StackId"])
    if not wait:
        return "DELETE_IN_PROGRESS"
    return _deploy.wait_for_stack(s, timeout, progress=progress, total=expected_resources(),
                                  since=started, name=stack["StackId"])
