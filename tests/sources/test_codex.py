"""The Codex importer: per-turn deltas (never summed cumulative totals), re-emitted and
replayed events, models, discovery, and ccusage's results on its public fixture."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.sources.base import ReadContext
from tokenstat.sources.codex import CodexSource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "codex"
PUBLIC = FIXTURES / "public"
SESSION = "0199aa00-1111-7222-8333-944445555666"


def usage(i: int, cached: int, out: int, reasoning: int) -> dict:
    return {
        "input_tokens": i,
        "cached_input_tokens": cached,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": i + out,
    }


def meta(session: str = SESSION, cwd: str = "/home/dev/api") -> str:
    payload = {"id": session, "cwd": cwd, "git": {"branch": "main"}}
    return json.dumps(
        {"timestamp": "2026-04-01T10:00:00.000Z", "type": "session_meta", "payload": payload}
    )


def context(model: str, ts: str = "2026-04-01T10:00:01.000Z") -> str:
    return json.dumps(
        {"timestamp": ts, "type": "turn_context", "payload": {"model": model, "cwd": "/x"}}
    )


def count(ts: str, total: tuple | None = None, last: tuple | None = None, **info) -> str:
    body: dict = dict(info)
    if total is not None:
        body["total_token_usage"] = usage(*total)
    if last is not None:
        body["last_token_usage"] = usage(*last)
    return json.dumps(
        {
            "timestamp": ts,
            "type": "event_msg",
            "payload": {"type": "token_count", "info": body, "rate_limits": {}},
        },
        separators=(",", ":"),
    )


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_rows(path: Path) -> tuple[list[dict], list]:
    bad: list = []
    ctx = ReadContext(on_bad=bad.append)
    rows = [row for batch in CodexSource().read(path, ctx) for row in batch.to_pylist()]
    return rows, bad


def turns(rows: list[dict]) -> list[tuple[int, int, int, int]]:
    return [
        (r["input_tokens"], r["cache_read_tokens"], r["output_tokens"], r["reasoning_tokens"])
        for r in rows
    ]


def test_ccusage_golden_values(tmp_path: Path):
    """ccusage 20.0.24 `codex daily --json` on its fixture (see public/README.md): its
    inputTokens exclude the cached tokens, ours include them."""
    ccusage_days = {
        date(2026, 5, 13): {"input": 750, "cache_read": 250, "output": 125, "reasoning": 75,
                            "model": "openai/gpt-5.2-codex"},
        date(2026, 5, 14): {"input": 2000, "cache_read": 500, "output": 300, "reasoning": 200,
                            "model": "openai/gpt-5.3-codex"},
    }  # fmt: skip
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, "codex", [PUBLIC / "ccusage" / "codex"])
        days = ledger.db.execute(
            """SELECT day, any_value(model), sum(input_tokens), sum(cache_read_tokens),
                      sum(output_tokens), sum(reasoning_tokens)
               FROM usage GROUP BY day ORDER BY day"""
        ).fetchall()
    assert result.rows_new == 2 and result.rows_bad == 0
    for day, model, total_input, cached, output, reasoning in days:
        want = ccusage_days[day]
        assert total_input - cached == want["input"]
        assert (model, cached, output, reasoning) == (
            want["model"],
            want["cache_read"],
            want["output"],
            want["reasoning"],
        )


def test_turns_are_deltas_and_cumulative_totals_are_never_summed(tmp_path: Path):
    path = write(
        tmp_path / "rollout.jsonl",
        [
            meta(),
            context("gpt-5-codex"),
            count("2026-04-01T10:01:00.000Z", (1000, 0, 100, 40), (1000, 0, 100, 40)),
            # re-emitted unchanged (a status refresh): nothing new
            count("2026-04-01T10:01:02.000Z", (1000, 0, 100, 40), (1000, 0, 100, 40)),
            count("2026-04-01T10:02:00.000Z", (2600, 900, 180, 60), (1600, 900, 80, 20)),
            # totals only: the difference from the previous totals
            count("2026-04-01T10:03:00.000Z", (4000, 2000, 300, 60)),
        ],
    )
    rows, bad = read_rows(path)
    assert bad == []
    assert turns(rows) == [(1000, 0, 100, 40), (1600, 900, 80, 20), (1400, 1100, 120, 0)]
    # the turns add up to the session's final cumulative totals
    assert tuple(map(sum, zip(*turns(rows), strict=True))) == (4000, 2000, 300, 60)
    assert {r["model_raw"] for r in rows} == {"gpt-5-codex"}
    assert {(r["session"], r["project"], r["app"], r["provider"]) for r in rows} == {
        (SESSION, "/home/dev/api", "codex", "openai")
    }


def test_a_new_context_resets_the_totals(tmp_path: Path):
    path = write(
        tmp_path / "rollout.jsonl",
        [
            context("gpt-5"),
            count("2026-04-01T10:01:00.000Z", (5000, 0, 500, 0), (5000, 0, 500, 0)),
            count("2026-04-01T10:02:00.000Z", (1200, 300, 90, 0), (1200, 300, 90, 0)),
        ],
    )
    rows, _ = read_rows(path)
    assert turns(rows) == [(5000, 0, 500, 0), (1200, 300, 90, 0)]


def test_events_without_totals_use_the_last_turn(tmp_path: Path):
    path = write(
        tmp_path / "rollout.jsonl",
        [
            context("gpt-5"),
            count("2026-04-01T10:01:00.000Z", last=(700, 100, 50, 10)),
            count("2026-04-01T10:02:00.000Z", last=(900, 600, 30, 0)),
        ],
    )
    rows, _ = read_rows(path)
    assert turns(rows) == [(700, 100, 50, 10), (900, 600, 30, 0)]


def test_the_model_of_the_event_wins_over_the_turn_context(tmp_path: Path):
    path = write(
        tmp_path / "rollout.jsonl",
        [
            context("gpt-5.2-codex"),
            count("2026-04-01T10:01:00.000Z", (10, 0, 5, 0), (10, 0, 5, 0)),
            count("2026-04-01T10:02:00.000Z", (30, 0, 9, 0), (20, 0, 4, 0), model="gpt-5.3-codex"),
            count("2026-04-01T10:03:00.000Z", (60, 0, 10, 0), (30, 0, 1, 0)),
        ],
    )
    rows, _ = read_rows(path)
    assert [r["model_raw"] for r in rows] == ["gpt-5.2-codex", "gpt-5.3-codex", "gpt-5.3-codex"]


def test_a_forked_session_does_not_count_its_parents_turns_again(tmp_path: Path):
    sessions = tmp_path / "sessions" / "2026" / "04" / "01"
    write(
        sessions / "rollout-2026-04-01T10-00-00-parent.jsonl",
        [
            meta("parent"),
            context("gpt-5"),
            count("2026-04-01T10:01:00.000Z", (1000, 100, 200, 20)),
        ],
    )
    write(
        sessions / "rollout-2026-04-01T10-02-00-branch.jsonl",
        [
            meta("branch"),
            context("gpt-5"),
            count("2026-04-01T10:01:00.000Z", (1000, 100, 200, 20)),
            count("2026-04-01T10:02:00.000Z", (1600, 300, 450, 40)),
        ],
    )
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, "codex", [tmp_path / "sessions"])
        total = ledger.db.execute(
            "SELECT sum(input_tokens), sum(output_tokens) FROM usage"
        ).fetchone()
    assert (result.rows_new, result.rows_duplicate) == (2, 1)
    assert total == (1600, 450)  # the branch's final totals, not 1000 + 1600


def test_a_subagent_rollout_starts_from_its_parents_totals(tmp_path: Path):
    path = write(
        tmp_path / "rollout-sub.jsonl",
        [
            json.dumps(
                {
                    "timestamp": "2026-04-01T11:00:00.000Z",
                    "type": "session_meta",
                    "payload": {"id": "sub", "source": {"subagent": "thread_spawn"}},
                }
            ),
            context("gpt-5-codex"),
            # the parent's history, replayed within one second
            count("2026-04-01T11:00:00.100Z", (1000, 0, 100, 0), (1000, 0, 100, 0)),
            count("2026-04-01T11:00:00.200Z", (3000, 500, 300, 0), (2000, 500, 200, 0)),
            count("2026-04-01T11:00:20.000Z", (3500, 900, 340, 10), (500, 400, 40, 10)),
        ],
    )
    rows, _ = read_rows(path)
    assert turns(rows) == [(500, 400, 40, 10)]


def test_an_event_without_a_known_model_is_kept_aside(tmp_path: Path):
    path = write(
        tmp_path / "rollout.jsonl",
        [
            count("2026-04-01T10:01:00.000Z", (100, 0, 10, 0), (100, 0, 10, 0)),
            context("gpt-5"),
            count("2026-04-01T10:02:00.000Z", (250, 0, 30, 0), (150, 0, 20, 0)),
        ],
    )
    rows, bad = read_rows(path)
    assert turns(rows) == [(150, 0, 20, 0)]
    assert [(b.location, b.field) for b in bad] == [(f"{path}:1", "model")]


def test_cached_input_is_a_subset_of_input(tmp_path: Path):
    path = write(
        tmp_path / "rollout.jsonl",
        [context("gpt-5"), count("2026-04-01T10:01:00.000Z", last=(100, 250, 10, 30))],
    )
    rows, _ = read_rows(path)
    assert turns(rows) == [(100, 100, 10, 10)]


def test_discovery_from_codex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "codex-home"
    (home / "sessions").mkdir(parents=True)
    monkeypatch.setenv("CODEX_HOME", str(home))
    assert CodexSource().discover() == [home / "sessions"]
    (home / "archived_sessions").mkdir()
    assert CodexSource().discover() == [home / "sessions", home / "archived_sessions"]


def test_discovery_defaults_to_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert CodexSource().discover() == []
    (tmp_path / ".codex" / "sessions").mkdir(parents=True)
    assert CodexSource().discover() == [tmp_path / ".codex" / "sessions"]


def test_growing_rollout_continues_from_the_saved_state(tmp_path: Path):
    path = write(
        tmp_path / "sessions" / "rollout.jsonl",
        [meta(), context("gpt-5-codex"), count("2026-04-01T10:01:00.000Z", (1000, 0, 100, 0))],
    )
    db = tmp_path / "l.duckdb"
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "codex", [tmp_path / "sessions"])
    with path.open("a", encoding="utf-8") as handle:
        handle.write(count("2026-04-01T10:05:00.000Z", (2500, 800, 260, 0)) + "\n")
    with api.open_ledger(db) as ledger:
        result = api.import_path(ledger, "codex", [tmp_path / "sessions"])
        rows = ledger.db.execute(
            "SELECT model_raw, session, project, input_tokens, output_tokens FROM usage ORDER BY ts"
        ).fetchall()
    assert (result.files_resumed, result.rows_new) == (1, 1)
    # model, session, project and the previous totals came from the saved state
    assert rows[1] == ("gpt-5-codex", SESSION, "/home/dev/api", 1500, 160)


def test_detects_rollouts_and_not_claude_code_logs():
    source = CodexSource()
    for path in FIXTURES.glob("rollout-*.jsonl"):
        assert source.detect(path, path.read_bytes()[:4096])
    claude = FIXTURES.parent / "claude-code" / "session.jsonl"
    assert not source.detect(claude, claude.read_bytes()[:4096])
