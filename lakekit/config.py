"""Settings from the environment: target, region, prefix, local endpoint port and home.

=====================  =========================  ==========================================
variable               default                    meaning
=====================  =========================  ==========================================
LAKEKIT_TARGET         ``local``                  ``local`` (embedded endpoint) or ``aws``
LAKEKIT_REGION         AWS_REGION / us-east-1     region of every client
LAKEKIT_PREFIX         ``lakekit``                carried by every resource name (isolation)
LAKEKIT_PORT           ``4810``                   port of the local endpoint (127.0.0.1)
LAKEKIT_HOME           ``~/.lakekit``             pidfile, log and saved state of the endpoint
=====================  =========================  ==========================================

Example::

    >>> from lakekit.config import settings
    >>> settings().endpoint_url           # doctest: +SKIP
    'http://127.0.0.1:4810'
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from lakekit.exceptions import ConfigError

__all__ = ["Settings", "settings", "DEFAULT_PORT", "LOCAL_ACCESS_KEY", "LOCAL_SECRET_KEY", "LOCAL_ACCOUNT"]

DEFAULT_PORT = 4810
LOCAL_ACCESS_KEY = "test"
LOCAL_SECRET_KEY = "test"
LOCAL_ACCOUNT = "123456789012"
_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,18}[a-z0-9]$")


@dataclass(frozen=True)
class Settings:
    target: str = "local"
    region: str = "us-east-1"
    prefix: str = "lakekit"
    port: int = DEFAULT_PORT
    home: Path = Path.home() / ".lakekit"

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    @property
    def endpoint_url(self) -> str | None:
        """The local endpoint's URL, or None on ``aws`` (nothing is redirected)."""
        return f"http://127.0.0.1:{self.port}" if self.is_local else None

    def with_(self, **changes: object) -> Settings:
        return _validated(replace(self, **changes))  # type: ignore[arg-type]


def _validated(s: Settings) -> Settings:
    if s.target not in ("local", "aws"):
        raise ConfigError(f"LAKEKIT_TARGET={s.target!r} is not a target: use 'local' or 'aws'.")
    if not _PREFIX_RE.match(s.prefix):
        raise ConfigError(
            f"LAKEKIT_PREFIX={s.prefix!r} cannot be part of S3 bucket names: use 3-20 lowercase "
            "letters, digits or hyphens, starting and ending with a letter or digit (e.g. 'ana-01')."
        )
    if not 1 <= s.port <= 65535:
        raise ConfigError(f"LAKEKIT_PORT={s.port} is not a TCP port (1-65535).")
    return s


def settings() -> Settings:
    """Read the settings from the environment (cheap; call it whenever you need them)."""
    env = os.environ
    port_text = env.get("LAKEKIT_PORT", str(DEFAULT_PORT))
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"LAKEKIT_PORT={port_text!r} is not a number; e.g. LAKEKIT_PORT=4810.") from None
    return _validated(
        Settings(
            target=env.get("LAKEKIT_TARGET", "local").strip().lower() or "local",
            region=env.get("LAKEKIT_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            prefix=env.get("LAKEKIT_PREFIX", "lakekit").strip() or "lakekit",
            port=port,
            home=Path(env.get("LAKEKIT_HOME") or Path.home() / ".lakekit").expanduser(),
        )
    )
