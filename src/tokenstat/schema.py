"""The canonical usage row: one Arrow schema every importer produces.

One row is one request (own usage) or one pre-aggregated observation (market data:
one model over one day, week or month). Token semantics follow OpenTelemetry GenAI,
OpenAI and genai-prices: ``input_tokens`` counts ALL input, cache reads and writes
included; ``output_tokens`` counts all output, reasoning included.
"""

from __future__ import annotations

import pyarrow as pa

GRAINS_STORED = ("request", "day", "week", "month")

USAGE_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("grain", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("model_raw", pa.string(), nullable=False),
        pa.field("provider", pa.string()),
        pa.field("app", pa.string()),
        pa.field("user", pa.string()),
        pa.field("project", pa.string()),
        pa.field("session", pa.string()),
        pa.field("machine", pa.string()),
        pa.field("input_tokens", pa.int64(), nullable=False),
        pa.field("cache_read_tokens", pa.int64(), nullable=False),
        pa.field("cache_write_tokens", pa.int64(), nullable=False),
        # the part of cache_write_tokens written for one hour (Anthropic's 1h cache)
        pa.field("cache_write_1h_tokens", pa.int64(), nullable=False),
        pa.field("output_tokens", pa.int64(), nullable=False),
        pa.field("reasoning_tokens", pa.int64(), nullable=False),
        pa.field("requests", pa.int64()),
        pa.field("cost_reported", pa.float64()),
    ]
)

USAGE_COLUMNS: tuple[str, ...] = tuple(USAGE_SCHEMA.names)
TOKEN_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)
DIMENSION_COLUMNS = ("provider", "app", "user", "project", "session", "machine")
# Dimensions only the raw rows hold (not the model's): the ledger rolls them up apart.
ROW_DIMENSIONS = ("app", "user", "project", "session", "machine")

# Token kinds a report can count; "total" is input + output (cache and reasoning are
# subsets of those and never added twice).
TOKEN_KINDS = ("total", "input", "output", "cache_read", "cache_write", "reasoning")


def normalize_anthropic_input(input_uncached: int, cache_read: int, cache_write: int) -> int:
    """Input tokens in canonical semantics from an Anthropic-shaped report.

    Anthropic (Claude Code logs, the Admin usage API, OpenLIT spans of Anthropic calls)
    reports input WITHOUT cache; canonical input includes cache reads and writes.
    """
    return input_uncached + cache_read + cache_write


def empty_usage_table() -> pa.Table:
    """A zero-row table with the canonical schema."""
    return USAGE_SCHEMA.empty_table()
