"""The market report: HTML (self-contained, escaped), Markdown with PNG charts, JSON;
its figures are the JSON reports' figures."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from tests.visual_data import EVIL_MODEL, decode_png

from tokenstat import api
from tokenstat.catalog import load_catalog
from tokenstat.market_report import Inputs, build
from tokenstat.render import report_html


def _embedded(page: str, element: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', page, re.S)
    assert match, f"no #{element} in the page"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def report_page(visual_db: Path, tmp_path_factory: pytest.TempPathFactory):
    from typer.testing import CliRunner

    from tokenstat.cli import app

    out = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "--db",
            str(visual_db),
            "report",
            "--out",
            str(out),
            "--at",
            "2026-04-05",
            "--baseline",
            "openai/gpt-4",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_report_figures_are_the_json_reports(invoke, visual_db: Path, report_page: str):
    data = _embedded(report_page, "report-data")
    db = ("--db", str(visual_db))
    summary = json.loads(
        invoke(
            *db, "summary", "--by", "origin", "--limit", "0", "--at", "2026-04-05", "--json"
        ).stdout
    )
    top = json.loads(invoke(*db, "top", "--at", "2026-04-05", "--json").stdout)
    assert data["summary"] == summary
    # a float sum in the engine may differ in its last bit from run to run
    assert data["top"].pop("hhi") == pytest.approx(top.pop("hhi"))
    assert data["top"] == top
    cn = next(g for g in summary["groups"] if g["key"] == "CN")
    # the executive summary table shows those numbers
    table = report_page.split('id="summary-table"')[1].split("</table>")[0]
    assert "12.96T" in table and "+31.48%" in table and "48.0%" in table and "+4.59 pp" in table
    assert cn["leader_streak"] == 5 and ">5</td>" in table
    for row in top["rows"]:
        assert html.escape(row["key"]) in report_page
    assert "CN has been ahead of US for 5 consecutive weeks (since 2026-W10)." in report_page


def test_report_has_every_section(report_page: str):
    for section in ("summary", "trend", "top", "shift", "prices", "cost", "forecast", "provenance"):
        assert f'<section id="{section}">' in report_page
    data = _embedded(report_page, "report-data")
    assert data["prices"]["available"] and data["prices"]["baseline"] == "openai/gpt-4"
    assert data["cost"]["available"] and data["cost"]["slice"]["where"] == {"grain": "request"}
    assert data["whatif"]["available"] and data["forecast"]["available"]
    shift = data["shift"]["origin"]
    cn = next(r for r in shift["rows"] if r["key"] == "CN")
    assert cn["shift_pp"] == pytest.approx((cn["share_to"] - cn["share_from"]) * 100)
    assert "share 2026-W03" in report_page and "share 2026-W14" in report_page
    specs = _embedded(report_page, "chart-specs")
    assert set(specs) == {"trend", "share", "top", "prices", "whatif", "forecast"}
    # prices: input and output with the ratio to the baseline, as the prices report gives it
    row = next(r for r in data["prices"]["rows"] if r["model"] == "deepseek/deepseek-v3.2")
    assert row["input_ratio"] == pytest.approx(row["input_per_mtok"] / 30.0)
    assert "input vs baseline" in report_page
    # provenance
    assert "Source: market, data to 2026-04-05" in report_page
    assert "Origin attributed for" in report_page and "Definitions" in report_page


def test_report_is_self_contained(report_page: str):
    assert "default-src 'none'" in report_page
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=\"?https?:", report_page)
    assert "vegaEmbed" in report_page
    assert "University of Washington Interactive Data Lab" in report_page  # licence notice


def test_report_without_own_usage_says_what_is_missing(invoke, tmp_path: Path):
    from tokenstat.cli.demo import sample_path

    db = tmp_path / "market.duckdb"
    assert invoke("--db", str(db), "import", "market", str(sample_path())).exit_code == 0
    out = tmp_path / "r.html"
    result = invoke("--db", str(db), "report", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Not available: Cost: the ledger holds no own usage" in page
    assert "cost: not available" in result.stderr


def test_markdown_report_with_png_charts_beside_it(invoke, visual_db: Path, tmp_path: Path):
    out = tmp_path / "md" / "report.md"
    result = invoke("--db", str(visual_db), "report", "--format", "md", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "| 1 | CN | 12.96T | 9.86T | +31.48% | 48.0% | +4.59 pp | 5 |" in text
    for name in ("trend", "share", "top", "forecast"):
        assert f"](report-{name}.png)" in text
        decode_png((out.parent / f"report-{name}.png").read_bytes())


def test_json_format_is_the_report_contract(invoke, visual_db: Path, tmp_path: Path):
    out = tmp_path / "report.json"
    assert invoke("--db", str(visual_db), "report", "--out", str(out)).exit_code == 0
    data = json.loads(out.read_text())
    assert {
        "summary",
        "top",
        "trend",
        "lead",
        "shift",
        "prices",
        "cost",
        "whatif",
        "forecast",
        "sources",
        "definitions",
        "attributed_share",
    } <= set(data)


def test_strings_from_the_data_are_escaped(hostile_db: Path, tmp_path: Path):
    with api.open_ledger(hostile_db, read_only=True) as ledger:
        report = build(Inputs.of(ledger, load_catalog()))
    page = report_html.render_html(report)
    assert EVIL_MODEL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # in the embedded JSON the markup characters are escaped too
    assert "\\u003cscript\\u003ealert(1)" in page
    md = report_html.render_markdown(report, {})
    assert EVIL_MODEL not in md
    # the hostile model leads the top-models table: its row shows the name as escaped text
    assert "| 1 | &lt;script&gt;alert(1)&lt;/script&gt; |" in md
