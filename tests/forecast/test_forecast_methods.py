"""Forecast methods, backtest, milestones and multiples against values worked out by hand."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import pytest

from tokenstat.errors import QueryError
from tokenstat.forecast import methods as m
from tokenstat.forecast.backtest import backtest, origins_for
from tokenstat.forecast.milestones import DAYS_PER_YEAR, milestone, multiple_at
from tokenstat.forecast.report import forecast_values, horizon_target, periods_between

GROWTH = [1e9 * 1.05**i for i in range(30)]  # exact 5% compound growth per period
NOISY = [100 * 1.1**i * (1.08 if i % 2 else 0.93) for i in range(30)]


@pytest.mark.parametrize("method", ["cagr", "loglinear"])
def test_exact_compound_growth_is_recovered_and_forecast_exactly(method):
    fc = m.run(method, GROWTH, 10, window=13)
    for h in range(1, 11):
        assert fc.value[h - 1] == pytest.approx(GROWTH[-1] * 1.05**h, rel=1e-12)
        # no noise, no uncertainty: the intervals collapse onto the point
        for bound in ("lo80", "hi80", "lo95", "hi95"):
            assert fc.bound(bound)[h - 1] == pytest.approx(fc.value[h - 1], rel=1e-9)


@pytest.mark.parametrize("method", ["cagr", "loglinear"])
def test_intervals_contain_the_point_and_widen_with_the_horizon(method):
    fc = m.run(method, NOISY, 12, window=13)
    widths80 = [hi / lo for lo, hi in zip(fc.lo80, fc.hi80, strict=True)]
    widths95 = [hi / lo for lo, hi in zip(fc.lo95, fc.hi95, strict=True)]
    for i in range(12):
        assert fc.lo95[i] < fc.lo80[i] < fc.value[i] < fc.hi80[i] < fc.hi95[i]
    assert all(b > a for a, b in itertools.pairwise(widths80))
    assert all(b > a for a, b in itertools.pairwise(widths95))


def test_cagr_by_hand():
    values = [100.0, 120.0, 125.0, 150.0]
    fc = m.cagr(values, 2, window=3)
    # growth rate over the window: (150/100)^(1/3) - 1
    g = 1.5 ** (1 / 3) - 1
    assert fc.value[0] == pytest.approx(150 * (1 + g))
    assert fc.value[1] == pytest.approx(150 * (1 + g) ** 2)
    steps = [math.log(1.2), math.log(125 / 120), math.log(1.2)]
    drift = math.log(1.5) / 3
    s = math.sqrt(sum((r - drift) ** 2 for r in steps) / 2)
    t95 = 4.302652729911275  # Student's t, 2 degrees of freedom, 97.5%
    spread = s * math.sqrt(2 + 4 / 3)
    assert fc.hi95[1] == pytest.approx(150 * math.exp(2 * drift + t95 * spread))
    assert fc.lo95[1] == pytest.approx(150 * math.exp(2 * drift - t95 * spread))


def test_loglinear_by_hand():
    values = [math.e**0, math.e**1, math.e**3, math.e**4]  # logs 0, 1, 3, 4
    fc = m.loglinear(values, 1, window=3)
    # least squares through (0,0) (1,1) (2,3) (3,4): slope 1.4, intercept -0.1
    assert fc.value[0] == pytest.approx(math.exp(-0.1 + 1.4 * 4))
    residuals = [0 - (-0.1), 1 - 1.3, 3 - 2.7, 4 - 4.1]
    s = math.sqrt(sum(r * r for r in residuals) / 2)
    spread = s * math.sqrt(1 + 1 / 4 + (4 - 1.5) ** 2 / 5)
    assert fc.hi80[0] == pytest.approx(math.exp(5.5 + m.t_quantile(0.9, 2) * spread))


@pytest.mark.parametrize(
    ("p", "dof", "table"),
    [(0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 3, 3.182), (0.9, 5, 1.476), (0.975, 30, 2.042)],
)
def test_t_quantile_matches_tables(p, dof, table):
    assert m.t_quantile(p, dof) == pytest.approx(table, rel=2e-3)


def test_short_or_non_positive_series_are_refused():
    with pytest.raises(m.ForecastUnavailable, match="at least 3"):
        m.cagr([1.0, 2.0], 1, window=3)
    with pytest.raises(m.ForecastUnavailable, match="positive"):
        m.loglinear([1.0, 0.0, 2.0, 3.0], 1, window=3)


def test_backtest_mape_by_hand():
    values = [100.0, 110.0, 121.0, 140.0, 150.0]
    # origins 2 and 3 (cagr needs 3 periods); each forecasts one period ahead
    assert origins_for(len(values), 1, 12, m.MIN_HISTORY["cagr"]) == [2, 3]
    bt = backtest(values, ["cagr"], horizons=1, window=2)
    f2 = 121 * 1.1  # (121/100)^(1/2) = 1.1
    f3 = 140 * math.sqrt(140 / 110)
    expected = (abs(f2 - 140) / 140 + abs(f3 - 150) / 150) / 2
    [score] = bt.scores
    assert (score.method, score.horizon, score.n) == ("cagr", 1, 2)
    assert score.mape == pytest.approx(expected)


def test_backtest_picks_the_method_that_was_least_wrong():
    # log-linear with alternating noise: the trend line beats compounding from the last value
    result = forecast_values(NOISY, 6, method="auto", window=13, backtest_horizons=4)
    bt = result.backtest
    best = min(("cagr", "loglinear"), key=lambda name: bt.mean_mape(name) or 1e9)
    if "ets" not in bt.skipped:
        best = min((best, "ets"), key=lambda name: bt.mean_mape(name) or 1e9)
    assert result.method == best
    assert {s.horizon for s in bt.scores} == {1, 2, 3, 4}


def test_auto_refuses_a_history_too_short_to_backtest():
    result = forecast_values([1.0, 2.0, 4.0, 8.0], 3, window=13, backtest_horizons=2)
    assert result.forecast is None and "too short" in (result.note or "")
    forced = forecast_values([1.0, 2.0, 4.0, 8.0], 3, method="cagr", window=13, backtest_horizons=2)
    assert forced.method == "cagr"
    assert forced.forecast is not None and forced.forecast.value[0] == pytest.approx(16)


def test_milestone_by_hand():
    weeks = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(9)]
    history = list(zip(weeks[:4], [1.0, 2.0, 4.0, 8.0], strict=True))
    future = weeks[4:]
    fc = m.cagr([v for _, v in history], 5, window=3)  # doubles each period: 16, 32, 64, ...
    row = milestone("a", 20.0, history, future, fc)
    assert row["status"] == "expected"
    assert row["start"] == future[1]  # 32 is the first value >= 20
    assert row["earliest80"] == row["latest80"] == future[1]
    assert milestone("a", 5.0, history, future, fc)["status"] == "reached"
    assert milestone("a", 5.0, history, future, fc)["start"] == date(2026, 1, 26)  # 8 >= 5
    assert milestone("a", 1e6, history, future, fc)["status"] == "not within the horizon"


def test_milestone_range_brackets_the_expected_period():
    future = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(30)]
    fc = m.cagr(NOISY, 30, window=13)
    threshold = NOISY[-1] * 3
    row = milestone("a", threshold, [], future, fc)
    assert row["earliest95"] <= row["earliest80"] <= row["start"] <= row["latest80"]
    assert row["latest95"] is None or row["latest80"] <= row["latest95"]


def test_multiple_and_cagr_by_hand():
    base, target = date(2026, 3, 30), date(2027, 3, 29)  # 52 weeks later
    fc = m.cagr(GROWTH, 52, window=13)
    final = {name: fc.bound(name)[-1] for name in ("value", "lo80", "hi80", "lo95", "hi95")}
    row = multiple_at("a", (base, GROWTH[-1]), target, final)
    assert row["multiple"] == pytest.approx(1.05**52)
    years = 364 / DAYS_PER_YEAR
    assert row["years"] == pytest.approx(years)
    assert row["cagr"] == pytest.approx(1.05 ** (52 / years) - 1)
    assert row["multiple_lo95"] == pytest.approx(row["multiple"], rel=1e-9)


@pytest.mark.parametrize(
    ("spec", "grain", "target"),
    [
        ("2030", "week", date(2030, 12, 23)),  # the last week that ends in 2030
        ("2030", "month", date(2030, 12, 1)),
        ("2030", "year", date(2030, 1, 1)),
        ("2030-06", "quarter", date(2030, 4, 1)),
        ("2030-06-15", "week", date(2030, 6, 10)),
        ("4", "week", date(2026, 4, 27)),
        (None, "month", date(2027, 3, 1)),
    ],
)
def test_horizon_target(spec, grain, target):
    base = date(2026, 3, 30) if grain == "week" else date(2026, 3, 1)
    assert horizon_target(spec, base, grain) == target


def test_horizon_errors_are_clear():
    with pytest.raises(QueryError, match="not a number of periods"):
        horizon_target("soon", date(2026, 3, 30), "week")
    with pytest.raises(QueryError, match="more than"):
        periods_between(date(2026, 3, 30), date(2090, 1, 1), "day")


def test_ets_recovers_exact_growth():
    pytest.importorskip("statsforecast")
    fc = m.ets(GROWTH, 4)
    for h in range(1, 5):
        assert fc.value[h - 1] == pytest.approx(GROWTH[-1] * 1.05**h, rel=1e-6)
    noisy = m.ets(NOISY, 6)
    assert all(lo <= v <= hi for lo, v, hi in zip(noisy.lo95, noisy.value, noisy.hi95, strict=True))


def test_without_statsforecast_the_other_methods_compete(monkeypatch):
    monkeypatch.setattr(m, "ets_missing", lambda: "ets needs the statsforecast package")
    result = forecast_values(NOISY, 4, window=13, backtest_horizons=2)
    assert result.method in ("cagr", "loglinear")
    assert result.backtest.skipped == {"ets": "ets needs the statsforecast package"}
    with pytest.raises(m.ForecastUnavailable, match="statsforecast"):
        m.run("ets", NOISY, 2, window=13)
