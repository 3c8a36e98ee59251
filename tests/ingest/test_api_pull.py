"""Weather API source + the resumable API pull Lambda against bare moto."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from ingest_helpers import SAMPLE

from lakekit.lambdas.api_pull import handler as api_pull
from lakekit.sources import WeatherApi, load_weather_records

SAMPLE_WEATHER = load_weather_records(SAMPLE / "weather" / "weather.jsonl")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _landed_records(lake) -> list[dict]:
    out = []
    for key in lake.keys(lake.landing, "weather/"):
        out += [json.loads(line) for line in lake.read(lake.landing, key).decode().splitlines()]
    return out


def _canon(records) -> Counter:
    return Counter(json.dumps(r, sort_keys=True) for r in records)


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("BACKOFF_BASE_SECONDS", "0.001")
    monkeypatch.setenv("BACKOFF_MAX_SECONDS", "0.01")
    monkeypatch.setenv("MAX_ATTEMPTS", "3")
    monkeypatch.delenv("PAGE_SIZE", raising=False)


def test_sample_weather_has_dst_duplicate_hours():
    assert len(SAMPLE_WEATHER) == 211
    local = Counter((r["station"], tuple(r["local"].values())) for r in SAMPLE_WEATHER)
    dups = sorted(k for k, n in local.items() if n > 1)
    assert dups == [(s, (2013, 11, 3, 1)) for s in ("EWR", "JFK", "LGA")]
    assert len({(r["station"], r["observed_at"]) for r in SAMPLE_WEATHER}) == 211


def test_api_pages_and_cursor():
    with WeatherApi(SAMPLE_WEATHER, page_size=100) as api:
        assert api.url.startswith("http://127.0.0.1:")
        status, body = _get(api.observations_url)
        first = json.loads(body)
        assert status == 200 and first["count"] == 100 and first["next"] == "00000100"
        assert first["items"][0] == SAMPLE_WEATHER[0]
        last = json.loads(_get(f"{api.observations_url}?cursor=00000200&limit=50")[1])
        assert last["count"] == 11 and last["next"] is None
        assert _get(f"{api.observations_url}?cursor=bogus")[0] == 400
        assert _get(f"{api.observations_url}?limit=0")[0] == 400
        assert _get(f"{api.url}/nope")[0] == 404
        assert json.loads(_get(f"{api.url}/health")[1]) == {"ok": True, "records": 211}
        thread = api._thread
    assert not thread.is_alive() and api._server is None


def test_flakiness_is_deterministic_from_seed():
    def statuses(seed):
        with WeatherApi(SAMPLE_WEATHER, page_size=20, fail_rate=0.3, invalid_json_rate=0.2,
                        seed=seed) as api:
            return [_get(f"{api.observations_url}?cursor={c:08d}")[0]
                    for c in range(0, 200, 20) for _ in range(3)]
    a, b = statuses(7), statuses(7)
    assert a == b and 500 in a and 200 in a
    assert statuses(8) != a


def test_flaky_api_yields_every_sample_record_exactly_once(lake, fast_retries, monkeypatch):
    monkeypatch.setenv("PAGE_SIZE", "10")
    with WeatherApi(SAMPLE_WEATHER, fail_rate=0.3, invalid_json_rate=0.1, seed=3) as api:
        results = []
        for _ in range(40):  # bounded: each invocation advances or reports the failing page
            results.append(api_pull.lambda_handler({"api_url": api.url}, None))
            if results[-1]["status"] == "complete":
                break
        stats = dict(api.stats)
    assert results[-1]["status"] == "complete" and results[-1]["total_records"] == 211
    assert any(r["status"] == "failed" for r in results), "the flaky API never failed a page"
    assert stats["http_500"] > 0 and stats["invalid_json"] > 0
    assert sum(r["retries"] for r in results) >= stats["http_500"] + stats["invalid_json"] - 1
    records = _landed_records(lake)
    assert len(records) == 211
    assert _canon(records) == _canon(SAMPLE_WEATHER)
    assert len(lake.keys(lake.landing, "weather/")) == 22
    again = api_pull.lambda_handler({"api_url": "http://127.0.0.1:9"}, None)
    assert again["status"] == "complete" and again["pages_written"] == 0


def test_flaky_api_full_weather_exactly_once(lake, fast_retries, monkeypatch):
    monkeypatch.setenv("PAGE_SIZE", "2000")
    full = load_weather_records()
    assert len(full) == 26115
    with WeatherApi(full, fail_rate=0.25, invalid_json_rate=0.1, seed=11, max_limit=2000) as api:
        for _ in range(30):
            out = api_pull.lambda_handler({"api_url": api.observations_url}, None)
            if out["status"] == "complete":
                break
    assert out["status"] == "complete" and out["total_records"] == 26115
    records = _landed_records(lake)
    assert len(records) == 26115
    assert len({(r["station"], r["observed_at"]) for r in records}) == 26115
    assert _canon(records) == _canon(full)


def test_failing_page_is_reported_not_written_and_resumed(lake, fast_retries, monkeypatch):
    monkeypatch.setenv("PAGE_SIZE", "50")
    monkeypatch.setenv("STATE_KEY", "state/weather.json")
    with WeatherApi(SAMPLE_WEATHER, fail_cursors={"00000100"}) as api:
        out = api_pull.lambda_handler({"api_url": api.url}, None)
        assert out["status"] == "failed" and out["pages_written"] == 2
        assert out["cursor"] == "00000100"
        err = out["errors"][0]
        assert err["cursor"] == "00000100" and [a["kind"] for a in err["attempts"]] == ["http_500"] * 3
        assert lake.keys(lake.landing, "weather/") == [
            "weather/weather-api-00000050.jsonl", "weather/weather-api-start.jsonl"]
        state = lake.json(lake.state, "state/weather.json")
        assert state["cursor"] == "00000100" and state["records"] == 100 and not state["done"]
        api.fail_cursors.clear()  # the API heals
        out = api_pull.lambda_handler({"api_url": api.url}, None)
    assert out["status"] == "complete" and out["pages_written"] == 3 and out["total_records"] == 211
    assert _canon(_landed_records(lake)) == _canon(SAMPLE_WEATHER)


def test_max_pages_and_reset(lake, fast_retries, monkeypatch):
    monkeypatch.setenv("PAGE_SIZE", "100")
    with WeatherApi(SAMPLE_WEATHER) as api:
        one = api_pull.lambda_handler({"api_url": api.url, "max_pages": 1}, None)
        rest = api_pull.lambda_handler({"api_url": api.url}, None)
        again = api_pull.lambda_handler({"api_url": api.url, "reset": True}, None)
    assert (one["status"], one["records_written"], one["cursor"]) == ("partial", 100, "00000100")
    assert (rest["status"], rest["records_written"]) == ("complete", 111)
    assert (again["status"], again["records_written"], again["pages_written"]) == ("complete", 211, 3)
    assert len(_landed_records(lake)) == 211  # re-pull rewrote the same keys


def test_invalid_page_shape_is_retried_then_reported(lake, fast_retries):
    class Broken(WeatherApi):
        def page(self, cursor, limit=None):
            body = super().page(cursor, limit)
            body["count"] += 1  # claims more items than it carries: incomplete page
            return body

    with Broken(SAMPLE_WEATHER) as api:
        out = api_pull.lambda_handler({"api_url": api.url}, None)
    assert out["status"] == "failed" and out["pages_written"] == 0
    assert {a["kind"] for a in out["errors"][0]["attempts"]} == {"bad_shape"}
    assert lake.keys(lake.landing) == []


def test_pulled_pages_pass_the_ingest_lambda(lake, fast_retries, monkeypatch):
    from ingest_helpers import s3_record

    from lakekit.lambdas.ingest import handler as ingest

    monkeypatch.setenv("PAGE_SIZE", "100")
    with WeatherApi(SAMPLE_WEATHER) as api:
        out = api_pull.lambda_handler({"api_url": api.url}, None)
    records = []
    for key in out["keys"]:
        head = lake.s3.head_object(Bucket=lake.landing, Key=key)
        records.append(s3_record(lake.landing, key, head["ContentLength"], head["ETag"]))
    summary = ingest.lambda_handler({"Records": records}, None)
    assert sorted(x["rows"] for x in summary["landed"]) == [11, 100, 100]
    assert summary["quarantined"] == []


def test_missing_api_url_says_what_to_send(lake):
    with pytest.raises(ValueError, match="api_url"):
        api_pull.lambda_handler({}, None)


def test_backoff_seconds_in_the_event_sets_the_first_retry_pause(lake, monkeypatch):
    """The environment's BACKOFF_BASE_SECONDS (0.5 s, the template's) is what a scheduled pull
    waits; an invocation may ask for its own first pause (the workshop's API is on the same
    machine). Pauses double per attempt with jitter 0.5-1.0x, capped by BACKOFF_MAX_SECONDS."""
    monkeypatch.setenv("MAX_ATTEMPTS", "3")
    monkeypatch.setenv("PAGE_SIZE", "500")
    monkeypatch.delenv("BACKOFF_BASE_SECONDS", raising=False)
    pauses: list[float] = []

    class HandlerClock:
        """The handler's ``time`` alone: patching ``time.sleep`` itself also recorded other
        threads' sleeps (CI once saw 344,249 extra pauses of 1 s from a thread of the worker)."""

        sleep = staticmethod(pauses.append)

        def __getattr__(self, name: str):
            return getattr(time, name)

    monkeypatch.setattr(api_pull, "time", HandlerClock())
    monkeypatch.setattr(api_pull.random, "uniform", lambda a, b: 1.0)
    with WeatherApi(SAMPLE_WEATHER, fail_rate=1.0) as api:
        api_pull.lambda_handler({"api_url": api.url}, None)
        default = list(pauses)
        pauses.clear()
        out = api_pull.lambda_handler({"api_url": api.url, "backoff_seconds": 0.02}, None)
    assert default == [0.5, 1.0]
    assert pauses == [0.02, 0.04] and out["status"] == "failed"
    with pytest.raises(ValueError, match="backoff_seconds.*0 to 60"):
        api_pull.lambda_handler({"api_url": "http://127.0.0.1:9", "backoff_seconds": "soon"}, None)
