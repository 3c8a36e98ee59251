"""Bounded polling helpers shared by the endpoint tests (every wait has a deadline)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_until(probe: Callable[[], Any], what: str, timeout: float, interval: float = 0.25) -> Any:
    """Call ``probe`` until truthy; fail naming ``what`` and the last value after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; last probe: {got!r}")
        time.sleep(interval)


def crawler_ready(glue: Any, name: str, timeout: float = 120) -> dict:
    """The crawler once it is READY with a LastCrawl (TimeoutError naming its state otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        c = glue.get_crawler(Name=name)["Crawler"]
        if c["State"] == "READY" and "LastCrawl" in c:
            return c
        if time.monotonic() > deadline:
            raise TimeoutError(f"crawler {name} still {c['State']} after {timeout}s")
        time.sleep(0.2)
