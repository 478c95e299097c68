"""Droid (Factory) session settings (``~/.factory/sessions/**/<session>.settings.json``).

Where: the paths named on the command line; else ``$DROID_SESSIONS_DIR`` (one directory
or several, comma-separated); else ``~/.factory/sessions``. Every ``*.settings.json``
below a named directory is read.

Format: one JSON document per session, rewritten as the session goes on: ``model``,
``providerLock``, ``providerLockTimestamp`` and ``tokenUsage``, the session's running
totals: ``inputTokens`` (WITHOUT cache), ``cacheCreationTokens``, ``cacheReadTokens``,
``outputTokens`` (WITHOUT thinking), ``thinkingTokens``.

Rows (one per session, its totals so far):

- ``event_id``: a hash of the session id (the file name before ``.settings.json``); a
  session read again later has grown, and the ledger keeps the copy with the most tokens
  (``keep = "largest"``), so a session counts once with its latest totals.
- ``ts``: ``providerLockTimestamp`` (when the session fixed its provider, near its
  start), else the file's modification time.
- tokens: ``input_tokens`` = ``inputTokens`` + ``cacheReadTokens`` +
  ``cacheCreationTokens``; ``output_tokens`` = ``outputTokens`` + ``thinkingTokens``;
  ``reasoning_tokens`` = ``thinkingTokens``.
- ``model_raw``: ``model``; ``provider`` ``providerLock``; ``app`` ``droid``;
  ``session`` the session id; ``project`` ``cwd`` when the file has one; ``requests`` null.

What the logs cannot tell: per-request counts and times (only running totals per session,
dated at the session's start, so a session spanning midnight counts on its first day);
the number of requests; a model switched mid-session (all usage goes to the last
``model``); no cost.

Whole-file reading: a changed settings file is read again; the ledger keeps the larger
total.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.agent_files import (
    obj,
    plain_name,
    read_document,
    tokens,
)
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonRecord
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.records import (
    model_name,
    provider_slug,
    rows_from_records,
    text,
    timestamp,
)

SOURCE = "droid"
SUFFIX = ".settings.json"
_USAGE = "tokenUsage"


class DroidSource(Source):
    name = SOURCE
    description = "Droid (Factory) session settings (~/.factory/sessions)"
    reads = "one JSON document per session: model and running tokenUsage totals"
    file_glob = LOCAL_LOGS[SOURCE].glob
    keep = "largest"

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        return b'"tokenUsage"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        name = plain_name(path)
        session = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name.split(".", 1)[0]
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)

        def convert(settings: Any) -> dict[str, Any] | None:
            if not isinstance(settings, dict):
                raise ImportFormatError("expected a settings object")
            if settings.get(_USAGE) is None:
                return None
            usage = obj(settings.get(_USAGE), _USAGE)
            uncached = tokens(usage, "inputTokens", _USAGE)
            cache_read = tokens(usage, "cacheReadTokens", _USAGE)
            cache_write = tokens(usage, "cacheCreationTokens", _USAGE)
            output = tokens(usage, "outputTokens", _USAGE)
            thinking = tokens(usage, "thinkingTokens", _USAGE)
            if not (uncached or cache_read or cache_write or output or thinking):
                return None
            model = model_name(settings.get("model"), "model")
            stamp = settings.get("providerLockTimestamp")
            ts = mtime if stamp is None else timestamp(stamp, "providerLockTimestamp")
            return {
                "event_id": make_event_id(SOURCE, session),
                "ts": ts,
                "model_raw": model,
                "provider": provider_slug(text(settings.get("providerLock"), "providerLock")),
                "app": SOURCE,
                "project": text(settings.get("cwd"), "cwd"),
                "session": session,
                "input_tokens": uncached + cache_read + cache_write,
                "cache_read_tokens": cache_read,
                "cache_write_tokens": cache_write,
                "output_tokens": output + thinking,
                "reasoning_tokens": thinking,
                "requests": None,
            }

        record = JsonRecord(read_document(path, ctx), f"{path}:record 1")
        yield from rows_from_records(SOURCE, [record], convert, ctx)
