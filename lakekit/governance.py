"""Lake Formation lesson helpers: grants as a table, assumed roles, Athena as another principal.

Identical on ``local`` and ``aws``: plain Lake Formation, STS and Athena API calls.

Example::

    >>> import lakekit as lk
    >>> from lakekit import governance as gov
    >>> gov.permissions()                                              # doctest: +SKIP
    >>> creds = gov.assume_role(out["AnalystFullRoleArn"])             # doctest: +SKIP
    >>> r = gov.query("SELECT count(*) AS n FROM flights", out["AnalystsWorkGroup"],
    ...               out["DatabaseName"], credentials=creds)          # doctest: +SKIP
    >>> r.state, r.frame                                               # doctest: +SKIP
    ('SUCCEEDED',        n
                  0  336776)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from lakekit.config import Settings
from lakekit.config import settings as _settings
from lakekit.session import client as _client
from lakekit.session import session as _session

__all__ = [
    "IAM_ALLOWED_PRINCIPALS",
    "QueryOutcome",
    "permissions",
    "use_lake_formation_permissions",
    "iam_allowed_tables",
    "assume_role",
    "query",
]

IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"


def _short(principal: str) -> str:
    """``arn:aws:iam::123:role/lakekit-analyst-full`` -> ``role/lakekit-analyst-full``."""
    return principal.split(":", 5)[-1] if principal.startswith("arn:") else principal


def _describe_resource(res: dict[str, Any]) -> tuple[str, str]:
    kind = next(iter(res))
    r = res[kind]
    if kind == "Database":
        return kind, r["Name"]
    if kind == "Table":
        return kind, f"{r['DatabaseName']}.{r.get('Name', '*')}"
    if kind == "TableWithColumns":
        cols = (", ".join(r["ColumnNames"]) if r.get("ColumnNames") is not None else
                "* except " + ", ".join((r.get("ColumnWildcard") or {}).get("ExcludedColumnNames") or []))
        return kind, f"{r['DatabaseName']}.{r['Name']} ({cols})"
    if kind == "DataCellsFilter":
        return kind, f"{r['DatabaseName']}.{r['TableName']} filter {r['Name']}"
    if kind == "DataLocation":
        return kind, r["ResourceArn"]
    if kind == "LFTagPolicy":
        expr = " AND ".join(f"{e['TagKey']} in ({', '.join(e['TagValues'])})" for e in r["Expression"])
        return kind, f"{r['ResourceType']} where {expr}"
    if kind == "LFTag":
        return kind, f"{r['TagKey']} = {', '.join(r['TagValues'])}"
    return kind, str(r)


def permissions(principal: str | None = None, s: Settings | None = None, **filters: Any):
    """Lake Formation grants as a DataFrame (the console's *Data lake permissions* page).

    Columns: principal, resource_type, resource, permissions, grantable. ``principal`` (an
    ARN) keeps that principal's rows; ``filters`` (e.g. ``Resource=...``) go to ListPermissions.
    """
    import pandas as pd

    lf = _client("lakeformation", s or _settings())
    kw: dict[str, Any] = dict(filters)
    if principal and "Resource" in kw:  # ListPermissions takes a Principal only with a Resource
        kw["Principal"] = {"DataLakePrincipalIdentifier": principal}
    rows = []
    while True:  # ListPermissions has no boto3 paginator
        page = lf.list_permissions(**kw)
        for g in page["PrincipalResourcePermissions"]:
            if principal and g["Principal"]["DataLakePrincipalIdentifier"] != principal:
                continue
            kind, what = _describe_resource(g["Resource"])
            rows.append({"principal": _short(g["Principal"]["DataLakePrincipalIdentifier"]),
                         "resource_type": kind, "resource": what,
                         "permissions": ", ".join(sorted(g.get("Permissions") or [])),
                         "grantable": ", ".join(sorted(g.get("PermissionsWithGrantOption") or []))})
        if not page.get("NextToken"):
            break
        kw["NextToken"] = page["NextToken"]
    cols = ["principal", "resource_type", "resource", "permissions", "grantable"]
    return pd.DataFrame(rows, columns=cols).sort_values(cols[:3], ignore_index=True)


def iam_allowed_tables(database: str, s: Settings | None = None) -> list[str]:
    """Tables of ``database`` still readable by any IAM principal (IAM_ALLOWED_PRINCIPALS)."""
    s = s or _settings()
    lf, glue = _client("lakeformation", s), _client("glue", s)
    out = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for t in page["TableList"]:
            got = lf.list_permissions(Principal={"DataLakePrincipalIdentifier": IAM_ALLOWED_PRINCIPALS},
                                      Resource={"Table": {"DatabaseName": database, "Name": t["Name"]}})
            if any("Table" in g["Resource"] for g in got["PrincipalResourcePermissions"]):
                out.append(t["Name"])
    return sorted(out)


def use_lake_formation_permissions(database: str, tables: list[str] | None = None,
                                   s: Settings | None = None) -> list[str]:
    """Revoke IAM_ALLOWED_PRINCIPALS from the tables (default: all of ``database``); -> revoked.

    Tables a crawler creates keep the account's default grant to IAM_ALLOWED_PRINCIPALS
    (IAM policies alone decide); after this only Lake Formation grants do. Idempotent.
    """
    s = s or _settings()
    lf = _client("lakeformation", s)
    targets = tables if tables is not None else iam_allowed_tables(database, s)
    done = []
    for name in targets:
        try:
            lf.revoke_permissions(Principal={"DataLakePrincipalIdentifier": IAM_ALLOWED_PRINCIPALS},
                                  Resource={"Table": {"DatabaseName": database, "Name": name}},
                                  Permissions=["ALL"])
            done.append(name)
        except ClientError as exc:  # nothing to revoke: already in Lake Formation mode
            if exc.response["Error"]["Code"] not in ("InvalidInputException", "EntityNotFoundException"):
                raise
    return done


def assume_role(role_arn: str, session_name: str = "lakekit-lesson",
                s: Settings | None = None) -> dict[str, str]:
    """STS AssumeRole -> keyword credentials for :func:`lakekit.session` / :func:`query`."""
    c = _client("sts", s or _settings()).assume_role(RoleArn=role_arn, RoleSessionName=session_name)
    c = c["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


@dataclass
class QueryOutcome:
    """One Athena query: final ``state``, ``frame`` (SUCCEEDED) or ``error`` (FAILED/CANCELLED)."""

    query_id: str
    state: str
    frame: Any = None
    error: str = ""
    scanned_bytes: int = 0
    columns: list[str] = field(default_factory=list)


def query(sql: str, workgroup: str, database: str, credentials: dict[str, str] | None = None,
          s: Settings | None = None, timeout: float = 300.0) -> QueryOutcome:
    """Run ``sql`` in ``workgroup`` as the given principal (default: you); wait up to ``timeout`` s.

    A FAILED query is returned (``state``/``error``), not raised: the lesson shows denials.
    """
    from lakekit import athena

    sess = _session(s or _settings(), **(credentials or {}))
    try:
        frame, stats = athena.query(sql, database, workgroup, timeout=timeout, progress=False,
                                    boto3_session=sess,  # an assumed analyst may not PutMetricData
                                    publish_metrics=credentials is None)
    except athena.QueryFailed as failed:
        st = failed.stats
        return QueryOutcome(st.query_id, st.state, error=st.reason, scanned_bytes=st.data_scanned_bytes)
    return QueryOutcome(stats.query_id, stats.state, frame=frame, scanned_bytes=stats.data_scanned_bytes,
                        columns=list(frame.columns))
