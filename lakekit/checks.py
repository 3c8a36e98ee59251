"""Pre-flight checks shown by 00_setup: Java, Spark, credentials, the endpoint.

Each returns a small dict (one row of the check table) or raises a LakekitError whose
message says how to fix the problem.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lakekit._java import find_java
from lakekit.config import Settings, settings

__all__ = ["java", "spark", "identity", "endpoint", "run_all"]


def java() -> dict[str, Any]:
    rt = find_java()
    return {"check": "java", "ok": True, "detail": f"{rt.version} ({rt.source}: {rt.java})"}


#: Spark's console log for a notebook: warnings and errors, without the NativeCodeLoader
#: warning every local Spark prints (no Hadoop native library). The root level must be WARN:
#: PySpark's shell logging prints "Setting default log level to ..." on stderr whenever the
#: root level differs from WARN (Spark's Logging.initializeLogging).
_LOG4J2 = """rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
"""


def _quiet_log4j2() -> str:
    """Write the quiet log4j2 configuration once per user; -> its path."""
    path = Path(tempfile.gettempdir()) / f"lakekit-log4j2-quiet-{os.getuid()}.properties"
    if not path.is_file() or path.read_text() != _LOG4J2:
        path.write_text(_LOG4J2)
    return str(path)


def spark() -> dict[str, Any]:
    """Start a local SparkSession, count 1,000 rows, stop it."""
    rt = find_java()
    os.environ.setdefault("JAVA_HOME", rt.java_home)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    started = time.monotonic()
    spark = (SparkSession.builder.master("local[1]").appName("lakekit-check")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_quiet_log4j2()}")
             .getOrCreate())
    try:
        rows = spark.range(1000).count()
        version = spark.version
    finally:
        spark.stop()
    return {"check": "spark", "ok": rows == 1000,
            "detail": f"Spark {version}: counted {rows} rows in {time.monotonic() - started:.1f} s"}


def identity(s: Settings | None = None) -> dict[str, Any]:
    from lakekit.session import client

    who = client("sts", s).get_caller_identity()
    return {"check": "credentials", "ok": True, "detail": f"{who['Arn']} (account {who['Account']})"}


def endpoint(s: Settings | None = None) -> dict[str, Any]:
    s = s or settings()
    if not s.is_local:
        return {"check": "endpoint", "ok": True, "detail": "target aws: no local endpoint"}
    from lakekit.local import status

    st = status(s)
    return {"check": "endpoint", "ok": st.running, "detail": str(st)}


def run_all(s: Settings | None = None, with_spark: bool | None = None):
    """All checks as a pandas DataFrame (one row each).

    Java and Spark are checked on ``local`` only: on ``aws`` the Glue job runs on AWS Glue, so
    an attendee without Java can still walk the workshop (``with_spark=True`` forces it).
    """
    import pandas as pd

    s = s or settings()
    rows = [endpoint(s), identity(s)]
    if s.is_local or with_spark:
        rows.append(java())
        if with_spark is None or with_spark:
            rows.append(spark())
    return pd.DataFrame(rows)
