"""Warm execution environments: init once, globals kept, concurrency, cold after failures."""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import Lam, make_zip, wait_for

# A module-level counter: 1, 2, 3... within one environment. Reports its pid, its log stream
# and (COUNTER only) the pid of a child it started at init, to find it after the endpoint stops.
COUNTER = '''
import json, os, subprocess, sys, time
CALLS = 0
print("init", os.getpid())
CHILD = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) if os.environ.get("WITH_CHILD") else None

def handler(event, context):
    global CALLS
    CALLS += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"calls": CALLS, "pid": os.getpid(), "stream": context.log_stream_name,
            "child": CHILD.pid if CHILD else None, "flavour": "FLAVOUR"}
'''


def _call(lam: Lam, name: str, event: dict | None = None) -> tuple[dict, str, dict]:
    resp = lam.lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    return json.loads(resp["Payload"].read()), resp["ResponseMetadata"]["RequestId"], resp


def _reports(lam: Lam, name: str) -> dict[str, str]:
    """REPORT line by request id."""
    out = {}
    for m in lam.log_messages(name, '"REPORT RequestId"'):
        rid = re.match(r"REPORT RequestId: (\S+)", m)
        if rid:
            out[rid.group(1)] = m
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_globals_survive_and_init_duration_only_on_cold_start(lam):
    fn = lam.function("warm", COUNTER, timeout=5)
    first, rid1, _ = _call(lam, fn["FunctionName"])
    second, rid2, _ = _call(lam, fn["FunctionName"])
    assert (first["calls"], second["calls"]) == (1, 2)
    assert first["pid"] == second["pid"] and first["stream"] == second["stream"]
    reports = wait_for(lambda: (r := _reports(lam, fn["FunctionName"])) and len(r) == 2 and r, 20,
                       "two REPORT lines")
    assert re.search(r"\tInit Duration: [\d.]+ ms$", reports[rid1])
    assert "Init Duration" not in reports[rid2]
    assert re.fullmatch(rf"REPORT RequestId: {rid2}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
                        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB", reports[rid2])
    streams = lam.logs.describe_log_streams(logGroupName=f"/aws/lambda/{fn['FunctionName']}")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [first["stream"]]  # one stream per environment
    assert sum(m.startswith("init ") for m in lam.log_messages(fn["FunctionName"])) == 1


def test_timeout_kills_the_environment_and_the_next_start_is_cold(lam):
    fn = lam.function("warmto", COUNTER, timeout=1)
    first, _, _ = _call(lam, fn["FunctionName"])
    assert _call(lam, fn["FunctionName"])[0]["calls"] == 2  # warm before the timeout
    err, _, resp = _call(lam, fn["FunctionName"], {"sleep": 30})
    assert resp["FunctionError"] == "Unhandled" and err["errorType"] == "Sandbox.Timedout"
    assert not _alive(first["pid"])
    again, rid, _ = _call(lam, fn["FunctionName"])
    assert again["calls"] == 1 and again["pid"] != first["pid"]
    assert again["stream"] != first["stream"]
    report = wait_for(lambda: _reports(lam, fn["FunctionName"]).get(rid), 20, "the REPORT line")
    assert "\tInit Duration: " in report


def test_a_crash_kills_the_environment(lam):
    code = COUNTER.replace('    if event.get("sleep"):', '    if event.get("exit"):\n        os._exit(7)\n'
                                                           '    if event.get("sleep"):')
    fn = lam.function("warmcrash", code, timeout=5)
    first, _, _ = _call(lam, fn["FunctionName"])
    assert _call(lam, fn["FunctionName"])[0]["calls"] == 2
    err, _, _ = _call(lam, fn["FunctionName"], {"exit": True})
    assert err["errorType"] == "Runtime.ExitError"
    assert err["errorMessage"].endswith("Runtime exited with error: exit status 7")
    again, _, _ = _call(lam, fn["FunctionName"])
    assert again["calls"] == 1 and again["pid"] != first["pid"]


def test_a_handler_exception_keeps_the_environment(lam):
    code = COUNTER.replace('    if event.get("sleep"):', '    if event.get("raise"):\n'
                                                           '        raise ValueError("no")\n'
                                                           '    if event.get("sleep"):')
    fn = lam.function("warmexc", code, timeout=5)
    assert _call(lam, fn["FunctionName"])[0]["calls"] == 1
    assert _call(lam, fn["FunctionName"], {"raise": True})[0]["errorType"] == "ValueError"
    assert _call(lam, fn["FunctionName"])[0]["calls"] == 3


def test_code_and_configuration_updates_get_fresh_environments(lam):
    fn = lam.function("warmupd", COUNTER, timeout=5)
    name = fn["FunctionName"]
    assert [_call(lam, name)[0]["calls"] for _ in range(2)] == [1, 2]
    lam.lam.update_function_code(FunctionName=name, ZipFile=make_zip({"h.py": COUNTER.replace(
        "FLAVOUR", "new code")}))
    got, _, _ = _call(lam, name)
    assert (got["calls"], got["flavour"]) == (1, "new code")
    assert _call(lam, name)[0]["calls"] == 2
    lam.lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"X": "1"}})
    assert _call(lam, name)[0]["calls"] == 1


@pytest.fixture
def limited_endpoint(fresh_endpoint_factory):
    return fresh_endpoint_factory({"LAKEKIT_LAMBDA_CONCURRENCY": "2", "LAKEKIT_LAMBDA_IDLE_S": "600"})


@pytest.fixture
def fresh_endpoint_factory(tmp_path, monkeypatch):
    from tests.conftest import Endpoint, free_port

    started = []

    def make(env: dict[str, str]):
        for k, v in env.items():
            monkeypatch.setenv(k, v)  # the endpoint process inherits the environment
        ep = Endpoint(tmp_path / f"home{len(started)}", free_port())
        ep.start()
        started.append(ep)
        return ep

    yield make
    for ep in started:
        ep.stop()


def test_parallel_invocations_use_at_most_the_concurrency_limit(limited_endpoint):
    lam = Lam(limited_endpoint)
    fn = lam.function("warmpar", COUNTER, timeout=10)
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda _: _call(lam, fn["FunctionName"], {"sleep": 0.5})[0], range(6)))
    pids = {g["pid"] for g in got}
    assert 1 <= len(pids) <= 2
    assert sorted(g["calls"] for g in got)[-1] >= 3  # environments were reused
    assert sum(g["calls"] for g in got if g["calls"] == 1) == len(pids)  # one cold start each


def test_idle_environments_are_reaped(fresh_endpoint_factory):
    lam = Lam(fresh_endpoint_factory({"LAKEKIT_LAMBDA_IDLE_S": "1"}))
    fn = lam.function("warmidle", COUNTER, timeout=5)
    first, _, _ = _call(lam, fn["FunctionName"])
    wait_for(lambda: not _alive(first["pid"]), 30, "the idle environment to be stopped")
    again, _, _ = _call(lam, fn["FunctionName"])
    assert again["calls"] == 1 and again["pid"] != first["pid"]


def test_environments_stop_with_the_endpoint(fresh_endpoint_factory):
    ep = fresh_endpoint_factory({"LAKEKIT_LAMBDA_IDLE_S": "600"})
    lam = Lam(ep)
    fn = lam.function("warmstop", COUNTER, timeout=5, env={"WITH_CHILD": "1"})
    got, _, _ = _call(lam, fn["FunctionName"])
    assert got["child"] and _alive(got["pid"]) and _alive(got["child"])
    assert ep.stop() is True
    wait_for(lambda: not _alive(got["pid"]) and not _alive(got["child"]), 30,
             f"environment {got['pid']} and its child {got['child']} to be gone")
