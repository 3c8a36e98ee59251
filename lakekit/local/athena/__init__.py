"""Local Athena: Athena/Trino SQL over the Glue catalog and S3, executed in DuckDB."""
from __future__ import annotations

from .engine import (
    CUTOFF_MESSAGE,
    AccessDeniedError,
    AthenaQueryError,
    Cancellation,
    ColumnInfo,
    QueryEngine,
    QueryResult,
    TableAccess,
    format_value,
    write_results_csv,
    write_results_text,
)

__all__ = [
    "CUTOFF_MESSAGE",
    "AccessDeniedError",
    "AthenaQueryError",
    "Cancellation",
    "ColumnInfo",
    "QueryEngine",
    "QueryResult",
    "TableAccess",
    "format_value",
    "write_results_csv",
    "write_results_text",
]
