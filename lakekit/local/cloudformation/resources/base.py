"""What every resource provisioner shares: context, failures, replacement rules, registry.

A provisioner turns one template resource into real API calls against the endpoint
(loopback boto3 with the caller's credentials), so every property is applied by the
service itself and can be read back with the ordinary API.

Example::

    @provisioner
    class Alias(Provisioner):
        type = "AWS::KMS::Alias"
        supported = frozenset({"AliasName", "TargetKeyId"})
        required = frozenset({"AliasName", "TargetKeyId"})

        def create(self, ctx, logical, props):
            ctx.client("kms").create_alias(**props)
            return Created(props["AliasName"], {})
"""
from __future__ import annotations

import contextlib
import functools
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

__all__ = [
    "ProvisionContext",
    "ResourceFailure",
    "Created",
    "Provisioner",
    "provisioner",
    "deleting",
    "PROVISIONERS",
    "get_provisioner",
    "replacement_paths",
    "pointer_get",
    "failing_as",
    "policy_json",
    "tags_list",
]




def _client(endpoint_url: str, service: str, region: str, access_key_id: str) -> Any:
    from lakekit.local._clients import endpoint_client

    return endpoint_client(endpoint_url, service, region, access_key_id)


class ResourceFailure(Exception):
    """A resource could not be created/updated/deleted; ``str()`` is the event reason."""


@dataclass
class Created:
    physical_id: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProvisionContext:
    region: str
    account_id: str
    access_key_id: str
    endpoint_url: str
    stack_name: str
    stack_id: str

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws"

    def client(self, service: str) -> Any:
        """A boto3 client to the endpoint with the caller's credentials (cached per thread)."""
        return _client(self.endpoint_url, service, self.region, self.access_key_id)

    def service_client(self, service: str) -> Any:
        """A client with the service's own view (the endpoint's bootstrap identity), for the
        checks AWS services make internally whatever the caller may do (e.g. S3 reading a
        Lambda function's policy, Lake Formation looking an IAM principal up)."""
        from lakekit.config import LOCAL_ACCESS_KEY

        return _client(self.endpoint_url, service, self.region, LOCAL_ACCESS_KEY)

    def physical_name(self, logical: str, max_len: int = 64, lower: bool = False,
                      sep: str = "-") -> str:
        """A generated name like AWS's: ``<stack>-<logical>-<13 random chars>``."""
        alphabet = string.ascii_lowercase + string.digits if lower else string.ascii_uppercase + string.digits
        suffix = "".join(random.choices(alphabet, k=12 if lower else 13))
        stack, log = self.stack_name, logical
        room = max_len - len(suffix) - 2 * len(sep)
        if len(stack) + len(log) > room:
            half = room // 2
            stack, log = stack[:half], log[: room - min(len(stack), half)]
        name = f"{stack}{sep}{log}{sep}{suffix}"
        return name.lower() if lower else name


@contextlib.contextmanager
def failing_as(prop: str | None, what: str = "") -> Iterator[None]:
    """Turn a service error into a :class:`ResourceFailure` naming the property applied."""
    try:
        yield
    except ParamValidationError as exc:
        where = f"Property {prop}: " if prop else ""
        detail = str(exc).replace("\n", " ")
        raise ResourceFailure(f"{where}{detail} (the {what or 'service'} API rejected the value "
                              f"before sending it: fix the property in the template)") from None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, msg = err.get("Code", "Error"), err.get("Message", str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        where = f"Property {prop}: " if prop else ""
        service = exc.operation_name if not what else what
        raise ResourceFailure(
            f'{where}Resource handler returned message: "{msg}" (Service: {service}, '
            f"Status Code: {status}, Error Code: {code})") from None


def policy_json(doc: Any) -> str:
    """IAM/KMS/S3 policy as the services want it: a JSON string (moto trap: never a dict)."""
    return doc if isinstance(doc, str) else json.dumps(doc)


def tags_list(tags: Any) -> list[dict[str, str]]:
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags]


@functools.cache
def replacement_paths(resource_type: str) -> tuple[tuple[str, ...], ...]:
    """createOnlyProperties of the AWS resource provider schema ("Update requires: Replacement")."""
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:
        return ()
    out = []
    for path in schema.get("createOnlyProperties", []) or []:
        parts = tuple(p for p in path.split("/")[2:] if p)
        if parts:
            out.append(parts)
    return tuple(out)


@functools.cache
def schema_properties(resource_type: str) -> frozenset[str] | None:
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:
        return None
    read_only = {p.split("/")[2] for p in schema.get("readOnlyProperties", []) or []
                 if p.count("/") == 2}
    return frozenset(set(schema.get("properties", {})) - read_only)


def pointer_get(value: Any, parts: tuple[str, ...]) -> Any:
    for p in parts:
        if isinstance(value, dict):
            value = value.get(p)
        else:
            return None
    return value


class Provisioner:
    """Base class: subclasses set ``type``/``supported``/``required`` and implement the verbs."""

    type: str = ""
    supported: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    #: extra top-level properties that require replacement beyond the provider schema
    also_replace: frozenset[str] = frozenset()
    #: properties the provider schema lists as create-only but AWS updates in place
    in_place: frozenset[str] = frozenset()
    #: ``Ref`` documentation: what Ref returns
    attributes: tuple[str, ...] = ()

    def validate(self, logical: str, props: dict[str, Any]) -> None:
        known = schema_properties(self.type)
        if known is not None:
            extraneous = sorted(set(props) - known)
            if extraneous:
                raise ResourceFailure(
                    f"Properties validation failed for resource {logical} with message: "
                    f"#: extraneous key [{extraneous[0]}] is not permitted ({self.type} has no "
                    f"property {extraneous[0]}: check the spelling against the AWS docs).")
        unsupported = sorted(set(props) - self.supported)
        if unsupported:
            raise ResourceFailure(
                f"{self.type} {logical}: property {unsupported[0]} is not supported by the local "
                f"CloudFormation engine (supported: {', '.join(sorted(self.supported))}). Remove "
                f"it from the template, or deploy to AWS (LAKEKIT_TARGET=aws); file an issue to "
                f"add it.")
        missing = sorted(self.required - set(props))
        if missing:
            raise ResourceFailure(
                f"Properties validation failed for resource {logical} with message: "
                f"#: required key [{missing[0]}] not found")

    def replacement_reasons(self, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
        """Properties whose change makes AWS replace the resource (empty = in place)."""
        changed = []
        paths = set(replacement_paths(self.type)) | {(p,) for p in self.also_replace}
        for parts in sorted(paths):
            if parts[0] in self.in_place:
                continue
            if pointer_get(old, parts) != pointer_get(new, parts):
                changed.append(".".join(parts))
        return changed

    # -- verbs ------------------------------------------------------------
    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        raise NotImplementedError

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        raise ResourceFailure(f"{self.type} {logical}: in-place update is not supported by the "
                              f"local engine. Change a property that requires replacement, or "
                              f"delete and recreate the stack.")

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        raise NotImplementedError


PROVISIONERS: dict[str, Provisioner] = {}


def provisioner(cls: type[Provisioner]) -> type[Provisioner]:
    PROVISIONERS[cls.type] = cls()
    return cls


def get_provisioner(resource_type: str) -> Provisioner | None:
    from lakekit.local.cloudformation import resources  # noqa: F401  (registers all types)

    return PROVISIONERS.get(resource_type)


def is_not_implemented(exc: ClientError) -> bool:
    err = exc.response.get("Error", {})
    return err.get("Code") in ("NotImplemented", "InternalFailure") or \
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 501


@contextlib.contextmanager
def deleting(not_found_code: str, what: str) -> Iterator[None]:
    """Delete semantics: the resource being gone already is success (error ``not_found_code``);
    any other service error fails the resource like :func:`failing_as`."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) != not_found_code:
            with failing_as(None, what):
                raise


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
