"""``awsglue.transforms``: Glue's transform classes (``from awsglue.transforms import *`` as in Glue scripts)."""
from __future__ import annotations

import json

from .collection_transforms import FlatMap, MapToCollection, SelectFromCollection
from .field_transforms import DropFields, Join, RenameField, SelectFields
from .record_transforms import (
    ApplyMapping,
    DropNullFields,
    ErrorsAsDynamicFrame,
    Filter,
    Map,
    Relationalize,
    ResolveChoice,
    UnnestFrame,
)
from .transform import GlueTransform

ALL_TRANSFORMS = {ApplyMapping, DropFields, DropNullFields, ErrorsAsDynamicFrame, Filter, FlatMap, Join,
                  Map, MapToCollection, Relationalize, RenameField, ResolveChoice, SelectFields,
                  SelectFromCollection, UnnestFrame}

__all__ = sorted(t.__name__ for t in ALL_TRANSFORMS) + ["GlueTransform"]


def get_transforms() -> set:
    return {t() for t in ALL_TRANSFORMS}


def get_transform(name: str):
    found = [t for t in get_transforms() if t.name().lower() == name.lower()]
    return found[0] if found else None


def describe_transform(name: str) -> str:
    transform = get_transform(name)
    return json.dumps(transform.describe() if transform else {}, sort_keys=True, indent=4,
                      separators=(",", ": "))
