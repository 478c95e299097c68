"""Forecasting methods on one positive series, each with 80% and 95% prediction intervals.

Every method works on the natural log of the series (growth is multiplicative), so the
point forecast is the *median* of the predicted distribution and intervals are
asymmetric around it after taking exponentials.

- ``cagr``: compound growth at the average rate of the last ``window`` periods (a random
  walk with drift). Point: ``y_T * (1 + g)^h`` with ``g = (y_T / y_{T-w})^(1/w) - 1``.
  Interval: ``log`` point ± t(w-1) · s · sqrt(h + h²/w), s the standard deviation of the
  per-period log growth over the window (the h²/w term is the uncertainty of the rate).
- ``loglinear``: least-squares line through ``log y`` over the last ``window + 1``
  periods. Interval: ± t(m-2) · s · sqrt(1 + 1/m + (t - t̄)²/Sxx), the textbook
  prediction interval of a regression, s the residual standard error, m the points fitted.
- ``ets``: exponential smoothing state-space model chosen by AICc (statsforecast
  ``AutoETS``, additive error, trend none/additive/damped; weekly season for daily data
  with four weeks of history) on the whole history; statsforecast's own intervals.
  Needs the optional ``statsforecast`` package (``pip install 'tokenstat[forecast]'``).

t(ν) is Student's t quantile; a series with no noise (exact compound growth) gets
intervals of zero width.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from tokenstat.errors import QueryError

LEVELS = (80, 95)
# fewest periods of history each method needs
MIN_HISTORY = {"cagr": 3, "loglinear": 4, "ets": 12}
METHODS = ("cagr", "loglinear", "ets")


class ForecastUnavailable(QueryError):
    """A method cannot forecast this series (too short, not positive, package missing)."""


@dataclass(frozen=True)
class Forecast:
    """Point forecasts (medians) and interval bounds for horizons 1..h, in series units."""

    method: str
    value: tuple[float, ...]
    lo80: tuple[float, ...]
    hi80: tuple[float, ...]
    lo95: tuple[float, ...]
    hi95: tuple[float, ...]

    def bound(self, name: str) -> tuple[float, ...]:
        return getattr(self, name)


def t_quantile(p: float, dof: int) -> float:
    """Student's t quantile: exact for 1 and 2 degrees of freedom, Cornish-Fisher expansion
    (Abramowitz & Stegun 26.7.5, four terms; error below 0.2% at 3 dof) above."""
    if dof < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if dof == 1:
        return math.tan(math.pi * (p - 0.5))
    if dof == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = NormalDist().inv_cdf(p)
    n = float(dof)
    return (
        z
        + (z**3 + z) / (4 * n)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * n**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * n**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * n**4)
    )


def _logs(values: Sequence[float], method: str) -> list[float]:
    if len(values) < MIN_HISTORY[method]:
        raise ForecastUnavailable(
            f"{method} needs at least {MIN_HISTORY[method]} periods of history, "
            f"this series has {len(values)}"
        )
    if any(v is None or not v > 0 for v in values):
        raise ForecastUnavailable(f"{method} needs a positive series (no zero periods)")
    return [math.log(v) for v in values]


def _from_logs(method: str, centre: Sequence[float], spread: Sequence[float], dof: int) -> Forecast:
    """Exponentiate ``centre ± t(dof) · spread`` for both levels."""
    bounds: dict[str, list[float]] = {}
    for level in LEVELS:
        q = t_quantile(0.5 + level / 200, dof)
        bounds[f"lo{level}"] = [_exp(c - q * s) for c, s in zip(centre, spread, strict=True)]
        bounds[f"hi{level}"] = [_exp(c + q * s) for c, s in zip(centre, spread, strict=True)]
    return Forecast(
        method,
        tuple(_exp(c) for c in centre),
        *(tuple(bounds[name]) for name in ("lo80", "hi80", "lo95", "hi95")),
    )


def _exp(x: float) -> float:
    return math.exp(min(x, 700.0))


def cagr(values: Sequence[float], horizon: int, *, window: int) -> Forecast:
    """Compound growth at the average rate of the last ``window`` periods."""
    logs = _logs(values, "cagr")
    w = min(window, len(logs) - 1)
    if w < 2:
        raise ForecastUnavailable("cagr needs a window of at least 2 periods")
    steps = [b - a for a, b in zip(logs[-w - 1 : -1], logs[-w:], strict=True)]
    drift = (logs[-1] - logs[-w - 1]) / w
    s = math.sqrt(sum((r - drift) ** 2 for r in steps) / (w - 1))
    hs = range(1, horizon + 1)
    centre = [logs[-1] + h * drift for h in hs]
    spread = [s * math.sqrt(h + h * h / w) for h in hs]
    return _from_logs("cagr", centre, spread, w - 1)


def loglinear(values: Sequence[float], horizon: int, *, window: int) -> Forecast:
    """Least-squares trend of log values over the last ``window + 1`` periods."""
    logs = _logs(values, "loglinear")
    ys = logs[-(window + 1) :]
    m = len(ys)
    if m < MIN_HISTORY["loglinear"]:
        raise ForecastUnavailable(
            f"loglinear needs a window of at least {MIN_HISTORY['loglinear'] - 1} periods"
        )
    t_mean = (m - 1) / 2
    y_mean = sum(ys) / m
    sxx = sum((t - t_mean) ** 2 for t in range(m))
    slope = sum((t - t_mean) * (y - y_mean) for t, y in enumerate(ys)) / sxx
    intercept = y_mean - slope * t_mean
    sse = sum((y - intercept - slope * t) ** 2 for t, y in enumerate(ys))
    s = math.sqrt(sse / (m - 2))
    ts = [m - 1 + h for h in range(1, horizon + 1)]
    centre = [intercept + slope * t for t in ts]
    spread = [s * math.sqrt(1 + 1 / m + (t - t_mean) ** 2 / sxx) for t in ts]
    return _from_logs("loglinear", centre, spread, m - 2)


def ets_missing() -> str | None:
    """Why ``ets`` cannot run here, or None when statsforecast is installed."""
    if importlib.util.find_spec("statsforecast") is None:
        return "ets needs the statsforecast package: pip install 'tokenstat[forecast]'"
    return None


def preload() -> None:
    """Import what ``ets`` uses now (statsforecast and statsmodels: about 2 s on a small
    machine), for a long-running process whose first forecast should not wait for it."""
    if ets_missing() is None:
        import statsforecast.models  # noqa: F401


def ets(values: Sequence[float], horizon: int, *, season: int = 1, **_: object) -> Forecast:
    """statsforecast AutoETS on log values (see the module docstring)."""
    missing = ets_missing()
    if missing:
        raise ForecastUnavailable(missing)
    logs = _logs(values, "ets")
    import numpy as np
    from statsforecast.models import AutoETS

    use_season = season > 1 and len(logs) >= 4 * season
    model = AutoETS(season_length=season if use_season else 1, model="AZA" if use_season else "AZN")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = model.forecast(y=np.asarray(logs, dtype=float), h=horizon, level=list(LEVELS))
    except Exception as exc:  # statsforecast raises plain exceptions on degenerate series
        raise ForecastUnavailable(f"ets could not fit this series: {exc}") from None
    columns = {"value": "mean"} | {
        f"{side}{level}": f"{side}-{level}" for side in ("lo", "hi") for level in LEVELS
    }
    series: dict[str, tuple[float, ...]] = {}
    for name, column in columns.items():
        raw = [float(x) for x in out[column]]
        if not all(math.isfinite(x) for x in raw):
            raise ForecastUnavailable("ets gave no finite forecast for this series")
        series[name] = tuple(_exp(x) for x in raw)
    return Forecast("ets", **series)


Method = Callable[..., Forecast]
REGISTRY: dict[str, Method] = {"cagr": cagr, "loglinear": loglinear, "ets": ets}


def run(
    method: str, values: Sequence[float], horizon: int, *, window: int, season: int = 1
) -> Forecast:
    """Forecast ``horizon`` periods after ``values`` with the named method."""
    if method not in REGISTRY:
        raise QueryError(f"unknown method {method!r}; choose one of: auto, {', '.join(METHODS)}")
    if method == "ets":
        return ets(values, horizon, season=season)
    return REGISTRY[method](values, horizon, window=window)
