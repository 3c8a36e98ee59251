"""The governance phase (DeployGovernance) and the Lake Formation provisioners, read back via boto3."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lakekit import deploy, governance
from lakekit.exceptions import DeployError
from lakekit.local.lakeformation.evaluator import AccessDeniedError, evaluator

from ._stacks import settle

ACCOUNT, REGION = "123456789012", "us-east-1"
PREFIX = "cfngov"
DB = "cfngov_lake"
FLIGHT_COLS = ["dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time", "arr_delay",
               "carrier", "flight", "tailnum", "origin", "dest", "air_time", "distance", "hour", "minute",
               "time_hour"]
JFK_COLS = ["year", "month", "day", "carrier", "origin", "dest", "dep_delay", "arr_delay"]
PARQUET = {"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
           "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
           "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}


def _table(name: str, cols: list[str], parts: list[str] = ()) -> dict:
    return {"Name": name, "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {"Columns": [{"Name": c, "Type": "string"} for c in cols],
                                  "Location": f"s3://nowhere/{name}/", **PARQUET},
            "PartitionKeys": [{"Name": p, "Type": "int"} for p in parts]}


def _grants_of(lf, principal: str) -> list[dict]:
    """ListPermissions needs a Resource with a Principal: list all, keep the principal's."""
    return [g for g in lf.list_permissions()["PrincipalResourcePermissions"]
            if g["Principal"]["DataLakePrincipalIdentifier"] == principal]


def _tags(lf, table: str, db: str = DB) -> tuple[dict, dict]:
    got = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": db, "Name": table}})
    table_tags = {t["TagKey"]: t["TagValues"] for t in got["LFTagsOnTable"]}
    cols = {c["Name"]: {t["TagKey"]: t["TagValues"][0] for t in c["LFTags"]} for c in got["LFTagsOnColumns"]}
    return table_tags, cols


@pytest.fixture(scope="module")
def phases12(endpoint):
    s = endpoint.settings.with_(prefix=PREFIX)
    out = deploy.deploy(s, progress=False, timeout=300)
    return s, out


def test_governance_needs_the_crawled_tables_first(phases12, endpoint):
    s, out = phases12
    with pytest.raises(DeployError, match=r"table\(s\) flights, airlines are not in database cfngov_lake.*"
                                          r"notebooks 03 and 04"):
        deploy.deploy(s, progress=False, governance=True)
    assert deploy.outputs(s)["GovernanceDeployed"] == "false"
    assert len(deploy.resources(s)) == deploy.expected_resources(True) == 43


@pytest.fixture(scope="module")
def governed(phases12, endpoint):
    s, _ = phases12
    glue = endpoint.client("glue")
    glue.create_table(DatabaseName=DB, TableInput=_table("flights", FLIGHT_COLS, ["year", "month", "day"]))
    glue.create_table(DatabaseName=DB, TableInput=_table("airlines", ["carrier", "name"]))
    glue.create_table(DatabaseName=DB, TableInput=_table("weather", ["origin", "temp"]))
    assert governance.iam_allowed_tables(DB, s) == ["airlines", "flights", "weather"]
    out = deploy.deploy(s, progress=False, timeout=300, governance=True)
    return s, out


def test_governance_outputs_resources_and_lake_formation_mode(governed, endpoint):
    s, out = governed
    assert out["GovernanceDeployed"] == "true" and out["ComputeDeployed"] == "true"
    assert (out["SensitivityTagKey"], out["DomainTagKey"], out["JfkFilterName"]) == (
        "cfngov-sensitivity", "cfngov-domain", "jfk_departures")
    table = deploy.resources(s)
    assert len(table) == deploy.expected_resources(True, True) == 53
    assert set(table["status"]) <= {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
    gov = table[table["type"].str.startswith("AWS::LakeFormation::") & table["logical_id"].isin(
        ["SensitivityTag", "JfkDeparturesFilter"])].set_index("logical_id")["physical_id"].to_dict()
    assert gov == {"SensitivityTag": "cfngov-sensitivity",
                   "JfkDeparturesFilter": f"{ACCOUNT}|{DB}|flights|jfk_departures"}
    assert governance.iam_allowed_tables(DB, s) == []  # every table of the lake: grants decide


def test_tags_and_assignments_read_back(governed, endpoint):
    lf = endpoint.client("lakeformation")
    assert lf.get_lf_tag(TagKey="cfngov-sensitivity")["TagValues"] == ["public", "pii"]
    assert lf.get_lf_tag(TagKey="cfngov-domain")["TagValues"] == ["operations", "reference"]
    db_tags = lf.get_resource_lf_tags(Resource={"Database": {"Name": DB}})["LFTagOnDatabase"]
    assert [(t["TagKey"], t["TagValues"]) for t in db_tags] == [("cfngov-sensitivity", ["public"])]
    table_tags, cols = _tags(lf, "flights")
    assert table_tags == {"cfngov-domain": ["operations"], "cfngov-sensitivity": ["public"]}
    assert cols["tailnum"] == {"cfngov-domain": "operations", "cfngov-sensitivity": "pii"}
    assert {c for c, t in cols.items() if t["cfngov-sensitivity"] == "public"} == \
        set(FLIGHT_COLS + ["year", "month", "day"]) - {"tailnum"}
    assert _tags(lf, "airlines")[0] == {"cfngov-domain": ["reference"], "cfngov-sensitivity": ["public"]}
    assert _tags(lf, "weather")[0] == {"cfngov-sensitivity": ["public"]}


def test_filter_and_grants_read_back(governed, endpoint):
    _, out = governed
    lf = endpoint.client("lakeformation")
    f = lf.get_data_cells_filter(TableCatalogId=ACCOUNT, DatabaseName=DB, TableName="flights",
                                 Name="jfk_departures")["DataCellsFilter"]
    assert f["RowFilter"] == {"FilterExpression": "origin = 'JFK'"} and f["ColumnNames"] == JFK_COLS
    by_kind = {next(iter(g["Resource"])): g for g in _grants_of(lf, out["AnalystFullRoleArn"])}
    assert set(by_kind) == {"Database", "LFTagPolicy"}
    pol = by_kind["LFTagPolicy"]
    assert pol["Permissions"] == ["DESCRIBE", "SELECT"] and pol["Resource"]["LFTagPolicy"]["Expression"] == [
        {"TagKey": "cfngov-domain", "TagValues": ["operations", "reference"]},
        {"TagKey": "cfngov-sensitivity", "TagValues": ["public"]}]
    grants = {next(iter(g["Resource"])): g for g in _grants_of(lf, out["AnalystRestrictedRoleArn"])}
    assert grants["DataCellsFilter"]["Permissions"] == ["SELECT"]
    assert grants["DataCellsFilter"]["Resource"]["DataCellsFilter"]["Name"] == "jfk_departures"
    frame = governance.permissions(out["AnalystRestrictedRoleArn"], s=governed[0])
    assert list(frame["resource_type"]) == ["DataCellsFilter", "Database"]
    assert frame["resource"].iloc[0] == f"{DB}.flights filter jfk_departures"


def test_what_each_analyst_may_read(governed, endpoint):
    s, out = governed
    keys = {}
    for role in ("AnalystFullRoleArn", "AnalystRestrictedRoleArn"):
        keys[role] = governance.assume_role(out[role], s=s)["aws_access_key_id"]
    full = evaluator(ACCOUNT, keys["AnalystFullRoleArn"], REGION, endpoint.url)
    assert set(full.visible_columns(DB, "flights")) == set(FLIGHT_COLS + ["year", "month", "day"]) - {"tailnum"}
    assert full.visible_columns(DB, "airlines") == ["carrier", "name"]
    with pytest.raises(AccessDeniedError, match=r"Insufficient Lake Formation permission\(s\) on weather "):
        full.table_access(DB, "weather")
    restricted = evaluator(ACCOUNT, keys["AnalystRestrictedRoleArn"], REGION, endpoint.url)
    access = restricted.table_access(DB, "flights")
    assert access.row_filter == "origin = 'JFK'" and access.columns == set(JFK_COLS)
    with pytest.raises(AccessDeniedError, match=r"Insufficient Lake Formation permission\(s\) on airlines "):
        restricted.table_access(DB, "airlines")


def test_redeploy_keeps_governance_then_false_removes_it(governed, endpoint):
    s, out = governed
    cf, lf = endpoint.client("cloudformation"), endpoint.client("lakeformation")
    before = len(cf.describe_stack_events(StackName="cfngov-datalake")["StackEvents"])
    assert deploy.deploy(s, progress=False) == out  # governance=None keeps it: nothing to do
    assert len(cf.describe_stack_events(StackName="cfngov-datalake")["StackEvents"]) == before
    out2 = deploy.deploy(s, progress=False, governance=False)
    assert out2["GovernanceDeployed"] == "false" and "SensitivityTagKey" not in out2
    assert len(deploy.resources(s)) == 43
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        lf.get_lf_tag(TagKey="cfngov-sensitivity")
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        lf.get_data_cells_filter(TableCatalogId=ACCOUNT, DatabaseName=DB, TableName="flights",
                                 Name="jfk_departures")
    assert _tags(lf, "flights") == ({}, {})
    assert [next(iter(g["Resource"])) for g in _grants_of(lf, out["AnalystFullRoleArn"])] == ["Database"]
    # and back: governance=True again recreates everything
    assert deploy.deploy(s, progress=False, governance=True)["SensitivityTagKey"] == "cfngov-sensitivity"
    assert _tags(lf, "flights")[1]["tailnum"]["cfngov-sensitivity"] == "pii"


# ---------------------------------------------------------------- provisioners on a small stack
SMALL = """
Resources:
  Tag:
    Type: AWS::LakeFormation::Tag
    Properties: {TagKey: KEY, TagValues: [VALUES]}
  Assoc:
    Type: AWS::LakeFormation::TagAssociation
    Properties:
      Resource: {Table: {CatalogId: "123456789012", DatabaseName: cfngov_small, Name: t}}
      LFTags: [{CatalogId: "123456789012", TagKey: !Ref Tag, TagValues: [ASSIGNED]}]
  Filter:
    Type: AWS::LakeFormation::DataCellsFilter
    Properties:
      TableCatalogId: "123456789012"
      DatabaseName: cfngov_small
      TableName: t
      Name: FILTER
      RowFilter: {FilterExpression: "a = 'x'"}
      ColumnWildcard: {ExcludedColumnNames: [b]}
"""


def _small(key="cfngov-k", values="v1, v2", assigned="v1", name="f1") -> str:
    return (SMALL.replace("KEY", key).replace("VALUES", values).replace("ASSIGNED", assigned)
            .replace("FILTER", name))


@pytest.fixture(scope="module")
def small_table(endpoint):
    glue = endpoint.client("glue")
    glue.create_database(DatabaseInput={"Name": "cfngov_small"})
    glue.create_table(DatabaseName="cfngov_small", TableInput=_table("t", ["a", "b", "c"]))
    return endpoint


def _filter(lf, name: str) -> dict:
    return lf.get_data_cells_filter(TableCatalogId=ACCOUNT, DatabaseName="cfngov_small", TableName="t",
                                    Name=name)["DataCellsFilter"]


def test_small_stack_create_update_delete(small_table, endpoint):
    cf, lf = endpoint.client("cloudformation"), endpoint.client("lakeformation")
    cf.create_stack(StackName="lfsmall", TemplateBody=_small())
    assert settle(cf, "lfsmall")["StackStatus"] == "CREATE_COMPLETE"
    assert lf.get_lf_tag(TagKey="cfngov-k")["TagValues"] == ["v1", "v2"]
    assert _tags(lf, "t", "cfngov_small")[0] == {"cfngov-k": ["v1"]}
    assert _filter(lf, "f1")["ColumnWildcard"] == {"ExcludedColumnNames": ["b"]}
    res = cf.describe_stack_resource(StackName="lfsmall", LogicalResourceId="Assoc")["StackResourceDetail"]
    assert res["PhysicalResourceId"].startswith('{"Table": {"CatalogId": "123456789012"')
    # tag values change in place; the association (create-only) is replaced: v3 assigned, v1 not
    cf.update_stack(StackName="lfsmall", TemplateBody=_small(values="v1, v3", assigned="v3", name="f2"))
    assert settle(cf, "lfsmall")["StackStatus"] == "UPDATE_COMPLETE"
    assert lf.get_lf_tag(TagKey="cfngov-k")["TagValues"] == ["v1", "v3"]
    assert _tags(lf, "t", "cfngov_small")[0] == {"cfngov-k": ["v3"]}
    assert _filter(lf, "f2")["RowFilter"] == {"FilterExpression": "a = 'x'"}
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        _filter(lf, "f1")  # the replaced filter is gone
    events = [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
              for e in cf.describe_stack_events(StackName="lfsmall")["StackEvents"]]
    assert ("Tag", "UPDATE_IN_PROGRESS", "") in events
    assert ("Filter", "UPDATE_IN_PROGRESS", "Requested update requires the creation of a new physical "
            "resource; hence creating one.") in events
    # a filter whose name stays but whose row filter changes cannot be replaced (custom name)
    body = _small(values="v1, v3", assigned="v3", name="f2").replace("a = 'x'", "a = 'y'")
    cf.update_stack(StackName="lfsmall", TemplateBody=body)
    assert settle(cf, "lfsmall")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName="lfsmall")["StackEvents"]
              if e["ResourceStatus"] == "UPDATE_FAILED"][0]
    assert failed["LogicalResourceId"] == "Filter"
    assert failed["ResourceStatusReason"].startswith(
        "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename f2")
    assert _filter(lf, "f2")["RowFilter"] == {"FilterExpression": "a = 'x'"}
    stack_id = cf.describe_stacks(StackName="lfsmall")["Stacks"][0]["StackId"]
    cf.delete_stack(StackName="lfsmall")
    assert settle(cf, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        lf.get_lf_tag(TagKey="cfngov-k")
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        _filter(lf, "f2")
    assert _tags(lf, "t", "cfngov_small") == ({}, {})


def test_unknown_tag_value_fails_with_reason_and_rolls_back(small_table, endpoint):
    cf, lf = endpoint.client("cloudformation"), endpoint.client("lakeformation")
    cf.create_stack(StackName="lfbad", TemplateBody=_small(key="cfngov-bad", assigned="nope", name="fb"))
    assert settle(cf, "lfbad")["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName="lfbad")["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"][0]
    assert failed["LogicalResourceId"] == "Assoc"
    assert failed["ResourceStatusReason"].startswith(
        "Property LFTags: Resource handler returned message: \"AddLFTagsToResource LF-tag cfngov-bad=['nope']: "
        "Tag or tag value does not exist.\"")
    with pytest.raises(ClientError, match="EntityNotFoundException"):
        lf.get_lf_tag(TagKey="cfngov-bad")  # rolled back
    stack_id = cf.describe_stacks(StackName="lfbad")["Stacks"][0]["StackId"]
    cf.delete_stack(StackName="lfbad")
    assert settle(cf, stack_id)["StackStatus"] == "DELETE_COMPLETE"


def test_deployer_reads_every_table_through_an_explicit_grant(governed, endpoint):
    """Admins get DESCRIBE and grant rights, not data: the governance phase grants the deployer
    SELECT on every table of the lake (Lake Formation guide, "Implicit Lake Formation permissions")."""
    s, _ = governed
    lf = endpoint.client("lakeformation")
    deployer = deploy.deployer_arn(s)
    got = lf.list_permissions(Principal={"DataLakePrincipalIdentifier": deployer},
                              Resource={"Table": {"DatabaseName": DB, "TableWildcard": {}}})
    perms = [p for p in got["PrincipalResourcePermissions"]
             if "TableWildcard" in p["Resource"].get("Table", {})]
    assert [sorted(p["Permissions"]) for p in perms] == [["DESCRIBE", "SELECT"]]
