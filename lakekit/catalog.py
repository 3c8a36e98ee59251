"""Look at the Glue Data Catalog as pandas DataFrames (works on AWS and locally).

Example::

    >>> cols = show_table(glue, "lake", "flights")           # doctest: +SKIP
    >>> cols.attrs["location"], cols.attrs["classification"]  # doctest: +SKIP
    ('s3://processed/flights/', 'parquet')
    >>> partitions(glue, "lake", "flights").head()            # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["partitions", "show_table", "table_versions"]


def _table(glue: Any, database: str, table: str) -> dict[str, Any]:
    try:
        return glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        raise LookupError(
            f"table {database}.{table} not found in the Glue Data Catalog: run the crawler "
            "(or check the database/table name with glue.get_tables)"
        ) from None


def show_table(glue: Any, database: str, table: str) -> pd.DataFrame:
    """Columns of a catalog table, one row each: ``column``, ``type``, ``partition_key``
    (True for partition keys, listed last, like Athena's DESCRIBE).

    ``.attrs`` carries ``location``, ``classification``, ``recordCount``, ``objectCount``,
    ``input_format``, ``serde``, ``version`` and ``parameters`` (the table Parameters).
    """
    t = _table(glue, database, table)
    sd = t.get("StorageDescriptor") or {}
    rows = [
        {"column": c["Name"], "type": c["Type"], "partition_key": False}
        for c in sd.get("Columns", [])
    ]
    rows += [
        {"column": k["Name"], "type": k.get("Type", "string"), "partition_key": True}
        for k in t.get("PartitionKeys", [])
    ]
    df = pd.DataFrame(rows, columns=["column", "type", "partition_key"])
    params = dict(t.get("Parameters") or {})
    df.attrs.update(
        {
            "database": database,
            "table": table,
            "location": sd.get("Location"),
            "classification": params.get("classification"),
            "recordCount": int(params["recordCount"]) if "recordCount" in params else None,
            "objectCount": int(params["objectCount"]) if "objectCount" in params else None,
            "input_format": sd.get("InputFormat"),
            "serde": (sd.get("SerdeInfo") or {}).get("SerializationLibrary"),
            "version": t.get("VersionId"),
            "parameters": params,
        }
    )
    return df


def partitions(glue: Any, database: str, table: str) -> pd.DataFrame:
    """Partitions of a table: one column per partition key (string values as stored),
    plus ``location``, ``recordCount`` and ``objectCount``; sorted by the key values
    (numerically where the values are integers)."""
    t = _table(glue, database, table)
    keys = [k["Name"] for k in t.get("PartitionKeys", [])]
    rows = []
    for page in glue.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName=table
    ):
        for p in page.get("Partitions", []):
            sd = p.get("StorageDescriptor") or {}
            params = sd.get("Parameters") or {}
            row: dict[str, Any] = dict(zip(keys, p["Values"]))
            row["location"] = sd.get("Location")
            row["recordCount"] = int(params["recordCount"]) if "recordCount" in params else None
            row["objectCount"] = int(params["objectCount"]) if "objectCount" in params else None
            rows.append(row)
    df = pd.DataFrame(rows, columns=keys + ["location", "recordCount", "objectCount"])
    if keys and len(df):

        def sort_key(s: pd.Series) -> pd.Series:
            num = pd.to_numeric(s, errors="coerce")
            return num if num.notna().all() else s

        df = df.sort_values(keys, key=sort_key, ignore_index=True)
    return df


def table_versions(glue: Any, database: str, table: str) -> pd.DataFrame:
    """Version history of a table, oldest first: ``version``, ``columns`` (count),
    ``column_names``, ``updated_by``, ``update_time``, and ``added`` (columns new in that
    version compared with the previous one)."""
    _table(glue, database, table)
    versions = []
    for page in glue.get_paginator("get_table_versions").paginate(
        DatabaseName=database, TableName=table
    ):
        versions += page.get("TableVersions", [])
    versions.sort(key=lambda v: int(v["VersionId"]))
    rows, prev = [], None
    for v in versions:
        t = v["Table"]
        names = [c["Name"] for c in (t.get("StorageDescriptor") or {}).get("Columns", [])]
        rows.append(
            {
                "version": int(v["VersionId"]),
                "columns": len(names),
                "column_names": names,
                "added": [n for n in names if prev is not None and n not in prev],
                "updated_by": (t.get("Parameters") or {}).get("UPDATED_BY_CRAWLER"),
                "update_time": t.get("UpdateTime") or t.get("CreateTime"),
            }
        )
        prev = set(names)
    return pd.DataFrame(
        rows, columns=["version", "columns", "column_names", "added", "updated_by", "update_time"]
    )
