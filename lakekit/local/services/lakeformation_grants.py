"""Lake Formation grants that behave like AWS (moto 5.2's grant/revoke is buggy).

Answers GrantPermissions, RevokePermissions, BatchGrantPermissions, BatchRevokePermissions,
ListPermissions and GetEffectivePermissionsForPath. DataLakeSettings stay in moto
(Get/PutDataLakeSettings pass through) and are read here for admins and default permissions.

Semantics (AWS):
- one entry per (principal, resource); granting again unions ``Permissions`` and
  ``PermissionsWithGrantOption``; revoking removes only the listed permissions; an entry
  left with nothing disappears; revoking what the grantee does not hold fails with
  ``InvalidInputException: No permissions revoked...``; grant -> revoke -> grant works.
- the resource must exist (Glue database/table/columns, data cells filter, LF-tag):
  ``EntityNotFoundException`` otherwise.
- ``IAM_ALLOWED_PRINCIPALS`` defaults: a database/table created while the settings (or the
  database's ``CreateTableDefaultPermissions``) contain IAM_ALLOWED_PRINCIPALS is readable
  by IAM alone, as on AWS. These *implicit* grants are recorded per table
  (store ``lakeformation.iam_defaults``) and can be revoked like an explicit grant;
  deviation: ListPermissions lists them only when filtered by Principal=IAM_ALLOWED_PRINCIPALS
  and a Table resource (AWS always lists them).

Example::

    lf.grant_permissions(Principal={"DataLakePrincipalIdentifier": role_arn},
                         Resource={"TableWithColumns": {"DatabaseName": "db", "Name": "flights",
                                   "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}}},
                         Permissions=["SELECT"])
"""
from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, observer, operation

__all__ = [
    "GRANTS",
    "IAM_DEFAULTS",
    "IAM_ALLOWED",
    "grants_of",
    "normalize_resource",
    "table_is_iam_allowed",
    "settings_of",
]

GRANTS = store("lakeformation.grants")          # "<catalog>|<region>" -> {key: entry}
IAM_DEFAULTS = store("lakeformation.iam_defaults")  # "<catalog>|<region>" -> {"db": {...}, "table": {...}}
IAM_ALLOWED = "IAM_ALLOWED_PRINCIPALS"
_SERVICE = "lakeformation"
_LOCK = threading.Lock()

_KINDS = ("Catalog", "Database", "Table", "TableWithColumns", "DataLocation", "DataCellsFilter",
          "LFTag", "LFTagPolicy")
_TABLE_PERMS = {"ALL", "ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT", "SELECT"}
_DB_PERMS = {"ALL", "ALTER", "CREATE_TABLE", "DESCRIBE", "DROP"}
_VALID = {
    "Catalog": {"ALL", "CREATE_DATABASE", "CREATE_LF_TAG", "CREATE_LF_TAG_EXPRESSION", "CREATE_CATALOG",
                "DESCRIBE", "ALTER", "DROP", "SUPER_USER", "DATA_LOCATION_ACCESS"},
    "Database": _DB_PERMS,
    "Table": _TABLE_PERMS,
    "TableWithColumns": {"SELECT"},
    "DataCellsFilter": {"SELECT", "DESCRIBE", "DROP"},
    "DataLocation": {"DATA_LOCATION_ACCESS"},
    "LFTag": {"DESCRIBE", "ASSOCIATE", "GRANT_WITH_LF_TAG_EXPRESSION", "ALTER", "DROP"},
}
_NO_REVOKE = "No permissions revoked. Grantee has no permissions and no grantable permissions on resource."


# ----------------------------------------------------------------------------- state helpers
def _scope(catalog: str, region: str) -> str:
    return f"{catalog}|{region}"


def grants_of(catalog: str, region: str) -> list[dict[str, Any]]:
    """Every explicit grant of one catalog (shared, do not mutate)."""
    return list(GRANTS.get(_scope(catalog, region), {}).values())


def settings_of(account_id: str, region: str, catalog: str | None = None) -> dict[str, Any]:
    """moto's DataLakeSettings of a catalog (in-process)."""
    from moto.lakeformation.models import lakeformation_backends

    backend = lakeformation_backends[account_id][region]
    return backend.settings[catalog or account_id]


def table_is_iam_allowed(catalog: str, region: str, database: str, table: str,
                         current_defaults: list[dict[str, Any]] | None = None) -> bool:
    """Whether the implicit IAM_ALLOWED_PRINCIPALS grant of a table is in force.

    A table created before this module recorded it follows ``current_defaults``
    (the settings' CreateTableDefaultPermissions).
    """
    rec = IAM_DEFAULTS.get(_scope(catalog, region), {}).get("table", {})
    key = f"{database.lower()}|{table.lower()}"
    if key in rec:
        return bool(rec[key])
    return _has_iam_allowed(current_defaults or [])


def _has_iam_allowed(defaults: list[dict[str, Any]]) -> bool:
    return any((d.get("Principal") or {}).get("DataLakePrincipalIdentifier") == IAM_ALLOWED
               for d in defaults or [])


# ----------------------------------------------------------------------------- resources
def _bad(message: str) -> AwsError:
    return AwsError("InvalidInputException", message)


def normalize_resource(resource: dict[str, Any], account_id: str) -> tuple[str, dict[str, Any]]:
    """(kind, canonical resource) so equal resources compare equal (names lowercased, lists sorted)."""
    kinds = [k for k in _KINDS if resource.get(k) is not None]
    other = [k for k in resource if k not in _KINDS and resource[k] is not None]
    if other:
        raise _bad(f"Resource type {other[0]} is not supported by the local endpoint; use one of "
                   f"{', '.join(_KINDS)}.")
    if len(kinds) != 1:
        raise _bad("Exactly one resource type must be given in Resource (found "
                   f"{', '.join(kinds) or 'none'}).")
    kind = kinds[0]
    r = dict(resource[kind])
    if kind == "Catalog":
        return kind, {"Catalog": {}}
    if kind == "DataCellsFilter":
        for f in ("DatabaseName", "TableName", "Name"):
            if not r.get(f):
                raise _bad(f"DataCellsFilter.{f} is required.")
        return kind, {"DataCellsFilter": {"TableCatalogId": r.get("TableCatalogId") or account_id,
                                          "DatabaseName": r["DatabaseName"].lower(),
                                          "TableName": r["TableName"].lower(), "Name": r["Name"]}}
    cat = r.get("CatalogId") or account_id
    if kind == "Database":
        if not r.get("Name"):
            raise _bad("Database.Name is required.")
        return kind, {"Database": {"CatalogId": cat, "Name": r["Name"].lower()}}
    if kind == "Table":
        if not r.get("DatabaseName"):
            raise _bad("Table.DatabaseName is required.")
        if r.get("Name") and r.get("TableWildcard") is not None:
            raise _bad("Table: give either Name or TableWildcard, not both.")
        if r.get("Name"):
            return kind, {"Table": {"CatalogId": cat, "DatabaseName": r["DatabaseName"].lower(),
                                    "Name": r["Name"].lower()}}
        if r.get("TableWildcard") is not None:
            return kind, {"Table": {"CatalogId": cat, "DatabaseName": r["DatabaseName"].lower(),
                                    "TableWildcard": {}}}
        raise _bad("Table needs Name or TableWildcard: {}.")
    if kind == "TableWithColumns":
        if not r.get("DatabaseName") or not r.get("Name"):
            raise _bad("TableWithColumns needs DatabaseName and Name.")
        out: dict[str, Any] = {"CatalogId": cat, "DatabaseName": r["DatabaseName"].lower(),
                               "Name": r["Name"].lower()}
        names, wild = r.get("ColumnNames"), r.get("ColumnWildcard")
        if (names is None) == (wild is None):
            raise _bad("TableWithColumns needs exactly one of ColumnNames or ColumnWildcard.")
        if names is not None:
            if not names:
                raise _bad("TableWithColumns.ColumnNames must not be empty.")
            out["ColumnNames"] = sorted({c.lower() for c in names})
        else:
            out["ColumnWildcard"] = {"ExcludedColumnNames": sorted(
                {c.lower() for c in (wild or {}).get("ExcludedColumnNames") or []})}
        return kind, {"TableWithColumns": out}
    if kind == "DataLocation":
        if not r.get("ResourceArn"):
            raise _bad("DataLocation.ResourceArn is required.")
        return kind, {"DataLocation": {"CatalogId": cat, "ResourceArn": r["ResourceArn"]}}
    if kind == "LFTag":
        if not r.get("TagKey") or not r.get("TagValues"):
            raise _bad("LFTag needs TagKey and TagValues.")
        return kind, {"LFTag": {"CatalogId": cat, "TagKey": r["TagKey"], "TagValues": sorted(set(r["TagValues"]))}}
    # LFTagPolicy
    rtype = r.get("ResourceType")
    if rtype not in ("DATABASE", "TABLE"):
        raise _bad("LFTagPolicy.ResourceType must be DATABASE or TABLE.")
    if r.get("ExpressionName"):
        raise _bad("LFTagPolicy.ExpressionName (named LF-tag expressions) is not supported locally: "
                   "give the Expression inline.")
    expr = r.get("Expression") or []
    if not expr:
        raise _bad("LFTagPolicy.Expression must list at least one {TagKey, TagValues}.")
    keys = [e.get("TagKey") for e in expr]
    if len(set(keys)) != len(keys):
        raise _bad("LFTagPolicy.Expression lists a TagKey twice; put all values of a key in one entry.")
    canon = sorted(({"TagKey": e["TagKey"], "TagValues": sorted(set(e.get("TagValues") or []))}
                    for e in expr), key=lambda e: e["TagKey"])
    return kind, {"LFTagPolicy": {"CatalogId": cat, "ResourceType": rtype, "Expression": canon}}


def _entry_key(principal: str, resource: dict[str, Any]) -> str:
    return principal + "\x00" + json.dumps(resource, sort_keys=True)


def _glue_columns(req: AwsRequest, db: str, table: str) -> list[str]:
    try:
        t = req.client("glue").get_table(DatabaseName=db, Name=table)["Table"]
    except ClientError as exc:
        raise AwsError("EntityNotFoundException",
                       f"Table {db}.{table} not found in the Data Catalog: create it before granting "
                       "Lake Formation permissions on it.") from exc
    cols = (t.get("StorageDescriptor") or {}).get("Columns", []) + (t.get("PartitionKeys") or [])
    return [c["Name"].lower() for c in cols]


def _check_database(req: AwsRequest, db: str) -> None:
    try:
        req.client("glue").get_database(Name=db)
    except ClientError as exc:
        raise AwsError("EntityNotFoundException",
                       f"Database {db} not found in the Data Catalog: create it before granting "
                       "Lake Formation permissions on it.") from exc


def _validate_exists(req: AwsRequest, kind: str, res: dict[str, Any]) -> None:
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
        from lakekit.local.services.lakeformation import FILTERS, filter_key

        key = filter_key(r["TableCatalogId"], r["DatabaseName"], r["TableName"], r["Name"])
        if key not in FILTERS:
            raise AwsError("EntityNotFoundException",
                           f"Data cells filter {r['Name']} not found on {r['DatabaseName']}.{r['TableName']}: "
                           "create it with CreateDataCellsFilter first.")
    elif kind in ("LFTag", "LFTagPolicy"):
        from lakekit.local.services.lakeformation_tags import tag_values

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


def _validate_permissions(kind: str, res: dict[str, Any], perms: list[str], grantable: list[str]) -> None:
    if kind == "LFTagPolicy":
        allowed = _TABLE_PERMS if res["LFTagPolicy"]["ResourceType"] == "TABLE" else _DB_PERMS
    else:
        allowed = _VALID[kind]
    bad = sorted(set(perms) - allowed)
    if bad:
        raise _bad(f"Permissions modification is invalid: {bad} cannot be granted on a {kind} resource "
                   f"(valid: {sorted(allowed)}).")
    if set(grantable) - set(perms):
        raise _bad("Permissions modification is invalid: PermissionsWithGrantOption must be a subset of "
                   "Permissions.")


def _principal_id(entry: dict[str, Any]) -> str:
    p = (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier")
    if not p:
        raise _bad("Principal.DataLakePrincipalIdentifier is required.")
    return p


# ----------------------------------------------------------------------------- grant / revoke
def _grant(req: AwsRequest, entry: dict[str, Any]) -> None:
    principal = _principal_id(entry)
    catalog = entry.get("CatalogId") or req.params.get("CatalogId") or req.account_id
    kind, res = normalize_resource(entry.get("Resource") or {}, catalog)
    perms = sorted(set(entry.get("Permissions") or []))
    grantable = sorted(set(entry.get("PermissionsWithGrantOption") or []))
    if not perms:
        raise _bad("Permissions must list at least one permission.")
    _validate_permissions(kind, res, perms, grantable)
    _validate_exists(req, kind, res)
    scope = GRANTS.setdefault(_scope(catalog, req.region), {})
    key = _entry_key(principal, res)
    with _LOCK:
        old = scope.get(key)
        new = {
            "Principal": {"DataLakePrincipalIdentifier": principal},
            "Resource": res,
            "Permissions": sorted(set(perms) | set(old["Permissions"] if old else [])),
            "PermissionsWithGrantOption": sorted(set(grantable) | set(old["PermissionsWithGrantOption"]
                                                                        if old else [])),
            "LastUpdated": time.time(),
            "LastUpdatedBy": _caller(req),
        }
        scope[key] = new  # replaced wholesale: readers never see a half-updated entry
    if principal == IAM_ALLOWED and kind == "Table" and "Name" in res["Table"]:
        _set_implicit(catalog, req.region, res["Table"]["DatabaseName"], res["Table"]["Name"], True)


def _revoke(req: AwsRequest, entry: dict[str, Any]) -> None:
    principal = _principal_id(entry)
    catalog = entry.get("CatalogId") or req.params.get("CatalogId") or req.account_id
    kind, res = normalize_resource(entry.get("Resource") or {}, catalog)
    perms = set(entry.get("Permissions") or [])
    grantable = set(entry.get("PermissionsWithGrantOption") or [])
    if not perms and not grantable:
        raise _bad("Permissions must list at least one permission to revoke.")
    revoked_implicit = False
    if principal == IAM_ALLOWED and kind == "Table" and "Name" in res["Table"]:
        t = res["Table"]
        if table_is_iam_allowed(catalog, req.region, t["DatabaseName"], t["Name"],
                                _current_table_defaults(req, catalog, t["DatabaseName"])):
            _set_implicit(catalog, req.region, t["DatabaseName"], t["Name"], False)
            revoked_implicit = True
    if principal == IAM_ALLOWED and kind == "Database":
        rec = IAM_DEFAULTS.setdefault(_scope(catalog, req.region), {}).setdefault("db_revoked", {})
        if not rec.get(res["Database"]["Name"]):
            rec[res["Database"]["Name"]] = True
            revoked_implicit = True
    scope = GRANTS.setdefault(_scope(catalog, req.region), {})
    key = _entry_key(principal, res)
    with _LOCK:
        old = scope.get(key)
        if old is None or not ((perms | grantable) & (set(old["Permissions"]) | set(old["PermissionsWithGrantOption"]))):
            if revoked_implicit:
                return
            raise _bad(_NO_REVOKE)
        left = sorted(set(old["Permissions"]) - perms)
        left_grant = sorted((set(old["PermissionsWithGrantOption"]) - grantable - perms) & set(left))
        if not left:
            scope.pop(key, None)
        else:
            scope[key] = {**old, "Permissions": left, "PermissionsWithGrantOption": left_grant,
                          "LastUpdated": time.time(), "LastUpdatedBy": _caller(req)}


def _caller(req: AwsRequest) -> str:
    try:
        from lakekit.local.lakeformation_access import principal_for

        return principal_for(req.account_id, req.access_key_id)
    except Exception:
        return f"arn:aws:iam::{req.account_id}:root"


def _set_implicit(catalog: str, region: str, db: str, table: str, value: bool) -> None:
    rec = IAM_DEFAULTS.setdefault(_scope(catalog, region), {}).setdefault("table", {})
    rec[f"{db.lower()}|{table.lower()}"] = value


def _current_table_defaults(req: AwsRequest, catalog: str, db: str) -> list[dict[str, Any]]:
    dbs = IAM_DEFAULTS.get(_scope(catalog, req.region), {}).get("db_table_defaults", {})
    if db.lower() in dbs:
        return dbs[db.lower()]
    return settings_of(req.account_id, req.region, catalog).get("CreateTableDefaultPermissions") or []


@operation(_SERVICE, "GrantPermissions")
def grant_permissions(req: AwsRequest) -> dict[str, Any]:
    _grant(req, req.params)
    return {}


@operation(_SERVICE, "RevokePermissions")
def revoke_permissions(req: AwsRequest) -> dict[str, Any]:
    _revoke(req, req.params)
    return {}


def _batch(req: AwsRequest, fn: Any) -> dict[str, Any]:
    entries = req.params.get("Entries") or []
    if not entries:
        raise _bad("Entries must list at least one entry.")
    failures = []
    for entry in entries:
        try:
            fn(req, entry)
        except AwsError as err:
            failures.append({"RequestEntry": copy.deepcopy(entry),
                             "Error": {"ErrorCode": err.code, "ErrorMessage": err.message}})
    return {"Failures": failures}


@operation(_SERVICE, "BatchGrantPermissions")
def batch_grant_permissions(req: AwsRequest) -> dict[str, Any]:
    return _batch(req, _grant)


@operation(_SERVICE, "BatchRevokePermissions")
def batch_revoke_permissions(req: AwsRequest) -> dict[str, Any]:
    return _batch(req, _revoke)


# ----------------------------------------------------------------------------- listing
_TYPE_OF = {"Catalog": "CATALOG", "Database": "DATABASE", "Table": "TABLE", "TableWithColumns": "TABLE",
            "DataCellsFilter": "TABLE", "DataLocation": "DATA_LOCATION", "LFTag": "LF_TAG",
            "LFTagPolicy": "LF_TAG_POLICY"}


def _table_of(res: dict[str, Any]) -> tuple[str, str | None] | None:
    """(database, table or None for a wildcard) a table-ish resource is about."""
    if "Table" in res:
        return res["Table"]["DatabaseName"], res["Table"].get("Name")
    if "TableWithColumns" in res:
        return res["TableWithColumns"]["DatabaseName"], res["TableWithColumns"]["Name"]
    if "DataCellsFilter" in res:
        return res["DataCellsFilter"]["DatabaseName"], res["DataCellsFilter"]["TableName"]
    return None


def _matches(entry_res: dict[str, Any], kind: str, want: dict[str, Any], related: bool) -> bool:
    if kind == "Table" and "Name" in want["Table"]:
        db, name = want["Table"]["DatabaseName"], want["Table"]["Name"]
        got = _table_of(entry_res)
        if got == (db, name):
            return True
        if related and (got == (db, None) or entry_res.get("Database", {}).get("Name") == db):
            return True
        return False
    if kind == "TableWithColumns":
        got = _table_of(entry_res)
        w = want["TableWithColumns"]
        return got == (w["DatabaseName"], w["Name"]) and "DataCellsFilter" not in entry_res
    if kind == "Database" and related:
        got = _table_of(entry_res)
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
        raise _bad("Resource is mandatory if Principal is set in the input.")
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
    if not table_is_iam_allowed(catalog, req.region, db, table, _current_table_defaults(req, catalog, db)):
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
        raise _bad("ResourceArn must be an S3 ARN like arn:aws:s3:::bucket/prefix.")
    path = "s3://" + arn[len("arn:aws:s3:::"):].rstrip("/")
    catalog = req.params.get("CatalogId") or req.account_id
    glue = req.client("glue")
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
        elif _table_of(res) in tables:
            out.append(_external(e))
    return {"Permissions": out}


# ----------------------------------------------------------------------------- Glue observers
@observer("glue", "CreateDatabase")
def _on_create_database(req: AwsRequest, status: int, headers: dict) -> None:
    dbi = req.params.get("DatabaseInput") or {}
    name = (dbi.get("Name") or "").lower()
    if not name:
        return
    catalog = req.params.get("CatalogId") or req.account_id
    if "CreateTableDefaultPermissions" in dbi:
        defaults = dbi.get("CreateTableDefaultPermissions") or []
    else:
        defaults = settings_of(req.account_id, req.region, catalog).get("CreateTableDefaultPermissions") or []
    scope = IAM_DEFAULTS.setdefault(_scope(catalog, req.region), {})
    scope.setdefault("db_table_defaults", {})[name] = copy.deepcopy(defaults)


@observer("glue", "CreateTable")
def _on_create_table(req: AwsRequest, status: int, headers: dict) -> None:
    db = (req.params.get("DatabaseName") or "").lower()
    name = ((req.params.get("TableInput") or {}).get("Name") or "").lower()
    if not db or not name:
        return
    catalog = req.params.get("CatalogId") or req.account_id
    _set_implicit(catalog, req.region, db, name, _has_iam_allowed(_current_table_defaults(req, catalog, db)))


def _drop_table_state(catalog: str, region: str, db: str, table: str | None) -> None:
    scope = GRANTS.get(_scope(catalog, region), {})
    with _LOCK:
        for key, e in list(scope.items()):
            got = _table_of(e["Resource"])
            if got and got[0] == db and (table is None or got[1] == table):
                scope.pop(key, None)
            elif table is None and e["Resource"].get("Database", {}).get("Name") == db:
                scope.pop(key, None)
    rec = IAM_DEFAULTS.get(_scope(catalog, region), {})
    for k in [k for k in rec.get("table", {}) if k.split("|")[0] == db and
              (table is None or k.split("|")[1] == table)]:
        rec["table"].pop(k, None)
    if table is None:
        rec.get("db_table_defaults", {}).pop(db, None)
    from lakekit.local.services.lakeformation_tags import drop_resource_tags

    drop_resource_tags(catalog, region, db, table)


@observer("glue", "DeleteTable")
def _on_delete_table(req: AwsRequest, status: int, headers: dict) -> None:
    _drop_table_state(req.params.get("CatalogId") or req.account_id, req.region,
                      (req.params.get("DatabaseName") or "").lower(), (req.params.get("Name") or "").lower())


@observer("glue", "BatchDeleteTable")
def _on_batch_delete_table(req: AwsRequest, status: int, headers: dict) -> None:
    for name in req.params.get("TablesToDelete") or []:
        _drop_table_state(req.params.get("CatalogId") or req.account_id, req.region,
                          (req.params.get("DatabaseName") or "").lower(), name.lower())


@observer("glue", "DeleteDatabase")
def _on_delete_database(req: AwsRequest, status: int, headers: dict) -> None:
    _drop_table_state(req.params.get("CatalogId") or req.account_id, req.region,
                      (req.params.get("Name") or "").lower(), None)
