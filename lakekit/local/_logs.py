"""Write CloudWatch Logs events the way AWS services do (Glue job drivers, Lambda functions)."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

__all__ = ["write_logs", "LOG_EVENT_MAX"]

LOG_EVENT_MAX = 256 * 1024 - 26  # CloudWatch's event size limit minus the per-event overhead


def write_logs(logs: Any, group: str, stream: str, events: list[tuple[int, str]],
               create: bool = True) -> None:
    """Create group/stream if needed and put ``(epoch ms, message)`` events in order, in batches
    within PutLogEvents' limits (10,000 events, 1 MB).

    A denied CreateLogGroup is not fatal, as for Lambda on AWS: a role with only
    CreateLogStream/PutLogEvents on a pre-created group still writes (a missing group then
    fails at CreateLogStream with ResourceNotFoundException). ``create=False``: the caller
    knows group and stream exist (a warm Lambda environment's stream)."""
    creates = ((logs.create_log_group, {"logGroupName": group}),
               (logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}))
    for make, kwargs in creates if create else ():
        try:
            make(**kwargs)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "ResourceAlreadyExistsException":
                continue
            if make == logs.create_log_group and code in ("AccessDeniedException", "AccessDenied"):
                continue
            raise
    batch: list[dict[str, Any]] = []
    size = 0
    for ts, message in sorted(events, key=lambda e: e[0]):
        message = message[:LOG_EVENT_MAX] or " "
        cost = len(message.encode()) + 26
        if batch and (len(batch) >= 10000 or size + cost > 1_000_000):
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            batch, size = [], 0
        batch.append({"timestamp": ts, "message": message})
        size += cost
    if batch:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
