"""Workgroups with managed query results (ManagedQueryResultsConfiguration).

Results stay in Athena-owned storage: a query needs no OutputLocation, GetQueryResults serves the
rows, GetQueryExecution shows ManagedQueryResultsConfiguration and no ResultConfiguration, nothing
lands in a bucket of the caller. A workgroup cannot have both managed results and
ResultConfiguration.OutputLocation, and a query in it cannot pass a ResultConfiguration
("ManagedQueryResultsConfiguration and ResultConfiguration cannot be set together.").
"""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from . import _gwlake as L

CONFLICT = "ManagedQueryResultsConfiguration and ResultConfiguration cannot be set together."
SQL = "SELECT carrier, count(*) AS n FROM flights WHERE month = 1 GROUP BY carrier ORDER BY carrier"


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture(scope="module")
def athena(endpoint, lake):
    client = endpoint.client("athena")
    client.create_work_group(Name="managed", Configuration={
        "ManagedQueryResultsConfiguration": {"Enabled": True}, "EnforceWorkGroupConfiguration": False})
    return client


def _truth(lake) -> list[list[str]]:
    g = lake["df"][lake["df"].month == 1].groupby("carrier").size().sort_index()
    return [[c, str(int(n))] for c, n in g.items()]


def _keys(s3) -> set[str]:
    return {o["Key"] for b in s3.list_buckets()["Buckets"]
            for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])}


def _code(exc) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_a_query_without_output_location_succeeds_and_results_are_served(athena, endpoint, lake):
    s3 = endpoint.client("s3")
    before = _keys(s3)
    qid = athena.start_query_execution(QueryString=SQL, WorkGroup="managed",
                                       QueryExecutionContext={"Database": L.DB})["QueryExecutionId"]
    qe = L.wait(athena, qid)
    assert qe["Status"]["State"] == "SUCCEEDED"
    assert qe["ManagedQueryResultsConfiguration"] == {"Enabled": True}
    assert "ResultConfiguration" not in qe
    cols, rows = L.results(athena, qid, page=5)
    assert rows[0] == ["carrier", "n"] and rows[1:] == _truth(lake)
    assert [c["Type"] for c in cols] == ["varchar", "bigint"]
    assert not [k for k in _keys(s3) - before if qid in k]  # nothing in a bucket of the caller
    assert qid in athena.list_query_executions(WorkGroup="managed")["QueryExecutionIds"]


def test_a_result_configuration_in_the_request_is_refused(athena):
    for rc in ({"OutputLocation": L.OUTPUT}, {"EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}):
        with pytest.raises(ClientError) as exc:
            athena.start_query_execution(QueryString="SELECT 1", WorkGroup="managed", ResultConfiguration=rc)
        assert _code(exc) == ("InvalidRequestException", CONFLICT)


def test_managed_results_and_an_output_location_cannot_be_set_together(athena):
    with pytest.raises(ClientError) as exc:
        athena.create_work_group(Name="both", Configuration={
            "ManagedQueryResultsConfiguration": {"Enabled": True},
            "ResultConfiguration": {"OutputLocation": L.OUTPUT}})
    assert _code(exc) == ("InvalidRequestException", CONFLICT)
    names = [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]
    assert "both" not in names
    with pytest.raises(ClientError) as exc:
        athena.update_work_group(WorkGroup="managed", ConfigurationUpdates={
            "ResultConfigurationUpdates": {"OutputLocation": L.OUTPUT}})
    assert _code(exc) == ("InvalidRequestException", CONFLICT)
    cfg = athena.get_work_group(WorkGroup="managed")["WorkGroup"]["Configuration"]
    assert "OutputLocation" not in (cfg.get("ResultConfiguration") or {})


def test_update_work_group_switches_managed_results_on_and_off(athena, endpoint):
    athena.create_work_group(Name="switch", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/switch/"}})
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    athena.update_work_group(WorkGroup="switch", ConfigurationUpdates={
        "ResultConfigurationUpdates": {"RemoveOutputLocation": True},
        "ManagedQueryResultsConfigurationUpdates": {"Enabled": True, "EncryptionConfiguration": {"KmsKey": key}}})
    cfg = athena.get_work_group(WorkGroup="switch")["WorkGroup"]["Configuration"]
    assert cfg["ManagedQueryResultsConfiguration"] == {"Enabled": True, "EncryptionConfiguration": {"KmsKey": key}}
    qe = L.wait(athena, athena.start_query_execution(QueryString="SELECT 7 AS x", WorkGroup="switch")[
        "QueryExecutionId"])
    assert qe["ManagedQueryResultsConfiguration"]["EncryptionConfiguration"] == {"KmsKey": key}
    assert L.results(athena, qe["QueryExecutionId"])[1] == [["x"], ["7"]]
    athena.update_work_group(WorkGroup="switch", ConfigurationUpdates={
        "ManagedQueryResultsConfigurationUpdates": {"Enabled": False, "RemoveEncryptionConfiguration": True}})
    with pytest.raises(ClientError) as exc:  # no managed results, no output location: Athena's message
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="switch")
    assert _code(exc)[1].startswith("No output location provided.")


def test_managed_results_do_not_reuse_results(athena):
    reuse = {"ResultReuseByAgeConfiguration": {"Enabled": True}}
    runs = [L.wait(athena, athena.start_query_execution(
        QueryString="SELECT sum(distance) AS d FROM flights WHERE month = 3", WorkGroup="managed",
        QueryExecutionContext={"Database": L.DB}, ResultReuseConfiguration=reuse)["QueryExecutionId"])
        for _ in range(2)]
    assert [r["Statistics"]["ResultReuseInformation"]["ReusedPreviousResult"] for r in runs] == [False, False]
    assert runs[1]["Statistics"]["DataScannedInBytes"] > 0


def test_ctas_without_external_location_fails_in_a_managed_workgroup(athena):
    qe = L.wait(athena, athena.start_query_execution(
        QueryString="CREATE TABLE managed_ctas AS SELECT carrier FROM flights WHERE month = 1", WorkGroup="managed",
        QueryExecutionContext={"Database": L.DB})["QueryExecutionId"])
    assert qe["Status"]["State"] == "FAILED"
    assert "external_location" in qe["Status"]["StateChangeReason"]


def test_awswrangler_reads_a_managed_workgroup(endpoint, lake):
    import awswrangler as wr

    for name in ("athena", "s3", "glue", "sts"):
        setattr(wr.config, f"{name}_endpoint_url", endpoint.url)
    try:
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        df = wr.athena.read_sql_query(SQL, database=L.DB, ctas_approach=False, workgroup="managed",
                                      boto3_session=session)
    finally:
        wr.config.reset()
    assert [[c, str(n)] for c, n in df[["carrier", "n"]].itertuples(index=False)] == _truth(lake)
    assert str(df["n"].dtype) == "Int64"
