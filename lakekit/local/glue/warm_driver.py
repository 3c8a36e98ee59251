"""A warm Glue driver: one Python driver + JVM that runs job scripts one after another.

Started by :mod:`lakekit.local.glue.warm` as ``python warm_driver.py`` in the job environment
(``PYTHONPATH`` = the local awsglue library, ``PYSPARK_SUBMIT_ARGS`` = the runner's Spark
settings). It imports nothing of lakekit: it is the job's own interpreter.

Protocol (``LAKEKIT_WARM_REPLY_FD`` = the write end of the reply pipe):

- start: builds the SparkContext (the JVM), answers ``{"ready": true}``;
- ``{"warmup": true}`` (a driver started ahead of any run): runs :meth:`Driver.warm_up`, answers
  ``{"ready": true, "warmed_s": seconds}``;
- stdin, one JSON line a run: ``{"script", "argv", "env", "cwd", "run"}``. The driver prints
  ``<MARK> start <run>`` on stdout and stderr, runs the script as ``__main__`` (``sys.argv``,
  ``os.environ``, the working directory and ``sys.path[0]`` as ``python <script>`` would have
  them, a new SparkSession: SQL settings, temporary views and UDFs of one run are not seen by the
  next), prints ``<MARK> end <run>``, answers ``{"rc": n}``;
- then it puts back what a run may change in the shared driver (Hadoop configuration, cached
  data, global temporary views, thread-local job properties, log level, modules the run
  imported from outside the Python installation, logging handlers, boto3's default session and
  awswrangler's config, which would keep an earlier run's credentials) and answers
  ``{"ready": true}``, or ``{"retire": why}`` and exits when the run left it unusable
  (the script stopped the SparkContext, left threads running, or the driver ran its last run).
"""
from __future__ import annotations

import gc
import json
import logging
import os
import runpy
import signal
import sys
import sysconfig
import tempfile
import threading
import time
import traceback

MARK = "\x1e\x1elakekit-warm"
HERE = os.path.dirname(os.path.abspath(__file__))
# `python warm_driver.py` put this folder (lakekit/local/glue) first on sys.path: a job must not
# see the runner's modules, only what `python <script>` would give it
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
_INSTALLED = tuple(os.path.abspath(p) + os.sep for p in {
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"],
    sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def _reply(fd: int, **msg: object) -> None:
    os.write(fd, (json.dumps(msg) + "\n").encode())


def _installed(module: object) -> bool:
    path = getattr(module, "__file__", None)
    return path is None or os.path.abspath(path).startswith(_INSTALLED)


class Driver:
    def __init__(self, reply_fd: int, max_runs: int) -> None:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        self.reply_fd, self.max_runs, self.runs = reply_fd, max_runs, 0
        self.sc = SparkContext.getOrCreate()
        self.base = SparkSession(self.sc)
        self.SparkSession = SparkSession
        self.hadoop = self._hadoop_conf()
        log4j = self.sc._jvm.org.apache.logging.log4j.LogManager.getRootLogger()
        self.log_level = str(log4j.getLevel().toString())
        self.path = list(sys.path)
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.modules = set(sys.modules)
        self.handlers = list(logging.root.handlers)
        self.root_level = logging.root.level
        self.signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        self.threads = set(threading.enumerate())

    # -- a run --------------------------------------------------------------------------
    def run(self, spec: dict) -> int:
        self.runs += 1
        script = spec["script"]
        os.environ.clear()
        os.environ.update(spec["env"])
        extra = [p for p in spec["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [os.path.dirname(os.path.abspath(script))] + \
            [p for p in extra if p not in self.path] + self.path
        sys.argv = [script, *spec["argv"]]
        tempfile.tempdir = None  # TMPDIR is the run's
        _forget_sessions()       # the run's role credentials, not an earlier run's
        os.chdir(spec["cwd"])
        session = self.base.newSession()
        self.SparkSession._instantiatedSession = session
        self.SparkSession._activeSession = session
        jvm_session = self.sc._jvm.org.apache.spark.sql.SparkSession
        jvm_session.setDefaultSession(session._jsparkSession)
        jvm_session.setActiveSession(session._jsparkSession)
        rc = 0
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:  # what the interpreter would exit with
            code = exc.code
            if code is None:
                rc = 0
            elif isinstance(code, int):
                rc = code & 0xFF
            else:
                print(code, file=sys.stderr)
                rc = 1
        except BaseException:  # noqa: BLE001 - printed as the interpreter would, exit code 1
            traceback.print_exc()
            rc = 1
        for t in set(threading.enumerate()) - self.threads:  # Python waits for them at exit
            if not t.daemon:
                t.join()
        return rc

    # -- a new driver's warm-up (Pool.prewarm) -------------------------------------------------
    def warm_up(self, rounds: int = 1) -> None:
        """Run the code paths a CSV/JSON-to-Parquet job takes (typed reads, casts, a cached
        aggregate, a window dedup, a broadcast join, a partitioned write) on generated rows, so the
        JVM has compiled them before the first job run; in the base session, files in TMPDIR."""
        import shutil

        from pyspark.sql import Window
        from pyspark.sql import functions as F

        spark = self.base
        for _ in range(rounds):
            d = tempfile.mkdtemp(prefix="warm-up-")
            try:
                df = spark.range(100_000).select(
                    (F.col("id") % 365).alias("doy"), F.col("id").cast("string").alias("s"),
                    (F.col("id") * 1.5).alias("x"), F.lit("abc").alias("c"))
                df.write.option("header", True).csv(f"{d}/csv")
                df.write.json(f"{d}/json")
                raw = spark.read.schema("doy string, s string, x string, c string") \
                    .option("header", True).csv(f"{d}/csv")
                typed = raw.select(F.col("doy").cast("int").alias("doy"), F.col("s").cast("long").alias("s"),
                                   F.col("x").cast("double").alias("x"), "c",
                                   F.when(F.col("x").cast("double").isNull(), "bad").alias("r")).persist()
                typed.groupBy("r").agg(F.count(F.lit(1)), F.countDistinct("doy")).collect()
                w = Window.partitionBy("s").orderBy(F.col("x").desc())
                dedup = typed.withColumn("rn", F.row_number().over(w)).where("rn = 1").drop("rn")
                look = spark.range(365).select(F.col("id").cast("int").alias("doy"), F.lit("n").alias("name"))
                out = dedup.join(F.broadcast(look), "doy", "left").select(
                    "*", F.lit(2013).alias("year"), ((F.col("doy") % 12) + 1).alias("month"),
                    ((F.col("doy") % 7) + 1).alias("day"))
                out.repartition("year", "month", "day").write.partitionBy("year", "month", "day") \
                    .parquet(f"{d}/parquet")
                spark.read.parquet(f"{d}/parquet").agg(F.sum("x"), F.count(F.lit(1))).collect()
                spark.read.json(f"{d}/json").where("c = 'abc'").count()
                typed.unpersist()
            finally:
                shutil.rmtree(d, ignore_errors=True)

    # -- between runs -------------------------------------------------------------------
    def reset(self) -> str | None:
        """Put back what the run changed; why the driver cannot serve another run, or None."""
        from pyspark import SparkContext

        os.environ.clear()
        os.environ.update(self.environ)
        os.chdir(self.cwd)
        sys.path[:] = self.path
        tempfile.tempdir = None
        for s, handler in self.signals.items():
            signal.signal(s, handler)
        logging.root.handlers[:] = self.handlers
        logging.root.setLevel(self.root_level)
        for name in set(sys.modules) - self.modules:
            if not _installed(sys.modules.get(name)):
                del sys.modules[name]
        gc.collect()
        if SparkContext._active_spark_context is not self.sc or self.sc._jsc is None:
            return "the script stopped the SparkContext"
        if self.runs >= self.max_runs:
            return f"it ran {self.runs} runs"
        alive = [t.name for t in set(threading.enumerate()) - self.threads if t.is_alive()]
        if alive:
            return f"the script left threads running: {', '.join(sorted(alive))}"
        self.base.catalog.clearCache()
        for rdd in list(self.sc._jsc.getPersistentRDDs().values()):
            rdd.unpersist()
        for table in self.base.catalog.listTables("global_temp"):
            self.base.catalog.dropGlobalTempView(table.name)
        self.sc._jsc.sc().getLocalProperties().clear()
        self.sc.setLogLevel(self.log_level)
        self._restore_hadoop_conf()
        self.SparkSession._instantiatedSession = self.base
        self.SparkSession._activeSession = self.base
        jvm_session = self.sc._jvm.org.apache.spark.sql.SparkSession
        jvm_session.setDefaultSession(self.base._jsparkSession)
        jvm_session.setActiveSession(self.base._jsparkSession)
        return None

    def _hadoop_conf(self) -> dict[str, str]:
        it = self.sc._jsc.hadoopConfiguration().iterator()
        out = {}
        while it.hasNext():
            e = it.next()
            out[e.getKey()] = e.getValue()
        return out

    def _restore_hadoop_conf(self) -> None:
        conf = self.sc._jsc.hadoopConfiguration()
        now = self._hadoop_conf()
        for key in set(now) - set(self.hadoop):
            conf.unset(key)
        for key, value in self.hadoop.items():
            if now.get(key) != value:
                conf.set(key, value)


def _forget_sessions() -> None:
    """Installed libraries that cache credentials or settings read from the environment:
    boto3's default session (it keeps the first run's role credentials) and awswrangler's config."""
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None
    wrangler = sys.modules.get("awswrangler")
    if wrangler is not None and hasattr(wrangler, "config"):
        wrangler.config.reset()


def _mark(what: str, run: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
        stream.write(f"\n{MARK} {what} {run}\n")  # on a line of its own (output may lack a newline)
        stream.flush()


def main() -> int:
    reply_fd = int(os.environ["LAKEKIT_WARM_REPLY_FD"])
    max_runs = int(os.environ.get("LAKEKIT_WARM_MAX_RUNS", "20"))
    try:
        driver = Driver(reply_fd, max_runs)
    except BaseException as exc:  # noqa: BLE001 - the pool runs the job cold instead
        traceback.print_exc()
        _reply(reply_fd, retire=f"the driver did not start: {exc!r}")
        return 1
    # the commands come on stdin; the script (and what it starts) reads /dev/null, as in a cold run
    commands = os.fdopen(os.dup(0), "r")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(os.devnull)
    _reply(reply_fd, ready=True)
    for line in commands:
        if not line.strip():
            continue
        spec = json.loads(line)
        if spec.get("warmup"):
            started = time.monotonic()
            try:
                driver.warm_up()
            except BaseException as exc:  # noqa: BLE001 - a driver that cannot warm up is not kept
                traceback.print_exc()
                _reply(reply_fd, retire=f"the warm-up failed: {exc!r}")
                return 1
            _reply(reply_fd, ready=True, warmed_s=round(time.monotonic() - started, 3))
            continue
        _mark("start", spec["run"])
        rc = driver.run(spec)
        _mark("end", spec["run"])
        _reply(reply_fd, rc=rc)
        try:
            why = driver.reset()
        except BaseException as exc:  # noqa: BLE001
            why = f"resetting the driver failed: {exc!r}"
        if why:
            _reply(reply_fd, retire=why)
            return 0
        _reply(reply_fd, ready=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
