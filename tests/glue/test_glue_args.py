"""The job's getResolvedOptions stand-in behaves like Glue 5.0's real one (lakekit/jobs/etl.py).

Expected values are copied from the behaviour of ``awsglue.utils.getResolvedOptions`` as
AWS Glue 5.0 ships it: awslabs/aws-glue-libs, branch ``glue-5.0`` (commit 23918d0),
``awsglue/utils.py`` lines 74-76 (GlueArgumentParser.error raises GlueArgumentError),
79-158 (getResolvedOptions) and ``awsglue/job.py`` lines 14-35 (the option lists). The
JOB_RUN_ID quirk is also reported upstream: aws-glue-libs issue #22 and pull request #35.
No Spark session is needed: only the module is loaded.
"""
from __future__ import annotations

import argparse

import pytest

ARGV = ["/tmp/etl.py", "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1", "--JOB_NAME", "etl",
        "--job-bookmark-option", "job-bookmark-enable", "--TempDir", "s3://tmp/temporary/",
        "--enable-metrics", "true", "--enable-continuous-cloudwatch-log", "true",
        "--dataset", "flights"]


def test_registered_options_are_in_the_result_without_asking(etl):
    """utils.py 95-100: JOB_ID/JOB_RUN_ID/SECURITY_CONFIGURATION optional; 109-113 TempDir;
    123-127 RedshiftTempDir mirrors TempDir; 130-145 the bookmark default; 157 _global_args."""
    got = etl._get_resolved_options(ARGV, ["JOB_NAME", "dataset"])
    assert got == {
        "job_bookmark_option": "job-bookmark-enable", "job_bookmark_from": None,
        "job_bookmark_to": None, "JOB_ID": "j_1", "JOB_RUN_ID": "jr_1",
        "SECURITY_CONFIGURATION": None, "encryption_type": None, "enable_data_lineage": None,
        "RedshiftTempDir": "s3://tmp/temporary/", "TempDir": "s3://tmp/temporary/",
        "JOB_NAME": "etl", "dataset": "flights"}
    assert etl._GLOBAL_ARGS["JOB_RUN_ID"] == "jr_1"
    bare = etl._get_resolved_options(["x.py", "--JOB_NAME", "j"], ["JOB_NAME"])
    assert (bare["job_bookmark_option"], bare["JOB_RUN_ID"], bare["TempDir"]) == (
        "job-bookmark-disable", None, None)


def test_asking_for_a_registered_name_crashes_argparse(etl):
    """utils.py 95-100 compare '--JOB_RUN_ID' with the bare names, so the check never fires and
    line 117 adds --JOB_RUN_ID a second time: argparse.ArgumentError (issue #22)."""
    for name in ("JOB_RUN_ID", "JOB_ID", "SECURITY_CONFIGURATION"):
        with pytest.raises(argparse.ArgumentError,
                           match=f"argument --{name}: conflicting option string: --{name}"):
            etl._get_resolved_options(ARGV, ["JOB_NAME", name])


@pytest.mark.parametrize("name, message", [
    ("job-bookmark-option", "Using reserved arguments job-bookmark-option"),      # 85-86
    ("continuation-option", "Using reserved arguments continuation-option"),      # 82-83
    ("job-bookmark-from", "Using reserved arguments --job-bookmark-from"),        # 91-93
    ("job-bookmark-to", "Using reserved arguments --job-bookmark-to"),
    ("--JOB_RUN_ID", "Using reserved arguments --JOB_RUN_ID"),                    # 96-98
    ("--encryption-type", "Using reserved arguments --encryption-type"),          # 102-103
    ("--enable-data-lineage", "Using reserved arguments --enable-data-lineage"),  # 106-107
])
def test_reserved_names_raise_runtime_error(etl, name, message):
    with pytest.raises(RuntimeError) as err:
        etl._get_resolved_options(ARGV, ["JOB_NAME", name])
    assert str(err.value) == message


def test_value_forms_extras_and_temp_dir_handling(etl):
    """argparse: '--key=value' equals '--key value'; parse_known_args (119) ignores extras;
    TempDir asked for is never required (110-113)."""
    got = etl._get_resolved_options(["x.py", "--JOB_NAME=j", "--dataset=all", "--unknown", "1",
                                     "--job-bookmark-option=job-bookmark-pause"],
                                    ["JOB_NAME", "dataset", "TempDir"])
    assert (got["JOB_NAME"], got["dataset"], got["job_bookmark_option"], got["TempDir"]) == (
        "j", "all", "job-bookmark-pause", None)
    assert "unknown" not in got
    red = etl._get_resolved_options(["x.py", "--RedshiftTempDir", "s3://r/"], [])
    assert (red["TempDir"], red["RedshiftTempDir"]) == ("s3://r/", "s3://r/")


def test_continuation_option_translates_to_bookmark_option(etl):
    """utils.py 134-145: the old --continuation-option maps by position; the bookmark option wins."""
    old = etl._get_resolved_options(["x.py", "--continuation-option", "continuation-enabled"], [])
    assert old["job_bookmark_option"] == "job-bookmark-enable" and "continuation_option" not in old
    both = etl._get_resolved_options(["x.py", "--continuation-option", "continuation-enabled",
                                      "--job-bookmark-option", "job-bookmark-disable"], [])
    assert both["job_bookmark_option"] == "job-bookmark-disable"


def test_bookmark_range_rules(etl):
    """utils.py 146-155 (message strings copied, including the missing space)."""
    with pytest.raises(RuntimeError) as err:
        etl._get_resolved_options(["x.py", "--job-bookmark-from", "jr_a", "--job-bookmark-to",
                                   "jr_b"], [])
    assert str(err.value) == "Invalid option(s)--job-bookmark-from --job-bookmark-to"
    with pytest.raises(RuntimeError) as err:
        etl._get_resolved_options(["x.py", "--job-bookmark-option", "job-bookmark-pause",
                                   "--job-bookmark-to", "jr_b"], [])
    assert str(err.value) == "Missing option or value for --job-bookmark-from"
    ok = etl._get_resolved_options(["x.py", "--job-bookmark-option", "job-bookmark-pause",
                                    "--job-bookmark-from", "jr_a", "--job-bookmark-to", "jr_b"], [])
    assert (ok["job_bookmark_from"], ok["job_bookmark_to"]) == ("jr_a", "jr_b")


def test_bad_arguments_raise_glue_argument_error(etl):
    """utils.py 74-76: the parser raises GlueArgumentError instead of exiting."""
    with pytest.raises(etl.GlueArgumentError,
                       match="the following arguments are required: --dataset"):
        etl._get_resolved_options(["x.py", "--JOB_NAME", "j"], ["JOB_NAME", "dataset"])
    with pytest.raises(etl.GlueArgumentError, match="argument --job-bookmark-option: invalid "
                                                    "choice: 'job-bookmark-on'"):
        etl._get_resolved_options(["x.py", "--job-bookmark-option", "job-bookmark-on"], [])
    with pytest.raises(etl.GlueArgumentError, match="argument --encryption-type: invalid choice"):
        etl._get_resolved_options(["x.py", "--encryption-type", "sse-kms"], [])


def test_job_config_reads_job_run_id_from_what_glue_passes(etl):
    """The job never asks for JOB_RUN_ID (that would crash on Glue) and still gets it."""
    argv = ARGV + ["--raw_path", "s3://r/", "--processed_path", "s3://p/", "--rejected_path",
                   "s3://q/", "--reports_path", "s3://a/rep/", "--bookmark_path", "s3://a/bm/"]
    cfg = etl.parse_config(argv)
    assert (cfg.run_id, cfg.job_name, cfg.bookmark_option, cfg.lookups) == (
        "jr_1", "etl", "job-bookmark-enable", "s3://p/")
    assert etl.parse_config(argv + ["--run_id", "mine"]).run_id == "mine"
    with pytest.raises(ValueError, match="invalid job arguments: the following arguments are "
                                         "required: --raw_path"):
        etl.parse_config(ARGV)
    with pytest.raises(ValueError, match="invalid choice: 'job-bookmark-on'"):
        etl.parse_config([a if a != "job-bookmark-enable" else "job-bookmark-on" for a in argv])
