"""Report commands: summary, top, trend, lead (options from `tokenstat.cli.options`)."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import typer

from tokenstat.cli import options as o
from tokenstat.cli.app import command, emit, state


def groups_left_out(report: dict[str, Any], limit: int, value_key: str) -> str | None:
    """The note under a table cut to ``limit`` groups: how many more there are and their
    share of the period (``report["groups"]`` of `tokenstat.metrics.reports.summary`)."""
    from tokenstat.render import numbers as fmt

    rest = report["groups"][limit:] if limit else []
    if not rest:
        return None
    share = sum(g["share"] or 0 for g in rest)
    n = len(rest)
    return (
        f"{n} more group{'s' if n != 1 else ''} ({fmt.pct(share, 1)} of {value_key}) not "
        "listed; --limit 0 for all"
    )


def summary_table(limit: int):
    """`tables.summary_table` of the ``limit`` largest groups (0: all); totals keep every
    group."""

    def table(report: dict[str, Any]) -> Any:
        from tokenstat.render import tables

        groups = report["groups"][:limit] if limit else report["groups"]
        return tables.summary_table({**report, "groups": groups})

    return table


@command("summary")
def summary(
    ctx: typer.Context,
    by: o.By = "model",
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
    limit: o.Limit = 10,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """Executive summary of one period: tokens, growth, share, shift, rank, leader streak.

    \b
    Examples:
      tokenstat summary --by origin
      tokenstat summary --by author --period month --at last-month
      tokenstat summary --metric cost --since 30d --where origin=CN --json
    """
    from tokenstat.metrics import reports

    q = o.report_query(ctx, "summary")
    with state.ledger(read_only=True) as ledger:
        p = o.prepare(ledger, state.catalog(), q)
        report = reports.summary(p.ds, by=q.by, grain=q.period, at=q.at, sel=p.sel)
    # --limit shapes the table; the JSON holds every group (the contract, as the dashboard's)
    emit(
        report,
        "summary",
        **o.output(q),
        table=summary_table(q.limit),
        note=groups_left_out(report, q.limit, p.sel.value_key),
    )


@command("top")
def top(
    ctx: typer.Context,
    by: o.By = "model",
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
    limit: o.Limit = 10,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """The largest models (or other groups) of one period, with growth and rank change.

    \b
    Examples:
      tokenstat top
      tokenstat top --by author --limit 5 --at 2026-04-05
      tokenstat top --metric cost --period month --csv
    """
    from tokenstat.metrics import reports

    q = o.report_query(ctx, "top")
    with state.ledger(read_only=True) as ledger:
        p = o.prepare(ledger, state.catalog(), q)
        report = reports.top(
            p.ds, by=q.by, grain=q.period, at=q.at, limit=q.limit or 10**9, sel=p.sel
        )
    from tokenstat.render import tables

    emit(report, "top", **o.output(q), table=tables.top_table)


def trend_table(limit: int):
    """`tables.trend_table` with the ``limit`` largest groups as columns, the rest in an
    ``others`` column it names (0: every group a column)."""
    from tokenstat.render import tables

    return functools.partial(tables.trend_table, limit=limit or 10**6)


@command("trend")
def trend(
    ctx: typer.Context,
    by: o.By = "model",
    period: o.Period = "week",
    at: o.At = None,
    since: o.Since = None,
    until: o.Until = None,
    last: o.Last = 12,
    where: o.Where = None,
    source: o.Source = None,
    tokens: o.Tokens = "total",
    metric: o.Metric = "tokens",
    cost_mode: o.CostMode = "auto",
    limit: o.Limit = 10,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """Tokens (or cost) per period and group, with growth and share.

    \b
    Examples:
      tokenstat trend --by origin
      tokenstat trend --by model --limit 5 --last 8
      tokenstat trend --metric cost --period month --since 2026-01-01
    """
    from tokenstat.metrics import reports

    q = o.report_query(ctx, "trend")
    with state.ledger(read_only=True) as ledger:
        p = o.prepare(ledger, state.catalog(), q)
        report = reports.trend(p.ds, by=q.by, grain=q.period, last=q.last, at=q.at, sel=p.sel)
    # --limit shapes the table (the others column); the JSON holds every group
    emit(report, "trend", **o.output(q), table=trend_table(q.limit))


@command("lead")
def lead(
    ctx: typer.Context,
    group_a: Annotated[
        str, typer.Argument(metavar="A", help="The group that leads, e.g. CN, deepseek.")
    ],
    group_b: Annotated[
        str, typer.Argument(metavar="B", help="The group it is compared with, e.g. US, openai.")
    ],
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="DIM",
            help=o.BY_HELP + " Default: from A and B (country codes: origin; labs: author; "
            "else model).",
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
    limit: o.hidden(o.Limit) = 10,
    as_json: o.Json = False,
    as_csv: o.Csv = False,
) -> None:
    """Lead streak of A over B and the first crossover.

    \b
    Examples:
      tokenstat lead CN US
      tokenstat lead deepseek openai --period month
      tokenstat lead deepseek-chat gpt-4o --by model --json
    """
    from tokenstat.catalog.names import pair_dimension
    from tokenstat.metrics import reports

    q = o.report_query(ctx, "lead")
    catalog = state.catalog()
    dim = q.by if by else pair_dimension(group_a, group_b, catalog)
    with state.ledger(read_only=True) as ledger:
        p = o.prepare(ledger, catalog, q)
        if dim == "model":
            # aliases and partial names, as everywhere a model is typed
            known = o.known_models(catalog, o.attributed_models(p.ds))
            group_a, group_b = (
                o.resolve_value("model", n, catalog, known) for n in (group_a, group_b)
            )
        report = reports.lead(p.ds, group_a, group_b, by=dim, grain=q.period, at=q.at, sel=p.sel)
    from tokenstat.render import tables

    emit(report, "lead", **o.output(q), table=tables.lead_table)
