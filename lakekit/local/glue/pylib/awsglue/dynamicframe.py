"""``awsglue.dynamicframe``: DynamicFrame over a Spark DataFrame (skeleton; filled in by the DynamicFrame work)."""
from __future__ import annotations

from typing import Any

__all__ = ["DynamicFrame"]


class DynamicFrame:
    """A Glue DynamicFrame backed by a Spark DataFrame.

    Constructor as Glue's: ``DynamicFrame(jdf, glue_ctx, name)``; here ``jdf`` is a PySpark DataFrame.
    """

    def __init__(self, jdf: Any, glue_ctx: Any, name: str = "") -> None:
        self._df = jdf
        self.glue_ctx = glue_ctx
        self.name = name

    @classmethod
    def fromDF(cls, dataframe: Any, glue_ctx: Any, name: str) -> DynamicFrame:  # noqa: N802
        return cls(dataframe, glue_ctx, name)

    def toDF(self, options: Any = None) -> Any:  # noqa: N802
        return self._df

    def count(self) -> int:
        return int(self._df.count())
