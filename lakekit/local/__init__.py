"""The embedded local AWS endpoint: moto + a gateway + real executors.

``lakekit local up|down|status|env`` on the command line, or from Python::

    >>> from lakekit import local
    >>> local.up()          # doctest: +SKIP
    >>> print(local.env_exports())   # doctest: +SKIP
"""
from __future__ import annotations

from lakekit.local._process import Status, down, ensure_running, env_exports, status, up

__all__ = ["Status", "up", "down", "status", "env_exports", "ensure_running"]
