"""OpenCode message files (``~/.local/share/opencode/storage/message/<session>/*.json``).

Where: the paths named on the command line; else ``$OPENCODE_DATA_DIR`` (one directory or
several, comma-separated, each holding ``storage/message/``); else
``$XDG_DATA_HOME/opencode`` (``~/.local/share/opencode``). Every ``*.json`` below a named
directory is read.

Format: one JSON document per message: ``id``, ``sessionID``, ``role``, ``modelID``,
``providerID``, ``time.created`` (epoch milliseconds), ``path.cwd``/``path.root``,
``cost`` (USD) and ``tokens``: ``input`` (WITHOUT cache), ``output`` (WITHOUT
reasoning), ``reasoning``, ``cache.read``, ``cache.write``. A request is an assistant
message with tokens; messages whose counts are all 0 (still streaming, or failed) give
no row.

Rows (one per assistant message):

- ``event_id``: a hash of the message ``id``.
- tokens: ``input_tokens`` = ``input`` + ``cache.read`` + ``cache.write``;
  ``output_tokens`` = ``output`` + ``reasoning``; the cache and reasoning parts as
  written.
- ``model_raw``: ``modelID``; ``provider`` the ``providerID`` (``anthropic``,
  ``openrouter``, ``github-copilot``, ...); ``cost_reported`` the message's ``cost`` when
  above 0 (OpenCode writes 0 for models it has no price for and for subscription plans,
  so 0 is taken as not reported); ``app`` ``opencode``; ``session`` the ``sessionID``;
  ``project`` ``path.root`` (else ``path.cwd``).

What the logs cannot tell: whether a 0 cost means free or unpriced (see above); the
1-hour share of cache writes. Newer OpenCode versions keep messages in an SQLite
database (``opencode.db``) instead of these files; that database is not read.

Whole-file reading: each message is its own small file, rewritten while it streams; a
changed file is read again and the ledger de-duplicates by event id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.sources.agent_files import obj, read_document, tokens
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonRecord
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.records import (
    model_name,
    money,
    provider_slug,
    rows_from_records,
    text,
    timestamp,
)

SOURCE = "opencode"


class OpenCodeSource(Source):
    name = SOURCE
    description = "OpenCode message files (~/.local/share/opencode/storage/message)"
    reads = "one JSON document per message; assistant messages carry tokens and cost"
    file_glob = LOCAL_LOGS[SOURCE].glob

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        return b'"sessionID"' in head and (b'"modelID"' in head or b'"providerID"' in head)

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        record = JsonRecord(read_document(path, ctx), f"{path}:record 1")
        yield from rows_from_records(SOURCE, [record], convert, ctx)


def convert(message: Any) -> dict[str, Any] | None:
    """Keyword arguments of `RowBuilder.add` for one message; None unless an assistant
    message with tokens."""
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return None
    if message.get("tokens") is None:
        return None
    usage = obj(message.get("tokens"), "tokens")
    cache = obj(usage.get("cache"), "tokens.cache")
    uncached = tokens(usage, "input", "tokens")
    output = tokens(usage, "output", "tokens")
    reasoning = tokens(usage, "reasoning", "tokens")
    cache_read = tokens(cache, "read", "tokens.cache")
    cache_write = tokens(cache, "write", "tokens.cache")
    if not (uncached or output or reasoning or cache_read or cache_write):
        return None
    model = model_name(message.get("modelID"), "modelID")
    when = obj(message.get("time"), "time")
    ts = timestamp(when.get("created"), "time.created")
    where = obj(message.get("path"), "path")
    cost = money(message.get("cost"), "cost")
    message_id = text(message.get("id"), "id") or f"{ts.isoformat()}:{model}"
    return {
        "event_id": make_event_id(SOURCE, message_id),
        "ts": ts,
        "model_raw": model,
        "provider": provider_slug(text(message.get("providerID"), "providerID")),
        "app": SOURCE,
        "project": text(where.get("root"), "path.root") or text(where.get("cwd"), "path.cwd"),
        "session": text(message.get("sessionID"), "sessionID"),
        "input_tokens": uncached + cache_read + cache_write,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "output_tokens": output + reasoning,
        "reasoning_tokens": reasoning,
        "cost_reported": cost if cost is not None and cost > 0 else None,
    }
