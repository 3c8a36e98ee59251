"""Streaming validation of one landing object (stdlib only: it ships in the ingest Lambda zip).

:func:`scan` reads the object body ONCE in 1 MiB chunks (constant memory) and raises
:class:`Invalid` (``code`` in :data:`REASON_CODES`) or returns ``{"sha256", "rows", "mode"}``.

Checked over the whole object: gzip integrity and size, no NUL bytes, UTF-8, line length.
CSV (RFC 4180, parsed with the ``csv`` module, every record): one optional UTF-8 byte order
mark (Excel "CSV UTF-8"), LF or CRLF line ends, a final newline or none, quoted fields with
commas, doubled quotes (``""``) and line breaks inside them (pandas, psql ``\\copy ... csv``,
Excel); the header must name the dataset's columns and every record must have that many
fields. ``rows`` counts CSV *records*, not lines, so a quoted line break never adds a row.
JSON Lines: one object per line with the dataset's keys; files up to FULL_VALIDATE_BYTES parse
every line, bigger ones the first SAMPLE_LINES and the last TAIL_LINES lines.
"""
from __future__ import annotations

import codecs
import collections
import csv
import hashlib
import itertools
import json
import zlib
from collections.abc import Iterable, Iterator

__all__ = ["DATASETS", "REASON_CODES", "Invalid", "scan"]

FLIGHTS_COLUMNS = [
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
    "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
    "air_time", "distance", "hour", "minute", "time_hour",
]

#: Expected shape per dataset: CSV columns or required JSON keys (nested: key -> sub-keys).
DATASETS: dict[str, dict] = {
    "flights": {"formats": {"csv"}, "columns": FLIGHTS_COLUMNS},
    "airlines": {"formats": {"csv"}, "columns": ["carrier", "name"]},
    "airports": {"formats": {"csv"},
                 "columns": ["faa", "name", "lat", "lon", "alt", "tz", "dst", "tzone"]},
    "planes": {"formats": {"jsonl", "json"}, "keys": {
        "tailnum": None, "year": None, "type": None, "manufacturer": None, "model": None,
        "engine": ("count", "type"), "capacity": ("seats", "speed")}},
    "weather": {"formats": {"jsonl", "json"}, "keys": {
        "station": None, "observed_at": None, "local": ("year", "month", "day", "hour"),
        "temperature": ("temp", "dewp", "humid"), "wind": ("dir", "speed", "gust"),
        "precip": None, "pressure": None, "visib": None}},
}

REASON_CODES = (
    "unknown_dataset", "bad_extension", "format_mismatch", "bad_content_type", "empty_file",
    "too_large", "bad_gzip", "gzip_truncated", "binary_content", "not_utf8", "line_too_long",
    "bad_header", "bad_delimiter", "header_only", "bad_row", "truncated_row", "invalid_json",
    "json_shape",
)


_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"


class Invalid(Exception):
    """A file-level validation failure: ``code`` is one of REASON_CODES."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail



def _gunzip(chunks, limit: int):
    """Decompress a (multi-member) gzip stream incrementally, bounded output per step."""
    d = None
    in_member = False
    total = 0
    first = True
    for chunk in chunks:
        if first:
            first = False
            if chunk[:2] != b"\x1f\x8b":
                raise Invalid("bad_gzip", "file ends in .gz but is not gzip data (no 1f8b magic): "
                              "compress it with gzip or drop the .gz suffix")
        buf = chunk
        while buf:
            if d is None or d.eof:
                if d is not None and d.eof and not buf.strip(b"\x00"):
                    break  # zero padding after the last member, as gzip tolerates
                d = zlib.decompressobj(31)
                in_member = True
            try:
                out = d.decompress(buf, _CHUNK)
            except zlib.error as e:
                raise Invalid("bad_gzip", f"corrupt gzip data ({e}): re-create the .gz file") from None
            total += len(out)
            if total > limit:
                raise Invalid("too_large", f"decompressed content exceeds {limit} bytes "
                              "(MAX_DECOMPRESSED_BYTES): split the file")
            if out:
                yield out
            if d.eof:
                in_member = False
                buf = d.unused_data
            else:
                buf = d.unconsumed_tail
    if first:
        raise Invalid("empty_file", "object has no bytes")
    if in_member:
        raise Invalid("gzip_truncated", "gzip stream ends before its end-of-member marker: the "
                      "upload was cut short; upload the complete file again")


class _Checker:
    """Checks a CSV header/record or a JSON Lines record against the dataset's contract."""

    def __init__(self, dataset: str, fmt: str) -> None:
        spec = DATASETS[dataset]
        self.csv = fmt == "csv"
        self.columns = spec.get("columns")
        self.keys = spec.get("keys")
        self.dataset = dataset

    def header(self, row: list[str]) -> None:
        if row == self.columns:
            return
        for delim, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if len(row) <= 1 and delim in row[0]:
                found = row[0].split(delim)
                raise Invalid("bad_delimiter", f"header is {name}-separated ({len(found)} fields): "
                              "the delimiter must be a comma; re-export as comma-separated CSV")
        missing = [c for c in self.columns if c not in row]
        extra = [c for c in row if c not in self.columns]
        raise Invalid("bad_header", f"{self.dataset} header must be {','.join(self.columns)}; "
                      f"missing {missing}, unexpected {extra[:10]}"
                      + ("" if missing or extra else " (order differs)"))

    def json_line(self, lineno: int, line: str, last_unterminated: bool) -> None:
        text = line.rstrip("\r")
        try:
            rec = json.loads(text)
        except ValueError as e:
            raise Invalid("invalid_json", f"line {lineno} is not valid JSON ({e}): one JSON object "
                          "per line (JSON Lines) is expected"
                          + ("; the last line has no newline: was the upload cut short?"
                             if last_unterminated else "")) from None
        if not isinstance(rec, dict):
            raise Invalid("json_shape", f"line {lineno} is a JSON {type(rec).__name__}, expected an "
                          f"object per line with keys {sorted(self.keys)}")
        missing = [k for k in self.keys if k not in rec]
        if missing:
            raise Invalid("json_shape", f"line {lineno} lacks required key(s) {missing} of "
                          f"{self.dataset}: see the data contract")
        for k, sub in self.keys.items():
            if sub is None or rec[k] is None:
                continue
            if not isinstance(rec[k], dict) or any(s not in rec[k] for s in sub):
                raise Invalid("json_shape", f"line {lineno}: '{k}' must be an object with keys "
                              f"{list(sub)}")


class _Lines:
    """Physical lines of the (decompressed) stream with the byte-level checks of every byte.

    Iterating yields ``(lineno, line, terminated)``: ``line`` without its ``\\n`` (a CRLF
    line keeps its ``\\r``), ``terminated`` False only for a last line without newline.
    """

    def __init__(self, pieces: Iterable[bytes], gz: bool, name: str, max_line: int) -> None:
        self.pieces, self.gz, self.name, self.max_line = pieces, gz, name, max_line
        self.empty = True

    def __iter__(self) -> Iterator[tuple[int, bytes, bool]]:
        for start, batch, terminated in self.batches():
            for i, line in enumerate(batch):
                yield start + i, line, terminated

    def batches(self) -> Iterator[tuple[int, list[bytes], bool]]:
        """``(first lineno, lines, terminated)`` per decoded piece: the same lines as iterating,
        in lists (a last line without newline comes alone, with ``terminated`` False)."""
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        offset = lineno = 0
        pending = b""
        for piece in self.pieces:
            if self.empty and not self.gz and piece[:2] == b"\x1f\x8b":
                raise Invalid("binary_content", "gzip data in a file without .gz suffix: name it "
                              f"{self.name}.gz")
            self.empty = self.empty and not piece
            nul = piece.find(b"\x00")
            if nul >= 0:
                raise Invalid("binary_content", f"NUL byte at offset {offset + nul}: "
                              "this is a binary file (or UTF-16 text), not CSV/JSON text")
            try:
                decoder.decode(piece)
            except UnicodeDecodeError as e:
                raise Invalid("not_utf8", f"invalid UTF-8 at byte {offset + e.start}: re-save the "
                              "file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
            offset += len(piece)
            parts = (pending + piece).split(b"\n")
            pending = parts.pop()
            if len(pending) > self.max_line:
                raise Invalid("line_too_long", f"line {lineno + len(parts) + 1} exceeds "
                              f"{self.max_line} bytes (MAX_LINE_BYTES): is the file one huge line?")
            if parts:
                longest = max(parts, key=len)
                if len(longest) > self.max_line:  # the lines before it first: their errors come first
                    i = next(i for i, line in enumerate(parts) if len(line) > self.max_line)
                    if i:
                        yield lineno + 1, parts[:i], True
                    raise Invalid("line_too_long", f"line {lineno + 1 + i} exceeds {self.max_line} bytes "
                                  "(MAX_LINE_BYTES): is the file one huge line?")
                yield lineno + 1, parts, True
                lineno += len(parts)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise Invalid("not_utf8", "file ends inside a multi-byte UTF-8 character: re-save as "
                          "UTF-8") from None
        if self.empty:
            raise Invalid("empty_file", "object has no bytes: upload the real file")
        if pending:
            yield lineno + 1, [pending], False


class _CsvFeed:
    """Feeds physical lines to ``csv.reader``; remembers where the current record started."""

    def __init__(self, lines: Iterable[tuple[int, bytes, bool]], max_record: int, first: int = 1) -> None:
        self.lines, self.max_record = lines, max_record
        self.lineno = first - 1    # last physical line handed to the reader
        self.terminated = True     # did that line end with a newline?
        self.record_start = 1      # first physical line of the record being read
        self.record_bytes = 0
        self.text: list[str] = []  # the record's lines so far (bounded by max_record)

    def next_record(self) -> None:
        self.record_start, self.record_bytes, self.text = self.lineno + 1, 0, []

    def __iter__(self) -> Iterator[str]:
        for lineno, line, terminated in self.lines:
            if lineno == 1:
                line = line.removeprefix(_BOM)  # Excel "CSV UTF-8" writes one BOM first
            self.lineno, self.terminated = lineno, terminated
            self.record_bytes += len(line) + 1
            if self.record_bytes > self.max_record:
                raise Invalid("line_too_long", f"record starting at line {self.record_start} exceeds "
                              f"{self.max_record} bytes (MAX_LINE_BYTES): a double quote that is "
                              "never closed makes the rest of the file one field")
            text = line.decode("utf-8") + ("\n" if terminated else "")
            self.text.append(text)
            yield text


def _csv_error_detail(feed: _CsvFeed, error: csv.Error) -> str:
    where = (f"line {feed.record_start}" if feed.lineno == feed.record_start
             else f"record at lines {feed.record_start}-{feed.lineno}")
    detail = f"{where}: CSV syntax error ({error})"
    if '\\"' in "".join(feed.text):
        detail += ('; backslash-escaped quotes (\\") are not CSV (RFC 4180 doubles them: ""). '
                   "Spark writes \\\" by default: write with .option('escape', '\"')")
    return detail


def _count_error(first: int, span: str, nfields: int, ncols: int, last_unterminated: bool) -> Invalid:
    """A record with the wrong number of fields (``first``: its first line, ``span``: its lines)."""
    if last_unterminated and nfields < ncols:
        return Invalid("truncated_row", f"last line {first} has {nfields} of {ncols} fields and no newline: "
                       "the file was cut short; upload it again")
    return Invalid("bad_row", f"{span} has {nfields} fields, expected {ncols}: fix the row or quote "
                   "fields containing commas")


def _plain(batch: list[bytes], max_line: int) -> bool:
    """Lines whose CSV records are the lines themselves: no quote, no carriage return, and no
    line so long that the record limit (line + newline) decides."""
    joined = b"\n".join(batch)
    return b'"' not in joined and b"\r" not in joined and (not batch or len(max(batch, key=len)) < max_line)


def _scan_plain(start: int, batch: list[bytes], terminated: bool, checker: _Checker, records: int) -> int:
    """Fast path of :func:`_scan_csv` for :func:`_plain` lines: fields = commas + 1, checked in
    bulk; the same results and messages as the csv module gives for such lines."""
    ncols = len(checker.columns)
    if start == 1 and batch:
        batch = [batch[0].removeprefix(_BOM), *batch[1:]]
    i = 0
    while records == 0 and i < len(batch):
        row = batch[i].decode("utf-8").split(",")
        i += 1
        if len(row) == 1 and not row[0].strip():
            continue  # blank line
        records = 1
        checker.header(row)
    blanks = 0
    counts = list(map(bytes.count, batch[i:], itertools.repeat(b",")))
    if counts.count(ncols - 1) == len(counts):
        return records + len(counts)  # every line has the header's field count
    for j, commas in enumerate(counts):
        if commas == ncols - 1:
            continue
        line = batch[i + j]
        if commas == 0 and not line.decode("utf-8").strip():
            blanks += 1  # blank line between records
            continue
        raise _count_error(start + i + j, f"line {start + i + j}", commas + 1, ncols, not terminated)
    return records + len(batch) - i - blanks


def _scan_csv(lines: _Lines, checker: _Checker, max_line: int) -> int:
    """Parse every CSV record; returns the number of data rows (records after the header).

    Pieces without quotes or carriage returns go through :func:`_scan_plain`; from the first
    piece with one on, the ``csv`` module reads every record (a quoted field may span lines).
    """
    csv.field_size_limit(max(max_line, 1))
    batches = lines.batches()
    records = 0
    for start, batch, terminated in batches:
        if not _plain(batch, max_line):
            rest = itertools.chain([(start, batch, terminated)], batches)
            lines_left = ((first + i, line, t) for first, b, t in rest for i, line in enumerate(b))
            records = _scan_records(lines_left, checker, max_line, records, start)
            break
        records = _scan_plain(start, batch, terminated, checker, records)
    if records == 0:
        raise Invalid("empty_file", "file contains only whitespace: upload the real file")
    if records == 1:
        raise Invalid("header_only", "CSV has a header but no data rows: upload the file with data")
    return records - 1


def _scan_records(lines: Iterable[tuple[int, bytes, bool]], checker: _Checker, max_line: int,
                  records: int, first: int) -> int:
    """Read the lines left (from line ``first``) record by record with ``csv.reader``; returns
    the records so far."""
    feed = _CsvFeed(lines, max_line, first)
    reader = csv.reader(feed, strict=True)
    while True:
        feed.next_record()
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            at_end = not feed.terminated
            if "unexpected end of data" in str(e):
                raise Invalid("truncated_row" if at_end else "bad_row",
                              f"record starting at line {feed.record_start} opens a double quote that "
                              "is never closed" + (": the file was cut short; upload it again"
                                                   if at_end else ": fix or double the quote")) from None
            raise Invalid("bad_row", _csv_error_detail(feed, e)) from None
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line between records
        records += 1
        if records == 1:
            checker.header(row)
            continue
        if len(row) != len(checker.columns):
            span = (f"line {feed.record_start}" if feed.lineno == feed.record_start
                    else f"record at lines {feed.record_start}-{feed.lineno}")
            raise _count_error(feed.record_start, span, len(row), len(checker.columns), not feed.terminated)
    return records


def _scan_jsonl(lines: _Lines, checker: _Checker, sample_lines: int | None, tail_lines: int) -> int:
    """Parse every line (``sample_lines`` None) or the first/last ones; returns the record count."""
    records = 0
    tail: collections.deque = collections.deque(maxlen=max(tail_lines, 0) or None)
    for lineno, line, terminated in lines:
        if not line.strip():
            continue
        records += 1
        if sample_lines is None or lineno <= sample_lines:
            checker.json_line(lineno, line.decode("utf-8"), not terminated)
        elif tail_lines > 0:
            tail.append((lineno, line, terminated))
    for lineno, line, terminated in tail:
        checker.json_line(lineno, line.decode("utf-8"), not terminated)
    if records == 0:
        raise Invalid("empty_file", "file contains only whitespace: upload the real file")
    return records


def scan(body, size: int, dataset: str, fmt: str, gz: bool, name: str, cfg) -> dict:
    """Validate the object ``body`` (a botocore StreamingBody, closed here) of ``size`` bytes.

    ``cfg`` carries max_decompressed, max_line, full_validate_bytes, sample_lines, tail_lines.
    Raises :class:`Invalid`; returns ``{"sha256", "rows", "mode"}`` (mode full|sampled).
    """
    sha = hashlib.sha256()

    def raw_chunks() -> Iterator[bytes]:
        for chunk in body.iter_chunks(_CHUNK):
            sha.update(chunk)
            yield chunk

    checker = _Checker(dataset, fmt)
    pieces = _gunzip(raw_chunks(), cfg.max_decompressed) if gz else raw_chunks()
    lines = _Lines(pieces, gz, name, cfg.max_line)
    full = checker.csv or size <= cfg.full_validate_bytes
    try:
        if checker.csv:
            rows = _scan_csv(lines, checker, cfg.max_line)
        else:
            rows = _scan_jsonl(lines, checker, None if full else cfg.sample_lines, cfg.tail_lines)
    finally:
        body.close()
    return {"sha256": sha.hexdigest(), "rows": rows, "mode": "full" if full else "sampled"}
