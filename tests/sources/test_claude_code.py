"""The Claude Code importer: de-duplication of streamed lines, sidechains, token
normalization, discovery, and ccusage's results on public fixtures as golden values."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenstat import api
from tokenstat.sources import claude_code
from tokenstat.sources.base import ReadContext
from tokenstat.sources.claude_code import ClaudeCodeSource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "claude-code"
PUBLIC = FIXTURES / "public"
SESSION = "2b7e4c1a-9d3f-4e5a-8b6c-1d2e3f4a5b6c"


def assistant(
    message_id: str,
    *,
    output: int = 100,
    uncached: int = 3,
    cache_read: int = 5000,
    cache_write: int = 0,
    split: tuple[int, int] | None = None,
    ts: str = "2026-02-03T10:00:00.000Z",
    request_id: str = "req_1",
    sidechain: bool = False,
    model: str = "claude-sonnet-4-5-20250929",
    session: str = SESSION,
    cwd: str = "/home/dev/shop",
) -> str:
    usage: dict = {
        "input_tokens": uncached,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output,
    }
    if split is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": split[0],
            "ephemeral_1h_input_tokens": split[1],
        }
    line = {
        "parentUuid": None,
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": "2.0.31",
        "gitBranch": "main",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
        "requestId": request_id,
        "type": "assistant",
        "uuid": f"{message_id}-{output}-{ts}",
        "timestamp": ts,
    }
    return json.dumps(line, separators=(",", ":"))


def user(text: str = "go on", ts: str = "2026-02-03T09:59:00.000Z") -> str:
    line = {
        "parentUuid": None,
        "isSidechain": False,
        "type": "user",
        "sessionId": SESSION,
        "cwd": "/home/dev/shop",
        "message": {"role": "user", "content": text},
        "timestamp": ts,
    }
    return json.dumps(line, separators=(",", ":"))


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_rows(path: Path) -> tuple[list[dict], ReadContext]:
    bad: list = []
    ctx = ReadContext(on_bad=bad.append)
    rows = [row for batch in ClaudeCodeSource().read(path, ctx) for row in batch.to_pylist()]
    ctx.options["bad"] = bad
    return rows, ctx


def import_paths(db: Path, paths: list[Path]):
    with api.open_ledger(db) as ledger:
        result = api.import_path(ledger, "claude-code", paths)
        rows = ledger.db.execute(
            """SELECT event_id, ts, input_tokens, cache_read_tokens, cache_write_tokens,
                      output_tokens, session, project FROM usage ORDER BY ts"""
        ).fetchall()
    return result, rows


# ---- streamed lines and copies ----------------------------------------------------------


def test_streamed_lines_of_one_message_count_once_with_the_largest_total(tmp_path: Path):
    path = write(
        tmp_path / "s.jsonl",
        [
            user(),
            assistant("msg_a", output=1, ts="2026-02-03T10:00:01.000Z"),
            assistant("msg_a", output=9, ts="2026-02-03T10:00:02.000Z"),
            assistant("msg_a", output=420, ts="2026-02-03T10:00:03.000Z"),
            assistant("msg_b", output=50, ts="2026-02-03T10:01:00.000Z"),
            # a late copy with a smaller count does not win
            assistant("msg_a", output=7, ts="2026-02-03T10:01:30.000Z"),
        ],
    )
    rows, _ = read_rows(path)
    by_id = {r["event_id"]: r for r in rows}
    assert sorted(by_id) == ["claude-code:msg_a", "claude-code:msg_b"]
    assert by_id["claude-code:msg_a"]["output_tokens"] == 420
    # the kept copy carries its own time
    assert by_id["claude-code:msg_a"]["ts"].isoformat() == "2026-02-03T10:00:03+00:00"


def test_copies_further_apart_than_the_window_are_merged_by_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(claude_code, "DEDUPE_WINDOW", 2)
    lines = [assistant("msg_a", output=5, ts="2026-02-03T10:00:00.000Z")]
    lines += [
        assistant(f"msg_{n}", output=10, ts=f"2026-02-03T10:0{n}:00.000Z") for n in range(1, 6)
    ]
    lines.append(assistant("msg_a", output=500, ts="2026-02-03T10:07:00.000Z"))
    path = write(tmp_path / "s.jsonl", lines)
    rows, _ = read_rows(path)
    assert [r["output_tokens"] for r in rows if r["event_id"] == "claude-code:msg_a"] == [5, 500]
    result, stored = import_paths(tmp_path / "l.duckdb", [path])
    assert result.rows_new == 6 and result.rows_duplicate == 1
    assert {r[0]: r[5] for r in stored}["claude-code:msg_a"] == 500


def test_a_sidechain_replay_loses_to_the_parent_copy_within_a_file(tmp_path: Path):
    # a /btw side question replays a parent message with a new request id
    path = write(
        tmp_path / "s.jsonl",
        [
            assistant("msg_p", ts="2026-02-03T10:05:00.000Z", request_id="req_r", sidechain=True),
            assistant("msg_p", ts="2026-02-03T10:00:00.000Z", request_id="req_p"),
            assistant("msg_own", ts="2026-02-03T10:06:00.000Z", sidechain=True),
        ],
    )
    rows, _ = read_rows(path)
    assert len(rows) == 2
    parent = next(r for r in rows if r["event_id"] == "claude-code:msg_p")
    assert parent["ts"].isoformat() == "2026-02-03T10:00:00+00:00"


def test_subagent_files_count_and_their_replays_do_not(tmp_path: Path):
    project = tmp_path / "projects" / "-home-dev-shop"
    write(
        project / f"{SESSION}.jsonl",
        [user(), assistant("msg_p", output=300, ts="2026-02-03T10:00:00.000Z")],
    )
    write(
        project / SESSION / "subagents" / "agent-3f9a.jsonl",
        [
            assistant("msg_p", output=300, ts="2026-02-03T10:09:00.000Z", sidechain=True,
                      request_id="req_btw"),
            assistant("msg_sub", output=40, ts="2026-02-03T10:10:00.000Z", sidechain=True,
                      model="claude-haiku-4-5-20251001"),
        ],
    )  # fmt: skip
    result, rows = import_paths(tmp_path / "l.duckdb", [tmp_path / "projects"])
    assert result.files_read == 2
    assert [(r[0], r[5], r[6]) for r in rows] == [
        ("claude-code:msg_p", 300, SESSION),
        ("claude-code:msg_sub", 40, SESSION),
    ]
    # the parent's copy (its time) is the one kept
    assert rows[0][1].isoformat().startswith("2026-02-03T10:00:00")


def test_synthetic_and_agent_progress_lines(tmp_path: Path):
    synthetic = json.loads(assistant("5d2c1f0e", output=0, cache_read=0, uncached=0))
    synthetic["message"]["model"] = "<synthetic>"
    nested = json.loads(assistant("msg_nested", output=77))
    progress = {
        "type": "progress",
        "sessionId": SESSION,
        "cwd": "/home/dev/shop",
        "timestamp": "2026-02-03T10:00:05.000Z",
        "data": {"message": nested, "type": "agent_progress"},
    }
    path = write(tmp_path / "s.jsonl", [json.dumps(synthetic), json.dumps(progress)])
    rows, ctx = read_rows(path)
    assert [(r["event_id"], r["output_tokens"]) for r in rows] == [("claude-code:msg_nested", 77)]
    assert ctx.options["bad"] == []


def test_usage_mentioned_outside_a_message_is_not_a_request(tmp_path: Path):
    tool_result = {
        "type": "user",
        "sessionId": SESSION,
        "message": {"role": "user", "content": [{"type": "tool_result", "content": "done"}]},
        "toolUseResult": {"totalTokens": 900, "usage": {"input_tokens": 3, "output_tokens": 9}},
        "timestamp": "2026-02-03T10:00:00.000Z",
    }
    path = write(tmp_path / "s.jsonl", [json.dumps(tool_result), assistant("msg_a")])
    rows, ctx = read_rows(path)
    assert len(rows) == 1 and ctx.options["bad"] == []


# ---- token semantics ---------------------------------------------------------------------


def test_input_is_normalized_to_include_cache_reads_and_writes(tmp_path: Path):
    path = write(
        tmp_path / "s.jsonl",
        [
            assistant("msg_flat", uncached=7, cache_read=12000, cache_write=2500, output=300),
            # the 5m/1h split is summed; it is the cache write total when present
            assistant("msg_split", uncached=2, cache_read=800, cache_write=1500, split=(500, 1000)),
        ],
    )
    rows, _ = read_rows(path)
    flat, split = sorted(rows, key=lambda r: r["event_id"])
    assert (flat["input_tokens"], flat["cache_read_tokens"], flat["cache_write_tokens"]) == (
        7 + 12000 + 2500,
        12000,
        2500,
    )
    assert flat["output_tokens"] == 300 and flat["reasoning_tokens"] == 0
    assert (split["input_tokens"], split["cache_write_tokens"]) == (2 + 800 + 1500, 1500)
    assert {r["provider"] for r in rows} == {"anthropic"} and {r["app"] for r in rows} == {
        "claude-code"
    }
    assert {r["project"] for r in rows} == {"/home/dev/shop"}
    assert {r["session"] for r in rows} == {SESSION}


counts = st.integers(min_value=0, max_value=10**9)


@settings(max_examples=200, deadline=None)
@given(
    uncached=counts,
    output=counts,
    cache_read=counts,
    cache_write=counts,
    split=st.none() | st.tuples(counts, counts),
    cost=st.none() | st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_fast_and_careful_readings_agree(uncached, output, cache_read, cache_write, split, cost):
    line = json.loads(
        assistant(
            "msg_x",
            uncached=uncached,
            output=output,
            cache_read=cache_read,
            cache_write=cache_write,
            split=split,
        )
    )
    if cost is not None:
        line["costUSD"] = cost
    raw = json.dumps(line, separators=(",", ":")).encode()
    reader = claude_code._FileReader(Path("projects/p/s.jsonl"), ReadContext())
    fast = reader._fast(raw)
    careful = reader._slow(1, raw)
    assert fast is not None and careful is not None
    fast_row, careful_row = list(fast[3]), list(careful[3])
    assert fast_row[1] == "2026-02-03T10:00:00.000Z"
    fast_row[1] = careful_row[1] = None  # text (bulk-converted) vs datetime
    assert (fast[:3], fast_row) == (careful[:3], careful_row)
    written = cache_write if split is None else split[0] + split[1]
    assert careful[3][5] == uncached + cache_read + written


# ---- ccusage's results on public fixtures (golden values) -----------------------------------


def test_ccusage_golden_values(tmp_path: Path):
    """ccusage 20.0.24 `claude daily --json` on its own fixture (see public/README.md):
    its inputTokens exclude cache, ours include cache reads and writes."""
    ccusage_days = {
        date(2026, 1, 9): {"input": 300, "output": 125, "cache_write": 75, "cache_read": 30,
                           "cost": 0.46},
        date(2026, 1, 10): {"input": 300, "output": 125, "cache_write": 0, "cache_read": 40,
                            "cost": 0.56},
    }  # fmt: skip
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, "claude-code", [PUBLIC / "ccusage" / "claude"])
        days = ledger.db.execute(
            """SELECT day, sum(input_tokens), sum(output_tokens), sum(cache_write_tokens),
                      sum(cache_read_tokens), sum(cost_reported)
               FROM usage GROUP BY day ORDER BY day"""
        ).fetchall()
    assert result.rows_new == 3 and result.rows_bad == 0
    for day, total_input, output, cache_write, cache_read, cost in days:
        want = ccusage_days[day]
        assert total_input - cache_write - cache_read == want["input"]
        assert (output, cache_write, cache_read) == (
            want["output"],
            want["cache_write"],
            want["cache_read"],
        )
        assert cost == pytest.approx(want["cost"])
    assert sum(d[1] + d[2] for d in days) == 995  # ccusage totalTokens


def test_transcript_written_with_spaced_separators(tmp_path: Path):
    """claude-code-log's representative transcript: 5 requests, 218 input and 445 output
    tokens (what ccusage reports once the lines are re-serialised compactly)."""
    path = PUBLIC / "claude-code-log" / "representative_messages.jsonl"
    rows, ctx = read_rows(path)
    assert ctx.options["bad"] == []
    assert len(rows) == 5
    assert sum(r["input_tokens"] for r in rows) == 218
    assert sum(r["output_tokens"] for r in rows) == 445
    assert {r["project"] for r in rows} == {"/tmp"}


# ---- discovery ------------------------------------------------------------------------------


def test_discovery_from_claude_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    first, second, missing = tmp_path / "a", tmp_path / "b", tmp_path / "nowhere"
    (first / "projects").mkdir(parents=True)
    (second / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{first}, {missing},{second}")
    assert ClaudeCodeSource().discover() == [first / "projects", second / "projects"]


def test_discovery_defaults_to_the_home_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ClaudeCodeSource().discover() == []
    (tmp_path / ".claude" / "projects").mkdir(parents=True)
    (tmp_path / ".config" / "claude" / "projects").mkdir(parents=True)
    assert ClaudeCodeSource().discover() == [
        tmp_path / ".config" / "claude" / "projects",
        tmp_path / ".claude" / "projects",
    ]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert ClaudeCodeSource().discover() == [tmp_path / ".claude" / "projects"]


def test_import_without_paths_reads_the_discovered_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke
):
    home = tmp_path / "home"
    write(
        home / ".claude" / "projects" / "-home-dev-shop" / f"{SESSION}.jsonl",
        [user(), assistant("msg_a", output=42), "not json at all"],
    )
    (home / ".claude" / "projects" / "-home-dev-shop" / "notes.txt").write_text("ignored")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    result = invoke("import", "claude-code", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["rows_new"], report["rows_bad"], report["files_read"]) == (1, 1, 1)
    assert report["bad_examples"][0].endswith(f"{SESSION}.jsonl:3: not a JSON object")


def test_detects_claude_code_lines():
    source = ClaudeCodeSource()
    head = (FIXTURES / "session.jsonl").read_bytes()[:4096]
    assert source.detect(FIXTURES / "session.jsonl", head)
    codex = next((FIXTURES.parent / "codex").glob("rollout-*.jsonl"))
    assert not source.detect(codex, codex.read_bytes()[:4096])
