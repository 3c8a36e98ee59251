"""Start/stop servers for benchmarks: the lakekit endpoint and bare moto, each its own process."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

_BARE_MOTO = """
import sys
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
class Quiet(MotoRequestHandler):
    def log_request(self, *a, **k): pass
make_server("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=True,
            request_handler=Quiet).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=0.5)
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # any HTTP answer means it is up
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


class BareMoto:
    def __enter__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-c", _BARE_MOTO, str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        _wait(self.url + "/moto-api/", self.proc)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class LakekitEndpoint:
    def __enter__(self):
        from lakekit import local
        from lakekit.config import settings

        self.home = Path(tempfile.mkdtemp(prefix="lakekit-bench-"))
        self.settings = settings().with_(target="local", port=free_port(), home=self.home)
        try:
            local.up(self.settings, quiet=True)
        except BaseException:
            shutil.rmtree(self.home, ignore_errors=True)
            raise
        self.url = self.settings.endpoint_url
        return self

    def __exit__(self, *exc):
        """Stop the endpoint and remove its temp home (objects, snapshots, job work folders)."""
        from lakekit import local

        try:
            local.down(self.settings, quiet=True)
        finally:
            shutil.rmtree(self.home, ignore_errors=True)


def client(url: str, service: str):
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=16))


def service_role(url: str, name: str, service: str, statements: list[dict]) -> str:
    """Create (or update) role ``name`` trusted by ``service`` with ``statements`` (Allow added)
    as its inline policy; -> its ARN. The endpoint authorizes executors as their role, like AWS."""
    import json

    iam = client(url, "iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="bench", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]}))
    return arn

