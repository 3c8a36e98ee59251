"""A small Glue-style job: EvaluateDataQuality on a DynamicFrame; fails when a rule fails and
``--fail_on_dq failed`` is passed (the script decides, as Glue scripts do)."""
import sys

args = {sys.argv[i][2:]: sys.argv[i + 1] for i in range(1, len(sys.argv) - 1, 2) if sys.argv[i].startswith("--")}
if args.get("pylib"):  # until the runner puts the local awsglue on the job's PYTHONPATH
    sys.path.insert(0, args["pylib"])

from awsglue.dynamicframe import DynamicFrame  # noqa: E402
from awsgluedq.transforms import EvaluateDataQuality  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "1").getOrCreate())
orders = DynamicFrame.fromDF(spark.createDataFrame([(1, "a"), (2, None), (3, "c")], "id int, name string"),
                             None, "orders")
outcomes = EvaluateDataQuality.apply(frame=orders, ruleset=args["ruleset"], publishing_options={
    "dataQualityEvaluationContext": "orders_check", "enableDataQualityCloudWatchMetrics": True,
    "enableDataQualityResultsPublishing": True})
failed = [r["Rule"] for r in outcomes.toDF().collect() if r["Outcome"] == "Failed"]
print(f"data quality: {len(failed)} rule(s) failed")
if failed and args.get("fail_on_dq") == "failed":
    raise Exception(f"Data quality rules failed: {failed}")
