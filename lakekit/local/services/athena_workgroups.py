"""Athena workgroups: CreateWorkGroup, GetWorkGroup and UpdateWorkGroup as Athena answers them.

moto keeps the workgroups (``athena_backends[account][region].work_groups``); these executors add
what it lacks: ``GetWorkGroup`` of an unknown name is an error (moto answers ``null``),
``UpdateWorkGroup`` exists, and managed query results
(``ManagedQueryResultsConfiguration``: results kept in Athena-owned storage, no ``OutputLocation``)
are validated as Athena validates them: a workgroup cannot have both
``ManagedQueryResultsConfiguration.Enabled`` and ``ResultConfiguration.OutputLocation``
("ManagedQueryResultsConfiguration and ResultConfiguration cannot be set together.").

Example::

    athena.create_work_group(Name="managed", Configuration={
        "ManagedQueryResultsConfiguration": {"Enabled": True}})
    athena.start_query_execution(QueryString="SELECT 1", WorkGroup="managed")  # no OutputLocation
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from lakekit.local.registry import AwsError, AwsRequest, operation

__all__ = ["MANAGED_CONFLICT_MESSAGE", "work_group", "managed_config"]

log = logging.getLogger(__name__)

MANAGED_CONFLICT_MESSAGE = "ManagedQueryResultsConfiguration and ResultConfiguration cannot be set together."
_NAME = re.compile(r"[a-zA-Z0-9._-]{1,128}")
_CONFIG_KEYS = ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "BytesScannedCutoffPerQuery",
                "RequesterPaysEnabled", "EngineVersion", "AdditionalConfiguration", "ExecutionRole",
                "CustomerContentEncryptionConfiguration", "EnableMinimumEncryptionConfiguration",
                "QueryResultsS3AccessGrantsConfiguration", "IdentityCenterConfiguration",
                "MonitoringConfiguration", "EngineConfiguration")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, 400)


def _backend(req: AwsRequest) -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[req.account_id][req.region]


def work_group(req: AwsRequest, name: str) -> Any:
    """The moto workgroup ``name`` of the caller's account/region, or Athena's error."""
    wg = _backend(req).work_groups.get(name)
    if wg is None:
        raise _invalid(f"WorkGroup {name} is not found. Create it first (CreateWorkGroup or the "
                       "CloudFormation stack) or pass an existing WorkGroup (default: primary).")
    return wg


def managed_config(cfg: dict[str, Any]) -> dict[str, Any] | None:
    """The workgroup's ``ManagedQueryResultsConfiguration`` when enabled, else None."""
    managed = cfg.get("ManagedQueryResultsConfiguration") or {}
    return managed if managed.get("Enabled") else None


def _check_managed(cfg: dict[str, Any]) -> None:
    if managed_config(cfg) is not None and (cfg.get("ResultConfiguration") or {}).get("OutputLocation"):
        raise _invalid(MANAGED_CONFLICT_MESSAGE)
    key = ((cfg.get("ManagedQueryResultsConfiguration") or {}).get("EncryptionConfiguration") or {}).get("KmsKey")
    if key is not None and not str(key).strip():
        raise _invalid("ManagedQueryResultsConfiguration.EncryptionConfiguration.KmsKey must name a KMS key "
                       "(ARN); omit EncryptionConfiguration to use an AWS owned key.")


def _creation_time(wg: Any) -> float:
    t = wg.__dict__.get("_lakekit_created")
    if t is None:
        t = wg.__dict__["_lakekit_created"] = round(time.time(), 3)
    return t


@operation("athena", "CreateWorkGroup")
def create_work_group(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    name = p.get("Name") or ""
    if not _NAME.fullmatch(name):
        raise _invalid(f"WorkGroup name {name!r} is invalid: use 1 to 128 letters, digits, '.', '_' or '-'.")
    cfg = dict(p.get("Configuration") or {})
    _check_managed(cfg)
    backend = _backend(req)
    if name in backend.work_groups:
        raise _invalid(f"WorkGroup {name} is already created. Use UpdateWorkGroup to change it.")
    wg = backend.create_work_group(name, cfg, p.get("Description") or "", p.get("Tags") or [])
    _creation_time(wg)
    return {}


@operation("athena", "GetWorkGroup")
def get_work_group(req: AwsRequest) -> dict[str, Any]:
    wg = work_group(req, req.params.get("WorkGroup") or "")
    return {"WorkGroup": {"Name": wg.name, "State": getattr(wg, "state", "ENABLED"),
                          "Configuration": wg.configuration, "Description": wg.description or "",
                          "CreationTime": _creation_time(wg)}}


@operation("athena", "UpdateWorkGroup")
def update_work_group(req: AwsRequest) -> dict[str, Any]:
    p = req.params
    wg = work_group(req, p.get("WorkGroup") or "")
    state = p.get("State")
    if state is not None and state not in ("ENABLED", "DISABLED"):
        raise _invalid(f"State must be ENABLED or DISABLED, not {state!r}.")
    upd = p.get("ConfigurationUpdates") or {}
    cfg = dict(wg.configuration)
    for key in _CONFIG_KEYS:
        if key in upd:
            cfg[key] = upd[key]
    if upd.get("RemoveBytesScannedCutoffPerQuery"):
        cfg.pop("BytesScannedCutoffPerQuery", None)
    if upd.get("RemoveCustomerContentEncryptionConfiguration"):
        cfg.pop("CustomerContentEncryptionConfiguration", None)
    rc_upd = upd.get("ResultConfigurationUpdates")
    if rc_upd is not None:
        rc = dict(cfg.get("ResultConfiguration") or {})
        for key in ("OutputLocation", "EncryptionConfiguration", "ExpectedBucketOwner", "AclConfiguration"):
            if key in rc_upd:
                rc[key] = rc_upd[key]
            if rc_upd.get(f"Remove{key}"):
                rc.pop(key, None)
        cfg["ResultConfiguration"] = rc
    mq_upd = upd.get("ManagedQueryResultsConfigurationUpdates")
    if mq_upd is not None:
        mq = dict(cfg.get("ManagedQueryResultsConfiguration") or {"Enabled": False})
        if "Enabled" in mq_upd:
            mq["Enabled"] = bool(mq_upd["Enabled"])
        if "EncryptionConfiguration" in mq_upd:
            mq["EncryptionConfiguration"] = mq_upd["EncryptionConfiguration"]
        if mq_upd.get("RemoveEncryptionConfiguration"):
            mq.pop("EncryptionConfiguration", None)
        cfg["ManagedQueryResultsConfiguration"] = mq
    _check_managed(cfg)  # refused before anything changes
    wg.configuration.clear()
    wg.configuration.update(cfg)
    if state is not None:
        wg.state = state
    if "Description" in p:
        wg.description = p["Description"]
    return {}
