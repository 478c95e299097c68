"""Rich tables for people, rendered from the report dicts."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.text import Text

from tokenstat.periods import parse_day as _day
from tokenstat.periods import period_label
from tokenstat.render import numbers as fmt
from tokenstat.render.fit import Column, FirstFit, FitTable

# trend: how many groups get a column of their own when the caller does not say
TREND_LIMIT = 10


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
    """The period's groups with value, growth, share, shift and leader streak; on a narrow
    console `previous`, `leads`, `#` and `shift` are left out first (in that order)."""
    measure = "" if report.get("measure", "total") == "total" else f" ({report['measure']})"
    what = "Cost" if _is_cost(report) else f"Tokens{measure}"
    table = FitTable(
        [
            Column("#", priority=3),
            Column(report["by"], "left"),
            Column(_value_key(report)),
            Column("previous", priority=1),
            Column("growth", priority=6),
            Column("share", priority=5),
            Column("shift", priority=4),
            Column("leads", priority=2),
        ],
        title=_title(report, what),
    )
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
    """The period's largest groups; for models also author and origin (left out, with rank
    change and `#`, when the console is narrow)."""
    columns = [Column("#", priority=3), Column(report["by"], "left")]
    if report["by"] == "model":
        columns += [Column("author", "left", priority=2), Column("origin", "left", priority=4)]
    columns += [
        Column(_value_key(report)),
        Column("growth", priority=6),
        Column("share", priority=5),
        Column("rank Δ", priority=1),
    ]
    table = FitTable(columns, title=_title(report, f"Top {len(report['rows'])}"))
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
        f"HHI {'-' if report['hhi'] is None else format(report['hhi'], ',.0f')} (0-10,000)."
    ]
    for u in report.get("unranked", []):
        lines.append(
            f"Not ranked: {u['key']} {_value(report, u[_value_key(report)])} "
            f"({fmt.pct(u['share'], 1)})."
        )
    extra = Text("\n".join(lines))
    return Group(table, extra, _cost_note(report), footer(report))


# the key of rows a report already summed (`metrics.reports.trend` with ``limit``)
OTHERS = "others"


def _prefolded(report: dict[str, Any]) -> bool:
    return bool(report.get("others")) and any(r["key"] == OTHERS for r in report["rows"])


def trend_groups(report: dict[str, Any], limit: int | None = None) -> tuple[list[str], list[str]]:
    """(shown, folded): the ``limit`` groups (default `TREND_LIMIT`) with the largest total
    over the report's periods, largest first (ties by name), and the rest. Rows the report
    already summed under `OTHERS` are neither."""
    limit = TREND_LIMIT if limit is None else max(limit, 1)
    key = _value_key(report)
    skip = OTHERS if _prefolded(report) else None
    totals: dict[str, float] = {}
    for r in report["rows"]:
        if r["key"] != skip:
            totals[r["key"]] = totals.get(r["key"], 0) + (r.get(key, r.get("tokens")) or 0)
    keys = sorted(totals, key=lambda k: (-totals[k], k))
    return keys[:limit], keys[limit:]


def trend_table(report: dict[str, Any], *, limit: int | None = None) -> Group:
    """Value per period and group: the ``limit`` largest groups (default `TREND_LIMIT`) as
    columns, the rest summed in an ``others`` column, so each row adds up to ``all``. When
    that is too wide for the console, the cells lose their growth; when it still is, one row
    per period and group (the long layout)."""
    key = _value_key(report)
    shown, rest = trend_groups(report, limit)
    # what the others column sums: the groups folded here, and the report's own fold
    summed = [*rest, OTHERS] if _prefolded(report) else rest
    by_start: dict[str, dict[str, dict[str, Any]]] = {}
    for r in report["rows"]:
        by_start.setdefault(r["start"], {})[r["key"]] = r
    grain = report["grain"]
    labels = {start: period_label(_day(start), grain) for start in by_start}
    what = "Cost" if _is_cost(report) else "Tokens"
    title = f"{what} by {report['by']} per {grain}"
    if labels:
        first, last = labels[min(labels)], labels[max(labels)]
        title += f", {first}" if first == last else f", {first} to {last}"

    def value(cell: dict[str, Any]) -> float:
        return cell.get(key, cell.get("tokens")) or 0

    def wide(groups: list[str], folded: list[str], growth: bool) -> FitTable:
        folded = [*folded, OTHERS] if _prefolded(report) else folded
        columns = [Column(grain, "left"), *(Column(k) for k in groups)]
        columns += [Column(OTHERS)] if folded else []
        table = FitTable([*columns, Column("all")], title=title)
        for start, cells in by_start.items():
            row = [labels[start]]
            for k in groups:
                cell = cells.get(k)
                text = "" if cell is None else _value(report, value(cell))
                if growth and cell is not None and cell["growth"] is not None:
                    text += f" {fmt.pct(cell['growth'], 1, signed=True)}"
                row.append(text)
            if folded:
                row.append(_value(report, sum(value(cells[k]) for k in folded if k in cells)))
            row.append(_value(report, sum(value(c) for c in cells.values())))
            table.add_row(*row)
        return table

    def long() -> FitTable:
        table = FitTable(
            [
                Column(grain, "left"),
                Column(report["by"], "left"),
                Column(key),
                Column("growth", priority=2),
                Column("share", priority=1),
            ],
            title=title,
        )
        for index, (start, cells) in enumerate(by_start.items()):
            if index:
                table.add_section()
            label = labels[start]
            for k in shown:
                if k in cells:
                    c = cells[k]
                    growth, share = fmt.pct(c["growth"], 1, signed=True), fmt.pct(c["share"], 1)
                    table.add_row(label, k, _value(report, value(c)), growth, share)
                    label = ""
            folded = [cells[k] for k in summed if k in cells]
            if folded:
                share = sum(c["share"] or 0 for c in folded)
                total = sum(value(c) for c in folded)
                # a sum of groups has a growth only when the report computed it
                one = folded[0] if len(folded) == 1 and folded[0]["key"] == OTHERS else None
                growth = fmt.pct(one["growth"], 1, signed=True) if one else ""
                table.add_row(label, OTHERS, _value(report, total), growth, fmt.pct(share, 1))
                label = ""
            total = sum(value(c) for c in cells.values())
            table.add_row(label, "all", _value(report, total), "", "")
        return table

    notes = []
    if rest:
        notes.append(
            f"others: the {len(rest)} smaller {report['by']} groups, summed "
            f"(all {len(shown) + len(rest)}: --json)."
        )
    note = Text("\n".join(notes), style="dim") if notes else None
    hint = _LongLayoutHint(lambda k: wide(*trend_groups(report, k), growth=False), len(shown))
    long_note = Group(*(n for n in (note, hint) if n is not None))
    layout = FirstFit(
        (wide(shown, rest, growth=True), note),
        (wide(shown, rest, growth=False), note),
        (long(), long_note),
    )
    return Group(layout, footer(report))


class _LongLayoutHint:
    """Under the long layout of `trend`: the largest ``--limit`` whose groups would fit as
    columns on this console, if any (``wide(k)`` builds that table)."""

    def __init__(self, wide: Any, shown: int) -> None:
        self.wide = wide
        self.shown = shown

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for k in range(self.shown - 1, 1, -1):
            if self.wide(k).fits(console, options):
                yield Text(f"With --limit {k} the groups fit as columns.", style="dim")
                return


def lead_table(report: dict[str, Any], max_rows: int = 16) -> Group:
    """A against B per period (the last ``max_rows``), with the streak and first crossover."""
    a, b = report["a"], report["b"]
    table = FitTable(
        [Column(report["grain"], "left"), Column(a), Column(b), Column(f"{a} ahead", priority=1)],
        title=f"{a} vs {b} by {report['by']} per {report['grain']}",
    )
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
