"""Field-level transforms: RenameField, DropFields, SelectFields, Join."""
from __future__ import annotations

from typing import Any

from .transform import GlueTransform

__all__ = ["DropFields", "Join", "RenameField", "SelectFields"]


class RenameField(GlueTransform):
    """Rename a node within a DynamicFrame (full paths; backticks around names holding dots)."""

    def __call__(self, frame: Any, old_name: str, new_name: str, transformation_ctx: str = "",
                 info: str = "", stageThreshold: int = 0, totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.rename_field(old_name, new_name, transformation_ctx, info, stageThreshold, totalThreshold)


class DropFields(GlueTransform):
    """Drop fields within a DynamicFrame."""

    def __call__(self, frame: Any, paths: Any, transformation_ctx: str = "", info: str = "",
                 stageThreshold: int = 0, totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.drop_fields(paths, transformation_ctx, info, stageThreshold, totalThreshold)


class SelectFields(GlueTransform):
    """Keep only the given fields of a DynamicFrame."""

    def __call__(self, frame: Any, paths: Any, transformation_ctx: str = "", info: str = "",
                 stageThreshold: int = 0, totalThreshold: int = 0) -> Any:  # noqa: N803
        return frame.select_fields(paths, transformation_ctx, info, stageThreshold, totalThreshold)


class Join(GlueTransform):
    """Equijoin two DynamicFrames on keys1 = keys2 (both frames' fields are kept)."""

    def __call__(self, frame1: Any, frame2: Any, keys1: Any, keys2: Any, transformation_ctx: str = "") -> Any:
        assert keys1 and keys2, "keys1 and keys2 must be provided"
        return frame1.join(keys1, keys2, frame2, transformation_ctx)
