"""CTAS to PARQUET / ORC / AVRO / JSON / TEXTFILE: files, codecs and Glue metadata as Athena writes
them, tables readable by SELECT afterwards, and Athena's refusals (codecs a format does not take,
unnamed / duplicate / NULL-typed columns) - engine level, on the bare moto lake of conftest.py."""
from __future__ import annotations

import bz2
import gzip
import io
import json

import fastavro
import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest

from lakekit.local.athena import AthenaQueryError

SRC = ("SELECT carrier, dep_delay, time_hour, flight_date, origin FROM flights "
       "WHERE month = 1 AND day = 1")
AGG = "SELECT origin, count(*) AS n, sum(dep_delay) AS s, max(time_hour) AS t, max(flight_date) AS d FROM {} GROUP BY 1 ORDER BY 1"


@pytest.fixture(scope="module")
def truth(run) -> list[list[str | None]]:
    return run(AGG.format(f"({SRC})")).rows()


def _objects(s3, prefix: str) -> list[dict]:
    return s3.list_objects_v2(Bucket="lake", Prefix=prefix).get("Contents", [])


def _body(s3, path: str) -> bytes:
    bucket, key = path[5:].split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


SERDES = {
    "PARQUET": ("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", "parquet"),
    "ORC": ("org.apache.hadoop.hive.ql.io.orc.OrcSerde", "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "orc"),
    "AVRO": ("org.apache.hadoop.hive.serde2.avro.AvroSerDe",
             "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat", "avro"),
    "JSON": ("org.apache.hive.hcatalog.data.JsonSerDe", "org.apache.hadoop.mapred.TextInputFormat", "json"),
    "TEXTFILE": ("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", "org.apache.hadoop.mapred.TextInputFormat",
                 "csv"),
}


def _codec_of(fmt: str, body: bytes) -> str:
    if fmt == "PARQUET":
        return pq.ParquetFile(io.BytesIO(body)).metadata.row_group(0).column(0).compression
    if fmt == "ORC":
        return orc.ORCFile(io.BytesIO(body)).compression
    if fmt == "AVRO":
        return fastavro.reader(io.BytesIO(body)).codec
    if body[:2] == b"\x1f\x8b":
        return "GZIP"
    if body[:3] == b"BZh":
        return "BZIP2"
    return "NONE"


@pytest.mark.parametrize(("fmt", "codec", "expected"), [
    ("PARQUET", None, "GZIP"),  # Athena's Parquet default is GZIP
    ("PARQUET", "SNAPPY", "SNAPPY"),
    ("ORC", None, "ZLIB"),
    ("ORC", "ZSTD", "ZSTD"),
    ("AVRO", None, "null"),
    ("AVRO", "DEFLATE", "deflate"),
    ("JSON", None, "GZIP"),
    ("TEXTFILE", None, "GZIP"),
    ("TEXTFILE", "BZIP2", "BZIP2"),
    ("JSON", "NONE", "NONE"),
])
def test_ctas_format_round_trip(run, lake, truth, fmt, codec, expected):
    name = f"fmt_{fmt.lower()}_{(codec or 'default').lower()}"
    loc = f"s3://lake/ctasfmt/{name}/"
    comp = f", write_compression = '{codec}'" if codec else ""
    try:
        r = run(f"CREATE TABLE {name} WITH (format = '{fmt}', external_location = '{loc}'{comp}, "
                f"partitioned_by = ARRAY['origin']) AS {SRC}")
        assert r.substatement_type == "CREATE_TABLE_AS_SELECT"
        assert r.update_count == sum(int(row[1]) for row in truth)
        assert len(r.written_files) == 3
        ext = {"GZIP": ".gz", "BZIP2": ".bz2"}.get(expected, "") if fmt in ("JSON", "TEXTFILE") else ""
        assert all(f.startswith(f"{loc}origin=") and f.endswith(ext) for f in r.written_files)
        if not ext:
            assert not any(f.endswith((".gz", ".bz2", ".parquet")) for f in r.written_files)
        assert _codec_of(fmt, _body(lake["s3"], r.written_files[0])) == expected
        table = lake["glue"].get_table(DatabaseName="lakedb", Name=name)["Table"]
        sd = table["StorageDescriptor"]
        serde, inp, cls = SERDES[fmt]
        assert (sd["SerdeInfo"]["SerializationLibrary"], sd["InputFormat"]) == (serde, inp)
        assert table["Parameters"]["classification"] == cls
        assert [c["Name"] for c in sd["Columns"]] == ["carrier", "dep_delay", "time_hour", "flight_date"]
        assert [k["Name"] for k in table["PartitionKeys"]] == ["origin"]
        assert run(AGG.format(name)).rows() == truth
    finally:
        run(f"DROP TABLE IF EXISTS {name}")


def test_glue_compression_properties_per_format(run, lake):
    cases = {"PARQUET": ("parquet.compression", "GZIP"), "ORC": ("orc.compress", "ZLIB"),
             "JSON": ("write.compression", "GZIP"), "TEXTFILE": ("write.compression", "GZIP")}
    for fmt, (prop, value) in cases.items():
        name = f"props_{fmt.lower()}"
        try:
            run(f"CREATE TABLE {name} WITH (format = '{fmt}', external_location = 's3://lake/ctasprops/{name}/') "
                "AS SELECT 1 AS a")
            params = lake["glue"].get_table(DatabaseName="lakedb", Name=name)["Table"]["Parameters"]
            assert params[prop] == value
        finally:
            run(f"DROP TABLE IF EXISTS {name}")


def test_textfile_field_delimiter_and_hive_nulls(run, lake):
    try:
        r = run("CREATE TABLE txt_pipe WITH (format = 'TEXTFILE', field_delimiter = '|', write_compression = 'NONE', "
                "external_location = 's3://lake/ctastxt/pipe/') AS "
                "SELECT 'a' AS s, CAST(NULL AS integer) AS n, 1.5 AS d, true AS b")
        assert _body(lake["s3"], r.written_files[0]) == b"a|\\N|1.5|true\n"
        sd = lake["glue"].get_table(DatabaseName="lakedb", Name="txt_pipe")["Table"]["StorageDescriptor"]
        assert sd["SerdeInfo"]["Parameters"]["field.delim"] == "|"
        assert run("SELECT s, n, d, b FROM txt_pipe").rows() == [["a", None, "1.5", "true"]]
        r = run("CREATE TABLE txt_default WITH (format = 'TEXTFILE', external_location = 's3://lake/ctastxt/default/') "
                "AS SELECT 'x' AS s, 2 AS n")
        assert gzip.decompress(_body(lake["s3"], r.written_files[0])) == b"x\x012\n"  # \001 is the default
    finally:
        run("DROP TABLE IF EXISTS txt_pipe")
        run("DROP TABLE IF EXISTS txt_default")


def test_json_lines_as_hive_writes_them(run, lake):
    try:
        r = run("CREATE TABLE js WITH (format = 'JSON', write_compression = 'BZIP2', "
                "external_location = 's3://lake/ctasjson/js/') AS SELECT 'a' AS s, 3 AS n, DATE '2013-01-02' AS d")
        assert r.written_files[0].endswith(".bz2")
        assert [json.loads(x) for x in bz2.decompress(_body(lake["s3"], r.written_files[0])).splitlines()] == [
            {"s": "a", "n": 3, "d": "2013-01-02"}]
        assert run("SELECT s, n, d FROM js").rows() == [["a", "3", "2013-01-02"]]
    finally:
        run("DROP TABLE IF EXISTS js")


def test_orc_table_written_elsewhere_is_readable(run, lake):
    """An ORC table (files from pyarrow, Glue table as the crawler/DDL writes it) answers SELECT."""
    tbl = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "Name": ["x", None, "z"]})
    buf = io.BytesIO()
    orc.write_table(tbl, buf, compression="snappy")
    lake["s3"].put_object(Bucket="lake", Key="orcext/part-0.orc", Body=buf.getvalue())
    lake["glue"].create_table(DatabaseName="lakedb", TableInput={
        "Name": "orc_ext", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "orc"},
        "StorageDescriptor": {"Location": "s3://lake/orcext/", "InputFormat": SERDES["ORC"][1],
                              "OutputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
                              "SerdeInfo": {"SerializationLibrary": SERDES["ORC"][0]},
                              "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "name", "Type": "string"},
                                          {"Name": "extra", "Type": "double"}]}})
    try:
        r = run("SELECT id, name, extra FROM orc_ext ORDER BY id")
        assert r.rows() == [["1", "x", None], ["2", None, None], ["3", "z", None]]
        assert r.data_scanned_bytes == len(buf.getvalue())  # the whole ORC file is read
    finally:
        lake["glue"].delete_table(DatabaseName="lakedb", Name="orc_ext")


@pytest.mark.parametrize(("fmt", "codec"), [
    ("ORC", "GZIP"), ("PARQUET", "ZLIB"), ("AVRO", "GZIP"), ("TEXTFILE", "ZLIB"), ("JSON", "DEFLATE"),
    ("PARQUET", "BROTLI"),
])
def test_unsupported_codec_is_not_supported(run, lake, fmt, codec):
    name = f"bad_{fmt.lower()}_{codec.lower()}"
    with pytest.raises(AthenaQueryError) as exc:
        run(f"CREATE TABLE {name} WITH (format = '{fmt}', write_compression = '{codec}', "
            f"external_location = 's3://lake/ctasbad/{name}/') AS SELECT 1 AS a")
    e = exc.value
    assert (e.error_category, e.error_type, e.state) == (2, "NOT_SUPPORTED", "FAILED")
    assert e.message.startswith(f"NOT_SUPPORTED: Compression codec {codec} not supported for {fmt}. Supported for {fmt}: ")
    assert _objects(lake["s3"], f"ctasbad/{name}/") == []
    assert lake["glue"].get_tables(DatabaseName="lakedb", Expression=name)["TableList"] == []


def test_unknown_format_and_local_gaps_are_not_supported(run):
    with pytest.raises(AthenaQueryError) as exc:
        run("CREATE TABLE bad_csv WITH (format = 'CSV', external_location = 's3://lake/ctasbad/csv/') AS SELECT 1 AS a")
    assert exc.value.error_type == "NOT_SUPPORTED"
    assert "Supported formats: PARQUET, ORC, AVRO, JSON, TEXTFILE" in exc.value.message
    with pytest.raises(AthenaQueryError) as exc:  # Athena writes Avro+Snappy; the local endpoint cannot
        run("CREATE TABLE bad_avro WITH (format = 'AVRO', write_compression = 'SNAPPY', "
            "external_location = 's3://lake/ctasbad/avro_snappy/') AS SELECT 1 AS a")
    assert exc.value.error_type == "NOT_SUPPORTED" and "not by the local endpoint" in exc.value.message


def test_delimiter_and_compression_property_refusals(run):
    with pytest.raises(AthenaQueryError) as exc:
        run("CREATE TABLE bad_d WITH (format = 'TEXTFILE', field_delimiter = '||', "
            "external_location = 's3://lake/ctasbad/delim/') AS SELECT 1 AS a")
    assert exc.value.error_type == "NOT_SUPPORTED" and "single character" in exc.value.message
    with pytest.raises(AthenaQueryError) as exc:
        run("CREATE TABLE bad_c WITH (format = 'PARQUET', write_compression = 'GZIP', parquet_compression = 'SNAPPY', "
            "external_location = 's3://lake/ctasbad/twocodecs/') AS SELECT 1 AS a")
    assert exc.value.error_type == "INVALID_TABLE_PROPERTY"


@pytest.mark.parametrize(("select", "kind", "message"), [
    ("SELECT 1 FROM flights LIMIT 1", "MISSING_COLUMN_NAME", "line 1:1: Column name not specified at position 1"),
    ("SELECT carrier, count(*) FROM flights GROUP BY 1", "MISSING_COLUMN_NAME",
     "line 1:1: Column name not specified at position 2"),
    ("SELECT carrier, origin AS CARRIER FROM flights", "DUPLICATE_COLUMN_NAME",
     "line 1:1: Column name 'carrier' specified more than once"),
    ("SELECT NULL AS x", "COLUMN_TYPE_UNKNOWN", "line 1:1: Column type is unknown: x"),
])
def test_ctas_column_validation(run, lake, select, kind, message):
    with pytest.raises(AthenaQueryError) as exc:
        run(f"CREATE TABLE bad_cols WITH (external_location = 's3://lake/ctasbad/cols/') AS {select}")
    e = exc.value
    assert (e.error_category, e.error_type, e.message) == (2, kind, f"{kind}: {message}")
    assert _objects(lake["s3"], "ctasbad/cols/") == []
    assert lake["glue"].get_tables(DatabaseName="lakedb", Expression="bad_cols")["TableList"] == []


def test_column_validation_position_counts_from_the_statement(run):
    with pytest.raises(AthenaQueryError) as exc:
        run("-- a comment\n  CREATE TABLE bad_pos WITH (external_location = 's3://lake/ctasbad/pos/') AS SELECT 1")
    assert exc.value.message == "MISSING_COLUMN_NAME: line 2:3: Column name not specified at position 1"


def test_ctas_into_non_empty_location_message(run, lake):
    lake["s3"].put_object(Bucket="lake", Key="ctasbusy/t/old.txt", Body=b"x")
    with pytest.raises(AthenaQueryError) as exc:
        run("CREATE TABLE busy WITH (external_location = 's3://lake/ctasbusy/t/') AS SELECT 1 AS a")
    assert exc.value.error_type == "HIVE_PATH_ALREADY_EXISTS"
    assert exc.value.message == (
        "HIVE_PATH_ALREADY_EXISTS: Target directory for table 'lakedb.busy' already exists: s3://lake/ctasbusy/t/. "
        "You may need to manually clean the data at location 's3://lake/ctasbusy/t/' before retrying. Athena will "
        "not delete data in your account.")


def test_more_than_100_partitions_refused(run, lake):
    with pytest.raises(AthenaQueryError) as exc:
        run("CREATE TABLE many WITH (external_location = 's3://lake/ctasmany/', partitioned_by = ARRAY['p']) AS "
            "SELECT x AS v, x AS p FROM UNNEST(sequence(1, 101)) AS t(x)")
    assert exc.value.error_type == "HIVE_TOO_MANY_OPEN_PARTITIONS"
    assert _objects(lake["s3"], "ctasmany/") == []
