"""What this exact run would have cost on AWS, from the run's own statistics and list prices.

The usage comes from the services' APIs (Glue job runs and crawls, Athena query statistics,
Lambda ``REPORT`` lines, S3 object versions, the KMS key and the secret: see
:mod:`lakekit.cost.usage`), identical on AWS and on the local endpoint; the prices are the
us-east-1 list prices in :mod:`lakekit.cost.prices`. Free tiers are not subtracted.

Example (a notebook's last cell)::

    >>> from lakekit import cost                          # doctest: +SKIP
    >>> step = cost.running_total()                       # doctest: +SKIP
    >>> print(step.line)                                  # doctest: +SKIP
    this notebook: $0.0293; workshop so far: $0.1290 (us-east-1 list prices of 2025-06-01, ...)
    >>> cost.summary(prefix="ana-01")                     # doctest: +SKIP
    service          usage   unit         usd   detail
    Glue job runs    0.0667  DPU-hours    0.0293 2 runs
    ...
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lakekit.config import Settings, settings
from lakekit.cost import prices, usage
from lakekit.cost.prices import PRICES, PRICES_DATE, Prices
from lakekit.cost.usage import Lake, Window

log = logging.getLogger(__name__)

__all__ = ["PRICES", "PRICES_DATE", "Prices", "Window", "Lake", "prices", "usage", "lake", "details",
           "summary", "summarize", "standing_cost", "usd", "notebook_started", "running_total", "RunningTotal",
           "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["service", "usage", "unit", "usd", "detail"]
_NOTE = f"us-east-1 list prices of {PRICES_DATE}, before the free tier"


def _clients(s: Settings):
    from lakekit.session import client, session

    sess = session(s)
    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            cache[name] = client(name, s, sess)
        return cache[name]

    return get


def lake(prefix: str | None = None, s: Settings | None = None) -> Lake:
    """The resources of the prefix's stacks (``<prefix>-datalake``, ``<prefix>-pipeline``)."""
    s = s or settings()
    if prefix:
        s = s.with_(prefix=prefix)
    return usage.lake(_clients(s), s.prefix)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def details(since: dt.datetime | None = None, prefix: str | None = None, until: dt.datetime | None = None,
            s: Settings | None = None, price_list: Prices = PRICES) -> dict[str, pd.DataFrame]:
    """The billed items of the window, one DataFrame per service (keys as in :func:`summary`).

    ``since`` defaults to the creation of ``<prefix>-datalake`` (the whole workshop so far),
    ``until`` to now. No stack: every frame is empty.
    """
    s = s or settings()
    if prefix:
        s = s.with_(prefix=prefix)
    get = _clients(s)
    found = usage.lake(get, s.prefix)
    until = until or _now()
    start = since or found.created or until
    window = Window(start, until)
    out = {
        "glue_jobs": usage.glue_job_runs(get("glue"), found.of("AWS::Glue::Job"), window, price_list),
        "crawls": usage.crawls(get("glue"), found.of("AWS::Glue::Crawler"), window, price_list),
        "athena": usage.athena_queries(get("athena"), found.of("AWS::Athena::WorkGroup"), window, price_list),
        "lambda": usage.lambda_invocations(get("logs"), get("lambda"), found.of("AWS::Lambda::Function"),
                                           window, price_list),
        "s3": usage.s3_storage(get("s3"), found.of("AWS::S3::Bucket"), window, price_list),
        "kms": usage.kms_keys(get("kms"), found.of("AWS::KMS::Key"), window, price_list),
        "secrets": usage.secrets(get("secretsmanager"), found.of("AWS::SecretsManager::Secret"), window,
                                 price_list),
        "stepfunctions": usage.state_machine_executions(
            get("stepfunctions"), found.of("AWS::StepFunctions::StateMachine"), window, price_list),
    }
    for frame in out.values():
        frame.attrs.update(since=window.since, until=window.until, prefix=s.prefix)
    return out


def _rows(d: dict[str, pd.DataFrame], price_list: Prices) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(service: str, used: float, unit: str, usd: float, detail: str) -> None:
        rows.append({"service": service, "usage": round(float(used), 6), "unit": unit,
                     "usd": round(float(usd), 6), "detail": detail})

    jobs = d["glue_jobs"]
    if len(jobs):
        add("Glue job runs", jobs.billed_dpu_hours.sum(), "DPU-hours", jobs.usd.sum(),
            f"{len(jobs)} runs, {jobs.seconds.sum():.0f} s ran, billed >= 1 min each")
    crawls = d["crawls"]
    if len(crawls):
        add("Glue crawls", crawls.billed_dpu_hours.sum(), "DPU-hours", crawls.usd.sum(),
            f"{len(crawls)} crawls, {crawls.seconds.sum():.0f} s ran, billed >= 10 min each")
    q = d["athena"]
    if len(q):
        billed = q[q.billed_bytes > 0]
        add("Athena queries", q.billed_bytes.sum() / 2**40, "TB billed", q.usd.sum(),
            f"{len(billed)} of {len(q)} queries billed, {q.scanned_bytes.sum() / 2**20:.1f} MB scanned")
    lam = d["lambda"]
    if len(lam):
        add("Lambda requests", len(lam), "requests", prices.lambda_requests_usd(len(lam), price_list),
            f"{lam.function.nunique()} functions")
        add("Lambda duration", lam.gb_seconds.sum(), "GB-seconds",
            lam.usd.sum() - prices.lambda_requests_usd(len(lam), price_list),
            f"{lam.billed_ms.sum() / 1000:.1f} s billed")
    s3 = d["s3"]
    if len(s3):
        storage_gbm, storage_usd = prices.s3_storage_usd(s3.byte_hours.sum(), price_list)
        add("S3 storage", storage_gbm, "GB-months", storage_usd,
            f"{s3.bytes.sum() / 2**20:.1f} MB in {s3.versions.sum()} versions, {len(s3)} buckets")
        puts = int(s3.puts.sum())
        add("S3 PUT requests", puts, "requests", prices.s3_requests_usd(puts, 0, price_list),
            "versions written (a lower bound; GETs not counted)")
    kms = d["kms"]
    if len(kms):
        add("KMS key", kms.hours.sum() / price_list.hours_per_month, "key-months", kms.usd.sum(),
            f"{len(kms)} key(s), {kms.hours.sum():.2f} h")
    sec = d["secrets"]
    if len(sec):
        add("Secrets Manager", sec.hours.sum() / price_list.hours_per_month, "secret-months", sec.usd.sum(),
            f"{len(sec)} secret(s), {sec.hours.sum():.2f} h")
    sfn = d["stepfunctions"]
    if len(sfn):
        add("Step Functions", sfn.transitions.sum(), "state transitions", sfn.usd.sum(),
            f"{len(sfn)} executions")
    return rows


def summary(since: dt.datetime | None = None, prefix: str | None = None, until: dt.datetime | None = None,
            s: Settings | None = None, price_list: Prices = PRICES) -> pd.DataFrame:
    """One row per billed item (service, usage, unit, usd, detail); ``attrs["total"]`` is the sum.

    The window defaults to the whole workshop so far (since ``<prefix>-datalake`` was created).
    """
    return summarize(details(since, prefix, until, s, price_list), price_list)


def summarize(d: dict[str, pd.DataFrame], price_list: Prices = PRICES) -> pd.DataFrame:
    """:func:`summary` of frames :func:`details` returned (the same snapshot, no new API call)."""
    frame = pd.DataFrame(_rows(d, price_list), columns=SUMMARY_COLUMNS)
    any_frame = next(iter(d.values()))
    frame.attrs.update(total=round(float(frame.usd.sum()), 6), since=any_frame.attrs["since"],
                       until=any_frame.attrs["until"], prefix=any_frame.attrs["prefix"], note=_NOTE)
    return frame


def standing_cost(prefix: str | None = None, s: Settings | None = None, days: float = 30,
                  price_list: Prices = PRICES) -> pd.DataFrame:
    """What the deployed lake costs by just existing for ``days``: keys, secrets, stored bytes."""
    s = s or settings()
    found = lake(prefix, s)
    get = _clients(s.with_(prefix=prefix) if prefix else s)
    now = _now()
    hours = days * 24
    window = Window(now - dt.timedelta(hours=hours), now)
    keys = usage.kms_keys(get("kms"), found.of("AWS::KMS::Key"), window, price_list)
    live_keys = int((keys.state != "PendingDeletion").sum()) if len(keys) else 0
    secrets = len(found.of("AWS::SecretsManager::Secret"))
    stored = usage.s3_storage(get("s3"), found.of("AWS::S3::Bucket"), window, price_list)
    stored_bytes = int(stored.bytes.sum()) if len(stored) else 0
    rows = [
        {"service": "KMS key", "usage": live_keys, "unit": "keys", "usd": prices.kms_key_usd(hours, price_list)
         * live_keys, "detail": f"$1 per key-month, {days:g} days"},
        {"service": "Secrets Manager", "usage": secrets, "unit": "secrets",
         "usd": prices.secret_usd(hours, price_list) * secrets, "detail": f"$0.40 per secret-month, {days:g} days"},
        {"service": "S3 storage", "usage": round(stored_bytes / 2**30, 6), "unit": "GB",
         "usd": prices.s3_storage_usd(stored_bytes * hours, price_list)[1],
         "detail": f"what the buckets hold now, {days:g} days"},
    ]
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    frame["usd"] = frame["usd"].round(6)
    frame.attrs.update(total=round(float(frame.usd.sum()), 6), days=days, note=_NOTE)
    return frame


def usd(amount: float) -> str:
    """``$0.0123`` (4 decimals), or 6 below a cent so that small amounts do not print as zero.

    >>> usd(0.12345), usd(0.0000312), usd(0)
    ('$0.1235', '$0.000031', '$0.0000')
    """
    return f"${amount:,.6f}" if 0 < abs(amount) < 0.01 else f"${amount:,.4f}"


def notebook_started() -> dt.datetime:
    """When this Python process (a notebook's kernel: one per notebook run) started, in UTC."""
    override = os.environ.get("LAKEKIT_COST_SINCE")
    if override:
        return _parse(override)
    try:
        import psutil

        return dt.datetime.fromtimestamp(psutil.Process().create_time(), dt.UTC)
    except Exception:  # pragma: no cover - psutil ships with Jupyter; /proc as the fallback
        with open("/proc/self/stat", encoding="ascii") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return dt.datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), dt.UTC)


def _parse(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"LAKEKIT_COST_SINCE={text!r} is not an ISO 8601 time; e.g. "
                         "2025-06-01T09:00:00+00:00") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


@dataclass
class RunningTotal:
    """A notebook's cost (``this``) and the workshop's so far (``so_far``), both from :func:`summary`,
    with the :func:`details` they were computed from (``details``: this notebook's,
    ``so_far_details``: the workshop's), all read at the same moment."""

    this: pd.DataFrame
    so_far: pd.DataFrame
    details: dict[str, pd.DataFrame]
    so_far_details: dict[str, pd.DataFrame]

    @property
    def line(self) -> str:
        return (f"this notebook: {usd(self.this.attrs['total'])}; workshop so far: "
                f"{usd(self.so_far.attrs['total'])} ({_NOTE})")

    def table(self) -> pd.DataFrame:
        """This notebook's rows next to the workshop's (at most 10 rows)."""
        both = self.so_far.set_index("service")[["unit", "usd"]].rename(columns={"usd": "so far $"})
        this = self.this.set_index("service")[["usage", "usd"]].rename(
            columns={"usage": "this notebook", "usd": "this notebook $"})
        table = this.join(both, how="outer")[["this notebook", "unit", "this notebook $", "so far $"]]
        table[["this notebook", "this notebook $"]] = table[["this notebook", "this notebook $"]].fillna(0.0)
        table.index.name = None
        return table.sort_values("so far $", ascending=False).head(10)


def running_total(since: dt.datetime | None = None, prefix: str | None = None,
                  s: Settings | None = None) -> RunningTotal:
    """This notebook's cost (since its kernel started, or ``since``) and the workshop's so far."""
    until = _now()
    start = since or notebook_started()
    mine = details(start, prefix, until, s)
    whole = details(None, prefix, until, s)
    began = next(iter(whole.values())).attrs.get("since")
    if began is not None and began > usage.Window(start, until).since:
        # the lake's stack is younger than this window (notebook 01 creates it): the workshop so
        # far is at least this notebook (its stack's CreationTime can follow its first resources)
        whole = details(start, prefix, until, s)
    return RunningTotal(summarize(mine), summarize(whole), mine, whole)
