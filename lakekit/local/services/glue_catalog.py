"""The Glue Data Catalog's tables as Glue answers for them (moto 5.2.5 stores them).

moto keeps each table as a ``FakeTable`` with a dict of versions; this module answers the
table operations whose moto behaviour differs from Glue, reading and changing those objects
in place (so moto's pickled state, restored on every start, keeps what is done here):

- ``CreateTable`` (observer, moto creates): the first version is ``"0"`` as Glue numbers it,
  ``UpdateTime`` equals ``CreateTime``, ``CreatedBy`` is the caller's ARN (an assumed role's
  session ARN; a crawler's table ``arn:aws:sts::<acct>:assumed-role/<role>/AWS-Crawler``);
- ``UpdateTable``: ``VersionId`` is an optimistic check (``ConcurrentModificationException``
  "Update table failed due to concurrent modifications." when the table moved on); the
  new definition becomes version current+1; the previous one is kept as an archived version
  unless ``SkipArchive=True`` (then GetTableVersions still lists one version per kept
  definition, as awswrangler's ``catalog_versioning`` relies on);
- ``GetTable`` / ``GetTables`` / ``GetTableVersion(s)``: every ``Table`` carries ``CreateTime``,
  ``UpdateTime``, ``CreatedBy``, ``IsRegisteredWithLakeFormation`` (its location is
  registered with Lake Formation), ``Retention`` (0 unless set), ``CatalogId``,
  ``DatabaseName`` and ``VersionId``; ``Parameters`` are returned as stored, never filled in;
  GetTables lists by name (the AWS CLI reference's example is in name order, not creation
  order); GetTables and GetTableVersions page by ``MaxResults`` (1-100, default 100) / ``NextToken``;
- ``DeleteTableVersion`` / ``BatchDeleteTableVersion``: archived versions only (the current
  one is refused), ``Errors`` listed per version;
- ``SearchTables``: :mod:`lakekit.local.glue.search` semantics over every table of the
  account the caller may see in Lake Formation (DESCRIBE or any permission, an
  administrator, or IAM_ALLOWED_PRINCIPALS), columns it may not read left out of the match
  and of the answer; ``ResourceShareType=FOREIGN`` finds nothing (no other account shares
  tables with a local account).

Example::

    glue.update_table(DatabaseName="db", TableInput=ti, SkipArchive=True)
    glue.get_table_versions(DatabaseName="db", TableName="t")["TableVersions"]  # one version
"""
from __future__ import annotations

import copy
import datetime as _dt
import logging
import re
from collections.abc import Callable
from typing import Any

from lakekit.local.glue import search
from lakekit.local.registry import REGISTRY, AwsError, AwsRequest, observer, operation

__all__ = ["table_view", "created_by"]

log = logging.getLogger(__name__)

_SERVICE = "glue"
_PAGE_MAX = 100
_SEARCH_PAGE_MAX = 1000
_CONCURRENT = "Update table failed due to concurrent modifications."


# ----------------------------------------------------------------------------- moto access
def _backend(req: AwsRequest) -> Any:
    from moto.glue.models import glue_backends

    return glue_backends[req.account_id][req.region]


def _moto(fn: Callable[..., Any], *args: Any) -> Any:
    """Call moto; its Glue errors become the same AWS errors."""
    from moto.core.exceptions import JsonRESTError

    try:
        return fn(*args)
    except JsonRESTError as err:
        raise AwsError(err.error_type, err.message, int(getattr(err, "code", 400) or 400)) from None


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidInputException", message, 400)


def _required(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise _invalid(f"{name} is required.")


def _table(req: AwsRequest, db: str, name: str) -> Any:
    return _moto(_backend(req).get_table, db, name)


def _now() -> _dt.datetime:
    from moto.core.utils import utcnow

    return utcnow()


def _version_int(value: Any, what: str = "VersionId") -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise _invalid(f"{what} {value!r} is not a version number: table version ids are integers "
                       "as strings (\"0\", \"1\", ...), see GetTableVersions.") from None


def _times(table: Any) -> dict[str, _dt.datetime]:
    times = getattr(table, "lakekit_version_times", None)
    if times is None:
        times = table.lakekit_version_times = {}
    return times


# ----------------------------------------------------------------------------- who, where
def created_by(account: str, region: str, access_key_id: str, params: dict[str, Any] | None = None) -> str:
    """The ``CreatedBy`` Glue records for a table created with ``access_key_id``."""
    crawler = ((params or {}).get("Parameters") or {}).get("UPDATED_BY_CRAWLER")
    if crawler:
        from lakekit.local.lakeformation.catalog import crawler_role_arn

        role = crawler_role_arn(account, region, crawler)
        if role:
            return f"arn:aws:sts::{account}:assumed-role/{role.rsplit('/', 1)[-1]}/AWS-Crawler"
    from lakekit.local.iam.principals import resolve
    from lakekit.local.lakeformation.principals import bootstrap_principal

    p = resolve(access_key_id, account)
    if p is None or p.kind == "admin":
        return bootstrap_principal(account)
    return p.arn


def _registered(account: str, region: str, location: str | None) -> bool:
    if not location or not location.startswith(("s3://", "s3a://", "s3n://")):
        return False
    from lakekit.local.iam.athena import registered_role

    bucket, _, prefix = location.split("://", 1)[1].partition("/")
    return registered_role(account, region, bucket, prefix) is not None


def table_view(table: Any, account: str, region: str, version: str | None = None) -> dict[str, Any]:
    """One moto table (at ``version``, default current) as Glue's ``Table`` structure."""
    current = str(table._current_version)
    ver = current if version is None else str(version)
    out = _moto(table.as_dict, ver)
    times = _times(table)
    if ver == current:
        out["UpdateTime"] = table.updated_time or table.created_time
    else:
        out["UpdateTime"] = times.get(ver) or table.created_time
    out.setdefault("Retention", 0)
    who = getattr(table, "lakekit_created_by", None)
    if who:
        out["CreatedBy"] = who
    out["IsRegisteredWithLakeFormation"] = _registered(
        account, region, (out.get("StorageDescriptor") or {}).get("Location"))
    out["CatalogId"] = table.catalog_id
    out["DatabaseName"] = table.database_name
    out["VersionId"] = ver
    for key in ("CreateTime", "UpdateTime", "LastAccessTime", "LastAnalyzedTime"):
        if isinstance(out.get(key), _dt.datetime):
            out[key] = _epoch(out[key])
    return out


def _epoch(value: _dt.datetime) -> float:
    """Epoch seconds with milliseconds, as Glue serializes timestamps (moto's are naive UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    return round(aware.timestamp(), 3)


# ----------------------------------------------------------------------------- paging
def _page(items: list[Any], params: dict[str, Any], limit: int, default: int) -> tuple[list[Any], str | None]:
    size = params.get("MaxResults")
    if size is None:
        size = default
    try:
        size = int(size)
    except (TypeError, ValueError):
        raise _invalid(f"MaxResults {size!r} is not a number.") from None
    if not 1 <= size <= limit:
        bound = f"less than or equal to {limit}" if size > limit else "greater than or equal to 1"
        raise _invalid(f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                       f"constraint: Member must have value {bound}")
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            start = int(str(token))
        except ValueError:
            raise _invalid("Invalid NextToken: pass the NextToken of the previous response "
                           "unchanged, or omit it to start over.") from None
        if start < 0 or start > len(items):
            raise _invalid("Invalid NextToken: pass the NextToken of the previous response unchanged.")
    page = items[start:start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return page, nxt


# ----------------------------------------------------------------------------- create
@observer(_SERVICE, "CreateTable")
def _on_create_table(req: AwsRequest, status: int, headers: dict) -> None:
    """Glue's numbering and bookkeeping on the table moto just created."""
    db = req.params.get("DatabaseName") or ""
    ti = req.params.get("TableInput") or {}
    try:
        table = _backend(req).get_table(db, ti.get("Name") or "")
    except Exception:
        return
    if list(table.versions) == ["1"] and table._current_version == 1:
        table.versions = {"0": table.versions["1"]}
        table._current_version = 0
    table.updated_time = table.updated_time or table.created_time
    _times(table)[str(table._current_version)] = table.updated_time
    table.lakekit_created_by = created_by(req.account_id, req.region, req.access_key_id, ti)


# ----------------------------------------------------------------------------- read
@operation(_SERVICE, "GetTable")
def get_table(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "DatabaseName", "Name")
    table = _table(req, p["DatabaseName"], p["Name"])
    return {"Table": table_view(table, req.account_id, req.region)}


@operation(_SERVICE, "GetTables")
def get_tables(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "DatabaseName")
    tables = _moto(_backend(req).get_tables, p["DatabaseName"], None)
    if p.get("Expression"):
        pattern = _name_pattern(p["Expression"])
        tables = [t for t in tables if pattern.fullmatch(t.name)]
    ordered = sorted(tables, key=lambda t: t.name)  # Glue lists by name, not by creation
    page, nxt = _page(ordered, p, _PAGE_MAX, _PAGE_MAX)
    out: dict[str, Any] = {"TableList": [table_view(t, req.account_id, req.region) for t in page]}
    if nxt:
        out["NextToken"] = nxt
    return out


def _name_pattern(expression: str) -> re.Pattern[str]:
    """GetTables' Expression: a regular expression over the WHOLE name, ``*`` a wildcard
    (``*_sales`` ends with _sales; moto matches prefixes only)."""
    regex = re.sub(r"(?<!\.)\*", ".*", expression)
    try:
        return re.compile(regex)
    except re.error as err:
        raise _invalid(f"Expression {expression!r} is not a valid pattern ({err}); use e.g. 'sales_*' "
                       "or 'orders|customers'.") from None


@operation(_SERVICE, "GetTableVersion")
def get_table_version(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "DatabaseName", "TableName")
    table = _table(req, p["DatabaseName"], p["TableName"])
    ver = p.get("VersionId")
    ver = str(table._current_version) if ver in (None, "") else str(_version_int(ver))
    if ver not in table.versions:
        raise AwsError("EntityNotFoundException", f"Version {ver} of table {p['TableName']} not found.", 400)
    return {"TableVersion": {"Table": table_view(table, req.account_id, req.region, ver), "VersionId": ver}}


@operation(_SERVICE, "GetTableVersions")
def get_table_versions(req: AwsRequest) -> dict[str, Any]:
    """Newest first; the current version included."""
    p = req.params
    _required(p, "DatabaseName", "TableName")
    table = _table(req, p["DatabaseName"], p["TableName"])
    versions = sorted(table.versions, key=int, reverse=True)
    page, nxt = _page(versions, p, _PAGE_MAX, _PAGE_MAX)
    out: dict[str, Any] = {"TableVersions": [
        {"Table": table_view(table, req.account_id, req.region, v), "VersionId": v} for v in page]}
    if nxt:
        out["NextToken"] = nxt
    return out


# ----------------------------------------------------------------------------- update
@operation(_SERVICE, "UpdateTable")
def update_table(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "DatabaseName", "TableInput")
    ti = p["TableInput"]
    name = ti.get("Name") or p.get("Name")
    if not name:
        raise _invalid("TableInput.Name is required: it names the table to update.")
    if p.get("Name") and ti.get("Name") and p["Name"].lower() != ti["Name"].lower():
        raise _invalid(f"Name {p['Name']!r} and TableInput.Name {ti['Name']!r} differ; UpdateTable "
                       "cannot rename a table (create the new one, then delete the old one).")
    table = _table(req, p["DatabaseName"], name)
    current = table._current_version
    expected = p.get("VersionId")
    if expected not in (None, "") and _version_int(expected) != current:
        log.info("UpdateTable %s.%s: VersionId %s, current %s: refused", p["DatabaseName"], name,
                 expected, current)
        raise AwsError("ConcurrentModificationException", _CONCURRENT, 400)
    new = copy.deepcopy(ti)
    nxt = str(current + 1)
    now = _now()
    if p.get("SkipArchive") is True:
        table.versions.pop(str(current), None)
        _times(table).pop(str(current), None)
    table.versions[nxt] = new
    table._current_version = current + 1
    table.updated_time = now
    _times(table)[nxt] = now
    for obs in REGISTRY.observers_for(_SERVICE, "UpdateTable"):
        obs(req, 200, {})
    return {}


# ----------------------------------------------------------------------------- delete versions
def _delete_version(table: Any, version: Any, table_name: str) -> None:
    ver = str(_version_int(version))
    if ver not in table.versions:
        raise AwsError("EntityNotFoundException", f"Version {ver} of table {table_name} not found.", 400)
    if ver == str(table._current_version):
        raise _invalid(f"Version {ver} is the current version of table {table_name} and cannot be "
                       "deleted; delete archived versions only (or DeleteTable to drop the table).")
    table.versions.pop(ver)
    _times(table).pop(ver, None)


@operation(_SERVICE, "DeleteTableVersion")
def delete_table_version(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "DatabaseName", "TableName", "VersionId")
    table = _table(req, p["DatabaseName"], p["TableName"])
    _delete_version(table, p["VersionId"], p["TableName"])
    return {}


@operation(_SERVICE, "BatchDeleteTableVersion")
def batch_delete_table_version(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    _required(p, "DatabaseName", "TableName")
    ids = p.get("VersionIds")
    if not isinstance(ids, list):
        raise _invalid("VersionIds is required: a list of up to 100 version ids.")
    if len(ids) > 100:
        raise _invalid("1 validation error detected: Value at 'versionIds' failed to satisfy constraint: "
                       "Member must have length less than or equal to 100")
    table = _table(req, p["DatabaseName"], p["TableName"])
    errors = []
    for ver in ids:
        try:
            _delete_version(table, ver, p["TableName"])
        except AwsError as err:
            errors.append({"TableName": p["TableName"], "VersionId": str(ver),
                           "ErrorDetail": {"ErrorCode": err.code, "ErrorMessage": err.message}})
    return {"Errors": errors}


# ----------------------------------------------------------------------------- search
def _visible_view(ev: Any, table: Any, account: str, region: str) -> dict[str, Any] | None:
    """The table as the caller may see it (None: no Lake Formation permission at all)."""
    from lakekit.local.lakeformation.evaluator import AccessDeniedError

    db, name = table.database_name, table.name
    if not ev.can_see_table(db, name):
        return None
    view = table_view(table, account, region)
    try:
        access = ev.table_access(db, name)
    except AccessDeniedError:  # DESCRIBE without SELECT: the metadata, all columns
        return view
    if access is None or access.columns is None:
        return view
    keep = {c.lower() for c in access.columns}
    sd = view.get("StorageDescriptor") or {}
    if "Columns" in sd:
        sd["Columns"] = [c for c in sd["Columns"] if c.get("Name", "").lower() in keep]
    if "PartitionKeys" in view:
        view["PartitionKeys"] = [c for c in view["PartitionKeys"] if c.get("Name", "").lower() in keep]
    return view


@operation(_SERVICE, "SearchTables")
def search_tables(req: AwsRequest) -> dict[str, Any]:
    from lakekit.local.lakeformation.evaluator import evaluator

    p = req.params
    share = p.get("ResourceShareType")
    if share not in (None, "", "FOREIGN", "ALL"):
        raise _invalid(f"ResourceShareType {share!r} is not FOREIGN or ALL.")
    filters = p.get("Filters") or []
    if not isinstance(filters, list):
        raise _invalid("Filters must be a list of {'Key', 'Value', 'Comparator'} predicates.")
    text = p.get("SearchText")
    try:
        for f in filters:  # refuse a bad predicate even when no table is there to test it
            search.matches_filter({}, f)
    except search.SearchInputError as err:
        raise _invalid(str(err)) from None
    found: list[dict[str, Any]] = []
    if share != "FOREIGN":
        ev = evaluator(req.account_id, req.access_key_id, req.region)
        backend = _backend(req)
        for database in list(backend.databases.values()):
            for table in list(database.tables.values()):
                view = _visible_view(ev, table, req.account_id, req.region)
                if view is None:
                    continue
                try:
                    if all(search.matches_filter(view, f) for f in filters) and search.matches_text(view, text):
                        found.append(view)
                except search.SearchInputError as err:
                    raise _invalid(str(err)) from None
    try:
        ordered = search.sort_tables(found, p.get("SortCriteria"))
    except search.SearchInputError as err:
        raise _invalid(str(err)) from None
    page, nxt = _page(ordered, p, _SEARCH_PAGE_MAX, _SEARCH_PAGE_MAX)
    out: dict[str, Any] = {"TableList": page}
    if nxt:
        out["NextToken"] = nxt
    return out
