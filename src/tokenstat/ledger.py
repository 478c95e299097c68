"""The ledger: a DuckDB file holding canonical usage rows, opened through Ibis.

Tables (all created by the migrations below):

- ``usage``: canonical rows plus ``day`` (UTC date of ``ts``), ``event_key`` (64-bit hash
  of ``event_id``) and ``import_id``. Rows are appended in the order sources give them,
  so the table stays roughly ordered by time and DuckDB's zone maps prune on ``day``.
- ``usage_daily``: partial daily aggregates by (day, source, model, provider), appended by
  every import for its new rows. Reports on model, author, origin, open weights and
  provider read this table (a few hundred thousand rows for a year of 100M requests).
- ``usage_dims``: the same partial daily aggregates by (day, source, dimension, key) for
  the dimensions of the raw rows (app, user, project, session; ``dim`` names it, ``key``
  holds its value), appended by every import: what reports on those read.
- ``imports``, ``import_files``, ``quarantine``, ``source_meta``, ``model_attributions``:
  what was imported when, which files (by content hash), bad records with the reason,
  as-of dates of sources, and author/country given by the data itself.
- ``usage_replaced``: rows of ``keep = "largest"`` sources that a later import replaced
  by a larger copy, with ``replaced_by`` (that import's id), so that forgetting it
  (`Ledger.forget`) puts them back.
- ``file_offsets``: for incremental sources (append-only logs), how far each file was
  read, so the next import reads only new or grown files (`tokenstat.incremental`).
- ``price_points``: prices at a point in time from price-list snapshots (OpenRouter
  ``/api/v1/models``), see `tokenstat.prices.points`.
- ``migrations``: the named schema steps applied, in order.

Idempotency: a file whose content hash was imported before by the same source is skipped;
rows whose ``event_id`` is already in the ledger on the same UTC day are dropped (the
same event always carries the same time). The check goes a few days at a time over the
days the import touches, joins with earlier rows only where earlier imports touched
those days, on the 64-bit key first, then on the full id, so it scales with the import,
not with the ledger. An import lands whole or not at all: its rows stream into DuckDB
(`Ledger.append_batches`, whole row groups, committed as they come so that memory stays
bounded) under an import that is published only by its last transaction; an unfinished
import's rows are deleted (`Ledger.importing`).
Sources that log one event several times with growing counts (``keep = "largest"``)
keep the largest copy instead of the first, across imports too (`Ledger.keep_largest`).
An import can be taken back whole (`Ledger.forget`).

Only one process may write the file at a time (DuckDB's lock); opening a file another
process holds waits for it, up to a timeout (`tokenstat.ledger_lock`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.compute as pc

from tokenstat import ledger_read
from tokenstat.errors import LedgerError
from tokenstat.incremental import FileOffset
from tokenstat.ledger_lock import LockWait, connect_waiting
from tokenstat.paths import default_ledger_path
from tokenstat.schema import ROW_DIMENSIONS, TOKEN_COLUMNS, USAGE_SCHEMA
from tokenstat.sources.base import BadRecord

MEMORY_ENV = "TOKENSTAT_MEMORY_LIMIT"
# DuckDB's memory limit for the ledger (beyond it, DuckDB spills to disk): imports and
# reports ran no slower with 512MB than with 3GB (10M-row import, cost of 20M rows).
DEFAULT_MEMORY_LIMIT = "512MB"
# Days, and rows, checked for duplicates per step: bound the memory of the check and keep
# its hash tables small (fast); a day with more rows is one step.
DEDUPE_CHUNK_DAYS = 31
DEDUPE_CHUNK_ROWS = 262_144
# DuckDB's row group size (rows), and the rows one INSERT of an import takes from the
# stream (bounds the memory of the strings a statement holds), whole row groups.
ROW_GROUP_ROWS = 122_880
APPEND_STATEMENT_ROWS = 2 * ROW_GROUP_ROWS
# Where an import of a ``keep = "largest"`` source collects its rows (see keep_largest).
STAGING_TABLE = "_staged_usage"


# ---- schema migrations: named, ordered, recorded ---------------------------------------

_USAGE_COLUMNS_SQL = """
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    grain VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    model_raw VARCHAR NOT NULL,
    provider VARCHAR,
    app VARCHAR,
    "user" VARCHAR,
    project VARCHAR,
    session VARCHAR,
    input_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    requests BIGINT,
    cost_reported DOUBLE,
    day DATE NOT NULL,
    event_key UBIGINT NOT NULL,
    import_id INTEGER NOT NULL
"""


def _m001_core(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(f"CREATE TABLE usage ({_USAGE_COLUMNS_SQL})")
    db.execute(
        """CREATE TABLE usage_daily (
            day DATE NOT NULL, source VARCHAR NOT NULL, model VARCHAR NOT NULL,
            provider VARCHAR, input_tokens BIGINT, cache_read_tokens BIGINT,
            cache_write_tokens BIGINT, output_tokens BIGINT, reasoning_tokens BIGINT,
            requests BIGINT, cost_reported DOUBLE, cost_reported_rows BIGINT, rows BIGINT)"""
    )
    db.execute(
        """CREATE TABLE imports (
            import_id INTEGER PRIMARY KEY, source VARCHAR, started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ, rows_read BIGINT, rows_new BIGINT, rows_bad BIGINT,
            first_day DATE, last_day DATE)"""
    )
    db.execute(
        """CREATE TABLE import_files (
            source VARCHAR, path VARCHAR, sha256 VARCHAR, size BIGINT, import_id INTEGER)"""
    )
    db.execute(
        """CREATE TABLE quarantine (
            import_id INTEGER, source VARCHAR, location VARCHAR, field VARCHAR,
            reason VARCHAR, raw VARCHAR)"""
    )
    db.execute(
        "CREATE TABLE source_meta (source VARCHAR PRIMARY KEY, as_of VARCHAR, "
        "attribution VARCHAR, updated_at TIMESTAMPTZ)"
    )
    db.execute(
        "CREATE TABLE model_attributions (model VARCHAR PRIMARY KEY, author VARCHAR, "
        "country VARCHAR, source VARCHAR, import_id INTEGER)"
    )
    db.execute("CREATE TABLE ledger_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")


def _m002_file_offsets(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        """CREATE TABLE file_offsets (
            source VARCHAR NOT NULL, path VARCHAR NOT NULL, size BIGINT, mtime_ns BIGINT,
            "offset" BIGINT, lines BIGINT, head_hash VARCHAR, tail_hash VARCHAR,
            state VARCHAR, import_id INTEGER, PRIMARY KEY (source, path))"""
    )


def _m003_price_points(db: duckdb.DuckDBPyConnection) -> None:
    # Prices at a point in time (OpenRouter /api/v1/models snapshots), in USD per token
    # (per request for per_request); see tokenstat.prices.points.
    db.execute(
        """CREATE TABLE price_points (
            source VARCHAR NOT NULL, provider VARCHAR NOT NULL, model VARCHAR NOT NULL,
            model_raw VARCHAR, valid_from TIMESTAMPTZ NOT NULL, input DOUBLE,
            cache_read DOUBLE, cache_write DOUBLE, cache_write_1h DOUBLE, output DOUBLE,
            reasoning DOUBLE, per_request DOUBLE, discount DOUBLE, context_length BIGINT,
            import_id INTEGER, PRIMARY KEY (source, provider, model, valid_from))"""
    )


def _dim_of_grouping(dims: tuple[str, ...]) -> dict[int, str]:
    """The value DuckDB's GROUPING(app, user, ...) takes in each row dimension's grouping
    set of `usage_dims`'s query: a bit per column, set where the set leaves it out."""
    return {int("".join("0" if d == dim else "1" for d in dims), 2): dim for dim in dims}


_TOKEN_SUMS_SQL = ", ".join(f"sum({c}) AS {c}" for c in TOKEN_COLUMNS)
_ROLLUP_SUMS_SQL = (
    f"{_TOKEN_SUMS_SQL}, sum(requests) AS requests, sum(cost_reported) AS cost_reported, "
    "count(cost_reported) AS cost_reported_rows, count(*) AS rows"
)


def _dims_rollup_sql(where: str, dims: tuple[str, ...] = ROW_DIMENSIONS) -> str:
    """INSERT into ``usage_dims`` the sums of the ``usage`` rows matching ``where``: one
    scan, one grouping set per row dimension of ``dims``."""
    quoted = ", ".join(f'"{d}"' for d in dims)
    dim = " ".join(f"WHEN {g} THEN '{d}'" for g, d in _dim_of_grouping(dims).items())
    sets = ", ".join(f'(day, source, "{d}")' for d in dims)
    return f"""INSERT INTO usage_dims
        SELECT day, source, CASE grouping({quoted}) {dim} END, coalesce({quoted}),
               {_ROLLUP_SUMS_SQL}
        FROM usage WHERE {where} GROUP BY GROUPING SETS ({sets})"""


def _m004_dimension_rollup(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        """CREATE TABLE usage_dims (
            day DATE NOT NULL, source VARCHAR NOT NULL, dim VARCHAR NOT NULL, key VARCHAR,
            input_tokens BIGINT, cache_read_tokens BIGINT, cache_write_tokens BIGINT,
            output_tokens BIGINT, reasoning_tokens BIGINT, requests BIGINT,
            cost_reported DOUBLE, cost_reported_rows BIGINT, rows BIGINT)"""
    )
    # the row dimensions of this migration's time (`_m007_machine_and_cache_1h` adds one)
    db.execute(_dims_rollup_sql("true", ("app", "user", "project", "session")))


def _m005_forget(db: duckdb.DuckDBPyConnection) -> None:
    # what `Ledger.forget` needs: rows a larger copy replaced (``keep = "largest"``), kept
    # with the import that replaced them, and the number of files each import read
    db.execute("CREATE TABLE usage_replaced AS FROM usage LIMIT 0")
    db.execute("ALTER TABLE usage_replaced ADD COLUMN replaced_by INTEGER")
    db.execute("ALTER TABLE imports ADD COLUMN files_read INTEGER")


# Rollup columns that hold sums of the rows' counts: HUGEINT, as ``sum(BIGINT)`` is, so that
# no number of rows (each up to 2^63 - 1) can overflow them.
_WIDE_ROLLUP_COLUMNS = (*TOKEN_COLUMNS, "requests", "cost_reported_rows", "rows")


def _m006_wide_rollup_sums(db: duckdb.DuckDBPyConnection) -> None:
    for table in ("usage_daily", "usage_dims"):
        for column in _WIDE_ROLLUP_COLUMNS:
            db.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE HUGEINT')


def _m007_machine_and_cache_1h(db: duckdb.DuckDBPyConnection) -> None:
    # ``machine``: where a local log was read (a row dimension, rolled up like the others);
    # ``cache_write_1h_tokens``: the part of the cache writes kept for an hour (priced apart)
    for table in ("usage", "usage_replaced"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN machine VARCHAR")
        db.execute(f"ALTER TABLE {table} ADD COLUMN cache_write_1h_tokens BIGINT DEFAULT 0")
        db.execute(f"UPDATE {table} SET cache_write_1h_tokens = 0")
    db.execute(
        f"""INSERT INTO usage_dims SELECT day, source, 'machine', NULL, {_ROLLUP_SUMS_SQL}
            FROM usage GROUP BY day, source"""
    )


MIGRATIONS: list[tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]] = [
    ("001_core_tables", _m001_core),
    ("002_file_offsets", _m002_file_offsets),
    ("003_price_points", _m003_price_points),
    ("004_dimension_rollup", _m004_dimension_rollup),
    ("005_forget", _m005_forget),
    ("006_wide_rollup_sums", _m006_wide_rollup_sums),
    ("007_machine_and_cache_1h", _m007_machine_and_cache_1h),
]

# A value fixed by DuckDB's hash function: if a DuckDB upgrade changes the function,
# stored event keys are recomputed on open.
_KEY_PROBE_SQL = "SELECT hash('tokenstat event key')::VARCHAR"


@dataclass
class ImportResult:
    """What one import did (counts are rows)."""

    import_id: int | None
    source: str
    files_read: int = 0
    files_skipped: int = 0
    files_resumed: int = 0  # of files_read: grown files read from where the last import stopped
    bytes_read: int = 0
    rows_read: int = 0
    rows_new: int = 0
    rows_duplicate: int = 0
    rows_replaced: int = 0  # rows of earlier imports replaced by a larger copy
    rows_bad: int = 0
    first_day: date | None = None
    last_day: date | None = None
    bad_examples: list[BadRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Ledger:
    """A ledger file. Use `Ledger.open` (creates and migrates as needed)."""

    def __init__(self, path: Path, con: ibis.BaseBackend):
        self.path = path
        self.con = con
        self.db: duckdb.DuckDBPyConnection = con.con

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        *,
        read_only: bool = False,
        on_busy: Callable[[str], None] | None = None,
    ) -> Ledger:
        """Open (read-write: create and migrate as needed) the ledger at ``path``, default
        `default_ledger_path`.

        While another process holds the file (an import writing, or readers when this
        open writes), waits up to ``$TOKENSTAT_LOCK_TIMEOUT`` seconds (default 60) and
        tells ``on_busy`` once, in one line, which process it waits for (without
        ``on_busy``: a warning of the ``tokenstat.ledger`` logger); then `LedgerError`.
        """
        target = Path(path) if path else default_ledger_path()
        return cls._open(target, read_only, LockWait(target, on_busy))

    @classmethod
    def _open(cls, target: Path, read_only: bool, wait: LockWait) -> Ledger:
        if read_only and not target.exists():
            raise LedgerError(
                f"no ledger at {target}; import data first (tokenstat import ...) or pass --db"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = connect_waiting(
                lambda: ibis.duckdb.connect(str(target), read_only=read_only),
                wait,
                read_only=read_only,
            )
        except duckdb.Error as exc:
            raise LedgerError(f"cannot open ledger {target}: {exc}".splitlines()[0]) from None
        ledger = cls(target, con)
        ledger.db.execute("SET TimeZone = 'UTC'")
        ledger.db.execute("SET preserve_insertion_order = false")
        # DuckDB prints a progress bar on stdout for slow queries: it would corrupt --json
        ledger.db.execute("SET enable_progress_bar = false")
        memory = os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT)
        ledger.db.execute(f"SET memory_limit = '{memory}'")
        if not read_only:
            ledger._migrate()
            ledger._discard_unfinished_imports()
        elif ledger._pending_migrations() or ledger._unfinished_imports():
            # written by an older version, or by an import that died: put it right, then read
            ledger.close()
            cls._open(target, False, wait).close()
            return cls._open(target, True, wait)
        return ledger

    def close(self) -> None:
        self.con.disconnect()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- migrations ----------------------------------------------------------------
    def _migrate(self) -> None:
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS migrations "
            "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)"
        )
        done = {row[0] for row in self.db.execute("SELECT name FROM migrations").fetchall()}
        for name, step in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                step(self.db)
                self.db.execute("INSERT INTO migrations VALUES (?, now())", [name])
        self._check_event_keys()

    def _pending_migrations(self) -> list[str]:
        found = self.db.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'migrations'"
        ).fetchone()[0]
        done = set(self.applied_migrations()) if found else set()
        return [name for name, _ in MIGRATIONS if name not in done]

    def applied_migrations(self) -> list[str]:
        return [
            r[0] for r in self.db.execute("SELECT name FROM migrations ORDER BY name").fetchall()
        ]

    def _check_event_keys(self) -> None:
        probe = self.db.execute(_KEY_PROBE_SQL).fetchone()[0]
        stored = self.db.execute("SELECT value FROM ledger_meta WHERE key = 'key_probe'").fetchone()
        if stored and stored[0] == probe:
            return
        with self.transaction():
            if stored:
                self.db.execute("UPDATE usage SET event_key = hash(event_id)")
            self.db.execute("INSERT OR REPLACE INTO ledger_meta VALUES ('key_probe', ?)", [probe])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- importing ---------------------------------------------------------------------
    def file_seen(self, source: str, sha256: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM import_files WHERE source = ? AND sha256 = ? LIMIT 1", [source, sha256]
        ).fetchone()
        return row is not None

    @contextmanager
    def importing(self, source: str) -> Iterator[int]:
        """An import in steps; yields its id.

        Rows are committed as they stream in (DuckDB holds the rows of an open
        transaction in memory, about 40 bytes each), and the import is published by
        `finish_import`, in the caller's last transaction. Until then it is unfinished:
        when anything fails, its rows are deleted here; a process that dies leaves them to
        `_discard_unfinished_imports`, which opening the ledger runs first. So an import
        lands whole or not at all, and memory does not grow with its size.
        """
        with self.transaction():
            import_id = self.begin_import(source)
        try:
            yield import_id
        except BaseException:
            self._discard_unfinished_imports()
            self.db.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
            raise

    def _unfinished_imports(self) -> int:
        query = "SELECT count(*) FROM imports WHERE finished_at IS NULL"
        return self.db.execute(query).fetchone()[0]

    def _discard_unfinished_imports(self) -> None:
        if not self._unfinished_imports():
            return
        with self.transaction():
            self.db.execute(
                """DELETE FROM usage WHERE import_id IN
                     (SELECT import_id FROM imports WHERE finished_at IS NULL)"""
            )
            self.db.execute("DELETE FROM imports WHERE finished_at IS NULL")

    def begin_import(self, source: str) -> int:
        """Start an import inside an open transaction; returns its id."""
        import_id = self.db.execute(
            "SELECT coalesce(max(import_id), 0) + 1 FROM imports"
        ).fetchone()[0]
        self.db.execute(
            "INSERT INTO imports (import_id, source, started_at) VALUES (?, ?, now())",
            [import_id, source],
        )
        return import_id

    def append_batch(
        self, batch: pa.RecordBatch | pa.Table, import_id: int, *, table: str = "usage"
    ) -> int:
        """Append canonical rows (duplicates are removed by `finish_import`), to ``usage``
        or to the staging table of `stage_import`."""
        if batch.num_rows == 0:
            return 0
        return self.append_batches([batch], import_id, table=table)

    def append_batches(
        self,
        batches: Iterable[pa.RecordBatch | pa.Table],
        import_id: int,
        *,
        table: str = "usage",
    ) -> int:
        """Append a stream of canonical batches; returns the rows appended.

        DuckDB pulls the batches while it writes: reading and converting the next batch
        (in the thread that pulls) overlaps with storing the previous ones (in the others),
        and rows keep the order of the stream (the first copy of a repeated event is the
        one kept). One statement takes about `APPEND_STATEMENT_ROWS` rows: DuckDB holds the
        Arrow memory of the strings a statement reads until the statement ends. Outside a
        transaction each statement commits (see `importing`).
        ``batches`` must not use this ledger's connection while it is consumed. An
        exception raised by ``batches`` is raised again as it was.
        """
        failure: list[BaseException] = []
        appended = 0

        def conformed() -> Iterator[pa.RecordBatch]:
            # batches of exactly one row group (but the last): a batch that is not becomes
            # a part-filled row group of the table, which later checkpoints merge (slow)
            nonlocal appended
            pending: list[pa.RecordBatch] = []
            pending_rows = 0
            try:
                for batch in batches:
                    if not batch.num_rows:
                        continue
                    arrow = _conform(batch)
                    appended += arrow.num_rows
                    # the UTC day, here: cheaper than DuckDB's time-zone aware cast
                    arrow = arrow.append_column("day", pc.cast(arrow["ts"], pa.date32()))
                    pending += arrow.to_batches()
                    pending_rows += arrow.num_rows
                    while pending_rows >= ROW_GROUP_ROWS:
                        table = pa.Table.from_batches(pending)
                        yield from table.slice(0, ROW_GROUP_ROWS).combine_chunks().to_batches()
                        pending = table.slice(ROW_GROUP_ROWS).to_batches()
                        pending_rows -= ROW_GROUP_ROWS
                if pending_rows:
                    yield from pa.Table.from_batches(pending).combine_chunks().to_batches()
            except BaseException as exc:
                failure.append(exc)
                raise

        stream = conformed()
        rest: list[pa.RecordBatch] = []  # the part of a batch the last statement left

        def next_batch() -> pa.RecordBatch | None:
            return rest.pop() if rest else next(stream, None)

        def portion(first: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
            # exactly APPEND_STATEMENT_ROWS rows (but the last): whole row groups, as a
            # statement that ends with a part-filled one leaves it part-filled in the table
            rows = 0
            batch: pa.RecordBatch | None = first
            while batch is not None:
                room = APPEND_STATEMENT_ROWS - rows
                if batch.num_rows > room:
                    rest.append(batch.slice(room))
                    batch = batch.slice(0, room)
                rows += batch.num_rows
                yield batch
                if rows >= APPEND_STATEMENT_ROWS:
                    return
                batch = next_batch()

        columns = ", ".join(f'"{c}"' for c in USAGE_SCHEMA.names)
        schema = _NULLABLE.append(pa.field("day", pa.date32()))
        self.db.execute("SET preserve_insertion_order = true")
        try:
            # each statement's first batch is read here: nothing left, no statement
            while (first := next_batch()) is not None:
                reader = pa.RecordBatchReader.from_batches(schema, portion(first))
                self.db.register("_incoming", reader)
                try:
                    self.db.execute(
                        f"""INSERT INTO {table} ({columns}, day, event_key, import_id)
                            SELECT {columns}, day, hash(event_id), {int(import_id)}
                            FROM _incoming"""
                    )
                finally:
                    self.db.unregister("_incoming")
        except duckdb.Error:
            if failure:
                raise failure[0] from None
            raise
        finally:
            # refused in a transaction the failed statement aborted; the setting changes
            # only how statements run, not what they do
            with suppress(duckdb.TransactionException):
                self.db.execute("SET preserve_insertion_order = false")
        return appended

    def finish_import(
        self,
        import_id: int,
        *,
        rows_read: int,
        bad: Iterable[BadRecord],
        files: Iterable[tuple[str, str, int]],
        source: str,
        meta: dict[str, str],
        model_overrides: dict[str, tuple[str | None, str | None]],
    ) -> tuple[int, int, date | None, date | None]:
        """Drop duplicates, update the daily rollup and record the import.

        Returns (rows_new, rows_duplicate, first_day, last_day).
        """
        days = self.db.execute(
            "SELECT day, count(*) FROM usage WHERE import_id = ? GROUP BY day ORDER BY day",
            [import_id],
        ).fetchall()
        appended = sum(n for _, n in days)
        first_day, last_day = (days[0][0], days[-1][0]) if days else (None, None)
        if appended:
            self._drop_duplicates(import_id, days)
        rows_new = self.db.execute(
            "SELECT count(*) FROM usage WHERE import_id = ?", [import_id]
        ).fetchone()[0]
        if rows_new:
            self._insert_rollup("import_id = ?", [import_id])
        bad_rows = [(import_id, source, b.location, b.field, b.reason, b.raw) for b in bad]
        if bad_rows:
            self.db.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)", bad_rows)
        for path, sha, size in files:
            self.db.execute(
                "INSERT INTO import_files VALUES (?, ?, ?, ?, ?)",
                [source, path, sha, size, import_id],
            )
        if meta:
            self.db.execute(
                "INSERT OR REPLACE INTO source_meta VALUES (?, ?, ?, now())",
                [source, meta.get("as_of"), meta.get("attribution")],
            )
        for model, (author, country) in model_overrides.items():
            self.db.execute(
                "INSERT OR REPLACE INTO model_attributions VALUES (?, ?, ?, ?, ?)",
                [model, author, country, source, import_id],
            )
        self.db.execute(
            """UPDATE imports SET finished_at = now(), rows_read = ?, rows_new = ?, rows_bad = ?,
                   first_day = ?, last_day = ? WHERE import_id = ?""",
            [rows_read, rows_new, len(bad_rows), first_day, last_day, import_id],
        )
        return rows_new, appended - rows_new, first_day, last_day

    def _insert_rollup(self, where: str, params: list) -> None:
        """Append daily partial aggregates of the ``usage`` rows matching ``where`` to
        both rollups."""
        self.db.execute(
            f"""INSERT INTO usage_daily
                SELECT day, source, model, provider, {_ROLLUP_SUMS_SQL}
                FROM usage WHERE {where} GROUP BY ALL""",
            params,
        )
        self.db.execute(_dims_rollup_sql(where), params)

    def stage_import(self) -> str:
        """Create the (temporary) table `keep_largest` reads an import's rows from."""
        self.db.execute(f"CREATE OR REPLACE TEMP TABLE {STAGING_TABLE} AS FROM usage LIMIT 0")
        return STAGING_TABLE

    def keep_largest(self, import_id: int) -> tuple[int, int]:
        """Move staged rows into ``usage``, keeping of each event the copy with the most tokens.

        For sources that log one event several times with growing counts (streamed
        responses). The import's rows were appended to the staging table (`stage_import`),
        so copies are resolved before they reach ``usage`` (deleting rows inserted in the
        same transaction makes DuckDB's commit slow). Copies are rows of the same source
        and ``event_id`` within one UTC day of each other; the kept copy has the largest
        input + output tokens (ties: the copy already in the ledger, else the earliest,
        else the first appended). Rows of earlier imports that lose are moved to
        ``usage_replaced`` (for `forget`) and the rollups of their days are rebuilt. Call
        inside the import's transaction, before `finish_import`. Returns (rows of this
        import dropped, rows of earlier imports replaced).
        """
        imp, staged = int(import_id), STAGING_TABLE
        first_day, last_day, appended = self.db.execute(
            f"SELECT min(day), max(day), count(*) FROM {staged}"
        ).fetchone()
        if not appended:
            self.db.execute(f"DROP TABLE {staged}")
            return 0, 0
        self.db.execute(
            f"""DELETE FROM {staged} WHERE rowid IN (
                 SELECT rowid FROM (
                   SELECT rowid, row_number() OVER (
                       PARTITION BY event_key, event_id
                       ORDER BY input_tokens + output_tokens DESC, ts, rowid) AS copy
                   FROM {staged} WHERE event_key IN (
                       SELECT event_key FROM {staged} GROUP BY event_key HAVING count(*) > 1))
                 WHERE copy > 1)"""
        )
        self.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE _superseded AS
               SELECT n.rowid AS new_row, o.rowid AS old_row, o.day AS old_day, o.source,
                      n.input_tokens + n.output_tokens > o.input_tokens + o.output_tokens
                          AS larger
               FROM {staged} n JOIN usage o
                 ON o.event_key = n.event_key AND o.event_id = n.event_id
                AND o.source = n.source AND o.day BETWEEN n.day - 1 AND n.day + 1
               WHERE o.day BETWEEN $lo AND $hi""",
            {"lo": first_day - timedelta(days=1), "hi": last_day + timedelta(days=1)},
        )
        try:
            self.db.execute(
                f"DELETE FROM {staged} WHERE rowid IN "
                "(SELECT new_row FROM _superseded WHERE NOT larger)"
            )
            # kept aside, so that forgetting this import brings them back
            self.db.execute(
                f"""INSERT INTO usage_replaced BY NAME
                    SELECT *, {imp} AS replaced_by FROM usage WHERE rowid IN
                    (SELECT old_row FROM _superseded WHERE larger)"""
            )
            replaced = self.db.execute(
                "DELETE FROM usage WHERE rowid IN (SELECT old_row FROM _superseded WHERE larger)"
            ).fetchone()[0]
            stale = self.db.execute(
                "SELECT DISTINCT source, old_day FROM _superseded WHERE larger"
            ).fetchall()
        finally:
            self.db.execute("DROP TABLE IF EXISTS _superseded")
        kept = self.db.execute(
            f"INSERT INTO usage BY NAME SELECT * REPLACE ({imp} AS import_id) FROM {staged}"
        ).fetchone()[0]
        self.db.execute(f"DROP TABLE {staged}")
        for source, day in stale:
            for rollup in ("usage_daily", "usage_dims"):
                self.db.execute(f"DELETE FROM {rollup} WHERE source = ? AND day = ?", [source, day])
            self._insert_rollup("source = ? AND day = ? AND import_id <> ?", [source, day, imp])
        return appended - kept, replaced

    # ---- incremental sources -------------------------------------------------------------
    def file_offsets(self, source: str) -> dict[str, FileOffset]:
        """How far each file of ``source`` was read, by path."""
        rows = self.db.execute(
            """SELECT path, size, mtime_ns, "offset", lines, head_hash, tail_hash, state
               FROM file_offsets WHERE source = ?""",
            [source],
        ).fetchall()
        return {
            r[0]: FileOffset(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}"))
            for r in rows
        }

    def save_file_offsets(self, source: str, import_id: int, offsets: Iterable[FileOffset]) -> None:
        """Store (replace) how far files of ``source`` were read by import ``import_id``."""
        rows = list(offsets)
        if not rows:
            return
        table = pa.table(
            {
                "source": [source] * len(rows),
                "path": [o.path for o in rows],
                "size": [o.size for o in rows],
                "mtime_ns": [o.mtime_ns for o in rows],
                "offset": [o.offset for o in rows],
                "lines": [o.lines for o in rows],
                "head_hash": [o.head_hash for o in rows],
                "tail_hash": [o.tail_hash for o in rows],
                "state": [json.dumps(o.state, separators=(",", ":")) for o in rows],
                "import_id": pa.array([import_id] * len(rows), pa.int32()),
            }
        )
        self.db.register("_offsets", table)
        try:
            self.db.execute("INSERT OR REPLACE INTO file_offsets SELECT * FROM _offsets")
        finally:
            self.db.unregister("_offsets")

    def _drop_duplicates(self, import_id: int, days: list[tuple[date, int]]) -> None:
        """Delete this import's rows whose (day, event_id) is already in the ledger or
        repeats within the import (keeping the first).

        ``days``: (day, rows appended) of the import, in order. The work goes by chunks of
        consecutive days (`_day_chunks`), so that each check's hash table stays small: a
        day of a 100M-rows year fits in the CPU cache. The join with earlier rows runs
        only for the chunks holding days that earlier imports touched.
        """
        earlier = {
            row[0]
            for row in self.db.execute(
                "SELECT DISTINCT day FROM usage WHERE day BETWEEN ? AND ? AND import_id <> ?",
                [days[0][0], days[-1][0], import_id],
            ).fetchall()
        }
        for lo, hi in _day_chunks(days):
            params = {"imp": import_id, "lo": lo, "hi": hi}
            if any(lo <= day <= hi for day in earlier):
                self.db.execute(
                    """DELETE FROM usage WHERE rowid IN (
                         SELECT n.rowid FROM usage n JOIN usage o
                           ON o.event_key = n.event_key AND o.day = n.day
                          AND o.event_id = n.event_id
                         WHERE n.import_id = $imp AND n.day BETWEEN $lo AND $hi
                           AND o.import_id <> $imp AND o.day BETWEEN $lo AND $hi)""",
                    params,
                )
            repeated = self.db.execute(
                """SELECT EXISTS (SELECT 1 FROM usage
                     WHERE import_id = $imp AND day BETWEEN $lo AND $hi
                     GROUP BY day, event_key HAVING count(*) > 1)""",
                params,
            ).fetchone()[0]
            if not repeated:
                continue
            self.db.execute(
                """DELETE FROM usage WHERE rowid IN (
                     SELECT rowid FROM (
                       SELECT rowid, row_number() OVER (
                           PARTITION BY event_key, day, event_id ORDER BY rowid) AS copy
                       FROM usage
                       WHERE import_id = $imp AND day BETWEEN $lo AND $hi AND event_key IN (
                           SELECT event_key FROM usage
                           WHERE import_id = $imp AND day BETWEEN $lo AND $hi
                           GROUP BY day, event_key HAVING count(*) > 1))
                     WHERE copy > 1)""",
                params,
            )

    # ---- reading -------------------------------------------------------------------------
    def daily(self) -> ibis.Table:
        """Ibis table of the daily rollup (day, source, model, provider, token sums, ...)."""
        return self.con.table("usage_daily")

    def usage(self) -> ibis.Table:
        return self.con.table("usage")

    def dims(self) -> ibis.Table:
        """Ibis table of the rollup by row dimension (day, source, dim, key, sums, ...)."""
        return self.con.table("usage_dims")

    def row_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM usage").fetchone()[0]

    def models_in_use(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT model FROM usage_daily").fetchall()]

    def model_overrides(self) -> dict[str, tuple[str | None, str | None]]:
        rows = self.db.execute("SELECT model, author, country FROM model_attributions").fetchall()
        return {m: (a, c) for m, a, c in rows}

    def sources(self) -> list[dict[str, object]]:
        """Sources in the ledger with row counts, date range and as-of/attribution lines."""
        return ledger_read.sources(self.db)

    def quarantine(self, limit: int = 100) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT import_id, source, location, field, reason FROM quarantine "
            "ORDER BY import_id DESC LIMIT ?",
            [limit],
        ).fetchall()
        keys = ("import_id", "source", "location", "field", "reason")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # ---- the list of imports, and their undo ----------------------------------------------
    def record_files_read(self, import_id: int, files: int) -> None:
        """Store how many files import ``import_id`` read (shown by `imports`)."""
        self.db.execute("UPDATE imports SET files_read = ? WHERE import_id = ?", [files, import_id])

    def meta(self, key: str) -> str | None:
        """A value the ledger keeps for tokenstat (table ``ledger_meta``), or None."""
        row = self.db.execute("SELECT value FROM ledger_meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO ledger_meta VALUES (?, ?)", [key, value])

    def last_import_id(self) -> int:
        """The id of the latest finished import (0 when none)."""
        query = "SELECT coalesce(max(import_id), 0) FROM imports WHERE finished_at IS NOT NULL"
        return int(self.db.execute(query).fetchone()[0])

    def export_rows(
        self,
        path: Path,
        *,
        after: int,
        until: int,
        skip_imports_by: Sequence[str] = (),
        skip_sources: Sequence[str] = (),
        metadata: dict[str, str] | None = None,
    ) -> int:
        """Write the canonical columns of the usage rows of imports ``after`` < id <=
        ``until`` to a Parquet file at ``path`` (time order), leaving out imports made by
        the importers ``skip_imports_by`` and rows of the sources ``skip_sources``, with
        ``metadata`` as the file's key/value metadata; returns the rows written."""
        columns = ", ".join(f'u."{c}"' for c in USAGE_SCHEMA.names)
        skip_imports = ", ".join(ledger_read.literal(s) for s in skip_imports_by) or "NULL"
        skip_rows = ", ".join(ledger_read.literal(s) for s in skip_sources) or "NULL"
        meta = ", ".join(
            f"{ledger_read.literal(k)}: {ledger_read.literal(v)}"
            for k, v in (metadata or {}).items()
        )
        options = f", KV_METADATA {{{meta}}}" if meta else ""
        query = f"""COPY (
                SELECT {columns} FROM usage u JOIN imports i USING (import_id)
                WHERE u.import_id > {int(after)} AND u.import_id <= {int(until)}
                  AND i.source NOT IN ({skip_imports}) AND u.source NOT IN ({skip_rows})
                ORDER BY u.ts, u.event_id
            ) TO {ledger_read.literal(str(path))} (FORMAT PARQUET{options})"""
        return int(self.db.execute(query).fetchone()[0])

    def imports(
        self, limit: int | None = None, ids: Iterable[int] | None = None
    ) -> list[dict[str, object]]:
        """Imports, latest first (at most ``limit``; only ``ids`` when given): id, source,
        files read, rows added then (``rows_new``), rows in the ledger now that carry the
        id (``rows``: usage rows and price points; fewer than ``rows_new`` where later
        imports replaced rows by larger copies), records quarantined, start and end (UTC).
        """
        where, params = "", []
        if ids is not None:
            wanted = sorted({int(i) for i in ids})
            where = f"WHERE i.import_id IN ({', '.join('?' * len(wanted)) or 'NULL'})"
            params = wanted
        rows = self.db.execute(
            f"""SELECT i.import_id, i.source, coalesce(i.files_read, f.files, 0), i.rows_read,
                       i.rows_new, coalesce(u.rows, 0) + coalesce(p.rows, 0), coalesce(q.rows, 0),
                       i.first_day, i.last_day, i.started_at, i.finished_at
                FROM imports i
                LEFT JOIN (SELECT import_id, count(*) AS files FROM import_files GROUP BY 1) f
                  USING (import_id)
                LEFT JOIN (SELECT import_id, count(*) AS rows FROM quarantine GROUP BY 1) q
                  USING (import_id)
                LEFT JOIN (SELECT import_id, count(*) AS rows FROM usage GROUP BY 1) u
                  USING (import_id)
                LEFT JOIN (SELECT import_id, count(*) AS rows FROM price_points GROUP BY 1) p
                  USING (import_id)
                {where} ORDER BY i.import_id DESC {"LIMIT ?" if limit is not None else ""}""",
            params + ([int(limit)] if limit is not None else []),
        ).fetchall()
        keys = (
            "import_id", "source", "files", "rows_read", "rows_new", "rows", "quarantined",
            "first_day", "last_day", "started_at", "finished_at",
        )  # fmt: skip
        return [
            {
                k: v.isoformat() if isinstance(v, date | datetime) else v
                for k, v in zip(keys, r, strict=True)
            }
            for r in rows
        ]

    def forget(self, import_ids: Iterable[int]) -> dict[str, int]:
        """Take imports back, in one transaction: their rows in ``usage`` (and the rows
        they replaced by larger copies come back, unless another copy of the event is in
        the ledger), their part of both rollups (the days they touched are rebuilt from
        the remaining rows), their price points, quarantined records, model attributions,
        and their file records, so that the same files can be imported again (for log
        sources read incrementally: the read positions of every file of the source that
        these imports or later ones read, so those files are read again in full; the
        duplicate check keeps that from doubling anything).

        Returns counts: ``imports``, ``rows_removed``, ``rows_restored``,
        ``price_points_removed``, ``quarantine_removed``, ``files_released``,
        ``days_rebuilt``. An unknown id is a `LedgerError` naming the recent ones.
        """
        ids = sorted({int(i) for i in import_ids})
        found = {r["import_id"] for r in self.imports(ids=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            recent = [str(r["import_id"]) for r in self.imports(limit=10)]
            known = f"recent imports: {', '.join(recent)}" if recent else "no imports yet"
            raise LedgerError(
                f"no import {', '.join(map(str, missing))} in the ledger ({known})",
                hint="tokenstat ledger imports lists them",
            )
        gone = "import_id IN (SELECT import_id FROM _forget)"
        counts: dict[str, int] = {"imports": len(ids)}
        with self.transaction():
            self.db.execute("CREATE OR REPLACE TEMP TABLE _forget (import_id INTEGER)")
            self.db.executemany("INSERT INTO _forget VALUES (?)", [[i] for i in ids])
            self.db.execute(
                f"CREATE OR REPLACE TEMP TABLE _forget_days AS "
                f"SELECT DISTINCT source, day FROM usage WHERE {gone}"
            )
            removed = self.db.execute(f"DELETE FROM usage WHERE {gone}").fetchone()[0]
            counts["rows_removed"] = removed
            # of each event the largest replaced copy, where no copy is left in the ledger
            self.db.execute(
                f"""CREATE OR REPLACE TEMP TABLE _restore AS
                    SELECT * EXCLUDE (replaced_by, copy) FROM (
                      SELECT *, row_number() OVER (
                          PARTITION BY source, event_key, event_id
                          ORDER BY input_tokens + output_tokens DESC, ts) AS copy
                      FROM usage_replaced r
                      WHERE replaced_by IN (SELECT import_id FROM _forget) AND NOT {gone}
                        AND NOT EXISTS (SELECT 1 FROM usage u
                          WHERE u.event_key = r.event_key AND u.event_id = r.event_id
                            AND u.source = r.source AND u.day BETWEEN r.day - 1 AND r.day + 1))
                    WHERE copy = 1"""
            )
            counts["rows_restored"] = self.db.execute(
                "INSERT INTO usage BY NAME SELECT * FROM _restore"
            ).fetchone()[0]
            self.db.execute("INSERT INTO _forget_days SELECT DISTINCT source, day FROM _restore")
            self.db.execute("DROP TABLE _restore")
            self.db.execute(
                f"DELETE FROM usage_replaced WHERE {gone} "
                "OR replaced_by IN (SELECT import_id FROM _forget)"
            )
            touched = "EXISTS (FROM _forget_days t WHERE t.source = {0}.source AND t.day = {0}.day)"
            for rollup in ("usage_daily", "usage_dims"):
                self.db.execute(f"DELETE FROM {rollup} WHERE {touched.format(rollup)}")
            self._insert_rollup(touched.format("usage"), [])
            counts["days_rebuilt"] = self.db.execute(
                "SELECT count(*) FROM (SELECT DISTINCT day FROM _forget_days)"
            ).fetchone()[0]
            self.db.execute("DROP TABLE _forget_days")
            counts["price_points_removed"] = self.db.execute(
                f"DELETE FROM price_points WHERE {gone}"
            ).fetchone()[0]
            counts["quarantine_removed"] = self.db.execute(
                f"DELETE FROM quarantine WHERE {gone}"
            ).fetchone()[0]
            self.db.execute(f"DELETE FROM model_attributions WHERE {gone}")
            released = self.db.execute(f"DELETE FROM import_files WHERE {gone}").fetchone()[0]
            # a log file's read position belongs to the last import that read it: release
            # those of every import of the same source from the first one forgotten on
            released += self.db.execute(
                """DELETE FROM file_offsets o WHERE import_id >= (
                     SELECT min(f.import_id) FROM _forget f JOIN imports i USING (import_id)
                     WHERE i.source = o.source)"""
            ).fetchone()[0]
            counts["files_released"] = released
            self.db.execute(f"DELETE FROM imports WHERE {gone}")
            self.db.execute("DROP TABLE _forget")
        return counts


def _conform(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """Cast a batch to the canonical schema (column order, types, UTC timestamps); a column
    a batch lacks is null, or 0 for the one-hour cache writes."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    missing = [n for n in USAGE_SCHEMA.names if n not in table.column_names]
    for name in missing:
        type_ = USAGE_SCHEMA.field(name).type
        column = (
            pa.nulls(table.num_rows, type_)
            if name != "cache_write_1h_tokens"
            else pa.array([0] * table.num_rows, type_)
        )
        table = table.append_column(name, column)
    table = table.select(USAGE_SCHEMA.names)
    return table.cast(_NULLABLE)


_NULLABLE = pa.schema([f.with_nullable(True) for f in USAGE_SCHEMA])


def _day_chunks(days: list[tuple[date, int]]) -> Iterator[tuple[date, date]]:
    """(first, last) day of consecutive runs of ``days`` ((day, rows), in order) holding
    at most `DEDUPE_CHUNK_ROWS` rows (or a single day) and spanning at most
    `DEDUPE_CHUNK_DAYS` days."""
    lo = hi = None
    rows = 0
    for day, n in days:
        if lo is not None and (
            rows + n > DEDUPE_CHUNK_ROWS or (day - lo).days >= DEDUPE_CHUNK_DAYS
        ):
            yield lo, hi
            lo = None
        if lo is None:
            lo, rows = day, 0
        hi = day
        rows += n
    if lo is not None:
        yield lo, hi


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def utc_now() -> datetime:
    return datetime.now(UTC)
