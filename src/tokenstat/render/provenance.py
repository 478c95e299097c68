"""Where figures come from, as plain text lines: sources, as-of dates, attributed share.

Charts, the HTML and Markdown report and the dashboard all cite their data the same way
the terminal tables do (see `tokenstat.render.tables.footer`).
"""

from __future__ import annotations

from typing import Any

from tokenstat.render import numbers as fmt


def source_line(src: dict[str, Any]) -> str:
    """'Source: OpenRouter (openrouter.ai/rankings), as of 2026-04-06' for a source that
    carries its own attribution line, else 'Source: market, data to 2026-04-05'."""
    if src.get("attribution"):
        return str(src["attribution"])
    line = f"Source: {src['source']}"
    if src.get("as_of"):
        return f"{line}, as of {src['as_of']}"
    if src.get("last_day"):
        return f"{line}, data to {src['last_day']}"
    return line


def source_detail(src: dict[str, Any]) -> str:
    """Rows and date range of a source: '29,939 rows, 2025-01-27 to 2026-04-05'."""
    rows = src.get("rows")
    count = f"{rows:,} rows" if isinstance(rows, int) else "rows: unknown"
    return f"{count}, {src.get('first_day')} to {src.get('last_day')}"


def attributed_line(share: float | None) -> str | None:
    if share is None:
        return None
    return f"Origin attributed for {fmt.pct(share, 1)} of tokens."


def lines(report: dict[str, Any], *, detail: bool = False) -> list[str]:
    """Every provenance line of a report dict: its sources, then the attributed share."""
    out = []
    for src in report.get("sources") or []:
        line = source_line(src)
        out.append(f"{line} ({source_detail(src)})" if detail else line)
    attributed = attributed_line(report.get("attributed_share"))
    if attributed:
        out.append(attributed)
    return out
