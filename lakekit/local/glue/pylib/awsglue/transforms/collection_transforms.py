"""Transforms over a DynamicFrameCollection: SelectFromCollection, MapToCollection, FlatMap."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .transform import GlueTransform

__all__ = ["FlatMap", "MapToCollection", "SelectFromCollection"]


class SelectFromCollection(GlueTransform):
    """One DynamicFrame of a DynamicFrameCollection by key."""

    def __call__(self, dfc: Any, key: str, transformation_ctx: str = "") -> Any:
        return dfc.select(key, transformation_ctx)


class MapToCollection(GlueTransform):
    """Apply a transform (callable(frame, ctx) -> DynamicFrame) to each frame of a collection."""

    def __call__(self, dfc: Any, callable: Callable, transformation_ctx: str = "") -> Any:  # noqa: A002
        return dfc.map(callable, transformation_ctx)


class FlatMap(GlueTransform):
    """Apply a transform to each frame of a collection and flatten the results into one collection."""

    def __call__(self, dfc: Any, BaseTransform: Any, frame_name: str = "frame",  # noqa: N803
                 transformation_ctx: str = "", **base_kwargs: Any) -> Any:
        def apply(frame: Any, ctx: str) -> Any:
            return BaseTransform.apply(**{frame_name: frame, "transformation_ctx": ctx}, **base_kwargs)
        return dfc.flatmap(apply, transformation_ctx)
