"""Kimi CLI wire logs (``~/.kimi/sessions/<work dir hash>/<session>/wire.jsonl``).

Where: the paths named on the command line; else ``$KIMI_DATA_DIR`` (one directory or
several, comma-separated, each holding ``sessions/``); else ``~/.kimi/sessions`` and
``~/.kimi-code/sessions``, those that exist. Every ``wire.jsonl`` below a named directory
is read.

Format: JSON Lines; a ``{"type": "metadata", ...}`` line, then one wire message per line,
``{"timestamp": <epoch seconds>, "message": {"type": ..., "payload": {...}}}``. A request
is a ``StatusUpdate`` message whose payload carries ``token_usage``: ``input_other``
(input WITHOUT cache), ``input_cache_read``, ``input_cache_creation`` and ``output``, for
the one step just finished (not cumulative), with the step's ``message_id``.

Rows (one per step):

- ``event_id``: a hash of the step's ``message_id`` (the API response id), else of the
  session, the time and the counts.
- tokens: ``input_tokens`` = ``input_other`` + ``input_cache_read`` +
  ``input_cache_creation``; the cache parts as written; ``output_tokens`` = ``output``.
- ``model_raw``: the payload's ``model`` when a line names one; else ``default_model``
  (or ``model``) of the data directory's ``config.toml`` / ``config.json``; else
  ``kimi-for-coding``, Kimi CLI's default model. ``provider`` ``moonshotai``; ``app``
  ``kimi-cli``; ``session`` the session directory's name; ``project`` the directory above
  it (a hash of the working directory).

What the logs cannot tell: no cost; no reasoning split (``reasoning_tokens`` 0, thinking
is inside ``output``); the model of each step (a model switched in the configuration
after the session ran is not noticed); the working directory's path (only its hash).

Incremental: wire logs are append-only, so grown files are read from where the last
import stopped.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.agent_files import json_lines, obj, tokens
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.records import model_name, rows_from_records, text, timestamp

SOURCE = "kimi-cli"
DEFAULT_MODEL = "kimi-for-coding"
_USAGE = "message.payload.token_usage"


class KimiCliSource(Source):
    name = SOURCE
    description = "Kimi CLI wire logs (~/.kimi/sessions/*/*/wire.jsonl)"
    reads = "JSONL wire messages; StatusUpdate payloads carry token_usage"
    file_glob = LOCAL_LOGS[SOURCE].glob
    incremental = LOCAL_LOGS[SOURCE].incremental

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        compact = head.replace(b'": "', b'":"')
        return b'"StatusUpdate"' in compact or (
            b'"type":"metadata"' in compact and b'"protocol_version"' in compact
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        session = path.parent.name
        project = path.parent.parent.name or None
        configured = _configured_model(path)

        def convert(record: Any) -> dict[str, Any] | None:
            message = obj(record.get("message"), "message")
            if message.get("type") != "StatusUpdate":
                return None
            payload = obj(message.get("payload"), "message.payload")
            if payload.get("token_usage") is None:
                return None
            usage = obj(payload.get("token_usage"), _USAGE)
            cache_read = tokens(usage, "input_cache_read", _USAGE)
            cache_write = tokens(usage, "input_cache_creation", _USAGE)
            uncached = tokens(usage, "input_other", _USAGE)
            output = tokens(usage, "output", _USAGE)
            if not (uncached or cache_read or cache_write or output):
                return None
            model = configured
            if "model" in payload:
                model = model_name(payload.get("model"), "message.payload.model")
            ts = timestamp(record.get("timestamp"), "timestamp")
            step = text(payload.get("message_id"), "message.payload.message_id")
            key = (step,) if step else (session, ts.isoformat(), uncached, cache_read, output)
            return {
                "event_id": make_event_id(SOURCE, *key),
                "ts": ts,
                "model_raw": model,
                "provider": "moonshotai",
                "app": SOURCE,
                "project": project,
                "session": session,
                "input_tokens": uncached + cache_read + cache_write,
                "cache_read_tokens": cache_read,
                "cache_write_tokens": cache_write,
                "output_tokens": output,
            }

        yield from rows_from_records(SOURCE, json_lines(path, ctx, b'"StatusUpdate"'), convert, ctx)


def _configured_model(path: Path) -> str:
    """The default model of the Kimi data directory holding ``sessions/<hash>/<id>/``."""
    parents = path.parents
    if len(parents) < 4 or parents[2].name != "sessions":
        return DEFAULT_MODEL
    root = parents[3]
    for name in ("config.toml", "config.json"):
        config = root / name
        if not config.is_file():
            continue
        try:
            raw = config.read_bytes()
            data = tomllib.loads(raw.decode()) if name.endswith("toml") else json.loads(raw)
        except (OSError, ValueError, ImportFormatError):
            continue
        for key in ("default_model", "model"):
            value = data.get(key) if isinstance(data, dict) else None
            if isinstance(value, str) and value.strip():
                return value.strip()
    return DEFAULT_MODEL
