"""The report options, declared once: Typer ``Annotated`` aliases and `ReportQuery`.

Every report command (summary, top, trend, lead, cost, whatif, forecast, chart, report)
declares these options with the same names, help, metavars and defaults, and builds one
`ReportQuery` from them with `report_query`. An option a command cannot honour is still
declared, and giving it is one clear error (`UNSUPPORTED` says which and why), never a
silent no-op. `prepare` turns a query into what the reports read: the dataset restricted
to ``--since``/``--until``/``--where``, the `Selection`, and the period ``--at`` picks.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tokenstat.errors import QueryError
from tokenstat.periods import DATE_FORMS, GRAINS, parse_date_span, utc_today

if TYPE_CHECKING:
    from tokenstat.catalog import Catalog
    from tokenstat.ledger import Ledger
    from tokenstat.metrics.reports import Dataset, Selection
    from tokenstat.prices.cost import Slice

# what --by, --where name (and the synonyms people use for them)
BY_CHOICES = (
    "model",
    "author",
    "origin",
    "open_weights",
    "provider",
    "source",
    "app",
    "user",
    "project",
    "session",
    "none",
)
WHERE_CHOICES = BY_CHOICES[:-1]
DIMENSION_SYNONYMS = {"country": "origin", "lab": "author", "open-weights": "open_weights"}
TOKEN_KINDS = ("total", "input", "output", "cache_read", "cache_write", "reasoning")
METRICS = ("tokens", "cost")
COST_MODES = ("reported", "computed", "auto")

BY_HELP = (
    "Group by: model, author, origin (or country), open_weights, provider, source, app, "
    "user, project, session; none: one total."
)
PERIOD_HELP = "Period: day, week (ISO, Monday), month, quarter, half, year."
AT_HELP = (
    "A day inside the period to report (DAY: YYYY-MM-DD, today, yesterday, ...); "
    "default: the latest complete period."
)
SINCE_HELP = "Only rows from this day on (YYYY-MM-DD, today, 7d, 4w, 3m, this-week, last-month)."
UNTIL_HELP = "Only rows up to this day, inclusive (same forms as --since; UTC days)."
LAST_HELP = "How many periods to show, ending at --at."
WHERE_HELP = (
    "Only rows where DIM=VALUE (repeatable), DIM one of the --by names, e.g. origin=CN, "
    "model=deepseek-chat, app=support-bot."
)
SOURCE_HELP = "Only rows from this importer (repeatable), e.g. --source market."
TOKENS_HELP = (
    "Token kind: total (input + output), input, output, cache_read, cache_write, reasoning."
)
METRIC_HELP = "What to add up: tokens, or cost (USD, each usage row priced; see tokenstat cost)."
COST_MODE_HELP = (
    "How cost is taken: reported, computed (tokens x prices) or auto (reported, else computed)."
)
LIMIT_HELP = "How many groups to list (the largest first); 0: all."
JSON_HELP = "Print JSON (the stable contract) on stdout."
CSV_HELP = "Print the report's rows as CSV on stdout."

By = Annotated[str, typer.Option("--by", help=BY_HELP, metavar="DIM")]
Period = Annotated[str, typer.Option("--period", help=PERIOD_HELP, metavar="PERIOD")]
At = Annotated[str | None, typer.Option("--at", help=AT_HELP, metavar="DAY", show_default=False)]
Since = Annotated[str | None, typer.Option("--since", help=SINCE_HELP, metavar="DAY")]
Until = Annotated[str | None, typer.Option("--until", help=UNTIL_HELP, metavar="DAY")]
Last = Annotated[int, typer.Option("--last", help=LAST_HELP, metavar="N")]
Where = Annotated[list[str] | None, typer.Option("--where", help=WHERE_HELP, metavar="DIM=VALUE")]
Source = Annotated[list[str] | None, typer.Option("--source", help=SOURCE_HELP, metavar="NAME")]
Tokens = Annotated[str, typer.Option("--tokens", help=TOKENS_HELP, metavar="KIND")]
Metric = Annotated[str, typer.Option("--metric", help=METRIC_HELP, metavar="tokens|cost")]
CostMode = Annotated[str, typer.Option("--cost-mode", help=COST_MODE_HELP, metavar="MODE")]
# the --mode of cost, whatif and forecast before --cost-mode: still taken, not shown
OldMode = Annotated[str | None, typer.Option("--mode", hidden=True)]
Limit = Annotated[int, typer.Option("--limit", help=LIMIT_HELP, metavar="N")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
Csv = Annotated[bool, typer.Option("--csv", help=CSV_HELP)]


def hidden(alias: Any) -> Any:
    """The same option, left out of ``--help``: for a command that cannot honour it (it is
    still declared, so that giving it is a clear error; see `UNSUPPORTED`)."""
    base, info = typing.get_args(alias)
    info = copy.copy(info)
    info.hidden = True
    return Annotated[base, info]


# the parameter names of the shared options (as Typer names them from the signature)
SHARED = (
    "by",
    "period",
    "at",
    "since",
    "until",
    "last",
    "where",
    "source",
    "tokens",
    "metric",
    "cost_mode",
    "limit",
    "as_json",
    "as_csv",
)

# what a command cannot honour, and the reason its error gives
_ONE_PERIOD = "it reports one period; use trend for several"
_A_SPAN = "it reports the span --since/--until select"
_FIXED = "its sections fix their own grouping"
UNSUPPORTED: dict[str, dict[str, str]] = {
    "summary": {"last": _ONE_PERIOD},
    "top": {"last": _ONE_PERIOD},
    "trend": {},
    "lead": {"last": "it lists every period of the streak", "limit": "it compares two groups"},
    "cost": {
        "at": _A_SPAN,
        "last": _A_SPAN,
        "tokens": "it prices every token kind",
        "metric": "it always reports cost",
    },
    "whatif": {
        "by": "it prices the whole slice on each candidate",
        "period": _A_SPAN,
        "at": _A_SPAN,
        "last": _A_SPAN,
        "tokens": "it prices every token kind",
        "metric": "it always reports cost",
        "limit": "it lists every candidate named",
    },
    "forecast": {"last": "--window sets how much history the methods read"},
    "chart": {"metric": "charts draw tokens", "cost_mode": "charts draw tokens"},
    "report": {"by": _FIXED, "metric": _FIXED, "cost_mode": _FIXED},
}


@dataclass(frozen=True)
class ReportQuery:
    """What a report is asked for, as every report command reads it (defaults are the
    CLI's). Dates are UTC days; ``since``/``until`` restrict the rows (inclusive),
    ``at`` picks the period; ``where`` holds (dimension, value as typed) pairs; ``limit``
    0 means all groups."""

    by: str = "model"
    period: str = "week"
    at: date | None = None
    since: date | None = None
    until: date | None = None
    last: int = 12
    where: tuple[tuple[str, str], ...] = ()
    sources: tuple[str, ...] = ()
    tokens: str = "total"
    metric: str = "tokens"
    cost_mode: str = "auto"
    limit: int = 10
    as_json: bool = False
    as_csv: bool = False
    # the shared options given on the command line (not left at their default)
    given: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def restricted(self) -> bool:
        return bool(self.since or self.until or self.where)


def _given(ctx: typer.Context, name: str) -> bool:
    """True when option ``name`` came from the command line (or the environment)."""
    source = ctx.get_parameter_source(name)
    # by name: Typer carries its own copy of click's ParameterSource enum
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _day(text: str | None, end: bool, option: str, today: date) -> date | None:
    if not text:
        return None
    try:
        first, last = parse_date_span(text, today)
    except QueryError as exc:
        raise QueryError(f"{option}: {exc}") from None
    return min(last, today) if end else first


def parse_where(texts: Iterable[str] | None) -> tuple[tuple[str, str], ...]:
    """``DIM=VALUE`` strings as (dimension, value) pairs; DIM matched like ``--by``."""
    from tokenstat.catalog.names import match_choice

    pairs = []
    for text in texts or ():
        dim, sep, value = text.partition("=")
        if not sep or not dim.strip() or not value.strip():
            raise QueryError(
                f"--where takes DIM=VALUE, e.g. origin=CN, not {text!r}",
                hint="DIM is one of: " + ", ".join(WHERE_CHOICES),
            )
        dim = match_choice(
            dim, WHERE_CHOICES, what="dimension", option="--where", synonyms=DIMENSION_SYNONYMS
        )
        pairs.append((dim, value.strip()))
    return tuple(pairs)


def report_query(ctx: typer.Context, command: str, *, today: date | None = None) -> ReportQuery:
    """The `ReportQuery` of a report command, from its parsed parameters (``ctx.params``).

    Names are matched case-insensitively (``--by Country`` is origin); relative dates are
    resolved against ``today`` (default: today, UTC). Raises `QueryError` for an option
    ``command`` cannot honour, or for ``--json`` with ``--csv``.
    """
    from tokenstat.catalog.names import match_choice

    p = ctx.params
    given = frozenset(name for name in SHARED if name in p and _given(ctx, name))
    for name, reason in UNSUPPORTED.get(command, {}).items():
        if name in given:
            flag = "--" + name.replace("_", "-")
            raise QueryError(f"{command} does not take {flag}: {reason}")
    if p.get("as_json") and p.get("as_csv"):
        raise QueryError("choose one of --json and --csv")
    today = today or utc_today()
    cost_mode = p.get("cost_mode") or ReportQuery.cost_mode
    if p.get("mode"):
        if "cost_mode" in given:
            raise QueryError("--mode is the old name of --cost-mode; give only --cost-mode")
        typer.echo("note: --mode is now --cost-mode", err=True)
        cost_mode = p["mode"]
    by = p.get("by") or ReportQuery.by
    since = _day(p.get("since"), False, "--since", today)
    until = _day(p.get("until"), True, "--until", today)
    if since and until and since > until:
        raise QueryError(f"--since {since} is after --until {until}")
    last = p.get("last", ReportQuery.last)
    limit = p.get("limit", ReportQuery.limit)
    if last < 1:
        raise QueryError("--last must be at least 1")
    if limit < 0:
        raise QueryError("--limit must be 0 (all) or more")
    return ReportQuery(
        by=match_choice(
            by, BY_CHOICES, what="dimension", option="--by", synonyms=DIMENSION_SYNONYMS
        ),
        period=match_choice(p.get("period") or "week", GRAINS, what="period", option="--period"),
        at=_day(p.get("at"), True, "--at", today),
        since=since,
        until=until,
        last=last,
        where=parse_where(p.get("where")),
        sources=tuple(p.get("source") or ()),
        tokens=match_choice(
            p.get("tokens") or "total", TOKEN_KINDS, what="token kind", option="--tokens"
        ),
        metric=match_choice(p.get("metric") or "tokens", METRICS, what="metric", option="--metric"),
        cost_mode=match_choice(cost_mode, COST_MODES, what="cost mode", option="--cost-mode"),
        limit=limit,
        as_json=bool(p.get("as_json")),
        as_csv=bool(p.get("as_csv")),
        given=given,
    )


# ---- from a query to what the reports read ------------------------------------------


def priceable(book: Any) -> Callable[[str], bool]:
    """For `resolve_value`: True for a model id a price book has a price for."""
    return lambda model: bool(book.chain(None, model))


def known_models(catalog: Catalog, attributed_models: Iterable[str] = ()) -> set[str]:
    """Canonical ids a typed model name may mean: the catalog's and the ledger's."""
    return {m for m in (*catalog.models, *attributed_models) if m}


def resolve_value(
    dim: str,
    value: str,
    catalog: Catalog,
    models: Iterable[str],
    accept: Callable[[str], bool] | None = None,
) -> str:
    """A ``--where`` value as the rows hold it: origin upper case, author and open_weights
    lower case (author aliases resolved), model through the name matcher (``accept``: see
    `tokenstat.catalog.names.match_model`); others as typed."""
    if dim == "origin":
        return value.upper()
    if dim == "author":
        return catalog.canonical_author(value) or value.lower()
    if dim == "open_weights":
        return value.lower()
    if dim == "model":
        from tokenstat.catalog.names import match_model

        return match_model(value, catalog.resolve, models, accept)
    return value


def resolved_where(query: ReportQuery, catalog: Catalog, models: Iterable[str]):
    """The query's ``where`` pairs with values as the rows hold them."""
    models = set(models)
    return tuple((dim, resolve_value(dim, v, catalog, models)) for dim, v in query.where)


@dataclass
class Prepared:
    """What a report command hands to `tokenstat.metrics.reports`."""

    ds: Dataset
    sel: Selection
    where: tuple[tuple[str, str], ...]


def selection(query: ReportQuery) -> Selection:
    from tokenstat.metrics.reports import Selection

    return Selection(kind=query.tokens, sources=query.sources, metric=query.metric)


def prepare(
    ledger: Ledger, catalog: Catalog, query: ReportQuery, *, priced: bool = True
) -> Prepared:
    """The dataset of ``ledger`` (priced per row for metric cost, unless not ``priced``)
    restricted to the query's days and ``--where`` filters, and the `Selection` of its
    measure."""
    from tokenstat import api

    if query.metric == "cost" and priced:
        ds = api.cost_dataset(ledger, catalog, query.cost_mode)
    else:
        ds = api.dataset(ledger, catalog)
    where = resolved_where(query, catalog, known_models(catalog, attributed_models(ds)))
    query = check_sources(query, ds.sources)
    ds = ds.restricted(query.since, query.until, where)
    if query.restricted:
        _check_rows(ds, query)
    return Prepared(ds=ds, sel=selection(query), where=where)


def check_sources(query: ReportQuery, sources: list[dict[str, Any]]) -> ReportQuery:
    """The query with its ``--source`` names as the ledger spells them (any case); an
    unknown name is an error naming the ledger's sources."""
    if not query.sources or not sources:
        return query
    from tokenstat.catalog.names import match_choice

    names = [s["source"] for s in sources]
    chosen = tuple(match_choice(n, names, what="source", option="--source") for n in query.sources)
    return dataclasses.replace(query, sources=chosen)


def _check_rows(ds: Dataset, query: ReportQuery) -> None:
    """A clear error when ``--since``/``--until``/``--where`` leave no rows."""
    t = ds.daily
    if query.sources:
        t = t.filter(t.source.isin(list(query.sources)))
    if t.limit(1).count().to_pyarrow().as_py():
        return
    days = [(s["first_day"], s["last_day"]) for s in ds.sources if s["first_day"]]
    held = (
        f"; the ledger holds {min(d[0] for d in days)} to {max(d[1] for d in days)}" if days else ""
    )
    asked = ", ".join(
        f"{k} {v}"
        for k, v in (
            ("--since", query.since),
            ("--until", query.until),
            *(("--where", f"{d}={v}") for d, v in query.where),
        )
        if v
    )
    raise QueryError(f"no rows match {asked}{held}")


def cost_slice(query: ReportQuery, catalog: Catalog, models: Iterable[str]) -> Slice:
    """The `Slice` of ledger rows cost and whatif price."""
    from tokenstat.prices.cost import Slice

    where = resolved_where(query, catalog, models)
    return Slice(query.since, query.until, where, sources=query.sources)


def attributed_models(ds: Dataset) -> list[str]:
    """The canonical ids of the models a dataset's rows hold."""
    return table_models(ds.attributed)


def table_models(attributed: Any) -> list[str]:
    """The canonical ids of an attribution table (`tokenstat.metrics.facts.attribution`)."""
    column = attributed.select("model").to_pyarrow().column(0)
    return [m for m in column.to_pylist() if m]


def output(query: ReportQuery) -> dict[str, bool]:
    """The ``as_json``/``as_csv`` keywords of `tokenstat.cli.app.emit`."""
    return {"as_json": query.as_json, "as_csv": query.as_csv}


__all__ = [
    "DATE_FORMS",
    "At",
    "By",
    "CostMode",
    "Csv",
    "Json",
    "Last",
    "Limit",
    "Metric",
    "OldMode",
    "Period",
    "Prepared",
    "ReportQuery",
    "Since",
    "Source",
    "Tokens",
    "Until",
    "Where",
    "prepare",
    "report_query",
]


def parse_day_option(text: str | None, option: str, today: date | None = None) -> date | None:
    """A command's own day option (``--base``, ``--as-of``) in the forms of `DATE_FORMS`:
    the last day of the span, clipped to today."""
    return _day(text, True, option, today or utc_today())
