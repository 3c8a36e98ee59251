"""The background-run lifecycle (lakekit/local/runs.py) without an endpoint: scoping,
transitions, stop, bounded workers and restart recovery."""
from __future__ import annotations

import threading
import uuid

import pytest

from lakekit.local import persistence
from lakekit.local.runs import Control, FinalStateError, Lifecycle, RunStore, run_key

ACCT, OTHER = "123456789012", "210987654321"
LIFE = Lifecycle(active={"QUEUED", "RUNNING"}, final={"SUCCEEDED", "FAILED", "CANCELLED"},
                 restart_state="FAILED")


@pytest.fixture
def runs():
    name = f"test.runs.{uuid.uuid4().hex[:8]}"
    yield RunStore(name, LIFE, state=("Status", "State"), workers=2,
                   on_restart=lambda rec, now: rec["Status"].update(Reason="interrupted", At=now))
    persistence._STORES.pop(name, None)


def test_keys_carry_account_and_region_and_lookups_are_scoped(runs):
    runs.add(ACCT, "us-east-1", "q1", {"Status": {"State": "QUEUED"}}, control=False)
    assert list(runs.data) == [f"{ACCT}|us-east-1|q1"] == [run_key(ACCT, "us-east-1", "q1")]
    assert runs.get(ACCT, "us-east-1", "q1")["_region"] == "us-east-1"
    assert runs.get(ACCT, "eu-west-1", "q1") is None
    assert runs.get(OTHER, "us-east-1", "q1") is None
    runs.add(ACCT, "eu-west-1", "q2", {"Status": {"State": "QUEUED"}}, control=False)
    assert [r["_region"] for r in runs.records(ACCT, "eu-west-1")] == ["eu-west-1"]
    assert runs.records(OTHER, "eu-west-1") == []
    assert runs.locate("q2")["_region"] == "eu-west-1"


def test_transitions_are_recorded_with_times_and_a_final_state_is_final(runs):
    rec = runs.add(ACCT, "us-east-1", "q1", {"Status": {"State": "QUEUED"}}, control=False)
    t1 = runs.transition(rec, "RUNNING", when=100.0)
    runs.transition(rec, "SUCCEEDED", when=101.5)
    assert t1 == 100.0
    assert [s for s, _ in runs.history_of(rec)] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert runs.history_of(rec)[1:] == [("RUNNING", 100.0), ("SUCCEEDED", 101.5)]
    with pytest.raises(FinalStateError, match="final state SUCCEEDED cannot become FAILED"):
        runs.transition(rec, "FAILED")
    with pytest.raises(FinalStateError, match="unknown state 'DONE'"):
        runs.transition(runs.add(ACCT, "us-east-1", "q2", {"Status": {"State": "QUEUED"}}), "DONE")
    assert rec["Status"]["State"] == "SUCCEEDED" and runs.is_final(rec)


def test_restart_state_must_be_final():
    with pytest.raises(ValueError, match="restart_state 'RUNNING' must be one of the final states"):
        Lifecycle(active={"RUNNING"}, final={"DONE"}, restart_state="RUNNING")


def test_stop_is_cooperative_with_a_deadline(runs):
    runs.add(ACCT, "us-east-1", "q1", {"Status": {"State": "QUEUED"}})
    started, killed = threading.Event(), []

    def work(control: Control) -> None:
        control.on_stop(lambda: killed.append("callback"))
        started.set()
        assert control._stop.wait(30)
        runs.update(ACCT, "us-east-1", "q1", lambda r: runs.transition(r, "CANCELLED"))

    control = runs.launch(ACCT, "us-east-1", "q1", work)
    assert started.wait(30)
    assert not control.stop_requested and control.deadline is None
    assert runs.stop(ACCT, "us-east-1", "q1", grace=30, wait=True) is True
    assert killed == ["callback"] and control.stop_requested and not control.overdue
    assert runs.get(ACCT, "us-east-1", "q1")["Status"]["State"] == "CANCELLED"
    assert runs.control(ACCT, "us-east-1", "q1") is None  # dropped once the worker ended


def test_a_stop_that_misses_its_deadline_is_reported(runs):
    runs.add(ACCT, "us-east-1", "q1", {"Status": {"State": "QUEUED"}})
    release = threading.Event()
    control = runs.launch(ACCT, "us-east-1", "q1", lambda c: release.wait(30))
    assert runs.stop(ACCT, "us-east-1", "q1", grace=0.0, wait=True) is False
    assert control.overdue
    release.set()
    assert control.done.wait(30) and not control.overdue


def test_workers_are_bounded_and_the_rest_queue(runs):
    gate, running, peak = threading.Event(), [], []
    lock = threading.Lock()

    def work(control: Control) -> None:
        with lock:
            running.append(1)
            peak.append(len(running))
        gate.wait(30)
        with lock:
            running.pop()

    controls = [runs.launch(ACCT, "us-east-1", f"q{i}", work) for i in range(5)]
    for _ in range(100):
        if len(runs._threads) == 2 and len(running) == 2:
            break
        threading.Event().wait(0.05)
    assert len(runs._threads) == 2 and len(running) == 2
    gate.set()
    assert all(c.done.wait(30) for c in controls)
    assert max(peak) == 2 and len(runs._threads) == 2


def test_a_worker_that_raises_still_releases_its_control(runs):
    runs.add(ACCT, "us-east-1", "q1", {"Status": {"State": "QUEUED"}})
    control = runs.launch(ACCT, "us-east-1", "q1", lambda c: 1 / 0)
    assert control.done.wait(30) and runs.control(ACCT, "us-east-1", "q1") is None


def test_restart_recovery_finishes_runs_without_a_control_once(runs):
    lost = runs.add(ACCT, "us-east-1", "lost", {"Status": {"State": "RUNNING"}}, control=False)
    live = runs.add(ACCT, "us-east-1", "live", {"Status": {"State": "RUNNING"}})  # this process runs it
    done = runs.add(ACCT, "us-east-1", "done", {"Status": {"State": "SUCCEEDED"}}, control=False)
    # a snapshot written before keys carried the scope
    runs.data["legacy"] = {"Status": {"State": "QUEUED"}, "_account": OTHER, "_region": "eu-west-1"}
    got = runs.recover()
    assert sorted(r["Status"]["State"] + ":" + r["Status"]["Reason"] for r in got) == \
        ["FAILED:interrupted", "FAILED:interrupted"]
    assert lost["Status"]["State"] == "FAILED" and runs.history_of(lost)[-1][0] == "FAILED"
    assert live["Status"]["State"] == "RUNNING" and done["Status"]["State"] == "SUCCEEDED"
    assert runs.get(OTHER, "eu-west-1", "legacy")["Status"]["State"] == "FAILED"
    assert "legacy" not in runs.data
    runs.add(ACCT, "us-east-1", "later", {"Status": {"State": "RUNNING"}}, control=False)
    assert runs.recover() == []  # once per process


def test_trim_forgets_only_the_oldest_final_runs(runs):
    for i, state in enumerate(["SUCCEEDED", "RUNNING", "FAILED", "SUCCEEDED"]):
        runs.add(ACCT, "us-east-1", f"q{i}", {"Status": {"State": state}, "t": i}, control=False)
    gone = runs.trim(2, newest=lambda r: r["t"])
    assert gone == [run_key(ACCT, "us-east-1", "q0"), run_key(ACCT, "us-east-1", "q2")]
    assert sorted(runs.data) == [run_key(ACCT, "us-east-1", "q1"), run_key(ACCT, "us-east-1", "q3")]


def test_services_bound_their_worker_threads():
    """Parity-ledger pin: runs beyond these counts wait (Athena QUEUED, Glue STARTING, executions
    RUNNING without events, crawls RUNNING, stack operations *_IN_PROGRESS without events) where
    AWS starts them up to the account's quotas."""
    from lakekit.local.cloudformation import stacks
    from lakekit.local.services import athena, glue_crawler, glue_jobs, stepfunctions

    assert (athena.QUERY_RUNS.workers, glue_jobs.JOB_RUNS.workers, stepfunctions.RUNS.workers) == (4, 16, 64)
    assert (glue_crawler.CRAWLS.workers, stacks.RUNS.workers) == (16, 8)
    assert glue_jobs.JOB_RUNS.lifecycle.restart_state == "FAILED"
    assert stepfunctions.RUNS.lifecycle.final == {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"}


def test_a_service_picks_the_restart_state_and_an_active_one_is_resumed():
    name = f"test.runs.{uuid.uuid4().hex[:8]}"
    life = Lifecycle(active={"RUNNING", "STOPPING", "ROLLING_BACK"},
                     final={"FAILED", "CANCELLED", "DONE"}, restart_state="FAILED")
    picks = {"STOPPING": "CANCELLED", "ROLLING_BACK": "ROLLING_BACK"}
    runs = RunStore(name, life, state=("s",), restart=lambda rec: picks.get(rec["s"], "FAILED"))
    try:
        for state in ("RUNNING", "STOPPING", "ROLLING_BACK"):
            runs.add(ACCT, "us-east-1", state, {"s": state}, control=False)
        lost = runs.recover()
        assert sorted(r["s"] for r in lost) == ["CANCELLED", "FAILED", "ROLLING_BACK"]
        resumed = [r for r in lost if runs.is_active(r)]  # the service launches these again
        assert [r["s"] for r in resumed] == ["ROLLING_BACK"]
    finally:
        persistence._STORES.pop(name, None)


def test_reopen_is_the_one_way_out_of_a_final_state(runs):
    rec = runs.add(ACCT, "us-east-1", "stack", {"Status": {"State": "SUCCEEDED"}}, control=False)
    with pytest.raises(FinalStateError, match="final state SUCCEEDED cannot become RUNNING"):
        runs.transition(rec, "RUNNING")
    runs.transition(rec, "RUNNING", when=5.0, reopen=True)  # the record's next operation
    assert runs.history_of(rec)[-1] == ("RUNNING", 5.0) and runs.is_active(rec)
    with pytest.raises(FinalStateError, match="unknown state 'NOPE'"):
        runs.transition(rec, "NOPE", reopen=True)
