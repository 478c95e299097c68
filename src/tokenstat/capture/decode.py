"""Decoding OTLP/HTTP request bodies: gzip, size limits, protobuf and JSON.

In: the body bytes, its ``Content-Type`` and ``Content-Encoding``; out: the decoded
request (a protobuf message of ``opentelemetry.proto``, or the parsed OTLP/JSON object),
or `BodyError` with the HTTP status to answer (400 malformed, 413 too large, 415 of a
media type that is neither). Then `iter_spans`, `iter_metric_points` and `iter_log_events`
give the plain values the row mappings take, the same for both encodings.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tokenstat.errors import TokenstatError
from tokenstat.sources.otlp import any_value, attributes

MAX_BODY_BYTES = 16 << 20  # bytes of a request body, before and after decompression
SIGNALS = ("traces", "metrics", "logs")
PROTOBUF, JSON = "protobuf", "json"


class BodyError(TokenstatError, ValueError):
    """A request body that cannot be taken; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


def encoding_of(content_type: str) -> str:
    """`PROTOBUF` or `JSON` for a ``Content-Type`` header; `BodyError` 415 otherwise."""
    media = content_type.split(";")[0].strip().lower()
    if media in ("application/x-protobuf", "application/protobuf"):
        return PROTOBUF
    if media == "application/json":
        return JSON
    raise BodyError(
        f"Content-Type {media or '(none)'!r} is not application/x-protobuf or application/json",
        415,
    )


def decompress(body: bytes, content_encoding: str, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body without its ``Content-Encoding`` (gzip, deflate or none), at most ``limit``
    bytes once decompressed (`BodyError` 413 beyond, 400 when it does not decompress)."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BodyError(f"Content-Encoding {encoding!r} is not gzip, deflate or identity", 415)
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BodyError(f"the body is not valid {encoding}: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyError(f"the body is larger than {limit} bytes once decompressed", 413)
    if not inflater.eof:
        raise BodyError(f"the body is not valid {encoding}: it ends early")
    return out


def _message_class(signal: str) -> Any:
    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        return ExportTraceServiceRequest
    if signal == "metrics":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
        )

        return ExportMetricsServiceRequest
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    return ExportLogsServiceRequest


_TOP_KEYS = {"traces": "resourceSpans", "metrics": "resourceMetrics", "logs": "resourceLogs"}


def decode(signal: str, encoding: str, body: bytes) -> Any:
    """The export request of ``signal`` in ``body``: a protobuf message, or the OTLP/JSON
    object (a dict whose top list is checked to be a list of objects). `BodyError` 400
    for a body that is not one."""
    if encoding == PROTOBUF:
        from google.protobuf.message import DecodeError

        message = _message_class(signal)()
        try:
            message.ParseFromString(body)
        except (DecodeError, ValueError, RuntimeError) as exc:
            name = message.DESCRIPTOR.name
            raise BodyError(f"the body is not a protobuf {name}: {exc}".splitlines()[0]) from None
        return message
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"the body is not JSON: {exc}".splitlines()[0]) from None
    key = _TOP_KEYS[signal]
    if not isinstance(doc, dict):
        raise BodyError(f"the body should be a JSON object with {key!r}")
    items = doc.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BodyError(f"{key!r} should be a list of objects")
    return doc


def count_items(signal: str, request: Any) -> int:
    """Spans, metric data points or log records in a decoded request."""
    if isinstance(request, dict):
        return sum(1 for _ in _json_units(signal, request))
    if signal == "traces":
        return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    if signal == "logs":
        return sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
    return sum(1 for _ in iter_metric_points(request))


def _json_units(signal: str, doc: dict) -> Iterator[Any]:
    if signal == "traces":
        for r in doc.get("resourceSpans", []):
            for s in _list(r.get("scopeSpans")):
                yield from _list(s.get("spans") if isinstance(s, dict) else None)
    elif signal == "logs":
        for r in doc.get("resourceLogs", []):
            for s in _list(r.get("scopeLogs")):
                yield from _list(s.get("logRecords") if isinstance(s, dict) else None)
    else:
        yield from iter_metric_points(doc)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# ---- plain values, the same for protobuf and JSON -------------------------------------


def proto_attributes(items: Any) -> dict[str, Any]:
    """Protobuf ``KeyValue`` list as a plain dict (the values `attributes` gives for JSON)."""
    return {kv.key: proto_value(kv.value) for kv in items}


def proto_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [proto_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return proto_attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


@dataclass(frozen=True)
class SpanFacts:
    """One span as plain values (the arguments of `tokenstat.sources.otlp.genai_span_row`)."""

    attrs: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    trace_id: Any
    span_id: Any
    start: Any


def iter_spans(request: Any) -> Iterator[SpanFacts | Exception]:
    """The spans of a decoded trace export (a malformed JSON span: an exception in its
    place, so that the caller can set it aside and go on)."""
    if isinstance(request, dict):
        for rs in request.get("resourceSpans", []):
            resource = attributes(_dict(rs.get("resource")).get("attributes"))
            for ss in _list(rs.get("scopeSpans")):
                ss = _dict(ss)
                scope = _dict(ss.get("scope")).get("name") or ""
                for span in _list(ss.get("spans")):
                    if not isinstance(span, dict):
                        yield ValueError("a span should be an object")
                        continue
                    yield SpanFacts(
                        attributes(span.get("attributes")),
                        resource,
                        scope if isinstance(scope, str) else "",
                        span.get("traceId"),
                        span.get("spanId"),
                        span.get("startTimeUnixNano"),
                    )
        return
    for rs in request.resource_spans:
        resource = proto_attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for span in ss.spans:
                yield SpanFacts(
                    proto_attributes(span.attributes),
                    resource,
                    scope,
                    span.trace_id.hex(),
                    span.span_id.hex(),
                    span.start_time_unix_nano,
                )


@dataclass(frozen=True)
class MetricPoint:
    """One number data point of a Sum or Gauge metric, as plain values.

    ``cumulative``: the point holds a running total since ``start`` (nanoseconds), not
    the change over its interval. ``value``: an int or float.
    """

    resource: dict[str, Any]
    metric: str
    attrs: dict[str, Any]
    start: int
    time: int
    value: float | int
    cumulative: bool


def iter_metric_points(request: Any) -> Iterator[MetricPoint]:
    """The number data points of the Sum metrics of a decoded metrics export."""
    if isinstance(request, dict):
        for rm in request.get("resourceMetrics", []):
            resource = attributes(_dict(rm.get("resource")).get("attributes"))
            for sm in _list(rm.get("scopeMetrics")):
                for metric in _list(_dict(sm).get("metrics")):
                    metric = _dict(metric)
                    total = _dict(metric.get("sum"))
                    cumulative = total.get("aggregationTemporality") in (
                        2,
                        "AGGREGATION_TEMPORALITY_CUMULATIVE",
                    )
                    for point in _list(total.get("dataPoints")):
                        point = _dict(point)
                        value = point.get("asInt", point.get("asDouble"))
                        yield MetricPoint(
                            resource,
                            str(metric.get("name") or ""),
                            attributes(point.get("attributes")),
                            _int(point.get("startTimeUnixNano")),
                            _int(point.get("timeUnixNano")),
                            _number(value),
                            cumulative,
                        )
        return
    for rm in request.resource_metrics:
        resource = proto_attributes(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.WhichOneof("data") != "sum":
                    continue
                cumulative = metric.sum.aggregation_temporality == 2
                for point in metric.sum.data_points:
                    kind = point.WhichOneof("value")
                    yield MetricPoint(
                        resource,
                        metric.name,
                        proto_attributes(point.attributes),
                        point.start_time_unix_nano,
                        point.time_unix_nano,
                        getattr(point, kind) if kind else 0,
                        cumulative,
                    )


@dataclass(frozen=True)
class LogEvent:
    """One log record as plain values: its event name (``event_name``, else the
    ``event.name`` attribute, else a string body), attributes and times (nanoseconds)."""

    resource: dict[str, Any]
    name: str
    attrs: dict[str, Any]
    time: int
    observed: int


def iter_log_events(request: Any) -> Iterator[LogEvent]:
    """The log records of a decoded logs export."""
    if isinstance(request, dict):
        for rl in request.get("resourceLogs", []):
            resource = attributes(_dict(rl.get("resource")).get("attributes"))
            for sl in _list(rl.get("scopeLogs")):
                for log in _list(_dict(sl).get("logRecords")):
                    log = _dict(log)
                    attrs = attributes(log.get("attributes"))
                    body = any_value(log.get("body"))
                    yield LogEvent(
                        resource,
                        _event_name(log.get("eventName"), attrs, body),
                        attrs,
                        _int(log.get("timeUnixNano")),
                        _int(log.get("observedTimeUnixNano")),
                    )
        return
    for rl in request.resource_logs:
        resource = proto_attributes(rl.resource.attributes)
        for sl in rl.scope_logs:
            for log in sl.log_records:
                attrs = proto_attributes(log.attributes)
                body = proto_value(log.body) if log.HasField("body") else None
                yield LogEvent(
                    resource,
                    _event_name(getattr(log, "event_name", ""), attrs, body),
                    attrs,
                    log.time_unix_nano,
                    log.observed_time_unix_nano,
                )


def _event_name(field: Any, attrs: dict[str, Any], body: Any) -> str:
    for value in (field, attrs.get("event.name"), body):
        if isinstance(value, str) and value:
            return value
    return ""


def _int(value: Any) -> int:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        return 0


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return float(value)
        except (TypeError, ValueError):
            return 0
