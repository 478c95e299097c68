"""Visual outputs: chart files, the market report (HTML, Markdown, JSON) and the dashboard.

Charting, templating and the web server load only when one of these commands runs, so
the other commands start as fast as before.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tokenstat.cli import options as o
from tokenstat.cli.app import command, err, state
from tokenstat.errors import LedgerError, QueryError

if TYPE_CHECKING:
    from tokenstat.market_report import Inputs
    from tokenstat.metrics.reports import Selection

CHART_HELP = (
    "trend (tokens per period as lines, crossover marked), share (100% stacked area), "
    "top (bars with growth), prices, whatif, forecast."
)
OUT_HELP = (
    "File to write; the format comes from the extension: "
    ".png, .svg, .html (interactive, offline) or .json (Vega-Lite spec)."
)


def _chart_spec(
    inputs: Inputs,
    kind: str,
    *,
    by: str,
    grain: str,
    at: date | None,
    last: int,
    limit: int,
    pair: tuple[str, str] | None,
    baseline: str | None,
    sel: Selection,
) -> dict[str, Any]:
    from tokenstat import market_report
    from tokenstat.market_report import SectionUnavailable
    from tokenstat.metrics import reports
    from tokenstat.metrics.cube import UNRANKED
    from tokenstat.render import charts

    ds = inputs.ds
    if kind in ("trend", "share"):
        trend = reports.trend(ds, by=by, grain=grain, last=last, at=at, sel=sel, limit=limit)
        if kind == "share":
            return charts.to_spec(charts.share_chart(trend))
        if pair is None:
            # the pair compared is two real groups, never the sum of the others
            named = [r for r in trend["rows"] if r["key"] != reports.OTHERS_KEY]
            pair = charts.default_pair({**trend, "rows": named})
        lead = reports.lead(ds, *pair, by=by, grain=grain, at=at, sel=sel) if pair else None
        return charts.to_spec(charts.trend_chart(trend, lead))
    if kind == "top":
        top = reports.top(ds, by=by, grain=grain, at=at, limit=limit or 10**9, sel=sel)
        return charts.to_spec(charts.top_chart(top))
    try:
        summary = reports.summary(ds, grain=grain, at=at, sel=sel)
        start = date.fromisoformat(summary["period"]["start"])
        if kind == "prices":
            top = reports.top(ds, by="model", grain=grain, at=start, limit=limit or 10**9, sel=sel)
            models = [r["key"] for r in top["rows"] if r["key"] not in UNRANKED]
            section = market_report.prices_section(
                inputs, baseline=baseline, grain=grain, at=start, models=models
            )
        elif kind == "forecast":
            section = market_report.forecast_section(inputs, grain=grain, at=start, sel=sel)
        else:
            own = market_report.own_usage_days(ds)
            section = market_report.whatif_section(
                inputs, grain=grain, at=start, own=own, baseline=baseline
            )
    except SectionUnavailable as exc:
        raise QueryError(f"the {kind} chart is not available: {exc}") from None
    spec = charts.section_spec(kind, {"available": True, **section})
    if spec is None:
        raise QueryError(f"the {kind} chart is not available: nothing to draw")
    return spec


def _pair(a: str | None, b: str | None) -> tuple[str, str] | None:
    if bool(a) != bool(b):
        raise QueryError("give both --a and --b (the two groups to compare), or neither")
    return (a, b) if a and b else None


PairA = Annotated[
    str | None, typer.Option("--a", metavar="GROUP", help="Mark where A overtakes B (with --b).")
]
PairB = Annotated[
    str | None, typer.Option("--b", metavar="GROUP", help="The group A is compared with.")
]
Baseline = Annotated[
    str | None, typer.Option(metavar="MODEL", help="The model prices are compared with.")
]


def _inputs(ledger, query: o.ReportQuery) -> Inputs:
    """The report inputs of ``ledger`` restricted as ``query`` says, per ``--period``."""
    from tokenstat import market_report
    from tokenstat.market_report import Inputs

    catalog = state.catalog()
    inputs = Inputs(o.prepare(ledger, catalog, query).ds, ledger, catalog)
    if query.period != "day":
        inputs = inputs.rolled(market_report.rollup(inputs.ds.daily, query.period))
    return inputs


@command("chart")
def chart(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="KIND", help=CHART_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE", help=OUT_HELP)],
    by: o.By = "model",
    period: o.Period = "week",
    at: o.At = None,
    since: o.Since = None,
    until: o.Until = None,
    last: o.Last = 12,
    where: o.Where = None,
    source: o.Source = None,
    tokens: o.Tokens = "total",
    metric: o.hidden(o.Metric) = "tokens",
    cost_mode: o.hidden(o.CostMode) = "auto",
    limit: o.Limit = 10,
    a: PairA = None,
    b: PairB = None,
    baseline: Baseline = None,
) -> None:
    """Write a chart (PNG, SVG, interactive HTML or Vega-Lite JSON), rendered offline.

    \b
    Examples:
      tokenstat chart trend --by origin -o trend.png
      tokenstat chart share --by author --last 26 -o share.html
      tokenstat chart top --limit 5 --at last-week -o top.svg
    """
    from tokenstat.catalog.names import match_choice
    from tokenstat.render import charts

    q = o.report_query(ctx, "chart")
    kind = match_choice(kind, charts.CHART_KINDS, what="chart")
    charts.chart_format(out)
    with state.ledger(read_only=True) as ledger:
        spec = _chart_spec(
            _inputs(ledger, q),
            kind,
            by=q.by,
            grain=q.period,
            at=q.at,
            last=q.last,
            limit=q.limit,
            pair=_pair(a, b),
            baseline=baseline,
            sel=o.selection(q),
        )
    charts.save(spec, out)
    err.print(f"wrote {out}", markup=False)


@command("report")
def report(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="FILE", help="File to write (report.html, report.md)."),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="html (one self-contained file), md (Markdown, PNG charts beside it) or json; "
            "default: from the extension of --out, else html.",
        ),
    ] = None,
    by: o.hidden(o.By) = "model",
    period: o.Period = "week",
    at: o.At = None,
    since: o.Since = None,
    until: o.Until = None,
    last: o.Last = 12,
    where: o.Where = None,
    source: o.Source = None,
    tokens: o.Tokens = "total",
    metric: o.hidden(o.Metric) = "tokens",
    cost_mode: o.hidden(o.CostMode) = "auto",
    limit: o.Limit = 10,
    shift_from: Annotated[
        str | None,
        typer.Option(
            "--shift-from",
            metavar="DAY",
            help="A day in the earlier period of the share shift (default: --last periods back).",
        ),
    ] = None,
    baseline: Baseline = None,
    a: Annotated[
        str | None,
        typer.Option("--a", metavar="CC", help="Lead streak of this origin (with --b)."),
    ] = None,
    b: Annotated[
        str | None,
        typer.Option("--b", metavar="CC", help="... over this origin (default: the top two)."),
    ] = None,
) -> None:
    """The market report: summary, trend, top models, share shift, prices, cost, sources.

    \b
    Examples:
      tokenstat report -o report.html
      tokenstat report --period month --at last-month -o month.md
      tokenstat report --since 2026-01-01 --source market -o q1.json
    """
    from tokenstat import market_report
    from tokenstat.render import report_html

    q = o.report_query(ctx, "report")
    fmt_name = fmt or {".md": "md", ".json": "json"}.get(out.suffix.lower(), "html")
    if fmt_name not in report_html.REPORT_FORMATS:
        raise QueryError(
            f"unknown format {fmt_name!r}; choose one of: {', '.join(report_html.REPORT_FORMATS)}"
        )
    with state.ledger(read_only=True) as ledger:
        content = market_report.build(
            _inputs(ledger, q),
            grain=q.period,
            at=q.at,
            since=o.parse_day_option(shift_from, "--shift-from"),
            last=q.last,
            limit=q.limit or 10**6,
            baseline=baseline,
            lead_pair=_pair(a.upper() if a else a, b.upper() if b else b),
            sel=o.selection(q),
        )
    written = report_html.write_report(content, out, fmt_name)
    for path in written:
        err.print(f"wrote {path}", markup=False)
    for name in ("prices", "cost", "whatif", "forecast"):
        section = content.get(name) or {}
        if not section.get("available"):
            err.print(
                f"{name}: not available ({section.get('reason')})",
                markup=False,
                style="dim",
                soft_wrap=True,
            )


@command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    allow_host: list[str] = typer.Option(
        [],
        "--allow-host",
        metavar="NAME",
        help="Also accept requests for this Host name (repeatable; *.domain patterns too). "
        "Loopback names, and beyond loopback this machine's names and addresses, are "
        "always accepted; any other Host is refused (against DNS rebinding).",
    ),
    collect: bool = typer.Option(
        False, "--collect", help="Also receive OTLP on 127.0.0.1:4318 (tokenstat collect)."
    ),
    proxy_upstream: str | None = typer.Option(
        None,
        "--proxy-upstream",
        metavar="URL",
        help="Also run the metering proxy to URL on 127.0.0.1:8787 (tokenstat proxy).",
    ),
) -> None:
    """Serve the dashboard (and its JSON API) on http://HOST:PORT/.

    \b
    Examples:
      tokenstat serve
      tokenstat serve --port 8080
      tokenstat serve --host 0.0.0.0 --allow-host stats.lan
    """
    import uvicorn

    from tokenstat.ledger import default_ledger_path
    from tokenstat.web.app import create_app
    from tokenstat.web.hosts import allowed_hosts, is_loopback, is_wildcard

    path = Path(state.db) if state.db else default_ledger_path()
    if not 0 < port < 65536:
        raise QueryError(f"--port must be from 1 to 65535, not {port}")
    from tokenstat.cli.capture import capture_child

    with capture_child(collect, proxy_upstream):  # it creates the ledger when new
        if not path.exists():
            raise LedgerError(f"no ledger at {path}; import data first (tokenstat import ...)")
        allowed = allowed_hosts(host, allow_host)
        app = create_app(path, catalog=state.catalog(), allowed_hosts=allowed)
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}/"
        err.print(f"tokenstat dashboard on {url} (Ctrl+C to stop)", markup=False)
        if not is_loopback(host):
            where = "every address of this machine" if is_wildcard(host) else host
            err.print(
                f"warning: listening on {where}: anyone who can reach it can read the "
                "reports; requests are answered only for these Host names: "
                f"{', '.join(allowed)}",
                style="yellow",
                markup=False,
                soft_wrap=True,
            )
        uvicorn.run(app, host=host, port=port, log_level="warning")
