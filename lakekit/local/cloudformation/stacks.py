"""Where the local CloudFormation engine keeps its stacks and exports: scoped by account and region.

A stack is a record of :data:`RUNS` (a :class:`lakekit.local.runs.RunStore`,
``cloudformation.stacks``, keyed ``"<account>|<region>|<StackId>"``) whose state is its
``StackStatus``. Each operation (create, update, delete) is a run on the same record: it starts
with ``RUNS.transition(stack, "..._IN_PROGRESS", reopen=True)`` and its worker ends it in a
final status. Exports (:data:`EXPORTS`) are keyed ``"<account>|<region>|<export name>"``: on
AWS an export name is unique within an account's region, and a stack sees only its region's.

Lookups take the caller's account and region, so a stack created in us-east-1 does not exist for
a caller in eu-west-1 (``ValidationError: Stack with id X does not exist``) and the same name may
be used in both.

A restart leaves an operation in flight as AWS leaves one that fails
(:func:`restart_status`): a create with rollback enabled rolls back (ROLLBACK_IN_PROGRESS, then
ROLLBACK_COMPLETE once the engine has deleted what it created; the engine resumes it), with
``DisableRollback`` it is CREATE_FAILED; an update is UPDATE_ROLLBACK_FAILED (its journal of
changes is not persisted), a delete DELETE_FAILED (DeleteStack again resumes it); cleanup steps
end in the status they were cleaning up for.

Example::

    stack = find_stack("123456789012", "us-east-1", "lakekit-lake")   # None in eu-west-1
    export_value("123456789012", "us-east-1", "lakekit-lake-RawBucket")
"""
from __future__ import annotations

import uuid
from typing import Any

from lakekit.local.persistence import store
from lakekit.local.runs import Lifecycle, RunStore, run_key

__all__ = ["RUNS", "STACKS", "EXPORTS", "ACTIVE", "FINAL", "FAILED_STATUS", "find_stack", "stacks_of",
           "export_key", "exports_of", "export_value", "restart_status", "INTERRUPTED_REASON"]

ACTIVE = frozenset({"CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS",
                    "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                    "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                    "IMPORT_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS"})
FINAL = frozenset({"CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",
                   "DELETE_FAILED", "DELETE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_FAILED",
                   "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS",
                   "IMPORT_COMPLETE", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE"})
"""Settled statuses (REVIEW_IN_PROGRESS too: a stack waiting for its change set runs nothing)."""

FAILED_STATUS = {"CREATE_IN_PROGRESS": "CREATE_FAILED", "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
                 "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
                 "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
                 "DELETE_IN_PROGRESS": "DELETE_FAILED",
                 "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
                 "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
                 "IMPORT_IN_PROGRESS": "IMPORT_ROLLBACK_FAILED",
                 "IMPORT_ROLLBACK_IN_PROGRESS": "IMPORT_ROLLBACK_FAILED"}
"""The final status of an operation that cannot go on (a restart, an engine error), per status."""
INTERRUPTED_REASON = ("The operation was interrupted in {status} (the local endpoint restarted). "
                      "Delete the stack and deploy again.")
_RESOURCE_AFTER_RESTART = {"CREATE_IN_PROGRESS": "CREATE_FAILED", "UPDATE_IN_PROGRESS": "UPDATE_FAILED",
                           "DELETE_IN_PROGRESS": "DELETE_FAILED"}


def restart_status(stack: dict[str, Any]) -> str:
    """The status a restart leaves a stack in whose operation was in flight (see the module)."""
    status = stack["StackStatus"]
    stack["_interrupted_in"] = status
    if status == "CREATE_IN_PROGRESS":
        return "CREATE_FAILED" if stack.get("OnFailure") == "DO_NOTHING" else "ROLLBACK_IN_PROGRESS"
    if status == "ROLLBACK_IN_PROGRESS":
        return status  # resumed: the engine deletes what is left
    return FAILED_STATUS[status]


def _restarted(stack: dict[str, Any], now: float) -> None:
    """Resources cut short fail with the reason; the stack gets its status event."""
    was = stack.pop("_interrupted_in", "")
    failed = []
    for logical, rec in stack["resources"].items():
        status = _RESOURCE_AFTER_RESTART.get(rec.get("ResourceStatus", ""))
        if status is None:
            continue
        reason = f"Resource handler interrupted: the local endpoint restarted during {rec['ResourceStatus']}."
        rec.update(ResourceStatus=status, ResourceStatusReason=reason, Timestamp=now)
        failed.append(logical)
        _event(stack, logical, rec.get("ResourceType", ""), status, reason,
               rec.get("PhysicalResourceId", ""), now)
    if stack["StackStatus"] == "ROLLBACK_IN_PROGRESS":
        reason = (f"The following resource(s) failed to create: [{', '.join(sorted(failed))}]. "
                  f"The local endpoint restarted during {was}; rolling back."
                  if was == "CREATE_IN_PROGRESS" else
                  f"The local endpoint restarted during {was}; the rollback goes on.")
    else:
        reason = INTERRUPTED_REASON.format(status=was)
    stack["StackStatusReason"] = reason
    _event(stack, stack["StackName"], "AWS::CloudFormation::Stack", stack["StackStatus"], reason,
           stack["StackId"], now)


def _event(stack: dict[str, Any], logical: str, rtype: str, status: str, reason: str,
           physical: str, now: float) -> None:
    stack.setdefault("events", []).append({
        "StackId": stack["StackId"], "EventId": str(uuid.uuid4()), "StackName": stack["StackName"],
        "LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": rtype,
        "Timestamp": now, "ResourceStatus": status, "ResourceStatusReason": reason})


RUNS = RunStore("cloudformation.stacks",
                Lifecycle(active=ACTIVE, final=FINAL, restart_state="ROLLBACK_FAILED"),
                state=("StackStatus",), workers=8, on_restart=_restarted, restart=restart_status,
                history=False)
STACKS = RUNS.data
"""``account|region|StackId`` -> the stack (DescribeStacks fields plus the engine's own)."""
EXPORTS: dict[str, dict[str, Any]] = store("cloudformation.exports")
"""``account|region|export name`` -> {ExportingStackId, Name, Value}."""


def _arn_scope(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return (parts[4], parts[3]) if len(parts) > 5 else ("", "")


def adopt_legacy() -> None:
    """Snapshots written before stacks were scoped: records and exports get their scope from the
    stack's ARN (call under ``RUNS.lock`` before :meth:`RunStore.recover`, which re-keys them)."""
    for rec in STACKS.values():
        if "_account" not in rec:
            rec["_account"], rec["_region"] = _arn_scope(rec.get("StackId", ""))
        rec.pop("boot", None)
    for name in [k for k in EXPORTS if k.count("|") < 2]:
        entry = EXPORTS.pop(name)
        account, region = _arn_scope(entry.get("ExportingStackId", ""))
        EXPORTS[export_key(account, region, name)] = entry


def stacks_of(account: str, region: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
    """The caller's stacks in this region, oldest first."""
    return RUNS.records(account, region,
                        None if include_deleted else lambda s: s["StackStatus"] != "DELETE_COMPLETE")


def find_stack(account: str, region: str, name_or_id: str, *,
               include_deleted: bool = False) -> dict[str, Any] | None:
    """A stack by name (the live one) or StackId (also a deleted one), in this scope only."""
    with RUNS.lock:
        by_id = RUNS.get(account, region, name_or_id)
        if by_id is not None:
            return by_id
        named = [s for s in stacks_of(account, region, include_deleted=True) if s["StackName"] == name_or_id]
        live = [s for s in named if s["StackStatus"] != "DELETE_COMPLETE"]
        if live:
            return live[0]
        return named[-1] if include_deleted and named else None


def export_key(account: str, region: str, name: str) -> str:
    return run_key(account, region, name)


def exports_of(account: str, region: str) -> list[dict[str, Any]]:
    prefix = run_key(account, region, "")
    with RUNS.lock:
        return [e for k, e in EXPORTS.items() if k.startswith(prefix)]


def export_value(account: str, region: str, name: str) -> Any:
    entry = EXPORTS.get(export_key(account, region, name))
    return entry["Value"] if entry else None
