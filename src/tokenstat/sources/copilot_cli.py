"""GitHub Copilot CLI OpenTelemetry file exports (``~/.copilot/otel/*.jsonl``).

Where: the paths named on the command line; else the file ``$COPILOT_OTEL_FILE_EXPORTER_PATH``
names (when it exists) together with ``~/.copilot/otel``, where earlier exports are kept.
Every ``*.jsonl`` below a named directory is read. Copilot CLI writes these only when
started with ``COPILOT_OTEL_ENABLED=true`` and ``COPILOT_OTEL_EXPORTER_TYPE=file``.

Format: JSON Lines, one finished span (or log record) per line, as the OpenTelemetry JS
SDK writes them: ``traceId``, ``spanId``, ``name``, ``startTime``/``endTime`` (``[seconds,
nanoseconds]``, or an ISO time or epoch number) and ``attributes`` in the GenAI semantic
conventions. A request is a ``chat`` span (``gen_ai.operation.name`` ``chat``, or a name
starting with ``chat ``) with token counts. Agent spans (``invoke_agent``) sum their chat
spans and are passed over, so nothing is counted twice.

Rows (one per chat span):

- ``event_id``: a hash of ``gen_ai.response.id``, else of the trace and span ids.
- tokens, with OpenTelemetry's semantics (the canonical ones): ``input_tokens`` =
  ``gen_ai.usage.input_tokens`` (cache included); ``cache_read_tokens`` =
  ``gen_ai.usage.cache_read.input_tokens``; ``cache_write_tokens`` =
  ``gen_ai.usage.cache_creation.input_tokens`` (or ``cache_write``); ``output_tokens`` =
  ``gen_ai.usage.output_tokens``; ``reasoning_tokens`` =
  ``gen_ai.usage.reasoning.output_tokens`` (part of output).
- ``model_raw``: ``gen_ai.response.model``, else ``gen_ai.request.model``; ``provider``
  ``gen_ai.provider.name`` (else ``gen_ai.system``); ``app`` ``copilot-cli``;
  ``session`` ``gen_ai.conversation.id`` (else ``session.id``, else the trace id).

What the logs cannot tell: no cost (Copilot bills premium requests, not tokens); no
project or working directory; sessions run without the file exporter left nothing to
read. A span whose cache counts exceed its input is a bad record (it breaks the
convention).

Incremental: the exporter appends, so grown files are read from where the last import
stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.agent_files import json_lines
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.locations import LOCAL_LOGS
from tokenstat.sources.otlp import attributes as otlp_attributes
from tokenstat.sources.records import count, model_name, provider_slug, rows_from_records, text
from tokenstat.sources.records import timestamp as parse_time

SOURCE = "copilot-cli"
_A = "attributes"


class CopilotCliSource(Source):
    name = SOURCE
    description = "GitHub Copilot CLI OpenTelemetry file exports (~/.copilot/otel)"
    reads = "JSONL spans (GenAI conventions); chat spans carry gen_ai.usage.*"
    file_glob = LOCAL_LOGS[SOURCE].glob
    incremental = LOCAL_LOGS[SOURCE].incremental

    def discover(self) -> list[Path]:
        return LOCAL_LOGS[SOURCE].find()

    def detect(self, path: Path, head: bytes) -> bool:
        return (
            b'"gen_ai.' in head
            and (b'"spanId"' in head or b'"traceId"' in head)
            and b'"resourceSpans"' not in head
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        yield from rows_from_records(SOURCE, json_lines(path, ctx, b'"gen_ai.'), convert, ctx)


def convert(span: Any) -> dict[str, Any] | None:
    """Keyword arguments of `RowBuilder.add` for one chat span; None for other lines."""
    raw = span.get(_A)
    attrs = otlp_attributes(raw) if isinstance(raw, list) else raw
    if attrs is None:
        return None
    if not isinstance(attrs, dict):
        raise ImportFormatError("expected an object", field=_A)
    operation = attrs.get("gen_ai.operation.name")
    name = span.get("name")
    if operation != "chat" and not (operation is None and str(name).startswith("chat ")):
        return None
    if "gen_ai.usage.input_tokens" not in attrs and "gen_ai.usage.output_tokens" not in attrs:
        return None

    def tokens(*keys: str) -> int:
        for key in keys:
            if attrs.get(key) is not None:
                return count(attrs.get(key), f"{_A}.{key}")
        return 0

    model_key = "gen_ai.response.model"
    if not attrs.get(model_key):
        model_key = "gen_ai.request.model"
    model = model_name(attrs.get(model_key), f"{_A}.{model_key}")
    trace, span_id = text(span.get("traceId"), "traceId"), text(span.get("spanId"), "spanId")
    response = text(attrs.get("gen_ai.response.id"), f"{_A}.gen_ai.response.id")
    session = (
        text(attrs.get("gen_ai.conversation.id"), f"{_A}.gen_ai.conversation.id")
        or text(attrs.get("session.id"), f"{_A}.session.id")
        or trace
    )
    provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
    key = (response,) if response else (trace, span_id)
    return {
        "event_id": make_event_id(SOURCE, *key),
        "ts": _span_time(span),
        "model_raw": model,
        "provider": provider_slug(provider) if isinstance(provider, str) else None,
        "app": SOURCE,
        "session": session,
        "input_tokens": tokens("gen_ai.usage.input_tokens"),
        "cache_read_tokens": tokens("gen_ai.usage.cache_read.input_tokens"),
        "cache_write_tokens": tokens(
            "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens"
        ),
        "output_tokens": tokens("gen_ai.usage.output_tokens"),
        "reasoning_tokens": tokens("gen_ai.usage.reasoning.output_tokens"),
    }


def _span_time(span: dict[str, Any]) -> datetime:
    """When the span started: ``[seconds, nanoseconds]``, an ISO time or an epoch number."""
    for field in ("startTime", "endTime", "timestamp"):
        value = span.get(field)
        if value is None:
            continue
        if isinstance(value, list):
            if (
                len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                or not 0 <= value[1] < 1_000_000_000
            ):
                raise ImportFormatError("expected [seconds, nanoseconds]", field=field)
            try:
                start = datetime.fromtimestamp(value[0], tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise ImportFormatError(f"not a time: {value!r}", field=field) from None
            return start.replace(microsecond=value[1] // 1000)
        return parse_time(value, field)
    raise ImportFormatError("missing startTime", field="startTime")
