"""Whose credentials write a job run's CloudWatch Logs: the job's role, as on AWS.

AWS: Glue runs the job as its IAM role, and the role writes the run's logs (the managed
AWSGlueServiceRole grants logs:CreateLogGroup / CreateLogStream / PutLogEvents on
``/aws-glue/*``; the workshop's job role has the same GlueLogs statement). Whoever started the
run - a user, or Step Functions' role in notebook 07 - needs no logs permission at all, and a
job role without one gets a run without logs.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.iam.roles import ACCOUNT, service_role


def _starter(lab) -> dict[str, str]:
    """Credentials of a role that may start and read job runs, and nothing else."""
    arn = f"arn:aws:iam::{ACCOUNT}:role/glue-run-starter-{uuid.uuid4().hex[:6]}"
    service_role(lab.endpoint, arn, None, trusted={"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                 statements=[{"Action": ["glue:StartJobRun", "glue:GetJobRun"], "Resource": "*"}])
    creds = lab.endpoint.client("sts").assume_role(RoleArn=arn, RoleSessionName="starter")["Credentials"]
    return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
            "session_token": creds["SessionToken"]}


def _wait_as(glue, job: str, run_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} of {job} not final after 60 s")


def test_a_starter_without_logs_permissions_still_gets_the_runs_logs(lab):
    starter = _starter(lab)
    logs = lab.endpoint.client("logs", **starter)
    with pytest.raises(ClientError) as denied:  # the starter itself may not write logs
        logs.create_log_group(logGroupName=f"/aws-glue/jobs/starter-{uuid.uuid4().hex[:6]}")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"

    job = lab.job("print_argv.py", {"--dataset": "airlines"})
    glue = lab.endpoint.client("glue", **starter)
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run = _wait_as(glue, job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    out = lab.log_messages("/aws-glue/jobs/output", f"{run_id}-driver")
    argv = json.loads(next(m for m in out if m.startswith("ARGV "))[len("ARGV "):])
    assert argv["--dataset"] == "airlines" and argv["--JOB_RUN_ID"] == run_id
    err = lab.log_messages("/aws-glue/jobs/error", f"{run_id}-driver")
    assert any(m.startswith("lakekit-glue: JobRunState SUCCEEDED") for m in err), err


def test_a_job_role_without_logs_permissions_runs_without_logs(lab):
    role = f"arn:aws:iam::{ACCOUNT}:role/glue-nologs-{uuid.uuid4().hex[:6]}"
    service_role(lab.endpoint, role, "glue.amazonaws.com", ["s3:GetObject", "s3:ListBucket"])
    job = lab.job("print_argv.py", {"--dataset": "weather"})
    lab.glue.update_job(JobName=job, JobUpdate={
        "Role": role, "Command": {"Name": "glueetl", "ScriptLocation": f"s3://{lab.art}/scripts/print_argv.py"}})
    run_id = lab.glue.start_job_run(JobName=job)["JobRunId"]  # started by the admin, who may log
    run, _ = lab.wait(job, run_id, timeout=60)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    for group in ("/aws-glue/jobs/output", "/aws-glue/jobs/error"):
        try:
            streams = lab.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=run_id)
        except ClientError as exc:  # no other run has created the group on this endpoint
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
            continue
        assert streams["logStreams"] == [], group
