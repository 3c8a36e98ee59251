"""Intrinsic functions, conditions, parameters and dependency order (no endpoint needed)."""
from __future__ import annotations

import pytest

from lakekit.local.cloudformation import engine
from lakekit.local.cloudformation.engine import CallerContext, EngineError
from lakekit.local.cloudformation.intrinsics import (
    NO_VALUE,
    Context,
    Resolver,
    TemplateError,
    parse_template,
    references,
)

CALLER = CallerContext(region="eu-west-1", account_id="111122223333", access_key_id="test",
                       endpoint_url="http://127.0.0.1:1")


def _resolver(**kw) -> Resolver:
    base = dict(account_id="111122223333", region="eu-west-1", stack_name="st",
                stack_id="arn:aws:cloudformation:eu-west-1:111122223333:stack/st/1",
                parameters={"Env": "dev", "Size": "3", "Names": ["a", "b"]},
                mappings={"M": {"dev": {"Count": 2}, "prod": {"Count": 9}}},
                conditions={"IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
                            "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
                            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": ["1", "1"]}]},
                            "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}},
                resources={"Bkt": {"ref": "my-bucket", "attrs": {"Arn": "arn:aws:s3:::my-bucket"}}},
                exports=lambda n: {"shared-vpc": "vpc-123"}.get(n),
                template_resources={"Bkt": {}, "Gone": {}})
    base.update(kw)
    return Resolver(Context(**base))


def test_yaml_short_forms_parse_to_long_forms():
    t = parse_template(
        "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n"
        "      BucketName: !Sub '${AWS::StackName}-x'\n      Tags:\n"
        "        - {Key: a, Value: !GetAtt Other.Arn}\n        - {Key: b, Value: !Join [',', [!Ref X, y]]}\n")
    props = t["Resources"]["B"]["Properties"]
    assert props["BucketName"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert props["Tags"][0]["Value"] == {"Fn::GetAtt": ["Other", "Arn"]}
    assert props["Tags"][1]["Value"] == {"Fn::Join": [",", [{"Ref": "X"}, "y"]]}
    assert type(props["BucketName"]["Fn::Sub"]) is str  # plain (picklable) values


def test_template_errors():
    with pytest.raises(TemplateError, match="At least one Resources member"):
        parse_template("Resources: {}\n")
    with pytest.raises(TemplateError, match="Invalid template property"):
        parse_template("Resources: {A: {Type: AWS::S3::Bucket}}\nOutput: {}\n")
    with pytest.raises(TemplateError, match="Transform AWS::Serverless-2016-10-31 is not supported"):
        parse_template("Transform: AWS::Serverless-2016-10-31\nResources: {A: {Type: AWS::S3::Bucket}}\n")


def test_ref_pseudo_parameters_and_parameters():
    r = _resolver()
    assert r.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert r.resolve({"Ref": "AWS::AccountId"}) == "111122223333"
    assert r.resolve({"Ref": "AWS::StackName"}) == "st"
    assert r.resolve({"Ref": "AWS::StackId"}).endswith(":stack/st/1")
    assert r.resolve({"Ref": "AWS::Partition"}) == "aws"
    assert r.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert r.resolve({"Ref": "Env"}) == "dev"
    assert r.resolve({"Ref": "Bkt"}) == "my-bucket"
    assert _resolver(region="cn-north-1").resolve({"Ref": "AWS::Partition"}) == "aws-cn"
    with pytest.raises(TemplateError, match=r"Unresolved resource dependencies \[Nope\]"):
        r.resolve({"Ref": "Nope"})
    with pytest.raises(TemplateError, match="Gone is referenced but not created"):
        r.resolve({"Ref": "Gone"})


def test_no_value_removes_keys_and_list_items():
    r = _resolver()
    out = r.resolve({"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]}, 3]})
    assert out == {"B": [1, 3]}
    assert r.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_get_att_both_forms_and_unknown_attribute():
    r = _resolver()
    assert r.resolve({"Fn::GetAtt": ["Bkt", "Arn"]}) == "arn:aws:s3:::my-bucket"
    assert r.resolve({"Fn::GetAtt": "Bkt.Arn"}) == "arn:aws:s3:::my-bucket"
    with pytest.raises(TemplateError, match="has no attribute DomainName"):
        r.resolve({"Fn::GetAtt": ["Bkt", "DomainName"]})


def test_sub_string_and_variable_map_forms():
    r = _resolver()
    assert r.resolve({"Fn::Sub": "${Env}-${AWS::Region}-${Bkt}-${Bkt.Arn}"}) == \
        "dev-eu-west-1-my-bucket-arn:aws:s3:::my-bucket"
    assert r.resolve({"Fn::Sub": ["${Name}/${Env}", {"Name": {"Ref": "AWS::AccountId"}}]}) == "111122223333/dev"
    assert r.resolve({"Fn::Sub": "literal ${!NotAVar} kept"}) == "literal ${NotAVar} kept"
    assert r.resolve({"Fn::Sub": "${Names}"}) == "a,b"


def test_join_select_split_base64_getazs_findinmap_import():
    r = _resolver()
    assert r.resolve({"Fn::Join": ["_", {"Fn::Split": ["-", "my-pre-fix"]}]}) == "my_pre_fix"
    assert r.resolve({"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert r.resolve({"Fn::Select": [0, {"Ref": "Names"}]}) == "a"
    with pytest.raises(TemplateError, match="nonexistent value at index 5"):
        r.resolve({"Fn::Select": [5, ["a"]]})
    assert r.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert r.resolve({"Fn::GetAZs": ""})[:2] == ["eu-west-1a", "eu-west-1b"]
    assert r.resolve({"Fn::FindInMap": ["M", {"Ref": "Env"}, "Count"]}) == 2
    with pytest.raises(TemplateError, match="Unable to get mapping for M::test::Count"):
        r.resolve({"Fn::FindInMap": ["M", "test", "Count"]})
    assert r.resolve({"Fn::ImportValue": "shared-vpc"}) == "vpc-123"
    with pytest.raises(TemplateError, match="No export named other found"):
        r.resolve({"Fn::ImportValue": "other"})
    with pytest.raises(TemplateError, match="Fn::Cidr is not a supported intrinsic"):
        r.resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]})


def test_conditions_equals_and_or_not_if():
    r = _resolver()
    assert (r.condition("IsDev"), r.condition("IsProd"), r.condition("Both"), r.condition("Either")) == \
        (True, False, True, True)
    assert r.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "small"
    assert r.resolve({"Fn::Equals": [{"Ref": "Size"}, 3]}) is True
    cyclic = _resolver(conditions={"A": {"Condition": "B"}, "B": {"Condition": "A"}})
    with pytest.raises(TemplateError, match="Circular dependency between conditions"):
        cyclic.condition("A")


def test_references_follow_only_the_taken_if_branch():
    value = {"X": {"Fn::If": ["C", {"Ref": "A"}, {"Fn::GetAtt": ["B", "Arn"]}]},
             "Y": {"Fn::Sub": "${D}-${E.Arn}-${AWS::Region}-${!lit}"}}
    assert references(value) == {"A", "B", "D", "E"}
    assert references(value, lambda c: True) == {"A", "D", "E"}
    assert references(value, lambda c: False) == {"B", "D", "E"}


def test_parameters_defaults_allowed_values_types_noecho():
    t = parse_template("""
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Size: {Type: Number, MinValue: 1, MaxValue: 5}
  Names: {Type: CommaDelimitedList, Default: "a, b"}
  Secret: {Type: String, NoEcho: true, AllowedPattern: "^[a-z]+$"}
Resources: {B: {Type: AWS::S3::Bucket}}
""")
    values, listing = engine.resolve_parameters(t, [{"ParameterKey": "Size", "ParameterValue": "2"},
                                                    {"ParameterKey": "Secret", "ParameterValue": "pw"}])
    assert values == {"Env": "dev", "Size": "2", "Names": ["a", "b"], "Secret": "pw"}
    assert [p["NoEcho"] for p in listing] == [False, False, False, True]
    with pytest.raises(EngineError, match=r"Parameters: \[Size, Secret\] must have values"):
        engine.resolve_parameters(t, [])
    with pytest.raises(EngineError, match="Parameter 'Env' must be one of AllowedValues"):
        engine.resolve_parameters(t, [{"ParameterKey": "Env", "ParameterValue": "qa"},
                                      {"ParameterKey": "Size", "ParameterValue": "2"},
                                      {"ParameterKey": "Secret", "ParameterValue": "pw"}])
    with pytest.raises(EngineError, match="Parameter 'Size' must be a number not greater than 5"):
        engine.resolve_parameters(t, [{"ParameterKey": "Size", "ParameterValue": "9"},
                                      {"ParameterKey": "Secret", "ParameterValue": "pw"}])
    with pytest.raises(EngineError, match="Parameter 'Size' must be a number."):
        engine.resolve_parameters(t, [{"ParameterKey": "Size", "ParameterValue": "x"},
                                      {"ParameterKey": "Secret", "ParameterValue": "pw"}])
    with pytest.raises(EngineError, match=r"Parameter 'Secret' must match pattern \^\[a-z\]\+\$"):
        engine.resolve_parameters(t, [{"ParameterKey": "Size", "ParameterValue": "1"},
                                      {"ParameterKey": "Secret", "ParameterValue": "PW"}])
    with pytest.raises(EngineError, match=r"Parameters: \[Nope\] do not exist in the template"):
        engine.resolve_parameters(t, [{"ParameterKey": "Nope", "ParameterValue": "1"}])
    values, _ = engine.resolve_parameters(
        t, [{"ParameterKey": "Size", "UsePreviousValue": True}, {"ParameterKey": "Secret", "ParameterValue": "pw"}],
        previous={"Size": "4"})
    assert values["Size"] == "4"


def test_dependency_order_and_cycle_detection():
    t = parse_template("""
Resources:
  C: {Type: AWS::S3::Bucket, DependsOn: B}
  B: {Type: AWS::S3::Bucket, Properties: {BucketName: !Sub "${A}-b"}}
  A: {Type: AWS::S3::Bucket}
  D: {Type: AWS::S3::Bucket, Condition: Never, Properties: {BucketName: !Ref C}}
Conditions:
  Never: !Equals [a, b]
""")
    plan = engine._plan(CALLER, t, {}, [], "st", "id")
    assert plan.active == ["C", "B", "A"]
    assert plan.order == ["A", "B", "C"]
    cyc = parse_template("""
Resources:
  A: {Type: AWS::S3::Bucket, Properties: {BucketName: !Ref B}}
  B: {Type: AWS::S3::Bucket, Properties: {BucketName: !GetAtt A.Arn}}
""")
    with pytest.raises(EngineError, match=r"Circular dependency between resources: \[A, B\]"):
        engine._plan(CALLER, cyc, {}, [], "st", "id")


def test_structure_checks_and_capabilities():
    t = parse_template("Resources:\n  R: {Type: AWS::IAM::Role, Properties: {RoleName: x, "
                       "AssumeRolePolicyDocument: {}}}\n")
    assert engine.required_capabilities(t)[0] == ["CAPABILITY_NAMED_IAM"]
    with pytest.raises(EngineError, match=r"Requires capabilities : \[CAPABILITY_NAMED_IAM\]"):
        engine._check_capabilities(t, ["CAPABILITY_IAM"])
    bad = parse_template("Resources:\n  R: {Type: AWS::Nope::Thing}\n")
    with pytest.raises(EngineError, match=r"Unrecognized resource types: \[AWS::Nope::Thing\]"):
        engine._check_structure(bad)
    dangling = parse_template("Resources:\n  R: {Type: AWS::S3::Bucket, Properties: {BucketName: !Ref Q}}\n")
    with pytest.raises(EngineError, match=r"Unresolved resource dependencies \[Q\]"):
        engine._check_structure(dangling)
