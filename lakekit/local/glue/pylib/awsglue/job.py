"""``awsglue.job.Job`` of Glue 5.0: ``init`` starts the bookmark service, ``commit`` saves its state.

Example::

    job = Job(glue_ctx)
    job.init(args["JOB_NAME"], args)
    ...  # reads with transformation_ctx="src" see only new/modified objects (job-bookmark-enable)
    job.commit()
"""
from __future__ import annotations

import logging
from typing import Any

from ._bookmarks import Bookmarks
from ._s3 import runtime_dir

__all__ = ["Job"]

log = logging.getLogger(__name__)


class Job:
    """A Glue job run as the script sees it."""

    @classmethod
    def continuation_options(cls) -> list[str]:
        return ["--continuation-option", "continuation-enabled", "continuation-readonly",
                "continuation-ignore"]

    @classmethod
    def job_bookmark_options(cls) -> list[str]:
        return ["--job-bookmark-option", "job-bookmark-enable", "job-bookmark-pause",
                "job-bookmark-disable"]

    @classmethod
    def job_bookmark_range_options(cls) -> list[str]:
        return ["--job-bookmark-from", "--job-bookmark-to"]

    @classmethod
    def id_params(cls) -> list[str]:
        return ["--JOB_NAME", "--JOB_ID", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION"]

    @classmethod
    def encryption_type_options(cls) -> list[str]:
        return ["--encryption-type", "sse-s3"]

    @classmethod
    def data_lineage_options(cls) -> list[str]:
        return ["--enable-data-lineage"]

    def __init__(self, glue_context: Any) -> None:
        self._glue_context = glue_context
        self._name: str | None = None
        self._bookmarks: Bookmarks | None = None

    def init(self, job_name: str, args: dict[str, Any] | None = None) -> None:
        args = args or {}
        self._name = job_name
        self._bookmarks = Bookmarks(runtime_dir(), args.get("job_bookmark_option") or "job-bookmark-disable",
                                    args.get("job_bookmark_from"), args.get("job_bookmark_to"))
        self._glue_context.bookmarks = self._bookmarks
        log.info("job %s: bookmarks %s", job_name, self._bookmarks.option)

    def isInitialized(self) -> bool:  # noqa: N802
        return self._bookmarks is not None

    def commit(self) -> None:
        if self._bookmarks is None:
            raise RuntimeError("Job.commit() before Job.init(): call job.init(args['JOB_NAME'], args) "
                               "at the start of the script.")
        self._bookmarks.commit()
