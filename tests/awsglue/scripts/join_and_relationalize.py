# A Glue job in the shape of AWS's documented "Join and relationalize data" example
# (aws-samples/aws-glue-samples examples/join_and_relationalize.py, MIT-0), with its paths taken
# from job arguments so it runs on small local data. It must run unchanged on AWS Glue 5.0.
import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.transforms import Join
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "output_dir", "temp_dir"])
glueContext = GlueContext(SparkContext.getOrCreate())
job = Job(glueContext)
job.init(args["JOB_NAME"], args)

# catalog: database and table names
db_name = "legislators"
tbl_persons = "persons_json"
tbl_membership = "memberships_json"
tbl_organization = "organizations_json"

# output s3 and temp directories
output_history_dir = args["output_dir"] + "/legislator_history"
output_lg_partitioned_dir = args["output_dir"] + "/legislator_part"
temp_dir = args["temp_dir"]

# Create dynamic frames from the source tables
persons = glueContext.create_dynamic_frame.from_catalog(database=db_name, table_name=tbl_persons)
memberships = glueContext.create_dynamic_frame.from_catalog(database=db_name, table_name=tbl_membership)
orgs = glueContext.create_dynamic_frame.from_catalog(database=db_name, table_name=tbl_organization)

# Keep the fields we need and rename some.
orgs = orgs.drop_fields(["other_names", "identifiers"]).rename_field("id", "org_id").rename_field("name", "org_name")

# Join the frames to create history
l_history = Join.apply(orgs, Join.apply(persons, memberships, "id", "person_id"),
                       "org_id", "organization_id").drop_fields(["person_id", "org_id"])
print("Count: ", l_history.count())
l_history.printSchema()

# Write out the history, then the same partitioned by (separate) Senate and House
glueContext.write_dynamic_frame.from_options(frame=l_history, connection_type="s3",
                                             connection_options={"path": output_history_dir},
                                             format="parquet")
l_history.toDF().write.parquet(output_lg_partitioned_dir, partitionBy=["org_name"])

# Convert the data to flat tables and write each one
dfc = l_history.relationalize("hist_root", temp_dir)
for df_name in dfc.keys():
    m_df = dfc.select(df_name)
    print("Writing table: ", df_name, " ...")
    glueContext.write_dynamic_frame.from_options(frame=m_df, connection_type="s3",
                                                 connection_options={"path": args["output_dir"] + "/flat/" + df_name},
                                                 format="parquet")
job.commit()
