"""Reading JSON into a DynamicFrame, with Glue's choice types (skeleton; the DynamicFrame work fills it in).

Interface shared by ``context.py`` (the readers) and ``dynamicframe.py``::

    frame = json_frame(glue_ctx, ["/local/stage/raw/planes/"], {"multiline": False}, "planes")

A field whose values have more than one type across records becomes a *choice*: in the frame it is
held as a struct with one field per type name (``int``, ``string``, ...), as ``DynamicFrame.toDF()``
shows an unresolved choice on Glue.
"""
from __future__ import annotations

from typing import Any

from .dynamicframe import DynamicFrame

__all__ = ["json_frame"]


def json_frame(glue_ctx: Any, paths: list[str], options: dict[str, Any], name: str) -> DynamicFrame:
    reader = glue_ctx.spark_session.read
    if options.get("multiline") or options.get("multiLine"):
        reader = reader.option("multiLine", "true")
    return DynamicFrame.fromDF(reader.json(paths), glue_ctx, name)
