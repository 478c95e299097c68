"""Importer for OpenRouter generations: the activity CSV export and ``/api/v1/generation``.

Input
    - The CSV export of openrouter.ai/activity (one row per generation). Columns are found
      by header name, in any order; the ones read are ``generation_id``, ``created_at``,
      ``model_permaslug``, ``provider_name``, ``tokens_prompt``, ``tokens_completion``,
      ``tokens_reasoning``, ``tokens_cached``, ``cost_total``, ``byok_usage_inference``,
      ``user``, ``api_key_name`` and ``app_name``; others are ignored.
    - JSON bodies of ``GET /api/v1/generation?id=...`` (``{"data": {...}}``): one body, a
      JSON array of bodies or of bare records, or JSON Lines of either (``.gz`` accepted).

Rows
    One ``request`` row per generation; ``event_id`` hashes the generation id, so the CSV
    and the JSON of the same generation are one row in the ledger. ``ts`` is
    ``created_at`` (the CSV writes UTC without a zone; it is read as UTC). ``model_raw`` is
    ``model_permaslug`` (CSV) or ``model`` (JSON) as written.

Token kinds
    OpenRouter counts like OpenAI: prompt tokens include cached tokens and completion
    tokens include reasoning tokens, so ``input_tokens`` = prompt, ``cache_read_tokens`` =
    cached, ``output_tokens`` = completion, ``reasoning_tokens`` = reasoning. The JSON
    carries both OpenRouter's normalized counts (``tokens_*``) and the provider's own
    (``native_tokens_*``, which is what is billed): the native counts are used when
    present. No cache-write count is reported.

Cost
    ``cost_reported`` is ``total_cost`` (JSON) or ``cost_total`` (CSV), in USD. For a
    bring-your-own-key request the provider's own charge (``upstream_inference_cost`` /
    ``byok_usage_inference``) is added, so the figure is what the request cost in all.

Dimensions
    ``provider`` is ``provider_name`` as a lower-case slug (``Google AI Studio`` ->
    ``google-ai-studio``). ``app`` is ``app_name`` (CSV); the JSON has only the numeric
    ``app_id``, kept as its decimal string. ``user`` is ``user`` (CSV) or
    ``external_user`` (JSON), the id the caller passed. ``project`` is the API key's
    name (``api_key_name``, CSV only): OpenRouter has no projects, and a key usually
    stands for one. ``session`` is empty.

Bad input
    A record without a generation id, time or model, or with a negative, fractional or
    non-numeric count, is reported with its location (``<path>:<line>`` for CSV and JSON
    Lines, ``<path>:record N`` in a JSON document) and the field, and skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonLayout, bare_record
from tokenstat.sources.records import (
    count,
    first_present,
    json_or_csv_records,
    lookup,
    model_name,
    money,
    provider_slug,
    rows_from_records,
    text,
    timestamp,
)

SOURCE_NAME = "openrouter-generations"


LAYOUT = JsonLayout(
    unit_path="data",
    is_record=bare_record("id", "model"),
    body_name="a /api/v1/generation response body",
)


class OpenRouterGenerationsSource(Source):
    """Per-generation usage from OpenRouter (activity CSV export or generation API)."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = "OpenRouter generations: one row per request, with cost"
    reads: ClassVar[str] = (
        "the openrouter.ai/activity CSV export, or /api/v1/generation JSON bodies "
        "(one, an array, or JSON Lines)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
        if b"generation_id" in first and b"tokens_prompt" in first:
            return True
        text_head = head.lstrip(b"\xef\xbb\xbf").lstrip()
        return text_head[:1] in (b"{", b"[") and (
            b'"native_tokens_prompt"' in head
            or (b'"tokens_prompt"' in head and b'"total_cost"' in head)
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        records = json_or_csv_records(path, ctx, LAYOUT)
        yield from rows_from_records(SOURCE_NAME, records, convert, ctx)


def convert(record: Any) -> dict[str, Any]:
    """Keyword arguments of `RowBuilder.add` for one generation (CSV row or JSON record)."""
    if not isinstance(record, dict):
        raise ImportFormatError("a generation should be a JSON object")
    csv = "generation_id" in record
    key, raw_id = first_present(record, "generation_id", "id")
    generation_id = text(raw_id, key, required=True)
    ts = timestamp(record.get("created_at"), "created_at")
    model_key, raw_model = first_present(record, "model_permaslug", "model")
    model_raw = model_name(raw_model, model_key)

    if csv:
        names = ("tokens_prompt", "tokens_cached", "tokens_completion", "tokens_reasoning")
    else:
        names = tuple(
            first_present(record, f"native_{n}", n)[0]
            for n in ("tokens_prompt", "tokens_cached", "tokens_completion", "tokens_reasoning")
        )
    prompt, cached, completion, reasoning = (count(lookup(record, n), n) for n in names)

    cost_key, raw_cost = first_present(record, "total_cost", "cost_total")
    cost = money(raw_cost, cost_key)
    byok_key, raw_byok = first_present(record, "byok_usage_inference", "upstream_inference_cost")
    byok = money(raw_byok, byok_key) if _is_byok(record, csv) else None
    if cost is not None and byok:
        cost += byok

    if csv:
        app = text(record.get("app_name"), "app_name")
        user = text(record.get("user"), "user")
        project = text(record.get("api_key_name"), "api_key_name")
    else:
        app = text(record.get("app_id"), "app_id")
        user = text(record.get("external_user"), "external_user")
        project = None
    return {
        "event_id": make_event_id(SOURCE_NAME, generation_id),
        "ts": ts,
        "model_raw": model_raw,
        "provider": provider_slug(text(record.get("provider_name"), "provider_name")),
        "app": app,
        "user": user,
        "project": project,
        "input_tokens": prompt,
        "cache_read_tokens": cached,
        "output_tokens": completion,
        "reasoning_tokens": reasoning,
        "requests": 1,
        "cost_reported": cost,
    }


def _is_byok(record: dict[str, Any], csv: bool) -> bool:
    if csv:
        return True  # byok_usage_inference is 0 or empty for requests billed by OpenRouter
    flag = record.get("is_byok")
    return flag is True or flag == "true"
