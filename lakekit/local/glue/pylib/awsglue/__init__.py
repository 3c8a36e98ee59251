"""Local stand-in for AWS Glue 5.0's ``awsglue`` package (see ../README.md): never deployed."""
from __future__ import annotations

from .dynamicframe import DynamicFrame, DynamicFrameCollection

__all__ = ["DynamicFrame", "DynamicFrameCollection"]
