"""The main job: load the bundled sample into a fresh ledger and print the headline report.

`demo` never touches a ledger that holds rows: with ``--db`` naming one, it stops with the
next step (exit 1); a missing path or a ledger without usage rows is used, and nothing is
ever deleted.
"""

from __future__ import annotations

import tempfile
from datetime import date
from importlib import resources
from pathlib import Path

import typer

from tokenstat.cli.app import command, err, out, state
from tokenstat.errors import LedgerError
from tokenstat.periods import parse_day

SAMPLE_WEEK = date(2026, 4, 5)


def sample_path() -> Path:
    return Path(str(resources.files("tokenstat.sample").joinpath("data", "sample_market.csv.gz")))


def refuse_ledger_with_rows(path: Path, rows: int) -> None:
    """Stop (`LedgerError`, exit 1) when the ledger at ``path`` already holds ``rows`` > 0."""
    if rows:
        raise LedgerError(
            f"{path} already holds {rows:,} usage rows; demo loads the sample only into a "
            "new or empty ledger",
            hint=f"leave out --db (a temporary ledger), name a new file, or report on this one: "
            f"tokenstat --db {path} summary",
        )


@command("demo")
def demo(
    at: str = typer.Option(SAMPLE_WEEK.isoformat(), help="A day in the week to report."),
) -> None:
    """Load the bundled SYNTHETIC sample into a fresh ledger and print the week's report.

    \b
    Examples:
      tokenstat demo
      tokenstat --db sample.duckdb demo      # keep the sample ledger to explore
      tokenstat --db sample.duckdb summary --by origin
    """
    from tokenstat import api
    from tokenstat.metrics import reports

    day = parse_day(at)
    with tempfile.TemporaryDirectory(prefix="tokenstat-demo-") as tmp:
        db = state.db or Path(tmp) / "demo.duckdb"
        with api.open_ledger(db) as ledger:
            refuse_ledger_with_rows(ledger.path, ledger.row_count())
            result = api.import_path(ledger, "market", [sample_path()], catalog=state.catalog())
            err.print(
                f"Loaded {result.rows_new:,} rows of the bundled synthetic sample "
                f"({result.first_day} to {result.last_day}) into {state.db or 'a fresh ledger'}.",
                highlight=False,
                markup=False,
            )
            ds = api.dataset(ledger, state.catalog())
            from tokenstat.render import tables

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
