"""The OTLP/HTTP receiver against real requests on 127.0.0.1: answers, rows, dedupe.

Expected token counts are written by hand from the bodies the tests send."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.capture.conftest import (
    NOW_NS,
    genai_spans,
    log_request,
    serving,
    span_request,
    sum_metric_request,
)
from tokenstat.capture.loader import Loader
from tokenstat.capture.otlp_receiver import Receiver
from tokenstat.capture.spool import Spool
from tokenstat.catalog import load_catalog

PB = {"content-type": "application/x-protobuf"}


@pytest.fixture
def capture(tmp_path: Path):
    spool = Spool(tmp_path / "spool", limit=4 << 20)
    loader = Loader(spool, tmp_path / "ledger.duckdb", load_catalog(None), note=lambda m: None)
    receiver = Receiver(spool, token=None, max_body=1 << 20)
    with serving(receiver) as url:
        yield url, spool, loader, receiver, tmp_path / "ledger.duckdb"
    spool.close()


def rows(db: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_protobuf_spans_become_rows_and_a_retry_is_deduplicated(capture):
    url, _, loader, _, db = capture
    body = span_request(genai_spans(1, 3)).SerializeToString()
    legacy = span_request(
        [
            {
                "trace": 9,
                "span": 1,
                "attrs": {
                    "gen_ai.system": "anthropic",
                    "gen_ai.request.model": "claude-sonnet-4",
                    "gen_ai.usage.prompt_tokens": 50,
                    "gen_ai.usage.completion_tokens": 7,
                    "gen_ai.usage.cache_read_input_tokens": 30,
                },
            },
            {"trace": 9, "span": 2, "attrs": {"http.method": "GET"}},  # not a GenAI span
        ],
        resource={"telemetry.sdk.name": "openlit", "service.name": "bot"},
    ).SerializeToString()
    with httpx.Client() as client:
        for content in (body, body, legacy):  # the second is an exporter's retry
            answer = client.post(f"{url}/v1/traces", content=content, headers=PB)
            assert answer.status_code == 200
            assert answer.content == b""  # an empty ExportTraceServiceResponse
    loader.flush()
    got = rows(
        db,
        "SELECT source, model_raw, provider, app, input_tokens, cache_read_tokens, "
        "output_tokens FROM usage ORDER BY model_raw, input_tokens",
    )
    # openlit reports Anthropic input without cache: 50 + 30 = 80
    assert got == [
        ("otlp", "claude-sonnet-4", "anthropic", "bot", 80, 30, 7),
        *[("otlp", "gpt-4o", "openai", None, 100, 0, 20)] * 3,
    ]


def test_json_and_gzip_bodies(capture):
    url, _, loader, _, db = capture
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "0af7651916cd43dd8448eb211c80319c",
                                "spanId": "b7ad6b7169203331",
                                "startTimeUnixNano": str(NOW_NS),
                                "attributes": [
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "m1"}},
                                    {
                                        "key": "gen_ai.usage.input_tokens",
                                        "value": {"intValue": "11"},
                                    },
                                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 4}},
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    protobuf = span_request(genai_spans(100, 2, trace=5)).SerializeToString()
    with httpx.Client() as client:
        a = client.post(
            f"{url}/v1/traces",
            content=json.dumps(doc),
            headers={"content-type": "application/json"},
        )
        b = client.post(
            f"{url}/v1/traces",
            content=gzip.compress(protobuf),
            headers={**PB, "content-encoding": "gzip"},
        )
    assert (a.status_code, a.json()) == (200, {})
    assert b.status_code == 200
    loader.flush()
    assert rows(
        db,
        "SELECT model_raw, sum(input_tokens), sum(output_tokens) FROM usage GROUP BY 1 ORDER BY 1",
    ) == [("gpt-4o", 200, 40), ("m1", 11, 4)]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\xff\xff\xff", PB, 400),
        (b"{not json", {"content-type": "application/json"}, 400),
        (b'{"resourceSpans": 3}', {"content-type": "application/json"}, 400),
        (b"x" * 100, {**PB, "content-encoding": "gzip"}, 400),
        (b"", {"content-type": "text/plain"}, 415),
        (b"x" * (2 << 20), PB, 413),
        (gzip.compress(b"\0" * (3 << 20)), {**PB, "content-encoding": "gzip"}, 413),
    ],
)
def test_bad_bodies_get_a_client_error_with_a_message(capture, body, headers, status):
    url, spool, *_ = capture
    answer = httpx.post(f"{url}/v1/traces", content=body, headers=headers)
    assert answer.status_code == status
    assert answer.json()["message"]
    assert spool.written == 0  # nothing spooled


def test_bearer_token(tmp_path):
    spool = Spool(tmp_path / "spool")
    try:
        with serving(Receiver(spool, token="s3cret")) as url:
            body = span_request(genai_spans(1, 1)).SerializeToString()
            assert httpx.post(f"{url}/v1/traces", content=body, headers=PB).status_code == 401
            wrong = {**PB, "authorization": "Bearer nope"}
            assert httpx.post(f"{url}/v1/traces", content=body, headers=wrong).status_code == 401
            right = {**PB, "authorization": "Bearer s3cret"}
            assert httpx.post(f"{url}/v1/traces", content=body, headers=right).status_code == 200
    finally:
        spool.close()


def test_a_full_spool_answers_429_with_retry_after_and_loading_frees_it(tmp_path):
    spool = Spool(tmp_path / "spool", limit=60_000)
    loader = Loader(spool, tmp_path / "l.duckdb", load_catalog(None), note=lambda m: None)
    body = span_request(genai_spans(1, 200)).SerializeToString()
    assert 30_000 < len(body) < 60_000  # one fits, two do not
    try:
        with serving(Receiver(spool)) as url, httpx.Client() as client:
            assert client.post(f"{url}/v1/traces", content=body, headers=PB).status_code == 200
            full = client.post(f"{url}/v1/traces", content=body, headers=PB)
            assert full.status_code == 429 and full.headers["retry-after"] == "2"
            loader.flush()
            assert client.post(f"{url}/v1/traces", content=body, headers=PB).status_code == 200
            loader.flush()
    finally:
        spool.close()
    assert rows(tmp_path / "l.duckdb", "SELECT count(*) FROM usage") == [(200,)]


def test_claude_code_metrics_and_events(capture):
    url, _, loader, _, db = capture
    res = {"service.name": "claude-code"}
    t1, t2, t3 = NOW_NS, NOW_NS + 60 * 10**9, NOW_NS + 120 * 10**9
    start = NOW_NS - 10**9

    def tokens(kind: str, value: int, time: int, session: str = "s1", begin: int = start):
        attrs = {"type": kind, "model": "claude-sonnet-4-5", "session.id": session}
        return {
            "metric": "claude_code.token.usage",
            "attrs": attrs,
            "value": value,
            "time": time,
            "start": begin,
        }

    cumulative = [
        # input 100 then 250 (+150), then a reset (new start, 40): 100 + 150 + 40 = 290
        sum_metric_request(
            [tokens("input", 100, t1), tokens("cacheRead", 1000, t1)], cumulative=True, resource=res
        ),
        sum_metric_request(
            [tokens("input", 250, t2), tokens("cacheRead", 1000, t2)], cumulative=True, resource=res
        ),
        sum_metric_request([tokens("input", 40, t3, begin=t2)], cumulative=True, resource=res),
    ]
    cost = sum_metric_request(
        [
            {
                "metric": "claude_code.cost.usage",
                "value": 0.25,
                "time": t1,
                "attrs": {"model": "claude-sonnet-4-5", "session.id": "s1"},
            }
        ],
        cumulative=False,
        resource=res,
    )
    event = {
        "time": t1,
        "attrs": {
            "event.name": "api_request",
            "session.id": "s2",
            "model": "claude-opus-4-1",
            "input_tokens": 10,
            "output_tokens": 300,
            "cache_read_tokens": 2000,
            "cache_creation_tokens": 500,
            "cost_usd": 0.5,
            "duration_ms": 1234,
        },
    }
    events = log_request(
        [event, {"time": t1, "name": "claude_code.user_prompt", "attrs": {"session.id": "s2"}}],
        resource=res,
    )
    # metrics of session s2 arrive after its events: skipped (the events count them)
    late = sum_metric_request(
        [tokens("output", 300, t2, session="s2")], cumulative=False, resource=res
    )
    with httpx.Client() as client:
        for request in (*cumulative, cost):
            assert (
                client.post(
                    f"{url}/v1/metrics", content=request.SerializeToString(), headers=PB
                ).status_code
                == 200
            )
        loader.flush()
        for path, request in (("logs", events), ("metrics", late), ("metrics", cumulative[1])):
            assert (
                client.post(
                    f"{url}/v1/{path}", content=request.SerializeToString(), headers=PB
                ).status_code
                == 200
            )
        loader.flush()
    got = rows(
        db,
        "SELECT session, sum(input_tokens), sum(cache_read_tokens), "
        "sum(cache_write_tokens), sum(output_tokens), sum(cost_reported), "
        "sum(requests) FROM usage WHERE source = 'claude-code-otel' "
        "GROUP BY 1 ORDER BY 1",
    )
    # s1: input 290 + cacheRead 1000 (counted once: the repeat adds 0; a retried point too)
    # s2: 10 + 2000 + 500 = 2510 input, one request
    assert got == [("s1", 1290, 1000, 0, 0, 0.25, None), ("s2", 2510, 2000, 500, 300, 0.5, 1)]
