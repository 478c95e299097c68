"""Helpers for the price tests: request rows imported into a real ledger through the
import pipeline, by a small importer that reads the rows from a JSON file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.conftest import FIXTURES

from tokenstat import api
from tokenstat.catalog import shipped_catalog
from tokenstat.importing import import_files
from tokenstat.sources.base import ReadContext, RowBuilder, Source

SNAPSHOT = FIXTURES / "openrouter" / "models-2026-04-01.json"
SNAPSHOT_LATER = FIXTURES / "openrouter" / "models-2026-04-20.json"


class JsonRowsSource(Source):
    """Canonical rows written out as a JSON list of RowBuilder.add keyword arguments."""

    name = "test-rows"

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        builder = RowBuilder(self.name)
        for row in json.loads(path.read_text()):
            builder.add(**{**row, "ts": datetime.fromisoformat(row["ts"])})
        yield from builder.flush()


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def import_rows(db: Path, rows: list[dict[str, Any]], name: str = "rows.json") -> None:
    """Import request rows (RowBuilder.add arguments; ``ts`` a datetime) into the ledger."""
    path = db.parent / name
    path.write_text(json.dumps([_jsonable(r) for r in rows]))
    with api.open_ledger(db) as ledger:
        result = import_files(ledger, JsonRowsSource(), [path], catalog=shipped_catalog())
        assert result.rows_bad == 0, result.bad_examples


def request(
    event_id: str,
    ts: datetime,
    model: str,
    *,
    provider: str | None = None,
    input_tokens: int = 0,
    cache_read: int = 0,
    cache_write: int = 0,
    output: int = 0,
    reasoning: int = 0,
    cost: float | None = None,
    app: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "ts": ts,
        "model_raw": model,
        "model": model,
        "provider": provider,
        "app": app,
        "input_tokens": input_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "output_tokens": output,
        "reasoning_tokens": reasoning,
        "requests": 1,
        "cost_reported": cost,
    }


@pytest.fixture
def db(isolated_env: Path) -> Path:
    """The test's ledger path (the one the CLI uses through TOKENSTAT_DB)."""
    return isolated_env / "ledger.duckdb"
