"""A pipeline-shaped execution, what cloudformation/pipeline.yaml's state machine does: Glue
startJobRun.sync -> aws-sdk:glue:startCrawler -> Wait / GetCrawler / Choice loop -> SNS publish,
with a real (tiny) job and crawler behind the endpoint."""
from __future__ import annotations

import io
import json
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from tests.iam.roles import service_role
from tests.stepfunctions.conftest import ACCOUNT, entered

CRAWL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/lakekit-sfn-tests-crawler"


def _definition(job: str, crawler: str, topic: str) -> dict:
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 2.0,
              "MaxAttempts": 2}]
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    return {"StartAt": "Transform", "States": {
        "Transform": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                      "Parameters": {"JobName": job}, "ResultPath": "$.job",
                      "Retry": retry, "Catch": catch, "Next": "StartCrawler"},
        "StartCrawler": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:glue:startCrawler",
                         "Parameters": {"Name": crawler}, "ResultPath": None,
                         "Retry": retry, "Catch": catch, "Next": "WaitCrawl"},
        "WaitCrawl": {"Type": "Wait", "Seconds": 5, "Next": "GetCrawler"},
        "GetCrawler": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:glue:getCrawler",
                       "Parameters": {"Name": crawler},
                       "ResultSelector": {"State.$": "$.Crawler.State"},
                       "ResultPath": "$.crawler", "Retry": retry, "Catch": catch,
                       "Next": "Crawling?"},
        # LastCrawl appears only once a crawl has finished: look at it when the crawler is READY
        "Crawling?": {"Type": "Choice", "Choices": [
            {"Variable": "$.crawler.State", "StringEquals": "READY", "Next": "LastCrawl"}],
            "Default": "WaitCrawl"},
        "LastCrawl": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:glue:getCrawler",
                      "Parameters": {"Name": crawler},
                      "ResultSelector": {"Status.$": "$.Crawler.LastCrawl.Status"},
                      "ResultPath": "$.crawl", "Retry": retry, "Catch": catch,
                      "Next": "Crawled?"},
        "Crawled?": {"Type": "Choice", "Choices": [
            {"Variable": "$.crawl.Status", "StringEquals": "SUCCEEDED", "Next": "Notify"}],
            "Default": "NotifyFailure"},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                   "Parameters": {"TopicArn": topic, "Message.$": "States.Format("
                                  "'pipeline ok: run {} crawl {}', $.job.Id, "
                                  "$.crawl.Status)"}, "End": True},
        "NotifyFailure": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                          "Parameters": {"TopicArn": topic, "Message.$": "States.JsonToString($)"},
                          "ResultPath": None, "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "PipelineFailed"}}}


def test_pipeline_job_then_crawler_loop_then_notify(lab):
    tag = uuid.uuid4().hex[:6]
    db = f"sfn_pipe_{tag}"
    lab.glue.create_database(DatabaseInput={"Name": db})
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]}), buf)
    lab.s3.put_object(Bucket=lab.art, Key=f"lake/{tag}/items/part-0.parquet", Body=buf.getvalue())
    service_role(lab.endpoint, CRAWL_ROLE, "glue.amazonaws.com",
                 ["s3:GetObject", "s3:ListBucket", "glue:*", "logs:*"])
    crawler = f"sfn-crawl-{tag}"
    lab.glue.create_crawler(Name=crawler, Role=CRAWL_ROLE, DatabaseName=db,
                            Targets={"S3Targets": [{"Path": f"s3://{lab.art}/lake/{tag}/"}]})
    job = lab.job("ok_job.py")
    role = lab.role(statements=[
        {"Action": ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
         "Resource": [f"arn:aws:glue:us-east-1:{ACCOUNT}:job/{job}"]},
        {"Action": ["glue:StartCrawler", "glue:GetCrawler"],
         "Resource": [f"arn:aws:glue:us-east-1:{ACCOUNT}:crawler/{crawler}"]},
        {"Action": ["sns:Publish"], "Resource": [lab.topic]}])
    sm = lab.machine(_definition(job, crawler, lab.topic), role)
    desc, events = lab.run(sm, {"dataset": "items"}, timeout=300)
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"), [
        e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"])
    names = entered(events)
    assert names[:4] == ["Transform", "StartCrawler", "WaitCrawl", "GetCrawler"]
    assert names[-4:] == ["Crawling?", "LastCrawl", "Crawled?", "Notify"]
    loop = names[2:-3]                          # WaitCrawl, GetCrawler, Crawling? repeated
    assert len(loop) % 3 == 0 and loop == ["WaitCrawl", "GetCrawler", "Crawling?"] * (len(loop) // 3)
    assert "NotifyFailure" not in names and not [e for e in events if e["type"] == "TaskFailed"]
    run_id = json.loads(next(e for e in events if e["type"] == "TaskSubmitted")[
        "taskSubmittedEventDetails"]["output"])["JobRunId"]
    assert lab.messages(1) == [f"pipeline ok: run {run_id} crawl SUCCEEDED"]
    tables = [t["Name"] for t in lab.glue.get_tables(DatabaseName=db)["TableList"]]
    assert tables == ["items"]                   # the crawler really ran


def test_pipeline_role_without_start_crawler_takes_the_failure_branch(lab):
    tag = uuid.uuid4().hex[:6]
    job = lab.job("ok_job.py")
    crawler = f"sfn-nocrawl-{tag}"
    role = lab.role(["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "sns:Publish"])
    sm = lab.machine(_definition(job, crawler, lab.topic), role)
    desc, events = lab.run(sm, timeout=300)
    assert (desc["status"], desc["error"]) == ("FAILED", "PipelineFailed")
    assert entered(events) == ["Transform", "StartCrawler", "NotifyFailure", "Failed"]
    failed = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert len(failed) == 3 and {f["error"] for f in failed} == {"Glue.AccessDeniedException"}
    body = json.loads(lab.messages(1)[0])
    assert body["error"]["Error"] == "Glue.AccessDeniedException"
    assert "glue:StartCrawler" in body["error"]["Cause"]
