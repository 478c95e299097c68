"""Rich tables for people, rendered from the report dicts."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tokenstat.periods import parse_day as _day
from tokenstat.periods import period_label
from tokenstat.render import numbers as fmt


def _column(table: Table, name: str, justify: str, fold: bool = False) -> None:
    """Numbers and short labels never wrap; the group name (``fold``) wraps when space is
    short."""
    if fold:
        table.add_column(name, overflow="fold")
    else:
        table.add_column(name, justify=justify, no_wrap=True, min_width=max(len(name), 1))


def _title(report: dict[str, Any], what: str) -> str:
    period = report["period"]
    label = period_label(_day(period["start"]), period["grain"])
    span = (
        period["start"]
        if period["start"] == period["end"]
        else (f"{period['start']} to {period['end']}")
    )
    title = f"{what} by {report['by']}, {label} ({span})"
    if period.get("complete") is False:
        title += f", incomplete: data through {period['data_through']}"
    return title


def footer(report: dict[str, Any]) -> Text:
    """Attributed share and data sources with as-of dates."""
    lines = []
    share = report.get("attributed_share")
    if share is not None:
        lines.append(f"Origin attributed for {fmt.pct(share, 1)} of tokens.")
    for src in report.get("sources", []):
        span = f"{src['first_day']} to {src['last_day']}"
        line = src.get("attribution") or f"Source: {src['source']}"
        if not src.get("attribution") and src.get("as_of"):
            line += f", as of {src['as_of']}"
        lines.append(f"{line} ({src['rows']:,} rows, {span})")
    return Text("\n".join(lines), style="dim")


def _is_cost(report: dict[str, Any]) -> bool:
    return report.get("measure") == "cost"


def _value(report: dict[str, Any], value: float | None) -> str:
    """A group's value: tokens, or USD (whole dollars from $1,000) when it measures cost."""
    if not _is_cost(report):
        return fmt.tokens(value)
    if value is not None and abs(value) >= 1000:
        return f"${value:,.0f}"
    return fmt.usd(value)


def _value_key(report: dict[str, Any]) -> str:
    return "cost" if _is_cost(report) else "tokens"


def _cost_note(report: dict[str, Any]) -> Text:
    """For cost reports: the mode and the unpriced share (else nothing)."""
    if not _is_cost(report):
        return Text("")
    line = f"Cost mode {report.get('cost_mode')}"
    share = report.get("unpriced_share")
    if share:
        line += f"; {fmt.pct(share, 1)} of the period's tokens could not be priced (left out)"
    return Text(line + ".", style="dim")


def summary_table(report: dict[str, Any]) -> Group:
    measure = "" if report.get("measure", "total") == "total" else f" ({report['measure']})"
    what = "Cost" if _is_cost(report) else f"Tokens{measure}"
    table = Table(title=_title(report, what), title_justify="left")
    for name, justify in [
        ("#", "right"),
        (report["by"], "left"),
        (_value_key(report), "right"),
        ("previous", "right"),
        ("growth", "right"),
        ("share", "right"),
        ("shift", "right"),
        ("leads", "right"),
    ]:
        _column(table, name, justify, fold=name == report["by"])
    for g in report["groups"]:
        table.add_row(
            str(g["rank"] or "-"),
            g["key"],
            _value(report, g[_value_key(report)]),
            _value(report, g["previous"]),
            fmt.pct(g["growth"], signed=True),
            fmt.pct(g["share"], 1),
            fmt.pp(g["share_shift_pp"]),
            str(g["leader_streak"]) if g["leader_streak"] else "",
        )
    total = report["total"]
    table.add_section()
    table.add_row(
        "",
        "all",
        _value(report, total[_value_key(report)]),
        _value(report, total["previous"]),
        fmt.pct(total["growth"], signed=True),
        "100%",
        "",
        "",
    )
    return Group(table, _cost_note(report), footer(report))


def top_table(report: dict[str, Any]) -> Group:
    table = Table(title=_title(report, f"Top {len(report['rows'])}"), title_justify="left")
    columns = [("#", "right"), (report["by"], "left")]
    if report["by"] == "model":
        columns += [("author", "left"), ("origin", "left")]
    columns += [(_value_key(report), "right"), ("growth", "right"), ("share", "right")]
    columns += [("rank Δ", "right")]
    for name, justify in columns:
        _column(table, name, justify, fold=name == report["by"])
    for r in report["rows"]:
        cells = [str(r["rank"]), r["key"]]
        if report["by"] == "model":
            cells += [r["author"] or "", r["origin"] or ""]
        cells += [
            _value(report, r[_value_key(report)]),
            fmt.pct(r["growth"], signed=True),
            fmt.pct(r["share"], 1),
            fmt.signed_int(r["rank_change"]),
        ]
        table.add_row(*cells)
    lines = [
        f"Top {len(report['rows'])} share {fmt.pct(report['top_k_share'], 1)}; "
        f"HHI {report['hhi']:,.0f} (0-10,000)."
    ]
    for u in report.get("unranked", []):
        lines.append(
            f"Not ranked: {u['key']} {_value(report, u[_value_key(report)])} "
            f"({fmt.pct(u['share'], 1)})."
        )
    extra = Text("\n".join(lines))
    return Group(table, extra, _cost_note(report), footer(report))


def trend_table(report: dict[str, Any], max_groups: int = 8) -> Group:
    rows = report["rows"]
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["key"]] = totals.get(r["key"], 0) + r["tokens"]
    keys = sorted(totals, key=lambda k: (-totals[k], k))
    shown, rest = keys[:max_groups], keys[max_groups:]
    table = Table(title=f"Tokens by {report['by']} per {report['grain']}", title_justify="left")
    table.add_column(report["grain"])
    for k in shown:
        table.add_column(k, justify="right")
    if rest:
        table.add_column(f"{len(rest)} others", justify="right")
    table.add_column("all", justify="right")
    by_start: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_start.setdefault(r["start"], {})[r["key"]] = r
    for start, cells in by_start.items():
        values = []
        for k in shown:
            cell = cells.get(k)
            if cell is None:
                values.append("")
            else:
                growth = (
                    fmt.pct(cell["growth"], 1, signed=True) if cell["growth"] is not None else ""
                )
                values.append(f"{fmt.tokens(cell['tokens'])} {growth}".strip())
        if rest:
            values.append(fmt.tokens(sum(cells[k]["tokens"] for k in rest if k in cells)))
        values.append(fmt.tokens(sum(c["tokens"] for c in cells.values())))
        table.add_row(period_label(_day(start), report["grain"]), *values)
    return Group(table, footer(report))


def lead_table(report: dict[str, Any], max_rows: int = 16) -> Group:
    a, b = report["a"], report["b"]
    table = Table(title=f"{a} vs {b} by {report['by']} per {report['grain']}", title_justify="left")
    for name in (report["grain"], a, b, f"{a} ahead"):
        table.add_column(name, justify="left" if name == report["grain"] else "right")
    for p in report["periods"][-max_rows:]:
        table.add_row(
            period_label(_day(p["start"]), report["grain"]),
            fmt.tokens(p["a_tokens"]),
            fmt.tokens(p["b_tokens"]),
            "yes" if p["a_leads"] else "",
        )
    streak = report["streak"]
    grain = report["grain"]
    if streak:
        since = report["periods"][-streak]["start"]
        line = (
            f"{a} has been ahead of {b} for {streak} consecutive {grain}"
            f"{'s' if streak != 1 else ''} (since {period_label(_day(since), grain)})."
        )
    else:
        line = f"{a} is not ahead of {b} in {period_label(_day(report['at']), grain)}."
    first = report["first_crossover"]
    cross = (
        f" First overtook it in {period_label(_day(first), grain)}."
        if first
        else f" {a} never overtook {b} in this data."
    )
    return Group(table, Text(line + cross), footer(report))
