"""benchmarks/glue_job.py's profile of a job run from Spark's event log (no Spark needed)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _glue_job_benchmark():
    spec = importlib.util.spec_from_file_location("glue_job_benchmark", ROOT / "benchmarks" / "glue_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(path: Path, *events: dict) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _job(jid: int, start: int, end: int, site: str) -> list[dict]:
    return [{"Event": "SparkListenerJobStart", "Job ID": jid, "Submission Time": start, "Stage IDs": [jid],
             "Properties": {"callSite.short": site}},
            {"Event": "SparkListenerStageCompleted",
             "Stage Info": {"Stage ID": jid, "Number of Tasks": 2, "Accumulables": []}},
            {"Event": "SparkListenerJobEnd", "Job ID": jid, "Completion Time": end}]


def test_profile_of_a_job_that_never_stops_spark_ends_at_its_last_event(tmp_path):
    """Glue's Job.commit does not stop the SparkContext: the log has no ApplicationEnd. The app's
    time is then start -> last event (it was 0.0 s, and all of the script counted as JVM start-up)."""
    bench = _glue_job_benchmark()
    log = _log(tmp_path / "app", {"Event": "SparkListenerApplicationStart", "Timestamp": 1_000},
               *_job(0, 3_000, 5_500, "collect at etl.py:767"),
               *_job(1, 6_000, 9_000, "parquet at NativeMethodAccessorImpl.java:0"))
    prof = bench.profile(log, script_s=12.0)
    assert prof["spark_s"] == 8.0  # 1.0 s -> 9.0 s
    assert prof["jvm_start_s"] == 4.0
    assert prof["until_first_action_s"] == 2.0
    assert [round(a["s"], 2) for a in prof["actions"]] == [2.5, 3.0]
    assert prof["kinds"]["write"] == [1, 3.0]


def test_profile_with_an_application_end_uses_it(tmp_path):
    bench = _glue_job_benchmark()
    log = _log(tmp_path / "app", {"Event": "SparkListenerApplicationStart", "Timestamp": 1_000},
               *_job(0, 2_000, 4_000, "collect at etl.py:767"),
               {"Event": "SparkListenerApplicationEnd", "Timestamp": 10_000})
    prof = bench.profile(log, script_s=11.0)
    assert prof["spark_s"] == 9.0 and prof["jvm_start_s"] == 2.0
