"""Deploy and tear down the data lake stack — identical on ``local`` and ``aws``.

The template ``cloudformation/datalake.yaml`` is deployed in two phases because the
Lambda zips and the Glue script must sit in the artifacts bucket the stack itself creates
(what ``aws cloudformation package`` solves with a pre-existing bucket):

1. ``DeployCompute=false``: KMS, S3 zones, IAM, Glue database, Athena, Lake Formation.
2. :func:`upload_assets` puts ``lambda/ingest-<sha>.zip``, ``lambda/api_pull-<sha>.zip``
   and ``scripts/etl.py`` into the artifacts bucket.
3. ``DeployCompute=true``: the Lambdas, the landing notification, Glue job, crawler, trigger.
4. ``DeployGovernance=true`` (``deploy(governance=True)``, once the crawler made the tables):
   LF-tags and their assignments, the analysts' LF-tag grant and the data cells filter. The
   lake's tables are switched to Lake Formation permissions first (the implicit
   IAM_ALLOWED_PRINCIPALS grant is revoked), otherwise the grants would decide nothing.

Example::

    >>> import lakekit as lk
    >>> from lakekit import deploy
    >>> lk.connect()                                  # doctest: +SKIP
    >>> out = deploy.deploy()                         # doctest: +SKIP
    >>> out["RawBucket"]                              # doctest: +SKIP
    'lakekit-raw-123456789012-us-east-1'
    >>> deploy.teardown()                             # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lakekit import _stacks
from lakekit.config import Settings
from lakekit.config import settings as _settings
from lakekit.exceptions import DeployError, WaitTimeout
from lakekit.session import client as _client

__all__ = [
    "TEMPLATE",
    "GOVERNED_TABLES",
    "Asset",
    "stack_name",
    "lint",
    "package_assets",
    "upload_assets",
    "deploy",
    "deployer_arn",
    "principal_arn",
    "wait_for_stack",
    "outputs",
    "resources",
    "events",
    "expected_resources",
    "teardown",
    "empty_bucket",
    "remaining",
]

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "cloudformation" / "datalake.yaml"
PACKAGE = Path(__file__).resolve().parent
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"}
_DEFAULT_TIMEOUT = 1800.0
#: tables the governance phase tags, filters and grants (the crawler must have made them)
GOVERNED_TABLES = ("flights", "airlines")


@dataclass(frozen=True)
class Asset:
    """One file deploy puts in the artifacts bucket (``parameter`` names its template key)."""

    parameter: str
    key: str
    body: bytes
    sha256: str


def stack_name(s: Settings | None = None) -> str:
    """``<LAKEKIT_PREFIX>-datalake``."""
    return f"{(s or _settings()).prefix}-datalake"


# ---------------------------------------------------------------- lint
def lint(template: str | Path = TEMPLATE) -> list[dict[str, Any]]:
    """cfn-lint findings for the template (empty list = clean).

    >>> lint()   # doctest: +SKIP
    []
    """
    from cfnlint.api import lint_file

    findings = []
    for m in lint_file(Path(template)):
        findings.append({
            "rule": m.rule.id, "level": m.rule.severity if hasattr(m.rule, "severity") else "",
            "location": f"line {m.linenumber}" + (f" ({'/'.join(str(p) for p in m.path)})" if getattr(m, "path", None) else ""),
            "message": m.message,
        })
    return findings


# ---------------------------------------------------------------- assets
def _zip_folder(folder: Path) -> bytes:
    """A deterministic zip (sorted names, fixed timestamps) of the folder's .py files."""
    files = sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    if not any(p.name == "handler.py" for p in files):
        raise DeployError(f"{folder} has no handler.py: the Lambda handler is "
                          "handler.lambda_handler. Restore the file (git checkout) and deploy again.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def package_assets(s: Settings | None = None) -> dict[str, Asset]:
    """Zip the Lambda sources and read the Glue script; keys carry the content hash.

    >>> sorted(package_assets())   # doctest: +SKIP
    ['ApiPullCodeKey', 'GlueScriptKey', 'IngestCodeKey']
    """
    out: dict[str, Asset] = {}
    for parameter, folder, stem in (("IngestCodeKey", "ingest", "ingest"),
                                    ("ApiPullCodeKey", "api_pull", "api_pull")):
        body = _zip_folder(PACKAGE / "lambdas" / folder)
        sha = hashlib.sha256(body).hexdigest()
        out[parameter] = Asset(parameter, f"lambda/{stem}-{sha[:16]}.zip", body, sha)
    script = PACKAGE / "jobs" / "etl.py"
    if not script.exists():
        raise DeployError(f"{script} is missing: it is the Glue job script. Restore it and deploy again.")
    body = script.read_bytes()
    out["GlueScriptKey"] = Asset("GlueScriptKey", "scripts/etl.py", body, hashlib.sha256(body).hexdigest())
    return out


def upload_assets(s: Settings | None = None, assets: dict[str, Asset] | None = None,
                  bucket: str | None = None) -> dict[str, str]:
    """Upload what :func:`package_assets` made (skips identical objects); -> parameter: key."""
    s = s or _settings()
    assets = assets or package_assets(s)
    bucket = bucket or outputs(s).get("ArtifactsBucket")
    if not bucket:
        raise DeployError(f"stack {stack_name(s)} has no ArtifactsBucket output yet: run "
                          "deploy.deploy() (it creates the bucket first, then uploads).")
    s3 = _client("s3", s)
    # "aws:kms" without a key id means the AWS managed key aws/s3, not the bucket's default key
    # (S3 PutObject reference): name the lake key, or leave encryption to the bucket default.
    key_arn = outputs(s).get("DataKeyArn")
    sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn} if key_arn else {}
    for asset in assets.values():
        try:
            head = s3.head_object(Bucket=bucket, Key=asset.key)
            if head.get("Metadata", {}).get("sha256") == asset.sha256:
                continue
        except ClientError:
            pass
        s3.put_object(Bucket=bucket, Key=asset.key, Body=asset.body, Metadata={"sha256": asset.sha256},
                      **sse)
    return {a.parameter: a.key for a in assets.values()}


def _check_assets(s: Settings, bucket: str, keys: dict[str, str]) -> None:
    s3 = _client("s3", s)
    what = {"IngestCodeKey": "AWS::Lambda::Function IngestFunction: Code",
            "ApiPullCodeKey": "AWS::Lambda::Function ApiPullFunction: Code",
            "GlueScriptKey": "AWS::Glue::Job EtlJob: ScriptLocation"}
    for parameter, key in keys.items():
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            raise DeployError(f"stack {stack_name(s)} failed: {what.get(parameter, parameter)} "
                              f"s3://{bucket}/{key} does not exist — run deploy.upload_assets() "
                              "first.") from None


# ---------------------------------------------------------------- stack helpers
def _describe(s: Settings) -> dict[str, Any] | None:
    return _stacks.describe(_client("cloudformation", s), stack_name(s))


def outputs(s: Settings | None = None) -> dict[str, str]:
    """The stack's outputs as a dict ({} when the stack does not exist)."""
    return _stacks.outputs_of(_describe(s or _settings()))


def resources(s: Settings | None = None):
    """The stack's resources as a DataFrame (what the console's Resources tab shows)."""
    import pandas as pd

    s = s or _settings()
    cf = _client("cloudformation", s)
    rows = []
    for page in cf.get_paginator("list_stack_resources").paginate(StackName=stack_name(s)):
        for r in page["StackResourceSummaries"]:
            rows.append({"logical_id": r["LogicalResourceId"], "type": r["ResourceType"],
                         "physical_id": r.get("PhysicalResourceId", ""), "status": r["ResourceStatus"],
                         "reason": r.get("ResourceStatusReason", "")})
    return pd.DataFrame(rows, columns=["logical_id", "type", "physical_id", "status", "reason"])


def events(s: Settings | None = None, limit: int = 30):
    """The newest stack events as a DataFrame (the console's Events tab)."""
    import pandas as pd

    s = s or _settings()
    evs = _client("cloudformation", s).describe_stack_events(StackName=stack_name(s))["StackEvents"][:limit]
    return pd.DataFrame([{"time": e["Timestamp"], "logical_id": e["LogicalResourceId"],
                          "type": e["ResourceType"], "status": e["ResourceStatus"],
                          "reason": e.get("ResourceStatusReason", "")} for e in evs])


def _progress(total: int | None, desc: str, enabled: bool):
    if not enabled:
        return None
    from lakekit.waiters import progress_bar  # ends green at 100 % with one text line

    return progress_bar(total=total, desc=desc, unit="resource", leave=True)


def wait_for_stack(s: Settings | None = None, timeout: float = _DEFAULT_TIMEOUT, progress: bool = True,
         total: int | None = None, since: float | None = None, name: str | None = None) -> str:
    """Wait until the stack's operation ends; a progress bar shows resource events.

    Returns the final status; raises :class:`DeployError` naming the failed resource, its
    type and reason, or :class:`WaitTimeout` after ``timeout`` seconds.
    """
    s = s or _settings()
    name = name or stack_name(s)
    cf = _client("cloudformation", s)
    deadline = time.monotonic() + timeout
    pause = 0.3 if s.is_local else 3.0
    seen: set[str] = set()
    bar = _progress(total, name, progress)
    status = "UNKNOWN"
    failures: list[dict[str, Any]] = []
    try:
        while True:
            try:
                stack = cf.describe_stacks(StackName=name)["Stacks"][0]
                status = stack["StackStatus"]
            except ClientError as exc:
                if "does not exist" in str(exc):
                    status = "DELETE_COMPLETE"
                    stack = {}
                else:
                    raise
            evs = []
            if stack:
                evs = cf.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
            for e in reversed(evs):
                ts = e["Timestamp"].timestamp()
                if e["EventId"] in seen or (since is not None and ts < since):
                    continue
                seen.add(e["EventId"])
                if e["ResourceType"] == "AWS::CloudFormation::Stack":
                    continue
                if e["ResourceStatus"].endswith("_FAILED"):
                    failures.append(e)
                if bar is not None:
                    bar.set_postfix_str(f"{e['LogicalResourceId']} {e['ResourceStatus']}", refresh=False)
                    if e["ResourceStatus"].endswith("_COMPLETE") or e["ResourceStatus"] == "DELETE_SKIPPED":
                        bar.update(1)
            if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
                break
            if time.monotonic() > deadline:
                raise WaitTimeout(f"stack {name} is still {status} after {timeout:.0f} s: look at "
                                  "deploy.events() (or the console's Events tab) and call "
                                  "deploy.wait_for_stack() again.")
            time.sleep(pause)
    finally:
        if bar is not None:
            if status in _OK and bar.total and bar.n != bar.total:
                # an update touches fewer resources than the stack has: a success ends at 100%
                # (tqdm paints a bar closed short of its total red)
                done = bar.n
                bar.reset(total=max(done, 1))
                bar.update(max(done, 1))
            bar.set_postfix_str(status)
            bar.close()
    if status not in _OK:
        if failures:
            first = failures[0]
            detail = (f"{first['ResourceType']} {first['LogicalResourceId']}: "
                      f"{first.get('ResourceStatusReason', '')}")
        else:
            detail = stack.get("StackStatusReason", "") if stack else ""
        raise DeployError(f"stack {name} failed ({status}): {detail}. Fix the template or the "
                          "assets and run deploy() again (deploy.events() lists every event).")
    return status


def expected_resources(phase_compute: bool, governance: bool = False, pipeline: bool = False) -> int:
    """How many resources the template defines for a phase (e.g. 43 for compute, more with
    governance); ``pipeline=True`` adds the pipeline stack's (:mod:`lakekit.pipeline`)."""
    extra = 0
    if pipeline:
        from lakekit.pipeline import expected_resources as _pipeline_resources

        extra = _pipeline_resources()
    from cfnlint.decode import decode_str

    template, _ = decode_str(TEMPLATE.read_text())
    if template is None:
        raise DeployError(f"{TEMPLATE} is not valid YAML: run deploy.lint() to see where.")
    enabled = {"ComputeEnabled": phase_compute, "GovernanceEnabled": governance,
               "DeployerGoverned": governance}  # deploy() always names the deployer
    return extra + sum(1 for res in template["Resources"].values()
                       if enabled.get(res.get("Condition", ""), "Condition" not in res))


def _governance_ready(s: Settings, stack: dict[str, Any] | None) -> str:
    """The lake database when the governed tables exist; DeployError saying what to run otherwise."""
    db = outputs(s).get("DatabaseName") if stack is not None else None
    if not db:
        raise DeployError(f"stack {stack_name(s)} has no lake database yet: run deploy.deploy() "
                          "(notebook 01), then 02-04 (ingest, Glue job, crawler) before the "
                          "governance phase.")
    glue = _client("glue", s)
    missing = []
    for table in GOVERNED_TABLES:
        try:
            glue.get_table(DatabaseName=db, Name=table)
        except ClientError:
            missing.append(table)
    if missing:
        raise DeployError(f"table(s) {', '.join(missing)} are not in database {db}: Lake Formation "
                          "can only tag, filter and grant existing tables. Run the Glue job and the "
                          "crawler (notebooks 03 and 04), then deploy(governance=True) again.")
    return db


def deployer_arn(s: Settings | None = None) -> str:
    """The IAM ARN of whoever deploys, as Lake Formation wants it for DeployerPrincipalArn.

    An assumed-role session (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``) becomes
    the role's real ARN read with ``iam.get_role`` — it carries the role's path, which IAM
    Identity Center roles have (``role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_...``)
    and Lake Formation refuses the ARN without ("Invalid principal"). An IAM user's ARN is
    returned as is. On ``local`` the bootstrap credentials are moto's IAM user ``moto``
    (``arn:aws:iam::<acct>:user/moto``), which the endpoint creates with AdministratorAccess.

    Raises :class:`DeployError` when the role cannot be read (no ``iam:GetRole`` on it).
    """
    s = s or _settings()
    arn = _client("sts", s).get_caller_identity()["Arn"]
    return principal_arn(arn, _client("iam", s), local=s.is_local)


def principal_arn(caller_arn: str, iam: Any, local: bool = False) -> str:
    """STS caller ARN -> the IAM principal ARN (see :func:`deployer_arn`)."""
    parts = caller_arn.split(":")
    if len(parts) < 6:
        return caller_arn
    partition, service, account, resource = parts[1], parts[2], parts[4], ":".join(parts[5:])
    if service == "sts" and resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        try:
            return iam.get_role(RoleName=role)["Role"]["Arn"]
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise DeployError(
                f"could not read the ARN of your role {role} (iam:GetRole: {err.get('Code')}: "
                f"{err.get('Message')}). Lake Formation needs the role's full ARN, with its path "
                "(IAM Identity Center roles live under role/aws-reserved/sso.amazonaws.com/...): "
                f"ask your administrator for iam:GetRole on arn:{partition}:iam::{account}:role/*"
                f"{role}, then deploy again (lakekit aws preflight checks it).") from None
    if service == "sts" and resource.startswith("user/"):
        return f"arn:{partition}:iam::{account}:{resource}"
    return caller_arn


def _apply(s: Settings, params: dict[str, str], wait_: bool, progress: bool, timeout: float,
           total: int) -> bool:
    """Create or update; False when there was nothing to do."""
    cf = _client("cloudformation", s)
    name = stack_name(s)
    body = TEMPLATE.read_text()
    plist = [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
    stack = _describe(s)
    started = time.time() - 1
    if stack is not None and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
        # AWS: a stack whose creation failed can only be deleted, then created again
        cf.delete_stack(StackName=name)
        wait_for_stack(s, timeout, progress=False, name=stack["StackId"])
        stack = None
    if stack is None:
        cf.create_stack(StackName=name, TemplateBody=body, Parameters=plist, Capabilities=CAPABILITIES,
                        Tags=[{"Key": "lakekit:prefix", "Value": s.prefix}])
    else:
        if stack["StackStatus"].endswith("_IN_PROGRESS"):
            wait_for_stack(s, timeout, progress=progress, total=total)
        try:
            cf.update_stack(StackName=name, TemplateBody=body, Parameters=plist, Capabilities=CAPABILITIES,
                            Tags=[{"Key": "lakekit:prefix", "Value": s.prefix}])
        except ClientError as exc:
            if "No updates are to be performed" in str(exc):
                return False
            raise DeployError(f"stack {name} update was refused: {exc.response['Error']['Message']}") from None
    if wait_:
        wait_for_stack(s, timeout, progress=progress, total=total, since=started)
    return True


def deploy(s: Settings | None = None, wait: bool = True, progress: bool = True,
           timeout: float = _DEFAULT_TIMEOUT, governance: bool | None = None,
           pipeline: bool = True) -> dict[str, str]:
    """Create or update the stack (phases 1-2, and 3 when asked); returns the outputs. Idempotent.

    ``governance``: None keeps the stack's current ``DeployGovernance`` (re-running notebook 01
    does not drop the grants), True deploys the governance phase (the governed tables must
    exist), False removes it. A second call with nothing changed performs no stack operation.
    ``pipeline``: after the compute phase, create or update the second stack
    ``<prefix>-pipeline`` (:mod:`lakekit.pipeline`; needs ``wait=True``).
    """
    s = s or _settings()
    base = {"Prefix": s.prefix, "DeployerPrincipalArn": deployer_arn(s)}
    current = _describe(s)
    if governance is None:
        governance = _stacks.parameter(current, "DeployGovernance") == "true"
    if governance:
        from lakekit.governance import use_lake_formation_permissions

        use_lake_formation_permissions(_governance_ready(s, current), s=s)
    phase2_ready = current is not None and outputs(s).get("ArtifactsBucket")
    if not phase2_ready or current["StackStatus"] in ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED"):
        _apply(s, {**base, "DeployCompute": "false"}, True, progress, timeout, expected_resources(False))
        if not wait:
            return outputs(s)
    out = outputs(s)
    bucket = out["ArtifactsBucket"]
    keys = upload_assets(s, bucket=bucket)
    _check_assets(s, bucket, keys)
    _apply(s, {**base, "DeployCompute": "true", "DeployGovernance": "true" if governance else "false", **keys},
           wait, progress, timeout, expected_resources(True, governance))
    out = outputs(s)
    if pipeline and wait:
        from lakekit.pipeline import deploy_pipeline

        deploy_pipeline(s, out, wait=True, progress=progress, timeout=timeout)
    return out


# ---------------------------------------------------------------- teardown
def empty_bucket(bucket: str, s: Settings | None = None) -> int:
    """Delete every object version and delete marker (and open multipart uploads); -> count."""
    s3 = _client("s3", s or _settings())
    deleted = 0
    try:
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for up in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            return 0
    # list everything first, then delete: a page never depends on a marker this loop deleted
    # (on AWS and locally the markers are positions; see the parity ledger for the local rule)
    items = [{"Key": v["Key"], "VersionId": v["VersionId"]}
             for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
             for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    for i in range(0, len(items), 1000):
        batch = items[i:i + 1000]
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if resp.get("Errors"):
            err = resp["Errors"][0]
            raise DeployError(f"could not empty s3://{bucket}: {err['Key']}: {err['Message']}. "
                              "Check your permissions and run teardown() again.")
        deleted += len(batch)
    return deleted


def _items(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of a listing, page after page (the boto3 paginator, or NextToken by hand)."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
        return
    token: str | None = None
    while True:
        page = getattr(client, operation)(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _glue_log_group_is_ours(name: str, prefix: str) -> bool:
    """Log groups Glue makes for the prefix's security configuration (outside the stack).

    With CloudWatch encryption, job logs go to ``/aws-glue/jobs/<secconfig>-role/<role>/...``
    (output, error, logs-v2; ``python-jobs`` likewise), or ``/aws-glue/jobs-<role>-<secconfig>``
    (the JobRun LogGroupName form), and crawler logs to ``/aws-glue/crawlers-role/<role>-<secconfig>``.
    The template names the role ``<prefix>-glue`` and the configuration ``<prefix>-glue-kms``.
    """
    role, sec = re.escape(f"{prefix}-glue"), re.escape(f"{prefix}-glue-kms")
    return bool(re.match(rf"^/aws-glue/[a-z-]+/{sec}-role/(.+/)?{role}(/|$)", name)
                or re.match(rf"^/aws-glue/[a-z-]+-{role}-{sec}/?$", name)
                or re.match(rf"^/aws-glue/crawlers-role/(.+/)?{role}-{sec}$", name))


#: log groups shared by every Glue job / crawler of the account: only the prefix's streams go
_SHARED_JOB_GROUPS = ("/aws-glue/jobs/output", "/aws-glue/jobs/error", "/aws-glue/jobs/logs-v2")
_CRAWLER_GROUP = "/aws-glue/crawlers"


def _service_logs(s: Settings, job_runs: list[str] = ()) -> list[tuple[str, str | None]]:
    """(log group, stream or None for the whole group) the services wrote for the prefix."""
    p = s.prefix
    logs = _client("logs", s)
    out: list[tuple[str, str | None]] = []
    for lg in _items(logs, "describe_log_groups", "logGroups", logGroupNamePrefix="/aws-glue/"):
        name = lg["logGroupName"]
        if _glue_log_group_is_ours(name, p):
            out.append((name, None))
    shared = [(_CRAWLER_GROUP, f"{p}-processed-crawler")]
    shared += [(g, run) for g in _SHARED_JOB_GROUPS for run in job_runs]
    for group, stream_prefix in shared:
        try:
            for st in _items(logs, "describe_log_streams", "logStreams", logGroupName=group,
                             logStreamNamePrefix=stream_prefix):
                out.append((group, st["logStreamName"]))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    return out


def _job_runs(s: Settings) -> list[str]:
    """Run ids of the prefix's Glue job (their log streams are named by them)."""
    try:
        return [r["Id"] for r in _items(_client("glue", s), "get_job_runs", "JobRuns", JobName=f"{s.prefix}-etl")]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "EntityNotFoundException":
            return []
        raise


@lru_cache(maxsize=1)
def _template_name_patterns() -> tuple[str, ...]:
    """The resource names the template gives a prefix (every ``!Sub "...${Prefix}..."`` that is a
    name, not an ARN, URI or sentence), as regex sources with ``{prefix}`` left to fill in."""
    from cfnlint.decode import decode_str

    from lakekit.pipeline import TEMPLATE as PIPELINE_TEMPLATE

    found: set[str] = {"${Prefix}-pipeline-inbox"}  # notebook 07's SQS inbox (lakekit.orchestration)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                sub = value[0] if key == "Fn::Sub" and isinstance(value, list) and value else value
                if key == "Fn::Sub" and isinstance(sub, str) and "${Prefix}" in sub \
                        and not any(c in sub for c in (" ", "arn:", "://", "*")):
                    found.add(str(sub))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in (TEMPLATE, PIPELINE_TEMPLATE):
        template, _ = decode_str(path.read_text())
        walk((template or {}).get("Resources", {}))
    fixed = {"${Prefix}": "{prefix}", "${AWS::AccountId}": r"\d{{12}}", "${AWS::Region}": "[a-z0-9-]+"}
    out = []
    for sub in sorted(found):
        parts = re.split(r"(\$\{[^}]+\})", sub)
        out.append("".join(fixed.get(x, "[^/]+") if x.startswith("${") else
                           re.escape(x).replace("{", "{{").replace("}", "}}") for x in parts))
    return tuple(out)


def _owned(name: str, prefix: str) -> bool:
    """Whether ``name`` is one the template gives ``prefix``. Not merely ``startswith(prefix + "-")``:
    attendees sharing an account may be ``ana`` and ``ana-01``, and ``ana``'s cleanup must not take
    ``ana-01-raw-...`` or the LF-tag ``ana-01-domain`` for hers."""
    return any(re.fullmatch(p.format(prefix=re.escape(prefix)), name) for p in _template_name_patterns())


def _prefix_lf_tags(s: Settings) -> list[str]:
    return [t["TagKey"] for t in _items(_client("lakeformation", s), "list_lf_tags", "LFTags")
            if _owned(t["TagKey"], s.prefix)]


def _delete_service_leftovers(s: Settings, job_runs: list[str]) -> dict[str, list[str]]:
    """Delete what the services made outside the stack: Glue's log groups/streams, LF-tags."""
    logs, lf = _client("logs", s), _client("lakeformation", s)
    deleted: dict[str, list[str]] = {"log groups": [], "log streams": [], "lf-tags": []}
    for group, stream in _service_logs(s, job_runs):
        try:
            if stream is None:
                logs.delete_log_group(logGroupName=group)
                deleted["log groups"].append(group)
            else:
                logs.delete_log_stream(logGroupName=group, logStreamName=stream)
                deleted["log streams"].append(f"{group}:{stream}")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    for key in _prefix_lf_tags(s):
        try:
            lf.delete_lf_tag(TagKey=key)
            deleted["lf-tags"].append(key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityNotFoundException":
                raise
    return deleted


def teardown(s: Settings | None = None, wait: bool = True, progress: bool = True,
             timeout: float = _DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Empty every bucket of the stack (all versions), delete the stack, wait, then delete
    what the services made outside it: the log groups/streams Glue wrote for the prefix's job
    and crawler, and the prefix's LF-tags left behind. :func:`remaining` is empty afterwards.

    The pipeline stack (``<prefix>-pipeline``) is deleted first and waited for.

    Returns ``{"stack": final status, "pipeline": the pipeline stack's final status (only
    when it existed), "emptied": {bucket: objects deleted}, "deleted":
    {"log groups": [...], "log streams": [...], "lf-tags": [...]}}`` (``deleted`` only when
    the stack was waited for, or something was left); a stack that does not exist only
    cleans those leftovers.
    """
    from lakekit.pipeline import teardown_pipeline

    s = s or _settings()
    # the pipeline stack reads the lake's outputs (job, crawler, buckets): it goes first
    pipeline_status = teardown_pipeline(s, wait=True, progress=progress, timeout=timeout)
    piped = {} if pipeline_status == "DOES_NOT_EXIST" else {"pipeline": pipeline_status}
    stack = _describe(s)
    if stack is None:
        deleted = _delete_service_leftovers(s, [])
        return {"stack": "DOES_NOT_EXIST", **piped, "emptied": {},
                **({"deleted": deleted} if any(deleted.values()) else {})}
    cf = _client("cloudformation", s)
    job_runs = _job_runs(s)
    if stack["StackStatus"].endswith("_IN_PROGRESS"):
        wait_for_stack(s, timeout, progress=False)
    buckets = [r["PhysicalResourceId"] for r in _items(cf, "list_stack_resources", "StackResourceSummaries",
                                                       StackName=stack["StackId"])
               if r["ResourceType"] == "AWS::S3::Bucket" and r.get("PhysicalResourceId")
               and r["ResourceStatus"] != "DELETE_COMPLETE"]
    emptied = {b: empty_bucket(b, s) for b in buckets}
    started = time.time() - 1
    cf.delete_stack(StackName=stack["StackId"])
    status = "DELETE_IN_PROGRESS"
    if not wait:
        return {"stack": status, **piped, "emptied": emptied}
    total = sum(1 for _ in _items(cf, "list_stack_resources", "StackResourceSummaries", StackName=stack["StackId"]))
    status = wait_for_stack(s, timeout, progress=progress, total=total, since=started, name=stack["StackId"])
    _keep_shared_deployer(s, _stacks.parameter(stack, "DeployerPrincipalArn"))
    # what the services made outside the stack (Glue's log groups, LF-tags left behind)
    return {"stack": status, **piped, "emptied": emptied,
            "deleted": _delete_service_leftovers(s, job_runs)}


def _keep_shared_deployer(s: Settings, deployer: str | None) -> None:
    """Put the deployer back among the data lake administrators when another attendee's stack
    still names it (a room sharing one account and one role): deleting this stack's
    ``DataLakeSettings`` removed the admins it declared, the shared deployer included, and the
    other lakes still need it to manage their grants. Admins are account-wide; PutDataLakeSettings
    replaces the whole list, so it is read and written back with the one principal appended."""
    if not deployer:
        return
    cf = _client("cloudformation", s)
    still_named = False
    for st in _items(cf, "describe_stacks", "Stacks"):
        tags = {t["Key"]: t["Value"] for t in st.get("Tags", [])}
        if "lakekit:prefix" in tags and tags["lakekit:prefix"] != s.prefix \
                and not st["StackStatus"].startswith("DELETE") \
                and _stacks.parameter(st, "DeployerPrincipalArn") == deployer:
            still_named = True
            break
    if not still_named:
        return
    lf = _client("lakeformation", s)
    current = lf.get_data_lake_settings()["DataLakeSettings"]
    admins = current.get("DataLakeAdmins", [])
    if any(a.get("DataLakePrincipalIdentifier") == deployer for a in admins):
        return
    current["DataLakeAdmins"] = [*admins, {"DataLakePrincipalIdentifier": deployer}]
    lf.put_data_lake_settings(DataLakeSettings=current)


def remaining(s: Settings | None = None):
    """What still exists with this prefix, service by service (a DataFrame; empty = clean).

    Everything billable or named by the prefix: the stack, buckets, IAM roles/policies, the
    Glue database/job/crawler/trigger/security configuration, Athena workgroups, Lambdas,
    log groups (the stack's and those Glue makes for the prefix's security configuration,
    plus the crawler's stream in ``/aws-glue/crawlers``), the KMS alias and a KMS key not yet
    scheduled for deletion (keys pending deletion are not billed), LF-tags and registered
    locations. Every listing is read page after page.
    """
    import pandas as pd

    s = s or _settings()
    p = s.prefix
    db = "_".join(p.split("-")) + "_lake"
    rows: list[dict[str, str]] = []

    def add(service: str, kind: str, name: str) -> None:
        rows.append({"service": service, "kind": kind, "name": name})

    from lakekit.pipeline import stack_name as _pipeline_stack

    for st in (_describe(s), _stacks.describe(_client("cloudformation", s), _pipeline_stack(s))):
        if st is not None:
            add("cloudformation", "stack", f"{st['StackName']} ({st['StackStatus']})")
    _pipeline_remaining(s, add)
    for b in _items(_client("s3", s), "list_buckets", "Buckets"):
        if _owned(b["Name"], p):
            add("s3", "bucket", b["Name"])
    iam = _client("iam", s)
    for r in _items(iam, "list_roles", "Roles"):
        if _owned(r["RoleName"], p):
            add("iam", "role", r["RoleName"])
    for pol in _items(iam, "list_policies", "Policies", Scope="Local"):
        if _owned(pol["PolicyName"], p):
            add("iam", "policy", pol["PolicyName"])
    glue = _client("glue", s)
    for d in _items(glue, "get_databases", "DatabaseList"):
        if d["Name"] == db:
            add("glue", "database", d["Name"])
    for j in _items(glue, "get_jobs", "Jobs"):
        if _owned(j["Name"], p):
            add("glue", "job", j["Name"])
    for c in _items(glue, "get_crawlers", "Crawlers"):
        if _owned(c["Name"], p):
            add("glue", "crawler", c["Name"])
    for t in _items(glue, "list_triggers", "TriggerNames"):
        if _owned(t, p):
            add("glue", "trigger", t)
    for sc in _items(glue, "get_security_configurations", "SecurityConfigurations"):
        if _owned(sc["Name"], p):
            add("glue", "security configuration", sc["Name"])
    for wg in _items(_client("athena", s), "list_work_groups", "WorkGroups"):
        if _owned(wg["Name"], p):
            add("athena", "workgroup", wg["Name"])
    for fn in _items(_client("lambda", s), "list_functions", "Functions"):
        if _owned(fn["FunctionName"], p):
            add("lambda", "function", fn["FunctionName"])
    for lg in _items(_client("logs", s), "describe_log_groups", "logGroups", logGroupNamePrefix=f"/aws/lambda/{p}-"):
        if _owned(lg["logGroupName"], p):
            add("logs", "log group", lg["logGroupName"])
    for group, stream in _service_logs(s):
        add("logs", "log group" if stream is None else "log stream",
            group if stream is None else f"{group}:{stream}")
    kms = _client("kms", s)
    for a in _items(kms, "list_aliases", "Aliases"):
        if a["AliasName"] in (f"alias/{p}-datalake", f"alias/{p}-pipeline"):
            add("kms", "alias", a["AliasName"])
    for k in _items(kms, "list_keys", "Keys"):
        try:
            meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
        except ClientError:  # another team's key this caller may not describe
            continue
        if meta.get("KeyManager") == "CUSTOMER" and meta.get("KeyState") != "PendingDeletion" \
                and meta.get("Description", "").startswith((f"{p} data lake key", f"{p} pipeline notifications key")):
            add("kms", "key", f"{k['KeyId']} ({meta.get('KeyState')})")
    lf = _client("lakeformation", s)
    for r in _items(lf, "list_resources", "ResourceInfoList"):
        if _owned(r["ResourceArn"].split(":::")[-1], p):
            add("lakeformation", "registered location", r["ResourceArn"])
    for key in _prefix_lf_tags(s):
        add("lakeformation", "lf-tag", key)
    return pd.DataFrame(rows, columns=["service", "kind", "name"])


def _pipeline_remaining(s: Settings, add: Any) -> None:
    """What the pipeline stack makes, by prefix: state machines, topics, rules, alarms, dashboards,
    the state machine's log group (its roles and KMS key are listed with the others)."""
    p = s.prefix
    for sm in _items(_client("stepfunctions", s), "list_state_machines", "stateMachines"):
        if _owned(sm["name"], p):
            add("stepfunctions", "state machine", sm["name"])
    for t in _items(_client("sns", s), "list_topics", "Topics"):
        if _owned(t["TopicArn"].rsplit(":", 1)[-1], p):
            add("sns", "topic", t["TopicArn"])
    for r in _items(_client("events", s), "list_rules", "Rules", NamePrefix=f"{p}-"):
        if _owned(r["Name"], p):
            add("events", "rule", r["Name"])
    cw = _client("cloudwatch", s)
    for a in _items(cw, "describe_alarms", "MetricAlarms", AlarmNamePrefix=f"{p}-"):
        if _owned(a["AlarmName"], p):
            add("cloudwatch", "alarm", a["AlarmName"])
    for d in _items(cw, "list_dashboards", "DashboardEntries", DashboardNamePrefix=f"{p}-"):
        if _owned(d["DashboardName"], p):
            add("cloudwatch", "dashboard", d["DashboardName"])
    for lg in _items(_client("logs", s), "describe_log_groups", "logGroups",
                     logGroupNamePrefix=f"/aws/vendedlogs/states/{p}-"):
        if _owned(lg["logGroupName"], p):
            add("logs", "log group", lg["logGroupName"])
    for url in _client("sqs", s).list_queues(QueueNamePrefix=f"{p}-").get("QueueUrls", []):
        if not _owned(url.rsplit("/", 1)[-1], p):
            continue
        add("sqs", "queue", url.rsplit("/", 1)[-1])   # notebook 07's inbox (orchestration.inbox)
