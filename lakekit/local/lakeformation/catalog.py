"""What Lake Formation records when the Glue Data Catalog changes (observers of Glue calls).

- CreateDatabase: the caller is the database's *creator*: it gets ALL with grant option on
  the database ("Implicit Lake Formation permissions": all database permissions, and it may
  grant them), listed by ListPermissions like any grant; the database keeps the CreateTableDefaultPermissions it was created with
  (its ``DatabaseInput`` field, else the DataLakeSettings' one), as AWS copies the setting
  into each new database ("Changing the default settings for your data lake").
- CreateTable: the caller is the table's creator: ALL with grant option on that table only
  (a database creator has nothing implicit on tables others create in its database) — a
  table a crawler writes (``Parameters.UPDATED_BY_CRAWLER``) is created by the crawler's role,
  as on AWS where the crawler runs as its role; a CTAS by the query's caller. When the
  database's CreateTableDefaultPermissions hold IAM_ALLOWED_PRINCIPALS the table gets that
  grant (IAM alone governs it until it is revoked).
- DeleteTable / BatchDeleteTable / DeleteDatabase: grants, defaults, creators and LF-tag
  assignments of the dropped resources are forgotten (AWS drops them with the resource).
"""
from __future__ import annotations

import copy
import logging

from lakekit.local.lakeformation.principals import principal_of_key
from lakekit.local.lakeformation.resources import table_of
from lakekit.local.lakeformation.state import (
    GRANTS,
    IAM_DEFAULTS,
    LOCK,
    add_grant,
    current_table_defaults,
    has_iam_allowed,
    scope,
    set_implicit,
    settings_of,
)
from lakekit.local.lakeformation.tags import drop_resource_tags
from lakekit.local.registry import AwsRequest, observer

__all__ = ["crawler_role_arn"]

log = logging.getLogger(__name__)


def crawler_role_arn(account_id: str, region: str, crawler: str) -> str | None:
    """The IAM role ARN a Glue crawler runs as (its ``Role`` may be a name or an ARN)."""
    from moto.glue.models import glue_backends

    try:
        role = glue_backends[account_id][region].get_crawler(crawler).role
    except Exception:  # crawler deleted meanwhile: fall back to the caller
        return None
    if not role:
        return None
    return role if role.startswith("arn:") else f"arn:aws:iam::{account_id}:role/{role}"


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
    rec = IAM_DEFAULTS.setdefault(scope(catalog, req.region), {})
    rec.setdefault("db_table_defaults", {})[name] = copy.deepcopy(defaults)
    rec.setdefault("db_revoked", {}).pop(name, None)
    creator = principal_of_key(req.account_id, req.access_key_id)
    add_grant(catalog, req.region, creator, {"Database": {"CatalogId": catalog, "Name": name}},
              ["ALL"], ["ALL"], creator)


@observer("glue", "CreateTable")
def _on_create_table(req: AwsRequest, status: int, headers: dict) -> None:
    db = (req.params.get("DatabaseName") or "").lower()
    table_input = req.params.get("TableInput") or {}
    name = (table_input.get("Name") or "").lower()
    if not db or not name:
        return
    catalog = req.params.get("CatalogId") or req.account_id
    defaults = current_table_defaults(req.account_id, req.region, catalog, db)
    set_implicit(catalog, req.region, db, name, has_iam_allowed(defaults))
    crawler = (table_input.get("Parameters") or {}).get("UPDATED_BY_CRAWLER")
    creator = crawler_role_arn(req.account_id, req.region, crawler) if crawler else None
    creator = creator or principal_of_key(req.account_id, req.access_key_id)
    add_grant(catalog, req.region, creator, {"Table": {"CatalogId": catalog, "DatabaseName": db, "Name": name}},
              ["ALL"], ["ALL"], creator)


def _drop_table_state(catalog: str, region: str, db: str, table: str | None) -> None:
    entries = GRANTS.get(scope(catalog, region), {})
    with LOCK:
        for key, e in list(entries.items()):
            got = table_of(e["Resource"])
            if got and got[0] == db and (table is None or got[1] == table):
                entries.pop(key, None)
            elif table is None and e["Resource"].get("Database", {}).get("Name") == db:
                entries.pop(key, None)
    rec = IAM_DEFAULTS.get(scope(catalog, region), {})
    for k in [k for k in rec.get("table", {}) if k.split("|")[0] == db and
              (table is None or k.split("|")[1] == table)]:
        rec["table"].pop(k, None)
    if table is None:
        rec.get("db_table_defaults", {}).pop(db, None)
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
