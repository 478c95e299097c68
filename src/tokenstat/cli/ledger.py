"""Ledger commands: info, quarantine."""

from __future__ import annotations

import sys

from rich.table import Table

from tokenstat.cli.app import JSON_OPTION, command, ledger_app, out, state
from tokenstat.render.formats import to_json


@command("info", parent=ledger_app)
def info(as_json: bool = JSON_OPTION) -> None:
    """Where the ledger is, what it holds, which migrations are applied."""
    with state.ledger(read_only=True) as ledger:
        report = {
            "path": str(ledger.path),
            "rows": ledger.row_count(),
            "sources": ledger.sources(),
            "migrations": ledger.applied_migrations(),
        }
    if as_json:
        sys.stdout.write(to_json(report) + "\n")
        return
    out.print(f"ledger {report['path']}: {report['rows']:,} rows", highlight=False, markup=False)
    table = Table(title="Sources", title_justify="left")
    for name in ("source", "rows", "first day", "last day", "as of"):
        table.add_column(name)
    for s in report["sources"]:
        table.add_row(
            s["source"], f"{s['rows']:,}", s["first_day"], s["last_day"], s["as_of"] or ""
        )
    out.print(table)
    out.print(f"migrations: {', '.join(report['migrations'])}", highlight=False, markup=False)


@command("quarantine", parent=ledger_app)
def quarantine(as_json: bool = JSON_OPTION) -> None:
    """Bad records kept aside by imports, with the reason (latest first)."""
    with state.ledger(read_only=True) as ledger:
        rows = ledger.quarantine(limit=1000)
    if as_json:
        sys.stdout.write(to_json({"rows": rows}) + "\n")
        return
    table = Table(title=f"{len(rows)} bad records", title_justify="left")
    for name in ("import", "source", "where", "field", "reason"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r["import_id"]), r["source"], r["location"], r["field"] or "", r["reason"]
        )
    out.print(table)
