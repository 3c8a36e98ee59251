"""The ingest Lambda handler called in-process with real S3 event JSON against bare moto."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json

import pytest
from ingest_helpers import SAMPLE, s3_record

from lakekit.lambdas.ingest import handler as ingest

FLIGHTS_JAN = (SAMPLE / "flights" / "2013-01.csv").read_bytes()
FLIGHTS_FEB = (SAMPLE / "flights" / "2013-02.csv").read_bytes()
HEADER = FLIGHTS_JAN.split(b"\n", 1)[0]
PLANES = (SAMPLE / "planes" / "planes.jsonl").read_bytes()
WEATHER = (SAMPLE / "weather" / "weather.jsonl").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"


def _today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


def _event(*records) -> dict:
    return {"Records": list(records)}


def _corrupt_crc(data: bytes) -> bytes:
    blob = bytearray(gzip.compress(data))
    blob[-8] ^= 0xFF  # CRC32 trailer
    return bytes(blob)


#: (key, body, content type, expected reason code)
BAD_FILES = [
    ("flights/trunc.csv.gz", gzip.compress(FLIGHTS_JAN)[:700], None, "gzip_truncated"),
    ("flights/trunc_row.csv", FLIGHTS_JAN[:-40], None, "truncated_row"),
    ("flights/bad_row.csv", FLIGHTS_JAN.replace(b",UA,", b",UA,extra,", 1), None, "bad_row"),
    ("flights/wrong_header.csv", FLIGHTS_JAN.replace(b"dep_delay", b"departure_delay", 1), None,
     "bad_header"),
    ("flights/semicolon.csv", FLIGHTS_JAN.replace(b",", b";"), None, "bad_delimiter"),
    ("airlines/latin1.csv", "carrier,name\nXX,Soci\u00e9t\u00e9 A\u00e9rienne\n".encode("latin-1"),
     None, "not_utf8"),
    ("flights/empty.csv", b"", None, "empty_file"),
    ("flights/header_only.csv", HEADER + b"\n", None, "header_only"),
    ("flights/image.csv", PNG * 4, None, "binary_content"),
    ("planes/no_engine.jsonl", (b'{"tailnum": "N1", "year": 2004, "type": "x", "manufacturer": "y", '
                                b'"model": "z", "capacity": {"seats": 5, "speed": null}}\n'),
     None, "json_shape"),
    ("planes/array.json", b"[" + PLANES.split(b"\n", 1)[0] + b"]\n", None, "json_shape"),
    ("weather/broken.jsonl", WEATHER[:300] + b"\n", None, "invalid_json"),
    ("flights/not_gzip.csv.gz", FLIGHTS_JAN, None, "bad_gzip"),
    ("flights/bad_crc.csv.gz", _corrupt_crc(FLIGHTS_JAN), None, "bad_gzip"),
    ("flights/huge_line.csv", HEADER + b"\n" + b"9" * 10_000 + b"\n", None, "line_too_long"),
    ("flights/2013-01.xlsx", b"PK\x03\x04 not really a spreadsheet", None, "bad_extension"),
    ("misc/2013-01.csv", FLIGHTS_JAN, None, "unknown_dataset"),
    ("flights/2013-03.jsonl", WEATHER, None, "format_mismatch"),
    ("airlines/typed.csv", b"carrier,name\nUA,United Air Lines Inc.\n", "image/png",
     "bad_content_type"),
    ("flights/too_big.csv", HEADER + b"\n" + FLIGHTS_JAN.split(b"\n", 1)[1] * 120, None, "too_large"),
]

#: (key, body): valid files sent in the same batch
GOOD_FILES = [
    ("flights/2013-01 copy.csv", FLIGHTS_JAN),
    ("flights/2013-02.csv.gz", gzip.compress(FLIGHTS_FEB)),
    ("airlines/airlines.csv", (SAMPLE / "airlines" / "airlines.csv").read_bytes()),
    ("airports/airports.csv", (SAMPLE / "airports" / "airports.csv").read_bytes()),
    ("planes/planes+v2.jsonl.gz", gzip.compress(PLANES)),
    ("weather/weather-api-start.jsonl", WEATHER),
]


@pytest.fixture
def batch(lake, monkeypatch):
    """Send every bad file, every good file and one duplicate delivery in ONE event."""
    monkeypatch.setenv("MAX_LINE_BYTES", "4096")
    monkeypatch.setenv("MAX_BYTES", "200000")
    records = []
    for key, body, ctype, _ in BAD_FILES:
        records.append(lake.put(key, body, ctype))
    for i, (key, body) in enumerate(GOOD_FILES):
        records.append(lake.put(key, body, encode_space="%20" if i % 2 else "+"))
    records.append(dict(records[-1]))  # S3 delivers at least once: same object twice
    summary = ingest.lambda_handler(_event(*records), None)
    return lake, summary


def test_corpus_has_at_least_12_kinds():
    assert len({reason for *_, reason in BAD_FILES}) >= 17
    assert {reason for *_, reason in BAD_FILES} <= set(ingest.REASON_CODES)


def test_each_bad_file_quarantined_with_its_specific_reason(batch):
    _, summary = batch
    got = {q["key"]: q["reason"] for q in summary["quarantined"]}
    assert got == {key: reason for key, _, _, reason in BAD_FILES}
    assert summary["errors"] == [] and summary["missing"] == []


def test_valid_files_in_the_same_batch_land_with_metadata(batch):
    lake, summary = batch
    assert sorted(x["key"] for x in summary["landed"]) == sorted(k for k, _ in GOOD_FILES)
    day = _today()
    expected_rows = {"flights/2013-01 copy.csv": 25, "flights/2013-02.csv.gz": 25,
                     "airlines/airlines.csv": 16, "airports/airports.csv": 285,
                     "planes/planes+v2.jsonl.gz": 307, "weather/weather-api-start.jsonl": 211}
    for key, body in GOOD_FILES:
        dataset, name = key.split("/", 1)
        raw_key = f"{dataset}/ingest_date={day}/{name}"
        head = lake.s3.head_object(Bucket=lake.raw, Key=raw_key)
        md = head["Metadata"]
        assert md["source-key"] == key
        assert md["dataset"] == dataset
        assert md["sha256"] == hashlib.sha256(body).hexdigest()
        assert md["source-etag"] == hashlib.md5(body).hexdigest()
        assert md["ingest-time"].startswith(day) and md["ingest-time"].endswith("Z")
        assert int(md["rows"]) == expected_rows[key]
        assert lake.read(lake.raw, raw_key) == body
        manifest_key = ingest._manifest_key(dataset, lake.landing, key, md["source-etag"])
        entry = lake.json(lake.raw, manifest_key)
        assert entry["status"] == "landed" and entry["raw_key"] == raw_key
        assert entry["rows"] == expected_rows[key] and entry["validation"] == "full"


def test_duplicate_delivery_in_batch_lands_once(batch):
    lake, summary = batch
    dup = GOOD_FILES[-1][0]
    assert [d["key"] for d in summary["skipped_duplicates"]] == [dup]
    versions = lake.s3.list_object_versions(Bucket=lake.raw, Prefix="weather/")["Versions"]
    assert len(versions) == 1


def test_quarantine_objects_metadata_and_sidecars(batch):
    lake, _ = batch
    day = _today()
    for key, body, _, reason in BAD_FILES:
        dataset, name = key.split("/", 1)
        if reason == "unknown_dataset":
            dataset, name = "unknown", key.replace("/", "__")
        q_key = f"{dataset}/{day}/{name}"
        head = lake.s3.head_object(Bucket=lake.quarantine, Key=q_key)
        assert head["Metadata"]["quarantine-reason"] == reason
        assert head["ContentLength"] == len(body)
        car = lake.json(lake.quarantine, q_key + ".reason.json")
        assert car["reason_code"] == reason and car["source_key"] == key
        assert car["detail"] and car["source_bucket"] == lake.landing


def test_landing_is_emptied_only_after_copies(batch):
    lake, _ = batch
    assert lake.keys(lake.landing) == []
    n_manifests = len(lake.keys(lake.raw, "_manifest/"))
    assert n_manifests == len(BAD_FILES) + len(GOOD_FILES)


def test_log_lines_are_json(lake, capsys):
    rec = lake.put("flights/header_only.csv", HEADER + b"\n")
    ingest.lambda_handler(_event(rec), None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    q = [x for x in lines if x["message"] == "quarantined"]
    assert len(q) == 1 and q[0]["reason_code"] == "header_only" and q[0]["level"] == "WARNING"
    assert lines[-1]["message"] == "summary" and lines[-1]["quarantined"] == 1


def test_redelivery_after_delete_is_skipped_and_raw_has_one_version(lake):
    rec = lake.put("flights/2013-01.csv", FLIGHTS_JAN)
    first = ingest.lambda_handler(_event(rec), None)
    second = ingest.lambda_handler(_event(rec), None)
    assert [x["key"] for x in first["landed"]] == ["flights/2013-01.csv"]
    assert second["landed"] == [] and [x["key"] for x in second["skipped_duplicates"]] == [
        "flights/2013-01.csv"]
    versions = lake.s3.list_object_versions(Bucket=lake.raw, Prefix="flights/")["Versions"]
    assert len(versions) == 1


def test_keep_landing_when_delete_disabled(lake, monkeypatch):
    monkeypatch.setenv("DELETE_FROM_LANDING", "false")
    rec = lake.put("airlines/airlines.csv", (SAMPLE / "airlines" / "airlines.csv").read_bytes())
    ingest.lambda_handler(_event(rec), None)
    again = ingest.lambda_handler(_event(rec), None)
    assert lake.keys(lake.landing) == ["airlines/airlines.csv"]
    assert len(again["skipped_duplicates"]) == 1 and again["landed"] == []


def test_reupload_with_new_content_lands_again(lake):
    ingest.lambda_handler(_event(lake.put("flights/2013-01.csv", FLIGHTS_JAN)), None)
    out = ingest.lambda_handler(_event(lake.put("flights/2013-01.csv", FLIGHTS_FEB)), None)
    assert len(out["landed"]) == 1
    versions = lake.s3.list_object_versions(Bucket=lake.raw, Prefix="flights/")["Versions"]
    assert len(versions) == 2


def test_superseded_object_is_ignored_newer_event_lands(lake):
    old = lake.put("flights/2013-01.csv", FLIGHTS_JAN)
    new = lake.put("flights/2013-01.csv", FLIGHTS_FEB)
    out = ingest.lambda_handler(_event(old, new), None)
    assert [x["reason"] for x in out["ignored"]] == ["superseded"]
    assert out["landed"][0]["sha256"] == hashlib.sha256(FLIGHTS_FEB).hexdigest()


def test_missing_object_without_manifest_reported(lake):
    rec = s3_record(lake.landing, "flights/ghost.csv", 10, "0123456789abcdef0123456789abcdef")
    out = ingest.lambda_handler(_event(rec), None)
    assert [x["key"] for x in out["missing"]] == ["flights/ghost.csv"]


def test_copy_failure_raises_and_keeps_original(lake, monkeypatch):
    monkeypatch.setenv("RAW_BUCKET", "raw-does-not-exist-xyz")
    rec = lake.put("flights/2013-01.csv", FLIGHTS_JAN)
    with pytest.raises(RuntimeError, match="1 of 1 record"):
        ingest.lambda_handler(_event(rec), None)
    assert lake.keys(lake.landing) == ["flights/2013-01.csv"]
    assert lake.keys(lake.quarantine) == []


def test_missing_env_says_what_to_set(monkeypatch):
    monkeypatch.delenv("RAW_BUCKET", raising=False)
    with pytest.raises(RuntimeError, match="RAW_BUCKET"):
        ingest.lambda_handler({"Records": []}, None)


def test_sampled_validation_for_big_jsonl_files(lake, monkeypatch):
    """Above FULL_VALIDATE_BYTES only the head and tail JSON lines are parsed (bytes fully checked)."""
    monkeypatch.setenv("FULL_VALIDATE_BYTES", "0")
    monkeypatch.setenv("SAMPLE_LINES", "5")
    monkeypatch.setenv("TAIL_LINES", "3")
    lines = WEATHER.rstrip(b"\n").split(b"\n")
    middle_bad = b"\n".join(lines[:100] + [b"{not json"] + lines[101:]) + b"\n"
    tail_bad = b"\n".join(lines[:-2] + [b"{not json"] + lines[-1:]) + b"\n"
    latin_tail = WEATHER + '{"station": "\u00c9"}\n'.encode("latin-1")
    recs = [lake.put("weather/middle.jsonl", middle_bad), lake.put("weather/tail.jsonl", tail_bad),
            lake.put("weather/latin_tail.jsonl.gz", gzip.compress(latin_tail))]
    out = ingest.lambda_handler(_event(*recs), None)
    assert [(x["key"], x["rows"]) for x in out["landed"]] == [("weather/middle.jsonl", len(lines))]
    assert {x["key"]: x["reason"] for x in out["quarantined"]} == {
        "weather/tail.jsonl": "invalid_json", "weather/latin_tail.jsonl.gz": "not_utf8"}
    entry = lake.json(lake.raw, ingest._manifest_key("weather", lake.landing, "weather/middle.jsonl",
                                                     hashlib.md5(middle_bad).hexdigest()))
    assert entry["validation"] == "sampled"


def test_csv_is_parsed_completely_even_when_big(lake, monkeypatch):
    """CSV records may span lines (quoted line breaks): every record is parsed to count rows."""
    monkeypatch.setenv("FULL_VALIDATE_BYTES", "0")
    monkeypatch.setenv("SAMPLE_LINES", "5")
    monkeypatch.setenv("TAIL_LINES", "3")
    lines = FLIGHTS_JAN.rstrip(b"\n").split(b"\n")  # header + 25 rows
    middle_bad = b"\n".join(lines[:12] + [lines[12] + b",x"] + lines[13:]) + b"\n"
    recs = [lake.put("flights/middle.csv", middle_bad), lake.put("flights/cut.csv", FLIGHTS_JAN[:-30]),
            lake.put("flights/ok.csv", FLIGHTS_JAN)]
    out = ingest.lambda_handler(_event(*recs), None)
    assert {x["key"]: x["reason"] for x in out["quarantined"]} == {
        "flights/middle.csv": "bad_row", "flights/cut.csv": "truncated_row"}
    assert "line 13 has 20 fields" in out["quarantined"][0]["detail"]
    assert [(x["key"], x["rows"]) for x in out["landed"]] == [("flights/ok.csv", 25)]
    entry = lake.json(lake.raw, ingest._manifest_key("flights", lake.landing, "flights/ok.csv",
                                                     hashlib.md5(FLIGHTS_JAN).hexdigest()))
    assert entry["validation"] == "full"


def test_multi_member_gzip_crlf_and_landing_prefix(lake):
    part1 = FLIGHTS_JAN[:1000].rsplit(b"\n", 1)[0] + b"\n"  # header + some rows
    part2 = b"\n".join(FLIGHTS_JAN.split(b"\n")[20:])  # rows 20..25, no final newline
    body = gzip.compress(part1) + gzip.compress(part2)
    n_rows = part1.count(b"\n") - 1 + 6
    crlf = (SAMPLE / "airlines" / "airlines.csv").read_bytes().replace(b"\n", b"\r\n")
    recs = [lake.put("landing/flights/multi.csv.gz", body), lake.put("airlines/crlf.csv", crlf)]
    out = ingest.lambda_handler(_event(*recs), None)
    assert sorted((x["dataset"], x["rows"]) for x in out["landed"]) == [
        ("airlines", 16), ("flights", n_rows)]


def test_non_create_events_and_folders_ignored(lake):
    rec = lake.put("flights/", b"")
    removed = s3_record(lake.landing, "flights/x.csv", 0, "d41d8cd98f00b204e9800998ecf8427e",
                        event_name="ObjectRemoved:Delete")
    out = ingest.lambda_handler(_event(rec, removed), None)
    assert sorted(x["reason"] for x in out["ignored"]) == ["folder_placeholder", "not_object_created"]


def test_start_glue_job_on_arrival(lake, monkeypatch, moto_client):
    glue = moto_client("glue")
    name = f"lakekit-etl-{lake.raw[-10:]}"
    glue.create_job(Name=name, Role="arn:aws:iam::123456789012:role/glue",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://x/etl.py"})
    monkeypatch.setenv("START_JOB_ON_ARRIVAL", "true")
    monkeypatch.setenv("GLUE_JOB_NAME", name)
    recs = [lake.put("flights/2013-01.csv", FLIGHTS_JAN), lake.put("flights/2013-02.csv", FLIGHTS_FEB),
            lake.put("planes/planes.jsonl", PLANES)]
    out = ingest.lambda_handler(_event(*recs), None)
    assert [(j["dataset"], j["job"]) for j in out["jobs_started"]] == [("flights", name), ("planes", name)]
    runs = glue.get_job_runs(JobName=name)["JobRuns"]
    assert sorted(r["Arguments"]["--dataset"] for r in runs) == ["flights", "planes"]


def test_no_job_started_by_default(lake):
    out = ingest.lambda_handler(_event(lake.put("flights/2013-01.csv", FLIGHTS_JAN)), None)
    assert out["jobs_started"] == [] and len(out["landed"]) == 1
