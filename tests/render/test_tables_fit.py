"""Every report table fits the terminal: at 60, 80, 120 and 200 columns no line is wider
than the console, nothing is cut with an ellipsis, and every id of the rows shown (model,
author, group, period label, claim, source) appears whole.

The expected ids come from the report dicts and are formatted here by hand (ISO week and
month labels from `datetime`), not by the renderer. Snapshots under ``snapshots/`` show
reviewers what changed; write them with ``UPDATE_SNAPSHOTS=1``.
"""

from __future__ import annotations

import io
import os
import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tokenstat import api
from tokenstat.catalog import load_catalog
from tokenstat.render import forecast_tables, listing, price_tables, tables
from tokenstat.render.fit import Column, FitTable

WIDTHS = (60, 80, 120, 200)
SNAPSHOT_WIDTHS = (80, 120, 200)
SNAPSHOTS = Path(__file__).parent / "snapshots"
WEEK = date(2026, 4, 5)
# claims of examples/claims-sample.yaml checked: a value, a price ratio, a note, long ids
CLAIMS = {"cn-weekly", "cn-shift", "mini-input-ratio", "ds-ratio-as-stated", "top6-within-cn"}
CLAIMS |= {"cn-us-within-all", "multiple-from-stated"}
BAD_ROWS = "date,model,input_tokens,output_tokens\nnot-a-day,acme/x,1,1\n2026-04-01,acme/y,-5,1\n"


def _week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def _month(day: str) -> str:
    return day[:7]


def _sample() -> Path:
    return Path(str(resources.files("tokenstat.sample").joinpath("data", "sample_market.csv.gz")))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, list[str]]]:
    """The sample ledger, plus a file of bad rows (for the quarantine), as tables."""
    base = tmp_path_factory.mktemp("fit")
    bad = base / "bad.csv"
    bad.write_text(BAD_ROWS)
    catalog = load_catalog(None)
    with api.open_ledger(base / "sample.duckdb") as ledger:
        api.import_path(ledger, "market", [_sample()], catalog=catalog)
        api.import_path(ledger, "market", [bad], catalog=catalog)
        assert ledger.quarantine(), "the bad file should leave records in quarantine"
        return build_reports(ledger, catalog, base)


def build_reports(
    ledger: Any, catalog: Any, root: Path | None = None
) -> dict[str, tuple[Any, list[str]]]:
    """name -> (renderable, ids that must appear whole, once per row that shows them);
    quarantine locations are shown relative to ``root`` (the snapshots hold no temp path)."""
    from tokenstat.claims import Sources, load_claims, verify
    from tokenstat.forecast import forecast
    from tokenstat.metrics import reports as r
    from tokenstat.prices import cost as cost_module
    from tokenstat.prices.table import price_table
    from tokenstat.prices.whatif import whatif_report
    from tokenstat.sources.registry import all_sources

    out: dict[str, tuple[Any, list[str]]] = {}
    if True:
        ds = api.dataset(ledger, catalog)

        rep = r.summary(ds, by="origin", grain="week", at=WEEK)
        out["summary"] = (tables.summary_table(rep), [g["key"] for g in rep["groups"]])
        rep = r.summary(ds, by="model", grain="week", at=WEEK)
        out["summary-model"] = (tables.summary_table(rep), [g["key"] for g in rep["groups"]])
        rep = r.top(ds, by="model", grain="week", at=WEEK, limit=10)
        out["top"] = (tables.top_table(rep), [x["key"] for x in rep["rows"]])
        for by, limit in (("origin", None), ("model", None), ("model", 3)):
            rep = r.trend(ds, by=by, grain="week", last=12, at=WEEK)
            name = f"trend-{by}" + (f"-limit{limit}" if limit else "")
            # without a limit, as callers before --limit did
            table = tables.trend_table(rep, limit=limit) if limit else tables.trend_table(rep)
            out[name] = (table, _trend_ids(rep, limit or 10))
        # the report itself keeps 3 groups and sums the rest in rows keyed "others"
        rep = r.trend(ds, by="model", grain="week", last=12, at=WEEK, limit=3)
        table = tables.trend_table(rep, limit=len({x["key"] for x in rep["rows"]}))
        kept = _trend_ids({**rep, "rows": [x for x in rep["rows"] if x["key"] != "others"]}, 3)
        out["trend-model-folded"] = (table, kept)
        rep = r.lead(ds, "CN", "US", by="origin", grain="week", at=WEEK)
        out["lead"] = (
            tables.lead_table(rep),
            ["CN", "US"] + [_week(p["start"]) for p in rep["periods"][-16:]],
        )

        inputs = api.cost_inputs(ledger, catalog)
        part = cost_module.Slice(since=date(2026, 1, 1), until=WEEK)
        rep = cost_module.cost_report(inputs, by="model", grain="month", part=part, limit=10)
        out["cost"] = (
            price_tables.cost_table(rep),
            [x["key"] for x in rep["rows"]] + sorted({_month(x["start"]) for x in rep["rows"]}),
        )
        week = cost_module.Slice(
            since=date(2026, 3, 30), until=WEEK, where=(("model", "anthropic/claude-sonnet-4.6"),)
        )
        candidates = ["deepseek/deepseek-v3.2", "openai/gpt-4o-mini", "qwen/qwen3.6-plus"]
        rep = whatif_report(inputs, candidates, part=week)
        out["whatif"] = (price_tables.whatif_table(rep), [x["model"] for x in rep["rows"]])
        rep = price_table(inputs.book, catalog, country="CN", baseline="openai/gpt-4", as_of=WEEK)
        out["prices"] = (price_tables.prices_table(rep), [x["model"] for x in rep["rows"]])
        rep = price_table(inputs.book, catalog, as_of=WEEK)
        out["prices-all"] = (price_tables.prices_table(rep), [x["model"] for x in rep["rows"]])

        # one method keeps the backtest quick; the table's shape is what is tested
        five = ("CN", "US", "FR", "DE", "CA")
        rep = forecast(
            ds, by="origin", keys=five, grain="week", at=WEEK, until_reaches=20e12, method="cagr"
        )
        backtested = [s["key"] for s in rep["series"] if s["method"]][:4]
        ids = [s["key"] for s in rep["series"]] + [m["key"] for m in rep["milestones"]]
        out["forecast"] = (forecast_tables.forecast_table(rep), ids + backtested)
        rep = forecast(ds, grain="week", at=WEEK, method="loglinear")
        out["forecast-one"] = (forecast_tables.forecast_table(rep), [rep["series"][0]["key"]])

        claims = Path(__file__).parents[2] / "examples" / "claims-sample.yaml"
        sources = Sources(
            ds=ds,
            catalog=catalog,
            book=lambda: api.price_book(ledger, catalog),
            cost=lambda: api.cost_inputs(ledger, catalog),
        )
        doc = load_claims(claims)
        doc["claims"] = [c for c in doc["claims"] if c["id"] in CLAIMS]
        rep = verify(doc, sources)
        out["verify"] = (forecast_tables.verify_table(rep), [c["id"] for c in rep["claims"]])

        rows = _catalog_rows(catalog)
        out["catalog-models"] = (listing.rows_table(rows, "models"), [x["model"] for x in rows])
        held = ledger.sources()
        out["ledger-info"] = (listing.sources_table(held), [str(s["source"]) for s in held])
        bad_rows = [
            {**x, "location": str(x["location"]).replace(f"{root}/", "")}
            for x in ledger.quarantine(limit=1000)
        ]
        out["quarantine"] = (
            listing.quarantine_table(bad_rows),
            [str(x["location"]) for x in bad_rows],
        )
    importers = [
        {"name": s.name, "description": s.description, "reads": s.reads} for s in all_sources()
    ]
    out["sources"] = (listing.importers_table(importers), [x["name"] for x in importers])
    return out


def _trend_ids(report: dict[str, Any], limit: int) -> list[str]:
    """The ``limit`` largest groups over the report's periods, and every period label."""
    totals: dict[str, int] = {}
    for row in report["rows"]:
        totals[row["key"]] = totals.get(row["key"], 0) + row["tokens"]
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    return ranked[:limit] + sorted({_week(row["start"]) for row in report["rows"]})


def _catalog_rows(catalog: Any) -> list[dict[str, Any]]:
    """What `tokenstat catalog models` lists."""
    rows = []
    for model in sorted(catalog.models):
        a = catalog.attribute(model)
        entry = catalog.models[model]
        rows.append(
            {
                "model": model,
                "name": entry.name,
                "author": a.author,
                "origin": a.origin,
                "open_weights": a.open_weights,
                "released": entry.released,
            }
        )
    return rows


def render(renderable: Any, width: int) -> str:
    """Plain text as a terminal of ``width`` columns shows it, lines never cropped."""
    console = Console(
        width=width,
        file=io.StringIO(),
        record=True,
        color_system=None,
        force_terminal=False,
        legacy_windows=False,
        soft_wrap=False,
        highlight=False,
    )
    console.print(renderable, crop=False)
    return console.export_text()


def whole(text: str, ident: str) -> int:
    """How many times ``ident`` appears not glued to other id characters."""
    pattern = r"(?<![\w./:-])" + re.escape(ident) + r"(?![\w./:-])"
    return len(re.findall(pattern, text))


NAMES = [
    "summary",
    "summary-model",
    "top",
    "trend-origin",
    "trend-model",
    "trend-model-limit3",
    "trend-model-folded",
    "lead",
    "cost",
    "whatif",
    "prices",
    "prices-all",
    "forecast",
    "forecast-one",
    "verify",
    "catalog-models",
    "ledger-info",
    "quarantine",
    "sources",
]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_table_fits(reports: dict[str, tuple[Any, list[str]]], width: int) -> None:
    assert sorted(reports) == sorted(NAMES)
    for name in NAMES:
        renderable, ids = reports[name]
        text = render(renderable, width)
        wide = [line for line in text.splitlines() if len(line) > width]
        assert not wide, f"{name} at {width}: {len(wide)} lines wider, e.g. {wide[0]!r}"
        assert "…" not in text, f"{name} at {width}: a cell is cut"
        expected: dict[str, int] = {}
        for ident in ids:
            expected[ident] = expected.get(ident, 0) + 1
        missing = {i: n for i, n in expected.items() if whole(text, i) < min(n, 1)}
        assert not missing, f"{name} at {width}: ids not whole: {sorted(missing)[:5]}"
        if not name.startswith("trend"):
            # one row per id (trend shows a group once, as a column, when it is wide)
            short = {i: n for i, n in expected.items() if whole(text, i) < n}
            assert not short, f"{name} at {width}: ids broken in some rows: {sorted(short)[:5]}"


@pytest.mark.parametrize("width", SNAPSHOT_WIDTHS)
def test_snapshots(reports: dict[str, tuple[Any, list[str]]], width: int) -> None:
    update = os.environ.get("UPDATE_SNAPSHOTS") == "1"
    stale = []
    for name in NAMES:
        text = render(reports[name][0], width)
        path = SNAPSHOTS / f"{name}-{width}.txt"
        if update:
            SNAPSHOTS.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path.name)
    assert not stale, f"snapshots differ (review, then UPDATE_SNAPSHOTS=1): {stale}"


@pytest.mark.parametrize("name", ["trend-model-limit3", "trend-model-folded"])
def test_trend_others_column_makes_rows_add_up(
    reports: dict[str, tuple[Any, list[str]]], name: str
) -> None:
    """At 200 columns, trend by model with 3 groups (folded here, or by the report): three
    group columns, ``others`` and ``all``; per period the shown cells and others add up to
    all (within the rounding)."""
    text = render(reports[name][0], 200)
    header = next(line for line in text.splitlines() if "others" in line and "week" in line)
    names = [cell.strip() for cell in header.strip("┃ ").split("┃")]
    assert names[0] == "week" and names[-2:] == ["others", "all"] and len(names) == 6
    units = {"T": 1e12, "B": 1e9, "M": 1e6, "K": 1e3}
    rows = [line for line in text.splitlines() if re.match(r"│ \d{4}-W\d\d", line)]
    assert len(rows) == 12
    for line in rows:
        cells = [c.strip() for c in line.strip("│ ").split("│")][1:]
        amounts = [c.split()[0] if c else "0K" for c in cells]  # the growth follows a space
        values = [float(a[:-1]) * units[a[-1]] for a in amounts]
        # each cell is rounded to 2 decimals of its unit: at most 0.005 of it off
        slack = sum(0.005 * units[a[-1]] for a in amounts)
        assert abs(sum(values[:-1]) - values[-1]) <= slack


def test_lowest_priority_goes_first_and_is_named() -> None:
    """A 40-column console: the id and the unprioritised value stay; `c` (priority 1) goes
    before `b` (priority 2); the footnote names what was left out."""
    table = FitTable(
        [Column("id", "left"), Column("value"), Column("b", priority=2), Column("c", priority=1)]
    )
    table.add_row("deepseek/deepseek-v3.2", "1.02T", "x" * 8, "y" * 8)
    # widths: id 22, value 5, b 8, c 8, each + 2 padding + 1 border, + 1 closing border
    assert len(render(table, 60).splitlines()[1]) == 1 + (22 + 3) + (5 + 3) + (8 + 3) * 2
    text = render(table, 45)
    assert "yyyyyyyy" not in text and "xxxxxxxx" in text
    assert "Left out to fit 45 columns: c" in text
    text = render(table, 34)
    assert "xxxxxxxx" not in text and "deepseek/deepseek-v3.2" in text
    assert "Left out to fit 34 columns: b, c" in text
