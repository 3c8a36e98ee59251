"""The pipeline as one Step Functions execution vs the same steps called directly, same endpoint.

Needs the workshop's lake on a running endpoint (the data lake and pipeline stacks, raw data):
``python -m lakekit.workshop --only 00 01 02 03 04 --keep-endpoint`` with the same LAKEKIT_PORT,
LAKEKIT_HOME and LAKEKIT_PREFIX as this run (the endpoint should run with the workshop's time
knobs, ``lakekit.workshop.WORKSHOP_TIME_KNOBS``: the state machine's crawler poll is 30 s).

Each round resets the ETL job's bookmarks (so both paths process the whole raw zone, the same
work) and times, alternating which goes first:

* **pipeline**: StartExecution -> DescribeExecution until final (polled every 0.2 s);
* **direct**: StartJobRun + GetJobRun until final, StartCrawler (a CrawlerRunningException means
  the job's conditional trigger started it: waited for too) + GetCrawler until READY with a crawl
  that started after the job, GetObject of the 5 datasets' dq.json, sns:Publish - the same calls
  the state machine makes, with the same crawler poll interval as its Wait state.

Prints both times per round, the medians and the ratio pipeline / direct (goal: at most 1.1x).

    python benchmarks/orchestration.py [--rounds 2]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lakekit as lk  # noqa: E402
from lakekit import deploy, orchestration, pipeline  # noqa: E402
from lakekit.glue import reset_bookmarks  # noqa: E402

POLL = 0.2
DATASETS = ("flights", "weather", "planes", "airlines", "airports")


def _poll_interval(cfg) -> float:
    stack = pipeline._describe(cfg) or {}
    seconds = next((float(p["ParameterValue"]) for p in stack.get("Parameters", [])
                    if p["ParameterKey"] == "CrawlerPollSeconds"), 30.0)
    scale = float(orchestration.endpoint_time_scales(cfg).get("LAKEKIT_SFN_TIME_SCALE", 1) or 1)
    return seconds * scale


def run_pipeline(sfn, machine: str, timeout: float) -> tuple[float, str]:
    started = time.monotonic()
    arn = orchestration.start(sfn, machine, {"trigger": "benchmark"})
    deadline = started + timeout
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] in orchestration.FINAL:
            return time.monotonic() - started, desc["status"]
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} still {desc['status']} after {timeout} s")
        time.sleep(POLL)


def run_direct(lake: dict[str, str], topic: str, crawler_poll: float, timeout: float) -> tuple[float, str]:
    glue, s3, sns = lk.client("glue"), lk.client("s3"), lk.client("sns")
    job, crawler = lake["EtlJobName"], lake["CrawlerName"]
    started = time.monotonic()
    deadline = started + timeout
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    while (state := glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"]) not in (
            "SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"job run {run_id} still {state}")
        time.sleep(POLL)
    if state != "SUCCEEDED":
        return time.monotonic() - started, f"job {state}"
    after = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    try:
        glue.start_crawler(Name=crawler)
    except glue.exceptions.CrawlerRunningException:
        pass
    while True:
        time.sleep(crawler_poll)
        c = glue.get_crawler(Name=crawler)["Crawler"]
        last = c.get("LastCrawl") or {}
        if c["State"] == "READY" and last.get("Status") and last.get("StartTime", after) >= after - dt.timedelta(seconds=60):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"crawler {crawler} still {c['State']}")
    statuses = []
    for ds in DATASETS:
        body = s3.get_object(Bucket=lake["ArtifactsBucket"], Key=f"reports/{job}/{ds}/{run_id}/dq.json")["Body"]
        statuses.append(json.loads(body.read())["status"])
    sns.publish(TopicArn=topic, Subject="lakekit pipeline succeeded (benchmark, direct)",
                Message=f"job run {run_id} SUCCEEDED, crawler {last['Status']}, data quality {statuses}")
    return time.monotonic() - started, "SUCCEEDED" if "Failed" not in statuses else "DQ failed"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args(argv)
    cfg = lk.connect()
    lake, out = deploy.outputs(cfg), pipeline.outputs(cfg)
    if "EtlJobName" not in lake or "StateMachineArn" not in out:
        print(f"no lake/pipeline stack for prefix {cfg.prefix!r}: run `python -m lakekit.workshop --only "
              "00 01 02 03 04 --keep-endpoint` first (same LAKEKIT_PORT/HOME/PREFIX)", file=sys.stderr)
        return 2
    sfn, glue, s3 = lk.client("stepfunctions"), lk.client("glue"), lk.client("s3")
    crawler_poll = _poll_interval(cfg)
    print(f"endpoint {cfg.endpoint_url or 'aws'}, prefix {cfg.prefix}, crawler poll {crawler_poll:.2f} s, "
          f"time knobs {orchestration.endpoint_time_scales(cfg) or 'none'}")
    times: dict[str, list[float]] = {"pipeline": [], "direct": []}
    for r in range(args.rounds):
        order = ("pipeline", "direct") if r % 2 == 0 else ("direct", "pipeline")
        for which in order:
            reset_bookmarks(lake["EtlJobName"], glue=glue, s3=s3)
            if which == "pipeline":
                seconds, status = run_pipeline(sfn, out["StateMachineArn"], args.timeout)
            else:
                seconds, status = run_direct(lake, out["TopicArn"], crawler_poll, args.timeout)
            if status != "SUCCEEDED":
                print(f"round {r + 1} {which}: {status}", file=sys.stderr)
                return 1
            times[which].append(seconds)
            print(f"round {r + 1} {which:8}: {seconds:7.2f} s", flush=True)
    p, d = statistics.median(times["pipeline"]), statistics.median(times["direct"])
    print(f"median pipeline {p:.2f} s, direct {d:.2f} s, ratio {p / d:.3f}x (goal <= 1.1x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
