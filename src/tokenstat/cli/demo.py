"""The main job: load the bundled sample into a fresh ledger and print the headline report."""

from __future__ import annotations

import tempfile
from datetime import date
from importlib import resources
from pathlib import Path

import typer

from tokenstat.cli.app import command, err, out, state
from tokenstat.render import tables

SAMPLE_WEEK = date(2026, 4, 5)


def sample_path() -> Path:
    return Path(str(resources.files("tokenstat.sample").joinpath("data", "sample_market.csv.gz")))


@command("demo")
def demo(
    at: str = typer.Option(SAMPLE_WEEK.isoformat(), help="A day in the week to report."),
) -> None:
    """Load the bundled SYNTHETIC sample into a fresh ledger and print the week's report."""
    from tokenstat import api
    from tokenstat.metrics import reports

    day = date.fromisoformat(at)
    with tempfile.TemporaryDirectory(prefix="tokenstat-demo-") as tmp:
        db = state.db or Path(tmp) / "demo.duckdb"
        if state.db and db.exists():
            db.unlink()
        with api.open_ledger(db) as ledger:
            result = api.import_path(ledger, "market", [sample_path()], catalog=state.catalog())
            err.print(
                f"Loaded {result.rows_new:,} rows of the bundled synthetic sample "
                f"({result.first_day} to {result.last_day}) into {state.db or 'a fresh ledger'}.",
                highlight=False,
                markup=False,
            )
            ds = api.dataset(ledger, state.catalog())
            out.print(tables.summary_table(reports.summary(ds, by="origin", grain="week", at=day)))
            out.print()
            out.print(tables.top_table(reports.top(ds, by="model", grain="week", at=day, limit=10)))
            out.print()
            out.print(
                tables.lead_table(
                    reports.lead(ds, "CN", "US", by="origin", grain="week", at=day), max_rows=8
                )
            )
    err.print(
        "The sample is synthetic, calibrated to published headline figures; "
        "import real data with: tokenstat import SOURCE PATH",
        highlight=False,
        markup=False,
        style="dim",
    )
