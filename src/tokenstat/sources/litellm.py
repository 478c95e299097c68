"""Importer for LiteLLM proxy spend logs (rows of the ``LiteLLM_SpendLogs`` table).

Input
    The table's rows exported as CSV (a database or UI export; ``metadata`` and
    ``request_tags`` hold JSON text) or as JSON: an array of rows (as ``GET /spend/logs``
    returns them), ``{"data": [...]}`` pages, or JSON Lines; ``.gz`` accepted. Columns are
    found by name: ``request_id``, ``startTime``, ``model`` (else ``model_group``),
    ``custom_llm_provider``, ``prompt_tokens``, ``completion_tokens``, ``spend``, ``user``,
    ``end_user``, ``team_id``, ``request_tags``, ``session_id`` and ``metadata``.

Rows
    One ``request`` row per log row; ``event_id`` hashes ``request_id``; ``ts`` is
    ``startTime`` (UTC when it carries no zone, as LiteLLM stores it).

Token kinds
    LiteLLM reports OpenAI-shaped usage: ``prompt_tokens`` includes cached tokens and
    ``completion_tokens`` includes reasoning. Cache and reasoning counts come from
    ``metadata.usage_object``: ``cache_read_input_tokens`` (else
    ``prompt_tokens_details.cached_tokens``), ``cache_creation_input_tokens`` (else
    ``prompt_tokens_details.cache_creation_tokens``) and
    ``completion_tokens_details.reasoning_tokens``. Current LiteLLM adds Anthropic's cache
    reads and writes into ``prompt_tokens``; older versions added only the reads, or
    neither. So when ``prompt_tokens`` is smaller than the cache reads, neither was added
    and ``input_tokens`` = prompt + reads + writes; when it covers the reads but not reads
    plus writes, only the writes are added; otherwise prompt is taken as it is.

Cost
    ``cost_reported`` is ``spend`` (USD, as LiteLLM priced the call).

Dimensions (the canonical row has app, user, project and session)
    - ``user``: ``end_user`` (the customer the request was made for, from the request's
      ``user`` field) when set, else ``user`` (the internal user owning the key);
    - ``project``: the team, by alias (``metadata.user_api_key_team_alias``) else
      ``team_id``: LiteLLM teams are how spend is budgeted, like projects;
    - ``app``: the key's alias (``metadata.user_api_key_alias``), since a virtual key
      usually stands for one application; else the request tags, sorted and joined with
      ``,`` (tags are how LiteLLM users label features and jobs);
    - ``session``: ``session_id``;
    - ``provider``: ``custom_llm_provider`` as a lower-case slug.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonLayout, type_name
from tokenstat.sources.limits import check_depth
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

SOURCE_NAME = "litellm"


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "request_id" in value


LAYOUT = JsonLayout(unit_path="data.item", is_record=_is_record, body_name="a spend logs page")


class LiteLLMSource(Source):
    """Per-request usage and spend logged by a LiteLLM proxy."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = "LiteLLM proxy spend logs: one row per request, with spend"
    reads: ClassVar[str] = (
        "LiteLLM_SpendLogs rows as CSV, or JSON (array, {data: [...]} pages, JSON Lines)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
        if b"request_id" in first and b"spend" in first and b"call_type" in first:
            return True
        return b'"request_id"' in head and b'"spend"' in head and b'"call_type"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        records = json_or_csv_records(path, ctx, LAYOUT)
        yield from rows_from_records(SOURCE_NAME, records, convert, ctx)


def convert(record: Any) -> dict[str, Any]:
    """Keyword arguments of `RowBuilder.add` for one spend log row."""
    if not isinstance(record, dict):
        raise ImportFormatError("a spend log row should be a JSON object")
    request_id = text(record.get("request_id"), "request_id", required=True)
    ts = timestamp(record.get("startTime"), "startTime")
    model_key, raw_model = first_present(record, "model", "model_group")
    model_raw = model_name(raw_model, model_key)
    metadata = _json_field(record.get("metadata"), "metadata", dict) or {}
    usage = metadata.get("usage_object")
    usage = usage if isinstance(usage, dict) else {}

    prompt = count(_first(record, usage, "prompt_tokens"), "prompt_tokens")
    completion = count(_first(record, usage, "completion_tokens"), "completion_tokens")
    read_key, read_value = first_present(
        usage, "cache_read_input_tokens", "prompt_tokens_details.cached_tokens"
    )
    write_key, write_value = first_present(
        usage, "cache_creation_input_tokens", "prompt_tokens_details.cache_creation_tokens"
    )
    cache_read = count(read_value, f"metadata.usage_object.{read_key}")
    cache_write = count(write_value, f"metadata.usage_object.{write_key}")
    reasoning = count(
        lookup(usage, "completion_tokens_details.reasoning_tokens"),
        "metadata.usage_object.completion_tokens_details.reasoning_tokens",
    )
    if prompt < cache_read:
        prompt += cache_read + cache_write
    elif prompt < cache_read + cache_write:
        prompt += cache_write
    if reasoning > completion:
        completion += reasoning

    tags = _json_field(record.get("request_tags"), "request_tags", list) or []
    team = text(metadata.get("user_api_key_team_alias"), "metadata.user_api_key_team_alias")
    key_alias = text(metadata.get("user_api_key_alias"), "metadata.user_api_key_alias")
    return {
        "event_id": make_event_id(SOURCE_NAME, request_id),
        "ts": ts,
        "model_raw": model_raw,
        "provider": provider_slug(text(record.get("custom_llm_provider"), "custom_llm_provider")),
        "app": key_alias or (",".join(sorted(str(t) for t in tags)) or None),
        "user": text(record.get("end_user"), "end_user") or text(record.get("user"), "user"),
        "project": team or text(record.get("team_id"), "team_id"),
        "session": text(record.get("session_id"), "session_id"),
        "input_tokens": prompt,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "output_tokens": completion,
        "reasoning_tokens": reasoning,
        "requests": 1,
        "cost_reported": money(record.get("spend"), "spend"),
    }


def _first(record: dict[str, Any], usage: dict[str, Any], key: str) -> Any:
    value = record.get(key)
    return usage.get(key) if value is None or value == "" else value


def _json_field(value: Any, field: str, kind: type) -> Any:
    """A field that holds JSON: parsed when it is text (CSV), checked for its type."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            check_depth(value.encode("utf-8", "surrogatepass"))
            value = json.loads(value)
        except ValueError:  # NestingTooDeep included
            raise ImportFormatError(f"{field} is not JSON: {value[:60]!r}", field=field) from None
    if not isinstance(value, kind):
        wanted = "an object" if kind is dict else "a list"
        raise ImportFormatError(f"{field} should be {wanted}, not {type_name(value)}", field=field)
    return value
