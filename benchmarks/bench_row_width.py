"""What storing a canonical ledger row costs DuckDB, next to a plain CTAS of the input.

The import target of the ledger benchmark is "within 2x of a plain CREATE TABLE AS SELECT
* FROM read_parquet(...)". This run shows where that bound sits for DuckDB itself: it
writes one month of the benchmark's market data (about 8M rows) into a table shaped like
the ledger's ``usage`` table, all in SQL (no Python, no checks, no duplicate check, no
rollup), with fewer and fewer of the canonical columns filled, each variant in a fresh
database file that is closed (checkpointed) before the clock stops. Every variant runs
``--runs`` times, alternating with the CTAS baseline; the medians and ratios are printed.

Usage::

    python benchmarks/bench_row_width.py                 # month 06 of the 100M data set
    python benchmarks/bench_row_width.py --file some.parquet --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE / "data/usage-100000000-seed20250101/main/usage-2025-06.parquet"

COLUMNS = """event_id VARCHAR, ts TIMESTAMPTZ, grain VARCHAR, source VARCHAR, model VARCHAR,
    model_raw VARCHAR, provider VARCHAR, app VARCHAR, "user" VARCHAR, project VARCHAR,
    session VARCHAR, input_tokens BIGINT, cache_read_tokens BIGINT,
    cache_write_tokens BIGINT, output_tokens BIGINT, reasoning_tokens BIGINT,
    requests BIGINT, cost_reported DOUBLE, day DATE, event_key UBIGINT, import_id BIGINT"""

EVENT_ID = (
    "concat_ws('|', 'market', date::VARCHAR, 'day', model, coalesce(provider, ''), "
    "coalesce(app, ''))"
)
KEY_HASH = "hash('market', date, 'day', model, provider, app)"


def row(event_id: str, model_raw: str, grain: str, source: str, key: str) -> str:
    return (
        f"{event_id}, date::TIMESTAMP AT TIME ZONE 'UTC', {grain}, {source}, model, "
        f"{model_raw}, provider, app, NULL, NULL, NULL, input_tokens, 0, 0, output_tokens, "
        f"0, requests, NULL, date, {key}, 1"
    )


ID_KEY = f"hash({EVENT_ID})"
# (label, the SELECT list of the INSERT), widest first
VARIANTS = (
    ("canonical row, as the ledger stores it", row(EVENT_ID, "model", "'day'", "'market'", ID_KEY)),
    ("without the stored event id (NULL)", row("NULL", "model", "'day'", "'market'", ID_KEY)),
    ("... and model_raw NULL (equal to model)", row("NULL", "NULL", "'day'", "'market'", ID_KEY)),
    ("... and the key hashed from the columns",
     row("NULL", "NULL", "'day'", "'market'", KEY_HASH)),
    ("... and grain, source NULL (constant)", row("NULL", "NULL", "NULL", "NULL", KEY_HASH)),
)  # fmt: skip


def timed(db: Path, statements: list[str]) -> float:
    for suffix in ("", ".wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    for sql in statements:
        con.execute(sql)
    con.close()
    seconds = time.perf_counter() - start
    db.unlink()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "data/work-row-width")
    args = parser.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file}: not found; run generate_usage.py --rows 100000000 first")
    args.work.mkdir(parents=True, exist_ok=True)
    source = f"read_parquet('{args.file}')"
    rows = duckdb.sql(f"SELECT count(*) FROM {source}").fetchone()[0]
    ctas = [f"CREATE TABLE t AS SELECT * FROM {source}"]
    times: dict[str, list[float]] = {"plain CTAS from read_parquet": []}
    for label, select in VARIANTS:
        times[label] = []
        insert = [
            f"CREATE TABLE usage ({COLUMNS})",
            f"INSERT INTO usage SELECT {select} FROM {source}",
        ]
        for _ in range(args.runs):
            times["plain CTAS from read_parquet"].append(timed(args.work / "ctas.duckdb", ctas))
            times[label].append(timed(args.work / "variant.duckdb", insert))
    base = statistics.median(times["plain CTAS from read_parquet"])
    print(f"{args.file.name}: {rows:,} rows, duckdb {duckdb.__version__}, median of {args.runs}")
    print(f"{'':44s} {'seconds':>8s} {'vs CTAS':>8s}")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:44s} {median:8.2f} {median / base:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
