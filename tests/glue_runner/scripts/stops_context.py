"""Toy job for the warm-driver tests: counts rows, then stops the SparkContext (a script may)."""
from awsglue.context import GlueContext
from pyspark.context import SparkContext

glue = GlueContext(SparkContext.getOrCreate())
print(f"COUNT {glue.spark_session.range(7).count()}", flush=True)
glue.spark_session.sparkContext.stop()
