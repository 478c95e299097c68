"""How numbers read: tokens in T/B/M/K, percentages, percentage points, USD."""

from __future__ import annotations

_UNITS = ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def tokens(value: float | int | None) -> str:
    """12_960_000_000_000 -> '12.96T'."""
    if value is None:
        return "-"
    for size, unit in _UNITS:
        if abs(value) >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:,.0f}"


def pct(value: float | None, digits: int = 2, signed: bool = False) -> str:
    """0.3148 -> '31.48%' (or '+31.48%' when signed); None -> '-'."""
    if value is None:
        return "-"
    return f"{value * 100:{'+' if signed else ''}.{digits}f}%"


def pp(value: float | None) -> str:
    """A shift in percentage points: 4.1 -> '+4.10 pp'."""
    if value is None:
        return "-"
    return f"{value:+.2f} pp"


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.4g}"


def signed_int(value: int | None) -> str:
    if value is None:
        return "new"
    if value == 0:
        return "="
    return f"{value:+d}"
