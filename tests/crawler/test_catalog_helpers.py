"""lakekit.catalog DataFrames over a crawled table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import make_crawler, write_partitioned

from lakekit.catalog import partitions, show_table, table_versions
from lakekit.local.glue.crawler import run_crawl


def test_show_table_partitions_and_versions(glue, s3, s3fs, moto_url, names, flights_all):
    bucket, db = names
    jan = flights_all.filter(
        pc.and_(pc.equal(flights_all["month"], 1), pc.less_equal(flights_all["day"], 10))
    )
    write_partitioned(jan, s3fs, f"{bucket}/flights")
    crawler = make_crawler(glue, db, [f"s3://{bucket}/flights/"])
    first = run_crawl(glue, s3, moto_url, crawler)

    cols = show_table(glue, db, "flights")
    assert list(cols["column"])[-3:] == ["year", "month", "day"]
    assert cols["partition_key"].sum() == 3 and len(cols) == 19
    assert cols.set_index("column").loc["time_hour", "type"] == "timestamp"
    assert cols.attrs["location"] == f"s3://{bucket}/flights/"
    assert cols.attrs["classification"] == "parquet" and cols.attrs["recordCount"] == jan.num_rows

    parts = partitions(glue, db, "flights")
    assert list(parts.columns) == ["year", "month", "day", "location", "recordCount", "objectCount"]
    assert list(parts["day"]) == [str(d) for d in range(1, 11)]  # numeric order, not 1,10,2
    assert parts["recordCount"].sum() == jan.num_rows

    extra = jan.filter(pc.equal(jan["day"], 1)).set_column(2, "day", pa.array([11] * 842))
    write_partitioned(extra.append_column("note", pa.array(["x"] * 842)), s3fs, f"{bucket}/flights")
    run_crawl(glue, s3, moto_url, crawler, previous=first.state)
    hist = table_versions(glue, db, "flights")
    assert list(hist["version"]) == [1, 2]
    assert list(hist["columns"]) == [16, 17] and hist["added"].iloc[1] == ["note"]
    assert set(hist["updated_by"]) == {crawler["Name"]}


def test_show_table_missing_says_what_to_do(glue, names):
    with pytest.raises(LookupError, match="run the crawler"):
        show_table(glue, names[1], "nope")
