"""Fixtures for the local Lambda runtime tests: toy handlers zipped here, the real endpoint."""
from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from tests.iam.roles import ACCOUNT, REGION, lambda_basic_logs, service_role

# Copies the object to DEST_BUCKET, writes what it saw (event, identity, env, context) next
# to it under _seen/, prints a JSON line. Fails on purpose for keys containing "fail".
COPIER = '''
import json, os, time
from urllib.parse import unquote_plus
import boto3

def handler(event, context):
    started = time.time()
    s3 = boto3.client("s3")
    rec = event["Records"][0]
    bucket = rec["s3"]["bucket"]["name"]
    key = unquote_plus(rec["s3"]["object"]["key"])
    dest = os.environ["DEST_BUCKET"]
    s3.put_object(Bucket=dest, Key="_attempts/" + context.aws_request_id + "/" + str(time.time_ns()), Body=b"")
    if "fail" in key:
        raise ValueError("refusing " + key)
    s3.copy_object(Bucket=dest, Key=key, CopySource={"Bucket": bucket, "Key": key})
    seen = {
        "event": event,
        "started": started,
        "identity": boto3.client("sts").get_caller_identity()["Arn"],
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "DEST_", "GREETING", "_HANDLER", "LAMBDA_"))},
        "context": {"aws_request_id": context.aws_request_id, "function_name": context.function_name,
                    "function_version": context.function_version,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "log_group_name": context.log_group_name, "log_stream_name": context.log_stream_name,
                    "remaining_ms": context.get_remaining_time_in_millis()},
    }
    s3.put_object(Bucket=dest, Key="_seen/" + key + ".json", Body=json.dumps(seen).encode())
    print(json.dumps({"copied": key, "bucket": bucket}))
    return {"copied": key}
'''

# Invoke target: echoes, fails, sleeps or prints depending on the event.
ECHO = '''
import json, os, sys, time
import logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("init line")

def handler(event, context):
    action = event.get("action", "echo")
    print("handling", json.dumps(event))
    logger.info("via logging")
    if action == "fail":
        raise KeyError("missing thing")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        sys.exit(3)
    if action == "unserializable":
        return {"when": object()}
    return {"echo": event, "remaining_ms": context.get_remaining_time_in_millis(),
            "memory": context.memory_limit_in_mb, "arn": context.invoked_function_arn,
            "greeting": os.environ.get("GREETING")}
'''


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, textwrap.dedent(text))
    return buf.getvalue()


def wait_for(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Call ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Lam:
    """Small helper bound to the endpoint: roles, functions, buckets, logs."""

    def __init__(self, endpoint) -> None:
        self.ep = endpoint
        self.s3 = endpoint.client("s3")
        self.lam = endpoint.client("lambda")
        self.iam = endpoint.client("iam")
        self.logs = endpoint.client("logs")
        self.sqs = endpoint.client("sqs")
        self.tag = uuid.uuid4().hex[:8]
        self.role_name = f"lr-role-{self.tag}"
        self.role_arn = service_role(endpoint, f"arn:aws:iam::{ACCOUNT}:role/{self.role_name}",
                                     "lambda.amazonaws.com", statements=self.role_statements())

    def role_statements(self) -> list[dict[str, Any]]:
        """Least privilege for this test's functions (every name carries ``self.tag``): what
        COPIER calls (GetObject on the source buckets, PutObject on the destination buckets),
        the function's own logs (AWSLambdaBasicExecutionRole, scoped), and SendMessage to
        the test's on-failure / dead-letter queues - Lambda uses the execution role for all."""
        t = self.tag
        return [
            {"Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::src-{t}-*/*"]},
            {"Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::dest-{t}-*/*"]},
            lambda_basic_logs(f"*-{t}-*"),
            {"Action": ["sqs:SendMessage"], "Resource": [f"arn:aws:sqs:{REGION}:{ACCOUNT}:*-{t}-*"]},
        ]

    def name(self, base: str) -> str:
        return f"{base}-{self.tag}-{uuid.uuid4().hex[:4]}"

    def bucket(self, base: str, versioned: bool = False) -> str:
        name = self.name(base)
        self.s3.create_bucket(Bucket=name)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def function(self, base: str, code: str, handler: str = "h.handler", timeout: int = 10,
                 env: dict[str, str] | None = None, memory: int = 256, **extra: Any) -> dict[str, Any]:
        name = self.name(base)
        return self.lam.create_function(
            FunctionName=name, Runtime="python3.11", Role=self.role_arn, Handler=handler,
            Code={"ZipFile": make_zip({handler.split(".")[0] + ".py": code})}, Timeout=timeout,
            MemorySize=memory, Environment={"Variables": env or {}}, **extra)

    def notify(self, bucket: str, fn_arn: str, events: list[str], prefix: str | None = None,
               suffix: str | None = None) -> None:
        cfg: dict[str, Any] = {"Id": "to-lambda", "LambdaFunctionArn": fn_arn, "Events": events}
        rules = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix)) if v]
        if rules:
            cfg["Filter"] = {"Key": {"FilterRules": rules}}
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [cfg]})

    def get_json(self, bucket: str, key: str) -> Any:
        try:
            return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        out = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in out.get("Contents", []))

    def log_messages(self, fn_name: str, pattern: str | None = None) -> list[str]:
        group = f"/aws/lambda/{fn_name}"
        try:
            kwargs: dict[str, Any] = {"logGroupName": group}
            if pattern:
                kwargs["filterPattern"] = pattern
            events = self.logs.filter_log_events(**kwargs)["events"]
        except self.logs.exceptions.ResourceNotFoundException:
            return []
        return [e["message"] for e in events]


@pytest.fixture
def lam(endpoint) -> Lam:
    return Lam(endpoint)
