"""Resource provisioners of the local CloudFormation engine, one class per resource type.

Importing this package registers every provisioner in :data:`base.PROVISIONERS`.
"""
from __future__ import annotations

from lakekit.local.cloudformation.resources import (  # noqa: F401
    analytics,
    cloudwatch,
    events,
    kms_iam_logs,
    lakeformation,
    lambda_,
    s3,
    secrets,
    sns,
    stepfunctions,
)
from lakekit.local.cloudformation.resources.base import PROVISIONERS, get_provisioner

__all__ = ["PROVISIONERS", "get_provisioner", "supported_types"]


def supported_types() -> dict[str, list[str]]:
    """Resource type -> the properties the local engine applies (sorted)."""
    return {t: sorted(p.supported) for t, p in sorted(PROVISIONERS.items())}
