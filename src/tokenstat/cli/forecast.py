"""The forecast command: projections with intervals, backtest, milestones and multiples."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from tokenstat.cli import options as o
from tokenstat.cli.app import command, emit, state
from tokenstat.quantities import parse_amount


@command("forecast")
def forecast(
    ctx: typer.Context,
    by: o.By = "model",
    key: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY", help="Only this group (repeatable), e.g. --by origin --key CN."
        ),
    ] = None,
    period: o.Period = "week",
    at: o.At = None,
    since: o.Since = None,
    until: o.Until = None,
    last: o.hidden(o.Last) = 12,
    where: o.Where = None,
    source: o.Source = None,
    tokens: o.Tokens = "total",
    metric: o.Metric = "tokens",
    cost_mode: o.CostMode = "auto",
    mode: o.OldMode = None,
    limit: o.Limit = 10,
    horizon: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="How far: N periods, a year (2030: its last full period), a month (2030-06) "
            "or a day. Default: about a year ahead.",
        ),
    ] = None,
    until_reaches: Annotated[
        str | None,
        typer.Option(
            "--until-reaches",
            metavar="AMOUNT",
            help="When does each series first reach this level per period? e.g. 20T, 500B, $1M.",
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            metavar="METHOD", help="auto (the best in the backtest), cagr, loglinear or ets."
        ),
    ] = "auto",
    window: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Periods of growth that cagr and loglinear look at (default: 13 weeks, "
            "56 days, 12 months, 8 quarters, 4 halves, 5 years).",
        ),
    ] = None,
    backtest: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Longest horizon the backtest scores (default: 8 weeks, 28 days, ...).",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            metavar="DAY",
            help="Period the multiple is measured from (default: the last one in the data).",
        ),
    ] = None,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """Project tokens (or cost) ahead with intervals; backtest the methods; milestones.

    \b
    Examples:
      tokenstat forecast --by none --horizon 2027
      tokenstat forecast --by origin --key CN --until-reaches 20T
      tokenstat forecast --by model --limit 3 --metric cost --json
    """
    from tokenstat import api
    from tokenstat.forecast import forecast as run_forecast

    q = o.report_query(ctx, "forecast")
    threshold = parse_amount(until_reaches, what="--until-reaches") if until_reaches else None
    base_day = o.parse_day_option(base, "--base")
    with state.ledger(read_only=True) as ledger:
        catalog = state.catalog()
        p = o.prepare(ledger, catalog, q, priced=False)
        keys = tuple(key or ())
        if q.by in ("model", "author", "origin", "open_weights"):
            # as typed: any case, a model by alias or a part of its id
            known = o.known_models(catalog, o.attributed_models(p.ds))
            keys = tuple(o.resolve_value(q.by, k, catalog, known) for k in keys)
        cost = None
        if q.metric == "cost":
            # the same rows the token series read: days, --where, --source
            cost = api.cost_inputs(ledger, catalog)
            cost = dataclasses.replace(cost, usage=p.ds.usage)
        report = run_forecast(
            p.ds,
            by=None if q.by == "none" else q.by,
            keys=keys,
            grain=q.period,
            sel=p.sel,
            metric=q.metric,
            at=q.at,
            horizon=horizon,
            method=method,
            window=window,
            until_reaches=threshold,
            base=base_day,
            limit=q.limit or 10**6,
            backtest_horizons=backtest,
            cost=cost,
            cost_mode=q.cost_mode,
        )
    from tokenstat.render import forecast_tables

    emit(report, "forecast", **o.output(q), table=forecast_tables.forecast_table)
