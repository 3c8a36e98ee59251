"""Toy job for the warm-driver tests: the Glue console's boilerplate, its own SparkContext()."""
from awsglue.context import GlueContext
from pyspark.context import SparkContext

sc = SparkContext()
glue = GlueContext(sc)
print(f"COUNT {glue.spark_session.range(3).count()}", flush=True)
