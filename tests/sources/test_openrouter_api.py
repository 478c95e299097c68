"""The OpenRouter Data API client, against a real local HTTP server.

The server speaks the documented shape of ``GET /api/v1/datasets/rankings-daily``; time is
a fake clock/sleep pair, so no test waits for real seconds.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import traceback
import urllib.parse
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenstat import __version__
from tokenstat.errors import FetchError, TokenstatError
from tokenstat.sources.base import ReadContext
from tokenstat.sources.openrouter_api import (
    MAX_WINDOW_DAYS,
    PRODUCTION_BASE_URL,
    api_key_from_env,
    date_windows,
    default_base_url,
    fetch_rankings,
)
from tokenstat.sources.openrouter_rankings import OpenRouterRankingsSource

API_KEY = "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"
RANKINGS_PATH = "/api/v1/datasets/rankings-daily"
MODELS = ("deepseek/deepseek-v3.2-20251201", "anthropic/claude-4.6-sonnet-20260217")


class FakeOpenRouter:
    """What the server saw, and what it should answer before falling back to real data."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.accepted_keys = {API_KEY}
        self.lock = threading.Lock()
        self.base_url = ""

    @property
    def windows(self) -> list[tuple[str, str]]:
        return [(s["query"]["start_date"], s["query"]["end_date"]) for s in self.seen]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        with self.lock:
            self.seen.append(
                {"path": parts.path, "query": query, "headers": dict(handler.headers.items())}
            )
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            self.send(handler, *scripted)
        elif parts.path != RANKINGS_PATH:
            self.send(handler, 404, {}, _error(404, "Not Found"))
        elif handler.headers.get("Authorization", "").removeprefix("Bearer ") not in (
            self.accepted_keys
        ):
            key = handler.headers.get("Authorization", "").removeprefix("Bearer ")
            # echoes the key, as a careless server might: the client must not repeat it
            self.send(handler, 401, {}, _error(401, f"User not found for key {key}"))
        else:
            self.send(handler, 200, {}, json.dumps(rankings_body(query)).encode())

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, headers: dict, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


def rankings_body(query: dict[str, str]) -> dict:
    start = date.fromisoformat(query["start_date"])
    end = date.fromisoformat(query["end_date"])
    rows = []
    day = start
    while day <= end:
        for rank, slug in enumerate(MODELS):
            rows.append(
                {
                    "date": day.isoformat(),
                    "model_permaslug": slug,
                    "total_tokens": str(1_000_000 * (day.toordinal() % 97 + 10) // (rank + 1)),
                }
            )
        rows.append({"date": day.isoformat(), "model_permaslug": "other", "total_tokens": "77"})
        day += timedelta(days=1)
    meta = {
        "as_of": "2027-01-01T02:00:00Z",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "version": "v1",
    }
    return {"data": rows, "meta": meta}


def _error(code: int, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server(monkeypatch):
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    state = FakeOpenRouter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            state.handle(self)

        def log_message(self, format, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/api/v1"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fake_time():
    return FakeTime()


def fetch(server, fake_time, start, end, **kwargs):
    options = {
        "api_key": API_KEY,
        "base_url": server.base_url,
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
    }
    options.update(kwargs)
    return fetch_rankings(start, end, **options)


def assert_no_key(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    for shown in (str(exc), repr(exc), text):
        assert API_KEY not in shown


# -- date windows -----------------------------------------------------------------------


def test_two_year_range_is_split_into_windows(server, fake_time, tmp_path, monkeypatch):
    # the served days run to 2026-12-31: let the plausible window reach past the real today
    monkeypatch.setenv("TOKENSTAT_TIME_WINDOW", "..2027-12-31")
    bodies = fetch(server, fake_time, date(2025, 1, 1), date(2026, 12, 31))

    assert server.windows == [("2025-01-01", "2026-01-01"), ("2026-01-02", "2026-12-31")]
    assert [s["path"] for s in server.seen] == [RANKINGS_PATH] * 2
    assert len(bodies) == 2
    assert sum(len(b["data"]) for b in bodies) == 730 * 3

    # what fetch returns is what the importer reads
    path = tmp_path / "rankings.json"
    path.write_text(json.dumps(bodies), encoding="utf-8")
    bad = []
    ctx = ReadContext(on_bad=bad.append)
    rows = sum(b.num_rows for b in OpenRouterRankingsSource().read(path, ctx))
    assert bad == []
    assert rows == 730 * 3
    assert ctx.meta["as_of"] == "2027-01-01T02:00:00Z"


def test_short_range_is_one_request(server, fake_time):
    bodies = fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 3))
    assert server.windows == [("2026-03-01", "2026-03-03")]
    assert [r["date"] for r in bodies[0]["data"]][::3] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert fake_time.sleeps == []


def test_start_before_the_dataset_is_clamped(server, fake_time):
    fetch(server, fake_time, date(2024, 6, 1), date(2025, 1, 10))
    assert server.windows == [("2025-01-01", "2025-01-10")]


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    days=st.integers(min_value=0, max_value=2000),
)
def test_date_windows_cover_the_range(start, days):
    end = start + timedelta(days=days)
    windows = date_windows(start, end)
    assert windows[0][0] == start
    assert windows[-1][1] == end
    for (_, a_end), (b_start, _) in itertools.pairwise(windows):
        assert b_start == a_end + timedelta(days=1)
    for w_start, w_end in windows:
        assert w_start <= w_end
        assert (w_end - w_start).days + 1 <= MAX_WINDOW_DAYS
    assert len(windows) == -(-(days + 1) // MAX_WINDOW_DAYS)


# -- rate limit -------------------------------------------------------------------------


def test_requests_are_spaced_by_the_rate_limit(server, fake_time):
    progress = []
    fetch(
        server,
        fake_time,
        date(2025, 1, 1),
        date(2027, 12, 31),
        requests_per_minute=30,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert len(server.seen) == 3
    assert fake_time.sleeps == [2.0, 2.0]
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_rate_limit_counts_time_already_spent(server, fake_time):
    def spend_time(done, total):
        fake_time.now += 1.5  # e.g. writing the page took 1.5 s

    fetch(
        server,
        fake_time,
        date(2025, 1, 1),
        date(2027, 12, 31),
        requests_per_minute=30,
        on_progress=spend_time,
    )
    assert fake_time.sleeps == pytest.approx([0.5, 0.5])


# -- retries ----------------------------------------------------------------------------


def test_429_with_retry_after_is_retried(server, fake_time):
    server.script.append((429, {"Retry-After": "7"}, _error(429, "Rate limit exceeded")))
    bodies = fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))

    assert len(bodies) == 1
    assert server.windows == [("2026-03-01", "2026-03-02")] * 2
    assert fake_time.sleeps == [7.0]


def test_503_is_retried_with_backoff(server, fake_time):
    server.script.extend([(503, {}, b"upstream unavailable")] * 2)
    bodies = fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2), requests_per_minute=6000)
    assert len(bodies) == 1
    assert len(server.seen) == 3
    assert fake_time.sleeps == [1.0, 2.0]


def test_gives_up_after_max_retries(server, fake_time):
    server.script.extend([(503, {}, _error(503, "Service Unavailable"))] * 10)
    with pytest.raises(FetchError) as info:
        fetch(
            server,
            fake_time,
            date(2026, 3, 1),
            date(2026, 3, 2),
            max_retries=2,
            requests_per_minute=6000,
        )
    message = str(info.value)
    assert len(server.seen) == 3
    assert fake_time.sleeps == [1.0, 2.0]
    assert "HTTP 503" in message
    assert "/datasets/rankings-daily?start_date=2026-03-01&end_date=2026-03-02" in message
    assert "3 attempts" in message
    assert "\n" not in message
    assert isinstance(info.value, TokenstatError)
    assert_no_key(info.value)


def test_too_long_retry_after_ends_the_fetch(server, fake_time):
    server.script.append((429, {"Retry-After": "86400"}, _error(429, "daily limit")))
    with pytest.raises(FetchError, match="wait 86400 s"):
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))
    assert len(server.seen) == 1
    assert fake_time.sleeps == []


def test_connection_errors_are_retried_then_reported(fake_time, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # nothing listens on that port any more
    with pytest.raises(FetchError, match="cannot reach") as info:
        fetch_rankings(
            date(2026, 3, 1),
            date(2026, 3, 2),
            api_key=API_KEY,
            base_url=f"http://127.0.0.1:{port}/api/v1",
            max_retries=1,
            requests_per_minute=6000,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
    assert "2 attempts" in str(info.value)
    assert fake_time.sleeps == [1.0]
    assert_no_key(info.value)


# -- errors and the key -----------------------------------------------------------------


def test_key_and_user_agent_reach_the_server(server, fake_time):
    fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 1))
    headers = server.seen[0]["headers"]
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["User-Agent"] == f"tokenstat/{__version__}"
    assert headers["Accept"] == "application/json"


def test_refused_key_is_not_retried_and_never_shown(server, fake_time):
    server.accepted_keys = set()
    with pytest.raises(FetchError) as info:
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))
    assert len(server.seen) == 1
    assert server.seen[0]["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert "refused the API key (HTTP 401)" in str(info.value)
    assert_no_key(info.value)


def test_403_is_a_refused_key(server, fake_time):
    server.script.append((403, {}, _error(403, f"forbidden: {API_KEY}")))
    with pytest.raises(FetchError, match="HTTP 403") as info:
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))
    assert_no_key(info.value)


def test_other_client_errors_show_the_server_message_without_the_key(server, fake_time):
    server.script.append((400, {}, _error(400, f"invalid end_date for key {API_KEY}")))
    with pytest.raises(FetchError) as info:
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))
    message = str(info.value)
    assert "HTTP 400" in message
    assert "invalid end_date for key ***" in message
    assert len(server.seen) == 1
    assert_no_key(info.value)


def test_redirect_does_not_carry_the_key(server, fake_time):
    server.script.append((302, {"Location": "/elsewhere"}, b""))
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))
    assert [s["path"] for s in server.seen] == [RANKINGS_PATH, "/elsewhere"]
    assert "Authorization" in server.seen[0]["headers"]
    assert "Authorization" not in server.seen[1]["headers"]


def test_invalid_json_response(server, fake_time):
    server.script.append((200, {}, b'{"data": ['))
    with pytest.raises(FetchError, match="invalid JSON"):
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))


def test_response_without_data(server, fake_time):
    server.script.append((200, {}, b'{"meta": {}}'))
    with pytest.raises(FetchError, match="no 'data' list"):
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2))


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), "after the end date"),
        (date(2024, 1, 1), date(2024, 12, 31), "begins at 2025-01-01"),
    ],
)
def test_bad_ranges_are_refused_before_any_request(server, fake_time, start, end, match):
    with pytest.raises(FetchError, match=match):
        fetch(server, fake_time, start, end)
    assert server.seen == []


def test_plain_http_to_a_remote_host_is_refused(fake_time):
    with pytest.raises(FetchError, match="plain http") as info:
        fetch_rankings(
            date(2026, 3, 1),
            date(2026, 3, 2),
            api_key=API_KEY,
            base_url="http://openrouter.example/api/v1",
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
    assert_no_key(info.value)


def test_key_with_a_newline_is_refused_without_showing_it(server, fake_time):
    with pytest.raises(FetchError) as info:
        fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 2), api_key=API_KEY + "\n")
    assert_no_key(info.value)
    assert server.seen == []


# -- environment ------------------------------------------------------------------------


def test_api_key_from_env(monkeypatch):
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    with pytest.raises(FetchError, match="set OPENROUTER_API_KEY"):
        api_key_from_env()
    monkeypatch.setenv("OPENROUTER_API_KEY", f"  {API_KEY}\n")
    assert api_key_from_env() == API_KEY


def test_base_url_from_env(monkeypatch, server, fake_time):
    monkeypatch.delenv("TOKENSTAT_OPENROUTER_BASE_URL", raising=False)
    assert default_base_url() == PRODUCTION_BASE_URL == "https://openrouter.ai/api/v1"
    monkeypatch.setenv("TOKENSTAT_OPENROUTER_BASE_URL", server.base_url + "/")
    assert default_base_url() == server.base_url + "/"
    fetch_rankings(
        date(2026, 3, 1),
        date(2026, 3, 1),
        api_key=API_KEY,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    assert server.windows == [("2026-03-01", "2026-03-01")]


def test_module_does_not_write_files(tmp_path, monkeypatch, server, fake_time):
    monkeypatch.chdir(tmp_path)
    fetch(server, fake_time, date(2026, 3, 1), date(2026, 3, 1))
    assert list(Path(tmp_path).iterdir()) == []
