"""Goose session database (``~/.local/share/goose/sessions/sessions.db``, SQLite).

Where: the paths named on the command line; else ``$GOOSE_PATH_ROOT/data/sessions``;
else ``~/.local/share/goose/sessions`` (``$XDG_DATA_HOME/goose``),
``~/Library/Application Support/Block/goose/sessions`` and
``~/.local/share/Block/goose/sessions``, those that exist. Every ``*.db`` below a named
directory is read; the database is opened read-only (a ``.gz`` copy is unpacked to a
temporary file first).

Format: table ``sessions``, one row per session: ``id``, ``created_at``,
``working_dir``, ``provider_name``, ``model_config_json`` (``model_name``) and the
session's running totals ``accumulated_input_tokens``, ``accumulated_output_tokens``,
``accumulated_total_tokens`` (older databases: ``input_tokens``, ``output_tokens``,
``total_tokens``).

Rows (one per session, its totals so far):

- ``event_id``: a hash of the session ``id``; the ledger keeps the copy with the most
  tokens (``keep = "largest"``), so a session read again after it grew counts once.
- ``ts``: ``created_at`` (UTC); ``requests`` null.
- tokens: ``input_tokens`` = the input total (Goose's providers report input with cache
  included); ``output_tokens`` = the output total, plus whatever the grand total holds
  beyond input and output (reasoning that a provider reports apart).
- ``model_raw``: ``model_config_json.model_name``; ``provider`` ``provider_name``;
  ``app`` ``goose``; ``session`` the ``id``; ``project`` ``working_dir``.

What the logs cannot tell: no cache split (``cache_read_tokens`` and
``cache_write_tokens`` 0, so computed cost prices cached input at the full rate); no
reasoning split; per-request counts and times (only running totals per session, dated at
its start); the number of requests; a model switched mid-session; no cost. Rows are
located as ``<file>:session <id>``.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, make_event_id, open_binary
from tokenstat.sources.jsonio import JsonRecord
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.records import (
    count,
    model_name,
    provider_slug,
    rows_from_records,
    text,
    timestamp,
)

SOURCE = "goose"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TOTALS = (
    ("input", ("accumulated_input_tokens", "input_tokens")),
    ("output", ("accumulated_output_tokens", "output_tokens")),
    ("total", ("accumulated_total_tokens", "total_tokens")),
)


class GooseSource(Source):
    name = SOURCE
    description = "Goose session database (~/.local/share/goose/sessions/sessions.db)"
    reads = "SQLite: table sessions, running token totals per session"
    file_glob = LOCAL_LOGS[SOURCE].glob
    keep = "largest"

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        return head.startswith(_SQLITE_MAGIC) and b"accumulated_input_tokens" in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        with _database(path) as db:
            try:
                rows = _session_rows(db)
            except sqlite3.DatabaseError as exc:
                raise ImportFormatError(
                    f"not a readable Goose database: {exc}", location=f"{path}:1"
                ) from None
        ctx.on_progress(path.stat().st_size)
        records = (JsonRecord(row, f"{path}:session {row.get('id')}") for row in rows)
        yield from rows_from_records(SOURCE, records, convert, ctx)


@contextmanager
def _database(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the database at ``path`` (gzip copies unpacked)."""
    with tempfile.TemporaryDirectory() as scratch:
        target = path
        with open_binary(path) as handle:
            if isinstance(handle, gzip.GzipFile):
                target = Path(scratch) / "sessions.db"
                try:
                    with open(target, "wb") as out:
                        shutil.copyfileobj(handle, out)
                except (OSError, EOFError) as exc:
                    raise ImportFormatError(f"bad gzip file: {exc}", location=f"{path}:1") from None
        db = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
        try:
            yield db
        finally:
            db.close()


def _session_rows(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every row of ``sessions`` as a dict, the token totals under input/output/total."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
    if not columns:
        raise sqlite3.DatabaseError("no table 'sessions'")
    wanted = ["id", "created_at", "working_dir", "provider_name", "model_config_json"]
    picks = [f'"{c}"' if c in columns else f"NULL AS {c}" for c in wanted]
    for alias, names in _TOTALS:
        present = [f'"{n}"' for n in names if n in columns]
        value = f"COALESCE({', '.join(present)})" if present else "NULL"
        picks.append(f"{value} AS {alias}")
    query = f"SELECT {', '.join(picks)} FROM sessions ORDER BY rowid"
    cursor = db.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def convert(row: dict[str, Any]) -> dict[str, Any] | None:
    """Keyword arguments of `RowBuilder.add` for one session row; None when it has no
    model configuration or no tokens."""
    config_text = row.get("model_config_json")
    if config_text is None or (isinstance(config_text, str) and not config_text.strip()):
        return None
    input_tokens = count(row["input"], "accumulated_input_tokens")
    output_tokens = count(row["output"], "accumulated_output_tokens")
    total = count(row["total"], "accumulated_total_tokens")
    if not (input_tokens or output_tokens or total):
        return None
    try:
        config = json.loads(config_text) if isinstance(config_text, str) else None
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise ImportFormatError("expected a JSON object", field="model_config_json")
    model = model_name(config.get("model_name"), "model_config_json.model_name")
    session = text(row.get("id"), "id", required=True)
    return {
        "event_id": make_event_id(SOURCE, session),
        "ts": timestamp(row.get("created_at"), "created_at"),
        "model_raw": model,
        "provider": provider_slug(text(row.get("provider_name"), "provider_name")),
        "app": SOURCE,
        "project": text(row.get("working_dir"), "working_dir"),
        "session": session,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens + max(0, total - input_tokens - output_tokens),
        "requests": None,
    }
