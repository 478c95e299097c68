"""Ledger commands: info, quarantine, imports, forget."""

from __future__ import annotations

import sys

import typer

from tokenstat.cli.app import EXIT_ERROR, JSON_OPTION, command, err, ledger_app, out, state
from tokenstat.errors import LedgerError
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
    from tokenstat.render.listing import sources_table

    out.print(sources_table(report["sources"]))
    out.print(f"migrations: {', '.join(report['migrations'])}", highlight=False, markup=False)


@command("quarantine", parent=ledger_app)
def quarantine(as_json: bool = JSON_OPTION) -> None:
    """Bad records kept aside by imports, with the reason (latest first)."""
    with state.ledger(read_only=True) as ledger:
        rows = ledger.quarantine(limit=1000)
    if as_json:
        sys.stdout.write(to_json({"rows": rows}) + "\n")
        return
    from tokenstat.render.listing import quarantine_table

    out.print(quarantine_table(rows))


@command("imports", parent=ledger_app)
def imports(
    limit: int = typer.Option(20, "--limit", min=1, help="Show at most this many imports."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Imports, latest first: id, source, files, rows, quarantined records, when.

    Examples: tokenstat ledger imports; tokenstat ledger imports --limit 5 --json
    """
    with state.ledger(read_only=True) as ledger:
        rows = ledger.imports(limit=limit)
    if as_json:
        sys.stdout.write(to_json({"imports": rows}) + "\n")
        return
    from rich.table import Table

    title = f"{len(rows)} import{'' if len(rows) == 1 else 's'} (latest first)"
    table = Table(title=title, title_justify="left")
    numbers = ("id", "files", "rows", "quarantined")
    for name in ("id", "source", "files", "rows", "quarantined", "started", "finished"):
        table.add_column(name, justify="right" if name in numbers else "left")
    for r in rows:
        table.add_row(
            str(r["import_id"]),
            r["source"],
            f"{r['files']:,}",
            f"{r['rows']:,}",
            f"{r['quarantined']:,}",
            _when(r["started_at"]),
            _when(r["finished_at"]) if r["finished_at"] else "unfinished",
        )
    out.print(table)


@command("forget", parent=ledger_app)
def forget(
    import_ids: list[int] = typer.Argument(
        ..., metavar="IMPORT_ID...", help="Ids of the imports to take back (see ledger imports)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Take imports back (rows, rollups, quarantine, file records) in one transaction.

    The same files can then be imported again. Asks first, unless --yes.

    Examples: tokenstat ledger forget 7; tokenstat ledger forget 7 8 --yes
    """
    with state.ledger(read_only=True) as ledger:
        found = {r["import_id"]: r for r in ledger.imports(ids=import_ids)}
        if len(found) < len(set(import_ids)):
            ledger.forget(import_ids)  # raises the error naming the unknown ids
    if not yes:
        if not sys.stdin.isatty():
            raise LedgerError(
                "forget removes data and asks first, but there is no terminal to ask in",
                hint="pass --yes to forget without asking",
            )
        described = "; ".join(
            f"{r['source']}, {r['files']:,} files, {r['rows']:,} rows" for r in found.values()
        )
        ids = ", ".join(str(i) for i in found)
        noun = "import" if len(found) == 1 else "imports"
        if not typer.confirm(f"Forget {noun} {ids} ({described})?", default=False, err=True):
            err.print("nothing forgotten")
            raise typer.Exit(EXIT_ERROR)
    with state.ledger() as ledger:
        counts = ledger.forget(import_ids)
    if as_json:
        sys.stdout.write(to_json(counts) + "\n")
        return
    err.print(
        f"forgot {counts['imports']} import(s): {counts['rows_removed']:,} rows removed, "
        f"{counts['rows_restored']:,} replaced rows restored, "
        f"{counts['price_points_removed']:,} price points and "
        f"{counts['quarantine_removed']:,} quarantined records removed, "
        f"{counts['files_released']:,} files can be imported again",
        highlight=False,
        markup=False,
    )


def _when(iso: str) -> str:
    """``2026-03-30T12:34:56.789+00:00`` as ``2026-03-30 12:34`` (UTC)."""
    return iso[:16].replace("T", " ")
