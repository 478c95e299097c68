"""Price commands: prices (the market's price table), cost (of the ledger), whatif."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tokenstat.cli import options as o
from tokenstat.cli.app import command, out, state
from tokenstat.errors import QueryError
from tokenstat.render.formats import to_csv, to_json

if TYPE_CHECKING:
    from tokenstat.prices import cost as cost_module

PRICE_FILE_HELP = (
    "Your price file (YAML or CSV: negotiated rates, private models); it wins over every "
    "other price. Default: $TOKENSTAT_PRICES, else prices.yaml in the user config dir."
)
MIX_HELP = "Input:output token mix of the blended price, e.g. 3:1."

PriceFile = Annotated[
    Path | None, typer.Option("--file", "--prices-file", metavar="FILE", help=PRICE_FILE_HELP)
]


def _emit(report: dict, rows_key: str, as_json: bool, as_csv: bool, table) -> None:
    if as_json and as_csv:
        raise QueryError("choose one of --json and --csv")
    if as_json:
        sys.stdout.write(to_json(report) + "\n")
    elif as_csv:
        sys.stdout.write(to_csv(report[rows_key]))
    else:
        out.print(table(report))


def _price_tables():
    """`tokenstat.render.price_tables`, imported when a command prints."""
    from tokenstat.render import price_tables

    return price_tables


def _ledger_or_none():
    """The ledger when it exists (its OpenRouter snapshots count), else None."""
    from tokenstat.ledger import Ledger, default_ledger_path

    path = state.db or default_ledger_path()
    return Ledger.open(path, read_only=True) if Path(path).exists() else None


@command("prices")
def prices(
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            "--model",
            metavar="MODEL[,MODEL]",
            help="Models to list, comma-separated or repeated (ids or names: deepseek-chat).",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL",
            help="Model to compare with, e.g. openai/gpt-4: ratios and savings per kind.",
        ),
    ] = None,
    author: Annotated[
        str | None, typer.Option(metavar="AUTHOR", help="Only this author's (lab's) models.")
    ] = None,
    author_country: Annotated[
        str | None,
        typer.Option(
            "--author-country",
            "--origin",
            metavar="CC",
            help="Only models whose author is in this country (ISO code, e.g. CN).",
        ),
    ] = None,
    open_weights: Annotated[
        str | None,
        typer.Option(
            "--open-weights",
            metavar="CLASS",
            help="Only models of this class: open, closed, unknown.",
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            metavar="PROVIDER",
            help="Prices at this provider (default: the lab's own, else OpenRouter's).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DAY",
            help="Prices on this day (YYYY-MM-DD, yesterday, ...; default: today, UTC).",
        ),
    ] = None,
    mix: Annotated[str, typer.Option(metavar="IN:OUT", help=MIX_HELP)] = "3:1",
    min_context: Annotated[
        int | None,
        typer.Option(
            "--min-context",
            metavar="TOKENS",
            help="Only models with at least this many tokens of context.",
        ),
    ] = None,
    price_file: PriceFile = None,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """Price table: input, output and cache-read prices per million tokens, against a baseline.

    \b
    Examples:
      tokenstat prices --origin CN --baseline gpt-4
      tokenstat prices --models deepseek-chat,gpt-4o-mini --as-of 2026-04-01
      tokenstat prices --author anthropic --json
    """
    from tokenstat import api
    from tokenstat.prices.table import parse_mix, price_table, split_models

    day = o.parse_day_option(as_of, "--as-of") or datetime.now(UTC).date()
    names = [name for text in models or [] for name in split_models(text)]
    catalog = state.catalog()
    ledger = _ledger_or_none()
    try:
        book = api.price_book(ledger, catalog, price_file)
        in_ledger = ledger.models_in_use() if ledger is not None else []
    finally:
        if ledger is not None:
            ledger.close()
    known = o.known_models(catalog, [*book.models(), *in_ledger])
    accept = o.priceable(book)
    names = [o.resolve_value("model", name, catalog, known, accept) for name in names]
    if baseline:
        baseline = o.resolve_value("model", baseline, catalog, known, accept)
    report = price_table(
        book,
        catalog,
        models=names or None,
        author=author,
        country=author_country,
        open_weights=open_weights.lower() if open_weights else None,
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
        lambda r: _price_tables().prices_table(r, width=out.width),
    )


@command("cost")
def cost(
    ctx: typer.Context,
    by: o.By = "model",
    period: o.Period = "week",
    at: o.hidden(o.At) = None,
    since: o.Since = None,
    until: o.Until = None,
    last: o.hidden(o.Last) = 12,
    where: o.Where = None,
    source: o.Source = None,
    tokens: o.hidden(o.Tokens) = "total",
    metric: o.hidden(o.Metric) = "tokens",
    cost_mode: o.CostMode = "auto",
    mode: o.OldMode = None,
    limit: o.Limit = 10,
    mismatch: Annotated[
        bool,
        typer.Option("--mismatch", help="Instead: where reported and computed cost disagree."),
    ] = False,
    tolerance: Annotated[
        float,
        typer.Option(
            metavar="FRACTION", help="With --mismatch: relative difference tolerated (0.01 = 1%)."
        ),
    ] = 0.01,
    price_file: PriceFile = None,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """Cost of what is in the ledger, by period and group, with the unpriced share.

    Each period lists its --limit costliest groups and sums the rest in one row.

    \b
    Examples:
      tokenstat cost --period month
      tokenstat cost --by app --since 30d --source claude-code
      tokenstat cost --mismatch --tolerance 0.05
    """
    from tokenstat import api
    from tokenstat.prices import cost as cost_module

    q = o.report_query(ctx, "cost")
    catalog = state.catalog()
    with state.ledger(read_only=True) as ledger:
        inputs = api.cost_inputs(ledger, catalog, price_file)
        part = o.cost_slice(q, catalog, _models_of(inputs))
        if mismatch:
            report = cost_module.mismatch_report(inputs, part=part, tolerance=tolerance)
        else:
            report = cost_module.cost_report(
                inputs, by=q.by, grain=q.period, mode=q.cost_mode, part=part, limit=q.limit or None
            )
    price_tables = _price_tables()
    table = price_tables.mismatch_table if mismatch else price_tables.cost_table
    _emit(report, "rows", q.as_json, q.as_csv, table)


@command("whatif")
def whatif(
    ctx: typer.Context,
    on: Annotated[
        list[str] | None,
        typer.Option(
            "--on",
            metavar="MODEL[,MODEL]",
            help="Candidate models, comma-separated or repeated (ids or names: deepseek-chat).",
        ),
    ] = None,
    cheapest_n: Annotated[
        int | None,
        typer.Option(
            "--cheapest",
            metavar="N",
            help="Candidates: the N models with the lowest blended price.",
        ),
    ] = None,
    author_country: Annotated[
        str | None,
        typer.Option(
            "--author-country",
            "--origin",
            metavar="CC",
            help="With --cheapest: only models from this country (ISO code).",
        ),
    ] = None,
    author: Annotated[
        str | None,
        typer.Option(metavar="AUTHOR", help="With --cheapest: only this author's models."),
    ] = None,
    open_weights: Annotated[
        str | None,
        typer.Option(
            "--open-weights", metavar="CLASS", help="With --cheapest: open, closed or unknown."
        ),
    ] = None,
    min_context: Annotated[
        int | None,
        typer.Option(
            "--min-context",
            metavar="TOKENS",
            help="With --cheapest: at least this many tokens of context.",
        ),
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option(
            metavar="IN:OUT",
            help="With --cheapest: rank by this input:output mix (default: the workload's).",
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            metavar="PROVIDER",
            help="Price candidates at this provider (default: the lab's own, else OpenRouter's).",
        ),
    ] = None,
    by: o.hidden(o.By) = "model",
    period: o.hidden(o.Period) = "week",
    at: o.hidden(o.At) = None,
    since: o.Since = None,
    until: o.Until = None,
    last: o.hidden(o.Last) = 12,
    where: o.Where = None,
    source: o.Source = None,
    tokens: o.hidden(o.Tokens) = "total",
    metric: o.hidden(o.Metric) = "tokens",
    cost_mode: o.CostMode = "auto",
    mode: o.OldMode = None,
    limit: o.hidden(o.Limit) = 10,
    price_file: PriceFile = None,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """Price a slice of the ledger on other models: same tokens, each model's prices.

    \b
    Examples:
      tokenstat whatif --on deepseek-chat,gpt-4o-mini
      tokenstat whatif --cheapest 5 --origin CN --since last-month
      tokenstat whatif --on deepseek/deepseek-v3.2 --where app=support-bot --json
    """
    from tokenstat import api
    from tokenstat.prices.table import cheapest, parse_mix, split_models
    from tokenstat.prices.whatif import whatif_report

    q = o.report_query(ctx, "whatif")
    names = [name for text in on or [] for name in split_models(text)]
    if not names and not cheapest_n:
        raise QueryError(
            "name candidates with --on a,b or ask for --cheapest N",
            hint="e.g. tokenstat whatif --on deepseek-chat",
        )
    catalog = state.catalog()
    with state.ledger(read_only=True) as ledger:
        inputs = api.cost_inputs(ledger, catalog, price_file)
        known = _models_of(inputs) | set(inputs.book.models())
        part = o.cost_slice(q, catalog, known)
        accept = o.priceable(inputs.book)
        candidates = [o.resolve_value("model", n, catalog, known, accept) for n in names]
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
        report = whatif_report(inputs, candidates, part=part, mode=q.cost_mode, provider=provider)
    _emit(report, "rows", q.as_json, q.as_csv, _price_tables().whatif_table)


def _models_of(inputs: cost_module.CostInputs) -> set[str]:
    """Canonical ids a typed model may mean in a cost report: the catalog's and the
    ledger's."""
    return o.known_models(state.catalog(), o.table_models(inputs.attributed))


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
