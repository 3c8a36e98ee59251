"""Job bookmarks as Glue keeps them, through the endpoint (scripts/glue_probe.py).

Sources: Glue developer guide "Tracking processed data using job bookmarks" (enable / disable /
pause, job-bookmark-from / job-bookmark-to, S3 tracked by last-modified time, transformation_ctx,
job.init / job.commit), "Job parameters used by AWS Glue" (--job-bookmark-option), the API's
GetJobBookmark / ResetJobBookmark; the JobBookmark JSON shape (HadoopDataSourceJobBookmarkState,
timestamps RUN / HIGH_BAND / CURR_RUN_START_TIME / INCLUDE_LIST) as a real get-job-bookmark prints it.
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def _put(glab, name: str, value: int) -> None:
    glab.s3.put_object(Bucket=glab.raw, Key=f"bm/in/{name}.json",
                       Body=json.dumps({"f": name, "n": value}).encode())


def _rows(rep) -> list[tuple[str, int]]:
    return [(r["f"], r["n"]) for r in rep["src"]["rows"]] if "src" in rep else []


def test_bookmarks_new_modified_failed_pause_from_to_and_reset(glab):
    raw, out = glab.raw, glab.out
    job = glab.probe_job(args={"--job-bookmark-option": "job-bookmark-enable"})
    plan = {"reads": [{"kind": "options", "name": "src", "format": "json", "ctx": "src",
                       "connection_options": {"paths": [f"s3://{raw}/bm/in/"]}}]}
    with pytest.raises(ClientError) as err:
        glab.glue.get_job_bookmark(JobName=job)
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"

    _put(glab, "a", 1)
    _put(glab, "b", 1)
    run1, rep = glab.run(job, plan)
    assert run1["JobRunState"] == "SUCCEEDED", run1.get("ErrorMessage")
    assert _rows(rep) == [("a", 1), ("b", 1)]
    entry = glab.glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"]
    assert (entry["Run"], entry["Version"], entry["RunId"]) == (1, 1, run1["Id"])
    state = json.loads(entry["JobBookmark"])
    assert list(state) == ["src"]
    assert state["src"]["jsonClass"] == "HadoopDataSourceJobBookmarkState"
    ts = state["src"]["timestamps"]
    assert (ts["RUN"], ts["HIGH_BAND"], len(ts["INCLUDE_LIST"].split(","))) == ("1", "900000", 2)
    assert ts["CURR_RUN_START_TIME"].endswith("Z")

    # a new object and a modified one: exactly those two are read
    _put(glab, "c", 1)
    _put(glab, "a", 2)
    run2, rep = glab.run(job, plan)
    assert run2["JobRunState"] == "SUCCEEDED", run2.get("ErrorMessage")
    assert _rows(rep) == [("a", 2), ("c", 1)]
    entry2 = glab.glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"]
    assert (entry2["Run"], entry2["PreviousRunId"], entry2["RunId"]) == (2, run1["Id"], run2["Id"])
    assert json.loads(entry2["JobBookmark"])["src"]["timestamps"]["RUN"] == "2"

    # a failed run (after job.commit() and a write) stores no bookmark and writes nothing
    _put(glab, "d", 1)
    failing = {**plan, "writes": [{"kind": "options", "frame": "src", "format": "json",
                                   "connection_options": {"path": f"s3://{out}/bm-fail/"}}], "fail": True}
    run3, rep = glab.run(job, failing)
    assert run3["JobRunState"] == "FAILED"
    assert "RuntimeError: planned failure after the writes and job.commit()" in run3["ErrorMessage"]
    assert _rows(rep) == [("d", 1)]
    assert glab.keys(out, "bm-fail/") == []
    assert glab.glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"] == entry2

    # pause: reads what is new since the bookmark (d), stores nothing
    run4, rep = glab.run(job, plan, **{"--job-bookmark-option": "job-bookmark-pause"})
    assert run4["JobRunState"] == "SUCCEEDED", run4.get("ErrorMessage")
    assert _rows(rep) == [("d", 1)]
    assert glab.glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"] == entry2

    # pause with from/to: the input processed after run 1 up to run 2
    run5, rep = glab.run(job, plan, **{"--job-bookmark-option": "job-bookmark-pause",
                                       "--job-bookmark-from": run1["Id"], "--job-bookmark-to": run2["Id"]})
    assert run5["JobRunState"] == "SUCCEEDED", run5.get("ErrorMessage")
    assert _rows(rep) == [("a", 2), ("c", 1)]

    # reset: the next run reads everything
    reset = glab.glue.reset_job_bookmark(JobName=job)["JobBookmarkEntry"]
    assert json.loads(reset["JobBookmark"]) == {}
    run6, rep = glab.run(job, plan)
    assert run6["JobRunState"] == "SUCCEEDED", run6.get("ErrorMessage")
    assert _rows(rep) == [("a", 2), ("b", 1), ("c", 1), ("d", 1)]
