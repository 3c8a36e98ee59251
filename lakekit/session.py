"""One place that builds boto3 sessions/clients and configures awswrangler per target.

On ``local`` every client gets the local endpoint's URL and the endpoint's credentials;
on ``aws`` nothing is overridden (your profile / role / env credentials are used and no
local process starts).

Example::

    >>> import lakekit as lk
    >>> s3 = lk.client("s3")                      # doctest: +SKIP
    >>> lk.client("sts").get_caller_identity()    # doctest: +SKIP
"""
from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

from lakekit.config import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, Settings, settings

__all__ = ["session", "client", "configure_wrangler", "connect", "CLIENT_CONFIG"]

CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=300,
                       max_pool_connections=20)
_WRANGLER_ENDPOINTS = ("s3", "glue", "athena", "sts", "lakeformation", "kms", "logs", "cloudformation")


def session(s: Settings | None = None, **credentials: str) -> boto3.session.Session:
    """A boto3 Session for the target (``credentials`` override, e.g. an assumed role's)."""
    s = s or settings()
    if s.is_local:
        creds = {"aws_access_key_id": LOCAL_ACCESS_KEY, "aws_secret_access_key": LOCAL_SECRET_KEY}
        creds.update(credentials)
        return boto3.session.Session(region_name=s.region, **creds)
    return boto3.session.Session(region_name=s.region, **credentials)


def client(service: str, s: Settings | None = None, sess: boto3.session.Session | None = None,
           **kwargs: Any):
    """A boto3 client for ``service`` on the target."""
    s = s or settings()
    sess = sess or session(s)
    if s.is_local:
        kwargs.setdefault("endpoint_url", s.endpoint_url)
    kwargs.setdefault("config", CLIENT_CONFIG)
    return sess.client(service, **kwargs)


def configure_wrangler(s: Settings | None = None) -> None:
    """Point awswrangler at the target (endpoint URLs on local; reset to AWS on aws)."""
    import awswrangler as wr

    s = s or settings()
    for name in _WRANGLER_ENDPOINTS:
        attr = f"{name}_endpoint_url"
        if hasattr(wr.config, attr):
            setattr(wr.config, attr, s.endpoint_url if s.is_local else None)
    if s.is_local:
        boto3.setup_default_session(aws_access_key_id=LOCAL_ACCESS_KEY,
                                    aws_secret_access_key=LOCAL_SECRET_KEY, region_name=s.region)


def connect(target: str | None = None, region: str | None = None, prefix: str | None = None) -> Settings:
    """Get ready to work; notebooks call it first with their papermill parameters.

    Given values are exported (``LAKEKIT_TARGET``/``LAKEKIT_REGION``/``LAKEKIT_PREFIX``) so
    every later call sees them. On ``local`` the endpoint is started or attached to; on
    both targets awswrangler is configured.
    """
    for name, value in (("LAKEKIT_TARGET", target), ("LAKEKIT_REGION", region),
                        ("LAKEKIT_PREFIX", prefix)):
        if value:
            os.environ[name] = str(value)
    s = settings()
    if s.is_local:
        from lakekit.local import ensure_running

        ensure_running(s)
    configure_wrangler(s)
    return s
