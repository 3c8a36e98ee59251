"""Warm Glue drivers (lakekit/local/glue/warm.py): a later run reuses an earlier run's driver and
JVM, and sees what a fresh driver would show it."""
from __future__ import annotations

import json

import pytest

from tests.conftest import Endpoint, free_port
from tests.glue_runner.conftest import GlueLab

GROUP = "/aws-glue/jobs"
FRESH = {"sql_setting": None, "hadoop_setting": None, "temp_views": [], "global_views": [],
         "cached_rdds": 0, "environ": None, "module_is_mine": True, "tmp_is_mine": True,
         "cwd_has_script": True, "boto3_session_is_new": True}


@pytest.fixture(scope="module")
def warm_lab(private_endpoint):
    """An endpoint of this module's own: its pool holds only the drivers these tests leave."""
    ep = private_endpoint("glue-warm")
    yield GlueLab(ep)
    ep.stop()


def _run(lab, job: str, args: dict[str, str] | None = None) -> tuple[dict, list[str], list[str]]:
    run_id = lab.glue.start_job_run(JobName=job, **({"Arguments": args} if args else {}))["JobRunId"]
    run, _ = lab.wait(job, run_id)
    out = lab.log_messages(f"{GROUP}/output", f"{run_id}-driver")
    system = [m for m in lab.log_messages(f"{GROUP}/error", f"{run_id}-driver")
              if m.startswith("lakekit-glue:")]
    return run, out, system


def _served(system: list[str]) -> str:
    return next(m for m in system if "the script ran in a" in m)


def _seen(out: list[str]) -> dict:
    """What the probe found left over, without the log level (compared run against run)."""
    seen = json.loads(next(m for m in out if m.startswith("SEEN "))[5:])
    seen.pop("log_level")
    return seen


def _log_level(out: list[str]) -> str:
    return json.loads(next(m for m in out if m.startswith("SEEN "))[5:])["log_level"]


def test_a_second_run_is_warm_and_sees_nothing_the_first_left(warm_lab):
    job = warm_lab.job("warm_probe.py", {"--exit": "0"})
    first, out1, sys1 = _run(warm_lab, job)
    second, out2, sys2 = _run(warm_lab, job)
    assert (first["JobRunState"], second["JobRunState"]) == ("SUCCEEDED", "SUCCEEDED"), \
        (first.get("ErrorMessage"), second.get("ErrorMessage"))
    assert "warm driver" in _served(sys1) and "its run 1: started for this run" in _served(sys1)
    assert "its run 2" in _served(sys2) and "started for this run" not in _served(sys2)
    pid = _served(sys1).split("(pid ")[1].split(")")[0]
    assert f"(pid {pid})" in _served(sys2)            # the same process served both runs
    assert _seen(out1) == FRESH
    assert _seen(out2) == FRESH                       # nothing of run 1 leaked into run 2
    assert _log_level(out2) == _log_level(out1) != "ERROR"   # run 1 set ERROR before it ended


def test_sys_exit_code_fails_the_run_and_keeps_the_driver(warm_lab):
    job = warm_lab.job("warm_probe.py", {"--exit": "3"})
    failed, _, sys1 = _run(warm_lab, job)
    assert failed["JobRunState"] == "FAILED"
    assert failed["ErrorMessage"].startswith("Command failed with exit code 3"), failed["ErrorMessage"]
    ok, out, sys2 = _run(warm_lab, job, {"--exit": "0"})
    assert ok["JobRunState"] == "SUCCEEDED", ok.get("ErrorMessage")
    assert "started for this run" not in _served(sys2), sys2
    assert _seen(out) == FRESH


def test_a_script_that_stops_the_context_retires_its_driver(warm_lab):
    job = warm_lab.job("stops_context.py")
    first, out1, _ = _run(warm_lab, job)
    second, out2, sys2 = _run(warm_lab, job)
    assert (first["JobRunState"], second["JobRunState"]) == ("SUCCEEDED", "SUCCEEDED")
    assert "COUNT 7" in out1 and "COUNT 7" in out2
    assert "started for this run" in _served(sys2), sys2   # a new driver: the old one was retired


def test_a_script_that_builds_its_own_spark_context_runs_cold_and_succeeds(warm_lab):
    job = warm_lab.job("own_context.py")
    run, out, system = _run(warm_lab, job)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert "COUNT 3" in out
    assert "the script ran in a cold process" in _served(system), system


def test_creating_a_spark_job_starts_a_warmed_driver_for_its_first_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEKIT_GLUE_PREWARM", "1")
    ep = Endpoint(tmp_path / "home", free_port())
    ep.start()
    try:
        lab = GlueLab(ep)
        job = lab.job("warm_probe.py", {"--exit": "0"})   # CreateJob: the driver starts now
        run, out, system = _run(lab, job)
        assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
        assert "its run 1" in _served(system) and "started for this run" not in _served(system), system
        assert _seen(out) == FRESH                     # the warm-up left nothing behind either
        log = (tmp_path / "home" / "endpoint.log").read_text()
        assert "started ahead of a run: warming up" in log
    finally:
        ep.stop()


def test_run_marks_are_found_after_output_without_a_newline():
    """Spark's progress bar ends with a carriage return, not a newline: the driver's end mark was
    glued to it, so the run's stderr (its traceback) went missing (seen under load)."""
    import io
    import threading

    from lakekit.local.glue import warm

    driver = warm._Driver.__new__(warm._Driver)   # the reader alone, no process
    driver._lock, driver.startup = threading.Lock(), []
    err: list = []
    driver._sinks, driver._ended = {"r1/stderr": err}, {"r1/stderr": threading.Event()}
    mark = warm.MARK
    driver._read("stderr", io.BytesIO(
        f"before\n{mark} start r1\n[Stage 4:>  (0 + 2) / 2]\rTraceback (most recent call last):\n"
        f"  File \"job.py\", line 1\n\nValueError: bad input row 7\n[Stage 5:>]\r{mark} end r1\n"
        f"after\n".encode()))
    assert [line for _, line in err] == [
        "[Stage 4:>  (0 + 2) / 2]\rTraceback (most recent call last):", '  File "job.py", line 1', "",
        "ValueError: bad input row 7", "[Stage 5:>]\r"]
    assert driver._ended["r1/stderr"].is_set() and driver.startup == ["before", "after"]
