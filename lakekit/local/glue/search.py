"""Glue ``SearchTables`` matching: Filters, SearchText and SortCriteria over table dicts.

Pure functions over the ``Table`` dicts the catalog executor builds (no moto, no HTTP), so
they are unit-testable. Semantics (Glue API reference, ``SearchTables`` / ``PropertyPredicate``):

- a *string* filter (``Key=Name``, ``DatabaseName``, ``Description``, ``Owner``, ``TableType``,
  ``Location``, ``CatalogId``, ``CreatedBy``, or any table parameter such as ``classification``)
  is a fuzzy match: the field is split on punctuation into tokens and a token must equal the
  ``Value`` (case-insensitive); ``Key=Name, Value=link`` finds ``customer-link`` and
  ``xx-link-yy`` but not ``xxlinkyy``. ``Comparator`` is ignored for these, as documented;
- a *time* filter (``CreateTime``, ``UpdateTime``, ``LastAccessTime``, ``LastAnalyzedTime``)
  compares with ``Comparator`` (EQUALS default, GREATER_THAN, LESS_THAN, GREATER_THAN_EQUALS,
  LESS_THAN_EQUALS); ``Value`` is epoch seconds (milliseconds when above 10^11) or ISO 8601;
- ``SearchText``: every word must match a token of the table's searchable text (name,
  database, description, owner, type, location, formats, SerDe, parameter values, column
  names, types and comments); ``"quoted"`` text must equal one whole value; ``*`` is a
  trailing wildcard, ``*`` alone matches every table;
- ``SortCriteria``: applied in order (the first criterion is the primary key); a table
  without the field sorts last.

Example::

    >>> tokens("customer-link:v2")
    ['customer', 'link', 'v2']
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["SearchInputError", "tokens", "matches_filter", "matches_text", "sort_tables",
           "parse_time", "TIME_KEYS", "COMPARATORS"]

TIME_KEYS = ("CreateTime", "UpdateTime", "LastAccessTime", "LastAnalyzedTime")
COMPARATORS = ("EQUALS", "GREATER_THAN", "LESS_THAN", "GREATER_THAN_EQUALS", "LESS_THAN_EQUALS")
_TOP_LEVEL = ("Name", "DatabaseName", "Description", "Owner", "TableType", "CatalogId", "CreatedBy")
_SPLIT = re.compile(r"[^0-9a-z_]+")


class SearchInputError(ValueError):
    """A Filters / SortCriteria value Glue refuses (InvalidInputException)."""


def tokens(value: Any) -> list[str]:
    """Lower-case tokens of a value, split on punctuation and spaces (``_`` joins words)."""
    return [t for t in _SPLIT.split(str(value).lower()) if t]


def _canonical_key(key: str) -> str:
    for known in (*_TOP_LEVEL, *TIME_KEYS, "Location"):
        if key.lower() == known.lower():
            return known
    return key


def _field(table: dict[str, Any], key: str) -> Any:
    key = _canonical_key(key)
    if key in _TOP_LEVEL or key in TIME_KEYS:
        return table.get(key)
    if key == "Location":
        return (table.get("StorageDescriptor") or {}).get("Location")
    params = table.get("Parameters") or {}
    if key in params:
        return params[key]
    lowered = {k.lower(): v for k, v in params.items()}
    return lowered.get(key.lower())


def parse_time(value: str) -> _dt.datetime:
    """A filter's time Value: epoch seconds / milliseconds, or ISO 8601 (UTC when naive)."""
    text = str(value).strip()
    try:
        num = float(text)
    except ValueError:
        num = None
    if num is not None:
        if num > 1e11:
            num /= 1000.0
        return _dt.datetime.fromtimestamp(num, tz=_dt.UTC)
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchInputError(
            f"Filter value {value!r} is not a time: pass epoch seconds (e.g. 1700000000) or ISO 8601 "
            "(e.g. 2024-01-31T12:00:00Z) for CreateTime / UpdateTime / LastAccessTime / "
            "LastAnalyzedTime.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


def _as_time(value: Any) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(float(value), tz=_dt.UTC)
    return parse_time(str(value))


def _compare(left: _dt.datetime, comparator: str, right: _dt.datetime) -> bool:
    return {
        "EQUALS": left == right,
        "GREATER_THAN": left > right,
        "LESS_THAN": left < right,
        "GREATER_THAN_EQUALS": left >= right,
        "LESS_THAN_EQUALS": left <= right,
    }[comparator]


def _fuzzy(field_value: Any, wanted: str) -> bool:
    if field_value is None:
        return False
    have = tokens(field_value)
    want = tokens(wanted)
    if not want:
        return str(field_value).strip().lower() == wanted.strip().lower()
    return all(w in have for w in want)


def matches_filter(table: dict[str, Any], predicate: dict[str, Any]) -> bool:
    """Whether ``table`` satisfies one ``PropertyPredicate``; raises :class:`SearchInputError`."""
    key = predicate.get("Key")
    if not key:
        raise SearchInputError("Each filter needs a Key (e.g. {'Key': 'DatabaseName', 'Value': 'sales'}).")
    value = predicate.get("Value")
    if value is None:
        raise SearchInputError(f"The filter on {key!r} needs a Value.")
    comparator = predicate.get("Comparator") or "EQUALS"
    if comparator not in COMPARATORS:
        raise SearchInputError(f"Comparator {comparator!r} is not one of {', '.join(COMPARATORS)}.")
    canonical = _canonical_key(key)
    if canonical in TIME_KEYS:
        right = parse_time(value)
        left = _as_time(table.get(canonical))
        return left is not None and _compare(left, comparator, right)
    return _fuzzy(_field(table, key), str(value))


def _searchable(table: dict[str, Any]) -> list[str]:
    sd = table.get("StorageDescriptor") or {}
    values: list[Any] = [table.get(k) for k in ("Name", "DatabaseName", "Description", "Owner", "TableType")]
    values += [sd.get("Location"), sd.get("InputFormat"), sd.get("OutputFormat"),
               (sd.get("SerdeInfo") or {}).get("SerializationLibrary")]
    values += list((table.get("Parameters") or {}).values())
    for col in (sd.get("Columns") or []) + (table.get("PartitionKeys") or []):
        values += [col.get("Name"), col.get("Type"), col.get("Comment")]
    return [str(v) for v in values if v not in (None, "")]


def matches_text(table: dict[str, Any], text: str | None) -> bool:
    """Whether ``table`` matches ``SearchText`` (None / empty / ``*``: every table)."""
    if text is None or not text.strip() or text.strip() == "*":
        return True
    text = text.strip()
    values = _searchable(table)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        exact = text[1:-1].strip().lower()
        return any(v.strip().lower() == exact for v in values)
    have = {t for v in values for t in tokens(v)}
    for word in text.split():
        prefix = word.endswith("*")
        parts = tokens(word)
        if not parts:
            continue
        head, last = parts[:-1], parts[-1]
        if any(p not in have for p in head):
            return False
        if prefix:
            if not any(h.startswith(last) for h in have):
                return False
        elif last not in have:
            return False
    return True


def _sort_value(table: dict[str, Any], field: str) -> Any:
    value = _field(table, field)
    if _canonical_key(field) in TIME_KEYS:
        return _as_time(value)
    return None if value is None else str(value).lower()


def sort_tables(tables: Iterable[dict[str, Any]], criteria: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """``tables`` ordered by ``SortCriteria`` (default: database, then table name)."""
    out = sorted(tables, key=lambda t: (t.get("DatabaseName", ""), t.get("Name", "")))
    for criterion in reversed(criteria or []):
        field = criterion.get("FieldName")
        if not field:
            raise SearchInputError("Each sort criterion needs a FieldName (e.g. {'FieldName': 'Name', "
                                   "'Sort': 'ASC'}).")
        order = criterion.get("Sort") or "ASC"
        if order not in ("ASC", "DESC"):
            raise SearchInputError(f"Sort {order!r} is not ASC or DESC.")
        present = [t for t in out if _sort_value(t, field) is not None]
        missing = [t for t in out if _sort_value(t, field) is None]
        present.sort(key=lambda t: _sort_value(t, field), reverse=order == "DESC")
        out = present + missing
    return out
