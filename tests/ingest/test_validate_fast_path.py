"""The ingest validator's fast path (lines without quotes or CR: fields = commas + 1, checked in
bulk) gives exactly what the csv-module path gives: the same rows, the same reason, the same
detail, for valid and invalid files, whichever piece of the stream a line falls in."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from lakekit.lambdas.ingest import ingest_validate as v

from test_csv_shapes import INVALID, VALID

COLS = "carrier,name"
CFG = SimpleNamespace(max_decompressed=1 << 30, max_line=64, full_validate_bytes=1 << 26, sample_lines=10,
                      tail_lines=2)

CASES = [body for _, body, *_ in VALID + INVALID] + [
    b"carrier,name\nUA,United\nB6,JetBlue\n",
    b"carrier,name\nUA,United\nB6,JetBlue",                    # no final newline
    b"\n\ncarrier,name\n\nUA,United\n   \nB6,JetBlue\n\n",     # blank and whitespace lines
    b"carrier,name\nUA,United\n\xc2\xa0\nB6,JetBlue\n",         # a no-break-space line
    b"\xef\xbb\xbfcarrier,name\nUA,United\n",                   # BOM
    b"carrier,name\nUA,United,extra\nB6,JetBlue\n",             # too many fields
    b"carrier,name\nUA\nB6,JetBlue\n",                          # too few
    b"carrier,name\nUA,United\nB6",                             # cut short
    b"carrier,name\nUA,United\nB6,Jet,Blue",                    # last line, too many, no newline
    b"carrier,name\n",                                          # header only
    b"\n  \n",                                                  # only blanks
    b"carrier;name\nUA;United\n",                               # semicolons
    b"name,carrier\nUnited,UA\n",                               # order
    b"carrier,name\nUA," + b"x" * 61 + b"\n",                  # record of max_line + newline
    b"carrier,name\nUA," + b"x" * 70 + b"\n",                  # a line over max_line
    b"carrier,name\nUA,United\r\nB6,JetBlue\n",                 # one CRLF line
    b"carrier,name\nUA,\"Uni\nted\"\nB6,x\n" + b"AA,American\n" * 20 + b"AA\n",  # quote, later error
    b"carrier,name\n" + b"AA,American\n" * 20 + b"UA,\"United\"\n" + b"B6,x,y\n",
]


def _scan(body: bytes, chunk: int):
    class Body:
        def iter_chunks(self, n):
            for i in range(0, len(body), chunk):
                yield body[i:i + chunk]

        def close(self):
            pass

    try:
        return v.scan(Body(), len(body), "airlines", "csv", False, "x.csv", CFG)
    except v.Invalid as e:
        return (e.code, e.detail)


@pytest.mark.parametrize("chunk", [1 << 20, 7, 13])
@pytest.mark.parametrize("body", CASES, ids=range(len(CASES)))
def test_fast_path_equals_the_csv_module(body, chunk, monkeypatch):
    fast = _scan(body, chunk)
    monkeypatch.setattr(v, "_plain", lambda batch, max_line: False)
    assert fast == _scan(body, chunk)


def test_a_plain_file_is_counted_on_the_fast_path(monkeypatch):
    body = ("carrier,name\n" + "".join(f"C{i},Name {i}\n" for i in range(1000))).encode()
    seen = []
    real = v._scan_plain
    monkeypatch.setattr(v, "_scan_plain", lambda *a: seen.append(len(a[1])) or real(*a))
    assert _scan(body, 1 << 20)["rows"] == 1000
    assert seen == [1001]  # one piece, every line at once; the csv module never ran
