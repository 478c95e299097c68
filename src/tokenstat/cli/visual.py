"""Visual outputs: chart files, the market report (HTML, Markdown, JSON) and the dashboard.

Charting, templating and the web server load only when one of these commands runs, so
the other commands start as fast as before.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tokenstat.cli.app import command, err, state
from tokenstat.cli.reports import AT_HELP, PERIOD_HELP, SOURCE_HELP, TOKENS_HELP, _at, _selection
from tokenstat.errors import LedgerError, QueryError

if TYPE_CHECKING:
    from tokenstat.market_report import Inputs
    from tokenstat.metrics.reports import Selection

CHART_HELP = (
    "trend (tokens per period as lines, crossover marked), share (100% stacked area), "
    "top (bars with growth), prices, whatif, forecast."
)
BY_HELP = "Group by (default: origin; model for top): model, author, origin, open_weights, ..."


def _chart_spec(
    inputs: Inputs,
    kind: str,
    *,
    by: str | None,
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
        trend = reports.trend(ds, by=by or "origin", grain=grain, last=last, at=at, sel=sel)
        if kind == "share":
            return charts.to_spec(charts.share_chart(trend))
        pair = pair or charts.default_pair(trend)
        lead = (
            reports.lead(ds, *pair, by=by or "origin", grain=grain, at=at, sel=sel)
            if pair
            else None
        )
        return charts.to_spec(charts.trend_chart(trend, lead))
    if kind == "top":
        top = reports.top(ds, by=by or "model", grain=grain, at=at, limit=limit, sel=sel)
        return charts.to_spec(charts.top_chart(top))
    try:
        summary = reports.summary(ds, grain=grain, at=at, sel=sel)
        start = date.fromisoformat(summary["period"]["start"])
        if kind == "prices":
            top = reports.top(ds, by="model", grain=grain, at=start, limit=limit, sel=sel)
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


@command("chart")
def chart(
    kind: str = typer.Argument(..., help=CHART_HELP),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="File to write; the format comes from the extension: "
        ".png, .svg, .html (interactive, offline) or .json (Vega-Lite spec).",
    ),
    by: str | None = typer.Option(None, help=BY_HELP),
    period: str = typer.Option("week", help=PERIOD_HELP),
    at: str | None = typer.Option(None, help=AT_HELP),
    last: int = typer.Option(12, help="trend, share: how many periods, ending at --at."),
    limit: int = typer.Option(10, help="top: how many groups."),
    a: str | None = typer.Option(None, "--a", help="trend: mark where A overtakes B (with --b)."),
    b: str | None = typer.Option(None, "--b", help="trend: the group A is compared with."),
    baseline: str | None = typer.Option(None, help="prices: the model prices are compared with."),
    tokens: str = typer.Option("total", help=TOKENS_HELP),
    source: list[str] | None = typer.Option(None, help=SOURCE_HELP),
) -> None:
    """Write a chart (PNG, SVG, interactive HTML or Vega-Lite JSON), rendered offline."""
    from tokenstat import market_report
    from tokenstat.market_report import Inputs
    from tokenstat.render import charts

    if kind not in charts.CHART_KINDS:
        raise QueryError(f"unknown chart {kind!r}; choose one of: {', '.join(charts.CHART_KINDS)}")
    charts.chart_format(out)
    with state.ledger(read_only=True) as ledger:
        inputs = Inputs.of(ledger, state.catalog())
        if period != "day":
            inputs = inputs.rolled(market_report.rollup(inputs.ds.daily, period))
        spec = _chart_spec(
            inputs,
            kind,
            by=by,
            grain=period,
            at=_at(at),
            last=last,
            limit=limit,
            pair=_pair(a, b),
            baseline=baseline,
            sel=_selection(tokens, source),
        )
    charts.save(spec, out)
    err.print(f"wrote {out}", markup=False)


@command("report")
def report(
    out: Path = typer.Option(..., "--out", "-o", help="File to write (report.html, report.md)."),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="html (one self-contained file), md (Markdown, PNG charts beside it) or json; "
        "default: from the extension of --out, else html.",
    ),
    period: str = typer.Option("week", help=PERIOD_HELP),
    at: str | None = typer.Option(None, help=AT_HELP),
    since: str | None = typer.Option(
        None, help="A day in the earlier period of the share shift (default: --last periods back)."
    ),
    last: int = typer.Option(12, help="Periods in the trend charts, ending at --at."),
    limit: int = typer.Option(10, help="How many top models."),
    baseline: str | None = typer.Option(None, help="The model prices are compared with."),
    a: str | None = typer.Option(None, "--a", help="Lead streak of this origin (with --b)."),
    b: str | None = typer.Option(None, "--b", help="... over this origin (default: the top two)."),
    tokens: str = typer.Option("total", help=TOKENS_HELP),
    source: list[str] | None = typer.Option(None, help=SOURCE_HELP),
) -> None:
    """The market report: summary, trend, top models, share shift, prices, cost, sources."""
    from tokenstat import market_report
    from tokenstat.market_report import Inputs
    from tokenstat.render import report_html

    fmt_name = fmt or {".md": "md", ".json": "json"}.get(out.suffix.lower(), "html")
    if fmt_name not in report_html.REPORT_FORMATS:
        raise QueryError(
            f"unknown format {fmt_name!r}; choose one of: {', '.join(report_html.REPORT_FORMATS)}"
        )
    if last < 1:
        raise QueryError("--last must be at least 1")
    with state.ledger(read_only=True) as ledger:
        inputs = Inputs.of(ledger, state.catalog())
        if period != "day":
            inputs = inputs.rolled(market_report.rollup(inputs.ds.daily, period))
        content = market_report.build(
            inputs,
            grain=period,
            at=_at(at),
            since=_at(since),
            last=last,
            limit=limit,
            baseline=baseline,
            lead_pair=_pair(a, b),
            sel=_selection(tokens, source),
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the dashboard (and its JSON API) on http://HOST:PORT/."""
    import uvicorn

    from tokenstat.ledger import default_ledger_path
    from tokenstat.web.app import LOOPBACK_HOSTS, create_app

    path = Path(state.db) if state.db else default_ledger_path()
    if not path.exists():
        raise LedgerError(f"no ledger at {path}; import data first (tokenstat import ...)")
    if not 0 < port < 65536:
        raise QueryError(f"--port must be from 1 to 65535, not {port}")
    allowed = [*LOOPBACK_HOSTS, host] if _is_loopback(host) else None
    app = create_app(path, catalog=state.catalog(), allowed_hosts=allowed)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"tokenstat dashboard on http://{shown}:{port}/ (Ctrl+C to stop)")
    if not _is_loopback(host):
        err.print(
            "[yellow]warning: listening beyond this machine; anyone who can reach it "
            "can read the reports[/yellow]"
        )
    uvicorn.run(app, host=host, port=port, log_level="warning")
