"""Preflight for a real AWS account: can this identity run the workshop, and what will it cost?

Run it before anything is created (``lakekit aws preflight`` or, in a notebook,
``lakekit.preflight.run()``). It reads only — nothing is created — and prints one verdict
line per check:

- ``OK``      nothing to do;
- ``ACTION``  something to do (or to ask your administrator for) before deploying;
- ``NOTE``    worth knowing, nothing to do.

Checks: credentials and the caller's full IAM ARN (an assumed role's real ARN, with its
path, as deploy passes it to Lake Formation), the region, whether the caller is a Lake
Formation data lake administrator (``GetDataLakeSettings``) or may become one (the IAM
permission ``lakeformation:PutDataLakeSettings``, checked with
``iam:SimulatePrincipalPolicy`` together with the other permissions deploy needs), the
account's Lake Formation defaults (``IAM_ALLOWED_PRINCIPALS`` in
CreateDatabaseDefaultPermissions / CreateTableDefaultPermissions), the
``CAPABILITY_NAMED_IAM`` the stack needs, and an estimate of one full workshop run from
list prices (:func:`estimate`).

Example::

    >>> from lakekit import preflight
    >>> report = preflight.run()            # doctest: +SKIP
    OK     credentials: account 111122223333, arn:aws:iam::111122223333:role/aws-reserved/...
    ...
    >>> report.ok                           # doctest: +SKIP
    True
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lakekit.config import Settings
from lakekit.config import settings as _settings
from lakekit.exceptions import DeployError
from lakekit.session import client as _client

__all__ = ["Check", "Report", "Prices", "Workload", "PRICES", "PRICES_DATE", "WORKLOAD",
           "DEPLOY_ACTIONS", "estimate", "run"]

log = logging.getLogger(__name__)

IAM_ALLOWED = "IAM_ALLOWED_PRINCIPALS"

#: the date of the list prices below (AWS pricing pages, us-east-1, on-demand)
PRICES_DATE = "2025-06-01"


@dataclass(frozen=True)
class Prices:
    """On-demand list prices, us-east-1, as of :data:`PRICES_DATE` (USD)."""

    glue_dpu_hour: float = 0.44          # Glue Spark job, per DPU-hour, billed per second
    glue_job_min_seconds: int = 60       # ... 1-minute minimum per run (Glue 2.0+)
    crawler_dpu_hour: float = 0.44       # Glue crawler, per DPU-hour, billed per second
    crawler_min_seconds: int = 600       # ... 10-minute minimum per crawl
    athena_per_tb: float = 5.00          # Athena SQL, per TB scanned (TB = 2**40 bytes)
    athena_min_bytes: int = 10 * 2**20   # ... 10 MB minimum per query, rounded up to the MB
    kms_key_month: float = 1.00          # customer managed key, per month, prorated hourly
    hours_per_month: int = 730           # AWS's month for hourly proration
    secret_month: float = 0.40           # Secrets Manager, per secret per month, prorated hourly
    secrets_per_10k_calls: float = 0.05  # ... per 10,000 API calls
    lambda_per_million: float = 0.20     # Lambda requests
    lambda_gb_second: float = 0.0000166667  # Lambda duration, x86_64
    s3_gb_month: float = 0.023           # S3 Standard, first 50 TB
    s3_put_per_1000: float = 0.005       # PUT, COPY, POST, LIST
    s3_get_per_1000: float = 0.0004      # GET, SELECT and the rest


PRICES = Prices()


@dataclass(frozen=True)
class Workload:
    """What one full workshop run (notebooks 00-06 and 99) uses; defaults: the template's sizes."""

    glue_job_runs: int = 2
    glue_job_seconds: float = 180.0      # one ETL run over the sample (about 3 minutes)
    glue_workers: int = 2                # template: WorkerType G.1X, NumberOfWorkers 2
    glue_dpu_per_worker: float = 1.0     # G.1X = 1 DPU
    crawler_runs: int = 2
    crawler_seconds: float = 90.0        # a crawl of the processed zone (billed 10 minutes)
    crawler_dpus: float = 2.0            # DPUs AWS bills a small crawl with
    athena_query_bytes: tuple[int, ...] = (2 * 2**20,) * 30 + (30 * 2**20,) * 6
    hours_deployed: float = 4.0          # the KMS key exists this long (then pending deletion: free)
    secrets: int = 1                     # template: TokenKey (read once per job run)
    lambda_invocations: int = 50
    lambda_memory_mb: int = 512          # IngestFunction (api-pull: 256)
    lambda_seconds: float = 2.0
    s3_gb: float = 0.5                   # data + results kept during the run
    s3_puts: int = 2_000
    s3_gets: int = 20_000


WORKLOAD = Workload()


def estimate(workload: Workload = WORKLOAD, prices: Prices = PRICES) -> dict[str, float]:
    """USD per item of one workshop run, and ``"total"`` (list prices, before any free tier).

    >>> round(estimate()["glue job"], 4)
    0.088
    """
    w, p = workload, prices
    job_seconds = max(w.glue_job_seconds, p.glue_job_min_seconds)
    glue = w.glue_job_runs * w.glue_workers * w.glue_dpu_per_worker * job_seconds / 3600 * p.glue_dpu_hour
    crawl_seconds = max(w.crawler_seconds, p.crawler_min_seconds)
    crawler = w.crawler_runs * w.crawler_dpus * crawl_seconds / 3600 * p.crawler_dpu_hour
    mb = 2**20
    billed = sum(max(math.ceil(b / mb) * mb, p.athena_min_bytes) for b in w.athena_query_bytes)
    athena = billed / 2**40 * p.athena_per_tb
    kms = math.ceil(w.hours_deployed) / p.hours_per_month * p.kms_key_month
    lam = (w.lambda_invocations / 1e6 * p.lambda_per_million
           + w.lambda_invocations * w.lambda_memory_mb / 1024 * w.lambda_seconds * p.lambda_gb_second)
    s3 = (w.s3_gb * w.hours_deployed / p.hours_per_month * p.s3_gb_month
          + w.s3_puts / 1000 * p.s3_put_per_1000 + w.s3_gets / 1000 * p.s3_get_per_1000)
    secrets = (w.secrets * math.ceil(w.hours_deployed) / p.hours_per_month * p.secret_month
               + w.glue_job_runs / 10_000 * p.secrets_per_10k_calls)
    out = {"glue job": glue, "glue crawler": crawler, "athena": athena, "kms key": kms,
           "secrets manager": secrets, "lambda": lam, "s3": s3}
    out["total"] = sum(out.values())
    return out


@dataclass
class Check:
    name: str
    verdict: str   # OK | ACTION | NOTE
    detail: str

    def line(self) -> str:
        return f"{self.verdict:<6} {self.name}: {self.detail}"


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    caller_arn: str = ""
    cost: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No ACTION line: the account is ready for the workshop."""
        return not any(c.verdict == "ACTION" for c in self.checks)

    def verdict(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


#: what deploy does with the caller's own permissions (CloudFormation uses them: no service role)
DEPLOY_ACTIONS = (
    "lakeformation:PutDataLakeSettings", "lakeformation:GetDataLakeSettings",
    "cloudformation:CreateStack", "iam:CreateRole", "iam:PassRole", "kms:CreateKey",
    "s3:CreateBucket", "lambda:CreateFunction", "glue:CreateJob", "athena:CreateWorkGroup",
)


def _err(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        e = exc.response.get("Error", {})
        return f"{e.get('Code')}: {e.get('Message')}"
    return str(exc)


def _is_admin(principal: str, settings: dict[str, Any]) -> bool:
    return any(a.get("DataLakePrincipalIdentifier") == principal for a in settings.get("DataLakeAdmins", []))


def _simulate(iam: Any, principal: str) -> dict[str, str] | str:
    """action -> EvalDecision, or the reason the simulation could not be made."""
    try:
        resp = iam.simulate_principal_policy(PolicySourceArn=principal, ActionNames=list(DEPLOY_ACTIONS))
    except (ClientError, BotoCoreError) as exc:
        return _err(exc)
    return {r["EvalActionName"]: r["EvalDecision"] for r in resp.get("EvaluationResults", [])}


def run(s: Settings | None = None, out: Callable[[str], Any] | None = print,
        workload: Workload = WORKLOAD) -> Report:
    """Check the account and print one verdict line per check; returns the :class:`Report`."""
    from lakekit.deploy import principal_arn

    s = s or _settings()
    report = Report()

    def add(name: str, verdict: str, detail: str) -> None:
        check = Check(name, verdict, detail)
        report.checks.append(check)
        if out is not None:
            out(check.line())

    if s.is_local:
        add("target", "NOTE", "LAKEKIT_TARGET=local: the local endpoint costs nothing; these checks "
                              "are about a real account (lakekit aws preflight sets target aws).")
    # -- credentials and the caller's full ARN
    try:
        ident = _client("sts", s).get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        add("credentials", "ACTION", f"no usable AWS credentials ({_err(exc)}). Sign in first: "
            "`aws sso login --profile NAME` and `export AWS_PROFILE=NAME` (or `aws configure`), "
            "then run the preflight again.")
        return _finish(report, workload, add)
    iam = _client("iam", s)
    try:
        principal = principal_arn(ident["Arn"], iam, local=s.is_local)
    except DeployError as exc:
        add("credentials", "ACTION", f"account {ident['Account']}, session {ident['Arn']}: {exc}")
        return _finish(report, workload, add)
    report.caller_arn = principal
    add("credentials", "OK", f"account {ident['Account']}, {principal}"
        + (f" (session {ident['Arn']})" if principal != ident["Arn"] else ""))
    add("region", "OK" if s.region == "us-east-1" else "NOTE",
        s.region if s.region == "us-east-1" else
        f"{s.region} (set with LAKEKIT_REGION/AWS_REGION); the cost estimate uses us-east-1 prices")

    # -- Lake Formation: admin now, or may become one
    decisions = _simulate(iam, principal)
    try:
        lf_settings = _client("lakeformation", s).get_data_lake_settings()["DataLakeSettings"]
    except (ClientError, BotoCoreError) as exc:
        lf_settings = None
        add("lake formation admin", "ACTION", f"cannot read the data lake settings ({_err(exc)}): ask "
            f"for the IAM permissions lakeformation:GetDataLakeSettings and "
            f"lakeformation:PutDataLakeSettings for {principal}.")
    if lf_settings is not None:
        if _is_admin(principal, lf_settings):
            add("lake formation admin", "OK", f"{principal} is a data lake administrator.")
        elif isinstance(decisions, dict) and decisions.get("lakeformation:PutDataLakeSettings") == "allowed":
            add("lake formation admin", "OK", "not a data lake administrator yet, and may become one "
                "(IAM allows lakeformation:PutDataLakeSettings): deploy adds you next to the existing "
                "admins (DataLakeSettings, MutationType APPEND).")
        elif isinstance(decisions, dict):
            add("lake formation admin", "ACTION", f"{principal} is not a data lake administrator and "
                f"may not become one (lakeformation:PutDataLakeSettings: "
                f"{decisions.get('lakeformation:PutDataLakeSettings', 'not evaluated')}). Ask a data "
                "lake administrator to add this ARN under Lake Formation > Administrative roles and "
                "tasks, or your IAM administrator for lakeformation:PutDataLakeSettings and "
                "lakeformation:GetDataLakeSettings.")
        else:
            add("lake formation admin", "ACTION", f"{principal} is not a data lake administrator, and "
                f"whether it may become one could not be checked ({decisions}). Ask for "
                "lakeformation:PutDataLakeSettings (or to be added as a data lake administrator), "
                "or for iam:SimulatePrincipalPolicy on your role so the preflight can tell.")
        _defaults(lf_settings, add)
    # -- what deploy needs from IAM
    if isinstance(decisions, dict):
        denied = [a for a in DEPLOY_ACTIONS if a.startswith(("cloudformation", "iam", "kms", "s3",
                                                              "lambda", "glue", "athena"))
                  and decisions.get(a) != "allowed"]
        if denied:
            add("deploy permissions", "ACTION", f"IAM does not allow {', '.join(denied)} for "
                f"{principal}: ask your administrator for them (or for AdministratorAccess in a "
                "sandbox account).")
        else:
            add("deploy permissions", "OK", f"IAM allows {', '.join(a for a in DEPLOY_ACTIONS if not a.startswith('lakeformation'))}.")
    else:
        add("deploy permissions", "NOTE", f"not checked: iam:SimulatePrincipalPolicy failed ({decisions}).")
    add("capabilities", "NOTE", "the stack creates named IAM roles: deploy passes "
        "CAPABILITY_NAMED_IAM; with the CLI or the console acknowledge it too "
        "(--capabilities CAPABILITY_NAMED_IAM).")
    return _finish(report, workload, add)


def _defaults(lf_settings: dict[str, Any], add: Callable[[str, str, str], None]) -> None:
    def holds(key: str) -> bool:
        return any(p.get("Principal", {}).get("DataLakePrincipalIdentifier") == IAM_ALLOWED
                   for p in lf_settings.get(key) or [])

    db, table = holds("CreateDatabaseDefaultPermissions"), holds("CreateTableDefaultPermissions")
    if db and table:
        add("lake formation defaults", "OK", "CreateDatabaseDefaultPermissions and "
            "CreateTableDefaultPermissions hold IAM_ALLOWED_PRINCIPALS: new databases and tables "
            "are governed by IAM until the governance phase revokes that grant on the lake's tables "
            "(deploy(governance=True)).")
    else:
        missing = [k for k, v in (("CreateDatabaseDefaultPermissions", db),
                                  ("CreateTableDefaultPermissions", table)) if not v]
        add("lake formation defaults", "ACTION", f"{' and '.join(missing)} do not hold "
            "IAM_ALLOWED_PRINCIPALS: Lake Formation governs new tables from the start, so the "
            "crawler's tables are not readable through IAM alone. Use an account with the default "
            "settings, or have a data lake administrator grant you, the Glue role and the analyst "
            "roles DESCRIBE/SELECT on the lake's tables after notebook 04.")


def _finish(report: Report, workload: Workload, add: Callable[[str, str, str], None]) -> Report:
    report.cost = estimate(workload)
    parts = ", ".join(f"{k} ${v:.2f}" for k, v in report.cost.items() if k != "total")
    add("estimated cost", "NOTE", f"${report.cost['total']:.2f} for one full workshop run "
        f"(us-east-1 list prices of {PRICES_DATE}, before the free tier: {parts}). Run "
        "notebook 99 (teardown) afterwards: a deployed lake keeps costing the KMS key and storage.")
    return report
