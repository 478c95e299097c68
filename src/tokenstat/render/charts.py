"""Charts as Vega-Lite specs (built with Altair) from the report dicts, and chart files.

One function per kind; each takes the dict a report returns (the JSON contract, as printed
by ``--json``) and returns an Altair chart whose title names what is shown and the period,
whose subtitle cites the data sources with their as-of dates, and whose axes carry units
(tokens as T/B/M/K, USD, percent). Nothing here queries the ledger.

`save` writes a chart as PNG or SVG (rendered offline by vl-convert, which bundles the
Vega engine: no browser, no network), as self-contained HTML (the vendored Vega runtime
inlined) or as the Vega-Lite JSON spec; the format comes from the file's extension.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import altair as alt

from tokenstat.errors import QueryError
from tokenstat.metrics.cube import UNRANKED
from tokenstat.periods import period_label
from tokenstat.render import numbers as fmt
from tokenstat.render import provenance

CHART_KINDS = ("trend", "share", "top", "prices", "whatif", "forecast")
FORMATS = ("png", "svg", "html", "json")

WIDTH = 720
HEIGHT = 340
OTHERS = "others"

# Vega expression: an axis value in tokens as 12T, 500B, 20M, 3K.
TOKENS_EXPR = (
    "abs(datum.value) >= 1e12 ? format(datum.value / 1e12, '.3~r') + 'T' : "
    "abs(datum.value) >= 1e9 ? format(datum.value / 1e9, '.3~r') + 'B' : "
    "abs(datum.value) >= 1e6 ? format(datum.value / 1e6, '.3~r') + 'M' : "
    "abs(datum.value) >= 1e3 ? format(datum.value / 1e3, '.3~r') + 'K' : "
    "format(datum.value, '~r')"
)
TOKENS_UNITS = "T = trillion, B = billion, M = million"

# Countries keep one colour in every chart; other keys take the palette in order.
PALETTE = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#b279a2",
    "#eeca3b",
    "#72b7b2",
    "#9d755d",
    "#ff9da6",
    "#439894",
    "#d67195",
    "#83bcb6",
    "#f2cf5b",
)
ORIGIN_COLOURS = {
    "CN": "#e45756",
    "US": "#4c78a8",
    "FR": "#b279a2",
    "DE": "#f58518",
    "GB": "#72b7b2",
    "CA": "#9d755d",
    "IL": "#ff9da6",
    "JP": "#eeca3b",
    "IN": "#54a24b",
    "KR": "#439894",
    "AE": "#d67195",
    "TH": "#83bcb6",
    "SG": "#f2cf5b",
}
GREY = "#9e9e9e"
LIGHT_GREY = "#cfcfcf"


# ---- shared pieces ------------------------------------------------------------------------


def _grain_word(grain: str) -> str:
    return {"day": "day", "week": "week", "month": "month"}.get(grain, grain)


def _measure_word(report: dict[str, Any]) -> str:
    measure = report.get("measure", "total")
    return "Tokens" if measure == "total" else f"{measure.replace('_', ' ').capitalize()} tokens"


def _title(text: str, subtitle: Sequence[str], width: int = 100) -> alt.TitleParams:
    """Title and subtitle lines; long lines wrap, so a narrow chart does not cut them."""
    lines = [part for s in subtitle if s for part in textwrap.wrap(s, width)]
    return alt.TitleParams(
        text=text,
        subtitle=lines,
        anchor="start",
        fontSize=16,
        subtitleFontSize=11,
        subtitleColor="#555555",
        offset=10,
    )


def _tokens_axis(title: str, **kwargs: Any) -> alt.Axis:
    return alt.Axis(title=title, labelExpr=TOKENS_EXPR, **kwargs)


def _colours(keys: Sequence[str], by: str) -> alt.Scale:
    """A colour per key: fixed colours for countries, the palette in order otherwise,
    greys for what holds no rank (unknown, other, the folded remainder)."""
    colours: list[str] = []
    free = iter(c for c in PALETTE if by != "origin" or c not in ORIGIN_COLOURS.values())
    spare = iter(PALETTE * 4)
    for key in keys:
        if key in UNRANKED or key.startswith(OTHERS):
            colours.append(LIGHT_GREY if key.startswith(OTHERS) else GREY)
        elif by == "origin" and key in ORIGIN_COLOURS:
            colours.append(ORIGIN_COLOURS[key])
        else:
            colours.append(next(free, None) or next(spare))
    return alt.Scale(domain=list(keys), range=colours)


def _configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font="Liberation Sans, DejaVu Sans, Helvetica, Arial, sans-serif")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12, titleColor="#333333", grid=True)
        .configure_legend(labelFontSize=11, titleFontSize=12, labelLimit=220)
    )


def _utc_time_axis(grain: str, starts: Sequence[str]) -> alt.X:
    """Period starts on a UTC time axis, ticks on period starts (ISO weeks begin on
    Monday, which Vega's own weekly ticks do not)."""
    formats = {"day": "%b %d", "week": "%b %d", "month": "%b %Y", "year": "%Y"}
    if grain in ("day", "week") and len(starts) > 1:
        span = date.fromisoformat(starts[-1]) - date.fromisoformat(starts[0])
        if span.days > 300:
            formats[grain] = "%b %d '%y"
    step = max(1, -(-len(starts) // 12))
    ticks = [_utc_datetime(s) for s in starts[::step]]
    return alt.X(
        "start:T",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(
            title=f"{_grain_word(grain).capitalize()} starting (UTC)",
            format=formats.get(grain, "%b %Y"),
            values=ticks,
            labelAngle=0,
            labelOverlap=True,
        ),
    )


def _utc_datetime(day: str) -> alt.DateTime:
    # a DateTime, not epoch milliseconds: Vega's CSP-safe expression interpreter (used by
    # the HTML pages) cannot evaluate datetime(ms)
    d = date.fromisoformat(day)
    return alt.DateTime(year=d.year, month=d.month, date=d.day, utc=True)


def _largest(rows: list[dict[str, Any]], n: int) -> list[str]:
    """The ``n`` keys with the most tokens over all rows, largest first."""
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["key"]] = totals.get(r["key"], 0) + (r["tokens"] or 0)
    return sorted(totals, key=lambda k: (-totals[k], k))[:n]


def _fold_groups(
    rows: list[dict[str, Any]], max_groups: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """Keep the ``max_groups`` largest keys (by tokens over all rows); sum the rest per
    period into one 'others (N)' key. Returns (keys, largest first; rows)."""
    keys = _largest(rows, len(rows))
    kept, rest = keys[:max_groups], set(keys[max_groups:])
    if len(rest) <= 1:
        return keys, rows
    label = f"{OTHERS} ({len(rest)})"
    folded: dict[str, dict[str, Any]] = {}
    out = []
    for r in rows:
        if r["key"] in rest:
            cell = folded.setdefault(r["start"], {"start": r["start"], "key": label, "tokens": 0})
            cell["tokens"] += r["tokens"] or 0
            cell["share"] = (cell.get("share") or 0) + (r.get("share") or 0)
        else:
            out.append(r)
    out.extend(folded.values())
    return [*kept, label], out


def _span(starts: Sequence[str], grain: str) -> str:
    if not starts:
        return ""
    first, last = min(starts), max(starts)
    a = period_label(date.fromisoformat(first), grain)
    b = period_label(date.fromisoformat(last), grain)
    return a if a == b else f"{a} to {b}"


def default_pair(trend: dict[str, Any]) -> tuple[str, str] | None:
    """The two largest ranked groups in the last period of a trend report (for the
    crossover mark), or None when there are fewer than two."""
    rows = trend.get("rows") or []
    if not rows:
        return None
    last = max(r["start"] for r in rows)
    ranked = sorted(
        (r for r in rows if r["start"] == last and r["key"] not in UNRANKED and r["tokens"]),
        key=lambda r: (-r["tokens"], r["key"]),
    )
    if len(ranked) < 2:
        return None
    return ranked[0]["key"], ranked[1]["key"]


# ---- kinds ----------------------------------------------------------------------------------


def trend_chart(
    trend: dict[str, Any],
    lead: dict[str, Any] | None = None,
    *,
    max_groups: int = 8,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.TopLevelMixin:
    """Tokens per period by group as lines, from a ``trend`` report; with a ``lead``
    report of two of its groups, the crossover period is marked and labelled."""
    rows = trend.get("rows") or []
    if not rows:
        raise QueryError("nothing to chart: the trend report has no rows")
    grain, by = trend["grain"], trend["by"]
    starts = sorted({r["start"] for r in rows})
    # lines of the largest groups only: a summed remainder would dwarf them
    keys = _largest(rows, max_groups)
    hidden = len({r["key"] for r in rows}) - len(keys)
    rows = [r for r in rows if r["key"] in set(keys)]
    values = [
        {
            "start": r["start"],
            "period": period_label(date.fromisoformat(r["start"]), grain),
            "key": r["key"],
            "tokens": r["tokens"],
            "tokens_label": fmt.tokens(r["tokens"]),
            "growth_label": fmt.pct(r.get("growth"), 1, signed=True),
            "share_label": fmt.pct(r.get("share"), 1),
        }
        for r in rows
    ]
    lines = (
        alt.Chart(alt.Data(values=values))
        .mark_line(
            strokeWidth=2.5,
            point=alt.OverlayMarkDef(size=28, filled=True) if len(starts) <= 26 else False,
        )
        .encode(
            x=_utc_time_axis(grain, starts),
            y=alt.Y(
                "tokens:Q",
                axis=_tokens_axis(
                    f"{_measure_word(trend)} per {_grain_word(grain)} ({TOKENS_UNITS})"
                ),
            ),
            color=alt.Color(
                "key:N", scale=_colours(keys, by), sort=keys, legend=alt.Legend(title=by)
            ),
            tooltip=[
                alt.Tooltip("period:N", title=grain),
                alt.Tooltip("key:N", title=by),
                alt.Tooltip("tokens_label:N", title="tokens"),
                alt.Tooltip("growth_label:N", title="growth"),
                alt.Tooltip("share_label:N", title="share"),
            ],
        )
    )
    layers: list[alt.Chart] = [lines]
    subtitle = [_span(starts, grain)]
    if hidden:
        subtitle[0] += f" · the {len(keys)} largest of {len(keys) + hidden} {by} groups"
    cross = _crossover(lead, starts)
    if cross is not None:
        when, text = cross
        subtitle[0] += f" · {text}"
        mark = alt.Chart(alt.Data(values=[{"start": when, "label": text}]))
        layers.append(
            mark.mark_rule(color="#333333", strokeDash=[4, 3], strokeWidth=1.5).encode(x="start:T")
        )
        layers.append(
            mark.mark_text(
                align="right", baseline="top", dx=-6, dy=4, fontSize=11, fontWeight="bold"
            ).encode(x="start:T", y=alt.value(0), text="label:N")
        )
    chart = alt.layer(*layers).properties(
        width=width,
        height=height,
        title=_title(
            f"{_measure_word(trend)} per {_grain_word(grain)} by {by}",
            subtitle + provenance.lines(trend),
        ),
    )
    return _configure(chart)


def _crossover(lead: dict[str, Any] | None, starts: Sequence[str]) -> tuple[str, str] | None:
    """(period start, label) of the latest crossover of the lead report inside the
    charted periods."""
    if not lead or not starts:
        return None
    grain = lead.get("grain", "week")
    a, b = lead["a"], lead["b"]
    for when in (lead.get("latest_crossover"), lead.get("first_crossover")):
        if when and starts[0] <= when <= starts[-1]:
            label = period_label(date.fromisoformat(when), grain)
            return when, f"{a} overtakes {b} in {label}"
    return None


def share_chart(
    trend: dict[str, Any], *, max_groups: int = 8, width: int = WIDTH, height: int = HEIGHT
) -> alt.TopLevelMixin:
    """Share of tokens by group over time as a 100% stacked area, from a ``trend`` report.

    Shares are the report's own (denominator: all rows of the period, unknown included);
    groups beyond ``max_groups`` are summed into 'others (N)'."""
    rows = trend.get("rows") or []
    if not rows:
        raise QueryError("nothing to chart: the trend report has no rows")
    grain, by = trend["grain"], trend["by"]
    keys, rows = _fold_groups(rows, max_groups)
    order = {k: i for i, k in enumerate(keys)}
    values = [
        {
            "start": r["start"],
            "period": period_label(date.fromisoformat(r["start"]), grain),
            "key": r["key"],
            "share": r.get("share") or 0.0,
            "order": order[r["key"]],
            "tokens_label": fmt.tokens(r["tokens"]),
            "share_label": fmt.pct(r.get("share"), 1),
        }
        for r in rows
    ]
    starts = sorted({r["start"] for r in rows})
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_area(opacity=0.9, interpolate="monotone")
        .encode(
            x=_utc_time_axis(grain, starts),
            y=alt.Y(
                "share:Q",
                stack="normalize",
                axis=alt.Axis(title=f"Share of {_measure_word(trend).lower()} (%)", format="%"),
            ),
            color=alt.Color(
                "key:N", scale=_colours(keys, by), sort=keys, legend=alt.Legend(title=by)
            ),
            order=alt.Order("order:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("period:N", title=grain),
                alt.Tooltip("key:N", title=by),
                alt.Tooltip("share_label:N", title="share"),
                alt.Tooltip("tokens_label:N", title="tokens"),
            ],
        )
        .properties(
            width=width,
            height=height,
            title=_title(
                f"Share of {_measure_word(trend).lower()} by {by} per {_grain_word(grain)}",
                [_span(starts, grain), *provenance.lines(trend)],
            ),
        )
    )
    return _configure(chart)


def top_chart(top: dict[str, Any], *, width: int = WIDTH) -> alt.TopLevelMixin:
    """The ``top`` report as horizontal bars, largest first, labelled with tokens and
    growth; coloured by origin when the groups are models."""
    rows = top.get("rows") or []
    if not rows:
        raise QueryError("nothing to chart: the top report has no rows")
    by, period = top["by"], top["period"]
    by_model = by == "model"
    values = [
        {
            "rank": r["rank"],
            "key": r["key"],
            "origin": r.get("origin") or "unknown",
            "author": r.get("author") or "",
            "tokens": r["tokens"],
            "tokens_label": fmt.tokens(r["tokens"]),
            "growth_label": fmt.pct(r.get("growth"), 1, signed=True),
            "share_label": fmt.pct(r.get("share"), 1),
            "label": f"{fmt.tokens(r['tokens'])}  {_growth_text(r.get('growth'))}",
        }
        for r in rows
    ]
    top_value = max(r["tokens"] or 0 for r in rows) or 1
    y = alt.Y(
        "key:N",
        sort=[v["key"] for v in sorted(values, key=lambda v: (v["rank"], v["key"]))],
        axis=alt.Axis(title=None, labelLimit=300, labelFontSize=11),
    )
    x = alt.X(
        "tokens:Q",
        scale=alt.Scale(domain=[0, top_value * 1.3], nice=False),
        axis=_tokens_axis(f"{_measure_word(top)} ({TOKENS_UNITS})", tickCount=6),
    )
    tooltip = [
        alt.Tooltip("rank:Q", title="rank"),
        alt.Tooltip("key:N", title=by),
        alt.Tooltip("tokens_label:N", title="tokens"),
        alt.Tooltip("growth_label:N", title="growth"),
        alt.Tooltip("share_label:N", title="share"),
    ]
    base = alt.Chart()
    if by_model:
        origins = sorted({v["origin"] for v in values}, key=lambda o: (o in UNRANKED, o))
        colour = alt.Color(
            "origin:N", scale=_colours(origins, "origin"), legend=alt.Legend(title="origin")
        )
        tooltip[2:2] = [alt.Tooltip("author:N"), alt.Tooltip("origin:N")]
    else:
        colour = alt.value(PALETTE[0])
    bars = base.mark_bar(height={"band": 0.75}).encode(y=y, x=x, color=colour, tooltip=tooltip)
    labels = base.mark_text(align="left", baseline="middle", dx=4, fontSize=11).encode(
        y=y, x=x, text="label:N"
    )
    start = date.fromisoformat(period["start"])
    label = period_label(start, period["grain"])
    chart = alt.layer(bars, labels, data=alt.Data(values=values)).properties(
        width=width,
        height=max(120, 26 * len(values)),
        title=_title(
            f"Top {len(values)} {by}s by {_measure_word(top).lower()}, {label}",
            [
                f"{period['start']} to {period['end']} · label: tokens and growth over the "
                f"previous {_grain_word(period['grain'])} · top {len(values)} hold "
                f"{fmt.pct(top.get('top_k_share'), 1)} of tokens",
                *provenance.lines(top),
            ],
        ),
    )
    return _configure(chart)


def _growth_text(growth: float | None) -> str:
    return "new" if growth is None else fmt.pct(growth, 1, signed=True)


def _usd_per_mtok(value: float | None) -> str:
    from tokenstat.render.price_tables import price

    return price(value)


def _ratio_text(value: float | None) -> str:
    from tokenstat.render.price_tables import ratio

    return ratio(value)


def prices_chart(prices: dict[str, Any], *, width: int = WIDTH) -> alt.TopLevelMixin:
    """Input and output price per million tokens of each model, log scale, from a
    ``prices`` report; with a baseline, its prices are marked and each model is labelled
    with its ratios to them."""
    rows = [
        r for r in prices.get("rows") or [] if r.get("input_per_mtok") or r.get("output_per_mtok")
    ]
    if not rows:
        raise QueryError("nothing to chart: no model in the price table has a price")
    baseline = prices.get("baseline")
    base = prices.get("baseline_prices") or {}
    order = [
        r["model"]
        for r in sorted(rows, key=lambda r: (r.get("blended_per_mtok") or 0.0, r["model"]))
    ]
    points = []
    labels = []
    for r in rows:
        for kind in ("input", "output"):
            value = r.get(f"{kind}_per_mtok")
            if value:
                points.append(
                    {
                        "model": r["model"],
                        "kind": kind,
                        "price": value,
                        "price_label": _usd_per_mtok(value),
                        "ratio_label": _ratio_text(r.get(f"{kind}_ratio")),
                        "origin": r.get("origin") or "unknown",
                    }
                )
        top = max(v for v in (r.get("input_per_mtok"), r.get("output_per_mtok")) if v)
        price_in = _usd_per_mtok(r.get("input_per_mtok"))
        price_out = _usd_per_mtok(r.get("output_per_mtok"))
        text = f"{price_in} in · {price_out} out"
        if baseline and r["model"] != baseline:
            text += (
                f" · {_ratio_text(r.get('input_ratio'))} / {_ratio_text(r.get('output_ratio'))}"
                " of baseline"
            )
        labels.append({"model": r["model"], "price": top, "label": text})
    every = [p["price"] for p in points] + [
        v for v in (base.get("input_per_mtok"), base.get("output_per_mtok")) if v
    ]
    lo, hi = min(every), max(every)
    kinds = alt.Scale(domain=["input", "output"], range=["#4c78a8", "#f58518"])
    x = alt.X(
        "price:Q",
        scale=alt.Scale(type="log", domain=[lo / 1.6, hi * 1.6], nice=False),
        axis=alt.Axis(title="USD per million tokens (log scale)", format="$~g", tickCount=8),
    )
    y = alt.Y("model:N", sort=order, axis=alt.Axis(title=None, labelLimit=300))
    links = (
        alt.Chart(alt.Data(values=points))
        .mark_line(color="#bbbbbb", strokeWidth=2)
        .encode(x=x, y=y, detail="model:N")
    )
    legend = alt.Legend(title="price of", orient="top", direction="horizontal")
    dots = (
        alt.Chart(alt.Data(values=points))
        .mark_point(filled=True, size=90, opacity=1)
        .encode(
            x=x,
            y=y,
            color=alt.Color("kind:N", scale=kinds, legend=legend),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("kind:N", title="tokens"),
                alt.Tooltip("price_label:N", title="USD / M tokens"),
                alt.Tooltip("ratio_label:N", title="of baseline"),
            ],
        )
    )
    # the labels stand in a column of their own, clear of the dots and baseline lines
    text = (
        alt.Chart(alt.Data(values=labels))
        .mark_text(align="left", baseline="middle", fontSize=11, color="#333333")
        .encode(x=alt.value(0), y=alt.Y("model:N", sort=order, axis=None), text="label:N")
        .properties(width=300, height=max(120, 28 * len(order)))
    )
    layers: list[alt.Chart] = [links, dots]
    subtitle = [f"Prices as of {prices.get('as_of')}"]
    if baseline and base:
        rules = [
            {
                "kind": kind,
                "price": base[f"{kind}_per_mtok"],
                "label": f"{baseline} {kind} {_usd_per_mtok(base[f'{kind}_per_mtok'])}",
            }
            for kind in ("input", "output")
            if base.get(f"{kind}_per_mtok")
        ]
        layers.append(
            alt.Chart(alt.Data(values=rules))
            .mark_rule(strokeDash=[5, 4], strokeWidth=1.5)
            .encode(x=x, color=alt.Color("kind:N", scale=kinds, legend=None))
        )
        subtitle[0] += (
            f" · dashed lines: the prices of {baseline} · percentages: input / output "
            "price as a share of the baseline's"
        )
    source = prices.get("prices") or {}
    cited = f"Prices: genai-prices {source.get('genai_prices') or ''}".rstrip()
    if source.get("snapshots"):
        cited += ", OpenRouter snapshots"
    plot = alt.layer(*layers).properties(width=width - 300, height=max(120, 28 * len(order)))
    chart = (
        alt.hconcat(plot, text, spacing=12)
        .resolve_scale(y="shared")
        .properties(
            title=_title(
                "Price per million tokens, input and output"
                + (f", against {baseline}" if baseline else ""),
                [*subtitle, cited],
            )
        )
    )
    return _configure(chart)


def whatif_chart(whatif: dict[str, Any], *, width: int = WIDTH) -> alt.TopLevelMixin:
    """The actual cost of a workload against its cost on each candidate model (USD), from
    a ``whatif`` report; labels give the cost and the saving."""
    candidates = [r for r in whatif.get("rows") or [] if r.get("cost") is not None]
    if not candidates:
        raise QueryError("nothing to chart: no candidate could be priced")
    actual_label = f"actual ({whatif.get('mode', 'auto')})"
    values = [
        {
            "name": actual_label,
            "cost": whatif.get("actual_cost") or 0.0,
            "group": "actual",
            "label": _usd(whatif.get("actual_cost")),
        }
    ]
    for r in candidates:
        saving = r.get("saving_pct")
        group = "cheaper" if (r.get("saving") or 0) > 0 else "dearer"
        change = "" if saving is None else f"  ({fmt.pct(-saving, 1, signed=True)})"
        values.append(
            {
                "name": r["model"],
                "cost": r["cost"],
                "group": group,
                "label": _usd(r["cost"]) + change,
            }
        )
    order = [v["name"] for v in values]
    top_value = max(v["cost"] for v in values) or 1.0
    x = alt.X(
        "cost:Q",
        scale=alt.Scale(domain=[0, top_value * 1.35], nice=False),
        axis=alt.Axis(title="Cost of the workload (USD)", format="$,.4~g", tickCount=6),
    )
    y = alt.Y("name:N", sort=order, axis=alt.Axis(title=None, labelLimit=300))
    colours = alt.Scale(
        domain=["actual", "cheaper", "dearer"], range=["#555555", "#54a24b", "#e45756"]
    )
    bars = (
        alt.Chart()
        .mark_bar(height={"band": 0.7})
        .encode(
            x=x,
            y=y,
            color=alt.Color("group:N", scale=colours, legend=alt.Legend(title=None)),
            tooltip=[alt.Tooltip("name:N", title="model"), alt.Tooltip("label:N", title="cost")],
        )
    )
    labels = alt.Chart().mark_text(align="left", dx=4, fontSize=11).encode(x=x, y=y, text="label:N")
    work = whatif.get("workload") or {}
    span = f"{work.get('first_day')} to {work.get('last_day')}"
    chart = alt.layer(bars, labels, data=alt.Data(values=values)).properties(
        width=width,
        height=max(100, 28 * len(values)),
        title=_title(
            "What the same workload would cost on other models",
            [
                f"{work.get('requests', 0):,} requests, {fmt.tokens(work.get('tokens'))} tokens, "
                f"{span} · same token counts priced at each model's rates · label: cost "
                "(change against the actual cost)",
                str(whatif.get("caveat") or ""),
                *provenance.lines(whatif),
            ],
        ),
    )
    return _configure(chart)


def _usd(value: float | None) -> str:
    from tokenstat.render.price_tables import cost

    return cost(value)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def forecast_chart(
    forecast: dict[str, Any], *, width: int = WIDTH, height: int = HEIGHT
) -> alt.TopLevelMixin:
    """History and projection with 80% and 95% interval bands, from a ``forecast``
    report."""
    points = forecast.get("points") or []
    history = forecast.get("history") or []
    if not points or not history:
        raise QueryError("nothing to chart: the forecast has no projected points")
    grain = forecast.get("grain", "week")
    usd = forecast.get("metric") == "cost"
    keys = list(dict.fromkeys([p["key"] for p in points]))
    past = [
        {
            "start": _iso(h["start"]),
            "key": h["key"],
            "value": h["value"],
            "part": "history",
            "value_label": _usd(h["value"]) if usd else fmt.tokens(h["value"]),
        }
        for h in history
        if h["key"] in keys and h["value"] is not None
    ]
    # the projection starts from the last actual value, so the lines join
    last = {}
    for h in past:
        if h["key"] not in last or h["start"] > last[h["key"]]["start"]:
            last[h["key"]] = h
    ahead = [
        {
            "start": _iso(p["start"]),
            "key": p["key"],
            "value": p["value"],
            "lo80": p["lo80"],
            "hi80": p["hi80"],
            "lo95": p["lo95"],
            "hi95": p["hi95"],
            "part": "projection",
            "value_label": _usd(p["value"]) if usd else fmt.tokens(p["value"]),
        }
        for p in points
    ]
    joins = [
        {
            **h,
            "part": "projection",
            "lo80": h["value"],
            "hi80": h["value"],
            "lo95": h["value"],
            "hi95": h["value"],
        }
        for h in last.values()
    ]
    ahead = joins + ahead
    starts = sorted({v["start"] for v in past + ahead})
    scale = _colours(keys, forecast.get("by") or "origin")
    unit = "USD" if usd else "tokens"
    y_title = f"{'Cost (USD)' if usd else _measure_word(forecast)} per {_grain_word(grain)}"
    y_axis = (
        alt.Axis(title=y_title, format="$,.3~s")
        if usd
        else _tokens_axis(f"{y_title} ({TOKENS_UNITS})")
    )
    x = _utc_time_axis(grain, starts)
    colour = alt.Color(
        "key:N",
        scale=scale,
        legend=alt.Legend(title=forecast.get("by") or "series") if len(keys) > 1 else None,
    )
    band95 = (
        alt.Chart(alt.Data(values=ahead))
        .mark_area(opacity=0.15)
        .encode(
            x=x,
            y=alt.Y("lo95:Q", axis=y_axis),
            y2="hi95:Q",
            color=colour,
        )
    )
    band80 = (
        alt.Chart(alt.Data(values=ahead))
        .mark_area(opacity=0.3)
        .encode(
            x=x,
            y=alt.Y("lo80:Q", axis=y_axis),
            y2="hi80:Q",
            color=colour,
        )
    )
    tooltip = [
        alt.Tooltip("start:T", title=grain, format="%Y-%m-%d"),
        alt.Tooltip("key:N"),
        alt.Tooltip("value_label:N", title=unit),
        alt.Tooltip("part:N"),
    ]
    hist_line = (
        alt.Chart(alt.Data(values=past))
        .mark_line(strokeWidth=2.5)
        .encode(
            x=x,
            y=alt.Y("value:Q", axis=y_axis),
            color=colour,
            tooltip=tooltip,
        )
    )
    proj_line = (
        alt.Chart(alt.Data(values=ahead))
        .mark_line(strokeWidth=2.5, strokeDash=[6, 4])
        .encode(
            x=x,
            y=alt.Y("value:Q", axis=y_axis),
            color=colour,
            tooltip=tooltip,
        )
    )
    base = forecast.get("base") or {}
    rule = (
        alt.Chart(alt.Data(values=[{"start": _iso(base.get("start")), "label": "last actual"}]))
        .mark_rule(color="#666666", strokeDash=[2, 3])
        .encode(x="start:T")
    )
    methods = sorted({p.get("method") for p in points if p.get("method")})
    horizon = forecast.get("horizon") or {}
    end = horizon.get("start")
    end_label = period_label(date.fromisoformat(_iso(end)), grain) if end else "?"
    subtitle = [
        f"History {_span([h['start'] for h in past], grain)}; projection to {end_label}"
        f" (dashed, method: {', '.join(methods)}); bands: 80% and 95% prediction intervals",
        *provenance.lines(forecast),
    ]
    chart = alt.layer(band95, band80, hist_line, proj_line, rule).properties(
        width=width,
        height=height,
        title=_title(f"Forecast: {y_title[0].lower()}{y_title[1:]}", subtitle),
    )
    return _configure(chart)


# ---- files --------------------------------------------------------------------------------


def chart_format(path: Path | str) -> str:
    """The file format named by a path's extension (png, svg, html or json)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "htm":
        suffix = "html"
    if suffix not in FORMATS:
        raise QueryError(
            f"cannot tell the chart format from {Path(path).name!r}; "
            f"use one of the extensions: {', '.join('.' + f for f in FORMATS)}"
        )
    return suffix


def to_spec(chart: alt.TopLevelMixin, *, validate: bool = False) -> dict[str, Any]:
    """The Vega-Lite spec (a plain, JSON-ready dict). Validation against the schema costs
    a few hundred milliseconds; the tests do it for every kind."""
    return chart.to_dict(validate=validate)


def _vl_version() -> str:
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    import vl_convert as vlc

    versions = vlc.get_vegalite_versions()
    return major_minor if major_minor in versions else versions[-1]


def render_png(spec: dict[str, Any], *, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec, vl_version=_vl_version(), scale=scale)


def render_svg(spec: dict[str, Any]) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec, vl_version=_vl_version())


def save(chart: alt.TopLevelMixin | dict[str, Any], path: Path | str) -> Path:
    """Write a chart to ``path`` in the format its extension names; returns the path."""
    target = Path(path)
    kind = chart_format(target)
    spec = chart if isinstance(chart, dict) else to_spec(chart)
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "png":
        target.write_bytes(render_png(spec))
    elif kind == "svg":
        target.write_text(render_svg(spec), encoding="utf-8")
    elif kind == "json":
        target.write_text(json.dumps(spec, indent=2, ensure_ascii=False), encoding="utf-8")
    else:
        from tokenstat.render.report_html import chart_page

        target.write_text(chart_page(spec), encoding="utf-8")
    return target


def section_spec(name: str, section: dict[str, Any]) -> dict[str, Any] | None:
    """The chart of an optional report section (prices, what-if, forecast) as a spec, or
    None when the section has nothing to draw."""
    makers = {"prices": prices_chart, "whatif": whatif_chart, "forecast": forecast_chart}
    if name not in makers or not section.get("available", True):
        return None
    try:
        return to_spec(makers[name](section))
    except QueryError:
        return None
