"""Importer for OpenTelemetry traces in OTLP/JSON that follow the GenAI semantic conventions.

Input
    OTLP/JSON ``ExportTraceServiceRequest`` bodies (``{"resourceSpans": [...]}``): JSON
    Lines with one body per line, as the OpenTelemetry Collector's file exporter writes
    them, or one body (an HTTP request body saved to a file); ``.gz`` accepted. A JSON
    Lines file is read line by line; a single body is parsed incrementally, one
    ``ResourceSpans`` at a time. Keys are the lowerCamelCase names of the OTLP/JSON
    encoding; ``intValue`` may be a JSON number or a decimal string (as the encoding
    writes 64-bit integers).

Which spans
    A span is a GenAI call when it has a ``gen_ai.usage.*`` token count or a model
    (``gen_ai.request.model`` / ``gen_ai.response.model``); other spans (HTTP, database,
    ...) are skipped silently. Spans whose ``gen_ai.operation.name`` is ``invoke_agent``,
    ``create_agent`` or ``execute_tool`` are skipped too: an agent span may carry the sum
    of its model calls, which are spans of their own, and counting both would count twice.

Rows
    One ``request`` row per GenAI span: ``ts`` is ``startTimeUnixNano`` (UTC),
    ``event_id`` hashes ``traceId`` and ``spanId``, ``model_raw`` is
    ``gen_ai.response.model`` (the model that answered), else ``gen_ai.request.model``.

Token kinds (GenAI semantic conventions)
    ``input_tokens`` = ``gen_ai.usage.input_tokens`` (legacy ``gen_ai.usage.prompt_tokens``),
    which by the conventions includes cached tokens; ``cache_read_tokens`` =
    ``gen_ai.usage.cache_read.input_tokens`` (or ``gen_ai.usage.cache_read_input_tokens``);
    ``cache_write_tokens`` = ``gen_ai.usage.cache_creation.input_tokens`` (or
    ``gen_ai.usage.cache_creation_input_tokens``, ``gen_ai.usage.cache_write.input_tokens``,
    ``gen_ai.usage.cache_write_input_tokens``); ``output_tokens`` =
    ``gen_ai.usage.output_tokens`` (legacy ``gen_ai.usage.completion_tokens``), reasoning
    included; ``reasoning_tokens`` = ``gen_ai.usage.reasoning.output_tokens`` (or OpenLIT's
    ``gen_ai.usage.reasoning_tokens``).

    Some instrumentations report Anthropic input WITHOUT cache, as Anthropic's API does:
    OpenLIT (resource ``telemetry.sdk.name`` = ``openlit``, or a scope named ``openlit...``)
    does so for ``anthropic`` spans. Those are normalized: input = input + cache reads +
    cache writes. The same is done for any span whose cache counts exceed its input, which
    cannot happen when input includes cache.

Cost
    ``cost_reported`` is ``gen_ai.usage.cost`` (USD) where an instrumentation sets it
    (OpenLIT does); else empty.

Dimensions
    ``provider``: ``gen_ai.provider.name``, else the legacy ``gen_ai.system``;
    ``app``: the resource's ``service.name``; ``user``: ``user.id`` (else ``enduser.id``);
    ``session``: ``gen_ai.conversation.id`` (else ``session.id``); ``project``: the
    resource's ``service.namespace``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, make_event_id
from tokenstat.sources.jsonio import JsonLayout, iter_json_records, type_name
from tokenstat.sources.records import (
    count,
    money,
    provider_slug,
    rows_from_records,
    text,
)

SOURCE_NAME = "otlp"

INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_write_input_tokens",
)
REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
MODEL = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER = ("gen_ai.provider.name", "gen_ai.system")
NOT_MODEL_CALLS = frozenset({"invoke_agent", "create_agent", "execute_tool"})
# Instrumentations known to report Anthropic input tokens without cache.
UNCACHED_INPUT_PROVIDERS = {"openlit": frozenset({"anthropic"})}


def _records_of(resource_spans: Any) -> Iterator[tuple[dict, dict, str]]:
    """(span, resource attributes, scope name) for each span of one ResourceSpans."""
    if not isinstance(resource_spans, dict):
        raise ImportFormatError(
            f"a resourceSpans element should be an object, not {type_name(resource_spans)}"
        )
    resource = resource_spans.get("resource") or {}
    resource_attrs = attributes(resource.get("attributes") if isinstance(resource, dict) else [])
    scope_spans = resource_spans.get("scopeSpans")
    if scope_spans is None:
        scope_spans = resource_spans.get("instrumentationLibrarySpans", [])
    if not isinstance(scope_spans, list):
        raise ImportFormatError(
            f"scopeSpans should be a list, not {type_name(scope_spans)}", field="scopeSpans"
        )
    for scope_span in scope_spans:
        if not isinstance(scope_span, dict):
            raise ImportFormatError("a scopeSpans element should be an object", field="scopeSpans")
        scope = scope_span.get("scope") or scope_span.get("instrumentationLibrary") or {}
        scope_name = scope.get("name", "") if isinstance(scope, dict) else ""
        spans = scope_span.get("spans", [])
        if not isinstance(spans, list):
            raise ImportFormatError(
                f"spans should be a list, not {type_name(spans)}", field="spans"
            )
        for span in spans:
            yield span, resource_attrs, scope_name or ""


LAYOUT = JsonLayout(
    unit_path="resourceSpans.item",
    is_record=lambda value: False,
    records_of=lambda unit: list(_records_of(unit)),
    body_name="an OTLP ExportTraceServiceRequest",
)


class OtlpSource(Source):
    """GenAI model calls from OpenTelemetry traces (OTLP/JSON)."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = "OpenTelemetry GenAI spans: one row per model call"
    reads: ClassVar[str] = (
        "OTLP/JSON traces: collector file-exporter JSON Lines, or one "
        "ExportTraceServiceRequest body (.gz accepted)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        return b'"resourceSpans"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        yield from rows_from_records(
            SOURCE_NAME, iter_json_records(path, ctx, LAYOUT), convert, ctx
        )


def attributes(items: Any) -> dict[str, Any]:
    """OTLP ``[{"key": ..., "value": {"stringValue": ...}}]`` as a plain dict."""
    if not isinstance(items, list):
        return {}
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = any_value(item.get("value"))
    return out


def any_value(value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue`` (intValue stays as written: a string or int)."""
    if not isinstance(value, dict) or not value:
        return None
    for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if kind in value:
            return value[kind]
    if "arrayValue" in value:
        values = (value["arrayValue"] or {}).get("values") or []
        return [any_value(v) for v in values]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values"))
    return None


def convert(record: Any) -> dict[str, Any] | None:
    """Keyword arguments of `RowBuilder.add` for one span; None for a non-GenAI span."""
    span, resource, scope = record
    if not isinstance(span, dict):
        raise ImportFormatError(f"a span should be an object, not {type_name(span)}")
    return genai_span_row(
        attributes(span.get("attributes")),
        resource,
        scope,
        trace_id=span.get("traceId"),
        span_id=span.get("spanId"),
        start=span.get("startTimeUnixNano"),
    )


def genai_span_row(
    attrs: dict[str, Any],
    resource: dict[str, Any],
    scope: str,
    *,
    trace_id: Any,
    span_id: Any,
    start: Any,
) -> dict[str, Any] | None:
    """Keyword arguments of `RowBuilder.add` for one span given as plain values: its
    attributes, its resource's attributes, its scope name, its trace and span ids (hex
    strings) and start time (nanoseconds since the epoch); None for a non-GenAI span.

    The one GenAI mapping: the file importer and the live receiver
    (`tokenstat.capture`) both call it.
    """
    operation = attrs.get("gen_ai.operation.name")
    if operation in NOT_MODEL_CALLS:
        return None
    usage_keys = [k for k in attrs if k.startswith("gen_ai.usage.") and k != "gen_ai.usage.cost"]
    model_key, raw_model = _pick(attrs, MODEL)
    if not usage_keys and raw_model is None:
        return None  # not a GenAI span

    if raw_model is None or (isinstance(raw_model, str) and not raw_model.strip()):
        raise ImportFormatError("missing model", field="gen_ai.request.model")
    if not isinstance(raw_model, str):
        raise ImportFormatError(
            f"{model_key} should be a string, not {type_name(raw_model)}", field=model_key
        )
    trace_id = text(trace_id, "traceId", required=True)
    span_id = text(span_id, "spanId", required=True)
    ts = unix_nanos(start, "startTimeUnixNano")

    tokens = {}
    for name, keys in (
        ("input_tokens", INPUT),
        ("output_tokens", OUTPUT),
        ("cache_read_tokens", CACHE_READ),
        ("cache_write_tokens", CACHE_WRITE),
        ("reasoning_tokens", REASONING),
    ):
        key, value = _pick(attrs, keys)
        tokens[name] = count(value, key)
    provider = text(_pick(attrs, PROVIDER)[1], "gen_ai.provider.name")
    cache = tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
    if _reports_uncached_input(resource, scope, provider) or cache > tokens["input_tokens"]:
        tokens["input_tokens"] += cache
    if tokens["reasoning_tokens"] > tokens["output_tokens"]:
        tokens["output_tokens"] += tokens["reasoning_tokens"]

    return {
        "event_id": make_event_id(SOURCE_NAME, trace_id, span_id),
        "ts": ts,
        "model_raw": raw_model.strip(),
        "provider": provider_slug(provider),
        "app": text(resource.get("service.name"), "service.name"),
        "project": text(resource.get("service.namespace"), "service.namespace"),
        "user": text(_pick(attrs, ("user.id", "enduser.id"))[1], "user.id"),
        "session": text(
            _pick(attrs, ("gen_ai.conversation.id", "session.id"))[1], "gen_ai.conversation.id"
        ),
        **tokens,
        "requests": 1,
        "cost_reported": money(attrs.get("gen_ai.usage.cost"), "gen_ai.usage.cost"),
    }


def _pick(attrs: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any]:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return key, value
    return keys[0], None


def _reports_uncached_input(resource: dict[str, Any], scope: str, provider: str | None) -> bool:
    sdk = str(resource.get("telemetry.sdk.name") or "").lower()
    instrumentation = "openlit" if sdk == "openlit" or scope.startswith("openlit") else sdk
    providers = UNCACHED_INPUT_PROVIDERS.get(instrumentation, frozenset())
    return (provider or "").lower() in providers


def unix_nanos(value: Any, field: str) -> datetime:
    """A UTC datetime from OTLP nanoseconds since the epoch (a decimal string or a number)."""
    if value is None or value == "":
        raise ImportFormatError(f"missing {field}", field=field)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ImportFormatError(
            f"{field} should be an integer, not {type_name(value)}", field=field
        )
    try:
        nanos = int(value)
    except ValueError:
        raise ImportFormatError(f"{field} is not an integer: {value!r}", field=field) from None
    if nanos <= 0:
        raise ImportFormatError(f"{field} is not a time: {value!r}", field=field)
    seconds, rest = divmod(nanos, 1_000_000_000)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=rest // 1000)
    except (OverflowError, OSError, ValueError):
        raise ImportFormatError(f"{field} is out of range: {value!r}", field=field) from None
