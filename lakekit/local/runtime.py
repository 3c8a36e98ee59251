"""What executors' background threads need to know about the running endpoint process."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["state_lock", "endpoint_url", "home", "configure"]

_CTX: dict[str, Any] = {}


def configure(*, state_lock: Any, endpoint_url: str, home: Path) -> None:
    _CTX.update(state_lock=state_lock, endpoint_url=endpoint_url, home=Path(home))


def state_lock() -> Any:
    """The gateway's StateLock: hold ``.shared()`` while mutating a persistent store."""
    if "state_lock" not in _CTX:
        from lakekit.local.gateway import StateLock

        _CTX["state_lock"] = StateLock()
    return _CTX["state_lock"]


def endpoint_url() -> str:
    return _CTX.get("endpoint_url", "")


def home() -> Path:
    """The endpoint's LAKEKIT_HOME (work folders of executors go under ``home()/work``)."""
    return _CTX.get("home", Path.home() / ".lakekit")


def once(fn: Callable[[], None]) -> Callable[[], None]:
    """Run ``fn`` on the first call in this process only (thread-safe; later calls return at once).

    Executors use it to settle work a restart interrupted, on the first request after a restore::

        @runtime.once
        def _recover() -> None: ...
    """
    lock = threading.Lock()
    done = False

    @functools.wraps(fn)
    def wrapper() -> None:
        nonlocal done
        if done:
            return
        with lock:
            if done:
                return
            done = True  # set first: a recovery that fails is not retried on every request
            fn()

    return wrapper
