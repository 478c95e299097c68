"""Own usage: the reports of `tokenstat daily|weekly|monthly|session|blocks`.

``run`` is what the commands call. It refreshes the local agent logs (`refresh`), keeps
the priced quarter-hour rollup current (`buckets`) and answers from it in plain SQL
(`fast`); with nothing new to read and the rollup current, it needs neither Ibis nor Arrow,
so a repeated command costs little more than starting Python. When the rollup cannot be
brought up to date (``refresh=False`` opens the ledger read-only), the same report comes
from the raw rows through Ibis (`reference`). The report shapes are `query`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenstat.usage.query import UsageQuery

if TYPE_CHECKING:
    import duckdb

    from tokenstat.ledger import ImportResult, Ledger


def run(
    kind: str,
    q: UsageQuery,
    *,
    db_path: Path | None = None,
    catalog_file: Path | None = None,
    refresh: bool = True,
    on_busy: Callable[[str], None] | None = None,
    on_import: Callable[[str, ImportResult], None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``kind`` report (``period``, ``session`` or ``blocks``; ``extra`` are the blocks
    options) of the ledger at ``db_path``, after reading new local agent logs unless
    ``refresh`` is False."""
    from tokenstat.ledger_read import connect_reader
    from tokenstat.usage import buckets

    q.check()
    reader = connect_reader(db_path, on_busy)
    if reader is not None:
        try:
            stored = buckets.stored_stamp(reader)
            fresh = stored is not None and stored == buckets.stamp(reader, catalog_file)
            if fresh and not (refresh and _logs_pending(reader)):
                return _fast(reader, kind, q, extra)
        finally:
            reader.close()
    return _full(kind, q, db_path, catalog_file, refresh, on_busy, on_import, extra)


def _logs_pending(db: duckdb.DuckDBPyConnection) -> bool:
    from tokenstat.ledger_read import has_table
    from tokenstat.usage.refresh import any_pending

    if not (has_table(db, "file_offsets") and has_table(db, "import_files")):
        return True
    return any_pending(db)


def _fast(db: duckdb.DuckDBPyConnection, kind: str, q: UsageQuery, extra: dict) -> dict:
    from tokenstat.ledger_read import sources
    from tokenstat.usage import fast

    if kind == "session":
        return fast.session_report(db, q, sources(db))
    if kind == "blocks":
        return fast.blocks_report(db, q, sources(db), **extra)
    return fast.period_report(db, q, sources(db))


def _full(
    kind: str,
    q: UsageQuery,
    db_path: Path | None,
    catalog_file: Path | None,
    refresh: bool,
    on_busy: Callable[[str], None] | None,
    on_import: Callable[[str, ImportResult], None] | None,
    extra: dict,
) -> dict:
    """Open the full ledger: read new logs and rebuild the rollup (read-write), or, with
    ``refresh`` False, report from the raw rows (read-only)."""
    from tokenstat import api
    from tokenstat.catalog import load_catalog
    from tokenstat.ledger import Ledger
    from tokenstat.usage import reference
    from tokenstat.usage import refresh as logs

    catalog = load_catalog(catalog_file)
    with Ledger.open(db_path, read_only=not refresh, on_busy=on_busy) as ledger:
        if refresh:
            logs.refresh(ledger, catalog, on_import)
            _rebuild_if_stale(ledger, catalog, catalog_file)
            return _fast(ledger.db, kind, q, extra)
        inputs = api.cost_inputs(ledger, catalog)
        if kind == "session":
            return reference.session_report(inputs, q)
        if kind == "blocks":
            return reference.blocks_report(inputs, q, **extra)
        return reference.period_report(inputs, q)


def _rebuild_if_stale(ledger: Ledger, catalog: Any, catalog_file: Path | None) -> None:
    from tokenstat import api
    from tokenstat.usage import buckets

    new = buckets.stamp(ledger.db, catalog_file)
    if buckets.stored_stamp(ledger.db) != new:
        buckets.rebuild(ledger, api.cost_inputs(ledger, catalog), new)


__all__ = ["UsageQuery", "run"]
