"""Fixtures for the ingestion tests (helpers live in ingest_helpers.py)."""
from __future__ import annotations

import uuid

import pytest
from ingest_helpers import Lake


@pytest.fixture
def lake(moto_url, moto_client, monkeypatch):
    """Fresh buckets + the Lambda environment pointing at the bare moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    lk = Lake(moto_client("s3"), uuid.uuid4().hex[:10])
    monkeypatch.setenv("RAW_BUCKET", lk.raw)
    monkeypatch.setenv("QUARANTINE_BUCKET", lk.quarantine)
    monkeypatch.setenv("LANDING_BUCKET", lk.landing)
    monkeypatch.setenv("STATE_BUCKET", lk.state)
    for name in ("MAX_BYTES", "MAX_LINE_BYTES", "FULL_VALIDATE_BYTES", "SAMPLE_LINES", "TAIL_LINES",
                 "DELETE_FROM_LANDING", "START_JOB_ON_ARRIVAL", "GLUE_JOB_NAME", "STATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    return lk
