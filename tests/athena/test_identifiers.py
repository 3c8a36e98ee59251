"""Backquoted identifiers and syntax errors, where and when Athena takes or refuses them.

Athena parses DDL (CREATE EXTERNAL TABLE, MSCK REPAIR TABLE, ALTER TABLE ... PARTITION, DROP TABLE,
DESCRIBE, SHOW ...) with Hive's parser, which takes `backquoted` names; SELECT, CTAS, INSERT and
CREATE VIEW go to Trino's parser, which refuses them at StartQueryExecution with
InvalidRequestException "line 1:15: backquoted identifiers are not supported; use double quotes to
quote identifiers". Syntax errors of the Trino parser are refused there too ("line 1:1: mismatched
input 'SELEC'. Expecting: ..."); errors found while running (a missing table) FAIL the query.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lakekit.local.athena import _requests as rq

from . import _gwlake as L
from .conftest import BUCKET, DB

BACKQUOTE = "backquoted identifiers are not supported; use double quotes to quote identifiers"


# ----------------------------------------------------------------------------- Hive DDL takes backquotes
@pytest.fixture(scope="module")
def scratch(lake):
    """``bq_parts``: CSV partitioned by k, with folders k=1 and k=2 in S3 and no Glue partitions."""
    s3, glue = lake["s3"], lake["glue"]
    for k in (1, 2):
        s3.put_object(Bucket=BUCKET, Key=f"bq_parts/k={k}/part.csv", Body=f"{k}0,x\n{k}1,y\n".encode())
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "bq_parts", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "csv"},
        "PartitionKeys": [{"Name": "k", "Type": "int"}],
        "StorageDescriptor": {
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                          "Parameters": {"field.delim": ","}},
            "Location": f"s3://{BUCKET}/bq_parts/",
            "Columns": [{"Name": "n", "Type": "int"}, {"Name": "s", "Type": "string"}]}})
    return glue


def test_msck_repair_with_backquoted_database_and_table(run, scratch):
    res = run(f"MSCK REPAIR TABLE `{DB}`.`bq_parts`")
    assert res.substatement_type == "MSCK_REPAIR_TABLE"
    parts = scratch.get_partitions(DatabaseName=DB, TableName="bq_parts")["Partitions"]
    assert sorted(p["Values"] for p in parts) == [["1"], ["2"]]
    assert run("SELECT count(*) AS n FROM bq_parts").rows() == [["4"]]


def test_show_partitions_and_alter_table_with_backquotes(run, scratch):
    run(f"MSCK REPAIR TABLE `{DB}`.bq_parts")
    run(f"ALTER TABLE `{DB}`.`bq_parts` ADD IF NOT EXISTS PARTITION (`k`=3) LOCATION 's3://{BUCKET}/bq_parts/k=3/'")
    assert run(f"SHOW PARTITIONS `{DB}`.`bq_parts`").rows() == [["k=1"], ["k=2"], ["k=3"]]
    run("ALTER TABLE `bq_parts` DROP PARTITION (`k`=3)")
    assert run("SHOW PARTITIONS bq_parts").rows() == [["k=1"], ["k=2"]]


def test_describe_and_show_columns_with_a_backquoted_database(run, lake):
    described = [r[0].split("\t")[0].strip() for r in run(f"DESCRIBE `{DB}`.flights").rows()]
    assert described[:3] == ["dep_time", "sched_dep_time", "dep_delay"]
    assert "year" in described
    cols = [r[0] for r in run(f"SHOW COLUMNS IN `{DB}`.`flights`").rows()]
    assert cols[:2] == ["dep_time", "sched_dep_time"] and len(cols) == 20


def test_drop_table_with_backquotes(run, lake):
    glue = lake["glue"]
    glue.create_table(DatabaseName=DB, TableInput={"Name": "bq_drop", "TableType": "EXTERNAL_TABLE",
                                                   "StorageDescriptor": {"Location": f"s3://{BUCKET}/bq_drop/",
                                                                         "Columns": [{"Name": "a", "Type": "int"}]}})
    assert run("DROP TABLE `bq_drop`").substatement_type == "DROP_TABLE"
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_table(DatabaseName=DB, Name="bq_drop")


# ----------------------------------------------------------------------------- the parser's decisions (pure)
@pytest.mark.parametrize("sql, where", [
    ("SELECT * FROM `gwdb`.flights", "line 1:15: "),
    ("SELECT `carrier` FROM flights", "line 1:8: "),
    ("CREATE TABLE t2 WITH (format = 'PARQUET') AS SELECT * FROM `flights`", "line 1:60: "),
    ("INSERT INTO t2 SELECT * FROM `flights`", "line 1:30: "),
    ("CREATE VIEW v AS SELECT * FROM `flights`", "line 1:32: "),
    ("SELECT 1\nFROM `flights`", "line 2:6: "),
])
def test_trino_statements_refuse_backquotes_with_their_position(sql, where):
    assert rq.syntax_error(sql) == where + BACKQUOTE


@pytest.mark.parametrize("sql", [
    "MSCK REPAIR TABLE `gwdb`.`flights`", "DESCRIBE `gwdb`.flights", "SHOW PARTITIONS `gwdb`.`flights`",
    "ALTER TABLE `gwdb`.`flights` ADD PARTITION (`year`=2014, month=1, day=1)", "DROP TABLE `x`",
    "CREATE EXTERNAL TABLE `x` (`a` int) LOCATION 's3://b/x/'", "SELECT '`not an identifier`' AS s",
    "SELECT \"carrier\" FROM flights -- `a comment`",
])
def test_hive_ddl_and_quoted_text_keep_their_backquotes(sql):
    assert rq.syntax_error(sql) is None


# ----------------------------------------------------------------------------- through the endpoint
@pytest.fixture(scope="module")
def athena(endpoint):
    L.build(endpoint)
    return endpoint.client("athena")


def _refused(athena, sql: str) -> str:
    with pytest.raises(ClientError) as exc:
        athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": L.DB},
                                     ResultConfiguration={"OutputLocation": L.OUTPUT})
    err = exc.value.response
    assert err["Error"]["Code"] == "InvalidRequestException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err["Error"]["Message"]


def test_backquoted_select_is_refused_at_start_query_execution(athena):
    before = athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    assert _refused(athena, "SELECT * FROM `gwdb`.flights LIMIT 1") == f"line 1:15: {BACKQUOTE}"
    assert athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"][:1] == before[:1]


def test_syntax_errors_are_refused_at_start_query_execution(athena):
    msg = _refused(athena, "SELEC carrier FROM flights")
    assert msg.startswith("line 1:1: mismatched input 'SELEC'. Expecting: 'ALTER', ")
    assert msg.endswith("'WITH', <query>")
    assert _refused(athena, "SELECT carrier FROM flights WHERE").startswith("line 1:29: mismatched input")
    assert _refused(athena, "SELECT 1; SELECT 2") == "line 1:1: Only one sql statement is allowed. Got: 2"


def test_errors_found_while_running_fail_the_query(athena):
    qe = L.run(athena, "SELECT carrier FROM no_such_table")
    assert qe["Status"]["State"] == "FAILED"
    assert qe["Status"]["StateChangeReason"].startswith("TABLE_NOT_FOUND: line 1:21: Table ")
    qe = L.run(athena, "MSCK REPAIR TABLE")  # Hive DDL: not refused up front
    assert qe["Status"]["State"] == "FAILED"
    assert qe["Status"]["AthenaError"]["ErrorCategory"] == 2


def test_hive_ddl_with_backquotes_succeeds_through_the_endpoint(athena):
    qe = L.run(athena, f"DESCRIBE `{L.DB}`.`flights`")
    assert qe["Status"]["State"] == "SUCCEEDED"
    rows = L.results(athena, qe["QueryExecutionId"])[1]
    assert rows[0][0].split("\t")[0].strip() == "dep_time"
