"""Run Lambda invocations in warm execution environments and log them like AWS.

:func:`resolve` reads the function from moto's in-process backend (configuration and zip
bytes); :func:`invoke` extracts the code once per content hash under
``<home>/work/lambda/<sha256>/``, gets credentials of the function's execution role
(``sts:AssumeRole`` through the endpoint, cached until 5 min before expiry), takes an
execution environment from :mod:`.environments` (a long-lived ``python -u bootstrap.py``
with the function's environment; a new one runs the init phase first — a cold start),
enforces ``Timeout`` (counted from the handler's start, like AWS) by killing the
environment, and writes ``START`` / output / ``END`` / ``REPORT`` lines to the CloudWatch Logs
group ``/aws/lambda/<name>``, stream ``YYYY/MM/DD/[$LATEST]<32 hex>`` — one stream per
environment, as on AWS. Log events that are Embedded Metric Format documents then become
CloudWatch metrics (:mod:`.emf`), as CloudWatch Logs extracts them on AWS.

Module globals and ``/tmp`` survive between invocations of one environment; ``REPORT``
carries ``Init Duration`` only on a cold start. The first invocation's log has the init
phase's output before its ``START`` line. ``LAKEKIT_LAMBDA_CONCURRENCY`` and
``LAKEKIT_LAMBDA_IDLE_S``: see :mod:`.environments`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import os
import shutil
import signal
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local._clients import (
    credentials_client,
    endpoint_client,
    role_credentials,
    role_credentials_until,
)
from lakekit.local._logs import write_logs
from lakekit.local.lambda_runtime import emf, environments
from lakekit.local.services import cloudwatch_publish

__all__ = ["FunctionSpec", "Outcome", "FunctionNotFound", "resolve", "invoke", "INIT_LIMIT_SECONDS"]

log = logging.getLogger("lakekit.local.lambda")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
INIT_LIMIT_SECONDS = 10.0
"""AWS gives the init phase (interpreter + handler module import) 10 s."""
_TAIL_BYTES = 4096


class FunctionNotFound(LookupError):
    """The function (or its qualifier) does not exist in the local Lambda registry."""


@dataclass(frozen=True)
class FunctionSpec:
    """What one invocation needs to know about a function (read at invocation time)."""

    name: str
    arn: str                 # unqualified
    version: str             # "$LATEST" or "3"
    handler: str
    runtime: str
    role: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    account_id: str
    region: str
    code: bytes = field(repr=False)


@dataclass
class Outcome:
    """Result of one attempt: payload or error document, timings and the log tail."""

    request_id: str
    function: str
    status: str                       # success | error | timeout | crash
    payload: bytes = b""
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float = 0.0
    max_memory_mb: int = 0
    log_stream: str = ""
    log_tail: str = ""
    executed_version: str = "$LATEST"
    started_at: float = 0.0           # epoch seconds when the handler started
    spawned_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def response_payload(self) -> bytes:
        """What Invoke returns: the handler's JSON, or the error document."""
        if self.ok:
            return self.payload
        return json.dumps(self.error or {}).encode()


def resolve(account_id: str, region: str, name_or_arn: str, qualifier: str | None = None) -> FunctionSpec:
    """The function as moto stores it; raises :class:`FunctionNotFound`."""
    from moto.awslambda.models import lambda_backends

    name, qualifier = _split(name_or_arn, qualifier)
    try:
        fn = lambda_backends[account_id][region].get_function(name, qualifier)
    except Exception as exc:
        shown = f"{name}:{qualifier}" if qualifier else name
        raise FunctionNotFound(
            f"Function not found: arn:aws:lambda:{region}:{account_id}:function:{shown}") from exc
    version = str(fn.version)
    return FunctionSpec(
        name=fn.function_name,
        arn=f"arn:aws:lambda:{region}:{account_id}:function:{fn.function_name}",
        version="$LATEST" if version.lower() == "$latest" else version,
        handler=fn.handler or "", runtime=fn.run_time or "", role=fn.role,
        timeout=int(fn.timeout or 3), memory_size=int(fn.memory_size or 128),
        environment=dict(fn.environment_vars or {}), account_id=account_id, region=region,
        code=getattr(fn, "code_bytes", b"") or b"",
    )


def _split(name_or_arn: str, qualifier: str | None) -> tuple[str, str | None]:
    """``arn:aws:lambda:r:a:function:f:q`` / ``f:q`` / ``f`` -> (name, qualifier)."""
    parts = name_or_arn.split(":")
    if name_or_arn.startswith("arn:"):
        name = parts[6] if len(parts) > 6 else parts[-1]
        if len(parts) > 7:
            qualifier = qualifier or parts[7]
    elif len(parts) >= 3:  # account:function:name partial ARN
        name = parts[2]
        if len(parts) > 3:
            qualifier = qualifier or parts[3]
    else:
        name = parts[0]
        if len(parts) == 2:
            qualifier = qualifier or parts[1]
    return name, qualifier


# -- code ---------------------------------------------------------------------------------
_code_lock = threading.Lock()


def code_dir(home: Path, code: bytes) -> Path:
    """The function's zip extracted once per content hash (``home/work/lambda/<sha256>``)."""
    sha = hashlib.sha256(code).hexdigest()
    root = home / "work" / "lambda"
    target = root / sha
    if target.is_dir():
        return target
    with _code_lock:
        if target.is_dir():
            return target
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{sha}.{uuid.uuid4().hex}"
        try:
            import io

            with zipfile.ZipFile(io.BytesIO(code)) as zf:
                zf.extractall(tmp)
        except zipfile.BadZipFile as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ValueError("the function's code is not a valid zip archive: upload a zip "
                             "with the handler module at its root (UpdateFunctionCode).") from exc
        os.replace(tmp, target)
    return target


# -- logs ---------------------------------------------------------------------------------
def _iso(ts: float) -> str:
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


# -- the invocation -----------------------------------------------------------------------
def invoke(spec: FunctionSpec, payload: bytes, *, request_id: str, invoked_arn: str,
           endpoint_url: str, home: Path, access_key: str = "test",
           client_context: str | None = None) -> Outcome:
    """Run the handler once and return its :class:`Outcome` (never raises for handler errors)."""
    group = f"/aws/lambda/{spec.name}"
    out = Outcome(request_id=request_id, function=spec.name, status="error",
                  log_stream=f"{_dt.datetime.now(_dt.UTC):%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}",
                  executed_version=spec.version)
    events: list[tuple[int, str]] = []
    busy = cloudwatch_publish.lambda_started(spec.arn)
    try:
        env = _run(spec, payload, request_id, invoked_arn, endpoint_url, home, access_key,
                   client_context, group, out, events)
    finally:  # AWS/Lambda metrics of this attempt (Invocations, Errors, Duration, concurrency)
        cloudwatch_publish.lambda_finished(spec, out, invoked_arn, busy)
    try:
        text = "\n".join(m for _, m in events) + "\n"
        out.log_tail = text.encode()[-_TAIL_BYTES:].decode("utf-8", "ignore")
        try:  # Lambda writes the function's logs with its execution role (AWSLambdaBasicExecutionRole)
            write_logs(role_client(spec, endpoint_url, "logs", spec.region, access_key), group,
                       out.log_stream, events, create=not (env and env.logs_ready))
            if env is not None:
                env.logs_ready = True
            # CloudWatch Logs extracts the metrics of EMF events it received (emf.py)
            emf.publish(spec.account_id, spec.region, events, source=f"lambda {spec.name}")
        except ClientError as exc:
            log.warning("lambda %s (%s): its logs were not written to %s: %s - give the execution role "
                        "%s logs:CreateLogGroup/CreateLogStream/PutLogEvents on that log group (as "
                        "AWSLambdaBasicExecutionRole does)", spec.name, request_id, group,
                        exc.response["Error"].get("Message", exc), spec.role)
        except Exception:
            log.exception("writing CloudWatch Logs for %s (%s) failed", spec.name, request_id)
    finally:
        if env is not None:
            environments.POOL.release(env)
    return out


def role_client(spec: FunctionSpec, endpoint_url: str, service: str, region: str,
                access_key: str = "test") -> Any:
    """A client signed with ``spec``'s execution role (assumed as lambda.amazonaws.com, cached):
    what Lambda itself uses for the function's logs, destinations and dead-letter queue.
    Raises ClientError when the role cannot be assumed."""
    creds = role_credentials(endpoint_client(endpoint_url, "sts", spec.region, access_key),
                             spec.role, spec.name, service="lambda.amazonaws.com")
    return credentials_client(endpoint_url, service, region, creds)


def _run(spec: FunctionSpec, payload: bytes, request_id: str, invoked_arn: str, endpoint_url: str,
         home: Path, access_key: str, client_context: str | None, group: str, out: Outcome,
         events: list[tuple[int, str]]) -> environments.Environment | None:
    """Run the invocation in a warm environment (or a new one); fills ``out`` and ``events``
    and returns the environment used (still busy: the caller releases it)."""
    def now_ms() -> int:
        return int(time.time() * 1000)

    def fail(error_type: str, message: str) -> None:
        out.status = "error"
        out.error = {"errorMessage": message, "errorType": error_type, "requestId": request_id,
                     "stackTrace": []}
        events.append((now_ms(), f"START RequestId: {request_id} Version: {spec.version}"))
        events.append((now_ms(), f"[ERROR] {error_type}: {message}"))
        events.append((now_ms(), f"END RequestId: {request_id}"))
        events.append((now_ms(), f"REPORT RequestId: {request_id}\tDuration: 0.00 ms\t"
                                 f"Billed Duration: 0 ms\tMemory Size: {spec.memory_size} MB\t"
                                 f"Max Memory Used: 0 MB"))

    if not spec.runtime.startswith("python"):
        fail("Runtime.InvalidRuntime",
             f"The local Lambda runtime only runs Python functions; {spec.name} has "
             f"Runtime {spec.runtime or '(none)'}. Use a python3.x runtime or run it on AWS.")
        return None
    try:
        task_root = code_dir(home, spec.code)
    except ValueError as exc:
        fail("Runtime.InvalidEntrypoint", str(exc))
        return None
    try:
        creds, expires = role_credentials_until(
            endpoint_client(endpoint_url, "sts", spec.region, access_key), spec.role, spec.name,
            service="lambda.amazonaws.com")
    except ClientError as exc:
        fail("Runtime.AssumeRoleFailed",
             f"Lambda was unable to assume the execution role {spec.role}: "
             f"{exc.response['Error'].get('Message', exc)}. Create the role (IAM) first.")
        return None
    key = (spec.handler, spec.runtime, spec.role, spec.timeout, spec.memory_size,
           tuple(sorted(spec.environment.items())), task_root.name, endpoint_url)

    def new_environment() -> environments.Environment:
        stream = f"{_dt.datetime.now(_dt.UTC):%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
        work = home / "work" / "lambda" / "_environments" / uuid.uuid4().hex
        # AWS refreshes an environment's role credentials; here it is replaced before they expire
        return environments.Environment(key, (spec.arn, spec.version), stream, work,
                                        usable_until=expires - environments.CREDENTIALS_MARGIN_S)

    env, cold = environments.POOL.acquire((spec.arn, spec.version), key, new_environment)
    out.log_stream = env.stream
    init_limit = max(INIT_LIMIT_SECONDS, float(spec.timeout))
    if cold:
        init_status, init_result = _launch(env, spec, creds, task_root, endpoint_url, group, init_limit)
        out.spawned_at = env.spawned_at
        out.init_ms = (env.init_done_at - env.spawned_at) * 1000
        if init_status != "ok":
            _init_failed(env, spec, request_id, init_status, init_result, out, events)
            return env
    inv = env.invoke(request_id, payload, spec.timeout, invoked_arn, client_context, init_limit)
    start_ts = inv.started_at or inv.ended
    out.started_at = start_ts
    events.extend(inv.before)
    events.append((int(start_ts * 1000), f"START RequestId: {request_id} Version: {spec.version}"))
    events.extend(inv.lines)
    ended, result, status_note = inv.ended, inv.result, ""
    if inv.status == "timeout":
        out.status = "timeout"
        out.duration_ms = spec.timeout * 1000.0 if inv.started_at else (ended - start_ts) * 1000
        out.max_memory_mb = inv.peak_mb
        msg = f"Task timed out after {spec.timeout:.2f} seconds"
        out.error = {"errorMessage": f"RequestId: {request_id} Error: {msg}",
                     "errorType": "Sandbox.Timedout"}
        events.append((int(ended * 1000), f"{_iso(ended)} {request_id} {msg}"))
        status_note = "\tStatus: timeout"
    elif inv.status == "done":
        out.duration_ms = float(result.get("duration_ms") or (ended - start_ts) * 1000)
        out.max_memory_mb = int(result.get("max_rss_kb", 0)) // 1024
        if result.get("ok"):
            out.status = "success"
            out.payload = str(result.get("payload", "null")).encode()
            if len(out.payload) > 6 * 1024 * 1024:
                out.status = "error"
                out.error = {"errorMessage": f"Response payload size ({len(out.payload)} bytes) "
                                             f"exceeded maximum allowed payload size (6291556 bytes).",
                             "errorType": "Function.ResponseSizeTooLarge"}
                out.payload = b""
        else:
            out.status = "error"
            out.error = result.get("error") or {}
            events.append((int(ended * 1000), _error_line(out.error)))
    else:
        out.status = "crash"
        out.duration_ms = (ended - start_ts) * 1000
        out.error = {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                                     f"{_exit_reason(inv.returncode)}",
                     "errorType": "Runtime.ExitError"}
        events.append((int(ended * 1000), out.error["errorMessage"]))
        events.append((int(ended * 1000), "Runtime.ExitError"))
    events.append((int(ended * 1000), f"END RequestId: {request_id}"))
    events.append((int(ended * 1000), _report(request_id, spec, out, cold, status_note)))
    return env


def _launch(env: environments.Environment, spec: FunctionSpec, creds: dict[str, str],
            task_root: Path, endpoint_url: str, group: str, limit: float
            ) -> tuple[str, dict[str, Any]]:
    """Start the environment's process (AWS's environment variables) and run its init phase."""
    (env.work / "tmp").mkdir(parents=True, exist_ok=True)
    variables = {
        **{str(k): str(v) for k, v in spec.environment.items()},
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": str(env.work / "tmp"),
        "AWS_CONFIG_FILE": str(env.work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(env.work / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        **creds,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": group,
        "AWS_LAMBDA_LOG_STREAM_NAME": env.stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
    }
    env.launch([sys.executable, "-u", str(BOOTSTRAP)], variables, task_root)
    return env.wait_init(limit)


def _init_failed(env: environments.Environment, spec: FunctionSpec, request_id: str, status: str,
                 result: dict[str, Any], out: Outcome, events: list[tuple[int, str]]) -> None:
    """The init phase failed, timed out or the process exited: the environment is discarded."""
    if status == "eof":
        env.exited(grace=5.0)
    env.kill()
    returncode = env.proc.returncode if env.proc else None
    ended = time.time()
    out.started_at = ended
    out.init_ms = (ended - env.spawned_at) * 1000
    events.extend(env.take_lines())
    events.append((int(ended * 1000), f"START RequestId: {request_id} Version: {spec.version}"))
    note = ""
    if status == "timeout":
        out.status = "timeout"
        out.duration_ms = out.init_ms
        msg = f"Task timed out after {spec.timeout:.2f} seconds"
        out.error = {"errorMessage": f"RequestId: {request_id} Error: {msg}",
                     "errorType": "Sandbox.Timedout"}
        events.append((int(ended * 1000), f"{_iso(ended)} {request_id} {msg}"))
        note = "\tStatus: timeout"
    elif status == "error":
        out.status = "error"
        out.error = {**(result.get("error") or {}), "requestId": request_id}
        events.append((int(ended * 1000), _error_line(out.error)))
    else:
        out.status = "crash"
        out.error = {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                                     f"{_exit_reason(returncode)}",
                     "errorType": "Runtime.ExitError"}
        events.append((int(ended * 1000), out.error["errorMessage"]))
        events.append((int(ended * 1000), "Runtime.ExitError"))
    events.append((int(ended * 1000), f"END RequestId: {request_id}"))
    events.append((int(ended * 1000), _report(request_id, spec, out, True, note)))


def _error_line(error: dict[str, Any]) -> str:
    trace = "".join(error.get("stackTrace") or [])
    text = f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}"
    if trace:
        text += "\nTraceback (most recent call last):\n" + trace.rstrip("\n")
    return text


def _exit_reason(rc: int | None) -> str:
    if rc is None:
        return "exit status unknown"
    return f"signal: {signal.Signals(-rc).name.lower()}" if rc < 0 else f"exit status {rc}"


def _report(request_id: str, spec: FunctionSpec, out: Outcome, cold: bool, note: str) -> str:
    """AWS's REPORT line; ``Init Duration`` only on a cold start.

    Since 2025-08-01 the INIT phase is billed for ZIP functions on managed runtimes too (AWS
    Compute Blog, "AWS Lambda standardizes billing for INIT phase"): a cold start's Billed
    Duration is the handler's duration plus the Init Duration, rounded up to the ms.
    """
    init = f"\tInit Duration: {out.init_ms:.2f} ms" if cold else ""
    billed = max(1, math.ceil(out.duration_ms + (out.init_ms if cold else 0.0)))
    return (f"REPORT RequestId: {request_id}\tDuration: {out.duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\t"
            f"Memory Size: {spec.memory_size} MB\tMax Memory Used: {out.max_memory_mb} MB{init}{note}")
