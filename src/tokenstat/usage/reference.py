"""Own-usage reports over the ledger's raw rows, written with Ibis: the reference the
faster SQL over the priced rollup (`tokenstat.usage.fast`) must equal.

Every report counts each token kind apart (input including cache, as everywhere in
tokenstat; cache write, cache read, output including reasoning, reasoning) and prices the
rows in a cost mode (`tokenstat.prices.cost`). Days are the user's local days: a request
counts on the day its timestamp falls in ``tz``. The shape of the reports (the JSON
contract of `tokenstat daily|weekly|monthly|session|blocks`) is `tokenstat.usage.query`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tokenstat.errors import QueryError
from tokenstat.metrics.facts import with_attribution
from tokenstat.periods import period_start_expr
from tokenstat.prices.cost import CostInputs, aggregate_cost, costed
from tokenstat.usage.query import (
    MARKET_SOURCES,
    NO_VALUE,
    ROW_KEYS,
    USAGE_BY,
    UsageQuery,
    cell,
    fold_blocks,
    fold_periods,
    fold_sessions,
)


@ibis.udf.scalar.builtin(
    name="timezone", signature=((dt.string, dt.Timestamp(timezone="UTC")), dt.timestamp)
)
def _at_zone(zone, ts):  # type: ignore[no-untyped-def]
    """DuckDB's ``timezone(zone, timestamptz)``: the wall-clock time in ``zone``."""


def local_rows(inputs: CostInputs, q: UsageQuery) -> ir.Table:
    """Own-usage rows (not market data) with the current catalog's model and
    ``local_day``: the day of a request in ``q.tz``, the UTC day of an aggregate row;
    restricted to ``q``'s sources, filters and local days."""
    rows = inputs.usage.filter(~inputs.usage.source.isin(list(MARKET_SOURCES)))
    rows = with_attribution(rows, inputs.attributed)
    if q.sources:
        rows = rows.filter(rows.source.isin(list(q.sources)))
    for column, value in q.where:
        if column not in ROW_KEYS:
            raise QueryError(f"cannot filter on {column!r}; choose one of: {', '.join(ROW_KEYS)}")
        rows = rows.filter(rows[column] == value)
    if q.tz == "UTC":
        rows = rows.mutate(local_day=rows.day)
    else:
        local = _at_zone(q.tz, rows.ts).date()
        rows = rows.mutate(local_day=ibis.ifelse(rows.grain == "request", local, rows.day))
    if q.since:
        rows = rows.filter(rows.local_day >= q.since)
    if q.until:
        rows = rows.filter(rows.local_day <= q.until)
    return rows


def _cells(rows: ir.Table, inputs: CostInputs, mode: str, labels: dict[str, str]) -> list[dict]:
    """Cells keyed by ``labels`` (cell key -> column of ``rows``)."""
    schedule = inputs.schedule() if mode != "reported" else None
    keys = list(dict.fromkeys(labels.values()))
    result = aggregate_cost(rows, schedule, mode, keys).to_pyarrow().to_pylist()
    return [
        cell({k: r[c] for k, c in labels.items()}, r, r["cost"], r["rows"], r["unpriced_rows"])
        for r in result
    ]


def period_report(inputs: CostInputs, q: UsageQuery) -> dict[str, Any]:
    """Tokens per kind and cost (USD, null when no row of a cell could be priced) per local
    period and ``q.by`` group, with the models of each row (`query.fold_periods`)."""
    q.check()
    rows = local_rows(inputs, q)
    rows = rows.mutate(start=period_start_expr(rows.local_day, q.grain))
    labels = {"start": "start", "model": "model"}
    if q.by and q.by != "model":
        rows = rows.mutate(_group=ibis.coalesce(rows[USAGE_BY[q.by]].cast("string"), NO_VALUE))
        labels["group"] = "_group"
    return fold_periods(_cells(rows, inputs, q.mode, labels), q, inputs.sources)


def _session_rows(inputs: CostInputs, q: UsageQuery) -> ir.Table:
    rows = local_rows(inputs, q)
    return rows.mutate(
        session=ibis.coalesce(rows.session, NO_VALUE),
        project=ibis.coalesce(rows.project, NO_VALUE),
        agent=ibis.coalesce(rows.app, rows.source),
    )


def session_report(inputs: CostInputs, q: UsageQuery) -> dict[str, Any]:
    """One row per session: project, agent, models, first and last request (UTC), tokens
    per kind and cost (`query.fold_sessions`)."""
    q.check()
    rows = _session_rows(inputs, q)
    span = rows.group_by(["session", "project", "agent"]).aggregate(
        first=rows.ts.min(), last=rows.ts.max()
    )
    spans = {
        (r["session"], r["project"], r["agent"]): (r["first"], r["last"])
        for r in span.to_pyarrow().to_pylist()
    }
    labels = {k: k for k in ("session", "project", "agent", "model")}
    return fold_sessions(_cells(rows, inputs, q.mode, labels), spans, q, inputs.sources)


def blocks_report(
    inputs: CostInputs,
    q: UsageQuery,
    *,
    now: datetime | None = None,
    active_only: bool = False,
    token_limit: int | None = None,
) -> dict[str, Any]:
    """5-hour billing blocks, each request priced on its own (`query.fold_blocks`)."""
    q.check()
    rows = local_rows(inputs, q)
    rows = rows.filter(rows.grain == "request")  # aggregates have no request times
    schedule = inputs.schedule() if q.mode != "reported" else None
    priced = costed(rows, schedule, q.mode)
    kinds = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
    picked = priced.select("ts", "model", "cost", *kinds, "reasoning_tokens").order_by(
        ["ts", "model"]
    )
    entries = (
        cell(
            {"first": r["ts"], "last": r["ts"], "model": r["model"]},
            r,
            r["cost"],
            1,
            r["cost"] is None,
        )
        for r in picked.to_pyarrow().to_pylist()
    )
    return fold_blocks(
        entries,
        q,
        inputs.sources,
        now=now or datetime.now(UTC),
        active_only=active_only,
        token_limit=token_limit,
    )


__all__: Sequence[str] = (
    "UsageQuery",
    "blocks_report",
    "local_rows",
    "period_report",
    "session_report",
)
