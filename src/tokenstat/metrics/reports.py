"""The reports (`summary`, `top`, `trend`, `lead`) as plain dicts: the JSON contract.

Each function takes a `Dataset` (Ibis tables on any backend) and returns what the CLI
prints with ``--json``; terminal tables are rendered from the same dicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis.expr.types as ir

from tokenstat.errors import QueryError
from tokenstat.metrics.cube import cube, grid, pairwise
from tokenstat.metrics.facts import MODEL_DIMENSIONS, ROW_DIMENSIONS, check_dimension, facts
from tokenstat.periods import (
    OutsideCalendar,
    as_date,
    check_grain,
    period_end,
    period_start,
    shift_period,
)


@dataclass
class Dataset:
    """What reports read: the rollups, raw rows, and the model attribution table."""

    daily: ir.Table
    usage: ir.Table
    attributed: ir.Table
    sources: list[dict[str, Any]] = field(default_factory=list)
    # usage rows with a ``cost`` column (USD, null when unpriced), for metric "cost";
    # see tokenstat.prices.cost.costed
    costed: ir.Table | None = None
    cost_mode: str | None = None
    # the ledger's rollup by row dimension (`Ledger.dims`); None: those read ``usage``
    dims: ir.Table | None = None
    # with a --where filter: the last day the rows of the chosen days cover, so that a
    # period's completeness is judged on the data, not on the groups filtered to
    covered_through: date | None = None

    def rows(self, by: str) -> ir.Table:
        """The rows a report by ``by`` reads: the daily rollup, the rollup by row
        dimension (as rows with a column ``by``), or the raw rows."""
        if by not in ROW_DIMENSIONS:
            return self.daily
        if self.dims is None:
            return self.usage
        t = self.dims.filter(self.dims.dim == by)
        return t.rename({by: "key"}).drop("dim")

    def restricted(
        self,
        since: date | None = None,
        until: date | None = None,
        where: Sequence[tuple[str, str]] = (),
    ) -> Dataset:
        """The same dataset holding only the rows of the days ``since`` to ``until`` (UTC,
        inclusive) where each (dimension, value) of ``where`` holds (values as the rows
        hold them: canonical model ids, upper-case origins).

        A filter on a model dimension keeps the stored ids the catalog attributes that way;
        one on a row dimension (app, user, ...) reads the raw rows, as only they hold it.
        """
        if not (since or until or where):
            return self
        models = None
        for dim, value in where:
            if dim in MODEL_DIMENSIONS:
                a = self.attributed
                chosen = a.filter(a[dim] == value).select("stored").to_pyarrow()
                ids = set(chosen.column(0).to_pylist())
                models = ids if models is None else models & ids
        columns = [(d, v) for d, v in where if d not in MODEL_DIMENSIONS]
        by_row = any(d in ROW_DIMENSIONS for d, _ in where)

        def keep(t: ir.Table, *, dims: bool = False) -> ir.Table:
            if since:
                t = t.filter(t.day >= since)
            if until:
                t = t.filter(t.day <= until)
            if dims:
                return t
            if models is not None:
                t = t.filter(t.model.isin(sorted(models))) if models else t.limit(0)
            for dim, value in columns:
                t = t.filter(t[dim] == value)
            return t

        covered = self.covered_through
        if where:
            t = self.daily
            t = t.filter(t.day >= since) if since else t
            t = t.filter(t.day <= until) if until else t
            covered = as_date(t.aggregate(hi=t.day.max()).to_pyarrow().to_pylist()[0]["hi"])
        usage = keep(self.usage)
        # the dimension rollup has no model or provider: any filter but days and
        # source sends the reports by row dimension to the raw rows
        dims_ok = all(d == "source" for d, _ in where)
        return dataclasses.replace(
            self,
            daily=usage if by_row else keep(self.daily),
            usage=usage,
            costed=keep(self.costed) if self.costed is not None else None,
            dims=_source_filter(keep(self.dims, dims=True), columns)
            if self.dims is not None and dims_ok
            else None,
            covered_through=covered,
        )


def _source_filter(t: ir.Table, where: Sequence[tuple[str, str]]) -> ir.Table:
    for dim, value in where:
        t = t.filter(t[dim] == value)
    return t


@dataclass(frozen=True)
class Selection:
    """Which measure of which rows: token kind and source filter; ``metric`` "cost" sums
    USD instead of tokens (rows priced per usage row, `Dataset.costed`)."""

    kind: str = "total"
    sources: tuple[str, ...] = ()
    metric: str = "tokens"

    @property
    def value_key(self) -> str:
        """The key of a group's value in report dicts: ``tokens`` or ``cost``."""
        return "cost" if self.metric == "cost" else "tokens"

    def measure(self) -> str:
        return "cost" if self.metric == "cost" else self.kind


@dataclass(frozen=True)
class Span:
    """The facts of one selection and the stretch of time they cover."""

    facts: ir.Table
    grain: str
    first: date  # start of the first period with data
    last: date  # start of the last period with data
    last_day: date  # the last day with data

    @property
    def cubed(self) -> ir.Table:
        return cube(self.facts, self.grain)

    def grid(self, first: date | None = None, last: date | None = None) -> ir.Table:
        """The grid of the periods ``first`` to ``last`` (default: all); a shorter one
        reads only the facts of its days (a lag at its first period sees no period
        before, so start it a period early where growth or rank change matter)."""
        first = first or self.first
        last = last or self.last
        if (first, last) == (self.first, self.last):
            return grid(self.cubed, self.grain, first, last)
        f = self.facts
        f = f.filter((f.day >= first) & (f.day <= period_end(last, self.grain)))
        return grid(cube(f, self.grain), self.grain, first, last)

    def back(self, start: date, n: int) -> date:
        """The start of the period ``n`` periods before ``start``, but not before the
        first period with data (nor before year 1)."""
        try:
            return max(self.first, shift_period(start, self.grain, -n))
        except OutsideCalendar:
            return self.first

    def complete(self, start: date) -> bool:
        return period_end(start, self.grain) <= self.last_day

    def at_start(self, at: date | None) -> date:
        """The period to report: the one containing ``at``, else the latest complete one
        (the latest of all when none is complete)."""
        if at is None:
            if self.complete(self.last) or self.last == self.first:
                return self.last
            return shift_period(self.last, self.grain, -1)
        start = period_start(at, self.grain)
        if start < self.first or start > self.last:
            raise QueryError(
                f"no data for the {self.grain} containing {at}; data covers "
                f"{self.first.isoformat()} to {self.last_day.isoformat()}"
            )
        return start

    def period(self, start: date) -> dict[str, Any]:
        return {
            "grain": self.grain,
            "start": start.isoformat(),
            "end": period_end(start, self.grain).isoformat(),
            "complete": self.complete(start),
            "data_through": self.last_day.isoformat(),
        }


METRICS = ("tokens", "cost")


def _span(ds: Dataset, by: str, grain: str, sel: Selection) -> Span:
    check_grain(grain)
    check_dimension(by)
    if sel.metric not in METRICS:
        raise QueryError(f"unknown metric {sel.metric!r}; choose one of: {', '.join(METRICS)}")
    if sel.metric == "cost":
        if ds.costed is None:
            raise QueryError("metric cost needs priced rows (Dataset.costed)")
        facts_table = facts(
            ds.costed, ds.attributed, by=by, sources=sel.sources or None, value_column="cost"
        )
    else:
        facts_table = facts(
            ds.rows(by), ds.attributed, by=by, kind=sel.kind, sources=sel.sources or None
        )
    bounds = facts_table.aggregate(lo=facts_table.day.min(), hi=facts_table.day.max())
    row = bounds.to_pyarrow().to_pylist()[0]
    if row["lo"] is None:
        raise QueryError("the ledger holds no data for this selection; import some first")
    lo, hi = as_date(row["lo"]), as_date(row["hi"])
    if ds.covered_through and ds.covered_through > hi and not sel.sources:
        hi_covered = ds.covered_through
    else:
        hi_covered = hi
    return Span(
        facts=facts_table,
        grain=grain,
        first=period_start(lo, grain),
        last=period_start(hi, grain),
        last_day=hi_covered,
    )


def _rows(table: ir.Table) -> list[dict[str, Any]]:
    return table.to_pyarrow().to_pylist()


def _num(value: Any) -> Any:
    """Python int for whole numbers (engines may return Decimal or float sums)."""
    if value is None:
        return None
    if isinstance(value, float):
        return value
    return int(value)


def attributed_share(ds: Dataset, grain: str, start: date, sel: Selection) -> float | None:
    """Share of the period's tokens whose origin is known."""
    t = facts(ds.daily, ds.attributed, by="origin", kind=sel.kind, sources=sel.sources or None)
    end = period_end(start, grain)
    t = t.filter((t.day >= start) & (t.day <= end))
    row = (
        t.aggregate(known=t.value.sum(where=t.key != "unknown"), total=t.value.sum())
        .to_pyarrow()
        .to_pylist()[0]
    )
    total = _num(row["total"]) or 0
    return (_num(row["known"]) or 0) / total if total else None


def _cost_info(ds: Dataset, grain: str, start: date, sel: Selection) -> dict[str, Any]:
    """For metric cost: the mode and the share of the period's tokens left unpriced."""
    if sel.metric != "cost" or ds.costed is None:
        return {}
    t = ds.costed
    if sel.sources:
        t = t.filter(t.source.isin(list(sel.sources)))
    t = t.filter((t.day >= start) & (t.day <= period_end(start, grain)))
    tokens = t.input_tokens + t.output_tokens
    row = (
        t.aggregate(unpriced=tokens.sum(where=t.cost.isnull()), total=tokens.sum())
        .to_pyarrow()
        .to_pylist()[0]
    )
    total = _num(row["total"]) or 0
    return {
        "cost_mode": ds.cost_mode,
        "unpriced_share": (_num(row["unpriced"]) or 0) / total if total else None,
    }


def summary(
    ds: Dataset,
    *,
    by: str = "origin",
    grain: str = "week",
    at: date | None = None,
    sel: Selection = Selection(),
    limit: int = 0,
) -> dict[str, Any]:
    """Totals, growth, share, share shift, rank and leader streak per group for one period.

    ``limit`` > 0 lists that many groups (the largest), sums the rest in ``others`` (null
    when none is left out) and says so (keys ``limit``, ``others``; absent when ``limit``
    is 0); totals always cover every group."""
    span = _span(ds, by, grain, sel)
    start = span.at_start(at)
    first = span.first
    g = span.grid()
    rows = _rows(g.filter(g.start == start).order_by([g.rank.isnull(), g.value.desc(), g.key]))
    groups = []
    for r in rows:
        if not r["value"] and not r["previous"]:
            continue
        groups.append(
            {
                "key": r["key"],
                sel.value_key: _num(r["value"]),
                "previous": _num(r["previous"]),
                "growth": r["growth"],
                "share": r["share"],
                "share_previous": r["share_previous"],
                "share_shift_pp": r["share_shift_pp"],
                "rank": r["rank"],
                "rank_previous": r["rank_previous"],
                "leader_streak": r["leader_streak"],
            }
        )
    total = sum(g[sel.value_key] for g in groups)
    has_previous = start > first
    previous = sum(g["previous"] for g in groups) if has_previous else None
    if limit < 0:
        raise QueryError("--limit must be 0 (all) or more")
    listed, rest = (groups[:limit], groups[limit:]) if limit else (groups, [])
    others = None
    if rest:
        others = {
            "groups": len(rest),
            sel.value_key: sum(g[sel.value_key] or 0 for g in rest),
            "previous": sum(g["previous"] or 0 for g in rest) if has_previous else None,
            "share": sum(g["share"] or 0 for g in rest),
        }
    return {
        "period": span.period(start),
        "by": by,
        "measure": sel.measure(),
        **_cost_info(ds, grain, start, sel),
        "total": {
            sel.value_key: total,
            "previous": previous,
            "growth": (total / previous - 1) if previous else None,
        },
        "groups": listed,
        **({"limit": limit, "others": others} if limit else {}),
        "attributed_share": attributed_share(ds, grain, start, sel),
        "sources": ds.sources,
    }


def top(
    ds: Dataset,
    *,
    by: str = "model",
    grain: str = "week",
    at: date | None = None,
    limit: int = 10,
    sel: Selection = Selection(),
) -> dict[str, Any]:
    """The ``limit`` largest groups of one period, with growth, share and rank change."""
    if limit < 1:
        raise QueryError("--limit must be at least 1")
    span = _span(ds, by, grain, sel)
    start = span.at_start(at)
    # only this period and the one before (for growth and rank change), fetched once
    g = span.grid(span.back(start, 1), start)
    in_period = _rows(g.filter(g.start == start))
    shares = [r["share"] for r in in_period if r["share"] is not None]
    hhi = sum(s * s for s in shares) * 10_000 if shares else None
    ranked = sorted(
        (r for r in in_period if r["rank"] is not None), key=lambda r: (r["rank"], r["key"])
    )
    rows = ranked[:limit]
    attribution = _attribution_of([r["key"] for r in rows], ds) if by == "model" else {}
    out = []
    for r in rows:
        author, origin = attribution.get(r["key"], (None, None))
        change = None
        if r["rank_previous"] is not None:
            change = r["rank_previous"] - r["rank"]
        out.append(
            {
                "rank": r["rank"],
                "key": r["key"],
                "author": author,
                "origin": origin,
                sel.value_key: _num(r["value"]),
                "growth": r["growth"],
                "share": r["share"],
                "rank_change": change,
            }
        )
    unranked = sorted(
        (r for r in in_period if r["rank"] is None and r["value"]),
        key=lambda r: r["value"],
        reverse=True,
    )
    return {
        "period": span.period(start),
        "by": by,
        "measure": sel.measure(),
        **_cost_info(ds, grain, start, sel),
        "rows": out,
        "unranked": [
            {"key": r["key"], sel.value_key: _num(r["value"]), "share": r["share"]}
            for r in unranked
        ],
        "top_k_share": sum(r["share"] or 0 for r in out),
        "hhi": hhi,
        "attributed_share": attributed_share(ds, grain, start, sel),
        "sources": ds.sources,
    }


def trend(
    ds: Dataset,
    *,
    by: str = "origin",
    grain: str = "week",
    last: int = 12,
    at: date | None = None,
    sel: Selection = Selection(),
    limit: int = 0,
) -> dict[str, Any]:
    """Value, growth and share per group for the ``last`` periods ending at ``at``.

    ``limit`` > 0 keeps the rows of that many groups (the largest over the window, ties
    by name) and sums the others per period in rows with key ``others`` (growth against
    the same groups' previous period); ``others`` in the result lists the groups summed
    (keys ``limit`` and ``others`` are absent when ``limit`` is 0)."""
    if last < 1:
        raise QueryError("--last must be at least 1")
    span = _span(ds, by, grain, sel)
    end = span.at_start(at)
    begin = span.back(end, last - 1)
    g = span.grid()
    window = g.filter((g.start >= begin) & (g.start <= end) & ((g.value > 0) | (g.previous > 0)))
    rows = _rows(window.order_by(["start", window.value.desc(), "key"]))
    if limit < 0:
        raise QueryError("--limit must be 0 (all) or more")
    key = sel.value_key
    out = [
        {
            "start": r["start"].isoformat(),
            "key": r["key"],
            key: _num(r["value"]),
            "growth": r["growth"],
            "share": r["share"],
            "_previous": _num(r["previous"]),
        }
        for r in rows
    ]
    out, folded = _fold_others(out, key, limit)
    return {
        "by": by,
        "grain": grain,
        "measure": sel.measure(),
        "data_through": span.last_day.isoformat(),
        "rows": out,
        **({"limit": limit, "others": folded} if limit else {}),
        "attributed_share": attributed_share(ds, grain, end, sel),
        "sources": ds.sources,
    }


OTHERS_KEY = "others"


def _fold_others(
    rows: list[dict[str, Any]], key: str, limit: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Trend rows cut to the ``limit`` largest groups (by their sum over the rows), the
    rest summed per period under `OTHERS_KEY`; and the groups summed."""
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["key"]] = totals.get(r["key"], 0) + (r[key] or 0)
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    if not limit or len(ranked) <= limit:
        return [_without_previous(r) for r in rows], []
    kept = set(ranked[:limit])
    out: list[dict[str, Any]] = []
    others: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["key"] in kept:
            out.append(_without_previous(r))
            continue
        o = others.setdefault(
            r["start"],
            {"start": r["start"], "key": OTHERS_KEY, key: 0, "share": 0.0, "_previous": 0},
        )
        o[key] += r[key] or 0
        o["share"] += r["share"] or 0.0
        o["_previous"] += r["_previous"] or 0
    for o in others.values():
        previous = o.pop("_previous")
        o["growth"] = o[key] / previous - 1 if previous else None
        out.append(
            {
                "start": o["start"],
                "key": OTHERS_KEY,
                key: o[key],
                "growth": o["growth"],
                "share": o["share"],
            }
        )
    out.sort(key=lambda r: r["start"])
    return out, sorted(set(ranked[limit:]))


def _without_previous(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "_previous"}


def lead(
    ds: Dataset,
    a: str,
    b: str,
    *,
    by: str = "origin",
    grain: str = "week",
    at: date | None = None,
    sel: Selection = Selection(),
) -> dict[str, Any]:
    """How long ``a`` has been ahead of ``b`` and when it first overtook it."""
    from tokenstat.catalog.names import match_key

    span = _span(ds, by, grain, sel)
    keys = {r["key"] for r in _rows(span.cubed.select("key").distinct())}
    # as people type them: any case, a model by its name after the slash
    a, b = (match_key(name, keys, what=by) for name in (a, b))
    end = span.at_start(at)
    p = pairwise(span.cubed, grain, span.first, span.last, a, b)
    rows = _rows(p.filter(p.start <= end).order_by("idx"))
    crossovers = [r["start"].isoformat() for r in rows if r["crossover"]]
    return {
        "by": by,
        "a": a,
        "b": b,
        "grain": grain,
        "measure": sel.kind,
        "at": end.isoformat(),
        "data_through": span.last_day.isoformat(),
        "streak": rows[-1]["streak"],
        "first_crossover": crossovers[0] if crossovers else None,
        "latest_crossover": crossovers[-1] if crossovers else None,
        "periods": [
            {
                "start": r["start"].isoformat(),
                "a_tokens": _num(r["a_value"]),
                "b_tokens": _num(r["b_value"]),
                "a_leads": bool(r["a_leads"]),
            }
            for r in rows
        ],
        "sources": ds.sources,
    }


def _attribution_of(models: Sequence[str], ds: Dataset) -> dict[str, tuple[str, str]]:
    t = ds.attributed
    rows = _rows(t.filter(t.model.isin(list(models))))
    return {r["model"]: (r["author"], r["origin"]) for r in rows}
