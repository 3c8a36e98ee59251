"""The readers on canned API answers: what falls in the window, running runs, REPORT lines,
versions' byte-hours, keys pending deletion (values hand-computed)."""
from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from lakekit.cost import prices as P
from lakekit.cost import usage
from lakekit.cost.usage import Window

T0 = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
W = Window(T0, T0 + dt.timedelta(hours=2))


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class Pages:
    def __init__(self, pages):
        self.pages = pages

    def paginate(self, **kwargs):
        return iter(self.pages(**kwargs) if callable(self.pages) else self.pages)


def missing(code="EntityNotFoundException"):
    return ClientError({"Error": {"Code": code, "Message": "not found"}}, "Op")


class FakeGlue:
    def __init__(self, runs=None, crawls=None):
        self.runs, self.crawls = runs or {}, crawls or {}

    def get_paginator(self, name):
        assert name == "get_job_runs"

        def pages(JobName):
            if JobName not in self.runs:
                raise missing()
            return [{"JobRuns": self.runs[JobName]}]
        return Pages(pages)

    def list_crawls(self, CrawlerName, MaxResults, NextToken=None):
        pages = self.crawls[CrawlerName]
        i = int(NextToken or 0)
        out = {"Crawls": pages[i]}
        if i + 1 < len(pages):
            out["NextToken"] = str(i + 1)
        return out


def run(rid, start, seconds, state="SUCCEEDED", **kw):
    return {"Id": rid, "StartedOn": start, "ExecutionTime": seconds, "JobRunState": state,
            "WorkerType": "G.1X", "NumberOfWorkers": 2, "GlueVersion": "5.0", **kw}


def test_job_runs_in_the_window_priced_with_the_minimum():
    glue = FakeGlue(runs={"etl": [run("before", at(-5), 300), run("full", at(10), 150),
                                  run("noop", at(30), 20), run("after", at(200), 30)]})
    got = usage.glue_job_runs(glue, ["etl", "gone"], W).set_index("run")
    assert list(got.index) == ["full", "noop"]          # runs started outside the window do not count
    assert got.loc["full", "billed_dpu_hours"] == round(2 * 150 / 3600, 6)
    assert got.loc["noop", "seconds"] == 20 and got.loc["noop", "billed_dpu_hours"] == round(2 * 60 / 3600, 6)
    assert got.usd.sum() == pytest.approx((300 + 120) / 3600 * 0.44, abs=2e-6)


def test_a_running_job_is_priced_on_the_time_so_far():
    glue = FakeGlue(runs={"etl": [run("live", W.until - dt.timedelta(seconds=200), 0, state="RUNNING")]})
    got = usage.glue_job_runs(glue, ["etl"], W)
    assert got.loc[0, "seconds"] == pytest.approx(200) and got.loc[0, "billed_dpu_hours"] == round(400 / 3600, 6)


def test_crawls_paged_ten_minutes_each_and_running_at_the_minimum():
    crawls = [[{"CrawlId": "a", "State": "COMPLETED", "StartTime": at(1), "EndTime": at(2.5),
                "DPUHour": 90 / 3600}],
              [{"CrawlId": "b", "State": "COMPLETED", "StartTime": at(40), "EndTime": at(52),
                "DPUHour": 720 / 3600},
               {"CrawlId": "c", "State": "RUNNING", "StartTime": W.until - dt.timedelta(seconds=30)},
               {"CrawlId": "old", "State": "COMPLETED", "StartTime": at(-30), "EndTime": at(-29)}]]
    first = [{"CrawlId": "d", "State": "RUNNING", "StartTime": at(100)}]
    got = usage.crawls(FakeGlue(crawls={"crawler": crawls, "new": [first]}), ["crawler", "new"],
                       W).set_index("crawl")
    assert list(got.index) == ["a", "b", "c", "d"]
    assert got.loc["a", "seconds"] == 90 and got.loc["a", "billed_seconds"] == 600
    assert got.loc["b", "billed_seconds"] == 720 and got.loc["b", "billed_dpu_hours"] == round(720 / 3600, 6)
    # running: at the DPUs of the latest finished crawl (b: one DPU), for at least 10 minutes
    assert got.loc["c", "billed_seconds"] == 600 and got.loc["c", "usd"] == round(600 / 3600 * 0.44, 6)
    # running, no finished crawl to go by: the default 2 DPUs
    assert got.loc["d", "usd"] == round(2 * 1200 / 3600 * 0.44, 6)


class FakeAthena:
    def __init__(self, executions):
        self.executions = {q["QueryExecutionId"]: q for q in executions}

    def get_paginator(self, name):
        return Pages(lambda WorkGroup: [{"QueryExecutionIds": [q for q, e in self.executions.items()
                                                               if e["WorkGroup"] == WorkGroup]}])

    def batch_get_query_execution(self, QueryExecutionIds):
        assert len(QueryExecutionIds) <= 50
        return {"QueryExecutions": [self.executions[q] for q in QueryExecutionIds]}


def qe(qid, minutes, scanned, state="SUCCEEDED", stype="DML", wg="eng", reused=False):
    st = {"DataScannedInBytes": scanned}
    if reused:
        st["ResultReuseInformation"] = {"ReusedPreviousResult": True}
    return {"QueryExecutionId": qid, "WorkGroup": wg, "StatementType": stype, "Statistics": st,
            "Status": {"State": state, "SubmissionDateTime": at(minutes)}}


def test_athena_history_billed_per_query():
    many = [qe(f"s{i}", 5, 1000) for i in range(60)]   # two BatchGetQueryExecution calls
    ath = FakeAthena(many + [qe("ddl", 6, 0, stype="DDL"), qe("failed", 7, 5 * 2**20, state="FAILED"),
                             qe("cancelled", 8, 30 * 2**20 + 1, state="CANCELLED"),
                             qe("reused", 9, 0, reused=True), qe("old", -10, 2**30),
                             qe("other", 10, 2**30, wg="someone-else")])
    got = usage.athena_queries(ath, ["eng"], W).set_index("query")
    assert len(got) == 64 and "old" not in got.index and "other" not in got.index
    assert got.loc["ddl", "usd"] == got.loc["failed", "usd"] == got.loc["reused", "usd"] == 0
    assert got.loc["cancelled", "billed_bytes"] == 31 * 2**20
    assert got.loc["s0", "billed_bytes"] == 10 * 2**20
    assert got.usd.sum() == pytest.approx((60 * 10 + 31) * 2**20 / 2**40 * 5)


class FakeLogs:
    def __init__(self, events):
        self.events = events
        self.calls = []

    def get_paginator(self, name):
        def pages(logGroupName, startTime, endTime):
            self.calls.append((logGroupName, startTime, endTime))
            if logGroupName not in self.events:
                raise missing("ResourceNotFoundException")
            return [{"events": [e for e in self.events[logGroupName] if startTime <= e["timestamp"] < endTime]}]
        return Pages(pages)


class FakeLambda:
    def get_function_configuration(self, FunctionName):
        if FunctionName == "deleted":
            raise missing("ResourceNotFoundException")
        return {"Architectures": ["x86_64"], "LoggingConfig": {"LogGroup": f"/aws/lambda/{FunctionName}"}}


def report(rid, billed, mem=512, init=""):
    return (f"REPORT RequestId: {rid}\tDuration: {billed - 0.5:.2f} ms\tBilled Duration: {billed} ms\t"
            f"Memory Size: {mem} MB\tMax Memory Used: 80 MB{init}")


def test_lambda_report_lines_are_requests_and_gb_seconds():
    ms = int(at(3).timestamp() * 1000)
    logs = FakeLogs({"/aws/lambda/ingest": [
        {"timestamp": ms, "message": "START RequestId: r1 Version: $LATEST"},
        {"timestamp": ms, "message": '{"decision": "landed"}'},
        {"timestamp": ms, "message": report("r1", 1200, init="\tInit Duration: 300.00 ms")},
        {"timestamp": ms + 5, "message": report("r2", 800)},
        {"timestamp": int(at(-1).timestamp() * 1000), "message": report("early", 5000)}]})
    got = usage.lambda_invocations(logs, FakeLambda(), ["ingest", "deleted"], W)
    assert list(got.request) == ["r1", "r2"] and got.billed_ms.sum() == 2000
    assert got.gb_seconds.sum() == pytest.approx(2.0 * 0.5)
    assert got.usd.sum() == pytest.approx(1.0 * P.PRICES.lambda_gb_second_x86 + 2 * 0.2e-6)
    assert [c[0] for c in logs.calls] == ["/aws/lambda/ingest", "/aws/lambda/deleted"]


class FakeS3:
    def __init__(self, versions):
        self.versions = versions

    def get_paginator(self, name):
        def pages(Bucket):
            if Bucket not in self.versions:
                raise missing("NoSuchBucket")
            return [{"Versions": self.versions[Bucket][:1]}, {"Versions": self.versions[Bucket][1:]}]
        return Pages(pages)


def test_s3_byte_hours_of_every_version_and_the_puts_of_the_window():
    gb = 2**30
    s3 = FakeS3({"raw": [{"Size": gb, "LastModified": at(-60)},      # stored the whole window: 2 h
                         {"Size": gb, "LastModified": at(60)},       # the last hour
                         {"Size": 0, "LastModified": at(90)}]})
    got = usage.s3_storage(s3, ["raw", "deleted-bucket"], W)
    assert len(got) == 1
    row = got.iloc[0]
    assert row.versions == 3 and row.puts == 2 and row.byte_hours == pytest.approx(3 * gb)
    assert row.usd == pytest.approx(3 / 730 * 0.023 + 2 * 0.000005)


class FakeKms:
    def __init__(self, keys):
        self.keys = keys

    def describe_key(self, KeyId):
        if KeyId not in self.keys:
            raise missing("NotFoundException")
        return {"KeyMetadata": self.keys[KeyId]}


def test_kms_key_hours_stop_when_the_deletion_is_scheduled():
    kms = FakeKms({
        "live": {"KeyId": "live", "KeyState": "Enabled", "CreationDate": at(30), "KeyManager": "CUSTOMER"},
        "doomed": {"KeyId": "doomed", "KeyState": "PendingDeletion", "CreationDate": at(-600),
                   "DeletionDate": at(60) + dt.timedelta(days=7), "PendingDeletionWindowInDays": 7,
                   "KeyManager": "CUSTOMER"},
        "aws": {"KeyId": "aws", "KeyState": "Enabled", "CreationDate": at(0), "KeyManager": "AWS"}})
    got = usage.kms_keys(kms, ["live", "doomed", "aws", "gone"], W).set_index("key")
    assert list(got.index) == ["live", "doomed"]
    assert got.loc["live", "hours"] == 1.5 and got.loc["doomed", "hours"] == 1.0
    assert got.usd.sum() == pytest.approx(2.5 / 730)


def test_window_refuses_to_end_before_it_starts():
    with pytest.raises(ValueError, match="ends .* before it starts"):
        Window(at(10), at(5))
    naive = Window(dt.datetime(2025, 6, 1, 9), dt.datetime(2025, 6, 1, 10))
    assert naive.since.tzinfo is dt.UTC and naive.hours_overlap(dt.datetime(2025, 6, 1, 9, 30)) == 0.5
