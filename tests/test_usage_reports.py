"""Own-usage reports (daily, weekly, monthly, session, blocks) on a Claude Code log whose
tokens, local days, blocks and costs are worked out by hand below."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.usage.query import UsageQuery
from tokenstat.usage.reference import blocks_report

# (message id, session, cwd, UTC time, model, uncached input, cache write, cache read, output)
APP, LIB = "/home/me/app", "/home/me/lib"
MESSAGES = [
    ("msg_01", "sess-1", APP, "2026-03-02T23:30:00Z", "claude-sonnet-4-5", 100, 1000, 2000, 50),
    ("msg_02", "sess-1", APP, "2026-03-03T01:10:00Z", "claude-sonnet-4-5", 10, 0, 3000, 20),
    ("msg_03", "sess-1", APP, "2026-03-03T09:00:00Z", "claude-haiku-4-5", 200, 0, 0, 100),
    ("msg_04", "sess-2", LIB, "2026-03-03T15:00:00Z", "claude-opus-4-1", 5, 0, 0, 10),
]
# Cost of each message by hand, at Anthropic's list prices in USD per million tokens
# (input, output, cache write 5m, cache read): Sonnet 4.5 3, 15, 3.75, 0.30; Haiku 4.5 1, 5,
# 1.25, 0.10; Opus 4.1 15, 75, 18.75, 1.50.
#   msg_01: (100*3 + 1000*3.75 + 2000*0.30 + 50*15) / 1e6 = 0.0054
#   msg_02: (10*3 + 3000*0.30 + 20*15) / 1e6 = 0.00123
#   msg_03: (200*1 + 100*5) / 1e6 = 0.0007
#   msg_04: (5*15 + 10*75) / 1e6 = 0.000825
COST = [0.0054, 0.00123, 0.0007, 0.000825]


def _line(m: tuple) -> str:
    msg_id, session, cwd, ts, model, uncached, cw, cr, out = m
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": session,
            "cwd": cwd,
            "timestamp": ts,
            "requestId": "req_" + msg_id,
            "uuid": "u-" + msg_id,
            "message": {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": "ok"}],
                "usage": {
                    "input_tokens": uncached,
                    "cache_creation_input_tokens": cw,
                    "cache_read_input_tokens": cr,
                    "output_tokens": out,
                },
            },
        }
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory whose Claude Code log holds MESSAGES (found by the refresh)."""
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-home-me-app"
    project.mkdir(parents=True)
    (project / "sess-1.jsonl").write_text("\n".join(_line(m) for m in MESSAGES) + "\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


def _json(invoke, *args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_daily_refreshes_the_logs_and_counts_each_kind(home, invoke):
    report = _json(invoke, "daily")
    assert report["period"] == "day"
    assert [r["start"] for r in report["rows"]] == ["2026-03-02", "2026-03-03"]
    day1, day2 = report["rows"]
    # input includes cache: 100 + 1000 + 2000
    assert day1["input_tokens"] == 3100
    assert day1["cache_write_tokens"] == 1000
    assert day1["cache_read_tokens"] == 2000
    assert day1["output_tokens"] == 50
    assert day1["total_tokens"] == 3150
    assert day1["cost"] == pytest.approx(0.0054)
    # msg_02 (10 + 3000 in), msg_03 (200 in), msg_04 (5 in)
    assert day2["input_tokens"] == 3010 + 200 + 5
    assert day2["output_tokens"] == 20 + 100 + 10
    assert day2["cache_read_tokens"] == 3000
    assert day2["cost"] == pytest.approx(0.00123 + 0.0007 + 0.000825)
    assert day2["models"] == [
        "anthropic/claude-sonnet-4.5",
        "anthropic/claude-haiku-4.5",
        "anthropic/claude-opus-4.1",
    ]
    assert report["totals"]["total_tokens"] == 3150 + 3215 + 130
    assert report["totals"]["cost"] == pytest.approx(sum(COST))
    assert report["cost_mode"] == "auto"
    assert [s["source"] for s in report["sources"]] == ["claude-code"]


def test_local_days_follow_tz(home, invoke):
    # New York is UTC-5 on 2026-03-02/03: msg_01 18:30 and msg_02 20:10 on the 2nd,
    # msg_03 04:00 and msg_04 10:00 on the 3rd
    report = _json(invoke, "daily", "--tz", "America/New_York")
    day1, day2 = report["rows"]
    assert day1["start"] == "2026-03-02"
    assert day1["input_tokens"] == 3100 + 3010
    assert day1["cost"] == pytest.approx(0.0054 + 0.00123)
    assert day2["input_tokens"] == 205
    assert day2["cost"] == pytest.approx(0.0007 + 0.000825)
    # Shanghai is UTC+8: every message falls on 2026-03-03 local time
    shanghai = _json(invoke, "daily", "--tz", "Asia/Shanghai", "--no-refresh")
    assert [r["start"] for r in shanghai["rows"]] == ["2026-03-03"]


def test_since_until_are_local_days(home, invoke):
    report = _json(invoke, "daily", "--since", "2026-03-03", "--until", "2026-03-03")
    assert [r["start"] for r in report["rows"]] == ["2026-03-03"]
    assert report["totals"]["input_tokens"] == 3215


def test_breakdown_by_model_and_by_project(home, invoke):
    report = _json(invoke, "daily", "--breakdown")
    parts = {p["model"]: p for p in report["rows"][1]["breakdown"]}
    assert parts["anthropic/claude-haiku-4.5"]["input_tokens"] == 200
    assert parts["anthropic/claude-haiku-4.5"]["cost"] == pytest.approx(0.0007)
    assert parts["anthropic/claude-sonnet-4.5"]["cache_read_tokens"] == 3000
    by_project = _json(invoke, "weekly", "--by", "project", "--no-refresh")
    # 2026-03-02 is a Monday: one ISO week, two projects
    rows = {r["project"]: r for r in by_project["rows"]}
    assert set(rows) == {"/home/me/app", "/home/me/lib"}
    assert {r["start"] for r in by_project["rows"]} == {"2026-03-02"}
    assert rows["/home/me/lib"]["output_tokens"] == 10
    assert rows["/home/me/app"]["cost"] == pytest.approx(0.0054 + 0.00123 + 0.0007)


def test_monthly_and_order(home, invoke):
    report = _json(invoke, "monthly")
    assert [r["start"] for r in report["rows"]] == ["2026-03-01"]
    daily = _json(invoke, "daily", "--order", "desc", "--no-refresh")
    assert [r["start"] for r in daily["rows"]] == ["2026-03-03", "2026-03-02"]


def test_session_rows(home, invoke):
    report = _json(invoke, "session")
    rows = {r["session"]: r for r in report["rows"]}
    assert list(rows) == ["sess-1", "sess-2"]  # latest activity last
    one = rows["sess-1"]
    assert one["project"] == "/home/me/app"
    assert one["agent"] == "claude-code"
    assert one["first"] == "2026-03-02T23:30:00Z"
    assert one["last"] == "2026-03-03T09:00:00Z"
    assert one["input_tokens"] == 3100 + 3010 + 200
    assert one["cost"] == pytest.approx(0.0054 + 0.00123 + 0.0007)
    assert rows["sess-2"]["models"] == ["anthropic/claude-opus-4.1"]


def test_blocks_by_hand(home, invoke):
    invoke("daily")  # refresh the ledger once
    with api.open_ledger(read_only=True) as ledger:
        inputs = api.cost_inputs(ledger)
        now = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
        report = blocks_report(inputs, UsageQuery(), now=now, token_limit=300)
    starts = [(b["start"], b["end"]) for b in report["rows"]]
    # msg_01 opens 23:00-04:00 and msg_02 (01:10) falls in it; msg_03 at 09:00 and msg_04
    # at 15:00 each open a block
    assert starts == [
        ("2026-03-02T23:00:00Z", "2026-03-03T04:00:00Z"),
        ("2026-03-03T09:00:00Z", "2026-03-03T14:00:00Z"),
        ("2026-03-03T15:00:00Z", "2026-03-03T20:00:00Z"),
    ]
    first, _, active = report["rows"]
    assert first["input_tokens"] == 3100 + 3010
    assert first["cost"] == pytest.approx(0.0054 + 0.00123)
    assert [b["active"] for b in report["rows"]] == [False, False, True]
    # 15 tokens in the 60 minutes since msg_04; 240 minutes left
    assert active["burn_rate"]["tokens_per_minute"] == pytest.approx(15 / 60)
    assert active["burn_rate"]["cost_per_hour"] == pytest.approx(0.000825)
    assert active["projection"]["total_tokens"] == 15 + 60
    assert active["projection"]["cost"] == pytest.approx(0.000825 * 5)
    assert active["limit_share"] == pytest.approx(15 / 300)
    assert active["projection"]["limit_share"] == pytest.approx(75 / 300)


def test_blocks_command_active_only_when_none_is(home, invoke):
    report = _json(invoke, "blocks", "--active")
    assert report["rows"] == []  # the fixture's messages are months old
    every = _json(invoke, "blocks", "--no-refresh")
    assert len(every["rows"]) == 3
    assert every["totals"]["total_tokens"] == 3150 + 3215 + 130


def test_refresh_reads_only_what_is_new(home, invoke):
    assert _json(invoke, "daily")["totals"]["output_tokens"] == 180
    log = home / ".claude" / "projects" / "-home-me-app" / "sess-1.jsonl"
    extra = ("msg_05", "sess-1", APP, "2026-03-04T10:00:00Z", "claude-haiku-4-5", 1, 0, 0, 7)
    with log.open("a") as f:
        f.write(_line(extra) + "\n")
    assert _json(invoke, "daily", "--no-refresh")["totals"]["output_tokens"] == 180
    report = _json(invoke, "daily")
    assert report["totals"]["output_tokens"] == 187
    assert report["rows"][-1]["start"] == "2026-03-04"
    # a second refresh with nothing new changes nothing
    assert _json(invoke, "daily")["totals"]["output_tokens"] == 187


def test_csv_one_row_per_model_with_breakdown(home, invoke):
    result = invoke("daily", "--breakdown", "--csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["start"], r["model"]) for r in rows] == [
        ("2026-03-02", "anthropic/claude-sonnet-4.5"),
        ("2026-03-03", "anthropic/claude-sonnet-4.5"),
        ("2026-03-03", "anthropic/claude-haiku-4.5"),
        ("2026-03-03", "anthropic/claude-opus-4.1"),
    ]
    assert rows[2]["input_tokens"] == "200"


def test_bad_options_are_one_line_errors(home, invoke):
    for args in (("--tz", "Mars/Olympus"), ("--by", "planet"), ("--order", "up")):
        result = invoke("daily", "--no-refresh", *args)
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        assert result.stderr.startswith("error: ")


def test_table_shows_each_day(home, invoke):
    result = invoke("daily")
    assert result.exit_code == 0
    assert "2026-03-02" in result.stdout and "2026-03-03" in result.stdout
    assert "cost mode: auto" in result.stdout


def test_a_repeated_report_needs_no_engine(home, invoke, tmp_path):
    """With nothing new in the logs and the rollup current, `daily` answers from the rollup
    in plain SQL: Ibis is never imported, and the answer is the first run's."""
    import subprocess
    import sys

    first = _json(invoke, "daily")
    code = (
        "import json, sys\n"
        "from tokenstat.cli import app\n"
        "try:\n"
        "    app(['daily', '--json'], standalone_mode=False)\n"
        "finally:\n"
        "    loaded = [m for m in ('ibis', 'pandas', 'genai_prices') if m in sys.modules]\n"
        "    sys.stderr.write('LOADED=' + json.dumps(loaded) + '\\n')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(run.stdout) == first
    loaded = run.stderr.rsplit("LOADED=", 1)[1].strip()
    assert json.loads(loaded) == []


def test_relative_days_count_from_today_in_the_zone(home, invoke):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    report = _json(invoke, "daily", "--since", "7d", "--tz", "Asia/Tokyo")
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    assert report["query"]["since"] == (today - timedelta(days=6)).isoformat()
    assert report["rows"] == []  # the log is from March 2026
    everything = _json(invoke, "daily", "--since", "2026-03-01", "--until", "today", "--no-refresh")
    assert everything["query"]["until"] == datetime.now(UTC).date().isoformat()
    assert everything["totals"]["output_tokens"] == 180
