"""Solutions of notebook 03's exercises: Glue Data Quality's metrics, one processed partition."""
from __future__ import annotations

import awswrangler as wr

import lakekit as lk
from lakekit import deploy


def solve_03_1() -> float:
    """Completeness of dep_time, as the newest flights_soft evaluation published it."""
    glue, job = lk.client("glue"), deploy.outputs()["EtlJobName"]
    listed = glue.list_data_quality_results(Filter={"JobName": job})["Results"]
    results = [glue.get_data_quality_result(ResultId=r["ResultId"]) for r in listed]
    soft = max((r for r in results if r["EvaluationContext"] == "flights_soft"), key=lambda r: r["StartedOn"])
    rule = next(r for r in soft["RuleResults"] if r["Description"].startswith('Completeness "dep_time"'))
    return next(v for k, v in rule["EvaluatedMetrics"].items() if k.endswith("Completeness"))


def solve_03_2() -> int:
    """Read one day's folder only, and only the column needed."""
    lk.configure_wrangler()  # the notebook's lk.connect() did it already
    processed = deploy.outputs()["ProcessedBucket"]
    day = wr.s3.read_parquet(f"s3://{processed}/flights/year=2013/month=7/day=4/", columns=["cancelled"],
                             boto3_session=lk.session())
    return int(day["cancelled"].sum())
