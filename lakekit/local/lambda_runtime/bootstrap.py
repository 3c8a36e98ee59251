"""The process of one local Lambda execution environment (``python -u bootstrap.py``).

Mirrors the AWS Python runtime closely enough for handler code to behave the same:
``LAMBDA_TASK_ROOT`` first on ``sys.path`` and the working directory, ``_HANDLER`` =
``module.function`` (``pkg/mod.fn`` and ``pkg.mod.fn`` both accepted), a context object
with ``get_remaining_time_in_millis()``, the root logger writing AWS-formatted lines, and
the error document ``{"errorMessage", "errorType", "requestId", "stackTrace"}``.

One process is one warm execution environment (see :mod:`.environments`): the handler
module is imported once (the init phase), then invocations are served one at a time, so
module globals survive between them as on AWS. Protocol (set up by the invoker):

- ``_LAKEKIT_CTL_FD``: requests, one JSON line each: ``rid``, ``payload`` (base64 of the
  event bytes), ``timeout_ms``, ``arn`` (invoked ARN), ``client_context`` (JSON text or "").
  End of file = the environment is shut down: the process exits.
- ``_LAKEKIT_RES_FD``: outcomes, one JSON line each: ``rid`` (``"-"`` for the init phase),
  ``ok``, ``payload`` / ``error``, ``duration_ms``, ``init_ms``, ``max_rss_kb``.
- stdout/stderr are the function's log. Control lines ``MARK init -``, ``MARK start <rid>
  <deadline epoch ms>`` and ``MARK end <rid>`` delimit the init phase and each invocation,
  so the invoker attributes log lines and counts Timeout from the handler's start (AWS).

This file runs in a bare interpreter: stdlib only, nothing from lakekit is imported.
"""
from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
MARK = "\x1e\x1elakekit"
INIT_ID = "-"  # the request id of the init phase's messages


class LambdaContext:
    """The ``context`` argument of a handler (same attributes as on AWS)."""

    def __init__(self, request_id: str, deadline_ms: int, arn: str, client_context: Any) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},function_name="
                f"{self.function_name},function_version={self.function_version}])")


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _LambdaLogHandler(logging.StreamHandler):
    """One log event per record: newlines become carriage returns like AWS's handler."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\r")


def _setup_logging() -> _RequestIdFilter:
    request_filter = _RequestIdFilter(INIT_ID)
    handler = _LambdaLogHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.handlers = [handler]
    return request_filter


def _error(exc: BaseException, error_type: str | None, request_id: str,
           message: str | None = None, drop_frames: bool = True) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    if drop_frames:
        frames = [f for f in frames if not f.filename.startswith(_HERE)
                  and "importlib._bootstrap" not in f.filename and "<frozen" not in f.filename]
    return {
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _load_handler(spec: str, request_id: str) -> tuple[Any, dict[str, Any] | None]:
    module_path, _, func_name = spec.rpartition(".")
    if not module_path or not func_name:
        exc = ValueError(spec)
        return None, _error(exc, "Runtime.MalformedHandlerName", request_id,
                            f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, _error(exc, "Runtime.ImportModuleError", request_id,
                            f"Unable to import module '{module_path}': {exc}")
    except SyntaxError as exc:
        return None, _error(exc, "Runtime.UserCodeSyntaxError", request_id,
                            f"Syntax error in module '{module_path}': {exc}")
    except Exception as exc:  # module-level code raised
        return None, _error(exc, None, request_id)
    func = getattr(module, func_name, None)
    if func is None:
        exc = AttributeError(func_name)
        return None, _error(exc, "Runtime.HandlerNotFound", request_id,
                            f"Handler '{func_name}' missing on module '{module_path}'")
    return func, None


def _send(res: Any, message: dict[str, Any]) -> None:
    """One JSON line on the result pipe (the invoker's reader thread drains it)."""
    message["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res.write(json.dumps(message).encode() + b"\n")
    res.flush()


def _mark(kind: str, request_id: str, extra: str = "") -> None:
    """A control line on stdout: everything the code printed before it is in the log already."""
    sys.stderr.flush()
    sys.stdout.write(f"\n{MARK} {kind} {request_id} {extra}\n")
    sys.stdout.flush()


def _invoke(func: Any, request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["rid"]
    raw = base64.b64decode(request.get("payload") or "")
    event = json.loads(raw) if raw.strip() else {}
    deadline_ms = int(time.time() * 1000) + int(request["timeout_ms"])
    _mark("start", request_id, str(deadline_ms))
    context = LambdaContext(request_id, deadline_ms, request.get("arn", ""),
                            json.loads(request.get("client_context") or "null"))
    started = time.perf_counter()
    try:
        value = func(event, context)
    except Exception as exc:
        return {"ok": False, "error": _error(exc, None, request_id),
                "duration_ms": (time.perf_counter() - started) * 1000}
    duration = (time.perf_counter() - started) * 1000
    try:
        payload = json.dumps(value)
    except (TypeError, ValueError) as exc:
        return {"ok": False, "duration_ms": duration,
                "error": {"errorMessage": f"Unable to marshal response: {exc}",
                          "errorType": "Runtime.MarshalError", "requestId": request_id,
                          "stackTrace": []}}
    return {"ok": True, "payload": payload, "duration_ms": duration}


def main() -> int:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[:] = [task_root] + [p for p in sys.path if p and os.path.abspath(p) != _HERE]
    os.chdir(task_root)
    ctl_fd, res_fd = int(os.environ["_LAKEKIT_CTL_FD"]), int(os.environ["_LAKEKIT_RES_FD"])
    for fd in (ctl_fd, res_fd):  # the handler's own subprocesses must not hold the pipes
        os.set_inheritable(fd, False)
    ctl, res = os.fdopen(ctl_fd, "rb"), os.fdopen(res_fd, "wb")
    for name in [k for k in os.environ if k.startswith("_LAKEKIT_")]:
        del os.environ[name]
    request_filter = _setup_logging()

    init_started = time.perf_counter()
    func, err = _load_handler(os.environ.get("_HANDLER", ""), INIT_ID)
    init_ms = (time.perf_counter() - init_started) * 1000
    _mark("init", INIT_ID)
    if err is not None:  # the environment is unusable: the invoker discards it
        _send(res, {"rid": INIT_ID, "ok": False, "error": err, "init_ms": init_ms, "duration_ms": 0.0})
        return 0
    _send(res, {"rid": INIT_ID, "ok": True, "init_ms": init_ms})
    while True:  # one invocation at a time, module globals kept (a warm environment)
        line = ctl.readline()
        if not line:  # the endpoint closed the pipe (reaped, or gone)
            return 0
        request = json.loads(line)
        request_filter.request_id = request["rid"]
        outcome = _invoke(func, request)
        outcome["rid"] = request["rid"]
        _mark("end", request["rid"])
        _send(res, outcome)


if __name__ == "__main__":
    sys.stdout.flush()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
