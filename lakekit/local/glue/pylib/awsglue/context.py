"""``awsglue.context.GlueContext`` of Glue 5.0, locally (S3 through the run's stage, see ``_s3``).

Example (Glue's documented style)::

    sc = SparkContext.getOrCreate()
    glue_ctx = GlueContext(sc)
    dyf = glue_ctx.create_dynamic_frame.from_options(
        connection_type="s3", connection_options={"paths": ["s3://raw/in/"], "recurse": True},
        format="csv", format_options={"withHeader": True}, transformation_ctx="src")
    sink = glue_ctx.getSink(connection_type="s3", path="s3://curated/t/", enableUpdateCatalog=True,
                            partitionKeys=["year"])
    sink.setCatalogInfo(catalogDatabase="db", catalogTableName="t")
    sink.setFormat("glueparquet")
    sink.writeFrame(dyf)
"""
from __future__ import annotations

import datetime as _dt
import logging
import sys
import time
from typing import Any

from . import _catalog
from ._readers import (
    glue_columns,
    list_sources,
    partition_values,
    read_files,
    read_with_choices,
    write_frame_df,
)
from ._s3 import StageView
from .dynamicframe import DynamicFrame

__all__ = ["GlueContext", "DataSink", "GlueLogger"]

log = logging.getLogger(__name__)


class GlueLogger:
    """``glueContext.get_logger()``: log4j-shaped lines on stderr (Glue routes them to ``/error``)."""

    def _emit(self, level: str, msg: Any) -> None:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%y/%m/%d %H:%M:%S")
        sys.stderr.write(f"{stamp} {level} GlueLogger: {msg}\n")
        sys.stderr.flush()

    def info(self, msg: Any) -> None:
        self._emit("INFO", msg)

    def warn(self, msg: Any) -> None:
        self._emit("WARN", msg)

    warning = warn

    def error(self, msg: Any) -> None:
        self._emit("ERROR", msg)


def _s3_only(connection_type: str) -> None:
    if (connection_type or "").lower() != "s3":
        raise ValueError(f"connection_type {connection_type!r} is not provided by the local awsglue: "
                         f"only 's3' (and the Data Catalog) are; Glue's JDBC, DynamoDB, Kinesis, "
                         f"... connections need AWS.")


class _DynamicFrameReader:
    def __init__(self, ctx: GlueContext) -> None:
        self._ctx = ctx

    def from_options(self, connection_type: str, connection_options: dict[str, Any] | None = None,
                     format: str | None = None, format_options: dict[str, Any] | None = None,
                     transformation_ctx: str = "", push_down_predicate: str = "",
                     **kwargs: Any) -> DynamicFrame:
        return self._ctx.create_dynamic_frame_from_options(
            connection_type, connection_options or {}, format, format_options or {},
            transformation_ctx, push_down_predicate, **kwargs)

    def from_catalog(self, database: str | None = None, table_name: str | None = None,
                     redshift_tmp_dir: str = "", transformation_ctx: str = "",
                     push_down_predicate: str = "", additional_options: dict[str, Any] | None = None,
                     catalog_id: str | None = None, **kwargs: Any) -> DynamicFrame:
        return self._ctx.create_dynamic_frame_from_catalog(
            database or kwargs.pop("name_space", None), table_name, redshift_tmp_dir,
            transformation_ctx, push_down_predicate, additional_options or {}, catalog_id, **kwargs)


class _DataFrameReader:
    def __init__(self, ctx: GlueContext) -> None:
        self._ctx = ctx

    def from_catalog(self, database: str | None = None, table_name: str | None = None,
                     redshift_tmp_dir: str = "", transformation_ctx: str = "",
                     push_down_predicate: str = "", additional_options: dict[str, Any] | None = None,
                     catalog_id: str | None = None, **kwargs: Any) -> Any:
        return self._ctx.create_dynamic_frame_from_catalog(
            database or kwargs.pop("name_space", None), table_name, redshift_tmp_dir,
            transformation_ctx, push_down_predicate, additional_options or {}, catalog_id,
            **kwargs).toDF()

    def from_options(self, connection_type: str, connection_options: dict[str, Any] | None = None,
                     format: str | None = None, format_options: dict[str, Any] | None = None,
                     transformation_ctx: str = "", **kwargs: Any) -> Any:
        return self._ctx.create_dynamic_frame_from_options(
            connection_type, connection_options or {}, format, format_options or {},
            transformation_ctx, **kwargs).toDF()


class _DynamicFrameWriter:
    def __init__(self, ctx: GlueContext) -> None:
        self._ctx = ctx

    def from_options(self, frame: DynamicFrame, connection_type: str,
                     connection_options: dict[str, Any] | None = None, format: str | None = None,
                     format_options: dict[str, Any] | None = None,
                     transformation_ctx: str = "") -> DynamicFrame:
        return self._ctx.write_dynamic_frame_from_options(
            frame, connection_type, connection_options or {}, format, format_options or {},
            transformation_ctx)

    def from_catalog(self, frame: DynamicFrame, database: str | None = None,
                     table_name: str | None = None, redshift_tmp_dir: str = "",
                     transformation_ctx: str = "", additional_options: dict[str, Any] | None = None,
                     catalog_id: str | None = None, **kwargs: Any) -> DynamicFrame:
        return self._ctx.write_dynamic_frame_from_catalog(
            frame, database or kwargs.pop("name_space", None), table_name, redshift_tmp_dir,
            transformation_ctx, additional_options or {}, catalog_id)


class DataSink:
    """What ``getSink`` returns: ``setCatalogInfo`` / ``setFormat`` / ``writeFrame``."""

    def __init__(self, ctx: GlueContext, connection_type: str, options: dict[str, Any],
                 transformation_ctx: str = "", format: str | None = None) -> None:
        _s3_only(connection_type)
        self._ctx = ctx
        self.options = dict(options)
        self.transformation_ctx = transformation_ctx
        self.format = format
        self.format_options: dict[str, Any] = {}
        self.database: str | None = None
        self.table_name: str | None = None
        self.catalog_id: str | None = None

    def setCatalogInfo(self, catalogDatabase: str, catalogTableName: str,  # noqa: N802,N803
                       catalogId: str | None = None) -> None:  # noqa: N803
        self.database, self.table_name, self.catalog_id = catalogDatabase, catalogTableName, catalogId

    def setFormat(self, format: str, **options: Any) -> None:  # noqa: N802
        self.format, self.format_options = format, dict(options)

    def writeFrame(self, dynamic_frame: DynamicFrame, info: str = "") -> DynamicFrame:  # noqa: N802
        if not self.format:
            raise ValueError("the sink has no format: call sink.setFormat('glueparquet' | 'parquet' | "
                             "'csv' | 'json') before writeFrame.")
        self._ctx._write_s3(dynamic_frame, self.options, self.format, self.format_options,
                            catalog=(self.database, self.table_name, self.catalog_id)
                            if _truthy(self.options.get("enableUpdateCatalog")) else None)
        return dynamic_frame


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class GlueContext:
    """Glue's entry point: ``GlueContext(SparkContext.getOrCreate())``."""

    def __init__(self, sparkContext: Any, **options: Any) -> None:  # noqa: N803
        from pyspark.sql import SparkSession

        self._sc = sparkContext
        self.spark_session = SparkSession(sparkContext) if sparkContext is not None else \
            SparkSession.builder.getOrCreate()
        self.options = options
        self.stage = StageView()
        self.bookmarks: Any = None   # set by Job.init
        self.create_dynamic_frame = _DynamicFrameReader(self)
        self.create_data_frame = _DataFrameReader(self)
        self.write_dynamic_frame = _DynamicFrameWriter(self)

    @property
    def sparkSession(self) -> Any:  # noqa: N802
        return self.spark_session

    def get_logger(self) -> GlueLogger:
        return GlueLogger()

    # -- reading ------------------------------------------------------------------------
    def _select(self, ctx: str, objects: list[Any], options: dict[str, Any]) -> list[Any]:
        if self.bookmarks is None:
            return objects
        band = int(options.get("maxBand") or 900_000)
        return self.bookmarks.select(ctx, objects, band)

    def create_dynamic_frame_from_options(self, connection_type: str,
                                          connection_options: dict[str, Any] | None = None,
                                          format: str | None = None,
                                          format_options: dict[str, Any] | None = None,
                                          transformation_ctx: str = "", push_down_predicate: str = "",
                                          **kwargs: Any) -> DynamicFrame:
        _s3_only(connection_type)
        if not format:
            raise ValueError("format is required for connection_type 's3': pass format='csv', "
                             "'json' or 'parquet'.")
        options = connection_options or {}
        objects = self._select(transformation_ctx, list_sources(self.stage, options), options)
        df, choices = read_with_choices(self, objects, format, format_options or {}, transformation_ctx)
        return DynamicFrame(df, self, transformation_ctx, choice_paths=choices)

    def create_dynamic_frame_from_catalog(self, database: str | None = None,
                                          table_name: str | None = None, redshift_tmp_dir: str = "",
                                          transformation_ctx: str = "", push_down_predicate: str = "",
                                          additional_options: dict[str, Any] | None = None,
                                          catalog_id: str | None = None, **kwargs: Any) -> DynamicFrame:
        from pyspark.sql import functions as F

        if not database or not table_name:
            raise ValueError("from_catalog needs database and table_name.")
        opts = additional_options or {}
        table = _catalog.get_table(database, table_name, catalog_id)
        fmt = _catalog.table_format(table)
        sd = table.get("StorageDescriptor") or {}
        columns = [(c["Name"], c["Type"]) for c in sd.get("Columns", [])]
        keys = [(k["Name"], k.get("Type", "string")) for k in table.get("PartitionKeys", [])]
        serde = (sd.get("SerdeInfo") or {}).get("Parameters") or {}
        tparams = table.get("Parameters") or {}
        fo: dict[str, Any] = {}
        if fmt == "csv":
            fo = {"separator": serde.get("field.delim") or serde.get("separatorChar") or ",",
                  "quoteChar": serde.get("quoteChar", '"'),
                  "withHeader": str(tparams.get("skip.header.line.count", "0")) == "1"}
        recurse = {"recurse": opts.get("recurse", True)}
        if keys:
            predicate = " AND ".join(p for p in (push_down_predicate,
                                                 opts.get("catalogPartitionPredicate")) if p)
            parts = _catalog.get_partitions(database, table_name, predicate or None, catalog_id)
            located = []
            for part in parts:
                loc = (part.get("StorageDescriptor") or {}).get("Location")
                if loc:
                    located.append((part["Values"], list_sources(self.stage, {"paths": [loc], **recurse})))
            everything = [o for _, objs in located for o in objs]
            chosen = {o.uri for o in self._select(transformation_ctx, everything, opts)}
            frames = []
            for values, objs in located:
                picked = [o for o in objs if o.uri in chosen]
                if not picked:
                    continue
                df = read_files(self, picked, fmt, fo, transformation_ctx,
                                columns if fmt == "csv" else None)
                for (k, t), v in zip(keys, values):
                    df = df.withColumn(k, F.lit(v).cast(t))
                frames.append(df)
            if not frames:
                from ._readers import empty_df

                return DynamicFrame.fromDF(empty_df(self.spark_session, columns + keys), self,
                                           transformation_ctx)
            df = frames[0]
            for other in frames[1:]:
                df = df.unionByName(other, allowMissingColumns=True)
        else:
            location = sd.get("Location")
            if not location:
                raise ValueError(f"table {database}.{table_name} has no StorageDescriptor.Location.")
            objects = self._select(transformation_ctx,
                                   list_sources(self.stage, {"paths": [location], **recurse}), opts)
            df = read_files(self, objects, fmt, fo, transformation_ctx,
                            columns if fmt == "csv" else None)
        return DynamicFrame.fromDF(df, self, transformation_ctx)

    # -- writing ------------------------------------------------------------------------
    def _write_s3(self, frame: DynamicFrame, options: dict[str, Any], fmt: str,
                  format_options: dict[str, Any],
                  catalog: tuple[str | None, str | None, str | None] | None = None) -> None:
        path = options.get("path")
        table = None
        if catalog is not None:
            database, table_name, catalog_id = catalog
            if not database or not table_name:
                raise ValueError("enableUpdateCatalog needs the table: call "
                                 "sink.setCatalogInfo(catalogDatabase=..., catalogTableName=...).")
            try:
                table = _catalog.get_table(database, table_name, catalog_id)
            except _catalog.glue_client().exceptions.EntityNotFoundException:
                table = None
            if not path and table is not None:
                path = (table.get("StorageDescriptor") or {}).get("Location")
        if not path:
            raise ValueError("connection_options['path'] is required for an S3 write: pass "
                             "{'path': 's3://bucket/prefix/'}.")
        keys = list(options.get("partitionKeys") or [])
        df = frame.toDF() if isinstance(frame, DynamicFrame) else frame
        local = self.stage.write_dir(path)
        write_frame_df(df, local, fmt, keys, options.get("compression"), format_options)
        if catalog is None:
            return
        database, table_name, catalog_id = catalog
        location = path if str(path).startswith("s3") else "s3://" + "/".join(self.stage.to_s3(path) or ())
        schema = {f.name: f for f in df.schema.fields}
        done = _catalog.update_catalog(
            database, table_name, location, "parquet" if fmt == "glueparquet" else fmt,
            glue_columns(df.schema, keys),
            [(k, schema[k].dataType.simpleString()) for k in keys],
            partition_values(df, keys), options.get("updateBehavior", "UPDATE_IN_DATABASE"),
            {"field.delim": format_options.get("separator", ",")} if fmt == "csv" else None,
            catalog_id)
        log.info("catalog %s.%s: %s", database, table_name, done)

    def write_dynamic_frame_from_options(self, frame: DynamicFrame, connection_type: str,
                                         connection_options: dict[str, Any] | None = None,
                                         format: str | None = None,
                                         format_options: dict[str, Any] | None = None,
                                         transformation_ctx: str = "") -> DynamicFrame:
        _s3_only(connection_type)
        if not format:
            raise ValueError("format is required for an S3 write: pass format='parquet', "
                             "'glueparquet', 'csv' or 'json'.")
        self._write_s3(frame, connection_options or {}, format, format_options or {})
        return frame

    def write_dynamic_frame_from_catalog(self, frame: DynamicFrame, database: str | None = None,
                                         table_name: str | None = None, redshift_tmp_dir: str = "",
                                         transformation_ctx: str = "",
                                         additional_options: dict[str, Any] | None = None,
                                         catalog_id: str | None = None, **kwargs: Any) -> DynamicFrame:
        if not database or not table_name:
            raise ValueError("write_dynamic_frame.from_catalog needs database and table_name.")
        opts = additional_options or {}
        table = _catalog.get_table(database, table_name, catalog_id)
        sd = table.get("StorageDescriptor") or {}
        fmt = _catalog.table_format(table)
        options = {**opts, "path": sd.get("Location")}
        fo = {"separator": ((sd.get("SerdeInfo") or {}).get("Parameters") or {}).get("field.delim", ",")} \
            if fmt == "csv" else {}
        self._write_s3(frame, options, fmt, fo,
                       catalog=(database, table_name, catalog_id)
                       if _truthy(opts.get("enableUpdateCatalog")) else None)
        return frame

    def getSink(self, connection_type: str, format: str | None = None,  # noqa: N802
                transformation_ctx: str = "", **options: Any) -> DataSink:
        return DataSink(self, connection_type, options, transformation_ctx, format)

    # -- purge --------------------------------------------------------------------------
    def purge_s3_path(self, s3_path: str, options: dict[str, Any] | None = None,
                      transformation_ctx: str = "") -> None:
        """Delete objects under ``s3_path`` (recursively) older than ``retentionPeriod`` hours
        (default 168) whose storage class is not in ``excludeStorageClasses``. Locally the
        deletes happen when the run succeeds."""
        opts = options or {}
        loc = self.stage.to_s3(s3_path)
        if loc is None:
            raise ValueError(f"purge_s3_path needs an s3:// path, got {s3_path!r}.")
        bucket, prefix = loc
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        hours = float(opts.get("retentionPeriod", 168))
        excluded = set(opts.get("excludeStorageClasses") or [])
        cutoff = int((time.time() - hours * 3600) * 1000)
        purged = 0
        for obj in self.stage.objects_under(bucket, prefix):
            if obj.key.endswith("/") or obj.storage_class in excluded or obj.last_modified >= cutoff:
                continue
            self.stage.delete(obj)
            purged += 1
        log.info("purge_s3_path %s: %d object(s) purged", s3_path, purged)
