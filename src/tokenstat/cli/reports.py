"""Report commands: summary, top, trend, lead."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import typer

from tokenstat.cli.app import CSV_OPTION, JSON_OPTION, command, emit, state
from tokenstat.periods import parse_day
from tokenstat.render import tables

if TYPE_CHECKING:
    from tokenstat.metrics import reports
    from tokenstat.metrics.reports import Selection

BY_HELP = (
    "Group by: model, author, origin, open_weights, provider, source, app, user, project, session."
)
PERIOD_HELP = "Period: day, week (ISO, Monday), month, quarter, half, year."
AT_HELP = "A day inside the period to report (YYYY-MM-DD); default: the latest period with data."
TOKENS_HELP = (
    "Token kind: total (input + output), input, output, cache_read, cache_write, reasoning."
)
SOURCE_HELP = "Only rows from this importer (repeatable), e.g. --source market."
METRIC_HELP = "What to add up: tokens, or cost (USD, each usage row priced; see tokenstat cost)."
COST_MODE_HELP = "With --metric cost: reported, computed or auto (reported, else computed)."


def _at(value: str | None) -> date | None:
    return parse_day(value) if value else None


def _selection(tokens: str, source: list[str] | None, metric: str = "tokens") -> Selection:
    from tokenstat.metrics.reports import Selection

    return Selection(kind=tokens, sources=tuple(source or ()), metric=metric)


def _dataset(ledger, metric: str, cost_mode: str) -> reports.Dataset:
    from tokenstat import api

    if metric == "cost":
        return api.cost_dataset(ledger, state.catalog(), cost_mode)
    return api.dataset(ledger, state.catalog())


@command("summary")
def summary(
    by: str = typer.Option("origin", help=BY_HELP),
    period: str = typer.Option("week", help=PERIOD_HELP),
    at: str | None = typer.Option(None, help=AT_HELP),
    tokens: str = typer.Option("total", help=TOKENS_HELP),
    source: list[str] | None = typer.Option(None, help=SOURCE_HELP),
    metric: str = typer.Option("tokens", help=METRIC_HELP),
    cost_mode: str = typer.Option("auto", "--cost-mode", help=COST_MODE_HELP),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Executive summary of one period: tokens, growth, share, shift, rank, leader streak."""
    from tokenstat.metrics import reports

    with state.ledger(read_only=True) as ledger:
        ds = _dataset(ledger, metric, cost_mode)
        report = reports.summary(
            ds, by=by, grain=period, at=_at(at), sel=_selection(tokens, source, metric)
        )
    emit(report, "summary", as_json=as_json, as_csv=as_csv, table=tables.summary_table)


@command("top")
def top(
    by: str = typer.Option("model", help=BY_HELP),
    period: str = typer.Option("week", help=PERIOD_HELP),
    at: str | None = typer.Option(None, help=AT_HELP),
    limit: int = typer.Option(10, help="How many groups to list."),
    tokens: str = typer.Option("total", help=TOKENS_HELP),
    source: list[str] | None = typer.Option(None, help=SOURCE_HELP),
    metric: str = typer.Option("tokens", help=METRIC_HELP),
    cost_mode: str = typer.Option("auto", "--cost-mode", help=COST_MODE_HELP),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """The largest models (or other groups) of one period, with growth and rank change."""
    from tokenstat.metrics import reports

    with state.ledger(read_only=True) as ledger:
        ds = _dataset(ledger, metric, cost_mode)
        report = reports.top(
            ds,
            by=by,
            grain=period,
            at=_at(at),
            limit=limit,
            sel=_selection(tokens, source, metric),
        )
    emit(report, "top", as_json=as_json, as_csv=as_csv, table=tables.top_table)


@command("trend")
def trend(
    by: str = typer.Option("origin", help=BY_HELP),
    period: str = typer.Option("week", help=PERIOD_HELP),
    last: int = typer.Option(12, help="How many periods, ending at --at."),
    at: str | None = typer.Option(None, help=AT_HELP),
    tokens: str = typer.Option("total", help=TOKENS_HELP),
    source: list[str] | None = typer.Option(None, help=SOURCE_HELP),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Tokens per period and group, with growth and share."""
    from tokenstat import api
    from tokenstat.metrics import reports

    with state.ledger(read_only=True) as ledger:
        ds = api.dataset(ledger, state.catalog())
        report = reports.trend(
            ds, by=by, grain=period, last=last, at=_at(at), sel=_selection(tokens, source)
        )
    emit(report, "trend", as_json=as_json, as_csv=as_csv, table=tables.trend_table)


@command("lead")
def lead(
    a: str = typer.Argument(..., help="The group that leads, e.g. CN."),
    b: str = typer.Argument(..., help="The group it is compared with, e.g. US."),
    by: str = typer.Option("origin", help=BY_HELP),
    period: str = typer.Option("week", help=PERIOD_HELP),
    at: str | None = typer.Option(None, help=AT_HELP),
    tokens: str = typer.Option("total", help=TOKENS_HELP),
    source: list[str] | None = typer.Option(None, help=SOURCE_HELP),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Lead streak of A over B and the first crossover."""
    from tokenstat import api
    from tokenstat.metrics import reports

    with state.ledger(read_only=True) as ledger:
        ds = api.dataset(ledger, state.catalog())
        report = reports.lead(
            ds, a, b, by=by, grain=period, at=_at(at), sel=_selection(tokens, source)
        )
    emit(report, "lead", as_json=as_json, as_csv=as_csv, table=tables.lead_table)
