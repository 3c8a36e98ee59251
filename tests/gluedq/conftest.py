"""Fixtures for the local Glue Data Quality tests: one local SparkSession, the local awsglue path."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PYLIB = Path(__file__).resolve().parents[2] / "lakekit" / "local" / "glue" / "pylib"
if str(PYLIB) not in sys.path:
    sys.path.insert(0, str(PYLIB))


class Frame:
    """Stand-in for a DynamicFrame: only ``toDF()`` and ``glue_ctx`` (what the transform relies on)."""

    def __init__(self, df, glue_ctx=None) -> None:
        self._df = df
        self.glue_ctx = glue_ctx

    def toDF(self):  # noqa: N802
        return self._df


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (SparkSession.builder.master("local[2]").appName("lakekit-gluedq-tests")
               .config("spark.sql.shuffle.partitions", "2").config("spark.ui.enabled", "false")
               .config("spark.driver.memory", "1g").config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    yield session
    session.stop()


@pytest.fixture()
def frame(spark):
    def make(rows, schema):
        return Frame(spark.createDataFrame(rows, schema))
    return make
