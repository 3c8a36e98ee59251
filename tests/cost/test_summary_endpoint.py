"""cost.summary over a small real lake on a private endpoint: every value comes back from the
APIs (GetJobRun, ListCrawls, GetQueryExecution, the Lambda REPORT lines, ListObjectVersions...),
priced with lakekit.cost.prices; nothing is hard-coded but the template's sizes."""
from __future__ import annotations

import datetime as dt
import json
import math
import time

import pytest

from lakekit import cost
from lakekit.cost import prices as P
from tests.cfn._stacks import settle
from tests.conftest import Endpoint, free_port

PREFIX = "costt"
ACCOUNT = "123456789012"
BUCKET = f"{PREFIX}-data-{ACCOUNT}"
MB = 2**20

FUNCTION_CODE = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": True}
"""
JOB_SCRIPT = b'print("[cost] a tiny job that reads nothing")\n'

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "DataKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}}},
        "TokenKey": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Name": f"{PREFIX}-token", "GenerateSecretString": {"PasswordLength": 32}}},
        "Data": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}},
        "FnRole": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"{PREFIX}-fn",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "logs", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*"}]}}]}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": f"{PREFIX}-fn", "Runtime": "python3.11", "Handler": "index.handler",
            "MemorySize": 256, "Timeout": 30, "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
            "Code": {"ZipFile": FUNCTION_CODE}}},
        "GlueRole": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"{PREFIX}-glue",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "all", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["s3:*", "glue:*", "logs:*", "cloudwatch:PutMetricData"],
                "Resource": "*"}]}}]}},
        "Db": {"Type": "AWS::Glue::Database", "Properties": {
            "CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": f"{PREFIX}_db"}}},
        "Job": {"Type": "AWS::Glue::Job", "Properties": {
            "Name": f"{PREFIX}-etl", "Role": {"Fn::GetAtt": ["GlueRole", "Arn"]}, "GlueVersion": "5.0",
            "WorkerType": "G.1X", "NumberOfWorkers": 2, "MaxRetries": 0, "Timeout": 10,
            "Command": {"Name": "glueetl", "PythonVersion": "3", "ScriptLocation": f"s3://{BUCKET}/scripts/job.py"}}},
        "Crawler": {"Type": "AWS::Glue::Crawler", "Properties": {
            "Name": f"{PREFIX}-crawler", "Role": {"Fn::GetAtt": ["GlueRole", "Arn"]},
            "DatabaseName": {"Ref": "Db"}, "Targets": {"S3Targets": [{"Path": f"s3://{BUCKET}/data/"}]}}},
        "WorkGroup": {"Type": "AWS::Athena::WorkGroup", "Properties": {
            "Name": f"{PREFIX}-engineers", "RecursiveDeleteOption": True, "State": "ENABLED",
            "WorkGroupConfiguration": {"EnforceWorkGroupConfiguration": True, "ResultConfiguration": {
                "OutputLocation": f"s3://{BUCKET}/results/"}}}},
    },
}


def _wait(probe, what: str, timeout: float = 600.0):
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} not done within {timeout} s"
        time.sleep(0.3)


def _query(ath, sql: str, workgroup: str) -> dict:
    qid = ath.start_query_execution(QueryString=sql, WorkGroup=workgroup,
                                    QueryExecutionContext={"Database": f"{PREFIX}_db"},
                                    ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/elsewhere/"}
                                    )["QueryExecutionId"]

    def final():
        qe = ath.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        return qe if qe["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None
    return _wait(final, f"query {sql!r}", 300)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    ep = Endpoint(tmp_path_factory.mktemp("cost-home"), free_port())
    ep.start()
    try:
        started = dt.datetime.now(dt.UTC)
        cf = ep.client("cloudformation")
        cf.create_stack(StackName=f"{PREFIX}-datalake", TemplateBody=json.dumps(TEMPLATE),
                        Capabilities=["CAPABILITY_NAMED_IAM"])
        stack = settle(cf, f"{PREFIX}-datalake", timeout=300)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        s3, glue, ath, lam = (ep.client(n) for n in ("s3", "glue", "athena", "lambda"))
        s3.put_object(Bucket=BUCKET, Key="scripts/job.py", Body=JOB_SCRIPT)
        rows = "".join(f"{i},name-{i},{i * 1.5}\n" for i in range(2000))
        s3.put_object(Bucket=BUCKET, Key="data/t/part-0.csv", Body=b"id,name,value\n" + rows.encode())
        for sleep in (0.0, 0.2):
            resp = lam.invoke(FunctionName=f"{PREFIX}-fn", Payload=json.dumps({"sleep": sleep}).encode())
            assert "FunctionError" not in resp, resp["Payload"].read()
        run_id = glue.start_job_run(JobName=f"{PREFIX}-etl")["JobRunId"]
        def job_done():
            r = glue.get_job_run(JobName=f"{PREFIX}-etl", RunId=run_id)["JobRun"]
            return r if r["JobRunState"] in ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT") else None

        def crawl_done():
            c = glue.get_crawler(Name=f"{PREFIX}-crawler")["Crawler"]
            return c["State"] == "READY" and c.get("LastCrawl", {}).get("Status") == "SUCCEEDED"

        run = _wait(job_done, "job run")
        assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
        glue.start_crawler(Name=f"{PREFIX}-crawler")
        _wait(crawl_done, "crawl")
        wg = f"{PREFIX}-engineers"
        queries = {
            "ddl": _query(ath, f"CREATE EXTERNAL TABLE IF NOT EXISTS raw_t (id int, name string, value double) "
                               f"ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION 's3://{BUCKET}/data/t/' "
                               "TBLPROPERTIES ('skip.header.line.count'='1')", wg),
            "select": _query(ath, "SELECT count(*) AS n, sum(value) AS v FROM raw_t", wg),
            "failed": _query(ath, "SELECT * FROM no_such_table", wg),
            "elsewhere": _query(ath, "SELECT 1", "primary"),  # not the lake's workgroup
        }
        yield {"ep": ep, "s": ep.settings.with_(prefix=PREFIX), "run": run, "queries": queries,
               "started": started}
    finally:
        ep.stop()


def test_details_are_the_apis_values_priced(lake):
    ep, s = lake["ep"], lake["s"]
    d = cost.details(s=s)
    # Glue job: GetJobRun's ExecutionTime on G.1X x 2, at least a minute
    run = lake["run"]
    jobs = d["glue_jobs"]
    assert list(jobs.run) == [run["Id"]] and jobs.loc[0, "dpus"] == 2.0
    assert jobs.loc[0, "usd"] == P.glue_job_usd(run["ExecutionTime"], 2.0)[1]
    assert jobs.loc[0, "billed_dpu_hours"] >= 2 * 60 / 3600 - 1e-6
    # the crawl: ListCrawls' times, billed 10 minutes
    crawl = ep.client("glue").list_crawls(CrawlerName=f"{PREFIX}-crawler")["Crawls"][0]
    crawls = d["crawls"]
    assert len(crawls) == 1 and crawls.loc[0, "billed_seconds"] == 600
    wall = (crawl["EndTime"] - crawl["StartTime"]).total_seconds()
    assert crawls.loc[0, "seconds"] == pytest.approx(wall, abs=0.1)
    assert crawls.loc[0, "usd"] == P.crawl_usd(wall, crawl.get("DPUHour"))[1] == round(600 / 3600 * 0.44, 6)
    # Athena: the DDL and the failed query are free, the SELECT bills its bytes (>= 10 MB)
    q = lake["queries"]
    athena = d["athena"].set_index("query")
    assert set(athena.index) == {q["ddl"]["QueryExecutionId"], q["select"]["QueryExecutionId"],
                                 q["failed"]["QueryExecutionId"]}          # not the 'primary' one
    assert q["select"]["Status"]["State"] == "SUCCEEDED" and q["failed"]["Status"]["State"] == "FAILED"
    scanned = q["select"]["Statistics"]["DataScannedInBytes"]
    assert scanned > 0
    sel = athena.loc[q["select"]["QueryExecutionId"]]
    assert sel.scanned_bytes == scanned and sel.billed_bytes == max(math.ceil(scanned / MB), 10) * MB
    assert athena.loc[q["ddl"]["QueryExecutionId"], "usd"] == athena.loc[q["failed"]["QueryExecutionId"], "usd"] == 0
    # Lambda: one REPORT line per invocation, at the configured 256 MB
    calls = d["lambda"]
    assert len(calls) == 2 and set(calls.memory_mb) == {256} and (calls.billed_ms >= 1).all()
    assert calls.usd.sum() == pytest.approx(P.lambda_usd(calls.billed_ms.sum(), 256)[1] + 2 * 0.2e-6)
    assert calls.loc[calls.billed_ms.idxmax(), "billed_ms"] >= 200           # the one that slept 0.2 s
    # S3: the bucket's versions as ListObjectVersions lists them
    listed = ep.client("s3").list_object_versions(Bucket=BUCKET).get("Versions", [])
    s3 = d["s3"].set_index("bucket")
    assert s3.loc[BUCKET, "versions"] == len(listed) and s3.loc[BUCKET, "bytes"] == sum(v["Size"] for v in listed)
    assert s3.loc[BUCKET, "puts"] == len(listed) >= 2
    # the key and the secret, prorated since they were created
    assert len(d["kms"]) == 1 and d["kms"].loc[0, "usd"] == P.kms_key_usd(d["kms"].loc[0, "hours"])
    assert len(d["secrets"]) == 1 and d["secrets"].loc[0, "secret"] == f"{PREFIX}-token"
    assert d["stepfunctions"].empty


def test_local_crawl_reports_at_most_one_dpu_of_its_wall_time(lake):
    """Pins the ledger row: the local crawler's DPUHour is its engine's own run time on one DPU
    (no more than the wall time of StartTime..EndTime), so a local crawl always prices as 1 DPU."""
    crawl = lake["ep"].client("glue").list_crawls(CrawlerName=f"{PREFIX}-crawler")["Crawls"][0]
    wall_hours = (crawl["EndTime"] - crawl["StartTime"]).total_seconds() / 3600
    assert 0 < crawl["DPUHour"] <= wall_hours + 1e-6


def test_a_cold_start_bills_its_init_duration(lake):
    """Since 2025-08-01 AWS bills the INIT phase of ZIP functions on managed runtimes: a cold
    start's Billed Duration is ceil(Duration + Init Duration); a warm one bills the handler only."""
    import re

    logs = lake["ep"].client("logs")
    lines = [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{PREFIX}-fn")["events"]
             if e["message"].startswith("REPORT")]
    cold = [m for m in lines if "Init Duration" in m]
    warm = [m for m in lines if "Init Duration" not in m]
    assert len(lines) == 2 and len(cold) == 1, lines
    duration, billed, init = (float(re.search(rf"{k}: ([\d.]+) ms", cold[0])[1])
                              for k in ("\tDuration", "Billed Duration", "Init Duration"))
    assert init > 0 and billed == max(1, math.ceil(duration + init))
    w_duration, w_billed = (float(re.search(rf"{k}: ([\d.]+) ms", warm[0])[1])
                            for k in ("\tDuration", "Billed Duration"))
    assert w_billed == max(1, math.ceil(w_duration))


def test_summary_rows_add_up_to_the_details(lake):
    until = dt.datetime.now(dt.UTC)
    s = lake["s"]
    frame = cost.summary(s=s, until=until)
    d = cost.details(s=s, until=until)
    assert list(frame.columns) == cost.SUMMARY_COLUMNS and len(frame) <= 10
    rows = frame.set_index("service")
    assert set(rows.index) == {"Glue job runs", "Glue crawls", "Athena queries", "Lambda requests",
                               "Lambda duration", "S3 storage", "S3 PUT requests", "KMS key", "Secrets Manager"}
    assert rows.loc["Glue crawls", "usd"] == pytest.approx(d["crawls"].usd.sum(), abs=1e-6)
    assert rows.loc["Lambda requests", "usage"] == 2 and rows.loc["Lambda requests", "unit"] == "requests"
    assert frame.attrs["total"] == pytest.approx(sum(f.usd.sum() for f in d.values()), abs=1e-5)
    assert frame.attrs["total"] > P.crawl_usd(1)[1] / 2 > 0   # at least the crawl's 10-minute minimum
    assert frame.attrs["since"] == cost.lake(s=s).created


def test_a_window_after_the_run_bills_no_run_or_query(lake):
    s = lake["s"]
    later = dt.datetime.now(dt.UTC)
    frame = cost.summary(since=later, s=s, until=later + dt.timedelta(seconds=1))
    assert not {"Glue job runs", "Glue crawls", "Athena queries", "Lambda requests"} & set(frame.service)
    assert frame.attrs["total"] < 0.0001                       # one second of key, secret, storage
    step = cost.running_total(since=later, s=s)
    assert step.this.attrs["total"] < step.so_far.attrs["total"]
    assert step.details["glue_jobs"].empty and len(step.so_far_details["glue_jobs"]) == 1
    assert cost.summarize(step.so_far_details).attrs["total"] == step.so_far.attrs["total"]
    assert step.line.startswith("this notebook: $0.0000") and "workshop so far: $" in step.line
    assert len(step.table()) <= 10


def test_a_notebook_that_started_before_the_stack_never_costs_more_than_the_workshop(lake):
    """Notebook 01's kernel starts before it creates the stack: "so far" (since the stack's
    CreationTime) must still cover this notebook (CI once saw $0.000028 against $0.000027)."""
    s = lake["s"]
    created = cost.lake(s=s).created
    step = cost.running_total(since=created - dt.timedelta(hours=1), s=s)
    assert step.so_far.attrs["since"] == step.this.attrs["since"] < created
    assert step.so_far.attrs["total"] >= step.this.attrs["total"] > 0


def test_another_prefix_has_nothing_to_cost(lake):
    s = lake["s"]
    nothing = cost.summary(s=s, prefix="nobody")
    assert nothing.empty and nothing.attrs["total"] == 0
    assert cost.lake(prefix="nobody", s=s).resources == {}
    idle = cost.standing_cost(s=s, days=30).set_index("service")
    assert idle.loc["KMS key", "usage"] == 1 and idle.loc["KMS key", "usd"] == pytest.approx(720 / 730, abs=1e-6)
    assert idle.loc["Secrets Manager", "usd"] == pytest.approx(0.4 * 720 / 730, abs=1e-6)


def test_notebook_started_is_this_process_and_can_be_overridden(monkeypatch):
    started = cost.notebook_started()
    assert started <= dt.datetime.now(dt.UTC) and started.tzinfo is not None
    monkeypatch.setenv("LAKEKIT_COST_SINCE", "2025-06-01T09:00:00")
    assert cost.notebook_started() == dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC)
    monkeypatch.setenv("LAKEKIT_COST_SINCE", "yesterday")
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        cost.notebook_started()
