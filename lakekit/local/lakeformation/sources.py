"""Where the evaluator reads Lake Formation state from.

:class:`LocalState` reads the endpoint's own stores and moto's backends (inside the endpoint
process, no HTTP); :class:`RemoteState` reads the same state through the endpoint's public API
(ListPermissions, ListDataCellsFilter, GetResourceLFTags, GetDataLakeSettings, STS
GetCallerIdentity) for tests, notebooks and benchmarks in other processes. Both answer the
same questions with the same shapes.
"""
from __future__ import annotations

from typing import Any

from lakekit.local.lakeformation import state
from lakekit.local.lakeformation.principals import principal_from_caller_arn, principal_of_key
from lakekit.local.lakeformation.tags import effective_tags

__all__ = ["LocalState", "RemoteState", "READ"]

READ = {"SELECT", "ALL"}


def _columns_of(table: dict[str, Any]) -> list[str]:
    cols = (table.get("StorageDescriptor") or {}).get("Columns", []) + (table.get("PartitionKeys") or [])
    return [c["Name"].lower() for c in cols]


class LocalState:
    """Reads the endpoint's own stores and moto backends (inside the endpoint process)."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id, self.region = account_id, region

    def principal(self, access_key_id: str) -> str:
        return principal_of_key(self.account_id, access_key_id)

    def settings(self) -> dict[str, Any]:
        return state.settings_of(self.account_id, self.region)

    def grants(self) -> list[dict[str, Any]]:
        return state.grants_of(self.account_id, self.region)

    def iam_allowed(self, db: str, table: str) -> bool:
        return state.table_is_iam_allowed(
            self.account_id, self.region, db, table,
            state.current_table_defaults(self.account_id, self.region, self.account_id, db))

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
        return state.filters_for_table(self.account_id, self.region, db, table)

    def column_tags(self, db: str, table: str, columns: list[str]) -> dict[str, dict[str, str]]:
        return effective_tags(self.account_id, self.region, db, table, columns)[2]


class RemoteState:
    """Reads the same state through the endpoint's public API (tests, notebooks, benchmarks)."""

    def __init__(self, account_id: str, region: str, endpoint_url: str) -> None:
        self.account_id, self.region, self.url = account_id, region, endpoint_url

    def _client(self, service: str, key: str = "test") -> Any:
        from lakekit.local._clients import endpoint_client

        return endpoint_client(self.url, service, self.region, key)

    def principal(self, access_key_id: str) -> str:
        arn = self._client("sts", access_key_id).get_caller_identity()["Arn"]
        if ":assumed-role/" in arn:  # the role's real ARN (its path included)
            name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
            try:
                return self._client("iam").get_role(RoleName=name)["Role"]["Arn"]
            except Exception:
                pass
        return principal_from_caller_arn(arn)

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
            Principal={"DataLakePrincipalIdentifier": state.IAM_ALLOWED},
            Resource={"Table": {"DatabaseName": db, "Name": table}}, IncludeRelated="TRUE")
        return any("Table" in g["Resource"] and READ & set(g["Permissions"])
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
