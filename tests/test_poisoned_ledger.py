"""A ledger holding what no importer should let through still answers every report.

Rows go in through the ledger's own import steps (`Ledger.importing`, `append_batches`,
`finish_import`: rollups included), bypassing the importers' validation: dates in years
1 and 9999, counts that each fit int64 but overflow it when added. Expected totals are
computed here with Python ints.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from tokenstat.ledger import Ledger
from tokenstat.metrics import cube
from tokenstat.schema import USAGE_SCHEMA
from tokenstat.web.app import create_app

INT64_MAX = 2**63 - 1
NORMAL_DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)  # a Monday: week 2026-W10


def usage_row(event: str, ts: datetime, input_tokens: int, output_tokens: int) -> dict:
    return {
        "event_id": event,
        "ts": ts,
        "grain": "request",
        "source": "csv",
        "model": "openai/gpt-4o",
        "model_raw": "gpt-4o",
        "provider": None,
        "app": "bot",
        "user": None,
        "project": None,
        "session": None,
        "input_tokens": input_tokens,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": output_tokens,
        "reasoning_tokens": 0,
        "requests": 1,
        "cost_reported": None,
    }


def write_ledger(path: Path, rows: list[dict]) -> Path:
    with Ledger.open(path) as ledger, ledger.importing("csv") as import_id:
        ledger.append_batches([pa.Table.from_pylist(rows, schema=USAGE_SCHEMA)], import_id)
        with ledger.transaction():
            ledger.finish_import(
                import_id,
                rows_read=len(rows),
                bad=[],
                files=[],
                source="csv",
                meta={},
                model_overrides={},
            )
    return path


def report_json(invoke, db: Path, *args: str) -> dict:
    result = invoke("--db", str(db), *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def far_future(tmp_path: Path) -> Path:
    return write_ledger(
        tmp_path / "future.duckdb",
        [
            usage_row("a", NORMAL_DAY, 100, 10),
            usage_row("b", datetime(9999, 12, 31, 23, tzinfo=UTC), 5, 1),
        ],
    )


@pytest.fixture
def year_one(tmp_path: Path) -> Path:
    return write_ledger(
        tmp_path / "past.duckdb",
        [
            usage_row("a", NORMAL_DAY, 100, 10),
            usage_row("b", datetime(1, 1, 1, tzinfo=UTC), 5, 1),
        ],
    )


@pytest.fixture
def huge_counts(tmp_path: Path) -> Path:
    rows = [usage_row(f"r{i}", NORMAL_DAY, INT64_MAX, INT64_MAX) for i in range(3)]
    return write_ledger(tmp_path / "huge.duckdb", rows)


def test_year_9999_leaves_every_report_working(invoke, far_future: Path, tmp_path: Path):
    summary = report_json(invoke, far_future, "summary", "--at", "2026-03-02")
    assert summary["total"]["tokens"] == 110  # 100 input + 10 output that week
    latest = report_json(invoke, far_future, "summary")
    assert latest["period"]["start"] == "9999-12-27"  # the Monday of the last ISO week
    assert latest["period"]["end"] == "9999-12-31"  # the calendar's last day
    assert latest["total"]["tokens"] == 6
    assert report_json(invoke, far_future, "top", "--at", "2026-03-02")["rows"][0]["tokens"] == 110
    report_json(invoke, far_future, "trend", "--last", "3")
    out = tmp_path / "report.html"
    assert invoke("--db", str(far_future), "report", "-o", str(out)).exit_code == 0
    assert out.stat().st_size > 0
    forecast = invoke("--db", str(far_future), "forecast")
    assert "Traceback" not in forecast.output
    if forecast.exit_code != 0:  # the horizon would end after 9999-12-31: one clear line
        assert "outside the calendar" in forecast.output


def test_year_one_leaves_every_report_working(invoke, year_one: Path, tmp_path: Path):
    summary = report_json(invoke, year_one, "summary", "--at", "0001-01-01")
    assert summary["period"]["start"] == "0001-01-01"  # a Monday
    assert summary["total"]["tokens"] == 6
    out = tmp_path / "report.html"
    result = invoke("--db", str(year_one), "report", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_sums_beyond_int64_are_exact(invoke, huge_counts: Path):
    expected = 3 * (INT64_MAX + INT64_MAX)  # Python ints: 6 * (2^63 - 1)
    summary = report_json(invoke, huge_counts, "summary")
    assert summary["total"]["tokens"] == expected
    assert summary["groups"][0]["tokens"] == expected
    inputs = report_json(invoke, huge_counts, "summary", "--tokens", "input")
    assert inputs["total"]["tokens"] == 3 * INT64_MAX
    top = report_json(invoke, huge_counts, "top")
    assert top["rows"][0]["tokens"] == expected
    apps = report_json(invoke, huge_counts, "summary", "--by", "app")
    assert apps["groups"][0]["key"] == "bot" and apps["groups"][0]["tokens"] == expected


def test_the_dashboard_answers_on_poisoned_ledgers(far_future: Path, huge_counts: Path):
    for db in (far_future, huge_counts):
        client = TestClient(create_app(db), raise_server_exceptions=False)
        for path in ("/api/summary", "/api/top", "/api/trend", "/api/summary?by=app", "/"):
            answer = client.get(path)
            assert answer.status_code == 200, (db.name, path, answer.text[:300])
    big = TestClient(create_app(huge_counts)).get("/api/summary").json()
    assert big["total"]["tokens"] == 6 * INT64_MAX


def test_cost_of_sums_beyond_int64(invoke, huge_counts: Path):
    expected = 6 * INT64_MAX  # Python ints: 3 rows of (2^63 - 1) input + (2^63 - 1) output
    client = TestClient(create_app(huge_counts), raise_server_exceptions=False)
    for path in ("/api/cost", "/api/whatif", "/api/report", "/report"):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
    assert client.get("/api/cost").json()["total"]["tokens"] == expected
    workload = client.get("/api/whatif").json()["workload"]
    assert workload["input_tokens"] == workload["output_tokens"] == 3 * INT64_MAX
    assert workload["tokens"] == expected
    cost = report_json(invoke, huge_counts, "cost")
    assert cost["total"]["tokens"] == expected and cost["total"]["rows"] == 3


def test_a_far_day_does_not_widen_the_grid(invoke, far_future: Path, year_one: Path):
    """Day grain over 2026 and 9999 (or year 1 and 2026): millions of days apart, answered
    at once; the silence between them is cut after `cube.MAX_GAP` days."""
    start = time.monotonic()
    far = report_json(invoke, far_future, "summary", "--period", "day")
    assert far["period"]["start"] == "9999-12-31" and far["total"]["tokens"] == 6
    assert far["total"]["previous"] == 0 and far["total"]["growth"] is None
    near = report_json(invoke, far_future, "summary", "--period", "day", "--at", "2026-03-02")
    assert near["total"]["tokens"] == 110 and near["groups"][0]["leader_streak"] == 1
    past = report_json(invoke, year_one, "top", "--period", "day", "--at", "0001-01-01")
    assert past["rows"][0]["tokens"] == 6 and past["rows"][0]["growth"] is None
    trend = report_json(invoke, year_one, "trend", "--period", "day", "--last", "3")
    assert [r["start"] for r in trend["rows"]] == ["2026-03-02"]
    assert time.monotonic() - start < 15  # was over 20 s for one summary


GAP_WEEKS = [0, 1, 2, 20, 21]  # weeks after NORMAL_DAY with rows; 17 silent weeks between


@pytest.fixture
def gapped(tmp_path: Path) -> Path:
    """App ``a`` ahead of app ``b`` in every week with rows."""
    rows = []
    for week in GAP_WEEKS:
        ts = NORMAL_DAY + timedelta(weeks=week)
        rows += [
            {**usage_row(f"a{week}", ts, 30, 0), "app": "a"},
            {**usage_row(f"b{week}", ts, 10, 0), "app": "b"},
        ]
    return write_ledger(tmp_path / "gapped.duckdb", rows)


@pytest.mark.parametrize("cap", [2, 10_000])
def test_cutting_silent_periods_changes_no_metric(invoke, gapped: Path, monkeypatch, cap: int):
    """With the cap below the gap (2) and above it (dense): the same streaks, growth and
    crossovers, worked out by hand: a leads weeks 0-2 (streak 3, longer than the cap of
    2), no one leads the silent weeks, a leads again from week 20."""
    monkeypatch.setattr(cube, "MAX_GAP", cap)
    day = (NORMAL_DAY + timedelta(weeks=21)).date().isoformat()
    last = report_json(invoke, gapped, "summary", "--by", "app", "--at", day)
    a = next(g for g in last["groups"] if g["key"] == "a")
    assert (a["tokens"], a["previous"], a["growth"], a["leader_streak"]) == (30, 30, 0.0, 2)
    third = (NORMAL_DAY + timedelta(weeks=2)).date().isoformat()
    early = report_json(invoke, gapped, "summary", "--by", "app", "--at", third)
    assert early["groups"][0]["key"] == "a" and early["groups"][0]["leader_streak"] == 3
    back = (NORMAL_DAY + timedelta(weeks=20)).date().isoformat()
    resumed = report_json(invoke, gapped, "summary", "--by", "app", "--at", back)
    assert resumed["groups"][0]["growth"] is None and resumed["groups"][0]["previous"] == 0
    assert resumed["groups"][0]["rank_previous"] is None
    lead = report_json(invoke, gapped, "lead", "a", "b", "--by", "app", "--at", day)
    assert lead["streak"] == 2
    week_20 = (NORMAL_DAY + timedelta(weeks=20)).date() - timedelta(days=NORMAL_DAY.weekday())
    assert lead["latest_crossover"] == week_20.isoformat()
    silent = [p for p in lead["periods"] if not p["a_tokens"] and not p["b_tokens"]]
    assert len(silent) == min(cap, 17)
