"""``awsglue.utils`` of Glue 5.0: ``getResolvedOptions`` and its error class.

Line for line the behaviour of awslabs/aws-glue-libs (branch glue-5.0) ``awsglue/utils.py``
(``GlueArgumentParser.error`` raises ``GlueArgumentError``; ``getResolvedOptions``) with the option
lists of ``awsglue/job.py`` ``Job`` - quirks included: JOB_ID, JOB_RUN_ID and SECURITY_CONFIGURATION
are registered as optional, so asking for one of them crashes argparse ("conflicting option
string"); the result carries them without asking. Both argument forms (``--k v`` and ``--k=v``) work
(argparse). Example::

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "input"])
    args["JOB_NAME"], args["input"], args["job_bookmark_option"]
"""
from __future__ import annotations

import argparse
from typing import Any

__all__ = ["GlueArgumentError", "GlueArgumentParser", "getResolvedOptions"]


class GlueArgumentError(Exception):
    """What getResolvedOptions raises for bad arguments (argparse would exit instead)."""


class GlueArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise GlueArgumentError(message)


class _JobOptions:
    """The option lists of ``awsglue.job.Job`` (Glue 5.0)."""

    continuation = ["--continuation-option", "continuation-enabled", "continuation-readonly",
                    "continuation-ignore"]
    job_bookmark = ["--job-bookmark-option", "job-bookmark-enable", "job-bookmark-pause",
                    "job-bookmark-disable"]
    job_bookmark_range = ["--job-bookmark-from", "--job-bookmark-to"]
    id_params = ["--JOB_NAME", "--JOB_ID", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION"]
    encryption_type = ["--encryption-type", "sse-s3"]
    data_lineage = ["--enable-data-lineage"]


_global_args: dict[str, Any] = {}


def getResolvedOptions(args: list[str], options: list[str]) -> dict[str, Any]:  # noqa: N802
    """Glue 5.0's ``getResolvedOptions``: ``args`` = ``sys.argv``, ``options`` = names without ``--``.

    >>> r = getResolvedOptions(["x.py", "--JOB_NAME", "j", "--JOB_RUN_ID", "jr_1",
    ...                         "--other", "1"], ["JOB_NAME"])
    >>> r["JOB_NAME"], r["JOB_RUN_ID"], r["job_bookmark_option"], "other" in r
    ('j', 'jr_1', 'job-bookmark-disable', False)
    """
    job = _JobOptions
    parser = GlueArgumentParser()
    if job.continuation[0][2:] in options:
        raise RuntimeError("Using reserved arguments " + job.continuation[0][2:])
    if job.job_bookmark[0][2:] in options:
        raise RuntimeError("Using reserved arguments " + job.job_bookmark[0][2:])
    parser.add_argument(job.job_bookmark[0], choices=job.job_bookmark[1:], required=False)
    parser.add_argument(job.continuation[0], choices=job.continuation[1:], required=False)
    for option in job.job_bookmark_range:
        if option[2:] in options:
            raise RuntimeError("Using reserved arguments " + option)
        parser.add_argument(option, required=False)
    for option in job.id_params[1:]:
        if option in options:  # compares "--JOB_ID" with bare names: only "--"-names match
            raise RuntimeError("Using reserved arguments " + option)
        parser.add_argument(option, required=False)
    if job.encryption_type[0] in options:
        raise RuntimeError("Using reserved arguments " + job.encryption_type[0])
    parser.add_argument(job.encryption_type[0], choices=job.encryption_type[1:])
    if job.data_lineage[0] in options:
        raise RuntimeError("Using reserved arguments " + job.data_lineage[0])
    parser.add_argument(job.data_lineage[0], required=False)
    options = [opt for opt in options if opt not in {"RedshiftTempDir", "TempDir"}]
    parser.add_argument("--RedshiftTempDir", required=False)
    parser.add_argument("--TempDir", required=False)
    for option in options:
        parser.add_argument("--" + option, required=True)

    parsed, _extra = parser.parse_known_args(args[1:])
    parsed_dict = vars(parsed)
    if "TempDir" in parsed_dict and parsed_dict["TempDir"] is not None:
        parsed_dict["RedshiftTempDir"] = parsed_dict["TempDir"]
    elif "RedshiftTempDir" in parsed and parsed_dict["RedshiftTempDir"] is not None:
        parsed_dict["TempDir"] = parsed_dict["RedshiftTempDir"]

    bookmark_value = parsed_dict.pop("continuation_option", None)
    if "job_bookmark_option" not in parsed_dict or parsed_dict["job_bookmark_option"] is None:
        if bookmark_value is None:
            bookmark_value = job.job_bookmark[3]
        else:
            bookmark_value = job.job_bookmark[job.continuation.index(bookmark_value)]
        parsed_dict["job_bookmark_option"] = bookmark_value
    absent_range_option = []
    for option in job.job_bookmark_range:
        key = option[2:].replace("-", "_")
        if key not in parsed_dict or parsed_dict[key] is None:
            absent_range_option.append(option)
    if parsed_dict["job_bookmark_option"] == "job-bookmark-pause":
        if len(absent_range_option) == 1:
            raise RuntimeError("Missing option or value for " + absent_range_option[0])
    else:
        if len(absent_range_option) == 0:
            raise RuntimeError("Invalid option(s)" + " ".join(job.job_bookmark_range))
    _global_args.update(parsed_dict)
    return parsed_dict
