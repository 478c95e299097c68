"""The SQL over the priced quarter-hour rollup gives the same reports as the Ibis reports
over the raw rows: every grain, zone (whole, half and three-quarter hour offsets), group,
filter and cost mode, sessions and 5-hour blocks, on seeded random Claude Code logs with
gaps near the 5-hour rule, tiered prices and reported costs."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.usage import buckets as usage_buckets
from tokenstat.usage import fast as usage_sql
from tokenstat.usage import reference as usage
from tokenstat.usage.query import UsageQuery

MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "no-such-model-x"]
START = datetime(2026, 2, 27, 20, 0, tzinfo=UTC)  # a month end, and a week end close by


def _log(rng: random.Random, n: int) -> list[str]:
    lines = []
    ts = START
    for i in range(n):
        # mostly minutes apart, sometimes a gap just under or over 5 hours
        step = rng.choice([1, 2, 7, 20, 55, 299, 300, 301, 600])
        ts += timedelta(minutes=step, seconds=rng.randrange(60))
        model = rng.choice(MODELS)
        usage_ = {
            "input_tokens": rng.randrange(0, 400),
            "cache_creation_input_tokens": rng.choice([0, 0, 1500, 250_000]),
            "cache_read_input_tokens": rng.choice([0, 3000, 90_000]),
            "output_tokens": rng.randrange(1, 5000),
        }
        record = {
            "type": "assistant",
            "sessionId": f"s{rng.randrange(4)}",
            "cwd": rng.choice(["/w/app", "/w/lib", "/w/cli"]),
            "timestamp": ts.isoformat().replace("+00:00", "Z"),
            "requestId": f"req{i}",
            "message": {"id": f"msg{i}", "model": model, "usage": usage_},
        }
        if rng.random() < 0.2:
            record["costUSD"] = round(rng.random() / 10, 6)
        lines.append(json.dumps(record))
    return lines


@pytest.fixture(scope="module", params=[1, 2])
def ledger_path(request, tmp_path_factory) -> Path:
    rng = random.Random(request.param)
    base = tmp_path_factory.mktemp(f"buckets{request.param}")
    logs = base / "projects" / "p"
    logs.mkdir(parents=True)
    (logs / "a.jsonl").write_text("\n".join(_log(rng, 300)) + "\n")
    path = base / "ledger.duckdb"
    with api.open_ledger(path) as ledger:
        api.import_path(ledger, "claude-code", [logs / "a.jsonl"])
        inputs = api.cost_inputs(ledger)
        rows = usage_buckets.rebuild(ledger, inputs, "test")
        assert rows > 0
    return path


def _close(a, b, where="") -> None:
    """Equal, with costs (floats summed in another order) to 1e-9 relative."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, where
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (where, a, b)
    else:
        assert a == b, where


QUERIES = [
    UsageQuery(),
    UsageQuery(grain="week", tz="America/New_York", breakdown=True),
    UsageQuery(grain="month", tz="Asia/Kolkata", by="project"),
    UsageQuery(tz="Asia/Kathmandu", by="model", mode="computed"),
    UsageQuery(tz="Pacific/Chatham", mode="reported", order="desc"),
    UsageQuery(since=date(2026, 3, 1), until=date(2026, 3, 2), tz="Europe/Berlin"),
    UsageQuery(where=(("project", "/w/lib"),), by="user"),
    UsageQuery(where=(("model", "anthropic/claude-haiku-4.5"),), grain="week"),
]  # fmt: skip


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: f"{q.grain}-{q.tz}-{q.by}-{q.mode}")
def test_periods_equal(ledger_path, q):
    with api.open_ledger(ledger_path, read_only=True) as ledger:
        inputs = api.cost_inputs(ledger)
        expected = usage.period_report(inputs, q)
        got = usage_sql.period_report(ledger.db, q, inputs.sources)
    assert expected["rows"], "the query selects rows"
    _close(expected, got)


@pytest.mark.parametrize("q", QUERIES[:5], ids=lambda q: f"{q.tz}-{q.mode}")
def test_sessions_equal(ledger_path, q):
    with api.open_ledger(ledger_path, read_only=True) as ledger:
        inputs = api.cost_inputs(ledger)
        _close(
            usage.session_report(inputs, q),
            usage_sql.session_report(ledger.db, q, inputs.sources),
        )


@pytest.mark.parametrize("mode", ["auto", "computed", "reported"])
def test_blocks_equal(ledger_path, mode):
    q = UsageQuery(mode=mode)
    with api.open_ledger(ledger_path, read_only=True) as ledger:
        inputs = api.cost_inputs(ledger)
        last = ledger.db.execute("SELECT max(ts) FROM usage").fetchone()[0]
        now = last + timedelta(minutes=3)
        expected = usage.blocks_report(inputs, q, now=now, token_limit=10**6)
        got = usage_sql.blocks_report(ledger.db, q, inputs.sources, now=now, token_limit=10**6)
    assert len(expected["rows"]) > 3
    assert expected["rows"][-1]["active"]
    _close(expected, got)


def test_stamp_follows_imports_and_price_file(ledger_path, tmp_path, monkeypatch):
    with api.open_ledger(ledger_path, read_only=True) as ledger:
        before = usage_buckets.stamp(ledger.db)
        assert usage_buckets.stamp(ledger.db) == before
        prices = tmp_path / "prices.yaml"
        prices.write_text("[]\n")
        monkeypatch.setenv("TOKENSTAT_PRICES", str(prices))
        assert usage_buckets.stamp(ledger.db) != before
        assert usage_buckets.stored_stamp(ledger.db) == "test"
