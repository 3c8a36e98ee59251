"""End to end: lakekit/jobs/etl.py run by the local Glue runner on the tiny committed sample.

The bookmark is Glue's (GetJobBookmark); lakekit.glue.reset_bookmarks = ResetJobBookmark makes the
next run reprocess every raw object, a full run that replaces the partitions."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakekit.glue import reset_bookmarks

ROOT = Path(__file__).resolve().parents[2]
ETL = ROOT / "lakekit" / "jobs" / "etl.py"
SAMPLE = ROOT / "data" / "sample"


@pytest.mark.skipif(not ETL.exists(), reason="lakekit/jobs/etl.py not written yet")
def test_etl_job_runs_through_the_endpoint_with_bookmarks(lab):
    s3, glue = lab.s3, lab.glue
    sent = 0
    for dataset in ("flights", "airlines", "airports"):
        for path in sorted((SAMPLE / dataset).glob("*.csv")):
            s3.put_object(Bucket=lab.raw, Key=f"etl/{dataset}/ingest_date=2026-01-15/{path.name}",
                          Body=path.read_bytes())
            if dataset == "flights":
                sent += sum(1 for _ in path.open()) - 1
    s3.put_object(Bucket=lab.art, Key="scripts/etl.py", Body=ETL.read_bytes())
    job = lab.job("etl.py", {
        "--dataset": "all", "--raw_path": f"s3://{lab.raw}/etl/",
        "--processed_path": f"s3://{lab.out}/etl/processed/",
        "--rejected_path": f"s3://{lab.out}/etl/quarantine/rejected_rows/",
        "--reports_path": f"s3://{lab.art}/reports/", "--job-bookmark-option": "job-bookmark-enable"})
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run, _ = lab.wait(job, run_id, timeout=600)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")

    acc = json.loads(s3.get_object(Bucket=lab.art, Key=f"reports/{job}/flights/{run_id}/accounting.json")
                     ["Body"].read())
    assert acc["rows_in"] == sent == 300
    assert acc["rows_in"] == acc["rows_out"] + acc["duplicates"] + acc["rejected"]
    keys = lab.keys(lab.out, "etl/processed/flights/")
    assert keys and all(k.endswith(".parquet") and "/year=2013/month=" in k for k in keys)
    rows = sum(pq.read_table(io.BytesIO(s3.get_object(Bucket=lab.out, Key=k)["Body"].read())).num_rows
               for k in keys)
    assert rows == acc["rows_out"]
    assert acc["files_processed"] == len(list((SAMPLE / "flights").glob("*.csv"))) and acc["mode"] == "full"
    entry = glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"]      # Glue's own, the only one
    assert (entry["Run"], entry["RunId"]) == (1, run_id)
    state = json.loads(entry["JobBookmark"])
    assert sorted(state) == ["raw_airlines", "raw_airports", "raw_flights", "raw_planes", "raw_weather"]
    assert state["raw_flights"]["jsonClass"] == "HadoopDataSourceJobBookmarkState"

    # bookmark: the second run finds nothing new and rewrites nothing
    run_id2 = glue.start_job_run(JobName=job)["JobRunId"]
    run2, _ = lab.wait(job, run_id2, timeout=600)
    assert run2["JobRunState"] == "SUCCEEDED", run2.get("ErrorMessage")
    acc2 = json.loads(s3.get_object(Bucket=lab.art, Key=f"reports/{job}/flights/{run_id2}/accounting.json")
                      ["Body"].read())
    assert (acc2["rows_in"], acc2["files_processed"], acc2["mode"]) == (0, 0, "no-new-input")
    assert lab.keys(lab.out, "etl/processed/flights/") == keys

    got = reset_bookmarks(job, glue=glue, s3=s3)                 # = ResetJobBookmark, both targets
    assert (got["glue"]["JobName"], json.loads(got["glue"]["JobBookmark"]), got["deleted"]) == (job, {}, [])
    run_id3 = glue.start_job_run(JobName=job)["JobRunId"]
    run3, _ = lab.wait(job, run_id3, timeout=600)
    assert run3["JobRunState"] == "SUCCEEDED", run3.get("ErrorMessage")
    acc3 = json.loads(s3.get_object(Bucket=lab.art, Key=f"reports/{job}/flights/{run_id3}/accounting.json")
                      ["Body"].read())
    assert (acc3["mode"], acc3["rows_in"], acc3["rows_out"], acc3["existing_rows_replaced"]) == (
        "full", 300, acc["rows_out"], 0)                                   # everything again, replaced
    keys3 = lab.keys(lab.out, "etl/processed/flights/")
    assert len(keys3) == len(keys) and not set(keys3) & set(keys)
    rows3 = sum(pq.read_table(io.BytesIO(s3.get_object(Bucket=lab.out, Key=k)["Body"].read())).num_rows
                for k in keys3)
    assert rows3 == acc["rows_out"]                                        # not doubled
