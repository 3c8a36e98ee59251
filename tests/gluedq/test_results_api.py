"""DQ results through the Glue API after StartJobRun of a small Glue-style script; a restart keeps them."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.iam.roles import service_role

SCRIPT = Path(__file__).resolve().parent / "scripts" / "dq_job.py"
PYLIB = Path(__file__).resolve().parents[2] / "lakekit" / "local" / "glue" / "pylib"
ROLE = "arn:aws:iam::123456789012:role/lakekit-gluedq-tests"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"}


def _wait(glue, job: str, run_id: str, timeout: float = 600.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in FINAL:
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} not final after {timeout} s")


@pytest.mark.timeout(1500)
def test_results_through_the_api_and_after_a_restart(fresh_endpoint):
    ep = fresh_endpoint
    glue, s3 = ep.client("glue"), ep.client("s3")
    art = f"dq-art-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=art)
    s3.put_object(Bucket=art, Key="scripts/dq_job.py", Body=SCRIPT.read_bytes())
    service_role(ep, ROLE, "glue.amazonaws.com", ["s3:*", "logs:*", "cloudwatch:PutMetricData",
                                                  "glue:PublishDataQuality"])
    job = f"dq-job-{uuid.uuid4().hex[:6]}"
    glue.create_job(Name=job, Role=ROLE, GlueVersion="5.0", DefaultArguments={"--pylib": str(PYLIB)},
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{art}/scripts/dq_job.py"})
    ok_id = glue.start_job_run(JobName=job, Arguments={
        "--ruleset": 'Rules = [ RowCount = 3, IsUnique "id" ]'})["JobRunId"]
    ok = _wait(glue, job, ok_id)
    assert ok["JobRunState"] == "SUCCEEDED", ok.get("ErrorMessage")
    bad_id = glue.start_job_run(JobName=job, Arguments={
        "--ruleset": 'Rules = [ RowCount = 3, IsComplete "name" ]', "--fail_on_dq": "failed"})["JobRunId"]
    bad = _wait(glue, job, bad_id)
    assert bad["JobRunState"] == "FAILED"
    assert "Data quality rules failed: ['IsComplete \"name\"']" in bad["ErrorMessage"]

    listed = glue.list_data_quality_results(Filter={"JobName": job})["Results"]
    assert [r["JobRunId"] for r in listed] == [bad_id, ok_id]            # newest first
    assert all(r["ResultId"].startswith("dqresult-") and len(r["ResultId"]) == 49 for r in listed)
    failed_only = glue.list_data_quality_results(Filter={"JobRunId": bad_id})["Results"]
    assert [r["JobRunId"] for r in failed_only] == [bad_id]               # kept although the run failed
    page = glue.list_data_quality_results(Filter={"JobName": job}, MaxResults=1)
    assert len(page["Results"]) == 1 and page["NextToken"]
    rest = glue.list_data_quality_results(Filter={"JobName": job}, MaxResults=1, NextToken=page["NextToken"])
    assert rest["Results"][0]["JobRunId"] == ok_id and "NextToken" not in rest
    later = glue.list_data_quality_results(Filter={"JobName": job, "StartedAfter": time.time() + 60})
    assert later["Results"] == []

    result = glue.get_data_quality_result(ResultId=failed_only[0]["ResultId"])
    assert (result["JobName"], result["JobRunId"], result["EvaluationContext"], result["Score"]) == (
        job, bad_id, "orders_check", 0.5)
    assert result["RuleResults"] == [
        {"Name": "Rule_1", "Description": "RowCount = 3", "Result": "PASS",
         "EvaluatedMetrics": {"Dataset.*.RowCount": 3.0}},
        {"Name": "Rule_2", "Description": 'IsComplete "name"', "Result": "FAIL",
         "EvaluationMessage": "Value: 0.6666666666666666 does not meet the constraint requirement!",
         "EvaluatedMetrics": {"Column.name.Completeness": 0.6666666666666666}}]
    assert result["StartedOn"] <= result["CompletedOn"]

    with pytest.raises(ClientError) as err:
        glue.get_data_quality_result(ResultId="dqresult-" + "0" * 40)
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    batch = glue.batch_get_data_quality_result(ResultIds=[result["ResultId"], "dqresult-nope"])
    assert [r["ResultId"] for r in batch["Results"]] == [result["ResultId"]]
    assert batch["ResultsNotFound"] == ["dqresult-nope"]

    ep.stop()
    ep.start()
    again = ep.client("glue").get_data_quality_result(ResultId=result["ResultId"])
    again.pop("ResponseMetadata")
    result.pop("ResponseMetadata")
    assert again == result
