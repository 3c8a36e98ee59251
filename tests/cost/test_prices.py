"""The price functions on hand-computed examples: minimums, rounding, what is free."""
from __future__ import annotations

import pytest

from lakekit.cost import prices as P

MB, GB, TB = 2**20, 2**30, 2**40


# ------------------------------------------------------------------------------------------ Glue
def test_glue_pricing_page_example_six_dpus_fifteen_minutes():
    # aws.amazon.com/glue/pricing: a Spark job of 15 minutes on 6 DPUs = 6 * 0.25 h * $0.44 = $0.66
    assert P.glue_job_usd(15 * 60, dpus=6) == (1.5, 0.66)


def test_glue_job_one_minute_minimum_and_per_second_rounding():
    assert P.glue_job_usd(20, dpus=2) == (round(2 * 60 / 3600, 6), round(2 * 60 / 3600 * 0.44, 6))
    assert P.glue_job_usd(0, dpus=2)[0] == round(120 / 3600, 6)       # even a run of 0 s
    # 60.2 s bills 61 s (per second, rounded up)
    assert P.glue_job_usd(60.2, dpus=1) == (round(61 / 3600, 6), round(61 / 3600 * 0.44, 6))
    assert P.glue_job_usd(61, dpus=1)[0] > P.glue_job_usd(59, dpus=1)[0] == round(60 / 3600, 6)


def test_glue_legacy_versions_bill_ten_minutes():
    assert P.glue_min_seconds("1.0") == P.glue_min_seconds("0.9") == 600
    assert P.glue_min_seconds("2.0") == P.glue_min_seconds("5.0") == P.glue_min_seconds(None) == 60
    assert P.glue_job_usd(30, dpus=10, glue_version="1.0") == (round(10 * 600 / 3600, 6),
                                                               round(10 * 600 / 3600 * 0.44, 6))


def test_glue_flex_rate_and_dpu_seconds():
    assert P.glue_job_usd(3600, dpus=2, execution_class="FLEX") == (2.0, 0.58)
    # DPUSeconds (auto scaling) replaces workers x seconds, still at least the 1-minute minimum
    assert P.glue_job_usd(600, dpus=10, dpu_seconds=1800) == (0.5, 0.22)
    assert P.glue_job_usd(30, dpus=2, dpu_seconds=10) == (round(120 / 3600, 6), round(120 / 3600 * 0.44, 6))


def test_glue_dpus_from_workers_or_capacity():
    assert P.glue_dpus("G.1X", 2) == 2.0
    assert P.glue_dpus("G.2X", 10) == 20.0
    assert P.glue_dpus("G.025X", 2) == 0.5
    assert P.glue_dpus(None, None, 0.0625) == 0.0625   # Python shell 1/16 DPU
    assert P.glue_dpus(None, None, 10.0) == 10.0


def test_glue_refuses_what_it_cannot_price():
    with pytest.raises(ValueError, match="unknown Glue worker type 'G.3X'"):
        P.glue_dpus("G.3X", 2)
    with pytest.raises(ValueError, match="WorkerType \\+ NumberOfWorkers or MaxCapacity"):
        P.glue_dpus(None, None, None)
    with pytest.raises(ValueError, match="cannot price a job run"):
        P.glue_job_usd(-1, dpus=2)


def test_crawl_ten_minute_minimum():
    # one DPU for 90 s (what the local crawler reports): billed 10 minutes of one DPU
    assert P.crawl_usd(90, dpu_hour=90 / 3600) == (round(600 / 3600, 6), round(600 / 3600 * 0.44, 6))
    # 2 DPUs for 30 minutes: 1 DPU-hour, $0.44
    assert P.crawl_usd(1800, dpu_hour=1.0) == (1.0, 0.44)
    # no DPUHour reported: priced on the default 2 DPUs
    assert P.crawl_usd(60) == (round(2 * 600 / 3600, 6), round(2 * 600 / 3600 * 0.44, 6))
    # DPUs are whole: 0.01 DPU-hours over 100 s (0.36 DPU) is one DPU, 0.06 over 100 s is three
    assert P.crawl_usd(100, dpu_hour=0.01)[0] == round(600 / 3600, 6)
    assert P.crawl_usd(100, dpu_hour=0.06)[0] == round(3 * 600 / 3600, 6)
    # a crawl of 11 minutes bills 11 minutes
    assert P.crawl_usd(660, dpu_hour=660 / 3600)[0] == round(660 / 3600, 6)
    with pytest.raises(ValueError, match="cannot price a crawl"):
        P.crawl_usd(-5)


# ---------------------------------------------------------------------------------------- Athena
def test_athena_rounds_up_to_the_mb_with_a_ten_mb_minimum():
    assert P.athena_query_usd(1) == (10 * MB, pytest.approx(10 * MB / TB * 5, rel=1e-9))
    assert P.athena_query_usd(10 * MB) == (10 * MB, pytest.approx(10 * MB / TB * 5, rel=1e-9))
    assert P.athena_query_usd(10 * MB + 1)[0] == 11 * MB
    assert P.athena_query_usd(TB) == (TB, 5.0)
    assert P.athena_query_usd(10 * TB)[1] == 50.0
    # the ten-minimum-size queries of 1 KB cost as much as one 100 MB query
    small = sum(P.athena_query_usd(1024)[1] for _ in range(10))
    assert small == pytest.approx(P.athena_query_usd(100 * MB)[1])


def test_athena_what_is_free_and_what_is_not():
    assert P.athena_query_usd(5 * GB, state="FAILED") == (0, 0.0)
    assert P.athena_query_usd(0, statement_type="DDL") == (0, 0.0)
    assert P.athena_query_usd(3 * MB, statement_type="DDL") == (0, 0.0)
    assert P.athena_query_usd(3 * MB, statement_type="UTILITY") == (0, 0.0)
    assert P.athena_query_usd(3 * GB, reused=True) == (0, 0.0)
    # a cancelled query (the workgroup cutoff, or a user) bills what it scanned
    assert P.athena_query_usd(20 * MB + 5, state="CANCELLED") == (21 * MB, pytest.approx(21 * MB / TB * 5, rel=1e-9))
    assert P.athena_query_usd(0) == (0, 0.0)
    with pytest.raises(ValueError, match="cannot be negative"):
        P.athena_query_usd(-1)


# ------------------------------------------------------------------------------- Lambda, S3, KMS
def test_lambda_pricing_page_example():
    # 3M invocations of 1 s at 512 MB: 1.5M GB-s * $0.0000166667 = $25.00; requests 3M * $0.20/M
    gbs, usd = P.lambda_usd(3_000_000 * 1000, 512)
    assert gbs == 1_500_000.0 and usd == pytest.approx(25.00005)
    assert P.lambda_requests_usd(3_000_000) == 0.6
    assert P.lambda_usd(1000, 1024, "arm64") == (1.0, 0.0000133334)
    with pytest.raises(ValueError):
        P.lambda_usd(100, 0)


def test_s3_storage_and_requests():
    assert P.s3_storage_usd(100 * GB * 730) == (100.0, 2.3)
    assert P.s3_storage_usd(GB * 73)[1] == pytest.approx(0.1 * 0.023)    # 1 GB for a tenth of a month
    assert P.s3_requests_usd(10_000, 100_000) == 0.09
    assert P.s3_requests_usd(1) == 0.000005


def test_kms_secrets_step_functions():
    assert P.kms_key_usd(730) == 1.0 and P.kms_key_usd(73) == 0.1 and P.kms_key_usd(-3) == 0.0
    assert P.kms_requests_usd(20_000) == 0.06
    assert P.secret_usd(730) == 0.4
    assert P.sfn_transitions_usd(100_000) == 2.5 and P.sfn_transitions_usd(4_000) == 0.1
