"""Lake Formation permission evaluator: what a caller may read through Athena.

Inside the endpoint process (the Athena executor) the evaluator reads the grant, filter and
LF-tag stores and moto's backends directly (no HTTP); from any other process pass
``endpoint_url`` and it reads the same state through the public API (:mod:`.sources`).

Semantics (AWS Lake Formation Developer Guide, "Implicit Lake Formation permissions",
"Lake Formation permissions reference"):
- the caller is the principal of its access key (:mod:`.principals`): an assumed role's
  role ARN, an IAM user's ARN, the bootstrap key's ``arn:aws:iam::<acct>:user/moto``;
- data lake administrators (DataLakeSettings.DataLakeAdmins, nobody else) have DESCRIBE on
  every database and table (they see them listed) but no data access: an admin reads a
  table only through a grant (or IAM_ALLOWED_PRINCIPALS) like anyone; it may grant itself;
- the creator of a table holds ALL on it (a grant recorded at CreateTable, :mod:`.catalog`);
- a table still covered by IAM_ALLOWED_PRINCIPALS (the grant it got from its database's
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
- a denial reads as Athena words it for Lake Formation: ``Insufficient permissions to execute
  the query. Insufficient Lake Formation permission(s) on <table>``; a column the caller may
  not read fails as if it did not exist (COLUMN_NOT_FOUND, the engine's doing).

Example (Athena executor, in the endpoint process)::

    hook = access_hook(req.account_id, req.access_key_id, req.region)
    engine.execute(sql, database, access=hook)   # raises PERMISSION_DENIED / hides columns
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lakekit.local.athena.engine import AccessDeniedError, TableAccess
from lakekit.local.lakeformation.principals import bootstrap_principal
from lakekit.local.lakeformation.sources import READ as _READ
from lakekit.local.lakeformation.sources import LocalState, RemoteState
from lakekit.local.lakeformation.state import IAM_ALLOWED, admins_of
from lakekit.local.lakeformation.tags import expression_matches

__all__ = [
    "Evaluator",
    "TableAccess",
    "AccessDeniedError",
    "access_hook",
    "bootstrap_principal",
    "evaluator",
    "principal_for",
    "visible_columns",
]


def principal_for(account_id: str, access_key_id: str, *, endpoint_url: str | None = None,
                  region: str = "us-east-1") -> str:
    """The LF principal of an access key (role ARN for an assumed role, user ARN, bootstrap principal).

    >>> principal_for("123456789012", "test")
    'arn:aws:iam::123456789012:user/moto'
    """
    if endpoint_url:
        return RemoteState(account_id, region, endpoint_url).principal(access_key_id)
    return LocalState(account_id, region).principal(access_key_id)


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
            self._state = (RemoteState(self.account_id, self.region, self.endpoint_url)
                           if self.endpoint_url else LocalState(self.account_id, self.region))

    def _memo(self, key: str, fn: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def principal(self) -> str:
        return self._memo("principal", lambda: self._state.principal(self.access_key_id))

    def is_admin(self) -> bool:
        """Listed in DataLakeSettings.DataLakeAdmins (DESCRIBE on everything, no data access by itself)."""
        return self._memo("admin", lambda: self.principal in admins_of(self._state.settings()))

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
            f"Insufficient permissions to execute the query. Insufficient Lake Formation permission(s) "
            f"on {table} (database {db}): principal {self.principal} holds no SELECT on it. A data lake "
            f"administrator can grant it with "
            f"lakeformation grant_permissions(Principal={{'DataLakePrincipalIdentifier': "
            f"'{self.principal}'}}, Resource={{'Table': {{'DatabaseName': '{db}', 'Name': '{table}'}}}}, "
            "Permissions=['SELECT']) or a TableWithColumns / DataCellsFilter / LF-tag grant.")

    def table_access(self, database: str, table: str) -> TableAccess | None:
        """The Athena engine's access hook: None = unrestricted; raises AccessDeniedError."""
        db, name = database.lower(), table.lower()
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
        """Whether the table appears in SHOW TABLES / catalog listings (admin's DESCRIBE, any permission)."""
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
        """Admin (DESCRIBE), any grant on the database, or any visible table in it."""
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
