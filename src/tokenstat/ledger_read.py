"""A light read-only connection to the ledger, for the fast path of the own-usage
commands: DuckDB alone (no Ibis, no Arrow), the same busy-ledger waiting as
`tokenstat.ledger.Ledger.open`, the same session settings.

Values go into its SQL as quoted literals (`literal`), not as bound parameters: DuckDB's
Python client imports pandas to bind any parameter, which would cost more than the whole
query. It never migrates or repairs: callers use it only for tables the full ledger keeps
current (see `tokenstat.usage.buckets`), and fall back to `Ledger.open` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from tokenstat.ledger_lock import LockWait, connect_waiting
from tokenstat.paths import default_ledger_path


def connect_reader(
    path: Path | None = None, on_busy: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection | None:
    """A read-only DuckDB connection to the ledger at ``path`` (default
    `default_ledger_path`), in UTC; None when there is no ledger file yet."""
    target = path or default_ledger_path()
    if not target.exists():
        return None
    db = connect_waiting(
        lambda: duckdb.connect(str(target), read_only=True),
        LockWait(target, on_busy),
        read_only=True,
    )
    db.execute("SET TimeZone = 'UTC'")
    db.execute("SET enable_progress_bar = false")
    return db


def literal(value: str | int | date) -> str:
    """``value`` as a SQL literal: a string quoted (quotes doubled), a date as DATE '...',
    an integer as digits. Other types, and strings with control characters, are refused."""
    if isinstance(value, bool):
        raise TypeError("no SQL literal for a bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        if any(ord(c) < 32 for c in value):
            raise ValueError("control characters in a SQL string literal")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def has_table(db: duckdb.DuckDBPyConnection, name: str) -> bool:
    query = f"SELECT count(*) FROM duckdb_tables() WHERE table_name = {literal(name)}"
    return bool(db.execute(query).fetchone()[0])


def sources(db: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Sources in the ledger with row counts, date range and as-of/attribution lines."""
    rows = db.execute(
        """SELECT d.source, sum(d.rows)::BIGINT, min(d.day), max(d.day), m.as_of, m.attribution
           FROM usage_daily d LEFT JOIN source_meta m USING (source)
           GROUP BY d.source, m.as_of, m.attribution ORDER BY d.source"""
    ).fetchall()
    return [
        {
            "source": s,
            "rows": n,
            "first_day": lo.isoformat() if lo else None,
            "last_day": hi.isoformat() if hi else None,
            "as_of": as_of,
            "attribution": attribution,
        }
        for s, n, lo, hi, as_of, attribution in rows
    ]
