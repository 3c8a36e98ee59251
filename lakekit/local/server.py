"""The local endpoint process: ``python -m lakekit.local.server --port 4810 --home DIR``.

moto's WSGI app behind :class:`~lakekit.local.gateway.Gateway`, every executor module
under :mod:`lakekit.local.services` registered, state restored from ``DIR/state`` and
saved again after changes and on SIGTERM/SIGINT. Normally started by ``lakekit local up``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import pkgutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["build_app", "main", "load_services"]

log = logging.getLogger("lakekit.local.server")
STARTED = time.time()


def load_services() -> list[str]:
    """Import every module of :mod:`lakekit.local.services` so their executors register."""
    import lakekit.local.services as pkg

    names = []
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
        names.append(info.name)
    return names


def build_app(home: Path, endpoint_url: str) -> tuple[Any, Any]:
    """(gateway WSGI app, Persistence) with state restored from ``home``."""
    from moto.moto_server.werkzeug_app import create_backend_app

    from lakekit.local import iam, runtime
    from lakekit.local.dispatch import Dispatcher
    from lakekit.local.gateway import Gateway, StateLock
    from lakekit.local.persistence import Persistence

    iam.announce()
    lock = StateLock()
    runtime.configure(state_lock=lock, endpoint_url=endpoint_url, home=home)
    services = load_services()
    persistence = Persistence(home, lock, manage_gc=True)
    _warm_moto()
    restored = persistence.restore()
    _seed_bootstrap_identity()
    log.info("services: %s; state restored: %s", ", ".join(services), restored)

    def health() -> dict[str, Any]:
        return {"status": "ok", "pid": os.getpid(), "url": endpoint_url, "started": STARTED,
                "uptime_seconds": round(time.time() - STARTED, 1), "snapshots": persistence.snapshots,
                "last_snapshot_seconds": round(persistence.last_snapshot_seconds, 3),
                "executors": sorted(f"{s}.{o}" for s, o in _registry().executors),
                "time_scales": {k: os.environ[k] for k in TIME_KNOBS if os.environ.get(k)}}

    app = Gateway(Dispatcher(create_backend_app), state_lock=lock,
                  on_mutation=persistence.mark_dirty, endpoint_url=endpoint_url, health=health)
    return app, persistence


#: the time-compression knobs the executors read at start (health reports those set)
TIME_KNOBS = ("LAKEKIT_SFN_TIME_SCALE", "LAKEKIT_EVENTS_TIME_SCALE", "LAKEKIT_CW_TIME_SCALE",
              "LAKEKIT_CW_ALARM_TICK")


def _registry():
    from lakekit.local.registry import REGISTRY

    return REGISTRY


def _seed_bootstrap_identity() -> None:
    """The bootstrap credentials (``test``) are moto's ``user/moto``: make that user exist in IAM
    so it can be named like any principal (a Lake Formation admin, a grantee), as the deploying
    identity of a real account is. The endpoint allows these credentials every action (they
    stand for an administrator); every other principal is held to its policies."""
    from moto.iam.models import iam_backends

    from lakekit.config import LOCAL_ACCOUNT

    iam = iam_backends[LOCAL_ACCOUNT]["global"]
    if BOOTSTRAP_USER not in iam.users:
        iam.create_user("us-east-1", BOOTSTRAP_USER)


BOOTSTRAP_USER = "moto"


#: moto backends imported at start. Not moto's cloudformation: the kit's own engine answers every
#: CloudFormation operation (lakekit/local/services/cloudformation.py), and importing it pulls in
#: every moto service its resource parser knows (ec2, apigateway, ...): 2/3 of the start-up time.
WARM_BACKENDS = ("s3", "iam", "sts", "kms", "glue", "athena", "lakeformation", "logs", "events",
                 "lambda")


def _warm_moto() -> None:
    """Import the moto backends the kit uses so a restore has somewhere to go."""
    from moto.backends import get_backend

    for name in WARM_BACKENDS:
        get_backend(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakekit.local.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    args.home.mkdir(parents=True, exist_ok=True)
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *a: Any, **k: Any) -> None:  # one line per request is too slow
            pass

    url = f"http://{args.host}:{args.port}"
    app, persistence = build_app(args.home, url)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=QuietHandler)
    persistence.start()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("signal %s: saving state and stopping", signum)
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    info = {"pid": os.getpid(), "port": args.port, "url": url, "started": STARTED}
    (args.home / "endpoint.json").write_text(json.dumps(info))
    log.info("lakekit local endpoint listening on %s (pid %s)", url, os.getpid())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        persistence.stop()
        log.info("state saved (%d snapshots); bye", persistence.snapshots)
        try:
            (args.home / "endpoint.json").unlink()
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
