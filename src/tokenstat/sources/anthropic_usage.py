"""Importer for Anthropic's Admin API usage report (``/v1/organizations/usage_report/messages``).

Input
    Response pages ``{"data": [{"starting_at": "2026-03-01T00:00:00Z", "ending_at": ...,
    "results": [{"uncached_input_tokens": ..., "cache_creation": {"ephemeral_5m_input_tokens":
    ..., "ephemeral_1h_input_tokens": ...}, "cache_read_input_tokens": ..., "output_tokens":
    ..., "model": ..., "workspace_id": ..., "api_key_id": ..., ...}]}], "has_more": ...,
    "next_page": ...}``: one page, a JSON array of pages, or JSON Lines with one page per
    line; ``.gz`` accepted.

Rows
    One row per result in a bucket: ``ts`` is the bucket's ``starting_at`` (UTC), ``grain``
    ``day`` (the report's buckets are 1 day, 1 hour or 1 minute wide; ``day`` is the finest
    aggregate grain the ledger knows, and finer buckets keep their own start time).
    ``model`` is required: fetch with ``group_by[]=model``. The report has no request
    count, so ``requests`` is empty. ``event_id`` hashes the bucket's bounds with the
    result's grouping keys (model, workspace, API key, account, service tier, context
    window, inference geo, speed).

Token kinds (Anthropic reports input WITHOUT cache; normalized here)
    ``input_tokens`` = ``uncached_input_tokens`` + cache writes (5-minute + 1-hour) +
    ``cache_read_input_tokens``; ``cache_write_tokens`` = the 5-minute and 1-hour writes
    (``cache_creation.ephemeral_5m_input_tokens`` and ``..._1h_...``, or the flat
    ``cache_creation_5m_input_tokens`` / ``cache_creation_1h_input_tokens``; the 1h part is
    also kept as ``cache_write_1h_tokens``, priced at its own rate);
    ``cache_read_tokens`` = ``cache_read_input_tokens``; ``output_tokens`` =
    ``output_tokens`` (extended thinking included; no separate reasoning count).

Dimensions
    ``project`` = ``workspace_id`` (workspaces are how an Anthropic organization splits
    its usage); ``app`` = ``api_key_id`` (a key usually stands for one application);
    ``user`` = ``account_id`` (else ``service_account_id``) when grouped by it;
    ``provider`` is ``anthropic``. No cost in this report (the cost report is separate).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.schema import normalize_anthropic_input
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import bucket_layout, iter_json_records, type_name
from tokenstat.sources.records import (
    count,
    first_present,
    model_name,
    rows_from_records,
    text,
    timestamp,
)

SOURCE_NAME = "anthropic-usage"
GROUP_KEYS = (
    "workspace_id",
    "api_key_id",
    "account_id",
    "service_account_id",
    "service_tier",
    "context_window",
    "inference_geo",
    "speed",
)


LAYOUT = bucket_layout("a messages usage report page", "starting_at", "ending_at")


class AnthropicUsageSource(Source):
    """Organization usage from Anthropic's Admin API usage report, in time buckets."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = "Anthropic organization usage (messages), per time bucket"
    reads: ClassVar[str] = (
        "pages of the Admin API GET /v1/organizations/usage_report/messages "
        "(one, an array, or JSON Lines)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        return b'"starting_at"' in head and b'"ending_at"' in head and b'"results"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        yield from rows_from_records(
            SOURCE_NAME, iter_json_records(path, ctx, LAYOUT), convert, ctx
        )


def convert(record: Any) -> dict[str, Any]:
    """Keyword arguments of `RowBuilder.add` for one (result, starting_at, ending_at)."""
    result, start, end = record
    if not isinstance(result, dict):
        raise ImportFormatError(f"a result should be an object, not {type_name(result)}")
    ts = timestamp(start, "starting_at")
    model_raw = model_name(result.get("model"), "model")
    keys = {k: text(result.get(k), k) for k in GROUP_KEYS}

    uncached = count(result.get("uncached_input_tokens"), "uncached_input_tokens")
    cache_read = count(result.get("cache_read_input_tokens"), "cache_read_input_tokens")
    creation = result.get("cache_creation")
    if creation is not None and not isinstance(creation, dict):
        raise ImportFormatError(
            f"cache_creation should be an object, not {type_name(creation)}",
            field="cache_creation",
        )
    written = {}
    for ttl in ("5m", "1h"):
        field, value = first_present(
            result,
            f"cache_creation.ephemeral_{ttl}_input_tokens",
            f"cache_creation_{ttl}_input_tokens",
        )
        written[ttl] = count(value, field)
    writes = written["5m"] + written["1h"]
    return {
        "event_id": make_event_id(SOURCE_NAME, start, end, model_raw, *keys.values()),
        "ts": ts,
        "grain": "day",
        "model_raw": model_raw,
        "provider": "anthropic",
        "app": keys["api_key_id"],
        "user": keys["account_id"] or keys["service_account_id"],
        "project": keys["workspace_id"],
        "input_tokens": normalize_anthropic_input(uncached, cache_read, writes),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": writes,
        "cache_write_1h_tokens": written["1h"],
        "output_tokens": count(result.get("output_tokens"), "output_tokens"),
        "requests": None,
    }
