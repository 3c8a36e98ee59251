"""Lake Formation resources of a grant: canonical form, existence and valid permissions.

``normalize_resource`` turns a request's ``Resource`` into ``(kind, canonical resource)`` so
equal resources compare equal (names lowercased, lists sorted); ``validate_exists`` checks the
Glue database/table/columns, the data cells filter or the LF-tag exists
(``EntityNotFoundException`` otherwise); ``validate_permissions`` checks the permissions are
valid for the resource type (Lake Formation permissions reference).
"""
from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.lakeformation.state import FILTERS, catalog_glue, filter_key, is_not_found
from lakekit.local.lakeformation.tags import tag_values
from lakekit.local.registry import AwsError, AwsRequest

__all__ = ["KINDS", "TABLE_PERMS", "DB_PERMS", "bad", "entry_key", "normalize_resource", "principal_id",
           "table_of", "validate_exists", "validate_permissions"]

KINDS = ("Catalog", "Database", "Table", "TableWithColumns", "DataLocation", "DataCellsFilter",
          "LFTag", "LFTagPolicy")
TABLE_PERMS = {"ALL", "ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT", "SELECT"}
DB_PERMS = {"ALL", "ALTER", "CREATE_TABLE", "DESCRIBE", "DROP"}
_VALID = {
    "Catalog": {"ALL", "CREATE_DATABASE", "CREATE_LF_TAG", "CREATE_LF_TAG_EXPRESSION", "CREATE_CATALOG",
                "DESCRIBE", "ALTER", "DROP", "SUPER_USER", "DATA_LOCATION_ACCESS"},
    "Database": DB_PERMS,
    "Table": TABLE_PERMS,
    "TableWithColumns": {"SELECT"},
    "DataCellsFilter": {"SELECT", "DESCRIBE", "DROP"},
    "DataLocation": {"DATA_LOCATION_ACCESS"},
    "LFTag": {"DESCRIBE", "ASSOCIATE", "GRANT_WITH_LF_TAG_EXPRESSION", "ALTER", "DROP"},
}


def bad(message: str) -> AwsError:
    return AwsError("InvalidInputException", message)


def normalize_resource(resource: dict[str, Any], account_id: str) -> tuple[str, dict[str, Any]]:
    """(kind, canonical resource) so equal resources compare equal (names lowercased, lists sorted)."""
    kinds = [k for k in KINDS if resource.get(k) is not None]
    other = [k for k in resource if k not in KINDS and resource[k] is not None]
    if other:
        raise bad(f"Resource type {other[0]} is not supported by the local endpoint; use one of "
                   f"{', '.join(KINDS)}.")
    if len(kinds) != 1:
        raise bad("Exactly one resource type must be given in Resource (found "
                   f"{', '.join(kinds) or 'none'}).")
    kind = kinds[0]
    r = dict(resource[kind])
    if kind == "Catalog":
        return kind, {"Catalog": {}}
    if kind == "DataCellsFilter":
        for f in ("DatabaseName", "TableName", "Name"):
            if not r.get(f):
                raise bad(f"DataCellsFilter.{f} is required.")
        return kind, {"DataCellsFilter": {"TableCatalogId": r.get("TableCatalogId") or account_id,
                                          "DatabaseName": r["DatabaseName"].lower(),
                                          "TableName": r["TableName"].lower(), "Name": r["Name"]}}
    cat = r.get("CatalogId") or account_id
    if kind == "Database":
        if not r.get("Name"):
            raise bad("Database.Name is required.")
        return kind, {"Database": {"CatalogId": cat, "Name": r["Name"].lower()}}
    if kind == "Table":
        if not r.get("DatabaseName"):
            raise bad("Table.DatabaseName is required.")
        if r.get("Name") and r.get("TableWildcard") is not None:
            raise bad("Table: give either Name or TableWildcard, not both.")
        if r.get("Name"):
            return kind, {"Table": {"CatalogId": cat, "DatabaseName": r["DatabaseName"].lower(),
                                    "Name": r["Name"].lower()}}
        if r.get("TableWildcard") is not None:
            return kind, {"Table": {"CatalogId": cat, "DatabaseName": r["DatabaseName"].lower(),
                                    "TableWildcard": {}}}
        raise bad("Table needs Name or TableWildcard: {}.")
    if kind == "TableWithColumns":
        if not r.get("DatabaseName") or not r.get("Name"):
            raise bad("TableWithColumns needs DatabaseName and Name.")
        out: dict[str, Any] = {"CatalogId": cat, "DatabaseName": r["DatabaseName"].lower(),
                               "Name": r["Name"].lower()}
        names, wild = r.get("ColumnNames"), r.get("ColumnWildcard")
        if (names is None) == (wild is None):
            raise bad("TableWithColumns needs exactly one of ColumnNames or ColumnWildcard.")
        if names is not None:
            if not names:
                raise bad("TableWithColumns.ColumnNames must not be empty.")
            out["ColumnNames"] = sorted({c.lower() for c in names})
        else:
            out["ColumnWildcard"] = {"ExcludedColumnNames": sorted(
                {c.lower() for c in (wild or {}).get("ExcludedColumnNames") or []})}
        return kind, {"TableWithColumns": out}
    if kind == "DataLocation":
        if not r.get("ResourceArn"):
            raise bad("DataLocation.ResourceArn is required.")
        return kind, {"DataLocation": {"CatalogId": cat, "ResourceArn": r["ResourceArn"]}}
    if kind == "LFTag":
        if not r.get("TagKey") or not r.get("TagValues"):
            raise bad("LFTag needs TagKey and TagValues.")
        return kind, {"LFTag": {"CatalogId": cat, "TagKey": r["TagKey"], "TagValues": sorted(set(r["TagValues"]))}}
    # LFTagPolicy
    rtype = r.get("ResourceType")
    if rtype not in ("DATABASE", "TABLE"):
        raise bad("LFTagPolicy.ResourceType must be DATABASE or TABLE.")
    if r.get("ExpressionName"):
        raise bad("LFTagPolicy.ExpressionName (named LF-tag expressions) is not supported locally: "
                   "give the Expression inline.")
    expr = r.get("Expression") or []
    if not expr:
        raise bad("LFTagPolicy.Expression must list at least one {TagKey, TagValues}.")
    keys = [e.get("TagKey") for e in expr]
    if len(set(keys)) != len(keys):
        raise bad("LFTagPolicy.Expression lists a TagKey twice; put all values of a key in one entry.")
    canon = sorted(({"TagKey": e["TagKey"], "TagValues": sorted(set(e.get("TagValues") or []))}
                    for e in expr), key=lambda e: e["TagKey"])
    return kind, {"LFTagPolicy": {"CatalogId": cat, "ResourceType": rtype, "Expression": canon}}


def entry_key(principal: str, resource: dict[str, Any]) -> str:
    return principal + "\x00" + json.dumps(resource, sort_keys=True)


def _glue_columns(req: AwsRequest, db: str, table: str) -> list[str]:
    try:
        t = catalog_glue(req).get_table(DatabaseName=db, Name=table)["Table"]
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        raise AwsError("EntityNotFoundException",
                       f"Table {db}.{table} not found in the Data Catalog: create it before granting "
                       "Lake Formation permissions on it.") from exc
    cols = (t.get("StorageDescriptor") or {}).get("Columns", []) + (t.get("PartitionKeys") or [])
    return [c["Name"].lower() for c in cols]


def _check_database(req: AwsRequest, db: str) -> None:
    try:
        catalog_glue(req).get_database(Name=db)
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        raise AwsError("EntityNotFoundException",
                       f"Database {db} not found in the Data Catalog: create it before granting "
                       "Lake Formation permissions on it.") from exc


def validate_exists(req: AwsRequest, kind: str, res: dict[str, Any]) -> None:
    r = res[kind]
    if kind == "Database":
        _check_database(req, r["Name"])
    elif kind == "Table":
        if "Name" in r:
            _glue_columns(req, r["DatabaseName"], r["Name"])
        else:
            _check_database(req, r["DatabaseName"])
    elif kind == "TableWithColumns":
        cols = _glue_columns(req, r["DatabaseName"], r["Name"])
        named = r.get("ColumnNames") or r.get("ColumnWildcard", {}).get("ExcludedColumnNames", [])
        unknown = [c for c in named if c not in cols]
        if unknown:
            raise AwsError("InvalidInputException",
                           f"Columns {unknown} do not exist in {r['DatabaseName']}.{r['Name']} "
                           f"(columns: {', '.join(cols)}).")
    elif kind == "DataCellsFilter":
        key = filter_key(r["TableCatalogId"], req.region, r["DatabaseName"], r["TableName"], r["Name"])
        if key not in FILTERS:
            raise AwsError("EntityNotFoundException",
                           f"Data cells filter {r['Name']} not found on {r['DatabaseName']}.{r['TableName']}: "
                           "create it with CreateDataCellsFilter first.")
    elif kind in ("LFTag", "LFTagPolicy"):
        pairs = [r] if kind == "LFTag" else r["Expression"]
        for pair in pairs:
            known = tag_values(r["CatalogId"], req.region, pair["TagKey"])
            if known is None:
                raise AwsError("EntityNotFoundException",
                               f"LF-tag {pair['TagKey']} does not exist: create it with CreateLFTag first.")
            missing = [v for v in pair["TagValues"] if v != "*" and v not in known]
            if missing:
                raise AwsError("EntityNotFoundException",
                               f"LF-tag {pair['TagKey']} has no value(s) {missing} (values: {known}).")


def validate_permissions(kind: str, res: dict[str, Any], perms: list[str], grantable: list[str]) -> None:
    if kind == "LFTagPolicy":
        allowed = TABLE_PERMS if res["LFTagPolicy"]["ResourceType"] == "TABLE" else DB_PERMS
    else:
        allowed = _VALID[kind]
    wrong = sorted(set(perms) - allowed)
    if wrong:
        raise bad(f"Permissions modification is invalid: {wrong} cannot be granted on a {kind} resource "
                  f"(valid: {sorted(allowed)}).")
    if set(grantable) - set(perms):
        raise bad("Permissions modification is invalid: PermissionsWithGrantOption must be a subset of "
                  "Permissions.")


def principal_id(entry: dict[str, Any]) -> str:
    p = (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier")
    if not p:
        raise bad("Principal.DataLakePrincipalIdentifier is required.")
    return p


def table_of(res: dict[str, Any]) -> tuple[str, str | None] | None:
    """(database, table or None for a wildcard) a table-ish resource is about."""
    if "Table" in res:
        return res["Table"]["DatabaseName"], res["Table"].get("Name")
    if "TableWithColumns" in res:
        return res["TableWithColumns"]["DatabaseName"], res["TableWithColumns"]["Name"]
    if "DataCellsFilter" in res:
        return res["DataCellsFilter"]["DatabaseName"], res["DataCellsFilter"]["TableName"]
    return None

