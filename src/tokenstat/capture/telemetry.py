"""Rows from received OTLP data: GenAI spans, and Claude Code's metrics and log events.

Spans
    Through `tokenstat.sources.otlp.genai_span_row`, the mapping the ``otlp`` file importer
    uses (source ``otlp``, event id from trace and span id): a span both received and
    imported from a file is one row.

Claude Code (source ``claude-code-otel``)
    - Log events ``claude_code.api_request`` (attributes ``input_tokens``,
      ``output_tokens``, ``cache_read_tokens``, ``cache_creation_tokens``, ``cost_usd``,
      ``model``, ``duration_ms``): one ``request`` row each. Anthropic counts input
      without cache: input = input + cache reads + cache writes.
    - Metrics ``claude_code.token.usage`` (attribute ``type``: ``input``, ``output``,
      ``cacheRead``, ``cacheCreation``; ``model``) and ``claude_code.cost.usage`` (USD):
      one row per data point with its change over the point's interval (``requests``
      unknown). Delta points are taken as they are; cumulative ones are diffed per series
      (resource + metric + attributes), and a value lower than the last one is a reset
      (the series starts again from it).
    - Both describe the same requests. Events are preferred: once a session (``session.id``,
      else the resource) has sent an ``api_request`` event, its metric points are skipped,
      as counting both would count twice. Claude Code exports events every 5 s and metrics
      every 60 s by default, so a session's events come first.

Event ids of metric points and log events hash (resource, metric or event name,
attributes, time): an exporter's retry of the same batch is the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from tokenstat.capture.decode import LogEvent, MetricPoint, iter_log_events, iter_metric_points
from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import make_event_id
from tokenstat.sources.otlp import unix_nanos
from tokenstat.sources.records import count, money, text, timestamp

CLAUDE_SOURCE = "claude-code-otel"
TOKEN_METRIC = "claude_code.token.usage"
COST_METRIC = "claude_code.cost.usage"
API_REQUEST_EVENTS = frozenset({"claude_code.api_request", "api_request"})
# Kept in the loader's state (stored with the spool position): at most this many series
# and sessions, the least recently seen dropped first.
MAX_SERIES = 50_000
MAX_SESSIONS = 10_000

_TOKEN_TYPES = {
    "input": ("input_tokens",),
    "output": ("output_tokens",),
    "cacheRead": ("cache_read_tokens", "input_tokens"),
    "cacheCreation": ("cache_write_tokens", "input_tokens"),
}


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _session_key(resource: dict[str, Any], attrs: dict[str, Any]) -> str:
    session = attrs.get("session.id") or resource.get("session.id")
    return f"s:{session}" if session else f"r:{_key(resource)}"


def _user(attrs: dict[str, Any], resource: dict[str, Any]) -> Any:
    for key in ("user.email", "user.account_uuid", "user.id"):
        value = attrs.get(key) or resource.get(key)
        if value:
            return value
    return None


class TelemetryState:
    """What turning metrics into rows remembers between batches: the last value of each
    cumulative series, and the sessions that sent ``api_request`` events. A JSON-able dict
    (`as_dict`), stored with the spool position in the same ledger transaction."""

    def __init__(self, data: dict[str, Any] | None = None):
        data = data or {}
        self.series: dict[str, list[float | int]] = dict(data.get("series", {}))
        self.sessions: dict[str, int] = dict(data.get("sessions", {}))

    def as_dict(self) -> dict[str, Any]:
        if len(self.series) > MAX_SERIES:
            keep = sorted(self.series.items(), key=lambda kv: kv[1][2])[-MAX_SERIES:]
            self.series = dict(keep)
        if len(self.sessions) > MAX_SESSIONS:
            keep_s = sorted(self.sessions.items(), key=lambda kv: kv[1])[-MAX_SESSIONS:]
            self.sessions = dict(keep_s)
        return {"series": self.series, "sessions": self.sessions}

    def delta(self, point: MetricPoint) -> float | int:
        """The change a point stands for: its value (delta temporality), else its value
        less the series' last one (cumulative; the whole value on the first point, on a
        new start time, or after a reset)."""
        if not point.cumulative:
            return point.value
        series = make_event_id("series", _key(point.resource), point.metric, _key(point.attrs))
        last = self.series.get(series)
        if last is not None and point.time <= last[2]:
            return 0  # an older or repeated point (a retried batch): no change
        self.series[series] = [point.start, point.value, point.time]
        if last is None or last[0] != point.start or point.value < last[1]:
            return point.value
        return point.value - last[1]


def metric_rows(request: Any, state: TelemetryState) -> Iterator[dict[str, Any] | Exception]:
    """`RowBuilder.add` arguments for the Claude Code metric points of a metrics export
    (other metrics are skipped; a bad point: an exception in its place)."""
    for point in iter_metric_points(request):
        if point.metric not in (TOKEN_METRIC, COST_METRIC):
            continue
        try:
            yield from _metric_row(point, state)
        except ImportFormatError as exc:
            yield exc


def _metric_row(point: MetricPoint, state: TelemetryState) -> Iterator[dict[str, Any]]:
    whole = not isinstance(point.value, float) or point.value.is_integer()
    if point.metric == TOKEN_METRIC and not whole:
        raise ImportFormatError(f"not a token count: {point.value!r}", field=point.metric)
    if point.value < 0:
        raise ImportFormatError(f"a negative counter value: {point.value!r}", field=point.metric)
    delta = state.delta(point)
    if _session_key(point.resource, point.attrs) in state.sessions:
        return  # the session's api_request events count these requests
    if not delta:
        return
    attrs = point.attrs
    model = text(attrs.get("model"), "model") or "unknown"
    row: dict[str, Any] = {
        "event_id": make_event_id(
            CLAUDE_SOURCE, _key(point.resource), point.metric, _key(attrs), point.time
        ),
        "ts": unix_nanos(point.time or point.start, "timeUnixNano"),
        "model_raw": model,
        "provider": "anthropic",
        "app": text(point.resource.get("service.name"), "service.name"),
        "user": text(_user(attrs, point.resource), "user.id"),
        "project": text(point.resource.get("service.namespace"), "service.namespace"),
        "session": text(attrs.get("session.id"), "session.id"),
        "requests": None,
    }
    if point.metric == COST_METRIC:
        row["cost_reported"] = float(delta)
    else:
        columns = _TOKEN_TYPES.get(str(attrs.get("type")))
        if columns is None:
            raise ImportFormatError(f"unknown token type {attrs.get('type')!r}", field="type")
        for column in columns:
            row[column] = int(delta)
    yield row


def log_rows(request: Any, state: TelemetryState) -> Iterator[dict[str, Any] | Exception]:
    """`RowBuilder.add` arguments for the ``claude_code.api_request`` events of a logs
    export (other records are skipped; a bad event: an exception in its place)."""
    for event in iter_log_events(request):
        if event.name not in API_REQUEST_EVENTS:
            continue
        state.sessions[_session_key(event.resource, event.attrs)] = event.time or event.observed
        try:
            yield _api_request_row(event)
        except ImportFormatError as exc:
            yield exc


def _api_request_row(event: LogEvent) -> dict[str, Any]:
    attrs = event.attrs
    model = text(attrs.get("model"), "model", required=True)
    if attrs.get("event.timestamp"):
        ts: datetime = timestamp(attrs.get("event.timestamp"), "event.timestamp")
    else:
        ts = unix_nanos(event.time or event.observed, "timeUnixNano")
    read = count(attrs.get("cache_read_tokens"), "cache_read_tokens")
    write = count(attrs.get("cache_creation_tokens"), "cache_creation_tokens")
    return {
        "event_id": make_event_id(
            CLAUDE_SOURCE, _key(event.resource), event.name, _key(attrs), event.time
        ),
        "ts": ts.astimezone(UTC),
        "model_raw": model,
        "provider": "anthropic",
        "app": text(event.resource.get("service.name"), "service.name"),
        "user": text(_user(attrs, event.resource), "user.id"),
        "project": text(event.resource.get("service.namespace"), "service.namespace"),
        "session": text(attrs.get("session.id"), "session.id"),
        "input_tokens": count(attrs.get("input_tokens"), "input_tokens") + read + write,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": count(attrs.get("output_tokens"), "output_tokens"),
        "requests": 1,
        "cost_reported": money(attrs.get("cost_usd"), "cost_usd"),
    }
