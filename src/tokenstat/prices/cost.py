"""Cost of ledger rows, computed in the engine: modes, unpriced rows, reported vs computed.

Every usage row is priced by one join with the composite schedule of its (provider, model)
pair (`tokenstat.prices.book`, `tokenstat.prices.schedule.price_rows`): validity window,
time of day, tier and the token-kind arithmetic are all in the query. Cost is computed per
usage row because tiers depend on each request's input; the daily rollup cannot give it.
For day/week/month rows of market data the tier is decided on the mean input per request
(when ``requests`` is known), and the row is priced at its ``ts`` (the period start).

Modes
    ``reported``: the cost the source reported (``cost_reported``);
    ``computed``: tokens x the price schedule;
    ``auto``: reported when present, else computed.

Unpriced rows are never priced at 0: they count as unpriced (rows and tokens), and
reports list them by (model, provider) with one of these reasons:

- ``no input/output split``: a row of market data with totals only. Sources with only
  total tokens (OpenRouter rankings, market files with a ``tokens`` column) store the
  total as input tokens and 0 output tokens, so a row whose grain is not ``request``,
  with input tokens and 0 output tokens, is taken as totals-only: pricing its total as
  input would understate cost several times over. (A market row of an embedding model,
  with genuinely no output, is also left unpriced: the conservative error.)
- ``model not in the price schedule``: no candidate of the resolution order has the model;
- ``no price at that time``: candidates exist, none covers the row's time (e.g. a model
  known only from an OpenRouter snapshot taken after the row);
- ``no reported cost``: mode ``reported`` and the source reported none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from tokenstat.errors import QueryError
from tokenstat.metrics.facts import (
    MODEL_DIMENSIONS,
    WIDE,
    check_dimension,
    group_key,
    token_value,
    with_attribution,
)
from tokenstat.periods import check_grain, period_start_expr
from tokenstat.prices.book import PriceBook
from tokenstat.prices.schedule import price_rows, price_segments, schedule_segments

COST_MODES = ("reported", "computed", "auto")
NO_SPLIT = "no input/output split"
NOT_IN_SCHEDULE = "model not in the price schedule"
NO_PRICE_AT_TIME = "no price at that time"
NO_REPORTED = "no reported cost"

# columns a --where filter may name
WHERE_COLUMNS = (
    "model",
    "provider",
    "source",
    "app",
    "user",
    "project",
    "session",
    "grain",
    "author",
    "origin",
    "open_weights",
)


def check_mode(mode: str) -> str:
    if mode not in COST_MODES:
        raise QueryError(f"unknown cost mode {mode!r}; choose one of: {', '.join(COST_MODES)}")
    return mode


def no_split(rows: ir.Table) -> ir.BooleanValue:
    """True for totals-only market rows (see the module docstring)."""
    return (rows.grain != "request") & (rows.output_tokens == 0) & (rows.input_tokens > 0)


@dataclass(frozen=True)
class Slice:
    """Which ledger rows: a UTC day range (both ends inclusive), column = value filters
    and the importers (``sources``; empty: all)."""

    since: date | None = None
    until: date | None = None
    where: tuple[tuple[str, str], ...] = ()
    sources: tuple[str, ...] = ()

    @classmethod
    def parse(cls, since: date | None, until: date | None, where: Sequence[str] | None) -> Slice:
        """From ``--where column=value`` strings (repeatable; values are exact)."""
        pairs = []
        for text in where or ():
            column, sep, value = text.partition("=")
            column = column.strip().lower()
            if not sep or not column:
                raise QueryError(f"--where takes column=value, not {text!r}")
            if column not in WHERE_COLUMNS:
                raise QueryError(
                    f"--where: unknown column {column!r}; choose one of: {', '.join(WHERE_COLUMNS)}"
                )
            pairs.append((column, value.strip()))
        if since and until and since > until:
            raise QueryError(f"--since {since} is after --until {until}")
        return cls(since, until, tuple(pairs))

    def apply(self, rows: ir.Table, attributed: ir.Table | None) -> ir.Table:
        if self.since:
            rows = rows.filter(rows.day >= self.since)
        if self.until:
            rows = rows.filter(rows.day <= self.until)
        if self.sources:
            rows = rows.filter(rows.source.isin(list(self.sources)))
        derived = [c for c, _ in self.where if c in MODEL_DIMENSIONS]
        if derived and attributed is not None:
            # model, author, origin as the current catalog says (stored ids re-resolved)
            rows = with_attribution(rows, attributed)
        for column, value in self.where:
            rows = rows.filter(rows[column] == value)
        return rows

    def describe(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "where": {column: value for column, value in self.where},
            **({"sources": list(self.sources)} if self.sources else {}),
        }


def ledger_pairs(usage: ir.Table) -> list[tuple[str | None, str]]:
    """Distinct (provider, model) pairs of a usage table (a small query)."""
    rows = usage.select("provider", "model").distinct().to_pyarrow().to_pylist()
    return [(r["provider"], r["model"]) for r in rows if r["model"] is not None]


def costed(rows: ir.Table, schedule: ir.Table | None, mode: str) -> ir.Table:
    """``rows`` plus ``cost_computed`` (null when unpriced), ``cost`` (by ``mode``, null when
    unpriced) and ``no_split`` (totals-only market rows).

    ``schedule`` is the composite schedule of the rows' pairs (`PriceBook.schedule_for`);
    it may be None for mode ``reported``.
    """
    check_mode(mode)
    flagged = rows.mutate(no_split=no_split(rows))
    if mode == "reported":
        return flagged.mutate(cost_computed=ibis.null().cast("float64"), cost=flagged.cost_reported)
    if schedule is None:
        raise QueryError("computed cost needs a price schedule")
    keyed = flagged.mutate(price_provider=flagged.provider, price_model=flagged.model)
    priced = price_rows(keyed, schedule).drop("price_provider", "price_model")
    # totals-only rows are not priced: their "input" is input and output together
    priced = priced.mutate(
        cost_computed=ibis.ifelse(
            priced.no_split, ibis.null().cast("float64"), priced.cost_computed
        )
    )
    cost = priced.cost_computed
    if mode == "auto":
        cost = priced.cost_reported.coalesce(priced.cost_computed)
    return priced.mutate(cost=cost)


def tokens_of(rows: ir.Table) -> ir.IntegerValue:
    """Total tokens of a row (input + output; cache and reasoning are subsets), widened
    before adding (`tokenstat.metrics.facts.token_value`): no overflow."""
    return token_value(rows, "total")


_SUMMED = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
)


def aggregate_cost(
    rows: ir.Table, schedule: ir.Table | None, mode: str, keys: Sequence[str]
) -> ir.Table:
    """Cost per group of ``keys`` (columns of ``rows``), priced as `costed` prices each row.

    Returns ``keys`` plus ``cost`` (USD; null when no row of the group could be priced),
    ``tokens`` (input + output), the sum of each token column, ``rows``, ``unpriced_rows``,
    ``unpriced_tokens``,
    ``reported_rows`` (rows with a reported cost), ``first_day`` and ``last_day`` of the
    unpriced rows. Rather than computing a cost per row, the token counts are summed per
    group and schedule row (`tokenstat.prices.schedule.schedule_segments`) and priced
    after: cost is linear on one schedule row, and this saves work on every usage row.
    """
    check_mode(mode)
    keys = list(keys)
    flagged = rows.mutate(no_split=no_split(rows), _tokens=tokens_of(rows))
    if mode == "reported":
        parts = flagged.mutate(
            segment=ibis.null().cast("int64"), _rep=flagged.cost_reported.notnull()
        )
    else:
        if schedule is None:
            raise QueryError("computed cost needs a price schedule")
        keyed = flagged.mutate(price_provider=flagged.provider, price_model=flagged.model)
        parts = schedule_segments(keyed, schedule).drop("price_provider", "price_model")
        use_reported = parts.cost_reported.notnull() if mode == "auto" else ibis.literal(False)
        parts = parts.mutate(
            _rep=use_reported,
            # totals-only rows are not priced; rows priced by their report need no segment
            segment=ibis.ifelse(
                parts.no_split | use_reported, ibis.null().cast("int64"), parts.segment
            ),
        )
    group = [*keys, "segment", "_rep"]
    # the token columns the rows have (a table without one-hour cache writes has none)
    summed = [c for c in (*_SUMMED, "reasoning_tokens") if c in parts.columns]
    # token and request sums in `WIDE`: each count fits int64, their sum may not
    sums = parts.group_by(group).aggregate(
        **{name: parts[name].cast(WIDE).sum() for name in summed},
        requests=parts.requests.coalesce(1).cast(WIDE).sum(),
        reported=parts.cost_reported.sum(),
        reported_rows=parts.cost_reported.count(),
        tokens=parts._tokens.sum(),
        rows=parts.count(),
        first_day=parts.day.min(),
        last_day=parts.day.max(),
    )
    if mode == "reported":
        priced = sums.mutate(
            cost=ibis.ifelse(sums._rep, sums.reported, ibis.null().cast("float64"))
        )
    else:
        priced = price_segments(sums, schedule)
        priced = priced.mutate(cost=ibis.ifelse(priced._rep, priced.reported, priced.cost_computed))
    missing = priced.cost.isnull()
    metrics = {
        "cost": priced.cost.sum(),
        "tokens": priced.tokens.sum(),
        **{name: priced[name].sum() for name in summed},
        "rows": priced.rows.sum(),
        "unpriced_rows": ibis.ifelse(missing, priced.rows, 0).sum(),
        "unpriced_tokens": ibis.ifelse(missing, priced.tokens, 0).sum(),
        "reported_rows": priced.reported_rows.sum(),
        "first_day": ibis.ifelse(missing, priced.first_day, ibis.null()).min(),
        "last_day": ibis.ifelse(missing, priced.last_day, ibis.null()).max(),
    }
    if not keys:
        return priced.aggregate(**metrics)
    return priced.group_by(keys).aggregate(**metrics)


@dataclass
class CostInputs:
    """What cost reports read: usage rows, model attribution, and the price book."""

    usage: ir.Table
    attributed: ir.Table
    book: PriceBook
    pairs: list[tuple[str | None, str]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)

    def schedule(self, extra: Iterable[tuple[str | None, str]] = ()) -> ir.Table:
        return self.book.memtable_for([*self.pairs, *extra])


def _num(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return value
    return int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def unpriced_rows(
    rows: ir.Table, schedule: ir.Table | None, book: PriceBook, mode: str, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """Unpriced rows by (model, provider, reason), most tokens first; and how many groups."""
    grouped = aggregate_cost(rows, schedule, mode, ["model", "provider", "no_split"])
    grouped = grouped.filter(grouped.unpriced_rows > 0)
    merged: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for r in grouped.to_pyarrow().to_pylist():
        if mode == "reported":
            reason = NO_REPORTED
        elif r["no_split"]:
            reason = NO_SPLIT
        elif not book.chain(r["provider"], r["model"]):
            reason = NOT_IN_SCHEDULE
        else:
            reason = NO_PRICE_AT_TIME
        row = {
            "model": r["model"],
            "provider": r["provider"],
            "reason": reason,
            "rows": _num(r["unpriced_rows"]),
            "tokens": _num(r["unpriced_tokens"]),
            "first_day": _iso(r["first_day"]),
            "last_day": _iso(r["last_day"]),
        }
        key = (row["model"], row["provider"], reason)
        if key in merged:
            kept = merged[key]
            kept["rows"] += row["rows"]
            kept["tokens"] += row["tokens"]
            kept["first_day"] = min(kept["first_day"], row["first_day"])
            kept["last_day"] = max(kept["last_day"], row["last_day"])
        else:
            merged[key] = row
    ordered = sorted(merged.values(), key=lambda r: (-r["tokens"], r["model"], r["provider"] or ""))
    return ordered[:limit], len(ordered)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "date") and callable(value.date):
        value = value.date()
    return value.isoformat()


def pricing_basis(book: PriceBook, pairs: Iterable[tuple[str | None, str]]) -> list[dict[str, Any]]:
    """For each (provider, model) pair: which price candidates apply, first one first."""
    out = []
    for provider, model in sorted(dict.fromkeys(pairs), key=lambda p: (p[1] or "", p[0] or "")):
        chain = book.chain(provider, model)
        out.append(
            {
                "model": model,
                "provider": provider,
                "priced_as": chain[0][0].label() if chain else None,
                "basis": chain[0][1] if chain else None,
                "fallbacks": [key.label() for key, _ in chain[1:]],
            }
        )
    return out


def cost_report(
    inputs: CostInputs,
    *,
    by: str = "model",
    grain: str = "month",
    mode: str = "auto",
    part: Slice = Slice(),
    limit: int | None = None,
    unpriced_limit: int = 50,
) -> dict[str, Any]:
    """Cost (USD) by period x ``by``, with tokens, rows and the unpriced share of each cell.

    ``unpriced_share`` is the share of the cell's tokens (input + output) in rows that could
    not be priced in ``mode``; the cell's ``cost`` sums the priced rows only, and is null
    when none of its rows could be priced. With ``limit``, each period keeps its ``limit``
    costliest groups and one row ``(N others)`` sums the rest; totals cover everything.
    """
    check_dimension(by)
    check_grain(grain)
    check_mode(mode)
    rows = part.apply(inputs.usage, inputs.attributed)
    if by in MODEL_DIMENSIONS and "author" not in rows.columns:
        rows = with_attribution(rows, inputs.attributed)
    rows = rows.mutate(
        start=period_start_expr(rows.day, grain),
        key=group_key(rows, by),
    )
    schedule = inputs.schedule() if mode != "reported" else None
    cells = aggregate_cost(rows, schedule, mode, ["start", "key"])
    ordered = cells.order_by(["start", cells.cost.desc(), cells.tokens.desc(), "key"])
    result = ordered.to_pyarrow().to_pylist()
    if not result:
        raise QueryError("the ledger holds no rows for this selection; import some first")
    cells_out = [
        {
            "start": _iso(r["start"]),
            "key": r["key"],
            "cost": _float(r["cost"]),
            "tokens": _num(r["tokens"]) or 0,
            "rows": _num(r["rows"]),
            "unpriced_rows": _num(r["unpriced_rows"]),
            "unpriced_tokens": _num(r["unpriced_tokens"]) or 0,
        }
        for r in result
    ]
    total_tokens = sum(r["tokens"] for r in cells_out)
    total_unpriced_tokens = sum(r["unpriced_tokens"] for r in cells_out)
    total_unpriced_rows = sum(r["unpriced_rows"] for r in cells_out)
    total_cost = sum(r["cost"] or 0.0 for r in cells_out)
    reported_rows = sum(_num(r["reported_rows"]) or 0 for r in result)
    out_rows = [_finish_cell(cell) for cell in _top_per_period(cells_out, limit)]
    unpriced, unpriced_groups = (
        unpriced_rows(rows, schedule, inputs.book, mode, unpriced_limit)
        if total_unpriced_rows
        else ([], 0)
    )
    return {
        "mode": mode,
        "by": by,
        "grain": grain,
        "slice": part.describe(),
        "rows": out_rows,
        "limit": limit,
        "total": {
            "cost": total_cost if total_unpriced_rows < sum(r["rows"] for r in cells_out) else None,
            "tokens": total_tokens,
            "rows": sum(r["rows"] for r in cells_out),
            "unpriced_rows": total_unpriced_rows,
            "unpriced_share": total_unpriced_tokens / total_tokens if total_tokens else None,
            "reported_rows": reported_rows,
        },
        "unpriced": unpriced,
        "unpriced_groups": unpriced_groups,
        "pricing": pricing_basis(inputs.book, inputs.pairs) if mode != "reported" else [],
        "prices": price_sources(inputs.book),
        "sources": inputs.sources,
    }


OTHERS = "({n} others)"


def _top_per_period(cells: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """Cells (ordered by period, then cost) cut to ``limit`` groups per period plus one row
    summing the others."""
    if not limit:
        return cells
    out: list[dict[str, Any]] = []
    by_period: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        by_period.setdefault(cell["start"], []).append(cell)
    for start, group in by_period.items():
        out += group[:limit]
        rest = group[limit:]
        if rest:
            priced = [c["cost"] for c in rest if c["cost"] is not None]
            out.append(
                {
                    "start": start,
                    "key": OTHERS.format(n=len(rest)),
                    "cost": sum(priced) if priced else None,
                    **{
                        name: sum(c[name] for c in rest)
                        for name in ("tokens", "rows", "unpriced_rows", "unpriced_tokens")
                    },
                }
            )
    return out


def _finish_cell(cell: dict[str, Any]) -> dict[str, Any]:
    tokens, unpriced = cell["tokens"], cell.pop("unpriced_tokens")
    cell["unpriced_share"] = unpriced / tokens if tokens else None
    return cell


def mismatch_report(
    inputs: CostInputs,
    *,
    part: Slice = Slice(),
    tolerance: float = 0.01,
    limit: int = 50,
) -> dict[str, Any]:
    """Where the reported and the computed cost of the same rows disagree, by (model,
    provider): a row disagrees when ``|reported - computed| > tolerance * max(|reported|,
    |computed|)`` and by more than $0.000001."""
    if not 0 <= tolerance < 1:
        raise QueryError("--tolerance is a fraction between 0 and 1, e.g. 0.01 for 1%")
    rows = part.apply(inputs.usage, inputs.attributed)
    priced = costed(rows, inputs.schedule(), "computed")
    both = priced.filter(priced.cost_reported.notnull() & priced.cost_computed.notnull())
    difference = both.cost_reported - both.cost_computed
    scale = ibis.greatest(both.cost_reported.abs(), both.cost_computed.abs())
    off = (difference.abs() > scale * tolerance) & (difference.abs() > 1e-6)
    grouped = both.group_by(["model", "provider"]).aggregate(
        rows_compared=both.count(),
        rows_mismatched=off.cast("int64").sum(),
        reported=both.cost_reported.sum(),
        computed=both.cost_computed.sum(),
        first_day=both.day.min(),
        last_day=both.day.max(),
    )
    stats = priced.aggregate(
        reported_rows=priced.cost_reported.notnull().cast("int64").sum(),
        unchecked=(priced.cost_reported.notnull() & priced.cost_computed.isnull())
        .cast("int64")
        .sum(),
        rows=priced.count(),
    )
    totals = stats.to_pyarrow().to_pylist()[0]
    out = []
    for r in grouped.to_pyarrow().to_pylist():
        reported, computed = float(r["reported"] or 0), float(r["computed"] or 0)
        out.append(
            {
                "model": r["model"],
                "provider": r["provider"],
                "rows_compared": _num(r["rows_compared"]),
                "rows_mismatched": _num(r["rows_mismatched"]),
                "reported": reported,
                "computed": computed,
                "difference": reported - computed,
                "difference_pct": (reported - computed) / computed if computed else None,
                "first_day": _iso(r["first_day"]),
                "last_day": _iso(r["last_day"]),
            }
        )
    out.sort(key=lambda r: (-r["rows_mismatched"], -abs(r["difference"]), r["model"]))
    return {
        "tolerance": tolerance,
        "slice": part.describe(),
        "rows": out[:limit],
        "total": {
            "rows": _num(totals["rows"]),
            "reported_rows": _num(totals["reported_rows"]),
            "rows_compared": sum(r["rows_compared"] for r in out),
            "rows_mismatched": sum(r["rows_mismatched"] for r in out),
            "reported": sum(r["reported"] for r in out),
            "computed": sum(r["computed"] for r in out),
            "unchecked_rows": _num(totals["unchecked"]),
        },
        "pricing": pricing_basis(inputs.book, [(r["provider"], r["model"]) for r in out]),
        "prices": price_sources(inputs.book),
        "sources": inputs.sources,
    }


def price_sources(book: PriceBook) -> dict[str, Any]:
    """Where the prices came from, for report footers."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        genai_version = version("genai-prices")
    except PackageNotFoundError:  # pragma: no cover - the package is a dependency
        genai_version = None
    return {
        "genai_prices": genai_version,
        "snapshots": book.snapshot_days(),
        "user_file": str(book.user_file) if book.user_file else None,
    }
