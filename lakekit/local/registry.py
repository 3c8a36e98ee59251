"""The executor registry: which AWS operations the gateway answers itself.

An *executor* is a plain function that receives an :class:`AwsRequest` and returns an
:class:`AwsResponse` (or a ``dict`` for JSON protocols). Executors register per
``(service, operation)`` where ``service`` is the SigV4 signing name (``glue``,
``athena``, ``lakeformation``, ``cloudformation``, ``s3``...) and ``operation`` the API
operation name exactly as in the AWS API reference.

Example::

    from lakekit.local.registry import operation, AwsRequest, AwsError

    @operation("lakeformation", "GetDataCellsFilter")
    def get_filter(req: AwsRequest) -> dict:
        ...
        raise AwsError("EntityNotFoundException", "Data cells filter not found", 400)

*Observers* run after moto answered a request successfully (``2xx``) and never change
the response; the S3 event source uses them to see ``PutObject`` & co.::

    @observer("s3", "PutObject")
    def on_put(req: AwsRequest, status: int, headers: dict) -> None: ...

Executors needing the control plane call moto back through the gateway with
``req.client("glue")`` (same credentials as the caller) so every call is a real API call.
"""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "AwsError",
    "AwsRequest",
    "AwsResponse",
    "Registry",
    "REGISTRY",
    "operation",
    "observer",
    "json_response",
    "xml_response",
    "query_response",
]


class AwsError(Exception):
    """An AWS-shaped error returned to the client (code, message, HTTP status)."""

    def __init__(self, code: str, message: str, status: int = 400, sender: bool = True):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender


@dataclass
class AwsResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class AwsRequest:
    """What an executor sees of one request (already authenticated by shape only)."""

    service: str
    operation: str
    protocol: str
    region: str
    account_id: str
    access_key_id: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, Any]
    endpoint_url: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def client(self, service: str, **kwargs: Any):
        """A boto3 client to this endpoint with the caller's credentials (no retries)."""
        from lakekit.local._clients import endpoint_client

        return endpoint_client(
            self.endpoint_url, service, self.region, self.access_key_id, **kwargs
        )


Executor = Callable[[AwsRequest], "AwsResponse | dict[str, Any] | None"]
Observer = Callable[[AwsRequest, int, dict[str, str]], None]


class Registry:
    """Maps (service, operation) to executors and observers."""

    def __init__(self) -> None:
        self.executors: dict[tuple[str, str], Executor] = {}
        self.observers: dict[tuple[str, str], list[Observer]] = {}
        self.services: set[str] = set()
        self._lock = threading.Lock()

    def operation(self, service: str, name: str) -> Callable[[Executor], Executor]:
        def deco(fn: Executor) -> Executor:
            with self._lock:
                self.executors[(service, name)] = fn
                self.services.add(service)
            return fn

        return deco

    def observer(self, service: str, name: str) -> Callable[[Observer], Observer]:
        def deco(fn: Observer) -> Observer:
            with self._lock:
                self.observers.setdefault((service, name), []).append(fn)
                self.services.add(service)
            return fn

        return deco

    def executor_for(self, service: str, name: str) -> Executor | None:
        return self.executors.get((service, name))

    def observers_for(self, service: str, name: str) -> list[Observer]:
        return self.observers.get((service, name), [])

    def wants(self, service: str) -> bool:
        return service in self.services


REGISTRY = Registry()
operation = REGISTRY.operation
observer = REGISTRY.observer


def json_response(data: dict[str, Any] | None, status: int = 200, protocol: str = "json") -> AwsResponse:
    ctype = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
    return AwsResponse(
        status, {"Content-Type": ctype}, json.dumps(data or {}, default=_json_default).encode()
    )


def _json_default(value: Any) -> Any:
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def xml_response(body: str, status: int = 200) -> AwsResponse:
    return AwsResponse(status, {"Content-Type": "text/xml"}, body.encode())


def query_response(operation_name: str, result_xml: str, request_id: str) -> AwsResponse:
    """A query-protocol (CloudFormation, IAM, STS) success document.

    ``result_xml`` is the inner XML of ``<{Operation}Result>``; use
    :func:`xml_escape` on every value.
    """
    ns = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
    body = (
        f'<{operation_name}Response xmlns="{ns}">'
        f"<{operation_name}Result>{result_xml}</{operation_name}Result>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{operation_name}Response>"
    )
    return xml_response(body)


def error_response(err: AwsError, protocol: str, request_id: str) -> AwsResponse:
    """Serialize ``err`` the way the service's protocol expects."""
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": err.code, "message": err.message, "Message": err.message})
        return AwsResponse(
            err.status,
            {
                "Content-Type": "application/x-amz-json-1.1" if protocol == "json" else "application/json",
                "x-amzn-ErrorType": err.code,
                "x-amzn-RequestId": request_id,
            },
            body.encode(),
        )
    if protocol == "rest-xml":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{escape(err.code)}</Code>"
            f"<Message>{escape(err.message)}</Message><RequestId>{request_id}</RequestId></Error>"
        )
        return AwsResponse(err.status, {"Content-Type": "application/xml"}, body.encode())
    kind = "Sender" if err.sender else "Receiver"
    body = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(err.code)}</Code>"
        f"<Message>{escape(err.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return AwsResponse(err.status, {"Content-Type": "text/xml"}, body.encode())


def xml_escape(value: Any) -> str:
    return escape(str(value))
