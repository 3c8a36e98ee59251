"""Crawls as runs of lakekit/local/services/glue_crawler.CRAWLS, without an endpoint: what a restart
leaves, the views built from the records, ListCrawls filters and the history's lifetime."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from lakekit.local.registry import AwsError
from lakekit.local.services import glue_crawler as gc

ACCT, REGION = "123456789012", "us-east-1"
T0 = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


@pytest.fixture
def crawler():
    """A crawler name whose crawl records are removed after the test."""
    name = f"c-{uuid.uuid4().hex[:6]}"
    yield name
    for c in gc._crawls(ACCT, REGION, name):
        gc.CRAWLS.pop(ACCT, REGION, c["CrawlId"])
        gc.CRAWLS.controls.pop(f"{ACCT}|{REGION}|{c['CrawlId']}", None)
    gc.CRAWLERS.pop(gc._key(ACCT, REGION, name), None)


def _crawl(name: str, state: str, start: datetime, *, status: str | None = None,
           seconds: float = 0.0, control: bool = False) -> dict:
    crawl_id = str(uuid.uuid4())
    metrics = gc._zero_metrics(name) | {"TablesCreated": 1, "LastRuntimeSeconds": seconds}
    return gc.CRAWLS.add(ACCT, REGION, crawl_id, {
        "CrawlId": crawl_id, "State": state, "StartTime": start,
        "EndTime": start + timedelta(seconds=seconds) if status else None, "Summary": None,
        "ErrorMessage": None, "LogGroup": gc.LOG_GROUP, "LogStream": name, "MessagePrefix": crawl_id,
        "DPUHour": 0.0, "_crawler": name, "_status": status, "_metrics": metrics if status else None,
        "_seconds": seconds}, control=control)


def _recover_again() -> list[dict]:
    gc.CRAWLS._recovered = False
    return gc.CRAWLS.recover()


def test_a_restart_fails_a_running_crawl_and_cancels_a_stopping_one(crawler):
    other = crawler + "-b"
    running = _crawl(crawler, "RUNNING", T0)
    stopping = _crawl(other, "STOPPING", T0)
    try:
        lost = _recover_again()
        assert {c["CrawlId"] for c in lost} >= {running["CrawlId"], stopping["CrawlId"]}
        assert (running["State"], running["_status"]) == ("FAILED", "FAILED")
        assert running["ErrorMessage"].startswith("interrupted by endpoint restart: the crawl did not finish")
        assert (stopping["State"], stopping["_status"]) == ("STOPPED", "CANCELLED")
        assert stopping["ErrorMessage"].startswith("interrupted by endpoint restart while stopping")
        assert running["EndTime"] > T0 and running["_metrics"] == gc._zero_metrics(crawler)
        assert [s for s, _ in gc.CRAWLS.history_of(stopping)] == ["STOPPING", "STOPPED"]
        view = gc._merged({"Name": other}, ACCT, REGION)
        assert view["State"] == "READY" and view["CrawlElapsedTime"] == 0
        assert view["LastCrawl"]["Status"] == "CANCELLED"
        assert view["LastCrawl"]["MessagePrefix"] == stopping["CrawlId"]
    finally:
        for c in gc._crawls(ACCT, REGION, other):
            gc.CRAWLS.pop(ACCT, REGION, c["CrawlId"])


def test_state_and_metrics_come_from_the_crawl_records(crawler):
    _crawl(crawler, "COMPLETED", T0, status="SUCCEEDED", seconds=2.0)
    _crawl(crawler, "FAILED", T0 + timedelta(minutes=1), status="FAILED", seconds=9.0)
    last = _crawl(crawler, "COMPLETED", T0 + timedelta(minutes=2), status="SUCCEEDED", seconds=4.0)
    live = _crawl(crawler, "STOPPING", T0 + timedelta(minutes=3), control=True)  # in flight here
    view = gc._merged({"Name": crawler}, ACCT, REGION)
    assert view["State"] == "STOPPING" and view["LastCrawl"]["MessagePrefix"] == last["CrawlId"]
    m = gc._metrics(ACCT, REGION, crawler)
    assert (m["LastRuntimeSeconds"], m["MedianRuntimeSeconds"], m["TablesCreated"]) == (4.0, 3.0, 1)
    assert m["StillEstimating"] is False  # no Crawl in flight in this process: no progress to read
    # ListCrawls: newest first; a crawl being stopped is RUNNING there (no STOPPING in the enum)
    rows = [gc._history_view(c) for c in reversed(gc._crawls(ACCT, REGION, crawler))]
    assert [r["State"] for r in rows] == ["RUNNING", "COMPLETED", "FAILED", "COMPLETED"]
    assert all(not k.startswith("_") for r in rows for k in r)
    assert rows[0]["MessagePrefix"] == live["CrawlId"]
    with pytest.raises(AwsError) as e:
        gc._start({"Name": crawler}, ACCT, REGION, "test", "http://127.0.0.1:9")
    assert e.value.code == "CrawlerRunningException" and "state STOPPING" in e.value.message


def test_list_crawls_time_filters_are_epoch_milliseconds(crawler):
    crawl = gc._history_view(_crawl(crawler, "COMPLETED", T0, status="SUCCEEDED", seconds=5.0))
    ms = int(T0.timestamp() * 1000)
    f = [{"FieldName": "START_TIME", "FilterOperator": "GE", "FieldValue": str(ms)}]
    assert gc._matches(crawl, f) is True
    f = [{"FieldName": "END_TIME", "FilterOperator": "GT", "FieldValue": str(ms + 5000)}]
    assert gc._matches(crawl, f) is False
    with pytest.raises(AwsError) as e:
        gc._matches(crawl, [{"FieldName": "START_TIME", "FilterOperator": "EQ", "FieldValue": "soon"}])
    assert e.value.code == "InvalidInputException" and "epoch milliseconds" in e.value.message


def test_a_refused_create_crawler_keeps_the_history_and_a_delete_drops_it(crawler):
    done = _crawl(crawler, "COMPLETED", T0, status="SUCCEEDED", seconds=1.0)
    gc.CRAWLERS[gc._key(ACCT, REGION, crawler)] = {"previous": {"crawled_folders": ["a/"]}}
    req = SimpleNamespace(account_id=ACCT, region=REGION, params={"Name": crawler})
    gc._deleted(req, 400, {})  # CreateCrawler -> AlreadyExistsException
    assert gc.CRAWLS.get(ACCT, REGION, done["CrawlId"]) is done
    gc._deleted(req, 200, {})
    assert gc._crawls(ACCT, REGION, crawler) == []
    assert gc._key(ACCT, REGION, crawler) not in gc.CRAWLERS


def test_crawls_of_an_older_snapshot_are_adopted(crawler):
    key = gc._key(ACCT, REGION, crawler)
    crawl_id = str(uuid.uuid4())
    gc.CRAWLERS[key] = {"name": crawler, "state": "READY", "previous": {"tables": {}}, "runtimes": [1.5],
                        "metrics": gc._zero_metrics(crawler) | {"TablesUpdated": 2},
                        "crawls": [{"CrawlId": crawl_id, "State": "COMPLETED", "Status": "SUCCEEDED",
                                    "StartTime": T0, "EndTime": T0, "Summary": "{}", "ErrorMessage": None,
                                    "LogGroup": gc.LOG_GROUP, "LogStream": crawler, "DPUHour": 0.0}]}
    gc._adopt_legacy()
    assert gc.CRAWLERS[key] == {"previous": {"tables": {}}}
    rec = gc.CRAWLS.get(ACCT, REGION, crawl_id)
    assert (rec["_crawler"], rec["_status"], rec["MessagePrefix"]) == (crawler, "SUCCEEDED", crawl_id)
    assert gc._metrics(ACCT, REGION, crawler)["TablesUpdated"] == 2


def test_the_crawl_store_bounds_its_workers():
    """Parity-ledger pin: more than 16 crawls at once wait RUNNING locally (AWS runs distinct
    crawlers up to the account's quotas)."""
    assert gc.CRAWLS.workers == gc.WORKERS == 16
    assert gc.CRAWLS.lifecycle.active == {"RUNNING", "STOPPING"}
