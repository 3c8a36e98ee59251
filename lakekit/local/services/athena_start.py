"""What ``StartQueryExecution`` decides before a query is queued: where results go, what SQL runs.

- :func:`result_location`: the output location from the workgroup and the request
  (``EnforceWorkGroupConfiguration``), or Athena-owned storage for a workgroup with managed query
  results (then a ``ResultConfiguration`` in the request is refused:
  "ManagedQueryResultsConfiguration and ResultConfiguration cannot be set together.").
- :func:`plan`: syntax errors Athena refuses up front (``InvalidRequestException``), execution
  parameters bound into the ``?`` placeholders, prepared statements (``PREPARE`` stores the
  statement in the workgroup, ``EXECUTE name [USING ...]`` or ``EXECUTE name`` with
  ``ExecutionParameters`` runs it, ``DEALLOCATE PREPARE`` removes it). A parameter count mismatch
  is not refused: the query FAILS ("Incorrect number of parameters: expected 1 but found 0").

Example::

    p = plan(req, "primary", "SELECT * FROM t WHERE a = ?", ["'x'"])
    p.sql   # "SELECT * FROM t WHERE a = 'x'"
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lakekit.local.athena import AthenaQueryError
from lakekit.local.athena import _requests as rq
from lakekit.local.registry import AwsError, AwsRequest
from lakekit.local.services.athena_managed import ManagedStore
from lakekit.local.services.athena_workgroups import MANAGED_CONFLICT_MESSAGE, managed_config

__all__ = ["NO_OUTPUT_MESSAGE", "Location", "Plan", "result_location", "plan"]

log = logging.getLogger(__name__)

NO_OUTPUT_MESSAGE = ("No output location provided. An output location is required either through the "
                     "Workgroup result configuration setting or as an API input.")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, 400)


@dataclass
class Location:
    """Where a query's result files go: ``bucket``/``prefix`` (a :class:`ManagedStore` when managed)."""

    result_cfg: dict[str, Any]  # the effective ResultConfiguration (empty when managed)
    output: str | None  # the OutputLocation (None when managed)
    bucket: str
    prefix: str
    managed: dict[str, Any] | None = None  # the workgroup's ManagedQueryResultsConfiguration


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise _invalid(f"OutputLocation {uri!r} is not an s3:// URI: use s3://bucket/prefix/.")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise _invalid(f"OutputLocation {uri!r} names no bucket: use s3://bucket/prefix/.")
    return bucket, key


def result_location(req: AwsRequest, wg_name: str, cfg: dict[str, Any]) -> Location:
    """The result location of a query in workgroup ``wg_name`` (configuration ``cfg``)."""
    client_result = req.params.get("ResultConfiguration") or {}
    managed = managed_config(cfg)
    if managed is not None:
        if client_result:
            raise _invalid(MANAGED_CONFLICT_MESSAGE)
        return Location({}, None, ManagedStore.BUCKET, f"{req.account_id}/{req.region}/{wg_name}/", dict(managed))
    wg_result = cfg.get("ResultConfiguration") or {}
    enforced = bool(cfg.get("EnforceWorkGroupConfiguration", False))
    if enforced and wg_result.get("OutputLocation"):
        result_cfg = dict(wg_result)
    elif client_result.get("OutputLocation"):
        result_cfg = dict(client_result)
        if enforced:
            result_cfg.update({k: v for k, v in wg_result.items() if k != "OutputLocation"})
    elif wg_result.get("OutputLocation"):
        result_cfg = {**wg_result, **{k: v for k, v in client_result.items() if k != "OutputLocation"}}
    else:
        raise _invalid(NO_OUTPUT_MESSAGE)
    output = result_cfg["OutputLocation"]
    bucket, prefix = _split_s3(output)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return Location(result_cfg, output, bucket, prefix)


@dataclass
class Plan:
    """The statement a request runs: ``sql`` (parameters bound), or a ``failure`` to record, or a
    prepared-statement ``utility`` (PREPARE / DEALLOCATE) done at once."""

    sql: str
    failure: AthenaQueryError | None = None
    utility: str | None = None


def _statements(req: AwsRequest) -> dict[str, Any]:
    from moto.athena.models import athena_backends

    return athena_backends[req.account_id][req.region].prepared_statements


def _not_found(name: str, wg_name: str) -> AwsError:
    return _invalid(f"Prepared statement not found: {name} (workgroup {wg_name}). PREPARE it (or "
                    "CreatePreparedStatement) in this workgroup first.")


def plan(req: AwsRequest, wg_name: str, sql: str, params: list[str]) -> Plan:
    """Check ``sql`` as Athena does at submission and decide what runs (see the module doc)."""
    error = rq.syntax_error(sql)
    if error is not None:
        raise _invalid(error)
    prep = rq.prepared_statement(sql)
    if prep is None:
        return _bound(sql, params)
    store = _statements(req)
    if prep.kind == "PREPARE":
        from moto.athena.models import PreparedStatement

        store[prep.name] = PreparedStatement(prep.name, wg_name, prep.statement, "")  # type: ignore[arg-type]
        return Plan(sql, utility="PREPARE")
    stmt = store.get(prep.name)
    if stmt is None or stmt.workgroup != wg_name:
        raise _not_found(prep.name, wg_name)
    if prep.kind == "DEALLOCATE":
        del store[prep.name]
        return Plan(sql, utility="DEALLOCATE")
    if prep.using is not None and params:
        raise _invalid("EXECUTE ... USING and ExecutionParameters were both given: pass the values one way.")
    return _bound(stmt.query_statement, prep.using if prep.using is not None else params)


def _bound(sql: str, values: list[str]) -> Plan:
    try:
        return Plan(rq.bind(sql, values))
    except AthenaQueryError as err:
        return Plan(sql, failure=err)
