"""Run one Lambda invocation in a subprocess of the kit's Python and log it like AWS.

:func:`resolve` reads the function from moto's in-process backend (configuration and zip
bytes); :func:`invoke` extracts the code once per content hash under
``<home>/work/lambda/<sha256>/``, gets credentials of the function's execution role
(``sts:AssumeRole`` through the endpoint, cached until 5 min before expiry), starts
``python -u bootstrap.py`` with the function's environment, enforces ``Timeout`` (counted
from the end of the init phase, like AWS) by killing the process group, and writes
``START`` / output / ``END`` / ``REPORT`` lines to the CloudWatch Logs group
``/aws/lambda/<name>``, stream ``YYYY/MM/DD/[$LATEST]<32 hex>``.

Each invocation is a cold start (fresh interpreter): no state leaks between invocations,
and ``REPORT`` always carries ``Init Duration``.
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
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local._clients import endpoint_client, role_credentials
from lakekit.local._logs import write_logs

__all__ = ["FunctionSpec", "Outcome", "FunctionNotFound", "resolve", "invoke", "INIT_LIMIT_SECONDS"]

log = logging.getLogger("lakekit.local.lambda")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
START_MARK = "\x1e\x1elakekit-handler-start"
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


# -- credentials --------------------------------------------------------------------------


# -- logs ---------------------------------------------------------------------------------
def _iso(ts: float) -> str:
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


# -- the invocation -----------------------------------------------------------------------
def _peak_rss_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


class _Reader(threading.Thread):
    """Collects the child's output lines with timestamps; spots the handler-start mark."""

    def __init__(self, proc: subprocess.Popen) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.lines: list[tuple[int, str]] = []
        self.cond = threading.Condition()
        self.started_at: float | None = None
        self.deadline: float | None = None
        self.init_lines = 0
        self.eof = False

    def run(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            now = time.time()
            if START_MARK in line:
                head, _, rest = line.partition(START_MARK)
                if head:
                    self.lines.append((int(now * 1000), head))
                elif self.lines and self.lines[-1][1] == "":
                    self.lines.pop()  # the newline the mark is prefixed with
                with self.cond:
                    self.started_at = now
                    try:
                        self.deadline = int(rest.strip()) / 1000
                    except ValueError:
                        self.deadline = None
                    self.init_lines = len(self.lines)
                    self.cond.notify_all()
                continue
            self.lines.append((int(now * 1000), line))
        with self.cond:
            self.eof = True
            self.cond.notify_all()


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def invoke(spec: FunctionSpec, payload: bytes, *, request_id: str, invoked_arn: str,
           endpoint_url: str, home: Path, access_key: str = "test",
           client_context: str | None = None) -> Outcome:
    """Run the handler once and return its :class:`Outcome` (never raises for handler errors)."""
    stream = f"{_dt.datetime.now(_dt.UTC):%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
    group = f"/aws/lambda/{spec.name}"
    out = Outcome(request_id=request_id, function=spec.name, status="error", log_stream=stream,
                  executed_version=spec.version)
    events: list[tuple[int, str]] = []
    work = home / "work" / "lambda" / "_invocations" / f"{request_id}-{uuid.uuid4().hex[:8]}"
    try:
        out = _run(spec, payload, request_id, invoked_arn, endpoint_url, home, access_key,
                   client_context, stream, group, work, out, events)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(m for _, m in events) + "\n"
    out.log_tail = text.encode()[-_TAIL_BYTES:].decode("utf-8", "ignore")
    try:  # Lambda writes the function's logs with its execution role (AWSLambdaBasicExecutionRole)
        write_logs(role_client(spec, endpoint_url, "logs", spec.region, access_key), group, stream, events)
    except ClientError as exc:
        log.warning("lambda %s (%s): its logs were not written to %s: %s - give the execution role "
                    "%s logs:CreateLogGroup/CreateLogStream/PutLogEvents on that log group (as "
                    "AWSLambdaBasicExecutionRole does)", spec.name, request_id, group,
                    exc.response["Error"].get("Message", exc), spec.role)
    except Exception:
        log.exception("writing CloudWatch Logs for %s (%s) failed", spec.name, request_id)
    return out


def role_client(spec: FunctionSpec, endpoint_url: str, service: str, region: str,
                access_key: str = "test") -> Any:
    """A client signed with ``spec``'s execution role (assumed as lambda.amazonaws.com, cached):
    what Lambda itself uses for the function's logs, destinations and dead-letter queue.
    Raises ClientError when the role cannot be assumed."""
    creds = role_credentials(endpoint_client(endpoint_url, "sts", spec.region, access_key),
                             spec.role, spec.name, service="lambda.amazonaws.com")
    return endpoint_client(endpoint_url, service, region, creds["AWS_ACCESS_KEY_ID"],
                           secret=creds["AWS_SECRET_ACCESS_KEY"], session_token=creds["AWS_SESSION_TOKEN"])


def _run(spec: FunctionSpec, payload: bytes, request_id: str, invoked_arn: str, endpoint_url: str,
         home: Path, access_key: str, client_context: str | None, stream: str, group: str,
         work: Path, out: Outcome, events: list[tuple[int, str]]) -> Outcome:
    def now_ms() -> int:
        return int(time.time() * 1000)

    def fail(error_type: str, message: str) -> Outcome:
        out.status = "error"
        out.error = {"errorMessage": message, "errorType": error_type, "requestId": request_id,
                     "stackTrace": []}
        events.append((now_ms(), f"START RequestId: {request_id} Version: {spec.version}"))
        events.append((now_ms(), f"[ERROR] {error_type}: {message}"))
        events.append((now_ms(), f"END RequestId: {request_id}"))
        events.append((now_ms(), f"REPORT RequestId: {request_id}\tDuration: 0.00 ms\t"
                                 f"Billed Duration: 0 ms\tMemory Size: {spec.memory_size} MB\t"
                                 f"Max Memory Used: 0 MB"))
        return out

    if not spec.runtime.startswith("python"):
        return fail("Runtime.InvalidRuntime",
                    f"The local Lambda runtime only runs Python functions; {spec.name} has "
                    f"Runtime {spec.runtime or '(none)'}. Use a python3.x runtime or run it on AWS.")
    try:
        task_root = code_dir(home, spec.code)
    except ValueError as exc:
        return fail("Runtime.InvalidEntrypoint", str(exc))
    try:
        creds = role_credentials(endpoint_client(endpoint_url, "sts", spec.region, access_key),
                                 spec.role, spec.name, service="lambda.amazonaws.com")
    except ClientError as exc:
        return fail("Runtime.AssumeRoleFailed",
                    f"Lambda was unable to assume the execution role {spec.role}: "
                    f"{exc.response['Error'].get('Message', exc)}. Create the role (IAM) first.")
    work.mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir()
    event_file, result_file = work / "event.json", work / "result.json"
    event_file.write_bytes(payload)
    env = {
        **{str(k): str(v) for k, v in spec.environment.items()},
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": str(work / "tmp"),
        "AWS_CONFIG_FILE": str(work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        **creds,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
        "_LAKEKIT_EVENT_FILE": str(event_file),
        "_LAKEKIT_RESULT_FILE": str(result_file),
        "_LAKEKIT_TIMEOUT_MS": str(spec.timeout * 1000),
        "_LAKEKIT_REQUEST_ID": request_id,
        "_LAKEKIT_FUNCTION_ARN": invoked_arn,
        "_LAKEKIT_CLIENT_CONTEXT": client_context or "",
    }
    spawned = time.time()
    out.spawned_at = spawned
    proc = subprocess.Popen([sys.executable, "-u", str(BOOTSTRAP)], cwd=str(task_root), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    reader = _Reader(proc)
    reader.start()
    timed_out = False
    with reader.cond:
        reader.cond.wait_for(lambda: reader.started_at is not None or reader.eof,
                             timeout=max(INIT_LIMIT_SECONDS, float(spec.timeout)))
        started_at, deadline = reader.started_at, reader.deadline
    peak = 0
    if started_at is None and not reader.eof:
        timed_out = True  # init phase never finished
    else:
        limit = (deadline or (time.time() + spec.timeout)) - time.time() + 0.02
        try:
            proc.wait(timeout=max(limit, 0.0) if started_at is not None else 5.0)
        except subprocess.TimeoutExpired:
            timed_out = True
    if timed_out:
        peak = _peak_rss_mb(proc.pid)
        _kill(proc)
    proc.wait()
    ended = time.time()
    reader.join(timeout=5)
    start_ts = started_at or ended
    out.started_at = start_ts
    out.init_ms = ((started_at or ended) - spawned) * 1000
    result: dict[str, Any] = {}
    if not timed_out and result_file.exists():
        result = json.loads(result_file.read_text(encoding="utf-8"))
    lines = list(reader.lines)
    init_part, handler_part = lines[:reader.init_lines], lines[reader.init_lines:]
    if started_at is None:
        init_part, handler_part = lines, []
    events.extend(init_part)
    events.append((int(start_ts * 1000), f"START RequestId: {request_id} Version: {spec.version}"))
    events.extend(handler_part)
    status_note = ""
    if timed_out:
        out.status = "timeout"
        out.duration_ms = spec.timeout * 1000.0 if started_at else (ended - spawned) * 1000
        out.max_memory_mb = peak
        msg = f"Task timed out after {spec.timeout:.2f} seconds"
        out.error = {"errorMessage": f"RequestId: {request_id} Error: {msg}",
                     "errorType": "Sandbox.Timedout"}
        events.append((int(ended * 1000), f"{_iso(ended)} {request_id} {msg}"))
        status_note = "\tStatus: timeout"
    elif result:
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
            trace = "".join(out.error.get("stackTrace") or [])
            text = f"[ERROR] {out.error.get('errorType')}: {out.error.get('errorMessage')}"
            if trace:
                text += "\nTraceback (most recent call last):\n" + trace.rstrip("\n")
            events.append((int(ended * 1000), text))
    else:
        out.status = "crash"
        rc = proc.returncode
        why = f"signal: {signal.Signals(-rc).name.lower()}" if rc < 0 else f"exit status {rc}"
        out.duration_ms = (ended - start_ts) * 1000
        out.error = {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {why}",
                     "errorType": "Runtime.ExitError"}
        events.append((int(ended * 1000), out.error["errorMessage"]))
        events.append((int(ended * 1000), "Runtime.ExitError"))
    events.append((int(ended * 1000), f"END RequestId: {request_id}"))
    events.append((int(ended * 1000),
                   f"REPORT RequestId: {request_id}\tDuration: {out.duration_ms:.2f} ms\t"
                   f"Billed Duration: {max(1, math.ceil(out.duration_ms))} ms\t"
                   f"Memory Size: {spec.memory_size} MB\tMax Memory Used: {out.max_memory_mb} MB\t"
                   f"Init Duration: {out.init_ms:.2f} ms{status_note}"))
    return out
