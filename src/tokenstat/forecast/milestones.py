"""Milestones (when a series first reaches a level) and multiples (how far it grows).

Milestone of a threshold T:

- ``reached``: some period of the history already had a value >= T (``start`` is the first);
- ``expected``: ``start`` is the first forecast period whose median is >= T; the range is
  where the interval bounds cross T: ``earliest80`` is the first period whose upper 80%
  bound is >= T, ``latest80`` the first whose lower 80% bound is >= T (null when that is
  beyond the horizon), and likewise for 95%;
- ``not within the horizon``: the median stays below T up to the horizon (the earliest
  bounds may still say when it becomes possible).

The range is read off pointwise intervals: for a noisy series the true first-passage time
can come somewhat earlier than ``start``.

Multiple at a target period: forecast / base-period value, with the same ratio for each
interval bound; implied CAGR = multiple^(1 / years) - 1, years = days between the two
period starts / 365.2425 (DESIGN.md: multiple = end / start; CAGR = (end/start)^(1/years) - 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from tokenstat.forecast.methods import Forecast

DAYS_PER_YEAR = 365.2425
BOUNDS = ("lo80", "hi80", "lo95", "hi95")


def _first(starts: Sequence[date], values: Sequence[float], threshold: float) -> date | None:
    return next((s for s, v in zip(starts, values, strict=True) if v >= threshold), None)


def milestone(
    key: str,
    threshold: float,
    history: Sequence[tuple[date, float]],
    future: Sequence[date],
    fc: Forecast | None,
) -> dict[str, Any]:
    """When ``key`` first reaches ``threshold`` (see the module docstring)."""
    out: dict[str, Any] = {
        "key": key,
        "threshold": threshold,
        "status": "not within the horizon",
        "start": None,
        "earliest80": None,
        "latest80": None,
        "earliest95": None,
        "latest95": None,
    }
    reached = next((s for s, v in history if v >= threshold), None)
    if reached is not None:
        return out | {"status": "reached", "start": reached}
    if fc is None:
        return out | {"status": "no forecast"}
    expected = _first(future, fc.value, threshold)
    for level in (80, 95):
        out[f"earliest{level}"] = _first(future, fc.bound(f"hi{level}"), threshold)
        out[f"latest{level}"] = _first(future, fc.bound(f"lo{level}"), threshold)
    if expected is not None:
        out |= {"status": "expected", "start": expected}
    return out


def years_between(start: date, end: date) -> float:
    return (end - start).days / DAYS_PER_YEAR


def implied_cagr(multiple: float | None, years: float) -> float | None:
    """multiple^(1/years) - 1; None when undefined (no time, or a non-positive multiple)."""
    if multiple is None or years <= 0 or multiple <= 0:
        return None
    return multiple ** (1 / years) - 1


def multiple_at(
    key: str,
    base: tuple[date, float],
    target: date,
    point: dict[str, float],
) -> dict[str, Any]:
    """Level, multiple over the base period and implied CAGR at ``target``, each with its
    interval bounds (``point`` holds ``value`` and the four bounds)."""
    base_start, base_value = base
    years = years_between(base_start, target)
    out: dict[str, Any] = {
        "key": key,
        "base": base_start,
        "base_value": base_value,
        "start": target,
        "years": years,
    }
    for name in ("value", *BOUNDS):
        level = point[name]
        multiple = level / base_value if base_value else None
        suffix = "" if name == "value" else f"_{name}"
        out[name] = level
        out[f"multiple{suffix}"] = multiple
        out[f"cagr{suffix}"] = implied_cagr(multiple, years)
    return out
