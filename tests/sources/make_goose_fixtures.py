"""Writes the Goose conformance fixtures (SQLite files) in tests/fixtures/sources/goose/.

Run from the repository root: ``python tests/sources/make_goose_fixtures.py``. The token
counts are the ones expected.json states; change both together.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "goose"
SCHEMA = """CREATE TABLE sessions (
    id TEXT PRIMARY KEY, name TEXT, description TEXT, working_dir TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP,
    total_tokens INTEGER, input_tokens INTEGER, output_tokens INTEGER,
    accumulated_total_tokens INTEGER, accumulated_input_tokens INTEGER,
    accumulated_output_tokens INTEGER, provider_name TEXT, model_config_json TEXT)"""


def config(model: str) -> str:
    return json.dumps({"model_name": model, "context_limit": 200000, "temperature": None})


def session(sid, created, inp, out, total, model="claude-sonnet-4-5", provider="anthropic"):
    return (
        sid, "work", "a session", "/home/dev/goose-work", created, created,
        total, inp, out, total, inp, out, provider, config(model) if model else model,
    )  # fmt: skip


def write(path: Path, rows: list[tuple]) -> None:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute(SCHEMA)
    db.executemany(f"INSERT INTO sessions VALUES ({', '.join('?' * 14)})", rows)
    db.commit()
    db.close()


def main() -> None:
    (OUT / "bad").mkdir(parents=True, exist_ok=True)
    write(
        OUT / "sessions.db",
        [
            session("20260310_1", "2026-03-10 08:15:00", 64000, 2100, 66100),
            session("20260311_1", "2026-03-11 16:40:30", 21000, 900, 22400, "gpt-5", "openai"),
            session("20260311_2", "2026-03-11 17:00:00", 0, 0, 0),
            session("20260312_1", "2026-03-12 09:00:00", 500, 20, 520, model=None),
        ],
    )
    good = [
        session("b1", "2026-03-13 10:00:00", 100, 10, 110),
        session("b2", "2026-03-13 11:00:00", 100, 10, 110),
    ]
    third = "2026-03-13 12:00:00"
    write(OUT / "bad" / "negative-tokens.db", [*good, session("b3", third, 100, -10, 90)])
    write(OUT / "bad" / "non-integer-tokens.db", [*good, session("b3", third, "1k", 10, 110)])
    no_model = list(session("b3", "2026-03-13 12:00:00", 100, 10, 110))
    no_model[-1] = json.dumps({"context_limit": 200000})
    write(OUT / "bad" / "missing-model.db", [*good, tuple(no_model)])
    wrong = list(session("b3", "2026-03-13 12:00:00", 100, 10, 110))
    wrong[-1] = "[1, 2]"
    write(OUT / "bad" / "wrong-type.db", [*good, tuple(wrong)])
    whole = (OUT / "bad" / "negative-tokens.db").read_bytes()
    (OUT / "bad" / "truncated.db").write_bytes(whole[:3000])
    (OUT / "bad" / "garbage-line.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 2000)


if __name__ == "__main__":
    main()
