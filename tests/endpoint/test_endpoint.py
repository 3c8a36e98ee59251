"""The local endpoint: lifecycle, S3 round trips, persistence, clean errors, AWS CLI."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lakekit import local
from lakekit.exceptions import PortInUse

VENV_BIN = Path(sys.executable).parent


def test_status_up_is_idempotent_and_env(endpoint):
    st = local.status(endpoint.settings)
    assert st.running and st.url == endpoint.url and st.pid > 0
    again = local.up(endpoint.settings, quiet=True)
    assert again.pid == st.pid  # no second process
    env = local.env_exports(endpoint.settings)
    assert f"export AWS_ENDPOINT_URL={endpoint.url}" in env.splitlines()
    assert "export AWS_ACCESS_KEY_ID=test" in env.splitlines()


def test_s3_round_trip(endpoint):
    s3 = endpoint.client("s3")
    s3.create_bucket(Bucket="roundtrip-bkt")
    s3.put_object(Bucket="roundtrip-bkt", Key="dir/a b.csv", Body=b"x,y\n1,2\n")
    assert s3.get_object(Bucket="roundtrip-bkt", Key="dir/a b.csv")["Body"].read() == b"x,y\n1,2\n"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="roundtrip-bkt")["Contents"]]
    assert keys == ["dir/a b.csv"]


def test_multipart_50mb_round_trip_with_checksum(endpoint, tmp_path):
    from boto3.s3.transfer import TransferConfig

    s3 = endpoint.client("s3")
    s3.create_bucket(Bucket="multipart-bkt")
    data = os.urandom(50 * 1024 * 1024)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
    s3.upload_file(str(src), "multipart-bkt", "big.bin", Config=cfg)
    head = s3.head_object(Bucket="multipart-bkt", Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-7")  # 7 parts of 8 MiB
    dst = tmp_path / "back.bin"
    s3.download_file("multipart-bkt", "big.bin", str(dst), Config=cfg)
    assert hashlib.sha256(dst.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_unimplemented_operation_fails_fast_and_clearly(endpoint):
    # an operation moto lacks entirely: moto would answer an HTML 500 (boto3 retries those)
    glue = endpoint.client("glue")
    glue.get_databases()  # warm moto's glue app so we time the error path only
    timings = []
    for _ in range(3):  # best of 3: a loaded machine must not make this flaky
        started = time.monotonic()
        with pytest.raises(ClientError) as err:
            glue.list_data_quality_rule_recommendation_runs()
        timings.append(time.monotonic() - started)
    elapsed = min(timings)
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert "glue.ListDataQualityRuleRecommendationRuns" in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert elapsed < 1.0


def test_unimplemented_operation_with_default_retries_is_not_retried(endpoint):
    import boto3

    glue = boto3.client("glue", endpoint_url=endpoint.url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")
    with pytest.raises(ClientError) as err:
        glue.list_data_quality_rule_recommendation_runs()
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_data_cells_filter_crud(endpoint):
    glue, lf = endpoint.client("glue"), endpoint.client("lakeformation")
    glue.create_database(DatabaseInput={"Name": "filters_db"})
    glue.create_table(DatabaseName="filters_db", TableInput={
        "Name": "flights", "StorageDescriptor": {"Columns": [
            {"Name": "origin", "Type": "string"}, {"Name": "tailnum", "Type": "string"},
            {"Name": "dep_delay", "Type": "double"}]}})
    table = {"TableCatalogId": "123456789012", "DatabaseName": "filters_db", "TableName": "flights"}
    lf.create_data_cells_filter(TableData={**table, "Name": "jfk_only",
                                           "RowFilter": {"FilterExpression": "origin = 'JFK'"},
                                           "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}})
    got = lf.get_data_cells_filter(**table, Name="jfk_only")["DataCellsFilter"]
    assert got["RowFilter"]["FilterExpression"] == "origin = 'JFK'"
    assert got["ColumnWildcard"]["ExcludedColumnNames"] == ["tailnum"]
    with pytest.raises(ClientError) as dup:
        lf.create_data_cells_filter(TableData={**table, "Name": "jfk_only", "ColumnWildcard": {}})
    assert dup.value.response["Error"]["Code"] == "AlreadyExistsException"
    with pytest.raises(ClientError) as bad:
        lf.create_data_cells_filter(TableData={**table, "Name": "bad", "ColumnNames": ["nope"]})
    assert bad.value.response["Error"]["Code"] == "InvalidInputException"
    assert "nope" in bad.value.response["Error"]["Message"]
    lf.update_data_cells_filter(TableData={**table, "Name": "jfk_only", "ColumnNames": ["origin"],
                                           "RowFilter": {"FilterExpression": "origin = 'LGA'"}})
    listed = lf.list_data_cells_filter(Table={"CatalogId": "123456789012", "DatabaseName": "filters_db",
                                              "Name": "flights"})["DataCellsFilters"]
    assert [(f["Name"], f["RowFilter"]["FilterExpression"], f["ColumnNames"]) for f in listed] == [
        ("jfk_only", "origin = 'LGA'", ["origin"])]
    lf.delete_data_cells_filter(**table, Name="jfk_only")
    with pytest.raises(ClientError) as gone:
        lf.get_data_cells_filter(**table, Name="jfk_only")
    assert gone.value.response["Error"]["Code"] == "EntityNotFoundException"


def _seed_state(ep) -> dict:
    s3, glue, lf = ep.client("s3"), ep.client("glue"), ep.client("lakeformation")
    s3.create_bucket(Bucket="persist-bkt")
    s3.put_bucket_versioning(Bucket="persist-bkt", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="persist-bkt", Key="small.txt", Body=b"hello")
    big = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket="persist-bkt", Key="big.bin", Body=big)
    glue.create_database(DatabaseInput={"Name": "persist_db"})
    glue.create_table(DatabaseName="persist_db", TableInput={
        "Name": "t1", "StorageDescriptor": {"Columns": [{"Name": "a", "Type": "int"}],
                                            "Location": "s3://persist-bkt/t1/"}})
    role = "arn:aws:iam::123456789012:role/analyst"
    lf.grant_permissions(Principal={"DataLakePrincipalIdentifier": role},
                         Resource={"Table": {"DatabaseName": "persist_db", "Name": "t1"}},
                         Permissions=["SELECT"])
    ep.client("athena").create_work_group(Name="persist-wg", Configuration={
        "BytesScannedCutoffPerQuery": 10485760})
    ep.client("iam").create_role(RoleName="persist-role", AssumeRolePolicyDocument="{}")
    return {"big": hashlib.sha256(big).hexdigest(), "role": role}


def _assert_state(ep, seeded: dict) -> None:
    s3, glue, lf = ep.client("s3"), ep.client("glue"), ep.client("lakeformation")
    assert s3.get_object(Bucket="persist-bkt", Key="small.txt")["Body"].read() == b"hello"
    big = s3.get_object(Bucket="persist-bkt", Key="big.bin")["Body"].read()
    assert hashlib.sha256(big).hexdigest() == seeded["big"]
    assert s3.get_bucket_versioning(Bucket="persist-bkt")["Status"] == "Enabled"
    table = glue.get_table(DatabaseName="persist_db", Name="t1")["Table"]
    assert table["StorageDescriptor"]["Columns"] == [{"Name": "a", "Type": "int"}]
    grants = lf.list_permissions(Resource={"Table": {"DatabaseName": "persist_db", "Name": "t1"}})
    assert [(g["Principal"]["DataLakePrincipalIdentifier"], g["Permissions"])
            for g in grants["PrincipalResourcePermissions"]] == [
        (seeded["role"], ["SELECT"]), ("arn:aws:iam::123456789012:user/moto", ["ALL"])]  # + the creator's ALL
    wg = ep.client("athena").get_work_group(WorkGroup="persist-wg")["WorkGroup"]
    assert wg["Configuration"]["BytesScannedCutoffPerQuery"] == 10485760
    assert ep.client("iam").get_role(RoleName="persist-role")["Role"]["RoleName"] == "persist-role"


def test_restart_keeps_objects_catalog_grants(fresh_endpoint):
    seeded = _seed_state(fresh_endpoint)
    old_pid = local.status(fresh_endpoint.settings).pid
    assert fresh_endpoint.stop() is True
    assert not local.status(fresh_endpoint.settings).running
    fresh_endpoint.start()
    assert local.status(fresh_endpoint.settings).pid != old_pid
    _assert_state(fresh_endpoint, seeded)


def test_sigterm_keeps_state(fresh_endpoint):
    seeded = _seed_state(fresh_endpoint)
    pid = local.status(fresh_endpoint.settings).pid
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while local.status(fresh_endpoint.settings).running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not local.status(fresh_endpoint.settings).running
    fresh_endpoint.start()
    _assert_state(fresh_endpoint, seeded)


def test_sigkill_loses_nothing_older_than_the_snapshot_window(fresh_endpoint):
    seeded = _seed_state(fresh_endpoint)
    time.sleep(1.5)  # > max snapshot delay (1 s): everything acknowledged so far is on disk
    pid = local.status(fresh_endpoint.settings).pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while local.status(fresh_endpoint.settings).running and time.monotonic() < deadline:
        time.sleep(0.1)
    fresh_endpoint.start()  # the stale pidfile is detected and replaced
    _assert_state(fresh_endpoint, seeded)


def test_stale_pidfile_is_cleaned(tmp_path):
    from lakekit.config import settings

    s = settings().with_(home=tmp_path, port=1)
    (tmp_path / "endpoint.pid").write_text("999999")
    st = local.status(s)
    assert not st.running and st.pid is None
    assert not (tmp_path / "endpoint.pid").exists()


def test_port_in_use_is_a_clear_error(tmp_path):
    import socket

    from lakekit.config import settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse) as err:
            local.up(settings().with_(home=tmp_path, port=port), quiet=True)
    assert f"port {port}" in str(err.value) and "LAKEKIT_PORT=" in str(err.value)


def test_aws_cli_with_local_env_lists_bucket(endpoint):
    endpoint.client("s3").create_bucket(Bucket="cli-visible-bkt")
    endpoint.client("s3").put_object(Bucket="cli-visible-bkt", Key="k.txt", Body=b"1")
    exports = local.env_exports(endpoint.settings)
    script = f"{exports}\n{VENV_BIN / 'aws'} s3api list-objects-v2 --bucket cli-visible-bkt --output json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [o["Key"] for o in json.loads(out.stdout)["Contents"]] == ["k.txt"]


def test_cli_status_and_env(endpoint):
    env = {**os.environ, "LAKEKIT_HOME": str(endpoint.home), "LAKEKIT_PORT": str(endpoint.settings.port)}
    out = subprocess.run([str(VENV_BIN / "lakekit"), "local", "status", "--json"], capture_output=True,
                         text=True, env=env, timeout=30)
    assert out.returncode == 0 and json.loads(out.stdout)["running"] is True
    out = subprocess.run([str(VENV_BIN / "lakekit"), "local", "env"], capture_output=True, text=True,
                         env=env, timeout=30)
    assert f"export AWS_ENDPOINT_URL={endpoint.url}" in out.stdout


def test_head_of_missing_key_is_404_not_501(endpoint):
    s3 = endpoint.client("s3")
    s3.create_bucket(Bucket="head-missing-bkt")
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket="head-missing-bkt", Key="nope.csv")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err.value.response["Error"]["Code"] == "404"
