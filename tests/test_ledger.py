"""Ledger: idempotent and atomic imports, migrations, duplicate handling."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokenstat import api
from tokenstat.errors import StrictImportError
from tokenstat.ledger import MIGRATIONS, Ledger
from tokenstat.sources.base import ReadContext, Source


def write_csv(path: Path, rows: list[str], header: str = "date,model,input_tokens,output_tokens"):
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def ledger_state(ledger: Ledger) -> list[tuple]:
    usage = ledger.db.execute(
        "SELECT event_id, model, input_tokens, output_tokens FROM usage ORDER BY event_id"
    ).fetchall()
    daily = ledger.db.execute(
        "SELECT day, model, sum(input_tokens), sum(output_tokens), sum(rows) FROM usage_daily "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return usage + daily


def test_import_twice_changes_nothing(tmp_path):
    f = write_csv(tmp_path / "a.csv", ["2026-03-30,deepseek-chat,100,10", "2026-03-31,glm-5,5,1"])
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        first = api.import_path(ledger, "market", [f])
        before = ledger_state(ledger)
        second = api.import_path(ledger, "market", [f])
        assert (first.rows_new, second.rows_new, second.files_skipped) == (2, 0, 1)
        assert ledger_state(ledger) == before


def test_overlapping_files_import_only_new_rows(tmp_path):
    a = write_csv(tmp_path / "a.csv", ["2026-03-30,deepseek-chat,100,10", "2026-03-31,glm-5,5,1"])
    b = write_csv(
        tmp_path / "b.csv",
        ["2026-03-31,glm-5,5,1", "2026-04-01,glm-5,7,2", "2026-04-01,glm-5,7,2"],
    )
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "market", [a])
        result = api.import_path(ledger, "market", [b])
        # one row already in the ledger, one repeated inside the file
        assert (result.rows_read, result.rows_new, result.rows_duplicate) == (3, 1, 2)
        totals = ledger.db.execute(
            "SELECT sum(input_tokens), sum(output_tokens) FROM usage_daily"
        ).fetchone()
        assert totals == (100 + 5 + 7, 10 + 1 + 2)
        assert ledger.row_count() == 3


def test_same_event_on_another_day_is_another_event(tmp_path):
    # identity is (day, event_id): market rows on different dates are distinct events
    f = write_csv(tmp_path / "a.csv", ["2026-03-30,glm-5,1,1", "2026-03-31,glm-5,1,1"])
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        assert api.import_path(ledger, "market", [f]).rows_new == 2


class ExplodingSource(Source):
    """Yields one good batch, then fails as a crash half way through a file would."""

    name = "exploding"

    def read(self, path: Path, ctx: ReadContext):
        from tokenstat.sources.market import MarketSource

        yield from MarketSource().read(path, ctx)
        raise RuntimeError("disk on fire")


def test_failed_import_leaves_the_ledger_as_before(tmp_path):
    from tokenstat.catalog import shipped_catalog
    from tokenstat.importing import import_files

    good = write_csv(tmp_path / "good.csv", ["2026-03-30,glm-5,1,1"])
    more = write_csv(tmp_path / "more.csv", ["2026-04-01,glm-5,9,9", "2026-04-02,glm-5,9,9"])
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "market", [good])
        before = ledger_state(ledger)
        imports_before = ledger.db.execute("SELECT count(*) FROM imports").fetchone()
        with pytest.raises(RuntimeError, match="disk on fire"):
            import_files(ledger, ExplodingSource(), [more], catalog=shipped_catalog())
        assert ledger_state(ledger) == before
        assert ledger.db.execute("SELECT count(*) FROM imports").fetchone() == imports_before
        # and the file was not recorded as imported: a retry imports it
        assert api.import_path(ledger, "market", [more]).rows_new == 2


def test_strict_import_writes_nothing(tmp_path):
    f = write_csv(tmp_path / "a.csv", ["2026-03-30,glm-5,1,1", "2026-03-31,glm-5,-4,1"])
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        with pytest.raises(StrictImportError, match=r"a\.csv:3: field 'input_tokens'"):
            api.import_path(ledger, "market", [f], strict=True)
        assert ledger.row_count() == 0
        assert ledger.db.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
        # without --strict the good row lands and the bad one is kept aside
        result = api.import_path(ledger, "market", [f])
        assert (result.rows_new, result.rows_bad) == (1, 1)
        assert ledger.quarantine()[0]["reason"] == "negative token count: -4"


def test_migrations_are_named_ordered_and_recorded(tmp_path):
    path = tmp_path / "l.duckdb"
    with api.open_ledger(path) as ledger:
        assert ledger.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
    with api.open_ledger(path) as ledger:  # reopening applies nothing twice
        rows = ledger.db.execute("SELECT count(*), count(DISTINCT name) FROM migrations").fetchone()
        assert rows[0] == rows[1] == len(MIGRATIONS)


def test_event_keys_are_recomputed_when_the_hash_function_changes(tmp_path):
    path = tmp_path / "l.duckdb"
    f = write_csv(tmp_path / "a.csv", ["2026-03-30,glm-5,1,1"])
    with api.open_ledger(path) as ledger:
        api.import_path(ledger, "market", [f])
        ledger.db.execute("UPDATE usage SET event_key = 42")
        ledger.db.execute("UPDATE ledger_meta SET value = 'old' WHERE key = 'key_probe'")
    with api.open_ledger(path) as ledger:
        key = ledger.db.execute("SELECT event_key = hash(event_id) FROM usage").fetchone()
        assert key == (True,)
        g = write_csv(tmp_path / "b.csv", ["2026-03-30,glm-5,1,1", "2026-03-31,glm-5,1,1"])
        assert api.import_path(ledger, "market", [g]).rows_new == 1


def test_read_only_open_of_a_missing_ledger_is_a_clear_error(tmp_path):
    from tokenstat.errors import LedgerError

    with pytest.raises(LedgerError, match=r"no ledger at .*import data first"):
        Ledger.open(tmp_path / "none.duckdb", read_only=True)


def test_gzip_and_parquet_inputs(tmp_path):
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(b"date,model,tokens\n2026-03-30,glm-5,12\n"))
    pq_path = tmp_path / "b.parquet"
    pq.write_table(
        pa.table(
            {
                "date": pa.array([pa.scalar(20542, pa.date32()).as_py()]),
                "model": ["kimi-k2.5"],
                "input_tokens": [3],
                "output_tokens": [4],
            }
        ),
        pq_path,
    )
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        assert api.import_path(ledger, "market", [gz]).rows_new == 1
        assert api.import_path(ledger, "market", [pq_path]).rows_new == 1
        rows = ledger.db.execute(
            "SELECT model, day, input_tokens, output_tokens FROM usage ORDER BY model"
        ).fetchall()
    assert [r[0] for r in rows] == ["moonshotai/kimi-k2.5", "z-ai/glm-5"]
    assert rows[0][2:] == (3, 4) and rows[1][2:] == (12, 0)
    assert str(rows[0][1]) == "2026-03-30"  # day 20542 since the epoch


# ---- the rollup by row dimension --------------------------------------------------------
OWN_ROWS = [
    # event_id, ts, model, input, output, app, user, project, session
    ("e1", "2026-03-30T10:00:00Z", "deepseek-chat", 100, 10, "bot", "ann", "p1", "s1"),
    ("e2", "2026-03-30T23:59:59Z", "glm-5", 50, 5, "bot", "bob", "p1", "s2"),
    ("e3", "2026-03-31T00:00:00Z", "glm-5", 7, 1, "ide", "ann", "", "s3"),
    ("e4", "2026-03-31T08:00:00Z", "gpt-4o", 3, 2, "", "", "p2", ""),
]


def write_own_usage(path: Path, rows=OWN_ROWS) -> Path:
    header = "event_id,ts,model,input_tokens,output_tokens,app,user,project,session"
    return write_csv(path, [",".join(map(str, r)) for r in rows], header)


def dims_state(ledger: Ledger) -> set[tuple]:
    # partial aggregates: each import appends its own
    rows = ledger.db.execute(
        "SELECT day::VARCHAR, dim, key, sum(input_tokens), sum(output_tokens), sum(rows) "
        "FROM usage_dims GROUP BY ALL"
    ).fetchall()
    return set(rows)


def expected_dims(rows=OWN_ROWS) -> set[tuple]:
    """By hand: per (UTC day, dimension, value) the input, output and row count (a file
    of a generic importer names no machine)."""
    sums: dict[tuple, list[int]] = {}
    dims = ("app", "user", "project", "session", "machine")
    for _, ts, _, i, o, *values in rows:
        for dim, value in zip(dims, (*values, None), strict=True):
            cell = sums.setdefault((ts[:10], dim, value or None), [0, 0, 0])
            cell[0] += i
            cell[1] += o
            cell[2] += 1
    return {(*k, *v) for k, v in sums.items()}


def test_the_dimension_rollup_sums_every_row_dimension(tmp_path):
    f = write_own_usage(tmp_path / "own.csv")
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "csv", [f], options={"mapping": {}})
        assert dims_state(ledger) == expected_dims()
        # an overlapping import adds only its new row to the rollup
        extra = ("e5", "2026-03-31T09:00:00Z", "glm-5", 1, 1, "ide", "cy", "p2", "s3")
        g = write_own_usage(tmp_path / "more.csv", [*OWN_ROWS[2:], extra])
        assert api.import_path(ledger, "csv", [g], options={"mapping": {}}).rows_new == 1
        assert dims_state(ledger) == expected_dims([*OWN_ROWS, extra])


def as_before_the_dimension_rollup(ledger: Ledger) -> None:
    """The ledger as a version before migration 004 left it: no rollup by dimension, and
    none of the columns later migrations add."""
    ledger.db.execute("DROP TABLE usage_dims")
    for table in ("usage", "usage_replaced"):
        for column in ("machine", "cache_write_1h_tokens"):
            ledger.db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    ledger.db.execute(
        "DELETE FROM migrations WHERE name IN ('004_dimension_rollup', '007_machine_and_cache_1h')"
    )


def test_the_migration_fills_the_dimension_rollup_of_an_older_ledger(tmp_path):
    db = tmp_path / "l.duckdb"
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "csv", [write_own_usage(tmp_path / "own.csv")], options={})
        as_before_the_dimension_rollup(ledger)
    with api.open_ledger(db) as ledger:
        assert dims_state(ledger) == expected_dims()


def test_reading_a_ledger_of_an_older_version_migrates_it_first(tmp_path):
    db = tmp_path / "l.duckdb"
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "csv", [write_own_usage(tmp_path / "own.csv")], options={})
        as_before_the_dimension_rollup(ledger)
    # what every report command does: open read-only
    with api.open_ledger(db, read_only=True) as ledger:
        assert ledger.applied_migrations() == [name for name, _ in MIGRATIONS]
        assert dims_state(ledger) == expected_dims()
        assert api.summary(ledger, by="app", grain="day")["total"]["tokens"] == 7 + 1 + 3 + 2


def test_reports_by_a_row_dimension_read_the_rollup_and_agree_with_the_rows(tmp_path):
    from dataclasses import replace

    from tokenstat.metrics import reports

    f = write_own_usage(tmp_path / "own.csv")
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "csv", [f], options={"mapping": {}})
        ds = api.dataset(ledger)
        raw = replace(ds, dims=None)
        for by in ("app", "user", "project", "session"):
            for grain in ("day", "week"):
                assert reports.summary(ds, by=by, grain=grain) == reports.summary(
                    raw, by=by, grain=grain
                )
                assert reports.top(ds, by=by, grain=grain) == reports.top(raw, by=by, grain=grain)
        users = reports.summary(ds, by="user", grain="week")
    # by hand: ann 100+10 + 7+1, bob 50+5, no user 3+2
    assert {g["key"]: g["tokens"] for g in users["groups"]} == {
        "ann": 118,
        "bob": 55,
        "(none)": 5,
    }


# ---- imports in steps: rows committed as they stream, published at the end -------------
class LateExplodingSource(Source):
    """Yields the file's rows as one batch, records how many rows the ledger had committed
    by then (seen from another connection), then fails."""

    name = "late-exploding"

    def __init__(self, ledger: Ledger):
        self.reader = ledger.db.cursor()
        self.seen: list[int] = []

    def read(self, path: Path, ctx: ReadContext):
        from tokenstat.sources.market import MarketSource

        yield pa.Table.from_batches(list(MarketSource().read(path, ctx))).combine_chunks()
        self.seen.append(self.reader.execute("SELECT count(*) FROM usage").fetchone()[0])
        raise RuntimeError("disk on fire")


def test_rows_are_committed_as_they_stream_and_discarded_when_the_import_fails(
    tmp_path, monkeypatch
):
    import tokenstat.ledger as ledger_module
    from tokenstat.catalog import shipped_catalog
    from tokenstat.importing import import_files

    # statements of 1,000 rows (each one commits), as 983,040-row ones do at scale
    monkeypatch.setattr(ledger_module, "ROW_GROUP_ROWS", 1_000)
    monkeypatch.setattr(ledger_module, "APPEND_STATEMENT_ROWS", 1_000)
    good = write_csv(tmp_path / "good.csv", ["2026-03-30,glm-5,1,1"])
    # more rows than the pipeline gathers before it hands a batch on (BATCH_ROWS)
    rows = [f"2026-04-01,model-{i},9,9" for i in range(70_000)]
    more = write_csv(tmp_path / "more.csv", rows)
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "market", [good])
        before = ledger_state(ledger)
        source = LateExplodingSource(ledger)
        with pytest.raises(RuntimeError, match="disk on fire"):
            import_files(ledger, source, [more], catalog=shipped_catalog())
        # while it streamed, other connections saw the committed rows of the unfinished import
        assert source.seen == [1 + 70_000]
        assert ledger_state(ledger) == before
        assert ledger.db.execute("SELECT count(*) FROM imports").fetchone() == (1,)
        assert api.import_path(ledger, "market", [more]).rows_new == 70_000


def test_an_import_that_died_is_discarded_when_the_ledger_opens(tmp_path):
    db = tmp_path / "l.duckdb"
    good = write_csv(tmp_path / "good.csv", ["2026-03-30,glm-5,1,1"])
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "market", [good])
        before = ledger_state(ledger)
        # what a process killed half way through an import leaves: rows of an unfinished import
        with ledger.transaction():
            import_id = ledger.begin_import("market")
        ledger.db.execute(
            "INSERT INTO usage SELECT * REPLACE (? AS import_id, event_id || '-x' AS event_id) "
            "FROM usage",
            [import_id],
        )
        assert ledger.row_count() == 2
    for read_only in (True, False):
        with api.open_ledger(db, read_only=read_only) as ledger:
            assert ledger_state(ledger) == before
            assert ledger.db.execute(
                "SELECT count(*) FROM imports WHERE finished_at IS NULL"
            ).fetchone() == (0,)
