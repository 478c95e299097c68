"""The verify command: check the figures a claims file states against the ledger."""

from __future__ import annotations

from pathlib import Path

import typer

from tokenstat.cli.app import CSV_OPTION, JSON_OPTION, command, emit, state
from tokenstat.errors import LedgerError


@command("verify")
def verify_command(
    path: Path = typer.Argument(..., help="Claims file (YAML); see docs/verify.md."),
    strict: bool = typer.Option(
        False, "--strict", help="Also fail (exit 1) when a claim cannot be checked."
    ),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Check each claim of a claims file against the ledger (exit 1 if one is wrong).

    \b
    Examples:
      tokenstat verify examples/claims-sample.yaml
      tokenstat verify claims.yaml --strict --json
    """
    from tokenstat import api
    from tokenstat.claims import Sources, load_claims, verify
    from tokenstat.ledger import Ledger

    doc = load_claims(path)
    catalog = state.catalog()
    ledger: Ledger | None = None
    reason = None
    try:
        ledger = Ledger.open(state.db, read_only=True)
    except LedgerError as exc:
        # expression-only claims need no ledger; metric claims say why they cannot be checked
        reason = str(exc)
    try:
        if ledger is not None:
            sources = Sources(
                ds=api.dataset(ledger, catalog),
                catalog=catalog,
                book=lambda: api.price_book(ledger, catalog),
                cost=lambda: api.cost_inputs(ledger, catalog),
            )
        else:
            sources = Sources(ds=None, catalog=catalog, book=lambda: api.price_book(None, catalog))
        report = verify(doc, sources)
        if reason:
            report["ledger"] = reason
    finally:
        if ledger is not None:
            ledger.close()
    from tokenstat.render import forecast_tables

    emit(report, "verify", as_json=as_json, as_csv=as_csv, table=forecast_tables.verify_table)
    summary = report["summary"]
    if summary["wrong"] or (strict and summary["cannot_check"]):
        raise typer.Exit(1)
