"""Ingestion END TO END through the real lakekit endpoint.

S3 PUT into landing -> the endpoint's S3 notification -> the ingest Lambda (zipped from
``lakekit/lambdas/ingest/``) in a subprocess -> raw / quarantine, manifests, CloudWatch Logs.
The API pull Lambda is invoked with ``Invoke`` (RequestResponse) against a flaky local
weather API; its JSON Lines files land in landing and are ingested the same way.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from _waits import wait_until
from ingest_helpers import REPO, SAMPLE
from test_ingest_handler import BAD_FILES

from lakekit.exceptions import WaitTimeout
from lakekit.ingest import LOG_COLUMNS, lambda_logs, landing_files, reconcile, wait_until_ingested
from lakekit.sources import WeatherApi, load_weather_records

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
LAMBDAS = REPO / "lakekit" / "lambdas"
MONTHS = {k: p for k, p in landing_files(SAMPLE).items() if k.startswith("flights/")}
SAMPLE_WEATHER = load_weather_records(SAMPLE / "weather" / "weather.jsonl")
DEADLINE = 120.0


def _role_policy(landing: str, raw: str, quarantine: str, state: str) -> dict:
    arn = "arn:aws:s3:::{}".format
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"],
         "Resource": arn(f"{landing}/*")},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": [arn(f"{raw}/*"), arn(f"{quarantine}/*")]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": [arn(raw), arn(quarantine), arn(state)]},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": arn(f"{landing}/weather/*")},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": arn(f"{state}/state/*")},
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/e2e-*"},
    ]}


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                zf.writestr(path.relative_to(folder).as_posix(), path.read_bytes())
    return buf.getvalue()


def _today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


class Lake:
    """landing/raw(versioned)/quarantine/state buckets + the two Lambdas on the endpoint."""

    def __init__(self, endpoint) -> None:
        self.s3 = endpoint.client("s3")
        self.lam = endpoint.client("lambda")
        self.logs = endpoint.client("logs")
        tag = uuid.uuid4().hex[:8]
        self.landing, self.raw = f"e2e-landing-{tag}", f"e2e-raw-{tag}"
        self.quarantine, self.state = f"e2e-quarantine-{tag}", f"e2e-artifacts-{tag}"
        for bucket in (self.landing, self.raw, self.quarantine, self.state):
            self.s3.create_bucket(Bucket=bucket)
        self.s3.put_bucket_versioning(Bucket=self.raw, VersioningConfiguration={"Status": "Enabled"})
        iam = endpoint.client("iam")
        role = iam.create_role(RoleName=f"e2e-ingest-{tag}", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        # the stack's IngestLambdaRole + ApiPullLambdaRole statements for these buckets (strict IAM:
        # a role without them fails like on AWS), plus s3:DeleteObject on landing that the ingest
        # handler needs to clear a landed file
        iam.put_role_policy(RoleName=f"e2e-ingest-{tag}", PolicyName="ingest-and-pull",
                            PolicyDocument=json.dumps(_role_policy(self.landing, self.raw,
                                                                   self.quarantine, self.state)))
        self.ingest_fn = f"e2e-ingest-{tag}"
        fn = self.lam.create_function(
            FunctionName=self.ingest_fn, Runtime="python3.11", Role=role,
            Handler="handler.lambda_handler", Code={"ZipFile": _zip(LAMBDAS / "ingest")},
            Timeout=60, MemorySize=512,
            # the corpus' too_large / line_too_long cases are sized for these limits
            Environment={"Variables": {"RAW_BUCKET": self.raw, "QUARANTINE_BUCKET": self.quarantine,
                                       "MAX_BYTES": "200000", "MAX_LINE_BYTES": "4096",
                                       "START_JOB_ON_ARRIVAL": "false"}})
        self.s3.put_bucket_notification_configuration(
            Bucket=self.landing, NotificationConfiguration={"LambdaFunctionConfigurations": [{
                "Id": "landing-ingest", "LambdaFunctionArn": fn["FunctionArn"],
                "Events": ["s3:ObjectCreated:*"]}]})
        self.pull_fn = f"e2e-api-pull-{tag}"
        self.lam.create_function(
            FunctionName=self.pull_fn, Runtime="python3.11", Role=role,
            Handler="handler.lambda_handler", Code={"ZipFile": _zip(LAMBDAS / "api_pull")},
            Timeout=60, MemorySize=256,
            Environment={"Variables": {"LANDING_BUCKET": self.landing, "STATE_BUCKET": self.state,
                                       "PAGE_SIZE": "40", "MAX_ATTEMPTS": "3",
                                       "BACKOFF_BASE_SECONDS": "0.01", "BACKOFF_MAX_SECONDS": "0.05",
                                       "HTTP_TIMEOUT_SECONDS": "5"}})

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        out: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    def read(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def log_records(self, fn: str) -> list[dict]:
        """The function's structured JSON log lines from CloudWatch Logs (other lines skipped)."""
        try:
            pages = self.logs.get_paginator("filter_log_events").paginate(
                logGroupName=f"/aws/lambda/{fn}")
            messages = [e["message"] for page in pages for e in page["events"]]
        except self.logs.exceptions.ResourceNotFoundException:
            return []
        out = []
        for m in messages:
            if m.startswith("{"):
                try:
                    out.append(json.loads(m))
                except ValueError:
                    pass
        return out

    def decisions(self, key: str) -> list[str]:
        return [r["message"] for r in self.log_records(self.ingest_fn) if r.get("key") == key]


@pytest.fixture(scope="module")
def lake(endpoint) -> Lake:
    return Lake(endpoint)


@pytest.fixture(scope="module")
def batch(lake):
    """12 monthly flights files + the bad-file corpus PUT into landing at once, then drained."""
    sent: dict[str, bytes] = {}
    for key, path in MONTHS.items():
        sent[key] = path.read_bytes()
        lake.s3.put_object(Bucket=lake.landing, Key=key, Body=sent[key], ContentType="text/csv")
    for key, body, ctype, _ in BAD_FILES:
        sent[key] = body
        lake.s3.put_object(Bucket=lake.landing, Key=key, Body=body,
                           **({"ContentType": ctype} if ctype else {}))
    df = wait_until_ingested(lake.s3, lake.landing, lake.raw, lake.quarantine, list(sent),
                             timeout=DEADLINE, progress=False)
    assert len(lake.keys(lake.raw, "_manifest/")) == len(sent)
    return sent, df


def test_valid_months_land_in_raw_with_contract_metadata(lake, batch):
    batch, _ = batch
    day = _today()
    flights = [k for k in lake.keys(lake.raw, "flights/")]
    assert flights == sorted(f"flights/ingest_date={day}/{k.split('/')[1]}" for k in MONTHS)
    for key in MONTHS:
        raw_key = f"flights/ingest_date={day}/{key.split('/')[1]}"
        head = lake.s3.head_object(Bucket=lake.raw, Key=raw_key)
        md, body = head["Metadata"], batch[key]
        assert md["source-key"] == key and md["source-bucket"] == lake.landing
        assert md["dataset"] == "flights"
        assert md["sha256"] == hashlib.sha256(body).hexdigest()
        assert md["source-etag"] == hashlib.md5(body).hexdigest()
        assert md["ingest-time"].startswith(day) and md["ingest-time"].endswith("Z")
        assert md["rows"] == "25"
        assert head["ContentType"] == "text/csv" and head["VersionId"]
        assert lake.read(lake.raw, raw_key) == body


def test_bad_files_quarantined_with_their_reason_codes(lake, batch):
    day = _today()
    expected = {key: reason for key, _, _, reason in BAD_FILES}
    got = {}
    for key in lake.keys(lake.quarantine):
        if key.endswith(".reason.json"):
            car = json.loads(lake.read(lake.quarantine, key))
            got[car["source_key"]] = car["reason_code"]
            head = lake.s3.head_object(Bucket=lake.quarantine, Key=car["quarantine_key"])
            assert head["Metadata"]["quarantine-reason"] == car["reason_code"]
            assert head["Metadata"]["source-key"] == car["source_key"]
            assert car["quarantine_key"] == f"{car['dataset']}/{day}/" + key.rsplit("/", 1)[1][:-12]
            assert car["detail"] and car["source_bucket"] == lake.landing
    assert got == expected
    assert lake.keys(lake.raw, "misc/") == [] and lake.keys(lake.raw, "unknown/") == []


def test_reconciliation_balances_and_landing_is_empty(lake, batch):
    batch, waited = batch
    df = reconcile(lake.s3, lake.landing, lake.raw, lake.quarantine, list(batch))
    assert waited.attrs["summary"] == df.attrs["summary"]
    assert df.attrs["summary"] == {"sent": 32, "raw": 12, "quarantine": 20, "pending": 0,
                                   "missing": 0, "balanced": True}
    assert set(df.loc[df["where"] == "raw", "key"]) == set(MONTHS)
    assert int(df["rows"].dropna().sum()) == 12 * 25
    assert lake.keys(lake.landing) == []


def test_structured_log_lines_in_cloudwatch(lake, batch):
    batch, _ = batch
    def landed_lines():
        recs = [r for r in lake.log_records(lake.ingest_fn) if r.get("message") in ("landed", "quarantined")]
        return recs if len(recs) >= len(batch) else None

    recs = wait_until(landed_lines, "a landed/quarantined log line per object", DEADLINE)
    by_key = {r["key"]: r for r in recs}
    jan = by_key["flights/2013-01.csv"]
    assert jan["level"] == "INFO" and jan["dataset"] == "flights" and jan["rows"] == 25
    assert jan["raw_key"] == f"flights/ingest_date={_today()}/2013-01.csv"
    assert jan["sha256"] == hashlib.sha256(batch["flights/2013-01.csv"]).hexdigest()
    assert jan["landing"] == "deleted" and jan["bucket"] == lake.landing
    assert len(jan["request_id"]) == 36 and jan["ts"].endswith("+00:00")
    bad = by_key["flights/semicolon.csv"]
    assert bad["level"] == "WARNING" and bad["message"] == "quarantined"
    assert bad["reason_code"] == "bad_delimiter"
    # the runtime's own lines are there too, as on AWS
    group = f"/aws/lambda/{lake.ingest_fn}"
    reports = lake.logs.filter_log_events(logGroupName=group, filterPattern="REPORT")["events"]
    assert reports and all(e["message"].startswith("REPORT RequestId: ") for e in reports)

    # the trainee helper: one row per decision, as a table
    table = lambda_logs(lake.logs, lake.ingest_fn, keys=list(batch), timeout=DEADLINE)
    assert list(table.columns) == LOG_COLUMNS and len(table) == len(batch)
    assert Counter(table["message"]) == Counter({"landed": 12, "quarantined": 20})
    row = table.set_index("key").loc["flights/empty.csv"]
    assert (row["level"], row["reason_code"], row["dataset"]) == ("WARNING", "empty_file", "flights")
    assert row["target"] == f"flights/{_today()}/empty.csv" and row["landing"] == "deleted"
    assert table["time"].is_monotonic_increasing
    later = lambda_logs(lake.logs, lake.ingest_fn, since=dt.datetime.now(dt.UTC))
    assert later.empty and list(later.columns) == LOG_COLUMNS
    with pytest.raises(WaitTimeout, match="no log line for 1 key"):
        lambda_logs(lake.logs, lake.ingest_fn, keys=["flights/never-sent.csv"], timeout=0.5, poll=0.1)


def test_same_object_put_twice_lands_once(lake, batch):
    since = dt.datetime.now(dt.UTC)
    key, body = "flights/dup-2013-05.csv", MONTHS["flights/2013-05.csv"].read_bytes()
    raw_key = f"flights/ingest_date={_today()}/dup-2013-05.csv"
    lake.s3.put_object(Bucket=lake.landing, Key=key, Body=body)
    wait_until(lambda: "landed" in lake.decisions(key), "the first delivery to land", DEADLINE)
    lake.s3.put_object(Bucket=lake.landing, Key=key, Body=body)  # same bytes -> same eTag
    wait_until(lambda: "skipped_duplicate" in lake.decisions(key), "the second delivery to be skipped", DEADLINE)
    wait_until(lambda: not lake.keys(lake.landing), "landing to drain", DEADLINE)
    assert Counter(lake.decisions(key)) == Counter({"landed": 1, "skipped_duplicate": 1})
    versions = lake.s3.list_object_versions(Bucket=lake.raw, Prefix=raw_key).get("Versions", [])
    assert [v["Key"] for v in versions] == [raw_key]
    assert lake.read(lake.raw, raw_key) == body
    manifests = [json.loads(lake.read(lake.raw, k)) for k in lake.keys(lake.raw, "_manifest/flights/")]
    assert [m["raw_key"] for m in manifests if m["source_key"] == key] == [raw_key]
    table = lambda_logs(lake.logs, lake.ingest_fn, since=since, keys=[key], timeout=DEADLINE)
    assert list(table["message"]) == ["landed", "skipped_duplicate"]
    assert list(table["landing"]) == ["deleted", "deleted"]


def test_wait_until_ingested_times_out_naming_the_waiting_keys(lake, endpoint):
    plain = f"e2e-plain-{uuid.uuid4().hex[:6]}"  # no notification: nothing will take it
    lake.s3.create_bucket(Bucket=plain)
    lake.s3.put_object(Bucket=plain, Key="flights/stuck.csv", Body=b"x")
    with pytest.raises(WaitTimeout, match=r"1 of 1 object\(s\) still in s3://e2e-plain-.*stuck.csv"):
        wait_until_ingested(lake.s3, plain, lake.raw, lake.quarantine, ["flights/stuck.csv"],
                            timeout=0.5, progress=False, poll=0.1)


def test_api_pull_invoke_flaky_api_lands_every_record_once(lake, batch):
    with WeatherApi(SAMPLE_WEATHER, page_size=40, fail_rate=0.3, invalid_json_rate=0.1, seed=3) as api:
        results = []
        for _ in range(10):
            resp = lake.lam.invoke(FunctionName=lake.pull_fn, InvocationType="RequestResponse",
                                   Payload=json.dumps({"api_url": api.url}).encode())
            assert resp["StatusCode"] == 200 and "FunctionError" not in resp
            results.append(json.loads(resp["Payload"].read()))
            if results[-1]["status"] == "complete":
                break
        stats = dict(api.stats)
    final = results[-1]
    assert final["status"] == "complete", results
    assert final["total_records"] == 211 and final["total_pages"] == 6
    assert sum(r["records_written"] for r in results) == 211
    assert stats["http_500"] + stats["invalid_json"] > 0 and sum(r["retries"] for r in results) > 0
    day = _today()
    expected = sorted(f"weather/ingest_date={day}/weather-api-{c}.jsonl"
                      for c in ("start", "00000040", "00000080", "00000120", "00000160", "00000200"))
    wait_until(lambda: lake.keys(lake.raw, "weather/") == expected or None,
          "the 6 weather pages to be ingested into raw", DEADLINE)
    wait_until(lambda: not lake.keys(lake.landing), "landing to drain", DEADLINE)
    records = [json.loads(line) for k in expected for line in lake.read(lake.raw, k).splitlines()]
    assert len(records) == 211
    canon = Counter(json.dumps(r, sort_keys=True) for r in records)
    assert canon == Counter(json.dumps(r, sort_keys=True) for r in SAMPLE_WEATHER)
    state = json.loads(lake.read(lake.state, "state/api_pull/weather-api.json"))
    assert state["done"] is True and state["records"] == 211 and state["cursor"] is None
    df = reconcile(lake.s3, lake.landing, lake.raw, lake.quarantine)
    summary = df.attrs["summary"]
    assert summary["raw"] == 12 + 1 + 6 and summary["quarantine"] == 20
    assert summary["pending"] == summary["missing"] == 0 and summary["balanced"] is True
    # invoking again after completion pulls nothing new
    again = json.loads(lake.lam.invoke(FunctionName=lake.pull_fn,
                                       Payload=json.dumps({"api_url": "http://127.0.0.1:9"}).encode())
                       ["Payload"].read())
    assert again["status"] == "complete" and again["pages_written"] == 0
