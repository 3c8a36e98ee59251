"""Lake Formation governance provisioners: LF-tags, their assignments, data cells filters.

Each one calls the real Lake Formation API through the endpoint (CreateLFTag/UpdateLFTag/
DeleteLFTag, AddLFTagsToResource/RemoveLFTagsFromResource, Create/DeleteDataCellsFilter), so
what the stack made reads back with ``get_lf_tag``, ``get_resource_lf_tags`` and
``get_data_cells_filter``. Replacement rules come from the provider schemas (cfn-lint's
bundled copy): a Tag updates its values in place; a TagAssociation or a DataCellsFilter is
replaced on any change (every property is create-only).

Example::

    SensitivityTag:
      Type: AWS::LakeFormation::Tag
      Properties: {TagKey: sensitivity, TagValues: [public, pii]}
"""
from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    error_code,
    failing_as,
    provisioner,
)

__all__ = ["LFTag", "TagAssociation", "DataCellsFilter"]

_GONE = ("EntityNotFoundException",)


def _catalog(props: dict[str, Any], key: str = "CatalogId") -> dict[str, str]:
    return {"CatalogId": str(props[key])} if props.get(key) else {}


@provisioner
class LFTag(Provisioner):
    """``Ref`` returns the tag key."""

    type = "AWS::LakeFormation::Tag"
    supported = frozenset({"CatalogId", "TagKey", "TagValues"})
    required = frozenset({"TagKey", "TagValues"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        with failing_as("TagKey", "LakeFormation"):
            ctx.client("lakeformation").create_lf_tag(
                TagKey=props["TagKey"], TagValues=[str(v) for v in props["TagValues"]], **_catalog(props))
        return Created(props["TagKey"], {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        before, after = [str(v) for v in old.get("TagValues") or []], [str(v) for v in new["TagValues"]]
        add = [v for v in after if v not in before]
        drop = [v for v in before if v not in after]
        if add or drop:
            kw: dict[str, Any] = {"TagKey": physical_id, **_catalog(new)}
            if add:
                kw["TagValuesToAdd"] = add
            if drop:
                kw["TagValuesToDelete"] = drop
            with failing_as("TagValues", "LakeFormation"):
                ctx.client("lakeformation").update_lf_tag(**kw)
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        try:
            ctx.client("lakeformation").delete_lf_tag(TagKey=physical_id, **_catalog(props))
        except ClientError as exc:
            if error_code(exc) not in _GONE:
                with failing_as("TagKey", "LakeFormation"):
                    raise


def _api_resource(res: dict[str, Any]) -> dict[str, Any]:
    """TagAssociation's Resource -> the API's (TableWildcard may be a JSON string in templates)."""
    kinds = [k for k in ("Catalog", "Database", "Table", "TableWithColumns") if k in res]
    if len(kinds) != 1:
        raise ResourceFailure("Property Resource: give exactly one of Catalog, Database, Table or "
                              f"TableWithColumns (found {', '.join(kinds) or 'none'}).")
    kind = kinds[0]
    if kind == "Catalog":
        return {"Catalog": {}}
    spec = {k: (str(v) if k == "CatalogId" else v) for k, v in dict(res[kind]).items()}
    if kind == "Table" and "TableWildcard" in spec:
        spec["TableWildcard"] = {}
        spec.pop("Name", None)
    return {kind: spec}


def _api_tags(tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**_catalog(t), "TagKey": t["TagKey"], "TagValues": [str(v) for v in t["TagValues"]]}
            for t in tags]


def _raise_failures(resp: dict[str, Any], verb: str) -> None:
    failures = resp.get("Failures") or []
    if failures:
        f = failures[0]
        err, tag = f.get("Error") or {}, f.get("LFTag") or {}
        raise ResourceFailure(
            f'Property LFTags: Resource handler returned message: "{verb} LF-tag '
            f'{tag.get("TagKey")}={tag.get("TagValues")}: {err.get("ErrorMessage", "failed")}" '
            f'(Service: LakeFormation, Error Code: {err.get("ErrorCode", "Error")}). Check that the '
            "LF-tag and value exist (AWS::LakeFormation::Tag) and the resource is in the Data Catalog.")


@provisioner
class TagAssociation(Provisioner):
    """Assigns LF-tags to a database, table or columns; attributes ResourceIdentifier/TagsIdentifier."""

    type = "AWS::LakeFormation::TagAssociation"
    supported = frozenset({"Resource", "LFTags"})
    required = frozenset({"Resource", "LFTags"})
    attributes = ("ResourceIdentifier", "TagsIdentifier")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        resource, tags = _api_resource(props["Resource"]), _api_tags(props["LFTags"])
        with failing_as("Resource", "LakeFormation"):
            resp = ctx.client("lakeformation").add_lf_tags_to_resource(Resource=resource, LFTags=tags)
        _raise_failures(resp, "AddLFTagsToResource")
        rid = json.dumps(resource, sort_keys=True)
        tid = json.dumps(tags, sort_keys=True)
        return Created(f"{rid}|{tid}", {"ResourceIdentifier": rid, "TagsIdentifier": tid})

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        try:
            ctx.client("lakeformation").remove_lf_tags_from_resource(
                Resource=_api_resource(props["Resource"]), LFTags=_api_tags(props["LFTags"]))
        except ClientError as exc:  # the table or the tag is gone already: nothing left to remove
            if error_code(exc) not in _GONE:
                with failing_as("Resource", "LakeFormation"):
                    raise


_FILTER_KEYS = ("TableCatalogId", "DatabaseName", "TableName", "Name")


@provisioner
class DataCellsFilter(Provisioner):
    """``Ref`` returns ``TableCatalogId|DatabaseName|TableName|Name``."""

    type = "AWS::LakeFormation::DataCellsFilter"
    supported = frozenset({*_FILTER_KEYS, "RowFilter", "ColumnNames", "ColumnWildcard"})
    required = frozenset(_FILTER_KEYS)

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        data = {k: (str(props[k]) if k in _FILTER_KEYS else props[k]) for k in props}
        data.setdefault("RowFilter", {"AllRowsWildcard": {}})
        with failing_as("RowFilter" if "RowFilter" in props else "TableName", "LakeFormation"):
            ctx.client("lakeformation").create_data_cells_filter(TableData=data)
        return Created("|".join(str(props[k]) for k in _FILTER_KEYS), {})

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        try:
            ctx.client("lakeformation").delete_data_cells_filter(
                **{k: str(props[k]) for k in _FILTER_KEYS})
        except ClientError as exc:
            if error_code(exc) not in _GONE:
                with failing_as("Name", "LakeFormation"):
                    raise
