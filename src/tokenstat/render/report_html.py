"""The market report as one self-contained HTML file, or Markdown with PNG charts beside it.

Input: the dict `tokenstat.market_report.build` returns. HTML comes from Jinja2 templates
(``render/templates``) with autoescaping on, so every string from imported data (model,
author, app names) is text, never markup; the CSS, the JavaScript (the vendored Vega
runtime and a small table sorter) and the data are inlined, and a Content-Security-Policy
forbids the page to load anything, so it opens offline.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from tokenstat.periods import period_end, period_label, shift_period
from tokenstat.render import charts, price_tables, provenance
from tokenstat.render import numbers as fmt
from tokenstat.render.formats import _default

VEGA_FILES = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
REPORT_FORMATS = ("html", "md", "json")


# ---- assets ---------------------------------------------------------------------------------


def _vendor_dir() -> Any:
    return resources.files("tokenstat.web").joinpath("static", "vendor")


@lru_cache(maxsize=1)
def vega_runtime() -> Markup:
    """The vendored Vega, Vega-Lite and Vega-Embed builds as one inline script body."""
    parts = [_vendor_dir().joinpath(name).read_text(encoding="utf-8") for name in VEGA_FILES]
    # a literal "</script" would end the inline element early
    return Markup("\n;\n".join(p.replace("</script", "<\\/script") for p in parts))


@lru_cache(maxsize=1)
def vega_notices() -> str:
    """Licence notices of the chart runtime, to ship with every page that inlines it."""
    names = ("LICENSE-vega.txt", "LICENSE-vega-lite.txt", "LICENSE-vega-embed.txt")
    texts = [f"{n}:\n{_vendor_dir().joinpath(n).read_text(encoding='utf-8')}" for n in names]
    texts.append(_vendor_dir().joinpath("THIRD-PARTY-NOTICES.txt").read_text(encoding="utf-8"))
    return "\n\n".join(texts)


def _template_text(name: str) -> str:
    return resources.files("tokenstat.render").joinpath("templates", name).read_text("utf-8")


def _version() -> str:
    try:
        return metadata.version("tokenstat")
    except metadata.PackageNotFoundError:
        return "dev"


# ---- Jinja environment ----------------------------------------------------------------------


def _json_dumps(obj: Any, **kwargs: Any) -> str:
    return json.dumps(obj, default=_default, **kwargs)


def _period(start: str | None, grain: str) -> str:
    return period_label(date.fromisoformat(start), grain) if start else "-"


def money(value: float | None) -> str:
    """USD with the sign in front: -$0.3358."""
    if value is not None and value < 0:
        return "-" + price_tables.cost(-value)
    return price_tables.cost(value)


def prices_source(prices: dict[str, Any] | None) -> str:
    """Where prices came from; a user price file by its name only."""
    prices = dict(prices or {})
    if prices.get("user_file"):
        prices["user_file"] = Path(str(prices["user_file"])).name
    return " ".join(price_tables.prices_footer(prices)) + "."


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tokenstat.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.policies["json.dumps_function"] = _json_dumps
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
    env.filters.update(
        tokens=fmt.tokens,
        pct=fmt.pct,
        pp=fmt.pp,
        usd=fmt.usd,
        rank_change=fmt.signed_int,
        growth=lambda v: "new" if v is None else fmt.pct(v, 2, signed=True),
        period=_period,
        source_line=provenance.source_line,
        source_detail=provenance.source_detail,
        usd_mtok=price_tables.price,
        ratio=price_tables.ratio,
        saving=price_tables.saving,
        cost=money,
        prices_source=prices_source,
    )
    return env


# ---- text shared by HTML and Markdown -------------------------------------------------------


def period_text(period: dict[str, Any]) -> str:
    label = period_label(date.fromisoformat(period["start"]), period["grain"])
    return f"{label} ({period['start']} to {period['end']})"


def lead_text(lead: dict[str, Any] | None) -> str:
    if not lead:
        return ""
    a, b, grain, streak = lead["a"], lead["b"], lead["grain"], lead["streak"]
    if streak:
        since = lead["periods"][-streak]["start"]
        text = (
            f"{a} has been ahead of {b} for {streak} consecutive {grain}"
            f"{'s' if streak != 1 else ''} (since {_period(since, grain)})."
        )
    else:
        text = f"{a} is not ahead of {b} in {_period(lead['at'], grain)}."
    first = lead.get("first_crossover")
    if first and streak and first == lead["periods"][-streak]["start"]:
        pass
    elif first:
        text += f" {a} first overtook {b} in {_period(first, grain)}."
    else:
        text += f" {a} never overtook {b} in this data."
    return text


def headline(report: dict[str, Any]) -> list[str]:
    """The report's key sentences, from the summary and lead dicts."""
    s = report["summary"]
    grain = s["period"]["grain"]
    label = _period(s["period"]["start"], grain)
    lines = []
    ranked = [g for g in s["groups"] if g["rank"] is not None]
    if ranked:
        g = ranked[0]
        lines.append(
            f"{g['key']}-origin models processed {fmt.tokens(g['tokens'])} tokens in {label}, "
            f"{_growth_phrase(g['growth'], grain)}, {fmt.pct(g['share'], 1)} of the total."
        )
    if len(ranked) > 1:
        g = ranked[1]
        lines.append(
            f"{g['key']}-origin models: {fmt.tokens(g['tokens'])}, "
            f"{_growth_phrase(g['growth'], grain)}, {fmt.pct(g['share'], 1)} of the total."
        )
    total = s["total"]
    lines.append(
        f"All models: {fmt.tokens(total['tokens'])} tokens, "
        f"{_growth_phrase(total['growth'], grain)}."
    )
    if report.get("lead"):
        lines.append(lead_text(report["lead"]))
    top = report["top"]["rows"]
    if top:
        r = top[0]
        lines.append(
            f"Largest model: {r['key']} with {fmt.tokens(r['tokens'])} tokens "
            f"({fmt.pct(r['share'], 1)} of the total)."
        )
    return lines


def _growth_phrase(growth: float | None, grain: str) -> str:
    if growth is None:
        return f"no previous {grain} to compare with"
    return f"{fmt.pct(growth, 2, signed=True)} {grain} over {grain}"


def shift_span(report: dict[str, Any]) -> str:
    for sh in report["shift"].values():
        if sh.get("available", True) is not False:
            grain = sh["grain"]
            return f"{_period(sh['from']['start'], grain)} to {_period(sh['to']['start'], grain)}"
    return ""


def report_specs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's charts as Vega-Lite specs, by name."""
    specs: dict[str, dict[str, Any]] = {}
    if report["trend"]["rows"]:
        specs["trend"] = charts.to_spec(charts.trend_chart(report["trend"], report.get("lead")))
        specs["share"] = charts.to_spec(charts.share_chart(report["trend"]))
    if report["top"]["rows"]:
        specs["top"] = charts.to_spec(charts.top_chart(report["top"]))
    for name in ("prices", "whatif", "forecast"):
        section = report.get(name) or {}
        if section.get("available"):
            spec = charts.section_spec(name, section)
            if spec is not None:
                specs[name] = spec
    return specs


def _context(report: dict[str, Any], specs: dict[str, Any]) -> dict[str, Any]:
    s = report["summary"]
    grain = s["period"]["grain"]
    ranked = [g for g in s["groups"] if g["rank"] is not None]
    previous_start = None
    if s["total"]["previous"] is not None:
        previous_start = shift_period(date.fromisoformat(s["period"]["start"]), grain, -1)
    measure = report.get("measure", "total")
    attributed = provenance.attributed_line(report.get("attributed_share")) or ""
    return {
        "report": report,
        "s": s,
        "grain": grain,
        "title": f"Token market report, {_period(s['period']['start'], grain)}",
        "period_text": period_text(s["period"]),
        "period_label": _period(s["period"]["start"], grain),
        "previous_text": period_text(
            {
                "start": previous_start.isoformat(),
                "grain": grain,
                "end": period_end(previous_start, grain).isoformat(),
            }
        )
        if previous_start
        else "the previous period (none in the data)",
        "measure_text": "tokens = input + output" if measure == "total" else f"{measure} tokens",
        "headline": headline(report),
        "leader": ranked[0] if ranked else None,
        "lead": report.get("lead"),
        "lead_text": lead_text(report.get("lead")),
        "shift_span": shift_span(report),
        "attributed_text": attributed,
        "specs": specs,
        "version": _version(),
    }


# ---- outputs --------------------------------------------------------------------------------


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one self-contained HTML page."""
    specs = report_specs(report)
    ctx = _context(report, specs)
    ctx.update(
        css=Markup(_template_text("report.css")),
        report_js=Markup(_template_text("report.js")),
        vega_js=vega_runtime(),
        notices=vega_notices(),
    )
    return environment().get_template("report.html").render(ctx)


def chart_page(spec: dict[str, Any], title: str | None = None) -> str:
    """One chart as a self-contained interactive HTML page."""
    if title is None:
        t = spec.get("title")
        title = (t.get("text") if isinstance(t, dict) else t) or "tokenstat chart"
    return (
        environment()
        .get_template("chart.html")
        .render(
            spec=spec,
            title=title,
            vega_js=vega_runtime(),
            notices=vega_notices(),
            version=_version(),
        )
    )


def md_cell(value: Any) -> str:
    """Text for Markdown: markup and table syntax from the data are neutralised."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("&", "&amp;")
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    for ch in ("`", "*", "_", "[", "]", "|"):
        text = text.replace(ch, "\\" + ch)
    return text.replace("\r", " ").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[Any]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    out = ["| " + " | ".join(md_cell(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(report: dict[str, Any], images: dict[str, str]) -> str:
    """The report in Markdown; ``images`` maps chart names to image paths relative to the
    Markdown file."""
    ctx = _context(report, {})
    s, grain = ctx["s"], ctx["grain"]
    md: list[str] = [f"# {md_cell(ctx['title'])}", ""]
    md.append(
        f"{md_cell(ctx['period_text'])} · {ctx['measure_text']} · generated "
        f"{report['generated_at']} by tokenstat {ctx['version']}"
    )
    md += ["", *[f"- {md_cell(line)}" for line in ctx["headline"]], ""]
    md += ["## Executive summary by origin", ""]
    rows = [
        [
            g["rank"] or "-",
            g["key"],
            fmt.tokens(g["tokens"]),
            fmt.tokens(g["previous"]),
            fmt.pct(g["growth"], 2, signed=True),
            fmt.pct(g["share"], 1),
            fmt.pp(g["share_shift_pp"]),
            g["leader_streak"] or "",
        ]
        for g in s["groups"]
    ]
    total = s["total"]
    rows.append(
        [
            "",
            "all",
            fmt.tokens(total["tokens"]),
            fmt.tokens(total["previous"]),
            fmt.pct(total["growth"], 2, signed=True),
            "100%",
            "",
            "",
        ]
    )
    md += _md_table(
        ["#", "origin", "tokens", "previous", "growth", "share", "shift", "leader streak"],
        rows,
        {0, 2, 3, 4, 5, 6, 7},
    )
    md += ["", f"Growth and shift against {md_cell(ctx['previous_text'])}.", ""]
    md += ["## Trend", ""]
    for name in ("trend", "share"):
        if name in images:
            md += [f"![{name} chart]({images[name]})", ""]
    if ctx["lead_text"]:
        md += [md_cell(ctx["lead_text"]), ""]
    md += [f"## Top models, {ctx['period_label']}", ""]
    top = report["top"]
    md += _md_table(
        ["#", "model", "author", "origin", "tokens", "growth", "share", "rank change"],
        [
            [
                r["rank"],
                r["key"],
                r["author"] or "",
                r["origin"] or "",
                fmt.tokens(r["tokens"]),
                "new" if r["growth"] is None else fmt.pct(r["growth"], 2, signed=True),
                fmt.pct(r["share"], 1),
                fmt.signed_int(r["rank_change"]),
            ]
            for r in top["rows"]
        ],
        {0, 4, 5, 6, 7},
    )
    md += [
        "",
        f"The top {len(top['rows'])} hold {fmt.pct(top['top_k_share'], 1)} of tokens; "
        f"HHI {top['hhi']:,.0f} (0 to 10,000).",
        "",
    ]
    if "top" in images:
        md += [f"![top chart]({images['top']})", ""]
    md += [f"## Share shift, {ctx['shift_span']}", ""]
    for by, sh in report["shift"].items():
        md += [f"### By {by}", ""]
        if sh.get("available", True) is False:
            md += [f"Not available: {md_cell(sh['reason'])}", ""]
            continue
        md += _md_table(
            [
                by,
                f"share {_period(sh['from']['start'], grain)}",
                f"share {_period(sh['to']['start'], grain)}",
                "shift",
            ],
            [
                [
                    r["key"],
                    fmt.pct(r["share_from"], 1),
                    fmt.pct(r["share_to"], 1),
                    fmt.pp(r["shift_pp"]),
                ]
                for r in sh["rows"][:15]
            ],
            {1, 2, 3},
        )
        md.append("")
    for name, title in (
        ("prices", "Prices"),
        ("cost", "Cost"),
        ("whatif", "What-if"),
        ("forecast", "Forecast"),
    ):
        section = report.get(name) or {}
        md += [f"## {title}", ""]
        if not section.get("available"):
            md += [f"Not available: {md_cell(section.get('reason', 'no data'))}", ""]
            continue
        md += section_markdown(name, section)
        if name in images:
            md += [f"![{name} chart]({images[name]})", ""]
    md += ["## Sources and definitions", ""]
    for src in report["sources"]:
        md.append(
            f"- {md_cell(provenance.source_line(src))} ({md_cell(provenance.source_detail(src))})"
        )
    md += ["", md_cell(ctx["attributed_text"]), ""]
    for d in report["definitions"]:
        md.append(f"- **{md_cell(d['term'])}**: {md_cell(d['definition'])}")
    md.append("")
    return "\n".join(md)


def section_markdown(name: str, section: dict[str, Any]) -> list[str]:
    """Markdown lines of an optional section (prices, cost, what-if, forecast)."""
    out: list[str] = []
    if name == "prices":
        base = section.get("baseline")
        head = ["model", "origin", "input", "output", "blended"]
        if base:
            head += ["input vs baseline", "output vs baseline", "saving"]
        rows = []
        for r in section["rows"]:
            row = [
                r["model"],
                r.get("origin") or "",
                price_tables.price(r["input_per_mtok"]),
                price_tables.price(r["output_per_mtok"]),
                price_tables.price(r["blended_per_mtok"]),
            ]
            if base:
                row += [
                    price_tables.ratio(r["input_ratio"]),
                    price_tables.ratio(r["output_ratio"]),
                    price_tables.saving(r["blended_ratio"]),
                ]
            rows.append(row)
        out.append(
            f"Prices as of {section['as_of']}, USD per million tokens"
            + (f", against {md_cell(base)}" if base else "")
            + "."
        )
        out += ["", *_md_table(head, rows, set(range(2, len(head)))), ""]
        if section.get("unpriced"):
            out += [f"No price for: {md_cell(', '.join(section['unpriced']))}.", ""]
        out += [md_cell(prices_source(section.get("prices"))), ""]
    elif name == "cost":
        out.append(
            f"Cost of own usage, {section['slice']['since']} to "
            f"{section['slice']['until']} (mode {section['mode']})."
        )
        rows = [
            [
                r["key"],
                price_tables.cost(r["cost"]),
                fmt.tokens(r["tokens"]),
                f"{r['rows']:,}",
                fmt.pct(r["unpriced_share"], 1),
            ]
            for r in section["rows"]
        ]
        t = section["total"]
        rows.append(
            [
                "all",
                price_tables.cost(t["cost"]),
                fmt.tokens(t["tokens"]),
                f"{t['rows']:,}",
                fmt.pct(t["unpriced_share"], 1),
            ]
        )
        out += [
            "",
            *_md_table([section["by"], "cost", "tokens", "rows", "unpriced"], rows, {1, 2, 3, 4}),
            "",
        ]
    elif name == "whatif":
        w = section["workload"]
        out.append(
            f"Workload: {w['requests']:,} requests, {fmt.tokens(w['tokens'])} tokens "
            f"({w['first_day']} to {w['last_day']}); actual cost "
            f"{price_tables.cost(section['actual_cost'])} ({section['mode']})."
        )
        rows = [
            [
                r["model"],
                price_tables.cost(r["cost"]),
                price_tables.cost(r["saving"]),
                fmt.pct(r["saving_pct"], 1),
            ]
            for r in section["rows"]
        ]
        out += [
            "",
            *_md_table(["model", "cost", "saving", "saving %"], rows, {1, 2, 3}),
            "",
            md_cell(section.get("caveat") or ""),
            "",
        ]
    elif name == "forecast":
        rows = [
            [
                m["key"],
                fmt.tokens(m["base_value"]),
                fmt.tokens(m["value"]),
                f"{fmt.tokens(m['lo80'])} to {fmt.tokens(m['hi80'])}",
                f"{m['multiple']:.2f}x",
            ]
            for m in section.get("multiples") or []
        ]
        out += _md_table(
            ["series", "last value", "at horizon", "80% interval", "multiple"], rows, {1, 2, 3, 4}
        )
        out += [
            "",
            f"Projection from {section['base']['start']} to "
            f"{section['horizon']['start']}; medians with 80% and 95% prediction intervals.",
            "",
        ]
    return out


def write_report(report: dict[str, Any], out: Path | str, fmt_name: str = "html") -> list[Path]:
    """Write the report; returns the files written (the report first, then any charts)."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt_name == "html":
        target.write_text(render_html(report), encoding="utf-8")
        return [target]
    if fmt_name == "json":
        target.write_text(_json_dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        return [target]
    written = [target]
    images: dict[str, str] = {}
    for name, spec in report_specs(report).items():
        png = target.with_name(f"{target.stem}-{name}.png")
        charts.save(spec, png)
        images[name] = png.name
        written.append(png)
    target.write_text(render_markdown(report, images), encoding="utf-8")
    return written
