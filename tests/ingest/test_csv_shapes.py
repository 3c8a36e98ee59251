"""Valid CSV as real tools write it lands in raw with every row; invalid CSV keeps its reason.

Shapes (airlines: carrier,name), each with a comma, a doubled quote and a line break inside
quoted fields where the tool can write them:
* Excel "CSV UTF-8": UTF-8 byte order mark + CRLF (Python's ``csv.excel`` dialect + utf-8-sig
  writes exactly Excel's format), a cell with Alt+Enter = LF inside quotes;
* pandas ``to_csv``: LF and a final newline; with ``lineterminator="\\r\\n"``;
* psql ``\\copy ... csv header``: LF, NULL unquoted empty, empty string quoted, multi-line field;
* no final newline;
* Spark with ``.option("escape", '"')`` (RFC 4180). Spark's DEFAULT escape writes ``\\"``
  inside quoted fields, which is not RFC 4180: quarantined as bad_row with the fix in the detail.
"""
from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from lakekit.lambdas.ingest import handler as ingest

ROWS = [("UA", "United Air Lines Inc."), ("XC", 'Carrier "X", Inc.'),
        ("ML", "Multi\nLine Airways"), ("EM", ""), ("B6", "JetBlue Airways")]


def _excel() -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, dialect="excel")  # CRLF, QUOTE_MINIMAL, doubled quotes
    w.writerow(["carrier", "name"])
    w.writerows(ROWS)
    return buf.getvalue().encode("utf-8-sig")


def _pandas(**kw) -> bytes:
    return pd.DataFrame(ROWS, columns=["carrier", "name"]).to_csv(index=False, **kw).encode()


PSQL = (b'carrier,name\nUA,United Air Lines Inc.\nXC,"Carrier ""X"", Inc."\n'
        b'ML,"Multi\nLine Airways"\nEM,""\nNL,\nB6,JetBlue Airways\n')
SPARK_RFC = (b'carrier,name\nUA,United Air Lines Inc.\nXC,"Carrier ""X"", Inc."\n'
             b'ML,"Multi\nLine Airways"\nEM,""\nB6,JetBlue Airways\n')
SPARK_DEFAULT = b'carrier,name\nUA,United Air Lines Inc.\nXC,"Carrier \\"X\\", Inc."\nB6,JetBlue Airways\n'

#: (key, body, data rows)
VALID = [
    ("airlines/excel_utf8.csv", _excel(), 5),
    ("airlines/pandas.csv", _pandas(), 5),
    ("airlines/pandas_crlf.csv", _pandas(lineterminator="\r\n"), 5),
    ("airlines/psql_copy.csv", PSQL, 6),
    ("airlines/no_final_newline.csv", _pandas().rstrip(b"\n"), 5),
    ("airlines/spark_escape_quote.csv", SPARK_RFC, 5),
    ("airlines/crlf_inside_quotes.csv", b'carrier,name\r\nML,"Multi\r\nLine"\r\nUA,United\r\n', 2),
    ("airlines/bom_only_header_crlf.csv", b"\xef\xbb\xbfcarrier,name\r\nUA,United\r\n", 1),
]

#: (key, body, reason code, text in the detail)
INVALID = [
    ("airlines/spark_default_escape.csv", SPARK_DEFAULT, "bad_row", "option('escape', '\"')"),
    ("airlines/unclosed_quote.csv", b'carrier,name\nUA,"United\nB6,JetBlue\n', "bad_row",
     "never closed"),
    ("airlines/cut_in_quotes.csv", b'carrier,name\nUA,"United Air', "truncated_row", "cut short"),
    ("airlines/multiline_extra_field.csv", b'carrier,name\nML,"Multi\nLine",x\n', "bad_row",
     "lines 2-3 has 3 fields"),
    ("airlines/two_boms.csv", b"\xef\xbb\xbf" + _excel(), "bad_header", "missing ['carrier']"),
    ("airlines/bom_only.csv", b"\xef\xbb\xbf\r\n", "empty_file", "whitespace"),
]


@pytest.fixture
def shapes(lake):
    records = [lake.put(k, body) for k, body, *_ in VALID + INVALID]
    return lake, ingest.lambda_handler({"Records": records}, None)


def test_every_valid_shape_lands_with_every_row(shapes):
    lake, out = shapes
    landed = {x["key"]: x for x in out["landed"]}
    rejected = {x["key"]: f"{x['reason']}: {x['detail']}" for x in out["quarantined"]}
    for key, body, rows in VALID:
        assert key in landed, f"{key} quarantined: {rejected.get(key)}"
        assert landed[key]["rows"] == rows, key
        raw = lake.read(lake.raw, landed[key]["raw_key"])
        assert raw == body, key  # byte-identical copy
        parsed = [r for r in csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")) if r]
        assert len(parsed) - 1 == rows, key  # rows counted == rows landed
        df = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", keep_default_na=False)
        assert list(df.columns) == ["carrier", "name"] and len(df) == rows, key


def test_every_invalid_shape_is_quarantined_with_its_reason(shapes):
    _, out = shapes
    got = {x["key"]: x for x in out["quarantined"]}
    assert sorted(got) == sorted(k for k, *_ in INVALID)
    for key, _, reason, hint in INVALID:
        assert (got[key]["reason"], hint in got[key]["detail"]) == (reason, True), got[key]["detail"]


def test_reconciliation_rows_in_equal_rows_out_plus_quarantined(shapes):
    _, out = shapes
    assert out["errors"] == [] and out["missing"] == []
    assert len(out["landed"]) + len(out["quarantined"]) == len(VALID) + len(INVALID)
    assert sum(x["rows"] for x in out["landed"]) == sum(r for *_, r in VALID)
