"""Fixtures for the local Glue job runner tests: buckets, a role and toy scripts on the endpoint."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.iam.roles import service_role

SCRIPTS = Path(__file__).resolve().parent / "scripts"
ROLE = "arn:aws:iam::123456789012:role/lakekit-glue-runner-tests"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"}


class GlueLab:
    """Buckets + uploaded toy scripts on one endpoint, and small helpers around them."""

    def __init__(self, endpoint) -> None:
        self.endpoint = endpoint
        self.s3 = endpoint.client("s3")
        self.glue = endpoint.client("glue")
        self.logs = endpoint.client("logs")
        suffix = uuid.uuid4().hex[:8]
        self.raw, self.out, self.art = f"gr-raw-{suffix}", f"gr-out-{suffix}", f"gr-art-{suffix}"
        for bucket in (self.raw, self.out, self.art):
            self.s3.create_bucket(Bucket=bucket)
        service_role(endpoint, ROLE, "glue.amazonaws.com", ["s3:*", "glue:*", "logs:*", "cloudwatch:PutMetricData"])
        for script in SCRIPTS.glob("*.py"):
            self.s3.put_object(Bucket=self.art, Key=f"scripts/{script.name}", Body=script.read_bytes())

    def job(self, script: str, args: dict[str, str] | None = None, **kwargs) -> str:
        name = f"{Path(script).stem.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
        self.glue.create_job(Name=name, Role=ROLE, GlueVersion="5.0",
                             Command={"Name": "glueetl", "PythonVersion": "3",
                                      "ScriptLocation": f"s3://{self.art}/scripts/{script}"},
                             DefaultArguments=args or {}, **kwargs)
        return name

    def wait(self, job: str, run_id: str, timeout: float = 240.0) -> tuple[dict, list[str]]:
        """Poll GetJobRun until a final state; returns (JobRun, distinct states seen in order)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
            if not seen or seen[-1] != run["JobRunState"]:
                seen.append(run["JobRunState"])
            if run["JobRunState"] in FINAL:
                return run, seen
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} of {job} not final after {timeout} s (states {seen})")

    def wait_state(self, job: str, run_id: str, state: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
            if run["JobRunState"] == state:
                return run
            if run["JobRunState"] in FINAL:
                raise AssertionError(f"run ended {run['JobRunState']} before reaching {state}: "
                                     f"{run.get('ErrorMessage')}")
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not reach {state} within {timeout} s")

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        got = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in got.get("Contents", []))

    def log_messages(self, group: str, stream: str) -> list[str]:
        events = self.logs.get_log_events(logGroupName=group, logStreamName=stream,
                                          startFromHead=True)["events"]
        return [e["message"] for e in events]


@pytest.fixture(scope="session")
def lab(endpoint) -> GlueLab:
    return GlueLab(endpoint)


@pytest.fixture
def make_lab():
    """Factory: ``make_lab(endpoint)`` -> a GlueLab on another endpoint (e.g. fresh_endpoint)."""
    return GlueLab
