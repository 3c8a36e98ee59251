"""Lake Formation LF-tags (moto 5.2's are incomplete: assignments overwrite each other,
GetResourceLFTags fails on untagged resources, no inheritance, no SearchTablesByLFTags).

Answers CreateLFTag, GetLFTag, ListLFTags, UpdateLFTag, DeleteLFTag, AddLFTagsToResource,
RemoveLFTagsFromResource, GetResourceLFTags, SearchTablesByLFTags, SearchDatabasesByLFTags.

LF semantics: a resource carries at most one value per tag key; a table inherits its
database's tags and a column its table's, unless the lower level assigns its own value for
that key. ``GetResourceLFTags`` returns the effective (inherited) tags unless
``ShowAssignedLFTags`` is true. An LF-tag expression ``[{TagKey, TagValues}, ...]`` matches
when every key matches (AND) with any of its values (OR).

Example::

    lf.create_lf_tag(TagKey="sensitivity", TagValues=["public", "pii"])
    lf.add_lf_tags_to_resource(Resource={"Table": {"DatabaseName": "db", "Name": "airlines"}},
                               LFTags=[{"TagKey": "sensitivity", "TagValues": ["public"]}])
"""
from __future__ import annotations

import copy
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.lakeformation.state import TAGS, catalog_glue, is_not_found
from lakekit.local.registry import AwsError, AwsRequest, operation

__all__ = ["tag_values", "effective_tags", "expression_matches", "drop_resource_tags"]

_SERVICE = "lakeformation"


def _state(catalog: str, region: str) -> dict[str, Any]:
    return TAGS.setdefault(f"{catalog}|{region}", {"keys": {}, "db": {}, "table": {}, "column": {}})


def tag_values(catalog: str, region: str, key: str) -> list[str] | None:
    """The values of an LF-tag key, or None when the key does not exist."""
    values = TAGS.get(f"{catalog}|{region}", {}).get("keys", {}).get(key)
    return list(values) if values is not None else None


def effective_tags(catalog: str, region: str, db: str, table: str | None = None,
                   columns: list[str] | None = None, assigned_only: bool = False
                   ) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """(database tags, table tags, {column: tags}) as {key: value}; inherited unless ``assigned_only``."""
    st = TAGS.get(f"{catalog}|{region}", {})
    db = db.lower()
    db_tags = dict(st.get("db", {}).get(db, {}))
    if table is None:
        return db_tags, {}, {}
    table = table.lower()
    own = dict(st.get("table", {}).get(f"{db}|{table}", {}))
    table_tags = own if assigned_only else {**db_tags, **own}
    cols: dict[str, dict[str, str]] = {}
    for c in columns or []:
        mine = dict(st.get("column", {}).get(f"{db}|{table}|{c.lower()}", {}))
        cols[c.lower()] = mine if assigned_only else {**table_tags, **mine}
    return db_tags, table_tags, cols


def expression_matches(tags: dict[str, str], expression: list[dict[str, Any]]) -> bool:
    """AND across keys, OR within a key's values (``*`` = any value of the key)."""
    for pair in expression:
        have = tags.get(pair["TagKey"])
        if have is None:
            return False
        values = pair.get("TagValues") or []
        if "*" not in values and have not in values:
            return False
    return bool(expression)


def drop_resource_tags(catalog: str, region: str, db: str, table: str | None) -> None:
    """Forget tag assignments of a dropped table (or of a whole dropped database)."""
    st = TAGS.get(f"{catalog}|{region}")
    if not st:
        return
    if table is None:
        st["db"].pop(db, None)
        prefixes = (f"{db}|",)
    else:
        prefixes = (f"{db}|{table}|",)
        st["table"].pop(f"{db}|{table}", None)
    for level in ("table", "column"):
        for k in [k for k in st[level] if k.startswith(prefixes)]:
            st[level].pop(k, None)


def _pairs(tags: dict[str, str], catalog: str) -> list[dict[str, Any]]:
    return [{"CatalogId": catalog, "TagKey": k, "TagValues": [v]} for k, v in sorted(tags.items())]


def _catalog(req: AwsRequest) -> str:
    return req.params.get("CatalogId") or req.account_id


def _missing_key(key: str) -> AwsError:
    return AwsError("EntityNotFoundException",
                    f"Tag or tag value does not exist: LF-tag {key!r} is not defined; create it with "
                    "CreateLFTag first.")


# ----------------------------------------------------------------------------- tag keys
@operation(_SERVICE, "CreateLFTag")
def create_lf_tag(req: AwsRequest) -> dict[str, Any]:
    key, values = req.params.get("TagKey"), req.params.get("TagValues") or []
    if not key or not values:
        raise AwsError("InvalidInputException", "CreateLFTag needs TagKey and at least one TagValue.")
    st = _state(_catalog(req), req.region)
    if key in st["keys"]:
        raise AwsError("AlreadyExistsException",
                       f"LF-tag {key!r} already exists: use UpdateLFTag to add values.")
    st["keys"] = {**st["keys"], key: list(dict.fromkeys(values))}
    return {}


@operation(_SERVICE, "GetLFTag")
def get_lf_tag(req: AwsRequest) -> dict[str, Any]:
    key = req.params.get("TagKey") or ""
    values = tag_values(_catalog(req), req.region, key)
    if values is None:
        raise _missing_key(key)
    return {"CatalogId": _catalog(req), "TagKey": key, "TagValues": values}


@operation(_SERVICE, "ListLFTags")
def list_lf_tags(req: AwsRequest) -> dict[str, Any]:
    keys = sorted(_state(_catalog(req), req.region)["keys"].items())
    start = int(req.params.get("NextToken") or 0)
    size = int(req.params.get("MaxResults") or 100)
    out: dict[str, Any] = {"LFTags": [{"CatalogId": _catalog(req), "TagKey": k, "TagValues": list(v)}
                                      for k, v in keys[start:start + size]]}
    if start + size < len(keys):
        out["NextToken"] = str(start + size)
    return out


@operation(_SERVICE, "UpdateLFTag")
def update_lf_tag(req: AwsRequest) -> dict[str, Any]:
    key = req.params.get("TagKey") or ""
    st = _state(_catalog(req), req.region)
    if key not in st["keys"]:
        raise _missing_key(key)
    values = list(st["keys"][key])
    drop = req.params.get("TagValuesToDelete") or []
    unknown = [v for v in drop if v not in values]
    if unknown:
        raise AwsError("EntityNotFoundException", f"LF-tag {key!r} has no value(s) {unknown}.")
    values = [v for v in values if v not in drop]
    values += [v for v in req.params.get("TagValuesToAdd") or [] if v not in values]
    if not values:
        raise AwsError("InvalidInputException",
                       f"LF-tag {key!r} would have no values left: delete it with DeleteLFTag instead.")
    st["keys"] = {**st["keys"], key: values}
    for level in ("db", "table", "column"):
        for res, tags in list(st[level].items()):
            if tags.get(key) in drop:
                st[level][res] = {k: v for k, v in tags.items() if k != key}
    return {}


@operation(_SERVICE, "DeleteLFTag")
def delete_lf_tag(req: AwsRequest) -> dict[str, Any]:
    key = req.params.get("TagKey") or ""
    st = _state(_catalog(req), req.region)
    if key not in st["keys"]:
        raise _missing_key(key)
    st["keys"] = {k: v for k, v in st["keys"].items() if k != key}
    for level in ("db", "table", "column"):
        for res, tags in list(st[level].items()):
            if key in tags:
                st[level][res] = {k: v for k, v in tags.items() if k != key}
    return {}


# ----------------------------------------------------------------------------- assignments
def _targets(req: AwsRequest, resource: dict[str, Any]) -> list[tuple[str, str]]:
    """[(level, key)] a resource designates; validates it exists in Glue."""
    glue = catalog_glue(req)
    if resource.get("Database"):
        name = resource["Database"]["Name"].lower()
        try:
            glue.get_database(Name=name)
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            raise AwsError("EntityNotFoundException", f"Database {name} not found in the Data Catalog.") from exc
        return [("db", name)]
    spec = resource.get("Table") or resource.get("TableWithColumns")
    if not spec:
        raise AwsError("InvalidInputException",
                       "Resource must be a Database, Table or TableWithColumns to carry LF-tags.")
    db = spec["DatabaseName"].lower()
    if resource.get("Table") and spec.get("TableWildcard") is not None:
        names = [t["Name"].lower() for t in glue.get_tables(DatabaseName=db).get("TableList", [])]
        return [("table", f"{db}|{n}") for n in names]
    name = spec["Name"].lower()
    try:
        t = glue.get_table(DatabaseName=db, Name=name)["Table"]
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        raise AwsError("EntityNotFoundException", f"Table {db}.{name} not found in the Data Catalog.") from exc
    if resource.get("Table"):
        return [("table", f"{db}|{name}")]
    cols = [c["Name"].lower() for c in (t.get("StorageDescriptor") or {}).get("Columns", []) +
            (t.get("PartitionKeys") or [])]
    wanted = spec.get("ColumnNames")
    if wanted is None:
        excluded = {c.lower() for c in (spec.get("ColumnWildcard") or {}).get("ExcludedColumnNames") or []}
        wanted = [c for c in cols if c not in excluded]
    unknown = [c for c in wanted if c.lower() not in cols]
    if unknown:
        raise AwsError("InvalidInputException", f"Columns {unknown} do not exist in {db}.{name}.")
    return [("column", f"{db}|{name}|{c.lower()}") for c in wanted]


@operation(_SERVICE, "AddLFTagsToResource")
def add_lf_tags_to_resource(req: AwsRequest) -> dict[str, Any]:
    catalog = _catalog(req)
    st = _state(catalog, req.region)
    targets = _targets(req, req.params.get("Resource") or {})
    failures, good = [], {}
    for pair in req.params.get("LFTags") or []:
        key, values = pair.get("TagKey"), pair.get("TagValues") or []
        known = st["keys"].get(key)
        if known is None or len(values) != 1 or values[0] not in known:
            msg = ("Tag or tag value does not exist." if known is None or (values and values[0] not in known)
                   else "A resource takes exactly one value per LF-tag key.")
            failures.append({"LFTag": {"CatalogId": catalog, **pair},
                             "Error": {"ErrorCode": "EntityNotFoundException" if "exist" in msg
                                       else "InvalidInputException", "ErrorMessage": msg}})
            continue
        good[key] = values[0]
    if failures:
        return {"Failures": failures}
    for level, key in targets:
        st[level][key] = {**st[level].get(key, {}), **good}
    return {"Failures": []}


@operation(_SERVICE, "RemoveLFTagsFromResource")
def remove_lf_tags_from_resource(req: AwsRequest) -> dict[str, Any]:
    catalog = _catalog(req)
    st = _state(catalog, req.region)
    targets = _targets(req, req.params.get("Resource") or {})
    failures = []
    drop = {}
    for pair in req.params.get("LFTags") or []:
        if pair.get("TagKey") not in st["keys"]:
            failures.append({"LFTag": {"CatalogId": catalog, **pair},
                             "Error": {"ErrorCode": "EntityNotFoundException",
                                       "ErrorMessage": "Tag or tag value does not exist."}})
        else:
            drop[pair["TagKey"]] = set(pair.get("TagValues") or [])
    for level, key in targets:
        tags = st[level].get(key, {})
        st[level][key] = {k: v for k, v in tags.items() if not (k in drop and (not drop[k] or v in drop[k]))}
    return {"Failures": failures}


def _table_columns(req: AwsRequest, db: str, name: str) -> list[str]:
    t = catalog_glue(req).get_table(DatabaseName=db, Name=name)["Table"]
    return [c["Name"].lower() for c in (t.get("StorageDescriptor") or {}).get("Columns", []) +
            (t.get("PartitionKeys") or [])]


@operation(_SERVICE, "GetResourceLFTags")
def get_resource_lf_tags(req: AwsRequest) -> dict[str, Any]:
    catalog = _catalog(req)
    resource = req.params.get("Resource") or {}
    assigned = bool(req.params.get("ShowAssignedLFTags"))
    targets = _targets(req, resource)
    if resource.get("Database"):
        db_tags, _, _ = effective_tags(catalog, req.region, targets[0][1])
        return {"LFTagOnDatabase": _pairs(db_tags, catalog)}
    spec = resource.get("Table") or resource.get("TableWithColumns")
    db, name = spec["DatabaseName"].lower(), (spec.get("Name") or "").lower()
    if not name:
        raise AwsError("InvalidInputException", "GetResourceLFTags needs a table Name (no TableWildcard).")
    cols = ([k.rsplit("|", 1)[1] for _, k in targets] if resource.get("TableWithColumns")
            else _table_columns(req, db, name))
    db_tags, table_tags, col_tags = effective_tags(catalog, req.region, db, name, cols, assigned)
    out: dict[str, Any] = {"LFTagOnDatabase": _pairs(db_tags, catalog),
                           "LFTagsOnColumns": [{"Name": c, "LFTags": _pairs(t, catalog)}
                                               for c, t in col_tags.items() if t]}
    if resource.get("Table"):
        out["LFTagsOnTable"] = _pairs(table_tags, catalog)
    return out


def _validate_expression(req: AwsRequest, expression: list[dict[str, Any]]) -> None:
    if not expression:
        raise AwsError("InvalidInputException", "Expression must list at least one {TagKey, TagValues}.")
    st = _state(_catalog(req), req.region)
    for pair in expression:
        if pair.get("TagKey") not in st["keys"]:
            raise _missing_key(pair.get("TagKey", ""))


@operation(_SERVICE, "SearchTablesByLFTags")
def search_tables_by_lf_tags(req: AwsRequest) -> dict[str, Any]:
    catalog = _catalog(req)
    expression = req.params.get("Expression") or []
    _validate_expression(req, expression)
    glue = catalog_glue(req)
    found = []
    for d in glue.get_databases().get("DatabaseList", []):
        db = d["Name"].lower()
        for t in glue.get_tables(DatabaseName=db).get("TableList", []):
            name = t["Name"].lower()
            cols = [c["Name"].lower() for c in (t.get("StorageDescriptor") or {}).get("Columns", []) +
                    (t.get("PartitionKeys") or [])]
            db_tags, table_tags, col_tags = effective_tags(catalog, req.region, db, name, cols)
            matching = {c: tg for c, tg in col_tags.items() if expression_matches(tg, expression)}
            if not matching and not expression_matches(table_tags, expression):
                continue
            found.append({"Table": {"CatalogId": catalog, "DatabaseName": db, "Name": name},
                          "LFTagOnDatabase": _pairs(db_tags, catalog),
                          "LFTagsOnTable": _pairs(table_tags, catalog),
                          "LFTagsOnColumns": [{"Name": c, "LFTags": _pairs(tg, catalog)}
                                              for c, tg in matching.items()]})
    return _page(req, "TableList", found)


@operation(_SERVICE, "SearchDatabasesByLFTags")
def search_databases_by_lf_tags(req: AwsRequest) -> dict[str, Any]:
    catalog = _catalog(req)
    expression = req.params.get("Expression") or []
    _validate_expression(req, expression)
    found = []
    for d in catalog_glue(req).get_databases().get("DatabaseList", []):
        db_tags, _, _ = effective_tags(catalog, req.region, d["Name"])
        if expression_matches(db_tags, expression):
            found.append({"Database": {"CatalogId": catalog, "Name": d["Name"].lower()},
                          "LFTags": _pairs(db_tags, catalog)})
    return _page(req, "DatabaseList", found)


def _page(req: AwsRequest, field: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    start = int(req.params.get("NextToken") or 0)
    size = int(req.params.get("MaxResults") or 100)
    out: dict[str, Any] = {field: copy.deepcopy(items[start:start + size])}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out
