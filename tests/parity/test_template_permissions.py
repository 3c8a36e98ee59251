"""Every permission the workshop needs, proven necessary on ONE deployed lake.

For each case the statement (role, policy, Sid, action) is read from a copy of
``cloudformation/datalake.yaml`` (so the test breaks when the template changes), the role's LIVE
policy is applied with that one action removed, the workshop step that needs it runs and must
FAIL there with AWS's message (error code + ``is not authorized to perform: <action>`` + the
resource ARN), then the policy is restored and the same step must work again: the removal, and
nothing else, made it fail.

Steps: the ingest Lambda on a small flights CSV put in landing (its CloudWatch log says what
failed), the api-pull Lambda against a local weather API, the processed crawler over one tiny
Parquet file, an Athena query of the analyst role in the analysts workgroup over a table Lake
Formation lets it read, and the Glue job's script download.
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _waits import wait_until
from botocore.exceptions import ClientError

from lakekit import deploy
from lakekit.ingest import DECISIONS
from lakekit.sources import WeatherApi, load_weather_records
from lakekit.waiters import wait_crawler

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "cloudformation" / "datalake.yaml"
SAMPLE = REPO / "data" / "sample"
ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = "permt"
LANDING = f"{PREFIX}-landing-{ACCOUNT}-{REGION}"
RAW = f"{PREFIX}-raw-{ACCOUNT}-{REGION}"
PROCESSED = f"{PREFIX}-processed-{ACCOUNT}-{REGION}"
ARTIFACTS = f"{PREFIX}-artifacts-{ACCOUNT}-{REGION}"
RESULTS = f"{PREFIX}-athena-results-{ACCOUNT}-{REGION}"
DB = f"{PREFIX}_lake"
PROBE_TABLE = "perm_probe"
PROBE_ROWS = 3
#: header + 5 rows of the January sample: a valid flights file the ingest lands
FLIGHTS_CSV = b"".join((SAMPLE / "flights" / "2013-01.csv").read_bytes().splitlines(keepends=True)[:6])
WEATHER = load_weather_records(SAMPLE / "weather" / "weather.jsonl")[:10]
DEADLINE = 60.0
SESSION = r"[\w+=,.@-]+"


def _denied(principal: str, action: str, resource: str) -> str:
    """AWS's message for an action no identity-based policy allows (regex; session name free)."""
    return (f"User: {principal} is not authorized to perform: {re.escape(action)} on resource: "
            f"{re.escape(resource)} because no identity-based policy allows the {re.escape(action)} action")


def _assumed(role: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{re.escape(role)}/{SESSION}"


# ------------------------------------------------------------------------------ the template


@dataclass(frozen=True)
class Perm:
    """One action of one statement of the template: ``resource`` is the logical id of a role
    (inline ``policy``) or of a managed policy (``policy`` None)."""

    resource: str
    policy: str | None
    sid: str
    action: str

    def __str__(self) -> str:
        return f"{self.resource}/{self.policy or 'managed'}/{self.sid}/{self.action}"


def _template() -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, matches = decode_str(TEMPLATE.read_text())
    assert template is not None and not matches, f"{TEMPLATE} does not decode: {matches}"
    return copy.deepcopy(dict(template))


def _statements(props: dict[str, Any], policy: str | None) -> list[dict[str, Any]]:
    if policy is None:
        return props["PolicyDocument"]["Statement"]
    docs = [p["PolicyDocument"] for p in props.get("Policies", []) if p["PolicyName"] == policy]
    assert docs, f"the template's {policy!r} policy is gone"
    return docs[0]["Statement"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def template_statement(perm: Perm) -> dict[str, Any]:
    """The statement of ``perm`` in the template; asserts it still grants ``perm.action``."""
    resource = _template()["Resources"][perm.resource]
    found = [s for s in _statements(resource["Properties"], perm.policy) if s.get("Sid") == perm.sid]
    assert len(found) == 1, f"{TEMPLATE.name}: {perm.resource} has no statement Sid {perm.sid!r}"
    assert perm.action in _actions(found[0]), (
        f"{TEMPLATE.name}: {perm.resource} {perm.sid} no longer grants {perm.action}: "
        f"{_actions(found[0])}; update this test with the template")
    return found[0]


def _name(resource: dict[str, Any], prop: str) -> str:
    value = resource["Properties"][prop]
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    return str(value).replace("${Prefix}", PREFIX)


# ------------------------------------------------------------------------------ the lake


@dataclass
class Lake:
    ep: Any
    out: dict[str, str]
    analyst: dict[str, str]
    #: (put response, key) of files a denied step left in landing, redelivered after the restore
    stuck: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def client(self, service: str):
        return self.ep.client(service)

    def as_analyst(self, service: str):
        return self.ep.client(service, access_key=self.analyst["AccessKeyId"],
                              secret_key=self.analyst["SecretAccessKey"],
                              session_token=self.analyst["SessionToken"])


@pytest.fixture(scope="module")
def lake(private_endpoint) -> Iterator[Lake]:
    ep = private_endpoint("perm-template")
    s = ep.settings.with_(prefix=PREFIX)
    try:
        out = deploy.deploy(s, progress=False, timeout=300)
        lam, s3, glue = ep.client("lambda"), ep.client("s3"), ep.client("glue")
        # one attempt per S3 event (AWS default: 2 retries): a denied step fails exactly once
        # and the file stays in landing until the test redelivers it
        lam.put_function_event_invoke_config(FunctionName=out["IngestFunctionName"], MaximumRetryAttempts=0)
        # the crawler's input: one tiny Parquet file in a Hive partition of processed/flights/
        buf = io.BytesIO()
        pq.write_table(pa.table({"carrier": ["UA", "AA"], "dep_delay": [2.0, -1.0]}), buf)
        s3.put_object(Bucket=PROCESSED, Key="flights/year=2013/month=1/day=1/part-0.parquet", Body=buf.getvalue())
        # the analysts' query table: a CSV in the processed zone (registered with Lake
        # Formation), created with the bootstrap key (deployer, LF admin), SELECT granted to
        # analyst-full as notebook 05 does for the real tables
        s3.put_object(Bucket=PROCESSED, Key=f"{PROBE_TABLE}/data.csv",
                      Body=b"".join(f"{i},row{i}\n".encode() for i in range(PROBE_ROWS)))
        glue.create_table(DatabaseName=DB, TableInput={
            "Name": PROBE_TABLE, "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "csv"},
            "StorageDescriptor": {
                "Columns": [{"Name": "id", "Type": "int"}, {"Name": "label", "Type": "string"}],
                "Location": f"s3://{PROCESSED}/{PROBE_TABLE}/",
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                              "Parameters": {"field.delim": ","}}}})
        ep.client("lakeformation").grant_permissions(
            Principal={"DataLakePrincipalIdentifier": out["AnalystFullRoleArn"]},
            Resource={"Table": {"DatabaseName": DB, "Name": PROBE_TABLE}}, Permissions=["SELECT", "DESCRIBE"])
        analyst = ep.client("sts").assume_role(RoleArn=out["AnalystFullRoleArn"],
                                               RoleSessionName="perm-test")["Credentials"]
        yield Lake(ep, out, analyst)
    finally:
        ep.stop()


@contextmanager
def without(lake: Lake, perm: Perm) -> Iterator[dict[str, Any]]:
    """The live policy of ``perm`` minus its action while inside; restored after (finally)."""
    stmt = template_statement(perm)
    resource = _template()["Resources"][perm.resource]
    iam = lake.client("iam")
    if perm.policy is not None:
        role = _name(resource, "RoleName")
        original = iam.get_role_policy(RoleName=role, PolicyName=perm.policy)["PolicyDocument"]
        restore = lambda: iam.put_role_policy(RoleName=role, PolicyName=perm.policy,  # noqa: E731
                                              PolicyDocument=json.dumps(original))
    else:
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{_name(resource, 'ManagedPolicyName')}"
        default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        original = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"]
        if isinstance(original, str):
            original = json.loads(original)
    doc = copy.deepcopy(original)
    live = [s for s in doc["Statement"] if s.get("Sid") == perm.sid]
    assert len(live) == 1, f"the deployed {perm.resource} has no statement {perm.sid}"
    assert sorted(_actions(live[0])) == sorted(_actions(stmt)), "the deployed policy is not the template's"
    live[0]["Action"] = [a for a in _actions(live[0]) if a != perm.action]
    if not live[0]["Action"]:  # its only action: IAM refuses a statement without actions
        doc["Statement"].remove(live[0])
    if perm.policy is not None:
        iam.put_role_policy(RoleName=role, PolicyName=perm.policy, PolicyDocument=json.dumps(doc))
    else:
        new = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc),
                                        SetAsDefault=True)["PolicyVersion"]["VersionId"]

        def restore() -> None:
            iam.set_default_policy_version(PolicyArn=arn, VersionId=default)
            iam.delete_policy_version(PolicyArn=arn, VersionId=new)
    try:
        yield doc
    finally:
        restore()


# ------------------------------------------------------------------------------ workshop steps


def _decision(lake: Lake, function: str, key: str, since_ms: int) -> dict[str, Any]:
    """The function's JSON log line deciding ``key`` (landed, error, ...), waited for."""
    logs = lake.client("logs")

    def probe() -> dict[str, Any] | None:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", startTime=since_ms)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        for event in events:
            text = event["message"].strip()
            if text.startswith("{"):
                rec = json.loads(text)
                if rec.get("key") == key and rec.get("message") in DECISIONS:
                    return rec
        return None

    return wait_until(probe, f"the ingest Lambda's log line for {key}", DEADLINE)


def _in(lake: Lake, bucket: str, prefix: str) -> list[str]:
    got = lake.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [o["Key"] for o in got]


@dataclass
class Ingested:
    key: str
    put: dict[str, Any]
    log: dict[str, Any]


def ingest_step(lake: Lake) -> Ingested:
    """Notebook 02: a flights CSV put in landing; the ingest Lambda decides it."""
    key = f"flights/perm-{uuid.uuid4().hex[:8]}.csv"
    since = int(time.time() * 1000) - 1000
    put = lake.client("s3").put_object(Bucket=LANDING, Key=key, Body=FLIGHTS_CSV, ContentType="text/csv")
    return Ingested(key, put, _decision(lake, lake.out["IngestFunctionName"], key, since))


def _raw_copies(lake: Lake, key: str) -> list[str]:
    name = key.split("/", 1)[1]
    return [k for k in _in(lake, RAW, "flights/") if k.endswith("/" + name)]


def assert_landed(lake: Lake, got: Ingested) -> None:
    assert (got.log["message"], got.log["landing"], got.log["rows"]) == ("landed", "deleted", 5), got.log
    assert _in(lake, LANDING, got.key) == []
    assert len(_raw_copies(lake, got.key)) == 1


def assert_stuck(lake: Lake, got: Ingested, operation: str | None, action: str, resource: str) -> None:
    """The ingest failed with AWS's AccessDenied for ``action`` (botocore's text of a failed
    ``operation``, or the handler's own error quoting S3); the original is still in landing."""
    assert got.log["message"] == "error" and got.log["level"] == "ERROR", got.log
    lead = rf"\(AccessDenied\) when calling the {operation} operation: " if operation else r"\(AccessDenied: "
    pattern = lead + _denied(_assumed(f"{PREFIX}-ingest-lambda"), action, resource)
    assert re.search(pattern, got.log["error"]), got.log["error"]
    assert _in(lake, LANDING, got.key) == [got.key]


def _s3_event(put: dict[str, Any], key: str) -> dict[str, Any]:
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION, "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": LANDING, "arn": f"arn:aws:s3:::{LANDING}"},
               "object": {"key": key, "size": len(FLIGHTS_CSV), "eTag": put["ETag"].strip('"'),
                          "versionId": put["VersionId"]}}}]}


def case_delete_landing(lake: Lake, denied: bool) -> None:
    if not denied:
        # the recovery path: the S3 event of the stuck file, replayed, skips the copy (its
        # manifest exists) and deletes the original; then a new file lands end to end
        lam = lake.client("lambda")
        for put, key in lake.stuck:
            resp = lam.invoke(FunctionName=lake.out["IngestFunctionName"],
                              Payload=json.dumps(_s3_event(put, key)).encode())
            summary = json.loads(resp["Payload"].read())
            assert "FunctionError" not in resp, summary
            assert ([x["key"] for x in summary["skipped_duplicates"]], summary["errors"]) == ([key], [])
            assert _in(lake, LANDING, key) == [] and len(_raw_copies(lake, key)) == 1
        lake.stuck.clear()
        assert_landed(lake, ingest_step(lake))
        return
    got = ingest_step(lake)
    assert got.log["error"].startswith("LandingDeleteDenied: copied and recorded"), got.log
    assert_stuck(lake, got, None, "s3:DeleteObjectVersion", f'"arn:aws:s3:::{LANDING}/{got.key}"')
    assert len(_raw_copies(lake, got.key)) == 1  # copied and recorded before the delete
    lake.stuck.append((got.put, got.key))


def case_put_raw(lake: Lake, denied: bool) -> None:
    got = ingest_step(lake)
    if not denied:
        assert_landed(lake, got)
        return
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    name = got.key.split("/", 1)[1]
    assert_stuck(lake, got, "CopyObject", "s3:PutObject",
                 f'"arn:aws:s3:::{RAW}/flights/ingest_date={day}/{name}"')
    assert _raw_copies(lake, got.key) == []


def case_decrypt(lake: Lake, denied: bool) -> None:
    got = ingest_step(lake)
    if not denied:
        assert_landed(lake, got)
        return
    assert_stuck(lake, got, "GetObject", "kms:Decrypt", lake.out["DataKeyArn"])
    assert _raw_copies(lake, got.key) == []


def case_crawler_list(lake: Lake, denied: bool) -> None:
    glue = lake.client("glue")
    name = lake.out["CrawlerName"]
    since = dt.datetime.now(dt.UTC)
    glue.start_crawler(Name=name)
    crawler = wait_crawler(glue, name, since=since, timeout=DEADLINE, interval=0.25, progress=False).value
    last = crawler["LastCrawl"]
    if not denied:
        assert last["Status"] == "SUCCEEDED", last
        table = glue.get_table(DatabaseName=DB, Name="flights")["Table"]
        assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day"]
        return
    assert last["Status"] == "FAILED", last
    # S3's answer as the crawler's Java SDK reports it
    assert re.search(_denied(_assumed(f"{PREFIX}-glue"), "s3:ListBucket", f'"arn:aws:s3:::{PROCESSED}"')
                     + r" \(Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; ",
                     last["ErrorMessage"]), last["ErrorMessage"]


def _query(lake: Lake) -> tuple[str, dict[str, Any]]:
    athena = lake.as_analyst("athena")
    qid = athena.start_query_execution(
        QueryString=f"SELECT count(*) AS n FROM {PROBE_TABLE}", WorkGroup=lake.out["AnalystsWorkGroup"],
        QueryExecutionContext={"Database": DB})["QueryExecutionId"]

    def final() -> dict[str, Any] | None:
        q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        return q if q["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    return qid, wait_until(final, f"query {qid}", DEADLINE)


def _assert_query_ok(lake: Lake, qid: str, q: dict[str, Any]) -> None:
    assert q["Status"]["State"] == "SUCCEEDED", q["Status"]
    rows = lake.as_analyst("athena").get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    assert [r["Data"][0]["VarCharValue"] for r in rows] == ["n", str(PROBE_ROWS)]


def case_query_output(lake: Lake, denied: bool) -> None:
    qid, q = _query(lake)
    if not denied:
        _assert_query_ok(lake, qid, q)
        return
    url = f"s3://{RESULTS}/analysts/{qid}.csv"
    reason = q["Status"]["State"], q["Status"].get("StateChangeReason", "")
    assert reason[0] == "FAILED", q["Status"]
    assert reason[1].startswith(f"Access denied when writing output to url: {url} . Please ensure you are "
                                "allowed to access the S3 bucket."), reason[1]
    assert re.search(_denied(_assumed(f"{PREFIX}-analyst-full"), "s3:PutObject",
                             f'"arn:aws:s3:::{RESULTS}/analysts/{qid}.csv"'), reason[1]), reason[1]


def case_start_query(lake: Lake, denied: bool) -> None:
    if not denied:
        _assert_query_ok(lake, *_query(lake))
        return
    with pytest.raises(ClientError) as e:
        _query(lake)
    err = e.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 400)
    assert re.fullmatch(_denied(_assumed(f"{PREFIX}-analyst-full"), "athena:StartQueryExecution",
                                f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{PREFIX}-analysts"),
                        err["Error"]["Message"]), err["Error"]["Message"]


def case_api_pull_put(lake: Lake, denied: bool) -> None:
    with WeatherApi(WEATHER) as api:
        resp = lake.client("lambda").invoke(FunctionName=lake.out["ApiPullFunctionName"],
                                            Payload=json.dumps({"api_url": api.url, "max_pages": 1}).encode())
    payload = json.loads(resp["Payload"].read())
    if not denied:
        assert "FunctionError" not in resp, payload
        assert (payload["status"], payload["keys"]) == ("complete", ["weather/weather-api-start.jsonl"])
        assert payload["records_written"] == len(WEATHER)
        return
    # errorType: the exception's class name, as botocore names S3's AccessDenied
    s3_error = lake.client("s3").exceptions.from_code("AccessDenied").__name__
    assert (resp["FunctionError"], payload["errorType"]) == ("Unhandled", s3_error), payload
    assert re.fullmatch(r"An error occurred \(AccessDenied\) when calling the PutObject operation: "
                        + _denied(_assumed(f"{PREFIX}-api-pull-lambda"), "s3:PutObject",
                                  f'"arn:aws:s3:::{LANDING}/weather/weather-api-start.jsonl"'),
                        payload["errorMessage"]), payload["errorMessage"]
    assert _in(lake, ARTIFACTS, "state/") == []  # the cursor did not move


def _run_state(glue: Any, job: str, run: str, until: Callable[[str], bool]) -> dict[str, Any]:
    """The job run once ``until(its state)`` holds (waited for)."""
    def probe() -> dict[str, Any] | None:
        got = glue.get_job_run(JobName=job, RunId=run)["JobRun"]
        return got if until(got["JobRunState"]) else None

    return wait_until(probe, f"run {run} of {job}", DEADLINE)


def case_glue_script(lake: Lake, denied: bool) -> None:
    """The ETL job's script is downloaded with GlueRole before Spark starts (no Spark needed:
    after the restore the run gets past the download to RUNNING and is stopped there)."""
    glue = lake.client("glue")
    job = lake.out["EtlJobName"]
    run = glue.start_job_run(JobName=job)["JobRunId"]
    if not denied:
        assert _run_state(glue, job, run, lambda s: s != "STARTING")["JobRunState"] == "RUNNING"
        glue.batch_stop_job_run(JobName=job, JobRunIds=[run])
        final = _run_state(glue, job, run, lambda s: s in ("STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT"))
        assert (final["JobRunState"], final.get("ErrorMessage")) == ("STOPPED", None), final
        return
    final = _run_state(glue, job, run, lambda s: s not in ("STARTING", "RUNNING", "WAITING"))
    script = glue.get_job(JobName=job)["Job"]["Command"]["ScriptLocation"]
    assert script.startswith(f"s3://{ARTIFACTS}/scripts/"), script
    assert final["JobRunState"] == "FAILED", final
    assert re.fullmatch(
        rf"the script {re.escape(script)} could not be downloaded with the job's role "
        rf"{re.escape(lake.out['GlueRoleArn'])}: An error occurred \(AccessDenied\) when calling the GetObject "
        "operation: " + _denied(_assumed(f"{PREFIX}-glue"), "s3:GetObject", f'"arn:aws:s3:::{script[5:]}"')
        + r"\. Grant the role s3:GetObject on the script .*", final["ErrorMessage"]), final["ErrorMessage"]


@dataclass(frozen=True)
class Case:
    perm: Perm
    step: Callable[[Lake, bool], None]


CASES = [
    Case(Perm("IngestLambdaRole", "ingest", "ReadAndRemoveLanding", "s3:DeleteObjectVersion"), case_delete_landing),
    Case(Perm("IngestLambdaRole", "ingest", "WriteRawAndQuarantine", "s3:PutObject"), case_put_raw),
    Case(Perm("IngestLambdaRole", "ingest", "UseDataKey", "kms:Decrypt"), case_decrypt),
    Case(Perm("GlueRole", "etl", "ListZones", "s3:ListBucket"), case_crawler_list),
    Case(Perm("DataLakeReadPolicy", None, "QueryResults", "s3:PutObject"), case_query_output),
    Case(Perm("DataLakeReadPolicy", None, "AnalystsWorkgroup", "athena:StartQueryExecution"), case_start_query),
    Case(Perm("ApiPullLambdaRole", "api-pull", "WriteLandingWeather", "s3:PutObject"), case_api_pull_put),
    Case(Perm("GlueRole", "etl", "ReadRawAndScripts", "s3:GetObject"), case_glue_script),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c.perm) for c in CASES])
def test_template_permission_is_needed_by_its_step(lake: Lake, case: Case) -> None:
    with without(lake, case.perm) as doc:
        left = [s for s in doc["Statement"] if s.get("Sid") == case.perm.sid]
        assert all(case.perm.action not in _actions(s) for s in left)
        case.step(lake, True)
    case.step(lake, False)
