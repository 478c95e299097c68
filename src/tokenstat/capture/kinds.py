"""The kinds of spooled records (a byte in each record's header)."""

from __future__ import annotations

TRACES_PROTOBUF, TRACES_JSON = 1, 2
METRICS_PROTOBUF, METRICS_JSON = 3, 4
LOGS_PROTOBUF, LOGS_JSON = 5, 6
PROXY_CALL = 7  # one metered call of the proxy, as JSON (no prompt, no completion, no key)

OTLP_KINDS = {
    ("traces", "protobuf"): TRACES_PROTOBUF,
    ("traces", "json"): TRACES_JSON,
    ("metrics", "protobuf"): METRICS_PROTOBUF,
    ("metrics", "json"): METRICS_JSON,
    ("logs", "protobuf"): LOGS_PROTOBUF,
    ("logs", "json"): LOGS_JSON,
}
SIGNAL_OF_KIND = {kind: pair for pair, kind in OTLP_KINDS.items()}
