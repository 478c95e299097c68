"""The import pipeline: source files -> canonical batches -> one ledger transaction.

Per import: files whose content was imported before are skipped (for incremental
sources: files unchanged since the last import are skipped and grown ones are read from
where that import stopped, see `tokenstat.incremental`); each batch gets its ``model``
resolved through the catalog (once per distinct raw string); bad records are kept aside
with their reason; under ``strict`` any bad record aborts the import and the ledger stays
as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tokenstat.catalog import Catalog
from tokenstat.errors import ImportFormatError, StrictImportError
from tokenstat.incremental import FileOffset, ReadPlan, file_key, plan_read, record_read
from tokenstat.ledger import ImportResult, Ledger, file_digest
from tokenstat.machine import machine_name
from tokenstat.sources.base import BATCH_ROWS, BadRecord, ReadContext, Source
from tokenstat.sources.files import expand_paths
from tokenstat.sources.limits import screen_batch, time_window
from tokenstat.sources.registry import reads_local_logs

MAX_BAD_EXAMPLES = 20


@dataclass
class Progress:
    """Callbacks a front end may pass to show progress (all optional)."""

    on_file: Callable[[Path, int, int], None] = lambda path, index, total: None
    on_rows: Callable[[int], None] = lambda rows: None
    on_bytes: Callable[[int], None] = lambda nbytes: None


@dataclass
class _Collector:
    strict: bool
    bad: list[BadRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def on_bad(self, record: BadRecord) -> None:
        if self.strict:
            raise StrictImportError(
                record.reason + " (--strict: nothing imported)",
                location=record.location,
                field=record.field,
            )
        self.bad.append(record)


class ModelResolver:
    """Fills null ``model`` values from ``model_raw`` through the catalog, with a cache."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._cache: dict[str, str] = {}

    def resolve(self, raw: str) -> str:
        if raw not in self._cache:
            self._cache[raw] = self.catalog.resolve(raw)
        return self._cache[raw]

    def fill(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        model = batch.column("model")
        if model.null_count == 0:
            return batch
        raw = batch.column("model_raw")
        uniques = pc.unique(raw)
        names = uniques.to_pylist()
        resolved = [self.resolve(u) for u in names]
        if resolved == names:  # raw strings that are canonical ids already: no copy
            filled = raw if model.null_count == len(model) else pc.coalesce(model, raw)
        else:
            lookup = pc.take(pa.array(resolved, pa.string()), pc.index_in(raw, uniques))
            filled = pc.coalesce(model, lookup)
        return batch.set_column(batch.schema.get_field_index("model"), "model", filled)


def with_machine(batch: pa.RecordBatch | pa.Table, machine: str) -> pa.RecordBatch | pa.Table:
    """``batch`` with ``machine`` where its ``machine`` column is null."""
    index = batch.schema.get_field_index("machine")
    if index < 0:
        return batch.append_column("machine", pa.array([machine] * batch.num_rows, pa.string()))
    column = batch.column(index)
    if column.null_count == 0:
        return batch
    filled = pc.coalesce(column, pa.scalar(machine, pa.string()))
    return batch.set_column(index, "machine", filled)


def _combined(
    batches: Iterable[pa.RecordBatch],
    fill: Callable[[pa.RecordBatch | pa.Table], pa.RecordBatch | pa.Table],
    rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch | pa.Table]:
    """The batches, in order, through ``fill`` (models resolved, machine named); small ones
    (many small files) are combined into batches of at least ``rows`` rows."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if pending and batch.schema != pending[0].schema:
            yield fill(pa.Table.from_batches(pending).combine_chunks())
            pending, count = [], 0
        if not pending and batch.num_rows >= rows:
            yield fill(batch)
            continue
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield fill(pa.Table.from_batches(pending).combine_chunks())
            pending, count = [], 0
    if pending:
        yield fill(pa.Table.from_batches(pending).combine_chunks())


def import_files(
    ledger: Ledger,
    source: Source,
    paths: Sequence[Path],
    *,
    catalog: Catalog,
    strict: bool = False,
    options: dict | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import ``paths`` with ``source`` into ``ledger``: whole or not at all (see
    `Ledger.importing`)."""
    progress = progress or Progress()
    time_window()  # a malformed TOKENSTAT_TIME_WINDOW stops the import before any reading
    collector = _Collector(strict=strict)
    ctx = ReadContext(
        options=dict(options or {}),
        on_bad=collector.on_bad,
        on_warning=collector.warnings.append,
        on_progress=progress.on_bytes,
    )
    resolver = ModelResolver(catalog)
    files = expand_paths(paths, source.file_glob)
    result = ImportResult(import_id=None, source=source.name)
    new_files: list[tuple[str, str, int]] = []
    offsets: dict[str, FileOffset] = {}
    known = ledger.file_offsets(source.name) if source.incremental else {}
    with ledger.importing(source.name) as import_id:
        staging = ledger.stage_import() if source.keep == "largest" else "usage"
        # Which files to read is decided first: while the batches stream into the ledger
        # (one statement, see Ledger.append_batches) its connection is busy.
        plans: list[tuple[Path, ReadPlan | None, os.stat_result | None]] = []  # None: skip
        planned: set[str] = set()
        for path in files:
            stat = None
            if source.incremental:
                stat = path.stat()
                plan = plan_read(path, stat, known.get(file_key(path)))
                if plan.action == "skip" or file_key(path) in planned:
                    plans.append((path, None, None))
                    continue
                planned.add(file_key(path))
            else:
                sha, size = file_digest(path)
                if ledger.file_seen(source.name, sha) or sha in {f[1] for f in new_files}:
                    plans.append((path, None, None))
                    continue
                new_files.append((str(path), sha, size))
                plan = ReadPlan("full")
            plans.append((path, plan, stat))

        def batches() -> Iterator[pa.RecordBatch]:
            for index, (path, plan, stat) in enumerate(plans):
                progress.on_file(path, index, len(files))
                if plan is None:
                    result.files_skipped += 1
                    continue
                if source.incremental:
                    result.files_resumed += plan.action == "resume"
                    ctx.start_offset, ctx.start_line = plan.offset, plan.lines
                    ctx.file_state = plan.state
                result.files_read += 1
                try:
                    for batch in source.read(path, ctx):
                        batch = screen_batch(batch, path, ctx.bad)
                        yield batch
                        progress.on_rows(batch.num_rows)
                except StrictImportError:
                    raise
                except ImportFormatError as exc:
                    collector.on_bad(BadRecord(exc.location or str(path), exc.field, exc.reason))
                    continue  # an incremental file that failed is read in full next time
                if source.incremental:
                    offsets[file_key(path)] = record_read(
                        path, stat, ctx.end_offset, ctx.end_line, ctx.file_state
                    )
                    result.bytes_read += max(0, ctx.end_offset - plan.offset)

        machine = machine_name() if reads_local_logs(source) else None

        def fill(batch: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
            batch = resolver.fill(batch)
            return with_machine(batch, machine) if machine else batch

        result.rows_read += ledger.append_batches(
            _combined(batches(), fill), import_id, table=staging
        )
        # the last step: duplicates, rollups, files, then the import is published
        with ledger.transaction():
            if source.keep == "largest":
                dropped, result.rows_replaced = ledger.keep_largest(import_id)
                result.rows_duplicate += dropped
            ledger.save_file_offsets(source.name, import_id, offsets.values())
            overrides = {resolver.resolve(raw): pair for raw, pair in ctx.model_overrides.items()}
            new, dup, first, last = ledger.finish_import(
                import_id,
                rows_read=result.rows_read,
                bad=collector.bad,
                files=new_files,
                source=source.name,
                meta=ctx.meta,
                model_overrides=overrides,
            )
            ledger.record_files_read(import_id, result.files_read)
    result.import_id = import_id
    result.rows_new = new
    result.rows_duplicate += dup
    result.first_day, result.last_day = first, last
    result.rows_bad = len(collector.bad)
    result.bad_examples = collector.bad[:MAX_BAD_EXAMPLES]
    result.warnings = collector.warnings
    return result
