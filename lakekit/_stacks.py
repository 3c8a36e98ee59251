"""What the lake's two stacks share: describe one, its outputs, one of its parameters."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lakekit.config import Settings
from lakekit.session import client as _client

__all__ = ["describe", "outputs_of", "parameter"]


def describe(name: str, s: Settings) -> dict[str, Any] | None:
    """DescribeStacks of ``name`` (None when it does not exist)."""
    try:
        return _client("cloudformation", s).describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def outputs_of(stack: dict[str, Any] | None) -> dict[str, str]:
    """A described stack's outputs as a dict ({} for None)."""
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}


def parameter(stack: dict[str, Any] | None, key: str) -> str | None:
    """The current value of one parameter of a described stack (None when absent)."""
    for p in (stack or {}).get("Parameters", []):
        if p["ParameterKey"] == key:
            return p.get("ParameterValue")
    return None
