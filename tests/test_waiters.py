"""lakekit.waiters: bounded waits, state history, Glue job run and crawler semantics (fake clients)."""
from __future__ import annotations

import datetime as dt

import pytest

from lakekit.exceptions import WaitTimeout
from lakekit.waiters import wait_crawler, wait_for, wait_job_run


class _FakeGlue:
    def __init__(self, job_states=(), crawlers=()):
        self.job_states = list(job_states)
        self.crawlers = list(crawlers)
        self.calls = 0

    def get_job_run(self, JobName, RunId):  # noqa: N803 - boto3 spelling
        self.calls += 1
        state = self.job_states.pop(0) if len(self.job_states) > 1 else self.job_states[0]
        run = {"Id": RunId, "JobName": JobName, "JobRunState": state}
        if state == "FAILED":
            run["ErrorMessage"] = "boom"
        return {"JobRun": run}

    def get_crawler(self, Name):  # noqa: N803
        self.calls += 1
        c = self.crawlers.pop(0) if len(self.crawlers) > 1 else self.crawlers[0]
        return {"Crawler": {"Name": Name, **c}}


def test_wait_for_records_distinct_states_in_order():
    values = iter([0, 0, 1, 1, 2])
    w = wait_for(lambda: next(values), lambda v: ["A", "B", "C"][v], {"C"}, timeout=5, interval=0,
                 progress=False)
    assert w.value == 2 and w.state == "C"
    assert [h["state"] for h in w.history] == ["A", "B", "C"]
    assert list(w.history_frame().columns) == ["state", "seen_at", "after_s"]


def test_wait_for_accepts_a_predicate():
    w = wait_for(lambda: "READY (SUCCEEDED)", str, lambda s: s.startswith("READY"), timeout=1,
                 interval=0, progress=False)
    assert w.state == "READY (SUCCEEDED)"


def test_wait_for_times_out_with_last_state_and_hint():
    with pytest.raises(WaitTimeout, match=r"thing: still BUSY after 0 s\. look at the logs"):
        wait_for(lambda: 1, lambda v: "BUSY", {"DONE"}, timeout=0.05, interval=0.2, progress=False,
                 desc="thing", hint="look at the logs")


def test_wait_job_run_returns_final_run_and_history():
    glue = _FakeGlue(["STARTING", "RUNNING", "RUNNING", "SUCCEEDED"])
    w = wait_job_run(glue, "etl", "jr_1", timeout=5, interval=0, progress=False)
    assert w.state == "SUCCEEDED" and w.value["Id"] == "jr_1"
    assert [h["state"] for h in w.history] == ["STARTING", "RUNNING", "SUCCEEDED"]


def test_wait_job_run_stops_on_failure_with_message():
    glue = _FakeGlue(["RUNNING", "FAILED"])
    w = wait_job_run(glue, "etl", "jr_2", timeout=5, interval=0, progress=False)
    assert w.state == "FAILED" and w.value["ErrorMessage"] == "boom"


def test_wait_crawler_ignores_a_previous_crawl_when_since_is_given():
    since = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    old = {"State": "READY", "LastCrawl": {"Status": "SUCCEEDED", "StartTime": since - dt.timedelta(hours=1)}}
    new = {"State": "READY", "LastCrawl": {"Status": "SUCCEEDED", "StartTime": since + dt.timedelta(seconds=1)}}
    glue = _FakeGlue(crawlers=[old, {"State": "RUNNING"}, {"State": "STOPPING"}, new])
    w = wait_crawler(glue, "c", since=since, timeout=5, interval=0, progress=False)
    assert w.state == "READY (SUCCEEDED)"
    assert [h["state"] for h in w.history] == ["PENDING", "RUNNING", "STOPPING", "READY (SUCCEEDED)"]


def test_wait_crawler_without_since_accepts_an_idle_crawler():
    glue = _FakeGlue(crawlers=[{"State": "READY"}])
    w = wait_crawler(glue, "c", timeout=1, interval=0, progress=False)
    assert w.state == "READY" and glue.calls == 1


def test_progress_bar_final_line_counts_from_creation_even_after_reset(capsys):
    import io
    import time

    from lakekit.waiters import progress_bar

    bar = progress_bar(total=43, desc="stack", unit="resource", file=io.StringIO())
    bar._created = time.time() - 5.0  # the bar has been running for five seconds
    bar.update(9)
    bar.reset(total=9)  # what deploy does when an update touches fewer resources than the stack has
    bar.update(9)
    bar.close()
    assert capsys.readouterr().out.startswith("✓ stack: 100% (9/9 resource) in 5.0 s")


def test_progress_bar_closed_short_prints_the_failure_line(capsys):
    import io

    from lakekit.waiters import progress_bar

    with progress_bar(total=4, desc="upload", unit="file", file=io.StringIO()) as bar:
        bar.update(3)
    assert capsys.readouterr().out == "✗ upload: stopped at 3/4 file\n"


def test_wait_for_paints_a_non_success_final_state_red(capsys):
    glue = _FakeGlue(["RUNNING", "FAILED"])
    w = wait_job_run(glue, "etl", "jr_3", timeout=5, interval=0)
    assert w.state == "FAILED"
    assert capsys.readouterr().out.startswith("✗ job etl: FAILED after ")
