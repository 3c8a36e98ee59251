"""The process one local Lambda invocation runs in (``python -u bootstrap.py``).

Mirrors the AWS Python runtime closely enough for handler code to behave the same:
``LAMBDA_TASK_ROOT`` first on ``sys.path`` and the working directory, ``_HANDLER`` =
``module.function`` (``pkg/mod.fn`` and ``pkg.mod.fn`` both accepted), a context object
with ``get_remaining_time_in_millis()``, the root logger writing AWS-formatted lines, and
the error document ``{"errorMessage", "errorType", "requestId", "stackTrace"}``.

Inputs (environment, set by the invoker): ``_LAKEKIT_EVENT_FILE`` (the payload bytes),
``_LAKEKIT_RESULT_FILE`` (where the outcome JSON goes), ``_LAKEKIT_TIMEOUT_MS`` (the
function's Timeout), ``_LAKEKIT_REQUEST_ID``, ``_LAKEKIT_FUNCTION_ARN``,
``_LAKEKIT_CLIENT_CONTEXT`` (JSON). stdout/stderr are the function's log; once the handler
module is imported (the init phase) one line ``START_MARK <deadline epoch ms>`` tells the
invoker that the handler starts now, so Timeout counts from there as on AWS. This file runs
in a bare interpreter: stdlib only, nothing from lakekit is imported.
"""
from __future__ import annotations

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
START_MARK = "\x1e\x1elakekit-handler-start"


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


def _setup_logging(request_id: str) -> None:
    handler = _LambdaLogHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(_RequestIdFilter(request_id))
    root = logging.getLogger()
    root.handlers = [handler]


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


def _write(path: str, outcome: dict[str, Any]) -> None:
    outcome["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    os.replace(tmp, path)


def main() -> int:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[:] = [task_root] + [p for p in sys.path if p and os.path.abspath(p) != _HERE]
    os.chdir(task_root)
    request_id = os.environ["_LAKEKIT_REQUEST_ID"]
    result_path = os.environ["_LAKEKIT_RESULT_FILE"]
    timeout_ms = int(os.environ["_LAKEKIT_TIMEOUT_MS"])
    arn = os.environ.get("_LAKEKIT_FUNCTION_ARN", "")
    client_context = json.loads(os.environ.get("_LAKEKIT_CLIENT_CONTEXT") or "null")
    with open(os.environ["_LAKEKIT_EVENT_FILE"], "rb") as fh:
        raw = fh.read()
    for name in [k for k in os.environ if k.startswith("_LAKEKIT_")]:
        del os.environ[name]
    _setup_logging(request_id)

    init_started = time.perf_counter()
    func, err = _load_handler(os.environ.get("_HANDLER", ""), request_id)
    init_ms = (time.perf_counter() - init_started) * 1000
    if err is not None:
        _write(result_path, {"ok": False, "error": err, "init_ms": init_ms, "duration_ms": 0.0})
        return 0
    event = json.loads(raw) if raw.strip() else {}
    deadline_ms = int(time.time() * 1000) + timeout_ms
    sys.stderr.flush()
    sys.stdout.write(f"\n{START_MARK} {deadline_ms}\n")
    sys.stdout.flush()
    context = LambdaContext(request_id, deadline_ms, arn, client_context)
    started = time.perf_counter()
    try:
        value = func(event, context)
    except Exception as exc:
        duration = (time.perf_counter() - started) * 1000
        _write(result_path, {"ok": False, "error": _error(exc, None, request_id),
                             "init_ms": init_ms, "duration_ms": duration})
        return 0
    duration = (time.perf_counter() - started) * 1000
    try:
        payload = json.dumps(value)
    except (TypeError, ValueError) as exc:
        _write(result_path, {"ok": False, "init_ms": init_ms, "duration_ms": duration,
                             "error": {"errorMessage": f"Unable to marshal response: {exc}",
                                       "errorType": "Runtime.MarshalError",
                                       "requestId": request_id, "stackTrace": []}})
        return 0
    _write(result_path, {"ok": True, "payload": payload, "init_ms": init_ms,
                         "duration_ms": duration})
    return 0


if __name__ == "__main__":
    sys.stdout.flush()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
