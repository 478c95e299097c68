"""Amp thread files (``~/.local/share/amp/threads/T-<uuid>.json``).

Where: the paths named on the command line; else ``$AMP_DATA_DIR`` (one directory or
several, comma-separated, each holding ``threads/``); else ``~/.local/share/amp/threads``.
Every ``*.json`` below a named directory is read.

Format: one JSON document per thread: ``id`` (``T-...``), ``created``, ``env``, and
``messages``. A request is an assistant message with ``usage``: ``model``,
``timestamp``, ``inputTokens`` (WITHOUT cache, as Anthropic counts it),
``cacheCreationInputTokens``, ``cacheReadInputTokens``, ``totalInputTokens`` (all
three), ``outputTokens`` and ``credits``.

Rows (one per assistant message):

- ``event_id``: a hash of the thread id and the message's ``messageId``.
- tokens: ``input_tokens`` = ``totalInputTokens`` when written, else ``inputTokens`` +
  ``cacheReadInputTokens`` + ``cacheCreationInputTokens``; the cache parts as written;
  ``output_tokens`` = ``outputTokens``.
- ``model_raw``: ``usage.model``; ``app`` ``amp``; ``session`` the thread ``id``;
  ``project`` the first workspace tree of ``env.initial.trees`` (its ``uri`` without
  ``file://``, else its ``displayName``).

What the logs cannot tell: no USD cost (Amp bills in credits, which have no column here
and are not kept); no reasoning split (0; thinking is inside ``outputTokens``); no
provider (Amp routes to several). Older thread files that hold only a ``usageLedger``
and no per-message ``usage`` give no rows.

Whole-file reading: a thread file is rewritten as the thread grows; a changed file is
read again and the ledger de-duplicates by event id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.agent_files import obj, read_document, tokens
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonRecord
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.records import model_name, rows_from_records, text, timestamp

SOURCE = "amp"
_USAGE = "usage"


class AmpSource(Source):
    name = SOURCE
    description = "Amp thread files (~/.local/share/amp/threads)"
    reads = "one JSON document per thread; assistant messages carry usage"
    file_glob = LOCAL_LOGS[SOURCE].glob

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        compact = head.replace(b'": "', b'":"')
        return b'"id":"T-' in compact and b'"messages"' in compact

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        thread = read_document(path, ctx)
        if not isinstance(thread, dict):
            raise ImportFormatError("expected a thread object", location=f"{path}:1")
        thread_id = text(thread.get("id"), "id") or path.name.split(".", 1)[0]
        project = _project(thread)
        messages = thread.get("messages") or []
        if not isinstance(messages, list):
            raise ImportFormatError("expected a list", location=f"{path}:1", field="messages")

        def convert(message: Any) -> dict[str, Any] | None:
            if not isinstance(message, dict) or message.get("role") != "assistant":
                return None
            if message.get(_USAGE) is None:
                return None
            usage = obj(message.get(_USAGE), _USAGE)
            cache_read = tokens(usage, "cacheReadInputTokens", _USAGE)
            cache_write = tokens(usage, "cacheCreationInputTokens", _USAGE)
            uncached = tokens(usage, "inputTokens", _USAGE)
            if usage.get("totalInputTokens") is not None:
                input_tokens = tokens(usage, "totalInputTokens", _USAGE)
            else:
                input_tokens = uncached + cache_read + cache_write
            model = model_name(usage.get("model") or message.get("model"), "usage.model")
            ts = timestamp(usage.get("timestamp") or message.get("timestamp"), "usage.timestamp")
            message_id = text(message.get("messageId"), "messageId") or ts.isoformat()
            return {
                "event_id": make_event_id(SOURCE, thread_id, message_id),
                "ts": ts,
                "model_raw": model,
                "app": SOURCE,
                "project": project,
                "session": thread_id,
                "input_tokens": input_tokens,
                "cache_read_tokens": cache_read,
                "cache_write_tokens": cache_write,
                "output_tokens": tokens(usage, "outputTokens", _USAGE),
            }

        records = (JsonRecord(m, f"{path}:record {i}") for i, m in enumerate(messages, start=1))
        yield from rows_from_records(SOURCE, records, convert, ctx)


def _project(thread: dict[str, Any]) -> str | None:
    """The first workspace tree of a thread's environment, as a path or a name."""
    env = thread.get("env")
    initial = env.get("initial") if isinstance(env, dict) else None
    trees = initial.get("trees") if isinstance(initial, dict) else None
    if not isinstance(trees, list) or not trees or not isinstance(trees[0], dict):
        return None
    uri, name = trees[0].get("uri"), trees[0].get("displayName")
    if isinstance(uri, str) and uri:
        return uri.removeprefix("file://")
    return name if isinstance(name, str) and name else None
