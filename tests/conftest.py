"""Shared pytest fixtures.

``moto_url``: a bare moto server (no lakekit gateway) on a free loopback port, for
engine-level tests that only need moto's control plane.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# no warm Glue driver per CreateJob: most test endpoints create jobs they never run (the
# notebook test and tests/glue_runner/test_warm_drivers.py turn it on for their endpoints)
os.environ.setdefault("LAKEKIT_GLUE_PREWARM", "0")

REGION = "us-east-1"
#: what ``lakekit.connect()`` exports into the process environment (and what it may reach through
#: awswrangler's configuration): a test that calls it must not hand its values to later tests
#: of the same worker (a notebook run inherits os.environ: 00 once ran in ap-southeast-2)
EXPORTED_ENV = ("LAKEKIT_TARGET", "LAKEKIT_REGION", "LAKEKIT_PREFIX", "AWS_REGION", "AWS_DEFAULT_REGION",
                "AWS_ENDPOINT_URL")
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _restore_exported_environment():
    """Put back :data:`EXPORTED_ENV` as it was before the test (its fixtures included)."""
    before = {k: os.environ.get(k) for k in EXPORTED_ENV}
    yield
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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


class Endpoint:
    """A lakekit local endpoint process started for tests (own port, own home)."""

    def __init__(self, home, port: int):
        from lakekit.config import settings

        self.settings = settings().with_(target="local", port=port, home=home)
        self.url = self.settings.endpoint_url
        self.home = home

    def start(self):
        from lakekit import local

        return local.up(self.settings, quiet=True)

    def stop(self) -> bool:
        from lakekit import local

        return local.down(self.settings, quiet=True)

    def client(self, service: str, **kwargs):
        kwargs.setdefault("config", NO_RETRY)
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=kwargs.pop("access_key", "test"),
                            aws_secret_access_key=kwargs.pop("secret_key", "test"),
                            aws_session_token=kwargs.pop("session_token", None), **kwargs)


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory):
    """The full lakekit endpoint (gateway + executors) in a subprocess; stopped at the end."""
    ep = Endpoint(tmp_path_factory.mktemp("lakekit-home"), free_port())
    ep.start()
    yield ep
    ep.stop()


@pytest.fixture(scope="session")
def private_endpoint(tmp_path_factory):
    """Factory for endpoints of a wider scope than one test: ``ep = private_endpoint("name")``.

    The caller stops it (``ep.stop()``); any still running stop at the end of the session.
    """
    started: list[Endpoint] = []

    def make(name: str) -> Endpoint:
        ep = Endpoint(tmp_path_factory.mktemp(name), free_port())
        ep.start()
        started.append(ep)
        return ep

    yield make
    for ep in started:
        ep.stop()


@pytest.fixture
def fresh_endpoint(tmp_path):
    """A private endpoint for tests that restart or kill it."""
    ep = Endpoint(tmp_path / "home", free_port())
    ep.start()
    yield ep
    ep.stop()


# ----------------------------------------------------------------------------- process-wide moto
# ``mock_aws()`` resets moto's backends, which are process-wide: in a pytest-xdist worker it would
# wipe the state of the in-process moto server (``moto_url``) that other test files of the same
# worker built. Files using it are marked ``in_process_moto`` and `make test` runs them in a
# pytest run of their own, after the parallel one.
_MOCK_MODULES: dict[str, bool] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(getattr(item, "fspath", ""))
        if path not in _MOCK_MODULES:
            try:
                _MOCK_MODULES[path] = "mock_aws" in open(path, encoding="utf-8").read()
            except OSError:
                _MOCK_MODULES[path] = False
        if _MOCK_MODULES[path]:
            item.add_marker(pytest.mark.in_process_moto)
    _longest_files_first(config, items)


# ----------------------------------------------------------------------------- the order of files
#: The files whose tests take longest, longest first (``--durations`` of `make test` on a fresh
#: clone, 2026-12-02: the workshop 588 s, the room 290 s, the ETL job 150 s, ...). pytest-xdist
#: (``--dist loadfile --no-loadscope-reorder``) hands files to workers in collection order: these
#: start at once, each on a worker of its own, instead of last (xdist's own reordering puts files
#: with few tests at the end, and the workshop is one test).
LONGEST_FILES = (
    "tests/notebooks/test_notebooks.py",
    "tests/room/test_shared_account.py",
    "tests/glue/test_etl_job.py",
    "tests/glue_runner/test_glue_jobs.py",
    "tests/glue_runner/test_warm_drivers.py",
    "tests/glue_runner/test_etl_through_endpoint.py",
    "tests/awsglue/test_context.py",
    "tests/browser/test_jupyterlab.py",
    "tests/gluedq/test_results_api.py",
    "tests/awsglue/test_bookmarks.py",
)


def _longest_files_first(config, items) -> None:
    """Reorder ``items`` by file: :data:`LONGEST_FILES` in their order, then the other files with
    more tests before files with fewer (what xdist's reordering does); a file's tests keep their order."""
    root = Path(str(config.rootpath))
    by_file: dict[str, list] = {}
    for item in items:
        try:
            rel = Path(str(item.path)).relative_to(root).as_posix()
        except ValueError:
            rel = str(item.path)
        by_file.setdefault(rel, []).append(item)
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    files = sorted(by_file, key=lambda f: (rank.get(f, len(rank)), -len(by_file[f]) if f not in rank else 0))
    items[:] = [item for f in files for item in by_file[f]]
