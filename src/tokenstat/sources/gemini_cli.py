"""Gemini CLI chat recordings (``~/.gemini/tmp/<project hash>/chats/session-*.json``).

Where: the paths named on the command line; else ``$GEMINI_DATA_DIR`` (one directory or
several, comma-separated); else ``~/.gemini/tmp``. Below a directory every ``*.json`` and
``*.jsonl`` file is read (other JSON files Gemini CLI keeps there hold no token counts and
give no rows).

Format: one session per file, either one JSON document (``sessionId``, ``projectHash``,
``startTime``, ``messages: [...]``) or JSON Lines (a first line with the session fields,
then one message per line). A request is a message with ``type: "gemini"`` and a
``tokens`` object: ``input`` (the prompt, cached part included, as the Gemini API counts
it), ``output`` (candidates), ``cached``, ``thoughts``, ``tool`` (tool-use prompt) and
``total``.

Rows (one per model response):

- ``event_id``: a hash of the session id and the message ``id``; a message written again
  with the same id (the JSON Lines form rewrites a message when its tokens arrive) is one
  row, the copy with the most tokens kept (``keep = "largest"``).
- tokens: ``input_tokens`` = ``input`` + ``tool``; ``cache_read_tokens`` = ``cached``;
  ``output_tokens`` = ``output`` + ``thoughts``; ``reasoning_tokens`` = ``thoughts``.
- ``model_raw``: the message's ``model``; ``provider`` ``google``; ``app``
  ``gemini-cli``; ``session`` the ``sessionId`` (else the file name); ``project`` the
  ``projectHash`` (else the name of the directory above ``chats``).

What the logs cannot tell: no cost; no cache writes (Gemini's implicit caching bills
none), so ``cache_write_tokens`` is 0; the project is only a hash of the working
directory, not its path; messages without ``tokens`` (older versions, or a response cut
off) give no row.

Whole-file reading: a session file is rewritten as it grows, so a changed file is read
again from the start and the ledger's de-duplication by event id keeps that idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.agent_files import (
    json_lines,
    obj,
    plain_suffix,
    read_document,
    tokens,
)
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonRecord
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.records import model_name, rows_from_records, text, timestamp

SOURCE = "gemini-cli"


class GeminiCliSource(Source):
    name = SOURCE
    description = "Gemini CLI chat recordings (~/.gemini/tmp/*/chats)"
    reads = "JSON or JSONL sessions: messages of type gemini carry tokens"
    file_glob = LOCAL_LOGS[SOURCE].glob
    incremental = LOCAL_LOGS[SOURCE].incremental
    keep = "largest"

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        compact = head.replace(b'": "', b'":"')
        return b'"projectHash"' in compact or (
            b'"type":"gemini"' in compact and b'"tokens"' in compact
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        session = _Session(path, ctx.file_state)
        if plain_suffix(path) == ".jsonl":
            records = session.from_lines(json_lines(path, ctx))
        else:
            records = session.from_document(path, ctx)
        yield from rows_from_records(SOURCE, records, session.convert, ctx)


class _Session:
    """The session fields seen so far in one file, and its messages as rows."""

    def __init__(self, path: Path, state: dict[str, Any]):
        # kept with the file's offset, so that a grown JSON Lines file resumes with them
        self.state = state
        chats = path.parent
        state.setdefault("session", path.name.split(".", 1)[0])
        state.setdefault("project", chats.parent.name if chats.name == "chats" else None)

    def remember(self, record: dict[str, Any]) -> None:
        for key, field in (("session", "sessionId"), ("project", "projectHash")):
            value = record.get(field)
            if isinstance(value, str) and value:
                self.state[key] = value

    def from_document(self, path: Path, ctx: ReadContext) -> Iterator[JsonRecord]:
        document = read_document(path, ctx)
        if not isinstance(document, dict):
            raise ImportFormatError("expected a session object", location=f"{path}:1")
        self.remember(document)
        messages = document.get("messages")
        if messages is None:
            return
        if not isinstance(messages, list):
            raise ImportFormatError("expected a list", location=f"{path}:1", field="messages")
        for index, message in enumerate(messages, start=1):
            yield JsonRecord(message, f"{path}:record {index}")

    def from_lines(self, lines: Iterator[JsonRecord]) -> Iterator[JsonRecord]:
        for record in lines:
            self.remember(record.value)
            yield record

    def convert(self, message: Any) -> dict[str, Any] | None:
        if not isinstance(message, dict) or message.get("type") != "gemini":
            return None
        if message.get("tokens") is None:
            return None
        usage = obj(message.get("tokens"), "tokens")
        input_tokens = tokens(usage, "input", "tokens") + tokens(usage, "tool", "tokens")
        cached = tokens(usage, "cached", "tokens")
        thoughts = tokens(usage, "thoughts", "tokens")
        output = tokens(usage, "output", "tokens") + thoughts
        model = model_name(message.get("model"), "model")
        ts = timestamp(message.get("timestamp"), "timestamp")
        message_id = text(message.get("id"), "id") or f"{ts.isoformat()}:{model}"
        session = self.state["session"]
        return {
            "event_id": make_event_id(SOURCE, session, message_id),
            "ts": ts,
            "model_raw": model,
            "provider": "google",
            "app": SOURCE,
            "project": self.state["project"],
            "session": session,
            "input_tokens": input_tokens,
            "cache_read_tokens": cached,
            "output_tokens": output,
            "reasoning_tokens": thoughts,
        }
