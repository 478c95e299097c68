"""Recomputing a claim's metric from the ledger and the price book, with the reports' code.

Every metric is read from the same functions the reports use: `tokenstat.metrics.reports`
(``summary`` for tokens, growth, share, share shift, rank and leader streak; ``lead`` for
lead streaks), `tokenstat.prices.table.price_table` for prices, ratios and savings, and
`tokenstat.prices.cost.cost_report` for cost. A value that cannot be recomputed raises
`CannotCheck` with the reason (missing data, unknown model, ambiguous selector, ...).

Units: tokens; fractions for growth, share, price ratio, saving and CAGR (0.3148 = 31.48%);
percentage points for share shifts; USD per million tokens for prices; USD for cost;
a plain number for multiples, ranks and streaks.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from tokenstat.errors import QueryError, TokenstatError
from tokenstat.metrics import reports
from tokenstat.metrics.reports import Dataset, Selection
from tokenstat.periods import check_grain, parse_day, period_end, period_label, period_start
from tokenstat.quantities import parse_amount

if TYPE_CHECKING:
    from tokenstat.catalog import Catalog
    from tokenstat.prices.book import PriceBook
    from tokenstat.prices.cost import CostInputs

GROUP_METRICS = ("tokens", "growth", "share", "share_shift_pp", "leader_streak", "rank")
PRICE_METRICS = ("price", "price_ratio", "saving", "cost")
METRICS = (*GROUP_METRICS, "lead_streak", *PRICE_METRICS, "multiple", "cagr")
COUNT_METRICS = ("leader_streak", "lead_streak", "rank")
PRICE_KINDS = ("input", "output", "cache_read", "blended")
DAYS_PER_YEAR = 365.2425
ALL_KEYS = ("all", "total", "*")

# how a corrected value is written when the claim's own value gives no hint
STYLE = {
    "tokens": "tokens",
    "growth": "percent",
    "share": "percent",
    "share_shift_pp": "pp",
    "leader_streak": "count",
    "lead_streak": "count",
    "rank": "count",
    "price": "usd",
    "price_ratio": "percent",
    "saving": "percent",
    "cost": "usd",
    "multiple": "multiple",
    "cagr": "percent",
}


class CannotCheck(QueryError):
    """The claim's figure cannot be recomputed; the message says why."""


@dataclass
class Sources:
    """What claims are checked against: the ledger's dataset, the catalog, and (loaded only
    when a price or cost claim needs them) the price book and the cost inputs."""

    ds: Dataset | None
    catalog: Catalog
    book: Callable[[], PriceBook] | None = None
    cost: Callable[[], CostInputs] | None = None
    _cache: dict[Any, Any] = field(default_factory=dict)

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = ("ok", make())
            except TokenstatError as exc:
                self._cache[key] = ("error", exc)
        status, value = self._cache[key]
        if status == "error":
            raise value
        return value

    def dataset(self) -> Dataset:
        if self.ds is None:
            raise CannotCheck("no ledger to recompute from (import data first)")
        return self.ds

    def price_book(self) -> PriceBook:
        if self.book is None:
            raise CannotCheck("no price book available")
        return self.cached("book", self.book)

    def cost_inputs(self) -> CostInputs:
        if self.cost is None:
            raise CannotCheck("no ledger to compute cost from")
        return self.cached("cost", self.cost)


# --- parameters -----------------------------------------------------------------------


def _day(value: Any, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return parse_day(str(value))
    except QueryError:
        raise CannotCheck(f"{what}: not a date (YYYY-MM-DD): {value!r}") from None


def _grain(params: dict[str, Any]) -> str:
    grain = str(params.get("grain") or "week")
    try:
        return check_grain(grain)
    except QueryError as exc:
        raise CannotCheck(str(exc)) from None


def _at(params: dict[str, Any]) -> date | None:
    at = params.get("at")
    return _day(at, "at") if at is not None else None


def _selection(params: dict[str, Any]) -> Selection:
    source = params.get("source") or ()
    sources = (source,) if isinstance(source, str) else tuple(source)
    return Selection(kind=str(params.get("tokens") or "total"), sources=sources)


def _required(params: dict[str, Any], name: str, metric: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise CannotCheck(f"metric {metric} needs '{name}'")
    return value


def match_key(key: str, known: Sequence[str], by: str, catalog: Catalog | None) -> str:
    """The group ``key`` names among ``known`` (exact; for models also through the catalog's
    aliases; then case-insensitively); else `CannotCheck`: unknown or ambiguous."""
    text = str(key).strip()
    if text in known:
        return text
    if by == "model" and catalog is not None:
        resolved = catalog.resolve(text)
        if resolved in known:
            return resolved
    folded = [k for k in known if k.lower() == text.lower()]
    if len(folded) == 1:
        return folded[0]
    partial = [k for k in known if text.lower() in k.lower()]
    if len(folded) > 1 or len(partial) > 1:
        shown = ", ".join(sorted(folded or partial)[:6])
        raise CannotCheck(f"ambiguous selector: {by} {text!r} could be {shown}; name one")
    close = partial or difflib.get_close_matches(text, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CannotCheck(f"unknown {by} {text!r} in the data{hint}")


# --- the metrics ----------------------------------------------------------------------


def compute(src: Sources, metric: str, params: dict[str, Any]) -> float:
    """The value of ``metric`` for a claim's parameters (see the module docstring)."""
    if metric not in METRICS:
        raise CannotCheck(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if metric in GROUP_METRICS:
        return _group_metric(src, metric, params)
    if metric == "lead_streak":
        return _lead_streak(src, params)
    if metric in ("price", "price_ratio", "saving"):
        return _price_metric(src, metric, params)
    if metric == "cost":
        return _cost(src, params)
    return _growth_over_time(src, metric, params)


def _summary(src: Sources, params: dict[str, Any], by: str, at: date | None) -> dict[str, Any]:
    grain = _grain(params)
    sel = _selection(params)
    return src.cached(
        ("summary", by, grain, at, sel),
        lambda: reports.summary(src.dataset(), by=by, grain=grain, at=at, sel=sel),
    )


def _group_metric(
    src: Sources, metric: str, params: dict[str, Any], at: date | None = None
) -> float:
    by = str(params.get("by") or "origin")
    report = _summary(src, params, by, at or _at(params))
    key = params.get("key")
    label = period_label(date.fromisoformat(report["period"]["start"]), report["period"]["grain"])
    if key is None or str(key).lower() in ALL_KEYS:
        total = report["total"]
        if metric == "tokens":
            return float(total["tokens"])
        if metric == "growth":
            if total["growth"] is None:
                raise CannotCheck(f"growth undefined in {label}: no tokens the period before")
            return float(total["growth"])
        if metric == "share":
            return 1.0
        raise CannotCheck(f"metric {metric} needs a 'key' (the group, e.g. CN)")
    groups = {g["key"]: g for g in report["groups"]}
    name = match_key(str(key), list(groups), by, src.catalog)
    group = groups[name]
    value = {
        "tokens": group["tokens"],
        "growth": group["growth"],
        "share": group["share"],
        "share_shift_pp": group["share_shift_pp"],
        "leader_streak": group["leader_streak"],
        "rank": group["rank"],
    }[metric]
    if value is None:
        why = {
            "growth": "no tokens the period before",
            "share_shift_pp": "no share the period before",
            "rank": "the group holds no rank (unknown or aggregated)",
        }.get(metric, "no value")
        raise CannotCheck(f"{metric} of {name} undefined in {label}: {why}")
    return float(value)


def _lead_streak(src: Sources, params: dict[str, Any]) -> float:
    by = str(params.get("by") or "origin")
    a = str(_required(params, "key", "lead_streak"))
    b = str(_required(params, "over", "lead_streak"))
    grain = _grain(params)
    at = _at(params)
    sel = _selection(params)
    known = [g["key"] for g in _summary(src, params, by, at)["groups"]]
    a, b = (match_key(k, known, by, src.catalog) for k in (a, b))
    report = src.cached(
        ("lead", by, grain, at, sel, a, b),
        lambda: reports.lead(src.dataset(), a, b, by=by, grain=grain, at=at, sel=sel),
    )
    return float(report["streak"])


def _as_of(params: dict[str, Any]) -> date:
    """Prices are read as of ``as_of``, else the last day of the claim's period, else today."""
    if params.get("as_of"):
        return _day(params["as_of"], "as_of")
    at = _at(params)
    if at is not None:
        return period_end(period_start(at, _grain(params)), _grain(params))
    return datetime.now(UTC).date()


def _kind(params: dict[str, Any]) -> str:
    kind = str(params.get("kind") or "input")
    if kind not in PRICE_KINDS:
        raise CannotCheck(f"price kind {kind!r}; choose one of: {', '.join(PRICE_KINDS)}")
    return kind


def stated_price(prices: dict[str, Any], model: str, kind: str, mix: tuple[float, float]) -> float:
    """A price (USD per million tokens) from a claims file's ``prices`` table."""
    entry = prices.get(model)
    if entry is None:
        raise CannotCheck(f"no stated price for {model!r} in the file's prices table")
    if isinstance(entry, int | float | str):
        entry = {"input": entry}
    if kind == "blended":
        if "input" not in entry or "output" not in entry:
            raise CannotCheck(f"a blended price of {model} needs its stated input and output")
        i, o = (parse_amount(entry[k], what=f"prices.{model}.{k}") for k in ("input", "output"))
        return (mix[0] * i + mix[1] * o) / (mix[0] + mix[1])
    if kind not in entry:
        raise CannotCheck(f"no stated {kind} price for {model!r}")
    return parse_amount(entry[kind], what=f"prices.{model}.{kind}")


def _mix(params: dict[str, Any]) -> tuple[float, float]:
    from tokenstat.prices.table import parse_mix

    try:
        return parse_mix(str(params["mix"]) if params.get("mix") else None)
    except QueryError as exc:
        raise CannotCheck(str(exc)) from None


def _price_metric(src: Sources, metric: str, params: dict[str, Any]) -> float:
    model = str(_required(params, "model", metric))
    kind = _kind(params)
    mix = _mix(params)
    given = params.get("prices") or "schedule"
    if metric != "price" and given != "schedule":
        baseline = str(_required(params, "baseline", metric))
        if isinstance(given, list | tuple):
            if len(given) != 2:
                raise CannotCheck("prices as a list are [model price, baseline price]")
            price, base = (parse_amount(v, what="prices") for v in given)
        elif given == "stated":
            table = params.get("_stated_prices") or {}
            price = stated_price(table, model, kind, mix)
            base = stated_price(table, baseline, kind, mix)
        else:
            raise CannotCheck(f"prices: {given!r}; use schedule, stated or [model, baseline]")
        if not base:
            raise CannotCheck(f"the baseline price of {baseline} is 0")
        ratio = price / base
        return ratio if metric == "price_ratio" else 1 - ratio
    from tokenstat.prices.table import price_table

    book = src.price_book()
    catalog = src.catalog
    resolved = catalog.resolve(model)
    baseline = params.get("baseline")
    if metric != "price" and not baseline:
        raise CannotCheck(f"metric {metric} needs 'baseline'")
    for name in (resolved, catalog.resolve(str(baseline)) if baseline else None):
        if name and name not in book.models():
            raise CannotCheck(f"unknown model {name!r}: not in the catalog or the price book")
    as_of = _as_of(params)
    provider = params.get("provider")
    try:
        table = src.cached(
            ("prices", resolved, baseline, as_of, provider, mix),
            lambda: price_table(
                book,
                catalog,
                models=[resolved],
                baseline=str(baseline) if baseline else None,
                provider=provider,
                as_of=as_of,
                mix=mix,
            ),
        )
    except CannotCheck:
        raise
    except QueryError as exc:
        raise CannotCheck(str(exc)) from None
    if not table["rows"]:
        raise CannotCheck(f"no price for {resolved} as of {as_of.isoformat()}")
    row = table["rows"][0]
    if metric == "price":
        value = row[f"{kind}_per_mtok"]
    else:
        value = row[f"{kind}_ratio"]
        if value is not None and metric == "saving":
            value = 1 - value
    if value is None:
        raise CannotCheck(f"no {kind} price for {resolved} (or its baseline) as of {as_of}")
    return float(value)


def _cost(src: Sources, params: dict[str, Any]) -> float:
    from tokenstat.prices.cost import Slice, cost_report

    grain = _grain(params)
    at = _at(params)
    by = str(params.get("by") or "source")
    mode = str(params.get("mode") or "auto")
    inputs = src.cost_inputs()
    if at is None:
        raise CannotCheck("metric cost needs a period: at (a day inside it)")
    start = period_start(at, grain)
    part = Slice(since=start, until=period_end(start, grain))
    try:
        report = src.cached(
            ("cost", by, grain, start, mode),
            lambda: cost_report(inputs, by=by, grain=grain, mode=mode, part=part),
        )
    except QueryError as exc:
        raise CannotCheck(str(exc)) from None
    rows = [r for r in report["rows"] if r["start"] == start.isoformat()]
    key = params.get("key")
    if key is not None and str(key).lower() not in ALL_KEYS:
        name = match_key(str(key), [r["key"] for r in rows], by, src.catalog)
        rows = [r for r in rows if r["key"] == name]
    if not rows:
        raise CannotCheck(f"no cost in {period_label(start, grain)}")
    unpriced = sum((r["unpriced_share"] or 0) * r["tokens"] for r in rows)
    total_tokens = sum(r["tokens"] for r in rows)
    if total_tokens and unpriced / total_tokens > 0.5:
        raise CannotCheck(
            f"most tokens of this selection could not be priced ({unpriced / total_tokens:.0%})"
        )
    return float(sum(r["cost"] for r in rows))


def _growth_over_time(src: Sources, metric: str, params: dict[str, Any]) -> float:
    """multiple = end / start; CAGR = (end / start)^(1/years) - 1 (DESIGN.md), from the
    ledger (``from``/``to`` days: tokens of the periods containing them) or from stated
    values (``start``/``end``, and ``years`` for a CAGR)."""
    if params.get("from") is not None or params.get("to") is not None:
        first = _day(_required(params, "from", metric), "from")
        last = _day(_required(params, "to", metric), "to")
        grain = _grain(params)
        begin, end = period_start(first, grain), period_start(last, grain)
        if end <= begin:
            raise CannotCheck("'to' must be in a later period than 'from'")
        start_value = _group_metric(src, "tokens", params, at=first)
        end_value = _group_metric(src, "tokens", params, at=last)
        years = (end - begin).days / DAYS_PER_YEAR
    else:
        start_value = parse_amount(_required(params, "start", metric), what="start")
        end_value = parse_amount(_required(params, "end", metric), what="end")
        years = parse_amount(params["years"], what="years") if params.get("years") else 0.0
    if start_value <= 0:
        raise CannotCheck("the start value is 0: no multiple")
    multiple = end_value / start_value
    if metric == "multiple":
        return multiple
    if years <= 0:
        raise CannotCheck("a CAGR needs 'years' (or 'from' and 'to' periods)")
    if multiple <= 0:
        raise CannotCheck("a CAGR needs a positive end value")
    return multiple ** (1 / years) - 1
