"""Refreshing the local agent logs before an own-usage report.

The importers that know a default location (`Source.discover`: Claude Code, Codex and the
other coding agents) find their logs; `pending` tells, from the ledger's records of files
read and without opening any file, whether any of them is new or changed; `refresh`
imports those that are (each importer reads only new or grown files, and a file it read
before is skipped by its content hash).

Changed means: an append-only log (an incremental importer) whose size or modification
time differs from the last read; any other file whose path and size the ledger has not
recorded, or that was modified after the import that read it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenstat.incremental import file_key
from tokenstat.ledger_read import literal
from tokenstat.sources.files import expand_paths
from tokenstat.sources.locations import LOCAL_LOGS

if TYPE_CHECKING:
    import duckdb

    from tokenstat.ledger import ImportResult, Ledger
    from tokenstat.sources.base import Source


def local_sources() -> list[Source]:
    """The registered importers that find logs on this machine by themselves."""
    from tokenstat.sources.registry import local_log_sources

    return local_log_sources()


def discovered(importer: Source) -> list[Path]:
    """The files ``importer`` would read now (its default locations, expanded)."""
    roots = importer.discover()
    return expand_paths(roots, importer.file_glob) if roots else []


def any_pending(db: duckdb.DuckDBPyConnection) -> bool:
    """True when a local log is new or changed since the ledger read it: the built-in
    importers are asked through `tokenstat.sources.locations`, without loading them;
    importers of plugins (rare) are loaded."""
    for name, where in LOCAL_LOGS.items():
        roots = where.find()
        files = expand_paths(roots, where.glob) if roots else []
        if pending(db, name, where.incremental, files):
            return True
    plugins = [n for n in plugin_source_names() if n not in LOCAL_LOGS]
    if plugins:
        from tokenstat.sources.registry import get_source, reads_local_logs

        for source in map(get_source, plugins):
            if reads_local_logs(source) and pending(
                db, source.name, source.incremental, discovered(source)
            ):
                return True
    return False


def plugin_source_names() -> list[str]:
    """Names of the importers that plugins register (entry points)."""
    from importlib.metadata import entry_points

    from tokenstat.sources import ENTRY_POINT_GROUP

    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def pending(
    db: duckdb.DuckDBPyConnection, source: str, incremental: bool, files: list[Path]
) -> bool:
    """True when any of ``files`` (read by the importer ``source``) is new or changed since
    the ledger last read it."""
    if not files:
        return False
    if incremental:
        rows = db.execute(
            f"SELECT path, size, mtime_ns FROM file_offsets WHERE source = {literal(source)}"
        ).fetchall()
        known = {path: (size, mtime) for path, size, mtime in rows}
        for path in files:
            stat = path.stat()
            if known.get(file_key(path)) != (stat.st_size, stat.st_mtime_ns):
                return True
        return False
    rows = db.execute(
        "SELECT f.path, f.size, i.finished_at FROM import_files f "
        f"JOIN imports i USING (import_id) WHERE f.source = {literal(source)} "
        "AND i.finished_at IS NOT NULL"
    ).fetchall()
    seen: dict[tuple[str, int], datetime] = {}
    for path, size, finished in rows:
        finished = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
        key = (path, size)
        seen[key] = max(seen.get(key, finished), finished)
    for path in files:
        stat = path.stat()
        finished = seen.get((str(path), stat.st_size))
        if finished is None or datetime.fromtimestamp(stat.st_mtime, UTC) > finished:
            return True
    return False


def refresh(
    ledger: Ledger,
    catalog: Any = None,
    on_result: Callable[[str, ImportResult], None] | None = None,
) -> int:
    """Import what is new in every local agent log; the number of new rows. ``on_result``
    hears each importer that read something."""
    from tokenstat import api

    total = 0
    for importer in local_sources():
        files = discovered(importer)
        if not pending(ledger.db, importer.name, importer.incremental, files):
            continue
        result = api.import_path(ledger, importer.name, files, catalog=catalog)
        total += result.rows_new
        if on_result:
            on_result(importer.name, result)
    return total
