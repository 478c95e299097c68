"""Benchmark: cost of 100M ledger rows in the engine vs a per-row loop over calc_price.

Prices every row of a request-grain ledger table in ``computed`` mode through the same
code the ``cost`` command runs (`tokenstat.prices.cost.aggregate_cost`: one join of every
row with the composite price schedule, validity, tiers and time windows in the query,
token counts summed per schedule row and priced after), and, in the same run, prices a
10,000-row sample of that table with a Python loop over ``genai_prices.calc_price``.
Prints rows/s of each and the ratio, and checks that both give the same cost on the
sample.

The rows are generated directly in DuckDB (``INSERT INTO usage SELECT ... FROM range(N)``
into a new ledger file), deterministic for a given (rows, seed), and kept in
``benchmarks/data/cost-ledger-<rows>-seed<seed>.duckdb`` for the next run. Nothing in them
is a measurement. Shape:

- 40 (provider, model) pairs over models genai-prices prices, Zipf-like popularity; about
  half of the rows have no provider (priced at the lab's own price), the others a
  first-party provider, ``openrouter``, ``google-vertex`` or ``together``;
- timestamps uniform over 2025-07-01 to 2026-06-30 UTC (crossing price changes such as
  claude-opus-4.6 on 2026-03-13);
- input tokens log-normal (median about 8K, a tail above the 128K/200K/272K tier
  thresholds), cache reads on 60% of the rows, cache writes on 20%, output log-normal,
  reasoning on a third of the rows, one request per row.

Usage::

    python benchmarks/bench_cost.py                  # 100M rows (first run generates them)
    python benchmarks/bench_cost.py --rows 2000000   # a quick run
    python benchmarks/bench_cost.py --threads 2 --memory-limit 8GB
    python benchmarks/bench_cost.py --per-row        # also time a cost column per row
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import duckdb
import genai_prices
import ibis

from tokenstat.catalog import shipped_catalog
from tokenstat.ledger import Ledger
from tokenstat.prices.book import GENAI_SOURCE, PriceBook
from tokenstat.prices.cost import aggregate_cost, costed

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DEFAULT_ROWS = 100_000_000
DEFAULT_SEED = 7
LOOP_ROWS = 10_000
BUCKETS = 10_000

# (provider or None, canonical model, weight)
PAIRS: list[tuple[str | None, str]] = [
    (None, "anthropic/claude-sonnet-4.5"),
    ("anthropic", "anthropic/claude-sonnet-4.5"),
    (None, "deepseek/deepseek-v3.2"),
    ("deepseek", "deepseek/deepseek-v3.2"),
    ("openrouter", "deepseek/deepseek-v3.2"),
    ("openai", "openai/gpt-4o"),
    (None, "openai/gpt-4o-mini"),
    ("openai", "openai/gpt-5"),
    (None, "openai/gpt-5-mini"),
    ("anthropic", "anthropic/claude-opus-4.6"),
    (None, "anthropic/claude-opus-4.6"),
    ("anthropic", "anthropic/claude-haiku-4.5"),
    ("google-vertex", "google/gemini-2.5-pro"),
    (None, "google/gemini-2.5-flash"),
    ("google", "google/gemini-2.5-flash-lite"),
    (None, "moonshotai/kimi-k2.5"),
    ("moonshotai", "moonshotai/kimi-k2"),
    (None, "z-ai/glm-4.6"),
    ("openrouter", "z-ai/glm-4.6"),
    (None, "qwen/qwen3-235b-a22b"),
    ("together", "qwen/qwen3-235b-a22b"),
    ("openrouter", "qwen/qwen3-coder"),
    (None, "minimax/minimax-m2"),
    ("x-ai", "x-ai/grok-4"),
    (None, "x-ai/grok-code-fast-1"),
    ("mistral", "mistralai/mistral-medium-3"),
    (None, "mistralai/mistral-small-3.2-24b-instruct"),
    ("deepseek", "deepseek/deepseek-chat"),
    ("openrouter", "deepseek/deepseek-r1"),
    (None, "openai/o3"),
    ("openai", "openai/o4-mini"),
    (None, "openai/gpt-4.1"),
    ("openai", "openai/gpt-4.1-mini"),
    (None, "google/gemini-2.0-flash-001"),
    ("openrouter", "meta-llama/llama-3.3-70b-instruct"),
    (None, "meta-llama/llama-4-maverick"),
    ("cohere", "cohere/command-a"),
    (None, "anthropic/claude-3.7-sonnet"),
    ("openrouter", "openai/gpt-oss-120b"),
    (None, "qwen/qwen3-coder"),
]


def _uniform(column: str, salt: int, seed: int) -> str:
    """A deterministic uniform [0, 1) from the row number (no random(): parallel-safe)."""
    return f"((hash({column} * {salt} + {seed}) % 1000000007) / 1000000007.0)"


def generate(path: Path, rows: int, seed: int) -> None:
    """Write ``rows`` request rows to the ``usage`` table of a new ledger file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    if tmp.exists():
        tmp.unlink()
    Ledger.open(tmp).close()  # the ledger's own schema (NOT NULL token columns, ...)
    db = duckdb.connect(str(tmp))
    db.execute("SET TimeZone = 'UTC'")
    # Zipf-like weights (pair i gets 1 / (i + 1)), as 10,000 buckets of the unit interval
    weights = [1 / (i + 1) for i in range(len(PAIRS))]
    total = sum(weights)
    buckets: list[int] = []
    for index, weight in enumerate(weights):
        buckets += [index] * round(BUCKETS * weight / total)
    buckets = (buckets + [0] * BUCKETS)[:BUCKETS]
    values = ", ".join(
        f"({i}, {'NULL' if p is None else repr(p)}, {m!r})" for i, (p, m) in enumerate(PAIRS)
    )
    db.execute(f"CREATE TABLE pairs AS SELECT * FROM (VALUES {values}) t(i, provider, model)")
    db.execute(
        "CREATE TABLE buckets AS SELECT b.bucket, p.provider, p.model FROM "
        f"(SELECT unnest(range({BUCKETS})) AS bucket, unnest({buckets}) AS i) b "
        "JOIN pairs p USING (i)"
    )
    u = {
        k: _uniform("r", salt, seed)
        for k, salt in (
            ("pair", 1),
            ("ts", 3),
            ("n1", 5),
            ("n2", 7),
            ("cache", 11),
            ("cr", 13),
            ("cw", 17),
            ("o1", 19),
            ("o2", 23),
            ("reason", 29),
            ("rs", 31),
        )
    }
    # standard normals by Box-Muller
    normal_in = f"sqrt(-2 * ln(1 - {u['n1']})) * cos(2 * pi() * {u['n2']})"
    normal_out = f"sqrt(-2 * ln(1 - {u['o1']})) * cos(2 * pi() * {u['o2']})"
    start = "TIMESTAMPTZ '2025-07-01 00:00:00+00'"
    span_us = 365 * 86_400 * 1_000_000
    db.execute(
        f"""
        INSERT INTO usage (event_id, ts, grain, source, model, model_raw, provider,
            input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
            reasoning_tokens, requests, cost_reported, day, event_key, import_id)
        WITH base AS (
            SELECT r,
                   CAST(floor({u["pair"]} * {BUCKETS}) AS BIGINT) AS bucket,
                   {start} + to_microseconds(CAST({u["ts"]} * {span_us} AS BIGINT)) AS ts,
                   least(CAST(exp(9.0 + 1.5 * {normal_in}) AS BIGINT), 900000) AS input_tokens,
                   least(CAST(exp(6.0 + 1.2 * {normal_out}) AS BIGINT), 64000) AS output_tokens,
                   {u["cache"]} AS uc, {u["cr"]} AS ucr, {u["cw"]} AS ucw,
                   {u["reason"]} AS ur, {u["rs"]} AS urs
            FROM range({rows}) t(r)
        )
        SELECT 'bench-' || r AS event_id, ts, 'request' AS grain, 'bench' AS source,
               p.model, p.model AS model_raw, p.provider,
               input_tokens,
               CASE WHEN uc < 0.6 THEN CAST(input_tokens * ucr AS BIGINT) ELSE 0 END
                   AS cache_read_tokens,
               CASE WHEN uc >= 0.8 THEN CAST(input_tokens * (1 - ucr) * ucw AS BIGINT) ELSE 0 END
                   AS cache_write_tokens,
               output_tokens,
               CASE WHEN ur < 0.33 THEN CAST(output_tokens * urs AS BIGINT) ELSE 0 END
                   AS reasoning_tokens,
               CAST(1 AS BIGINT) AS requests,
               CAST(NULL AS DOUBLE) AS cost_reported,
               DATE '1970-01-01' + CAST(epoch_us(ts) // 86400000000 AS INTEGER) AS day,
               hash('bench-' || r) AS event_key,
               1 AS import_id
        FROM base JOIN buckets p USING (bucket)
        """
    )
    db.execute("DROP TABLE pairs")
    db.execute("DROP TABLE buckets")
    db.close()
    tmp.rename(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--loop-rows", type=int, default=LOOP_ROWS)
    parser.add_argument(
        "--per-row", action="store_true", help="also time a cost column per row, summed"
    )
    args = parser.parse_args()

    path = DATA / f"cost-ledger-{args.rows}-seed{args.seed}.duckdb"
    if not path.exists():
        print(f"generating {args.rows:,} rows into {path.relative_to(HERE.parent)} ...")
        started = time.perf_counter()
        generate(path, args.rows, args.seed)
        print(f"  generated in {time.perf_counter() - started:.1f} s")

    con = ibis.duckdb.connect(str(path), read_only=True)
    con.con.execute("SET TimeZone = 'UTC'")
    con.con.execute(f"SET threads = {args.threads}")
    con.con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.con.execute("SET enable_progress_bar = false")
    usage = con.table("usage")
    n_rows = con.con.execute("SELECT count(*) FROM usage").fetchone()[0]

    # ---- the engine: price every row (computed mode), totals in one query ---------------
    # (what `tokenstat cost` runs: tokens summed per schedule row, then priced)
    started = time.perf_counter()
    book = PriceBook(shipped_catalog())
    schedule = book.memtable_for(PAIRS)
    setup = time.perf_counter() - started
    query = aggregate_cost(usage, schedule, "computed", [])
    # read the columns once first, so that both timings below find them in memory
    con.con.execute(
        """SELECT count(ts), count(day), count(grain), count(provider), count(model),
                  sum(input_tokens + cache_read_tokens + cache_write_tokens + output_tokens
                      + reasoning_tokens + requests), count(cost_reported)
           FROM usage"""
    ).fetchone()
    started = time.perf_counter()
    result = query.to_pyarrow().to_pylist()[0]
    engine_seconds = time.perf_counter() - started
    assert result["rows"] == n_rows
    engine_rate = n_rows / engine_seconds
    priced = costed(usage, schedule, "computed")
    if args.per_row:
        # a cost per row (what whatif and --metric cost read), summed
        per_row = priced.aggregate(cost=priced.cost.sum())
        started = time.perf_counter()
        per_row_total = per_row.to_pyarrow().to_pylist()[0]["cost"]
        per_row_seconds = time.perf_counter() - started

    # ---- the loop: calc_price per row on a sample of the same table ---------------------
    sample = con.con.execute(
        f"""SELECT event_id, ts, provider, model, input_tokens, cache_read_tokens,
                   cache_write_tokens, output_tokens, reasoning_tokens
            FROM usage USING SAMPLE reservoir({args.loop_rows} ROWS) REPEATABLE ({args.seed})"""
    ).to_arrow_table()
    rows = sample.to_pylist()
    keys = {pair: book.chain(*pair)[0][0] for pair in {(r["provider"], r["model"]) for r in rows}}
    assert all(key.source == GENAI_SOURCE for key in keys.values())
    started = time.perf_counter()
    loop_total = 0.0
    for r in rows:
        key = keys[(r["provider"], r["model"])]
        price = genai_prices.calc_price(
            genai_prices.Usage(
                input_tokens=r["input_tokens"],
                cache_read_tokens=r["cache_read_tokens"],
                cache_write_tokens=r["cache_write_tokens"],
                output_tokens=r["output_tokens"],
                output_reasoning_tokens=r["reasoning_tokens"],
            ),
            key.model,
            provider_id=key.provider,
            genai_request_timestamp=r["ts"],
        )
        loop_total += float(price.total_price)
    loop_seconds = time.perf_counter() - started
    loop_rate = len(rows) / loop_seconds

    # the engine on the same sample gives the same cost
    sample_ids = ibis.memtable({"event_id": [r["event_id"] for r in rows]})
    on_sample = priced.semi_join(sample_ids, "event_id")
    engine_sample = on_sample.aggregate(cost=on_sample.cost.sum()).to_pyarrow().to_pylist()[0]
    same = math.isclose(engine_sample["cost"], loop_total, rel_tol=1e-9)

    print(f"rows in the ledger table:       {n_rows:,} ({args.threads} threads)")
    print(f"price schedule for {len(PAIRS)} pairs:  {setup:.2f} s")
    print(
        f"engine, computed mode:          {engine_seconds:.2f} s, {engine_rate:,.0f} rows/s "
        f"(total ${result['cost']:,.2f}, {result['unpriced_rows']:,} unpriced)"
    )
    if args.per_row:
        print(
            f"engine, a cost per row:         {per_row_seconds:.2f} s, "
            f"{n_rows / per_row_seconds:,.0f} rows/s (total ${per_row_total:,.2f})"
        )
    print(f"calc_price loop, {len(rows):,} rows: {loop_seconds:.2f} s, {loop_rate:,.0f} rows/s")
    print(f"ratio engine / loop:            {engine_rate / loop_rate:,.0f}x")
    print(
        f"same cost on the sample:        {'yes' if same else 'NO'} "
        f"(engine ${engine_sample['cost']:.6f}, loop ${loop_total:.6f})"
    )
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
