"""Chart files: every kind is built from its report dict, validates against the Vega-Lite
schema and is written as PNG (decodes), SVG (parses) and HTML (offline, holds the data)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.visual_data import decode_png, parse_svg, svg_text

from tokenstat import api
from tokenstat.catalog import load_catalog
from tokenstat.market_report import (
    Inputs,
    forecast_section,
    own_usage_days,
    prices_section,
    whatif_section,
)
from tokenstat.metrics import reports
from tokenstat.render import charts


@pytest.fixture(scope="module")
def inputs(visual_db: Path):
    ledger = api.open_ledger(visual_db, read_only=True)
    yield Inputs.of(ledger, load_catalog())
    ledger.close()


@pytest.fixture(scope="module")
def trend(inputs):
    return reports.trend(inputs.ds, by="origin", last=12)


def test_trend_chart_marks_the_crossover_and_carries_units_and_sources(inputs, trend):
    lead = reports.lead(inputs.ds, "CN", "US")
    spec = charts.to_spec(charts.trend_chart(trend, lead), validate=True)
    text = json.dumps(spec)
    assert "CN overtakes US in 2026-W10" in text
    assert "Tokens per week" in text and "T = trillion" in text
    assert "Source: market" in text and "data to 2026-04-05" in text
    assert "Origin attributed for" in text
    assert "2026-W03 to 2026-W14" in text


def test_default_pair_is_the_two_largest_ranked_groups(trend):
    assert charts.default_pair(trend) == ("CN", "US")


def test_share_chart_is_a_normalised_stack_with_every_group(trend):
    spec = charts.to_spec(charts.share_chart(trend, max_groups=3), validate=True)
    assert spec["encoding"]["y"]["stack"] == "normalize"
    keys = {v["key"] for v in spec["data"]["values"]}
    assert {"CN", "unknown", "US"} <= keys
    assert any(k.startswith("others (") for k in keys)
    # per period, the shares drawn add up to the whole
    by_start: dict[str, float] = {}
    for v in spec["data"]["values"]:
        by_start[v["start"]] = by_start.get(v["start"], 0) + v["share"]
    assert all(abs(total - 1) < 1e-9 for total in by_start.values())


def test_top_chart_orders_bars_by_rank_and_labels_growth(inputs):
    top = reports.top(inputs.ds, by="model", limit=5)
    spec = charts.to_spec(charts.top_chart(top), validate=True)
    order = spec["layer"][0]["encoding"]["y"]["sort"]
    assert order == [r["key"] for r in top["rows"]]
    labels = [v["label"] for v in spec["data"]["values"]]
    assert labels[0].startswith("1.12T") and labels[0].endswith("new")
    assert spec["layer"][0]["encoding"]["color"]["field"] == "origin"


def test_chart_files_png_svg_html_json(tmp_path: Path, trend):
    chart = charts.share_chart(trend)
    png = charts.save(chart, tmp_path / "share.png")
    width, height = decode_png(png.read_bytes())
    assert width > 600 and height > 300
    svg = charts.save(chart, tmp_path / "share.svg")
    root = parse_svg(svg.read_text())
    assert "Share of tokens by origin per week" in svg_text(root)
    html = charts.save(chart, tmp_path / "share.html").read_text()
    assert '"key": "CN"' in html or '"key":"CN"' in html
    assert "vegaEmbed" in html and "<script src" not in html and "<link" not in html
    assert "default-src 'none'" in html
    spec = json.loads(charts.save(chart, tmp_path / "share.json").read_text())
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_unknown_extension_is_refused(tmp_path: Path, trend):
    from tokenstat.errors import QueryError

    with pytest.raises(QueryError, match=re.escape("extensions: .png, .svg, .html, .json")):
        charts.save(charts.share_chart(trend), tmp_path / "share.gif")


def test_price_whatif_and_forecast_charts_from_their_own_reports(inputs, tmp_path: Path):
    start = reports.summary(inputs.ds)["period"]["start"]
    from datetime import date

    at = date.fromisoformat(start)
    prices = prices_section(
        inputs, baseline="openai/gpt-4", grain="week", at=at, models=["deepseek/deepseek-v3.2"]
    )
    spec = charts.to_spec(charts.prices_chart(prices), validate=True)
    text = json.dumps(spec)
    assert "log" in text and "USD per million tokens" in text and "openai/gpt-4" in text
    decode_png(charts.save(spec, tmp_path / "prices.png").read_bytes())

    own = own_usage_days(inputs.ds)
    whatif = whatif_section(inputs, grain="week", at=at, own=own, baseline="openai/gpt-4")
    spec = charts.to_spec(charts.whatif_chart(whatif), validate=True)
    names = [v["name"] for v in spec["data"]["values"]]
    assert names[0].startswith("actual") and "openai/gpt-4" in names
    assert "Cost of the workload (USD)" in json.dumps(spec)

    forecast = forecast_section(inputs, grain="week", at=at, sel=reports.Selection())
    spec = charts.to_spec(charts.forecast_chart(forecast), validate=True)
    assert "80% and 95% prediction intervals" in " ".join(spec["title"]["subtitle"])
    assert '"hi95"' in json.dumps(spec)
    decode_png(charts.save(spec, tmp_path / "forecast.png").read_bytes())


def test_chart_command_writes_each_format(invoke, visual_db: Path, tmp_path: Path):
    for kind, name in (("trend", "t.png"), ("share", "s.svg"), ("top", "top.html")):
        result = invoke("--db", str(visual_db), "chart", kind, "--out", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).stat().st_size > 1000
    decode_png((tmp_path / "t.png").read_bytes())
    parse_svg((tmp_path / "s.svg").read_text())
    result = invoke(
        "--db",
        str(visual_db),
        "chart",
        "trend",
        "--by",
        "author",
        "--a",
        "qwen",
        "--b",
        "openai",
        "--last",
        "30",
        "--out",
        str(tmp_path / "a.json"),
    )
    assert result.exit_code == 0, result.output
    assert "qwen overtakes openai" in (tmp_path / "a.json").read_text()


def test_chart_command_errors_are_one_line(invoke, visual_db: Path, tmp_path: Path):
    bad = invoke("--db", str(visual_db), "chart", "pie", "--out", str(tmp_path / "x.png"))
    assert bad.exit_code == 1 and "unknown chart 'pie'" in bad.stderr
    bad = invoke("--db", str(visual_db), "chart", "top", "--out", str(tmp_path / "x.gif"))
    assert bad.exit_code == 1 and "cannot tell the chart format" in bad.stderr
    bad = invoke("--db", str(visual_db), "chart", "trend", "--a", "CN", "--out", "x.png")
    assert bad.exit_code == 1 and "give both --a and --b" in bad.stderr
    assert "Traceback" not in bad.output
