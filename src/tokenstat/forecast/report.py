"""The forecast report as a dict (the ``--json`` contract), for one or several series.

``forecast_values`` is the engine-free core (a list of values in, forecast out);
``forecast`` reads the series from a `Dataset` with the reports' own metric code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from tokenstat.errors import QueryError
from tokenstat.forecast import methods as m
from tokenstat.forecast.backtest import Backtest, backtest
from tokenstat.forecast.milestones import milestone, multiple_at
from tokenstat.forecast.series import ALL, extract
from tokenstat.metrics.reports import Dataset, Selection
from tokenstat.periods import check_grain, period_end, period_label, period_start, shift_period

if TYPE_CHECKING:
    from tokenstat.prices.cost import CostInputs

# defaults per grain: about a year ahead; a quarter-ish growth window; backtest horizons
DEFAULT_HORIZON = {"day": 90, "week": 52, "month": 12, "quarter": 8, "half": 4, "year": 3}
DEFAULT_WINDOW = {"day": 56, "week": 13, "month": 12, "quarter": 8, "half": 4, "year": 5}
DEFAULT_BACKTEST = {"day": 28, "week": 8, "month": 6, "quarter": 4, "half": 2, "year": 2}
BACKTEST_ORIGINS = 12
# the automatic choice needs at least this many scored origins per method
MIN_BACKTEST_ORIGINS = 3
MAX_HORIZON = 2000
SEASON = {"day": 7}


def horizon_target(spec: str | int | None, base: date, grain: str) -> date:
    """Start of the last forecast period for a ``--horizon`` value.

    ``N`` (a number below 1000): N periods after ``base``; a year ``2030``: the last period
    that ends in 2030; ``2030-06``: the last period that ends in June 2030; a day
    ``2030-06-15``: the period containing it. None: the grain's default horizon.
    """
    check_grain(grain)
    text = str(spec).strip() if spec is not None else ""
    if not text:
        return shift_period(base, grain, DEFAULT_HORIZON[grain])
    if re.fullmatch(r"\d{1,3}", text):
        return shift_period(base, grain, int(text))
    if re.fullmatch(r"\d{4}", text):
        return _last_ending_by(date(int(text), 12, 31), grain)
    month = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if month:
        year, mon = int(month[1]), int(month[2])
        if not 1 <= mon <= 12:
            raise QueryError(f"--horizon: not a month: {text!r}")
        return _last_ending_by(shift_period(date(year, mon, 1), "month", 1) - _DAY, grain)
    try:
        return period_start(date.fromisoformat(text), grain)
    except ValueError:
        raise QueryError(
            f"--horizon: {text!r} is not a number of periods, a year (2030), a month "
            "(2030-06) or a day (2030-06-15)"
        ) from None


_DAY = date(2000, 1, 2) - date(2000, 1, 1)


def _last_ending_by(day: date, grain: str) -> date:
    start = period_start(day, grain)
    return start if period_end(start, grain) <= day else shift_period(start, grain, -1)


def periods_between(base: date, target: date, grain: str) -> int:
    """How many periods ``target`` is after ``base`` (both period starts)."""
    n = 0
    current = base
    while current < target:
        n += 1
        if n > MAX_HORIZON:
            raise QueryError(
                f"--horizon is more than {MAX_HORIZON} {grain}s ahead; pick a nearer one"
            )
        current = shift_period(current, grain, 1)
    return n


def usable_history(values: Sequence[float]) -> int:
    """Index where the trailing run of positive values starts (len(values) if none)."""
    i = len(values)
    while i > 0 and values[i - 1] > 0:
        i -= 1
    return i


@dataclass
class SeriesForecast:
    """One series' forecast: the chosen method, its backtest and its forecast (or a note)."""

    method: str | None
    backtest: Backtest
    forecast: m.Forecast | None
    note: str | None = None


def forecast_values(
    values: Sequence[float],
    horizon: int,
    *,
    method: str = "auto",
    window: int,
    backtest_horizons: int,
    origins: int = BACKTEST_ORIGINS,
    season: int = 1,
) -> SeriesForecast:
    """Backtest the candidate methods on ``values`` (all positive, oldest first), pick the
    best (or the one named), and forecast ``horizon`` periods."""
    if method != "auto" and method not in m.METHODS:
        raise QueryError(f"unknown method {method!r}; choose one of: auto, {', '.join(m.METHODS)}")
    if horizon < 1:
        raise QueryError("the horizon must be at least one period after the base period")
    if window < 2:
        raise QueryError("--window must be at least 2 periods")
    candidates = list(m.METHODS) if method == "auto" else [method]
    skipped = {}
    if method == "auto":
        # a method that cannot be scored on enough origins is not a candidate
        for name in list(candidates):
            need = m.MIN_HISTORY[name] + MIN_BACKTEST_ORIGINS
            if len(values) < need:
                candidates.remove(name)
                skipped[name] = f"needs {need} periods of history to be backtested"
    bt = backtest(
        values,
        candidates,
        horizons=min(backtest_horizons, horizon),
        origins=origins,
        window=window,
        season=season,
        min_scores=MIN_BACKTEST_ORIGINS if method == "auto" else 1,
    )
    bt.skipped = skipped | bt.skipped
    chosen = method
    if method == "auto":
        best = bt.best()
        if best is None:
            why = (
                "too short to choose a method by backtest"
                if not candidates
                else ("no method could be backtested")
            )
            return SeriesForecast(None, bt, None, f"no forecast: {why} (name one with --method)")
        chosen = best
    try:
        fc = m.run(chosen, values, horizon, window=window, season=season)
    except m.ForecastUnavailable as exc:
        return SeriesForecast(None, bt, None, str(exc))
    return SeriesForecast(chosen, bt, fc)


def forecast(
    ds: Dataset,
    *,
    by: str | None = None,
    keys: Sequence[str] = (),
    grain: str = "week",
    sel: Selection = Selection(),
    metric: str = "tokens",
    at: date | None = None,
    horizon: str | int | None = None,
    method: str = "auto",
    window: int | None = None,
    until_reaches: float | None = None,
    base: date | None = None,
    limit: int = 10,
    backtest_horizons: int | None = None,
    cost: CostInputs | None = None,
    cost_mode: str = "auto",
) -> dict[str, Any]:
    """Forecast one series (``by`` None: everything) or several groups (``keys``, else the
    ``limit`` largest of the last complete period). See docs/forecast.md."""
    series = extract(
        ds,
        by=by,
        grain=grain,
        sel=sel,
        metric=metric,
        keys=keys,
        limit=limit,
        at=at,
        cost=cost,
        cost_mode=cost_mode,
    )
    starts = series.starts
    last = starts[-1]
    target = horizon_target(horizon, last, grain)
    steps = periods_between(last, target, grain)
    if steps < 1:
        raise QueryError(
            f"--horizon {horizon} is not after the last complete {grain} "
            f"({period_label(last, grain)})"
        )
    future = [shift_period(last, grain, h) for h in range(1, steps + 1)]
    window = window or DEFAULT_WINDOW[grain]
    bt_h = backtest_horizons or DEFAULT_BACKTEST[grain]
    if base is not None:
        base_start = period_start(base, grain)
        if base_start not in starts:
            raise QueryError(
                f"--base {base.isoformat()} is outside the history "
                f"({period_label(starts[0], grain)} to {period_label(last, grain)})"
            )
    else:
        base_start = last

    out_series, backtests, points, history, milestones, multiples = [], [], [], [], [], []
    for key, values in series.values.items():
        cut = usable_history(values)
        used = values[cut:]
        used_starts = starts[cut:]
        note = None
        if cut:
            note = (
                f"history from {period_label(used_starts[0], grain)}: earlier periods have no data"
                if used
                else "no data in the last period"
            )
        result = (
            forecast_values(
                used,
                steps,
                method=method,
                window=window,
                backtest_horizons=bt_h,
                season=SEASON.get(grain, 1),
            )
            if used
            else SeriesForecast(None, Backtest(), None, None)
        )
        notes = [n for n in (note, result.note) if n]
        if result.forecast is not None and len(used) < steps:
            notes.append("forecast reaches further ahead than its history goes back")
        for s, v in zip(starts, values, strict=True):
            history.append({"key": key, "start": s, "value": v})
        backtests += [{"key": key} | score.as_dict() for score in result.backtest.scores]
        fc = result.forecast
        if fc is not None:
            for i, s in enumerate(future):
                points.append(
                    {
                        "key": key,
                        "method": fc.method,
                        "start": s,
                        "value": fc.value[i],
                        "lo80": fc.lo80[i],
                        "hi80": fc.hi80[i],
                        "lo95": fc.lo95[i],
                        "hi95": fc.hi95[i],
                    }
                )
            base_value = values[starts.index(base_start)]
            final = {name: fc.bound(name)[-1] for name in ("value", "lo80", "hi80", "lo95", "hi95")}
            multiples.append(multiple_at(key, (base_start, base_value), target, final))
        if until_reaches is not None:
            milestones.append(
                milestone(key, until_reaches, list(zip(starts, values, strict=True)), future, fc)
            )
        out_series.append(
            {
                "key": key,
                "method": result.method,
                "history_periods": len(used),
                "first": used_starts[0] if used_starts else None,
                "last_value": values[-1],
                "skipped": [
                    {"method": name, "reason": why} for name, why in result.backtest.skipped.items()
                ],
                "backtest_origins": len(result.backtest.origins),
                "notes": notes,
            }
        )
    milestones.sort(key=lambda r: (_milestone_order(r), r["key"]))
    return _iso_dates(
        {
            "metric": metric,
            "measure": "usd" if metric == "cost" else sel.kind,
            "cost_mode": cost_mode if metric == "cost" else None,
            "by": by,
            "grain": grain,
            "method": method,
            "window": window,
            "base": {"start": last, "end": period_end(last, grain)},
            "horizon": {"periods": steps, "start": target, "end": period_end(target, grain)},
            "threshold": until_reaches,
            "series": out_series,
            "backtest": backtests,
            "points": points,
            "history": history,
            "milestones": milestones,
            "multiples": multiples,
            "notes": series.notes,
            "sources": ds.sources,
        }
    )


def _iso_dates(value: Any) -> Any:
    """Dates as ISO strings, as in every report dict."""
    if isinstance(value, dict):
        return {k: _iso_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso_dates(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _milestone_order(row: dict[str, Any]) -> tuple[int, date]:
    rank = {"reached": 0, "expected": 1}.get(row["status"], 2)
    return rank, row["start"] or row["earliest80"] or date.max


__all__ = ["ALL", "forecast", "forecast_values", "horizon_target", "periods_between"]
