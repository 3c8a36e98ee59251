"""Lake Formation permission evaluator: what a caller may read through Athena.

Inside the endpoint process (the Athena executor) the evaluator reads the grant, filter and
LF-tag stores and moto's backends directly (no HTTP); from any other process pass
``endpoint_url`` and it reads the same state through the public API (ListPermissions,
ListDataCellsFilter, GetResourceLFTags, GetDataLakeSettings, STS GetCallerIdentity).

Semantics (AWS Lake Formation):
- the caller is the principal of its access key: an STS assumed-role key maps to its role
  ARN, an IAM user key to the user ARN, anything else (the default ``test`` credentials)
  to the account's admin principal ``arn:aws:iam::<account>:root``, a data lake admin;
- data lake admins (DataLakeSettings.DataLakeAdmins + the default admin) see everything;
- a table still covered by IAM_ALLOWED_PRINCIPALS (the default while the settings keep it in
  CreateTableDefaultPermissions, or an explicit grant on the table / TableWildcard) is not
  restricted by Lake Formation;
- otherwise SELECT (or ALL) is needed through Table (name or TableWildcard), TableWithColumns
  (ColumnNames, or ColumnWildcard minus ExcludedColumnNames), DataCellsFilter, or an
  LFTagPolicy (ResourceType TABLE) matching the columns' effective LF-tags;
- several grants give the union of their cells. Approximation: the evaluator returns one
  column set and one row predicate, the union of the columns and the OR of the row filters
  (a grant with all rows = no row filter). This is exact when the filtered grants share one
  column set; when they differ, LF would show a column only on the rows of the filters that
  include it, while here it shows on every visible row.

Example (Athena executor, in the endpoint process)::

    hook = access_hook(req.account_id, req.access_key_id, req.region)
    engine.execute(sql, database, access=hook)   # raises PERMISSION_DENIED / hides columns
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lakekit.local.athena.engine import AccessDeniedError, TableAccess

__all__ = [
    "Evaluator",
    "TableAccess",
    "AccessDeniedError",
    "access_hook",
    "default_admin",
    "evaluator",
    "principal_for",
    "visible_columns",
]

IAM_ALLOWED = "IAM_ALLOWED_PRINCIPALS"
_READ = {"SELECT", "ALL"}


def default_admin(account_id: str) -> str:
    """The principal of the default credentials: ``arn:aws:iam::<account>:root`` (a data lake admin)."""
    return f"arn:aws:iam::{account_id}:root"


def principal_for(account_id: str, access_key_id: str, *, endpoint_url: str | None = None,
                  region: str = "us-east-1") -> str:
    """The LF principal of an access key (role ARN for an assumed role, user ARN, or the admin).

    >>> principal_for("123456789012", "test")
    'arn:aws:iam::123456789012:root'
    """
    if endpoint_url:
        return _RemoteState(account_id, region, endpoint_url).principal(access_key_id)
    return _LocalState(account_id, region).principal(access_key_id)


# ----------------------------------------------------------------------------- state sources
class _LocalState:
    """Reads the endpoint's own stores and moto backends (inside the endpoint process)."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id, self.region = account_id, region

    def principal(self, access_key_id: str) -> str:
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        for _, by_part in list(sts_backends.items()):
            for backend in list(by_part.values()):
                role = backend.get_assumed_role_from_access_key(access_key_id)
                if role is not None:
                    return role.role_arn
        for _, by_part in list(iam_backends.items()):
            for backend in list(by_part.values()):
                user = backend.get_user_from_access_key_id(access_key_id)
                if user is not None:
                    return user.arn
        return default_admin(self.account_id)

    def settings(self) -> dict[str, Any]:
        from lakekit.local.services.lakeformation_grants import settings_of

        return settings_of(self.account_id, self.region)

    def grants(self) -> list[dict[str, Any]]:
        from lakekit.local.services.lakeformation_grants import grants_of

        return grants_of(self.account_id, self.region)

    def iam_allowed(self, db: str, table: str) -> bool:
        from lakekit.local.services.lakeformation_grants import table_is_iam_allowed

        return table_is_iam_allowed(self.account_id, self.region, db, table,
                                    self.settings().get("CreateTableDefaultPermissions") or [])

    def columns(self, db: str, table: str) -> list[str] | None:
        from moto.glue.models import glue_backends

        try:
            t = glue_backends[self.account_id][self.region].get_table(db, table)
        except Exception:
            return None
        return _columns_of(t.as_dict())

    def tables(self, db: str) -> list[str]:
        from moto.glue.models import glue_backends

        try:
            return [t.name.lower() for t in glue_backends[self.account_id][self.region].get_tables(db, None)]
        except Exception:
            return []

    def filters(self, db: str, table: str) -> list[dict[str, Any]]:
        from lakekit.local.services.lakeformation import filters_for_table

        return filters_for_table(self.account_id, db, table)

    def column_tags(self, db: str, table: str, columns: list[str]) -> dict[str, dict[str, str]]:
        from lakekit.local.services.lakeformation_tags import effective_tags

        return effective_tags(self.account_id, self.region, db, table, columns)[2]


class _RemoteState:
    """Reads the same state through the endpoint's public API (tests, notebooks, benchmarks)."""

    def __init__(self, account_id: str, region: str, endpoint_url: str) -> None:
        self.account_id, self.region, self.url = account_id, region, endpoint_url

    def _client(self, service: str, key: str = "test") -> Any:
        from lakekit.local._clients import endpoint_client

        return endpoint_client(self.url, service, self.region, key)

    def principal(self, access_key_id: str) -> str:
        arn = self._client("sts", access_key_id).get_caller_identity()["Arn"]
        if ":assumed-role/" in arn:
            name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
            try:
                return self._client("iam").get_role(RoleName=name)["Role"]["Arn"]
            except Exception:
                return f"arn:aws:iam::{arn.split(':')[4]}:role/{name}"
        if arn.endswith(":user/moto"):  # moto's answer for keys it did not issue
            return default_admin(self.account_id)
        return arn

    def settings(self) -> dict[str, Any]:
        return self._client("lakeformation").get_data_lake_settings()["DataLakeSettings"]

    def grants(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kw: dict[str, Any] = {}
        while True:  # ListPermissions has no boto3 paginator
            page = self._client("lakeformation").list_permissions(**kw)
            out += page["PrincipalResourcePermissions"]
            if not page.get("NextToken"):
                return out
            kw["NextToken"] = page["NextToken"]

    def iam_allowed(self, db: str, table: str) -> bool:
        got = self._client("lakeformation").list_permissions(
            Principal={"DataLakePrincipalIdentifier": IAM_ALLOWED},
            Resource={"Table": {"DatabaseName": db, "Name": table}}, IncludeRelated="TRUE")
        return any("Table" in g["Resource"] and _READ & set(g["Permissions"])
                   for g in got["PrincipalResourcePermissions"])

    def columns(self, db: str, table: str) -> list[str] | None:
        try:
            return _columns_of(self._client("glue").get_table(DatabaseName=db, Name=table)["Table"])
        except Exception:
            return None

    def tables(self, db: str) -> list[str]:
        out = []
        for page in self._client("glue").get_paginator("get_tables").paginate(DatabaseName=db):
            out += [t["Name"].lower() for t in page["TableList"]]
        return out

    def filters(self, db: str, table: str) -> list[dict[str, Any]]:
        return self._client("lakeformation").list_data_cells_filter(
            Table={"CatalogId": self.account_id, "DatabaseName": db, "Name": table})["DataCellsFilters"]

    def column_tags(self, db: str, table: str, columns: list[str]) -> dict[str, dict[str, str]]:
        got = self._client("lakeformation").get_resource_lf_tags(
            Resource={"Table": {"DatabaseName": db, "Name": table}})
        by_col = {c["Name"].lower(): {p["TagKey"]: p["TagValues"][0] for p in c["LFTags"]}
                  for c in got.get("LFTagsOnColumns", [])}
        table_tags = {p["TagKey"]: p["TagValues"][0] for p in got.get("LFTagsOnTable", [])}
        return {c: by_col.get(c, table_tags) for c in columns}


def _columns_of(table: dict[str, Any]) -> list[str]:
    cols = (table.get("StorageDescriptor") or {}).get("Columns", []) + (table.get("PartitionKeys") or [])
    return [c["Name"].lower() for c in cols]


# ----------------------------------------------------------------------------- evaluation
@dataclass
class _Cell:
    columns: set[str]
    row_filter: str | None  # None = all rows


@dataclass
class Evaluator:
    """LF decisions for one caller, reading state once per instance (create one per query).

    >>> ev = evaluator("123456789012", "ASIA...", endpoint_url="http://127.0.0.1:4810")
    >>> ev.table_access("lakedb", "flights")   # TableAccess(columns={...}, row_filter="origin = 'JFK'")
    """

    account_id: str
    access_key_id: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    _state: Any = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self._state is None:
            self._state = (_RemoteState(self.account_id, self.region, self.endpoint_url)
                           if self.endpoint_url else _LocalState(self.account_id, self.region))

    def _memo(self, key: str, fn: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def principal(self) -> str:
        return self._memo("principal", lambda: self._state.principal(self.access_key_id))

    def is_admin(self) -> bool:
        """Default admin or listed in DataLakeSettings.DataLakeAdmins."""
        def compute() -> bool:
            if self.principal == default_admin(self.account_id):
                return True
            admins = self._state.settings().get("DataLakeAdmins") or []
            return self.principal in {a.get("DataLakePrincipalIdentifier") for a in admins}
        return self._memo("admin", compute)

    def _my_grants(self) -> list[dict[str, Any]]:
        def compute() -> list[dict[str, Any]]:
            return [g for g in self._state.grants()
                    if g["Principal"]["DataLakePrincipalIdentifier"] in (self.principal, IAM_ALLOWED)]
        return self._memo("grants", compute)

    def _iam_allowed(self, db: str, table: str) -> bool:
        return self._memo(f"iam|{db}|{table}", lambda: self._state.iam_allowed(db, table))

    def _cells(self, db: str, table: str, columns: list[str], any_permission: bool = False) -> list[_Cell]:
        """Cells granted to the caller on one table (SELECT/ALL, or any permission)."""
        cells: list[_Cell] = []
        all_cols = set(columns)
        tag_cache: dict[str, dict[str, dict[str, str]]] = {}
        for g in self._my_grants():
            mine = g["Principal"]["DataLakePrincipalIdentifier"] == self.principal
            perms = set(g["Permissions"]) | set(g.get("PermissionsWithGrantOption") or [])
            if not (perms if any_permission else perms & _READ):
                continue
            res = g["Resource"]
            if "Table" in res:
                t = res["Table"]
                if t["DatabaseName"].lower() == db and (t.get("Name", "").lower() == table or
                                                         "TableWildcard" in t):
                    if not mine:  # IAM_ALLOWED_PRINCIPALS on the table: no LF restriction
                        return [_Cell(set(all_cols), None)]
                    cells.append(_Cell(set(all_cols), None))
            elif not mine:
                continue
            elif "TableWithColumns" in res:
                t = res["TableWithColumns"]
                if t["DatabaseName"].lower() == db and t["Name"].lower() == table:
                    if t.get("ColumnNames") is not None:
                        cols = {c.lower() for c in t["ColumnNames"]} & all_cols
                    else:
                        excluded = {c.lower() for c in (t.get("ColumnWildcard") or {}).get(
                            "ExcludedColumnNames") or []}
                        cols = all_cols - excluded
                    cells.append(_Cell(cols, None))
            elif "DataCellsFilter" in res:
                f = res["DataCellsFilter"]
                if f["DatabaseName"].lower() == db and f["TableName"].lower() == table:
                    cell = self._filter_cell(db, table, f["Name"], all_cols)
                    if cell is not None:
                        cells.append(cell)
            elif "LFTagPolicy" in res:
                pol = res["LFTagPolicy"]
                if pol["ResourceType"] != "TABLE":
                    continue
                from lakekit.local.services.lakeformation_tags import expression_matches

                if "tags" not in tag_cache:
                    tag_cache["tags"] = self._state.column_tags(db, table, columns)
                cols = {c for c, tags in tag_cache["tags"].items() if expression_matches(tags, pol["Expression"])}
                if cols:
                    cells.append(_Cell(cols, None))
        return [c for c in cells if c.columns]

    def _filter_cell(self, db: str, table: str, name: str, all_cols: set[str]) -> _Cell | None:
        filters = self._memo(f"filters|{db}|{table}", lambda: self._state.filters(db, table))
        f = next((f for f in filters if f["Name"] == name), None)
        if f is None:  # the filter was deleted: its grant no longer gives anything
            return None
        if f.get("ColumnNames") is not None:
            cols = {c.lower() for c in f["ColumnNames"]} & all_cols
        else:
            excluded = {c.lower() for c in (f.get("ColumnWildcard") or {}).get("ExcludedColumnNames") or []}
            cols = all_cols - excluded
        expr = (f.get("RowFilter") or {}).get("FilterExpression")
        if expr is not None and expr.strip().lower() == "true":
            expr = None
        return _Cell(cols, expr)

    def _columns(self, db: str, table: str) -> list[str] | None:
        return self._memo(f"cols|{db}|{table}", lambda: self._state.columns(db, table))

    def _denied(self, db: str, table: str) -> AccessDeniedError:
        return AccessDeniedError(
            f"Insufficient Lake Formation permission(s): Required Select on {table} (database {db}) "
            f"for principal {self.principal}. A data lake administrator can grant it with "
            f"lakeformation grant_permissions(Principal={{'DataLakePrincipalIdentifier': "
            f"'{self.principal}'}}, Resource={{'Table': {{'DatabaseName': '{db}', 'Name': '{table}'}}}}, "
            "Permissions=['SELECT']) or a TableWithColumns / DataCellsFilter / LF-tag grant.")

    def table_access(self, database: str, table: str) -> TableAccess | None:
        """The Athena engine's access hook: None = unrestricted; raises AccessDeniedError."""
        db, name = database.lower(), table.lower()
        if self.is_admin():
            return None
        columns = self._columns(db, name)
        if columns is None:  # unknown table: the engine reports TABLE_NOT_FOUND itself
            return None
        if self._iam_allowed(db, name):
            return None
        cells = self._cells(db, name, columns)
        if not cells:
            raise self._denied(db, name)
        visible: set[str] = set().union(*(c.columns for c in cells))
        if any(c.row_filter is None for c in cells):
            row_filter = None
        else:
            preds = list(dict.fromkeys(c.row_filter for c in cells))
            row_filter = preds[0] if len(preds) == 1 else " OR ".join(f"({p})" for p in preds)
        if visible >= set(columns) and row_filter is None:
            return None
        return TableAccess(columns=None if visible >= set(columns) else visible, row_filter=row_filter)

    def visible_columns(self, database: str, table: str) -> list[str]:
        """Columns the caller may read, in table order (DESCRIBE / SHOW COLUMNS); raises AccessDeniedError."""
        db, name = database.lower(), table.lower()
        columns = self._columns(db, name) or []
        access = self.table_access(db, name)
        if access is None or access.columns is None:
            return list(columns)
        return [c for c in columns if c in access.columns]

    def can_see_table(self, database: str, table: str) -> bool:
        """Whether the table appears in SHOW TABLES / catalog listings (any permission on it)."""
        db, name = database.lower(), table.lower()
        if self.is_admin():
            return True
        columns = self._columns(db, name)
        if columns is None:
            return False
        return self._iam_allowed(db, name) or bool(self._cells(db, name, columns, any_permission=True))

    def visible_tables(self, database: str, tables: list[str] | None = None) -> list[str]:
        """The subset of ``tables`` (default: all of the database) the caller can see, order kept."""
        names = tables if tables is not None else self._state.tables(database.lower())
        return [t for t in names if self.can_see_table(database, t)]

    def can_see_database(self, database: str) -> bool:
        """Admin, any grant on the database, or any visible table in it."""
        db = database.lower()
        if self.is_admin():
            return True
        for g in self._my_grants():
            res = g["Resource"]
            if g["Principal"]["DataLakePrincipalIdentifier"] == self.principal and \
                    res.get("Database", {}).get("Name", "").lower() == db:
                return True
        return bool(self.visible_tables(db))


def evaluator(account_id: str, access_key_id: str, region: str = "us-east-1",
              endpoint_url: str | None = None) -> Evaluator:
    """An :class:`Evaluator` for one caller (in-process state unless ``endpoint_url`` is given)."""
    return Evaluator(account_id, access_key_id, region, endpoint_url)


def access_hook(account_id: str, access_key_id: str, region: str = "us-east-1",
                endpoint_url: str | None = None) -> Callable[[str, str], TableAccess | None]:
    """The hook for ``QueryEngine.execute(..., access=...)``: one per query (state read once)."""
    return evaluator(account_id, access_key_id, region, endpoint_url).table_access


def visible_columns(account_id: str, access_key_id: str, database: str, table: str,
                    region: str = "us-east-1", endpoint_url: str | None = None) -> list[str]:
    """Columns of ``database.table`` the caller may read, in table order; raises AccessDeniedError."""
    return evaluator(account_id, access_key_id, region, endpoint_url).visible_columns(database, table)
