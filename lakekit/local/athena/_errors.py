"""Errors raised by the local Athena engine (shaped like Athena's ``AthenaError``)."""
from __future__ import annotations

__all__ = ["AthenaQueryError", "AccessDeniedError", "USER_ERROR", "SYSTEM_ERROR"]

SYSTEM_ERROR = 1
USER_ERROR = 2

# Athena's numeric ErrorType values (AthenaError.ErrorType) for the Trino error names we emit.
_ERROR_TYPE_CODES = {
    "SYNTAX_ERROR": 1000,
    "TABLE_NOT_FOUND": 1000,
    "COLUMN_NOT_FOUND": 1000,
    "SCHEMA_NOT_FOUND": 1000,
    "FUNCTION_NOT_FOUND": 1000,
    "TYPE_MISMATCH": 1000,
    "INVALID_CAST_ARGUMENT": 1001,
    "NOT_SUPPORTED": 1000,
    "ALREADY_EXISTS": 1000,
    "PERMISSION_DENIED": 234,
    "EXCEEDED_SCANNED_BYTES_LIMIT": 1000,
    "GENERIC_USER_ERROR": 1000,
    "HIVE_BAD_DATA": 1001,
    "GENERIC_INTERNAL_ERROR": 200,
}


class AthenaQueryError(Exception):
    """A failed query, as Athena reports it.

    ``error_category``: 1 system, 2 user, 3 other. ``error_type``: the Trino error name
    (``TABLE_NOT_FOUND``...). ``message``: the StateChangeReason text. ``state``: FAILED, or
    CANCELLED for a query stopped by the workgroup's bytes-scanned cutoff.
    ``error_type_code``: the numeric ``AthenaError.ErrorType``.
    """

    def __init__(self, error_category: int, error_type: str, message: str, state: str = "FAILED",
                 data_scanned_bytes: int = 0) -> None:
        super().__init__(message)
        self.data_scanned_bytes = data_scanned_bytes  # read before a cutoff cancelled it (AWS bills it)
        self.error_category = error_category
        self.error_type = error_type
        self.message = message
        self.state = state
        self.error_type_code = _ERROR_TYPE_CODES.get(error_type, 1000 if error_category == USER_ERROR else 200)

    def __repr__(self) -> str:
        return f"AthenaQueryError({self.error_category}, {self.error_type!r}, {self.message!r})"


class AccessDeniedError(Exception):
    """Raised by an access hook when the caller may not read a table (Lake Formation)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
