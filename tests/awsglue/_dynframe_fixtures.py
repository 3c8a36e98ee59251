"""Shared fixtures for the local awsglue DynamicFrame/transform tests: pylib on the path, one SparkSession.

Imported by the test modules (conftest.py puts the library on the path). The Spark session is
created once per pytest process and shared by every module that imports it.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "sample"

@pytest.fixture(scope="session")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("lakekit-awsglue-tests")
               .config("spark.driver.memory", "1g")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="session")
def glue_ctx(spark):
    """The tiny stand-in for GlueContext the DynamicFrame needs: ``.spark_session``."""
    return SimpleNamespace(spark_session=spark)


def write_jsonl(path: Path, records: list) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def rows(frame, *order):
    """The frame's rows as plain dicts (nested Rows too), sorted by the given columns."""
    out = [r.asDict(recursive=True) for r in frame.toDF().collect()]
    return sorted(out, key=lambda d: tuple((d[c] is None, d[c]) for c in order)) if order else out
