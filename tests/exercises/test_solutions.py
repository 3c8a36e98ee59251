"""Every exercise is solvable: its solution passes its check against a real lake, a wrong answer fails.

The lake is the workshop's own: ``tests/notebooks/test_notebooks.py`` calls :func:`check_all`
right after notebook 06 (on the lake 00-06 built, so no second papermill run of the workshop).
Each solution in ``notebooks/solutions/`` must make ``check()`` say RIGHT; typical wrong answers
must say WRONG with the reason; checks must leave the lake as they found it.

Run alone, these tests need a lake that already ran 00-06:
``LAKEKIT_TEST_LAKE=port:home:prefix`` (else they skip: the notebook run covers them).
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

import lakekit as lk
from lakekit import athena, deploy, exercises, ingest

ROOT = Path(__file__).resolve().parents[2]


def _solution(num: str):
    path = next((ROOT / "notebooks" / "solutions").glob(f"{num}_*.py"))
    spec = importlib.util.spec_from_file_location(f"solution_{num}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outputs(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "\n".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))


def hints_missing(executed: Path) -> list[str]:
    """Exercises of an executed notebook whose task cell did not print its "not attempted" hint."""
    text = _outputs(executed)
    return [ex for ex in exercises.EXERCISES if ex.startswith(executed.name[:2] + ".")
            and f"{ex} not attempted. Task: " not in text]


def check_all(lake: dict[str, str]) -> None:
    """Every solution against ``lake`` (the outputs of a stack that ran 00-06)."""
    for test in (test_02_predicted_reasons, test_03_data_quality_metric_and_one_partition,
                 test_04_versions_and_partition_types, test_05_lga_filter_then_tidy,
                 test_06_cheapest_query_and_bill):
        test(lake)


@pytest.fixture(scope="module")
def lake():
    reuse = os.environ.get("LAKEKIT_TEST_LAKE")
    if not reuse:
        pytest.skip("the notebook run (tests/notebooks) checks every solution on its lake; set "
                    "LAKEKIT_TEST_LAKE=port:home:prefix to run these against a lake of yours")
    port, home, prefix = reuse.split(":")
    mp = pytest.MonkeyPatch()
    for key, value in {"LAKEKIT_TARGET": "local", "LAKEKIT_HOME": home, "LAKEKIT_PORT": port,
                       "LAKEKIT_PREFIX": prefix}.items():
        mp.setenv(key, value)
    try:
        lk.connect()
        yield deploy.outputs()
    finally:
        mp.undo()


def _exercise_traces(out: dict[str, str]) -> list[str]:
    s3, found = lk.client("s3"), []
    for bucket in (out["LandingBucket"], out["RawBucket"], out["QuarantineBucket"]):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            found += [f"{bucket}/{v['Key']}" for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                      if "exercise" in v["Key"]]
    return found


def test_02_predicted_reasons(lake):
    s3 = lk.client("s3")
    before = ingest.reconcile(s3, lake["LandingBucket"], lake["RawBucket"], lake["QuarantineBucket"])
    mod = _solution("02")
    right1, right2 = exercises.check("02.1", mod.solve_02_1()), exercises.check("02.2", mod.solve_02_2())
    assert right1.ok and "quarantined flights/exercise-02-1.csv with 'bad_row': line 13 has 18 fields" in right1.message
    assert right2.ok and "'gzip_truncated'" in right2.message
    wrong = exercises.check("02.1", "bad_header")
    assert wrong.status == "wrong" and "with 'bad_row'" in wrong.message and "You said 'bad_header'" in wrong.message
    after = ingest.reconcile(s3, lake["LandingBucket"], lake["RawBucket"], lake["QuarantineBucket"])
    assert after.attrs["summary"] == before.attrs["summary"] and after["key"].tolist() == before["key"].tolist()
    assert _exercise_traces(lake) == []


def test_03_data_quality_metric_and_one_partition(lake):
    mod = _solution("03")
    metric = mod.solve_03_1()
    assert 0.9 < metric < 1
    right = exercises.check("03.1", metric)
    assert right.ok and f"Completeness of dep_time = {metric:.4f}" in right.message
    assert exercises.check("03.1", round(metric, 3)).ok  # three decimals are enough
    missing = exercises.check("03.1", 1 - metric)
    assert missing.status == "wrong" and "share of MISSING" in missing.message
    cancelled = mod.solve_03_2()
    assert cancelled > 0 and exercises.check("03.2", cancelled).ok
    assert "cancelled" in exercises.check("03.2", cancelled + 1).message
    import awswrangler as wr

    day = wr.s3.read_parquet(f"s3://{lake['ProcessedBucket']}/flights/year=2013/month=7/day=4/", columns=["origin"])
    every = exercises.check("03.2", len(day))
    assert every.status == "wrong" and "every flight of that day" in every.message


def test_04_versions_and_partition_types(lake):
    mod = _solution("04")
    first = mod.solve_04_1()
    right = exercises.check("04.1", first)
    assert right.ok and f"feels_like first appears in version {first}" in right.message
    assert exercises.check("04.1", first - 1).status == "wrong"
    assert exercises.check("04.1", "latest").status == "wrong"
    assert mod.solve_04_2() == "string" and exercises.check("04.2", "string").ok
    wrong = exercises.check("04.2", "int")
    assert wrong.status == "wrong" and "folder name" in wrong.message


def test_05_lga_filter_then_tidy(lake):
    lf = lk.client("lakeformation")
    account = lk.client("sts").get_caller_identity()["Account"]

    def names():
        got = lf.list_data_cells_filter(Table={"DatabaseName": lake["DatabaseName"], "Name": "flights"})
        return sorted(f["Name"] for f in got["DataCellsFilters"])

    before = names()
    try:
        right = exercises.check("05.1", _solution("05").solve_05_1())
        assert right.ok and "row filter \"origin = 'LGA'\"" in right.message and "tailnum stays hidden" in right.message
        assert exercises.tidy("05") == [f"data cells filter {exercises.LGA_FILTER}"]
        gone = exercises.check("05.1", exercises.LGA_FILTER)
        assert gone.status == "wrong" and "has no data cells filter 'lga_departures'" in gone.message
        for expr, columns, why in [("origin = 'JFK'", {"ExcludedColumnNames": ["tailnum"]}, "NOT from LGA"),
                                   ("origin = 'LGA'", {"ExcludedColumnNames": []}, "lets tailnum through"),
                                   ("origin = 'LGA' AND month = '1'", {"ExcludedColumnNames": ["tailnum"]},
                                    "the filter is too narrow")]:
            lf.create_data_cells_filter(TableData={
                "TableCatalogId": account, "DatabaseName": lake["DatabaseName"], "TableName": "flights",
                "Name": exercises.LGA_FILTER, "RowFilter": {"FilterExpression": expr}, "ColumnWildcard": columns})
            wrong = exercises.check("05.1", exercises.LGA_FILTER)
            assert wrong.status == "wrong" and why in wrong.message, (expr, wrong)
            exercises.tidy("05")
    finally:
        exercises.tidy("05")
    assert names() == before


def test_06_cheapest_query_and_bill(lake):
    mod = _solution("06")
    right = exercises.check("06.1", mod.solve_06_1())
    assert right.ok and "flights left LGA that day" in right.message
    unpruned = exercises.check("06.1", "SELECT count_if(origin = 'LGA' AND year = '2013' AND month = '7' "
                                       "AND day = '4') FROM flights")
    assert unpruned.status == "wrong" and "right number, too many bytes" in unpruned.message
    other_day = exercises.check("06.1", mod.solve_06_1().replace("day = '4'", "day = '5'"))
    assert other_day.status == "wrong" and "your query answers" in other_day.message
    refused = exercises.check("06.1", "SELECT count(*) FROM flights WHERE month = 7")
    assert refused.status == "wrong" and "Athena refused your query" in refused.message
    price = mod.solve_06_2()
    assert exercises.check("06.2", price).ok and exercises.check("06.2", price * 1024**4 / 1e12).ok
    _, stats = athena.query(exercises.SQL_0602, lake["DatabaseName"], lake["EngineersWorkGroup"], progress=False)
    assert stats.data_scanned_bytes < 10 * 1024**2  # so the minimum applies
    forgot = exercises.check("06.2", stats.data_scanned_bytes / 1024**4 * 5.0)
    assert forgot.status == "wrong" and "forgot the 10 MB minimum" in forgot.message
