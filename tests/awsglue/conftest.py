"""The local awsglue library (lakekit/local/glue/pylib) importable by these tests and by Spark's Python workers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

PYLIB = Path(__file__).resolve().parents[2] / "lakekit" / "local" / "glue" / "pylib"

if str(PYLIB) not in sys.path:
    sys.path.insert(0, str(PYLIB))
# Spark's Python workers import awsglue too (map/filter/JSON functions): they read PYTHONPATH.
if str(PYLIB) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PYLIB), os.environ.get("PYTHONPATH", "")) if p)
