"""Private parts of the local Lambda runtime (see :mod:`lakekit.local.services.awslambda`).

- :mod:`.s3events`   S3 notifications -> exact AWS S3 event JSON
- :mod:`.dispatcher` async queue, retries, destinations, dead-letter targets
- :mod:`.invoker`    one invocation in an execution environment, CloudWatch Logs output
- :mod:`.environments` warm execution environments (pool, concurrency, reaping)
- ``bootstrap.py``   the script an environment runs (stdlib only)
"""
from __future__ import annotations

__all__: list[str] = []
