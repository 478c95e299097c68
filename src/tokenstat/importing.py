"""The import pipeline: source files -> canonical batches -> one ledger transaction.

Per import: files whose content was imported before are skipped; each batch gets its
``model`` resolved through the catalog (once per distinct raw string); bad records are
kept aside with their reason; under ``strict`` any bad record aborts the import and the
ledger stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tokenstat.catalog import Catalog
from tokenstat.errors import ImportFormatError, StrictImportError
from tokenstat.ledger import ImportResult, Ledger, file_digest
from tokenstat.sources.base import BadRecord, ReadContext, Source

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
        resolved = pa.array([self.resolve(u) for u in uniques.to_pylist()], pa.string())
        filled = pc.coalesce(model, pc.take(resolved, pc.index_in(raw, uniques)))
        return batch.set_column(batch.schema.get_field_index("model"), "model", filled)


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files named, and the files below directories named (sorted, hidden ones skipped)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        elif path.exists():
            files.append(path)
        else:
            raise ImportFormatError("no such file or directory", location=str(path))
    return files


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
    """Import ``paths`` with ``source`` into ``ledger`` as one transaction."""
    progress = progress or Progress()
    collector = _Collector(strict=strict)
    ctx = ReadContext(
        options=dict(options or {}),
        on_bad=collector.on_bad,
        on_warning=collector.warnings.append,
        on_progress=progress.on_bytes,
    )
    resolver = ModelResolver(catalog)
    files = expand_paths(paths)
    result = ImportResult(import_id=None, source=source.name)
    new_files: list[tuple[str, str, int]] = []
    with ledger.transaction():
        import_id = ledger.begin_import(source.name)
        for index, path in enumerate(files):
            progress.on_file(path, index, len(files))
            sha, size = file_digest(path)
            if ledger.file_seen(source.name, sha) or sha in {f[1] for f in new_files}:
                result.files_skipped += 1
                continue
            result.files_read += 1
            new_files.append((str(path), sha, size))
            try:
                for batch in source.read(path, ctx):
                    batch = resolver.fill(batch)
                    result.rows_read += ledger.append_batch(batch, import_id)
                    progress.on_rows(batch.num_rows)
            except StrictImportError:
                raise
            except ImportFormatError as exc:
                collector.on_bad(BadRecord(exc.location or str(path), exc.field, exc.reason))
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
    result.import_id = import_id
    result.rows_new, result.rows_duplicate = new, dup
    result.first_day, result.last_day = first, last
    result.rows_bad = len(collector.bad)
    result.bad_examples = collector.bad[:MAX_BAD_EXAMPLES]
    result.warnings = collector.warnings
    return result
