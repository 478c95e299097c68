"""Tables of the own-usage reports (daily, weekly, monthly, session, blocks)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from tokenstat.render import numbers as fmt
from tokenstat.render.fit import Column, FitTable

# (key, heading, priority): the token columns of every usage table, in the order of the
# JSON; at a narrow width reasoning goes first, then the cache columns (the footnote says)
TOKEN_COLUMNS = (
    ("input_tokens", "input", 6),
    ("output_tokens", "output", 7),
    ("cache_write_tokens", "cache write", 3),
    ("cache_read_tokens", "cache read", 4),
    ("reasoning_tokens", "reasoning", 2),
    ("total_tokens", "total", None),
)


def _table(title: str, labels: list[Column]) -> FitTable:
    tokens = [Column(heading, priority=p) for _, heading, p in TOKEN_COLUMNS]
    return FitTable([*labels, *tokens, Column("cost")], title=title)


def _counts(row: dict[str, Any]) -> list[str]:
    return [fmt.tokens(row[key]) for key, _, _ in TOKEN_COLUMNS] + [_cost(row)]


def _cost(row: dict[str, Any]) -> str:
    text = fmt.usd(row.get("cost")) if row.get("cost") is not None else "n/a"
    return text + ("*" if row.get("unpriced_rows") else "")


def _models(models: list[str]) -> str:
    return ", ".join(m.split("/", 1)[-1] for m in models)


def _footnotes(report: dict[str, Any]) -> Text:
    lines = [f"cost mode: {report['cost_mode']}; input includes cache reads and writes"]
    if any(r.get("unpriced_rows") for r in report["rows"]):
        lines.append("* some rows could not be priced: see tokenstat cost")
    query = report.get("query") or {}
    if query.get("tz") and query["tz"] != "UTC":
        lines.append(f"days in {query['tz']}")
    return Text("\n".join(lines), style="dim")


def period_table(report: dict[str, Any]) -> Group:
    """One row per period (and group), with a models line under each; ``breakdown`` rows
    indented under their period."""
    by = report.get("by")
    labels = [Column(report["period"], "left")]
    labels += [Column(by, "left")] if by else []
    labels += [Column("models", "left", priority=5, wrap=True)]
    table = _table(_title(report), labels)
    for row in report["rows"]:
        cells = [row["start"]] + ([str(row[by])] if by else []) + [_models(row["models"])]
        table.add_row(*cells, *_counts(row))
        parts = row.get("breakdown", [])
        for part in parts if len(parts) > 1 else ():
            # the model in the first column, which is never left out
            label = Text("  " + _models([part["model"]]), style="dim")
            blanks = [""] * (len(labels) - 1)
            table.add_row(label, *blanks, *(Text(c, style="dim") for c in _counts(part)))
    _total_row(table, report, len(labels))
    return Group(table, _footnotes(report))


def _total_row(table: FitTable, report: dict[str, Any], n_labels: int) -> None:
    table.add_section()
    table.add_row("total", *[""] * (n_labels - 1), *_counts(report["totals"]))


def _title(report: dict[str, Any]) -> str:
    names = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
    what = names.get(report["period"], report["period"].title())
    title = f"{what} usage"
    query = report.get("query") or {}
    if query.get("since") or query.get("until"):
        title += f", {query.get('since') or '…'} to {query.get('until') or 'now'}"
    if not report["rows"]:
        title += ": no usage in this selection"
    return title


def session_table(report: dict[str, Any]) -> Group:
    labels = [
        Column("session", "left"),
        Column("project", "left", priority=8),
        Column("agent", "left", priority=5),
        Column("last", "left", priority=9),
        Column("models", "left", priority=5, wrap=True),
    ]
    table = _table("Usage by session" + ("" if report["rows"] else ": none"), labels)
    for row in report["rows"]:
        table.add_row(
            row["session"][:8] if len(row["session"]) > 12 else row["session"],
            _short_project(row["project"]),
            row["agent"],
            row["last"][:16].replace("T", " "),
            _models(row["models"]),
            *_counts(row),
        )
    _total_row(table, report, len(labels))
    notes = _footnotes(report)
    notes.append("\nsession ids are shortened to 8 characters; --json shows them whole")
    return Group(table, notes)


def _short_project(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    return "/".join(parts[-2:]) if len(parts) > 2 else path


def blocks_table(report: dict[str, Any]) -> Group:
    labels = [
        Column("block start (UTC)", "left"),
        Column("models", "left", priority=5, wrap=True),
    ]
    table = _table("5-hour blocks" + ("" if report["rows"] else ": none"), labels)
    lines: list[str] = []
    for row in report["rows"]:
        start = row["start"][:16].replace("T", " ") + (" active" if row["active"] else "")
        table.add_row(start, _models(row["models"]), *_counts(row))
        if row["active"]:
            lines.append(_active_line(row))
    _total_row(table, report, len(labels))
    notes = _footnotes(report)
    for line in lines:
        notes.append("\n" + line, style="")
    return Group(table, notes)


def _active_line(row: dict[str, Any]) -> str:
    rate = row["burn_rate"]
    proj = row["projection"]
    text = (
        f"active block: {fmt.tokens(rate['tokens_per_minute'])} tokens/min, "
        f"{fmt.usd(rate['cost_per_hour'])}/h; at its end ({row['end'][11:16]} UTC, "
        f"{proj['remaining_minutes']:.0f} min left): {fmt.tokens(proj['total_tokens'])} "
        f"tokens, {fmt.usd(proj['cost'])}"
    )
    if "limit_share" in proj:
        text += f", {fmt.pct(proj['limit_share'], 0)} of the token limit"
    return text
