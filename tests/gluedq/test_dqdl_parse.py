"""DQDL parsing: rule texts as Glue renders them, and Glue's parse errors (awslabs/dqdl wording)."""
# ruff: noqa: I001  (the conftest import puts the local awsgluedq on sys.path first)
from __future__ import annotations

import pytest

from tests.gluedq.conftest import PYLIB  # noqa: F401  (puts the local awsglue/awsgluedq on sys.path)

from awsgluedq import dqdl  # noqa: E402


def test_rule_texts_render_like_glue():
    rs = dqdl.parse('''Rules = [
        RowCount > 0,
        IsPrimaryKey "year" "month",
        ColumnValues "month" between 0 and 13,
        ColumnValues "origin" in [ "EWR", "JFK" ],
        ColumnValues "dep_delay" between -120 and 1500 with threshold > 0.95,
        Completeness "tailnum" > 0.95 where "year = 2013",
        ReferentialIntegrity "carrier" "airlines.carrier" = 1.0,
        (RowCount > 0) and (IsComplete "a"),
        CustomSql "select count(*) from primary" >= 3
    ]''')
    assert [r.text for r in rs.rules] == [
        "RowCount > 0", 'IsPrimaryKey "year" "month"', 'ColumnValues "month" between 0 and 13',
        'ColumnValues "origin" in ["EWR","JFK"]',
        'ColumnValues "dep_delay" between -120 and 1500 with threshold > 0.95',
        'Completeness "tailnum" > 0.95 where "year = 2013"',
        'ReferentialIntegrity "carrier" "airlines.carrier" = 1.0',
        '(RowCount > 0) and (IsComplete "a")', 'CustomSql "select count(*) from primary" >= 3']
    assert rs.rules[4].threshold.op == ">" and rs.rules[4].threshold.args == [0.95]
    assert rs.rules[2].condition.args == [0, 13]


def test_identical_rules_are_evaluated_once():
    assert [r.text for r in dqdl.parse('Rules = [ RowCount > 0, RowCount > 0 ]').rules] == ["RowCount > 0"]


@pytest.mark.parametrize("ruleset, message", [
    ('Rules = [ RowCountt > 0 ]', "Parsing Error: Rule Type: RowCountt is not valid"),
    ('Rules = [ Completeness "a" "b" > 0.5 ]', "Parsing Error: Rule Type: Completeness is not valid"),
    ('Rules = [ IsComplete "a" > 0.05 ]',
     "Parsing Error: Unexpected condition for rule of type IsComplete with boolean return type"),
    ('Rules = [ Completeness "a" ]',
     "Parsing Error: Unexpected condition for rule of type Completeness with number return type"),
    ('Rules = [ Completeness "a" > 0.4 with threshold > 0.4 ]',
     "Parsing Error: Threshold condition not supported for rule type: Completeness"),
    ('Rules = [ ReferentialIntegrity "a" "r.a" = 1.0 where "a > 1" ]',
     "Parsing Error: Where clause is not supported for rule type: ReferentialIntegrity"),
    ('Rules = [ IsPrimaryKey ]', "Parsing Error: VarArgs needs at least one parameter: IsPrimaryKey"),
    ('Rules = [ ]', "Parsing Error: No rules or analyzers provided."),
])
def test_invalid_dqdl_is_refused_with_glue_wording(ruleset, message):
    with pytest.raises(dqdl.InvalidDataQualityRulesetException) as err:
        dqdl.parse(ruleset)
    assert str(err.value) == message


def test_syntax_error_names_line_and_column():
    with pytest.raises(dqdl.InvalidDataQualityRulesetException) as err:
        dqdl.parse('Rules = [ RowCount > 0\n  IsComplete "a" ]')
    assert str(err.value).startswith("Parsing Error: line 2:2 mismatched input 'IsComplete'")


@pytest.mark.parametrize("ruleset, what", [
    ('Rules = [ DataFreshness "ts" <= 24 hours ]', "The DQDL rule type DataFreshness"),
    ('Rules = [ Entropy "a" > 1 ]', "The DQDL rule type Entropy"),
    ('Rules = [ RowCount > avg(last(3)) ]', "The function call avg(...) (a dynamic rule)"),
    ('Rules = [ ColumnValues "d" > now() ]', "A date condition (now())"),
    ('Analyzers = [ RowCount ]', "An Analyzers section"),
])
def test_valid_dqdl_not_evaluated_locally_is_refused_never_passed(ruleset, what):
    with pytest.raises(dqdl.UnsupportedDataQualityRuleError) as err:
        dqdl.parse(ruleset)
    assert str(err.value).startswith(f"{what} is valid DQDL on AWS Glue but the local Glue runner "
                                     "does not evaluate it")


def test_mixed_and_or_needs_parentheses():
    ok = dqdl.parse('Rules = [ (RowCount > 0) or ((IsComplete "a") and (IsUnique "a")) ]').rules[0]
    assert ok.text == '(RowCount > 0) or ((IsComplete "a") and (IsUnique "a"))'
    with pytest.raises(dqdl.InvalidDataQualityRulesetException):
        dqdl.parse('Rules = [ (RowCount > 0) or (IsComplete "a") and (IsUnique "a") ]')
