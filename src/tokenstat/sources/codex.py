"""OpenAI Codex CLI session rollouts (``~/.codex/sessions/**/rollout-*.jsonl``).

Where: the paths named on the command line; else ``$CODEX_HOME/sessions`` and
``$CODEX_HOME/archived_sessions``; else the same under ``~/.codex``, those that exist.
Every ``*.jsonl`` below a named directory is read.

What is a request: an ``event_msg`` line whose payload is a ``token_count`` event with
``info``. Codex writes ``info.total_token_usage`` (cumulative for the session) and
``info.last_token_usage`` (the last turn), and re-emits the same event unchanged (status
refreshes). Cumulative values are never summed:

- an event whose cumulative totals equal the previous event's is a re-emit: skipped;
- when the totals grew, the row holds the difference from the previous totals;
- on the first event of a file, or when the totals went down (a new context), the row
  holds ``last_token_usage`` (or the totals themselves when that is missing);
- without cumulative totals, ``last_token_usage`` as written.

Rows (one per turn):

- ``event_id``: a hash of the event's time and its cumulative totals, so a forked session
  that replays its parent's events (same times and totals) does not count them twice;
  without totals, of the session id, time and the turn's usage. A subagent rollout
  (``thread_spawn`` near its start) that opens with a burst of its parent's events within
  one second uses them only as its starting totals.
- tokens: Codex follows OpenAI's semantics, which are the canonical ones: ``input_tokens``
  includes ``cached_input_tokens`` (``cache_read_tokens``, capped at the input), and
  ``output_tokens`` includes ``reasoning_output_tokens`` (``reasoning_tokens``). Codex
  logs no cache writes (0).
- ``model_raw``: the model named by the event itself (``model``, ``model_name`` or
  ``metadata.model`` of the payload or of ``info``), else by the latest ``turn_context``
  line. An event with no model known is a bad record (kept aside, not guessed).
- dimensions: ``app`` ``codex``; ``provider`` ``openai``; ``session`` the ``session_meta``
  id (else the file name); ``project`` the working directory (``cwd`` of
  ``session_meta`` or ``turn_context``). The git branch of ``session_meta`` is not kept
  (the canonical row has no column for it). Codex reports no cost.

Incremental: rollouts are append-only, so an import skips unchanged files and reads grown
ones from where the last import stopped; the model, session, project and cumulative
totals at that point are kept with the file's offset (``ctx.file_state``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.sources.base import (
    BATCH_ROWS,
    ReadContext,
    Source,
    batch_from_columns,
    iter_lines,
    make_event_id,
    parse_timestamp,
    parse_token_count,
)
from tokenstat.sources.jsonlines import loads, looks_like_object, short
from tokenstat.sources.locations import LOCAL_LOGS

SOURCE = "codex"
USAGE_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
)
_MARKERS = (b'"token_count"', b'"turn_context"', b'"session_meta"')
_SUBAGENT_MARKER = b"thread_spawn"
_HEAD_BYTES = 16 * 1024


class CodexSource(Source):
    name = SOURCE
    description = "OpenAI Codex CLI session rollouts (~/.codex/sessions)"
    reads = "JSONL rollouts: session_meta, turn_context (model), token_count events"
    file_glob = LOCAL_LOGS[SOURCE].glob
    incremental = LOCAL_LOGS[SOURCE].incremental

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        compact = head.replace(b'": "', b'":"')
        return (
            b'"type":"session_meta"' in compact
            or b'"type":"turn_context"' in compact
            or (b'"type":"event_msg"' in compact and b'"payload"' in compact)
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        state = ctx.file_state
        state.setdefault("session", path.stem)
        if ctx.start_offset == 0 and "replay" not in state:
            state["replay"] = _replay_second(path)
        rows: list[tuple] = []
        for lineno, line in iter_lines(path, ctx):
            if not any(marker in line for marker in _MARKERS):
                if (line[:1] != b"{" or line[-1:] != b"}") and line and not looks_like_object(line):
                    ctx.bad(f"{path}:{lineno}", None, "not a JSON object", short(line))
                continue
            row = _read_line(path, lineno, line, state, ctx)
            if row is not None:
                rows.append(row)
                if len(rows) >= BATCH_ROWS:
                    yield _to_batch(rows)
                    rows = []
        if rows:
            yield _to_batch(rows)


class _Bad(ValueError):
    def __init__(self, field: str | None, reason: str):
        super().__init__(reason)
        self.field = field


def _read_line(
    path: Path, lineno: int, line: bytes, state: dict[str, Any], ctx: ReadContext
) -> tuple | None:
    where = f"{path}:{lineno}"
    try:
        obj = loads(line)
    except ValueError:
        ctx.bad(where, None, "invalid JSON (truncated or garbage line)", short(line))
        return None
    if type(obj) is not dict:
        ctx.bad(where, None, "not a JSON object", short(line))
        return None
    try:
        return _request(obj, state)
    except _Bad as exc:
        ctx.bad(where, exc.field, str(exc), short(line))
        return None


def _request(obj: dict, state: dict[str, Any]) -> tuple | None:
    kind = obj.get("type")
    payload = obj.get("payload")
    if kind in ("session_meta", "turn_context", "event_msg") and type(payload) is not dict:
        raise _Bad("payload", "expected an object")
    if kind == "session_meta":
        session = payload.get("id")
        if type(session) is str and session:
            state["session"] = session
        _remember_cwd(payload, state, override=True)
        return None
    if kind == "turn_context":
        model = _model_of(payload)
        if model:
            state["model"] = model
        _remember_cwd(payload, state, override=False)
        return None
    if kind != "event_msg" or payload.get("type") != "token_count":
        return None
    info = payload.get("info")
    if info is None:
        return None  # a rate-limit update without usage
    if type(info) is not dict:
        raise _Bad("payload.info", "expected an object")
    stamp = obj.get("timestamp")
    try:
        ts = parse_timestamp(stamp)
    except ValueError as exc:
        raise _Bad("timestamp", str(exc)) from None
    total = _usage(info, "total_token_usage")
    last = _usage(info, "last_token_usage")
    previous = state.get("totals")
    replay = state.get("replay")
    if replay and isinstance(stamp, str) and stamp[:19] == replay and total is not None:
        state["totals"] = total  # a subagent's replay of its parent's events
        return None
    state["replay"] = None
    if total is not None:
        state["totals"] = total
        if previous is not None and total == previous:
            return None  # re-emitted, nothing new
        if previous is not None and all(t >= p for t, p in zip(total, previous, strict=True)):
            delta = [t - p for t, p in zip(total, previous, strict=True)]
        else:
            delta = last if last is not None else total
        identity: tuple = ("total", stamp, *total)
    elif last is not None:
        delta = last
        identity = ("last", state["session"], stamp, *last)
    else:
        return None
    input_tokens, cached, output, reasoning, _ = delta
    if not (input_tokens or cached or output or reasoning):
        return None
    model = _model_of(payload) or _model_of(info)
    if model:
        state["model"] = model
    model = state.get("model")
    if not model:
        raise _Bad("model", "missing model: no turn_context or model before this event")
    return (
        make_event_id(SOURCE, *identity),
        ts,
        model,
        state.get("project"),
        state["session"],
        input_tokens,
        min(cached, input_tokens),
        output,
        min(reasoning, output),
    )


def _usage(info: dict, name: str) -> list[int] | None:
    usage = info.get(name)
    if usage is None:
        return None
    if type(usage) is not dict:
        raise _Bad(f"payload.info.{name}", "expected an object")
    counts = []
    for field in USAGE_FIELDS:
        try:
            counts.append(parse_token_count(usage.get(field)))
        except ValueError as exc:
            raise _Bad(f"payload.info.{name}.{field}", str(exc)) from None
    if not counts[4]:
        counts[4] = counts[0] + counts[2]  # older Codex versions omit the total
    return counts


def _model_of(part: dict) -> str | None:
    metadata = part.get("metadata")
    for value in (
        part.get("model"),
        part.get("model_name"),
        metadata.get("model") if isinstance(metadata, dict) else None,
    ):
        if type(value) is str and value.strip():
            return value.strip()
    return None


def _remember_cwd(payload: dict, state: dict[str, Any], *, override: bool) -> None:
    cwd = payload.get("cwd")
    if type(cwd) is str and cwd and (override or not state.get("project")):
        state["project"] = cwd


def _replay_second(path: Path) -> str | None:
    """The second (``YYYY-MM-DDTHH:MM:SS``) of a subagent rollout's opening replay of its
    parent's events: when the file mentions ``thread_spawn`` near its start and its
    first two token_count events fall in the same second."""
    with open(path, "rb") as handle:
        if _SUBAGENT_MARKER not in handle.read(_HEAD_BYTES):
            return None
    seconds: list[str] = []
    ctx = ReadContext()
    for _, line in iter_lines(path, ctx):
        if b'"token_count"' not in line:
            continue
        try:
            obj = loads(line)
        except ValueError:
            continue
        payload = obj.get("payload") if type(obj) is dict else None
        info = payload.get("info") if type(payload) is dict else None
        stamp = obj.get("timestamp")
        if type(info) is dict and info.get("total_token_usage") and isinstance(stamp, str):
            seconds.append(stamp[:19])
            if len(seconds) == 2:
                break
    return seconds[0] if len(seconds) == 2 and seconds[0] == seconds[1] else None


_ROW_COLUMNS = (
    "event_id",
    "ts",
    "model_raw",
    "project",
    "session",
    "input_tokens",
    "cache_read_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def _to_batch(rows: list[tuple]) -> pa.RecordBatch:
    columns = dict(zip(_ROW_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
    return batch_from_columns(
        columns,
        grain="request",
        source=SOURCE,
        model=None,
        provider="openai",
        app=SOURCE,
        user=None,
        cache_write_tokens=0,
        requests=1,
        cost_reported=None,
    )
