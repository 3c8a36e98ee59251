"""Which IAM action(s) on which resource ARN(s) a request is, and its condition context.

Follows the Service Authorization Reference for what the kit uses: S3 object and bucket
operations (ListBucket on the bucket ARN, HEAD object = s3:GetObject, CopyObject = GetObject
on the source + PutObject on the destination, DeleteObjects = DeleteObject per key), KMS
(key ARN from KeyId / alias / ciphertext), Glue (catalog + database + table ARNs for table
and partition operations; job / crawler / trigger ARNs), Athena (workgroup ARN), Lambda
(function ARN), Secrets Manager (secret ARN + its customer managed KMS key), CloudWatch Logs (log-group / log-stream ARNs), SQS (queue ARN), SNS (topic
ARN), Lake Formation (``*``), IAM, STS, CloudFormation (stack ARN), CloudWatch
(``cloudwatch:namespace``), EventBridge (event bus ARN). An operation outside the table is ``<service>:<Operation>`` on ``*``
(logged once).
"""
from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

__all__ = ["Check", "checks_for", "kms_key_arn", "s3_object_arn", "IAM_PREFIX"]

log = logging.getLogger(__name__)

# SigV4 signing name -> IAM service prefix
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}


@dataclass
class Check:
    """One authorization: ``action`` on ``resource`` with extra condition keys."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    # "s3" (bucket policy applies), "kms" (key policy decides), "trust" (role trust policy)
    resource_policy: str | None = None
    bucket: str | None = None
    key_arn: str | None = None
    # the service's own wording of a denial, where it does not use IAM's (Secrets Manager on KMS)
    message: str | None = None


_UNMAPPED: set[str] = set()


def _unmapped(service: str, op: str) -> None:
    if (service, op) not in _UNMAPPED:
        _UNMAPPED.add((service, op))  # type: ignore[arg-type]
        log.info("IAM: %s.%s has no resource mapping; authorized as %s:%s on '*'", service, op,
                 IAM_PREFIX.get(service, service), op)


def global_context(region: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"aws:SecureTransport": "true", "aws:RequestedRegion": region,
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())), "aws:SourceIp": "127.0.0.1"}


# ----------------------------------------------------------------------------- S3
_S3_BUCKET_ACTIONS = {
    "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket", "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions", "ListMultipartUploads": "ListBucketMultipartUploads",
    "PutBucketEncryption": "PutEncryptionConfiguration", "GetBucketEncryption": "GetEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock", "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "DeleteBucketTagging": "PutBucketTagging",
}
_S3_OBJECT_ACTIONS = {
    "HeadObject": "GetObject", "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject", "ListParts": "ListMultipartUploadParts",
    "GetObjectAttributes": "GetObjectAttributes",
}
_VERSIONED = {"GetObject", "DeleteObject", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging",
              "GetObjectAcl", "PutObjectAcl", "GetObjectAttributes"}


def s3_object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def s3_context(req: Any) -> dict[str, Any]:
    h = req.headers
    ctx: dict[str, Any] = {"s3:signatureversion": "AWS4-HMAC-SHA256",
                           "s3:authType": "REST-QUERY-STRING" if "X-Amz-Credential" in req.query
                           else "REST-HEADER"}
    if "x-amz-server-side-encryption" in h:
        ctx["s3:x-amz-server-side-encryption"] = h["x-amz-server-side-encryption"]
    if "x-amz-server-side-encryption-aws-kms-key-id" in h:
        ctx["s3:x-amz-server-side-encryption-aws-kms-key-id"] = h["x-amz-server-side-encryption-aws-kms-key-id"]
    for q in ("prefix", "delimiter", "max-keys"):
        if q in req.query:
            ctx[f"s3:{q}"] = req.query[q][0]
    return ctx


def _s3_checks(req: Any) -> list[Check]:
    op = req.operation
    parts = req.path.lstrip("/").split("/", 1)
    bucket = req.params.get("Bucket") or unquote(parts[0]) if parts and parts[0] else None
    key = req.params.get("Key")
    if key is None and len(parts) > 1 and parts[1]:
        key = unquote(parts[1])
    ctx = s3_context(req)
    if op == "ListBuckets" or not bucket:
        return [Check("s3:ListAllMyBuckets", "*", ctx)]
    versioned = "versionId" in req.query
    if op == "CopyObject" or op == "UploadPartCopy":
        src = unquote(req.headers.get("x-amz-copy-source", "")).lstrip("/")
        src_path, _, src_q = src.partition("?")
        sb, _, sk = src_path.partition("/")
        src_action = "s3:GetObjectVersion" if "versionId=" in src_q else "s3:GetObject"
        return [Check(src_action, s3_object_arn(sb, sk), ctx, "s3", sb),
                Check("s3:PutObject", s3_object_arn(bucket, key or ""), ctx, "s3", bucket)]
    if op == "DeleteObjects":
        return []  # per key, inside moto's DeleteObjects (see enforce.delete_objects_decider)
    if key is not None and op not in _S3_BUCKET_ACTIONS:
        action = _S3_OBJECT_ACTIONS.get(op, op)
        if versioned and action in _VERSIONED:
            action += "Version"
        return [Check(f"s3:{action}", s3_object_arn(bucket, key), ctx, "s3", bucket)]
    action = _S3_BUCKET_ACTIONS.get(op, op)
    return [Check(f"s3:{action}", f"arn:aws:s3:::{bucket}", ctx, "s3", bucket)]


# ----------------------------------------------------------------------------- KMS
def kms_key_arn(account: str, region: str, key_id: str | None) -> str | None:
    """The key ARN of a key id, key ARN, alias name or alias ARN (None: no such key)."""
    if not key_id:
        return None
    from moto.kms.models import kms_backends

    if key_id.startswith("arn:aws:kms:"):
        _, _, _, region, account, _ = key_id.split(":", 5)
    try:
        backend = kms_backends[account][region]
        kid = backend.any_id_to_key_id(key_id)
        return backend.keys[kid].arn
    except Exception:
        return None


def _kms_from_blob(account: str, region: str, blob: str | None) -> str | None:
    if not blob:
        return None
    try:
        from moto.kms.utils import _deserialize_ciphertext_blob

        return kms_key_arn(account, region, _deserialize_ciphertext_blob(base64.b64decode(blob)).key_id)
    except Exception:
        return None


def _kms_checks(req: Any) -> list[Check]:
    p, op, a, r = req.params, req.operation, req.account_id, req.region
    if op in ("CreateKey", "ListKeys", "ListAliases", "GenerateRandom"):
        return [Check(f"kms:{op}", "*")]
    ctx: dict[str, Any] = {"kms:CallerAccount": a}
    enc = p.get("EncryptionContext") or {}
    for k, v in enc.items():
        ctx[f"kms:EncryptionContext:{k}"] = v
    if enc:
        ctx["kms:EncryptionContextKeys"] = list(enc)
    if op == "CreateAlias":
        key = kms_key_arn(a, r, p.get("TargetKeyId")) or "*"
        alias = f"arn:aws:kms:{r}:{a}:{p.get('AliasName', '')}"
        return [Check("kms:CreateAlias", alias), Check("kms:CreateAlias", key, ctx, "kms", key_arn=key)]
    key = kms_key_arn(a, r, p.get("KeyId"))
    if key is None and op in ("Decrypt", "ReEncrypt"):
        key = _kms_from_blob(a, r, p.get("CiphertextBlob"))
    if key is None:
        return [Check(f"kms:{op}", "*")]  # moto answers NotFoundException
    checks = [Check(f"kms:{op}", key, ctx, "kms", key_arn=key)]
    if op == "ReEncrypt":
        checks = [Check("kms:ReEncryptFrom", key, ctx, "kms", key_arn=key)]
        dest = kms_key_arn(a, r, p.get("DestinationKeyId"))
        if dest:
            checks.append(Check("kms:ReEncryptTo", dest, ctx, "kms", key_arn=dest))
    return checks


# ----------------------------------------------------------------------------- Glue
_GLUE_DB_OPS = {"CreateDatabase", "GetDatabase", "UpdateDatabase", "DeleteDatabase", "GetTables",
                "SearchTables", "GetUserDefinedFunctions"}
_GLUE_PLURAL = {"GetDatabases", "GetJobs", "ListJobs", "GetCrawlers", "ListCrawlers", "GetTriggers",
                "ListTriggers", "GetSecurityConfigurations", "GetClassifiers", "GetJobRuns"}


def _glue_checks(req: Any) -> list[Check]:
    p, op = req.params, req.operation
    base = f"arn:aws:glue:{req.region}:{p.get('CatalogId') or req.account_id}"
    catalog = f"{base}:catalog"
    action = f"glue:{op}"

    def table(db: str, name: str) -> list[Check]:
        return [Check(action, catalog), Check(action, f"{base}:database/{db}"),
                Check(action, f"{base}:table/{db}/{name}")]

    if op in _GLUE_DB_OPS:
        name = p.get("Name") or p.get("DatabaseName") or (p.get("DatabaseInput") or {}).get("Name", "")
        return [Check(action, catalog), Check(action, f"{base}:database/{name}")]
    if op == "GetDatabases":
        return [Check(action, catalog)]
    db = p.get("DatabaseName")
    if db:
        if op == "BatchDeleteTable":
            return [c for t in p.get("TablesToDelete") or [] for c in table(db, t)] or table(db, "*")
        name = p.get("TableName") or p.get("Name") or (p.get("TableInput") or {}).get("Name")
        if name:
            return table(db, name)
        return [Check(action, catalog), Check(action, f"{base}:database/{db}")]
    if op == "GetJobRuns" or op in ("StartJobRun", "GetJobRun", "BatchStopJobRun", "GetJobBookmark",
                                    "ResetJobBookmark"):
        return [Check(action, f"{base}:job/{p.get('JobName', '')}")]
    if op in ("GetJob", "UpdateJob", "DeleteJob", "CreateJob"):
        return [Check(action, f"{base}:job/{p.get('JobName') or p.get('Name', '')}")]
    if op in ("StartCrawler", "StopCrawler", "GetCrawler", "UpdateCrawler", "DeleteCrawler",
              "CreateCrawler"):
        return [Check(action, f"{base}:crawler/{p.get('Name', '')}")]
    if op == "ListCrawls":
        return [Check(action, f"{base}:crawler/{p.get('CrawlerName', '')}")]
    if op == "GetCrawlerMetrics" and p.get("CrawlerNameList"):
        return [Check(action, f"{base}:crawler/{n}") for n in p["CrawlerNameList"]]
    if op == "BatchGetCrawlers":
        return [Check(action, f"{base}:crawler/{n}") for n in p.get("CrawlerNames") or []]
    if op == "BatchGetJobs":
        return [Check(action, f"{base}:job/{n}") for n in p.get("JobNames") or []]
    if op in ("CreateTrigger", "GetTrigger", "UpdateTrigger", "DeleteTrigger", "StartTrigger",
              "StopTrigger"):
        return [Check(action, f"{base}:trigger/{p.get('Name', '')}")]
    if op == "BatchGetDataQualityResult":  # glue:GetDataQualityResult grants it (Glue DQ IAM docs)
        return [Check("glue:GetDataQualityResult", "*")]
    if op in _GLUE_PLURAL or op.startswith(("List", "Get")):
        return [Check(action, "*")]
    _unmapped("glue", op)
    return [Check(action, "*")]


# ----------------------------------------------------------------------------- Athena
_ATHENA_CATALOG_OPS = {"ListDatabases", "GetDatabase", "ListTableMetadata", "GetTableMetadata",
                       "GetDataCatalog"}


def _athena_checks(req: Any) -> list[Check]:
    p, op = req.params, req.operation
    base = f"arn:aws:athena:{req.region}:{req.account_id}"
    if op in ("ListWorkGroups", "ListDataCatalogs", "ListEngineVersions"):
        return [Check(f"athena:{op}", "*")]
    if op in _ATHENA_CATALOG_OPS:  # resource type datacatalog* (Service Authorization Reference)
        catalog = p.get("CatalogName") or p.get("Name") or ""
        return [Check(f"athena:{op}", f"{base}:datacatalog/{catalog}")]
    ids = p.get("QueryExecutionIds") or ([p["QueryExecutionId"]] if p.get("QueryExecutionId") else [])
    if ids and not p.get("WorkGroup"):
        out = []
        for wg in {_query_workgroup(req, q) for q in ids}:
            out.append(Check(f"athena:{op}", f"{base}:workgroup/{wg or 'primary'}"))
        return out
    wg = p.get("WorkGroup") or p.get("Name") or "primary"
    return [Check(f"athena:{op}", f"{base}:workgroup/{wg}")]


def _query_workgroup(req: Any, qid: str) -> str | None:
    try:
        from lakekit.local.services.athena import QUERY_RUNS

        rec = QUERY_RUNS.get(req.account_id, req.region, qid)
        return rec.get("WorkGroup") if rec else None
    except Exception:
        return None


# ----------------------------------------------------------------------------- others
_LAMBDA_ACTIONS = {"Invoke": "InvokeFunction", "GetFunctionConfiguration": "GetFunctionConfiguration"}


def _lambda_checks(req: Any) -> list[Check]:
    p, op = req.params, req.operation
    op_base = re.sub(r"\d{8}$", "", op)
    action = "lambda:" + _LAMBDA_ACTIONS.get(op_base, op_base)
    name = p.get("FunctionName")
    if not name:
        return [Check(action, "*")]
    if name.startswith("arn:"):
        arn = name
    else:
        name, _, qual = name.partition(":")
        arn = f"arn:aws:lambda:{req.region}:{req.account_id}:function:{name}"
        if qual or p.get("Qualifier"):
            arn += f":{qual or p.get('Qualifier')}"
    return [Check(action, arn)]


def _logs_checks(req: Any) -> list[Check]:
    p, op = req.params, req.operation
    group = p.get("logGroupName") or p.get("logGroupIdentifier")
    action = f"logs:{op}"
    if not group:
        return [Check(action, "*")]
    if group.startswith("arn:"):
        group = group.split(":log-group:", 1)[-1].removesuffix(":*")
    base = f"arn:aws:logs:{req.region}:{req.account_id}:log-group:{group}"
    stream = p.get("logStreamName")
    if stream and op in ("CreateLogStream", "PutLogEvents", "GetLogEvents", "DeleteLogStream"):
        return [Check(action, f"{base}:log-stream:{stream}")]
    return [Check(action, f"{base}:*")]


def _iam_checks(req: Any) -> list[Check]:
    p, op = req.params, req.operation
    base = f"arn:aws:iam::{req.account_id}"
    if p.get("RoleName"):
        return [Check(f"iam:{op}", f"{base}:role/{p['RoleName']}")]
    if p.get("UserName"):
        return [Check(f"iam:{op}", f"{base}:user/{p['UserName']}")]
    if p.get("PolicyArn"):
        return [Check(f"iam:{op}", p["PolicyArn"])]
    return [Check(f"iam:{op}", "*")]


def _cfn_checks(req: Any) -> list[Check]:
    name = req.params.get("StackName")
    if not name:
        return [Check(f"cloudformation:{req.operation}", "*")]
    arn = name if name.startswith("arn:") else \
        f"arn:aws:cloudformation:{req.region}:{req.account_id}:stack/{name}/*"
    return [Check(f"cloudformation:{req.operation}", arn)]


def _cloudwatch_checks(req: Any) -> list[Check]:
    ctx = {}
    if req.params.get("Namespace"):
        ctx["cloudwatch:namespace"] = req.params["Namespace"]
    return [Check(f"cloudwatch:{req.operation}", "*", ctx)]


def _events_checks(req: Any) -> list[Check]:
    bus = "default"
    entries = req.params.get("Entries") or []
    if entries and entries[0].get("EventBusName"):
        bus = entries[0]["EventBusName"]
    elif req.params.get("EventBusName"):
        bus = req.params["EventBusName"]
    arn = bus if bus.startswith("arn:") else f"arn:aws:events:{req.region}:{req.account_id}:event-bus/{bus}"
    ctx = {"events:source": [e.get("Source", "") for e in entries]} if entries else {}
    return [Check(f"events:{req.operation}", arn, ctx)]


def _sqs_checks(req: Any) -> list[Check]:
    """sqs:<Operation> on the queue ARN (from QueueUrl, or QueueName [+ QueueOwnerAWSAccountId]);
    ListQueues on ``*``. Batch actions authorize as their single twins (SendMessageBatch =
    sqs:SendMessage, DeleteMessageBatch = sqs:DeleteMessage, ChangeMessageVisibilityBatch =
    sqs:ChangeMessageVisibility), as the SQS API reference documents."""
    p, op = req.params, req.operation
    action = f"sqs:{op.removesuffix('Batch')}"
    url = p.get("QueueUrl")
    parts = str(url or "").rstrip("/").split("/")
    if len(parts) >= 5:  # <scheme>://<host>/<account>/<name>
        account, name = parts[-2], unquote(parts[-1])
        if name:
            return [Check(action, f"arn:aws:sqs:{req.region}:{account or req.account_id}:{name}")]
    if p.get("QueueName"):
        account = p.get("QueueOwnerAWSAccountId") or req.account_id
        return [Check(action, f"arn:aws:sqs:{req.region}:{account}:{p['QueueName']}")]
    return [Check(action, "*")]


def _sns_checks(req: Any) -> list[Check]:
    """sns:<Operation> on the topic ARN (TopicArn / TargetArn, or CreateTopic's Name)."""
    p, op = req.params, req.operation
    arn = p.get("TopicArn") or p.get("TargetArn")
    if not arn and op == "CreateTopic" and p.get("Name"):
        arn = f"arn:aws:sns:{req.region}:{req.account_id}:{p['Name']}"
    return [Check(f"sns:{op.removesuffix('Batch')}", arn or "*")]


def _states_checks(req: Any) -> list[Check]:
    """states:<Operation> on the state machine ARN (``stateMachineArn``, or CreateStateMachine's
    ``name``) or the execution ARN (``executionArn``); List* on ``*``, as the Service
    Authorization Reference lists them (StartExecution on the stateMachine resource,
    DescribeExecution / StopExecution / GetExecutionHistory on the execution)."""
    p, op = req.params, req.operation
    arn = p.get("executionArn") or p.get("stateMachineArn") or p.get("resourceArn")
    if not arn and op == "CreateStateMachine" and p.get("name"):
        arn = f"arn:aws:states:{req.region}:{req.account_id}:stateMachine:{p['name']}"
    if op in ("ListStateMachines", "ListActivities") or not arn:
        return [Check(f"states:{op}", "*")]
    return [Check(f"states:{op}", arn)]


def _sts_checks(req: Any) -> list[Check]:
    op = req.operation
    if op == "GetCallerIdentity":
        return []  # needs no permission (AWS: works even with an explicit deny)
    if op == "AssumeRole":
        return [Check("sts:AssumeRole", req.params.get("RoleArn", ""), {}, "trust")]
    return [Check(f"sts:{op}", "*")]


# ----------------------------------------------------------------------------- Secrets Manager
# The authorizations a Secrets Manager request needs: the secret ARN, and the KMS key behind it.
# Service Authorization Reference: ``secretsmanager:<Operation>`` on the secret ARN
# (``arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random chars>``); CreateSecret on
# the ARN the name will have. A secret encrypted with a customer managed key also needs, for the
# *caller*, ``kms:Decrypt`` on that key to read it (GetSecretValue) and ``kms:GenerateDataKey`` +
# ``kms:Decrypt`` to write a value (CreateSecret / PutSecretValue / UpdateSecret with a value)
# ("Secret encryption and decryption in AWS Secrets Manager": the key policy decides, through
# ``kms:ViaService`` = ``secretsmanager.<region>.amazonaws.com`` and the encryption context
# ``SecretARN``). The AWS managed key ``aws/secretsmanager`` needs no such permission.
_AWS_MANAGED = "alias/aws/secretsmanager"
_WRITES_VALUE = {"CreateSecret", "PutSecretValue", "UpdateSecret"}


def _secret_obj(account: str, region: str, secret_id: str) -> Any:
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[account][region].secrets.get(secret_id)
    except Exception:
        return None


def _secret_kms_check(action: str, key_arn: str, region: str, secret_arn: str) -> Check:
    context = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
               "kms:EncryptionContext:SecretARN": secret_arn,
               "kms:EncryptionContextKeys": ["SecretARN", "SecretVersionId"]}
    # Secrets Manager words a missing KMS permission its own way (AccessDeniedException, HTTP 400)
    return Check(action, key_arn, context, "kms", key_arn=key_arn, message="Access to KMS is not allowed")


def _secretsmanager_checks(req: Any) -> list[Check]:
    """``secretsmanager:<Operation>`` on the secret ARN, plus the KMS use of a customer managed key."""
    p, op, account, region = req.params, req.operation, req.account_id, req.region
    if op in ("ListSecrets", "GetRandomPassword", "BatchGetSecretValue"):
        return [Check(f"secretsmanager:{op}", "*")]
    secret_id = p.get("SecretId") or p.get("Name") or ""
    secret = _secret_obj(account, region, secret_id) if secret_id else None
    if secret is not None:
        arn = secret.arn
    elif secret_id.startswith("arn:"):
        arn = secret_id
    else:
        # the ARN a new secret gets: its name, a dash and six random characters
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}-??????" if secret_id else "*"
    checks = [Check(f"secretsmanager:{op}", arn)]
    key_id = p.get("KmsKeyId") or (getattr(secret, "kms_key_id", None) if secret is not None else None)
    if not key_id or key_id == _AWS_MANAGED:
        return checks
    key_arn = kms_key_arn(account, region, key_id)
    if key_arn is None:
        return checks  # an unknown key: Secrets Manager answers with its own error
    if op == "GetSecretValue":
        checks.append(_secret_kms_check("kms:Decrypt", key_arn, region, arn))
    elif op in _WRITES_VALUE and ("SecretString" in p or "SecretBinary" in p):
        checks.append(_secret_kms_check("kms:GenerateDataKey", key_arn, region, arn))
        checks.append(_secret_kms_check("kms:Decrypt", key_arn, region, arn))
    return checks


_BY_SERVICE = {"s3": _s3_checks, "kms": _kms_checks, "glue": _glue_checks, "athena": _athena_checks,
               "lambda": _lambda_checks, "logs": _logs_checks, "iam": _iam_checks,
               "cloudformation": _cfn_checks, "monitoring": _cloudwatch_checks,
               "events": _events_checks, "sts": _sts_checks, "sqs": _sqs_checks, "sns": _sns_checks,
               "secretsmanager": _secretsmanager_checks, "states": _states_checks}


def checks_for(req: Any) -> list[Check]:
    """The authorizations ``req`` (an :class:`~lakekit.local.registry.AwsRequest`) needs."""
    fn = _BY_SERVICE.get(req.service)
    if fn is None:
        prefix = IAM_PREFIX.get(req.service, req.service)
        if req.service != "lakeformation":
            _unmapped(req.service, req.operation)
        return [Check(f"{prefix}:{req.operation}", "*")]
    return fn(req)
