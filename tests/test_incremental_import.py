"""Incremental import of append-only logs: unchanged files are skipped without being read,
grown files are read from where the last import stopped, rewritten files are read again,
and a message completed in a later import replaces its partial copy."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.errors import StrictImportError
from tokenstat.incremental import FileOffset, plan_read, record_read
from tokenstat.ledger import Ledger

SESSION = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def line(message_id: str, output: int, ts: str, cache_read: int = 1000) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": SESSION,
            "cwd": "/home/dev/app",
            "timestamp": ts,
            "requestId": f"req_{message_id}",
            "message": {
                "id": message_id,
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": "..."}],
                "usage": {
                    "input_tokens": 5,
                    "cache_read_input_tokens": cache_read,
                    "cache_creation_input_tokens": 0,
                    "output_tokens": output,
                },
            },
        },
        separators=(",", ":"),
    )


def session_lines(prefix: str, n: int, day: str = "2026-02-03") -> list[str]:
    return [line(f"msg_{prefix}{i}", 100 + i, f"{day}T10:{i:02d}:00.000Z") for i in range(n)]


def write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def run(db: Path, paths: list[Path], **kwargs):
    with api.open_ledger(db) as ledger:
        return api.import_path(ledger, "claude-code", paths, **kwargs)


def totals(db: Path) -> tuple:
    with Ledger.open(db) as ledger:
        rows = ledger.db.execute(
            "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM usage"
        ).fetchone()
        rollup = ledger.db.execute(
            "SELECT sum(rows), sum(input_tokens), sum(output_tokens) FROM usage_daily"
        ).fetchone()
    assert rows == rollup, "the daily rollup disagrees with the rows"
    return rows


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "projects" / "-home-dev-app"
    write(root / "a.jsonl", session_lines("a", 5))
    write(root / "b.jsonl", session_lines("b", 3, day="2026-02-04"))
    return tmp_path / "projects"


def test_unchanged_files_are_skipped_without_being_read(tree: Path, tmp_path: Path):
    db = tmp_path / "l.duckdb"
    first = run(db, [tree])
    assert (first.files_read, first.rows_new) == (2, 8)
    # Same size and modification time, other bytes: a skipped file is never opened, so
    # the garbage is not seen.
    target = tree / "-home-dev-app" / "a.jsonl"
    stat = target.stat()
    target.write_bytes(b"x" * stat.st_size)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = run(db, [tree])
    assert (again.files_read, again.files_skipped, again.bytes_read) == (0, 2, 0)
    assert (again.rows_new, again.rows_bad) == (0, 0)
    assert totals(db)[0] == 8


def test_a_new_session_file_is_the_only_one_read(tree: Path, tmp_path: Path):
    db = tmp_path / "l.duckdb"
    run(db, [tree])
    new = write(tree / "-home-dev-app" / "c.jsonl", session_lines("c", 4, day="2026-02-05"))
    result = run(db, [tree])
    assert (result.files_read, result.files_skipped, result.files_resumed) == (1, 2, 0)
    assert result.bytes_read == new.stat().st_size
    assert result.rows_new == 4
    assert totals(db)[0] == 12


def test_a_grown_file_is_read_from_where_the_last_import_stopped(tree: Path, tmp_path: Path):
    db = tmp_path / "l.duckdb"
    run(db, [tree])
    target = tree / "-home-dev-app" / "a.jsonl"
    before = target.stat().st_size
    extra = line("msg_a9", 900, "2026-02-03T11:00:00.000Z") + "\nnot json\n"
    append(target, extra)
    result = run(db, [tree])
    assert (result.files_read, result.files_resumed, result.files_skipped) == (1, 1, 1)
    assert result.bytes_read == len(extra.encode())
    assert result.rows_new == 1
    # line numbers continue from the stored position
    assert [b.location for b in result.bad_examples] == [f"{target}:7"]
    assert target.stat().st_size > before
    assert totals(db)[0] == 9


def test_a_rewritten_file_is_read_again_and_nothing_is_counted_twice(tree: Path, tmp_path: Path):
    db = tmp_path / "l.duckdb"
    run(db, [tree])
    target = tree / "-home-dev-app" / "a.jsonl"
    # the same messages in another order, plus one: the prefix changed
    lines = session_lines("a", 5)
    write(target, [lines[4], *lines[:4], line("msg_a5", 50, "2026-02-03T12:00:00.000Z")])
    result = run(db, [tree])
    assert (result.files_read, result.files_resumed) == (1, 0)
    assert (result.rows_new, result.rows_duplicate) == (1, 5)
    assert totals(db)[0] == 9


def test_an_unfinished_last_line_is_read_again_once_finished(tmp_path: Path):
    db = tmp_path / "l.duckdb"
    done = line("msg_1", 10, "2026-02-03T10:00:00.000Z")
    writing = line("msg_2", 20, "2026-02-03T10:01:00.000Z")
    target = write(tmp_path / "p" / "s.jsonl", [done, writing[:60]], end="")
    first = run(db, [tmp_path / "p"])
    assert (first.rows_new, first.rows_bad) == (1, 1)
    append(target, writing[60:] + "\n")
    second = run(db, [tmp_path / "p"])
    assert (second.files_resumed, second.rows_new, second.rows_bad) == (1, 1, 0)
    assert totals(db)[0] == 2


def test_a_message_finished_in_a_later_import_replaces_its_partial_copy(tmp_path: Path):
    db = tmp_path / "l.duckdb"
    target = write(
        tmp_path / "p" / "s.jsonl",
        [
            line("msg_1", 300, "2026-02-03T10:00:00.000Z"),
            line("msg_2", 1, "2026-02-03T23:59:59.500Z"),  # streamed: partial output
        ],
    )
    run(db, [tmp_path / "p"])
    assert totals(db) == (2, 2 * 1005, 301)
    # the final line of msg_2 arrives after midnight
    append(target, line("msg_2", 750, "2026-02-04T00:00:01.000Z") + "\n")
    result = run(db, [tmp_path / "p"])
    assert (result.rows_new, result.rows_replaced, result.rows_duplicate) == (1, 1, 0)
    assert totals(db) == (2, 2 * 1005, 1050)
    # a smaller copy read later changes nothing
    append(target, line("msg_2", 9, "2026-02-04T00:00:02.000Z") + "\n")
    result = run(db, [tmp_path / "p"])
    assert (result.rows_new, result.rows_replaced, result.rows_duplicate) == (0, 0, 1)
    assert totals(db) == (2, 2 * 1005, 1050)
    with api.open_ledger(db) as ledger:
        days = ledger.db.execute(
            "SELECT day, sum(output_tokens) FROM usage_daily GROUP BY day ORDER BY day"
        ).fetchall()
        assert [(d.isoformat(), o) for d, o in days] == [
            ("2026-02-03", 300),
            ("2026-02-04", 750),
        ]
        # the rollup by row dimension moved the replaced copy the same way
        for dim in ("session", "project"):
            per_day = ledger.db.execute(
                "SELECT day, sum(output_tokens) FROM usage_dims WHERE dim = ? "
                "GROUP BY day ORDER BY day",
                [dim],
            ).fetchall()
            assert per_day == days


def test_a_failed_strict_import_keeps_the_stored_offsets(tree: Path, tmp_path: Path):
    db = tmp_path / "l.duckdb"
    run(db, [tree])
    target = tree / "-home-dev-app" / "a.jsonl"
    append(target, "garbage\n")
    with pytest.raises(StrictImportError):
        run(db, [tree], strict=True)
    with Ledger.open(db) as ledger:
        stored = ledger.file_offsets("claude-code")[str(target.resolve())]
    assert stored.size < target.stat().st_size
    result = run(db, [tree])
    assert (result.files_resumed, result.rows_bad) == (1, 1)


def test_compressed_files_are_skipped_when_unchanged_and_read_in_full_otherwise(
    tmp_path: Path,
):
    db = tmp_path / "l.duckdb"
    target = tmp_path / "p" / "s.jsonl.gz"
    target.parent.mkdir()
    target.write_bytes(gzip.compress(("\n".join(session_lines("z", 3)) + "\n").encode()))
    assert run(db, [target]).rows_new == 3
    assert run(db, [target]).files_skipped == 1
    target.write_bytes(gzip.compress(("\n".join(session_lines("z", 4)) + "\n").encode()))
    result = run(db, [target])
    assert (result.files_read, result.files_resumed, result.rows_new) == (1, 0, 1)


def test_plan_read(tmp_path: Path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}\n')
    stat = path.stat()
    stored = record_read(path, stat, 16, 2, {"k": 1})
    assert plan_read(path, stat, None).action == "full"
    assert plan_read(path, stat, stored).action == "skip"
    with path.open("ab") as handle:
        handle.write(b'{"c":3}\n')
    plan = plan_read(path, path.stat(), stored)
    assert (plan.action, plan.offset, plan.lines, plan.state) == ("resume", 16, 2, {"k": 1})
    path.write_bytes(b'{"A":1}\n{"b":2}\n{"c":3}\n')
    assert plan_read(path, path.stat(), stored).action == "full"
    path.write_bytes(b'{"a":1}\n')
    assert plan_read(path, path.stat(), stored).action == "full"
    assert isinstance(stored, FileOffset)


def test_other_sources_keep_the_content_hash_skip(tmp_path: Path):
    csv = tmp_path / "m.csv"
    csv.write_text("date,model,tokens\n2026-01-05,openai/gpt-5,1000\n", encoding="utf-8")
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        first = api.import_path(ledger, "market", [csv])
        second = api.import_path(ledger, "market", [csv])
        offsets = ledger.db.execute("SELECT count(*) FROM file_offsets").fetchone()[0]
        assert "002_file_offsets" in ledger.applied_migrations()
    assert (first.rows_new, second.files_skipped, offsets) == (1, 1, 0)
