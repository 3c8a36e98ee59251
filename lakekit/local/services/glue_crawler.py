"""Glue crawlers that really crawl: StartCrawler / StopCrawler / GetCrawler(s) /
GetCrawlerMetrics / ListCrawls, crawler logs, and triggers that start crawlers.

The crawler *definition* stays in moto (CreateCrawler / UpdateCrawler / DeleteCrawler /
BatchGetCrawlers / ListCrawlers pass through). What moto only pretends, this module does:

* **StartCrawler** reads the definition (BatchGetCrawlers, loopback), answers at once and
  runs :class:`lakekit.local.glue.crawler.Crawl` on a worker of :data:`CRAWLS` with loopback
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
  MedianRuntimeSeconds over the crawls that succeeded, StillEstimating/TimeLeftSeconds from
  progress) and **ListCrawls** (CrawlId, State RUNNING | COMPLETED | STOPPED | FAILED,
  StartTime, EndTime, Summary JSON, ErrorMessage, LogGroup, LogStream, MessagePrefix, DPUHour;
  Filters supported, START_TIME / END_TIME in epoch milliseconds as the API documents).
* Logs go to CloudWatch Logs ``/aws-glue/crawlers``, stream = crawler name, with Glue's
  line shapes (``[<crawl id>] BENCHMARK : Running Start Crawl for Crawler x``...).
* A "Glue Crawler State Change" event (source ``aws.glue``) goes to EventBridge at start
  and end, like AWS.
* :func:`on_glue_job_state` (called by the Glue job runner when a run ends) starts the
  crawlers of ACTIVATED CONDITIONAL triggers whose predicate watches that job's state;
  the end of a crawl does the same for triggers that watch a crawler (``CrawlState``).

Every crawl is a run of :data:`CRAWLS` (a :class:`lakekit.local.runs.RunStore`,
``glue.crawls``, keyed by account, region and crawl id; the ListCrawls shape, states RUNNING,
STOPPING, COMPLETED, STOPPED, FAILED). The crawler's State is its newest crawl's (READY when
none is in flight). The engine's ``previous`` state (for ``CRAWL_NEW_FOLDERS_ONLY``) lives in
``store("glue.crawlers")``. A crawl cut short by an endpoint restart is FAILED ("interrupted by
endpoint restart"), or CANCELLED when a StopCrawler had asked it to stop, on the next request.

Example (any boto3 client bound to the endpoint)::

    glue.start_crawler(Name="lake")
    glue.get_crawler(Name="lake")["Crawler"]["State"]          # 'RUNNING' ... 'READY'
    glue.get_crawler(Name="lake")["Crawler"]["LastCrawl"]["Status"]   # 'SUCCEEDED'
"""

from __future__ import annotations

import atexit
import json
import logging
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from lakekit.config import LOCAL_ACCESS_KEY
from lakekit.local import runtime
from lakekit.local._clients import credentials_client, endpoint_client, role_credentials
from lakekit.local.glue.crawler import Crawl, CrawlResult
from lakekit.local.persistence import store
from lakekit.local.registry import AwsError, AwsRequest, observer, operation
from lakekit.local.runs import Control, Lifecycle, RunStore

__all__ = ["CRAWLS", "CRAWLERS", "LOG_GROUP", "on_glue_job_state", "on_glue_crawler_state"]

log = logging.getLogger("lakekit.local.glue_crawler")

LOG_GROUP = "/aws-glue/crawlers"
WORKERS = 16
"""Crawls that run at once; more wait RUNNING (AWS runs distinct crawlers up to its quotas)."""
_HISTORY = 100  # crawls kept per crawler (AWS keeps 12 months)
_INTERRUPTED = (
    "interrupted by endpoint restart: the crawl did not finish and the catalog may hold "
    "part of its changes; start the crawler again"
)
_INTERRUPTED_STOP = (
    "interrupted by endpoint restart while stopping (StopCrawler): the catalog may hold part "
    "of the crawl's changes; start the crawler again"
)
#: LastCrawl.Status of a final crawl state
_STATUS = {"COMPLETED": "SUCCEEDED", "STOPPED": "CANCELLED", "FAILED": "FAILED"}


def _now() -> datetime:
    return datetime.now(UTC)


def _restart_state(rec: dict[str, Any]) -> str:
    """What a restart leaves of a crawl in flight: a stop that was asked for is honoured."""
    return "STOPPED" if rec.get("State") == "STOPPING" else "FAILED"


def _restarted(rec: dict[str, Any], now: float) -> None:
    rec["_status"] = _STATUS[rec["State"]]
    rec["ErrorMessage"] = _INTERRUPTED if rec["State"] == "FAILED" else _INTERRUPTED_STOP
    rec["EndTime"] = datetime.fromtimestamp(now, UTC)
    rec["_metrics"] = _zero_metrics(rec["_crawler"])
    rec["_seconds"] = round(max(0.0, now - rec["StartTime"].timestamp()), 3)


CRAWLS = RunStore("glue.crawls", Lifecycle(active={"RUNNING", "STOPPING"},
                                           final={"COMPLETED", "STOPPED", "FAILED"},
                                           restart_state="FAILED"),
                  state=("State",), workers=WORKERS, on_restart=_restarted, restart=_restart_state)
"""``account|region|CrawlId`` -> the ListCrawls ``CrawlerHistory`` shape plus private fields:
``_crawler`` (name), ``_status`` (LastCrawl Status), ``_metrics`` (that crawl's
GetCrawlerMetrics entry) and ``_seconds`` (its runtime)."""

CRAWLERS = store("glue.crawlers")
"""``account|region|name`` -> {"previous": the engine's state for the next crawl}."""

atexit.register(CRAWLS.stop_all)


# ----------------------------------------------------------------------------- records
def _key(account: str, region: str, name: str) -> str:
    return f"{account}|{region}|{name}"


def _crawls(account: str, region: str, name: str) -> list[dict[str, Any]]:
    """The crawler's crawls, oldest first."""
    return CRAWLS.records(account, region, lambda r: r.get("_crawler") == name)


def _in_flight(account: str, region: str, name: str) -> dict[str, Any] | None:
    return next((c for c in reversed(_crawls(account, region, name)) if CRAWLS.is_active(c)), None)


def _adopt_legacy() -> None:
    """Snapshots written before crawls were runs kept them in ``glue.crawlers[...]["crawls"]``."""
    for key, rec in list(CRAWLERS.items()):
        if "crawls" not in rec:
            continue
        account, region, name = key.split("|", 2)
        for c in rec["crawls"]:
            status = c.pop("Status", None)
            item = {**c, "_crawler": name, "MessagePrefix": c["CrawlId"],
                    "_status": status or _STATUS.get(c["State"]), "_metrics": _zero_metrics(name),
                    "_seconds": 0.0}
            CRAWLS.add(account, region, c["CrawlId"], item, control=False)
        if rec.get("metrics") and rec["crawls"]:
            CRAWLS.get(account, region, rec["crawls"][-1]["CrawlId"])["_metrics"] = rec["metrics"]
        CRAWLERS[key] = {"previous": rec.get("previous")}


@runtime.once
def _recover() -> None:
    """Crawls in flight when the endpoint stopped end FAILED (CANCELLED when stopping)."""
    with runtime.state_lock().shared(), CRAWLS.lock:
        _adopt_legacy()
        CRAWLS.recover()


def _zero_metrics(name: str) -> dict[str, Any]:
    return {"CrawlerName": name, "TimeLeftSeconds": 0.0, "StillEstimating": False,
            "LastRuntimeSeconds": 0.0, "MedianRuntimeSeconds": 0.0,
            "TablesCreated": 0, "TablesUpdated": 0, "TablesDeleted": 0}


def _internal_glue(req: AwsRequest) -> Any:
    """Loopback client for reads the executors make on their own behalf: AWS does not ask the
    caller of StartCrawler/GetCrawler for glue:BatchGetCrawlers or glue:ListCrawlers."""
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
def _last_crawl(crawls: list[dict[str, Any]]) -> dict[str, Any] | None:
    done = [c for c in crawls if CRAWLS.is_final(c)]
    if not done:
        return None
    c = done[-1]
    out = {"Status": c["_status"], "LogGroup": c["LogGroup"], "LogStream": c["LogStream"],
           "MessagePrefix": c["CrawlId"], "StartTime": c["StartTime"]}
    if c.get("ErrorMessage"):
        out["ErrorMessage"] = c["ErrorMessage"]
    return out


def _merged(definition: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    crawls = _crawls(account, region, definition["Name"])
    out = dict(definition)
    out.pop("LastCrawl", None)
    live = next((c for c in reversed(crawls) if CRAWLS.is_active(c)), None)
    out["State"] = live["State"] if live is not None else "READY"
    out["CrawlElapsedTime"] = 0
    if live is not None:
        out["CrawlElapsedTime"] = int((_now() - live["StartTime"]).total_seconds() * 1000)
    last = _last_crawl(crawls)
    if last:
        out["LastCrawl"] = last
    return out


def _metrics(account: str, region: str, name: str) -> dict[str, Any]:
    crawls = _crawls(account, region, name)
    done = [c for c in crawls if CRAWLS.is_final(c)]
    m = dict(done[-1]["_metrics"]) if done else _zero_metrics(name)
    runtimes = [c["_seconds"] for c in done if c["_status"] == "SUCCEEDED"]
    m["MedianRuntimeSeconds"] = round(statistics.median(runtimes), 3) if runtimes else 0.0
    m["StillEstimating"], m["TimeLeftSeconds"] = False, 0.0
    live = next((c for c in reversed(crawls) if CRAWLS.is_active(c)), None)
    control = CRAWLS.control(account, region, live["CrawlId"]) if live is not None else None
    crawl = control.handle if control is not None else None
    if live is not None and isinstance(crawl, Crawl):
        elapsed = (_now() - live["StartTime"]).total_seconds()
        p = crawl.progress
        total, read = p.get("files_total", 0), p.get("files_read", 0)
        if total and read:
            m["TimeLeftSeconds"] = round(max(elapsed * (total - read) / read, 0.0), 3)
        elif runtimes:
            m["TimeLeftSeconds"] = round(max(statistics.median(runtimes) - elapsed, 0.0), 3)
        else:
            m["StillEstimating"] = True
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
    _recover()
    name = req.params.get("Name", "")
    definition = _definition(req, name)
    _start(definition, req.account_id, req.region, req.access_key_id, req.endpoint_url)
    return {}


def _start(definition: dict[str, Any], account: str, region: str, access_key: str,
           endpoint: str) -> str:
    name = definition["Name"]
    crawl_id = str(uuid.uuid4())
    with CRAWLS.lock:
        live = _in_flight(account, region, name)
        if live is not None:
            raise AwsError("CrawlerRunningException",
                           f"Crawler with name {name} has already started (state {live['State']}): "
                           "wait until GetCrawler shows READY, or StopCrawler it first.")
        previous = (CRAWLERS.get(_key(account, region, name)) or {}).get("previous")
        CRAWLS.add(account, region, crawl_id, {
            "CrawlId": crawl_id, "State": "RUNNING", "StartTime": _now(), "EndTime": None,
            "Summary": None, "ErrorMessage": None, "LogGroup": LOG_GROUP, "LogStream": name,
            "MessagePrefix": crawl_id, "DPUHour": 0.0, "_crawler": name, "_status": None,
            "_metrics": None, "_seconds": 0.0,
        })
        for old in _crawls(account, region, name)[:-_HISTORY]:
            CRAWLS.pop(account, region, old["CrawlId"])

    def work(control: Control) -> None:
        crawl = control.handle = Crawl(definition, previous=previous)
        control.on_stop(crawl.stop)  # at once when StopCrawler came in meanwhile
        _run(account, crawl_id, crawl, region, access_key, endpoint)

    CRAWLS.launch(account, region, crawl_id, work)
    return crawl_id


@operation("glue", "StopCrawler")
def stop_crawler(req: AwsRequest) -> dict[str, Any]:
    _recover()
    name = req.params.get("Name", "")
    _definition(req, name)
    with CRAWLS.lock:
        live = _in_flight(req.account_id, req.region, name)
        if live is None:
            raise AwsError("CrawlerNotRunningException",
                           f"Crawler with name {name} isn't running; nothing to stop "
                           "(StartCrawler starts it).")
        if live["State"] == "STOPPING":
            raise AwsError("CrawlerStoppingException",
                           f"Crawler with name {name} is already stopping; poll GetCrawler "
                           "until it is READY.")
        CRAWLS.transition(live, "STOPPING")
    CRAWLS.stop(req.account_id, req.region, live["CrawlId"])
    return {}


@operation("glue", "GetCrawler")
def get_crawler(req: AwsRequest) -> dict[str, Any]:
    _recover()
    definition = _definition(req, req.params.get("Name", ""))
    with CRAWLS.lock:
        return {"Crawler": _merged(definition, req.account_id, req.region)}


@operation("glue", "GetCrawlers")
def get_crawlers(req: AwsRequest) -> dict[str, Any]:
    _recover()
    names, nxt = _page(_all_names(req), req.params)
    defs = _definitions(req, names) if names else {}
    with CRAWLS.lock:
        crawlers = [_merged(defs[n], req.account_id, req.region) for n in names if n in defs]
    out: dict[str, Any] = {"Crawlers": crawlers}
    if nxt:
        out["NextToken"] = nxt
    return out


@operation("glue", "GetCrawlerMetrics")
def get_crawler_metrics(req: AwsRequest) -> dict[str, Any]:
    _recover()
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
    with CRAWLS.lock:
        metrics = [_metrics(req.account_id, req.region, n) for n in names]
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
    if field in ("StartTime", "EndTime"):  # "The epoch timestamp in milliseconds" (the API)
        try:
            return datetime.fromtimestamp(float(raw) / 1000, UTC)
        except ValueError:
            raise AwsError("InvalidInputException",
                           f"FieldValue {raw!r} for START_TIME / END_TIME is not a time: give "
                           "epoch milliseconds (1706695200000).") from None
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


def _history_view(rec: dict[str, Any]) -> dict[str, Any]:
    """A crawl as ListCrawls returns it: a crawl being stopped is still RUNNING there (the
    CrawlerHistoryState enum has no STOPPING)."""
    out = {k: v for k, v in rec.items() if v is not None and not k.startswith("_")}
    if out["State"] == "STOPPING":
        out["State"] = "RUNNING"
    return out


@operation("glue", "ListCrawls")
def list_crawls(req: AwsRequest) -> dict[str, Any]:
    _recover()
    name = req.params.get("CrawlerName", "")
    _definition(req, name)
    filters = req.params.get("Filters") or []
    with CRAWLS.lock:
        crawls = [_history_view(c) for c in reversed(_crawls(req.account_id, req.region, name))]
    crawls = [c for c in crawls if _matches(c, filters)]  # newest first
    chunk, nxt = _page(crawls, req.params, default=20)
    out: dict[str, Any] = {"Crawls": chunk}
    if nxt:
        out["NextToken"] = nxt
    return out


@observer("glue", "DeleteCrawler")
def _deleted(req: AwsRequest, status: int, headers: dict[str, str]) -> None:
    """A deleted crawler loses its history (a new one with the same name starts fresh); a
    refused call (CreateCrawler of a name in use: AlreadyExistsException) changes nothing."""
    if status >= 300:
        return
    name = req.params.get("Name", "")
    with CRAWLS.lock:
        for c in _crawls(req.account_id, req.region, name):
            CRAWLS.stop(req.account_id, req.region, c["CrawlId"])
            CRAWLS.pop(req.account_id, req.region, c["CrawlId"])
        CRAWLERS.pop(_key(req.account_id, req.region, name), None)


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


def _run(account: str, crawl_id: str, crawl: Crawl, region: str, access_key: str,
         endpoint: str) -> None:
    """Worker body: whatever happens, the crawl ends final and the crawler READY."""
    name = crawl.crawler["Name"]
    result: CrawlResult | None = None
    out: _Log | None = None
    try:
        role = _role_session(crawl.crawler, region, access_key, endpoint)
        if isinstance(role, str):
            result = CrawlResult(crawler_name=name, start_time=_now(), end_time=_now(), error=role)
        else:
            out = _Log(credentials_client(endpoint, "logs", region, role), name, crawl_id)
            result = _crawl(crawl, out, region, access_key, endpoint, role)
    except Exception as e:  # noqa: BLE001 - reported as the crawl's ErrorMessage
        log.exception("crawler %s failed", name)
        result = CrawlResult(crawler_name=name, start_time=_now(), end_time=_now(),
                             error=f"internal crawler error {type(e).__name__}: {e}; see the "
                                   "endpoint log and re-run the crawler")
        if out is not None:
            out.add("ERROR", result.error or "")
    finally:
        _finish(account, region, crawl_id, crawl, result)
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


def _crawl(crawl: Crawl, out: _Log, region: str, access_key: str, endpoint: str,
           role: dict[str, str]) -> CrawlResult:
    name = crawl.crawler["Name"]
    glue = credentials_client(endpoint, "glue", region, role)
    s3 = credentials_client(endpoint, "s3", region, role)
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


def _finish(account: str, region: str, crawl_id: str, crawl: Crawl,
            result: CrawlResult | None) -> None:
    if result is None:
        result = CrawlResult(crawler_name=crawl.crawler["Name"], start_time=_now(),
                             end_time=_now(), error="the crawl thread ended unexpectedly; "
                             "see the endpoint log and re-run the crawler")
    status = result.status
    seconds = round(result.duration_seconds, 3)
    metrics = result.metrics()
    metrics["LastRuntimeSeconds"] = seconds

    def close(rec: dict[str, Any]) -> None:
        CRAWLS.transition(rec, {"SUCCEEDED": "COMPLETED", "CANCELLED": "STOPPED"}.get(status, "FAILED"))
        rec.update(_status=status, EndTime=result.end_time or _now(), Summary=_summary(result),
                   ErrorMessage=result.error, DPUHour=round(seconds / 3600, 6), _metrics=metrics,
                   _seconds=seconds)
        if status != "FAILED" or result.state.get("crawled_folders"):
            CRAWLERS[_key(account, region, rec["_crawler"])] = {"previous": result.state}

    CRAWLS.update(account, region, crawl_id, close)  # None: the crawler was deleted meanwhile


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
    with CRAWLS.lock:
        last = _last_crawl(_crawls(account, region, crawler))
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
