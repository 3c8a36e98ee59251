"""Toy job for the warm-driver tests: reports what an earlier run left behind, then leaves
something of each kind behind itself (SQL setting, Hadoop setting, temporary views, cached data,
an imported module of its own folder, an environment variable, boto3's default session); exits with ``--exit``."""
import json
import os
import sys
import tempfile

import boto3
from awsglue.context import GlueContext
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "exit"])
glue = GlueContext(SparkContext.getOrCreate())
spark = glue.spark_session
sc = spark.sparkContext
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "probe_mod.py"), "w") as fh:
    fh.write(f"RUN = {args['JOB_RUN_ID']!r}\n")
import probe_mod  # noqa: E402 - written just above, in the script's own folder

seen = {
    "sql_setting": spark.conf.get("lakekit.probe", None),
    "hadoop_setting": sc._jsc.hadoopConfiguration().get("lakekit.probe.hadoop"),
    "temp_views": sorted(t.name for t in spark.catalog.listTables() if t.isTemporary),
    "global_views": sorted(t.name for t in spark.catalog.listTables("global_temp")),
    "cached_rdds": len(sc._jsc.getPersistentRDDs()),
    "environ": os.environ.get("LAKEKIT_PROBE_LEFT"),
    "module_is_mine": probe_mod.RUN == args["JOB_RUN_ID"],
    "tmp_is_mine": tempfile.gettempdir() == os.environ["TMPDIR"],
    "cwd_has_script": os.path.isdir(os.path.join(os.getcwd(), "script")),
    "boto3_session_is_new": boto3.DEFAULT_SESSION is None,
    "log_level": sc._jvm.org.apache.logging.log4j.LogManager.getRootLogger().getLevel().toString(),
}
print("SEEN " + json.dumps(seen, sort_keys=True), flush=True)
spark.conf.set("lakekit.probe", "left")
sc._jsc.hadoopConfiguration().set("lakekit.probe.hadoop", "left")
df = spark.range(5)
df.createOrReplaceTempView("probe_view")
df.createOrReplaceGlobalTempView("probe_global")
df.cache().count()
sc.parallelize([1, 2, 3]).cache().count()
sc.setLogLevel("ERROR")
os.environ["LAKEKIT_PROBE_LEFT"] = "left"
boto3.client("sts")   # the default session: it would hold this run's role credentials
sys.exit(int(args["exit"]))
