"""Claude Code session logs (``~/.claude/projects/**/*.jsonl``).

Where: the paths named on the command line; else ``$CLAUDE_CONFIG_DIR`` (one directory or
several, comma-separated, each holding ``projects/``); else ``~/.config/claude/projects``
(``$XDG_CONFIG_HOME/claude`` when set) and ``~/.claude/projects``, those that exist. Files
are ``projects/<encoded cwd>/<session id>.jsonl``, with subagent transcripts under
``<session id>/subagents/*.jsonl``; every ``*.jsonl`` below a named directory is read.

What is a request: a line whose ``message`` carries ``usage`` (assistant lines; also the
nested ``data.message.message`` of agent progress lines). User, tool-result, summary and
snapshot lines carry none and are passed over without being parsed.

Rows (one per API response):

- ``event_id``: ``claude-code:<message.id>``. Claude Code writes one line per content
  block, each repeating the message id, request id and usage, and early lines carry
  partial output counts: of the copies the one with the largest token total (input +
  output + cache reads + cache writes) is kept, within a file and, through the ledger's
  ``keep = "largest"`` policy, across files and imports (ties: the copy already in the
  ledger, else the earliest). A ``/btw`` side question replays a parent message in a
  subagent file with a new ``requestId`` and ``isSidechain: true``; such a copy loses to
  the parent's within a file, and across files it is the later of two equal copies. So
  the request id is not part of the identity (a message id names one API response).
  Lines without ``message.id`` are identified by their line ``uuid``.
- tokens: Anthropic reports input WITHOUT cache, so ``input_tokens`` = ``input_tokens`` +
  ``cache_read_input_tokens`` + cache writes; ``cache_read_tokens`` and
  ``cache_write_tokens`` are those parts; ``output_tokens`` as written (it includes
  thinking; Claude Code logs no separate reasoning count, so ``reasoning_tokens`` is 0).
  Cache writes are the sum of ``cache_creation.ephemeral_5m_input_tokens`` and
  ``ephemeral_1h_input_tokens`` when that split is present, else
  ``cache_creation_input_tokens``; ``cache_write_1h_tokens`` is the one-hour part (priced
  at its own rate, twice the input price where genai-prices lists none).
- ``model_raw``: ``message.model`` as written (``<synthetic>`` lines, which Claude Code
  writes without calling a model, are skipped); ``provider`` ``anthropic``;
  ``cost_reported``: ``costUSD`` when the line has it (older Claude Code versions).
- dimensions: ``app`` ``claude-code``; ``project`` the working directory (``cwd``, else the
  project directory's name); ``session`` the ``sessionId`` (subagent lines carry their
  parent's, so subagent usage counts toward the parent session); ``user`` null.

Known limitations (the canonical row has no column for them): the git branch
(``gitBranch``) is not kept; ``usage.speed: "fast"`` (fast mode) is not marked.

Incremental: files are append-only logs, so an import skips files unchanged since the
last one and reads grown files from the end of the last complete line it read (see
`tokenstat.incremental`). A message whose final line arrives in a later import replaces
the partial copy already in the ledger (``keep = "largest"``). Memory is bounded: lines
are read one by one and only the last few hundred messages are held for de-duplication.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import msgspec
import pyarrow as pa

from tokenstat.sources.base import (
    BATCH_ROWS,
    ReadContext,
    Source,
    batch_from_columns,
    iter_lines,
    parse_timestamp,
    parse_token_count,
)
from tokenstat.sources.jsonlines import loads, looks_like_object, reported_cost, short
from tokenstat.sources.limits import MAX_COUNT, time_window
from tokenstat.sources.locations import LOCAL_LOGS

SOURCE = "claude-code"
# Messages held back to merge the lines Claude Code writes per content block; copies
# further apart are merged by the ledger.
DEDUPE_WINDOW = 256
_USAGE_KEY = b'"usage"'
_SYNTHETIC = "<synthetic>"


class ClaudeCodeSource(Source):
    name = SOURCE
    description = "Claude Code session logs (~/.claude/projects)"
    reads = "JSONL: one line per message; assistant lines carry message.usage"
    file_glob = LOCAL_LOGS[SOURCE].glob
    incremental = LOCAL_LOGS[SOURCE].incremental
    keep = "largest"

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        if b'"parts":[' in head:
            return False  # Gemini-shaped messages: Qwen Code's chat logs, not Claude Code's
        if b'"sessionId"' in head and (b'"message"' in head or b'"leafUuid"' in head):
            return True
        return b'"type":"summary"' in head and b'"leafUuid"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        reader = _FileReader(path, ctx)
        for lineno, line in iter_lines(path, ctx):
            if _USAGE_KEY not in line:
                if (line[:1] != b"{" or line[-1:] != b"}") and line and not looks_like_object(line):
                    ctx.bad(f"{path}:{lineno}", None, "not a JSON object", short(line))
                continue
            reader.add_line(lineno, line)
            if len(reader.rows) >= BATCH_ROWS:
                yield reader.batch()
        reader.flush_pending()
        if reader.rows:
            yield reader.batch()


# The fields a usage line is read for, decoded and validated in one step (unknown fields
# are skipped); a line that does not fit is read again field by field (`_FileReader._slow`)
# to say what is wrong with it.
_Count = Annotated[int, msgspec.Meta(ge=0)]


class _CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: _Count | None = None
    ephemeral_1h_input_tokens: _Count | None = None


class _Usage(msgspec.Struct):
    input_tokens: _Count | None = None
    output_tokens: _Count | None = None
    cache_read_input_tokens: _Count = 0
    cache_creation_input_tokens: _Count = 0
    cache_creation: _CacheCreation | None = None


class _Message(msgspec.Struct):
    usage: _Usage
    id: str | None = None
    model: str | None = None


class _Line(
    msgspec.Struct,
    rename={
        "session_id": "sessionId",
        "is_sidechain": "isSidechain",
        "cost_usd": "costUSD",
    },
):
    message: _Message | None = None
    timestamp: str | None = None
    session_id: str | None = None
    is_sidechain: bool | None = None
    cwd: str | None = None
    cost_usd: float | None = None
    uuid: str | None = None


_decode_line = msgspec.json.Decoder(_Line).decode


class _FileReader:
    """The requests of one file, merged per message within a small window."""

    def __init__(self, path: Path, ctx: ReadContext):
        self.path = path
        self.ctx = ctx
        self.default_session, self.default_project = _names_from_path(path)
        # key -> (non-sidechain, token total, row)
        self.pending: dict[str, tuple[bool, int, tuple]] = {}
        self.rows: list[tuple] = []
        self.window = time_window()

    def add_line(self, lineno: int, line: bytes) -> None:
        parsed = self._fast(line)
        if parsed is None:
            parsed = self._slow(lineno, line)
            if parsed is None:
                return
        key, main_copy, total, row = parsed
        held = self.pending.get(key)
        if held is None:
            self.pending[key] = (main_copy, total, row)
            if len(self.pending) > DEDUPE_WINDOW:
                self.rows.append(self.pending.pop(next(iter(self.pending)))[2])
        elif (main_copy and not held[0]) or (main_copy == held[0] and total > held[1]):
            self.pending[key] = (main_copy, total, row)

    def _fast(self, line: bytes) -> tuple[str, bool, int, tuple] | None:
        """The request of a well-formed usage line; None for anything else."""
        try:
            obj = _decode_line(line)
        except msgspec.DecodeError:
            return None
        message = obj.message
        if message is None:
            return None
        usage = message.usage
        model = message.model
        text = obj.timestamp
        if (
            model is None
            or not model.strip()
            or model == _SYNTHETIC
            or text is None
            or (usage.input_tokens is None and usage.output_tokens is None)
        ):
            return None
        try:
            ts = datetime.fromisoformat(text)
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=UTC)
            if not self.window[0] <= ts <= self.window[1]:
                return None  # the slow path names the field and the window
        except (ValueError, OverflowError):
            return None
        if text[-1:] == "Z":
            ts = text  # converted to Arrow in bulk, much faster than datetimes
        split = usage.cache_creation
        cache_1h = 0
        if split is not None and (
            split.ephemeral_5m_input_tokens is not None
            or split.ephemeral_1h_input_tokens is not None
        ):
            cache_1h = split.ephemeral_1h_input_tokens or 0
            cache_write = (split.ephemeral_5m_input_tokens or 0) + cache_1h
        else:
            cache_write = usage.cache_creation_input_tokens
        cache_read = usage.cache_read_input_tokens
        output = usage.output_tokens or 0
        input_tokens = (usage.input_tokens or 0) + cache_read + cache_write
        if input_tokens + output > MAX_COUNT:
            return None  # the slow path names the count that is too large
        key = message.id or (f"uuid:{obj.uuid}" if obj.uuid else None)
        if key is None:
            return None
        cost = obj.cost_usd
        row = (
            key,
            ts,
            model,
            obj.cwd or self.default_project,
            obj.session_id or self.default_session,
            input_tokens,
            cache_read,
            cache_write,
            cache_1h,
            output,
            cost if cost is None or cost >= 0 else None,
        )
        return key, obj.is_sidechain is not True, input_tokens + output, row

    def bad(self, lineno: int, field: str | None, reason: str, line: bytes) -> None:
        self.ctx.bad(f"{self.path}:{lineno}", field, reason, short(line))

    def _slow(self, lineno: int, line: bytes) -> tuple[str, bool, int, tuple] | None:
        """The request of a usage line read field by field, reporting what is wrong."""
        try:
            obj = loads(line)
        except ValueError:
            self.bad(lineno, None, "invalid JSON (truncated or garbage line)", line)
            return None
        if type(obj) is not dict:
            self.bad(lineno, None, "not a JSON object", line)
            return None
        envelope = obj
        message = obj.get("message")
        if type(message) is not dict or "usage" not in message:
            nested = _progress_message(obj)
            if nested is None:
                if message is not None and not isinstance(message, dict):
                    self.bad(lineno, "message", "expected an object", line)
                return None  # "usage" appears elsewhere, e.g. in a tool result
            envelope, message = nested
        usage = message["usage"]
        if type(usage) is not dict:
            self.bad(lineno, "message.usage", "expected an object", line)
            return None
        model = message.get("model")
        if type(model) is not str or not model.strip():
            self.bad(lineno, "message.model", "missing model", line)
            return None
        if model == _SYNTHETIC:
            return None  # written by Claude Code itself, no model was called
        if "input_tokens" not in usage and "output_tokens" not in usage:
            self.bad(lineno, "message.usage.input_tokens", "no token counts", line)
            return None
        try:
            ts = _timestamp(envelope.get("timestamp"))
            uncached, output, cache_read, cache_write, cache_1h = _tokens(usage)
        except _FieldError as exc:
            self.bad(lineno, exc.field, str(exc), line)
            return None
        message_id = message.get("id")
        if type(message_id) is str and message_id:
            key = message_id
        else:
            line_id = obj.get("uuid")
            key = f"uuid:{line_id}" if type(line_id) is str and line_id else f"line:{lineno}"
        session = obj.get("sessionId")
        project = obj.get("cwd")
        input_tokens = uncached + cache_read + cache_write
        row = (
            key,
            ts,
            model,
            project if type(project) is str and project else self.default_project,
            session if type(session) is str and session else self.default_session,
            input_tokens,
            cache_read,
            cache_write,
            cache_1h,
            output,
            reported_cost(envelope.get("costUSD")),
        )
        return key, envelope.get("isSidechain") is not True, input_tokens + output, row

    def flush_pending(self) -> None:
        self.rows.extend(held[2] for held in self.pending.values())
        self.pending.clear()

    def batch(self) -> pa.RecordBatch:
        rows, self.rows = self.rows, []
        return _to_batch(rows)


class _FieldError(ValueError):
    def __init__(self, field: str, cause: Exception):
        super().__init__(str(cause))
        self.field = field


def _timestamp(value: object) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise _FieldError("timestamp", exc) from None


def _count(container: dict, name: str, field: str) -> int:
    try:
        return parse_token_count(container.get(name))
    except ValueError as exc:
        raise _FieldError(field, exc) from None


def _tokens(usage: dict) -> tuple[int, int, int, int, int]:
    """(input without cache, output, cache reads, cache writes, the one-hour part of the
    cache writes) of a ``usage`` object."""
    uncached = _count(usage, "input_tokens", "message.usage.input_tokens")
    output = _count(usage, "output_tokens", "message.usage.output_tokens")
    cache_read = _count(usage, "cache_read_input_tokens", "message.usage.cache_read_input_tokens")
    split = usage.get("cache_creation")
    if type(split) is dict and (
        "ephemeral_5m_input_tokens" in split or "ephemeral_1h_input_tokens" in split
    ):
        field = "message.usage.cache_creation."
        cache_5m = _count(split, "ephemeral_5m_input_tokens", field + "ephemeral_5m_input_tokens")
        cache_1h = _count(split, "ephemeral_1h_input_tokens", field + "ephemeral_1h_input_tokens")
        return uncached, output, cache_read, cache_5m + cache_1h, cache_1h
    cache_write = _count(
        usage, "cache_creation_input_tokens", "message.usage.cache_creation_input_tokens"
    )
    return uncached, output, cache_read, cache_write, 0


def _names_from_path(path: Path) -> tuple[str, str]:
    """(session, project) from a path ``projects/<project>/<session>[/...].jsonl``."""
    parts = path.parts
    if "projects" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("projects")
        if at + 2 < len(parts):
            below = parts[at + 1 : -1]
            session = below[1] if len(below) > 1 else path.stem
            return session, below[0]
    return path.stem, path.parent.name


def _progress_message(obj: dict) -> tuple[dict, dict] | None:
    """(envelope, message) of an agent progress line that nests an assistant message."""
    data = obj.get("data")
    outer = data.get("message") if isinstance(data, dict) else None
    inner = outer.get("message") if isinstance(outer, dict) else None
    if isinstance(inner, dict) and "usage" in inner:
        return outer, inner
    return None


def _timestamps(values: list[datetime | str]) -> pa.Array:
    """UTC timestamps from datetimes and ISO 8601 texts in UTC (``...Z``)."""
    texts = [v if type(v) is str else v.isoformat() for v in values]
    try:
        return pa.array(texts, pa.string()).cast(_TS_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. nanoseconds
        return pa.array([v if type(v) is not str else _utc(v) for v in values], _TS_TYPE)


def _utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_TS_TYPE = pa.timestamp("us", tz="UTC")
_ROW_COLUMNS = (
    "event_id",
    "ts",
    "model_raw",
    "project",
    "session",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "cost_reported",
)


def _to_batch(rows: list[tuple]) -> pa.RecordBatch:
    columns: dict = dict(zip(_ROW_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
    columns["event_id"] = [f"{SOURCE}:{key}" for key in columns["event_id"]]
    columns["ts"] = _timestamps(columns["ts"])
    return batch_from_columns(
        columns,
        grain="request",
        source=SOURCE,
        model=None,
        provider="anthropic",
        app=SOURCE,
        user=None,
        reasoning_tokens=0,
        requests=1,
    )
