"""The market report's content: every section as the dict its own report returns.

``build`` gathers the reports a market report is made of (executive summary by origin,
top models, trend, lead streak, share shift between two periods, prices, cost and
what-if, forecast) into one dict: the JSON contract of ``tokenstat report --format json``
and of the dashboard's ``/api/report``. Rendering (HTML, Markdown, charts) reads only this
dict. Sections owned by other parts of tokenstat (prices, cost, what-if, forecast) are
taken from their own report functions, never recomputed here; a section that cannot be
produced says why, as ``{"available": false, "reason": ...}``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tokenstat.errors import QueryError, TokenstatError
from tokenstat.metrics import reports
from tokenstat.metrics.cube import UNRANKED
from tokenstat.metrics.reports import Dataset, Selection
from tokenstat.metrics.shift import share_shift
from tokenstat.periods import (
    OutsideCalendar,
    period_end,
    period_start,
    period_start_expr,
    shift_period,
)
from tokenstat.render import charts

if TYPE_CHECKING:
    from tokenstat.catalog import Catalog
    from tokenstat.ledger import Ledger

# forecast section: one series of all tokens, about half a year ahead
FORECAST_HORIZON = {"day": 60, "week": 26, "month": 12, "quarter": 8, "half": 4, "year": 3}
WHATIF_CANDIDATES = 5
TOKEN_SUMS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "requests",
)

DEFINITIONS = [
    (
        "Period",
        "ISO week Monday to Sunday (UTC) by default; also day, month, quarter, half, "
        "year. A row counts in the period containing its timestamp.",
    ),
    (
        "Tokens",
        "input + output tokens unless a token kind is chosen; cache reads and writes "
        "are part of input, reasoning tokens part of output.",
    ),
    (
        "Growth",
        "total(p) / total(p-1) - 1; undefined (shown as '-' or 'new') when the "
        "previous period is 0 or missing.",
    ),
    (
        "Share",
        "total(p, g) / total(p); the denominator is every row of the period, "
        "unknown origin included.",
    ),
    ("Shift", "share(p) - share(q), in percentage points (pp)."),
    (
        "Rank",
        "by tokens, descending, within a period; unknown origin or author and the "
        "'other' bucket hold no rank.",
    ),
    ("Leader streak", "consecutive periods, ending at p, in which the group ranked first."),
    (
        "Lead streak and crossover",
        "consecutive periods ending at p with total(a) > "
        "total(b); a crossover is a period where a > b after one where a <= b.",
    ),
    (
        "Top-k share, HHI",
        "summed share of the k listed groups; Herfindahl-Hirschman index "
        "= sum of share squared x 10,000 over all groups (0 to 10,000).",
    ),
    ("Price ratio", "price(model) / price(baseline) per token kind; saving = 1 - ratio."),
]


class SectionUnavailable(TokenstatError, LookupError):
    """A report section cannot be produced (its feature is missing or has no data)."""


@dataclass
class Inputs:
    """What the report reads: the reports' dataset and, for prices and cost, the ledger
    and catalog (price books and cost inputs are built from them)."""

    ds: Dataset
    ledger: Ledger | None = None
    catalog: Catalog | None = None

    @classmethod
    def of(cls, ledger: Ledger, catalog: Catalog) -> Inputs:
        from tokenstat import api

        return cls(api.dataset(ledger, catalog), ledger, catalog)

    def rolled(self, daily: pa.Table, usage: pa.Table | None = None) -> Inputs:
        """The same inputs reading per-period rollups (see `rollup`) instead of the daily
        rollup and, when ``usage`` is given, instead of the rows by a row dimension (app,
        user, project or session: `Dataset.rows`)."""
        changes: dict[str, Any] = {"daily": ibis.memtable(daily)}
        if usage is not None:
            changes.update(usage=ibis.memtable(usage), dims=None)
        return Inputs(dataclasses.replace(self.ds, **changes), self.ledger, self.catalog)

    def need_ledger(self, what: str) -> tuple[Ledger, Catalog]:
        if self.ledger is None or self.catalog is None:
            raise SectionUnavailable(f"{what} need the ledger itself, not only a dataset")
        return self.ledger, self.catalog


def rollup(
    rows: ir.Table, grain: str, keys: tuple[str, ...] = ("source", "model", "provider")
) -> pa.Table:
    """Ledger rows (the daily rollup, or the rows by a row dimension with ``keys`` such as
    ``("source", "app")``) summed per period of ``grain`` and ``keys``, each row dated by the
    last day it holds: every report of that grain reads the same totals from it, and the
    latest day with data is kept, from a few to many thousand times fewer rows.

    Reports of another grain (and of ``day``) must read the rows themselves."""
    sums: dict[str, Any] = {}
    for name in (*TOKEN_SUMS, "cost_reported_rows", "rows"):
        if name in rows.columns:  # as wide as the ledger's rollups: sums cannot overflow
            sums[name] = rows[name].sum().cast("decimal(38, 0)")
    if "cost_reported" in rows.columns:
        sums["cost_reported"] = rows.cost_reported.sum()
    period = period_start_expr(rows.day, grain).name("period")
    rolled = rows.group_by([period, *keys]).aggregate(day=rows.day.max(), **sums)
    return rolled.drop("period").to_pyarrow()


def unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason}


def optional_module(name: str, feature: str) -> Any:
    """Import ``tokenstat.<name>``, or raise `SectionUnavailable` naming the feature."""
    try:
        return importlib.import_module(f"tokenstat.{name}")
    except ImportError as exc:
        if exc.name and not f"tokenstat.{name}".startswith(exc.name):
            raise
        raise SectionUnavailable(
            f"{feature} are not available in this version of tokenstat"
        ) from None


def _section(produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one optional section; its failure becomes the section's reason, not the report's."""
    try:
        section = produce()
    except TokenstatError as exc:
        return unavailable(str(exc))
    return {"available": True, **section}


def own_usage_days(ds: Dataset) -> tuple[date | None, date | None]:
    """First and last UTC day of request-level rows (a team's own usage, as opposed to
    market aggregates); (None, None) when there are none."""
    t = ds.usage
    own = t.filter(t.grain == "request")
    row = own.aggregate(lo=own.day.min(), hi=own.day.max()).to_pyarrow().to_pylist()[0]
    return _as_date(row["lo"]), _as_date(row["hi"])


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def build(
    source: Inputs | Dataset,
    *,
    grain: str = "week",
    at: date | None = None,
    since: date | None = None,
    last: int = 12,
    limit: int = 10,
    baseline: str | None = None,
    lead_pair: tuple[str, str] | None = None,
    sel: Selection = Selection(),
) -> dict[str, Any]:
    """Every section of the market report for the period containing ``at`` (default: the
    latest with data). ``since``: the earlier period of the share shift (default: the
    first of the ``last`` periods of the trend); ``baseline``: the model prices are
    compared with (and a what-if candidate)."""
    inputs = source if isinstance(source, Inputs) else Inputs(source)
    ds = inputs.ds
    summary = reports.summary(ds, by="origin", grain=grain, at=at, sel=sel)
    start = date.fromisoformat(summary["period"]["start"])
    top = reports.top(ds, by="model", grain=grain, at=start, limit=limit, sel=sel)
    trend = reports.trend(ds, by="origin", grain=grain, last=last, at=start, sel=sel)
    pair = lead_pair or charts.default_pair(trend)
    lead = reports.lead(ds, *pair, by="origin", grain=grain, at=start, sel=sel) if pair else None
    first_trend = min((date.fromisoformat(r["start"]) for r in trend["rows"]), default=start)
    try:
        back = shift_period(start, grain, -(last - 1))
    except OutsideCalendar:  # near year 1
        back = date.min
    earlier = since or max(first_trend, back)
    shift: dict[str, Any] = {}
    for by in ("origin", "author"):
        try:
            shift[by] = share_shift(ds, by=by, grain=grain, at=start, since=earlier, sel=sel)
        except QueryError as exc:
            shift[by] = unavailable(str(exc))
    models = [r["key"] for r in top["rows"] if r["key"] not in UNRANKED]
    own = own_usage_days(ds)
    no_own = "the ledger holds no own usage (request-level rows)"
    return {
        "report": "market",
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "period": summary["period"],
        "measure": sel.kind,
        "sources_filter": list(sel.sources),
        "summary": summary,
        "lead": lead,
        "top": top,
        "trend": trend,
        "shift": shift,
        "prices": _section(
            lambda: prices_section(inputs, baseline=baseline, grain=grain, at=start, models=models)
        ),
        "cost": _section(lambda: cost_section(inputs, grain=grain, at=start, own=own))
        if own[1]
        else unavailable(no_own),
        "whatif": _section(
            lambda: whatif_section(inputs, grain=grain, at=start, own=own, baseline=baseline)
        )
        if own[1]
        else unavailable(no_own),
        "forecast": _section(lambda: forecast_section(inputs, grain=grain, at=start, sel=sel)),
        "attributed_share": summary["attributed_share"],
        "sources": summary["sources"],
        "definitions": [{"term": t, "definition": d} for t, d in DEFINITIONS],
    }


# ---- sections owned by other parts of tokenstat ---------------------------------------------
# Each returns that part's own report dict (the contract of its CLI command's --json),
# produced by its own function; nothing here recomputes a price, a cost or a forecast.


def prices_section(
    inputs: Inputs,
    *,
    baseline: str | None,
    grain: str,
    at: date,
    models: list[str],
) -> dict[str, Any]:
    """`tokenstat prices --models ... --baseline B --as-of D --json` for the report's top
    models (and the baseline), as of the last day of the period (today at the latest)."""
    table = optional_module("prices.table", "price tables")
    ledger, catalog = inputs.need_ledger("price tables")
    from tokenstat import api

    chosen = list(dict.fromkeys([*(models or []), *([baseline] if baseline else [])]))
    if not chosen:
        raise SectionUnavailable("no attributed model in this period to list prices for")
    as_of = min(period_end(at, grain), datetime.now(UTC).date())
    book = api.price_book(ledger, catalog)
    return table.price_table(book, catalog, models=chosen, baseline=baseline, as_of=as_of)


def _own_slice(cost_module: Any, grain: str, at: date, own: tuple[date | None, date | None]):
    """Own usage in the report's period, else in the latest period that has some."""
    lo, hi = own
    start = at
    if hi is None or lo is None:
        raise SectionUnavailable("the ledger holds no own usage (request-level rows)")
    if not (lo <= period_end(at, grain) and hi >= at):
        start = period_start(hi, grain)
    return cost_module.Slice(start, period_end(start, grain), (("grain", "request"),))


def cost_section(
    inputs: Inputs, *, grain: str, at: date, own: tuple[date | None, date | None]
) -> dict[str, Any]:
    """`tokenstat cost --by model --period GRAIN --since ... --until ... --where
    grain=request --json`: own usage only (market aggregates are not a bill)."""
    cost = optional_module("prices.cost", "cost reports")
    ledger, catalog = inputs.need_ledger("cost reports")
    from tokenstat import api

    part = _own_slice(cost, grain, at, own)
    return cost.cost_report(api.cost_inputs(ledger, catalog), by="model", grain=grain, part=part)


def whatif_section(
    inputs: Inputs,
    *,
    grain: str,
    at: date,
    own: tuple[date | None, date | None],
    baseline: str | None,
) -> dict[str, Any]:
    """`tokenstat whatif --cheapest 5 [--on BASELINE] --since ... --until ... --where
    grain=request --json` on the same own-usage slice as the cost section."""
    cost = optional_module("prices.cost", "what-if reports")
    whatif = optional_module("prices.whatif", "what-if reports")
    table = optional_module("prices.table", "what-if reports")
    ledger, catalog = inputs.need_ledger("what-if reports")
    from tokenstat import api

    part = _own_slice(cost, grain, at, own)
    cost_inputs = api.cost_inputs(ledger, catalog)
    candidates = [catalog.resolve(baseline)] if baseline else []
    candidates += table.cheapest(
        cost_inputs.book, catalog, WHATIF_CANDIDATES, as_of=part.until, mix=table.DEFAULT_MIX
    )
    return whatif.whatif_report(cost_inputs, list(dict.fromkeys(candidates)), part=part)


def forecast_section(inputs: Inputs, *, grain: str, at: date, sel: Selection) -> dict[str, Any]:
    """`tokenstat forecast --period GRAIN --at AT --horizon N --json`: all tokens."""
    forecast = optional_module("forecast", "forecasts")
    return forecast.forecast(
        inputs.ds, grain=grain, sel=sel, at=at, horizon=FORECAST_HORIZON.get(grain)
    )
