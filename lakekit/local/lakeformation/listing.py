"""Lake Formation ListPermissions and GetEffectivePermissionsForPath over :data:`.state.GRANTS`.

ListPermissions filters by Principal (needs a Resource, like AWS), ResourceType and Resource
(``IncludeRelated=TRUE`` adds the table's database and TableWildcard grants); pages with
MaxResults/NextToken. A ``Table`` grant is listed as a ``Table`` (a ``TableWithColumns`` grant
as ``TableWithColumns``; ``ColumnWildcard`` with no exclusions as ``{}``). The grant a table got
from IAM_ALLOWED_PRINCIPALS at creation is listed when the request names
Principal=IAM_ALLOWED_PRINCIPALS and the table (deviation: AWS lists it in every matching listing).
"""
from __future__ import annotations

import copy
import json
from typing import Any

from lakekit.local.lakeformation.resources import bad, normalize_resource, table_of
from lakekit.local.lakeformation.state import (
    IAM_ALLOWED,
    catalog_glue,
    current_table_defaults,
    grants_of,
    table_is_iam_allowed,
)
from lakekit.local.registry import AwsRequest, operation

__all__ = ["list_permissions", "get_effective_permissions_for_path"]

_SERVICE = "lakeformation"
_TYPE_OF = {"Catalog": "CATALOG", "Database": "DATABASE", "Table": "TABLE", "TableWithColumns": "TABLE",
            "DataCellsFilter": "TABLE", "DataLocation": "DATA_LOCATION", "LFTag": "LF_TAG",
            "LFTagPolicy": "LF_TAG_POLICY"}




def _matches(entry_res: dict[str, Any], kind: str, want: dict[str, Any], related: bool) -> bool:
    if kind == "Table" and "Name" in want["Table"]:
        db, name = want["Table"]["DatabaseName"], want["Table"]["Name"]
        got = table_of(entry_res)
        if got == (db, name):
            return True
        if related and (got == (db, None) or entry_res.get("Database", {}).get("Name") == db):
            return True
        return False
    if kind == "TableWithColumns":
        got = table_of(entry_res)
        w = want["TableWithColumns"]
        return got == (w["DatabaseName"], w["Name"]) and "DataCellsFilter" not in entry_res
    if kind == "Database" and related:
        got = table_of(entry_res)
        if got and got[0] == want["Database"]["Name"]:
            return True
    return entry_res == want



@operation(_SERVICE, "ListPermissions")
def list_permissions(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    catalog = p.get("CatalogId") or req.account_id
    principal = (p.get("Principal") or {}).get("DataLakePrincipalIdentifier")
    resource = p.get("Resource")
    if principal and not resource:
        raise bad("Resource is mandatory if Principal is set in the input.")
    rtype = p.get("ResourceType")
    related = str(p.get("IncludeRelated", "")).upper() == "TRUE"
    items = sorted(grants_of(catalog, req.region), key=lambda e: (
        e["Principal"]["DataLakePrincipalIdentifier"], json.dumps(e["Resource"], sort_keys=True)))
    if principal:
        items = [e for e in items if e["Principal"]["DataLakePrincipalIdentifier"] == principal]
    if rtype:
        items = [e for e in items if _TYPE_OF[next(iter(e["Resource"]))] == rtype or
                 (rtype.startswith("LF_TAG_POLICY_") and "LFTagPolicy" in e["Resource"] and
                  e["Resource"]["LFTagPolicy"]["ResourceType"] == rtype.rsplit("_", 1)[1])]
    if resource:
        pol = resource.get("LFTagPolicy")
        if pol is not None and not pol.get("Expression"):
            rt = pol.get("ResourceType")
            items = [e for e in items if "LFTagPolicy" in e["Resource"] and
                     (not rt or e["Resource"]["LFTagPolicy"]["ResourceType"] == rt)]
        else:
            kind, want = normalize_resource(resource, catalog)
            items = [e for e in items if _matches(e["Resource"], kind, want, related)]
    if principal == IAM_ALLOWED and resource and resource.get("Table", {}).get("Name"):
        items += _implicit_entries(req, catalog, resource["Table"]["DatabaseName"].lower(),
                                   resource["Table"]["Name"].lower(), items)
    start = int(p.get("NextToken") or 0)
    size = int(p.get("MaxResults") or 100)
    page = items[start:start + size]
    out: dict[str, Any] = {"PrincipalResourcePermissions": [_external(e) for e in page]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def _implicit_entries(req: AwsRequest, catalog: str, db: str, table: str,
                      listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The implicit IAM_ALLOWED_PRINCIPALS grant of a table, when in force and not listed already."""
    res = {"Table": {"CatalogId": catalog, "DatabaseName": db, "Name": table}}
    if any(e["Resource"] == res for e in listed):
        return []
    if not table_is_iam_allowed(catalog, req.region, db, table, current_table_defaults(req.account_id, req.region, catalog, db)):
        return []
    return [{"Principal": {"DataLakePrincipalIdentifier": IAM_ALLOWED}, "Resource": res,
             "Permissions": ["ALL"], "PermissionsWithGrantOption": []}]


def _external(e: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(e)
    res = out["Resource"]
    if "TableWithColumns" in res and "ColumnWildcard" in res["TableWithColumns"] and \
            not res["TableWithColumns"]["ColumnWildcard"]["ExcludedColumnNames"]:
        res["TableWithColumns"]["ColumnWildcard"] = {}
    return out


@operation(_SERVICE, "GetEffectivePermissionsForPath")
def get_effective_permissions_for_path(req: AwsRequest) -> dict[str, Any]:
    """Grants on the DataLocation covering the path and on tables stored under it."""
    arn = req.params.get("ResourceArn") or ""
    if not arn.startswith("arn:aws:s3:::"):
        raise bad("ResourceArn must be an S3 ARN like arn:aws:s3:::bucket/prefix.")
    path = "s3://" + arn[len("arn:aws:s3:::"):].rstrip("/")
    catalog = req.params.get("CatalogId") or req.account_id
    glue = catalog_glue(req)
    tables: set[tuple[str, str]] = set()
    for db in glue.get_databases().get("DatabaseList", []):
        for t in glue.get_tables(DatabaseName=db["Name"]).get("TableList", []):
            loc = ((t.get("StorageDescriptor") or {}).get("Location") or "").rstrip("/")
            if loc == path or loc.startswith(path + "/"):
                tables.add((db["Name"].lower(), t["Name"].lower()))
    out = []
    for e in grants_of(catalog, req.region):
        res = e["Resource"]
        if "DataLocation" in res:
            loc = "s3://" + res["DataLocation"]["ResourceArn"][len("arn:aws:s3:::"):].rstrip("/")
            if path == loc or path.startswith(loc + "/"):
                out.append(_external(e))
        elif table_of(res) in tables:
            out.append(_external(e))
    return {"Permissions": out}


