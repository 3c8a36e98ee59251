"""moto's request dispatcher with its host -> service lookup remembered.

moto (5.2.5) picks the service backend of every request in
``DomainDispatcherApplication.get_application`` under one process-wide lock: it lists moto's
package folder (``backends.list_of_moto_modules``: ``os.listdir`` plus an ``isdir`` per entry,
about 150) and then matches the host against every service's URL patterns. Sampled during
``make run`` that lookup was a fifth of the endpoint's request-handling time, and all requests
queue for it behind the lock. The answer depends on the host alone (``s3.us-east-1.amazonaws.com``,
derived from the request's signature), and moto's modules do not change while the endpoint
runs, so :class:`Dispatcher` remembers it per host. What a request reaches is unchanged.

    app = Dispatcher(create_backend_app)      # in place of DomainDispatcherApplication
"""
from __future__ import annotations

from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

__all__ = ["Dispatcher"]


class Dispatcher(DomainDispatcherApplication):
    """:class:`~moto.moto_server.werkzeug_app.DomainDispatcherApplication` whose
    ``get_backend_for_host`` is computed once per host (at most :attr:`LIMIT` hosts kept)."""

    LIMIT = 4096  # hosts are service x region names: a handful; the bound guards odd clients

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backend_of: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # called with self.lock held (get_application), so the dict needs no lock of its own
        try:
            return self._backend_of[host]
        except KeyError:
            pass
        backend = super().get_backend_for_host(host)
        if len(self._backend_of) >= self.LIMIT:
            self._backend_of.clear()
        self._backend_of[host] = backend
        return backend
