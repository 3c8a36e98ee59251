"""DynamicFrame: JSON choice types, schema/printSchema, resolveChoice actions, field paths, map/filter errors."""
from __future__ import annotations

import pytest
from _dynframe_fixtures import DATA, glue_ctx, rows, spark, write_jsonl  # noqa: F401
from awsglue import gluetypes as gt
from awsglue._choice import json_frame
from awsglue.dynamicframe import DynamicFrame, DynamicFrameCollection, ResolveOption

PRICES = [{"id": 1, "price": 1}, {"id": 2, "price": "1.5"}, {"id": 3, "price": None}, {"id": 4}]


@pytest.fixture(scope="module")
def prices(glue_ctx, tmp_path_factory):  # noqa: F811
    path = write_jsonl(tmp_path_factory.mktemp("prices") / "p.jsonl", PRICES)
    return json_frame(glue_ctx, [path], {}, "prices")


# ---------------------------------------------------------------------------- choice types from JSON
def test_mixed_json_field_is_a_choice_in_schema(prices):
    schema = prices.schema()
    assert [f.name for f in schema] == ["id", "price"]
    price = schema.getField("price").dataType
    assert isinstance(price, gt.ChoiceType)
    assert sorted(price.choices) == ["int", "string"]
    assert isinstance(schema.getField("id").dataType, gt.IntegerType)


def test_choice_in_todf_is_a_struct_with_one_field_per_type(prices):
    df = prices.toDF()
    assert df.schema["price"].dataType.simpleString() == "struct<int:int,string:string>"
    assert [(r["id"], r["price"]) for r in rows(prices, "id")] == [
        (1, {"int": 1, "string": None}), (2, {"int": None, "string": "1.5"}), (3, None), (4, None)]


def test_print_schema_is_glues_text(prices, capsys):
    prices.printSchema()
    assert capsys.readouterr().out == (
        "root\n|-- id: int\n|-- price: choice\n|    |-- int\n|    |-- string\n\n")


def test_int_and_double_values_make_a_choice_and_null_merges_away(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "n.jsonl", [{"v": 1, "w": None}, {"v": 2.5, "w": 3}, {"v": None}])
    frame = json_frame(glue_ctx, [path], {}, "n")
    schema = frame.schema()
    assert sorted(schema.getField("v").dataType.choices) == ["double", "int"]
    assert isinstance(schema.getField("w").dataType, gt.IntegerType)
    assert frame.count() == 3


def test_field_null_in_every_record_has_null_type(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "z.jsonl", [{"a": 1, "z": None}, {"a": 2}])
    schema = json_frame(glue_ctx, [path], {}, "z").schema()
    assert isinstance(schema.getField("z").dataType, gt.NullType)


def test_big_integers_are_long(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "l.jsonl", [{"a": 2 ** 40}, {"a": 2 ** 41}])
    frame = json_frame(glue_ctx, [path], {}, "l")
    assert isinstance(frame.schema().getField("a").dataType, gt.LongType)
    assert sorted(r["a"] for r in rows(frame)) == [2 ** 40, 2 ** 41]


def test_multiline_json_document_array(glue_ctx, tmp_path):  # noqa: F811
    (tmp_path / "m.json").write_text('[\n {"a": 1,\n  "b": "x"},\n {"a": "two"}\n]\n')
    frame = json_frame(glue_ctx, [str(tmp_path / "m.json")], {"multiline": True}, "m")
    assert frame.count() == 2
    assert sorted(frame.schema().getField("a").dataType.choices) == ["int", "string"]


def test_malformed_json_line_fails_the_read(glue_ctx, tmp_path):  # noqa: F811
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(Exception, match="malformed JSON record"):
        json_frame(glue_ctx, [str(tmp_path / "bad.jsonl")], {}, "bad").count()


def test_workshop_planes_and_weather_have_no_choices(glue_ctx):  # noqa: F811
    planes = json_frame(glue_ctx, [str(DATA / "planes")], {}, "planes")
    weather = json_frame(glue_ctx, [str(DATA / "weather")], {}, "weather")
    assert planes.count() == 307 and weather.count() == 211
    assert planes._choices == frozenset() and weather._choices == frozenset()
    ps = planes.schema()
    assert [f.name for f in ps] == ["tailnum", "year", "type", "manufacturer", "model", "engine", "capacity"]
    assert [(f.name, f.dataType.typeName()) for f in ps.getField("capacity").dataType] == [
        ("seats", "int"), ("speed", "int")]
    ws = weather.schema()
    assert [(f.name, f.dataType.typeName()) for f in ws.getField("wind").dataType] == [
        ("dir", "int"), ("speed", "double"), ("gust", "double")]
    first = [r for r in rows(planes) if r["tailnum"] == "N10156"][0]
    assert first["engine"] == {"count": 2, "type": "Turbo-fan"}
    assert first["capacity"] == {"seats": 55, "speed": None}


# ---------------------------------------------------------------------------- resolveChoice
@pytest.mark.parametrize("action, expected, spark_type", [
    ("cast:double", [1.0, 1.5, None, None], "double"),
    ("cast:string", ["1", "1.5", None, None], "string"),
    ("project:int", [1, None, None, None], "int"),
    ("project:string", [None, "1.5", None, None], "string"),
])
def test_resolve_choice_cast_and_project(prices, action, expected, spark_type):
    out = prices.resolveChoice(specs=[("price", action)])
    assert out.toDF().schema["price"].dataType.simpleString() == spark_type
    assert [r["price"] for r in rows(out, "id")] == expected
    assert out.schema().getField("price").dataType.typeName() == spark_type
    assert out._choices == frozenset()


def test_resolve_choice_make_struct_keeps_both_values_as_a_plain_struct(prices):
    out = prices.resolveChoice(specs=[("price", "make_struct")])
    price = out.schema().getField("price").dataType
    assert isinstance(price, gt.StructType) and [f.name for f in price] == ["int", "string"]
    assert [r["price"] for r in rows(out, "id")][:2] == [{"int": 1, "string": None}, {"int": None, "string": "1.5"}]


def test_resolve_choice_make_cols_splits_into_typed_columns(prices):
    out = prices.resolveChoice(choice="make_cols")
    assert out.toDF().columns == ["id", "price_int", "price_string"]
    assert [(r["price_int"], r["price_string"]) for r in rows(out, "id")] == [
        (1, None), (None, "1.5"), (None, None), (None, None)]


def test_resolve_choice_cast_on_a_plain_column_casts(prices):
    out = prices.resolveChoice(specs=[("id", "cast:string")])
    assert [r["id"] for r in rows(out, "id")] == ["1", "2", "3", "4"]
    assert isinstance(out.schema().getField("price").dataType, gt.ChoiceType)  # untouched


def test_resolve_choice_argument_errors(prices):
    with pytest.raises(ValueError, match="Parameter specs and option are both missing, add one."):
        prices.resolveChoice()
    with pytest.raises(ValueError, match="both specified, choose one"):
        prices.resolveChoice(specs=[("price", "cast:int")], choice="make_cols")
    with pytest.raises(ValueError, match="unknown resolveChoice action 'flatten'"):
        prices.resolveChoice(specs=[("price", "flatten")])
    with pytest.raises(NotImplementedError, match="match_catalog"):
        prices.resolveChoice(specs=[("price", "match_catalog")])


def test_choice_inside_an_array_resolved_with_brackets(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "a.jsonl", [{"k": 1, "myList": [{"price": 100.0}, {"price": "$100.00"}]}])
    frame = json_frame(glue_ctx, [path], {}, "a")
    element = frame.schema().getField("myList").dataType.elementType
    assert sorted(element.getField("price").dataType.choices) == ["double", "string"]
    out = frame.resolveChoice(specs=[("myList[].price", "cast:double")])
    assert rows(out)[0]["myList"] == [{"price": 100.0}, {"price": None}]
    assert out.schema().getField("myList").dataType.elementType.getField("price").dataType.typeName() == "double"


def test_nested_choice_in_struct_and_todf_resolve_options(glue_ctx, tmp_path):  # noqa: F811
    from pyspark.sql import types as T  # noqa: N812
    path = write_jsonl(tmp_path / "s.jsonl", [{"n": {"v": 1}}, {"n": {"v": "x"}}])
    frame = json_frame(glue_ctx, [path], {}, "s")
    assert frame._choices == frozenset({("n", "v")})
    df = frame.toDF([ResolveOption("n.v", "Project", T.StringType())])
    assert sorted((r["n"]["v"] for r in df.collect()), key=str) == [None, "x"]
    with pytest.raises(ValueError, match="Missing target type"):
        frame.toDF([ResolveOption("n.v", "Cast")])


# ---------------------------------------------------------------------------- field paths
@pytest.fixture(scope="module")
def nested(spark, glue_ctx):  # noqa: F811
    df = spark.createDataFrame(
        [(1, "a", (10, "x"), 5), (2, "b", (20, "y"), 6)],
        "id int, name string, addr struct<zip:int,city:string>, `a.b` int")
    return DynamicFrame.fromDF(df, glue_ctx, "nested")


def test_select_fields_nested_path_keeps_parent_with_that_child(nested):
    out = nested.select_fields(["id", "addr.city"])
    assert out.toDF().schema.simpleString() == "struct<id:int,addr:struct<city:string>>"
    assert rows(out, "id") == [{"id": 1, "addr": {"city": "x"}}, {"id": 2, "addr": {"city": "y"}}]


def test_drop_fields_nested_and_backticked(nested):
    out = nested.drop_fields(["addr.zip", "`a.b`"])
    assert out.toDF().schema.simpleString() == "struct<id:int,name:string,addr:struct<city:string>>"


def test_rename_field_nested_in_place_and_backticks(nested):
    out = nested.rename_field("addr.city", "addr.town").rename_field("`a.b`", "ab")
    assert out.toDF().columns == ["id", "name", "addr", "ab"]
    assert out.toDF().schema["addr"].dataType.simpleString() == "struct<zip:int,town:string>"
    assert [r["addr"]["town"] for r in rows(out, "id")] == ["x", "y"]


def test_rename_field_moves_to_the_full_new_path(nested):
    out = nested.rename_field("addr.zip", "zip")
    assert out.toDF().columns == ["id", "name", "addr", "a.b", "zip"]
    assert [r["zip"] for r in rows(out, "id")] == [10, 20]
    assert out.toDF().schema["addr"].dataType.simpleString() == "struct<city:string>"


def test_rename_field_onto_an_existing_field_is_refused(nested):
    with pytest.raises(ValueError, match="'name' already exists; drop_fields it first"):
        nested.rename_field("addr.city", "name")


def test_unnest_flattens_structs_to_dotted_names(nested):
    out = nested.unnest()
    assert out.toDF().columns == ["id", "name", "addr.zip", "addr.city", "a.b"]
    assert [r["addr.zip"] for r in rows(out, "id")] == [10, 20]


def test_show_prints_records_as_json(nested, capsys):
    nested.select_fields(["id", "addr"]).show(1)
    assert capsys.readouterr().out == '{"id": 1, "addr": {"zip": 10, "city": "x"}}\n'


# ---------------------------------------------------------------------------- map / filter / errors
def test_map_records_are_dicts_and_schema_is_recomputed(nested):
    def add(rec):
        rec["label"] = f"{rec['name']}-{rec['addr']['zip']}"
        del rec["a.b"]
        return rec
    out = nested.map(add)
    assert out.toDF().columns == ["id", "name", "addr", "label"]
    assert [r["label"] for r in rows(out, "id")] == ["a-10", "b-20"]
    assert out.errorsCount() == 0 and out.stageErrorsCount() == 0


def test_map_keeps_long_fields_long(spark, glue_ctx):  # noqa: F811
    frame = DynamicFrame.fromDF(spark.createDataFrame([(1,), (2,)], "n long"), glue_ctx, "l")
    out = frame.map(lambda r: {"n": r["n"] + 1})
    assert out.toDF().schema.simpleString() == "struct<n:bigint>"


def test_failing_records_become_error_records_across_stages(nested):
    def boom(rec):
        if rec["id"] == 2:
            raise ValueError("no id 2")
        return rec
    mapped = nested.map(boom, info="mapping")
    assert (mapped.count(), mapped.stageErrorsCount(), mapped.errorsCount()) == (1, 1, 1)
    filtered = mapped.filter(lambda r: r["name"].startswith("z") or 1 / 0)
    assert (filtered.count(), filtered.stageErrorsCount(), filtered.errorsCount()) == (0, 1, 2)
    errors = [r["error"] for r in filtered.errorsAsDynamicFrame().toDF().collect()]
    assert sorted(e["msg"] for e in errors) == ["ValueError: no id 2", "ZeroDivisionError: division by zero"]
    assert {e["callsite"]["site"] for e in errors} == {"map", "filter"}
    assert any('"id": 2' in e["input"] for e in errors)


def test_stage_threshold_exceeded_fails_the_transform(nested):
    with pytest.raises(RuntimeError, match="exceed stageThreshold 1"):
        nested.filter(lambda r: 1 / 0, stageThreshold=1)


def test_from_df_to_df_round_trip_and_count(spark, glue_ctx):  # noqa: F811
    df = spark.createDataFrame([(1,), (2,), (3,)], "x int")
    frame = DynamicFrame.fromDF(df, glue_ctx, "x")
    assert frame.toDF() is df and frame.count() == 3 and frame.name == "x"
    assert frame.errorsAsDynamicFrame().count() == 0


def test_collection_keys_select_and_unknown_key(nested, glue_ctx):  # noqa: F811
    dfc = DynamicFrameCollection({"a": nested, "b": nested.select_fields(["id"])}, glue_ctx)
    assert list(dfc.keys()) == ["a", "b"] and len(dfc) == 2
    assert dfc.select("b").toDF().columns == ["id"]
    empty = dfc.select("missing")
    assert empty.count() == 0 and empty.name == "missing"
    from awsglue.transforms import FlatMap, MapToCollection, SelectFields
    mapped = MapToCollection.apply(dfc=dfc, callable=lambda f, ctx: f.select_fields(["id"]))
    assert [mapped.select(k).toDF().columns for k in mapped.keys()] == [["id"], ["id"]]
    flat = FlatMap.apply(dfc=dfc, BaseTransform=SelectFields, frame_name="frame", paths=["id"])
    assert len(flat) == 1 and list(flat.keys()) == ["nested"]  # both frames are named "nested"


def test_dynamicframe_methods_not_provided_locally():
    """Ledger: these Glue DynamicFrame methods are absent locally (a script using them fails at once)."""
    for name in ("spigot", "split_fields", "split_rows", "unbox", "mergeDynamicFrame", "union",
                 "with_frame_schema", "simplify_ddb_json", "gs_to_timestamp"):
        assert not hasattr(DynamicFrame, name), name


def test_write_goes_through_the_glue_contexts_writer(nested):
    calls = []

    class Ctx:
        def write_from_options(self, **kwargs):
            calls.append(kwargs)
            return "written"
    frame = DynamicFrame(nested.toDF(), Ctx(), "w")
    assert frame.write("s3", {"path": "s3://b/k/"}, format="parquet") == "written"
    assert calls == [{"frame_or_dfc": frame, "connection_type": "s3", "connection_options": {"path": "s3://b/k/"},
                      "format": "parquet", "format_options": {}, "accumulator_size": 0}]
