"""A room sharing ONE account: two attendees, two prefixes, one endpoint (TRAINER.md, issue 13).

Attendee A (prefix ``room-a``) and attendee B (prefix ``room``) each deploy the stack, ingest the
committed sample (B only the first six months of flights, so the two lakes' counts differ), run
the Glue job, let the crawler catalog the processed zone and deploy the governance phase — side
by side on one endpoint, as a room does on one AWS account. Then:

* each attendee's stack, buckets, data, grants, LF-tags, data cells filter and query results are
  her own; A's analysts cannot read B's tables nor use B's workgroup;
* B's teardown leaves A's lake intact and working: the same queries return A's exact counts, A's
  LF-tags, tag assignments, filter, grants and Lake Formation admins remain, and ``remaining()``
  of B lists nothing (no resource of A is mistaken for B's);
* A's own teardown then works and leaves nothing.

B's prefix is a string prefix of A's (``room`` / ``room-a``) on purpose: a cleanup that matched
names with ``startswith(prefix + "-")`` took A's resources for B's (and deleted A's LF-tags).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lakekit import deploy, governance, ingest
from lakekit.session import configure_wrangler, session
from lakekit.waiters import wait_crawler, wait_job_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
ACCOUNT = "123456789012"
A, B = "room-a", "room"
DB = {A: "room_a_lake", B: "room_lake"}
#: B lands only these flights months (A lands all twelve)
B_MONTHS = ("2013-01", "2013-02", "2013-03", "2013-04", "2013-05", "2013-06")
TIMEOUT = 900.0
COUNT_SQL = "SELECT count(*) AS n FROM flights"
ORIGIN_SQL = "SELECT origin, count(*) AS n FROM flights GROUP BY origin ORDER BY origin"


def _files(prefix: str) -> dict[str, Path]:
    files = ingest.landing_files(SAMPLE)
    if prefix == B:
        files = {k: p for k, p in files.items()
                 if not k.startswith("flights/") or k.split("/")[1][:7] in B_MONTHS}
    return files


def _sample_rows(prefix: str) -> int:
    return sum(len(p.read_text().splitlines()) - 1 for k, p in _files(prefix).items()
               if k.startswith("flights/"))


class Room:
    def __init__(self, ep):
        self.ep = ep
        self.s = {p: ep.settings.with_(prefix=p) for p in (A, B)}
        self.out: dict[str, dict[str, str]] = {}
        self.creds: dict[str, dict[str, dict[str, str]]] = {}

    def client(self, service: str):
        return self.ep.client(service)

    def query(self, prefix: str, who: str, sql: str, db: str | None = None) -> governance.QueryOutcome:
        out = self.out[prefix]
        wg = out["EngineersWorkGroup"] if who == "admin" else out["AnalystsWorkGroup"]
        return governance.query(sql, wg, db or out["DatabaseName"],
                                credentials=self.creds[prefix].get(who), s=self.s[prefix],
                                timeout=TIMEOUT)

    def counts(self, prefix: str) -> dict[str, object]:
        """What each principal of ``prefix`` reads: total flights, per origin, JFK only."""
        got: dict[str, object] = {}
        for who in ("admin", "analyst-full", "analyst-restricted"):
            n, per = self.query(prefix, who, COUNT_SQL), self.query(prefix, who, ORIGIN_SQL)
            assert n.state == per.state == "SUCCEEDED", (prefix, who, n.error, per.error)
            got[who] = (int(n.frame["n"][0]),
                        {o: int(c) for o, c in zip(per.frame["origin"], per.frame["n"])})
        return got


@pytest.fixture(scope="module")
def room(private_endpoint):
    ep = private_endpoint("room")
    mp = pytest.MonkeyPatch()
    # lakekit.athena builds its client from the environment: point it at this endpoint
    for key, value in {"LAKEKIT_TARGET": "local", "LAKEKIT_HOME": str(ep.home),
                       "LAKEKIT_PORT": str(ep.settings.port), "LAKEKIT_PREFIX": A}.items():
        mp.setenv(key, value)
    configure_wrangler(ep.settings)  # DML results are read with awswrangler, as in the notebooks
    r = Room(ep)
    try:
        for p in (A, B):
            r.out[p] = deploy.deploy(r.s[p], progress=False, timeout=TIMEOUT)
        s3 = r.client("s3")
        sent = {p: ingest.upload_landing_files(s3, r.out[p]["LandingBucket"], _files(p), progress=False)
                for p in (A, B)}
        for p in (A, B):
            o = r.out[p]
            rec = ingest.wait_until_ingested(s3, o["LandingBucket"], o["RawBucket"], o["QuarantineBucket"],
                                             sent[p], timeout=TIMEOUT, progress=False)
            assert rec.attrs["summary"]["raw"] == len(sent[p]), rec[rec["where"] != "raw"]
        glue = r.client("glue")
        since = dt.datetime.now(dt.UTC)
        runs = {p: glue.start_job_run(JobName=r.out[p]["EtlJobName"])["JobRunId"] for p in (A, B)}
        for p in (A, B):  # both jobs run at once, as in a room
            done = wait_job_run(glue, r.out[p]["EtlJobName"], runs[p], timeout=TIMEOUT, progress=False)
            assert done.state == "SUCCEEDED", (p, done.value.get("ErrorMessage"))
        for p in (A, B):  # the conditional trigger crawls after a successful run; crawl once more
            crawler = r.out[p]["CrawlerName"]
            wait_crawler(glue, crawler, since=since, timeout=TIMEOUT, progress=False)
            started = dt.datetime.now(dt.UTC)
            try:
                glue.start_crawler(Name=crawler)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "CrawlerRunningException", exc
            done = wait_crawler(glue, crawler, since=started, timeout=TIMEOUT, progress=False)
            assert done.state == "READY (SUCCEEDED)", (p, done.value.get("LastCrawl"))
        for p in (A, B):
            r.out[p] = deploy.deploy(r.s[p], progress=False, timeout=TIMEOUT, governance=True)
            r.creds[p] = {who: governance.assume_role(r.out[p][key], f"room-{who}", s=r.s[p])
                          for who, key in (("analyst-full", "AnalystFullRoleArn"),
                                           ("analyst-restricted", "AnalystRestrictedRoleArn"))}
        r.runs = runs
        yield r
    finally:
        mp.undo()
        configure_wrangler(ep.settings.with_(target="aws"))  # no endpoint URLs left behind


def _accounted(room: Room, prefix: str) -> int:
    """flights rows the job wrote (its accounting report), to compare with the queries."""
    import json

    o = room.out[prefix]
    key = f"reports/{o['EtlJobName']}/flights/{room.runs[prefix]}/accounting.json"
    acc = json.loads(room.client("s3").get_object(Bucket=o["ArtifactsBucket"], Key=key)["Body"].read())
    assert acc["rows_in"] == _sample_rows(prefix), acc
    return int(acc["rows_out"])


def _tag_keys(lf) -> set[str]:
    return {t["TagKey"] for t in lf.list_lf_tags()["LFTags"]}


def _admins(lf) -> set[str]:
    return {a["DataLakePrincipalIdentifier"]
            for a in lf.get_data_lake_settings()["DataLakeSettings"]["DataLakeAdmins"]}


def _grants(room: Room, prefix: str) -> set[tuple[str, str, str]]:
    frame = governance.permissions(s=room.s[prefix])
    mine = frame[[deploy._owned(x.split("/", 1)[-1], prefix) for x in frame["principal"]]]
    return {(row.principal, row.resource_type, row.resource) for row in mine.itertuples()}


# ------------------------------------------------------------------ side by side


def test_each_attendee_has_her_own_stack_buckets_and_names(room):
    a, b = room.out[A], room.out[B]
    assert (a["DatabaseName"], b["DatabaseName"]) == (DB[A], DB[B])
    for key in ("LandingBucket", "RawBucket", "ProcessedBucket", "ArtifactsBucket", "AthenaResultsBucket",
                "EtlJobName", "CrawlerName", "AnalystsWorkGroup", "AnalystFullRoleArn", "DataKeyArn",
                "SensitivityTagKey", "DomainTagKey"):
        assert a[key] != b[key], key
    assert a["LandingBucket"] == f"{A}-landing-{ACCOUNT}-us-east-1"
    assert b["LandingBucket"] == f"{B}-landing-{ACCOUNT}-us-east-1"
    assert (a["SensitivityTagKey"], b["SensitivityTagKey"]) == (f"{A}-sensitivity", f"{B}-sensitivity")
    assert a["JfkFilterName"] == b["JfkFilterName"] == "jfk_departures"  # per table: no clash
    for p in (A, B):
        table = deploy.resources(room.s[p])
        assert len(table) == deploy.expected_resources(True, True) == 53
        assert set(table["status"]) <= {"CREATE_COMPLETE", "UPDATE_COMPLETE"}, table
        left = deploy.remaining(room.s[p])
        buckets = set(left.loc[left["kind"] == "bucket", "name"])
        assert buckets == {room.out[p][k] for k in ("LandingBucket", "RawBucket", "ProcessedBucket",
                                                    "QuarantineBucket", "ArtifactsBucket",
                                                    "AthenaResultsBucket")}, (p, buckets)
        if p == B:  # "room" is a string prefix of "room-a": none of A's names is B's
            assert not [n for n in left["name"] if f"{A}-" in n], left


def test_each_lake_holds_only_its_own_data(room):
    s3 = room.client("s3")
    for p in (A, B):
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=room.out[p]["RawBucket"], Prefix="flights/") for o in page.get("Contents", [])]
        months = sorted({k.rsplit("/", 1)[-1][:7] for k in keys})
        assert months == (sorted(B_MONTHS) if p == B else [f"2013-{m:02d}" for m in range(1, 13)]), (p, keys)
    assert _sample_rows(A) == 300 and _sample_rows(B) == 150


def test_each_attendee_queries_her_own_counts(room):
    for p in (A, B):
        rows = _accounted(room, p)
        counts = room.counts(p)
        total, per_origin = counts["admin"]
        assert total == rows and sum(per_origin.values()) == rows, (p, counts)
        assert counts["analyst-full"] == counts["admin"], (p, counts)
        jfk = counts["analyst-restricted"]
        assert jfk == (per_origin["JFK"], {"JFK": per_origin["JFK"]}), (p, counts)
    assert room.counts(A)["admin"][0] != room.counts(B)["admin"][0]


def test_lf_tags_filters_and_grants_are_per_attendee(room):
    lf = room.client("lakeformation")
    keys = _tag_keys(lf)
    assert {f"{A}-sensitivity", f"{A}-domain", f"{B}-sensitivity", f"{B}-domain"} <= keys
    for p in (A, B):
        got = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": DB[p], "Name": "flights"}})
        table_keys = {t["TagKey"] for t in got["LFTagsOnTable"]}
        column_keys = {t["TagKey"] for c in got["LFTagsOnColumns"] for t in c["LFTags"]}
        assert table_keys == column_keys == {f"{p}-sensitivity", f"{p}-domain"}, (p, table_keys, column_keys)
        filters = lf.list_data_cells_filter(Table={"DatabaseName": DB[p], "Name": "flights"})["DataCellsFilters"]
        assert [(f["DatabaseName"], f["Name"]) for f in filters] == [(DB[p], "jfk_departures")]
        grants = _grants(room, p)
        assert grants, p
        other = DB[B] if p == A else DB[A]
        assert not any(other + "." in res or res == other for _, _, res in grants), (p, grants)
        tag_policy = {res for who, kind, res in grants if kind == "LFTagPolicy"}
        assert tag_policy == {f"TABLE where {p}-domain in (operations, reference) AND {p}-sensitivity "
                              "in (public)"}, (p, tag_policy)
    admins = _admins(lf)
    assert {room.out[A]["DataLakeAdminRoleArn"], room.out[B]["DataLakeAdminRoleArn"],
            deploy.deployer_arn(room.s[A])} <= admins


def test_an_analyst_cannot_read_the_other_attendees_tables(room):
    for p, other in ((A, B), (B, A)):
        for who in ("analyst-full", "analyst-restricted"):
            got = room.query(p, who, f"SELECT count(*) AS n FROM {DB[other]}.flights")
            assert got.state == "FAILED", (p, who, got.frame)
            assert "glue:GetTable" in got.error or "PERMISSION_DENIED" in got.error, got.error
            assert DB[other] in got.error, got.error
    # nor use the other attendee's workgroup (IAM: the workgroup ARN carries the prefix)
    sess = session(room.s[A], **room.creds[A]["analyst-full"])
    athena = sess.client("athena", endpoint_url=room.ep.url)
    with pytest.raises(ClientError) as denied:
        athena.start_query_execution(QueryString=COUNT_SQL, WorkGroup=room.out[B]["AnalystsWorkGroup"],
                                     QueryExecutionContext={"Database": DB[B]})
    err = denied.value.response["Error"]
    assert err["Code"] == "AccessDeniedException", err
    assert "athena:StartQueryExecution" in err["Message"] and f"workgroup/{B}-analysts" in err["Message"]


# ------------------------------------------------------------------ B leaves the room


@pytest.fixture(scope="module")
def b_gone(room):
    lf = room.client("lakeformation")
    before = {"counts": room.counts(A), "tags": _tag_keys(lf), "grants": _grants(room, A),
              "admins": _admins(lf), "remaining": deploy.remaining(room.s[A])}
    result = deploy.teardown(room.s[B], progress=False, timeout=TIMEOUT)
    return before, result


def test_b_teardown_deletes_only_b(room, b_gone):
    before, result = b_gone
    assert result["stack"] == "DELETE_COMPLETE", result
    # the stack deleted its LF-tags itself; the leftover sweep must not take A's for B's
    assert result["deleted"]["lf-tags"] == [], result["deleted"]
    assert not {f"{B}-domain", f"{B}-sensitivity"} & _tag_keys(room.client("lakeformation"))
    assert all(f"{A}-" not in b for b in result["emptied"]), result["emptied"]
    left = deploy.remaining(room.s[B])
    assert left.empty, left  # A's resources are not counted as B's
    after = deploy.remaining(room.s[A])
    assert after.to_dict("records") == before["remaining"].to_dict("records")


def test_a_lake_still_works_with_the_same_counts(room, b_gone):
    before, _ = b_gone
    assert room.counts(A) == before["counts"]
    assert room.counts(A)["admin"][0] == _accounted(room, A)


def test_a_governance_remains(room, b_gone):
    before, _ = b_gone
    lf = room.client("lakeformation")
    keys = _tag_keys(lf)
    assert {f"{A}-sensitivity", f"{A}-domain"} <= keys and not {f"{B}-sensitivity", f"{B}-domain"} & keys
    got = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": DB[A], "Name": "flights"}})
    assert {t["TagKey"] for t in got["LFTagsOnTable"]} == {f"{A}-sensitivity", f"{A}-domain"}
    filters = lf.list_data_cells_filter(Table={"DatabaseName": DB[A], "Name": "flights"})["DataCellsFilters"]
    assert [f["Name"] for f in filters] == ["jfk_departures"]
    assert _grants(room, A) == before["grants"]
    admins = _admins(lf)
    assert room.out[A]["DataLakeAdminRoleArn"] in admins
    assert room.out[B]["DataLakeAdminRoleArn"] not in admins
    # the deployer is A's admin too: B's stack leaving must not take that away from A
    assert deploy.deployer_arn(room.s[A]) in admins, admins


def test_a_teardown_afterwards_leaves_nothing(room, b_gone):
    result = deploy.teardown(room.s[A], progress=False, timeout=TIMEOUT)
    assert result["stack"] == "DELETE_COMPLETE", result
    assert result["deleted"]["lf-tags"] == [] and not {f"{A}-domain", f"{A}-sensitivity"} & _tag_keys(
        room.client("lakeformation"))
    assert deploy.remaining(room.s[A]).empty
    assert deploy.remaining(room.s[B]).empty
