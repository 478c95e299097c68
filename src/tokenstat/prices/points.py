"""Price points in the ledger: prices at a point in time from price-list snapshots.

A price source (a `tokenstat.sources.base.Source` whose ``stores`` is ``"prices"``, such
as ``openrouter-models``) yields one row per model and snapshot; `import_price_files`
resolves each model string to a canonical id through the catalog and writes the rows to
the ledger's ``price_points`` table, in one transaction.

Identity: (source, provider, model, valid_from). Importing the same file twice is a no-op
(its content hash is recorded, as for usage files); a second file for the same snapshot
date replaces that date's points. A point is valid from its ``valid_from`` until the next
point of the same (source, provider, model); see `tokenstat.prices.book` for how points
overlay the genai-prices schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tokenstat.catalog import Catalog
from tokenstat.errors import ImportFormatError, StrictImportError
from tokenstat.ledger import ImportResult, Ledger, file_digest
from tokenstat.sources.base import BadRecord, ReadContext, Source

MAX_BAD_EXAMPLES = 20
POINT_PRICE_COLUMNS = (
    "input",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "output",
    "reasoning",
    "per_request",
)
POINTS_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string()),
        pa.field("provider", pa.string()),
        pa.field("model", pa.string()),
        pa.field("model_raw", pa.string()),
        pa.field("valid_from", pa.timestamp("us", tz="UTC")),
        *(pa.field(column, pa.float64()) for column in POINT_PRICE_COLUMNS),
        pa.field("discount", pa.float64()),
        pa.field("context_length", pa.int64()),
        pa.field("import_id", pa.int32()),
    ]
)


def stores_prices(source: Source) -> bool:
    """True for sources that yield price points rather than usage rows."""
    return getattr(source, "stores", "usage") == "prices"


def import_price_files(
    ledger: Ledger,
    source: Any,
    files: Sequence[Path],
    *,
    catalog: Catalog,
    strict: bool = False,
    options: dict | None = None,
) -> ImportResult:
    """Import snapshot files of a price source into ``price_points`` (one transaction).

    ``rows_*`` of the result count price points (one per model and snapshot).
    """
    from tokenstat.sources.files import expand_paths

    bad: list[BadRecord] = []
    warnings: list[str] = []

    def on_bad(record: BadRecord) -> None:
        if strict:
            raise StrictImportError(
                record.reason + " (--strict: nothing imported)",
                location=record.location,
                field=record.field,
            )
        bad.append(record)

    ctx = ReadContext(options=dict(options or {}), on_bad=on_bad, on_warning=warnings.append)
    result = ImportResult(import_id=None, source=source.name)
    # who charges the prices of this source (OpenRouter for its model list)
    provider = getattr(source, "provider", None) or source.name
    paths = expand_paths(files)
    with ledger.transaction():
        import_id = ledger.begin_import(source.name)
        tables: list[pa.Table] = []
        seen: list[tuple[str, str, int]] = []
        for path in paths:
            sha, size = file_digest(path)
            if ledger.file_seen(source.name, sha) or sha in {s for _, s, _ in seen}:
                result.files_skipped += 1
                continue
            result.files_read += 1
            seen.append((str(path), sha, size))
            try:
                table = source.read_price_points(path, ctx)
            except StrictImportError:
                raise
            except ImportFormatError as exc:
                on_bad(BadRecord(exc.location or str(path), exc.field, exc.reason))
                continue
            tables.append(table)
            result.rows_read += table.num_rows
        points = _points(tables, source.name, provider, catalog)
        points = points.append_column(
            "import_id", pa.repeat(pa.scalar(import_id, pa.int32()), points.num_rows)
        )
        before = _count(ledger.db, source.name)
        if points.num_rows:
            ledger.db.register("_points", points)
            try:
                ledger.db.execute(
                    f"INSERT OR REPLACE INTO price_points ({', '.join(POINTS_SCHEMA.names)}) "
                    f"SELECT {', '.join(POINTS_SCHEMA.names)} FROM _points"
                )
            finally:
                ledger.db.unregister("_points")
        new = _count(ledger.db, source.name) - before
        days = pc.cast(points["valid_from"], pa.date32()) if points.num_rows else None
        first = pc.min(days).as_py() if days is not None else None
        last = pc.max(days).as_py() if days is not None else None
        for record in bad:
            ledger.db.execute(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
                [import_id, source.name, record.location, record.field, record.reason, record.raw],
            )
        for path_text, sha, size in seen:
            ledger.db.execute(
                "INSERT INTO import_files VALUES (?, ?, ?, ?, ?)",
                [source.name, path_text, sha, size, import_id],
            )
        ledger.db.execute(
            """UPDATE imports SET finished_at = now(), rows_read = ?, rows_new = ?, rows_bad = ?,
                   first_day = ?, last_day = ? WHERE import_id = ?""",
            [result.rows_read, new, len(bad), first, last, import_id],
        )
    result.import_id = import_id
    result.rows_new = new
    result.rows_duplicate = points.num_rows - new
    result.rows_bad = len(bad)
    result.bad_examples = bad[:MAX_BAD_EXAMPLES]
    result.first_day, result.last_day = first, last
    result.warnings = warnings
    return result


def _points(tables: list[pa.Table], source: str, provider: str, catalog: Catalog) -> pa.Table:
    """Snapshot rows with source, provider and canonical model; one row per (model, day)."""
    rows: dict[tuple[str, Any], dict[str, Any]] = {}
    for table in tables:
        for row in table.to_pylist():
            model = catalog.resolve(row["model_raw"])
            rows[(model, row["valid_from"])] = {
                "source": source,
                "provider": provider,
                "model": model,
                **{k: row.get(k) for k in POINTS_SCHEMA.names if k in row},
            }
    schema = pa.schema([f for f in POINTS_SCHEMA if f.name != "import_id"])
    return pa.Table.from_pylist(list(rows.values()), schema=schema)


def _count(db: duckdb.DuckDBPyConnection, source: str) -> int:
    return db.execute("SELECT count(*) FROM price_points WHERE source = ?", [source]).fetchone()[0]


def load_points(ledger: Ledger | None) -> pa.Table:
    """Every price point of the ledger (``POINTS_SCHEMA``); empty when there are none or the
    ledger predates the price_points table."""
    if ledger is None:
        return POINTS_SCHEMA.empty_table()
    try:
        table = ledger.db.execute(
            f"SELECT {', '.join(POINTS_SCHEMA.names)} FROM price_points "
            "ORDER BY source, provider, model, valid_from"
        ).to_arrow_table()
    except duckdb.CatalogException:
        return POINTS_SCHEMA.empty_table()
    return table.cast(POINTS_SCHEMA)


def snapshot_summary(points: pa.Table) -> list[dict[str, Any]]:
    """Per source and snapshot day: how many models (for report footers)."""
    if points.num_rows == 0:
        return []
    days = pc.cast(points["valid_from"], pa.date32())
    grouped = (
        pa.table({"source": points["source"], "day": days, "model": points["model"]})
        .group_by(["source", "day"])
        .aggregate([("model", "count")])
        .sort_by([("source", "ascending"), ("day", "ascending")])
    )
    return [
        {"source": r["source"], "as_of": r["day"].isoformat(), "models": r["model_count"]}
        for r in grouped.to_pylist()
    ]
