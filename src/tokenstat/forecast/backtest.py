"""Rolling-origin backtest: how wrong each method has been on this very series.

For each origin ``o`` (the last period a method is allowed to see), each method forecasts
``1..horizons`` periods ahead from ``values[:o + 1]`` and is scored against what happened.
Origins are the latest ones such that every horizon is scored ``origins`` times (the
shortest horizons more often); every method is scored on the same origins, which start
late enough for the method that needs the longest history.

- ``mape`` (per method and horizon) = mean over origins of |forecast - actual| / actual,
  a fraction (0.05 = 5%); forecasts are medians.
- ``coverage80`` = the fraction of actuals that fell inside the 80% interval.
- ``n``: how many forecasts were scored at that horizon; horizons scored fewer than
  ``min_scores`` times are left out.

The method chosen for a series is the one with the lowest MAPE averaged over horizons
(each horizon weighs the same); ties go to the simpler method (the order of ``METHODS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tokenstat.forecast import methods as m


@dataclass(frozen=True)
class Score:
    method: str
    horizon: int
    mape: float
    coverage80: float
    n: int

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "horizon": self.horizon,
            "mape": self.mape,
            "coverage80": self.coverage80,
            "n": self.n,
        }


@dataclass
class Backtest:
    scores: list[Score] = field(default_factory=list)
    # method -> why it was not scored
    skipped: dict[str, str] = field(default_factory=dict)
    origins: list[int] = field(default_factory=list)

    def mean_mape(self, method: str) -> float | None:
        mapes = [s.mape for s in self.scores if s.method == method]
        return sum(mapes) / len(mapes) if mapes else None

    def best(self) -> str | None:
        """The scored method with the lowest mean MAPE (None when nothing was scored)."""
        scored = [(self.mean_mape(name), i, name) for i, name in enumerate(m.METHODS)]
        # rounding keeps float noise from breaking a tie between equally good methods
        ranked = sorted((round(mape, 9), i, name) for mape, i, name in scored if mape is not None)
        return ranked[0][2] if ranked else None


def origins_for(n: int, horizons: int, origins: int, min_history: int) -> list[int]:
    """Origin indices (last index seen) so each horizon 1..horizons is scored ``origins``
    times when the series is long enough; fewer when it is not."""
    first = max(n - horizons - origins, min_history - 1)
    return list(range(first, n - 1))


def backtest(
    values: Sequence[float],
    candidates: Sequence[str],
    *,
    horizons: int,
    origins: int = 12,
    window: int,
    season: int = 1,
    min_scores: int = 1,
) -> Backtest:
    """Score ``candidates`` on ``values`` (see the module docstring)."""
    result = Backtest()
    runnable = []
    for name in candidates:
        if name == "ets" and m.ets_missing():
            result.skipped[name] = m.ets_missing() or ""
        else:
            runnable.append(name)
    if not runnable or horizons < 1:
        return result
    need = max(m.MIN_HISTORY[name] for name in runnable)
    result.origins = origins_for(len(values), horizons, origins, need)
    if not result.origins:
        for name in runnable:
            result.skipped[name] = (
                f"too short to backtest ({len(values)} periods; needs at least {need + 1})"
            )
        return result
    for name in runnable:
        errors: dict[int, list[float]] = {}
        inside: dict[int, list[bool]] = {}
        try:
            for o in result.origins:
                steps = min(horizons, len(values) - 1 - o)
                fc = m.run(name, values[: o + 1], steps, window=window, season=season)
                for h in range(1, steps + 1):
                    actual = values[o + h]
                    errors.setdefault(h, []).append(abs(fc.value[h - 1] - actual) / actual)
                    inside.setdefault(h, []).append(fc.lo80[h - 1] <= actual <= fc.hi80[h - 1])
        except m.ForecastUnavailable as exc:
            result.skipped[name] = str(exc)
            continue
        for h in sorted(errors):
            if len(errors[h]) < min_scores:
                continue
            result.scores.append(
                Score(
                    name,
                    h,
                    sum(errors[h]) / len(errors[h]),
                    sum(inside[h]) / len(inside[h]),
                    len(errors[h]),
                )
            )
    return result
