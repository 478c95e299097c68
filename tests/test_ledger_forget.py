"""`ledger imports` and `ledger forget`: an import taken back leaves the ledger as if it had
never run (rows, both rollups, file records, quarantine), and can be imported again."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.errors import LedgerError
from tokenstat.ledger import Ledger
from tokenstat.schema import ROW_DIMENSIONS

from .test_incremental_import import append, line, write
from .test_incremental_import import run as import_claude_code

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HEADER = "ts,event_id,model,app,user,input_tokens,output_tokens"
# (ts, event_id, model, app, user, input_tokens, output_tokens)
ROWS_A = [
    ("2026-03-02T09:00:00Z", "a1", "deepseek-chat", "search", "ann", 100, 10),
    ("2026-03-02T10:00:00Z", "a2", "glm-5", "search", "bob", 200, 20),
    ("2026-03-03T11:00:00Z", "a3", "deepseek-chat", "billing", "ann", 300, 30),
]
ROWS_B = [
    ("2026-03-02T09:00:00Z", "a1", "deepseek-chat", "search", "ann", 100, 10),  # in A too
    ("2026-03-03T12:00:00Z", "b1", "glm-5", "billing", "cyd", 4000, 400),
    ("2026-03-04T08:00:00Z", "b2", "deepseek-chat", "search", "bob", 5000, 500),
]
BAD_B = "2026-03-04T09:00:00Z,b3,glm-5,search,bob,-5,1"  # a negative count: quarantined


def write_rows(path: Path, rows: list[tuple], extra: list[str] = ()) -> Path:
    lines = [HEADER, *(",".join(str(v) for v in r) for r in rows), *extra]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_rows(tmp_path / "a.csv", ROWS_A), write_rows(tmp_path / "b.csv", ROWS_B, [BAD_B])


def by_hand(rows: list[tuple]) -> dict[str, dict]:
    """Per day and per (dimension, key): input and output token sums and row counts."""
    daily: dict = defaultdict(lambda: [0, 0, 0])
    dims: dict = defaultdict(lambda: [0, 0, 0])
    for ts, _, _, app, user, tokens_in, tokens_out in {r[1]: r for r in rows}.values():
        for key in ((ts[:10],), *((ts[:10], d, k) for d, k in (("app", app), ("user", user)))):
            target = daily if len(key) == 1 else dims
            total = target[key]
            total[0] += tokens_in
            total[1] += tokens_out
            total[2] += 1
    return {"daily": dict(daily), "dims": dict(dims)}


def from_rollups(ledger: Ledger) -> dict[str, dict]:
    daily = ledger.db.execute(
        "SELECT day, sum(input_tokens), sum(output_tokens), sum(rows) FROM usage_daily GROUP BY day"
    ).fetchall()
    dims = ledger.db.execute(
        "SELECT day, dim, key, sum(input_tokens), sum(output_tokens), sum(rows) FROM usage_dims "
        "WHERE dim IN ('app', 'user') GROUP BY ALL"
    ).fetchall()
    return {
        "daily": {(d.isoformat(),): [i, o, n] for d, i, o, n in daily},
        "dims": {(d.isoformat(), dim, k): [i, o, n] for d, dim, k, i, o, n in dims},
    }


def rollups_match_raw_rows(ledger: Ledger) -> None:
    """Both rollups equal sums computed straight from ``usage``."""
    rollup = ledger.db.execute(
        "SELECT day, source, model, sum(input_tokens), sum(output_tokens), sum(rows) "
        "FROM usage_daily GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    raw = ledger.db.execute(
        "SELECT day, source, model, sum(input_tokens), sum(output_tokens), count(*) "
        "FROM usage GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rollup == raw
    via_ibis = ledger.daily().aggregate(n=ledger.daily()["rows"].sum()).to_pyarrow()
    assert via_ibis["n"][0].as_py() == sum(r[5] for r in raw)
    for dim in ROW_DIMENSIONS:
        rollup = ledger.db.execute(
            "SELECT day, key, sum(input_tokens), sum(output_tokens), sum(rows) FROM usage_dims "
            "WHERE dim = ? GROUP BY ALL ORDER BY ALL",
            [dim],
        ).fetchall()
        raw = ledger.db.execute(
            f'SELECT day, "{dim}", sum(input_tokens), sum(output_tokens), count(*) FROM usage '
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert rollup == raw, dim


def state(ledger: Ledger) -> dict[str, list]:
    """What the ledger holds, without import ids (which a new import changes)."""
    queries = {
        "usage": "SELECT * EXCLUDE (import_id) FROM usage ORDER BY ALL",
        "daily": "SELECT * FROM usage_daily ORDER BY ALL",
        "dims": "SELECT * FROM usage_dims ORDER BY ALL",
        "files": "SELECT source, sha256, size FROM import_files ORDER BY ALL",
        "offsets": "SELECT * EXCLUDE (import_id) FROM file_offsets ORDER BY ALL",
        "quarantine": "SELECT * EXCLUDE (import_id) FROM quarantine ORDER BY ALL",
    }
    return {name: ledger.db.execute(sql).fetchall() for name, sql in queries.items()}


def test_forgetting_the_second_import_leaves_the_first_alone(tmp_path, files):
    a, b = files
    with api.open_ledger(tmp_path / "only-a.duckdb") as only_a:
        api.import_path(only_a, "csv", [a])
        expected = state(only_a)
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        first = api.import_path(ledger, "csv", [a])
        second = api.import_path(ledger, "csv", [b])
        assert (second.rows_new, second.rows_duplicate, second.rows_bad) == (2, 1, 1)
        assert from_rollups(ledger) == by_hand(ROWS_A + ROWS_B)
        counts = ledger.forget([second.import_id])
        assert counts["rows_removed"] == 2
        assert counts["quarantine_removed"] == 1
        assert counts["files_released"] == 1
        assert state(ledger) == expected
        assert from_rollups(ledger) == by_hand(ROWS_A)
        rollups_match_raw_rows(ledger)
        assert [r["import_id"] for r in ledger.imports()] == [first.import_id]
        # B's file can be imported again, and that brings it back exactly
        again = api.import_path(ledger, "csv", [b])
        assert (again.files_read, again.rows_new, again.rows_bad) == (1, 2, 1)
        assert from_rollups(ledger) == by_hand(ROWS_A + ROWS_B)
        rollups_match_raw_rows(ledger)


def test_forgetting_the_first_import_keeps_what_only_the_second_added(tmp_path, files):
    a, b = files
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        first = api.import_path(ledger, "csv", [a])
        api.import_path(ledger, "csv", [b])
        ledger.forget([first.import_id])
        # a1 was stored once, under A (B's copy was a duplicate): it goes with A
        assert from_rollups(ledger) == by_hand(ROWS_B[1:])
        rollups_match_raw_rows(ledger)
        assert ledger.db.execute("SELECT count(*) FROM import_files").fetchone()[0] == 1
        assert api.import_path(ledger, "csv", [a]).rows_new == 3
        assert from_rollups(ledger) == by_hand(ROWS_A + ROWS_B)


def test_imports_lists_latest_first_with_counts(tmp_path, files):
    a, b = files
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "csv", [a])
        api.import_path(ledger, "csv", [a, b])  # a is skipped: seen before
        listed = ledger.imports()
        assert [r["import_id"] for r in listed] == [2, 1]
        assert [(r["files"], r["rows_new"], r["rows"], r["quarantined"]) for r in listed] == [
            (1, 2, 2, 1),
            (1, 3, 3, 0),
        ]
        assert all(r["finished_at"] >= r["started_at"] for r in listed)
        assert [r["import_id"] for r in ledger.imports(limit=1)] == [2]


def test_an_unknown_id_names_the_known_ones_and_changes_nothing(tmp_path, files):
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "csv", [files[0]])
        before = state(ledger)
        with pytest.raises(LedgerError, match=r"no import 9 .*recent imports: 1\)") as caught:
            ledger.forget([1, 9])
        assert caught.value.hint and "ledger imports" in caught.value.hint
        assert state(ledger) == before


def test_forgetting_a_replacing_import_brings_back_the_copy_it_replaced(tmp_path: Path):
    # keep = "largest": a message streamed in parts is replaced by its final copy
    db, folder = tmp_path / "l.duckdb", tmp_path / "p"
    target = write(
        folder / "s.jsonl",
        [line("msg_1", 300, "2026-02-03T10:00:00.000Z"), line("msg_2", 1, "2026-02-03T23:59:59Z")],
    )
    import_claude_code(db, [folder])
    with Ledger.open(db) as ledger:
        after_first = state(ledger)
    append(target, line("msg_2", 750, "2026-02-04T00:00:01.000Z") + "\n")
    second = import_claude_code(db, [folder])
    assert second.rows_replaced == 1
    with Ledger.open(db) as ledger:
        after_second = state(ledger)
        counts = ledger.forget([second.import_id])
        assert (counts["rows_removed"], counts["rows_restored"]) == (1, 1)
        # as if only the first had run, but for the read position of the file
        now = state(ledger)
        assert {k: v for k, v in now.items() if k != "offsets"} == {
            k: v for k, v in after_first.items() if k != "offsets"
        }
        assert now["offsets"] == []  # so the next import reads the file again
        outputs = ledger.db.execute(
            "SELECT day, sum(output_tokens) FROM usage_daily GROUP BY day ORDER BY day"
        ).fetchall()
        assert [(d.isoformat(), o) for d, o in outputs] == [("2026-02-03", 300 + 1)]
        rollups_match_raw_rows(ledger)
    # the grown file, read again in full: the final copy replaces the partial one again
    import_claude_code(db, [folder])
    with Ledger.open(db) as ledger:
        assert state(ledger) == after_second
        rollups_match_raw_rows(ledger)


def test_forgetting_the_replaced_import_keeps_the_final_copy(tmp_path: Path):
    db, folder = tmp_path / "l.duckdb", tmp_path / "p"
    target = write(
        folder / "s.jsonl",
        [line("msg_1", 300, "2026-02-03T10:00:00.000Z"), line("msg_2", 1, "2026-02-03T23:59:59Z")],
    )
    first = import_claude_code(db, [folder])
    append(target, line("msg_2", 750, "2026-02-04T00:00:01.000Z") + "\n")
    import_claude_code(db, [folder])
    with Ledger.open(db) as ledger:
        after_second = state(ledger)
        counts = ledger.forget([first.import_id])
        # msg_1 goes; msg_2's final copy belongs to the second import and stays
        assert (counts["rows_removed"], counts["rows_restored"]) == (1, 0)
        assert ledger.db.execute("SELECT output_tokens FROM usage").fetchall() == [(750,)]
        assert ledger.db.execute("SELECT count(*) FROM usage_replaced").fetchone()[0] == 0
        rollups_match_raw_rows(ledger)
    import_claude_code(db, [folder])  # read in full again: msg_1 is back, nothing doubles
    with Ledger.open(db) as ledger:
        assert state(ledger)["usage"] == after_second["usage"]
        rollups_match_raw_rows(ledger)


def test_forget_removes_price_points_of_a_price_import(tmp_path: Path):
    snapshot = FIXTURES / "openrouter" / "models-2026-04-01.json"
    points = len(json.loads(snapshot.read_text(encoding="utf-8"))["data"])
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, "openrouter-models", [snapshot])
        stored = ledger.db.execute("SELECT count(*) FROM price_points").fetchone()[0]
        assert 0 < stored <= points
        assert ledger.imports()[0]["rows"] == stored
        counts = ledger.forget([result.import_id])
        assert counts["price_points_removed"] == stored
        assert ledger.db.execute("SELECT count(*) FROM price_points").fetchone()[0] == 0
        assert api.import_path(ledger, "openrouter-models", [snapshot]).files_read == 1


# ---- the commands ------------------------------------------------------------------------


def test_cli_forget_asks_and_refuses_without_a_terminal(tmp_path, files, invoke):
    db = str(tmp_path / "l.duckdb")
    for f in files:
        assert invoke("--db", db, "import", "csv", str(f), "--json").exit_code == 0
    listed = json.loads(invoke("--db", db, "ledger", "imports", "--json").stdout)["imports"]
    assert [(r["import_id"], r["source"], r["rows"]) for r in listed] == [
        (2, "csv", 2),
        (1, "csv", 3),
    ]
    refused = invoke("--db", db, "ledger", "forget", "2")
    assert refused.exit_code == 1
    assert "--yes" in refused.stderr and "Traceback" not in refused.output
    with Ledger.open(db, read_only=True) as ledger:
        assert ledger.row_count() == 5
    unknown = invoke("--db", db, "ledger", "forget", "7", "--yes")
    assert unknown.exit_code == 1
    assert "no import 7" in unknown.stderr and "recent imports: 2, 1" in unknown.stderr
    done = invoke("--db", db, "ledger", "forget", "2", "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rows_removed"] == 2
    with Ledger.open(db, read_only=True) as ledger:
        assert ledger.row_count() == 3
        assert from_rollups(ledger) == by_hand(ROWS_A)
    table = invoke("--db", db, "ledger", "imports")
    assert table.exit_code == 0 and "csv" in table.stdout
