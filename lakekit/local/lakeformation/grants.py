"""Lake Formation GrantPermissions / RevokePermissions (+ Batch) that behave like AWS.

moto 5.2's grant/revoke is buggy; these executors keep the grants in :data:`.state.GRANTS`.

Semantics (AWS Lake Formation Developer Guide, "Granting permissions on Data Catalog
resources", "Implicit Lake Formation permissions"):
- who may grant or revoke: a data lake administrator (DataLakeSettings.DataLakeAdmins) on
  any resource, to any principal including itself; any principal holding the permissions
  *with grant option* on the resource (for a table, column set or data cells filter: on the
  table or its database's TableWildcard) — the creator of a database or table holds ALL with
  grant option on it (:mod:`.catalog`). Anyone else gets
  ``AccessDeniedException: Resource does not exist or requester is not authorized to access
  requested permissions.`` (LF's wording), and nothing changes;
- one entry per (principal, resource); granting again unions ``Permissions`` and
  ``PermissionsWithGrantOption``; revoking removes only the listed permissions; an entry
  left with nothing disappears; revoking what the grantee does not hold fails with
  ``InvalidInputException: No permissions revoked...``; grant -> revoke -> grant works;
- the resource must exist (Glue database/table/columns, data cells filter, LF-tag):
  ``EntityNotFoundException`` otherwise;
- ``IAM_ALLOWED_PRINCIPALS``: the grant a table got at creation from its database's
  CreateTableDefaultPermissions (:mod:`.catalog`) is revoked and granted back like an explicit one.

Example::

    lf.grant_permissions(Principal={"DataLakePrincipalIdentifier": role_arn},
                         Resource={"TableWithColumns": {"DatabaseName": "db", "Name": "flights",
                                   "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}}},
                         Permissions=["SELECT"])
"""
from __future__ import annotations

import copy
import time
from typing import Any

from lakekit.local.lakeformation.principals import principal_of_key
from lakekit.local.lakeformation.resources import (
    bad,
    entry_key,
    normalize_resource,
    principal_id,
    table_of,
    validate_exists,
    validate_permissions,
)
from lakekit.local.lakeformation.state import (
    GRANTS,
    IAM_ALLOWED,
    IAM_DEFAULTS,
    LOCK,
    add_grant,
    admins_of,
    current_table_defaults,
    grants_of,
    scope,
    set_implicit,
    settings_of,
    table_is_iam_allowed,
)
from lakekit.local.registry import AwsError, AwsRequest, operation

__all__ = ["grant_permissions", "revoke_permissions", "batch_grant_permissions", "batch_revoke_permissions",
           "may_grant", "NOT_AUTHORIZED"]

_SERVICE = "lakeformation"
_NO_REVOKE = "No permissions revoked. Grantee has no permissions and no grantable permissions on resource."
NOT_AUTHORIZED = "Resource does not exist or requester is not authorized to access requested permissions."


# ----------------------------------------------------------------------------- who may grant
def may_grant(account_id: str, region: str, catalog: str, caller: str, kind: str, res: dict[str, Any],
              wanted: set[str]) -> bool:
    """Whether ``caller`` may grant/revoke ``wanted`` on the canonical resource ``res``."""
    if caller in admins_of(settings_of(account_id, region, catalog)):
        return True
    where = table_of(res)
    for g in grants_of(catalog, region):
        if g["Principal"]["DataLakePrincipalIdentifier"] != caller:
            continue
        held = set(g.get("PermissionsWithGrantOption") or [])
        if not held or not ("ALL" in held or wanted <= held):
            continue
        if g["Resource"] == res:
            return True
        got = table_of(g["Resource"])
        if where is not None and where[1] is not None and "Table" in g["Resource"] and got is not None and \
                got[0] == where[0] and got[1] in (where[1], None):
            return True
    return False


def _authorize(req: AwsRequest, catalog: str, kind: str, res: dict[str, Any], wanted: set[str]) -> None:
    caller = principal_of_key(req.account_id, req.access_key_id)
    if may_grant(req.account_id, req.region, catalog, caller, kind, res, wanted):
        return
    raise AwsError("AccessDeniedException",
                   f"{NOT_AUTHORIZED} {caller} is neither a data lake administrator nor holds "
                   f"{sorted(wanted)} with grant option on this {kind}: a data lake administrator "
                   "(DataLakeSettings.DataLakeAdmins) must make this grant, or grant the caller the "
                   "permissions with PermissionsWithGrantOption first.", 400)


def _grant(req: AwsRequest, entry: dict[str, Any]) -> None:
    principal = principal_id(entry)
    catalog = entry.get("CatalogId") or req.params.get("CatalogId") or req.account_id
    kind, res = normalize_resource(entry.get("Resource") or {}, catalog)
    perms = sorted(set(entry.get("Permissions") or []))
    grantable = sorted(set(entry.get("PermissionsWithGrantOption") or []))
    if not perms:
        raise bad("Permissions must list at least one permission.")
    validate_permissions(kind, res, perms, grantable)
    _authorize(req, catalog, kind, res, set(perms) | set(grantable))
    validate_exists(req, kind, res)
    add_grant(catalog, req.region, principal, res, perms, grantable, _caller(req))
    if principal == IAM_ALLOWED and kind == "Table" and "Name" in res["Table"]:
        set_implicit(catalog, req.region, res["Table"]["DatabaseName"], res["Table"]["Name"], True)


def _revoke(req: AwsRequest, entry: dict[str, Any]) -> None:
    principal = principal_id(entry)
    catalog = entry.get("CatalogId") or req.params.get("CatalogId") or req.account_id
    kind, res = normalize_resource(entry.get("Resource") or {}, catalog)
    perms = set(entry.get("Permissions") or [])
    grantable = set(entry.get("PermissionsWithGrantOption") or [])
    if not perms and not grantable:
        raise bad("Permissions must list at least one permission to revoke.")
    _authorize(req, catalog, kind, res, perms | grantable)
    revoked_implicit = False
    if principal == IAM_ALLOWED and kind == "Table" and "Name" in res["Table"]:
        t = res["Table"]
        if table_is_iam_allowed(catalog, req.region, t["DatabaseName"], t["Name"],
                                current_table_defaults(req.account_id, req.region, catalog, t["DatabaseName"])):
            set_implicit(catalog, req.region, t["DatabaseName"], t["Name"], False)
            revoked_implicit = True
    if principal == IAM_ALLOWED and kind == "Database":
        rec = IAM_DEFAULTS.setdefault(scope(catalog, req.region), {}).setdefault("db_revoked", {})
        if not rec.get(res["Database"]["Name"]):
            rec[res["Database"]["Name"]] = True
            revoked_implicit = True
    entries = GRANTS.setdefault(scope(catalog, req.region), {})
    key = entry_key(principal, res)
    with LOCK:
        old = entries.get(key)
        if old is None or not ((perms | grantable) & (set(old["Permissions"]) | set(old["PermissionsWithGrantOption"]))):
            if revoked_implicit:
                return
            raise bad(_NO_REVOKE)
        left = sorted(set(old["Permissions"]) - perms)
        left_grant = sorted((set(old["PermissionsWithGrantOption"]) - grantable - perms) & set(left))
        if not left:
            entries.pop(key, None)
        else:
            entries[key] = {**old, "Permissions": left, "PermissionsWithGrantOption": left_grant,
                            "LastUpdated": time.time(), "LastUpdatedBy": _caller(req)}


def _caller(req: AwsRequest) -> str:
    return principal_of_key(req.account_id, req.access_key_id)


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
        raise bad("Entries must list at least one entry.")
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


