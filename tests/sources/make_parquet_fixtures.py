"""Writes the Parquet files of tests/fixtures/sources/parquet/ (binary, so made by code).

Run from the repository root: ``python tests/sources/make_parquet_fixtures.py``. The
numbers are the ones tests/fixtures/sources/parquet/expected.json adds up by hand.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "parquet"

GOOD = {
    "ts": [date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 2)],
    "grain": ["day", "day", "day", "day"],
    "model": [
        "anthropic/claude-sonnet-4.5",
        "openai/gpt-5",
        "deepseek/deepseek-v3.2",
        "qwen/qwen3-coder",
    ],
    "provider": ["anthropic", "openai", "deepinfra", "together"],
    "app": ["ide-plugin", "ide-plugin", "batch-jobs", "ide-plugin"],
    "input_tokens": [5_000_000, 2_000_000, 8_000_000, 1_500_000],
    "cache_read_tokens": [4_200_000, 1_000_000, 0, 0],
    "cache_write_tokens": [300_000, 0, 0, 0],
    "output_tokens": [120_000, 310_000, 500_000, 90_000],
    "requests": [900, 400, 1200, 150],
    "cost_reported": [4.56, 4.85, 2.4, None],
}
TYPES = {
    "ts": pa.date32(),
    "input_tokens": pa.int64(),
    "cache_read_tokens": pa.int64(),
    "cache_write_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "requests": pa.int64(),
    "cost_reported": pa.float64(),
}


def table(columns: dict, types: dict | None = None) -> pa.Table:
    types = {**TYPES, **(types or {})}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in columns.items()})


def three(middle: dict, types: dict | None = None) -> pa.Table:
    """Rows 1 and 3 of the good file around a changed row 2."""
    rows = {k: [v[0], v[1], v[2]] for k, v in GOOD.items()}
    for k, v in middle.items():
        rows[k][1] = v
    return table(rows, types)


def main() -> None:
    pq.write_table(table(GOOD), HERE / "daily-usage.parquet")
    bad = HERE / "bad"
    good = (HERE / "daily-usage.parquet").read_bytes()
    (bad / "truncated.parquet").write_bytes(good[: len(good) // 2])
    pq.write_table(
        three({"ts": None, "model": "\ufffd\ufffd<<garbage>>", "grain": None}),
        bad / "garbage-line.parquet",
    )
    pq.write_table(three({"output_tokens": -5}), bad / "negative-tokens.parquet")
    as_float = {k: [float(x) for x in v[:3]] for k, v in GOOD.items() if k == "output_tokens"}
    as_float["output_tokens"][1] = 12.5
    rows = {k: v[:3] for k, v in GOOD.items()} | as_float
    pq.write_table(table(rows, {"output_tokens": pa.float64()}), bad / "non-integer-tokens.parquet")
    pq.write_table(three({"model": None}), bad / "missing-model.parquet")
    text_ts = {k: v[:3] for k, v in GOOD.items()}
    text_ts["ts"] = ["2026-03-01", "yesterday", "2026-03-02"]
    pq.write_table(table(text_ts, {"ts": pa.string()}), bad / "wrong-type.parquet")


if __name__ == "__main__":
    main()
