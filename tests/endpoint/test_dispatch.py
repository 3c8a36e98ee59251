"""lakekit.local.dispatch: moto's host -> service lookup, once per host."""
from __future__ import annotations

import pytest
from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from lakekit.local.dispatch import Dispatcher


def _signed(service: str, region: str = "us-east-1") -> dict[str, str]:
    return {"PATH_INFO": "/", "HTTP_HOST": "127.0.0.1:4566", "HTTP_AUTHORIZATION":
            f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"}


@pytest.fixture
def listings(monkeypatch) -> list[int]:
    """How often moto lists its package folder (the cost the dispatcher saves)."""
    calls: list[int] = []
    real = backends.list_of_moto_modules

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(backends, "list_of_moto_modules", counted)
    return calls


@pytest.mark.parametrize("cls, listed", [(Dispatcher, 1), (DomainDispatcherApplication, 3)])
def test_the_folder_is_listed_once_per_host_not_per_request(cls, listed, listings):
    app = cls(create_backend_app)
    hosts = [app.get_backend_for_host("s3.us-east-1.amazonaws.com") for _ in range(3)]
    assert hosts == ["s3", "s3", "s3"]
    assert len(listings) == listed  # moto's own dispatcher lists it on every request


def _service_of(app: DomainDispatcherApplication, environ: dict[str, str]) -> str:
    flask_app = app.get_application(environ)
    return next(name for name, a in app.app_instances.items() if a is flask_app)


def test_requests_reach_the_same_service_app_as_with_moto_s_dispatcher(listings):
    ours, theirs = Dispatcher(create_backend_app), DomainDispatcherApplication(create_backend_app)
    for service, region in (("s3", "us-east-1"), ("sts", "us-east-1"), ("glue", "eu-west-1"),
                            ("s3", "eu-west-1"), ("sts", "us-east-1")):
        env = _signed(service, region)
        assert _service_of(ours, env) == _service_of(theirs, env) == service
