"""Own-usage reports in plain SQL over the priced quarter-hour rollup
(`tokenstat.usage.buckets`): the fast path of `tokenstat daily` and the other usage
commands, which needs neither Ibis nor Arrow. Its answers equal those of
`tokenstat.usage.reference` over the raw rows (tests/test_usage_buckets.py).

Each function takes an open DuckDB connection to the ledger (session time zone UTC) and
returns the report dict of `tokenstat.usage.query`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from tokenstat.errors import QueryError
from tokenstat.ledger_read import literal
from tokenstat.usage.buckets import TABLE
from tokenstat.usage.query import (
    KINDS,
    NO_VALUE,
    ROW_KEYS,
    USAGE_BY,
    UsageQuery,
    cell,
    fold_blocks,
    fold_periods,
    fold_sessions,
)

_TRUNC = {"day": "day", "week": "week", "month": "month"}


def _local_day(q: UsageQuery) -> str:
    """The local day of a bucket row: a request's in ``q.tz``, an aggregate's UTC day."""
    if q.tz == "UTC":
        return "CAST(bucket AS DATE)"
    return (
        f"CASE WHEN grain = 'request' THEN CAST(timezone({literal(q.tz)}, bucket) AS DATE) "
        "ELSE CAST(bucket AS DATE) END"
    )


def _where(q: UsageQuery, local_day: str) -> str:
    """The WHERE clause of ``q`` (values as literals: see `tokenstat.ledger_read`)."""
    clauses = ["TRUE"]
    if q.sources:
        clauses.append(f"source IN ({', '.join(literal(s) for s in q.sources)})")
    for column, value in q.where:
        if column not in ROW_KEYS:
            raise QueryError(f"cannot filter on {column!r}; choose one of: {', '.join(ROW_KEYS)}")
        clauses.append(f'"{column}" = {literal(value)}')
    if q.since:
        clauses.append(f"{local_day} >= {literal(q.since)}")
    if q.until:
        clauses.append(f"{local_day} <= {literal(q.until)}")
    return " AND ".join(clauses)


def _sums(mode: str) -> str:
    kinds = ", ".join(f"sum({k}) AS {k}" for k in KINDS)
    return (
        f"{kinds}, sum(cost_{mode}) AS cost, sum(rows) AS rows, "
        f"sum(rows) - sum(priced_{mode}) AS unpriced"
    )


def _fetch(db: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def period_report(db: duckdb.DuckDBPyConnection, q: UsageQuery, sources: list) -> dict:
    """The period report of `tokenstat.usage.reference.period_report`, from the rollup."""
    q.check()
    local_day = _local_day(q)
    start = f"CAST(date_trunc('{_TRUNC[q.grain]}', {local_day}) AS DATE)"
    group = ""
    if q.by and q.by != "model":
        group = f", coalesce(CAST(\"{USAGE_BY[q.by]}\" AS VARCHAR), '{NO_VALUE}') AS grp"
    where = _where(q, local_day)
    sql = (
        f"SELECT {start} AS start, model{group}, {_sums(q.mode)} FROM {TABLE} "
        f"WHERE {where} GROUP BY ALL"
    )
    cells = []
    for r in _fetch(db, sql):
        labels = {"start": r["start"], "model": r["model"]}
        if group:
            labels["group"] = r["grp"]
        cells.append(cell(labels, r, r["cost"], r["rows"], r["unpriced"]))
    return fold_periods(cells, q, sources)


def session_report(db: duckdb.DuckDBPyConnection, q: UsageQuery, sources: list) -> dict:
    """The session report of `tokenstat.usage.reference.session_report`, from the rollup."""
    q.check()
    where = _where(q, _local_day(q))
    keys = (
        f"coalesce(session, '{NO_VALUE}') AS session, coalesce(project, '{NO_VALUE}') AS "
        "project, coalesce(app, source) AS agent"
    )
    sql = (
        f"SELECT {keys}, model, {_sums(q.mode)}, min(first_ts) AS first, max(last_ts) AS last "
        f"FROM {TABLE} WHERE {where} GROUP BY ALL"
    )
    rows = _fetch(db, sql)
    spans: dict[tuple, tuple[datetime, datetime]] = {}
    cells = []
    for r in rows:
        key = (r["session"], r["project"], r["agent"])
        first, last = spans.get(key, (r["first"], r["last"]))
        spans[key] = (min(first, r["first"]), max(last, r["last"]))
        labels = {"session": key[0], "project": key[1], "agent": key[2], "model": r["model"]}
        cells.append(cell(labels, r, r["cost"], r["rows"], r["unpriced"]))
    return fold_sessions(cells, spans, q, sources)


def blocks_report(
    db: duckdb.DuckDBPyConnection,
    q: UsageQuery,
    sources: list,
    *,
    now: datetime | None = None,
    active_only: bool = False,
    token_limit: int | None = None,
) -> dict:
    """The blocks report of `tokenstat.usage.reference.blocks_report`, from the rollup: a
    bucket never straddles a block (see `tokenstat.usage.buckets`), and its
    entries come in the order of their first request."""
    q.check()
    where = _where(q, _local_day(q))
    sql = (
        f"SELECT bucket, model, min(first_ts) AS first, max(last_ts) AS last, "
        f"{_sums(q.mode)} FROM {TABLE} WHERE grain = 'request' AND {where} "
        "GROUP BY bucket, model ORDER BY bucket, first, model"
    )
    entries = (
        cell(
            {"first": r["first"], "last": r["last"], "model": r["model"]},
            r,
            r["cost"],
            r["rows"],
            r["unpriced"],
        )
        for r in _fetch(db, sql)
    )
    return fold_blocks(
        entries,
        q,
        sources,
        now=now or datetime.now(UTC),
        active_only=active_only,
        token_limit=token_limit,
    )
