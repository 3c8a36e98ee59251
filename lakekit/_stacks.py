"""What the lake's two stacks share: describe one, its outputs, one of its parameters."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

__all__ = ["describe", "outputs_of", "parameter"]


def describe(cloudformation: Any, name: str) -> dict[str, Any] | None:
    """DescribeStacks of ``name`` with that client (None when the stack does not exist)."""
    try:
        return cloudformation.describe_stacks(StackName=name)["Stacks"][0]
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
