"""Fixtures for the CloudWatch tests: one endpoint with compressed alarm time (60x)."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests._waits import wait_until
from tests.conftest import Endpoint, free_port

TIME_SCALE = "60"   # a 60-second period lasts one real second
ALARM_TICK = "0.25"


@pytest.fixture(scope="module")
def cw_ep(tmp_path_factory):
    """A private endpoint started with LAKEKIT_CW_TIME_SCALE=60, LAKEKIT_CW_ALARM_TICK=0.25."""
    saved = {k: os.environ.get(k) for k in ("LAKEKIT_CW_TIME_SCALE", "LAKEKIT_CW_ALARM_TICK")}
    os.environ["LAKEKIT_CW_TIME_SCALE"] = TIME_SCALE
    os.environ["LAKEKIT_CW_ALARM_TICK"] = ALARM_TICK
    ep = Endpoint(tmp_path_factory.mktemp("cw-home"), free_port())
    try:
        ep.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield ep
    ep.stop()


def wait_for(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """``tests._waits.wait_until`` with this folder's argument order."""
    return wait_until(probe, what, timeout, interval)
