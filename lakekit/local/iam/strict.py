"""The one switch: ``LAKEKIT_STRICT_IAM=0`` in the endpoint's environment turns IAM off."""
from __future__ import annotations

import logging
import os

__all__ = ["enabled", "announce"]

log = logging.getLogger(__name__)


def enabled() -> bool:
    """True unless ``LAKEKIT_STRICT_IAM`` is ``0`` / ``false`` / ``off`` / ``no``."""
    return os.environ.get("LAKEKIT_STRICT_IAM", "1").strip().lower() not in ("0", "false", "off", "no")


def announce() -> None:
    """Log the mode once at startup (a WARNING when strictness is off)."""
    if enabled():
        log.info("IAM enforcement is on: every request is authorized like AWS (LAKEKIT_STRICT_IAM=0 "
                 "turns it off)")
    else:
        log.warning("LAKEKIT_STRICT_IAM=0: IAM authorization is OFF - identity, key and trust "
                    "policies are not evaluated and unknown access keys are accepted (only bucket "
                    "policies' explicit denies still apply), so code that works here may fail with "
                    "AccessDenied on AWS. Unset LAKEKIT_STRICT_IAM to get AWS's authorization back.")
