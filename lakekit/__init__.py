"""lakekit — a workshop kit for a serverless data lake on AWS.

The facade trainees use from notebooks::

    import lakekit as lk
    cfg = lk.connect()            # local: starts/attaches the embedded endpoint
    s3 = lk.client("s3")          # a boto3 client on the target
    print(lk.settings().prefix)

Everything else lives in subpackages: :mod:`lakekit.local` (the embedded endpoint).
"""
from __future__ import annotations

from lakekit.config import Settings, settings
from lakekit.exceptions import LakekitError
from lakekit.session import client, configure_wrangler, connect, session

__all__ = ["Settings", "settings", "session", "client", "configure_wrangler", "connect",
           "LakekitError", "__version__"]
__version__ = "0.1.0"
