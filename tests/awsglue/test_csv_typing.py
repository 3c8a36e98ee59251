"""Glue's per-value CSV typing (``_readers._type_csv``), in one aggregate pass (issue #17).

Each rule on a hand-made frame: whole numbers -> long, numbers -> double, text -> string, numbers
mixed with text -> a choice ``{long|double, string}``, an empty field -> null in a numeric column
(kept as '' in a text one), a 19-digit integer is not a long (it makes the column double).
"""
from __future__ import annotations

from _dynframe_fixtures import spark  # noqa: F401
from awsglue._readers import _type_csv

ROWS = [("1", "1.5", "x", "x", "x", "", "1234567890123456789"),
        ("2", "2", "3", "1.5", "y", "", "5"),
        ("", None, None, None, None, None, None)]


def test_csv_typing_per_column(spark):  # noqa: F811
    df = spark.createDataFrame(ROWS, "a string, b string, c string, d string, e string, f string, g string")
    typed = _type_csv(df)
    assert typed.schema.simpleString() == (
        "struct<a:bigint,b:double,c:struct<long:bigint,string:string>,"
        "d:struct<double:double,string:string>,e:string,f:string,g:double>")
    got = [r.asDict(recursive=True) for r in typed.collect()]
    assert [r["a"] for r in got] == [1, 2, None]
    assert [r["b"] for r in got] == [1.5, 2.0, None]
    assert [r["c"] for r in got] == [{"long": None, "string": "x"}, {"long": 3, "string": None},
                                     {"long": None, "string": None}]
    assert [r["d"] for r in got] == [{"double": None, "string": "x"}, {"double": 1.5, "string": None},
                                     {"double": None, "string": None}]
    assert [r["e"] for r in got] == ["x", "y", None]
    assert [r["f"] for r in got] == ["", "", None]
    assert [r["g"] for r in got] == [1.234567890123456789e18, 5.0, None]

