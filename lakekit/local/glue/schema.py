"""Schema inference for the local Glue crawler: Parquet footers, CSV and JSON samples.

Types are rendered as Glue/Hive type strings, the way the Glue crawler writes them into the
Data Catalog (``bigint``, ``double``, ``decimal(10,2)``, ``struct<a:int,b:array<string>>``).
Column and nested field names are lower-cased, like the crawler does (the catalog is
case-insensitive).

Example::

    >>> infer_csv(b"a,b\\n1,x\\n2,y\\n").columns
    [('a', 'bigint'), ('b', 'string')]
"""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = [
    "CSV_DELIMITERS",
    "FORMATS",
    "SAMPLE_BYTES",
    "FileSchema",
    "arrow_schema_to_columns",
    "split_top",
    "arrow_kind",
    "arrow_type_to_glue",
    "decompress_sample",
    "hive_format",
    "infer_csv",
    "infer_json",
    "infer_parquet",
    "merge_columns",
    "merge_types",
]

#: Delimiters the built-in Glue CSV classifier tries (comma, pipe, tab, semicolon, Ctrl-A).
CSV_DELIMITERS = (",", "|", "\t", ";", "\x01")
#: Bytes read from the start of a CSV/JSON object to infer its schema.
SAMPLE_BYTES = 1 << 20
#: Max characters of a CSV header cell (Glue: fewer than 150, except the last column).
_HEADER_MAX_CHARS = 150
_COLUMN_NAME_RE = re.compile(r"^[^\x00-\x1f\"`]{1,255}$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_INT32 = (-(2**31), 2**31 - 1)
_NULL = "null"  # internal: only nulls seen so far; finalised to string
_INT64 = (-(2**63), 2**63 - 1)


@dataclass
class FileSchema:
    """What the crawler learned from one object."""

    classification: str  # parquet | csv | json | unknown
    columns: list[tuple[str, str]] = field(default_factory=list)
    record_count: int = 0
    record_count_exact: bool = True
    compression: str = "none"
    # csv only
    delimiter: str | None = None
    has_header: bool = False
    quoted: bool = False
    notes: list[str] = field(default_factory=list)


#: StorageDescriptor formats and SerDe per classification, as Glue (crawler, Athena DDL) writes them.
FORMATS: dict[str, dict[str, str]] = {
    "parquet": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    },
    "csv": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
    },
    "json": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
    },
}


def hive_format(classification: str, serde_params: dict[str, str] | None = None) -> dict[str, Any]:
    """The InputFormat/OutputFormat/SerdeInfo part of a StorageDescriptor (a fresh dict).

    >>> hive_format("parquet", {"serialization.format": "1"})["SerdeInfo"]["SerializationLibrary"]
    'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
    """
    fmt = FORMATS[classification]
    return {"InputFormat": fmt["InputFormat"], "OutputFormat": fmt["OutputFormat"],
            "SerdeInfo": {"SerializationLibrary": fmt["SerializationLibrary"],
                          "Parameters": dict(serde_params or {})}}


# ----------------------------------------------------------------------------- Parquet
def arrow_kind(t: pa.DataType) -> str:
    """The SQL type family of an Arrow type, spelled by Glue (:func:`arrow_type_to_glue`) and by
    Athena's result metadata (``lakekit.local.athena._types.arrow_to_athena``).

    >>> arrow_kind(pa.uint16()), arrow_kind(pa.large_string()), arrow_kind(pa.dictionary(pa.int8(), pa.string()))
    ('int', 'string', 'string')
    """
    if pa.types.is_dictionary(t):
        return arrow_kind(t.value_type)
    for kind, tests in _KINDS:
        if any(test(t) for test in tests):
            return kind
    return "other"


_KINDS: list[tuple[str, tuple[Any, ...]]] = [
    ("string", (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)),
    ("bigint", (pa.types.is_int64, pa.types.is_uint32, pa.types.is_uint64)),
    ("int", (pa.types.is_int32, pa.types.is_uint16)),
    ("smallint", (pa.types.is_int16, pa.types.is_uint8)),
    ("tinyint", (pa.types.is_int8,)),
    ("double", (pa.types.is_float64,)),
    ("float", (pa.types.is_float32, pa.types.is_float16)),
    ("boolean", (pa.types.is_boolean,)),
    ("date", (pa.types.is_date,)),
    ("timestamp", (pa.types.is_timestamp,)),
    ("time", (pa.types.is_time,)),
    ("decimal", (pa.types.is_decimal,)),
    ("binary", (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_binary_view,
                pa.types.is_fixed_size_binary)),
    ("array", (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)),
    ("map", (pa.types.is_map,)),
    ("struct", (pa.types.is_struct,)),
    ("interval", (pa.types.is_interval, pa.types.is_duration)),
    ("null", (pa.types.is_null,)),
]
# time, interval, null: no Glue equivalent the crawler would use
_GLUE_SPELLING = {"time": "string", "interval": "string", "null": "string", "other": "string"}


def arrow_type_to_glue(t: pa.DataType) -> str:
    """Render an Arrow type as a Glue type string.

    >>> arrow_type_to_glue(pa.struct([("A", pa.int32()), ("b", pa.list_(pa.string()))]))
    'struct<a:int,b:array<string>>'
    """
    kind = arrow_kind(t)
    if pa.types.is_dictionary(t):
        t = t.value_type
    if kind == "decimal":
        return f"decimal({t.precision},{t.scale})"
    if kind == "map":
        return f"map<{arrow_type_to_glue(t.key_type)},{arrow_type_to_glue(t.item_type)}>"
    if kind == "array":
        return f"array<{arrow_type_to_glue(t.value_type)}>"
    if kind == "struct":
        inner = ",".join(
            f"{t.field(i).name.lower()}:{arrow_type_to_glue(t.field(i).type)}"
            for i in range(t.num_fields)
        )
        return f"struct<{inner}>"
    return _GLUE_SPELLING.get(kind, kind)


def arrow_schema_to_columns(schema: pa.Schema) -> list[tuple[str, str]]:
    """Top-level ``(name, glue_type)`` pairs of an Arrow schema (names lower-cased)."""
    return [(f.name.lower(), arrow_type_to_glue(f.type)) for f in schema]


def infer_parquet(path: str, filesystem: Any) -> FileSchema:
    """Read only the Parquet footer of ``path`` (``bucket/key``) on a pyarrow filesystem."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path, filesystem=filesystem)
    return FileSchema(
        classification="parquet",
        columns=arrow_schema_to_columns(meta.schema.to_arrow_schema()),
        record_count=meta.num_rows,
    )


# ----------------------------------------------------------------------------- helpers
def decompress_sample(data: bytes) -> bytes:
    """Gunzip as much of a (possibly truncated) gzip sample as possible."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return d.decompress(data, SAMPLE_BYTES * 8)
    except zlib.error:
        return b""


def _decode(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


def _widen_numeric(a: str, b: str) -> str | None:
    order = {"tinyint": 0, "smallint": 1, "int": 2, "bigint": 3, "float": 4, "double": 5}
    if a in order and b in order:
        return a if order[a] >= order[b] else b
    return None


def merge_types(a: str | None, b: str | None) -> tuple[str, bool]:
    """Merge two Glue types. Returns ``(type, conflict)``.

    ``None`` means "only nulls seen". Numeric types widen (int+bigint -> bigint,
    bigint+double -> double); structs merge field-wise; arrays merge element types;
    anything else is a conflict resolved to ``string``.
    """
    if a is None or a == _NULL:
        return (b or _NULL), False
    if b is None or b == _NULL or a == b:
        return a, False
    w = _widen_numeric(a, b)
    if w:
        return w, False
    if a.startswith("struct<") and b.startswith("struct<"):
        fa, fb = _struct_fields(a), _struct_fields(b)
        merged, conflict = _merge_field_lists(fa, fb)
        return "struct<" + ",".join(f"{n}:{t}" for n, t in merged) + ">", conflict
    if a.startswith("array<") and b.startswith("array<"):
        inner, conflict = merge_types(a[6:-1], b[6:-1])
        return f"array<{inner}>", conflict
    return "string", True


def split_top(s: str, sep: str = ",") -> list[str]:
    """Split a type's body at top-level ``sep`` (not inside ``<>``/``()``), parts stripped.

    >>> split_top("a:int, b:struct<c:int,d:string>")
    ['a:int', 'b:struct<c:int,d:string>']
    """
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def _struct_fields(t: str) -> list[tuple[str, str]]:
    body = t[len("struct<") : -1]
    if not body:
        return []
    return [tuple(p.split(":", 1)) for p in split_top(body)]  # type: ignore[misc]


def _merge_field_lists(
    a: list[tuple[str, str | None]], b: list[tuple[str, str | None]]
) -> tuple[list[tuple[str, str]], bool]:
    merged: dict[str, str | None] = dict(a)
    conflict = False
    for name, t in b:
        if name in merged:
            merged[name], c = merge_types(merged[name], t)
            conflict = conflict or c
        else:
            merged[name] = t
    return [(n, t or _NULL) for n, t in merged.items()], conflict


def _finalize(t: str | None) -> str:
    """Replace the internal null marker (a field only ever seen as null) by string."""
    if t is None:
        return "string"
    return re.sub(r"(?<=[:<])null(?=[,>])", "string", t) if t != _NULL else "string"


def merge_columns(
    a: list[tuple[str, str]], b: list[tuple[str, str]], *, prefer_first: bool = False
) -> tuple[list[tuple[str, str]], list[str]]:
    """Union two column lists, keeping ``a``'s order and appending new columns of ``b``.

    Returns ``(columns, conflicts)`` where each conflict reads ``"col: t1 vs t2"``.
    With ``prefer_first`` a conflicting column keeps ``a``'s type (Parquet: the files
    really hold different types; Glue keeps the table type and reports it), otherwise the
    conflict resolves to ``string`` (CSV/JSON sampling).
    """
    out: dict[str, str] = dict(a)
    conflicts: list[str] = []
    for name, t in b:
        if name not in out:
            out[name] = t
            continue
        merged, conflict = merge_types(out[name], t)
        if conflict:
            conflicts.append(f"{name}: {out[name]} vs {t}")
            if prefer_first:
                continue
        out[name] = merged
    return list(out.items()), conflicts


# ----------------------------------------------------------------------------- CSV
def _csv_value_type(v: str) -> str | None:
    """Glue built-in CSV classifier value types: boolean, bigint, double, string."""
    s = v.strip()
    if s == "":
        return None
    low = s.lower()
    if low in ("true", "false"):
        return "boolean"
    if _INT_RE.match(s):
        n = int(s)
        return "bigint" if _INT64[0] <= n <= _INT64[1] else "string"
    if _FLOAT_RE.match(s):
        return "double"
    return "string"


def _merge_csv_types(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None or a == b:
        return a
    if {a, b} == {"bigint", "double"}:
        return "double"
    return "string"


def _parse_rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"'))


def _detect_delimiter(lines_text: str) -> tuple[str, list[list[str]]] | None:
    best: tuple[int, int, str, list[list[str]]] | None = None
    for prio, d in enumerate(CSV_DELIMITERS):
        try:
            rows = [r for r in _parse_rows(lines_text, d) if r != []]
        except csv.Error:
            continue
        if len(rows) < 1:
            continue
        width = len(rows[0])
        if width < 2 or any(len(r) != width for r in rows):
            continue
        score = (width, -prio)
        if best is None or score > (best[0], best[1]):
            best = (width, -prio, d, rows)
    if best is None:
        return None
    return best[2], best[3]


def infer_csv(data: bytes, *, complete: bool = True, total_size: int | None = None) -> FileSchema:
    """Infer a CSV schema like Glue's built-in CSV classifier.

    * delimiter among ``, | \\t ;`` and Ctrl-A: the one giving a constant column count >= 2;
    * header: present when every first-row cell is a non-empty string (not a number or
      boolean), shorter than 150 chars (except the last), and at least one column of the data
      rows types as something other than string. Otherwise columns are ``col0, col1, ...``
      (Glue's behaviour: an all-string CSV gets no header);
    * column types from all sampled rows: ``boolean``, ``bigint``, ``double``, else
      ``string``; empty fields are nulls and do not vote; a column of only nulls is string.

    ``complete`` says ``data`` is the whole object (else the last partial line is dropped and
    ``record_count`` is extrapolated to ``total_size``).
    """
    text = _decode(data)
    if not complete:
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut >= 0 else text
    detected = _detect_delimiter(text)
    if detected is None:
        return FileSchema(
            classification="unknown",
            notes=["not CSV: no delimiter among , | tab ; Ctrl-A gives >= 2 columns on every line"],
        )
    delimiter, rows = detected
    quoted = '"' in text
    width = len(rows[0])
    first, rest = rows[0], rows[1:]

    def col_types(body: list[list[str]]) -> list[str | None]:
        types: list[str | None] = [None] * width
        for r in body:
            for i, v in enumerate(r):
                types[i] = _merge_csv_types(types[i], _csv_value_type(v))
        return types

    rest_types = col_types(rest)
    header_like = all(
        _csv_value_type(c) == "string"
        and (i == width - 1 or len(c) < _HEADER_MAX_CHARS)
        and _COLUMN_NAME_RE.match(c.strip())
        for i, c in enumerate(first)
    )
    has_header = bool(rest) and header_like and any(t not in (None, "string") for t in rest_types)
    notes: list[str] = []
    if has_header:
        names = [c.strip().lower() for c in first]
        types = rest_types
        body = rest
    else:
        names = [f"col{i}" for i in range(width)]
        body = rows
        types = col_types(rows)
        if header_like and rest:
            notes.append(
                "first row looks like a header but every column is a string, so (like Glue's "
                "built-in CSV classifier) no header was inferred: columns are named col0..colN; "
                "add a custom CSV classifier with ContainsHeader=PRESENT to keep the names"
            )
    columns = [(n, t or "string") for n, t in zip(names, types)]
    n_records = len(body)
    exact = complete
    if not complete and total_size and len(data) > 0:
        n_records = round(n_records * total_size / max(len(data), 1))
    return FileSchema(
        classification="csv",
        columns=columns,
        record_count=n_records,
        record_count_exact=exact,
        delimiter=delimiter,
        has_header=has_header,
        quoted=quoted,
        notes=notes,
    )


# ----------------------------------------------------------------------------- JSON
def _json_value_type(v: Any) -> str | None:
    if v is None:
        return _NULL
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        if _INT32[0] <= v <= _INT32[1]:
            return "int"
        return "bigint" if _INT64[0] <= v <= _INT64[1] else "double"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        fields: list[tuple[str, str | None]] = []
        for k, x in v.items():
            fields.append((str(k).lower(), _json_value_type(x)))
        merged, _ = _merge_field_lists([], fields)
        return "struct<" + ",".join(f"{n}:{t}" for n, t in merged) + ">"
    if isinstance(v, list):
        inner: str | None = None
        for x in v:
            inner, _ = merge_types(inner, _json_value_type(x))
        return f"array<{inner or _NULL}>"
    return "string"


def _json_records(text: str, complete: bool) -> tuple[list[Any], bool]:
    """Parse JSON Lines, a JSON array, or a single document. Returns (records, is_lines)."""
    stripped = text.lstrip()
    if complete and stripped.startswith("["):
        try:
            doc = json.loads(stripped)
            return (doc if isinstance(doc, list) else [doc]), False
        except json.JSONDecodeError:
            pass
    records: list[Any] = []
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the last line may be cut
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if complete and not records:
                try:
                    doc = json.loads(text)
                    return (doc if isinstance(doc, list) else [doc]), False
                except json.JSONDecodeError:
                    return [], True
            return records, True
    return records, True


def infer_json(data: bytes, *, complete: bool = True, total_size: int | None = None) -> FileSchema:
    """Infer a JSON / JSON Lines schema: top-level keys in first-seen order.

    Types: ``boolean``, ``int`` (32-bit), ``bigint``, ``double``, ``string``,
    ``struct<...>`` for objects and ``array<...>`` for lists (element types merged);
    a key seen only with ``null`` is ``string``; int and double widen to double; other
    conflicts resolve to ``string`` and are noted.
    """
    text = _decode(data)
    records, _ = _json_records(text, complete)
    records = [r for r in records if isinstance(r, dict)]
    if not records:
        return FileSchema(classification="unknown", notes=["not JSON: no object records found"])
    cols: list[tuple[str, str | None]] = []
    index: dict[str, int] = {}
    notes: list[str] = []
    for rec in records:
        for k, v in rec.items():
            name, t = str(k).lower(), _json_value_type(v)
            if name not in index:
                index[name] = len(cols)
                cols.append((name, t))
            else:
                old = cols[index[name]][1]
                merged, conflict = merge_types(old, t)
                if conflict:
                    notes.append(f"{name}: {old} vs {t}")
                cols[index[name]] = (name, merged)
    n = len(records)
    if not complete and total_size:
        n = round(n * total_size / max(len(data), 1))
    return FileSchema(
        classification="json",
        columns=[(n_, _finalize(t)) for n_, t in cols],
        record_count=n,
        record_count_exact=complete,
        notes=notes,
    )
