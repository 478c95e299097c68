"""The forecast command: projections with intervals, backtest, milestones and multiples."""

from __future__ import annotations

import typer

from tokenstat.cli.app import CSV_OPTION, JSON_OPTION, command, emit, state
from tokenstat.cli.reports import PERIOD_HELP, SOURCE_HELP, TOKENS_HELP, _at, _selection
from tokenstat.quantities import parse_amount
from tokenstat.render import forecast_tables

BY_HELP = (
    "Forecast each group of this dimension (model, author, origin, ...); "
    "default: one series of everything."
)


@command("forecast")
def forecast(
    by: str | None = typer.Option(None, help=BY_HELP),
    key: list[str] | None = typer.Option(
        None, help="Only this group (repeatable), e.g. --by origin --key CN."
    ),
    period: str = typer.Option("week", help=PERIOD_HELP),
    metric: str = typer.Option("tokens", help="What to forecast: tokens, or cost (USD)."),
    mode: str = typer.Option(
        "auto", help="With --metric cost: reported, computed (tokens x prices) or auto."
    ),
    horizon: str | None = typer.Option(
        None,
        help="How far: N periods, a year (2030: its last full period), a month (2030-06) "
        "or a day. Default: about a year ahead.",
    ),
    until_reaches: str | None = typer.Option(
        None,
        "--until-reaches",
        help="When does each series first reach this level per period? e.g. 20T, 500B, $1M.",
    ),
    method: str = typer.Option(
        "auto",
        help="auto (the best in the backtest), cagr, loglinear or ets.",
    ),
    window: int | None = typer.Option(
        None,
        help="Periods of growth that cagr and loglinear look at (default: 13 weeks, "
        "56 days, 12 months, 8 quarters, 4 halves, 5 years).",
    ),
    backtest: int | None = typer.Option(
        None, help="Longest horizon the backtest scores (default: 8 weeks, 28 days, ...)."
    ),
    at: str | None = typer.Option(
        None, help="Forecast as if the data ended with the period containing this day."
    ),
    base: str | None = typer.Option(
        None, help="Period the multiple is measured from (default: the last one in the data)."
    ),
    limit: int = typer.Option(10, help="With --by and no --key: how many of the largest groups."),
    tokens: str = typer.Option("total", help=TOKENS_HELP),
    source: list[str] | None = typer.Option(None, help=SOURCE_HELP),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Project tokens (or cost) ahead with intervals; backtest the methods; milestones."""
    from tokenstat import api
    from tokenstat.forecast import forecast as run_forecast

    threshold = parse_amount(until_reaches, what="--until-reaches") if until_reaches else None
    with state.ledger(read_only=True) as ledger:
        ds = api.dataset(ledger, state.catalog())
        cost = api.cost_inputs(ledger, state.catalog()) if metric == "cost" else None
        report = run_forecast(
            ds,
            by=by,
            keys=tuple(key or ()),
            grain=period,
            sel=_selection(tokens, source),
            metric=metric,
            at=_at(at),
            horizon=horizon,
            method=method,
            window=window,
            until_reaches=threshold,
            base=_at(base),
            limit=limit,
            backtest_horizons=backtest,
            cost=cost,
            cost_mode=mode,
        )
    emit(report, "forecast", as_json=as_json, as_csv=as_csv, table=forecast_tables.forecast_table)
