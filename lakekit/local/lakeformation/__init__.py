"""Lake Formation on the local endpoint: state, executors and the permission evaluator.

One job per module, no import cycles (nothing here imports :mod:`lakekit.local.services`):

- :mod:`.state`: the persistent stores (grants, IAM_ALLOWED_PRINCIPALS defaults, data cells
  filters, LF-tags) and DataLakeSettings (moto's);
- :mod:`.principals`: the LF principal of an access key;
- :mod:`.resources`: canonical grant resources, existence and permission validation;
- :mod:`.grants`: Grant/Revoke(+Batch)Permissions and who may grant;
- :mod:`.listing`: ListPermissions, GetEffectivePermissionsForPath;
- :mod:`.filters`: data cells filters; :mod:`.tags`: LF-tags;
- :mod:`.catalog`: Glue observers (creators' grants, IAM_ALLOWED_PRINCIPALS defaults, drops);
- :mod:`.sources` + :mod:`.evaluator`: what a caller may read (the Athena executor's hook).

The executors register when :mod:`lakekit.local.services.lakeformation` (auto-discovered by
:func:`lakekit.local.server.load_services`) imports :data:`EXECUTOR_MODULES`.
"""
from __future__ import annotations

__all__ = ["EXECUTOR_MODULES"]

EXECUTOR_MODULES = ("catalog", "filters", "grants", "listing", "tags")
