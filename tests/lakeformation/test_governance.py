"""Lake Formation governance enforced locally: grants API, LF-tags, evaluator + Athena engine.

Negative tests first. Every query runs in-process through the real Athena engine with the
evaluator's hook reading the endpoint's state through its API.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lakekit.local.athena import AccessDeniedError, AthenaQueryError, TableAccess
from lakekit.local.lakeformation.evaluator import evaluator, principal_for, visible_columns

from .conftest import ACCOUNT, DB, DEPLOYER, IAM_DB, REGION

FLIGHTS = {"Table": {"DatabaseName": DB, "Name": "flights"}}
ALL_COLS = ["year", "month", "day", "carrier", "flight", "tailnum", "origin", "dest", "dep_delay", "distance"]
FULL_COLS = [c for c in ALL_COLS if c != "tailnum"]
RESTRICTED_COLS = ["carrier", "origin", "dest", "dep_delay"]


@pytest.fixture
def lf(gov):
    """The LF client; every grant made through ``lf.grant`` is revoked after the test."""
    client = gov.client("lakeformation")
    made: list[tuple[dict, dict, list[str]]] = []

    def grant(role: str, resource: dict, perms: list[str] = ("SELECT",)) -> None:
        principal = gov.principal(role) if role.startswith("analyst") else {"DataLakePrincipalIdentifier": role}
        client.grant_permissions(Principal=principal, Resource=resource, Permissions=list(perms))
        made.append((principal, resource, list(perms)))

    client.grant = grant
    yield client
    for principal, resource, perms in made:
        try:
            client.revoke_permissions(Principal=principal, Resource=resource, Permissions=perms)
        except ClientError:
            pass


@pytest.fixture
def filters(gov):
    """Creates data cells filters on flights; deletes them after the test."""
    client = gov.client("lakeformation")
    names: list[str] = []

    def make(name: str, row: str | None, columns: list[str] | None = None) -> dict:
        data = {"TableCatalogId": ACCOUNT, "DatabaseName": DB, "TableName": "flights", "Name": name,
                "RowFilter": {"FilterExpression": row} if row else {"AllRowsWildcard": {}}}
        data.update({"ColumnNames": columns} if columns else {"ColumnWildcard": {}})
        client.create_data_cells_filter(TableData=data)
        names.append(name)
        return {"DataCellsFilter": {"TableCatalogId": ACCOUNT, "DatabaseName": DB, "TableName": "flights",
                                    "Name": name}}

    yield make
    for name in names:
        client.delete_data_cells_filter(TableCatalogId=ACCOUNT, DatabaseName=DB, TableName="flights", Name=name)


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _restricted(lf, filters) -> None:
    lf.grant("analyst-restricted", filters("jfk_only", "origin = 'JFK'", RESTRICTED_COLS))


def _full(lf) -> None:
    lf.grant("analyst-full", {"TableWithColumns": {"DatabaseName": DB, "Name": "flights",
                                                   "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}}})


# ============================================================================ negative tests
def test_no_grant_is_denied_naming_the_table(gov):
    with pytest.raises(AccessDeniedError) as denied:
        gov.hook("analyst-none")(DB, "flights")
    assert denied.value.message.startswith("Insufficient permissions to execute the query. Insufficient Lake "
                                           "Formation permission(s) on flights ")
    assert gov.arns["analyst-none"] in denied.value.message
    with pytest.raises(AthenaQueryError) as failed:
        gov.query("SELECT count(*) FROM flights", "analyst-none")
    assert failed.value.error_type == "PERMISSION_DENIED"
    assert failed.value.message.startswith("PERMISSION_DENIED: Insufficient permissions to execute the query. "
                                           "Insufficient Lake Formation permission(s) on flights ")


def test_grant_on_one_table_does_not_open_another(gov, lf):
    _full(lf)
    with pytest.raises(AthenaQueryError) as failed:
        gov.query("SELECT f.carrier, a.name FROM flights f JOIN airlines a ON f.carrier = a.carrier",
                  "analyst-full")
    assert failed.value.error_type == "PERMISSION_DENIED" and "permission(s) on airlines " in failed.value.message


def test_hidden_column_fails_as_if_it_did_not_exist(gov, lf, filters):
    _full(lf)
    _restricted(lf, filters)
    for sql in ("SELECT tailnum FROM flights",
                "SELECT count(*) FROM flights WHERE tailnum = 'N14228'",
                "WITH t AS (SELECT * FROM flights) SELECT tailnum FROM t",
                "SELECT x.tailnum FROM (SELECT * FROM flights) x"):
        with pytest.raises(AthenaQueryError) as failed:
            gov.query(sql, "analyst-full")
        assert failed.value.error_type == "COLUMN_NOT_FOUND", sql
    with pytest.raises(AthenaQueryError) as failed:
        gov.query("SELECT sum(distance) FROM flights", "analyst-restricted")
    assert failed.value.error_type == "COLUMN_NOT_FOUND"


def test_filtered_role_cannot_leak_rows_through_subqueries_ctes_unions_or_where(gov, lf, filters):
    _restricted(lf, filters)
    jfk = int((gov.flights.origin == "JFK").sum())
    q = lambda sql: gov.query(sql, "analyst-restricted")  # noqa: E731
    assert q("SELECT count(*) AS n FROM flights WHERE origin <> 'JFK'").n[0] == 0
    assert q("SELECT count(*) AS n FROM flights WHERE origin = 'EWR' OR 1 = 1").n[0] == jfk
    assert q("WITH c AS (SELECT * FROM flights) SELECT count(*) AS n FROM c").n[0] == jfk
    assert q("SELECT count(*) AS n FROM (SELECT origin FROM flights UNION ALL SELECT origin FROM flights) u"
             ).n[0] == 2 * jfk
    assert set(q("SELECT DISTINCT origin FROM flights").origin) == {"JFK"}
    assert q("SELECT count(*) AS n FROM flights WHERE dest IN (SELECT dest FROM flights)").n[0] == jfk


def test_revoke_of_what_is_not_granted_fails_like_aws(gov, lf):
    with pytest.raises(ClientError) as exc:
        lf.revoke_permissions(Principal=gov.principal("analyst-none"), Resource=FLIGHTS, Permissions=["SELECT"])
    assert _err(exc) == ("InvalidInputException", "No permissions revoked. Grantee has no permissions and no "
                                                  "grantable permissions on resource.")


def test_grant_on_missing_resources_is_entity_not_found(gov, lf):
    for resource in ({"Table": {"DatabaseName": DB, "Name": "nope"}},
                     {"Database": {"Name": "no_such_db"}},
                     {"DataCellsFilter": {"TableCatalogId": ACCOUNT, "DatabaseName": DB, "TableName": "flights",
                                          "Name": "nope"}},
                     {"LFTag": {"TagKey": "no-such-key", "TagValues": ["x"]}}):
        with pytest.raises(ClientError) as exc:
            lf.grant_permissions(Principal=gov.principal("analyst-none"), Resource=resource,
                                 Permissions=["DESCRIBE"] if "LFTag" in resource or "Database" in resource
                                 else ["SELECT"])
        assert _err(exc)[0] == "EntityNotFoundException", resource
    with pytest.raises(ClientError) as exc:
        lf.grant_permissions(Principal=gov.principal("analyst-none"), Permissions=["SELECT"], Resource={
            "TableWithColumns": {"DatabaseName": DB, "Name": "flights", "ColumnNames": ["nope"]}})
    assert _err(exc)[0] == "InvalidInputException" and "nope" in _err(exc)[1]


def test_invalid_grants_are_rejected(gov, lf):
    with pytest.raises(ClientError) as exc:
        lf.grant_permissions(Principal=gov.principal("analyst-none"), Resource={"Database": {"Name": DB}},
                             Permissions=["SELECT"])
    assert _err(exc)[0] == "InvalidInputException" and "Permissions modification is invalid" in _err(exc)[1]
    with pytest.raises(ClientError) as exc:
        lf.grant_permissions(Principal=gov.principal("analyst-none"), Resource=FLIGHTS, Permissions=["SELECT"],
                             PermissionsWithGrantOption=["ALTER"])
    assert _err(exc)[0] == "InvalidInputException"
    with pytest.raises(ClientError) as exc:
        lf.list_permissions(Principal=gov.principal("analyst-none"))
    assert _err(exc) == ("InvalidInputException", "Resource is mandatory if Principal is set in the input.")


def test_lf_tag_errors(gov):
    lf = gov.client("lakeformation")
    with pytest.raises(ClientError) as exc:
        lf.get_lf_tag(TagKey="never-created")
    assert _err(exc)[0] == "EntityNotFoundException"
    lf.create_lf_tag(TagKey="tier", TagValues=["gold", "silver"])
    try:
        with pytest.raises(ClientError) as exc:
            lf.create_lf_tag(TagKey="tier", TagValues=["gold"])
        assert _err(exc)[0] == "AlreadyExistsException"
        got = lf.add_lf_tags_to_resource(Resource={"Database": {"Name": DB}},
                                         LFTags=[{"TagKey": "tier", "TagValues": ["bronze"]}])
        assert [f["Error"]["ErrorCode"] for f in got["Failures"]] == ["EntityNotFoundException"]
        assert lf.get_resource_lf_tags(Resource={"Database": {"Name": DB}})["LFTagOnDatabase"] == []
    finally:
        lf.delete_lf_tag(TagKey="tier")


# ============================================================================ positive tests
def test_select_star_returns_only_permitted_columns(gov, lf, filters):
    _full(lf)
    _restricted(lf, filters)
    full = gov.query("SELECT * FROM flights", "analyst-full")
    assert list(full.columns) == FULL_COLS and len(full) == len(gov.flights)
    restricted = gov.query("SELECT * FROM flights", "analyst-restricted")
    assert list(restricted.columns) == RESTRICTED_COLS
    assert visible_columns(ACCOUNT, gov.keys["analyst-full"], DB, "flights", REGION, gov.endpoint.url) == FULL_COLS
    ev = evaluator(ACCOUNT, gov.keys["analyst-restricted"], REGION, gov.endpoint.url)
    assert ev.visible_columns(DB, "flights") == RESTRICTED_COLS
    assert ev.visible_tables(DB) == ["flights"] and ev.can_see_database(DB)
    assert ev.can_see_database(IAM_DB)  # its table is still under IAM_ALLOWED_PRINCIPALS


def test_row_filter_applies_before_aggregates_and_group_by(gov, lf, filters):
    _restricted(lf, filters)
    df = gov.flights
    jfk = df[df.origin == "JFK"]
    assert gov.query("SELECT count(*) AS n FROM flights", "analyst-restricted").n[0] == len(jfk) > 0
    by = gov.query("SELECT carrier, count(*) AS n FROM flights WHERE dep_delay > 0 GROUP BY carrier "
                   "ORDER BY carrier", "analyst-restricted")
    want = jfk[jfk.dep_delay > 0].groupby("carrier").size()
    assert dict(zip(by.carrier, by.n, strict=True)) == {k: int(v) for k, v in want.items()}
    assert gov.query("SELECT count(*) AS n FROM flights", None).n[0] == len(df)  # admin: all rows


def test_row_filter_applies_before_joins(gov, lf, filters):
    _restricted(lf, filters)
    lf.grant("analyst-restricted", {"Table": {"DatabaseName": DB, "Name": "airlines"}})
    got = gov.query("SELECT a.name, count(*) AS n FROM flights f JOIN airlines a ON f.carrier = a.carrier "
                    "GROUP BY a.name", "analyst-restricted")
    jfk = gov.flights[gov.flights.origin == "JFK"].merge(gov.airlines, on="carrier")
    assert dict(zip(got.name, got.n, strict=True)) == {k: int(v) for k, v in jfk.groupby("name").size().items()}
    self_join = gov.query("SELECT count(*) AS n FROM flights a JOIN flights b ON a.carrier = b.carrier "
                          "AND a.dest = b.dest", "analyst-restricted")
    only = gov.flights[gov.flights.origin == "JFK"][["carrier", "dest"]]
    assert self_join.n[0] == len(only.merge(only, on=["carrier", "dest"]))


def test_two_filters_on_one_table_are_ored(gov, lf, filters):
    lf.grant("analyst-restricted", filters("jfk_rows", "origin = 'JFK'", RESTRICTED_COLS))
    lf.grant("analyst-restricted", filters("lga_rows", "origin = 'LGA'", RESTRICTED_COLS))
    access = gov.hook("analyst-restricted")(DB, "flights")
    assert access == TableAccess(columns=set(RESTRICTED_COLS), row_filter="(origin = 'JFK') OR (origin = 'LGA')")
    got = gov.query("SELECT origin, count(*) AS n FROM flights GROUP BY origin ORDER BY origin",
                    "analyst-restricted")
    want = gov.flights[gov.flights.origin.isin(["JFK", "LGA"])].groupby("origin").size()
    assert dict(zip(got.origin, got.n, strict=True)) == {k: int(v) for k, v in want.items()}
    # an all-rows grant on some columns lifts the row filter (union of cells, documented approximation)
    lf.grant("analyst-restricted", filters("all_rows", None, ["carrier", "distance"]))
    access = gov.hook("analyst-restricted")(DB, "flights")
    assert access == TableAccess(columns=set(RESTRICTED_COLS) | {"distance"}, row_filter=None)


def test_grant_revoke_grant_cycle_changes_results_live(gov, lf):
    who = gov.principal("analyst-full")
    cols = {"TableWithColumns": {"DatabaseName": DB, "Name": "flights",
                                 "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}}}
    lf.grant_permissions(Principal=who, Resource=FLIGHTS, Permissions=["DESCRIBE"])
    lf.grant_permissions(Principal=who, Resource=FLIGHTS, Permissions=["SELECT"])  # second grant: union
    listed = lf.list_permissions(Principal=who, Resource=FLIGHTS)["PrincipalResourcePermissions"]
    assert [(g["Resource"], g["Permissions"]) for g in listed] == [
        ({"Table": {"CatalogId": ACCOUNT, "DatabaseName": DB, "Name": "flights"}}, ["DESCRIBE", "SELECT"])]
    assert len(gov.query("SELECT * FROM flights", "analyst-full").columns) == len(ALL_COLS)
    lf.revoke_permissions(Principal=who, Resource=FLIGHTS, Permissions=["SELECT"])  # moto 5.2 500s here
    listed = lf.list_permissions(Principal=who, Resource=FLIGHTS)["PrincipalResourcePermissions"]
    assert [g["Permissions"] for g in listed] == [["DESCRIBE"]]
    with pytest.raises(AthenaQueryError) as failed:
        gov.query("SELECT count(*) FROM flights", "analyst-full")
    assert failed.value.error_type == "PERMISSION_DENIED"
    lf.grant_permissions(Principal=who, Resource=cols, Permissions=["SELECT"])
    assert list(gov.query("SELECT * FROM flights", "analyst-full").columns) == FULL_COLS
    lf.revoke_permissions(Principal=who, Resource=cols, Permissions=["SELECT"])
    lf.grant_permissions(Principal=who, Resource=cols, Permissions=["SELECT"])
    assert list(gov.query("SELECT * FROM flights", "analyst-full").columns) == FULL_COLS
    lf.revoke_permissions(Principal=who, Resource=cols, Permissions=["SELECT"])
    lf.revoke_permissions(Principal=who, Resource=FLIGHTS, Permissions=["DESCRIBE"])
    assert lf.list_permissions(Principal=who, Resource=FLIGHTS)["PrincipalResourcePermissions"] == []


def test_batch_grant_and_revoke_report_failures_per_entry(gov, lf):
    who = gov.principal("analyst-none")
    entries = [{"Id": "1", "Principal": who, "Resource": FLIGHTS, "Permissions": ["SELECT"]},
               {"Id": "2", "Principal": who, "Resource": {"Table": {"DatabaseName": DB, "Name": "nope"}},
                "Permissions": ["SELECT"]}]
    got = lf.batch_grant_permissions(Entries=entries)
    assert [(f["RequestEntry"]["Id"], f["Error"]["ErrorCode"]) for f in got["Failures"]] == [
        ("2", "EntityNotFoundException")]
    assert gov.hook("analyst-none")(DB, "flights") is None
    got = lf.batch_revoke_permissions(Entries=entries)
    assert [(f["RequestEntry"]["Id"], f["Error"]["ErrorCode"]) for f in got["Failures"]] == [
        ("2", "InvalidInputException")]
    with pytest.raises(AccessDeniedError):
        gov.hook("analyst-none")(DB, "flights")


def test_list_permissions_filters_and_pagination(gov, lf, filters):
    _full(lf)
    _restricted(lf, filters)
    lf.grant("analyst-tags", {"Database": {"Name": DB}}, ["DESCRIBE"])
    by_table = lf.list_permissions(Resource=FLIGHTS)["PrincipalResourcePermissions"]
    assert sorted(g["Principal"]["DataLakePrincipalIdentifier"] for g in by_table) == sorted(
        [gov.arns["analyst-full"], gov.arns["analyst-restricted"], DEPLOYER])  # the creator's ALL is listed
    creator = [g for g in by_table if g["Principal"]["DataLakePrincipalIdentifier"] == DEPLOYER]
    assert [(g["Permissions"], g["PermissionsWithGrantOption"]) for g in creator] == [(["ALL"], ["ALL"])]
    related = lf.list_permissions(Resource=FLIGHTS, IncludeRelated="TRUE")["PrincipalResourcePermissions"]
    assert len(related) == 5  # + the database grants of analyst-tags and of the database's creator
    dbs = lf.list_permissions(ResourceType="DATABASE")["PrincipalResourcePermissions"]
    assert [(g["Principal"]["DataLakePrincipalIdentifier"], g["Resource"]["Database"]["Name"]) for g in dbs
            if g["Resource"]["Database"]["Name"] in (DB, IAM_DB)] == [
        (gov.arns["analyst-tags"], DB), (DEPLOYER, DB), (DEPLOYER, IAM_DB)]
    first = lf.list_permissions(MaxResults=1)
    second = lf.list_permissions(MaxResults=1, NextToken=first["NextToken"])
    assert len(first["PrincipalResourcePermissions"]) == len(second["PrincipalResourcePermissions"]) == 1
    assert first["PrincipalResourcePermissions"] != second["PrincipalResourcePermissions"]
    wild = lf.list_permissions(Principal=gov.principal("analyst-full"), Resource={
        "TableWithColumns": {"DatabaseName": DB, "Name": "flights",
                             "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}}})
    assert [g["Resource"]["TableWithColumns"]["ColumnWildcard"] for g in wild["PrincipalResourcePermissions"]] \
        == [{"ExcludedColumnNames": ["tailnum"]}]
    path = lf.get_effective_permissions_for_path(ResourceArn="arn:aws:s3:::lf-gov-lake/flights")
    assert {g["Principal"]["DataLakePrincipalIdentifier"] for g in path["Permissions"]} >= {
        gov.arns["analyst-full"], gov.arns["analyst-restricted"]}


def test_lf_tags_inherit_and_search(gov):
    lf = gov.client("lakeformation")
    lf.create_lf_tag(TagKey="domain", TagValues=["flights", "reference"])
    lf.create_lf_tag(TagKey="sensitivity", TagValues=["public", "pii"])
    try:
        lf.update_lf_tag(TagKey="domain", TagValuesToAdd=["weather"])
        assert lf.get_lf_tag(TagKey="domain")["TagValues"] == ["flights", "reference", "weather"]
        assert [t["TagKey"] for t in lf.list_lf_tags()["LFTags"]] == ["domain", "sensitivity"]
        lf.add_lf_tags_to_resource(Resource={"Database": {"Name": DB}},
                                   LFTags=[{"TagKey": "sensitivity", "TagValues": ["public"]}])
        lf.add_lf_tags_to_resource(Resource={"Table": {"DatabaseName": DB, "Name": "airlines"}},
                                   LFTags=[{"TagKey": "domain", "TagValues": ["reference"]}])
        lf.add_lf_tags_to_resource(Resource={"TableWithColumns": {"DatabaseName": DB, "Name": "airlines",
                                                                  "ColumnNames": ["name"]}},
                                   LFTags=[{"TagKey": "sensitivity", "TagValues": ["pii"]}])
        got = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": DB, "Name": "airlines"}})
        tags = lambda pairs: {p["TagKey"]: p["TagValues"][0] for p in pairs}  # noqa: E731
        assert tags(got["LFTagsOnTable"]) == {"sensitivity": "public", "domain": "reference"}
        assert {c["Name"]: tags(c["LFTags"]) for c in got["LFTagsOnColumns"]} == {
            "carrier": {"sensitivity": "public", "domain": "reference"},
            "name": {"sensitivity": "pii", "domain": "reference"}}
        own = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": DB, "Name": "airlines"}},
                                      ShowAssignedLFTags=True)
        assert tags(own["LFTagsOnTable"]) == {"domain": "reference"}
        found = lf.search_tables_by_lf_tags(Expression=[{"TagKey": "domain", "TagValues": ["reference"]},
                                                        {"TagKey": "sensitivity", "TagValues": ["public"]}])
        assert [(t["Table"]["Name"], [c["Name"] for c in t["LFTagsOnColumns"]]) for t in found["TableList"]] \
            == [("airlines", ["carrier"])]
        dbs = lf.search_databases_by_lf_tags(Expression=[{"TagKey": "sensitivity", "TagValues": ["public"]}])
        assert [d["Database"]["Name"] for d in dbs["DatabaseList"]] == [DB]
        lf.remove_lf_tags_from_resource(Resource={"Database": {"Name": DB}},
                                        LFTags=[{"TagKey": "sensitivity", "TagValues": ["public"]}])
        got = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": DB, "Name": "airlines"}})
        assert tags(got["LFTagsOnTable"]) == {"domain": "reference"}
    finally:
        lf.delete_lf_tag(TagKey="domain")
        lf.delete_lf_tag(TagKey="sensitivity")
    assert lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": DB, "Name": "airlines"}})[
        "LFTagsOnTable"] == []


def test_lf_tag_policy_grants_the_tagged_table_and_matching_columns_only(gov, lf):
    tags = gov.client("lakeformation")
    tags.create_lf_tag(TagKey="gov-domain", TagValues=["reference", "ops"])
    try:
        tags.add_lf_tags_to_resource(Resource={"Table": {"DatabaseName": DB, "Name": "airlines"}},
                                     LFTags=[{"TagKey": "gov-domain", "TagValues": ["reference"]}])
        policy = {"LFTagPolicy": {"ResourceType": "TABLE",
                                  "Expression": [{"TagKey": "gov-domain", "TagValues": ["reference"]}]}}
        lf.grant("analyst-tags", policy)
        got = gov.query("SELECT * FROM airlines ORDER BY carrier", "analyst-tags")
        assert list(got.columns) == ["carrier", "name"] and len(got) == len(gov.airlines)
        with pytest.raises(AthenaQueryError) as failed:
            gov.query("SELECT count(*) FROM flights", "analyst-tags")
        assert failed.value.error_type == "PERMISSION_DENIED"
        # a column tagged with another value drops out of the grant
        tags.add_lf_tags_to_resource(Resource={"TableWithColumns": {"DatabaseName": DB, "Name": "airlines",
                                                                    "ColumnNames": ["name"]}},
                                     LFTags=[{"TagKey": "gov-domain", "TagValues": ["ops"]}])
        assert list(gov.query("SELECT * FROM airlines", "analyst-tags").columns) == ["carrier"]
        listed = tags.list_permissions(ResourceType="LF_TAG_POLICY_TABLE")["PrincipalResourcePermissions"]
        assert [g["Principal"]["DataLakePrincipalIdentifier"] for g in listed] == [gov.arns["analyst-tags"]]
    finally:
        lf.revoke_permissions(Principal=gov.principal("analyst-tags"), Permissions=["SELECT"], Resource={
            "LFTagPolicy": {"ResourceType": "TABLE",
                            "Expression": [{"TagKey": "gov-domain", "TagValues": ["reference"]}]}})
        tags.delete_lf_tag(TagKey="gov-domain")


def test_admins_describe_everything_but_read_only_what_is_granted(gov):
    assert principal_for(ACCOUNT, "test", endpoint_url=gov.endpoint.url) == DEPLOYER
    assert principal_for(ACCOUNT, gov.keys["analyst-none"], endpoint_url=gov.endpoint.url) == \
        gov.arns["analyst-none"]
    assert list(gov.query("SELECT * FROM flights", None).columns) == ALL_COLS  # the creator: ALL
    lf = gov.client("lakeformation")
    before = lf.get_data_lake_settings()["DataLakeSettings"]
    lf.put_data_lake_settings(DataLakeSettings={**before, "DataLakeAdmins": [
        *before["DataLakeAdmins"], gov.principal("analyst-none")]})
    try:
        ev = evaluator(ACCOUNT, gov.keys["analyst-none"], REGION, gov.endpoint.url)
        assert ev.is_admin() and ev.can_see_database(DB) and sorted(ev.visible_tables(DB)) == ["airlines", "flights"]
        with pytest.raises(AthenaQueryError) as failed:  # DESCRIBE, not SELECT: no data access
            gov.query("SELECT count(*) AS n FROM flights", "analyst-none")
        assert failed.value.error_type == "PERMISSION_DENIED"
        assert "Insufficient Lake Formation permission(s) on flights " in failed.value.message
    finally:
        lf.put_data_lake_settings(DataLakeSettings=before)
    ev = evaluator(ACCOUNT, gov.keys["analyst-none"], REGION, gov.endpoint.url)
    assert not ev.is_admin() and not ev.can_see_database(DB)


def test_iam_allowed_principals_mode_means_no_lf_restriction(gov, lf):
    implicit = lf.list_permissions(Principal={"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
                                   Resource={"Table": {"DatabaseName": IAM_DB, "Name": "flights_open"}})
    assert [g["Permissions"] for g in implicit["PrincipalResourcePermissions"]] == [["ALL"]]
    got = gov.query("SELECT * FROM flights_open", "analyst-none", database=IAM_DB)
    assert list(got.columns) == ALL_COLS and len(got) == len(gov.flights)
    iam = {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}
    res = {"Table": {"DatabaseName": IAM_DB, "Name": "flights_open"}}
    lf.revoke_permissions(Principal=iam, Resource=res, Permissions=["ALL"])
    try:
        with pytest.raises(AccessDeniedError):
            gov.hook("analyst-none")(IAM_DB, "flights_open")
        with pytest.raises(ClientError) as again:
            lf.revoke_permissions(Principal=iam, Resource=res, Permissions=["ALL"])
        assert _err(again)[0] == "InvalidInputException"
    finally:
        lf.grant_permissions(Principal=iam, Resource=res, Permissions=["ALL"])
    assert gov.hook("analyst-none")(IAM_DB, "flights_open") is None
    # explicit IAM_ALLOWED_PRINCIPALS on a governed table (TableWildcard) also lifts LF checks
    lf.grant("IAM_ALLOWED_PRINCIPALS", {"Table": {"DatabaseName": DB, "TableWildcard": {}}}, ["ALL"])
    assert gov.hook("analyst-none")(DB, "flights") is None


def test_describe_and_show_columns_list_only_permitted_columns(gov, lf, filters):
    _full(lf)
    _restricted(lf, filters)
    admin = gov.query("SHOW COLUMNS IN flights", None).iloc[:, 0].str.strip().tolist()
    assert admin == ALL_COLS
    full = gov.query("SHOW COLUMNS IN flights", "analyst-full").iloc[:, 0].str.strip().tolist()
    assert full == FULL_COLS and "tailnum" not in full
    restricted = gov.query("DESCRIBE flights", "analyst-restricted").iloc[:, 0].tolist()
    described = [line.split("\t")[0].strip() for line in restricted if line and not line.startswith("#")]
    assert [c for c in described if c] == RESTRICTED_COLS
