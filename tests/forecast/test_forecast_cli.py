"""`tokenstat forecast` in process on small ledgers with known growth, and on the sample."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from tokenstat.cli.demo import sample_path

WEEKS = [date(2025, 9, 1) + timedelta(weeks=i) for i in range(30)]  # Mondays
CN0, US0 = 1_000_000_000, 2_000_000_000


def _weekly_csv(path: Path) -> Path:
    """Weekly rows: acme/a (CN) grows exactly 5% a week, zeta/b (US) exactly 2%."""
    lines = ["date,model,tokens,grain,author,country"]
    for i, week in enumerate(WEEKS):
        lines.append(f"{week},acme/a,{round(CN0 * 1.05**i)},week,acme,CN")
        lines.append(f"{week},zeta/b,{round(US0 * 1.02**i)},week,zeta,US")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def weekly(invoke, tmp_path):
    result = invoke("import", "market", str(_weekly_csv(tmp_path / "weekly.csv")))
    assert result.exit_code == 0, result.output


def _json(invoke, *args):
    result = invoke("forecast", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_contract(invoke, weekly):
    report = _json(invoke, "--by", "origin", "--method", "cagr", "--until-reaches", "3B")
    assert {"series", "method", "backtest", "points", "milestones"} <= set(report)
    assert report["base"] == {"start": WEEKS[-1].isoformat(), "end": "2026-03-29"}
    assert [s["key"] for s in report["series"]] == ["CN", "US"]  # largest first: 4.1B, 3.6B
    assert set(report["points"][0]) == {"key", "method", "start", "value", "lo80", "hi80"} | {
        "lo95",
        "hi95",
    }
    assert set(report["backtest"][0]) >= {"method", "horizon", "mape"}
    assert {m["key"] for m in report["milestones"]} == {"US", "CN"}


def test_compound_growth_is_forecast_exactly(invoke, weekly):
    report = _json(invoke, "--by", "origin", "--key", "CN", "--method", "cagr", "--horizon", "4")
    last = CN0 * 1.05**29
    points = report["points"]
    assert [p["start"] for p in points] == [
        (WEEKS[-1] + timedelta(weeks=h)).isoformat() for h in range(1, 5)
    ]
    for h, p in enumerate(points, start=1):
        assert p["value"] == pytest.approx(last * 1.05**h, rel=1e-6)
        assert p["lo95"] == pytest.approx(p["value"], rel=1e-6)
    [mult] = report["multiples"]
    assert mult["multiple"] == pytest.approx(1.05**4, rel=1e-6)
    # the backtest of an exact series is (almost) never wrong
    assert all(b["mape"] < 1e-6 for b in report["backtest"])


def test_milestone_period_by_hand(invoke, weekly):
    last = CN0 * 1.05**29
    threshold = last * 1.05**3 * 0.999  # reached three weeks after the base week
    report = _json(
        invoke, "--by", "origin", "--key", "CN", "--method", "loglinear",
        "--until-reaches", str(threshold),
    )  # fmt: skip
    [row] = report["milestones"]
    expected = (WEEKS[-1] + timedelta(weeks=3)).isoformat()
    assert row["status"] == "expected"
    assert row["start"] == row["earliest80"] == row["latest95"] == expected
    reached = _json(invoke, "--by", "origin", "--key", "CN", "--until-reaches", "1.1B")
    assert reached["milestones"][0] == reached["milestones"][0] | {
        "status": "reached",
        "start": WEEKS[2].isoformat(),  # 1.05^2 = 1.1025 >= 1.1
    }


def test_table_for_people(invoke, weekly):
    result = invoke("forecast", "--by", "origin", "--until-reaches", "2.5B", "--horizon", "2026")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Forecast of tokens by origin per week, 2026-W13 to 2026-W52" in out
    assert "When each first reaches 2.50B per week" in out
    assert "Backtest" in out and "80% interval" in out


def test_csv_lists_the_points(invoke, weekly):
    result = invoke(
        "forecast", "--by", "none", "--key", "all", "--method", "cagr", "--horizon", "3", "--csv"
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["key"] for r in rows] == ["all"] * 3
    assert float(rows[0]["value"]) == pytest.approx(
        (CN0 * 1.05**29 + US0 * 1.02**29) * 1.0, rel=0.05
    )


def test_partial_last_week_is_left_out(invoke, tmp_path):
    lines = ["date,model,tokens,country,author"]
    day = date(2026, 1, 5)
    for i in range(7 * 8 + 3):  # eight full weeks and three days
        lines.append(f"{day + timedelta(days=i)},acme/a,{1000 + 10 * i},CN,acme")
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    invoke("import", "market", str(tmp_path / "d.csv"))
    report = _json(invoke, "--method", "cagr")
    assert report["base"]["start"] == "2026-02-23"  # the eighth week, not the ninth
    assert any("2026-W10 left out" in n for n in report["notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--by", "origin", "--key", "CM"), "no origin named 'CM' in the data; did you mean CN"),
        (("--horizon", "soon"), "not a number of periods"),
        (("--method", "magic"), "unknown method 'magic'"),
        (("--until-reaches", "lots"), "cannot read 'lots' as a number"),
        (("--metric", "cost"), "no cost could be computed for this selection"),
        (("--base", "2020-01-01"), "outside the history"),
    ],
)
def test_errors_are_one_friendly_line(invoke, weekly, args, message):
    result = invoke("forecast", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_headline_forecast(invoke):
    invoke("import", "market", str(sample_path()))
    cost = _json(invoke, "--metric", "cost", "--method", "cagr", "--horizon", "4")
    assert cost["measure"] == "usd" and cost["cost_mode"] == "auto"
    assert cost["series"][0]["last_value"] > 1e6  # USD per week
    assert any("could not be priced" in n for n in cost["notes"])
    report = _json(invoke, "--by", "origin", "--until-reaches", "20T", "--limit", "2")
    assert [s["key"] for s in report["series"]] == ["CN", "US"]
    cn = next(m for m in report["milestones"] if m["key"] == "CN")
    # China is at 12.96T and growing fast: 20T is expected within the default horizon
    assert cn["status"] == "expected"
    assert cn["earliest95"] <= cn["start"]
    methods = {b["method"] for b in report["backtest"]}
    assert {"cagr", "loglinear"} <= methods
