"""The series a forecast reads: one value per complete period and group, from the cube.

Values come from the same facts -> cube -> grid code as the reports (`tokenstat.metrics`),
so a forecast's history equals what ``summary``/``trend`` print for those periods.

A period only partly covered by the data (the week in progress, a month that starts in
the middle of the data) would look like a collapse or a slowdown, so it is left out, and
the report says so. Coverage is judged by the spacing of the data's days: with daily data
the last period must reach its last day; with weekly rows (one day a week) it must hold
the row of its last week.
"""

from __future__ import annotations

import difflib
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from tokenstat.errors import QueryError
from tokenstat.metrics.cube import UNRANKED, cube, grid, start_range
from tokenstat.metrics.facts import (
    MODEL_DIMENSIONS,
    NO_VALUE,
    check_dimension,
    facts,
    with_attribution,
)
from tokenstat.metrics.reports import Dataset, Selection
from tokenstat.periods import check_grain, period_end, period_label, period_start

if TYPE_CHECKING:
    from tokenstat.prices.cost import CostInputs

ALL = "all"
METRICS = ("tokens", "cost")
ONE_DAY = timedelta(days=1)


@dataclass
class SeriesSet:
    """Values per complete period for each selected group, oldest first."""

    grain: str
    starts: list[date]
    values: dict[str, list[float]]
    notes: list[str] = field(default_factory=list)


def cost_facts(cost: CostInputs | None, by: str, sel: Selection, mode: str = "auto") -> ir.Table:
    """(day, key, value, tokens, unpriced_tokens): cost in USD per usage row, priced in the
    engine by the price module (`tokenstat.prices.cost.costed`); unpriced rows count 0 USD
    and their tokens are counted in ``unpriced_tokens``."""
    if cost is None:
        raise QueryError("cost forecasts need the price book: pass cost inputs (api.cost_inputs)")
    from tokenstat.prices.cost import costed, tokens_of

    rows = cost.usage
    if sel.sources:
        rows = rows.filter(rows.source.isin(list(sel.sources)))
    priced = costed(rows, cost.schedule() if mode != "reported" else None, mode)
    if by in MODEL_DIMENSIONS:
        priced = with_attribution(priced, cost.attributed)
    tokens = tokens_of(priced)
    return priced.select(
        day=priced.day,
        key=ibis.coalesce(priced[by].cast("string"), NO_VALUE),
        value=ibis.coalesce(priced.cost, 0.0),
        tokens=tokens,
        unpriced_tokens=ibis.ifelse(priced.cost.isnull(), tokens, 0),
    )


def metric_facts(
    ds: Dataset,
    by: str | None,
    metric: str,
    sel: Selection,
    cost: CostInputs | None = None,
    cost_mode: str = "auto",
) -> ir.Table:
    """(day, key, value) for ``metric`` (tokens of ``sel.kind``, or cost in USD); with
    ``by`` None every row has the key ``all``. Cost facts also carry ``tokens`` and
    ``unpriced_tokens``."""
    if metric not in METRICS:
        raise QueryError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    dim = check_dimension(by or "source")
    if metric == "cost":
        t = cost_facts(cost, dim, sel, cost_mode)
    else:
        t = facts(ds.rows(dim), ds.attributed, by=dim, kind=sel.kind, sources=sel.sources or None)
    if by is None:
        t = t.mutate(key=ibis.literal(ALL))
    return t


def unpriced_share(t: ir.Table, first: date, last_day: date) -> float | None:
    """Share of tokens in rows that could not be priced, between two days (cost facts)."""
    t = t.filter((t.day >= first) & (t.day <= last_day))
    row = t.aggregate(u=t.unpriced_tokens.sum(), n=t.tokens.sum()).to_pyarrow().to_pylist()[0]
    return float(row["u"] or 0) / float(row["n"]) if row["n"] else None


def _spacing(days: Sequence[date]) -> int:
    """The most common gap in days between consecutive days with data (1 for daily data)."""
    gaps = Counter((b - a).days for a, b in itertools.pairwise(days))
    return gaps.most_common(1)[0][0] if gaps else 1


def complete_range(days: Sequence[date], grain: str) -> tuple[date, date, list[str]]:
    """First and last start of the periods the data covers fully, and notes on the rest."""
    first_day, last_day = days[0], days[-1]
    gap = _spacing(days)
    first, last = period_start(first_day, grain), period_start(last_day, grain)
    notes = []
    if (first_day - first).days >= gap:
        notes.append(
            f"{period_label(first, grain)} left out: data starts on {first_day.isoformat()}, "
            "inside the period"
        )
        first = period_start(period_end(first, grain) + ONE_DAY, grain)
    if (period_end(last, grain) - last_day).days >= gap:
        notes.append(
            f"{period_label(last, grain)} left out: data ends on {last_day.isoformat()}, "
            "before the period does"
        )
        last = period_start(last - ONE_DAY, grain)
    return first, last, notes


def _days(t: ir.Table) -> list[date]:
    rows = t.filter(t.value != 0).select("day").distinct().order_by("day").to_pyarrow()
    return [
        d.date() if hasattr(d, "date") and callable(d.date) else d for d in rows["day"].to_pylist()
    ]


def _suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.5)
    if close:
        return f"; did you mean {', '.join(close)}?"
    return f"; known: {', '.join(sorted(known)[:12])}"


def extract(
    ds: Dataset,
    *,
    by: str | None,
    grain: str,
    sel: Selection = Selection(),
    metric: str = "tokens",
    keys: Sequence[str] = (),
    limit: int = 10,
    at: date | None = None,
    cost: CostInputs | None = None,
    cost_mode: str = "auto",
) -> SeriesSet:
    """Per-period values of the chosen groups (``keys``, else the ``limit`` largest ranked
    groups of the last period), up to the period containing ``at`` (default: the last
    complete period)."""
    check_grain(grain)
    if limit < 1:
        raise QueryError("--limit must be at least 1")
    t = metric_facts(ds, by, metric, sel, cost, cost_mode)
    days = _days(t)
    if not days and metric == "cost":
        raise QueryError(
            "no cost could be computed for this selection: none of its rows could be priced "
            "(see: tokenstat cost)"
        )
    if not days:
        raise QueryError("the ledger holds no data for this selection; import some first")
    first, last, notes = complete_range(days, grain)
    if at is not None:
        wanted = period_start(at, grain)
        if wanted > last or wanted < first:
            raise QueryError(
                f"no complete {grain} of data containing {at.isoformat()}; complete {grain}s "
                f"run from {period_label(first, grain)} to {period_label(last, grain)}"
            )
        last = wanted
    if last < first:
        raise QueryError(f"the data does not cover one complete {grain}; try a shorter --period")
    if metric == "cost":
        share = unpriced_share(t, first, period_end(last, grain))
        if share:
            notes.append(
                f"{share:.1%} of the tokens could not be priced and count 0 USD "
                "(see: tokenstat cost)"
            )
        t = t.select("day", "key", "value")
    cubed = cube(t, grain)
    lo, hi = start_range(cubed)
    g = grid(cubed, grain, lo, hi)  # type: ignore[arg-type]
    g = g.filter((g.start >= first) & (g.start <= last))
    rows = g.select("start", "key", "value").order_by(["start", "key"]).to_pyarrow().to_pylist()
    starts = sorted({r["start"] for r in rows})
    by_key: dict[str, dict[date, float]] = {}
    for r in rows:
        by_key.setdefault(r["key"], {})[r["start"]] = float(r["value"] or 0)
    if keys:
        missing = [k for k in keys if k not in by_key]
        if missing:
            label = by or "series"
            raise QueryError(
                f"no {label} named {missing[0]!r} in the data{_suggest(missing[0], list(by_key))}"
            )
        chosen = list(dict.fromkeys(keys))
    else:
        ranked = [k for k in by_key if k not in UNRANKED or by is None]
        ranked.sort(key=lambda k: (-by_key[k].get(starts[-1], 0.0), k))
        chosen = [k for k in ranked if by_key[k].get(starts[-1], 0.0) > 0][:limit]
        if not chosen:
            raise QueryError(f"no group has data in {period_label(starts[-1], grain)}")
    values = {k: [by_key[k].get(s, 0.0) for s in starts] for k in chosen}
    return SeriesSet(grain=grain, starts=starts, values=values, notes=notes)
