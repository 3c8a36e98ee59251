"""botocore Stubber clients for code that builds its clients through one ``_client(service, s)``
function (``lakekit.deploy``, ``lakekit.preflight``): point that function at a :class:`Stubs`."""
from __future__ import annotations

import boto3
from botocore.stub import Stubber


class Stubs:
    """One stubbed boto3 client per service; call it like ``_client(service, s)``."""

    def __init__(self) -> None:
        self.clients: dict[str, object] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str, s: object = None):
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = boto3.client(service, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                                  aws_secret_access_key="secret")
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.stubbers[service]

    def assert_done(self) -> None:
        for st in self.stubbers.values():
            st.assert_no_pending_responses()
