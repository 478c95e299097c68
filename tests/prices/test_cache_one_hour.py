"""One-hour cache writes are kept apart and priced at their own rate (2x input for
Anthropic), not at the 5-minute rate (1.25x input)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from tokenstat import api
from tokenstat.prices.cost import cost_report
from tokenstat.prices.schedule import build_schedule, one_hour_cache_writes

# claude-sonnet-4.5 list prices, USD per million tokens: input 3, output 15, cache write
# 5 minutes 3.75, 1 hour 6, cache read 0.30
UNCACHED, WRITE_5M, WRITE_1H, READ, OUTPUT = 10, 400, 600, 2000, 100
BY_HAND = (UNCACHED * 3 + WRITE_5M * 3.75 + WRITE_1H * 6 + READ * 0.30 + OUTPUT * 15) / 1e6
ALL_AT_5M = (UNCACHED * 3 + (WRITE_5M + WRITE_1H) * 3.75 + READ * 0.30 + OUTPUT * 15) / 1e6


def _claude_line() -> str:
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": "s1",
            "cwd": "/w/app",
            "timestamp": "2026-03-02T10:00:00Z",
            "requestId": "req_1",
            "message": {
                "id": "msg_1h",
                "model": "claude-sonnet-4-5-20250929",
                "usage": {
                    "input_tokens": UNCACHED,
                    "cache_creation_input_tokens": WRITE_5M + WRITE_1H,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": WRITE_5M,
                        "ephemeral_1h_input_tokens": WRITE_1H,
                    },
                    "cache_read_input_tokens": READ,
                    "output_tokens": OUTPUT,
                },
            },
        }
    )


def _anthropic_usage_page() -> dict:
    return {
        "data": [
            {
                "starting_at": "2026-03-02T00:00:00Z",
                "ending_at": "2026-03-03T00:00:00Z",
                "results": [
                    {
                        "uncached_input_tokens": UNCACHED,
                        "cache_creation": {
                            "ephemeral_5m_input_tokens": WRITE_5M,
                            "ephemeral_1h_input_tokens": WRITE_1H,
                        },
                        "cache_read_input_tokens": READ,
                        "output_tokens": OUTPUT,
                        "model": "claude-sonnet-4-5-20250929",
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }


@pytest.mark.parametrize("source", ["claude-code", "anthropic-usage"])
def test_one_hour_writes_are_kept_and_priced_at_their_rate(tmp_path: Path, source: str):
    if source == "claude-code":
        path = tmp_path / "projects" / "p" / "s1.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text(_claude_line() + "\n")
    else:
        path = tmp_path / "usage.json"
        path.write_text(json.dumps(_anthropic_usage_page()))
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, source, [path])
        row = ledger.db.execute(
            "SELECT input_tokens, cache_write_tokens, cache_write_1h_tokens FROM usage"
        ).fetchone()
        assert row == (UNCACHED + WRITE_5M + WRITE_1H + READ, WRITE_5M + WRITE_1H, WRITE_1H)
        report = cost_report(api.cost_inputs(ledger), by="model", grain="day", mode="computed")
    assert report["total"]["cost"] == pytest.approx(BY_HAND)
    assert pytest.approx(WRITE_1H * (6 - 3.75) / 1e6) == BY_HAND - ALL_AT_5M


def test_anthropic_rows_without_a_one_hour_price_get_twice_the_input_price():
    table = pa.table(
        {
            "provider": ["anthropic", "anthropic", "openai", "anthropic"],
            "input": [3e-6, 1e-6, 2e-6, 3e-6],
            "cache_write": [3.75e-6, None, 2.5e-6, 3.75e-6],
            "cache_write_1h": [None, None, None, 7e-6],
        }
    )
    filled = one_hour_cache_writes(table)["cache_write_1h"].to_pylist()
    # only the first row: an Anthropic price with cache writes but no one-hour price
    assert filled == [pytest.approx(6e-6), None, None, 7e-6]


def test_genai_prices_lists_the_one_hour_price_of_current_claude_models():
    schedule = build_schedule().to_pylist()
    base = [
        r
        for r in schedule
        if (r["provider"], r["model"], r["variant"], r["tier_min_input"])
        == ("anthropic", "claude-sonnet-4-5", "default", 0)
    ]
    assert base and all(r["cache_write_1h"] == pytest.approx(6e-6) for r in base)
