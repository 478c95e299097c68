"""The priced quarter-hour rollup of own-usage rows that the usage commands read.

`usage_buckets` holds, per UTC quarter hour (``bucket``; an aggregate row keeps its own
time) and (grain, source, model, provider, app, project, user, session), the sums of every
token kind, the first and last request time, and the cost in each cost mode. It is derived
data, a cache: built from the ledger's rows by `rebuild` (every row priced in the engine,
as `tokenstat.prices.cost` does), and valid while the ledger's imports, the prices and the
catalog are what they were when it was built (`stamp`). The usage commands check the stamp
and rebuild, or fall back to the reports over raw rows (`tokenstat.usage.reference`); both
give the same answers (tests/test_usage_buckets.py). Only `rebuild` needs the engine.

Why quarter hours: every time zone in use is a whole number of quarter hours from UTC, so a
bucket lies inside one local day of any zone, and local days are exact. Why first and last
times: 5-hour blocks start at the hour and split on gaps of 5 hours, so a bucket never
straddles a block, and the times of its first and last request decide block membership
exactly.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenstat.ledger_read import has_table, literal
from tokenstat.paths import default_price_file, default_user_catalog_path
from tokenstat.usage.query import MARKET_SOURCES, ROW_KEYS

if TYPE_CHECKING:
    import duckdb

    from tokenstat.ledger import Ledger
    from tokenstat.prices.cost import CostInputs

BUCKET_MINUTES = 15
TABLE = "usage_buckets"
STAMP_KEY = "usage_buckets_stamp"
# the layout of the table: a change makes every stored rollup stale
LAYOUT = 2
KEYS = ("grain", *ROW_KEYS)
KINDS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)
# the table as the SQL reports read it (created by `ensure_table`)
COLUMNS_SQL = """
    bucket TIMESTAMPTZ NOT NULL, grain VARCHAR NOT NULL, source VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    provider VARCHAR, app VARCHAR, project VARCHAR, "user" VARCHAR, session VARCHAR,
    machine VARCHAR,
    first_ts TIMESTAMPTZ NOT NULL, last_ts TIMESTAMPTZ NOT NULL, rows BIGINT NOT NULL,
    input_tokens HUGEINT NOT NULL, cache_read_tokens HUGEINT NOT NULL,
    cache_write_tokens HUGEINT NOT NULL, output_tokens HUGEINT NOT NULL,
    reasoning_tokens HUGEINT NOT NULL,
    cost_reported DOUBLE, priced_reported BIGINT NOT NULL,
    cost_computed DOUBLE, priced_computed BIGINT NOT NULL,
    cost_auto DOUBLE, priced_auto BIGINT NOT NULL
"""


def stamp(
    db: duckdb.DuckDBPyConnection, catalog_file: Path | None = None, price_file: Path | None = None
) -> str:
    """What the rollup depends on, hashed: the finished imports (ids and row counts), the
    genai-prices and tokenstat versions, the user's price and catalog files (content)."""
    imports = db.execute(
        "SELECT count(*), max(import_id), sum(rows_new) FROM imports WHERE finished_at IS NOT NULL"
    ).fetchone()
    parts: list[Any] = [LAYOUT, list(imports)]
    for dist in ("genai-prices", "tokenstat"):
        try:
            parts.append(metadata.version(dist))
        except metadata.PackageNotFoundError:
            parts.append(None)
    for path in (catalog_file or default_user_catalog_path(), price_file or default_price_file()):
        parts.append(_digest(path))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _digest(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_stamp(db: duckdb.DuckDBPyConnection) -> str | None:
    """The stamp the rollup was built with; None when there is no rollup yet."""
    if not has_table(db, TABLE):
        return None
    query = f"SELECT value FROM ledger_meta WHERE key = {literal(STAMP_KEY)}"
    row = db.execute(query).fetchone()
    return row[0] if row else None


def rebuild(ledger: Ledger, inputs: CostInputs, new_stamp: str) -> int:
    """Rebuild the rollup from every own-usage row (in one transaction) and record
    ``new_stamp``; returns the number of bucket rows. A request falls in its quarter hour;
    an aggregate row (a usage API's day) keeps its own time."""
    import ibis  # the engine, only when building: the readers of the rollup need none

    from tokenstat.metrics.facts import with_attribution
    from tokenstat.prices.cost import costed

    rows = inputs.usage.filter(~inputs.usage.source.isin(list(MARKET_SOURCES)))
    rows = with_attribution(rows, inputs.attributed)
    computed = costed(rows, inputs.schedule(), "computed")
    quarter = computed.ts.bucket(minutes=BUCKET_MINUTES)
    bucket = ibis.ifelse(computed.grain == "request", quarter, computed.ts)
    auto = computed.cost_reported.coalesce(computed.cost_computed)
    t = computed.mutate(bucket=bucket, cost_auto=auto)
    sums = t.group_by(["bucket", *KEYS]).aggregate(
        first_ts=t.ts.min(),
        last_ts=t.ts.max(),
        rows=t.count(),
        **{k: t[k].cast("decimal(38, 0)").sum() for k in KINDS},
        cost_reported=t.cost_reported.sum(),
        priced_reported=t.cost_reported.count(),
        cost_computed=t.cost_computed.sum(),
        priced_computed=t.cost_computed.count(),
        cost_auto=t.cost_auto.sum(),
        priced_auto=t.cost_auto.count(),
    )
    table = sums.to_pyarrow()
    with ledger.transaction():
        ledger.db.execute(f"CREATE OR REPLACE TABLE {TABLE} ({COLUMNS_SQL})")
        if table.num_rows:
            ledger.db.register("_new_buckets", table)
            names = ", ".join(f'"{n}"' for n in table.column_names)
            ledger.db.execute(f"INSERT INTO {TABLE} ({names}) SELECT {names} FROM _new_buckets")
            ledger.db.unregister("_new_buckets")
        ledger.db.execute(
            "INSERT OR REPLACE INTO ledger_meta VALUES (?, ?)", [STAMP_KEY, new_stamp]
        )
    return table.num_rows
