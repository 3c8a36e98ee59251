"""The in-process evaluator (what the Athena executor uses inside the endpoint) agrees with
the API-backed one. Runs a gateway in this process so both read the same state."""
from __future__ import annotations

import json
import socket
import threading

import boto3
import pytest
from botocore.config import Config

from lakekit.local.athena import AccessDeniedError, TableAccess
from lakekit.local.lakeformation.evaluator import access_hook, evaluator, principal_for

ACCOUNT, REGION, DB = "123456789012", "us-east-1", "lf_local"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def inproc(tmp_path_factory):
    from werkzeug.serving import make_server

    from lakekit.local.server import build_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app, _persistence = build_app(tmp_path_factory.mktemp("lf-inproc"), url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join(timeout=10)


def _client(url: str, service: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test", config=NO_RETRY)


@pytest.fixture(scope="module")
def world(inproc):
    glue, iam, sts, lf = (_client(inproc, s) for s in ("glue", "iam", "sts", "lakeformation"))
    settings = lf.get_data_lake_settings()["DataLakeSettings"]
    lf.put_data_lake_settings(DataLakeSettings={**settings, "DataLakeAdmins": [
        {"DataLakePrincipalIdentifier": f"arn:aws:iam::{ACCOUNT}:user/moto"}]})
    cols = [{"Name": c, "Type": "string"} for c in ("carrier", "tailnum", "origin", "dest")]
    glue.create_database(DatabaseInput={"Name": DB, "CreateTableDefaultPermissions": []})
    glue.create_table(DatabaseName=DB, TableInput={"Name": "flights", "StorageDescriptor": {"Columns": cols}})
    glue.create_table(DatabaseName=DB, TableInput={"Name": "airlines", "StorageDescriptor": {
        "Columns": cols[:1] + [{"Name": "name", "Type": "string"}]}})
    glue.create_database(DatabaseInput={"Name": "lf_local_open"})
    glue.create_table(DatabaseName="lf_local_open", TableInput={"Name": "t", "StorageDescriptor": {"Columns": cols}})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    keys, arns = {}, {}
    for role in ("full", "restricted", "tags", "none"):
        arns[role] = iam.create_role(RoleName=f"local-{role}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        keys[role] = sts.assume_role(RoleArn=arns[role], RoleSessionName="session")["Credentials"]["AccessKeyId"]
    who = lambda r: {"DataLakePrincipalIdentifier": arns[r]}  # noqa: E731
    lf.grant_permissions(Principal=who("full"), Permissions=["SELECT"], Resource={"TableWithColumns": {
        "DatabaseName": DB, "Name": "flights", "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}}})
    for name, expr in (("jfk", "origin = 'JFK'"), ("lga", "origin = 'LGA'")):
        lf.create_data_cells_filter(TableData={"TableCatalogId": ACCOUNT, "DatabaseName": DB, "TableName": "flights",
                                               "Name": name, "RowFilter": {"FilterExpression": expr},
                                               "ColumnNames": ["carrier", "origin"]})
        lf.grant_permissions(Principal=who("restricted"), Permissions=["SELECT"], Resource={"DataCellsFilter": {
            "TableCatalogId": ACCOUNT, "DatabaseName": DB, "TableName": "flights", "Name": name}})
    lf.create_lf_tag(TagKey="local-domain", TagValues=["reference", "ops"])
    lf.add_lf_tags_to_resource(Resource={"Database": {"Name": DB}},
                               LFTags=[{"TagKey": "local-domain", "TagValues": ["ops"]}])
    lf.add_lf_tags_to_resource(Resource={"Table": {"DatabaseName": DB, "Name": "airlines"}},
                               LFTags=[{"TagKey": "local-domain", "TagValues": ["reference"]}])
    lf.add_lf_tags_to_resource(Resource={"TableWithColumns": {"DatabaseName": DB, "Name": "airlines",
                                                              "ColumnNames": ["name"]}},
                               LFTags=[{"TagKey": "local-domain", "TagValues": ["ops"]}])
    lf.grant_permissions(Principal=who("tags"), Permissions=["SELECT"], Resource={"LFTagPolicy": {
        "ResourceType": "TABLE", "Expression": [{"TagKey": "local-domain", "TagValues": ["reference"]}]}})
    return {"url": inproc, "keys": keys, "arns": arns}


def _decide(hook, db: str, table: str):
    try:
        return hook(db, table)
    except AccessDeniedError as exc:
        return ("denied", exc.message)


def test_denied_and_allowed_decisions_match_between_in_process_and_api_state(world):
    expected = {
        ("full", DB, "flights"): TableAccess(columns={"carrier", "origin", "dest"}, row_filter=None),
        ("restricted", DB, "flights"): TableAccess(columns={"carrier", "origin"},
                                                   row_filter="(origin = 'JFK') OR (origin = 'LGA')"),
        ("tags", DB, "airlines"): TableAccess(columns={"carrier"}, row_filter=None),
        ("none", "lf_local_open", "t"): None,
    }
    for role in ("full", "restricted", "tags", "none"):
        for db, table in ((DB, "flights"), (DB, "airlines"), ("lf_local_open", "t")):
            local = _decide(access_hook(ACCOUNT, world["keys"][role], REGION), db, table)
            remote = _decide(access_hook(ACCOUNT, world["keys"][role], REGION, world["url"]), db, table)
            assert local == remote, (role, db, table)
            if (role, db, table) in expected:
                assert local == expected[(role, db, table)], (role, db, table)
            elif db == DB:
                assert local[0] == "denied" and f"Insufficient Lake Formation permission(s) on {table} " \
                    in local[1], (role, table)
    for role, arn in world["arns"].items():
        assert principal_for(ACCOUNT, world["keys"][role]) == arn
    assert principal_for(ACCOUNT, "test") == f"arn:aws:iam::{ACCOUNT}:user/moto"
    assert access_hook(ACCOUNT, "test", REGION)(DB, "flights") is None  # the creator of the table: ALL


def test_in_process_listing_helpers(world):
    ev = evaluator(ACCOUNT, world["keys"]["tags"], REGION)
    assert ev.visible_tables(DB) == ["airlines"]
    assert ev.visible_columns(DB, "airlines") == ["carrier"]
    assert not evaluator(ACCOUNT, world["keys"]["none"], REGION).can_see_database(DB)
    assert evaluator(ACCOUNT, world["keys"]["none"], REGION).can_see_database("lf_local_open")
