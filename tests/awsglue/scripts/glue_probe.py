"""A Glue 5.0 job in Glue's documented style, driven by --plan (JSON): reads, writes, a report.

Each read prints ``REPORT <json>`` (rows sorted, schema) to stdout (the run's /output log).
"""
import json
import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql.functions import input_file_name

args = getResolvedOptions(sys.argv, ["JOB_NAME", "plan"])
plan = json.loads(args["plan"])
sc = SparkContext.getOrCreate()
glueContext = GlueContext(sc)
spark = glueContext.spark_session
logger = glueContext.get_logger()
job = Job(glueContext)
job.init(args["JOB_NAME"], args)

frames = {}
for step in plan.get("reads", []):
    if step["kind"] == "options":
        dyf = glueContext.create_dynamic_frame.from_options(
            connection_type="s3", connection_options=step["connection_options"],
            format=step["format"], format_options=step.get("format_options", {}),
            transformation_ctx=step.get("ctx", ""))
        df = dyf.toDF()
    elif step["kind"] == "catalog":
        dyf = glueContext.create_dynamic_frame.from_catalog(
            database=step["database"], table_name=step["table"],
            push_down_predicate=step.get("predicate", ""), transformation_ctx=step.get("ctx", ""),
            additional_options=step.get("additional_options", {}))
        df = dyf.toDF()
    else:  # data frame from catalog
        df = glueContext.create_data_frame.from_catalog(database=step["database"], table_name=step["table"])
        dyf = None
    frames[step["name"]] = dyf
    rows = sorted(json.dumps(r.asDict(recursive=True), sort_keys=True, default=str) for r in df.collect())
    report = {"name": step["name"], "rows": [json.loads(r) for r in rows],
              "schema": df.schema.simpleString(), "count": df.count()}
    if dyf is not None:  # the DynamicFrame's own schema: a field mixing types is a 'choice'
        report["types"] = {f.name: f.dataType.typeName() for f in dyf.schema()}
    if step.get("lineage"):  # input_file_name() on the DataFrame toDF() gives (file names only)
        files = df.select(input_file_name().alias("f")).distinct().collect()
        report["files"] = sorted(r["f"].rsplit("/", 1)[-1] for r in files)
    if step.get("resolve") and dyf is not None:
        resolved = dyf.resolveChoice(specs=[tuple(s) for s in step["resolve"]]).toDF()
        report["resolved_schema"] = resolved.schema.simpleString()
        report["resolved_rows"] = sorted((r.asDict(recursive=True) for r in resolved.collect()),
                                         key=lambda d: json.dumps(d, sort_keys=True, default=str))
    print("REPORT " + json.dumps(report, default=str))
    logger.info(f"read {step['name']}: {len(rows)} rows")

for step in plan.get("writes", []):
    dyf = frames[step["frame"]]
    if step["kind"] == "options":
        glueContext.write_dynamic_frame.from_options(
            frame=dyf, connection_type="s3", connection_options=step["connection_options"],
            format=step["format"], format_options=step.get("format_options", {}))
    elif step["kind"] == "catalog":
        glueContext.write_dynamic_frame.from_catalog(
            frame=dyf, database=step["database"], table_name=step["table"],
            additional_options=step.get("additional_options", {}))
    else:
        sink = glueContext.getSink(connection_type="s3", path=step["path"], enableUpdateCatalog=True,
                                   updateBehavior=step.get("updateBehavior", "UPDATE_IN_DATABASE"),
                                   partitionKeys=step.get("partitionKeys", []))
        sink.setCatalogInfo(catalogDatabase=step["database"], catalogTableName=step["table"])
        sink.setFormat(step.get("format", "glueparquet"))
        sink.writeFrame(dyf)

for purge in plan.get("purges", []):
    glueContext.purge_s3_path(purge["path"], purge.get("options", {}))

if plan.get("commit", True):
    job.commit()
if plan.get("fail"):
    raise RuntimeError("planned failure after the writes and job.commit()")
