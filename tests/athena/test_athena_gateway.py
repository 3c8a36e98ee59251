"""Athena through the lakekit endpoint (boto3): states, results, statistics, workgroups, errors."""
from __future__ import annotations

import csv
import io
import json
import time

import pytest
from botocore.exceptions import ClientError

from lakekit.local.athena import CUTOFF_MESSAGE

from . import _gwlake as L

LONG_SQL = ("SELECT count(*) AS n FROM UNNEST(sequence(1, 200000)) AS a(x) "
            "CROSS JOIN UNNEST(sequence(1, 200000)) AS b(y) WHERE (x * y) % 7 = 3")


@pytest.fixture(scope="module")
def lake(endpoint):
    return L.build(endpoint)


@pytest.fixture(scope="module")
def athena(endpoint, lake):
    return endpoint.client("athena")


@pytest.fixture(scope="module")
def s3(endpoint, lake):
    return endpoint.client("s3")


def _code(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_carrier_counts_equal_pandas_with_header_row_and_pagination(athena, lake):
    qe = L.run(athena, "SELECT carrier, count(*) AS n FROM flights GROUP BY carrier ORDER BY n DESC, carrier")
    assert qe["Status"]["State"] == "SUCCEEDED"
    assert qe["StatementType"] == "DML" and qe["SubstatementType"] == "SELECT"
    assert qe["WorkGroup"] == "primary"
    assert qe["EngineVersion"] == {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
    assert qe["QueryExecutionContext"] == {"Database": L.DB}
    assert qe["Status"]["CompletionDateTime"] >= qe["Status"]["SubmissionDateTime"]
    cols, rows = L.results(athena, qe["QueryExecutionId"], page=5)  # 4 pages of 5 rows
    assert [(c["Name"], c["Type"]) for c in cols] == [("carrier", "varchar"), ("n", "bigint")]
    assert rows[0] == ["carrier", "n"]
    truth = lake["df"].groupby("carrier").size()
    assert {r[0]: int(r[1]) for r in rows[1:]} == truth.to_dict()
    assert len(rows) == len(truth) + 1
    first = athena.get_query_results(QueryExecutionId=qe["QueryExecutionId"], MaxResults=1)
    assert len(first["ResultSet"]["Rows"]) == 1 and first["UpdateCount"] == 0 and first["NextToken"]


def test_monthly_average_delay_equals_pandas(athena, lake):
    qe = L.run(athena, "SELECT month, avg(arr_delay) AS avg_delay, count(arr_delay) AS n FROM flights "
                       "GROUP BY month ORDER BY month")
    cols, rows = L.results(athena, qe["QueryExecutionId"])
    assert [c["Type"] for c in cols] == ["integer", "double", "bigint"]
    df = lake["df"]
    truth = df.groupby("month")["arr_delay"].agg(["mean", "count"])
    got = {int(r[0]): (float(r[1]), int(r[2])) for r in rows[1:]}
    assert sorted(got) == [1, 2, 3]
    for m, (avg, n) in got.items():
        assert avg == pytest.approx(truth.loc[m, "mean"], rel=1e-12)
        assert n == truth.loc[m, "count"]


def test_large_result_pages_of_1000_and_limits(athena, lake):
    qe = L.run(athena, "SELECT flight, tailnum, dep_delay FROM flights WHERE month = 1 ORDER BY flight, tailnum, dep_delay")
    qid = qe["QueryExecutionId"]
    n = int((lake["df"].month == 1).sum())
    pages = []
    kw = {"QueryExecutionId": qid}
    while True:
        r = athena.get_query_results(**kw)
        pages.append(len(r["ResultSet"]["Rows"]))
        if "NextToken" not in r:
            break
        kw["NextToken"] = r["NextToken"]
    assert sum(pages) == n + 1 and max(pages) == 1000 and len(pages) == -(-(n + 1) // 1000)
    _, rows = L.results(athena, qid, page=1000)
    nulls = sum(1 for r in rows[1:] if r[2] is None)
    assert nulls == int(lake["df"][lake["df"].month == 1].dep_delay.isna().sum()) and nulls > 0
    with pytest.raises(ClientError) as exc:
        athena.get_query_results(QueryExecutionId=qid, MaxResults=1001)
    assert _code(exc)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        athena.get_query_results(QueryExecutionId=qid, NextToken="garbage")
    assert _code(exc)[0] == "InvalidRequestException"


def test_one_day_scans_a_small_fraction_of_the_full_scan(athena):
    full = L.run(athena, "SELECT sum(distance) AS d, count(*) AS n FROM flights")
    day = L.run(athena, "SELECT sum(distance) AS d, count(*) AS n FROM flights WHERE year = 2013 AND month = 2 AND day = 3")
    fb, db = full["Statistics"]["DataScannedInBytes"], day["Statistics"]["DataScannedInBytes"]
    assert fb > 0 and 0 < db < fb / 10  # 1 of 21 partitions
    for key in ("EngineExecutionTimeInMillis", "TotalExecutionTimeInMillis", "QueryQueueTimeInMillis",
                "QueryPlanningTimeInMillis", "ServiceProcessingTimeInMillis"):
        assert isinstance(day["Statistics"][key], int)
    assert day["Statistics"]["TotalExecutionTimeInMillis"] >= day["Statistics"]["EngineExecutionTimeInMillis"]
    assert day["Statistics"]["ResultReuseInformation"] == {"ReusedPreviousResult": False}


def test_results_csv_and_metadata_at_the_output_location(athena, s3, lake):
    qe = L.run(athena, "SELECT origin, count(*) AS n FROM flights GROUP BY origin ORDER BY origin")
    qid = qe["QueryExecutionId"]
    assert qe["ResultConfiguration"]["OutputLocation"] == f"{L.OUTPUT}{qid}.csv"
    body = s3.get_object(Bucket=L.RESULTS, Key=f"athena/{qid}.csv")["Body"].read().decode()
    assert body.splitlines()[0] == '"origin","n"'
    parsed = list(csv.reader(io.StringIO(body)))
    truth = lake["df"].groupby("origin").size()
    assert {r[0]: int(r[1]) for r in parsed[1:]} == truth.to_dict()
    meta = json.loads(s3.get_object(Bucket=L.RESULTS, Key=f"athena/{qid}.csv.metadata")["Body"].read())
    assert [c["Name"] for c in meta["ColumnInfo"]] == ["origin", "n"]


@pytest.mark.parametrize("sql, kind", [  # syntax errors are refused up front: tests/athena/test_identifiers.py
    ("SELECT * FROM no_such_table", "TABLE_NOT_FOUND"),
    ("SELECT no_such_column FROM flights", "COLUMN_NOT_FOUND"),
    ("SELECT carrier FROM flights WHERE carrier = 1", "TYPE_MISMATCH"),
])
def test_errors_fail_with_the_engine_reason_and_athena_error(athena, sql, kind):
    qe = L.run(athena, sql)
    st = qe["Status"]
    assert st["State"] == "FAILED"
    assert kind in st["StateChangeReason"]
    assert st["AthenaError"]["ErrorCategory"] == 2 and st["AthenaError"]["ErrorType"] == 1000
    assert st["AthenaError"]["Retryable"] is False
    assert st["AthenaError"]["ErrorMessage"] == st["StateChangeReason"]
    if kind == "TABLE_NOT_FOUND":
        assert "no_such_table" in st["StateChangeReason"]
    if kind == "COLUMN_NOT_FOUND":
        assert st["StateChangeReason"] == "COLUMN_NOT_FOUND: line 1:8: Column 'no_such_column' cannot be resolved"
    if kind == "TYPE_MISMATCH":  # Trino places a comparison at its operator; Athena does not coerce varchar = integer
        assert st["StateChangeReason"] == "TYPE_MISMATCH: line 1:43: Cannot apply operator: varchar = integer"
    with pytest.raises(ClientError) as exc:
        athena.get_query_results(QueryExecutionId=qe["QueryExecutionId"])
    code, msg = _code(exc)
    assert code == "InvalidRequestException" and "FAILED" in msg


def _noise_table(endpoint, lake) -> None:
    """``noise``: part=big holds ~14 MB of incompressible strings, part=small 64 rows (cutoff >= 10 MB on AWS)."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    glue = endpoint.client("glue")
    for part, n in (("big", 110_000), ("small", 64)):
        tbl = pa.table({"payload": pa.array([os.urandom(64).hex() for _ in range(n)])})
        pq.write_table(tbl, f"{L.BUCKET}/noise/part={part}/data.parquet", filesystem=lake["fs"], compression="none")
    sd = {**L.PARQUET_SD, "Location": f"s3://{L.BUCKET}/noise/", "Columns": [{"Name": "payload", "Type": "string"}]}
    glue.create_table(DatabaseName=L.DB, TableInput={"Name": "noise", "TableType": "EXTERNAL_TABLE",
                                                     "PartitionKeys": [{"Name": "part", "Type": "string"}],
                                                     "StorageDescriptor": sd})
    glue.batch_create_partition(DatabaseName=L.DB, TableName="noise", PartitionInputList=[
        {"Values": [p], "StorageDescriptor": {**sd, "Location": f"s3://{L.BUCKET}/noise/part={p}/"}}
        for p in ("big", "small")])


def test_bytes_scanned_cutoff_cancels_with_athenas_message(athena, endpoint, lake):
    _noise_table(endpoint, lake)
    athena.create_work_group(Name="capped", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/capped/"},
        "EnforceWorkGroupConfiguration": True, "BytesScannedCutoffPerQuery": 50_000_000})
    athena.update_work_group(WorkGroup="capped", ConfigurationUpdates={"BytesScannedCutoffPerQuery": 10_000_000})
    wg = athena.get_work_group(WorkGroup="capped")["WorkGroup"]
    assert wg["Configuration"]["BytesScannedCutoffPerQuery"] == 10_000_000 and wg["State"] == "ENABLED"
    assert wg["Configuration"]["EnforceWorkGroupConfiguration"] is True
    big = L.run(athena, "SELECT count(payload) AS n FROM noise", WorkGroup="capped")
    assert big["Status"]["State"] == "CANCELLED"
    assert big["Status"]["StateChangeReason"].startswith(CUTOFF_MESSAGE)
    assert big["Status"]["AthenaError"]["ErrorCategory"] == 2
    assert big["Statistics"]["DataScannedInBytes"] > 10_000_000  # what it read until cancelled (billed)
    small = L.run(athena, "SELECT count(payload) AS n FROM noise WHERE part = 'small'", WorkGroup="capped")
    assert small["Status"]["State"] == "SUCCEEDED"
    assert L.results(athena, small["QueryExecutionId"])[1][1] == ["64"]
    assert 0 < small["Statistics"]["DataScannedInBytes"] < 10_000_000
    free = L.run(athena, "SELECT count(payload) AS n FROM noise")  # primary: no cutoff
    assert free["Status"]["State"] == "SUCCEEDED" and free["Statistics"]["DataScannedInBytes"] > 10_000_000


def test_disabled_and_unknown_workgroups_are_refused(athena):
    athena.create_work_group(Name="paused", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/paused/"}})
    athena.update_work_group(WorkGroup="paused", State="DISABLED")
    assert athena.get_work_group(WorkGroup="paused")["WorkGroup"]["State"] == "DISABLED"
    with pytest.raises(ClientError) as exc:
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="paused")
    assert _code(exc) == ("InvalidRequestException", "WorkGroup paused is disabled.")
    athena.update_work_group(WorkGroup="paused", State="ENABLED")
    assert L.run(athena, "SELECT 1", WorkGroup="paused")["Status"]["State"] == "SUCCEEDED"
    with pytest.raises(ClientError) as exc:
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="nope")
    code, msg = _code(exc)
    assert code == "InvalidRequestException" and "WorkGroup nope is not found" in msg
    with pytest.raises(ClientError) as exc:
        athena.get_work_group(WorkGroup="nope")
    assert _code(exc)[0] == "InvalidRequestException"


def test_output_location_resolution(athena, s3):
    athena.create_work_group(Name="nooutput", Configuration={"EnforceWorkGroupConfiguration": False})
    with pytest.raises(ClientError) as exc:
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="nooutput")
    assert _code(exc) == ("InvalidRequestException", "No output location provided. An output location is "
                          "required either through the Workgroup result configuration setting or as an API input.")
    # enforced workgroup: the client's OutputLocation is ignored
    qe = L.run(athena, "SELECT 2 AS two", WorkGroup="analysts",
               ResultConfiguration={"OutputLocation": f"s3://{L.RESULTS}/ignored/"})
    qid = qe["QueryExecutionId"]
    assert qe["ResultConfiguration"]["OutputLocation"] == f"s3://{L.RESULTS}/analysts/{qid}.csv"
    assert s3.get_object(Bucket=L.RESULTS, Key=f"analysts/{qid}.csv")["Body"].read() == b'"two"\n"2"\n'
    # the workgroup's location when the client gives none
    qe = L.run(athena, "SELECT 3 AS three", WorkGroup="analysts", ResultConfiguration={})
    assert qe["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{L.RESULTS}/analysts/")
    # a missing bucket fails the query
    qe = L.run(athena, "SELECT 1", ResultConfiguration={"OutputLocation": "s3://no-such-results-bucket/x/"})
    assert qe["Status"]["State"] == "FAILED"
    assert "Unable to verify/create output bucket no-such-results-bucket" in qe["Status"]["StateChangeReason"]
    # a bucket deleted after a query verified it: still FAILED with the same reason, not an internal error
    s3.create_bucket(Bucket="gone-results-bucket")
    where = {"OutputLocation": "s3://gone-results-bucket/x/"}
    assert L.run(athena, "SELECT 1", ResultConfiguration=where)["Status"]["State"] == "SUCCEEDED"
    for obj in s3.list_objects_v2(Bucket="gone-results-bucket").get("Contents", []):
        s3.delete_object(Bucket="gone-results-bucket", Key=obj["Key"])
    s3.delete_bucket(Bucket="gone-results-bucket")
    qe = L.run(athena, "SELECT 1", ResultConfiguration=where)
    assert qe["Status"]["State"] == "FAILED"
    assert "Unable to verify/create output bucket gone-results-bucket" in qe["Status"]["StateChangeReason"]


def test_stop_query_execution_cancels_a_long_query(athena):
    qid = athena.start_query_execution(QueryString=LONG_SQL, ResultConfiguration={"OutputLocation": L.OUTPUT})[
        "QueryExecutionId"]
    deadline = time.monotonic() + 60
    while athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] == "QUEUED":
        assert time.monotonic() < deadline, "query never started"
        time.sleep(0.05)
    athena.stop_query_execution(QueryExecutionId=qid)
    qe = L.wait(athena, qid, timeout=60)
    assert qe["Status"]["State"] == "CANCELLED"
    assert "cancelled by user" in qe["Status"]["StateChangeReason"]
    athena.stop_query_execution(QueryExecutionId=qid)  # stopping a final query is a no-op
    assert athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] == "CANCELLED"


def test_list_batch_get_and_runtime_statistics(athena):
    athena.create_work_group(Name="listing", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{L.RESULTS}/listing/"}})
    ids = [L.run(athena, f"SELECT {i} AS i", WorkGroup="listing")["QueryExecutionId"] for i in range(3)]
    listed = athena.list_query_executions(WorkGroup="listing")["QueryExecutionIds"]
    assert listed == ids[::-1]  # newest first
    page1 = athena.list_query_executions(WorkGroup="listing", MaxResults=2)
    page2 = athena.list_query_executions(WorkGroup="listing", MaxResults=2, NextToken=page1["NextToken"])
    assert page1["QueryExecutionIds"] + page2["QueryExecutionIds"] == ids[::-1] and "NextToken" not in page2
    primary = athena.list_query_executions()["QueryExecutionIds"]
    assert not set(ids) & set(primary)
    batch = athena.batch_get_query_execution(QueryExecutionIds=ids + ["not-a-query"])
    assert [q["QueryExecutionId"] for q in batch["QueryExecutions"]] == ids
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "not-a-query"
    stats = athena.get_query_runtime_statistics(QueryExecutionId=ids[0])["QueryRuntimeStatistics"]
    assert stats["Rows"]["OutputRows"] == 1
    assert set(stats["Timeline"]) >= {"QueryQueueTimeInMillis", "EngineExecutionTimeInMillis", "TotalExecutionTimeInMillis"}
    with pytest.raises(ClientError) as exc:
        athena.get_query_execution(QueryExecutionId="not-a-query")
    assert _code(exc)[0] == "InvalidRequestException"


def test_ctas_writes_a_manifest_and_update_count(athena, s3, lake, endpoint):
    qe = L.run(athena, "CREATE TABLE jfk_jan WITH (format = 'PARQUET', external_location = "
                       f"'s3://{L.RESULTS}/ctas/jfk_jan/') AS SELECT carrier, dep_delay FROM flights "
                       "WHERE origin = 'JFK' AND month = 1")
    assert qe["Status"]["State"] == "SUCCEEDED", qe["Status"]
    assert qe["SubstatementType"] == "CREATE_TABLE_AS_SELECT"
    qid = qe["QueryExecutionId"]
    manifest = qe["Statistics"]["DataManifestLocation"]
    assert manifest == f"{L.OUTPUT}{qid}-manifest.csv"
    files = s3.get_object(Bucket=L.RESULTS, Key=f"athena/{qid}-manifest.csv")["Body"].read().decode().split()
    assert files and all(f.startswith(f"s3://{L.RESULTS}/ctas/jfk_jan/") for f in files)
    for f in files:
        s3.head_object(Bucket=L.RESULTS, Key=f.split("/", 3)[3])
    n = int(((lake["df"].origin == "JFK") & (lake["df"].month == 1)).sum())
    assert athena.get_query_results(QueryExecutionId=qid)["UpdateCount"] == n
    cnt = L.run(athena, "SELECT count(*) FROM jfk_jan")
    assert L.results(athena, cnt["QueryExecutionId"])[1][1] == [str(n)]
    assert L.run(athena, "DROP TABLE jfk_jan")["Status"]["State"] == "SUCCEEDED"


def test_ddl_results_are_text_without_header(athena, s3):
    qe = L.run(athena, "SHOW TABLES")
    assert (qe["StatementType"], qe["SubstatementType"]) == ("DDL", "SHOW_TABLES")
    qid = qe["QueryExecutionId"]
    assert qe["ResultConfiguration"]["OutputLocation"] == f"{L.OUTPUT}{qid}.txt"
    _, rows = L.results(athena, qid)
    assert ["flights"] in rows and rows[0] != ["tab_name"]
    assert b"flights\n" in s3.get_object(Bucket=L.RESULTS, Key=f"athena/{qid}.txt")["Body"].read()


def test_client_request_token_and_execution_parameters(athena, lake):
    kw = {"QueryString": "SELECT count(*) AS n FROM flights WHERE carrier = ? AND month = ?",
          "ExecutionParameters": ["'UA'", "2"], "QueryExecutionContext": {"Database": L.DB},
          "ResultConfiguration": {"OutputLocation": L.OUTPUT}, "ClientRequestToken": "tok-" + "x" * 40}
    q1 = athena.start_query_execution(**kw)["QueryExecutionId"]
    q2 = athena.start_query_execution(**kw)["QueryExecutionId"]
    assert q1 == q2
    qe = L.wait(athena, q1)
    assert "ExecutionParameters" not in qe  # "The list of parameters is not returned in the response."
    df = lake["df"]
    assert L.results(athena, q1)[1][1] == [str(int(((df.carrier == "UA") & (df.month == 2)).sum()))]
    bad = L.wait(athena, athena.start_query_execution(  # Athena accepts it; the query fails
        QueryString="SELECT ?", ResultConfiguration={"OutputLocation": L.OUTPUT})["QueryExecutionId"])
    assert bad["Status"]["StateChangeReason"] == "Incorrect number of parameters: expected 1 but found 0"


def test_queries_in_flight_at_restart_come_back_failed(fresh_endpoint):
    ep = fresh_endpoint
    ep.client("s3").create_bucket(Bucket="res")
    athena = ep.client("athena")
    qid = athena.start_query_execution(QueryString=LONG_SQL, ResultConfiguration={"OutputLocation": "s3://res/"})[
        "QueryExecutionId"]
    done = athena.start_query_execution(QueryString="SELECT 1", ResultConfiguration={"OutputLocation": "s3://res/"})[
        "QueryExecutionId"]
    assert L.wait(athena, done)["Status"]["State"] == "SUCCEEDED"
    assert athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] in ("QUEUED", "RUNNING")
    ep.stop()
    ep.start()
    athena = ep.client("athena")
    st = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    assert st["State"] == "FAILED" and "interrupted by endpoint restart" in st["StateChangeReason"]
    assert athena.get_query_execution(QueryExecutionId=done)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    _, rows = L.results(athena, done)
    assert rows == [["_col0"], ["1"]]
