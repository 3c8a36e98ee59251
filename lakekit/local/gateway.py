"""The WSGI gateway in front of moto.

Every request is classified (service, operation) from its SigV4 credential scope and
the botocore model. Operations with a registered executor are answered here; all
others go to moto untouched (S3 bodies keep streaming). moto's HTML 500 for an
operation it does not implement becomes a proper AWS error with HTTP 501 so SDKs fail
fast instead of retrying.
"""
from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from lakekit.local import _protocol
from lakekit.local.iam import enforce as iam_enforce
from lakekit.local.iam import strict as iam_strict
from lakekit.local.registry import (
    REGISTRY,
    AwsError,
    AwsRequest,
    AwsResponse,
    Registry,
    error_response,
    json_response,
)

__all__ = ["Gateway", "StateLock"]

log = logging.getLogger("lakekit.local.gateway")

DEFAULT_ACCOUNT = "123456789012"
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}
_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
                403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
                500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}


# S3 reads of one key: a missing key is 403, not 404, without s3:ListBucket on the bucket
_KEY_READS = frozenset({"GetObject", "HeadObject"})


class StateLock:
    """Many requests at once (shared); a snapshot alone (exclusive).

    Reader-preferring on purpose: an executor holding the shared side may call the
    endpoint again (loopback), which must never wait behind a pending snapshot.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    def shared(self) -> _Held:
        return _Held(self, exclusive=False)

    def exclusive(self) -> _Held:
        return _Held(self, exclusive=True)

    def _acquire(self, exclusive: bool) -> None:
        with self._cond:
            if exclusive:
                while self._writer or self._readers:
                    self._cond.wait()
                self._writer = True
            else:
                while self._writer:
                    self._cond.wait()
                self._readers += 1

    def _release(self, exclusive: bool) -> None:
        with self._cond:
            if exclusive:
                self._writer = False
            else:
                self._readers -= 1
            self._cond.notify_all()


class _Held:
    def __init__(self, lock: StateLock, exclusive: bool) -> None:
        self.lock, self.exclusive = lock, exclusive

    def __enter__(self) -> None:
        self.lock._acquire(self.exclusive)

    def __exit__(self, *exc: object) -> None:
        self.lock._release(self.exclusive)


class Gateway:
    """WSGI app: ``Gateway(moto_app)(environ, start_response)``."""

    def __init__(
        self,
        moto_app: Callable,
        registry: Registry = REGISTRY,
        state_lock: StateLock | None = None,
        on_mutation: Callable[[], None] | None = None,
        endpoint_url: str = "",
        health: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.moto_app = moto_app
        self.registry = registry
        self.state_lock = state_lock or StateLock()
        self.on_mutation = on_mutation or (lambda: None)
        self.endpoint_url = endpoint_url
        self.health = health or (lambda: {"status": "ok"})
        self.strict = iam_strict.enabled()

    # -- WSGI -------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/_lakekit/health":
            return self._send(start_response, json_response(self.health(), protocol="rest-json"))
        cred = _protocol.parse_credential(environ)
        service = cred.service if cred else "s3"
        method = environ.get("REQUEST_METHOD", "GET")
        mutation = method not in _READ_METHODS
        strict = self.strict
        with self.state_lock.shared():
            try:
                if cred is None:
                    if strict and not path.startswith("/moto-api"):
                        return self._send(start_response, error_response(
                            _unsigned(service), _protocol.protocol_of(service), str(uuid.uuid4())))
                    return self._to_moto(environ, start_response, service, None, None)
                if not strict and not self._needs_classification(service):
                    return self._to_moto(environ, start_response, service, None, None)
                req = self._classify(environ, cred, service, method, path)
                if req is None:
                    if strict:
                        log.warning("IAM: could not tell which %s operation %s %s is; refused",
                                    service, method, path)
                        return self._send(start_response, error_response(
                            _unclassified(service, method, path), _protocol.protocol_of(service),
                            str(uuid.uuid4())))
                    return self._to_moto(environ, start_response, service, None, None)
                if strict:
                    denied = iam_enforce.authorize(req, environ)
                    if denied is not None:
                        iam_enforce.clear_decider()
                        return self._send(start_response, error_response(denied, req.protocol,
                                                                         req.request_id))
                executor = self.registry.executor_for(service, req.operation)
                if executor is None:
                    return self._to_moto(environ, start_response, service, req.operation, req)
                return self._send(start_response, self._run(executor, req))
            finally:
                iam_enforce.clear_decider()
                if mutation:
                    self.on_mutation()

    def _needs_classification(self, service: str) -> bool:
        # S3 data-plane traffic is only classified when someone listens to it.
        return service != "s3" or self.registry.wants("s3")

    def _classify(self, environ: dict, cred: _protocol.Credential, service: str,
                  method: str, path: str) -> AwsRequest | None:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        protocol = _protocol.wire_protocol(service, path, headers)
        body = b""
        if service != "s3":
            body = _read_body(environ)
        params: dict[str, Any] = {}
        operation = ""
        if protocol == "json":
            target = headers.get("x-amz-target", "")
            operation = target.rpartition(".")[2]
            params = _loads(body)
        elif protocol.startswith("smithy-rpc"):
            operation = path.rstrip("/").rpartition("/")[2]
            params = _cbor(body)
        elif protocol == "query":
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            form.update(query)
            params = {k: v[0] for k, v in form.items()}
            operation = params.get("Action", "")
        else:
            if service == "s3":
                path = _s3_path(path, headers.get("host", ""))
            match = _protocol.rest_operation(service, method, path, query, headers)
            if match is None:
                return None
            operation = match.operation
            params = {**{k: v[0] for k, v in query.items()}, **match.path_params}
            if protocol == "rest-json":
                loaded = _loads(body)
                if isinstance(loaded, dict):
                    params.update(loaded)
        if not operation:
            return None
        return AwsRequest(
            service=service, operation=operation, protocol=protocol, region=cred.region,
            account_id=_account_for(cred.access_key_id), access_key_id=cred.access_key_id,
            method=method, path=path, query=query, headers=headers, body=body, params=params,
            endpoint_url=self.endpoint_url,
        )

    def _run(self, executor: Callable, req: AwsRequest) -> AwsResponse:
        started = time.monotonic()
        try:
            result = executor(req)
        except AwsError as err:
            return error_response(err, req.protocol, req.request_id)
        except Exception as exc:  # an executor bug must still answer like AWS
            log.exception("executor %s.%s failed", req.service, req.operation)
            err = AwsError("InternalFailure", f"{req.service}.{req.operation} failed inside the "
                           f"local endpoint: {exc!r}. See the endpoint log (lakekit local status).",
                           500, sender=False)
            return error_response(err, req.protocol, req.request_id)
        finally:
            log.debug("%s.%s took %.1f ms", req.service, req.operation,
                      (time.monotonic() - started) * 1000)
        if isinstance(result, AwsResponse):
            return result
        return json_response(result or {}, protocol=req.protocol)

    def _to_moto(self, environ: dict, start_response: Callable, service: str,
                 operation: str | None, req: AwsRequest | None) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        op = operation or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        proto = req.protocol if req else _protocol.protocol_of(service)
        try:
            result = self.moto_app(environ, capture)
        except NotImplementedError:
            return self._send(start_response, error_response(_not_implemented(service, op), proto,
                                                             str(uuid.uuid4())))
        except Exception as exc:
            log.exception("moto failed on %s.%s", service, op)
            err = AwsError("InternalFailure", f"moto failed on {service}.{op}: {exc!r}. This is a "
                           "bug of the local endpoint; the endpoint log has the traceback.", 500,
                           sender=False)
            return self._send(start_response, error_response(err, proto, str(uuid.uuid4())))
        status = int(captured["status"].split()[0])
        headers = dict(captured["headers"])
        ctype = headers.get("Content-Type", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if status in (404, 405, 500) and "text/html" in ctype and method != "HEAD":
            # Flask's own HTML page: no moto route/action (a HEAD 404 is a real "not found")
            _close(result)
            return self._send(start_response, error_response(_not_implemented(service, op), proto,
                                                             str(uuid.uuid4())))
        if status == 404 and req is not None and self.strict and req.operation in _KEY_READS:
            body = b"".join(result)
            _close(result)
            result = [body]
            if method == "HEAD" or b"<Code>NoSuchKey</Code>" in body:
                denied = iam_enforce.missing_key_error(req)
                if denied is not None:
                    return self._send(start_response, error_response(denied, proto, req.request_id))
        if req is not None and 200 <= status < 300:
            for obs in self.registry.observers_for(service, req.operation):
                try:
                    obs(req, status, headers)
                except Exception:
                    log.exception("observer for %s.%s failed", service, req.operation)
        start_response(captured["status"], captured["headers"])
        return result

    @staticmethod
    def _send(start_response: Callable, resp: AwsResponse) -> Iterable[bytes]:
        headers = dict(resp.headers)
        headers.setdefault("Content-Length", str(len(resp.body)))
        headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        start_response(f"{resp.status} {_STATUS_TEXT.get(resp.status, 'Status')}", list(headers.items()))
        return [resp.body]


def _not_implemented(service: str, op: str) -> AwsError:
    return AwsError(
        "NotImplemented",
        f"The local endpoint does not implement {service}.{op}. It works on real AWS "
        f"(LAKEKIT_TARGET=aws); locally, use an operation the workshop covers or file an "
        f"issue naming {service}.{op}.",
        501,
        sender=False,
    )


def _unsigned(service: str) -> AwsError:
    if service == "s3":
        return AwsError("AccessDenied", "Anonymous access is not allowed: sign the request "
                        "(any boto3 client with credentials does).", 403)
    return AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def _unclassified(service: str, method: str, path: str) -> AwsError:
    return AwsError("AccessDenied", f"The local endpoint could not tell which {service} operation "
                    f"{method} {path} is, so it cannot authorize it; use the AWS SDK call for it, "
                    "or run the endpoint with LAKEKIT_STRICT_IAM=0 to bypass IAM.", 403)


def _cbor(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        from botocore.parsers import BaseCBORParser

        parser = BaseCBORParser()
        out = parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))
        return out if isinstance(out, dict) else {}
    except Exception:
        return {}


def _read_body(environ: dict) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    body = stream.read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _loads(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        return {}


def _s3_path(path: str, host: str) -> str:
    """Virtual-hosted style (``bkt.localhost``) -> path style (``/bkt/...``)."""
    name = host.split(":")[0]
    if name.endswith(".localhost") or ".s3." in name:
        return "/" + name.split(".")[0] + path
    return path


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if close:
        close()


def _account_for(access_key_id: str) -> str:
    try:
        from moto.iam.models import get_account_id_from

        return get_account_id_from(access_key_id)
    except Exception:
        return DEFAULT_ACCOUNT
