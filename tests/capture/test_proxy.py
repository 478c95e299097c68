"""The metering proxy between a real client and a fake upstream, both on 127.0.0.1.

Expected counts are read by hand off the fixture files (tests/capture/fixtures)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.capture.conftest import serving
from tests.capture.fake_upstream import FakeUpstream, events, fixture
from tokenstat.capture.loader import Loader
from tokenstat.capture.proxy import MeteringProxy
from tokenstat.capture.spool import Spool
from tokenstat.catalog import load_catalog

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def proxied(tmp_path: Path):
    upstream = FakeUpstream()
    spool = Spool(tmp_path / "spool")
    loader = Loader(spool, tmp_path / "l.duckdb", load_catalog(None), note=lambda m: None)
    with serving(upstream) as up_url:
        proxy = MeteringProxy(up_url, spool, timeout=1.0)
        with serving(proxy) as url:
            yield url, upstream, loader, tmp_path / "l.duckdb"
    spool.close()


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def post(url: str, path: str, doc: dict, **headers: str) -> httpx.Response:
    return httpx.post(
        url + path,
        json=doc,
        headers={"authorization": f"Bearer {KEY}", **headers},
        timeout=10,
    )


def test_json_answers_pass_through_and_their_usage_is_recorded(proxied):
    url, upstream, loader, db = proxied
    chat = post(
        url,
        "/v1/chat/completions",
        {"model": "gpt-4.1", "messages": []},
        **{"x-tokenstat-app": "billing-bot", "x-tokenstat-project": "p1"},
    )
    messages = post(url, "/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 5})
    responses = post(url, "/v1/responses", {"model": "o4-mini", "input": "hi"})
    assert chat.content == fixture("chat_completion.json")
    assert messages.content == fixture("messages.json")
    assert responses.content == fixture("responses.json")
    assert chat.headers["x-request-id"] == "req_123"
    # our headers stay here; the key goes on untouched
    assert not any(k.startswith("x-tokenstat") for h in upstream.headers for k in h)
    assert upstream.headers[0]["authorization"] == f"Bearer {KEY}"
    settle(loader, db, 3)
    got = query(
        db,
        "SELECT model_raw, provider, app, project, input_tokens, cache_read_tokens, "
        "output_tokens, reasoning_tokens, requests FROM usage ORDER BY model_raw",
    )
    assert got == [
        ("claude-haiku-4-5-20251001", "127.0.0.1", None, None, 2095, 0, 503, 0, 1),
        ("gpt-4.1-2025-04-14", "127.0.0.1", "billing-bot", "p1", 1200, 1024, 300, 64, 1),
        ("o4-mini-2025-04-16", "127.0.0.1", None, None, 36, 0, 87, 64, 1),
    ]
    users = {r[0] for r in query(db, 'SELECT "user" FROM usage')}
    assert len(users) == 1 and next(iter(users)).startswith("key:")
    # the key is nowhere in the ledger or the spool
    assert KEY.encode() not in db.read_bytes()
    assert all(KEY.encode() not in p.read_bytes() for p in (db.parent / "spool").iterdir())


def test_openai_stream_usage_is_asked_for_and_its_extra_chunk_not_passed_on(proxied):
    url, upstream, loader, db = proxied
    with httpx.stream(
        "POST",
        url + "/v1/chat/completions",
        timeout=10,
        json={"model": "gpt-4o-mini", "stream": True},
    ) as answer:
        got = b"".join(answer.iter_raw())
    assert upstream.seen[-1]["stream_options"] == {"include_usage": True}
    assert got == fixture("chat_stream.sse") + fixture("chat_stream_done.sse")
    # a client that asked for usage itself gets the chunk
    with httpx.stream(
        "POST",
        url + "/v1/chat/completions",
        timeout=10,
        json={"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}},
    ) as answer:
        own = b"".join(answer.iter_raw())
    assert own == (
        fixture("chat_stream.sse")
        + fixture("chat_stream_usage.sse")
        + fixture("chat_stream_done.sse")
    )
    settle(loader, db, 2)
    # both streams report 42 prompt and 7 completion tokens, under one response id:
    # the same event, kept once
    assert query(db, "SELECT model_raw, input_tokens, output_tokens FROM usage") == [
        ("gpt-4o-mini-2024-07-18", 42, 7)
    ]
    calls = query(db, "SELECT status, streamed, outcome FROM proxy_calls")
    assert calls == [(200, True, "ok")] * 2


def test_anthropic_stream(proxied):
    url, _, loader, db = proxied
    with httpx.stream(
        "POST",
        url + "/v1/messages",
        timeout=10,
        json={"model": "claude-sonnet-4-5", "stream": True},
    ) as answer:
        got = b"".join(answer.iter_raw())
    assert got == fixture("messages_stream.sse")
    settle(loader, db, 1)
    # input 25 + cache writes 1000 + cache reads 4000; output from message_delta
    assert query(
        db,
        "SELECT model_raw, input_tokens, cache_read_tokens, cache_write_tokens, "
        "output_tokens FROM usage",
    ) == [("claude-sonnet-4-5-20250929", 5025, 4000, 1000, 15)]


def test_upstream_errors_timeouts_and_unreachable(proxied, tmp_path):
    url, _, loader, db = proxied
    limited = post(url, "/v1/chat/completions", {"model": "rate-limited"})
    assert limited.status_code == 429 and limited.content == fixture("rate_limited.json")
    slow = post(url, "/v1/chat/completions", {"model": "slow"})
    assert slow.status_code == 504 and "in time" in slow.json()["error"]["message"]
    other = post(url, "/v1/models", {})  # not metered: passed through, not recorded
    assert other.status_code == 200
    settle(loader, db, 2)
    assert query(db, "SELECT count(*) FROM usage") == [(0,)]
    assert sorted(query(db, "SELECT model_raw, status, outcome FROM proxy_calls")) == [
        ("rate-limited", 429, "upstream error"),
        ("slow", 504, "upstream timeout"),
    ]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # a port nobody listens on
    spool = Spool(tmp_path / "spool2")
    try:
        with serving(MeteringProxy(f"http://127.0.0.1:{dead}", spool, timeout=1.0)) as bad:
            answer = post(bad, "/v1/messages", {"model": "m"})
        assert answer.status_code == 502
    finally:
        spool.close()


def settle(loader: Loader, db: Path, calls: int) -> None:
    """Load until the proxy's ``calls`` calls are in the ledger (a call is recorded just
    after its answer is sent)."""
    deadline = time.monotonic() + 10
    while len(query_calls(loader, db)) < calls:
        assert time.monotonic() < deadline, "the calls were not recorded"
        time.sleep(0.05)


def test_a_client_that_goes_away_mid_stream(proxied):
    url, _, loader, db = proxied
    with httpx.stream(
        "POST", url + "/v1/chat/completions", timeout=10, json={"model": "long", "stream": True}
    ) as answer:
        first = next(answer.iter_raw())
    assert first == events(fixture("chat_stream.sse"))[0]
    settle(loader, db, 1)
    calls = query_calls(loader, db)
    # the model the stream named; no usage came, so no usage row
    assert calls == [("gpt-4o-mini-2024-07-18", "client disconnected")]
    assert query(db, "SELECT count(*) FROM usage") == [(0,)]  # no usage came: no row


def query_calls(loader: Loader, db: Path) -> list[tuple]:
    loader.flush()
    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'proxy_calls'"
        ).fetchone()[0]
        if not found:
            return []
        return con.execute("SELECT model_raw, outcome FROM proxy_calls").fetchall()
    finally:
        con.close()
