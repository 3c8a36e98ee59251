"""Glue crawlers that really crawl: StartCrawler / StopCrawler / GetCrawler(s) /
GetCrawlerMetrics / ListCrawls, crawler logs, and triggers that start crawlers.

The crawler *definition* stays in moto (CreateCrawler / UpdateCrawler / DeleteCrawler /
BatchGetCrawlers / ListCrawlers pass through). What moto only pretends, this module does:

* **StartCrawler** reads the definition (BatchGetCrawlers, loopback), answers at once and
  runs :class:`lakekit.local.glue.crawler.Crawl` in a background thread with loopback
  ``glue`` / ``s3`` clients, so every catalog write is a real API call through the endpoint.
  ``CrawlerRunningException`` when the crawler is not READY, ``EntityNotFoundException``
  when it does not exist.
* **StopCrawler** asks the crawl to stop (RUNNING -> STOPPING -> READY, LastCrawl
  CANCELLED); ``CrawlerNotRunningException`` / ``CrawlerStoppingException`` as on AWS.
* **GetCrawler / GetCrawlers** = moto's definition + our ``State``, ``CrawlElapsedTime``
  (ms, while running) and ``LastCrawl`` (Status SUCCEEDED | CANCELLED | FAILED,
  ErrorMessage, LogGroup ``/aws-glue/crawlers``, LogStream = crawler name, MessagePrefix =
  crawl id, StartTime).
* **GetCrawlerMetrics** (TablesCreated/Updated/Deleted of the last crawl, LastRuntimeSeconds,
  MedianRuntimeSeconds over finished crawls, StillEstimating/TimeLeftSeconds from progress)
  and **ListCrawls** (CrawlId, State RUNNING | COMPLETED | STOPPED | FAILED, StartTime,
  EndTime, Summary JSON, ErrorMessage, LogGroup, LogStream, DPUHour; Filters supported).
* Logs go to CloudWatch Logs ``/aws-glue/crawlers``, stream = crawler name, with Glue's
  line shapes (``[<crawl id>] BENCHMARK : Running Start Crawl for Crawler x``...).
* A "Glue Crawler State Change" event (source ``aws.glue``) goes to EventBridge at start
  and end, like AWS.
* :func:`on_glue_job_state` (called by the Glue job runner when a run ends) starts the
  crawlers of ACTIVATED CONDITIONAL triggers whose predicate watches that job's state;
  the end of a crawl does the same for triggers that watch a crawler (``CrawlState``).

History, the engine's ``previous`` state (for ``CRAWL_NEW_FOLDERS_ONLY``) and run times
live in ``store("glue.crawlers")``. A crawl cut short by an endpoint restart is reported
as READY with LastCrawl FAILED ("interrupted by endpoint restart") on the next request.

Example (any boto3 client bound to the endpoint)::

    glue.start_crawler(Name="lake")
    glue.get_crawler(Name="lake")["Crawler"]["State"]          # 'RUNNING' ... 'READY'
    glue.get_crawler(Name="lake")["Crawler"]["LastCrawl"]["Status"]   # 'SUCCEEDED'
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from lakekit.config import LOCAL_ACCESS_KEY
from lakekit.local import runtime
from lakekit.local._clients import endpoint_client, role_credentials
from lakekit.local.glue.crawler import Crawl, CrawlResult
from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, observer, operation

__all__ = ["CRAWLERS", "LOG_GROUP", "on_glue_job_state", "on_glue_crawler_state"]

log = logging.getLogger("lakekit.local.glue_crawler")

#: persistent per-crawler records, keyed ``account|region|name``
CRAWLERS = store("glue.crawlers")
LOG_GROUP = "/aws-glue/crawlers"
_HISTORY = 100  # crawls kept per crawler (AWS keeps 12 months)
_INTERRUPTED = (
    "interrupted by endpoint restart: the crawl did not finish and the catalog may hold "
    "part of its changes; start the crawler again"
)
_LIVE: dict[str, Crawl] = {}  # crawls running in THIS process
_MUTEX = threading.RLock()  # the gateway's shared lock lets requests run together


# ----------------------------------------------------------------------------- records
def _key(account: str, region: str, name: str) -> str:
    return f"{account}|{region}|{name}"


def _now() -> datetime:
    return datetime.now(UTC)


def _record(key: str, name: str) -> dict[str, Any]:
    rec = CRAWLERS.get(key)
    if rec is None:
        rec = CRAWLERS[key] = {
            "name": name,
            "state": "READY",
            "crawls": [],
            "previous": None,
            "runtimes": [],
            "metrics": None,
        }
    return rec


def _reconcile() -> None:
    """Crawls recorded as running that no thread of this process runs were cut short by a
    restart: finish them as FAILED so nothing stays RUNNING forever."""
    with _MUTEX:
        for key, rec in CRAWLERS.items():
            if rec["state"] == "READY" or key in _LIVE:
                continue
            rec["state"] = "READY"
            if rec["crawls"] and rec["crawls"][-1]["State"] == "RUNNING":
                entry = rec["crawls"][-1]
                entry.update(State="FAILED", Status="FAILED", EndTime=_now(),
                             ErrorMessage=_INTERRUPTED)
                rec["metrics"] = _zero_metrics(rec["name"])


def _zero_metrics(name: str) -> dict[str, Any]:
    return {"CrawlerName": name, "TimeLeftSeconds": 0.0, "StillEstimating": False,
            "LastRuntimeSeconds": 0.0, "MedianRuntimeSeconds": 0.0,
            "TablesCreated": 0, "TablesUpdated": 0, "TablesDeleted": 0}


def _internal_glue(req: AwsRequest) -> Any:
    """Loopback client for reads the executors make on their own behalf: AWS does not ask the
    caller of StartCrawler/GetCrawler for glue:BatchGetCrawlers or glue:ListCrawlers."""
    from lakekit.local._clients import endpoint_client

    return endpoint_client(req.endpoint_url, "glue", req.region)


def _definitions(req: AwsRequest, names: list[str]) -> dict[str, dict[str, Any]]:
    """moto's crawler definitions (loopback BatchGetCrawlers, which we do not intercept)."""
    glue = _internal_glue(req)
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(names), 100):
        got = glue.batch_get_crawlers(CrawlerNames=names[i : i + 100])
        for c in got.get("Crawlers", []):
            out[c["Name"]] = c
    return out


def _definition(req: AwsRequest, name: str) -> dict[str, Any]:
    if not name:
        raise AwsError("InvalidInputException", "Name is required: pass the crawler name.")
    found = _definitions(req, [name]).get(name)
    if found is None:
        raise AwsError("EntityNotFoundException",
                       f"Crawler entry with name {name} does not exist: create it with "
                       "CreateCrawler (or check the name with ListCrawlers).")
    return found


def _all_names(req: AwsRequest) -> list[str]:
    glue = _internal_glue(req)
    names: list[str] = []
    token = None
    while True:
        page = glue.list_crawlers(**({"NextToken": token} if token else {}))
        names += page.get("CrawlerNames", [])
        token = page.get("NextToken")
        if not token:
            return sorted(set(names))


def _page(items: list[Any], params: dict[str, Any], default: int = 100) -> tuple[list[Any], str | None]:
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise AwsError("InvalidInputException",
                       "NextToken is not one this endpoint issued; repeat the call without it.") from None
    size = int(params.get("MaxResults") or default)
    chunk = items[start : start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return chunk, nxt


# ----------------------------------------------------------------------------- views
def _last_crawl(rec: dict[str, Any]) -> dict[str, Any] | None:
    done = [c for c in rec["crawls"] if c["State"] != "RUNNING"]
    if not done:
        return None
    c = done[-1]
    out = {"Status": c["Status"], "LogGroup": c["LogGroup"], "LogStream": c["LogStream"],
           "MessagePrefix": c["CrawlId"], "StartTime": c["StartTime"]}
    if c.get("ErrorMessage"):
        out["ErrorMessage"] = c["ErrorMessage"]
    return out


def _merged(definition: dict[str, Any], rec: dict[str, Any] | None, key: str) -> dict[str, Any]:
    out = dict(definition)
    out.pop("LastCrawl", None)
    live = _LIVE.get(key)
    state = live.state if live is not None and live.state != "READY" else (rec or {}).get("state", "READY")
    out["State"] = state
    out["CrawlElapsedTime"] = 0
    if rec and state != "READY" and rec["crawls"]:
        started = rec["crawls"][-1]["StartTime"]
        out["CrawlElapsedTime"] = int((_now() - started).total_seconds() * 1000)
    last = _last_crawl(rec) if rec else None
    if last:
        out["LastCrawl"] = last
    return out


def _metrics(rec: dict[str, Any] | None, name: str, key: str) -> dict[str, Any]:
    m = dict((rec or {}).get("metrics") or _zero_metrics(name))
    runtimes = (rec or {}).get("runtimes") or []
    m["MedianRuntimeSeconds"] = round(statistics.median(runtimes), 3) if runtimes else 0.0
    live = _LIVE.get(key)
    if live is not None and rec and rec["crawls"]:
        elapsed = (_now() - rec["crawls"][-1]["StartTime"]).total_seconds()
        p = live.progress
        total, read = p.get("files_total", 0), p.get("files_read", 0)
        if total and read:
            m["StillEstimating"] = False
            m["TimeLeftSeconds"] = round(max(elapsed * (total - read) / read, 0.0), 3)
        elif runtimes:
            m["StillEstimating"] = False
            m["TimeLeftSeconds"] = round(max(statistics.median(runtimes) - elapsed, 0.0), 3)
        else:
            m["StillEstimating"] = True
            m["TimeLeftSeconds"] = 0.0
    else:
        m["StillEstimating"] = False
        m["TimeLeftSeconds"] = 0.0
    return m


def _summary(result: CrawlResult) -> str:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for kind, action, n in (
        ("TABLE", "ADD", len(result.tables_created)),
        ("TABLE", "UPDATE", len(result.tables_updated)),
        ("TABLE", "DELETE", len(result.tables_deleted)),
        ("PARTITION", "ADD", result.partitions_created),
        ("PARTITION", "UPDATE", result.partitions_updated),
        ("PARTITION", "DELETE", result.partitions_deleted),
    ):
        if n:
            out.setdefault(kind, {})[action] = {"Count": n}
    return json.dumps(out)


# ----------------------------------------------------------------------------- executors
@operation("glue", "StartCrawler")
def start_crawler(req: AwsRequest) -> dict[str, Any]:
    """Start a crawl in the background; AWS answers at once too."""
    _reconcile()
    name = req.params.get("Name", "")
    definition = _definition(req, name)
    _start(definition, req.account_id, req.region, req.access_key_id, req.endpoint_url)
    return {}


def _start(definition: dict[str, Any], account: str, region: str, access_key: str,
           endpoint: str) -> str:
    name = definition["Name"]
    key = _key(account, region, name)
    with _MUTEX:
        rec = _record(key, name)
        if rec["state"] != "READY" or key in _LIVE:
            raise AwsError("CrawlerRunningException",
                           f"Crawler with name {name} has already started (state {rec['state']}): "
                           "wait until GetCrawler shows READY, or StopCrawler it first.")
        crawl = Crawl(definition, previous=rec.get("previous"))
        crawl_id = str(uuid.uuid4())
        rec["state"] = "RUNNING"
        rec["crawls"].append({
            "CrawlId": crawl_id, "State": "RUNNING", "Status": None, "StartTime": _now(),
            "EndTime": None, "Summary": None, "ErrorMessage": None, "LogGroup": LOG_GROUP,
            "LogStream": name, "DPUHour": 0.0,
        })
        del rec["crawls"][:-_HISTORY]
        _LIVE[key] = crawl
    thread = threading.Thread(
        target=_run, args=(key, crawl_id, crawl, region, access_key, endpoint),
        name=f"glue-crawler-{name}", daemon=True,
    )
    thread.start()
    return crawl_id


@operation("glue", "StopCrawler")
def stop_crawler(req: AwsRequest) -> dict[str, Any]:
    _reconcile()
    name = req.params.get("Name", "")
    _definition(req, name)
    key = _key(req.account_id, req.region, name)
    with _MUTEX:
        live = _LIVE.get(key)
        if live is None or live.state == "READY":
            raise AwsError("CrawlerNotRunningException",
                           f"Crawler with name {name} isn't running; nothing to stop "
                           "(StartCrawler starts it).")
        if live.state == "STOPPING":
            raise AwsError("CrawlerStoppingException",
                           f"Crawler with name {name} is already stopping; poll GetCrawler "
                           "until it is READY.")
        live.stop()
        CRAWLERS[key]["state"] = "STOPPING"
    return {}


@operation("glue", "GetCrawler")
def get_crawler(req: AwsRequest) -> dict[str, Any]:
    _reconcile()
    name = req.params.get("Name", "")
    definition = _definition(req, name)
    key = _key(req.account_id, req.region, name)
    with _MUTEX:
        return {"Crawler": _merged(definition, CRAWLERS.get(key), key)}


@operation("glue", "GetCrawlers")
def get_crawlers(req: AwsRequest) -> dict[str, Any]:
    _reconcile()
    names, nxt = _page(_all_names(req), req.params)
    defs = _definitions(req, names) if names else {}
    with _MUTEX:
        crawlers = [
            _merged(defs[n], CRAWLERS.get(_key(req.account_id, req.region, n)),
                    _key(req.account_id, req.region, n))
            for n in names if n in defs
        ]
    out: dict[str, Any] = {"Crawlers": crawlers}
    if nxt:
        out["NextToken"] = nxt
    return out


@operation("glue", "GetCrawlerMetrics")
def get_crawler_metrics(req: AwsRequest) -> dict[str, Any]:
    _reconcile()
    wanted = req.params.get("CrawlerNameList")
    names = sorted(set(wanted)) if wanted else _all_names(req)
    if wanted:
        known = _definitions(req, names)
        missing = [n for n in names if n not in known]
        if missing:
            raise AwsError("EntityNotFoundException",
                           f"Crawler entry with name {missing[0]} does not exist: check "
                           "CrawlerNameList against ListCrawlers.")
    names, nxt = _page(names, req.params, default=200)
    with _MUTEX:
        metrics = [
            _metrics(CRAWLERS.get(_key(req.account_id, req.region, n)), n,
                     _key(req.account_id, req.region, n))
            for n in names
        ]
    out: dict[str, Any] = {"CrawlerMetricsList": metrics}
    if nxt:
        out["NextToken"] = nxt
    return out


_FILTER_FIELDS = {"CRAWL_ID": "CrawlId", "STATE": "State", "START_TIME": "StartTime",
                  "END_TIME": "EndTime", "DPU_HOUR": "DPUHour"}
_OPS = {
    "GT": lambda a, b: a > b, "GE": lambda a, b: a >= b, "LT": lambda a, b: a < b,
    "LE": lambda a, b: a <= b, "EQ": lambda a, b: a == b, "NE": lambda a, b: a != b,
}


def _filter_value(field: str, raw: str) -> Any:
    if field in ("StartTime", "EndTime"):
        try:
            return datetime.fromtimestamp(float(raw), UTC)
        except ValueError:
            try:
                when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise AwsError("InvalidInputException",
                               f"FieldValue {raw!r} is not a time: give epoch seconds or "
                               "ISO-8601 (2024-01-31T10:00:00Z).") from None
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    if field == "DPUHour":
        try:
            return float(raw)
        except ValueError:
            raise AwsError("InvalidInputException",
                           f"FieldValue {raw!r} for DPU_HOUR is not a number.") from None
    return raw


def _matches(crawl: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    for f in filters:
        field = _FILTER_FIELDS.get(f.get("FieldName", ""))
        op = _OPS.get(f.get("FilterOperator", "EQ"))
        if field is None or op is None:
            raise AwsError("InvalidInputException",
                           f"Filter {f} is not valid: FieldName is one of {sorted(_FILTER_FIELDS)}, "
                           f"FilterOperator one of {sorted(_OPS)}.")
        have = crawl.get(field)
        want = _filter_value(field, str(f.get("FieldValue", "")))
        if have is None or not op(have, want):
            return False
    return True


@operation("glue", "ListCrawls")
def list_crawls(req: AwsRequest) -> dict[str, Any]:
    _reconcile()
    name = req.params.get("CrawlerName", "")
    _definition(req, name)
    filters = req.params.get("Filters") or []
    with _MUTEX:
        rec = CRAWLERS.get(_key(req.account_id, req.region, name))
        crawls = [dict(c) for c in reversed((rec or {}).get("crawls", []))]  # newest first
    crawls = [c for c in crawls if _matches(c, filters)]
    chunk, nxt = _page(crawls, req.params, default=20)
    out_crawls = []
    for c in chunk:
        item = {k: v for k, v in c.items() if v is not None and k != "Status"}
        out_crawls.append(item)
    out: dict[str, Any] = {"Crawls": out_crawls}
    if nxt:
        out["NextToken"] = nxt
    return out


@observer("glue", "DeleteCrawler")
def _deleted(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    """A deleted crawler loses its history (a new one with the same name starts fresh)."""
    key = _key(req.account_id, req.region, req.params.get("Name", ""))
    with _MUTEX:
        live = _LIVE.get(key)
        if live is not None:
            live.stop()
        CRAWLERS.pop(key, None)


observer("glue", "CreateCrawler")(_deleted)


# ----------------------------------------------------------------------------- the crawl
class _Log:
    """Buffered CloudWatch Logs writer for one crawl (best effort: a logging failure never
    fails the crawl; it is reported in the endpoint log)."""

    def __init__(self, logs: Any, stream: str, crawl_id: str) -> None:
        self.logs, self.stream, self.prefix = logs, stream, f"[{crawl_id}]"
        self.pending: list[dict[str, Any]] = []
        self.ready = False

    def add(self, level: str, text: str) -> None:
        ts = int(time.time() * 1000)
        if self.pending and ts < self.pending[-1]["timestamp"]:
            ts = self.pending[-1]["timestamp"]
        self.pending.append({"timestamp": ts, "message": f"{self.prefix} {level} : {text}"})

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            if not self.ready:
                for call, kw in ((self.logs.create_log_group, {"logGroupName": LOG_GROUP}),
                                 (self.logs.create_log_stream,
                                  {"logGroupName": LOG_GROUP, "logStreamName": self.stream})):
                    try:
                        call(**kw)
                    except ClientError as e:
                        if e.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                            raise
                self.ready = True
            for i in range(0, len(self.pending), 1000):
                self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=self.stream,
                                         logEvents=self.pending[i : i + 1000])
        except Exception:  # noqa: BLE001
            log.exception("could not write crawler logs to %s/%s", LOG_GROUP, self.stream)
        self.pending = []


def _client(endpoint: str, service: str, region: str, access_key: str) -> Any:
    return endpoint_client(endpoint, service, region, access_key)


def _run(key: str, crawl_id: str, crawl: Crawl, region: str, access_key: str,
         endpoint: str) -> None:
    """Thread body: whatever happens, the record ends READY with the crawl's outcome."""
    name = crawl.crawler["Name"]
    result: CrawlResult | None = None
    out: _Log | None = None
    try:
        role = _role_session(crawl.crawler, region, access_key, endpoint)
        if isinstance(role, str):
            result = CrawlResult(crawler_name=name, start_time=_now(), end_time=_now(), error=role)
        else:
            out = _Log(_role_client(endpoint, "logs", region, role), name, crawl_id)
            result = _crawl(crawl, out, region, access_key, endpoint, role)
    except Exception as e:  # noqa: BLE001 - reported as the crawl's ErrorMessage
        log.exception("crawler %s failed", name)
        result = CrawlResult(crawler_name=name, start_time=_now(), end_time=_now(),
                             error=f"internal crawler error {type(e).__name__}: {e}; see the "
                                   "endpoint log and re-run the crawler")
        if out is not None:
            out.add("ERROR", result.error or "")
    finally:
        _finish(key, crawl_id, crawl, result)
    if out is not None:
        # these calls are mutations: they also get the store into the next snapshot
        out.add("BENCHMARK", "Crawler has finished running and is in state READY")
        out.flush()
    status = result.status
    access_key = LOCAL_ACCESS_KEY  # Glue itself emits the event and fires triggers, not the caller
    _event(endpoint, region, access_key, name,
           {"SUCCEEDED": "Succeeded", "CANCELLED": "Cancelled"}.get(status, "Failed"),
           result.error or f"Crawler {status.lower()}")
    try:
        _fire_triggers(endpoint, region, access_key, crawler=(name, status))
    except Exception:  # noqa: BLE001
        log.exception("conditional triggers after crawler %s failed", name)


def _role_session(crawler: dict[str, Any], region: str, access_key: str,
                  endpoint: str) -> dict[str, str] | str:
    """The crawler role's credentials (Glue assumes the role as glue.amazonaws.com), or the
    crawl's ErrorMessage when it cannot."""
    role = crawler.get("Role") or ""
    if role and not role.startswith("arn:"):
        from moto.iam.models import get_account_id_from

        role = f"arn:aws:iam::{get_account_id_from(access_key)}:role/{role}"
    try:
        return role_credentials(_client(endpoint, "sts", region, access_key), role, "AWS-Crawler",
                                service="glue.amazonaws.com")
    except ClientError as exc:
        return (f"Service is unable to assume provided role {role or '(none)'}. Please verify role's "
                f"TrustPolicy ({exc.response['Error'].get('Message', exc)})")


def _role_client(endpoint: str, service: str, region: str, creds: dict[str, str]) -> Any:
    return endpoint_client(endpoint, service, region, creds["AWS_ACCESS_KEY_ID"],
                           secret=creds["AWS_SECRET_ACCESS_KEY"], session_token=creds["AWS_SESSION_TOKEN"])


def _crawl(crawl: Crawl, out: _Log, region: str, access_key: str, endpoint: str,
           role: dict[str, str]) -> CrawlResult:
    name = crawl.crawler["Name"]
    glue = _role_client(endpoint, "glue", region, role)
    s3 = _role_client(endpoint, "s3", region, role)
    out.add("BENCHMARK", f"Running Start Crawl for Crawler {name}")
    policy = crawl.crawler.get("SchemaChangePolicy") or {}
    out.add("INFO", "Crawler configured with SchemaChangePolicy "
                    f"{json.dumps(policy, sort_keys=True)}, RecrawlPolicy "
                    f"{json.dumps(crawl.crawler.get('RecrawlPolicy') or {}, sort_keys=True)}")
    out.flush()
    _event(endpoint, region, LOCAL_ACCESS_KEY, name, "Started", "Crawler Started")
    result = crawl.run(glue, s3, endpoint)
    db = crawl.crawler.get("DatabaseName", "")
    for t in result.tables_created:
        out.add("INFO", f"Created table {t} in database {db}")
    for t in result.tables_updated:
        out.add("INFO", f"Table {t} in database {db} has been updated with new schema")
    for t in result.tables_deleted:
        out.add("INFO", f"Deleted or deprecated table {t} in database {db}")
    if result.partitions_created or result.partitions_updated or result.partitions_deleted:
        out.add("INFO", f"Partitions: {result.partitions_created} created, "
                        f"{result.partitions_updated} updated, {result.partitions_deleted} deleted "
                        f"in database {db}")
    for m in result.messages:
        out.add("WARN" if m.startswith(("LOG", "could not")) else "INFO", m.strip())
    if result.error:
        out.add("ERROR", result.error)
    elif result.cancelled:
        out.add("INFO", "Crawler stopped by StopCrawler")
    else:
        out.add("BENCHMARK", f"Finished writing to Catalog ({result.files_crawled} files crawled)")
    return result


def _finish(key: str, crawl_id: str, crawl: Crawl, result: CrawlResult | None) -> None:
    if result is None:
        result = CrawlResult(crawler_name=crawl.crawler["Name"], start_time=_now(),
                             end_time=_now(), error="the crawl thread ended unexpectedly; "
                             "see the endpoint log and re-run the crawler")
    status = result.status
    with runtime.state_lock().shared(), _MUTEX:
        rec = CRAWLERS.get(key)
        if rec is not None:  # None: deleted while running
            entry = next((c for c in rec["crawls"] if c["CrawlId"] == crawl_id), None)
            seconds = round(result.duration_seconds, 3)
            if entry is not None:
                entry.update(
                    State={"SUCCEEDED": "COMPLETED", "CANCELLED": "STOPPED"}.get(status, "FAILED"),
                    Status=status, EndTime=result.end_time or _now(), Summary=_summary(result),
                    ErrorMessage=result.error, DPUHour=round(seconds / 3600, 6),
                )
            if status != "FAILED" or result.state.get("crawled_folders"):
                rec["previous"] = result.state
            if status == "SUCCEEDED":
                rec["runtimes"] = (rec["runtimes"] + [seconds])[-_HISTORY:]
            m = result.metrics()
            m["LastRuntimeSeconds"] = seconds
            rec["metrics"] = m
            rec["state"] = "READY"
        if _LIVE.get(key) is crawl:
            del _LIVE[key]


def _event(endpoint: str, region: str, access_key: str, name: str, state: str, msg: str) -> None:
    """EventBridge "Glue Crawler State Change", like AWS (best effort)."""
    try:
        _client(endpoint, "events", region, access_key).put_events(Entries=[{
            "Source": "aws.glue", "DetailType": "Glue Crawler State Change",
            "Detail": json.dumps({"crawlerName": name, "state": state, "message": msg}),
        }])
    except Exception:  # noqa: BLE001
        log.exception("could not put the crawler state event for %s", name)


# ----------------------------------------------------------------------------- triggers
def _all_triggers(glue: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while True:
        page = glue.get_triggers(**({"NextToken": token} if token else {}))
        out += page.get("Triggers", [])
        token = page.get("NextToken")
        if not token:
            return out


def _latest_job_state(glue: Any, job: str) -> str | None:
    try:
        runs = glue.get_job_runs(JobName=job).get("JobRuns", [])
    except ClientError:
        return None
    runs = sorted(runs, key=lambda r: r.get("StartedOn") or datetime.min.replace(tzinfo=UTC))
    return runs[-1].get("JobRunState") if runs else None


def _latest_crawl_state(account: str, region: str, crawler: str) -> str | None:
    with _MUTEX:
        rec = CRAWLERS.get(_key(account, region, crawler)) or {}
        last = _last_crawl(rec) if rec else None
    return last["Status"] if last else None


def _condition_met(cond: dict[str, Any], glue: Any, account: str, region: str,
                   job: tuple[str, str] | None, crawler: tuple[str, str] | None) -> bool:
    if cond.get("LogicalOperator", "EQUALS") != "EQUALS":
        return False
    if cond.get("JobName"):
        if job and cond["JobName"] == job[0]:
            return cond.get("State") == job[1]
        return cond.get("State") == _latest_job_state(glue, cond["JobName"])
    if cond.get("CrawlerName"):
        if crawler and cond["CrawlerName"] == crawler[0]:
            return cond.get("CrawlState") == crawler[1]
        return cond.get("CrawlState") == _latest_crawl_state(account, region, cond["CrawlerName"])
    return False


def _fire_triggers(endpoint: str, region: str, access_key: str, *,
                   job: tuple[str, str] | None = None,
                   crawler: tuple[str, str] | None = None) -> list[str]:
    """Run the actions of ACTIVATED CONDITIONAL triggers that ``job`` / ``crawler`` (name,
    final state) satisfies. Crawler actions go through StartCrawler, job actions through
    StartJobRun (loopback). Returns what was started, e.g. ``['crawler:lake']``."""
    from lakekit.local.gateway import DEFAULT_ACCOUNT

    glue = _client(endpoint, "glue", region, access_key)
    try:
        from moto.iam.models import get_account_id_from

        account = get_account_id_from(access_key)
    except Exception:  # noqa: BLE001
        account = DEFAULT_ACCOUNT
    started: list[str] = []
    for trig in _all_triggers(glue):
        if trig.get("Type") != "CONDITIONAL" or trig.get("State") != "ACTIVATED":
            continue
        pred = trig.get("Predicate") or {}
        conds = pred.get("Conditions") or []
        watches = any(
            (job and c.get("JobName") == job[0]) or (crawler and c.get("CrawlerName") == crawler[0])
            for c in conds
        )
        if not watches:
            continue
        met = [_condition_met(c, glue, account, region, job, crawler) for c in conds]
        if not (any(met) if pred.get("Logical") == "ANY" else all(met)):
            continue
        for action in trig.get("Actions") or []:
            try:
                if action.get("CrawlerName"):
                    glue.start_crawler(Name=action["CrawlerName"])
                    started.append(f"crawler:{action['CrawlerName']}")
                elif action.get("JobName"):
                    kw: dict[str, Any] = {"JobName": action["JobName"]}
                    if action.get("Arguments"):
                        kw["Arguments"] = action["Arguments"]
                    glue.start_job_run(**kw)
                    started.append(f"job:{action['JobName']}")
            except ClientError as e:
                log.warning("trigger %s: action %s not started: %s", trig.get("Name"), action,
                            e.response["Error"].get("Message"))
    return started


def on_glue_job_state(job_name: str, state: str, run_id: str, *, region: str = "us-east-1",
                      access_key: str = "test", endpoint_url: str | None = None) -> list[str]:
    """A Glue job run ended in ``state`` (SUCCEEDED | FAILED | TIMEOUT | STOPPED): start the
    crawlers (and jobs) of ACTIVATED CONDITIONAL triggers whose predicate watches it.

    Called by the Glue job runner inside the endpoint; works from any process when
    ``endpoint_url`` is given (every step is an API call). Returns what was started::

        >>> on_glue_job_state("etl", "SUCCEEDED", "jr_1")    # doctest: +SKIP
        ['crawler:lake-processed']
    """
    url = endpoint_url or runtime.endpoint_url()
    if not url:
        raise RuntimeError("on_glue_job_state needs the endpoint URL: call it inside the "
                           "endpoint or pass endpoint_url=")
    started = _fire_triggers(url, region, access_key, job=(job_name, state))
    log.info("job %s run %s %s: started %s", job_name, run_id, state, started or "nothing")
    return started


def on_glue_crawler_state(crawler_name: str, status: str, *, region: str = "us-east-1",
                          access_key: str = "test", endpoint_url: str | None = None) -> list[str]:
    """Same as :func:`on_glue_job_state` for a crawl that ended (SUCCEEDED | FAILED |
    CANCELLED); called automatically at the end of every crawl."""
    url = endpoint_url or runtime.endpoint_url()
    return _fire_triggers(url, region, access_key, crawler=(crawler_name, status))
