"""Run one Athena query and get its rows plus what it cost (works on AWS and locally).

:func:`query` starts the query in a workgroup, waits with a bounded progress bar, and
returns the result as a DataFrame together with :class:`QueryStats` (data scanned, run
time, cost). A query that ends ``FAILED`` or ``CANCELLED`` raises :class:`QueryFailed`
carrying Athena's ``StateChangeReason``.

Every finished query (SUCCEEDED, FAILED or CANCELLED: all are billed for what they read) is
also published as the pipeline's custom metric ``QueryBytes`` (namespace ``lakekit``, dimension
``Prefix``; :data:`lakekit.pipeline.CUSTOM_METRICS`) = its ``DataScannedInBytes``, with
PutMetricData and the caller's own credentials. A principal without ``cloudwatch:PutMetricData``
(the analyst roles) still gets its rows: the refusal is logged once and the query goes on.

Example::

    >>> df, stats = query("SELECT carrier, count(*) AS n FROM flights GROUP BY 1",
    ...                   database="lakekit_lake", workgroup="lakekit-engineers")  # doctest: +SKIP
    >>> print(stats)                                                               # doctest: +SKIP
    SUCCEEDED in 0.4 s: scanned 205.3 KB -> $0.0000477 at $5.0/TB (10 MB minimum)
"""
from __future__ import annotations

import datetime as _dt
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from lakekit.config import settings as _settings
from lakekit.exceptions import LakekitError
from lakekit.polling import interval
from lakekit.session import client as _client
from lakekit.session import session as _session
from lakekit.waiters import wait_for

log = logging.getLogger(__name__)

__all__ = ["QueryStats", "QueryFailed", "query", "publish_query_bytes", "cost_usd", "human_bytes",
           "FINAL_STATES"]

FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
_MB = 1024**2
_TB = 1024**4


#: seconds between GetQueryExecution calls: AWS, and the embedded local endpoint (on loopback,
#: where a small query ends within tens of milliseconds and a call costs well under one)
POLL_INTERVAL_AWS, POLL_INTERVAL_LOCAL = 0.25, 0.05


def poll_interval(client: Any) -> float:
    """How often :func:`query` asks ``client`` for the state (:mod:`lakekit.polling`)."""
    return interval(client, aws=POLL_INTERVAL_AWS, local=POLL_INTERVAL_LOCAL)


def cost_usd(scanned_bytes: int, price_per_tb: float = 5.0) -> float:
    """What Athena bills for one query: bytes rounded up to the MB, at least 10 MB.

    >>> round(cost_usd(1), 8), round(cost_usd(50 * 1024**2), 8)
    (4.768e-05, 0.00023842)
    """
    if scanned_bytes <= 0:  # DDL and failed-before-reading queries are free
        return 0.0
    billed = max(math.ceil(scanned_bytes / _MB), 10) * _MB
    return billed / _TB * price_per_tb


def human_bytes(n: int) -> str:
    """``1536 -> '1.5 KB'`` (binary units, like the Athena console)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover


@dataclass
class QueryStats:
    """One execution as the console's *Recent queries* tab shows it."""

    query_id: str
    state: str
    workgroup: str
    data_scanned_bytes: int
    engine_ms: int
    total_ms: int
    cost_usd: float
    price_per_tb: float
    output_location: str | None
    reason: str = ""

    @classmethod
    def from_execution(cls, qe: dict[str, Any], price_per_tb: float = 5.0) -> QueryStats:
        st = qe.get("Statistics") or {}
        scanned = int(st.get("DataScannedInBytes") or 0)
        return cls(qe["QueryExecutionId"], qe["Status"]["State"], qe.get("WorkGroup", ""), scanned,
                   int(st.get("EngineExecutionTimeInMillis") or 0), int(st.get("TotalExecutionTimeInMillis") or 0),
                   cost_usd(scanned, price_per_tb), price_per_tb,
                   (qe.get("ResultConfiguration") or {}).get("OutputLocation"),
                   qe["Status"].get("StateChangeReason", ""))

    def as_dict(self) -> dict[str, Any]:
        """A row for a comparison table (``pd.DataFrame([s.as_dict() for s in ...])``)."""
        return {"query_id": self.query_id, "state": self.state, "workgroup": self.workgroup,
                "scanned_bytes": self.data_scanned_bytes, "scanned": human_bytes(self.data_scanned_bytes),
                "cost_usd": self.cost_usd, "engine_ms": self.engine_ms}

    def __str__(self) -> str:
        return (f"{self.state} in {self.total_ms / 1000:.1f} s: scanned {human_bytes(self.data_scanned_bytes)}"
                f" -> ${self.cost_usd:.7f} at ${self.price_per_tb}/TB (10 MB minimum)")


class QueryFailed(LakekitError):
    """An Athena query ended FAILED or CANCELLED; ``stats.reason`` is Athena's StateChangeReason."""

    def __init__(self, stats: QueryStats, sql: str) -> None:
        self.stats, self.sql = stats, sql
        super().__init__(
            f"Athena query {stats.query_id} in workgroup {stats.workgroup} ended {stats.state}: "
            f"{(stats.reason or '(no reason given)').rstrip('.')}. Fix the SQL (or pick a workgroup whose limits fit "
            f"the query) and run it again; the console's Recent queries tab shows the same execution.")


_WARNED: set[tuple[str, str]] = set()
_WARNED_LOCK = threading.Lock()


def _cloudwatch_like(athena: Any, boto3_session: Any) -> Any:
    """A CloudWatch client with the credentials, region and endpoint the Athena client uses."""
    sess = boto3_session
    if sess is None:
        creds = getattr(getattr(athena, "_request_signer", None), "_credentials", None)
        frozen = creds.get_frozen_credentials() if creds is not None else None
        sess = boto3.session.Session(
            aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
            aws_session_token=frozen.token) if frozen else _session()
    url = athena.meta.endpoint_url
    standard = url.rstrip("/").endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))
    return sess.client("cloudwatch", region_name=athena.meta.region_name,
                       **({} if standard else {"endpoint_url": url}))


def publish_query_bytes(qe: dict[str, Any], cloudwatch: Any, prefix: str | None = None) -> bool:
    """PutMetricData ``QueryBytes`` = ``DataScannedInBytes`` of the finished execution ``qe``
    (timestamp: its completion time). Never raises: a refusal (no cloudwatch:PutMetricData) or an
    unreachable CloudWatch is logged once per caller and error; returns whether it was put."""
    from lakekit import pipeline

    prefix = prefix or _settings().prefix
    scanned = int((qe.get("Statistics") or {}).get("DataScannedInBytes") or 0)
    when = qe.get("Status", {}).get("CompletionDateTime") or _dt.datetime.now(_dt.UTC)
    metric = pipeline.CUSTOM_METRICS["QueryBytes"]
    try:
        cloudwatch.put_metric_data(Namespace=pipeline.METRIC_NAMESPACE, MetricData=[{
            "MetricName": metric.name, "Dimensions": pipeline.metric_dimensions(prefix),
            "Value": float(scanned), "Unit": metric.unit, "Timestamp": when}])
        return True
    except (ClientError, BotoCoreError) as exc:
        code = exc.response["Error"].get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        said = exc.response["Error"].get("Message", "") if isinstance(exc, ClientError) else str(exc)
        creds = getattr(getattr(cloudwatch, "_request_signer", None), "_credentials", None)
        who = getattr(creds, "access_key", "") or ""
        with _WARNED_LOCK:
            first = (who, code) not in _WARNED
            _WARNED.add((who, code))
        (log.warning if first else log.debug)(
            "the query's result is fine, but its QueryBytes metric (%s bytes, query %s) was not "
            "published: %s%s. Grant this principal cloudwatch:PutMetricData on the lakekit "
            "namespace to see it on the pipeline dashboard, or pass publish_metrics=False.%s",
            scanned, qe.get("QueryExecutionId"), code, f" ({said})" if said else "",
            "" if first else " (repeated)")
        return False


def query(sql: str, database: str, workgroup: str = "primary", *, timeout: float = 300.0,
          price_per_tb: float = 5.0, progress: bool = True, athena: Any = None,
          boto3_session: Any = None, publish_metrics: bool = True,
          prefix: str | None = None) -> tuple[pd.DataFrame, QueryStats]:
    """Run ``sql`` in ``workgroup`` against ``database``; return ``(rows, stats)``.

    Waits at most ``timeout`` s (progress bar). Raises :class:`QueryFailed` when Athena
    ends the query FAILED/CANCELLED. DDL statements return their text output (often empty).
    ``athena``/``boto3_session``: another client or session (e.g. an assumed role's).
    ``publish_metrics``: put ``QueryBytes`` for the finished query (see the module docstring)
    with the dimension ``Prefix`` = ``prefix`` (default: LAKEKIT_PREFIX).
    """
    athena = athena or _client("athena", sess=boto3_session)
    qid = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup,
                                       QueryExecutionContext={"Database": database})["QueryExecutionId"]
    done = wait_for(lambda: athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"],
                    lambda qe: qe["Status"]["State"], FINAL_STATES, timeout=timeout,
                    interval=poll_interval(athena),
                    desc=f"athena {qid[:8]}", progress=progress,
                    hint=f"Stop it with athena.stop_query_execution(QueryExecutionId='{qid}') or wait longer.")
    stats = QueryStats.from_execution(done.value, price_per_tb)
    if publish_metrics:
        publish_query_bytes(done.value, _cloudwatch_like(athena, boto3_session), prefix)
    if stats.state != "SUCCEEDED":
        raise QueryFailed(stats, sql)
    return _rows(athena, qid, done.value.get("StatementType", ""), boto3_session), stats


def _rows(athena: Any, qid: str, statement_type: str, boto3_session: Any) -> pd.DataFrame:
    if statement_type == "DML":  # typed rows from the result CSV, like read_sql_query
        import awswrangler as wr

        return wr.athena.get_query_results(qid, boto3_session=boto3_session or _session())
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
        rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
    return pd.DataFrame({"result": [r[0] for r in rows if r]})
