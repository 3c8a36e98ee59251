"""boto3 clients that executors use to call the endpoint back (loopback, no retries)."""
from __future__ import annotations

import functools
import re
import threading
import time
from typing import Any

import boto3
from botocore.config import Config

__all__ = ["endpoint_client", "credentials_client", "role_credentials", "role_session_name", "LOOPBACK_CONFIG"]

LOOPBACK_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=300,
    max_pool_connections=32,
)
_local = threading.local()


def endpoint_client(endpoint_url: str, service: str, region: str, access_key_id: str = "test",
                    secret: str = "test", session_token: str | None = None, **kwargs: Any):
    """A cached-per-thread boto3 client to ``endpoint_url`` signed with ``access_key_id``."""
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = (endpoint_url, service, region, access_key_id, secret, session_token,
           tuple(sorted(kwargs.items())))
    client = cache.get(key)
    if client is None:
        with _SESSION_LOCK:  # creating clients from one Session is not thread-safe
            client = _session().client(
                service, endpoint_url=endpoint_url, region_name=region,
                aws_access_key_id=access_key_id, aws_secret_access_key=secret,
                aws_session_token=session_token, config=kwargs.pop("config", LOOPBACK_CONFIG), **kwargs,
            )
        cache[key] = client
    return client


def credentials_client(endpoint_url: str, service: str, region: str, creds: dict[str, str],
                       **kwargs: Any):
    """:func:`endpoint_client` signed with ``creds`` (the variables :func:`role_credentials` returns)."""
    return endpoint_client(endpoint_url, service, region, creds["AWS_ACCESS_KEY_ID"],
                           secret=creds["AWS_SECRET_ACCESS_KEY"],
                           session_token=creds["AWS_SESSION_TOKEN"], **kwargs)


def role_session_name(text: str) -> str:
    """``text`` as an AssumeRole ``RoleSessionName``: characters outside ``[\\w+=,.@-]`` become
    ``-``, at most 64 of them.

    >>> role_session_name("GlueJobRunnerSession-my job/1")
    'GlueJobRunnerSession-my-job-1'
    """
    return re.sub(r"[^\w+=,.@-]", "-", text)[:64]


_SESSION_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _shared_session() -> boto3.session.Session:
    # ONE boto3 Session: a second Session on the same botocore session would register
    # boto3's S3 injections twice ("Cannot inject class attribute 'upload_file'").
    return boto3.session.Session()


def _session() -> boto3.session.Session:
    return _shared_session()


_creds: dict[tuple[str, str, str, str | None], dict[str, Any]] = {}
_creds_lock = threading.Lock()


def role_credentials(sts: Any, role_arn: str, session_name: str, service: str | None = None
                     ) -> dict[str, str]:
    """See :func:`role_credentials_until` (without the expiry)."""
    return role_credentials_until(sts, role_arn, session_name, service)[0]


def role_credentials_until(sts: Any, role_arn: str, session_name: str, service: str | None = None
                           ) -> tuple[dict[str, str], float]:
    """Environment variables with temporary credentials of ``role_arn`` (``sts:AssumeRole``),
    cached until 5 minutes before they expire — what a Lambda or Glue job runs with on AWS.

    ``service`` (e.g. ``"glue.amazonaws.com"``): assume the role AS that service principal,
    like AWS does for a job's or function's role (the role's trust policy must name it);
    without it the caller of ``sts`` assumes the role. Returns the variables and their expiry
    (epoch seconds)."""
    if service is not None:
        from lakekit.local.iam.principals import service_key

        sts = endpoint_client(str(sts.meta.endpoint_url), "sts", sts.meta.region_name,
                              service_key(service))
    key = (str(sts.meta.endpoint_url), role_arn, session_name, service)
    with _creds_lock:
        got = _creds.get(key)
        if got and got["expires"] - time.time() > 300:
            return got["creds"], got["expires"]
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64],
                          DurationSeconds=3600)["Credentials"]
    creds = {"AWS_ACCESS_KEY_ID": out["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": out["SecretAccessKey"],
             "AWS_SESSION_TOKEN": out["SessionToken"]}
    expires = out["Expiration"]
    expires_ts = expires.timestamp() if hasattr(expires, "timestamp") else time.time() + 3600
    with _creds_lock:
        _creds[key] = {"creds": creds, "expires": expires_ts}
    return creds, expires_ts
