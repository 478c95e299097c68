"""Importer for Langfuse observations (public API pages: ``/api/public/v2/observations``).

Input
    Response pages ``{"data": [observation, ...], "meta": {...}}`` of the v2 observations
    API (fetch with ``fields=core,basic,model,usage``) or of the v1
    ``/api/public/observations``: one page, a JSON array of pages or of observations, or
    JSON Lines of either; ``.gz`` accepted.

Which observations
    Only ``type`` = ``GENERATION`` (model calls). Spans, events, agent and tool
    observations are skipped silently.

Rows
    One ``request`` row per generation: ``event_id`` hashes the observation ``id``,
    ``ts`` is ``startTime``, ``model_raw`` is ``providedModelName`` (v2) or ``model`` (v1).

Token kinds
    ``usageDetails`` has free-form keys, each a count of one kind of token; Langfuse
    prices each key separately, so the keys are disjoint and ``total`` is their sum.
    Keys are mapped by name (case-insensitive), ``total`` aside:

    - containing ``cache_read`` or ``cached`` -> cache reads (part of input);
    - containing ``cache_creation`` or ``cache_write`` -> cache writes (part of input);
    - starting with ``input`` or ``prompt`` -> input;
    - containing ``reasoning`` -> reasoning (part of output);
    - starting with ``output`` or ``completion`` -> output;
    - anything else (``audio``, ``image`` without a direction) is not counted.

    So ``input_tokens`` = every input key plus cache keys, ``output_tokens`` = every
    output key plus reasoning. When ``total`` equals just the plain input and output keys
    (an ingestion that left cache and reasoning inside them, OpenAI style), they are not
    added twice. Without ``usageDetails``, the legacy ``usage`` (``input``, ``output``) is
    used.

Cost
    ``cost_reported`` = ``costDetails.total`` (USD), else the sum of the other
    ``costDetails`` keys, else ``totalCost`` (v2) or ``calculatedTotalCost`` (v1).

Dimensions
    ``user`` = ``userId``, ``session`` = ``sessionId`` (v2 observations carry their
    trace's), ``project`` = ``projectId`` (the Langfuse project). Langfuse records no
    provider or app for an observation, so those stay empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonLayout, bare_record, iter_json_records, type_name
from tokenstat.sources.records import (
    count,
    first_present,
    model_name,
    money,
    rows_from_records,
    text,
    timestamp,
)

SOURCE_NAME = "langfuse"


LAYOUT = JsonLayout(
    unit_path="data.item",
    is_record=bare_record("startTime"),
    body_name="a Langfuse observations page",
)


class LangfuseSource(Source):
    """Model calls (generations) recorded by Langfuse."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = "Langfuse generations: one row per model call"
    reads: ClassVar[str] = (
        "pages of the Langfuse observations API (v2 or v1): one, an array, or JSON Lines"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        return b'"traceId"' in head and (
            b'"usageDetails"' in head or b'"GENERATION"' in head or b'"startTime"' in head
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        yield from rows_from_records(
            SOURCE_NAME, iter_json_records(path, ctx, LAYOUT), convert, ctx
        )


def convert(record: Any) -> dict[str, Any] | None:
    """Keyword arguments of `RowBuilder.add` for one observation; None unless a generation."""
    if not isinstance(record, dict):
        raise ImportFormatError(f"an observation should be an object, not {type_name(record)}")
    kind = text(record.get("type"), "type", required=True)
    if kind.upper() != "GENERATION":
        return None
    observation_id = text(record.get("id"), "id", required=True)
    ts = timestamp(record.get("startTime"), "startTime")
    model_key, raw_model = first_present(record, "providedModelName", "model")
    model_raw = model_name(raw_model, model_key)
    tokens = usage_tokens(record)
    return {
        "event_id": make_event_id(SOURCE_NAME, observation_id),
        "ts": ts,
        "model_raw": model_raw,
        "user": text(record.get("userId"), "userId"),
        "session": text(record.get("sessionId"), "sessionId"),
        "project": text(record.get("projectId"), "projectId"),
        **tokens,
        "requests": 1,
        "cost_reported": cost(record),
    }


def _kind_of(key: str) -> str | None:
    k = key.lower()
    if k == "total":
        return None
    if "cache_read" in k or "cached" in k:
        return "cache_read_tokens"
    if "cache_creation" in k or "cache_write" in k:
        return "cache_write_tokens"
    if k.startswith(("input", "prompt")):
        return "input"
    if "reasoning" in k:
        return "reasoning_tokens"
    if k.startswith(("output", "completion")):
        return "output"
    return None


def usage_tokens(record: dict[str, Any]) -> dict[str, int]:
    """Canonical token counts from ``usageDetails`` (else the legacy ``usage``)."""
    details = record.get("usageDetails")
    field = "usageDetails"
    if details is None or details == {}:
        details = record.get("usage")
        field = "usage"
        if isinstance(details, dict):
            details = {k: v for k, v in details.items() if k in ("input", "output", "total")}
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise ImportFormatError(
            f"{field} should be an object, not {type_name(details)}", field=field
        )
    sums = {
        "input": 0,
        "output": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
    }
    for key, value in details.items():
        kind = _kind_of(key)
        if kind is not None:
            sums[kind] += count(value, f"{field}.{key}")
    total = details.get("total")
    plain = sums["input"] + sums["output"]
    subsets_inside = total is not None and total != "" and count(total, f"{field}.total") == plain
    extra_input = sums["cache_read_tokens"] + sums["cache_write_tokens"]
    if subsets_inside and extra_input + sums["reasoning_tokens"] > 0:
        extra_input = 0
        extra_output = 0
    else:
        extra_output = sums["reasoning_tokens"]
    return {
        "input_tokens": sums["input"] + extra_input,
        "output_tokens": sums["output"] + extra_output,
        "cache_read_tokens": sums["cache_read_tokens"],
        "cache_write_tokens": sums["cache_write_tokens"],
        "reasoning_tokens": sums["reasoning_tokens"],
    }


def cost(record: dict[str, Any]) -> float | None:
    details = record.get("costDetails")
    if isinstance(details, dict) and details:
        if details.get("total") is not None:
            return money(details["total"], "costDetails.total")
        parts = [money(v, f"costDetails.{k}") for k, v in details.items()]
        return sum(p for p in parts if p is not None)
    if details is not None and not isinstance(details, dict):
        raise ImportFormatError(
            f"costDetails should be an object, not {type_name(details)}", field="costDetails"
        )
    key, value = first_present(record, "totalCost", "calculatedTotalCost")
    return money(value, key)
