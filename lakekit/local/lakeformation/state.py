"""Lake Formation state the local endpoint keeps (moto has none or a buggy one): the stores.

Every store survives restarts (:func:`lakekit.local.persistence.store`) and is keyed by
``"<catalog>|<region>"`` unless said otherwise:

- ``GRANTS``: explicit grants, ``{entry key: entry}`` (see :mod:`.grants`);
- ``IAM_DEFAULTS``: the IAM_ALLOWED_PRINCIPALS defaults in force per table / database
  (``"table"``: ``{"db|table": bool}``, ``"db_table_defaults"``: the database's
  CreateTableDefaultPermissions, ``"db_revoked"``: databases whose grant was revoked);
- ``FILTERS``: data cells filters keyed ``"catalog|region|db|table|name"`` (see :mod:`.filters`;
  a filter is a regional resource: one created in us-east-1 does not exist in eu-west-1);
- ``TAGS``: LF-tags and their assignments (see :mod:`.tags`).

DataLakeSettings stay in moto (Get/PutDataLakeSettings pass through): :func:`settings_of`.
Nothing here imports the executors, the evaluator or the Athena engine.
"""
from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

from lakekit.local.persistence import store

__all__ = [
    "catalog_glue",
    "is_not_found",
    "FILTERS",
    "GRANTS",
    "IAM_ALLOWED",
    "IAM_DEFAULTS",
    "LOCK",
    "TAGS",
    "add_grant",
    "admins_of",
    "current_table_defaults",
    "filter_key",
    "filters_for_table",
    "upgrade_filter_keys",
    "grants_of",
    "has_iam_allowed",
    "scope",
    "set_implicit",
    "settings_of",
    "table_is_iam_allowed",
]

IAM_ALLOWED = "IAM_ALLOWED_PRINCIPALS"

GRANTS = store("lakeformation.grants")
IAM_DEFAULTS = store("lakeformation.iam_defaults")
FILTERS = store("lakeformation.data_cells_filters")
TAGS = store("lakeformation.lftags")
LOCK = threading.Lock()


def scope(catalog: str, region: str) -> str:
    return f"{catalog}|{region}"


# ----------------------------------------------------------------------------- settings
def settings_of(account_id: str, region: str, catalog: str | None = None) -> dict[str, Any]:
    """moto's DataLakeSettings of a catalog (in-process)."""
    from moto.lakeformation.models import lakeformation_backends

    backend = lakeformation_backends[account_id][region]
    return backend.settings[catalog or account_id]


def admins_of(settings: dict[str, Any]) -> set[str]:
    """The DataLakeAdmins principals of a DataLakeSettings document."""
    return {a.get("DataLakePrincipalIdentifier") for a in settings.get("DataLakeAdmins") or []}


# ----------------------------------------------------------------------------- grants
def grants_of(catalog: str, region: str) -> list[dict[str, Any]]:
    """Every explicit grant of one catalog (shared, do not mutate)."""
    return list(GRANTS.get(scope(catalog, region), {}).values())


# ----------------------------------------------------------------------------- IAM_ALLOWED_PRINCIPALS
def has_iam_allowed(defaults: list[dict[str, Any]] | None) -> bool:
    return any((d.get("Principal") or {}).get("DataLakePrincipalIdentifier") == IAM_ALLOWED
               for d in defaults or [])


def table_is_iam_allowed(catalog: str, region: str, database: str, table: str,
                         current_defaults: list[dict[str, Any]] | None = None) -> bool:
    """Whether the IAM_ALLOWED_PRINCIPALS grant a table got at creation is still in force.

    A table created before this store recorded it follows ``current_defaults`` (its
    database's CreateTableDefaultPermissions).
    """
    rec = IAM_DEFAULTS.get(scope(catalog, region), {}).get("table", {})
    key = f"{database.lower()}|{table.lower()}"
    if key in rec:
        return bool(rec[key])
    return has_iam_allowed(current_defaults)


def set_implicit(catalog: str, region: str, db: str, table: str, value: bool) -> None:
    rec = IAM_DEFAULTS.setdefault(scope(catalog, region), {}).setdefault("table", {})
    rec[f"{db.lower()}|{table.lower()}"] = value


def current_table_defaults(account_id: str, region: str, catalog: str, db: str) -> list[dict[str, Any]]:
    """The CreateTableDefaultPermissions of a database (recorded at CreateDatabase, else the settings')."""
    dbs = IAM_DEFAULTS.get(scope(catalog, region), {}).get("db_table_defaults", {})
    if db.lower() in dbs:
        return copy.deepcopy(dbs[db.lower()])
    return copy.deepcopy(settings_of(account_id, region, catalog).get("CreateTableDefaultPermissions") or [])


# ----------------------------------------------------------------------------- writing grants
def add_grant(catalog: str, region: str, principal: str, resource: dict[str, Any], perms: list[str],
              grantable: list[str], by: str) -> None:
    """Union ``perms``/``grantable`` into the (principal, canonical resource) entry."""
    entries = GRANTS.setdefault(scope(catalog, region), {})
    key = principal + "\x00" + json.dumps(resource, sort_keys=True)
    with LOCK:
        old = entries.get(key)
        entries[key] = {  # replaced wholesale: readers never see a half-updated entry
            "Principal": {"DataLakePrincipalIdentifier": principal},
            "Resource": resource,
            "Permissions": sorted(set(perms) | set(old["Permissions"] if old else [])),
            "PermissionsWithGrantOption": sorted(set(grantable) | set(old["PermissionsWithGrantOption"]
                                                                        if old else [])),
            "LastUpdated": time.time(),
            "LastUpdatedBy": by,
        }


# ----------------------------------------------------------------------------- data cells filters
LEGACY_FILTER_REGION = "us-east-1"
"""Region given to filters of snapshots written before filter keys carried one (the kit's default)."""


def filter_key(catalog: str, region: str, database: str, table: str, name: str) -> str:
    """The store key of a data cells filter: catalog and region first, so lookups are scoped."""
    upgrade_filter_keys()
    return "|".join((catalog, region, database.lower(), table.lower(), name))


def filters_for_table(catalog: str, region: str, database: str, table: str) -> list[dict[str, Any]]:
    """Every filter defined on one table of one region (copies)."""
    prefix = filter_key(catalog, region, database, table, "")
    return [copy.deepcopy(v) for k, v in FILTERS.items() if k.startswith(prefix)]


def upgrade_filter_keys() -> None:
    """Re-key filters a snapshot stored as ``catalog|db|table|name`` (no region)."""
    old = [k for k in FILTERS if k.count("|") == 3]
    with LOCK:
        for key in old:
            if key in FILTERS:
                catalog, rest = key.split("|", 1)
                FILTERS[f"{catalog}|{LEGACY_FILTER_REGION}|{rest}"] = FILTERS.pop(key)


def catalog_glue(req: Any) -> Any:
    """A Glue client for Lake Formation's own reads of the Data Catalog (does the resource
    exist, its columns, the tables under a path or carrying LF-tags). Signed as the service,
    not as the caller: on AWS a Lake Formation API needs only its ``lakeformation:*`` IAM action,
    so the caller's glue permissions must not change what Lake Formation answers."""
    from lakekit.config import LOCAL_ACCESS_KEY
    from lakekit.local._clients import endpoint_client

    return endpoint_client(req.endpoint_url, "glue", req.region, LOCAL_ACCESS_KEY)


def is_not_found(exc: Exception) -> bool:
    """True when a Glue ClientError says the database / table does not exist."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code") == "EntityNotFoundException"
