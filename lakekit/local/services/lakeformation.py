"""Registers the Lake Formation executors and Glue observers of :mod:`lakekit.local.lakeformation`.

The registry discovers every module of :mod:`lakekit.local.services`; this one only imports
the package's executor modules so their ``@operation`` / ``@observer`` decorators run.
"""
from __future__ import annotations

import importlib

from lakekit.local.lakeformation import EXECUTOR_MODULES

__all__ = ["MODULES"]

MODULES = [importlib.import_module(f"lakekit.local.lakeformation.{name}") for name in EXECUTOR_MODULES]
