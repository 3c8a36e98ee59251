"""The local awsglue library (lakekit/local/glue/pylib) importable by these tests and by Spark's Python
workers, and a GlueLab whose scripts are tests/awsglue/scripts (for the tests through the endpoint)."""
from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from tests.glue_runner.conftest import GlueLab

PYLIB = Path(__file__).resolve().parents[2] / "lakekit" / "local" / "glue" / "pylib"

if str(PYLIB) not in sys.path:
    sys.path.insert(0, str(PYLIB))
# Spark's Python workers import awsglue too (map/filter/JSON functions): they read PYTHONPATH.
if str(PYLIB) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PYLIB), os.environ.get("PYTHONPATH", "")) if p)

SCRIPTS = Path(__file__).resolve().parent / "scripts"


class AwsGlueLab(GlueLab):
    def __init__(self, endpoint) -> None:
        super().__init__(endpoint)
        for script in SCRIPTS.glob("*.py"):
            self.s3.put_object(Bucket=self.art, Key=f"scripts/{script.name}", Body=script.read_bytes())

    def probe_job(self, **kwargs) -> str:
        return self.job("glue_probe.py", **kwargs)

    def run(self, job: str, plan: dict, **args: str) -> tuple[dict, dict[str, dict]]:
        """Start ``job`` with ``--plan``; -> (JobRun, {read name: REPORT})."""
        run_id = self.glue.start_job_run(JobName=job, Arguments={"--plan": json.dumps(plan),
                                                                 **args})["JobRunId"]
        run, _ = self.wait(job, run_id)
        reports = {}
        if run["JobRunState"] in ("SUCCEEDED", "FAILED"):
            for m in self.log_messages("/aws-glue/jobs/output", f"{run_id}-driver"):
                if m.startswith("REPORT "):
                    r = json.loads(m[len("REPORT "):])
                    reports[r["name"]] = r
        return run, reports

    def database(self) -> str:
        name = f"db_{uuid.uuid4().hex[:8]}"
        self.glue.create_database(DatabaseInput={"Name": name})
        return name


@pytest.fixture(scope="session")
def glab(endpoint) -> AwsGlueLab:
    return AwsGlueLab(endpoint)
