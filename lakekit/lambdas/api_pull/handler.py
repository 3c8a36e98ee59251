"""Pull a paged JSON API into the landing bucket, resumably (python3.11 runtime: stdlib + boto3).

Invoked by notebook 02 (``Invoke``) until it reports ``complete``. cloudformation/datalake.yaml
also defines the EventBridge rule ``${Prefix}-api-pull-schedule`` (``rate(1 hour)``) targeting
this function; it is DISABLED by default and enabled only when the stack parameter
``ApiPullSchedule`` is ``ENABLED``. A scheduled event carries no ``api_url``: set API_URL in
the function's environment (or the rule's input) first. For each page, following the API's
``next`` cursor:

1. GET ``<api_url>/observations?cursor=<c>&limit=<PAGE_SIZE>`` with retries and bounded
   exponential backoff (HTTP 429/5xx, network errors, invalid JSON, a body of the wrong shape);
2. only a complete, valid page is written, in ONE PutObject, to
   ``s3://$LANDING_BUCKET/weather/<source>-<cursor>.jsonl`` (JSON Lines; the first page's
   cursor label is ``start``); the key is a function of the cursor, so re-pulling a page rewrites
   the same object (no duplicate records);
3. the cursor of the next page is saved to ``s3://$STATE_BUCKET/$STATE_KEY`` after every page,
   so a re-invocation resumes where the last one stopped.

A page that still fails after MAX_ATTEMPTS is reported in the result (``status: failed``), the
cursor stays at that page and nothing of it is written.

Event: ``{"api_url": "http://...", "max_pages": optional int, "reset": optional bool,
"source": optional name, "backoff_seconds": optional first retry pause}``. ``backoff_seconds``
overrides BACKOFF_BASE_SECONDS for this invocation (0 to 60): a caller pulling from an API on
its own machine (the workshop's local weather API) has no reason to wait half a second.

Environment: LANDING_BUCKET, STATE_BUCKET (required); STATE_KEY (default
``state/api_pull/<source>.json``); SOURCE_NAME (default ``weather-api``); DATASET (landing
prefix, default ``weather``); PAGE_SIZE (500); MAX_ATTEMPTS (5); BACKOFF_BASE_SECONDS (0.5);
BACKOFF_MAX_SECONDS (8); HTTP_TIMEOUT_SECONDS (10); TIME_MARGIN_SECONDS (20: stop early, state
saved, when the Lambda has less time left); API_URL (if the event has none).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import random
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import boto3
from botocore.exceptions import ClientError

__all__ = ["REQUIRED_ITEM_KEYS", "lambda_handler"]

REQUIRED_ITEM_KEYS = ("station", "observed_at", "local", "temperature", "wind")


class _PageError(Exception):
    """A page attempt failed; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, kind: str, detail: str, retryable: bool = True) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail, self.retryable = kind, detail, retryable


def _log(level: str, message: str, **fields) -> None:
    record = {"ts": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
              "level": level, "message": message, **fields}
    print(json.dumps(record, default=str), flush=True)


def _env(name: str, default=None, cast=str):
    value = os.environ.get(name)
    return cast(value) if value not in (None, "") else default


def _observations_url(api_url: str) -> str:
    url = api_url.rstrip("/")
    return url if urlparse(url).path.endswith("/observations") else url + "/observations"


def _fetch_once(url: str, timeout: float) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        retryable = e.code == 429 or e.code >= 500
        raise _PageError(f"http_{e.code}", f"GET {url} returned HTTP {e.code}", retryable) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
        raise _PageError("network", f"GET {url} failed: {e}") from None
    try:
        page = json.loads(raw)
    except ValueError as e:
        raise _PageError("invalid_json", f"GET {url}: body is not valid JSON ({e}, "
                         f"{len(raw)} bytes)") from None
    if not (isinstance(page, dict) and isinstance(page.get("items"), list)
            and "next" in page and (page["next"] is None or isinstance(page["next"], str))):
        raise _PageError("bad_shape", f"GET {url}: expected {{'items': [...], 'next': str|null, "
                         "'count': n}")
    if page.get("count", len(page["items"])) != len(page["items"]):
        raise _PageError("bad_shape", f"GET {url}: count={page.get('count')} but "
                         f"{len(page['items'])} items (incomplete page)")
    for i, item in enumerate(page["items"]):
        if not isinstance(item, dict) or any(k not in item for k in REQUIRED_ITEM_KEYS):
            raise _PageError("bad_shape", f"GET {url}: item {i} lacks keys {REQUIRED_ITEM_KEYS}")
    return page


def _fetch(url: str, *, attempts: int, base: float, cap: float, timeout: float,
           deadline: float | None) -> tuple[dict | None, list[dict]]:
    """Fetch with retries; returns (page or None, list of failed attempts)."""
    failures: list[dict] = []
    for attempt in range(1, attempts + 1):
        try:
            return _fetch_once(url, timeout), failures
        except _PageError as e:
            failures.append({"attempt": attempt, "kind": e.kind, "detail": e.detail})
            _log("WARNING", "page_attempt_failed", url=url, attempt=attempt, kind=e.kind,
                 detail=e.detail)
            if not e.retryable or attempt == attempts:
                break
            delay = min(cap, base * (2 ** (attempt - 1))) * random.uniform(0.5, 1.0)
            if deadline is not None and time.monotonic() + delay + timeout > deadline:
                break
            time.sleep(delay)
    return None, failures


def _backoff_seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds <= 60:
        raise ValueError(f'event "backoff_seconds" must be a number of seconds from 0 to 60 (the first '
                         f"retry pause; it doubles per attempt up to BACKOFF_MAX_SECONDS), got {value!r}")
    return seconds


def _load_state(s3, bucket: str, key: str) -> dict | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def lambda_handler(event: dict, context=None) -> dict:
    """Pull pages until done, ``max_pages`` or the time margin; see the module docstring."""
    event = event or {}
    landing = _env("LANDING_BUCKET")
    state_bucket = _env("STATE_BUCKET")
    if not landing or not state_bucket:
        raise RuntimeError("LANDING_BUCKET and STATE_BUCKET must be set in the function's "
                           "environment (landing bucket and a bucket for the cursor state)")
    api_url = event.get("api_url") or _env("API_URL")
    if not api_url:
        raise ValueError('event needs "api_url" (e.g. {"api_url": "http://127.0.0.1:8123"}) '
                         "or set API_URL in the environment")
    source = event.get("source") or _env("SOURCE_NAME", "weather-api")
    dataset = _env("DATASET", "weather")
    state_key = _env("STATE_KEY", f"state/api_pull/{source}.json")
    page_size = _env("PAGE_SIZE", 500, int)
    attempts = max(1, _env("MAX_ATTEMPTS", 5, int))
    base = _env("BACKOFF_BASE_SECONDS", 0.5, float)
    if event.get("backoff_seconds") is not None:
        base = _backoff_seconds(event["backoff_seconds"])
    cap = _env("BACKOFF_MAX_SECONDS", 8.0, float)
    timeout = _env("HTTP_TIMEOUT_SECONDS", 10.0, float)
    margin = _env("TIME_MARGIN_SECONDS", 20.0, float)
    max_pages = event.get("max_pages")
    request_id = getattr(context, "aws_request_id", None) or "local"
    deadline = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - margin

    s3 = boto3.client("s3")
    state = None if event.get("reset") else _load_state(s3, state_bucket, state_key)
    if state is None:
        state = {"source": source, "cursor": None, "done": False, "pages": 0, "records": 0}
    result = {"status": "complete", "source": source, "pages_written": 0, "records_written": 0,
              "keys": [], "errors": [], "retries": 0, "cursor": state["cursor"],
              "state": f"s3://{state_bucket}/{state_key}"}
    if state.get("done"):
        _log("INFO", "already_complete", source=source, pages=state["pages"],
             records=state["records"], request_id=request_id,
             hint='send {"reset": true} to pull everything again')
        result.update(total_pages=state["pages"], total_records=state["records"])
        return result

    endpoint = _observations_url(api_url)
    while True:
        if max_pages is not None and result["pages_written"] >= int(max_pages):
            result["status"] = "partial"
            break
        if deadline is not None and time.monotonic() > deadline:
            result["status"] = "paused"
            _log("INFO", "paused", reason="Lambda time almost up; state saved, invoke again",
                 cursor=state["cursor"], request_id=request_id)
            break
        cursor = state["cursor"]
        params = {"limit": page_size} | ({"cursor": cursor} if cursor else {})
        url = f"{endpoint}?{urlencode(params)}"
        page, failures = _fetch(url, attempts=attempts, base=base, cap=cap, timeout=timeout,
                                deadline=deadline)
        result["retries"] += len(failures)
        if page is None:
            result["status"] = "failed"
            result["errors"].append({"cursor": cursor, "url": url, "attempts": failures,
                                     "detail": f"page at cursor {cursor or 'start'} failed "
                                     f"{len(failures)} time(s); nothing written for it, the cursor "
                                     "stays there: invoke again later"})
            _log("ERROR", "page_failed", cursor=cursor, url=url, attempts=len(failures),
                 last=failures[-1] if failures else None, request_id=request_id)
            break
        items = page["items"]
        key = None
        if items:
            label = quote(cursor, safe="-_.") if cursor else "start"
            key = f"{dataset}/{source}-{label}.jsonl"
            body = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()
            s3.put_object(Bucket=landing, Key=key, Body=body, ContentType="application/x-ndjson",
                          Metadata={"source": source, "cursor": cursor or "start",
                                    "records": str(len(items))})
            result["keys"].append(key)
        state.update(cursor=page["next"], done=page["next"] is None, pages=state["pages"] + 1,
                     records=state["records"] + len(items), last_key=key, source=source,
                     updated_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
        s3.put_object(Bucket=state_bucket, Key=state_key, Body=json.dumps(state).encode(),
                      ContentType="application/json")
        result["pages_written"] += 1
        result["records_written"] += len(items)
        _log("INFO", "page_written", key=key, records=len(items), cursor=cursor,
             next=page["next"], retries=len(failures), request_id=request_id)
        if state["done"]:
            break
    result.update(cursor=state["cursor"], total_pages=state["pages"],
                  total_records=state["records"])
    _log("INFO", "summary", request_id=request_id,
         **{k: v for k, v in result.items() if k not in ("keys", "errors")},
         errors=len(result["errors"]))
    return result
