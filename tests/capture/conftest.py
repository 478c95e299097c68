"""Shared pieces of the capture tests: real servers on 127.0.0.1 in a thread, and OTLP
protobuf bodies built with the official message classes."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

pytest.importorskip("opentelemetry.proto")

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

NOW_NS = 1_764_000_000 * 10**9  # 2025-11-24T16:00:00Z


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` on a free 127.0.0.1 port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def span_request(
    spans: list[dict[str, Any]], resource: dict[str, Any] | None = None
) -> ExportTraceServiceRequest:
    """An export of ``spans`` (each: trace (int), span (int), attrs (dict), start (ns))."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(kv(k, v) for k, v in (resource or {}).items())
    ss = rs.scope_spans.add()
    ss.scope.name = "tests"
    for s in spans:
        span = ss.spans.add()
        span.trace_id = s["trace"].to_bytes(16, "big")
        span.span_id = s["span"].to_bytes(8, "big")
        span.name = "chat"
        span.start_time_unix_nano = s.get("start", NOW_NS)
        span.end_time_unix_nano = s.get("start", NOW_NS) + 1000
        span.attributes.extend(kv(k, v) for k, v in s["attrs"].items())
    return request


def genai_spans(first: int, n: int, trace: int = 1) -> list[dict[str, Any]]:
    """``n`` chat spans (100 input, 20 output tokens each), span ids from ``first`` on."""
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 20,
    }
    return [{"trace": trace, "span": first + i, "attrs": attrs} for i in range(n)]


def sum_metric_request(
    points: list[dict[str, Any]], *, cumulative: bool, resource: dict[str, Any] | None = None
) -> ExportMetricsServiceRequest:
    """An export of Sum metrics: each point has metric, attrs, value, time, start."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(kv(k, v) for k, v in (resource or {}).items())
    sm = rm.scope_metrics.add()
    for p in points:
        metric = sm.metrics.add()
        metric.name = p["metric"]
        metric.sum.aggregation_temporality = 2 if cumulative else 1
        metric.sum.is_monotonic = True
        point = metric.sum.data_points.add()
        point.attributes.extend(kv(k, v) for k, v in p["attrs"].items())
        if isinstance(p["value"], float):
            point.as_double = p["value"]
        else:
            point.as_int = p["value"]
        point.time_unix_nano = p["time"]
        point.start_time_unix_nano = p.get("start", NOW_NS - 10**9)
    return request


def log_request(
    events: list[dict[str, Any]], resource: dict[str, Any] | None = None
) -> ExportLogsServiceRequest:
    """An export of log records: each has attrs and time; the body names the event."""
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(kv(k, v) for k, v in (resource or {}).items())
    sl = rl.scope_logs.add()
    for e in events:
        log = sl.log_records.add()
        log.time_unix_nano = e["time"]
        log.body.string_value = e.get("name", "claude_code.api_request")
        log.attributes.extend(kv(k, v) for k, v in e["attrs"].items())
    return request
