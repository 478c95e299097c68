"""Several machines, one ledger each, the same numbers: `tokenstat sync DIR`.

DIR is any folder the machines share (Syncthing, Dropbox, NFS, a git repository). Each
machine writes only below ``DIR/<machine>/``: the rows of its own imports (every import
but the ones sync made, market data left out), as append-only Parquet files of canonical
rows, one per run with something new, written whole and then renamed into place. Then it
imports every other machine's files through the import pipeline: a file read before is
skipped by its content hash, and a row whose (day, event id) the ledger holds already is
dropped, so a session whose log sits on two machines (synced dotfiles) counts once, under
the machine that read it first.

What was exported is remembered per DIR and machine (the last import id written), so a
second run writes nothing. `tokenstat ledger forget` of a sync import removes those rows;
the next sync brings them back, as the files are still in DIR.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tokenstat.errors import ImportFormatError, TokenstatError
from tokenstat.importing import import_files
from tokenstat.ledger import Ledger
from tokenstat.machine import machine_name
from tokenstat.schema import USAGE_SCHEMA
from tokenstat.sources.base import ReadContext, Source
from tokenstat.usage.query import MARKET_SOURCES

SYNC_SOURCE = "sync"
FORMAT = "tokenstat-sync/1"
REQUIRED = ("event_id", "ts", "grain", "source", "model_raw")
BATCH_ROWS = 1 << 16


class SyncError(TokenstatError, ValueError):
    """The shared folder cannot be used (not a directory, not writable)."""


class SyncedRows(Source):
    """Reads the Parquet files `export` writes (not registered: `tokenstat sync` uses it)."""

    name: ClassVar[str] = SYNC_SOURCE
    description: ClassVar[str] = "rows another machine wrote with tokenstat sync"
    reads: ClassVar[str] = "DIR/<machine>/*.parquet written by tokenstat sync"
    file_glob: ClassVar[str | None] = "*.parquet"

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        try:
            handle = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise ImportFormatError(
                f"not a Parquet file: {exc}".splitlines()[0], location=f"{path}:1"
            ) from None
        meta = handle.schema_arrow.metadata or {}
        if meta.get(b"format") != FORMAT.encode():
            raise ImportFormatError(
                f"not a file of tokenstat sync ({FORMAT})", location=f"{path}:1"
            )
        names = set(handle.schema_arrow.names)
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise ImportFormatError(f"no column {missing[0]!r}", location=f"{path}:1")
        columns = [c for c in USAGE_SCHEMA.names if c in names]
        first = 0
        try:
            for batch in handle.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                yield self._good(batch, path, first, ctx)
                first += batch.num_rows
        except pa.ArrowException as exc:
            raise ImportFormatError(
                f"unreadable Parquet: {exc}".splitlines()[0], location=f"{path}:record {first + 1}"
            ) from None

    @staticmethod
    def _good(batch: pa.RecordBatch, path: Path, first: int, ctx: ReadContext) -> pa.RecordBatch:
        """The rows of ``batch`` that have every required column; the others reported."""
        keep = None
        for name in REQUIRED:
            valid = pc.is_valid(batch.column(name))
            for index in pc.indices_nonzero(pc.invert(valid)).to_pylist():
                ctx.bad(f"{path}:record {first + index + 1}", name, "missing value")
            keep = valid if keep is None else pc.and_(keep, valid)
        return batch if keep is None or pc.all(keep).as_py() else batch.filter(keep)


@dataclass
class SyncResult:
    """What one `sync` did (counts are rows)."""

    machine: str
    exported_rows: int = 0
    exported_file: str | None = None
    imported_rows: int = 0
    duplicate_rows: int = 0
    bad_rows: int = 0
    machines: list[str] = field(default_factory=list)


def export(ledger: Ledger, folder: Path, machine: str) -> tuple[int, Path | None]:
    """Write this ledger's new rows of its own imports to ``folder/<machine>/``; (rows,
    file written or None when nothing was new)."""
    key = f"sync_exported:{folder.resolve()}:{machine}"
    after = int(ledger.meta(key) or 0)
    until = ledger.last_import_id()
    if until <= after:
        return 0, None
    mine = folder / machine
    mine.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = mine / f"{stamp}-imports-{after + 1}-{until}.parquet"
    partial = mine / f".{final.name}.partial"
    meta = {"format": FORMAT, "machine": machine}
    try:
        rows = ledger.export_rows(
            partial,
            after=after,
            until=until,
            skip_imports_by=(SYNC_SOURCE,),
            skip_sources=MARKET_SOURCES,
            metadata=meta,
        )
        if rows:
            os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    ledger.set_meta(key, str(until))
    return rows, final if rows else None


def sync(ledger: Ledger, folder: Path, *, machine: str | None = None, catalog=None) -> SyncResult:
    """Export this machine's new rows to ``folder`` and import every other machine's."""
    from tokenstat.catalog import load_catalog

    if folder.exists() and not folder.is_dir():
        raise SyncError(f"{folder} is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise SyncError(f"cannot write to {folder}", hint="sync needs a folder it may write in")
    name = machine_name(machine)
    if "/" in name or name.startswith("."):
        raise SyncError(f"{name!r} cannot name a machine's folder")
    result = SyncResult(machine=name)
    rows, written = export(ledger, folder, name)
    result.exported_rows, result.exported_file = rows, str(written) if written else None
    others = sorted(p for p in folder.iterdir() if p.is_dir() and p.name != name)
    others = [p for p in others if not p.name.startswith(".")]
    result.machines = [p.name for p in others]
    if others:
        imported = import_files(ledger, SyncedRows(), others, catalog=catalog or load_catalog())
        result.imported_rows = imported.rows_new
        result.duplicate_rows = imported.rows_duplicate
        result.bad_rows = imported.rows_bad
    return result
