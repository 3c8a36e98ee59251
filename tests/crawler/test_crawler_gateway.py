"""Glue crawlers through the local endpoint (gateway executors in
lakekit/local/services/glue_crawler.py): StartCrawler / StopCrawler / GetCrawler(s) /
GetCrawlerMetrics / ListCrawls, CloudWatch logs, triggers and restart recovery.

Uses the real endpoint process (``endpoint`` fixture); data is written to the endpoint's S3
with pyarrow. Every wait has a deadline.
"""

from __future__ import annotations

import json
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from _waits import crawler_ready
from botocore.exceptions import ClientError
from conftest import write_partitioned
from pyarrow import fs as pafs

from tests.cfn._stacks import kill_after_snapshot
from tests.iam.roles import service_role

ROLE = "arn:aws:iam::123456789012:role/glue"


def _fs(ep) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(endpoint_override=ep.url.split("://")[1], scheme="http",
                             access_key="test", secret_key="test", region="us-east-1")


def _setup(ep, tag: str) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:6]
    bucket, db = f"{tag}-{suffix}", f"{tag}_{suffix}".replace("-", "_")
    ep.client("s3").create_bucket(Bucket=bucket)
    ep.client("glue").create_database(DatabaseInput={"Name": db})
    service_role(ep, ROLE, "glue.amazonaws.com", ["s3:GetObject", "s3:ListBucket", "glue:*", "logs:*"])
    return bucket, db


def _crawler(glue, db: str, path: str, **kw) -> str:
    name = kw.pop("name", None) or f"c-{uuid.uuid4().hex[:6]}"
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=db,
                        Targets={"S3Targets": [{"Path": path}]}, **kw)
    return name


@pytest.fixture(scope="module")
def small(flights_all):
    """Real flights of 2013-01-01..07 and 2013-02-01..03: 10 day partitions."""
    t = flights_all
    mask = pc.or_(
        pc.and_(pc.equal(t["month"], 1), pc.less_equal(t["day"], 7)),
        pc.and_(pc.equal(t["month"], 2), pc.less_equal(t["day"], 3)),
    )
    return t.filter(mask)


@pytest.fixture(scope="module")
def crawled(endpoint, small):
    """One crawler that crawled the small dataset once (state shared by several tests)."""
    bucket, db = _setup(endpoint, "gw")
    write_partitioned(small, _fs(endpoint), f"{bucket}/flights")
    glue = endpoint.client("glue")
    name = _crawler(glue, db, f"s3://{bucket}/flights/")
    glue.start_crawler(Name=name)
    crawler = crawler_ready(glue, name)
    return {"bucket": bucket, "db": db, "name": name, "crawler": crawler}


@pytest.fixture(scope="module")
def many(endpoint, small):
    """A dataset of 360 one-file day partitions (slow enough to be caught RUNNING)."""
    bucket, db = _setup(endpoint, "many")
    rows = small.slice(0, 360)
    days = pa.array([1 + i % 28 for i in range(360)], pa.int64())
    months = pa.array([1 + i // 28 for i in range(360)], pa.int64())
    rows = rows.set_column(rows.schema.get_field_index("day"), "day", days)
    rows = rows.set_column(rows.schema.get_field_index("month"), "month", months)
    write_partitioned(rows, _fs(endpoint), f"{bucket}/flights")
    return bucket, db


def test_crawl_creates_table_with_partitions(endpoint, crawled, small):
    glue, db, c = endpoint.client("glue"), crawled["db"], crawled["crawler"]
    assert c["State"] == "READY"
    assert c["CrawlElapsedTime"] == 0
    last = c["LastCrawl"]
    assert last["Status"] == "SUCCEEDED", last.get("ErrorMessage")
    assert "ErrorMessage" not in last
    assert (last["LogGroup"], last["LogStream"]) == ("/aws-glue/crawlers", crawled["name"])
    tables = glue.get_tables(DatabaseName=db)["TableList"]
    assert [t["Name"] for t in tables] == ["flights"]
    t = tables[0]
    assert [k["Name"] for k in t["PartitionKeys"]] == ["year", "month", "day"]
    assert t["StorageDescriptor"]["Location"] == f"s3://{crawled['bucket']}/flights/"
    assert t["Parameters"]["classification"] == "parquet"
    cols = [(col["Name"], col["Type"]) for col in t["StorageDescriptor"]["Columns"]]
    expected = [n for n in small.schema.names if n not in ("year", "month", "day")]
    assert [n for n, _ in cols] == expected
    assert dict(cols)["carrier"] == "string" and dict(cols)["dep_delay"] == "bigint"
    parts = glue.get_partitions(DatabaseName=db, TableName="flights")["Partitions"]
    assert len(parts) == 10
    assert sorted(tuple(p["Values"]) for p in parts)[:2] == [("2013", "1", "1"), ("2013", "1", "2")]


def test_get_crawlers_merges_state(endpoint, crawled):
    got = {c["Name"]: c for c in endpoint.client("glue").get_crawlers()["Crawlers"]}
    mine = got[crawled["name"]]
    assert mine["State"] == "READY"
    assert mine["LastCrawl"]["Status"] == "SUCCEEDED"
    assert mine["DatabaseName"] == crawled["db"]


def test_metrics_after_first_crawl(endpoint, crawled):
    m = endpoint.client("glue").get_crawler_metrics(
        CrawlerNameList=[crawled["name"]])["CrawlerMetricsList"]
    assert len(m) == 1
    m = m[0]
    assert m["CrawlerName"] == crawled["name"]
    assert (m["TablesCreated"], m["TablesUpdated"], m["TablesDeleted"]) == (1, 0, 0)
    assert m["LastRuntimeSeconds"] > 0
    assert m["MedianRuntimeSeconds"] == m["LastRuntimeSeconds"]
    assert m["StillEstimating"] is False and m["TimeLeftSeconds"] == 0


def test_logs_written_like_glue(endpoint, crawled):
    logs = endpoint.client("logs")
    events = logs.get_log_events(logGroupName="/aws-glue/crawlers",
                                 logStreamName=crawled["name"], startFromHead=True)["events"]
    lines = [e["message"] for e in events]
    prefix = f"[{crawled['crawler']['LastCrawl']['MessagePrefix']}]"
    assert all(line.startswith(prefix) for line in lines)
    assert lines[0] == f"{prefix} BENCHMARK : Running Start Crawl for Crawler {crawled['name']}"
    assert f"{prefix} INFO : Created table flights in database {crawled['db']}" in lines
    assert any(" BENCHMARK : Finished writing to Catalog" in line for line in lines)
    assert lines[-1] == f"{prefix} BENCHMARK : Crawler has finished running and is in state READY"


def test_recrawl_without_change_adds_no_version_and_lists_crawls(endpoint, crawled):
    glue, db, name = endpoint.client("glue"), crawled["db"], crawled["name"]
    before = glue.get_table_versions(DatabaseName=db, TableName="flights")["TableVersions"]
    glue.start_crawler(Name=name)
    c = crawler_ready(glue, name)
    assert c["LastCrawl"]["Status"] == "SUCCEEDED"
    assert c["LastCrawl"]["MessagePrefix"] != crawled["crawler"]["LastCrawl"]["MessagePrefix"]
    after = glue.get_table_versions(DatabaseName=db, TableName="flights")["TableVersions"]
    assert len(after) == len(before) == 1
    assert len(glue.get_partitions(DatabaseName=db, TableName="flights")["Partitions"]) == 10
    m = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert (m["TablesCreated"], m["TablesUpdated"], m["TablesDeleted"]) == (0, 0, 0)

    crawls = glue.list_crawls(CrawlerName=name)["Crawls"]
    assert len(crawls) == 2
    newest, first = crawls
    assert newest["CrawlId"] == c["LastCrawl"]["MessagePrefix"]
    assert [x["State"] for x in crawls] == ["COMPLETED", "COMPLETED"]
    assert json.loads(first["Summary"]) == {"TABLE": {"ADD": {"Count": 1}},
                                            "PARTITION": {"ADD": {"Count": 10}}}
    assert json.loads(newest["Summary"]) == {}
    for x in crawls:
        assert (x["LogGroup"], x["LogStream"]) == ("/aws-glue/crawlers", name)
        assert x["EndTime"] >= x["StartTime"]
        assert x["DPUHour"] >= 0
        assert "ErrorMessage" not in x
    only = glue.list_crawls(CrawlerName=name, Filters=[
        {"FieldName": "CRAWL_ID", "FilterOperator": "EQ", "FieldValue": first["CrawlId"]}])["Crawls"]
    assert [x["CrawlId"] for x in only] == [first["CrawlId"]]
    none = glue.list_crawls(CrawlerName=name, Filters=[
        {"FieldName": "STATE", "FilterOperator": "EQ", "FieldValue": "FAILED"}])["Crawls"]
    assert none == []
    page = glue.list_crawls(CrawlerName=name, MaxResults=1)
    assert [x["CrawlId"] for x in page["Crawls"]] == [newest["CrawlId"]]
    page2 = glue.list_crawls(CrawlerName=name, MaxResults=1, NextToken=page["NextToken"])
    assert [x["CrawlId"] for x in page2["Crawls"]] == [first["CrawlId"]]


def test_unknown_crawler_errors(endpoint):
    glue = endpoint.client("glue")
    for call in (glue.start_crawler, glue.stop_crawler, glue.get_crawler):
        with pytest.raises(ClientError) as e:
            call(Name="no-such-crawler")
        assert e.value.response["Error"]["Code"] == "EntityNotFoundException"
        assert "no-such-crawler" in e.value.response["Error"]["Message"]


def test_stop_when_not_running(endpoint, crawled):
    with pytest.raises(ClientError) as e:
        endpoint.client("glue").stop_crawler(Name=crawled["name"])
    assert e.value.response["Error"]["Code"] == "CrawlerNotRunningException"


def test_start_while_running_then_stop_is_cancelled(endpoint, many):
    bucket, db = many
    glue = endpoint.client("glue")
    name = _crawler(glue, db, f"s3://{bucket}/flights/")
    glue.start_crawler(Name=name)
    running = glue.get_crawler(Name=name)["Crawler"]
    assert running["State"] == "RUNNING"
    assert "LastCrawl" not in running
    with pytest.raises(ClientError) as e:
        glue.start_crawler(Name=name)
    assert e.value.response["Error"]["Code"] == "CrawlerRunningException"
    m = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert m["TablesCreated"] == 0  # nothing finished yet
    glue.stop_crawler(Name=name)
    assert glue.get_crawler(Name=name)["Crawler"]["State"] in ("STOPPING", "READY")
    c = crawler_ready(glue, name)
    assert c["LastCrawl"]["Status"] == "CANCELLED"
    assert glue.get_tables(DatabaseName=db)["TableList"] == []
    crawls = glue.list_crawls(CrawlerName=name)["Crawls"]
    assert [x["State"] for x in crawls] == ["STOPPED"]
    events = endpoint.client("logs").get_log_events(
        logGroupName="/aws-glue/crawlers", logStreamName=name, startFromHead=True)["events"]
    assert any("Crawler stopped by StopCrawler" in e["message"] for e in events)


def test_failed_crawl_reports_error(endpoint):
    bucket, _db = _setup(endpoint, "fail")
    glue = endpoint.client("glue")
    name = _crawler(glue, "no_such_db", f"s3://{bucket}/x/")
    glue.start_crawler(Name=name)
    c = crawler_ready(glue, name)
    assert c["LastCrawl"]["Status"] == "FAILED"
    assert "database no_such_db not found" in c["LastCrawl"]["ErrorMessage"]
    crawls = glue.list_crawls(CrawlerName=name)["Crawls"]
    assert crawls[0]["State"] == "FAILED"
    assert "no_such_db" in crawls[0]["ErrorMessage"]
    events = endpoint.client("logs").get_log_events(
        logGroupName="/aws-glue/crawlers", logStreamName=name, startFromHead=True)["events"]
    assert any(" ERROR : database no_such_db not found" in e["message"] for e in events)


def test_conditional_trigger_on_job_success_starts_crawler(endpoint, small):
    from lakekit.local.services.glue_crawler import on_glue_job_state

    bucket, db = _setup(endpoint, "trig")
    write_partitioned(small.slice(0, 50), _fs(endpoint), f"{bucket}/flights")
    glue = endpoint.client("glue")
    job = f"etl-{uuid.uuid4().hex[:6]}"
    active = _crawler(glue, db, f"s3://{bucket}/flights/")
    inactive = _crawler(glue, db, f"s3://{bucket}/flights/")
    # moto 5.2.5 needs Logical (AWS defaults it to AND)
    pred = {"Logical": "AND", "Conditions": [{"LogicalOperator": "EQUALS", "JobName": job, "State": "SUCCEEDED"}]}
    glue.create_trigger(Name=f"t-{active}", Type="CONDITIONAL", Predicate=pred,
                        Actions=[{"CrawlerName": active}], StartOnCreation=True)
    glue.create_trigger(Name=f"t-{inactive}", Type="CONDITIONAL", Predicate=pred,
                        Actions=[{"CrawlerName": inactive}], StartOnCreation=False)

    assert on_glue_job_state(job, "FAILED", "jr_0", endpoint_url=endpoint.url) == []
    assert on_glue_job_state("other-job", "SUCCEEDED", "jr_x", endpoint_url=endpoint.url) == []
    assert "LastCrawl" not in glue.get_crawler(Name=active)["Crawler"]

    started = on_glue_job_state(job, "SUCCEEDED", "jr_1", endpoint_url=endpoint.url)
    assert started == [f"crawler:{active}"]
    c = crawler_ready(glue, active)
    assert c["LastCrawl"]["Status"] == "SUCCEEDED"
    assert [t["Name"] for t in glue.get_tables(DatabaseName=db)["TableList"]] == ["flights"]
    other = glue.get_crawler(Name=inactive)["Crawler"]
    assert other["State"] == "READY" and "LastCrawl" not in other


def test_crawl_interrupted_by_restart_comes_back_failed(fresh_endpoint, small, monkeypatch):
    ep = fresh_endpoint
    monkeypatch.setenv("LAKEKIT_CRAWL_FILE_DELAY_S", "0.05")  # >= 20 s crawl: the kill lands mid-crawl
    ep.stop()
    ep.start()
    bucket, db = _setup(ep, "rst")
    rows = small.slice(0, 400)
    fs = _fs(ep)
    for i in range(400):  # one file per object, one folder: many footers to read
        pq.write_table(rows.slice(i, 1), f"{bucket}/flights/part-{i:04d}.parquet", filesystem=fs)
    glue = ep.client("glue")
    name = _crawler(glue, db, f"s3://{bucket}/flights/")

    s3 = ep.client("s3")
    glue.start_crawler(Name=name)

    def still_running() -> None:
        assert glue.get_crawler(Name=name)["Crawler"]["State"] == "RUNNING", (
            "the crawl finished before the endpoint could be killed; make the dataset larger")

    # a snapshot taken wholly after StartCrawler is on disk when the endpoint is killed
    kill_after_snapshot(ep, lambda: s3.put_object(Bucket=bucket, Key="_nudge/x", Body=b"1"), still_running)
    monkeypatch.delenv("LAKEKIT_CRAWL_FILE_DELAY_S")
    ep.start()
    glue = ep.client("glue")
    c = glue.get_crawler(Name=name)["Crawler"]
    assert c["State"] == "READY"
    assert c["LastCrawl"]["Status"] == "FAILED"
    assert "interrupted by endpoint restart" in c["LastCrawl"]["ErrorMessage"]
    assert glue.list_crawls(CrawlerName=name)["Crawls"][0]["State"] == "FAILED"
    glue.start_crawler(Name=name)  # and it can run again
    c = crawler_ready(glue, name, timeout=180)
    assert c["LastCrawl"]["Status"] == "SUCCEEDED"
    assert glue.get_table(DatabaseName=db, Name="flights")["Table"]["Parameters"][
        "objectCount"] == "400"
