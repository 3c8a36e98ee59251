"""Toy Glue job: CSV (header: id,part,value) -> Parquet partitioned by ``part``.

Plain PySpark with getResolvedOptions-style arguments; dynamic partition overwrite, so a
second run replaces only the partitions present in its input.
"""
import sys

from pyspark.sql import SparkSession


def resolved(argv, names):
    out = {}
    for i, a in enumerate(argv):
        for n in names:
            if a == f"--{n}":
                out[n] = argv[i + 1]
    missing = [n for n in names if n not in out]
    if missing:
        raise SystemExit(f"missing arguments: {missing}")
    return out


args = resolved(sys.argv, ["JOB_NAME", "JOB_RUN_ID", "input", "output", "label"])
spark = (SparkSession.builder.master("local[1]").appName(args["JOB_NAME"])
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
         .config("spark.sql.sources.partitionOverwriteMode", "dynamic").getOrCreate())
df = spark.read.option("header", "true").csv(args["input"])
df = df.selectExpr("cast(id as int) id", "part", "cast(value as double) value")
n = df.count()
df.coalesce(1).write.mode("overwrite").partitionBy("part").parquet(args["output"])
print(f"label={args['label']} rows written: {n} run={args['JOB_RUN_ID']}")
spark.stop()
