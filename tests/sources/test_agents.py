"""The coding-agent importers: Gemini CLI, Qwen Code, Kimi CLI, OpenCode, Amp, Copilot CLI,
Droid and Goose.

Per agent: every row of its fixture files with the token counts worked out by hand from
the files (canonical semantics: input includes cache where the agent reports it apart,
output includes reasoning), discovery through the environment variable and the default
directory under a temporary home, and recognition by ``tokenstat import auto``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.sources.base import ReadContext
from tokenstat.sources.registry import get_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"

# (input, cache read, cache write, output, reasoning) of every row, from the fixture files:
# the sums a person makes reading them, not the importer's output.
ROWS: dict[str, dict[str, list[tuple[int, int, int, int, int]]]] = {
    "gemini-cli": {
        # input + tool, cached, -, output + thoughts, thoughts
        "session-2026-03-02T09-59-a1b2c3d4.json": [
            (12000 + 0, 8000, 0, 300 + 200, 200),
            (15000 + 100, 11000, 0, 450 + 0, 0),
        ],
        # the same message id twice, the first copy without tokens: one row
        "session-2026-03-03T07-59-e5f60718.jsonl": [(5000, 0, 0, 100 + 50, 50)],
    },
    "qwen-code": {
        "3b9f1c2e-5d6a-4e7b-8c9d-0e1f2a3b4c5d.jsonl": [
            (9000, 6000, 0, 400 + 150, 150),
            (11000, 9000, 0, 650, 0),
        ],
        "7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f.jsonl": [(4000, 0, 0, 800 + 300, 300)],
    },
    "kimi-cli": {
        # input_other + cache read + cache creation; the all-zero StatusUpdate gives none
        "wire.jsonl": [(1200 + 6000, 6000, 0, 350, 0), (800 + 7000 + 400, 7000, 400, 520, 0)],
        "wire-2026-01-08.jsonl": [(2500 + 3000, 0, 3000, 900, 0)],
    },
    "opencode": {
        "msg_9a1b2c3d4000aBcDeFgHiJkLmN.json": [],  # a user message
        "msg_9a1b2c3d4001aBcDeFgHiJkLmN.json": [(12 + 18000 + 2500, 18000, 2500, 640, 0)],
        "msg_9a1b2c3d4002aBcDeFgHiJkLmN.json": [(3000 + 9000, 9000, 0, 500 + 700, 700)],
        "msg_9a1b2c3d4003aBcDeFgHiJkLmN.json": [],  # all counts 0: still streaming
    },
    "amp": {
        "T-1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b.json": [
            (8 + 5200 + 13000, 13000, 5200, 420, 0),  # totalInputTokens as written
            (15 + 1100 + 18200, 18200, 1100, 880, 0),  # no totalInputTokens: the sum
        ],
        "T-9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a.json": [(10 + 986 + 11372, 11372, 986, 178, 0)],
    },
    "copilot-cli": {
        # OpenTelemetry semantics: input already includes cache; the agent span is skipped
        "copilot-otel-20260115-100000.jsonl": [
            (18000, 14000, 2000, 600, 0),
            (20000, 16000, 0, 700, 0),
        ],
        "copilot-otel-20260116-090000.jsonl": [(9000, 4000, 0, 1200, 800)],
    },
    "droid": {
        "5f3e2d1c-0b9a-4877-8665-544332211000.settings.json": [
            (2400 + 410000 + 30000, 410000, 30000, 5100 + 1900, 1900)
        ],
        "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d.settings.json": [
            (52000 + 88000, 88000, 0, 3300 + 1200, 1200)
        ],
    },
    "goose": {
        # no cache split; output + what the total holds beyond input and output
        "sessions.db": [(64000, 0, 0, 2100, 0), (21000, 0, 0, 900 + (22400 - 21000 - 900), 0)],
    },
}

# environment variable, what it is set to (below tmp), what discover() returns (below tmp)
ENV_DISCOVERY = {
    "gemini-cli": ("GEMINI_DATA_DIR", "g", "g"),
    "qwen-code": ("QWEN_DATA_DIR", "q", "q/projects"),
    "kimi-cli": ("KIMI_DATA_DIR", "k", "k/sessions"),
    "opencode": ("OPENCODE_DATA_DIR", "o", "o/storage/message"),
    "amp": ("AMP_DATA_DIR", "a", "a/threads"),
    "copilot-cli": ("COPILOT_OTEL_FILE_EXPORTER_PATH", "c/export.jsonl", "c/export.jsonl"),
    "droid": ("DROID_SESSIONS_DIR", "d", "d"),
    "goose": ("GOOSE_PATH_ROOT", "s", "s/data/sessions"),
}
# what discover() returns below the home directory when no variable is set
HOME_DISCOVERY = {
    "gemini-cli": ".gemini/tmp",
    "qwen-code": ".qwen/projects",
    "kimi-cli": ".kimi/sessions",
    "opencode": ".local/share/opencode/storage/message",
    "amp": ".local/share/amp/threads",
    "copilot-cli": ".copilot/otel",
    "droid": ".factory/sessions",
    "goose": ".local/share/goose/sessions",
}
AGENTS = sorted(ROWS)


def row_counts(name: str, path: Path) -> list[tuple[int, int, int, int, int]]:
    ctx = ReadContext(on_bad=lambda bad: pytest.fail(bad.message()))
    out = []
    for batch in get_source(name).read(path, ctx):
        for row in batch.to_pylist():
            assert row["app"] == name and row["source"] == name
            out.append(
                (
                    row["input_tokens"],
                    row["cache_read_tokens"],
                    row["cache_write_tokens"],
                    row["output_tokens"],
                    row["reasoning_tokens"],
                )
            )
    return out


@pytest.mark.parametrize("name", AGENTS)
def test_rows_have_the_hand_computed_counts(name: str):
    for file_name, want in ROWS[name].items():
        got = row_counts(name, FIXTURES / name / file_name)
        # a file whose message is rewritten gives a copy per write; the ledger keeps one
        assert sorted(set(got)) == sorted(want), f"{name} {file_name}"


@pytest.mark.parametrize("name", AGENTS)
def test_totals_per_kind_in_the_ledger(name: str, tmp_path: Path):
    files = [FIXTURES / name / f for f in ROWS[name]]
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, name, files)
        assert result.rows_bad == 0
        got = ledger.db.execute(
            """SELECT sum(input_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
                      sum(output_tokens), sum(reasoning_tokens), count(*),
                      count(DISTINCT app) FROM usage"""
        ).fetchone()
    rows = [r for per_file in ROWS[name].values() for r in per_file]
    want = tuple(sum(r[k] for r in rows) for k in range(5))
    assert got[:5] == want
    assert got[5] == len(rows) and got[6] == 1


@pytest.mark.parametrize("name", AGENTS)
def test_discovery_through_the_environment_variable(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    variable, value, found = ENV_DISCOVERY[name]
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    target = tmp_path / found
    if target.suffix:
        target.parent.mkdir(parents=True)
        target.write_text("")
    else:
        target.mkdir(parents=True)
    monkeypatch.setenv(variable, str(tmp_path / value))
    assert get_source(name).discover()[:1] == [target]
    monkeypatch.setenv(variable, str(tmp_path / "nowhere"))
    assert tmp_path / "nowhere" not in get_source(name).discover()


@pytest.mark.parametrize("name", AGENTS)
def test_discovery_of_the_default_directory(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for variable, _, _ in ENV_DISCOVERY.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_source(name).discover() == []  # nothing there yet
    (tmp_path / HOME_DISCOVERY[name]).mkdir(parents=True)
    assert get_source(name).discover() == [tmp_path / HOME_DISCOVERY[name]]


@pytest.mark.parametrize("name", AGENTS)
def test_import_auto_recognises_the_agent(name: str, tmp_path: Path, invoke):
    first = FIXTURES / name / next(f for f, rows in ROWS[name].items() if rows)
    db = tmp_path / "auto.duckdb"
    result = invoke("--db", str(db), "import", "auto", str(first))
    assert result.exit_code == 0, result.output
    with api.open_ledger(db) as ledger:
        sources = ledger.db.execute("SELECT DISTINCT source FROM usage").fetchall()
    assert sources == [(name,)]


def test_a_grown_wire_log_is_read_from_where_the_last_import_stopped(tmp_path: Path):
    wire = tmp_path / "sessions" / "0a1b" / "s1" / "wire.jsonl"
    wire.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "kimi-cli" / "wire.jsonl", wire)
    step = (
        '{"timestamp":1767780100.0,"message":{"type":"StatusUpdate","payload":'
        '{"token_usage":{"input_other":40,"output":7,"input_cache_read":60,'
        '"input_cache_creation":0},"message_id":"chatcmpl-k9"}}}\n'
    )
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        first = api.import_path(ledger, "kimi-cli", [tmp_path / "sessions"])
        with wire.open("a") as handle:
            handle.write(step)
        second = api.import_path(ledger, "kimi-cli", [tmp_path / "sessions"])
        inputs = ledger.db.execute("SELECT sum(input_tokens) FROM usage").fetchone()[0]
    assert first.rows_new == 2
    assert second.rows_new == 1 and second.files_resumed == 1
    assert inputs == (1200 + 6000) + (800 + 7000 + 400) + (40 + 60)
