"""Rich tables for the price reports (`prices`, `cost`, `cost --mismatch`, `whatif`)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.text import Text

from tokenstat.periods import parse_day, period_label
from tokenstat.render import numbers as fmt
from tokenstat.render.fit import Column, FitTable


def price(value: float | None) -> str:
    """USD per million tokens: $30.00, $0.2288, $0.028."""
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    text = f"{value:.4g}"
    if "e" in text:
        return f"${value:.2g}"
    decimals = len(text.partition(".")[2])
    return f"${value:.{max(decimals, 2)}f}"


def ratio(value: float | None) -> str:
    """A price ratio as a percentage with enough digits to tell small ones apart."""
    if value is None:
        return "-"
    percent = value * 100
    if percent >= 10:
        return f"{percent:,.0f}%"
    if percent >= 1:
        return f"{percent:.1f}%"
    return f"{percent:.2f}%"


def saving(value: float | None) -> str:
    """1 - ratio, with one decimal: 99.8%."""
    return "-" if value is None else fmt.pct(1 - value, 1)


def cost(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    if abs(value) >= 1000:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.4f}" if abs(value) >= 0.0001 else f"${value:.2g}"


def prices_footer(prices: dict[str, Any]) -> list[str]:
    lines = [f"Prices: genai-prices {prices.get('genai_prices') or ''}".rstrip()]
    snapshots = prices.get("snapshots") or []
    if snapshots:
        days = ", ".join(f"{s['as_of']} ({s['models']} models)" for s in snapshots[-3:])
        lines[0] += f"; OpenRouter snapshots {days}"
    if prices.get("user_file"):
        lines[0] += f"; your price file {prices['user_file']}"
    return lines


# how a price table marks a model not priced at its lab's own API
_BASIS_MARK = {"openrouter": " (OR)", "user file": " (file)", "provider": "", "name match": " (~)"}
_BASIS_NOTE = {
    " (OR)": "(OR) OpenRouter's price: genai-prices has no price from the lab itself.",
    " (file)": "(file) your price file.",
    " (~)": "(~) matched by name in genai-prices: check the model it is priced as (--json).",
}


def prices_table(report: dict[str, Any], width: int | None = None) -> Group:
    """The price table; on a console (or ``width``) narrower than the table, the least
    needed columns (output %, cache read, output, ...) are left out, never the model names."""
    baseline = report["baseline"]
    mix = report["mix"]
    title = f"Prices as of {report['as_of']}, USD per million tokens"
    if baseline:
        title += f", against {baseline}"
    cells: dict[str, list[str]] = {
        "model": [r["model"] + _BASIS_MARK.get(r["basis"], "") for r in report["rows"]],
        "input": [price(r["input_per_mtok"]) for r in report["rows"]],
        "output": [price(r["output_per_mtok"]) for r in report["rows"]],
        "cache read": [
            price(r["cache_read_per_mtok"]) + ("" if r["cache_read_listed"] else "*")
            for r in report["rows"]
        ],
        "blended": [price(r["blended_per_mtok"]) for r in report["rows"]],
    }
    if baseline:
        cells["input %"] = [ratio(r["input_ratio"]) for r in report["rows"]]
        cells["output %"] = [ratio(r["output_ratio"]) for r in report["rows"]]
        cells["blended %"] = [ratio(r["blended_ratio"]) for r in report["rows"]]
        cells["saving"] = [saving(r["blended_ratio"]) for r in report["rows"]]
    # higher is kept longer; the model and its input price are never left out
    priority = {"model": None, "input": None, "output": 4, "cache read": 2, "input %": 6}
    priority |= {"output %": 1, "blended": 5, "blended %": 3, "saving": 7}
    order = ["model", "input", "output", "cache read", "input %", "output %", "blended"]
    order += ["blended %", "saving"]
    shown = [name for name in order if name in cells]
    table = FitTable(
        [Column(n, "left" if n == "model" else "right", priority=priority[n]) for n in shown],
        title=title,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        see="--json or --csv",
        width=width,
    )
    for index in range(len(report["rows"])):
        table.add_row(*(cells[name][index] for name in shown))
    lines = []
    base = report.get("baseline_prices")
    if base:
        lines.append(
            f"Baseline {baseline}: input {price(base['input_per_mtok'])}, output "
            f"{price(base['output_per_mtok'])}, blended {price(base['blended_per_mtok'])} "
            f"({base['priced_as']})."
        )
    lines.append(
        f"% = the model's price as a share of the baseline's; saving = 1 - blended %; "
        f"blended = input:output {mix}."
        if baseline
        else f"blended = input:output {mix}."
    )
    marks = {_BASIS_MARK.get(r["basis"], "") for r in report["rows"]}
    lines += [note for mark, note in _BASIS_NOTE.items() if mark in marks]
    if any(not r["cache_read_listed"] for r in report["rows"]):
        lines.append("* no cache-read price listed: cached input is charged at the input price.")
    if report["unpriced"]:
        shown = ", ".join(report["unpriced"][:8])
        more = len(report["unpriced"]) - 8
        lines.append(
            f"No price as of {report['as_of']}: {shown}"
            + (f" and {more} more." if more > 0 else ".")
        )
    if report.get("below_min_context"):
        lines.append(
            f"Below {report['min_context']:,} tokens of context (or unknown): "
            f"{len(report['below_min_context'])} models left out."
        )
    dim = Text("\n".join(lines + prices_footer(report["prices"])), style="dim")
    return Group(table, dim)


def cost_table(report: dict[str, Any]) -> Group:
    by, grain = report["by"], report["grain"]
    table = FitTable(
        [
            Column(grain, "left"),
            Column(by, "left"),
            Column("cost"),
            Column("tokens", priority=3),
            Column("$/M tokens", priority=2),
            Column("unpriced", priority=1),
        ],
        title=f"Cost by {by} per {grain} (mode: {report['mode']})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    previous = None
    for r in report["rows"]:
        label = period_label(parse_day(r["start"]), grain)
        if previous is not None and label != previous:
            table.add_section()
        priced_tokens = r["tokens"] * (1 - (r["unpriced_share"] or 0))
        per_m = r["cost"] / priced_tokens * 1e6 if r["cost"] is not None and priced_tokens else None
        table.add_row(
            label if label != previous else "",
            r["key"],
            cost(r["cost"]),
            fmt.tokens(r["tokens"]),
            price(per_m),
            fmt.pct(r["unpriced_share"], 1) if r["unpriced_share"] else "",
        )
        previous = label
    total = report["total"]
    table.add_section()
    table.add_row(
        "all",
        "",
        cost(total["cost"]),
        fmt.tokens(total["tokens"]),
        "",
        fmt.pct(total["unpriced_share"], 1) if total["unpriced_share"] else "",
    )
    lines = [_mode_line(report)]
    if report["unpriced"]:
        lines.append(
            f"Unpriced: {total['unpriced_rows']:,} rows, {fmt.pct(total['unpriced_share'], 1)} "
            "of tokens (not counted as $0):"
        )
        for u in report["unpriced"][:8]:
            provider = f" via {u['provider']}" if u["provider"] else ""
            lines.append(
                f"  {u['model']}{provider}: {u['reason']} ({u['rows']:,} rows, "
                f"{fmt.tokens(u['tokens'])} tokens)"
            )
        if report["unpriced_groups"] > 8:
            lines.append(f"  ... and {report['unpriced_groups'] - 8} more (see --json)")
    bases: dict[str, int] = {}
    for p in report.get("pricing", []):
        if p["basis"]:
            bases[p["basis"]] = bases.get(p["basis"], 0) + 1
    if bases:
        lines.append(
            "Prices used per (provider, model): "
            + ", ".join(f"{basis} {n}" for basis, n in sorted(bases.items()))
            + " (see --json 'pricing')."
        )
    lines += prices_footer(report["prices"])
    return Group(table, Text("\n".join(lines), style="dim"))


def _mode_line(report: dict[str, Any]) -> str:
    mode = report["mode"]
    total = report["total"]
    if mode == "reported":
        return "Cost as the sources reported it."
    if mode == "computed":
        return "Cost computed from tokens and the price schedule (reported costs ignored)."
    return (
        f"Cost as reported where the source gave one ({total['reported_rows']:,} rows), "
        "else computed from tokens and the price schedule."
    )


def mismatch_table(report: dict[str, Any]) -> Group:
    table = FitTable(
        [
            Column("model", "left"),
            Column("provider", "left", priority=4),
            Column("rows", priority=2),
            Column("differ", priority=3),
            Column("reported", priority=5),
            Column("computed", priority=5),
            Column("difference"),
        ],
        title=f"Reported vs computed cost (tolerance {fmt.pct(report['tolerance'], 1)})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for r in report["rows"]:
        table.add_row(
            r["model"],
            r["provider"] or "",
            f"{r['rows_compared']:,}",
            f"{r['rows_mismatched']:,}",
            cost(r["reported"]),
            cost(r["computed"]),
            f"{cost(r['difference'])} ({fmt.pct(r['difference_pct'], 1, signed=True)})",
        )
    total = report["total"]
    lines = [
        f"{total['rows_mismatched']:,} of {total['rows_compared']:,} rows with both costs differ "
        f"by more than {fmt.pct(report['tolerance'], 1)}."
    ]
    if total["unchecked_rows"]:
        lines.append(
            f"{total['unchecked_rows']:,} rows with a reported cost cannot be checked "
            "(no computed price: see tokenstat cost --mode computed)."
        )
    if not total["reported_rows"]:
        lines.append("No row in this selection has a reported cost.")
    lines += prices_footer(report["prices"])
    return Group(table, Text("\n".join(lines), style="dim"))


def whatif_table(report: dict[str, Any]) -> Group:
    w = report["workload"]
    span = f"{w['first_day']} to {w['last_day']}"
    where = report["slice"]["where"]
    what = ", ".join(f"{k}={v}" for k, v in where.items())
    title = f"What if: {w['rows']:,} rows, {span}" + (f", {what}" if what else "")
    table = FitTable(
        [
            Column("model", "left"),
            Column("priced as", "right", priority=1),
            Column("cost"),
            Column("saving", priority=2),
            Column("saving %", priority=3),
        ],
        title=title,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_row("actual", f"mode {report['mode']}", cost(report["actual_cost"]), "", "")
    table.add_section()
    for r in report["rows"]:
        table.add_row(
            r["model"],
            r["priced_as"] or "no price",
            cost(r["cost"]),
            cost(r["saving"]),
            fmt.pct(r["saving_pct"], 1, signed=False) if r["saving_pct"] is not None else "-",
        )
    lines = [
        f"Same token counts: input {fmt.tokens(w['input_tokens'])} (cache read "
        f"{fmt.tokens(w['cache_read_tokens'])}, cache write {fmt.tokens(w['cache_write_tokens'])}),"
        f" output {fmt.tokens(w['output_tokens'])}; each model's prices at the rows' own times.",
        report["caveat"],
    ]
    if w["excluded_rows"]:
        lines.append(f"{w['excluded_rows']:,} totals-only rows (no input/output split) left out.")
    if report["actual_unpriced_rows"]:
        lines.append(
            f"{report['actual_unpriced_rows']:,} rows have no actual cost; savings compare the "
            "rows priced both ways."
        )
    for r in report["rows"]:
        if r["unpriced_rows"]:
            lines.append(
                f"{r['model']}: {r['unpriced_rows']:,} rows without a price at their time."
            )
    lines += prices_footer(report["prices"])
    return Group(table, Text("\n".join(lines), style="dim"))
