"""Athena's catalog-browsing API over the Glue Data Catalog, as BI drivers call it.

JDBC/ODBC drivers, PyAthena's SQLAlchemy dialect and the console's table tree do not read
Glue directly: they ask Athena (``ListDatabases``, ``GetDatabase``, ``ListTableMetadata``,
``GetTableMetadata``). moto 5.2.5 keeps its own Athena "databases" unrelated to Glue and has
no table metadata at all, so this module answers the four for the ``AwsDataCatalog`` catalog
(any case, as Athena resolves it) from moto's Glue backend:

- IAM, like AWS: the gateway has authorized ``athena:<Operation>`` on
  ``arn:aws:athena:<region>:<account>:datacatalog/<CatalogName>``; Athena then calls Glue AS
  THE CALLER, so the caller also needs ``glue:GetDatabases`` (ListDatabases),
  ``glue:GetDatabase`` (GetDatabase), ``glue:GetTables`` (ListTableMetadata) or
  ``glue:GetTable`` (GetTableMetadata) on the catalog / database / table. A Glue denial or a
  missing database/table comes back as ``MetadataException`` (HTTP 400) whose message ends
  with Glue's envelope ``(Service: AmazonDataCatalog; Status Code: 400; Error Code:
  AccessDeniedException | EntityNotFoundException; Request ID: ...; Proxy: null)`` -
  the shape SDKs and drivers parse;
- Lake Formation, like Glue's metadata filtering: databases and tables the caller holds no
  permission on are left out of the listings (a data lake administrator sees everything),
  GetTableMetadata of such a table is ``Insufficient Lake Formation permission(s)``, and the
  columns of a table are those the caller may SELECT (a column-restricted analyst never
  sees the others' names);
- the answer's shape is Athena's: ``TableMetadata`` with ``Name``, ``CreateTime``,
  ``LastAccessTime``, ``TableType``, ``Columns`` / ``PartitionKeys`` (``Name``, ``Type``,
  ``Comment``) and ``Parameters``: the table's parameters with the storage descriptor
  flattened in (``location``, ``inputformat``, ``outputformat``,
  ``serde.serialization.lib``, ``serde.param.<key>``); tables in name order, pages of
  ``MaxResults`` (1-50, default 50) with an opaque ``NextToken``.

Another catalog name is ``InvalidRequestException`` for the table operations (locally only
``AwsDataCatalog`` holds tables); ListDatabases / GetDatabase of a catalog made with
``CreateDataCatalog`` answer from moto's Athena backend as before.

Example::

    athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="lake")["TableMetadataList"]
    athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="lake", TableName="flights")
"""
from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from types import SimpleNamespace
from typing import Any

from lakekit.local.iam import strict as iam_strict
from lakekit.local.registry import AwsError, AwsRequest, operation

__all__ = ["AWS_DATA_CATALOG", "MAX_RESULTS", "table_metadata", "metadata_error"]

log = logging.getLogger(__name__)

AWS_DATA_CATALOG = "AwsDataCatalog"
MAX_RESULTS = 50
_GLUE_ACTION = {"ListDatabases": "GetDatabases", "GetDatabase": "GetDatabase",
                "ListTableMetadata": "GetTables", "GetTableMetadata": "GetTable"}


# ----------------------------------------------------------------------------- errors
def metadata_error(message: str, glue_code: str) -> AwsError:
    """Athena's ``MetadataException`` carrying Glue's error in its service envelope."""
    envelope = (f"(Service: AmazonDataCatalog; Status Code: 400; Error Code: {glue_code}; "
                f"Request ID: {uuid.uuid4()}; Proxy: null)")
    return AwsError("MetadataException", f"{message.rstrip()} {envelope}", 400)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, 400)


def _required(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise _invalid(f"{name} is required.")


# ----------------------------------------------------------------------------- catalog, Glue
def _is_glue_catalog(name: str) -> bool:
    return name.lower() == AWS_DATA_CATALOG.lower()


def _glue(req: AwsRequest) -> Any:
    from moto.glue.models import glue_backends

    return glue_backends[req.account_id][req.region]


def _authorize_glue(req: AwsRequest, params: dict[str, Any]) -> None:
    """Athena's own call to Glue, signed by the caller: the caller's IAM decides."""
    if not iam_strict.enabled():
        return
    from lakekit.local.iam import enforce, principals
    from lakekit.local.iam.actions import checks_for

    p = principals.resolve(req.access_key_id, req.account_id)
    if p is None:  # the gateway refused unknown keys already
        return
    glue_req = SimpleNamespace(service="glue", operation=_GLUE_ACTION[req.operation], params=params,
                               region=req.region, account_id=req.account_id)
    try:
        for check in checks_for(glue_req):
            enforce.authorize_check(p, check, req.region)
    except enforce.Denied as d:
        log.info("athena.%s: Glue refused %s for %s: %s", req.operation, glue_req.operation, p.arn,
                 d.message)
        raise metadata_error(d.message, "AccessDeniedException") from None


def _evaluator(req: AwsRequest) -> Any:
    from lakekit.local.lakeformation.evaluator import evaluator

    return evaluator(req.account_id, req.access_key_id, req.region)


def _lf_denied(what: str) -> AwsError:
    return metadata_error(f"Insufficient Lake Formation permission(s) on {what}",
                          "AccessDeniedException")


def _database(req: AwsRequest, name: str) -> Any:
    backend = _glue(req)
    db = backend.databases.get(name.lower()) or backend.databases.get(name)
    if db is None:
        raise metadata_error(f"Database {name} not found.", "EntityNotFoundException")
    return db


def _table(db: Any, name: str) -> Any:
    table = db.tables.get(name.lower()) or db.tables.get(name)
    if table is None:
        raise metadata_error("Entity Not Found", "EntityNotFoundException")
    return table


# ----------------------------------------------------------------------------- shapes
def _column(c: dict[str, Any]) -> dict[str, Any]:
    return {k: c[k] for k in ("Name", "Type", "Comment") if c.get(k) is not None}


def table_metadata(glue_table: dict[str, Any], columns: set[str] | None = None) -> dict[str, Any]:
    """Athena's ``TableMetadata`` for a Glue ``Table`` structure (``columns``: the lower-case
    names the caller may see; None = all)."""
    sd = glue_table.get("StorageDescriptor") or {}
    serde = sd.get("SerdeInfo") or {}
    params = {k: str(v) for k, v in (glue_table.get("Parameters") or {}).items()}
    for key, value in (("location", sd.get("Location")), ("inputformat", sd.get("InputFormat")),
                       ("outputformat", sd.get("OutputFormat"))):
        if value is not None:
            params[key] = value
    if serde.get("SerializationLibrary") is not None:
        params["serde.serialization.lib"] = serde["SerializationLibrary"]
    for key, value in (serde.get("Parameters") or {}).items():
        params[f"serde.param.{key}"] = str(value)

    def keep(c: dict[str, Any]) -> bool:
        return columns is None or (c.get("Name") or "").lower() in columns

    out: dict[str, Any] = {"Name": glue_table["Name"]}
    for key in ("CreateTime", "LastAccessTime", "TableType"):
        if glue_table.get(key) is not None:
            out[key] = glue_table[key]
    out["Columns"] = [_column(c) for c in sd.get("Columns") or [] if keep(c)]
    out["PartitionKeys"] = [_column(c) for c in glue_table.get("PartitionKeys") or [] if keep(c)]
    out["Parameters"] = params
    return out


def _visible(req: AwsRequest, ev: Any, table: Any) -> dict[str, Any] | None:
    """The table's metadata as the caller may see it (None: no Lake Formation permission)."""
    from lakekit.local.lakeformation.evaluator import AccessDeniedError
    from lakekit.local.services.glue_catalog import table_view

    db, name = table.database_name, table.name
    if not ev.can_see_table(db, name):
        return None
    view = table_view(table, req.account_id, req.region)
    try:
        access = ev.table_access(db, name)
    except AccessDeniedError:  # DESCRIBE without SELECT: the metadata with every column
        access = None
    cols = None if access is None or access.columns is None else {c.lower() for c in access.columns}
    return table_metadata(view, cols)


# ----------------------------------------------------------------------------- paging
def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    size = params.get("MaxResults")
    size = MAX_RESULTS if size is None else size
    if not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
        bound = (f"less than or equal to {MAX_RESULTS}" if isinstance(size, int) and size > MAX_RESULTS
                 else "greater than or equal to 1")
        raise _invalid(f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                       f"constraint: Member must have value {bound}")
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(str(token).encode()))["start"])
        except (ValueError, KeyError, TypeError):
            raise _invalid("Invalid NextToken: pass the NextToken of the previous response unchanged, "
                           "or omit it to start over.") from None
        if not 0 <= start <= len(items):
            raise _invalid("Invalid NextToken: pass the NextToken of the previous response unchanged.")
    end = start + size
    nxt = base64.urlsafe_b64encode(json.dumps({"start": end}).encode()).decode() if end < len(items) else None
    return items[start:end], nxt


def _expression(expression: str) -> re.Pattern[str]:
    """ListTableMetadata's Expression goes to Glue GetTables: a regex over the whole name,
    ``*`` a wildcard (the same reading as the endpoint's GetTables)."""
    from lakekit.local.services.glue_catalog import _name_pattern

    try:
        return _name_pattern(expression)
    except AwsError as err:
        raise _invalid(err.message) from None


# ----------------------------------------------------------------------------- executors
@operation("athena", "ListDatabases")
def list_databases(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "CatalogName")
    if not _is_glue_catalog(p["CatalogName"]):
        return _moto_databases(req)
    _authorize_glue(req, {})
    ev = _evaluator(req)
    names = sorted(_glue(req).databases)
    visible = [n for n in names if ev.can_see_database(n)]
    page, nxt = _page(visible, p)
    dbs = [_database_shape(_glue(req).databases[n]) for n in page]
    return {"DatabaseList": dbs, **({"NextToken": nxt} if nxt else {})}


@operation("athena", "GetDatabase")
def get_database(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "CatalogName", "DatabaseName")
    if not _is_glue_catalog(p["CatalogName"]):
        return _moto_database(req)
    _authorize_glue(req, {"Name": p["DatabaseName"]})
    db = _database(req, p["DatabaseName"])
    if not _evaluator(req).can_see_database(db.name):
        raise _lf_denied(db.name)
    return {"Database": _database_shape(db)}


@operation("athena", "ListTableMetadata")
def list_table_metadata(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "CatalogName", "DatabaseName")
    _glue_catalog_only(p["CatalogName"])
    _authorize_glue(req, {"DatabaseName": p["DatabaseName"]})
    db = _database(req, p["DatabaseName"])
    ev = _evaluator(req)
    if not ev.can_see_database(db.name):
        raise _lf_denied(db.name)
    tables = sorted(db.tables.values(), key=lambda t: t.name)
    if p.get("Expression"):
        pattern = _expression(p["Expression"])
        tables = [t for t in tables if pattern.fullmatch(t.name)]
    shown = [m for m in (_visible(req, ev, t) for t in tables) if m is not None]
    page, nxt = _page(shown, p)
    return {"TableMetadataList": page, **({"NextToken": nxt} if nxt else {})}


@operation("athena", "GetTableMetadata")
def get_table_metadata(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "CatalogName", "DatabaseName", "TableName")
    _glue_catalog_only(p["CatalogName"])
    _authorize_glue(req, {"DatabaseName": p["DatabaseName"], "Name": p["TableName"]})
    table = _table(_database(req, p["DatabaseName"]), p["TableName"])
    meta = _visible(req, _evaluator(req), table)
    if meta is None:
        raise _lf_denied(table.name)
    return {"TableMetadata": meta}


# ----------------------------------------------------------------------------- other catalogs
def _glue_catalog_only(name: str) -> None:
    if not _is_glue_catalog(name):
        raise _invalid(f"Catalog {name} is not a Glue Data Catalog the local endpoint can read: "
                       f"locally only {AWS_DATA_CATALOG} holds tables (federated catalogs run "
                       "Lambda connectors on AWS).")


def _database_shape(db: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": db.name}
    if db.input.get("Description"):
        out["Description"] = db.input["Description"]
    out["Parameters"] = dict(db.input.get("Parameters") or {})
    return out


def _athena(req: AwsRequest) -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[req.account_id][req.region]


def _moto_databases(req: AwsRequest) -> dict[str, Any]:
    name = req.params["CatalogName"]
    if name not in _athena(req).data_catalogs:
        raise _invalid(f"Catalog {name} not found. Create it with CreateDataCatalog, or use "
                       f"{AWS_DATA_CATALOG} (the Glue Data Catalog).")
    dbs = [{"Name": d.name, "Description": d.description, "Parameters": d.parameters}
           for d in _athena(req).databases.values() if d.catalog_name == name]
    page, nxt = _page(sorted(dbs, key=lambda d: d["Name"]), req.params)
    return {"DatabaseList": page, **({"NextToken": nxt} if nxt else {})}


def _moto_database(req: AwsRequest) -> dict[str, Any]:
    name, db = req.params["CatalogName"], req.params["DatabaseName"]
    for d in _athena(req).databases.values():
        if d.catalog_name == name and d.name == db:
            return {"Database": {"Name": d.name, "Description": d.description, "Parameters": d.parameters}}
    raise metadata_error(f"Database {db} not found.", "EntityNotFoundException")
