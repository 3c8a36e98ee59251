"""Lake Formation data cells filters (moto has none): Create/Get/List/Update/Delete.

A filter restricts one table for the principals it is granted to: rows by a
``RowFilter.FilterExpression`` (a SQL predicate such as ``origin = 'JFK'``) or all rows
(``AllRowsWildcard``), columns by ``ColumnNames`` or ``ColumnWildcard`` with
``ExcludedColumnNames``. Filters live in a persistent store, keyed by
``(catalog, region, database, table, name)`` (:data:`.state.FILTERS`): like on AWS a filter
exists in the region it was created in only. The evaluator reads them there.
"""
from __future__ import annotations

import copy
import uuid
from typing import Any

import sqlglot
from botocore.exceptions import ClientError

from lakekit.local.lakeformation.state import (
    FILTERS,
    catalog_glue,
    filter_key,
    is_not_found,
    upgrade_filter_keys,
)
from lakekit.local.registry import AwsError, AwsRequest, operation

__all__ = ["create", "get", "list_filters", "update", "delete"]

_SERVICE = "lakeformation"


def _table_columns(req: AwsRequest, database: str, table: str) -> list[str]:
    try:
        got = catalog_glue(req).get_table(DatabaseName=database, Name=table)["Table"]
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        raise AwsError("EntityNotFoundException",
                       f"Table {database}.{table} not found in the Data Catalog: create it (crawler, "
                       f"CREATE EXTERNAL TABLE) before defining a data cells filter on it.") from exc
    cols = got.get("StorageDescriptor", {}).get("Columns", []) + got.get("PartitionKeys", [])
    return [c["Name"].lower() for c in cols]


def _validate(req: AwsRequest, data: dict[str, Any]) -> dict[str, Any]:
    for field in ("DatabaseName", "TableName", "Name"):
        if not data.get(field):
            raise AwsError("InvalidInputException", f"TableData.{field} is required.")
    data = copy.deepcopy(data)
    data.setdefault("TableCatalogId", req.account_id)
    columns = _table_columns(req, data["DatabaseName"], data["TableName"])
    if "ColumnNames" in data and "ColumnWildcard" in data:
        raise AwsError("InvalidInputException",
                       "Give either ColumnNames or ColumnWildcard in a data cells filter, not both.")
    if "ColumnNames" not in data and "ColumnWildcard" not in data:
        raise AwsError("InvalidInputException",
                       "A data cells filter needs ColumnNames or ColumnWildcard (use "
                       "ColumnWildcard: {} for all columns).")
    named = data.get("ColumnNames") or data.get("ColumnWildcard", {}).get("ExcludedColumnNames", [])
    unknown = [c for c in named if c.lower() not in columns]
    if unknown:
        raise AwsError("InvalidInputException",
                       f"Columns {unknown} do not exist in {data['DatabaseName']}.{data['TableName']} "
                       f"(columns: {', '.join(columns)}).")
    row = data.get("RowFilter") or {"AllRowsWildcard": {}}
    expr = row.get("FilterExpression")
    if expr is not None:
        try:
            sqlglot.parse_one(f"SELECT 1 WHERE {expr}", read="trino")
        except sqlglot.errors.ParseError as exc:
            raise AwsError("InvalidInputException",
                           f"RowFilter.FilterExpression {expr!r} is not a valid expression: "
                           f"{str(exc).splitlines()[0]}") from exc
    elif "AllRowsWildcard" not in row:
        raise AwsError("InvalidInputException",
                       "RowFilter needs FilterExpression or AllRowsWildcard.")
    data["RowFilter"] = row
    return data


def _key(req: AwsRequest, p: dict[str, Any]) -> str:
    return filter_key(p.get("TableCatalogId") or req.account_id, req.region, p["DatabaseName"],
                      p["TableName"], p["Name"])


@operation(_SERVICE, "CreateDataCellsFilter")
def create(req: AwsRequest) -> dict[str, Any]:
    data = _validate(req, req.params.get("TableData") or {})
    key = _key(req, data)
    if key in FILTERS:
        raise AwsError("AlreadyExistsException",
                       f"Data cells filter {data['Name']} already exists on "
                       f"{data['DatabaseName']}.{data['TableName']}: update or delete it first.")
    data["VersionId"] = str(uuid.uuid4())
    FILTERS[key] = data
    return {}


@operation(_SERVICE, "GetDataCellsFilter")
def get(req: AwsRequest) -> dict[str, Any]:
    key = _key(req, req.params)
    if key not in FILTERS:
        raise AwsError("EntityNotFoundException",
                       f"Data cells filter {req.params.get('Name')} not found on "
                       f"{req.params.get('DatabaseName')}.{req.params.get('TableName')}.")
    return {"DataCellsFilter": copy.deepcopy(FILTERS[key])}


@operation(_SERVICE, "ListDataCellsFilter")
def list_filters(req: AwsRequest) -> dict[str, Any]:
    table = req.params.get("Table") or {}
    upgrade_filter_keys()
    items = sorted((k, v) for k, v in FILTERS.items() if k.split("|")[1] == req.region)  # regional
    if table.get("DatabaseName"):
        prefix = "|".join((table.get("CatalogId") or req.account_id, req.region,
                           table["DatabaseName"].lower(), ""))
        if table.get("Name"):
            prefix += table["Name"].lower() + "|"
        items = [(k, v) for k, v in items if k.startswith(prefix)]
    start = int(req.params.get("NextToken") or 0)
    size = int(req.params.get("MaxResults") or 100)
    page = [copy.deepcopy(v) for _, v in items[start:start + size]]
    out: dict[str, Any] = {"DataCellsFilters": page}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


@operation(_SERVICE, "UpdateDataCellsFilter")
def update(req: AwsRequest) -> dict[str, Any]:
    data = _validate(req, req.params.get("TableData") or {})
    key = _key(req, data)
    if key not in FILTERS:
        raise AwsError("EntityNotFoundException",
                       f"Data cells filter {data['Name']} not found: create it first.")
    data["VersionId"] = str(uuid.uuid4())
    FILTERS[key] = data
    return {}


@operation(_SERVICE, "DeleteDataCellsFilter")
def delete(req: AwsRequest) -> dict[str, Any]:
    key = _key(req, req.params)
    if FILTERS.pop(key, None) is None:
        raise AwsError("EntityNotFoundException",
                       f"Data cells filter {req.params.get('Name')} not found on "
                       f"{req.params.get('DatabaseName')}.{req.params.get('TableName')}.")
    return {}
