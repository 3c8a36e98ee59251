"""lakekit.ingest: upload with progress, then prove every landed object is in raw or quarantine."""
from __future__ import annotations

from ingest_helpers import SAMPLE, s3_record

from lakekit.ingest import RECONCILE_COLUMNS, landing_files, reconcile, upload_landing_files
from lakekit.lambdas.ingest import handler as ingest


def _events_for(lake, keys):
    recs = []
    for key in keys:
        head = lake.s3.head_object(Bucket=lake.landing, Key=key)
        recs.append(s3_record(lake.landing, key, head["ContentLength"], head["ETag"]))
    return {"Records": recs}


def test_landing_files_maps_sample_layout():
    files = landing_files(SAMPLE)
    assert len(files) == 16
    assert "flights/2013-01.csv" in files and "weather/weather.jsonl" in files


def test_reconcile_adds_up(lake, tmp_path):
    files = dict(landing_files(SAMPLE))
    bad = tmp_path / "flights" / "2013-13.csv"
    bad.parent.mkdir()
    bad.write_text("year;month\n2013;13\n")
    files["flights/2013-13.csv"] = bad
    pending = tmp_path / "airlines.csv"
    pending.write_text("carrier,name\nZZ,Pending Air\n")
    sent = upload_landing_files(lake.s3, lake.landing, files, progress=False)
    sent += upload_landing_files(lake.s3, lake.landing, [("airlines/later.csv", pending)], progress=False)
    assert len(sent) == 18

    summary = ingest.lambda_handler(_events_for(lake, sent[:-1]), None)  # last one not processed yet
    assert len(summary["landed"]) == 16 and len(summary["quarantined"]) == 1

    df = reconcile(lake.s3, lake.landing, lake.raw, lake.quarantine, sent)
    assert list(df.columns) == RECONCILE_COLUMNS and len(df) == 18
    assert df.attrs["summary"] == {"sent": 18, "raw": 16, "quarantine": 1, "pending": 1,
                                   "missing": 0, "balanced": False}
    row = df.set_index("key").loc["flights/2013-13.csv"]
    assert (row["where"], row["reason"], row["dataset"]) == ("quarantine", "bad_delimiter", "flights")
    assert df.set_index("key").loc["airlines/later.csv", "where"] == "landing"
    rows = df[df["where"] == "raw"].set_index("key")["rows"]
    assert int(rows["flights/2013-01.csv"]) == 25 and int(rows["weather/weather.jsonl"]) == 211

    ingest.lambda_handler(_events_for(lake, sent[-1:]), None)
    df = reconcile(lake.s3, lake.landing, lake.raw, lake.quarantine, sent)
    s = df.attrs["summary"]
    assert s["raw"] + s["quarantine"] == s["sent"] == 18 and s["balanced"] and s["missing"] == 0


def test_reconcile_flags_lost_objects(lake):
    lake.put("flights/2013-01.csv", (SAMPLE / "flights" / "2013-01.csv").read_bytes())
    lake.s3.delete_object(Bucket=lake.landing, Key="flights/2013-01.csv")  # deleted, never ingested
    df = reconcile(lake.s3, lake.landing, lake.raw, lake.quarantine, ["flights/2013-01.csv"])
    assert df.loc[0, "where"] == "missing"
    assert df.attrs["summary"]["missing"] == 1 and not df.attrs["summary"]["balanced"]


def test_upload_progress_bar_counts_bytes(lake, capsys):
    files = {"airlines/airlines.csv": SAMPLE / "airlines" / "airlines.csv"}
    upload_landing_files(lake.s3, lake.landing, files, progress=True)
    err = capsys.readouterr().err
    assert "upload to s3://" in err and "386" in err
    head = lake.s3.head_object(Bucket=lake.landing, Key="airlines/airlines.csv")
    assert head["ContentType"] == "text/csv" and head["ContentLength"] == 386
