"""Glue's schema-on-read merges each record's type: records of one shape are merged once.

``_choice._partition_schema`` keys records by :func:`awsglue._choice._signature` and merges a
shape the first time it is seen (merging a type already merged changes nothing). The schema it
gives must be the one a merge of every record gives, field order and choices included.
"""
from __future__ import annotations

import datetime as dt
import decimal
import random

import pytest
from awsglue import gluetypes as gt
from awsglue._choice import _partition_schema, _signature, infer_type


def _every_record(records) -> gt.DataType:
    merged: gt.DataType = gt.StructType([])
    for rec in records:
        merged = gt.mergeDataTypes(merged, infer_type(rec))
    return merged


def _value(rng: random.Random, depth: int = 0):
    kinds = ["none", "bool", "int", "big", "float", "str", "date", "ts", "dec", "bytes"]
    if depth < 2:
        kinds += ["dict", "list"]
    kind = rng.choice(kinds)
    if kind == "dict":
        return {rng.choice("abcd"): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if kind == "list":
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {"none": None, "bool": rng.random() < 0.5, "int": rng.randint(-5, 5), "big": 2 ** 40,
            "float": 1.5, "str": "x", "date": dt.date(2013, 1, 1),
            "ts": dt.datetime(2013, 1, 1, 5), "dec": decimal.Decimal("1.25"), "bytes": b"\x00"}[kind]


@pytest.mark.parametrize("seed", range(6))
def test_merging_each_shape_once_gives_the_schema_of_every_record(seed):
    rng = random.Random(seed)
    records = [{k: _value(rng) for k in rng.sample("pqrstu", rng.randint(1, 4))} for _ in range(400)]
    records += records[:50]  # repeated shapes, as in real input
    expected = _every_record(records)
    got = _partition_schema(records)[0]
    assert repr(got) == repr(expected)
    assert gt.choice_paths_of(got) == gt.choice_paths_of(expected)


def test_a_shape_key_tells_apart_what_infer_type_tells_apart():
    assert _signature(1) == "int" and _signature(2 ** 31) == "long" and _signature(True) == "boolean"
    assert _signature({"a": 1}) != _signature({"a": 1.0}) != _signature({"a": "1"})
    assert _signature({"a": 1, "b": 2}) != _signature({"b": 2, "a": 1})  # field order is kept
    assert _signature([1, 1, 1]) == _signature([1]) != _signature([1, "x"])
    assert _signature(dt.datetime(2013, 1, 1)) != _signature(dt.date(2013, 1, 1))
    assert _signature({"a": object()}) is None  # not a JSON value: infer_type decides (and refuses)
    with pytest.raises(TypeError, match="cannot hold a object"):
        _partition_schema([{"a": 1}, {"a": object()}])


def test_weather_like_records_mixing_int_and_double_still_make_a_choice():
    records = [{"temp": 39.02, "gust": None}] * 100 + [{"temp": 39, "gust": 12.5}] + \
              [{"temp": 39.02, "gust": None}] * 100
    schema = _partition_schema(records)[0]
    assert isinstance(schema.getField(gt.Field("temp", gt.NullType())).dataType, gt.ChoiceType)
    assert gt.choice_paths_of(schema) == gt.choice_paths_of(_every_record(records))
