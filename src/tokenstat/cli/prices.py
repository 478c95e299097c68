"""Price commands: prices (the market's price table), cost (of the ledger), whatif."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tokenstat.cli.app import CSV_OPTION, JSON_OPTION, command, out, state
from tokenstat.errors import QueryError
from tokenstat.periods import parse_day
from tokenstat.render import price_tables
from tokenstat.render.formats import to_csv, to_json

if TYPE_CHECKING:
    from tokenstat.prices import cost as cost_module

PRICE_FILE_HELP = (
    "Your price file (YAML or CSV: negotiated rates, private models); it wins over every "
    "other price. Default: $TOKENSTAT_PRICES, else prices.yaml in the user config dir."
)
MODE_HELP = (
    "Cost mode: reported (the sources' own), computed (tokens x prices), "
    "auto (reported, else computed)."
)
WHERE_HELP = (
    "Only rows where COLUMN=VALUE (repeatable): model, provider, source, app, user, "
    "project, session, author, origin."
)
MIX_HELP = "Input:output token mix of the blended price, e.g. 3:1."


def _price_file_option() -> Path | None:
    return typer.Option(None, "--file", "--prices-file", help=PRICE_FILE_HELP)


def _day(value: str | None):
    return parse_day(value) if value else None


def _emit(report: dict, rows_key: str, as_json: bool, as_csv: bool, table) -> None:
    if as_json:
        sys.stdout.write(to_json(report) + "\n")
    elif as_csv:
        sys.stdout.write(to_csv(report[rows_key]))
    else:
        out.print(table(report))


def _ledger_or_none():
    """The ledger when it exists (its OpenRouter snapshots count), else None."""
    from tokenstat.ledger import Ledger, default_ledger_path

    path = state.db or default_ledger_path()
    return Ledger.open(path, read_only=True) if Path(path).exists() else None


@command("prices")
def prices(
    models: list[str] | None = typer.Option(
        None, "--models", "--model", help="Models to list, comma-separated (canonical ids)."
    ),
    baseline: str | None = typer.Option(
        None, help="Model to compare with, e.g. openai/gpt-4: ratios and savings per kind."
    ),
    author: str | None = typer.Option(None, help="Only this author's (lab's) models."),
    author_country: str | None = typer.Option(
        None,
        "--author-country",
        "--origin",
        help="Only models whose author is in this country (ISO code, e.g. CN).",
    ),
    open_weights: str | None = typer.Option(
        None, "--open-weights", help="Only models of this class: open, closed, unknown."
    ),
    provider: str | None = typer.Option(
        None, help="Prices at this provider (default: the lab's own, else OpenRouter's)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Prices on this day (default: today, UTC)."
    ),
    mix: str = typer.Option("3:1", help=MIX_HELP),
    min_context: int | None = typer.Option(
        None, "--min-context", help="Only models with at least this many tokens of context."
    ),
    price_file: Path | None = _price_file_option(),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Price table: input, output and cache-read prices per million tokens, against a baseline."""
    from tokenstat import api
    from tokenstat.prices.table import parse_mix, price_table, split_models

    day = _day(as_of) or datetime.now(UTC).date()
    names = [name for text in models or [] for name in split_models(text)]
    ledger = _ledger_or_none()
    try:
        book = api.price_book(ledger, state.catalog(), price_file)
    finally:
        if ledger is not None:
            ledger.close()
    report = price_table(
        book,
        state.catalog(),
        models=names or None,
        author=author,
        country=author_country,
        open_weights=open_weights,
        provider=provider,
        baseline=baseline,
        as_of=day,
        mix=parse_mix(mix),
        min_context=min_context,
    )
    _emit(
        report,
        "rows",
        as_json,
        as_csv,
        lambda r: price_tables.prices_table(r, width=out.width),
    )


@command("cost")
def cost(
    by: str = typer.Option(
        "model",
        help="Group by: model, author, origin, provider, source, app, user, project, session.",
    ),
    period: str = typer.Option("month", help="Period: day, week, month, quarter, half, year."),
    mode: str = typer.Option("auto", help=MODE_HELP),
    since: str | None = typer.Option(None, help="First day (YYYY-MM-DD, UTC)."),
    until: str | None = typer.Option(None, help="Last day, inclusive (YYYY-MM-DD, UTC)."),
    where: list[str] | None = typer.Option(None, help=WHERE_HELP),
    limit: int = typer.Option(
        10, help="Groups per period (the costliest); the rest are summed in one row. 0: all."
    ),
    mismatch: bool = typer.Option(
        False, "--mismatch", help="Instead: where reported and computed cost disagree."
    ),
    tolerance: float = typer.Option(
        0.01, help="With --mismatch: relative difference tolerated (0.01 = 1%)."
    ),
    price_file: Path | None = _price_file_option(),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Cost of what is in the ledger, by period and group, with the unpriced share."""
    from tokenstat import api
    from tokenstat.prices import cost as cost_module

    part = cost_module.Slice.parse(_day(since), _day(until), where)
    with state.ledger(read_only=True) as ledger:
        inputs = api.cost_inputs(ledger, state.catalog(), price_file)
        if mismatch:
            report = cost_module.mismatch_report(inputs, part=part, tolerance=tolerance)
        else:
            report = cost_module.cost_report(
                inputs, by=by, grain=period, mode=mode, part=part, limit=limit or None
            )
    if mismatch:
        _emit(report, "rows", as_json, as_csv, price_tables.mismatch_table)
    else:
        _emit(report, "rows", as_json, as_csv, price_tables.cost_table)


@command("whatif")
def whatif(
    on: list[str] | None = typer.Option(
        None, "--on", help="Candidate models, comma-separated (canonical ids)."
    ),
    cheapest_n: int | None = typer.Option(
        None, "--cheapest", help="Candidates: the N models with the lowest blended price."
    ),
    author_country: str | None = typer.Option(
        None,
        "--author-country",
        "--origin",
        help="With --cheapest: only models from this country (ISO code).",
    ),
    author: str | None = typer.Option(None, help="With --cheapest: only this author's models."),
    open_weights: str | None = typer.Option(
        None, "--open-weights", help="With --cheapest: open, closed or unknown."
    ),
    min_context: int | None = typer.Option(
        None, "--min-context", help="With --cheapest: at least this many tokens of context."
    ),
    mix: str | None = typer.Option(
        None, help="With --cheapest: rank by this input:output mix (default: the workload's)."
    ),
    provider: str | None = typer.Option(
        None, help="Price candidates at this provider (default: the lab's own, else OpenRouter's)."
    ),
    since: str | None = typer.Option(None, help="First day of the workload (YYYY-MM-DD, UTC)."),
    until: str | None = typer.Option(None, help="Last day, inclusive (YYYY-MM-DD, UTC)."),
    where: list[str] | None = typer.Option(None, help=WHERE_HELP),
    mode: str = typer.Option("auto", help="How the actual cost is taken. " + MODE_HELP),
    price_file: Path | None = _price_file_option(),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Price a slice of the ledger on other models: same tokens, each model's prices."""
    from tokenstat import api
    from tokenstat.prices import cost as cost_module
    from tokenstat.prices.table import cheapest, parse_mix, split_models
    from tokenstat.prices.whatif import whatif_report

    names = [name for text in on or [] for name in split_models(text)]
    if not names and not cheapest_n:
        raise QueryError("name candidates with --on a,b or ask for --cheapest N")
    part = cost_module.Slice.parse(_day(since), _day(until), where)
    catalog = state.catalog()
    with state.ledger(read_only=True) as ledger:
        inputs = api.cost_inputs(ledger, catalog, price_file)
        candidates = [catalog.resolve(name) for name in names]
        if cheapest_n:
            weights = parse_mix(mix) if mix else _workload_mix(inputs, part)
            as_of = part.until or _last_day(inputs)
            candidates += cheapest(
                inputs.book,
                catalog,
                cheapest_n,
                as_of=as_of,
                mix=weights,
                author=author,
                country=author_country,
                open_weights=open_weights,
                provider=provider,
                min_context=min_context,
            )
            if not candidates:
                raise QueryError("no priced model matches this selection")
        report = whatif_report(inputs, candidates, part=part, mode=mode, provider=provider)
    _emit(report, "rows", as_json, as_csv, price_tables.whatif_table)


def _workload_mix(inputs: cost_module.CostInputs, part: cost_module.Slice) -> tuple[float, float]:
    rows = part.apply(inputs.usage, inputs.attributed)
    totals = rows.aggregate(i=rows.input_tokens.sum(), o=rows.output_tokens.sum())
    row = totals.to_pyarrow().to_pylist()[0]
    i, o = float(row["i"] or 0), float(row["o"] or 0)
    return (i, o) if i + o > 0 else (3.0, 1.0)


def _last_day(inputs: cost_module.CostInputs):
    t = inputs.usage
    value = t.aggregate(d=t.day.max()).to_pyarrow().to_pylist()[0]["d"]
    return value or datetime.now(UTC).date()
