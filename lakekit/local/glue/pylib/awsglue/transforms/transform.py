"""``GlueTransform``: the base of every transform class (``apply`` builds one and calls it)."""
from __future__ import annotations

from typing import Any

__all__ = ["GlueTransform"]


class GlueTransform:
    """Base class: subclasses define ``__call__``; ``Cls.apply(...)`` is ``Cls()(...)``."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        return cls()(*args, **kwargs)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    @classmethod
    def describeArgs(cls) -> list[dict]:  # noqa: N802
        return []

    @classmethod
    def describeReturn(cls) -> dict:  # noqa: N802
        return {"type": "DynamicFrame", "description": cls.describeTransform()}

    @classmethod
    def describeTransform(cls) -> str:  # noqa: N802
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]

    @classmethod
    def describeErrors(cls) -> list[dict]:  # noqa: N802
        return []

    @classmethod
    def describe(cls) -> dict:
        return {"transform": {"name": cls.name(), "args": cls.describeArgs(),
                              "returns": cls.describeReturn(), "description": cls.describeTransform(),
                              "raises": cls.describeErrors(), "location": "internal"}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__)

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __repr__(self) -> str:
        return f"<Transform: {self.name()}>"
