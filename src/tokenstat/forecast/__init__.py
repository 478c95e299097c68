"""Forecasts: compound growth, log-linear trend and exponential smoothing, chosen by a
rolling-origin backtest, with 80% and 95% prediction intervals, milestones and multiples.

``forecast(ds, ...)`` returns the report dict (the ``tokenstat forecast --json`` contract);
``forecast_values(values, horizon, ...)`` runs the same on a plain list of numbers.
See docs/forecast.md for the definitions.
"""

from tokenstat.forecast.methods import LEVELS, METHODS, Forecast, ForecastUnavailable
from tokenstat.forecast.report import forecast, forecast_values, horizon_target

__all__ = [
    "LEVELS",
    "METHODS",
    "Forecast",
    "ForecastUnavailable",
    "forecast",
    "forecast_values",
    "horizon_target",
]
