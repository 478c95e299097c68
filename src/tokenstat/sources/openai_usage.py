"""Importer for OpenAI's Completions usage API (``GET /v1/organization/usage/completions``).

Input
    Response pages ``{"object": "page", "data": [{"object": "bucket", "start_time": ...,
    "end_time": ..., "results": [{"object": "organization.usage.completions.result",
    "input_tokens": ..., "input_cached_tokens": ..., "output_tokens": ...,
    "num_model_requests": ..., "model": ..., "project_id": ..., ...}]}], "has_more": ...,
    "next_page": ...}``: one page, a JSON array of pages, or JSON Lines with one page per
    line (as a paging loop appends them); ``.gz`` accepted.

Rows
    One row per result in a bucket. ``ts`` is the bucket's ``start_time`` (Unix seconds,
    UTC). ``grain`` is ``day``: the API's buckets are 1 day, 1 hour or 1 minute wide, and
    ``day`` is the finest aggregate grain the ledger knows; hourly and minute buckets keep
    their own start time, so daily and weekly reports add them up exactly. ``requests`` is
    ``num_model_requests``. ``model`` is required: fetch with ``group_by=model`` (a result
    without a model is reported as a bad record). ``event_id`` hashes the bucket's start
    and end with the result's grouping keys (model, project, user, API key, batch, service
    tier), so re-fetching a period replaces nothing and duplicates nothing.

Token kinds
    ``input_tokens`` includes cached tokens (and audio and image tokens, per the API's
    current documentation), ``input_cached_tokens`` is ``cache_read_tokens``;
    ``input_cache_write_tokens`` is read as ``cache_write_tokens`` when a response carries
    it. ``output_tokens`` is output; the API reports no reasoning count.

Dimensions
    ``project`` = ``project_id``; ``user`` = ``user_id``; ``app`` = ``api_key_id`` (an API
    key usually stands for one application); ``provider`` is ``openai``. ``batch`` and
    ``service_tier`` are part of the row's identity but not stored. No cost is reported by
    this endpoint (the Costs API is a different one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import bucket_layout, iter_json_records, type_name
from tokenstat.sources.records import (
    count,
    model_name,
    optional_count,
    rows_from_records,
    text,
    timestamp,
)

SOURCE_NAME = "openai-usage"


LAYOUT = bucket_layout(
    "an organization usage page", "start_time", "end_time", ("results", "result")
)


class OpenAIUsageSource(Source):
    """Organization usage from OpenAI's Completions usage API, in time buckets."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = "OpenAI organization usage (completions), per time bucket"
    reads: ClassVar[str] = (
        "pages of GET /v1/organization/usage/completions (one, an array, or JSON Lines)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        return b'"bucket"' in head and b'"start_time"' in head and b'"end_time"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        yield from rows_from_records(
            SOURCE_NAME, iter_json_records(path, ctx, LAYOUT), convert, ctx
        )


def convert(record: Any) -> dict[str, Any]:
    """Keyword arguments of `RowBuilder.add` for one (result, start, end)."""
    result, start, end = record
    if not isinstance(result, dict):
        raise ImportFormatError(f"a result should be an object, not {type_name(result)}")
    ts = timestamp(start, "start_time")
    model_raw = model_name(result.get("model"), "model")
    project = text(result.get("project_id"), "project_id")
    user = text(result.get("user_id"), "user_id")
    api_key = text(result.get("api_key_id"), "api_key_id")
    batch = result.get("batch")
    tier = text(result.get("service_tier"), "service_tier")
    return {
        "event_id": make_event_id(
            SOURCE_NAME, start, end, model_raw, project, user, api_key, batch, tier
        ),
        "ts": ts,
        "grain": "day",
        "model_raw": model_raw,
        "provider": "openai",
        "app": api_key,
        "user": user,
        "project": project,
        "input_tokens": count(result.get("input_tokens"), "input_tokens"),
        "cache_read_tokens": count(result.get("input_cached_tokens"), "input_cached_tokens"),
        "cache_write_tokens": count(
            result.get("input_cache_write_tokens"), "input_cache_write_tokens"
        ),
        "output_tokens": count(result.get("output_tokens"), "output_tokens"),
        "requests": optional_count(result.get("num_model_requests"), "num_model_requests"),
    }
