"""Shared pytest fixtures.

``moto_url``: a bare moto server (no lakekit gateway) on a free loopback port, for
engine-level tests that only need moto's control plane.
"""
from __future__ import annotations

import os
import socket

import boto3
import pytest
from botocore.config import Config

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

REGION = "us-east-1"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_client(moto_url):
    """Factory: ``moto_client("s3")`` -> boto3 client bound to the bare moto server."""

    def make(service: str):
        return boto3.client(
            service,
            endpoint_url=moto_url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=NO_RETRY,
        )

    return make
