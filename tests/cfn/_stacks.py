"""Helpers shared by the CloudFormation tests."""
from __future__ import annotations

import time


def settle(cf, name: str, timeout: float = 120) -> dict:
    """Poll DescribeStacks until ``name`` (a stack name or id) is no longer *_IN_PROGRESS."""
    deadline = time.monotonic() + timeout
    while True:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        assert time.monotonic() < deadline, f"{name} still {stack['StackStatus']}"
        time.sleep(0.2)


def kill_after_snapshot(ep, nudge, check=None, timeout: float = 20) -> None:
    """SIGKILL the endpoint ``ep`` once a snapshot taken wholly after this call is on disk
    (``nudge()`` makes a change, so one follows within ~0.2 s) and ``check()`` (what must still
    hold when it dies) passed; returns when it is gone."""
    import json
    import os
    import signal
    import urllib.request

    from lakekit import local

    def snapshots() -> int:
        with urllib.request.urlopen(f"{ep.url}/_lakekit/health", timeout=5) as r:
            return json.loads(r.read())["snapshots"]

    s0 = snapshots()
    deadline = time.monotonic() + timeout
    while snapshots() < s0 + 2:
        assert time.monotonic() < deadline, f"no snapshot within {timeout} s"
        nudge()
        time.sleep(0.05)
    if check is not None:
        check()
    os.kill(local.status(ep.settings).pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while local.status(ep.settings).running:
        assert time.monotonic() < deadline, "the endpoint did not die within 10 s of SIGKILL"
        time.sleep(0.1)
