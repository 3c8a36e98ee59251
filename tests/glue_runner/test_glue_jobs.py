"""The local Glue job runner through the endpoint: real PySpark runs of toy scripts."""
from __future__ import annotations

import io
import json
import re
import time

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from tests.glue_runner.conftest import ROLE

CSV1 = "id,part,value\n1,a,1.5\n2,a,2.5\n3,a,3.5\n4,a,4.5\n5,b,5.5\n6,b,6.5\n7,b,7.5\n"
CSV2 = "id,part,value\n10,a,10.0\n11,a,11.0\n"


def _rows_per_partition(lab, prefix: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in lab.keys(lab.out, prefix):
        part = re.search(r"part=(\w+)/", key).group(1)
        body = lab.s3.get_object(Bucket=lab.out, Key=key)["Body"].read()
        out[part] = out.get(part, 0) + pq.read_table(io.BytesIO(body)).num_rows
    return out


def test_pyspark_run_succeeds_uploads_output_and_propagates_partition_overwrite(lab):
    lab.s3.put_object(Bucket=lab.raw, Key="toy/in/data.csv", Body=CSV1.encode())
    job = lab.job("csv_to_parquet.py",
                  {"--input": f"s3://{lab.raw}/toy/in/", "--output": f"s3://{lab.out}/toy/table/",
                   "--label": "default"}, WorkerType="G.1X", NumberOfWorkers=2)
    run_id = lab.glue.start_job_run(JobName=job, Arguments={"--label": "run1"})["JobRunId"]
    assert re.fullmatch(r"jr_[0-9a-f]{64}", run_id)
    run, seen = lab.wait(job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert "RUNNING" in seen and seen[-1] == "SUCCEEDED"
    assert run["Arguments"] == {"--label": "run1"}     # AWS: only the run's own arguments
    assert (run["Attempt"], run["JobName"], run["GlueVersion"], run["Timeout"]) == (0, job, "5.0", 2880)
    assert (run["WorkerType"], run["NumberOfWorkers"]) == ("G.1X", 2)
    assert run["StartedOn"] <= run["CompletedOn"] and run["ExecutionTime"] >= 0
    assert "ErrorMessage" not in run

    keys = lab.keys(lab.out, "toy/table/")
    assert keys and all(re.fullmatch(r"toy/table/part=[ab]/part-[^/]+\.parquet", k) for k in keys), keys
    assert _rows_per_partition(lab, "toy/table/") == {"a": 4, "b": 3}
    assert lab.keys(lab.raw, "toy/") == ["toy/in/data.csv"]     # input not re-uploaded

    out_log = lab.log_messages("/aws-glue/jobs/output", f"{run_id}-driver")
    assert f"label=run1 rows written: 7 run={run_id}" in out_log
    err_log = lab.log_messages("/aws-glue/jobs/error", f"{run_id}-driver")
    history = [m.split()[3] for m in err_log if m.startswith("lakekit-glue: state history")]
    assert history == ["STARTING", "RUNNING", "SUCCEEDED"]
    assert any("synced output: 2 object(s) uploaded" in m for m in err_log), err_log[-5:]

    # second run: only partition a in the input -> a is replaced, b kept, old a object gone
    old_a = [k for k in keys if "part=a/" in k]
    old_b = [k for k in keys if "part=b/" in k]
    lab.s3.delete_object(Bucket=lab.raw, Key="toy/in/data.csv")
    lab.s3.put_object(Bucket=lab.raw, Key="toy/in/data2.csv", Body=CSV2.encode())
    run_id2 = lab.glue.start_job_run(JobName=job)["JobRunId"]
    run2, _ = lab.wait(job, run_id2)
    assert run2["JobRunState"] == "SUCCEEDED", run2.get("ErrorMessage")
    assert "Arguments" not in run2                    # none passed (boto3 issue #3506)
    keys2 = lab.keys(lab.out, "toy/table/")
    assert not set(old_a) & set(keys2)
    assert [k for k in keys2 if "part=b/" in k] == old_b
    assert _rows_per_partition(lab, "toy/table/") == {"a": 2, "b": 3}

    runs = lab.glue.get_job_runs(JobName=job)["JobRuns"]
    assert [r["Id"] for r in runs] == [run_id2, run_id]
    page = lab.glue.get_job_runs(JobName=job, MaxResults=1)
    assert [r["Id"] for r in page["JobRuns"]] == [run_id2] and page["NextToken"]


def test_failing_script_fails_with_its_exception_and_uploads_nothing(lab):
    job = lab.job("fail_after_write.py", {"--output": f"s3://{lab.out}/failing/"})
    run_id = lab.glue.start_job_run(JobName=job)["JobRunId"]
    run, _ = lab.wait(job, run_id, timeout=60)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: toy failure: bad input value 42"
    assert lab.keys(lab.out, "failing/") == []
    # Glue 5.0: the script's stdout and stderr (its traceback) both go to /output
    out_log = lab.log_messages("/aws-glue/jobs/output", f"{run_id}-driver")
    assert "wrote partial output, now failing" in out_log
    assert any(m.startswith("ValueError: toy failure") for m in out_log), out_log[-5:]
    assert not any(m.startswith("ValueError") for m in
                   lab.log_messages("/aws-glue/jobs/error", f"{run_id}-driver"))


def test_missing_script_fails_with_what_to_do(lab):
    job = lab.job("not_uploaded.py")
    run_id = lab.glue.start_job_run(JobName=job)["JobRunId"]
    run, _ = lab.wait(job, run_id, timeout=60)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == (f"ScriptLocation s3://{lab.art}/scripts/not_uploaded.py does not "
                                   f"exist — run lakekit.deploy.upload_assets() first")


def test_unknown_job_and_run_are_entity_not_found(lab):
    with pytest.raises(ClientError) as err:
        lab.glue.start_job_run(JobName="no-such-job")
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert "Job no-such-job not found" in err.value.response["Error"]["Message"]
    job = lab.job("sleeper.py")
    with pytest.raises(ClientError) as err:
        lab.glue.get_job_run(JobName=job, RunId="jr_" + "0" * 64)
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_max_concurrent_runs_and_batch_stop(lab):
    job = lab.job("sleeper.py", {"--output": f"s3://{lab.out}/sleeping/"})
    first = lab.glue.start_job_run(JobName=job)["JobRunId"]
    lab.wait_state(job, first, "RUNNING")
    with pytest.raises(ClientError) as err:
        lab.glue.start_job_run(JobName=job)
    assert err.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    assert "MaxConcurrentRuns is 1" in err.value.response["Error"]["Message"]

    got = lab.glue.batch_stop_job_run(JobName=job, JobRunIds=[first, "jr_" + "f" * 64])
    assert got["SuccessfulSubmissions"] == [{"JobName": job, "JobRunId": first}]
    assert [e["ErrorDetail"]["ErrorCode"] for e in got["Errors"]] == ["EntityNotFoundException"]
    run, seen = lab.wait(job, first, timeout=60)
    assert run["JobRunState"] == "STOPPED" and "ErrorMessage" not in run
    assert lab.keys(lab.out, "sleeping/") == []               # early.txt was never uploaded
    again = lab.glue.batch_stop_job_run(JobName=job, JobRunIds=[first])
    assert again["Errors"][0]["ErrorDetail"]["ErrorCode"] == "InvalidInputException"

    # a slot is free again; two allowed at once with MaxConcurrentRuns=2
    lab.glue.update_job(JobName=job, JobUpdate={
        "Role": ROLE, "ExecutionProperty": {"MaxConcurrentRuns": 2},
        "Command": {"Name": "glueetl", "ScriptLocation": f"s3://{lab.art}/scripts/sleeper.py"},
        "DefaultArguments": {"--output": f"s3://{lab.out}/sleeping/", "--seconds": "0.2"}})
    a = lab.glue.start_job_run(JobName=job)["JobRunId"]
    b = lab.glue.start_job_run(JobName=job)["JobRunId"]
    assert lab.wait(job, a, timeout=60)[0]["JobRunState"] == "SUCCEEDED"
    assert lab.wait(job, b, timeout=60)[0]["JobRunState"] == "SUCCEEDED"
    assert lab.keys(lab.out, "sleeping/") == ["sleeping/early.txt"]


def test_reset_job_bookmark_resets_glues_entry_only_like_aws(lab):
    """AWS's ResetJobBookmark never touches objects a script keeps itself; lakekit.glue.reset_bookmarks
    is ResetJobBookmark, plus the cleanup of a legacy --bookmark_path the job still names."""
    from lakekit import glue as lkglue

    job = lab.job("sleeper.py", {"--bookmark_path": f"s3://{lab.art}/bookmarks/BM/"})
    lab.s3.put_object(Bucket=lab.art, Key="bookmarks/BM/flights.json", Body=b'{"files": {}}')
    lab.s3.put_object(Bucket=lab.art, Key="bookmarks/BMX/other.json", Body=b"{}")
    with pytest.raises(ClientError) as err:
        lab.glue.get_job_bookmark(JobName=job)
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert err.value.response["Error"]["Message"] == f"Continuation for job {job} not found"
    reset = lab.glue.reset_job_bookmark(JobName=job)["JobBookmarkEntry"]
    assert (reset["JobName"], reset["Version"], json.loads(reset["JobBookmark"])) == (job, 1, {})
    assert lab.keys(lab.art, "bookmarks/") == ["bookmarks/BM/flights.json", "bookmarks/BMX/other.json"]
    assert lab.glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"]["Version"] == 1

    got = lkglue.reset_bookmarks(job, glue=lab.glue, s3=lab.s3)
    assert got["glue"]["Version"] == 2
    assert got["deleted"] == [f"s3://{lab.art}/bookmarks/BM/flights.json"]
    assert lab.keys(lab.art, "bookmarks/") == ["bookmarks/BMX/other.json"]
    with pytest.raises(ClientError) as err:
        lab.glue.reset_job_bookmark(JobName="no-such-job")
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"
    plain = lkglue.reset_bookmarks(lab.job("sleeper.py"), glue=lab.glue, s3=lab.s3)
    assert (plain["glue"]["Version"], plain["deleted"]) == (1, [])   # Glue's bookmark only
    assert lab.keys(lab.art, "bookmarks/") == ["bookmarks/BMX/other.json"]


def test_run_in_flight_fails_after_endpoint_restart(fresh_endpoint, make_lab):
    lab = make_lab(fresh_endpoint)
    job = lab.job("sleeper.py", {"--output": f"s3://{lab.out}/restart/"})
    run_id = lab.glue.start_job_run(JobName=job)["JobRunId"]
    lab.wait_state(job, run_id, "RUNNING")
    fresh_endpoint.stop()
    fresh_endpoint.start()
    glue = fresh_endpoint.client("glue")
    run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"].startswith("interrupted by endpoint restart")
    assert fresh_endpoint.client("s3").list_objects_v2(Bucket=lab.out).get("KeyCount") == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_with(run_id):
        time.sleep(0.2)
    assert _processes_with(run_id) == []                      # the script died with the endpoint
    again = glue.start_job_run(JobName=job)["JobRunId"]       # the slot is free again
    glue.batch_stop_job_run(JobName=job, JobRunIds=[again])
    assert lab.wait(job, again, timeout=60)[0]["JobRunState"] == "STOPPED"


def _processes_with(text: str) -> list[int]:
    import os

    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if text.encode() in fh.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_start_job_run_needs_no_get_job_permission(lab):
    """AWS authorizes StartJobRun alone; the runner reads the job's definition itself."""
    import json

    from botocore.exceptions import ClientError

    job = lab.job("print_argv.py")
    iam = lab.endpoint.client("iam")
    iam.create_role(RoleName="gr-start-only", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}))
    iam.put_role_policy(RoleName="gr-start-only", PolicyName="start", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "glue:StartJobRun",
                                                "Resource": f"arn:aws:glue:us-east-1:123456789012:job/{job}"}]}))
    c = lab.endpoint.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/gr-start-only",
                                               RoleSessionName="starter")["Credentials"]
    glue = lab.endpoint.client("glue", access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"],
                               session_token=c["SessionToken"])
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run, _ = lab.wait(job, run_id)
    assert run["JobRunState"] == "SUCCEEDED"
    with pytest.raises(ClientError) as e:  # the role may start it, not read it
        glue.get_job(JobName=job)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
