"""Record and schema transforms: ApplyMapping, ResolveChoice, DropNullFields, Filter, Map, Relationalize, UnnestFrame, ErrorsAsDynamicFrame."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .transform import GlueTransform

__all__ = ["ApplyMapping", "DropNullFields", "ErrorsAsDynamicFrame", "Filter", "Map", "Relationalize",
           "ResolveChoice", "UnnestFrame"]


class ApplyMapping(GlueTransform):
    """Apply a declarative mapping (source path, source type, target path, target type) to a DynamicFrame."""

    def __call__(self, frame: Any, mappings: list, case_sensitive: bool = False, transformation_ctx: str = "",
                 info: str = "", stageThreshold: int = 0, totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.apply_mapping(mappings, case_sensitive, transformation_ctx, info, stageThreshold,
                                   totalThreshold)


class ResolveChoice(GlueTransform):
    """Resolve choice types: specs [(path, action)] or one choice for all (cast:, project:, make_struct, make_cols)."""

    def __call__(self, frame: Any, specs: Any = None, choice: str = "", database: str | None = None,
                 table_name: str | None = None, transformation_ctx: str = "", info: str = "",
                 stageThreshold: int = 0, totalThreshold: int = 0, catalog_id: str | None = None) -> Any:  # noqa: N803
        return frame.resolveChoice(specs, choice, database, table_name, transformation_ctx, info,
                                   stageThreshold, totalThreshold, catalog_id)


class DropNullFields(GlueTransform):
    """Drop all fields that are null (or missing) in every record of the DynamicFrame."""

    def __call__(self, frame: Any, transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
                 totalThreshold: int = 0) -> Any:  # noqa: N803
        from .._mapping import drop_null_fields
        from ..dynamicframe import DynamicFrame
        df, choices = drop_null_fields(frame._df, frame._choices)
        return DynamicFrame(df, frame.glue_ctx, frame.name, choice_paths=choices,
                            prior_errors=frame._all_errors())


class Filter(GlueTransform):
    """Keep the records for which f(record) is true."""

    def __call__(self, frame: Any, f: Callable, transformation_ctx: str = "", info: str = "",
                 stageThreshold: int = 0, totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.filter(f, transformation_ctx, info, stageThreshold, totalThreshold)


class Map(GlueTransform):
    """Build a new DynamicFrame by applying f to every record."""

    def __call__(self, frame: Any, f: Callable, preservesPartitioning: bool = False,  # noqa: N803
                 transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
                 totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.map(f, preservesPartitioning, transformation_ctx, info, stageThreshold, totalThreshold)


class Relationalize(GlueTransform):
    """Flatten nested structs and pivot arrays into child tables joined by id/index keys."""

    def __call__(self, frame: Any, staging_path: str | None = None, name: str = "roottable",
                 options: dict | None = None, transformation_ctx: str = "", info: str = "",
                 stageThreshold: int = 0, totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.relationalize(name, staging_path, options or {}, transformation_ctx, info,
                                   stageThreshold, totalThreshold)


class UnnestFrame(GlueTransform):
    """Flatten nested structs into top-level ``a.b`` fields."""

    def __call__(self, frame: Any, transformation_ctx: str = "", info: str = "", stageThreshold: int = 0,  # noqa: N803
                 totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.unnest(transformation_ctx, info, stageThreshold, totalThreshold)


class ErrorsAsDynamicFrame(GlueTransform):
    """The error records of every transformation up to this frame, as a DynamicFrame."""

    def __call__(self, frame: Any) -> Any:
        return frame.errorsAsDynamicFrame()
