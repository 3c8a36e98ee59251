"""``awsglue.dynamicframe``: DynamicFrame and DynamicFrameCollection over Spark DataFrames (Glue 5.0 API).

A DynamicFrame here is a Spark DataFrame plus the set of paths that hold unresolved *choice* types
(each such column is a struct with one field per type name, which is what ``toDF()`` shows on
Glue) plus the error records of the transformations that produced it. Records handed to ``map`` and
``filter`` functions are plain dicts (Glue's DynamicRecord behaves as one in Python); a record whose
function raises becomes an error record (``errorsCount``, ``stageErrorsCount``,
``errorsAsDynamicFrame``) and leaves the frame, as on Glue.
"""
from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from pyspark.sql import types as T  # noqa: N812

from . import gluetypes as gt
from ._paths import _norm, parse_path, rebuild, select_tree

__all__ = ["DynamicFrame", "DynamicFrameCollection", "ResolveOption"]

log = logging.getLogger(__name__)

ERROR_SCHEMA = T.StructType([T.StructField("error", T.StructType([
    T.StructField("msg", T.StringType()),
    T.StructField("stackTrace", T.StringType()),
    T.StructField("callsite", T.StructType([T.StructField("site", T.StringType()),
                                             T.StructField("info", T.StringType())])),
    T.StructField("input", T.StringType()),
]))])


class ResolveOption:
    """How ``toDF(options)`` resolves a choice: ``KeepAsStruct``, ``Project`` or ``Cast`` (with a target)."""

    def __init__(self, path: str, action: str, target: Any = None) -> None:
        self.path = path
        self.action = action
        self.target = target


def _plain(value: Any, dt: Any, path: tuple, choices: frozenset) -> Any:
    """Spark value -> record value: Rows become dicts, a choice struct becomes its one value."""
    if value is None:
        return None
    if isinstance(dt, T.StructType):
        if path in choices:
            for f in dt.fields:
                v = value[f.name]
                if v is not None:
                    return _plain(v, f.dataType, path + ("\0",), choices)
            return None
        return {f.name: _plain(value[f.name], f.dataType, path + (f.name,), choices) for f in dt.fields}
    if isinstance(dt, T.ArrayType):
        return [_plain(v, dt.elementType, path + ("[]",), choices) for v in value]
    if isinstance(dt, T.MapType):
        return {k: _plain(v, dt.valueType, path + ("{}",), choices) for k, v in value.items()}
    return value


def _error_tuple(rec: Any, exc: BaseException, site: str, info: str) -> tuple:
    try:
        text = json.dumps(rec, default=str)
    except (TypeError, ValueError):
        text = repr(rec)
    return ((f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)),
             (site, info), text),)


def _reconcile(t: gt.DataType, hint: gt.DataType | None) -> gt.DataType:
    """Keep the input's exact numeric kinds (a long stays long after map) where values still fit them."""
    if hint is None:
        return t
    if isinstance(t, gt.StructType) and isinstance(hint, gt.StructType):
        return gt.StructType([gt.Field(f.name, _reconcile(f.dataType, hint.getField(f.name).dataType
                                                           if hint.hasField(f.name) else None)) for f in t])
    if isinstance(t, gt.ArrayType) and isinstance(hint, gt.ArrayType):
        return gt.ArrayType(_reconcile(t.elementType, hint.elementType))
    if isinstance(t, gt.IntegerType) and isinstance(hint, (gt.LongType, gt.ShortType, gt.ByteType)):
        return hint
    if isinstance(t, gt.ChoiceType) and isinstance(hint, gt.LongType) and set(t.choices) == {"int", "long"}:
        return hint
    if isinstance(t, gt.DoubleType) and isinstance(hint, gt.FloatType):
        return hint
    if isinstance(t, gt.DecimalType) and isinstance(hint, gt.DecimalType):
        return hint
    return t


class DynamicFrame:
    """A Glue DynamicFrame backed by a Spark DataFrame.

    Constructor as Glue's: ``DynamicFrame(jdf, glue_ctx, name)``; here ``jdf`` is a PySpark DataFrame.
    """

    def __init__(self, jdf: Any, glue_ctx: Any, name: str = "", *, choice_paths: frozenset = frozenset(),
                 stage_errors: Any = None, prior_errors: tuple = ()) -> None:
        self._df = jdf
        self._jdf = jdf
        self.glue_ctx = glue_ctx
        self.name = name
        self._choices = frozenset(choice_paths)
        self._stage_errors = stage_errors
        self._prior_errors = tuple(prior_errors)

    # ------------------------------------------------------------------ construction / conversion
    @classmethod
    def fromDF(cls, dataframe: Any, glue_ctx: Any, name: str) -> DynamicFrame:  # noqa: N802
        return cls(dataframe, glue_ctx, name)

    def toDF(self, options: list[ResolveOption] | None = None) -> Any:  # noqa: N802
        """The Spark DataFrame; an unresolved choice is a struct with one field per type (as on Glue)."""
        if not options:
            return self._df
        specs = []
        for opt in options:
            action = str(opt.action).lower()
            if action == "keepasstruct":
                specs.append((opt.path, "make_struct"))
                continue
            if opt.target is None:
                raise ValueError(f"Missing target type for resolve action {opt.action}.")
            target = gt.from_spark(opt.target).typeName() if not isinstance(opt.target, str) else opt.target
            specs.append((opt.path, f"{'project' if action == 'project' else 'cast'}:{target}"))
        return self.resolveChoice(specs=specs).toDF()

    def _derive(self, df: Any, choices: frozenset | None = None, name: str | None = None,
                stage_errors: Any = None) -> DynamicFrame:
        return DynamicFrame(df, self.glue_ctx, self.name if name is None else name,
                            choice_paths=self._choices if choices is None else choices,
                            stage_errors=stage_errors, prior_errors=self._all_errors())

    def _all_errors(self) -> tuple:
        return self._prior_errors + ((self._stage_errors,) if self._stage_errors is not None else ())

    # ------------------------------------------------------------------ inspection
    def count(self) -> int:
        return int(self._df.count())

    def schema(self) -> gt.StructType:
        return gt.from_spark(self._df.schema, self._choices)

    def printSchema(self) -> None:  # noqa: N802
        print(gt.schema_tree_string(self.schema()))

    def _records(self) -> Any:
        schema, choices = self._df.schema, self._choices
        return self._df.rdd.map(lambda row: _plain(row, schema, (), choices))

    def show(self, num_rows: int = 20) -> None:
        """Records as JSON, one a line (Glue's DynamicFrame.show)."""
        for rec in self._records().take(num_rows):
            print(json.dumps({k: v for k, v in rec.items() if v is not None}, default=str))

    def getNumPartitions(self) -> int:  # noqa: N802
        return self._df.rdd.getNumPartitions()

    def repartition(self, num_partitions: int, transformation_ctx: str = "", info: str = "",
                    stageThreshold: int = 0, totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        return self._derive(self._df.repartition(num_partitions))

    def coalesce(self, num_partitions: int, shuffle: bool = False, transformation_ctx: str = "",
                 info: str = "", stageThreshold: int = 0, totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        return self._derive(self._df.coalesce(num_partitions))

    # ------------------------------------------------------------------ field transforms
    def select_fields(self, paths: str | list[str], transformation_ctx: str = "", info: str = "",
                      stageThreshold: int = 0, totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        paths = [paths] if isinstance(paths, str) else list(paths)
        parsed = [_norm(parse_path(p), self._df.schema) for p in paths]
        df = select_tree(self._df, parsed)
        kept = frozenset(c for c in self._choices if any(c[:len(p)] == p for p in parsed))
        return self._derive(df, kept)

    def drop_fields(self, paths: str | list[str], transformation_ctx: str = "", info: str = "",
                    stageThreshold: int = 0, totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        from ._mapping import drop_paths
        paths = [paths] if isinstance(paths, str) else list(paths)
        df, choices = drop_paths(self._df, self._choices, [parse_path(p) for p in paths])
        return self._derive(df, choices)

    def rename_field(self, oldName: str, newName: str, transformation_ctx: str = "", info: str = "",  # noqa: N803
                     stageThreshold: int = 0, totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        old = _norm(parse_path(oldName), self._df.schema)
        new = parse_path(newName)
        from ._paths import field_at
        if field_at(self._df.schema, old) is None:
            return self._derive(self._df)  # no record has the field: nothing to rename
        if new != old and field_at(self._df.schema, _norm(new, self._df.schema)) is not None:
            raise ValueError(f"rename_field: {newName!r} already exists; drop_fields it first or pick another name")
        if new[:-1] == old[:-1]:
            df = rebuild(self._df, {old: lambda col, field, _n=new[-1]: [(_n, col)]})
        else:
            from pyspark.sql import functions as F  # noqa: N812

            from ._mapping import drop_paths
            ref = F.col(f"`{old[0]}`")
            for s in old[1:]:
                ref = ref.getField(s)
            moved, _ = drop_paths(self._df.withColumn("__lakekit_mv", ref), frozenset(), [old])
            df = self._place(moved, new)
        choices = frozenset(new + c[len(old):] if c[:len(old)] == old else c for c in self._choices)
        return self._derive(df, choices)

    @staticmethod
    def _place(df: Any, new: tuple) -> Any:
        from pyspark.sql import functions as F  # noqa: N812
        mv = F.col("__lakekit_mv")
        if len(new) == 1:
            return df.withColumnRenamed("__lakekit_mv", new[0])
        top = new[0]
        if top in df.columns:
            out = df.withColumn(top, F.col(f"`{top}`").withField(".".join(f"`{s}`" for s in new[1:]), mv))
        else:
            expr = mv
            for s in reversed(new[1:]):
                expr = F.struct(expr.alias(s))
            out = df.withColumn(top, expr)
        return out.drop("__lakekit_mv")

    def apply_mapping(self, mappings: list, case_sensitive: bool = False, transformation_ctx: str = "",
                      info: str = "", stageThreshold: int = 0, totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        from ._mapping import apply_mapping
        df, choices = apply_mapping(self._df, self._choices, mappings, case_sensitive)
        return self._derive(df, choices)

    def applyMapping(self, *args: Any, **kwargs: Any) -> DynamicFrame:  # noqa: N802
        return self.apply_mapping(*args, **kwargs)

    def resolveChoice(self, specs: list[tuple[str, str]] | None = None, choice: str = "",  # noqa: N802
                      database: str | None = None, table_name: str | None = None,
                      transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
                      totalThreshold: int = 0, catalog_id: str | None = None) -> DynamicFrame:  # noqa: N803
        from ._mapping import resolve_choice
        df, choices = resolve_choice(self._df, self._choices, specs, choice)
        return self._derive(df, choices)

    def unnest(self, transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
               totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        from ._relational import unnest
        df, choices = unnest(self._df, self._choices)
        return self._derive(df, choices)

    def relationalize(self, root_table_name: str, staging_path: str, options: dict | None = None,
                      transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
                      totalThreshold: int = 0) -> DynamicFrameCollection:  # noqa: N803
        from ._relational import relationalize
        df = self.resolveChoice(choice="make_struct")._df if self._choices else self._df
        tables = relationalize(df, frozenset(), root_table_name)
        return DynamicFrameCollection({n: DynamicFrame(t, self.glue_ctx, n, prior_errors=self._all_errors())
                                       for n, t in tables.items()}, self.glue_ctx)

    def join(self, paths1: str | list[str], paths2: str | list[str], frame2: DynamicFrame,
             transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
             totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        paths1 = [paths1] if isinstance(paths1, str) else list(paths1)
        paths2 = [paths2] if isinstance(paths2, str) else list(paths2)
        if len(paths1) != len(paths2) or not paths1:
            raise ValueError(f"join needs as many keys in frame1 as in frame2 (got {paths1} and {paths2})")
        left, right = self._df, frame2._df
        same = [a for a, b in zip(paths1, paths2, strict=True) if a == b]
        clash = (set(left.columns) & set(right.columns)) - set(same)
        if clash:
            raise ValueError(f"join: both frames have field(s) {sorted(clash)}; rename_field or drop_fields "
                             f"one side first (a DynamicRecord holds each field once)")
        cond = None
        for a, b in zip(paths1, paths2, strict=True):
            c = left[f"`{a}`"] == right[f"`{b}`"]
            cond = c if cond is None else cond & c
        joined = left.join(right, cond, "inner")
        cols = [left[f"`{c}`"] for c in left.columns] + [right[f"`{c}`"] for c in right.columns
                                                         if c not in same]
        df = joined.select(*cols)
        return DynamicFrame(df, self.glue_ctx, self.name + frame2.name,
                            choice_paths=self._choices | frame2._choices,
                            prior_errors=self._all_errors() + frame2._all_errors())

    def write(self, connection_type: str, connection_options: dict | None = None, format: str | None = None,  # noqa: A002
              format_options: dict | None = None, accumulator_size: int = 0) -> Any:
        """Write through the GlueContext's writer (as Glue's ``DynamicFrame.write``)."""
        return self.glue_ctx.write_from_options(frame_or_dfc=self, connection_type=connection_type,
                                                connection_options=connection_options or {},
                                                format=format, format_options=format_options or {},
                                                accumulator_size=accumulator_size)

    # ------------------------------------------------------------------ record functions
    def _run(self, fn: Callable[[dict], tuple], site: str, info: str):
        schema, choices = self._df.schema, self._choices

        def part(rows: Iterable) -> Iterable:
            for row in rows:
                rec = _plain(row, schema, (), choices)
                try:
                    yield fn(row, rec)
                except Exception as exc:  # the record becomes an error record, as on Glue
                    yield (False, _error_tuple(rec, exc, site, info))
        return self._df.rdd.mapPartitions(part).cache()

    def _errors_of(self, results: Any) -> Any:
        spark = self._df.sparkSession
        return spark.createDataFrame(results.filter(lambda t: t[0] is False).map(lambda t: t[1]), ERROR_SCHEMA)

    def _check(self, frame: DynamicFrame, stage_threshold: int, total_threshold: int, what: str) -> None:
        if stage_threshold and frame.stageErrorsCount() > stage_threshold:
            raise RuntimeError(f"{what}: {frame.stageErrorsCount()} error records exceed stageThreshold "
                               f"{stage_threshold}; see errorsAsDynamicFrame()")
        if total_threshold and frame.errorsCount() > total_threshold:
            raise RuntimeError(f"{what}: {frame.errorsCount()} error records exceed totalThreshold "
                               f"{total_threshold}; see errorsAsDynamicFrame()")

    def map(self, f: Callable[[dict], dict], preservesPartitioning: bool = False,  # noqa: N803
            transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
            totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        """Apply ``f`` to every record (a dict); a record whose ``f`` raises becomes an error record."""
        from ._choice import _finalize, _merge_all, _partition_schema, to_row

        def apply(_row: Any, rec: dict) -> tuple:
            out = f(rec)
            if not isinstance(out, dict):
                raise TypeError(f"the map function must return a DynamicRecord (dict), got {type(out).__name__}")
            return (True, out)
        results = self._run(apply, "map", info)
        ok = results.filter(lambda t: t[0] is True).map(lambda t: t[1])
        merged = _finalize(_merge_all(ok.mapPartitions(_partition_schema).collect()))
        schema = _reconcile(merged, self.schema())
        spark = self._df.sparkSession
        df = spark.createDataFrame(ok.map(lambda rec, _s=schema: to_row(rec, _s)), gt.to_spark(schema))
        frame = self._derive(df, frozenset(gt.choice_paths_of(schema)), stage_errors=self._errors_of(results))
        self._check(frame, stageThreshold, totalThreshold, "map")
        return frame

    def filter(self, f: Callable[[dict], bool], transformation_ctx: str = "", info: str = "",
               stageThreshold: int = 0, totalThreshold: int = 0) -> DynamicFrame:  # noqa: N803
        """Keep records for which ``f`` is true; a record whose ``f`` raises becomes an error record."""
        results = self._run(lambda row, rec: (True, row) if f(rec) else (None, None), "filter", info)
        spark = self._df.sparkSession
        df = spark.createDataFrame(results.filter(lambda t: t[0] is True).map(lambda t: t[1]), self._df.schema)
        frame = self._derive(df, stage_errors=self._errors_of(results))
        self._check(frame, stageThreshold, totalThreshold, "filter")
        return frame

    # ------------------------------------------------------------------ errors
    def errorsCount(self) -> int:  # noqa: N802
        return sum(int(e.count()) for e in self._all_errors())

    def stageErrorsCount(self) -> int:  # noqa: N802
        return int(self._stage_errors.count()) if self._stage_errors is not None else 0

    def errorsAsDynamicFrame(self) -> DynamicFrame:  # noqa: N802
        errors = self._all_errors()
        if not errors:
            return DynamicFrame(self._df.sparkSession.createDataFrame([], ERROR_SCHEMA), self.glue_ctx, self.name)
        df = errors[0]
        for e in errors[1:]:
            df = df.unionByName(e)
        return DynamicFrame(df, self.glue_ctx, self.name)

    def assertErrorThreshold(self) -> None:  # noqa: N802
        return None

    def __repr__(self) -> str:
        return f"DynamicFrame(name={self.name!r}, columns={self._df.columns})"


class DynamicFrameCollection:
    """Named DynamicFrames (what relationalize returns); ``select`` of an unknown key gives an empty frame."""

    def __init__(self, dynamic_frames: dict[str, DynamicFrame] | list[DynamicFrame], glue_ctx: Any) -> None:
        self._glue_ctx = glue_ctx
        if isinstance(dynamic_frames, list):
            self._df_dict = {df.name: df for df in dynamic_frames}
        elif isinstance(dynamic_frames, dict):
            self._df_dict = dict(dynamic_frames)
        else:
            raise TypeError("dynamic_frames must be list or dict.")

    def __getitem__(self, key: str) -> DynamicFrame:
        return self._df_dict[key]

    def __len__(self) -> int:
        return len(self._df_dict)

    def __iter__(self):
        return iter(self._df_dict)

    def keys(self):
        return self._df_dict.keys()

    def values(self):
        return self._df_dict.values()

    def select(self, key: str, transformation_ctx: str = "") -> DynamicFrame:
        if key in self._df_dict:
            return self._df_dict[key]
        spark = self._glue_ctx.spark_session
        return DynamicFrame(spark.createDataFrame([], T.StructType([])), self._glue_ctx, key)

    def map(self, callable: Callable[[DynamicFrame, str], DynamicFrame],  # noqa: A002
            transformation_ctx: str = "") -> DynamicFrameCollection:
        out = {}
        for k, v in self._df_dict.items():
            res = callable(v, f"{transformation_ctx}:{k}")
            if not isinstance(res, DynamicFrame):
                raise TypeError(f"callable must return a DynamicFrame. Got {type(res)}")
            out[k] = res
        return DynamicFrameCollection(out, self._glue_ctx)

    def flatmap(self, f: Callable, transformation_ctx: str = "") -> DynamicFrameCollection:
        out: dict[str, DynamicFrame] = {}
        for frame in self._df_dict.values():
            res = f(frame, f"{transformation_ctx}:{frame.name}")
            if isinstance(res, DynamicFrame):
                out[res.name] = res
            elif isinstance(res, DynamicFrameCollection):
                out.update(res._df_dict)
            else:
                raise TypeError(f"Function argument to flatmap must return DynamicFrame or "
                                f"DynamicFrameCollection. Got {type(res)}")
        return DynamicFrameCollection(out, self._glue_ctx)
