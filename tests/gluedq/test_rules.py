"""Rule outcomes on a 4-row frame with hand-computed metrics: one pass and one fail per rule type.

id: 1, 2, 2, 4        name: "ab", "b", NULL, "dddd"        v: 10.0, NULL, 30.0, 40.0
code: EWR, JFK, XXX, LGA                                     reference "ref".faa: EWR, JFK, LGA
"""
from __future__ import annotations

import json

import pytest

from tests.gluedq.conftest import Frame

ROWS = [(1, "ab", 10.0, "EWR"), (2, "b", None, "JFK"), (2, None, 30.0, "XXX"), (4, "dddd", 40.0, "LGA")]
SCHEMA = "id int, name string, v double, code string"
NOT_MET = "Value: {} does not meet the constraint requirement!"

CASES = [
    # rule, outcome, failure reason, evaluated metrics
    ("RowCount = 4", "Passed", None, {"Dataset.*.RowCount": 4.0}),
    ("RowCount > 4", "Failed", NOT_MET.format(4), {"Dataset.*.RowCount": 4.0}),
    ("ColumnCount = 4", "Passed", None, {"Dataset.*.ColumnCount": 4.0}),
    ("ColumnCount < 3", "Failed", NOT_MET.format(4), {"Dataset.*.ColumnCount": 4.0}),
    ('IsComplete "id"', "Passed", None, {"Column.id.Completeness": 1.0}),
    ('IsComplete "name"', "Failed", NOT_MET.format("0.75"), {"Column.name.Completeness": 0.75}),
    ('Completeness "v" >= 0.75', "Passed", None, {"Column.v.Completeness": 0.75}),
    ('Completeness "v" > 0.8', "Failed", NOT_MET.format("0.75"), {"Column.v.Completeness": 0.75}),
    ('Completeness "v" = 1.0 where "id > 2"', "Passed", None, {"Column.v.Completeness": 1.0}),
    ('IsUnique "code"', "Passed", None, {"Column.code.Uniqueness": 1.0}),
    # ids 1 and 4 occur once: 2 of 4 rows
    ('IsUnique "id"', "Failed", NOT_MET.format("0.5"), {"Column.id.Uniqueness": 0.5}),
    # a NULL key is not a unique value, but its row counts: 3 of 4
    ('IsUnique "name"', "Failed", NOT_MET.format("0.75"), {"Column.name.Uniqueness": 0.75}),
    ('Uniqueness "id" > 0.4', "Passed", None, {"Column.id.Uniqueness": 0.5}),
    ('Uniqueness "id" >= 0.6', "Failed", NOT_MET.format("0.5"), {"Column.id.Uniqueness": 0.5}),
    ('Uniqueness "id" "code" = 1.0', "Passed", None, {"Multicolumn.id,code.Uniqueness": 1.0}),
    ('IsPrimaryKey "code"', "Passed", None,
     {"Column.code.Uniqueness": 1.0, "Column.code.Completeness": 1.0}),
    ('IsPrimaryKey "name"', "Failed", NOT_MET.format("0.75") + "\n" + NOT_MET.format("0.75"),
     {"Column.name.Uniqueness": 0.75, "Column.name.Completeness": 0.75}),
    ('IsPrimaryKey "id" "code"', "Passed", None,
     {"Multicolumn.id,code.Uniqueness": 1.0, "Column.id.Completeness": 1.0,
      "Column.code.Completeness": 1.0}),
    # between is exclusive; NULL fails
    ('ColumnValues "v" between 5 and 45', "Failed", NOT_MET.format("0.75"),
     {"Column.v.ColumnValues.Compliance": 0.75}),
    ('ColumnValues "v" between 5 and 45 with threshold >= 0.75', "Passed", None,
     {"Column.v.ColumnValues.Compliance": 0.75}),
    ('ColumnValues "v" between 5 and 45 with threshold > 0.75', "Failed", NOT_MET.format("0.75"),
     {"Column.v.ColumnValues.Compliance": 0.75}),
    ('ColumnValues "id" between 1 and 4', "Failed", NOT_MET.format("0.5"),
     {"Column.id.ColumnValues.Compliance": 0.5}),
    ('ColumnValues "id" > 0', "Passed", None, {"Column.id.Minimum": 1.0}),
    ('ColumnValues "v" > 10', "Failed", NOT_MET.format("10.0") + "\n" + NOT_MET.format("NULL"),
     {"Column.v.Minimum": 10.0}),
    ('ColumnValues "id" <= 4', "Passed", None, {"Column.id.Maximum": 4.0}),
    ('ColumnValues "id" < 4', "Failed", NOT_MET.format("4.0"), {"Column.id.Maximum": 4.0}),
    ('ColumnValues "code" in ["EWR","JFK","LGA","XXX"]', "Passed", None,
     {"Column.code.ColumnValues.Compliance": 1.0}),
    ('ColumnValues "code" in ["EWR","JFK","LGA"]', "Failed", NOT_MET.format("0.75"),
     {"Column.code.ColumnValues.Compliance": 0.75}),
    ('ColumnValues "name" in ["ab","b","dddd",NULL]', "Passed", None,
     {"Column.name.ColumnValues.Compliance": 1.0}),
    ('ColumnValues "code" not in ["XXX"]', "Failed", NOT_MET.format("0.75"),
     {"Column.code.ColumnValues.Compliance": 0.75}),
    ('ColumnValues "name" != "zz"', "Passed", None, {"Column.name.ColumnValues.Compliance": 1.0}),
    ('ColumnValues "code" matches "[A-Z]{3}"', "Passed", None,
     {"Column.code.ColumnValues.Compliance": 1.0}),
    ('ColumnValues "name" matches "[a-z]{1,2}"', "Failed", NOT_MET.format("0.5"),
     {"Column.name.ColumnValues.Compliance": 0.5}),
    ('ColumnLength "code" = 3', "Passed", None,
     {"Column.code.MinimumLength": 3.0, "Column.code.MaximumLength": 3.0}),
    ('ColumnLength "name" <= 4', "Failed", NOT_MET.format("NULL"),
     {"Column.name.MinimumLength": 1.0, "Column.name.MaximumLength": 4.0}),
    ('ColumnLength "name" between 1 and 4', "Failed", NOT_MET.format("0.25"),
     {"Column.name.MinimumLength": 1.0, "Column.name.MaximumLength": 4.0,
      "Column.name.LengthCompliance": 0.25}),
    # (10 + 30 + 40) / 3
    ('Mean "v" between 26 and 27', "Passed", None, {"Column.v.Mean": 80 / 3}),
    ('Mean "v" > 30', "Failed", NOT_MET.format("26.666666666666668"), {"Column.v.Mean": 80 / 3}),
    ('Sum "id" = 9', "Passed", None, {"Column.id.Sum": 9.0}),
    ('Sum "id" < 9', "Failed", NOT_MET.format("9.0"), {"Column.id.Sum": 9.0}),
    # population standard deviation: sqrt(((1-2.25)^2 + 2 (2-2.25)^2 + (4-2.25)^2) / 4) = sqrt(1.1875)
    ('StandardDeviation "id" between 1.08 and 1.09', "Passed", None,
     {"Column.id.StandardDeviation": 1.1875 ** 0.5}),
    ('StandardDeviation "id" > 1.2', "Failed", NOT_MET.format(repr(1.1875 ** 0.5)),
     {"Column.id.StandardDeviation": 1.1875 ** 0.5}),
    ('DistinctValuesCount "id" = 3', "Passed", None, {"Column.id.DistinctValuesCount": 3.0}),
    ('DistinctValuesCount "name" = 4', "Failed", NOT_MET.format(3), {"Column.name.DistinctValuesCount": 3.0}),
    ('CustomSql "select count(*) from primary where v > 15" = 2', "Passed", None,
     {"Dataset.*.CustomSQL": 2.0}),
    ('CustomSql "select sum(id) from primary" > 9', "Failed", NOT_MET.format("9.0"),
     {"Dataset.*.CustomSQL": 9.0}),
    ('CustomSql "select id, code from primary where v is not null"', "Failed",
     "Value: 0.75 does not meet the constraint requirement.", {"Dataset.*.CustomSQL.Compliance": 0.75}),
    ('CustomSql "select id, code from primary where v is not null" with threshold > 0.7', "Passed", None,
     {"Dataset.*.CustomSQL.Compliance": 0.75}),
    ('ReferentialIntegrity "code" "ref.faa" >= 0.75', "Passed", None,
     {"Column.ref.ReferentialIntegrity": 0.75}),
    ('ReferentialIntegrity "code" "ref.{faa}" = 1.0', "Failed",
     "Value: 0.75 does not meet the constraint requirement.", {"Column.ref.ReferentialIntegrity": 0.75}),
    ('ReferentialIntegrity "code" "other.faa" = 1.0', "Failed", "other not found in additional sources", {}),
    ('ColumnExists "v"', "Passed", None, {"Dataset.v.ColumnExists": 1.0}),
    ('ColumnExists "nope"', "Failed", "Input data does not include column nope!",
     {"Dataset.nope.ColumnExists": 0.0}),
    ('IsComplete "nope"', "Failed", "Input data does not include column nope!", {}),
    ('(RowCount = 4) and (IsComplete "id")', "Passed", None,
     {"Dataset.*.RowCount": 4.0, "Column.id.Completeness": 1.0}),
    ('(RowCount = 4) and (IsComplete "name")', "Failed", NOT_MET.format("0.75"),
     {"Dataset.*.RowCount": 4.0, "Column.name.Completeness": 0.75}),
    ('(RowCount > 9) or (IsComplete "id")', "Passed", NOT_MET.format(4),
     {"Dataset.*.RowCount": 4.0, "Column.id.Completeness": 1.0}),
]


@pytest.fixture(scope="module")
def outcomes(spark):
    from awsgluedq.transforms import EvaluateDataQuality

    df = spark.createDataFrame(ROWS, SCHEMA)
    ref = Frame(spark.createDataFrame([("EWR",), ("JFK",), ("LGA",)], "faa string"))
    ruleset = "Rules = [\n" + ",\n".join(c[0] for c in CASES) + "\n]"
    result = EvaluateDataQuality.apply(frame=Frame(df), ruleset=ruleset,
                                       publishing_options={"enableDataQualityResultsPublishing": False},
                                       additional_data_sources={"ref": ref})
    assert result.toDF().columns == ["Rule", "Outcome", "FailureReason", "EvaluatedMetrics"]
    return {r["Rule"]: r for r in result.toDF().collect()}


@pytest.mark.parametrize("rule, outcome, reason, metrics", CASES, ids=[c[0] for c in CASES])
def test_rule_outcome(outcomes, rule, outcome, reason, metrics):
    got = outcomes[rule]
    assert (got["Outcome"], got["FailureReason"]) == (outcome, reason)
    assert got["EvaluatedMetrics"] == pytest.approx(metrics)


def test_process_rows_row_level_outcomes(spark, frame):
    from awsgluedq.transforms import EvaluateDataQuality

    rules = ['IsComplete "name"', "RowCount > 0", 'ColumnValues "v" > 15',
             '(IsComplete "name") and (ColumnValues "v" > 15)', 'IsUnique "id"']
    dfc = EvaluateDataQuality().process_rows(
        frame=frame(ROWS, SCHEMA), ruleset="Rules = [" + ", ".join(rules) + "]",
        publishing_options={"enableDataQualityResultsPublishing": False},
        additional_options={"performanceTuning.caching": "CACHE_NOTHING"})
    assert sorted(dfc.keys()) == ["rowLevelOutcomes", "ruleOutcomes"]
    rows = {r["code"]: r for r in dfc["rowLevelOutcomes"].toDF().collect()}
    assert dfc["rowLevelOutcomes"].toDF().columns == [
        "id", "name", "v", "code", "DataQualityRulesPass", "DataQualityRulesFail",
        "DataQualityRulesSkip", "DataQualityEvaluationResult"]
    both = '(IsComplete "name") and (ColumnValues "v" > 15)'
    assert rows["LGA"]["DataQualityRulesPass"] == [rules[0], rules[2], both, rules[4]]
    assert rows["LGA"]["DataQualityRulesFail"] == []
    assert rows["LGA"]["DataQualityEvaluationResult"] == "Passed"
    assert rows["EWR"]["DataQualityRulesFail"] == [rules[2], both]          # v = 10.0
    assert rows["JFK"]["DataQualityRulesFail"] == [rules[2], both, rules[4]]  # v NULL, id 2 twice
    assert rows["XXX"]["DataQualityRulesFail"] == [rules[0], both, rules[4]]  # name NULL
    assert all(r["DataQualityRulesSkip"] == ["RowCount > 0"] for r in rows.values())
    assert [r["DataQualityEvaluationResult"] for r in rows.values()].count("Failed") == 3
    outcomes = {r["Rule"]: r["Outcome"] for r in dfc["ruleOutcomes"].toDF().collect()}
    assert outcomes == {rules[0]: "Failed", rules[1]: "Passed", rules[2]: "Failed", both: "Failed",
                        rules[4]: "Failed"}


def test_published_result_file(spark, frame, tmp_path, monkeypatch):
    from awsgluedq.transforms import EvaluateDataQuality

    monkeypatch.setenv("LAKEKIT_GLUE_DQ_DIR", str(tmp_path / "dq"))
    EvaluateDataQuality.apply(frame=frame(ROWS, SCHEMA), ruleset='Rules = [ RowCount = 4, IsComplete "name" ]',
                              publishing_options={"dataQualityEvaluationContext": "orders_in"})
    EvaluateDataQuality.apply(frame=frame(ROWS, SCHEMA), ruleset="Rules = [ RowCount = 4 ]",
                              publishing_options={"enableDataQualityResultsPublishing": False})
    files = list((tmp_path / "dq").glob("*.json"))
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    assert doc["EvaluationContext"] == "orders_in" and doc["Score"] == 0.5
    assert doc["RuleResults"] == [
        {"Name": "Rule_1", "Description": "RowCount = 4", "Result": "PASS",
         "EvaluatedMetrics": {"Dataset.*.RowCount": 4.0}},
        {"Name": "Rule_2", "Description": 'IsComplete "name"', "Result": "FAIL",
         "EvaluatedMetrics": {"Column.name.Completeness": 0.75},
         "EvaluationMessage": NOT_MET.format("0.75")}]
    assert doc["StartedOn"] <= doc["CompletedOn"]


def test_unsupported_rule_raises_before_any_evaluation(frame):
    from awsgluedq.dqdl import InvalidDataQualityRulesetException, UnsupportedDataQualityRuleError
    from awsgluedq.transforms import EvaluateDataQuality

    with pytest.raises(InvalidDataQualityRulesetException, match="Rule Type: RowCounts is not valid"):
        EvaluateDataQuality.apply(frame=frame(ROWS, SCHEMA), ruleset="Rules = [ RowCounts > 0 ]")
    with pytest.raises(UnsupportedDataQualityRuleError, match="DetectAnomalies"):
        EvaluateDataQuality.apply(frame=frame(ROWS, SCHEMA), ruleset='Rules = [ DetectAnomalies "RowCount" ]')


def test_scala_double_formatting():
    from awsgluedq.evaluator import scala_double

    assert [scala_double(x) for x in (0.5, 3, 1e7, 0.0001, 123456.0, -2.5e-5)] == [
        "0.5", "3.0", "1.0E7", "1.0E-4", "123456.0", "-2.5E-5"]
