"""Solutions of notebook 02's exercises: predict the ingest Lambda's quarantine reason."""
from __future__ import annotations

import gzip
import zlib

from lakekit import exercises


def solve_02_1() -> str:
    """Every record must have the header's field count; record 12 lost its last field."""
    _key, body = exercises.material("02.1")
    lines = body.decode().splitlines()
    width = len(lines[0].split(","))
    short = [n for n, line in enumerate(lines[1:], start=2) if len(line.split(",")) != width]
    assert short, "every record has the header's width"
    return "bad_row"


def solve_02_2() -> str:
    """The gzip stream ends before its end-of-member marker: the upload was cut short."""
    _key, body = exercises.material("02.2")
    assert body[:2] == b"\x1f\x8b"  # it IS gzip (else: bad_gzip)
    try:
        gzip.decompress(body)
    except EOFError:  # "Compressed file ended before the end-of-stream marker was reached"
        return "gzip_truncated"
    except (OSError, zlib.error):
        return "bad_gzip"
    return "the file is fine"
