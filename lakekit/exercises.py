"""The workshop's exercises: ``check("02.1", answer)`` says right or wrong, and why.

Every notebook from 02 to 06 ends with one to three exercises: a task, a cell with
``answer = None  # your code here`` and ``lakekit.exercises.check("02.1", answer)``. The check
computes the truth from the live lake every time (boto3 / awswrangler calls against the stack
of this prefix: the ingest Lambda's decision on a file, Glue Data Quality's published metrics,
a Parquet partition, the Data Catalog's table versions, Athena's bytes scanned), never from a
stored answer, and prints a verdict:

- ``answer is None``: a hint and "not attempted";
- a right answer: RIGHT and why it is right;
- a wrong answer: WRONG, what the lake says instead and why (it never raises for a wrong answer).

Checks leave the lake as they found it: a file uploaded to see the ingest Lambda's decision is
removed again (every version, its manifest and sidecar); :func:`tidy` removes what a solution
created (the exercise's data cells filter). Solutions are in ``notebooks/solutions/``.

Example::

    >>> from lakekit import exercises
    >>> sorted(exercises.EXERCISES)[:2]
    ['02.1', '02.2']
    >>> exercises.check("02.1", None).status      # doctest: +ELLIPSIS
    02.1 not attempted. ...
    'not attempted'
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakekit.exceptions import LakekitError

__all__ = ["EXERCISES", "Exercise", "Verdict", "check", "evaluate", "material", "tidy",
           "LGA_FILTER", "QUESTION_0601", "SQL_0602"]

log = logging.getLogger(__name__)

RIGHT, WRONG, NOT_ATTEMPTED = "right", "wrong", "not attempted"

#: 05.1: the name of the data cells filter the attendee creates (and :func:`tidy` removes).
LGA_FILTER = "lga_departures"
#: 06.1: the question the cheapest query answers.
QUESTION_0601 = "How many flights left LaGuardia (origin 'LGA') on 4 July 2013?"
#: 06.2: the query whose bill the attendee computes.
SQL_0602 = ("SELECT carrier, avg(arr_delay) AS avg_arr_delay FROM flights "
            "WHERE year = '2013' AND month = '7' GROUP BY carrier")


class ExerciseError(LakekitError):
    """An exercise cannot be checked: unknown id, or the lake lacks what it needs."""


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` says: ``status`` is "right", "wrong" or "not attempted"."""

    exercise: str
    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == RIGHT

    def __str__(self) -> str:
        head = {RIGHT: "RIGHT", WRONG: "WRONG", NOT_ATTEMPTED: "not attempted"}[self.status]
        return f"{self.exercise} {head}. {self.message}"

    def _ipython_display_(self) -> None:  # check() printed it already: no second copy
        return None


@dataclass(frozen=True)
class Exercise:
    """One exercise: its notebook, the task in one line, a hint, and the judge."""

    id: str
    notebook: str
    task: str
    hint: str
    judge: Callable[[Any, _Lake], tuple[bool, str]]


# --- the lake a check reads ---------------------------------------------------------------------

class _Lake:
    """The stack outputs and clients of the current target and prefix (what the notebooks use)."""

    def __init__(self) -> None:
        from lakekit.config import settings

        self.cfg = settings()
        self._out: dict[str, str] | None = None
        self._clients: dict[str, Any] = {}

    @property
    def out(self) -> dict[str, str]:
        """The stack outputs, read on first use (a malformed answer is judged without the lake)."""
        if self._out is None:
            from lakekit import deploy

            self._out = deploy.outputs(self.cfg)
        return self._out

    def need(self, *keys: str, notebooks: str) -> None:
        missing = [k for k in keys if k not in self.out]
        if missing:
            raise ExerciseError(f"the stack of prefix {self.cfg.prefix!r} has no output {missing}: "
                                f"run notebooks {notebooks} first, then check again")

    def client(self, service: str) -> Any:
        from lakekit.session import client

        if service not in self._clients:
            self._clients[service] = client(service, self.cfg)
        return self._clients[service]

    def athena(self, sql: str, workgroup: str | None = None) -> tuple[Any, Any]:
        """(rows, stats) of ``sql`` as you, in the engineers workgroup; raises QueryFailed."""
        from lakekit import athena

        return athena.query(sql, self.out["DatabaseName"], workgroup or self.out["EngineersWorkGroup"],
                            progress=False, publish_metrics=False)


# --- 02: the ingest Lambda's decision on a file -------------------------------------------------

def _flights_rows(n: int) -> list[str]:
    from lakekit.lambdas.ingest.ingest_validate import FLIGHTS_COLUMNS

    rows = [",".join(FLIGHTS_COLUMNS)]
    for i in range(n):
        rows.append(f"2013,1,1,{517 + i},515,2,830,819,11,UA,{1545 + i},N14228,EWR,IAH,227,1400,5,15,"
                    "2013-01-01 05:00:00")
    return rows


def _material_0201() -> tuple[str, bytes, str]:
    rows = _flights_rows(20)
    rows[12] = rows[12].rsplit(",", 1)[0]  # record 12 lost its last field (time_hour)
    return "flights/exercise-02-1.csv", ("\n".join(rows) + "\n").encode(), "text/csv"


def _material_0202() -> tuple[str, bytes, str]:
    plane = {"year": 2004, "type": "Fixed wing multi engine", "manufacturer": "EMBRAER",
             "model": "EMB-145XR", "engine": {"count": 2, "type": "Turbo-fan"},
             "capacity": {"seats": 55, "speed": None}}
    lines = [json.dumps({"tailnum": f"N{i:03d}AA", **plane}) for i in range(40)]
    packed = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    return "planes/exercise-02-2.jsonl.gz", packed[:len(packed) * 2 // 3], "application/gzip"


_MATERIAL = {"02.1": _material_0201, "02.2": _material_0202}


def material(exercise: str) -> tuple[str, bytes]:
    """The landing key and the bytes of the file an exercise asks about (02.1, 02.2)."""
    if exercise not in _MATERIAL:
        raise ExerciseError(f"exercise {exercise!r} has no file: only {sorted(_MATERIAL)} do")
    key, body, _ = _MATERIAL[exercise]()
    return key, body


def _purge(s3: Any, bucket: str, key: str) -> int:
    """Delete every version and delete marker of exactly ``key`` (a versioned bucket keeps them)."""
    gone = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            if v["Key"] == key:
                s3.delete_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])
                gone += 1
    return gone


def _observe_ingest(lake: _Lake, key: str, body: bytes, content_type: str) -> tuple[str, str | None, str]:
    """Upload ``body`` to landing, wait for the Lambda, read its decision, remove every trace.

    -> (where: raw | quarantine, reason code or None, detail).
    """
    from lakekit import ingest

    lake.need("LandingBucket", "RawBucket", "QuarantineBucket", notebooks="01 and 02")
    s3, out = lake.client("s3"), lake.out
    landing, raw, quarantine = out["LandingBucket"], out["RawBucket"], out["QuarantineBucket"]
    etag = s3.put_object(Bucket=landing, Key=key, Body=body, ContentType=content_type)["ETag"].strip('"')
    target = None
    try:
        row = ingest.wait_until_ingested(s3, landing, raw, quarantine, [key], timeout=300,
                                         progress=False).iloc[0]
        where, reason, target = row["where"], row["reason"], row["target_key"]
        detail = ""
        if where == "quarantine":
            car = s3.get_object(Bucket=quarantine, Key=target + ".reason.json")["Body"].read()
            detail = json.loads(car).get("detail", "")
    finally:
        digest = hashlib.sha256(f"{landing}/{key}/{etag}".encode()).hexdigest()
        for folder in (key.split("/", 1)[0], "unknown"):
            _purge(s3, raw, f"_manifest/{folder}/{digest}.json")
        if target:
            _purge(s3, quarantine, target)
            _purge(s3, quarantine, target + ".reason.json")
            _purge(s3, raw, target)
        _purge(s3, landing, key)
    return where, (reason if where == "quarantine" else None), detail


def _judge_reason(exercise: str) -> Callable[[Any, _Lake], tuple[bool, str]]:
    def judge(answer: Any, lake: _Lake) -> tuple[bool, str]:
        from lakekit.lambdas.ingest.ingest_validate import REASON_CODES

        if not isinstance(answer, str) or answer not in REASON_CODES:
            return False, (f"{answer!r} is not one of the ingest Lambda's reason codes "
                           f"({', '.join(REASON_CODES)}): answer with one of them, as a string.")
        key, body, ctype = _MATERIAL[exercise]()
        where, reason, detail = _observe_ingest(lake, key, body, ctype)
        if where != "quarantine":
            return False, f"the ingest Lambda put {key} in {where}, not in quarantine."
        said = f"the ingest Lambda quarantined {key} with {reason!r}: {detail.rstrip('.')}."
        if answer == reason:
            return True, said + " (The file was removed again: the lake is as it was.)"
        return False, (f"{said} You said {answer!r}. The validator stops at the FIRST problem it "
                       "finds while streaming the file: read it in that order (name, type, bytes, "
                       "header, then record by record).")
    return judge


# --- 03: Glue Data Quality and the processed zone -----------------------------------------------

def _latest_dq(lake: _Lake, context: str) -> dict[str, Any]:
    lake.need("EtlJobName", notebooks="01-03")
    glue, job = lake.client("glue"), lake.out["EtlJobName"]
    listed, token = [], None
    while True:
        page = glue.list_data_quality_results(Filter={"JobName": job}, **({"NextToken": token} if token else {}))
        listed += page["Results"]
        token = page.get("NextToken")
        if not token:
            break
    results = [glue.get_data_quality_result(ResultId=r["ResultId"]) for r in listed]
    mine = [r for r in results if r.get("EvaluationContext") == context]
    if not mine:
        raise ExerciseError(f"Glue Data Quality has no result of context {context!r} for job {job}: "
                            "run notebook 03 (its first job run evaluates the rules), then check again")
    return max(mine, key=lambda r: r["StartedOn"])


def _judge_0301(answer: Any, lake: _Lake) -> tuple[bool, str]:
    result = _latest_dq(lake, "flights_soft")
    rule = next((r for r in result["RuleResults"] if r["Description"].startswith('Completeness "dep_time"')), None)
    if rule is None:
        raise ExerciseError("the latest flights_soft result has no Completeness rule on dep_time")
    metric = next(v for k, v in (rule.get("EvaluatedMetrics") or {}).items() if k.endswith("Completeness"))
    said = (f"Glue Data Quality measured Completeness of dep_time = {metric:.4f} in run "
            f"{result.get('JobRunId', '')[:20]}… (rule {rule['Description']!r}: {rule['Result']})")
    if not isinstance(answer, numbers.Real) or isinstance(answer, bool) or math.isnan(answer):
        return False, f"answer with a number between 0 and 1, not {answer!r}. {said}."
    if abs(answer - metric) <= 5e-4:
        return True, said + ": flights without a dep_time are the cancelled ones, kept on purpose."
    if abs(answer - (1 - metric)) <= 5e-4:
        return False, f"{answer} is the share of MISSING dep_time values; Completeness is the share present. {said}."
    return False, (f"{answer} is not it. {said}. Read it from GetDataQualityResult's "
                   "RuleResults[].EvaluatedMetrics, not from the raw files.")


def _judge_0302(answer: Any, lake: _Lake) -> tuple[bool, str]:
    import awswrangler as wr

    lake.need("ProcessedBucket", notebooks="01-03")
    path = f"s3://{lake.out['ProcessedBucket']}/flights/year=2013/month=7/day=4/"
    day = wr.s3.read_parquet(path, columns=["cancelled"], boto3_session=_wr_session(lake))
    truth = int(day["cancelled"].sum())
    said = f"{path} holds {len(day):,} flights, {truth} of them cancelled"
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        return False, f"answer with a whole number, not {answer!r}. {said}."
    if answer == truth:
        return True, said + ": one partition read, the other 364 days never opened."
    if answer == len(day):
        return False, f"{answer} is every flight of that day, not the cancelled ones. {said}."
    return False, f"{answer} is not it: {said}. Read only that day's folder and sum `cancelled`."


def _wr_session(lake: _Lake) -> Any:
    from lakekit.session import configure_wrangler, session

    configure_wrangler(lake.cfg)
    return session(lake.cfg)


# --- 04: the Data Catalog ------------------------------------------------------------------------

def _judge_0401(answer: Any, lake: _Lake) -> tuple[bool, str]:
    from lakekit import catalog

    lake.need("DatabaseName", notebooks="01-04")
    versions = catalog.table_versions(lake.client("glue"), lake.out["DatabaseName"], "weather")
    having = versions[versions["column_names"].map(lambda names: "feels_like" in names)]
    if having.empty:
        raise ExerciseError("no version of table weather has feels_like yet: run notebook 04 "
                            "(section 6 adds the column and re-crawls), then check again")
    first = int(having["version"].iloc[0])
    said = (f"table weather has versions {versions['version'].tolist()}; feels_like first appears in "
            f"version {first} (written by {having['updated_by'].iloc[0] or 'the crawler'})")
    try:
        given = int(answer)
    except (TypeError, ValueError):
        return False, f"answer with a version number (GetTableVersions' VersionId), not {answer!r}. {said}."
    if given == first:
        return True, said + "; the versions before it stay readable, as the console's version compare shows."
    if given == int(versions["version"].iloc[-1]):
        return False, f"{given} is the newest version, not the first with feels_like. {said}."
    return False, f"{given} is not it. {said}."


def _judge_0402(answer: Any, lake: _Lake) -> tuple[bool, str]:
    lake.need("DatabaseName", notebooks="01-04")
    table = lake.client("glue").get_table(DatabaseName=lake.out["DatabaseName"], Name="flights")["Table"]
    keys = {k["Name"]: k["Type"] for k in table.get("PartitionKeys", [])}
    if "month" not in keys:
        raise ExerciseError("table flights has no partition key month: re-run notebook 04")
    truth = keys["month"]
    said = f"GetTable says flights is partitioned by {keys}"
    if not isinstance(answer, str):
        return False, f"answer with a Glue type name as a string (e.g. 'int'), not {answer!r}. {said}."
    if answer.strip().lower() == truth:
        return True, (said + ": partition values come from folder names (text), so Athena compares "
                      "them with string literals: month = '7', not month = 7.")
    return False, (f"{answer!r} is not it. {said}: the value of month is in the folder name "
                   "month=7/, not in the Parquet file, and the crawler types folder values as text.")


# --- 05: Lake Formation ---------------------------------------------------------------------------

def _judge_0501(answer: Any, lake: _Lake) -> tuple[bool, str]:
    from lakekit import athena

    if answer != LGA_FILTER:
        return False, f"name the filter {LGA_FILTER!r} and answer with that name, not {answer!r}."
    lake.need("DatabaseName", "EngineersWorkGroup", notebooks="01-05")
    db, lf, glue = lake.out["DatabaseName"], lake.client("lakeformation"), lake.client("glue")
    account = lake.client("sts").get_caller_identity()["Account"]
    try:
        got = lf.get_data_cells_filter(TableCatalogId=account, DatabaseName=db, TableName="flights",
                                       Name=LGA_FILTER)["DataCellsFilter"]
    except lf.exceptions.EntityNotFoundException:
        return False, (f"Lake Formation has no data cells filter {LGA_FILTER!r} on {db}.flights: "
                       "create it with lf.create_data_cells_filter(TableData={...}) first.")
    table = glue.get_table(DatabaseName=db, Name="flights")["Table"]
    columns = [c["Name"] for c in table["StorageDescriptor"]["Columns"] + table.get("PartitionKeys", [])]
    if "ColumnWildcard" in got:
        kept = [c for c in columns if c not in got["ColumnWildcard"].get("ExcludedColumnNames", [])]
    else:
        kept = got.get("ColumnNames", [])
    expr = got.get("RowFilter", {}).get("FilterExpression") or "TRUE"
    if "tailnum" in kept:
        return False, f"the filter lets tailnum through (columns {kept}): tailnum is pii, exclude it."
    if sorted(kept) != sorted(c for c in columns if c != "tailnum"):
        return False, (f"the filter keeps {len(kept)} columns, expected every column but tailnum "
                       f"({len(columns) - 1}): missing {sorted(set(columns) - set(kept) - {'tailnum'})}.")
    try:
        rows, _ = lake.athena(f"SELECT count_if(origin = 'LGA') AS lga, count_if({expr}) AS kept, "
                              f"count_if(({expr}) AND origin <> 'LGA') AS others FROM flights")
    except athena.QueryFailed as failed:
        return False, f"Athena cannot evaluate the row filter {expr!r}: {failed.stats.reason}"
    lga, kept_rows, others = (int(rows[c][0]) for c in ("lga", "kept", "others"))
    said = f"row filter {expr!r} keeps {kept_rows:,} rows of flights; LGA has {lga:,}"
    if others:
        return False, f"{said}, and {others:,} of the kept rows are NOT from LGA: the filter is too wide."
    if kept_rows != lga:
        return False, f"{said}: {lga - kept_rows:,} LGA flights are missing: the filter is too narrow."
    return True, f"{said}, and tailnum stays hidden. Grant SELECT on it to a principal to put it to use."


def tidy(notebook: str) -> list[str]:
    """Remove what a notebook's exercise solutions created (05: the LGA filter); -> what went."""
    gone: list[str] = []
    if notebook == "05":
        lake = _Lake()
        if "DatabaseName" not in lake.out:
            return gone
        lf = lake.client("lakeformation")
        try:
            lf.delete_data_cells_filter(TableCatalogId=lake.client("sts").get_caller_identity()["Account"],
                                        DatabaseName=lake.out["DatabaseName"], TableName="flights",
                                        Name=LGA_FILTER)
            gone.append(f"data cells filter {LGA_FILTER}")
        except lf.exceptions.EntityNotFoundException:
            pass
    print(f"removed: {', '.join(gone)}" if gone else "nothing to remove: the lake is as the notebook left it")
    return gone


# --- 06: Athena's bytes and bill ------------------------------------------------------------------

def _judge_0601(answer: Any, lake: _Lake) -> tuple[bool, str]:
    import awswrangler as wr

    from lakekit import athena

    if not isinstance(answer, str) or not answer.strip().lower().startswith(("select", "with")):
        return False, f"answer with the SQL text of one SELECT query, not {answer!r}."
    lake.need("DatabaseName", "ProcessedBucket", notebooks="01-04")
    day = wr.s3.read_parquet(f"s3://{lake.out['ProcessedBucket']}/flights/year=2013/month=7/day=4/",
                             columns=["origin"], boto3_session=_wr_session(lake))
    truth = int((day["origin"] == "LGA").sum())
    _, best = lake.athena("SELECT count(*) AS n FROM flights "
                          "WHERE year = '2013' AND month = '7' AND day = '4' AND origin = 'LGA'")
    try:
        rows, stats = lake.athena(answer)
    except athena.QueryFailed as failed:
        return False, f"Athena refused your query: {failed.stats.reason}"
    values = rows.to_numpy().ravel().tolist()
    if len(values) != 1:
        return False, f"your query returned {rows.shape[0]} rows x {rows.shape[1]} columns; return one number."
    said = (f"{truth} flights left LGA that day (read from the partition's Parquet). Your query scanned "
            f"{athena.human_bytes(stats.data_scanned_bytes)}, the cheapest one scans "
            f"{athena.human_bytes(best.data_scanned_bytes)}")
    try:
        got = int(values[0])
    except (TypeError, ValueError):
        return False, f"your query returned {values[0]!r}, not a count. {said}."
    if got != truth:
        return False, f"your query answers {got}, but {said}."
    if stats.data_scanned_bytes > best.data_scanned_bytes:
        return False, (f"right number, too many bytes: {said}. Filter on the partition keys as strings "
                       "(year = '2013' AND month = '7' AND day = '4') and read no column you do not need.")
    return True, said + ": partition pruning plus one column chunk."


def _judge_0602(answer: Any, lake: _Lake) -> tuple[bool, str]:
    lake.need("DatabaseName", notebooks="01-04")
    _, stats = lake.athena(SQL_0602)
    scanned = stats.data_scanned_bytes
    mb = max(math.ceil(scanned / 1024**2), 10)
    truths = {"TB = 2^40 bytes": mb * 1024**2 / 1024**4 * 5.0, "TB = 10^12 bytes": mb * 1024**2 / 1e12 * 5.0}
    said = (f"the query scanned {scanned:,} bytes (GetQueryExecution's DataScannedInBytes); Athena bills "
            f"{mb} MB (rounded up to the MB, at least 10 MB) at $5 per TB = ${truths['TB = 2^40 bytes']:.8f}")
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        return False, f"answer with a price in USD (a number), not {answer!r}. {said}."
    if any(math.isclose(answer, t, rel_tol=1e-6) for t in truths.values()):
        return True, said + "."
    raw_price = scanned / 1024**4 * 5.0
    if math.isclose(answer, raw_price, rel_tol=1e-3) or math.isclose(answer, scanned / 1e12 * 5.0, rel_tol=1e-3):
        return False, f"${answer:.8f} is the price of the bytes alone: you forgot the 10 MB minimum. {said}."
    return False, f"${answer:.8f} is not it: {said}."


# --- the registry ---------------------------------------------------------------------------------

EXERCISES: dict[str, Exercise] = {e.id: e for e in (
    Exercise("02.1", "02", "predict the quarantine reason of material('02.1')",
             "print the file (lakekit.exercises.material('02.1')) and read it as the validator does: "
             "its header first, then every record's field count. Answer with a reason code, e.g. "
             "'bad_header'.", _judge_reason("02.1")),
    Exercise("02.2", "02", "predict the quarantine reason of material('02.2')",
             "the file ends in .jsonl.gz: try gzip.decompress(body) on it and see what Python "
             "says. Answer with a reason code.", _judge_reason("02.2")),
    Exercise("03.1", "03", "the completeness of dep_time that Glue Data Quality measured",
             "glue.list_data_quality_results(Filter={'JobName': job_name}), then "
             "glue.get_data_quality_result(ResultId=...) of context flights_soft: its RuleResults "
             "carry EvaluatedMetrics. Answer with a number between 0 and 1.", _judge_0301),
    Exercise("03.2", "03", "cancelled flights on 2013-07-04, from one processed partition",
             "wr.s3.read_parquet(f's3://{processed}/flights/year=2013/month=7/day=4/', "
             "columns=['cancelled']). Answer with a whole number.", _judge_0302),
    Exercise("04.1", "04", "the first version of table weather that has feels_like",
             "lakekit.catalog.table_versions(glue, database, 'weather') (GetTableVersions) lists "
             "each version's columns. Answer with the version number.", _judge_0401),
    Exercise("04.2", "04", "the Glue type of the partition key month of flights",
             "glue.get_table(DatabaseName=database, Name='flights')['Table']['PartitionKeys']. "
             "Answer with the type name as a string.", _judge_0402),
    Exercise("05.1", "05", f"a data cells filter {LGA_FILTER!r}: LGA departures, every column but tailnum",
             "lf.create_data_cells_filter(TableData={'TableCatalogId': account, 'DatabaseName': db, "
             "'TableName': 'flights', 'Name': 'lga_departures', 'RowFilter': {'FilterExpression': ...}, "
             "'ColumnWildcard': {'ExcludedColumnNames': [...]}}). Answer with the filter's name.",
             _judge_0501),
    Exercise("06.1", "06", QUESTION_0601,
             "the cheapest query reads one partition and one column: filter on year, month and day "
             "(strings) and origin. Answer with the SQL text.", _judge_0601),
    Exercise("06.2", "06", "what Athena bills for lakekit.exercises.SQL_0602",
             "run it (athena.query returns stats.data_scanned_bytes, or GetQueryExecution's "
             "Statistics.DataScannedInBytes), then apply the price: $5 per TB, rounded up to the MB, "
             "10 MB minimum. Answer in USD.", _judge_0602),
)}


def evaluate(exercise: str, answer: Any) -> Verdict:
    """The verdict on ``answer`` (nothing printed); the truth comes from the live lake."""
    ex = EXERCISES.get(exercise)
    if ex is None:
        raise ExerciseError(f"no exercise {exercise!r}: the exercises are {', '.join(EXERCISES)}")
    if answer is None:
        return Verdict(exercise, NOT_ATTEMPTED, f"Task: {ex.task}. Hint: {ex.hint}")
    ok, why = ex.judge(answer, _Lake())
    return Verdict(exercise, RIGHT if ok else WRONG, why)


def check(exercise: str, answer: Any) -> Verdict:
    """Print the verdict on ``answer`` for ``exercise`` (e.g. ``"02.1"``) and return it.

    A wrong answer prints WRONG with the reason (it never raises); ``answer=None`` prints a hint.
    Raises :class:`ExerciseError` only when the lake lacks what the exercise reads.
    """
    verdict = evaluate(exercise, answer)
    print(verdict)
    return verdict
