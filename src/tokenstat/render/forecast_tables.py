"""Rich tables for the forecast and verify reports, rendered from their dicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from rich.console import Group
from rich.text import Text

from tokenstat.periods import period_label
from tokenstat.render import numbers as fmt
from tokenstat.render.fit import Column, FitTable
from tokenstat.render.tables import footer

MAX_BACKTEST_SERIES = 4
MAX_POINT_ROWS = 14


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _label(value: Any, grain: str) -> str:
    return period_label(_day(value), grain) if value else "-"


def _amount(report: dict[str, Any]) -> Callable[[float | None], str]:
    return fmt.usd if report.get("metric") == "cost" else fmt.tokens


def _range(lo: float | None, hi: float | None, amount: Callable[[float | None], str]) -> str:
    return f"{amount(lo)} to {amount(hi)}"


def _what(report: dict[str, Any]) -> str:
    measure = report.get("measure", "total")
    what = "cost (USD)" if report["metric"] == "cost" else "tokens"
    if report["metric"] == "tokens" and measure != "total":
        what = f"{measure} tokens"
    return what + (f" by {report['by']}" if report["by"] else "")


def milestone_cells(row: dict[str, Any], grain: str, horizon_end: Any) -> tuple[str, str, str]:
    """(expected, 80% range, 95% range) as period labels, e.g. ('2026-W17', '2026-W17 to
    2026-W18', '2026-W16 to 2026-W19'); a bound past the horizon reads 'after <horizon>'."""
    status = row["status"]
    if status == "reached":
        return f"reached {_label(row['start'], grain)}", "", ""
    if status == "no forecast":
        return "no forecast", "", ""
    end = _label(horizon_end, grain)

    def span(level: int) -> str:
        lo, hi = row[f"earliest{level}"], row[f"latest{level}"]
        if lo is None:
            return f"after {end}"
        return f"{_label(lo, grain)} to {_label(hi, grain) if hi else 'after ' + end}"

    expected = _label(row["start"], grain) if status == "expected" else f"after {end}"
    return expected, span(80), span(95)


def multiple(value: float | None) -> str:
    """9.56 -> '9.56x'; 4.75e6 -> '4.75Mx'."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{short(value)}x"
    return f"{_sig3(value)}x"


def _sig3(value: float) -> str:
    return f"{value:#.3g}".rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"


def short(value: float | None) -> str:
    """Three significant digits: 372.81e9 -> '373B', 1540.01e15 -> '1,540Q'."""
    if value is None:
        return "-"
    for size, unit in ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{_sig3(value / size)}{unit}"
    return _sig3(value)


def rate(value: float | None) -> str:
    """A growth rate, with fewer decimals when it is large: '+8.6%', '+863%', '+489,260%'."""
    if value is None:
        return "-"
    if abs(value) >= 1:
        return f"{value * 100:+,.0f}%"
    return fmt.pct(value, 1, signed=True)


def forecast_table(report: dict[str, Any]) -> Group:
    grain = report["grain"]
    amount = _amount(report)
    base = _label(report["base"]["start"], grain)
    target = _label(report["horizon"]["start"], grain)
    periods = report["horizon"]["periods"]
    parts: list[Any] = []
    table = FitTable(
        [
            Column("key", "left"),
            Column("method", "left", priority=2),
            Column(base, priority=4),
            Column(target),
            Column("80% interval", priority=3),
            Column("multiple", priority=5),
            Column("CAGR", priority=1),
        ],
        title=f"Forecast of {_what(report)} per {grain}, {base} to {target} "
        f"({periods} {grain}{'s' if periods != 1 else ''})",
    )
    multiples = {r["key"]: r for r in report["multiples"]}
    for s in report["series"]:
        mult = multiples.get(s["key"])
        table.add_row(
            s["key"],
            s["method"] or "-",
            amount(s["last_value"]),
            amount(mult["value"]) if mult else "-",
            _interval(report, mult["lo80"], mult["hi80"]) if mult else "-",
            multiple(mult["multiple"]) if mult else "-",
            rate(mult["cagr"]) if mult else "-",
        )
    parts.append(table)
    if report["milestones"]:
        parts.append(_milestone_table(report))
    if len(report["series"]) == 1 and report["points"]:
        parts.append(_points_table(report))
    parts.append(_backtest_table(report))
    parts.append(_notes(report))
    parts.append(footer(report))
    return Group(*parts)


def _interval(report: dict[str, Any], lo: float, hi: float) -> str:
    if report.get("metric") == "cost":
        return f"${short(lo)}-${short(hi)}"
    return f"{short(lo)}-{short(hi)}"


def _max_h(report: dict[str, Any]) -> int:
    return max((b["horizon"] for b in report["backtest"]), default=1)


def _milestone_table(report: dict[str, Any]) -> FitTable:
    grain = report["grain"]
    threshold = _amount(report)(report["threshold"])
    table = FitTable(
        [
            Column("key", "left"),
            Column("expected", "left"),
            Column("80% range", "left", priority=2),
            Column("95% range", "left", priority=1),
        ],
        title=f"When each first reaches {threshold} per {grain} (median; 80% and 95% ranges)",
    )
    for row in report["milestones"]:
        table.add_row(row["key"], *milestone_cells(row, grain, report["horizon"]["start"]))
    return table


def _points_table(report: dict[str, Any]) -> FitTable:
    grain = report["grain"]
    amount = _amount(report)
    points = report["points"]
    if len(points) > MAX_POINT_ROWS:
        step = (len(points) - 1) / (MAX_POINT_ROWS - 1)
        points = [points[round(i * step)] for i in range(MAX_POINT_ROWS)]
    table = FitTable(
        [
            Column(grain, "left"),
            Column("median"),
            Column("80% interval", priority=2),
            Column("95% interval", priority=1),
        ],
        title=f"Forecast of {points[0]['key']} ({points[0]['method']})",
    )
    for p in points:
        table.add_row(
            _label(p["start"], grain),
            amount(p["value"]),
            _range(p["lo80"], p["hi80"], amount),
            _range(p["lo95"], p["hi95"], amount),
        )
    return table


def _backtest_table(report: dict[str, Any]) -> Any:
    rows = report["backtest"]
    if not rows:
        return Text("No backtest: the history is too short.", style="yellow")
    keys = [s["key"] for s in report["series"] if s["method"]][:MAX_BACKTEST_SERIES]
    horizons = sorted({b["horizon"] for b in rows if b["key"] in keys})
    shown_h = sorted({horizons[0], horizons[len(horizons) // 2], horizons[-1]})
    chosen = {s["key"]: s["method"] for s in report["series"]}
    table = FitTable(
        [
            Column("key", "left"),
            Column("method", "left"),
            Column("mean"),
            *(Column(f"h={h}", priority=3 + i) for i, h in enumerate(shown_h)),
            Column("80% covered", priority=2),
            Column("scored", priority=1),
        ],
        title="Backtest: mean absolute % error of past forecasts (* = used)",
    )
    for key in keys:
        by_method: dict[str, dict[int, dict[str, Any]]] = {}
        for b in rows:
            if b["key"] == key:
                by_method.setdefault(b["method"], {})[b["horizon"]] = b
        for method, cells in by_method.items():
            mean = sum(c["mape"] for c in cells.values()) / len(cells)
            cover = sum(c["coverage80"] * c["n"] for c in cells.values()) / sum(
                c["n"] for c in cells.values()
            )
            mark = "*" if chosen.get(key) == method else ""
            table.add_row(
                key,
                f"{method}{mark}",
                fmt.pct(mean, 1),
                *(fmt.pct(cells[h]["mape"], 1) if h in cells else "-" for h in shown_h),
                fmt.pct(cover, 0),
                str(min(c["n"] for c in cells.values())),
            )
    more = len({b["key"] for b in rows}) - len(keys)
    if more > 0:
        return Group(table, Text(f"Backtests of {more} more series: --json.", style="dim"))
    return table


def _notes(report: dict[str, Any]) -> Text:
    grain = report["grain"]
    lines = list(report.get("notes", []))
    series = report["series"]
    grouped: dict[str, list[str]] = {}
    for s in series:
        if s["first"] and s["first"] != report["history"][0]["start"]:
            grouped.setdefault("history starts later (no data before)", []).append(
                f"{s['key']} from {_label(s['first'], grain)}"
            )
        for note in s["notes"]:
            if not note.startswith("history from"):
                grouped.setdefault(note, []).append(f"{s['key']} ({s['history_periods']})")
        if s["method"]:
            for k in s["skipped"]:
                grouped.setdefault(f"{k['method']} not used: {k['reason']}", []).append(s["key"])
    bracketed = False
    for message, keys in grouped.items():
        who = "every series" if len(keys) == len(series) > 1 else ", ".join(keys)
        bracketed = bracketed or (who != "every series" and "(" in who)
        lines.append(f"{message}: {who}.")
    brackets = f"Numbers in brackets: {grain}s of history. " if bracketed else ""
    lines.append(
        f"{brackets}Medians of the predicted distribution; intervals are 80% and 95% "
        "prediction intervals; CAGR is implied by the multiple over the base period."
    )
    return Text("\n".join(_dedupe(lines)), style="dim")


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


VERDICT_STYLE = {"holds": "green", "wrong": "bold red", "cannot check": "yellow"}


def _claim_value(claim: dict[str, Any], name: str) -> str:
    value = claim[name]
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if name == "stated" and claim.get("stated_as"):
        return str(claim["stated_as"])
    from tokenstat.claims.metrics import STYLE
    from tokenstat.quantities import format_like, parse_quantity

    style = STYLE.get(claim.get("metric") or "")
    like = parse_quantity(claim["stated_as"]) if claim.get("stated_as") else None
    if like is None:
        return format_like(value, None, style=style)
    # at least four significant digits (16.03x against "16x"), but no padding zeros
    # beyond the claim's own (3.03T, not 3.030T)
    short_text = format_like(value, like, style=style)
    long_text = format_like(value, replace(like, digits=max(like.digits or 4, 4)), style=style)
    same = parse_quantity(short_text).value == parse_quantity(long_text).value
    return short_text if same else long_text


def _relative(value: float | None) -> str:
    if value is None:
        return ""
    return "0.00%" if abs(value) < 0.00005 else fmt.pct(value, 2, signed=True)


def verify_table(report: dict[str, Any]) -> Group:
    table = FitTable(
        [
            Column("claim", "left"),
            Column("verdict", "left"),
            Column("stated", priority=2),
            Column("recomputed", priority=3),
            Column("diff", priority=1),
            Column("note", "left", priority=4, wrap=True, floor=20),
        ],
        title="Claims checked against the ledger",
    )
    for c in report["claims"]:
        verdict = Text(c["verdict"], style=VERDICT_STYLE.get(c["verdict"], ""))
        rel = c["relative_difference"]
        note = c["reason"] or c["correction"] or c["detail"] or ""
        if c["verdict"] == "wrong" and c["correction"] and c["metric"]:
            note = f"should read {c['correction']}"
        if c["hint"]:
            note += f" ({c['hint']})"
        if c["verdict"] == "holds" and c["detail"]:
            note = c["detail"]
        table.add_row(
            c["id"],
            verdict,
            _claim_value(c, "stated"),
            _claim_value(c, "computed"),
            _relative(rel),
            note,
        )
    s = report["summary"]
    line = (
        f"{s['claims']} claims: {s['holds']} hold, {s['wrong']} wrong, "
        f"{s['cannot_check']} cannot be checked."
    )
    style = "bold red" if s["wrong"] else ("yellow" if s["cannot_check"] else "green")
    parts: list[Any] = [table, Text(line, style=style)]
    if report.get("ledger"):
        parts.append(Text(f"No ledger: {report['ledger']}", style="yellow"))
    parts.append(footer(report))
    return Group(*parts)
