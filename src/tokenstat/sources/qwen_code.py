"""Qwen Code chat logs (``~/.qwen/projects/<project>/chats/<session>.jsonl``).

Where: the paths named on the command line; else ``$QWEN_DATA_DIR`` (one directory or
several, comma-separated, each holding ``projects/``); else ``~/.qwen/projects``. Every
``*.jsonl`` below a named directory is read.

Format: JSON Lines, one chat record per line (``uuid``, ``parentUuid``, ``sessionId``,
``timestamp``, ``type``, ``cwd``, ``model``, ``message``). A request is a line with
``type: "assistant"`` and ``usageMetadata`` in the Gemini API's shape:
``promptTokenCount`` (cached part included), ``candidatesTokenCount``,
``cachedContentTokenCount``, ``thoughtsTokenCount``, ``toolUsePromptTokenCount``,
``totalTokenCount``.

Rows (one per model response):

- ``event_id``: a hash of the session id and the line's ``uuid``.
- tokens: ``input_tokens`` = ``promptTokenCount`` + ``toolUsePromptTokenCount``;
  ``cache_read_tokens`` = ``cachedContentTokenCount``; ``output_tokens`` =
  ``candidatesTokenCount`` + ``thoughtsTokenCount``; ``reasoning_tokens`` =
  ``thoughtsTokenCount``.
- ``model_raw``: the line's ``model``; ``app`` ``qwen-code``; ``session`` the
  ``sessionId`` (else the file name); ``project`` the ``cwd`` (else the project
  directory's name).

What the logs cannot tell: no cost; no cache writes (0); no provider (Qwen Code talks to
any OpenAI-compatible endpoint, so ``provider`` is null).

Incremental: chat logs are append-only, so grown files are read from where the last
import stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.sources.agent_files import json_lines, obj, tokens
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.records import model_name, rows_from_records, text, timestamp

SOURCE = "qwen-code"
_USAGE = "usageMetadata"


class QwenCodeSource(Source):
    name = SOURCE
    description = "Qwen Code chat logs (~/.qwen/projects/*/chats)"
    reads = "JSONL chat records; assistant lines carry usageMetadata"
    file_glob = LOCAL_LOGS[SOURCE].glob
    incremental = LOCAL_LOGS[SOURCE].incremental

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        compact = head.replace(b'": "', b'":"')
        return b'"sessionId"' in compact and (
            b'"usageMetadata"' in compact or b'"parts":[' in compact
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        chats = path.parent
        fallback_project = chats.parent.name if chats.name == "chats" else None
        fallback_session = path.name.split(".", 1)[0]

        def convert(record: Any) -> dict[str, Any] | None:
            if record.get("type") != "assistant" or record.get(_USAGE) is None:
                return None
            usage = obj(record.get(_USAGE), _USAGE)
            thoughts = tokens(usage, "thoughtsTokenCount", _USAGE)
            model = model_name(record.get("model"), "model")
            ts = timestamp(record.get("timestamp"), "timestamp")
            session = text(record.get("sessionId"), "sessionId") or fallback_session
            line_id = text(record.get("uuid"), "uuid") or ts.isoformat()
            return {
                "event_id": make_event_id(SOURCE, session, line_id),
                "ts": ts,
                "model_raw": model,
                "app": SOURCE,
                "project": text(record.get("cwd"), "cwd") or fallback_project,
                "session": session,
                "input_tokens": tokens(usage, "promptTokenCount", _USAGE)
                + tokens(usage, "toolUsePromptTokenCount", _USAGE),
                "cache_read_tokens": tokens(usage, "cachedContentTokenCount", _USAGE),
                "output_tokens": tokens(usage, "candidatesTokenCount", _USAGE) + thoughts,
                "reasoning_tokens": thoughts,
            }

        yield from rows_from_records(SOURCE, json_lines(path, ctx, b'"assistant"'), convert, ctx)
