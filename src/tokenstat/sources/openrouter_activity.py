"""Importer for OpenRouter's ``GET /api/v1/activity`` (usage per day x model x endpoint).

Input
    JSON bodies ``{"data": [{"date": "2026-03-01", "model": "openai/gpt-4.1",
    "model_permaslug": "openai/gpt-4.1-2025-04-14", "endpoint_id": "...",
    "provider_name": "OpenAI", "usage": 0.015, "byok_usage_inference": 0.0,
    "requests": 5, "prompt_tokens": 50, "completion_tokens": 125, "reasoning_tokens": 25},
    ...]}``: one body, a JSON array of bodies, or JSON Lines of bodies (as a daily fetch
    appends them); ``.gz`` accepted. The endpoint covers the last 30 completed UTC days.

Rows
    One row per (date, model permaslug, endpoint): grain ``day``, ``ts`` the date at 00:00
    UTC, ``requests`` from the row, ``model_raw`` the permaslug (else ``model``) as written.
    ``event_id`` hashes date, permaslug and endpoint id, so overlapping fetches are one row.

Token kinds
    ``prompt_tokens`` is input (OpenRouter counts cached tokens inside it, but this
    endpoint does not say how many were cached, so ``cache_read_tokens`` is 0);
    ``completion_tokens`` is output and includes ``reasoning_tokens``.

Cost
    ``cost_reported`` = ``usage`` (OpenRouter credits spent) + ``byok_usage_inference``
    (what bring-your-own-key providers charged), in USD.

Dimensions
    ``provider`` is ``provider_name`` as a lower-case slug. The endpoint reports no app,
    user, project or session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonLayout, bare_record, iter_json_records
from tokenstat.sources.records import (
    count,
    first_present,
    model_name,
    money,
    optional_count,
    provider_slug,
    rows_from_records,
    text,
    timestamp,
)

SOURCE_NAME = "openrouter-activity"


LAYOUT = JsonLayout(
    unit_path="data.item",
    is_record=bare_record("date"),
    body_name="a /api/v1/activity response body",
)


class OpenRouterActivitySource(Source):
    """Daily usage per model and endpoint of one OpenRouter account."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = "OpenRouter account activity: tokens, requests, cost per day"
    reads: ClassVar[str] = (
        "JSON bodies of GET /api/v1/activity (one, an array, or JSON Lines; .gz accepted)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        text_head = head.lstrip(b"\xef\xbb\xbf").lstrip()
        return (
            text_head[:1] in (b"{", b"[")
            and b'"endpoint_id"' in head
            and b'"completion_tokens"' in head
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        yield from rows_from_records(
            SOURCE_NAME, iter_json_records(path, ctx, LAYOUT), convert, ctx
        )


def convert(record: Any) -> dict[str, Any]:
    """Keyword arguments of `RowBuilder.add` for one activity row."""
    if not isinstance(record, dict):
        raise ImportFormatError("an activity row should be a JSON object")
    ts = timestamp(record.get("date"), "date")
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    model_key, raw_model = first_present(record, "model_permaslug", "model")
    model_raw = model_name(raw_model, model_key)
    endpoint = text(record.get("endpoint_id"), "endpoint_id")
    usage = money(record.get("usage"), "usage")
    byok = money(record.get("byok_usage_inference"), "byok_usage_inference")
    cost = None if usage is None and byok is None else (usage or 0.0) + (byok or 0.0)
    return {
        "event_id": make_event_id(SOURCE_NAME, day.date().isoformat(), model_raw, endpoint),
        "ts": day,
        "grain": "day",
        "model_raw": model_raw,
        "provider": provider_slug(text(record.get("provider_name"), "provider_name")),
        "input_tokens": count(record.get("prompt_tokens"), "prompt_tokens"),
        "output_tokens": count(record.get("completion_tokens"), "completion_tokens"),
        "reasoning_tokens": count(record.get("reasoning_tokens"), "reasoning_tokens"),
        "requests": optional_count(record.get("requests"), "requests"),
        "cost_reported": cost,
    }
