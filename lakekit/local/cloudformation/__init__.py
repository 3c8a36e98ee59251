"""The local CloudFormation engine (templates, intrinsics, resource provisioners).

The API executors live in :mod:`lakekit.local.services.cloudformation`; this package is
the engine they drive: :mod:`.intrinsics` (parsing + intrinsic functions), :mod:`.engine`
(stacks, change sets, exports, rollback) and :mod:`.resources` (one provisioner per type).
"""
from __future__ import annotations

__all__ = ["intrinsics", "engine", "resources"]
