"""The list prices the cost module bills with, and one price function per service.

Every function here is pure: usage in, ``(billed usage, USD)`` out, with the service's own
minimums and rounding. :mod:`lakekit.cost.usage` reads the usage from the APIs.

=========================  ===================================  =====================================
item                       price (us-east-1, on demand)         source page (read on ``PRICES_DATE``)
=========================  ===================================  =====================================
Glue Spark/Python job      $0.44 per DPU-hour, per second,      aws.amazon.com/glue/pricing
                           1-minute minimum (Glue 2.0+;
                           10 minutes on Glue 0.9/1.0)
Glue Flex job              $0.29 per DPU-hour, same minimums    aws.amazon.com/glue/pricing
Glue crawler               $0.44 per DPU-hour, per second,      aws.amazon.com/glue/pricing
                           10-minute minimum per crawl
Athena SQL                 $5.00 per TB scanned, rounded up to  aws.amazon.com/athena/pricing
                           the MB, 10 MB minimum per query; DDL,
                           failed queries and reused results
                           free; a cancelled query bills what
                           it scanned
Lambda (x86_64)            $0.20 per 1M requests,               aws.amazon.com/lambda/pricing
                           $0.0000166667 per GB-second (arm64
                           $0.0000133334), ms rounded up
S3 Standard                $0.023 per GB-month (first 50 TB),   aws.amazon.com/s3/pricing
                           $0.005 per 1,000 PUT/COPY/POST/LIST,
                           $0.0004 per 1,000 GET
KMS                        $1 per customer managed key-month    aws.amazon.com/kms/pricing
                           (prorated hourly; free while pending
                           deletion), $0.03 per 10,000 requests
Secrets Manager            $0.40 per secret-month (prorated     aws.amazon.com/secrets-manager/pricing
                           hourly), $0.05 per 10,000 API calls
Step Functions Standard    $0.025 per 1,000 state transitions   aws.amazon.com/step-functions/pricing
=========================  ===================================  =====================================

A month is 730 hours (AWS's month for hourly proration). TB and MB are binary (2**40, 2**20),
as in :mod:`lakekit.athena` and :mod:`lakekit.preflight`. Free tiers are not subtracted: the
numbers are what the usage costs at list price, the way the pricing pages' examples compute it.

Example (the Glue pricing page's example: 6 DPUs for 15 minutes)::

    >>> glue_job_usd(15 * 60, dpus=6)
    (1.5, 0.66)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PRICES", "PRICES_DATE", "Prices", "WORKER_DPUS", "glue_dpus", "glue_min_seconds",
           "glue_job_usd", "crawl_usd", "athena_query_usd", "lambda_usd", "lambda_requests_usd",
           "s3_storage_usd", "s3_requests_usd", "kms_key_usd", "kms_requests_usd", "secret_usd",
           "sfn_transitions_usd"]

#: the day the prices below were read from the pricing pages named in the module docstring
PRICES_DATE = "2025-06-01"
_MB = 2**20
_GB = 2**30
_TB = 2**40


@dataclass(frozen=True)
class Prices:
    """On-demand list prices, us-east-1, as of :data:`PRICES_DATE` (USD)."""

    glue_dpu_hour: float = 0.44
    glue_flex_dpu_hour: float = 0.29
    glue_job_min_seconds: int = 60          # Glue 2.0 and later
    glue_legacy_min_seconds: int = 600      # Glue 0.9 and 1.0
    crawler_dpu_hour: float = 0.44
    crawler_min_seconds: int = 600
    crawler_default_dpus: float = 2.0       # when ListCrawls reports no DPUHour
    athena_per_tb: float = 5.00
    athena_min_mb: int = 10
    lambda_per_million: float = 0.20
    lambda_gb_second_x86: float = 0.0000166667
    lambda_gb_second_arm: float = 0.0000133334
    s3_gb_month: float = 0.023
    s3_put_per_1000: float = 0.005
    s3_get_per_1000: float = 0.0004
    kms_key_month: float = 1.00
    kms_per_10k_requests: float = 0.03
    secret_month: float = 0.40
    secrets_per_10k_calls: float = 0.05
    sfn_per_1000_transitions: float = 0.025
    hours_per_month: int = 730


PRICES = Prices()

#: DPUs per worker of each Glue worker type (the Glue pricing and job-property pages)
WORKER_DPUS = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0,
               "Standard": 1.0}


def glue_dpus(worker_type: str | None, number_of_workers: int | None,
              max_capacity: float | None = None) -> float:
    """The DPUs a job run is billed for: workers x DPUs per worker, else ``MaxCapacity``.

    >>> glue_dpus("G.1X", 2), glue_dpus("G.2X", 10), glue_dpus(None, None, 0.0625)
    (2.0, 20.0, 0.0625)
    """
    if worker_type and number_of_workers:
        if worker_type not in WORKER_DPUS:
            raise ValueError(f"unknown Glue worker type {worker_type!r}: expected one of "
                             f"{sorted(WORKER_DPUS)} (add it to lakekit.cost.prices.WORKER_DPUS)")
        return WORKER_DPUS[worker_type] * int(number_of_workers)
    if max_capacity:
        return float(max_capacity)
    raise ValueError("a Glue job run needs WorkerType + NumberOfWorkers or MaxCapacity to be priced")


def glue_min_seconds(glue_version: str | None, prices: Prices = PRICES) -> int:
    """The minimum billed duration of one run: 10 minutes on Glue 0.9/1.0, else 1 minute."""
    return prices.glue_legacy_min_seconds if str(glue_version) in ("0.9", "1.0") else prices.glue_job_min_seconds


def glue_job_usd(execution_seconds: float, dpus: float, glue_version: str | None = "5.0",
                 execution_class: str | None = "STANDARD", dpu_seconds: float | None = None,
                 prices: Prices = PRICES) -> tuple[float, float]:
    """``(billed DPU-hours, USD)`` of one job run.

    Billed per second (rounded up) with the version's minimum. ``dpu_seconds`` (GetJobRun's
    ``DPUSeconds``, reported for auto-scaling and Flex runs) replaces ``dpus x seconds`` when given.

    >>> glue_job_usd(20, dpus=2)     # a 20-second run is billed 1 minute
    (0.033333, 0.014667)
    """
    if execution_seconds < 0 or dpus <= 0:
        raise ValueError(f"cannot price a job run of {execution_seconds} s on {dpus} DPUs")
    seconds = max(math.ceil(execution_seconds), glue_min_seconds(glue_version, prices))
    used = seconds * dpus
    if dpu_seconds:
        used = max(float(dpu_seconds), glue_min_seconds(glue_version, prices) * dpus)
    rate = prices.glue_flex_dpu_hour if (execution_class or "").upper() == "FLEX" else prices.glue_dpu_hour
    hours = used / 3600
    return round(hours, 6), round(hours * rate, 6)


def crawl_usd(seconds: float, dpu_hour: float | None = None, prices: Prices = PRICES) -> tuple[float, float]:
    """``(billed DPU-hours, USD)`` of one crawl of ``seconds``, at least 10 minutes.

    ``dpu_hour`` is ListCrawls' ``DPUHour`` (the DPU-hours the crawl used); the DPUs it implies
    over the crawl's ``seconds`` (whole DPUs, at least one) are billed for at least 10 minutes.
    Without it the crawl is priced on ``Prices.crawler_default_dpus``.

    >>> crawl_usd(90, dpu_hour=90 / 3600)   # one DPU for 90 s: billed 10 minutes
    (0.166667, 0.073333)
    >>> crawl_usd(30 * 60, dpu_hour=1.0)    # 2 DPUs for 30 minutes
    (1.0, 0.44)
    """
    if seconds < 0:
        raise ValueError(f"cannot price a crawl of {seconds} s")
    dpus = prices.crawler_default_dpus
    if dpu_hour and seconds > 0:
        dpus = max(1, math.ceil(dpu_hour * 3600 / seconds - 1e-6))
    hours = dpus * max(math.ceil(seconds), prices.crawler_min_seconds) / 3600
    return round(hours, 6), round(hours * prices.crawler_dpu_hour, 6)


def athena_query_usd(scanned_bytes: int, state: str = "SUCCEEDED", statement_type: str = "DML",
                     reused: bool = False, prices: Prices = PRICES) -> tuple[int, float]:
    """``(billed bytes, USD)`` of one query execution.

    DDL and UTILITY statements, FAILED queries and reused results are free; SUCCEEDED and
    CANCELLED queries bill the bytes scanned rounded up to the MB, at least 10 MB (a query that
    read nothing bills nothing, as in :func:`lakekit.athena.cost_usd`).

    >>> athena_query_usd(1)                       # 1 byte bills 10 MB
    (10485760, 4.7683716e-05)
    >>> athena_query_usd(10 * 2**40)              # 10 TB: $50
    (10995116277760, 50.0)
    >>> athena_query_usd(5 * 2**30, state="FAILED")
    (0, 0.0)
    """
    if scanned_bytes < 0:
        raise ValueError(f"DataScannedInBytes cannot be negative ({scanned_bytes})")
    if (state not in ("SUCCEEDED", "CANCELLED") or (statement_type or "DML") != "DML" or reused
            or scanned_bytes == 0):
        return 0, 0.0
    billed = max(math.ceil(scanned_bytes / _MB), prices.athena_min_mb) * _MB
    return billed, round(billed / _TB * prices.athena_per_tb, 12)


def lambda_usd(billed_ms: float, memory_mb: int, architecture: str = "x86_64",
               prices: Prices = PRICES) -> tuple[float, float]:
    """``(GB-seconds, USD)`` of invocations totalling ``billed_ms`` at ``memory_mb``.

    >>> lambda_usd(3_000_000 * 1000, 512)   # 3M invocations of 1 s at 512 MB: 1.5M GB-s
    (1500000.0, 25.00005)
    """
    if billed_ms < 0 or memory_mb <= 0:
        raise ValueError(f"cannot price {billed_ms} ms at {memory_mb} MB")
    rate = prices.lambda_gb_second_arm if architecture == "arm64" else prices.lambda_gb_second_x86
    gb_seconds = billed_ms / 1000 * memory_mb / 1024
    return round(gb_seconds, 6), round(gb_seconds * rate, 12)


def lambda_requests_usd(requests: int, prices: Prices = PRICES) -> float:
    """USD of ``requests`` invocations ($0.20 per million).

    >>> lambda_requests_usd(3_000_000)
    0.6
    """
    return round(requests / 1e6 * prices.lambda_per_million, 12)


def s3_storage_usd(byte_hours: float, prices: Prices = PRICES) -> tuple[float, float]:
    """``(GB-months, USD)`` of S3 Standard storage given in byte-hours.

    >>> s3_storage_usd(100 * 2**30 * 730)   # 100 GB for a whole month
    (100.0, 2.3)
    """
    gb_months = byte_hours / _GB / prices.hours_per_month
    return round(gb_months, 9), round(gb_months * prices.s3_gb_month, 12)


def s3_requests_usd(put_class: int, get_class: int = 0, prices: Prices = PRICES) -> float:
    """USD of PUT/COPY/POST/LIST-class and GET-class requests.

    >>> s3_requests_usd(10_000, 100_000)
    0.09
    """
    return round(put_class / 1000 * prices.s3_put_per_1000 + get_class / 1000 * prices.s3_get_per_1000, 12)


def kms_key_usd(hours: float, prices: Prices = PRICES) -> float:
    """USD of one customer managed key existing ``hours`` (not pending deletion).

    >>> kms_key_usd(730), kms_key_usd(73)
    (1.0, 0.1)
    """
    return round(max(hours, 0.0) / prices.hours_per_month * prices.kms_key_month, 12)


def kms_requests_usd(requests: int, prices: Prices = PRICES) -> float:
    """USD of KMS API requests ($0.03 per 10,000)."""
    return round(requests / 10_000 * prices.kms_per_10k_requests, 12)


def secret_usd(hours: float, prices: Prices = PRICES) -> float:
    """USD of one Secrets Manager secret stored ``hours``.

    >>> secret_usd(730)
    0.4
    """
    return round(max(hours, 0.0) / prices.hours_per_month * prices.secret_month, 12)


def sfn_transitions_usd(transitions: int, prices: Prices = PRICES) -> float:
    """USD of Step Functions Standard state transitions ($0.025 per 1,000).

    >>> sfn_transitions_usd(100_000)
    2.5
    """
    return round(transitions / 1000 * prices.sfn_per_1000_transitions, 12)
