"""What the local runner hands the script and where it logs, as AWS Glue 5.0 does.

AWS sources: "Using job parameters in AWS Glue jobs" (NonOverridableArguments > run Arguments >
DefaultArguments); awsglue/job.py ``Job.id_params`` (Glue 5.0 passes --JOB_ID, --JOB_RUN_ID,
--JOB_NAME, --SECURITY_CONFIGURATION); "Logging for AWS Glue jobs" (Glue 5.0: script stdout and
stderr -> /aws-glue/jobs/output, system and Spark logs -> /aws-glue/jobs/error, streams
<run id>-driver); "Running Spark ETL jobs with reduced startup times" (with a security
configuration: /aws-glue/jobs/<security configuration>-role/<role name>/output|error).
"""
from __future__ import annotations

import json
import uuid

from lakekit import glue as lkglue

from .conftest import ROLE


def _argv(lab, run_id: str, group: str = "/aws-glue/jobs/output") -> dict[str, str]:
    lines = [m for m in lab.log_messages(group, f"{run_id}-driver") if m.startswith("ARGV ")]
    assert len(lines) == 1, lab.log_messages(group, f"{run_id}-driver")
    return json.loads(lines[0][len("ARGV "):])


def test_script_gets_what_glue_5_passes(lab):
    account = lab.endpoint.client("sts").get_caller_identity()["Account"]
    job = lab.job("print_argv.py", {
        "--dataset": "all", "--job-bookmark-option": "job-bookmark-enable",
        "--enable-metrics": "true", "--enable-continuous-cloudwatch-log": "true",
        "--locked": "default"}, NonOverridableArguments={"--locked": "job"})
    run_id = lab.glue.start_job_run(JobName=job, Arguments={"--dataset": "flights",
                                                            "--locked": "run"})["JobRunId"]
    run, _ = lab.wait(job, run_id, timeout=60)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    argv = _argv(lab, run_id)
    job_id = argv.pop("--JOB_ID")
    assert job_id.startswith("j_") and len(job_id) == 66
    assert argv == {
        "--JOB_RUN_ID": run_id, "--JOB_NAME": job, "--job-bookmark-option": "job-bookmark-enable",
        "--TempDir": f"s3://aws-glue-assets-{account}-us-east-1/temporary/",
        "--dataset": "flights", "--enable-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true", "--locked": "job"}
    assert run["Arguments"] == {"--dataset": "flights", "--locked": "run"}
    assert run["LogGroupName"] == "/aws-glue/jobs"

    # the same job id every run; an explicit --TempDir is passed unchanged (never staged)
    run_id2 = lab.glue.start_job_run(JobName=job, Arguments={
        "--TempDir": f"s3://{lab.art}/tmp/", "--job-bookmark-option": "job-bookmark-disable"})["JobRunId"]
    assert lab.wait(job, run_id2, timeout=60)[0]["JobRunState"] == "SUCCEEDED"
    argv2 = _argv(lab, run_id2)
    assert (argv2["--JOB_ID"], argv2["--TempDir"], argv2["--job-bookmark-option"]) == (
        job_id, f"s3://{lab.art}/tmp/", "job-bookmark-disable")
    assert "--SECURITY_CONFIGURATION" not in argv2

    # Glue 5.0 routing: stdout and stderr -> /output; Spark's log4j + system lines -> /error
    out = lab.log_messages("/aws-glue/jobs/output", f"{run_id}-driver")
    err = lab.log_messages("/aws-glue/jobs/error", f"{run_id}-driver")
    assert "a line on stderr" in out and "a line on stderr" not in err
    assert "25/01/02 10:00:00 WARN SparkLike: a log4j line" in err
    assert any(m.startswith("lakekit-glue: JobRunState SUCCEEDED") for m in err)
    assert not lab.logs.describe_log_streams(logGroupName="/aws-glue/jobs/output",
                                             logStreamNamePrefix=run_id + "_")["logStreams"]


def test_security_configuration_with_cloudwatch_encryption_moves_the_logs(lab):
    sec = f"sec-{uuid.uuid4().hex[:6]}"
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    lab.glue.create_security_configuration(Name=sec, EncryptionConfiguration={
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key}})
    job = lab.job("print_argv.py", SecurityConfiguration=sec)
    run_id = lab.glue.start_job_run(JobName=job)["JobRunId"]
    run, _ = lab.wait(job, run_id, timeout=60)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    prefix = f"/aws-glue/jobs/{sec}-role/lakekit-glue-runner-tests"
    assert ROLE.endswith("/lakekit-glue-runner-tests")
    assert (run["LogGroupName"], run["SecurityConfiguration"]) == (prefix, sec)
    argv = _argv(lab, run_id, f"{prefix}/output")
    assert argv["--SECURITY_CONFIGURATION"] == sec
    groups = {g["logGroupName"]: g for g in lab.logs.describe_log_groups(
        logGroupNamePrefix=prefix)["logGroups"]}
    assert sorted(groups) == [f"{prefix}/error", f"{prefix}/output"]
    assert {g.get("kmsKeyId") for g in groups.values()} == {key}
    for group in ("/aws-glue/jobs/output", "/aws-glue/jobs/error"):
        assert not lab.logs.describe_log_streams(logGroupName=group,
                                                 logStreamNamePrefix=run_id)["logStreams"]

    got = lkglue.job_logs(job, run_id, glue=lab.glue, logs=lab.logs)
    assert got.group_prefix == prefix
    assert got.streams == {f"{prefix}/output": [f"{run_id}-driver"],
                           f"{prefix}/error": [f"{run_id}-driver"]}
    assert "a line on stderr" in got.output and any(m.startswith("ARGV ") for m in got.output)
    assert any(m.startswith("lakekit-glue: JobRunState SUCCEEDED") for m in got.error)

    # a security configuration without CloudWatch encryption keeps the default groups
    plain = f"sec-{uuid.uuid4().hex[:6]}"
    lab.glue.create_security_configuration(Name=plain, EncryptionConfiguration={
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "DISABLED"}})
    job2 = lab.job("print_argv.py", SecurityConfiguration=plain)
    run2 = lab.glue.start_job_run(JobName=job2)["JobRunId"]
    assert lab.wait(job2, run2, timeout=60)[0]["LogGroupName"] == "/aws-glue/jobs"
    assert lkglue.job_logs(job2, run2, glue=lab.glue, logs=lab.logs).streams[
        "/aws-glue/jobs/output"] == [f"{run2}-driver"]
