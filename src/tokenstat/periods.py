"""Time in one place: grains, period boundaries and labels (UTC throughout).

A period is identified by its first day. Weeks are ISO weeks, Monday to Sunday.
The same definitions exist twice, as Ibis expressions (computed in the engine) and as
Python functions (to pick the period a report is "at"); tests hold them equal.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from tokenstat.errors import QueryError

if TYPE_CHECKING:
    import ibis.expr.types as ir

GRAINS = ("day", "week", "month", "quarter", "half", "year")
_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise QueryError(f"unknown period {grain!r}; choose one of: {', '.join(GRAINS)}")
    return grain


def period_start_expr(day: ir.DateValue, grain: str) -> ir.DateValue:
    """Ibis expression: the first day of the period containing ``day``."""
    import ibis  # here, not above: the CLI parses dates before it needs the engine

    check_grain(grain)
    if grain == "day":
        return day
    if grain == "week":
        # Monday of the ISO week; day_of_week.index() is 0 for Monday on every backend
        return (day - day.day_of_week.index().as_interval("D")).cast("date")
    month = day.month()
    first_month = ((month - 1) // _MONTHS[grain]) * _MONTHS[grain] + 1
    return ibis.date(day.year(), first_month, 1)


def period_start(day: date | datetime, grain: str) -> date:
    """The first day of the period containing ``day``."""
    check_grain(grain)
    if isinstance(day, datetime):
        day = day.date()
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    step = _MONTHS[grain]
    return date(day.year, ((day.month - 1) // step) * step + 1, 1)


def shift_period(start: date, grain: str, n: int) -> date:
    """The start of the period ``n`` periods after the one starting at ``start``."""
    check_grain(grain)
    if grain == "day":
        return start + timedelta(days=n)
    if grain == "week":
        return start + timedelta(weeks=n)
    months = start.year * 12 + (start.month - 1) + n * _MONTHS[grain]
    return date(months // 12, months % 12 + 1, 1)


def period_end(start: date, grain: str) -> date:
    """The last day (inclusive) of the period starting at ``start``."""
    return shift_period(start, grain, 1) - timedelta(days=1)


def period_label(start: date, grain: str) -> str:
    """Human label: 2026-04-05, 2026-W14, 2026-04, 2026-Q2, 2026-H1, 2026."""
    if grain == "week":
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "half":
        return f"{start.year}-H{(start.month - 1) // 6 + 1}"
    if grain == "year":
        return str(start.year)
    return start.isoformat()


def as_date(value: date | datetime | None) -> date | None:
    """A date from what an engine returns for a date column (a date or a datetime)."""
    if isinstance(value, datetime):
        return value.date()
    return value


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"not a date (YYYY-MM-DD): {text!r}") from None
