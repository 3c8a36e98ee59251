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
