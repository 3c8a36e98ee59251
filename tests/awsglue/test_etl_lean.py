"""The lean workshop job (issue #17): what lets it skip a Spark pass must be exact.

``run_dataset`` counts the deduped rows only when a lookup repeats a key (then the enrichment
joins multiply rows and the row accounting must fail); ``_unique_lookups`` decides it.
"""
from __future__ import annotations

from _dynframe_fixtures import glue_ctx, spark  # noqa: F401

from lakekit.jobs import etl


def test_unique_lookups_true_only_when_no_lookup_repeats_a_key(spark):  # noqa: F811
    airlines = spark.createDataFrame([("AA", "American"), ("UA", "United")], ["carrier", "name"])
    airports = spark.createDataFrame([("JFK", "Kennedy", "America/New_York")], ["faa", "name", "tzone"])
    assert etl._unique_lookups({"airlines": airlines, "airports": airports}) is True
    assert etl._unique_lookups({"airlines": None, "airports": None}) is True
    assert etl._unique_lookups({}) is True
    twice = airports.unionByName(spark.createDataFrame([("JFK", "Idlewild", "America/New_York")],
                                                       ["faa", "name", "tzone"]))
    assert etl._unique_lookups({"airlines": airlines, "airports": twice}) is False


def test_a_repeated_lookup_key_multiplies_rows_so_the_deduped_count_differs(spark):  # noqa: F811
    flights = spark.createDataFrame([(2013, 1, 1, 517, "AA", "JFK", "LAX")],
                                    ["year", "month", "day", "sched_dep_time", "carrier", "origin", "dest"])
    airlines = spark.createDataFrame([("AA", "American"), ("AA", "American again")], ["carrier", "name"])
    out = etl.enrich_flights(flights, airlines, None)
    # rows_out (2) != deduped rows (1): the accounting fails, which is why run_dataset counts them
    assert (out.count(), flights.count()) == (2, 1)
    assert etl._unique_lookups({"airlines": airlines, "airports": None}) is False
