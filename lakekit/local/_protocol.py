"""Recognise which AWS operation an HTTP request is, from botocore's own service models.

JSON services name the operation in ``X-Amz-Target``; query services (CloudFormation,
IAM, STS) in the ``Action`` form field; REST services (S3, Lake Formation, Lambda) by
method + path + required query keys, which we match against each operation's
``requestUri`` template from the botocore model — no hand-written route table.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

import botocore.session

__all__ = ["Credential", "parse_credential", "protocol_of", "wire_protocol", "rest_operation", "RestMatch"]

# SigV4 signing name -> botocore service model name, where they differ.
_MODEL_NAMES = {"events": "events", "monitoring": "cloudwatch", "email": "ses"}


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    region: str
    service: str


def parse_credential(environ: dict) -> Credential | None:
    """Read access key, region and service from a SigV4 header or presigned URL."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = ""
    if auth.startswith("AWS4-HMAC-SHA256"):
        m = re.search(r"Credential=([^,\s]+)", auth)
        scope = m.group(1) if m else ""
    elif "X-Amz-Credential" in environ.get("QUERY_STRING", ""):
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        scope = unquote(qs.get("X-Amz-Credential", [""])[0])
    parts = scope.split("/")
    if len(parts) != 5:
        return None
    return Credential(parts[0], parts[2], parts[3].lower())


@functools.cache
def _model(service: str):
    try:
        return botocore.session.get_session().get_service_model(_MODEL_NAMES.get(service, service))
    except Exception:  # unknown service name: let moto decide
        return None


def protocol_of(service: str) -> str:
    """The wire protocol botocore speaks to ``service``: the first of the model's ``protocols``
    it supports (``resolved_protocol``), not the legacy ``protocol`` field - CloudWatch's model
    says ``smithy-rpc-v2-cbor`` there, yet botocore 1.44 sends it awsJson1_0 (``X-Amz-Target``)."""
    model = _model(service)
    if model is None:
        return "json"
    try:
        return str(model.resolved_protocol)
    except Exception:  # a protocols list botocore supports none of
        return str(model.protocol)


def wire_protocol(service: str, path: str, headers: dict[str, str]) -> str:
    """The protocol one request is actually in (clients may pick any of the model's
    ``protocols``): ``X-Amz-Target`` = json, ``/service/<S>/operation/<Op>`` = RPCv2 CBOR,
    a form body = query; else :func:`protocol_of`."""
    default = protocol_of(service)
    if default.startswith("rest") or service == "s3":
        return default
    model = _model(service)
    allowed = set(model.metadata.get("protocols", [default])) if model is not None else {default}
    allowed.add(default)
    if headers.get("x-amz-target") and "json" in allowed:
        return "json"
    if "/operation/" in path and "smithy-rpc-v2-cbor" in allowed:
        return "smithy-rpc-v2-cbor"
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded") \
            and "query" in allowed:
        return "query"
    return default


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    query_keys: frozenset[str]
    literal_len: int


@dataclass(frozen=True)
class RestMatch:
    operation: str
    path_params: dict[str, str]


def _compile(uri: str) -> tuple[re.Pattern[str], tuple[str, ...], set[str], int]:
    path, _, query = uri.partition("?")
    keys = {q.split("=")[0] for q in query.split("&") if q and not q.startswith("x-id")}
    names: list[str] = []
    pattern = ""
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{"):
            name = piece[1:-1]
            greedy = name.endswith("+")
            names.append(name.rstrip("+"))
            pattern += "(.+)" if greedy else "([^/]+)"
        else:
            pattern += re.escape(piece)
    if pattern.endswith("/") and len(pattern) > 1:
        pattern = pattern[:-1] + "/?"
    literal = len(re.sub(r"\{[^}]+\}", "", path))
    return re.compile(f"^{pattern}/?$"), tuple(names), keys, literal


@functools.cache
def _routes(service: str) -> dict[str, list[_Route]]:
    model = _model(service)
    table: dict[str, list[_Route]] = {}
    if model is None:
        return table
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        regex, names, keys, literal = _compile(op.http.get("requestUri", "/"))
        shape = op.input_shape
        if shape is not None:
            for member_name, member in shape.members.items():
                if (
                    member.serialization.get("location") == "querystring"
                    and member_name in shape.required_members
                ):
                    keys.add(member.serialization.get("name", member_name))
        table.setdefault(op.http.get("method", "POST"), []).append(
            _Route(op_name, op.http.get("method", "POST"), regex, names, frozenset(keys), literal)
        )
    for routes in table.values():
        routes.sort(key=lambda r: (-len(r.query_keys), -r.literal_len))
    return table


def rest_operation(service: str, method: str, path: str, query: dict[str, list[str]],
                   headers: dict[str, str]) -> RestMatch | None:
    """The REST operation a request is, e.g. ``PUT /bkt/a.csv`` -> ``PutObject``."""
    if "x-id" in query:
        return RestMatch(query["x-id"][0], {})
    for route in _routes(service).get(method, []):
        if not route.query_keys <= query.keys():
            continue
        m = route.regex.match(path)
        if not m:
            continue
        params = {n: unquote(v) for n, v in zip(route.names, m.groups(), strict=True)}
        op = route.operation
        if service == "s3":
            # same URI, told apart by the x-amz-copy-source header only
            if "x-amz-copy-source" in headers:
                op = {"PutObject": "CopyObject", "UploadPart": "UploadPartCopy"}.get(op, op)
            else:
                op = {"CopyObject": "PutObject", "UploadPartCopy": "UploadPart"}.get(op, op)
        return RestMatch(op, params)
    return None
