"""awsglue.transforms: each transform on small frames with hand-computed results, and a Glue example script."""
from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path

import awsglue.transforms as transforms_module
import pytest
from _dynframe_fixtures import glue_ctx, rows, spark, write_jsonl  # noqa: F401
from awsglue._choice import json_frame
from awsglue.dynamicframe import DynamicFrame, DynamicFrameCollection
from awsglue.transforms import *  # noqa: F403
from awsglue.transforms import (
    ApplyMapping,
    DropFields,
    DropNullFields,
    Filter,
    Join,
    Map,
    Relationalize,
    RenameField,
    ResolveChoice,
    SelectFields,
    SelectFromCollection,
)

SCRIPT = Path(__file__).parent / "scripts" / "join_and_relationalize.py"


def test_star_import_gives_glues_transform_names():
    expected = {"ApplyMapping", "ResolveChoice", "DropNullFields", "Relationalize", "Join", "SelectFields",
                "DropFields", "RenameField", "Filter", "Map", "SelectFromCollection", "UnnestFrame",
                "ErrorsAsDynamicFrame", "MapToCollection", "FlatMap"}
    assert expected <= set(transforms_module.__all__)
    assert ApplyMapping.name() == "ApplyMapping" and repr(Join()) == "<Transform: Join>"


# ---------------------------------------------------------------------------- ApplyMapping
@pytest.fixture(scope="module")
def raw(spark, glue_ctx):  # noqa: F811
    df = spark.createDataFrame(
        [("1", "12", "2013-01-01", (5, "x"), 1.5), ("2", "abc", None, (6, "y"), None)],
        "ID string, n string, day string, inner struct<a:int,b:string>, `odd.name` double")
    return DynamicFrame.fromDF(df, glue_ctx, "raw")


def test_apply_mapping_casts_renames_and_nests(raw):
    out = ApplyMapping.apply(frame=raw, mappings=[
        ("id", "string", "id", "int"),           # case-insensitive source match
        ("n", "string", "num", "int"),           # "abc" cannot be cast: null
        ("day", "string", "when.day", "date"),   # nested target
        ("inner.a", "int", "when.a", "long"),
        ("`odd.name`", "double", "odd", "string"),
        ("missing", "string", "gone", "string"),  # no such source: no target field
    ])
    assert out.toDF().schema.simpleString() == (
        "struct<id:int,num:int,when:struct<day:date,a:bigint>,odd:string>")
    got = rows(out, "id")
    assert [(r["id"], r["num"], str(r["when"]["day"]), r["when"]["a"], r["odd"]) for r in got] == [
        (1, 12, "2013-01-01", 5, "1.5"), (2, None, "None", 6, None)]
    assert out.errorsCount() == 0


def test_apply_mapping_case_sensitive_misses_other_case(raw):
    out = raw.apply_mapping([("id", "string", "id", "int")], case_sensitive=True)
    assert out.toDF().columns == []


def test_apply_mapping_rejects_unknown_type_and_short_tuples(raw):
    with pytest.raises(ValueError, match="unknown Glue type 'number'"):
        raw.apply_mapping([("n", "string", "n", "number")])
    with pytest.raises(ValueError, match=r"must be \(source path, source type, target path, target type\)"):
        raw.apply_mapping([("n", "n", "string")])


def test_apply_mapping_of_a_choice_casts_every_member(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "c.jsonl", [{"p": 1}, {"p": "2.5"}, {"p": "bad"}])
    frame = json_frame(glue_ctx, [path], {}, "c")
    out = ApplyMapping.apply(frame=frame, mappings=[("p", "int", "p", "double")])
    assert sorted(rows(out), key=lambda r: (r["p"] is None, r["p"])) == [{"p": 1.0}, {"p": 2.5}, {"p": None}]


# ---------------------------------------------------------------------------- ResolveChoice
def test_resolve_choice_transform(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "r.jsonl", [{"k": 1, "v": 7}, {"k": 2, "v": "8"}])
    frame = json_frame(glue_ctx, [path], {}, "r")
    out = ResolveChoice.apply(frame=frame, specs=[("v", "cast:long")])
    assert out.toDF().schema.simpleString() == "struct<k:int,v:bigint>"
    assert [r["v"] for r in rows(out, "k")] == [7, 8]
    cols = ResolveChoice.apply(frame, choice="make_cols")
    assert cols.toDF().columns == ["k", "v_int", "v_string"]


# ---------------------------------------------------------------------------- DropNullFields
def test_drop_null_fields_drops_fields_null_in_every_record(spark, glue_ctx):  # noqa: F811
    df = spark.createDataFrame(
        [(1, None, None, (None, 3)), (2, None, "x", (None, None))],
        "id int, empty string, some string, s struct<gone:int,kept:int>")
    out = DropNullFields.apply(frame=DynamicFrame.fromDF(df, glue_ctx, "n"))
    assert out.toDF().schema.simpleString() == "struct<id:int,some:string,s:struct<kept:int>>"
    assert rows(out, "id") == [{"id": 1, "some": None, "s": {"kept": 3}}, {"id": 2, "some": "x", "s": {"kept": None}}]


def test_drop_null_fields_drops_null_typed_json_field_and_emptied_struct(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "z.jsonl", [{"a": 1, "z": None, "s": {"q": None}}, {"a": 2}])
    out = DropNullFields.apply(json_frame(glue_ctx, [path], {}, "z"))
    assert out.toDF().columns == ["a"]


# ---------------------------------------------------------------------------- Relationalize
NESTED = [
    {"id": "a", "info": {"k": 1, "codes": [[1, 2], [3]]},
     "links": [{"url": "u1", "note": "n1"}, {"url": "u2", "note": None}], "tags": ["x", "y"]},
    {"id": "b", "info": {"k": 2, "codes": []}, "links": [], "tags": None},
]


def _table(dfc, name):
    frame = dfc.select(name)
    cols = frame.toDF().columns
    return cols, sorted(tuple(r[c] for c in cols) for r in frame.toDF().collect())


def test_relationalize_pivots_nested_arrays_into_child_tables(glue_ctx, tmp_path):  # noqa: F811
    frame = json_frame(glue_ctx, [write_jsonl(tmp_path / "n.jsonl", NESTED)], {}, "n")
    dfc = Relationalize.apply(frame=frame, staging_path=str(tmp_path / "stage"), name="t")
    assert isinstance(dfc, DynamicFrameCollection)
    assert not (tmp_path / "stage").exists()  # local: the pivoted tables are not staged there
    assert list(dfc.keys()) == ["t", "t_info.codes", "t_info.codes.val", "t_links", "t_tags"]
    assert _table(dfc, "t") == (["id", "info.k", "info.codes", "links", "tags"],
                                [("a", 1, 1, 1, 1), ("b", 2, 2, 2, None)])
    assert _table(dfc, "t_info.codes") == (["id", "index", "info.codes.val"], [(1, 0, 1), (1, 1, 2)])
    assert _table(dfc, "t_info.codes.val") == (["id", "index", "info.codes.val.val"],
                                               [(1, 0, 1), (1, 1, 2), (2, 0, 3)])
    assert _table(dfc, "t_links") == (["id", "index", "links.val.url", "links.val.note"],
                                      [(1, 0, "u1", "n1"), (1, 1, "u2", None)])
    assert _table(dfc, "t_tags") == (["id", "index", "tags.val"], [(1, 0, "x"), (1, 1, "y")])
    schema = dfc.select("t_links").schema()
    assert [(f.name, f.dataType.typeName()) for f in schema] == [
        ("id", "long"), ("index", "int"), ("links.val.url", "string"), ("links.val.note", "string")]


def test_relationalize_without_arrays_is_one_flat_table(spark, glue_ctx):  # noqa: F811
    df = spark.createDataFrame([(1, (2, 3))], "a int, s struct<x:int,y:int>")
    dfc = DynamicFrame.fromDF(df, glue_ctx, "f").relationalize("root", "/tmp/unused")
    assert list(dfc.keys()) == ["root"]
    assert _table(dfc, "root") == (["a", "s.x", "s.y"], [(1, 2, 3)])
    assert SelectFromCollection.apply(dfc=dfc, key="root").count() == 1


def test_relationalize_flattens_an_unresolved_choice_like_make_struct(glue_ctx, tmp_path):  # noqa: F811
    path = write_jsonl(tmp_path / "c.jsonl", [{"k": 1, "p": 1}, {"k": 2, "p": "x"}])
    dfc = json_frame(glue_ctx, [path], {}, "c").relationalize("r", str(tmp_path / "stage"))
    assert _table(dfc, "r") == (["k", "p.int", "p.string"], [(1, 1, None), (2, None, "x")])


# ---------------------------------------------------------------------------- Join and field transforms
@pytest.fixture(scope="module")
def people(spark, glue_ctx):  # noqa: F811
    persons = spark.createDataFrame([("p1", "Ann"), ("p2", "Bob"), ("p3", "Cy")], "id string, name string")
    members = spark.createDataFrame([("p1", "o1"), ("p1", "o2"), ("p2", "o1"), (None, "o1")],
                                    "person_id string, org string")
    return DynamicFrame.fromDF(persons, glue_ctx, "persons"), DynamicFrame.fromDF(members, glue_ctx, "m")


def test_join_keeps_both_sides_and_matches_keys(people):
    persons, members = people
    out = Join.apply(persons, members, "id", "person_id")
    assert out.toDF().columns == ["id", "name", "person_id", "org"]
    assert sorted((r["id"], r["org"]) for r in out.toDF().collect()) == [("p1", "o1"), ("p1", "o2"), ("p2", "o1")]
    assert out.name == "personsm"


def test_join_with_clashing_fields_says_what_to_do(people):
    persons, _ = people
    with pytest.raises(ValueError, match=r"both frames have field\(s\) \['name'\]; rename_field"):
        Join.apply(persons, persons.rename_field("id", "pid"), "id", "pid")


def test_select_drop_rename_filter_map_transforms(people):
    persons, _ = people
    assert SelectFields.apply(frame=persons, paths=["name"]).toDF().columns == ["name"]
    assert DropFields.apply(frame=persons, paths=["name"]).toDF().columns == ["id"]
    assert RenameField.apply(frame=persons, old_name="name", new_name="who").toDF().columns == ["id", "who"]
    kept = Filter.apply(frame=persons, f=lambda r: r["name"] != "Bob")
    assert sorted(r["id"] for r in kept.toDF().collect()) == ["p1", "p3"]
    mapped = Map.apply(frame=persons, f=lambda r: {"id": r["id"], "len": len(r["name"])})
    assert sorted((r["id"], r["len"]) for r in mapped.toDF().collect()) == [("p1", 3), ("p2", 3), ("p3", 2)]
    assert ErrorsAsDynamicFrame.apply(mapped).count() == 0  # noqa: F405


# ---------------------------------------------------------------------------- a Glue example script, unchanged
LEGISLATORS = {
    "persons_json": [
        {"id": "p1", "name": "Ann Lee", "family_name": "Lee",
         "contact_details": [{"type": "phone", "value": "202-1"}, {"type": "fax", "value": "202-2"}],
         "other_names": [{"name": "Annie", "lang": "en"}]},
        {"id": "p2", "name": "Bob Ray", "family_name": "Ray", "contact_details": []},
    ],
    "memberships_json": [
        {"person_id": "p1", "organization_id": "o1", "role": "member", "start_date": "2001"},
        {"person_id": "p2", "organization_id": "o2", "role": "member"},
        {"person_id": "p1", "organization_id": "o2", "role": "chair"},
    ],
    "organizations_json": [
        {"id": "o1", "name": "House", "classification": "legislature",
         "other_names": [{"name": "H"}], "identifiers": [{"scheme": "x", "identifier": "1"}]},
        {"id": "o2", "name": "Senate", "classification": "legislature", "seats": 100},
    ],
}


def _stub_glue_modules(session, data_dir: Path) -> dict[str, types.ModuleType]:
    """awsglue.context/job/utils as the local runner's would behave for this script (catalog -> local JSON)."""
    class _Reader:
        def __init__(self, ctx):
            self.ctx = ctx

        def from_catalog(self, database, table_name, **kwargs):
            return json_frame(self.ctx, [str(data_dir / database / table_name)], {}, table_name)

    class _Writer:
        def from_options(self, frame, connection_type, connection_options, format, **kwargs):  # noqa: A002
            assert connection_type == "s3" and format == "parquet"
            frame.toDF().write.mode("overwrite").parquet(connection_options["path"])

    class GlueContext:
        def __init__(self, sc):
            self.spark_session = session
            self.create_dynamic_frame = _Reader(self)
            self.write_dynamic_frame = _Writer()

    class Job:
        def __init__(self, ctx):
            self.state = "new"

        def init(self, name, args):
            self.state = "running"

        def commit(self):
            self.state = "committed"

    def get_resolved_options(argv, names):
        pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
        return {n: pairs[f"--{n}"] for n in names}

    mods = {}
    for name, attrs in {"awsglue.context": {"GlueContext": GlueContext}, "awsglue.job": {"Job": Job},
                        "awsglue.utils": {"getResolvedOptions": get_resolved_options}}.items():
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        mods[name] = mod
    return mods


def test_join_and_relationalize_script_runs_unchanged(spark, tmp_path, monkeypatch, capsys):  # noqa: F811
    data = tmp_path / "catalog"
    for table, records in LEGISLATORS.items():
        write_jsonl(data / "legislators" / table / "part-0.json", records)
    for name, mod in _stub_glue_modules(spark, data).items():
        monkeypatch.setitem(sys.modules, name, mod)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--JOB_NAME", "jr", "--output_dir", str(out),
                                      "--temp_dir", str(tmp_path / "temp")])
    runpy.run_path(str(SCRIPT), run_name="__main__")
    printed = capsys.readouterr().out
    assert "Count:  3" in printed
    history = spark.read.parquet(str(out / "legislator_history"))
    assert sorted(history.columns) == sorted(["classification", "org_name", "seats", "id", "name", "family_name",
                                              "contact_details", "other_names", "organization_id", "role",
                                              "start_date"])
    assert sorted((r["name"], r["org_name"], r["role"]) for r in history.collect()) == [
        ("Ann Lee", "House", "member"), ("Ann Lee", "Senate", "chair"), ("Bob Ray", "Senate", "member")]
    assert sorted(p.name for p in (out / "legislator_part").iterdir() if p.name.startswith("org_name=")) == [
        "org_name=House", "org_name=Senate"]
    flat = {p.name for p in (out / "flat").iterdir()}
    assert flat == {"hist_root", "hist_root_contact_details", "hist_root_other_names"}
    root = spark.read.parquet(str(out / "flat" / "hist_root"))
    contacts = spark.read.parquet(str(out / "flat" / "hist_root_contact_details"))
    assert contacts.columns == ["id", "index", "contact_details.val.type", "contact_details.val.value"]
    joined = root.join(contacts, root["contact_details"] == contacts["id"]).collect()
    assert sorted((r["name"], r["org_name"], r["index"], r["contact_details.val.type"]) for r in joined) == [
        ("Ann Lee", "House", 0, "phone"), ("Ann Lee", "House", 1, "fax"),
        ("Ann Lee", "Senate", 0, "phone"), ("Ann Lee", "Senate", 1, "fax")]
    assert contacts.count() == 4
