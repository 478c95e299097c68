"""Tables of plain listings: catalog rows, the ledger's sources, quarantine, importers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenstat.render import numbers as fmt
from tokenstat.render.fit import Column, FitTable


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return fmt.tokens(value)
    return str(value)


def rows_table(rows: Sequence[dict[str, Any]], title: str) -> FitTable:
    """Flat dicts as a table: the first key is the rows' id (never left out); a column with
    a space in any value is prose and wraps (names, lists). On a narrow console prose goes
    first, then the rightmost other columns. Integers read as token counts."""
    names = list(rows[0]) if rows else ["(none)"]
    cells = [[_cell(r.get(name)) for name in names] for r in rows]
    count = len(names)
    columns = []
    for index, name in enumerate(names):
        prose = index > 0 and any(" " in row[index] for row in cells)
        priority = None if index == 0 else count - index - (count if prose else 0)
        columns.append(Column(name, "left", priority=priority, wrap=prose, floor=16))
    table = FitTable(columns, title=title)
    for row in cells:
        table.add_row(*row)
    return table


def sources_table(sources: Sequence[dict[str, Any]]) -> FitTable:
    """The ledger's sources (`Ledger.sources`): rows and days held, as-of date."""
    table = FitTable(
        [
            Column("source", "left"),
            Column("rows"),
            Column("first day", "left", priority=2),
            Column("last day", "left", priority=3),
            Column("as of", "left", priority=1),
        ],
        title="Sources",
    )
    for s in sources:
        table.add_row(
            str(s["source"]),
            f"{s['rows']:,}",
            str(s["first_day"] or ""),
            str(s["last_day"] or ""),
            str(s["as_of"] or ""),
        )
    return table


def quarantine_table(rows: Sequence[dict[str, Any]]) -> FitTable:
    """Bad records kept aside (`Ledger.quarantine`): import id, source, where, field and
    the reason (prose, wraps)."""
    table = FitTable(
        [
            Column("import"),
            Column("source", "left", priority=2),
            Column("where", "left"),
            Column("field", "left", priority=1),
            Column("reason", "left", wrap=True, floor=20),
        ],
        title=f"{len(rows)} bad records",
    )
    for r in rows:
        table.add_row(
            str(r["import_id"]), str(r["source"]), str(r["location"]), r["field"] or "", r["reason"]
        )
    return table


def importers_table(rows: Sequence[dict[str, Any]]) -> FitTable:
    """The registered importers: name, what it is, what it reads (prose, wraps)."""
    table = FitTable(
        [
            Column("name", "left"),
            Column("what", "left", wrap=True, floor=20),
            Column("reads", "left", wrap=True, floor=16, priority=1),
        ],
        title="Importers",
    )
    for r in rows:
        table.add_row(str(r["name"]), str(r["description"]), str(r["reads"]))
    return table
