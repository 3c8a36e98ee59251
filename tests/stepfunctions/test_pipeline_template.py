"""The state machine of cloudformation/pipeline.yaml itself (its ASL, substituted with this lab's
job, bucket and topic) on the local interpreter: the failure branch ends in ``PipelineFailed``
whatever error was caught.

A Glue job run that ends FAILED fails ``glue:startJobRun.sync`` with ``States.TaskFailed`` (the
developer guide's Glue integration; the cause is the job run as JSON). A Fail state may not
report an error name starting with ``States.`` ("States can report errors with other names.
However, these error names can't begin with the States. prefix", concepts-error-handling), so
``PipelineFailed`` cannot re-raise the caught name with ``ErrorPath``: it reports its own name
and puts the caught error and cause into its cause. With ``ErrorPath: $.error.Error`` the
interpreter refused the name and the execution ended ``States.Runtime`` instead - what notebook
07 hit whenever its first execution's job run failed."""
from __future__ import annotations

import json
import uuid
from typing import Any

from lakekit import pipeline
from tests.stepfunctions.conftest import ACCOUNT, entered


def _template_definition(subs: dict[str, str]) -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, _ = decode_str(pipeline.TEMPLATE.read_text())
    props = template["Resources"]["PipelineStateMachine"]["Properties"]
    text = json.dumps(props["Definition"])
    assert set(props["DefinitionSubstitutions"]) == set(subs)
    for key, value in subs.items():
        text = text.replace("${" + key + "}", value)
    assert "${" not in text
    return json.loads(text)


def _pipeline_role(lab, job: str, crawler: str) -> str:
    glue = f"arn:aws:glue:us-east-1:{ACCOUNT}"
    return lab.role(statements=[
        {"Action": ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
         "Resource": [f"{glue}:job/{job}"]},
        {"Action": ["glue:StartCrawler", "glue:GetCrawler"], "Resource": [f"{glue}:crawler/{crawler}"]},
        {"Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{lab.art}/reports/{job}/*"]},
        {"Action": ["sns:Publish"], "Resource": [lab.topic]}])


def test_failed_job_run_ends_in_pipeline_failed_with_the_caught_error_in_the_cause(lab):
    job = lab.job("fail_job.py")
    crawler = f"sfn-tpl-crawl-{uuid.uuid4().hex[:6]}"      # never reached
    definition = _template_definition({"EtlJobName": job, "CrawlerName": crawler,
                                       "ArtifactsBucket": lab.art, "TopicArn": lab.topic,
                                       "CrawlerPollSeconds": "1"})
    sm = lab.machine(definition, _pipeline_role(lab, job, crawler))
    desc, events = lab.run(sm, {"trigger": "test"}, timeout=300)

    assert entered(events) == ["Configure", "RunEtlJob", "NotifyFailure", "PipelineFailed"]
    failed = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert len(failed) == 1 and failed[0]["error"] == "States.TaskFailed"   # not retried
    job_run = json.loads(failed[0]["cause"])
    assert (job_run["JobName"], job_run["JobRunState"]) == (job, "FAILED")
    assert "bad input row 7" in job_run["ErrorMessage"]
    # before the fix: ("States.Runtime", "ValueError(Custom Error Names MUST NOT begin with ...)")
    assert (desc["status"], desc["error"]) == ("FAILED", "PipelineFailed"), desc.get("cause")
    assert desc["cause"] == f"States.TaskFailed: {failed[0]['cause']}"
    final = events[-1]
    assert final["type"] == "ExecutionFailed"
    assert final["executionFailedEventDetails"] == {"error": "PipelineFailed", "cause": desc["cause"]}
    message = lab.messages(1)[0]      # NotifyFailure published before PipelineFailed (raw delivery)
    assert message == f"Pipeline execution {desc['name']} failed: {desc['cause']}"


def test_fail_state_cannot_report_a_states_error_name(lab):
    """What the old ``ErrorPath: $.error.Error`` did with a caught States.TaskFailed, pinned:
    the execution fails ``States.Runtime``, not with the re-raised name. AWS's documentation
    forbids the name ("these error names can't begin with the States. prefix"); the exact cause
    text AWS records is not documented - locally it is the interpreter's refusal."""
    sm = lab.machine({"StartAt": "Rethrow", "States": {
        "Rethrow": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}}},
        lab.role(["sns:Publish"]))
    desc, events = lab.run(sm, {"error": {"Error": "States.TaskFailed", "Cause": "job run failed"}})
    assert (desc["status"], desc["error"]) == ("FAILED", "States.Runtime")
    assert "MUST NOT begin with the prefix 'States.'" in desc["cause"] and "States.TaskFailed" in desc["cause"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
