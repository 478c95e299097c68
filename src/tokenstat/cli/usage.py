"""Own-usage commands: daily, weekly, monthly, session, blocks.

Each refreshes the local agent logs first (every importer that knows a default location,
reading only new or grown files), then reports from the ledger. ``--no-refresh`` skips it.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from tokenstat.cli.app import CSV_OPTION, JSON_OPTION, command, emit, err, state

if TYPE_CHECKING:
    from tokenstat.usage.query import UsageQuery

SINCE = typer.Option(
    None,
    "--since",
    metavar="DAY",
    help="First local day: YYYY-MM-DD, today, yesterday, 7d, 4w, 3m, this-week, last-month.",
)
UNTIL = typer.Option(
    None, "--until", metavar="DAY", help="Last local day, inclusive (same forms as --since)."
)
TZ = typer.Option(
    None,
    "--tz",
    metavar="ZONE",
    help="Time zone of the days, e.g. Europe/Berlin (default: this machine's, else UTC).",
)
BY = typer.Option(
    None,
    "--by",
    metavar="DIM",
    help="One row per period and: model, project, agent, user, machine.",
)
BREAKDOWN = typer.Option(False, "--breakdown", help="One line per model under each row.")
COST_MODE = typer.Option(
    "auto",
    "--cost-mode",
    metavar="MODE",
    help="reported, computed or auto (reported, else computed).",
)
SOURCE = typer.Option(None, "--source", metavar="NAME", help="Only rows of this importer.")
WHERE = typer.Option(
    None,
    "--where",
    metavar="DIM=VALUE",
    help="Only rows where DIM (model, project, agent, machine, "
    "user, session, provider) equals VALUE (repeatable).",
)
ORDER = typer.Option("asc", "--order", metavar="asc|desc", help="Oldest first, or newest.")
NO_REFRESH = typer.Option(
    False, "--no-refresh", help="Do not read new agent logs first; report on the ledger as is."
)

_WHERE_COLUMNS = {"agent": "app"}


def local_zone_name() -> str:
    from tokenstat.usage.query import local_zone_name

    return local_zone_name()


def _days(since: str | None, until: str | None, tz: str) -> tuple[date | None, date | None]:
    """``--since``/``--until`` as local days in ``tz`` (relative forms count from today
    there): the first day of the one's span, the last of the other's."""
    from datetime import datetime

    from tokenstat.periods import parse_date_span
    from tokenstat.usage.query import zone

    today = datetime.now(zone(tz)).date()
    first = parse_date_span(since, today)[0] if since else None
    last = parse_date_span(until, today)[1] if until else None
    return first, last


def _where(pairs: list[str] | None) -> tuple[tuple[str, str], ...]:
    from tokenstat.errors import QueryError

    out = []
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QueryError(f"--where takes DIM=VALUE, got {pair!r}")
        key = key.strip().lower()
        out.append((_WHERE_COLUMNS.get(key, key), value))
    return tuple(out)


def _query(
    since: str | None,
    until: str | None,
    tz: str | None,
    *,
    cost_mode: str,
    source: list[str] | None,
    where: list[str] | None,
    order: str,
    **rest: Any,
) -> UsageQuery:
    """The `UsageQuery` of a usage command's options (``rest``: grain, by, breakdown)."""
    from tokenstat.usage.query import UsageQuery

    zone_name = tz or local_zone_name()
    first, last = _days(since, until, zone_name)
    return UsageQuery(
        since=first,
        until=last,
        tz=zone_name,
        mode=cost_mode,
        sources=tuple(source or ()),
        where=_where(where),
        order=order,
        **rest,
    )


def _report(kind: str, q: UsageQuery, no_refresh: bool, **extra: Any) -> dict[str, Any]:
    from tokenstat import usage

    def imported(name: str, result: Any) -> None:
        if result.rows_new:
            err.print(f"{name}: {result.rows_new:,} new rows", style="dim", highlight=False)

    return usage.run(
        kind,
        q,
        db_path=state.db,
        catalog_file=state.catalog_file,
        refresh=not no_refresh,
        on_busy=lambda line: err.print(line, style="yellow", highlight=False),
        on_import=imported,
        **extra,
    )


def _emit(report: dict[str, Any], *, as_json: bool, as_csv: bool, table: Any) -> None:
    """JSON, CSV (`_csv_rows`) or a table, as `emit` prints every report."""
    if as_csv:
        from tokenstat.render.formats import to_csv

        sys.stdout.write(to_csv(_csv_rows(report)))
        return
    emit(report, "usage", as_json=as_json, as_csv=False, table=table)


def _csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat rows: one per row, or one per (row, model) when the report has a breakdown."""
    rows = []
    for row in report["rows"]:
        flat = {k: v for k, v in row.items() if k not in ("breakdown", "burn_rate", "projection")}
        flat["models"] = ";".join(row["models"])
        if "breakdown" in row:
            for part in row["breakdown"]:
                rows.append({**flat, **part, "models": part["model"]})
        else:
            rows.append(flat)
    return rows


def _period_command(name: str, grain: str, doc: str) -> None:
    def run(
        since: str | None = SINCE,
        until: str | None = UNTIL,
        tz: str | None = TZ,
        by: str | None = BY,
        breakdown: bool = BREAKDOWN,
        cost_mode: str = COST_MODE,
        source: list[str] | None = SOURCE,
        where: list[str] | None = WHERE,
        order: str = ORDER,
        no_refresh: bool = NO_REFRESH,
        as_json: bool = JSON_OPTION,
        as_csv: bool = CSV_OPTION,
    ) -> None:
        from tokenstat.render.usage_tables import period_table

        q = _query(
            since,
            until,
            tz,
            cost_mode=cost_mode,
            source=source,
            where=where,
            order=order,
            grain=grain,
            by=by.lower() if by else None,
            breakdown=breakdown,
        )
        report = _report("period", q, no_refresh)
        _emit(report, as_json=as_json, as_csv=as_csv, table=period_table)

    run.__doc__ = doc
    run.__name__ = name
    command(name)(run)


_period_command(
    "daily",
    "day",
    """Tokens and cost per local day: input, output, cache write, cache read, reasoning.

    \b
    Examples:
      tokenstat daily
      tokenstat daily --breakdown --since 7d --json
      tokenstat daily --by project --tz Europe/Berlin
    """,
)
_period_command(
    "weekly",
    "week",
    """Tokens and cost per ISO week (Monday to Sunday, local days).

    \b
    Examples:
      tokenstat weekly
      tokenstat weekly --by project
    """,
)
_period_command(
    "monthly",
    "month",
    """Tokens and cost per calendar month (local days).

    \b
    Examples:
      tokenstat monthly --breakdown
      tokenstat monthly --by agent --json
    """,
)


@command("session")
def session(
    since: str | None = SINCE,
    until: str | None = UNTIL,
    tz: str | None = TZ,
    breakdown: bool = BREAKDOWN,
    cost_mode: str = COST_MODE,
    source: list[str] | None = SOURCE,
    where: list[str] | None = WHERE,
    order: str = ORDER,
    no_refresh: bool = NO_REFRESH,
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """One row per session: project, agent, models, first and last activity, tokens, cost.

    \b
    Examples:
      tokenstat session
      tokenstat session --since this-week --order desc
      tokenstat session --where project=/home/me/shop --json
    """
    from tokenstat.render.usage_tables import session_table

    q = _query(
        since,
        until,
        tz,
        cost_mode=cost_mode,
        source=source,
        where=where,
        order=order,
        breakdown=breakdown,
    )
    report = _report("session", q, no_refresh)
    _emit(report, as_json=as_json, as_csv=as_csv, table=session_table)


@command("blocks")
def blocks(
    active: bool = typer.Option(False, "--active", help="Only the current block."),
    token_limit: int | None = typer.Option(
        None, "--token-limit", metavar="N", min=1, help="Tokens a block may use: share used."
    ),
    since: str | None = SINCE,
    until: str | None = UNTIL,
    cost_mode: str = COST_MODE,
    source: list[str] | None = SOURCE,
    where: list[str] | None = WHERE,
    order: str = ORDER,
    no_refresh: bool = NO_REFRESH,
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """5-hour billing blocks, with the active block's burn rate and projected cost.

    A block starts at its first message, floored to the hour (UTC), as Anthropic bills.

    \b
    Examples:
      tokenstat blocks --active
      tokenstat blocks --since 2026-11-24 --token-limit 2000000 --json
    """
    from tokenstat.render.usage_tables import blocks_table

    # blocks are UTC hours: --since/--until are UTC days here
    q = _query(since, until, "UTC", cost_mode=cost_mode, source=source, where=where, order=order)
    report = _report("blocks", q, no_refresh, active_only=active, token_limit=token_limit)
    if active and not report["rows"] and not (as_json or as_csv):
        err.print("no active block: nothing in the last 5 hours", highlight=False)
        sys.exit(0)
    _emit(report, as_json=as_json, as_csv=as_csv, table=blocks_table)
