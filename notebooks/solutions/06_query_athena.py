"""Solutions of notebook 06's exercises: the cheapest query, and what Athena bills for one."""
from __future__ import annotations

import math

from lakekit import athena, deploy, exercises


def solve_06_1() -> str:
    """Partition keys as strings prune to one folder; count(*) plus origin reads one column."""
    return ("SELECT count(*) AS flights FROM flights "
            "WHERE year = '2013' AND month = '7' AND day = '4' AND origin = 'LGA'")


def solve_06_2() -> float:
    """Bytes scanned, rounded up to the MB, at least 10 MB, at $5 per TB (2^40 bytes)."""
    out = deploy.outputs()
    _rows, stats = athena.query(exercises.SQL_0602, out["DatabaseName"], out["EngineersWorkGroup"],
                                progress=False)
    billed_mb = max(math.ceil(stats.data_scanned_bytes / 1024**2), 10)
    return billed_mb * 1024**2 / 1024**4 * 5.0
