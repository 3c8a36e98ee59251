"""Data Catalog calls of a local Glue job (the job role's credentials: strict IAM applies).

Reads: :func:`get_table`, :func:`get_partitions` (``Expression`` = the ``push_down_predicate``).
Writes (a sink with ``enableUpdateCatalog``): :func:`update_catalog` creates the table when it
does not exist, updates its schema with ``updateBehavior="UPDATE_IN_DATABASE"`` (the default;
``"LOG"`` leaves the schema alone) and adds the partitions it does not have yet (BatchCreatePartition).
Errors are boto3's ``ClientError`` (``AccessDeniedException``, ``EntityNotFoundException``, ...).
"""
from __future__ import annotations

import logging
from typing import Any

__all__ = ["glue_client", "get_table", "get_partitions", "table_format", "update_catalog",
           "hive_format", "FORMATS"]

log = logging.getLogger(__name__)

#: StorageDescriptor formats and SerDe per classification, as Glue writes them.
FORMATS: dict[str, dict[str, str]] = {
    "parquet": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    },
    "csv": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
    },
    "json": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
    },
}

_clients: dict[str, Any] = {}


def glue_client() -> Any:
    if "glue" not in _clients:
        import boto3

        _clients["glue"] = boto3.client("glue")
    return _clients["glue"]


def hive_format(classification: str, serde_params: dict[str, str] | None = None) -> dict[str, Any]:
    fmt = FORMATS[classification]
    return {"InputFormat": fmt["InputFormat"], "OutputFormat": fmt["OutputFormat"],
            "SerdeInfo": {"SerializationLibrary": fmt["SerializationLibrary"],
                          "Parameters": dict(serde_params or {})}}


def get_table(database: str, table_name: str, catalog_id: str | None = None) -> dict[str, Any]:
    kw: dict[str, Any] = {"DatabaseName": database, "Name": table_name}
    if catalog_id:
        kw["CatalogId"] = catalog_id
    return glue_client().get_table(**kw)["Table"]


def get_partitions(database: str, table_name: str, expression: str | None = None,
                   catalog_id: str | None = None) -> list[dict[str, Any]]:
    kw: dict[str, Any] = {"DatabaseName": database, "TableName": table_name}
    if expression:
        kw["Expression"] = expression
    if catalog_id:
        kw["CatalogId"] = catalog_id
    out: list[dict[str, Any]] = []
    for page in glue_client().get_paginator("get_partitions").paginate(**kw):
        out += page.get("Partitions", [])
    return out


def table_format(table: dict[str, Any]) -> str:
    """``parquet`` | ``csv`` | ``json`` from the table's classification, else its SerDe/InputFormat."""
    params = table.get("Parameters") or {}
    sd = table.get("StorageDescriptor") or {}
    classification = (params.get("classification") or sd.get("Parameters", {}).get("classification")
                      or "").lower()
    if classification in ("parquet", "glueparquet"):
        return "parquet"
    if classification in ("csv", "json"):
        return classification
    serde = ((sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
    fmt = (sd.get("InputFormat") or "").lower()
    if "parquet" in serde or "parquet" in fmt:
        return "parquet"
    if "json" in serde:
        return "json"
    if "csv" in serde or "lazysimple" in serde:
        return "csv"
    raise ValueError(f"table {table.get('DatabaseName')}.{table.get('Name')} has classification "
                     f"{classification or 'none'!r} and SerDe {serde or 'none'!r}: the local awsglue "
                     f"reads parquet, csv and json tables only.")


def _columns(fields: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Name": n, "Type": t} for n, t in fields]


def update_catalog(database: str, table_name: str, location: str, classification: str,
                   data_columns: list[tuple[str, str]], partition_keys: list[tuple[str, str]],
                   partition_values: list[list[str]], update_behavior: str = "UPDATE_IN_DATABASE",
                   serde_params: dict[str, str] | None = None,
                   catalog_id: str | None = None) -> dict[str, Any]:
    """Create/update ``database.table_name`` and add new partitions; returns what was done."""
    glue = glue_client()
    fmt = "parquet" if classification == "glueparquet" else classification
    base = location if location.endswith("/") else location + "/"
    cat = {"CatalogId": catalog_id} if catalog_id else {}
    done: dict[str, Any] = {"created": False, "updated": False, "partitions_added": 0}
    try:
        table = glue.get_table(DatabaseName=database, Name=table_name, **cat)["Table"]
    except glue.exceptions.EntityNotFoundException:
        table = None
    if table is None:
        glue.create_table(DatabaseName=database, **cat, TableInput={
            "Name": table_name, "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": fmt},
            "PartitionKeys": _columns(partition_keys),
            "StorageDescriptor": {"Columns": _columns(data_columns), "Location": base,
                                  **hive_format(fmt, serde_params), "Compressed": False,
                                  "NumberOfBuckets": -1, "StoredAsSubDirectories": False,
                                  "Parameters": {"classification": fmt}}})
        done["created"] = True
        existing_parts: set[tuple[str, ...]] = set()
        table_keys = [k for k, _ in partition_keys]
        base_sd = {"Columns": _columns(data_columns), **hive_format(fmt, serde_params)}
    else:
        table_keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        if partition_keys and [k for k, _ in partition_keys] != table_keys:
            raise ValueError(f"partitionKeys {[k for k, _ in partition_keys]} differ from the "
                             f"partition keys {table_keys} of table {database}.{table_name}: write "
                             f"with the table's partitionKeys.")
        sd = dict(table.get("StorageDescriptor") or {})
        if update_behavior == "UPDATE_IN_DATABASE":
            known = {c["Name"]: c for c in sd.get("Columns", [])}
            new_types = dict(data_columns)
            cols = [{**c, "Type": new_types.get(c["Name"], c["Type"])} for c in sd.get("Columns", [])]
            cols += [{"Name": n, "Type": t} for n, t in data_columns if n not in known]
            if cols != sd.get("Columns", []):
                sd["Columns"] = cols
                keep = ("Name", "Description", "Owner", "Retention", "PartitionKeys", "TableType",
                        "Parameters", "ViewOriginalText", "ViewExpandedText")
                glue.update_table(DatabaseName=database, **cat, TableInput={
                    **{k: table[k] for k in keep if k in table}, "StorageDescriptor": sd})
                done["updated"] = True
        base = sd.get("Location") or base
        base = base if base.endswith("/") else base + "/"
        base_sd = {k: v for k, v in sd.items() if k != "Location"}
        existing_parts = {tuple(p["Values"]) for p in get_partitions(database, table_name,
                                                                      catalog_id=catalog_id)}
    new = [v for v in partition_values if tuple(v) not in existing_parts]
    for i in range(0, len(new), 100):
        chunk = new[i:i + 100]
        inputs = [{"Values": list(v), "StorageDescriptor": {
            **base_sd, "Location": base + "/".join(f"{k}={x}" for k, x in zip(table_keys, v)) + "/"}}
            for v in chunk]
        got = glue.batch_create_partition(DatabaseName=database, TableName=table_name,
                                          PartitionInputList=inputs, **cat)
        errors = [e for e in got.get("Errors", [])
                  if e.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"]
        if errors:
            detail = errors[0]["ErrorDetail"]
            raise RuntimeError(f"adding partition {errors[0].get('PartitionValues')} to "
                               f"{database}.{table_name} failed: {detail.get('ErrorCode')}: "
                               f"{detail.get('ErrorMessage')}")
        done["partitions_added"] += len(chunk) - len(got.get("Errors", []))
    return done
